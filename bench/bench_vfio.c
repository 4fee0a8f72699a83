// SPDX-License-Identifier: MIT
/*
 * VFIO type1 benchmarks: VFIO_IOMMU_MAP_DMA and VFIO_IOMMU_UNMAP_DMA of one
 * 1 GiB mapping (256 MiB with --quick), through the ioctl entry point, with
 * one device group attached (one domain on the emulated SMMU).  The memory
 * is pre-populated, either 4 KiB-backed (each page pinned on its own; the
 * frames of a populated region come from large buddy extents, so the runs
 * are long and the IOMMU maps big blocks) or 2 MiB-backed (one reference
 * operation per folio); then the same on an IOMMU limited to 4 KiB pages,
 * which writes and clears one PTE per page.  MAP pays pinning, locked-memory accounting and the
 * page-table writes; UNMAP pays the page-table clears, one TLBI range and
 * CMD_SYNC per batch of runs, and the unpinning.  Figures are GB/s of
 * mapping size (10^9 bytes per second), medians over the repetitions.
 */
#include <stdio.h>
#include <stdlib.h>

#include "devices/devices.h"
#include "vfio/vfio.h"

#include "bench.h"

#define BENCH_IOVA (1ULL << 32)

static void bench_backing(struct platform *p, struct device *dev, bool huge,
			  const char *suffix)
{
	char name[64];
	uint64_t size = bench_quick ? 256ULL << 20 : 1ULL << 30;
	double map_gbs[64], unmap_gbs[64];
	int reps = bench_reps > 64 ? 64 : bench_reps;
	struct vfio_iommu *c;
	struct mm *mm;
	void *va;

	if (mm_create(p->pm, &mm))
		abort();
	mm_set_cap_ipc_lock(mm, true);
	if (mm_mmap(mm, size, MM_MAP_POPULATE | (huge ? MM_MAP_HUGE : 0), &va))
		abort();
	if (vfio_iommu_type1_open(mm, VFIO_TYPE1v2_IOMMU, &c) ||
	    vfio_iommu_type1_attach_group(c, iommu_group_get(dev)))
		abort();
	/* warm up once */
	if (bench_type1_map(c, va, BENCH_IOVA, size) ||
	    bench_type1_unmap(c, BENCH_IOVA, size))
		abort();
	for (int r = 0; r < reps; r++) {
		uint64_t t0, t1, t2;

		t0 = bench_now_ns();
		if (bench_type1_map(c, va, BENCH_IOVA, size))
			abort();
		t1 = bench_now_ns();
		if (bench_type1_unmap(c, BENCH_IOVA, size))
			abort();
		t2 = bench_now_ns();
		map_gbs[r] = (double)size / (double)(t1 - t0);
		unmap_gbs[r] = (double)size / (double)(t2 - t1);
	}
	snprintf(name, sizeof(name), "vfio.map_dma_%s_backed%s",
		 huge ? "2m" : "4k", suffix);
	bench_report(name, bench_median(map_gbs, reps), "GB/s",
		     *suffix ? "1 GiB, IOMMU with 4 KiB pages only"
		     : huge  ? "1 GiB, 2 MiB folios, target >= 300"
			     : "1 GiB, 4 KiB pages, target >= 30");
	snprintf(name, sizeof(name), "vfio.unmap_dma_%s_backed%s",
		 huge ? "2m" : "4k", suffix);
	bench_report(name, bench_median(unmap_gbs, reps), "GB/s",
		     *suffix ? "1 GiB, IOMMU with 4 KiB pages only"
		     : huge  ? "1 GiB, 2 MiB folios"
			     : "1 GiB, 4 KiB pages, target >= 50");
	vfio_iommu_type1_release(c);
	mm_destroy(mm);
}

static void bench_vfio(void)
{
	struct platform_config cfg = {.mem_size = 4ULL << 30};
	struct arm_smmu_options o4k = {
		.coherent = true,
		.ias = 48,
		.pgsize_bitmap = 4096,
		.range_inv = true,
	};
	struct device dev = {.name = "bench", .sid = 1};
	struct device dev4k = {.name = "bench4k", .sid = 1};
	struct platform *p, *p4k;

	if (platform_create(&cfg, &p))
		abort();
	if (iommu_probe_device(&dev, p->iommu, 0))
		abort();
	bench_backing(p, &dev, false, "");
	bench_backing(p, &dev, true, "");
	iommu_release_device(&dev);
	/* the same with an IOMMU that has 4 KiB pages only: one PTE per
	 * page, the page-table work the big blocks above avoid */
	if (platform_add_iommu(p, NULL, &o4k, &p4k) ||
	    iommu_probe_device(&dev4k, p4k->iommu, 0))
		abort();
	bench_backing(p, &dev4k, false, "_4k_iopte");
	bench_backing(p, &dev4k, true, "_4k_iopte");
	iommu_release_device(&dev4k);
	platform_destroy(p);
}

BENCH_SUITE(vfio, bench_vfio)
