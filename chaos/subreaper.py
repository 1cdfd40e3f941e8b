#!/usr/bin/env python3
"""Runs a command as a Linux "child subreaper" (prctl PR_SET_CHILD_SUBREAPER) and reaps every
process that is orphaned below it.

Why: the chaos soak SIGKILLs the pyres-ts master; its children become orphans, finish their job
and exit. Some hosts (this sandbox's pid 1, a container without an init) never reap orphans, so
they stay zombies, and a zombie's pid still answers kill(pid, 0): Resque's same-host prune then
takes the dead worker for a live one. On a normal host init reaps them; this wrapper gives the
soak that normal host.

Usage: subreaper.py COMMAND [ARGS...]; exits with COMMAND's status; forwards INT, TERM, HUP, QUIT.
"""
import ctypes
import os
import signal
import sys

PR_SET_CHILD_SUBREAPER = 36


def main() -> int:
    if len(sys.argv) < 2:
        sys.stderr.write("usage: subreaper.py COMMAND [ARGS...]\n")
        return 2
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.stderr.write("subreaper: prctl(PR_SET_CHILD_SUBREAPER) failed (errno %d); orphans may stay zombies\n" % ctypes.get_errno())
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(sys.argv[1], sys.argv[1:])
        finally:
            os._exit(127)

    def forward(sig, _frame):
        try:
            os.kill(pid, sig)
        except OSError:
            pass

    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(s, forward)
    status = None
    while status is None:
        try:
            p, st = os.waitpid(-1, 0)
        except ChildProcessError:
            break
        if p == pid:
            status = st
    # Reap whatever else has already exited; anything still running is left to init.
    while True:
        try:
            p, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if p == 0:
            break
    if status is None:
        return 1
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


if __name__ == "__main__":
    sys.exit(main())
