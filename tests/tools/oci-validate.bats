#!/usr/bin/env bats
# scripts/oci-validate: runtime-tools' validation programs against runc and mini-runc,
# side by side. What it prints, its floor, and the host it leaves: runc's run of
# linux_ns_itype (no mount namespace) mounts proc, sys and dev into its bundle in the
# host's mount namespace and leaves them there, and the cgroups programs leave the
# parents of their cgroupsPath; the script takes both away.

setup() {
	REPO=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	[ -x "$REPO/steps/05-mini-docker/mini-runc" ] || make -s -C "$REPO" all >/dev/null
}

# what a run could leave: mounts, the programs' temp dirs, the cgroups programs' parents
host_state() {
	awk '{ print "mount " $5 }' /proc/self/mountinfo
	ls -d "${TMPDIR:-/tmp}"/oci-validate.* "${TMPDIR:-/tmp}"/ocitest* 2>/dev/null | sed 's/^/tmp /'
	ls -d /sys/fs/cgroup/{,*/}{testdir,cgrouptest} 2>/dev/null | sed 's/^/cgroup /'
}

@test "oci-validate runs each program against runc and mini-runc side by side, and leaves the host as it found it" {
	host_state | sort >"$BATS_TEST_TMPDIR/before"
	run timeout 900 "$REPO/scripts/oci-validate" linux_ns_itype linux_cgroups_relative_pids
	host_state | sort >"$BATS_TEST_TMPDIR/after"
	[ "$status" = 0 ] || { echo "expected status 0 (no floor asked), got $status: $output"; false; }
	# runc passes both here; mini-runc refuses a container without a mount namespace
	[[ $output =~ linux_ns_itype\ +pass\ [0-9]+/[0-9]+\ +fail ]] ||
		{ echo "expected linux_ns_itype: runc pass, mini-runc fail, got: $output"; false; }
	[[ $output =~ linux_cgroups_relative_pids\ +pass\ [0-9/]+\ +pass ]] ||
		{ echo "expected linux_cgroups_relative_pids to pass under both, got: $output"; false; }
	[[ $output == *"programs passed: runc 2, mini-runc 1 (of 2)"* ]] ||
		{ echo "expected the counts side by side, got: $output"; false; }
	left=$(comm -13 "$BATS_TEST_TMPDIR/before" "$BATS_TEST_TMPDIR/after")
	[ -z "$left" ] || { echo "expected nothing left on the host, got:"; echo "$left"; false; }
}

@test "oci-validate --min N fails below N, naming the count and the floor; at or above it passes" {
	run timeout 600 "$REPO/scripts/oci-validate" --mini-only --min 1 linux_ns_itype
	[ "$status" = 1 ] || { echo "expected status 1 below the floor, got $status: $output"; false; }
	[[ $output == *"mini-runc passed 0 programs, fewer than the floor 1"* ]] ||
		{ echo "expected the count and the floor named, got: $output"; false; }
	run timeout 600 "$REPO/scripts/oci-validate" --mini-only --min 1 state
	[ "$status" = 0 ] || { echo "expected status 0 at the floor, got $status: $output"; false; }
	[[ $output == *"at or above the floor 1"* ]] || { echo "expected the floor met, got: $output"; false; }
}
