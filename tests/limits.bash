# What the box of steps 03 and 04 does not protect against: root in the box
# keeps every capability of the host and runs without a seccomp filter, so it
# still reaches the host through the kernel (a file handle, a device node, a
# host-wide sysctl), and a box killed with SIGKILL leaves its cgroups behind.
# tests/03-limits.only.bats and tests/04-limits.only.bats run these against
# their own step's box only; step 05 (tests/05-run.bats) closes the escape.
# Needs helpers.bash and a $ROOTFS (make_rootfs).

limits_teardown() {
	if [ -n "${BG_BOX:-}" ]; then
		kill -9 "$BG_BOX" 2>/dev/null || true
		wait "$BG_BOX" 2>/dev/null || true
		remove_box_cgroups "$BG_BOX"
	fi
	remove_box_cgroups "${KILLED_BOX:-}"
	if [ -n "${LOOPDEV:-}" ]; then losetup -d "$LOOPDEV" 2>/dev/null || true; fi
	if [ -n "${SYSCTL_WAS:-}" ]; then echo "$SYSCTL_WAS" >/proc/sys/kernel/printk_ratelimit_burst || true; fi
	if [ -n "${ROOTLESS_DIR:-}" ]; then rm -rf "$ROOTLESS_DIR"; fi
}

# require_ext4 DIR: the handle escape forges the handle of an ext2/3/4 root
# directory (inode 2, generation 0): DIR, where the container's root and the
# secret live, must be on such a file system.
require_ext4() {
	local t
	t=$(stat -fc %T "$1")
	[ "$t" = ext2/ext3 ] || skip "requires the test's files on ext2/3/4 (the escape forges ext4's root handle); $1 is on $t"
}

# fs_path FILE: FILE's path from the root of the file system that holds it
# (what open_by_handle_at reaches from that file system's root directory).
fs_path() {
	local fsroot target
	read -r fsroot target < <(findmnt -n -o FSROOT,TARGET -T "$1")
	echo "${fsroot%/}/${1#"${target%/}"/}"
}

# wait_for SECONDS COMMAND...: poll COMMAND every 0.1 s; false after SECONDS.
wait_for() {
	local n=$(($1 * 10))
	shift
	while [ "$n" -gt 0 ]; do
		"$@" && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

require_userns() {
	setpriv --reuid=65534 --regid=65534 --clear-groups unshare --user true 2>/dev/null ||
		skip "requires unprivileged user namespaces"
}

# the cgroups of the box whose PID is $1, in every hierarchy
cgroups_of_box() {
	find /sys/fs/cgroup -maxdepth 7 -type d -path "*/box/$1" 2>/dev/null | sort
}

# the processes in the cgroups of the box whose PID is $1
procs_in_box_cgroups() {
	local d
	for d in $(cgroups_of_box "$1"); do cat "$d/cgroup.procs" 2>/dev/null; done
}

limits_handle_escape() {
	hint "box keeps root's capabilities (CAP_DAC_READ_SEARCH) and has no seccomp: that is step 05's lesson, not a bug of this step"
	require_ext4 "$BATS_TEST_TMPDIR"
	secret=$(random_word)
	echo "$secret" >"$BATS_TEST_TMPDIR/secret"
	chmod 600 "$BATS_TEST_TMPDIR/secret"
	run_box "$ROOTFS" /bin/escape --handle "$(fs_path "$BATS_TEST_TMPDIR/secret")"
	expect_status 0 "the open_by_handle_at escape to succeed as root in the box" || return 1
	expect_eq "$secret" "$output" "the host file read through a forged handle (it is outside the box's root)"
}

limits_handle_escape_rootless() {
	hint "in a user namespace of its own, root's capabilities do not count for a handle outside the container's mount"
	require_userns
	ROOTLESS_DIR=$(mktemp -d /tmp/box-rootless.XXXXXX)
	chmod 755 "$ROOTLESS_DIR"
	require_ext4 "$ROOTLESS_DIR"
	cp "$BOX" "$ROOTLESS_DIR/box"
	chmod 755 "$ROOTLESS_DIR/box"
	cp -a "$ROOTFS" "$ROOTLESS_DIR/rootfs"
	secret=$(random_word)
	# readable by anyone: only the handle check can stop the escape
	echo "$secret" >"$ROOTLESS_DIR/secret"
	chmod 644 "$ROOTLESS_DIR/secret"
	path=$(fs_path "$ROOTLESS_DIR/secret")
	run --separate-stderr timeout --kill-after=5 "$BOX_TIMEOUT" \
		setpriv --reuid=65534 --regid=65534 --clear-groups "$ROOTLESS_DIR/box" "$ROOTLESS_DIR/rootfs" /bin/escape --handle "$path"
	expect_ne 0 "$status" "the escape's exit status in a rootless box (it must fail)"
	[[ $output != *"$secret"* ]] || { echo "expected the rootless escape to read nothing, got the host file's content '$secret'"; return 1; }
	expect_stderr_says "open_by_handle_at" "the escape to get as far as open_by_handle_at and be refused there" || return 1
	# root running box --userns: the same user namespace, the same refusal
	run_box --userns "$ROOTFS" /bin/escape --handle "$(fs_path "$ROOTLESS_DIR/secret")"
	expect_ne 0 "$status" "the escape's exit status with box --userns (it must fail)"
	[[ $output != *"$secret"* ]] || { echo "expected the escape with --userns to read nothing, got '$secret'"; return 1; }
}

limits_mknod_host_disk() {
	hint "box keeps CAP_MKNOD and knows no device allow-list: mini-docker's device rules are step 05's"
	{ command -v losetup >/dev/null && [ -e /dev/loop-control ]; } || skip "requires loop devices (losetup, /dev/loop-control)"
	secret=$(random_word)
	{ echo "$secret"; head -c 65536 /dev/zero; } >"$BATS_TEST_TMPDIR/disk.img"
	LOOPDEV=$(losetup -f --show "$BATS_TEST_TMPDIR/disk.img") || skip "requires a free loop device"
	read -r major minor < <(stat -c '%t %T' "$LOOPDEV")
	run_box "$ROOTFS" /bin/sh -c "mknod /tmp/disk b $((16#$major)) $((16#$minor)) && head -n 1 /tmp/disk"
	expect_status 0 "mknod of the host's block device $LOOPDEV and a read of it from inside" || return 1
	expect_eq "$secret" "$output" "the first line of the host's disk $LOOPDEV read from inside the box"
}

limits_host_sysctl() {
	hint "box mounts a fresh /proc read-write and keeps CAP_SYS_ADMIN: kernel.* sysctls are the host's (net.* belong to the network namespace)"
	SYSCTL_WAS=$(cat /proc/sys/kernel/printk_ratelimit_burst)
	value=$((SYSCTL_WAS + RANDOM % 50 + 1))
	run_box "$ROOTFS" /bin/sh -c "echo $value >/proc/sys/kernel/printk_ratelimit_burst"
	expect_status 0 "a write to /proc/sys/kernel/printk_ratelimit_burst from inside" || return 1
	expect_eq "$value" "$(cat /proc/sys/kernel/printk_ratelimit_burst)" "the host's kernel.printk_ratelimit_burst after the box wrote $value"
}

# box_started PID: box PID made its cgroups and started its command
box_started() {
	[ -n "$(cgroups_of_box "$1")" ] && [ -n "$(cat /proc/"$1"/task/*/children 2>/dev/null)" ]
}

# box_cgroups_empty PID: no process is left in the cgroups of box PID
box_cgroups_empty() {
	[ -z "$(procs_in_box_cgroups "$1")" ]
}

limits_sigkill_leaves_cgroups() {
	hint "nothing runs after SIGKILL: box cannot rmdir its cgroups; the next box with that PID reuses them, make clean-state removes them"
	"$BOX" --pids-limit 10 "$ROOTFS" /bin/probe sleep 300 &
	BG_BOX=$!
	wait_for 10 box_started "$BG_BOX" ||
		{ echo "expected box $BG_BOX to make its cgroups and start its command within 10 s, got nothing"; return 1; }
	pid=$BG_BOX
	kill -9 "$pid"
	wait "$pid" 2>/dev/null || true
	BG_BOX=""
	KILLED_BOX=$pid # (teardown removes its cgroups whatever happens)
	wait_for 5 box_cgroups_empty "$pid" ||
		{ echo "expected the container to die with box (PR_SET_PDEATHSIG), got processes $(procs_in_box_cgroups "$pid")"; return 1; }
	left=$(cgroups_of_box "$pid")
	if [ -z "$left" ]; then
		echo "expected the cgroups of box $pid to stay after SIGKILL, got none: box now cleans them up; update WORKSHOP.md (make clean-state)"
		return 1
	fi
	# a dry run: the real one would also take what other boxes on this machine hold
	run --separate-stderr "$REPO/scripts/clean-state" -n --force
	for d in $left; do
		[[ $output == *"rmdir $d"* ]] ||
			{ echo "expected make clean-state to remove $d, got: $output"; return 1; }
	done
}
