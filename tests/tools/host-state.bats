#!/usr/bin/env bats
# tests/fixtures/host-state, the list the runner's host-state guard compares
# before and after each test file: what counts as left behind, and what does
# not. Each test works in a mount namespace of its own (unshare -m, private):
# the host's mounts are never changed.

bats_require_minimum_version 1.5.0

setup() {
	REPO=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	[ "$(id -u)" = 0 ] || skip "needs root (ip netns add, unshare -m)"
	NS=hs-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
}

teardown() {
	[ -z "${NS:-}" ] || ip netns del "$NS" 2>/dev/null || true
}

# the first `ip netns add` on a machine binds /run/netns onto itself, and nothing undoes
# that: on a fresh machine the first test file that made a namespace (05-compose) failed the
# guard with "leaked: mount /run/netns" though it deleted its namespace
@test "host-state: the /run/netns mount a first ip netns add makes is not a leak; a namespace left in it is" {
	run --separate-stderr unshare -m --propagation private sh -c '
		umount /run/netns 2>/dev/null
		grep -q " /run/netns " /proc/self/mountinfo && { echo "/run/netns still a mount"; exit 3; }
		before=$(mktemp) after=$(mktemp)
		"$1/tests/fixtures/host-state" >"$before"
		ip netns add "$2" || exit 4
		grep -q " /run/netns " /proc/self/mountinfo || { echo "ip netns add made no /run/netns mount"; exit 5; }
		"$1/tests/fixtures/host-state" >"$after"
		ip netns del "$2"
		comm -13 "$before" "$after"
		rm -f "$before" "$after"' sh "$REPO" "$NS"
	[ "$status" = 0 ] || { echo "expected the check to run, got status $status: $output $stderr"; return 1; }
	[[ $output == *"netns $NS"* ]] || { echo "expected host-state to list the namespace left in /run/netns, got: $output"; return 1; }
	[[ $output != *"mount /run/netns"$'\n'* && $output != *"mount /run/netns" ]] ||
		{ echo "expected host-state to leave out the /run/netns mount itself, got: $output"; return 1; }
}
