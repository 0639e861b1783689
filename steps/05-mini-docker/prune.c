/*
 * prune.c: mini-docker system prune, what `docker system prune` does here.
 *
 * Removes every container that is not running (exited, created, or dead:
 * its engine or monitor was killed, SIGKILL or a crash), with what each one
 * holds (upper dir, cgroup, lease), then the blobs and unpacked layers that no
 * image of the store and no container refers to any more. Running containers,
 * containers being set up (their run or monitor is alive) and tagged images stay. What a crash left outside the store (cgroups, mounts, veths,
 * the bridge) is `make clean-state`'s job: scripts/clean-state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mini-docker.h"
#include "opts.h"
#include "prune.h"
#include "record.h"
#include "state.h"
#include "stop.h"
#include "store.h"

int cmd_system(const struct md_opts *o, int argc, char **argv)
{
	struct md_error err;
	struct store s;
	int n = 0, removed = 0, rc = 0, k;
	static const struct md_option options[] = {{"force", 'f', MD_FLAG}};
	struct md_getopt g;

	md_getopt_init(&g, "system", "system prune [-f]", options, MD_N(options), MD_ANYWHERE, argc, argv);
	while ((k = md_getopt(&g, &err)) >= 0)
		; /* -f: prune asks for no confirmation anyway */
	if (k != MD_OPT_END)
		return md_getopt_status(k, &err);
	if (argc - g.optind != 1 || strcmp(argv[g.optind], "prune")) {
		fprintf(stderr, "mini-docker: usage: mini-docker system prune [-f]\n");
		return EXIT_ENGINE;
	}
	containers_sweep_new(o); /* records a killed run left half-made (record.c) */
	char **ids = state_list(o, &n);
	for (int i = 0; i < n; i++) {
		pid_t pid = 0;
		json_t *j = state_load(o, ids[i]);
		const char *st = j ? state_status(j, &pid) : "";
		/* one being made (run, or run -d's monitor, is setting it up) is not a stopped one */
		int making = !strcmp(st, "created") && (state_alive(j, "monitor_pid", "monitor_start") ||
							state_alive(j, "engine_pid", "engine_start"));
		json_decref(j);
		if (!pid && !making) {
			char *rm_argv[] = {"rm", ids[i], NULL};
			if (cmd_container_rm(o, 2, rm_argv) == 0)
				removed++;
			else
				rc = EXIT_ENGINE;
		}
		free(ids[i]);
	}
	free(ids);
	printf("Deleted containers: %d\n", removed);

	/* the build cache goes too (docker's prune empties it): its layers are then free for gc */
	int ok = store_open(&s, o, &err) == 0 && store_lock(&s, &err) == 0;
	int cached = ok ? store_cache_clear(&s) : 0;
	if (cached)
		printf("Deleted build cache entries: %d\n", cached);
	if (!ok || store_gc(&s, &err) < 0) {
		fprintf(stderr, "mini-docker: system prune: %s\n", err.msg);
		rc = EXIT_ENGINE;
	} else {
		printf("Removed the blobs and layers no image refers to\n");
	}
	store_close(&s);
	return rc;
}
