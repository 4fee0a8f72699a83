// SPDX-License-Identifier: MIT
/*
 * Benchmarks of the IOVA allocator (suite "iova"):
 *   iova.alloc_free_cached     alloc_iova_fast + free_iova_fast of one page
 *                              through this CPU's magazine (ns per pair)
 *   iova.alloc_free_cached_2t  the same in 2 threads with their own CPU ids
 *                              (ns per pair per thread)
 *   iova.depot_churn           bursts of 16384 allocations then 16384 frees,
 *                              far beyond the magazines (and beyond the
 *                              32-magazine depot of older kernels): ns per
 *                              pair, all through magazines and depot
 *   iova.alloc_free_tree       the same pair without rcaches: the tree path,
 *                              1000 other ranges live (ns per pair)
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <uiommu/base.h>
#include "iommu/iova.h"

#include "bench.h"

#define LIMIT ((1UL << 32) - 1)
#define BURST 16384

static void domain_init(struct iova_domain *iovad, bool rcaches)
{
	if (init_iova_domain(iovad, 4096, 1) ||
	    (rcaches && iova_domain_init_rcaches(iovad))) {
		fprintf(stderr, "iova bench: domain setup failed\n");
		exit(1);
	}
}

static double pairs_ns(struct iova_domain *iovad, long n)
{
	uint64_t t0 = bench_now_ns();
	long i;

	for (i = 0; i < n; i++) {
		unsigned long pfn = alloc_iova_fast(iovad, 1, LIMIT, true);

		bench_keep(pfn);
		free_iova_fast(iovad, pfn, 1);
	}
	return (double)(bench_now_ns() - t0) / n;
}

struct thr {
	struct iova_domain *iovad;
	pthread_barrier_t *barrier;
	unsigned int cpu;
	long n;
	double ns;
};

static void *thr_main(void *arg)
{
	struct thr *t = arg;

	uiommu_set_cpu_id(t->cpu);
	pairs_ns(t->iovad, t->n / 10); /* warm this CPU's magazines */
	pthread_barrier_wait(t->barrier);
	t->ns = pairs_ns(t->iovad, t->n);
	return NULL;
}

static void bench_iova(void)
{
	long n = bench_quick ? 200000 : 2000000;
	int reps = bench_reps, r, cycles = bench_quick ? 4 : 16;
	double *v = calloc(reps, sizeof(*v));
	unsigned long *pfns = calloc(BURST, sizeof(*pfns));
	struct iova_domain iovad;
	struct iova_stats st;
	char note[96];
	long i;

	/* one thread, through the magazine */
	uiommu_set_cpu_id(0);
	domain_init(&iovad, true);
	pairs_ns(&iovad, n / 10);
	for (r = 0; r < reps; r++)
		v[r] = pairs_ns(&iovad, n);
	iova_domain_stats(&iovad, &st);
	snprintf(note, sizeof(note), "1 page, rcache hits %.4f%%",
		 100.0 * st.rcache_hits / (st.rcache_hits + st.rcache_misses));
	bench_report("iova.alloc_free_cached", bench_median(v, reps), "ns",
		     note);
	put_iova_domain(&iovad);

	/* two threads, own CPU ids */
	domain_init(&iovad, true);
	for (r = 0; r < reps; r++) {
		pthread_barrier_t barrier;
		struct thr t[2];
		pthread_t tid[2];
		int k;

		pthread_barrier_init(&barrier, NULL, 2);
		for (k = 0; k < 2; k++) {
			t[k] = (struct thr){&iovad, &barrier, 1 + k, n, 0};
			pthread_create(&tid[k], NULL, thr_main, &t[k]);
		}
		for (k = 0; k < 2; k++)
			pthread_join(tid[k], NULL);
		pthread_barrier_destroy(&barrier);
		v[r] = (t[0].ns + t[1].ns) / 2;
	}
	bench_report("iova.alloc_free_cached_2t", bench_median(v, reps), "ns",
		     "per pair per thread");
	put_iova_domain(&iovad);

	/* depot churn: bursts of BURST allocations, then BURST frees */
	domain_init(&iovad, true);
	for (r = -1; r < reps; r++) {
		uint64_t t0 = bench_now_ns();
		int c;

		for (c = 0; c < cycles; c++) {
			for (i = 0; i < BURST; i++)
				pfns[i] =
					alloc_iova_fast(&iovad, 1, LIMIT, true);
			for (i = 0; i < BURST; i++)
				free_iova_fast(&iovad, pfns[i], 1);
		}
		if (r >= 0)
			v[r] = (double)(bench_now_ns() - t0) /
			       ((double)cycles * BURST);
	}
	iova_domain_stats(&iovad, &st);
	snprintf(note, sizeof(note),
		 "burst %d; misses %llu of %llu, trims %llu", BURST,
		 (unsigned long long)st.rcache_misses,
		 (unsigned long long)(st.rcache_hits + st.rcache_misses),
		 (unsigned long long)st.depot_trims);
	bench_report("iova.depot_churn", bench_median(v, reps), "ns", note);
	put_iova_domain(&iovad);

	/* the tree path, for contrast */
	domain_init(&iovad, false);
	for (i = 0; i < 1000; i++)
		alloc_iova_fast(&iovad, 1 + i % 8, LIMIT, false);
	pairs_ns(&iovad, n / 100);
	for (r = 0; r < reps; r++)
		v[r] = pairs_ns(&iovad, n / 4);
	bench_report("iova.alloc_free_tree", bench_median(v, reps), "ns",
		     "no rcaches, 1000 ranges live");
	put_iova_domain(&iovad);

	free(pfns);
	free(v);
}

BENCH_SUITE(iova, bench_iova)
