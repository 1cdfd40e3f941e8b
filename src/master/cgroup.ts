/**
 * The CPU and memory a container may use, from its cgroup, so autoscale inside a container
 * measures against its limits rather than the host's: cgroup v2 `cpu.max`, `cpu.stat`,
 * `memory.max`, `memory.current`; cgroup v1 `cpu.cfs_quota_us`/`cpu.cfs_period_us`,
 * `cpuacct.usage`, `memory.limit_in_bytes`, `memory.usage_in_bytes`. The parsers are pure (file
 * contents in, numbers out); `readCgroupLimits` reads the files of this process's own cgroup.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** v1 reports "no limit" as a huge page-aligned number; anything this large means unlimited. */
const V1_UNLIMITED = 2 ** 60;

/** cgroup v2 `cpu.max` ("200000 100000" or "max 100000"): CPUs allowed, or null for no limit. */
export function parseCpuMax(text: string): number | null {
  const [quota, period] = text.trim().split(/\s+/);
  if (quota === undefined || quota === 'max') return null;
  const q = Number(quota);
  const p = Number(period ?? 100000);
  return Number.isFinite(q) && q > 0 && Number.isFinite(p) && p > 0 ? q / p : null;
}

/** cgroup v1 `cpu.cfs_quota_us` and `cpu.cfs_period_us`: CPUs allowed, or null (quota -1: none). */
export function parseCfsQuota(quotaText: string, periodText: string): number | null {
  const q = Number(quotaText.trim());
  const p = Number(periodText.trim());
  return Number.isFinite(q) && q > 0 && Number.isFinite(p) && p > 0 ? q / p : null;
}

/** A memory limit file (v2 `memory.max`: bytes or "max"; v1 `memory.limit_in_bytes`): bytes, or null for none. */
export function parseMemoryLimit(text: string): number | null {
  const t = text.trim();
  if (t === '' || t === 'max') return null;
  const n = Number(t);
  return Number.isFinite(n) && n > 0 && n < V1_UNLIMITED ? n : null;
}

/** A byte counter file (`memory.current`, `memory.usage_in_bytes`), or null. */
export function parseBytes(text: string): number | null {
  const n = Number(text.trim());
  return Number.isFinite(n) && n >= 0 ? n : null;
}

/** v2 `cpu.stat`'s usage_usec, in microseconds, or null. */
export function parseCpuStatUsage(text: string): number | null {
  const m = /^usage_usec\s+(\d+)$/m.exec(text);
  return m ? Number(m[1]) : null;
}

/** v2 `memory.stat`'s inactive_file (page cache the kernel reclaims first), bytes, or 0. */
export function parseInactiveFile(text: string): number {
  const m = /^inactive_file\s+(\d+)$/m.exec(text);
  return m ? Number(m[1]) : 0;
}

/** `/proc/self/cgroup`: the v2 path ("0::/x") and the v1 paths by controller. */
export function parseProcCgroup(text: string): { v2: string | null; v1: Record<string, string> } {
  let v2: string | null = null;
  const v1: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!m) continue;
    if (m[1] === '0' && m[2] === '') v2 = m[3] as string;
    else for (const c of (m[2] as string).split(',')) if (c) v1[c] = m[3] as string;
  }
  return { v2, v1 };
}

/** The limits found, and how to read this cgroup's usage counters. */
export interface CgroupLimits {
  version: 1 | 2;
  /** CPUs allowed (2.5 for a 250000/100000 quota), or null for no limit. */
  cpus: number | null;
  /** Bytes, or null for no limit. */
  memoryMax: number | null;
  /** CPU time used by the cgroup so far, microseconds (null when not readable). */
  cpuUsageUsec(): number | null;
  /** Memory in use (minus reclaimable inactive page cache on v2), bytes. */
  memoryUsed(): number | null;
}

function read(p: string): string | null {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return null;
  }
}

/**
 * This process's cgroup limits, or null when no CPU or memory limit is set (or not Linux). A
 * container's cgroup namespace shows its own cgroup as "/", which the paths below handle.
 */
export function readCgroupLimits(root = '/sys/fs/cgroup', procCgroup: string | null = read('/proc/self/cgroup')): CgroupLimits | null {
  if (procCgroup === null) return null;
  const { v2, v1 } = parseProcCgroup(procCgroup);
  // The cgroup's own directory, or the mount's top when the path shown is the host's (a
  // container without its own cgroup namespace, whose /sys/fs/cgroup is its cgroup).
  const v2dir = v2 === null ? null : ([join(root, v2), root].find(d => read(join(d, 'cgroup.controllers')) !== null) ?? null);
  if (v2dir !== null) {
    const cpuMax = read(join(v2dir, 'cpu.max'));
    const memMax = read(join(v2dir, 'memory.max'));
    const cpus = cpuMax === null ? null : parseCpuMax(cpuMax);
    const memoryMax = memMax === null ? null : parseMemoryLimit(memMax);
    if (cpus === null && memoryMax === null) return null;
    return {
      version: 2,
      cpus,
      memoryMax,
      cpuUsageUsec: () => {
        const t = read(join(v2dir, 'cpu.stat'));
        return t === null ? null : parseCpuStatUsage(t);
      },
      memoryUsed: () => {
        const t = read(join(v2dir, 'memory.current'));
        const cur = t === null ? null : parseBytes(t);
        if (cur === null) return null;
        const stat = read(join(v2dir, 'memory.stat'));
        return Math.max(0, cur - (stat === null ? 0 : parseInactiveFile(stat)));
      },
    };
  }
  // v1: each controller has its own hierarchy (cpu and cpuacct often mounted together). In a
  // container the path shown may be the host's while the mount is the container's own: then
  // the file sits at the mount's top.
  const v1read = (c: string, mounts: string[], f: string): string | null => {
    const p = v1[c];
    if (p === undefined) return null;
    for (const m of mounts) {
      const t = read(join(root, m, p, f)) ?? read(join(root, m, f));
      if (t !== null) return t;
    }
    return null;
  };
  const CPU = ['cpu', 'cpu,cpuacct', 'cpuacct,cpu'];
  const ACCT = ['cpuacct', 'cpu,cpuacct', 'cpuacct,cpu'];
  const quota = v1read('cpu', CPU, 'cpu.cfs_quota_us');
  const period = v1read('cpu', CPU, 'cpu.cfs_period_us');
  const cpus = quota !== null && period !== null ? parseCfsQuota(quota, period) : null;
  const limit = v1read('memory', ['memory'], 'memory.limit_in_bytes');
  const memoryMax = limit === null ? null : parseMemoryLimit(limit);
  if (cpus === null && memoryMax === null) return null;
  return {
    version: 1,
    cpus,
    memoryMax,
    cpuUsageUsec: () => {
      const t = v1read('cpuacct', ACCT, 'cpuacct.usage');
      const ns = t === null ? null : parseBytes(t);
      return ns === null ? null : ns / 1000;
    },
    memoryUsed: () => {
      const t = v1read('memory', ['memory'], 'memory.usage_in_bytes');
      return t === null ? null : parseBytes(t);
    },
  };
}
