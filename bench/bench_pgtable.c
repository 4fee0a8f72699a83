// SPDX-License-Identifier: MIT
/*
 * Benchmarks of the LPAE page tables (suite "pgtable"): map and unmap of one
 * 4 KiB page per call, with every table already there (each level-3 table
 * keeps one anchor page mapped, so no table is allocated or freed), over
 * many distinct IOVAs.  Figures are per-call medians over bench_reps
 * repetitions, for a 48-bit stage-1 table (four levels, the longest walk)
 * and a 40-bit stage-2 table (three levels, concatenated root).
 *
 * Both table policies: eager freeing (default; walkers count themselves
 * into every table descriptor with compare-and-swap) and
 * LPAE_QUIRK_KEEP_TABLES (no counts).  The *_mt2 figures run two threads
 * on disjoint pages of one level-3 table (each its own half, so that only
 * the upper descriptors are shared; one anchor page keeps the table alive
 * in eager mode), each doing map + unmap pairs: ns per pair per thread, in
 * both modes in the same run, with the one-thread figure beside them.  The
 * move_* figures map and unmap one page at an IOVA that moves on by 4 KiB
 * each time (as lazy invalidation does): in eager mode every unmap empties
 * and frees the tables above it, each with a walk flush (a no-op here; one
 * TLBI + CMD_SYNC in the SMMU driver), counted per pair.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "pgtable/pgtable.h"

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

static void flush_walk(unsigned long iova, size_t size, size_t granule,
		       void *cookie)
{
	bench_keep(iova);
}

static const struct lpae_flush_ops ops = {.tlb_add_page = add_page,
					  .tlb_flush_walk = flush_walk};

static struct lpae_pgtable *mk(struct phys_mem *pm, int stage, unsigned int ias,
			       unsigned int quirks)
{
	struct lpae_cfg cfg = {
		.stage = stage,
		.ias = ias,
		.oas = 48,
		.tlb = &ops,
		.quirks = quirks,
	};
	struct lpae_pgtable *pgt;

	if (lpae_alloc(pm, &cfg, &pgt)) {
		fprintf(stderr, "pgtable: setup failed\n");
		exit(1);
	}
	return pgt;
}

static void run_one(struct phys_mem *pm, int stage, unsigned int ias,
		    unsigned int quirks, const char *map_name,
		    const char *unmap_name)
{
	unsigned int tables = bench_quick ? 4 : 16, n = tables * 511, t, i;
	double *map_ns = calloc(bench_reps, sizeof(double));
	double *unmap_ns = calloc(bench_reps, sizeof(double));
	struct lpae_pgtable *pgt = mk(pm, stage, ias, quirks);
	struct iommu_iotlb_gather g;
	size_t mapped;
	int r, bad = 0;

	if (!map_ns || !unmap_ns) {
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

/* ---- map + unmap pairs, one or two threads in one level-3 table ---------- */

#define PAIR_BASE (1UL << 30) /* the level-3 table of [1G, 1G + 2M) */

struct pair_thr {
	struct lpae_pgtable *pgt;
	pthread_barrier_t *bar;
	unsigned int id, nthreads;
	unsigned long iters;
	double ns;
	int bad;
};

static void *pair_main(void *arg)
{
	struct pair_thr *t = arg;
	struct iommu_iotlb_gather g;
	unsigned long k, slots = 510 / t->nthreads;
	uint64_t t0;
	size_t mapped;

	iommu_iotlb_gather_init(&g);
	pthread_barrier_wait(t->bar);
	t0 = bench_now_ns();
	for (k = 0; k < t->iters; k++) {
		/* thread id owns pages [id * slots, (id + 1) * slots) */
		unsigned long iova =
			PAIR_BASE + (t->id * slots + k % slots) * SZ_4K;

		t->bad |= lpae_map_pages(t->pgt, iova, PA0 + iova, SZ_4K, 1,
					 IOMMU_READ | IOMMU_WRITE, &mapped);
		t->bad |= lpae_unmap_pages(t->pgt, iova, SZ_4K, 1, &g) != SZ_4K;
	}
	t->ns = (double)(bench_now_ns() - t0) / (double)t->iters;
	return NULL;
}

/*
 * ns per map + unmap pair per thread (mean over the threads), median.
 * separate: each thread its own table (nothing shared: the baseline).
 */
static double run_pairs(struct phys_mem *pm, unsigned int quirks,
			unsigned int nthreads, bool separate)
{
	unsigned long iters = bench_quick ? 20000 : 200000;
	double *ns = calloc(bench_reps, sizeof(double));
	struct lpae_pgtable *pgt = mk(pm, 1, 48, quirks), *pgt2 = NULL;
	struct pair_thr t[2];
	pthread_t tid[2];
	pthread_barrier_t bar;
	unsigned int i;
	size_t mapped;
	double v;
	int r;

	/* the anchor: the table stays in eager mode too */
	if (!ns || lpae_map_pages(pgt, PAIR_BASE + 511 * SZ_4K, PA0, SZ_4K, 1,
				  IOMMU_READ, &mapped)) {
		fprintf(stderr, "pgtable: setup failed\n");
		exit(1);
	}
	if (separate) {
		pgt2 = mk(pm, 1, 48, quirks);
		if (lpae_map_pages(pgt2, PAIR_BASE + 511 * SZ_4K, PA0, SZ_4K, 1,
				   IOMMU_READ, &mapped)) {
			fprintf(stderr, "pgtable: setup failed\n");
			exit(1);
		}
	}
	for (r = 0; r < bench_reps; r++) {
		pthread_barrier_init(&bar, NULL, nthreads);
		for (i = 0; i < nthreads; i++) {
			t[i] = (struct pair_thr){.pgt = i && pgt2 ? pgt2 : pgt,
						 .bar = &bar,
						 .id = i,
						 .nthreads = nthreads,
						 .iters = iters};
			if (pthread_create(&tid[i], NULL, pair_main, &t[i])) {
				fprintf(stderr, "pgtable: pthread_create\n");
				exit(1);
			}
		}
		ns[r] = 0;
		for (i = 0; i < nthreads; i++) {
			pthread_join(tid[i], NULL);
			if (t[i].bad) {
				fprintf(stderr, "pgtable: pair failed\n");
				exit(1);
			}
			ns[r] += t[i].ns / nthreads;
		}
		pthread_barrier_destroy(&bar);
	}
	v = bench_median(ns, bench_reps);
	lpae_free(pgt2);
	lpae_free(pgt);
	free(ns);
	return v;
}

/* one page mapped and unmapped at an IOVA that moves on each time */
static void run_move(struct phys_mem *pm, unsigned int quirks, const char *name,
		     const char *fname)
{
	unsigned long n = bench_quick ? 20000 : 200000, k;
	double *ns = calloc(bench_reps, sizeof(double));
	struct lpae_pgtable *pgt = mk(pm, 1, 48, quirks);
	struct iommu_iotlb_gather g;
	struct lpae_stats st0, st1;
	size_t mapped;
	int r, bad = 0;

	if (!ns) {
		fprintf(stderr, "pgtable: setup failed\n");
		exit(1);
	}
	lpae_get_stats(pgt, &st0);
	for (r = 0; r < bench_reps; r++) {
		/* a fresh stretch of IOVA space each repetition */
		unsigned long base = (1UL << 32) * (unsigned long)(r + 1);
		uint64_t t0 = bench_now_ns();

		iommu_iotlb_gather_init(&g);
		for (k = 0; k < n; k++) {
			unsigned long iova = base + k * SZ_4K;

			bad |= lpae_map_pages(pgt, iova, PA0, SZ_4K, 1,
					      IOMMU_READ | IOMMU_WRITE,
					      &mapped);
			bad |= lpae_unmap_pages(pgt, iova, SZ_4K, 1, &g) !=
			       SZ_4K;
		}
		ns[r] = (double)(bench_now_ns() - t0) / (double)n;
	}
	lpae_get_stats(pgt, &st1);
	if (bad) {
		fprintf(stderr, "pgtable: move failed\n");
		exit(1);
	}
	bench_report(name, bench_median(ns, bench_reps), "ns",
		     "map + unmap pair, IOVA moves by 4 KiB");
	bench_report(fname,
		     (double)(st1.walk_flushes - st0.walk_flushes) /
			     ((double)n * bench_reps),
		     "/pair", "tlb_flush_walk calls per pair");
	lpae_free(pgt);
	free(ns);
}

static void bench_pgtable(void)
{
	struct phys_config pc = {.base = PHYS_DEFAULT_BASE, .size = 1ULL << 30};
	struct phys_mem *pm;

	if (phys_create(&pc, &pm)) {
		fprintf(stderr, "pgtable: phys_create failed\n");
		exit(1);
	}
	run_one(pm, 1, 48, 0, "pgtable.map_4k", "pgtable.unmap_4k");
	run_one(pm, 2, 40, 0, "pgtable.map_4k_s2", "pgtable.unmap_4k_s2");
	run_one(pm, 1, 48, LPAE_QUIRK_KEEP_TABLES, "pgtable.map_4k_keep",
		"pgtable.unmap_4k_keep");
	run_one(pm, 2, 40, LPAE_QUIRK_KEEP_TABLES, "pgtable.map_4k_s2_keep",
		"pgtable.unmap_4k_s2_keep");

	bench_report("pgtable.pair_1t", run_pairs(pm, 0, 1, false), "ns",
		     "map + unmap, 1 thread, eager");
	bench_report("pgtable.pair_1t_keep",
		     run_pairs(pm, LPAE_QUIRK_KEEP_TABLES, 1, false), "ns",
		     "map + unmap, 1 thread, keep tables");
	bench_report("pgtable.pair_mt2", run_pairs(pm, 0, 2, false), "ns",
		     "per thread, 2 threads, one L3 table, eager");
	bench_report("pgtable.pair_mt2_keep",
		     run_pairs(pm, LPAE_QUIRK_KEEP_TABLES, 2, false), "ns",
		     "per thread, 2 threads, one L3 table, keep tables");
	bench_report("pgtable.pair_mt2_sep_keep",
		     run_pairs(pm, LPAE_QUIRK_KEEP_TABLES, 2, true), "ns",
		     "per thread, 2 threads, a table each (baseline)");

	run_move(pm, 0, "pgtable.move_pair", "pgtable.move_walk_flushes");
	run_move(pm, LPAE_QUIRK_KEEP_TABLES, "pgtable.move_pair_keep",
		 "pgtable.move_walk_flushes_keep");
	phys_destroy(pm);
}

BENCH_SUITE(pgtable, bench_pgtable)
