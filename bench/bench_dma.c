// SPDX-License-Identifier: MIT
/*
 * IOMMU-core and DMA-API benchmarks: dma_map_page + dma_unmap_page pairs of
 * one 4 KiB page on the emulated SMMU, strict and lazy, with one thread and
 * with two (each on its own device and CPU id, one shared domain), all in
 * one run.  A pair is what every I/O of a driver pays; strict pays a TLBI
 * and a CMD_SYNC through the inline command-queue consumer, lazy a flush
 * queue entry and a share of one domain-wide flush per 256 unmaps.  The
 * same pairs with the SMMU's command queue consumed by its own thread show
 * what a sync costs when it must wait for another agent, as on hardware.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "devices/devices.h"

#include "bench.h"

#define PAIRS_PER_REP 200000

struct pair_thread {
	struct device *dev;
	phys_addr_t pa;
	unsigned int cpu;
	unsigned long pairs;
	pthread_barrier_t *barrier;
	double ns;
};

static void *pair_worker(void *arg)
{
	struct pair_thread *t = arg;
	uint64_t t0, t1;

	uiommu_set_cpu_id(t->cpu);
	if (t->barrier)
		pthread_barrier_wait(t->barrier);
	t0 = bench_now_ns();
	for (unsigned long i = 0; i < t->pairs; i++) {
		dma_addr_t a =
			dma_map_page(t->dev, t->pa, 4096, DMA_BIDIRECTIONAL);

		if (a == DMA_MAPPING_ERROR)
			abort();
		dma_unmap_page(t->dev, a, 4096, DMA_BIDIRECTIONAL);
	}
	t1 = bench_now_ns();
	t->ns = (double)(t1 - t0) / t->pairs;
	return NULL;
}

/* Median ns per pair per thread, nthreads threads at once. */
static double run_pairs(struct platform *p, bool lazy, unsigned int nthreads,
			unsigned long pairs)
{
	struct iommu_dma_options opts = {.fq_timeout_ms =
						 IOMMU_DMA_FQ_NO_TIMER};
	struct device dev[2] = {{.sid = 1}, {.sid = 2}};
	struct pair_thread t[2];
	pthread_barrier_t barrier;
	struct iommu_domain *d;
	double *samples = calloc(bench_reps, sizeof(double)), med;
	phys_addr_t pa[2], sentinel_pa;
	dma_addr_t sentinel;

	/* one group: both devices in one domain, as two queues of a device */
	for (unsigned int i = 0; i < 2; i++)
		if (iommu_probe_device(&dev[i], p->iommu, 42) ||
		    phys_alloc_pages(p->pm, 0, 0, PHYS_OWNER_KERNEL, &pa[i]))
			abort();
	if (iommu_dma_domain_create(&dev[0], lazy, &opts, &d) ||
	    phys_alloc_pages(p->pm, 0, 0, PHYS_OWNER_KERNEL, &sentinel_pa))
		abort();
	/* keeps the tables of the hot IOVAs from ever being freed */
	sentinel = dma_map_page(&dev[0], sentinel_pa, 4096, DMA_TO_DEVICE);

	for (int r = -1; r < bench_reps; r++) {
		double sum = 0;

		pthread_barrier_init(&barrier, NULL, nthreads);
		for (unsigned int i = 0; i < nthreads; i++)
			t[i] = (struct pair_thread){
				.dev = &dev[i],
				.pa = pa[i],
				.cpu = i,
				.pairs = pairs,
				.barrier = nthreads > 1 ? &barrier : NULL,
			};
		if (nthreads == 1) {
			pair_worker(&t[0]);
		} else {
			pthread_t th[2];

			for (unsigned int i = 0; i < nthreads; i++)
				pthread_create(&th[i], NULL, pair_worker,
					       &t[i]);
			for (unsigned int i = 0; i < nthreads; i++)
				pthread_join(th[i], NULL);
		}
		pthread_barrier_destroy(&barrier);
		for (unsigned int i = 0; i < nthreads; i++)
			sum += t[i].ns;
		if (r >= 0) /* the first round warms up */
			samples[r] = sum / nthreads;
	}
	med = bench_median(samples, bench_reps);

	dma_unmap_page(&dev[0], sentinel, 4096, DMA_TO_DEVICE);
	iommu_dma_domain_destroy(&dev[0], d);
	for (unsigned int i = 0; i < 2; i++) {
		iommu_release_device(&dev[i]);
		phys_free_pages(p->pm, pa[i], 0);
	}
	phys_free_pages(p->pm, sentinel_pa, 0);
	free(samples);
	return med;
}

static void bench_dma(void)
{
	struct platform_config threaded = {.smmu.threaded = true};
	unsigned long pairs = bench_quick ? PAIRS_PER_REP / 10 : PAIRS_PER_REP;
	struct platform *p, *pt;
	double strict1, lazy1, strict2, lazy2, strict_t, lazy_t;
	char note[96];

	if (platform_create(NULL, &p))
		return;
	strict1 = run_pairs(p, false, 1, pairs);
	lazy1 = run_pairs(p, true, 1, pairs);
	strict2 = run_pairs(p, false, 2, pairs);
	lazy2 = run_pairs(p, true, 2, pairs);
	platform_destroy(p);
	/* the SMMU's consumer on its own thread: a CMD_SYNC waits for it */
	if (platform_create(&threaded, &pt))
		return;
	strict_t = run_pairs(pt, false, 1, pairs / 100);
	lazy_t = run_pairs(pt, true, 1, pairs);
	platform_destroy(pt);

	bench_report("dma.map_unmap_strict", strict1, "ns",
		     "dma_map_page+dma_unmap_page, 1 thread, inline consumer");
	bench_report("dma.map_unmap_lazy", lazy1, "ns",
		     "per-CPU flush queues of 256, 1 thread");
	bench_report("dma.map_unmap_strict_2t", strict2, "ns",
		     "per pair per thread, 2 threads, one domain");
	bench_report("dma.map_unmap_lazy_2t", lazy2, "ns",
		     "per pair per thread, 2 threads, one domain");
	snprintf(note, sizeof(note),
		 "pairs/s lazy over strict (2 threads: %.2fx)",
		 strict2 / lazy2);
	bench_report("dma.lazy_over_strict", strict1 / lazy1, "x", note);
	bench_report("dma.map_unmap_strict_threaded", strict_t, "ns",
		     "1 thread, SMMU consumer thread: each sync a hand-off");
	bench_report("dma.map_unmap_lazy_threaded", lazy_t, "ns",
		     "1 thread, SMMU consumer thread");
	bench_report("dma.lazy_over_strict_threaded", strict_t / lazy_t, "x",
		     "pairs/s lazy over strict, consumer thread");
}

BENCH_SUITE(dma, bench_dma)
