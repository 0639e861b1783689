/*
 * ports.c: -p [IP:]HOSTPORT:CTRPORT[/udp], published ports (compose's
 * `ports: - 5432:5432`).
 *
 *     $ docker run -p 8080:80 nginx        # the host's :8080 reaches the container's :80
 *
 * The mechanism is a userspace proxy, as docker-proxy and podman's
 * rootlessport: the engine (the monitor, for run -d) listens on the host's
 * HOSTPORT, and for each connection opens one to CONTAINER-IP:CTRPORT across
 * the bridge, then copies bytes both ways. It needs no firewall rule, so it
 * works the same from the host's loopback and from any other namespace that
 * can reach the host, and nothing is left behind: the sockets close with the
 * monitor. The price: the container sees the bridge's address (10.88.0.1) as
 * the client, not the real one, and each byte crosses user space twice.
 * (docker adds iptables DNAT rules too, and uses the proxy only for
 * connections from the host's own loopback.)
 *
 * UDP: each client address gets its own socket to the container; replies go
 * back to that client from the published port; idle clients are forgotten.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "narrate.h"
#include "ports.h"
#include "util.h"

#define MAX_PORTS 32
#define MAX_UDP	  64

struct port {
	char ip[INET6_ADDRSTRLEN]; /* "" for every address */
	int host, ctr, udp;
	int fd; /* the listening (or UDP) socket */
};

struct udp_peer {
	int port; /* index in ports[] */
	struct sockaddr_storage client;
	socklen_t len;
	int fd; /* connected to the container */
	time_t last;
};

/* One run's published ports: run_config holds it (NULL without -p); the proxy's threads share it. */
struct ports {
	struct port list[MAX_PORTS];
	int n;
	struct in_addr target; /* the container's address on the bridge */
	int stop_pipe[2];      /* closed by ports_stop: every thread's poll wakes up */
	pthread_t thread;      /* the proxy: accepts, and UDP both ways */
	int running;
	int live_conns;        /* TCP connections, each a thread of its own */
	pthread_mutex_t lock;
	pthread_cond_t done;   /* live_conns reached 0 */
	struct udp_peer udp[MAX_UDP];
};

/* a TCP connection's thread: its two sockets, and the ports it belongs to */
struct conn {
	struct ports *pp;
	int a, b;
};

struct ports *ports_new(void)
{
	struct ports *pp = xcalloc(1, sizeof(*pp));
	pp->stop_pipe[0] = pp->stop_pipe[1] = -1;
	pthread_mutex_init(&pp->lock, NULL);
	pthread_cond_init(&pp->done, NULL);
	return pp;
}

static int number(const char *s, int lo, int *out)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (!*s || *end || v < lo || v > 65535)
		return -1;
	*out = (int)v;
	return 0;
}

/* [IP:]HOSTPORT:CTRPORT[/tcp|/udp], IP::CTRPORT or CTRPORT: the host port 0 means "any free one" */
int ports_parse(struct ports *pp, const char *spec, struct md_error *err)
{
	char buf[128], *proto, *parts[3];
	int n = 0;
	if (pp->n >= MAX_PORTS)
		return md_fail(err, "-p %s: at most %d published ports", spec, MAX_PORTS);
	struct port *p = &pp->list[pp->n];
	memset(p, 0, sizeof(*p));
	p->fd = -1;
	snprintf(buf, sizeof(buf), "%s", spec);
	if ((proto = strchr(buf, '/'))) {
		*proto++ = 0;
		if (!strcmp(proto, "udp"))
			p->udp = 1;
		else if (strcmp(proto, "tcp"))
			return md_fail(err, "-p %s: the protocol is tcp or udp", spec);
	}
	/* an IPv6 address comes in brackets: [::1]:8080:80 */
	char *s = buf;
	if (*s == '[') {
		char *close = strchr(s, ']');
		if (!close || close[1] != ':')
			return md_fail(
			    err, "-p %s: write an IPv6 address as [ADDR]:HOSTPORT:CTRPORT", spec);
		*close = 0;
		snprintf(p->ip, sizeof(p->ip), "%.45s", s + 1);
		s = close + 2;
		parts[n++] = p->ip;
	}
	for (char *t = s;; n++) {
		char *colon = strchr(t, ':');
		if (n >= 3)
			return md_fail(err, "-p %s: give [IP:]HOSTPORT:CTRPORT[/udp]", spec);
		parts[n] = t;
		if (!colon) {
			n++;
			break;
		}
		*colon = 0;
		t = colon + 1;
	}
	const char *ip = n == 3 ? parts[0] : "", *host = n >= 2 ? parts[n - 2] : "",
		   *ctr = parts[n - 1];
	if (ip != p->ip)
		snprintf(p->ip, sizeof(p->ip), "%s", ip);
	unsigned char any[16];
	if (*p->ip && inet_pton(AF_INET, p->ip, any) != 1 && inet_pton(AF_INET6, p->ip, any) != 1)
		return md_fail(err, "-p %s: '%s' is not an IP address of this host", spec, p->ip);
	if (number(ctr, 1, &p->ctr) < 0 || (*host ? number(host, 1, &p->host) : (p->host = 0)) < 0)
		return md_fail(
		    err,
		    "-p %s: ports are numbers from 1 to 65535 (HOSTPORT:CTRPORT, e.g. -p 8080:80)",
		    spec);
	pp->n++;
	return 0;
}

/* In the engine, before the container starts: a port in use fails the run, as docker's. */
int ports_bind(struct ports *pp, struct md_error *err)
{
	for (int i = 0; i < pp->n; i++) {
		struct port *p = &pp->list[i];
		struct sockaddr_storage ss = {0};
		socklen_t len;
		int v6 = !*p->ip || strchr(p->ip, ':'), one = 1, zero = 0;
		if (v6) {
			struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
			a->sin6_family = AF_INET6;
			a->sin6_port = htons(p->host);
			a->sin6_addr = in6addr_any;
			if (*p->ip)
				inet_pton(AF_INET6, p->ip, &a->sin6_addr);
			len = sizeof(*a);
		} else {
			struct sockaddr_in *a = (struct sockaddr_in *)&ss;
			a->sin_family = AF_INET;
			a->sin_port = htons(p->host);
			inet_pton(AF_INET, p->ip, &a->sin_addr);
			len = sizeof(*a);
		}
		p->fd = socket(ss.ss_family, (p->udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
		if (p->fd < 0)
			return md_fail_errno(err, "socket for -p %d", p->host);
		setsockopt(p->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (v6 && !*p->ip) /* [::] with v4-mapped addresses: every address, both families */
			setsockopt(p->fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
		narrate("bind(%s:%d/%s), listen", "# the proxy listens on %s:%d/%s",
			*p->ip ? p->ip : "*", p->host, p->udp ? "udp" : "tcp");
		if (bind(p->fd, (struct sockaddr *)&ss, len) < 0 ||
		    (!p->udp && listen(p->fd, 128) < 0))
			return md_fail_errno(err, "-p %s%s%d:%d%s: bind", p->ip, *p->ip ? ":" : "",
					     p->host, p->ctr, p->udp ? "/udp" : "");
		if (p->host == 0) {
			len = sizeof(ss);
			getsockname(p->fd, (struct sockaddr *)&ss, &len);
			p->host =
			    ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
							   : ((struct sockaddr_in *)&ss)->sin_port);
		}
	}
	return 0;
}

const char *ports_text(struct ports *pp)
{
	static char text[MAX_PORTS * 64];
	size_t len = 0;
	text[0] = 0;
	for (int i = 0; i < pp->n; i++)
		len += snprintf(text + len, sizeof(text) - len, "%s%s%s%s:%d->%d/%s", i ? ", " : "",
				strchr(pp->list[i].ip, ':') ? "[" : "",
				*pp->list[i].ip ? pp->list[i].ip : "0.0.0.0",
				strchr(pp->list[i].ip, ':') ? "]" : "", pp->list[i].host, pp->list[i].ctr,
				pp->list[i].udp ? "udp" : "tcp");
	return text;
}

static int connect_container(struct ports *pp, int type, int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr = pp->target};
	struct timeval tv = {.tv_sec = 5};
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)); /* bounds connect(2) too */
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* One TCP connection: copy both ways until both sides have said EOF (or the container goes). */
static void *tcp_pump(void *arg)
{
	struct conn *conn = arg;
	struct ports *pp = conn->pp;
	int a = conn->a, b = conn->b, open_a = 1, open_b = 1;
	char buf[16384];
	free(conn);
	while (open_a || open_b) {
		struct pollfd pf[3] = {{.fd = open_a ? a : -1, .events = POLLIN},
				       {.fd = open_b ? b : -1, .events = POLLIN},
				       {.fd = pp->stop_pipe[0], .events = POLLIN}};
		if (poll(pf, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pf[2].revents)
			break;
		for (int k = 0; k < 2; k++) {
			int from = k ? b : a, to = k ? a : b;
			if (!pf[k].revents)
				continue;
			ssize_t n = read(from, buf, sizeof(buf));
			if (n <= 0) { /* EOF (or reset): pass the half-close on */
				shutdown(to, SHUT_WR);
				*(k ? &open_b : &open_a) = 0;
				continue;
			}
			for (ssize_t off = 0; off < n;) {
				ssize_t w = send(to, buf + off, n - off,
						 MSG_NOSIGNAL); /* a reset peer: no SIGPIPE */
				if (w <= 0) {
					open_a = open_b = 0;
					break;
				}
				off += w;
			}
		}
	}
	close(a);
	close(b);
	pthread_mutex_lock(&pp->lock);
	if (--pp->live_conns == 0)
		pthread_cond_broadcast(&pp->done);
	pthread_mutex_unlock(&pp->lock);
	return NULL;
}

static void tcp_accept(struct ports *pp, struct port *p)
{
	int client = accept4(p->fd, NULL, NULL, SOCK_CLOEXEC);
	if (client < 0)
		return;
	int ctr = connect_container(pp, SOCK_STREAM, p->ctr);
	if (ctr < 0) { /* nobody listens inside: the client sees the connection close */
		close(client);
		return;
	}
	struct conn *pair = malloc(sizeof(*pair));
	pthread_t t;
	pthread_attr_t attr;
	if (!pair) {
		close(client);
		close(ctr);
		return;
	}
	*pair = (struct conn){.pp = pp, .a = client, .b = ctr};
	pthread_mutex_lock(&pp->lock);
	pp->live_conns++;
	pthread_mutex_unlock(&pp->lock);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, tcp_pump, pair) != 0) {
		pthread_mutex_lock(&pp->lock);
		pp->live_conns--;
		pthread_mutex_unlock(&pp->lock);
		close(client);
		close(ctr);
		free(pair);
	}
	pthread_attr_destroy(&attr);
}

static void udp_in(struct ports *pp, int idx)
{
	struct port *p = &pp->list[idx];
	char buf[65536];
	struct sockaddr_storage from;
	socklen_t len = sizeof(from);
	ssize_t n = recvfrom(p->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len);
	if (n < 0)
		return;
	struct udp_peer *u = NULL, *oldest = &pp->udp[0];
	for (int i = 0; i < MAX_UDP; i++) {
		struct udp_peer *c = &pp->udp[i];
		if (c->fd > 0 && c->port == idx && c->len == len &&
		    !memcmp(&c->client, &from, len)) {
			u = c;
			break;
		}
		if (c->last < oldest->last)
			oldest = c;
	}
	if (!u) { /* a new client: reuse the slot idle the longest */
		u = oldest;
		if (u->fd > 0)
			close(u->fd);
		u->fd = connect_container(pp, SOCK_DGRAM, p->ctr);
		if (u->fd < 0) {
			u->fd = 0;
			return;
		}
		u->port = idx;
		u->client = from;
		u->len = len;
	}
	u->last = time(NULL);
	(void)!send(u->fd, buf, n, 0);
}

static void udp_back(struct ports *pp, struct udp_peer *u)
{
	char buf[65536];
	ssize_t n = recv(u->fd, buf, sizeof(buf), 0);
	if (n >= 0)
		(void)!sendto(pp->list[u->port].fd, buf, n, 0, (struct sockaddr *)&u->client, u->len);
	u->last = time(NULL);
}

static void *proxy(void *arg)
{
	struct ports *pp = arg;
	for (;;) {
		struct pollfd pf[1 + MAX_PORTS + MAX_UDP];
		int map[MAX_UDP], nf = 0, nu = 0;
		pf[nf++] = (struct pollfd){.fd = pp->stop_pipe[0], .events = POLLIN};
		for (int i = 0; i < pp->n; i++)
			pf[nf++] = (struct pollfd){.fd = pp->list[i].fd, .events = POLLIN};
		time_t now = time(NULL);
		for (int i = 0; i < MAX_UDP; i++) {
			if (pp->udp[i].fd > 0 && now - pp->udp[i].last > 120) {
				close(pp->udp[i].fd);
				pp->udp[i].fd = 0;
			}
			if (pp->udp[i].fd > 0) {
				map[nu++] = i;
				pf[nf++] = (struct pollfd){.fd = pp->udp[i].fd, .events = POLLIN};
			}
		}
		if (poll(pf, nf, 10000) < 0 && errno != EINTR)
			break;
		if (pf[0].revents)
			break;
		for (int i = 0; i < pp->n; i++)
			if (pf[1 + i].revents)
				pp->list[i].udp ? udp_in(pp, i) : tcp_accept(pp, &pp->list[i]);
		for (int k = 0; k < nu; k++)
			if (pf[1 + pp->n + k].revents)
				udp_back(pp, &pp->udp[map[k]]);
	}
	return NULL;
}

int ports_start(struct ports *pp, struct in_addr ctr)
{
	if (!pp->n)
		return 0;
	pp->target = ctr;
	if (pipe2(pp->stop_pipe, O_CLOEXEC) < 0)
		return -1;
	if (pthread_create(&pp->thread, NULL, proxy, pp) != 0)
		return -1;
	pp->running = 1;
	return 0;
}

void ports_stop(struct ports *pp)
{
	if (!pp)
		return;
	if (pp->running) {
		/* EOF on the stop pipe wakes the proxy and every connection */
		close(pp->stop_pipe[1]);
		pthread_join(pp->thread, NULL);
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 5;
		pthread_mutex_lock(&pp->lock);
		while (pp->live_conns > 0 &&
		       pthread_cond_timedwait(&pp->done, &pp->lock, &until) == 0)
			;
		pthread_mutex_unlock(&pp->lock);
		pp->running = 0;
	}
	for (int i = 0; i < pp->n; i++)
		if (pp->list[i].fd >= 0) {
			close(pp->list[i].fd);
			pp->list[i].fd = -1;
		}
	for (int i = 0; i < MAX_UDP; i++)
		if (pp->udp[i].fd > 0)
			close(pp->udp[i].fd), pp->udp[i].fd = 0;
}
