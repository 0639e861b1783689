#!/usr/bin/env bats
# Step 05, run: containers from images. mini-docker run honours the image's
# config (Entrypoint, Cmd, Env, WorkingDir, User, Volumes), gives each
# container an overlayfs upper dir of its own, volumes, a pty, cgroup limits,
# and Docker's security defaults (14 capabilities, seccomp, masked /proc
# files). Images come from a registry on 127.0.0.1 that this file starts.
# The earlier steps' tests run against mini-docker too, through box.sh.

bats_require_minimum_version 1.5.0
load helpers
load fixtures/registry
load limits

MD=${MINI_DOCKER:-$REPO/steps/05-mini-docker/mini-docker}
DOCKER_CAPS=00000000a80425fb

# app: busybox + the probe, a user "app" (random uid) in group "appgrp" and in
# "extra", User app, WorkingDir /srv/app (not in the image), Volumes /vol,
# Env FOO=from-image, Cmd probe uid
build_app_image() {
	local L=$1 W=$BATS_FILE_TMPDIR/app-build
	umoci new --image "$L:app"
	umoci unpack --image "$L:app" "$W" >/dev/null
	cp -a "$ROOTFS_SRC/." "$W/rootfs/"
	printf 'app:x:%s:%s:app:/home/app:/bin/sh\n' "$APP_UID" "$APP_GID" >>"$W/rootfs/etc/passwd"
	printf 'appgrp:x:%s:\nextra:x:%s:app\n' "$APP_GID" "$EXTRA_GID" >>"$W/rootfs/etc/group"
	# what a new volume at /vol starts with (docker's copy-up): a file of app's, a directory, a symlink
	mkdir -p "$W/rootfs/vol/sub"
	echo "seed-$MARK" >"$W/rootfs/vol/seed"
	ln -s seed "$W/rootfs/vol/link"
	chown -R "$APP_UID:$APP_GID" "$W/rootfs/vol"
	chmod 0640 "$W/rootfs/vol/seed"
	chmod 0750 "$W/rootfs/vol"
	umoci repack --image "$L:app" "$W" >/dev/null
	umoci config --image "$L:app" --config.user app --config.workingdir /srv/app --config.volume /vol \
		--config.env FOO=from-image --config.env PATH=/bin:/sbin --config.cmd /bin/probe --config.cmd uid
}

setup_file() {
	[ "$(id -u)" = 0 ] || return 0
	export MARK APP_UID APP_GID EXTRA_GID
	MARK=m$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
	APP_UID=$((3000 + RANDOM % 3000)) APP_GID=$((7000 + RANDOM % 1000)) EXTRA_GID=$((8100 + RANDOM % 800))
	registry_start plain plain
	export REG=127.0.0.1:$REG_PORT
	local L=$BATS_FILE_TMPDIR/layout
	"$REPO/tests/fixtures/mkimages.sh" "$L" "$ROOTFS_SRC" "$MARK" >/dev/null
	build_app_image "$L"
	push_image "$L:test" "$REG/test:1"
	push_image "$L:app" "$REG/app:1"
	export MINI_DOCKER_ROOT=$BATS_FILE_TMPDIR/store
	"$MD" --insecure-registry "$REG" pull "$REG/app:1" >/dev/null
}

teardown_file() {
	registry_stop_all
	rm -rf "$BATS_FILE_TMPDIR/store" 2>/dev/null || true
}

setup() {
	require_root
	section "Step 05: mini-docker, run"
	export MINI_DOCKER_ROOT=$BATS_FILE_TMPDIR/store
	CGP=mdtest-$(random_word)
}

teardown() {
	if [ -n "${BG:-}" ]; then
		kill -9 "$BG" 2>/dev/null || true
		wait "$BG" 2>/dev/null || true
	fi
	if [ -n "${NAME:-}" ]; then "$MD" rm -f -v "$NAME" >/dev/null 2>&1 || true; fi
	if [ -n "${ROOTLESS:-}" ]; then rm -rf "$ROOTLESS"; fi
	find /sys/fs/cgroup -maxdepth 6 -depth -type d -path "*/$CGP*" -exec rmdir {} \; 2>/dev/null || true
}

# md ARGS...: mini-docker (bounded in time); $status, $output, $stderr
md() {
	run --separate-stderr timeout --kill-after=5 "$BOX_TIMEOUT" "$MD" --insecure-registry "$REG" "$@"
	[ "$status" != 124 ] || echo "expected mini-docker to finish within ${BOX_TIMEOUT}s, got a hang (killed it)"
}

containers_left() {
	find "$MINI_DOCKER_ROOT/containers" -mindepth 1 -maxdepth 1 ! -name names 2>/dev/null | wc -l
}

# this test's cgroups: run with --cgroup-parent "$CGP" (other runs may come and go meanwhile)
my_cgroups() {
	find /sys/fs/cgroup -maxdepth 7 -type d -path "*/$CGP/*" 2>/dev/null | sort
}

# exercise: 05.3 05.4 05.5 05.9
@test "the image's Entrypoint and Cmd run; CMD replaces Cmd; --entrypoint replaces both" {
	hint "argv = Entrypoint + (CMD given on the command line, else the image's Cmd); --entrypoint drops Cmd"
	md run --rm "$REG/test:1"
	expect_status 0 "the test image's own command (pulled first: it was not in the store)"
	expect_eq "hello-$MARK" "$output" "Entrypoint /bin/echo + Cmd hello-$MARK"
	expect_stderr_says "Unable to find image" "run to pull an image that is not in the store"
	word=$(random_word)
	md run --rm "$REG/test:1" "$word" two
	expect_eq "$word two" "$output" "the Entrypoint with the command line's CMD instead of Cmd"
	md run --rm --entrypoint /bin/probe "$REG/test:1" uid
	expect_eq "1234" "$output" "--entrypoint /bin/probe with CMD uid"
	md run --rm --entrypoint /bin/echo "$REG/test:1"
	expect_eq "" "$output" "--entrypoint /bin/echo alone (the image's Cmd is dropped with its Entrypoint)"
}

# exercise: 05.3 05.4 05.5 05.9
@test "Env: a default PATH, the image's variables, then -e and --env-file win" {
	hint "start from PATH=/usr/local/sbin:...:/bin, add the image's Env, then -e K=V and --env-file lines (later wins)"
	word=$(random_word)
	md run --rm --entrypoint /bin/sh "$REG/test:1" -c 'echo "$PATH|$MARK|${X:-unset}"'
	expect_eq "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin|$MARK|unset" "$output" "PATH, the image's MARK, X"
	printf 'X=%s\n# a comment\nMARK=from-file\n' "$word" >"$BATS_TEST_TMPDIR/env"
	md run --rm --env-file "$BATS_TEST_TMPDIR/env" -e MARK="-e $word" --entrypoint /bin/sh "$REG/test:1" -c 'echo "$X|$MARK"'
	expect_eq "$word|-e $word" "$output" "X from --env-file, MARK from -e (given after)"
	md run --rm --entrypoint /bin/sh "$REG/app:1" -c 'echo "$PATH|$FOO|$HOME"'
	expect_eq "/bin:/sbin|from-image|/home/app" "$output" "the image's own PATH, FOO, and HOME from its /etc/passwd"
}

# exercise: 05.3 05.4 05.5 05.9
@test "WorkingDir is the current directory, made when missing; -w overrides" {
	hint "chdir to WorkingDir (or -w) after pivot_root; mkdir -p it first, as docker does"
	md run --rm --entrypoint /bin/probe "$REG/test:1" cwd
	expect_eq "/data" "$output" "the test image's WorkingDir"
	md run --rm --entrypoint /bin/probe "$REG/app:1" cwd
	expect_status 0 "a WorkingDir the image does not have"
	expect_eq "/srv/app" "$output" "the app image's WorkingDir (made by run)"
	dir=/tmp/w-$(random_word)
	md run --rm -w "$dir" --entrypoint /bin/probe "$REG/test:1" cwd
	expect_eq "$dir" "$output" "-w $dir"
}

# exercise: 05.3 05.4 05.5 05.9
@test "User: names from the image's own /etc/passwd and /etc/group, numbers, -u overrides" {
	hint "read /etc/passwd and /etc/group inside the container (after pivot_root), then setgroups, setgid, setuid"
	md run --rm "$REG/app:1"
	expect_status 0 "the app image (User app)"
	expect_eq "$APP_UID" "$output" "the uid of user app, from the image's /etc/passwd"
	md run --rm --entrypoint /bin/sh "$REG/app:1" -c 'id -g; id -G'
	expect_eq "$(printf '%s\n%s %s' "$APP_GID" "$APP_GID" "$EXTRA_GID")" "$output" "app's group and its supplementary group extra"
	# the kernel's own list: the primary group is among the supplementary ones, as Docker's
	# (CVE-2022-36109), though /etc/group does not list app in appgrp
	md run --rm --entrypoint /bin/sh "$REG/app:1" -c 'grep ^Groups: /proc/self/status'
	expect_eq "Groups: $(printf '%s\n' "$APP_GID" "$EXTRA_GID" | sort -n | tr '\n' ' ')" "$(tr -s '\t ' ' ' <<<"$output")" "the supplementary groups of user app (/proc/self/status)"
	md run --rm --entrypoint /bin/probe "$REG/test:1" uid
	expect_eq "1234" "$output" "User 1234:5678 of the test image"
	md run --rm -u 0 --entrypoint /bin/probe "$REG/app:1" uid
	expect_eq "0" "$output" "-u 0"
	md run --rm -u "4321:$APP_GID" --entrypoint /bin/sh "$REG/app:1" -c 'id -u; id -g'
	expect_eq "$(printf '4321\n%s' "$APP_GID")" "$output" "-u 4321:$APP_GID"
	# a user of the host only: the host's /etc/passwd must never be read
	host_user=$(awk -F: '$3 > 0 && $3 < 1000 { print $1; exit }' /etc/passwd)
	md run --rm -u "$host_user" --entrypoint /bin/probe "$REG/app:1" uid
	expect_status 125 "-u $host_user (a user of the host, not of the image) to fail"
	expect_stderr_says "$host_user" "the error to name the user"
}

# exercise: 05.3 05.4 05.5 05.9
@test "volumes: -v rw and :ro, a named volume that outlives containers, the image's anonymous volume" {
	hint "bind mounts (open_tree + move_mount, or MS_BIND|MS_REC then a read-only remount); named: ROOT/volumes/NAME/_data"
	word=$(random_word)
	mkdir "$BATS_TEST_TMPDIR/vol"
	echo "$word" >"$BATS_TEST_TMPDIR/vol/in"
	md run --rm -v "$BATS_TEST_TMPDIR/vol:/root/v" -u 0 --entrypoint /bin/sh "$REG/test:1" -c 'cat /root/v/in; echo back >/root/v/out'
	expect_status 0 "a rw volume"
	expect_eq "$word" "$output" "the host file read through the volume"
	expect_eq "back" "$(cat "$BATS_TEST_TMPDIR/vol/out")" "what the container wrote into the volume, seen on the host"
	md run --rm -v "$BATS_TEST_TMPDIR/vol:/mnt:ro" -u 0 --entrypoint /bin/sh "$REG/test:1" -c 'cat /mnt/in; echo x >/mnt/ro 2>/dev/null && echo written || echo refused'
	expect_eq "$(printf '%s\nrefused' "$word")" "$output" "a :ro volume: readable, not writable"
	[ ! -e "$BATS_TEST_TMPDIR/vol/ro" ] || { echo "expected nothing written through :ro, got vol/ro"; return 1; }
	vname=v$(random_word)
	md run --rm -v "$vname:/data/kv" -u 0 --entrypoint /bin/sh "$REG/test:1" -c "echo $word >/data/kv/f"
	expect_status 0 "a named volume, written"
	md run --rm -v "$vname:/x" -u 0 --entrypoint /bin/cat "$REG/test:1" /x/f
	expect_eq "$word" "$output" "a named volume's file, in a second container"
	rm -rf "$MINI_DOCKER_ROOT/volumes/$vname"
	md run --rm --entrypoint /bin/sh "$REG/app:1" -c 'awk "\$5 == \"/vol\" { print \"mounted\" }" /proc/self/mountinfo'
	expect_eq "mounted" "$output" "the image's Volumes /vol: a mount of its own"
}

# exercise: 05.4 05.5 05.9
@test "a new volume starts with the image's files where it is mounted (docker's copy-up); a used one, or a host path, does not" {
	hint "mounts.c copy_up: a volume this run made, over a directory of the image, gets a copy of it (owners, modes, symlinks as symlinks)"
	md run --rm --entrypoint /bin/sh "$REG/app:1" -c 'cat /vol/seed; stat -c "%u:%g %a" /vol/seed /vol; readlink /vol/link; [ -d /vol/sub ] && echo sub'
	expect_status 0 "the image's anonymous volume at /vol" || return 1
	expect_eq "seed-$MARK|$APP_UID:$APP_GID 640|$APP_UID:$APP_GID 750|seed|sub" "$(tr '\n' '|' <<<"$output" | sed 's/|$//')" \
		"the image's /vol as its new anonymous volume shows it: files, owners, modes, a symlink, a directory" || return 1
	vname=v$(random_word)
	md run --rm -v "$vname:/vol" -u 0 --entrypoint /bin/sh "$REG/app:1" -c 'cat /vol/seed; echo mine >/vol/seed'
	expect_eq "seed-$MARK" "$output" "a new named volume over /vol" || return 1
	md run --rm -v "$vname:/vol" --entrypoint /bin/cat "$REG/app:1" /vol/seed
	expect_eq "mine" "$output" "the named volume the second time: its own content, not the image's again" || return 1
	rm -rf "$MINI_DOCKER_ROOT/volumes/$vname"
	mkdir "$BATS_TEST_TMPDIR/host"
	md run --rm -v "$BATS_TEST_TMPDIR/host:/vol" --entrypoint /bin/ls "$REG/app:1" /vol
	expect_eq "" "$output" "a host directory over /vol (docker copies into volumes only)" || return 1
	expect_eq "" "$(ls "$BATS_TEST_TMPDIR/host")" "the host directory after the run"
}

# crun refuses a hybrid host whose cgroup2 hierarchy is mounted (this one, and CI's):
# as bench/run does, it runs in a mount namespace of its own without that mount
crun_run() {
	timeout 60 unshare -m sh -c 'mount --make-rprivate / && { umount /sys/fs/cgroup/unified 2>/dev/null; true; } && exec crun "$@"' crun "$@"
}

# exercise: 05.4 05.5
@test "unpack --bundle: an OCI runtime bundle that runc and crun run as mini-docker runs the image; umoci's has the same tree" {
	hint "bundle.c: config.json from the image's config (Entrypoint+Cmd, Env, WorkingDir, User as numbers from the rootfs's own files) beside the flattened rootfs"
	for t in runc crun umoci skopeo; do command -v "$t" >/dev/null || { echo "expected $t (make deps installs it)"; return 1; }; done
	B=$BATS_TEST_TMPDIR/bundle
	md unpack --bundle "$REG/app:1" "$B"
	expect_status 0 "unpack --bundle of the app image" || return 1
	got=$(python3 -c 'import json, sys; p = json.load(open(sys.argv[1]))["process"]; u = p["user"]
print(p["args"], u["uid"], u["gid"], sorted(u["additionalGids"]), p["cwd"], "FOO=from-image" in p["env"], "HOME=/home/app" in p["env"])' "$B/config.json")
	expect_eq "['/bin/probe', 'uid'] $APP_UID $APP_GID $(python3 -c "print(sorted([$APP_GID, $EXTRA_GID]))") /srv/app True True" "$got" \
		"config.json's args, user (the image's User app, in numbers, and its groups), cwd, env" || return 1
	# umoci's bundle of the same image, which skopeo copies out of the registry: the same tree
	skopeo --insecure-policy copy --quiet --src-tls-verify=false "docker://$REG/app:1" "oci:$BATS_TEST_TMPDIR/layout:app" >/dev/null
	umoci unpack --image "$BATS_TEST_TMPDIR/layout:app" "$BATS_TEST_TMPDIR/umoci" >/dev/null
	run diff -r --no-dereference "$BATS_TEST_TMPDIR/umoci/rootfs" "$B/rootfs"
	expect_eq "" "$output" "the difference between umoci's rootfs and ours" || return 1
	md run --rm --network none "$REG/app:1"
	want=$output
	run --separate-stderr timeout 60 runc --root "$BATS_TEST_TMPDIR/runc" run --bundle "$B" "md-runc-$(random_word)"
	expect_eq "$want" "$output" "runc run of the bundle (mini-docker run says $want), stderr: $stderr" || return 1
	run --separate-stderr crun_run --root "$BATS_TEST_TMPDIR/crun" run --bundle "$B" "md-crun-$(random_word)"
	expect_eq "$want" "$output" "crun run of the bundle, stderr: $stderr" || return 1
	# nothing half-made: an image that is not there, a directory that is
	md unpack --bundle "$REG/nothere:1" "$BATS_TEST_TMPDIR/none"
	expect_status 125 "unpack --bundle of an image not in the store" || return 1
	[ ! -e "$BATS_TEST_TMPDIR/none" ] || { echo "expected no directory left by the failed unpack, got one"; return 1; }
	md unpack --bundle "$REG/app:1" "$B"
	expect_status 125 "unpack --bundle into a directory that exists" || return 1
	[ -f "$B/config.json" ] || { echo "expected the existing bundle untouched, got it changed"; return 1; }
}

# exercise: 05.4 05.5
@test "--privileged: the host's device nodes in /dev, as Docker's; not without it" {
	hint "mounts.c host_devices: with --privileged (and root), mknod each char and block device of the host's /dev in the container's"
	dev=
	for d in /dev/loop-control /dev/kmsg /dev/mem /dev/cpu_dma_latency; do [ -c "$d" ] && { dev=$d; break; }; done
	[ -n "$dev" ] || { echo "expected one of /dev/loop-control, kmsg, mem, cpu_dma_latency on this host, found none"; return 1; }
	md run --rm --network none --privileged --rootfs "$ROOTFS_SRC" stat -c '%F %t:%T %a' "$dev"
	expect_eq "$(stat -c '%F %t:%T %a' "$dev")" "$output" "$dev in a --privileged container (the host's node)" || return 1
	md run --rm --network none -u 0 --rootfs "$ROOTFS_SRC" ls "$dev"
	expect_status 1 "$dev without --privileged (not there)"
}

# exercise: 05.4 05.5
@test "no_new_privs: on by default (a setuid bit does nothing); no-new-privileges=false and --privileged lift it, seccomp stays" {
	hint "security.c nnp_on; become.c loads the filter before the capabilities go when no_new_privs is off (the kernel wants CAP_SYS_ADMIN then)"
	R=$BATS_TEST_TMPDIR/rootfs
	cp -a "$ROOTFS_SRC" "$R"
	install -o 0 -g 0 -m 4755 "$R/bin/probe" "$R/bin/suidprobe"
	md run --rm --network none -u 1234 --rootfs "$R" suidprobe euid
	expect_eq 1234 "$output" "the euid of a setuid-root program run by uid 1234 (no_new_privs on)" || return 1
	md run --rm --network none -u 1234 --security-opt no-new-privileges=false --rootfs "$R" /bin/sh -c \
		'suidprobe euid; grep -E "^(Seccomp|NoNewPrivs):" /proc/self/status | cut -f2 | tr "\n" " "'
	expect_eq "$(printf '0\n0 2 ')" "$output" "with no-new-privileges=false: the setuid bit works; NoNewPrivs 0, Seccomp still 2" || return 1
	md run --rm --network none --privileged --rootfs "$R" grep NoNewPrivs /proc/self/status
	expect_match '0$' "$output" "NoNewPrivs with --privileged" || return 1
	md run --rm --network none --security-opt no-new-privileges=maybe --rootfs "$R" true
	expect_status 125 "--security-opt no-new-privileges=maybe refused"
}

# exercise: 05.3 05.4 05.5 05.9
@test "the store and its volumes are for root alone: a setuid file a container puts in a volume cannot be run by another user" {
	hint "mounts.c volume_dir: ROOT/volumes is 0700 (podman's choice); store.c: a ROOT mini-docker makes is 0700"
	command -v setpriv >/dev/null || skip "requires setpriv (util-linux)"
	# a store on a path every user may walk (the test's own tmpdir is 0700), made 0755 by
	# hand: a ROOT that exists keeps its mode, so volumes/ alone must keep others out
	ROOTLESS=$(mktemp -d /tmp/md-volumes.XXXXXX)
	chmod 755 "$ROOTLESS"
	mkdir -m 755 "$ROOTLESS/store"
	export MINI_DOCKER_ROOT=$ROOTLESS/store
	vname=v$(random_word)
	md run --rm -v "$vname:/data" -u 0 --entrypoint /bin/sh "$REG/test:1" -c 'cp /bin/busybox /data/bb && chmod 4755 /data/bb'
	expect_status 0 "a container that leaves a setuid-root busybox in a named volume" || return 1
	bb=$MINI_DOCKER_ROOT/volumes/$vname/_data/bb
	[ -u "$bb" ] || { echo "expected the container's setuid file at $bb, got: $(ls -l "$bb" 2>&1)"; return 1; }
	expect_eq 755 "$(stat -c %a "$MINI_DOCKER_ROOT")" "the mode of a ROOT that existed (left as the user made it)" || return 1
	expect_eq 700 "$(stat -c %a "$MINI_DOCKER_ROOT/volumes")" "the mode of ROOT/volumes" || return 1
	run sh -c 'setpriv --reuid=nobody --regid=nogroup --clear-groups "$0" true 2>&1; echo "exit $?"' "$bb"
	[[ $output != *"exit 0" ]] || { echo "expected user nobody not to run the volume's setuid file, got it run: $output"; return 1; }
	run "$MD" --root "$ROOTLESS/fresh" images
	expect_status 0 "images on a store mini-docker makes" || return 1
	expect_eq 700 "$(stat -c %a "$ROOTLESS/fresh")" "the mode of a ROOT mini-docker made"
}

# exercise: 05.3 05.4 05.5 05.9
@test "a volume's target is made inside the rootfs: a symlink in the image cannot point it at the host" {
	hint "create the mount point one component at a time with O_NOFOLLOW (openat/mkdirat), never with a path the image controls"
	mkdir "$BATS_TEST_TMPDIR/vol" "$BATS_TEST_TMPDIR/victim"
	# the test image has /data/abs -> /etc/motd and /data/link -> orig (symlinks)
	md run --rm -v "$BATS_TEST_TMPDIR/vol:/data/abs/sub" "$REG/test:1"
	expect_status 125 "a target through a symlink of the image to be refused"
	md run --rm -v "$BATS_TEST_TMPDIR/vol:/srv/new/deep" -u 0 --entrypoint /bin/sh "$REG/test:1" -c 'echo ok >/srv/new/deep/f'
	expect_status 0 "a target whose parents are missing (made inside the container)"
	expect_eq "ok" "$(cat "$BATS_TEST_TMPDIR/vol/f")" "the file written into the made target"
}

# exercise: 05.4 05.5 05.9
@test "run --rootfs the slides' rootfs (busybox alone): the mount points are made; a symlinked one is refused" {
	hint "mkdir proc, sys and dev inside the rootfs when missing; lstat each: a symlink (proc -> /) is not followed"
	make_bare_rootfs
	md run --rm --rootfs "$BARE" /busybox sh -c 'echo $$; /busybox cat /proc/1/comm; echo x >/dev/null && echo null-ok'
	expect_status 0 "the checks to run in a root that had only /busybox" || { show_run; return 1; }
	expect_eq "$(printf '1\nbusybox\nnull-ok')" "$output" "the PID, /proc/1/comm and /dev/null"
	rm -rf "$BARE/sys"
	ln -s / "$BARE/sys"
	md run --rm --rootfs "$BARE" /busybox true
	expect_status 125 "a symlinked /sys to be refused"
	expect_stderr_says "symlink" "the error to say sys is a symlink"
}

# exercise: 05.3 05.4 05.5 05.6 05.9
@test "the upper dir keeps a container's writes until rm; --rm removes them; others never see them" {
	hint "overlayfs: lowerdir = the image's layers, upperdir/workdir under ROOT/containers/ID; rm -rf that on rm / --rm"
	NAME=keep-$(random_word)
	word=$(random_word)
	md run --name "$NAME" -u 0 --entrypoint /bin/sh "$REG/test:1" -c "echo $word >/data/new; rm /data/keep"
	expect_status 0 "a container that writes and deletes"
	id=$(readlink "$MINI_DOCKER_ROOT/containers/names/$NAME")
	expect_eq "$word" "$(cat "$MINI_DOCKER_ROOT/containers/$id/upper/data/new" 2>&1)" "the write, kept in the container's upper dir"
	[ -c "$MINI_DOCKER_ROOT/containers/$id/upper/data/keep" ] || { echo "expected a whiteout for the deleted /data/keep in upper/"; return 1; }
	md run --rm --entrypoint /bin/sh "$REG/test:1" -c 'cat /data/keep; ls /data/new 2>/dev/null || echo no-new'
	expect_eq "$(printf 'keep %s\nno-new' "$MARK")" "$output" "another container: the image as it was"
	md rm "$NAME"
	expect_status 0 "rm $NAME"
	[ ! -e "$MINI_DOCKER_ROOT/containers/$id" ] || { echo "expected rm to remove ROOT/containers/$id, got it still there"; return 1; }
	NAME=""
	before=$(containers_left)
	md run --rm -u 0 --entrypoint /bin/sh "$REG/test:1" -c 'echo x >/data/y'
	expect_eq "$before" "$(containers_left)" "the containers in the store after run --rm"
}

# exercise: 05.3 05.4 05.5 05.9
@test "the copy fallback: without overlayfs the layers are copied, and it says so" {
	hint "when the overlay mount cannot be made, unpack the layers (whiteouts delete) into ROOT/containers/ID/rootfs"
	MINI_DOCKER_NO_OVERLAY=1 md run --rm --entrypoint /bin/sh "$REG/test:1" -c 'cat /data/keep; ls /data/opq; ls /data/gone 2>&1 >/dev/null | wc -l'
	expect_status 0 "run with the copy fallback"
	expect_stderr_says "copying" "mini-docker to say it copies instead of overlaying"
	expect_eq "$(printf 'keep %s\nnew1\n~empty\n1' "$MARK")" "$output" "the copy: the data, the opaque dir, the whiteout"
	expect_eq 0 "$(containers_left)" "containers left after --rm"
}

# exercise: 05.3 05.4 05.5
@test "a store on a file system without xattrs (ramfs): pull and run work, the copy keeps whiteouts and opaque dirs" {
	hint "an opaque dir is an xattr (trusted.overlay.opaque, user.* for a user): where none can be set, the layers cannot be stacked; copy them"
	RAMFS=$(mktemp -d)
	mount -t ramfs ramfs "$RAMFS"
	run --separate-stderr timeout 120 env MINI_DOCKER_ROOT="$RAMFS/store" "$MD" --insecure-registry "$REG" run --rm \
		--network none --entrypoint /bin/sh "$REG/test:1" -c 'cat /data/keep; ls /data/opq; ls /data/gone 2>&1 >/dev/null | wc -l'
	umount "$RAMFS" && rmdir "$RAMFS"
	expect_status 0 "pull and run with the store on ramfs" || return 1
	expect_stderr_says "copying" "mini-docker to say it copies the layers instead of stacking them" || return 1
	expect_eq "$(printf 'keep %s\nnew1\n~empty\n1' "$MARK")" "$output" "the copy: the data, the opaque dir, the whiteout"
}

# exercise: 05.4 05.5 05.9
@test "capabilities: exactly Docker's 14 by default; --cap-add, --cap-drop, --privileged change them" {
	hint "libcap: drop the rest from the bounding set, set permitted = effective = the 14 (CapEff $DOCKER_CAPS)"
	md run --rm --rootfs "$ROOTFS_SRC" /bin/probe caps
	expect_eq "$DOCKER_CAPS" "$output" "CapEff of root in the container"
	md run --rm --rootfs "$ROOTFS_SRC" /bin/sh -c 'grep -E "^Cap(Bnd|Inh|Amb)" /proc/self/status | cut -f2 | tr "\n" " "'
	expect_eq "0000000000000000 $DOCKER_CAPS 0000000000000000 " "$output" "inheritable (none), the bounding set (the same 14), ambient (none)"
	md run --rm --cap-drop chown --cap-add NET_ADMIN --rootfs "$ROOTFS_SRC" /bin/probe caps
	expect_eq "00000000a80435fa" "$output" "CapEff with --cap-drop chown --cap-add NET_ADMIN"
	md run --rm --cap-drop ALL --cap-add CAP_KILL --rootfs "$ROOTFS_SRC" /bin/probe caps
	expect_eq "0000000000000020" "$output" "CapEff with --cap-drop ALL --cap-add CAP_KILL"
	md run --rm --privileged --rootfs "$ROOTFS_SRC" /bin/probe caps
	expect_eq "$(awk '/^CapBnd/ { print $2 }' /proc/self/status)" "$output" "CapEff with --privileged (every capability the host has)"
	md run --rm -u 1000 --rootfs "$ROOTFS_SRC" /bin/probe caps
	expect_eq "0000000000000000" "$output" "CapEff of a non-root user"
	md run --rm --cap-add NOT_A_CAP --rootfs "$ROOTFS_SRC" /bin/true
	expect_status 125 "an unknown capability to be refused"
}

# exercise: 05.4 05.5 05.9
@test "seccomp and no_new_privs: mount, keyctl, unshare fail with EPERM; unconfined lifts seccomp" {
	hint "libseccomp: SCMP_ACT_ERRNO(EPERM) for Docker's list; clone3 -> ENOSYS; prctl(PR_SET_NO_NEW_PRIVS) first"
	md run --rm --rootfs "$ROOTFS_SRC" /bin/sh -c 'probe try mount; probe try keyctl; probe try unshare; grep -E "^(Seccomp|NoNewPrivs):" /proc/self/status | cut -f2 | tr "\n" " "'
	expect_status 0 "the probes"
	expect_eq "$(printf 'EPERM\nEPERM\nEPERM\n1 2 ')" "$output" "mount, keyctl, unshare; NoNewPrivs 1 and Seccomp mode 2 (filter)"
	md run --rm --security-opt seccomp=unconfined --rootfs "$ROOTFS_SRC" /bin/sh -c 'probe try keyctl; grep ^Seccomp: /proc/self/status | cut -f2'
	expect_eq "$(printf 'ok\n0')" "$output" "keyctl without the filter (no capability guards it: only seccomp did)"
	md run --rm --privileged --rootfs "$ROOTFS_SRC" /bin/probe try mount
	expect_eq "ok" "$output" "mount with --privileged"
}

# exercise: 05.4 05.5 05.9
@test "masked and read-only paths: /proc/kcore and friends are empty, /proc/sys is read-only" {
	hint "bind /dev/null over masked files (a read-only tmpfs over dirs); bind /proc/sys etc. onto themselves read-only"
	masked=""
	for f in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug; do
		if [ -e "$f" ]; then masked=$f; break; fi
	done
	[ -n "$masked" ] || skip "requires one of /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug"
	md run --rm --rootfs "$ROOTFS_SRC" /bin/sh -c "wc -c <$masked; echo 1 >/proc/sys/kernel/ns_last_pid 2>/dev/null && echo written || echo refused; awk '\$5 == \"/proc/sys\" { split(\$6, o, \",\"); print o[1] }' /proc/self/mountinfo"
	expect_eq "$(printf '0\nrefused\nro')" "$output" "the size of $masked, a write to /proc/sys, the /proc/sys mount"
	md run --rm --privileged --rootfs "$ROOTFS_SRC" /bin/sh -c "awk '\$5 == \"$masked\"' /proc/self/mountinfo | wc -l"
	expect_eq "0" "$output" "mounts over $masked with --privileged"
}

# exercise: 05.4 05.5 05.9
@test "the open_by_handle_at escape that works in box 03/04 fails: seccomp refuses it, then the missing CAP_DAC_READ_SEARCH" {
	hint "Docker's defaults: CAP_DAC_READ_SEARCH is not among the 14, and the seccomp profile refuses the handle calls"
	make_rootfs
	require_ext4 "$BATS_TEST_TMPDIR"
	secret=$(random_word)
	echo "$secret" >"$BATS_TEST_TMPDIR/secret"
	path=$(fs_path "$BATS_TEST_TMPDIR/secret")
	md run --rm --rootfs "$ROOTFS" /bin/escape --handle "$path"
	expect_ne 0 "$status" "the escape's exit status under the defaults (it must fail)"
	[[ $output != *"$secret"* ]] || { echo "expected the escape to read nothing, got the host file's content '$secret'"; return 1; }
	md run --rm --security-opt seccomp=unconfined --rootfs "$ROOTFS" /bin/escape --handle "$path"
	expect_ne 0 "$status" "the escape's exit status without seccomp (the capability is still missing)"
	expect_stderr_says "open_by_handle_at" "the escape to reach open_by_handle_at without the filter and be refused there"
	[[ $output != *"$secret"* ]] || { echo "expected the escape without seccomp to read nothing, got '$secret'"; return 1; }
	md run --rm --privileged --rootfs "$ROOTFS" /bin/escape --handle "$path"
	expect_status 0 "the escape to work with --privileged (every capability, no filter: box 03's root)"
	expect_eq "$secret" "$output" "the host file read with --privileged"
}

# exercise: 05.4 05.5 05.9
@test "--read-only: / refuses writes, --tmpfs and volumes do not" {
	hint "after pivot_root, remount / read-only (mount_setattr MOUNT_ATTR_RDONLY) but not the mounts below it"
	md run --rm --read-only --tmpfs /scratch --rootfs "$ROOTFS_SRC" /bin/sh -c 'echo x >/f 2>/dev/null && echo root-written || echo root-refused; echo x >/scratch/f && echo tmpfs-written'
	expect_eq "$(printf 'root-refused\ntmpfs-written')" "$output" "a write to / and to the --tmpfs"
}

# exercise: 05.4 05.5 05.9
@test "-t: a real terminal with the window size; -it: typed input reaches it; the terminal is restored" {
	hint "open the container's /dev/pts/ptmx, send the master over a unix socket, TIOCSCTTY the slave; raw mode + TIOCSWINSZ in the engine"
	command -v python3 >/dev/null || skip "requires python3"
	rows=$((20 + RANDOM % 30)) cols=$((60 + RANDOM % 80)) word=$(random_word)
	run timeout 30 python3 - "$MD" "$ROOTFS_SRC" "$rows" "$cols" "$word" <<'PY'
import fcntl, os, select, struct, subprocess, sys, termios, time
md, rootfs, rows, cols, word = sys.argv[1:]
master, slave = os.openpty()
fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", int(rows), int(cols), 0, 0))
before = termios.tcgetattr(slave)
def ctty():
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
p = subprocess.Popen([md, "run", "--rm", "-it", "--rootfs", rootfs, "/bin/sh", "-c",
    "tty; stty size; [ -c /dev/console ] && echo console; read line; echo got-$line; exit 7"],
    stdin=slave, stdout=slave, stderr=slave, preexec_fn=ctty)
out = b""
sent = False
deadline = time.time() + 20
while time.time() < deadline:
    r, _, _ = select.select([master], [], [], 0.2)
    if r:
        try:
            data = os.read(master, 4096)
        except OSError:
            break
        out += data
    if not sent and b"console" in out:
        os.write(master, (word + "\r").encode())
        sent = True
    if p.poll() is not None and not r:
        break
rc = p.wait(timeout=10)
after = termios.tcgetattr(slave)
print(out.decode(errors="replace").replace("\r", ""))
print("rc=%d" % rc)
print("restored" if before == after else "not-restored")
PY
	expect_status 0 "the pty driver script"
	expect_match "/dev/pts/[0-9]+" "$output" "what tty printed inside"
	expect_match "$rows $cols" "$output" "the window size inside (stty size)"
	expect_match "console" "$output" "/dev/console, a terminal"
	expect_match "got-$word" "$output" "the line typed into the terminal, read by the container"
	expect_match "rc=7" "$output" "the container's exit status through -it"
	expect_match "restored" "$output" "the host terminal's settings after the run"
}

# exercise: 05.4 05.5 05.7 05.8 05.9
@test "-dt and exec -t: the pty has the terminal's window size from the start (docker's ConsoleSize), never 0x0" {
	hint "measure our terminal (TIOCGWINSZ on stdin) before the container starts, and set it on the new pty (TIOCSWINSZ) before its program runs: pty_our_size, pty_child_open"
	command -v python3 >/dev/null || skip "requires python3"
	rows=$((20 + RANDOM % 30)) cols=$((60 + RANDOM % 80)) NAME=size-$(random_word)
	# run -dt asks at once and nobody copies the size later (the monitor has no terminal);
	# exec -t asks at once while its engine is still starting to copy bytes
	run timeout 60 python3 - "$MD" "$ROOTFS_SRC" "$rows" "$cols" "$NAME" <<'PY'
import fcntl, os, struct, subprocess, sys, termios
md, rootfs, rows, cols, name = sys.argv[1:]
master, slave = os.openpty()
fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", int(rows), int(cols), 0, 0))
def md_run(*args):
    return subprocess.run([md, *args], stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=20)
r = md_run("run", "-dt", "--name", name, "--rootfs", rootfs, "/bin/sh", "-c", "stty size; exec sleep 60")
print("run -dt: rc=%d" % r.returncode)
for _ in range(100):
    logs = md_run("logs", name).stdout.decode(errors="replace").replace("\r", "")
    if logs.strip():
        break
    subprocess.run(["sleep", "0.1"])
print("run -dt's stty size: [%s]" % logs.strip())
r = md_run("exec", "-t", name, "stty", "size")
print("exec -t's stty size: [%s] rc=%d" % (r.stdout.decode(errors="replace").replace("\r", "").strip(), r.returncode))
PY
	expect_status 0 "the pty driver script" || return 1
	expect_match "run -dt: rc=0" "$output" "run -dt" || return 1
	expect_match "run -dt's stty size: \[$rows $cols\]" "$output" "the window size a -dt container reads at once" || return 1
	expect_match "exec -t's stty size: \[$rows $cols\] rc=0" "$output" "the window size exec -t's command reads at once"
}

# exercise: 05.3 05.4 05.5 05.9
@test "cgroup limits bite as in step 02: memory and pids, from an image" {
	hint "the cgroup is made before clone (CLONE_INTO_CGROUP on v2, cgroup.procs on v1): see Step 02"
		md run --rm --cgroup-parent "$CGP" --memory 32M --entrypoint /bin/probe "$REG/test:1" memhog 100M
	expect_status 137 "memhog 100M under --memory 32M: killed"
	expect_stderr_says "out of memory" "mini-docker to say why"
	limit=$((8 + RANDOM % 10))
	md run --rm --cgroup-parent "$CGP" --pids-limit "$limit" --entrypoint /bin/probe "$REG/test:1" forkbomb 300
	expect_status 0 "the fork bomb to stop at the limit"
	if [ "$output" -ge "$limit" ]; then
		echo "expected fewer than $limit children under --pids-limit $limit, got $output"
		return 1
	fi
	expect_eq "" "$(my_cgroups)" "the containers' cgroups after the runs"
}

# exercise: 05.3 05.4 05.5 05.9
@test "the container reads its own limits under /sys/fs/cgroup, read-only, as runc mounts it" {
	hint "mounts.c mount_cgroup: cgroup2 (its root is our cgroup namespace's), or on v1 a tmpfs with our directory of each hierarchy bound in"
	limit=$((50 + RANDOM % 50))
	md run --rm -u 0 --cgroup-parent "$CGP" --memory 32M --pids-limit "$limit" --entrypoint /bin/sh "$REG/test:1" -c \
		'cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max; mkdir /sys/fs/cgroup/x 2>/dev/null && echo writable || echo read-only'
	expect_status 0 "reading /sys/fs/cgroup inside" || return 1
	expect_eq "33554432 $limit read-only" "$(echo $output)" "memory and pids limits read inside, and a mkdir there" || return 1
	expect_eq "" "$(my_cgroups)" "the containers' cgroups after the runs"
}

# exercise: 05.3 05.4 05.5 05.9
@test "exit codes as docker's: 125 engine, 126 cannot execute, 127 not found, N, 128+N" {
	hint "the command's status; 126/127 from a failed execve; 125 for mini-docker's own errors"
	n=$((RANDOM % 100 + 1))
	md run --rm --entrypoint /bin/probe "$REG/test:1" exit "$n"
	expect_status "$n" "the command's own status"
	md run --rm --entrypoint /bin/probe "$REG/test:1" segv
	expect_status 139 "128 + SIGSEGV"
	md run --rm --entrypoint /no/such "$REG/test:1"
	expect_status 127 "a command that does not exist"
	md run --rm --entrypoint /etc/motd "$REG/test:1"
	expect_status 126 "a file that cannot be executed"
	md run --rm --no-such-flag "$REG/test:1"
	expect_status 125 "an unknown option"
	md run --rm "$REG/no-such-image:1"
	expect_status 125 "an image the registry does not have"
	expect_eq 0 "$(containers_left)" "containers left by the failed runs"
}

# exercise: 05.3 05.5 05.9
@test "nothing is left after a failed start: no container dir, cgroup, mount or process" {
	hint "every step undoes what it made when a later one fails: the child exits 125, the engine cleans up"
		md run --rm --cgroup-parent "$CGP" --memory 64M -u no-such-user "$REG/app:1"
	expect_status 125 "an unknown user to fail the start"
	expect_stderr_says "no-such-user" "the error to name the user"
	md run --cgroup-parent "$CGP" --memory 64M -v "$BATS_TEST_TMPDIR/v:/data/abs/x" "$REG/test:1"
	expect_status 125 "a volume target through a symlink to fail the start"
	expect_eq "" "$(my_cgroups)" "the containers' cgroups after failed starts"
	expect_eq 0 "$(grep -c "$MINI_DOCKER_ROOT" /proc/self/mountinfo)" "the host's mounts under the store (overlays, volumes)"
	md ps -a
	expect_match "[Ee]xited ?\\(125\\)" "$output" "the container that failed without --rm, listed as exited (125)"
	for id in $(ls "$MINI_DOCKER_ROOT/containers" | grep -v names); do "$MD" rm "$id" >/dev/null; done
	expect_eq 0 "$(containers_left)" "containers after rm"
}

# exercise: 05.3 05.4 05.5 05.6 05.9
@test "after SIGKILL of mini-docker, rm removes the container, its cgroup and its writes" {
	hint "the child dies with the engine (PR_SET_PDEATHSIG); state.json names the cgroup and dir for rm"
	NAME=killed-$(random_word)
		"$MD" run --name "$NAME" --cgroup-parent "$CGP" --pids-limit 50 -u 0 --entrypoint /bin/sh "$REG/test:1" -c 'echo x >/data/w; probe sleep 300 & exec probe sleep 300' \
		>"$BATS_TEST_TMPDIR/out" 2>&1 &
	BG=$!
	id=""
	for _ in $(seq 100); do
		id=$(readlink "$MINI_DOCKER_ROOT/containers/names/$NAME" 2>/dev/null) &&
			[ -e "$MINI_DOCKER_ROOT/containers/$id/upper/data/w" ] && break
		sleep 0.1
	done
	[ -e "$MINI_DOCKER_ROOT/containers/$id/upper/data/w" ] || { echo "expected the container to start within 10 s"; cat "$BATS_TEST_TMPDIR/out"; return 1; }
	pids=$(cat /proc/"$BG"/task/*/children)
	kill -9 "$BG"
	wait "$BG" 2>/dev/null || true
	BG=""
	for p in $pids; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		if kill -0 "$p" 2>/dev/null; then echo "expected container process $p to die with mini-docker"; return 1; fi
	done
	md rm "$NAME"
	expect_status 0 "rm $NAME after the engine was killed"
	NAME=""
	[ ! -e "$MINI_DOCKER_ROOT/containers/$id" ] || { echo "expected rm to remove the container's dir"; return 1; }
	expect_eq "" "$(my_cgroups)" "the container's cgroups after rm"
}

# exercise: 05.3 05.4 05.5 05.6 05.7 05.8 05.9
@test "rootless: a user pulls and runs; -v /:/host reads nothing that user could not (no /etc/shadow)" {
	hint "not root: a user namespace mapping only our uid; the host's files keep their real owners, so root inside is nobody to them"
	setpriv --reuid=65534 --regid=65534 --clear-groups unshare --user true 2>/dev/null || skip "requires unprivileged user namespaces"
	[ -e /etc/shadow ] || skip "requires /etc/shadow"
	md run --rm -v /:/host --rootfs "$ROOTFS_SRC" /bin/sh -c 'head -c 1 /host/etc/shadow >/dev/null && echo read'
	expect_eq "read" "$output" "root's container with -v /:/host reading /etc/shadow (docker's root problem)"
	ROOTLESS=$(mktemp -d /tmp/md-rootless.XXXXXX)
	dir=$ROOTLESS
	chown 65534:65534 "$dir"
	run --separate-stderr timeout 60 setpriv --reuid=65534 --regid=65534 --clear-groups env MINI_DOCKER_ROOT="$dir/store" \
		"$MD" --insecure-registry "$REG" run --rm -v /:/host -u 0 --entrypoint /bin/sh "$REG/test:1" -c \
		'probe uid; cat /data/keep; head -c 1 /host/etc/shadow >/dev/null 2>&1 && echo shadow-read || echo shadow-denied; echo x >/data/w && echo upper-ok'
	expect_status 0 "a rootless pull and run"
	expect_eq "$(printf '0\nkeep %s\nshadow-denied\nupper-ok' "$MARK")" "$output" "uid inside, a file of the image, /etc/shadow through -v /:/host, a write"
}
