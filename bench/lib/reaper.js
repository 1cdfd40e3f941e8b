'use strict';
// Watchdog for `npm run bench`: started detached with a stdin pipe. The bench sends
// "+<pid>" / "-<pid>" lines for every process group it starts and ends (redis-server,
// workers, masters). When stdin closes (the bench exited, crashed or was SIGKILLed), every
// group still listed gets SIGKILL. Nothing else is ever signalled.
const live = new Set();
let buf = '';
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => undefined);
process.on('SIGHUP', () => undefined);
process.stdin.setEncoding('utf8');
process.stdin.on('data', d => {
  buf += d;
  let i;
  while ((i = buf.indexOf('\n')) >= 0) {
    const line = buf.slice(0, i).trim();
    buf = buf.slice(i + 1);
    const pid = Number(line.slice(1));
    if (!Number.isInteger(pid) || pid <= 1) continue;
    if (line[0] === '+') live.add(pid);
    else if (line[0] === '-') live.delete(pid);
  }
});
process.stdin.on('end', () => {
  for (const pid of live) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
  process.exit(0);
});
