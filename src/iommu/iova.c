// SPDX-License-Identifier: MIT
/*
 * The IOVA allocator: a red-black tree of allocated ranges with a top-down
 * search, and per-CPU range caches (magazines and depots) in front of it.
 *
 * Data model.
 *  - iovad->rbroot holds one struct iova per allocated or reserved range,
 *    keyed by pfn_lo; ranges never overlap.  The anchor, a one-pfn node at
 *    IOVA_ANCHOR, is always the highest node, so every search has a node
 *    above the gap it looks at and RB_NEXT() of any other node exists.
 *  - cached_node / cached32_node are nodes of the tree where the last
 *    allocation of the 64-bit / 32-bit limit class landed.  A search first
 *    scans the gaps below the cached node, downwards; if that fails, it scans
 *    the gaps between the cached node and the limit.  The two passes cover
 *    every gap under the limit, so the caches only steer, never hide space.
 *  - max32_alloc_size: a size-aligned request of this size or more is known
 *    not to fit below 4 GiB (dma_32bit_pfn); reset by any free below 4 GiB.
 *  - rcaches[order] (order 0..5) keep free ranges of exactly 1 << order
 *    granules, each still a node of the tree, so that alloc/free pairs of
 *    small sizes do not touch the tree.  Per CPU: a 'loaded' and a 'prev'
 *    magazine of IOVA_MAG_SIZE pfns.  Per order: a depot (list of full
 *    magazines, newest first) and a list of spare empty magazines.
 *
 * Invariants.
 *  - Every pfn in a magazine is the pfn_lo of a tree node of size
 *    1 << order, aligned to its size, not held by any caller.
 *  - Each CPU always owns two magazines per order; magazines in a depot are
 *    full, spares are empty.
 *  - Counters are exact: each is changed under the lock of what it counts.
 *
 * The depot does not fill up.  Older kernels kept at most 32 magazines per
 * depot and, once it was full, emptied a whole magazine into the tree on
 * every overflowing free: a workload whose working set exceeded the depot
 * paid the tree on every operation (the throughput cliff).  Here a full
 * per-CPU pair is always pushed (the empty replacement comes from the spare
 * list; only its growth allocates), and the depot is trimmed by a
 * deterministic low-water policy: every IOVA_DEPOT_TRIM_INTERVAL depot
 * operations of one order, if more than IOVA_DEPOT_KEEP magazines stayed in
 * the depot through the whole interval (its low-water mark), the oldest one
 * is emptied into the tree.  At most one trim per interval costs at most
 * 128 tree frees per 131072 cached operations; idle depots are trimmed by
 * iova_domain_trim_rcaches(), and exhaustion flushes everything.
 *
 * Locking: see "iommu/iova.h".  Order (iommu/iommu_internal.h):
 * cpu_rcache->lock -> rcache->lock -> iova_rbtree_lock; the functions that
 * need one assert it.  The per-CPU lock is only contended by a flush from
 * another thread or by threads sharing a CPU id.
 */
#include <string.h>

#include "iommu/iova.h"

#include "iommu/iommu_internal.h"
#include "lib/internal.h"

#define IOVA_CACHELINE 64
/* Sizes above this (granules) are refused: alignment would overflow. */
#define IOVA_MAX_SIZE (1UL << 62)

static int iova_cmp(const struct iova *a, const struct iova *b)
{
	return (a->pfn_lo > b->pfn_lo) - (a->pfn_lo < b->pfn_lo);
}

RB_GENERATE_INTERNAL(iova_root, iova, node, iova_cmp,
		     __attribute__((unused)) static)

struct iova_magazine {
	struct iova_magazine *next; /* in a depot or spare list */
	struct iova_magazine *prev;
	unsigned long size;
	unsigned long pfns[IOVA_MAG_SIZE];
};

/* A list of magazines: pushed and popped at the head, trimmed at the tail
 * (the oldest).  'low' is the smallest count since the last trim point: the
 * 'low' oldest magazines were untouched since then. */
struct iova_mag_list {
	struct iova_magazine *head;
	struct iova_magazine *tail;
	unsigned long count;
	unsigned long low;
};

struct iova_cpu_rcache {
	spinlock_t lock;
	struct iova_magazine *loaded; /* [lock] */
	struct iova_magazine *prev;   /* [lock] */
	uint64_t hits;		      /* [lock] */
	uint64_t misses;	      /* [lock] */
	uint64_t frees;		      /* [lock] */
} __attribute__((aligned(IOVA_CACHELINE)));

struct iova_rcache {
	struct mutex lock;
	struct iova_mag_list depot;  /* [lock] full magazines */
	struct iova_mag_list spares; /* [lock] empty magazines */
	unsigned long ops;	     /* [lock] depot ops since the trim point */
	uint64_t pushes;	     /* [lock] */
	uint64_t pops;		     /* [lock] */
	uint64_t trims;		     /* [lock] */
	struct iova_cpu_rcache cpu_rcaches[UIOMMU_NR_CPUS];
};

static unsigned int order_base_2(unsigned long n)
{
	return n <= 1 ? 0 : 64 - __builtin_clzl(n - 1);
}

unsigned long iova_rcache_range(void)
{
	return 4096UL << (IOVA_RANGE_CACHE_MAX_SIZE - 1);
}

/* ---------------------------------------------------------------------- */
/* The tree                                                               */

int init_iova_domain(struct iova_domain *iovad, unsigned long granule,
		     unsigned long start_pfn)
{
	unsigned long shift;

	if (!granule || (granule & (granule - 1)) || granule < 512 ||
	    granule > (1UL << 20))
		return -EINVAL;
	if (!start_pfn)
		start_pfn = 1;
	if (start_pfn >= IOVA_ANCHOR)
		return -EINVAL;

	memset(iovad, 0, sizeof(*iovad));
	mutex_init(&iovad->iova_rbtree_lock, IOMMU_LOCK_IOVA_TREE);
	RB_INIT(&iovad->rbroot);
	shift = __builtin_ctzl(granule);
	iovad->granule = granule;
	iovad->start_pfn = start_pfn;
	iovad->dma_32bit_pfn = 1UL << (32 - shift);
	iovad->max32_alloc_size = iovad->dma_32bit_pfn;
	iovad->anchor.pfn_lo = iovad->anchor.pfn_hi = IOVA_ANCHOR;
	RB_INSERT(iova_root, &iovad->rbroot, &iovad->anchor);
	iovad->cached_node = &iovad->anchor;
	iovad->cached32_node = &iovad->anchor;
	return 0;
}

/* The node holding pfn, or NULL (iommu_internal.h). */
struct iova *private_find_iova(struct iova_domain *iovad, unsigned long pfn)
{
	struct iova *n = RB_ROOT(&iovad->rbroot);

	lockdep_assert_held(&iovad->iova_rbtree_lock);
	while (n) {
		if (pfn < n->pfn_lo)
			n = RB_LEFT(n, node);
		else if (pfn > n->pfn_hi)
			n = RB_RIGHT(n, node);
		else
			return n;
	}
	return NULL;
}

/*
 * Move the cached nodes off a node about to be removed; a free above a
 * cached node moves it up past the hole, so the next search finds the hole
 * first (the kernel's heuristic: reuse high addresses, keep the tree
 * compact).
 */
static void iova_cached_delete_update(struct iova_domain *iovad,
				      struct iova *free)
{
	struct iova *next = RB_NEXT(iova_root, &iovad->rbroot, free);

	lockdep_assert_held(&iovad->iova_rbtree_lock);
	if (free->pfn_lo < iovad->dma_32bit_pfn) {
		if (free->pfn_lo >= iovad->cached32_node->pfn_lo)
			iovad->cached32_node = next;
		iovad->max32_alloc_size = iovad->dma_32bit_pfn;
	} else if (free == iovad->cached32_node) {
		iovad->cached32_node = next;
	}
	if (free->pfn_lo >= iovad->cached_node->pfn_lo)
		iovad->cached_node = next;
}

static void remove_iova(struct iova_domain *iovad, struct iova *iova)
{
	lockdep_assert_held(&iovad->iova_rbtree_lock);
	iova_cached_delete_update(iovad, iova);
	RB_REMOVE(iova_root, &iovad->rbroot, iova);
	iovad->tree_removals++;
	iovad->nr_nodes--;
}

static void insert_iova(struct iova_domain *iovad, struct iova *iova)
{
	lockdep_assert_held(&iovad->iova_rbtree_lock);
	RB_INSERT(iova_root, &iovad->rbroot, iova);
	iovad->tree_inserts++;
	iovad->nr_nodes++;
}

/*
 * Scan the gaps below 'hi', downwards, for size granules under 'limit'
 * (exclusive) and at or above 'floor'; place the range as high as fits with
 * its start aligned by align_mask.
 */
static bool iova_search_down(struct iova_domain *iovad, struct iova *hi,
			     unsigned long size, unsigned long limit,
			     unsigned long align_mask, unsigned long floor,
			     unsigned long *pfn)
{
	lockdep_assert_held(&iovad->iova_rbtree_lock);
	for (;;) {
		unsigned long top = min(hi->pfn_lo, limit);
		unsigned long bottom, new_pfn;
		struct iova *lo;

		/* every lower gap ends at or below top */
		if (top < floor || top - floor < size)
			return false;
		lo = RB_PREV(iova_root, &iovad->rbroot, hi);
		bottom = lo ? max(lo->pfn_hi + 1, floor) : floor;
		if (top > bottom && top - bottom >= size) {
			new_pfn = (top - size) & align_mask;
			if (new_pfn >= bottom) {
				*pfn = new_pfn;
				return true;
			}
		}
		if (!lo)
			return false;
		hi = lo;
	}
}

/* Find room for size granules below limit (exclusive). */
static int iova_find_space(struct iova_domain *iovad, unsigned long size,
			   unsigned long limit, unsigned long align_mask,
			   unsigned long *pfn)
{
	struct iova *cached = limit <= iovad->dma_32bit_pfn
				      ? iovad->cached32_node
				      : iovad->cached_node;
	unsigned long floor = iovad->start_pfn;
	struct iova key = {.pfn_lo = limit};
	struct iova *top;

	lockdep_assert_held(&iovad->iova_rbtree_lock);
	if (cached->pfn_lo < limit) {
		/* pass 1: below the cached node */
		if (iova_search_down(iovad, cached, size, limit, align_mask,
				     floor, pfn))
			return 0;
		/* pass 2: between the cached node and the limit */
		if (cached->pfn_hi >= limit - 1)
			return -ENOSPC;
		floor = max(floor, cached->pfn_hi + 1);
	}
	top = RB_NFIND(iova_root, &iovad->rbroot, &key);
	if (iova_search_down(iovad, top, size, limit, align_mask, floor, pfn))
		return 0;
	return -ENOSPC;
}

static struct iova *__alloc_and_insert_iova_range(struct iova_domain *iovad,
						  unsigned long size,
						  unsigned long limit_pfn,
						  bool size_aligned)
{
	unsigned long limit, pfn, align_mask = ~0UL;
	struct iova *new;

	if (!size || size > IOVA_MAX_SIZE)
		return NULL;
	if (size_aligned)
		align_mask <<= order_base_2(size);
	limit = min(limit_pfn, IOVA_ANCHOR - 1) + 1;

	new = ui_malloc(sizeof(*new));
	mutex_lock(&iovad->iova_rbtree_lock);
	if (!new) {
		iovad->alloc_nomem++;
		goto out_unlock;
	}
	if (size_aligned && limit <= iovad->dma_32bit_pfn &&
	    size >= iovad->max32_alloc_size)
		goto out_nospc;
	if (iova_find_space(iovad, size, limit, align_mask, &pfn)) {
		if (limit == iovad->dma_32bit_pfn &&
		    size < iovad->max32_alloc_size)
			iovad->max32_alloc_size = size;
		goto out_nospc;
	}
	new->pfn_lo = pfn;
	new->pfn_hi = pfn + size - 1;
	insert_iova(iovad, new);
	if (limit <= iovad->dma_32bit_pfn)
		iovad->cached32_node = new;
	else
		iovad->cached_node = new;
	iovad->tree_allocs++;
	mutex_unlock(&iovad->iova_rbtree_lock);
	return new;

out_nospc:
	iovad->alloc_nospc++;
	ui_free(new);
out_unlock:
	mutex_unlock(&iovad->iova_rbtree_lock);
	return NULL;
}

struct iova *alloc_iova(struct iova_domain *iovad, unsigned long size,
			unsigned long limit_pfn, bool size_aligned)
{
	return __alloc_and_insert_iova_range(iovad, size, limit_pfn,
					     size_aligned);
}

struct iova *find_iova(struct iova_domain *iovad, unsigned long pfn)
{
	struct iova *iova;

	mutex_lock(&iovad->iova_rbtree_lock);
	iova = private_find_iova(iovad, pfn);
	mutex_unlock(&iovad->iova_rbtree_lock);
	return iova;
}

void __free_iova(struct iova_domain *iovad, struct iova *iova)
{
	if (WARN_ON(!iova || iova == &iovad->anchor))
		return;
	mutex_lock(&iovad->iova_rbtree_lock);
	remove_iova(iovad, iova);
	iovad->tree_frees++;
	mutex_unlock(&iovad->iova_rbtree_lock);
	ui_free(iova);
}

void free_iova(struct iova_domain *iovad, unsigned long pfn)
{
	struct iova *iova;

	mutex_lock(&iovad->iova_rbtree_lock);
	iova = private_find_iova(iovad, pfn);
	if (!iova || iova == &iovad->anchor) {
		mutex_unlock(&iovad->iova_rbtree_lock);
		return;
	}
	remove_iova(iovad, iova);
	iovad->tree_frees++;
	mutex_unlock(&iovad->iova_rbtree_lock);
	ui_free(iova);
}

/*
 * Walk the free gaps of [lo, hi]; with nodes, fill them with those nodes.
 * Returns the number of gaps.
 */
static unsigned long iova_reserve_gaps(struct iova_domain *iovad,
				       unsigned long lo, unsigned long hi,
				       struct iova **nodes)
{
	struct iova key = {.pfn_lo = lo};
	struct iova *it, *prev;
	unsigned long cursor = lo, n = 0;

	lockdep_assert_held(&iovad->iova_rbtree_lock);
	it = RB_NFIND(iova_root, &iovad->rbroot, &key);
	prev = RB_PREV(iova_root, &iovad->rbroot, it);
	if (prev && prev->pfn_hi >= lo) {
		if (prev->pfn_hi >= hi)
			return 0;
		cursor = prev->pfn_hi + 1;
	}
	for (;;) {
		if (it->pfn_lo > cursor) {
			if (nodes) {
				nodes[n]->pfn_lo = cursor;
				nodes[n]->pfn_hi = min(it->pfn_lo - 1, hi);
				insert_iova(iovad, nodes[n]);
			}
			n++;
		}
		if (it->pfn_hi >= hi)
			return n;
		cursor = it->pfn_hi + 1;
		it = RB_NEXT(iova_root, &iovad->rbroot, it);
	}
}

struct iova *reserve_iova(struct iova_domain *iovad, unsigned long pfn_lo,
			  unsigned long pfn_hi)
{
	struct iova **nodes = NULL, *iova;
	unsigned long n, i;

	if (pfn_lo > pfn_hi || pfn_hi >= IOVA_ANCHOR)
		return NULL;
	if (iovad->rcaches)
		iova_domain_flush_rcaches(iovad);

	mutex_lock(&iovad->iova_rbtree_lock);
	n = iova_reserve_gaps(iovad, pfn_lo, pfn_hi, NULL);
	if (n) {
		nodes = ui_calloc(n, sizeof(*nodes));
		if (!nodes)
			goto out_nomem;
		for (i = 0; i < n; i++) {
			nodes[i] = ui_malloc(sizeof(**nodes));
			if (!nodes[i])
				goto out_free_nodes;
		}
		iova_reserve_gaps(iovad, pfn_lo, pfn_hi, nodes);
		ui_free(nodes);
	}
	iova = private_find_iova(iovad, pfn_lo);
	mutex_unlock(&iovad->iova_rbtree_lock);
	return iova;

out_free_nodes:
	while (i--)
		ui_free(nodes[i]);
	ui_free(nodes);
out_nomem:
	iovad->alloc_nomem++;
	mutex_unlock(&iovad->iova_rbtree_lock);
	return NULL;
}

/* ---------------------------------------------------------------------- */
/* Magazines and depots                                                   */

static struct iova_magazine *iova_magazine_alloc(void)
{
	return ui_zalloc(sizeof(struct iova_magazine));
}

/* Give every pfn of mag back to the tree; mag ends empty. */
static void iova_magazine_free_pfns(struct iova_magazine *mag,
				    struct iova_domain *iovad)
{
	unsigned long i;

	if (!mag->size)
		return;
	mutex_lock(&iovad->iova_rbtree_lock);
	for (i = 0; i < mag->size; i++) {
		struct iova *iova = private_find_iova(iovad, mag->pfns[i]);

		if (WARN_ON(!iova || iova == &iovad->anchor))
			continue;
		remove_iova(iovad, iova);
		ui_free(iova);
	}
	mutex_unlock(&iovad->iova_rbtree_lock);
	mag->size = 0;
}

/* Pop the highest-indexed pfn at or below max_pfn (the top one, unless a
 * caller asked for a lower limit than the cached ranges' users). */
static bool iova_magazine_pop(struct iova_magazine *mag, unsigned long max_pfn,
			      unsigned long *pfn)
{
	unsigned long i = mag->size;

	while (i--) {
		if (mag->pfns[i] <= max_pfn) {
			*pfn = mag->pfns[i];
			mag->pfns[i] = mag->pfns[--mag->size];
			return true;
		}
	}
	return false;
}

static void mag_list_push(struct iova_mag_list *l, struct iova_magazine *m)
{
	m->prev = NULL;
	m->next = l->head;
	if (l->head)
		l->head->prev = m;
	else
		l->tail = m;
	l->head = m;
	l->count++;
}

static void mag_list_unlink(struct iova_mag_list *l, struct iova_magazine *m)
{
	if (m->prev)
		m->prev->next = m->next;
	else
		l->head = m->next;
	if (m->next)
		m->next->prev = m->prev;
	else
		l->tail = m->prev;
	m->next = m->prev = NULL;
	if (--l->count < l->low)
		l->low = l->count;
}

static struct iova_magazine *mag_list_pop(struct iova_mag_list *l)
{
	struct iova_magazine *m = l->head;

	if (m)
		mag_list_unlink(l, m);
	return m;
}

static struct iova_magazine *mag_list_pop_tail(struct iova_mag_list *l)
{
	struct iova_magazine *m = l->tail;

	if (m)
		mag_list_unlink(l, m);
	return m;
}

/* Start a new trim interval. */
static void iova_depot_trim_point(struct iova_rcache *rcache)
{
	lockdep_assert_held(&rcache->lock);
	rcache->ops = 0;
	rcache->depot.low = rcache->depot.count;
	rcache->spares.low = rcache->spares.count;
}

/*
 * Count one depot operation; at the end of an interval, detach the oldest
 * full magazine into *full and the oldest spare into *spare if more than
 * IOVA_DEPOT_KEEP of each stayed untouched.
 */
static void iova_depot_tick(struct iova_rcache *rcache,
			    struct iova_magazine **full,
			    struct iova_magazine **spare)
{
	lockdep_assert_held(&rcache->lock);
	if (++rcache->ops < IOVA_DEPOT_TRIM_INTERVAL)
		return;
	if (rcache->depot.low > IOVA_DEPOT_KEEP) {
		*full = mag_list_pop_tail(&rcache->depot);
		rcache->trims++;
	}
	if (rcache->spares.low > IOVA_DEPOT_KEEP)
		*spare = mag_list_pop_tail(&rcache->spares);
	iova_depot_trim_point(rcache);
}

/* Outside rcache->lock: return what a tick detached. */
static void iova_depot_release(struct iova_domain *iovad,
			       struct iova_magazine *full,
			       struct iova_magazine *spare)
{
	if (full) {
		iova_magazine_free_pfns(full, iovad);
		ui_free(full);
	}
	ui_free(spare);
}

/*
 * Exchange this CPU's 'loaded' magazine with the depot.  push: both
 * magazines are full; 'loaded' goes into the depot and an empty one (a
 * spare, or a new one) is loaded; false when no empty magazine can be had.
 * Otherwise both are empty; 'loaded' becomes a spare and a full magazine
 * of the depot is loaded; false when the depot is empty.
 */
static bool iova_depot_exchange(struct iova_domain *iovad,
				struct iova_rcache *rcache,
				struct iova_cpu_rcache *cpu_rcache, bool push)
{
	struct iova_mag_list *from = push ? &rcache->spares : &rcache->depot;
	struct iova_mag_list *to = push ? &rcache->depot : &rcache->spares;
	struct iova_magazine *mag, *full = NULL, *spare = NULL;

	lockdep_assert_held(&cpu_rcache->lock);
	mutex_lock(&rcache->lock);
	mag = mag_list_pop(from);
	if (!mag && push)
		mag = iova_magazine_alloc();
	if (mag) {
		mag_list_push(to, cpu_rcache->loaded);
		cpu_rcache->loaded = mag;
		if (push)
			rcache->pushes++;
		else
			rcache->pops++;
		iova_depot_tick(rcache, &full, &spare);
	}
	mutex_unlock(&rcache->lock);
	iova_depot_release(iovad, full, spare);
	return mag != NULL;
}

static bool iova_rcache_insert(struct iova_domain *iovad, unsigned int order,
			       unsigned long pfn)
{
	struct iova_rcache *rcache = &iovad->rcaches[order];
	struct iova_cpu_rcache *cpu_rcache =
		&rcache->cpu_rcaches[uiommu_cpu_id()];
	struct iova_magazine *tmp;

	spin_lock(&cpu_rcache->lock);
	if (likely(cpu_rcache->loaded->size < IOVA_MAG_SIZE))
		goto push;
	if (cpu_rcache->prev->size < IOVA_MAG_SIZE) {
		tmp = cpu_rcache->loaded;
		cpu_rcache->loaded = cpu_rcache->prev;
		cpu_rcache->prev = tmp;
		goto push;
	}
	if (!iova_depot_exchange(iovad, rcache, cpu_rcache, true)) {
		spin_unlock(&cpu_rcache->lock);
		return false;
	}
push:
	cpu_rcache->loaded->pfns[cpu_rcache->loaded->size++] = pfn;
	cpu_rcache->frees++;
	spin_unlock(&cpu_rcache->lock);
	return true;
}

/* A cached range of 1 << order granules starting at or below max_pfn, or 0
 * (counted as a miss). */
static unsigned long iova_rcache_get(struct iova_domain *iovad,
				     unsigned int order, unsigned long max_pfn)
{
	struct iova_rcache *rcache = &iovad->rcaches[order];
	struct iova_cpu_rcache *cpu_rcache =
		&rcache->cpu_rcaches[uiommu_cpu_id()];
	struct iova_magazine *tmp;
	unsigned long pfn;

	spin_lock(&cpu_rcache->lock);
	if (likely(iova_magazine_pop(cpu_rcache->loaded, max_pfn, &pfn)))
		goto hit;
	if (cpu_rcache->prev->size) {
		if (!iova_magazine_pop(cpu_rcache->prev, max_pfn, &pfn))
			goto miss;
		if (!cpu_rcache->loaded->size) {
			tmp = cpu_rcache->loaded;
			cpu_rcache->loaded = cpu_rcache->prev;
			cpu_rcache->prev = tmp;
		}
		goto hit;
	}
	if (!cpu_rcache->loaded->size &&
	    iova_depot_exchange(iovad, rcache, cpu_rcache, false) &&
	    iova_magazine_pop(cpu_rcache->loaded, max_pfn, &pfn))
		goto hit;
miss:
	cpu_rcache->misses++;
	spin_unlock(&cpu_rcache->lock);
	return 0;
hit:
	cpu_rcache->hits++;
	spin_unlock(&cpu_rcache->lock);
	return pfn;
}

static void iova_rcaches_free(struct iova_rcache *rcaches)
{
	struct iova_magazine *mag;
	unsigned int i, cpu;

	for (i = 0; i < IOVA_RANGE_CACHE_MAX_SIZE; i++) {
		struct iova_rcache *rcache = &rcaches[i];

		for (cpu = 0; cpu < UIOMMU_NR_CPUS; cpu++) {
			struct iova_cpu_rcache *c = &rcache->cpu_rcaches[cpu];

			ui_free(c->loaded);
			ui_free(c->prev);
			spin_lock_destroy(&c->lock);
		}
		while ((mag = mag_list_pop(&rcache->depot)))
			ui_free(mag);
		while ((mag = mag_list_pop(&rcache->spares)))
			ui_free(mag);
		mutex_destroy(&rcache->lock);
	}
}

int iova_domain_init_rcaches(struct iova_domain *iovad)
{
	struct iova_rcache *rcaches;
	unsigned int i, cpu;
	void *mem;

	if (iovad->rcaches)
		return -EEXIST;
	mem = ui_zalloc(sizeof(*rcaches) * IOVA_RANGE_CACHE_MAX_SIZE +
			IOVA_CACHELINE - 1);
	if (!mem)
		return -ENOMEM;
	rcaches =
		(struct iova_rcache *)ALIGN_UP((uintptr_t)mem, IOVA_CACHELINE);
	for (i = 0; i < IOVA_RANGE_CACHE_MAX_SIZE; i++) {
		mutex_init_name(&rcaches[i].lock, "rcache->lock",
				IOMMU_LOCK_IOVA_DEPOT);
		for (cpu = 0; cpu < UIOMMU_NR_CPUS; cpu++)
			spin_lock_init_name(&rcaches[i].cpu_rcaches[cpu].lock,
					    "cpu_rcache->lock",
					    IOMMU_LOCK_IOVA_CPU);
	}
	for (i = 0; i < IOVA_RANGE_CACHE_MAX_SIZE; i++) {
		for (cpu = 0; cpu < UIOMMU_NR_CPUS; cpu++) {
			struct iova_cpu_rcache *c =
				&rcaches[i].cpu_rcaches[cpu];

			c->loaded = iova_magazine_alloc();
			if (!c->loaded)
				goto out_free;
			c->prev = iova_magazine_alloc();
			if (!c->prev)
				goto out_free;
		}
	}
	iovad->rcaches_mem = mem;
	iovad->rcaches = rcaches;
	return 0;

out_free:
	iova_rcaches_free(rcaches);
	ui_free(mem);
	return -ENOMEM;
}

void put_iova_domain(struct iova_domain *iovad)
{
	struct iova *iova, *tmp;

	if (iovad->rcaches) {
		iova_rcaches_free(iovad->rcaches);
		ui_free(iovad->rcaches_mem);
		iovad->rcaches = NULL;
		iovad->rcaches_mem = NULL;
	}
	RB_FOREACH_SAFE(iova, iova_root, &iovad->rbroot, tmp) {
		RB_REMOVE(iova_root, &iovad->rbroot, iova);
		if (iova != &iovad->anchor)
			ui_free(iova);
	}
	mutex_destroy(&iovad->iova_rbtree_lock);
	memset(iovad, 0, sizeof(*iovad));
}

/* ---------------------------------------------------------------------- */
/* The fast calls                                                         */

unsigned long alloc_iova_fast(struct iova_domain *iovad, unsigned long size,
			      unsigned long limit_pfn, bool flush_rcache)
{
	unsigned int order;
	struct iova *new;
	unsigned long pfn;

	if (!size)
		return 0;
	order = order_base_2(size);
	if (order < IOVA_RANGE_CACHE_MAX_SIZE) {
		size = 1UL << order;
		if (iovad->rcaches && limit_pfn >= size - 1) {
			pfn = iova_rcache_get(iovad, order,
					      limit_pfn - (size - 1));
			if (pfn)
				return pfn;
		}
	}
	for (;;) {
		new = alloc_iova(iovad, size, limit_pfn, true);
		if (new)
			return new->pfn_lo;
		if (!flush_rcache || !iovad->rcaches)
			return 0;
		flush_rcache = false;
		iova_domain_flush_rcaches(iovad);
	}
}

void free_iova_fast(struct iova_domain *iovad, unsigned long pfn,
		    unsigned long size)
{
	unsigned int order = order_base_2(size);

	if (iovad->rcaches && size && order < IOVA_RANGE_CACHE_MAX_SIZE &&
	    iova_rcache_insert(iovad, order, pfn))
		return;
	free_iova(iovad, pfn);
}

void free_cpu_cached_iovas(unsigned int cpu, struct iova_domain *iovad)
{
	unsigned int i;

	if (!iovad->rcaches || cpu >= UIOMMU_NR_CPUS)
		return;
	for (i = 0; i < IOVA_RANGE_CACHE_MAX_SIZE; i++) {
		struct iova_cpu_rcache *c = &iovad->rcaches[i].cpu_rcaches[cpu];

		spin_lock(&c->lock);
		iova_magazine_free_pfns(c->loaded, iovad);
		iova_magazine_free_pfns(c->prev, iovad);
		spin_unlock(&c->lock);
	}
}

/* Outside rcache->lock: empty detached full magazines into the tree, and
 * free them and the detached spares. */
static void iova_mag_lists_release(struct iova_domain *iovad,
				   struct iova_mag_list *full,
				   struct iova_mag_list *spare)
{
	struct iova_magazine *mag;

	while ((mag = mag_list_pop(full))) {
		iova_magazine_free_pfns(mag, iovad);
		ui_free(mag);
	}
	while ((mag = mag_list_pop(spare)))
		ui_free(mag);
}

/* Empty every depot into the tree and free its magazines and spares. */
static void free_global_cached_iovas(struct iova_domain *iovad)
{
	unsigned int i;

	for (i = 0; i < IOVA_RANGE_CACHE_MAX_SIZE; i++) {
		struct iova_rcache *rcache = &iovad->rcaches[i];
		struct iova_mag_list depot, spares;

		mutex_lock(&rcache->lock);
		depot = rcache->depot;
		spares = rcache->spares;
		memset(&rcache->depot, 0, sizeof(rcache->depot));
		memset(&rcache->spares, 0, sizeof(rcache->spares));
		iova_depot_trim_point(rcache);
		mutex_unlock(&rcache->lock);

		iova_mag_lists_release(iovad, &depot, &spares);
	}
}

void iova_domain_flush_rcaches(struct iova_domain *iovad)
{
	unsigned int cpu;

	mutex_lock(&iovad->iova_rbtree_lock);
	iovad->rcache_flushes++;
	mutex_unlock(&iovad->iova_rbtree_lock);
	if (!iovad->rcaches)
		return;
	for (cpu = 0; cpu < UIOMMU_NR_CPUS; cpu++)
		free_cpu_cached_iovas(cpu, iovad);
	free_global_cached_iovas(iovad);
}

void iova_domain_trim_rcaches(struct iova_domain *iovad)
{
	unsigned int i;

	if (!iovad->rcaches)
		return;
	for (i = 0; i < IOVA_RANGE_CACHE_MAX_SIZE; i++) {
		struct iova_rcache *rcache = &iovad->rcaches[i];
		struct iova_mag_list full = {0}, spare = {0};
		unsigned long n;

		mutex_lock(&rcache->lock);
		/* the 'low' oldest stayed untouched since the trim point */
		n = rcache->depot.low > IOVA_DEPOT_KEEP
			    ? rcache->depot.low - IOVA_DEPOT_KEEP
			    : 0;
		rcache->trims += n;
		while (n--)
			mag_list_push(&full, mag_list_pop_tail(&rcache->depot));
		n = rcache->spares.low > IOVA_DEPOT_KEEP
			    ? rcache->spares.low - IOVA_DEPOT_KEEP
			    : 0;
		while (n--)
			mag_list_push(&spare,
				      mag_list_pop_tail(&rcache->spares));
		iova_depot_trim_point(rcache);
		mutex_unlock(&rcache->lock);

		iova_mag_lists_release(iovad, &full, &spare);
	}
}

void iova_domain_stats(struct iova_domain *iovad, struct iova_stats *st)
{
	unsigned int i, cpu;

	memset(st, 0, sizeof(*st));
	if (iovad->rcaches) {
		for (i = 0; i < IOVA_RANGE_CACHE_MAX_SIZE; i++) {
			struct iova_rcache *rcache = &iovad->rcaches[i];

			for (cpu = 0; cpu < UIOMMU_NR_CPUS; cpu++) {
				struct iova_cpu_rcache *c =
					&rcache->cpu_rcaches[cpu];

				spin_lock(&c->lock);
				st->rcache_hits += c->hits;
				st->rcache_misses += c->misses;
				st->rcache_frees += c->frees;
				st->cached += c->loaded->size + c->prev->size;
				spin_unlock(&c->lock);
			}
			mutex_lock(&rcache->lock);
			st->depot_pushes += rcache->pushes;
			st->depot_pops += rcache->pops;
			st->depot_trims += rcache->trims;
			st->depot_mags += rcache->depot.count;
			st->spare_mags += rcache->spares.count;
			st->cached += rcache->depot.count * IOVA_MAG_SIZE;
			mutex_unlock(&rcache->lock);
		}
	}
	mutex_lock(&iovad->iova_rbtree_lock);
	st->allocs = iovad->tree_allocs + st->rcache_hits;
	st->frees = iovad->tree_frees + st->rcache_frees;
	st->alloc_nospc = iovad->alloc_nospc;
	st->alloc_nomem = iovad->alloc_nomem;
	st->rcache_flushes = iovad->rcache_flushes;
	st->tree_inserts = iovad->tree_inserts;
	st->tree_removals = iovad->tree_removals;
	st->nodes = iovad->nr_nodes;
	mutex_unlock(&iovad->iova_rbtree_lock);
}
