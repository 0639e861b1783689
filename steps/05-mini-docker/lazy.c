/*
 * lazy.c: dlopen(3) libcurl, libarchive, libcrypto when a command first needs them
 * (lazy.h says why). git does the same in spirit: its core never links
 * libcurl, only the git-remote-https helper does.
 */
#define _GNU_SOURCE
#define LAZY_IMPL
#include "lazy.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

struct lazy_curl_table lazy_curl_fn;
struct lazy_archive_table lazy_archive_fn;
struct lazy_crypto_table lazy_crypto_fn;

struct lazy_sym {
	const char *name;
	void **slot; /* dlsym's idiom: a function pointer written as a void * */
};

/* the names from the lists in lazy.h, each with its slot in the table */
#define LAZY_CURL_SYM(f) {#f, (void **)&lazy_curl_fn.f},
#define LAZY_ARCHIVE_SYM(f) {#f, (void **)&lazy_archive_fn.f},
#define LAZY_CRYPTO_SYM(f) {#f, (void **)&lazy_crypto_fn.f},
static const struct lazy_sym curl_syms[] = {LAZY_CURL_FUNCS(LAZY_CURL_SYM)};
static const struct lazy_sym archive_syms[] = {LAZY_ARCHIVE_FUNCS(LAZY_ARCHIVE_SYM)};
static const struct lazy_sym crypto_syms[] = {LAZY_CRYPTO_FUNCS(LAZY_CRYPTO_SYM)};

struct lazy_lib {
	const char *soname;  /* the ABI the headers describe: libcurl.so.4, not the -dev package's libcurl.so */
	const char *package; /* Debian's package that ships it */
	const struct lazy_sym *syms;
	size_t n;
	int loaded;
};
static struct lazy_lib curl_lib = {"libcurl.so.4", "libcurl4", curl_syms, sizeof(curl_syms) / sizeof(*curl_syms), 0};
static struct lazy_lib archive_lib = {"libarchive.so.13", "libarchive13", archive_syms,
				      sizeof(archive_syms) / sizeof(*archive_syms), 0};
static struct lazy_lib crypto_lib = {"libcrypto.so.3", "libssl3", crypto_syms, sizeof(crypto_syms) / sizeof(*crypto_syms),
				     0};

/* pull's threads may unpack at the same time: one of them loads, the others wait */
static pthread_mutex_t lazy_lock = PTHREAD_MUTEX_INITIALIZER;

static int load(struct lazy_lib *l, struct md_error *err)
{
	int rc = 0;
	pthread_mutex_lock(&lazy_lock);
	if (l->loaded)
		goto out;
	/* never dlclose'd: curl_global_cleanup runs at exit */
	void *h = dlopen(l->soname, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		rc = md_fail(err, "%s (this command needs it: apt-get install %s)", dlerror(), l->package);
		goto out;
	}
	for (size_t i = 0; i < l->n; i++)
		if (!(*l->syms[i].slot = dlsym(h, l->syms[i].name))) {
			rc = md_fail(err, "%s has no %s: too old (apt-get install a newer %s)", l->soname, l->syms[i].name,
				     l->package);
			goto out;
		}
	l->loaded = 1;
out:
	pthread_mutex_unlock(&lazy_lock);
	return rc;
}

int lazy_curl(struct md_error *err)
{
	return load(&curl_lib, err);
}

int lazy_archive(struct md_error *err)
{
	return load(&archive_lib, err);
}

int lazy_crypto(struct md_error *err)
{
	return load(&crypto_lib, err);
}

/*
 * The variadic functions cannot be a plain pointer behind a macro: curl.h's
 * gcc type checks are macros named curl_easy_setopt and curl_easy_getinfo that
 * end by calling the function of that name. These are those functions: each
 * passes its one argument on with the type the library reads.
 */
#undef curl_easy_setopt
#undef curl_easy_getinfo

CURLcode curl_easy_setopt(CURL *c, CURLoption opt, ...)
{
	va_list ap;
	CURLcode rc;
	va_start(ap, opt);
	/* curl numbers its options by the type of their argument (curl.h: CURLOPTTYPE_*) */
	if (opt < CURLOPTTYPE_OBJECTPOINT)
		rc = lazy_curl_fn.curl_easy_setopt(c, opt, va_arg(ap, long));
	else if (opt < CURLOPTTYPE_FUNCTIONPOINT || opt >= CURLOPTTYPE_BLOB)
		rc = lazy_curl_fn.curl_easy_setopt(c, opt, va_arg(ap, void *));
	else if (opt < CURLOPTTYPE_OFF_T)
		rc = lazy_curl_fn.curl_easy_setopt(c, opt, va_arg(ap, void (*)(void)));
	else
		rc = lazy_curl_fn.curl_easy_setopt(c, opt, va_arg(ap, curl_off_t));
	va_end(ap);
	return rc;
}

CURLcode curl_easy_getinfo(CURL *c, CURLINFO info, ...)
{
	va_list ap;
	va_start(ap, info);
	void *out = va_arg(ap, void *); /* always a pointer to where the answer goes */
	va_end(ap);
	return lazy_curl_fn.curl_easy_getinfo(c, info, out);
}

void archive_set_error(struct archive *a, int errnum, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	lazy_archive_fn.archive_set_error(a, errnum, "%s", msg);
}
