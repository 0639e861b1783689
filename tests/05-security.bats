#!/usr/bin/env bats
# Step 05, security: what root in a container still may not do. Each test is
# an attack that got through before (issue 17): a mknod'ed disk of the host,
# descriptors the caller had open, a joining exec traced from inside, loose
# --cap-add names, system calls outside Docker's allow-list, a fork bomb
# without a limit. Only --rootfs containers: no registry, so the file runs in
# the VM lane (cgroup v2: the devices eBPF program, pids.max) as well.

bats_require_minimum_version 1.5.0
load helpers

MD=${MINI_DOCKER:-$REPO/steps/05-mini-docker/mini-docker}

setup() {
	require_root
	section "Step 05: mini-docker, run"
	export MINI_DOCKER_ROOT=$BATS_FILE_TMPDIR/store
	CGP=mdsec-$(random_word)
}

teardown() {
	if [ -n "${NAME:-}" ]; then "$MD" rm -f "$NAME" >/dev/null 2>&1 || true; fi
	if [ -n "${LOOP:-}" ]; then losetup -d "$LOOP" 2>/dev/null || true; fi
	find /sys/fs/cgroup -maxdepth 6 -depth -type d -path "*/$CGP*" -exec rmdir {} \; 2>/dev/null || true
}

# md ARGS...: mini-docker (bounded in time); $status, $output, $stderr
md() {
	run --separate-stderr timeout --kill-after=5 "$BOX_TIMEOUT" "$MD" "$@"
	[ "$status" != 124 ] || echo "expected mini-docker to finish within ${BOX_TIMEOUT}s, got a hang (killed it)"
}

# a loop device of the host over a file that starts with $SECRET: $LOOP, $MAJ, $MIN
host_disk() {
	modprobe loop 2>/dev/null || true
	SECRET=s$(random_word)
	{ printf "%s" "$SECRET"; head -c $((65536 - ${#SECRET})) /dev/zero; } >"$BATS_TEST_TMPDIR/disk"
	LOOP=$(losetup -f --show "$BATS_TEST_TMPDIR/disk") || {
		echo "expected a loop device (losetup -f) to play the host's disk, got none"
		return 1
	}
	MAJ=$((0x$(stat -c %t "$LOOP"))) MIN=$((0x$(stat -c %T "$LOOP")))
}

# exercise: 05.4 05.5
@test "devices: container root may mknod a host disk but not open it; --privileged may" {
	hint "devices.c: v1 devices.deny a + devices.allow (runc's list), v2 a BPF_PROG_TYPE_CGROUP_DEVICE program"
	host_disk
	md run --rm --network none --cgroup-parent "$CGP" --rootfs "$ROOTFS_SRC" /bin/sh -c \
		"mknod /dev/disk b $MAJ $MIN && echo made; head -c ${#SECRET} /dev/disk; echo; probe read /dev/null && echo null-ok"
	expect_status 0 "the container's shell"
	expect_eq "made" "${lines[0]}" "mknod of block device $MAJ:$MIN (allowed: 'b *:* m', as runc)" || return 1
	expect_ne "$SECRET" "${lines[1]:-}" "what the container read from the host's disk $LOOP" || return 1
	expect_match "Operation not permitted" "$stderr" "open of the mknod'ed disk refused (EPERM)" || return 1
	expect_eq "null-ok" "${lines[-1]}" "/dev/null (on the allow-list) still opens" || return 1
	md run --rm --network none --cgroup-parent "$CGP" --rootfs "$ROOTFS_SRC" /bin/sh -c \
		"mknod /dev/disk c 1 1 && head -c 1 /dev/disk >/dev/null && echo mem-read"
	expect_ne "mem-read" "$output" "a read of /dev/mem (c 1:1, made with mknod)" || return 1
	md run --rm --privileged --network none --cgroup-parent "$CGP" --rootfs "$ROOTFS_SRC" /bin/sh -c \
		"mknod /dev/disk b $MAJ $MIN && head -c ${#SECRET} /dev/disk"
	expect_eq "$SECRET" "$output" "what --privileged reads from $LOOP (every device, as Docker)"
}

# exercise: 05.4 05.5 05.7 05.8
@test "descriptors: none the caller had open above 2 reaches the container (run, run -d, exec)" {
	hint "close_range(3, ~0U, 0) in the child just before seccomp and execve (ns.c, exec.c), as runc"
	word=$(random_word)
	echo "$word" >"$BATS_TEST_TMPDIR/host-file"
	md run --rm --network none --rootfs "$ROOTFS_SRC" /bin/sh -c 'probe read /proc/self/fd/7; ls /proc/self/fd | tr "\n" " "' 7<"$BATS_TEST_TMPDIR/host-file"
	expect_eq "0 1 2 3 " "$output" "run's descriptors (ls holds 3: /proc/self/fd itself); the host file was fd 7" || return 1
	NAME=sec-$(random_word)
	md run -d --name "$NAME" --network none --rootfs "$ROOTFS_SRC" probe sleep 60 7<"$BATS_TEST_TMPDIR/host-file"
	expect_status 0 "run -d" || return 1
	md exec "$NAME" sh -c 'ls /proc/1/fd | tr "\n" " "'
	expect_eq "0 1 2 " "$output" "the descriptors of run -d's PID 1" || return 1
	md exec "$NAME" sh -c 'probe read /proc/self/fd/7; ls /proc/self/fd | tr "\n" " "' 7<"$BATS_TEST_TMPDIR/host-file"
	expect_eq "0 1 2 3 " "$output" "exec's descriptors; the host file was fd 7"
}

# exercise: 05.1 05.2 05.3 05.4 05.5 05.6 05.7 05.8 05.9
@test "exec: the joining process cannot be traced nor its /proc/PID/exe opened from the container" {
	hint "exec.c: prctl(PR_SET_DUMPABLE, 0) before setns; seccomp loaded before the fork; execve makes it dumpable again"
	NAME=sec-$(random_word)
	md run -d --name "$NAME" --network none --rootfs "$ROOTFS_SRC" probe sleep 60
	expect_status 0 "run -d" || return 1
	md exec "$NAME" probe reach 1
	expect_eq "exe:ok ptrace:ok" "$output" "what container root may do to its own PID 1 (a plain dumpable process)" || return 1
	pause=$BATS_TEST_TMPDIR/pause
	MINI_DOCKER_TEST_PAUSE=exec:$pause timeout 30 "$MD" exec "$NAME" probe pid >"$BATS_TEST_TMPDIR/exec.out" 2>&1 &
	EXEC=$!
	for _ in $(seq 100); do [ -s "$pause" ] && break; sleep 0.1; done
	inside=$(cat "$pause")
	[ -n "$inside" ] || { echo "expected exec to stop at its pause point, got nothing"; return 1; }
	md exec "$NAME" probe reach "$inside"
	local reach=$output
	"$MD" exec "$NAME" kill -CONT "$inside"
	wait "$EXEC"
	expect_eq "$inside" "$(cat "$BATS_TEST_TMPDIR/exec.out")" "the paused exec, once let go, runs its command" || return 1
	expect_eq "exe:EACCES ptrace:EPERM" "$reach" "what container root may do to exec's joining process (PID $inside inside) before its execve"
}

# exercise: 05.4 05.5
@test "--cap-add and --cap-drop take exactly a capability name (case aside, CAP_ or not), or ALL" {
	hint "security.c cap_number: the name must map back to itself (cap_to_name), nothing before or after it"
	for bad in sys_admin2 "sys_admin,net_admin" "SYS_ADMIN " " sys_admin" "cap_" "" "sys_admin=ep"; do
		md run --rm --network none --cap-add "$bad" --rootfs "$ROOTFS_SRC" probe caps
		expect_status 125 "--cap-add '$bad' refused" || return 1
		expect_stderr_says "no such capability" "--cap-add '$bad'" || return 1
		md run --rm --network none --cap-drop "$bad" --rootfs "$ROOTFS_SRC" probe caps
		expect_status 125 "--cap-drop '$bad' refused" || return 1
	done
	[ -z "$(ls "$MINI_DOCKER_ROOT/containers" 2>/dev/null | grep -v names)" ] || { echo "expected no container left by the refused runs, got some"; return 1; }
	for good in sys_admin SYS_ADMIN Cap_Sys_Admin CAP_SYS_ADMIN; do
		md run --rm --network none --cap-drop all --cap-add "$good" --rootfs "$ROOTFS_SRC" probe caps
		expect_eq 0000000000200000 "$output" "CapEff with --cap-drop all --cap-add $good" || return 1
	done
}

# exercise: 05.4 05.5 05.7 05.8
@test "exec keeps an environment value with a newline whole (env is a JSON array in state.json)" {
	hint "lifecycle.c (record_config) writes env as a JSON array; exec.c putenv()s each string of it"
	NAME=sec-$(random_word)
	word=$(random_word)
	md run -d --name "$NAME" --network none -e "A=one
B=$word" --rootfs "$ROOTFS_SRC" probe sleep 60
	expect_status 0 "run -d with a newline in -e A=..." || return 1
	md exec "$NAME" sh -c 'echo "${B:-unset}|$A"'
	expect_eq "unset|one
B=$word" "$output" "exec's B (must not exist) and A (two lines)"
}

# exercise: 05.4 05.5
@test "seccomp: Docker's allow-list; other calls answer EPERM, clone3 ENOSYS, a capability lets its calls in" {
	hint "security.c: seccomp_init(SCMP_ACT_ERRNO(EPERM)), then SCMP_ACT_ALLOW for Docker's list and its per-capability additions"
	md run --rm --network none --rootfs "$ROOTFS_SRC" /bin/sh -c \
		'for c in personality personality-query pidfd_getfd clone3 keyctl mount; do probe try $c; done | tr "\n" " "'
	expect_eq "EPERM ok EPERM ENOSYS EPERM EPERM " "$output" \
		"personality(ADDR_NO_RANDOMIZE), personality(query), pidfd_getfd, clone3, keyctl, mount" || return 1
	md run --rm --network none --cap-add SYS_PTRACE --rootfs "$ROOTFS_SRC" probe try pidfd_getfd
	expect_eq "Bad file descriptor" "$output" "pidfd_getfd with --cap-add SYS_PTRACE (let in: the kernel answers)" || return 1
	md run --rm --network none --security-opt seccomp=unconfined --rootfs "$ROOTFS_SRC" probe try personality
	expect_eq "ok" "$output" "personality(ADDR_NO_RANDOMIZE) with seccomp=unconfined"
}

# pids.max of this test's container, read on the host (v1: the pids hierarchy; v2: the one tree)
pids_max() {
	local f
	f=$(find /sys/fs/cgroup -maxdepth 7 -path "*/$CGP/*/pids.max" 2>/dev/null | head -n1)
	[ -n "$f" ] && cat "$f"
}

# exercise: 05.4 05.5 05.8
@test "pids: 2048 processes at most by default, as podman; --pids-limit -1 lifts it" {
	hint "cgroups.c: write PIDS_DEFAULT to pids.max unless --pids-limit was given; -1 writes nothing"
	NAME=sec-$(random_word)
	md run -d --name "$NAME" --network none --cgroup-parent "$CGP" --rootfs "$ROOTFS_SRC" probe sleep 60
	expect_status 0 "run -d" || return 1
	expect_eq 2048 "$(pids_max)" "pids.max of a container run without --pids-limit" || return 1
	"$MD" rm -f "$NAME" >/dev/null
	md run -d --name "$NAME" --network none --cgroup-parent "$CGP" --pids-limit -1 --rootfs "$ROOTFS_SRC" probe sleep 60
	expect_status 0 "run -d --pids-limit -1" || return 1
	expect_eq max "$(pids_max)" "pids.max with --pids-limit -1" || return 1
	"$MD" rm -f "$NAME" >/dev/null
	md run --rm --network none --pids-limit -2 --rootfs "$ROOTFS_SRC" true
	expect_status 125 "--pids-limit -2 refused"
}

# exercise: 05.4 05.5
@test "the seccomp program is compiled once into ROOT/seccomp and loaded from there; a damaged one is compiled again" {
	hint "security.c seccomp_prepare: the program of Docker's profile for these capabilities, kept as KEY.bpf; the child loads it with seccomp(2)"
	export MINI_DOCKER_ROOT=$BATS_TEST_TMPDIR/store
	try='probe try mount; probe try unshare; grep -E "^Seccomp:" /proc/self/status | cut -f2'
	md run --rm --network none --rootfs "$ROOTFS_SRC" /bin/sh -c "$try"
	expect_eq "$(printf 'EPERM\nEPERM\n2')" "$output" "mount, unshare and the filter mode, the first run (compiled)" || return 1
	bpf=$(ls "$MINI_DOCKER_ROOT"/seccomp/*.bpf)
	[ -n "$bpf" ] || { echo "expected a compiled program in ROOT/seccomp, got none"; return 1; }
	md run --rm --network none --rootfs "$ROOTFS_SRC" /bin/sh -c "$try"
	expect_eq "$(printf 'EPERM\nEPERM\n2')" "$output" "the second run (from the cache)" || return 1
	expect_eq 1 "$(ls "$MINI_DOCKER_ROOT"/seccomp | wc -l)" "programs after two runs with the same capabilities" || return 1
	md run --rm --network none --cap-add SYS_ADMIN --rootfs "$ROOTFS_SRC" probe try unshare
	expect_eq ok "$output" "unshare with CAP_SYS_ADMIN (its own program, which lets the call in)" || return 1
	expect_eq 2 "$(ls "$MINI_DOCKER_ROOT"/seccomp | wc -l)" "programs after a run with other capabilities" || return 1
	# a damaged file (not a whole number of instructions) is not loaded: compiled again
	head -c 7 "$bpf" >"$bpf.x" && mv "$bpf.x" "$bpf"
	md run --rm --network none --rootfs "$ROOTFS_SRC" /bin/sh -c "$try"
	expect_eq "$(printf 'EPERM\nEPERM\n2')" "$output" "the run after the program was damaged" || return 1
	expect_eq 0 "$(( $(stat -c %s "$bpf") % 8 ))" "the size of the program compiled again, in 8-byte instructions"
}
