/* SPDX-License-Identifier: MIT */
/*
 * uiommu IOVA allocator (iova_): the kernel's drivers/iommu/iova.c model.
 *
 * An iova_domain hands out ranges of I/O virtual page frames (pfns, in units
 * of the domain's granule).  Allocated ranges live in a red-black tree keyed
 * by pfn_lo; allocation searches top-down below a limit pfn, starting from a
 * cached node so that a run of allocations does not rescan the tree.
 *
 * In front of the tree sit per-CPU range caches ("rcaches") for sizes of
 * 1 to 32 granules (orders 0..5, 128 KiB with a 4 KiB granule): each CPU has
 * a loaded and a previous magazine of 128 pfns per size, and each size has a
 * depot of full magazines shared by the CPUs.  alloc_iova_fast() and
 * free_iova_fast() go through them; alloc_iova()/free_iova() go to the tree.
 * The depot grows without bound and is trimmed by a deterministic policy
 * (docs/iova.md), so a full depot never turns frees into tree operations.
 *
 * Limits are inclusive, as in the kernel: limit_pfn is the highest pfn a
 * range may use.  pfn 0 is never handed out: it is alloc_iova_fast()'s
 * failure value.
 *
 * Locking: the tree and the fields marked [tree] are under iova_rbtree_lock.
 * Each per-CPU cache has its own (uncontended) lock; each depot has one.
 * Lock order: per-CPU cache -> depot -> tree.
 */
#ifndef UIOMMU_IOVA_H
#define UIOMMU_IOVA_H

#include <bsd/sys/tree.h>
#include <uiommu/base.h>

/* Only inside the tree (every user has src/ on its include path) until
 * the layer headers move to an internal directory. */
#include "lib/lock.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One allocated (or reserved) range [pfn_lo, pfn_hi], both inclusive. */
struct iova {
	RB_ENTRY(iova) node; /* [tree] in iova_domain.rbroot, by pfn_lo */
	unsigned long pfn_hi;
	unsigned long pfn_lo;
};

RB_HEAD(iova_root, iova);

/* Sizes of 1 << 0 .. 1 << (IOVA_RANGE_CACHE_MAX_SIZE - 1) granules are
 * cached per CPU. */
#define IOVA_RANGE_CACHE_MAX_SIZE 6
#define IOVA_MAG_SIZE		  128
/* The tree's sentinel: a one-pfn node at the very top of the space. */
#define IOVA_ANCHOR (~0UL)
/* Depot trimming (docs/iova.md): every IOVA_DEPOT_TRIM_INTERVAL depot
 * operations of one size, one magazine that sat untouched through the whole
 * interval is returned to the tree, as long as more than IOVA_DEPOT_KEEP
 * sat untouched. */
#define IOVA_DEPOT_KEEP		 16
#define IOVA_DEPOT_TRIM_INTERVAL 1024

struct iova_rcache;

struct iova_domain {
	struct mutex iova_rbtree_lock;
	struct iova_root rbroot;	/* [tree] */
	struct iova *cached_node;	/* [tree] search start, 64-bit limits */
	struct iova *cached32_node;	/* [tree] search start, 32-bit limits */
	unsigned long granule;		/* bytes, a power of two */
	unsigned long start_pfn;	/* lowest pfn handed out (>= 1) */
	unsigned long dma_32bit_pfn;	/* first pfn at or above 4 GiB */
	unsigned long max32_alloc_size; /* [tree] a size-aligned request this
					 * big or bigger below 4 GiB is known
					 * to fail */
	struct iova anchor;		/* [tree] */

	/* [tree] counters of the tree path */
	uint64_t tree_allocs;	 /* ranges handed to callers by the tree */
	uint64_t tree_frees;	 /* ranges callers gave back to the tree */
	uint64_t tree_inserts;	 /* nodes inserted (allocations, reserves) */
	uint64_t tree_removals;	 /* nodes removed (frees, cache flushes) */
	uint64_t alloc_nospc;	 /* tree searches that found no room */
	uint64_t alloc_nomem;	 /* node allocations that failed */
	uint64_t nr_nodes;	 /* nodes now in the tree, anchor excluded */
	uint64_t rcache_flushes; /* iova_domain_flush_rcaches() calls */

	/* set once by iova_domain_init_rcaches(), read without a lock */
	struct iova_rcache *rcaches;
	void *rcaches_mem;
};

/*
 * Counters of a domain, summed over CPUs.  Exact (each is updated under the
 * lock of the structure it counts); a snapshot taken while other threads
 * work is a consistent sum per lock, not across locks.
 *   allocs - frees               == ranges held by callers
 *   tree_inserts - tree_removals == nodes == held + cached + reserved
 */
struct iova_stats {
	uint64_t allocs;	 /* ranges handed to callers (tree + rcache) */
	uint64_t frees;		 /* ranges callers gave back (tree + rcache) */
	uint64_t alloc_nospc;	 /* tree searches that found no room */
	uint64_t alloc_nomem;	 /* node allocations that failed */
	uint64_t rcache_hits;	 /* alloc_iova_fast served by a magazine */
	uint64_t rcache_misses;	 /* cacheable alloc_iova_fast sent to tree */
	uint64_t rcache_frees;	 /* free_iova_fast kept in a magazine */
	uint64_t rcache_flushes; /* iova_domain_flush_rcaches() calls */
	uint64_t depot_pushes;	 /* full magazines moved into a depot */
	uint64_t depot_pops;	 /* full magazines taken from a depot */
	uint64_t depot_trims;	 /* full magazines the trim policy emptied */
	uint64_t tree_inserts;
	uint64_t tree_removals;
	uint64_t nodes;	     /* tree nodes now (anchor excluded) */
	uint64_t cached;     /* ranges now sitting in rcaches */
	uint64_t depot_mags; /* full magazines now in depots */
	uint64_t spare_mags; /* empty magazines now kept by depots */
};

static inline unsigned long iova_shift(const struct iova_domain *iovad)
{
	return __builtin_ctzl(iovad->granule);
}

static inline unsigned long iova_mask(const struct iova_domain *iovad)
{
	return iovad->granule - 1;
}

static inline size_t iova_offset(const struct iova_domain *iovad, uint64_t iova)
{
	return iova & iova_mask(iovad);
}

static inline size_t iova_align(const struct iova_domain *iovad, size_t size)
{
	return (size + iova_mask(iovad)) & ~iova_mask(iovad);
}

static inline uint64_t iova_dma_addr(const struct iova_domain *iovad,
				     const struct iova *iova)
{
	return (uint64_t)iova->pfn_lo << iova_shift(iovad);
}

static inline unsigned long iova_pfn(const struct iova_domain *iovad,
				     uint64_t iova)
{
	return iova >> iova_shift(iovad);
}

static inline unsigned long iova_size(const struct iova *iova)
{
	return iova->pfn_hi - iova->pfn_lo + 1;
}

/* Largest size (bytes, 4 KiB granule) that the rcaches keep: 128 KiB. */
unsigned long iova_rcache_range(void);

/*
 * Set up an empty domain: granule a power of two from 512 bytes to 1 MiB
 * (-EINVAL otherwise, iovad untouched); start_pfn 0 is taken as 1.  No
 * allocation: the domain works without rcaches (the fast calls then go to
 * the tree) until iova_domain_init_rcaches().
 */
int init_iova_domain(struct iova_domain *iovad, unsigned long granule,
		     unsigned long start_pfn);
/* Allocate the per-CPU caches: 0, -EEXIST if present, -ENOMEM (nothing
 * kept). */
int iova_domain_init_rcaches(struct iova_domain *iovad);
/* Free everything: nodes, magazines, caches.  The domain may be
 * re-initialised afterwards. */
void put_iova_domain(struct iova_domain *iovad);

/*
 * Tree allocation of size granules at or below limit_pfn, as high as fits
 * (top-down).  size_aligned: the range starts at a multiple of size rounded
 * up to a power of two.  Returns the node, or NULL when nothing fits (stats:
 * alloc_nospc) or the node could not be allocated (alloc_nomem).
 */
struct iova *alloc_iova(struct iova_domain *iovad, unsigned long size,
			unsigned long limit_pfn, bool size_aligned);
/* The node holding pfn, or NULL. */
struct iova *find_iova(struct iova_domain *iovad, unsigned long pfn);
/* Remove and free a node found by find_iova()/alloc_iova(). */
void __free_iova(struct iova_domain *iovad, struct iova *iova);
/* Free the range holding pfn (nothing if none). */
void free_iova(struct iova_domain *iovad, unsigned long pfn);
/*
 * Keep [pfn_lo, pfn_hi] out of allocation (an MSI window, a hole).  Caches
 * are flushed first so that no cached range inside the window is handed out
 * again; the free parts of the window become reserved nodes, ranges already
 * held by callers inside it stay theirs.  Returns the node holding pfn_lo,
 * or NULL on bad arguments or -ENOMEM (nothing reserved then).
 */
struct iova *reserve_iova(struct iova_domain *iovad, unsigned long pfn_lo,
			  unsigned long pfn_hi);

/*
 * Cached allocation, size-aligned.  Sizes up to 32 granules are rounded up
 * to a power of two (as iommu_dma_alloc_iova does) so that cached ranges of
 * one order are interchangeable; pass the same size to free_iova_fast().
 * Returns the first pfn, or 0 when nothing fits: with flush_rcache the
 * caches of every CPU are flushed back to the tree once and the tree is
 * searched again before giving up.
 */
unsigned long alloc_iova_fast(struct iova_domain *iovad, unsigned long size,
			      unsigned long limit_pfn, bool flush_rcache);
/* Give a range from alloc_iova_fast() back: into this CPU's magazine when
 * its size is cacheable, else (or when no magazine can take it) to the
 * tree. */
void free_iova_fast(struct iova_domain *iovad, unsigned long pfn,
		    unsigned long size);

/* Return the ranges cached by one CPU, or by all CPUs and depots, to the
 * tree. */
void free_cpu_cached_iovas(unsigned int cpu, struct iova_domain *iovad);
void iova_domain_flush_rcaches(struct iova_domain *iovad);
/* Return to the tree the depot magazines that stayed untouched since the
 * previous trim point, keeping IOVA_DEPOT_KEEP per size (docs/iova.md). */
void iova_domain_trim_rcaches(struct iova_domain *iovad);

void iova_domain_stats(struct iova_domain *iovad, struct iova_stats *st);

#ifdef __cplusplus
}
#endif
#endif /* UIOMMU_IOVA_H */
