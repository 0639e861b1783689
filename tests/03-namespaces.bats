#!/usr/bin/env bats
# Step 03: namespaces. The command runs as PID 1 of its own PID namespace, in
# its own mount namespace with pivot_root(2) into the rootfs, its own hostname,
# SysV IPC and cgroup root; with --userns (or when box is not root) in a user
# namespace; with --boottime-offset / --monotonic-offset in a time namespace.
# These tests run against the box of step 03 and of every later step.

load helpers
bats_require_minimum_version 1.5.0

setup() {
	require_root
	section "Step 03: namespaces"
	make_rootfs
}

teardown() {
	stop_host_sleeper
	if [ -n "${BG_BOX:-}" ]; then
		kill -9 "$BG_BOX" 2>/dev/null || true
		wait "$BG_BOX" 2>/dev/null || true
		remove_box_cgroups "$BG_BOX"
	fi
	for pid in ${CONTAINER_PIDS:-}; do kill -9 "$pid" 2>/dev/null || true; done
	remove_box_cgroups "${KILLED_BOX:-}"
	if [ -n "${SHM_KEY:-}" ]; then ipcrm -M "$SHM_KEY" 2>/dev/null || true; fi
	if [ -n "${SHARED:-}" ] && mountpoint -q "$SHARED"; then umount -R -l "$SHARED" || true; fi
	if [ -n "${ROOTLESS_DIR:-}" ]; then rm -rf "$ROOTLESS_DIR"; fi
}

# The mount points under DIR in the host's mount table (field 5 of mountinfo).
mounts_under() {
	awk -v dir="$1/" 'index($5, dir) == 1 { print $5 }' /proc/self/mountinfo
}

# A rootfs on a tmpfs of its own, made shared as systemd makes "/": $SHARED/rootfs.
# A box that forgot to make its mounts private would leak mounts here.
make_shared_rootfs() {
	SHARED=$BATS_TEST_TMPDIR/shared
	mkdir -p "$SHARED"
	mount -t tmpfs tmpfs "$SHARED"
	mount --make-shared "$SHARED"
	cp -a "$ROOTFS_SRC" "$SHARED/rootfs"
}

# The host PIDs of a process's children (first level), one a line.
children_of() {
	cat /proc/"$1"/task/*/children 2>/dev/null | tr ' ' '\n' | grep -v '^$' || true
}

# wait_until SECONDS COMMAND...: poll COMMAND every 0.1 s; false after SECONDS.
wait_until() {
	local n=$(($1 * 10))
	shift
	while [ "$n" -gt 0 ]; do
		"$@" && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

is_gone() { ! kill -0 "$1" 2>/dev/null; }

# A directory other users can enter, holding a copy of box and of the rootfs:
# $ROOTLESS_DIR/box and $ROOTLESS_DIR/rootfs (owned by root, readable by all).
make_rootless_dir() {
	ROOTLESS_DIR=$(mktemp -d /tmp/box-rootless.XXXXXX)
	chmod 755 "$ROOTLESS_DIR"
	cp "$BOX" "$ROOTLESS_DIR/box"
	chmod 755 "$ROOTLESS_DIR/box"
	cp -a "$ROOTFS" "$ROOTLESS_DIR/rootfs"
}

require_userns() {
	setpriv --reuid=65534 --regid=65534 --clear-groups unshare --user true 2>/dev/null ||
		skip "requires unprivileged user namespaces"
}

require_timens() {
	[ -e /proc/self/ns/time ] || skip "requires timens"
}

# exercise: 03.1 03.3 03.4 03.5 04.1 04.2 05.4 05.5
@test "the command is PID 1 and ps shows only the container" {
	hint "clone the child with CLONE_NEWPID and mount a fresh /proc inside (unshare --pid --fork --mount-proc)"
	run_box "$ROOTFS" /bin/probe pid
	expect_status 0 "probe pid to run"
	expect_eq "1" "$output" "the PID of the command inside the box"
	run_box "$ROOTFS" /bin/probe pids
	expect_status 0 "probe pids to find processes in the box's /proc"
	expect_eq "1" "$output" "the PIDs visible in /proc (only the command itself)"
	run_box "$ROOTFS" /bin/ps -o pid,comm
	expect_status 0 "ps to run"
	expect_eq "$(printf 'PID   COMMAND\n    1 ps')" "$output" "what ps shows"
}

# exercise: 03.1 03.3 03.4 03.5 04.1 04.2 05.4 05.5
@test "a host process is neither visible nor killable from inside" {
	hint "a new PID namespace: host PIDs do not exist in it, so kill(2) cannot name them"
	start_host_sleeper
	run_box "$ROOTFS" /bin/probe exists "/proc/$HOST_SLEEPER"
	expect_status 1 "host PID $HOST_SLEEPER to be absent from the box's /proc"
	run_box "$ROOTFS" /bin/probe kill "$HOST_SLEEPER"
	expect_status 2 "kill of host PID $HOST_SLEEPER to fail from inside"
	sleep 0.2
	if ! kill -0 "$HOST_SLEEPER" 2>/dev/null; then
		echo "expected host process $HOST_SLEEPER to survive, got it killed from inside the box"
		return 1
	fi
}

# exercise: 03.1 03.3 03.4 03.5 04.1 04.2 05.4 05.5
@test "--hostname sets the hostname inside and leaves the host's alone" {
	hint "CLONE_NEWUTS, then sethostname(2) in the child"
	host_before=$(hostname)
	name=box-$(random_word)
	run_box --hostname "$name" "$ROOTFS" /bin/probe hostname
	expect_status 0 "probe hostname to run"
	expect_eq "$name" "$output" "the hostname inside the box"
	expect_eq "$host_before" "$(hostname)" "the host's hostname after the run"
}

# exercise: 03.1 03.3 03.4 03.5 04.1 04.2 05.4 05.5
@test "without --hostname the hostname is a fresh short id, not the host's" {
	hint "default hostname: a short random id (as docker's container ids), set with sethostname(2)"
	run_box "$ROOTFS" /bin/probe hostname
	expect_status 0 "probe hostname to run"
	first=$output
	expect_ne "$(hostname)" "$first" "the hostname inside the box"
	expect_match '^[a-z0-9-]{1,63}$' "$first" "the default hostname (a short id)"
	run_box "$ROOTFS" /bin/probe hostname
	expect_ne "$first" "$output" "the hostname of a second box (each box gets its own id)"
}

@test "the step 01 chroot escape no longer reaches the host" {
	hint "pivot_root(\".\", \".\") then umount2(\".\", MNT_DETACH): the host's tree is gone from the box's mount namespace"
	secret=$(random_word)
	echo "$secret" >"$BATS_TEST_TMPDIR/secret"
	run_box "$ROOTFS" /bin/escape "$BATS_TEST_TMPDIR/secret"
	expect_ne 0 "$status" "the escape's exit status (it must fail)"
	if [[ $output == *"$secret"* ]]; then
		echo "expected the escape to find nothing, got the host file's content '$secret'"
		return 1
	fi
}

# exercise: 03.1 03.3 03.4 03.5 04.1 04.2 05.4 05.5
@test "each namespace of the box differs from the host's" {
	hint "clone with CLONE_NEWPID, CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC; unshare(CLONE_NEWCGROUP) in the child"
	for ns in pid mnt uts ipc cgroup; do
		run_box "$ROOTFS" /bin/probe ns "$ns"
		expect_status 0 "probe ns $ns to run"
		expect_match "^$ns:\\[[0-9]+\\]$" "$output" "the $ns namespace inside"
		expect_ne "$(readlink /proc/self/ns/$ns)" "$output" "the $ns namespace inside the box (vs the host's)"
	done
}

# exercise: 03.1 03.3 03.4 03.5 04.1 04.2 05.4 05.5
@test "the container sees its own cgroup as /" {
	hint "a cgroup namespace made after the child is in its cgroup: unshare(CLONE_NEWCGROUP)"
	run_box "$ROOTFS" /bin/probe cgroup
	expect_status 0 "probe cgroup to run"
	while IFS= read -r line; do
		expect_eq "/" "${line#*:*:}" "the cgroup path in '$line' (/proc/self/cgroup inside)"
	done <<<"$output"
}

# exercise: 03.1 03.3 03.4 03.5 04.1 04.2 05.4 05.5
@test "a host SysV shared memory segment is not visible inside" {
	hint "CLONE_NEWIPC gives the box its own SysV IPC objects and POSIX message queues"
	SHM_KEY=$((0x10000000 + RANDOM * 32768 + RANDOM))
	"$ROOTFS/bin/probe" shmnew "$SHM_KEY"
	run "$ROOTFS/bin/probe" shm "$SHM_KEY"
	expect_status 0 "the segment $SHM_KEY to be visible on the host"
	run_box "$ROOTFS" /bin/probe shm "$SHM_KEY"
	expect_status 1 "the host's segment $SHM_KEY to be invisible inside the box"
}

# exercise: 03.1 03.3 03.4 03.5 04.1 04.2 05.4 05.5
@test "/dev has the usual nodes, /proc and a read-only /sys" {
	hint "a tmpfs on /dev with null zero full random urandom tty, devpts on /dev/pts, tmpfs on /dev/shm; sysfs mounted ro"
	run_box "$ROOTFS" /bin/sh -c '
		echo x >/dev/null && echo null-ok
		head -c 5 /dev/zero | wc -c
		head -c 5 /dev/urandom | wc -c
		for d in pts shm; do awk -v p=/dev/$d "\$5 == p { print p, \$(NF-2) }" /proc/self/mountinfo; done
		awk "\$5 == \"/sys\" { split(\$6, o, \",\"); print \"sys\", o[1] }" /proc/self/mountinfo'
	expect_status 0 "the checks of /dev and /sys to run"
	expect_eq "$(printf 'null-ok\n5\n5\n/dev/pts devpts\n/dev/shm tmpfs\nsys ro')" "$output" \
		"what /dev/null, /dev/zero, /dev/urandom, the mounts of /dev/pts, /dev/shm and /sys showed"
}

# exercise: 03.1 03.3 03.4 03.5 04.1 04.2 05.4 05.5
@test "the slides' rootfs (busybox alone, no /proc, /sys, /dev): box makes the mount points" {
	hint "mkdir proc, sys and dev inside the rootfs when they are missing (as runc does) before mounting on them"
	make_bare_rootfs
	run_box "$BARE" /busybox sh -c '
		echo $$
		/busybox cat /proc/1/comm
		echo x >/dev/null && echo null-ok
		/busybox awk "\$5 == \"/sys\" { split(\$6, o, \",\"); print \"sys\", o[1] }" /proc/self/mountinfo'
	expect_status 0 "the checks to run in a root that had only /busybox"
	expect_eq "$(printf '1\nbusybox\nnull-ok\nsys ro')" "$output" "the PID, /proc/1/comm, /dev/null and the /sys mount"
	for d in proc sys dev; do
		assert_dir_exists "$BARE/$d"
	done
}

# exercise: 03.1 03.3 04.1 04.2
@test "a mount point that is a symlink (proc -> /) is refused, not followed out of the rootfs" {
	hint "check each mount point with lstat(2): a symlink in the rootfs must not send a mount onto the host's tree"
	rm -rf "$ROOTFS/proc"
	ln -s / "$ROOTFS/proc"
	run_box "$ROOTFS" /bin/true
	expect_status 125 "box's own error for a symlinked /proc"
	expect_stderr_says "symlink" "the error to say proc is a symlink"
}

# exercise: 03.1 03.2 03.3 03.4 03.5 04.1 04.2 05.4 05.5
@test "--userns: root inside, but a file of another host user is nobody and not writable" {
	hint "CLONE_NEWUSER, then box writes /proc/PID/uid_map and gid_map ('0 UID 1'): unmapped owners show as 65534"
	require_userns
	owner=$((20000 + RANDOM))
	echo data >"$ROOTFS/theirs"
	chown "$owner:$owner" "$ROOTFS/theirs"
	chmod 644 "$ROOTFS/theirs"
	run_box --userns "$ROOTFS" /bin/sh -c '
		probe uid
		probe uidmap | awk "{ print \$1, \$2, \$3 }"
		stat -c %u /theirs
		echo x 2>/dev/null >/theirs && echo written || echo denied'
	expect_status 0 "the checks to run with --userns"
	expect_eq "$(printf '0\n0 %s 1\n65534\ndenied' "$(id -u)")" "$output" \
		"uid inside, uid_map, the owner of a file of host uid $owner, and whether root inside may write it"
	run_box --userns "$ROOTFS" /bin/probe ns user
	expect_ne "$(readlink /proc/self/ns/user)" "$output" "the user namespace with --userns (vs the host's)"
}

# exercise: 03.1 03.2 03.3 03.4 03.5 04.1 05.1 05.2 05.3 05.4 05.5 05.6 05.7 05.8 05.9
@test "rootless: box run as uid 65534 works end to end" {
	hint "not root: clone with CLONE_NEWUSER too; the parent writes 'deny' to setgroups, then uid_map/gid_map '0 65534 1'"
	require_userns
	make_rootless_dir
	word=$(random_word)
	echo "$word" >"$ROOTLESS_DIR/rootfs/marker"
	n=$((RANDOM % 50 + 1))
	run --separate-stderr timeout --kill-after=5 "$BOX_TIMEOUT" \
		setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$ROOTLESS_DIR/box" --hostname "r-$word" "$ROOTLESS_DIR/rootfs" /bin/sh -c '
		echo $$
		probe uid
		probe uidmap | awk "{ print \$1, \$2, \$3 }"
		probe hostname
		cat /marker
		stat -c %u /etc/passwd
		ls /root >/dev/null 2>&1 && echo root-listed || echo root-denied
		echo x 2>/dev/null >/etc/passwd && echo passwd-written || echo passwd-denied
		echo x >/dev/null && echo null-ok
		probe pids | head -n 1
		exit "$0"' "$n"
	expect_status "$n" "the command's exit status from a rootless box"
	expect_eq "$(printf '1\n0\n0 65534 1\nr-%s\n%s\n65534\nroot-denied\npasswd-denied\nnull-ok\n1' "$word" "$word")" \
		"$output" "PID of sh, uid, uid_map, hostname, a rootfs file, owner of /etc/passwd, /root, /etc/passwd, /dev/null, /proc"
}

# exercise: 03.1 03.3 03.4 03.5 03.6 04.1 04.2 05.4 05.5
@test "--boottime-offset shifts the uptime the container reads" {
	hint "a time namespace: unshare(CLONE_NEWTIME), 'boottime SECS 0' into /proc/self/timens_offsets, then enter it"
	require_timens
	offset=$((86400 * (RANDOM % 1000 + 1)))
	host_before=$("$ROOTFS/bin/probe" uptime)
	run_box --boottime-offset "$offset" "$ROOTFS" /bin/probe uptime
	host_after=$("$ROOTFS/bin/probe" uptime)
	expect_status 0 "probe uptime with --boottime-offset $offset"
	shift_seen=$((output - host_before))
	if [ "$shift_seen" -lt "$offset" ] || [ "$((output - host_after))" -gt "$((offset + 1))" ]; then
		echo "expected the uptime inside to be the host's + $offset s, got $output (host: $host_before..$host_after)"
		return 1
	fi
	run_box --boottime-offset "$offset" "$ROOTFS" /bin/probe ns time
	expect_ne "$(readlink /proc/self/ns/time)" "$output" "the time namespace with --boottime-offset (vs the host's)"
}

# exercise: 03.1 03.3 03.4 03.5 03.6 04.1 04.2 05.4 05.5
@test "--monotonic-offset shifts CLOCK_MONOTONIC inside" {
	hint "a time namespace: 'monotonic SECS 0' into /proc/self/timens_offsets before any process is inside"
	require_timens
	offset=$((3600 * (RANDOM % 1000 + 1)))
	host_before=$("$ROOTFS/bin/probe" monotonic)
	run_box --monotonic-offset "$offset" "$ROOTFS" /bin/probe monotonic
	host_after=$("$ROOTFS/bin/probe" monotonic)
	expect_status 0 "probe monotonic with --monotonic-offset $offset"
	if [ "$((output - host_before))" -lt "$offset" ] || [ "$((output - host_after))" -gt "$((offset + 1))" ]; then
		echo "expected CLOCK_MONOTONIC inside to be the host's + $offset s, got $output (host: $host_before..$host_after)"
		return 1
	fi
}

# exercise: 03.1 03.3 03.4 03.5 03.6 04.1 04.2 05.4 05.5
@test "-v narrates each offset line box writes, and only those" {
	hint "say() the line written to /proc/self/timens_offsets for each clock given, and nothing for the others"
	require_timens
	offset=$((3600 * (RANDOM % 1000 + 1)))
	run_box -v --monotonic-offset "$offset" "$ROOTFS" /bin/true
	expect_status 0 "box -v --monotonic-offset $offset to run"
	expect_match "\\$ echo 'monotonic $offset 0' > /proc/self/timens_offsets" "$stderr" "the narration of the monotonic line"
	if [[ $stderr == *boottime* ]]; then
		echo "expected no boottime line narrated with --monotonic-offset alone, got: $(grep boottime <<<"$stderr")"
		return 1
	fi
	run_box -v --boottime-offset "$offset" "$ROOTFS" /bin/true
	expect_status 0 "box -v --boottime-offset $offset to run"
	expect_match "\\$ echo 'boottime $offset 0' > /proc/self/timens_offsets" "$stderr" "the narration of the boottime line"
	if [[ $stderr == *monotonic* ]]; then
		echo "expected no monotonic line narrated with --boottime-offset alone, got: $(grep monotonic <<<"$stderr")"
		return 1
	fi
}

# exercise: 03.1 03.2 03.3 03.4 03.5 03.6 04.1 05.1 05.2 05.3 05.4 05.5 05.6 05.7 05.8 05.9
@test "rootless with a time offset: the user namespace owns the time namespace" {
	hint "the child (root in its user namespace) makes the time namespace and writes its own timens_offsets"
	require_userns
	require_timens
	make_rootless_dir
	offset=$((86400 * (RANDOM % 1000 + 1)))
	# the host's uptime before and after the box: the inside's lies between them + offset
	host_before=$("$ROOTFS/bin/probe" uptime)
	run --separate-stderr timeout --kill-after=5 "$BOX_TIMEOUT" \
		setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$ROOTLESS_DIR/box" --boottime-offset "$offset" "$ROOTLESS_DIR/rootfs" /bin/probe uptime
	host_after=$("$ROOTFS/bin/probe" uptime)
	expect_status 0 "a rootless box with --boottime-offset $offset"
	if [ "$((output - host_before))" -lt "$offset" ] || [ "$((output - host_after))" -gt "$((offset + 1))" ]; then
		echo "expected the uptime inside to be the host's + $offset s, got $output (host: $host_before..$host_after)"
		return 1
	fi
}

# exercise: 03.1 03.3 03.4 03.5 04.1 04.2 05.4 05.5
@test "--init: the command is PID 2 under a tiny init, and its exit status comes back" {
	hint "--init: PID 1 forks the command, then waits for it and exits with its status"
	run_box --init "$ROOTFS" /bin/probe pid
	expect_status 0 "the command under --init"
	expect_eq "2" "$output" "the command's PID under --init"
	run_box --init "$ROOTFS" /bin/probe ppid
	expect_eq "1" "$output" "the command's parent under --init (the init, PID 1)"
	n=$((RANDOM % 100 + 1))
	run_box --init "$ROOTFS" /bin/probe exit "$n"
	expect_status "$n" "the command's exit status through the init"
	run_box --init "$ROOTFS" /bin/probe segv
	expect_status 139 "128 + SIGSEGV through the init"
}

# exercise: 03.1 03.3 03.4 03.5 04.1 04.2 05.4 05.5
@test "--init reaps orphaned zombies" {
	hint "orphans of the namespace become PID 1's children: the init must waitpid(-1) for them"
	run_box --init "$ROOTFS" /bin/sh -c '/bin/probe orphans 5 >/dev/null; /bin/probe sleep 1; /bin/probe zombies'
	expect_status 0 "the command under --init"
	expect_eq "0" "$output" "zombies left in the box a second after 5 orphans exited"
}

# exercise: 03.1 03.3 03.4 03.5 04.1 04.2 05.4 05.5
@test "--init passes SIGTERM on to a command that has no handler for it" {
	hint "PID 1 only gets the signals it handles: the init catches SIGTERM and kill(2)s the command with it"
	"$BOX" --init "$ROOTFS" /bin/sleep 300 &
	BG_BOX=$!
	# wait for box -> init -> sleep
	wait_until 10 sh -c "for p in \$(cat /proc/$BG_BOX/task/*/children); do cat /proc/\$p/task/*/children; done | grep -q ." ||
		{ echo "expected the box's command to start within 10 s, got nothing"; return 1; }
	CONTAINER_PIDS=$(children_of "$BG_BOX")
	kill -TERM "$BG_BOX"
	if ! wait_until 10 is_gone "$BG_BOX"; then
		echo "expected box --init to end after SIGTERM, got it still running after 10 s"
		return 1
	fi
	status=0
	wait "$BG_BOX" || status=$?
	BG_BOX=""
	expect_status 143 "128 + SIGTERM from a command ended by the forwarded SIGTERM"
}

# exercise: 03.1 03.3 03.4 03.5 04.1 04.2 05.4 05.5
@test "nothing stays mounted on the host after box exits (even where mounts are shared)" {
	hint "first mount(NULL, \"/\", NULL, MS_REC | MS_PRIVATE, NULL): else mounts propagate to the host and pivot_root refuses"
	make_shared_rootfs
	before=$(mounts_under "$SHARED/rootfs")
	run_box "$SHARED/rootfs" /bin/sh -c 'ls /proc/1 >/dev/null && echo ok'
	expect_status 0 "box to run from a rootfs on a shared mount"
	expect_eq "ok" "$output" "what the command printed"
	expect_eq "$before" "$(mounts_under "$SHARED/rootfs")" "the host's mounts under the rootfs after the run"
}

# exercise: 03.1 03.3 03.4 03.5 04.1 04.2 05.4 05.5
@test "after SIGKILL of box, no container process and no mount is left" {
	hint "prctl(PR_SET_PDEATHSIG, SIGKILL) in the child: when PID 1 dies the kernel ends the whole namespace"
	make_shared_rootfs
	before=$(mounts_under "$SHARED/rootfs")
	"$BOX" "$SHARED/rootfs" /bin/sh -c 'probe sleep 300 & exec probe sleep 300' &
	BG_BOX=$!
	wait_until 10 sh -c "for p in \$(cat /proc/$BG_BOX/task/*/children); do cat /proc/\$p/task/*/children; done | grep -q ." ||
		{ echo "expected the box's command to start within 10 s, got nothing"; return 1; }
	CONTAINER_PIDS=$(children_of "$BG_BOX")
	for p in $CONTAINER_PIDS; do CONTAINER_PIDS="$CONTAINER_PIDS $(children_of "$p")"; done
	kill -9 "$BG_BOX"
	wait "$BG_BOX" 2>/dev/null || true
	KILLED_BOX=$BG_BOX BG_BOX=""
	for p in $CONTAINER_PIDS; do
		if ! wait_until 5 is_gone "$p"; then
			echo "expected container process $p to die with box, got it still running 5 s after SIGKILL of box"
			return 1
		fi
	done
	expect_eq "$before" "$(mounts_under "$SHARED/rootfs")" "the host's mounts under the rootfs after SIGKILL of box"
}

# exercise: 03.1 03.2 03.3 03.4 03.5 04.1 04.2 05.4 05.5
@test "-v narrates clone flags, id maps, mounts and pivot_root with the shell commands" {
	hint "say() each namespace flag (unshare --pid --fork ...), each map write, mount and pivot_root"
	run_box -v --userns "$ROOTFS" /bin/true
	expect_status 0 "box -v --userns to run"
	expect_match "CLONE_NEWPID.*\\$ unshare --pid --fork" "$stderr" "the narration of the PID namespace"
	expect_match "CLONE_NEWUSER.*\\$ unshare --user" "$stderr" "the narration of the user namespace"
	expect_match "uid_map.*\\$ echo '0 $(id -u) 1' > /proc/[0-9]+/uid_map" "$stderr" "the narration of the uid_map write"
	expect_match "gid_map.*\\$ echo '0 $(id -g) 1' > /proc/[0-9]+/gid_map" "$stderr" "the narration of the gid_map write"
	expect_match "\"proc\".*\\$ mount -t proc" "$stderr" "the narration of the /proc mount"
	expect_match "pivot_root.*\\$ pivot_root \\. \\." "$stderr" "the narration of pivot_root"
}
