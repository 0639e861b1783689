#!/usr/bin/env bats
# Step 05, tools: the talk's other tools on the image the other step-05 tests
# use (tests/fixtures/mkimages.sh's "test": busybox, a whiteout, Entrypoint
# /bin/echo, User 1234:5678), pushed to Debian's docker-registry that this file
# starts on 127.0.0.1. Podman runs it with docker's commands, as root and as a
# user of its own; systemd-nspawn runs what `mini-docker unpack` and
# `unpack --bundle` make; LXC's oci template makes a container of it; lsns
# shows a mini-docker container's namespaces. No internet: the registry, or an
# OCI layout skopeo copied out of it. Each test runs its tools with a store, a
# run directory and a cgroup of its own ($CG) and removes them.

bats_require_minimum_version 1.5.0
load helpers
load fixtures/registry
load fixtures/podman

MD=${MINI_DOCKER:-$REPO/steps/05-mini-docker/mini-docker}

setup_file() {
	command -v curl >/dev/null && serve_test_image
	# what systemd-nspawn makes under /run and does not remove (there, /run is a tmpfs)
	[ -e /run/systemd/nspawn ] || touch "$BATS_FILE_TMPDIR/no-nspawn-run-dir"
}

teardown_file() {
	registry_stop_all
	rm -rf "$BATS_FILE_TMPDIR/store"
	if [ -e "$BATS_FILE_TMPDIR/no-nspawn-run-dir" ]; then
		rmdir /run/systemd/nspawn/locks /run/systemd/nspawn/propagate /run/systemd/nspawn 2>/dev/null || true
	fi
}

setup() {
	require_root
	section "Docker, Podman, LXC, systemd-nspawn and the OCI"
	[ -n "${REG:-}" ] || {
		echo "expected setup_file to build the test image and push it to a registry on 127.0.0.1, got:"
		cat "$BATS_FILE_TMPDIR/setup.log" 2>/dev/null
		return 1
	}
	export MINI_DOCKER_ROOT=$BATS_FILE_TMPDIR/store
	T=$BATS_TEST_TMPDIR
	# this test's cgroup, in every hierarchy a tool uses; removed with what is below it
	CG=mdtools-$(random_word)
	NAME=tools-$(random_word)
}

teardown() {
	if [ -n "${MD_NAME:-}" ]; then "$MD" rm -f "$MD_NAME" >/dev/null 2>&1 || true; fi
	if [ -n "${PODMAN_USED:-}" ]; then podman_ rm -a -f -t 0 >/dev/null 2>&1 || true; fi
	if [ -n "${ROOTLESS_USER:-}" ]; then rootless_cleanup; fi
	if [ -n "${LXC_P:-}" ]; then lxc_cleanup; fi
	if [ -n "${SETTINGS:-}" ]; then rm -f "$SETTINGS"; fi
	if [ -n "${BUS_PID:-}" ]; then
		kill "$BUS_PID" 2>/dev/null || true
		wait "$BUS_PID" 2>/dev/null || true
	fi
	remove_cgroups "$CG"
}

# tool NAME...: the tools this test needs; make deps installs them all
tools() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null || {
			echo "expected $t on this host (make deps installs it)"
			return 1
		}
	done
}

# expect_line REGEX TEXT WHAT: a line of TEXT matches REGEX (grep -E)
expect_line() {
	grep -Eq "$1" <<<"$2" || {
		echo "expected a line of $3 to match /$1/, got:"
		printf '%s\n' "$2"
		return 1
	}
}

# md_pull: the test image into mini-docker's store (run pulls by itself; unpack does not)
md_pull() {
	run --separate-stderr timeout --kill-after=5 120 "$MD" --insecure-registry "$REG" pull "$REG/test:1"
	expect_status 0 "mini-docker pull of the test image"
}

# exp WHAT EXPECTED: the last run exited 0 and printed EXPECTED
exp() {
	expect_status 0 "$1" || return 1
	expect_eq "$2" "$output" "what $1 printed" || {
		show_run
		return 1
	}
}

# --- podman ---------------------------------------------------------------------
# dk ENGINE COMMAND ARGS...: the same docker command line, typed to mini-docker or to
# podman (the slides' `alias docker=podman`). Only what this host needs is added: no
# network (the runner's namespace has loopback only), the registry is plain http,
# podman's cgroups under $CG (else it leaves libpod_parent/conmon at the root) and a
# file limit this host's hard limit allows
dk() {
	local engine=$1 cmd=$2
	shift 2
	local extra=()
	if [ "$engine" = mini-docker ]; then
		[ "$cmd" = run ] && extra=(--network none)
		run --separate-stderr timeout --kill-after=5 120 "$MD" --insecure-registry "$REG" "$cmd" "${extra[@]}" "$@"
	else
		PODMAN_USED=1
		[ "$cmd" = run ] && extra=(--network none --tls-verify=false --cgroup-parent "/$CG"
			--ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
		run --separate-stderr podman_ "$cmd" "${extra[@]}" "$@"
	fi
	[ "$status" != 124 ] || echo "expected $engine $cmd to finish within 120 s, got a hang (killed it)"
}

# exercise: 05.4 05.5 05.7 05.8
@test "podman: alias docker=podman: run, run -d, ps, exec, stop, rm as mini-docker's, on the same image" {
	hint "the same commands, the same answers: both engines read the image's Entrypoint, Cmd and User, and neither needs a daemon"
	tools podman runc conmon || return 1
	for e in mini-docker podman; do
		dk "$e" run --rm "$REG/test:1"
		exp "$e run --rm (the image's Entrypoint and Cmd)" "hello-$MARK" || return 1
		word=$(random_word)
		dk "$e" run --rm "$REG/test:1" "$word"
		exp "$e run --rm IMAGE $word (CMD replaces Cmd)" "$word" || return 1
		dk "$e" images
		expect_line "^$REG/test +1 " "$output" "$e images (the image run pulled)" || return 1
		# a volume: -v HOSTDIR:DIR, both ways
		mkdir -m 777 "$T/volume-$e" # the image's User, 1234, writes there
		echo "$word" >"$T/volume-$e/in"
		dk "$e" run --rm -v "$T/volume-$e:/root" --entrypoint /bin/sh "$REG/test:1" -c 'cat /root/in; echo out >/root/out'
		exp "$e run -v (the host's file, read inside)" "$word" || return 1
		expect_eq out "$(cat "$T/volume-$e/out")" "what $e's container wrote into the volume, on the host" || return 1
		[ "$e" = mini-docker ] && MD_NAME=$NAME
		dk "$e" run -d --name "$NAME" --entrypoint /bin/sleep "$REG/test:1" 600
		expect_status 0 "$e run -d" || { show_run; return 1; }
		expect_match "^[0-9a-f]{64}$" "$output" "what $e run -d printed (the container's ID)" || return 1
		id=$output
		dk "$e" ps
		expect_line "^${id:0:12} .* Up .* $NAME$" "$output" "$e ps (the container, Up)" || return 1
		if [ "$e" = podman ]; then
			# no daemon: podman run has returned; what holds the container is conmon, the monitor it left
			run --separate-stderr podman_ inspect --format '{{.State.Pid}}' "$NAME"
			ppid=$(ps -o ppid= -p "$output" | tr -d ' ')
			expect_eq conmon "$(ps -o comm= -p "$ppid")" "the parent of podman's container $output (a daemon would own it)" || return 1
		fi
		dk "$e" exec "$NAME" sh -c 'cat /data/keep; id -u'
		exp "$e exec (a file of the image; the image's User)" "$(printf 'keep %s\n1234' "$MARK")" || return 1
		dk "$e" stop -t 1 "$NAME"
		exp "$e stop -t 1 (sleep ignores SIGTERM as PID 1: SIGKILL after 1 s)" "$NAME" || return 1
		dk "$e" ps
		[[ $output != *"$NAME"* ]] || { echo "expected $e ps without the stopped container, got '$output'"; return 1; }
		dk "$e" ps -a
		expect_line "Exited \(137\).* $NAME$" "$output" "$e ps -a (the stopped container: 128 + SIGKILL)" || return 1
		dk "$e" rm "$NAME"
		exp "$e rm" "$NAME" || return 1
		dk "$e" ps -a -q
		exp "$e ps -a -q after rm" "" || return 1
		MD_NAME=
	done
}

# rootless_ ARGS...: podman as $ROOTLESS_USER, everything under $ROOTLESS (its home,
# XDG_RUNTIME_DIR, store): nothing in /tmp or ~ of anyone else
rootless_() {
	runuser -u "$ROOTLESS_USER" -- env HOME="$ROOTLESS/home" XDG_RUNTIME_DIR="$ROOTLESS/xdg" \
		timeout --kill-after=5 120 podman --root "$ROOTLESS/storage" --runroot "$ROOTLESS/run" \
		--tmpdir "$ROOTLESS/tmp" --storage-driver vfs --runtime runc --cgroup-manager cgroupfs \
		--events-backend file "$@"
}

# rootless podman keeps a "pause" process holding its user namespace (its PID in
# tmpdir/pause.pid) after the last container: stop it, then remove the user, whose
# entries in /etc/subuid and /etc/subgid userdel removes too
rootless_cleanup() {
	local pid uid
	uid=$(id -u "$ROOTLESS_USER" 2>/dev/null)
	rootless_ rm -a -f -t 0 >/dev/null 2>&1 || true
	if [ -n "$uid" ]; then
		for pid in $(ps -o pid= -u "$uid"); do kill -9 "$pid" 2>/dev/null || true; done
		for _ in $(seq 50); do [ -z "$(ps -o pid= -u "$uid")" ] && break; sleep 0.1; done
	fi
	userdel "$ROOTLESS_USER" 2>/dev/null || true
	rm -rf "$ROOTLESS"
}

@test "podman rootless: a user with /etc/subuid ranges runs the image; root inside is that user on the host" {
	hint "newuidmap maps 0 to the user and 1..65536 to its subuid range: root inside, nobody special outside (WORKSHOP.md, Step 03: user namespaces)"
	tools podman runc useradd newuidmap || return 1
	setpriv --reuid=65534 --regid=65534 --clear-groups unshare --user true 2>/dev/null || skip "requires unprivileged user namespaces"
	ROOTLESS_USER=mdt$(random_word)
	# not under $BATS_TEST_TMPDIR: the directories above it are root's, 0700
	ROOTLESS=$(mktemp -d /tmp/mdtools-rootless.XXXXXX)
	useradd -M -d "$ROOTLESS/home" -s /usr/sbin/nologin -K SUB_UID_COUNT=65536 -K SUB_GID_COUNT=65536 "$ROOTLESS_USER"
	uid=$(id -u "$ROOTLESS_USER")
	sub=$(awk -F: -v u="$ROOTLESS_USER" '$1 == u { print $2 ":" $3 }' /etc/subuid)
	expect_match "^[0-9]+:65536$" "$sub" "the user's range in /etc/subuid (useradd makes it)" || return 1
	chown "$ROOTLESS_USER:" "$ROOTLESS"
	runuser -u "$ROOTLESS_USER" -- mkdir -m 700 "$ROOTLESS/home" "$ROOTLESS/xdg"

	run --separate-stderr rootless_ run --rm --network none --tls-verify=false -u 0 --entrypoint /bin/sh "$REG/test:1" \
		-c 'id -u; stat -c %u:%g /data/perm/owned; cat /proc/self/uid_map'
	expect_status 0 "a rootless podman run" || { show_run; return 1; }
	expect_eq "0|1234:5678|0 $uid 1|1 ${sub%:*} 65536" "$(awk '{ $1 = $1; print }' <<<"$output" | paste -sd'|')" \
		"id -u inside, the owner of the image's data/perm/owned, the user namespace's uid_map" || return 1
	# the same file on the host, in the user's store: owned by a uid of its range
	owner=$(find "$ROOTLESS/storage/vfs/dir" -path '*/data/perm/owned' -printf '%u\n' | sort -u)
	expect_eq "$((${sub%:*} + 1233))" "$owner" "the host owner of data/perm/owned in the user's store (subuid start + 1234 - 1)" || return 1

	run --separate-stderr rootless_ run -d --name "$NAME" --network none --tls-verify=false -u 0 --entrypoint /bin/sleep "$REG/test:1" 600
	expect_status 0 "a rootless podman run -d" || { show_run; return 1; }
	run --separate-stderr rootless_ exec "$NAME" id -u
	exp "id -u in the running container (podman exec)" "0" || return 1
	run --separate-stderr rootless_ inspect --format '{{.State.Pid}}' "$NAME"
	pid=$output
	expect_eq "$uid" "$(stat -c %u "/proc/$pid" 2>&1)" "the owner of the container's process $pid on the host (the user, not root)" || return 1
	run --separate-stderr rootless_ rm -f -t 0 "$NAME"
	exp "podman rm -f" "$NAME" || return 1
}

# --- systemd-nspawn ---------------------------------------------------------------
# nspawn ARGS...: systemd-nspawn (--pipe: the command's stdout is ours, not a pty) with no systemd to ask (none runs as PID 1 here, and
# there is no system bus): --register=no (no systemd-machined), --keep-unit (no scope
# of its own: it stays in the cgroup it was started in). On a cgroup2 hierarchy
# (cgroup2 hosts, and the hybrid host's /sys/fs/cgroup/unified, with name=systemd
# beside it) it then splits that cgroup into supervisor/ and payload/ and, as systemd
# would remove the whole unit, leaves both there. From the root cgroup they would be
# /sys/fs/cgroup/{supervisor,payload} for good: so it starts in $CG, which teardown removes.
# nspawn_cgroups: $CG in the hierarchies nspawn uses; $procs, their cgroup.procs files
nspawn_cgroups() {
	local h
	procs=""
	if [ "$(cgroup_mode)" = v2 ]; then h=/sys/fs/cgroup; else h="/sys/fs/cgroup/unified /sys/fs/cgroup/systemd"; fi
	for d in $h; do
		[ -d "$d" ] || continue
		mkdir -p "$d/$CG"
		procs="$procs $d/$CG/cgroup.procs"
	done
}

nspawn() {
	nspawn_cgroups
	run --separate-stderr timeout --kill-after=5 120 env PROCS="$procs" ${BUS:+DBUS_SYSTEM_BUS_ADDRESS="$BUS"} sh -c \
		'for p in $PROCS; do echo $$ >"$p" || exit 125; done; exec systemd-nspawn --quiet --pipe --register=no --keep-unit "$@"' \
		nspawn "$@"
	[ "$status" != 124 ] || echo "expected systemd-nspawn to finish within 120 s, got a hang (killed it)"
}

# exercise: 05.3
@test "systemd-nspawn -D runs a command in the rootfs mini-docker unpack makes; --bind is a volume" {
	hint "mini-docker unpack flattens the layers as umoci does (whiteouts applied): any runtime can take the directory"
	tools systemd-nspawn || return 1
	md_pull || return 1
	run --separate-stderr "$MD" unpack "$REG/test:1" "$T/rootfs"
	expect_status 0 "mini-docker unpack of the test image" || { show_run; return 1; }
	mkdir "$T/volume"
	word=$(random_word)
	echo "$word" >"$T/volume/in"
	nspawn -D "$T/rootfs" -M "$NAME" --bind="$T/volume:/root" /bin/sh -c 'echo $$; hostname; cat /data/keep; ls /data; cat /root/in; echo out >/root/out'
	expect_status 0 "systemd-nspawn -D ROOTFS" || { show_run; return 1; }
	expect_eq "1|$NAME|keep $MARK|abs|hard|keep|link|opq|orig|perm|$word" "$(paste -sd'|' <<<"$output")" \
		"the command's PID, hostname (-M), a file of the image, /data (data/gone whited out), the volume's file" || return 1
	expect_eq "out" "$(cat "$T/volume/out")" "what the container wrote into the volume, seen on the host"
}

@test "systemd-nspawn --boot: the rootfs's init is PID 1 (busybox's, from its inittab); SIGTERM to nspawn halts it" {
	hint "a system container: init runs first, as on a machine; nspawn asks it to power off when told to stop"
	tools systemd-nspawn || return 1
	md_pull || return 1
	run --separate-stderr "$MD" unpack "$REG/test:1" "$T/rootfs"
	expect_status 0 "mini-docker unpack of the test image" || { show_run; return 1; }
	# --boot wants an OS tree (etc/os-release); busybox's init runs etc/inittab's actions
	printf 'NAME=busybox\nID=busybox\n' >"$T/rootfs/etc/os-release"
	cat >"$T/rootfs/etc/inittab" <<-'EOF'
		::sysinit:/bin/sh -c 'echo "$$ $(cat /proc/1/comm) $(hostname)" >/booted'
		::shutdown:/bin/sh -c 'echo halted >/halted'
	EOF
	nspawn_cgroups
	# in $CG, as nspawn() above; busybox's init powers off on SIGUSR2, which nspawn
	# sends it (--kill-signal) when nspawn itself gets SIGTERM (machinectl poweroff's way)
	(
		for p in $procs; do echo "$BASHPID" >"$p"; done
		exec timeout --kill-after=5 120 systemd-nspawn --quiet --register=no --keep-unit --boot \
			--kill-signal=SIGUSR2 -M "$NAME" -D "$T/rootfs" </dev/null >"$T/boot.out" 2>&1
	) &
	bootpid=$!
	for _ in $(seq 300); do [ -s "$T/rootfs/booted" ] && break; sleep 0.1; done
	read -r pid1 comm host <"$T/rootfs/booted" || { cat "$T/boot.out"; echo "expected init to run the sysinit line within 30 s"; return 1; }
	expect_eq "init $NAME" "$comm $host" "PID 1's command and the hostname, seen by the sysinit action" || return 1
	expect_ne 1 "$pid1" "the PID of the sysinit action (a child of init, not PID 1)" || return 1
	nspawn_pid=$(pgrep -P "$bootpid" -x systemd-nspawn || true)
	kill -TERM "${nspawn_pid:-$bootpid}"
	st=0
	wait "$bootpid" || st=$?
	expect_eq 0 "$st" "systemd-nspawn's status after SIGTERM (init halted the container)" || { cat "$T/boot.out"; return 1; }
	expect_eq halted "$(cat "$T/rootfs/halted" 2>&1)" "what init's shutdown action wrote" || return 1
}

@test "systemd-nspawn reads NAME.nspawn, a unit-like file: [Exec] Environment= and Ephemeral= (writes go with the container)" {
	hint "like a service's unit file: settings for -M NAME in /etc/systemd/nspawn or /run/systemd/nspawn"
	tools systemd-nspawn || return 1
	md_pull || return 1
	run --separate-stderr "$MD" unpack "$REG/test:1" "$T/rootfs"
	expect_status 0 "mini-docker unpack of the test image" || { show_run; return 1; }
	word=$(random_word)
	# /run, not /etc: nothing of it survives a reboot if the teardown does not run
	SETTINGS=/run/systemd/nspawn/$NAME.nspawn
	mkdir -p /run/systemd/nspawn
	printf '[Exec]\nEnvironment=KEY=%s\nEphemeral=yes\n' "$word" >"$SETTINGS"
	nspawn -D "$T/rootfs" -M "$NAME" /bin/sh -c 'echo "$KEY"; echo written >/data/ephemeral; cat /data/ephemeral'
	rm -f "$SETTINGS"
	SETTINGS=
	exp "systemd-nspawn -M $NAME with $NAME.nspawn (Environment=, then a write)" "$(printf '%s\nwritten' "$word")" || return 1
	[ ! -e "$T/rootfs/data/ephemeral" ] || { echo "expected Ephemeral=yes to keep the write in a snapshot, got it in the directory"; return 1; }
	# and without the file: no KEY, and the write stays
	nspawn -D "$T/rootfs" -M "$NAME" /bin/sh -c 'echo "[$KEY]"; echo written >/data/ephemeral'
	exp "systemd-nspawn -M $NAME without the settings file" "[]" || return 1
	expect_eq written "$(cat "$T/rootfs/data/ephemeral" 2>&1)" "the write of a container that is not ephemeral, in the directory"
}

# run the bundle's config under runc (crun: as tests/05-run.bats, without the hybrid
# host's cgroup2 mount, which crun refuses)
runc_bundle() {
	run --separate-stderr timeout --kill-after=5 60 runc --root "$T/runc" run --bundle "$1" "md-runc-$(random_word)"
}
crun_bundle() {
	run --separate-stderr timeout --kill-after=5 60 unshare -m sh -c \
		'mount --make-rprivate / && { umount /sys/fs/cgroup/unified 2>/dev/null; true; } && exec crun "$@"' \
		crun --root "$T/crun" run --bundle "$1" "md-crun-$(random_word)"
}

# start_bus: a D-Bus daemon of this test's own, as the system bus for systemd-nspawn
# (DBUS_SYSTEM_BUS_ADDRESS): $BUS, $BUS_PID
start_bus() {
	BUS=unix:path=$T/bus
	dbus-daemon --session --address="$BUS" --nofork --nopidfile 2>"$T/bus.log" &
	BUS_PID=$!
	for _ in $(seq 100); do [ -S "$T/bus" ] && return 0; sleep 0.1; done
	echo "expected dbus-daemon to listen on $T/bus within 10 s, got:"
	cat "$T/bus.log"
	return 1
}

# exercise: 05.3
@test "systemd-nspawn --oci-bundle runs what mini-docker unpack --bundle makes, as runc does; its device rule holds in runc and crun" {
	hint "bundle.c: ociVersion 1.0.0 (nspawn 252 takes no other); runc spec's device rule, deny all (crun needs it)"
	tools systemd-nspawn dbus-daemon runc crun python3 || return 1
	B=$T/bundle
	md_pull || return 1
	run --separate-stderr "$MD" unpack --bundle "$REG/test:1" "$B"
	expect_status 0 "mini-docker unpack --bundle of the test image" || { show_run; return 1; }
	expect_eq "1.0.0 [{'allow': False, 'access': 'rwm'}]" \
		"$(python3 -c 'import json, sys; c = json.load(open(sys.argv[1])); print(c["ociVersion"], c["linux"]["resources"]["devices"])' "$B/config.json")" \
		"the bundle's ociVersion and device rules" || return 1
	# nspawn 252 turns the bundle's device rule into a property of the systemd scope it
	# would ask for, and for that opens the system bus, even with --register=no
	# --keep-unit, where it asks systemd nothing: with no bus it exits 1 and says
	# nothing. This host has neither systemd nor a system bus, so nspawn gets a bus of
	# the test's own. The rule still matters to runc and crun (below).
	start_bus || return 1
	nspawn --oci-bundle="$B"
	exp "systemd-nspawn --oci-bundle (the image's Entrypoint and Cmd, from config.json)" "hello-$MARK" || return 1
	# the rest of config.json, asked inside: user, groups, cwd, env, hostname, the flattened rootfs
	set_process "$B" 'p["args"] = ["/bin/sh", "-c", "id -u; id -g; pwd; echo $MARK; hostname; ls /data"]'
	nspawn --oci-bundle="$B"
	exp "systemd-nspawn --oci-bundle (id -u, id -g, pwd, \$MARK, hostname, ls /data)" \
		"$(printf '1234\n5678\n/data\n%s\nmini-docker\nabs\nhard\nkeep\nlink\nopq\norig\nperm' "$MARK")" || return 1
	want=$output
	runc_bundle "$B"
	exp "runc run of the same bundle" "$want" || return 1
	# the device rule at work: root in the container may mknod a disk of the host (runc's
	# and crun's "b *:* m"), not open it. Without the rule, crun on a cgroup v1 host
	# opens a loop or zram disk.
	dev=$(ls /sys/dev/block | head -n 1)
	[ -n "$dev" ] || { echo "expected a block device on this host to try, found none in /sys/dev/block"; return 1; }
	set_process "$B" 'p["user"] = {"uid": 0, "gid": 0}; p["args"] = ["/bin/sh", "-c", "rm -f /tmp/disk; mknod /tmp/disk b '"${dev%:*} ${dev#*:}"'; head -c 1 /tmp/disk >/dev/null 2>&1 && echo opened || echo refused"]'
	runc_bundle "$B"
	exp "runc: block device $dev of the host, made with mknod and opened" "refused" || return 1
	crun_bundle "$B"
	exp "crun: block device $dev of the host, made with mknod and opened" "refused" || return 1
}

# --- LXC ---------------------------------------------------------------------------
# lxc_ TOOL ARGS...: an lxc-* tool on this test's lxcpath (-P: its containers' configs
# and rootfs), bounded in time
lxc_() {
	local t=$1
	shift
	run --separate-stderr timeout --kill-after=5 120 "lxc-$t" -P "$LXC_P" "$@"
	[ "$status" != 124 ] || echo "expected lxc-$t to finish within 120 s, got a hang (killed it)"
}

# what lxc-start leaves besides the lxcpath: a lock directory named after it under /run/lxc/lock
lxc_cleanup() {
	local d
	if [ -d "$LXC_P/$NAME" ]; then
		timeout 60 lxc-stop -P "$LXC_P" -n "$NAME" -k >/dev/null 2>&1 || true
		timeout 60 lxc-destroy -P "$LXC_P" -n "$NAME" -f >/dev/null 2>&1 || true
	fi
	rm -rf "/run/lxc/lock$LXC_P"
	d=$(dirname "/run/lxc/lock$LXC_P")
	while [ "$d" != /run ] && rmdir "$d" 2>/dev/null; do d=$(dirname "$d"); done
}

@test "LXC: lxc-create -t oci makes a container of the image; lxc-start, lxc-ls, lxc-attach, lxc-stop, lxc-destroy" {
	hint "LXC's oci template is skopeo copy + umoci unpack + a config; lxc-start boots the rootfs's init, lxc-attach joins its namespaces"
	tools lxc-create lxc-start lxc-ls lxc-attach lxc-stop lxc-destroy skopeo umoci jq || return 1
	# the template's skopeo has no --src-tls-verify=false for a plain-http registry:
	# it copies from a layout that skopeo copied out of the registry
	skopeo --insecure-policy copy -q --src-tls-verify=false "docker://$REG/test:1" "oci:$T/oci:test" >/dev/null
	LXC_P=$T/lxc
	mkdir "$LXC_P"
	# no network device (lxc's default config wants the lxcbr0 bridge of lxc-net), and the
	# container's cgroups, its monitor's and the monitor's way out (lxc.pivot) under $CG
	cat >"$T/lxc.conf" <<-EOF
		lxc.net.0.type = empty
		lxc.cgroup.dir.container = $CG/$NAME
		lxc.cgroup.dir.monitor = $CG/$NAME.monitor
		lxc.cgroup.dir.monitor.pivot = $CG/pivot
	EOF
	lxc_ create -n "$NAME" -f "$T/lxc.conf" -t oci -- --url "oci:$T/oci:test" --no-cache
	expect_status 0 "lxc-create -t oci" || { show_run; return 1; }
	expect_eq "keep $MARK" "$(cat "$LXC_P/$NAME/rootfs/data/keep")" "data/keep in the container's rootfs, unpacked by the template"
	expect_eq "lxc.execute.cmd = '\"/bin/echo\"  \"hello-$MARK\" '" "$(grep '^lxc.execute.cmd' "$LXC_P/$NAME/config")" \
		"the image's Entrypoint and Cmd, in the config the template wrote" || return 1
	# a system container: boot the image's init (busybox's) as root, and halt it as
	# lxc-busybox does (busybox init halts on SIGUSR1, not on lxc's default SIGPWR)
	printf '%s\n' "lxc.init.cmd = /sbin/init" "lxc.init.uid = 0" "lxc.init.gid = 0" "lxc.signal.halt = SIGUSR1" >>"$LXC_P/$NAME/config"
	# a volume, LXC's way: a bind mount entry in the config (the target is in the rootfs)
	mkdir "$T/volume"
	word=$(random_word)
	echo "$word" >"$T/volume/in"
	echo "lxc.mount.entry = $T/volume data/volume none bind,create=dir 0 0" >>"$LXC_P/$NAME/config"

	lxc_ start -n "$NAME"
	expect_status 0 "lxc-start -n $NAME" || { show_run; return 1; }
	lxc_ wait -n "$NAME" -s RUNNING -t 60
	lxc_ ls -f
	expect_line "^$NAME +RUNNING " "$output" "lxc-ls -f (the container, RUNNING)" || return 1
	lxc_ attach -n "$NAME" -- sh -c 'cat /data/keep; hostname; cat /proc/1/cmdline; echo; cat /data/volume/in'
	exp "lxc-attach -- CMD (a file of the image, the hostname, PID 1's command line, the volume's file)" \
		"$(printf 'keep %s\n%s\ninit\n%s' "$MARK" "$NAME" "$word")" || return 1
	lxc_ stop -n "$NAME" -t 30
	expect_status 0 "lxc-stop -n $NAME (init halts on SIGUSR1)" || { show_run; return 1; }
	lxc_ ls -f
	expect_line "^$NAME +STOPPED " "$output" "lxc-ls -f after lxc-stop" || return 1
	lxc_ destroy -n "$NAME"
	expect_status 0 "lxc-destroy -n $NAME" || { show_run; return 1; }
	[ ! -e "$LXC_P/$NAME" ] || { echo "expected lxc-destroy to remove $LXC_P/$NAME, got it still there"; return 1; }
	lxc_ ls
	exp "lxc-ls after lxc-destroy" "" || return 1
}

# --- lsns -------------------------------------------------------------------------
# exercise: 05.4 05.5 05.7 05.8
@test "lsns and /proc/PID/ns: a mini-docker container's pid, mnt, net, uts, ipc and cgroup namespaces are its own" {
	hint "clone(2) with CLONE_NEWPID|NEWNS|NEWNET|NEWUTS|NEWIPC|NEWCGROUP; lsns lists each namespace with the lowest PID in it (WORKSHOP.md, Step 03)"
	tools lsns python3 || return 1
	MD_NAME=$NAME
	run --separate-stderr timeout 60 "$MD" run -d --network none --name "$NAME" --entrypoint /bin/sleep "$REG/test:1" 600
	expect_status 0 "mini-docker run -d" || { show_run; return 1; }
	pid=$("$MD" inspect "$NAME" | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["State"]["Pid"])')
	expect_match "^[0-9]+$" "$pid" "the container's PID (inspect's State.Pid)" || return 1
	for t in pid mnt net uts ipc cgroup; do
		ns=$(readlink "/proc/$pid/ns/$t")
		expect_ne "$(readlink "/proc/self/ns/$t")" "$ns" "the container's $t namespace (/proc/$pid/ns/$t vs /proc/self/ns/$t)" || return 1
		inode=${ns#*[}
		inode=${inode%]}
		expect_eq "$inode $pid" "$(lsns -n -t "$t" -o NS,PID | awk -v i="$inode" '$1 == i { print $1, $2 }')" \
			"lsns -t $t: the container's namespace and the lowest PID in it" || return 1
	done
	# root's mini-docker makes no user namespace (as docker without userns-remap), nor a time one
	for t in user time; do
		[ -e "/proc/self/ns/$t" ] || continue
		expect_eq "$(readlink "/proc/self/ns/$t")" "$(readlink "/proc/$pid/ns/$t")" "the container's $t namespace (the host's)" || return 1
	done
	# exec joins them: what the container's own processes read is what the host reads in /proc/PID/ns
	run --separate-stderr timeout 60 "$MD" exec "$NAME" sh -c 'readlink /proc/self/ns/uts; readlink /proc/self/ns/pid'
	exp "readlink of the uts and pid namespaces by mini-docker exec" "$(readlink "/proc/$pid/ns/uts" "/proc/$pid/ns/pid")" || return 1
	run --separate-stderr "$MD" rm -f "$NAME"
	exp "mini-docker rm -f" "$NAME" || return 1
	MD_NAME=
	[ -z "$(lsns -n -o NS,PID | awk -v i="$inode" -v p="$pid" '$1 == i && $2 == p')" ] ||
		{ echo "expected the container's namespaces gone after rm -f, got them in lsns"; return 1; }
}
