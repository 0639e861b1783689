#!/usr/bin/env bats
# Step 05, mini-runc: the OCI runtime command line (runtime-spec runtime.md) on
# step 05's engine. A bundle is config.json + a rootfs: made by `mini-docker
# unpack --bundle` from the test image (pushed to a registry on 127.0.0.1, as
# tests/05-tools.bats does), or by `mini-runc spec` around a copy of the busybox
# rootfs. The lifecycle is the spec's: create leaves the init blocked before the
# user's program, start releases it, state reads the truth, kill and delete end
# it and leave nothing (state dir, cgroup, mounts, processes). runc and crun run
# the same bundle for comparison. Each test uses a state root of its own ($ST).

bats_require_minimum_version 1.5.0
load helpers
load fixtures/registry
load fixtures/podman

MD=${MINI_DOCKER:-$REPO/steps/05-mini-docker/mini-docker}
MR=${MINI_RUNC:-$REPO/steps/05-mini-docker/mini-runc}

setup_file() {
	serve_test_image
}

teardown_file() {
	registry_stop_all
	rm -rf "$BATS_FILE_TMPDIR/store"
}

setup() {
	require_mini_runc
	export MINI_DOCKER_ROOT=$BATS_FILE_TMPDIR/store
	T=$BATS_TEST_TMPDIR
	ST=$T/state
	ID=mr-$(random_word)
	B=$T/bundle
}

# whatever a failed test left: its containers (delete --force kills and removes them), podman's
teardown() {
	local id
	for id in $(ls "$ST" 2>/dev/null); do
		"$MR" --root "$ST" delete --force "$id" >/dev/null 2>&1 || true
	done
	if [ -n "${PODMAN_USED:-}" ]; then podman_ rm -a -f -t 0 >/dev/null 2>&1 || true; fi
	if [ -n "${UNSHARE:-}" ]; then kill -9 -- "-$UNSHARE" 2>/dev/null || true; fi
	remove_cgroups "${CG:-}"
}

# mr ARGS...: mini-runc with this test's state root, bounded in time
mr() {
	run --separate-stderr timeout --kill-after=5 60 "$MR" --root "$ST" "$@"
	[ "$status" != 124 ] || echo "expected mini-runc $1 to finish within 60 s, got a hang (killed it)"
}

# mr_detached ARGS...: create, run --detach: the init keeps the command's stdout and stderr
# (they become the container's), so they go to files: bats' run would wait for their end
mr_detached() {
	status=0
	timeout --kill-after=5 60 "$MR" --root "$ST" "$@" >"$T/stdio.out" 2>"$T/stdio.err" </dev/null || status=$?
	output=$(cat "$T/stdio.out")
	stderr=$(cat "$T/stdio.err")
}

# spec_bundle: $B, the busybox rootfs (with probe) and `mini-runc spec`'s config.json
spec_bundle() {
	mkdir -p "$B"
	cp -a "$ROOTFS_SRC" "$B/rootfs"
	(cd "$B" && "$MR" spec) || {
		echo "expected mini-runc spec to write $B/config.json"
		return 1
	}
}

# config PYTHON: change $B/config.json ("c" the config, "p" its process)
config() {
	set_process "$B" "$1"
}

# state_of ID: "STATUS PID" from mini-runc state's JSON
state_of() {
	"$MR" --root "$ST" state "$1" | python3 -c 'import json, sys; s = json.load(sys.stdin); print(s["status"], s.get("pid", 0))'
}

# expect_gone: nothing of container $ID is left: state dir, cgroup
expect_gone() {
	[ ! -e "$ST/$ID" ] || { echo "expected delete to remove $ST/$ID, got: $(ls "$ST/$ID")"; return 1; }
	local left
	left=$(find /sys/fs/cgroup -maxdepth 7 -type d -name "$ID" 2>/dev/null)
	[ -z "$left" ] || { echo "expected the container's cgroups to go, got: $left"; return 1; }
}

# podman_image [TOOL...]: podman set to call mini-runc (podman, conmon and TOOLs on this host),
# under a cgroup of the test's own: $x its options, $NAME a container name, $image the test
# image, pulled
podman_image() {
	for t in podman conmon "$@"; do command -v "$t" >/dev/null || { echo "expected $t on this host (make deps)"; return 1; }; done
	[ -n "${REG:-}" ] || { echo "expected setup_file to make the test image:"; cat "$BATS_FILE_TMPDIR/setup.log"; return 1; }
	export PODMAN_RUNTIME=$MR
	PODMAN_USED=1 CG=mrpodman-$(random_word) NAME=mr-$(random_word)
	x=(--network none --cgroup-parent "/$CG" --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
	run --separate-stderr podman_ pull -q --tls-verify=false "$REG/test:1"
	expect_status 0 "podman pull of the test image" || return 1
	image=$output
}

# exercise: 05.1 05.2 05.3 05.4 05.5
@test "mini-runc run: a bundle from mini-docker unpack --bundle prints its output, and its exit status comes back" {
	hint "runc.c cmd_run: create, start, waitpid; ocispec.c reads process.args, env, cwd, user"
	[ -n "${REG:-}" ] || { echo "expected setup_file to push the test image:"; cat "$BATS_FILE_TMPDIR/setup.log"; return 1; }
	run --separate-stderr timeout 120 "$MD" --insecure-registry "$REG" pull "$REG/test:1"
	expect_status 0 "mini-docker pull of the test image" || return 1
	run --separate-stderr "$MD" unpack --bundle "$REG/test:1" "$B"
	expect_status 0 "mini-docker unpack --bundle" || return 1
	mr run --bundle "$B" "$ID"
	expect_status 0 "mini-runc run of the bundle (the image's Entrypoint and Cmd)" || return 1
	expect_eq "hello-$MARK" "$output" "what the container printed" || return 1
	word=$(random_word)
	config 'p["args"] = ["/bin/sh", "-c", "id -u; id -g; pwd; hostname; echo '"$word"'; exit 7"]'
	mr run --bundle "$B" "$ID"
	expect_status 7 "the container's own exit status (exit 7)" || return 1
	expect_eq "$(printf '1234\n5678\n/data\nmini-docker\n%s' "$word")" "$output" \
		"id -u, id -g, pwd, hostname, a word (config.json's user, cwd, hostname)" || return 1
	expect_gone
}

# exercise: 05.4 05.5
@test "mini-runc create leaves the init blocked before the user's program; start runs it; kill stops it; delete leaves nothing" {
	hint "create: the init waits opening exec.fifo (become.c wait_for_start); start opens it to read; state reads the kernel"
	spec_bundle || return 1
	word=$(random_word)
	config 'p["args"] = ["/bin/sh", "-c", "echo '"$word"' > /started; exec sleep 600"]; c["root"]["readonly"] = False'
	mr_detached create --bundle "$B" --pid-file "$T/pid" "$ID"
	expect_status 0 "mini-runc create" || return 1
	pid=$(cat "$T/pid")
	expect_eq "created $pid" "$(state_of "$ID")" "state after create (status, and the pid of --pid-file)" || return 1
	kill -0 "$pid" || { echo "expected the init $pid alive after create, got it gone"; return 1; }
	expect_eq "$MR" "$(tr '\0' ' ' </proc/"$pid"/cmdline | cut -d' ' -f1)" "the init's program before start (mini-runc, not yet sh)" || return 1
	[ ! -e "$B/rootfs/started" ] || { echo "expected the user's program not to run before start, got /started"; return 1; }
	mr start "$ID"
	expect_status 0 "mini-runc start" || return 1
	for _ in $(seq 50); do [ -e "$B/rootfs/started" ] && break; sleep 0.1; done
	expect_eq "$word" "$(cat "$B/rootfs/started" 2>&1)" "what the program wrote once started" || return 1
	expect_eq "running $pid" "$(state_of "$ID")" "state after start" || return 1
	mr start "$ID"
	expect_status 1 "a second start (the container is running)" || return 1
	mr delete "$ID"
	expect_status 1 "delete of a running container without --force" || return 1
	mr kill "$ID" KILL
	expect_status 0 "mini-runc kill ID KILL" || return 1
	for _ in $(seq 50); do [ "$(state_of "$ID")" = "stopped 0" ] && break; sleep 0.1; done
	expect_eq "stopped 0" "$(state_of "$ID")" "state after kill (no pid when stopped)" || return 1
	mr delete "$ID"
	expect_status 0 "mini-runc delete" || return 1
	expect_gone || return 1
	mr state "$ID"
	expect_status 1 "state of a deleted container" || return 1
}

# exercise: 05.4 05.5
@test "mini-runc: kill sends SIGTERM by default and names or numbers; list shows the container; delete --force ends a created one" {
	hint "runc.c cmd_kill: parse_signal (signals.c); cmd_delete --force: SIGKILL then the cgroup"
	spec_bundle || return 1
	config 'p["args"] = ["/bin/sh", "-c", "trap \"echo got-usr1 > /sig\" USR1; trap \"echo got-term >> /sig; exit 0\" TERM; while :; do sleep 0.1; done"]; c["root"]["readonly"] = False'
	mr_detached run --detach --bundle "$B" "$ID"
	expect_status 0 "mini-runc run --detach" || return 1
	mr list
	expect_match "$ID +[0-9]+ +running" "$output" "mini-runc list" || return 1
	sleep 0.3
	mr kill "$ID" 10
	expect_status 0 "kill ID 10 (SIGUSR1 by number)" || return 1
	for _ in $(seq 50); do [ -s "$B/rootfs/sig" ] && break; sleep 0.1; done
	mr kill "$ID"
	expect_status 0 "kill ID (SIGTERM)" || return 1
	for _ in $(seq 50); do [ "$(state_of "$ID")" = "stopped 0" ] && break; sleep 0.1; done
	expect_eq "$(printf 'got-usr1\ngot-term')" "$(cat "$B/rootfs/sig" 2>&1)" "the signals the program trapped" || return 1
	mr kill "$ID" NOSUCH
	expect_status 1 "kill with an unknown signal name" || return 1
	mr delete "$ID"
	expect_status 0 "delete of the stopped container" || return 1
	mr_detached create --bundle "$B" "$ID"
	expect_status 0 "create again under the same ID" || return 1
	mr delete --force "$ID"
	expect_status 0 "delete --force of a created container" || return 1
	expect_gone || return 1
	# gone already (containerd's shim deletes --force again when it cleans up): runc's
	# answer, 0 and not a word; a directory left without state.json (a create cut short) goes
	mkdir -p "$ST/$ID"
	mr delete --force "$ID"
	expect_status 0 "delete --force of a container that is gone" || return 1
	expect_eq "" "$stderr" "what delete --force of a container that is gone says (runc: nothing)" || return 1
	[ ! -e "$ST/$ID" ] || { echo "expected delete --force to remove $ST/$ID (no state.json in it), as runc"; return 1; }
	mr delete "$ID"
	expect_status 1 "delete (without --force) of a container that does not exist" || return 1
	expect_stderr_says "does not exist" "delete of a container that does not exist" || return 1
}

# exercise: 05.4 05.5
@test "mini-runc honours root.readonly, maskedPaths, readonlyPaths, a memory limit, rlimits and capabilities as config.json says" {
	hint "ocirun.c: mask_paths and mounts_finish (mounts.c); cgroups.c with linux.resources; become.c"
	spec_bundle || return 1
	mem=$((64 + RANDOM % 64))
	config 'p["args"] = ["/bin/sh", "-c", "touch /x 2>/dev/null && echo rw || echo ro; wc -c < /proc/timer_list; echo 1 > /proc/sys/kernel/domainname 2>/dev/null && echo sys-rw || echo sys-ro; cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory.max 2>/dev/null; ulimit -n; grep CapEff /proc/self/status"]
c["linux"]["resources"]["memory"] = {"limit": '"$mem"' * 1048576}
c["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "hard": 777, "soft": 555}]
for s in ("bounding", "effective", "permitted"): p["capabilities"][s] = ["CAP_KILL", "CAP_CHOWN"]'
	mr run --bundle "$B" "$ID"
	expect_status 0 "mini-runc run" || return 1
	expect_eq "$(printf 'ro\n0\nsys-ro\n%s\n555\nCapEff:\t0000000000000021' $((mem * 1048576)))" "$output" \
		"read-only root, masked /proc/timer_list (0 bytes), read-only /proc/sys, memory limit, nofile, CapEff" || return 1
	# a uid other than 0 keeps what the sets say, through execve, with ambient ones (runc's way)
	config 'p["user"] = {"uid": 1000, "gid": 1000}; p["args"] = ["/bin/sh", "-c", "id -u; grep -E \"^Cap(Eff|Amb)\" /proc/self/status"]
for s in ("inheritable", "ambient"): p["capabilities"][s] = ["CAP_KILL", "CAP_CHOWN"]'
	mr run --bundle "$B" "$ID"
	expect_eq "$(printf '1000\nCapEff:\t0000000000000021\nCapAmb:\t0000000000000021')" "$output" \
		"uid 1000 with CAP_KILL and CAP_CHOWN in all five sets" || return 1
	# linux.devices: a node made as the config says (type, numbers, mode, owner)
	config 'p["user"] = {"uid": 0, "gid": 0}; p["args"] = ["/bin/sh", "-c", "stat -c \"%F %t:%T %a %u:%g\" /dev/mr-null"]
c["linux"]["devices"] = [{"path": "/dev/mr-null", "type": "c", "major": 1, "minor": 3, "fileMode": 416, "uid": 7, "gid": 9}]'
	mr run --bundle "$B" "$ID"
	expect_eq "character special file 1:3 640 7:9" "$output" "stat of linux.devices' /dev/mr-null" || return 1
	# and the other way: a writable root
	config 'c["root"]["readonly"] = False; c["linux"]["maskedPaths"] = []; p["user"] = {"uid": 0, "gid": 0}
p["args"] = ["/bin/sh", "-c", "touch /x 2>/dev/null && echo rw || echo ro; wc -c < /proc/timer_list"]'
	mr run --bundle "$B" "$ID"
	expect_eq "rw" "$(head -n 1 <<<"$output")" "with root.readonly false" || return 1
	expect_ne "0" "$(sed -n 2p <<<"$output")" "/proc/timer_list's size once not masked" || return 1
	expect_gone
}

# exercise: 05.4 05.5
@test "mini-runc honours linux.resources.cpu.cpus and .mems (cpuset) under a new cgroupsPath, and refuses a CPU the host lacks" {
	hint "cgroups.c: cpuset_fill (v1: each new cgroup gets its parent's cpuset.cpus and .mems) and cpuset_write; v2: +cpuset in each ancestor's cgroup.subtree_control"
	spec_bundle || return 1
	CG=mrcpuset-$(random_word)
	# the host's last CPU (on two or more, not the default set "0-N")
	last=$(sed 's/.*[-,]//' /sys/devices/system/cpu/online)
	config 'p["args"] = ["/bin/sh", "-c", "grep -E \"^(Cpus|Mems)_allowed_list\" /proc/self/status"]
c["linux"]["cgroupsPath"] = "/'"$CG"'/'"$ID"'"
c["linux"].setdefault("resources", {})["cpu"] = {"cpus": "'"$last"'", "mems": "0"}'
	mr run --bundle "$B" "$ID"
	expect_status 0 "mini-runc run with cpu.cpus \"$last\", cpu.mems \"0\" (stderr: $stderr)" || return 1
	expect_eq "$(printf 'Cpus_allowed_list:\t%s\nMems_allowed_list:\t0' "$last")" "$output" \
		"the CPUs and memory nodes the container may use (/proc/self/status)" || return 1
	expect_gone || return 1
	# a CPU the host does not have (the kernel's EINVAL), and a list that is not one (ocispec.c)
	for bad in "$((last + 64))" "0-x"; do
		config 'c["linux"]["resources"]["cpu"] = {"cpus": "'"$bad"'"}'
		mr run --bundle "$B" "$ID"
		expect_status 1 "mini-runc run with cpu.cpus \"$bad\"" || return 1
		expect_match "^mini-runc: .*linux\.resources\.cpu\.cpus \"$bad\"" "$stderr" "the error for cpu.cpus \"$bad\"" || return 1
		expect_eq 1 "$(wc -l <<<"$stderr")" "the number of lines of that error ($stderr)" || return 1
		expect_gone || return 1
	done
}

# exercise: 05.4 05.5
@test "mini-runc joins a mount namespace by its path (the mounts stay in it, not the host's); none at all is refused" {
	hint "ocispec.c namespaces: a path for type mount is a join; ocirun.c join_namespaces opens every path, then setns, before the rootfs"
	spec_bundle || return 1
	# a mount namespace of its own, as runtime-tools' linux_ns_path makes one
	setsid unshare --mount --propagation private --fork sleep 600 </dev/null >/dev/null 2>&1 &
	UNSHARE=$!
	host=$(readlink /proc/self/ns/mnt) mnt=$host
	for _ in $(seq 50); do
		mnt=$(readlink "/proc/$UNSHARE/ns/mnt" 2>/dev/null) && [ "$mnt" != "$host" ] && break
		sleep 0.1
	done
	expect_ne "$host" "$mnt" "unshare's mount namespace (/proc/$UNSHARE/ns/mnt)" || return 1
	config 'p["args"] = ["/bin/readlink", "/proc/self/ns/mnt"]
c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "mount"] + [{"type": "mount", "path": "/proc/'"$UNSHARE"'/ns/mnt"}]'
	mr run --bundle "$B" "$ID"
	kill -9 -- "-$UNSHARE" 2>/dev/null || kill -9 "$UNSHARE"
	expect_status 0 "mini-runc run joining /proc/$UNSHARE/ns/mnt (stderr: $stderr)" || return 1
	expect_eq "$mnt" "$output" "the container's mount namespace (readlink /proc/self/ns/mnt)" || return 1
	expect_eq "" "$(grep -F " $B/rootfs" /proc/self/mountinfo)" "the host's mounts under the bundle's rootfs" || return 1
	expect_gone || return 1
	config 'c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "mount"]'
	mr run --bundle "$B" "$ID"
	expect_status 1 "mini-runc run without a mount namespace" || return 1
	expect_stderr_says "needs a mount namespace" "the error without a mount namespace" || return 1
	expect_eq "" "$(grep -F " $B/rootfs" /proc/self/mountinfo)" "the host's mounts under the bundle's rootfs" || return 1
	expect_gone
}

# mr_shifted WHO ARGS...: mr ARGS, which prints the uptime WHO reads first: the host's, read
# before and after (they bracket the moment it was read inside), + 86400000 s of boottime offset
mr_shifted() {
	local who=$1 before after up
	shift
	before=$(cut -d. -f1 /proc/uptime)
	mr "$@"
	after=$(cut -d. -f1 /proc/uptime)
	expect_status 0 "mini-runc $1 in a time namespace (stderr: $stderr)" || return 1
	up=$(sed -n 1p <<<"$output")
	[ "$up" -ge $((before + 86400000)) ] && [ "$up" -le $((after + 86400000)) ] || {
		echo "expected the uptime of $who to be the host's (between $before and $after s) + 86400000 s (linux.timeOffsets.boottime), got $up"
		return 1
	}
}

# exercise: 05.4 05.5 05.7
@test "mini-runc: a time namespace moves boottime and monotonic by linux.timeOffsets; domainname is set in the uts namespace" {
	hint "ocispec.c time_offsets and namespaces (type time: rc.timens); ocirun.c init_main calls ns.c's ns_enter_time, then setdomainname; exec joins the time namespace too (exec.c join_namespaces)"
	spec_bundle || return 1
	config 'p["args"] = ["/bin/sh", "-c", "cut -d. -f1 /proc/uptime; readlink /proc/self/ns/time; cat /proc/sys/kernel/domainname; hostname; probe monotonic"]
c["linux"]["namespaces"] += [{"type": "time"}]
c["linux"]["timeOffsets"] = {"boottime": {"secs": 86400000, "nanosecs": 0}, "monotonic": {"secs": 3600}}
c["domainname"] = "example.org"'
	mono_before=$("$ROOTFS_SRC/bin/probe" monotonic)
	mr_shifted "the container" run --bundle "$B" "$ID" || return 1
	mono_after=$("$ROOTFS_SRC/bin/probe" monotonic) mono=$(sed -n 5p <<<"$output")
	[ "$mono" -ge $((mono_before + 3600)) ] && [ "$mono" -le $((mono_after + 3600)) ] || {
		echo "expected the container's CLOCK_MONOTONIC to be the host's (between $mono_before and $mono_after s) + 3600 s (linux.timeOffsets.monotonic), got '$mono'"
		return 1
	}
	expect_ne "$(readlink /proc/self/ns/time)" "$(sed -n 2p <<<"$output")" "the container's time namespace (readlink /proc/self/ns/time)" || return 1
	expect_eq "example.org" "$(sed -n 3p <<<"$output")" "the container's domainname (/proc/sys/kernel/domainname)" || return 1
	expect_eq "mini-runc" "$(sed -n 4p <<<"$output")" "the hostname beside it" || return 1
	expect_ne "example.org" "$(cat /proc/sys/kernel/domainname)" "the host's domainname, untouched" || return 1
	expect_gone || return 1
	# exec joins the time namespace too (setns: its children, the exec'ed process, live in it)
	cp "$B/config.json" "$T/good.json"
	config 'p["args"] = ["/bin/sleep", "600"]'
	mr_detached run --detach --bundle "$B" --pid-file "$T/pid" "$ID"
	expect_status 0 "mini-runc run --detach with a time namespace" || return 1
	mr_shifted "the exec'ed process" exec "$ID" /bin/sh -c 'cut -d. -f1 /proc/uptime; readlink /proc/self/ns/time' || return 1
	expect_eq "$(readlink /proc/"$(cat "$T/pid")"/ns/time)" "$(sed -n 2p <<<"$output")" "the exec'ed process's time namespace, the init's" || return 1
	# a second container joins that time namespace by its path (no offsets of its own: they are the namespace's)
	cp "$B/config.json" "$T/running.json"
	config 'p["args"] = ["/bin/sh", "-c", "cut -d. -f1 /proc/uptime; readlink /proc/self/ns/time"]; del c["linux"]["timeOffsets"]
c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "time"] + [{"type": "time", "path": "/proc/'"$(cat "$T/pid")"'/ns/time"}]'
	mr_shifted "the container joining it" run --bundle "$B" "$ID-2" || return 1
	expect_eq "$(readlink /proc/"$(cat "$T/pid")"/ns/time)" "$(sed -n 2p <<<"$output")" "the joining container's time namespace, the first's" || return 1
	ID=$ID-2 expect_gone || return 1
	cp "$T/running.json" "$B/config.json"
	mr delete --force "$ID"
	expect_gone || return 1
	cp "$T/good.json" "$B/config.json"
	# what it does not take: each a one-line error, nothing left
	for change in 'c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "time"]' \
		'c["linux"]["timeOffsets"]["monotonic"]["nanosecs"] = 5' 'c["linux"]["timeOffsets"]["realtime"] = {"secs": 1}' \
		'c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "uts"]; del c["hostname"]'; do
		config "$change"
		mr run --bundle "$B" "$ID"
		expect_status 1 "mini-runc run with $change" || return 1
		expect_match "^mini-runc: .*(time namespace|whole seconds|not a clock|uts namespace)" "$stderr" \
			"a one-line error for $change" || return 1
		expect_gone || return 1
		cp "$T/good.json" "$B/config.json"
	done
}

# exercise: 05.4 05.5
@test "mini-runc: the spec's seccomp profile (errnoRet), and clear errors for what it does not honour, leaving nothing" {
	hint "ociseccomp.c: defaultAction, syscalls names/action/errnoRet through libseccomp; ocispec.c refuses, never ignores silently"
	spec_bundle || return 1
	config 'p["args"] = ["/bin/sh", "-c", "mkdir /tmp/d; echo $?"]; c["root"]["readonly"] = False
c["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
  "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}'
	mr run --bundle "$B" "$ID"
	expect_status 0 "mini-runc run with a seccomp profile" || return 1
	expect_eq 1 "$output" "mkdir's status under the profile" || return 1
	expect_match "Permission denied" "$stderr" "mkdir's error (errnoRet 13, EACCES)" || return 1
	for change in 'c["linux"]["intelRdt"] = {"closID": "mr"}' 'c["linux"]["timeOffsets"] = {"monotonic": {"secs": 100}}' \
		'c["linux"]["cgroupsPath"] = "system.slice:mr:x"' 'p["capabilities"]["bounding"] = ["CAP_NO_SUCH_THING"]' \
		'c["linux"]["seccomp"]["defaultAction"] = "SCMP_ACT_NOTIFY"'; do
		cp "$B/config.json" "$T/good.json"
		config "$change"
		mr run --bundle "$B" "$ID"
		expect_status 1 "mini-runc run with $change" || return 1
		expect_match "^mini-runc: .+" "$stderr" "a one-line error for $change" || return 1
		expect_gone || return 1
		cp "$T/good.json" "$B/config.json"
	done
	mr --systemd-cgroup run --bundle "$B" "$ID"
	expect_status 1 "--systemd-cgroup" || return 1
	expect_stderr_says "cgroupfs" "--systemd-cgroup refused" || return 1
	mr create --bundle "$T/nowhere" "$ID"
	expect_status 1 "create with a bundle that does not exist" || return 1
	expect_gone
}

# exercise: 05.4 05.5 05.7
@test "mini-runc exec joins the container's namespaces and cgroup, passes its exit status on; --process, --detach, flags" {
	hint "runcexec.c runc_exec: exec.c's exec_join in a child that forks the process (born in the container's PID namespace), ocirun.c's oci_become"
	spec_bundle || return 1
	config 'p["args"] = ["/bin/sleep", "600"]; c["hostname"] = "h-'"$ID"'"; c["root"]["readonly"] = False'
	mr_detached run --detach --bundle "$B" --pid-file "$T/pid" "$ID"
	expect_status 0 "mini-runc run --detach" || return 1
	pid=$(cat "$T/pid")
	mr exec "$ID" /bin/sh -c 'tr "\0" " " </proc/1/cmdline; echo; hostname; exit 3'
	expect_status 3 "mini-runc exec of 'exit 3' (the process's own status)" || return 1
	expect_eq "$(printf '/bin/sleep 600 \nh-%s' "$ID")" "$output" "PID 1's command line and the hostname, seen from the exec'ed process" || return 1
	mr exec --user 7:8 --cwd /etc --env X=y-$ID "$ID" /bin/sh -c 'id -u; id -g; pwd; echo $X'
	expect_status 0 "mini-runc exec --user --cwd --env" || return 1
	expect_eq "$(printf '7\n8\n/etc\ny-%s' "$ID")" "$output" "id -u, id -g, pwd, \$X" || return 1
	# the process object podman and containerd write, detached: where is it on the host?
	cat >"$T/process.json" <<-EOF
	{"terminal": false, "user": {"uid": 1234, "gid": 0}, "cwd": "/tmp", "env": ["PATH=/bin", "FOO=bar"],
	 "args": ["/bin/sh", "-c", "id -u > /tmp/exec.out; pwd >> /tmp/exec.out; echo \$FOO >> /tmp/exec.out; exec sleep 600"],
	 "capabilities": {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"]},
	 "noNewPrivileges": true, "apparmorProfile": "ignored"}
	EOF
	mr_detached exec --process "$T/process.json" --detach --pid-file "$T/epid" "$ID"
	expect_status 0 "mini-runc exec --process --detach --pid-file" || return 1
	epid=$(cat "$T/epid")
	for _ in $(seq 50); do [ "$(grep -c . "$B/rootfs/tmp/exec.out" 2>/dev/null)" = 3 ] && break; sleep 0.1; done
	expect_eq "$(printf '1234\n/tmp\nbar')" "$(cat "$B/rootfs/tmp/exec.out" 2>&1)" "what the --process program wrote" || return 1
	for ns in pid mnt uts ipc net; do
		expect_eq "$(readlink /proc/"$pid"/ns/$ns)" "$(readlink /proc/"$epid"/ns/$ns)" "the exec'ed process's $ns namespace, the init's" || return 1
	done
	expect_eq "$(cat /proc/"$pid"/cgroup)" "$(cat /proc/"$epid"/cgroup)" "the exec'ed process's cgroups, the init's" || return 1
	expect_eq "$(printf 'CapBnd:\t0000000000000020\nNoNewPrivs:\t1')" "$(grep -E '^(CapBnd|NoNewPrivs)' /proc/"$epid"/status)" \
		"the exec'ed process's capabilities and no_new_privs (process.json's)" || return 1
	run -127 --separate-stderr timeout 60 "$MR" --root "$ST" exec "$ID" /no/such/program
	expect_status 127 "exec of a program that is not there" || return 1
	mr exec "$ID"
	expect_status 2 "exec without a command" || return 1
	mr exec nosuch-$ID /bin/true
	expect_status 1 "exec in a container that does not exist" || return 1
	echo '{"args": ' >"$T/bad.json"
	mr exec --process "$T/bad.json" "$ID"
	expect_status 1 "exec --process of a broken JSON file" || return 1
	expect_match "^mini-runc: --process" "$stderr" "a one-line error for the broken process.json" || return 1
	mr kill "$ID" KILL
	for _ in $(seq 50); do [ "$(state_of "$ID")" = "stopped 0" ] && break; sleep 0.1; done
	mr exec "$ID" /bin/true
	expect_status 1 "exec in a stopped container" || return 1
	expect_match "not running" "$stderr" "why exec refused" || return 1
	mr delete --force "$ID"
	expect_gone
}

# exercise: 05.4 05.5
@test "mini-runc ps lists the container's processes; pause freezes them (state paused), resume thaws them" {
	hint "runcfreeze.c: runc_ps reads the cgroup's cgroup.procs; runc_freeze: v1 freezer.state FROZEN/THAWED, v2 cgroup.freeze"
	spec_bundle || return 1
	config 'p["args"] = ["/bin/sh", "-c", "while :; do :; done"]'
	mr_detached run --detach --bundle "$B" --pid-file "$T/pid" "$ID"
	expect_status 0 "mini-runc run --detach of a busy loop" || return 1
	pid=$(cat "$T/pid")
	mr ps --format json "$ID"
	expect_status 0 "mini-runc ps --format json" || return 1
	expect_eq "[$pid]" "$output" "ps's JSON: the init's PID, alone in the cgroup" || return 1
	mr ps "$ID"
	expect_match "^$pid +/bin/sh -c while" "$(sed -n 2p <<<"$output")" "ps's table: the init and its command" || return 1
	mr resume "$ID"
	expect_status 1 "resume of a running container" || return 1
	mr pause "$ID"
	expect_status 0 "mini-runc pause" || return 1
	expect_eq "paused $pid" "$(state_of "$ID")" "state after pause" || return 1
	# a busy loop is R; frozen, v1 shows D (in the freezer), v2 S
	expect_match "^State:.[DS] " "$(grep State: /proc/"$pid"/status)" "the frozen busy loop's state in /proc/PID/status" || return 1
	t1=$(cut -d' ' -f14 /proc/"$pid"/stat)
	sleep 0.5
	expect_eq "$t1" "$(cut -d' ' -f14 /proc/"$pid"/stat)" "the busy loop's CPU time (utime) while paused" || return 1
	mr pause "$ID"
	expect_status 1 "pause of a paused container" || return 1
	expect_match "paused, not running" "$stderr" "why a second pause is refused" || return 1
	mr resume "$ID"
	expect_status 0 "mini-runc resume" || return 1
	expect_eq "running $pid" "$(state_of "$ID")" "state after resume" || return 1
	# the loop runs again: its utime grows (on a busy machine it may wait for a CPU a while)
	for _ in $(seq 50); do sleep 0.1; [ "$t1" = "$(cut -d' ' -f14 /proc/"$pid"/stat)" ] || break; done
	expect_ne "$t1" "$(cut -d' ' -f14 /proc/"$pid"/stat)" "the busy loop's CPU time after resume" || return 1
	mr pause "$ID"
	mr delete --force "$ID"
	expect_status 0 "delete --force of a paused container" || return 1
	expect_gone || return 1
	for c in pause resume ps; do
		mr $c "$ID"
		expect_status 1 "$c of a container that is gone" || return 1
	done
}

# exercise: 05.4 05.5 05.7
@test "mini-runc runs config.json's hooks with the state on stdin, createContainer before pivot_root; a failing create-time hook fails create and leaves nothing" {
	hint "ocihooks.c: fork, the state on stdin, exec_join for createContainer and startContainer; runc.c before_pivot and ocirun.c: when each runs"
	spec_bundle || return 1
	mkdir -p "$T/h"
	# hook.sh DIR KIND: its stdin (the state) to DIR/KIND.json, the hostname it sees and $FOO to
	# DIR/KIND.txt; MOUNT=1 mounts a tmpfs on DIR first
	printf '#!/bin/sh\n[ "$MOUNT" != 1 ] || { mkdir -p "$1" && mount -t tmpfs hook "$1"; } || exit 1\ncat > "$1/$2.json"; echo "$(hostname) $FOO" > "$1/$2.txt"\n' >"$T/hook.sh"
	chmod 755 "$T/hook.sh"
	# createContainer runs in the container's namespaces before pivot_root (the spec; runc does
	# so): it sees the host's tree, the bundle's rootfs mounted in it, and mounts onto its /mnt
	config 'p["args"] = ["/bin/sleep", "600"]; c["root"]["readonly"] = False; c["hostname"] = "h-'"$ID"'"
where = {"createContainer": "'"$B"'/rootfs/mnt", "startContainer": "/"}
def hook(kind): return [{"path": "'"$T"'/hook.sh", "args": ["hook.sh", where.get(kind, "'"$T"'/h"), kind], "timeout": 10,
                         "env": ["PATH=/bin:/usr/bin:/sbin:/usr/sbin", "FOO=foo-" + kind, "MOUNT=%d" % (kind == "createContainer")]}]
c["hooks"] = {k: hook(k) for k in ("prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop")}'
	mr_detached create --bundle "$B" --pid-file "$T/pid" "$ID"
	expect_status 0 "mini-runc create with six hooks (stderr: $stderr)" || return 1
	pid=$(cat "$T/pid")
	expect_eq "" "$(grep -F " $B/rootfs/mnt " /proc/self/mountinfo)" \
		"the host's mounts: createContainer's tmpfs is in the container's mount namespace only" || return 1
	mr start "$ID"
	expect_status 0 "mini-runc start" || return 1
	# what createContainer wrote on its tmpfs, seen from inside, copied to the rootfs for the loop below
	mr exec "$ID" /bin/sh -c 'grep -q "^hook /mnt tmpfs" /proc/mounts && cp /mnt/createContainer.json /mnt/createContainer.txt /'
	expect_status 0 "createContainer's tmpfs on /mnt, seen from inside (mini-runc exec; stderr: $stderr)" || return 1
	mr kill "$ID" KILL
	for _ in $(seq 50); do [ "$(state_of "$ID")" = "stopped 0" ] && break; sleep 0.1; done
	mr delete "$ID"
	expect_status 0 "mini-runc delete" || return 1
	for k in prestart:creating createRuntime:creating createContainer:creating startContainer:created poststart:running poststop:stopped; do
		kind=${k%%:*} want=${k#*:} dir=$T/h where=$(hostname)
		case $kind in createContainer | startContainer) dir=$B/rootfs where=h-$ID ;; esac
		got=$(python3 -c 'import json, sys; s = json.load(open(sys.argv[1])); print(s["id"], s["status"], s.get("pid", 0), s["bundle"])' "$dir/$kind.json" 2>&1)
		pidwant=$pid
		[ "$kind" != poststop ] || pidwant=0
		expect_eq "$ID $want $pidwant $(realpath "$B")" "$got" "the state hooks.$kind read on its stdin (id, status, pid, bundle)" || return 1
		expect_eq "$where foo-$kind" "$(cat "$dir/$kind.txt" 2>&1)" "hooks.$kind's hostname (its uts namespace) and env" || return 1
	done
	# a failing create-time hook: create fails, nothing stays; a poststop one only warns
	for bad in '{"path": "/bin/false"}' '{"path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1}'; do
		config 'c["hooks"] = {"createRuntime": ['"$bad"'], "poststop": [{"path": "/bin/false"}]}'
		mr create --bundle "$B" "$ID"
		expect_status 1 "create with the createRuntime hook $bad" || return 1
		expect_match "^mini-runc: hooks\.createRuntime\[0\] .*(exit status 1|timed out after 1 s)$" "$stderr" "create's error" || return 1
		expect_gone || return 1
	done
	config 'p["args"] = ["/bin/true"]; c["hooks"] = {"poststop": [{"path": "/bin/false"}]}'
	mr run --bundle "$B" "$ID"
	expect_status 0 "run with a failing poststop hook (only a warning)" || return 1
	expect_match "warning: hooks\.poststop" "$stderr" "the poststop hook's warning" || return 1
	config 'c["hooks"] = {"prestart": [{"path": "relative/hook"}]}'
	mr create --bundle "$B" "$ID"
	expect_status 1 "create with a relative hook path" || return 1
	expect_gone
}

# exercise: 05.4 05.5
@test "mini-runc --preserve-fds N passes the caller's descriptors 3..3+N-1 to the container's process, and no others" {
	hint "become.c: close_inherited_fds(keep) leaves 3..2+N open through execve (runc's --preserve-fds)"
	spec_bundle || return 1
	config 'p["args"] = ["/bin/sh", "-c", "cat <&3 || exit 9; echo to-4 >&4; test -e /proc/self/fd/5 && echo fd5-open || echo fd5-closed"]'
	echo "from-3-$ID" >"$T/in3"
	status=0
	timeout 60 "$MR" --root "$ST" run --preserve-fds 2 --bundle "$B" "$ID" 3<"$T/in3" 4>"$T/out4" 5</dev/null \
		>"$T/out" 2>"$T/err" || status=$?
	expect_status 0 "run --preserve-fds 2 ($(cat "$T/err"))" || return 1
	expect_eq "$(printf 'from-3-%s\nfd5-closed' "$ID")" "$(cat "$T/out")" "what the container read from fd 3, and fd 5 (not preserved)" || return 1
	expect_eq "to-4" "$(cat "$T/out4")" "what the container wrote to fd 4" || return 1
	status=0
	timeout 60 "$MR" --root "$ST" run --bundle "$B" "$ID" 3<"$T/in3" 4>"$T/out4" >"$T/out" 2>"$T/err" || status=$?
	expect_eq 9 "$status" "run without --preserve-fds: cat <&3 fails (fd 3 is not the container's)" || return 1
	expect_eq "" "$(cat "$T/out")" "what the container read from fd 3 without --preserve-fds" || return 1
	mr run --preserve-fds -1 --bundle "$B" "$ID"
	expect_status 1 "--preserve-fds -1" || return 1
	expect_gone
}

# exercise: 05.4 05.5
@test "the same bundle under mini-runc, runc and crun prints the same" {
	hint "a real runtime: what config.json says, each runtime does the same"
	tools_ok=1
	for t in runc crun; do command -v "$t" >/dev/null || tools_ok=0; done
	[ "$tools_ok" = 1 ] || { echo "expected runc and crun on this host (make deps installs them)"; return 1; }
	spec_bundle || return 1
	config 'p["args"] = ["/bin/sh", "-c", "id; hostname; pwd; echo $PATH; ls /; grep -E \"^Cap(Eff|Bnd)\" /proc/self/status; ulimit -n; probe pid"]
c["hostname"] = "same-'"$ID"'"; c["root"]["readonly"] = True'
	mr run --bundle "$B" "$ID"
	expect_status 0 "mini-runc run" || return 1
	want=$output
	run --separate-stderr timeout --kill-after=5 60 runc --root "$T/runc" run --bundle "$B" "$ID"
	expect_status 0 "runc run of the same bundle" || return 1
	expect_eq "$want" "$output" "runc's output, as mini-runc's" || return 1
	run --separate-stderr timeout --kill-after=5 60 unshare -m sh -c \
		'mount --make-rprivate / && { umount /sys/fs/cgroup/unified 2>/dev/null; true; } && exec crun "$@"' \
		crun --root "$T/crun" run --bundle "$B" "$ID"
	expect_status 0 "crun run of the same bundle" || return 1
	expect_eq "$want" "$output" "crun's output, as mini-runc's" || return 1
	expect_gone
}

# exercise: 05.4 05.5
@test "process.terminal: the pty's master goes over --console-socket, sized by consoleSize; a user namespace maps the ids config.json gives" {
	hint "ocirun.c: pty_child_open (pty.c) sends the master over SCM_RIGHTS, its size set first (ocispec.c reads consoleSize); the engine writes uid_map and gid_map"
	spec_bundle || return 1
	base=$((200000 + RANDOM % 1000 * 65536))
	# the console socket's end never resizes it: stty size can only be consoleSize's
	config 'p["args"] = ["/bin/sh", "-c", "tty; test -t 0 && echo stdin-is-a-tty; stty size; cat /proc/self/uid_map /proc/self/gid_map; id -u"]; p["terminal"] = True
p["consoleSize"] = {"height": 21, "width": 55}
c["linux"]["namespaces"].append({"type": "user"})
c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": '"$base"', "size": 65536}]
c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": '"$base"', "size": 65536}]'
	# the mapped root is "others" to the host's directories: let it through bats' (0700) to the rootfs
	for d in "$B" "$(dirname "$B")" "$(dirname "$(dirname "$B")")" "$BATS_RUN_TMPDIR"; do chmod o+x "$d"; done
	# a console socket as podman's conmon listens on: take the master, start, read the pty
	run --separate-stderr timeout 60 python3 -c '
import array, os, socket, subprocess, sys, time
mr, st, bundle, cid, path = sys.argv[1:]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.bind(path); s.listen(1)
create = subprocess.Popen([mr, "--root", st, "create", "--bundle", bundle, "--console-socket", path, cid],
                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
c, _ = s.accept()
msg, anc, flags, addr = c.recvmsg(1, socket.CMSG_LEN(4))
master = array.array("i", anc[0][2][:4])[0]
if create.wait(): sys.exit("create failed")
subprocess.run([mr, "--root", st, "start", cid], check=True)
out = b""
for _ in range(50):
    try:
        d = os.read(master, 4096)
    except OSError:
        break
    if not d:
        break
    out += d
sys.stdout.write(out.decode().replace("\r\n", "\n"))' "$MR" "$ST" "$B" "$ID" "$T/console.sock"
	expect_status 0 "a create --console-socket, start, and the pty read to its end" || return 1
	expect_eq "$(printf '/dev/pts/0\nstdin-is-a-tty\n21 55\n         0 %10d      65536\n         0 %10d      65536\n0' "$base" "$base")" \
		"$(sed 's/ *$//' <<<"$output")" "tty, test -t 0, stty size (consoleSize), uid_map, gid_map, id -u inside" || return 1
	mr create --bundle "$B" "$ID"
	expect_status 1 "create of a terminal process without --console-socket" || return 1
	mr delete --force "$ID"
	expect_gone
}

# exercise: 05.4 05.5
@test "mini-runc run in the foreground with process.terminal: its own pty, pumped to ours; run --detach without a console socket is refused" {
	hint "runc.c cmd_run: a socketpair instead of --console-socket, pty.c's pty_receive and pty_pump"
	spec_bundle || return 1
	config 'p["args"] = ["/bin/sh", "-c", "tty; test -t 0 && echo stdin-is-a-tty; exit 3"]; p["terminal"] = True'
	mr run --bundle "$B" "$ID"
	expect_status 3 "run of a terminal process (exit 3 comes back)" || return 1
	expect_eq "$(printf '/dev/pts/0\nstdin-is-a-tty')" "$(tr -d '\r' <<<"$output")" "tty and test -t 0 inside" || return 1
	mr run --detach --bundle "$B" "$ID"
	expect_status 1 "run --detach of a terminal process without --console-socket" || return 1
	expect_stderr_says "console-socket" "why it is refused" || return 1
	expect_gone || return 1
	config 'p["consoleSize"] = {"height": "tall", "width": 80}'
	mr run --bundle "$B" "$ID"
	expect_status 1 "run of a consoleSize whose height is not a number" || return 1
	expect_stderr_says "process.consoleSize" "the field named" || return 1
	expect_gone
}

# exercise: 05.4 05.5 05.7
@test "podman --runtime mini-runc: run --rm prints and passes the exit status on; run -d, ps, stop, rm" {
	hint "podman calls create (with --console-socket when -t), start, state, kill, delete: runc.c"
	podman_image || return 1
	run --separate-stderr podman_ run --rm "${x[@]}" "$image"
	expect_status 0 "podman --runtime mini-runc run --rm" || return 1
	expect_eq "hello-$MARK" "$output" "what podman's container printed (the image's Entrypoint and Cmd)" || return 1
	word=$(random_word)
	run --separate-stderr podman_ run --rm "${x[@]}" --entrypoint /bin/sh "$image" -c "echo $word; exit 5"
	expect_status 5 "podman run of 'exit 5' (the container's status, passed on)" || return 1
	expect_eq "$word" "$output" "what it printed" || return 1
	run --separate-stderr podman_ run -d --name "$NAME" "${x[@]}" --entrypoint /bin/sleep "$image" 600
	expect_status 0 "podman run -d" || return 1
	run --separate-stderr podman_ ps
	expect_match "$NAME" "$output" "podman ps (the container, Up)" || return 1
	expect_match " Up " "$output" "podman ps's status" || return 1
	word=$(random_word)
	run --separate-stderr podman_ exec "$NAME" /bin/sh -c "echo in-$word; tr '\0' ' ' </proc/1/cmdline; echo; exit 4"
	expect_status 4 "podman exec of 'exit 4' through mini-runc exec --process" || return 1
	expect_eq "$(printf 'in-%s\n/bin/sleep 600 ' "$word")" "$output" "what podman exec printed (PID 1: the container's sleep)" || return 1
	run --separate-stderr podman_ stop -t 1 "$NAME"
	expect_status 0 "podman stop" || return 1
	run --separate-stderr podman_ rm "$NAME"
	expect_status 0 "podman rm" || return 1
	run --separate-stderr podman_ ps -aq
	expect_eq "" "$output" "podman ps -a after rm" || return 1
}

# exercise: 05.4 05.5 05.7
@test "podman --runtime mini-runc: run -it and exec -it get a terminal through the console socket (tty, stty size, typed input)" {
	hint "podman's conmon listens on --console-socket: create sends the pty's master there (ocirun.c, pty.c's pty_child_open); exec --tty: runcexec.c's exec_joiner, pty.c's pty_open_send"
	podman_image script || return 1
	# the pty echoes the word as it is typed (script's own, then the container's): those lines left out
	word=$(random_word)
	run podman_tty run -it --rm "${x[@]}" --entrypoint /bin/sh "$image" \
		-c 'tty; test -t 0 && echo stdin-is-a-tty; stty size; read w; echo "got-$w"; exit 3' <<<"$word"
	expect_status 3 "podman run -it of 'exit 3' on a terminal (the container's status, passed on)" || return 1
	expect_match "^/dev/pts/[0-9]+
stdin-is-a-tty
33 77
got-$word\$" "$(grep -vx "$word" <<<"$output")" "tty, test -t 0, stty size (podman's terminal's) and the typed word, inside" || return 1
	run --separate-stderr podman_ run -d --name "$NAME" "${x[@]}" --entrypoint /bin/sleep "$image" 600
	expect_status 0 "podman run -d" || return 1
	word=$(random_word)
	run podman_tty exec -it "$NAME" /bin/sh -c 'tty; test -t 0 && echo stdin-is-a-tty; stty size; read w; echo "got-$w"; exit 4' <<<"$word"
	expect_status 4 "podman exec -it of 'exit 4' through mini-runc exec --tty --console-socket" || return 1
	expect_match "^/dev/pts/[0-9]+
stdin-is-a-tty
33 77
got-$word\$" "$(grep -vx "$word" <<<"$output")" "tty, test -t 0, stty size and the typed word, in the exec'd process" || return 1
	run --separate-stderr podman_ rm -f -t 0 "$NAME"
	expect_status 0 "podman rm -f" || return 1
}
