#!/usr/bin/env bats
# Step 04: a network namespace of its own, and a veth pair to the host.
#
# Each test makes a network namespace of its own ("the test host") and runs box
# inside it, so the host end of every veth lands there too: nothing is sent
# to any address outside namespaces this file created. A process holds that
# namespace (no bind mount under /run/netns) and dies with the test, even when
# the test is killed: with it goes whatever a failed test left behind.
# Each test also picks a random private /24 for --subnet, so no address can be
# hard-coded: the first box gets its .0/30 (host end .1, container .2).

load helpers
bats_require_minimum_version 1.5.0

setup() {
	require_root
	section "Step 04: network namespaces"
	make_rootfs
	unshare --net setpriv --pdeathsig KILL sleep 3600 </dev/null >/dev/null 2>&1 3>&- &
	HOST_HOLDER=$!
	NETNS=/proc/$HOST_HOLDER/ns/net
	wait_until 5 "a network namespace for the test host" host_ns_ready || return 1
	in_host ip link set lo up
	net=10.$((RANDOM % 250 + 1)).$((RANDOM % 250 + 1))
	SUBNET=$net.0/24 HOST_IP=$net.1 CTR_IP=$net.2
	BG_PIDS=()
}

teardown() {
	for pid in "${BG_PIDS[@]}"; do
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	remove_box_cgroups "${BG_PIDS[@]}"
	stop_host_sleeper
	if [ -n "${ROOTLESS_DIR:-}" ]; then rm -rf "$ROOTLESS_DIR"; fi
	# the veths in it go with it; so do the boxes' ends, as these tests check
	if [ -n "${HOST_HOLDER:-}" ]; then
		kill -9 "$HOST_HOLDER" 2>/dev/null || true
		wait "$HOST_HOLDER" 2>/dev/null || true
	fi
}

# the holder has left the runner's network namespace for one of its own
host_ns_ready() {
	local ns
	ns=$(readlink "$NETNS") && [ "$ns" != "$(readlink /proc/self/ns/net)" ]
}

# in_host CMD...: run CMD in the test host (its network namespace only)
in_host() {
	nsenter --net="$NETNS" "$@"
}

# run_box_here ARGS...: run_box inside the test host
run_box_here() {
	run --separate-stderr timeout --kill-after=5 "$BOX_TIMEOUT" \
		nsenter --net="$NETNS" "$BOX" "$@"
	if [ "$status" = 124 ]; then
		echo "expected box to finish within ${BOX_TIMEOUT}s, got a hang (killed it)"
	fi
}

# start_box NAME ARGS...: box in the background in the test host; its output
# goes to $BATS_TEST_TMPDIR/NAME.out and .err, its PID (box's own) to BOX_PID
start_box() {
	local name=$1
	shift
	nsenter --net="$NETNS" "$BOX" "$@" \
		>"$BATS_TEST_TMPDIR/$name.out" 2>"$BATS_TEST_TMPDIR/$name.err" </dev/null 3>&- &
	BOX_PID=$!
	BG_PIDS+=("$BOX_PID")
}

# wait_until SECONDS WHAT CMD...: poll CMD every 0.1 s; fail saying WHAT on timeout
wait_until() {
	local seconds=$1 what=$2 i
	shift 2
	for ((i = 0; i < seconds * 10; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "expected $what within ${seconds}s, got nothing"
	return 1
}

# the veth links of the test host, one name a line
host_veths() {
	in_host ip -o link show type veth | sed -E 's/^[0-9]+: ([^@:]+).*/\1/'
}

link_is_up() {
	in_host ip -o link show dev "$1" | grep -q ',UP'
}

has_veth() {
	[ -n "$(host_veths)" ]
}

no_veth_left() {
	[ -z "$(host_veths)" ]
}

# expect_line LINE TEXT WHAT: TEXT has LINE as one of its lines
expect_line() {
	if ! grep -Fxq -- "$1" <<<"$2"; then
		echo "expected $3 to have the line '$1', got '$2'"
		return 1
	fi
}

# a non-tentative IPv6 link-local address on DEV of the test host
host_link_local() {
	in_host ip -6 -o addr show dev "$1" scope link |
		grep -v tentative | sed -nE 's/.* inet6 (fe80::[0-9a-f:]+)\/64.*/\1/p'
}

has_link_local() {
	[ -n "$(host_link_local "$1")" ]
}

# The end of each box's output, for the log of a failure.
show_box() {
	echo "--- output of the box $1:"
	cat "$BATS_TEST_TMPDIR/$1.out" "$BATS_TEST_TMPDIR/$1.err" 2>/dev/null
}

# exercise: 04.1 04.2 04.3 05.4 05.5
@test "the container has eth0 with .2 of its /30 of --subnet, lo, and a default route via the host end" {
	hint "clone the child with CLONE_NEWNET; create the veth (04.2) and configure the inside (04.3)"
	run_box_here --subnet "$SUBNET" "$ROOTFS" /bin/sh -c 'echo $(probe links); probe addrs; ip -4 route show default'
	expect_status 0 "probe links/addrs and ip route to run" || return 1
	expect_eq "lo eth0" "$(sed -n 1p <<<"$output")" "the links the container sees" || { show_run; return 1; }
	expect_line "eth0 $CTR_IP/30" "$output" "the addresses inside" || return 1
	expect_line "lo 127.0.0.1/8" "$output" "the addresses inside" || return 1
	expect_match "default via $HOST_IP dev eth0" "$output" "the default route inside" || return 1
}

# exercise: 04.1 04.2 04.3 05.4 05.5
@test "the slides' rootfs (busybox alone): eth0 and its address inside" {
	hint "box makes the missing mount points; the network needs nothing from the rootfs"
	make_bare_rootfs
	run_box_here --subnet "$SUBNET" "$BARE" /busybox ip -4 -o addr show dev eth0
	expect_status 0 "busybox ip to run in a root that had only /busybox" || { show_run; return 1; }
	expect_match "inet $CTR_IP/30" "$output" "the address of eth0 inside" || return 1
}

# exercise: 04.1 04.2 05.4 05.5
@test "the host end is in the host, up, with .1 of the container's /30" {
	hint "veth_create: the host end gets the first address of the /30 and is set up (ip link set ... up)"
	start_box ctr --subnet "$SUBNET" "$ROOTFS" /bin/probe sleep 20
	wait_until 10 "a veth in the test host" has_veth || { show_box ctr; return 1; }
	name=$(host_veths)
	expect_match "^[^ ]+$" "$name" "the host end's name (one veth)" || return 1
	wait_until 5 "$name to be up" link_is_up "$name" || return 1
	addr=$(in_host ip -4 -o addr show dev "$name" | awk '{print $4}')
	expect_eq "$HOST_IP/30" "$addr" "the host end's address" || return 1
}

# exercise: 04.1 04.2 04.3 05.4 05.5
@test "IPv4: the container pings its host end, the host end pings the container" {
	hint "both ends must be up with addresses of the same /30: host end .1 (veth_create), eth0 .2 (04.3)"
	run_box_here --subnet "$SUBNET" "$ROOTFS" /bin/ping -c 1 -W 5 "$HOST_IP"
	expect_status 0 "ping $HOST_IP (the host end) from the container to succeed" || return 1
	expect_match "1 packets received" "$output" "ping's report" || return 1
	# the first box's host end goes with its namespace; then the next one gets .2 again
	wait_until 5 "the first box's veth to be gone" no_veth_left || return 1

	start_box ctr --subnet "$SUBNET" "$ROOTFS" /bin/probe sleep 20
	wait_until 10 "a veth in the test host" has_veth || { show_box ctr; return 1; }
	wait_until 10 "the container ($CTR_IP) to answer the host's ping" \
		in_host busybox ping -c 1 -W 1 "$CTR_IP" || { show_box ctr; return 1; }
}

# exercise: 04.1 04.2 04.3 05.4 05.5
@test "TCP: the container connects to a server on the host end" {
	hint "eth0 needs its address and the link must be up on both sides; the server listens on the host"
	port=$((RANDOM % 20000 + 20000)) word=$(random_word)
	in_host "$REPO/build/probe" tcp-echo "$port" 20 >"$BATS_TEST_TMPDIR/server.out" 2>&1 3>&- &
	BG_PIDS+=($!)
	wait_until 5 "the test server to listen" grep -q listening "$BATS_TEST_TMPDIR/server.out" || return 1
	run_box_here --subnet "$SUBNET" "$ROOTFS" /bin/probe tcp-send "$HOST_IP" "$port" "$word" 10
	expect_status 0 "the TCP client in the container to reach $HOST_IP:$port" || return 1
	expect_eq "$word" "$output" "what the server on the host end echoed back" || return 1
}

# exercise: 04.1 04.2 04.3 05.4 05.5
@test "TCP: the host end connects to a server in the container" {
	hint "the container's eth0 answers on .2 of its /30 once it is configured (04.3)"
	port=$((RANDOM % 20000 + 20000)) word=$(random_word)
	start_box ctr --subnet "$SUBNET" "$ROOTFS" /bin/probe tcp-echo "$port" 20
	wait_until 10 "the server in the container to listen" grep -q listening "$BATS_TEST_TMPDIR/ctr.out" ||
		{ show_box ctr; return 1; }
	run in_host "$REPO/build/probe" tcp-send "$CTR_IP" "$port" "$word" 10
	expect_status 0 "the host's TCP client to reach $CTR_IP:$port" || { show_box ctr; return 1; }
	expect_eq "$word" "$output" "what the server in the container echoed back" || return 1
	wait "$BOX_PID"
	expect_eq 0 "$?" "box's exit status after one echoed connection" || { show_box ctr; return 1; }
}

# exercise: 04.1 04.2 04.3 05.4 05.5
@test "IPv6 link-local: ping6 fe80::...%eth0 both ways, as in the talk" {
	hint "IPv6 gives every link that is up a fe80:: address: both ends up is enough, no address to add"
	# the container waits for its own fe80:: address to be usable, writes it
	# down, waits for the host end's, and pings it; the host pings back
	start_box ctr --subnet "$SUBNET" "$ROOTFS" /bin/sh -c '
		n=0
		until ip -6 -o addr show dev eth0 scope link | grep fe80 | grep -vq tentative; do
			n=$((n + 1)); [ $n -lt 100 ] || { echo "eth0 got no fe80:: address"; exit 90; }; sleep 0.1
		done
		ip -6 -o addr show dev eth0 scope link | sed -n "s/.* inet6 \(fe80::[0-9a-f:]*\)\/64.*/\1/p" >/ll.tmp
		mv /ll.tmp /ll
		n=0
		until [ -s /host-ll ]; do
			n=$((n + 1)); [ $n -lt 200 ] || { echo "no host address came"; exit 91; }; sleep 0.1
		done
		ping6 -c 1 -w 5 "$(cat /host-ll)%eth0" || exit 92
		n=0
		until [ -e /done ]; do n=$((n + 1)); [ $n -lt 200 ] || exit 93; sleep 0.1; done'
	wait_until 10 "a veth in the test host" has_veth || { show_box ctr; return 1; }
	end=$(host_veths)
	wait_until 10 "a usable fe80:: address on the host end $end" has_link_local "$end" || return 1
	wait_until 10 "the container to report its fe80:: address" test -s "$ROOTFS/ll" || { show_box ctr; return 1; }
	ctr_ll=$(cat "$ROOTFS/ll")
	expect_match "^fe80::" "$ctr_ll" "the container's link-local address" || return 1
	host_link_local "$end" >"$ROOTFS/host-ll.tmp" && mv "$ROOTFS/host-ll.tmp" "$ROOTFS/host-ll"
	run in_host busybox ping6 -c 1 -w 5 "$ctr_ll%$end"
	expect_status 0 "ping6 $ctr_ll%$end (the container) from the host end to succeed" || { show_box ctr; return 1; }
	touch "$ROOTFS/done"
	wait "$BOX_PID"
	rc=$?
	expect_eq 0 "$rc" "the container's ping6 of the host end's fe80:: address (exit 0)" || { show_box ctr; return 1; }
	expect_match "1 packets received" "$(cat "$BATS_TEST_TMPDIR/ctr.out")" "the container's ping6 report" ||
		{ show_box ctr; return 1; }
}

# exercise: 04.1 04.2 04.3 05.4 05.5
@test "lo is up inside: 127.0.0.1 answers" {
	hint "a new network namespace has only lo, and down: ip link set lo up (RTM_NEWLINK, IFF_UP) inside (04.3)"
	port=$((RANDOM % 20000 + 20000)) word=$(random_word)
	run_box_here --subnet "$SUBNET" "$ROOTFS" /bin/sh -c \
		"probe tcp-echo $port 10 >/tmp/server & probe tcp-send 127.0.0.1 $port $word 5"
	expect_status 0 "a TCP connection to 127.0.0.1 inside" || return 1
	expect_eq "$word" "$output" "what came back over lo" || return 1
}

# exercise: 04.1 05.4 05.5
@test "--network none: a network namespace with only lo" {
	hint "--network none: CLONE_NEWNET still, lo up, but no veth"
	host_ns=$(in_host readlink /proc/self/ns/net)
	run_box_here --network none "$ROOTFS" /bin/sh -c 'probe links; probe ns net; ping -c 1 -W 2 127.0.0.1 >/tmp/ping && echo lo-works'
	expect_status 0 "box --network none to run" || return 1
	expect_eq "lo" "$(sed -n 1p <<<"$output")" "the only link with --network none" || { show_run; return 1; }
	expect_match "^net:\[[0-9]+\]$" "$(sed -n 2p <<<"$output")" "the container's network namespace" || return 1
	expect_ne "$host_ns" "$(sed -n 2p <<<"$output")" "the container's network namespace (vs the host's)" || return 1
	expect_eq "lo-works" "$(sed -n 3p <<<"$output")" "ping 127.0.0.1 inside" || return 1
	expect_eq "" "$(host_veths)" "the veths of the test host with --network none" || return 1
}

# exercise: 04.1 05.4 05.5
@test "--network host: the host's links and addresses, no veth" {
	hint "--network host: no CLONE_NEWNET, nothing to create"
	dummy=d$(random_word | cut -c1-8)
	in_host ip link add "$dummy" type dummy 2>/dev/null || in_host ip link add "$dummy" type bridge ||
		skip "requires the dummy or bridge link type"
	in_host ip addr add "$CTR_IP/24" dev "$dummy"
	run_box_here --network host "$ROOTFS" /bin/sh -c 'probe links; probe addrs'
	expect_status 0 "box --network host to run" || return 1
	expect_line "$dummy" "$output" "the links seen with --network host (the test host's $dummy)" || return 1
	expect_line "$dummy $CTR_IP/24" "$output" "the addresses seen with --network host" || return 1
	expect_eq "" "$(host_veths)" "the veths of the test host with --network host" || return 1
}

# exercise: 04.1 04.2 05.4 05.5
@test "the host end disappears when the container ends" {
	hint "nothing to delete: the kernel destroys the veth pair with the container's network namespace"
	run_box_here --subnet "$SUBNET" "$ROOTFS" /bin/probe links
	expect_status 0 "box to run" || return 1
	expect_match "eth0" "$output" "the container's links (eth0, so a veth was made)" || return 1
	wait_until 5 "the veth to be gone from the test host" no_veth_left || { host_veths; return 1; }
}

# exercise: 04.1 04.2 05.4 05.5
@test "the host end disappears after SIGKILL of box" {
	hint "the child must die with box (PR_SET_PDEATHSIG): then its network namespace, and the veth, go too"
	start_box ctr --subnet "$SUBNET" "$ROOTFS" /bin/probe sleep 60
	wait_until 10 "a veth in the test host" has_veth || { show_box ctr; return 1; }
	kill -9 "$BOX_PID"
	wait "$BOX_PID" 2>/dev/null || true
	wait_until 10 "the veth to be gone after kill -9 of box" no_veth_left || { host_veths; return 1; }
}

# exercise: 04.1 04.2 04.3 05.4 05.5
@test "two boxes at once: different /30s and host ends; each other's only as routed" {
	hint "pick a /30 no address of the host uses; the host end's name veth-box<slot> is the lock"
	in_host sh -c 'echo 0 >/proc/sys/net/ipv4/ip_forward'
	wait_for='n=0; until [ -e /$1 ]; do n=$((n + 1)); [ $n -lt 300 ] || exit 93; sleep 0.1; done'
	start_box a --subnet "$SUBNET" "$ROOTFS" /bin/sh -c "
		wait_for() { $wait_for; }
		probe addrs >/a.tmp; mv /a.tmp /a; wait_for done"
	wait_until 10 "box a to report its addresses" test -s "$ROOTFS/a" || { show_box a; return 1; }
	a_ip=$(sed -nE 's/^eth0 ([0-9.]+)\/30$/\1/p' "$ROOTFS/a")
	expect_match "^${HOST_IP%.1}\.[0-9]+$" "$a_ip" "box a's eth0 address, in $SUBNET" || { show_box a; return 1; }
	a_gw=${a_ip%.*}.$((${a_ip##*.} - 1))

	# box b pings a's host end (the host owns that address: b's default route
	# gets there) and a's eth0 (the host does not forward: no way there); then,
	# once the host forwards, a's eth0 again
	start_box b --subnet "$SUBNET" "$ROOTFS" /bin/sh -c "
		wait_for() { $wait_for; }
		probe addrs >/b.tmp; mv /b.tmp /b
		{ ping -c 1 -W 5 $a_gw >/tmp/ping && echo a-host-end:yes || echo a-host-end:no
		  ping -c 1 -W 1 $a_ip >/tmp/ping && echo a-eth0:yes || echo a-eth0:no; } >/b-saw.tmp
		mv /b-saw.tmp /b-saw
		wait_for forwarding
		ping -c 1 -W 5 $a_ip"
	wait_until 10 "box b to report its addresses" test -s "$ROOTFS/b" || { show_box b; return 1; }
	b_ip=$(sed -nE 's/^eth0 ([0-9.]+)\/30$/\1/p' "$ROOTFS/b")
	expect_match "^${HOST_IP%.1}\.[0-9]+$" "$b_ip" "box b's eth0 address, in $SUBNET" || { show_box b; return 1; }
	expect_ne "$((${a_ip##*.} / 4))" "$((${b_ip##*.} / 4))" "box b's /30 ($b_ip; box a has $a_ip)" || return 1
	ends=$(host_veths | sort -u | wc -l)
	expect_eq 2 "$ends" "the number of host ends (veths with different names) in the test host" || { host_veths; return 1; }

	wait_until 15 "box b to try its pings" test -s "$ROOTFS/b-saw" || { show_box b; return 1; }
	expect_eq "a-host-end:yes" "$(sed -n 1p "$ROOTFS/b-saw")" "box b reaching box a's host end $a_gw" || { show_box b; return 1; }
	expect_eq "a-eth0:no" "$(sed -n 2p "$ROOTFS/b-saw")" "box b reaching box a's eth0 $a_ip while the host does not forward" || return 1

	in_host sh -c 'echo 1 >/proc/sys/net/ipv4/ip_forward'
	touch "$ROOTFS/forwarding"
	wait "$BOX_PID"
	rc=$?
	expect_eq 0 "$rc" "box b's ping of box a's eth0 $a_ip once the host forwards (exit 0)" || { show_box b; return 1; }
	touch "$ROOTFS/done"
}

# exercise: 04.1 04.2 04.3 05.4 05.5
@test "a /30 the host already uses (an address, a route) is skipped" {
	hint "read the host's addresses and routes (RTM_GETADDR, RTM_GETROUTE): a /30 overlapping one is taken"
	in_host ip addr add "${HOST_IP%.1}.1/32" dev lo
	in_host ip route add blackhole "${HOST_IP%.1}.4/30"
	run_box_here --subnet "$SUBNET" "$ROOTFS" /bin/probe addrs
	expect_status 0 "box to run" || return 1
	expect_line "eth0 ${HOST_IP%.1}.10/30" "$output" \
		"the addresses inside (.0/30 has a host address, .4/30 a route: the first free /30 is .8)" || return 1
}

# exercise: 04.1 05.1 05.2 05.3 05.4 05.5 05.6 05.7 05.8 05.9
@test "rootless: a network namespace with only lo, and --network veth says it needs root" {
	hint "not root: default to --network none (lo up inside); a veth needs root on the host"
	setpriv --reuid=65534 --regid=65534 --clear-groups unshare --user true 2>/dev/null ||
		skip "requires unprivileged user namespaces"
	ROOTLESS_DIR=$(mktemp -d /tmp/box-rootless.XXXXXX)
	chmod 755 "$ROOTLESS_DIR"
	install -m 755 "$BOX" "$ROOTLESS_DIR/box"
	cp -a "$ROOTFS" "$ROOTLESS_DIR/rootfs"
	port=$((RANDOM % 20000 + 20000)) word=$(random_word)
	run --separate-stderr timeout --kill-after=5 "$BOX_TIMEOUT" nsenter --net="$NETNS" \
		setpriv --reuid=65534 --regid=65534 --clear-groups "$ROOTLESS_DIR/box" "$ROOTLESS_DIR/rootfs" \
		/bin/sh -c "echo \$(probe links); probe tcp-echo $port 10 >/tmp/server & probe tcp-send 127.0.0.1 $port $word 5"
	expect_status 0 "a rootless box to run with its own lo" || return 1
	expect_eq "$(printf 'lo\n%s' "$word")" "$output" "the links of a rootless box, and what came back over its lo" || return 1
	run --separate-stderr timeout --kill-after=5 "$BOX_TIMEOUT" nsenter --net="$NETNS" \
		setpriv --reuid=65534 --regid=65534 --clear-groups "$ROOTLESS_DIR/box" --network veth \
		"$ROOTLESS_DIR/rootfs" /bin/true
	expect_status 125 "box's own error for a rootless --network veth" || return 1
	expect_stderr_says "needs root" "the error to say a veth needs root" || return 1
	expect_eq "" "$(host_veths)" "the veths of the test host after rootless runs" || return 1
}

@test "bad --network and --subnet values are rejected with a clear error" {
	hint "accept --network veth|none|host, and --subnet as a private IPv4 ADDRESS/PREFIX (8..30)"
	run_box_here --network bridge "$ROOTFS" /bin/true
	expect_status 125 "box's own error for --network bridge" || return 1
	expect_stderr_says "bridge" "the error to name the bad mode" || return 1
	for bad in 8.8.8.0/24 10.1.2.3/24 10.0.0.0/31 10.0.0.0 nonsense/16; do
		run_box_here --subnet "$bad" "$ROOTFS" /bin/true
		expect_status 125 "box's own error for --subnet $bad" || return 1
		expect_stderr_says "$bad" "the error to name --subnet $bad" || return 1
	done
	expect_eq "" "$(host_veths)" "the veths left by rejected runs" || return 1
}

# exercise: 04.1 04.2 04.3 05.4 05.5
@test "-v narrates each netlink request as the ip command that does the same" {
	hint "say(\"RTM_NEWLINK ...\", \"ip link add ... type veth peer name eth0 netns PID\") before each request"
	run_box_here -v --subnet "$SUBNET" "$ROOTFS" /bin/true
	expect_status 0 "box -v to run" || return 1
	expect_match "ip link add veth-box[0-9]+ type veth peer name eth0 netns [0-9]+" "$stderr" "the narration of the veth" || return 1
	expect_match "ip addr add $HOST_IP/30 dev veth-box" "$stderr" "the narration of the host end's address" || return 1
	expect_match "ip link set lo up" "$stderr" "the narration of lo" || return 1
	expect_match "ip addr add $CTR_IP/30 dev eth0" "$stderr" "the narration of eth0's address" || return 1
	expect_match "ip route add default via $HOST_IP" "$stderr" "the narration of the default route" || return 1
}
