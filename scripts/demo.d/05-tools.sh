# The talk's tools half (sourced by scripts/demo after 05-mini-docker.sh, whose
# registry, image ($img) and store it uses): lsns on a container, Podman, then
# systemd-nspawn on the same busybox image. Offline, like the rest.

# podman and systemd-nspawn make cgroups where they start (no systemd to ask here) and
# leave some (nspawn's payload/ and supervisor/, podman's libpod_parent/conmon): both run
# under a cgroup of the demo's own, removed at the end with what is below it
democg=md-demo-$$
echo "find /sys/fs/cgroup -maxdepth 10 -depth -type d -path '*/$democg*' -exec rmdir {} + 2>/dev/null; true" \
	>"$WORK/undo.45-tools-cgroups" # (after 46-49: what runs in them goes first)
if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
	nspawn_cg=/sys/fs/cgroup
else
	nspawn_cg="/sys/fs/cgroup/unified /sys/fs/cgroup/systemd"
fi

beat "lsns and /proc/PID/ns: a container is a process with namespaces of its own"
run "$md" --root "$store" run -d --name ns-demo --network none "$img" sleep 600
echo "'$md' --root '$store' rm -f ns-demo >/dev/null 2>&1; true" >"$WORK/undo.46-ns-demo"
pid=$("$md" --root "$store" inspect ns-demo | sed -n 's/^ *"Pid": \([0-9]*\),*$/\1/p' | head -n1)
say "the container's command is process $pid on the host"
run lsns -p "$pid"
run ls -l "/proc/$pid/ns"
say "and ours, for comparison: every link but time (and user, as root) differs"
run ls -l /proc/self/ns
run "$md" --root "$store" rm -f ns-demo

beat "Podman: the same commands, no daemon (alias docker=podman)"
# podman's own store and settings for the demo, in its folder: runc and cgroupfs
# (crun refuses hybrid cgroups; no systemd here), vfs (no overlay mount to clean up),
# and file and process limits the host's hard limits allow
mkdir -p "$WORK/podman"
cat >"$WORK/podman/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
cat >"$WORK/podman/storage.conf" <<EOF
[storage]
driver = "vfs"
graphroot = "$WORK/podman/root"
runroot = "$WORK/podman/run"
EOF
podman() {
	local global=() sub
	# podman --runtime PATH ...: the one global option the demo gives
	[ "$1" = --runtime ] && { global=("$1" "$2"); shift 2; }
	sub=$1
	shift
	# run: under the demo's cgroup (else podman leaves libpod_parent/conmon at the root)
	[ "$sub" = run ] && set -- --cgroup-parent "/$democg/podman" "$@"
	CONTAINERS_CONF=$WORK/podman/containers.conf CONTAINERS_STORAGE_CONF=$WORK/podman/storage.conf \
		command podman "${global[@]}" "$sub" "$@"
}
echo "CONTAINERS_CONF='$WORK/podman/containers.conf' CONTAINERS_STORAGE_CONF='$WORK/podman/storage.conf' podman rm -af -t 0 >/dev/null 2>&1; true" \
	>"$WORK/undo.47-podman"
say "(podman reads a containers.conf and a storage.conf in the demo's folder: runc, cgroupfs, vfs;"
say " its containers' cgroups go under one of the demo's, --cgroup-parent)"
run podman pull -q --tls-verify=false "$img"
run podman run --rm --network none "$img" /bin/sh -c 'hostname; ps'
run podman run -d --name web --network none "$img" sleep 600
run podman ps
run podman exec web /bin/sh -c 'echo "in web: PID 1 is $(cat /proc/1/comm)"'
run podman rm -f -t 0 web

beat "systemd-nspawn -D: a directory, one command as PID 1"
# nspawn keeps a directory under /run/systemd/nspawn that systemd would clean: ours goes too
[ -e /run/systemd/nspawn ] || echo "rm -rf /run/systemd/nspawn; true" >"$WORK/undo.49-nspawn-run"
# in_demo_cgroup CMD...: CMD, started in the demo's cgroup of the hierarchies nspawn uses
in_demo_cgroup() {
	local h
	for h in $nspawn_cg; do
		mkdir -p "$h/$democg"
		echo "$BASHPID" >"$h/$democg/cgroup.procs"
	done
	exec "$@"
}
# (nspawn complains when /run is not a tmpfs, as on some CI machines: not the demo's matter)
systemd-nspawn() { (in_demo_cgroup systemd-nspawn "$@") 2> >(grep -v "Attempted to remove disk file system" >&2); }
machine=$WORK/machines/scatola
mkdir -p "$WORK/machines"
run "$md" --root "$store" unpack "$img" "$machine"
# --register=no --keep-unit: no systemd runs here to register the machine with
run systemd-nspawn --quiet --register=no --keep-unit -D "$machine" /bin/sh -c 'echo "PID $$, hostname $(hostname)"'

beat "systemd-nspawn --boot: init as PID 1 (here busybox's)"
say "--boot wants an OS tree (etc/os-release); busybox's init reads etc/inittab"
printf 'NAME=busybox\nID=busybox\n' >"$machine/etc/os-release"
printf '::sysinit:/bin/sh -c "echo booted: PID 1 is $(cat /proc/1/comm)"\n::shutdown:/bin/sh -c "echo init: going down"\n' \
	>"$machine/etc/inittab"
run cat "$machine/etc/inittab"
# SIGTERM to nspawn asks init to power off: busybox's init does it on SIGUSR2
# (a subshell that becomes nspawn, so $! is nspawn's PID)
(in_demo_cgroup systemd-nspawn --quiet --register=no --keep-unit --boot --kill-signal=SIGUSR2 -D "$machine" \
	</dev/null 2>/dev/null) &
nspawn=$!
echo "kill -9 $nspawn 2>/dev/null; true" >"$WORK/undo.48-nspawn"
show systemd-nspawn --quiet --register=no --keep-unit --boot --kill-signal=SIGUSR2 -D "$machine" '&'
sleep 2
say "and to stop it, as machinectl poweroff would: SIGTERM to nspawn"
run kill -TERM "$nspawn"
wait "$nspawn" || true

beat "systemd-nspawn --oci-bundle: the OCI runtime spec, a config.json and a rootfs"
say "the slides: skopeo copy + umoci unpack, then nspawn; mini-docker writes the bundle itself"
run "$md" --root "$store" unpack --bundle "$img" "$WORK/bundle-scatola"
run grep -m1 ociVersion "$WORK/bundle-scatola/config.json"
# nspawn asks the system bus about the bundle's device rule; none runs here: one of the demo's own
dbus-daemon --session --address="unix:path=$WORK/bus" --nofork --nopidfile 2>/dev/null &
echo "kill $! 2>/dev/null; true" >"$WORK/undo.48-bus"
for _ in $(seq 50); do [ -S "$WORK/bus" ] && break; sleep 0.1; done
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$WORK/bus
run systemd-nspawn --quiet --register=no --keep-unit --oci-bundle="$WORK/bundle-scatola" \
	/bin/sh -c 'echo "from the bundle: PID $$, $(id)"'
unset DBUS_SYSTEM_BUS_ADDRESS

beat "mini-runc: the OCI runtime that podman, containerd and Kubernetes call (create, state, start, kill, delete)"
mr=$(dirname "$md")/mini-runc mrroot=$WORK/mini-runc
echo "'$mr' --root '$mrroot' delete --force scatola >/dev/null 2>&1; true" >"$WORK/undo.46-mini-runc"
run "$md" --root "$store" unpack --bundle "$img" "$WORK/bundle-runc"
say "the bundle's command, and its cgroup under the demo's (the default is mini-runc/ID)"
jq --arg cg "/$democg/mini-runc/scatola" '.process.args = ["/bin/sh", "-c",
	"echo \"in scatola: PID $$, hostname $(hostname)\"; sleep 600"] | .linux.cgroupsPath = $cg' \
	"$WORK/bundle-runc/config.json" >"$WORK/config.json" && mv "$WORK/config.json" "$WORK/bundle-runc/config.json"
run "$mr" --root "$mrroot" create --bundle "$WORK/bundle-runc" scatola
say "created: namespaces, cgroup, mounts, capabilities all made; the init waits before its execve"
run "$mr" --root "$mrroot" state scatola
run "$mr" --root "$mrroot" start scatola
sleep 0.5
run "$mr" --root "$mrroot" list
run "$mr" --root "$mrroot" kill scatola KILL
for _ in $(seq 50); do "$mr" --root "$mrroot" state scatola | grep -q '"stopped"' && break; sleep 0.1; done
run "$mr" --root "$mrroot" delete scatola
say "and podman, told to call it instead of runc: podman -> conmon -> mini-runc"
run podman --runtime "$mr" run --rm --network none "$img" /bin/sh -c 'echo "podman -> conmon -> mini-runc -> me: PID $$, $(id -un)"'

beat "LXC: lxc-create -t oci (skopeo + umoci), then the slides' table: start, ls, attach, stop, destroy"
lxcp=$WORK/lxc
mkdir -p "$lxcp"
# lxc-create, lxc-start ...: each on the demo's own lxcpath (-P: configs and rootfs)
for t in create start wait ls attach stop destroy; do
	eval "lxc-$t() { command lxc-$t -P \"\$lxcp\" \"\$@\"; }"
done
# lxc-start keeps a lock directory named after the lxcpath under /run/lxc/lock: the part
# of that path the demo makes goes at the end
made=/run/lxc/lock$lxcp
while [ ! -e "$(dirname "$made")" ]; do made=$(dirname "$made"); done
echo "lxc-stop -P '$lxcp' -n scatola -k >/dev/null 2>&1; lxc-destroy -P '$lxcp' -n scatola -f >/dev/null 2>&1
rm -rf '$made'; true" >"$WORK/undo.47-lxc"
say "the oci template's skopeo reads no plain-http registry: a local layout, copied from it"
run skopeo --insecure-policy copy -q --src-tls-verify=false "docker://$img" "oci:$WORK/lxc-oci:latest"
# no network device (lxc's default wants the lxcbr0 bridge of lxc-net); cgroups under the demo's
cat >"$WORK/lxc.conf" <<EOF
lxc.net.0.type = empty
lxc.cgroup.dir.container = $democg/lxc
lxc.cgroup.dir.monitor = $democg/lxc.monitor
lxc.cgroup.dir.monitor.pivot = $democg/pivot
EOF
run lxc-create -n scatola -f "$WORK/lxc.conf" -t oci -- --url "oci:$WORK/lxc-oci:latest" --no-cache
say "a system container: boot busybox's init (which halts on SIGUSR1)"
printf '%s\n' "lxc.init.cmd = /sbin/init" "lxc.init.uid = 0" "lxc.init.gid = 0" "lxc.signal.halt = SIGUSR1" \
	>>"$lxcp/scatola/config"
run lxc-start -n scatola
run lxc-wait -n scatola -s RUNNING -t 30
run lxc-ls -f
run lxc-attach -n scatola -- /bin/sh -c 'echo "in scatola: PID 1 is $(cat /proc/1/comm)"; hostname'
run lxc-stop -n scatola -t 20
run lxc-ls -f
run lxc-destroy -n scatola
