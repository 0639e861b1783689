/*
 * One error type for the whole engine (crun's libcrun_error_t, smaller).
 *
 * A function that can fail returns 0 on success and -1 on failure, after
 * filling a struct md_error with one line that says what failed and why.
 * Callers add context in front ("pulling busybox: ") as the error travels
 * up, and main() prints it once as "mini-docker: ..." and exits 125.
 * Every function releases what it made on every path before returning.
 */
#ifndef MD_ERROR_H
#define MD_ERROR_H

#include <stddef.h>

struct md_error {
	int errnum;     /* errno of the failed call, or 0 */
	char msg[2048]; /* "what failed: why (what to do)" */
};

/* Fill ERR from a printf format; returns -1 so callers can `return md_fail(...)`. */
int md_fail(struct md_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same, with ": strerror(errno)" appended. */
int md_fail_errno(struct md_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Put "CONTEXT: " in front of the message already in ERR; returns -1. */
int md_context(struct md_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * In a container's process, before its command runs (no caller to return an
 * error to): print "mini-docker: ..." (%m works) and exit 125.
 */
void child_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
