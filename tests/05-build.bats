#!/usr/bin/env bats
# Step 05, build: mini-docker build turns a Dockerfile into an image, step by
# step, with the engine's own parts: RUN runs in a container (run --rootfs on
# an overlay of the layers so far), the upper dir becomes a layer (a tar with
# whiteouts, gzip, digest, DiffID), COPY writes the context into the overlay.
# The base image is built here too, FROM scratch with COPY of the test rootfs,
# and pushed to Debian's docker-registry on 127.0.0.1, where podman and
# skopeo + umoci read what mini-docker built.

bats_require_minimum_version 1.5.0
load helpers
load fixtures/registry

: "${MINI_DOCKER:=$REPO/steps/05-mini-docker/mini-docker}"

setup_file() {
	[ "$(id -u)" = 0 ] || return 0
	for t in docker-registry skopeo umoci python3 curl; do
		command -v "$t" >/dev/null || return 0
	done
	export REG_BASE=$BATS_FILE_TMPDIR/registries
	registry_start plain plain
	export PLAIN=127.0.0.1:$REG_PORT
	# the base image: the busybox rootfs as one layer, built and pushed by mini-docker itself
	local ctx=$BATS_FILE_TMPDIR/base root=$BATS_FILE_TMPDIR/base-store
	mkdir -p "$ctx"
	cp -a "$ROOTFS_SRC" "$ctx/rootfs"
	printf 'FROM scratch\nCOPY rootfs/ /\nCMD ["sh"]\n' >"$ctx/Dockerfile"
	{
		"$MINI_DOCKER" --root "$root" build -t "$PLAIN/base" "$ctx" &&
			"$MINI_DOCKER" --root "$root" --insecure-registry "$PLAIN" push "$PLAIN/base"
	} >"$BATS_FILE_TMPDIR/base.log" 2>&1 || echo failed >"$BATS_FILE_TMPDIR/base.failed"
	rm -rf "$root"
}

teardown_file() {
	registry_stop_all
}

setup() {
	require_root
	for t in docker-registry skopeo umoci python3 curl; do
		command -v "$t" >/dev/null || skip "requires $t (make deps)"
	done
	section "Step 05: mini-docker, build"
	if [ -e "$BATS_FILE_TMPDIR/base.failed" ] || [ -z "${PLAIN:-}" ]; then
		echo "expected setup_file to build and push the base image, got:"
		cat "$BATS_FILE_TMPDIR/base.log" 2>/dev/null
		return 1
	fi
	ROOT=$BATS_TEST_TMPDIR/store
	CTX=$BATS_TEST_TMPDIR/ctx
	# podman beside us, with a store of this test's own: vfs (no overlay mounts to leave behind), runc and
	# cgroupfs (crun and systemd refuse a hybrid cgroup host), and a file limit this host's hard limit allows;
	# its containers' cgroups under $CG (else it leaves libpod_parent at each hierarchy's root)
	PODMAN=(podman --root "$BATS_TEST_TMPDIR/podman" --runroot "$BATS_TEST_TMPDIR/podman-run" --storage-driver vfs
		--cgroup-manager cgroupfs --runtime runc)
	CG=mdbuild-$(random_word)
	mkdir -p "$CTX"
}

teardown() {
	remove_cgroups "${CG:-}" || return 1
	# a build's overlays live in its own mount namespace: none may be left in ours
	if grep -q "$BATS_TEST_TMPDIR" /proc/self/mountinfo; then
		echo "expected no mount under the test's directory after the build, got:"
		grep "$BATS_TEST_TMPDIR" /proc/self/mountinfo
		return 1
	fi
}

# md ARGS...: mini-docker on this test's store, bounded in time
md() {
	run --separate-stderr timeout --kill-after=5 120 "$MINI_DOCKER" --root "$ROOT" --insecure-registry "$PLAIN" "$@"
	[ "$status" != 124 ] || echo "expected mini-docker $1 to finish within 120 s, got a hang (killed it)"
}

# dockerfile LINES...: the context's Dockerfile
dockerfile() {
	printf '%s\n' "$@" >"$CTX/Dockerfile"
}

expect_built() {
	if [ "$status" != 0 ]; then
		echo "expected mini-docker build to succeed, got status $status:"
		printf '%s\n%s\n' "$output" "$stderr"
		return 1
	fi
}

# the image ID build printed last
built_id() {
	tail -n 1 <<<"$output"
}

# json EXPR IMAGE: a Python expression over the image's config blob (c) and its manifest (m)
json() {
	python3 - "$ROOT" "$2" "$1" <<'PY'
import json, sys, os
root, name, expr = sys.argv[1:]
idx = json.load(open(os.path.join(root, "images/index.json")))
blob = lambda d: json.load(open(os.path.join(root, "images/blobs/sha256", d.split(":")[1])))
want = name if "/" in name else "docker.io/library/" + name
want = want if ":" in want.rsplit("/", 1)[-1] else want + ":latest"
for d in idx["manifests"]:
    if d.get("annotations", {}).get("org.opencontainers.image.ref.name") == want:
        m = blob(d["digest"])
        c = blob(m["config"]["digest"])
        print(json.dumps(eval(expr)) if not isinstance(eval(expr), str) else eval(expr))
        break
PY
}

# exercise: 05.1 05.2 05.4 05.5
@test "build: the slides' loop, a Dockerfile with COPY, RUN, ENV, WORKDIR and CMD becomes an image that runs" {
	hint "build.c: each instruction applied to the state the ones before made; buildfs.c: RUN in a container, its upper dir a layer"
	printf '#!/bin/sh\necho "rantune plays $TUNE in $(pwd)"\n' >"$CTX/rantune.sh"
	chmod 755 "$CTX/rantune.sh"
	dockerfile "FROM $PLAIN/base" \
		"# the slides' example" \
		"COPY rantune.sh /usr/local/bin/rantune" \
		"RUN mkdir -p /srv/music && echo built > /srv/music/state" \
		"ENV TUNE=jazz" \
		"WORKDIR /srv/music" \
		'CMD ["rantune"]'
	md build -t rantune "$CTX"
	expect_built || return 1
	expect_match "STEP 1/6: FROM $PLAIN/base" "$output" "the first step" || return 1
	expect_match "STEP 3/6: RUN mkdir" "$output" "the RUN step" || return 1
	md run --rm --network none rantune
	expect_status 0 "the built image to run its CMD" || return 1
	expect_eq "rantune plays jazz in /srv/music" "$output" "what the built image's CMD printed" || return 1
	md run --rm --network none rantune cat /srv/music/state
	expect_eq "built" "$output" "the file RUN wrote" || return 1
	expect_eq '["rantune"]' "$(json 'c["config"]["Cmd"]' rantune)" "the image's Cmd" || return 1
	expect_eq "/srv/music" "$(json 'c["config"]["WorkingDir"]' rantune)" "WorkingDir" || return 1
	# history: every instruction after FROM, the config-only ones marked empty_layer
	expect_eq 3 "$(json 'len([h for h in c["history"] if not h.get("empty_layer")])' rantune)" \
		"layers in the history (the base's COPY, COPY, RUN)" || return 1
	expect_eq "$(json 'len(c["rootfs"]["diff_ids"])' rantune)" "$(json 'len(m["layers"])' rantune)" \
		"diff_ids in the config, for the manifest's layers" || return 1
	md images
	expect_match "rantune" "$output" "images to list the built image" || return 1
}

# exercise: 05.1 05.2 05.4 05.5
@test "build: history lists the steps newest first, each RUN and COPY with its layer's size; a build without -t is <none>" {
	hint "images.c: the config's history, the Nth entry that made a layer is layer N; index.json keeps an unnamed build"
	head -c 300000 /dev/urandom >"$CTX/blob"
	dockerfile "FROM $PLAIN/base" "COPY blob /blob" "RUN echo small > /small" "ENV A=1"
	md build "$CTX"
	expect_built || return 1
	id=$(built_id)
	md images
	expect_match "<none> +<none> +${id:0:12}" "$output" "images to list the unnamed build" || return 1
	md history "${id:0:12}"
	expect_status 0 "history of the built image" || { echo "$stderr"; return 1; }
	lines=$(sed 1d <<<"$output")
	expect_match "^${id:0:12} .*ENV A=1 +0B$" "$(sed -n 1p <<<"$lines")" "the newest step, first, with the image ID" || return 1
	expect_match "RUN echo small > /small" "$(sed -n 2p <<<"$lines")" "the RUN, second" || return 1
	expect_match "COPY blob /blob +(29[0-9]|3[0-4][0-9])kB$" "$(sed -n 3p <<<"$lines")" "the COPY's layer, about 300 kB" || return 1
	expect_eq 5 "$(wc -l <<<"$lines")" "steps (3 here, CMD and COPY of the base)" || return 1
}

# exercise: 05.1 05.2 05.3 05.4 05.5
@test "build: RUN that deletes a file and empties a directory makes whiteouts, as a pulled layer has them" {
	hint "layer.c: overlayfs' whiteout (char 0:0) becomes .wh.NAME in the tar, an opaque dir .wh..wh..opq"
	dockerfile "FROM $PLAIN/base" "RUN rm /bin/probe && rm -rf /usr && mkdir /usr && echo new > /usr/only"
	md build -t gone "$CTX"
	expect_built || return 1
	md run --rm --network none gone sh -c 'ls /usr; test -e /bin/probe && echo probe-still-there; true'
	expect_eq "only" "$output" "/usr in the built image" || return 1
	# the layer blob itself, read by tar
	layer=$(json 'm["layers"][-1]["digest"]' gone)
	listing=$(tar -tzf "$ROOT/images/blobs/sha256/${layer#sha256:}")
	expect_match "bin/.wh.probe" "$listing" "a whiteout for /bin/probe in the layer" || return 1
	expect_match "usr/.wh..wh..opq" "$listing" "an opaque marker for the re-made /usr" || return 1
	# the mount points run made (etc/hostname...) are not part of the layer
	if grep -q -e 'etc/hostname' -e 'etc/resolv.conf' <<<"$listing"; then
		echo "expected the layer without run's mount points, got: $listing"
		return 1
	fi
}

# exercise: 05.1 05.2 05.4 05.5
@test "build: a second build hits the cache at each step and makes the same image; a changed file re-runs from its COPY" {
	hint "buildstate.c: a step's key is the key before it + what the step does (for COPY the files' sha256)"
	echo one >"$CTX/data"
	dockerfile "FROM $PLAIN/base" "RUN echo ran-first > /first" "COPY data /data" "RUN cat /data > /copy"
	md build -t cached "$CTX"
	expect_built || return 1
	first=$(built_id)
	md build -t cached "$CTX"
	expect_built || return 1
	expect_eq 3 "$(grep -c 'Using cache' <<<"$output")" "the steps that hit the cache the second time" || return 1
	expect_eq "$first" "$(built_id)" "the image ID of a build made from the cache alone" || return 1
	echo two >"$CTX/data"
	md build -t cached "$CTX"
	expect_built || return 1
	expect_eq 1 "$(grep -c 'Using cache' <<<"$output")" "the cache hits after the file changed (the RUN before it)" || return 1
	md run --rm --network none cached cat /copy
	expect_eq two "$output" "what the RUN after the changed COPY saw" || return 1
	md build --no-cache -t cached "$CTX"
	expect_built || return 1
	expect_eq 0 "$(grep -c 'Using cache' <<<"$output")" "cache hits with --no-cache" || return 1
}

# exercise: 05.1 05.2 05.4 05.5
@test "build: a RUN that fails stops the build with the Dockerfile's line, names nothing, leaves nothing" {
	hint "build.c: a failed step returns its line; the image is committed (named) only at the end"
	dockerfile "FROM $PLAIN/base" "RUN echo ok > /ok" "" "RUN echo failing; exit 3" "CMD [\"sh\"]"
	md build -t broken "$CTX"
	expect_status 125 "build to fail" || return 1
	expect_match "Dockerfile:4" "$stderr" "the error to name the line" || return 1
	expect_match "non-zero code: 3" "$stderr" "the error to say what the command returned" || return 1
	md images
	if grep -q broken <<<"$output"; then
		echo "expected no image named broken, got: $output"
		return 1
	fi
	md ps -a -q
	expect_eq "" "$output" "containers left by the build" || return 1
	expect_eq "" "$(ls "$ROOT/tmp")" "what the build left in the store's tmp/" || return 1
}

# exercise: 05.1 05.2 05.4 05.5
@test "build: a build killed (SIGKILL) in a RUN takes the RUN's container along; the next build clears what it left" {
	hint "buildfs.c: the RUN's run gets SIGTERM when build dies (PR_SET_PDEATHSIG); the overlays die with build's mount namespace"
	dockerfile "FROM $PLAIN/base" "RUN echo started-$$; sleep 60"
	"$MINI_DOCKER" --root "$ROOT" --insecure-registry "$PLAIN" build "$CTX" >"$BATS_TEST_TMPDIR/build.log" 2>&1 &
	pid=$!
	for _ in $(seq 1 100); do grep -q "started-$$" "$BATS_TEST_TMPDIR/build.log" && break; sleep 0.1; done
	grep -q "started-$$" "$BATS_TEST_TMPDIR/build.log" || {
		kill -9 "$pid"
		echo "expected the RUN to start, got:"
		cat "$BATS_TEST_TMPDIR/build.log"
		return 1
	}
	kill -9 "$pid"
	wait "$pid" 2>/dev/null || true
	for _ in $(seq 1 100); do
		[ -z "$("$MINI_DOCKER" --root "$ROOT" ps -a -q)" ] && ! pgrep -f "started-$$; sleep 60" >/dev/null && break
		sleep 0.1
	done
	md ps -a -q
	expect_eq "" "$output" "containers left 10 s after the build was killed" || return 1
	if pgrep -f "started-$$; sleep 60" >/dev/null; then
		echo "expected the RUN's command to end with the build, got it still running"
		return 1
	fi
	dockerfile "FROM $PLAIN/base" "RUN echo again"
	md build -t after "$CTX"
	expect_built || return 1
	expect_eq "" "$(ls "$ROOT/tmp")" "what is left in the store's tmp/ after the next build" || return 1
}

# exercise: 05.1 05.2
@test "build: Dockerfile mistakes are one line naming the file and the line" {
	hint "dockerfile.c: unknown instruction, no FROM, a missing source: each error says where"
	dockerfile "FROM $PLAIN/base" "RUNN echo typo"
	md build "$CTX"
	expect_status 125 "an unknown instruction" || return 1
	expect_match "Dockerfile:2: unknown instruction: RUNN" "$stderr" "the error" || return 1
	dockerfile "RUN echo no from"
	md build "$CTX"
	expect_status 125 "a Dockerfile without FROM" || return 1
	expect_match "FROM" "$stderr" "the error to ask for FROM" || return 1
	dockerfile "FROM $PLAIN/base" "COPY missing.txt /"
	md build "$CTX"
	expect_status 125 "a COPY of a file that is not there" || return 1
	expect_match "Dockerfile:2.*missing.txt: no such file" "$stderr" "the error" || return 1
	md build "$BATS_TEST_TMPDIR/nowhere"
	expect_status 125 "a context that does not exist" || return 1
	expect_eq 1 "$(wc -l <<<"$stderr")" "lines of the error" || return 1
}

# exercise: 05.1 05.2 05.4 05.5
@test "build: COPY stays inside the context, and inside the image: symlinks on either side lead nowhere else" {
	hint "buildcopy.c: sources resolved in the context, the destination in the rootfs (openat2 RESOLVE_IN_ROOT)"
	echo "host $RANDOM" >"$BATS_TEST_TMPDIR/outside"
	ln -s "$BATS_TEST_TMPDIR/outside" "$CTX/link-out"
	mkdir "$CTX/links"
	ln -s /etc "$CTX/links/etc-link"
	dockerfile "FROM $PLAIN/base" "COPY ../outside /x"
	md build "$CTX"
	expect_status 125 "COPY ../outside" || return 1
	expect_match "outside the build context" "$stderr" "the error" || return 1
	# the absolute symlink resolves inside the context, where there is no such file
	dockerfile "FROM $PLAIN/base" "COPY link-out /x"
	md build "$CTX"
	expect_status 125 "COPY of a symlink out of the context" || return 1
	# an image whose /app is a symlink to /etc: COPY into /app/ writes the image's /etc, not the host's
	mark="marker-$RANDOM$RANDOM"
	echo "$mark" >"$CTX/$mark"
	dockerfile "FROM $PLAIN/base" "RUN ln -s /etc /app" "COPY $mark /app/" "COPY links/ /links/"
	md build -t inside "$CTX"
	expect_built || return 1
	[ ! -e "/etc/$mark" ] || {
		rm -f "/etc/$mark"
		echo "expected COPY to stay in the image, got /etc/$mark on the host"
		return 1
	}
	md run --rm --network none inside cat "/etc/$mark"
	expect_eq "$mark" "$output" "the file in the image's /etc" || return 1
	md run --rm --network none inside readlink /links/etc-link
	expect_eq "/etc" "$output" "a symlink inside a copied directory copied as a symlink" || return 1
}

# exercise: 05.1 05.2 05.4 05.5
@test "build: .dockerignore leaves files out of COPY, ! takes one back" {
	hint "buildcopy.c: the last pattern that matches a path (or a directory above it) decides"
	mkdir -p "$CTX/src/secret" "$CTX/logs"
	echo code >"$CTX/src/main.c"
	echo key >"$CTX/src/secret/key"
	echo a >"$CTX/logs/a.log"
	echo keep >"$CTX/logs/keep.log"
	printf '# comments too\nsrc/secret\nlogs/*.log\n!logs/keep.log\nDockerfile\n' >"$CTX/.dockerignore"
	dockerfile "FROM $PLAIN/base" "COPY . /app/"
	md build -t ignored "$CTX"
	expect_built || return 1
	md run --rm --network none ignored find /app -type f
	expect_eq "$(printf '/app/.dockerignore\n/app/logs/keep.log\n/app/src/main.c')" "$(sort <<<"$output")" \
		"the files COPY . brought" || return 1
}

# exercise: 05.1 05.2 05.4 05.5
@test "build: stages, COPY --from and --target; ARG before FROM, --build-arg, and ARG values not kept in the image" {
	hint "build.c: each FROM starts a state; buildfs.c: COPY --from mounts another stage's layers read-only"
	dockerfile "ARG BASE=$PLAIN/base" \
		'FROM $BASE AS maker' \
		'ARG WHO=nobody' \
		'RUN echo "made for $WHO" > /artifact && echo junk > /junk' \
		'FROM $BASE' \
		'COPY --from=maker /artifact /artifact' \
		'ENV KEPT=yes'
	md build --build-arg WHO=learner -t staged "$CTX"
	expect_built || return 1
	md run --rm --network none staged sh -c 'cat /artifact; test -e /junk && echo junk-came-too; echo "WHO=${WHO:-unset} KEPT=$KEPT"'
	expect_eq "$(printf 'made for learner\nWHO=unset KEPT=yes')" "$output" "the final stage" || return 1
	md build --target maker -t maker-only "$CTX"
	expect_built || return 1
	md run --rm --network none maker-only cat /junk
	expect_eq junk "$output" "--target maker: the first stage's own files" || return 1
	md build --target nosuch "$CTX"
	expect_status 125 "--target of a stage that does not exist" || return 1
}

# exercise: 05.1 05.2 05.4 05.5
@test "build: ADD unpacks a local archive, COPY --chown takes names from the image, USER runs the next RUN as that user" {
	hint "buildcopy.c: ADD of a tar (gzip, plain...) is unpacked at DEST; --chown=NAME is looked up in the image's /etc/passwd"
	mkdir -p "$BATS_TEST_TMPDIR/arch/pkg"
	echo "from the archive" >"$BATS_TEST_TMPDIR/arch/pkg/readme"
	tar -C "$BATS_TEST_TMPDIR/arch" -czf "$CTX/pkg.tar.gz" pkg
	echo mine >"$CTX/owned"
	dockerfile "FROM $PLAIN/base" "ADD pkg.tar.gz /opt/" "COPY --chown=nobody owned /owned" "USER nobody" \
		"RUN id -u > /tmp/who" "USER root"
	md build -t added "$CTX"
	expect_built || return 1
	md run --rm --network none added sh -c 'cat /opt/pkg/readme; stat -c "%u:%g" /owned; cat /tmp/who'
	expect_eq "$(printf 'from the archive\n65534:65534\n65534')" "$output" "the archive's file, /owned's owner, the RUN's user" || return 1
	dockerfile "FROM $PLAIN/base" "COPY --chown=nosuchuser owned /owned"
	md build "$CTX"
	expect_status 125 "--chown of a user the image does not have" || return 1
	expect_match "nosuchuser" "$stderr" "the error to name the user" || return 1
	dockerfile "FROM $PLAIN/base" "ADD http://127.0.0.1:1/x /x"
	md build "$CTX"
	expect_status 125 "ADD of a URL" || return 1
	expect_match "Dockerfile:2.*URL" "$stderr" "the error" || return 1
}

# exercise: 05.1 05.2 05.4 05.5
@test "build: what mini-docker built and pushed, podman pulls and runs, and skopeo + umoci unpack to the same files" {
	hint "the image is plain OCI: manifest, config with diff_ids and history, gzip layers"
	command -v podman >/dev/null || skip "requires podman (make deps)"
	printf 'hello from the build\n' >"$CTX/hello"
	dockerfile "FROM $PLAIN/base" "COPY hello /hello" "RUN chmod 600 /hello && mkdir /made" 'CMD ["cat", "/hello"]'
	md build -t "$PLAIN/roundtrip:1" "$CTX"
	expect_built || return 1
	md push "$PLAIN/roundtrip:1"
	expect_status 0 "push of the built image" || { echo "$stderr"; return 1; }
	run "${PODMAN[@]}" run --rm --network none --cgroup-parent "/$CG" --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --tls-verify=false "$PLAIN/roundtrip:1"
	expect_status 0 "podman to run what mini-docker built" || { echo "$output"; return 1; }
	expect_match "hello from the build" "$output" "the image's CMD, run by podman" || return 1
	skopeo --insecure-policy copy -q --src-tls-verify=false "docker://$PLAIN/roundtrip:1" "oci:$BATS_TEST_TMPDIR/oci:rt" >/dev/null
	umoci unpack --image "$BATS_TEST_TMPDIR/oci:rt" "$BATS_TEST_TMPDIR/bundle" >/dev/null
	md unpack "$PLAIN/roundtrip:1" "$BATS_TEST_TMPDIR/mine"
	expect_status 0 "mini-docker unpack" || return 1
	listing() { (cd "$1" && find . -mindepth 1 -printf '%p %y %m %U:%G %l\n' | LC_ALL=C sort); }
	diff <(listing "$BATS_TEST_TMPDIR/bundle/rootfs") <(listing "$BATS_TEST_TMPDIR/mine") || {
		echo "expected umoci and mini-docker to unpack the same tree (above)"
		return 1
	}
	expect_eq "600" "$(stat -c %a "$BATS_TEST_TMPDIR/bundle/rootfs/hello")" "the mode RUN set, as umoci sees it" || return 1
}

# exercise: 05.1 05.2 05.4 05.5
@test "push: the layers a build took FROM the same registry are mounted, not sent; a blob over --chunk-size goes in PATCHes" {
	hint "push.c: POST ?mount=DIGEST&from=REPO (201: linked); upload.c: PATCH with Content-Range, each to the last Location, then PUT ?digest="
	head -c 300000 /dev/urandom >"$CTX/blob"
	dockerfile "FROM $PLAIN/base" "COPY blob /blob"
	md build -t "$PLAIN/chunky:1" "$CTX"
	expect_built || return 1
	md -v --chunk-size 65536 push "$PLAIN/chunky:1"
	expect_status 0 "push" || { echo "$stderr"; return 1; }
	expect_match "Mounted from base" "$output" "the base layer linked from base, not sent" || return 1
	expect_eq 2 "$(grep -c ': Pushed' <<<"$output")" "blobs sent (the new layer and the config)" || return 1
	patches=$(grep -c 'Content-Range: ' <<<"$stderr")
	expect_eq 5 "$patches" "PATCH requests for the 300 kB layer in 64 KiB chunks" || { echo "$stderr" | grep PATCH; return 1; }
	# what the registry holds is the image: another store pulls it (every digest checked) and runs it
	want=$(sha256sum <"$CTX/blob" | cut -d' ' -f1)
	run --separate-stderr "$MINI_DOCKER" --root "$BATS_TEST_TMPDIR/other" --insecure-registry "$PLAIN" \
		run --rm --network none "$PLAIN/chunky:1" sha256sum /blob
	expect_status 0 "a pull and run of the pushed image from another store" || { echo "$stderr"; return 1; }
	expect_eq "$want  /blob" "$output" "the file, as the other store got it" || return 1
	# pushed again: everything is there already
	md push "$PLAIN/chunky:1"
	expect_eq 3 "$(grep -c 'Layer already exists' <<<"$output")" "blobs found there on the second push" || return 1
	# a tag of it pushed to another repository: every blob mounted, none sent
	md tag "$PLAIN/chunky:1" "$PLAIN/again:1"
	md push "$PLAIN/again:1"
	expect_eq 3 "$(grep -c 'Mounted from' <<<"$output")" "blobs mounted for another name of the same image" || return 1
	# on a terminal (script(1) gives it one), the blob being sent is a bar, as docker push draws it
	head -c 100000 /dev/urandom >"$CTX/blob"
	md build -t "$PLAIN/bar:1" "$CTX"
	run script -qec "timeout 60 $MINI_DOCKER --root $ROOT --insecure-registry $PLAIN push $PLAIN/bar:1" /dev/null
	expect_match "Pushing \[=*>? *\] " "$output" "a progress bar on a terminal" || return 1
}

# exercise: 05.1 05.2 05.4 05.5
@test "push --format v2s2: the same blobs under Docker's media types, pulled back and run; a format it cannot write is refused" {
	hint "push.c: only the manifest changes (its mediaType, the config's and the layers'): the blobs are the same bytes"
	dockerfile "FROM $PLAIN/base" "RUN echo v2s2 > /fmt"
	md build -t "$PLAIN/fmt:oci" "$CTX"
	expect_built || return 1
	md tag "$PLAIN/fmt:oci" "$PLAIN/fmt:docker"
	md push --format v2s2 "$PLAIN/fmt:docker"
	expect_status 0 "push --format v2s2" || { echo "$stderr"; return 1; }
	manifest=$(curl -sf -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' "http://$PLAIN/v2/fmt/manifests/docker")
	types=$(python3 -c 'import json,sys; m=json.loads(sys.argv[1]); print(m["mediaType"], m["config"]["mediaType"], *sorted({l["mediaType"] for l in m["layers"]}))' "$manifest")
	expect_eq "application/vnd.docker.distribution.manifest.v2+json application/vnd.docker.container.image.v1+json application/vnd.docker.image.rootfs.diff.tar.gzip" \
		"$types" "the media types the registry holds" || return 1
	run --separate-stderr "$MINI_DOCKER" --root "$BATS_TEST_TMPDIR/other" --insecure-registry "$PLAIN" \
		run --rm --network none "$PLAIN/fmt:docker" cat /fmt
	expect_eq v2s2 "$output" "the image pulled back from its v2s2 manifest" || { echo "$stderr"; return 1; }
	md push --format v1 "$PLAIN/fmt:docker"
	expect_status 125 "push --format v1" || return 1
	expect_match "use oci or v2s2" "$stderr" "the error" || return 1
}

# exercise: 05.1 05.2 05.3 05.4 05.5
@test "build: the same Dockerfile built by podman build gives the same file tree" {
	hint "COPY keeps modes and mtimes, owner 0:0 unless --chown; RUN's layer holds exactly what the command wrote"
	command -v podman >/dev/null || skip "requires podman (make deps)"
	mkdir -p "$CTX/dir/sub"
	echo a >"$CTX/dir/a"
	echo b >"$CTX/dir/sub/b"
	chmod 640 "$CTX/dir/a"
	ln -s a "$CTX/dir/link"
	dockerfile "FROM $PLAIN/base" "COPY dir /copied/" "COPY --chown=1:2 dir/a /owned" \
		"RUN rm /copied/sub/b && mkdir -p /var/made && echo x > /var/made/x" "WORKDIR /w"
	md build -t "$PLAIN/same:1" "$CTX"
	expect_built || return 1
	md unpack "$PLAIN/same:1" "$BATS_TEST_TMPDIR/mine"
	P=("${PODMAN[@]}")
	run "${P[@]}" build --network none --cgroup-parent "/$CG" --ulimit nofile=1024:1024 --tls-verify=false -t same "$CTX"
	expect_status 0 "podman build of the same Dockerfile" || { echo "$output"; return 1; }
	run "${P[@]}" image mount same
	expect_status 0 "podman image mount" || { echo "$output"; return 1; }
	theirs=$output
	listing() { (cd "$1" && find . -mindepth 1 -not -path './proc*' -not -path './sys*' -not -path './dev*' \
		-not -path './etc/hostname' -not -path './etc/hosts' -not -path './etc/resolv.conf' -not -path './run*' \
		-printf '%p %y %m %U:%G %l\n' | LC_ALL=C sort); }
	diff <(listing "$theirs") <(listing "$BATS_TEST_TMPDIR/mine") || {
		"${P[@]}" image unmount same >/dev/null
		echo "expected podman build and mini-docker build to make the same tree (above: < podman, > mini-docker)"
		return 1
	}
	"${P[@]}" image unmount same >/dev/null
}
