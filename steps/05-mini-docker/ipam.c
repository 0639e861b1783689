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
 *
 * The user's networks (`network create NAME`, as docker's) belong to a store:
 *
 *     ROOT/networks/NAME/config.json   its ID, bridge md-ID12 and IPv4 subnet
 *     ROOT/networks/NAME/leases        its leases, in the format above
 *
 * Their subnets come from a pool, 10.89.0.0/24, 10.89.1.0/24 ... (docker's
 * is 172.17.0.0/16 and up): the lowest that no other network of the store
 * and no address or route of this network namespace overlaps. The same lock
 * serializes them with every lease, so a run never joins a network that
 * `network rm` is deleting. Each network has its leases, so its /etc/hosts
 * files name its own containers only: a name resolves on its network alone.
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
#include "net.h"
#include "record.h"
#include "state.h"
#include "util.h"

#define MAX_LEASES 4096
#define POOL	   "10.89.0.0" /* the user networks' subnets: 10.89.N.0/24 */

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

/* The N-th address of the network's subnets: .1 / ::1 is the bridge itself (no IPv6: ::) */
static void nth(const struct network *net, unsigned n, struct in_addr *ip, struct in6_addr *ip6)
{
	ip->s_addr = htonl(ntohl(net->subnet.s_addr) + n);
	*ip6 = in6addr_any;
	if (!net->v6)
		return;
	*ip6 = net->subnet6;
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
	if (!IN6_IS_ADDR_UNSPECIFIED(&self->ip6))
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
 * with_leases(O, NET, FN, ARG): take the lock, load NET's leases, let FN read or
 * change them (FN saves what it changed), let go of the lock. Every reader and
 * writer of the leases goes through here (network create and rm hold the lock
 * with ipam_lock, and read a network's leases with locked_leases).
 */
typedef int lease_fn(struct table *t, const char *path, void *arg, struct md_error *err);

/* leases-NETNS.tmp.PID (leases.tmp.PID): a writer killed between its temporary copy and the
 * rename left it. Under the lock nobody is writing one, so every such file is stale. */
static void drop_stale_copies(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d)))
		if (!strncmp(e->d_name, "leases", 6) && strstr(e->d_name, ".tmp.")) {
			narrate("unlink(%s/%s)", "rm %s/%s  # left by a killed engine", dir, e->d_name);
			unlinkat(dirfd(d), e->d_name, 0);
		}
	if (d)
		closedir(d);
}

/* ROOT/networks/NAME[/FILE] */
static char *network_path(const struct md_opts *o, const char *name, const char *file)
{
	return xasprintf("%s/networks/%s%s%s", o->root, name, file ? "/" : "", file ? file : "");
}

/* RUNROOT/bridge/lock: every change of leases and networks holds it; -1 with ERR */
static int ipam_lock(struct md_error *err)
{
	char *dir = bridge_dir(err);
	if (!dir)
		return md_context(err, "the bridge's leases");
	char *lockp = xasprintf("%s/lock", dir);
	narrate("flock(%s)", "flock %s  # one engine at a time changes the leases", lockp);
	int lock = lock_file(lockp, err);
	if (lock >= 0)
		drop_stale_copies(dir);
	free(lockp);
	free(dir);
	return lock;
}

/* the lock held: NET's leases (mini0's of this network namespace, or the network's own) */
static int locked_leases(const struct md_opts *o, const struct network *net, lease_fn *fn,
			 void *arg, struct md_error *err)
{
	struct table t = {0};
	char *path, *dir = net->id[0] ? network_path(o, net->name, NULL) : bridge_dir(err);
	if (!dir)
		return -1;
	path = net->id[0] ? network_path(o, net->name, "leases") : leases_path(dir);
	if (net->id[0]) /* ipam_lock cleaned mini0's */
		drop_stale_copies(dir);
	table_load(path, &t);
	int rc = fn(&t, path, arg, err);
	free(t.e);
	free(path);
	free(dir);
	return rc;
}

static int with_leases(const struct md_opts *o, const struct network *net, lease_fn *fn,
		       void *arg, struct md_error *err)
{
	int lock = ipam_lock(err);
	if (lock < 0)
		return -1;
	int rc = locked_leases(o, net, fn, arg, err);
	close(lock);
	return rc;
}

struct request {
	const struct md_opts *o;
	const struct network *net;
	const char *id, *hostname, *name, *aliases;
	struct lease *l;
};

static int network_read(const struct md_opts *o, const char *name, struct network *n,
			struct md_error *err);

static int allocate(struct table *t, const char *path, void *arg, struct md_error *err)
{
	const struct request *r = arg;
	const struct network *net = r->net;
	struct network now;
	/* under the lock: `network rm` may have taken it away since run read it */
	if (net->id[0] && (network_read(r->o, net->name, &now, err) < 0 || strcmp(now.id, net->id)))
		return md_fail(err, "it was removed meanwhile (network rm)");
	prune(t);
	if (t->n >= MAX_LEASES)
		return md_fail(err, "the bridge %s has no free address left (%d containers on it)",
			       net->bridge, t->n);
	/* the lowest free address from .2 on (.0 is the network, .1 the bridge, the last is broadcast) */
	unsigned n, last = (1u << (32 - net->prefix)) - 1;
	for (n = 2; n < last; n++) {
		struct in_addr ip;
		struct in6_addr ip6;
		int taken = 0;
		nth(net, n, &ip, &ip6);
		for (int i = 0; i < t->n && !taken; i++)
			taken = t->e[i].ip.s_addr == ip.s_addr;
		if (!taken)
			break;
	}
	if (n >= last)
		return md_fail(err, "network %s has no free address left (%d containers on it)",
			       net->name, t->n);
	struct entry *e = &t->e[t->n++];
	nth(net, n, &e->ip, &e->ip6);
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
	return bridge_ensure(net, err);
}

int ipam_allocate(const struct md_opts *o, const struct network *net, const char *id,
		  const char *hostname, const char *name, const char *aliases, struct lease *l,
		  struct md_error *err)
{
	struct request r = {o, net, id, hostname, name, aliases, l};
	return with_leases(o, net, allocate, &r, err);
}

struct release_req {
	const struct network *net;
	const char *id;
};

static int release(struct table *t, const char *path, void *arg, struct md_error *err)
{
	const struct release_req *r = arg;
	const char *id = r->id;
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
	if (t->n == 0) { /* the last one out takes mini0 (and its NAT rule) away; a network stays */
		if (!r->net->id[0])
			bridge_remove(r->net);
		unlink(path);
	}
	return 0;
}

void ipam_release(const struct md_opts *o, const char *id)
{
	struct md_error err;
	struct network net;
	bridge_detach(id);
	json_t *j = state_load(o, id);
	const char *name = state_str(j, "network");
	/* mini0 unless the container was on a network of the store (as before networks: rm
	 * of any container lets mini0 go when no lease on it is alive) */
	if (network_read(o, name, &net, &err) < 0)
		bridge_default(&net);
	struct release_req r = {&net, id};
	with_leases(o, &net, release, &r, &err);
	json_decref(j);
}

/* ---- the user's networks ---- */

static int network_read(const struct md_opts *o, const char *name, struct network *n,
			struct md_error *err)
{
	if (!docker_name_ok(name) || strlen(name) >= sizeof(n->name))
		return md_fail(err, "network %s not found", name);
	char *path = network_path(o, name, "config.json");
	json_t *j = json_load_file(path, 0, NULL);
	free(path);
	const char *id = json_string_value(json_object_get(j, "Id"));
	const char *subnet = json_string_value(json_object_get(j, "Subnet"));
	memset(n, 0, sizeof(*n));
	int ok = id && subnet && strlen(id) == 64 && strchr(subnet, '/');
	if (ok) {
		char ip[INET_ADDRSTRLEN];
		snprintf(ip, sizeof(ip), "%.*s", (int)(strchr(subnet, '/') - subnet), subnet);
		n->prefix = atoi(strchr(subnet, '/') + 1);
		ok = inet_pton(AF_INET, ip, &n->subnet) == 1 && n->prefix >= 8 && n->prefix <= 30;
	}
	if (ok) {
		snprintf(n->name, sizeof(n->name), "%s", name);
		snprintf(n->id, sizeof(n->id), "%s", id);
		snprintf(n->bridge, sizeof(n->bridge), "md-%.12s", id);
	}
	json_decref(j);
	return ok ? 0 : md_fail(err, "network %s not found", name);
}

int ipam_network(const struct md_opts *o, const char *name, struct network *n,
		 struct md_error *err)
{
	if (!strcmp(name, "bridge") || !strcmp(name, "default")) {
		bridge_default(n);
		return 0;
	}
	if (network_read(o, name, n, err) == 0)
		return 0;
	/* else an ID, or a prefix of only one (network ls -q prints 12 digits) */
	int count, found = 0;
	size_t len = strlen(name);
	char **names = ipam_networks(o, &count);
	struct network each;
	for (int i = 0; i < count; i++) {
		if (len >= 3 && network_read(o, names[i], &each, err) == 0 &&
		    !strncmp(each.id, name, len) && found++ == 0)
			*n = each;
		free(names[i]);
	}
	free(names);
	if (found == 1)
		return 0;
	return md_fail(err, "network %s %s", name, found ? "is ambiguous: give more of its ID" : "not found");
}

char **ipam_networks(const struct md_opts *o, int *count)
{
	char *dir = xasprintf("%s/networks", o->root);
	struct dirent **list = NULL;
	int n = scandir(dir, &list, NULL, alphasort), k = 0;
	char **names = xcalloc(n > 0 ? (size_t)n + 1 : 1, sizeof(char *));
	for (int i = 0; i < n; i++) {
		struct network net;
		struct md_error err;
		if (list[i]->d_name[0] != '.' && network_read(o, list[i]->d_name, &net, &err) == 0)
			names[k++] = xstrdup(list[i]->d_name);
		free(list[i]);
	}
	free(list);
	free(dir);
	*count = k;
	return names;
}

static int overlap(struct in_addr a, int alen, struct in_addr b, int blen)
{
	int len = alen < blen ? alen : blen;
	uint32_t mask = len ? ~0u << (32 - len) : 0;
	return ((ntohl(a.s_addr) ^ ntohl(b.s_addr)) & mask) == 0;
}

/* SUBNET is free: not mini0's, no other network's of the store, nothing of this namespace's */
static int subnet_free(const struct md_opts *o, struct in_addr subnet, int prefix, int quiet,
		       struct md_error *err)
{
	struct network other;
	char text[INET_ADDRSTRLEN + 4];
	int n, rc = 0;
	inet_ntop(AF_INET, &subnet, text, INET_ADDRSTRLEN);
	snprintf(text + strlen(text), sizeof(text) - strlen(text), "/%d", prefix);
	bridge_default(&other);
	char **names = ipam_networks(o, &n);
	for (int i = -1; i < n && !rc; i++) {
		if (i >= 0 && network_read(o, names[i], &other, err) < 0)
			continue;
		if (overlap(subnet, prefix, other.subnet, other.prefix))
			rc = quiet ? -1
				   : md_fail(err, "--subnet %s overlaps network %s (%s)", text,
					     other.name, other.bridge);
	}
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (rc == 0 && (rc = net_subnet_used(subnet, prefix, err)) > 0)
		rc = quiet ? -1
			   : md_fail(err, "--subnet %s is in use here (an address or a route of this "
					  "host is in it): give another",
				     text);
	return rc < 0 ? -1 : 0;
}

int ipam_network_create(const struct md_opts *o, const char *name, const struct in_addr *subnet,
			int prefix, struct network *n, struct md_error *err)
{
	struct network old;
	if (!docker_name_ok(name) || strlen(name) >= sizeof(n->name))
		return md_fail(err, "network create %s: a name is letters, digits, _ . - (not first)",
			       name);
	if (!strcmp(name, "bridge") || !strcmp(name, "default") || !strcmp(name, "host") ||
	    !strcmp(name, "none") || !strcmp(name, "veth"))
		return md_fail(err, "network create %s: %s is a pre-defined network", name, name);
	int lock = ipam_lock(err);
	if (lock < 0)
		return -1;
	char *dir = network_path(o, name, NULL), *config = network_path(o, name, "config.json");
	int rc = -1;
	memset(n, 0, sizeof(*n));
	if (network_read(o, name, &old, err) == 0) {
		md_fail(err, "network with name %s already exists", name);
		goto out;
	}
	if (subnet) {
		n->subnet = *subnet;
		n->prefix = prefix;
		if (subnet_free(o, *subnet, prefix, 0, err) < 0)
			goto out;
	} else { /* the pool: the lowest free 10.89.N.0/24 */
		int k;
		inet_pton(AF_INET, POOL, &n->subnet);
		n->prefix = 24;
		for (k = 0; k < 256; k++, n->subnet.s_addr = htonl(ntohl(n->subnet.s_addr) + 256))
			if (subnet_free(o, n->subnet, 24, 1, err) == 0)
				break;
		if (k == 256) {
			md_fail(err, "network create %s: no free subnet left in %s/16: give --subnet",
				name, POOL);
			goto out;
		}
	}
	snprintf(n->name, sizeof(n->name), "%s", name);
	random_hex(n->id, 32);
	snprintf(n->bridge, sizeof(n->bridge), "md-%.12s", n->id);
	char ip[INET_ADDRSTRLEN], now[40], *text;
	inet_ntop(AF_INET, &n->subnet, ip, sizeof(ip));
	time_now(now, sizeof(now));
	json_t *j = json_pack("{s:s, s:s, s:s, s:s}", "Name", name, "Id", n->id, "Created", now,
			      "Subnet", (text = xasprintf("%s/%d", ip, n->prefix)));
	char *body = json_dumps(j, JSON_INDENT(2));
	json_decref(j);
	free(text);
	narrate("mkdir(%s)", "mkdir -p %s  # the network's record", dir);
	/* the bridge made now, as docker's br-ID: `ip link` shows it, and its address keeps the
	 * subnet taken in this namespace for the other stores too */
	if (mkdir_p(dir, 0700, err) == 0 && write_file_atomic(config, body, strlen(body), err) == 0 &&
	    bridge_ensure(n, err) == 0)
		rc = 0;
	else {
		bridge_remove(n);
		rm_rf(dir);
	}
	free(body);
out:
	free(dir);
	free(config);
	close(lock);
	return rc;
}

/* the live leases of a network: its members, each "NAME IPV4/PREFIX ID" */
struct members {
	const struct network *net;
	const char *store; /* mini0's leases name every store's containers: ours only */
	char **line;
	int n;
};

static int list_members(struct table *t, const char *path, void *arg, struct md_error *err)
{
	struct members *m = arg;
	(void)path, (void)err;
	prune(t);
	m->line = xcalloc((size_t)t->n + 1, sizeof(char *));
	for (int i = 0; i < t->n; i++) {
		char ip[INET_ADDRSTRLEN];
		if (m->store && strcmp(t->e[i].store, m->store))
			continue;
		inet_ntop(AF_INET, &t->e[i].ip, ip, sizeof(ip));
		m->line[m->n++] = xasprintf("%.*s %s/%d %s", (int)strcspn(t->e[i].names, " "),
					    t->e[i].names, ip, m->net->prefix, t->e[i].id);
	}
	return 0;
}

char **ipam_network_members(const struct md_opts *o, const struct network *n, int *count,
			    struct md_error *err)
{
	char *store = realpath(o->root, NULL);
	struct members m = {n, n->id[0] ? NULL : store, NULL, 0};
	int rc = with_leases(o, n, list_members, &m, err);
	free(store);
	*count = m.n;
	if (rc < 0) {
		for (int i = 0; i < m.n; i++)
			free(m.line[i]);
		free(m.line);
		return NULL;
	}
	return m.line;
}

int ipam_network_remove(const struct md_opts *o, const char *name, struct md_error *err)
{
	struct network n;
	struct members m = {&n, NULL, NULL, 0};
	if (!strcmp(name, "bridge") || !strcmp(name, "default") || !strcmp(name, "host") ||
	    !strcmp(name, "none"))
		return md_fail(err, "%s is a pre-defined network and cannot be removed", name);
	int lock = ipam_lock(err);
	if (lock < 0)
		return -1;
	int rc = -1;
	if (ipam_network(o, name, &n, err) == 0 && locked_leases(o, &n, list_members, &m, err) == 0) {
		if (m.n) {
			char names[256] = "";
			for (int i = 0; i < m.n; i++)
				snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%.*s",
					 i ? ", " : "", (int)strcspn(m.line[i], " "), m.line[i]);
			md_fail(err, "network %s is in use by %d container%s (%s): remove %s first",
				n.name, m.n, m.n > 1 ? "s" : "", names, m.n > 1 ? "them" : "it");
		} else {
			bridge_remove(&n);
			char *dir = network_path(o, n.name, NULL);
			narrate("rm_rf(%s)", "rm -rf %s  # the network's record and leases", dir);
			rc = rm_rf(dir) < 0 ? md_fail(err, "network rm %s: could not remove %s", name, dir)
					    : 0;
			free(dir);
		}
	}
	for (int i = 0; i < m.n; i++)
		free(m.line[i]);
	free(m.line);
	close(lock);
	return rc;
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
