#!/usr/bin/env bats
# Step 05, hostile input: a registry and images made to hurt. A fake registry
# (tests/fixtures/hostile/fakereg.py, on 127.0.0.1 and 127.0.0.2 inside the
# runner's network namespace) serves what tests/fixtures/hostile/mkhostile.py
# makes: layers that climb out, link out, loop, make devices, explode; and
# manifests that lie about their type, digest or shape. Every case must be
# refused with an error naming the cause, write nothing outside the store, and
# leave the store as it was. (tests/05-images.bats covers '../', an absolute
# symlink, a hard link to a host file, a char device, a wrong DiffID and a
# tampered blob against the real registry; this file covers the rest.)

bats_require_minimum_version 1.5.0
load helpers
load fixtures/registry

: "${MINI_DOCKER:=$REPO/steps/05-mini-docker/mini-docker}"
HOSTILE=$REPO/tests/fixtures/hostile

# fakereg NAME ADDR PORT ROUTES: start one fake registry, recorded for teardown_file
fakereg() {
	python3 "$HOSTILE/fakereg.py" "$2" "$3" "$4" "$BATS_FILE_TMPDIR/$1.log" >"$BATS_FILE_TMPDIR/$1.out" 2>&1 &
	echo $! >>"$BATS_FILE_TMPDIR/pids"
	wait_http "http://$2:$3/v2/"
}

setup_file() {
	[ "$(id -u)" = 0 ] && command -v python3 >/dev/null && command -v curl >/dev/null || return 0
	export MARK
	MARK=$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
	export HOSTDIR=$BATS_FILE_TMPDIR/host-dir HOSTFILE=$BATS_FILE_TMPDIR/host-file OUT=$BATS_FILE_TMPDIR/hostile
	mkdir -p "$HOSTDIR"
	echo "host secret $MARK" >"$HOSTFILE"
	export PORT OTHER_PORT AUTHED_PORT LONG_PORT
	PORT=$(free_port) OTHER_PORT=$(free_port) AUTHED_PORT=$(free_port) LONG_PORT=$(free_port)
	python3 "$HOSTILE/mkhostile.py" "$OUT" "$MARK" "$HOSTDIR" "$HOSTFILE" "$PORT" "127.0.0.2:$OTHER_PORT"
	fakereg main 127.0.0.1 "$PORT" "$OUT/routes.json"
	fakereg other 127.0.0.2 "$OTHER_PORT" "$OUT/other.json"
	fakereg authed 127.0.0.1 "$AUTHED_PORT" "$OUT/authed.json"
	fakereg longauth 127.0.0.1 "$LONG_PORT" "$OUT/longauth.json" || true # /v2/ answers 401: up is enough
	export REG=127.0.0.1:$PORT
}

teardown_file() {
	local pid
	[ -f "$BATS_FILE_TMPDIR/pids" ] || return 0
	while read -r pid; do kill "$pid" 2>/dev/null || true; done <"$BATS_FILE_TMPDIR/pids"
	while read -r pid; do
		for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null || true
	done <"$BATS_FILE_TMPDIR/pids"
}

setup() {
	require_root
	command -v python3 >/dev/null || skip "requires python3 (make deps)"
	command -v curl >/dev/null || skip "requires curl (make deps)"
	section "Step 05: mini-docker, images"
	[ -n "${REG:-}" ] || {
		echo "expected setup_file to start the fake registries, got none: see $BATS_FILE_TMPDIR"
		return 1
	}
	ROOT=$BATS_TEST_TMPDIR/store
	export REGISTRY_AUTH_FILE=$BATS_TEST_TMPDIR/auth.json
}

teardown() {
	if [ -n "${ROOTLESS_DIR:-}" ]; then rm -rf "$ROOTLESS_DIR"; fi
}

# md ARGS...: mini-docker on this test's store, bounded in time
md() {
	run --separate-stderr timeout --kill-after=5 120 "$MINI_DOCKER" --root "$ROOT" "$@"
	[ "$status" != 124 ] || echo "expected mini-docker $1 to finish within 120 s, got a hang (killed it)"
}

# the store as a reader sees it: index.json, every name under images/ and layers/, and tmp/
store_state() {
	cat "$ROOT/images/index.json" 2>/dev/null
	(cd "$ROOT" 2>/dev/null && find images layers tmp 2>/dev/null | LC_ALL=C sort) || true
}

# the host around the store: the directory and file a layer aims at, and any file named after MARK
# outside ROOT (the test dirs, and the top of / and /tmp, where a climbing entry would land)
host_state() {
	ls -A "$HOSTDIR"
	stat -c '%h %s %Y' "$HOSTFILE"
	cat "$HOSTFILE"
	find "$BATS_FILE_TMPDIR" "$BATS_TEST_TMPDIR" -name "*$MARK*" -not -path "$ROOT/*" 2>/dev/null | head -5
	find / /tmp "$(dirname "$BATS_FILE_TMPDIR")" -maxdepth 2 -xdev -name "*$MARK*" 2>/dev/null | head -5
}

# refused CASE SUBSTRING [ENV=VALUE...]: pulling REG/CASE fails with an error naming SUBSTRING,
# the store and the host unchanged
refused() {
	local name=$1 says=$2 before host
	shift 2
	before=$(store_state)
	host=$(host_state)
	run --separate-stderr env "$@" timeout --kill-after=5 120 "$MINI_DOCKER" --root "$ROOT" pull "$REG/$name"
	expect_status 125 "the hostile image '$name' to be refused" || return 1
	expect_stderr_says "$says" "the refusal of '$name' to name the cause" || return 1
	expect_eq "$before" "$(store_state)" "the store after refusing '$name'" || return 1
	expect_eq "$host" "$(host_state)" "the host files around the store after refusing '$name'"
}

# exercise: 05.1 05.2
@test "hostile layers: links out, loops, long names are refused by name; nothing outside is touched" {
	hint "unpack.c: each entry's directory is opened in-root (openat2 RESOLVE_IN_ROOT); hard links only to files of the image; no device nodes"
	md pull "$REG/abs"
	expect_status 0 "an image to start the store with"
	refused relsym "evil/pwned-$MARK"
	refused symloop "Too many levels of symbolic links"
	refused hlviasym "a hard link to a file that is not in the image"
	refused longname "the path is too long"
	expect_eq "" "$(ls -A "$HOSTDIR")" "the host directory a relative symlink climbed to"
}

# exercise: 05.1 05.2
@test "a layer's device node is skipped with a warning, never made: the image still pulls and runs, as a rootfs tarball's /dev" {
	hint "unpack.c entry: a char or block device (not a 0/0 whiteout) is not created; say so on stderr and go on"
	md pull "$REG/blockdev"
	expect_status 0 "the image with a block device dev/sda 8:0 in a layer" || return 1
	expect_stderr_says "skipped 'dev/sda', a device node (block 8:0)" "the warning naming the entry" || return 1
	expect_eq "" "$(find "$ROOT" -type b)" "block devices in the store" || return 1
	expect_eq "" "$(find "$ROOT" -type c -exec stat -c '%t:%T %n' {} + | grep -v '^0:0 ' || true)" \
		"char devices in the store other than whiteouts (0/0)"
}

# exercise: 05.1 05.2
@test "an absolute entry name and a file over a symlink land inside the root, as tar and Docker do" {
	hint "unpack.c: clean_path drops the leading '/'; an existing entry (even a symlink) is removed, never written through"
	host=$(host_state)
	md pull "$REG/abs"
	expect_status 0 "an entry named /escape-abs-$MARK to be unpacked inside the layer"
	[ -n "$(find "$ROOT/layers" -mindepth 2 -maxdepth 2 -name "escape-abs-$MARK")" ] ||
		{ echo "expected escape-abs-$MARK at the top of a layer dir, got: $(find "$ROOT/layers" -name "*$MARK*")"; return 1; }
	[ ! -e "/escape-abs-$MARK" ] || { rm -f "/escape-abs-$MARK"; echo "expected nothing at /escape-abs-$MARK on the host, got a file"; return 1; }
	md pull "$REG/symfile"
	expect_status 0 "a file entry that replaces a symlink to a host file"
	f=$(find "$ROOT/layers" -mindepth 2 -maxdepth 2 -name passwd)
	expect_eq "image's own $MARK" "$(cat "$f")" "the file passwd in the layer (not a link to the host file)"
	expect_eq "$host" "$(host_state)" "the host files after both pulls"
}

# exercise: 05.1 05.2
@test "bombs and broken archives: a gzip bomb, too many entries, a huge tar header, a truncated gzip" {
	hint "unpack.c: max_bytes and max_entries caps (MINI_DOCKER_MAX_UNPACK, MINI_DOCKER_MAX_ENTRIES); libarchive's errors are reported as they are"
	md pull "$REG/abs"
	refused bomb "unpacks to more than 16777216 bytes" MINI_DOCKER_MAX_UNPACK=16777216
	refused entries "too many entries" MINI_DOCKER_MAX_ENTRIES=1000
	refused hugesize "Truncated tar archive"
	refused truncgz "truncated gzip input"
	# the caps are what stopped the first two: with the defaults they are fine images
	md pull "$REG/entries"
	expect_status 0 "3000 entries under the default cap"
}

# exercise: 05.1
@test "lying documents: bad JSON, index/manifest confusion, wrong media types, a digest that does not match" {
	hint "image.c: image_parse_manifest (mediaType vs Content-Type, CVE-2021-41190), image_check_manifest; pull.c checks a manifest pulled by digest"
	md pull "$REG/abs"
	refused badjson "not a JSON object"
	refused confusion "contradicts its Content-Type"
	refused ambiguous "both manifests and layers"
	refused nested "an index inside an index"
	refused wrongmt "unsupported manifest media type text/html"
	refused bigmanifest "larger than 4194304 bytes"
	refused badlayermt "unsupported media type application/vnd.oci.image.layer.v1.tar+bzip2"
	refused artifact "not a container image"
	refused badconfig "is not JSON"
	refused "digest@$(cat "$OUT/digest-a")" "hashes to"
}

@test "an over-long WWW-Authenticate is refused, not cut" {
	hint "http.c: on_header marks a challenge longer than it reads; registry.c: get_authed refuses it"
	md images
	before=$(store_state)
	md pull "127.0.0.1:$LONG_PORT/x"
	expect_status 125 "a 70 KB challenge"
	expect_stderr_says "WWW-Authenticate header longer than" "the error to name the header"
	expect_eq "$before" "$(store_state)" "the store"
}

# exercise: 05.1 05.2
@test "a blob redirected to another host is fetched without our credentials" {
	hint "http.c: http_get follows redirects by hand and drops Authorization when the host:port changes"
	: >"$BATS_FILE_TMPDIR/other.log"
	: >"$BATS_FILE_TMPDIR/authed.log"
	md pull "127.0.0.1:$AUTHED_PORT/redirect"
	expect_status 125 "a pull without credentials from a registry that wants them"
	user=u$RANDOM pass=p$RANDOM$RANDOM
	printf '{"auths":{"127.0.0.1:%s":{"auth":"%s"}}}' "$AUTHED_PORT" "$(printf '%s:%s' "$user" "$pass" | base64)" >"$REGISTRY_AUTH_FILE"
	md pull "127.0.0.1:$AUTHED_PORT/redirect"
	expect_status 0 "the pull through the redirect"
	[ -n "$(find "$ROOT/layers" -name "cdn-$MARK")" ] || { echo "expected the layer served by the other host in the store, got none"; return 1; }
	grep -q '"Authorization"' "$BATS_FILE_TMPDIR/authed.log" ||
		{ echo "expected the registry itself to get our credentials, got none: $(cat "$BATS_FILE_TMPDIR/authed.log")"; return 1; }
	n=$(grep -c '/cdn/' "$BATS_FILE_TMPDIR/other.log")
	[ "$n" -ge 2 ] || { echo "expected the config and the layer from the other host, got $n requests"; return 1; }
	if grep -qi 'authorization' "$BATS_FILE_TMPDIR/other.log"; then
		echo "expected no Authorization header at the other host, got: $(grep -i authorization "$BATS_FILE_TMPDIR/other.log" | head -1)"
		return 1
	fi
}

@test "image names with '..' are refused before anything is fetched" {
	hint "ref.c: a registry is host[:port]; a repository is lowercase components; a tag starts with a letter, digit or _"
	: >"$BATS_FILE_TMPDIR/main.log"
	for name in "../x" "../../etc/passwd" "$REG/../x" "$REG/a/../../x" "$REG/..:latest" "$REG/x:.." "..:5000/x" "a..b/x" "$REG/x/.."; do
		md pull "$name"
		expect_status 125 "pull '$name'" || return 1
		expect_stderr_says "invalid reference" "the error for '$name'" || return 1
		md inspect "$name"
		expect_status 125 "inspect '$name'" || return 1
	done
	expect_eq "" "$(cat "$BATS_FILE_TMPDIR/main.log")" "requests the registry got for those names"
	expect_eq "" "$(find "$BATS_TEST_TMPDIR" -name '*passwd*')" "files named after those names"
}

# exercise: 05.1 05.2 05.3 05.4 05.5 05.6 05.7 05.8 05.9
@test "rootless: a setuid-root file of an image is owned by the user and out of other users' reach" {
	hint "unpack.c: only root chowns (is_root); store.c: layers/ is 0700"
	command -v setpriv >/dev/null || skip "requires setpriv (util-linux)"
	ROOTLESS_DIR=$(mktemp -d /tmp/mini-docker-rootless.XXXXXX)
	chmod 755 "$ROOTLESS_DIR"
	chown 65534:65534 "$ROOTLESS_DIR"
	run --separate-stderr timeout 120 setpriv --reuid=65534 --regid=65534 --clear-groups \
		env -u XDG_RUNTIME_DIR REGISTRY_AUTH_FILE="$ROOTLESS_DIR/auth.json" "$MINI_DOCKER" --root "$ROOTLESS_DIR/store" pull "$REG/setuid"
	expect_status 0 "an unprivileged pull of an image with a setuid-root file"
	f=$(find "$ROOTLESS_DIR/store/layers" -name "su-$MARK")
	[ -n "$f" ] || { echo "expected bin/su-$MARK in a layer dir, got none"; return 1; }
	expect_eq "65534:65534" "$(stat -c %u:%g "$f")" "the owner of the setuid file (the user, not root)"
	expect_eq "" "$(find "$ROOTLESS_DIR" -uid 0)" "files owned by root in the rootless store"
	expect_eq "700" "$(stat -c %a "$ROOTLESS_DIR/store/layers")" "the mode of layers/ (no other user reaches a setuid file)"
}

# exercise: 05.2
@test "an opaque whiteout over a big directory unpacks in linear time (CPU time of N vs 4N entries)" {
	hint "unpack.c made_here: what a layer made is a hash set (its paths and their directories), not a list scanned per entry"
	# user CPU time, not wall-clock: a list scan makes 4x the entries cost 16x, a hash set 4x
	for n in 15000 60000; do
		python3 "$HOSTILE/mkopaque.py" "$BATS_TEST_TMPDIR/layout$n" "$n"
		md load -i "$BATS_TEST_TMPDIR/layout$n"
		expect_status 0 "load of the layout with $n entries a layer" || return 1
		rm -rf "$BATS_TEST_TMPDIR/flat"
		cpu=$(python3 -c 'import resource, subprocess, sys
p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
print(p.returncode, int(resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime * 1000))' \
			"$MINI_DOCKER" --root "$ROOT" unpack "localhost/layout$n:opaque" "$BATS_TEST_TMPDIR/flat")
		expect_eq 0 "${cpu% *}" "the exit status of unpack with $n entries a layer" || return 1
		expect_eq "0 $n" "$(ls -A "$BATS_TEST_TMPDIR/flat/d" | wc -l) $(ls -A "$BATS_TEST_TMPDIR/flat/x" | wc -l)" \
			"entries of d/ (made opaque) and x/ (made by the upper layer)" || return 1
		eval "ms$n=${cpu#* }"
	done
	small=$((ms15000 > 50 ? ms15000 : 50))
	[ $((ms60000 * 10 / small)) -lt 80 ] || {
		echo "expected at most 8x the CPU time for 4x the entries (linear: 4x, quadratic: 16x), got ${ms15000} ms then ${ms60000} ms"
		return 1
	}
}

# exercise: 05.2
@test "rmi removes a layer deeper than the open-file limit, and fails when something stays" {
	hint "util.c rm_rf_at: down and up through '..' with two descriptors, not one per level; store.c sweep reports what it could not remove"
	python3 "$HOSTILE/mkdeep.py" "$BATS_TEST_TMPDIR/deep" 400
	md load -i "$BATS_TEST_TMPDIR/deep"
	expect_status 0 "load of an image 400 directories deep" || return 1
	run --separate-stderr bash -c 'ulimit -n 40 && exec "$0" --root "$1" rmi localhost/deep:deep' "$MINI_DOCKER" "$ROOT"
	expect_status 0 "rmi of the deep image with at most 40 open files" || return 1
	expect_eq "" "$(ls -A "$ROOT/layers")" "ROOT/layers after rmi" || return 1
	# a file nobody may remove (immutable): rmi must say so, not claim success
	md load -i "$BATS_TEST_TMPDIR/deep"
	leaf=$(find "$ROOT/layers" -name f | awk 'length > max { max = length; p = $0 } END { print p }')
	chattr +i "$leaf" 2>/dev/null || skip "requires chattr +i on the test's file system"
	run --separate-stderr bash -c 'ulimit -n 40 && exec "$0" --root "$1" rmi localhost/deep:deep' "$MINI_DOCKER" "$ROOT"
	chattr -i "$leaf"
	expect_eq 125 "$status" "the exit status of rmi that could not remove a file of the layer" || return 1
	expect_stderr_says "could not remove all of" "the error to say what stayed"
}
