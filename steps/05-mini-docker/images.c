/*
 * images.c: the commands that read the store.
 *
 *     mini-docker images [-q]            docker image ls
 *     mini-docker inspect IMAGE          docker image inspect
 *     mini-docker history IMAGE          docker history: how it was made, a line per step
 *     mini-docker rmi [-f] IMAGE...      docker rmi: untag, then drop unneeded blobs and layers
 *                                        (an image a container uses: only with -f, its layers stay)
 *     mini-docker unpack IMAGE DIR       umoci unpack: the layers flattened into a plain rootfs
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bundle.h"
#include "image.h"
#include "opts.h"
#include "ref.h"
#include "unpack.h"

static void fail(struct md_error *err)
{
	fprintf(stderr, "mini-docker: %s\n", err->msg);
}

static void created_ago(const char *created, char *buf, size_t len)
{
	struct tm tm = {0};
	if (!created || !strptime(created, "%Y-%m-%dT%H:%M:%S", &tm)) {
		snprintf(buf, len, "unknown");
		return;
	}
	long s = (long)difftime(time(NULL), timegm(&tm));
	if (s < 120)
		snprintf(buf, len, "%ld seconds ago", s < 0 ? 0 : s);
	else if (s < 7200)
		snprintf(buf, len, "%ld minutes ago", s / 60);
	else if (s < 2 * 86400)
		snprintf(buf, len, "%ld hours ago", s / 3600);
	else if (s < 60 * 86400)
		snprintf(buf, len, "%ld days ago", s / 86400);
	else
		snprintf(buf, len, "%ld months ago", s / (30 * 86400));
}

int cmd_images(const struct md_opts *o, int argc, char **argv)
{
	struct store s;
	struct md_error err;
	json_t *idx, *d;
	size_t i;
	int quiet = 0, k;
	static const struct md_option options[] = {{"quiet", 'q', MD_FLAG}};
	struct md_getopt g;
	md_getopt_init(&g, "images", "images [-q]", options, MD_N(options), MD_ANYWHERE, argc, argv);
	while ((k = md_getopt(&g, &err)) >= 0)
		quiet = 1;
	if (k != MD_OPT_END)
		return md_getopt_status(k, &err);
	if (store_open(&s, o, &err) < 0 || store_index_load(&s, &idx, &err) < 0) {
		fail(&err);
		return EXIT_ENGINE;
	}
	if (!quiet)
		printf("%-40s %-12s %-14s %-16s %s\n", "REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE");
	json_array_foreach(json_object_get(idx, "manifests"), i, d)
	{
		const char *name = json_string_value(json_object_get(json_object_get(d, "annotations"), REF_NAME_ANNOTATION));
		json_t *m, *c, *l;
		size_t k;
		if (store_load(&s, d, &m, &c, &err) < 0)
			continue;
		const char *id = json_string_value(json_object_get(json_object_get(m, "config"), "digest"));
		uint64_t size = 0;
		json_array_foreach(json_object_get(m, "layers"), k, l)
			size += json_integer_value(json_object_get(l, "size"));
		char repo[512], tag[160] = "<none>", ago[64], hs[32];
		snprintf(repo, sizeof(repo), "%s", name ? name : "<none>"); /* a build without -t: no name */
		char *at = strchr(repo, '@'), *slash = strrchr(repo, '/'), *colon = strrchr(slash ? slash : repo, ':');
		if (at)
			*at = 0;
		else if (colon)
			snprintf(tag, sizeof(tag), "%s", colon + 1), *colon = 0;
		created_ago(json_string_value(json_object_get(c, "created")), ago, sizeof(ago));
		human_size(size, hs, sizeof(hs));
		if (quiet)
			printf("%.12s\n", id + 7);
		else
			printf("%-40s %-12s %-14.12s %-16s %s\n", repo, tag, id + 7, ago, hs);
		json_decref(m);
		json_decref(c);
	}
	json_decref(idx);
	store_close(&s);
	return 0;
}

/*
 * mini-docker history IMAGE: docker history, the config's own record of how the image was
 * made, newest first. An entry that made a layer shows that layer's size unpacked (the
 * Nth such entry is the Nth layer); ENV, CMD and the like made none ("0B").
 */
static void history_line(json_t *h, const char *id, uint64_t size, int trunc)
{
	char ago[64], hs[32], by[4096];
	const char *cb = json_string_value(json_object_get(h, "created_by"));
	created_ago(json_string_value(json_object_get(h, "created")), ago, sizeof(ago));
	snprintf(by, sizeof(by), "%s", cb ? cb : "");
	for (char *p = by; *p; p++)
		if (*p == '\n' || *p == '\t')
			*p = ' ';
	if (trunc && strlen(by) > 45)
		strcpy(by + 42, "...");
	human_size(size, hs, sizeof(hs));
	printf("%-14s %-16s %-45s %s\n", id, ago, by, hs);
}

static int history(struct store *s, const char *name, int trunc, struct md_error *err)
{
	json_t *idx = NULL, *desc, *m = NULL, *c = NULL;
	char chains[MAX_LAYERS][DIGEST_LEN];
	size_t n = 0;
	if (store_index_load(s, &idx, err) < 0 || store_find(s, idx, name, &desc, &m, &c, err) < 0 ||
	    chain_ids(c, chains, MAX_LAYERS, &n, err) < 0) {
		json_decref(idx);
		json_decref(m);
		json_decref(c);
		return -1;
	}
	json_t *hist = json_object_get(c, "history"), *h;
	size_t i, layer = 0;
	uint64_t *sizes = xcalloc(json_array_size(hist) + 1, sizeof(uint64_t));
	json_array_foreach(hist, i, h) /* the Nth entry that made a layer is layer N */
	{
		if (json_is_true(json_object_get(h, "empty_layer")) || layer >= n)
			continue;
		char *dir = store_layer_path(s, chains[layer++]);
		sizes[i] = du_bytes(dir);
		free(dir);
	}
	const char *id = json_string_value(json_object_get(json_object_get(m, "config"), "digest"));
	char top[16];
	snprintf(top, sizeof(top), "%.12s", id ? id + 7 : "?");
	printf("%-14s %-16s %-45s %s\n", "IMAGE", "CREATED", "CREATED BY", "SIZE");
	for (i = json_array_size(hist); i-- > 0;)
		history_line(json_array_get(hist, i), i == json_array_size(hist) - 1 ? top : "<missing>", sizes[i], trunc);
	free(sizes);
	json_decref(idx);
	json_decref(m);
	json_decref(c);
	return 0;
}

int cmd_history(const struct md_opts *o, int argc, char **argv)
{
	struct store s;
	struct md_error err;
	struct md_getopt g;
	int k, trunc = 1;
	static const struct md_option options[] = {{"no-trunc", 0, MD_FLAG}};
	md_getopt_init(&g, "history", "history [--no-trunc] IMAGE", options, MD_N(options), MD_ANYWHERE, argc, argv);
	while ((k = md_getopt(&g, &err)) >= 0)
		trunc = 0;
	if (k != MD_OPT_END)
		return md_getopt_status(k, &err);
	if (argc - g.optind != 1)
		return md_usage("history [--no-trunc] IMAGE");
	int rc = store_open(&s, o, &err) == 0 && history(&s, argv[g.optind], trunc, &err) == 0 ? 0 : EXIT_ENGINE;
	if (rc)
		fail(&err);
	store_close(&s);
	return rc;
}

int cmd_inspect(const struct md_opts *o, int argc, char **argv)
{
	struct store s;
	struct md_error err;
	json_t *idx = NULL, *out = json_array();
	int rc = 0;
	if (argc < 2) {
		fprintf(stderr, "mini-docker: usage: mini-docker inspect IMAGE...\n");
		return EXIT_ENGINE;
	}
	if (store_open(&s, o, &err) < 0 || store_index_load(&s, &idx, &err) < 0) {
		fail(&err);
		return EXIT_ENGINE;
	}
	for (int a = 1; a < argc; a++) {
		json_t *desc, *m, *c, *d, *tags = json_array(), *dig = json_array();
		size_t i;
		if (store_find(&s, idx, argv[a], &desc, &m, &c, &err) < 0) {
			fail(&err);
			rc = EXIT_ENGINE;
			json_decref(tags);
			json_decref(dig);
			continue;
		}
		const char *id = json_string_value(json_object_get(json_object_get(m, "config"), "digest"));
		json_array_foreach(json_object_get(idx, "manifests"), i, d)
		{
			json_t *dm = NULL, *dc = NULL, *dd;
			const char *n = json_string_value(json_object_get(json_object_get(d, "annotations"), REF_NAME_ANNOTATION));
			if (!n || store_find(&s, idx, n, &dd, &dm, &dc, &err) < 0)
				continue;
			if (!strcmp(id, json_string_value(json_object_get(json_object_get(dm, "config"), "digest")))) {
				json_array_append_new(strchr(n, '@') ? dig : tags, json_string(n));
				char *rd = xasprintf("%.*s@%s", (int)strcspn(n, "@"), n, json_string_value(json_object_get(d, "digest")));
				char *slash = strrchr(rd, '/'), *colon = strrchr(slash ? slash : rd, ':'), *at = strchr(rd, '@');
				if (colon && colon < at)
					memmove(colon, at, strlen(at) + 1);
				if (!strchr(n, '@'))
					json_array_append_new(dig, json_string(rd));
				free(rd);
			}
			json_decref(dm);
			json_decref(dc);
		}
		json_array_append_new(out, json_pack("{s:s,s:o,s:o,s:O,s:O,s:O,s:O,s:O,s:O,s:O}", "Id", id, "RepoTags", tags,
						     "RepoDigests", dig, "Manifest", json_object_get(desc, "digest"), "Created",
						     json_object_get(c, "created") ? json_object_get(c, "created") : json_null(),
						     "Architecture", json_object_get(c, "architecture"), "Os", json_object_get(c, "os"),
						     "Config", json_object_get(c, "config") ? json_object_get(c, "config") : json_object(),
						     "RootFS", json_object_get(c, "rootfs"), "Layers", json_object_get(m, "layers")));
		json_decref(m);
		json_decref(c);
	}
	char *text = json_dumps(out, JSON_INDENT(4));
	puts(text);
	free(text);
	json_decref(out);
	json_decref(idx);
	store_close(&s);
	return rc;
}

/* rmi WHAT: by name, that name goes from index.json; by ID, every name of image ID (its config digest). */
static void untag(struct store *s, json_t *idx, json_t *desc, const char *id, const char *what)
{
	json_t *list = json_object_get(idx, "manifests"), *d;
	const char *name = json_string_value(json_object_get(json_object_get(desc, "annotations"), REF_NAME_ANNOTATION));
	struct image_ref r;
	char full[600] = "";
	struct md_error ignored;
	if (ref_parse(what, &r, &ignored) == 0)
		ref_string(&r, full, sizeof(full));
	int by_name = name && (!strcmp(name, full) || !strcmp(name, what));
	for (size_t i = json_array_size(list); i-- > 0;) {
		json_t *dm, *dc, *dd;
		d = json_array_get(list, i);
		const char *n = json_string_value(json_object_get(json_object_get(d, "annotations"), REF_NAME_ANNOTATION));
		if (by_name ? d != desc : (!n || store_find(s, idx, n, &dd, &dm, &dc, &ignored) < 0))
			continue;
		if (!by_name) {
			int same = !strcmp(id, json_string_value(json_object_get(json_object_get(dm, "config"), "digest")));
			json_decref(dm);
			json_decref(dc);
			if (!same)
				continue;
		}
		printf("Untagged: %s\n", n ? n : "(unnamed)");
		json_array_remove(list, i);
	}
}

int cmd_rmi(const struct md_opts *o, int argc, char **argv)
{
	struct store s;
	struct md_error err;
	json_t *idx = NULL;
	int rc = 0, force = 0, k;
	static const struct md_option options[] = {{"force", 'f', MD_FLAG}};
	struct md_getopt g;
	md_getopt_init(&g, "rmi", "rmi [-f] IMAGE...", options, MD_N(options), MD_ANYWHERE, argc, argv);
	while ((k = md_getopt(&g, &err)) >= 0)
		force = 1;
	if (k != MD_OPT_END)
		return md_getopt_status(k, &err);
	argv += g.optind - 1; /* argv[1..] the images */
	argc -= g.optind - 1;
	if (argc < 2) {
		fprintf(stderr, "mini-docker: usage: mini-docker rmi [-f] IMAGE...\n");
		return EXIT_ENGINE;
	}
	if (store_open(&s, o, &err) < 0 || store_lock(&s, &err) < 0 || store_index_load(&s, &idx, &err) < 0) {
		fail(&err);
		store_close(&s);
		return EXIT_ENGINE;
	}
	for (int a = 1; a < argc; a++) {
		json_t *desc, *m, *c;
		if (store_find(&s, idx, argv[a], &desc, &m, &c, &err) < 0) {
			fail(&err);
			rc = EXIT_ENGINE;
			continue;
		}
		char *id = xstrdup(json_string_value(json_object_get(json_object_get(m, "config"), "digest")));
		/* as docker: an image a container was made from goes only with -f, and then only its name:
		 * the layers stay under the container until it is removed (store_gc asks the containers) */
		char user[65];
		int used = containers_using_image(o, id, user);
		if (used && !force) {
			if (used == 1)
				md_fail(&err, "conflict: unable to remove %s (must force) - image is being used by running container %.12s",
					argv[a], user);
			else
				md_fail(&err, "conflict: unable to remove %s (must force) - container %.12s is using its referenced image %.12s",
					argv[a], user, digest_hex(id));
			fail(&err);
			rc = EXIT_ENGINE;
			free(id);
			json_decref(m);
			json_decref(c);
			continue;
		}
		untag(&s, idx, desc, id, argv[a]);
		free(id);
		json_decref(m);
		json_decref(c);
	}
	if (store_index_save(&s, idx, &err) < 0 || store_gc(&s, &err) < 0) {
		fail(&err);
		rc = EXIT_ENGINE;
	}
	json_decref(idx);
	store_close(&s);
	return rc;
}

/* tag SOURCE TARGET: one more name for an image, as docker tag (index.json gets it, nothing is copied) */
int cmd_tag(const struct md_opts *o, int argc, char **argv)
{
	struct store s;
	struct md_error err;
	json_t *idx = NULL, *desc, *m = NULL, *c = NULL;
	int rc = EXIT_ENGINE, k;
	struct md_getopt g;
	md_getopt_init(&g, "tag", "tag SOURCE_IMAGE TARGET_IMAGE[:TAG]", NULL, 0, MD_ANYWHERE, argc, argv);
	while ((k = md_getopt(&g, &err)) >= 0)
		;
	if (k != MD_OPT_END)
		return md_getopt_status(k, &err);
	if (argc - g.optind != 2)
		return md_usage("tag SOURCE_IMAGE TARGET_IMAGE[:TAG]");
	const char *src = argv[g.optind], *dst = argv[g.optind + 1];
	struct image_ref r;
	char full[600];
	if (ref_parse(dst, &r, &err) < 0)
		goto out;
	if (r.digest[0]) {
		md_fail(&err, "tag %s: a tag names an image, a digest is what it is: give NAME[:TAG]", dst);
		goto out;
	}
	ref_string(&r, full, sizeof(full));
	if (store_open(&s, o, &err) < 0)
		return fail(&err), EXIT_ENGINE;
	if (store_lock(&s, &err) == 0 && store_index_load(&s, &idx, &err) == 0 &&
	    store_find(&s, idx, src, &desc, &m, &c, &err) == 0) {
		store_index_set(idx, full, desc);
		if (store_index_save(&s, idx, &err) == 0)
			rc = 0;
	}
	store_close(&s);
out:
	if (rc)
		fail(&err);
	json_decref(m);
	json_decref(c);
	json_decref(idx);
	return rc;
}

int cmd_unpack(const struct md_opts *o, int argc, char **argv)
{
	struct store s;
	struct md_error err;
	json_t *idx = NULL, *desc, *m = NULL, *c = NULL, *l;
	int fd = -1, rc = EXIT_ENGINE, k, bundle = 0, made = 0;
	size_t i;
	static const struct md_option options[] = {{"bundle", 0, MD_FLAG}};
	struct md_getopt g;
	md_getopt_init(&g, "unpack", "unpack [--bundle] IMAGE DIR", options, MD_N(options), MD_ANYWHERE, argc, argv);
	while ((k = md_getopt(&g, &err)) >= 0)
		bundle = 1;
	if (k != MD_OPT_END)
		return md_getopt_status(k, &err);
	argv += g.optind - 1; /* argv[1] IMAGE, argv[2] DIR */
	argc -= g.optind - 1;
	if (argc != 3) {
		fprintf(stderr, "mini-docker: usage: mini-docker unpack [--bundle] IMAGE DIR (DIR must not exist yet)\n");
		return EXIT_ENGINE;
	}
	const char *dir = argv[2];
	char *rootfs = bundle ? xasprintf("%s/rootfs", dir) : xstrdup(dir);
	if (store_open(&s, o, &err) < 0 || store_index_load(&s, &idx, &err) < 0 ||
	    store_find(&s, idx, argv[1], &desc, &m, &c, &err) < 0)
		goto out;
	if (mkdir(dir, bundle ? 0700 : 0755) < 0) {
		md_fail_errno(&err, "mkdir %s (unpack makes a new directory)", dir);
		goto out;
	}
	made = 1;
	if ((bundle && mkdir(rootfs, 0755) < 0) || (fd = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		md_fail_errno(&err, "%s", rootfs);
		goto out;
	}
	json_array_foreach(json_object_get(m, "layers"), i, l)
	{
		const char *d = json_string_value(json_object_get(l, "digest"));
		const char *diff = json_string_value(json_array_get(json_object_get(json_object_get(c, "rootfs"), "diff_ids"), i));
		char label[128], got[DIGEST_LEN], *blob = store_blob_path(&s, d);
		struct unpack_opts uo = {.mode = UNPACK_FLATTEN, .max_bytes = o->max_unpack, .max_entries = o->max_entries,
					 .label = label};
		snprintf(label, sizeof(label), "layer %zu (%.19s)", i + 1, d);
		int r = unpack_blob(blob, fd, &uo, got, &err);
		free(blob);
		if (r < 0)
			goto out;
		if (!diff || strcmp(got, diff)) {
			md_fail(&err, "%s uncompresses to %s but the config says %s: the store is damaged", label, got, diff ? diff : "nothing");
			goto out;
		}
	}
	if (bundle) {
		/* config.json: what a runtime runs (bundle.c), the user resolved in this rootfs */
		json_t *spec = bundle_config(c, fd, &err);
		char *path = xasprintf("%s/config.json", dir);
		int bad = !spec || json_dump_file(spec, path, JSON_INDENT(2)) < 0;
		if (spec && bad)
			md_fail_errno(&err, "write %s", path);
		json_decref(spec);
		free(path);
		if (bad)
			goto out;
	}
	printf("%s\n", dir);
	rc = 0;
out:
	if (rc)
		fail(&err);
	if (fd >= 0)
		close(fd);
	if (rc && made)
		rm_rf(dir); /* nothing half-made stays */
	free(rootfs);
	json_decref(m);
	json_decref(c);
	json_decref(idx);
	store_close(&s);
	return rc;
}
