/*
 * opts.c: one option parser for every command (see opts.h), over getopt_long(3).
 *
 * getopt_long reads a table of `struct option` and a string of short options
 * ("+:ite:w:u:"); we make both from the command's md_option table, then let
 * it walk argv. Its optstring starts with two characters that matter here:
 *   '+'  stop at the first operand (REQUIRE_ORDER): run IMAGE ls -l leaves
 *        "-l" to ls, as docker run does;
 *   '-'  hand each operand back as option 1 (RETURN_IN_ORDER): options may
 *        follow operands (rm ID -f), whatever POSIXLY_CORRECT says; we gather
 *        the operands at the end of argv ourselves, in their order;
 *   ':'  (after either) report a missing value as ':', not '?'; with opterr = 0
 *        getopt prints nothing: the one-line errors are ours.
 * A second parse in the same process (system prune calls rm) starts afresh:
 * optind = 0 makes glibc initialize again (getopt(3), NOTES).
 */
#define _GNU_SOURCE
#include "opts.h"

#include <stdio.h>
#include <string.h>

#include "mini-docker.h"

/* getopt_long's answer for the long option K: LONG_BASE + K, above every char */
#define LONG_BASE 256

void md_getopt_init(struct md_getopt *g, const char *cmd, const char *usage,
		    const struct md_option *table, size_t n, enum md_order order, int argc,
		    char **argv)
{
	char *s = g->shorts;
	int has_help = 0, has_h = 0;
	memset(g, 0, sizeof(*g));
	g->cmd = cmd;
	g->usage = usage;
	g->table = table;
	g->argc = argc;
	g->argv = argv;
	if (n > MD_OPTIONS_MAX) { /* a table that grew: md_getopt says so */
		g->n = -1;
		return;
	}
	g->n = (int)n;
	*s++ = order == MD_FIRST ? '+' : '-';
	*s++ = ':';
	for (size_t k = 0; k < n; k++) {
		/* a flag is optional_argument for its long form: --rm=true is ours to judge */
		g->longs[k] = (struct option){
		    table[k].lng, table[k].arg == MD_VALUE ? required_argument : optional_argument,
		    NULL, LONG_BASE + (int)k};
		if (table[k].shrt) {
			*s++ = table[k].shrt;
			if (table[k].arg == MD_VALUE)
				*s++ = ':';
		}
		has_help |= !strcmp(table[k].lng, "help");
		has_h |= table[k].shrt == 'h';
	}
	if (!has_help) { /* --help (and -h, when free) for the commands that do not handle it */
		g->longs[n] = (struct option){"help", optional_argument, NULL, LONG_BASE + (int)n};
		if (!has_h)
			*s++ = 'h';
	}
	*s = 0;
	optind = 0;
}

static void reverse(char **a, int n)
{
	for (int i = 0, j = n - 1; i < j; i++, j--) {
		char *t = a[i];
		a[i] = a[j];
		a[j] = t;
	}
}

/* a[0..n) turned left by k, in place (three reversals): a[k] comes first */
static void rotate(char **a, int n, int k)
{
	reverse(a, k);
	reverse(a + k, n - k);
	reverse(a, n);
}

/* The long option just read, as written up to any '=': its value may be the
 * element after it (--name x), and then optind has moved past both. */
static const char *written_long(struct md_getopt *g)
{
	const char *elem = g->argv[optind - (optarg && optarg == g->argv[optind - 1] ? 2 : 1)];
	snprintf(g->shown, sizeof(g->shown), "%.*s", (int)strcspn(elem, "="), elem);
	return g->shown;
}

/* getopt_long takes a piece of a name (--priv for --privileged); docker does not, nor do we */
static int whole(struct md_getopt *g, int index)
{
	return !strcmp(written_long(g) + 2, g->longs[index].name);
}

static int unknown(struct md_getopt *g, const char *written, struct md_error *err)
{
	if (!g->cmd)
		return md_fail(err,
			       "unknown global option %s (global options come before the command; "
			       "see mini-docker --help)",
			       written),
		       MD_OPT_ERROR;
	return md_fail(err, "%s: unknown option %s (see mini-docker %s --help)", g->cmd, written,
		       g->cmd),
	       MD_OPT_ERROR;
}

/* "rm: " in front of an error of a command's options; nothing for the global ones */
static const char *lead(const struct md_getopt *g)
{
	static char buf[64];
	snprintf(buf, sizeof(buf), "%s%s", g->cmd ? g->cmd : "", g->cmd ? ": " : "");
	return buf;
}

int md_getopt(struct md_getopt *g, struct md_error *err)
{
	char **argv = g->argv;
	if (g->n < 0)
		return md_fail(
			   err,
			   "%smore than %d options in the table: raise MD_OPTIONS_MAX in opts.h",
			   lead(g), MD_OPTIONS_MAX),
		       MD_OPT_ERROR;
	for (;;) {
		/* the element getopt reads next, or goes on reading (-xit): optind moves past it
		 * with its last character; 0 is 1 (a new parse) */
		int index = -1, at = optind ? optind : 1;
		opterr = 0;
		int c = getopt_long(g->argc, argv, g->shorts, g->longs, &index);
		g->value = NULL;
		g->shown[0] = 0;
		if (c == 1) { /* an operand (MD_ANYWHERE): after those before it, in argv[1..] */
			int first = 1 + g->operands, pos = optind - 1;
			rotate(argv + first, pos - first + 1, pos - first);
			g->operands++;
			continue;
		}
		if (c == -1) {
			/* argv[1..operands) the operands, then the options, then what followed "--": the
			 * operands go last, so that they are argv[optind..argc) */
			rotate(argv + 1, optind - 1, g->operands);
			g->optind = optind - g->operands;
			return MD_OPT_END;
		}
		/* an unknown short option: -x, or -x in -xit */
		if (c == '?' && optopt && optopt < LONG_BASE) {
			char written[sizeof(g->shown)];
			snprintf(written, sizeof(written), "-%c%s%.40s", optopt,
				 argv[at][2] ? " in " : "", argv[at][2] ? argv[at] : "");
			return unknown(g, written, err);
		}
		/* a long one with no value: getopt_long names it in optopt only */
		if (c == ':' && optopt >= LONG_BASE)
			index = optopt - LONG_BASE;
		/* an unknown long one, or a piece of a name */
		if (c == '?' || (index >= 0 && !whole(g, index)))
			return unknown(g, written_long(g), err);
		int k;
		if (index >= 0) {
			k = index;
			snprintf(g->shown, sizeof(g->shown), "--%s", g->longs[k].name);
		} else {
			int ch = c == ':' ? optopt : c;
			for (k = 0; k < g->n && g->table[k].shrt != ch; k++)
				;
			snprintf(g->shown, sizeof(g->shown), "-%c", ch);
		}
		if (c == ':')
			return md_fail(err, "%s%s needs a value", lead(g), g->shown), MD_OPT_ERROR;
		g->value = optarg;
		int arg = k < g->n ? g->table[k].arg : MD_FLAG; /* k == n: our --help */
		if (arg == MD_FLAG && optarg) {
			if (strcmp(optarg, "true"))
				return md_fail(err, "%s%s=%s takes no value", lead(g), g->shown,
					       optarg),
				       MD_OPT_ERROR;
			g->value = NULL;
		}
		if (k == g->n) {
			printf("Usage: mini-docker %s\n", g->usage);
			return MD_OPT_HELP;
		}
		return k;
	}
}

int md_getopt_status(int k, const struct md_error *err)
{
	if (k == MD_OPT_HELP)
		return 0;
	fflush(stdout);
	fprintf(stderr, "mini-docker: %s\n", err->msg);
	return EXIT_ENGINE;
}

int md_usage(const char *usage)
{
	fprintf(stderr, "mini-docker: usage: mini-docker %s\n", usage);
	return EXIT_ENGINE;
}
