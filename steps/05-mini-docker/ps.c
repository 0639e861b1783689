/*
 * ps.c: what docker tells about containers, read from their records, without
 * a daemon to ask:
 *
 *     $ docker ps                       # the slides
 *     $ mini-docker ps [-a] [-q] [--no-trunc]      # running (-a: every) container
 *     $ mini-docker logs [-f] [--tail N] [-t] CONTAINER
 *     $ mini-docker inspect CONTAINER...           # JSON, as docker inspect
 *
 * A CONTAINER is a name, a full ID or any unique prefix of one. Each command
 * reads state.json (state.c); a PID there is believed only with its start time.
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

#include "bridge.h"
#include "container.h"
#include "image.h"
#include "opts.h"
#include "ps.h"
#include "signals.h"
#include "state.h"
#include "util.h"

static void fit(char *out, size_t len, const char *s, size_t max)
{
	if (strlen(s) <= max)
		snprintf(out, len, "%s", s);
	else
		snprintf(out, len, "%.*s…", (int)max - 1, s);
}

static void status_text(json_t *j, char *out, size_t len)
{
	const char *st = state_status(j, NULL);
	struct timespec ts;
	char d[64];
	clock_gettime(CLOCK_REALTIME, &ts);
	double now = ts.tv_sec + ts.tv_nsec / 1e9;
	if (!strcmp(st, "running")) {
		human_duration(now - time_parse(state_str(j, "started_at")[0]
						    ? state_str(j, "started_at")
						    : state_str(j, "created")),
			       d, sizeof(d));
		snprintf(out, len, "Up %s", d);
	} else if (!strcmp(st, "exited")) {
		const char *fin = state_str(j, "finished_at");
		human_duration(now - time_parse(*fin ? fin : state_str(j, "created")), d,
			       sizeof(d));
		snprintf(out, len, "Exited (%s) %s ago",
			 *state_str(j, "exit_code") ? state_str(j, "exit_code") : "?", d);
	} else if (!strcmp(st, "dead")) {
		snprintf(out, len, "Dead (its %s was killed)",
			 *state_str(j, "monitor_pid") ? "monitor" : "engine");
	} else {
		snprintf(out, len, "Created");
	}
}

struct row {
	double created;
	char *col[7];
};

static int by_created(const void *a, const void *b)
{
	double x = ((const struct row *)a)->created, y = ((const struct row *)b)->created;
	return x < y ? 1 : x > y ? -1 : 0;
}

/* One line of ps: the columns of container ID's record J; WIDTH grows to fit them. */
static void fill_row(struct row *r, json_t *j, const char *id, int no_trunc, size_t width[7])
{
	char buf[512], cmd[256], d[64];
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	r->created = time_parse(state_str(j, "created"));
	r->col[0] = xasprintf("%.*s", no_trunc ? 64 : 12, id);
	r->col[1] = xstrdup(state_str(j, "image"));
	snprintf(buf, sizeof(buf), "\"%s\"", state_str(j, "command"));
	fit(cmd, sizeof(cmd), buf, no_trunc ? 250 : 20);
	r->col[2] = xstrdup(cmd);
	human_duration(ts.tv_sec - r->created, d, sizeof(d));
	r->col[3] = xasprintf("%s ago", d);
	status_text(j, buf, sizeof(buf));
	r->col[4] = xstrdup(buf);
	r->col[5] = xstrdup(!strcmp(state_status(j, NULL), "running") ? state_str(j, "ports") : "");
	r->col[6] = xstrdup(state_str(j, "name"));
	for (int k = 0; k < 7; k++) {
		size_t w = strlen(r->col[k]);
		if (strstr(r->col[k], "…"))
			w -= 2; /* three bytes, one column */
		if (w > width[k])
			width[k] = w;
	}
}

int cmd_container_ps(const struct md_opts *o, int argc, char **argv)
{
	int all = 0, quiet = 0, no_trunc = 0, n = 0, k;
	const char *usage = "ps [-a] [-q] [--no-trunc]";
	enum { ALL, QUIET, NO_TRUNC };
	static const struct md_option options[] = {
	    [ALL] = {"all", 'a', MD_FLAG},
	    [QUIET] = {"quiet", 'q', MD_FLAG},
	    [NO_TRUNC] = {"no-trunc", 0, MD_FLAG},
	};
	struct md_getopt g;
	struct md_error opt_err;
	md_getopt_init(&g, "ps", usage, options, MD_N(options), MD_ANYWHERE, argc, argv);
	while ((k = md_getopt(&g, &opt_err)) >= 0) {
		switch (k) {
		case ALL:
			all = 1;
			break;
		case QUIET:
			quiet = 1;
			break;
		case NO_TRUNC:
			no_trunc = 1;
			break;
		}
	}
	if (k != MD_OPT_END)
		return md_getopt_status(k, &opt_err);
	if (g.optind < argc) {
		md_usage(usage);
		return EXIT_ENGINE;
	}
	char **ids = state_list(o, &n);
	struct row *rows = xcalloc(n + 1, sizeof(*rows));
	int nr = 0;
	static const char *head[7] = {"CONTAINER ID", "IMAGE", "COMMAND", "CREATED",
				      "STATUS",	      "PORTS", "NAMES"};
	size_t width[7];
	for (int k = 0; k < 7; k++)
		width[k] = strlen(head[k]);
	for (int i = 0; i < n; i++) {
		json_t *j = state_load(o, ids[i]);
		const char *st = j ? state_status(j, NULL) : "";
		if (j && (all || !strcmp(st, "running")))
			fill_row(&rows[nr++], j, ids[i], no_trunc, width);
		json_decref(j);
		free(ids[i]);
	}
	free(ids);
	qsort(rows, nr, sizeof(*rows), by_created);
	if (!quiet) {
		for (int k = 0; k < 7; k++)
			printf(k < 6 ? "%-*s   " : "%.*s\n", k < 6 ? (int)width[k] : 99, head[k]);
	}
	for (int i = 0; i < nr; i++) {
		if (quiet)
			printf("%s\n", rows[i].col[0]);
		else
			for (int k = 0; k < 7; k++) {
				int extra = strstr(rows[i].col[k], "…") ? 2 : 0;
				printf(k < 6 ? "%-*s   " : "%.*s\n",
				       k < 6 ? (int)width[k] + extra : 999, rows[i].col[k]);
			}
		for (int k = 0; k < 7; k++)
			free(rows[i].col[k]);
	}
	free(rows);
	return 0;
}

/* ---- logs ---- */

static int print_entries(const char *path, off_t *offset, long tail, int timestamps)
{
	char *buf;
	size_t len;
	struct md_error err;
	if (read_file(path, 1UL << 31, &buf, &len, &err) < 0)
		return -1;
	size_t start = *offset <= (off_t)len ? (size_t)*offset : 0;
	/* --tail N: only the last N complete lines (a half-written last one is not among them) */
	if (tail >= 0) {
		size_t p = len;
		while (p > start && buf[p - 1] != '\n')
			p--;
		for (long lines = 0; p > start && lines < tail; lines++) {
			p--; /* the newline that ends this line */
			while (p > start && buf[p - 1] != '\n')
				p--;
		}
		start = p;
	}
	size_t end = start;
	for (size_t i = start; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		buf[i] = 0;
		json_t *j = json_loads(buf + end, 0, NULL);
		end = i + 1;
		if (!j)
			continue;
		size_t n = json_string_length(json_object_get(j, "log"));
		const char *text = json_string_value(json_object_get(j, "log"));
		FILE *f = !strcmp(state_str(j, "stream"), "stderr") ? stderr : stdout;
		if (timestamps)
			fprintf(f, "%s ", state_str(j, "time"));
		if (text)
			fwrite(text, 1, n, f);
		fflush(f);
		json_decref(j);
	}
	*offset = end; /* a half-written last line waits for the next round */
	free(buf);
	return 0;
}

int cmd_logs(const struct md_opts *o, int argc, char **argv)
{
	int follow = 0, timestamps = 0, i, k;
	long tail = -1;
	const char *usage = "logs [-f] [--tail N] [-t] CONTAINER";
	enum { FOLLOW, TIMESTAMPS, TAIL };
	static const struct md_option options[] = {
	    [FOLLOW] = {"follow", 'f', MD_FLAG},
	    [TIMESTAMPS] = {"timestamps", 't', MD_FLAG},
	    [TAIL] = {"tail", 'n', MD_VALUE},
	};
	struct md_getopt g;
	struct md_error opt_err;
	md_getopt_init(&g, "logs", usage, options, MD_N(options), MD_ANYWHERE, argc, argv);
	while ((k = md_getopt(&g, &opt_err)) >= 0) {
		switch (k) {
		case FOLLOW:
			follow = 1;
			break;
		case TIMESTAMPS:
			timestamps = 1;
			break;
		case TAIL:
			tail = !strcmp(g.value, "all") ? -1 : atol(g.value);
			break;
		}
	}
	if (k != MD_OPT_END)
		return md_getopt_status(k, &opt_err);
	i = g.optind;
	if (i != argc - 1)
		return md_usage(usage), EXIT_ENGINE;
	char id[65];
	json_t *j = state_open_said(o, argv[i], id);
	if (!j)
		return 1;
	const char *log = state_str(j, "log_path");
	if (!*log) {
		fprintf(stderr,
			"mini-docker: %s ran in the foreground: its output went to the terminal, "
			"there is no log "
			"(run -d keeps one)\n",
			argv[i]);
		json_decref(j);
		return 1;
	}
	char *path = xstrdup(log);
	json_decref(j);
	off_t offset = 0;
	print_entries(path, &offset, tail, timestamps);
	while (follow) {
		json_t *s = state_load(o, id);
		int running = s && !strcmp(state_status(s, NULL), "running");
		json_decref(s);
		usleep(100000);
		print_entries(path, &offset, -1, timestamps);
		if (!running)
			break; /* a last read after it ended: the monitor flushed everything */
	}
	free(path);
	return 0;
}

/* ---- inspect ---- */

static json_t *ports_json(const char *text)
{
	json_t *ports = json_object();
	char *copy = xstrdup(text), *save, *p;
	for (p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		char ip[64], proto[8];
		int host, ctr;
		while (*p == ' ')
			p++;
		char *arrow = strstr(p, "->"), *colon;
		if (!arrow)
			continue;
		*arrow = 0;
		colon = strrchr(p, ':');
		if (!colon || sscanf(colon + 1, "%d", &host) != 1 ||
		    sscanf(arrow + 2, "%d/%7s", &ctr, proto) != 2)
			continue;
		*colon = 0;
		snprintf(ip, sizeof(ip), "%s", p[0] == '[' ? p + 1 : p);
		ip[strcspn(ip, "]")] = 0;
		char key[32], hp[16];
		snprintf(key, sizeof(key), "%d/%s", ctr, proto);
		snprintf(hp, sizeof(hp), "%d", host);
		json_t *list = json_object_get(ports, key);
		if (!list)
			json_object_set_new(ports, key, list = json_array());
		json_array_append_new(list, json_pack("{s:s,s:s}", "HostIp", ip, "HostPort", hp));
	}
	free(copy);
	return ports;
}

static json_t *inspect_one(const struct md_opts *o, const char *id, json_t *j)
{
	pid_t pid;
	const char *st = state_status(j, &pid);
	json_t *args = json_loads(state_str(j, "args"), 0, NULL);
	if (!json_is_array(args)) {
		json_decref(args);
		args = json_array();
	}
	/* as docker's: Path is the program, Args what follows it */
	char *path = xstrdup(json_array_size(args) ? json_string_value(json_array_get(args, 0)) : "");
	if (json_array_size(args))
		json_array_remove(args, 0);
	json_t *out = json_pack(
	    "{s:s,s:s,s:s,s:O,s:{s:s,s:b,s:b,s:i,s:i,s:s,s:s},s:s,s:s,s:s,s:{s:s,s:s,s:s},"
	    "s:{s:s,s:s,s:i,s:s,s:o},s:s,s:s}",
	    "Id", id, "Created", state_str(j, "created"), "Path", path, "Args", args, "State",
	    "Status", st, "Running", !strcmp(st, "running"), "Dead", !strcmp(st, "dead"), "Pid",
	    (int)pid, "ExitCode", !strcmp(st, "dead") ? 137 : atoi(state_str(j, "exit_code")),
	    "StartedAt", state_str(j, "started_at"), "FinishedAt", state_str(j, "finished_at"),
	    "Name", state_str(j, "name"), "Image", state_str(j, "image"), "LogPath",
	    state_str(j, "log_path"), "Config", "Hostname", state_str(j, "hostname"), "StopSignal",
	    signal_name(atoi(state_str(j, "stop_signal")) ?: SIGTERM), "Cmd",
	    state_str(j, "command"), "NetworkSettings", "IPAddress", state_str(j, "ip"),
	    "GlobalIPv6Address", state_str(j, "ip6"), "IPPrefixLen",
	    *state_str(j, "ip") ? BRIDGE_PREFIX : 0, "Bridge",
	    *state_str(j, "ip") ? BRIDGE_NAME : "", "Ports", ports_json(state_str(j, "ports")),
	    "Network", state_str(j, "network"), "MonitorPid", state_str(j, "monitor_pid"));
	json_decref(args);
	free(path);
	(void)o;
	return out;
}

int cmd_container_inspect(const struct md_opts *o, int argc, char **argv)
{
	json_t *all = json_array();
	int containers = 0, k;
	struct md_getopt g;
	struct md_error opt_err;
	md_getopt_init(&g, "inspect", "inspect CONTAINER|IMAGE...", NULL, 0, MD_ANYWHERE, argc,
		       argv);
	while ((k = md_getopt(&g, &opt_err)) >= 0)
		; /* none but --help */
	if (k != MD_OPT_END) {
		json_decref(all);
		return md_getopt_status(k, &opt_err);
	}
	argv += g.optind - 1; /* argv[1..] the operands, as cmd_inspect reads them */
	argc -= g.optind - 1;
	for (int i = 1; i < argc; i++) {
		char id[65];
		struct md_error err;
		json_t *j;
		if (argv[i][0] != '-' && state_find(o, argv[i], id, &err) == 0 &&
		    (j = state_load(o, id))) {
			json_array_append_new(all, inspect_one(o, id, j));
			json_decref(j);
			containers++;
		}
	}
	if (containers == 0) { /* not a container: an image, as docker inspect does */
		json_decref(all);
		return cmd_inspect(o, argc, argv);
	}
	char *text = json_dumps(all, JSON_INDENT(4));
	printf("%s\n", text);
	free(text);
	json_decref(all);
	return containers == argc - 1 ? 0 : 1;
}
