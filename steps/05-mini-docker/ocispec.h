/* ocispec.h: a bundle's config.json read into what the engine runs (ocispec.c, ociseccomp.c) */
#ifndef MD_OCISPEC_H
#define MD_OCISPEC_H

#include <jansson.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "container.h"
#include "error.h"

#define OCI_VERSION "1.0.2"
#define OCI_MAX 64

/* one entry of "mounts", its options already turned into mount(2)'s flags and data */
struct oci_mount {
	const char *dst, *src, *type; /* dst: relative to the new root ("proc", "dev/pts") */
	unsigned long flags;          /* MS_* of the options; MS_BIND (| MS_REC) for bind/rbind */
	unsigned long propagation;    /* MS_PRIVATE, MS_SLAVE ... (| MS_REC) or 0 */
	char data[512];               /* the options mount(2) does not know as flags ("mode=755") */
};

/* Everything config.json asks, in the engine's own types where it has them. */
struct oci_config {
	struct run_config rc; /* what cgroups.c, security.c, mounts.c and become.c read */
	struct container c;   /* c.rootfs: the root's absolute path */
	json_t *json;         /* the config: every string below points into it */
	char *bundle;         /* absolute */
	unsigned long clone_flags;  /* the namespaces to make (CLONE_NEWCGROUP: unshared after the cgroup) */
	struct { int flag; const char *path; } joins[8]; /* the namespaces to join (setns) */
	int n_joins;
	const char *domainname; /* setdomainname(2) in the uts namespace, beside the hostname */
	char uid_map[512], gid_map[512]; /* "IN OUT COUNT\n" lines, for /proc/PID/[ug]id_map */
	uid_t uid;
	gid_t gid;
	gid_t groups[64]; /* additionalGids */
	int n_groups;
	struct { int resource; struct rlimit limit; } rlimits[RLIM_NLIMITS];
	int n_rlimits;
	struct oci_mount mounts[OCI_MAX];
	int n_mounts;
	const char *masked[OCI_MAX], *readonly[OCI_MAX]; /* relative: "proc/kcore" */
	int n_masked, n_readonly;
	struct { const char *path; mode_t mode; dev_t dev; uid_t uid; gid_t gid; } devices[OCI_MAX]; /* linux.devices */
	int n_devices;
	const char *sysctl[OCI_MAX][2]; /* key, value */
	int n_sysctl;
	int terminal;
	struct winsize console_size; /* process.consoleSize: the pty's rows and columns at start */
	int has_console_size;
	int oom_score_adj, has_oom_score_adj;
	mode_t umask;                     /* process.user.umask, 022 unless given (runc's) */
	unsigned long rootfs_propagation; /* MS_PRIVATE | MS_REC unless rootfsPropagation says */
	int preserve_fds;                 /* not the config's: runc.c's --preserve-fds N */
	json_t *annotations;              /* borrowed from json, or NULL */
};

/* read BUNDLE/config.json into OC; a field this runtime cannot honour is an error that names it */
int oci_load(const char *bundle, struct oci_config *oc, struct md_error *err);
void oci_free(struct oci_config *oc);
/* mini-runc exec: P, the spec's process object, replaces the config's (OC's strings point into P) */
int oci_process(json_t *p, struct oci_config *oc, struct md_error *err);
/* the config `mini-runc spec` writes (runc spec's, with args ["sh"]) */
json_t *oci_default_spec(void);

#endif
