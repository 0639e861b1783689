#!/usr/bin/env bash
# mkimage.sh LAYOUT ROOTFS: the benchmark's images, built with umoci into the
# OCI layout LAYOUT from the busybox rootfs ROOTFS.
#
#   busybox  one layer: the rootfs (for `mini-docker run IMAGE`)
#   bench    about 75 MB compressed, like a small application image:
#            layer 1: the rootfs, 2,500 text files (1-15.5 KB), /data/big1 (20 MB random)
#            layer 2: 2,500 more text files, /data/big2 (20 MB random)
#            layer 3: one whiteout (a file of layer 1 deleted) and one new file
# The file contents come from a fixed seed, so two builds hold the same files.
set -euo pipefail
L=$1 ROOTFS=$2
W=$(mktemp -d "${TMPDIR:-/tmp}/mkimage.XXXXXX")
trap 'rm -rf "$W"' EXIT

umoci init --layout "$L"

umoci new --image "$L:busybox"
umoci unpack --image "$L:busybox" "$W/bb" >/dev/null
cp -a "$ROOTFS/." "$W/bb/rootfs/"
umoci repack --image "$L:busybox" "$W/bb" >/dev/null
umoci config --image "$L:busybox" --config.cmd /bin/sh

# files DIR SEED: 2,500 files of base64 text in 50 directories, and a 20 MB file
# of random bytes (which gzip cannot shrink)
files() {
	python3 - "$1" "$2" <<'PY'
import base64, os, random, sys
top, seed = sys.argv[1], int(sys.argv[2])
rnd = random.Random(seed)
for d in range(50):
    os.makedirs(f"{top}/{d:02d}", exist_ok=True)
    for f in range(50):
        n = rnd.randint(1024, 15872)
        with open(f"{top}/{d:02d}/f{f:02d}.txt", "wb") as out:
            out.write(base64.encodebytes(rnd.randbytes(n * 3 // 4)))
with open(f"{os.path.dirname(top)}/big{seed}", "wb") as out:
    for _ in range(20):
        out.write(rnd.randbytes(1 << 20))
PY
}

umoci new --image "$L:bench"
umoci unpack --image "$L:bench" "$W/b" >/dev/null
R=$W/b/rootfs
repack() { umoci repack --refresh-bundle --image "$L:bench" "$W/b" >/dev/null; }

cp -a "$ROOTFS/." "$R/"
mkdir -p "$R/data"
files "$R/data/a" 1
repack

files "$R/data/b" 2
repack

rm "$R/data/a/00/f00.txt"
echo "bench image" >"$R/etc/bench-release"
repack

umoci config --image "$L:bench" --config.cmd /bin/sh
