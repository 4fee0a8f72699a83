// SPDX-License-Identifier: MIT
/*
 * uiommu-bench: runs every registered suite (or those named on the command
 * line), prints a table of medians and writes JSON lines.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

int bench_reps = 7;
int bench_quick;

static struct bench_suite *suites;
static FILE *json;

void bench_register(struct bench_suite *s)
{
	struct bench_suite **p = &suites;

	/* keep them sorted by name: the output order is stable */
	while (*p && strcmp((*p)->name, s->name) < 0)
		p = &(*p)->next;
	s->next = *p;
	*p = s;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double bench_median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void bench_report(const char *name, double value, const char *unit,
		  const char *note)
{
	printf("  %-44s %12.2f %-8s %s\n", name, value, unit, note ? note : "");
	fflush(stdout);
	if (json) {
		json_t *o = json_pack("{s:s, s:f, s:s}", "name", name, "value",
				      value, "unit", unit);

		if (o && note)
			json_object_set_new(o, "note", json_string(note));
		if (o) {
			json_dumpf(o, json, JSON_COMPACT);
			fputc('\n', json);
			fflush(json);
		}
		json_decref(o);
	}
}

static void usage(FILE *f)
{
	fprintf(f, "usage: uiommu-bench [--json FILE] [--reps N] [--quick] "
		   "[SUITE...]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", required_argument, NULL, 'j'},
		{"reps", required_argument, NULL, 'r'},
		{"quick", no_argument, NULL, 'q'},
		{"list", no_argument, NULL, 'l'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct bench_suite *s;
	int c;

	while ((c = getopt_long(argc, argv, "j:r:qlh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = fopen(optarg, "w");
			if (!json) {
				perror(optarg);
				return 1;
			}
			break;
		case 'r':
			bench_reps = atoi(optarg);
			if (bench_reps < 1)
				bench_reps = 1;
			break;
		case 'q':
			bench_quick = 1;
			break;
		case 'l':
			for (s = suites; s; s = s->next)
				puts(s->name);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}

	printf("uiommu benchmarks: medians of %d repetitions, measured in this "
	       "run\n",
	       bench_reps);
	printf("  %-44s %12s %-8s %s\n", "figure", "median", "unit", "note");
	for (s = suites; s; s = s->next) {
		bool want = optind >= argc;

		for (int i = optind; i < argc; i++)
			if (!strcmp(argv[i], s->name))
				want = true;
		if (!want)
			continue;
		printf("%s\n", s->name);
		s->run();
	}
	if (json)
		fclose(json);
	return 0;
}
