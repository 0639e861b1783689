# Step 05 beats (sourced by scripts/demo): a busybox image built here with
# umoci, served by a registry on 127.0.0.1, pulled and run by mini-docker; then
# the slides' `docker build -t rantune .`, pushed and run from another store.
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

beat "docker run -d, docker ps, docker exec, docker logs: no daemon, a small monitor per container"
# the bridge and the addresses live in a throwaway network namespace, not the host's:
# `mini-docker` below is mini-docker run there (ip netns exec)
netns=md-demo-$$
ip netns add "$netns"
ip -n "$netns" link set lo up
echo "'$md' --root '$store' rm -f web client >/dev/null 2>&1; ip netns del '$netns' 2>/dev/null; true" >"$WORK/undo.45-netns"
mini-docker() { ip netns exec "$netns" "$md" --root "$store" "$@"; }
say "(in a throwaway network namespace: ip netns add $netns; mini-docker is ip netns exec $netns mini-docker)"
run mini-docker run -d --name web "$img" /bin/sh -c \
	'echo "hello from $(hostname)" > /index.html; echo serving; exec httpd -f -p 80 -h /'
run mini-docker ps
run mini-docker exec web /bin/sh -c 'echo "in web: PID 1 is $(cat /proc/1/comm)"; hostname'
# httpd takes a moment to listen on a loaded machine: the next beat waits for it (10 s at most)
for _ in $(seq 50); do
	mini-docker exec web wget -qO- http://127.0.0.1/index.html >/dev/null 2>&1 && break
	sleep 0.2
done

beat "Containers reach each other by name (the bridge mini0, /etc/hosts)"
run mini-docker run --rm --name client "$img" /bin/sh -c 'grep web /etc/hosts; wget -qO- http://web/index.html'
run mini-docker logs web
say "httpd is PID 1 here: a signal it has no handler for does nothing to PID 1, so stop waits"
say "2 s (-t), then SIGKILL: Exited (137). With --init, a tiny init is PID 1 and passes SIGTERM on"
run mini-docker stop -t 2 web
run mini-docker ps -a
run mini-docker rm web

beat "docker compose up, docker compose down: the same two containers from one file"
mkdir -p "$WORK/lug/www"
echo "hello from the compose web service" >"$WORK/lug/www/index.html"
cat >"$WORK/lug/compose.yaml" <<EOF
services:
  web:
    image: $img
    command: /usr/sbin/httpd -f -p 80 -h /www
    volumes: ["./www:/www:ro"]
    ports: ["127.0.0.1:8080:80"]
  client:
    image: $img
    depends_on: [web]
    command: ["sh", "-c", "until wget -qO- http://web/index.html; do sleep 1; done; sleep 600"]
EOF
echo "ip netns exec '$netns' '$md' --root '$store' compose -f '$WORK/lug/compose.yaml' down -t 0 >/dev/null 2>&1; true" \
	>"$WORK/undo.44-compose"
run cat "$WORK/lug/compose.yaml"
say "each service becomes a run -d of the engine, in depends_on's order (--dry-run shows them)"
run mini-docker compose -f "$WORK/lug/compose.yaml" --dry-run up -d
run mini-docker compose -f "$WORK/lug/compose.yaml" up -d
run mini-docker compose -f "$WORK/lug/compose.yaml" ps
say "the published port, from the (throwaway) host's loopback"
# (depends_on orders the starts; it does not wait for httpd to listen: neither here, nor the demo)
for _ in $(seq 50); do
	ip netns exec "$netns" curl -sf -o /dev/null http://127.0.0.1:8080/index.html && break
	sleep 0.2
done
run ip netns exec "$netns" curl -sS http://127.0.0.1:8080/index.html
say "and the client, which reached web by its service's name"
for _ in $(seq 50); do
	mini-docker compose -f "$WORK/lug/compose.yaml" logs client 2>/dev/null | grep -q hello && break
	sleep 0.2
done
run mini-docker compose -f "$WORK/lug/compose.yaml" logs client
run mini-docker compose -f "$WORK/lug/compose.yaml" down -t 1
ip netns del "$netns"

beat "docker build -t rantune . : a Dockerfile, one instruction at a time"
say "RUN runs in a container on an overlay of the layers so far; what it wrote becomes a layer"
ctx=$WORK/rantune
mkdir -p "$ctx"
printf '#!/bin/sh\necho "rantune plays $TUNE: $(cat /music/playlist)"\n' >"$ctx/rantune"
chmod 755 "$ctx/rantune"
printf 'FROM %s\nCOPY rantune /usr/bin/rantune\nRUN mkdir /music && echo "la la la" > /music/playlist\nENV TUNE=jazz\nCMD ["rantune"]\n' \
	"$img" >"$ctx/Dockerfile"
run cat "$ctx/Dockerfile"
run "$md" --root "$store" build -t "127.0.0.1:$REG_PORT/rantune" "$ctx"
say "again: every step is in the cache, and the image is the same"
run "$md" --root "$store" build -t "127.0.0.1:$REG_PORT/rantune" "$ctx"

beat "docker push, then docker run on another machine (here: another store)"
run "$md" --root "$store" push "127.0.0.1:$REG_PORT/rantune"
echo "rm -rf '$WORK/elsewhere'; true" >"$WORK/undo.41-elsewhere"
run "$md" --root "$WORK/elsewhere" run --rm --network none "127.0.0.1:$REG_PORT/rantune"
