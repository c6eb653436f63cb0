// lxdts-attach: runs one command in a running liblxc container, as `lxc-attach --clear-env -u U -g G` does with
// LXD's defaults, without liblxc (no config parsing, no seccomp compilation): ~1 ms instead of ~8-10 ms.
//
//   lxdts-attach --pid PID [--start-time TICKS] [--name LXCNAME] --uid U --gid G [--cwd DIR]
//                [--env K=V]... [--rlimit NAME=SOFT[:HARD]]... [--wait-go] -- COMMAND [ARG]...
//   lxdts-attach --dump-seccomp PID      (the filters of PID, one hex line each, newest first: for tests)
//
// PID is the container's init as the host sees it. What the command gets, step by step as liblxc 5.0.2 does it
// (src/lxc/attach.c lxc_attach/do_attach, cgroups/cgfsng.c cgroup_attach_leaf):
//   - the container's cgroups (every hierarchy of init's /proc/PID/cgroup, cut at the `lxc.payload.NAME` level; the
//     unified one through the `.lxc` leaf owned by the container's root), joined before any namespace;
//   - init's namespaces (the ones that differ from ours: user last, as nsenter does), then a fork so the command is
//     in the pid namespace; it is created with CLONE_PARENT, so it is our child, in another pid namespace, as under
//     lxc-attach (the agent finds it that way to signal it);
//   - init's personality, init's capability bounding set, supplementary groups dropped, root of the user namespace,
//     init's NoNewPrivs, stdio chowned to the user (fix_stdio_permissions), init's exact seccomp filters (copied with
//     PTRACE_SECCOMP_GET_FILTER: the BPF liblxc compiled for init from the container's policy), then setresgid/
//     setresuid to the requested ids, a clean environment (PATH default, container=lxc, then --env), execvp:
//     126 when not executable (EACCES/ENOEXEC), 127 when not found (ENOENT), 255 otherwise (lxc_attach_run_command);
//   - with a terminal on stdin/stdout/stderr (lxc-attach's stdfd_is_pty), a new pty from the container's devpts
//     becomes the command's controlling terminal; we relay it to ours (ssh-like raw settings, ONLCR on, window size
//     copied on SIGWINCH), as lxc-attach's terminal mainloop does.
// We wait for the command and exit with its status (128+N for signal N). SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1,
// SIGUSR2, SIGCONT and (without a pty) SIGWINCH sent to us are forwarded to the command.
// --wait-go: everything that only reads (init, its namespaces and filters) is done first, then one byte is read from
// stdin before anything enters the container: the agent starts us while the client connects and says "go" when the
// command may run (the rest of stdin is the command's). End of input instead of that byte: exit 125, nothing ran.
// Refuses (exit 1, message on stderr) when PID is not a container init: same pid or mount namespace as ours, not
// pid 1 in its pid namespace, start time not TICKS, or an LSM label other than unconfined.
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#ifndef PTRACE_SECCOMP_GET_FILTER
#define PTRACE_SECCOMP_GET_FILTER 0x420c
#endif
#ifndef PTRACE_SECCOMP_GET_METADATA
#define PTRACE_SECCOMP_GET_METADATA 0x420d
#endif
#ifndef SECCOMP_RET_USER_NOTIF
#define SECCOMP_RET_USER_NOTIF 0x7fc00000U
#endif
#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define MAX_CGROUPS 32
#define MAX_FILTERS 32

struct seccomp_metadata_compat {
  uint64_t filter_off;
  uint64_t flags;
};

struct filter {
  struct sock_filter *insns;
  unsigned short len;
  unsigned long flags;
};

struct rlimit_arg {
  int resource;
  struct rlimit value;
};

static struct {
  pid_t pid;
  const char *start_time;
  const char *name;
  uid_t uid;
  gid_t gid;
  bool have_uid, have_gid;
  bool wait_go;
  const char *cwd;
  char **env;
  size_t env_len;
  struct rlimit_arg rlimits[RLIM_NLIMITS];
  size_t rlimits_len;
  char **argv;
} opt;

// What we learn about init before forking.
static struct {
  int ns_fd[8];
  int ns_type[8];
  size_t ns_len;
  bool join_user;
  uid_t root_host_uid;  // host ids of the user namespace's root (for the `.lxc` cgroup)
  gid_t root_host_gid;
  uint64_t cap_bnd;
  bool no_new_privs;
  unsigned long persona;
  struct filter filters[MAX_FILTERS];
  size_t filters_len;
  char *cgroups[MAX_CGROUPS];  // full directory paths
  bool cgroup_unified[MAX_CGROUPS];
  size_t cgroups_len;
  unsigned last_cap;
} init;

static int pty_mode;

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt, ...) {
  int saved = errno;
  va_list ap;
  va_start(ap, fmt);
  fputs("lxdts-attach: ", stderr);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  if (fmt[strlen(fmt) - 1] == ':') fprintf(stderr, " %s", strerror(saved));
  fputc('\n', stderr);
  _exit(1);
}

static char *read_at(int dfd, const char *path, size_t *len_out) {
  int fd = openat(dfd, path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap + 1);
  for (;;) {
    if (len == cap) buf = realloc(buf, (cap *= 2) + 1);
    ssize_t n = read(fd, buf + len, cap - len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n < 0) {
        int saved = errno;
        free(buf);
        close(fd);
        errno = saved;
        return NULL;
      }
      break;
    }
    len += (size_t)n;
  }
  close(fd);
  buf[len] = '\0';
  if (len_out) *len_out = len;
  return buf;
}

static bool write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ssize_t n = write(fd, text, strlen(text));
  int saved = errno;
  close(fd);
  errno = saved;
  return n == (ssize_t)strlen(text);
}

static const char *status_field(const char *status, const char *key) {
  size_t klen = strlen(key);
  for (const char *line = status; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
    if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
      const char *v = line + klen + 1;
      while (*v == ' ' || *v == '\t') v++;
      return v;
    }
  }
  return NULL;
}

// ---- arguments ---------------------------------------------------------------------------------------------

static const struct {
  const char *name;
  int resource;
} RLIMIT_NAMES[] = {
    {"as", RLIMIT_AS}, {"core", RLIMIT_CORE}, {"cpu", RLIMIT_CPU}, {"data", RLIMIT_DATA}, {"fsize", RLIMIT_FSIZE},
    {"locks", RLIMIT_LOCKS}, {"memlock", RLIMIT_MEMLOCK}, {"msgqueue", RLIMIT_MSGQUEUE}, {"nice", RLIMIT_NICE},
    {"nofile", RLIMIT_NOFILE}, {"nproc", RLIMIT_NPROC}, {"rss", RLIMIT_RSS}, {"rtprio", RLIMIT_RTPRIO},
    {"rttime", RLIMIT_RTTIME}, {"sigpending", RLIMIT_SIGPENDING}, {"stack", RLIMIT_STACK},
};

static bool parse_ulong(const char *s, unsigned long long *out) {
  if (!*s || !isdigit((unsigned char)*s)) return false;
  char *end;
  errno = 0;
  *out = strtoull(s, &end, 10);
  return errno == 0 && *end == '\0';
}

static rlim_t parse_rlim(const char *s) {
  unsigned long long v;
  if (strcmp(s, "unlimited") == 0) return RLIM_INFINITY;
  if (!parse_ulong(s, &v)) die("invalid rlimit value \"%s\"", s);
  return (rlim_t)v;
}

// NAME=SOFT[:HARD] as liblxc's lxc.prlimit.NAME takes it.
static void parse_rlimit(const char *arg) {
  const char *eq = strchr(arg, '=');
  if (!eq) die("invalid --rlimit \"%s\"", arg);
  size_t nlen = (size_t)(eq - arg);
  int resource = -1;
  for (size_t i = 0; i < sizeof(RLIMIT_NAMES) / sizeof(RLIMIT_NAMES[0]); i++) {
    if (strlen(RLIMIT_NAMES[i].name) == nlen && strncmp(RLIMIT_NAMES[i].name, arg, nlen) == 0) resource = RLIMIT_NAMES[i].resource;
  }
  if (resource < 0 || opt.rlimits_len == RLIM_NLIMITS) die("invalid --rlimit \"%s\"", arg);
  char *value = strdup(eq + 1);
  char *colon = strchr(value, ':');
  if (colon) *colon = '\0';
  struct rlimit_arg *r = &opt.rlimits[opt.rlimits_len++];
  r->resource = resource;
  r->value.rlim_cur = parse_rlim(value);
  r->value.rlim_max = colon ? parse_rlim(colon + 1) : r->value.rlim_cur;
  free(value);
}

static unsigned long parse_id(const char *s, const char *what) {
  unsigned long long v;
  if (!parse_ulong(s, &v) || v > 0xfffffffeULL) die("invalid %s \"%s\"", what, s);
  return (unsigned long)v;
}

static void parse_args(int argc, char **argv) {
  opt.env = calloc((size_t)argc + 1, sizeof(char *));
  int i = 1;
  for (; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--") == 0) {
      i++;
      break;
    }
    if (strcmp(a, "--wait-go") == 0) {
      opt.wait_go = true;
      continue;
    }
    if (!v) die("missing value for %s", a);
    if (strcmp(a, "--pid") == 0) opt.pid = (pid_t)parse_id(v, "pid");
    else if (strcmp(a, "--start-time") == 0) opt.start_time = v;
    else if (strcmp(a, "--name") == 0) opt.name = v;
    else if (strcmp(a, "--uid") == 0) opt.uid = (uid_t)parse_id(v, "uid"), opt.have_uid = true;
    else if (strcmp(a, "--gid") == 0) opt.gid = (gid_t)parse_id(v, "gid"), opt.have_gid = true;
    else if (strcmp(a, "--cwd") == 0) opt.cwd = v;
    else if (strcmp(a, "--env") == 0) {
      if (!strchr(v, '=') || v[0] == '=') die("invalid --env \"%s\"", v);
      opt.env[opt.env_len++] = (char *)v;
    } else if (strcmp(a, "--rlimit") == 0) parse_rlimit(v);
    else die("unknown option %s", a);
    i++;
  }
  if (opt.pid <= 1 || i >= argc) die("usage: lxdts-attach --pid PID [--start-time T] [--name N] --uid U --gid G [--cwd DIR] [--env K=V]... [--rlimit R=S[:H]]... [--wait-go] -- COMMAND [ARG]...");
  opt.argv = argv + i;
}

// ---- init: namespaces, identity, restrictions ---------------------------------------------------------------

static const struct {
  const char *name;
  int type;
} NAMESPACES[] = {
    // nsenter's order: the user namespace is joined last (host root may enter the others first).
    {"cgroup", CLONE_NEWCGROUP}, {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS}, {"net", CLONE_NEWNET},
    {"pid", CLONE_NEWPID}, {"mnt", CLONE_NEWNS}, {"time", CLONE_NEWTIME}, {"user", CLONE_NEWUSER},
};

// The host id that `id` of the namespace maps to, from uid_map/gid_map text, or -1.
static long long map_to_host(const char *map, unsigned long id) {
  const char *line = map;
  while (line && *line) {
    unsigned long inside, outside, count;
    if (sscanf(line, "%lu %lu %lu", &inside, &outside, &count) == 3 && id >= inside && id - inside < count) {
      return (long long)(outside + (id - inside));
    }
    line = strchr(line, '\n');
    if (line) line++;
  }
  return -1;
}

// Whether a path segment is the container's payload cgroup: `lxc.payload.NAME`, or `-N` after it (liblxc's
// suffix when another lxcpath holds a container of that name). Without --name, any `lxc.payload.*`.
static bool payload_segment(const char *seg, size_t len) {
  static const char prefix[] = "lxc.payload.";
  size_t plen = sizeof(prefix) - 1;
  if (len <= plen || strncmp(seg, prefix, plen) != 0) return false;
  if (!opt.name) return true;
  size_t nlen = strlen(opt.name);
  if (len < plen + nlen || strncmp(seg + plen, opt.name, nlen) != 0) return false;
  const char *rest = seg + plen + nlen;
  size_t rlen = len - plen - nlen;
  if (rlen == 0) return true;
  if (rest[0] != '-' || rlen == 1) return false;
  for (size_t i = 1; i < rlen; i++) if (!isdigit((unsigned char)rest[i])) return false;
  return true;
}

static void read_cgroups(int dfd_init) {
  char *text = read_at(dfd_init, "cgroup", NULL);
  if (!text) die("cannot read /proc/%d/cgroup:", opt.pid);
  bool pure_v2 = access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0;
  for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
    char *c1 = strchr(line, ':');
    char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2 || c2[1] != '/') continue;
    *c1 = *c2 = '\0';
    const char *controllers = c1 + 1;
    char *path = c2 + 1;
    // Cut after the payload segment: the container's own cgroup, not a sub-cgroup its init moved into.
    char *cut = NULL;
    for (char *seg = path + 1; *seg;) {
      char *slash = strchr(seg, '/');
      size_t len = slash ? (size_t)(slash - seg) : strlen(seg);
      if (payload_segment(seg, len)) {
        cut = seg + len;
        break;
      }
      if (!slash) break;
      seg = slash + 1;
    }
    if (!cut) continue;  // A hierarchy liblxc does not manage for this container.
    *cut = '\0';
    bool unified = strcmp(line, "0") == 0 && controllers[0] == '\0';
    const char *mount = unified ? (pure_v2 ? "" : "unified") : (strncmp(controllers, "name=", 5) == 0 ? controllers + 5 : controllers);
    if (init.cgroups_len == MAX_CGROUPS) die("too many cgroup hierarchies");
    char *dir;
    if (asprintf(&dir, "/sys/fs/cgroup%s%s%s", *mount ? "/" : "", mount, path) < 0) die("out of memory");
    init.cgroup_unified[init.cgroups_len] = unified;
    init.cgroups[init.cgroups_len++] = dir;
  }
  free(text);
  if (init.cgroups_len == 0) die("process %d is in no container cgroup (lxc.payload.%s)", opt.pid, opt.name ? opt.name : "*");
}

static void on_stop_timeout(int sig) {
  (void)sig;
  static const char msg[] = "lxdts-attach: the container's init does not stop for ptrace (frozen?)\n";
  if (write(2, msg, sizeof msg - 1) < 0) _exit(1);
  _exit(1);
}

// Init's seccomp filters, exactly, with their flags: PTRACE_SECCOMP_GET_FILTER needs the tracee stopped, so init
// is seized and interrupted for the few microseconds it takes, and a signal that arrived meanwhile is re-injected.
static void copy_seccomp_filters(pid_t pid, const char *status) {
  const char *mode = status_field(status, "Seccomp");
  if (!mode || *mode == '0') return;
  if (*mode != '2') die("process %d is in seccomp mode %c", pid, *mode);
  const char *mine = read_at(AT_FDCWD, "/proc/self/status", NULL);
  const char *my_mode = mine ? status_field(mine, "Seccomp") : NULL;
  if (!my_mode || *my_mode != '0') die("cannot copy seccomp filters while confined by seccomp ourselves");

  // Another exec copying the same filters holds init for a few microseconds: EPERM (already traced) is retried.
  for (int tries = 0; ptrace(PTRACE_SEIZE, pid, 0, 0) < 0; tries++) {
    if (errno != EPERM || tries == 4000) die("ptrace(PTRACE_SEIZE, %d):", pid);
    usleep(500);
  }
  if (ptrace(PTRACE_INTERRUPT, pid, 0, 0) < 0) die("ptrace(PTRACE_INTERRUPT, %d):", pid);  // Exit detaches.
  int pending = 0, st;
  signal(SIGALRM, on_stop_timeout);
  alarm(5);  // A frozen init never stops: give up (exiting detaches).
  for (;;) {
    pid_t r = waitpid(pid, &st, __WALL);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) die("waitpid(%d):", pid);
    if (WIFEXITED(st) || WIFSIGNALED(st)) die("process %d exited", pid);
    if (WIFSTOPPED(st)) {
      // Signal-delivery-stop (not our interrupt, not a group-stop): give the signal back on detach.
      if ((st >> 16) != PTRACE_EVENT_STOP) pending = WSTOPSIG(st);
      break;
    }
  }
  alarm(0);
  bool ok = true;
  for (unsigned long i = 0; ok; i++) {
    long n = ptrace(PTRACE_SECCOMP_GET_FILTER, pid, (void *)i, NULL);
    if (n < 0) {
      ok = errno == ENOENT && i > 0;
      break;
    }
    if (init.filters_len == MAX_FILTERS) {
      ok = false;
      break;
    }
    struct filter *f = &init.filters[init.filters_len];
    f->insns = calloc((size_t)n, sizeof(struct sock_filter));
    f->len = (unsigned short)n;
    if (ptrace(PTRACE_SECCOMP_GET_FILTER, pid, (void *)i, f->insns) != n) {
      ok = false;
      break;
    }
    struct seccomp_metadata_compat md = {.filter_off = i, .flags = 0};
    if (ptrace(PTRACE_SECCOMP_GET_METADATA, pid, (void *)sizeof(md), &md) >= 0) f->flags = (unsigned long)md.flags;
    init.filters_len++;
  }
  int saved = errno;
  if (ptrace(PTRACE_DETACH, pid, 0, (void *)(long)pending) < 0) die("ptrace(PTRACE_DETACH, %d):", pid);
  errno = saved;
  if (!ok) die("cannot read the seccomp filters of %d:", pid);
  // A notifying filter needs liblxc's notifier (lxc.seccomp.notify.*): not something we can give the command.
  for (size_t i = 0; i < init.filters_len; i++) {
    for (unsigned j = 0; j < init.filters[i].len; j++) {
      struct sock_filter *in = &init.filters[i].insns[j];
      if (in->code == (BPF_RET | BPF_K) && (in->k & SECCOMP_RET_ACTION_FULL) == SECCOMP_RET_USER_NOTIF) {
        die("the seccomp policy of %d notifies a supervisor: not supported", pid);
      }
    }
  }
}

static void inspect_init(void) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d", opt.pid);
  int dfd_init = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dfd_init < 0) die("no process %d:", opt.pid);
  int dfd_self = open("/proc/self", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dfd_self < 0) die("cannot open /proc/self:");

  // Everything below is read through dfd_init: if pid were reused after this check, reads would fail (ESRCH).
  char *stat = read_at(dfd_init, "stat", NULL);
  char *close_paren = stat ? strrchr(stat, ')') : NULL;
  if (!close_paren) die("cannot read /proc/%d/stat:", opt.pid);
  char state = close_paren[2];
  if (state == 'Z' || state == 'X') die("process %d is exiting", opt.pid);
  if (opt.start_time) {
    const char *f = close_paren + 2;  // field 3
    for (int n = 3; n < 22 && f; n++) f = strchr(f, ' ') ? strchr(f, ' ') + 1 : NULL;
    if (!f || strncmp(f, opt.start_time, strlen(opt.start_time)) != 0 || f[strlen(opt.start_time)] != ' ') {
      die("process %d is not the container's init (start time)", opt.pid);
    }
  }
  free(stat);

  char *status = read_at(dfd_init, "status", NULL);
  if (!status) die("cannot read /proc/%d/status:", opt.pid);
  const char *nspid = status_field(status, "NSpid");
  const char *eol = nspid ? strchr(nspid, '\n') : NULL;
  const char *last = eol ? eol : NULL;
  while (last && last > nspid && (last[-1] == ' ' || last[-1] == '\t')) last--;
  while (last && last > nspid && isdigit((unsigned char)last[-1])) last--;
  if (!last || strtol(last, NULL, 10) != 1 || last == nspid) die("process %d is not pid 1 of a pid namespace", opt.pid);
  const char *bnd = status_field(status, "CapBnd");
  const char *nnp = status_field(status, "NoNewPrivs");
  if (!bnd || !nnp) die("cannot read CapBnd/NoNewPrivs of %d", opt.pid);
  init.cap_bnd = strtoull(bnd, NULL, 16);
  init.no_new_privs = *nnp == '1';

  // The LSM label: this host class runs containers unconfined (AppArmor absent or lxc.apparmor.profile=unconfined).
  char *label = read_at(dfd_init, "attr/current", NULL);
  if (label) {
    label[strcspn(label, "\n")] = '\0';
    if (label[0] && strcmp(label, "unconfined") != 0) die("process %d has LSM label \"%s\": not supported", opt.pid, label);
    free(label);
  }

  char *persona = read_at(dfd_init, "personality", NULL);
  if (!persona) die("cannot read /proc/%d/personality:", opt.pid);
  init.persona = strtoul(persona, NULL, 16) & PER_MASK;
  free(persona);

  for (size_t i = 0; i < sizeof(NAMESPACES) / sizeof(NAMESPACES[0]); i++) {
    char ns[32];
    snprintf(ns, sizeof ns, "ns/%s", NAMESPACES[i].name);
    int fd = openat(dfd_init, ns, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT && NAMESPACES[i].type == CLONE_NEWTIME) continue;  // Kernel without time namespaces.
      die("cannot open /proc/%d/%s:", opt.pid, ns);
    }
    struct stat a, b;
    if (fstat(fd, &a) < 0 || fstatat(dfd_self, ns, &b, 0) < 0) die("cannot stat %s:", ns);
    bool same = a.st_dev == b.st_dev && a.st_ino == b.st_ino;
    // Never "attach" to a host process: the container has its own pid and mount namespaces (privileged
    // containers share our user namespace; unprivileged ones have their own, checked below).
    if (same && (NAMESPACES[i].type == CLONE_NEWPID || NAMESPACES[i].type == CLONE_NEWNS)) {
      die("process %d shares our %s namespace: not a container", opt.pid, NAMESPACES[i].name);
    }
    if (same) {
      close(fd);
      continue;
    }
    if (NAMESPACES[i].type == CLONE_NEWUSER) init.join_user = true;
    init.ns_fd[init.ns_len] = fd;
    init.ns_type[init.ns_len++] = NAMESPACES[i].type;
  }

  if (init.join_user) {
    char *uid_map = read_at(dfd_init, "uid_map", NULL);
    char *gid_map = read_at(dfd_init, "gid_map", NULL);
    long long ru = uid_map ? map_to_host(uid_map, 0) : -1, rg = gid_map ? map_to_host(gid_map, 0) : -1;
    if (ru < 0 || rg < 0) die("the user namespace of %d has no root", opt.pid);
    if (ru == 0) die("process %d: user namespace maps host root", opt.pid);
    init.root_host_uid = (uid_t)ru;
    init.root_host_gid = (gid_t)rg;
    free(uid_map);
    free(gid_map);
  }

  read_cgroups(dfd_init);
  copy_seccomp_filters(opt.pid, status);
  free(status);

  char *last_cap = read_at(AT_FDCWD, "/proc/sys/kernel/cap_last_cap", NULL);
  init.last_cap = last_cap ? (unsigned)strtoul(last_cap, NULL, 10) : 40;
  free(last_cap);
  close(dfd_init);
  close(dfd_self);
}

// ---- the transient process: cgroups, rlimits, namespaces ----------------------------------------------------

// The unified hierarchy is joined at fork (clone3 CLONE_INTO_CGROUP) and the v1 ones by writing "0" to `tasks`
// (this thread, which is the whole single-threaded process): writing a pid to cgroup.procs takes the kernel's
// threadgroup lock for writing, an RCU grace period (~5 ms here) per exec. The cgroups are the ones liblxc picks.
static void join_v1_cgroups(void) {
  for (size_t i = 0; i < init.cgroups_len; i++) {
    if (init.cgroup_unified[i]) continue;
    char file[PATH_MAX];
    snprintf(file, sizeof file, "%s/tasks", init.cgroups[i]);
    if (!write_file(file, "0")) die("cannot join cgroup %s:", init.cgroups[i]);
  }
}

static pid_t clone_into(int cgroup_fd) {
  struct {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
  } args = {.flags = 0x200000000ULL /* CLONE_INTO_CGROUP */, .exit_signal = SIGCHLD, .cgroup = (uint64_t)cgroup_fd};
  return (pid_t)syscall(SYS_clone3, &args, sizeof args);
}

// mkdir for a leaf the container's root owns (liblxc makes it from inside the user namespace).
static bool make_leaf(const char *dir) {
  if (mkdir(dir, 0755) < 0) return errno == EEXIST;
  if (init.join_user && chown(dir, init.root_host_uid, init.root_host_gid) < 0) die("cannot chown %s:", dir);
  return true;
}

// fork() into the container's unified cgroup, as cgroup_attach_leaf places a process: its `.lxc` leaf, else the
// cgroup itself, else the first `.lxc-N` that takes it (the cgroup has controllers for its children: EBUSY).
static pid_t fork_into_cgroups(void) {
  const char *unified = NULL;
  for (size_t i = 0; i < init.cgroups_len; i++) if (init.cgroup_unified[i]) unified = init.cgroups[i];
  if (!unified) return fork();
  char dir[PATH_MAX];
  for (int n = 0; n < 1000; n++) {
    bool made = false;
    if (n == 1) snprintf(dir, sizeof dir, "%s", unified);
    else {
      snprintf(dir, sizeof dir, n == 0 ? "%s/.lxc" : "%s/.lxc-%d", unified, n - 1);
      struct stat st;
      made = stat(dir, &st) < 0;
      if (!make_leaf(dir)) die("cannot create cgroup %s:", dir);
    }
    int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) die("cannot open cgroup %s:", dir);
    pid_t pid = clone_into(fd);
    int saved = errno;
    close(fd);
    if (pid >= 0) return pid;
    if (saved == ENOSYS || saved == E2BIG) break;  // No clone3 / CLONE_INTO_CGROUP: write cgroup.procs instead.
    if (made) rmdir(dir);
    if (n >= 1 && saved != EBUSY) {  // `.lxc` failing for any reason: liblxc tries the cgroup itself next.
      errno = saved;
      die("cannot fork into cgroup %s:", dir);
    }
  }
  pid_t pid = fork();
  if (pid != 0) return pid;
  char file[PATH_MAX];
  snprintf(file, sizeof file, "%s/.lxc", unified);
  if (!make_leaf(file)) die("cannot create cgroup %s:", file);
  snprintf(file, sizeof file, "%s/.lxc/cgroup.procs", unified);
  if (write_file(file, "0")) return 0;
  snprintf(file, sizeof file, "%s/cgroup.procs", unified);
  if (write_file(file, "0")) return 0;
  die("cannot join cgroup %s:", unified);
}

static void join_namespaces(void) {
  for (size_t i = 0; i < init.ns_len; i++) {
    if (setns(init.ns_fd[i], init.ns_type[i]) < 0) die("setns(%#x):", init.ns_type[i]);
    close(init.ns_fd[i]);
  }
}

// ---- the command --------------------------------------------------------------------------------------------

static void set_environment(void) {
  if (clearenv() != 0) die("clearenv:");
  if (setenv("PATH", DEFAULT_PATH, 1) < 0 || putenv("container=lxc") < 0) die("setenv:");
  for (size_t i = 0; i < opt.env_len; i++) if (putenv(opt.env[i]) < 0) die("putenv:");
}

static void load_seccomp(void) {
  // Oldest first: index 0 of PTRACE_SECCOMP_GET_FILTER is the most recently installed filter.
  for (size_t i = init.filters_len; i-- > 0;) {
    struct sock_fprog prog = {.len = init.filters[i].len, .filter = init.filters[i].insns};
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, (unsigned)init.filters[i].flags, &prog) < 0) die("seccomp:");
  }
}

// fix_stdio_permissions (liblxc utils.c): stdio other than /dev/null belongs to the user, mode 0700; errors ignored.
static void fix_stdio_permissions(uid_t uid) {
  struct stat null_st, st;
  if (stat("/dev/null", &null_st) < 0) return;
  for (int fd = 0; fd <= 2; fd++) {
    if (fstat(fd, &st) < 0 || st.st_rdev == null_st.st_rdev) continue;
    if (fchown(fd, uid, st.st_gid) < 0) continue;
    (void)fchmod(fd, 0700);
  }
}

__attribute__((noreturn)) static void run_command(int pty, const sigset_t *mask) {
  sigprocmask(SIG_SETMASK, mask, NULL);
  signal(SIGALRM, SIG_DFL);
  if (personality(init.persona) < 0) die("personality:");
  for (unsigned cap = 0; cap <= init.last_cap; cap++) {
    if (!(init.cap_bnd & (1ULL << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) die("PR_CAPBSET_DROP %u:", cap);
  }
  set_environment();
  if (setgroups(0, NULL) < 0 && errno != EPERM) die("setgroups:");
  if (init.join_user && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)) die("cannot become the container's root:");
  if (init.no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) die("PR_SET_NO_NEW_PRIVS:");
  if (pty >= 0) {
    // lxc_terminal_prepare_login: a new session with the pty as controlling terminal, on every std fd that is a tty.
    setsid();
    if (ioctl(pty, TIOCSCTTY, 0) < 0) die("TIOCSCTTY:");
    for (int fd = 0; fd <= 2; fd++) if (isatty(fd) && dup2(pty, fd) < 0) die("dup2:");
    if (pty > 2) close(pty);
  }
  uid_t target_uid = opt.have_uid ? opt.uid : 0;
  gid_t target_gid = opt.have_gid ? opt.gid : 0;
  fix_stdio_permissions(target_uid == 0 ? (uid_t)-1 : target_uid);
  load_seccomp();
  if (target_gid != 0 && setresgid(target_gid, target_gid, target_gid) < 0) die("setresgid(%u):", target_gid);
  if (target_uid != 0 && setresuid(target_uid, target_uid, target_uid) < 0) die("setresuid(%u):", target_uid);
  syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
  execvp(opt.argv[0], opt.argv);
  _exit(errno == EACCES || errno == ENOEXEC ? 126 : errno == ENOENT ? 127 : 255);
}

// ---- fd passing ---------------------------------------------------------------------------------------------

static void send_msg(int sock, pid_t pid, int fd) {
  char ctl[CMSG_SPACE(sizeof(int))] = {0};
  struct iovec iov = {.iov_base = &pid, .iov_len = sizeof pid};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
  if (fd >= 0) {
    msg.msg_control = ctl;
    msg.msg_controllen = sizeof ctl;
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
  }
  while (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0) if (errno != EINTR) _exit(1);
}

static bool recv_msg(int sock, pid_t *pid, int *fd) {
  char ctl[CMSG_SPACE(sizeof(int))] = {0};
  struct iovec iov = {.iov_base = pid, .iov_len = sizeof *pid};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
  ssize_t n;
  while ((n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) {
  }
  if (n != sizeof *pid) return false;
  *fd = -1;
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) memcpy(fd, CMSG_DATA(c), sizeof *fd);
  return true;
}

// ---- the host side: terminal, signals, exit status ----------------------------------------------------------

static const int FORWARDED[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGCONT, SIGWINCH};

static void copy_winsize(int from, int to) {
  struct winsize ws;
  if (ioctl(from, TIOCGWINSZ, &ws) == 0) (void)ioctl(to, TIOCSWINSZ, &ws);
}

// lxc_setup_tios: the settings ssh uses (raw input, ONLCR|OPOST output).
static void setup_tios(int fd) {
  struct termios t;
  if (tcgetattr(fd, &t) < 0) return;
  signal(SIGTTIN, SIG_IGN);
  signal(SIGTTOU, SIG_IGN);
  t.c_iflag |= IGNPAR;
  t.c_iflag &= ~(tcflag_t)(ISTRIP | INLCR | IGNCR | ICRNL | IXON | IXANY | IXOFF | IUCLC);
  t.c_lflag &= ~(tcflag_t)(TOSTOP | ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHONL | IEXTEN);
  t.c_oflag |= ONLCR | OPOST;
  t.c_cc[VMIN] = 1;
  t.c_cc[VTIME] = 0;
  tcsetattr(fd, TCSAFLUSH, &t);
}

static bool write_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      struct pollfd p = {.fd = fd, .events = POLLOUT};
      poll(&p, 1, -1);
      continue;
    }
    if (n <= 0) return false;
    buf += n;
    len -= (size_t)n;
  }
  return true;
}

static int exit_code(int st) {
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return 1;
}

// Waits for the command, forwarding signals and (with a pty) relaying the terminal. Returns its exit code.
static int supervise(pid_t transient, pid_t command, int ptx, int sigfd) {
  int status = -1;
  bool transient_done = false, stdin_open = ptx >= 0, ptx_open = ptx >= 0;
  char buf[16384];
  if (ptx >= 0) (void)fcntl(ptx, F_SETFL, fcntl(ptx, F_GETFL) | O_NONBLOCK);
  for (;;) {
    // After the command's exit: its remaining output, until the pty is hung up (or quiet for 100 ms: something
    // in the container may keep it open).
    if (status >= 0 && !ptx_open) break;
    struct pollfd fds[3] = {{.fd = sigfd, .events = POLLIN}, {.fd = ptx_open ? ptx : -1, .events = POLLIN}, {.fd = stdin_open && status < 0 ? 0 : -1, .events = POLLIN}};
    int n = poll(fds, 3, status >= 0 ? 100 : -1);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) break;
    if (fds[0].revents & POLLIN) {
      struct signalfd_siginfo si;
      if (read(sigfd, &si, sizeof si) == sizeof si) {
        if (si.ssi_signo == SIGCHLD) {
          int st;
          pid_t r;
          while ((r = waitpid(-1, &st, WNOHANG)) > 0) {
            if (r == transient) transient_done = true;
            else if (r == command) status = exit_code(st);
          }
        } else if (si.ssi_signo == SIGWINCH && ptx >= 0) {
          if (ptx_open) copy_winsize(0, ptx);
        } else if (status < 0) {
          kill(command, (int)si.ssi_signo);
        }
      }
    }
    if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t r = read(ptx, buf, sizeof buf);
      if (r > 0) {
        (void)write_all(1, buf, (size_t)r);  // A reader gone: the output is dropped, as the terminal's would be.
      } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
        ptx_open = false;  // EIO: every fd of the command's terminal is closed.
      }
    }
    if (fds[2].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t r = read(0, buf, sizeof buf);
      if (r > 0) write_all(ptx, buf, (size_t)r);
      else if (r == 0 || (errno != EAGAIN && errno != EINTR)) stdin_open = false;
    }
  }
  (void)transient_done;
  return status;
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "--dump-seccomp") == 0) {
    opt.pid = (pid_t)parse_id(argv[2], "pid");
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/status", opt.pid);
    char *status = read_at(AT_FDCWD, path, NULL);
    if (!status) die("no process %d:", opt.pid);
    copy_seccomp_filters(opt.pid, status);
    for (size_t i = 0; i < init.filters_len; i++) {
      printf("%lx:", init.filters[i].flags);
      for (unsigned j = 0; j < init.filters[i].len; j++) {
        struct sock_filter *in = &init.filters[i].insns[j];
        printf("%04x%02x%02x%08x", in->code, in->jt, in->jf, in->k);
      }
      putchar('\n');
    }
    return 0;
  }

  parse_args(argc, argv);
  inspect_init();
  if (opt.wait_go) {
    // Exactly one byte: what follows it in the pipe is the command's input.
    char go;
    ssize_t n;
    while ((n = read(0, &go, 1)) < 0 && errno == EINTR) {
    }
    if (n != 1) return 125;
  }
  pty_mode = isatty(0) || isatty(1) || isatty(2);

  int sk[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sk) < 0) die("socketpair:");
  sigset_t forward, orig;
  sigemptyset(&forward);
  sigaddset(&forward, SIGCHLD);
  for (size_t i = 0; i < sizeof FORWARDED / sizeof FORWARDED[0]; i++) sigaddset(&forward, FORWARDED[i]);
  sigprocmask(SIG_BLOCK, &forward, &orig);
  int sigfd = signalfd(-1, &forward, SFD_CLOEXEC);
  if (sigfd < 0) die("signalfd:");
  fflush(NULL);

  pid_t transient = fork_into_cgroups();
  if (transient < 0) die("fork:");
  if (transient == 0) {
    close(sk[0]);
    // Nothing in the container may ptrace us or the command before exec (we hold host-side state until then).
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    join_v1_cgroups();
    for (size_t i = 0; i < opt.rlimits_len; i++) {
      if (setrlimit(opt.rlimits[i].resource, &opt.rlimits[i].value) < 0) die("setrlimit:");
    }
    join_namespaces();
    // setns(CLONE_NEWNS) put us at the container's "/"; a missing directory leaves us there (liblxc: a warning).
    if (opt.cwd && opt.cwd[0] && chdir(opt.cwd) < 0 && chdir("/") < 0) die("chdir(\"/\"):");
    int ptx = -1, pty = -1;
    if (pty_mode) {
      // A terminal from the container's own devpts, as lxc_devpts_terminal allocates it.
      ptx = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
      if (ptx < 0) ptx = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
      if (ptx < 0) die("cannot open the container's /dev/ptmx:");
      if (unlockpt(ptx) < 0) die("unlockpt:");
      pty = ioctl(ptx, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
      if (pty < 0) die("TIOCGPTPEER:");
      copy_winsize(0, ptx);
    }
    pid_t command = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, NULL, NULL, NULL, 0);
    if (command < 0) die("clone:");
    if (command == 0) {
      close(sk[1]);
      if (ptx >= 0) close(ptx);
      run_command(pty, &orig);
    }
    send_msg(sk[1], command, ptx);
    _exit(0);
  }
  close(sk[1]);
  for (size_t i = 0; i < init.ns_len; i++) close(init.ns_fd[i]);
  pid_t command = -1;
  int ptx = -1;
  if (!recv_msg(sk[0], &command, &ptx)) {
    int st;
    while (waitpid(transient, &st, 0) < 0 && errno == EINTR) {
    }
    return 1;  // The transient process said why on stderr.
  }
  close(sk[0]);
  signal(SIGPIPE, SIG_IGN);
  struct termios saved;
  bool restore = ptx >= 0 && tcgetattr(0, &saved) == 0;
  if (ptx >= 0) setup_tios(0);
  int code = supervise(transient, command, ptx, sigfd);
  if (restore) tcsetattr(0, TCSAFLUSH, &saved);
  return code < 0 ? 1 : code;
}
