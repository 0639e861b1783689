/*
 * state.c: find containers by name or id prefix, read and update their
 * state.json under a lock, and tell whether they still run.
 *
 *     $ docker ps -a            # the slides: every container and its state
 *     $ cat ROOT/containers/ID/state.json
 *
 * There is no daemon to ask: the files are the truth, and a PID is believed
 * only together with its start time (field 22 of /proc/PID/stat), since the
 * kernel reuses PIDs.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "state.h"
#include "util.h"

int lock_file(const char *path, struct md_error *err)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return md_fail_errno(err, "open %s", path);
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR) {
			md_fail_errno(err, "flock %s", path);
			close(fd);
			return -1;
		}
	return fd;
}

int state_find(const struct md_opts *o, const char *what, char id[65], struct md_error *err)
{
	if (!*what || strchr(what, '/'))
		return md_fail(err, "no such container: %s", what);
	char *link = xasprintf("%s/containers/names/%s", o->root, what);
	ssize_t n = readlink(link, id, 64);
	free(link);
	if (n > 0) {
		id[n] = 0;
		return 0;
	}
	int count = 0, found = 0;
	char **ids = state_list(o, &count);
	for (int i = 0; i < count; i++) {
		if (!strncmp(ids[i], what, strlen(what)) && found++ == 0)
			snprintf(id, 65, "%s", ids[i]);
		free(ids[i]);
	}
	free(ids);
	if (found == 1)
		return 0;
	if (found > 1)
		return md_fail(err, "%s: %d containers have an ID starting so: give more of it",
			       what, found);
	return md_fail(err, "no such container: %s (mini-docker ps -a lists them)", what);
}

char **state_list(const struct md_opts *o, int *n)
{
	char *dir = xasprintf("%s/containers", o->root);
	DIR *d = opendir(dir);
	struct dirent *e;
	char **ids = NULL;
	int cap = 0;
	*n = 0;
	free(dir);
	while (d && (e = readdir(d))) {
		if (strlen(e->d_name) != 64 || e->d_name[strspn(e->d_name, "0123456789abcdef")])
			continue;
		if (*n + 1 >= cap) {
			cap = cap ? 2 * cap : 16;
			ids = realloc(ids, cap * sizeof(*ids));
			if (!ids)
				abort();
		}
		ids[(*n)++] = xstrdup(e->d_name);
	}
	if (d)
		closedir(d);
	return ids;
}

json_t *state_load(const struct md_opts *o, const char *id)
{
	char *path = xasprintf("%s/containers/%s/state.json", o->root, id);
	json_t *j = json_load_file(path, 0, NULL);
	free(path);
	if (j && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

json_t *state_open(const struct md_opts *o, const char *what, char id[65], struct md_error *err)
{
	json_t *j = NULL;
	if (state_find(o, what, id, err) == 0 && !(j = state_load(o, id)))
		md_fail(err, "container %s: its state.json is missing or unreadable (rm -f removes it)", what);
	return j;
}

json_t *state_open_said(const struct md_opts *o, const char *what, char id[65])
{
	struct md_error err;
	json_t *j = state_open(o, what, id, &err);
	if (!j)
		fprintf(stderr, "mini-docker: %s\n", err.msg);
	return j;
}

int state_set(const struct md_opts *o, const char *id, struct md_error *err, ...)
{
	va_list ap;
	va_start(ap, err);
	int rc = state_vset(o, id, err, ap);
	va_end(ap);
	return rc;
}

int state_vset(const struct md_opts *o, const char *id, struct md_error *err, va_list ap)
{
	char *dir = xasprintf("%s/containers/%s", o->root, id);
	char *path = xasprintf("%s/state.json", dir);
	int rc = -1;
	/* flock the directory itself: it goes away with the container, lock and all */
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		md_fail_errno(err, "container %.12s", id);
		goto out;
	}
	while (flock(fd, LOCK_EX) < 0 && errno == EINTR)
		;
	struct stat st;
	if (fstat(fd, &st) == 0 && st.st_nlink == 0) {
		/* removed (rm -f) while we waited for the lock: nothing left to record */
		close(fd);
		rc = 0;
		goto out;
	}
	json_t *j = json_load_file(path, 0, NULL);
	if (!json_is_object(j)) {
		json_decref(j);
		j = json_object();
	}
	for (const char *k; (k = va_arg(ap, const char *));) {
		const char *v = va_arg(ap, const char *);
		json_object_set_new(j, k, json_string(v ? v : ""));
	}
	char *text = json_dumps(j, JSON_INDENT(2));
	json_decref(j);
	/*
	 * rename(2) without fsync(2): a reader sees the old record or the new one,
	 * never half of one, but a crash of the machine may lose the last update.
	 * That is fine for runtime state: it describes processes and cgroups that
	 * the crash killed anyway (ps then says dead; rm cleans up), and runc keeps
	 * its state on a tmpfs with no fsync at all. The fsync cost ~0.1-1 ms per
	 * write, several writes per run. What must survive a crash, the images in
	 * the store (store.c, image.c), still goes through write_file_atomic.
	 * The temporary name holds our PID: a thread of ours waits for the lock.
	 */
	rc = write_file_replace(path, text, strlen(text), err);
	if (rc < 0 && (err->errnum == ENOSPC || err->errnum == EDQUOT)) {
		/* the disk is full (the container's writes filled it): the blocks kept for this */
		char *spare = xasprintf("%s/%s", dir, STATE_SPARE);
		if (unlink(spare) == 0)
			rc = write_file_replace(path, text, strlen(text), err);
		free(spare);
	}
	free(text);
	close(fd);
out:
	free(path);
	free(dir);
	return rc;
}

const char *state_str(json_t *j, const char *key)
{
	const char *s = json_string_value(json_object_get(j, key));
	return s ? s : "";
}

void proc_start_time(pid_t pid, char *out, size_t len)
{
	char path[64], buf[1024];
	snprintf(out, len, "0");
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	/* a zombie has finished: it no longer runs, whoever reaps it */
	if (p && p[1] == ' ' && p[2] == 'Z')
		return;
	for (int field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	if (p)
		snprintf(out, len, "%lld", atoll(p + 1));
}

pid_t state_alive(json_t *j, const char *key, const char *start_key)
{
	pid_t pid = atoi(state_str(j, key));
	char now[32];
	if (pid <= 0)
		return 0;
	proc_start_time(pid, now, sizeof(now));
	return strcmp(now, "0") && !strcmp(now, state_str(j, start_key)) ? pid : 0;
}

const char *state_status(json_t *j, pid_t *pid)
{
	const char *s = state_str(j, "status");
	pid_t p = state_alive(j, "pid", "pid_start");
	if (pid)
		*pid = p;
	if (p)
		return "running";
	if (strcmp(s, "running") && strcmp(s, "created"))
		return *s ? s : "created";
	/* the process that runs it: run -d's monitor, or the foreground run (engine_pid) */
	int engine = state_alive(j, "monitor_pid", "monitor_start") || state_alive(j, "engine_pid", "engine_start");
	if (!strcmp(s, "running")) /* with its engine there, it is writing down how it ended; without,
				     * it should run but nobody is there: its engine or monitor was killed */
		return engine ? "exited" : "dead";
	if (engine)
		return "created"; /* being set up */
	return *state_str(j, "monitor_pid") || *state_str(j, "engine_pid") ? "dead" /* killed while setting it up */
									      : "created";
}

void time_now(char *out, size_t len)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(out, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, len - n, ".%09ldZ", ts.tv_nsec);
}

double time_parse(const char *s)
{
	struct tm tm = {0};
	char *rest = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
	if (!rest)
		return 0;
	double frac = *rest == '.' ? strtod(rest, NULL) : 0;
	return (double)timegm(&tm) + frac;
}

void human_duration(double secs, char *out, size_t len)
{
	long s = (long)secs;
	if (s < 1)
		snprintf(out, len, "Less than a second");
	else if (s < 60)
		snprintf(out, len, "%ld second%s", s, s == 1 ? "" : "s");
	else if (s < 120)
		snprintf(out, len, "About a minute");
	else if (s < 3600)
		snprintf(out, len, "%ld minutes", s / 60);
	else if (s < 7200)
		snprintf(out, len, "About an hour");
	else if (s < 48 * 3600)
		snprintf(out, len, "%ld hours", s / 3600);
	else
		snprintf(out, len, "%ld days", s / 86400);
}
