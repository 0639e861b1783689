/*
 * auth.c: how a registry asks for credentials and where we keep them.
 *
 * A registry answers 401 with a challenge (RFC 7235, section 4.1):
 *
 *     WWW-Authenticate: Bearer realm="https://auth.docker.io/token",
 *                       service="registry.docker.io",scope="repository:library/busybox:pull"
 *
 * One header may carry several challenges ("Basic realm=x, Bearer realm=y"):
 * a new challenge starts where a comma is followed by a token and a space
 * instead of name=value. Values are tokens or quoted strings with \ escapes.
 *
 * Credentials live in auth.json as podman keeps them:
 *     {"auths": {"127.0.0.1:5000": {"auth": "base64(user:password)"}}}
 */
#define _GNU_SOURCE
#include "auth.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lazy.h" /* libcrypto's base64: auth_lookup and auth_store load it, registry.c at its start */
#include "util.h"

static int is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~/", c));
}

static const char *skip_ows(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* read a token into OUT; returns the position after it */
static const char *read_token(const char *p, char *out, size_t len)
{
	size_t n = 0;
	while (is_tchar(*p)) {
		if (n + 1 < len)
			out[n++] = *p;
		p++;
	}
	out[n] = 0;
	return p;
}

int auth_parse_challenges(const char *h, struct challenge *out, int max)
{
	int n = 0;
	const char *p = h;
	while (*p && n < max) {
		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		struct challenge *c = &out[n];
		memset(c, 0, sizeof(*c));
		p = read_token(p, c->scheme, sizeof(c->scheme));
		if (!c->scheme[0])
			break; /* garbage: stop where we are */
		n++;
		for (;;) {
			const char *start;
			char name[32];
			p = skip_ows(p);
			while (*p == ',' || *p == ' ' || *p == '\t')
				p++;
			start = p;
			p = read_token(p, name, sizeof(name));
			p = skip_ows(p);
			if (!name[0] || *p != '=') {
				p = start; /* a token not followed by '=' starts the next challenge */
				break;
			}
			p = skip_ows(p + 1);
			char *v = c->n_params < MAX_PARAMS ? c->param[c->n_params].value : NULL;
			size_t vn = 0, vmax = v ? sizeof(c->param[0].value) : 0;
			if (*p == '"') { /* quoted-string: "..." with \-escapes */
				for (p++; *p && *p != '"'; p++) {
					if (*p == '\\' && p[1])
						p++;
					if (v && vn + 1 < vmax)
						v[vn++] = *p;
				}
				if (*p == '"')
					p++;
			} else {
				while (is_tchar(*p) || *p == '=') {
					if (v && vn + 1 < vmax)
						v[vn++] = *p;
					p++;
				}
			}
			if (v) {
				v[vn] = 0;
				snprintf(c->param[c->n_params].name, sizeof(c->param[0].name), "%s", name);
				c->n_params++;
			}
		}
		if (p == h || (*p && *p != ',' && !is_tchar(*p)))
			break;
	}
	return n;
}

const char *challenge_param(const struct challenge *c, const char *name)
{
	for (int i = 0; i < c->n_params; i++)
		if (!strcasecmp(c->param[i].name, name))
			return c->param[i].value;
	return NULL;
}

void auth_file_path(const struct md_opts *o, char *buf, size_t len)
{
	const char *env = getenv("REGISTRY_AUTH_FILE"), *xdg = getenv("XDG_RUNTIME_DIR");
	if (o->authfile)
		snprintf(buf, len, "%s", o->authfile);
	else if (env && *env)
		snprintf(buf, len, "%s", env);
	else if (xdg && *xdg)
		snprintf(buf, len, "%s/containers/auth.json", xdg);
	else
		snprintf(buf, len, "/run/containers/%d/auth.json", (int)getuid());
}

static json_t *auth_load(const char *path, struct md_error *err)
{
	json_error_t je;
	json_t *j;
	if (access(path, F_OK) < 0)
		return json_pack("{s:{}}", "auths");
	j = json_load_file(path, 0, &je);
	if (!j || !json_is_object(j)) {
		json_decref(j);
		md_fail(err, "%s: not valid JSON (line %d: %s): fix or remove it", path, je.line, je.text);
		return NULL;
	}
	if (!json_is_object(json_object_get(j, "auths")))
		json_object_set_new(j, "auths", json_object());
	return j;
}

char *auth_basic_value(const char *user, const char *pass)
{
	char *plain = xasprintf("%s:%s", user, pass);
	size_t n = strlen(plain);
	unsigned char *b64 = xcalloc(4 * ((n + 2) / 3) + 1, 1);
	EVP_EncodeBlock(b64, (unsigned char *)plain, n);
	char *v = xasprintf("Basic %s", b64);
	explicit_bzero(plain, n);
	free(plain);
	free(b64);
	return v;
}

int auth_lookup(const struct md_opts *o, const char *host, char **user, char **pass, struct md_error *err)
{
	char path[4096];
	const char *keys[4] = {host, NULL, NULL, NULL};
	char *https = xasprintf("https://%s", host);
	int rc = 0;
	keys[1] = https;
	if (!strcmp(host, "registry-1.docker.io")) {
		keys[2] = "docker.io";
		keys[3] = "https://index.docker.io/v1/";
	}
	auth_file_path(o, path, sizeof(path));
	json_t *j = lazy_crypto(err) < 0 ? NULL : auth_load(path, err);
	if (!j) {
		free(https);
		return -1;
	}
	for (int i = 0; i < 4 && keys[i] && !rc; i++) {
		const char *a = json_string_value(json_object_get(json_object_get(json_object_get(j, "auths"), keys[i]), "auth"));
		if (!a)
			continue;
		size_t n = strlen(a);
		unsigned char *dec = xcalloc(n + 4, 1);
		int dn = EVP_DecodeBlock(dec, (const unsigned char *)a, n);
		char *colon = dn > 0 ? memchr(dec, ':', dn) : NULL;
		if (!colon) {
			free(dec);
			rc = md_fail(err, "%s: the entry for %s is not base64 of user:password", path, keys[i]);
			break;
		}
		*colon = 0;
		*user = xstrdup((char *)dec);
		*pass = xstrdup(colon + 1);
		explicit_bzero(dec, n + 4);
		free(dec);
		rc = 1;
	}
	free(https);
	json_decref(j);
	return rc;
}

int auth_store(const struct md_opts *o, const char *host, const char *user, const char *pass, struct md_error *err)
{
	char path[4096], *dir, *slash, *plain, *basic;
	auth_file_path(o, path, sizeof(path));
	json_t *j = lazy_crypto(err) < 0 ? NULL : auth_load(path, err);
	if (!j)
		return -1;
	basic = auth_basic_value(user, pass);
	json_object_set_new(json_object_get(j, "auths"), host, json_pack("{s:s}", "auth", basic + 6));
	free(basic);
	plain = json_dumps(j, JSON_INDENT(1));
	json_decref(j);
	dir = xstrdup(path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		if (mkdir_p(dir, 0700, err) < 0) {
			free(dir);
			free(plain);
			return -1;
		}
	}
	free(dir);
	int rc = write_file_atomic(path, plain, strlen(plain), err);
	if (rc == 0 && chmod(path, 0600) < 0)
		rc = md_fail_errno(err, "chmod %s", path);
	explicit_bzero(plain, strlen(plain));
	free(plain);
	return rc;
}
