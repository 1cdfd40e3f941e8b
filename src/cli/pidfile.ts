/**
 * A pidfile as init scripts, monit and god expect it (resque-pool's `--pidfile`): the pid and a
 * newline, written atomically (a reader never sees a half-written file), refused while the pid
 * in an existing file is alive, replaced when that pid is dead (a stale file from a crash or a
 * reboot), and removed on exit, only if it still holds this process's pid.
 */
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError } from '../errors';

/** The pid an existing pidfile names, or null when there is none or it holds no pid. */
export function readPidfile(path: string): number | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return null;
  }
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

/** Is a process with this pid alive? EPERM (another user's process) counts as alive. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A written pidfile; `remove()` deletes it if it still names this pid (idempotent). */
export interface Pidfile {
  readonly path: string;
  remove(): void;
}

/**
 * Writes `pid` to `path` (directories created). Throws a ConfigError naming `flag` when another
 * live process holds the file. The write is a temporary file linked into place: two processes
 * starting at once cannot both win.
 */
export function writePidfile(path: string, pid: number = process.pid, flag = '--pidfile'): Pidfile {
  const file = resolve(path);
  try {
    mkdirSync(dirname(file), { recursive: true });
  } catch (e) {
    throw new ConfigError(`${flag} ${path}: cannot create its directory (${(e as Error).message})`);
  }
  const tmp = `${file}.${pid}.tmp`;
  try {
    writeFileSync(tmp, `${pid}\n`, { mode: 0o644 });
  } catch (e) {
    throw new ConfigError(`${flag} ${path}: cannot write (${(e as Error).message})`);
  }
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(tmp, file);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 3) throw new ConfigError(`${flag} ${path}: cannot write (${(e as Error).message})`);
        const old = readPidfile(file);
        if (old !== null && old !== pid && pidAlive(old)) {
          throw new ConfigError(`${flag} ${path}: already running as pid ${old} (stop it first, or remove the file if that pid is not pyres-ts)`);
        }
        // Stale (a dead pid, our own, or no pid at all): replace it.
        try {
          unlinkSync(file);
        } catch {
          /* removed by someone else meanwhile */
        }
      }
    }
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      /* already gone */
    }
  }
  let removed = false;
  const remove = (): void => {
    if (removed) return;
    removed = true;
    if (readPidfile(file) === pid) {
      try {
        unlinkSync(file);
      } catch {
        /* gone */
      }
    }
  };
  process.once('exit', remove);
  return { path: file, remove };
}
