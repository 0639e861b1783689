#!/usr/bin/env bats
# Step 05, networking: the bridge mini0 (the default network of run), an
# address per container from leases kept on disk under a lock, peers found by
# name through /etc/hosts, and -p HOSTPORT:CTRPORT published by a userspace
# proxy in the monitor, reachable from the host's loopback and from other
# network namespaces.
#
# Networks of the user's (network create NAME, run --network NAME): a bridge
# each, a subnet each, names resolved on one network only, isolated from each
# other and from mini0, and nothing left after network rm.
#
# "The host" of these tests is a network namespace each test makes ($NETNS):
# mini-docker runs there through nsenter --net, and every address used is
# inside it or inside a second namespace the test makes ($PEER).

bats_require_minimum_version 1.5.0
load helpers

: "${MINI_DOCKER:=$REPO/steps/05-mini-docker/mini-docker}"

setup() {
	require_root
	section "Step 05: mini-docker, run"
	make_rootfs
	ROOT=$BATS_TEST_TMPDIR/store
	NETNS=md-net-$(random_word)
	PEER=
	ip netns add "$NETNS"
	ip -n "$NETNS" link set lo up
	# a new namespace copies the IPv4 settings of the machine's own (devconf_inherit_init_net=0):
	# where Docker or podman made it forward, so would ours. These tests' host does not, until one says so
	ip netns exec "$NETNS" sysctl -qw net.ipv4.ip_forward=0
	PROBE=$ROOTFS_SRC/bin/probe
}

teardown() {
	local pid store
	for store in "$ROOT" "${ROOT2:-}"; do
		[ -d "$store/containers" ] || continue
		# shellcheck disable=SC2046
		ROOT=$store md rm -f $(ROOT=$store md ps -aq) >/dev/null 2>&1 || true
	done
	if [ -d "$ROOT/networks" ]; then
		# shellcheck disable=SC2046
		md network rm $(ls "$ROOT/networks") >/dev/null 2>&1 || true
	fi
	# a monitor that survived rm (a failed test) names a store of this test on its command line
	for pid in $(ps -eo pid=,args= | awk -v r="$BATS_TEST_TMPDIR" 'index($0, r) && !/awk/ {print $1}'); do
		kill -9 "$pid" 2>/dev/null || true
	done
	[ -z "$PEER" ] || ip netns del "$PEER" 2>/dev/null || true
	ip netns del "$NETNS" 2>/dev/null || true
}

md() {
	timeout --kill-after=5 30 nsenter --net="/run/netns/$NETNS" "$MINI_DOCKER" --root "$ROOT" "$@"
}

run_md() {
	run --separate-stderr md "$@"
}

# in_host CMD...: CMD in the test's host namespace
in_host() {
	nsenter --net="/run/netns/$NETNS" "$@"
}

field() {
	md inspect "$1" | sed -n "s/^ *\"$2\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}$/\1/p" | head -n1
}

# a port from a range nothing else in this namespace uses
random_port() {
	echo $((20000 + RANDOM % 20000))
}

# exercise: 05.4 05.5 05.9
@test "run puts a container on the bridge mini0: an IPv4 and an IPv6 address, a default route" {
	run_md run --rm --rootfs "$ROOTFS" probe addrs
	expect_status 0 "run on the default network" || return 1
	expect_match 'eth0 10\.88\.[0-9]+\.[0-9]+/16' "$output" "the container's IPv4 address" || return 1
	if [ -d /proc/sys/net/ipv6 ]; then
		expect_match 'eth0 fd00:88::[0-9a-f:]+/64' "$output" "the container's IPv6 (ULA) address" || return 1
	fi
	run_md run --rm --rootfs "$ROOTFS" ip route
	expect_match 'default via 10\.88\.0\.1 dev eth0' "$output" "the container's default route (the bridge)" || return 1
	# the last container out takes the bridge with it
	run in_host ip -o link show
	[[ $output != *mini0* ]] || { echo "expected mini0 gone after the last container, got: $output"; return 1; }
}

# exercise: 05.4 05.5 05.7 05.8 05.9
@test "two containers talk over TCP by name (each /etc/hosts lists its peers)" {
	word=$(random_word)
	md run -d --name "srv-$word" --network-alias "db-$word" --rootfs "$ROOTFS" probe tcp-echo 7000 30 >/dev/null
	md run -d --name "cli-$word" --rootfs "$ROOTFS" sleep 60 >/dev/null
	run md exec "cli-$word" cat /etc/hosts
	expect_match "$(field "srv-$word" IPAddress)[[:space:]]+srv-$word db-$word" "$output" \
		"the client's /etc/hosts line for the server (name and alias)" || return 1
	run md exec "cli-$word" sh -c "echo $word | nc -w 5 db-$word 7000"
	expect_eq "$word" "$output" "the server's echo, reached by its alias" || {
		hint "ipam.c writes ROOT/containers/ID/hosts for every container on the bridge; run binds it at /etc/hosts"
		return 1
	}
}

# exercise: 05.4 05.5 05.8 05.9
@test "20 concurrent run -d get 20 distinct addresses; rm frees them" {
	pids=()
	# sleep 600: on a loaded machine the twenty runs (one at a time under the lock) may take
	# over a minute, and a container that has ended gives its address back, as docker's
	for i in $(seq 1 20); do
		md run -d --rootfs "$ROOTFS" sleep 600 >"$BATS_TEST_TMPDIR/id$i" 2>&1 &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p"; done
	ips=()
	for i in $(seq 1 20); do
		id=$(cat "$BATS_TEST_TMPDIR/id$i")
		expect_match '^[0-9a-f]{64}$' "$id" "run -d number $i's output" || return 1
		ips+=("$(field "$id" IPAddress)")
	done
	run bash -c 'printf "%s\n" "$@" | sort -u | wc -l' _ "${ips[@]}"
	expect_eq 20 "$output" "distinct addresses among ${ips[*]}" || {
		md ps -a >&2
		hint "ipam.c takes flock on the leases file before it reads, picks and writes"
		return 1
	}
	# rm frees an address: the next container gets the lowest free one again
	first=$(cat "$BATS_TEST_TMPDIR/id1")
	ip1=$(field "$first" IPAddress)
	md rm -f "$first" >/dev/null
	id=$(md run -d --rootfs "$ROOTFS" sleep 600)
	expect_eq "$ip1" "$(field "$id" IPAddress)" "the address of a new container after rm freed $ip1"
}

# exercise: 05.4 05.5 05.8 05.9
@test "two stores share the bridge of one namespace: distinct addresses, and one's rm leaves the other's network" {
	word=$(random_word)
	ROOT2=$BATS_TEST_TMPDIR/store2
	a=$(md run -d --rootfs "$ROOTFS" sleep 60)
	b=$(ROOT=$ROOT2 md run -d --rootfs "$ROOTFS" probe tcp-echo 7000 30)
	ipb=$(ROOT=$ROOT2 field "$b" IPAddress)
	expect_ne "$(field "$a" IPAddress)" "$ipb" "the second store's address" || {
		hint "the leases belong to the bridge's network namespace, not to a store"
		return 1
	}
	md rm -f "$a" >/dev/null
	run in_host "$PROBE" tcp-send "$ipb" 7000 "$word" 10
	expect_eq "$word" "$output" "the other store's container, reached after the first store's last rm"
}

# exercise: 05.4 05.5 05.9
@test "/etc/resolv.conf comes from the host" {
	run_md run --rm --rootfs "$ROOTFS" cat /etc/resolv.conf
	expect_status 0 "run cat /etc/resolv.conf" || return 1
	want=$(grep -E '^nameserver' /etc/resolv.conf | grep -vE 'nameserver (127\.|::1)' || true)
	got=$(grep -E '^nameserver' <<<"$output" || true)
	expect_eq "$want" "$got" "the container's nameservers (the host's, without loopback ones)"
}

# exercise: 05.4 05.5 05.8 05.9
@test "a published port answers from the host's loopback" {
	word=$(random_word)
	port=$(random_port)
	md run -d -p "$port:7000" --rootfs "$ROOTFS" probe tcp-echo 7000 30 >/dev/null
	run md ps
	expect_match "0\.0\.0\.0:$port->7000/tcp" "$output" "ps's PORTS column" || return 1
	# the proxy accepts at once, and closes the connection while the container's server
	# does not listen yet (a loaded machine, a sanitizer build): try again, for 15 s
	local end=$((SECONDS + 15))
	while :; do
		run in_host "$PROBE" tcp-send 127.0.0.1 "$port" "$word" 10
		{ [ "$output" = "$word" ] || [ "$SECONDS" -ge "$end" ]; } && break
		sleep 0.2
	done
	expect_eq "$word" "$output" "the echo through 127.0.0.1:$port" || {
		hint "ports.c: the monitor listens on HOSTPORT and copies each connection to CONTAINER-IP:CTRPORT"
		return 1
	}
}

# exercise: 05.4 05.5 05.8 05.9
@test "a published port answers from another network namespace" {
	word=$(random_word)
	port=$(random_port)
	PEER=md-peer-$(random_word)
	ip netns add "$PEER"
	ip -n "$PEER" link set lo up
	net=10.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1))
	ip -n "$NETNS" link add mdpeer0 type veth peer name mdpeer1 netns "$PEER"
	ip -n "$NETNS" addr add "$net.1/30" dev mdpeer0
	ip -n "$NETNS" link set mdpeer0 up
	ip -n "$PEER" addr add "$net.2/30" dev mdpeer1
	ip -n "$PEER" link set mdpeer1 up
	md run -d -p "$port:7000" --rootfs "$ROOTFS" probe tcp-echo 7000 30 >/dev/null
	local end=$((SECONDS + 15))
	while :; do # until the container's server listens (see above)
		run nsenter --net="/run/netns/$PEER" "$PROBE" tcp-send "$net.1" "$port" "$word" 10
		{ [ "$output" = "$word" ] || [ "$SECONDS" -ge "$end" ]; } && break
		sleep 0.2
	done
	expect_eq "$word" "$output" "the echo through $net.1:$port from another namespace"
}

# exercise: 05.4 05.5 05.8 05.9
@test "-p 127.0.0.1:HOSTPORT:CTRPORT listens on that address only; a port in use fails the run" {
	port=$(random_port)
	md run -d -p "127.0.0.1:$port:7000" --rootfs "$ROOTFS" probe tcp-echo 7000 30 >/dev/null
	run in_host ss -Htln "sport = :$port"
	expect_match "127\.0\.0\.1:$port" "$output" "the listening socket (bound to 127.0.0.1 only)" || return 1
	run_md run -d -p "$port:80" --rootfs "$ROOTFS" sleep 5
	expect_status 125 "a second container on the same host port" || return 1
	expect_stderr_says "in use" "the reason"
}

# exercise: 05.4 05.5 05.8 05.9
@test "after rm -f nothing of the network remains: no link, no listening port, no lease" {
	port=$(random_port)
	for i in 1 2; do md run -d -p "$((port + i)):7000" --rootfs "$ROOTFS" sleep 60 >/dev/null; done
	run in_host ip -o link show
	expect_match "mini0" "$output" "the bridge while containers run" || return 1
	# shellcheck disable=SC2046
	md rm -f $(md ps -aq) >/dev/null
	run in_host ip -o link show
	expect_eq 1 "${#lines[@]}" "links left (lo only): $output" || return 1
	run in_host ss -Htln
	[[ $output != *":$((port + 1)) "* && $output != *":$((port + 2)) "* ]] || {
		echo "expected the published ports closed after rm -f, got: $output"
		return 1
	}
	if command -v iptables >/dev/null; then
		run in_host iptables -w -t nat -S POSTROUTING
		[[ $output != *10.88.0.0* ]] || { echo "expected no NAT rule left, got: $output"; return 1; }
	fi
	leases=/run/mini-docker/bridge/leases-$(stat -L -c %i "/run/netns/$NETNS")
	[ ! -e "$leases" ] || { echo "expected no leases left, got $leases: $(cat "$leases")"; return 1; }
}

# exercise: 05.4 05.5 05.8 05.9
@test "outbound NAT only when the host already forwards, and gone with the bridge" {
	command -v iptables >/dev/null || skip "requires iptables"
	id=$(md run -d --rootfs "$ROOTFS" sleep 60)
	run in_host iptables -w -t nat -S POSTROUTING
	[[ $output != *MASQUERADE* ]] || { echo "expected no NAT rule on a host that does not forward, got: $output"; return 1; }
	md rm -f "$id" >/dev/null
	# this namespace's own sysctl: the test's "host" forwards now
	in_host sysctl -qw net.ipv4.ip_forward=1
	id=$(md run -d --rootfs "$ROOTFS" sleep 60)
	run in_host iptables -w -t nat -S POSTROUTING
	expect_match "-s 10\.88\.0\.0/16 ! -o mini0 -j MASQUERADE" "$output" "the NAT rule on a forwarding host" || return 1
	md rm -f "$id" >/dev/null
	run in_host iptables -w -t nat -S POSTROUTING
	[[ $output != *MASQUERADE* ]] || { echo "expected the NAT rule gone with the last container, got: $output"; return 1; }
}

# exercise: 05.4 05.5
@test "--network none, host and veth still work as in step 04" {
	run_md run --rm --network none --rootfs "$ROOTFS" probe links
	expect_eq "lo" "$output" "the links with --network none" || return 1
	# host before veth: a veth's host end goes with the container's netns, which the
	# kernel cleans up asynchronously, a moment after the run returns
	run_md run --rm --network host --rootfs "$ROOTFS" probe links
	expect_eq "lo" "$output" "the links with --network host (the test host's: only lo)" || return 1
	run_md run --rm --network host --rootfs "$ROOTFS" probe hostname
	expect_eq "$(hostname)" "$output" "the hostname with --network host (the host's, as docker's)" || return 1
	run_md run --rm --network host -h "h-x" --rootfs "$ROOTFS" probe hostname
	expect_eq "h-x" "$output" "the hostname with --network host -h h-x" || return 1
	run_md run --rm --network veth --rootfs "$ROOTFS" probe addrs
	expect_match 'eth0 10\.200\.[0-9]+\.[0-9]+/30' "$output" "eth0 with --network veth"
}

# exercise: 05.4 05.5
@test "ping_group_range lets every group open ICMP echo sockets inside, as Docker's; the host's stays" {
	hint "ns.c: write net.ipv4.ping_group_range in the child, once it is in its own network namespace"
	before=$(nsenter --net="/run/netns/$NETNS" cat /proc/sys/net/ipv4/ping_group_range)
	for net in none veth; do
		run_md run --rm --network "$net" -u 1234 --rootfs "$ROOTFS" cat /proc/sys/net/ipv4/ping_group_range
		expect_eq "$(printf '0\t2147483647')" "$output" "ping_group_range inside (--network $net)" || return 1
	done
	expect_eq "$before" "$(nsenter --net="/run/netns/$NETNS" cat /proc/sys/net/ipv4/ping_group_range)" \
		"the host's ping_group_range after the runs"
}

# exercise: 05.4 05.5 05.9
@test "/etc/hostname, /etc/hosts and /etc/resolv.conf are the container's own in every network mode, as docker's" {
	hint "lifecycle.c etc_files: write them in ROOT/containers/ID and bind them over the image's, whatever the network"
	word=$(random_word)
	for net in none veth; do
		run_md run --rm --network "$net" -h "h-$word" --rootfs "$ROOTFS" sh -c 'cat /etc/hostname; grep -c localhost /etc/hosts; grep -c . /etc/resolv.conf || true'
		expect_status 0 "run --network $net" || return 1
		expect_eq "h-$word" "${lines[0]}" "/etc/hostname with --network $net -h h-$word" || return 1
		expect_match '^[1-9]' "${lines[1]}" "the localhost lines of /etc/hosts with --network $net" || return 1
	done
	run_md run --rm --network host --rootfs "$ROOTFS" cat /etc/hosts
	expect_eq "$(cat /etc/hosts)" "$output" "/etc/hosts with --network host (the host's)" || return 1
	run_md run --rm --rootfs "$ROOTFS" sh -c 'cat /etc/hostname; hostname'
	expect_eq "${lines[1]}" "${lines[0]}" "/etc/hostname on the bridge (the container's hostname, the short id)" || return 1
	expect_eq box "$(cat "$ROOTFS/etc/hostname")" "the rootfs's own /etc/hostname after the runs (bound over, never written)"
}

# no link but lo, no iptables rule of ours, no network record: what network rm must leave
expect_no_network_left() {
	run in_host ip -o link show
	expect_eq 1 "${#lines[@]}" "links left ($1; lo only): $output" || return 1
	if command -v iptables >/dev/null; then
		run in_host sh -c 'iptables -w -S FORWARD; iptables -w -t nat -S POSTROUTING'
		[[ $output != *md-* && $output != *10.89.* ]] || { echo "expected no rule of a network left ($1), got: $output"; return 1; }
	fi
	run ls -A "$ROOT/networks"
	expect_eq "" "$output" "the network records left in the store ($1)"
}

# exercise: 05.4 05.5 05.8 05.9
@test "network create: a bridge and a subnet of its own; a name resolves on its network only; rm of a network in use fails, then leaves nothing" {
	word=$(random_word)
	id1=$(md network create "n1-$word")
	id2=$(md network create "n2-$word")
	expect_match '^[0-9a-f]{64}$' "$id1" "network create's output (the ID)" || return 1
	run md network ls
	expect_match "${id1:0:12} +n1-$word +bridge +10\.89\.[0-9]+\.0/24" "$output" "network ls: the first network" || return 1
	expect_match "${id2:0:12} +n2-$word +bridge +10\.89\.[0-9]+\.0/24" "$output" "network ls: the second network" || return 1
	s1=$(md network inspect "n1-$word" | sed -n 's/.*"Subnet": "\(.*\)".*/\1/p')
	s2=$(md network inspect "n2-$word" | sed -n 's/.*"Subnet": "\(.*\)".*/\1/p')
	expect_ne "$s1" "$s2" "the second network's subnet (the first has $s1)" || return 1
	run in_host ip -o -4 addr show
	expect_match "md-${id1:0:12} +inet ${s1%.0/24}\.1/24" "$output" "the first network's bridge and its gateway address" || return 1
	# a server called db on each network, and one on mini0
	md run -d --name "a-$word" --network "n1-$word" --network-alias db --rootfs "$ROOTFS" probe tcp-echo 7000 60 >/dev/null
	md run -d --name "b-$word" --network "n2-$word" --network-alias db --rootfs "$ROOTFS" probe tcp-echo 7000 60 >/dev/null
	md run -d --name "c-$word" --rootfs "$ROOTFS" probe tcp-echo 7000 60 >/dev/null
	ipa=$(field "a-$word" IPAddress) ipb=$(field "b-$word" IPAddress) ipc=$(field "c-$word" IPAddress)
	expect_match "^${s1%.0/24}\." "$ipa" "the address of a container on n1-$word ($s1)" || return 1
	# the other networks' containers are out of reach, both ways (this host does not forward)
	run md run --rm --network "n1-$word" --rootfs "$ROOTFS" probe tcp-send "$ipb" 7000 x 2
	expect_ne x "$output" "an echo from n2-$word's container at $ipb, sent from n1-$word" || return 1
	run md run --rm --rootfs "$ROOTFS" probe tcp-send "$ipa" 7000 x 2
	expect_ne x "$output" "an echo from n1-$word's container at $ipa, sent from mini0" || return 1
	run md run --rm --network "n1-$word" --rootfs "$ROOTFS" probe tcp-send "$ipc" 7000 x 2
	expect_ne x "$output" "an echo from mini0's container at $ipc, sent from n1-$word" || return 1
	run md run --rm --network "n1-$word" --rootfs "$ROOTFS" cat /etc/hosts
	expect_match "$ipa[[:space:]]+a-$word db" "$output" "/etc/hosts on n1-$word: its own db" || return 1
	[[ $output != *"b-$word"* && $output != *"c-$word"* ]] || {
		echo "expected /etc/hosts on n1-$word to name no container of another network, got: $output"
		return 1
	}
	# by name, on its own network (the echo server then ends)
	run md run --rm --network "n1-$word" --rootfs "$ROOTFS" sh -c "echo $word | nc -w 5 db 7000"
	expect_eq "$word" "$output" "the echo of db, by name, on n1-$word" || return 1
	md run -d --name "d-$word" --network "n1-$word" --rootfs "$ROOTFS" sleep 60 >/dev/null
	# in use: network rm refuses, and changes nothing
	run_md network rm "n1-$word"
	expect_status 125 "network rm of a network a container is on" || return 1
	expect_stderr_says "in use by 1 container (d-$word)" "the reason" || return 1
	run in_host ip -o link show "md-${id1:0:12}"
	expect_status 0 "the bridge after the refused rm" || return 1
	# shellcheck disable=SC2046
	md rm -f $(md ps -aq) >/dev/null
	run_md network rm "n1-$word" "${id2:0:12}"
	expect_status 0 "network rm by name and by ID" || return 1
	expect_no_network_left "after network rm"
}

# exercise: 05.4 05.5 05.8 05.9
@test "on a host that forwards, networks stay apart (iptables FORWARD) and get outbound NAT; network rm takes the rules" {
	command -v iptables >/dev/null || skip "requires iptables"
	word=$(random_word)
	in_host sysctl -qw net.ipv4.ip_forward=1
	id1=$(md network create "f1-$word")
	md network create "f2-$word" >/dev/null
	s1=$(md network inspect "f1-$word" | sed -n 's/.*"Subnet": "\(.*\)".*/\1/p')
	run in_host iptables -w -t nat -S POSTROUTING
	expect_match "-s ${s1//./\\.} ! -o md-${id1:0:12} -j MASQUERADE" "$output" "the network's NAT rule" || return 1
	md run -d --name "a-$word" --network "f1-$word" --rootfs "$ROOTFS" probe tcp-echo 7000 60 >/dev/null
	md run -d --name "c-$word" --rootfs "$ROOTFS" probe tcp-echo 7000 60 >/dev/null
	ipa=$(field "a-$word" IPAddress) ipc=$(field "c-$word" IPAddress)
	run md run --rm --network "f2-$word" --rootfs "$ROOTFS" probe tcp-send "$ipa" 7000 x 2
	expect_ne x "$output" "an echo from f1-$word's container, sent from f2-$word through a forwarding host" || {
		hint "bridge.c isolation_rule: nothing opens a connection into md-X from another link"
		return 1
	}
	run md run --rm --network "f1-$word" --rootfs "$ROOTFS" probe tcp-send "$ipc" 7000 x 2
	expect_ne x "$output" "an echo from mini0's container, sent from f1-$word through a forwarding host" || return 1
	# shellcheck disable=SC2046
	md rm -f $(md ps -aq) >/dev/null
	md network rm "f1-$word" "f2-$word" >/dev/null
	expect_no_network_left "after network rm on a forwarding host"
}

# exercise: 05.4 05.5
@test "network errors: a name taken or pre-defined, an overlapping --subnet, rm of bridge, run on no such network: one line, 125, nothing made" {
	word=$(random_word)
	md network create "e-$word" >/dev/null
	run_md network create "e-$word"
	expect_status 125 "network create of a name taken" || return 1
	expect_stderr_says "already exists" "the reason" || return 1
	run_md network create bridge
	expect_status 125 "network create bridge" || return 1
	expect_stderr_says "pre-defined" "the reason" || return 1
	run_md network create --subnet 10.88.3.0/24 "o-$word"
	expect_status 125 "network create with a subnet inside mini0's 10.88.0.0/16" || return 1
	expect_stderr_says "overlaps network bridge" "the reason" || return 1
	run_md network create --subnet 8.8.8.0/24 "o-$word"
	expect_status 125 "network create with a public --subnet" || return 1
	expect_stderr_says "not a private range" "the reason" || return 1
	run_md network create "bad/name"
	expect_status 125 "network create bad/name" || return 1
	run_md network rm bridge
	expect_status 125 "network rm bridge" || return 1
	expect_stderr_says "pre-defined" "the reason" || return 1
	run_md run --network "nosuch-$word" --rootfs "$ROOTFS" true
	expect_status 125 "run --network of no such network" || return 1
	expect_stderr_says "network nosuch-$word not found" "the reason" || return 1
	expect_eq 1 "$(wc -l <<<"$stderr")" "the lines of the error: $stderr" || return 1
	run md ps -aq
	expect_eq "" "$output" "the containers left by the failed run" || return 1
	run ls "$ROOT/networks"
	expect_eq "e-$word" "$output" "the networks of the store (only the one made)" || return 1
	md network rm "e-$word" >/dev/null
	expect_no_network_left "after the errors and network rm"
}
