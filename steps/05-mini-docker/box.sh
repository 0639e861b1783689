#!/usr/bin/env bash
# box.sh: the command line of steps 01-04's box, run by mini-docker:
#
#     box [-v] [--cpus N] [-m SIZE] [--pids-limit N] [--hostname NAME] [--userns]
#         [--init] [--boottime-offset S] [--monotonic-offset S]
#         [--network veth|none|host] [--subnet CIDR] ROOTFS [CMD [ARG...]]
#  => mini-docker [-v] run --rm -i --cgroup-parent box [FLAGS] --rootfs ROOTFS -- [CMD [ARG...]]
#
# The runner grades step 05 with the tests of steps 01-04 through this script:
# whatever an earlier box promised, mini-docker run --rootfs must keep.
# mini-docker is ${MINI_DOCKER} when set, else the one next to this script.
set -u
here=$(cd "$(dirname "$0")" && pwd)
md=${MINI_DOCKER:-$here/mini-docker}

usage() {
	cat <<'EOF'
usage: box [OPTIONS] ROOTFS [CMD [ARG...]]     (step 05: mini-docker run --rm --rootfs ROOTFS)

  --cpus N, -m/--memory SIZE, --pids-limit N   cgroup limits (step 02)
  --hostname NAME, --userns, --init, --boottime-offset S, --monotonic-offset S   (step 03)
  --network veth|none|host, --subnet CIDR      (step 04)
  -v, --verbose   narrate each system call with the matching shell command
  -h, --help      show this help
EOF
}

# box knows step 04's modes only (mini-docker run also has bridge, its default)
box_network() {
	case $1 in
	veth | none | host) ;;
	*)
		echo "box: --network $1: unknown mode: use veth (the default), none (only lo) or host" >&2
		exit 125
		;;
	esac
}

global=() flags=()
while [ $# -gt 0 ]; do
	case $1 in
	-v | --verbose) global+=(-v) ;;
	-h | --help)
		usage
		exit 0
		;;
	--userns | --init) flags+=("$1") ;;
	--cpus | -m | --memory | --pids-limit | --hostname | --boottime-offset | --monotonic-offset | --network | --subnet)
		if [ $# -lt 2 ]; then
			echo "box: $1 needs a value" >&2
			exit 125
		fi
		[ "$1" != --network ] || box_network "$2"
		flags+=("$1" "$2")
		shift
		;;
	--cpus=* | --memory=* | --pids-limit=* | --hostname=* | --boottime-offset=* | --monotonic-offset=* | --network=* | --subnet=*)
		case $1 in --network=*) box_network "${1#--network=}" ;; esac
		flags+=("$1") ;;
	--)
		shift
		break
		;;
	-*)
		echo "box: unknown option $1 (see box --help)" >&2
		exit 125
		;;
	*) break ;;
	esac
	shift
done
if [ $# -eq 0 ]; then
	echo "box: missing ROOTFS: give the directory to use as /, e.g. sudo box build/rootfs /bin/sh" >&2
	exit 125
fi
rootfs=$1
shift

# box's default network is step 04's veth pair (rootless: none, mini-docker's own default)
case " ${flags[*]} " in
*" --network "* | *" --network="*) ;;
*) [ "$(id -u)" = 0 ] && flags+=(--network veth) ;;
esac
args=("${global[@]}" run --rm -i --cgroup-parent box "${flags[@]}" --rootfs "$rootfs" -- "$@")
if [ "$(id -u)" = 0 ]; then
	exec "$md" "${args[@]}"
fi
# rootless: a store of our own for the container's directory, gone afterwards
store=$(mktemp -d "${TMPDIR:-/tmp}/mini-docker-box.XXXXXX") || exit 125
trap 'rm -rf "$store"' EXIT
MINI_DOCKER_ROOT=$store "$md" "${args[@]}"
