# Step 05 beats (sourced by scripts/demo): a busybox image built here with
# umoci, served by a registry on 127.0.0.1, pulled and run by mini-docker.
md=$PWD/steps/05-mini-docker/mini-docker
store=$WORK/store
export REG_BASE=$WORK/registry REPO=$PWD
# shellcheck source=/dev/null
. tests/fixtures/registry.bash
echo "registry_stop_all" >"$WORK/undo.50-registry"
echo "REG_BASE=$REG_BASE; . '$PWD/tests/fixtures/registry.bash'; registry_stop_all" >"$WORK/undo.50-registry"
beat "Step 05: an image, a registry, and a daemonless engine"
say "build a busybox image with umoci (the slides: skopeo + umoci)"
layout=$WORK/layout
umoci init --layout "$layout" >/dev/null
umoci new --image "$layout:latest" >/dev/null
umoci unpack --image "$layout:latest" "$WORK/bundle" >/dev/null
cp -a build/rootfs/. "$WORK/bundle/rootfs/"
umoci repack --image "$layout:latest" "$WORK/bundle" >/dev/null
umoci config --image "$layout:latest" --config.cmd /bin/sh --config.env PATH=/bin:/usr/bin:/sbin >/dev/null
registry_start demo plain
say "a registry on 127.0.0.1:$REG_PORT, and the image pushed to it"
run skopeo --insecure-policy copy -q --dest-tls-verify=false "oci:$layout:latest" "docker://127.0.0.1:$REG_PORT/busybox:latest"
img=127.0.0.1:$REG_PORT/busybox:latest
echo "rm -rf '$store'; true" >"$WORK/undo.40-store"

beat "docker pull: manifest, config and layers, each checked against its sha256"
run "$md" --root "$store" pull "$img"
run "$md" --root "$store" images

beat "docker run: overlayfs, every namespace, a cgroup, Docker's security defaults"
run "$md" --root "$store" run --rm --network none "$img" /bin/sh -c 'hostname; ps; grep CapEff /proc/self/status'
try "$md" --root "$store" run --rm --network none "$img" /bin/probe try mount

beat "Volumes: -v ./volume:/root"
mkdir -p "$WORK/volume"
run "$md" --root "$store" run --rm --network none -v "$WORK/volume:/root" "$img" /bin/sh -c 'echo written inside > /root/note'
run cat "$WORK/volume/note"
