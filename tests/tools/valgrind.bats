#!/usr/bin/env bats
# mini-docker under valgrind (memcheck): a pull from a registry on 127.0.0.1,
# a run in the foreground, a run -d, an exec into it and rm -f, each with
# --leak-check=full. Any invalid read or write, use of an uninitialised value,
# bad free, or definitely lost block in any mini-docker process fails: the
# command itself, the monitor run -d forks, and the container's own process
# until its execve (--trace-children=no: what execs busybox leaves valgrind,
# the forks of mini-docker stay under it, each with a log of its own).
# Third-party noise only is suppressed: tests/tools/valgrind.supp says why.
#
#   make valgrind    (or: bats tests/tools/valgrind.bats, as root)
#
# valgrind does not know clone3: mini-docker falls back to clone(2) there (ns.c).

bats_require_minimum_version 1.5.0
: "${REPO:=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}"
load ../helpers
load ../fixtures/registry

: "${MINI_DOCKER:=$REPO/steps/05-mini-docker/mini-docker}"
# one command under valgrind is 10-50 times slower than without
: "${VG_TIMEOUT:=180}"

setup_file() {
	[ "$(id -u)" = 0 ] || return 0
	for t in valgrind docker-registry skopeo umoci; do command -v "$t" >/dev/null || return 0; done
	export REG_BASE=$BATS_FILE_TMPDIR/registries
	export VG_MARK
	VG_MARK=$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
	# one layer: the busybox rootfs with the probe, Cmd echo MARK
	local L=$BATS_FILE_TMPDIR/layout W=$BATS_FILE_TMPDIR/bundle
	{
		umoci init --layout "$L" &&
			umoci new --image "$L:vg" &&
			umoci unpack --image "$L:vg" "$W" &&
			cp -a "$ROOTFS_SRC/." "$W/rootfs/" &&
			umoci repack --image "$L:vg" "$W" &&
			umoci config --image "$L:vg" --config.cmd echo --config.cmd "image-$VG_MARK"
	} >"$BATS_FILE_TMPDIR/umoci.log" 2>&1 || return 0
	rm -rf "$W"
	registry_start plain plain || return 0
	export VG_REG=127.0.0.1:$REG_PORT
	push_image "$L:vg" "$VG_REG/vg:1"
	# the store and network namespace all tests share (the image pulled once)
	export ROOT=$BATS_FILE_TMPDIR/store VG_NETNS=md-vg-$VG_MARK
	ip netns add "$VG_NETNS"
	ip -n "$VG_NETNS" link set lo up
}

teardown_file() {
	[ -n "${ROOT:-}" ] && [ -d "$ROOT/containers" ] && {
		# shellcheck disable=SC2046
		"$MINI_DOCKER" --root "$ROOT" rm -f $("$MINI_DOCKER" --root "$ROOT" ps -aq) >/dev/null 2>&1 || true
	}
	kill_store_processes
	registry_stop_all
	[ -n "${VG_NETNS:-}" ] && ip netns del "$VG_NETNS" 2>/dev/null || true
}

setup() {
	require_root
	command -v valgrind >/dev/null || skip "requires valgrind (make deps)"
	for t in docker-registry skopeo umoci; do command -v "$t" >/dev/null || skip "requires $t (make deps)"; done
	[ -n "${VG_REG:-}" ] || {
		echo "expected setup_file to build the image and start the registry, got none: see $BATS_FILE_TMPDIR"
		return 1
	}
	VGLOG=$BATS_TEST_TMPDIR/vg
	mkdir -p "$VGLOG"
}

teardown() {
	[ -n "${ID:-}" ] && "$MINI_DOCKER" --root "$ROOT" rm -f "$ID" >/dev/null 2>&1 || true
}

# every process still naming our store (a monitor a failed test left): killed
kill_store_processes() {
	local pid
	[ -n "${ROOT:-}" ] || return 0
	for pid in $(ps -eo pid=,args= | awk -v r="$ROOT" 'index($0, r) && !/awk/ {print $1}'); do
		kill -9 "$pid" 2>/dev/null || true
	done
}

# the image in the store, without valgrind (a test may run alone)
pull_plain() {
	timeout 60 "$MINI_DOCKER" --root "$ROOT" --insecure-registry "$VG_REG" pull "$VG_REG/vg:1" >/dev/null ||
		{ echo "expected mini-docker pull (no valgrind) to succeed, got status $?"; return 1; }
}

VG_OPTS=(--tool=memcheck --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite
	--track-origins=yes --num-callers=30 --trace-children=no --child-silent-after-fork=no
	--error-exitcode=99)

# vg ARGS...: mini-docker ARGS under valgrind, in the test's network namespace;
# its log is $VGLOG/N.log; sets $status, $output, $stderr.
# vg_host ARGS...: the same in this network namespace (pull: the registry is here)
vg() {
	vg_host_ns nsenter --net="/run/netns/$VG_NETNS" "$@"
}
vg_host() {
	vg_host_ns "$@"
}
vg_host_ns() {
	local pre=() what
	while [ "$1" = nsenter ]; do pre+=("$1" "$2"); shift 2; done
	what=$1
	# one log a command, for all its processes (each line says which): an fd, not a file
	# name, since the container's and exec's processes can no longer see our files
	VG_N=$((${VG_N:-0} + 1))
	run --separate-stderr timeout --kill-after=10 "$VG_TIMEOUT" "${pre[@]}" \
		valgrind "${VG_OPTS[@]}" --suppressions="$REPO/tests/tools/valgrind.supp" --log-fd=19 \
		"$MINI_DOCKER" --root "$ROOT" --insecure-registry "$VG_REG" "$@" 19>>"$VGLOG/$VG_N.log"
	[ "$status" != 124 ] || echo "expected mini-docker $what under valgrind to finish within ${VG_TIMEOUT}s, got a hang"
	if [ "$status" = 99 ]; then
		echo "expected no valgrind error in mini-docker $what, got some (exit status 99):"
		vg_clean "$what" "$VGLOG/$VG_N.log" >&2
	fi
}

# what memcheck says when it finds something (a process that then calls execve
# never prints its ERROR SUMMARY: its errors are found by these lines)
VG_ERRORS='ERROR SUMMARY: [1-9]|Invalid (read|write|free)|Mismatched free|uninitialised|Syscall param|overlap|definitely lost in|Invalid alignment|fishy|impossible happened|Unsupported clone|Process terminating'

# vg_clean WHAT [LOG]: no valgrind log in $VGLOG (or LOG) reports an error; first
# waits (30 s at most) for mini-docker's processes to end (a monitor outlives its run)
vg_clean() {
	local what=$1 logs=${2:-$VGLOG/*.log} f i left bad=0
	# still under valgrind (comm memcheck-...) and on our store: mini-docker, not a container's command
	for i in $(seq 1 300); do
		[ -z "${2:-}" ] || break # one command's log: the others may run on
		left=$(ps -eo pid=,comm=,args= | awk -v r="$ROOT" '$2 ~ /^memcheck/ && index($0, r) {print $1}')
		[ -z "$left" ] && break
		sleep 0.1
	done
	[ -z "$left" ] || { echo "expected mini-docker's processes ($what) to end within 30 s, got still running: $left"; bad=1; }
	for f in $logs; do
		[ -f "$f" ] || { echo "expected a valgrind log of $what, got none ($f)"; bad=1; continue; }
		if grep -qE "$VG_ERRORS" "$f"; then
			echo "expected no valgrind error in mini-docker ($what), got:"
			grep -v '^--' "$f" | sed 's/^/  /'
			bad=1
		fi
	done
	[ "$bad" = 0 ] || {
		hint "the first frame in steps/05-mini-docker/*.c of each report is where to look"
		hint "lost in a child that fork()ed and _exit()ed: heap its parent holds across fork (keep it on the stack)"
	}
	return "$bad"
}

@test "valgrind: pull from a registry (curl, JSON, digests, layers unpacked)" {
	vg_host pull "$VG_REG/vg:1"
	expect_status 0 "pull under valgrind to succeed" || { echo "$stderr"; return 1; }
	vg_clean "pull" || return 1
	vg_host images
	expect_status 0 "images under valgrind" || return 1
	expect_match "vg" "$output" "images after the pull" || return 1
	vg_clean "images"
}

@test "valgrind: run in the foreground (namespaces, cgroup, bridge, rootfs, security until execve)" {
	pull_plain || return 1
	vg run --rm "$VG_REG/vg:1"
	expect_status 0 "run --rm under valgrind to succeed" || { echo "$stderr"; return 1; }
	expect_eq "image-$VG_MARK" "$output" "the container's output (the image's Cmd)" || return 1
	local word
	word=$(random_word)
	vg run --rm -e "W=$word" "$VG_REG/vg:1" sh -c 'echo "$W"; exit 3'
	expect_status 3 "run to pass on the command's exit status" || { echo "$stderr"; return 1; }
	expect_eq "$word" "$output" "the container's output" || return 1
	vg_clean "run"
}

# start_detached VIA... WORD: run -d (through VIA: vg or plain) of a container that writes
# WORD to /tmp/mark and sleeps; sets ID; waits (10 s at most) until exec sees the file
start_detached() {
	local word=${*: -1} i got=
	"${@:1:$#-1}" run -d --name "vg-$word" "$VG_REG/vg:1" sh -c "echo $word > /tmp/mark; exec sleep 120"
	expect_status 0 "run -d to start the container" || { echo "$stderr"; return 1; }
	ID=$output
	for i in $(seq 1 50); do
		got=$(timeout 10 "$MINI_DOCKER" --root "$ROOT" exec "$ID" cat /tmp/mark 2>&1) && break
		sleep 0.2
	done
	[ "$got" = "$word" ] || {
		echo "expected the container of run -d to run and write /tmp/mark within 10 s, got: $got"
		"$MINI_DOCKER" --root "$ROOT" inspect "$ID" | grep -A3 '"State"'
		"$MINI_DOCKER" --root "$ROOT" logs "$ID"
		return 1
	}
}

plain() {
	run --separate-stderr timeout 30 nsenter --net="/run/netns/$VG_NETNS" "$MINI_DOCKER" --root "$ROOT" \
		--insecure-registry "$VG_REG" "$@"
}

@test "valgrind: run -d, exec, logs, stop, rm (the monitor included)" {
	pull_plain || return 1
	local word mon
	word=$(random_word)
	start_detached vg "$word" || return 1
	mon=$(sed -n 's/.*"monitor_pid": *"\{0,1\}\([0-9]*\).*/\1/p' "$ROOT/containers/$ID/state.json")
	vg exec "vg-$word" cat /tmp/mark
	expect_status 0 "exec under valgrind to work" || { echo "$stderr"; return 1; }
	expect_eq "$word" "$output" "the file the container wrote, read by exec" || return 1
	vg exec "vg-$word" sh -c 'exit 7'
	expect_status 7 "exec to pass on the command's exit status" || return 1
	vg logs "vg-$word"
	expect_status 0 "logs under valgrind" || return 1
	# stop, not rm -f: rm -f gives a monitor 5 s to end, valgrind's exit may take longer
	vg stop -t 1 "vg-$word"
	expect_status 0 "stop under valgrind" || { echo "$stderr"; return 1; }
	vg_clean "run -d, exec, logs, stop" || return 1
	[ -n "$mon" ] && grep -q "^==$mon== ERROR SUMMARY: 0 errors" "$VGLOG/1.log" || {
		echo "expected the summary of the monitor (PID ${mon:-unknown}) in valgrind's log of run -d, got none"
		return 1
	}
	vg rm "vg-$word"
	expect_status 0 "rm under valgrind" || { echo "$stderr"; return 1; }
	ID=
	vg_clean "rm"
}

@test "valgrind: rm -f of a running container" {
	pull_plain || return 1
	local word
	word=$(random_word)
	start_detached plain "$word" || return 1
	vg rm -f "vg-$word"
	expect_status 0 "rm -f under valgrind" || { echo "$stderr"; return 1; }
	ID=
	plain ps -aq
	expect_eq "" "$output" "the containers left after rm -f" || return 1
	vg_clean "rm -f"
}
