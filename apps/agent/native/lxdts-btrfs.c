/*
 * lxdts-btrfs: the few btrfs subvolume operations the agent's btrfs storage driver makes, as direct ioctls. Built
 * static, it starts in well under a millisecond where btrfs-progs takes ~4 ms; the agent falls back to `btrfs` when
 * it is missing (apps/agent/src/storage/btrfs-commands.ts).
 *
 *   lxdts-btrfs create DST             an empty subvolume DST
 *   lxdts-btrfs snapshot [-r] SRC DST  a snapshot of subvolume SRC at DST (-r: read-only)
 *   lxdts-btrfs delete PATH            deletes the subvolume PATH (empty of nested subvolumes)
 *   lxdts-btrfs readonly PATH true|false
 *   lxdts-btrfs serve                  the same requests, one per line on stdin (fields separated by tabs), each
 *                                      answered with a line "ok" or "err <message>" on stdout: no process per call
 *
 * Exit 0 on success; otherwise 1 with "lxdts-btrfs: <what>: <strerror>" on stderr.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/btrfs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static char last_error[8192];

static int fail(const char *what, const char *path) {
  snprintf(last_error, sizeof(last_error), "lxdts-btrfs: %s %s: %s", what, path, strerror(errno));
  return 1;
}

/* Closes FD keeping errno (the failure being reported). */
static void close_keep_errno(int fd) {
  int saved = errno;
  if (fd >= 0) close(fd);
  errno = saved;
}

/* Opens the parent directory of PATH and copies its last component into NAME (at most SIZE-1 bytes). */
static int open_parent(const char *path, char *name, size_t size) {
  char *a = strdup(path), *b = strdup(path);
  if (!a || !b) return -1;
  const char *base = basename(a);
  const char *dir = dirname(b);
  if (strlen(base) == 0 || strlen(base) >= size || strcmp(base, ".") == 0 || strcmp(base, "..") == 0 || strcmp(base, "/") == 0) {
    errno = EINVAL;
    free(a);
    free(b);
    return -1;
  }
  strcpy(name, base);
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  free(a);
  free(b);
  return fd;
}

static int do_create(const char *dst) {
  struct btrfs_ioctl_vol_args args;
  memset(&args, 0, sizeof(args));
  int dir = open_parent(dst, args.name, sizeof(args.name));
  if (dir < 0) return fail("create", dst);
  int rc = ioctl(dir, BTRFS_IOC_SUBVOL_CREATE, &args);
  close_keep_errno(dir);
  return rc < 0 ? fail("create", dst) : 0;
}

static int do_snapshot(const char *src, const char *dst, int readonly) {
  struct btrfs_ioctl_vol_args_v2 args;
  memset(&args, 0, sizeof(args));
  int from = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (from < 0) return fail("snapshot", src);
  int dir = open_parent(dst, args.name, sizeof(args.name));
  if (dir < 0) {
    close_keep_errno(from);
    return fail("snapshot", dst);
  }
  args.fd = from;
  if (readonly) args.flags = BTRFS_SUBVOL_RDONLY;
  int rc = ioctl(dir, BTRFS_IOC_SNAP_CREATE_V2, &args);
  close_keep_errno(dir);
  close_keep_errno(from);
  return rc < 0 ? fail("snapshot", dst) : 0;
}

static int do_delete(const char *path) {
  struct btrfs_ioctl_vol_args args;
  memset(&args, 0, sizeof(args));
  int dir = open_parent(path, args.name, sizeof(args.name));
  if (dir < 0) return fail("delete", path);
  int rc = ioctl(dir, BTRFS_IOC_SNAP_DESTROY, &args);
  close_keep_errno(dir);
  return rc < 0 ? fail("delete", path) : 0;
}

static int do_readonly(const char *path, int on) {
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return fail("readonly", path);
  __u64 flags = 0;
  int rc = ioctl(fd, BTRFS_IOC_SUBVOL_GETFLAGS, &flags);
  if (rc == 0) {
    flags = on ? (flags | BTRFS_SUBVOL_RDONLY) : (flags & ~BTRFS_SUBVOL_RDONLY);
    rc = ioctl(fd, BTRFS_IOC_SUBVOL_SETFLAGS, &flags);
  }
  close_keep_errno(fd);
  return rc < 0 ? fail("readonly", path) : 0;
}

/* One request; 2: not a request this program knows. */
static int dispatch(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "create") == 0) return do_create(argv[2]);
  if (argc == 4 && strcmp(argv[1], "snapshot") == 0) return do_snapshot(argv[2], argv[3], 0);
  if (argc == 5 && strcmp(argv[1], "snapshot") == 0 && strcmp(argv[2], "-r") == 0) return do_snapshot(argv[3], argv[4], 1);
  if (argc == 3 && strcmp(argv[1], "delete") == 0) return do_delete(argv[2]);
  if (argc == 4 && strcmp(argv[1], "readonly") == 0 && (strcmp(argv[3], "true") == 0 || strcmp(argv[3], "false") == 0)) {
    return do_readonly(argv[2], strcmp(argv[3], "true") == 0);
  }
  snprintf(last_error, sizeof(last_error), "usage: lxdts-btrfs create DST | snapshot [-r] SRC DST | delete PATH | readonly PATH true|false | serve");
  return 2;
}

static int serve(void) {
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  while ((n = getline(&line, &cap, stdin)) > 0) {
    if (line[n - 1] == '\n') line[--n] = '\0';
    char *args[8] = {"lxdts-btrfs"};
    int count = 1;
    char *save = NULL;
    for (char *tok = strtok_r(line, "\t", &save); tok && count < 8; tok = strtok_r(NULL, "\t", &save)) args[count++] = tok;
    if (dispatch(count, args) == 0) fputs("ok\n", stdout);
    else printf("err %s\n", last_error);
    fflush(stdout);
  }
  free(line);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "serve") == 0) return serve();
  int rc = dispatch(argc, argv);
  if (rc != 0) fprintf(stderr, "%s\n", last_error);
  return rc;
}
