/**
 * Ruby is not installed here, so resque-web's handling of a failure record is evaluated by this
 * model of the exact Ruby expressions Resque 3.0 runs on it (read from github:resque/resque at
 * "Version 3.0"), with Ruby's semantics for each JSON type:
 *
 * - the /failed page: `Failure.each` decodes every record (`Resque.decode`), then
 *   `lib/resque/server/views/failed_job.erb` and `job_class.erb` evaluate, in order:
 *   `job.nil?`, `job['worker'].split(':')[0...2].join(':')`, `job['queue']`,
 *   `DateTime.parse(job['failed_at'])`, `job['retried_at']` (and its DateTime.parse),
 *   `job['payload'] && job['payload']['class']` (then `job['class'] == 'ActiveJob::...'` and
 *   `job['args'].first['job_class']` on the payload), `job['payload'] ?
 *   show_args(job['payload']['args']) : 'nil'`, `job['exception']`, `job['backtrace']` and
 *   `job['backtrace'].join("\n")`;
 * - Retry (`Failure::Redis.requeue(id)`): `item = all(id)`, `item['retried_at'] = ...`,
 *   `Resque.encode(item)`, `Job.create(item['queue'], item['payload']['class'],
 *   *item['payload']['args'])` → `Resque.validate` (NoQueueError / NoClassError) →
 *   `Resque.push(queue, class: klass.to_s, args: args)`. "Retry all" is `requeue(i)` for each i.
 *
 * Ruby's `x[str]`: a Hash looks the key up; a String gives `str` if it contains it, else nil; an
 * Array or an Integer raises TypeError; nil, true, false and a Float raise NoMethodError.
 * test/web/resqueWebModel.test.ts checks this model against every captured resque-web result
 * in fixtures/resque-ruby/f2-resque-web-tolerance (copied unchanged from the shared captures) and the e2 requeue capture.
 */

export class RubyError extends Error {
  constructor(
    readonly rubyClass: string,
    message: string,
  ) {
    super(`${rubyClass} - ${message}`);
  }
}

type Rb = unknown;

function rbClass(v: Rb): string {
  if (v === null || v === undefined) return 'NilClass';
  if (v === true) return 'TrueClass';
  if (v === false) return 'FalseClass';
  if (typeof v === 'number') return Number.isInteger(v) ? 'Integer' : 'Float';
  if (typeof v === 'string') return 'String';
  if (Array.isArray(v)) return 'Array';
  return 'Hash';
}

/** Ruby truthiness: only nil and false are false. */
const truthy = (v: Rb): boolean => v !== null && v !== undefined && v !== false;

/** Ruby `v[key]` with a String key. */
export function rbIndex(v: Rb, key: string): Rb {
  const c = rbClass(v);
  if (c === 'Hash') return Object.hasOwn(v as object, key) ? (v as Record<string, unknown>)[key] : null;
  if (c === 'String') return (v as string).includes(key) ? key : null;
  if (c === 'Array' || c === 'Integer') throw new RubyError('TypeError', 'no implicit conversion of String into Integer');
  throw new RubyError('NoMethodError', `undefined method \`[]' for ${c}`);
}

function rbSplit(v: Rb): string[] {
  if (typeof v !== 'string') throw new RubyError('NoMethodError', `undefined method \`split' for ${rbClass(v)}`);
  return v.split(':');
}

function dateTimeParse(v: Rb): void {
  if (typeof v !== 'string') throw new RubyError('TypeError', `no implicit conversion of ${rbClass(v) === 'NilClass' ? 'nil' : rbClass(v)} into String`);
  if (!/\d{4}|\d{1,2}:\d{2}/.test(v)) throw new RubyError('Date::Error', 'invalid date');
}

function rbJoin(v: Rb): string {
  if (!Array.isArray(v)) throw new RubyError('NoMethodError', `undefined method \`join' for ${rbClass(v)}`);
  return v.map(x => String(x)).join('\n');
}

/** `Resque.decode`: MultiJson/Oj, raising Resque::Helpers::DecodeException on bad JSON. */
export function rbDecode(text: string): Rb {
  try {
    return JSON.parse(text) as Rb;
  } catch (e) {
    throw new RubyError('Resque::Helpers::DecodeException', (e as Error).message);
  }
}

/** What failed_job.erb shows for one record (class and args text); throws RubyError where resque-web answers 500. */
export function renderFailedJob(recordText: string): { parsed: boolean; className: string | null; args: string } {
  const job = rbDecode(recordText);
  if (job === null) return { parsed: false, className: null, args: '' };
  rbSplit(rbIndex(job, 'worker')).slice(0, 2).join(':');
  String(rbIndex(job, 'queue'));
  dateTimeParse(rbIndex(job, 'failed_at'));
  const retriedAt = rbIndex(job, 'retried_at');
  if (truthy(retriedAt)) dateTimeParse(retriedAt);
  let className: string | null = null;
  const payload = rbIndex(job, 'payload');
  if (truthy(payload) && truthy(rbIndex(payload, 'class'))) {
    // job_class.erb, with job = the payload
    if (rbIndex(payload, 'class') === 'ActiveJob::QueueAdapters::ResqueAdapter::JobWrapper') {
      const args = rbIndex(payload, 'args');
      if (!Array.isArray(args)) throw new RubyError('NoMethodError', `undefined method \`first' for ${rbClass(args)}`);
      className = String(rbIndex(args[0], 'job_class'));
    } else {
      className = String(rbIndex(payload, 'class'));
    }
  }
  // show_args rescues its own errors; the `['args']` before it does not.
  const args = truthy(payload) ? JSON.stringify(rbIndex(payload, 'args') ?? null) : 'nil';
  String(rbIndex(job, 'exception'));
  if (truthy(rbIndex(job, 'backtrace'))) rbJoin(rbIndex(job, 'backtrace'));
  String(rbIndex(job, 'error'));
  return { parsed: true, className, args };
}

/** The /failed page over these records: 200, or 500 with the Ruby exception. */
export function failedPage(records: readonly string[]): { status: 200 } | { status: 500; error: RubyError } {
  try {
    for (const r of records) renderFailedJob(r);
    return { status: 200 };
  } catch (e) {
    if (e instanceof RubyError) return { status: 500, error: e };
    throw e;
  }
}

/** Ruby's splat `*v` as an args array. */
function splat(v: Rb): Rb[] {
  if (v === null || v === undefined) return [];
  if (Array.isArray(v)) return v;
  if (rbClass(v) === 'Hash') return Object.entries(v as Record<string, unknown>);
  return [v];
}

/** `Failure::Redis.requeue` of one record: the queue and the job text it pushes; throws RubyError on a 500. */
export function requeueRecord(recordText: string): { queue: string; job: string } {
  const item = rbDecode(recordText);
  if (rbClass(item) !== 'Hash') {
    // item['retried_at'] = ...
    if (rbClass(item) === 'Array' || rbClass(item) === 'Integer') throw new RubyError('TypeError', 'no implicit conversion of String into Integer');
    throw new RubyError('NoMethodError', `undefined method \`[]=' for ${rbClass(item)}`);
  }
  const queue = rbIndex(item, 'queue');
  const payload = rbIndex(item, 'payload');
  const klass = rbIndex(payload, 'class');
  const args = splat(rbIndex(payload, 'args'));
  // Resque.validate(klass, queue): queue ||= queue_from_class(klass) (nil for a String or nil klass)
  if (!truthy(queue)) throw new RubyError('Resque::NoQueueError', 'Jobs must be placed onto a queue.');
  const klassS = klass === null || klass === undefined ? '' : typeof klass === 'string' ? klass : JSON.stringify(klass);
  if (klassS === '') throw new RubyError('Resque::NoClassError', 'Jobs must be given a class.');
  return { queue: String(queue), job: JSON.stringify({ class: klassS, args }) };
}

/** "Retry all" (`requeue_all`): every record in order; a 500 stops it partway. */
export function requeueAll(records: readonly string[]): { pushed: Array<{ queue: string; job: string }>; error: RubyError | null } {
  const pushed: Array<{ queue: string; job: string }> = [];
  for (const r of records) {
    try {
      pushed.push(requeueRecord(r));
    } catch (e) {
      if (e instanceof RubyError) return { pushed, error: e };
      throw e;
    }
  }
  return { pushed, error: null };
}
