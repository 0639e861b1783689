#!/usr/bin/env bats
# The slides' commands, typed as in the talk, do what the slides say on this
# kernel. A learner types them by hand at the workshop: each test runs the
# slide's own command (util-linux unshare, ip, chroot, busybox) and checks the
# slide's claim, so a kernel or distribution change that breaks a slide shows
# up here first. Where a slide says something this kernel does not do, the test
# checks what really happens and says so (see "unshare --net=FILE" below).
# Needs root; leaves no cgroup, namespace, mount, process or directory behind.

bats_require_minimum_version 1.5.0

setup() {
	load ../helpers
	require_root
	PIDS=() CGROUPS=() NETNS_FILES=()
}

teardown() {
	local p d f
	for p in "${PIDS[@]}"; do
		kill -9 "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	# children first: a cgroup is only removable once empty
	for ((i = ${#CGROUPS[@]} - 1; i >= 0; i--)); do
		d=${CGROUPS[i]}
		for _ in $(seq 50); do
			[ -d "$d" ] || break
			rmdir "$d" 2>/dev/null && break
			sleep 0.1
		done
	done
	# the netns tests' mounts died with their mount namespace; `ip netns add`
	# made the file in the host's /run/netns directory all the same
	for f in "${NETNS_FILES[@]}"; do
		mountpoint -q "$f" 2>/dev/null || rm -f "$f"
	done
	if [ "${NETNS_DIR_MADE:-}" = yes ]; then
		rmdir /run/netns 2>/dev/null || true
	fi
}

# bg CMD...: start CMD in the background, killed at teardown; $BG is its PID
bg() {
	"$@" &
	BG=$!
	PIDS+=("$BG")
}

# the one child of PID (unshare --fork's command), waiting for it to exist
child_of() {
	local c
	for _ in $(seq 100); do
		c=$(tr -d ' ' <"/proc/$1/task/$1/children" 2>/dev/null)
		[ -n "$c" ] && { echo "$c"; return; }
		sleep 0.05
	done
	return 1
}

# ---------------------------------------------------------------------------

@test "Esempio chroot: busybox ash runs in scatola, ps shows nothing (no /proc), kill still reaches a host process" {
	word=$(random_word)
	bg sleep 300
	host=$BG
	cd "$BATS_TEST_TMPDIR"
	mkdir scatola
	cp "$(command -v busybox)" scatola
	run --separate-stderr timeout 20 chroot scatola /busybox ash -c "echo $word; /busybox ls /"
	expect_status 0 "chroot scatola /busybox ash to run (busybox must be the static one: busybox-static)" || return 1
	expect_eq "$word"$'\n'busybox "$output" "what ash printed, then ls / inside (scatola holds busybox alone)" || return 1

	run --separate-stderr timeout 20 chroot scatola /busybox ps
	expect_eq "PID   USER     COMMAND" "$output" "busybox ps in the chroot: its header and no process" || { show_run; return 1; }
	expect_stderr_says "/proc" "ps to say why: there is no /proc in scatola" || return 1

	# only the filesystem is isolated: a PID of the host is still there to kill
	run --separate-stderr timeout 20 chroot scatola /busybox kill "$host"
	expect_status 0 "/busybox kill $host (a host sleep) from inside the chroot" || return 1
	st=0
	wait "$host" || st=$?
	expect_eq 143 "$st" "the exit status of the host's sleep (128 + SIGTERM)"
}

@test "Container vs VM: a container shares the host's kernel: the same release, version and boot, in every namespace" {
	cd "$BATS_TEST_TMPDIR"
	mkdir -p scatola/proc
	cp "$(command -v busybox)" scatola
	# every namespace unshare can make, and a root of its own: still the host's kernel
	run --separate-stderr timeout 20 unshare --mount --uts --ipc --net --pid --cgroup --fork \
		chroot scatola /busybox sh -c '/busybox mount -t proc proc /proc &&
			/busybox uname -r && /busybox cat /proc/version /proc/sys/kernel/random/boot_id'
	expect_status 0 "uname -r and /proc inside the namespaces" || { show_run; return 1; }
	expect_eq "$(uname -r)"$'\n'"$(cat /proc/version)"$'\n'"$(cat /proc/sys/kernel/random/boot_id)" "$output" \
		"the kernel release, version and boot id inside, against the host's (a VM would have its own)"
}

@test "Cgroups: mount | grep cgroup shows the hierarchy at /sys/fs/cgroup, cgroup.controllers lists the controllers" {
	run sh -c 'mount | grep cgroup'
	expect_status 0 "mount | grep cgroup to find a cgroup mount" || return 1
	expect_match "(^|"$'\n'")(cgroup|cgroup2) on /sys/fs/cgroup[^ ]* type (cgroup|cgroup2) " "$output" \
		"mount | grep cgroup" || return 1
	enabled=$(awk '!/^#/ && $4 == 1 { print $1 }' /proc/cgroups)
	case "$(stat -fc %T /sys/fs/cgroup)" in
	cgroup2fs) # as on the slide: cgroup2 on /sys/fs/cgroup type cgroup2
		expect_match "(^|"$'\n'")cgroup2 on /sys/fs/cgroup type cgroup2 " "$output" "mount | grep cgroup (the slide's line)" || return 1
		ctl=$(cat /sys/fs/cgroup/cgroup.controllers)
		[ -n "$ctl" ] || { echo "expected /sys/fs/cgroup/cgroup.controllers to list controllers, got nothing"; return 1; }
		;;
	tmpfs) # hybrid or legacy: a tmpfs holding one v1 hierarchy per directory
		expect_match "(^|"$'\n'")cgroup on /sys/fs/cgroup/[^ ]+ type cgroup " "$output" \
			"mount | grep cgroup on a host with v1 hierarchies in the /sys/fs/cgroup tmpfs" || return 1
		v1=$(findmnt -rn -t cgroup -o OPTIONS | tr ',' '\n' | sort -u)
		if [ "$(stat -fc %T /sys/fs/cgroup/unified 2>/dev/null)" != cgroup2fs ]; then
			[ ! -e /sys/fs/cgroup/cgroup.controllers ] ||
				{ echo "expected no cgroup.controllers on a legacy v1 host, got one"; return 1; }
			echo "legacy v1 host: no cgroup2 mount, so no cgroup.controllers (the slide's file is v2's)"
			ctl=""
		else
			expect_match "(^|"$'\n'")cgroup2 on /sys/fs/cgroup/unified type cgroup2 " "$output" \
				"mount | grep cgroup on a hybrid host (v2 at /sys/fs/cgroup/unified)" || return 1
			ctl=$(cat /sys/fs/cgroup/unified/cgroup.controllers)
			# a controller lives in one hierarchy: v2 lists only those no v1 mount took
			for c in $ctl; do
				! grep -qx "$c" <<<"$v1" ||
					{ echo "expected $c in one hierarchy, got it in cgroup.controllers and in a v1 mount"; return 1; }
			done
		fi
		for c in cpu memory pids; do
			grep -qx "$c" <<<"$enabled" || continue
			grep -qx "$c" <<<"$v1" || [[ " $ctl " == *" $c "* ]] ||
				{ echo "expected the enabled controller $c in a v1 mount or in cgroup.controllers, got neither"; return 1; }
		done
		;;
	*)
		echo "expected /sys/fs/cgroup to be cgroup2fs or a tmpfs of v1 hierarchies, got $(stat -fc %T /sys/fs/cgroup)"
		return 1
		;;
	esac
	for c in $ctl; do
		grep -qx "$c" <<<"$enabled" ||
			{ echo "expected every controller of cgroup.controllers to be enabled in /proc/cgroups, got $c"; return 1; }
	done
}

# v1_mount CONTROLLER: where the v1 hierarchy of CONTROLLER is mounted (cpu,cpuacct may share one)
v1_mount() {
	findmnt -rn -t cgroup -o TARGET,OPTIONS | awk -v c="$1" '{ n = split($2, o, ","); for (i = 1; i <= n; i++) if (o[i] == c) { print $1; exit } }'
}

# cpu_ns DIR: the CPU nanoseconds the cgroup DIR counted (v2 cpu.stat, v1 cpuacct.usage)
cpu_ns() {
	if [ -f "$1/cpu.stat" ] && grep -q '^usage_usec ' "$1/cpu.stat"; then
		echo $(($(awk '$1 == "usage_usec" { print $2 }' "$1/cpu.stat") * 1000))
	else
		cat "$1/cpuacct.usage"
	fi
}

@test "Esempio cgroup: mkdir pippo, echo PID > cgroup.procs, a 50000/100000 CPU limit holds a busy loop to half a CPU" {
	name=pippo-$(random_word)
	if [ "$(cgroup_mode)" = v2 ]; then
		grep -qw cpu /sys/fs/cgroup/cgroup.subtree_control ||
			skip "the cpu controller is not enabled in /sys/fs/cgroup/cgroup.subtree_control (host policy)"
		cpu=/sys/fs/cgroup acct=/sys/fs/cgroup
	else # this hybrid host: the cpu controller is on v1, cpuacct counts its time
		cpu=$(v1_mount cpu) acct=$(v1_mount cpuacct)
		[ -n "$cpu" ] && [ -n "$acct" ] || skip "requires the cpu and cpuacct controllers (none mounted on this v1 host)"
	fi
	# as on the slide: cd /sys/fs/cgroup; mkdir pippo
	cd "$cpu"
	CGROUPS+=("$cpu/$name")
	mkdir "$name"
	if [ "$acct" != "$cpu" ]; then
		CGROUPS+=("$acct/$name")
		mkdir "$acct/$name"
	fi

	bg sleep 300
	echo "$BG" >"$cpu/$name/cgroup.procs"
	line=$(awk -F: -v v="$(cgroup_mode)" '(v == "v2" && $2 == "") || (v == "v1" && $2 ~ /(^|,)cpu(,|$)/)' "/proc/$BG/cgroup")
	expect_match "/$name\$" "$line" "the sleep's /proc/$BG/cgroup line of the cpu hierarchy" || return 1
	grep -qx "$BG" "$name/cgroup.procs" || { echo "expected $BG in $cpu/$name/cgroup.procs, got: $(cat "$name/cgroup.procs")"; return 1; }

	if [ "$(cgroup_mode)" = v2 ]; then
		echo "50000 100000" >"$name/cpu.max"
		expect_eq "50000 100000" "$(cat "$name/cpu.max")" "cpu.max read back" || return 1
	else # v1's two files for the same limit
		echo 100000 >"$name/cpu.cfs_period_us"
		echo 50000 >"$name/cpu.cfs_quota_us"
		expect_eq "50000 100000" "$(cat "$name/cpu.cfs_quota_us") $(cat "$name/cpu.cfs_period_us")" \
			"cpu.cfs_quota_us and cpu.cfs_period_us read back" || return 1
	fi

	# The machine is shared with other jobs: the highest weight (cpu.weight,
	# v1 cpu.shares) lets them take nothing from the loop, so only the limit
	# holds it back, and the cgroup's own count says how much it got.
	if [ "$(cgroup_mode)" = v2 ]; then echo 10000 >"$name/cpu.weight"; else echo 262144 >"$name/cpu.shares"; fi
	bg sh -c 'while :; do :; done'
	spin=$BG
	echo "$spin" >"$cpu/$name/cgroup.procs"
	[ "$acct" = "$cpu" ] || echo "$spin" >"$acct/$name/cgroup.procs"
	for attempt in 1 2 3; do
		u0=$(cpu_ns "$acct/$name") n0=$(awk '$1 == "nr_throttled" { print $2 }' "$name/cpu.stat") t0=$(date +%s%N)
		sleep 2
		u1=$(cpu_ns "$acct/$name") n1=$(awk '$1 == "nr_throttled" { print $2 }' "$name/cpu.stat") t1=$(date +%s%N)
		got=$(awk -v u=$((u1 - u0)) -v t=$((t1 - t0)) 'BEGIN { printf "%.2f", u / t }')
		echo "attempt $attempt: the cgroup used $got CPU s per s and was throttled in $((n1 - n0)) periods"
		awk -v g="$got" 'BEGIN { exit !(g <= 0.7) }' ||
			{ echo "expected the limit to hold the busy loop to 0.3-0.7 of a CPU, got $got"; return 1; }
		if awk -v g="$got" 'BEGIN { exit !(g >= 0.3) }'; then
			[ "$((n1 - n0))" -gt 0 ] ||
				{ echo "expected cpu.stat nr_throttled to grow (the quota reached), got $n0 then $n1"; return 1; }
			return 0
		fi
	done
	echo "expected the busy loop to get 0.3-0.7 of a CPU in one of three attempts, got $got at last (load: $(cat /proc/loadavg))"
	return 1
}

# as_user CMD...: CMD as an unprivileged uid with no name (the slide's user@hostname, uid 1000)
as_user() {
	setpriv --reuid="$UNPRIV" --regid="$UNPRIV" --clear-groups "$@"
}

@test "Namespace - User ID: unshare -U makes a user nobody, --map-root-user makes it root, ls /root is still denied" {
	UNPRIV=$((20000 + RANDOM % 10000))
	cd /
	max=$(cat /proc/sys/user/max_user_namespaces)
	[ "$max" != 0 ] || skip "user.max_user_namespaces is 0 on this host (user namespaces turned off)"
	for knob in kernel/unprivileged_userns_clone:0 kernel/apparmor_restrict_unprivileged_userns:1; do
		[ "$(cat "/proc/sys/${knob%:*}" 2>/dev/null)" != "${knob#*:}" ] ||
			skip "sysctl ${knob%:*} = ${knob#*:}: this host forbids user namespaces to unprivileged users"
	done
	run --separate-stderr as_user id -u
	expect_eq "$UNPRIV" "$output" "id -u of the unprivileged user, outside" || return 1

	run --separate-stderr as_user unshare -U id
	expect_status 0 "unshare -U id as uid $UNPRIV" || return 1
	expect_match "^uid=65534\(nobody\) " "$output" "id in a new user namespace with no mapping" || return 1

	run --separate-stderr as_user unshare -U --map-root-user id
	expect_status 0 "unshare -U --map-root-user id as uid $UNPRIV" || return 1
	expect_match "^uid=0\(root\) " "$output" "id with --map-root-user" || return 1
	run --separate-stderr as_user unshare -U --map-root-user cat /proc/self/uid_map
	expect_match "^ *0 +$UNPRIV +1$" "$output" "uid_map: root inside is uid $UNPRIV outside" || return 1

	# the host's root may list /root; the namespace's root may not
	ls /root >/dev/null || { echo "expected the real root to list /root, got an error"; return 1; }
	run --separate-stderr as_user unshare -U --map-root-user ls /root
	expect_status 2 "ls /root as the user namespace's root to fail (/root is $(stat -c %A /root))" || return 1
	expect_stderr_says "Permission denied" "ls to be denied" || return 1
}

@test "PID namespace: in unshare --pid --fork --mount-proc bash, bash is PID 1 and ps shows only its own processes" {
	# typed as at the workshop: the commands go to the new bash's input
	run --separate-stderr timeout 20 sh -c "echo 'echo \$\$; ps -e -o pid=,comm=' | unshare --pid --fork --mount-proc bash"
	expect_status 0 "unshare --pid --fork --mount-proc bash" || return 1
	got=$(tr -s ' ' <<<"$output" | sed 's/^ //')
	expect_eq $'1\n1 bash\n2 ps' "$got" "echo \$\$ then ps -e: bash is PID 1 and ps PID 2, nothing else" || return 1
	# the new /proc was mounted in the new mount namespace only
	expect_eq proc "$(stat -fc %T /proc)" "the host's /proc afterwards" || return 1
	[ -d "/proc/$$" ] || { echo "expected the host's /proc to still show this test ($$), got no /proc/$$"; return 1; }
}

@test "PID namespace: --pid alone is not enough: bash stays outside, its first child is PID 1, the next fork fails" {
	# without --fork unshare execs bash itself: bash stays in the old namespace
	# (echo $$ is a host PID), its first child becomes PID 1 of the new one and
	# exits; a namespace whose PID 1 is gone takes no new process: fork gives ENOMEM
	run --separate-stderr timeout 20 sh -c "echo 'echo \$\$; sh -c \"echo \\\$\\\$\"; sh -c \"echo \\\$\\\$\"' | unshare --pid bash"
	first=$(sed -n 1p <<<"$output") second=$(sed -n 2p <<<"$output")
	expect_match "^[0-9]+$" "$first" "echo \$\$ of bash (a host PID)" || { show_run; return 1; }
	expect_ne 1 "$first" "echo \$\$ of bash (it is not in the new namespace)" || return 1
	expect_eq 1 "$second" "echo \$\$ of bash's first child (PID 1 of the new namespace)" || { show_run; return 1; }
	expect_eq 2 "$(wc -l <<<"$output")" "the number of lines printed (the third command cannot start)" || { show_run; return 1; }
	expect_stderr_says "fork: Cannot allocate memory" "bash's error for the second child" || return 1
	expect_ne 0 "$status" "the status of unshare --pid bash"
}

@test "PID namespace: without --mount-proc, ps in the new namespace still reads the host's /proc" {
	bg sleep 300
	run --separate-stderr timeout 20 unshare --pid --fork ps -e -o pid=
	expect_status 0 "unshare --pid --fork ps -e" || return 1
	grep -qw "$BG" <<<"$output" ||
		{ echo "expected ps without --mount-proc to list the host's sleep $BG (the old /proc), got $(wc -l <<<"$output") PIDs without it"; return 1; }
	run --separate-stderr timeout 20 unshare --pid --fork --mount-proc ps -e -o pid=
	expect_eq 1 "$(tr -d ' ' <<<"$output")" "ps -e with --mount-proc (ps alone, as PID 1)"
}

@test "Namespace - (boot)time: unshare -T --boottime 100000000 moves uptime -s back 100000000 s" {
	[ -e /proc/self/ns/time ] || skip "this kernel has no time namespaces (no /proc/self/ns/time: CONFIG_TIME_NS)"
	outside=$(uptime -s)
	run --separate-stderr timeout 20 unshare -T --boottime 100000000 uptime -s
	expect_status 0 "unshare -T --boottime 100000000 uptime -s" || return 1
	expect_match "^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8}$" "$output" "uptime -s in the time namespace" || return 1
	diff=$(($(date -d "$outside" +%s) - $(date -d "$output" +%s)))
	echo "uptime -s: $outside outside, $output inside: $diff s earlier"
	[ "$diff" -ge 99999997 ] && [ "$diff" -le 100000003 ] ||
		{ echo "expected the boot time inside 100000000 s (3.17 years) earlier, give or take 3 s, got $diff s"; return 1; }
	run cat /proc/uptime
	# the host's clock did not move
	awk -v u="${output%% *}" 'BEGIN { exit !(u < 100000000) }' ||
		{ echo "expected the host's /proc/uptime unchanged, got $output"; return 1; }
}

@test "Namespaces: lsns and /proc/PID/ns show the namespaces unshare made, and only those" {
	bg unshare --uts --ipc --net --pid --fork --mount-proc sleep 300
	parent=$BG
	child=$(child_of "$parent") || { echo "expected unshare --fork to start sleep, got no child of $parent"; return 1; }
	PIDS+=("$child")
	run --separate-stderr lsns -p "$child" -n -o TYPE,NS
	expect_status 0 "lsns -p $child" || return 1
	echo "lsns -p $child:"$'\n'"$output"
	# --mount-proc makes a mount namespace too
	for t in uts ipc net pid mnt; do
		ns=$(awk -v t="$t" '$1 == t { print $2 }' <<<"$output")
		expect_eq "$t:[$ns]" "$(readlink "/proc/$child/ns/$t")" "lsns's $t namespace of the sleep, in /proc/$child/ns" || return 1
		expect_ne "$(readlink "/proc/$$/ns/$t")" "$(readlink "/proc/$child/ns/$t")" "the sleep's $t namespace (new)" || return 1
		lsns -t "$t" -n -o NS | grep -qx " *$ns" || { echo "expected lsns -t $t to list $ns, got no such line"; return 1; }
	done
	for t in user cgroup time; do
		[ -e "/proc/$$/ns/$t" ] || continue
		expect_eq "$(readlink "/proc/$$/ns/$t")" "$(readlink "/proc/$child/ns/$t")" "the sleep's $t namespace (not asked: the host's)" || return 1
	done
	# unshare itself stays in the old PID namespace; only its children are in the new one
	expect_eq "$(readlink "/proc/$$/ns/pid")" "$(readlink "/proc/$parent/ns/pid")" "unshare's own pid namespace" || return 1
	expect_eq "$(readlink "/proc/$child/ns/pid")" "$(readlink "/proc/$parent/ns/pid_for_children")" "unshare's pid_for_children"
}

# Each netns test works in a network and mount namespace of its own (HOLDER,
# like scripts/demo.d/04-netns.sh): the host's links, addresses and mounts are
# never touched. in_ns CMD... runs one slide command there.
start_holder() {
	[ -e /run/netns ] || NETNS_DIR_MADE=yes
	bg unshare --net --mount sleep 300
	HOLDER=$BG
	for _ in $(seq 100); do
		[ "$(readlink "/proc/$HOLDER/ns/net")" != "$(readlink /proc/$$/ns/net)" ] && break
		sleep 0.05
	done
	P=pippo-$(random_word)
	NETNS_FILES+=("/run/netns/$P")
}

in_ns() {
	timeout 20 nsenter -t "$HOLDER" --net --mount -- "$@"
}

# link_local NETNS-CMD DEV: the fe80:: address of DEV
link_local() {
	"${@:1:$#-1}" ip -6 -o addr show dev "${!#}" scope link | awk '{ print $4 }' | cut -d/ -f1
}

@test "Network namespace: ip netns add, a veth pair, ping6 both ways, ip netns del takes veth0 away" {
	start_holder
	run --separate-stderr in_ns ip netns add "$P"
	expect_status 0 "ip netns add $P" || return 1
	run --separate-stderr in_ns ip netns exec "$P" ip link set lo up
	expect_status 0 "ip netns exec $P ip link set lo up" || return 1
	run --separate-stderr in_ns ip link add veth0 type veth peer veth1 netns "$P"
	expect_status 0 "ip link add veth0 type veth peer veth1 netns $P" || return 1
	run --separate-stderr in_ns ip link set veth0 up
	expect_status 0 "ip link set veth0 up" || return 1
	# the slide enters with unshare --net=/var/run/netns/pippo: that makes a new
	# namespace (next test); nsenter --net= enters pippo
	run --separate-stderr in_ns nsenter --net="/var/run/netns/$P" ip link set veth1 up
	expect_status 0 "nsenter --net=/var/run/netns/$P ip link set veth1 up" || return 1

	# IPv6 duplicate address detection: the link-local addresses are tentative for a while
	for _ in $(seq 100); do
		[ -z "$(in_ns ip -6 addr show tentative)$(in_ns ip netns exec "$P" ip -6 addr show tentative)" ] && break
		sleep 0.1
	done
	host_ip=$(link_local in_ns veth0) ctr_ip=$(link_local in_ns ip netns exec "$P" veth1)
	expect_match "^fe80::" "$host_ip" "the link-local address of veth0" || return 1
	expect_match "^fe80::" "$ctr_ip" "the link-local address of veth1 (in $P)" || return 1
	run --separate-stderr in_ns busybox ping6 -c 1 -W 5 "$ctr_ip%veth0"
	expect_status 0 "ping6 <IP-CONTAINER> ($ctr_ip) from the host's end" || { show_run; return 1; }
	run --separate-stderr in_ns nsenter --net="/var/run/netns/$P" busybox ping6 -c 1 -W 5 "$host_ip%veth1"
	expect_status 0 "ping6 <IP-HOST> ($host_ip) from inside $P" || { show_run; return 1; }

	run --separate-stderr in_ns ip netns del "$P"
	expect_status 0 "ip netns del $P" || return 1
	[ ! -e "/run/netns/$P" ] || { echo "expected ip netns del to remove /run/netns/$P, got it still there"; return 1; }
	# the namespace is freed in the background: its veth1 takes veth0 with it
	for _ in $(seq 100); do
		in_ns ip link show veth0 >/dev/null 2>&1 || break
		sleep 0.1
	done
	run --separate-stderr in_ns ip link show veth0
	expect_ne 0 "$status" "ip link show veth0 after ip netns del (veth0 gone with its peer)"
}

@test "Network namespace: unshare --net=/var/run/netns/pippo does not enter pippo, it mounts a new namespace over it (nsenter enters)" {
	start_holder
	run --separate-stderr in_ns ip netns add "$P"
	expect_status 0 "ip netns add $P" || return 1
	in_ns ip link add veth0 type veth peer veth1 netns "$P"
	pippo=$(in_ns ip netns exec "$P" readlink /proc/self/ns/net)
	expect_eq "$pippo" "$(in_ns nsenter --net="/var/run/netns/$P" readlink /proc/self/ns/net)" \
		"the namespace nsenter --net=/var/run/netns/$P enters ($P's)" || return 1

	# unshare(1): "--net=file: the namespace is made persistent by creating a bind mount at file"
	run --separate-stderr in_ns unshare --net="/var/run/netns/$P" sh -c 'readlink /proc/self/ns/net; ip -o link | wc -l'
	expect_status 0 "unshare --net=/var/run/netns/$P" || return 1
	new=$(sed -n 1p <<<"$output")
	expect_ne "$pippo" "$new" "the namespace of unshare --net=/var/run/netns/$P (a new one, not $P)" || return 1
	expect_eq 1 "$(sed -n 2p <<<"$output")" "the number of links it sees (lo alone: no veth1)" || return 1
	run in_ns findmnt -rn -o SOURCE "/run/netns/$P"
	expect_eq "nsfs[$pippo]"$'\n'"nsfs[$new]" "$output" "the mounts on /run/netns/$P (the new one over $P's)" || return 1
	expect_eq "$new" "$(in_ns ip netns exec "$P" readlink /proc/self/ns/net)" \
		"the namespace ip netns exec $P enters now (the one on top)" || return 1
	# one ip netns del per mount
	in_ns ip netns del "$P" 2>/dev/null || true
	run --separate-stderr in_ns ip netns del "$P"
	expect_status 0 "the second ip netns del $P" || return 1
}
