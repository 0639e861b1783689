#!/usr/bin/env bats
# The VM lane itself (vm/run, ./runner --vm): it boots the pinned kernel with
# pure cgroup v2, its job's failures reach the host, a hung VM is killed,
# and it leaves nothing behind but the kernel cache. make check-vm-selftest.
# Each test boots a VM: about 10-30s each under TCG.

bats_require_minimum_version 1.5.0

setup() {
	REPO=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	load ../helpers
	[ "$(id -u)" = 0 ] || skip "requires root"
	command -v qemu-system-x86_64 >/dev/null || skip "requires qemu-system-x86 (make deps)"
	KVER=$(grep -v '^#' "$REPO/vm/kernel-version" | grep -m1 .)
	# the kernel cache, as vm/run finds it (CI runs this file from a copy of the tree)
	CACHE=${VM_CACHE:-$REPO/build/vm}
	OUTDIR=$BATS_TEST_TMPDIR/out
	# vm/run's own temporary files go here: empty again afterwards
	export TMPDIR=$BATS_TEST_TMPDIR/tmp
	mkdir -p "$OUTDIR" "$TMPDIR"
}

teardown() {
	# a qemu left behind names OUTDIR on its command line
	local p
	for p in $(pgrep -f -- "path=$OUTDIR,mount_tag" || true); do kill -9 "$p" 2>/dev/null || true; done
}

# job SCRIPT: the job script, in OUTDIR (the VM mounts its own /tmp)
job() {
	printf '#!/bin/sh\n%s\n' "$1" >"$OUTDIR/job.sh"
	chmod +x "$OUTDIR/job.sh"
}

run_vm() { # run vm/run on the job, bounded
	run --separate-stderr timeout --kill-after=5 "${1:-300}" "$REPO/vm/run" "$OUTDIR/job.sh" "$OUTDIR"
}

expect_nothing_left() {
	local left
	left=$(ls -A "$TMPDIR")
	expect_eq "" "$left" "what vm/run left in TMPDIR" || return 1
	expect_eq "" "$(pgrep -f -- "path=$OUTDIR,mount_tag" || true)" "the qemu processes left running" || return 1
	[ ! -e "$OUTDIR/.vm-status" ] || { echo "expected no OUTDIR/.vm-status left, got one"; return 1; }
}

# How long it takes is make bench's to measure (vm/README.md has the timings):
# here only a hang counts, with room for a loaded 2-CPU machine emulating (TCG).
@test "an empty job boots, runs and powers off (no hang: 180 s at most), leaving only the kernel cache" {
	job 'exit 0'
	start=$SECONDS
	run_vm
	took=$((SECONDS - start))
	expect_status 0 "vm/run to succeed" || return 1
	[ "$took" -lt 180 ] || { echo "expected boot + run + power-off to end (180 s at most), got ${took}s: a hang?"; return 1; }
	expect_nothing_left
	[ -f "$CACHE/kernel-$KVER/boot/vmlinuz-$KVER" ] ||
		{ echo "expected the kernel cache $CACHE/kernel-$KVER to be kept, got nothing"; return 1; }
}

@test "inside: the pinned kernel, cgroup2 alone at /sys/fs/cgroup with cpu memory pids io, no network card" {
	word=$(random_word)
	job "o=$OUTDIR
uname -r >\$o/kernel
stat -fc %T /sys/fs/cgroup >\$o/fstype
grep -c cgroup /proc/mounts >\$o/cgroup-mounts
cat /sys/fs/cgroup/cgroup.subtree_control >\$o/controllers
ls /sys/class/net | tr '\n' ' ' >\$o/links
cat $REPO/vm/kernel-version >\$o/repo-seen
echo $word >$REPO/vm/.vm-lane-write-test && cat $REPO/vm/.vm-lane-write-test >\$o/written
echo $word >\$o/word
id -u >\$o/uid
exit 3"
	run_vm
	expect_status 0 "vm/run to succeed (the job's own status 3 does not matter)" || return 1
	[[ $stderr == *"status 3"* ]] || { echo "expected vm/run to report the job's status 3, got: $stderr"; return 1; }
	expect_eq "$KVER" "$(cat "$OUTDIR/kernel")" "the kernel inside (vm/kernel-version)" || return 1
	expect_eq cgroup2fs "$(cat "$OUTDIR/fstype")" "the filesystem at /sys/fs/cgroup" || return 1
	expect_eq 1 "$(cat "$OUTDIR/cgroup-mounts")" "the number of cgroup mounts (cgroup2 alone, no v1)" || return 1
	for c in cpu memory pids io; do
		expect_match "(^| )$c( |$)" "$(cat "$OUTDIR/controllers")" "the root's cgroup.subtree_control" || return 1
	done
	expect_eq "lo " "$(cat "$OUTDIR/links")" "the network interfaces (no NIC)" || return 1
	expect_eq 0 "$(cat "$OUTDIR/uid")" "the uid of the job" || return 1
	expect_eq "$word" "$(cat "$OUTDIR/word")" "what the job wrote to OUTDIR, seen by the host" || return 1
	cmp -s "$REPO/vm/kernel-version" "$OUTDIR/repo-seen" ||
		{ echo "expected the repo at the same path inside, got a different vm/kernel-version"; return 1; }
	expect_eq "$word" "$(cat "$OUTDIR/written")" "a file written over the repo inside (tmpfs overlay)" || return 1
	[ ! -e "$REPO/vm/.vm-lane-write-test" ] ||
		{ rm -f "$REPO/vm/.vm-lane-write-test"; echo "expected writes outside OUTDIR to stay in the VM, got one on the host"; return 1; }
	expect_nothing_left
}

@test "a repository cloned under /tmp stays visible and writable through the VM's own /tmp" {
	# a copy of vm/ under /tmp is enough: vm/run takes the repository from its own path
	# (the kernel cache stays where it was: VM_CACHE)
	clone=$(mktemp -d /tmp/vm-lane-clone.XXXXXX)
	cp -a "$REPO/vm" "$clone/"
	word=$(random_word)
	echo "$word" >"$clone/marker"
	hostfile=$(mktemp /tmp/vm-lane-host.XXXXXX)
	printf '#!/bin/sh\ncat %s/marker >%s/seen && echo x >%s/written && cat %s/written >%s/rw\n[ -e %s ] && echo seen >%s/tmp || echo absent >%s/tmp\n' \
		"$clone" "$OUTDIR" "$clone" "$clone" "$OUTDIR" "$hostfile" "$OUTDIR" "$OUTDIR" >"$OUTDIR/job.sh"
	chmod +x "$OUTDIR/job.sh"
	run --separate-stderr timeout --kill-after=5 300 env VM_CACHE="$CACHE" \
		"$clone/vm/run" "$OUTDIR/job.sh" "$OUTDIR"
	leaked=no
	[ -e "$clone/written" ] && leaked=yes
	rm -rf "$clone" "$hostfile"
	expect_status 0 "vm/run to succeed" || return 1
	expect_eq "$word" "$(cat "$OUTDIR/seen" 2>/dev/null)" "the marker of the repository under /tmp, read inside" || return 1
	expect_eq x "$(cat "$OUTDIR/rw" 2>/dev/null)" "a file written into that repository inside" || return 1
	expect_eq absent "$(cat "$OUTDIR/tmp" 2>/dev/null)" "another file of the host's /tmp, inside (the VM has its own /tmp)" || return 1
	expect_eq no "$leaked" "a write inside the VM reaching the repository on the host" || return 1
	expect_nothing_left
}

@test "a test that fails inside the VM comes back as a failure (TAP and status)" {
	# true on the host, false in the VM: proves the test ran inside
	# (${t}: bats would take a literal at-test line of this file for its own)
	t=@test
	cat >"$OUTDIR/probe.bats" <<EOF
$t "the kernel is the pinned one" { [ "\$(uname -r)" = "$KVER" ]; }
$t "the kernel is the host's" {
	echo "expected kernel $(uname -r), got \$(uname -r)"
	[ "\$(uname -r)" = "$(uname -r)" ]
}
EOF
	job "cd $OUTDIR && bats --tap probe.bats >$OUTDIR/probe.tap 2>&1; echo \$? >$OUTDIR/probe.rc"
	run_vm
	expect_status 0 "vm/run to succeed: the job ran, its failures are in the TAP" || return 1
	expect_eq 1 "$(cat "$OUTDIR/probe.rc")" "the status of bats inside" || return 1
	tap=$(cat "$OUTDIR/probe.tap")
	[[ $tap == *"ok 1 the kernel is the pinned one"* ]] || { echo "expected 'ok 1' in the TAP, got: $tap"; return 1; }
	[[ $tap == *"not ok 2 the kernel is the host's"* ]] || { echo "expected 'not ok 2' in the TAP, got: $tap"; return 1; }
	[[ $tap == *"expected kernel $(uname -r), got $KVER"* ]] || { echo "expected the failure's message in the TAP, got: $tap"; return 1; }
	expect_nothing_left
}

@test "a VM that hangs is killed at the timeout with a clear message" {
	job 'sleep 600'
	start=$SECONDS
	VM_TIMEOUT=40 run_vm 120
	took=$((SECONDS - start))
	expect_status 124 "vm/run to report a hang" || return 1
	expect_stderr_says "hung" "a message saying the VM hung" || return 1
	expect_stderr_says "killed it" "a message saying it was killed" || return 1
	[ "$took" -lt 60 ] || { echo "expected the kill soon after 40s, got ${took}s"; return 1; }
	expect_nothing_left
}

@test "a VM that dies before the job ends is a failure that says so" {
	job 'echo c >/proc/sysrq-trigger; sleep 600'
	VM_TIMEOUT=120 run_vm 180
	expect_status 1 "vm/run to fail" || return 1
	expect_stderr_says "the VM stopped before the job script ended" "a message naming the failure" || return 1
	expect_stderr_says "Kernel panic" "the last lines of the console" || return 1
	expect_nothing_left
}

@test "bad use: a missing job script is refused before booting" {
	run --separate-stderr "$REPO/vm/run" "$OUTDIR/nothing.sh" "$OUTDIR"
	expect_status 2 "a usage error" || return 1
	expect_stderr_says "no job script" "a message naming the missing script" || return 1
}
