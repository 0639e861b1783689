#!/usr/bin/env bats
# scripts/depgraph: the cycles and layers of a tree of C files, here tiny trees
# made for each test (no Makefile: each .c is compiled alone).

bats_require_minimum_version 1.5.0

setup() {
	REPO=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	T=$BATS_TEST_TMPDIR/tree
	mkdir -p "$T"
}

# c_file NAME CALLS...: NAME.c defines NAME() and calls each of CALLS
c_file() {
	local name=$1 f
	shift
	{
		for f in "$@"; do echo "void $f(void);"; done
		echo "void $name(void)"
		echo "{"
		for f in "$@"; do echo "	$f();"; done
		echo "}"
	} >"$T/$name.c"
}

@test "a cycle of three files is found, with the arrow that closes it, and --check fails" {
	c_file a b
	c_file b c
	c_file c a
	run "$REPO/scripts/depgraph" --check "$T"
	[ "$status" = 1 ] || { echo "expected status 1 for a cycle with --check, got $status: $output"; false; }
	[[ $output == *"3 files, 3 edges, 1 cycles" ]] || { echo "expected '3 files, 3 edges, 1 cycles' last, got: $output"; false; }
	[[ $output == *"1. 3 files, 3 arrows among them: a.c b.c c.c"* ]] ||
		{ echo "expected the cycle a.c b.c c.c listed, got: $output"; false; }
	grep -Eq '^ +[abc]\.c -> [abc]\.c: calls [abc]$' <<<"$output" ||
		{ echo "expected an arrow that closes the cycle, with the call, got: $output"; false; }
	grep -Eq '^ +closes ([abc]\.c -> ){3}[abc]\.c$' <<<"$output" ||
		{ echo "expected the cycle that arrow closes, three files round, got: $output"; false; }
}

@test "without --check a cycle is reported and the status is 0" {
	c_file a b
	c_file b a
	run "$REPO/scripts/depgraph" "$T"
	[ "$status" = 0 ] || { echo "expected status 0 without --check, got $status: $output"; false; }
	[[ $output == *"2 files, 2 edges, 1 cycles" ]] || { echo "expected '2 files, 2 edges, 1 cycles', got: $output"; false; }
}

@test "an acyclic tree: no cycle, --check passes, each file one level above what it calls" {
	c_file a b c
	c_file b c
	c_file c
	run "$REPO/scripts/depgraph" --check "$T"
	[ "$status" = 0 ] || { echo "expected status 0 for a tree without cycles, got $status: $output"; false; }
	[[ $output == *"cycles: none"* ]] || { echo "expected 'cycles: none', got: $output"; false; }
	[[ $output == *"3 files, 3 edges, 0 cycles" ]] || { echo "expected '3 files, 3 edges, 0 cycles', got: $output"; false; }
	for want in "2: a.c" "1: b.c" "0: c.c"; do
		grep -Eq "^ +$want\$" <<<"$output" || { echo "expected the layer '$want', got: $output"; false; }
	done
}

@test "an #include of another file's header is an arrow: two headers including each other make a cycle" {
	c_file a
	c_file b
	printf '#include "b.h"\n' >"$T/a.h"
	printf '#include "a.h"\n' >"$T/b.h"
	# a header without a .c of its name is a file of its own
	printf '#include "common.h"\n' >>"$T/a.c"
	: >"$T/common.h"
	run "$REPO/scripts/depgraph" --check "$T"
	[ "$status" = 1 ] || { echo "expected the include cycle to fail --check, got $status: $output"; false; }
	[[ $output == *"a.c -> b.c: includes b.h"* || $output == *"b.c -> a.c: includes a.h"* ]] ||
		{ echo "expected an include arrow closing the cycle, got: $output"; false; }
	[[ $output == *"3 files, 3 edges, 1 cycles" ]] ||
		{ echo "expected a.c, b.c and common.h, 3 edges, 1 cycle, got: $output"; false; }
}

@test "FILEs after DIR: only the arrows among them count" {
	c_file a b
	c_file b c
	c_file c a
	run "$REPO/scripts/depgraph" --check "$T" a.c b.c
	[ "$status" = 0 ] || { echo "expected no cycle among a.c and b.c alone, got $status: $output"; false; }
	[[ $output == *"2 files, 1 edges, 0 cycles" ]] || { echo "expected '2 files, 1 edges, 0 cycles', got: $output"; false; }
	run "$REPO/scripts/depgraph" --check "$T" a.c nothere.c
	[ "$status" = 2 ] || { echo "expected status 2 for a file that is not in the tree, got $status: $output"; false; }
}

@test "--order counts the arrows that point up, --dot writes graphviz with the summary apart" {
	c_file a b
	c_file b c
	c_file c
	printf '# bottom first\na.c\nb.c c.c\n' >"$BATS_TEST_TMPDIR/order"
	run "$REPO/scripts/depgraph" --order "$BATS_TEST_TMPDIR/order" "$T"
	[[ $output == *"upward arrows against the declared order: 1 of 2"* ]] ||
		{ echo "expected 1 of 2 arrows upward (a.c -> b.c; b.c -> c.c is in one layer), got: $output"; false; }
	[[ $output == *"a.c (layer 0) -> b.c (layer 1): calls b"* ]] || { echo "expected the upward arrow named, got: $output"; false; }
	run --separate-stderr "$REPO/scripts/depgraph" --dot "$T"
	[ "${lines[0]}" = "digraph depgraph {" ] || { echo "expected a digraph first, got: $output"; false; }
	[[ $output == *'"a.c" -> "b.c"'* ]] || { echo "expected the arrow a.c -> b.c, got: $output"; false; }
	[[ $stderr == "3 files, 2 edges, 0 cycles" ]] || { echo "expected the summary on stderr, got: $stderr"; false; }
}

@test "step 05: every .c file is a node, and the last line is the summary" {
	run "$REPO/scripts/depgraph"
	[ "$status" = 0 ] || { echo "expected status 0 without --check, got $status: $output"; false; }
	n=$(ls "$REPO"/steps/05-mini-docker/*.c | wc -l)
	[ "$n" -gt 10 ] || { echo "expected step 05's sources, found $n .c files"; false; }
	[[ ${lines[-1]} =~ ^([0-9]+)\ files,\ [0-9]+\ edges,\ [0-9]+\ cycles$ ]] ||
		{ echo "expected 'N files, M edges, K cycles' last, got: ${lines[-1]}"; false; }
	[ "${BASH_REMATCH[1]}" -ge "$n" ] || { echo "expected at least the $n .c files as nodes, got ${BASH_REMATCH[1]}"; false; }
}

@test "step 05 is layered: no cycle among its files, includes and calls together (issue 19)" {
	run "$REPO/scripts/depgraph" --check
	[ "$status" = 0 ] || { echo "expected no cycle in step 05 (scripts/depgraph --check), got status $status: $output"; false; }
	[[ ${lines[-1]} =~ \ 0\ cycles$ ]] || { echo "expected '0 cycles' last, got: ${lines[-1]}"; false; }
}
