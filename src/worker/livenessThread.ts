/**
 * The liveness thread's entry (see liveness.ts). Runs with its own Redis connection, reads
 * the Worker's state from the shared buffer, and ends when told to ('stop') or with the process
 * (it is unref'd). Loaded from dist/worker/livenessThread.js.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { coerceError } from '../errors';
import { RedisStore } from '../store/redisStore';
import { type LivenessConfig, LivenessCore, type LivenessMessage, sharedViews } from './liveness';

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('livenessThread.js is a worker_threads entry; it is started by the Worker');
  const { config, sab, firstBeatDone } = workerData as { config: LivenessConfig; sab: SharedArrayBuffer; firstBeatDone?: boolean };
  const send = (m: LivenessMessage): void => port.postMessage(m);
  const store = new RedisStore({
    connection: config.connection,
    namespace: config.namespace,
    name: config.connectionName,
    failureBackend: config.failureBackend,
  });
  store.on('error', () => undefined);
  const core = new LivenessCore(config, store, sharedViews(sab), send);
  // Before the connection: the worker may already run a job that blocks its loop.
  core.startSupervision();
  let stopping = false;
  port.on('message', (m: { type?: string }) => {
    if (m?.type !== 'stop' || stopping) return;
    stopping = true;
    void core
      .stop()
      .then(() => store.close())
      .catch(() => undefined)
      .finally(() => {
        send({ type: 'stopped' });
        port.close();
      });
  });
  try {
    await store.connect();
  } catch (e) {
    // ioredis keeps reconnecting in the background; the heartbeat below waits for it.
    send({ type: 'log', level: 'warn', msg: `liveness thread: ${coerceError(e).message}` });
  }
  // Asked to stop while booting (the worker stopped first): no beat after its unregister.
  if (stopping) return;
  await core.start({ firstBeat: !firstBeatDone });
  if (!stopping) send({ type: 'ready' });
}

main().catch(e => {
  throw coerceError(e);
});
