import { createHash } from 'node:crypto';
import { Command } from 'ioredis';

/**
 * The finish-and-reserve step's transport: its EVALSHA request as prebuilt bytes, sent as one
 * ioredis command (so the connection, its timeouts, reconnects, offline queue and resends stay
 * ioredis's), without ioredis's per-call work (argument flattening, a Script wrapper, a RESP
 * string concatenated per call and re-encoded to UTF-8 by the socket).
 *
 * The bytes on the wire are exactly what ioredis's defineCommand sends for the same arguments:
 * EVAL with the Lua text the first time on a socket (and after a NOSCRIPT), EVALSHA after, each
 * argument a bulk string of its UTF-8 bytes (test/integration/stepCommand.test.ts compares them).
 */
export class StepScript {
  readonly sha: string;
  /** Sockets that have been sent the script once (as ioredis's Script keeps it, per socket). */
  readonly loaded = new WeakSet<object>();
  private readonly luaBulk: Buffer;

  constructor(readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
    this.luaBulk = Buffer.from(`$4\r\neval\r\n${bulk(lua)}`);
  }

  /** The parts of a request that stay the same: `args` are the script's (numKeys, KEYS, ARGV), [from, to) vary per step. */
  parts(args: ReadonlyArray<string | number>, from: number, to: number): StepParts {
    let head = `*${args.length + 2}\r\n$7\r\nevalsha\r\n$40\r\n${this.sha}\r\n`;
    for (let i = 0; i < from; i++) head += bulk(String(args[i]));
    let tail = '';
    for (let i = to; i < args.length; i++) tail += bulk(String(args[i]));
    return { head: Buffer.from(head), tail: Buffer.from(tail) };
  }

  /** A whole request (an uncommon step: its keys differ from the template's). */
  request(args: ReadonlyArray<string | number>): Buffer {
    return this.withMiddle(this.parts(args, args.length, args.length), '');
  }

  /** head + `middle` (RESP bulk strings, see bulk()) + tail, as one buffer. */
  withMiddle(p: StepParts, middle: string): Buffer {
    const n = middle.length === 0 ? 0 : Buffer.byteLength(middle);
    const b = Buffer.allocUnsafe(p.head.length + n + p.tail.length);
    p.head.copy(b, 0);
    if (n) b.write(middle, p.head.length, n, 'utf8');
    p.tail.copy(b, p.head.length + n);
    return b;
  }

  /** The same request as EVAL of the Lua text (what ioredis sends on a socket that has not seen the script). */
  asEval(evalsha: Buffer): Buffer {
    const count = evalsha.indexOf(13) + 2; // `*N\r\n`
    // `$7\r\nevalsha\r\n` (13) + `$40\r\n` (5) + the sha (40) + `\r\n` (2)
    return Buffer.concat([evalsha.subarray(0, count), this.luaBulk, evalsha.subarray(count + 60)]);
  }

  /** The command for one request; send it with `redis.sendCommand`. Replies as Buffers. */
  command(evalsha: Buffer, deadlines: StepDeadlines): Command {
    return new StepCommand(this, evalsha, deadlines);
  }
}

export interface StepParts {
  readonly head: Buffer;
  readonly tail: Buffer;
}

/** One argument as a RESP bulk string. */
export function bulk(s: string): string {
  return `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
}

/** True when a reply error is Redis's NOSCRIPT (the script cache was flushed, or another server). */
export function isNoScript(e: unknown): boolean {
  return e instanceof Error && e.message.includes('NOSCRIPT');
}

/**
 * ioredis's `commandTimeout` for the steps of one connection, without a timer per step: a step
 * still unanswered `ms` after it was first sent is rejected with ioredis's own "Command timed out"
 * (what Command#setTimeout does with a timer of its own per command). One unref'd timer, armed
 * while a step is in flight, re-armed at most once per period for the step then in flight.
 */
export class StepDeadlines {
  private readonly inFlight: StepCommand[] = [];
  private timer: NodeJS.Timeout | null = null;

  add(cmd: StepCommand, ms: number): void {
    cmd.deadline = Date.now() + ms;
    this.inFlight.push(cmd);
    if (this.timer === null) this.arm(ms);
  }

  remove(cmd: StepCommand): void {
    const i = this.inFlight.indexOf(cmd);
    if (i < 0) return;
    const last = this.inFlight.pop() as StepCommand;
    if (i < this.inFlight.length) this.inFlight[i] = last;
  }

  /** Drops the timer (the connection is closed; nothing in flight will be answered here). */
  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.inFlight.length = 0;
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => this.check(), Math.max(1, ms));
    this.timer.unref();
  }

  private check(): void {
    this.timer = null;
    const now = Date.now();
    let next = Number.POSITIVE_INFINITY;
    for (const cmd of this.inFlight.slice()) {
      if (now >= cmd.deadline) {
        this.remove(cmd);
        cmd.reject(new Error('Command timed out'));
      } else next = Math.min(next, cmd.deadline - now);
    }
    if (next !== Number.POSITIVE_INFINITY) this.arm(next);
  }
}

/**
 * ioredis's CustomScriptCommand, with bytes given: EVAL on a socket that has not seen the
 * script, EVALSHA after; a NOSCRIPT reply forgets the socket (the caller sends a new command,
 * which then goes as EVAL). `args` stays empty: nothing reads it on this path (ioredis's debug
 * log and tracing context would show none). Its command timeout is its StepDeadlines'.
 */
class StepCommand extends Command {
  private socket: object | null = null;
  /** When it times out (Date.now() ms); 0 until first sent. */
  deadline = 0;

  constructor(
    private readonly script: StepScript,
    private readonly evalsha: Buffer,
    private readonly deadlines: StepDeadlines,
  ) {
    super('evalsha', [], { replyEncoding: null });
    const resolve = this.resolve;
    this.resolve = (v: unknown) => {
      if (this.deadline !== 0) this.deadlines.remove(this);
      return resolve.call(this, v);
    };
    const reject = this.reject;
    this.reject = (err: Error) => {
      if (this.deadline !== 0) this.deadlines.remove(this);
      if (this.socket && isNoScript(err)) this.script.loaded.delete(this.socket);
      reject.call(this, err);
    };
  }

  /** ioredis calls it at each send (the offline queue's, a resend's): the deadline runs from the first, as ioredis's own timer. */
  override setTimeout(ms: number): void {
    if (this.deadline === 0 && !this.isResolved) this.deadlines.add(this, ms);
  }

  override toWritable(socket: object): Buffer {
    this.socket = socket;
    if (!this.script.loaded.has(socket)) {
      this.script.loaded.add(socket);
      this.name = 'eval';
      return this.script.asEval(this.evalsha);
    }
    this.name = 'evalsha';
    return this.evalsha;
  }
}
