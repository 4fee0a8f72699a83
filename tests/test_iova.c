// SPDX-License-Identifier: MIT
/*
 * Tests of the IOVA allocator (src/iommu/iova.c): tree allocation
 * (alignment, top-down order, limits, exhaustion and recovery, reserved
 * windows), the per-CPU range caches (hits, bypass, depot without a cliff,
 * trimming, flushes), exact counters, concurrency without double allocation,
 * and the failure paths.
 *
 * Requirement ids: C04 (free_iova_fast frees at once: the range is
 * reusable immediately), C06 (a range not yet freed is never handed out
 * again: the property the flush queue builds on).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

#include <uiommu/base.h>
#include "iommu/iova.h"

#include "iommu/iommu_internal.h"

#define GRANULE	 4096UL
#define MSI_BASE 0x8000000UL /* the kernel's MSI_IOVA_BASE */
#define MSI_LEN	 0x100000UL

static unsigned long rounded(unsigned long size)
{
	unsigned long p = 1;

	while (p < size)
		p <<= 1;
	return p;
}

/* The size alloc_iova_fast() gives a request of 'size'. */
static unsigned long fast_size(unsigned long size)
{
	return size <= (1UL << (IOVA_RANGE_CACHE_MAX_SIZE - 1)) ? rounded(size)
								: size;
}

static void stats(struct iova_domain *iovad, struct iova_stats *st)
{
	iova_domain_stats(iovad, st);
}

/* The counters' identities with 'held' ranges held by the test and
 * 'reserved' reserved nodes. */
static void check_identities(struct iova_domain *iovad, uint64_t held,
			     uint64_t reserved)
{
	struct iova_stats st;

	stats(iovad, &st);
	assert_int_equal(st.allocs - st.frees, held);
	assert_int_equal(st.tree_inserts - st.tree_removals, st.nodes);
	assert_int_equal(st.nodes, held + st.cached + reserved);
	/* tree removals that were not caller frees emptied cached ranges */
	assert_int_equal(st.cached, st.rcache_frees - st.rcache_hits -
					    (st.tree_removals -
					     (st.frees - st.rcache_frees)));
}

static void test_init_args(void **state)
{
	struct iova_domain iovad;

	assert_int_equal(init_iova_domain(&iovad, 0, 1), -EINVAL);
	assert_int_equal(init_iova_domain(&iovad, 3000, 1), -EINVAL);
	assert_int_equal(init_iova_domain(&iovad, 256, 1), -EINVAL);
	assert_int_equal(init_iova_domain(&iovad, GRANULE, 0), 0);
	assert_int_equal(iovad.start_pfn, 1);
	assert_int_equal(iovad.dma_32bit_pfn, 1UL << 20);
	assert_int_equal(iova_rcache_range(), 128 * 1024);
	assert_int_equal(iova_domain_init_rcaches(&iovad), 0);
	assert_int_equal(iova_domain_init_rcaches(&iovad), -EEXIST);
	/* pfn 0 is never handed out: alloc_iova_fast's failure value */
	assert_null(alloc_iova(&iovad, 1, 0, false));
	assert_int_equal(alloc_iova_fast(&iovad, 1, 0, true), 0);
	assert_int_equal(alloc_iova_fast(&iovad, 0, 100, true), 0);
	assert_null(alloc_iova(&iovad, 0, 100, false));
	put_iova_domain(&iovad);
}

/* Size-aligned allocations start at a multiple of their size rounded up to
 * a power of two; unaligned ones are packed. */
static void test_size_aligned(void **state)
{
	struct iova_domain iovad;
	struct iova *iova, *prev = NULL;
	unsigned long size, held = 0;

	assert_int_equal(init_iova_domain(&iovad, GRANULE, 1), 0);
	for (size = 1; size <= 300; size++) {
		iova = alloc_iova(&iovad, size, (1UL << 24) - 1, true);
		assert_non_null(iova);
		held++;
		assert_int_equal(iova_size(iova), size);
		assert_int_equal(iova->pfn_lo % rounded(size), 0);
		assert_true(iova->pfn_hi <= (1UL << 24) - 1);
		if (prev)
			assert_true(iova->pfn_hi < prev->pfn_lo);
		prev = iova;
	}
	/* unaligned: placed right below the previous range */
	iova = alloc_iova(&iovad, 3, (1UL << 24) - 1, false);
	assert_non_null(iova);
	held++;
	assert_int_equal(iova->pfn_hi, prev->pfn_lo - 1);
	/* alloc_iova_fast is size-aligned too, and rounds small sizes up */
	for (size = 1; size <= 100; size++) {
		unsigned long pfn =
			alloc_iova_fast(&iovad, size, (1UL << 24) - 1, false);

		assert_int_not_equal(pfn, 0);
		held++;
		assert_int_equal(pfn % rounded(size), 0);
		assert_int_equal(iova_size(find_iova(&iovad, pfn)),
				 fast_size(size));
	}
	check_identities(&iovad, held, 0);
	put_iova_domain(&iovad);
}

/* Allocation goes top-down from the limit; a freed high range is reused
 * first. */
static void test_top_down(void **state)
{
	struct iova_domain iovad;
	const unsigned long limit = 0xfffff;
	struct iova *iova[10];
	int i;

	assert_int_equal(init_iova_domain(&iovad, GRANULE, 1), 0);
	for (i = 0; i < 10; i++) {
		iova[i] = alloc_iova(&iovad, 1, limit, false);
		assert_non_null(iova[i]);
		assert_int_equal(iova[i]->pfn_lo, limit - i);
	}
	free_iova(&iovad, limit);
	iova[0] = alloc_iova(&iovad, 1, limit, false);
	assert_int_equal(iova[0]->pfn_lo, limit);
	/* a hole in the middle is found before going lower */
	__free_iova(&iovad, iova[5]);
	iova[5] = alloc_iova(&iovad, 1, limit, false);
	assert_int_equal(iova[5]->pfn_lo, limit - 5);
	iova[0] = alloc_iova(&iovad, 1, limit, false);
	assert_int_equal(iova[0]->pfn_lo, limit - 10);
	check_identities(&iovad, 11, 0);
	put_iova_domain(&iovad);
}

/* No range ends above its limit, whatever the mix of 32-bit and 64-bit
 * limits; a limit below the start or too small for the size fails. */
static void test_limit(void **state)
{
	struct iova_domain iovad;
	unsigned long limits[] = {(1UL << 20) - 1,     (1UL << 36) - 1, 400000,
				  (1UL << 20) - 1 - 3, 600000,		~0UL};
	struct iova_stats st;
	unsigned long i, held = 0;

	assert_int_equal(init_iova_domain(&iovad, GRANULE, 16), 0);
	assert_int_equal(iova_domain_init_rcaches(&iovad), 0);
	for (i = 0; i < 1500; i++) {
		unsigned long lim = limits[i % ARRAY_SIZE_T(limits)];
		unsigned long size = 1 + i % 40;
		struct iova *iova = alloc_iova(&iovad, size, lim, i & 1);
		unsigned long pfn;

		assert_non_null(iova);
		held++;
		assert_true(iova->pfn_hi <= lim);
		assert_true(iova->pfn_lo >= 16);
		pfn = alloc_iova_fast(&iovad, size, lim, true);
		assert_int_not_equal(pfn, 0);
		held++;
		assert_true(pfn + fast_size(size) - 1 <= lim);
		if (i % 3 == 0) {
			free_iova_fast(&iovad, pfn, size);
			held--;
		}
	}
	/* the limit is inclusive */
	assert_int_equal(alloc_iova_fast(&iovad, 1, 16, false), 16);
	held++;
	/* below the start, or no room for the size */
	assert_null(alloc_iova(&iovad, 1, 15, false));
	assert_null(alloc_iova(&iovad, 4, 17, false));
	assert_int_equal(alloc_iova_fast(&iovad, 64, 40, false), 0);
	stats(&iovad, &st);
	assert_true(st.alloc_nospc >= 3);
	check_identities(&iovad, held, 0);
	put_iova_domain(&iovad);
}

/* Fill a domain, fail, free, recover: in a small window and under 4 GiB
 * (where the fast failure of max32_alloc_size must not outlive a free). */
static void test_exhaustion_recovery(void **state)
{
	struct iova_domain iovad;
	unsigned long pfn, lim32, base;
	struct iova_stats st;
	struct iova *iova;

	assert_int_equal(init_iova_domain(&iovad, GRANULE, 1), 0);
	for (pfn = 1024; pfn >= 1; pfn--) {
		iova = alloc_iova(&iovad, 1, 1024, false);
		assert_non_null(iova);
		assert_int_equal(iova->pfn_lo, pfn);
	}
	assert_null(alloc_iova(&iovad, 1, 1024, false));
	stats(&iovad, &st);
	assert_int_equal(st.alloc_nospc, 1);
	free_iova(&iovad, 500);
	iova = alloc_iova(&iovad, 1, 1024, false);
	assert_non_null(iova);
	assert_int_equal(iova->pfn_lo, 500);
	free_iova(&iovad, 600);
	free_iova(&iovad, 601);
	assert_null(alloc_iova(&iovad, 2, 599, true));
	iova = alloc_iova(&iovad, 2, 1024, true);
	assert_non_null(iova);
	assert_int_equal(iova->pfn_lo, 600);
	put_iova_domain(&iovad);

	/* the 4 GiB class: the last 1024 pfns below 4 GiB */
	lim32 = (1UL << 20) - 1;
	base = lim32 - 1023;
	assert_int_equal(init_iova_domain(&iovad, GRANULE, base), 0);
	for (pfn = 0; pfn < 512; pfn++)
		assert_non_null(alloc_iova(&iovad, 2, lim32, true));
	assert_null(alloc_iova(&iovad, 2, lim32, true));
	assert_null(alloc_iova(&iovad, 4, lim32, true)); /* fails fast */
	assert_null(alloc_iova(&iovad, 1, lim32, false));
	stats(&iovad, &st);
	assert_int_equal(st.alloc_nospc, 3);
	free_iova(&iovad, base + 8);
	iova = alloc_iova(&iovad, 2, lim32, true);
	assert_non_null(iova);
	assert_int_equal(iova->pfn_lo, base + 8);
	check_identities(&iovad, 512, 0);
	put_iova_domain(&iovad);
}

/* reserve_iova keeps an MSI window out of allocation; find_iova finds the
 * reserved node; bad windows are refused. */
static void test_reserve_msi_window(void **state)
{
	unsigned long msi_lo = MSI_BASE / GRANULE;
	unsigned long msi_hi = (MSI_BASE + MSI_LEN) / GRANULE - 1;
	unsigned long limit = msi_hi + 256, pfn, n = 0;
	struct iova_domain iovad;
	struct iova *res, *iova;

	assert_int_equal(init_iova_domain(&iovad, GRANULE, 1), 0);
	assert_null(reserve_iova(&iovad, 10, 9));
	assert_null(reserve_iova(&iovad, 10, IOVA_ANCHOR));
	res = reserve_iova(&iovad, msi_lo, msi_hi);
	assert_non_null(res);
	assert_int_equal(res->pfn_lo, msi_lo);
	assert_int_equal(res->pfn_hi, msi_hi);
	assert_ptr_equal(find_iova(&iovad, msi_lo + 17), res);
	/* reserving it again changes nothing */
	assert_ptr_equal(reserve_iova(&iovad, msi_lo, msi_hi), res);
	while ((iova = alloc_iova(&iovad, 1, limit, false))) {
		assert_true(iova->pfn_lo < msi_lo || iova->pfn_lo > msi_hi);
		n++;
	}
	assert_int_equal(n, limit - (msi_hi - msi_lo + 1));
	check_identities(&iovad, n, 1);
	put_iova_domain(&iovad);

	/* a window over ranges already held: only the free parts are
	 * reserved, the held range stays the caller's */
	assert_int_equal(init_iova_domain(&iovad, GRANULE, 1), 0);
	iova = alloc_iova(&iovad, 4, msi_lo + 103, false);
	assert_int_equal(iova->pfn_lo, msi_lo + 100);
	res = reserve_iova(&iovad, msi_lo, msi_hi);
	assert_non_null(res);
	assert_int_equal(res->pfn_hi, msi_lo + 99);
	assert_ptr_equal(find_iova(&iovad, msi_lo + 101), iova);
	assert_int_equal(find_iova(&iovad, msi_lo + 104)->pfn_lo, msi_lo + 104);
	assert_int_equal(find_iova(&iovad, msi_lo + 104)->pfn_hi, msi_hi);
	check_identities(&iovad, 1, 2);
	put_iova_domain(&iovad);

	/* a cached range inside the window is flushed, never handed out */
	assert_int_equal(init_iova_domain(&iovad, GRANULE, 1), 0);
	assert_int_equal(iova_domain_init_rcaches(&iovad), 0);
	pfn = alloc_iova_fast(&iovad, 1, msi_hi, true);
	assert_int_equal(pfn, msi_hi);
	free_iova_fast(&iovad, pfn, 1);
	assert_non_null(reserve_iova(&iovad, msi_lo, msi_hi));
	pfn = alloc_iova_fast(&iovad, 1, msi_hi, true);
	assert_int_equal(pfn, msi_lo - 1);
	check_identities(&iovad, 1, 1);
	put_iova_domain(&iovad);
}

static void test_find_free(void **state)
{
	struct iova_domain iovad;
	struct iova *a, *b;
	struct iova_stats st;

	assert_int_equal(init_iova_domain(&iovad, GRANULE, 1), 0);
	a = alloc_iova(&iovad, 8, 0xffff, true);
	b = alloc_iova(&iovad, 8, 0xffff, true);
	assert_ptr_equal(find_iova(&iovad, a->pfn_lo), a);
	assert_ptr_equal(find_iova(&iovad, a->pfn_hi), a);
	assert_ptr_equal(find_iova(&iovad, b->pfn_lo + 3), b);
	assert_null(find_iova(&iovad, b->pfn_lo - 1));
	free_iova(&iovad, 12345); /* nothing there: no-op */
	free_iova(&iovad, a->pfn_lo + 2);
	assert_null(find_iova(&iovad, 0xfff8));
	__free_iova(&iovad, b);
	assert_null(find_iova(&iovad, 0xfff0));
	stats(&iovad, &st);
	assert_int_equal(st.allocs, 2);
	assert_int_equal(st.frees, 2);
	assert_int_equal(st.tree_inserts, 2);
	assert_int_equal(st.tree_removals, 2);
	assert_int_equal(st.nodes, 0);
	put_iova_domain(&iovad);
}

/* C04: a range freed with free_iova_fast is reusable at once: it comes
 * back from this CPU's magazine (counters prove it, the tree is not
 * touched); sizes above 128 KiB bypass the caches. */
static void test_c04_rcache_hit_and_bypass(void **state)
{
	struct iova_domain iovad;
	unsigned long pfn, pfn2, size;
	struct iova_stats st;

	uiommu_set_cpu_id(0);
	assert_int_equal(init_iova_domain(&iovad, GRANULE, 1), 0);
	assert_int_equal(iova_domain_init_rcaches(&iovad), 0);
	pfn = alloc_iova_fast(&iovad, 1, 0xfffff, true);
	stats(&iovad, &st);
	assert_int_equal(st.rcache_misses, 1);
	assert_int_equal(st.rcache_hits, 0);
	assert_int_equal(st.tree_inserts, 1);
	free_iova_fast(&iovad, pfn, 1);
	stats(&iovad, &st);
	assert_int_equal(st.rcache_frees, 1);
	assert_int_equal(st.tree_removals, 0);
	assert_int_equal(st.cached, 1);
	assert_int_equal(alloc_iova_fast(&iovad, 1, 0xfffff, true), pfn);
	stats(&iovad, &st);
	assert_int_equal(st.rcache_hits, 1);
	assert_int_equal(st.tree_inserts, 1);
	assert_int_equal(st.cached, 0);

	/* every cached order: 1..32 pages, 3 is cached as 4 */
	for (size = 1; size <= 32; size++) {
		pfn = alloc_iova_fast(&iovad, size, 0xfffff, true);
		free_iova_fast(&iovad, pfn, size);
		assert_int_equal(alloc_iova_fast(&iovad, size, 0xfffff, true),
				 pfn);
		free_iova_fast(&iovad, pfn, size);
	}
	stats(&iovad, &st);
	/* 32 sizes, 6 orders: the first allocation of the 26 sizes that
	 * share an order with the previous size hits too */
	assert_int_equal(st.rcache_hits, 1 + 32 + 26);
	assert_int_equal(st.tree_removals, 0);

	/* 33 pages (132 KiB): bypasses the caches entirely */
	stats(&iovad, &st);
	pfn = alloc_iova_fast(&iovad, 33, 0xfffff, true);
	assert_int_equal(iova_size(find_iova(&iovad, pfn)), 33);
	free_iova_fast(&iovad, pfn, 33);
	pfn2 = alloc_iova_fast(&iovad, 33, 0xfffff, true);
	free_iova_fast(&iovad, pfn2, 33);
	{
		struct iova_stats st2;

		stats(&iovad, &st2);
		assert_int_equal(st2.rcache_hits, st.rcache_hits);
		assert_int_equal(st2.rcache_misses, st.rcache_misses);
		assert_int_equal(st2.rcache_frees, st.rcache_frees);
		assert_int_equal(st2.tree_inserts, st.tree_inserts + 2);
		assert_int_equal(st2.tree_removals, st.tree_removals + 2);
	}
	check_identities(&iovad, 1, 0);
	put_iova_domain(&iovad);
}

/* A cached range above a caller's limit is not handed to that caller. */
static void test_rcache_respects_limit(void **state)
{
	struct iova_domain iovad;
	unsigned long hi, lo;
	struct iova_stats st;

	uiommu_set_cpu_id(0);
	assert_int_equal(init_iova_domain(&iovad, GRANULE, 1), 0);
	assert_int_equal(iova_domain_init_rcaches(&iovad), 0);
	hi = alloc_iova_fast(&iovad, 4, 0xfffff, true);
	lo = alloc_iova_fast(&iovad, 4, 0xfff, true);
	assert_true(lo + 3 <= 0xfff);
	free_iova_fast(&iovad, lo, 4);
	free_iova_fast(&iovad, hi, 4);
	/* the top of the magazine (hi) is above 0xfff: lo is taken */
	assert_int_equal(alloc_iova_fast(&iovad, 4, 0xfff, true), lo);
	/* only hi is left: a low limit misses and goes to the tree */
	lo = alloc_iova_fast(&iovad, 4, 0xfff, true);
	assert_true(lo != hi && lo + 3 <= 0xfff);
	stats(&iovad, &st);
	assert_int_equal(st.cached, 1);
	assert_int_equal(alloc_iova_fast(&iovad, 4, 0xfffff, true), hi);
	check_identities(&iovad, 3, 0);
	put_iova_domain(&iovad);
}

/* Bursts far larger than the magazines (and than the 32-magazine depot of
 * older kernels): every free is cached, every allocation of the next burst
 * hits; the depot grows and shrinks without a trim or a tree operation. */
static void test_depot_no_cliff(void **state)
{
	const unsigned long n = 40000;
	struct iova_domain iovad;
	unsigned long *pfns = calloc(n, sizeof(*pfns)), i;
	struct iova_stats st0, st;
	int round;

	uiommu_set_cpu_id(0);
	assert_int_equal(init_iova_domain(&iovad, GRANULE, 1), 0);
	assert_int_equal(iova_domain_init_rcaches(&iovad), 0);
	for (i = 0; i < n; i++)
		assert_int_not_equal(
			pfns[i] = alloc_iova_fast(&iovad, 1, 0xfffff, true), 0);
	stats(&iovad, &st0);
	assert_int_equal(st0.rcache_misses, n);
	for (round = 0; round < 6; round++) {
		for (i = 0; i < n; i++)
			free_iova_fast(&iovad, pfns[i], 1);
		stats(&iovad, &st);
		assert_int_equal(st.rcache_frees, (round + 1) * n);
		assert_int_equal(st.cached, n);
		assert_int_equal(st.tree_removals, 0);
		if (!round)
			assert_int_equal(
				st.depot_pushes,
				(n - 2 * IOVA_MAG_SIZE + IOVA_MAG_SIZE - 1) /
					IOVA_MAG_SIZE);
		for (i = 0; i < n; i++)
			assert_int_not_equal(pfns[i] = alloc_iova_fast(
						     &iovad, 1, 0xfffff, true),
					     0);
		stats(&iovad, &st);
		assert_int_equal(st.rcache_hits, (round + 1) * n);
		assert_int_equal(st.rcache_misses, n);
		assert_int_equal(st.tree_inserts, n);
		assert_int_equal(st.depot_pops, st.depot_pushes);
	}
	/* more than IOVA_DEPOT_TRIM_INTERVAL depot operations, no trim: the
	 * depot drained to zero in every interval */
	assert_true(st.depot_pushes + st.depot_pops > IOVA_DEPOT_TRIM_INTERVAL);
	assert_int_equal(st.depot_trims, 0);
	check_identities(&iovad, n, 0);
	put_iova_domain(&iovad);
	free(pfns);
}

/* The trimming policy: magazines that sat untouched in the depot for a
 * whole interval go back to the tree, one per interval, above
 * IOVA_DEPOT_KEEP; the churn above them keeps hitting. */
static void test_depot_trim(void **state)
{
	const unsigned long dead = 2 * IOVA_MAG_SIZE + 40 * IOVA_MAG_SIZE;
	const unsigned long churn = 2 * IOVA_MAG_SIZE + 8 * IOVA_MAG_SIZE;
	unsigned long *pfns = calloc(dead + churn, sizeof(*pfns)), i;
	struct iova_domain iovad;
	struct iova_stats st0, st;
	int cycle;

	uiommu_set_cpu_id(0);
	assert_int_equal(init_iova_domain(&iovad, GRANULE, 1), 0);
	assert_int_equal(iova_domain_init_rcaches(&iovad), 0);
	for (i = 0; i < dead + churn; i++)
		pfns[i] = alloc_iova_fast(&iovad, 1, 0xfffff, true);
	for (i = 0; i < dead; i++)
		free_iova_fast(&iovad, pfns[i], 1);
	stats(&iovad, &st0);
	assert_int_equal(st0.depot_mags, 40);
	for (cycle = 0; cycle < 200; cycle++) {
		for (i = dead; i < dead + churn; i++)
			free_iova_fast(&iovad, pfns[i], 1);
		for (i = dead; i < dead + churn; i++)
			pfns[i] = alloc_iova_fast(&iovad, 1, 0xfffff, true);
	}
	stats(&iovad, &st);
	/* the churn never missed */
	assert_int_equal(st.rcache_misses, st0.rcache_misses);
	/* at most one trim per interval, and some happened */
	assert_true(st.depot_trims >= 2);
	assert_true(st.depot_trims <= (st.depot_pushes + st.depot_pops) /
					      IOVA_DEPOT_TRIM_INTERVAL);
	assert_int_equal(st.tree_removals, st.depot_trims * IOVA_MAG_SIZE);
	check_identities(&iovad, churn, 0);

	/* explicit trim: the first call sets the trim point, the second
	 * returns what stayed untouched since, down to IOVA_DEPOT_KEEP */
	iova_domain_trim_rcaches(&iovad);
	stats(&iovad, &st0);
	iova_domain_trim_rcaches(&iovad);
	stats(&iovad, &st);
	assert_int_equal(st.depot_mags, IOVA_DEPOT_KEEP);
	assert_int_equal(st.depot_trims - st0.depot_trims,
			 st0.depot_mags - IOVA_DEPOT_KEEP);
	assert_int_equal(st0.cached - st.cached,
			 (st0.depot_mags - IOVA_DEPOT_KEEP) * IOVA_MAG_SIZE);
	iova_domain_trim_rcaches(&iovad);
	stats(&iovad, &st0);
	assert_int_equal(st0.depot_mags, IOVA_DEPOT_KEEP);
	check_identities(&iovad, churn, 0);
	put_iova_domain(&iovad);
	free(pfns);
}

/* Flushing returns every cached range to the tree; per CPU too. */
static void test_flush_rcaches(void **state)
{
	struct iova_domain iovad;
	unsigned long pfn[3000], i;
	struct iova_stats st;

	assert_int_equal(init_iova_domain(&iovad, GRANULE, 1), 0);
	assert_int_equal(iova_domain_init_rcaches(&iovad), 0);
	uiommu_set_cpu_id(1);
	for (i = 0; i < 3000; i++)
		pfn[i] = alloc_iova_fast(&iovad, 1 + i % 40, 0xfffff, true);
	for (i = 0; i < 10; i++)
		free_iova_fast(&iovad, pfn[i], 1 + i % 40);
	free_cpu_cached_iovas(1, &iovad);
	stats(&iovad, &st);
	assert_int_equal(st.cached, 0);
	uiommu_set_cpu_id(2);
	for (i = 10; i < 3000; i++)
		free_iova_fast(&iovad, pfn[i], 1 + i % 40);
	stats(&iovad, &st);
	assert_true(st.cached > 0 && st.depot_mags > 0);
	iova_domain_flush_rcaches(&iovad);
	stats(&iovad, &st);
	assert_int_equal(st.cached, 0);
	assert_int_equal(st.depot_mags, 0);
	assert_int_equal(st.nodes, 0);
	assert_int_equal(st.rcache_flushes, 1);
	assert_int_equal(st.tree_inserts, st.tree_removals);
	check_identities(&iovad, 0, 0);
	uiommu_set_cpu_id(0);
	put_iova_domain(&iovad);
}

/* Exhaustion of alloc_iova_fast: 0, or with flush_rcache one flush of
 * every cache and a second search that finds the cached space. */
static void test_fast_exhaustion_flush(void **state)
{
	struct iova_domain iovad;
	unsigned long pfn[1023], i, p;
	struct iova_stats st;

	uiommu_set_cpu_id(0);
	assert_int_equal(init_iova_domain(&iovad, GRANULE, 1), 0);
	assert_int_equal(iova_domain_init_rcaches(&iovad), 0);
	for (i = 0; i < 1023; i++)
		assert_int_not_equal(
			pfn[i] = alloc_iova_fast(&iovad, 1, 1023, true), 0);
	assert_int_equal(alloc_iova_fast(&iovad, 1, 1023, false), 0);
	assert_int_equal(alloc_iova_fast(&iovad, 1, 1023, true), 0);
	stats(&iovad, &st);
	assert_int_equal(st.rcache_flushes, 1);
	for (i = 0; i < 1023; i++)
		free_iova_fast(&iovad, pfn[i], 1);
	/* everything sits in the caches: a size-2 request finds no room */
	assert_int_equal(alloc_iova_fast(&iovad, 2, 1023, false), 0);
	stats(&iovad, &st);
	assert_int_equal(st.cached, 1023);
	p = alloc_iova_fast(&iovad, 2, 1023, true);
	assert_int_not_equal(p, 0);
	assert_int_equal(p % 2, 0);
	stats(&iovad, &st);
	assert_int_equal(st.rcache_flushes, 2);
	assert_int_equal(st.cached, 0);
	check_identities(&iovad, 1, 0);
	put_iova_domain(&iovad);
}

/* C06: no range is handed out twice while held, across threads. */
#define THR_SPACE (1UL << 15)
#define THR_HELD  48

struct thr_ctx {
	struct iova_domain *iovad;
	_Atomic unsigned long *bitmap;
	_Atomic unsigned long *overlaps;
	unsigned int cpu;
	unsigned int seed;
	unsigned long ops;
	unsigned long misaligned;
	unsigned long failed;
};

static bool mark(_Atomic unsigned long *bm, unsigned long pfn, unsigned long n,
		 bool set)
{
	bool ok = true;
	unsigned long i;

	for (i = pfn; i < pfn + n; i++) {
		unsigned long bit = 1UL << (i % 64), old;

		if (set)
			old = atomic_fetch_or(&bm[i / 64], bit);
		else
			old = atomic_fetch_and(&bm[i / 64], ~bit);
		if (!!(old & bit) == set)
			ok = false;
	}
	return ok;
}

static void *thr_main(void *arg)
{
	static const unsigned long sizes[] = {1, 1,  1,	 2,  3, 4,
					      8, 16, 32, 33, 64};
	struct thr_ctx *c = arg;
	unsigned long pfn[THR_HELD] = {0}, size[THR_HELD] = {0};
	unsigned long i;

	uiommu_set_cpu_id(c->cpu);
	for (i = 0; i < c->ops; i++) {
		unsigned int slot = rand_r(&c->seed) % THR_HELD;

		if (pfn[slot]) {
			if (!mark(c->bitmap, pfn[slot], fast_size(size[slot]),
				  false))
				atomic_fetch_add(c->overlaps, 1);
			free_iova_fast(c->iovad, pfn[slot], size[slot]);
			pfn[slot] = 0;
			continue;
		}
		size[slot] = sizes[rand_r(&c->seed) % ARRAY_SIZE_T(sizes)];
		pfn[slot] = alloc_iova_fast(c->iovad, size[slot], THR_SPACE - 1,
					    true);
		if (!pfn[slot]) {
			c->failed++;
			continue;
		}
		if (pfn[slot] % rounded(size[slot]))
			c->misaligned++;
		if (!mark(c->bitmap, pfn[slot], fast_size(size[slot]), true))
			atomic_fetch_add(c->overlaps, 1);
	}
	for (i = 0; i < THR_HELD; i++) {
		if (!pfn[i])
			continue;
		if (!mark(c->bitmap, pfn[i], fast_size(size[i]), false))
			atomic_fetch_add(c->overlaps, 1);
		free_iova_fast(c->iovad, pfn[i], size[i]);
	}
	return NULL;
}

static void run_threads(unsigned int nthreads, bool share_cpu)
{
	_Atomic unsigned long *bitmap = calloc(THR_SPACE / 64, sizeof(*bitmap));
	_Atomic unsigned long overlaps = 0;
	struct thr_ctx ctx[4];
	pthread_t tid[4];
	struct iova_domain iovad;
	struct iova_stats st;
	unsigned int t;

	assert_int_equal(init_iova_domain(&iovad, GRANULE, 1), 0);
	assert_int_equal(iova_domain_init_rcaches(&iovad), 0);
	for (t = 0; t < nthreads; t++) {
		ctx[t] = (struct thr_ctx){
			.iovad = &iovad,
			.bitmap = bitmap,
			.overlaps = &overlaps,
			.cpu = share_cpu ? 7 : 8 + t,
			.seed = 1234 + t,
			.ops = 60000,
		};
		assert_int_equal(
			pthread_create(&tid[t], NULL, thr_main, &ctx[t]), 0);
	}
	/* flushes from another thread while they run */
	for (t = 0; t < 20; t++)
		iova_domain_flush_rcaches(&iovad);
	for (t = 0; t < nthreads; t++) {
		pthread_join(tid[t], NULL);
		assert_int_equal(ctx[t].misaligned, 0);
	}
	assert_int_equal(atomic_load(&overlaps), 0);
	for (t = 0; t < THR_SPACE / 64; t++)
		assert_int_equal(atomic_load(&bitmap[t]), 0);
	stats(&iovad, &st);
	assert_int_equal(st.allocs, st.frees);
	assert_true(st.rcache_hits > 0);
	check_identities(&iovad, 0, 0);
	iova_domain_flush_rcaches(&iovad);
	stats(&iovad, &st);
	assert_int_equal(st.nodes, 0);
	put_iova_domain(&iovad);
	free(bitmap);
}

static void test_c06_threads_no_double_allocation(void **state)
{
	run_threads(4, false);
}

static void test_c06_threads_sharing_cpu_id(void **state)
{
	run_threads(3, true);
}

/* Failure paths. */
static struct iova_domain sweep_iovad;

static int op_init(void *ctx)
{
	int ret;

	assert_int_equal(init_iova_domain(&sweep_iovad, GRANULE, 1), 0);
	ret = iova_domain_init_rcaches(&sweep_iovad);
	return ret;
}

static void check_init(void *ctx)
{
	/* nothing kept: no caches, the domain still works on the tree */
	assert_null(sweep_iovad.rcaches);
	assert_int_equal(alloc_iova_fast(&sweep_iovad, 1, 100, true), 100);
	put_iova_domain(&sweep_iovad);
}

static void undo_init(void *ctx)
{
	assert_non_null(sweep_iovad.rcaches);
	put_iova_domain(&sweep_iovad);
}

static void test_fail_sweep_init_rcaches(void **state)
{
	int n = test_fail_sweep(op_init, undo_init, check_init, NULL,
				UIOMMU_FAIL_ALLOC);

	/* the block, then two magazines per CPU per order */
	assert_int_equal(n, 1 + 2 * UIOMMU_NR_CPUS * IOVA_RANGE_CACHE_MAX_SIZE);
}

static struct iova *sweep_iova;

static int op_alloc(void *ctx)
{
	sweep_iova = alloc_iova(&sweep_iovad, 5, 0xffff, true);
	return sweep_iova ? 0 : -ENOMEM;
}

static int op_reserve(void *ctx)
{
	return reserve_iova(&sweep_iovad, 0x100, 0x1ff) ? 0 : -ENOMEM;
}

static void check_unchanged(void *ctx)
{
	struct iova_stats st;

	stats(&sweep_iovad, &st);
	assert_int_equal(st.nodes, 2);
	assert_null(find_iova(&sweep_iovad, 0x100));
	assert_null(find_iova(&sweep_iovad, 0x1ff));
}

static void test_fail_sweep_alloc_reserve(void **state)
{
	struct iova_stats st;

	assert_int_equal(init_iova_domain(&sweep_iovad, GRANULE, 1), 0);
	/* two held ranges split the window into three gaps */
	assert_int_equal(alloc_iova(&sweep_iovad, 1, 0x180, false)->pfn_lo,
			 0x180);
	assert_int_equal(alloc_iova(&sweep_iovad, 1, 0x140, false)->pfn_lo,
			 0x140);
	assert_int_equal(test_fail_sweep(op_alloc, NULL, check_unchanged, NULL,
					 UIOMMU_FAIL_ALLOC),
			 1);
	assert_int_equal(iova_size(sweep_iova), 5);
	__free_iova(&sweep_iovad, sweep_iova);
	/* the pointer array, then one node per gap */
	assert_int_equal(test_fail_sweep(op_reserve, NULL, check_unchanged,
					 NULL, UIOMMU_FAIL_ALLOC),
			 4);
	stats(&sweep_iovad, &st);
	assert_int_equal(st.nodes, 5);
	assert_int_equal(st.alloc_nomem, 5);
	put_iova_domain(&sweep_iovad);
}

/* No empty magazine to be had when both per-CPU magazines are full: the
 * free goes to the tree, nothing is lost. */
static void test_fail_depot_push(void **state)
{
	struct iova_domain iovad;
	unsigned long pfn[2 * IOVA_MAG_SIZE + 1], i;
	struct iova_stats st;

	uiommu_set_cpu_id(0);
	assert_int_equal(init_iova_domain(&iovad, GRANULE, 1), 0);
	assert_int_equal(iova_domain_init_rcaches(&iovad), 0);
	for (i = 0; i < ARRAY_SIZE_T(pfn); i++)
		pfn[i] = alloc_iova_fast(&iovad, 1, 0xfffff, true);
	for (i = 0; i < 2 * IOVA_MAG_SIZE; i++)
		free_iova_fast(&iovad, pfn[i], 1);
	uiommu_fail_filter(UIOMMU_FAIL_ALLOC);
	uiommu_fail_nth(1);
	free_iova_fast(&iovad, pfn[i], 1);
	assert_true(uiommu_fail_fired());
	uiommu_fail_filter(0);
	assert_null(find_iova(&iovad, pfn[i]));
	stats(&iovad, &st);
	assert_int_equal(st.rcache_frees, 2 * IOVA_MAG_SIZE);
	assert_int_equal(st.frees, 2 * IOVA_MAG_SIZE + 1);
	assert_int_equal(st.depot_pushes, 0);
	check_identities(&iovad, 0, 0);
	put_iova_domain(&iovad);
}

#ifdef UI_LOCKDEP
static void find_without_tree_lock(void *ctx)
{
	private_find_iova(ctx, 1);
}
#endif

/* A function that needs the tree lock, called without it, aborts naming
 * itself and the lock (test builds check lock rules). */
static void test_tree_lock_asserted(void **state)
{
#ifdef UI_LOCKDEP
	static const char *const want[] = {"private_find_iova() must be called "
					   "with "
					   "&iovad->iova_rbtree_lock held",
					   "lock class iovad->iova_rbtree_lock",
					   NULL};
	struct iova_domain iovad;

	assert_int_equal(init_iova_domain(&iovad, GRANULE, 1), 0);
	test_expect_abort(find_without_tree_lock, &iovad, want);
	/* held, it is the lookup find_iova() makes */
	mutex_lock(&iovad.iova_rbtree_lock);
	assert_null(private_find_iova(&iovad, 1));
	mutex_unlock(&iovad.iova_rbtree_lock);
	put_iova_domain(&iovad);
#else
	skip(); /* release builds have no checks to test */
#endif
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_init_args),
	cmocka_unit_test(test_size_aligned),
	cmocka_unit_test(test_top_down),
	cmocka_unit_test(test_limit),
	cmocka_unit_test(test_exhaustion_recovery),
	cmocka_unit_test(test_reserve_msi_window),
	cmocka_unit_test(test_find_free),
	cmocka_unit_test(test_c04_rcache_hit_and_bypass),
	cmocka_unit_test(test_rcache_respects_limit),
	cmocka_unit_test(test_depot_no_cliff),
	cmocka_unit_test(test_depot_trim),
	cmocka_unit_test(test_flush_rcaches),
	cmocka_unit_test(test_fast_exhaustion_flush),
	cmocka_unit_test(test_c06_threads_no_double_allocation),
	cmocka_unit_test(test_c06_threads_sharing_cpu_id),
	cmocka_unit_test(test_fail_sweep_init_rcaches),
	cmocka_unit_test(test_fail_sweep_alloc_reserve),
	cmocka_unit_test(test_fail_depot_push),
	cmocka_unit_test(test_tree_lock_asserted),
};

TEST_MAIN(tests)
