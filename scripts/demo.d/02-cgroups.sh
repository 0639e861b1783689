# Step 02 beats (sourced by scripts/demo)
box=steps/02-cgroups/box
r=$(rootfs)
beat "Step 02: cgroups: the kernel's accounting and limits"
say "the slides: mount | grep cgroup; cat /sys/fs/cgroup/cgroup.controllers"
run sh -c 'mount | grep cgroup'
if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
	run cat /sys/fs/cgroup/cgroup.controllers
else
	say "this host is hybrid: cpu, memory, pids are cgroup v1 hierarchies; box falls back to them"
fi

beat "Half a CPU: echo \"50000 100000\" > pippo/cpu.max"
say "probe spin 2 burns CPU for 2 seconds and prints the CPU seconds it got"
run "$box" -v --cpus 0.5 "$r" /bin/probe spin 2

beat "A memory limit: past it, the kernel's OOM killer"
try "$box" --memory 32M "$r" /bin/probe memhog 64M

beat "A fork bomb meets pids.max"
say "probe forkbomb forks until fork() fails, and prints how many it made"
run "$box" --pids-limit 20 "$r" /bin/probe forkbomb
