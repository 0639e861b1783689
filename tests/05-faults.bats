#!/usr/bin/env bats
# Step 05, faults: mini-docker killed with SIGKILL while it downloads and while
# it unpacks, the registry killed mid-transfer, the store's disk full. After
# each, the next command works, the store is consistent (index.json names only
# complete images, tmp/ is cleared by the next writer), and nothing is left
# running. The registry is tests/fixtures/hostile/fakereg.py serving what
# tests/fixtures/hostile/mkfaults.py makes (a slow layer, many files, big ones).

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

@test "make clean-state removes what a crash left: cgroups with orphans, mounts, veths, the bridge" {
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
}
