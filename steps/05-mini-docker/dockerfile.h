/*
 * dockerfile.h: a Dockerfile as `mini-docker build` reads it.
 *
 * To the builder a Dockerfile is a list of instructions, a keyword and its
 * arguments, one a line (a line that ends in the escape character goes on in
 * the next one). FROM starts a stage from an image; each RUN, COPY and ADD
 * after it makes a layer; the others (ENV, CMD, WORKDIR, ...) change only the
 * image's config. dockerfile_parse() cuts the file into instructions and checks
 * what it can without the build context; the builder runs them in order.
 *
 * The commands (RUN, CMD, ENTRYPOINT, SHELL) and the lists of paths (COPY,
 * ADD, VOLUME) come in two forms:
 *
 *     RUN apk add curl                 shell form: SHELL runs it (/bin/sh -c "apk add curl")
 *     RUN ["apk", "add", "curl"]       exec form: a JSON array of strings, run as it is
 *
 * A '[' that is not a JSON array (['a'] with single quotes, say) is the shell
 * form, as in Docker; SHELL takes the exec form only.
 *
 * Variables are not expanded here. The builder expands them one instruction at
 * a time, with the ENV and ARG values known at that point, by dockerfile_words()
 * or dockerfile_word() (dockerwords.h), for the instructions that take words. RUN,
 * CMD and ENTRYPOINT are left to the container's shell: `RUN echo $HOME`
 * prints the HOME of the build container.
 */
#ifndef MD_DOCKERFILE_H
#define MD_DOCKERFILE_H

#include <stddef.h>

#include "dockerwords.h" /* dockerfile_words(), dockerfile_word(): variables, quotes, escapes */
#include "error.h"

struct df_instr {
	int line;     /* the instruction's first line in the file (1-based) */
	char *cmd;    /* the keyword upper-cased: "FROM", "RUN", "COPY", ... */
	char **flags; /* "--chown=1:1", "--from=build", "--platform=...", in order, quotes removed
			 * (the leading --flags of FROM, RUN, COPY, ADD, HEALTHCHECK); NULL-terminated */
	int n_flags;
	char *args;  /* the rest after the keyword and the flags, continuations joined, trimmed
			 * (HEALTHCHECK: "CMD ..." or "NONE"; ONBUILD: the trigger, "RUN make") */
	int json;    /* args is a JSON array of strings (exec form): ARGV holds it
			 * (HEALTHCHECK: what follows its CMD is) */
	char **argv; /* the JSON array's strings when json, else NULL; NULL-terminated */
	int argc;    /* 0 for CMD [] and ENTRYPOINT [] (the only empty arrays allowed) */
	char *
	    original; /* "RUN apk add x" as written, continuations joined into one line (history and cache keys) */
};

struct dockerfile {
	struct df_instr *v;
	int n;
	char escape; /* '\\' or '`' (the escape= directive) */
};

/*
 * Parse TEXT (LEN bytes) of the file named NAME (for messages: "Dockerfile:12: ...").
 * Every instruction is known and has its arguments, SHELL is a JSON array,
 * only ARG comes before the first FROM, and there is a FROM. On failure DF is empty.
 */
int dockerfile_parse(const char *text, size_t len, const char *name, struct dockerfile *df,
		     struct md_error *err);
void dockerfile_free(struct dockerfile *df);


#endif
