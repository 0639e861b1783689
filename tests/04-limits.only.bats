#!/usr/bin/env bats
# Where step 04's isolation ends. Namespaces and pivot_root change what root in
# the box sees, not what it may do: it keeps every capability of the host and
# runs without a seccomp filter. These tests show the kernel's doors it still
# opens (tests/limits.bash); step 05 closes them, so they run against step
# 04's box only.

load helpers
load limits
bats_require_minimum_version 1.5.0

setup() {
	require_root
	section "Step 04: network namespaces"
	make_rootfs
}

teardown() {
	limits_teardown
}

# exercise: 04.1 04.2
@test "root in the box reads a host file outside its root through open_by_handle_at (shocker)" {
	limits_handle_escape
}

# exercise: 04.1
@test "a rootless box (and box --userns) cannot: the escape is refused" {
	limits_handle_escape_rootless
}

# exercise: 04.1 04.2
@test "root in the box makes a device node of a host disk and reads it" {
	limits_mknod_host_disk
}

# exercise: 04.1 04.2
@test "root in the box changes a host-wide sysctl" {
	limits_host_sysctl
}

# exercise: 04.1
@test "a box killed with SIGKILL leaves its cgroups behind; make clean-state removes them" {
	limits_sigkill_leaves_cgroups
}
