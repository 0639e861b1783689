#!/usr/bin/env bats
# Step 05, the command line: every mini-docker command reads its options with
# one parser (opts.c, over getopt_long as steps 01-04), so they all behave as
# docker's: bundled short options (-it, -aq, -eK=V), --name=x or --name x,
# options after the operands (rm ID -f), except for run and exec, where the
# first operand ends them: what follows is the container's command, with its
# own options (run IMAGE ls -l). A wrong option is one line that names it, and
# status 125.
#
# The containers here have --network none: no bridge, no address to hand out.

bats_require_minimum_version 1.5.0
load helpers

: "${MINI_DOCKER:=$REPO/steps/05-mini-docker/mini-docker}"

setup() {
	section "Step 05: mini-docker, run"
	ROOT=$BATS_TEST_TMPDIR/store
}

teardown() {
	if [ -d "$ROOT/containers" ]; then
		# shellcheck disable=SC2046
		md rm -f $(md ps -aq) >/dev/null 2>&1 || true
	fi
}

# md ARGS...: mini-docker on the test's store (bounded in time)
md() {
	timeout --kill-after=5 "$BOX_TIMEOUT" "$MINI_DOCKER" --root "$ROOT" "$@"
}

run_md() {
	run --separate-stderr md "$@"
}

# one_line TEXT WHAT: the error is one line that says TEXT, and mini-docker's status is 125
one_line() {
	expect_status 125 "$2" || return 1
	expect_eq "mini-docker: $1" "$stderr" "the error of $2" || return 1
}

@test "an unknown option: one line that names it, and 125, for every command" {
	hint "opts.c: md_getopt's '?' (unknown) answer, and the command's md_getopt_status"
	local cmd
	for cmd in run exec ps logs stop kill wait rm inspect images rmi unpack save load pull login system; do
		run_md "$cmd" --no-such-option x y
		one_line "$cmd: unknown option --no-such-option (see mini-docker $cmd --help)" "$cmd --no-such-option" ||
			return 1
	done
	run_md ps -aZ
	one_line "ps: unknown option -Z in -aZ (see mini-docker ps --help)" "ps -aZ (a bundle)" || return 1
	# getopt_long alone would take a unique prefix (--priv for --privileged): docker does not
	run_md run --priv --rootfs /nonexistent true
	one_line "run: unknown option --priv (see mini-docker run --help)" "run --priv (a piece of a name)" || return 1
	run_md --no-such-option ps
	one_line "unknown global option --no-such-option (global options come before the command; see mini-docker --help)" \
		"mini-docker --no-such-option ps"
}

@test "an option with no value, or a flag with one: one line, and 125" {
	hint "opts.c: md_getopt's ':' (missing value) answer; a flag takes --flag=true only"
	local args
	for args in "run --name" "run -e" "exec -e" "logs --tail" "stop -t" "kill --signal" "save -o" "load -i" \
		"pull --platform" "login -u"; do
		# shellcheck disable=SC2086
		run_md $args
		one_line "${args% *}: ${args#* } needs a value" "$args" || return 1
	done
	run_md --retry
	one_line "--retry needs a value" "mini-docker --retry" || return 1
	run_md ps --all=false
	one_line "ps: --all=false takes no value" "ps --all=false" || return 1
	run_md run --rm=false --rootfs /nonexistent true
	one_line "run: --rm=false takes no value" "run --rm=false"
}

@test "--help prints the command's usage and succeeds" {
	hint "opts.c adds --help to each command whose table has none; run and the global options have their own"
	local cmd
	for cmd in exec ps logs stop kill wait rm inspect images rmi unpack save load pull login system run; do
		run_md "$cmd" --help
		expect_status 0 "$cmd --help" || return 1
		expect_match "^Usage: mini-docker $cmd " "$output" "what $cmd --help prints" || return 1
	done
	run_md ps -h
	expect_match "^Usage: mini-docker ps " "$output" "what ps -h prints" || return 1
	run_md --help
	expect_match "^Usage: mini-docker \[--root DIR\]" "$output" "what mini-docker --help prints"
}

@test "run: options after IMAGE are the command's, not mini-docker's" {
	hint "run.c parse_args: MD_FIRST, getopt's '+': the first operand ends the options"
	# a registry that is not there: run fails to find the image, not on --rm or -e
	run_md run 127.0.0.1:1/no-such-image ls -l --rm -e x
	expect_status 125 "run of an image that cannot be pulled" || return 1
	expect_stderr_says "127.0.0.1:1/no-such-image" "the error to name the image" || return 1
	if [[ $stderr == *"unknown option"* ]]; then
		echo "expected ls's -l --rm -e to be left to the command, got mini-docker reading them: $stderr"
		return 1
	fi
}

# exercise: 05.4 05.5
@test "run: --name=x and --name x, bundles, --rm=true, --, and the command's own options" {
	require_root
	make_rootfs
	word=$(random_word)
	run_md run --network none --name="eq-$word" --rootfs "$ROOTFS" true
	expect_status 0 "run --name=eq-$word" || return 1
	run_md run --network=none --name "sp-$word" --rootfs "$ROOTFS" true
	expect_status 0 "run --name sp-$word" || return 1
	run_md ps -a
	expect_match "eq-$word" "$output" "ps -a: the container named with --name=" || return 1
	expect_match "sp-$word" "$output" "ps -a: the container named with --name NAME" || return 1
	# -i then -e with its value in the same word; what follows the command is its own
	run --separate-stderr md run --rm=true --network none -ieMARK="$word" --rootfs "$ROOTFS" \
		sh -c 'echo "$MARK $*"; cat' sh -l --rm -e x <<<"stdin-$word"
	expect_status 0 "run -ieMARK=... sh -c ..." || return 1
	expect_eq "$word -l --rm -e x"$'\n'"stdin-$word" "$output" \
		"the container's output (-e's value, the command's own options, then stdin through -i)" || return 1
	# -- ends mini-docker's options: a command named like an option runs
	run_md run --rm --network none --rootfs "$ROOTFS" -- echo --name x
	expect_status 0 "run ... -- echo --name x" || return 1
	expect_eq "--name x" "$output" "what echo printed"
}

# exercise: 05.4 05.5 05.7 05.8
@test "rm ID -f, logs ID -t, exec ID CMD -l: options after the operands, as docker's" {
	require_root
	make_rootfs
	word=$(random_word)
	run_md run -d --network none --rootfs "$ROOTFS" sh -c "echo one; echo two-$word; sleep 60"
	expect_status 0 "run -d" || return 1
	id=$output
	for _ in $(seq 1 50); do
		[[ "$(md logs "$id" 2>&1)" == *"two-$word"* ]] && break
		sleep 0.1
	done
	run_md logs "$id" -t
	expect_match '^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z two-' "${lines[1]:-}" "logs ID -t (a timestamp per line)" || return 1
	# exec stops at CONTAINER: -l and -e x are the command's
	run_md exec -e "K=$word" "$id" sh -c 'echo "$K $*"' sh -l -e x
	expect_status 0 "exec -e K=... ID sh -c ..." || return 1
	expect_eq "$word -l -e x" "$output" "what the exec'd command printed" || return 1
	run_md rm "$id"
	expect_status 1 "rm of a running container without -f" || return 1
	run_md rm "$id" -f
	expect_status 0 "rm ID -f (the option after the container)" || return 1
	expect_eq "$id" "$output" "what rm printed" || return 1
	run_md ps -qa
	expect_eq "" "$output" "ps -qa after rm ID -f"
}
