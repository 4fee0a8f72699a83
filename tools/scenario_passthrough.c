// SPDX-License-Identifier: MIT
/*
 * Scenario "passthrough": what a VMM does for device assignment, through
 * the VFIO uAPI (uiommu_open/uiommu_ioctl with <linux/vfio.h>).  A VM's RAM
 * of 1 GiB, once backed by 4 KiB pages and once by 2 MiB pages, is mapped
 * into a type1 container with VFIO_IOMMU_MAP_DMA; the DMA engine copies
 * between two guest pages; VFIO_IOMMU_UNMAP_DMA takes it all back.  The
 * table shows MAP_DMA and UNMAP_DMA throughput, the pages pinned, the
 * locked memory charged, and the IOTLB counters of the device's stream.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mem/mem.h"
#include <uiommu/uapi.h>
#include "system/system.h"

#include "scenarios.h"

#define RAM	 (1ULL << 30)
#define GUEST_PA 0x40000000ULL /* the RAM's IOVA, as a guest would see it */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int dma_copy(int dev, uint64_t src, uint64_t dst, uint64_t len)
{
	uint32_t one = 1, status = 0;

	if (uiommu_pwrite(dev, &src, 8, DMAENGINE_REG_SRC) != 8 ||
	    uiommu_pwrite(dev, &dst, 8, DMAENGINE_REG_DST) != 8 ||
	    uiommu_pwrite(dev, &len, 8, DMAENGINE_REG_LEN) != 8 ||
	    uiommu_pwrite(dev, &one, 4, DMAENGINE_REG_DOORBELL) != 4 ||
	    uiommu_pread(dev, &status, 4, DMAENGINE_REG_STATUS) != 4)
		return -1;
	return status == DMAENGINE_STATUS_DONE ? 0 : -1;
}

struct pt_result {
	double map_gbs, unmap_gbs;
	uint64_t iotlb_hits, iotlb_misses, walks, tlbis;
	uint64_t pinned_pages, locked_kib, unmapped;
	bool dma_ok, fault_after_unmap;
};

/* One MAP_DMA or UNMAP_DMA of the RAM, and its speed in GB/s.  0 or a
 * negative errno. */
static int timed_ioctl(int container, unsigned long request, void *arg,
		       double *gbs)
{
	double t0 = now(), t1;

	if (uiommu_ioctl(container, request, arg))
		return -errno;
	t1 = now();
	*gbs = RAM / (t1 - t0) / 1e9;
	return 0;
}

static int run_backing(int container, int dev, struct mm *mm, bool huge,
		       struct pt_result *res)
{
	struct vfio_iommu_type1_dma_map map = {.argsz = sizeof(map)};
	struct vfio_iommu_type1_dma_unmap unmap = {.argsz = sizeof(unmap)};
	struct mm_stats st0, st1;
	uint8_t *ram;
	int ret;

	ret = mm_mmap(mm, RAM, MM_MAP_POPULATE | (huge ? MM_MAP_HUGE : 0),
		      (void **)&ram);
	if (ret)
		return ret;
	memset(ram, 0x11, 4096);
	memset(ram + RAM / 2, 0, 4096);
	mm_get_stats(mm, &st0);

	map.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
	map.vaddr = (uintptr_t)ram;
	map.iova = GUEST_PA;
	map.size = RAM;
	ret = timed_ioctl(container, VFIO_IOMMU_MAP_DMA, &map, &res->map_gbs);
	if (ret)
		goto out;
	mm_get_stats(mm, &st1);
	res->pinned_pages = st1.pinned_pages - st0.pinned_pages;
	res->locked_kib = mm_locked_vm(mm) * 4;

	/* the device copies guest page 0 to the middle of RAM */
	uiommu_reset_stats(0);
	res->dma_ok = !dma_copy(dev, GUEST_PA, GUEST_PA + RAM / 2, 4096) &&
		      ram[RAM / 2] == 0x11 && ram[RAM / 2 + 4095] == 0x11;

	unmap.iova = GUEST_PA;
	unmap.size = RAM;
	ret = timed_ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap,
			  &res->unmap_gbs);
	if (ret)
		goto out;
	{
		struct uiommu_stats st;

		uiommu_get_stats(0, &st);
		res->iotlb_hits = st.iotlb_hits;
		res->iotlb_misses = st.iotlb_misses;
		res->walks = st.walks;
		res->tlbis = st.tlbi_va + st.tlbi_asid;
	}
	res->unmapped = unmap.size;
	res->fault_after_unmap =
		dma_copy(dev, GUEST_PA, GUEST_PA + RAM / 2, 4096) != 0;
out:
	mm_munmap(mm, ram, RAM);
	return ret;
}

static int run_passthrough(struct scenario_ctx *ctx)
{
	struct vfio_group_status status = {.argsz = sizeof(status)};
	struct pt_result res[2] = {0};
	json_t *rows = json_array();
	int container = -1, group = -1, dev = -1, failed = 0;
	struct mm *mm;
	const char *names[] = {"4 KiB pages", "2 MiB pages"};

	printf("passthrough: a VM maps 1 GiB of RAM into a VFIO type1 "
	       "container, a device DMAs into it,\n"
	       "the RAM is unmapped (VFIO_IOMMU_MAP_DMA / UNMAP_DMA through "
	       "the uAPI)\n");
	mm = uiommu_current_mm();
	if (!mm)
		return 1;
	mm_set_cap_ipc_lock(mm, true); /* a VMM with CAP_IPC_LOCK */
	container = uiommu_open("/dev/vfio/vfio", O_RDWR);
	group = uiommu_open("/dev/vfio/0", O_RDWR);
	if (container < 0 || group < 0 ||
	    uiommu_ioctl(group, VFIO_GROUP_GET_STATUS, &status) ||
	    uiommu_ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) ||
	    uiommu_ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)) {
		printf("  setup failed: %s\n", strerror(errno));
		failed = 1;
		goto out;
	}
	dev = uiommu_ioctl(group, VFIO_GROUP_GET_DEVICE_FD, "dma0");
	if (dev < 0) {
		printf("  no device: %s\n", strerror(errno));
		failed = 1;
		goto out;
	}

	printf("  %-12s %9s %10s %9s %10s %5s %6s %5s %6s %6s\n", "backing",
	       "MAP GB/s", "UNMAP GB/s", "pinned", "locked MiB", "DMA", "unmap",
	       "TLBI", "IOTLB", "walks");
	for (int i = 0; i < 2; i++) {
		int ret = run_backing(container, dev, mm, i == 1, &res[i]);

		if (ret) {
			printf("  %-12s failed: %s\n", names[i],
			       strerror(-ret));
			failed = 1;
			continue;
		}
		printf("  %-12s %9.1f %10.1f %9llu %10llu %5s %6s %5llu "
		       "%2llu/%-3llu %6llu\n",
		       names[i], res[i].map_gbs, res[i].unmap_gbs,
		       (unsigned long long)res[i].pinned_pages,
		       (unsigned long long)res[i].locked_kib / 1024,
		       res[i].dma_ok ? "ok" : "FAIL",
		       res[i].fault_after_unmap ? "fault" : "REACH",
		       (unsigned long long)res[i].tlbis,
		       (unsigned long long)res[i].iotlb_hits,
		       (unsigned long long)res[i].iotlb_misses,
		       (unsigned long long)res[i].walks);
		if (!res[i].dma_ok || !res[i].fault_after_unmap ||
		    res[i].unmapped != RAM)
			failed = 1;
		json_array_append_new(
			rows,
			json_pack("{s:s, s:f, s:f, s:I, s:I, s:b, s:b}",
				  "backing", names[i], "map_gbs",
				  res[i].map_gbs, "unmap_gbs", res[i].unmap_gbs,
				  "pinned_pages",
				  (json_int_t)res[i].pinned_pages, "locked_kib",
				  (json_int_t)res[i].locked_kib, "dma_ok",
				  res[i].dma_ok, "fault_after_unmap",
				  res[i].fault_after_unmap));
	}
	printf("  The RAM's frames are physically contiguous here, so type1 "
	       "maps it with the largest\n"
	       "  IOMMU pages (see uiommu-bench vfio for 4 KiB-only "
	       "figures).\n");
	printf("  DMA: the device's copy of guest page 0; unmap: its next "
	       "copy after UNMAP_DMA;\n"
	       "  TLBI: invalidations UNMAP_DMA issued; IOTLB: hits/misses "
	       "of the copies.\n");
	printf("  locked memory after UNMAP_DMA: %llu KiB\n",
	       (unsigned long long)mm_locked_vm(mm) * 4);
	if (mm_locked_vm(mm))
		failed = 1;
out:
	if (dev >= 0)
		uiommu_close(dev);
	if (group >= 0)
		uiommu_close(group);
	if (container >= 0)
		uiommu_close(container);
	scenario_json_add(ctx, "passthrough", json_pack("{s:o}", "runs", rows));
	return failed;
}

DEFINE_SCENARIO(passthrough, run_passthrough,
		"VFIO type1: map a VM's 1 GiB of RAM, DMA, unmap");
