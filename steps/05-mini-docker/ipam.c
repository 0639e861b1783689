/*
 * ipam.c: addresses on the bridge, and the /etc/hosts that names the peers.
 *
 *     RUNROOT/bridge/lock          flock(2): one engine at a time changes the leases
 *     RUNROOT/bridge/leases-NETNS  the leases of the bridge of the network namespace
 *                                  whose inode is NETNS, a line per container, tab-separated:
 *                                  IPV4 IPV6 ID HOSTNAME STORE NAME [ALIAS...]
 *
 * A bridge belongs to a network namespace, not to a store: two stores
 * (--root) on one host share mini0 and its addresses, so each lease names the
 * store that holds its container. RUNROOT is /run/mini-docker (a tmpfs: a
 * reboot, which takes the bridge away, takes the leases too); the file goes
 * when its last lease does.
 *
 * There is no daemon holding the pool in memory (docker's IPAM lives in
 * dockerd): every `run` takes the lock, drops the leases of containers that
 * are gone (removed, exited, or whose engine was killed), takes the lowest
 * free address, and writes the file back. The lock makes ten concurrent runs
 * get ten different addresses; the file makes the pool survive the engine.
 *
 * Containers reach each other by name through their /etc/hosts (docker uses
 * an embedded DNS server for that): each container gets
 * ROOT/containers/ID/hosts bind-mounted at /etc/hosts, and each change of the
 * leases rewrites all of them in place (a bind mount holds the inode: a
 * rename would leave the container with the old file).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bridge.h"
#include "ipam.h"
#include "narrate.h"
#include "state.h"
#include "util.h"

#define MAX_LEASES 4096

struct entry {
	struct in_addr ip;
	struct in6_addr ip6;
	char id[65], hostname[128], names[512]; /* NAME and the aliases, space separated */
	char store[PATH_MAX];			/* the --root holding the container */
};

struct table {
	struct entry *e;
	int n;
};

static char *bridge_dir(struct md_error *err)
{
	const char *env = getenv("MINI_DOCKER_RUNROOT");
	char *dir;
	if (env && *env)
		dir = xasprintf("%s/bridge", env);
	else
		dir = xstrdup("/run/mini-docker/bridge"); /* the bridge needs root anyway */
	if (mkdir_p(dir, 0700, err) < 0) {
		free(dir);
		return NULL;
	}
	return dir;
}

/* RUNROOT/bridge/leases-INODE: the leases of this network namespace's bridge */
static char *leases_path(const char *dir)
{
	struct stat st;
	if (stat("/proc/thread-self/ns/net", &st) < 0)
		st.st_ino = 0;
	return xasprintf("%s/leases-%lu", dir, (unsigned long)st.st_ino);
}

static void table_load(const char *path, struct table *t)
{
	FILE *f = fopen(path, "re");
	char line[1024];
	t->e = xcalloc(MAX_LEASES, sizeof(*t->e));
	t->n = 0;
	while (f && t->n < MAX_LEASES && fgets(line, sizeof(line), f)) {
		struct entry *e = &t->e[t->n];
		char *f[6], *save = NULL;
		line[strcspn(line, "\n")] = 0;
		int k = 0;
		for (char *p = strtok_r(line, "\t", &save); p && k < 6;
		     p = strtok_r(NULL, "\t", &save))
			f[k++] = p;
		if (k < 6 || inet_pton(AF_INET, f[0], &e->ip) != 1 ||
		    inet_pton(AF_INET6, f[1], &e->ip6) != 1)
			continue;
		snprintf(e->id, sizeof(e->id), "%s", f[2]);
		snprintf(e->hostname, sizeof(e->hostname), "%s", f[3]);
		snprintf(e->store, sizeof(e->store), "%s", f[4]);
		snprintf(e->names, sizeof(e->names), "%s", f[5]);
		t->n++;
	}
	if (f)
		fclose(f);
}

static int table_save(const char *path, const struct table *t, struct md_error *err)
{
	size_t cap = (size_t)t->n * (900 + PATH_MAX) + 1, len = 0;
	char *buf = xcalloc(1, cap);
	for (int i = 0; i < t->n; i++) {
		char ip[INET_ADDRSTRLEN], ip6[INET6_ADDRSTRLEN];
		inet_ntop(AF_INET, &t->e[i].ip, ip, sizeof(ip));
		inet_ntop(AF_INET6, &t->e[i].ip6, ip6, sizeof(ip6));
		len += snprintf(buf + len, cap - len, "%s\t%s\t%s\t%s\t%s\t%s\n", ip, ip6,
				t->e[i].id, t->e[i].hostname, t->e[i].store, t->e[i].names);
	}
	int rc = write_file_atomic(path, buf, len, err);
	free(buf);
	return rc;
}

/* A lease is stale when its container is gone, has ended, or lost its engine. */
static int stale(const struct entry *e)
{
	struct md_opts o = {.root = e->store};
	json_t *j = state_load(&o, e->id);
	if (!j)
		return 1;
	const char *s = state_status(j, NULL);
	int gone = !strcmp(s, "exited") || !strcmp(s, "dead");
	json_decref(j);
	return gone;
}

static void prune(struct table *t)
{
	int k = 0;
	for (int i = 0; i < t->n; i++)
		if (!stale(&t->e[i]))
			t->e[k++] = t->e[i];
	t->n = k;
}

/* The N-th address of the bridge's subnets: .1 / ::1 is the bridge itself */
static void nth(unsigned n, struct in_addr *ip, struct in6_addr *ip6)
{
	struct in_addr base;
	inet_pton(AF_INET, BRIDGE_SUBNET, &base);
	ip->s_addr = htonl(ntohl(base.s_addr) + n);
	inet_pton(AF_INET6, BRIDGE_SUBNET6, ip6);
	uint32_t low = htonl(n);
	memcpy(&ip6->s6_addr[12], &low, 4);
}

static void hosts_write(const struct table *t, const struct entry *self)
{
	char *path = xasprintf("%s/containers/%s/hosts", self->store, self->id);
	size_t cap = (size_t)(t->n + 4) * 700, len = 0;
	char *buf = xcalloc(1, cap);
	char ip[INET6_ADDRSTRLEN];
	len += snprintf(buf + len, cap - len,
			"127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
	inet_ntop(AF_INET, &self->ip, ip, sizeof(ip));
	len += snprintf(buf + len, cap - len, "%s\t%s %s\n", ip, self->hostname, self->names);
	inet_ntop(AF_INET6, &self->ip6, ip, sizeof(ip));
	len += snprintf(buf + len, cap - len, "%s\t%s %s\n", ip, self->hostname, self->names);
	for (int i = 0; i < t->n; i++) {
		if (!strcmp(t->e[i].id, self->id))
			continue;
		inet_ntop(AF_INET, &t->e[i].ip, ip, sizeof(ip));
		len += snprintf(buf + len, cap - len, "%s\t%s %s\n", ip, t->e[i].names,
				t->e[i].hostname);
	}
	/* in place: the container's bind mount holds this inode */
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd >= 0) {
		if (pwrite(fd, buf, len, 0) == (ssize_t)len)
			(void)!ftruncate(fd, len);
		close(fd);
	}
	free(buf);
	free(path);
}

static void hosts_all(const struct table *t)
{
	for (int i = 0; i < t->n; i++)
		hosts_write(t, &t->e[i]);
}

/*
 * with_leases(FN, ARG): take the lock, load the leases, let FN read or change
 * them (FN saves what it changed), let go of the lock. Every reader and
 * writer of the leases goes through here.
 */
typedef int lease_fn(struct table *t, const char *path, void *arg, struct md_error *err);

/* leases-NETNS.tmp.PID: a writer killed between its temporary copy and the rename left it.
 * Under the lock nobody is writing one, so every such file is stale. */
static void drop_stale_copies(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d)))
		if (!strncmp(e->d_name, "leases-", 7) && strstr(e->d_name, ".tmp.")) {
			narrate("unlink(%s/%s)", "rm %s/%s  # left by a killed engine", dir, e->d_name);
			unlinkat(dirfd(d), e->d_name, 0);
		}
	if (d)
		closedir(d);
}

static int with_leases(lease_fn *fn, void *arg, struct md_error *err)
{
	char *dir = bridge_dir(err);
	if (!dir)
		return md_context(err, "the bridge's leases");
	char *lockp = xasprintf("%s/lock", dir), *path = leases_path(dir);
	struct table t = {0};
	int rc = -1;
	narrate("flock(%s)", "flock %s  # one engine at a time changes the leases", lockp);
	int lock = lock_file(lockp, err);
	if (lock >= 0) {
		drop_stale_copies(dir);
		table_load(path, &t);
		rc = fn(&t, path, arg, err);
		close(lock);
	}
	free(t.e);
	free(lockp);
	free(path);
	free(dir);
	return rc;
}

struct request {
	const struct md_opts *o;
	const char *id, *hostname, *name, *aliases;
	struct lease *l;
};

static int allocate(struct table *t, const char *path, void *arg, struct md_error *err)
{
	const struct request *r = arg;
	prune(t);
	if (t->n >= MAX_LEASES)
		return md_fail(err, "the bridge %s has no free address left (%d containers on it)",
			       BRIDGE_NAME, t->n);
	/* the lowest free address from .2 on (.0 is the network, .1 the bridge, the last is broadcast) */
	unsigned n;
	for (n = 2; n < (1u << (32 - BRIDGE_PREFIX)) - 1; n++) {
		struct in_addr ip;
		struct in6_addr ip6;
		int taken = 0;
		nth(n, &ip, &ip6);
		for (int i = 0; i < t->n && !taken; i++)
			taken = t->e[i].ip.s_addr == ip.s_addr;
		if (!taken)
			break;
	}
	struct entry *e = &t->e[t->n++];
	nth(n, &e->ip, &e->ip6);
	snprintf(e->id, sizeof(e->id), "%s", r->id);
	snprintf(e->hostname, sizeof(e->hostname), "%s", r->hostname);
	char *store = realpath(r->o->root, NULL);
	snprintf(e->store, sizeof(e->store), "%s", store ? store : r->o->root);
	free(store);
	snprintf(e->names, sizeof(e->names), "%s%s%s", r->name,
		 r->aliases && *r->aliases ? " " : "", r->aliases ? r->aliases : "");
	r->l->ip = e->ip;
	r->l->ip6 = e->ip6;
	char text[INET_ADDRSTRLEN];
	narrate("lease %s for %.12s", "echo '%s %.12s ...' >> %s",
		inet_ntop(AF_INET, &e->ip, text, sizeof(text)), r->id, path);
	if (table_save(path, t, err) < 0)
		return -1;
	hosts_all(t);
	/* the bridge too, under the same lock: concurrent runs must not race to create it */
	return bridge_ensure(err);
}

int ipam_allocate(const struct md_opts *o, const char *id, const char *hostname, const char *name,
		  const char *aliases, struct lease *l, struct md_error *err)
{
	struct request r = {o, id, hostname, name, aliases, l};
	return with_leases(allocate, &r, err);
}

static int release(struct table *t, const char *path, void *arg, struct md_error *err)
{
	const char *id = arg;
	int k = 0;
	for (int i = 0; i < t->n; i++)
		if (strcmp(t->e[i].id, id))
			t->e[k++] = t->e[i];
	if (k != t->n)
		narrate("release the lease of %.12s", "sed -i '/%.12s/d' %s", id, path);
	t->n = k;
	prune(t);
	table_save(path, t, err);
	hosts_all(t);
	if (t->n == 0) { /* the last one out takes the bridge (and its NAT rule) away */
		bridge_remove();
		unlink(path);
	}
	return 0;
}

void ipam_release(const struct md_opts *o, const char *id)
{
	struct md_error err;
	(void)o;
	bridge_detach(id);
	with_leases(release, (void *)id, &err);
}

static int rewrite_hosts(struct table *t, const char *path, void *arg, struct md_error *err)
{
	(void)path, (void)arg, (void)err;
	hosts_all(t);
	return 0;
}

void ipam_write_hosts(const struct md_opts *o)
{
	struct md_error err;
	(void)o;
	with_leases(rewrite_hosts, NULL, &err);
}

/*
 * The host's /etc/resolv.conf, as docker copies it, without nameservers on
 * 127.0.0.0/8 or ::1 (a resolver listening on the host's loopback, such as
 * systemd-resolved's 127.0.0.53, is not reachable from another namespace).
 */
int resolv_conf_write(const char *path, struct md_error *err)
{
	char *buf = NULL, *line, *save;
	size_t len = 0;
	struct md_error ignored;
	if (read_file("/etc/resolv.conf", 1 << 16, &buf, &len, &ignored) < 0)
		buf = xstrdup("");
	size_t cap = len + 64, out = 0;
	char *text = xcalloc(1, cap);
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char ns[64];
		if (sscanf(line, " nameserver %63s", ns) == 1 &&
		    (!strncmp(ns, "127.", 4) || !strcmp(ns, "::1")))
			continue;
		out += snprintf(text + out, cap - out, "%s\n", line);
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	int rc = 0;
	if (fd < 0 || write(fd, text, out) != (ssize_t)out)
		rc = md_fail_errno(err, "write %s", path);
	if (fd >= 0)
		close(fd);
	free(text);
	free(buf);
	return rc;
}
