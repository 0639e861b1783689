#!/usr/bin/env bats
# Step 02: cgroups. box limits what its command may use, with docker run's
# flags: --cpus, --memory (-m), --pids-limit. These tests run against step 02's
# box and every later one, on cgroup v2 hosts and on hybrid / legacy (v1) ones
# alike: they look at what the command could do and at what the cgroup itself
# measured (box -v prints it at exit), not at one kind of host's files.

bats_require_minimum_version 1.5.0
load helpers

setup() {
	require_root
	section "Step 02: cgroups"
	make_rootfs
	require_cgroup_controllers
	box_cgroups >"$BATS_TEST_TMPDIR/cgroups.before"
}

teardown() {
	stop_background_box
	stop_spinners
	remove_leftover_cgroups
}

# --- helpers of this file ----------------------------------------------------

# How long each CPU spinner runs (wall seconds). The VM lane (RUNNER_LANE=vm)
# runs nothing else beside the test, so its CPUs are free and a shorter spin
# measures the same ratio; every exec there is slow, so it counts.
SPIN=3
[ "${RUNNER_LANE:-}" = vm ] && SPIN=2

require_cgroup_controllers() {
	local c
	if [ "$(cgroup_mode)" = v2 ]; then
		for c in cpu memory pids; do
			grep -qw "$c" /sys/fs/cgroup/cgroup.controllers 2>/dev/null ||
				skip "requires the cgroup2 $c controller"
		done
	else
		for c in cpu memory pids; do
			[ "$(stat -fc %T "/sys/fs/cgroup/$c" 2>/dev/null)" = cgroupfs ] ||
				skip "requires the cgroup v1 $c controller at /sys/fs/cgroup/$c"
		done
	fi
}

# The cgroup directories box made (one on v2, one per hierarchy on v1), read
# from the -v narration of TEXT: "$ mkdir /sys/fs/cgroup/box/ID" (v2) or
# "$ mkdir /sys/fs/cgroup/memory/.../box/ID" (v1).
cgroups_made() {
	sed -nE 's/.*\$ mkdir (\/sys\/fs\/cgroup\/(.*\/)?box\/[0-9]+)$/\1/p' <<<"$1"
}

# Remember them for teardown, and check there is at least one.
record_cgroups() {
	CGROUPS=$(cgroups_made "$1")
	printf '%s\n' "$CGROUPS" >>"$BATS_TEST_TMPDIR/cgroups"
	if [ -z "$CGROUPS" ]; then
		echo "expected box -v to narrate 'mkdir /sys/fs/cgroup/box/ID' (v2) or 'mkdir /sys/fs/cgroup/CONTROLLER/.../box/ID' (v1), got none"
		printf '%s\n' "$1"
		return 1
	fi
}

expect_no_cgroup_left() {
	local d
	for d in $CGROUPS; do
		if [ -d "$d" ]; then
			echo "expected box to remove its cgroup $d when it ended, got it still there" \
				"(tasks in it: $(tr '\n' ' ' <"$d/cgroup.procs" 2>/dev/null))"
			return 1
		fi
	done
}

# Every box cgroup on this host: /sys/fs/cgroup/[.../]box/ID.
box_cgroups() {
	find /sys/fs/cgroup -maxdepth 6 -type d -path '*/box/[0-9]*' 2>/dev/null | sort
}

# Kill what a failed test left in box's cgroups, then remove them: those it
# recorded, and the new ones whose box (ID is its PID) is gone.
remove_leftover_cgroups() {
	local d pid
	touch "$BATS_TEST_TMPDIR/cgroups"
	[ -f "$BATS_TEST_TMPDIR/box.err" ] && cgroups_made "$(cat "$BATS_TEST_TMPDIR/box.err")" >>"$BATS_TEST_TMPDIR/cgroups"
	box_cgroups | comm -13 "$BATS_TEST_TMPDIR/cgroups.before" - | while read -r d; do
		kill -0 "${d##*/}" 2>/dev/null || echo "$d"
	done >>"$BATS_TEST_TMPDIR/cgroups"
	while read -r d; do
		[ -n "$d" ] && [ -d "$d" ] || continue
		# (cgroup files say size 0: read them, [ -s ] cannot tell)
		for _ in $(seq 50); do
			procs=$(cat "$d/cgroup.procs" 2>/dev/null)
			[ -n "$procs" ] || break
			for pid in $procs; do kill -9 "$pid" 2>/dev/null; done
			sleep 0.1
		done
		rmdir "$d" 2>/dev/null || true
	done <"$BATS_TEST_TMPDIR/cgroups"
}

# start_box ARGS...: box -v in the background; $BOX_PID, stderr in box.err.
# Background processes close fd 3 (bats' own output): one a failed test
# leaves behind must not keep bats waiting.
start_box() {
	touch "$BATS_TEST_TMPDIR/cgroups"
	"$BOX" -v "$@" >"$BATS_TEST_TMPDIR/box.out" 2>"$BATS_TEST_TMPDIR/box.err" </dev/null 3>&- &
	BOX_PID=$!
}

# wait_narration REGEX: until box's -v narration matches (10 s at most).
wait_narration() {
	for _ in $(seq 100); do
		grep -qE "$1" "$BATS_TEST_TMPDIR/box.err" && return 0
		sleep 0.1
	done
	echo "expected box -v to say /$1/ within 10s, got:"
	cat "$BATS_TEST_TMPDIR/box.err"
	return 1
}

# wait_box: box's exit status in $status (15 s at most, then it is killed).
wait_box() {
	for _ in $(seq 150); do
		kill -0 "$BOX_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$BOX_PID" 2>/dev/null; then
		echo "expected box to end within 15s, got it still running"
		return 1
	fi
	status=0
	wait "$BOX_PID" || status=$?
	BOX_PID=""
	stderr=$(cat "$BATS_TEST_TMPDIR/box.err") output=$(cat "$BATS_TEST_TMPDIR/box.out")
}

stop_background_box() {
	if [ -n "${BOX_PID:-}" ]; then
		kill -9 "$BOX_PID" 2>/dev/null || true
		wait "$BOX_PID" 2>/dev/null || true
	fi
}

# The CPU seconds per wall second the cgroup measured, from box -v's
# "cgroup used 1.503s of CPU in 3.002s".
cpu_ratio() {
	local used wall
	used=$(sed -nE 's/.*cgroup used ([0-9.]+)s of CPU in ([0-9.]+)s.*/\1/p' <<<"$stderr")
	wall=$(sed -nE 's/.*cgroup used ([0-9.]+)s of CPU in ([0-9.]+)s.*/\2/p' <<<"$stderr")
	if [ -z "$used" ] || [ -z "$wall" ]; then
		echo "expected box -v to print 'cgroup used Xs of CPU in Ys' at exit, got:" >&2
		printf '%s\n' "$stderr" >&2
		return 1
	fi
	awk -v u="$used" -v w="$wall" 'BEGIN { printf "%.2f\n", u / w }'
}

# expect_between LOW HIGH VALUE WHAT
expect_between() {
	if ! awk -v l="$1" -v h="$2" -v v="$3" 'BEGIN { exit !(v >= l && v <= h) }'; then
		echo "expected $4 between $1 and $2, got $3"
		return 1
	fi
}

# spin_start NAME [BOX FLAGS...]: box -v FLAGS probe spin $SPIN, in the background
spin_start() {
	local name=$1
	shift
	touch "$BATS_TEST_TMPDIR/cgroups"
	timeout --kill-after=5 30 "$BOX" -v "$@" "$ROOTFS" /bin/probe spin "$SPIN" \
		>"$BATS_TEST_TMPDIR/$name.out" 2>"$BATS_TEST_TMPDIR/$name.err" </dev/null 3>&- &
	echo $! >"$BATS_TEST_TMPDIR/$name.pid"
}

# Spinners a failed test did not wait for: SIGTERM to timeout reaches box,
# which passes it on and removes its cgroup; timeout kills it 5 s later.
stop_spinners() {
	local f
	for f in "$BATS_TEST_TMPDIR"/*.pid; do
		[ -f "$f" ] || continue
		kill -TERM "$(cat "$f")" 2>/dev/null
		wait "$(cat "$f")" 2>/dev/null
		rm -f "$f"
	done
	return 0
}

# spin_ratio NAME: wait for it; $ratio: the CPU seconds per wall second its cgroup measured
spin_ratio() {
	local st=0
	ratio=""
	wait "$(cat "$BATS_TEST_TMPDIR/$1.pid")" || st=$?
	rm -f "$BATS_TEST_TMPDIR/$1.pid"
	stderr=$(cat "$BATS_TEST_TMPDIR/$1.err")
	cgroups_made "$stderr" >>"$BATS_TEST_TMPDIR/cgroups"
	if [ "$st" != 0 ]; then
		echo "expected box -v ... probe spin $SPIN to exit 0, got $st:" >&2
		printf '%s\n' "$stderr" >&2
		return 1
	fi
	ratio=$(cpu_ratio)
}

# cpu_idle: the idle and total jiffies of all CPUs so far (/proc/stat's cpu line)
cpu_idle() {
	awk '$1 == "cpu" { print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9; exit }' /proc/stat
}

# expect_cpu_limit CPUS LOW HIGH ROOM
# The machine is shared (other tests, CI's VM lane run at the same time), so
# each attempt runs the limited spinner next to an unlimited one. The quota is
# a ceiling whatever the load: the limited one never gets more than HIGH. When
# the machine has room (the unlimited one gets ROOM or more) the limited one
# must also get at least LOW. Three busy attempts in a row pass on the ceiling
# alone, unless the CPUs sat idle while the unlimited one got less than ROOM:
# the scheduler gives idle CPU to whoever can run, so then it was held back (a
# quota where none was asked for). The idle CPU is measured over each attempt
# (/proc/stat), not guessed from the load average, which lags by a minute.
expect_cpu_limit() {
	local cpus=$1 low=$2 high=$3 room=$4 lim free before after idle ncpu
	ncpu=$(nproc)
	for attempt in 1 2 3; do
		before=$(cpu_idle)
		spin_start lim --cpus "$cpus"
		spin_start free
		spin_ratio lim || return 1
		lim=$ratio
		spin_ratio free || return 1
		free=$ratio
		after=$(cpu_idle)
		idle=$(awk -v b="$before" -v a="$after" -v n="$ncpu" 'BEGIN {
			split(b, x, " "); split(a, y, " ")
			printf "%.2f\n", (y[2] > x[2]) ? (y[1] - x[1]) / (y[2] - x[2]) * n : 0 }')
		echo "attempt $attempt: --cpus $cpus got $lim CPU s per s, no limit got $free, $idle of $ncpu CPUs idle"
		expect_between 0 "$high" "$lim" "the CPU seconds per wall second the cgroup measured for --cpus $cpus" ||
			return 1
		if awk -v f="$free" -v r="$room" 'BEGIN { exit !(f >= r) }'; then
			expect_between "$low" "$high" "$lim" "the CPU seconds per wall second the cgroup measured for --cpus $cpus"
			return
		fi
		# the box start and exit around the spinners leave a little idle: 0.2 CPU of slack
		if awk -v f="$free" -v i="$idle" -v r="$room" 'BEGIN { exit !(f + i >= r + 0.2) }'; then
			echo "expected box without --cpus to get at least $room CPU s per s while $idle of $ncpu CPUs sat idle, got $free: was a quota set without --cpus?"
			return 1
		fi
		sleep 1
	done
	echo "the machine was busy (no CPU idle while the unlimited spinner waited): only the ceiling was checked"
}

# --- CPU ------------------------------------------------------------------------

# exercise: 02.1 02.2 03.1 03.3 03.4 03.5 03.6 04.1 04.2 05.4 05.5
@test "--cpus 0.5: the cgroup gives the command half a CPU (cpu.max / cfs_quota_us)" {
	hint "--cpus 0.5 is cpu.max \"50000 100000\" (v2), or cpu.cfs_quota_us 50000 with cfs_period_us 100000 (v1)"
	expect_cpu_limit 0.5 0.35 0.65 0.75
}

# exercise: 02.1 02.2 03.1 03.3 03.4 03.5 04.1 04.2 05.4 05.5
@test "--cpus 0.25: a quarter of a CPU" {
	hint "quota = CPUs x period: 0.25 x 100000 = 25000 microseconds in every 100000"
	expect_cpu_limit 0.25 0.15 0.35 0.5
}

# exercise: 02.1 02.2 03.1 03.3 03.4 03.5 04.1 04.2 05.4 05.5
@test "without --cpus the cgroup counts all the CPU time the command used" {
	hint "no --cpus, no quota: the cgroup still exists, holds the command, and counts its CPU time (cpu.stat, cpuacct.usage)"
	spin_start free
	spin_ratio free || return 1
	record_cgroups "$stderr"
	# probe measured its own CPU time (CLOCK_PROCESS_CPUTIME_ID); the cgroup must agree
	own=$(cat "$BATS_TEST_TMPDIR/free.out")
	used=$(sed -nE 's/.*cgroup used ([0-9.]+)s of CPU.*/\1/p' <<<"$stderr")
	expect_between 0.2 10 "$own" "the CPU seconds probe spin $SPIN got" || return 1
	expect_between "$(awk -v o="$own" 'BEGIN { print o * 0.9 - 0.05 }')" \
		"$(awk -v o="$own" 'BEGIN { print o * 1.1 + 0.1 }')" "$used" \
		"the CPU seconds the cgroup counted (probe itself counted $own)"
}

# --- memory ------------------------------------------------------------------------

# exercise: 02.1 02.2 03.1 03.3 03.4 03.5 04.1 04.2 05.4 05.5
@test "--memory: a command that needs more is killed: exit 137, 'out of memory'" {
	hint "memory.max (v2) or memory.limit_in_bytes (v1), swap limited too; OOM kill: see memory.events oom_kill / memory.oom_control"
	limit=$((24 + RANDOM % 32))
	run_box --memory "${limit}M" "$ROOTFS" /bin/probe memhog "$((limit * 2 + 16))M"
	expect_status 137 "the command to be killed by the OOM killer (128 + SIGKILL)"
	expect_stderr_says "killed: out of memory (memory limit ${limit}M)" "box to say why the command died"
	[ -z "$output" ] || { echo "expected memhog to die before printing, got '$output'"; return 1; }
}

# exercise: 02.1 03.1 03.3 03.4 03.5 04.1 04.2 05.4 05.5
@test "--memory / -m: a command that fits runs to the end" {
	hint "the limit must be the size asked for (64M = 67108864 bytes), not less"
	run_box -m 64M "$ROOTFS" /bin/probe memhog 16M
	expect_status 0 "memhog 16M to fit in -m 64M"
	expect_eq "ok 16777216" "$output" "what memhog printed"
	run_box --memory 1g "$ROOTFS" /bin/probe memhog 32M
	expect_status 0 "memhog 32M to fit in --memory 1g"
}

# --- pids ------------------------------------------------------------------------

# exercise: 02.1 02.2 02.3 03.1 03.3 03.4 03.5 04.1 04.2 05.4 05.5
@test "--pids-limit: a fork bomb stops at the limit and box returns" {
	hint "pids.max: the fork(2) that would make task N+1 fails with EAGAIN"
	limit=$((10 + RANDOM % 20))
	run_box -v --pids-limit "$limit" "$ROOTFS" /bin/probe forkbomb 500
	expect_status 0 "the fork bomb to stop by itself and exit"
	record_cgroups "$stderr"
	# probe counts the children it made; with itself that is at most the limit
	[[ $output =~ ^[0-9]+$ ]] || { echo "expected probe forkbomb to print a count, got '$output'"; return 1; }
	if [ "$output" -ge "$limit" ] || [ "$output" -lt 1 ]; then
		echo "expected the fork bomb to make 1 to $((limit - 1)) children under --pids-limit $limit, got $output"
		return 1
	fi
	peak=$(sed -nE 's/.*pids peak ([0-9]+).*/\1/p' <<<"$stderr")
	if [ -n "$peak" ] && [ "$peak" -gt "$limit" ]; then
		echo "expected the cgroup's pids peak to be at most $limit, got $peak"
		return 1
	fi
	expect_no_cgroup_left
}

# --- cleanup ------------------------------------------------------------------------

# exercise: 02.1 02.3 03.1 03.3 03.4 03.5 04.1 04.2 05.4 05.5
@test "no cgroup is left after the command exits, even when it leaves processes behind" {
	hint "after waitpid: kill what is still in cgroup.procs (cgroup.kill on v2), then rmdir the cgroup"
	run_box -v "$ROOTFS" /bin/sh -c '/bin/probe sleep 300 & echo started'
	expect_status 0 "sh to exit"
	record_cgroups "$stderr"
	expect_no_cgroup_left
}

# exercise: 02.1 02.2 02.3 03.1 03.3 03.4 03.5 04.1 04.2 05.4 05.5
@test "no cgroup is left after the command is killed" {
	hint "a command killed by a signal is still waited for: clean up after waitpid in every case"
	start_box "$ROOTFS" /bin/probe sleep 300
	wait_narration 'execvp'
	record_cgroups "$(cat "$BATS_TEST_TMPDIR/box.err")"
	d=$(head -n1 <<<"$CGROUPS")
	pid=""
	for _ in $(seq 50); do
		pid=$(head -n1 "$d/cgroup.procs" 2>/dev/null)
		[ -n "$pid" ] && break
		sleep 0.1
	done
	[ -n "$pid" ] || { echo "expected the command in $d/cgroup.procs, got nothing"; return 1; }
	kill -9 "$pid"
	wait_box
	expect_status 137 "the command killed by SIGKILL"
	expect_no_cgroup_left
}

# exercise: 02.1 02.3 03.1 03.3 03.4 03.5 04.1 04.2 05.4 05.5
@test "no cgroup is left after box itself gets SIGTERM" {
	hint "box passes SIGTERM on to the command, waits, then removes the cgroup (the command's leftovers too)"
	start_box "$ROOTFS" /bin/sh -c '/bin/probe sleep 300 & exec /bin/probe sleep 300'
	wait_narration 'execvp'
	record_cgroups "$(cat "$BATS_TEST_TMPDIR/box.err")"
	sleep 0.5
	kill -TERM "$BOX_PID"
	wait_box
	expect_status 143 "the command ended by the SIGTERM box passed on (128 + 15)"
	expect_no_cgroup_left
}

# --- the command line ------------------------------------------------------------------------

@test "bad values are rejected with a clear error, and nothing runs" {
	hint "parse --cpus, --memory, --pids-limit strictly (the whole string, units, bounds) before anything else"
	local bad=(
		"--cpus abc" "--cpus 0" "--cpus -1" "--cpus 0.001" "--cpus 1000000" "--cpus 0.5x"
		"--cpus nan" "--cpus 0x1" "--memory 12q" "--memory -64M" "--memory 1k" "--memory M"
		"--memory 99999999999999999999G" "-m 64MM" "--pids-limit 0" "--pids-limit -3"
		"--pids-limit 2x" "--pids-limit 99999999999" "--pids-limit ''"
	)
	for args in "${bad[@]}"; do
		eval "set -- $args"
		rm -f "$ROOTFS/ran"
		run_box "$@" "$ROOTFS" /bin/probe write /ran yes
		expect_status 125 "box to reject '$args'" || return 1
		expect_stderr_says "${1#--}" "the error for '$args' to name the option" || return 1
		if [ -e "$ROOTFS/ran" ]; then
			echo "expected the command not to run with '$args', got it run"
			return 1
		fi
	done
}

# exercise: 02.1 03.1 03.3 03.4 03.5 04.1 04.2 05.4 05.5
@test "good values in docker's forms are accepted" {
	hint "--cpus 1.5, --memory 512m / 1G / bytes, -m, --opt=value: as docker run takes them"
	for args in "--cpus 1" "--cpus=0.5" "--memory=512m" "-m 1G" "-m 100000000" "--memory 64mb" \
		"--pids-limit 100" "--cpus 0.75 -m 128M --pids-limit 50"; do
		rm -f "$ROOTFS/ran"
		# shellcheck disable=SC2086
		run_box $args "$ROOTFS" /bin/probe write /ran yes
		expect_status 0 "box to accept '$args'" || return 1
		[ -e "$ROOTFS/ran" ] || { echo "expected the command to run with '$args', got no /ran"; return 1; }
	done
}

# exercise: 02.1 02.2 02.3 03.1 03.3 03.4 03.5 04.1 04.2 05.4 05.5
@test "-v narrates the cgroup: mkdir, the limits as echo > file, what it measured" {
	hint "say() each write as the shell command of the slides: echo \"50000 100000\" > /sys/fs/cgroup/box/ID/cpu.max"
	quota=$((10 + RANDOM % 80))000
	pids=$((20 + RANDOM % 100))
	run_box -v --cpus "0.${quota:0:2}" --pids-limit "$pids" "$ROOTFS" /bin/true
	expect_status 0 "/bin/true to run"
	record_cgroups "$stderr"
	if [ "$(cgroup_mode)" = v2 ]; then
		expect_match "\\\$ echo \"$quota 100000\" > /sys/fs/cgroup/box/[0-9]+/cpu.max" "$stderr" "the narration of cpu.max"
	else
		expect_match "\\\$ echo \"$quota\" > /sys/fs/cgroup/[^ ]*/box/[0-9]+/cpu.cfs_quota_us" "$stderr" "the narration of cpu.cfs_quota_us"
	fi
	expect_match "\\\$ echo \"$pids\" > /sys/fs/cgroup/[^ ]*box/[0-9]+/pids.max" "$stderr" "the narration of pids.max"
	expect_match "\\\$ echo \"[0-9]+\" > /sys/fs/cgroup/[^ ]*box/[0-9]+/cgroup.procs|clone3\\(CLONE_INTO_CGROUP" "$stderr" "the narration of how the child got into the cgroup"
	expect_match "cgroup used [0-9.]+s of CPU in [0-9.]+s, memory peak [^,]+, pids peak " "$stderr" "what the cgroup measured, at exit"
	expect_no_cgroup_left
}

# exercise: 02.1 03.1 03.3 03.4 03.5 04.1 04.2 05.4 05.5
@test "a host without the controller gets a clear error, not a crash" {
	hint "check that the controller exists (cgroup.controllers on v2, /sys/fs/cgroup/NAME on v1) and say which is missing"
	command -v unshare >/dev/null || skip "requires unshare (util-linux)"
	# in a mount namespace of its own, an empty tmpfs hides every cgroup
	nocg() {
		unshare --mount --propagation private -- sh -c \
			'mount -t tmpfs none /sys/fs/cgroup && exec timeout 20 "$@"' sh "$BOX" "$@"
	}
	for c in "--cpus 0.5:cpu" "--memory 64M:memory" "--pids-limit 10:pids"; do
		# shellcheck disable=SC2086
		run --separate-stderr nocg ${c%%:*} "$ROOTFS" /bin/true
		expect_status 125 "box's own error for ${c%%:*} without cgroups" || return 1
		expect_stderr_says "${c##*:} controller" "the error to name the missing ${c##*:} controller" || return 1
	done
	# no limit asked: nothing is missing, the command runs
	run --separate-stderr nocg "$ROOTFS" /bin/probe exit 7
	expect_status 7 "the command to run when no limit needs a cgroup"
}

# exercise: 02.1 02.2 02.3 03.1 03.3 03.4 03.5 04.1 04.2 05.4 05.5
@test "cgroup v2: the child is born in /sys/fs/cgroup/box/ID, and the cgroup goes at exit" {
	hint "statfs(/sys/fs/cgroup) says CGROUP2_SUPER_MAGIC: one tree; clone3(CLONE_INTO_CGROUP) or cgroup.procs; cgroup.kill; rmdir"
	# On a hybrid host the v2 tree (/sys/fs/cgroup/unified) has no cpu, memory or
	# pids, but box's v2 path still runs there: bind it over /sys/fs/cgroup in a
	# mount namespace of this test's own. On a v2 host this is the host's tree.
	if [ "$(cgroup_mode)" = v1 ]; then
		[ "$(stat -fc %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ] ||
			skip "requires cgroup v2 (a legacy host has no unified hierarchy)"
		command -v unshare >/dev/null || skip "requires unshare (util-linux)"
		bind='mount --bind /sys/fs/cgroup/unified /sys/fs/cgroup &&'
	else
		bind=''
	fi
	word=$(random_word)
	# the command leaves a process behind, which box must kill before rmdir
	run --separate-stderr unshare --mount --propagation private -- sh -c "$bind"'
		timeout 20 "$1" -v "$2" /bin/sh -c "/bin/probe sleep 300 & /bin/probe spin 0.5; echo $3" 2>"$4"
		echo "status $?"
		for d in $(sed -nE "s/.*\\$ mkdir (\/sys\/fs\/cgroup\/box\/[0-9]+)\$/\1/p" "$4"); do
			echo "made $d"
			[ -d "$d" ] && echo "left $d"
		done' sh "$BOX" "$ROOTFS" "$word" "$BATS_TEST_TMPDIR/v2.err"
	stderr=$(cat "$BATS_TEST_TMPDIR/v2.err")
	expect_match "^[0-9.]+"$'\n'"$word"$'\n'"status 0" "$output" "the command's output, then box's exit status 0" || { show_run; return 1; }
	expect_match "statfs.*cgroup2" "$stderr" "box -v to say the host is cgroup v2 (statfs: cgroup2)"
	expect_match "made /sys/fs/cgroup/box/[0-9]+" "$output" "box -v to narrate mkdir /sys/fs/cgroup/box/ID"
	# probe spin counted its own CPU time: the cgroup counted it too if the command was in it
	own=$(head -n1 <<<"$output")
	used=$(sed -nE 's/.*cgroup used ([0-9.]+)s of CPU.*/\1/p' <<<"$stderr")
	expect_between "$(awk -v o="$own" 'BEGIN { print (o * 0.8 > 0.001 ? o * 0.8 : 0.001) }')" 10 "${used:-none}" \
		"the CPU seconds the cgroup counted (cpu.stat usage_usec; probe itself counted $own)"
	if [[ $output == *"left "* ]]; then
		echo "expected box to remove its cgroup, got: $(grep left <<<"$output")"
		return 1
	fi
}

# exercise: 02.1 02.3 03.1 03.3 03.4 03.5 04.1 04.2 05.4 05.5
@test "a cgroup left by a box killed with SIGKILL does not stop the next box with its PID" {
	hint "box names its cgroup after its PID: on EEXIST, rmdir the empty leftover and mkdir again"
	# in a PID namespace of its own (and its /proc) box is PID 1, so its cgroup is .../box/1
	run --separate-stderr timeout 30 unshare --pid --fork --mount-proc "$BOX" -v --pids-limit 10 "$ROOTFS" /bin/true
	expect_status 0 "a first box in a PID namespace" || return 1
	record_cgroups "$stderr" || return 1
	for d in $CGROUPS; do mkdir "$d"; done # what a box killed with SIGKILL leaves
	run --separate-stderr timeout 30 unshare --pid --fork --mount-proc "$BOX" -v --pids-limit 10 "$ROOTFS" /bin/true
	expect_status 0 "a box whose cgroup name a killed box left behind" || { show_run; return 1; }
	expect_no_cgroup_left
}

# exercise: 02.1 03.1 03.3 03.4 03.5 04.1 04.2 05.4 05.5
@test "the slides' rootfs runs under limits: busybox alone in a directory" {
	hint "the cgroup is made on the host: a root with only /busybox in it runs with --memory and --pids-limit"
	make_bare_rootfs
	word=$(random_word)
	run_box --memory 64m --pids-limit 20 "$BARE" /busybox echo "$word"
	expect_status 0 "busybox echo to run in a bare root with limits"
	expect_eq "$word" "$output" "what the command printed"
}
