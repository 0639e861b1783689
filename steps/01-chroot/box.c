/*
 * box, step 01: chroot
 *
 * The oldest idea behind containers (Unix V7, 1979): change what "/" means
 * for a process. The talk does it by hand:
 *
 *     $ mkdir scatola
 *     $ cp /usr/bin/busybox scatola
 *     $ sudo chroot scatola /busybox ash
 *
 * box does the same with two system calls, chroot(2) and chdir(2), in a child
 * process, and waits for it. Only the filesystem is isolated: the command
 * still sees the host's processes (if it had a /proc), can kill them, shares
 * the network, the hostname, and everything else. Try it, then break out with
 * tests/fixtures/escape.c: the next steps close those holes one by one.
 *
 * Usage: box [-v] ROOTFS [CMD [ARG...]]      (CMD defaults to /bin/sh)
 */
/*
 * Contents, in the order main() runs them:
 *   parse_args(), check_rootfs()  the command line
 *   setup_signals()               kill and Ctrl-C reach the command
 *   fork(), child()               the lesson: chroot(2), chdir("/") (exercise 01.1), execvp
 *   wait_for()                    the command's exit status becomes box's
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* box's own failures exit 125, as docker run does; 126/127/128+N are the command's */
#define EXIT_BOX 125

struct config {
	int verbose;
	const char *rootfs;
	char **argv; /* the command to run inside */
};

static int verbose;
static volatile pid_t child_pid;

/* Print "box: MESSAGE" (with %m for errno) and exit: the single-file steps stop at the first error. */
static void die(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	fputs("box: ", stderr);
	va_start(ap, fmt);
	errno = saved;
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EXIT_BOX);
}

/*
 * -v narrates each kernel operation next to the shell command that does the same:
 *     => chroot("rootfs")                          $ chroot rootfs
 * Both formats take the same arguments, from the first.
 */
static void say(const char *call, const char *shell, ...)
{
	char buf[512];
	va_list ap, again;
	if (!verbose)
		return;
	va_start(ap, shell);
	va_copy(again, ap);
	vsnprintf(buf, sizeof(buf), call, ap);
	fprintf(stderr, "=> %-44s", buf);
	vsnprintf(buf, sizeof(buf), shell, again);
	va_end(again);
	va_end(ap);
	fprintf(stderr, " $ %s\n", buf);
}

static void usage(FILE *out, int status)
{
	fprintf(out, "usage: box [-v] ROOTFS [CMD [ARG...]]\n"
		     "\n"
		     "Run CMD (default /bin/sh) with ROOTFS as its root directory.\n"
		     "\n"
		     "  -v, --verbose   narrate each system call with the matching shell command\n"
		     "  -h, --help      show this help\n");
	exit(status);
}

static struct config parse_args(int argc, char **argv)
{
	static char *default_cmd[] = {"/bin/sh", NULL};
	static const struct option options[] = {
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct config cfg = {0};
	int opt;

	/* "+": stop at ROOTFS, so options of CMD stay CMD's */
	while ((opt = getopt_long(argc, argv, "+vh", options, NULL)) != -1) {
		switch (opt) {
		case 'v':
			cfg.verbose = 1;
			break;
		case 'h':
			usage(stdout, 0);
			break;
		default:
			usage(stderr, EXIT_BOX);
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "box: missing ROOTFS: give the directory to use as /, e.g. "
				"sudo box build/rootfs /bin/sh\n");
		exit(EXIT_BOX);
	}
	cfg.rootfs = argv[optind++];
	cfg.argv = optind < argc ? &argv[optind] : default_cmd;
	return cfg;
}

static void check_rootfs(const char *rootfs)
{
	struct stat st;
	if (stat(rootfs, &st) < 0)
		die("rootfs %s: %m: give a directory holding a root filesystem (make builds "
		    "one in build/rootfs)",
		    rootfs);
	if (!S_ISDIR(st.st_mode))
		die("rootfs %s is not a directory", rootfs);
}

/* Runs in the child: enter the rootfs, then become the command. */
static void child(const struct config *cfg)
{
	/* Ctrl-C and Ctrl-\ are the command's to handle, not ignored as in box */
	signal(SIGINT, SIG_DFL);
	signal(SIGQUIT, SIG_DFL);

	say("chroot(\"%s\")", "chroot %s", cfg->rootfs);
	/* EXERCISE 01.1: make ROOTFS the root directory: chroot(2), then chdir("/")
	 * hint: chroot(2) changes what "/" means; where is the current directory after it?
	 * more: chroot(cfg->rootfs), then chdir("/"): chroot alone leaves the current directory outside the
	 * more: new root, and the escape climbs out from there. Each call that fails: die() with the call,
	 * more: the path and %m (EPERM: not root). The chroot line of -v is said just above.
	 * stub: die("TODO 01.1: chroot(2) into %s is not written yet", cfg->rootfs);
	 */
	if (chroot(cfg->rootfs) < 0)
		die("chroot(%s): %m%s", cfg->rootfs,
		    errno == EPERM ? " (chroot needs root: run box with sudo)" : "");
	say("chdir(\"/\")", "cd /");
	if (chdir("/") < 0)
		die("chdir(/) inside %s: %m", cfg->rootfs);
	/* END EXERCISE */

	say("execvp(\"%s\", ...)", "exec %s", cfg->argv[0]);
	execvp(cfg->argv[0], cfg->argv);
	/* exit statuses as a shell's: 127 not found, 126 found but not executable */
	fprintf(stderr, "box: %s: %s (inside %s)\n", cfg->argv[0], strerror(errno), cfg->rootfs);
	_exit(errno == ENOENT || errno == ENOTDIR ? 127 : 126);
}

/* Signals sent to box (kill PID-OF-BOX) are passed on to the command. */
static void forward_signal(int sig)
{
	if (child_pid > 0)
		kill(child_pid, sig);
}

static void setup_signals(void)
{
	static const int forwarded[] = {SIGTERM, SIGHUP, SIGUSR1, SIGUSR2};
	struct sigaction sa = {.sa_handler = forward_signal, .sa_flags = SA_RESTART};
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaction(forwarded[i], &sa, NULL);
	/* the terminal sends Ctrl-C to the whole foreground group: the command gets it itself */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
}

/* Wait for the command; its exit status becomes box's (128+N when killed by signal N). */
static int wait_for(pid_t pid)
{
	int status;
	say("waitpid(%d)", "wait %d", pid);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die("waitpid(%d): %m", pid);
	if (WIFSIGNALED(status)) {
		say("command killed by signal %d (%s)", "echo $?  # 128+%d", WTERMSIG(status),
		    strsignal(WTERMSIG(status)));
		return 128 + WTERMSIG(status);
	}
	say("command exited with status %d", "echo $?  # %d", WEXITSTATUS(status));
	return WEXITSTATUS(status);
}

int main(int argc, char **argv)
{
	struct config cfg = parse_args(argc, argv);
	verbose = cfg.verbose;
	if (geteuid() != 0)
		die("chroot(2) needs root (CAP_SYS_CHROOT): run sudo %s", argv[0]);
	check_rootfs(cfg.rootfs);

	setup_signals();
	say("fork()", "(a new process for the command)");
	pid_t pid = fork();
	if (pid < 0)
		die("fork: %m");
	if (pid == 0)
		child(&cfg);
	child_pid = pid;
	return wait_for(pid);
}
