#!/usr/bin/env bats
# Step 01's lesson: chroot isolates the filesystem and nothing else. These tests
# describe chroot's weaknesses; step 03 turns each into its opposite, so they
# run against step 01's box only.

load helpers

setup() {
	require_root
	section "Step 01: chroot"
	make_rootfs
}

teardown() {
	stop_host_sleeper
}

# exercise: 01.1
@test "ps shows nothing: there is no /proc inside the chroot" {
	hint "box must not mount /proc in step 01: the talk's point is that ps is empty"
	run_box "$ROOTFS" /bin/ps
	expect_status 0 "ps to run"
	expect_eq "PID   USER     COMMAND" "$output" "ps's output (a header, no process)"
	run_box "$ROOTFS" /bin/probe pids
	expect_status 3 "probe pids to find no process in an empty /proc"
}

# exercise: 01.1
@test "a host process can still be killed from inside: only the filesystem is isolated" {
	hint "chroot does not hide processes: kill(2) takes any PID of the host"
	start_host_sleeper
	run_box "$ROOTFS" /bin/probe kill "$HOST_SLEEPER"
	expect_status 0 "kill of host PID $HOST_SLEEPER to succeed from inside"
	# bash reaps its child when SIGCHLD comes: on a busy machine that takes a moment
	for _ in $(seq 50); do kill -0 "$HOST_SLEEPER" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$HOST_SLEEPER" 2>/dev/null; then
		echo "expected host process $HOST_SLEEPER to be dead, got it still running 5 s after the kill"
		return 1
	fi
}

# exercise: 01.1
@test "the classic chroot escape reads a file of the host" {
	hint "the escape: chroot into a subdirectory, walk .. from outside the root, chroot(\".\")"
	secret=$(random_word)
	echo "$secret" >"$BATS_TEST_TMPDIR/secret"
	run_box "$ROOTFS" /bin/escape "$BATS_TEST_TMPDIR/secret"
	expect_status 0 "the escape to succeed under chroot"
	expect_eq "$secret" "$output" "the host file read by the escape"
}

# exercise: 01.1
@test "the hostname is still the host's" {
	hint "chroot does not touch the UTS namespace"
	run_box "$ROOTFS" /bin/probe hostname
	expect_status 0 "probe hostname"
	expect_eq "$(hostname)" "$output" "the hostname inside the chroot"
}

@test "not root: one clear line saying chroot needs root" {
	hint "check geteuid() first and say: run with sudo"
	dir=$(mktemp -d /tmp/box-nobody.XXXXXX)
	chmod 755 "$dir"
	cp "$BOX" "$dir/box"
	run --separate-stderr setpriv --reuid=65534 --regid=65534 --clear-groups "$dir/box" "$ROOTFS" /bin/true
	rm -rf "$dir"
	expect_status 125 "box's own error"
	expect_stderr_says "root" "the error to say that root is needed"
}

@test "-v names chroot(2) and the shell command of the slides" {
	hint "say(\"chroot(...)\", \"chroot ...\") before calling chroot"
	run_box -v "$ROOTFS" /bin/true
	expect_match "chroot\\(\"$ROOTFS\"\\).*\\$ chroot $ROOTFS" "$stderr" "the narration of chroot"
}
