'use strict';
// Process-test helper for whole log lines in a shared pipe (src/logging/pipeLines.ts, built in
// dist/): two processes log through the project's logger into ONE pipe (a master and its
// children share stderr so), read slowly, so the pipe fills and each writer waits for room.
// `node sharedPipe.js text|json` prints {"good":n,"bad":n,"examples":[...]} when both ended;
// `node sharedPipe.js write <id> <format> <lines>` is one writer.
const path = require('node:path');
const { spawn } = require('node:child_process');

const X = 'x'.repeat(120);
if (process.argv[2] === 'write') {
  const [, , , id, format, count] = process.argv;
  const { createLogger } = require(path.join(__dirname, '..', '..', 'dist', 'logging', 'logger.js'));
  const log = createLogger({ scope: `w ${id}`, ...(format === 'json' ? { format: 'json' } : {}) });
  const n = Number(count);
  let i = 0;
  // Bursts of 200 lines a turn: more than a pipe takes while its reader sleeps.
  const burst = () => {
    for (let k = 0; k < 200 && i < n; k++, i++) log.info(`L ${id} ${i} ${X} E`);
    if (i < n) setImmediate(burst);
  };
  burst();
} else {
  const format = process.argv[2] === 'json' ? 'json' : 'text';
  const n = 20000;
  const me = JSON.stringify(__filename);
  // Both writers inherit sh's stderr: one pipe. `$0` is node's path (the argument after the script).
  const sh = spawn('sh', ['-c', `"$0" ${me} write A ${format} ${n} & "$0" ${me} write B ${format} ${n} & wait`, process.execPath], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  const re = format === 'json' ? /^\{.*"message":"L ([AB]) (\d+) x{120} E"\}$/ : /^\S+Z INFO {2}\[w [AB]\] L ([AB]) (\d+) x{120} E$/;
  let buf = '';
  const out = { good: 0, bad: 0, each: { A: 0, B: 0 }, distinct: 0, examples: [] };
  const seen = new Set();
  sh.stderr.setEncoding('utf8');
  sh.stderr.on('data', d => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      const m = re.exec(line);
      if (m) {
        out.good++;
        out.each[m[1]]++;
        if (!seen.has(m[1] + m[2])) {
          seen.add(m[1] + m[2]);
          out.distinct++;
        }
      } else {
        out.bad++;
        if (out.examples.length < 3) out.examples.push(line.slice(0, 120));
      }
    }
    // A slow reader: the pipe fills while it sleeps.
    sh.stderr.pause();
    setTimeout(() => sh.stderr.resume(), 2);
  });
  sh.on('close', code => {
    if (buf) out.bad++;
    process.stdout.write(`${JSON.stringify({ ...out, code })}\n`);
  });
}
