/* auth.h: WWW-Authenticate challenges (RFC 7235) and stored credentials (auth.json). */
#ifndef MD_AUTH_H
#define MD_AUTH_H

#include "error.h"
#include "mini-docker.h"

#define MAX_PARAMS 8
#define MAX_CHALLENGES 4

struct challenge {
	char scheme[32]; /* "Bearer", "Basic" (compared without case) */
	struct {
		char name[32];
		char value[512];
	} param[MAX_PARAMS];
	int n_params;
};

/* Parse a WWW-Authenticate value: several challenges, quoted strings with \ escapes. Returns the count. */
int auth_parse_challenges(const char *header, struct challenge *out, int max);
const char *challenge_param(const struct challenge *c, const char *name);

/* Path of the auth.json used (as podman: REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json ...) */
void auth_file_path(const struct md_opts *o, char *buf, size_t len);
/* Credentials stored for HOST: 1 found, 0 none, -1 error. */
int auth_lookup(const struct md_opts *o, const char *host, char **user, char **pass, struct md_error *err);
int auth_store(const struct md_opts *o, const char *host, const char *user, const char *pass, struct md_error *err);
/* "Basic base64(user:pass)" */
char *auth_basic_value(const char *user, const char *pass);

#endif
