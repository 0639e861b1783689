/*
 * monitor.c: run -d, and the per-container monitor (what conmon does for podman).
 *
 *     $ docker run -d nginx              # prints the ID, the container keeps running
 *     $ mini-docker run -d --name web -p 8080:80 IMAGE
 *
 * Docker's CLI asks dockerd to keep the container; if dockerd does not answer
 * (the slides: "e se non risponde?") nothing works, and if it dies its
 * containers are in trouble. mini-docker has no daemon: `run -d` forks a small
 * monitor for this container only, which
 *
 *   - double-forks and calls setsid(2): it is nobody's child and has no
 *     terminal, so it outlives the shell and the command that started it;
 *   - is the container's parent: it clones it (ns.c), waits for it, and records
 *     its exit status in state.json; with --rm it removes the container;
 *   - holds the container's stdout and stderr (two pipes) and writes every line
 *     to ROOT/containers/ID/container.log with a timestamp, as JSON lines in
 *     the format of docker's json-file driver:
 *         {"log":"hello\n","stream":"stdout","time":"2026-11-29T05:20:01.123456789Z"}
 *   - runs the published ports' proxy (ports.c).
 *
 * The starter waits only until the container has started: it prints the
 * engine's messages (and errors) that the monitor passes back over a socket,
 * then the ID, and exits. If the monitor is killed, the container dies too
 * (PR_SET_PDEATHSIG in ns.c): `ps` shows it "dead" and `rm` cleans up.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "container.h"
#include "monitor.h"
#include "narrate.h"
#include "signals.h"
#include "state.h"
#include "util.h"

/* What the monitor holds: run keeps it in run_config (NULL: this process is no monitor). */
struct monitor {
	int out_pipe[2], err_pipe[2]; /* the container's stdout and stderr, read by the log thread */
	int starter;                  /* a socket to the starter, until the container has started */
	int exec_pipe[2];             /* the container holds the write end until its execve */
	int started;
	int log_fd;                   /* ROOT/containers/ID/container.log */
	int tty_fd;                   /* -dt: the pty's master, read instead of the pipes */
	pthread_t log_thread;
	int log_running;
};

/* ---- the starter ---- */

static ssize_t starter_write(void *cookie, const char *buf, size_t len)
{
	struct monitor *m = cookie;
	if (m->starter >= 0)
		(void)!send(m->starter, buf, len, MSG_NOSIGNAL);
	return len;
}

static void starter_wait(int sock, const char *id)
{
	char buf[4096];
	ssize_t n;
	int status = EXIT_ENGINE;
	/* text until a NUL, then the status as one more line: "0" means started */
	char line[32];
	size_t ll = 0;
	int text = 1;
	int done = 0;
	while (!done && ((n = read(sock, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))) {
		for (ssize_t i = 0; i < n && !done; i++) {
			if (text && buf[i] == 0) {
				text = 0;
				continue;
			}
			if (text)
				fputc(buf[i], stderr);
			else if (buf[i] == '\n')
				done = 1;
			else if (ll < sizeof(line) - 1)
				line[ll++] = buf[i];
		}
	}
	line[ll] = 0;
	if (!text && ll)
		status = atoi(line);
	else
		fprintf(stderr, "mini-docker: the monitor of %.12s ended before the container started (killed?): "
				"mini-docker rm %.12s removes what it left\n", id, id);
	fflush(stderr);
	if (status == 0)
		printf("%s\n", id);
	fflush(stdout);
	_exit(status);
}

/* A daemon keeps no file its starter happened to have open (a test runner's pipe, a terminal ...) */
static void keep_only(const struct monitor *m, int sock)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int fds[1024], n = 0;
	while (d && (e = readdir(d)) && n < 1024) {
		int fd = atoi(e->d_name);
		if (fd > 2 && fd != dirfd(d) && fd != sock && fd != m->out_pipe[0] &&
		    fd != m->out_pipe[1] && fd != m->err_pipe[0] && fd != m->err_pipe[1])
			fds[n++] = fd;
	}
	if (d)
		closedir(d);
	for (int i = 0; i < n; i++)
		close(fds[i]);
}

static int big_pipe(int p[2])
{
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	/* what the container writes before the log thread runs waits here: give it room */
	fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
	return 0;
}

int monitor_fork(struct container *c, struct run_config *rc, struct md_error *err)
{
	int sv[2];
	struct monitor *m = xcalloc(1, sizeof(*m));
	*m = (struct monitor){.out_pipe = {-1, -1}, .err_pipe = {-1, -1}, .starter = -1, .exec_pipe = {-1, -1},
			      .log_fd = -1, .tty_fd = -1};
	if (big_pipe(m->out_pipe) < 0 || big_pipe(m->err_pipe) < 0)
		return md_fail_errno(err, "pipe");
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return md_fail_errno(err, "socketpair");
	narrate("fork(), setsid(), fork()",
		"setsid --fork mini-docker-monitor %.12s &  # outlives this shell", c->id);
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0)
		return md_fail_errno(err, "fork the monitor");
	if (pid > 0) { /* the starter */
		signals_restore();
		close(sv[1]);
		close(m->out_pipe[0]), close(m->out_pipe[1]), close(m->err_pipe[0]), close(m->err_pipe[1]);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		starter_wait(sv[0], c->id);
	}
	/* the middle process: a new session, then it leaves: the monitor is re-parented */
	close(sv[0]);
	keep_only(m, sv[1]);
	/* EXERCISE 05.8: the monitor leaves the starter's session (setsid, fork): a closed terminal must not take it along
	 * hint: a daemon's double fork: what ties a process to the terminal it was started from?
	 * more: setsid(2): a new session and process group, with no controlling terminal (`setsid --fork`);
	 * more: then fork() again: the middle process _exit(0)s, so its child, the monitor, is no session
	 * more: leader and can never get a terminal back (fork failing: _exit(EXIT_ENGINE))
	 * tests: 05-lifecycle
	 * stub: dprintf(sv[1], "mini-docker: TODO 05.8: the monitor's own session\n"); _exit(EXIT_ENGINE);
	 */
	setsid();
	pid = fork();
	if (pid < 0)
		_exit(EXIT_ENGINE);
	if (pid > 0)
		_exit(0);
	/* END EXERCISE */

	/*
	 * The monitor: file descriptors 1 and 2 are the container's (the log
	 * thread reads the other ends), but the engine's own messages (-v's
	 * narration, errors, the container's errors before its execve) go to
	 * the starter: stdio's stderr is a stream of its own, over the socket.
	 */
	rc->monitor = m;
	m->starter = sv[1];
	/* from now on this process sets the container up: if it is killed, ps says dead */
	char mpid[16], mstart[32];
	snprintf(mpid, sizeof(mpid), "%d", (int)getpid());
	proc_start_time(getpid(), mstart, sizeof(mstart));
	if (state_set(c->o, c->id, err, "monitor_pid", mpid, "monitor_start", mstart, NULL) < 0)
		return -1;
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0 || dup2(null, 0) < 0 || dup2(m->out_pipe[1], 1) < 0 || dup2(m->err_pipe[1], 2) < 0)
		return md_fail_errno(err, "the monitor's stdio");
	close(null);
	close(m->out_pipe[1]);
	close(m->err_pipe[1]);
	m->out_pipe[1] = m->err_pipe[1] = -1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	FILE *to_starter = fopencookie(m, "w", (cookie_io_functions_t){.write = starter_write});
	if (to_starter) {
		setvbuf(to_starter, NULL, _IONBF, 0);
		stderr = to_starter;
	}
	if (pipe2(m->exec_pipe, O_CLOEXEC) < 0)
		return md_fail_errno(err, "pipe");
	return 0;
}

static void starter_send(struct monitor *m, const void *buf, size_t len)
{
	if (m->starter >= 0)
		(void)!send(m->starter, buf, len,
			    MSG_NOSIGNAL); /* no SIGPIPE if the starter is gone */
}

static void starter_done(struct monitor *m, int status)
{
	char line[32];
	int n = snprintf(line, sizeof(line), "%c%d\n", 0, status);
	fflush(stderr);
	starter_send(m, line, n);
	if (m->starter >= 0)
		close(m->starter);
	m->starter = -1;
	/* the engine's later messages have nobody to read them */
	FILE *null = fopen("/dev/null", "we");
	if (null)
		stderr = null;
}

/* /proc/WHO/comm: the name of the program a process last executed */
static const char *comm_of(const char *who)
{
	static char buf[2][64];
	static int k;
	char path[64];
	char *out = buf[k++ % 2];
	snprintf(path, sizeof(path), "/proc/%.*s/comm", (int)strcspn(who, "/"), who);
	out[0] = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, out, 63);
		out[n > 0 ? n : 0] = 0;
		close(fd);
	}
	return out;
}

/*
 * Until the container's execve: then it cannot fail to start any more. 0 when
 * it runs (or when we cannot tell within MS), else docker's 125/126/127 with
 * which it gave up (its message went to the starter already).
 */
static int wait_exec(struct monitor *m, pid_t pid, int ms)
{
	struct pollfd pf = {.fd = m->exec_pipe[0], .events = POLLIN};
	struct stat self, child;
	char exe[64];
	close(m->exec_pipe[1]);
	m->exec_pipe[1] = -1;
	/* EOF: execve closed its end, or it is exiting; bounded */
	while (poll(&pf, 1, ms) < 0 && errno == EINTR)
		;
	close(m->exec_pipe[0]);
	m->exec_pipe[0] = -1;
	/* still our program (a copy of the monitor) behind /proc/PID/exe, or, once it is a
	 * zombie, still our name in /proc/PID/comm: no execve happened */
	snprintf(exe, sizeof(exe), "/proc/%d/exe", pid);
	if (ms == 0 || stat("/proc/self/exe", &self) < 0)
		return 0;
	if (stat(exe, &child) == 0) {
		if (child.st_dev != self.st_dev || child.st_ino != self.st_ino)
			return 0;
	} else if (strcmp(comm_of("self"), comm_of(exe + 6))) {
		return 0;
	}
	/* it gave up (or is gone): its exit status, without reaping it (WNOWAIT: run.c does) */
	for (int k = 0; k < 200; k++) {
		siginfo_t si = {0};
		if (waitid(P_PID, pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid)
			return si.si_code == CLD_EXITED && si.si_status >= 125 &&
				       si.si_status <= 127
				   ? si.si_status
				   : 0;
		usleep(10000);
	}
	return 0;
}

/* ---- the log ---- */

struct stream {
	int fd;
	const char *name;
	char buf[16384];
	size_t len;
};

/* JSON strings are UTF-8: each invalid byte becomes U+FFFD, as docker's json-file does */
static char *utf8_clean(const char *s, size_t len, size_t *out)
{
	char *buf = xcalloc(1, 3 * len + 1);
	size_t o = 0;
	for (size_t i = 0; i < len;) {
		unsigned char c = s[i];
		size_t n = c < 0x80		? 1
			   : (c & 0xe0) == 0xc0 ? 2
			   : (c & 0xf0) == 0xe0 ? 3
			   : (c & 0xf8) == 0xf0 ? 4
						: 0;
		int ok = n > 0 && i + n <= len && !(n == 2 && c < 0xc2) && !(n == 4 && c > 0xf4);
		for (size_t k = 1; ok && k < n; k++)
			ok = ((unsigned char)s[i + k] & 0xc0) == 0x80;
		if (ok && n == 3) { /* no overlong forms, no surrogates */
			unsigned char d = s[i + 1];
			ok = !(c == 0xe0 && d < 0xa0) && !(c == 0xed && d >= 0xa0);
		}
		if (ok && n == 4) {
			unsigned char d = s[i + 1];
			ok = !(c == 0xf0 && d < 0x90) && !(c == 0xf4 && d >= 0x90);
		}
		if (ok) {
			memcpy(buf + o, s + i, n);
			o += n;
			i += n;
		} else {
			memcpy(buf + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	*out = o;
	return buf;
}

static void log_line(const struct monitor *m, const char *stream, const char *raw, size_t raw_len)
{
	char now[40];
	size_t len;
	char *text = utf8_clean(raw, raw_len, &len);
	time_now(now, sizeof(now));
	json_t *j = json_pack("{s:s%,s:s,s:s}", "log", text, len, "stream", stream, "time", now);
	free(text);
	char *line = j ? json_dumps(j, JSON_COMPACT) : NULL;
	if (line && m->log_fd >= 0) {
		size_t ll = strlen(line);
		line[ll] = '\n'; /* json_dumps's NUL becomes the line's end */
		(void)!write(m->log_fd, line, ll + 1);
		line[ll] = 0;
	}
	free(line);
	json_decref(j);
}

/* Whole lines become entries; a line longer than the buffer is cut, as docker cuts at 16 KiB. */
static void stream_flush(const struct monitor *m, struct stream *s, int all)
{
	size_t start = 0;
	for (size_t i = 0; i < s->len; i++)
		if (s->buf[i] == '\n') {
			log_line(m, s->name, s->buf + start, i + 1 - start);
			start = i + 1;
		}
	if (start < s->len && (all || (start == 0 && s->len == sizeof(s->buf)))) {
		log_line(m, s->name, s->buf + start, s->len - start);
		start = s->len;
	}
	memmove(s->buf, s->buf + start, s->len - start);
	s->len -= start;
}

static void *log_loop(void *arg)
{
	const struct monitor *m = arg;
	struct stream st[2] = {{.fd = m->tty_fd >= 0 ? m->tty_fd : m->out_pipe[0], .name = "stdout"},
			       {.fd = m->tty_fd >= 0 ? -1 : m->err_pipe[0], .name = "stderr"}};
	for (;;) {
		struct pollfd pf[2] = {{.fd = st[0].fd, .events = POLLIN},
				       {.fd = st[1].fd, .events = POLLIN}};
		if (st[0].fd < 0 && st[1].fd < 0)
			break;
		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int k = 0; k < 2; k++) {
			if (!pf[k].revents)
				continue;
			struct stream *s = &st[k];
			ssize_t n = read(s->fd, s->buf + s->len, sizeof(s->buf) - s->len);
			if (n <=
			    0) { /* EOF: every process holding this end is gone (EIO: a pty's) */
				if (n < 0 && errno == EINTR)
					continue;
				stream_flush(m, s, 1);
				s->fd = -1;
				continue;
			}
			s->len += n;
			stream_flush(m, s, 0);
		}
	}
	return NULL;
}

/* ---- run's hooks ---- */

void monitor_started(struct container *c, struct run_config *rc, pid_t pid)
{
	struct md_error err;
	char now[40], mpid[32], mstart[32];
	struct monitor *m = rc->monitor;
	if (!m)
		return;
	char *log = xasprintf("%s/container.log", c->dir);
	m->log_fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	time_now(now, sizeof(now));
	snprintf(mpid, sizeof(mpid), "%d", getpid());
	proc_start_time(getpid(), mstart, sizeof(mstart));
	if (state_set(c->o, c->id, &err, "monitor_pid", mpid, "monitor_start", mstart, "log_path",
		      log, NULL) < 0)
		fprintf(stderr, "mini-docker: %s\n", err.msg);
	free(log);
	(void)now;
	if (rc->tty) { /* -dt: the log thread reads the pty, not run's pty_pump */
		m->tty_fd = c->master;
		c->master = -1;
	}
	/* from here on fds 1 and 2 are only the container's: EOF on the pipes means it is gone */
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	dup2(null, 1);
	dup2(null, 2);
	close(null);
	m->started = 1;
	/* with --init, PID 1 never calls execve: nothing to wait for */
	starter_done(m, wait_exec(m, pid, rc->init ? 0 : 2000));
	if (pthread_create(&m->log_thread, NULL, log_loop, m) == 0)
		m->log_running = 1;
}

void monitor_end(struct monitor *m, int status)
{
	if (!m)
		return;
	if (!m->started) { /* the container never ran: the starter has shown why; it exits with the status */
		starter_done(m, status ? status : EXIT_ENGINE);
		return;
	}
	if (m->log_running) {
		/* the container is gone, and the PID namespace with it: EOF comes; still, bound the wait */
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 5;
		if (pthread_timedjoin_np(m->log_thread, NULL, &until) != 0)
			pthread_cancel(m->log_thread);
		m->log_running = 0;
	}
	if (m->log_fd >= 0)
		close(m->log_fd);
	m->log_fd = -1;
}
