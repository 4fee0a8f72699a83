/* SPDX-License-Identifier: MIT */
/*
 * Scenarios of the uiommu command.  A scenario builds a system out of the
 * library's layers, runs a workload, and prints a table built from the
 * layers' counters; with --json it also adds its figures to a JSON document
 * (one object per scenario, keyed by name).
 */
#ifndef UIOMMU_TOOLS_SCENARIOS_H
#define UIOMMU_TOOLS_SCENARIOS_H

#include <jansson.h>
#include <stdint.h>

struct scenario_ctx {
	const char *json_path; /* NULL: no JSON */
	json_t *json;	       /* object: scenario name -> its figures */
	uint64_t ios;	       /* --ios: workload size (0: the default) */
	unsigned int threads;  /* --threads (0: the default) */
};

struct scenario {
	const char *name;
	const char *summary;
	int (*run)(struct scenario_ctx *ctx); /* 0 or 1 (failed) */
};

/* The table entry of scenario id (also its name), run by fn, with its
 * one-line summary text. */
#define DEFINE_SCENARIO(id, fn, text)           \
	const struct scenario scenario_##id = { \
		.name = #id,                    \
		.summary = text,                \
		.run = fn,                      \
	}

void scenario_json_begin(struct scenario_ctx *ctx);
int scenario_json_end(struct scenario_ctx *ctx);
/* Attach a scenario's figures (steals the reference). */
void scenario_json_add(struct scenario_ctx *ctx, const char *name,
		       json_t *figures);

extern const struct scenario scenario_memory;
extern const struct scenario scenario_nvme;
extern const struct scenario scenario_passthrough;
extern const struct scenario scenario_stage2;
extern const struct scenario scenario_noncoherent;
extern const struct scenario scenario_mdev;
extern const struct scenario scenario_iopf;

#endif
