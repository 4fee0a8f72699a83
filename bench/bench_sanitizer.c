// SPDX-License-Identifier: MIT
/*
 * The DMA sanitizer's cost (issue 16), measured with it on and off in one
 * run, the repetitions interleaved: through the fd front as a program
 * calls it, MAP_DMA + UNMAP_DMA of one 4 KiB page (on: the history records
 * both, with a captured stack each) and the DMA hot path (a DMA-engine
 * copy of 64 B and of 4 KiB through the IOMMU; on: nothing more runs
 * there, since the sanitizer's hooks are on the fault paths only).
 * Targets: MAP/UNMAP within 1.5x, the hot path within 5%.
 *
 * Off is container A (group 0, dma0), made while the sanitizer was off,
 * so without a history; on is container B (group 1, dma1), made with it
 * on.  Between repetitions the switch is flipped (san_set_enabled).
 */
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <uiommu/uapi.h>
#include "bench.h"
#include "sanitizer/sanitizer.h"

#define SRC   0x100000ull
#define DST   0x200000ull
#define PIECE 0x300000ull

struct side {
	int c, g, d;
	uint8_t *buf;
};

static void open_side(struct side *s, const char *group, const char *dev)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.size = 4096,
	};

	s->c = uiommu_open("/dev/vfio/vfio", O_RDWR);
	s->g = uiommu_open(group, O_RDWR);
	if (s->c < 0 || s->g < 0 ||
	    uiommu_ioctl(s->g, VFIO_GROUP_SET_CONTAINER, &s->c) ||
	    uiommu_ioctl(s->c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		abort();
	s->d = uiommu_ioctl(s->g, VFIO_GROUP_GET_DEVICE_FD, dev);
	s->buf = uiommu_mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (s->d < 0 || s->buf == MAP_FAILED)
		abort();
	memset(s->buf, 0x5a, 3 * 4096);
	map.vaddr = (uintptr_t)s->buf;
	map.iova = SRC;
	if (uiommu_ioctl(s->c, VFIO_IOMMU_MAP_DMA, &map))
		abort();
	map.vaddr = (uintptr_t)(s->buf + 4096);
	map.iova = DST;
	if (uiommu_ioctl(s->c, VFIO_IOMMU_MAP_DMA, &map))
		abort();
}

static void close_side(struct side *s)
{
	uiommu_close(s->d);
	uiommu_close(s->g);
	uiommu_close(s->c);
	uiommu_munmap(s->buf, 3 * 4096);
}

/* ns per MAP_DMA + UNMAP_DMA of one page, over n pairs. */
static double map_unmap_ns(struct side *s, int n)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)(s->buf + 2 * 4096),
		.iova = PIECE,
		.size = 4096,
	};
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.iova = PIECE,
		.size = 4096,
	};
	uint64_t t0 = bench_now_ns();

	for (int i = 0; i < n; i++)
		if (uiommu_ioctl(s->c, VFIO_IOMMU_MAP_DMA, &map) ||
		    uiommu_ioctl(s->c, VFIO_IOMMU_UNMAP_DMA, &unmap))
			abort();
	return (double)(bench_now_ns() - t0) / n;
}

/* ns per DMA-engine copy of len bytes, over n copies. */
static double copy_ns(struct side *s, uint64_t len, int n)
{
	uint64_t src = SRC, dst = DST;
	uint32_t one = 1, status = 0;
	uint64_t t0;

	uiommu_pwrite(s->d, &src, 8, DMAENGINE_REG_SRC);
	uiommu_pwrite(s->d, &dst, 8, DMAENGINE_REG_DST);
	uiommu_pwrite(s->d, &len, 8, DMAENGINE_REG_LEN);
	t0 = bench_now_ns();
	for (int i = 0; i < n; i++)
		uiommu_pwrite(s->d, &one, 4, DMAENGINE_REG_DOORBELL);
	t0 = bench_now_ns() - t0;
	uiommu_pread(s->d, &status, 4, DMAENGINE_REG_STATUS);
	if (status != DMAENGINE_STATUS_DONE)
		abort();
	return (double)t0 / n;
}

static void report_pair(const char *name, double *off, double *on, int reps)
{
	char n[96];
	double m_off = bench_median(off, reps), m_on = bench_median(on, reps);

	snprintf(n, sizeof(n), "sanitizer.%s_off", name);
	bench_report(n, m_off, "ns", "sanitizer off");
	snprintf(n, sizeof(n), "sanitizer.%s_on", name);
	bench_report(n, m_on, "ns", "sanitizer on");
	snprintf(n, sizeof(n), "sanitizer.%s_ratio", name);
	bench_report(n, m_on / m_off, "x", "on / off");
}

static void bench_sanitizer(void)
{
	int reps = bench_reps, n = bench_quick ? 2000 : 20000;
	double *off = calloc(reps, sizeof(double));
	double *on = calloc(reps, sizeof(double));
	struct side a, b;

	if (!off || !on || san_enabled() || uiommu_system_init(NULL))
		abort();
	open_side(&a, "/dev/vfio/0", "dma0"); /* off: no history */
	san_set_enabled(true);
	open_side(&b, "/dev/vfio/1", "dma1"); /* on: a history */
	san_set_enabled(false);
	/* warm both */
	map_unmap_ns(&a, n / 10);
	copy_ns(&a, 4096, n / 10);
	san_set_enabled(true);
	map_unmap_ns(&b, n / 10);
	copy_ns(&b, 4096, n / 10);

	for (int r = 0; r < reps; r++) {
		san_set_enabled(false);
		off[r] = map_unmap_ns(&a, n);
		san_set_enabled(true);
		on[r] = map_unmap_ns(&b, n);
	}
	report_pair("map_unmap_4k", off, on, reps);
	for (int r = 0; r < reps; r++) {
		san_set_enabled(false);
		off[r] = copy_ns(&a, 64, n);
		san_set_enabled(true);
		on[r] = copy_ns(&b, 64, n);
	}
	report_pair("dma_copy_64", off, on, reps);
	for (int r = 0; r < reps; r++) {
		san_set_enabled(false);
		off[r] = copy_ns(&a, 4096, n);
		san_set_enabled(true);
		on[r] = copy_ns(&b, 4096, n);
	}
	report_pair("dma_copy_4k", off, on, reps);
	san_set_enabled(false);
	close_side(&a);
	close_side(&b);
	uiommu_system_exit();
	free(off);
	free(on);
}

BENCH_SUITE(sanitizer, bench_sanitizer)
