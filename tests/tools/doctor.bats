#!/usr/bin/env bats
# make doctor: what it reports must match this machine.

setup() {
	REPO=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
}

@test "doctor reports the cgroup mode this host really has" {
	run "$REPO/scripts/doctor"
	case "$(stat -f -c %T /sys/fs/cgroup)" in
	cgroup2fs) [[ $output == *"cgroup v2 (unified)"* ]] || { echo "expected 'cgroup v2 (unified)', got: $output"; false; } ;;
	tmpfs)
		if [ -d /sys/fs/cgroup/unified ]; then want="cgroup mode: hybrid"; else want="cgroup mode: legacy v1"; fi
		[[ $output == *"$want"* ]] || { echo "expected '$want', got: $output"; false; }
		;;
	esac
}

@test "doctor names each missing feature with the steps it affects and what to do" {
	# the contract, on a problem a test can cause: not root
	dir=$(mktemp -d /tmp/doctor.XXXXXX) # readable by nobody wherever the clone is
	mkdir "$dir/scripts"
	cp "$REPO/scripts/doctor" "$REPO/scripts/deps" "$dir/scripts/"
	chmod -R a+rX "$dir"
	run setpriv --reuid=65534 --regid=65534 --clear-groups "$dir/scripts/doctor"
	rm -rf "$dir"
	[ "$status" = 1 ] || { echo "expected exit status 1 for a problem, got $status"; false; }
	[[ $output == *"FIX   not root"* ]] || { echo "expected a 'not root' problem, got: $output"; false; }
	[[ $output == *"affects: make check"* ]] || { echo "expected the affected steps, got: $output"; false; }
	[[ $output == *"do: sudo make doctor"* ]] || { echo "expected what to do, got: $output"; false; }
}

@test "doctor exits 0 on a machine that has everything (this CI machine as root)" {
	run "$REPO/scripts/doctor"
	[ "$status" = 0 ] || { echo "expected doctor to find no problem here, got: $output"; false; }
}
