#!/usr/bin/env bats
# Step 05, the registry client under stress: credentials that must never travel
# in clear, registries that never finish an answer, answer "try again later" or
# break a transfer off, and a slow pull next to another one. The registry is
# tests/fixtures/hostile/fakereg.py (on 127.0.0.1, inside the runner's network
# namespace) serving what tests/fixtures/hostile/mkflaky.py makes; one instance
# speaks TLS and plain http on the same port, with a CA the tests make.

bats_require_minimum_version 1.5.0
load helpers
load fixtures/registry

: "${MINI_DOCKER:=$REPO/steps/05-mini-docker/mini-docker}"
HOSTILE=$REPO/tests/fixtures/hostile

# fakereg NAME PORT ROUTES [CERT KEY]: one fake registry on 127.0.0.1, recorded for teardown_file
fakereg() {
	local name=$1 port=$2 routes=$3
	shift 3
	python3 "$HOSTILE/fakereg.py" 127.0.0.1 "$port" "$routes" "$BATS_FILE_TMPDIR/$name.log" "$@" \
		>"$BATS_FILE_TMPDIR/$name.out" 2>&1 &
	echo $! >>"$BATS_FILE_TMPDIR/pids"
	wait_http "http://127.0.0.1:$port/v2/"
}

setup_file() {
	command -v python3 >/dev/null && command -v curl >/dev/null && command -v openssl >/dev/null || return 0
	export OUT=$BATS_FILE_TMPDIR/flaky PORT TLS_PORT REALM_PORT
	PORT=$(free_port) TLS_PORT=$(free_port) REALM_PORT=$(free_port)
	python3 "$HOSTILE/mkflaky.py" "$OUT" "$TLS_PORT"
	make_ca
	fakereg plain "$PORT" "$OUT/routes.json"
	fakereg tls "$TLS_PORT" "$OUT/tls.json" "$REG_BASE/reg.crt" "$REG_BASE/reg.key" || true # 401 is up
	fakereg realm "$REALM_PORT" "$OUT/realm.json" || true
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
	command -v python3 >/dev/null || skip "requires python3 (make deps)"
	command -v curl >/dev/null || skip "requires curl (make deps)"
	command -v openssl >/dev/null || skip "requires openssl (make deps)"
	section "Step 05: mini-docker, images"
	[ -n "${REG:-}" ] || {
		echo "expected setup_file to start the fake registries, got none: see $BATS_FILE_TMPDIR"
		return 1
	}
	ROOT=$BATS_TEST_TMPDIR/store
	export REGISTRY_AUTH_FILE=$BATS_TEST_TMPDIR/auth.json
	SLOW_PID=""
}

teardown() {
	if [ -n "${SLOW_PID:-}" ]; then kill -9 "$SLOW_PID" 2>/dev/null || true; fi
}

# md ARGS...: mini-docker on this test's store, bounded in time
md() {
	run --separate-stderr timeout --kill-after=5 60 "$MINI_DOCKER" --root "$ROOT" "$@"
	[ "$status" != 124 ] || echo "expected mini-docker $1 to finish within 60 s, got a hang (killed it)"
}

# requests NAME PATTERN: the requests the fake registry NAME got for paths matching PATTERN,
# one per line: PATH TLS AUTHORIZATION RANGE
requests() {
	python3 - "$BATS_FILE_TMPDIR/$1.log" "$2" <<'PY'
import json, re, sys
for line in open(sys.argv[1]):
    j = json.loads(line)
    if re.search(sys.argv[2], j["path"]):
        h = j["headers"]
        print(j["path"], "tls" if j["tls"] else "plain", h.get("Authorization", "-").replace(" ", "_"),
              h.get("Range", "-"))
PY
}

# the store as a reader sees it, and what tmp/ holds
store_state() {
	cat "$ROOT/images/index.json" 2>/dev/null
	(cd "$ROOT" 2>/dev/null && find images layers tmp 2>/dev/null | LC_ALL=C sort) || true
}

login_for() {
	printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$1" "$(printf 'workshop:s3cret-%s' "$MARK" | base64 -w0)" >"$REGISTRY_AUTH_FILE"
}

# exercise: 05.1 05.2
@test "credentials never go in clear: not after an https -> http redirect on the same host:port" {
	hint "http.c http_get: Authorization follows a redirect only to the same scheme, host and port"
	MARK=$(random_word)
	login_for "127.0.0.1:$TLS_PORT"
	md --ca-file "$REG_BASE/ca.crt" pull "127.0.0.1:$TLS_PORT/downgrade"
	expect_status 0 "a pull whose blobs redirect to plain http (they are checked by digest)" || return 1
	cdn=$(requests tls '^/cdn/')
	[ -n "$cdn" ] || { echo "expected the blobs to be fetched from /cdn/ over plain http, got no such request"; return 1; }
	echo "$cdn" | while read -r path tls auth range; do
		expect_eq plain "$tls" "the redirected request for $path (plain http, as the redirect said)" || return 1
		expect_eq - "$auth" "the Authorization header sent in clear for $path" || return 1
	done
	manifest=$(requests tls '^/v2/downgrade/manifests/' | head -1)
	[[ $manifest == *" tls Basic_"* ]] || { echo "expected the manifest request over TLS with the credentials, got: $manifest"; return 1; }
}

@test "a token realm over plain http on a host not allowed insecure gets no credentials" {
	hint "registry.c get_token: the realm's own host decides whether plain http may carry credentials, not the registry's"
	MARK=$(random_word)
	login_for "127.0.0.1:$REALM_PORT"
	md images
	before=$(store_state)
	md -v pull "127.0.0.1:$REALM_PORT/anything"
	expect_status 125 "a registry that sends us to http://192.0.2.1 for a token" || return 1
	expect_stderr_says "refusing a realm that is not https" "the error to say why" || return 1
	[[ $stderr != *"=> GET http://192.0.2.1"* ]] || { echo "expected no request to the realm, got: $stderr"; return 1; }
	expect_eq "$before" "$(store_state)" "the store after the refused realm"
}

@test "an endless error body is read at most 64 KiB, then the status is the error" {
	hint "http.c on_body: an error body past MAX_ERROR_BODY aborts the transfer; the status says what went wrong"
	md pull "$REG/endless"
	expect_status 125 "a manifest answered by a 404 that never ends" || return 1
	expect_stderr_says "not found" "the error to say the 404" || return 1
	expect_stderr_says "stopped reading it" "the error to say the body was cut"
}

# exercise: 05.1
@test "a stalled layer fails after the low-speed window; --pull-timeout ends a pull that is too slow" {
	hint "http.c http_once: CURLOPT_LOW_SPEED_LIMIT/TIME from --low-speed-limit/--low-speed-time, CURLOPT_TIMEOUT_MS from the deadline"
	md images
	before=$(store_state)
	md --low-speed-limit 100000 --low-speed-time 2 pull "$REG/trickle"
	expect_status 125 "a layer at 2000 bytes/s with a window of 100000 bytes/s over 2 s" || return 1
	expect_stderr_says "Operation too slow" "the error to say the transfer was too slow" || return 1
	expect_stderr_says "--low-speed-limit" "the error to name the flag that changes it" || return 1
	expect_eq "$before" "$(store_state)" "the store after the stalled pull" || return 1
	md --pull-timeout 2 pull "$REG/trickle"
	expect_status 125 "a pull of 256 KiB at 2000 bytes/s with a deadline of 2 s" || return 1
	expect_stderr_says "longer than --pull-timeout 2 s" "the error to name the deadline" || return 1
	expect_eq "$before" "$(store_state)" "the store after the pull that ran out of time"
}

@test "the pull limits' flags take whole numbers in range, else a one-line error" {
	hint "main.c number_opt"
	for bad in "--pull-timeout -1" "--retry lots" "--low-speed-time 0" "--retry-delay 1.5" "--low-speed-limit 12k"; do
		# shellcheck disable=SC2086
		md $bad images
		expect_status 125 "mini-docker $bad images" || return 1
		expect_match "^mini-docker: ${bad%% *} wants a whole number" "$stderr" "the error of $bad" || return 1
		expect_eq 1 "$(printf '%s\n' "$stderr" | wc -l)" "lines of the error of $bad" || return 1
	done
}

# exercise: 05.1 05.2
@test "503, 429 with Retry-After, 500 and a cut transfer are tried again; the blob resumes with Range" {
	hint "registry.c get_retrying: transient answers are retried with backoff; a cut blob asks for Range: bytes=N- and the hash covers the whole"
	md --retry-delay 0 pull "$REG/flaky"
	expect_status 0 "a pull through two 503s, a 429, a 500 and a cut layer" || return 1
	expect_eq 3 "$(requests plain '^/v2/flaky/manifests/' | wc -l)" "requests of the manifest (two 503s, then 200)" || return 1
	[[ $stderr == *"HTTP 429; trying again in 1.0 s"* ]] || { echo "expected the 429's Retry-After: 1 to be honoured, got: $stderr"; return 1; }
	ranges=$(requests plain '^/v2/flaky/blobs/' | awk '$4 != "-" {print $4}')
	expect_eq "bytes=40960-" "$ranges" "the Range of the request after the transfer broke off at 40 KiB" || return 1
	md inspect "$REG/flaky"
	[[ $output == *"IMAGE=flaky"* ]] || { echo "expected the pulled image's config, got: $output"; return 1; }
	expect_eq "" "$(ls -A "$ROOT/tmp")" "tmp/ after the pull"
}

# exercise: 05.1 05.2
@test "a registry that ignores Range sends the blob again whole; the digest is checked over it all" {
	hint "http.c on_body: a 200 to a Range request starts the file and the hash again"
	md --retry-delay 0 pull "$REG/norange"
	expect_status 0 "a pull whose layer broke off once, from a registry without Range" || return 1
	layer=$(python3 -c 'import json, sys
r = json.load(open(sys.argv[1] + "/routes.json"))
print(json.load(open(sys.argv[1] + "/" + r["/v2/norange/manifests/latest"]["file"]))["layers"][0]["digest"])' "$OUT")
	expect_eq "- bytes=40960-" "$(requests plain "^/v2/norange/blobs/$layer" | awk '{print $4}' | xargs)" \
		"the Range of the layer's two requests (cut at 40 KiB, then asked from there; it came whole)" || return 1
	python3 - "$ROOT" <<'PY'
import hashlib, os, sys
d = f"{sys.argv[1]}/images/blobs/sha256"
for f in os.listdir(d):
    if hashlib.sha256(open(f"{d}/{f}", "rb").read()).hexdigest() != f:
        sys.exit(f"expected each blob to hash to its name, got {f} wrong")
PY
}

@test "retries are bounded: --retry 2 is three attempts; a Retry-After beyond 60 s is not waited for" {
	hint "registry.c get_retrying: 1 + --retry attempts; MAX_RETRY_WAIT"
	before=$(requests plain '^/v2/busy/manifests/' | wc -l)
	md --retry 2 --retry-delay 0 pull "$REG/busy"
	expect_status 125 "a registry that answers 503 forever" || return 1
	expect_stderr_says "HTTP 503" "the error to give the status" || return 1
	expect_stderr_says "3 attempts" "the error to say how often it tried" || return 1
	expect_eq 3 "$(($(requests plain '^/v2/busy/manifests/' | wc -l) - before))" "requests of the manifest" || return 1
	before=$(requests plain '^/v2/later/manifests/' | wc -l)
	md pull "$REG/later"
	expect_status 125 "a registry that asks us to come back in an hour" || return 1
	expect_stderr_says "wait 3600 s" "the error to say what the registry asked" || return 1
	expect_eq 1 "$(($(requests plain '^/v2/later/manifests/' | wc -l) - before))" "requests of the manifest"
}

# exercise: 05.1 05.2
@test "a pull that trickles does not hold the store: another pull into it completes meanwhile" {
	hint "pull.c, store.c: the download goes into a flock'ed stage without ROOT/lock; the lock is taken only to commit"
	md images
	"$MINI_DOCKER" --root "$ROOT" pull "$REG/trickle" >"$BATS_TEST_TMPDIR/slow.out" 2>&1 &
	SLOW_PID=$!
	for _ in $(seq 1 200); do
		[ -n "$(find "$ROOT/tmp" -type f -size +2k 2>/dev/null | head -1)" ] && break
		sleep 0.05
	done
	stage=$(find "$ROOT/tmp" -type f -size +2k 2>/dev/null | head -1)
	[ -n "$stage" ] || { echo "expected the slow pull to be downloading its layer into tmp/, got: $(cat "$BATS_TEST_TMPDIR/slow.out")"; return 1; }
	run --separate-stderr timeout --kill-after=5 30 "$MINI_DOCKER" --root "$ROOT" pull "$REG/small"
	expect_status 0 "a pull of another image while the first trickles (256 KiB at 2000 bytes/s)" || return 1
	[[ $stderr != *"waiting for another mini-docker"* ]] || { echo "expected no wait for the store's lock, got: $stderr"; return 1; }
	kill -0 "$SLOW_PID" 2>/dev/null || { echo "expected the slow pull still downloading, got it ended: $(cat "$BATS_TEST_TMPDIR/slow.out")"; return 1; }
	[ -f "$stage" ] || { echo "expected the slow pull's stage kept by the other pull's clean-up of tmp/, got it removed"; return 1; }
	md images
	[[ $output == *"$REG/small"* ]] || { echo "expected $REG/small in mini-docker images, got: $output"; return 1; }
	kill -9 "$SLOW_PID"
	wait "$SLOW_PID" 2>/dev/null || true
	SLOW_PID=""
	md pull "$REG/small"
	expect_status 0 "a pull after the slow one was killed" || return 1
	expect_eq "" "$(ls -A "$ROOT/tmp")" "tmp/ after the next writer (the killed pull's stage cleared)"
}
