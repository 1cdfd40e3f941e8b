/**
 * The spec a master hands each child, serialised as JSON in the PYRES_CHILD_SPEC environment
 * variable. Both ends validate it: the master before it forks (a bug surfaces there, not as a
 * crash loop), the child before it builds anything.
 */
import { isAbsolute } from 'node:path';
import { ConfigError } from '../errors';
import { bool, fail, isPlainObject, num, show } from './check';
import type { ChildSpec } from './types';
import { validateWorkerConfig } from './worker';

export const CHILD_SPEC_ENV = 'PYRES_CHILD_SPEC';

function nullableNum(field: string, v: unknown, rule: Parameters<typeof num>[2] = {}): number | null {
  if (v === null) return null;
  if (v === undefined) fail(field, 'is missing');
  return num(field, v, rule);
}

function validateChildSpec(v: unknown): ChildSpec {
  if (!isPlainObject(v)) throw new ConfigError(`must be a JSON object, got ${show(v)}`);
  for (const k of ['worker', 'masterPid', 'jobTimeout', 'timeoutGrace', 'termTimeout', 'maxJobs', 'maxMemoryMb', 'workerInit', 'reportEveryJob']) {
    if (!(k in v)) fail(k, 'is missing');
  }
  const worker = validateWorkerConfig(v['worker'], 'worker.');
  if (worker.drain) fail('drain', "must be false for a master's child", 'worker.');
  const workerInit = v['workerInit'];
  if (workerInit !== null && (typeof workerInit !== 'string' || !isAbsolute(workerInit))) {
    fail('workerInit', `must be null or an absolute path, got ${show(workerInit)}`);
  }
  if (typeof v['reportEveryJob'] !== 'boolean') fail('reportEveryJob', `must be true or false, got ${show(v['reportEveryJob'])}`);
  return {
    worker,
    masterPid: num('masterPid', v['masterPid'], { integer: true }),
    jobTimeout: nullableNum('jobTimeout', v['jobTimeout']),
    timeoutGrace: num('timeoutGrace', v['timeoutGrace'], { min: 'nonNegative' }),
    termTimeout: num('termTimeout', v['termTimeout'], { min: 'nonNegative' }),
    maxJobs: nullableNum('maxJobs', v['maxJobs'], { integer: true }),
    maxMemoryMb: nullableNum('maxMemoryMb', v['maxMemoryMb']),
    workerInit: workerInit as string | null,
    reportEveryJob: v['reportEveryJob'],
    ...(v['hostname'] !== undefined ? { hostname: hostnameOf(v['hostname']) } : {}),
    ...(v['reportOutcomes'] !== undefined ? { reportOutcomes: bool('reportOutcomes', v['reportOutcomes'], false) } : {}),
  };
}

function hostnameOf(v: unknown): string {
  if (typeof v !== 'string' || v.trim() === '' || /[:\s]/.test(v.trim())) fail('hostname', `must be a host name without ':' or spaces, got ${show(v)}`);
  return (v as string).trim();
}

function named<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(`${CHILD_SPEC_ENV}: ${e.message}`);
    throw e;
  }
}

/** Validates and serialises a child's spec (the value of PYRES_CHILD_SPEC). */
export function encodeChildSpec(spec: ChildSpec): string {
  return JSON.stringify(named(() => validateChildSpec(spec)));
}

/** Parses and validates PYRES_CHILD_SPEC; a bad spec throws a ConfigError naming the field. */
export function decodeChildSpec(text: string): ChildSpec {
  return named(() => {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch (e) {
      throw new ConfigError(`is not JSON (${(e as Error).message})`);
    }
    return validateChildSpec(v);
  });
}
