/*
 * lifecycle.c: what run does for detached containers and the bridge network,
 * as the container is made, started and ended (run.c calls these hooks):
 *
 *   lifecycle_option   -d, -p, --network-alias, --stop-signal, --stop-timeout
 *   lifecycle_prepare  the record of what exec, stop and inspect will need, the
 *                      bridge's address (ipam.c), the monitor (run -d, monitor.c),
 *                      the published ports' sockets (ports.c)
 *   lifecycle_started  the port proxy starts, the monitor's log thread starts
 *   lifecycle_end      the proxy stops, the logs are drained, the address freed
 *
 * docker's everyday commands are in ps.c (ps, logs, inspect) and stop.c (stop,
 * kill, wait, rm).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "container.h"
#include "ipam.h"
#include "lifecycle.h"
#include "monitor.h"
#include "narrate.h"
#include "ports.h"
#include "security.h"
#include "signals.h"
#include "state.h"
#include "util.h"

/* ---- run's hooks ---- */

int lifecycle_option(struct run_config *rc, const char *lng, const char *shown, const char *v,
		     struct md_error *err)
{
	if (!strcmp(lng, "detach")) {
		rc->detach = 1;
	} else if (!strcmp(lng, "publish")) {
		if (!rc->ports)
			rc->ports = ports_new();
		if (ports_parse(rc->ports, v, err) < 0)
			return -1;
	} else if (!strcmp(lng, "network-alias")) {
		for (const char *p = v; *p; p++)
			if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' && *p != '_')
				return md_fail(err, "%s '%s': use letters, digits, - . _", shown,
					       v);
		size_t len = strlen(rc->aliases);
		if (!*v || len + strlen(v) + 2 > sizeof(rc->aliases))
			return md_fail(err, "%s '%s': empty, or too many aliases", shown, v);
		snprintf(rc->aliases + len, sizeof(rc->aliases) - len, "%s%s", len ? " " : "", v);
	} else if (!strcmp(lng, "stop-signal")) {
		if ((rc->stop_signal_opt = parse_signal(v)) < 0)
			return md_fail(err,
				       "%s %s: give a signal name or number (SIGTERM, USR1, 15)",
				       shown, v);
	} else if (!strcmp(lng, "stop-timeout")) {
		char *end;
		long t = strtol(v, &end, 10);
		if (!*v || *end || t < 0 || t > 86400)
			return md_fail(err, "%s %s: give whole seconds", shown, v);
		rc->stop_timeout = (int)t;
	} else {
		return 0;
	}
	return 1;
}

static char *join_argv(char **argv)
{
	size_t len = 1;
	for (char **a = argv; a && *a; a++)
		len += strlen(*a) + 1;
	char *s = xcalloc(1, len);
	for (char **a = argv; a && *a; a++) {
		if (a != argv)
			strcat(s, " ");
		strcat(s, *a);
	}
	return s;
}

/* What exec, stop, ps and inspect will need to know, in one write of state.json (each is a
 * read, a rewrite and a rename): the environment as a JSON array (a value may hold a newline) */
static int record_config(struct container *c, const struct run_config *rc, struct md_error *err)
{
	char sig[16], timeout[16];
	snprintf(sig, sizeof(sig), "%d", rc->stop_signal ? rc->stop_signal : SIGTERM);
	snprintf(timeout, sizeof(timeout), "%d", rc->stop_timeout);
	char *cmd = join_argv(rc->argv);
	json_t *envs = json_array();
	for (char **e = rc->envp; e && *e; e++)
		json_array_append_new(envs, json_string(*e));
	char *env = json_dumps(envs, JSON_COMPACT);
	json_decref(envs);
	char caps[2][MAX_LIST * 24] = {"", ""};
	for (int k = 0; k < rc->n_cap_add; k++)
		snprintf(caps[0] + strlen(caps[0]), sizeof(caps[0]) - strlen(caps[0]), "%s ",
			 rc->cap_add[k]);
	for (int k = 0; k < rc->n_cap_drop; k++)
		snprintf(caps[1] + strlen(caps[1]), sizeof(caps[1]) - strlen(caps[1]), "%s ",
			 rc->cap_drop[k]);
	json_t *args = json_array();
	for (char **a = rc->argv; a && *a; a++)
		json_array_append_new(args, json_string(*a));
	char *args_text = json_dumps(args, JSON_COMPACT);
	json_decref(args);
	int r =
	    state_set(c->o, c->id, err, "env", env, "user", rc->user ? rc->user : "", "workdir",
		      rc->cwd ? rc->cwd : "/", "cap_add", caps[0], "cap_drop", caps[1],
		      "privileged", rc->privileged ? "1" : "0", "no_new_privs", nnp_on(rc) ? "1" : "0", "no_seccomp",
		      rc->no_seccomp ? "1" : "0", "userns", rc->userns ? "1" : "0",
		      "args", args_text, "command", cmd, "stop_signal", sig,
		      "stop_timeout", timeout, "detached", rc->detach ? "1" : "0",
		      "hostname", rc->hostname, "network",
		      rc->network == NET_BRIDGE ? rc->net.name
		      : rc->network == NET_HOST ? "host"
		      : rc->network == NET_NONE ? "none"
						: "veth",
		      NULL);
	free(cmd);
	free(env);
	free(args_text);
	return r;
}

/* The bridge network (mini0, or --network NAME's): an address (ipam.c), and /etc/hosts and
 * /etc/resolv.conf of ours, bind-mounted over the image's */
static int join_bridge(struct container *c, struct run_config *rc, struct md_error *err)
{
	struct lease l;
	char ip[INET_ADDRSTRLEN], ip6[INET6_ADDRSTRLEN];
	if (ipam_allocate(c->o, &rc->net, c->id, rc->hostname, c->name, rc->aliases, &l, err) < 0)
		return md_context(err, "network %s", rc->net.id[0] ? rc->net.name : rc->net.bridge);
	c->leased = 1;
	inet_ntop(AF_INET, &l.ip, ip, sizeof(ip));
	inet_ntop(AF_INET6, &l.ip6, ip6, sizeof(ip6));
	if (state_set(c->o, c->id, err, "ip", ip, "ip6", ip6, "aliases", rc->aliases, NULL) < 0)
		return -1;
	if (rc->n_volume_args + 2 > MAX_LIST)
		return md_fail(err, "too many volumes");
	char *dir = realpath(c->dir, NULL);
	if (!dir)
		return md_fail_errno(err, "realpath %s", c->dir);
	char *resolv = xasprintf("%s/resolv.conf", dir);
	int r = resolv_conf_write(resolv, err);
	if (r == 0) {
		rc->volume_args[rc->n_volume_args++] = xasprintf("%s/hosts:/etc/hosts", dir);
		rc->volume_args[rc->n_volume_args++] = xasprintf("%s:/etc/resolv.conf", resolv);
	}
	free(resolv);
	free(dir);
	return r;
}

/* TEXT into ROOT/containers/ID/NAME, bind-mounted at DST (as docker's, a file of the container's own) */
static int etc_file(struct container *c, struct run_config *rc, const char *name, const char *text,
		    const char *dst, struct md_error *err)
{
	if (rc->n_volume_args + 1 > MAX_LIST)
		return md_fail(err, "too many volumes");
	char *dir = realpath(c->dir, NULL);
	if (!dir)
		return md_fail_errno(err, "realpath %s", c->dir);
	char *path = xasprintf("%s/%s", dir, name);
	int r = write_file_replace(path, text, strlen(text), err);
	if (r == 0)
		rc->volume_args[rc->n_volume_args++] = xasprintf("%s:%s", path, dst);
	free(path);
	free(dir);
	return r;
}

/*
 * /etc/hostname for every network, and outside the bridge (which keeps its own,
 * with the peers) /etc/hosts and /etc/resolv.conf, as docker writes them: the
 * host's own with --network host, else localhost and the host's name servers
 * (those on the host's loopback are not reachable from another namespace).
 */
static int etc_files(struct container *c, struct run_config *rc, struct md_error *err)
{
	char *text = xasprintf("%s\n", rc->hostname);
	int r = etc_file(c, rc, "hostname", text, "/etc/hostname", err);
	free(text);
	if (r < 0 || rc->network == NET_BRIDGE)
		return r;
	char *hosts = NULL, *resolv = NULL;
	size_t len;
	struct md_error none;
	if (rc->network != NET_HOST || read_file("/etc/hosts", 1 << 20, &hosts, &len, &none) < 0)
		hosts = xasprintf("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
	r = etc_file(c, rc, "hosts", hosts, "/etc/hosts", err);
	free(hosts);
	if (r < 0)
		return r;
	if (rc->network == NET_HOST && read_file("/etc/resolv.conf", 1 << 16, &resolv, &len, &none) == 0) {
		r = etc_file(c, rc, "resolv.conf", resolv, "/etc/resolv.conf", err);
		free(resolv);
		return r;
	}
	char *dir = realpath(c->dir, NULL);
	if (!dir)
		return md_fail_errno(err, "realpath %s", c->dir);
	char *path = xasprintf("%s/resolv.conf", dir);
	r = resolv_conf_write(path, err);
	if (r == 0 && rc->n_volume_args + 1 > MAX_LIST)
		r = md_fail(err, "too many volumes");
	if (r == 0)
		rc->volume_args[rc->n_volume_args++] = xasprintf("%s:/etc/resolv.conf", path);
	free(path);
	free(dir);
	return r;
}

int lifecycle_prepare(struct container *c, struct run_config *rc, struct md_error *err)
{
	if (rc->stop_signal_opt)
		rc->stop_signal = rc->stop_signal_opt;
	if (rc->ports && rc->network != NET_BRIDGE)
		return md_fail(err,
			       "-p publishes a port of the bridge network: it needs --network "
			       "bridge (the default%s) or a network of network create",
			       geteuid() ? " as root; rootless containers get --network none" : "");
	if (record_config(c, rc, err) < 0)
		return -1;
	if (rc->network == NET_BRIDGE && join_bridge(c, rc, err) < 0)
		return -1;
	if (etc_files(c, rc, err) < 0)
		return -1;
	/* run -d: from here on, the monitor (its messages still reach the starter's terminal) */
	if (rc->detach && monitor_fork(c, rc, err) < 0)
		return -1;
	if (rc->ports) {
		if (ports_bind(rc->ports, err) < 0)
			return -1;
		if (state_set(c->o, c->id, err, "ports", ports_text(rc->ports), NULL) < 0)
			return -1;
	}
	return 0;
}

void lifecycle_started(struct container *c, struct run_config *rc, pid_t pid)
{
	/* started_at: ns_start wrote it with the PID, in the same write of state.json */
	if (rc->ports) {
		json_t *j = state_load(c->o, c->id);
		struct in_addr ip;
		if (inet_pton(AF_INET, state_str(j, "ip"), &ip) == 1)
			ports_start(rc->ports, ip);
		json_decref(j);
	}
	monitor_started(c, rc, pid);
}

void lifecycle_end(struct container *c, struct run_config *rc, int status)
{
	ports_stop(rc->ports);
	monitor_end(rc->monitor, status);
	/* finished_at: run writes it with the exit code (with --rm, nothing: the record goes) */
	if (c->leased)
		ipam_release(c->o, c->id);
	c->leased = 0;
}
