/*
 * timeit.c: run several commands side by side, in rounds, and report each
 * one's wall time (median, min, max), CPU time and peak RSS as JSON.
 *
 *   timeit [-w WARMUP] [-r RUNS] [-l LOG] SPEC > results.json
 *
 * Why not hyperfine: on a loaded machine the load changes while a benchmark
 * runs. hyperfine runs all runs of A, then all of B; here every round runs
 * each command once (rotating who goes first), so a burst of load hits all
 * of them alike and the ratios between them stay meaningful. It also execs
 * the command directly (no shell in the timed part), gives each run a fresh
 * number {n} (a fresh container id for crun and runc), reads the peak RSS
 * from wait4(2), and can enter a prepared mount namespace first (below).
 *
 * SPEC: blocks separated by a blank line, one key per line:
 *   name crun run          the row's name
 *   prep rm -rf /x/{n}     untimed, before each run: sh -c STRING
 *   ns cgroup1             run it in the "peer" mount namespace (below)
 *   arg /usr/bin/crun      argv, one argument per line ... or:
 *   sh STRING              run STRING with bash -c (set -o pipefail)
 * In prep, arg and sh, {n} becomes a number that is new for every run.
 *
 * The peer mount namespace: crun 1.8 refuses a host with hybrid cgroups (v1
 * controllers + an empty cgroup2 at /sys/fs/cgroup/unified). At start-up a
 * child makes a new mount namespace (unshare(2) CLONE_NEWNS), makes every
 * mount private so nothing leaks out, unmounts /sys/fs/cgroup/unified there,
 * and we keep /proc/CHILD/ns/mnt open. A row with `ns cgroup1` does setns(2)
 * into it after fork, every other row does setns(2) into our own namespace:
 * the same few microseconds for every row. The host is never changed.
 *
 * A command that exits non-zero stops everything with exit 1 and its output
 * (make bench-smoke must fail when a script breaks; timings never fail it).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_BENCH 32
#define MAX_ARGS 64
#define MAX_RUNS 1000

struct bench {
	char *name, *prep, *sh;
	char *args[MAX_ARGS + 1];
	int nargs, peer_ns;
	double wall[MAX_RUNS], cpu[MAX_RUNS];
	long maxrss_kb;
	int runs;
};

static struct bench B[MAX_BENCH];
static int nb;
static unsigned long counter;
static const char *logpath = "/dev/null";
static int own_ns = -1, peer_ns = -1;

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "timeit: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static void read_spec(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		die("cannot open %s: %m", path);
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	struct bench *b = NULL;
	while ((len = getline(&line, &cap, f)) >= 0) {
		if (len && line[len - 1] == '\n')
			line[--len] = 0;
		if (!len) {
			b = NULL;
			continue;
		}
		char *val = strchr(line, ' ');
		val = val ? (*val = 0, val + 1) : line + len;
		if (!b) {
			if (nb == MAX_BENCH)
				die("more than %d benchmarks", MAX_BENCH);
			b = &B[nb++];
		}
		if (!strcmp(line, "name"))
			b->name = strdup(val);
		else if (!strcmp(line, "prep"))
			b->prep = strdup(val);
		else if (!strcmp(line, "sh"))
			b->sh = strdup(val);
		else if (!strcmp(line, "ns"))
			b->peer_ns = !strcmp(val, "cgroup1");
		else if (!strcmp(line, "arg") && b->nargs < MAX_ARGS)
			b->args[b->nargs++] = strdup(val);
		else
			die("%s: unknown key '%s' (or too many args)", path, line);
	}
	free(line);
	fclose(f);
	for (int i = 0; i < nb; i++)
		if (!B[i].name || (!B[i].sh && !B[i].nargs))
			die("%s: block %d needs a name and an arg or sh line", path, i + 1);
}

/* STRING with every {n} replaced by N */
static char *subst(const char *s, unsigned long n)
{
	char num[32];
	int nl = snprintf(num, sizeof(num), "%lu", n);
	size_t cap = strlen(s) * (size_t)nl + 1, o = 0;
	char *out = malloc(cap);
	if (!out)
		die("out of memory");
	for (; *s; s++) {
		if (!strncmp(s, "{n}", 3)) {
			memcpy(out + o, num, nl);
			o += nl;
			s += 2;
		} else
			out[o++] = *s;
	}
	out[o] = 0;
	return out;
}

/* the peer mount namespace: see the top of the file */
static void make_peer_ns(void)
{
	own_ns = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
	if (own_ns < 0)
		die("open /proc/self/ns/mnt: %m");
	int p[2];
	if (pipe(p))
		die("pipe: %m");
	pid_t pid = fork();
	if (pid < 0)
		die("fork: %m");
	if (pid == 0) {
		char ok = 'n';
		if (!unshare(CLONE_NEWNS) && !mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) {
			if (!umount2("/sys/fs/cgroup/unified", MNT_DETACH) || errno == EINVAL || errno == ENOENT)
				ok = 'y';
		}
		if (write(p[1], &ok, 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(p[1]);
	char ok = 0;
	if (read(p[0], &ok, 1) != 1 || ok != 'y')
		die("could not make a mount namespace without /sys/fs/cgroup/unified (are we root?)");
	close(p[0]);
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", pid);
	peer_ns = open(path, O_RDONLY | O_CLOEXEC);
	if (peer_ns < 0)
		die("open %s: %m", path);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static int sh(const char *cmd)
{
	pid_t pid = fork();
	if (pid < 0)
		die("fork: %m");
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	int st;
	if (waitpid(pid, &st, 0) < 0)
		die("waitpid: %m");
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static double ts(const struct timespec *t)
{
	return t->tv_sec + t->tv_nsec / 1e9;
}

static void show_log(void)
{
	FILE *f = fopen(logpath, "r");
	if (!f)
		return;
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, stderr);
	fclose(f);
}

/* one run of B[i]; record it unless it is a warm-up */
static void run(struct bench *b, int record)
{
	unsigned long n = ++counter;
	if (b->prep) {
		char *p = subst(b->prep, n);
		if (sh(p))
			die("%s: prep failed: %s", b->name, p);
		free(p);
	}
	char *argv[MAX_ARGS + 1];
	if (b->sh) {
		char *cmd = subst(b->sh, n);
		if (asprintf(&argv[2], "set -o pipefail; %s", cmd) < 0)
			die("out of memory");
		free(cmd);
		argv[0] = "bash";
		argv[1] = "-c";
		argv[3] = NULL;
	} else {
		for (int k = 0; k < b->nargs; k++)
			argv[k] = subst(b->args[k], n);
		argv[b->nargs] = NULL;
	}
	int out = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0)
		die("open %s: %m", logpath);

	struct timespec t0, t1;
	struct rusage ru;
	int st;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid_t pid = fork();
	if (pid < 0)
		die("fork: %m");
	if (pid == 0) {
		if (setns(b->peer_ns ? peer_ns : own_ns, CLONE_NEWNS))
			_exit(126);
		dup2(out, 1);
		dup2(out, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (wait4(pid, &st, 0, &ru) < 0)
		die("wait4: %m");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	close(out);

	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "timeit: %s failed (%s %d); its output:\n", b->name,
			WIFEXITED(st) ? "exit" : "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
		show_log();
		exit(1);
	}
	if (record && b->runs < MAX_RUNS) {
		b->wall[b->runs] = ts(&t1) - ts(&t0);
		b->cpu[b->runs] = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
				  ru.ru_stime.tv_usec / 1e6;
		b->runs++;
	}
	if (record && ru.ru_maxrss > b->maxrss_kb)
		b->maxrss_kb = ru.ru_maxrss;
	if (b->sh)
		free(argv[2]);
	else
		for (int k = 0; k < b->nargs; k++)
			free(argv[k]);
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	double s[MAX_RUNS];
	memcpy(s, v, n * sizeof(double));
	qsort(s, n, sizeof(double), cmp);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

int main(int argc, char **argv)
{
	int warmup = 2, runs = 10, opt;
	while ((opt = getopt(argc, argv, "w:r:l:")) != -1) {
		if (opt == 'w')
			warmup = atoi(optarg);
		else if (opt == 'r')
			runs = atoi(optarg);
		else if (opt == 'l')
			logpath = optarg;
		else
			die("usage: timeit [-w WARMUP] [-r RUNS] [-l LOG] SPEC");
	}
	if (optind != argc - 1 || runs < 1 || runs > MAX_RUNS || warmup < 0)
		die("usage: timeit [-w WARMUP] [-r RUNS(1..%d)] [-l LOG] SPEC", MAX_RUNS);
	read_spec(argv[optind]);
	make_peer_ns();

	/* rounds: each command once per round, the first one rotating */
	int tty = isatty(2);
	for (int r = 0; r < warmup + runs; r++) {
		for (int k = 0; k < nb; k++) {
			struct bench *b = &B[(r + k) % nb];
			if (tty)
				fprintf(stderr, "\r  round %d/%d%s: %-40.40s", r + 1, warmup + runs,
					r < warmup ? " (warm-up)" : "", b->name);
			run(b, r >= warmup);
		}
	}
	if (tty)
		fprintf(stderr, "\r%70s\r", "");

	printf("[");
	for (int i = 0; i < nb; i++) {
		struct bench *b = &B[i];
		double mn = b->wall[0], mx = b->wall[0];
		for (int k = 1; k < b->runs; k++) {
			mn = b->wall[k] < mn ? b->wall[k] : mn;
			mx = b->wall[k] > mx ? b->wall[k] : mx;
		}
		printf("%s\n {\"name\": ", i ? "," : "");
		json_str(b->name);
		printf(", \"runs\": %d, \"median\": %.6f, \"min\": %.6f, \"max\": %.6f, \"cpu_median\": %.6f, "
		       "\"maxrss_kb\": %ld, \"peer_ns\": %s, \"wall\": [",
		       b->runs, median(b->wall, b->runs), mn, mx, median(b->cpu, b->runs), b->maxrss_kb,
		       b->peer_ns ? "true" : "false");
		for (int k = 0; k < b->runs; k++)
			printf("%s%.6f", k ? ", " : "", b->wall[k]);
		printf("]}");
	}
	printf("\n]\n");
	return 0;
}
