import type { ChainableCommander } from 'ioredis';
import { ConnectionError } from '../errors';

/** Runs a pipeline and returns its replies, throwing the first command error. */
export async function execOrThrow(p: ChainableCommander): Promise<unknown[]> {
  const res = await p.exec();
  if (!res) throw new ConnectionError('pipeline was not executed');
  return res.map(([err, v]) => {
    if (err) throw err;
    return v;
  });
}
