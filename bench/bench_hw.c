// SPDX-License-Identifier: MIT
/*
 * Benchmarks of the emulated SMMU (suite "hw"): translation on an IOTLB hit,
 * translation on a miss (a 4-level stage-1 walk of tables in phys), and a
 * 4 KiB endpoint_dma_write through an IOTLB hit beside a plain 4 KiB memcpy to
 * the same frame in the same run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/hw.h"

#include "bench.h"
#include "pgtable/lpae_format.h"

#define S1_ATTR                                              \
	(LPAE_PTE_AF | LPAE_PTE_SH_IS | LPAE_PTE_AP_UNPRIV | \
	 ((uint64_t)LPAE_MAIR_IDX_CACHE << LPAE_PTE_ATTRINDX_SHIFT))

#define MISS_PAGES 16384 /* 16x the default IOTLB */

static phys_addr_t zframe(struct phys_mem *pm)
{
	phys_addr_t pa;

	if (phys_alloc_pages(pm, 0, PHYS_ALLOC_ZERO, PHYS_OWNER_KERNEL, &pa))
		abort();
	return pa;
}

static void map4k(struct phys_mem *pm, phys_addr_t root, uint64_t va,
		  phys_addr_t pa)
{
	phys_addr_t table = root;
	int level;

	for (level = 0; level < 3; level++) {
		uint64_t *pte =
			phys_to_virt(pm, table + lpae_pte_index(va, level) * 8);

		if (!(*pte & LPAE_PTE_VALID))
			*pte = zframe(pm) | LPAE_PTE_TYPE_TABLE;
		table = *pte & LPAE_PTE_ADDR_MASK;
	}
	*(uint64_t *)phys_to_virt(pm, table + lpae_pte_index(va, 3) * 8) =
		pa | S1_ATTR | LPAE_PTE_TYPE_PAGE;
}

static void bench_hw(void)
{
	struct phys_config pcfg = {.base = PHYS_DEFAULT_BASE,
				   .size = 1ULL << 30};
	int reps = bench_reps, i, r, iters = bench_quick ? 20000 : 200000;
	double hit[64], miss[64], dma[64], cpy[64], ratio[64];
	phys_addr_t root, cdt, data;
	struct phys_mem *pm;
	struct smmu *smmu;
	struct endpoint *dev;
	struct smmu_xlate x;
	uint64_t t0, sink = 0;
	void *dst;
	char *src;
	char note[96];

	if (reps > 64)
		reps = 64;
	if (phys_create(&pcfg, &pm) || smmu_create(pm, NULL, &smmu))
		abort();
	root = zframe(pm);
	cdt = zframe(pm);
	data = zframe(pm);
	{
		struct smmu_cd cd = {.valid = true,
				     .t0sz = 16,
				     .ttb0 = root,
				     .asid = 1,
				     .mair = LPAE_MAIR_DEFAULT};
		struct smmu_ste ste = {.valid = true,
				       .config = SMMU_STE_S1,
				       .s1_ctx_ptr = cdt};
		struct smmu_cmd c = {.op = SMMU_CMD_CFGI_ALL};

		smmu_cd_write(smmu, cdt, 0, &cd);
		smmu_ste_write(smmu, 0, &ste);
		smmu_cmdq_issue(smmu, &c);
		smmu_cmdq_sync(smmu);
	}
	for (i = 0; i < MISS_PAGES; i++)
		map4k(pm, root, 0x10000000ULL + (uint64_t)i * 4096, data);
	if (endpoint_create(smmu, 0, 0, 0, &dev))
		abort();
	src = aligned_alloc(4096, 4096);
	memset(src, 0x5a, 4096);
	dst = phys_to_virt(pm, data);

	for (r = 0; r < reps; r++) {
		/* hit: 64 hot pages */
		for (i = 0; i < 64; i++)
			smmu_translate(dev, 0x10000000ULL + i * 4096, false, &x,
				       NULL);
		t0 = bench_now_ns();
		for (i = 0; i < iters; i++) {
			smmu_translate(dev, 0x10000000ULL + (i & 63) * 4096,
				       false, &x, NULL);
			sink += x.pa;
		}
		hit[r] = (double)(bench_now_ns() - t0) / iters;

		/* miss: 16K pages round robin through a 1K-entry IOTLB */
		t0 = bench_now_ns();
		for (i = 0; i < MISS_PAGES; i++) {
			smmu_translate(dev, 0x10000000ULL + (uint64_t)i * 4096,
				       false, &x, NULL);
			sink += x.pa;
		}
		miss[r] = (double)(bench_now_ns() - t0) / MISS_PAGES;

		/* 4 KiB DMA through a hit, beside memcpy */
		endpoint_dma_write(dev, 0x10000000ULL, src, 4096);
		t0 = bench_now_ns();
		for (i = 0; i < iters / 4; i++)
			endpoint_dma_write(dev, 0x10000000ULL, src, 4096);
		dma[r] = 4096.0 * (iters / 4) / (double)(bench_now_ns() - t0);
		t0 = bench_now_ns();
		for (i = 0; i < iters / 4; i++) {
			memcpy(dst, src, 4096);
			bench_keep(dst);
		}
		cpy[r] = 4096.0 * (iters / 4) / (double)(bench_now_ns() - t0);
		ratio[r] = dma[r] / cpy[r];
	}
	bench_keep(sink);
	bench_report("hw.translate_hit", bench_median(hit, reps), "ns",
		     "IOTLB hit, smmu_translate");
	bench_report("hw.translate_miss_walk4", bench_median(miss, reps), "ns",
		     "4-level stage-1 walk + fill");
	snprintf(note, sizeof(note), "memcpy 4K: %.2f GB/s",
		 bench_median(cpy, reps));
	bench_report("hw.dma_write_4k_hit", bench_median(dma, reps), "GB/s",
		     note);
	bench_report("hw.memcpy_4k", bench_median(cpy, reps), "GB/s",
		     "same frame, same run");
	bench_report("hw.dma_vs_memcpy", bench_median(ratio, reps), "x",
		     "target >= 0.80");
	free(src);
	endpoint_destroy(dev);
	smmu_destroy(smmu);
	phys_destroy(pm);
}

BENCH_SUITE(hw, bench_hw)
