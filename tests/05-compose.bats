#!/usr/bin/env bats
# Step 05, compose: `mini-docker compose` reads compose.yaml and runs each
# service as a container with the engine's own commands (network create
# PROJECT_default, then run -d --name PROJECT-SERVICE-1 --network PROJECT_default
# --network-alias SERVICE ...); ps, logs, exec and down act on the project's
# containers, found by the compose_project field of their records; down removes
# the project's network after them.
#
# "The host" of these tests is a network namespace each test makes ($NETNS):
# mini-docker runs there through nsenter --net, and every address used is inside
# it. The image is the busybox rootfs, built once for the file (FROM scratch,
# COPY rootfs/) into the file's store.
#
# The services' PID 1 is mostly sleep, which as PID 1 ignores SIGTERM: a plain
# `compose down` waits its 10 s grace period, as docker compose does. The first
# test keeps it; the others, which are not about the grace period, say -t 1.

bats_require_minimum_version 1.5.0
load helpers

: "${MINI_DOCKER:=$REPO/steps/05-mini-docker/mini-docker}"

setup_file() {
	[ "$(id -u)" = 0 ] || return 0
	export ROOT=$BATS_FILE_TMPDIR/store IMAGE=compose-test/base
	local ctx=$BATS_FILE_TMPDIR/base
	mkdir -p "$ctx"
	cp -a "$ROOTFS_SRC" "$ctx/rootfs"
	printf 'FROM scratch\nCOPY rootfs/ /\nCMD ["sh"]\n' >"$ctx/Dockerfile"
	"$MINI_DOCKER" --root "$ROOT" build -t "$IMAGE" "$ctx" >"$BATS_FILE_TMPDIR/base.log" 2>&1 ||
		echo failed >"$BATS_FILE_TMPDIR/base.failed"
	rm -rf "$ctx"
}

setup() {
	require_root
	section "Step 05: mini-docker, compose"
	if [ -e "$BATS_FILE_TMPDIR/base.failed" ]; then
		echo "expected setup_file to build the test image, got:"
		cat "$BATS_FILE_TMPDIR/base.log"
		return 1
	fi
	NETNS=md-comp-$(random_word)
	ip netns add "$NETNS"
	ip -n "$NETNS" link set lo up
	# the project's directory: its basename is the project's name
	P=p$(random_word)
	PROJ=$BATS_TEST_TMPDIR/$P
	mkdir -p "$PROJ"
	cd "$PROJ"
}

teardown() {
	if [ -d "$ROOT/containers" ]; then
		# shellcheck disable=SC2046
		md rm -f $(md ps -aq) >/dev/null 2>&1 || true
	fi
	if [ -d "$ROOT/networks" ]; then
		# shellcheck disable=SC2046
		md network rm $(ls "$ROOT/networks") >/dev/null 2>&1 || true
	fi
	rm -rf "${ROOT:?}/volumes/${P}_"*
	local pid
	for pid in $(ps -eo pid=,args= | awk -v r="$ROOT" 'index($0, r) && !/awk/ {print $1}'); do
		kill -9 "$pid" 2>/dev/null || true
	done
	ip netns del "$NETNS" 2>/dev/null || true
}

md() {
	timeout --kill-after=5 60 nsenter --net="/run/netns/$NETNS" "$MINI_DOCKER" --root "$ROOT" "$@"
}

in_host() {
	nsenter --net="/run/netns/$NETNS" "$@"
}

# nothing of the project left: no container, no network, no bridge, no process of the store
expect_nothing_left() {
	run md ps -aq
	expect_eq "" "$output" "the containers left ($1)" || return 1
	run md network ls -q
	expect_eq "" "$output" "the networks left ($1)" || return 1
	run in_host ip -o link show
	expect_eq 1 "${#lines[@]}" "links left ($1; lo only, no mini0, no md-*): $output" || return 1
	run bash -c "ps -eo args= | grep -F -- '$ROOT' | grep -v grep"
	expect_eq "" "$output" "the processes of the store left ($1)"
}

# until_match REGEX SECS CMD...: CMD's output matches REGEX within SECS (output in $output)
until_match() {
	local re=$1 secs=$2 i
	shift 2
	for ((i = 0; i < secs * 5; i++)); do
		output=$("$@" 2>&1)
		[[ $output =~ $re ]] && return 0
		sleep 0.2
	done
	return 1
}

# exercise: 05.4 05.5 05.8 05.9
@test "compose up -d: web and client by the service's name, a published port, ps, logs, exec, up again keeps them; down leaves nothing" {
	word=$(random_word)
	port=$((20000 + RANDOM % 20000))
	mkdir www
	echo "$word" >www/index.html
	cat >compose.yaml <<-EOF
		x-common: &common
		  image: $IMAGE
		services:
		  web:
		    <<: *common
		    command: httpd -f -p 80 -h /www
		    volumes: ["./www:/www:ro"]
		    ports: ["127.0.0.1:$port:80"]
		  client:
		    <<: *common
		    depends_on: [web]
		    command: ["sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- http://web/index.html && break; sleep 0.5; done; sleep 600"]
	EOF
	run --separate-stderr md compose up -d
	expect_status 0 "compose up -d" || return 1
	run md compose ps
	expect_match "$P-web-1 .*Up" "$output" "compose ps: the web service's container" || return 1
	expect_match "$P-client-1 .*Up" "$output" "compose ps: the client service's container" || return 1
	until_match "client-1 +\| $word" 20 md compose logs || {
		echo "expected the client's fetch of http://web/ (by the service's name) in compose logs, got: $output"
		hint "compose.c: run -d --network-alias SERVICE puts the service's name in every peer's /etc/hosts"
		return 1
	}
	run in_host curl -s --max-time 10 "http://127.0.0.1:$port/index.html"
	expect_eq "$word" "$output" "the published port 127.0.0.1:$port" || return 1
	run md compose exec -T web cat /www/index.html
	expect_eq "$word" "$output" "compose exec web cat" || return 1
	# up again, nothing changed: the same containers, kept (compose_hash in their records)
	ids=$(md compose ps -q)
	run --separate-stderr md compose up -d
	expect_status 0 "a second compose up -d" || return 1
	expect_eq "$ids" "$(md compose ps -q)" "the containers' IDs after a second up -d (kept, not made again)" || return 1
	run --separate-stderr md compose down
	expect_status 0 "compose down" || return 1
	expect_nothing_left "after compose down"
}

# exercise: 05.4 05.5 05.8 05.9
@test "compose up: depends_on starts in order, service_completed_successfully waits for a one-shot service" {
	mkdir shared
	cat >compose.yaml <<-EOF
		services:
		  app:
		    image: $IMAGE
		    volumes: ["./shared:/shared"]
		    command: ["sh", "-c", "cat /shared/ready; sleep 600"]
		    depends_on:
		      prepare: {condition: service_completed_successfully}
		      db: {condition: service_started}
		  db:
		    image: $IMAGE
		    command: sleep 600
		  prepare:
		    image: $IMAGE
		    volumes: ["./shared:/shared"]
		    command: ["sh", "-c", "sleep 2; echo prepared > /shared/ready"]
	EOF
	run --separate-stderr md compose up -d
	expect_status 0 "compose up -d" || return 1
	# the order of the Started lines: app, listed first, comes last
	order=$(grep -o "$P-[a-z]*-1  Started" <<<"$stderr" | cut -d- -f2 | tr '\n' ' ')
	expect_match "^(db prepare|prepare db) app $" "$order" "the start order" || return 1
	until_match "app-1 +\| prepared" 10 md compose logs app || {
		echo "expected app to start after prepare ended (it reads prepare's file), got: $output"
		return 1
	}
	run md compose ps -a
	expect_match "$P-prepare-1 .*Exited \(0\)" "$output" "the one-shot service's state" || return 1
	md compose down -t 1 >/dev/null 2>&1
	# a one-shot that fails: its dependents are not started
	sed -i 's/echo prepared > \/shared\/ready/exit 3/' compose.yaml
	run --separate-stderr md compose up -d
	expect_ne 0 "$status" "compose up's status when prepare fails" || return 1
	expect_stderr_says "didn't complete successfully: exit 3" "the failed dependency" || return 1
	run md ps -a
	[[ $output != *"$P-app-1"* ]] || { echo "expected no app container, got: $output"; return 1; }
	md compose down -t 1 >/dev/null 2>&1
	expect_nothing_left "after compose down"
}

# exercise: 05.4 05.5 05.8 05.9
@test "compose: environment, env_file and .env interpolation reach the container" {
	word=$(random_word)
	printf 'FROM_DOTENV=dot-%s\nBOTH=from-dotenv\n' "$word" >.env
	printf 'FROM_FILE=file-%s\n' "$word" >vars.env
	cat >compose.yaml <<-EOF
		services:
		  box:
		    image: $IMAGE
		    command: sleep 600
		    env_file: vars.env
		    environment:
		      A: "\${FROM_DOTENV}"
		      B: "\${NOT_SET_ANYWHERE:-fallback}"
		      C: "\${BOTH}"
		      D: "\$\$literal"
		      E: "\${SHELL_WORD}"
	EOF
	export SHELL_WORD=shell-$word BOTH=from-shell
	run --separate-stderr md compose up -d
	expect_status 0 "compose up -d" || return 1
	run md compose exec -T box env
	for want in "A=dot-$word" "B=fallback" "C=from-shell" 'D=$literal' "E=shell-$word" "FROM_FILE=file-$word"; do
		[[ $output == *"$want"* ]] || { echo "expected $want in the container's environment, got: $output"; return 1; }
	done
	md compose down -t 1 >/dev/null 2>&1
	expect_nothing_left "after compose down"
}

# exercise: 05.4 05.5 05.8 05.9
@test "compose: a named volume (PROJECT_NAME) survives down and goes with down -v" {
	word=$(random_word)
	cat >compose.yaml <<-EOF
		services:
		  writer:
		    image: $IMAGE
		    volumes: ["data:/data"]
		    command: ["sh", "-c", "echo $word > /data/f; sleep 600"]
		volumes:
		  data:
	EOF
	run --separate-stderr md compose up -d
	expect_status 0 "compose up -d" || return 1
	until_match "$word" 10 cat "$ROOT/volumes/${P}_data/_data/f" || {
		echo "expected the volume at ROOT/volumes/${P}_data, got: $output"
		return 1
	}
	md compose down -t 1 >/dev/null 2>&1
	run cat "$ROOT/volumes/${P}_data/_data/f"
	expect_eq "$word" "$output" "the named volume's file after compose down" || return 1
	run --separate-stderr md compose down -v
	expect_status 0 "compose down -v" || return 1
	[ ! -e "$ROOT/volumes/${P}_data" ] || { echo "expected down -v to remove the volume ${P}_data"; return 1; }
	expect_nothing_left "after compose down -v"
}

# exercise: 05.4 05.5 05.8 05.9
@test "compose errors: unknown key, bad value, a cycle, a missing image: the line, non-zero, nothing started" {
	ok="  ok:
    image: $IMAGE
    command: sleep 600"
	check() { # check LINE TEXT: the file fails at LINE with TEXT, and nothing runs
		run --separate-stderr md compose up -d
		expect_ne 0 "$status" "compose up's status for $2" || return 1
		expect_stderr_says "compose.yaml:$1: " "the line of $2" || return 1
		expect_stderr_says "$2" "the error" || return 1
		run md ps -aq
		expect_eq "" "$output" "the containers started despite $2" || return 1
	}
	printf 'services:\n%s\n  web:\n    image: %s\n    healtcheck: {}\n' "$ok" "$IMAGE" >compose.yaml
	check 7 "services.web: unknown key 'healtcheck'" || return 1
	printf 'services:\n%s\n  web:\n    image: %s\n    ports: ["99999:80"]\n' "$ok" "$IMAGE" >compose.yaml
	check 7 "'99999:80'" || return 1
	printf 'services:\n%s\n  web:\n    image: %s\n    restart: always\n' "$ok" "$IMAGE" >compose.yaml
	check 7 "'always' is not supported" || return 1
	printf 'services:\n%s\n  a:\n    image: %s\n    depends_on: [b]\n  b:\n    image: %s\n    depends_on: [a]\n' \
		"$ok" "$IMAGE" "$IMAGE" >compose.yaml
	check 7 "a cycle: a -> b -> a" || return 1
	printf 'services:\n%s\n  web:\n    image: %s\n    healthcheck:\n      test: ["WHAT", "x"]\n' "$ok" "$IMAGE" >compose.yaml
	check 8 'give ["CMD", ARG...]' || return 1
	printf 'services:\n%s\n  a:\n    image: %s\n    depends_on:\n      ok:\n        condition: service_healthy\n' \
		"$ok" "$IMAGE" >compose.yaml
	check 9 "condition service_healthy, but ok has no healthcheck" || return 1
	printf 'services:\n%s\n  web:\n    image: 127.0.0.1:1/nosuch\n' "$ok" >compose.yaml
	check 6 "'127.0.0.1:1/nosuch' is not in the store" || return 1
	expect_nothing_left "after the errors"
}

# exercise: 05.4 05.5 05.8 05.9
@test "compose --dry-run prints the engine's commands and runs nothing" {
	cat >compose.yaml <<-EOF
		services:
		  web:
		    image: $IMAGE
		    command: httpd -f -p 80
		    ports: ["127.0.0.1:8080:80"]
		    volumes: [data:/data]
		volumes:
		  data:
	EOF
	run --separate-stderr md compose --dry-run up -d
	expect_status 0 "compose --dry-run up -d" || return 1
	expect_match "network create ${P}_default" "${lines[0]}" "the first command: the project's network" || return 1
	expect_match "run -d --name $P-web-1 --network ${P}_default --network-alias web -p 127.0.0.1:8080:80 -v ${P}_data:/data $IMAGE httpd -f -p 80" \
		"$output" "the run command of the service" || return 1
	expect_eq "" "$stderr" "what else a dry run printed" || return 1
	run --separate-stderr md compose --dry-run down -v
	expect_status 0 "compose --dry-run down -v" || return 1
	expect_nothing_left "after a dry run"
	[ ! -e "$ROOT/volumes/${P}_data" ] || { echo "expected no volume made by a dry run"; return 1; }
}

# exercise: 05.4 05.5 05.8 05.9
@test "compose up in the foreground: prefixed logs, SIGTERM stops every service; a project that ends, ends up" {
	word=$(random_word)
	cat >compose.yaml <<-EOF
		services:
		  once:
		    image: $IMAGE
		    command: ["echo", "$word"]
	EOF
	run --separate-stderr md compose up
	expect_status 0 "compose up of a one-shot service (it ends by itself)" || return 1
	expect_match "once-1 +\| $word" "$output" "the service's prefixed line" || return 1
	expect_stderr_says "$P-once-1 exited with code 0" "the end of the service" || return 1
	cat >compose.yaml <<-EOF
		services:
		  long:
		    image: $IMAGE
		    command: ["sh", "-c", "echo up-$word; exec sleep 600"]
		    stop_grace_period: 2s
	EOF
	# mini-docker itself in the background (nsenter execs it): the signal reaches it
	timeout --kill-after=5 60 nsenter --net="/run/netns/$NETNS" "$MINI_DOCKER" --root "$ROOT" compose up \
		>"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
	pid=$!
	until_match "long-1 +\| up-$word" 20 cat "$BATS_TEST_TMPDIR/out" || {
		echo "expected the service's output in compose up's, got: $output"
		kill "$pid"
		return 1
	}
	kill -TERM "$pid"
	status=0
	wait "$pid" || status=$?
	expect_eq 143 "$status" "compose up's status after SIGTERM (128 + 15)" || return 1
	expect_match "Gracefully stopping" "$(cat "$BATS_TEST_TMPDIR/err")" "compose up's message on SIGTERM" || return 1
	run md compose ps
	[[ $output != *"$P-long-1"* ]] || { echo "expected the service stopped after SIGTERM, got: $output"; return 1; }
	md compose down -t 1 >/dev/null 2>&1
	expect_nothing_left "after compose down"
}

# exercise: 05.4 05.5 05.8 05.9
@test "compose: two projects, each with a web: each client reaches its own by name, not the other project's; down removes each network" {
	local p q
	for p in a b; do
		mkdir -p "$PROJ/$p-$P/www"
		echo "$p-$P" >"$PROJ/$p-$P/www/index.html"
		cat >"$PROJ/$p-$P/compose.yaml" <<-EOF
			services:
			  web:
			    image: $IMAGE
			    command: httpd -f -p 80 -h /www
			    volumes: ["./www:/www:ro"]
			  client:
			    image: $IMAGE
			    command: ["sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- http://web/index.html && break; sleep 0.5; done; sleep 600"]
		EOF
		(cd "$PROJ/$p-$P" && md compose up -d) >/dev/null 2>&1 || { echo "expected compose up -d of project $p-$P to succeed"; return 1; }
	done
	run md network ls
	expect_match "a-${P}_default +bridge +10\.89\." "$output" "project a's network" || return 1
	expect_match "b-${P}_default +bridge +10\.89\." "$output" "project b's network" || return 1
	for p in a b; do
		until_match "client-1 +\| $p-$P" 20 sh -c "cd '$PROJ/$p-$P' && timeout 30 nsenter --net=/run/netns/$NETNS '$MINI_DOCKER' --root '$ROOT' compose logs client" || {
			echo "expected project $p's client to fetch its own web's page ($p-$P) by the name web, got: $output"
			hint "compose.c: run --network PROJECT_default --network-alias SERVICE: the name resolves on the project's network only"
			return 1
		}
	done
	# across projects: no name, no route (the same request to its own project's web answers)
	for p in a b; do
		q=$([ $p = a ] && echo b || echo a)
		for r in $p $q; do
			ip=$(md inspect "$r-$P-web-1" | sed -n 's/.*"IPAddress": "\(.*\)".*/\1/p')
			run --separate-stderr md exec "$p-$P-client-1" probe tcp-send "$ip" 80 "GET /index.html HTTP/1.0" 3
			if [ $r = $p ]; then
				expect_match "$p-$P" "$output" "project $p's client fetching its own web at $ip" || return 1
			else
				expect_eq "" "$output" "project $p's client fetching project $q's web at $ip" || return 1
			fi
		done
		run md exec "$p-$P-client-1" grep -c "$q-$P-web-1" /etc/hosts
		expect_eq 0 "$output" "project $q's web in project $p's /etc/hosts (lines)" || return 1
	done
	(cd "$PROJ/a-$P" && md compose down -t 1) >/dev/null 2>&1
	run md network ls
	[[ $output != *"a-${P}_default"* ]] || { echo "expected a-${P}_default gone after its project's down, got: $output"; return 1; }
	expect_match "b-${P}_default" "$output" "the other project's network after the first one's down" || return 1
	run md exec "b-$P-client-1" wget -qO- http://web/index.html
	expect_eq "b-$P" "$output" "project b's web, by name, after project a's down" || return 1
	cd "$PROJ/b-$P"
	run --separate-stderr md compose down -t 1
	expect_status 0 "compose down of project b" || return 1
	expect_stderr_says "Network b-${P}_default  Removed" "down's report" || return 1
	# down again, with nothing left: nothing more to remove, and no error
	run --separate-stderr md compose down -t 1
	expect_status 0 "compose down of a project with nothing left" || return 1
	[[ $stderr != *Removed* ]] || { echo "expected nothing removed by the second down, got: $stderr"; return 1; }
	expect_nothing_left "after both projects' down"
}

# exercise: 05.4 05.5 05.8 05.9
@test "compose: healthcheck and condition service_healthy: the dependent starts once the test passes; an unhealthy one stops up" {
	# health_project COMMAND TEST RETRIES: web with that healthcheck, client waiting for it
	health_project() {
		cat >compose.yaml <<-EOF
			services:
			  web:
			    image: $IMAGE
			    command: $1
			    healthcheck:
			      test: $2
			      interval: 1s
			      retries: $3
			  client:
			    image: $IMAGE
			    command: ["sleep", "600"]
			    depends_on:
			      web:
			        condition: service_healthy
		EOF
	}
	health_project '["sh", "-c", "sleep 3; touch /tmp/ready; exec sleep 600"]' '["CMD-SHELL", "test -e /tmp/ready"]' 30
	local start=$SECONDS
	run --separate-stderr md compose up -d
	expect_status 0 "compose up -d with a service_healthy dependency" || return 1
	[[ $stderr =~ $P-web-1\ +Healthy.*$P-client-1\ +Started ]] || {
		echo "expected web Healthy, then client Started, in up's report, got: $stderr"
		hint "compose.c wait_healthy: exec the healthcheck's test every interval until it passes, before the dependent starts"
		return 1
	}
	[ $((SECONDS - start)) -ge 3 ] || { echo "expected up to wait for web's test (web is ready after 3 s), got $((SECONDS - start)) s"; return 1; }
	md compose down -t 0 >/dev/null 2>&1
	health_project '["sleep", "600"]' '["CMD", "false"]' 2
	run --separate-stderr md compose up -d
	expect_ne 0 "$status" "compose up's status when a dependency stays unhealthy" || return 1
	expect_stderr_says "container $P-web-1 is unhealthy" "the reason" || return 1
	run md ps -a
	[[ $output != *"$P-client-1"* ]] || { echo "expected no client container after its dependency failed, got: $output"; return 1; }
	run --separate-stderr md compose down -t 0
	expect_status 0 "compose down" || return 1
	expect_nothing_left "after down"
}
