/**
 * The metrics of one worker or master process, for its `--metrics-port` (Prometheus text
 * format, prom-client). Names and units follow Prometheus' conventions: counters end in
 * `_total`, durations are in seconds, every metric is prefixed `pyres_`.
 *
 * - `pyres_jobs_total{job_class,queue,outcome}` (counter): jobs finished, by outcome
 *   (`success`, `failure`, `dirty_exit`);
 * - `pyres_job_duration_seconds{job_class,queue}` (histogram): how long jobs ran;
 * - `pyres_slots` / `pyres_slots_busy` (gauges): job slots, and how many run a job now (a
 *   worker has one slot; a master counts its children's);
 * - `pyres_redis_errors_total` (counter): Redis connection losses (one per outage; a master's
 *   count includes its children's);
 * - `pyres_children{state}` (gauge, master only): children by state (starting, ready, stopping ...);
 * - `pyres_ready` (gauge): 1 while `/readyz` would answer 200;
 * - prom-client's default process and Node.js metrics (`process_*`, `nodejs_*`).
 *
 * The values come from the events of a Worker or Master (see watchWorker, watchMaster); this
 * module serves nothing (the CLI does).
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** How a job ended, as the `outcome` label says it. */
export type JobOutcome = 'success' | 'failure' | 'dirty_exit';

/** Histogram buckets of `pyres_job_duration_seconds`, in seconds. */
export const JOB_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900];

/** prom-client's default metrics that are gauges with a `_total` name (promtool refuses them); left out. */
export const NON_COUNTER_TOTALS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/** The Prometheus text format's content type. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** What a process's gauges read when scraped. */
export interface ProcessGauges {
  /** Job slots this process has. */
  slots(): number;
  /** Slots running a job now. */
  busySlots(): number;
  /** Children by state (a master), or null (a worker). */
  children?(): Record<string, number>;
  /** Whether the process is ready (registered, Redis connected); the last probe's answer. */
  ready?(): boolean;
}

/** The registry and metrics of one worker or master process. */
export class ProcessMetrics {
  readonly registry = new Registry();
  private readonly jobs: Counter<'job_class' | 'queue' | 'outcome'>;
  private readonly duration: Histogram<'job_class' | 'queue'>;
  private readonly redisErrors: Counter;

  constructor(gauges: ProcessGauges, o: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.jobs = new Counter({
      name: 'pyres_jobs_total',
      help: 'Jobs finished, by class, queue and outcome.',
      labelNames: ['job_class', 'queue', 'outcome'],
      registers,
    });
    this.duration = new Histogram({
      name: 'pyres_job_duration_seconds',
      help: 'How long jobs ran, in seconds.',
      labelNames: ['job_class', 'queue'],
      buckets: JOB_DURATION_BUCKETS,
      registers,
    });
    this.redisErrors = new Counter({ name: 'pyres_redis_errors_total', help: 'Redis connection losses (one per outage).', registers });
    new Gauge({
      name: 'pyres_slots',
      help: 'Job slots of this process (a master: of its children).',
      registers,
      collect() {
        this.set(gauges.slots());
      },
    });
    new Gauge({
      name: 'pyres_slots_busy',
      help: 'Job slots running a job now.',
      registers,
      collect() {
        this.set(gauges.busySlots());
      },
    });
    if (gauges.children) {
      const children = gauges.children.bind(gauges);
      new Gauge({
        name: 'pyres_children',
        help: "The master's children, by state.",
        labelNames: ['state'],
        registers,
        collect() {
          this.reset();
          for (const [state, n] of Object.entries(children())) this.set({ state }, n);
        },
      });
    }
    if (gauges.ready) {
      const ready = gauges.ready.bind(gauges);
      new Gauge({
        name: 'pyres_ready',
        help: '1 while the process is ready (registered, Redis answering), as /readyz says.',
        registers,
        collect() {
          this.set(ready() ? 1 : 0);
        },
      });
    }
    if (o.defaultMetrics !== false) {
      collectDefaultMetrics({ register: this.registry });
      // Gauges named `_total` (counts of handles now, not counters): against Prometheus' naming rules.
      for (const name of NON_COUNTER_TOTALS) this.registry.removeSingleMetric(name);
    }
  }

  /** A job finished: counted by outcome, its duration observed. */
  jobDone(jobClass: string, queue: string, outcome: JobOutcome, seconds: number | null): void {
    this.jobs.inc({ job_class: jobClass, queue, outcome });
    if (seconds !== null && Number.isFinite(seconds) && seconds >= 0) this.duration.observe({ job_class: jobClass, queue }, seconds);
  }

  /** A Redis connection was lost. */
  redisError(n = 1): void {
    this.redisErrors.inc(n);
  }

  /** The text exposition format. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}
