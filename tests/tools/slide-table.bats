#!/usr/bin/env bats
# WORKSHOP's slide table ("The slides, command by command") must be true: every test
# and demo beat a row names exists, both languages name the same ones, and the line
# under the table counts what the rows say (scripts/slide-coverage).

bats_require_minimum_version 1.5.0

setup() {
	REPO=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
}

@test "the slide table of WORKSHOP.md and WORKSHOP.it.md names only tests and beats that exist, and counts them right" {
	run --separate-stderr "$REPO/scripts/slide-coverage"
	[ "$status" = 0 ] || { echo "expected slide-coverage to pass, got $status: $stderr"; false; }
	[[ $output == *"WORKSHOP.md: "*" counted, "* ]] || { echo "expected the counts of WORKSHOP.md, got: $output"; false; }
	[[ $output == *"WORKSHOP.it.md: "*" counted, "* ]] || { echo "expected the counts of WORKSHOP.it.md, got: $output"; false; }
}

@test "slide-coverage catches a test that does not exist, a beat that does not exist, and a summary that lies" {
	local w=$BATS_TEST_TMPDIR/WORKSHOP.md
	# a test name changed by one word: the row now names nothing real
	sed '0,/ "ps shows nothing: there is no \/proc inside the chroot"/s// "ps shows something: there is no \/proc inside the chroot"/' \
		"$REPO/WORKSHOP.md" >"$w"
	cmp -s "$w" "$REPO/WORKSHOP.md" && { echo "the test's edit did not apply: the row it changes is gone"; false; }
	run --separate-stderr "$REPO/scripts/slide-coverage" "$w"
	[ "$status" = 1 ] || { echo "expected status 1 for a test that does not exist, got $status"; false; }
	[[ $stderr == *'has no test "ps shows something: there is no /proc inside the chroot"'* ]] ||
		{ echo "expected the missing test named, got: $stderr"; false; }

	sed '0,/`01` ps shows nothing/s//`01` ps shows everything/' "$REPO/WORKSHOP.md" >"$w"
	run --separate-stderr "$REPO/scripts/slide-coverage" "$w"
	[ "$status" = 1 ] || { echo "expected status 1 for a beat that does not exist, got $status"; false; }
	[[ $stderr == *'has "ps shows everything"'* ]] || { echo "expected the missing beat named, got: $stderr"; false; }

	sed -E 's/^(Counted: [0-9]+ items, )([0-9]+)/\1999/' "$REPO/WORKSHOP.md" >"$w"
	run --separate-stderr "$REPO/scripts/slide-coverage" "$w"
	[ "$status" = 1 ] || { echo "expected status 1 for a summary that lies, got $status"; false; }
	[[ $stderr == *"the summary says"*"999 tested"* ]] || { echo "expected the summary contradicted, got: $stderr"; false; }
}
