/*
 * network.c: mini-docker network create|ls|rm|inspect, docker's user-defined
 * bridge networks.
 *
 *     $ docker network create web          # what it imitates
 *     $ mini-docker network create web     # a bridge md-ID12, 10.89.0.0/24
 *     $ mini-docker run -d --network web --name db ...
 *     $ mini-docker run --network web ... ping db
 *     $ mini-docker network rm web         # once no container is on it
 *
 * A network is a switch of its own: containers on it reach each other (and
 * find each other by name and --network-alias), not those of mini0 or of
 * another network. compose puts each project on PROJECT_default this way.
 * The records and the addresses are ipam.c's, the bridges bridge.c's: this
 * file is the command line.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container.h"
#include "ipam.h"
#include "net.h"
#include "network.h"
#include "opts.h"
#include "util.h"

static int fail(const struct md_error *err)
{
	fprintf(stderr, "mini-docker: %s\n", err->msg);
	return EXIT_ENGINE;
}

static int network_create(const struct md_opts *o, int argc, char **argv)
{
	enum { SUBNET, DRIVER };
	static const struct md_option options[] = {
	    [SUBNET] = {"subnet", 0, MD_VALUE}, [DRIVER] = {"driver", 'd', MD_VALUE}};
	const char *usage = "network create [--subnet CIDR] NAME";
	struct run_config *rc = xcalloc(1, sizeof(*rc)); /* net_parse_subnet's answer */
	struct md_getopt g;
	struct md_error err;
	struct network n;
	int k, status = EXIT_ENGINE;
	md_getopt_init(&g, "network create", usage, options, MD_N(options), MD_ANYWHERE, argc,
		       argv);
	while ((k = md_getopt(&g, &err)) >= 0) {
		if (k == SUBNET && net_parse_subnet(g.value, rc, &err) < 0)
			goto out;
		if (k == DRIVER && strcmp(g.value, "bridge")) {
			md_fail(&err, "network create: driver %s: only bridge is supported",
				g.value);
			goto out;
		}
	}
	if (k != MD_OPT_END) {
		status = md_getopt_status(k, &err);
		free(rc);
		return status;
	}
	if (argc - g.optind != 1) {
		free(rc);
		return md_usage(usage);
	}
	if (ipam_network_create(o, argv[g.optind], rc->subnet_prefix ? &rc->subnet : NULL,
				rc->subnet_prefix, &n, &err) < 0)
		goto out;
	printf("%s\n", n.id);
	free(rc);
	return 0;
out:
	free(rc);
	return fail(&err);
}

/* NETWORK ID, NAME, DRIVER, SCOPE as docker's, and the subnet; mini0 is "bridge" */
static int network_ls(const struct md_opts *o, int argc, char **argv)
{
	int n, k, quiet = 0;
	static const struct md_option options[] = {{"quiet", 'q', MD_FLAG}};
	struct md_getopt g;
	struct md_error err;
	md_getopt_init(&g, "network ls", "network ls [-q]", options, MD_N(options), MD_ANYWHERE,
		       argc, argv);
	while ((k = md_getopt(&g, &err)) >= 0)
		quiet = 1;
	if (k != MD_OPT_END)
		return md_getopt_status(k, &err);
	if (g.optind < argc)
		return md_usage("network ls [-q]");
	char **names = ipam_networks(o, &n);
	if (!quiet)
		printf("%-12s   %-20s   %-6s   %s\n", "NETWORK ID", "NAME", "DRIVER", "SUBNET");
	if (!quiet)
		printf("%-12s   %-20s   %-6s   %s\n", "-", "bridge", "bridge", "10.88.0.0/16");
	for (int i = 0; i < n; i++) {
		struct network net;
		char ip[INET_ADDRSTRLEN];
		if (ipam_network(o, names[i], &net, &err) < 0)
			; /* removed meanwhile */
		else if (quiet)
			printf("%.12s\n", net.id);
		else
			printf("%.12s   %-20s   %-6s   %s/%d\n", net.id, net.name, "bridge",
			       inet_ntop(AF_INET, &net.subnet, ip, sizeof(ip)), net.prefix);
		free(names[i]);
	}
	free(names);
	return 0;
}

static int network_rm(const struct md_opts *o, int argc, char **argv)
{
	struct md_error err;
	int rc = 0;
	if (argc < 2)
		return md_usage("network rm NETWORK...");
	for (int i = 1; i < argc; i++) {
		if (ipam_network_remove(o, argv[i], &err) < 0)
			rc = fail(&err);
		else
			printf("%s\n", argv[i]);
	}
	return rc;
}

/* docker's fields that matter here: Name, Id, Driver, IPAM's subnet and gateway, the bridge, Containers */
static json_t *inspect_one(const struct md_opts *o, const struct network *n, struct md_error *err)
{
	char ip[INET_ADDRSTRLEN], gw[INET_ADDRSTRLEN], subnet[INET_ADDRSTRLEN + 4];
	int count;
	char **members = ipam_network_members(o, n, &count, err);
	if (!members)
		return NULL;
	inet_ntop(AF_INET, &n->subnet, ip, sizeof(ip));
	snprintf(subnet, sizeof(subnet), "%s/%d", ip, n->prefix);
	struct in_addr g = {htonl(ntohl(n->subnet.s_addr) + 1)};
	inet_ntop(AF_INET, &g, gw, sizeof(gw));
	json_t *containers = json_object();
	for (int i = 0; i < count; i++) {
		char name[256], addr[64], id[65];
		if (sscanf(members[i], "%255s %63s %64s", name, addr, id) == 3)
			json_object_set_new(
			    containers, id,
			    json_pack("{s:s, s:s}", "Name", name, "IPv4Address", addr));
		free(members[i]);
	}
	free(members);
	return json_pack("{s:s, s:s, s:s, s:{s:[{s:s, s:s}]}, s:{s:s}, s:o}", "Name", n->name, "Id",
			 n->id, "Driver", "bridge", "IPAM", "Config", "Subnet", subnet, "Gateway",
			 gw, "Options", "com.docker.network.bridge.name", n->bridge, "Containers",
			 containers);
}

static int network_inspect(const struct md_opts *o, int argc, char **argv)
{
	struct md_error err;
	int rc = 0;
	if (argc < 2)
		return md_usage("network inspect NETWORK...");
	json_t *all = json_array();
	for (int i = 1; i < argc; i++) {
		struct network n;
		json_t *j =
		    ipam_network(o, argv[i], &n, &err) == 0 ? inspect_one(o, &n, &err) : NULL;
		if (j)
			json_array_append_new(all, j);
		else
			rc = fail(&err);
	}
	char *text = json_dumps(all, JSON_INDENT(4));
	printf("%s\n", text);
	free(text);
	json_decref(all);
	return rc;
}

int cmd_network(const struct md_opts *o, int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(const struct md_opts *o, int argc, char **argv);
	} commands[] = {{"create", network_create}, {"ls", network_ls},
			{"list", network_ls},	    {"rm", network_rm},
			{"remove", network_rm},	    {"inspect", network_inspect}};
	const char *usage = "network create|ls|rm|inspect ...";
	if (argc < 2)
		return md_usage(usage);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, argv[1]))
			return commands[i].fn(o, argc - 1, argv + 1);
	fprintf(stderr, "mini-docker: network: unknown command '%s' (%s)\n", argv[1], usage);
	return EXIT_ENGINE;
}
