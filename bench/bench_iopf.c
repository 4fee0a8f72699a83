// SPDX-License-Identifier: MIT
/*
 * I/O page fault round trip at the IOMMU core: a stall-capable device
 * touches an unmapped page; the SMMU stalls the access and reports it; the
 * IOMMU core hands the page request to the device's fault handler, which
 * maps the page (iommu_map) and answers (iommu_page_response -> RESUME);
 * the device retries and completes.  Median ns per faulting access, with
 * the SMMU's queues handled inline and on their own threads.  This is the
 * floor under VFIO's IOPF handler, which also resolves and pins the page.
 */
#include <stdio.h>
#include <stdlib.h>

#include <uiommu/sva.h>

#include "bench.h"

#define PAGES 256
#define IOVA  0x40000000UL

struct iopf_ctx {
	struct iommu_domain *domain;
	struct device *dev;
	phys_addr_t pool;
};

static int map_on_fault(struct iommu_fault *fault, void *data)
{
	struct iopf_ctx *c = data;
	unsigned long iova = fault->prm.addr & ~4095UL;
	struct iommu_page_response resp = {
		.grpid = fault->prm.grpid,
		.code = IOMMU_PAGE_RESP_SUCCESS,
	};

	if (iommu_map(c->domain, iova, c->pool + (iova - IOVA), 4096,
		      IOMMU_READ | IOMMU_WRITE | IOMMU_CACHE))
		resp.code = IOMMU_PAGE_RESP_INVALID;
	return iommu_page_response(c->dev, &resp);
}

static double fault_roundtrip(bool threaded)
{
	struct platform_config cfg = {.smmu.threaded = threaded};
	unsigned int pages = bench_quick || threaded ? PAGES / 8 : PAGES;
	double *samples = calloc(bench_reps, sizeof(double)), med = 0;
	struct iopf_ctx c = {0};
	struct platform *p = NULL;
	struct sva_dev *s = NULL;
	uint32_t v = 1;

	if (!samples || platform_create(&cfg, &p) ||
	    sva_create(p, "sva0", 3, 0, &s))
		goto out;
	c.dev = sva_device(s);
	c.domain = iommu_domain_alloc(c.dev);
	if (!c.domain || iommu_attach_group(c.domain, iommu_group_get(c.dev)) ||
	    phys_alloc_pages(p->pm, 9, 0, PHYS_OWNER_KERNEL, &c.pool) ||
	    iommu_dev_enable_feature(c.dev, IOMMU_DEV_FEAT_IOPF) ||
	    iommu_register_device_fault_handler(c.dev, map_on_fault,
						FAULT_REPORT_FLAT, &c))
		goto out;
	/* the tables of the range exist: only leaves are faulted in */
	if (iommu_map(c.domain, IOVA + (PAGES << 12), c.pool, 4096, IOMMU_READ))
		goto out;
	for (int r = -1; r < bench_reps; r++) {
		uint64_t t0 = bench_now_ns();

		for (unsigned int i = 0; i < pages; i++)
			if (dev_dma_write(sva_hw(s), IOVA + ((uint64_t)i << 12),
					  &v, 4))
				goto out;
		if (r >= 0)
			samples[r] = (double)(bench_now_ns() - t0) / pages;
		iommu_unmap(c.domain, IOVA, (size_t)pages << 12);
	}
	med = bench_median(samples, bench_reps);
out:
	if (c.domain) {
		iommu_unregister_device_fault_handler(c.dev);
		iommu_dev_disable_feature(c.dev, IOMMU_DEV_FEAT_IOPF);
		iommu_unmap(c.domain, IOVA, (PAGES + 1UL) << 12);
		iommu_detach_group(c.domain, iommu_group_get(c.dev));
		iommu_domain_free(c.domain);
	}
	if (c.pool)
		phys_free_pages(p->pm, c.pool, 9);
	sva_destroy(s);
	platform_destroy(p);
	free(samples);
	return med;
}

static void bench_iopf(void)
{
	double inl = fault_roundtrip(false), thr = fault_roundtrip(true);

	bench_report("iopf.core_roundtrip_inline", inl, "ns",
		     "stall -> handler maps -> RESUME -> retry, inline");
	bench_report("iopf.core_roundtrip_threaded", thr, "ns",
		     "the same with the SMMU's queue threads");
}

BENCH_SUITE(iopf, bench_iopf)
