/* SPDX-License-Identifier: MIT */
/*
 * uiommu page tables: the ARM VMSAv8-64 long-descriptor (LPAE) formats,
 * stage 1 and stage 2, 4 KiB granule, input sizes of 32 to 48 bits, 4 KiB
 * pages and 2 MiB / 1 GiB blocks, in the shape of the kernel's io-pgtable
 * (map_pages, unmap_pages, iova_to_phys, TLB maintenance through flush ops
 * handed in by the caller).
 *
 * The tables live in physical frames (PHYS_OWNER_KERNEL) so that the
 * emulated SMMU walks exactly what was written.  The descriptor layout is in
 * src/pgtable/lpae_format.h; descriptors and memory types are plain integers
 * here (lpae_pte_t is a uint64_t, memory types are enum lpae_memtype values).
 *
 * Concurrency: map and unmap of disjoint IOVA ranges may run from any number
 * of threads at once, without locks (see docs/pgtable.md).  Overlapping calls
 * are a caller bug, as in the kernel.  lpae_free() needs every call done.
 */
#ifndef UIOMMU_PGTABLE_H
#define UIOMMU_PGTABLE_H

#include <limits.h>
#include "mem/mem.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- protection flags (the kernel's values) ---------------------------- */

#define IOMMU_READ   (1 << 0)
#define IOMMU_WRITE  (1 << 1)
#define IOMMU_CACHE  (1 << 2) /* Normal write-back (coherent) */
#define IOMMU_NOEXEC (1 << 3)
#define IOMMU_MMIO   (1 << 4) /* Device-nGnRE */
#define IOMMU_PRIV   (1 << 5) /* stage 1: privileged only (AP[1] clear) */
/*
 * uiommu: ask for Normal non-cacheable explicitly (what KVM's
 * KVM_PGTABLE_PROT_NORMAL_NC asks of stage 2).  Without CACHE or MMIO the
 * memory type is Normal-NC anyway; with either of them the request is
 * contradictory and map fails with -EINVAL.
 */
#define IOMMU_NORMAL_NC (1 << 6)

/* ---- TLB maintenance: the gather ---------------------------------------- */

/*
 * Unmapped ranges waiting for one invalidation: [start, end] (end
 * inclusive, as in the kernel) of leaves of size pgsize.  Owned by the
 * caller of unmap; not shared between threads.
 */
struct iommu_iotlb_gather {
	unsigned long start;
	unsigned long end;
	size_t pgsize;
	bool queued; /* lazy mode: a flush queue will invalidate */
};

static inline void iommu_iotlb_gather_init(struct iommu_iotlb_gather *g)
{
	g->start = ULONG_MAX;
	g->end = 0;
	g->pgsize = 0;
	g->queued = false;
}

static inline bool iommu_iotlb_gather_empty(const struct iommu_iotlb_gather *g)
{
	return g->start > g->end;
}

/* Would adding [iova, iova + size) leave a hole in the gathered range? */
static inline bool
iommu_iotlb_gather_is_disjoint(const struct iommu_iotlb_gather *g,
			       unsigned long iova, size_t size)
{
	unsigned long last = iova + size - 1;

	return !iommu_iotlb_gather_empty(g) &&
	       (last + 1 < g->start || iova > g->end + 1);
}

static inline void iommu_iotlb_gather_add_range(struct iommu_iotlb_gather *g,
						unsigned long iova, size_t size)
{
	unsigned long last = iova + size - 1;

	if (g->start > iova)
		g->start = iova;
	if (g->end < last)
		g->end = last;
}

/*
 * Add one unmapped leaf.  When its size differs from what the gather holds,
 * or it would leave a hole, the gathered range is handed to sync() first
 * (which must invalidate it; it may be NULL) and the gather restarts, as the
 * kernel's iommu_iotlb_gather_add_page() calls iommu_iotlb_sync().
 */
static inline void iommu_iotlb_gather_add_page(
	struct iommu_iotlb_gather *g, unsigned long iova, size_t size,
	void (*sync)(struct iommu_iotlb_gather *g, void *arg), void *arg)
{
	if ((g->pgsize && g->pgsize != size) ||
	    iommu_iotlb_gather_is_disjoint(g, iova, size)) {
		if (sync)
			sync(g, arg);
		iommu_iotlb_gather_init(g);
	}
	g->pgsize = size;
	iommu_iotlb_gather_add_range(g, iova, size);
}

/*
 * What the page tables need from the IOMMU driver above them (the kernel's
 * iommu_flush_ops).  Every member may be NULL.
 *  - tlb_flush_all: invalidate everything of this table (not used by this
 *    layer itself; kept for the driver's convenience).
 *  - tlb_flush_walk: invalidate leaf and walk-cache entries of a range and
 *    wait for completion; called synchronously before a table frame that
 *    was unhooked is freed or reused, so no walker can still use it.
 *  - tlb_add_page: one leaf of size granule at iova was cleared; add it to
 *    the caller's gather (the driver syncs the gather later).
 */
struct lpae_flush_ops {
	void (*tlb_flush_all)(void *cookie);
	void (*tlb_flush_walk)(unsigned long iova, size_t size, size_t granule,
			       void *cookie);
	void (*tlb_add_page)(struct iommu_iotlb_gather *gather,
			     unsigned long iova, size_t granule, void *cookie);
};

/* ---- configuration ------------------------------------------------------ */

#define LPAE_PGSIZE_4K	(1UL << 12)
#define LPAE_PGSIZE_2M	(1UL << 21)
#define LPAE_PGSIZE_1G	(1UL << 30)
#define LPAE_PGSIZE_ALL (LPAE_PGSIZE_4K | LPAE_PGSIZE_2M | LPAE_PGSIZE_1G)

#define LPAE_TABLE_CACHE_DEFAULT 16

/*
 * lpae_cfg.quirks: table policies (the kernel's io_pgtable_cfg.quirks idea;
 * unknown bits are -EINVAL).
 *
 * LPAE_QUIRK_KEEP_TABLES: keep table frames, as the kernel's io-pgtable-arm
 * always does.  A table whose last leaf is unmapped stays hooked (and is
 * reused by later maps) until lpae_free(), or until a call that owns its
 * whole range removes it: an unmap whose pgsize covers the table's entry
 * and finds something mapped under it (the subtree is unhooked, flushed
 * with tlb_flush_walk and freed; an empty subtree there is a hole), or a
 * block map over an entry whose subtree maps nothing (same, then the block
 * is written).  Walkers then take no counts: map and unmap do no
 * compare-and-swap on upper descriptors except to install a table or split
 * a block, and never call tlb_flush_walk for an emptied table.  A failed
 * map still leaves no translation behind, but tables it installed stay.
 * Without the quirk (the default) empty tables are freed at once (see
 * docs/pgtable.md).
 */
#define LPAE_QUIRK_KEEP_TABLES (1u << 0)
/*
 * LPAE_QUIRK_ARM_HD (stage 1 only, else -EINVAL; the kernel's
 * IO_PGTABLE_QUIRK_ARM_HD): the SMMU updates dirty state (CD.HD).  Every
 * writable leaf gets DBM: it is mapped writable-dirty (DBM, AP[2] clear),
 * as the kernel maps it; lpae_read_and_clear_dirty() reports the dirty
 * leaves and makes them writable-clean (DBM, AP[2] read-only), and the
 * SMMU's next write through one clears AP[2] again.
 */
#define LPAE_QUIRK_ARM_HD (1u << 1)
#define LPAE_QUIRKS_ALL	  (LPAE_QUIRK_KEEP_TABLES | LPAE_QUIRK_ARM_HD)

/*
 * In: stage, ias, oas, pgsize_bitmap (0 for all three sizes), coherent_walk,
 * tlb + cookie, table_cache, quirks.  Out (filled by lpae_alloc): the supported
 * pgsize_bitmap, the root table (ttbr: TTBR0 for stage 1, the VTTBR base for
 * stage 2), the start level and the number of concatenated start-level
 * tables (lpae_start_level()), T0SZ and, for stage 1, the MAIR.
 */
struct lpae_cfg {
	int stage;	  /* 1 or 2 */
	unsigned int ias; /* input address bits, 32..48 */
	unsigned int oas; /* output address bits, 32..48 */
	unsigned long pgsize_bitmap;
	bool coherent_walk; /* the walker snoops CPU caches (recorded) */
	const struct lpae_flush_ops *tlb;
	void *cookie;
	/* empty table frames kept for reuse instead of going back to phys:
	 * 0 picks LPAE_TABLE_CACHE_DEFAULT, negative keeps none */
	int table_cache;
	unsigned int quirks; /* LPAE_QUIRK_* */

	/* out */
	phys_addr_t ttbr;
	int start_level;
	unsigned int concat;   /* start-level tables concatenated (1..16) */
	unsigned int pgd_ptes; /* descriptors in the start table(s) */
	unsigned int tsz;      /* T0SZ = 64 - ias */
	uint64_t mair;	       /* stage 1: LPAE_MAIR_DEFAULT; stage 2: 0 */
};

/* Counters, exact (summed over per-CPU slots by lpae_get_stats). */
struct lpae_stats {
	uint64_t tables_alloc;	/* table frames taken into use (not root) */
	uint64_t tables_free;	/* table frames taken out of use */
	uint64_t cache_hits;	/* of tables_alloc, reused from the cache */
	uint64_t install_races; /* table installs lost to another thread */
	uint64_t maps;		/* leaf descriptors written by map */
	uint64_t unmaps;	/* leaf descriptors cleared by unmap */
	uint64_t splits;	/* blocks split by a partial unmap */
	uint64_t walk_flushes;	/* tlb_flush_walk calls */
	uint64_t map_calls, unmap_calls;
};

struct lpae_pgtable;

/* -EINVAL for a bad configuration, -ENOMEM (heap or frames). */
int lpae_alloc(struct phys_mem *pm, struct lpae_cfg *cfg,
	       struct lpae_pgtable **out);
/* Free every table frame (leaves' memory is not ours).  No flush. */
void lpae_free(struct lpae_pgtable *pgt);
const struct lpae_cfg *lpae_get_cfg(const struct lpae_pgtable *pgt);

/*
 * Map pgcount pages of pgsize (one size of the bitmap) from iova to paddr.
 * Returns 0 with *mapped = pgsize * pgcount, or a negative errno with
 * *mapped = 0 and nothing changed:
 *  -EINVAL  pgsize not one size of the bitmap, pgcount 0, iova or paddr not
 *           aligned to pgsize, size or end overflows, contradictory prot
 *  -ERANGE  the range goes beyond ias, or the output beyond oas
 *  -EEXIST  some entry of the range is already mapped (a leaf, or a table
 *           where a block goes; with LPAE_QUIRK_KEEP_TABLES a table that
 *           maps nothing is replaced instead)
 *  -ENOMEM  no frame for a table
 * A prot with neither IOMMU_READ nor IOMMU_WRITE maps nothing and returns
 * 0 with *mapped = 0, as the kernel does.
 */
int lpae_map_pages(struct lpae_pgtable *pgt, unsigned long iova,
		   phys_addr_t paddr, size_t pgsize, size_t pgcount, int prot,
		   size_t *mapped);
/*
 * Unmap pgcount pages of pgsize from iova; returns the bytes unmapped,
 * which may differ from the request (callers must act on the size
 * returned): it stops at the first hole, and
 * returns 0 for bad arguments or when a block must be split and no frame is
 * free.  A block larger than pgsize is split (stats.splits); an entry that
 * is a table where pgsize expects a leaf is removed whole with everything
 * under it.  Cleared leaves go to tlb_add_page(gather) (gather may be NULL);
 * table frames that become empty are unhooked, flushed with tlb_flush_walk
 * and freed (with LPAE_QUIRK_KEEP_TABLES they stay; a table entry whose
 * subtree maps nothing is then a hole).
 */
size_t lpae_unmap_pages(struct lpae_pgtable *pgt, unsigned long iova,
			size_t pgsize, size_t pgcount,
			struct iommu_iotlb_gather *gather);
/* Software walk (read-only): the output address of iova, 0 if unmapped. */
phys_addr_t lpae_iova_to_phys(struct lpae_pgtable *pgt, unsigned long iova);
/* The raw leaf descriptor translating iova and its level; -ENOENT. */
int lpae_lookup(struct lpae_pgtable *pgt, unsigned long iova, uint64_t *pte,
		int *level);

/*
 * Dirty state of a stage-1 table (the kernel's read_and_clear_dirty of
 * io-pgtable-arm): every leaf of [iova, iova + size) that is writable-dirty
 * (DBM set, AP[2] clear) is reported to record(arg, leaf iova, leaf size) (a
 * block for all of its pages, its whole range even where [iova, iova +
 * size) covers part of it) and, unless flags has LPAE_DIRTY_NO_CLEAR, made
 * writable-clean again by an atomic set of AP[2] (the SMMU may be updating
 * the same word).  The caller must invalidate the IOTLB for what was
 * cleaned before it relies on the next write dirtying it.  -EINVAL: size 0,
 * beyond ias, a stage-2 table, or a hole in the range (the kernel's
 * checks).  No counts are taken: the range must not be unmapped meanwhile.
 */
#define LPAE_DIRTY_NO_CLEAR (1ul << 0) /* the kernel's IOMMU_DIRTY_NO_CLEAR */
typedef void (*lpae_dirty_record_t)(void *arg, unsigned long iova, size_t size);
int lpae_read_and_clear_dirty(struct lpae_pgtable *pgt, unsigned long iova,
			      size_t size, unsigned long flags,
			      lpae_dirty_record_t record, void *arg);

/* Decoders of a leaf descriptor: its IOMMU_* prot, its memory type (an enum
 * lpae_memtype value; stage 1 reads the attribute byte from mair). */
int lpae_pte_prot(uint64_t pte, int stage);
int lpae_pte_memtype(uint64_t pte, int stage, uint64_t mair);
/* The leaf attribute bits (no address, no type) map uses for prot. */
int lpae_prot_to_attrs(int stage, int prot, uint64_t *attrs);

void lpae_get_stats(const struct lpae_pgtable *pgt, struct lpae_stats *st);

#ifdef __cplusplus
}
#endif
#endif /* UIOMMU_PGTABLE_H */
