/* buildcopy.h: COPY and ADD of mini-docker build, and .dockerignore (buildcopy.c) */
#ifndef MD_BUILDCOPY_H
#define MD_BUILDCOPY_H
#include <sys/types.h>

#include "error.h"
#include "mini-docker.h"
#include "util.h"

/* .dockerignore: the patterns of the context's file (NULL when it has none) */
struct ignore;
int ignore_load(int ctxfd, struct ignore **ig, struct md_error *err);
void ignore_free(struct ignore *ig);

/* One COPY or ADD: sources in a context (the build's, or another stage's rootfs for --from). */
struct copy_job {
	int ctxfd;	       /* the context's directory (O_PATH): every source is resolved inside it */
	const char *ctxname;   /* for messages: "the build context", "stage build" */
	char **srcs;	       /* as written in the Dockerfile, relative to the context */
	int n_srcs;
	const char *dest;      /* absolute: WORKDIR already applied */
	int dest_dir;	       /* DEST ends with '/', or several sources: a directory */
	const char *chown;     /* --chown=USER[:GROUP], resolved in the image being built; NULL: 0:0 */
	int add;	       /* ADD: a local tar archive is unpacked at DEST */
	struct ignore *ignore; /* .dockerignore of the build context (NULL for --from) */
	const struct md_opts *o;
};
/* The sha256 of what the sources hold (names, types, modes, contents, link targets): COPY's cache key. */
int copy_hash(const struct copy_job *j, char out[DIGEST_LEN], struct md_error *err);
/* Copy into ROOTFS (the overlay of the image being built), from a child chroot'ed there. */
int copy_run(const struct copy_job *j, const char *rootfs, struct md_error *err);

#endif
