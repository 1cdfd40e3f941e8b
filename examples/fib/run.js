'use strict';
// Enqueues Fib(n) and prints its result: node examples/fib/run.js 10
const { Client } = require('../../dist/index.js');

async function main() {
  const n = Number(process.argv[2] ?? 10);
  const client = await new Client({ connection: { url: process.env.REDIS_URL } }).connect();
  try {
    const result = await client.enqueueAndWait('fib', 'Fib', { n }, { timeout: 600 });
    console.log(`fib(${n}) = ${result}`);
  } finally {
    await client.close();
  }
}
main().catch(e => {
  console.error(e.message);
  process.exitCode = 1;
});
