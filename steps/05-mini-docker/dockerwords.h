/*
 * dockerwords.h: Docker's word processing, for the instructions of a Dockerfile
 * that take words (dockerwords.c), and the small string tools the parser
 * (dockerfile.c) shares with it.
 */
#ifndef MD_DOCKERWORDS_H
#define MD_DOCKERWORDS_H

#include <stddef.h>

#include "error.h"

/*
 * Docker's word processing for instructions that take words (ENV, LABEL, ARG, COPY, ADD, EXPOSE,
 * VOLUME, FROM, WORKDIR, USER, STOPSIGNAL, ONBUILD aside): expand $VAR, ${VAR}, ${VAR:-word},
 * ${VAR:+word}, ${VAR-word}, ${VAR+word} (and ${VAR:?message}, ${VAR?message}: an error when
 * unset) from VARS ("K=V" strings, N_VARS of them; a later one wins), except inside single
 * quotes; remove quotes; ESCAPE escapes the next char (and \$ is a literal $; inside double
 * quotes it escapes only " $ and itself); split on unquoted whitespace, also in the value
 * of an unquoted $VAR. A word left empty ("" alone) is dropped, as in Docker.
 * WORDS: a malloc'd NULL-terminated array of malloc'd strings; N its length.
 * An error names the text and what is wrong in it; the caller adds "Dockerfile:LINE".
 */
int dockerfile_words(const char *s, char escape, char *const *vars, int n_vars, char ***words,
		     int *n, struct md_error *err);
/* The same for one word (no splitting: spaces stay, as for WORKDIR, USER, and ENV's legacy "ENV K V V" value). */
char *dockerfile_word(const char *s, char escape, char *const *vars, int n_vars,
		      struct md_error *err);
/* Free what dockerfile_words() made (and df_instr's flags and argv); NULL is fine. */
void dockerfile_words_free(char **words);

/* ---- shared with dockerfile.c ---- */

/* a growing string; s is never NULL once something (even "") was added */
struct sbuf {
	char *s;
	size_t len, cap;
};
void sbuf_add(struct sbuf *b, const char *s, size_t n);
void sbuf_addc(struct sbuf *b, char c);
/* the string made ("" if none), handed over: B is empty again */
char *sbuf_take(struct sbuf *b);
/* append S to the NULL-terminated array *V of *N strings */
void strv_push(char ***v, int *n, char *s);
/* Go's unicode.IsSpace for the bytes we meet: what separates words and ends a keyword */
int df_blank(char c);
/* "mini-docker: out of memory", exit 125 */
void __attribute__((noreturn)) df_out_of_memory(void);

#endif
