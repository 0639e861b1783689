/*
 * lazy.h: libcurl, libarchive and libcrypto, loaded with dlopen(3) by the
 * commands that use them (pull, login, load, save, digests, and run's flatten
 * fallback), never by a plain run, ps, exec or rm.
 *
 * Linked normally, libcurl and libarchive pull about 40 more shared libraries
 * into every start of mini-docker (TLS, Kerberos, LDAP, SSH, libxml2, ICU...),
 * and libcrypto alone brings 3,000 relocations: the dynamic loader would map
 * and relocate them all before main(), and `run` would pay that (~6 ms) for
 * code it never calls. So mini-docker is not linked with them: lazy_curl(),
 * lazy_archive() and lazy_crypto() dlopen the library at the entry point of
 * what needs it and fill a table of function pointers with dlsym(3).
 *
 *     $ ldd mini-docker | grep -c .      # ~10 libraries, not ~50
 *     $ LD_DEBUG=files mini-docker pull busybox 2>&1 | grep 'file=libcurl'
 *
 * The call sites keep the library's own names: below, each name is a macro for
 * its slot in the table (curl_easy_init() is lazy_curl_fn.curl_easy_init()), and
 * the real headers still give every type. The variadic ones (curl_easy_setopt,
 * curl_easy_getinfo, archive_set_error) are small functions in lazy.c instead,
 * so that curl's compile-time type checks of curl_easy_setopt keep working.
 * Calling one before its lazy_*() succeeded is a NULL call: load first.
 */
#ifndef MD_LAZY_H
#define MD_LAZY_H

#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <openssl/evp.h>

#include "error.h"

/* dlopen libcurl (once; thread-safe): 0, or -1 with ERR naming the package to install */
int lazy_curl(struct md_error *err);
/* the same for libarchive */
int lazy_archive(struct md_error *err);
/* the same for libcrypto (sha256_init, the base64 of auth.c) */
int lazy_crypto(struct md_error *err);

/* every function of the library that mini-docker calls: one slot each */
#define LAZY_CURL_FUNCS(X)                                                                                     \
	X(curl_global_init) X(curl_global_cleanup) X(curl_easy_init) X(curl_easy_cleanup) X(curl_easy_perform) \
	X(curl_easy_strerror) X(curl_easy_setopt) X(curl_easy_getinfo) X(curl_slist_append)                    \
	X(curl_slist_free_all) X(curl_url) X(curl_url_cleanup) X(curl_url_set) X(curl_url_get) X(curl_free)

#define LAZY_ARCHIVE_FUNCS(X)                                                                                  \
	X(archive_errno) X(archive_error_string) X(archive_set_error) X(archive_read_new) X(archive_read_free)  \
	X(archive_read_support_filter_all) X(archive_read_support_format_raw)                                  \
	X(archive_read_support_format_tar) X(archive_read_open) X(archive_read_open_filename)                  \
	X(archive_read_next_header) X(archive_read_data) X(archive_write_new) X(archive_write_free)            \
	X(archive_write_set_format_pax_restricted) X(archive_write_open_filename) X(archive_write_header)       \
	X(archive_write_data) X(archive_write_close) X(archive_entry_new) X(archive_entry_free)                \
	X(archive_entry_pathname) X(archive_entry_hardlink) X(archive_entry_symlink) X(archive_entry_filetype) \
	X(archive_entry_perm) X(archive_entry_uid) X(archive_entry_gid) X(archive_entry_rdevmajor)             \
	X(archive_entry_rdevminor) X(archive_entry_atime) X(archive_entry_atime_nsec)                          \
	X(archive_entry_atime_is_set) X(archive_entry_mtime) X(archive_entry_mtime_nsec)                       \
	X(archive_entry_xattr_reset) X(archive_entry_xattr_next) X(archive_entry_set_pathname)                 \
	X(archive_entry_set_filetype) X(archive_entry_set_perm) X(archive_entry_set_size)                      \
	X(archive_entry_set_mtime) X(archive_write_open) X(archive_write_set_format_option)                    \
	X(archive_entry_set_uid) X(archive_entry_set_gid) X(archive_entry_set_symlink)                         \
	X(archive_entry_set_hardlink) X(archive_entry_xattr_add_entry)

#define LAZY_CRYPTO_FUNCS(X)                                                                                   \
	X(EVP_MD_CTX_new) X(EVP_MD_CTX_free) X(EVP_DigestInit_ex) X(EVP_DigestUpdate) X(EVP_DigestFinal_ex)    \
	X(EVP_sha256) X(EVP_EncodeBlock) X(EVP_DecodeBlock)

/* a pointer of the function's own type, named as the function */
#define LAZY_SLOT(f) __typeof__(f) *f;
struct lazy_curl_table {
	LAZY_CURL_FUNCS(LAZY_SLOT)
};
struct lazy_archive_table {
	LAZY_ARCHIVE_FUNCS(LAZY_SLOT)
};
struct lazy_crypto_table {
	LAZY_CRYPTO_FUNCS(LAZY_SLOT)
};
#undef LAZY_SLOT
extern struct lazy_curl_table lazy_curl_fn;
extern struct lazy_archive_table lazy_archive_fn;
extern struct lazy_crypto_table lazy_crypto_fn;

#ifndef LAZY_IMPL /* lazy.c fills the tables by these names: it must see them unchanged */
#define curl_global_init lazy_curl_fn.curl_global_init
#define curl_global_cleanup lazy_curl_fn.curl_global_cleanup
#define curl_easy_init lazy_curl_fn.curl_easy_init
#define curl_easy_cleanup lazy_curl_fn.curl_easy_cleanup
#define curl_easy_perform lazy_curl_fn.curl_easy_perform
#define curl_easy_strerror lazy_curl_fn.curl_easy_strerror
#define curl_slist_append lazy_curl_fn.curl_slist_append
#define curl_slist_free_all lazy_curl_fn.curl_slist_free_all
#define curl_url lazy_curl_fn.curl_url
#define curl_url_cleanup lazy_curl_fn.curl_url_cleanup
#define curl_url_set lazy_curl_fn.curl_url_set
#define curl_url_get lazy_curl_fn.curl_url_get
#define curl_free lazy_curl_fn.curl_free

#define archive_errno lazy_archive_fn.archive_errno
#define archive_error_string lazy_archive_fn.archive_error_string
#define archive_read_new lazy_archive_fn.archive_read_new
#define archive_read_free lazy_archive_fn.archive_read_free
#define archive_read_support_filter_all lazy_archive_fn.archive_read_support_filter_all
#define archive_read_support_format_raw lazy_archive_fn.archive_read_support_format_raw
#define archive_read_support_format_tar lazy_archive_fn.archive_read_support_format_tar
#define archive_read_open lazy_archive_fn.archive_read_open
#define archive_read_open_filename lazy_archive_fn.archive_read_open_filename
#define archive_read_next_header lazy_archive_fn.archive_read_next_header
#define archive_read_data lazy_archive_fn.archive_read_data
#define archive_write_new lazy_archive_fn.archive_write_new
#define archive_write_free lazy_archive_fn.archive_write_free
#define archive_write_set_format_pax_restricted lazy_archive_fn.archive_write_set_format_pax_restricted
#define archive_write_open_filename lazy_archive_fn.archive_write_open_filename
#define archive_write_header lazy_archive_fn.archive_write_header
#define archive_write_data lazy_archive_fn.archive_write_data
#define archive_write_close lazy_archive_fn.archive_write_close
#define archive_entry_new lazy_archive_fn.archive_entry_new
#define archive_entry_free lazy_archive_fn.archive_entry_free
#define archive_entry_pathname lazy_archive_fn.archive_entry_pathname
#define archive_entry_hardlink lazy_archive_fn.archive_entry_hardlink
#define archive_entry_symlink lazy_archive_fn.archive_entry_symlink
#define archive_entry_filetype lazy_archive_fn.archive_entry_filetype
#define archive_entry_perm lazy_archive_fn.archive_entry_perm
#define archive_entry_uid lazy_archive_fn.archive_entry_uid
#define archive_entry_gid lazy_archive_fn.archive_entry_gid
#define archive_entry_rdevmajor lazy_archive_fn.archive_entry_rdevmajor
#define archive_entry_rdevminor lazy_archive_fn.archive_entry_rdevminor
#define archive_entry_atime lazy_archive_fn.archive_entry_atime
#define archive_entry_atime_nsec lazy_archive_fn.archive_entry_atime_nsec
#define archive_entry_atime_is_set lazy_archive_fn.archive_entry_atime_is_set
#define archive_entry_mtime lazy_archive_fn.archive_entry_mtime
#define archive_entry_mtime_nsec lazy_archive_fn.archive_entry_mtime_nsec
#define archive_entry_xattr_reset lazy_archive_fn.archive_entry_xattr_reset
#define archive_entry_xattr_next lazy_archive_fn.archive_entry_xattr_next
#define archive_entry_set_pathname lazy_archive_fn.archive_entry_set_pathname
#define archive_entry_set_filetype lazy_archive_fn.archive_entry_set_filetype
#define archive_entry_set_perm lazy_archive_fn.archive_entry_set_perm
#define archive_entry_set_size lazy_archive_fn.archive_entry_set_size
#define archive_entry_set_mtime lazy_archive_fn.archive_entry_set_mtime
#define archive_write_open lazy_archive_fn.archive_write_open
#define archive_write_set_format_option lazy_archive_fn.archive_write_set_format_option
#define archive_entry_set_uid lazy_archive_fn.archive_entry_set_uid
#define archive_entry_set_gid lazy_archive_fn.archive_entry_set_gid
#define archive_entry_set_symlink lazy_archive_fn.archive_entry_set_symlink
#define archive_entry_set_hardlink lazy_archive_fn.archive_entry_set_hardlink
#define archive_entry_xattr_add_entry lazy_archive_fn.archive_entry_xattr_add_entry

#define EVP_MD_CTX_new lazy_crypto_fn.EVP_MD_CTX_new
#define EVP_MD_CTX_free lazy_crypto_fn.EVP_MD_CTX_free
#define EVP_DigestInit_ex lazy_crypto_fn.EVP_DigestInit_ex
#define EVP_DigestUpdate lazy_crypto_fn.EVP_DigestUpdate
#define EVP_DigestFinal_ex lazy_crypto_fn.EVP_DigestFinal_ex
#define EVP_sha256 lazy_crypto_fn.EVP_sha256
#define EVP_EncodeBlock lazy_crypto_fn.EVP_EncodeBlock
#define EVP_DecodeBlock lazy_crypto_fn.EVP_DecodeBlock
#endif

#endif
