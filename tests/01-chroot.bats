#!/usr/bin/env bats
# Step 01: what every box promises, from chroot on. These tests run against the
# box of step 01 and of every later step: a later step must keep each promise.
# (chroot's weaknesses, which later steps fix, are in 01-chroot.only.bats.)

load helpers

setup() {
	require_root
	section "Step 01: chroot"
	make_rootfs
}

# exercise: 01.1 02.1 03.1 03.3 03.4 03.5 04.1 04.2 05.4 05.5
@test "the command sees the rootfs as /, not the host's /" {
	hint "chroot(2) into ROOTFS before execvp, then chdir(\"/\")"
	word=$(random_word)
	echo "$word" >"$ROOTFS/marker"
	echo "host" >"$BATS_TEST_TMPDIR/host-only-$word"
	run_box "$ROOTFS" /bin/probe read /marker
	expect_status 0 "probe to read /marker of the rootfs"
	expect_eq "$word" "$output" "/marker inside the box"
	run_box "$ROOTFS" /bin/probe exists "$BATS_TEST_TMPDIR/host-only-$word"
	expect_status 1 "a host file ($BATS_TEST_TMPDIR/host-only-$word) to be absent inside the box"
}

# exercise: 01.1 02.1 03.1 03.3 03.4 03.5 04.1 04.2 05.4 05.5
@test "the command starts in / of the rootfs" {
	hint "after chroot(2), chdir(\"/\"): the old current directory is outside the new root"
	run_box "$ROOTFS" /bin/probe cwd
	expect_status 0 "probe cwd to work"
	expect_eq "/" "$output" "the current directory inside the box"
}

# exercise: 01.1 02.1 03.1 03.3 03.4 03.5 04.1 04.2 05.4 05.5
@test "arguments reach the command unchanged" {
	hint "pass argv from CMD on to execvp(2) as it is"
	word=$(random_word)
	run_box "$ROOTFS" /bin/sh -c 'printf "[%s]" "$@"' sh "a b" "$word" ""
	expect_status 0 "sh -c to run"
	expect_eq "[a b][$word][]" "$output" "the arguments the command received"
}

# exercise: 01.1 02.1 03.1 03.3 03.4 03.5 04.1 04.2 05.4 05.5
@test "the default command is /bin/sh, reading stdin" {
	hint "with no CMD, run /bin/sh; keep stdin connected to the command"
	word=$(random_word)
	run --separate-stderr timeout 20 "$BOX" "$ROOTFS" <<<"echo hello-$word; exit 3"
	expect_status 3 "the shell's exit status"
	expect_eq "hello-$word" "$output" "what /bin/sh printed"
}

# exercise: 01.1 02.1 03.1 03.3 03.4 03.5 04.1 04.2 05.4 05.5
@test "the command's exit status is box's exit status" {
	hint "waitpid(2) the child; WEXITSTATUS(status) becomes box's exit status"
	n=$((RANDOM % 100 + 1))
	run_box "$ROOTFS" /bin/probe exit "$n"
	expect_status "$n" "the command's exit status"
	run_box "$ROOTFS" /bin/true
	expect_status 0 "/bin/true's exit status"
}

# exercise: 01.1 02.1 03.1 03.3 03.4 03.5 04.1 04.2 05.4 05.5
@test "a command killed by signal N gives 128+N" {
	hint "WIFSIGNALED(status): exit with 128 + WTERMSIG(status), as a shell does"
	run_box "$ROOTFS" /bin/probe segv
	expect_status 139 "128 + SIGSEGV (11) for a command that crashed"
}

# exercise: 01.1 02.1 03.1 03.3 03.4 03.5 04.1 04.2 05.4 05.5
@test "a missing command gives 127 and says so" {
	hint "execvp fails with ENOENT: print it and _exit(127)"
	run_box "$ROOTFS" /bin/no-such-command
	expect_status 127 "command not found"
	expect_stderr_says "no-such-command" "the error to name the command"
}

# exercise: 01.1 02.1 03.1 03.3 03.4 03.5 04.1 04.2 05.4 05.5
@test "a command that is not executable gives 126" {
	hint "execvp fails with EACCES: print it and _exit(126)"
	run_box "$ROOTFS" /etc/passwd
	expect_status 126 "a file that cannot be executed"
}

# exercise: 01.1 02.1 03.1 03.3 03.4 03.5 04.1 04.2 05.4 05.5
@test "signals sent to box reach the command" {
	hint "box forwards SIGTERM to the child (a handler that calls kill(child, sig))"
	"$BOX" "$ROOTFS" /bin/probe signal >"$BATS_TEST_TMPDIR/out" 2>&1 &
	pid=$!
	for _ in $(seq 100); do grep -q ready "$BATS_TEST_TMPDIR/out" && break; sleep 0.1; done
	kill -TERM "$pid"
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$pid" 2>/dev/null && { echo "expected box to end after SIGTERM, got it still running"; return 1; }
	wait "$pid" || true
	expect_match "got Terminated" "$(cat "$BATS_TEST_TMPDIR/out")" "what the command saw"
}

@test "a missing rootfs gives a clear error and exit status 125" {
	hint "check that ROOTFS exists and is a directory before anything else"
	run_box "$BATS_TEST_TMPDIR/no-such-dir" /bin/true
	expect_status 125 "box's own error"
	expect_stderr_says "no-such-dir" "the error to name the missing rootfs"
	touch "$BATS_TEST_TMPDIR/a-file"
	run_box "$BATS_TEST_TMPDIR/a-file" /bin/true
	expect_status 125 "box's own error for a rootfs that is a file"
	expect_stderr_says "not a directory" "the error to say the rootfs is not a directory"
}

@test "no arguments: box says what is missing" {
	hint "without ROOTFS, print a usage line and exit 125"
	run_box
	expect_status 125 "box's own error"
	expect_stderr_says "ROOTFS" "the error to say ROOTFS is missing"
}

# exercise: 01.1 02.1 03.1 03.3 03.4 03.5 04.1 04.2 05.4 05.5
@test "-v narrates the system calls with the matching shell commands" {
	hint "-v prints '=> syscall(...)  \$ shell command' lines on stderr"
	run_box -v "$ROOTFS" /bin/probe exit 0
	expect_status 0 "the command to succeed with -v"
	expect_match "=> .*\\$ " "$stderr" "the narration"
	expect_match "execvp" "$stderr" "the narration to name execvp"
}

# exercise: 01.1 02.1 03.1 03.3 03.4 03.5 04.1 04.2 05.4 05.5
@test "the slides' rootfs runs: busybox alone in a directory (mkdir scatola; cp busybox scatola)" {
	hint "a root with only /busybox in it: no /bin, /proc, /sys, /dev or /tmp may be needed to run a command"
	make_bare_rootfs
	word=$(random_word)
	run_box "$BARE" /busybox sh -c 'echo "$0"; /busybox pwd; exit 7' "$word"
	expect_status 7 "the command's exit status from the bare root"
	expect_eq "$(printf '%s\n/' "$word")" "$output" "what the command printed (its argument, then its cwd)"
}
