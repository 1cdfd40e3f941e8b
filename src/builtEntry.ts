import { join, resolve } from 'node:path';

/**
 * The path of a built entry script (`master/childMain.js`, `worker/livenessThread.js`,
 * `jobs/checkMain.js`), for fork, worker_threads and spawn. When this module runs from src
 * (under ts-jest), the script is the one in dist: `npm test` builds it first.
 */
export function builtEntry(rel: string): string {
  return __filename.endsWith('.ts') ? resolve(__dirname, '..', 'dist', rel) : join(__dirname, rel);
}
