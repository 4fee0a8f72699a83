// SPDX-License-Identifier: MIT
/*
 * Scenario "noncoherent": a device behind an IOMMU that cannot enforce
 * cache coherency (seed 000).  Its DMA does not snoop the CPU caches: it
 * reads the memory behind them.  A user writes a buffer (the data sits in
 * the CPU caches), maps it with VFIO_IOMMU_MAP_DMA into a container whose
 * only domain is non-coherent, the device reads every page with
 * endpoint_dma_read(), and VFIO_IOMMU_UNMAP_DMA takes it back.  Before that, an
 * earlier owner of the frames left a secret in memory (written back and
 * freed), so a missing flush shows both kinds of wrong data: stale (zeros,
 * not what the CPU wrote) and leaked (the earlier owner's secret).
 *
 * Two runs: type1 as designed (pin -> cache_flush_phys -> map, and
 * cache_flush_phys -> unpin), and with its flushes switched off
 * (vfio_iommu_type1_set_cache_flush(false), a debug switch).  The table
 * counts the flushes per MAP_DMA and per UNMAP_DMA and classifies what the
 * device read page by page, both through endpoint_dma_read() and straight from
 * the memory behind the caches (cache_dram_read() of the translated
 * address); the two agree once the hardware model routes Normal-NC DMA
 * through phys_access_checked_nc().  The last column checks flush-on-unpin:
 * after UNMAP_DMA the memory behind the caches holds what the CPU sees.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "iommu/bus.h"
#include "devices/devices.h"
#include "hw/hw.h"
#include "vfio/vfio.h"

#include "scenarios.h"

#define PG     4096ULL
#define NPAGES 64
#define IOVA   0x40000000ULL
#define SECRET "earlier owner's secret"

struct nc_run {
	const char *name;
	bool flush;
	uint64_t map_flushes, map_bytes, unmap_flushes, unmap_bytes;
	unsigned int dev_ok, dev_stale, dev_leaked, dev_err;
	unsigned int mem_ok, mem_stale, mem_leaked;
	unsigned int after_unmap_mismatch;
	bool hook; /* endpoint_dma_read agreed with the memory behind the caches */
};

/* Different in every run, so that a frame reused from the run before
 * cannot pass for right. */
static void expected(const struct nc_run *r, unsigned int i, char *buf)
{
	memset(buf, 0, PG);
	snprintf(buf, PG, "user page %u of run \"%s\": what the CPU wrote", i,
		 r->name);
}

/* ok, stale or leaked */
static void classify(const char *got, const char *want, unsigned int *ok,
		     unsigned int *stale, unsigned int *leaked)
{
	if (!memcmp(got, want, PG))
		(*ok)++;
	else if (!memcmp(got, SECRET, sizeof(SECRET)))
		(*leaked)++;
	else
		(*stale)++;
}

/* A kernel buffer held a secret, written back to memory, then freed: the
 * frames the user gets next may still hold it behind the caches. */
static void earlier_owner(struct phys_mem *pm)
{
	phys_addr_t pa[NPAGES];

	for (int i = 0; i < NPAGES; i++) {
		if (phys_alloc_pages(pm, 0, 0, PHYS_OWNER_KERNEL, &pa[i])) {
			pa[i] = 0;
			continue;
		}
		strcpy(phys_to_virt(pm, pa[i]), SECRET);
		cache_flush_phys(pm, pa[i], PG);
	}
	for (int i = NPAGES - 1; i >= 0; i--)
		if (pa[i])
			phys_free_pages(pm, pa[i], 0);
}

/* One MAP_DMA or UNMAP_DMA on c, and the CPU cache flushes it cost. */
static int flushed_ioctl(struct vfio_iommu *c, unsigned int cmd, void *arg,
			 uint64_t *flushes, uint64_t *bytes)
{
	struct vfio_iommu_type1_stats s0, s1;
	int ret;

	vfio_iommu_type1_get_stats(c, &s0);
	ret = (int)vfio_iommu_type1_ioctl(c, cmd, (unsigned long)arg);
	if (ret)
		return ret;
	vfio_iommu_type1_get_stats(c, &s1);
	*flushes = s1.cache_flushes - s0.cache_flushes;
	*bytes = s1.cache_flush_bytes - s0.cache_flush_bytes;
	return 0;
}

/* p: the coherent SMMU A's machine; p2: the non-coherent SMMU B. */
static int one_run(struct platform *p, struct platform *p2, struct nc_run *r)
{
	static char want[PG], got[PG], mem[PG];
	struct vfio_iommu_type1_dma_unmap unmap = {.argsz = sizeof(unmap)};
	struct vfio_iommu_type1_dma_map map = {.argsz = sizeof(map)};
	phys_addr_t pa[NPAGES];
	struct vfio_iommu *c = NULL;
	struct iommu_domain *dom;
	struct bus_device bd;
	struct mm *mm = NULL;
	char *va;
	int ret;

	ret = bus_device_add(&bd, p2->hw, p2->iommu, "nosnoop0", 1,
			     DEVICE_FW_NO_SNOOP, 0);
	if (ret)
		return ret;
	earlier_owner(p->pm);
	ret = mm_create(p->pm, &mm);
	if (ret)
		goto out_dev;
	mm_set_memlock_limit(mm, 64ULL << 20);
	ret = mm_mmap(mm, NPAGES * PG, MM_MAP_POPULATE, (void **)&va);
	if (ret)
		goto out_mm;
	/* the CPU writes; the data stays in its caches */
	for (unsigned int i = 0; i < NPAGES; i++)
		expected(r, i, va + i * PG);

	ret = vfio_iommu_type1_open(mm, VFIO_TYPE1v2_IOMMU, &c);
	if (ret)
		goto out_mm;
	vfio_iommu_type1_set_cache_flush(c, r->flush);
	ret = vfio_iommu_type1_attach_group(c, iommu_group_get(&bd.dev));
	if (ret)
		goto out_c;
	dom = vfio_iommu_type1_group_domain(c, iommu_group_get(&bd.dev));

	map.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
	map.vaddr = (uintptr_t)va;
	map.iova = IOVA;
	map.size = NPAGES * PG;
	ret = flushed_ioctl(c, VFIO_IOMMU_MAP_DMA, &map, &r->map_flushes,
			    &r->map_bytes);
	if (ret)
		goto out_detach;

	r->hook = true;
	for (unsigned int i = 0; i < NPAGES; i++) {
		expected(r, i, want);
		pa[i] = iommu_iova_to_phys(dom, IOVA + i * PG);
		/* what the device reads through the IOMMU */
		if (endpoint_dma_read(bd.hw, IOVA + i * PG, got, PG))
			r->dev_err++;
		else
			classify(got, want, &r->dev_ok, &r->dev_stale,
				 &r->dev_leaked);
		/* what memory behind the caches holds there */
		cache_dram_read(p->pm, pa[i], mem, PG);
		classify(mem, want, &r->mem_ok, &r->mem_stale, &r->mem_leaked);
		if (memcmp(got, mem, PG))
			r->hook = false;
	}

	unmap.iova = IOVA;
	unmap.size = NPAGES * PG;
	ret = flushed_ioctl(c, VFIO_IOMMU_UNMAP_DMA, &unmap, &r->unmap_flushes,
			    &r->unmap_bytes);
	if (ret)
		goto out_detach;
	/* flush-on-unpin: the pages go back to their owner with memory in
	 * step with the CPU's view */
	for (unsigned int i = 0; i < NPAGES; i++) {
		cache_dram_read(p->pm, pa[i], mem, PG);
		if (memcmp(mem, va + i * PG, PG))
			r->after_unmap_mismatch++;
	}
out_detach:
	vfio_iommu_type1_detach_group(c, iommu_group_get(&bd.dev));
out_c:
	vfio_iommu_type1_release(c);
out_mm:
	mm_destroy(mm);
out_dev:
	bus_device_remove(&bd);
	return ret;
}

static int run_noncoherent(struct scenario_ctx *ctx)
{
	struct platform_config pcfg = {.mem_size = 1ULL << 30};
	struct arm_smmu_options o = {
		.coherent = false, .ias = 48, .range_inv = true};
	struct nc_run runs[2] = {
		{.name = "flush (type1 as designed)", .flush = true},
		{.name = "no flush (debug switch)", .flush = false},
	};
	struct platform *p = NULL, *p2;
	json_t *rows = json_array();
	int failed = 0, ret;

	printf("noncoherent: %d pages written by the CPU, mapped with MAP_DMA "
	       "into a non-coherent\n"
	       "domain, read by a no-snoop device, unmapped; the frames' "
	       "earlier owner left a\n"
	       "secret in memory\n",
	       NPAGES);
	ret = platform_create(&pcfg, &p);
	if (!ret)
		ret = platform_add_iommu(p, NULL, &o, &p2);
	if (ret) {
		fprintf(stderr, "noncoherent: setup failed: %d\n", ret);
		failed = 1;
		goto out;
	}
	printf("  %-26s %9s %9s %9s %9s  %-16s %-16s %s\n", "run", "map:flush",
	       "map:KiB", "unmap:fl", "unmap:KiB", "device ok/st/lk",
	       "memory ok/st/lk", "mem!=cpu after unmap");
	for (int k = 0; k < 2; k++) {
		struct nc_run *r = &runs[k];
		char dev[32], mem[32];

		ret = one_run(p, p2, r);
		if (ret) {
			fprintf(stderr, "noncoherent: run failed: %d\n", ret);
			failed = 1;
			break;
		}
		snprintf(dev, sizeof(dev), "%u/%u/%u", r->dev_ok, r->dev_stale,
			 r->dev_leaked);
		snprintf(mem, sizeof(mem), "%u/%u/%u", r->mem_ok, r->mem_stale,
			 r->mem_leaked);
		printf("  %-26s %9llu %9llu %9llu %9llu  %-16s %-16s %u\n",
		       r->name, (unsigned long long)r->map_flushes,
		       (unsigned long long)(r->map_bytes / 1024),
		       (unsigned long long)r->unmap_flushes,
		       (unsigned long long)(r->unmap_bytes / 1024), dev, mem,
		       r->after_unmap_mismatch);
		json_array_append_new(
			rows,
			json_pack("{s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:I, "
				  "s:I, s:I, s:I, s:I, s:I, s:b}",
				  "run", r->name, "flush", r->flush,
				  "map_flushes", (json_int_t)r->map_flushes,
				  "map_flush_bytes", (json_int_t)r->map_bytes,
				  "unmap_flushes", (json_int_t)r->unmap_flushes,
				  "unmap_flush_bytes",
				  (json_int_t)r->unmap_bytes, "device_ok",
				  (json_int_t)r->dev_ok, "device_stale",
				  (json_int_t)r->dev_stale, "device_leaked",
				  (json_int_t)r->dev_leaked, "memory_ok",
				  (json_int_t)r->mem_ok, "memory_stale",
				  (json_int_t)r->mem_stale, "memory_leaked",
				  (json_int_t)r->mem_leaked,
				  "after_unmap_mismatch",
				  (json_int_t)r->after_unmap_mismatch,
				  "device_reads_behind_caches", r->hook));
	}
	if (!failed) {
		struct nc_run *on = &runs[0], *off = &runs[1];

		printf("  ok/st/lk: pages read right / stale (not what the CPU "
		       "wrote) / leaked (the\n"
		       "  earlier owner's secret).  device: "
		       "endpoint_dma_read(); "
		       "memory: behind the caches.\n");
		printf("  device DMA reads behind the caches: %s\n",
		       on->hook && off->hook ? "yes (endpoint_dma_read == "
					       "memory "
					       "column)"
					     : "no (the hw model does not "
					       "route Normal-NC "
					       "reads to "
					       "phys_access_checked_nc)");
		/* with the flushes everything is right; without them the
		 * memory behind the caches is wrong on every page */
		if (on->mem_ok != NPAGES || on->dev_ok != NPAGES ||
		    on->after_unmap_mismatch || !on->map_flushes ||
		    !on->unmap_flushes)
			failed = 1;
		if (off->mem_ok || off->map_flushes || off->unmap_flushes ||
		    !off->after_unmap_mismatch)
			failed = 1;
		if (off->hook && off->dev_ok)
			failed = 1;
	}
out:
	platform_destroy(p);
	scenario_json_add(ctx, "noncoherent", json_pack("{s:o}", "runs", rows));
	return failed;
}

DEFINE_SCENARIO(noncoherent, run_noncoherent,
		"VFIO type1: CPU cache flushes for a no-snoop device");
