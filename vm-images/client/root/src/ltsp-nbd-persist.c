/*
 * ltsp-nbd-persist: keeps a netlink-configured NBD root alive across nbd-server restarts.
 *
 *   ltsp-nbd-persist [-i INDEX] [-t DEAD_TIMEOUT_S] [-r REQUEUE_S] SERVER PORT EXPORT
 *
 * bookworm's nbd-client 3.24 configures /dev/nbdINDEX over generic netlink and exits, and
 * the kernel's dead-connection timeout is 0: the first I/O after the server drops the
 * connection fails for good. This daemon, started as a root-storage daemon (argv[0]
 * "@ltsp-nbd-persist", systemd.io/ROOT_STORAGE_DAEMONS) before nbd-client connects:
 *  1. joins the "nbd" family's multicast group "nbd_mc_group" (the kernel announces a
 *     dead link only once, nbd_mark_nsock_dead, so it must listen before the link lives);
 *  2. waits for the device to be connected, then sets NBD_ATTR_DEAD_CONN_TIMEOUT
 *     (NBD_CMD_RECONFIGURE), so the kernel holds I/O on a dead connection
 *     (wait_for_reconnect in drivers/block/nbd.c) instead of failing it;
 *  3. on NBD_CMD_LINK_DEAD for INDEX: connects again every second, does the fixed-newstyle
 *     handshake (doc/proto.md in the nbd sources) and hands the socket to the kernel with
 *     NBD_CMD_RECONFIGURE + NBD_ATTR_SOCKETS (nbd_reconnect_socket replaces the dead one).
 *
 * The requests that were in flight on the dead socket are not sent again by the reconnect:
 * nbd_reconnect_socket only swaps the socket (and bumps its cookie), and recv_work leaves
 * them to "the timeout stuff" (nbd_handle_reply). Only the block layer's request timer
 * resends them: nbd_xmit_timeout, with no request timeout set (tag_set.timeout 0, as
 * nbd-client leaves it without -timeout), requeues a request whose socket was replaced
 * (cmd->cookie != nsock->cookie) and otherwise logs "Possible stuck request" and waits
 * again. That timer is the queue's rq_timeout, 30 s by default: a read in flight at a
 * server restart waited 30 s after a 1 s reconnect. So, before nbd-client connects, the
 * daemon sets the queue's timer (/sys/block/nbdINDEX/queue/io_timeout, blk-sysfs.c) to
 * REQUEUE_S (default 2): every request of the device carries it from its first, and a
 * request of a dead socket is resent within REQUEUE_S (+1 s, the timer's rounding) of the
 * reconnect. It does not set NBD_ATTR_TIMEOUT (nbd-client's -timeout): with a request
 * timeout the same handler marks a live socket dead whenever one request takes longer,
 * so a slow link (loss, delay) would be cut and reconnected over and over; and one set
 * after the connect would not reach the requests already started (blk_add_timer fixes a
 * request's timer when it starts).
 * The parent returns once the group is joined (exit 0) or not (exit 1); the child
 * carries on in its own session. Every step is one "<5>ltsp-nbd-persist: " line in
 * /dev/kmsg, so the serial console shows it.
 *
 * Everything read from files (/dev/kmsg, the device size, /proc/self/net, the server's
 * address) is read or opened in the initramfs, before switch_root: after it this process keeps the
 * emptied initramfs as its root, where /dev, /sys and /proc no longer are.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/nbd-netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#define NBD_MAGIC 0x4e42444d41474943ULL    /* "NBDMAGIC" */
#define NBD_IHAVEOPT 0x49484156454F5054ULL /* "IHAVEOPT" */
#define NBD_FLAG_FIXED_NEWSTYLE (1 << 0)
#define NBD_FLAG_NO_ZEROES (1 << 1)
#define NBD_OPT_EXPORT_NAME 1
#define IO_TIMEOUT_MS 5000 /* connect and each handshake read or write */
#define SIZE_WAIT_TRIES 100 /* x 100 ms: a connected device's size to be set */

static int kmsg_fd = -1;
static int procnet_fd = -1;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	char line[512];
	int n = snprintf(line, sizeof line, "<5>ltsp-nbd-persist: ");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof line - n, fmt, ap);
	va_end(ap);
	if (kmsg_fd < 0 || write(kmsg_fd, line, strlen(line)) < 0)
		fprintf(stderr, "%s\n", line + 3);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct watch {
	unsigned index;
	uint64_t dead_timeout_s;
	unsigned requeue_s;
	const char *server, *port, *export_name;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	uint64_t size_bytes;
	struct nl_sock *cmd, *mc;
	int family;
	int link_dead; /* set by on_event */
};

/* ---------------------------------------------------------------- the NBD handshake */

/* Waits until fd is ready for events; 0, or -1 with errno (ETIMEDOUT at the deadline). */
static int wait_fd(int fd, short events, double deadline)
{
	for (;;) {
		double left = deadline - now_s();
		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		struct pollfd p = {.fd = fd, .events = events};
		int r = poll(&p, 1, (int)(left * 1000) + 1);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

static int io_all(int fd, void *buf, size_t len, int writing)
{
	double deadline = now_s() + IO_TIMEOUT_MS / 1000.0;
	char *p = buf;
	while (len > 0) {
		if (wait_fd(fd, writing ? POLLOUT : POLLIN, deadline) < 0)
			return -1;
		ssize_t n = writing ? send(fd, p, len, MSG_NOSIGNAL) : recv(fd, p, len, 0);
		if (n == 0) {
			errno = ECONNRESET;
			return -1;
		}
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* A connected, handshaken, blocking socket for the export, or -1 with why in err. */
static int nbd_connect(const struct watch *w, char *err, size_t errlen)
{
	int fd = socket(w->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	const char *step = "connect";
	if (connect(fd, (const struct sockaddr *)&w->addr, w->addrlen) < 0) {
		if (errno != EINPROGRESS)
			goto fail;
		if (wait_fd(fd, POLLOUT, now_s() + IO_TIMEOUT_MS / 1000.0) < 0)
			goto fail;
		int soerr = 0;
		socklen_t sl = sizeof soerr;
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
		if (soerr) {
			errno = soerr;
			goto fail;
		}
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);

	struct {
		uint64_t magic, opt;
		uint16_t flags;
	} __attribute__((packed)) hello;
	step = "read the greeting";
	if (io_all(fd, &hello, sizeof hello, 0) < 0)
		goto fail;
	if (be64toh(hello.magic) != NBD_MAGIC || be64toh(hello.opt) != NBD_IHAVEOPT) {
		snprintf(err, errlen, "not a newstyle NBD server (magic %016" PRIx64 " %016" PRIx64 ")",
			 be64toh(hello.magic), be64toh(hello.opt));
		close(fd);
		return -1;
	}
	uint16_t sflags = be16toh(hello.flags);
	uint32_t cflags = sflags & (NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
	uint32_t cflags_be = htobe32(cflags);
	size_t namelen = strlen(w->export_name);
	struct {
		uint64_t magic;
		uint32_t opt, len;
	} __attribute__((packed)) req = {htobe64(NBD_IHAVEOPT), htobe32(NBD_OPT_EXPORT_NAME), htobe32((uint32_t)namelen)};
	step = "send the export name";
	if (io_all(fd, &cflags_be, sizeof cflags_be, 1) < 0 || io_all(fd, &req, sizeof req, 1) < 0 ||
	    io_all(fd, (void *)w->export_name, namelen, 1) < 0)
		goto fail;
	struct {
		uint64_t size;
		uint16_t flags;
	} __attribute__((packed)) reply;
	/* An unknown export ends the connection here (NBD_OPT_EXPORT_NAME has no error reply). */
	step = "read the export's size";
	if (io_all(fd, &reply, sizeof reply, 0) < 0)
		goto fail;
	if (!(cflags & NBD_FLAG_NO_ZEROES)) {
		char zeroes[124];
		step = "read the padding";
		if (io_all(fd, zeroes, sizeof zeroes, 0) < 0)
			goto fail;
	}
	if (be64toh(reply.size) != w->size_bytes) {
		snprintf(err, errlen, "export %s is %" PRIu64 " bytes, the device %" PRIu64, w->export_name,
			 be64toh(reply.size), w->size_bytes);
		close(fd);
		return -1;
	}
	/* The kernel reads and writes this socket itself (sock_xmit): blocking, no timeouts. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
fail:
	snprintf(err, errlen, "%s: %s", step, strerror(errno));
	close(fd);
	return -1;
}

/* ---------------------------------------------------------------- netlink */

static int reconfigure(struct watch *w, int sock_fd)
{
	struct nl_msg *msg = nlmsg_alloc();
	if (!msg)
		return -NLE_NOMEM;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, w->family, 0, 0, NBD_CMD_RECONFIGURE, 0))
		goto nla_put_failure;
	NLA_PUT_U32(msg, NBD_ATTR_INDEX, w->index);
	if (sock_fd < 0) {
		NLA_PUT_U64(msg, NBD_ATTR_DEAD_CONN_TIMEOUT, w->dead_timeout_s);
	} else {
		struct nlattr *socks = nla_nest_start(msg, NBD_ATTR_SOCKETS);
		struct nlattr *item = nla_nest_start(msg, NBD_SOCK_ITEM);
		if (!socks || !item)
			goto nla_put_failure;
		NLA_PUT_U32(msg, NBD_SOCK_FD, (uint32_t)sock_fd);
		nla_nest_end(msg, item);
		nla_nest_end(msg, socks);
	}
	return nl_send_sync(w->cmd, msg); /* frees msg; the kernel's error comes back here */
nla_put_failure:
	nlmsg_free(msg);
	return -NLE_NOMEM;
}

static int on_event(struct nl_msg *msg, void *arg)
{
	struct watch *w = arg;
	struct genlmsghdr *gnlh = nlmsg_data(nlmsg_hdr(msg));
	struct nlattr *attrs[NBD_ATTR_MAX + 1];
	if (gnlh->cmd != NBD_CMD_LINK_DEAD)
		return NL_OK;
	if (nla_parse(attrs, NBD_ATTR_MAX, genlmsg_attrdata(gnlh, 0), genlmsg_attrlen(gnlh, 0), NULL) < 0)
		return NL_OK;
	if (attrs[NBD_ATTR_INDEX] && nla_get_u32(attrs[NBD_ATTR_INDEX]) == w->index)
		w->link_dead = 1;
	return NL_OK;
}

static struct nl_sock *genl_socket(void)
{
	struct nl_sock *sk = nl_socket_alloc();
	if (sk && genl_connect(sk) < 0) {
		nl_socket_free(sk);
		return NULL;
	}
	return sk;
}

/* ---------------------------------------------------------------- reconnecting */

/* Whether the TCP connection from local port lport is still established after we closed
 * our descriptor: then the kernel kept the socket (nbd_reconnect_socket only takes a
 * socket when one of the device's is dead; otherwise it drops it, and the close ends it). */
static int kernel_kept(unsigned lport)
{
	const char *tables[] = {"tcp", "tcp6"};
	for (unsigned t = 0; t < 2; t++) {
		int fd = openat(procnet_fd, tables[t], O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		FILE *f = fdopen(fd, "r");
		char line[256];
		int kept = 0;
		while (f && fgets(line, sizeof line, f)) {
			char local[64];
			unsigned st;
			if (sscanf(line, " %*d: %63s %*s %x", local, &st) != 2)
				continue;
			char *colon = strrchr(local, ':');
			if (colon && strtoul(colon + 1, NULL, 16) == lport && st == 1 /* TCP_ESTABLISHED */)
				kept = 1;
		}
		if (f)
			fclose(f);
		if (kept)
			return 1;
	}
	return 0;
}

/* One try: 1 when the kernel took a fresh connection, 0 when it had no dead link to
 * replace, -1 (with why in err) when no connection was made or handed over. */
static int reconnect_once(struct watch *w, char *err, size_t errlen)
{
	int fd = nbd_connect(w, err, errlen);
	if (fd < 0)
		return -1;
	struct sockaddr_storage local;
	socklen_t ll = sizeof local;
	unsigned lport = 0;
	if (getsockname(fd, (struct sockaddr *)&local, &ll) == 0)
		lport = ntohs(local.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&local)->sin6_port
							  : ((struct sockaddr_in *)&local)->sin_port);
	int r = reconfigure(w, fd);
	close(fd);
	if (r < 0) {
		snprintf(err, errlen, "NBD_CMD_RECONFIGURE with the socket: %s", nl_geterror(r));
		return -1;
	}
	return kernel_kept(lport);
}

static void recover(struct watch *w, const char *why)
{
	char err[256];
	double start = now_s();
	unsigned tries = 0;
	say("%s: reconnecting to %s:%s export %s", why, w->server, w->port, w->export_name);
	while (now_s() - start < (double)w->dead_timeout_s) {
		double t0 = now_s();
		int r = reconnect_once(w, err, sizeof err);
		tries++;
		if (r >= 0) {
			say("reconnected to %s:%s export %s after %u %s (%.1f s)%s", w->server, w->port,
			    w->export_name, tries, tries == 1 ? "try" : "tries", now_s() - start,
			    r ? "" : "; the kernel had no dead link to replace");
			return;
		}
		if (tries == 1 || tries % 10 == 0)
			say("try %u: %s", tries, err);
		double left = 1.0 - (now_s() - t0);
		if (left > 0)
			usleep((useconds_t)(left * 1e6));
	}
	say("gave up after %u tries (%.0f s, the dead-connection timeout): %s", tries, now_s() - start, err);
}

/* ---------------------------------------------------------------- set-up */

/* Before the fork: the group is joined before nbd-client connects, so no LINK_DEAD is
 * missed (the kernel announces a dead link once, nbd_mark_nsock_dead). Resolving the
 * family loads nbd.ko (MODULE_ALIAS_GENL_FAMILY). */
static int setup_netlink(struct watch *w)
{
	w->cmd = genl_socket();
	w->mc = genl_socket();
	if (!w->cmd || !w->mc) {
		say("FAILED: cannot open a generic netlink socket");
		return -1;
	}
	w->family = genl_ctrl_resolve(w->cmd, NBD_GENL_FAMILY_NAME);
	int grp = genl_ctrl_resolve_grp(w->cmd, NBD_GENL_FAMILY_NAME, NBD_GENL_MCAST_GROUP_NAME);
	if (w->family < 0 || grp < 0) {
		say("FAILED: generic netlink family %s or its group %s is unknown (no nbd module?)",
		    NBD_GENL_FAMILY_NAME, NBD_GENL_MCAST_GROUP_NAME);
		return -1;
	}
	/* Multicast messages carry sequence number 0. */
	nl_socket_disable_seq_check(w->mc);
	nl_socket_modify_cb(w->mc, NL_CB_VALID, NL_CB_CUSTOM, on_event, w);
	int r = nl_socket_add_membership(w->mc, grp);
	if (r < 0) {
		say("FAILED: cannot join %s: %s", NBD_GENL_MCAST_GROUP_NAME, nl_geterror(r));
		return -1;
	}
	return 0;
}

/* The queue's request timer, ms (/sys/block/nbdINDEX/queue/io_timeout), or 0 if unreadable. */
static unsigned read_io_timeout_ms(const struct watch *w)
{
	char path[64], buf[32];
	snprintf(path, sizeof path, "/sys/block/nbd%u/queue/io_timeout", w->index);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	return (unsigned)strtoul(buf, NULL, 10);
}

/* Sets the queue's request timer to REQUEUE_S before nbd-client connects (see the top):
 * the device exists once nbd.ko is loaded (nbds_max devices), and the timer is the
 * queue's, so the connect keeps it (it sets one only with NBD_ATTR_TIMEOUT). */
static int set_requeue_timer(const struct watch *w)
{
	char path[64], val[32];
	snprintf(path, sizeof path, "/sys/block/nbd%u/queue/io_timeout", w->index);
	int n = snprintf(val, sizeof val, "%u", w->requeue_s * 1000);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, val, (size_t)n) != n) {
		say("FAILED: cannot set %s to %s ms: %s", path, val, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* Reads the group's messages for up to timeout_ms; -1 on a socket error. An overrun
 * socket may have lost a LINK_DEAD: that counts as one. */
static int read_events(struct watch *w, int timeout_ms)
{
	struct pollfd p = {.fd = nl_socket_get_fd(w->mc), .events = POLLIN};
	int r = poll(&p, 1, timeout_ms);
	if (r < 0)
		return errno == EINTR ? 0 : -1;
	if (r == 0)
		return 0;
	r = nl_recvmsgs_default(w->mc);
	if (r == -NLE_NOMEM) {
		say("netlink receive buffer overrun: checking the link");
		w->link_dead = 1;
	}
	return 0;
}

/* Waits until nbd-client has connected the device (its pid attribute appears:
 * nbd_start_device), then reads its size and resolves the server while the
 * initramfs's /sys and /etc are there. */
static int wait_for_device(struct watch *w)
{
	char path[64], buf[32];
	snprintf(path, sizeof path, "/sys/block/nbd%u/pid", w->index);
	while (access(path, F_OK) != 0)
		if (read_events(w, 50) < 0)
			return -1;
	snprintf(path, sizeof path, "/sys/block/nbd%u/size", w->index);
	/* The pid attribute can appear before the kernel has set the device's size: a size
	 * of 0 read then made every later reconnect refuse the export ("the device 0"). */
	for (int i = 0;; i++) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
		if (fd >= 0)
			close(fd);
		if (n <= 0) {
			say("FAILED: cannot read %s", path);
			return -1;
		}
		buf[n] = 0;
		w->size_bytes = strtoull(buf, NULL, 10) * 512;
		if (w->size_bytes > 0)
			break;
		if (i >= SIZE_WAIT_TRIES) {
			say("FAILED: /dev/nbd%u is connected but still has no size after %d ms", w->index, SIZE_WAIT_TRIES * 100);
			return -1;
		}
		if (read_events(w, 100) < 0)
			return -1;
	}

	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai;
	int gai = getaddrinfo(w->server, w->port, &hints, &ai);
	if (gai) {
		say("FAILED: cannot resolve %s:%s: %s", w->server, w->port, gai_strerror(gai));
		return -1;
	}
	memcpy(&w->addr, ai->ai_addr, ai->ai_addrlen);
	w->addrlen = ai->ai_addrlen;
	freeaddrinfo(ai);

	/* The kernel may refuse until nbd-client's CONNECT has bound the device. */
	int r = 0;
	for (int i = 0; i < 50; i++) {
		r = reconfigure(w, -1);
		if (r >= 0)
			return 0;
		read_events(w, 100);
	}
	say("FAILED: NBD_CMD_RECONFIGURE dead_conn_timeout=%" PRIu64 " on /dev/nbd%u: %s", w->dead_timeout_s,
	    w->index, nl_geterror(r));
	return -1;
}

static void usage(void)
{
	fprintf(stderr, "usage: ltsp-nbd-persist [-i INDEX] [-t DEAD_TIMEOUT_S] [-r REQUEUE_S] SERVER PORT EXPORT\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct watch w = {.index = 0, .dead_timeout_s = 120, .requeue_s = 2};
	int opt;
	while ((opt = getopt(argc, argv, "i:t:r:")) != -1) {
		switch (opt) {
		case 'i':
			w.index = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 't':
			w.dead_timeout_s = strtoull(optarg, NULL, 10);
			break;
		case 'r':
			w.requeue_s = (unsigned)strtoul(optarg, NULL, 10);
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 3 || !w.dead_timeout_s || !w.requeue_s)
		usage();
	w.server = argv[optind];
	w.port = argv[optind + 1];
	w.export_name = argv[optind + 2];

	signal(SIGPIPE, SIG_IGN);
	kmsg_fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	if (setup_netlink(&w) < 0 || set_requeue_timer(&w) < 0)
		return 1;

	pid_t pid = fork();
	if (pid < 0) {
		say("FAILED: fork: %s", strerror(errno));
		return 1;
	}
	if (pid > 0)
		return 0;
	setsid();
	if (chdir("/") < 0) {
		/* nothing: the initramfs root is always there */
	}
	int null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (null > 2)
			close(null);
	}
	/* After the fork: /proc/self is the parent's until then, and the parent exits. */
	procnet_fd = open("/proc/self/net", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	/* No page of ours may need the root device that we are there to repair. */
	mlockall(MCL_CURRENT | MCL_FUTURE);

	if (wait_for_device(&w) < 0)
		return 1;
	unsigned timer_ms = read_io_timeout_ms(&w);
	say("watching /dev/nbd%u (%s:%s export %s, %" PRIu64 " bytes): dead-connection timeout %" PRIu64
	    " s, requeue timer %.1f s%s",
	    w.index, w.server, w.port, w.export_name, w.size_bytes, w.dead_timeout_s, timer_ms / 1000.0,
	    timer_ms == w.requeue_s * 1000 ? "" : " (not the one set: the connect gave a request timeout)");
	for (;;) {
		if (w.link_dead) {
			char why[64];
			w.link_dead = 0;
			snprintf(why, sizeof why, "link dead on /dev/nbd%u", w.index);
			recover(&w, why);
		}
		if (read_events(&w, -1) < 0) {
			say("FAILED: netlink: %s", strerror(errno));
			return 1;
		}
	}
}
