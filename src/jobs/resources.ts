/**
 * Per-worker resources of job-level plugins (the status wrapper's and the retry hooks' Redis
 * connection): a job takes one from its context (`currentJob().resources`), opened on first use
 * and reused by every later job of that worker; the worker closes them all when it stops.
 */

/** What a job's context offers plugins (JobContext.resources). */
export interface PluginResources {
  /**
   * The resource held under `key`, made by `open` on this worker's first use; `close` runs once,
   * when the worker stops. Throws once the worker has stopped (the caller falls back to its own).
   */
  use<T>(key: string, open: () => T, close: (value: T) => Promise<void>): T;
}

/** The worker's side of PluginResources: it holds them and closes them at stop. */
export class PluginResourceSet implements PluginResources {
  private readonly held = new Map<string, { value: unknown; close: () => Promise<void> }>();
  private closed = false;

  /** See PluginResources.use. */
  use<T>(key: string, open: () => T, close: (value: T) => Promise<void>): T {
    if (this.closed) throw new Error('the worker has stopped: its plugin resources are closed');
    const had = this.held.get(key);
    if (had) return had.value as T;
    const value = open();
    this.held.set(key, { value, close: () => close(value) });
    return value;
  }

  /** Closes every resource (errors ignored); later `use` calls throw. Idempotent. */
  async closeAll(): Promise<void> {
    this.closed = true;
    const all = [...this.held.values()];
    this.held.clear();
    await Promise.all(all.map(r => r.close().catch(() => undefined)));
  }
}
