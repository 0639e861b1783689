#!/usr/bin/env bats
# Step 05, faults: mini-docker killed with SIGKILL while it downloads and while
# it unpacks, the registry killed mid-transfer, the store's disk full. After
# each, the next command works, the store is consistent (index.json names only
# complete images, tmp/ is cleared by the next writer), and nothing is left
# running. The registry is tests/fixtures/hostile/fakereg.py serving what
# tests/fixtures/hostile/mkfaults.py makes (a slow layer, many files, big ones).
#
# Then the engine killed while it sets a container up and while the container
# runs: MINI_DOCKER_TEST_PAUSE=POINT:FILE (run.c) stops mini-docker at a named
# point of the setup, so the SIGKILL lands there and nowhere else. After each:
# no process of the container is left (it dies with its engine), ps says Dead,
# rm or system prune removes it with its cgroups and veth, no mount is left,
# the name and the image work again.

bats_require_minimum_version 1.5.0
load helpers
load fixtures/registry

: "${MINI_DOCKER:=$REPO/steps/05-mini-docker/mini-docker}"
HOSTILE=$REPO/tests/fixtures/hostile

start_reg() {
	python3 "$HOSTILE/fakereg.py" 127.0.0.1 "$PORT" "$OUT/routes.json" "$BATS_FILE_TMPDIR/reg.log" >>"$BATS_FILE_TMPDIR/reg.out" 2>&1 &
	echo $! >"$BATS_FILE_TMPDIR/reg.pid"
	wait_http "http://127.0.0.1:$PORT/v2/"
}

stop_reg() {
	local pid
	pid=$(cat "$BATS_FILE_TMPDIR/reg.pid" 2>/dev/null) || return 0
	kill -9 "$pid" 2>/dev/null || true
	for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	rm -f "$BATS_FILE_TMPDIR/reg.pid"
}

setup_file() {
	[ "$(id -u)" = 0 ] && command -v python3 >/dev/null && command -v curl >/dev/null || return 0
	export OUT=$BATS_FILE_TMPDIR/faults PORT
	PORT=$(free_port)
	python3 "$HOSTILE/mkfaults.py" "$OUT"
	start_reg
	export REG=127.0.0.1:$PORT
	# a runnable image for the container tests: the busybox rootfs and the probe, one layer
	if command -v umoci >/dev/null && [ -d "$ROOTFS_SRC/bin" ]; then
		local L=$BATS_FILE_TMPDIR/faultimg B=$BATS_FILE_TMPDIR/faultimg-bundle
		{
			umoci init --layout "$L" && umoci new --image "$L:box" &&
				umoci unpack --image "$L:box" "$B" && cp -a "$ROOTFS_SRC/." "$B/rootfs/" &&
				umoci repack --image "$L:box" "$B" &&
				umoci config --image "$L:box" --config.cmd probe --config.cmd pid
		} >"$BATS_FILE_TMPDIR/umoci.log" 2>&1 || rm -rf "$L"
		rm -rf "$B"
	fi
}

teardown_file() {
	stop_reg
}

setup() {
	require_root
	command -v python3 >/dev/null || skip "requires python3 (make deps)"
	command -v curl >/dev/null || skip "requires curl (make deps)"
	section "Step 05: mini-docker, images"
	[ -n "${REG:-}" ] || {
		echo "expected setup_file to start the fake registry, got none: see $BATS_FILE_TMPDIR"
		return 1
	}
	ROOT=$BATS_TEST_TMPDIR/store
	export REGISTRY_AUTH_FILE=$BATS_TEST_TMPDIR/auth.json
	PULL_PID=""
}

teardown() {
	if [ -n "${PULL_PID:-}" ]; then kill -9 "$PULL_PID" 2>/dev/null || true; fi
	# the registry a test killed comes back for the next test
	[ -f "$BATS_FILE_TMPDIR/reg.pid" ] || start_reg >/dev/null 2>&1 || true
	# the container tests: an engine, monitor or container a failed test left (they name the store)
	local pid
	if [ -n "${NETNS:-}" ]; then
		for pid in $(ps -eo pid=,args= | awk -v r="--root $ROOT " 'index($0, r) && !/awk/ {print $1}'); do
			kill -9 "$pid" 2>/dev/null || true
		done
		if [ -n "${RUN_PID:-}" ]; then kill -9 "$RUN_PID" 2>/dev/null || true; fi
		for pid in $(ls "$ROOT/containers" 2>/dev/null | grep -v '^names$'); do
			nsenter --net="/run/netns/$NETNS" "$MINI_DOCKER" --root "$ROOT" rm -f "$pid" >/dev/null 2>&1 || true
		done
		ip netns del "$NETNS" 2>/dev/null || true
	fi
	# (after the containers: a store on it is gone once it is unmounted)
	if mountpoint -q "$BATS_TEST_TMPDIR/small" 2>/dev/null; then umount -l "$BATS_TEST_TMPDIR/small"; fi
}

md() {
	run --separate-stderr timeout --kill-after=5 120 "$MINI_DOCKER" --root "$ROOT" "$@"
	[ "$status" != 124 ] || echo "expected mini-docker $1 to finish within 120 s, got a hang (killed it)"
}

store_state() {
	cat "$ROOT/images/index.json" 2>/dev/null
	(cd "$ROOT" 2>/dev/null && find images layers 2>/dev/null | LC_ALL=C sort) || true
}

# the store is consistent: index.json is JSON; each image it names has its manifest,
# config and layer blobs, each blob hashes to its name, each unpacked layer is complete
store_consistent() {
	python3 - "$ROOT" <<'PY'
import hashlib, json, os, sys
root = sys.argv[1]
idx = json.load(open(f"{root}/images/index.json"))
def blob(d):
    p = f"{root}/images/blobs/sha256/{d[7:]}"
    data = open(p, "rb").read()
    if "sha256:" + hashlib.sha256(data).hexdigest() != d:
        sys.exit(f"blob {d} does not hash to its name")
    return data
for desc in idx["manifests"]:
    m = json.loads(blob(desc["digest"]))
    cfg = json.loads(blob(m["config"]["digest"]))
    for l in m["layers"]:
        blob(l["digest"])
    chain = ""
    for d in cfg["rootfs"]["diff_ids"]:
        chain = d if not chain else "sha256:" + hashlib.sha256(f"{chain} {d}".encode()).hexdigest()
        if not os.path.isdir(f"{root}/layers/{chain[7:]}"):
            sys.exit(f"layer {chain} of {desc['annotations']} is not unpacked")
for f in os.listdir(f"{root}/images/blobs/sha256"):
    blob("sha256:" + f)
PY
}

# kill_when PID TEST...: SIGKILL PID as soon as `test ...` holds (10 s at most); 0 when it killed
kill_when() {
	local pid=$1
	shift
	for _ in $(seq 1 2000); do
		if "$@"; then
			kill -9 "$pid" 2>/dev/null || return 1
			for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.005
	done
	return 1
}

downloading() { [ -n "$(find "$ROOT/tmp" -type f -size +1M 2>/dev/null | head -1)" ]; }
unpacking() { [ "$(find "$ROOT"/tmp/*/layer-* 2>/dev/null | head -300 | wc -l)" -ge 300 ]; }

# after a crash: nothing of the killed pull runs, images works, the store is consistent
recovered() {
	pgrep -f -- "--root $ROOT " >/dev/null && { echo "expected no mini-docker left on $ROOT, got: $(pgrep -af -- "--root $ROOT ")"; return 1; }
	md images
	expect_status 0 "mini-docker images after the kill" || return 1
	[[ $output != *"$1"* ]] || { echo "expected no half-pulled $1 in mini-docker images, got: $output"; return 1; }
	store_consistent || { echo "expected a consistent store after the kill, got the error above"; return 1; }
}

# exercise: 05.1 05.2
@test "SIGKILL while downloading: the store stays consistent, the next pull completes" {
	hint "store.c: blobs go to tmp/ then rename into place, index.json last; store_lock clears what a dead writer left"
	md pull "$REG/zeros"
	before=$(store_state)
	"$MINI_DOCKER" --root "$ROOT" pull "$REG/slow" >/dev/null 2>&1 &
	PULL_PID=$!
	kill_when "$PULL_PID" downloading || { echo "expected to catch the pull downloading the slow layer, got it finished or stuck"; return 1; }
	wait "$PULL_PID" 2>/dev/null || true
	recovered "$REG/slow"
	expect_eq "$before" "$(store_state)" "the store after a pull killed mid-download"
	md pull "$REG/slow"
	expect_status 0 "the next pull"
	expect_eq "" "$(ls -A "$ROOT/tmp")" "tmp/ after the next pull (the dead pull's staging removed)"
	store_consistent
}

# exercise: 05.1 05.2
@test "SIGKILL while unpacking: no half layer in the store, the next pull completes" {
	hint "image.c: a layer is unpacked under tmp/ and renamed into layers/ only when complete and its DiffID checked"
	md pull "$REG/zeros"
	before=$(store_state)
	"$MINI_DOCKER" --root "$ROOT" pull "$REG/many" >/dev/null 2>&1 &
	PULL_PID=$!
	kill_when "$PULL_PID" unpacking || { echo "expected to catch the pull unpacking its 12000 files, got it finished or stuck"; return 1; }
	wait "$PULL_PID" 2>/dev/null || true
	recovered "$REG/many"
	expect_eq "$before" "$(store_state)" "the store after a pull killed mid-unpack"
	md pull "$REG/many"
	expect_status 0 "the next pull"
	expect_eq "" "$(ls -A "$ROOT/tmp")" "tmp/ after the next pull"
	expect_eq 12000 "$(find "$ROOT/layers" -type f -name 'f*' | wc -l)" "files in the unpacked layer"
	store_consistent
}

# exercise: 05.1 05.2
@test "the registry killed mid-pull: a clear error, then a retry completes" {
	hint "registry.c: a transfer that breaks is an error naming the blob; the stage is removed; a retry starts the blob again"
	md images
	before=$(store_state)
	"$MINI_DOCKER" --root "$ROOT" pull "$REG/slow" >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
	PULL_PID=$!
	for _ in $(seq 1 2000); do downloading && break; sleep 0.005; done
	downloading || { echo "expected the pull to start downloading, got nothing in tmp/"; return 1; }
	stop_reg
	s=0
	timeout 60 tail --pid="$PULL_PID" -f /dev/null || true
	wait "$PULL_PID" || s=$?
	PULL_PID=""
	expect_eq 125 "$s" "the exit status of a pull whose registry died"
	stderr=$(cat "$BATS_TEST_TMPDIR/err")
	expect_stderr_says "127.0.0.1:$PORT" "the error to name the registry"
	expect_eq "$before" "$(store_state)" "the store after the failed pull"
	expect_eq "" "$(ls -A "$ROOT/tmp")" "tmp/ after the failed pull (it cleans its own stage)"
	start_reg
	md pull "$REG/slow"
	expect_status 0 "the retry"
	store_consistent
}

# exercise: 05.1 05.2
@test "a full disk while downloading and while unpacking: a clear error, nothing partial" {
	hint "every write is checked (write, fsync, rename); a failed pull removes its stage"
	mkdir "$BATS_TEST_TMPDIR/small"
	mount -t tmpfs -o size=10m tmpfs "$BATS_TEST_TMPDIR/small"
	ROOT=$BATS_TEST_TMPDIR/small/store
	md images
	before=$(store_state)
	md pull "$REG/big"
	expect_status 125 "a 12 MiB layer on a 10 MiB disk"
	expect_stderr_says "No space left on device" "the error to say the disk is full"
	expect_eq "$before" "$(store_state)" "the store after the full disk"
	expect_eq "" "$(ls -A "$ROOT/tmp")" "tmp/ after the full disk"
	md pull "$REG/zeros"
	expect_status 125 "a layer that unpacks to 48 MiB on a 10 MiB disk"
	expect_stderr_says "No space left on device" "the error to say the disk is full"
	expect_eq "$before" "$(store_state)" "the store after the full disk"
	expect_eq "" "$(ls -A "$ROOT/tmp")" "tmp/ after the full disk"
	store_consistent
	umount "$BATS_TEST_TMPDIR/small"
}

@test "make clean-state removes what a crash left: cgroups with orphans, mounts, veths, the bridge, lease copies" {
	hint "scripts/clean-state: cgroups PARENT/ID (processes killed first), mounts under the state dirs, veth-boxN / mdID / mini0"
	parent=mini-docker-test-$RANDOM$RANDOM
	state=$BATS_TEST_TMPDIR/state
	mkdir -p "$state/overlay"
	mount -t tmpfs tmpfs "$state/overlay"
	mkdir -p "$state/overlay/inner"
	mount -t tmpfs tmpfs "$state/overlay/inner"
	# an orphaned container: a process in PARENT/ID of the pids hierarchy (v1, or v2)
	cg=""
	for base in /sys/fs/cgroup/pids /sys/fs/cgroup/unified /sys/fs/cgroup; do
		[ -w "$base" ] && [ -e "$base/cgroup.procs" ] || continue
		mkdir -p "$base/$parent/12345" 2>/dev/null || continue
		cg=$base/$parent/12345
		break
	done
	[ -n "$cg" ] || skip "requires a writable cgroup hierarchy"
	sleep 300 &
	orphan=$!
	echo "$orphan" >"$cg/cgroup.procs"
	mkdir -p "$state/bridge"
	: >"$state/bridge/lock"
	echo half >"$state/bridge/leases-4026531840.tmp.4194305"
	ip link add veth-box4000001 type veth peer name mdabc123def456
	ip link add mini0 type bridge
	run --separate-stderr "$REPO/scripts/clean-state" --force --parent "$parent" "$state"
	kill -9 "$orphan" 2>/dev/null || true
	wait "$orphan" 2>/dev/null || true
	expect_status 0 "clean-state" || { rmdir "$cg" "${cg%/*}" 2>/dev/null; return 1; }
	expect_match "umount -l $state/overlay/inner" "$output" "the commands it printed"
	[ ! -d "${cg%/*}" ] || { rmdir "$cg" "${cg%/*}" 2>/dev/null; echo "expected ${cg%/*} removed, got it still there"; return 1; }
	expect_eq "" "$(awk -v d="$state" 'index($5, d) == 1' /proc/self/mountinfo)" "mounts under the state dir"
	expect_eq "" "$(ip -o link show | grep -E 'veth-box4000001|mdabc123def456|mini0')" "the veths and the bridge"
	expect_eq "lock" "$(ls -A "$state/bridge")" "the bridge's state dir (the temporary copy of the leases a killed engine left removed)"
}

# ---- the engine killed while it sets a container up, and while the container runs ----

IMG=localhost/faultimg:box

# alive PID: the process runs (a zombie waiting for its reaper does not)
alive() {
	[ -d "/proc/$1" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]
}

# mdn ARGS...: mini-docker on the test's store, in the test's network namespace (bounded)
mdn() {
	run --separate-stderr timeout --kill-after=5 60 nsenter --net="/run/netns/$NETNS" "$MINI_DOCKER" --root "$ROOT" "$@"
}

# a network namespace of the test (the bridge and veths live there) and the image in the store
ctr_setup() {
	command -v umoci >/dev/null || skip "requires umoci (make deps)"
	[ -d "$BATS_FILE_TMPDIR/faultimg" ] || {
		echo "expected setup_file to build the test image with umoci, got none: see $BATS_FILE_TMPDIR/umoci.log"
		return 1
	}
	section "Step 05: mini-docker, run"
	NETNS=md-fault-$(random_word)
	ip netns add "$NETNS"
	ip -n "$NETNS" link set lo up
	md load -i "$BATS_FILE_TMPDIR/faultimg"
	expect_status 0 "mini-docker load of the test image"
}

# start_run POINT ARGS...: mini-docker run --name $NAME ARGS in the background; with a POINT it
# stops there (MINI_DOCKER_TEST_PAUSE) and ENGINE is the PID to kill; RUN_PID is the run command
# (RUN_WRAP: a command it runs under, such as env --default-signal=INT)
start_run() {
	local point=$1 paused=$BATS_TEST_TMPDIR/paused
	shift
	rm -f "$paused"
	ENGINE=""
	# shellcheck disable=SC2086 # RUN_WRAP: a command to run mini-docker under, split into words
	MINI_DOCKER_TEST_PAUSE=${point:+$point:$paused} ${RUN_WRAP:-} nsenter --net="/run/netns/$NETNS" \
		"$MINI_DOCKER" --root "$ROOT" run --name "$NAME" "$@" >"$BATS_TEST_TMPDIR/run.out" 2>"$BATS_TEST_TMPDIR/run.err" &
	RUN_PID=$!
	[ -n "$point" ] || return 0
	for _ in $(seq 1 200); do
		[ -s "$paused" ] && read -r ENGINE <"$paused" && return 0
		kill -0 "$RUN_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "expected mini-docker run to stop at '$point' within 10 s, got: $(cat "$BATS_TEST_TMPDIR/run.err")"
	return 1
}

ctr_id() { readlink "$ROOT/containers/names/$NAME"; }
ctr_field() { sed -n "s/^ *\"$1\": \"\\(.*\\)\",*\$/\\1/p" "$ROOT/containers/$(ctr_id)/state.json" 2>/dev/null; }

# the container's processes: the engine's children and whatever is in the container's cgroups
ctr_pids() {
	local d
	cat /proc/"$ENGINE"/task/*/children 2>/dev/null | tr -s ' ' '\n'
	for d in $(ctr_field cgroups); do cat "$d/cgroup.procs" 2>/dev/null; done
}

# until_running: the container's init has executed probe (at most 10 s)
until_running() {
	local pid
	for _ in $(seq 1 200); do
		pid=$(ctr_field pid)
		[ -n "$pid" ] && [ "$pid" != 0 ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = probe ] && return 0
		sleep 0.05
	done
	echo "expected the container to run probe within 10 s, got: $(cat "$BATS_TEST_TMPDIR/run.err")"
	return 1
}

# kill_engine: SIGKILL $ENGINE, wait until it is gone (5 s at most); CPIDS = the container's processes then
kill_engine() {
	CPIDS=$(ctr_pids | grep -x '[0-9][0-9]*' | sort -u | tr '\n' ' ')
	kill -9 "$ENGINE"
	for _ in $(seq 1 100); do alive "$ENGINE" || return 0; sleep 0.05; done
	echo "expected mini-docker ($ENGINE) to die of SIGKILL within 5 s, got it alive"
	return 1
}

# ctr_recovered WHAT rm|prune: after the kill of WHAT, nothing of the container runs, ps says Dead,
# rm (or system prune) removes it with its cgroups and veth, no mount is left, the store is
# consistent, and the name and the image work again
ctr_recovered() {
	local what=$1 how=$2 id p d cgroups code
	id=$(ctr_id) || { echo "expected the container $NAME in the store after $what, got none"; return 1; }
	for p in $CPIDS; do
		for _ in $(seq 1 100); do alive "$p" || break; sleep 0.05; done
		! alive "$p" || {
			echo "expected the container's process $p to die with its engine ($what), got it alive: $(tr '\0' ' ' <"/proc/$p/cmdline")"
			hint "ns.c: PR_SET_PDEATHSIG, set again after the uid changes (a new uid clears it)"
			return 1
		}
	done
	mdn ps -a
	expect_match "${id:0:12} .*Dead" "$output" "ps -a after $what" || {
		hint "state.c: status created or running, and neither the container nor the process making it is alive: dead"
		return 1
	}
	mdn ps -q
	expect_eq "" "$output" "ps (running containers only) after $what" || return 1
	expect_eq 0 "$(grep -c -F "$ROOT" /proc/self/mountinfo)" "mounts under the store after $what (the rootfs is mounted in the container's mount namespace only)" || return 1
	cgroups=$(ctr_field cgroups)
	[ -n "$cgroups" ] || [[ $what != *" at cgroup" ]] || {
		echo "expected state.json to name the container's cgroups as soon as they are made, got none"
		hint "run.c: write the cgroups to state.json right after cgroup_setup, so that rm finds them"
		return 1
	}
	if [ "$how" = prune ]; then
		mdn system prune
		expect_status 0 "system prune after $what" || return 1
		expect_match "Deleted containers: 1" "$output" "what system prune reports after $what" || return 1
	else
		mdn rm "$NAME"
		expect_status 0 "rm $NAME (no -f: it does not run) after $what" || return 1
	fi
	[ ! -e "$ROOT/containers/$id" ] || { echo "expected $how to remove ROOT/containers/${id:0:12}, got it there"; return 1; }
	for d in $cgroups; do
		[ ! -d "$d" ] || { echo "expected $how to remove the cgroup $d, got it there"; return 1; }
	done
	expect_eq "" "$(find /sys/fs/cgroup -maxdepth 6 -type d -path "*/mini-docker/$ENGINE" 2>/dev/null)" \
		"cgroups named for the killed engine ($ENGINE) after $how" || return 1
	expect_eq "" "$(ip -n "$NETNS" -o link show | awk -F': ' '$2 != "lo" {print $2}')" \
		"links left in the test's network namespace after $how (the veth md${id:0:12} and the bridge mini0 gone)" || return 1
	mdn images
	expect_match "localhost/faultimg +box" "$output" "mini-docker images after $what" || return 1
	store_consistent || { echo "expected a consistent store after $what, got the error above"; return 1; }
	code=$((RANDOM % 100 + 1))
	mdn run --rm --name "$NAME" "$IMG" probe exit "$code"
	expect_status "$code" "a new run with the name $NAME from the image after $what (probe exit $code)" || return 1
	expect_eq "names" "$(ls -A "$ROOT/containers")" "the container store after $how and a run --rm" || return 1
	expect_eq "" "$(ls -A "$ROOT/containers/names")" "names taken after $how and a run --rm" || return 1
	expect_eq "" "$(ip -n "$NETNS" -o link show | awk -F': ' '$2 != "lo" {print $2}')" "links left after the run --rm"
}

# exercise: 05.2 05.4 05.5 05.9
@test "SIGKILL of run while it sets the container up (cgroup, clone, veth, mounts, uid): dead, then rm or prune leaves nothing" {
	hint "the child dies with its engine (PR_SET_PDEATHSIG, and EOF on its sync pipe); state.json names cgroups and engine from the start"
	ctr_setup
	how=rm
	for point in cgroup cloned network mounts user; do
		NAME=setup-$point-$(random_word)
		start_run "$point" -u "$((2000 + RANDOM % 5000))" "$IMG" probe sleep 300 || return 1
		kill_engine || return 1
		# user: the child waits after its setuid, which cleared its parent-death signal: let it go on
		[ "$point" != user ] || kill -CONT $CPIDS
		s=0
		wait "$RUN_PID" || s=$?
		expect_eq 137 "$s" "the exit status of mini-docker run killed at $point" || return 1
		RUN_PID=""
		ctr_recovered "the engine at $point" "$how" || return 1
		how=$([ "$how" = rm ] && echo prune || echo rm)
	done
}

# exercise: 05.2 05.4 05.5 05.8 05.9
@test "SIGKILL of run -d's monitor while it sets the container up: a clear error, dead, then rm or prune leaves nothing" {
	hint "monitor.c: the monitor records itself in state.json at once; the starter says when the monitor died before the start"
	ctr_setup
	how=prune
	for point in cgroup cloned network mounts user; do
		NAME=setupd-$point-$(random_word)
		start_run "$point" -d -u "$((2000 + RANDOM % 5000))" "$IMG" probe sleep 300 || return 1
		expect_eq "$ENGINE" "$(ctr_field monitor_pid)" "the monitor's PID in state.json (the process setting the container up)" || return 1
		kill_engine || return 1
		[ "$point" != user ] || kill -CONT $CPIDS
		s=0
		timeout 10 tail --pid="$RUN_PID" -f /dev/null || true
		wait "$RUN_PID" || s=$?
		RUN_PID=""
		# at mounts and user the monitor may have reported the start already (it waits 2 s for the execve)
		if [ "$point" != mounts ] && [ "$point" != user ] || [ "$s" != 0 ]; then
			expect_eq 125 "$s" "the exit status of run -d whose monitor was killed at $point" || return 1
			stderr=$(cat "$BATS_TEST_TMPDIR/run.err")
			expect_stderr_says "monitor" "run -d's error to say its monitor died" || return 1
		fi
		ctr_recovered "the monitor at $point" "$how" || return 1
		how=$([ "$how" = rm ] && echo prune || echo rm)
	done
}

# exercise: 05.2 05.4 05.5 05.8 05.9
@test "SIGKILL of run -d's starter while the monitor sets up: the container still starts" {
	hint "monitor.c: the monitor is in a session of its own; the starter only relays its messages"
	ctr_setup
	NAME=starter-$(random_word)
	start_run network -d "$IMG" probe sleep 300 || return 1
	kill -9 "$RUN_PID"
	wait "$RUN_PID" 2>/dev/null || true
	RUN_PID=""
	kill -CONT "$ENGINE"
	until_running || return 1
	mdn ps -q
	expect_eq "$(ctr_id | cut -c1-12)" "$output" "ps after the starter was killed (the container runs)" || return 1
	mdn rm -f "$NAME"
	expect_status 0 "rm -f of the running container" || return 1
	for _ in $(seq 1 100); do alive "$ENGINE" || break; sleep 0.05; done
	! alive "$ENGINE" || { echo "expected the monitor $ENGINE gone after rm -f, got it alive"; return 1; }
	expect_eq "" "$(ip -n "$NETNS" -o link show | awk -F': ' '$2 != "lo" {print $2}')" "links left after rm -f"
	expect_eq "names" "$(ls -A "$ROOT/containers")" "the container store after rm -f"
}

# exercise: 05.2 05.4 05.5 05.9
@test "SIGKILL of run while the container runs (as root and as a user): its processes die, dead, rm leaves nothing" {
	hint "ns.c: PR_SET_PDEATHSIG; a new uid clears it, so set it again after setuid, and check the engine still lives"
	ctr_setup
	how=rm
	for user in 0 $((2000 + RANDOM % 5000)); do
		NAME=run-u$user-$(random_word)
		start_run "" -u "$user" "$IMG" sh -c 'probe sleep 300 & exec probe sleep 300' || return 1
		ENGINE=$RUN_PID
		until_running || return 1
		kill_engine || return 1
		expect_eq 2 "$(wc -w <<<"$CPIDS" | tr -d ' ')" "the container's processes as user $user before the kill (init and a child): $CPIDS" || return 1
		wait "$RUN_PID" 2>/dev/null || true
		RUN_PID=""
		ctr_recovered "the engine of a container running as user $user" "$how" || return 1
		how=prune
	done
}

# exercise: 05.2 05.4 05.5 05.8 05.9
@test "SIGKILL of run -d's monitor while the container runs (as root and as a user): its processes die, dead, prune leaves nothing" {
	hint "ns.c: PR_SET_PDEATHSIG; the monitor is the container's parent"
	ctr_setup
	how=prune
	for user in 0 $((2000 + RANDOM % 5000)); do
		NAME=rund-u$user-$(random_word)
		mdn run -d --name "$NAME" -u "$user" "$IMG" sh -c 'probe sleep 300 & exec probe sleep 300'
		expect_status 0 "run -d as user $user" || return 1
		until_running || return 1
		ENGINE=$(ctr_field monitor_pid)
		kill_engine || return 1
		expect_eq 2 "$(wc -w <<<"$CPIDS" | tr -d ' ')" "the container's processes as user $user before the kill (init and a child): $CPIDS" || return 1
		ctr_recovered "the monitor of a container running as user $user" "$how" || return 1
		how=rm
	done
}

# ---- signals sent to run while it sets the container up ----

# run_ends WHAT: the run started by start_run ends within 10 s; RUN_STATUS is its exit status
run_ends() {
	timeout 10 tail --pid="$RUN_PID" -f /dev/null || true
	if alive "$RUN_PID"; then
		echo "expected mini-docker run to end within 10 s after $WHAT, got it still running (the signal was lost): $(cat "$BATS_TEST_TMPDIR/run.err")"
		return 1
	fi
	RUN_STATUS=0
	wait "$RUN_PID" || RUN_STATUS=$?
	RUN_PID=""
}

# exercise: 05.2 05.4 05.5 05.9
@test "a signal to run while it sets the container up is held, then passed on: the container ends as the signal says" {
	hint "run.c: block the forwarded signals from the record's creation until the container's PID is known, then deliver what came"
	ctr_setup
	for sig in TERM HUP USR1; do
		NAME=held-$sig-$(random_word)
		start_run network "$IMG" probe sleep 300 || return 1
		kill -s "$sig" "$ENGINE"
		kill -CONT "$ENGINE"
		WHAT="SIG$sig at network" run_ends || return 1
		expect_eq "$((128 + $(kill -l "$sig")))" "$RUN_STATUS" "the exit status of run sent SIG$sig while it set the container up" || return 1
		mdn ps -a
		expect_match "${NAME}\$" "$output" "ps -a after the run ended (no --rm: it stays)" || return 1
		expect_match "Exited \($((128 + $(kill -l "$sig")))\)" "$output" "ps -a after SIG$sig at network" || return 1
		mdn rm "$NAME"
		expect_status 0 "rm $NAME" || return 1
	done
}

# exercise: 05.2 05.4 05.5 05.9
@test "Ctrl-C or SIGTERM to run --rm as soon as its record exists: the container is passed the signal and removed, nothing left" {
	hint "run.c: the signals are held from container_create on (a SIGINT or SIGTERM there must not kill the engine half-way)"
	ctr_setup
	for point in created cgroup; do
		for sig in INT TERM; do
			NAME=rm-$point-$sig-$(random_word)
			# a shell's background job ignores SIGINT: give run the default action, as in a terminal
			RUN_WRAP="env --default-signal=INT" start_run "$point" --rm "$IMG" probe sleep 300 || return 1
			kill -s "$sig" "$ENGINE"
			kill -CONT "$ENGINE" 2>/dev/null || true # (the signal may have killed it)
			WHAT="SIG$sig at $point" run_ends || return 1
			expect_eq "$((128 + $(kill -l "$sig")))" "$RUN_STATUS" "the exit status of run --rm sent SIG$sig at $point" || return 1
			mdn ps -a
			expect_eq 1 "$(wc -l <<<"$output")" "ps -a after run --rm got SIG$sig at $point (only the header): $output" || return 1
			expect_eq "names" "$(ls -A "$ROOT/containers")" "the container store after run --rm got SIG$sig at $point" || return 1
			expect_eq "" "$(ls -A "$ROOT/containers/names")" "names taken after run --rm got SIG$sig at $point" || return 1
			expect_eq "" "$(find /sys/fs/cgroup -maxdepth 6 -type d -path "*/mini-docker/$ENGINE" 2>/dev/null)" \
				"cgroups of the run after SIG$sig at $point" || return 1
			expect_eq "" "$(ip -n "$NETNS" -o link show | awk -F': ' '$2 != "lo" {print $2}')" \
				"links left after SIG$sig at $point" || return 1
		done
	done
}

# exercise: 05.2 05.4 05.5 05.9
@test "the temporary copy of the leases a run killed while saving them is removed by the next run" {
	hint "ipam.c: under the leases' lock nobody writes a copy: with_leases removes the leases-*.tmp.* it finds"
	ctr_setup
	local ino stale
	ino=$(stat -L -c %i "/run/netns/$NETNS")
	# what write_file_atomic leaves when killed before its rename: leases-NETNS.tmp.PID (a PID past pid_max: nobody's)
	mkdir -p /run/mini-docker/bridge
	stale=/run/mini-docker/bridge/leases-$ino.tmp.$((4194304 + RANDOM))
	echo "10.88.0.2	half" >"$stale"
	NAME=lease-$(random_word)
	mdn run --rm --name "$NAME" "$IMG" probe exit 0
	expect_status 0 "run --rm on the bridge" || { rm -f "$stale"; return 1; }
	[ ! -e "$stale" ] || { rm -f "$stale"; echo "expected the run to remove the stale copy of the leases ${stale##*/}, got it there"; return 1; }
	expect_eq "" "$(ls /run/mini-docker/bridge | grep "^leases-$ino")" "the leases of the test's namespace after run --rm"
}

# ---- the image under a container ----

# exercise: 05.2 05.4 05.5 05.7 05.8 05.9
@test "rmi of an image a container uses: refused unless -f; -f takes the name, the layers stay until the container goes" {
	hint "images.c: rmi asks the containers (image_id in state.json), as docker; store_gc keeps the layers containers name"
	ctr_setup
	local layers stopped running
	layers=$(ls "$ROOT/layers")
	[ -n "$layers" ] || { echo "expected the test image's layers in ROOT/layers, got none"; return 1; }
	NAME=rmi-stopped-$(random_word)
	mdn run --name "$NAME" "$IMG" probe exit 3
	expect_status 3 "a container that ran and exited" || return 1
	stopped=$(ctr_id)
	mdn rmi "$IMG"
	expect_status 125 "rmi of the image of a stopped container (no -f)" || return 1
	expect_stderr_says "container ${stopped:0:12} is using its referenced image" "rmi's refusal" || return 1
	NAME=rmi-running-$(random_word)
	mdn run -d --name "$NAME" "$IMG" probe sleep 300
	expect_status 0 "run -d" || return 1
	until_running || return 1
	running=$(ctr_id)
	mdn rmi "$IMG"
	expect_status 125 "rmi of the image of a running container (no -f)" || return 1
	expect_stderr_says "image is being used by running container ${running:0:12}" "rmi's refusal" || return 1
	mdn images
	expect_match "localhost/faultimg +box" "$output" "images after the refused rmi" || return 1
	mdn rmi -f "$IMG"
	expect_status 0 "rmi -f of the image of a running container" || return 1
	expect_match "Untagged: $IMG" "$output" "what rmi -f did" || return 1
	mdn images
	[[ $output != *faultimg* ]] || { echo "expected rmi -f to take the name away, got: $output"; return 1; }
	expect_eq "$layers" "$(ls "$ROOT/layers")" "the layers after rmi -f, while containers use them" || return 1
	mdn exec "$NAME" probe exit 7
	expect_status 7 "exec of the image's probe in the running container after rmi -f (its files are still there)" || return 1
	mdn rm -f "$running" "$stopped"
	expect_status 0 "rm -f of both containers" || return 1
	mdn system prune
	expect_status 0 "system prune once no container uses the layers" || return 1
	expect_eq "" "$(ls "$ROOT/layers")" "the layers after the containers and the image are gone" || return 1
	store_consistent
}

# ---- system prune and rm against a run that is setting a container up, or was killed doing it ----

# exercise: 05.2 05.4 05.5 05.8 05.9
@test "system prune while run -d sets a container up leaves it alone: it starts and runs" {
	hint "prune.c: a container still created whose run or monitor is alive is being made, not a stopped one"
	ctr_setup
	local id s
	for point in created cgroup network; do
		NAME=prune-$point-$(random_word)
		start_run "$point" -d "$IMG" probe sleep 300 || return 1
		id=$(ctr_id)
		mdn system prune
		expect_status 0 "system prune while run -d is at $point" || return 1
		expect_match "Deleted containers: 0" "$output" "what system prune removed while run -d was at $point" || return 1
		[ -d "$ROOT/containers/$id" ] || { echo "expected system prune to leave the container being made at $point, got it removed"; return 1; }
		kill -CONT "$ENGINE" 2>/dev/null || true
		timeout 10 tail --pid="$RUN_PID" -f /dev/null || true
		s=0
		wait "$RUN_PID" || s=$?
		RUN_PID=""
		expect_eq 0 "$s" "the exit status of run -d that system prune raced at $point: $(cat "$BATS_TEST_TMPDIR/run.err")" || return 1
		expect_eq "$id" "$(cat "$BATS_TEST_TMPDIR/run.out")" "the ID run -d printed" || return 1
		until_running || return 1
		mdn ps -q
		expect_match "${id:0:12}" "$output" "ps after the race with system prune at $point" || return 1
		mdn rm -f "$NAME"
		expect_status 0 "rm -f $NAME" || return 1
	done
}

# exercise: 05.2 05.4 05.5 05.9
@test "run killed while its record is made: a name is taken only by a container ps -a lists; rm -f and prune free it" {
	hint "record.c: the record is made under a temporary name and renamed into place, the name taken last; rm takes the name first"
	ctr_setup
	for point in record created; do
		NAME=killed-$point-$(random_word)
		start_run "$point" "$IMG" probe sleep 300 || return 1
		kill_engine || return 1
		wait "$RUN_PID" 2>/dev/null || true
		RUN_PID=""
		mdn ps -a
		if [ -L "$ROOT/containers/names/$NAME" ]; then
			expect_match "Dead \(its engine was killed\) +$NAME\$" "$output" "ps -a while the name $NAME is taken (killed at $point)" || return 1
		fi
		mdn rm -f "$NAME"
		[ ! -L "$ROOT/containers/names/$NAME" ] || { echo "expected the name $NAME free after rm -f (exit status $status: $output $stderr), got it taken"; return 1; }
		mdn run --rm --name "$NAME" "$IMG" probe exit 5
		expect_status 5 "a run with the name $NAME after the kill at $point and rm -f" || return 1
		mdn system prune
		expect_status 0 "system prune after the kill at $point" || return 1
		expect_eq "names" "$(ls -A "$ROOT/containers")" "the container store after the kill at $point and prune (a half-made record removed)" || return 1
		expect_eq "" "$(ls -A "$ROOT/containers/names")" "names taken after prune" || return 1
	done
}

# exercise: 05.2 05.4 05.5 05.8 05.9
@test "a container that fills the store's disk: stop still records how it ended (Exited (137), not Dead)" {
	hint "record.c keeps ROOT/containers/ID/spare; state.c gives its blocks back when state.json meets a full disk"
	mkdir "$BATS_TEST_TMPDIR/small"
	mount -t tmpfs -o size=24m tmpfs "$BATS_TEST_TMPDIR/small"
	ROOT=$BATS_TEST_TMPDIR/small/store
	ctr_setup
	NAME=full-$(random_word)
	mdn run -d --name "$NAME" "$IMG" sh -c 'cat /dev/zero >/fill; exec probe sleep 300'
	expect_status 0 "run -d of a container that fills the disk" || return 1
	until_running || return 1
	expect_eq 0 "$(df --output=avail -B1 "$BATS_TEST_TMPDIR/small" | tail -n 1 | tr -d ' ')" \
		"bytes free on the store's disk once the container filled its upper dir" || return 1
	mdn stop -t 1 "$NAME"
	expect_status 0 "stop of the container that filled the disk" || return 1
	mdn ps -a
	expect_match "Exited \(137\) .* $NAME\$" "$output" "ps -a after stop (the monitor recorded the end on a full disk)" || return 1
	mdn rm "$NAME"
	expect_status 0 "rm $NAME" || return 1
	expect_eq "names" "$(ls -A "$ROOT/containers")" "the container store after rm" || return 1
	umount "$BATS_TEST_TMPDIR/small"
}
