// SPDX-License-Identifier: MIT
/*
 * JSON output shared by the scenarios.
 */
#include <stdio.h>

#include "scenarios.h"

void scenario_json_begin(struct scenario_ctx *ctx)
{
	if (ctx->json_path)
		ctx->json = json_object();
}

void scenario_json_add(struct scenario_ctx *ctx, const char *name,
		       json_t *figures)
{
	if (ctx->json)
		json_object_set_new(ctx->json, name, figures);
	else
		json_decref(figures);
}

int scenario_json_end(struct scenario_ctx *ctx)
{
	int ret = 0;

	if (!ctx->json)
		return 0;
	if (json_dump_file(ctx->json, ctx->json_path,
			   JSON_INDENT(2) | JSON_SORT_KEYS)) {
		fprintf(stderr, "uiommu: cannot write %s\n", ctx->json_path);
		ret = 1;
	}
	json_decref(ctx->json);
	ctx->json = NULL;
	return ret;
}
