/* narrate.h: -v narration (both halves) and the test pause points; see narrate.c */
#ifndef MD_NARRATE_H
#define MD_NARRATE_H

#include <sys/types.h>

/* -v: set once, by main */
extern int md_verbose;
/*
 * "=> CALL                     $ SHELL" on stderr when md_verbose: CALL and SHELL
 * are two formats of the same arguments (skip one in either with %.0s).
 */
void narrate(const char *call, const char *shell, ...);
/* tests/05-faults.bats: MINI_DOCKER_TEST_PAUSE=POINT:FILE stops the process at POINT (narrate.c) */
void test_pause(const char *point, pid_t engine);

#endif
