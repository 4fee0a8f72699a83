// SPDX-License-Identifier: MIT
/*
 * uiommu: the command.  Subcommands: run [SCENARIO], list, version, help.
 *
 * Scenarios are registered in the table below; each prints a table built
 * from the library's own counters.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uiommu/mem.h>

#include "scenarios.h"

static const struct scenario *const scenarios[] = {
	&scenario_memory,
	&scenario_nvme,
};

#define NR_SCENARIOS (sizeof(scenarios) / sizeof(scenarios[0]))

static void usage(FILE *f)
{
	fprintf(f, "usage: uiommu <command> [options]\n"
		   "\n"
		   "The Linux IOMMU and VFIO type1 stack in user space: "
		   "emulated devices do\n"
		   "real DMA into real process memory through an emulated "
		   "SMMUv3-style IOMMU.\n"
		   "\n"
		   "commands:\n"
		   "  run [SCENARIO...]   run scenarios (all of them when none "
		   "is named) and\n"
		   "                      print their tables\n"
		   "      --json FILE     also write the figures as JSON\n"
		   "      --ios N         I/Os per run of the workload "
		   "scenarios\n"
		   "      --threads N     I/O threads of the workload "
		   "scenarios (1)\n"
		   "  list                list the scenarios\n"
		   "  version             print the version\n"
		   "  help, --help        this text\n"
		   "\n"
		   "scenarios:\n");
	for (size_t i = 0; i < NR_SCENARIOS; i++)
		fprintf(f, "  %-18s  %s\n", scenarios[i]->name,
			scenarios[i]->summary);
}

static const struct scenario *find_scenario(const char *name)
{
	for (size_t i = 0; i < NR_SCENARIOS; i++)
		if (!strcmp(scenarios[i]->name, name))
			return scenarios[i];
	return NULL;
}

static int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", required_argument, NULL, 'j'},
		{"ios", required_argument, NULL, 'n'},
		{"threads", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct scenario_ctx ctx = {0};
	int c, ret = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "j:n:t:h", opts, NULL)) != -1) {
		char *end;

		switch (c) {
		case 'j':
			ctx.json_path = optarg;
			break;
		case 'n':
			ctx.ios = strtoull(optarg, &end, 0);
			if (*end || !ctx.ios) {
				fprintf(stderr, "uiommu: bad --ios '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 't':
			ctx.threads = strtoul(optarg, &end, 0);
			if (*end || !ctx.threads || ctx.threads > 64) {
				fprintf(stderr,
					"uiommu: bad --threads '%s' (1..64)\n",
					optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	for (int i = optind; i < argc; i++) {
		if (!find_scenario(argv[i])) {
			fprintf(stderr,
				"uiommu: no scenario '%s' (see 'uiommu "
				"list')\n",
				argv[i]);
			return 2;
		}
	}
	scenario_json_begin(&ctx);
	if (optind >= argc) {
		for (size_t i = 0; i < NR_SCENARIOS; i++)
			ret |= scenarios[i]->run(&ctx);
	} else {
		for (int i = optind; i < argc; i++)
			ret |= find_scenario(argv[i])->run(&ctx);
	}
	if (scenario_json_end(&ctx))
		ret = 1;
	return ret ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "help";

	if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") ||
	    !strcmp(cmd, "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
		printf("uiommu %s\n", uiommu_version());
		return 0;
	}
	if (!strcmp(cmd, "list")) {
		for (size_t i = 0; i < NR_SCENARIOS; i++)
			printf("%-18s  %s\n", scenarios[i]->name,
			       scenarios[i]->summary);
		return 0;
	}
	if (!strcmp(cmd, "run"))
		return cmd_run(argc - 1, argv + 1);
	fprintf(stderr, "uiommu: unknown command '%s'\n\n", cmd);
	usage(stderr);
	return 2;
}
