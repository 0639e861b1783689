#!/usr/bin/env bats
# Step 05, lifecycle: run -d hands the container to a monitor of its own (as
# conmon does for podman), which outlives the command that started it, keeps
# its logs and records how it ended; ps, logs, stop, kill, wait, inspect, exec
# and rm work on it by name or ID prefix, with no daemon to ask.
#
# Every container of a test lives in a store of the test ($ROOT) and, for its
# network, in a network namespace the test makes ($NETNS): mini-docker runs
# there through nsenter --net (never `ip netns exec`, which remounts /sys and
# would hide the cgroup hierarchies).

bats_require_minimum_version 1.5.0
load helpers

: "${MINI_DOCKER:=$REPO/steps/05-mini-docker/mini-docker}"

setup_file() {
	[ "$(id -u)" = 0 ] && command -v umoci >/dev/null || return 0
	# an image whose config says StopSignal SIGUSR1 (docker stop must send that, not SIGTERM)
	export STOP_MARK STOP_LAYOUT=$BATS_FILE_TMPDIR/layout
	STOP_MARK=$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
	local w=$BATS_FILE_TMPDIR/bundle
	{
		umoci init --layout "$STOP_LAYOUT" &&
			umoci new --image "$STOP_LAYOUT:stop" &&
			umoci unpack --image "$STOP_LAYOUT:stop" "$w" &&
			cp -a "$ROOTFS_SRC/." "$w/rootfs/" &&
			umoci repack --image "$STOP_LAYOUT:stop" "$w" &&
			umoci config --image "$STOP_LAYOUT:stop" --config.stopsignal SIGUSR1 --config.cmd sh \
				--config.cmd -c --config.cmd "trap 'echo usr1-$STOP_MARK; exit 3' USR1; echo ready; while :; do sleep 0.1; done"
	} >"$BATS_FILE_TMPDIR/umoci.log" 2>&1 || STOP_LAYOUT=
	rm -rf "$w"
}

setup() {
	require_root
	section "Step 05: mini-docker, run"
	make_rootfs
	ROOT=$BATS_TEST_TMPDIR/store
	NETNS=md-life-$(random_word)
	ip netns add "$NETNS"
	ip -n "$NETNS" link set lo up
}

teardown() {
	if [ -d "$ROOT/containers" ]; then
		# shellcheck disable=SC2046
		md rm -f $(md ps -aq) >/dev/null 2>&1 || true
	fi
	# a monitor that survived rm (a failed test) still names our store on its command line
	local pid
	for pid in $(ps -eo pid=,args= | awk -v r="$ROOT" 'index($0, r) && !/awk/ {print $1}'); do
		kill -9 "$pid" 2>/dev/null || true
	done
	ip netns del "$NETNS" 2>/dev/null || true
}

# md ARGS...: mini-docker on the test's store, inside the test's network namespace
md() {
	timeout --kill-after=5 30 nsenter --net="/run/netns/$NETNS" "$MINI_DOCKER" --root "$ROOT" "$@"
}

run_md() {
	run --separate-stderr md "$@"
}

# until_logs CONTAINER TEXT: its logs show TEXT (at most 10 s)
until_logs() {
	local i
	for i in $(seq 1 100); do
		[[ "$(md logs "$1" 2>&1)" == *"$2"* ]] && return 0
		sleep 0.1
	done
	echo "expected the logs of $1 to show '$2' within 10 s, got: $(md logs "$1" 2>&1)"
	return 1
}

# alive PID: the process runs (a zombie waiting for its reaper does not)
alive() {
	[ -d "/proc/$1" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]
}

# field CONTAINER KEY: a string of inspect's JSON ("Pid", "Status", "MonitorPid" ...)
field() {
	md inspect "$1" | sed -n "s/^ *\"$2\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}$/\1/p" | head -n1
}

# exercise: 05.4 05.5 05.8 05.9
@test "run -d prints the ID; the container outlives the command that started it" {
	word=$(random_word)
	run_md run -d --name "keep-$word" --rootfs "$ROOTFS" sh -c "echo $word; sleep 60"
	expect_status 0 "run -d to start the container and return" || return 1
	expect_match '^[0-9a-f]{64}$' "$output" "run -d's output (the full container ID)" || return 1
	id=$output
	pid=$(field "$id" Pid)
	mon=$(field "$id" MonitorPid)
	expect_match '^[1-9][0-9]*$' "$pid" "the container's PID in inspect" || return 1
	alive "$pid" || {
		echo "expected the container's PID $pid to live on after run -d returned, got it gone"
		hint "the monitor must be the container's parent, and outlive the starter (double fork + setsid)"
		return 1
	}
	# the monitor is in a session of its own, with no terminal: a closed shell does not take it along
	expect_ne "$(ps -o sid= -p $$ | tr -d ' ')" "$(ps -o sid= -p "$mon" | tr -d ' ')" "the monitor's session id" ||
		{ hint "monitor.c: setsid() in the middle process of the double fork"; return 1; }
	run_md ps
	expect_status 0 "ps to work" || return 1
	expect_match "${id:0:12} .*Up .*keep-$word" "$output" "ps's line for the container" || return 1
	until_logs "keep-$word" "$word"
}

# exercise: 05.4 05.5 05.8 05.9
@test "logs keep stdout and stderr with timestamps, after the container is gone too" {
	word=$(random_word)
	id=$(md run -d --rootfs "$ROOTFS" sh -c "echo out-$word; echo err-$word >&2; echo last-$word")
	run md wait "$id"
	expect_eq 0 "$output" "the exit code wait prints" || return 1
	run_md logs "$id"
	expect_status 0 "logs to work on an exited container" || return 1
	expect_eq "out-$word"$'\n'"last-$word" "$output" "logs' stdout" || return 1
	expect_eq "err-$word" "$stderr" "logs' stderr (the container's stderr stays stderr)" || return 1
	# --tail N: the last N entries of the log, whichever stream each came from (the two
	# streams are read apart, so the log's order of err and last is not the script's)
	log=$(field "$id" LogPath)
	last=$(tail -n 1 "$log" | python3 -c 'import json, sys; print(json.load(sys.stdin)["log"], end="")')
	for n in 0 1 2 3; do
		run_md logs --tail "$n" "$id"
		got=$(printf '%s%s' "$output" "${output:+${stderr:+$'\n'}}$stderr")
		expect_eq "$n" "$(grep -c . <<<"$got" || true)" "the entries logs --tail $n prints (both streams), got: $got" || return 1
	done
	run_md logs --tail 1 "$id"
	expect_eq "$last" "$output$stderr" "logs --tail 1: the log's last entry" || return 1
	run_md logs -t "$id"
	expect_match '^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z out-' "$output" "logs -t (an RFC 3339 timestamp per line)" || return 1
	log=$(field "$id" LogPath)
	run grep -c "\"stream\":\"stderr\"" "$log"
	expect_eq 1 "$output" "stderr lines in $log (docker's json-file format)"
}

# exercise: 05.4 05.5 05.8 05.9
@test "logs -f follows a running container until it ends" {
	word=$(random_word)
	id=$(md run -d --rootfs "$ROOTFS" sh -c "for i in 1 2 3; do echo $word-\$i; sleep 0.4; done")
	run_md logs -f "$id"
	expect_status 0 "logs -f to return when the container ends" || return 1
	expect_eq "$word-1"$'\n'"$word-2"$'\n'"$word-3" "$output" "what logs -f printed"
}

# exercise: 05.2 05.4 05.5 05.8 05.9
@test "stop sends the image's StopSignal" {
	[ -n "${STOP_LAYOUT:-}" ] || skip "requires umoci (make deps) to build the test image"
	md load -i "$STOP_LAYOUT" >/dev/null
	id=$(md run -d localhost/layout:stop)
	until_logs "$id" ready || return 1
	start=$(date +%s%N)
	run_md stop "$id"
	expect_status 0 "stop to work" || return 1
	ms=$((($(date +%s%N) - start) / 1000000))
	run md logs "$id"
	[[ $output == *"usr1-$STOP_MARK"* ]] || {
		echo "expected the container to get SIGUSR1 (its image's StopSignal), got logs: $output"
		hint "docker stop sends the config's StopSignal first, SIGTERM only when there is none"
		return 1
	}
	[ "$ms" -lt 5000 ] || { echo "expected stop to end as soon as the container did, got ${ms} ms"; return 1; }
	run md wait "$id"
	expect_eq 3 "$output" "the exit code of the trap's 'exit 3'"
}

# exercise: 05.4 05.5 05.8 05.9
@test "stop -t waits that long for a container that ignores the signal, then SIGKILL" {
	id=$(md run -d --rootfs "$ROOTFS" sleep 60)
	start=$(date +%s%N)
	run_md stop -t 2 "$id"
	expect_status 0 "stop -t 2 to work" || return 1
	ms=$((($(date +%s%N) - start) / 1000000))
	# sleep as PID 1 has no SIGTERM handler: the kernel drops the signal, the timeout decides
	[ "$ms" -ge 1900 ] && [ "$ms" -lt 9000 ] || {
		echo "expected stop -t 2 to take about 2 s (the timeout, then SIGKILL), got ${ms} ms"
		return 1
	}
	run md wait "$id"
	expect_eq 137 "$output" "the exit code after SIGKILL (128+9)" || return 1
	run md ps -a
	expect_match "Exited \(137\)" "$output" "ps -a's status" || return 1
	# several at once: each gets its signal first, then the waits (docker's CLI stops them in
	# parallel): three take the timeout once, not three times
	ids=()
	for k in 1 2 3; do ids+=("$(md run -d --rootfs "$ROOTFS" sleep 60)"); done
	run_md -v stop -t 2 "${ids[@]}"
	expect_status 0 "stop -t 2 of three containers" || return 1
	calls=$(grep -o 'kill -[A-Z0-9]* [0-9]*' <<<"$stderr" | cut -d' ' -f2 | tr '\n' ' ')
	expect_eq "-TERM -TERM -TERM -KILL -KILL -KILL " "$calls" "the signals stop sent, in order (its -v narration)" || {
		hint "stop.c cmd_stop: signal every container, then wait for each until its deadline"
		return 1
	}
	for id in "${ids[@]}"; do
		run md wait "$id"
		expect_eq 137 "$output" "the exit code of each after SIGKILL" || return 1
	done
	# --stop-signal overrides the default
	word=$(random_word)
	id=$(md run -d --stop-signal USR2 --rootfs "$ROOTFS" sh -c "trap 'echo usr2-$word; exit 5' USR2; echo ready; while :; do sleep 0.1; done")
	until_logs "$id" ready || return 1
	md stop "$id" >/dev/null
	run md wait "$id"
	expect_eq 5 "$output" "the exit code after --stop-signal USR2"
}

# exercise: 05.4 05.5 05.8 05.9
@test "kill -s sends the signal named; kill defaults to SIGKILL" {
	id=$(md run -d --rootfs "$ROOTFS" probe signal)
	until_logs "$id" ready || return 1
	run_md kill -s HUP "$id"
	expect_status 0 "kill -s HUP to work" || return 1
	until_logs "$id" "got Hangup" || return 1
	id=$(md run -d --rootfs "$ROOTFS" sleep 60)
	md kill "$id" >/dev/null
	run md wait "$id"
	expect_eq 137 "$output" "the exit code after kill (SIGKILL)"
}

# exercise: 05.4 05.5 05.7 05.8 05.9
@test "exec joins the running container: its PID 1, hostname, files, namespaces; the command's status" {
	word=$(random_word)
	host=h-$(random_word)
	id=$(md run -d --hostname "$host" --rootfs "$ROOTFS" sh -c "echo $word > /tmp/mark; exec sleep 60")
	pid=$(field "$id" Pid)
	run_md exec "$id" cat /proc/1/cmdline
	expect_status 0 "exec to work" || return 1
	expect_eq "sleep60" "$(tr -d '\0' <<<"$output")" "/proc/1/cmdline seen by exec (the container's PID 1)" || return 1
	run md exec "${id:0:8}" probe hostname
	expect_eq "$host" "$output" "the hostname exec sees (by an ID prefix)" || return 1
	run md exec "$id" cat /tmp/mark
	expect_eq "$word" "$output" "a file the container wrote, read by exec" || return 1
	for ns in pid mnt uts ipc net cgroup; do
		run md exec "$id" probe ns "$ns"
		expect_eq "$(readlink "/proc/$pid/ns/$ns")" "$output" "exec's $ns namespace (the container's)" || return 1
	done
	run md exec "$id" sh -c 'exit 7'
	expect_eq 7 "$status" "exec's exit status (the command's)" || return 1
	run md exec -e "K=$word" -w /tmp -u nobody "$id" sh -c 'echo $K $(pwd) $(id -u)'
	expect_eq "$word /tmp 65534" "$output" "exec -e, -w, -u" || return 1
	# the same privileges as the container: capabilities, seccomp
	run md exec "$id" probe caps
	expect_eq "$(grep CapEff "/proc/$pid/status" | awk '{print $2}')" "$output" "exec's CapEff (the container's)" || return 1
	run md exec "$id" probe try unshare
	expect_eq EPERM "$output" "unshare(2) from exec (seccomp and capabilities as in run)" || return 1
	run md exec "$id" grep NoNewPrivs /proc/self/status
	expect_match '1$' "$output" "exec's no_new_privs" || return 1
	# and off when the container's is (no-new-privileges=false): exec joins as the container is
	id2=$(md run -d --security-opt no-new-privileges=false --rootfs "$ROOTFS" sleep 60)
	run md exec "$id2" grep NoNewPrivs /proc/self/status
	expect_match '0$' "$output" "exec's no_new_privs in a container run with no-new-privileges=false"
}

# exercise: 05.4 05.5 05.7 05.8 05.9
@test "exec -e K takes the caller's value of K (none when it has none); -e K=V and -t's TERM as run's" {
	hint "exec -e K: read K from exec's own environment before anything clears it; become.c sets what it is given"
	word=$(random_word)
	id=$(md run -d -e "IMG=ctr-$word" --rootfs "$ROOTFS" sleep 60)
	K="host-$word" run md exec -e K "$id" sh -c 'echo "[$K]"'
	expect_eq "[host-$word]" "$output" "K in exec -e K (the caller has K=host-$word)" || return 1
	run env -u K timeout 30 nsenter --net="/run/netns/$NETNS" "$MINI_DOCKER" --root "$ROOT" exec -e K "$id" sh -c 'echo "[${K-unset}]"'
	expect_eq "[unset]" "$output" "K in exec -e K when the caller has no K" || return 1
	run md exec -e "IMG=exec-$word" "$id" sh -c 'echo "$IMG"'
	expect_eq "exec-$word" "$output" "-e IMG=... over the container's IMG" || return 1
	run md exec "$id" sh -c 'echo "$IMG ${TERM-none}"'
	expect_eq "ctr-$word none" "$output" "the container's env in exec, no TERM without -t" || return 1
	run md exec -e =x "$id" true
	expect_status 125 "exec -e with no name" || return 1
	expect_match "no name" "$output" "the error of exec -e =x"
}

# exercise: 05.4 05.5 05.8 05.9
@test "exec of a container whose record cannot be read says which record and what to do" {
	hint "a container found by name whose state.json is gone: name the file and rm -f"
	id=$(md run -d --rootfs "$ROOTFS" sleep 60)
	mv "$ROOT/containers/$id/state.json" "$ROOT/containers/$id/state.json.away"
	run md exec "$id" true
	mv "$ROOT/containers/$id/state.json.away" "$ROOT/containers/$id/state.json"
	expect_status 125 "exec of a container with no readable record" || return 1
	expect_match "state.json.*rm -f" "$output" "the error naming the record and rm -f"
}

# exercise: 05.4 05.5 05.8 05.9
@test "ps shows running and exited containers; -q prints short IDs; names and ID prefixes work" {
	word=$(random_word)
	up=$(md run -d --name "up-$word" --rootfs "$ROOTFS" sleep 60)
	done_=$(md run -d --name "done-$word" --rootfs "$ROOTFS" sh -c 'exit 4')
	md wait "$done_" >/dev/null
	run md ps
	expect_match "up-$word" "$output" "ps's list of running containers" || return 1
	[[ $output != *"done-$word"* ]] || { echo "expected ps without -a to hide the exited container, got: $output"; return 1; }
	run md ps -a
	expect_match "Exited \(4\) .*done-$word" "$output" "ps -a's line for the exited container" || return 1
	run md ps -q
	expect_eq "${up:0:12}" "$output" "ps -q" || return 1
	run md inspect "up-$word"
	expect_match "\"Id\": \"$up\"" "$output" "inspect by name" || return 1
	got=$(md inspect "up-$word" | python3 -c 'import json, sys; c = json.load(sys.stdin)[0]; print(c["Path"], json.dumps(c["Args"]))')
	expect_eq 'sleep ["60"]' "$got" "inspect's Path and Args (the program, then only its arguments, as docker's)" || return 1
	run_md run -d --name "up-$word" --rootfs "$ROOTFS" true
	expect_status 125 "a second container with the same name to be refused" || return 1
	run_md stop "no-such-$word"
	expect_stderr_says "no such container" "stop of an unknown name"
}

# exercise: 05.4 05.5 05.8 05.9
@test "run -d of a command that cannot start fails with its status and message" {
	run -127 --separate-stderr md run -d --rootfs "$ROOTFS" "no-such-command-$(random_word)"
	expect_status 127 "run -d of a missing command (docker's 127)" || return 1
	expect_stderr_says "no-such-command" "the starter's message"
}

# exercise: 05.4 05.5 05.8 05.9
@test "run -d --rm removes the container when it ends" {
	id=$(md run -d --rm --rootfs "$ROOTFS" sleep 0.3)
	for _ in $(seq 1 50); do
		[ -d "$ROOT/containers/$id" ] || break
		sleep 0.1
	done
	[ ! -d "$ROOT/containers/$id" ] || { echo "expected --rm to remove $ROOT/containers/$id, got it still there"; return 1; }
	run md ps -aq
	expect_eq "" "$output" "ps -aq after the --rm container ended"
}

# exercise: 05.4 05.5 05.8 05.9
@test "SIGKILL of a monitor: ps notices, rm cleans up" {
	id=$(md run -d --rootfs "$ROOTFS" sleep 60)
	mon=$(field "$id" MonitorPid)
	pid=$(field "$id" Pid)
	cgroups=$(sed -n 's/^ *"cgroups": "\(.*\)",*$/\1/p' "$ROOT/containers/$id/state.json")
	kill -9 "$mon"
	for _ in $(seq 1 50); do
		alive "$pid" || break
		sleep 0.1
	done
	! alive "$pid" || { echo "expected the container to die with its monitor (PR_SET_PDEATHSIG), got PID $pid alive"; return 1; }
	run md ps -a
	expect_match "${id:0:12} .*Dead" "$output" "ps -a's status after the monitor was killed" || {
		hint "state says running, but neither the container nor its monitor lives: that is dead"
		return 1
	}
	run md ps -q
	expect_eq "" "$output" "ps (running only) after the monitor was killed" || return 1
	run_md rm "$id"
	expect_status 0 "rm of the dead container" || return 1
	[ ! -d "$ROOT/containers/$id" ] || { echo "expected rm to remove the container's directory, got it there"; return 1; }
	for d in $cgroups; do
		[ ! -d "$d" ] || { echo "expected rm to remove the cgroup $d, got it there"; return 1; }
	done
}

# exercise: 05.4 05.5 05.8 05.9
@test "rm -f of running containers leaves no process, mount, cgroup, link or address behind" {
	ids=()
	for i in 1 2 3; do
		ids+=("$(md run -d -p "$((20000 + RANDOM % 20000))":80 --rootfs "$ROOTFS" sleep 60)")
	done
	pids=() cgroups=""
	for id in "${ids[@]}"; do
		pids+=("$(field "$id" Pid)" "$(field "$id" MonitorPid)")
		cgroups+=" $(sed -n 's/^ *"cgroups": "\(.*\)",*$/\1/p' "$ROOT/containers/$id/state.json")"
	done
	run_md rm -f "${ids[@]}"
	expect_status 0 "rm -f of running containers" || return 1
	for p in "${pids[@]}"; do
		! alive "$p" || { echo "expected no process left, got PID $p: $(tr '\0' ' ' <"/proc/$p/cmdline")"; return 1; }
	done
	for d in $cgroups; do
		[ ! -d "$d" ] || { echo "expected no cgroup left, got $d"; return 1; }
	done
	run grep -c -F "$ROOT" /proc/self/mountinfo
	expect_eq 0 "$output" "mounts under the store" || return 1
	run ip -n "$NETNS" -o link show
	expect_eq 1 "${#lines[@]}" "links left in the network namespace (lo only; mini0 and veths gone): $output" || return 1
	run md ps -aq
	expect_eq "" "$output" "ps -aq after rm -f"
}

# exercise: 05.4 05.5
@test "rm -f of a foreground run: the engine ends quietly and nothing of the container is left" {
	for i in 1 2 3; do
		name=fg-$(random_word)
		err=$BATS_TEST_TMPDIR/engine-$i.err
		md run --name "$name" --network none --rootfs "$ROOTFS" sleep 60 >/dev/null 2>"$err" &
		engine=$!
		for _ in $(seq 1 100); do
			[ "$(md ps -q --no-trunc 2>/dev/null | wc -l)" = 1 ] && break
			sleep 0.1
		done
		id=$(md ps -q --no-trunc)
		expect_match '^[0-9a-f]{64}$' "$id" "the running container's ID in ps" || return 1
		run_md rm -f "$name"
		expect_status 0 "rm -f of the foreground container" || return 1
		wait "$engine" || true
		# the engine recorded the end after (or while) rm took the directory away
		expect_eq "" "$(grep -v '^$' "$err")" "what the foreground engine wrote to stderr" || {
			hint "the engine's last state write must see the directory removed under the lock (state.c, destroy_dir)"
			return 1
		}
		[ ! -e "$ROOT/containers/$id" ] || { echo "expected no $ROOT/containers/$id left, got: $(ls -A "$ROOT/containers/$id")"; return 1; }
	done
}

# exercise: 05.4 05.5 05.8 05.9
@test "system prune removes stopped and dead containers, keeps running ones" {
	hint "system prune: every container whose state is not running goes (as rm does), then store_gc"
	exited=$(md run -d --rootfs "$ROOTFS" true)
	md wait "$exited" >/dev/null
	dead=$(md run -d --rootfs "$ROOTFS" sleep 60)
	kill -9 "$(field "$dead" MonitorPid)"
	running=$(md run -d --rootfs "$ROOTFS" sleep 60)
	for _ in $(seq 1 50); do
		md ps -a | grep -q "${dead:0:12} .*Dead" && break
		sleep 0.1
	done
	run_md system prune
	expect_status 0 "system prune" || return 1
	expect_match "Deleted containers: 2" "$output" "what system prune reports" || return 1
	for id in "$exited" "$dead"; do
		[ ! -d "$ROOT/containers/$id" ] || { echo "expected system prune to remove container $id, got it there"; return 1; }
	done
	run md ps -q
	expect_eq "${running:0:12}" "$output" "the running container after system prune"
}
