// SPDX-License-Identifier: MIT
/*
 * Tests of the LPAE page tables, in the spirit of the kernel's io-pgtable
 * self-test: a matrix of every page-size set x every input size x both
 * stages (map, iova_to_phys, unmap, remap, bad arguments, double map, blocks,
 * partial unmap of a block (A10), table pages freed), the descriptor bits of
 * every prot at both stages (checked against literal encodings, not the
 * library's macros), fail-Nth sweeps, flush-op calls, and threads mapping
 * and unmapping disjoint ranges that share tables.  Every test ends with
 * every frame back in phys.
 *
 * The matrix, the sweeps and the threads run in both table policies: eager
 * freeing (the default) and LPAE_QUIRK_KEEP_TABLES (tables stay until
 * lpae_free or a call that owns their whole range removes them); the keep
 * tests check that emptying a table frees nothing and flushes no walk, that
 * a wholesale unmap or a block map over a kept table frees it, and that
 * lpae_free returns every frame.
 */
#include "helpers.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgtable/pgtable.h"

#include "pgtable/lpae_format.h"

#define SZ_4K	(1UL << 12)
#define SZ_2M	(1UL << 21)
#define SZ_1G	(1UL << 30)
#define PA_BASE (0x5ULL << 40) /* outputs: any address below 2^48 */

/* ---- helpers ------------------------------------------------------------ */

struct flush_rec {
	_Atomic unsigned long alls, walks, pages;
	unsigned long last_granule;
	unsigned long walk_bytes;
};

static void rec_flush_all(void *cookie)
{
	struct flush_rec *r = cookie;

	r->alls++;
}

static void rec_flush_walk(unsigned long iova, size_t size, size_t granule,
			   void *cookie)
{
	struct flush_rec *r = cookie;

	assert_int_equal(granule, SZ_4K);
	/* tables: their whole range; a failed map's unwind: its range */
	assert_true(size && (iova | size) % SZ_4K == 0);
	r->walks++;
	__atomic_fetch_add(&r->walk_bytes, size, __ATOMIC_RELAXED);
}

static void rec_add_page(struct iommu_iotlb_gather *g, unsigned long iova,
			 size_t granule, void *cookie)
{
	struct flush_rec *r = cookie;

	r->pages++;
	__atomic_store_n(&r->last_granule, granule, __ATOMIC_RELAXED);
	iommu_iotlb_gather_add_page(g, iova, granule, NULL, NULL);
}

static const struct lpae_flush_ops rec_ops = {
	.tlb_flush_all = rec_flush_all,
	.tlb_flush_walk = rec_flush_walk,
	.tlb_add_page = rec_add_page,
};

/* quirks every mk() table gets: 0 or LPAE_QUIRK_KEEP_TABLES */
static unsigned int mk_quirks;

static bool keep_mode(void)
{
	return mk_quirks & LPAE_QUIRK_KEEP_TABLES;
}

static uint64_t frames_used(struct phys_mem *pm)
{
	struct phys_stats st;

	phys_get_stats(pm, &st);
	return st.frames_total - st.frames_free;
}

static struct lpae_pgtable *mk(struct phys_mem *pm, int stage, unsigned int ias,
			       unsigned long bitmap, int cache,
			       struct flush_rec *rec, struct lpae_cfg *cfg)
{
	struct lpae_pgtable *pgt = NULL;

	memset(cfg, 0, sizeof(*cfg));
	cfg->stage = stage;
	cfg->ias = ias;
	cfg->oas = 48;
	cfg->pgsize_bitmap = bitmap;
	cfg->coherent_walk = true;
	cfg->tlb = &rec_ops;
	cfg->cookie = rec;
	cfg->table_cache = cache;
	cfg->quirks = mk_quirks;
	assert_int_equal(lpae_alloc(pm, cfg, &pgt), 0);
	return pgt;
}

static unsigned int pgd_frames(const struct lpae_cfg *cfg)
{
	return cfg->concat;
}

/*
 * Eager mode: no table below the root left, every frame taken given back.
 * Keep mode: the frames in use are the root and the tables still hooked
 * (a table with no cache), nothing else.
 */
static void check_empty(struct phys_mem *pm, struct lpae_pgtable *pgt,
			uint64_t base)
{
	struct lpae_stats st;

	lpae_get_stats(pgt, &st);
	if (!keep_mode())
		assert_int_equal(st.tables_alloc, st.tables_free);
	assert_int_equal(frames_used(pm), base + pgd_frames(lpae_get_cfg(pgt)) +
						  st.tables_alloc -
						  st.tables_free);
}

/* ---- the matrix ---------------------------------------------------------- */

static const unsigned long bitmaps[] = {
	SZ_4K,
	SZ_4K | SZ_2M,
	SZ_4K | SZ_2M | SZ_1G,
};
static const unsigned int ias_list[] = {32, 36, 40, 42, 44, 48};

static int combo_stage;
static unsigned int combo_ias;
static unsigned long combo_bitmap;

#define CHECK(cond)                                                       \
	do {                                                              \
		if (!(cond)) {                                            \
			print_error("%s stage %d ias %u bitmap %#lx: %s " \
				    "(line %d)\n",                        \
				    keep_mode() ? "keep" : "eager",       \
				    combo_stage, combo_ias, combo_bitmap, \
				    #cond, __LINE__);                     \
			fail();                                           \
		}                                                         \
	} while (0)

static int level_of(size_t pgsize)
{
	return pgsize == SZ_4K ? 3 : pgsize == SZ_2M ? 2 : 1;
}

/* map, translate, double map, unmap, remap of one page of pgsize at iova */
static void one_page(struct lpae_pgtable *pgt, unsigned long iova,
		     size_t pgsize, unsigned long top)
{
	phys_addr_t pa = PA_BASE + 3 * pgsize;
	size_t mapped = 1;
	uint64_t pte;
	int lvl;

	CHECK(lpae_map_pages(pgt, iova, pa, pgsize, 1, IOMMU_READ | IOMMU_WRITE,
			     &mapped) == 0);
	CHECK(mapped == pgsize);
	CHECK(lpae_iova_to_phys(pgt, iova) == pa);
	CHECK(lpae_iova_to_phys(pgt, iova + pgsize / 2 + 8) ==
	      pa + pgsize / 2 + 8);
	CHECK(lpae_iova_to_phys(pgt, iova + pgsize - 1) == pa + pgsize - 1);
	if (iova)
		CHECK(lpae_iova_to_phys(pgt, iova - 1) == 0);
	if (iova + pgsize < top)
		CHECK(lpae_iova_to_phys(pgt, iova + pgsize) == 0);
	CHECK(lpae_lookup(pgt, iova, &pte, &lvl) == 0);
	CHECK(lvl == level_of(pgsize));
	CHECK((pte & 3) == (lvl == 3 ? 3u : 1u));

	/* EEXIST: the same page again, and a 4K page inside a block */
	CHECK(lpae_map_pages(pgt, iova, pa, pgsize, 1, IOMMU_READ, &mapped) ==
	      -EEXIST);
	CHECK(mapped == 0);
	if (pgsize > SZ_4K)
		CHECK(lpae_map_pages(pgt, iova + SZ_4K, pa, SZ_4K, 1,
				     IOMMU_READ, &mapped) == -EEXIST);

	CHECK(lpae_unmap_pages(pgt, iova, pgsize, 1, NULL) == pgsize);
	CHECK(lpae_iova_to_phys(pgt, iova) == 0);
	CHECK(lpae_lookup(pgt, iova, &pte, &lvl) == -ENOENT);
	/* a hole unmaps nothing */
	CHECK(lpae_unmap_pages(pgt, iova, pgsize, 1, NULL) == 0);

	/* remap, elsewhere */
	CHECK(lpae_map_pages(pgt, iova, pa + pgsize, pgsize, 1, IOMMU_READ,
			     &mapped) == 0);
	CHECK(lpae_iova_to_phys(pgt, iova + 4) == pa + pgsize + 4);
	CHECK(lpae_unmap_pages(pgt, iova, pgsize, 1, NULL) == pgsize);
	CHECK(lpae_iova_to_phys(pgt, iova) == 0);
}

/* A10: a 4 KiB unmap inside a block splits it; the rest still translates */
static void partial_block(struct lpae_pgtable *pgt, unsigned long iova,
			  size_t pgsize)
{
	phys_addr_t pa = PA_BASE + pgsize;
	unsigned long hole = iova + pgsize / 2;
	struct lpae_stats before, after;
	uint64_t pte, pte0;
	size_t mapped;
	int lvl;

	CHECK(lpae_map_pages(pgt, iova, pa, pgsize, 1, IOMMU_READ | IOMMU_CACHE,
			     &mapped) == 0);
	CHECK(lpae_lookup(pgt, iova, &pte0, &lvl) == 0);
	lpae_get_stats(pgt, &before);
	CHECK(lpae_unmap_pages(pgt, hole, SZ_4K, 1, NULL) == SZ_4K);
	lpae_get_stats(pgt, &after);
	CHECK(after.splits - before.splits == (pgsize == SZ_1G ? 2u : 1u));
	CHECK(lpae_iova_to_phys(pgt, hole) == 0);
	CHECK(lpae_iova_to_phys(pgt, hole - SZ_4K) == pa + pgsize / 2 - SZ_4K);
	CHECK(lpae_iova_to_phys(pgt, hole + SZ_4K + 5) ==
	      pa + pgsize / 2 + SZ_4K + 5);
	CHECK(lpae_iova_to_phys(pgt, iova) == pa);
	CHECK(lpae_iova_to_phys(pgt, iova + pgsize - 1) == pa + pgsize - 1);
	/* the pieces keep the block's attributes */
	CHECK(lpae_lookup(pgt, hole + SZ_4K, &pte, &lvl) == 0);
	CHECK(lvl == 3);
	CHECK((pte & ~(LPAE_PTE_ADDR_MASK | 3ull)) ==
	      (pte0 & ~(LPAE_PTE_ADDR_MASK | 3ull)));
	/* a block-sized unmap takes the whole split subtree at once */
	CHECK(lpae_unmap_pages(pgt, iova, pgsize, 1, NULL) == pgsize);
	CHECK(lpae_iova_to_phys(pgt, iova) == 0);
	CHECK(lpae_iova_to_phys(pgt, hole + SZ_4K) == 0);
}

static void bad_args(struct lpae_pgtable *pgt, unsigned long bitmap,
		     unsigned long top)
{
	const int rw = IOMMU_READ | IOMMU_WRITE;
	size_t mapped = 7;

	/* page sizes the table does not offer */
	if (!(bitmap & SZ_2M))
		CHECK(lpae_map_pages(pgt, 0, 0, SZ_2M, 1, rw, &mapped) ==
		      -EINVAL);
	if (!(bitmap & SZ_1G))
		CHECK(lpae_map_pages(pgt, 0, 0, SZ_1G, 1, rw, &mapped) ==
		      -EINVAL);
	CHECK(lpae_map_pages(pgt, 0, 0, 2 * SZ_4K, 1, rw, &mapped) == -EINVAL);
	CHECK(lpae_map_pages(pgt, 0, 0, SZ_4K | SZ_2M, 1, rw, &mapped) ==
	      -EINVAL);
	CHECK(lpae_map_pages(pgt, 0, 0, 0, 1, rw, &mapped) == -EINVAL);
	CHECK(lpae_map_pages(pgt, 0, 0, SZ_4K, 0, rw, &mapped) == -EINVAL);
	CHECK(mapped == 0);
	/* misaligned */
	CHECK(lpae_map_pages(pgt, 0x800, PA_BASE, SZ_4K, 1, rw, &mapped) ==
	      -EINVAL);
	CHECK(lpae_map_pages(pgt, 0, PA_BASE + 0x800, SZ_4K, 1, rw, &mapped) ==
	      -EINVAL);
	if (bitmap & SZ_2M)
		CHECK(lpae_map_pages(pgt, SZ_4K, PA_BASE, SZ_2M, 1, rw,
				     &mapped) == -EINVAL);
	/* overflow */
	CHECK(lpae_map_pages(pgt, 0, PA_BASE, SZ_4K, SIZE_MAX / 2, rw,
			     &mapped) == -EINVAL);
	CHECK(lpae_map_pages(pgt, ~0UL & ~(SZ_4K - 1), PA_BASE, SZ_4K, 2, rw,
			     &mapped) == -EINVAL);
	CHECK(lpae_map_pages(pgt, 0, ~0ULL & ~(SZ_4K - 1), SZ_4K, 2, rw,
			     &mapped) == -EINVAL);
	/* beyond ias / oas: ERANGE */
	CHECK(lpae_map_pages(pgt, top, PA_BASE, SZ_4K, 1, rw, &mapped) ==
	      -ERANGE);
	CHECK(lpae_map_pages(pgt, top - SZ_4K, PA_BASE, SZ_4K, 2, rw,
			     &mapped) == -ERANGE);
	CHECK(lpae_map_pages(pgt, 0, 1ULL << 48, SZ_4K, 1, rw, &mapped) ==
	      -ERANGE);
	CHECK(lpae_map_pages(pgt, 0, (1ULL << 48) - SZ_4K, SZ_4K, 2, rw,
			     &mapped) == -ERANGE);
	CHECK(mapped == 0);
	/* contradictory memory type */
	CHECK(lpae_map_pages(pgt, 0, PA_BASE, SZ_4K, 1,
			     rw | IOMMU_MMIO | IOMMU_NORMAL_NC,
			     &mapped) == -EINVAL);
	CHECK(lpae_map_pages(pgt, 0, PA_BASE, SZ_4K, 1,
			     rw | IOMMU_CACHE | IOMMU_NORMAL_NC,
			     &mapped) == -EINVAL);
	/* no access: -EINVAL and nothing mapped (6.12's rule: with 6.1's
	 * "nothing to do" the core's map loop never advanced) */
	CHECK(lpae_map_pages(pgt, 0, PA_BASE, SZ_4K, 1, IOMMU_CACHE, &mapped) ==
	      -EINVAL);
	CHECK(mapped == 0);
	CHECK(lpae_iova_to_phys(pgt, 0) == 0);
	/* unmap with bad arguments unmaps nothing */
	CHECK(lpae_unmap_pages(pgt, top, SZ_4K, 1, NULL) == 0);
	CHECK(lpae_unmap_pages(pgt, 0x800, SZ_4K, 1, NULL) == 0);
	CHECK(lpae_unmap_pages(pgt, 0, SZ_4K, 0, NULL) == 0);
	CHECK(lpae_unmap_pages(pgt, 0, 3 * SZ_4K, 1, NULL) == 0);
	CHECK(lpae_iova_to_phys(pgt, top) == 0);
}

/* runs of pages across table boundaries, and a run that hits a mapping */
static void runs(struct phys_mem *pm, struct lpae_pgtable *pgt,
		 unsigned long bitmap, unsigned long top, uint64_t base)
{
	unsigned long iova = SZ_1G - 256 * SZ_4K; /* crosses 2M and 1G */
	size_t mapped, i;

	if (iova + 1024 * SZ_4K > top)
		iova = top - 2 * SZ_1G - 256 * SZ_4K;
	CHECK(lpae_map_pages(pgt, iova, PA_BASE, SZ_4K, 1024, IOMMU_READ,
			     &mapped) == 0);
	CHECK(mapped == 1024 * SZ_4K);
	for (i = 0; i < 1024; i += 97)
		CHECK(lpae_iova_to_phys(pgt, iova + i * SZ_4K) ==
		      PA_BASE + i * SZ_4K);
	CHECK(lpae_iova_to_phys(pgt, iova + 1024 * SZ_4K) == 0);
	CHECK(lpae_unmap_pages(pgt, iova, SZ_4K, 1024, NULL) == 1024 * SZ_4K);
	check_empty(pm, pgt, base);

	/* a run over an existing page fails whole, and leaves that page */
	CHECK(lpae_map_pages(pgt, iova + 700 * SZ_4K, PA_BASE, SZ_4K, 1,
			     IOMMU_READ, &mapped) == 0);
	CHECK(lpae_map_pages(pgt, iova, PA_BASE, SZ_4K, 1024, IOMMU_READ,
			     &mapped) == -EEXIST);
	CHECK(mapped == 0);
	CHECK(lpae_iova_to_phys(pgt, iova) == 0);
	CHECK(lpae_iova_to_phys(pgt, iova + 699 * SZ_4K) == 0);
	CHECK(lpae_iova_to_phys(pgt, iova + 700 * SZ_4K) == PA_BASE);
	/* unmap stops at the first hole and says so (A10) */
	CHECK(lpae_unmap_pages(pgt, iova + 700 * SZ_4K, SZ_4K, 5, NULL) ==
	      SZ_4K);
	check_empty(pm, pgt, base);

	if (bitmap & SZ_2M) {
		iova = SZ_1G - SZ_2M;
		CHECK(lpae_map_pages(pgt, iova, PA_BASE, SZ_2M, 3, IOMMU_WRITE,
				     &mapped) == 0);
		CHECK(mapped == 3 * SZ_2M);
		CHECK(lpae_iova_to_phys(pgt, iova + 2 * SZ_2M + 9) ==
		      PA_BASE + 2 * SZ_2M + 9);
		CHECK(lpae_unmap_pages(pgt, iova, SZ_2M, 3, NULL) == 3 * SZ_2M);
		check_empty(pm, pgt, base);
	}
}

static void one_combo(struct phys_mem *pm, int stage, unsigned int ias,
		      unsigned long bitmap)
{
	unsigned long top = 1UL << ias, sizes[3] = {SZ_4K, SZ_2M, SZ_1G};
	uint64_t base = frames_used(pm);
	struct flush_rec rec = {0};
	struct lpae_pgtable *pgt;
	struct lpae_cfg cfg;
	unsigned int ptes, s;
	int start;

	combo_stage = stage;
	combo_ias = ias;
	combo_bitmap = bitmap;
	pgt = mk(pm, stage, ias, bitmap, -1, &rec, &cfg);

	start = lpae_start_level(ias, stage == 2, &ptes);
	CHECK(cfg.start_level == start);
	CHECK(cfg.pgd_ptes == ptes);
	CHECK(cfg.pgsize_bitmap == bitmap);
	CHECK(cfg.tsz == 64 - ias);
	CHECK(cfg.mair == (stage == 1 ? 0x04ff44ULL : 0));
	CHECK(cfg.concat == (ptes > 512 ? ptes / 512 : 1));
	CHECK(cfg.ttbr % (cfg.concat * SZ_4K) == 0);
	CHECK(frames_used(pm) == base + cfg.concat);

	for (s = 0; s < 3; s++) {
		struct lpae_stats st0, st1;

		if (!(bitmap & sizes[s]))
			continue;
		lpae_get_stats(pgt, &st0);
		one_page(pgt, 0, sizes[s], top);
		one_page(pgt, top - sizes[s], sizes[s], top);
		one_page(pgt, top / 2 + sizes[s], sizes[s], top);
		check_empty(pm, pgt, base);
		lpae_get_stats(pgt, &st1);
		/* keep mode: pages come and go, their tables stay, no flush */
		if (keep_mode() && sizes[s] == SZ_4K) {
			CHECK(st1.tables_free == st0.tables_free);
			CHECK(st1.walk_flushes == st0.walk_flushes);
			CHECK(st1.tables_alloc > st0.tables_alloc);
		}
		if (sizes[s] > SZ_4K) {
			partial_block(pgt, 0, sizes[s]);
			partial_block(pgt, top - sizes[s], sizes[s]);
			check_empty(pm, pgt, base);
		}
	}
	bad_args(pgt, bitmap, top);
	runs(pm, pgt, bitmap, top, base);
	check_empty(pm, pgt, base);
	CHECK(rec.walks > 0);
	if (keep_mode() && bitmap == SZ_4K) {
		struct lpae_stats st;

		/* no block ever replaced a table: nothing was freed */
		lpae_get_stats(pgt, &st);
		CHECK(st.tables_free == 0);
		CHECK(st.tables_alloc > 0);
	}
	lpae_free(pgt);
	CHECK(frames_used(pm) == base);
}

static void test_matrix(void **state)
{
	struct phys_mem *pm = test_phys_create();
	struct phys_report r;
	unsigned int b, i;
	int stage;

	for (stage = 1; stage <= 2; stage++)
		for (b = 0; b < ARRAY_SIZE_T(bitmaps); b++)
			for (i = 0; i < ARRAY_SIZE_T(ias_list); i++)
				one_combo(pm, stage, ias_list[i], bitmaps[b]);
	phys_report(pm, PHYS_OWNER_NONE, &r);
	assert_int_equal(r.allocated, 0);
	phys_destroy(pm);
}

/* ---- configuration -------------------------------------------------------- */

static void test_alloc_config(void **state)
{
	struct phys_mem *pm = test_phys_create();
	struct lpae_pgtable *pgt = NULL;
	struct lpae_cfg cfg = {.stage = 1, .ias = 48, .oas = 48};

	cfg.stage = 3;
	assert_int_equal(lpae_alloc(pm, &cfg, &pgt), -EINVAL);
	cfg.stage = 2;
	cfg.ias = 31;
	assert_int_equal(lpae_alloc(pm, &cfg, &pgt), -EINVAL);
	cfg.ias = 49;
	assert_int_equal(lpae_alloc(pm, &cfg, &pgt), -EINVAL);
	cfg.ias = 40;
	cfg.oas = 52;
	assert_int_equal(lpae_alloc(pm, &cfg, &pgt), -EINVAL);
	cfg.oas = 40;
	cfg.quirks = LPAE_QUIRKS_ALL << 1; /* unknown policy */
	assert_int_equal(lpae_alloc(pm, &cfg, &pgt), -EINVAL);
	cfg.quirks = 0;
	cfg.pgsize_bitmap = SZ_2M | SZ_1G; /* no 4 KiB granule */
	assert_int_equal(lpae_alloc(pm, &cfg, &pgt), -EINVAL);
	assert_null(pgt);
	assert_int_equal(frames_used(pm), 0);

	/* 0 means every size; sizes the format lacks are dropped */
	cfg.pgsize_bitmap = 0;
	assert_int_equal(lpae_alloc(pm, &cfg, &pgt), 0);
	assert_int_equal(cfg.pgsize_bitmap, SZ_4K | SZ_2M | SZ_1G);
	/* stage 2, 40 bits: level 1 start, two concatenated tables */
	assert_int_equal(cfg.start_level, 1);
	assert_int_equal(cfg.concat, 2);
	assert_int_equal(cfg.pgd_ptes, 1024);
	lpae_free(pgt);
	cfg.pgsize_bitmap = SZ_4K | (1UL << 16) | SZ_2M;
	assert_int_equal(lpae_alloc(pm, &cfg, &pgt), 0);
	assert_int_equal(cfg.pgsize_bitmap, SZ_4K | SZ_2M);
	lpae_free(pgt);
	assert_int_equal(frames_used(pm), 0);
	phys_destroy(pm);
}

/* ---- attribute bits ---------------------------------------------------- */

/* The expected leaf for prot, spelled from the architecture's numbers. */
static uint64_t expect_pte(int stage, int prot, uint64_t pa, int lvl)
{
	bool mmio = prot & IOMMU_MMIO, cache = prot & IOMMU_CACHE;
	uint64_t pte = pa | (lvl == 3 ? 0x3 : 0x1) | (1ULL << 10); /* AF */

	if (stage == 1) {
		pte |= 1ULL << 11; /* nG */
		if ((prot & IOMMU_READ) && !(prot & IOMMU_WRITE))
			pte |= 1ULL << 7; /* AP[2] */
		if (!(prot & IOMMU_PRIV))
			pte |= 1ULL << 6; /* AP[1] */
		pte |= (uint64_t)(mmio ? 2 : cache ? 1 : 0) << 2;
	} else {
		if (prot & IOMMU_READ)
			pte |= 1ULL << 6;
		if (prot & IOMMU_WRITE)
			pte |= 1ULL << 7;
		pte |= (uint64_t)(mmio ? 0x1 : cache ? 0xf : 0x5) << 2;
	}
	pte |= (uint64_t)(cache && !mmio ? 3 : 2) << 8;
	if (prot & IOMMU_NOEXEC)
		pte |= 1ULL << 54;
	return pte;
}

static int expect_prot(int stage, int prot)
{
	int p = prot & (IOMMU_READ | IOMMU_WRITE | IOMMU_NOEXEC | IOMMU_MMIO);

	if ((prot & IOMMU_CACHE) && !(prot & IOMMU_MMIO))
		p |= IOMMU_CACHE;
	if (stage == 1) {
		p |= IOMMU_READ | (prot & IOMMU_PRIV);
		if (!(prot & IOMMU_WRITE) && !(prot & IOMMU_READ))
			p &= ~IOMMU_READ;
		if (!(prot & IOMMU_READ))
			p |= IOMMU_WRITE; /* write-only maps read-write */
	}
	return p;
}

static void test_attr_bits(void **state)
{
	struct phys_mem *pm = test_phys_create();
	struct flush_rec rec = {0};
	struct lpae_pgtable *pgt;
	struct lpae_cfg cfg;
	int stage, prot;

	for (stage = 1; stage <= 2; stage++) {
		pgt = mk(pm, stage, 40, 0, -1, &rec, &cfg);
		for (prot = 0; prot < 128; prot++) {
			unsigned long iova = (unsigned long)prot * SZ_4K;
			unsigned long biova = SZ_1G + prot * SZ_2M;
			phys_addr_t pa = PA_BASE + prot * SZ_2M;
			bool bad = (prot & IOMMU_NORMAL_NC) &&
				   (prot & (IOMMU_MMIO | IOMMU_CACHE));
			bool none = !(prot & (IOMMU_READ | IOMMU_WRITE));
			int mt, want_mt;
			size_t mapped;
			uint64_t pte, attrs;
			int lvl, ret;

			ret = lpae_map_pages(pgt, iova, pa, SZ_4K, 1, prot,
					     &mapped);
			if (bad) {
				assert_int_equal(ret, -EINVAL);
				assert_int_equal(lpae_prot_to_attrs(stage, prot,
								    &attrs),
						 -EINVAL);
				continue;
			}
			if (none) {
				/* 6.12: no access is -EINVAL */
				assert_int_equal(ret, -EINVAL);
				assert_int_equal(mapped, 0);
				assert_int_equal(lpae_lookup(pgt, iova, &pte,
							     &lvl),
						 -ENOENT);
				continue;
			}
			assert_int_equal(ret, 0);
			assert_int_equal(lpae_lookup(pgt, iova, &pte, &lvl), 0);
			assert_int_equal(lvl, 3);
			assert_int_equal(pte, expect_pte(stage, prot, pa, 3));
			assert_int_equal(lpae_pte_prot(pte, stage),
					 expect_prot(stage, prot));
			mt = lpae_pte_memtype(pte, stage, cfg.mair);
			want_mt = (prot & IOMMU_MMIO)	 ? LPAE_MEM_DEVICE
				  : (prot & IOMMU_CACHE) ? LPAE_MEM_NORMAL_WB
							 : LPAE_MEM_NORMAL_NC;
			assert_int_equal(mt, want_mt);

			/* a block carries the same attributes */
			assert_int_equal(lpae_map_pages(pgt, biova, pa, SZ_2M,
							1, prot, &mapped),
					 0);
			assert_int_equal(lpae_lookup(pgt, biova, &pte, &lvl),
					 0);
			assert_int_equal(lvl, 2);
			assert_int_equal(pte, expect_pte(stage, prot, pa, 2));
		}
		lpae_free(pgt);
	}
	assert_int_equal(frames_used(pm), 0);
	phys_destroy(pm);
}

/* ---- flush ops, gather, table cache -------------------------------------- */

static void test_flush_ops_and_gather(void **state)
{
	struct phys_mem *pm = test_phys_create();
	struct flush_rec rec = {0};
	struct iommu_iotlb_gather g;
	struct lpae_pgtable *pgt;
	struct lpae_stats st;
	struct lpae_cfg cfg;
	size_t mapped;

	pgt = mk(pm, 1, 48, 0, -1, &rec, &cfg);
	assert_int_equal(cfg.start_level, 0);
	assert_int_equal(lpae_map_pages(pgt, 0x1000, PA_BASE, SZ_4K, 3,
					IOMMU_READ, &mapped),
			 0);
	lpae_get_stats(pgt, &st);
	assert_int_equal(st.tables_alloc, 3); /* levels 1, 2, 3 */
	assert_int_equal(frames_used(pm), 4);

	/* leaves go to the gather; the tables stay while a page is left */
	iommu_iotlb_gather_init(&g);
	assert_true(iommu_iotlb_gather_empty(&g));
	assert_int_equal(lpae_unmap_pages(pgt, 0x1000, SZ_4K, 2, &g),
			 2 * SZ_4K);
	assert_int_equal(rec.pages, 2);
	assert_int_equal(rec.last_granule, SZ_4K);
	assert_int_equal(g.start, 0x1000);
	assert_int_equal(g.end, 0x2fff);
	assert_int_equal(g.pgsize, SZ_4K);
	assert_int_equal(rec.walks, 0);
	assert_int_equal(frames_used(pm), 4);

	/* the last page: three tables empty, each flushed, then freed */
	assert_int_equal(lpae_unmap_pages(pgt, 0x3000, SZ_4K, 1, &g), SZ_4K);
	assert_int_equal(rec.walks, 3);
	assert_int_equal(rec.walk_bytes, SZ_2M + SZ_1G + (1UL << 39));
	assert_int_equal(g.end, 0x3fff);
	assert_int_equal(frames_used(pm), 1);
	lpae_get_stats(pgt, &st);
	assert_int_equal(st.tables_free, 3);
	assert_int_equal(st.maps, 3);
	assert_int_equal(st.unmaps, 3);
	assert_int_equal(st.walk_flushes, 3);
	lpae_free(pgt);
	assert_int_equal(frames_used(pm), 0);
	phys_destroy(pm);
}

static int sync_calls;

static void count_sync(struct iommu_iotlb_gather *g, void *arg)
{
	sync_calls++;
	assert_ptr_equal(arg, &sync_calls);
	assert_false(iommu_iotlb_gather_empty(g));
}

static void test_gather_helpers(void **state)
{
	struct iommu_iotlb_gather g;

	iommu_iotlb_gather_init(&g);
	iommu_iotlb_gather_add_page(&g, 0x2000, SZ_4K, count_sync, &sync_calls);
	iommu_iotlb_gather_add_page(&g, 0x1000, SZ_4K, count_sync, &sync_calls);
	iommu_iotlb_gather_add_page(&g, 0x3000, SZ_4K, count_sync, &sync_calls);
	assert_int_equal(sync_calls, 0);
	assert_int_equal(g.start, 0x1000);
	assert_int_equal(g.end, 0x3fff);
	/* a hole: sync first */
	assert_true(iommu_iotlb_gather_is_disjoint(&g, 0x5000, SZ_4K));
	iommu_iotlb_gather_add_page(&g, 0x5000, SZ_4K, count_sync, &sync_calls);
	assert_int_equal(sync_calls, 1);
	assert_int_equal(g.start, 0x5000);
	/* another page size: sync first */
	iommu_iotlb_gather_add_page(&g, 0x200000, SZ_2M, count_sync,
				    &sync_calls);
	assert_int_equal(sync_calls, 2);
	assert_int_equal(g.pgsize, SZ_2M);
	assert_int_equal(g.end, 0x3fffff);
}

static void test_table_cache(void **state)
{
	struct phys_mem *pm = test_phys_create();
	struct flush_rec rec = {0};
	struct lpae_pgtable *pgt;
	struct lpae_stats st;
	struct lpae_cfg cfg;
	size_t mapped;
	int i;

	pgt = mk(pm, 2, 48, 0, 0, &rec, &cfg); /* default cache */
	for (i = 0; i < 10; i++) {
		assert_int_equal(lpae_map_pages(pgt, SZ_1G, PA_BASE, SZ_4K, 1,
						IOMMU_READ, &mapped),
				 0);
		assert_int_equal(lpae_unmap_pages(pgt, SZ_1G, SZ_4K, 1, NULL),
				 SZ_4K);
	}
	lpae_get_stats(pgt, &st);
	assert_int_equal(st.tables_alloc, 30);
	assert_int_equal(st.cache_hits, 27);
	assert_int_equal(st.tables_free, 30);
	/* root + three cached frames */
	assert_int_equal(frames_used(pm), 4);
	lpae_free(pgt);
	assert_int_equal(frames_used(pm), 0);
	phys_destroy(pm);
}

/* ---- failure sweeps ------------------------------------------------------ */

struct sweep_ctx {
	struct phys_mem *pm;
	struct lpae_pgtable *pgt;
	struct lpae_cfg cfg;
	struct flush_rec rec;
	uint64_t frames;
	uint64_t live0; /* tables_alloc - tables_free when frames was taken */
	unsigned long iova;
	size_t count;
};

static uint64_t live_tables(struct lpae_pgtable *pgt)
{
	struct lpae_stats st;

	lpae_get_stats(pgt, &st);
	return st.tables_alloc - st.tables_free;
}

static int sweep_map(void *arg)
{
	struct sweep_ctx *c = arg;
	size_t mapped = 1;
	int ret;

	ret = lpae_map_pages(c->pgt, c->iova, PA_BASE, SZ_4K, c->count,
			     IOMMU_READ | IOMMU_WRITE, &mapped);
	if (ret)
		assert_int_equal(mapped, 0);
	return ret;
}

static void sweep_unmap(void *arg)
{
	struct sweep_ctx *c = arg;

	assert_int_equal(lpae_unmap_pages(c->pgt, c->iova, SZ_4K, c->count,
					  NULL),
			 c->count * SZ_4K);
}

static void sweep_check(void *arg)
{
	struct sweep_ctx *c = arg;
	size_t i;

	for (i = 0; i < c->count; i += 61)
		assert_int_equal(lpae_iova_to_phys(c->pgt, c->iova + i * SZ_4K),
				 0);
	assert_int_equal(
		lpae_iova_to_phys(c->pgt, c->iova + (c->count - 1) * SZ_4K), 0);
	/* eager: every table the failed map made is gone again; keep: they
	 * may stay, but no frame is in use that is not a counted table */
	if (!keep_mode())
		assert_int_equal(live_tables(c->pgt), c->live0);
	assert_int_equal(frames_used(c->pm),
			 c->frames + live_tables(c->pgt) - c->live0);
	/* the page mapped before the sweep is still there */
	assert_int_equal(lpae_iova_to_phys(c->pgt, SZ_1G - SZ_2M), PA_BASE);
}

static void test_fail_sweep_map(void **state)
{
	struct sweep_ctx c = {0};
	int stage, points;

	c.pm = test_phys_create();
	for (stage = 1; stage <= 2; stage++) {
		c.pgt = mk(c.pm, stage, 48, 0, -1, &c.rec, &c.cfg);
		/* a neighbour so that some tables exist and are shared */
		size_t mapped;
		assert_int_equal(lpae_map_pages(c.pgt, SZ_1G - SZ_2M, PA_BASE,
						SZ_4K, 1, IOMMU_READ, &mapped),
				 0);
		c.frames = frames_used(c.pm);
		c.live0 = live_tables(c.pgt);
		/* from inside that table over 1 GiB and 512 GiB boundaries */
		c.iova = (1UL << 39) - 1024 * SZ_4K;
		c.count = 2048;
		points = test_fail_sweep(sweep_map, sweep_unmap, sweep_check,
					 &c, UIOMMU_FAIL_FRAME);
		/* L3 x 4, L2 x 2, L1 x 1 new tables; in keep mode the tables
		 * of a failed try stay and the next try starts past them:
		 * fails at table 1, then 2, then 4, then 7 */
		assert_int_equal(points, keep_mode() ? 4 : 7);
		assert_int_equal(live_tables(c.pgt),
				 c.live0 + (keep_mode() ? 7 : 0));
		/* the first table already exists for this one */
		c.iova = SZ_1G - SZ_2M + SZ_4K;
		c.count = 1000;
		c.frames = frames_used(c.pm);
		c.live0 = live_tables(c.pgt);
		points = test_fail_sweep(sweep_map, sweep_unmap, sweep_check,
					 &c, UIOMMU_FAIL_FRAME);
		assert_int_equal(points, 2);
		lpae_free(c.pgt);
		assert_int_equal(frames_used(c.pm), 0);
	}
	phys_destroy(c.pm);
}

/*
 * Every failure point of a fresh table's first map (root frame, then every
 * table): after each failure nothing translates and lpae_free() gives back
 * every frame, the tables a failed map left behind in keep mode included.
 */
static int sweep_fresh_map(void *arg)
{
	struct sweep_ctx *c = arg;
	int ret;

	memset(&c->cfg, 0, sizeof(c->cfg));
	c->cfg.stage = 1;
	c->cfg.ias = 48;
	c->cfg.oas = 48;
	c->cfg.table_cache = -1;
	c->cfg.quirks = mk_quirks;
	c->pgt = NULL;
	ret = lpae_alloc(c->pm, &c->cfg, &c->pgt);
	if (ret)
		return ret;
	return sweep_map(c);
}

static void sweep_fresh_free(void *arg)
{
	struct sweep_ctx *c = arg;

	lpae_free(c->pgt);
	c->pgt = NULL;
	assert_int_equal(frames_used(c->pm), 0);
}

static void sweep_fresh_check(void *arg)
{
	struct sweep_ctx *c = arg;
	size_t i;

	if (c->pgt) {
		for (i = 0; i < c->count; i += 31)
			assert_int_equal(lpae_iova_to_phys(c->pgt,
							   c->iova + i * SZ_4K),
					 0);
		if (!keep_mode())
			assert_int_equal(live_tables(c->pgt), 0);
	}
	sweep_fresh_free(c);
}

static void test_fail_sweep_fresh(void **state)
{
	struct sweep_ctx c = {0};

	c.pm = test_phys_create();
	c.iova = (1UL << 39) - 1024 * SZ_4K;
	c.count = 2048;
	/* the root, L1 x 2, L2 x 2, L3 x 4 */
	assert_int_equal(test_fail_sweep(sweep_fresh_map, sweep_fresh_free,
					 sweep_fresh_check, &c,
					 UIOMMU_FAIL_FRAME),
			 9);
	assert_int_equal(frames_used(c.pm), 0);
	phys_destroy(c.pm);
}

static int sweep_alloc(void *arg)
{
	struct sweep_ctx *c = arg;

	memset(&c->cfg, 0, sizeof(c->cfg));
	c->cfg.stage = 2;
	c->cfg.ias = 42; /* 8 concatenated tables */
	c->cfg.oas = 44;
	return lpae_alloc(c->pm, &c->cfg, &c->pgt);
}

static void sweep_free(void *arg)
{
	struct sweep_ctx *c = arg;

	assert_int_equal(c->cfg.concat, 8);
	lpae_free(c->pgt);
}

static void sweep_alloc_check(void *arg)
{
	struct sweep_ctx *c = arg;

	assert_int_equal(frames_used(c->pm), 0);
}

static void test_fail_sweep_alloc(void **state)
{
	struct sweep_ctx c = {0};

	c.pm = test_phys_create();
	assert_int_equal(test_fail_sweep(sweep_alloc, sweep_free,
					 sweep_alloc_check, &c, 0),
			 3);
	assert_int_equal(frames_used(c.pm), 0);
	phys_destroy(c.pm);
}

/* A10: the split of a block needs a frame; without one nothing changes */
static void test_a10_split_fails(void **state)
{
	struct phys_mem *pm = test_phys_create();
	struct flush_rec rec = {0};
	struct lpae_pgtable *pgt;
	struct lpae_stats st;
	struct lpae_cfg cfg;
	uint64_t frames;
	size_t mapped;
	int lvl;

	pgt = mk(pm, 1, 40, 0, -1, &rec, &cfg);
	assert_int_equal(lpae_map_pages(pgt, SZ_2M, PA_BASE, SZ_2M, 1,
					IOMMU_READ, &mapped),
			 0);
	frames = frames_used(pm);
	uiommu_fail_filter(UIOMMU_FAIL_FRAME);
	uiommu_fail_nth(1);
	assert_int_equal(lpae_unmap_pages(pgt, SZ_2M + SZ_4K, SZ_4K, 1, NULL),
			 0);
	assert_true(uiommu_fail_fired());
	uiommu_fail_filter(0);
	assert_int_equal(lpae_lookup(pgt, SZ_2M + SZ_4K, NULL, &lvl), 0);
	assert_int_equal(lvl, 2);
	assert_int_equal(frames_used(pm), frames);
	lpae_get_stats(pgt, &st);
	assert_int_equal(st.splits, 0);
	/* and with a frame, the same call splits: asked 4K, got 4K */
	assert_int_equal(lpae_unmap_pages(pgt, SZ_2M + SZ_4K, SZ_4K, 1, NULL),
			 SZ_4K);
	/* unmapping the whole run of pages frees the split table */
	assert_int_equal(lpae_unmap_pages(pgt, SZ_2M + 2 * SZ_4K, SZ_4K, 510,
					  NULL),
			 510 * SZ_4K);
	assert_int_equal(lpae_iova_to_phys(pgt, SZ_2M), PA_BASE);
	assert_int_equal(lpae_unmap_pages(pgt, SZ_2M, SZ_4K, 1, NULL), SZ_4K);
	check_empty(pm, pgt, 0);
	lpae_free(pgt);
	phys_destroy(pm);
}

/* ---- threads ---------------------------------------------------------------- */

#define NTHREADS 8
#define NPAGES	 2048 /* per thread, interleaved: every table is shared */
#define NROUNDS	 4
#define NBLOCKS	 4
#define BLK_BASE (2 * SZ_1G)

struct thr_ctx {
	struct lpae_pgtable *pgt;
	pthread_barrier_t *bar;
	unsigned long base;
	int id;
	int errors;
};

static unsigned long thr_iova(const struct thr_ctx *t, unsigned long k)
{
	return t->base + (k * NTHREADS + (unsigned long)t->id) * SZ_4K;
}

static void *thr_main(void *arg)
{
	struct thr_ctx *t = arg;
	struct iommu_iotlb_gather g;
	unsigned long k, b;
	size_t mapped;
	int r;

	iommu_iotlb_gather_init(&g);
	for (r = 0; r < NROUNDS; r++) {
		pthread_barrier_wait(t->bar);
		for (k = 0; k < NPAGES; k++)
			if (lpae_map_pages(t->pgt, thr_iova(t, k),
					   PA_BASE + thr_iova(t, k), SZ_4K, 1,
					   IOMMU_READ, &mapped))
				t->errors++;
		for (k = 0; k < NPAGES; k++)
			if (lpae_iova_to_phys(t->pgt, thr_iova(t, k)) !=
			    PA_BASE + thr_iova(t, k))
				t->errors++;
		/* unmap in an order of its own */
		for (k = 0; k < NPAGES; k++) {
			unsigned long j = (k * 7 + (unsigned long)r) % NPAGES;

			if (lpae_unmap_pages(t->pgt, thr_iova(t, j), SZ_4K, 1,
					     &g) != SZ_4K)
				t->errors++;
		}
	}
	/* disjoint pages of the same 2M blocks: the splits race */
	pthread_barrier_wait(t->bar);
	for (b = 0; b < NBLOCKS; b++)
		for (k = (unsigned long)t->id; k < 512; k += NTHREADS)
			if (lpae_unmap_pages(t->pgt,
					     BLK_BASE + b * SZ_2M + k * SZ_4K,
					     SZ_4K, 1, &g) != SZ_4K)
				t->errors++;
	return NULL;
}

static void run_threads(int stage, unsigned int ias, int cache)
{
	struct phys_mem *pm = test_phys_create();
	struct thr_ctx t[NTHREADS];
	pthread_t tid[NTHREADS];
	pthread_barrier_t bar;
	struct flush_rec rec = {0};
	struct lpae_pgtable *pgt;
	struct lpae_stats st;
	struct lpae_cfg cfg;
	size_t mapped;
	int i;

	pgt = mk(pm, stage, ias, 0, cache, &rec, &cfg);
	assert_int_equal(lpae_map_pages(pgt, BLK_BASE, PA_BASE, SZ_2M, NBLOCKS,
					IOMMU_READ, &mapped),
			 0);
	pthread_barrier_init(&bar, NULL, NTHREADS + 1);
	for (i = 0; i < NTHREADS; i++) {
		t[i] = (struct thr_ctx){.pgt = pgt,
					.bar = &bar,
					.id = i,
					.base = (1UL << 30) - 16 * SZ_2M};
		assert_int_equal(pthread_create(&tid[i], NULL, thr_main, &t[i]),
				 0);
	}
	/* the page run straddles a 1 GiB boundary */
	for (i = 0; i < NROUNDS + 1; i++)
		pthread_barrier_wait(&bar);
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(tid[i], NULL);
		assert_int_equal(t[i].errors, 0);
	}
	pthread_barrier_destroy(&bar);
	for (i = 0; i < NBLOCKS; i++)
		assert_int_equal(lpae_iova_to_phys(pgt, BLK_BASE + i * SZ_2M),
				 0);
	lpae_get_stats(pgt, &st);
	assert_int_equal(st.maps,
			 (uint64_t)NTHREADS * NPAGES * NROUNDS + NBLOCKS);
	assert_int_equal(st.unmaps,
			 (uint64_t)NTHREADS * NPAGES * NROUNDS + NBLOCKS * 512);
	assert_true(st.splits == NBLOCKS);
	if (keep_mode()) {
		/* only the losers of install races were freed; no flush */
		assert_int_equal(st.tables_free, st.install_races);
		assert_true(st.tables_alloc > st.tables_free);
		assert_int_equal(rec.walks, 0);
	} else {
		assert_int_equal(st.tables_alloc, st.tables_free);
	}
	if (cache < 0)
		assert_int_equal(frames_used(pm),
				 cfg.concat + st.tables_alloc - st.tables_free);
	else
		assert_true(frames_used(pm) <=
			    cfg.concat + st.tables_alloc - st.tables_free +
				    (cache ? cache : LPAE_TABLE_CACHE_DEFAULT));
	lpae_free(pgt);
	assert_int_equal(frames_used(pm), 0);
	phys_destroy(pm);
}

static void test_threads_disjoint_nocache(void **state)
{
	run_threads(1, 48, -1);
	run_threads(2, 40, -1);
}

static void test_threads_disjoint_cache(void **state)
{
	run_threads(2, 44, 0);
	run_threads(1, 36, 4);
}

/* ---- keep mode -------------------------------------------------------------- */

static int keep_setup(void **state)
{
	mk_quirks = LPAE_QUIRK_KEEP_TABLES;
	return 0;
}

static int keep_teardown(void **state)
{
	mk_quirks = 0;
	return 0;
}

/* Emptying tables frees nothing, flushes no walk, and counts nothing. */
static void test_keep_empty_frees_nothing(void **state)
{
	struct phys_mem *pm = test_phys_create();
	struct flush_rec rec = {0};
	struct iommu_iotlb_gather g;
	struct lpae_pgtable *pgt;
	struct lpae_stats st;
	struct lpae_cfg cfg;
	lpae_pte_t *pgd, *tbl;
	size_t mapped;
	int lvl;

	pgt = mk(pm, 1, 48, 0, -1, &rec, &cfg);
	assert_int_equal(lpae_map_pages(pgt, 0x1000, PA_BASE, SZ_4K, 3,
					IOMMU_READ, &mapped),
			 0);
	assert_int_equal(frames_used(pm), 4);
	/* the table descriptors carry no count: bits [11:2] are 0 */
	pgd = phys_to_virt(pm, cfg.ttbr);
	assert_int_equal(pgd[0] & 3, 3);
	assert_int_equal(pgd[0] & LPAE_PTE_TABLE_CNT_MASK, 0);
	tbl = phys_to_virt(pm, pgd[0] & LPAE_PTE_ADDR_MASK);
	assert_int_equal(tbl[0] & LPAE_PTE_TABLE_CNT_MASK, 0);

	iommu_iotlb_gather_init(&g);
	assert_int_equal(lpae_unmap_pages(pgt, 0x1000, SZ_4K, 3, &g),
			 3 * SZ_4K);
	assert_int_equal(rec.pages, 3);
	assert_int_equal(g.start, 0x1000);
	assert_int_equal(g.end, 0x3fff);
	assert_int_equal(rec.walks, 0);
	assert_int_equal(frames_used(pm), 4);
	assert_int_equal(lpae_iova_to_phys(pgt, 0x1000), 0);
	assert_int_equal(lpae_lookup(pgt, 0x2000, NULL, &lvl), -ENOENT);
	/* the kept tables are a hole to unmap */
	assert_int_equal(lpae_unmap_pages(pgt, 0x1000, SZ_4K, 1, &g), 0);
	lpae_get_stats(pgt, &st);
	assert_int_equal(st.tables_alloc, 3);
	assert_int_equal(st.tables_free, 0);
	assert_int_equal(st.walk_flushes, 0);
	assert_int_equal(st.unmaps, 3);

	/* and are reused: no new table for a page in their range */
	assert_int_equal(lpae_map_pages(pgt, 0x1ff000, PA_BASE, SZ_4K, 1,
					IOMMU_WRITE, &mapped),
			 0);
	assert_int_equal(lpae_iova_to_phys(pgt, 0x1ff008), PA_BASE + 8);
	lpae_get_stats(pgt, &st);
	assert_int_equal(st.tables_alloc, 3);
	assert_int_equal(lpae_unmap_pages(pgt, 0x1ff000, SZ_4K, 1, NULL),
			 SZ_4K);
	assert_int_equal(frames_used(pm), 4);
	assert_int_equal(rec.walks, 0);
	lpae_free(pgt);
	assert_int_equal(frames_used(pm), 0);
	phys_destroy(pm);
}

/*
 * A wholesale unmap (pgsize covering a table entry) of a range that maps
 * something frees the subtree with one walk flush; an empty kept subtree is
 * a hole; a block map replaces an empty kept subtree and refuses one that
 * maps something.
 */
static void test_keep_wholesale(void **state)
{
	struct phys_mem *pm = test_phys_create();
	struct flush_rec rec = {0};
	struct lpae_pgtable *pgt;
	struct lpae_stats st;
	struct lpae_cfg cfg;
	unsigned long k, walks;
	uint64_t frames;
	size_t mapped;
	int lvl;

	pgt = mk(pm, 1, 48, 0, -1, &rec, &cfg);
	assert_int_equal(lpae_map_pages(pgt, 0, PA_BASE, SZ_4K, 1, IOMMU_READ,
					&mapped),
			 0);
	for (k = 0; k < 4; k++)
		assert_int_equal(lpae_map_pages(pgt, SZ_1G + k * SZ_2M + SZ_4K,
						PA_BASE + k * SZ_4K, SZ_4K, 1,
						IOMMU_READ, &mapped),
				 0);
	/* L1, L2 + L3 under 0, L2 + 4 x L3 under 1G */
	lpae_get_stats(pgt, &st);
	assert_int_equal(st.tables_alloc, 8);
	assert_int_equal(frames_used(pm), 9);

	/* 2M unmap over the L3 table of k = 0 (one page in it): freed */
	assert_int_equal(lpae_unmap_pages(pgt, SZ_1G, SZ_2M, 1, NULL), SZ_2M);
	assert_int_equal(rec.walks, 1);
	assert_int_equal(rec.walk_bytes, SZ_2M);
	assert_int_equal(lpae_iova_to_phys(pgt, SZ_1G + SZ_4K), 0);
	lpae_get_stats(pgt, &st);
	assert_int_equal(st.tables_free, 1);
	assert_int_equal(st.unmaps, 1);
	assert_int_equal(frames_used(pm), 8);

	/* empty k = 1 page by page: kept; a 2M unmap there is a hole, and
	 * a run of 2M unmaps stops at it */
	assert_int_equal(lpae_unmap_pages(pgt, SZ_1G + SZ_2M + SZ_4K, SZ_4K, 1,
					  NULL),
			 SZ_4K);
	assert_int_equal(lpae_unmap_pages(pgt, SZ_1G + SZ_2M, SZ_2M, 1, NULL),
			 0);
	assert_int_equal(rec.walks, 1);
	assert_int_equal(frames_used(pm), 8);

	/* a block over the empty kept L3 table: the table goes first */
	assert_int_equal(lpae_map_pages(pgt, SZ_1G + SZ_2M, PA_BASE, SZ_2M, 1,
					IOMMU_READ, &mapped),
			 0);
	assert_int_equal(lpae_lookup(pgt, SZ_1G + SZ_2M + 5, NULL, &lvl), 0);
	assert_int_equal(lvl, 2);
	assert_int_equal(lpae_iova_to_phys(pgt, SZ_1G + SZ_2M + SZ_4K),
			 PA_BASE + SZ_4K);
	assert_int_equal(rec.walks, 2);
	assert_int_equal(frames_used(pm), 7);

	/* a block over a kept table that maps a page: EEXIST, no change */
	frames = frames_used(pm);
	walks = rec.walks;
	assert_int_equal(lpae_map_pages(pgt, SZ_1G + SZ_2M, PA_BASE, SZ_2M, 2,
					IOMMU_READ, &mapped),
			 -EEXIST);
	assert_int_equal(lpae_map_pages(pgt, SZ_1G + 2 * SZ_2M, PA_BASE, SZ_2M,
					1, IOMMU_READ, &mapped),
			 -EEXIST);
	assert_int_equal(frames_used(pm), frames);
	assert_int_equal(rec.walks, walks);
	assert_int_equal(lpae_iova_to_phys(pgt, SZ_1G + 2 * SZ_2M + SZ_4K),
			 PA_BASE + 2 * SZ_4K);
	assert_int_equal(lpae_iova_to_phys(pgt, SZ_1G + SZ_2M), PA_BASE);

	/* 1G unmap over the L2 table (a block and two L3 tables below) */
	assert_int_equal(lpae_unmap_pages(pgt, SZ_1G, SZ_1G, 1, NULL), SZ_1G);
	assert_int_equal(rec.walks, walks + 1);
	assert_int_equal(lpae_iova_to_phys(pgt, SZ_1G + 3 * SZ_2M + SZ_4K), 0);
	assert_int_equal(lpae_iova_to_phys(pgt, SZ_1G + SZ_2M), 0);
	assert_int_equal(lpae_iova_to_phys(pgt, 0), PA_BASE);
	/* root, L1, L2 + L3 under 0 */
	assert_int_equal(frames_used(pm), 4);
	lpae_get_stats(pgt, &st);
	assert_int_equal(st.tables_alloc - st.tables_free, 3);
	assert_int_equal(st.unmaps, 1 + 1 + 1 + 2);

	/* a block-only 1G map over the kept empty L2 of 0 after its page */
	assert_int_equal(lpae_unmap_pages(pgt, 0, SZ_4K, 1, NULL), SZ_4K);
	assert_int_equal(
		lpae_map_pages(pgt, 0, 0, SZ_1G, 1, IOMMU_READ, &mapped), 0);
	assert_int_equal(frames_used(pm), 2);
	assert_int_equal(lpae_lookup(pgt, 0x1234, NULL, &lvl), 0);
	assert_int_equal(lvl, 1);
	lpae_free(pgt);
	assert_int_equal(frames_used(pm), 0);
	phys_destroy(pm);
}

/* lpae_free returns every frame: kept, split, cached and live tables. */
static void test_keep_free_returns_all(void **state)
{
	struct phys_mem *pm = test_phys_create();
	struct flush_rec rec = {0};
	struct phys_report r;
	struct lpae_pgtable *pgt;
	struct lpae_cfg cfg;
	unsigned long k;
	size_t mapped;
	int stage;

	for (stage = 1; stage <= 2; stage++) {
		pgt = mk(pm, stage, stage == 1 ? 48 : 42, 0, 0, &rec, &cfg);
		for (k = 0; k < 64; k++)
			assert_int_equal(lpae_map_pages(pgt,
							k * SZ_1G / 8 + SZ_4K,
							PA_BASE, SZ_4K, 3,
							IOMMU_READ, &mapped),
					 0);
		/* half the pages go, emptying half the tables */
		for (k = 0; k < 64; k += 2)
			assert_int_equal(lpae_unmap_pages(pgt,
							  k * SZ_1G / 8 + SZ_4K,
							  SZ_4K, 3, NULL),
					 3 * SZ_4K);
		/* a block split by a partial unmap, and a block replacing a
		 * kept table (into the cache) */
		assert_int_equal(lpae_map_pages(pgt, 9 * SZ_1G, PA_BASE, SZ_1G,
						1, IOMMU_READ, &mapped),
				 0);
		assert_int_equal(lpae_unmap_pages(pgt, 9 * SZ_1G + SZ_4K, SZ_4K,
						  1, NULL),
				 SZ_4K);
		assert_int_equal(lpae_map_pages(pgt, 0, PA_BASE, SZ_2M, 1,
						IOMMU_READ, &mapped),
				 0);
		assert_true(frames_used(pm) > 64);
		lpae_free(pgt);
		assert_int_equal(frames_used(pm), 0);
	}
	phys_report(pm, PHYS_OWNER_NONE, &r);
	assert_int_equal(r.allocated, 0);
	phys_destroy(pm);
}

static void test_threads_disjoint_keep(void **state)
{
	run_threads(1, 48, -1);
	run_threads(2, 40, 0);
}

/*
 * Golden descriptors: the expected words are spelled from the Arm ARM's bit
 * positions (AttrIndx [4:2], AP[1] 6, AP[2] 7, SH [9:8], AF 10, nG 11,
 * MemAttr [5:2], S2AP [7:6], XN 54, type [1:0], OA [47:12]), not from
 * lpae_format.h's table, so that a wrong field there shows up here.
 */
static void test_golden_descriptors(void **state)
{
	static const struct {
		int stage, prot;
		uint64_t want;
	} attrs[] = {
		/* AF | nG | SH inner | AP[1] | AttrIndx 1 */
		{1, IOMMU_READ | IOMMU_WRITE | IOMMU_CACHE,
		 (1ULL << 10) | (1ULL << 11) | (3ULL << 8) | (1ULL << 6) |
			 (1ULL << 2)},
		/* AF | nG | SH outer | AP[2] | AttrIndx 2 | XN */
		{1, IOMMU_READ | IOMMU_MMIO | IOMMU_NOEXEC | IOMMU_PRIV,
		 (1ULL << 10) | (1ULL << 11) | (2ULL << 8) | (1ULL << 7) |
			 (2ULL << 2) | (1ULL << 54)},
		/* AF | SH inner | S2AP 0b11 | MemAttr 0b1111 */
		{2, IOMMU_READ | IOMMU_WRITE | IOMMU_CACHE,
		 (1ULL << 10) | (3ULL << 8) | (3ULL << 6) | (0xfULL << 2)},
		/* AF | SH outer | S2AP 0b01 | MemAttr 0b0001 | XN */
		{2, IOMMU_READ | IOMMU_MMIO | IOMMU_NOEXEC,
		 (1ULL << 10) | (2ULL << 8) | (1ULL << 6) | (1ULL << 2) |
			 (1ULL << 54)},
		/* AF | SH outer | S2AP 0b01 | MemAttr 0b0101 */
		{2, IOMMU_READ | IOMMU_NORMAL_NC,
		 (1ULL << 10) | (2ULL << 8) | (1ULL << 6) | (5ULL << 2)},
	};
	struct phys_mem *pm = test_phys_create();
	struct lpae_pgtable *pgt;
	struct flush_rec rec = {0};
	struct lpae_cfg cfg;
	uint64_t attr, pte;
	size_t mapped;
	int level;

	for (unsigned int i = 0; i < ARRAY_SIZE_T(attrs); i++) {
		assert_int_equal(lpae_prot_to_attrs(attrs[i].stage,
						    attrs[i].prot, &attr),
				 0);
		assert_int_equal(attr, attrs[i].want);
	}
	/* decoders of spelled words: MemAttr 0b0000-0b0011 is Device,
	 * 0b0101 Normal-NC; a MAIR byte with high nibble 0 is Device */
	assert_int_equal(lpae_pte_memtype(3 | (0x2ULL << 2), 2, 0),
			 LPAE_MEM_DEVICE);
	assert_int_equal(lpae_pte_memtype(3 | (0x5ULL << 2), 2, 0),
			 LPAE_MEM_NORMAL_NC);
	assert_int_equal(lpae_pte_memtype(3 | (0xfULL << 2), 2, 0),
			 LPAE_MEM_NORMAL_WB);
	assert_int_equal(lpae_pte_memtype(3 | (1ULL << 2), 1, 0x0c00ULL),
			 LPAE_MEM_DEVICE);
	assert_int_equal(lpae_pte_memtype(3 | (1ULL << 2), 1, 0x4400ULL),
			 LPAE_MEM_NORMAL_NC);
	assert_int_equal(
		lpae_pte_prot(3 | (1ULL << 10) | (1ULL << 7) | (1ULL << 6), 1),
		IOMMU_READ);
	assert_int_equal(lpae_pte_prot(3 | (1ULL << 6) | (1ULL << 54), 2),
			 IOMMU_READ | IOMMU_NOEXEC);

	/* a stage-1 4 KiB page at level 3: OA | attributes | 0b11 */
	pgt = mk(pm, 1, 48, SZ_4K, 0, &rec, &cfg);
	assert_int_equal(
		lpae_map_pages(pgt, 0x40201000UL, 0x80003000ULL, SZ_4K, 1,
			       IOMMU_READ | IOMMU_WRITE | IOMMU_CACHE, &mapped),
		0);
	assert_int_equal(lpae_lookup(pgt, 0x40201000UL, &pte, &level), 0);
	assert_int_equal(level, 3);
	assert_int_equal(pte, 0x80003000ULL | attrs[0].want | 0x3);
	assert_int_equal(lpae_unmap_pages(pgt, 0x40201000UL, SZ_4K, 1, NULL),
			 SZ_4K);
	lpae_free(pgt);
	phys_destroy(pm);
}

/* ---- dirty state: LPAE_QUIRK_ARM_HD, lpae_read_and_clear_dirty ---------- */

#define DIRTY_IOVA 0x40000000UL /* 1 GiB aligned */
#define AP_RDONLY  (1ULL << 7)
#define DBM	   (1ULL << 51)

struct dirty_rec {
	unsigned int n;
	unsigned long iova[16];
	size_t size[16];
};

static void dirty_record(void *arg, unsigned long iova, size_t size)
{
	struct dirty_rec *r = arg;

	assert_true(r->n < 16);
	r->iova[r->n] = iova;
	r->size[r->n++] = size;
}

/* The leaf descriptor of iova (the SMMU's view: a walk of the frames). */
static uint64_t *leaf_ptr(struct phys_mem *pm, const struct lpae_cfg *cfg,
			  unsigned long iova)
{
	phys_addr_t table = cfg->ttbr;
	int lvl;

	for (lvl = cfg->start_level;; lvl++) {
		uint64_t *p =
			phys_to_virt(pm, table + lpae_pte_index(iova, lvl) * 8);

		if (lpae_pte_is_leaf(*p, lvl))
			return p;
		assert_true(lpae_pte_is_table(*p, lvl));
		table = *p & LPAE_PTE_ADDR_MASK;
	}
}

/* The SMMU's HTTU write: a writable-clean leaf becomes dirty. */
static void hw_write(struct phys_mem *pm, const struct lpae_cfg *cfg,
		     unsigned long iova)
{
	uint64_t *p = leaf_ptr(pm, cfg, iova);

	assert_true(*p & DBM);
	__atomic_fetch_and(p, ~AP_RDONLY, __ATOMIC_ACQ_REL);
}

/*
 * The matrix: leaves of one size mapped from DIRTY_IOVA, all cleaned,
 * then the device's writes (offsets), then one read of [off, off + len)
 * with flags: the leaves it must report, in order (a block for all of its
 * pages), and whether a second read of the range reports them again
 * (NO_CLEAR keeps them dirty) or nothing.
 */
static const struct dirty_case {
	const char *name;
	size_t pgsize;
	unsigned int count;
	unsigned long writes[4];
	unsigned int nwrites;
	unsigned long off, len;
	unsigned long flags;
	unsigned int nwant;
	unsigned long want[4]; /* offsets of reported leaves */
} dirty_cases[] = {
	{"pages: exactly the written ones",
	 SZ_4K,
	 8,
	 {SZ_4K, 5 * SZ_4K},
	 2,
	 0,
	 8 * SZ_4K,
	 0,
	 2,
	 {SZ_4K, 5 * SZ_4K}},
	{"pages: none written", SZ_4K, 8, {0}, 0, 0, 8 * SZ_4K, 0, 0, {0}},
	{"pages: a sub-range",
	 SZ_4K,
	 8,
	 {SZ_4K, 5 * SZ_4K},
	 2,
	 4 * SZ_4K,
	 4 * SZ_4K,
	 0,
	 1,
	 {5 * SZ_4K}},
	{"pages: NO_CLEAR keeps",
	 SZ_4K,
	 8,
	 {0, 7 * SZ_4K},
	 2,
	 0,
	 8 * SZ_4K,
	 LPAE_DIRTY_NO_CLEAR,
	 2,
	 {0, 7 * SZ_4K}},
	{"pages: two writes to one page",
	 SZ_4K,
	 4,
	 {2 * SZ_4K, 2 * SZ_4K},
	 2,
	 0,
	 4 * SZ_4K,
	 0,
	 1,
	 {2 * SZ_4K}},
	{"pages: across a table boundary",
	 SZ_4K,
	 1024,
	 {511 * SZ_4K, 512 * SZ_4K},
	 2,
	 0,
	 1024 * SZ_4K,
	 0,
	 2,
	 {511 * SZ_4K, 512 * SZ_4K}},
	{"2M blocks: one write dirties the block",
	 SZ_2M,
	 4,
	 {SZ_2M + 0x3000},
	 1,
	 0,
	 4 * SZ_2M,
	 0,
	 1,
	 {SZ_2M}},
	{"2M blocks: a read of part reports the whole block",
	 SZ_2M,
	 2,
	 {SZ_2M},
	 1,
	 SZ_2M + SZ_4K,
	 SZ_4K,
	 0,
	 1,
	 {SZ_2M}},
	{"2M blocks: NO_CLEAR keeps",
	 SZ_2M,
	 2,
	 {0},
	 1,
	 0,
	 2 * SZ_2M,
	 LPAE_DIRTY_NO_CLEAR,
	 1,
	 {0}},
	{"1G block", SZ_1G, 1, {0x12345000}, 1, 0, SZ_1G, 0, 1, {0}},
};

static void dirty_case_run(const struct dirty_case *c, unsigned int quirks)
{
	struct phys_mem *pm = test_phys_create();
	uint64_t base = frames_used(pm);
	struct flush_rec rec = {0};
	struct dirty_rec got = {0};
	struct lpae_pgtable *pgt;
	struct lpae_cfg cfg;
	size_t mapped;
	unsigned int i;

	mk_quirks = quirks | LPAE_QUIRK_ARM_HD;
	pgt = mk(pm, 1, 48, LPAE_PGSIZE_ALL, -1, &rec, &cfg);
	assert_int_equal(lpae_map_pages(pgt, DIRTY_IOVA, PA_BASE, c->pgsize,
					c->count, IOMMU_READ | IOMMU_WRITE,
					&mapped),
			 0);
	/* mapped writable-dirty, as the kernel maps with HD */
	for (i = 0; i < c->count; i++) {
		uint64_t pte = *leaf_ptr(pm, &cfg, DIRTY_IOVA + i * c->pgsize);

		assert_int_equal(pte & (DBM | AP_RDONLY), DBM);
	}
	/* a clearing read without a record: everything clean */
	assert_int_equal(lpae_read_and_clear_dirty(pgt, DIRTY_IOVA,
						   c->count * c->pgsize, 0,
						   NULL, NULL),
			 0);
	for (i = 0; i < c->count; i++)
		assert_true(*leaf_ptr(pm, &cfg, DIRTY_IOVA + i * c->pgsize) &
			    AP_RDONLY);
	for (i = 0; i < c->nwrites; i++)
		hw_write(pm, &cfg, DIRTY_IOVA + c->writes[i]);
	assert_int_equal(lpae_read_and_clear_dirty(pgt, DIRTY_IOVA + c->off,
						   c->len, c->flags,
						   dirty_record, &got),
			 0);
	assert_int_equal(got.n, c->nwant);
	for (i = 0; i < c->nwant; i++) {
		assert_int_equal(got.iova[i], DIRTY_IOVA + c->want[i]);
		assert_int_equal(got.size[i], c->pgsize);
	}
	/* again: NO_CLEAR left them dirty, a clearing read did not */
	memset(&got, 0, sizeof(got));
	assert_int_equal(lpae_read_and_clear_dirty(pgt, DIRTY_IOVA + c->off,
						   c->len, 0, dirty_record,
						   &got),
			 0);
	assert_int_equal(got.n, c->flags & LPAE_DIRTY_NO_CLEAR ? c->nwant : 0);
	/* the translation is untouched by all this */
	assert_int_equal(
		lpae_iova_to_phys(pgt, DIRTY_IOVA + c->count * c->pgsize - 1),
		PA_BASE + c->count * c->pgsize - 1);
	assert_int_equal(lpae_unmap_pages(pgt, DIRTY_IOVA, c->pgsize, c->count,
					  NULL),
			 c->count * c->pgsize);
	check_empty(pm, pgt, base);
	lpae_free(pgt);
	mk_quirks = 0;
	phys_destroy(pm);
}

/* The read_and_clear over pages and blocks, NO_CLEAR keeps; in
 * both table policies. */
static void test_dirty_matrix(void **state)
{
	static const unsigned int policies[] = {0, LPAE_QUIRK_KEEP_TABLES};

	(void)state;
	for (unsigned int p = 0; p < ARRAY_SIZE_T(policies); p++)
		for (unsigned int i = 0; i < ARRAY_SIZE_T(dirty_cases); i++) {
			print_message("  %s%s\n", dirty_cases[i].name,
				      policies[p] ? " (keep)" : "");
			dirty_case_run(&dirty_cases[i], policies[p]);
		}
}

/* HD's rules: stage 1 only; read-only leaves get no DBM and are never
 * dirty; the kernel's -EINVALs (size 0, beyond ias, stage 2, a hole);
 * without HD nothing is writable-dirty; DBM reads back as writable. */
static void test_dirty_rules(void **state)
{
	struct phys_mem *pm = test_phys_create();
	struct flush_rec rec = {0};
	struct dirty_rec got = {0};
	struct lpae_pgtable *pgt, *s2, *plain;
	struct lpae_cfg cfg, cfg2, cfgp;
	size_t mapped;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.stage = 2;
	cfg.ias = 40;
	cfg.oas = 48;
	cfg.quirks = LPAE_QUIRK_ARM_HD;
	assert_int_equal(lpae_alloc(pm, &cfg, &pgt), -EINVAL);

	mk_quirks = LPAE_QUIRK_ARM_HD;
	pgt = mk(pm, 1, 48, SZ_4K, 0, &rec, &cfg);
	mk_quirks = 0;
	s2 = mk(pm, 2, 40, SZ_4K, 0, &rec, &cfg2);
	plain = mk(pm, 1, 48, SZ_4K, 0, &rec, &cfgp);
	assert_int_equal(lpae_map_pages(pgt, DIRTY_IOVA, PA_BASE, SZ_4K, 1,
					IOMMU_READ, &mapped),
			 0);
	assert_int_equal(lpae_map_pages(pgt, DIRTY_IOVA + SZ_4K, PA_BASE, SZ_4K,
					1, IOMMU_READ | IOMMU_WRITE, &mapped),
			 0);
	assert_int_equal(*leaf_ptr(pm, &cfg, DIRTY_IOVA) & (DBM | AP_RDONLY),
			 AP_RDONLY);
	assert_int_equal(lpae_pte_prot(*leaf_ptr(pm, &cfg, DIRTY_IOVA), 1),
			 IOMMU_READ);
	assert_int_equal(lpae_read_and_clear_dirty(pgt, DIRTY_IOVA, 2 * SZ_4K,
						   0, dirty_record, &got),
			 0);
	assert_int_equal(got.n, 1); /* the writable one, mapped dirty */
	assert_int_equal(got.iova[0], DIRTY_IOVA + SZ_4K);
	/* writable-clean is still writable */
	assert_int_equal(lpae_pte_prot(*leaf_ptr(pm, &cfg, DIRTY_IOVA + SZ_4K),
				       1) &
				 IOMMU_WRITE,
			 IOMMU_WRITE);
	assert_int_equal(lpae_read_and_clear_dirty(pgt, DIRTY_IOVA, 0, 0, NULL,
						   NULL),
			 -EINVAL);
	assert_int_equal(lpae_read_and_clear_dirty(pgt, 1UL << 48, SZ_4K, 0,
						   NULL, NULL),
			 -EINVAL);
	assert_int_equal(lpae_read_and_clear_dirty(pgt, DIRTY_IOVA, 3 * SZ_4K,
						   0, NULL, NULL),
			 -EINVAL); /* the third page is a hole */
	assert_int_equal(lpae_map_pages(s2, 0, PA_BASE, SZ_4K, 1,
					IOMMU_READ | IOMMU_WRITE, &mapped),
			 0);
	assert_int_equal(lpae_read_and_clear_dirty(s2, 0, SZ_4K, 0, NULL, NULL),
			 -EINVAL);
	/* no HD: no DBM, and nothing reads as dirty */
	memset(&got, 0, sizeof(got));
	assert_int_equal(lpae_map_pages(plain, DIRTY_IOVA, PA_BASE, SZ_4K, 1,
					IOMMU_READ | IOMMU_WRITE, &mapped),
			 0);
	assert_false(*leaf_ptr(pm, &cfgp, DIRTY_IOVA) & DBM);
	assert_int_equal(lpae_read_and_clear_dirty(plain, DIRTY_IOVA, SZ_4K, 0,
						   dirty_record, &got),
			 0);
	assert_int_equal(got.n, 0);
	lpae_unmap_pages(pgt, DIRTY_IOVA, SZ_4K, 2, NULL);
	lpae_unmap_pages(s2, 0, SZ_4K, 1, NULL);
	lpae_unmap_pages(plain, DIRTY_IOVA, SZ_4K, 1, NULL);
	lpae_free(pgt);
	lpae_free(s2);
	lpae_free(plain);
	phys_destroy(pm);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_alloc_config),
	cmocka_unit_test(test_matrix),
	cmocka_unit_test(test_attr_bits),
	cmocka_unit_test(test_golden_descriptors),
	cmocka_unit_test(test_dirty_matrix),
	cmocka_unit_test(test_dirty_rules),
	cmocka_unit_test(test_flush_ops_and_gather),
	cmocka_unit_test(test_gather_helpers),
	cmocka_unit_test(test_table_cache),
	cmocka_unit_test(test_fail_sweep_map),
	cmocka_unit_test(test_fail_sweep_alloc),
	cmocka_unit_test(test_a10_split_fails),
	cmocka_unit_test(test_threads_disjoint_nocache),
	cmocka_unit_test(test_threads_disjoint_cache),
	cmocka_unit_test(test_fail_sweep_fresh),
	/* LPAE_QUIRK_KEEP_TABLES */
	cmocka_unit_test_setup_teardown(test_matrix, keep_setup, keep_teardown),
	cmocka_unit_test_setup_teardown(test_keep_empty_frees_nothing,
					keep_setup, keep_teardown),
	cmocka_unit_test_setup_teardown(test_keep_wholesale, keep_setup,
					keep_teardown),
	cmocka_unit_test_setup_teardown(test_keep_free_returns_all, keep_setup,
					keep_teardown),
	cmocka_unit_test_setup_teardown(test_fail_sweep_map, keep_setup,
					keep_teardown),
	cmocka_unit_test_setup_teardown(test_fail_sweep_fresh, keep_setup,
					keep_teardown),
	cmocka_unit_test_setup_teardown(test_threads_disjoint_keep, keep_setup,
					keep_teardown),
};

TEST_MAIN(tests)
