import type Redis from 'ioredis';

/** The ioredis internals the watch reads: its command queue (what the socket owes) and its socket. */
interface RedisInternals {
  commandQueue: { length: number };
  stream?: { destroy(err?: Error): void; on(ev: 'data', fn: () => void): unknown };
  sendCommand(...a: unknown[]): unknown;
  socketTimeoutTimer?: unknown;
}

/** Stands in ioredis's `socketTimeoutTimer` so that it never arms one of its own. */
const SUPPRESSED: unknown = Object.freeze({ suppressedBy: 'SocketWatch' });

/**
 * ioredis's `socketTimeout` for one connection, without a timer and a `once('data')` listener
 * per command: a socket that owes a reply (a command written and unanswered) and received no
 * data for `ms` is destroyed with ioredis's own error, so ioredis reconnects and resends what was
 * unanswered, exactly as its own socketTimeout does. ioredis arms a new timer each time it
 * writes to an idle socket, i.e. once per command on a ping-pong connection (the worker's
 * finish-and-reserve step); here one unref'd timer, re-armed at most once per `ms`, checks
 * the same deadline: the later of the write that found the socket idle and the last data.
 * Takes over from ioredis's on this instance only.
 */
export class SocketWatch {
  private owedSince = 0;
  private lastData = 0;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    private readonly redis: Redis,
    private readonly ms: number,
  ) {
    const r = redis as unknown as RedisInternals;
    // ioredis arms its own only while this is undefined, and never touches it otherwise (its
    // clearing is in the 'data' listener it adds when it arms). The option itself stays, so a
    // duplicate() of this connection (a status waiter) still gets ioredis's own timeout.
    r.socketTimeoutTimer = SUPPRESSED;
    const send = r.sendCommand;
    // Every write goes through sendCommand (the offline queue's and a pipeline's too).
    r.sendCommand = (...a: unknown[]): unknown => {
      const idle = r.commandQueue.length === 0;
      const out = send.apply(redis, a);
      if (idle && r.commandQueue.length > 0) this.owe();
      return out;
    };
    redis.on('connect', () => {
      // A new socket: its data is what counts from now on.
      this.lastData = Date.now();
      r.stream?.on('data', () => {
        this.lastData = Date.now();
      });
    });
  }

  /** Stops the watch (the connection is being closed). */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private owe(): void {
    this.owedSince = Date.now();
    if (this.timer === null && !this.stopped) this.arm(this.ms);
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => this.check(), Math.max(1, ms));
    this.timer.unref();
  }

  private check(): void {
    this.timer = null;
    const r = this.redis as unknown as RedisInternals;
    if (this.stopped || r.commandQueue.length === 0) return;
    const due = Math.max(this.owedSince, this.lastData) + this.ms;
    const now = Date.now();
    if (now < due) {
      this.arm(due - now);
      return;
    }
    this.owedSince = 0;
    r.stream?.destroy(new Error(`Socket timeout. Expecting data, but didn't receive any in ${this.ms}ms.`));
  }
}
