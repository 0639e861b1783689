#!/usr/bin/env bats
# Step 05, images: mini-docker pulls from real registries (Debian's
# docker-registry started here on 127.0.0.1, plain, with htpasswd, with TLS,
# with token auth), keeps a content-addressed store, and unpacks layers
# without letting them write outside. Test images are built with umoci and
# pushed with skopeo (tests/fixtures/mkimages.sh, mkbad.py, registry.bash).

bats_require_minimum_version 1.5.0
load helpers
load fixtures/registry

: "${MINI_DOCKER:=$REPO/steps/05-mini-docker/mini-docker}"

setup_file() {
	[ "$(id -u)" = 0 ] || return 0
	for t in docker-registry skopeo umoci openssl htpasswd python3 curl; do
		command -v "$t" >/dev/null || return 0
	done
	export REG_BASE=$BATS_FILE_TMPDIR/registries
	export MARK
	MARK=$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
	export LAYOUT=$BATS_FILE_TMPDIR/layout BAD=$BATS_FILE_TMPDIR/bad
	export HOSTDIR=$BATS_FILE_TMPDIR/host-dir HOSTFILE=$BATS_FILE_TMPDIR/host-file
	mkdir -p "$HOSTDIR"
	echo "host secret $MARK" >"$HOSTFILE"
	"$REPO/tests/fixtures/mkimages.sh" "$LAYOUT" "$ROOTFS_SRC" "$MARK" >"$BATS_FILE_TMPDIR/mkimages.log" 2>&1
	python3 "$REPO/tests/fixtures/mkbad.py" "$BAD" "$HOSTDIR" "$HOSTFILE"

	registry_start plain plain
	export PLAIN=127.0.0.1:$REG_PORT
	for t in test multi; do push_image "$LAYOUT:$t" "$PLAIN/$t:latest"; done
	for t in dotdot symlink hardlink device diffid tamper; do push_image "$BAD:$t" "$PLAIN/bad:$t"; done
	registry_start basic htpasswd
	export BASIC=127.0.0.1:$REG_PORT REG_USER REG_PASS
	push_image "$LAYOUT:amd" "$BASIC/private:1" --dest-creds "$REG_USER:$REG_PASS"
	registry_start tls tls
	export TLS=127.0.0.1:$REG_PORT
	push_image "$LAYOUT:amd" "$TLS/secure:1"
	registry_start token token
	export TOKEN=127.0.0.1:$REG_PORT TOKEN_LOG
	push_image "$LAYOUT:amd" "$TOKEN/team/app:1"
	: >"$TOKEN_LOG"
}

teardown_file() {
	registry_stop_all
}

setup() {
	require_root
	for t in docker-registry skopeo umoci openssl htpasswd python3 curl; do
		command -v "$t" >/dev/null || skip "requires $t (make deps)"
	done
	section "Step 05: mini-docker, images"
	[ -n "${PLAIN:-}" ] || {
		echo "expected setup_file to start the test registries, got none: see $BATS_FILE_TMPDIR"
		return 1
	}
	ROOT=$BATS_TEST_TMPDIR/store
	export REGISTRY_AUTH_FILE=$BATS_TEST_TMPDIR/auth.json
}

# md ARGS...: mini-docker on this test's store, bounded in time
md() {
	run --separate-stderr timeout --kill-after=5 120 "$MINI_DOCKER" --root "$ROOT" "$@"
	[ "$status" != 124 ] || echo "expected mini-docker $1 to finish within 120 s, got a hang (killed it)"
}

# what a tree holds: name, type, mode, owner, link target, link count; and contents
tree_listing() {
	(cd "$1" && find . -mindepth 1 -printf '%p %y %m %U:%G -> %l links=%n\n' | LC_ALL=C sort &&
		find . -type f -exec sha256sum {} + | LC_ALL=C sort -k2)
}

# the store as a reader sees it: index.json and the names under it
store_state() {
	cat "$ROOT/images/index.json" 2>/dev/null
	(cd "$ROOT" 2>/dev/null && find images layers 2>/dev/null | LC_ALL=C sort) || true
}

host_arch() {
	case "$(uname -m)" in
	x86_64) echo amd64 ;;
	aarch64) echo arm64 ;;
	*) uname -m ;;
	esac
}

# exercise: 05.1 05.2 05.3
@test "pull from a registry, then unpack gives the same rootfs as umoci unpack" {
	hint "pull.c: manifest, config, layers; unpack.c in UNPACK_FLATTEN mode applies whiteouts"
	md pull "$PLAIN/test"
	expect_status 0 "mini-docker pull $PLAIN/test to succeed"
	md images
	expect_match "$PLAIN/test +latest" "$output" "mini-docker images"
	md unpack "$PLAIN/test" "$BATS_TEST_TMPDIR/flat"
	expect_status 0 "mini-docker unpack to flatten the image"
	umoci unpack --image "$LAYOUT:test" "$BATS_TEST_TMPDIR/bundle" >/dev/null
	diff -u <(tree_listing "$BATS_TEST_TMPDIR/bundle/rootfs") <(tree_listing "$BATS_TEST_TMPDIR/flat") || {
		echo "expected the flattened rootfs to equal umoci unpack's (names, types, modes, owners, links, contents), got the diff above"
		return 1
	}
	# and the lessons inside it, stated plainly
	expect_eq "keep $MARK" "$(cat "$BATS_TEST_TMPDIR/flat/data/keep")" "data/keep"
	[ ! -e "$BATS_TEST_TMPDIR/flat/data/gone" ] || { echo "expected the whiteout to delete data/gone, got it still there"; return 1; }
	[ ! -e "$BATS_TEST_TMPDIR/flat/data/opq/old1" ] || { echo "expected the opaque dir to hide data/opq/old1, got it still there"; return 1; }
	expect_eq "new $MARK" "$(cat "$BATS_TEST_TMPDIR/flat/data/opq/new1")" "data/opq/new1"
	expect_eq "$(stat -c %i "$BATS_TEST_TMPDIR/flat/data/orig")" "$(stat -c %i "$BATS_TEST_TMPDIR/flat/data/hard")" "the inode of the hard link data/hard"
	expect_eq "/etc/motd" "$(readlink "$BATS_TEST_TMPDIR/flat/data/abs")" "the target of symlink data/abs"
	expect_eq "4750 1234:5678" "$(stat -c '%a %u:%g' "$BATS_TEST_TMPDIR/flat/data/perm/owned")" "mode and owner of data/perm/owned"
}

# exercise: 05.1 05.2 05.3
@test "the store is an OCI image layout; layers are unpacked for overlayfs, keyed by ChainID" {
	hint "store.c: images/oci-layout, index.json with org.opencontainers.image.ref.name; unpack.c UNPACK_LAYER"
	md pull "$PLAIN/test"
	expect_status 0 "the pull to succeed"
	expect_eq '{"imageLayoutVersion":"1.0.0"}' "$(tr -d ' \n' <"$ROOT/images/oci-layout")" "images/oci-layout"
	name=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"])' "$ROOT/images/index.json")
	expect_eq "$PLAIN/test:latest" "$name" "the ref.name annotation in index.json"
	# skopeo reads our store as an OCI layout
	skopeo --insecure-policy copy -q "oci:$ROOT/images:$PLAIN/test:latest" "oci:$BATS_TEST_TMPDIR/copy:x" >/dev/null ||
		{ echo "expected skopeo to read the store as an OCI layout, got an error"; return 1; }
	# ChainIDs: sha256 of "parent-chain diff_id"
	diffs=$(python3 -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))[0]["RootFS"]["diff_ids"]))' <(md inspect "$PLAIN/test"; echo "$output"))
	chain=""
	for d in $diffs; do
		if [ -z "$chain" ]; then chain=$d; else chain=sha256:$(printf '%s %s' "$chain" "$d" | sha256sum | cut -d' ' -f1); fi
		[ -d "$ROOT/layers/${chain#sha256:}" ] || { echo "expected layers/${chain#sha256:} (a ChainID), got no such dir"; return 1; }
		[ -z "$(find "$ROOT/layers/${chain#sha256:}" -name '.wh.*')" ] || { echo "expected no .wh. files in a layer dir, got some"; return 1; }
	done
	wh=$(find "$ROOT/layers" -path '*/data/gone' -type c)
	expect_eq "character special file 0,0" "$(stat -c '%F %t,%T' "$wh")" "the whiteout of data/gone in overlayfs form"
	opq=$(python3 -c 'import os,sys
for d in sys.argv[1:]:
    try: print(os.getxattr(d, "trusted.overlay.opaque").decode())
    except OSError: pass' "$ROOT"/layers/*/data/opq)
	expect_eq "y" "$opq" "trusted.overlay.opaque on the opaque data/opq"
}

# exercise: 05.1 05.2 05.3
@test "inspect shows the config: Entrypoint, Cmd, Env, WorkingDir, User" {
	hint "images.c: cmd_inspect prints the config blob's config object"
	md pull "$PLAIN/test"
	md inspect "$PLAIN/test"
	expect_status 0 "inspect to succeed"
	got=$(python3 -c 'import json,sys; c=json.load(sys.stdin)[0]["Config"]; print(c["Entrypoint"], c["Cmd"], "MARK='"$MARK"'" in c["Env"], c["WorkingDir"], c["User"])' <<<"$output")
	expect_eq "['/bin/echo'] ['hello-$MARK'] True /data 1234:5678" "$got" "the image config"
}

# exercise: 05.1 05.2
@test "from a multi-platform index, the host's platform is chosen (attestations skipped)" {
	hint "image.c: image_choose_platform matches os/architecture[/variant] and skips vnd.docker.reference.type=attestation-manifest"
	md pull "$PLAIN/multi"
	expect_status 0 "pulling an index"
	md unpack "$PLAIN/multi" "$BATS_TEST_TMPDIR/m"
	expect_eq "$(host_arch)" "$(cat "$BATS_TEST_TMPDIR/m/platform")" "the platform chosen from the index"
	ROOT=$BATS_TEST_TMPDIR/store2
	md pull --platform linux/arm64 "$PLAIN/multi"
	expect_status 0 "pulling linux/arm64 from the index"
	md unpack "$PLAIN/multi" "$BATS_TEST_TMPDIR/a"
	expect_eq "arm64" "$(cat "$BATS_TEST_TMPDIR/a/platform")" "the platform asked with --platform"
	md pull --platform linux/s390x "$PLAIN/multi"
	expect_status 125 "no s390x image in the index"
	expect_stderr_says "linux/s390x" "the error to name the platform"
}

@test "a wrong name, an unknown tag, a bad reference: clear errors, store unchanged" {
	hint "registry.c: a 404 names the repository and tag; ref.c validates the name"
	md pull "$PLAIN/test"
	before=$(store_state)
	md pull "$PLAIN/no-such-image-$MARK"
	expect_status 125 "a missing repository"
	expect_stderr_says "no-such-image-$MARK" "the error to name the image"
	md pull "$PLAIN/test:no-such-tag"
	expect_status 125 "an unknown tag"
	expect_stderr_says "not found" "the error to say it was not found"
	md pull "$PLAIN/UPPER"
	expect_status 125 "an invalid name"
	expect_stderr_says "lowercase" "the error to explain the naming rule"
	md pull "127.0.0.1:1/test"
	expect_status 125 "no registry on that port"
	expect_stderr_says "cannot connect" "the error to say it could not connect"
	expect_eq "$before" "$(store_state)" "the store after failed pulls"
}

# exercise: 05.1 05.2
@test "a tampered blob and a wrong DiffID are rejected; nothing enters the store" {
	hint "registry.c: sha256 and size while the blob streams; image.c: DiffID of the uncompressed tar vs the config"
	md pull "$PLAIN/test"
	before=$(store_state)
	md pull "$PLAIN/bad:diffid"
	expect_status 125 "an image whose config lies about its layer"
	expect_stderr_says "diff_id" "the error to name the DiffID mismatch"
	expect_eq "$before" "$(store_state)" "the store after the wrong DiffID"
	# corrupt the layer of bad:tamper inside the registry's storage (same size)
	layer=$(python3 -c 'import json,sys; L=sys.argv[1]; i=json.load(open(L+"/index.json")); d=[m for m in i["manifests"] if m["annotations"]["org.opencontainers.image.ref.name"]=="tamper"][0]["digest"]; print(json.load(open(L+"/blobs/sha256/"+d[7:]))["layers"][0]["digest"][7:])' "$BAD")
	data=$REG_BASE/plain/data/docker/registry/v2/blobs/sha256/${layer:0:2}/$layer/data
	[ -f "$data" ] || { echo "expected the registry to store $data, got nothing"; return 1; }
	printf 'X' | dd of="$data" bs=1 seek=20 conv=notrunc status=none
	md pull "$PLAIN/bad:tamper"
	expect_status 125 "a blob whose content does not match its digest"
	expect_stderr_says "sha256:$layer" "the error to name the blob"
	expect_eq "$before" "$(store_state)" "the store after the tampered blob"
}

# exercise: 05.1 05.2
@test "hostile layers touch nothing outside and are refused by name; a device node is skipped, never made" {
	hint "unpack.c: refuse '..', resolve in-root (openat2 RESOLVE_IN_ROOT), hard links only inside, no device nodes"
	md pull "$PLAIN/test"
	before=$(store_state)
	hostfile_before=$(stat -c '%h %s %Y' "$HOSTFILE")
	for tag in dotdot symlink hardlink; do
		md pull "$PLAIN/bad:$tag"
		expect_status 125 "the $tag layer to be refused"
		case $tag in
		dotdot) expect_stderr_says "../../../../escape-dotdot" "the refusal to name the entry" ;;
		symlink) expect_stderr_says "evil/pwned" "the refusal to name the entry" ;;
		hardlink) expect_stderr_says "'hl'" "the refusal to name the entry" ;;
		esac
	done
	expect_eq "" "$(ls -A "$HOSTDIR")" "the host directory an absolute symlink pointed at"
	expect_eq "$hostfile_before" "$(stat -c '%h %s %Y' "$HOSTFILE")" "links, size and mtime of the host file a hard link named"
	expect_eq "host secret $MARK" "$(cat "$HOSTFILE")" "the host file"
	[ -z "$(find / -xdev -name 'escape-dotdot' 2>/dev/null | head -1)" ] || { echo "expected no escape-dotdot anywhere, got $(find / -xdev -name escape-dotdot 2>/dev/null | head -1)"; return 1; }
	expect_eq "$before" "$(store_state)" "the store after refused layers" || return 1
	# a device node is no way out either: skipped with a warning (a rootfs tarball's /dev), never made
	md pull "$PLAIN/bad:device"
	expect_status 0 "the layer with a char device 1:3 to be pulled, the device left out" || return 1
	expect_stderr_says "skipped 'dev/evil-null', a device node (char 1:3)" "the warning to name the entry" || return 1
	[ -z "$(find "$ROOT" -name 'evil-null')" ] || { echo "expected no device node in the store, got one"; return 1; }
}

# exercise: 05.1 05.2 05.3
@test "four pulls of one image at once all succeed" {
	hint "store.c: flock the store; blobs are renamed into place; the later pulls find them"
	pids=()
	for i in 1 2 3 4; do
		"$MINI_DOCKER" --root "$ROOT" pull "$PLAIN/test" >"$BATS_TEST_TMPDIR/$i.out" 2>&1 &
		pids+=($!)
	done
	statuses=""
	for p in "${pids[@]}"; do
		s=0
		timeout 120 tail --pid="$p" -f /dev/null
		wait "$p" || s=$?
		statuses+="$s "
	done
	expect_eq "0 0 0 0 " "$statuses" "the exit statuses of four concurrent pulls" || { cat "$BATS_TEST_TMPDIR"/[1-4].out; return 1; }
	run "$MINI_DOCKER" --root "$ROOT" images -q
	expect_eq 1 "$(printf '%s\n' "$output" | grep -c .)" "the number of images after four pulls of one (a consistent index.json)"
	md unpack "$PLAIN/test" "$BATS_TEST_TMPDIR/flat"
	expect_status 0 "the image to be complete after concurrent pulls"
	expect_eq "keep $MARK" "$(cat "$BATS_TEST_TMPDIR/flat/data/keep")" "data/keep"
}

# exercise: 05.1 05.2 05.3
@test "images, rmi, save and load round-trip" {
	hint "archive.c: save writes an OCI layout tar; load checks every digest; images.c: rmi untags, then gc"
	md pull "$PLAIN/test"
	md images -q
	id=$output
	expect_match '^[0-9a-f]{12}$' "$id" "the image ID from images -q"
	md save -o "$BATS_TEST_TMPDIR/img.tar" "$PLAIN/test"
	expect_status 0 "save"
	md rmi "$PLAIN/test"
	expect_status 0 "rmi"
	md images -q
	expect_eq "" "$output" "the image list after rmi"
	expect_eq "" "$(ls -A "$ROOT/images/blobs/sha256" "$ROOT/layers" | grep -v : | tr -d '\n')" "blobs and layers left after rmi"
	md load -i "$BATS_TEST_TMPDIR/img.tar"
	expect_status 0 "load"
	md images -q
	expect_eq "$id" "$output" "the image ID after save and load"
	md unpack "$PLAIN/test" "$BATS_TEST_TMPDIR/flat"
	umoci unpack --image "$LAYOUT:test" "$BATS_TEST_TMPDIR/bundle" >/dev/null
	diff <(tree_listing "$BATS_TEST_TMPDIR/bundle/rootfs") <(tree_listing "$BATS_TEST_TMPDIR/flat") >/dev/null ||
		{ echo "expected the loaded image to unpack as umoci does, got a difference"; return 1; }
	# an OCI layout dir written by umoci loads too; a corrupted archive does not
	md load -i "$LAYOUT"
	expect_status 0 "load of umoci's layout dir"
	expect_match "localhost/layout +test" "$(md images; echo "$output")" "the name of an image loaded from a layout"
	mkdir "$BATS_TEST_TMPDIR/x" && tar -xf "$BATS_TEST_TMPDIR/img.tar" -C "$BATS_TEST_TMPDIR/x"
	for f in "$BATS_TEST_TMPDIR"/x/blobs/sha256/*; do [ "$(stat -c %s "$f")" -gt 1000 ] && printf X | dd of="$f" bs=1 seek=100 conv=notrunc status=none && break; done
	ROOT=$BATS_TEST_TMPDIR/store3
	md load -i "$BATS_TEST_TMPDIR/x"
	expect_status 125 "load of a layout with a corrupted blob"
	expect_stderr_says "hashes to" "the error to name the digest mismatch"
}

# exercise: 05.1 05.2
@test "basic auth: no login is a clear error; login checks and stores credentials as podman" {
	hint "registry.c: 401 + WWW-Authenticate: Basic; auth.c keeps {\"auths\":{HOST:{\"auth\":base64(user:pass)}}}"
	md pull "$BASIC/private:1"
	expect_status 125 "a pull without credentials"
	expect_stderr_says "login" "the error to say to log in"
	md login -u "$REG_USER" -p wrong "$BASIC"
	expect_status 125 "a login with a wrong password"
	[ ! -e "$REGISTRY_AUTH_FILE" ] || { echo "expected no auth.json after a failed login, got one"; return 1; }
	md login -u "$REG_USER" --password-stdin "$BASIC" <<<"$REG_PASS"
	expect_status 0 "a login with the right password"
	got=$(python3 -c 'import json,sys,base64; print(base64.b64decode(json.load(open(sys.argv[1]))["auths"][sys.argv[2]]["auth"]).decode())' "$REGISTRY_AUTH_FILE" "$BASIC")
	expect_eq "$REG_USER:$REG_PASS" "$got" "the credentials in auth.json"
	md pull "$BASIC/private:1"
	expect_status 0 "a pull after login"
}

# exercise: 05.1 05.2
@test "TLS: an unknown CA is refused; --ca-file or certs.d makes it trusted" {
	hint "registry.c: https with the system CAs, plus --ca-file and certs.d/HOST:PORT/*.crt"
	md pull "$TLS/secure:1"
	expect_status 125 "a registry whose certificate no CA we trust vouches for"
	expect_stderr_says "not trusted" "the error to say the certificate is not trusted"
	run --separate-stderr timeout 120 "$MINI_DOCKER" --root "$ROOT" --ca-file "$REG_BASE/ca.crt" pull "$TLS/secure:1"
	expect_status 0 "a pull with --ca-file"
	mkdir -p "$BATS_TEST_TMPDIR/certs.d/$TLS"
	cp "$REG_BASE/ca.crt" "$BATS_TEST_TMPDIR/certs.d/$TLS/ca.crt"
	ROOT=$BATS_TEST_TMPDIR/store2
	run --separate-stderr timeout 120 "$MINI_DOCKER" --root "$ROOT" --certs-dir "$BATS_TEST_TMPDIR/certs.d" pull "$TLS/secure:1"
	expect_status 0 "a pull with the CA in certs.d/$TLS/"
}

# exercise: 05.1 05.2
@test "token auth: 401, a token from the realm for repository:NAME:pull, retry" {
	hint "registry.c: get_token asks realm?service=...&scope=repository:NAME:pull and sends Authorization: Bearer"
	: >"$TOKEN_LOG"
	md pull "$TOKEN/team/app:1"
	expect_status 0 "a pull through token auth"
	grep -q "scope=repository:team/app:pull service=workshop-registry" "$TOKEN_LOG" ||
		{ echo "expected a token request for repository:team/app:pull, got: $(cat "$TOKEN_LOG")"; return 1; }
}

# exercise: 05.1 05.2
@test "tag gives an image one more name (nothing copied); rmi of that name keeps the image" {
	hint "images.c cmd_tag: store_find the source, store_index_set the full target name, under the store's lock"
	md pull "$PLAIN/test"
	expect_status 0 "the pull" || return 1
	md images -q
	id=$output
	[ -n "$id" ] || { echo "expected an image ID from images -q, got none"; return 1; }
	blobs=$(find "$ROOT/images/blobs" -type f | wc -l)
	md tag "$PLAIN/test" "mine/app:v$MARK"
	expect_status 0 "tag" || return 1
	md images
	expect_match "docker.io/mine/app +v$MARK " "$output" "the new name in images" || return 1
	expect_eq "$blobs" "$(find "$ROOT/images/blobs" -type f | wc -l)" "the store's blobs after tag (no copy)" || return 1
	md rmi "mine/app:v$MARK"
	expect_status 0 "rmi of the new name" || return 1
	md images -q
	expect_eq "$id" "$output" "the image, still there by its first name" || return 1
	md tag "$PLAIN/nothere" "x"
	expect_status 125 "tag of an image not in the store" || return 1
	md tag "$PLAIN/test" "x@sha256:$(printf '%064d' 0)"
	expect_status 125 "tag to a digest" || return 1
	expect_stderr_says "give NAME[:TAG]" "the refusal of a digest"
}

# exercise: 05.1 05.2
@test "push sends an image to a registry: the same manifest, read back by skopeo and pulled again; a second push sends no blob" {
	hint "push.c: HEAD each blob, POST an upload and PUT it with ?digest=, then PUT the manifest's own bytes"
	md pull "$PLAIN/test"
	expect_status 0 "the pull" || return 1
	md images -q
	id=$output
	[ -n "$id" ] || { echo "expected an image ID from images -q, got none"; return 1; }
	dst="$PLAIN/pushed-$MARK:v1"
	md tag "$PLAIN/test" "$dst"
	md push "$dst"
	expect_status 0 "push" || return 1
	expect_eq 0 "$(grep -c 'already exists' <<<"$output" || true)" "blobs said to exist already in a new repository" || return 1
	expect_match "v1: digest: sha256:[0-9a-f]{64}" "$output" "push's last line" || return 1
	# the registry holds the store's own manifest: the digest of the image pulled first
	want=$(skopeo --insecure-policy inspect --tls-verify=false --format '{{.Digest}}' "docker://$PLAIN/test")
	got=$(skopeo --insecure-policy inspect --tls-verify=false --format '{{.Digest}}' "docker://$dst")
	expect_eq "$want" "$got" "the manifest digest of the pushed image (skopeo)" || return 1
	# again: every blob is there already
	md push "$dst"
	expect_status 0 "a second push" || return 1
	[[ $output != *Pushed* ]] || { echo "expected no blob sent the second time, got: $output"; return 1; }
	# pulled back into an empty store: the same image, and the same tree as umoci unpacks
	ROOT=$BATS_TEST_TMPDIR/store2
	md pull "$dst"
	expect_status 0 "the pull of the pushed image" || return 1
	md images -q
	expect_eq "$id" "$output" "the image ID pulled back" || return 1
	md unpack "$dst" "$BATS_TEST_TMPDIR/ours"
	skopeo --insecure-policy copy --quiet --src-tls-verify=false "docker://$dst" "oci:$BATS_TEST_TMPDIR/lay:t" >/dev/null
	umoci unpack --image "$BATS_TEST_TMPDIR/lay:t" "$BATS_TEST_TMPDIR/umoci" >/dev/null
	run diff -r --no-dereference "$BATS_TEST_TMPDIR/umoci/rootfs" "$BATS_TEST_TMPDIR/ours"
	expect_eq "" "$output" "umoci's tree of the pushed image against ours" || return 1
	# what cannot be pushed says why
	md push "$PLAIN/nothere:1"
	expect_status 125 "push of an image not in the store" || return 1
	expect_stderr_says "no such image" "the refusal"
}

# exercise: 05.1 05.2
@test "push to a registry that wants a login says so; after login it goes" {
	hint "push.c opens the registry for pull,push: the same auth as pull (Basic from auth.json, or a token)"
	md pull "$PLAIN/test"
	md tag "$PLAIN/test" "$BASIC/mine:$MARK"
	md push "$BASIC/mine:$MARK"
	expect_status 125 "push without credentials" || return 1
	expect_stderr_says "login" "the error to name login" || return 1
	md login -u "$REG_USER" -p "$REG_PASS" "$BASIC"
	expect_status 0 "login" || return 1
	md push "$BASIC/mine:$MARK"
	expect_status 0 "push after login" || return 1
	run skopeo --insecure-policy inspect --tls-verify=false --creds "$REG_USER:$REG_PASS" --format '{{.Name}}' "docker://$BASIC/mine:$MARK"
	expect_eq "$BASIC/mine" "$output" "the pushed image, seen by skopeo with the credentials"
}
