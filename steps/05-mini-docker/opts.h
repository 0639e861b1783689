/*
 * opts.h: one option parser for every command, over getopt_long(3).
 *
 * Steps 01-04 parse box's options with getopt_long; mini-docker has a dozen
 * commands, so each one describes its options in a table and reads them in
 * a loop, as docker's commands do with their flag sets:
 *
 *     enum { FORCE, VOLUMES };
 *     static const struct md_option options[] = {
 *         [FORCE] = {"force", 'f', MD_FLAG}, [VOLUMES] = {"volumes", 'v', MD_FLAG},
 *     };
 *     md_getopt_init(&g, "rm", "rm [-f] [-v] CONTAINER...", options, MD_N(options), MD_ANYWHERE, argc, argv);
 *     while ((k = md_getopt(&g, &err)) >= 0)
 *         if (k == FORCE) force = 1;
 *     if (k != MD_OPT_END)
 *         return md_getopt_status(k, &err);    // --help: 0; a bad option: its one line, 125
 *     // the operands: argv[g.optind] ... argv[argc - 1]
 *
 * What getopt_long gives every command: bundled short options (-it, -fv,
 * -eK=V), --name=x or --name x, -- to end the options. What this file adds:
 * our one-line errors ("run: --name needs a value"), long options matched
 * whole (getopt_long alone would take --priv for --privileged), --flag=true
 * for a flag (docker writes booleans so), and --help for a command whose
 * table has none.
 */
#ifndef MD_OPTS_H
#define MD_OPTS_H

#include <getopt.h>
#include <stddef.h>

#include "error.h"

enum md_arg {
	MD_FLAG,  /* -a, --all; --all=true too, docker's way to write a flag */
	MD_VALUE, /* -e K=V, -eK=V, --env K=V, --env=K=V */
	MD_FLAG_EQ, /* a flag whose long form may carry =WORD, which the command judges (run --userns=host) */
};

struct md_option {
	const char *lng; /* "env": --env */
	char shrt;	 /* 'e': -e; 0 for none */
	int arg;	 /* enum md_arg */
};

enum md_order {
	MD_ANYWHERE, /* options anywhere among the operands, as docker's: rm ID -f */
	MD_FIRST,    /* the first operand ends the options: run IMAGE ls -l, exec ID ls -l */
};

/* md_getopt's answers besides an index into the table */
enum { MD_OPT_END = -1, MD_OPT_HELP = -2, MD_OPT_ERROR = -3 };

#define MD_N(table)    (sizeof(table) / sizeof((table)[0]))
#define MD_OPTIONS_MAX 40

struct md_getopt {
	const char *cmd;   /* "rm", in front of each error; NULL: mini-docker's global options */
	const char *usage; /* "rm [-f] [-v] CONTAINER...": what --help prints */
	const struct md_option *table;
	int n, argc;
	char **argv;
	struct option longs[MD_OPTIONS_MAX + 2]; /* getopt_long's tables, made from TABLE */
	char shorts[2 * MD_OPTIONS_MAX + 8];
	int operands; /* MD_ANYWHERE: the operands seen so far, gathered in argv[1..] */
	/* after each option */
	const char *value; /* MD_VALUE's value, MD_FLAG_EQ's =WORD; else NULL */
	char shown[64];	   /* the option as the user wrote it, "-e" or "--env", for messages */
	/* after MD_OPT_END: the operands are argv[optind] ... argv[argc - 1], in their order */
	int optind;
};

/* Get ready to read ARGV (ARGV[0] is the command's name) with TABLE's N options. */
void md_getopt_init(struct md_getopt *g, const char *cmd, const char *usage,
		    const struct md_option *table, size_t n, enum md_order order, int argc,
		    char **argv);
/* The next option: its index in the table (g->value, g->shown say more); MD_OPT_END
 * after the last; MD_OPT_HELP after printing the usage for --help; MD_OPT_ERROR with ERR. */
int md_getopt(struct md_getopt *g, struct md_error *err);
/* A command's exit status when md_getopt ended with K: 0 after --help, else ERR's line and 125. */
int md_getopt_status(int k, const struct md_error *err);

/* "mini-docker: usage: mini-docker USAGE" on stderr; returns 125 */
int md_usage(const char *usage);

#endif
