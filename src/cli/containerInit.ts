/**
 * PID 1 in a container. The kernel re-parents every orphan to PID 1, and only a waitpid(2) by
 * PID 1 removes an orphan's zombie once it exits. Node can wait only for the children it
 * spawned itself (libuv's waitpid is per pid; there is no SIGCHLD handler and no waitpid(-1)),
 * so a master running as PID 1 cannot reap a grandchild left behind by a job. It says so and
 * points at the fix: an init as PID 1 (tini, `docker run --init`, Kubernetes'
 * shareProcessNamespace, or the image's `tini` entrypoint in deploy/Dockerfile).
 */

/** The warning for a master that is PID 1, or null when it is not. */
export function pid1Warning(pid: number = process.pid): string | null {
  if (pid !== 1) return null;
  return (
    'running as PID 1: orphaned grandchildren of jobs are re-parented here and Node cannot reap them (they stay zombies); ' +
    'run under an init: tini as the entrypoint (deploy/Dockerfile), docker run --init, or shareProcessNamespace: true in Kubernetes'
  );
}
