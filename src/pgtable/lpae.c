// SPDX-License-Identifier: MIT
/*
 * LPAE io-pgtable: ARM VMSAv8-64 long-descriptor tables, stage 1 and stage
 * 2, 4 KiB granule, 4 KiB pages and 2 MiB / 1 GiB blocks.
 *
 * Data model:
 *  - Tables are 4 KiB physical frames of 512 descriptors (PHYS_OWNER_KERNEL),
 *    reached through the phys direct map; the root (pgd) is 2^pgd_order
 *    frames when stage 2 concatenates start-level tables.  The emulated SMMU
 *    walks the same frames.
 *  - Every table below the root has a count, kept in the IGNORED bits
 *    [11:2] of the table descriptor that points to it (lpae_format.h):
 *        count = live entries of the table + walkers holding it.
 *    A walker descends hand over hand: it takes a count on the next table
 *    (compare-and-swap on its descriptor) before dropping the one it held on
 *    the current table.  Whoever drops a count to zero swaps the descriptor
 *    to 0 in the same compare-and-swap, so a table is unhooked exactly when
 *    it is empty and nobody is inside; that thread flushes the walk caches
 *    (tlb_flush_walk, synchronous) and frees the frame, which drops a count
 *    on the parent in turn.  Root entries have no count; the root lives
 *    until lpae_free().
 *  - A new table is zeroed, or built fully (a split block), then published
 *    with a release compare-and-swap; readers load descriptors with acquire.
 *    Two threads installing a table in one slot: the loser frees its frame
 *    and uses the winner's ("free the loser").
 *  - Empty frames go to a small per-table cache (cache_lock) before phys, so
 *    a map/unmap cycle of a lone page does not reach phys each time.
 *
 * Keep mode (LPAE_QUIRK_KEEP_TABLES, pgt->keep; the kernel's io-pgtable-arm
 * policy): table descriptors carry no count (bits [11:2] stay 0) and
 * walkers take none; they descend with plain acquire loads.  The only
 * compare-and-swaps are the installs of a new table and of a split block
 * (the loser frees its frame).  A table is never freed for being empty; it
 * goes only (a) on lpae_free(), (b) when an unmap whose pgsize covers its
 * whole entry finds something mapped under it, (c) when a block map lands
 * on its entry and nothing is mapped under it.  In (b) and (c) the call owns
 * the entry's whole range, so by the concurrency rules no other walker can
 * be inside the subtree: it is swapped out, flushed with tlb_flush_walk and
 * freed.  A subtree that maps nothing is a hole for unmap (it stops there,
 * as at an invalid entry), so both modes return the same bytes.
 *
 * Concurrency rules (the kernel's io-pgtable rules): map and unmap of
 * disjoint IOVA ranges may run concurrently from any threads, lock free;
 * a leaf is only written by the call whose range covers it.  Calls on
 * overlapping ranges are a caller bug.  Two unmaps of disjoint parts of one
 * block may race to split it; both use the winner's table.  iova_to_phys and
 * lookup take no counts: they are exact for ranges no thread is unmapping.
 *
 * Partial unmap of a block: split, as kernels up to 5.x did (not refused as
 * the current kernel does): the block becomes a table of the next size with
 * the same attributes and the unmap goes on in it; a frame allocation
 * failure there makes the unmap return less than asked, and callers act on
 * the size returned.
 *
 * Invariants: a table descriptor's count >= live entries of its table; no
 * table below the root is empty (except transiently, while a walker holds
 * it); every frame taken is freed exactly once (stats tables_alloc ==
 * tables_free once nothing is mapped); a failed map changed nothing.  In
 * keep mode: counts are 0; frames in use == root + tables_alloc -
 * tables_free (no cache) at any quiet point; a failed map left no leaf,
 * only (possibly) empty tables.
 */
#include <string.h>

#include "pgtable/pgtable.h"

#include "lib/internal.h"
#include "pgtable/lpae_format.h"
#include "pgtable/lpae_internal.h"

#define CNT_ONE		LPAE_PTE_PREP(TABLE_CNT, 1)
#define LPAE_TABLE_SIZE (LPAE_PTES_PER_TABLE * sizeof(lpae_pte_t))

/* The per-CPU counters, each summed into the struct lpae_stats field of
 * its name. */
/* clang-format off */
#define LPAE_PCPU_STATS(X)	\
	X(tables_alloc)		\
	X(tables_free)		\
	X(cache_hits)		\
	X(install_races)	\
	X(maps)			\
	X(unmaps)		\
	X(splits)		\
	X(walk_flushes)		\
	X(map_calls)		\
	X(unmap_calls)
/* clang-format on */

/* Per-CPU counters: written only through relaxed atomics. */
struct lpae_pcpu_stats {
#define PCPU_STAT_FIELD(name) _Atomic uint64_t name;
	LPAE_PCPU_STATS(PCPU_STAT_FIELD)
#undef PCPU_STAT_FIELD
} __attribute__((aligned(64)));

/*
 * One page table.  cfg, pm, dmap, pgd*, start_level are set by lpae_alloc
 * and read-only after; descriptors are only touched with atomics (see the
 * top comment); cache_lock guards cache[] and cache_nr.
 */
struct lpae_pgtable {
	struct lpae_cfg cfg;
	struct phys_mem *pm;
	uintptr_t dmap; /* virtual address of physical address pa: dmap + pa */
	phys_addr_t pgd;
	unsigned int pgd_order;
	unsigned int pgd_ptes;
	int start_level;
	size_t granule;
	bool keep; /* LPAE_QUIRK_KEEP_TABLES: no counts, tables stay */
	bool hd;   /* LPAE_QUIRK_ARM_HD: writable leaves get DBM */

	struct mutex cache_lock;
	unsigned int cache_max, cache_nr;
	phys_addr_t *cache;

	struct lpae_pcpu_stats stats[UIOMMU_NR_CPUS];
};

#define stat_add(pgt, field, n)                                         \
	atomic_fetch_add_explicit(&(pgt)->stats[uiommu_cpu_id()].field, \
				  (uint64_t)(n), memory_order_relaxed)

static inline lpae_pte_t *pte_va(const struct lpae_pgtable *pgt, phys_addr_t pa)
{
	return (lpae_pte_t *)(pgt->dmap + pa);
}

static inline lpae_pte_t pte_load(lpae_pte_t *ptep)
{
	return __atomic_load_n(ptep, __ATOMIC_ACQUIRE);
}

static inline void pte_store(lpae_pte_t *ptep, lpae_pte_t pte)
{
	__atomic_store_n(ptep, pte, __ATOMIC_RELEASE);
}

/* On failure *old receives the current value. */
static inline bool pte_cas(lpae_pte_t *ptep, lpae_pte_t *old, lpae_pte_t new)
{
	return __atomic_compare_exchange_n(ptep, old, new, false,
					   __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

static inline unsigned int pte_cnt(lpae_pte_t pte)
{
	return (unsigned int)LPAE_PTE_GET(TABLE_CNT, pte);
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static inline size_t level_size(int lvl)
{
	return 1UL << lpae_level_shift(lvl);
}

static inline unsigned int level_ptes(const struct lpae_pgtable *pgt, int lvl)
{
	return lvl == pgt->start_level ? pgt->pgd_ptes : LPAE_PTES_PER_TABLE;
}

static inline unsigned int level_index(const struct lpae_pgtable *pgt,
				       unsigned long iova, int lvl)
{
	return (unsigned int)(iova >> lpae_level_shift(lvl)) &
	       (level_ptes(pgt, lvl) - 1);
}

/* The level whose leaves are pgsize (a single bit of the bitmap). */
static inline int pgsize_level(size_t pgsize)
{
	unsigned int shift = (unsigned int)__builtin_ctzl(pgsize);

	return LPAE_MAX_LEVELS - 1 -
	       (int)((shift - LPAE_GRANULE_SHIFT) / LPAE_BITS_PER_LEVEL);
}

/* ---- table frames ------------------------------------------------------- */

static int table_alloc(struct lpae_pgtable *pgt, phys_addr_t *pa)
{
	int ret;

	if (pgt->cache_max) {
		mutex_lock(&pgt->cache_lock);
		if (pgt->cache_nr) {
			*pa = pgt->cache[--pgt->cache_nr];
			mutex_unlock(&pgt->cache_lock);
			stat_add(pgt, cache_hits, 1);
			stat_add(pgt, tables_alloc, 1);
			return 0;
		}
		mutex_unlock(&pgt->cache_lock);
	}
	ret = phys_alloc_pages(pgt->pm, 0, PHYS_ALLOC_ZERO, PHYS_OWNER_KERNEL,
			       pa);
	if (ret)
		return ret;
	stat_add(pgt, tables_alloc, 1);
	return 0;
}

/* Release a table frame nobody can reach any more; it must read as zero. */
static void table_release(struct lpae_pgtable *pgt, phys_addr_t pa)
{
	stat_add(pgt, tables_free, 1);
	if (pgt->cache_max) {
		mutex_lock(&pgt->cache_lock);
		if (pgt->cache_nr < pgt->cache_max) {
			pgt->cache[pgt->cache_nr++] = pa;
			mutex_unlock(&pgt->cache_lock);
			return;
		}
		mutex_unlock(&pgt->cache_lock);
	}
	phys_free_pages(pgt->pm, pa, 0);
}

static void flush_walk(struct lpae_pgtable *pgt, unsigned long iova,
		       size_t size)
{
	const struct lpae_flush_ops *tlb = pgt->cfg.tlb;

	stat_add(pgt, walk_flushes, 1);
	if (tlb && tlb->tlb_flush_walk)
		tlb->tlb_flush_walk(iova, size, pgt->granule, pgt->cfg.cookie);
}

/*
 * Free an unhooked, flushed subtree whose table (level lvl) is at pa:
 * every table below it too, counting the leaves that go with it.
 */
static void free_subtree(struct lpae_pgtable *pgt, phys_addr_t pa, int lvl)
{
	lpae_pte_t *tbl = pte_va(pgt, pa);
	uint64_t leaves = 0;
	unsigned int i;

	for (i = 0; i < LPAE_PTES_PER_TABLE; i++) {
		lpae_pte_t pte = pte_load(&tbl[i]);

		if (!(pte & LPAE_PTE_VALID))
			continue;
		if (lpae_pte_is_table(pte, lvl))
			free_subtree(pgt, pte & LPAE_PTE_ADDR_MASK, lvl + 1);
		else
			leaves++;
		pte_store(&tbl[i], 0);
	}
	if (leaves)
		stat_add(pgt, unmaps, leaves);
	table_release(pgt, pa);
}

/*
 * Does the table at pa (level lvl) or any table below it hold a leaf?
 * Only for a subtree whose range the caller owns (nobody else writes it).
 */
static bool subtree_has_leaf(const struct lpae_pgtable *pgt, phys_addr_t pa,
			     int lvl)
{
	lpae_pte_t *tbl = pte_va(pgt, pa);
	unsigned int i;

	for (i = 0; i < LPAE_PTES_PER_TABLE; i++) {
		lpae_pte_t pte = pte_load(&tbl[i]);

		if (!(pte & LPAE_PTE_VALID))
			continue;
		if (!lpae_pte_is_table(pte, lvl) ||
		    subtree_has_leaf(pgt, pte & LPAE_PTE_ADDR_MASK, lvl + 1))
			return true;
	}
	return false;
}

/*
 * Keep mode: swap the table entry *ptep (level lvl, covering iova and
 * level_size(lvl) bytes) to 0, flush the walk caches over its range and
 * free the subtree.  The caller owns that whole range.
 */
static void subtree_remove(struct lpae_pgtable *pgt, lpae_pte_t *ptep,
			   unsigned long iova, int lvl)
{
	lpae_pte_t old = __atomic_exchange_n(ptep, 0, __ATOMIC_ACQ_REL);

	flush_walk(pgt, iova, level_size(lvl));
	free_subtree(pgt, old & LPAE_PTE_ADDR_MASK, lvl + 1);
}

/* ---- counts on table descriptors ----------------------------------------- */

/*
 * Take one count on the table that *ptep (last read as *pte) points to.
 * False when *ptep is not, or no longer, a table; *pte then holds its value.
 */
static bool table_tryget(lpae_pte_t *ptep, lpae_pte_t *pte, int lvl)
{
	for (;;) {
		if (!lpae_pte_is_table(*pte, lvl))
			return false;
		if (unlikely(pte_cnt(*pte) >= LPAE_PTE_TABLE_CNT_MAX)) {
			cpu_relax();
			*pte = pte_load(ptep);
			continue;
		}
		if (pte_cas(ptep, pte, *pte + CNT_ONE)) {
			*pte += CNT_ONE;
			return true;
		}
	}
}

/* Add n counts to a table the caller holds a count on (it cannot go). */
static void table_get_n(lpae_pte_t *ptep, unsigned int n)
{
	lpae_pte_t pte = pte_load(ptep);

	for (;;) {
		if (unlikely(pte_cnt(pte) + n > LPAE_PTE_TABLE_CNT_MAX)) {
			cpu_relax();
			pte = pte_load(ptep);
			continue;
		}
		if (pte_cas(ptep, &pte, pte + n * CNT_ONE))
			return;
	}
}

/*
 * Drop n counts from the table descriptor path[lvl] (which points to a level
 * lvl + 1 table).  Reaching zero unhooks the table in the same atomic step;
 * it is then flushed and freed, and its entry's count is dropped from
 * path[lvl - 1], and so on up to the root.
 */
static void table_put(struct lpae_pgtable *pgt, lpae_pte_t **path, int lvl,
		      unsigned int n, unsigned long iova)
{
	for (; lvl >= pgt->start_level; lvl--, n = 1) {
		lpae_pte_t *ptep = path[lvl];
		lpae_pte_t old = pte_load(ptep), new;

		do {
			if (WARN_ON(!lpae_pte_is_table(old, lvl) ||
				    pte_cnt(old) < n))
				return;
			new = pte_cnt(old) == n ? 0 : old - n *CNT_ONE;
		} while (!pte_cas(ptep, &old, new));
		if (new)
			return;
		flush_walk(pgt, ALIGN_DOWN(iova, level_size(lvl)),
			   level_size(lvl));
		table_release(pgt, old & LPAE_PTE_ADDR_MASK);
	}
}

/*
 * Publish a new empty table at *ptep (expected *pte), holding one count (no
 * count in keep mode).
 */
static int table_install(struct lpae_pgtable *pgt, lpae_pte_t *ptep,
			 lpae_pte_t *pte)
{
	lpae_pte_t new;
	phys_addr_t pa;
	int ret;

	ret = table_alloc(pgt, &pa);
	if (ret)
		return ret;
	new = pa | LPAE_PTE_TYPE_TABLE | (pgt->keep ? 0 : CNT_ONE);
	if (!pte_cas(ptep, pte, new)) {
		stat_add(pgt, install_races, 1);
		table_release(pgt, pa);
		return -EAGAIN;
	}
	*pte = new;
	return 0;
}

/*
 * Replace the block *ptep (expected *pte, level lvl) by a table of the next
 * level with the same translation and attributes, holding one count (its
 * 512 entries' counts and the walker's; none in keep mode).
 */
static int block_split(struct lpae_pgtable *pgt, lpae_pte_t *ptep,
		       lpae_pte_t *pte, int lvl)
{
	size_t sub = level_size(lvl + 1);
	lpae_pte_t attrs, type, new, *tbl;
	phys_addr_t pa, out;
	unsigned int i;
	int ret;

	ret = table_alloc(pgt, &pa);
	if (ret)
		return ret;
	tbl = pte_va(pgt, pa);
	attrs = *pte & ~(LPAE_PTE_ADDR_MASK | LPAE_PTE_TYPE_MASK);
	type = lvl + 1 == LPAE_MAX_LEVELS - 1 ? LPAE_PTE_TYPE_PAGE
					      : LPAE_PTE_TYPE_BLOCK;
	out = *pte & LPAE_PTE_ADDR_MASK & ~(lpae_pte_t)(level_size(lvl) - 1);
	for (i = 0; i < LPAE_PTES_PER_TABLE; i++)
		pte_store(&tbl[i], attrs | type | (out + i * sub));

	new = pa | LPAE_PTE_TYPE_TABLE;
	if (!pgt->keep)
		new |= (LPAE_PTES_PER_TABLE + 1) * CNT_ONE;
	if (!pte_cas(ptep, pte, new)) {
		stat_add(pgt, install_races, 1);
		memset(tbl, 0, LPAE_TABLE_SIZE);
		table_release(pgt, pa);
		return -EAGAIN;
	}
	*pte = new;
	stat_add(pgt, splits, 1);
	return 0;
}

/* ---- the walk --------------------------------------------------------------- */

enum walk_mode {
	WALK_MAP,   /* install missing tables; a block on the way: -EEXIST */
	WALK_UNMAP, /* a hole on the way: -ENOENT; a block: split it */
};

/* The entry for iova in the root table. */
static inline lpae_pte_t *walk_root(const struct lpae_pgtable *pgt,
				    unsigned long iova)
{
	return pte_va(pgt, pgt->pgd) + level_index(pgt, iova, pgt->start_level);
}

/* The entry for iova in the level lvl + 1 table that table entry pte
 * points to. */
static inline lpae_pte_t *walk_next(const struct lpae_pgtable *pgt,
				    lpae_pte_t pte, unsigned long iova, int lvl)
{
	return pte_va(pgt, pte & LPAE_PTE_ADDR_MASK) +
	       level_index(pgt, iova, lvl + 1);
}

/*
 * The walk meets an entry of level lvl that is not a table: a map installs
 * a table in a hole and stops at a block (-EEXIST); an unmap splits a
 * block and stops at a hole (-ENOENT).  -EAGAIN: lost a race, *pte holds
 * the winner's entry.
 */
static int walk_fill(struct lpae_pgtable *pgt, lpae_pte_t *ptep,
		     lpae_pte_t *pte, int lvl, enum walk_mode mode)
{
	if (!(*pte & LPAE_PTE_VALID))
		return mode == WALK_UNMAP ? -ENOENT
					  : table_install(pgt, ptep, pte);
	return mode == WALK_MAP ? -EEXIST : block_split(pgt, ptep, pte, lvl);
}

/*
 * Walk from the root to the level-target entry of iova.  On success *leafp
 * points to it and the caller holds one count on its table (in
 * path[target - 1]) unless target is the start level.  On failure nothing
 * is held and whatever the walk installed is gone again.
 */
static int lpae_walk_get(struct lpae_pgtable *pgt, unsigned long iova,
			 int target, enum walk_mode mode, lpae_pte_t **path,
			 lpae_pte_t **leafp)
{
	int lvl = pgt->start_level;
	lpae_pte_t *ptep = walk_root(pgt, iova);
	lpae_pte_t pte;
	bool split;
	int ret;

	for (; lvl < target; lvl++) {
		pte = pte_load(ptep);
again:
		if (table_tryget(ptep, &pte, lvl)) {
			/* our table's own entry now pins the one above */
			if (lvl > pgt->start_level)
				table_put(pgt, path, lvl - 1, 1, iova);
		} else {
			split = pte & LPAE_PTE_VALID;
			ret = walk_fill(pgt, ptep, &pte, lvl, mode);
			if (ret == -EAGAIN)
				goto again;
			if (ret)
				goto err_put;
			/* a new table takes over the count held above; a
			 * split block's count became the table's */
			if (split && lvl > pgt->start_level)
				table_put(pgt, path, lvl - 1, 1, iova);
		}
		path[lvl] = ptep;
		ptep = walk_next(pgt, pte, iova, lvl);
	}
	*leafp = ptep;
	return 0;

err_put:
	if (lvl > pgt->start_level)
		table_put(pgt, path, lvl - 1, 1, iova);
	return ret;
}

/*
 * Keep mode: the same walk without counts.  Tables below the root only go
 * with a call that owns their whole range, so a plain acquire load of each
 * descriptor is enough to descend; nothing is held afterwards.
 */
static int lpae_walk_keep(struct lpae_pgtable *pgt, unsigned long iova,
			  int target, enum walk_mode mode, lpae_pte_t **leafp)
{
	int lvl = pgt->start_level;
	lpae_pte_t *ptep = walk_root(pgt, iova);
	lpae_pte_t pte;
	int ret;

	for (; lvl < target; lvl++) {
		pte = pte_load(ptep);
		while (!lpae_pte_is_table(pte, lvl)) {
			ret = walk_fill(pgt, ptep, &pte, lvl, mode);
			if (ret && ret != -EAGAIN)
				return ret;
		}
		ptep = walk_next(pgt, pte, iova, lvl);
	}
	*leafp = ptep;
	return 0;
}

static inline int walk(struct lpae_pgtable *pgt, unsigned long iova, int target,
		       enum walk_mode mode, lpae_pte_t **path,
		       lpae_pte_t **leafp)
{
	if (pgt->keep)
		return lpae_walk_keep(pgt, iova, target, mode, leafp);
	return lpae_walk_get(pgt, iova, target, mode, path, leafp);
}

/* ---- map and unmap ---------------------------------------------------------- */

/* Validate a range of pgcount pages of pgsize at iova; its size in *size. */
static int check_range(const struct lpae_pgtable *pgt, unsigned long iova,
		       size_t pgsize, size_t pgcount, size_t *size)
{
	unsigned long last;

	if (!pgsize || (pgsize & (pgsize - 1)) ||
	    !(pgsize & pgt->cfg.pgsize_bitmap) || !pgcount)
		return -EINVAL;
	if (!IS_ALIGNED(iova, pgsize) ||
	    check_mul_overflow(pgsize, pgcount, size) ||
	    check_add_overflow(iova, *size - 1, &last))
		return -EINVAL;
	if (last >> pgt->cfg.ias)
		return -ERANGE;
	return 0;
}

static size_t __lpae_unmap(struct lpae_pgtable *pgt, unsigned long iova,
			   size_t pgsize, size_t pgcount,
			   struct iommu_iotlb_gather *gather)
{
	const struct lpae_flush_ops *tlb = pgt->cfg.tlb;
	int target = pgsize_level(pgsize);
	lpae_pte_t *path[LPAE_MAX_LEVELS], *ptep;
	size_t done = 0;

	while (done < pgcount) {
		unsigned long cur = iova + done * pgsize;
		unsigned int i, n;
		uint64_t leaves = 0;

		if (walk(pgt, cur, target, WALK_UNMAP, path, &ptep))
			break;
		n = level_ptes(pgt, target) - level_index(pgt, cur, target);
		if (n > pgcount - done)
			n = (unsigned int)(pgcount - done);
		for (i = 0; i < n; i++) {
			unsigned long a = cur + i * pgsize;
			lpae_pte_t pte = pte_load(&ptep[i]);

			if (!(pte & LPAE_PTE_VALID))
				break;
			if (lpae_pte_is_table(pte, target) && pgt->keep) {
				/* a kept subtree: a hole if it maps nothing */
				if (!subtree_has_leaf(pgt,
						      pte & LPAE_PTE_ADDR_MASK,
						      target + 1))
					break;
				subtree_remove(pgt, &ptep[i], a, target);
				continue;
			}
			if (lpae_pte_is_table(pte, target)) {
				/* a whole subtree where pgsize wants a leaf */
				pte = __atomic_exchange_n(&ptep[i], 0,
							  __ATOMIC_ACQ_REL);
				flush_walk(pgt, a, pgsize);
				free_subtree(pgt, pte & LPAE_PTE_ADDR_MASK,
					     target + 1);
				continue;
			}
			pte_store(&ptep[i], 0);
			leaves++;
			if (gather && tlb && tlb->tlb_add_page)
				tlb->tlb_add_page(gather, a, pgsize,
						  pgt->cfg.cookie);
		}
		if (leaves)
			stat_add(pgt, unmaps, leaves);
		/* the cleared entries' counts and our own */
		if (!pgt->keep && target > pgt->start_level)
			table_put(pgt, path, target - 1, i + 1, cur);
		done += i;
		if (i < n)
			break;
	}
	return done * pgsize;
}

int lpae_map_pages(struct lpae_pgtable *pgt, unsigned long iova,
		   phys_addr_t paddr, size_t pgsize, size_t pgcount, int prot,
		   size_t *mapped)
{
	lpae_pte_t *path[LPAE_MAX_LEVELS], *ptep, attrs, type;
	size_t size, done = 0;
	phys_addr_t last;
	int target, ret;

	*mapped = 0;
	ret = check_range(pgt, iova, pgsize, pgcount, &size);
	if (ret)
		return ret;
	if (!IS_ALIGNED(paddr, pgsize) ||
	    check_add_overflow(paddr, size - 1, &last))
		return -EINVAL;
	if (last >> pgt->cfg.oas)
		return -ERANGE;
	/* no access is -EINVAL, as 6.12's io-pgtable-arm has it (its older
	 * "nothing to do" with nothing mapped made the core's map loop,
	 * which advances by what was mapped, spin) */
	if (!(prot & (IOMMU_READ | IOMMU_WRITE)))
		return -EINVAL;
	ret = lpae_prot_to_attrs(pgt->cfg.stage, prot, &attrs);
	if (ret)
		return ret;
	/* HD: a writable leaf is writable-dirty (DBM, AP[2] clear) */
	if (pgt->hd && !(attrs & LPAE_PTE_AP_RDONLY))
		attrs |= LPAE_PTE_DBM;

	stat_add(pgt, map_calls, 1);
	target = pgsize_level(pgsize);
	type = target == LPAE_MAX_LEVELS - 1 ? LPAE_PTE_TYPE_PAGE
					     : LPAE_PTE_TYPE_BLOCK;
	while (done < pgcount) {
		unsigned long cur = iova + done * pgsize;
		phys_addr_t pa = paddr + done * pgsize;
		bool replace = false;
		unsigned int i, n;

		ret = walk(pgt, cur, target, WALK_MAP, path, &ptep);
		if (ret)
			goto err_unwind;
		n = level_ptes(pgt, target) - level_index(pgt, cur, target);
		if (n > pgcount - done)
			n = (unsigned int)(pgcount - done);
		for (i = 0; i < n; i++) {
			lpae_pte_t pte = pte_load(&ptep[i]);

			if (!(pte & LPAE_PTE_VALID))
				continue;
			/* keep mode: a block may go over a kept empty table */
			if (pgt->keep && lpae_pte_is_table(pte, target) &&
			    !subtree_has_leaf(pgt, pte & LPAE_PTE_ADDR_MASK,
					      target + 1)) {
				replace = true;
				continue;
			}
			ret = -EEXIST;
			if (!pgt->keep && target > pgt->start_level)
				table_put(pgt, path, target - 1, 1, cur);
			goto err_unwind;
		}
		/* counts first: the entries must never outnumber them */
		if (!pgt->keep && target > pgt->start_level && n > 1)
			table_get_n(path[target - 1], n - 1);
		for (i = 0; i < n; i++) {
			if (unlikely(replace) &&
			    lpae_pte_is_table(pte_load(&ptep[i]), target))
				subtree_remove(pgt, &ptep[i], cur + i * pgsize,
					       target);
			pte_store(&ptep[i], attrs | type | (pa + i * pgsize));
		}
		stat_add(pgt, maps, n);
		done += n;
	}
	*mapped = size;
	return 0;

err_unwind:
	/* a failed call changes nothing: take back what this one mapped */
	if (done) {
		__lpae_unmap(pgt, iova, pgsize, done, NULL);
		flush_walk(pgt, iova, done * pgsize);
	}
	return ret;
}

size_t lpae_unmap_pages(struct lpae_pgtable *pgt, unsigned long iova,
			size_t pgsize, size_t pgcount,
			struct iommu_iotlb_gather *gather)
{
	size_t size;

	if (check_range(pgt, iova, pgsize, pgcount, &size))
		return 0;
	stat_add(pgt, unmap_calls, 1);
	return __lpae_unmap(pgt, iova, pgsize, pgcount, gather);
}

/* ---- software walk ------------------------------------------------------------ */

int lpae_lookup(struct lpae_pgtable *pgt, unsigned long iova, uint64_t *ptep,
		int *level)
{
	lpae_pte_t *tbl = pte_va(pgt, pgt->pgd);
	int lvl = pgt->start_level;

	if (iova >> pgt->cfg.ias)
		return -ENOENT;
	for (;;) {
		lpae_pte_t pte = pte_load(&tbl[level_index(pgt, iova, lvl)]);

		if (lpae_pte_is_leaf(pte, lvl)) {
			if (ptep)
				*ptep = pte;
			if (level)
				*level = lvl;
			return 0;
		}
		if (!lpae_pte_is_table(pte, lvl))
			return -ENOENT;
		tbl = pte_va(pgt, pte & LPAE_PTE_ADDR_MASK);
		lvl++;
	}
}

phys_addr_t lpae_iova_to_phys(struct lpae_pgtable *pgt, unsigned long iova)
{
	lpae_pte_t pte;
	size_t size;
	int lvl;

	if (lpae_lookup(pgt, iova, &pte, &lvl))
		return 0;
	size = level_size(lvl);
	return (pte & LPAE_PTE_ADDR_MASK & ~(lpae_pte_t)(size - 1)) |
	       (iova & (size - 1));
}

/* ---- dirty state (LPAE_QUIRK_ARM_HD) ------------------------------------------ */

struct dirty_walk {
	unsigned long addr, end; /* the next address, the end of the range */
	unsigned long flags;
	lpae_dirty_record_t record;
	void *arg;
};

static bool pte_writable_dirty(lpae_pte_t pte)
{
	return (pte & (LPAE_PTE_DBM | LPAE_PTE_AP_RDONLY)) == LPAE_PTE_DBM;
}

/* The entries of the level-lvl table tbl from d->addr on, to d->end. */
static int dirty_walk_table(struct lpae_pgtable *pgt, struct dirty_walk *d,
			    lpae_pte_t *tbl, int lvl)
{
	unsigned int idx = level_index(pgt, d->addr, lvl);
	size_t size = level_size(lvl);

	for (; idx < level_ptes(pgt, lvl) && d->addr < d->end; idx++) {
		lpae_pte_t *ptep = &tbl[idx];
		lpae_pte_t pte = pte_load(ptep);
		unsigned long start = d->addr & ~(unsigned long)(size - 1);
		int ret;

		if (lpae_pte_is_leaf(pte, lvl)) {
			if (pte_writable_dirty(pte)) {
				if (d->record)
					d->record(d->arg, start, size);
				if (!(d->flags & LPAE_DIRTY_NO_CLEAR))
					__atomic_fetch_or(ptep,
							  LPAE_PTE_AP_RDONLY,
							  __ATOMIC_ACQ_REL);
			}
			d->addr = start + size;
			continue;
		}
		if (!lpae_pte_is_table(pte, lvl))
			return -EINVAL; /* a hole */
		ret = dirty_walk_table(
			pgt, d, pte_va(pgt, pte & LPAE_PTE_ADDR_MASK), lvl + 1);
		if (ret)
			return ret;
	}
	return 0;
}

int lpae_read_and_clear_dirty(struct lpae_pgtable *pgt, unsigned long iova,
			      size_t size, unsigned long flags,
			      lpae_dirty_record_t record, void *arg)
{
	struct dirty_walk d = {
		.addr = iova,
		.end = iova + size,
		.flags = flags,
		.record = record,
		.arg = arg,
	};

	if (!size)
		return -EINVAL;
	if ((iova + size - 1) >> pgt->cfg.ias || iova + size - 1 < iova)
		return -EINVAL;
	if (pgt->cfg.stage != 1)
		return -EINVAL;
	return dirty_walk_table(pgt, &d, pte_va(pgt, pgt->pgd),
				pgt->start_level);
}

/* ---- setup ----------------------------------------------------------------------- */

/* The table with its per-CPU counters, cache-line aligned; injectable. */
static struct lpae_pgtable *pgtable_zalloc(void)
{
	size_t size = ALIGN_UP(sizeof(struct lpae_pgtable), 64);
	struct lpae_pgtable *pgt;

	if (unlikely(uiommu_should_fail(UIOMMU_FAIL_ALLOC)))
		return NULL;
	pgt = aligned_alloc(64, size);
	if (pgt)
		memset(pgt, 0, size);
	return pgt;
}

int lpae_alloc(struct phys_mem *pm, struct lpae_cfg *cfg,
	       struct lpae_pgtable **out)
{
	unsigned long bitmap = cfg->pgsize_bitmap;
	struct lpae_pgtable *pgt;
	unsigned int pgd_ptes;
	int ret;

	if ((cfg->stage != 1 && cfg->stage != 2) || cfg->ias < LPAE_MIN_IAS ||
	    cfg->ias > LPAE_MAX_IAS || cfg->oas < LPAE_MIN_IAS ||
	    cfg->oas > LPAE_MAX_OAS)
		return -EINVAL;
	bitmap = (bitmap ? bitmap : LPAE_PGSIZE_ALL) & LPAE_PGSIZE_ALL;
	if (!(bitmap & LPAE_PGSIZE_4K) || (cfg->quirks & ~LPAE_QUIRKS_ALL))
		return -EINVAL;
	if ((cfg->quirks & LPAE_QUIRK_ARM_HD) && cfg->stage != 1)
		return -EINVAL;

	pgt = pgtable_zalloc();
	if (!pgt)
		return -ENOMEM;
	pgt->pm = pm;
	pgt->granule = LPAE_PGSIZE_4K;
	pgt->keep = cfg->quirks & LPAE_QUIRK_KEEP_TABLES;
	pgt->hd = cfg->quirks & LPAE_QUIRK_ARM_HD;
	pgt->start_level =
		lpae_start_level(cfg->ias, cfg->stage == 2, &pgd_ptes);
	pgt->pgd_ptes = pgd_ptes;
	pgt->pgd_order = pgd_ptes > LPAE_PTES_PER_TABLE
				 ? (unsigned int)__builtin_ctz(
					   pgd_ptes / LPAE_PTES_PER_TABLE)
				 : 0;
	pgt->cache_max = cfg->table_cache == 0 ? LPAE_TABLE_CACHE_DEFAULT
			 : cfg->table_cache < 0
				 ? 0
				 : (unsigned int)cfg->table_cache;
	if (pgt->cache_max) {
		pgt->cache = ui_calloc(pgt->cache_max, sizeof(*pgt->cache));
		if (!pgt->cache) {
			ret = -ENOMEM;
			goto err_free;
		}
	}
	ret = phys_alloc_pages(pm, pgt->pgd_order, PHYS_ALLOC_ZERO,
			       PHYS_OWNER_KERNEL, &pgt->pgd);
	if (ret)
		goto err_cache;
	mutex_init(&pgt->cache_lock, PGTABLE_LOCK_CACHE);
	pgt->dmap = (uintptr_t)phys_to_virt(pm, phys_base(pm)) - phys_base(pm);

	cfg->pgsize_bitmap = bitmap;
	cfg->ttbr = pgt->pgd;
	cfg->start_level = pgt->start_level;
	cfg->pgd_ptes = pgd_ptes;
	cfg->concat = pgd_ptes > LPAE_PTES_PER_TABLE
			      ? pgd_ptes / LPAE_PTES_PER_TABLE
			      : 1;
	cfg->tsz = 64 - cfg->ias;
	cfg->mair = cfg->stage == 1 ? LPAE_MAIR_DEFAULT : 0;
	pgt->cfg = *cfg;
	*out = pgt;
	return 0;

err_cache:
	ui_free(pgt->cache);
err_free:
	free(pgt);
	return ret;
}

void lpae_free(struct lpae_pgtable *pgt)
{
	lpae_pte_t *pgd;
	unsigned int i;

	if (!pgt)
		return;
	pgt->cache_max = 0; /* everything goes back to phys from here */
	pgd = pte_va(pgt, pgt->pgd);
	for (i = 0; i < pgt->pgd_ptes; i++) {
		lpae_pte_t pte = pte_load(&pgd[i]);

		if (lpae_pte_is_table(pte, pgt->start_level))
			free_subtree(pgt, pte & LPAE_PTE_ADDR_MASK,
				     pgt->start_level + 1);
		pte_store(&pgd[i], 0);
	}
	for (i = 0; i < pgt->cache_nr; i++)
		phys_free_pages(pgt->pm, pgt->cache[i], 0);
	phys_free_pages(pgt->pm, pgt->pgd, pgt->pgd_order);
	mutex_destroy(&pgt->cache_lock);
	ui_free(pgt->cache);
	free(pgt);
}

const struct lpae_cfg *lpae_get_cfg(const struct lpae_pgtable *pgt)
{
	return &pgt->cfg;
}

void lpae_get_stats(const struct lpae_pgtable *pgt, struct lpae_stats *st)
{
	unsigned int c;

	memset(st, 0, sizeof(*st));
	for (c = 0; c < UIOMMU_NR_CPUS; c++) {
		const struct lpae_pcpu_stats *s = &pgt->stats[c];

#define PCPU_STAT_SUM(name) \
	st->name += atomic_load_explicit(&s->name, memory_order_relaxed);
		LPAE_PCPU_STATS(PCPU_STAT_SUM)
#undef PCPU_STAT_SUM
	}
}
