/**
 * resque-pool's `--spawn-delay`: at most one child started every `delayMs` milliseconds, in the
 * order the supervisor asked for them (a thundering start of 30 Node processes can starve a
 * small host). With no delay every spawn happens at once, as before.
 */
export class SpawnPacer {
  private readonly queue: string[] = [];
  private timer: NodeJS.Timeout | null = null;
  private lastAt = -Infinity;

  /**
   * @param delayMs - milliseconds between two spawns (0: none)
   * @param spawn - starts one child of the group
   * @param wanted - false once queued starts are no longer wanted (the master is stopping)
   */
  constructor(
    private readonly delayMs: number,
    private readonly spawn: (group: string) => void,
    private readonly wanted: () => boolean,
  ) {}

  /** Starts a child of `group` now, or queues it behind the others. */
  request(group: string): void {
    if (this.delayMs <= 0) {
      this.spawn(group);
      return;
    }
    this.queue.push(group);
    this.pump();
  }

  /** Forgets queued starts (the master is stopping). */
  clear(): void {
    this.queue.length = 0;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Starts still waiting for their turn. */
  get waiting(): number {
    return this.queue.length;
  }

  private pump(): void {
    if (this.timer || this.queue.length === 0) return;
    const wait = this.lastAt + this.delayMs - Date.now();
    if (wait > 0) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.pump();
      }, wait);
      return;
    }
    const group = this.queue.shift() as string;
    if (!this.wanted()) {
      this.clear();
      return;
    }
    this.lastAt = Date.now();
    this.spawn(group);
    this.pump();
  }
}
