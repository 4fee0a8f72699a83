// SPDX-License-Identifier: MIT
/*
 * Memory-layer benchmarks: pin+unpin (get_user_pages, FOLL_LONGTERM with
 * accounting) of a pre-populated 1 GiB region backed by 4 KiB frames and by
 * 2 MiB folios, beside the cost of touching one byte of every page of the
 * same region in the same run.  Figures are medians of ns per page.
 */
#include <stdio.h>
#include <stdlib.h>

#include <uiommu/mem.h>

#include "bench.h"

#define REGION (1ULL << 30)

struct mem_bench {
	struct phys_mem *pm;
	struct mm *mm;
	struct mm_pin_run *runs;
	unsigned int max_runs;
};

static double pin_unpin_ns_per_page(struct mem_bench *b, void *addr,
				    unsigned long npages)
{
	unsigned int nr;
	uint64_t t0, t1;
	long n;

	t0 = bench_now_ns();
	n = mm_pin_pages(b->mm, (unsigned long)addr, npages,
			 MM_GUP_WRITE | MM_GUP_LONGTERM, b->runs, b->max_runs,
			 &nr);
	if (n != (long)npages) {
		fprintf(stderr, "pin: %ld\n", n);
		exit(1);
	}
	mm_unpin_pages(b->mm, b->runs, nr, MM_GUP_WRITE | MM_GUP_LONGTERM);
	t1 = bench_now_ns();
	return (double)(t1 - t0) / npages;
}

static double touch_ns_per_page(void *addr, unsigned long npages)
{
	volatile uint8_t *p = addr;
	unsigned long sum = 0;
	uint64_t t0, t1;

	t0 = bench_now_ns();
	for (unsigned long i = 0; i < npages; i++)
		sum += p[i << PHYS_PAGE_SHIFT];
	t1 = bench_now_ns();
	bench_keep(sum);
	return (double)(t1 - t0) / npages;
}

static void bench_mem(void)
{
	struct phys_config cfg = {PHYS_DEFAULT_BASE, 4ULL << 30};
	unsigned long size = bench_quick ? REGION / 8 : REGION;
	unsigned long npages = size >> PHYS_PAGE_SHIFT;
	struct mem_bench b = {0};
	double *pin4k, *pin2m, *touch;
	void *r4k, *r2m;
	double m4k, m2m, mt;
	char note[96];

	pin4k = calloc(bench_reps, sizeof(double));
	pin2m = calloc(bench_reps, sizeof(double));
	touch = calloc(bench_reps, sizeof(double));
	b.max_runs = npages;
	b.runs = calloc(b.max_runs, sizeof(*b.runs));
	if (!pin4k || !pin2m || !touch || !b.runs || phys_create(&cfg, &b.pm) ||
	    mm_create(b.pm, &b.mm))
		goto out;
	mm_set_memlock_limit(b.mm, size);
	if (mm_mmap(b.mm, size, MM_MAP_POPULATE, &r4k) ||
	    mm_mmap(b.mm, size, MM_MAP_POPULATE | MM_MAP_HUGE, &r2m))
		goto out;

	/* warm up once, then alternate so both see the same machine */
	pin_unpin_ns_per_page(&b, r4k, npages);
	pin_unpin_ns_per_page(&b, r2m, npages);
	for (int i = 0; i < bench_reps; i++) {
		pin4k[i] = pin_unpin_ns_per_page(&b, r4k, npages);
		pin2m[i] = pin_unpin_ns_per_page(&b, r2m, npages);
		touch[i] = touch_ns_per_page(r4k, npages);
	}
	m4k = bench_median(pin4k, bench_reps);
	m2m = bench_median(pin2m, bench_reps);
	mt = bench_median(touch, bench_reps);

	snprintf(note, sizeof(note), "%lu MiB, pre-populated (%.1f GB/s)",
		 size >> 20, 4096.0 / m4k);
	bench_report("mem.pin_unpin_4k", m4k, "ns/page", note);
	snprintf(note, sizeof(note), "2 MiB folios (%.1f GB/s)", 4096.0 / m2m);
	bench_report("mem.pin_unpin_2m", m2m, "ns/page", note);
	bench_report("mem.touch_byte_per_page", mt, "ns/page",
		     "one load per 4 KiB page of the same region");
	bench_report("mem.pin_2m_speedup", m4k / m2m, "x",
		     "4 KiB over 2 MiB backing, per byte");
out:
	mm_destroy(b.mm);
	phys_destroy(b.pm);
	free(b.runs);
	free(pin4k);
	free(pin2m);
	free(touch);
}

BENCH_SUITE(mem, bench_mem)
