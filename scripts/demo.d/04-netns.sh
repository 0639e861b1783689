# Step 04 beats (sourced by scripts/demo). Everything runs in a throwaway
# network namespace made for the demo, so the host's network is not touched.
box=$PWD/steps/04-netns/box
r=$(rootfs)
beat "Step 04: a network namespace and a veth pair, by hand (in a throwaway host namespace)"
say "the slides: ip netns add pippo; ip link add veth0 type veth peer veth1 netns pippo; ping6"
run unshare --net sh -c '
	ip link set lo up
	ip netns add pippo-demo
	ip netns exec pippo-demo ip link set lo up
	ip link add veth0 type veth peer name veth1 netns pippo-demo
	ip link set veth0 up
	ip netns exec pippo-demo ip link set veth1 up
	sleep 2	# IPv6 duplicate address detection of the link-local addresses
	peer=$(ip netns exec pippo-demo ip -6 -o addr show dev veth1 scope link | awk "{print \$4}" | cut -d/ -f1)
	echo "the container end: $peer"
	ping -6 -c 2 -W 2 "$peer%veth0"
	ip netns del pippo-demo'

beat "The same with box: a veth pair over netlink, eth0 inside, a /30 and a default route"
run unshare --net sh -c "ip link set lo up; '$box' -v '$r' /bin/sh -c 'ip -4 addr show eth0; ping -c 2 -W 2 \$(ip route | awk \"/default/ {print \\\$3}\")'"
