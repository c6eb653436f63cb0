/*
 * lxdts-mount: adds or removes a bind mount in a running container (disk device hot-plug, as LXD's forkmount).
 *
 *   lxdts-mount mount PID SOURCE TARGET [idmap] [ro] [rec]
 *   lxdts-mount umount PID TARGET
 *
 * mount: SOURCE (a host path) is cloned as a detached mount (open_tree), made idmapped with the user namespace of
 * process PID (`idmap`) and read-only (`ro`), recursive with `rec`; then this process joins PID's mount namespace
 * (its root is the container's "/"), creates TARGET (a directory, or an empty file for a file SOURCE) and moves the
 * mount there. umount: joins the namespace and detaches TARGET. Exit 0 on success, 1 with a message on stderr.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int die(const char *what, const char *arg) {
  fprintf(stderr, "lxdts-mount: %s %s: %s\n", what, arg, strerror(errno));
  return 1;
}

static int join_mount_ns(const char *pid) {
  char path[64];
  snprintf(path, sizeof(path), "/proc/%s/ns/mnt", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return die("open", path);
  if (setns(fd, CLONE_NEWNS) < 0) return die("setns", path);
  close(fd);
  return 0;
}

/* mkdir -p of TARGET's parents and TARGET itself (a directory, or an empty file when !dir). */
static int make_target(const char *target, int dir) {
  char *copy = strdup(target);
  if (!copy) return die("strdup", target);
  for (char *p = copy + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(copy, 0755) < 0 && errno != EEXIST) return die("mkdir", copy);
    *p = '/';
  }
  free(copy);
  if (dir) {
    if (mkdir(target, 0755) < 0 && errno != EEXIST) return die("mkdir", target);
  } else {
    int fd = open(target, O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) return die("create", target);
    close(fd);
  }
  return 0;
}

static int do_mount(const char *pid, const char *source, const char *target, int idmap, int ro, int rec) {
  struct stat st;
  if (stat(source, &st) < 0) return die("stat", source);
  int tree = open_tree(AT_FDCWD, source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (rec ? AT_RECURSIVE : 0));
  if (tree < 0) return die("open_tree", source);
  if (idmap || ro) {
    struct mount_attr attr;
    memset(&attr, 0, sizeof(attr));
    if (ro) attr.attr_set |= MOUNT_ATTR_RDONLY;
    if (idmap) {
      char path[64];
      snprintf(path, sizeof(path), "/proc/%s/ns/user", pid);
      int userns = open(path, O_RDONLY | O_CLOEXEC);
      if (userns < 0) return die("open", path);
      attr.attr_set |= MOUNT_ATTR_IDMAP;
      attr.userns_fd = (unsigned)userns;
    }
    if (mount_setattr(tree, "", AT_EMPTY_PATH | (rec ? AT_RECURSIVE : 0), &attr, sizeof(attr)) < 0) return die("mount_setattr", source);
  }
  if (join_mount_ns(pid) != 0) return 1;
  /*
   * The container's "/" is an idmapped mount: host root maps to no id there (EOVERFLOW). The target is made as the
   * container's root (the owner "/" shows to us), so it belongs to the container as LXD's forkmount makes it.
   */
  struct stat root;
  if (stat("/", &root) < 0) return die("stat", "/");
  setfsgid(root.st_gid);
  setfsuid(root.st_uid);
  int made = make_target(target, S_ISDIR(st.st_mode));
  setfsuid(0);
  setfsgid(0);
  if (made != 0) return 1;
  if (move_mount(tree, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0) return die("move_mount", target);
  return 0;
}

static int do_umount(const char *pid, const char *target) {
  if (join_mount_ns(pid) != 0) return 1;
  if (umount2(target, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL && errno != ENOENT) return die("umount", target);
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 5 && strcmp(argv[1], "mount") == 0 && argv[4][0] == '/') {
    int idmap = 0, ro = 0, rec = 0;
    for (int i = 5; i < argc; i++) {
      if (strcmp(argv[i], "idmap") == 0) idmap = 1;
      else if (strcmp(argv[i], "ro") == 0) ro = 1;
      else if (strcmp(argv[i], "rec") == 0) rec = 1;
      else {
        fprintf(stderr, "lxdts-mount: unknown option %s\n", argv[i]);
        return 2;
      }
    }
    return do_mount(argv[2], argv[3], argv[4], idmap, ro, rec);
  }
  if (argc == 4 && strcmp(argv[1], "umount") == 0 && argv[3][0] == '/') return do_umount(argv[2], argv[3]);
  fprintf(stderr, "usage: lxdts-mount mount PID SOURCE /TARGET [idmap] [ro] [rec] | umount PID /TARGET\n");
  return 2;
}
