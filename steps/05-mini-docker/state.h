/*
 * state.h: what the lifecycle commands know about a container.
 *
 * The record of a container is ROOT/containers/ID/state.json (record.c
 * writes it at create, ns.c when it starts, run.c when it ends); a detached
 * container's monitor adds its own fields (monitor_pid, ip, ports, log ...).
 * Every value is a string. Writers take flock(2) on the container's directory,
 * then write a temporary file and rename(2) it over state.json: a reader sees
 * the old record or the new one, never half of one.
 *
 * What belongs to this boot only, the bridge's address leases and their lock,
 * lives in /run/mini-docker (ipam.c).
 */
#ifndef MD_STATE_H
#define MD_STATE_H

#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"
#include "mini-docker.h"

/* NAME, a full ID or a unique prefix of one -> the full ID */
int state_find(const struct md_opts *o, const char *what, char id[65], struct md_error *err);
/* The ids of every container in the store, malloc'd (free each and the array) */
char **state_list(const struct md_opts *o, int *n);
/* state.json of ID, or NULL when there is no such container */
json_t *state_load(const struct md_opts *o, const char *id);
/* state_find then state_load: NULL with ERR filled (no such container, or its record unreadable) */
json_t *state_open(const struct md_opts *o, const char *what, char id[65], struct md_error *err);
/* the same, the error said on stderr ("mini-docker: ...") */
json_t *state_open_said(const struct md_opts *o, const char *what, char id[65]);
/* Set string KEY, VALUE pairs (NULL-terminated) in ID's state.json, under its lock. */
int state_set(const struct md_opts *o, const char *id, struct md_error *err, ...)
    __attribute__((sentinel));
/* the same with a va_list (record.c's container_state) */
int state_vset(const struct md_opts *o, const char *id, struct md_error *err, va_list ap);
/* A string field, "" when missing */
const char *state_str(json_t *j, const char *key);
/* The PID in KEY when that process still lives and started at the time in START_KEY, else 0 */
pid_t state_alive(json_t *j, const char *key, const char *start_key);
/* Field 22 of /proc/PID/stat ("0" when gone): with the PID it names one process, never a later one */
void proc_start_time(pid_t pid, char *out, size_t len);
/* "2026-11-29T05:20:01.123456789Z", as docker's timestamps */
void time_now(char *out, size_t len);
/* seconds since the epoch of such a timestamp (or of "...Z" without a fraction); 0 when unparsable */
double time_parse(const char *s);
/* "5 seconds", "About a minute", "3 hours": docker's human durations */
void human_duration(double secs, char *out, size_t len);

/* The container's effective status: running, created, exited, or dead (state
 * says running but its process is gone: the engine or monitor was killed) */
const char *state_status(json_t *j, pid_t *pid);

/* ROOT/containers/ID/spare: blocks container_create reserves, freed for state.json on a full disk */
#define STATE_SPARE "spare"

/* open and flock(LOCK_EX) PATH (made when missing); the lock goes with close() */
int lock_file(const char *path, struct md_error *err);

#endif
