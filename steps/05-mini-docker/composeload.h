/*
 * composeload.h: the loader, shared by the three files that read compose.yaml:
 * composefile.c (the pool, and the tools below), composeservice.c (a service's
 * keys) and composeproject.c (the file, .env, the project, compose_load).
 * Every node keeps its line, so each error says where: "compose.yaml:7: ...".
 */
#ifndef MD_COMPOSELOAD_H
#define MD_COMPOSELOAD_H

#include <stddef.h>
#include <yaml.h>

/* composefile.h's (the files that include this one include it too) */
struct compose_project;
struct compose_service;
struct pool;
struct strs;
struct md_error;

/* the document, where we are, the variables */
struct loader {
	struct compose_project *p;
	struct pool *pool;
	yaml_document_t doc;
	const char *file;
	char **dotenv; /* .env's K=V lines, NULL-terminated */
	struct md_error *err;
};

/* one key of a mapping and its value */
struct pair {
	yaml_node_t *key, *value;
};

/* "compose.yaml:7: services.web: ..." ; returns -1 */
int cf_at(struct loader *l, yaml_node_t *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* the node numbered INDEX (a mapping's or a sequence's item) */
yaml_node_t *cf_node(struct loader *l, int index);
/* N's text when it is a scalar, else NULL */
const char *cf_scalar(yaml_node_t *n);
/* ~, null and nothing at all (`key:`), when not quoted */
int cf_is_null(yaml_node_t *n);
/* $NAME (LEN bytes): the shell's environment first, then .env; NULL when unset */
const char *cf_lookup(struct loader *l, const char *name, size_t len);
/* a scalar's value, interpolated, in the pool; NULL (ERR filled) when it is not a scalar */
const char *cf_value(struct loader *l, yaml_node_t *n, const char *where);
/* true/false (and YAML 1.1's yes/no, on/off) into *OUT */
int cf_boolean(struct loader *l, yaml_node_t *n, const char *where, int *out);
/* a sequence of strings (or, with ONE_OK, a single string) */
int cf_list(struct loader *l, yaml_node_t *n, const char *where, int one_ok, struct strs *out);
/* N's keys and values, merges (<<: *anchor) done; NULL with ERR when N is not a mapping */
struct pair *cf_mapping(struct loader *l, yaml_node_t *n, const char *where, int *count);
/* x-*: a key of your own, never an error */
int cf_extension(const char *key);
/* the error for key K under WHERE, naming the KNOWN ones: -1 */
int cf_unknown(struct loader *l, yaml_node_t *k, const char *where, const char *known);
/* environment: / build.args: as a mapping (K: V, K: null) or a list ("K=V", "K") */
int cf_kv_list(struct loader *l, yaml_node_t *n, const char *where, struct strs *out);
/* command: / entrypoint: as a list, or a string split as a shell would */
int cf_command(struct loader *l, yaml_node_t *n, const char *where, struct strs *out);

/* ---- composeservice.c ---- */
/* services.NAME into S; DECLARED: the top-level volumes:, as written */
int cf_service(struct loader *l, struct compose_service *s, yaml_node_t *n, const struct strs *declared);

#endif
