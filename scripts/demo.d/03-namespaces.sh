# Step 03 beats (sourced by scripts/demo)
box=steps/03-namespaces/box
r=$(rootfs)
beat "Step 03: namespaces: what a process can see"
say "the slides: unshare --pid --fork --mount-proc; lsns; ls -l /proc/<PID>/ns"
run ls -l /proc/self/ns
run "$box" -v --hostname scatola "$r" /bin/sh -c 'hostname; ps'
say "every namespace is new, the kernel is not (a container, not a VM): the same uname -r"
run uname -r
run "$box" "$r" /bin/uname -r

beat "PID 1 in its own PID namespace; host processes are out of sight"
run "$box" "$r" /bin/probe pid
sleep 1000 &
SLEEPER=$!
disown "$SLEEPER"
say "a host process: sleep 1000, PID $SLEEPER"
try "$box" "$r" /bin/probe kill "$SLEEPER"
kill -9 "$SLEEPER" 2>/dev/null
SLEEPER=""

beat "pivot_root in a mount namespace: the chroot escape fails now"
echo "a secret of the host" >"$WORK/secret"
try "$box" "$r" /bin/escape "$WORK/secret"

beat "User namespace: unshare -U --map-root-user, rootless"
say "as an unprivileged user (nobody, uid 65534) box maps root inside to that user outside"
chmod 755 "$WORK"
chmod -R a+rX "$r"
chmod 700 "$r/root"
cp "$box" "$WORK/box"
run setpriv --reuid=65534 --regid=65534 --clear-groups "$WORK/box" "$r" /bin/sh -c 'id; cat /proc/self/uid_map'
say "root inside, yet files of other host users stay theirs: /root of the rootfs belongs to real root"
try setpriv --reuid=65534 --regid=65534 --clear-groups "$WORK/box" "$r" /bin/ls /root

beat "Time namespace: unshare -T --boottime 100000000"
run "$box" "$r" /bin/probe uptime
run "$box" --boottime-offset 100000000 "$r" /bin/probe uptime
