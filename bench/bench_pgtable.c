// SPDX-License-Identifier: MIT
/*
 * Benchmarks of the LPAE page tables (suite "pgtable"): map and unmap of one
 * 4 KiB page per call, with every table already there (each level-3 table
 * keeps one anchor page mapped, so no table is allocated or freed), over
 * many distinct IOVAs.  Figures are per-call medians over bench_reps
 * repetitions, for a 48-bit stage-1 table (four levels, the longest walk)
 * and a 40-bit stage-2 table (three levels, concatenated root).
 */
#include <stdio.h>
#include <stdlib.h>

#include <uiommu/pgtable.h>

#include "bench.h"

#define SZ_4K (1UL << 12)
#define SZ_2M (1UL << 21)
#define IOVA0 ((1UL << 30) - 8 * SZ_2M) /* the run crosses a 1 GiB line */
#define PA0   0x4000000000ULL

static void add_page(struct iommu_iotlb_gather *g, unsigned long iova,
		     size_t granule, void *cookie)
{
	iommu_iotlb_gather_add_page(g, iova, granule, NULL, NULL);
}

static const struct lpae_flush_ops ops = {.tlb_add_page = add_page};

static void run_one(struct phys_mem *pm, int stage, unsigned int ias,
		    const char *map_name, const char *unmap_name)
{
	unsigned int tables = bench_quick ? 4 : 16, n = tables * 511, t, i;
	double *map_ns = calloc(bench_reps, sizeof(double));
	double *unmap_ns = calloc(bench_reps, sizeof(double));
	struct lpae_cfg cfg = {
		.stage = stage,
		.ias = ias,
		.oas = 48,
		.tlb = &ops,
	};
	struct iommu_iotlb_gather g;
	struct lpae_pgtable *pgt;
	size_t mapped;
	int r, bad = 0;

	if (!map_ns || !unmap_ns || lpae_alloc(pm, &cfg, &pgt)) {
		fprintf(stderr, "pgtable: setup failed\n");
		exit(1);
	}
	for (t = 0; t < tables; t++)
		bad |= lpae_map_pages(pgt, IOVA0 + t * SZ_2M + 511 * SZ_4K, PA0,
				      SZ_4K, 1, IOMMU_READ, &mapped);
	for (r = 0; r < bench_reps; r++) {
		uint64_t t0, t1;

		t0 = bench_now_ns();
		for (t = 0; t < tables; t++)
			for (i = 0; i < 511; i++) {
				unsigned long iova =
					IOVA0 + t * SZ_2M + i * SZ_4K;

				bad |= lpae_map_pages(pgt, iova, PA0 + iova,
						      SZ_4K, 1,
						      IOMMU_READ | IOMMU_WRITE,
						      &mapped);
			}
		t1 = bench_now_ns();
		map_ns[r] = (double)(t1 - t0) / n;

		iommu_iotlb_gather_init(&g);
		t0 = bench_now_ns();
		for (t = 0; t < tables; t++)
			for (i = 0; i < 511; i++) {
				unsigned long iova =
					IOVA0 + t * SZ_2M + i * SZ_4K;

				bad |= lpae_unmap_pages(pgt, iova, SZ_4K, 1,
							&g) != SZ_4K;
			}
		t1 = bench_now_ns();
		unmap_ns[r] = (double)(t1 - t0) / n;
	}
	if (bad) {
		fprintf(stderr, "pgtable: a map or unmap failed\n");
		exit(1);
	}
	bench_report(map_name, bench_median(map_ns, bench_reps), "ns",
		     "one 4 KiB page per call, tables present");
	bench_report(unmap_name, bench_median(unmap_ns, bench_reps), "ns",
		     "one 4 KiB page per call, tables kept");
	lpae_free(pgt);
	free(map_ns);
	free(unmap_ns);
}

static void bench_pgtable(void)
{
	struct phys_config pc = {.base = PHYS_DEFAULT_BASE, .size = 1ULL << 30};
	struct phys_mem *pm;

	if (phys_create(&pc, &pm)) {
		fprintf(stderr, "pgtable: phys_create failed\n");
		exit(1);
	}
	run_one(pm, 1, 48, "pgtable.map_4k", "pgtable.unmap_4k");
	run_one(pm, 2, 40, "pgtable.map_4k_s2", "pgtable.unmap_4k_s2");
	phys_destroy(pm);
}

BENCH_SUITE(pgtable, bench_pgtable)
