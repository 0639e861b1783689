# Helpers shared by every tests/NN-*.bats file: `load helpers` at the top.
#
# The runner sets:
#   BOX         the box program under test (step N's, or a later step's)
#   BOX_STEP    the number of the step that box belongs to (01, 02 ...)
#   REPO        the project's top directory
#   ROOTFS_SRC  the busybox rootfs built by make (never modified by tests)
# A failing test prints, in the learner's words, what it expected and what it
# got ("expected PID 1 inside the container, got 2179"), a hint, and the
# WORKSHOP.md section to read: the runner shows those lines.
#
# A test names the exercises it grades on a comment line above its @test
# ("# exercise: 02.1 02.3"): ./runner 02.1 runs those tests, a failure names
# the exercise. Tag the tests that fail with the exercise stripped
# (scripts/check-exercises fails when an exercise has none, or a name is none).

bats_load_library bats-support
bats_load_library bats-assert
bats_load_library bats-file

: "${REPO:=$(cd "$BATS_TEST_DIRNAME/.." && pwd)}"
: "${ROOTFS_SRC:=$REPO/build/rootfs}"
: "${BOX_STEP:=01}"
: "${BOX:=$REPO/steps/01-chroot/box}"
# one box run may take this long before the test calls it hung
: "${BOX_TIMEOUT:=30}"

# read: WORKSHOP.md section for every failure of this file (set once per file)
section() {
	echo "read: WORKSHOP.md, section \"$*\""
}

# hint: what to look at when this test fails
hint() {
	echo "hint: $*"
}

require_root() {
	[ "$(id -u)" = 0 ] || skip "requires root"
}

# true when the box under test comes from step $1 or later
box_at_least() {
	[ "$((10#$BOX_STEP))" -ge "$((10#$1))" ]
}

# A fresh copy of the busybox rootfs for this test: $ROOTFS.
make_rootfs() {
	[ -d "$ROOTFS_SRC/bin" ] || {
		echo "expected the test rootfs in $ROOTFS_SRC, got nothing: run make"
		return 1
	}
	ROOTFS=$BATS_TEST_TMPDIR/rootfs
	cp -a "$ROOTFS_SRC" "$ROOTFS"
}

# The slides' rootfs: `mkdir scatola; cp busybox scatola`, the static busybox of
# the test rootfs alone, with no /proc, /sys, /dev, /tmp or /bin: $BARE.
make_bare_rootfs() {
	[ -x "$ROOTFS_SRC/bin/busybox" ] || {
		echo "expected the test rootfs in $ROOTFS_SRC, got nothing: run make"
		return 1
	}
	BARE=$BATS_TEST_TMPDIR/scatola
	mkdir "$BARE"
	cp "$ROOTFS_SRC/bin/busybox" "$BARE/"
}

# require_mini_runc: what every test of mini-runc needs (tests/05-runc.bats,
# tests/05-containerd.bats): root, the section to read, and mini-runc built ($MR)
require_mini_runc() {
	require_root
	section "Docker, Podman, LXC, systemd-nspawn and the OCI"
	[ -x "$MR" ] || {
		echo "expected $MR: run make"
		return 1
	}
}

# A random word, so no answer can be hard-coded.
random_word() {
	od -An -N6 -tx1 /dev/urandom | tr -d ' \n'
}

# remove_cgroups CG: the cgroup CG (a test's own, near a hierarchy's root) and what
# a tool made below it, in every hierarchy, deepest first; a cgroup whose last
# process is still being reaped is busy for a moment
remove_cgroups() {
	local left
	[ -n "$1" ] || return 0 # (an empty name would match every cgroup)
	for _ in $(seq 50); do
		find /sys/fs/cgroup -maxdepth 10 -depth -type d -path "*/$1*" -exec rmdir {} \; 2>/dev/null
		left=$(find /sys/fs/cgroup -maxdepth 3 -type d -name "$1")
		[ -z "$left" ] && return 0
		sleep 0.2
	done
	echo "expected the test's cgroups to go, got: $left"
	return 1
}

# run_box ARGS...: run the box under test (bounded in time); sets $status,
# $output (stdout) and $stderr.
run_box() {
	run --separate-stderr timeout --kill-after=5 "$BOX_TIMEOUT" "$BOX" "$@"
	if [ "$status" = 124 ]; then
		echo "expected box to finish within ${BOX_TIMEOUT}s, got a hang (killed it)"
	fi
}

# Print what a run produced, for the log of a failure.
show_run() {
	echo "--- stdout of the run:"
	printf '%s\n' "$output"
	echo "--- stderr of the run:"
	printf '%s\n' "${stderr:-}"
}

# expect_status N WHAT: the last run exited with N.
expect_status() {
	if [ "$status" != "$1" ]; then
		echo "expected $2 (exit status $1), got exit status $status"
		show_run
		return 1
	fi
}

# quoted TEXT: 'TEXT', or bash's $'...' when it has a newline or a control
# character: a failure's message stays on the one line the runner shows
quoted() {
	if [[ $1 == *[[:cntrl:]]* ]]; then printf '%q' "$1"; else printf "'%s'" "$1"; fi
}

# expect_eq EXPECTED ACTUAL WHAT
expect_eq() {
	if [ "$1" != "$2" ]; then
		echo "expected $3 to be $(quoted "$1"), got $(quoted "$2")"
		return 1
	fi
}

# expect_ne UNWANTED ACTUAL WHAT
expect_ne() {
	if [ "$1" = "$2" ]; then
		echo "expected $3 to differ from $(quoted "$1"), got the same"
		return 1
	fi
}

# expect_match REGEX TEXT WHAT
expect_match() {
	if ! [[ $2 =~ $1 ]]; then
		echo "expected $3 to match /$1/, got $(quoted "$2")"
		return 1
	fi
}

# expect_stderr_says SUBSTRING WHAT: box's error message names the problem.
expect_stderr_says() {
	if [[ ${stderr:-} != *"$1"* ]]; then
		echo "expected $2: an error mentioning '$1', got $(quoted "${stderr:-}")"
		return 1
	fi
}

# A host process to aim at: started outside any box, killed at teardown.
start_host_sleeper() {
	sleep 300 &
	HOST_SLEEPER=$!
}

stop_host_sleeper() {
	if [ -n "${HOST_SLEEPER:-}" ]; then
		kill -9 "$HOST_SLEEPER" 2>/dev/null || true
		wait "$HOST_SLEEPER" 2>/dev/null || true
	fi
}

# cgroup_mode: v2 when /sys/fs/cgroup is the unified hierarchy (cgroup2fs),
# v1 otherwise (hybrid or legacy hosts: cpu, memory, pids on v1 hierarchies).
cgroup_mode() {
	if [ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ]; then
		echo v2
	else
		echo v1
	fi
}

# remove_box_cgroups PID...: a box killed with SIGKILL cannot remove its cgroup
# (box names it after its own PID: .../box/PID in each hierarchy, .../mini-docker/PID
# for mini-docker). Once the container's processes are gone, rmdir it, so the next
# box with a recycled PID finds no stale cgroup and the host is left clean.
remove_box_cgroups() {
	local pid d
	for pid in "$@"; do
		[ -n "$pid" ] || continue
		for d in $(find /sys/fs/cgroup -maxdepth 7 -type d \( -path "*/box/$pid" -o -path "*/mini-docker/$pid" \) 2>/dev/null); do
			for _ in $(seq 50); do
				rmdir "$d" 2>/dev/null && break
				sleep 0.1
			done
		done
	done
}

# set_process BUNDLE PYTHON: change an OCI bundle's config.json (a dict "c"), its process ("p")
set_process() {
	python3 -c 'import json, sys
c = json.load(open(sys.argv[1])); p = c["process"]
exec(sys.argv[2])
json.dump(c, open(sys.argv[1], "w"), indent=2)' "$1/config.json" "$2"
}
