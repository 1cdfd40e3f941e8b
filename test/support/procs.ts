/**
 * Process inspection through /proc, shared by the process-level suites (master, faults).
 */
import * as fs from 'node:fs';

export function procPids(): number[] {
  return fs
    .readdirSync('/proc')
    .filter(d => /^\d+$/.test(d))
    .map(Number);
}

/** The `state` letter of /proc/<pid>/stat (R, S, D, Z, ...), or null when there is no such process. */
export function procState(pid: number): string | null {
  return statField(pid, 0);
}

export function ppidOf(pid: number): number | null {
  const v = statField(pid, 1);
  return v === null ? null : Number(v);
}

function statField(pid: number, i: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[i] ?? null;
  } catch {
    return null;
  }
}

/** process.kill(pid, 0) succeeds: the pid exists (a zombie counts). */
export function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Exists and is not a zombie: it can still run code (in this sandbox pid 1 does not reap orphans). */
export function isRunning(pid: number): boolean {
  if (!pidExists(pid)) return false;
  const s = procState(pid);
  return s !== null && s !== 'Z' && s !== 'X';
}

/** Live (non-zombie) direct children of `ppid` (what `pgrep -P ppid` shows, without zombies). */
export function childPidsOf(ppid: number): number[] {
  return procPids()
    .filter(p => ppidOf(p) === ppid && isRunning(p))
    .sort((a, b) => a - b);
}

/** Every process (not this one) whose environment carries `name=tag`; with runningOnly, zombies are left out. */
export function pidsWithEnv(name: string, tag: string, runningOnly = false): number[] {
  const needle = `${name}=${tag}\0`;
  const out: number[] = [];
  for (const p of procPids()) {
    if (p === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${p}/environ`, 'latin1').includes(needle) && (!runningOnly || isRunning(p))) out.push(p);
    } catch {
      /* gone, or not ours */
    }
  }
  return out;
}
