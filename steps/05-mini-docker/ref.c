/*
 * ref.c: what "busybox" means. A short name is completed the way Docker does:
 *
 *     busybox                  -> docker.io/library/busybox:latest
 *     user/app:1.0             -> docker.io/user/app:1.0
 *     127.0.0.1:5000/app       -> 127.0.0.1:5000/app:latest
 *     quay.io/x/y@sha256:...   -> by digest
 *
 * The first component is a registry when it has a '.' or a ':' or is "localhost".
 */
#include "ref.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static int repo_valid(const char *s)
{
	/* lowercase components of [a-z0-9] joined by '.', '_', '__' or '-', separated by '/' */
	if (!*s || *s == '/' || s[strlen(s) - 1] == '/')
		return 0;
	for (const char *p = s; *p; p++) {
		if (islower((unsigned char)*p) || isdigit((unsigned char)*p))
			continue;
		if (strchr("._-/", *p) && p > s && isalnum((unsigned char)p[-1]))
			continue;
		if (*p == '_' && p[-1] == '_')
			continue;
		if (*p == '-' && p[-1] == '-')
			continue;
		return 0;
	}
	return isalnum((unsigned char)s[strlen(s) - 1]);
}

static int tag_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 128 || !(isalnum((unsigned char)*s) || *s == '_'))
		return 0;
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("_.-", *p))
			return 0;
	return 1;
}

/* a registry is a host name ([a-zA-Z0-9-] components joined by '.') or [IPv6], then an optional :port */
static int registry_valid(const char *s)
{
	const char *p = s;
	if (*p == '[') {
		for (p++; isxdigit((unsigned char)*p) || *p == ':' || (*p == '.' && isdigit((unsigned char)p[-1])); p++)
			;
		if (*p++ != ']' || p == s + 2)
			return 0;
	} else {
		for (;;) {
			const char *c = p;
			while (isalnum((unsigned char)*p) || *p == '-')
				p++;
			if (p == c || *c == '-' || p[-1] == '-')
				return 0;
			if (*p != '.')
				break;
			p++;
		}
	}
	if (*p == ':') {
		const char *d = ++p;
		while (isdigit((unsigned char)*p))
			p++;
		if (p == d || p - d > 5)
			return 0;
	}
	return *p == 0;
}

int ref_parse(const char *s, struct image_ref *r, struct md_error *err)
{
	char buf[600], *at, *slash, *colon, *name;
	memset(r, 0, sizeof(*r));
	if (strlen(s) >= sizeof(buf) - 1)
		return md_fail(err, "invalid reference '%.40s...': too long", s);
	strcpy(buf, s);

	if ((at = strchr(buf, '@'))) {
		*at = 0;
		if (!digest_valid(at + 1))
			return md_fail(err, "invalid reference '%s': the digest must be sha256: and 64 lowercase hex digits", s);
		strcpy(r->digest, at + 1);
	}
	/* a tag is a ':' after the last '/' (a ':' before it is a port) */
	slash = strrchr(buf, '/');
	colon = strrchr(slash ? slash : buf, ':');
	if (colon) {
		*colon = 0;
		if (!tag_valid(colon + 1))
			return md_fail(err, "invalid reference '%s': bad tag '%s'", s, colon + 1);
		strcpy(r->tag, colon + 1);
	} else if (!r->digest[0]) {
		strcpy(r->tag, "latest");
	}

	name = buf;
	slash = strchr(buf, '/');
	if (slash && (memchr(buf, '.', slash - buf) || memchr(buf, ':', slash - buf) ||
		      (slash - buf == 9 && !strncmp(buf, "localhost", 9)))) {
		*slash = 0;
		if (strlen(buf) >= sizeof(r->registry))
			return md_fail(err, "invalid reference '%s': registry name too long", s);
		strcpy(r->registry, buf);
		name = slash + 1;
	} else {
		strcpy(r->registry, "docker.io");
	}
	if (!strcmp(r->registry, "index.docker.io"))
		strcpy(r->registry, "docker.io");
	if (!registry_valid(r->registry))
		return md_fail(err, "invalid reference '%s': bad registry '%s' (a host name or [address], then an optional :port)",
			       s, r->registry);
	int official = !strcmp(r->registry, "docker.io") && !strchr(name, '/');
	if (strlen(name) + (official ? 8 : 0) >= sizeof(r->repo))
		return md_fail(err, "invalid reference '%s': name too long", s);
	if (official)
		snprintf(r->repo, sizeof(r->repo), "library/%s", name); /* official images */
	else
		strcpy(r->repo, name);
	if (!repo_valid(r->repo))
		return md_fail(err, "invalid reference '%s': a repository name is lowercase letters, digits and . _ - / "
				    "(like busybox or 127.0.0.1:5000/team/app:1.0)",
			       s);
	return 0;
}

const char *ref_api_host(const struct image_ref *r)
{
	return strcmp(r->registry, "docker.io") ? r->registry : "registry-1.docker.io";
}

void ref_name(const struct image_ref *r, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", r->registry, r->repo);
}

void ref_string(const struct image_ref *r, char *buf, size_t len)
{
	if (r->tag[0])
		snprintf(buf, len, "%s/%s:%s", r->registry, r->repo, r->tag);
	else
		snprintf(buf, len, "%s/%s@%s", r->registry, r->repo, r->digest);
}
