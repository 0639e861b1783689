#!/usr/bin/env bats
# Step 05, mini-runc driven by containerd: the engine under Kubernetes' kubelet
# calls an OCI runtime binary through its shim (containerd-shim-runc-v2), which
# runs `RUNTIME --root R --log L --log-format json create --bundle B --pid-file P
# ID`, then start, state, kill, delete. `ctr run --runc-binary` names the binary.
#
# The file starts a containerd of its own: config, root, state and socket in
# its temp dir, no CRI plugin, the native snapshotter (a copy of the layers, no
# overlay mount to leave behind), a containerd namespace of its own (the
# container's cgroups go under /NS/ID in each hierarchy) and mini-runc's state
# and the stdio fifos in the temp dir too (--runc-root, --fifo-dir). The image
# is the test image, pushed to a registry on 127.0.0.1 and pulled with
# `ctr images pull --plain-http`. The last test stops containerd and checks
# that nothing is left: processes, cgroups, shim sockets.

bats_require_minimum_version 1.5.0
load helpers
load fixtures/registry

MR=${MINI_RUNC:-$REPO/steps/05-mini-docker/mini-runc}

# containerd-shim-runc-v2 (containerd 1.6) puts its socket in /run/containerd/s, whatever the state dir
SHIM_SOCKETS=/run/containerd/s

setup_file() {
	[ "$(id -u)" = 0 ] || return 0
	for t in containerd ctr containerd-shim-runc-v2; do command -v "$t" >/dev/null || return 0; done
	serve_test_image
	# a unix socket's path has at most 107 bytes: a short directory of its own
	export CTRD NS
	NS=mrctrd-$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
	CTRD=$(mktemp -d "${TMPDIR:-/tmp}/ctrd.XXXXXX")
	[ -e /run/containerd ] || touch "$CTRD/made-run-containerd"
	cat >"$CTRD/config.toml" <<-EOF
		version = 2
		root = "$CTRD/root"
		state = "$CTRD/state"
		# no Kubernetes CRI, no /opt/containerd, no tracing; only the native snapshotter
		disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.internal.v1.opt",
		  "io.containerd.tracing.processor.v1.otlp", "io.containerd.snapshotter.v1.aufs",
		  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper",
		  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.overlayfs"]
		[grpc]
		  address = "$CTRD/sock"
		[ttrpc]
		  address = "$CTRD/sock.ttrpc"
		[debug]
		  address = ""
		[metrics]
		  address = ""
	EOF
	containerd --config "$CTRD/config.toml" --root "$CTRD/root" --state "$CTRD/state" \
		--address "$CTRD/sock" >"$CTRD/containerd.log" 2>&1 3>&- &
	echo $! >"$CTRD/pid"
	for _ in $(seq 100); do
		ctr -a "$CTRD/sock" version >/dev/null 2>&1 && break
		sleep 0.1
	done
}

# stop_containerd: what is left of this file's containers, the shims it started, containerd
stop_containerd() {
	[ -n "${CTRD:-}" ] && [ -d "$CTRD" ] || return 0
	local c pid
	pid=$(cat "$CTRD/pid" 2>/dev/null)
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		for c in $(ctrd containers ls -q 2>/dev/null); do
			ctrd task kill -s SIGKILL "$c" >/dev/null 2>&1
			ctrd task delete -f "$c" >/dev/null 2>&1
			ctrd containers rm "$c" >/dev/null 2>&1
		done
	fi
	if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null
	fi
	# a shim outlives containerd (that is its job): ours name our socket
	for pid in $(pgrep -f -- "^[^ ]*containerd-shim[^ ]* .* -address $CTRD/sock\$"); do kill -KILL "$pid" 2>/dev/null; done
	remove_cgroups "$NS" >/dev/null
	if [ -e "$CTRD/made-run-containerd" ]; then
		rmdir "$SHIM_SOCKETS" /run/containerd 2>/dev/null
	fi
	return 0
}

teardown_file() {
	stop_containerd
	[ -z "${CTRD:-}" ] || rm -rf "$CTRD"
	registry_stop_all
}

setup() {
	require_mini_runc
	for t in containerd ctr containerd-shim-runc-v2; do
		command -v "$t" >/dev/null || { echo "expected $t on this host (make deps: the containerd package)"; return 1; }
	done
	[ -n "${REG:-}" ] || { echo "expected setup_file to push the test image:"; cat "$BATS_FILE_TMPDIR/setup.log"; return 1; }
	[ -S "$CTRD/sock" ] || { echo "expected containerd to listen on $CTRD/sock, got:"; cat "$CTRD/containerd.log"; return 1; }
	T=$BATS_TEST_TMPDIR
	ID=mr-$(random_word)
}

# whatever a failed test left of its container
teardown() {
	[ -n "${ID:-}" ] && [ -n "${CTRD:-}" ] && [ -S "$CTRD/sock" ] || return 0
	ctrd task kill -s SIGKILL "$ID" >/dev/null 2>&1
	ctrd task delete -f "$ID" >/dev/null 2>&1
	ctrd containers rm "$ID" >/dev/null 2>&1
	return 0
}

# ctrd ARGS...: ctr against this file's containerd, in its namespace, bounded in time
ctrd() {
	timeout --kill-after=5 60 ctr -a "$CTRD/sock" -n "$NS" "$@"
}

# ctrd_run ARGS...: `ctr run` through mini-runc (its state and the stdio fifos in our dir)
ctrd_run() {
	run --separate-stderr ctrd run --runc-binary "$MR" --runc-root "$CTRD/runc" --fifo-dir "$CTRD/fifo" \
		--snapshotter native "$@"
}

# ctrd_said ID: what containerd's log says of the container (a failure's context: the
# shim's warnings, such as an error copying stdout, are logged there)
ctrd_said() {
	echo "--- containerd's log of $1:"
	grep -F -- "$1" "$CTRD/containerd.log" | tail -n 20
}

# pull: the test image into containerd, once
pull() {
	ctrd images ls -q | grep -qx "$REG/test:1" && return 0
	run --separate-stderr ctrd images pull --plain-http --snapshotter native "$REG/test:1"
	expect_status 0 "ctr images pull --plain-http of the test image from the registry on 127.0.0.1"
}

# the container's cgroup (cgroupsPath /NS/ID, in every hierarchy) and mini-runc's state dir are gone
expect_gone() {
	local left
	left=$(find /sys/fs/cgroup -maxdepth 4 -type d -path "*/$NS/$1" 2>/dev/null)
	[ -z "$left" ] || { echo "expected the container's cgroups to go, got: $left"; return 1; }
	[ ! -e "$CTRD/runc/$NS/$1" ] || { echo "expected mini-runc delete to remove its state, got $CTRD/runc/$NS/$1"; return 1; }
}

# exercise: 05.4 05.5
@test "ctr run --runc-binary mini-runc: a foreground container prints, and its exit status comes back" {
	hint "containerd-shim-runc-v2 calls mini-runc create, start, state, delete (runc.c); linux.resources.devices: ocispec.c"
	pull || return 1
	ctrd_run --rm "$REG/test:1" "$ID"
	expect_status 0 "ctr run --rm of the image's Entrypoint and Cmd" || return 1
	expect_eq "hello-$MARK" "$output" "what the container printed" || { ctrd_said "$ID"; return 1; }
	word=$(random_word)
	ctrd_run --rm "$REG/test:1" "$ID" /bin/sh -c "echo $word; echo \$\$; exit 7"
	expect_status 7 "ctr run of 'exit 7' (the container's status, passed on by the shim)" || return 1
	expect_eq "$(printf '%s\n1' "$word")" "$output" "a word and the shell's pid (1: a pid namespace of its own)" ||
		{ echo "its stderr: $(quoted "$stderr")"; ctrd_said "$ID"; return 1; }
	expect_gone "$ID" || return 1
	run --separate-stderr ctrd containers ls -q
	expect_eq "" "$output" "ctr containers ls after run --rm" || return 1
}

# exercise: 05.4 05.5 05.7
@test "ctr run -d through mini-runc: task ls, exec, kill, delete, container rm leave nothing" {
	hint "the shim: create+start, state (task ls), exec, kill, delete; then ctr removes the container and its snapshot"
	pull || return 1
	ctrd_run -d "$REG/test:1" "$ID" /bin/sleep 600
	expect_status 0 "ctr run -d" || return 1
	run --separate-stderr ctrd task ls
	expect_match "$ID +[0-9]+ +RUNNING" "$output" "ctr task ls (the task, RUNNING)" || return 1
	pid=$(awk -v id="$ID" '$1 == id {print $2}' <<<"$output")
	expect_eq "/bin/sleep 600" "$(tr '\0' ' ' </proc/"$pid"/cmdline | sed 's/ $//')" "the task's pid on the host (its command line)" || return 1
	[ -n "$(find /sys/fs/cgroup -maxdepth 4 -type d -path "*/$NS/$ID")" ] ||
		{ echo "expected the container's cgroup /$NS/$ID (config.json's cgroupsPath)"; return 1; }
	word=$(random_word)
	run --separate-stderr ctrd task exec --fifo-dir "$CTRD/fifo" --exec-id e1 "$ID" /bin/echo "$word"
	expect_status 0 "ctr task exec (the shim calls mini-runc exec --process FILE)" || { echo "$stderr"; return 1; }
	expect_eq "$word" "$output" "what ctr task exec printed" || return 1
	# in the container's pid namespace: its PID 1 is the task's sleep
	run --separate-stderr ctrd task exec --fifo-dir "$CTRD/fifo" --exec-id e2 "$ID" /bin/cat /proc/1/cmdline
	expect_eq "/bin/sleep600" "$(tr -d '\0' <<<"$output")" "PID 1 as the exec'd process sees it" || return 1
	run --separate-stderr ctrd task ls
	expect_match "$ID +$pid +RUNNING" "$output" "the task after exec" || return 1
	run --separate-stderr ctrd task delete "$ID"
	expect_status 1 "ctr task delete of a running task (refused)" || return 1
	run --separate-stderr ctrd task kill -s SIGKILL "$ID"
	expect_status 0 "ctr task kill -s SIGKILL" || return 1
	for _ in $(seq 50); do
		run --separate-stderr ctrd task ls
		[[ $output =~ $ID\ +[0-9]+\ +STOPPED ]] && break
		sleep 0.1
	done
	expect_match "$ID +[0-9]+ +STOPPED" "$output" "ctr task ls after kill" || return 1
	[ ! -e "/proc/$pid" ] || { echo "expected the task's process $pid to be gone"; return 1; }
	run --separate-stderr ctrd task delete "$ID"
	expect_status 0 "ctr task delete" || return 1
	expect_gone "$ID" || return 1
	run --separate-stderr ctrd containers rm "$ID"
	expect_status 0 "ctr container rm" || return 1
	run --separate-stderr ctrd containers ls -q
	expect_eq "" "$output" "ctr containers ls after rm" || return 1
}

@test "containerd stops, and nothing of it is left: processes, shim sockets, the namespace's cgroups" {
	hint "each shim exits after its task's delete; mini-runc delete removed /NS/ID, containerd's namespace is /NS"
	pid=$(cat "$CTRD/pid")
	shims=$(pgrep -af -- "^[^ ]*containerd-shim[^ ]* .* -address $CTRD/sock\$" || true)
	expect_eq "" "$shims" "shims still running after every task was deleted" || return 1
	kill "$pid"
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	[ ! -e "/proc/$pid" ] || { echo "expected containerd ($pid) to stop on SIGTERM"; return 1; }
	# the shim sockets: each removed by its shim
	if [ -d "$SHIM_SOCKETS" ]; then
		left=$(grep -l "$CTRD/sock" /proc/net/unix 2>/dev/null; find "$SHIM_SOCKETS" -newer "$CTRD/config.toml" -type s)
		expect_eq "" "$left" "shim sockets left in $SHIM_SOCKETS" || return 1
	fi
	run remove_cgroups "$NS"
	expect_status 0 "the namespace's cgroups /$NS removed (empty)" || return 1
	stop_containerd
	mounts=$(grep -F "$CTRD" /proc/self/mountinfo || true)
	expect_eq "" "$mounts" "mounts under containerd's root (the native snapshotter makes none)" || return 1
}
