#!/usr/bin/env bats
# scripts/check-copies: a copy in step 05 of a function of steps 01-04, compared
# with its original; each test on a tiny project made for it (ROOT argument).

setup() {
	REPO=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	R=$BATS_TEST_TMPDIR/project
	mkdir -p "$R/steps/02-cgroups" "$R/steps/05-mini-docker" "$R/scripts"
	# the original, as steps 01-04 write it
	cat >"$R/steps/02-cgroups/box.c" <<-'EOF'
		static long long parse_memory(const char *s)
		{
			/* EXERCISE 02.9: a comment, as the exercise markers are */
			long long v = atoll(s);
			say("parse(%s)", "echo %s", s);
			if (v < 6 << 20)
				die("--memory '%s': the smallest memory limit is 6M "
				    "(as docker's)", s);
			return v;
		}
	EOF
}

# copy <<BODY: step 05's copy of parse_memory(), its body read from stdin
copy() {
	{
		echo "/* copy of step 02's parse_memory() (steps/02-cgroups/box.c); scripts/check-copies */"
		echo "long long md_parse_memory(const char *s, struct md_error *err)"
		echo "{"
		cat
		echo "}"
	} >"$R/steps/05-mini-docker/run.c"
}

@test "a copy that differs only in comments, layout and the names of check-copies.allow is the same" {
	printf 'rename say narrate\nrename die child_die\n' >"$R/scripts/check-copies.allow"
	copy <<-'EOF'
		long long v = atoll(s); /* step 05 wraps lines at 120 columns */
		narrate("parse(%s)", "echo %s", s);
		if (v < 6 << 20) child_die("--memory '%s': the smallest memory limit is 6M (as docker's)", s);
		return v;
	EOF
	run "$REPO/scripts/check-copies" "$R"
	[ "$status" = 0 ] || { echo "expected status 0 for an identical copy, got $status: $output"; false; }
	[[ $output == *"run.c:1 md_parse_memory(): same as step 02's parse_memory()"* ]] ||
		{ echo "expected the copy reported the same, got: $output"; false; }
	[[ ${lines[-1]} == "1 copies: 1 same, 0 differ as allowed, 0 DIFFER" ]] || { echo "expected the count last, got: $output"; false; }
}

@test "a copy that drifted: DIFFERS, the diff, and status 1" {
	printf 'rename say narrate\nrename die child_die\n' >"$R/scripts/check-copies.allow"
	copy <<-'EOF'
		long long v = atoll(s);
		narrate("parse(%s)", "echo %s", s);
		if (v < 4 << 20) child_die("--memory '%s': the smallest memory limit is 6M (as docker's)", s);
		return v;
	EOF
	run "$REPO/scripts/check-copies" "$R"
	[ "$status" = 1 ] || { echo "expected status 1 for a copy that drifted, got $status: $output"; false; }
	[[ $output == *"md_parse_memory(): DIFFERS from step 02's parse_memory()"* ]] || { echo "expected DIFFERS, got: $output"; false; }
	[[ $output == *"-if (v < 6 << 20) child_die("* && $output == *"+if (v < 4 << 20) child_die("* ]] ||
		{ echo "expected the two sides of the changed line in the diff, got: $output"; false; }
	[[ $output == *"meant? then say why in scripts/check-copies.allow: run.c md_parse_memory "* ]] ||
		{ echo "expected the allow line to add, got: $output"; false; }
}

@test "an allowed difference passes with its reason; a further change of it fails again" {
	copy <<-'EOF'
		long long v = atoll(s);
		narrate("parse(%s)", "echo %s", s);
		if (v < 6 << 20)
			return md_fail(err, "--memory '%s': the smallest memory limit is 6M (as docker's)", s);
		return v;
	EOF
	printf 'rename say narrate\n' >"$R/scripts/check-copies.allow"
	run "$REPO/scripts/check-copies" "$R"
	[ "$status" = 1 ] || { echo "expected DIFFERS before the allow line, got $status: $output"; false; }
	digest=$(sed -n 's/.*check-copies.allow: run.c md_parse_memory \([0-9a-f]*\) REASON$/\1/p' <<<"$output")
	[ -n "$digest" ] || { echo "expected the digest of the difference, got: $output"; false; }
	echo "run.c md_parse_memory $digest returns an error instead of dying" >>"$R/scripts/check-copies.allow"
	run "$REPO/scripts/check-copies" "$R"
	[ "$status" = 0 ] || { echo "expected an allowed difference to pass, got $status: $output"; false; }
	[[ $output == *"differs from step 02's parse_memory() (allowed: returns an error instead of dying)"* ]] ||
		{ echo "expected the reason printed, got: $output"; false; }
	# the copy drifts further: not the difference that was allowed
	sed -i 's/6 << 20/4 << 20/' "$R/steps/05-mini-docker/run.c"
	run "$REPO/scripts/check-copies" "$R"
	[ "$status" = 1 ] || { echo "expected a new difference to fail, got $status: $output"; false; }
	[[ $output == *"DIFFERS from step 02's parse_memory() (check-copies.allow:2 allows another difference"* ]] ||
		{ echo "expected DIFFERS naming the allow line it no longer matches, got: $output"; false; }
}

@test "a copy line whose original is not there fails" {
	copy <<<'return 0;'
	sed -i 's/parse_memory()/parse_mem()/' "$R/steps/05-mini-docker/run.c"
	run "$REPO/scripts/check-copies" "$R"
	[ "$status" = 1 ] || { echo "expected status 1 for an original that is missing, got $status: $output"; false; }
	[[ $output == *"MISSING: no function parse_mem() in steps/02-cgroups/box.c"* ]] ||
		{ echo "expected MISSING naming the function, got: $output"; false; }
}

@test "this project's copies are all the same or differ as allowed" {
	run "$REPO/scripts/check-copies"
	[ "$status" = 0 ] || { echo "expected every copy of step 05 in sync (scripts/check-copies), got: $output"; false; }
	[[ ${lines[-1]} =~ ^([0-9]+)\ copies: ]] && [ "${BASH_REMATCH[1]}" -gt 0 ] ||
		{ echo "expected the copies of step 05 counted, got: ${lines[-1]}"; false; }
}
