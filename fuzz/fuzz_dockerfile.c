/*
 * fuzz_dockerfile: the Dockerfile parser and its word expansion (dockerfile.c),
 * which read what a build context brings. Whatever the input, dockerfile_parse
 * returns 0 with instructions whose keyword is known and whose line is in the
 * file, or -1 with a one-line message naming the file; every instruction's
 * words expand (or fail with one line) against a few variables.
 */
#include <stdio.h>

#include "common.h"
#include "dockerfile.h"

static const char *const known[] = {"FROM",   "RUN",	    "CMD",  "LABEL",   "MAINTAINER", "EXPOSE",
				    "ENV",    "ADD",	    "COPY", "ENTRYPOINT", "VOLUME", "USER",
				    "WORKDIR", "ARG",	    "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL"};

static int is_known(const char *k)
{
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(k, known[i]))
			return 1;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dockerfile df;
	struct md_error err = {0};
	char *vars[] = {"A=a b", "EMPTY=", "HOME=/root"};
	int lines = 1;
	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	if (dockerfile_parse((const char *)data, size, "Dockerfile", &df, &err) < 0) {
		CHECK(err.msg[0] && !strchr(err.msg, '\n'));
		CHECK(!strncmp(err.msg, "Dockerfile", 10));
		dockerfile_free(&df);
		return 0;
	}
	for (int i = 0; i < df.n; i++) {
		struct df_instr *in = &df.v[i];
		CHECK(is_known(in->cmd));
		CHECK(in->line >= 1 && in->line <= lines);
		CHECK(in->args && in->original);
		CHECK(!in->json || (in->argv && in->argv[in->argc] == NULL));
		char **words = NULL;
		int n = 0;
		struct md_error werr = {0};
		if (dockerfile_words(in->args, df.escape, vars, 3, &words, &n, &werr) == 0) {
			CHECK(words && words[n] == NULL);
			dockerfile_words_free(words);
		} else {
			CHECK(werr.msg[0] && !strchr(werr.msg, '\n'));
		}
		char *w = dockerfile_word(in->args, df.escape, vars, 3, &werr);
		free(w);
	}
	dockerfile_free(&df);
	return 0;
}
