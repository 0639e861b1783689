# Step 01 beats (sourced by scripts/demo)
box=steps/01-chroot/box
r=$(rootfs)
beat "Step 01: chroot (Unix V7, 1979)"
say "the slide: mkdir scatola; cp busybox scatola; sudo chroot scatola /busybox ash"
run ls -x "$r"
run "$box" -v "$r" /bin/sh -c 'echo "inside, / holds: $(ls /)"'

beat "ps shows nothing: there is no /proc in the chroot"
run "$box" "$r" /bin/ps

beat "Only the filesystem is isolated: a host process can be killed from inside"
sleep 1000 &
SLEEPER=$!
disown "$SLEEPER"
say "a host process: sleep 1000, PID $SLEEPER"
run "$box" "$r" /bin/probe kill "$SLEEPER"
SLEEPER=""

beat "The classic escape: chroot is not a security boundary"
echo "a secret of the host" >"$WORK/secret"
say "escape: chroot into a subdirectory, walk .. from outside the root, chroot(\".\")"
run "$box" "$r" /bin/escape "$WORK/secret"
