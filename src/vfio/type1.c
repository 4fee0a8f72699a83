// SPDX-License-Identifier: MIT
/*
 * The VFIO type1 IOMMU backend, its core: containers (open, release),
 * MAP_DMA / UNMAP_DMA, group attach and detach with mapping replay, and the
 * ioctl dispatch.  The other concerns have files of their own: the usable
 * IOVA ranges (type1_iova.c), GET_INFO and CHECK_EXTENSION (type1_info.c),
 * introspection for tests and tools (type1_introspect.c), nested
 * translation (type1_nest.c), driver pins (type1_pin.c), dirty tracking
 * (type1_dirty.c) and I/O page faults (type1_iopf.c).  Semantics and errno
 * values follow the kernel's drivers/vfio/vfio_iommu_type1.c.
 *
 * Data model (type1_internal.h):
 *  - struct vfio_iommu is the container: its domains (each with the groups
 *    attached to it), its emulated groups, its vfio_dma records in an
 *    rb-tree ordered by IOVA (non-overlapping), the usable IOVA ranges
 *    (apertures minus the groups' reserved regions), dma_avail, the
 *    smallest-page bitmap of all domains, and the dirty-tracking state.
 *  - struct vfio_dma is one MAP_DMA: [iova, iova + size) -> vaddr in the
 *    container's mm, with prot.  When the container has an IOMMU domain the
 *    whole range is pinned (mm_pin_pages, kept as runs of contiguous pages
 *    in vfio_dma_chunk records) and every run is mapped into every domain
 *    with one iommu_map call (the core picks the largest pages it can).
 *    Without a domain nothing is pinned; the first attach replays.
 *  - Pages pinned by mediated drivers are vfio_pfn records in the dma
 *    (type1_pin.c).
 *
 * Invariants (checked by the tests): every pinned page of a vfio_dma is
 * mapped in every domain and charged to locked_vm once, whoever pinned it
 * first; an unmap is synced (TLBI + CMD_SYNC complete) before its pages are
 * unpinned and uncharged; a failed call leaves no mapping, pin, charge or
 * IOTLB entry behind.
 *
 * Non-coherent domains (the design the reviewers of the non-coherent DMA patches chose): a domain whose
 * IOMMU cannot enforce cache coherency gets its mappings without
 * IOMMU_CACHE (Normal-NC: its devices' DMA does not snoop the CPU caches).
 * The container counts such domains in noncoherent_domains, kept only by
 * vfio_iommu_link_domain/unlink_domain (never a rescan of the list).  A
 * vfio_dma is flagged (cache_flush_required) when it first enters one; the
 * order is then pin -> cache_flush_phys -> iommu_map, and, for every unpin
 * of a flagged dma, unmap + IOTLB sync -> cache_flush_phys -> unpin.
 * Replay into a new non-coherent domain flushes each run before mapping it
 * unless the dma is already flagged (its pages were flushed when it was
 * flagged: the "lazy" design); attaching a coherent domain never clears the
 * flag; freeing the IOMMU pins (full unmap, unwind) does.
 *
 * Nesting containers (VFIO_TYPE1_NESTING_IOMMU, patch 8 of the VFIO IOPF series): every domain
 * is a stage-2 "nest parent" (the mappings are IPA -> host memory), and
 * vfio_iommu_type1_set_nested_s1() moves a group onto a nested domain of its
 * own over its vfio_domain's (type1_nest.c), kept in vfio_iommu_group.nested
 * until the group leaves (freed here, before the parent).  Such a
 * container's driver ops have register_handler/unregister_handler (nested
 * L1 fault reporting, type1_iopf.c); the other containers' have none
 * (-ENOTTY).  Every container is on a global list (type1_nest.c) so that a
 * device can find its container, as the kernel's vfio_group_get_from_dev()
 * does.
 *
 * Sanitizer (src/sanitizer): with it on, the container has a history
 * (iommu->san) that every domain it allocates points to; each MAP_DMA that
 * succeeds and each vfio_dma an UNMAP_DMA removes is recorded there with
 * the caller's stack, under iommu->lock.
 *
 * Locking: iommu->lock around every entry point, released only to call the
 * drivers' dma_unmap callbacks (type1_pin.c).  See type1_internal.h.
 * vfio_iommu_all_lock (the container list) comes before iommu->lock.
 */
#include <errno.h>
#include <string.h>

#include "lib/uaccess.h"
#include "vfio/type1_internal.h"

static unsigned int dma_entry_limit = VFIO_DMA_ENTRY_LIMIT_DEFAULT;

static const struct vfio_iommu_driver_ops vfio_type1_ops = {0};
static const struct vfio_iommu_driver_ops vfio_type1_nesting_ops = {
	.register_handler = vfio_iopf_register_l1,
	.unregister_handler = vfio_iopf_unregister_l1,
};

void vfio_iommu_type1_set_dma_entry_limit(unsigned int limit)
{
	dma_entry_limit = limit;
}

unsigned int vfio_iommu_type1_dma_entry_limit(void)
{
	return dma_entry_limit;
}

/* ---- the vfio_dma tree ------------------------------------------------------ */

static int vfio_dma_cmp(const struct vfio_dma *a, const struct vfio_dma *b)
{
	return a->iova < b->iova ? -1 : a->iova > b->iova;
}

RB_GENERATE_INTERNAL(vfio_dma_tree, vfio_dma, node, vfio_dma_cmp,
		     __attribute__((unused)) static)

/* The dma overlapping [start, start + size), size 0 meaning "containing
 * start - 1 < x": the kernel's vfio_find_dma. */
struct vfio_dma *vfio_find_dma(struct vfio_iommu *iommu, dma_addr_t start,
			       uint64_t size)
{
	struct vfio_dma *dma = RB_ROOT(&iommu->dma_list);

	vfio_assert_dma_tree_held(iommu);

	while (dma) {
		if (start + size <= dma->iova)
			dma = RB_LEFT(dma, node);
		else if (start >= dma->iova + dma->size)
			dma = RB_RIGHT(dma, node);
		else
			return dma;
	}
	return NULL;
}

/* The lowest dma that ends after start. */
static struct vfio_dma *vfio_find_dma_first(struct vfio_iommu *iommu,
					    dma_addr_t start)
{
	struct vfio_dma *dma = RB_ROOT(&iommu->dma_list), *res = NULL;

	vfio_assert_dma_tree_held(iommu);

	while (dma) {
		if (start < dma->iova + dma->size) {
			res = dma;
			dma = RB_LEFT(dma, node);
		} else {
			dma = RB_RIGHT(dma, node);
		}
	}
	return res;
}

void vfio_dma_tree_remove(struct vfio_iommu *iommu, struct vfio_dma *dma)
{
	lockdep_assert_held(&iommu->lock);
	lockdep_assert_held(&iommu->iopf_lock);

	RB_REMOVE(vfio_dma_tree, &iommu->dma_list, dma);
}

struct vfio_dma *vfio_dma_first(struct vfio_iommu *iommu)
{
	vfio_assert_dma_tree_held(iommu);
	return RB_MIN(vfio_dma_tree, &iommu->dma_list);
}

struct vfio_dma *vfio_dma_last(struct vfio_iommu *iommu)
{
	vfio_assert_dma_tree_held(iommu);
	return RB_MAX(vfio_dma_tree, &iommu->dma_list);
}

struct vfio_dma *vfio_dma_next(struct vfio_iommu *iommu, struct vfio_dma *dma)
{
	vfio_assert_dma_tree_held(iommu);
	return RB_NEXT(vfio_dma_tree, &iommu->dma_list, dma);
}

static struct vfio_dma *vfio_dma_prev(struct vfio_iommu *iommu,
				      struct vfio_dma *dma)
{
	vfio_assert_dma_tree_held(iommu);
	return RB_PREV(vfio_dma_tree, &iommu->dma_list, dma);
}

/* ---- accounting --------------------------------------------------------------- */

/* vfio_lock_acct: charge (npage > 0) or uncharge the container's mm. */
int vfio_lock_acct(struct vfio_iommu *iommu, struct vfio_dma *dma, long npage)
{
	int ret;

	lockdep_assert_held(&iommu->lock);

	if (!npage)
		return 0;
	ret = mm_lock_acct(iommu->mm, npage, dma->lock_cap);
	if (!ret)
		dma->locked_vm += npage;
	return ret;
}

/* ---- CPU caches (non-coherent domains) ---------------------------------------------------- */

void vfio_flush_cache_phys(struct vfio_iommu *iommu, phys_addr_t pa,
			   uint64_t len)
{
	lockdep_assert_held(&iommu->lock);

	if (iommu->cache_flush_off) {
		iommu->cache_flushes_skipped++;
		return;
	}
	vfio_trace(iommu, VFIO_TRACE_FLUSH, NULL, 0, pa, len, 0);
	WARN_ON(cache_flush_phys(iommu->pm, pa, len));
	iommu->cache_flushes++;
	iommu->cache_flush_bytes += len;
}

static void vfio_flush_runs(struct vfio_iommu *iommu,
			    const struct mm_pin_run *runs, unsigned int nr)
{
	lockdep_assert_held(&iommu->lock);

	for (unsigned int i = 0; i < nr; i++)
		vfio_flush_cache_phys(iommu, runs[i].pa,
				      runs[i].npages << PAGE_SHIFT);
}

/*
 * Release IOMMU pins of dma: written back from the CPU caches first when
 * the dma was mapped non-coherent, so that memory behind the caches
 * holds what the CPU sees by the time the pages go back to their owner.
 */
static void vfio_unpin_runs(struct vfio_iommu *iommu, struct vfio_dma *dma,
			    struct mm_pin_run *runs, unsigned int nr)
{
	lockdep_assert_held(&iommu->lock);

	if (!nr)
		return;
	if (dma->cache_flush_required)
		vfio_flush_runs(iommu, runs, nr);
	for (unsigned int i = 0; i < nr; i++)
		vfio_trace(iommu, VFIO_TRACE_UNPIN, NULL, 0, runs[i].pa,
			   runs[i].npages << PAGE_SHIFT, 0);
	mm_unpin_pages(iommu->mm, runs, nr, 0);
}

/* The only ways onto and off the domain list (the reviewers' choice: a counter, never a
 * rescan). */
static void vfio_iommu_link_domain(struct vfio_iommu *iommu,
				   struct vfio_domain *domain)
{
	lockdep_assert_held(&iommu->lock);
	lockdep_assert_held(&iommu->iopf_lock);

	LIST_INSERT_HEAD(&iommu->domain_list, domain, next);
	if (!domain->enforce_cache_coherency)
		iommu->noncoherent_domains++;
}

static void vfio_iommu_unlink_domain(struct vfio_iommu *iommu,
				     struct vfio_domain *domain)
{
	lockdep_assert_held(&iommu->lock);
	lockdep_assert_held(&iommu->iopf_lock);

	LIST_REMOVE(domain, next);
	if (!domain->enforce_cache_coherency) {
		WARN_ON(!iommu->noncoherent_domains);
		iommu->noncoherent_domains--;
	}
}

/* ---- pin, map, unmap, unpin ----------------------------------------------------- */

#define for_each_target(iommu, only, d)                                  \
	for (d = (only) ? (only) : LIST_FIRST(&(iommu)->domain_list); d; \
	     d = (only) ? NULL : LIST_NEXT(d, next))

/* dma's chunks were freed: it holds no IOMMU pin any more, so nothing is
 * left to write back either. */
static void vfio_dma_pins_gone(struct vfio_dma *dma)
{
	dma->chunks = dma->chunk_tail = NULL;
	dma->iommu_mapped = false;
	dma->cache_flush_required = false;
	dma->replay_flagged = false;
}

/*
 * Unmap every chunk of dma from the domains (only, or all), one gather and
 * sync per domain and chunk, then unpin the chunk and uncharge the pages
 * that no vfio_pfn keeps charged.  Returns the pages unpinned.
 */
static uint64_t vfio_unmap_unpin(struct vfio_iommu *iommu, struct vfio_dma *dma,
				 struct vfio_domain *only, bool do_accounting)
{
	static const char inval_err[] = "an IOTLB invalidation did not "
					"complete";
	struct vfio_dma_chunk *c = dma->chunks, *next;
	uint64_t unlocked = 0;
	struct vfio_domain *d;

	lockdep_assert_held(&iommu->lock);

	for (; c; c = next) {
		next = c->next;
		if (c->npages) {
			size_t size = c->npages << PAGE_SHIFT;
			long locked;

			for_each_target(iommu, only, d)
			{
				struct iommu_iotlb_gather gather;
				size_t done;

				iommu_iotlb_gather_init(&gather);
				done = iommu_unmap_fast(d->domain, c->iova,
							size, &gather);
				WARN_ON(done != size);
				iommu_iotlb_sync(d->domain, &gather);
				iommu->iotlb_syncs++;
				/* the driver blocked its DMA before it said so */
				if (iommu_domain_error(d->domain))
					vfio_iommu_set_broken(iommu, inval_err);
				vfio_trace(iommu, VFIO_TRACE_UNMAP, d->domain,
					   c->iova, 0, size, 0);
			}
			/* only now, with the IOTLBs synced, let the pages go
			 * (written back first if mapped non-coherent) */
			vfio_unpin_runs(iommu, dma, c->runs, c->nr);
			locked = vfio_vpfn_count(dma, c->iova, c->npages);
			if (do_accounting)
				vfio_lock_acct(iommu, dma,
					       locked - (long)c->npages);
			unlocked += c->npages;
			iommu->pinned_pages -= c->npages;
		}
		ui_free(c);
	}
	vfio_dma_pins_gone(dma);
	return unlocked;
}

/*
 * IOPF conversion: let dma's IOMMU pins go without unmapping; the
 * pages stay mapped, marked in the fault bitmap, under the MMU notifier.
 * Accounting is the caller's.
 */
void vfio_dma_release_pins(struct vfio_iommu *iommu, struct vfio_dma *dma)
{
	struct vfio_dma_chunk *c, *next;

	lockdep_assert_held(&iommu->lock);

	for (c = dma->chunks; c; c = next) {
		next = c->next;
		vfio_unpin_runs(iommu, dma, c->runs, c->nr);
		iommu->pinned_pages -= c->npages;
		ui_free(c);
	}
	vfio_dma_pins_gone(dma);
}

/* Map one pinned run into the domains; all or nothing. */
static int vfio_map_run(struct vfio_iommu *iommu, struct vfio_domain *only,
			dma_addr_t iova, const struct mm_pin_run *run, int prot)
{
	size_t size = run->npages << PAGE_SHIFT;
	struct vfio_domain *d, *e;
	int ret;

	lockdep_assert_held(&iommu->lock);

	for_each_target(iommu, only, d)
	{
		int p = vfio_domain_prot(d, prot);

		ret = iommu_map(d->domain, iova, run->pa, size, p);
		if (ret)
			goto unwind;
		vfio_trace(iommu, VFIO_TRACE_MAP, d->domain, iova, run->pa,
			   size, p);
	}
	return 0;

unwind:
	for_each_target(iommu, only, e)
	{
		if (e == d)
			break;
		iommu_unmap(e->domain, iova, size);
	}
	return ret;
}

/* A new empty chunk, its runs from iova on, at the tail of dma's list. */
static struct vfio_dma_chunk *vfio_dma_chunk_add(struct vfio_dma *dma,
						 dma_addr_t iova)
{
	struct vfio_dma_chunk *c = ui_malloc(sizeof(*c));

	if (!c)
		return NULL;
	c->next = NULL;
	c->iova = iova;
	c->npages = 0;
	c->nr = 0;
	if (dma->chunk_tail)
		dma->chunk_tail->next = c;
	else
		dma->chunks = c;
	dma->chunk_tail = c;
	return c;
}

/*
 * Pin the whole of dma and map it into the domains (only, or all): the
 * kernel's vfio_pin_map_dma (and the pinning half of replay).  On failure
 * everything this call did is undone.  Pages already pinned by a driver
 * (vfio_pfn) were charged then and are not charged again.  With a
 * non-coherent target the dma is flagged before the first pin, so that the
 * unwind flushes too, and each batch is written back between
 * pinning and mapping.
 */
static int vfio_pin_map_dma(struct vfio_iommu *iommu, struct vfio_dma *dma,
			    struct vfio_domain *only)
{
	unsigned int gup = dma->prot & IOMMU_WRITE ? MM_GUP_WRITE : 0;
	uint64_t total = dma->size >> PAGE_SHIFT, done = 0;
	int ret;

	lockdep_assert_held(&iommu->lock);

	if (only ? !only->enforce_cache_coherency : iommu->noncoherent_domains)
		dma->cache_flush_required = true;

	while (done < total) {
		struct vfio_dma_chunk *c = dma->chunk_tail;
		dma_addr_t iova = dma->iova + (done << PAGE_SHIFT);
		unsigned int nr, i, first;
		uint64_t left;
		long n;

		if (!c || c->nr == VFIO_CHUNK_RUNS) {
			c = vfio_dma_chunk_add(dma, iova);
			if (!c) {
				ret = -ENOMEM;
				goto unwind;
			}
		}
		first = c->nr;
		n = mm_pin_pages(iommu->mm, dma->vaddr + (done << PAGE_SHIFT),
				 total - done, gup, c->runs + first,
				 VFIO_CHUNK_RUNS - first, &nr);
		if (n < 0) {
			ret = (int)n;
			goto unwind;
		}
		for (i = 0; i < nr; i++)
			vfio_trace(iommu, VFIO_TRACE_PIN, NULL, 0,
				   c->runs[first + i].pa,
				   c->runs[first + i].npages << PAGE_SHIFT, 0);
		ret = vfio_lock_acct(iommu, dma,
				     n - (long)vfio_vpfn_count(dma, iova, n));
		if (ret) {
			vfio_unpin_runs(iommu, dma, c->runs + first, nr);
			goto unwind;
		}
		/* pin -> flush -> map: what a non-snooping device reads is
		 * what the CPU wrote */
		if (dma->cache_flush_required)
			vfio_flush_runs(iommu, c->runs + first, nr);
		for (i = 0; i < nr; i++) {
			struct mm_pin_run *r = &c->runs[first + i];

			ret = vfio_map_run(iommu, only, iova, r, dma->prot);
			if (ret)
				break;
			c->nr++;
			c->npages += r->npages;
			iommu->pinned_pages += r->npages;
			iova += r->npages << PAGE_SHIFT;
		}
		if (ret) {
			/* runs i.. were pinned and charged, never mapped */
			left = 0;
			for (unsigned int k = first + i; k < first + nr; k++)
				left += c->runs[k].npages;
			vfio_unpin_runs(iommu, dma, c->runs + first + i,
					nr - i);
			vfio_lock_acct(iommu, dma,
				       -(long)(left - vfio_vpfn_count(dma, iova,
								      left)));
			goto unwind;
		}
		done += n;
	}
	return 0;

unwind:
	vfio_unmap_unpin(iommu, dma, only, true);
	return ret;
}

/*
 * Map the runs of an already pinned dma into a new domain (replay).  The
 * first non-coherent domain a dma enters has each run written back before
 * it is mapped, and flags the dma; an already flagged dma was written
 * back then and is mapped as it is; a coherent domain leaves the flag
 * alone.  replay_flagged lets the unwind take the flag back.
 */
static int vfio_map_existing(struct vfio_iommu *iommu, struct vfio_dma *dma,
			     struct vfio_domain *domain)
{
	bool flush = !domain->enforce_cache_coherency &&
		     !dma->cache_flush_required;
	dma_addr_t iova = dma->iova;
	struct vfio_dma_chunk *c;
	int ret;

	lockdep_assert_held(&iommu->lock);

	if (flush) {
		dma->cache_flush_required = true;
		dma->replay_flagged = true;
	}
	for (c = dma->chunks; c; c = c->next) {
		for (unsigned int i = 0; i < c->nr; i++) {
			if (flush)
				vfio_flush_runs(iommu, &c->runs[i], 1);
			ret = vfio_map_run(iommu, domain, iova, &c->runs[i],
					   dma->prot);
			if (ret)
				goto unwind;
			iova += c->runs[i].npages << PAGE_SHIFT;
		}
	}
	return 0;

unwind:
	if (iova > dma->iova)
		iommu_unmap(domain->domain, dma->iova, iova - dma->iova);
	if (dma->replay_flagged)
		dma->cache_flush_required = dma->replay_flagged = false;
	return ret;
}

/*
 * Remove a dma: unmap, unpin, uncharge, free (vfio_remove_dma).  Pins that
 * drivers still hold are a bug: warned about, then dropped so that
 * nothing leaks (the kernel leaks them).
 */
static void vfio_remove_dma(struct vfio_iommu *iommu, struct vfio_dma *dma)
{
	lockdep_assert_held(&iommu->lock);

	if (WARN_ON(!RB_EMPTY(&dma->pfn_list)))
		iommu->pinned_on_remove++;
	vfio_unmap_unpin(iommu, dma, NULL, true);
	vfio_dma_drop_vpfns(iommu, dma);
	WARN_ON(dma->locked_vm);
	/* faulted pages unmapped and synced, out of the tree */
	vfio_iopf_dma_unlink(iommu, dma);
	vfio_dma_bitmap_free(dma);
	if (dma->vaddr_invalid)
		iommu->vaddr_invalid_count--;
	ui_free(dma);
	iommu->dma_avail++;
	iommu->nr_dma--;
}

static void vfio_iommu_unmap_unpin_all(struct vfio_iommu *iommu)
{
	struct vfio_dma *dma;

	lockdep_assert_held(&iommu->lock);

	while ((dma = vfio_dma_first(iommu)))
		vfio_remove_dma(iommu, dma);
}

/* Last domain gone while emulated groups stay: unpin everything but keep
 * the mappings, and charge the drivers' pins again (they were covered by
 * the IOMMU pins). */
static void vfio_iommu_unmap_unpin_reaccount(struct vfio_iommu *iommu)
{
	struct vfio_dma *dma;

	lockdep_assert_held(&iommu->lock);

	for (dma = vfio_dma_first(iommu); dma;
	     dma = vfio_dma_next(iommu, dma)) {
		uint64_t unlocked = vfio_unmap_unpin(iommu, dma, NULL, false);

		/* with IOPF the drivers' pins were charged all along */
		if (iommu->iopf_enabled)
			continue;

		vfio_lock_acct(iommu, dma, (long)dma->nr_pfns - (long)unlocked);
	}
}

/* ---- open, release ------------------------------------------------------------------ */

int vfio_iommu_type1_open(struct mm *mm, unsigned long type,
			  struct vfio_iommu **out)
{
	struct vfio_iommu *iommu;

	if (!mm || !out)
		return -EINVAL;
	if (type != VFIO_TYPE1_IOMMU && type != VFIO_TYPE1v2_IOMMU &&
	    type != VFIO_TYPE1_NESTING_IOMMU)
		return -EINVAL;
	iommu = ui_zalloc(sizeof(*iommu));
	if (!iommu)
		return -ENOMEM;
	mutex_init(&iommu->lock, VFIO_LOCK_CONTAINER);
	mutex_init(&iommu->device_list_lock, VFIO_LOCK_DEVICE_LIST);
	init_rwsem(&iommu->transfer_lock, VFIO_LOCK_TRANSFER);
	iommu->mm = mm;
	iommu->pm = mm_phys(mm);
	iommu->v2 = type != VFIO_TYPE1_IOMMU; /* nesting implies v2 */
	iommu->nesting = type == VFIO_TYPE1_NESTING_IOMMU;
	iommu->ops = iommu->nesting ? &vfio_type1_nesting_ops : &vfio_type1_ops;
	LIST_INIT(&iommu->domain_list);
	LIST_INIT(&iommu->emulated_iommu_groups);
	LIST_INIT(&iommu->device_list);
	RB_INIT(&iommu->dma_list);
	iommu->dma_avail = dma_entry_limit;
	iommu->pgsize_bitmap = ~(PAGE_SIZE - 1); /* PAGE_MASK */
	vfio_iopf_init(iommu);
	iommu->san = san_space_create("type1 container");
	vfio_iommu_all_add(iommu);
	*out = iommu;
	return 0;
}

/* Detach a group from whatever this container attached it to: its nested
 * domain (freed) or its vfio_domain's. */
static void vfio_group_detach_domain(struct vfio_domain *domain,
				     struct vfio_iommu_group *g)
{
	if (g->nested) {
		iommu_detach_group(g->nested, g->iommu_group);
		iommu_domain_free(g->nested);
		g->nested = NULL;
	} else {
		iommu_detach_group(domain->domain, g->iommu_group);
	}
}

static void vfio_release_domain(struct vfio_domain *domain)
{
	struct vfio_iommu_group *g;

	while ((g = LIST_FIRST(&domain->group_list))) {
		vfio_group_detach_domain(domain, g);
		LIST_REMOVE(g, next);
		ui_free(g);
	}
	iommu_domain_free(domain->domain);
}

void vfio_iommu_type1_release(struct vfio_iommu *iommu)
{
	struct vfio_iommu_group *g;
	struct vfio_domain *d;

	if (!iommu)
		return;
	vfio_iommu_all_del(iommu);
	mutex_lock(&iommu->lock);
	/* fault reporting off on every device (waiting for handlers in
	 * flight), lookups gone, the notifier unregistered */
	vfio_iopf_release(iommu);
	while ((g = LIST_FIRST(&iommu->emulated_iommu_groups))) {
		LIST_REMOVE(g, next);
		ui_free(g);
	}
	vfio_iommu_unmap_unpin_all(iommu);
	while ((d = LIST_FIRST(&iommu->domain_list))) {
		vfio_release_domain(d);
		/* no handler or notifier is left to read the list, but its
		 * writers hold both locks */
		mutex_lock(&iommu->iopf_lock);
		vfio_iommu_unlink_domain(iommu, d);
		mutex_unlock(&iommu->iopf_lock);
		ui_free(d);
	}
	/* not needed by anyone, but a sanity check of the counter */
	WARN_ON(iommu->noncoherent_domains);
	ui_free(iommu->iova_list);
	mutex_unlock(&iommu->lock);
	mutex_destroy(&iommu->lock);
	mutex_destroy(&iommu->device_list_lock);
	rwsem_destroy(&iommu->transfer_lock);
	mutex_destroy(&iommu->iopf_lock);
	san_space_destroy(iommu->san);
	ui_free(iommu);
}

/* ---- attach, detach, replay ------------------------------------------------------------ */

struct vfio_iommu_group *vfio_find_domain_group(struct vfio_iommu *iommu,
						struct iommu_group *group,
						struct vfio_domain **dp)
{
	struct vfio_iommu_group *g;
	struct vfio_domain *d;

	lockdep_assert_held(&iommu->lock);

	LIST_FOREACH(d, &iommu->domain_list, next)
		LIST_FOREACH(g, &d->group_list, next)
			if (g->iommu_group == group) {
				if (dp)
					*dp = d;
				return g;
			}
	return NULL;
}

struct vfio_iommu_group *vfio_find_group(struct vfio_iommu *iommu,
					 struct iommu_group *group)
{
	struct vfio_iommu_group *g;

	lockdep_assert_held(&iommu->lock);

	g = vfio_find_domain_group(iommu, group, NULL);
	if (g)
		return g;
	LIST_FOREACH(g, &iommu->emulated_iommu_groups, next)
		if (g->iommu_group == group)
			return g;
	return NULL;
}

/*
 * Replay every mapping into a new domain: dmas already pinned are
 * mapped from their runs, the others pinned and mapped.  On failure, what
 * this replay mapped and pinned is undone.
 */
static int vfio_iommu_replay(struct vfio_iommu *iommu,
			     struct vfio_domain *domain)
{
	struct vfio_dma *dma, *p;
	int ret = 0;

	lockdep_assert_held(&iommu->lock);

	for (dma = vfio_dma_first(iommu); dma;
	     dma = vfio_dma_next(iommu, dma)) {
		if (dma->iommu_mapped)
			ret = vfio_map_existing(iommu, dma, domain);
		else if (dma->vaddr_invalid)
			ret = -EBUSY; /* nothing to pin from until MAP_DMA
				       * with VFIO_DMA_MAP_FLAG_VADDR */
		else
			ret = vfio_pin_map_dma(iommu, dma, domain);
		if (ret)
			goto unwind;
	}
	for (dma = vfio_dma_first(iommu); dma;
	     dma = vfio_dma_next(iommu, dma)) {
		dma->iommu_mapped = true;
		dma->replay_flagged = false;
	}
	return 0;

unwind:
	/* what this replay pinned is flushed and unpinned, and the flags it
	 * set are cleared */
	for (p = vfio_dma_prev(iommu, dma); p; p = vfio_dma_prev(iommu, p)) {
		if (p->iommu_mapped) {
			iommu_unmap(domain->domain, p->iova, p->size);
			if (p->replay_flagged)
				p->cache_flush_required = false;
			p->replay_flagged = false;
		} else {
			vfio_unmap_unpin(iommu, p, domain, true);
		}
	}
	return ret;
}

/*
 * The kernel's vfio_test_domain_fgsp: map two pages into the new, still
 * empty, domain and unmap one to learn whether the IOMMU splits superpages
 * finely.  The pages are fresh kernel memory: in a non-coherent domain they
 * are written back before the mapping exists, so that a device reading
 * behind the caches cannot see an earlier owner's data; no flush after
 * the unmap, as the reviewers concluded (kernel pages, no ongoing use).
 * Unlike the kernel, a failure here fails the attach, so that every
 * injected failure is visible.
 */
static int vfio_test_domain_fgsp(struct vfio_iommu *iommu,
				 struct vfio_domain *domain,
				 const struct vfio_iova *list, unsigned int nr)
{
	const uint64_t sz = 2 * PAGE_SIZE;
	phys_addr_t pa;
	int ret;

	lockdep_assert_held(&iommu->lock);

	ret = phys_alloc_pages(iommu->pm, 1, PHYS_ALLOC_ZERO, PHYS_OWNER_KERNEL,
			       &pa);
	if (ret)
		return ret;
	if (!domain->enforce_cache_coherency)
		vfio_flush_cache_phys(iommu, pa, sz);
	for (unsigned int i = 0; i < nr; i++) {
		dma_addr_t start = ALIGN_UP(list[i].start, sz);
		size_t unmapped;

		if (start < list[i].start || start >= list[i].end ||
		    list[i].end - start < sz - 1)
			continue;
		ret = iommu_map(domain->domain, start, pa, sz,
				vfio_domain_prot(domain,
						 IOMMU_READ | IOMMU_WRITE));
		if (ret)
			break;
		unmapped = iommu_unmap(domain->domain, start, PAGE_SIZE);
		if (unmapped == PAGE_SIZE)
			iommu_unmap(domain->domain, start + PAGE_SIZE,
				    PAGE_SIZE);
		else
			domain->fgsp = true;
		break;
	}
	phys_free_pages(iommu->pm, pa, 1);
	return ret;
}

/* A new struct vfio_iommu_group for group: -EINVAL if it is attached. */
static int vfio_iommu_group_new(struct vfio_iommu *iommu,
				struct iommu_group *group,
				struct vfio_iommu_group **out)
{
	struct vfio_iommu_group *g;

	lockdep_assert_held(&iommu->lock);
	if (vfio_find_group(iommu, group))
		return -EINVAL;
	g = ui_zalloc(sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->iommu_group = group;
	*out = g;
	return 0;
}

int vfio_iommu_type1_attach_emulated_group(struct vfio_iommu *iommu,
					   struct iommu_group *group)
{
	struct vfio_iommu_group *g;
	int ret;

	if (!iommu || !group)
		return -EINVAL;
	mutex_lock(&iommu->lock);
	ret = vfio_iommu_group_new(iommu, group, &g);
	if (!ret) {
		/* it can only reach memory through pins */
		g->pinned_page_dirty_scope = true;
		LIST_INSERT_HEAD(&iommu->emulated_iommu_groups, g, next);
	}
	mutex_unlock(&iommu->lock);
	return ret;
}

int vfio_iommu_type1_attach_group(struct vfio_iommu *iommu,
				  struct iommu_group *group)
{
	struct resv_collect rc = {0};
	struct vfio_domain *domain = NULL, *d;
	struct vfio_iova *iova_list = NULL;
	struct vfio_iommu_group *g;
	const struct iommu_domain_geometry *geo;
	unsigned int nr_iova = 0;
	struct device *dev;
	int ret;

	ret = vfio_group_dev(iommu, group, &dev);
	if (ret)
		return ret;

	mutex_lock(&iommu->lock);
	ret = vfio_iommu_group_new(iommu, group, &g);
	if (ret)
		goto out_unlock;
	ret = -ENOMEM;
	domain = ui_zalloc(sizeof(*domain));
	if (!domain)
		goto out_free_group;
	LIST_INIT(&domain->group_list);

	ret = -EIO;
	if (iommu->nesting) {
		/* stage 2: nested domains go over it (set_nested_s1) */
		ret = iommu_domain_alloc_nest_parent(dev, &domain->domain);
		if (ret)
			goto out_free_domain;
	} else {
		domain->domain = iommu_domain_alloc(dev);
		if (!domain->domain)
			goto out_free_domain;
	}
	domain->domain->san_space = iommu->san;
	ret = iommu_attach_group(domain->domain, group);
	if (ret)
		goto out_domain;

	geo = &domain->domain->geometry;
	if (iommu->iova_valid &&
	    vfio_iommu_aper_conflict(iommu, geo->aperture_start,
				     geo->aperture_end)) {
		ret = -EINVAL;
		goto out_detach;
	}
	ret = vfio_group_resv_regions(group, &rc);
	if (ret)
		goto out_detach;
	if (vfio_iommu_resv_conflict(iommu, &rc)) {
		ret = -EINVAL;
		goto out_detach;
	}
	/* the new list: this group's regions, then the others' */
	ret = vfio_iova_build(iommu, domain, &rc, &iova_list, &nr_iova);
	if (ret)
		goto out_detach;

	if (domain->domain->ops->enforce_cache_coherency)
		domain->enforce_cache_coherency =
			domain->domain->ops->enforce_cache_coherency(
				domain->domain);
	LIST_INSERT_HEAD(&domain->group_list, g, next);

	/* join a compatible domain: same IOMMU driver, same coherency */
	LIST_FOREACH(d, &iommu->domain_list, next) {
		if (d->domain->ops != domain->domain->ops ||
		    d->enforce_cache_coherency !=
			    domain->enforce_cache_coherency)
			continue;
		iommu_detach_group(domain->domain, group);
		if (!iommu_attach_group(d->domain, group)) {
			if (iommu->iopf_enabled) {
				ret = vfio_iopf_enable_group(iommu, group);
				if (ret) {
					iommu_detach_group(d->domain, group);
					LIST_REMOVE(g, next);
					goto out_domain;
				}
			}
			LIST_REMOVE(g, next);
			LIST_INSERT_HEAD(&d->group_list, g, next);
			iommu_domain_free(domain->domain);
			ui_free(domain);
			goto done;
		}
		ret = iommu_attach_group(domain->domain, group);
		if (ret) {
			LIST_REMOVE(g, next);
			goto out_domain;
		}
	}

	ret = vfio_test_domain_fgsp(iommu, domain, iova_list, nr_iova);
	if (!ret && iommu->iopf_enabled) {
		/* the faulted pages go into the new domain as it is
		 * linked; then its devices report faults (lookup first) */
		ret = vfio_iopf_link_domain(iommu, domain,
					    vfio_iommu_link_domain);
		if (!ret) {
			ret = vfio_iopf_enable_group(iommu, group);
			if (ret)
				vfio_iopf_unlink_domain(
					iommu, domain,
					vfio_iommu_unlink_domain);
		}
		if (ret) {
			LIST_REMOVE(g, next);
			goto out_detach;
		}
		vfio_update_pgsize_bitmap(iommu);
		goto done;
	}
	if (!ret)
		ret = vfio_iommu_replay(iommu, domain);
	if (ret) {
		LIST_REMOVE(g, next);
		goto out_detach;
	}
	mutex_lock(&iommu->iopf_lock);
	vfio_iommu_link_domain(iommu, domain);
	mutex_unlock(&iommu->iopf_lock);
	vfio_update_pgsize_bitmap(iommu);
done:
	vfio_iova_install(iommu, iova_list, nr_iova);
	/* an IOMMU-backed group can dirty any page it reaches, until it
	 * pins pages itself */
	iommu->num_non_pinned_groups++;
	ui_free(rc.regions);
	mutex_unlock(&iommu->lock);
	return 0;

out_detach:
	iommu_detach_group(domain->domain, group);
out_domain:
	iommu_domain_free(domain->domain);
out_free_domain:
	ui_free(domain);
out_free_group:
	ui_free(g);
out_unlock:
	ui_free(iova_list);
	ui_free(rc.regions);
	mutex_unlock(&iommu->lock);
	return ret;
}

void vfio_iommu_type1_detach_group(struct vfio_iommu *iommu,
				   struct iommu_group *group)
{
	struct resv_collect rc = {0};
	struct vfio_iova *iova_list;
	bool update_dirty_scope = false;
	struct vfio_iommu_group *g;
	struct vfio_domain *d;
	unsigned int nr_iova;

	if (!iommu || !group)
		return;
	mutex_lock(&iommu->lock);
	LIST_FOREACH(g, &iommu->emulated_iommu_groups, next) {
		if (g->iommu_group != group)
			continue;
		update_dirty_scope = !g->pinned_page_dirty_scope;
		LIST_REMOVE(g, next);
		ui_free(g);
		if (LIST_EMPTY(&iommu->emulated_iommu_groups) &&
		    !vfio_has_domain(iommu)) {
			WARN_ON(!LIST_EMPTY(&iommu->device_list));
			vfio_iommu_unmap_unpin_all(iommu);
		}
		goto done;
	}

	g = vfio_find_domain_group(iommu, group, &d);
	if (g) {
		/* fault reporting off first (waits for a handler in
		 * flight), then the lookup goes, then the domain */
		vfio_iopf_disable_group(iommu, group);
		vfio_group_detach_domain(d, g);
		update_dirty_scope = !g->pinned_page_dirty_scope;
		LIST_REMOVE(g, next);
		ui_free(g);
		if (LIST_EMPTY(&d->group_list)) {
			/* the last domain takes the mappings with it unless
			 * an emulated group still uses them */
			if (LIST_FIRST(&iommu->domain_list) == d &&
			    !LIST_NEXT(d, next)) {
				if (LIST_EMPTY(&iommu->emulated_iommu_groups)) {
					WARN_ON(!LIST_EMPTY(
						&iommu->device_list));
					vfio_iommu_unmap_unpin_all(iommu);
				} else {
					vfio_iopf_unmap_all(iommu);
					vfio_iommu_unmap_unpin_reaccount(iommu);
				}
			} else {
				/* take the mappings out of this domain (synced)
				 * before its tables and tag go; the pages stay
				 * pinned for the other domains */
				struct vfio_dma *dma;

				for (dma = vfio_dma_first(iommu); dma;
				     dma = vfio_dma_next(iommu, dma))
					if (dma->iommu_mapped)
						iommu_unmap(d->domain,
							    dma->iova,
							    dma->size);
			}
			/* faulted pages out of it (synced), then off the
			 * list, under iopf_lock */
			vfio_iopf_unlink_domain(iommu, d,
						vfio_iommu_unlink_domain);
			iommu_domain_free(d->domain);
			ui_free(d);
			vfio_update_pgsize_bitmap(iommu);
		}
	}
	if (!vfio_iova_build(iommu, NULL, &rc, &iova_list, &nr_iova))
		vfio_iova_install(iommu, iova_list, nr_iova);
	ui_free(rc.regions);
done:
	/* a group that could dirty anything leaves: whatever it may have
	 * written is reported dirty */
	if (update_dirty_scope) {
		iommu->num_non_pinned_groups--;
		if (iommu->dirty_page_tracking)
			vfio_iommu_populate_bitmap_full(iommu);
	}
	mutex_unlock(&iommu->lock);
}

/* ---- MAP_DMA ------------------------------------------------------------------------------ */

static int vfio_dma_do_map(struct vfio_iommu *iommu,
			   const struct vfio_iommu_type1_dma_map *map)
{
	bool set_vaddr = map->flags & VFIO_DMA_MAP_FLAG_VADDR;
	dma_addr_t iova = map->iova, last;
	unsigned long vaddr = map->vaddr, vlast;
	uint64_t size = map->size, pgsize;
	struct vfio_dma *dma;
	int ret = 0, prot = 0;

	/* READ/WRITE from the device's point of view */
	if (map->flags & VFIO_DMA_MAP_FLAG_WRITE)
		prot |= IOMMU_WRITE;
	if (map->flags & VFIO_DMA_MAP_FLAG_READ)
		prot |= IOMMU_READ;
	if ((prot && set_vaddr) || (!prot && !set_vaddr))
		return -EINVAL;

	mutex_lock(&iommu->lock);
	pgsize = vfio_pgsize(iommu);
	if (!size || (size | iova | vaddr) & (pgsize - 1)) {
		ret = -EINVAL;
		goto out_unlock;
	}
	/* no IOVA or vaddr wrap */
	if (check_add_overflow(iova, size - 1, &last) ||
	    check_add_overflow(vaddr, size - 1, &vlast)) {
		ret = -EINVAL;
		goto out_unlock;
	}

	dma = vfio_find_dma(iommu, iova, size);
	if (set_vaddr) {
		if (!dma) {
			ret = -ENOENT;
		} else if (!dma->vaddr_invalid || dma->iova != iova ||
			   dma->size != size) {
			ret = -EINVAL;
		} else {
			/* pages faulted in from the old vaddr went when it
			 * was invalidated; the handler reads vaddr under
			 * iopf_lock */
			mutex_lock(&iommu->iopf_lock);
			dma->vaddr = vaddr;
			dma->vaddr_invalid = false;
			iommu->iopf_seq++;
			mutex_unlock(&iommu->iopf_lock);
			iommu->vaddr_invalid_count--;
		}
		goto out_unlock;
	} else if (dma) {
		ret = -EEXIST;
		goto out_unlock;
	}
	if (!iommu->dma_avail) {
		ret = -ENOSPC;
		goto out_unlock;
	}
	if (!vfio_iommu_iova_dma_valid(iommu, iova, last)) {
		ret = -EINVAL;
		goto out_unlock;
	}
	dma = ui_zalloc(sizeof(*dma));
	if (!dma) {
		ret = -ENOMEM;
		goto out_unlock;
	}
	iommu->dma_avail--;
	iommu->nr_dma++;
	dma->iova = iova;
	dma->vaddr = vaddr;
	dma->size = size;
	dma->prot = prot;
	dma->lock_cap = mm_cap_ipc_lock(iommu->mm);
	RB_INIT(&dma->pfn_list);
	/* with IOPF nothing is pinned or mapped, only a zeroed bitmap
	 * allocated (its failure: -ENOMEM and no dma) */
	if (iommu->iopf_enabled && vfio_iopf_dma_alloc(dma)) {
		ui_free(dma);
		iommu->dma_avail++;
		iommu->nr_dma--;
		ret = -ENOMEM;
		goto out_unlock;
	}
	mutex_lock(&iommu->iopf_lock);
	RB_INSERT(vfio_dma_tree, &iommu->dma_list, dma);
	mutex_unlock(&iommu->iopf_lock);

	/* without an IOMMU domain nothing is pinned until one comes */
	if (vfio_has_domain(iommu) && !iommu->iopf_enabled) {
		ret = vfio_pin_map_dma(iommu, dma, NULL);
		if (!ret)
			dma->iommu_mapped = true;
	}
	if (!ret && iommu->dirty_page_tracking)
		ret = vfio_dma_bitmap_alloc(dma, pgsize);
	if (ret)
		vfio_remove_dma(iommu, dma);
	else
		san_space_record(iommu->san, SAN_EV_MAP, iova, size, vaddr,
				 (prot & IOMMU_READ ? SAN_PROT_READ : 0) |
					 (prot & IOMMU_WRITE ? SAN_PROT_WRITE
							     : 0));
out_unlock:
	mutex_unlock(&iommu->lock);
	return ret;
}

static long vfio_iommu_type1_map_dma(struct vfio_iommu *iommu,
				     unsigned long arg)
{
	uint32_t mask = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE |
			VFIO_DMA_MAP_FLAG_VADDR;
	struct vfio_iommu_type1_dma_map map;
	int ret;

	ret = copy_argsz_flags_from_user(
		&map, arg, offsetofend(struct vfio_iommu_type1_dma_map, size),
		mask);
	if (ret)
		return ret;
	return vfio_dma_do_map(iommu, &map);
}

/* ---- UNMAP_DMA --------------------------------------------------------------------------- */

static int vfio_dma_do_unmap(struct vfio_iommu *iommu,
			     struct vfio_iommu_type1_dma_unmap *unmap,
			     const struct vfio_bitmap *bitmap)
{
	bool unmap_all = unmap->flags & VFIO_DMA_UNMAP_FLAG_ALL;
	bool invalidate_vaddr = unmap->flags & VFIO_DMA_UNMAP_FLAG_VADDR;
	struct vfio_dma *dma, *dma_last = NULL, *first, *n;
	dma_addr_t iova = unmap->iova, last;
	uint64_t size = unmap->size, unmapped = 0, pgsize;
	int ret = -EINVAL, retries = 0;

	mutex_lock(&iommu->lock);
	/* drivers that pin cannot cope with vaddrs changing under them: the
	 * first check under the lock, before any of the range's */
	if (invalidate_vaddr && !LIST_EMPTY(&iommu->emulated_iommu_groups)) {
		ret = -EBUSY;
		goto unlock;
	}
	pgsize = vfio_pgsize(iommu);
	if (iova & (pgsize - 1))
		goto unlock;
	if (unmap_all) {
		if (iova || size)
			goto unlock;
		size = UINT64_MAX;
	} else if (!size || size & (pgsize - 1) ||
		   check_add_overflow(iova, size - 1, &last)) {
		goto unlock;
	}
	/* with dirty tracking, only the smallest page size */
	if ((unmap->flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP) &&
	    (!iommu->dirty_page_tracking || bitmap->pgsize != pgsize))
		goto unlock;
	last = iova + size - 1; /* size is UINT64_MAX only with iova 0 */

again:
	/*
	 * v1 forgot the granularity of the original mappings: a request that
	 * starts inside a mapping unmaps nothing (success, size 0) and one
	 * that covers a mapping's first IOVA removes the whole mapping.  v2
	 * refuses to bisect a mapping (-EINVAL) and returns 0 only when
	 * nothing was mapped in the range.
	 */
	if (iommu->v2 && !unmap_all) {
		dma = vfio_find_dma(iommu, iova, 1);
		if (dma && dma->iova != iova)
			goto unlock;
		dma = vfio_find_dma(iommu, last, 1);
		if (dma && dma->iova + dma->size - 1 != last)
			goto unlock;
	}
	ret = 0;
	first = vfio_find_dma_first(iommu, iova);
	for (dma = first; dma; dma = n) {
		if (dma->iova > last)
			break;
		if (!iommu->v2 && iova > dma->iova)
			break;
		n = vfio_dma_next(iommu, dma);
		if (invalidate_vaddr) {
			if (dma->vaddr_invalid) {
				/* undo what this call invalidated */
				for (struct vfio_dma *u = first; u != dma;
				     u = vfio_dma_next(iommu, u)) {
					mutex_lock(&iommu->iopf_lock);
					u->vaddr_invalid = false;
					mutex_unlock(&iommu->iopf_lock);
					iommu->vaddr_invalid_count--;
				}
				ret = -EINVAL;
				unmapped = 0;
				break;
			}
			/* the pages faulted in from this vaddr go now: the
			 * vaddr (and what it maps) is about to change */
			mutex_lock(&iommu->iopf_lock);
			dma->vaddr_invalid = true;
			mutex_unlock(&iommu->iopf_lock);
			if (dma->iopf_bitmap)
				vfio_iopf_dma_vaddr_change(iommu, dma);
			iommu->vaddr_invalid_count++;
			unmapped += dma->size;
			continue;
		}
		if (!RB_EMPTY(&dma->pfn_list)) {
			if (dma_last == dma) {
				if (++retries > VFIO_UNMAP_NOTIFY_RETRIES) {
					/* the kernel BUG()s here; a library
					 * must not take its program down:
					 * the unmap fails, naming the
					 * device that kept its pins, and the
					 * mapping and the pins stay */
					vfio_report_busy_pins(iommu, dma);
					iommu->unmap_busy++;
					ret = -EBUSY;
					break;
				}
				iommu->unmap_retries++;
			} else {
				dma_last = dma;
				retries = 0;
			}
			vfio_notify_dma_unmap(iommu, dma->iova, dma->size);
			goto again;
		}
		if (unmap->flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP) {
			mutex_lock(&iommu->iopf_lock);
			ret = vfio_update_user_bitmap(iommu, dma,
						      (uint64_t *)bitmap->data,
						      iova, pgsize);
			mutex_unlock(&iommu->iopf_lock);
			if (ret)
				break;
		}
		unmapped += dma->size;
		san_space_record(iommu->san, SAN_EV_UNMAP, dma->iova, dma->size,
				 dma->vaddr, 0);
		vfio_remove_dma(iommu, dma);
	}
unlock:
	mutex_unlock(&iommu->lock);
	unmap->size = unmapped;
	return ret;
}

static long vfio_iommu_type1_unmap_dma(struct vfio_iommu *iommu,
				       unsigned long arg)
{
	struct vfio_iommu_type1_dma_unmap unmap;
	struct vfio_bitmap bitmap = {0};
	size_t minsz = offsetofend(struct vfio_iommu_type1_dma_unmap, size);
	uint32_t mask = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP |
			VFIO_DMA_UNMAP_FLAG_ALL | VFIO_DMA_UNMAP_FLAG_VADDR;
	int ret;

	ret = copy_argsz_flags_from_user(&unmap, arg, minsz, mask);
	if (ret)
		return ret;
	if ((unmap.flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP) &&
	    (unmap.flags &
	     (VFIO_DMA_UNMAP_FLAG_ALL | VFIO_DMA_UNMAP_FLAG_VADDR)))
		return -EINVAL;
	if (unmap.flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP) {
		if (unmap.argsz < minsz + sizeof(bitmap))
			return -EINVAL;
		if (copy_from_user(&bitmap, (void *)(arg + minsz),
				   sizeof(bitmap)))
			return -EFAULT;
		if (!access_ok((uint64_t)(uintptr_t)bitmap.data, bitmap.size) ||
		    !bitmap.pgsize)
			return -EINVAL;
		ret = vfio_verify_bitmap_size(
			unmap.size >> __builtin_ctzll(bitmap.pgsize),
			bitmap.size);
		if (ret)
			return ret;
	}
	ret = vfio_dma_do_unmap(iommu, &unmap, &bitmap);
	if (ret)
		return ret;
	return copy_to_user((void *)arg, &unmap, minsz) ? -EFAULT : 0;
}

long vfio_iommu_type1_ioctl(struct vfio_iommu *iommu, unsigned int cmd,
			    unsigned long arg)
{
	return vfio_iommu_type1_ioctl_mm(iommu, iommu ? iommu->mm : NULL, cmd,
					 arg);
}

long vfio_iommu_type1_ioctl_mm(struct vfio_iommu *iommu, struct mm *current_mm,
			       unsigned int cmd, unsigned long arg)
{
	if (iommu && atomic_load(&iommu->broken)) {
		/* an invalidation failed; nothing is trusted any more */
		pr_err("vfio: ioctl %#x on broken container %p: -EIO", cmd,
		       (void *)iommu);
		return -EIO;
	}
	/* IOPF is bound to one mm; MAP/UNMAP must come from it */
	if (iommu &&
	    (cmd == VFIO_IOMMU_MAP_DMA || cmd == VFIO_IOMMU_UNMAP_DMA)) {
		bool wrong_mm;

		mutex_lock(&iommu->lock);
		wrong_mm = iommu->iopf_enabled && current_mm != iommu->iopf_mm;
		mutex_unlock(&iommu->lock);
		if (wrong_mm)
			return -EPERM;
	}
	switch (cmd) {
	case VFIO_IOMMU_ENABLE_IOPF:
		return iommu ? vfio_iommu_type1_enable_iopf(iommu, current_mm)
			     : -EINVAL;
	case VFIO_CHECK_EXTENSION:
		return vfio_iommu_type1_check_extension(iommu, arg);
	case VFIO_IOMMU_GET_INFO:
		return iommu ? vfio_iommu_type1_get_info(iommu, arg) : -EINVAL;
	case VFIO_IOMMU_MAP_DMA:
		return iommu ? vfio_iommu_type1_map_dma(iommu, arg) : -EINVAL;
	case VFIO_IOMMU_UNMAP_DMA: {
		long r = iommu ? vfio_iommu_type1_unmap_dma(iommu, arg)
			       : -EINVAL;

		/* not as if its invalidation completed when it did not */
		return iommu && atomic_load(&iommu->broken) ? -EIO : r;
	}
	case VFIO_IOMMU_DIRTY_PAGES:
		return iommu ? vfio_iommu_type1_dirty_pages(iommu, arg)
			     : -EINVAL;
	default:
		return -ENOTTY;
	}
}
