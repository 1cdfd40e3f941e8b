import * as ah from 'node:async_hooks';
import { JobRegistry } from '../../../src';
import { testDbUrl, flushTestDb } from '../../support/redisServer';
import { Resources } from '../helpers';
const live = new Map<number, string>();
const hook = ah.createHook({
  init(id, type) { if (type === 'Timeout') live.set(id, new Error().stack!.split('\n').slice(2, 12).join('\n')); },
  destroy(id) { live.delete(id); },
});
it('x', async () => {
  await flushTestDb(testDbUrl());
  hook.enable();
  const res = new Resources(testDbUrl());
  for (const q of ['p10,p9', '*']) res.worker({ queues: q, jobs: new JobRegistry() });
  await res.closeAll();
  await new Promise(r => setTimeout(r, 100));
  hook.disable();
  console.log([...live.values()].join('\n----\n'));
});
