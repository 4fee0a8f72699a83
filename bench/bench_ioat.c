// SPDX-License-Identifier: MIT
/*
 * The emulated I/OAT (src/devices/ioat.c), driven as DPDK's dma_ioat PMD
 * drives it: descriptors in a ring of DMA memory mapped with type1, the
 * DMACOUNT doorbell stored through the trapped mmap of BAR0, completion
 * polled in memory (the write-back of CHANSTS to CHANCMP's address).
 *
 *  - ioat.<mode>.latency_4k: one 4 KiB copy, from the doorbell's store to
 *    the completion word showing it; median ns.
 *  - ioat.<mode>.copy_burst32: 4 KiB copies in bursts of 32, one doorbell
 *    per burst, waiting for each burst's last completion; GB/s, beside
 *    memcpy() of the same bytes between the same buffers in the same run,
 *    and the ratio (the target: at least 0.5 inline).
 *
 * mode is inline (the store runs the descriptors) or threaded (the
 * channel's thread runs them while this thread polls).
 */
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "devices/devices.h"
#include "devices/ioat_regs.h"
#include "vfio/vfio_device.h"
#include "vfio/vfio_pci.h"

#include "bench.h"

#define PG	   4096u
#define BURST	   32
#define RING_N	   64 /* descriptors: a ring through their next pointers */
#define NPAGES	   (2 + 2 * BURST)
#define IOVA	   0x100000ULL
#define RING	   IOVA
#define COMPL	   (IOVA + PG)
#define SRC(i)	   (IOVA + (2 + (uint64_t)(i)) * PG)
#define DST(i)	   (IOVA + (2 + BURST + (uint64_t)(i)) * PG)
#define BAR0	   VFIO_REGION_OFFSET(VFIO_PCI_BAR0_REGION_INDEX)
#define CH(r)	   (IOAT_CHAN_BASE + IOAT_A_##r)
#define LAT_COPIES 20000
#define BURSTS	   2000

struct ioat_bench {
	struct platform *p;
	struct mm *mm;
	struct vfio_device *vdev;
	int container, group, dev;
	uint8_t *mem;
	volatile uint8_t *bar;
	uint16_t count; /* descriptors queued since the arming */
};

static void *host(struct ioat_bench *b, uint64_t iova)
{
	return b->mem + (iova - IOVA);
}

static volatile uint64_t *completion(struct ioat_bench *b)
{
	return host(b, COMPL);
}

/* Descriptor i of the ring copies page i % BURST. */
static void ring_fill(struct ioat_bench *b)
{
	for (unsigned int i = 0; i < RING_N; i++) {
		uint8_t *d = host(b, RING + (uint64_t)i * IOAT_DESC_SIZE);
		uint32_t size = PG, ctl = IOAT_MASK(DCTL, COMPL_WRITE);
		uint64_t src = SRC(i % BURST), dst = DST(i % BURST);
		uint64_t next =
			RING + (uint64_t)((i + 1) % RING_N) * IOAT_DESC_SIZE;

		memset(d, 0, IOAT_DESC_SIZE);
		memcpy(d + IOAT_D_SIZE, &size, 4);
		memcpy(d + IOAT_D_CTL, &ctl, 4);
		memcpy(d + IOAT_D_SRC, &src, 8);
		memcpy(d + IOAT_D_DST, &dst, 8);
		memcpy(d + IOAT_D_NEXT, &next, 8);
	}
}

static int ioat_bench_open(struct ioat_bench *b, bool threaded)
{
	struct ioat_config cfg = {
		.bdf = "0000:00:04.0", .sid = 3, .threaded = threaded};
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.iova = IOVA,
		.size = NPAGES * PG,
	};
	uint16_t cmd;
	void *bar;

	memset(b, 0, sizeof(*b));
	b->container = b->group = b->dev = -1;
	if (platform_create(NULL, &b->p) || mm_create(b->p->pm, &b->mm) ||
	    ioat_create(b->p, &cfg, &b->vdev))
		return -1;
	if (vfio_register_group_dev(b->vdev, 60))
		return -1;
	b->container = vfio_fops_open(b->mm, "/dev/vfio/vfio", O_RDWR);
	b->group = vfio_fops_open(b->mm, "/dev/vfio/60", O_RDWR);
	if (b->container < 0 || b->group < 0 ||
	    vfio_fops_ioctl(b->group, VFIO_GROUP_SET_CONTAINER,
			    &b->container) ||
	    vfio_fops_ioctl(b->container, VFIO_SET_IOMMU,
			    (void *)(uintptr_t)VFIO_TYPE1v2_IOMMU))
		return -1;
	b->dev = vfio_fops_ioctl(b->group, VFIO_GROUP_GET_DEVICE_FD,
				 "0000:00:04.0");
	if (b->dev < 0 ||
	    mm_mmap(b->mm, NPAGES * PG, MM_MAP_POPULATE, (void **)&b->mem))
		return -1;
	map.vaddr = (uintptr_t)b->mem;
	if (vfio_fops_ioctl(b->container, VFIO_IOMMU_MAP_DMA, &map))
		return -1;
	if (vfio_fops_pread(b->dev, &cmd, 2,
			    VFIO_REGION_OFFSET(VFIO_PCI_CONFIG_REGION_INDEX) +
				    4) != 2)
		return -1;
	cmd |= 0x6;
	if (vfio_fops_pwrite(b->dev, &cmd, 2,
			     VFIO_REGION_OFFSET(VFIO_PCI_CONFIG_REGION_INDEX) +
				     4) != 2)
		return -1;
	bar = vfio_fops_mmap(b->mm, IOAT_BAR0_SIZE, PROT_READ | PROT_WRITE,
			     MAP_SHARED, b->dev, BAR0);
	if (bar == MAP_FAILED)
		return -1;
	b->bar = bar;
	for (unsigned int i = 0; i < BURST; i++)
		memset(host(b, SRC(i)), (int)(i + 1), PG);
	ring_fill(b);
	/* DPDK's start, through the mapping */
	*(volatile uint8_t *)(b->bar + CH(CHANCMD)) = IOAT_MASK(CHANCMD, RESET);
	while (*(volatile uint8_t *)(b->bar + CH(CHANCMD)) &
	       IOAT_MASK(CHANCMD, RESET))
		;
	*(volatile uint64_t *)(b->bar + CH(CHAINADDR)) = RING;
	*(volatile uint64_t *)(b->bar + CH(CHANCMP)) = COMPL;
	*(volatile uint16_t *)(b->bar + CH(CHANCTRL)) =
		IOAT_MASK(CHANCTRL, ANY_ERR_ABORT_EN) |
		IOAT_MASK(CHANCTRL, ERR_COMPLETION_EN);
	return 0;
}

static void ioat_bench_close(struct ioat_bench *b)
{
	if (b->bar)
		mm_munmap(b->mm, (void *)b->bar, IOAT_BAR0_SIZE);
	if (b->mem)
		mm_munmap(b->mm, b->mem, NPAGES * PG);
	if (b->dev >= 0)
		vfio_fops_close(b->dev);
	if (b->group >= 0)
		vfio_fops_close(b->group);
	if (b->container >= 0)
		vfio_fops_close(b->container);
	if (b->vdev) {
		vfio_unregister_group_dev(b->vdev);
		ioat_destroy(b->vdev);
	}
	mm_destroy(b->mm);
	platform_destroy(b->p);
}

/* Queue n more descriptors with one doorbell (a store to the trapped
 * mapping, or with pwrite a write of region 0); wait for the last one's
 * completion.  false if the channel halted. */
static bool submit_wait(struct ioat_bench *b, unsigned int n, bool pwrite)
{
	uint16_t last = (uint16_t)(b->count + n - 1);
	uint64_t want = (RING + (uint64_t)(last % RING_N) * IOAT_DESC_SIZE) |
			IOAT_CHANSTS_DONE;
	uint64_t v;

	b->count = (uint16_t)(b->count + n);
	if (!pwrite)
		*(volatile uint16_t *)(b->bar + CH(DMACOUNT)) = b->count;
	else if (vfio_fops_pwrite(b->dev, &b->count, 2, BAR0 + CH(DMACOUNT)) !=
		 2)
		return false;
	while ((v = *completion(b)) != want) {
		if ((v & 7) == IOAT_CHANSTS_HALTED)
			return false;
		__builtin_ia32_pause(); /* as DPDK's rte_pause() */
	}
	return true;
}

static double latency_ns(struct ioat_bench *b, int n)
{
	double *s = calloc((size_t)n, sizeof(double)), m;

	if (!s)
		return -1;
	for (int i = 0; i < n; i++) {
		uint64_t t0 = bench_now_ns();

		if (!submit_wait(b, 1, false)) {
			free(s);
			return -1;
		}
		s[i] = (double)(bench_now_ns() - t0);
	}
	m = bench_median(s, n);
	free(s);
	return m;
}

static double burst_gbps(struct ioat_bench *b, int bursts, bool pwrite)
{
	uint64_t t0 = bench_now_ns();

	for (int i = 0; i < bursts; i++)
		if (!submit_wait(b, BURST, pwrite))
			return -1;
	return (double)bursts * BURST * PG / (double)(bench_now_ns() - t0);
}

static double memcpy_gbps(struct ioat_bench *b, int bursts)
{
	uint64_t t0 = bench_now_ns();

	for (int i = 0; i < bursts; i++) {
		for (unsigned int j = 0; j < BURST; j++)
			memcpy(host(b, DST(j)), host(b, SRC(j)), PG);
		bench_keep(b->mem);
	}
	return (double)bursts * BURST * PG / (double)(bench_now_ns() - t0);
}

static void run_mode(bool threaded)
{
	const char *mode = threaded ? "threaded" : "inline";
	int lat_n = bench_quick ? LAT_COPIES / 10 : LAT_COPIES;
	int bursts = bench_quick ? BURSTS / 10 : BURSTS;
	double *lat = calloc(bench_reps, sizeof(double));
	double *dma = calloc(bench_reps, sizeof(double));
	double *cpu = calloc(bench_reps, sizeof(double));
	double *ratio = calloc(bench_reps, sizeof(double));
	double *dmap = calloc(bench_reps, sizeof(double));
	double *ratiop = calloc(bench_reps, sizeof(double));
	struct ioat_bench b;
	char name[64];

	if (ioat_bench_open(&b, threaded) || !lat || !dma || !cpu || !ratio ||
	    !dmap || !ratiop) {
		fprintf(stderr, "ioat: %s setup failed\n", mode);
		goto out;
	}
	/* warm up once, then alternate so both see the same machine */
	for (int i = -1; i < bench_reps; i++) {
		double l = latency_ns(&b, lat_n);
		double d = burst_gbps(&b, bursts, false);
		double dp = burst_gbps(&b, bursts, true);
		double c = memcpy_gbps(&b, bursts);

		if (l < 0 || d < 0 || dp < 0) {
			fprintf(stderr, "ioat: %s: the channel halted\n", mode);
			goto out;
		}
		if (i >= 0) {
			lat[i] = l;
			dma[i] = d;
			cpu[i] = c;
			ratio[i] = d / c;
			dmap[i] = dp;
			ratiop[i] = dp / c;
		}
	}
	snprintf(name, sizeof(name), "ioat.%s.latency_4k", mode);
	bench_report(name, bench_median(lat, bench_reps), "ns",
		     "doorbell store (trapped) to completion of one 4 KiB "
		     "copy");
	snprintf(name, sizeof(name), "ioat.%s.memcpy", mode);
	bench_report(name, bench_median(cpu, bench_reps), "GB/s",
		     "memcpy of the same bytes, same buffers");
	snprintf(name, sizeof(name), "ioat.%s.copy_burst32_trapped", mode);
	bench_report(name, bench_median(dma, bench_reps), "GB/s",
		     "4 KiB copies, 32 per doorbell stored to the trapped BAR");
	snprintf(name, sizeof(name), "ioat.%s.trapped_over_memcpy", mode);
	bench_report(name, bench_median(ratio, bench_reps), "x",
		     "the same over memcpy (a fault per burst)");
	snprintf(name, sizeof(name), "ioat.%s.copy_burst32_pwrite", mode);
	bench_report(name, bench_median(dmap, bench_reps), "GB/s",
		     "4 KiB copies, 32 per doorbell written with pwrite");
	snprintf(name, sizeof(name), "ioat.%s.pwrite_over_memcpy", mode);
	bench_report(name, bench_median(ratiop, bench_reps), "x",
		     threaded ? "the same over memcpy"
			      : "the same over memcpy (target >= 0.5)");
out:
	ioat_bench_close(&b);
	free(lat);
	free(dma);
	free(cpu);
	free(ratio);
	free(dmap);
	free(ratiop);
}

static void bench_ioat(void)
{
	run_mode(false);
	run_mode(true);
}

BENCH_SUITE(ioat, bench_ioat)
