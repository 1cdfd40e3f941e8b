/**
 * What the master reads of its children and its host from /proc, without asking them: a
 * child whose event loop is blocked by its job still shows its RSS and CPU here. Linux only;
 * elsewhere the readers return null and the limits that need them do not apply.
 */
import { cpus, freemem, totalmem } from 'node:os';
import { readFileSync } from 'node:fs';
import { type CgroupLimits, readCgroupLimits } from './cgroup';

let limits: CgroupLimits | null | undefined;
/** This process's cgroup limits, read once (a container's limits do not change under it). */
export function containerLimits(): CgroupLimits | null {
  if (limits === undefined) limits = readCgroupLimits();
  return limits;
}

/** Clock ticks per second for /proc/<pid>/stat times (USER_HZ, 100 on every Linux we run on). */
const CLK_TCK = 100;

export interface ProcSample {
  /** Resident set size, bytes. */
  rss: number;
  /** utime + stime, seconds. */
  cpuSeconds: number;
}

export function readProcSample(pid: number): ProcSample | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // Fields after the command name in parentheses (which may itself hold spaces or parens).
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(f[11]);
    const stime = Number(f[12]);
    const status = readFileSync(`/proc/${pid}/status`, 'latin1');
    const kb = Number(/VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1] ?? NaN);
    if (!Number.isFinite(utime) || !Number.isFinite(stime)) return null;
    return { rss: Number.isFinite(kb) ? kb * 1024 : 0, cpuSeconds: (utime + stime) / CLK_TCK };
  } catch {
    return null;
  }
}

/**
 * CPU time counters, busy and total: with a cgroup CPU limit (a container's `--cpus`), the
 * cgroup's usage against wall time times the CPUs allowed; else the host's CPUs. The master
 * takes the ratio of two samples' differences, so only their rate matters.
 */
export function hostCpuTimes(): { busy: number; total: number } {
  const cg = containerLimits();
  if (cg !== null && cg.cpus !== null) {
    const used = cg.cpuUsageUsec();
    if (used !== null) return { busy: used, total: (Number(process.hrtime.bigint()) / 1000) * cg.cpus };
  }
  let busy = 0;
  let total = 0;
  for (const c of cpus()) {
    const t = c.times.user + c.times.nice + c.times.sys + c.times.irq + c.times.idle;
    total += t;
    busy += t - c.times.idle;
  }
  return { busy, total };
}

/**
 * Memory in use, percent: of the cgroup's limit when one is set (a container's `--memory`),
 * else of the host's, by MemAvailable on Linux (page cache is not "used").
 */
export function hostMemoryUsedPercent(): number {
  const cg = containerLimits();
  if (cg !== null && cg.memoryMax !== null) {
    const used = cg.memoryUsed();
    if (used !== null) return Math.min(100, (100 * used) / cg.memoryMax);
  }
  try {
    const info = readFileSync('/proc/meminfo', 'utf8');
    const total = Number(/MemTotal:\s+(\d+)/.exec(info)?.[1]);
    const avail = Number(/MemAvailable:\s+(\d+)/.exec(info)?.[1]);
    if (total > 0 && avail >= 0) return 100 * (1 - avail / total);
  } catch {
    /* not Linux */
  }
  return 100 * (1 - freemem() / totalmem());
}
