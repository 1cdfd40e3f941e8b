#!/usr/bin/env node
'use strict';
// `npm run docs:check`: fails when docs/api (committed, made by `npm run docs`) is not what
// typedoc makes from src/ now. Generates into a temporary folder and compares file by file.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const committed = path.join(root, 'docs', 'api');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pyres-ts-api-'));

function filesUnder(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap(d => {
    const p = path.join(dir, d.name);
    return d.isDirectory() ? filesUnder(p).map(f => path.join(d.name, f)) : [d.name];
  });
}

try {
  const typedoc = path.join(root, 'node_modules', '.bin', 'typedoc');
  const r = spawnSync(typedoc, ['--out', tmp, '--logLevel', 'Warn'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`docs:check: typedoc failed (exit ${r.status ?? r.signal})`);
    process.exit(1);
  }
  const want = new Set(filesUnder(tmp));
  const have = new Set(filesUnder(committed));
  const stale = [];
  for (const f of want) {
    if (!have.has(f)) stale.push(`missing: docs/api/${f}`);
    else if (!fs.readFileSync(path.join(tmp, f)).equals(fs.readFileSync(path.join(committed, f)))) stale.push(`differs: docs/api/${f}`);
  }
  for (const f of have) if (!want.has(f)) stale.push(`no longer generated: docs/api/${f}`);
  if (stale.length) {
    console.error(`docs:check: docs/api is stale (${stale.length} file${stale.length === 1 ? '' : 's'}); run \`npm run docs\` and commit docs/api:`);
    for (const s of stale.sort()) console.error(`  ${s}`);
    process.exit(1);
  }
  console.log(`docs:check: docs/api is up to date (${want.size} files)`);
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
