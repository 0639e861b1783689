#!/usr/bin/env bats
# The exercise tools (scripts/exercises, make exercises, make solution, ./runner
# on a workspace), each on a copy of the project as a learner has it after make:
# the real workspace/, a learner's work, is never touched.

setup_file() {
	REPO=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	[ -x "$REPO/steps/01-chroot/box" ] && [ -x "$REPO/steps/05-mini-docker/mini-docker" ] ||
		{ echo "expected the project built: run make"; return 1; }
	COPY=$BATS_FILE_TMPDIR/project
	mkdir -p "$COPY"
	# as built, objects and programs included (their dates matter to make)
	tar -C "$REPO" --exclude=./.git --exclude=./workspace --exclude=./build/logs --exclude=./build/vm -cf - . |
		tar -C "$COPY" -xf -
	# a fresh workspace, built once: each test reveals into a copy of it
	make -s -C "$COPY" exercises >/dev/null
	cp -a "$COPY/workspace" "$BATS_FILE_TMPDIR/workspace-as-made"
	for d in "$COPY"/workspace/steps/0[1-4]-*/; do make -s -C "$COPY" "workspace/steps/$(basename "$d")/box" >/dev/null 2>&1; done
	make -s -C "$COPY/workspace/steps/05-mini-docker" >/dev/null 2>&1
	mv "$COPY/workspace" "$BATS_FILE_TMPDIR/workspace0"
	export REPO COPY
}

# fresh_workspace: the stripped workspace as make exercises wrote it (and built it)
fresh_workspace() {
	rm -rf "$COPY/workspace"
	cp -a "$BATS_FILE_TMPDIR/workspace0" "$COPY/workspace"
}

# build_step DIR: build the program of one step of the workspace
build_step() {
	if [ -f "$COPY/workspace/$1/box.c" ]; then
		make -s -C "$COPY" "workspace/$1/box" 2>&1
	else
		make -s -j"$(nproc)" -C "$COPY/workspace/$1" 2>&1
	fi
}

# the reference region of EX in FILE, without its markers
reference_of() {
	awk -v e="EXERCISE $1:" 'index($0, e) { on = 1; next }
		on == 1 && /^[ \t]*\*\// { on = 2; next }
		on == 2 && /\/\* END EXERCISE \*\// { exit }
		on == 2' "$2"
}

@test "make solution EX puts each reference solution where its TODO is, verbatim, and the workspace builds" {
	mapfile -t all < <(cd "$REPO" && scripts/exercises list | awk '{print $1}')
	[ "${#all[@]}" -gt 0 ] || { echo "expected exercises in scripts/exercises list, got none"; false; }
	for ex in "${all[@]}"; do
		file=$(cd "$REPO" && scripts/exercises list | awk -v e="$ex" '$1 "" == e "" { gsub(/[()]/, "", $NF); print $NF }')
		fresh_workspace
		run make -s -C "$COPY" solution EX="$ex"
		[ "$status" = 0 ] || { echo "expected make solution EX=$ex to work, got status $status: $output"; false; }
		ws=$COPY/workspace/$file
		if grep -q "TODO $ex:" "$ws"; then
			echo "expected no TODO $ex left in workspace/$file after make solution, got:"
			grep -n "TODO $ex:" "$ws"
			false
		fi
		# the reference code, byte for byte (\" and \n included), where the TODO was
		want=$(reference_of "$ex" "$REPO/$file")
		[[ "$(cat "$ws")" == *"$want"* ]] || {
			echo "expected the reference solution of $ex verbatim in workspace/$file, got:"
			diff <(printf '%s\n' "$want") "$ws" | head -n 20
			false
		}
		# and only there: the other TODOs of the file are still TODOs
		want_todos=$(grep -c '/\* TODO [0-9]' "$BATS_FILE_TMPDIR/workspace0/$file")
		got_todos=$(grep -c '/\* TODO [0-9]' "$ws" || true)
		[ "$got_todos" = "$((want_todos - 1))" ] || {
			echo "expected $((want_todos - 1)) TODOs left in workspace/$file after revealing $ex, got $got_todos"
			false
		}
		run build_step "$(dirname "$file")"
		[ "$status" = 0 ] || { echo "expected workspace/$(dirname "$file") to build after make solution EX=$ex, got: $output"; false; }
	done
}

@test "make solution: an unknown exercise, no workspace, an exercise solved already: one line, non-zero, workspace unchanged" {
	fresh_workspace
	sum() { find "$COPY/workspace" -type f -exec md5sum {} + | sort; }
	before=$(sum)
	run make -s -C "$COPY" solution EX=09.9
	[ "$status" != 0 ] && [[ $output == *"no exercise '09.9'"* ]] || { echo "expected a refusal naming 09.9, got status $status: $output"; false; }
	[ "$(sum)" = "$before" ] || { echo "expected the workspace unchanged by a refused make solution"; false; }
	run make -s -C "$COPY" solution EX=01.1
	[ "$status" = 0 ] || { echo "expected make solution EX=01.1 to work, got: $output"; false; }
	run make -s -C "$COPY" solution EX=01.1
	[ "$status" != 0 ] && [[ $output == *"no TODO 01.1"* ]] || { echo "expected a second reveal of 01.1 refused, got status $status: $output"; false; }
	rm -rf "$COPY/workspace"
	run make -s -C "$COPY" solution EX=01.1
	[ "$status" != 0 ] && [[ $output == *"make exercises first"* ]] || { echo "expected 'run make exercises first', got status $status: $output"; false; }
	[ ! -e "$COPY/workspace" ] || { echo "expected no workspace made by a refused make solution"; false; }
}

@test "make exercises after make: step 05's workspace holds no program or object of the reference" {
	# setup_file made the workspace from a built tree (make, then make exercises)
	left=$(cd "$BATS_FILE_TMPDIR/workspace-as-made/steps/05-mini-docker" && ls | grep -Ev '\.(c|h|md|sh)$|^Makefile$' || true)
	[ -z "$left" ] || { echo "expected only sources in workspace/steps/05-mini-docker after make exercises, got: $left"; false; }
	if cmp -s "$BATS_FILE_TMPDIR/workspace0/steps/05-mini-docker/mini-docker" "$REPO/steps/05-mini-docker/mini-docker"; then
		echo "expected the workspace's mini-docker built from the stubs, got the reference's program"
		false
	fi
}

@test "./runner 05 on a fresh workspace made after make grades the stubs: a stripped 05 exercise fails" {
	[ "$(id -u)" = 0 ] || skip "requires root (the runner does)"
	rm -rf "$COPY/workspace"
	cp -a "$BATS_FILE_TMPDIR/workspace-as-made" "$COPY/workspace"
	# every 05 exercise stripped: 05.1 (the digest check), 05.2 (the ChainID) ... pull fails
	# (env -i, and PATH without bats' own libexec: the runner's bats is not this one's)
	run env -i PATH="$(sed "s|[^:]*bats-core[^:]*:*||g" <<<"$PATH")" HOME="$HOME" RUNNER_FILES="tests/05-images.bats" "$COPY/runner" 05
	[ "$status" != 0 ] || { echo "expected ./runner 05 to fail on the stripped workspace, got it passing:"; echo "$output" | tail -n 20; false; }
	[[ $output == *"TODO 05."* ]] || { echo "expected a failure saying TODO 05.x, got:"; echo "$output" | head -n 30; false; }
}

@test "./runner 01.1 on a stripped workspace fails naming 01.1 (in Italian: WORKSHOP.it.md); solved, step 01 lists 01.x as [x]" {
	[ "$(id -u)" = 0 ] || skip "requires root (the runner does)"
	fresh_workspace
	path=$(sed "s|[^:]*bats-core[^:]*:*||g" <<<"$PATH")
	run env -i PATH="$path" HOME="$HOME" LANG=it_IT.UTF-8 "$COPY/runner" 01.1
	[ "$status" != 0 ] || { echo "expected ./runner 01.1 to fail with 01.1 stripped, got: $output"; false; }
	[[ $output == *"exercise 01.1: ./runner --hint 01.1"* ]] || { echo "expected a failure naming exercise 01.1, got: $output"; false; }
	[[ $output == *'read: WORKSHOP.it.md, sezione "Step 01: chroot"'* ]] || { echo "expected the Italian section to read, got: $output"; false; }
	[[ $output == *"[ ] 01.1"* ]] || { echo "expected 01.1 listed as not solved, got: $output"; false; }
	make -s -C "$COPY" solution EX=01.1 >/dev/null
	run env -i PATH="$path" HOME="$HOME" "$COPY/runner" 01
	[ "$status" = 0 ] || { echo "expected ./runner 01 to pass once 01.1 is revealed, got: $output"; false; }
	[[ $output == *"[x] 01.1"* ]] || { echo "expected 01.1 listed as solved, got: $output"; false; }
}

@test "a box that leaves its cgroup (02.3 not done) gets a warning naming make clean-state, guard off" {
	[ "$(id -u)" = 0 ] || skip "requires root (the runner does)"
	fresh_workspace
	make -s -C "$COPY" solution EX=02.1 >/dev/null
	make -s -C "$COPY" solution EX=02.2 >/dev/null
	# step 01's tests against this box 02: they clean up no cgroup (02-cgroups.bats removes
	# what its own tests leave), so each run of the box leaves one
	local before=$BATS_TEST_TMPDIR/cgroups
	find /sys/fs/cgroup -maxdepth 6 -type d -path '*/box/[0-9]*' | sort >"$before"
	run env -i PATH="$(sed "s|[^:]*bats-core[^:]*:*||g" <<<"$PATH")" HOME="$HOME" RUNNER_GUARD=0 \
		RUNNER_FILES="tests/01-chroot.bats" "$COPY/runner" 02
	# what the box left: removed here, whatever the checks below say
	find /sys/fs/cgroup -maxdepth 6 -type d -path '*/box/[0-9]*' | sort | comm -13 "$before" - |
		while read -r d; do rmdir "$d" 2>/dev/null; done
	[[ $output == *"WARN"*"left the host changed"* ]] || { echo "expected a WARN line for what the box left, got: $output"; false; }
	[[ $output == *"leaked: cgroup /sys/fs/cgroup/"*"/box/"* ]] || { echo "expected the box's cgroup named as leaked, got: $output"; false; }
	[[ $output == *"sudo make clean-state removes them"* ]] || { echo "expected make clean-state named as the remedy, got: $output"; false; }
}
