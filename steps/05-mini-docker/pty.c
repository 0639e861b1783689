/*
 * pty.c: -t, a terminal for the container (docker run -it alpine).
 *
 * A shell wants a terminal: line editing, Ctrl-C, job control, a window size.
 * The container gets a pseudo-terminal of its own devpts (/dev/pts/0, also
 * bind-mounted on /dev/console, as runc does): the child opens it, sends the
 * master end to the engine over a unix socket (SCM_RIGHTS, runc's
 * --console-socket), and makes the slave its controlling terminal. The engine
 * copies bytes between its own terminal and the master, with its terminal in
 * raw mode (the keys go to the container's line discipline, not ours),
 * forwards window size changes (SIGWINCH -> TIOCSWINSZ), and restores the
 * terminal on every way out.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "mounts.h"
#include "narrate.h"
#include "pty.h"

/* in the child, cwd = the container's root with its /dev mounted: a pty of its devpts, the
 * master sent over SOCK (SCM_RIGHTS, runc's --console-socket); returns the slave, *N its number */
int pty_open_send(int sock, int *n, const struct winsize *size)
{
	int master = open("dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	int unlock = 0;
	if (master < 0)
		child_die("open /dev/pts/ptmx: %m");
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0 || ioctl(master, TIOCGPTN, n) < 0)
		child_die("unlockpt: %m");
	/* the slave through the master: no path to trust (TIOCGPTPEER, Linux 4.13) */
	int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0)
		child_die("open the pty's slave: %m");
	/* the size before the engine has the master: no window where the program sees 0x0 */
	if (size) {
		narrate("ioctl(TIOCSWINSZ, %dx%d)", "stty rows %d cols %d # the size it starts with (consoleSize)",
			size->ws_row, size->ws_col);
		if (ioctl(slave, TIOCSWINSZ, size) < 0)
			child_die("set the pty's size (consoleSize): %m");
	}

	/* the master goes to the engine, as a file descriptor over the socket */
	char data = 'm';
	struct iovec iov = {.iov_base = &data, .iov_len = 1};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &master, sizeof(int));
	narrate("sendmsg(SCM_RIGHTS, pty master)", "# the master end of /dev/pts/%d goes to the engine", *n);
	if (sendmsg(sock, &msg, 0) < 0)
		child_die("send the pty to the engine: %m");
	close(master);
	return slave;
}

/* in the child, cwd = the rootfs with its /dev mounted: the pty, also on /dev/console; returns the slave */
int pty_child_open(int sock, const struct winsize *size)
{
	int n, slave = pty_open_send(sock, &n, size);
	char path[64], shell[128];
	snprintf(path, sizeof(path), "dev/pts/%d", n);
	int fd = open("dev/console", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		child_die("create /dev/console: %m");
	close(fd);
	snprintf(shell, sizeof(shell), "mount --bind /%s /dev/console", path);
	mount_or_die(path, "dev/console", NULL, MS_BIND, NULL, shell);
	return slave;
}

/* in the child: a new session whose controlling terminal is the slave, on 0, 1, 2 */
void pty_child_attach(int slave)
{
	narrate("setsid(); ioctl(TIOCSCTTY)", "setsid --ctty");
	if (setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) < 0)
		child_die("make the pty the controlling terminal: %m");
	for (int fd = 0; fd < 3; fd++)
		if (dup2(slave, fd) < 0)
			child_die("dup2(pty, %d): %m", fd);
	if (slave > 2)
		close(slave);
}

int pty_receive(int sock, struct md_error *err)
{
	char data;
	struct iovec iov = {.iov_base = &data, .iov_len = 1};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
	ssize_t n;
	while ((n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	struct cmsghdr *cm = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL;
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return md_fail(err, "the container did not send its terminal (it failed to start: see above)");
	int fd;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

static struct termios saved_tio;
static int raw_on;
static volatile sig_atomic_t winch;

void pty_restore(void)
{
	if (raw_on) {
		tcsetattr(0, TCSADRAIN, &saved_tio);
		raw_on = 0;
	}
}

static void on_winch(int sig)
{
	(void)sig;
	winch = 1;
}

int pty_our_size(struct winsize *size)
{
	return ioctl(0, TIOCGWINSZ, size) == 0 && size->ws_row && size->ws_col;
}

static void copy_winsize(int master)
{
	struct winsize ws;
	if (pty_our_size(&ws) && ioctl(master, TIOCSWINSZ, &ws) == 0)
		narrate("ioctl(TIOCSWINSZ, %dx%d)", "stty rows %d cols %d", ws.ws_row, ws.ws_col);
}

static int write_all(int fd, const char *buf, ssize_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, buf, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		buf += w;
		n -= w;
	}
	return 0;
}

/* Copy stdin -> master (with -i) and master -> stdout until the container's side closes. */
void pty_pump(int master, int interactive, pid_t child)
{
	char buf[8192];
	int in_open = interactive;
	(void)child;
	if (isatty(0)) {
		if (tcgetattr(0, &saved_tio) == 0) {
			struct termios raw = saved_tio;
			cfmakeraw(&raw);
			if (tcsetattr(0, TCSADRAIN, &raw) == 0) {
				raw_on = 1;
				atexit(pty_restore);
			}
		}
		struct sigaction sa = {.sa_handler = on_winch};
		sigemptyset(&sa.sa_mask);
		sigaction(SIGWINCH, &sa, NULL);
		copy_winsize(master);
	}
	for (;;) {
		struct pollfd p[2] = {{.fd = master, .events = POLLIN}, {.fd = in_open ? 0 : -1, .events = POLLIN}};
		if (winch) {
			winch = 0;
			copy_winsize(master);
		}
		int r = poll(p, 2, -1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = read(master, buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) /* EIO: every slave fd is closed, the container is gone */
				break;
			if (write_all(1, buf, n) < 0)
				break;
		}
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = read(0, buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				/* end of our input: the terminal's end-of-file to the container (Ctrl-D) */
				char eof = 4;
				write_all(master, &eof, 1);
				in_open = 0;
				continue;
			}
			if (write_all(master, buf, n) < 0)
				in_open = 0;
		}
	}
	close(master);
	pty_restore();
}
