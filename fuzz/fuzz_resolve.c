/*
 * fuzz_resolve: the in-root path resolver of unpack.c. A layer entry's name
 * is checked (no "..", not too long), then its directory is opened inside
 * the root with openat2(RESOLVE_IN_ROOT), creating what is missing. The root
 * holds traps: an absolute symlink to /, a relative one climbing out,
 * a symlink loop, a symlink to a sibling directory of the root. Whatever the
 * name, the directory opened is the root or below it, and nothing appears
 * beside the root.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "unpack.h"
#include "util.h"

static char outer[64], root[128], rootreal[4096];
static int rootfd = -1;

static void make_outer(void)
{
	char p[256];
	snprintf(outer, sizeof(outer), "/tmp/fuzz-resolve-XXXXXX");
	CHECK(mkdtemp(outer));
	snprintf(root, sizeof(root), "%s/root", outer);
	snprintf(p, sizeof(p), "%s/sibling", outer);
	CHECK(mkdir(p, 0755) == 0);
}

/* a fresh root for each input: what the last one created is gone */
static void make_tree(void)
{
	if (rootfd >= 0) {
		close(rootfd);
		CHECK(rm_rf(root) == 0);
	}
	CHECK(mkdir(root, 0755) == 0);
	CHECK(realpath(root, rootreal));
	rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(rootfd >= 0);
	CHECK(mkdirat(rootfd, "a", 0755) == 0);
	CHECK(mkdirat(rootfd, "a/b", 0755) == 0);
	CHECK(symlinkat("/", rootfd, "abs") == 0);
	CHECK(symlinkat("../../../../..", rootfd, "up") == 0);
	CHECK(symlinkat("../../..", rootfd, "a/b/up3") == 0);
	CHECK(symlinkat("loop2", rootfd, "loop1") == 0);
	CHECK(symlinkat("loop1", rootfd, "loop2") == 0);
	CHECK(symlinkat("../sibling", rootfd, "sib") == 0);
	CHECK(symlinkat(".", rootfd, "a/self") == 0);
	CHECK(symlinkat("/a/b", rootfd, "ab") == 0);
}

/* only "root" and "sibling" beside the root, and sibling stays empty */
static void check_outside(void)
{
	char p[256];
	DIR *d = opendir(outer);
	struct dirent *e;
	CHECK(d);
	while ((e = readdir(d)))
		CHECK(!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !strcmp(e->d_name, "root") ||
		      !strcmp(e->d_name, "sibling"));
	closedir(d);
	snprintf(p, sizeof(p), "%s/sibling", outer);
	d = opendir(p);
	CHECK(d);
	int n = 0;
	while ((e = readdir(d)))
		n++;
	closedir(d);
	CHECK(n == 2);
}

static void cleanup(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", outer);
	if (system(cmd) != 0)
		fprintf(stderr, "fuzz_resolve: could not remove %s\n", outer);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!outer[0]) {
		make_outer();
		atexit(cleanup);
	}
	make_tree();
	char *name = nul_copy(data, size), link[64], got[4096];
	const char *why = NULL;
	int fd = unpack_resolve_dir(rootfd, name, &why);
	if (fd >= 0) {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		ssize_t n = readlink(link, got, sizeof(got) - 1);
		CHECK(n > 0);
		got[n] = 0;
		size_t rl = strlen(rootreal);
		if (strncmp(got, rootreal, rl) || (got[rl] != 0 && got[rl] != '/')) {
			fprintf(stderr, "fuzz_resolve: '%s' opened %s, outside the root %s\n", name, got, rootreal);
			abort();
		}
		close(fd);
	} else if (why) {
		CHECK(strstr(name, "..") || size >= 4000);
	}
	check_outside();
	free(name);
	return 0;
}
