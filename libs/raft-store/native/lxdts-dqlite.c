/*
 * lxdts-dqlite: runs ONE dqlite node in its own process (the "sidecar"). The lxdts daemon talks to it over dqlite's
 * wire protocol; keeping the node out of the Node.js process isolates dqlite's own libuv loop, threads, asserts and
 * signal handling from the daemon (see shared/reference/dqlite.md, section 5).
 *
 * Modes:
 *   lxdts-dqlite run --id N --address A --dir D [--bind B] [--latency-ms 20] [--failure-domain N]
 *                    [--dial-proxy /path/to/unix.socket] [--local-socket /path/to/node.socket] [--pdeathsig]
 *       Starts the node, prints "ready <bind address>" on stdout, then waits for SIGTERM/SIGINT and stops cleanly.
 *       --local-socket (with --bind @name): dqlite accepts connections on an abstract socket only from its own
 *       process (SO_PEERCRED), so the sidecar relays a mode-0600 pathname socket to it; that is the door for the
 *       local daemon and for peers' raft traffic the daemon tunnels in.
 *   lxdts-dqlite recover --id N --address A --dir D --node ID,ADDRESS,ROLE [--node ...]
 *       Offline recovery after quorum loss: forces a new membership (roles: voter|standby|spare or 0|1|2) into the
 *       raft log in D. Run it on the most up-to-date survivor only, then copy its data dir to the others.
 *
 * Exit status: 0 on a clean stop or a successful recovery; 1 on a dqlite error; 2 on bad usage. Errors go to stderr
 * as one line starting with "lxdts-dqlite: ".
 */
#define _GNU_SOURCE
#include <dqlite.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_RECOVER_NODES 64

struct options {
	const char *mode;
	unsigned long long id;
	const char *address;
	const char *bind;
	const char *dir;
	unsigned latency_ms;
	unsigned long long failure_domain;
	int has_failure_domain;
	const char *dial_proxy;
	const char *local_socket;
	int pdeathsig;
	int n_nodes;
	dqlite_node_info_ext nodes[MAX_RECOVER_NODES];
};

static void die(int status, const char *fmt, ...)
{
	va_list ap;
	fputs("lxdts-dqlite: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

static unsigned long long parse_u64(const char *flag, const char *text)
{
	char *end = NULL;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || text[0] == '-')
		die(2, "%s: not a non-negative integer: '%s'", flag, text);
	return v;
}

/* dqlite's wire numbering (voter 0, standby 1, spare 2) is also what dqlite_node_recover_ext expects. */
static uint64_t parse_role(const char *text)
{
	if (strcmp(text, "voter") == 0 || strcmp(text, "0") == 0)
		return 0;
	if (strcmp(text, "standby") == 0 || strcmp(text, "1") == 0)
		return 1;
	if (strcmp(text, "spare") == 0 || strcmp(text, "2") == 0)
		return 2;
	die(2, "--node: unknown role '%s' (voter, standby or spare)", text);
	return 0;
}

/* "ID,ADDRESS,ROLE"; the address may itself contain commas only if it is the middle field, so split at the first and
 * last comma. The strings stay owned by argv, which outlives the recovery call. */
static void parse_node(struct options *o, char *spec)
{
	if (o->n_nodes >= MAX_RECOVER_NODES)
		die(2, "--node: at most %d nodes", MAX_RECOVER_NODES);
	char *first = strchr(spec, ',');
	char *last = strrchr(spec, ',');
	if (first == NULL || first == last)
		die(2, "--node: expected ID,ADDRESS,ROLE, got '%s'", spec);
	*first = '\0';
	*last = '\0';
	dqlite_node_info_ext *n = &o->nodes[o->n_nodes++];
	memset(n, 0, sizeof *n);
	n->size = DQLITE_NODE_INFO_EXT_SZ_ORIG;
	n->id = parse_u64("--node", spec);
	n->address = (uint64_t)(uintptr_t)(first + 1);
	n->dqlite_role = parse_role(last + 1);
	if (n->id == 0 || first[1] == '\0')
		die(2, "--node: id must be > 0 and address non-empty");
}

static void usage_and_exit(void)
{
	fputs("usage: lxdts-dqlite run --id N --address HOST:PORT --dir DIR [--bind HOST:PORT|@name]\n"
	      "                        [--latency-ms MS] [--failure-domain N] [--dial-proxy UNIX_SOCKET]\n"
	      "                        [--local-socket PATH (needs --bind @NAME)] [--pdeathsig]\n"
	      "       lxdts-dqlite recover --id N --address HOST:PORT --dir DIR --node ID,ADDRESS,ROLE [--node ...]\n",
	      stderr);
	exit(2);
}

static void parse_args(struct options *o, int argc, char **argv)
{
	memset(o, 0, sizeof *o);
	o->latency_ms = 20; /* heartbeat 30 ms, election 300 ms: failover well under a second */
	if (argc < 2)
		usage_and_exit();
	o->mode = argv[1];
	if (strcmp(o->mode, "run") != 0 && strcmp(o->mode, "recover") != 0)
		usage_and_exit();
	for (int i = 2; i < argc; i++) {
		const char *flag = argv[i];
		if (strcmp(flag, "--pdeathsig") == 0) {
			o->pdeathsig = 1;
			continue;
		}
		if (i + 1 >= argc)
			die(2, "%s needs a value", flag);
		char *value = argv[++i];
		if (strcmp(flag, "--id") == 0)
			o->id = parse_u64(flag, value);
		else if (strcmp(flag, "--address") == 0)
			o->address = value;
		else if (strcmp(flag, "--bind") == 0)
			o->bind = value;
		else if (strcmp(flag, "--dir") == 0)
			o->dir = value;
		else if (strcmp(flag, "--latency-ms") == 0) {
			unsigned long long ms = parse_u64(flag, value);
			if (ms == 0 || ms > 3600000)
				die(2, "--latency-ms must be between 1 and 3600000");
			o->latency_ms = (unsigned)ms;
		} else if (strcmp(flag, "--failure-domain") == 0) {
			o->failure_domain = parse_u64(flag, value);
			o->has_failure_domain = 1;
		} else if (strcmp(flag, "--dial-proxy") == 0)
			o->dial_proxy = value;
		else if (strcmp(flag, "--local-socket") == 0)
			o->local_socket = value;
		else if (strcmp(flag, "--node") == 0)
			parse_node(o, value);
		else
			die(2, "unknown option %s", flag);
	}
	if (o->id == 0)
		die(2, "--id is required and must be > 0");
	if (o->address == NULL || o->address[0] == '\0')
		die(2, "--address is required");
	if (o->dir == NULL)
		die(2, "--dir is required");
	if (strcmp(o->mode, "recover") == 0 && o->n_nodes == 0)
		die(2, "recover needs at least one --node ID,ADDRESS,ROLE");
	if (o->dial_proxy != NULL && strlen(o->dial_proxy) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		die(2, "--dial-proxy path too long");
	if (o->local_socket != NULL) {
		if (o->bind == NULL || o->bind[0] != '@' || o->bind[1] == '\0')
			die(2, "--local-socket needs --bind @NAME (an abstract socket it relays to)");
		if (strlen(o->local_socket) >= sizeof(((struct sockaddr_un *)0)->sun_path))
			die(2, "--local-socket path too long");
		if (strlen(o->bind) > sizeof(((struct sockaddr_un *)0)->sun_path) - 1)
			die(2, "--bind name too long");
	}
}

/* Outgoing raft connections through a local proxy (the lxdts daemon, which can wrap them in TLS): connect to the
 * unix socket, name the target in one line, and hand the connected fd to dqlite. Runs on dqlite's thread and may
 * block (dqlite runs it in its connect worker). */
static int dial_through_proxy(void *arg, const char *address, int *fd)
{
	const char *path = arg;
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	strncpy(sa.sun_path, path, sizeof sa.sun_path - 1);

	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return DQLITE_ERROR;
	if (connect(s, (struct sockaddr *)&sa, sizeof sa) != 0)
		goto fail;

	size_t len = strlen(address);
	char *line = malloc(len + 2);
	if (line == NULL)
		goto fail;
	memcpy(line, address, len);
	line[len] = '\n';
	size_t off = 0;
	while (off < len + 1) {
		ssize_t n = send(s, line + off, len + 1 - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(line);
			goto fail;
		}
		off += (size_t)n;
	}
	free(line);
	*fd = s;
	return 0;
fail:
	close(s);
	return DQLITE_ERROR;
}

/* ---- local socket relay (--local-socket) ---- */

struct relay {
	int listen_fd;
	const char *path;
	const char *abstract; /* "@name" */
	pthread_t thread;
};

static int send_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Connects to "@name" with the exact name length, as dqlite binds it (no NUL padding to the full sun_path). */
static int connect_abstract(const char *at_name)
{
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	size_t n = strlen(at_name + 1);
	memcpy(sa.sun_path + 1, at_name + 1, n);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	if (connect(s, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)) != 0) {
		close(s);
		return -1;
	}
	return s;
}

/* Copies bytes both ways until either side closes; then closes both (dqlite needs no half-close). */
static void *splice_pair(void *arg)
{
	int *fds = arg;
	int a = fds[0], b = fds[1];
	free(fds);
	static __thread char buf[65536];
	struct pollfd p[2] = {{.fd = a, .events = POLLIN}, {.fd = b, .events = POLLIN}};
	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		int stop = 0;
		for (int i = 0; i < 2 && !stop; i++) {
			if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t n = read(p[i].fd, buf, sizeof buf);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0 || send_all(p[1 - i].fd, buf, (size_t)n) != 0)
				stop = 1;
		}
		if (stop)
			break;
	}
	close(a);
	close(b);
	return NULL;
}

static void *accept_loop(void *arg)
{
	struct relay *r = arg;
	for (;;) {
		int c = accept4(r->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return NULL; /* shutdown() on stop */
		}
		int d = connect_abstract(r->abstract);
		int *fds = malloc(2 * sizeof(int));
		pthread_t t;
		pthread_attr_t attr;
		if (d < 0 || fds == NULL) {
			close(c);
			if (d >= 0)
				close(d);
			free(fds);
			continue;
		}
		fds[0] = c;
		fds[1] = d;
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, &attr, splice_pair, fds) != 0) {
			close(c);
			close(d);
			free(fds);
		}
		pthread_attr_destroy(&attr);
	}
}

/* Listens on `path` (mode 0600, a stale file is replaced) and relays each connection to the node's abstract socket. */
static void relay_start(struct relay *r, const char *path, const char *abstract)
{
	r->path = path;
	r->abstract = abstract;
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	strncpy(sa.sun_path, path, sizeof sa.sun_path - 1);
	r->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (r->listen_fd < 0)
		die(1, "--local-socket: socket: %s", strerror(errno));
	unlink(path);
	mode_t old = umask(0077);
	int rv = bind(r->listen_fd, (struct sockaddr *)&sa, sizeof sa);
	umask(old);
	if (rv != 0)
		die(1, "--local-socket: cannot bind %s: %s", path, strerror(errno));
	if (listen(r->listen_fd, 128) != 0)
		die(1, "--local-socket: listen: %s", strerror(errno));
	if (pthread_create(&r->thread, NULL, accept_loop, r) != 0)
		die(1, "--local-socket: cannot start the relay thread");
}

static void relay_stop(struct relay *r)
{
	shutdown(r->listen_fd, SHUT_RDWR); /* wakes accept() */
	pthread_join(r->thread, NULL);
	close(r->listen_fd);
	unlink(r->path);
}

static void check(dqlite_node *node, int rv, const char *what)
{
	if (rv == 0)
		return;
	const char *msg = node != NULL ? dqlite_node_errmsg(node) : NULL;
	die(1, "%s failed (rv %d)%s%s", what, rv, msg != NULL && msg[0] ? ": " : "", msg != NULL ? msg : "");
}

static int run_recover(const struct options *o)
{
	dqlite_node *node = NULL;
	check(NULL, dqlite_node_create(o->id, o->address, o->dir, &node), "dqlite_node_create");
	check(node, dqlite_node_recover_ext(node, (dqlite_node_info_ext *)o->nodes, o->n_nodes),
	      "dqlite_node_recover_ext");
	dqlite_node_destroy(node);
	printf("recovered %d node(s)\n", o->n_nodes);
	return 0;
}

static int run_node(const struct options *o)
{
	/* Block the stop signals before dqlite spawns its thread, so the thread inherits the mask and only our sigwait
	 * below ever sees them. SIGPIPE: dqlite writes to sockets that peers may have closed. */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &stop, NULL) != 0)
		die(1, "sigprocmask: %s", strerror(errno));
	signal(SIGPIPE, SIG_IGN);

	if (o->pdeathsig) {
		/* Never outlive the parent (a crashed daemon must not leave a voter running on its own). The signal is
		 * SIGTERM, handled by the sigwait below like any stop request. Re-check the parent afterwards: it may
		 * have died before prctl ran. */
		pid_t parent = getppid();
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0)
			die(1, "prctl(PR_SET_PDEATHSIG): %s", strerror(errno));
		if (getppid() != parent)
			die(1, "parent exited before the node started");
	}

	struct stat st;
	if (stat(o->dir, &st) != 0)
		die(1, "data dir %s: %s", o->dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		die(1, "data dir %s: not a directory", o->dir);

	dqlite_node *node = NULL;
	check(NULL, dqlite_node_create(o->id, o->address, o->dir, &node), "dqlite_node_create");
	/* dqlite opens the listening socket here; its error message is empty, so name the usual causes. */
	const char *bind = o->bind != NULL ? o->bind : o->address;
	if (dqlite_node_set_bind_address(node, bind) != 0)
		die(1, "cannot listen on %s: address in use, not local, or not HOST:PORT / @NAME", bind);
	check(node, dqlite_node_set_network_latency_ms(node, o->latency_ms), "dqlite_node_set_network_latency_ms");
	if (o->has_failure_domain)
		check(node, dqlite_node_set_failure_domain(node, o->failure_domain), "dqlite_node_set_failure_domain");
	if (o->dial_proxy != NULL)
		check(node, dqlite_node_set_connect_func(node, dial_through_proxy, (void *)o->dial_proxy),
		      "dqlite_node_set_connect_func");
	check(node, dqlite_node_start(node), "dqlite_node_start");

	struct relay relay;
	if (o->local_socket != NULL)
		relay_start(&relay, o->local_socket, dqlite_node_get_bind_address(node));

	printf("ready %s\n", dqlite_node_get_bind_address(node));
	fflush(stdout);

	int sig = 0;
	if (sigwait(&stop, &sig) != 0)
		die(1, "sigwait failed");
	/* Stop accepting first; relayed connections end when the node closes its side during stop. */
	if (o->local_socket != NULL)
		relay_stop(&relay);
	check(node, dqlite_node_stop(node), "dqlite_node_stop");
	dqlite_node_destroy(node);
	return 0;
}

int main(int argc, char **argv)
{
	struct options o;
	parse_args(&o, argc, argv);
	if (strcmp(o.mode, "recover") == 0)
		return run_recover(&o);
	return run_node(&o);
}
