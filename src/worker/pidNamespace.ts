import { readFileSync, readlinkSync } from 'node:fs';

/**
 * This process's PID-namespace identity: the `/proc/self/ns/pid` link (e.g. `pid:[4026531836]`)
 * and the kernel's boot id, as `pid:[4026531836]@<boot id>`. Two processes with the same value
 * see the same pids, so one may judge the other's pid alive or dead; two with different values
 * (a container with its own PID namespace on a shared hostname, another boot of a VM image)
 * may not. null when either is unreadable (no /proc, another OS, a sandbox): pids are then
 * never provably comparable.
 */
export function readPidNamespace(): string | null {
  try {
    const ns = readlinkSync('/proc/self/ns/pid');
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'latin1').trim();
    if (!/^pid:\[\d+\]$/.test(ns) || boot === '') return null;
    return `${ns}@${boot}`;
  } catch {
    return null;
  }
}

let cached: string | null | undefined;

/** readPidNamespace(), read once per process (a process never changes PID namespace). */
export function ownPidNamespace(): string | null {
  if (cached === undefined) cached = readPidNamespace();
  return cached;
}
