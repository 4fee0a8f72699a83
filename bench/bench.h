/* SPDX-License-Identifier: MIT */
/*
 * The benchmark harness.  Each bench_<layer>.c registers suites with
 * BENCH_SUITE(); a suite reports figures with bench_report().  A figure is a
 * median over repetitions, measured in this run; ratios between figures are
 * only meaningful within one run (these machines are noisy).
 *
 * The harness prints one table and writes one JSON object per figure
 * ({"name", "value", "unit"}) to the file given with --json.
 */
#ifndef UIOMMU_BENCH_H
#define UIOMMU_BENCH_H

#include <stdint.h>
#include <time.h>

struct bench_suite {
	const char *name;
	void (*run)(void);
	struct bench_suite *next;
};

void bench_register(struct bench_suite *s);

#define BENCH_SUITE(sname, fn)                                             \
	static struct bench_suite __bench_##sname = {#sname, fn, NULL};    \
	__attribute__((constructor)) static void __bench_reg_##sname(void) \
	{                                                                  \
		bench_register(&__bench_##sname);                          \
	}

/* Report one figure (value in unit, e.g. "ns/page", "GB/s", "x"). */
void bench_report(const char *name, double value, const char *unit,
		  const char *note);

/* Repetitions per figure (--reps, default 7) and --quick scaling. */
extern int bench_reps;
extern int bench_quick;

static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* Median of n samples (sorts them). */
double bench_median(double *v, int n);

/* Keep the compiler from discarding a computed value. */
#define bench_keep(x) __asm__ volatile("" : : "r"(x) : "memory")

/* Type1 MAP_DMA and UNMAP_DMA of one range, for the suites that include
 * "vfio/vfio.h" first.  0, or nonzero when the call failed or unmapped
 * less than the range. */
#ifdef UIOMMU_VFIO_H
static inline long bench_type1_map(struct vfio_iommu *c, void *va,
				   uint64_t iova, uint64_t size)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)va,
		.iova = iova,
		.size = size,
	};

	return vfio_iommu_type1_ioctl(c, VFIO_IOMMU_MAP_DMA, (unsigned long)&m);
}

static inline long bench_type1_unmap(struct vfio_iommu *c, uint64_t iova,
				     uint64_t size)
{
	struct vfio_iommu_type1_dma_unmap u = {
		.argsz = sizeof(u),
		.iova = iova,
		.size = size,
	};
	long ret = vfio_iommu_type1_ioctl(c, VFIO_IOMMU_UNMAP_DMA,
					  (unsigned long)&u);

	return ret ? ret : (u.size == size ? 0 : -1);
}
#endif

#endif /* UIOMMU_BENCH_H */
