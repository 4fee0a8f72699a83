// SPDX-License-Identifier: MIT
/*
 * Scenario "mdev": the DMA-unmap callback contract for drivers that pin
 * (seed 002).  Three mediated-device drivers go through the same sequence:
 * the user maps 2 MiB of guest memory with VFIO_IOMMU_MAP_DMA into a
 * container with an emulated group, the driver pins three pages in it
 * (none of them the first), reads one through its pin, and the user unmaps
 * the range.  type1 calls dma_unmap(iova, length) for the whole range with
 * its lock dropped, re-checks, and retries a bounded number of times.
 *
 *  - gvt: walks the whole range under its cache lock and unpins what it
 *    holds: the unmap completes.
 *  - ccw: checks only the first IOVA: it keeps its pins, type1 fails the
 *    unmap with -EBUSY naming it (the kernel would BUG_ON).
 *  - ap: unpins the first IOVA only (which it never pinned: with per-device
 *    references that changes nothing): caught the same way.
 *
 * The table shows which unmaps completed, the callbacks and retries, who
 * was named, the pins left after UNMAP_DMA, and, after the driver is torn
 * down (its reset unpins) and the mapping removed, the pins and the locked
 * memory leaked: zero for all three by design.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "devices/devices.h"
#include "vfio/vfio.h"

#include "scenarios.h"

#define PG   4096ULL
#define SIZE (2ULL << 20)
#define IOVA 0x100000ULL

static const uint64_t pin_at[] = {5, 17, 300}; /* pages into the range */

struct mdev_run {
	enum mdev_model model;
	const char *name;
	int unmap_ret;
	uint64_t callbacks, retries;
	char named[32];
	uint64_t pins_after_unmap;
	uint64_t leaked_pins, leaked_locked;
	bool dma_ok;
};

static uint64_t pin_refs(struct phys_mem *pm, struct mm *mm)
{
	struct phys_report r;

	phys_report(pm, mm_owner(mm), &r);
	return r.pin_refs;
}

static int one_run(struct phys_mem *pm, struct mdev_run *r)
{
	struct vfio_iommu_type1_dma_unmap unmap = {.argsz = sizeof(unmap)};
	struct vfio_iommu_type1_dma_map map = {.argsz = sizeof(map)};
	static char token;
	struct iommu_group *g = (struct iommu_group *)&token;
	struct vfio_iommu_type1_stats st;
	struct vfio_iommu *c = NULL;
	struct mdev *m = NULL;
	struct mdev_stats ms;
	struct mm *mm = NULL;
	char *va, buf[32];
	int ret;

	ret = mm_create(pm, &mm);
	if (ret)
		return ret;
	mm_set_memlock_limit(mm, 64ULL << 20);
	ret = mm_mmap(mm, SIZE, MM_MAP_POPULATE, (void **)&va);
	if (ret)
		goto out_mm;
	ret = vfio_iommu_type1_open(mm, VFIO_TYPE1v2_IOMMU, &c);
	if (ret)
		goto out_mm;
	ret = vfio_iommu_type1_attach_emulated_group(c, g);
	if (ret)
		goto out_c;
	ret = mdev_create(pm, c, g, r->model, r->name, &m);
	if (ret)
		goto out_c;
	map.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
	map.vaddr = (uintptr_t)va;
	map.iova = IOVA;
	map.size = SIZE;
	ret = (int)vfio_iommu_type1_ioctl(c, VFIO_IOMMU_MAP_DMA,
					  (unsigned long)&map);
	if (ret)
		goto out_m;
	for (unsigned int i = 0; i < 3; i++) {
		ret = mdev_pin(m, IOVA + pin_at[i] * PG, 1,
			       IOMMU_READ | IOMMU_WRITE);
		if (ret)
			goto out_m;
	}
	strcpy(va + pin_at[1] * PG, "guest data");
	r->dma_ok = !mdev_dma_rw(m, IOVA + pin_at[1] * PG, buf, 11, false) &&
		    !strcmp(buf, "guest data");

	unmap.iova = IOVA;
	unmap.size = SIZE;
	r->unmap_ret = (int)vfio_iommu_type1_ioctl(c, VFIO_IOMMU_UNMAP_DMA,
						   (unsigned long)&unmap);
	vfio_iommu_type1_get_stats(c, &st);
	mdev_get_stats(m, &ms);
	r->callbacks = ms.unmap_calls;
	r->retries = st.unmap_retries;
	snprintf(r->named, sizeof(r->named), "%s",
		 st.busy_device[0] ? st.busy_device : "-");
	r->pins_after_unmap = st.external_pins;
	ret = 0;
out_m:
	/* the driver goes: its reset unpins what it still holds */
	mdev_destroy(m);
	if (!ret && r->unmap_ret) {
		/* now the mapping can go */
		unmap.iova = IOVA;
		unmap.size = SIZE;
		ret = (int)vfio_iommu_type1_ioctl(c, VFIO_IOMMU_UNMAP_DMA,
						  (unsigned long)&unmap);
	}
	vfio_iommu_type1_detach_group(c, g);
out_c:
	vfio_iommu_type1_release(c);
	r->leaked_pins = pin_refs(pm, mm);
	r->leaked_locked = mm_locked_vm(mm);
out_mm:
	mm_destroy(mm);
	return ret;
}

static int run_mdev(struct scenario_ctx *ctx)
{
	struct mdev_run runs[] = {
		{.model = MDEV_GVT, .name = "gvt0"},
		{.model = MDEV_CCW, .name = "ccw0"},
		{.model = MDEV_AP, .name = "ap0"},
	};
	struct phys_config pcfg = {PHYS_DEFAULT_BASE, 1ULL << 30};
	struct phys_mem *pm = NULL;
	json_t *rows = json_array();
	int failed = 0, ret;

	printf("mdev: map 2 MiB, the driver pins pages 5, 17 and 300 of it, "
	       "unmap the range;\n"
	       "type1 calls dma_unmap(iova, 2 MiB) and retries up to 10 "
	       "times\n");
	ret = phys_create(&pcfg, &pm);
	if (ret) {
		fprintf(stderr, "mdev: phys_create: %d\n", ret);
		json_decref(rows);
		return 1;
	}
	printf("  %-26s %-9s %9s %8s %-6s %10s %11s %12s\n", "driver", "unmap",
	       "callbacks", "retries", "named", "pins left", "leaked pins",
	       "leaked KiB");
	for (unsigned int k = 0; k < 3; k++) {
		struct mdev_run *r = &runs[k];

		ret = one_run(pm, r);
		if (ret) {
			fprintf(stderr, "mdev: %s: run failed: %d\n", r->name,
				ret);
			failed = 1;
			break;
		}
		printf("  %-26s %-9s %9llu %8llu %-6s %10llu %11llu %12llu\n",
		       mdev_model_name(r->model),
		       r->unmap_ret
			       ? (r->unmap_ret == -EBUSY ? "-EBUSY" : "error")
			       : "done",
		       (unsigned long long)r->callbacks,
		       (unsigned long long)r->retries, r->named,
		       (unsigned long long)r->pins_after_unmap,
		       (unsigned long long)r->leaked_pins,
		       (unsigned long long)r->leaked_locked * 4);
		json_array_append_new(
			rows,
			json_pack("{s:s, s:s, s:b, s:i, s:I, s:I, s:s, s:I, "
				  "s:I, s:I, s:b}",
				  "driver", r->name, "model",
				  mdev_model_name(r->model), "completed",
				  !r->unmap_ret, "unmap_ret", r->unmap_ret,
				  "callbacks", (json_int_t)r->callbacks,
				  "retries", (json_int_t)r->retries, "named",
				  r->named, "pins_after_unmap",
				  (json_int_t)r->pins_after_unmap,
				  "leaked_pins", (json_int_t)r->leaked_pins,
				  "leaked_locked_kib",
				  (json_int_t)r->leaked_locked * 4, "dma_ok",
				  r->dma_ok));
		/* by design: gvt completes; ccw and ap are caught and named;
		 * nothing leaks */
		if (r->leaked_pins || r->leaked_locked || !r->dma_ok)
			failed = 1;
		if (r->model == MDEV_GVT ? r->unmap_ret || r->retries
					 : r->unmap_ret != -EBUSY ||
						   strcmp(r->named, r->name))
			failed = 1;
	}
	printf("  pins left: driver pins after UNMAP_DMA returned; leaked: "
	       "after the driver's\n"
	       "  teardown and the mapping's removal.  The kernel would "
	       "BUG_ON where -EBUSY is.\n");
	phys_destroy(pm);
	scenario_json_add(ctx, "mdev", json_pack("{s:o}", "runs", rows));
	return failed;
}

DEFINE_SCENARIO(mdev, run_mdev,
		"VFIO type1: dma_unmap callbacks of pinning drivers");
