# The talk's tools half (sourced by scripts/demo after 05-mini-docker.sh, whose
# registry, image ($img) and store it uses): lsns on a container, Podman, then
# systemd-nspawn on the same busybox image. Offline, like the rest.

# podman and systemd-nspawn make cgroups where they start (no systemd to ask here) and
# leave some (nspawn's payload/ and supervisor/, podman's libpod_parent/conmon): both run
# under a cgroup of the demo's own, removed at the end with what is below it
democg=md-demo-$$
echo "find /sys/fs/cgroup -maxdepth 10 -depth -type d -path '*/$democg*' -exec rmdir {} + 2>/dev/null; true" \
	>"$WORK/undo.49-cgroups"
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
	local sub=$1
	shift
	# run: under the demo's cgroup (else podman leaves libpod_parent/conmon at the root)
	[ "$sub" = run ] && set -- --cgroup-parent "/$democg/podman" "$@"
	CONTAINERS_CONF=$WORK/podman/containers.conf CONTAINERS_STORAGE_CONF=$WORK/podman/storage.conf \
		command podman "$sub" "$@"
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
