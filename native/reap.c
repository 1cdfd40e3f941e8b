/*
 * pyres_reap: the one thing Node cannot do as PID 1 of a container, reap processes it did not
 * spawn. libuv waits for its own children pid by pid (waitpid(pid, WNOHANG) on SIGCHLD), so an
 * orphan the kernel re-parents to PID 1 stays a zombie. reapExcept(keep) reaps every child that
 * has exited EXCEPT `keep` (the real command, whose status libuv must see for its 'exit' event).
 *
 * waitid(P_ALL, WEXITED|WNOHANG|WNOWAIT) peeks at an exited child without reaping it; a child
 * other than `keep` is then reaped by pid. When the peek names `keep` (it has exited, libuv has
 * not reaped it yet) the others behind it are found in /proc (each child's parent pid) and
 * reaped by pid. Nothing here ever waits for `keep`.
 *
 * Linux only; Node-API version 1 (any Node >= 10.x, the same binary for every Node version).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* Reaps `pid` if it has exited; 1 when reaped. */
static int reap_one(pid_t pid) {
  int status;
  pid_t r;
  do r = waitpid(pid, &status, WNOHANG);
  while (r < 0 && errno == EINTR);
  return r == pid;
}

/* The parent pid of /proc/<pid>/stat, or -1. */
static pid_t ppid_of(long pid) {
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%ld/stat", pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  /* "pid (comm) state ppid ...": comm may hold spaces and parentheses, so from the last ')'. */
  char *p = strrchr(buf, ')');
  if (!p) return -1;
  char state;
  int ppid;
  if (sscanf(p + 1, " %c %d", &state, &ppid) != 2) return -1;
  return (pid_t)ppid;
}

/* Every child of ours other than `keep`, from /proc, reaped if it has exited. */
static int reap_by_scan(pid_t keep) {
  int reaped = 0;
  pid_t self = getpid();
  DIR *d = opendir("/proc");
  if (!d) return 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    char *end;
    long pid = strtol(e->d_name, &end, 10);
    if (*end != '\0' || pid <= 0 || (pid_t)pid == keep) continue;
    if (ppid_of(pid) == self) reaped += reap_one((pid_t)pid);
  }
  closedir(d);
  return reaped;
}

static int reap_except(pid_t keep) {
  int reaped = 0;
  for (;;) {
    siginfo_t si;
    memset(&si, 0, sizeof si);
    int r = waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 || si.si_pid == 0) break; /* ECHILD, or nobody has exited */
    if (si.si_pid == keep) {
      reaped += reap_by_scan(keep);
      break;
    }
    if (reap_one(si.si_pid)) reaped++;
    else break; /* should not happen (it was waitable); never spin */
  }
  return reaped;
}

/* reapExcept(keep: number): number, the count of children reaped. */
static napi_value ReapExcept(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t keep = 0;
  napi_value out;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &keep) != napi_ok || keep <= 0) {
    napi_throw_type_error(env, NULL, "reapExcept(keep): keep must be a pid (a positive integer)");
    return NULL;
  }
  napi_create_int32(env, reap_except((pid_t)keep), &out);
  return out;
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_value fn;
  if (napi_create_function(env, "reapExcept", NAPI_AUTO_LENGTH, ReapExcept, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "reapExcept", fn) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
