import { type DecodedStatus, type StatusState, decodeStatus, isStatusState, isStatusUuid } from '../protocol/status';
import { StatusStore } from '../store/statusStore';
import { AdminActionError, type Admin, type Server, type Settled } from './admin';

/**
 * The status reads and actions shared by `pyres-ts status-of|kill|statuses`, the Client and the
 * dashboard's Statuses page, on resque-status's keys (docs/STATUS.md): the list as resque-web's
 * Statuses tab reads it (`ZREVRANGE _statuses` + `MGET`, `ZCARD`), kill (`SADD _kill`), clear.
 */

/** One page of statuses, newest first. */
export interface StatusPage {
  /** ZCARD _statuses. */
  total: number;
  /** The statuses of the page (a member whose key expired is skipped, as resque-web does). */
  items: DecodedStatus[];
  /** Members of `_kill` (kill requested, not yet seen by the job). */
  killRequested: string[];
}

/** A status store over a server's admin connection. */
export function statusStoreOf(s: Server): StatusStore {
  return new StatusStore({ client: s.store.client(), namespace: s.namespace });
}

/** `statuses(start, start+count-1)`; with `state`, every status filtered (as `clear_completed` reads them). */
export async function statusPage(store: StatusStore, start = 0, count = 50, state?: StatusState): Promise<StatusPage> {
  const killRequested = await store.killIds();
  if (state === undefined) {
    const { ids, total } = await store.ids(start, start + count - 1);
    const texts = await store.mget(ids);
    return { total, items: ids.flatMap((id, i) => (texts[i] == null ? [] : [decodeStatus(id, texts[i]!)])), killRequested };
  }
  const { ids } = await store.ids(0, -1);
  const texts = await store.mget(ids);
  const all = ids.flatMap((id, i) => (texts[i] == null ? [] : [decodeStatus(id, texts[i]!)])).filter(s => s.state === state);
  return { total: all.length, items: all.slice(start, start + count), killRequested };
}

/** The Statuses page of every server. */
export function statusPages(d: Admin, start: number, count: number, state?: StatusState): Promise<Array<Settled<StatusPage>>> {
  return d.each(s => statusPage(statusStoreOf(s), start, count, state));
}

/** Checks a uuid from a user (CLI, form). */
export function checkUuid(uuid: unknown): string {
  if (!isStatusUuid(uuid)) throw new AdminActionError(`${JSON.stringify(uuid)} is not a status uuid (32 lowercase hex characters)`);
  return uuid;
}

/** Checks a state filter from a user. */
export function checkState(state: unknown): StatusState {
  if (!isStatusState(state)) throw new AdminActionError(`${JSON.stringify(state)} is not a status state (queued, working, completed, failed, killed)`);
  return state;
}

/** One status, or null. */
export async function readStatus(store: StatusStore, uuid: string): Promise<DecodedStatus | null> {
  const text = await store.get(checkUuid(uuid));
  return text === null ? null : decodeStatus(uuid, text);
}

/**
 * `Hash.kill(uuid)` (resque-web's Kill): `SADD _kill <uuid>`. The job sees it at its next progress
 * call or kill poll. Refused for an unknown uuid (resque-web adds it anyway, and it then stays in
 * `_kill` forever). Returns the status as it was.
 */
export async function killStatus(store: StatusStore, uuid: string): Promise<DecodedStatus> {
  const st = await readStatus(store, uuid);
  if (st === null) throw new AdminActionError(`no status ${uuid}`);
  await store.kill(uuid);
  return st;
}

/** `clear` / `clear_completed` / `clear_failed` (any state): per id `DEL status:<id>` + `ZREM`. Returns the ids removed. */
export async function clearStatuses(store: StatusStore, state?: StatusState): Promise<string[]> {
  const { ids } = await store.ids(0, -1);
  let gone = ids;
  if (state !== undefined) {
    const texts = await store.mget(ids);
    gone = ids.filter((id, i) => texts[i] != null && decodeStatus(id, texts[i]!).state === state);
  }
  await store.remove(gone);
  return gone;
}

/** The dashboard's kill action on one server. */
export async function killStatusOn(d: Admin, serverId: number | string | undefined, uuid: string): Promise<DecodedStatus> {
  return killStatus(statusStoreOf(d.server(serverId ?? d.servers[0]?.id)), uuid);
}

/** The dashboard's clear action on one server. */
export async function clearStatusesOn(d: Admin, serverId: number | string | undefined, state?: StatusState): Promise<string[]> {
  return clearStatuses(statusStoreOf(d.server(serverId ?? d.servers[0]?.id)), state);
}
