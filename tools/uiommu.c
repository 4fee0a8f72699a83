// SPDX-License-Identifier: MIT
/*
 * uiommu: the command.  Subcommands: run [SCENARIO], list, version, help.
 *
 * Scenarios are registered in the table below; each prints a table built
 * from the library's own counters.
 */
#include <errno.h>
#include <getopt.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem/mem.h"

#include "scenarios.h"

static const struct scenario *const scenarios[] = {
	&scenario_memory, &scenario_nvme,	 &scenario_passthrough,
	&scenario_stage2, &scenario_noncoherent, &scenario_mdev,
	&scenario_iopf,
};

#define NR_SCENARIOS (sizeof(scenarios) / sizeof(scenarios[0]))

static void usage(FILE *f)
{
	fprintf(f, "usage: uiommu <command> [options]\n"
		   "\n"
		   "The Linux IOMMU, VFIO type1 and iommufd stack in user "
		   "space: emulated\n"
		   "devices do real DMA into real process memory through an "
		   "emulated\n"
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
		   "  exec [--topology T] [--memlock BYTES] "
		   "[--vfio-container type1|iommufd]\n"
		   "       [--sanitize] -- PROGRAM [ARGS]\n"
		   "                      run an unmodified VFIO program "
		   "against "
		   "uiommu\n"
		   "                      (LD_PRELOAD of libuiommu-preload.so; "
		   "T "
		   "as in\n"
		   "                      docs/uapi.md, default one SMMU with "
		   "dma0, dma1, ioat0)\n"
		   "      --memlock BYTES model RLIMIT_MEMLOCK = BYTES (or "
		   "'unlimited') for a\n"
		   "                      process without CAP_IPC_LOCK (also "
		   "$UIOMMU_MEMLOCK);\n"
		   "                      default: the program's real limit "
		   "and CAP_IPC_LOCK,\n"
		   "                      with which pins are charged but "
		   "never limited\n"
		   "      --vfio-container type1|iommufd\n"
		   "                      what /dev/vfio/vfio opens: type1's "
		   "container (default)\n"
		   "                      or an iommufd context serving the "
		   "VFIO container\n"
		   "                      ioctls, as Linux 6.12's "
		   "CONFIG_IOMMUFD_VFIO_CONTAINER\n"
		   "                      (also $UIOMMU_VFIO_CONTAINER; "
		   "docs/iommufd.md)\n"
		   "      --sanitize      the DMA sanitizer: a report per "
		   "isolation bug (the\n"
		   "                      device, the access, the MAP and "
		   "UNMAP with their\n"
		   "                      stacks), a SUMMARY line and exit "
		   "status 1 at exit;\n"
		   "                      also on when $UIOMMU_OPTIONS is set: "
		   "name=value:...\n"
		   "                      with halt_on_error, exitcode, "
		   "log_path, history_size\n"
		   "                      (docs/sanitizer.md)\n"
		   "                      $UIOMMU_REPORT=FILE (or -): at exit, "
		   "the pins and\n"
		   "                      locked memory left, then after the "
		   "release a kernel makes;\n"
		   "                      the program sees /dev/vfio, "
		   "/dev/vfio/devices, /dev/iommu,\n"
		   "                      /sys/bus/pci, "
		   "/sys/kernel/iommu_groups, "
		   "/sys/module/vfio*\n"
		   "                      of the emulated machine "
		   "(docs/sysfs.md)\n"
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

/* The preload library: beside this binary (build tree), or installed. */
static int find_preload(char *out, size_t len)
{
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	const char *env = getenv("UIOMMU_PRELOAD");

	if (env && *env) {
		snprintf(out, len, "%s", env);
		return access(out, R_OK);
	}
	if (n > 0) {
		exe[n] = '\0';
		*strrchr(exe, '/') = '\0';
		snprintf(out, len, "%s/libuiommu-preload.so", exe);
		if (!access(out, R_OK))
			return 0;
		snprintf(out, len, "%s/../lib/libuiommu-preload.so", exe);
		if (!access(out, R_OK))
			return 0;
		snprintf(out, len,
			 "%s/../lib/x86_64-linux-gnu/"
			 "libuiommu-preload.so",
			 exe);
		if (!access(out, R_OK))
			return 0;
	}
	return -1;
}

static int cmd_exec(int argc, char **argv)
{
	static const struct option opts[] = {
		{"topology", required_argument, NULL, 't'},
		{"memlock", required_argument, NULL, 'm'},
		{"vfio-container", required_argument, NULL, 'c'},
		{"sanitize", no_argument, NULL, 's'},
		{0},
	};
	char preload[4200], env[8400];
	const char *old;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+t:m:c:s", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			/* read by the library when it builds the system */
			setenv("UIOMMU_SANITIZE", "1", 1);
			break;
		case 't':
			setenv("UIOMMU_TOPOLOGY", optarg, 1);
			break;
		case 'm':
			setenv("UIOMMU_MEMLOCK", optarg, 1);
			break;
		case 'c':
			if (strcmp(optarg, "type1") && strcmp(optarg, "iommuf"
								      "d")) {
				fprintf(stderr,
					"uiommu exec: bad --vfio-container "
					"'%s' (type1 or iommufd)\n",
					optarg);
				return 2;
			}
			setenv("UIOMMU_VFIO_CONTAINER", optarg, 1);
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "uiommu exec: no program given\n");
		return 2;
	}
	if (find_preload(preload, sizeof(preload))) {
		fprintf(stderr, "uiommu exec: libuiommu-preload.so not found "
				"(set UIOMMU_PRELOAD)\n");
		return 1;
	}
	old = getenv("LD_PRELOAD");
	snprintf(env, sizeof(env), "%s%s%s", preload, old && *old ? ":" : "",
		 old ? old : "");
	setenv("LD_PRELOAD", env, 1);
	execvp(argv[optind], argv + optind);
	fprintf(stderr, "uiommu exec: %s: %s\n", argv[optind], strerror(errno));
	return 127;
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
	if (!strcmp(cmd, "exec"))
		return cmd_exec(argc - 1, argv + 1);
	fprintf(stderr, "uiommu: unknown command '%s'\n\n", cmd);
	usage(stderr);
	return 2;
}
