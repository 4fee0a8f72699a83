// SPDX-License-Identifier: MIT
/*
 * I/O page faults for the type1 backend (the VFIO IOPF series, with the reviewers'
 * design): memory is mapped on demand from a device's page requests instead
 * of being pinned when it is mapped.
 *
 * Data model:
 *  - VFIO_IOMMU_ENABLE_IOPF binds the container to one address space (the
 *    caller's, which must be the container's) and registers an MMU notifier
 *    on it.  There is no disable: IOPF stays until release.
 *  - Every vfio_dma has iopf_bitmap, one bit per PAGE_SIZE page, set
 *    exactly while that page is mapped in every domain of the container.
 *    Faulted pages are mapped one page per iommu_map call, so that any
 *    single page can be unmapped again; their pins are dropped at
 *    once (not charged): the notifier is what keeps them safe.
 *  - struct vfio_iopf_dev is the lookup from a device to its container,
 *    passed to the core as the fault handler's data.  It exists before the
 *    device's fault reporting is enabled and goes only after reporting was
 *    disabled (unregistering the handler waits for a handler in flight;
 *    requests a guest left unanswered are answered INVALID first), so a
 *    handler never sees freed state.
 *
 * The fault handler: find the vfio_dma (INVALID outside any), check
 * the access against its prot, answer SUCCESS for a page already mapped;
 * otherwise note iopf_seq, drop iopf_lock, pin the page (and up to
 * premap - 1 following unmapped ones) through mm, retake iopf_lock and
 * map only if no invalidation or removal happened meanwhile (else unpin
 * and start over), map each page into every domain, set its bit, unpin,
 * answer SUCCESS; INVALID when the pin or the map of the faulting
 * page fails; a premap page that cannot be pinned ends the window.
 * Racing requests for one page map it once.
 *
 * The MMU notifier (invalidate_range_start, under the mm's write lock,
 * before the pages change): for each dma whose vaddr range overlaps, unmap
 * its faulted pages in the page-aligned overlap from every domain, one
 * gather and one IOTLB sync per domain, clear their bits, bump iopf_seq.
 * What the IOMMU did is what counts: a run that unmap
 * could not complete (a hole, a page it would not unmap) is rechecked page
 * by page so that the bitmap ends equal to the page tables; a page that
 * stays mapped makes the container broken (every ioctl -EIO from then
 * on, with a diagnostic), never ignored.
 *
 * Dirty tracking (the target design): while it is on, a read fault
 * maps the page without write permission; a write fault maps it writable
 * and marks it dirty; a write to a page mapped read-only faults (permission)
 * and is upgraded.  Starting or stopping tracking, and reading a range's
 * bitmap, unmap the faulted pages concerned so that writes fault again.
 * Invariant while tracking: a faulted page is mapped writable iff its dirty
 * bit is set.
 *
 * Nested (patch 8 of the series): in a nested domain a fault without the L2 flag
 * (stage 1, the guest's) goes to the transfer op of the registered
 * device naming the faulting device (-EOPNOTSUPP without one); an L2 page
 * request (stage 2, the host's IPA -> PA) is handled as above.  Which
 * faults arrive is the handler flags' business (the core filters):
 * ENABLE_IOPF registers FLAT, or NESTED_L2 for a nested device (and turns
 * FLAT into NESTED_L2 when the group goes nested later); nested L1
 * registration adds NESTED_L1 to that handler, or, without host IOPF,
 * registers one for L1 only (idev->host false: its page requests are never
 * mapped by the host); unregistering takes only what it added.
 *
 * Locking: see type1_internal.h.  The handler and the notifier take only
 * iopf_lock; the handler never holds it while pinning or answering.  The
 * transfer op runs under transfer_lock (read) and the core's handler lock.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vfio/type1_internal.h"

/* Pins redone for one request before it is answered INVALID. */
#define VFIO_IOPF_MAX_RETRIES 1000

/* ---- bitmaps ------------------------------------------------------------------ */

static inline bool iopf_test(const uint64_t *m, uint64_t i)
{
	return (m[i / 64] >> (i % 64)) & 1;
}

static inline void iopf_set(uint64_t *m, uint64_t i)
{
	m[i / 64] |= 1ULL << (i % 64);
}

static inline void iopf_clear(uint64_t *m, uint64_t i)
{
	m[i / 64] &= ~(1ULL << (i % 64));
}

/* First bit of value v in [i, end), or end. */
static uint64_t iopf_find(const uint64_t *m, uint64_t i, uint64_t end, bool v)
{
	while (i < end) {
		uint64_t w = v ? m[i / 64] : ~m[i / 64];

		w &= ~0ULL << (i % 64);
		if (w) {
			i = ALIGN_DOWN(i, 64) + __builtin_ctzll(w);
			return min(i, end);
		}
		i = ALIGN_DOWN(i, 64) + 64;
	}
	return end;
}

static inline uint64_t dma_npages(const struct vfio_dma *dma)
{
	return dma->size >> PAGE_SHIFT;
}

static inline dma_addr_t page_iova(const struct vfio_dma *dma, uint64_t i)
{
	return dma->iova + (i << PAGE_SHIFT);
}

int vfio_iopf_dma_alloc(struct vfio_dma *dma)
{
	dma->iopf_bitmap =
		ui_calloc(DIV_ROUND_UP(dma_npages(dma), 64), sizeof(uint64_t));
	return dma->iopf_bitmap ? 0 : -ENOMEM;
}

/* Is page i of dma dirty (dirty tracking on, iopf_lock)? */
static bool iopf_dirty(struct vfio_iommu *iommu, struct vfio_dma *dma,
		       uint64_t i)
{
	unsigned int shift = __builtin_ctzll(iommu->pgsize_bitmap);

	lockdep_assert_held(&iommu->iopf_lock);

	return dma->bitmap &&
	       iopf_test(dma->bitmap, ((i << PAGE_SHIFT) >> shift));
}

void vfio_iopf_mark_dirty(struct vfio_iommu *iommu, struct vfio_dma *dma,
			  dma_addr_t iova)
{
	unsigned int shift = __builtin_ctzll(iommu->pgsize_bitmap);

	lockdep_assert_held(&iommu->iopf_lock);

	if (iommu->dirty_page_tracking && dma->bitmap)
		iopf_set(dma->bitmap, (iova - dma->iova) >> shift);
}

/* The prot a faulted page is mapped with: read-only while tracking dirty
 * pages unless it is (being marked) dirty. */
static int iopf_map_prot(struct vfio_iommu *iommu, struct vfio_dma *dma,
			 uint64_t i)
{
	lockdep_assert_held(&iommu->iopf_lock);

	if (iommu->dirty_page_tracking && !iopf_dirty(iommu, dma, i) &&
	    (dma->prot & IOMMU_READ))
		return dma->prot & ~IOMMU_WRITE;
	return dma->prot;
}

/* ---- broken containers ------------------------------------------------------------ */

void vfio_iommu_set_broken(struct vfio_iommu *iommu, const char *why)
{
	if (!atomic_exchange(&iommu->broken, true))
		pr_err("vfio: container %p is broken: %s; its mappings may "
		       "still reach memory the user gave up, every ioctl fails "
		       "with -EIO",
		       (void *)iommu, why);
}

/* ---- map and unmap of faulted pages (iopf_lock) -------------------------------------- */

/* One page into every domain; all or nothing. */
static int iopf_map_page(struct vfio_iommu *iommu, dma_addr_t iova,
			 phys_addr_t pa, int prot)
{
	struct vfio_domain *d, *e;
	int ret;

	lockdep_assert_held(&iommu->iopf_lock);

	if (iommu->noncoherent_domains)
		cache_flush_phys(iommu->pm, pa, PAGE_SIZE);
	LIST_FOREACH(d, &iommu->domain_list, next) {
		ret = iommu_map(d->domain, iova, pa, PAGE_SIZE,
				vfio_domain_prot(d, prot));
		if (ret)
			goto unwind;
	}
	return 0;

unwind:
	LIST_FOREACH(e, &iommu->domain_list, next) {
		if (e == d)
			break;
		iommu_unmap(e->domain, iova, PAGE_SIZE);
	}
	return ret;
}

/* Bring page i of dma back to "unmapped everywhere" or "mapped
 * everywhere" (keep), whichever the IOMMU allows; its bit follows.  -EIO
 * when a page to be unmapped stays mapped. */
static int iopf_settle_page(struct vfio_iommu *iommu, struct vfio_dma *dma,
			    uint64_t i, bool keep)
{
	dma_addr_t iova = page_iova(dma, i);
	unsigned int nd = 0, mapped = 0;
	struct vfio_domain *d;

	lockdep_assert_held(&iommu->iopf_lock);

	LIST_FOREACH(d, &iommu->domain_list, next) {
		nd++;
		mapped += !!iommu_iova_to_phys(d->domain, iova);
	}
	if (keep && nd && mapped == nd)
		return 0;
	if (mapped) {
		LIST_FOREACH(d, &iommu->domain_list, next)
			if (iommu_iova_to_phys(d->domain, iova))
				iommu_unmap(d->domain, iova, PAGE_SIZE);
		LIST_FOREACH(d, &iommu->domain_list, next)
			if (iommu_iova_to_phys(d->domain, iova))
				return -EIO;
	}
	if (iopf_test(dma->iopf_bitmap, i)) {
		iopf_clear(dma->iopf_bitmap, i);
		iommu->iopf_resident--;
		iommu->iopf_unmapped_pages++;
	}
	return 0;
}

/*
 * Unmap the faulted pages of dma in pages [first, last) from every domain
 * (only, when given: a domain leaving), one gather and sync per domain, and
 * clear their bits (not for only).  Returns the pages unmapped, or -EIO
 * when some page could not be unmapped (its bit stays set).
 */
static long iopf_unmap_range(struct vfio_iommu *iommu, struct vfio_dma *dma,
			     uint64_t first, uint64_t last,
			     struct vfio_domain *only)
{
	uint64_t *map = dma->iopf_bitmap, n = 0, p, q;
	bool irregular = false;
	struct vfio_domain *d;
	int err = 0;

	lockdep_assert_held(&iommu->iopf_lock);

	if (!map)
		return 0;
	last = min(last, dma_npages(dma));
	if (iopf_find(map, first, last, true) == last)
		return 0;
	LIST_FOREACH(d, &iommu->domain_list, next) {
		struct iommu_iotlb_gather gather;

		if (only && d != only)
			continue;
		iommu_iotlb_gather_init(&gather);
		for (p = iopf_find(map, first, last, true); p < last;
		     p = iopf_find(map, q, last, true)) {
			uint64_t off = p;

			q = iopf_find(map, p, last, false);
			while (off < q) {
				size_t want = (q - off) << PAGE_SHIFT;
				size_t got = iommu_unmap_fast(
					d->domain, page_iova(dma, off), want,
					&gather);

				/* act on what unmap did, not on what
				 * was asked */
				if (!got) {
					irregular = true;
					off++;
					continue;
				}
				if (got != want)
					irregular = true;
				off += DIV_ROUND_UP(got, PAGE_SIZE);
			}
		}
		iommu_iotlb_sync(d->domain, &gather);
		iommu->iopf_syncs++;
	}
	if (only)
		return 0;
	if (!irregular) {
		for (p = iopf_find(map, first, last, true); p < last;
		     p = iopf_find(map, p + 1, last, true)) {
			iopf_clear(map, p);
			n++;
		}
		iommu->iopf_resident -= n;
		iommu->iopf_unmapped_pages += n;
		return n;
	}
	/* a hole, a short or a long unmap: settle the dma page by page */
	for (p = 0; p < dma_npages(dma); p++) {
		bool in = p >= first && p < last;
		bool was = iopf_test(map, p);

		if (!was && !in)
			continue;
		if (iopf_settle_page(iommu, dma, p, !in)) {
			err = -EIO;
			continue;
		}
		n += was && !iopf_test(map, p);
	}
	return err ? err : (long)n;
}

static void iopf_unmap_dma(struct vfio_iommu *iommu, struct vfio_dma *dma)
{
	lockdep_assert_held(&iommu->iopf_lock);

	if (iopf_unmap_range(iommu, dma, 0, dma_npages(dma), NULL) < 0)
		vfio_iommu_set_broken(iommu, "faulted pages could not be "
					     "unmapped");
}

/* The faulted pages of dma (NULL: of every dma) unmapped everywhere, and
 * iopf_seq bumped so that a handler that pinned meanwhile starts over. */
static void iopf_unmap_bump_seq(struct vfio_iommu *iommu, struct vfio_dma *dma)
{
	struct vfio_dma *d;

	lockdep_assert_held(&iommu->lock);

	mutex_lock(&iommu->iopf_lock);
	for (d = dma ? dma : vfio_dma_first(iommu); d;
	     d = dma ? NULL : vfio_dma_next(iommu, d))
		iopf_unmap_dma(iommu, d);
	iommu->iopf_seq++;
	mutex_unlock(&iommu->iopf_lock);
}

void vfio_iopf_unmap_all(struct vfio_iommu *iommu)
{
	iopf_unmap_bump_seq(iommu, NULL);
}

void vfio_iopf_dma_vaddr_change(struct vfio_iommu *iommu, struct vfio_dma *dma)
{
	iopf_unmap_bump_seq(iommu, dma);
}

void vfio_iopf_dma_unlink(struct vfio_iommu *iommu, struct vfio_dma *dma)
{
	lockdep_assert_held(&iommu->lock);

	mutex_lock(&iommu->iopf_lock);
	/* unmapped everywhere and synced, nothing to uncharge */
	iopf_unmap_dma(iommu, dma);
	vfio_dma_tree_remove(iommu, dma);
	iommu->iopf_seq++;
	mutex_unlock(&iommu->iopf_lock);
	ui_free(dma->iopf_bitmap);
	dma->iopf_bitmap = NULL;
}

void vfio_iopf_dirty_reset(struct vfio_iommu *iommu, struct vfio_dma *dma)
{
	uint64_t np = dma_npages(dma), i;

	lockdep_assert_held(&iommu->iopf_lock);

	if (!dma->iopf_bitmap || !dma->bitmap)
		return;
	for (i = iopf_find(dma->iopf_bitmap, 0, np, true); i < np;
	     i = iopf_find(dma->iopf_bitmap, i + 1, np, true))
		if (iopf_dirty(iommu, dma, i) &&
		    iopf_unmap_range(iommu, dma, i, i + 1, NULL) < 0)
			vfio_iommu_set_broken(iommu, "a dirty faulted page "
						     "could not be unmapped");
	iommu->iopf_seq++;
}

/* ---- domains ---------------------------------------------------------------------------- */

int vfio_iopf_link_domain(struct vfio_iommu *iommu, struct vfio_domain *domain,
			  void (*link)(struct vfio_iommu *,
				       struct vfio_domain *))
{
	struct vfio_domain *src;
	struct vfio_dma *dma, *u;
	int ret = 0;

	lockdep_assert_held(&iommu->lock);

	mutex_lock(&iommu->iopf_lock);
	src = LIST_FIRST(&iommu->domain_list);
	/* pages faulted in before are mapped into the new domain, or
	 * its devices would fault on them forever (their bits say mapped) */
	for (dma = vfio_dma_first(iommu); dma && src && !ret;
	     dma = vfio_dma_next(iommu, dma)) {
		uint64_t np = dma_npages(dma), i;

		if (!dma->iopf_bitmap)
			continue;
		for (i = iopf_find(dma->iopf_bitmap, 0, np, true); i < np;
		     i = iopf_find(dma->iopf_bitmap, i + 1, np, true)) {
			dma_addr_t iova = page_iova(dma, i);
			phys_addr_t pa = iommu_iova_to_phys(src->domain, iova);
			int prot = iopf_map_prot(iommu, dma, i);

			if (!domain->enforce_cache_coherency)
				cache_flush_phys(iommu->pm, pa, PAGE_SIZE);
			ret = iommu_map(domain->domain, iova, pa, PAGE_SIZE,
					vfio_domain_prot(domain, prot));
			if (ret)
				break;
		}
		if (ret) {
			for (u = vfio_dma_first(iommu); u;
			     u = vfio_dma_next(iommu, u)) {
				if (u->iopf_bitmap)
					iopf_unmap_range(iommu, u, 0,
							 dma_npages(u), domain);
				if (u == dma)
					break;
			}
		}
	}
	if (!ret)
		link(iommu, domain);
	mutex_unlock(&iommu->iopf_lock);
	return ret;
}

void vfio_iopf_unlink_domain(struct vfio_iommu *iommu,
			     struct vfio_domain *domain,
			     void (*unlink)(struct vfio_iommu *,
					    struct vfio_domain *))
{
	struct vfio_dma *dma;

	lockdep_assert_held(&iommu->lock);

	mutex_lock(&iommu->iopf_lock);
	for (dma = vfio_dma_first(iommu); dma; dma = vfio_dma_next(iommu, dma))
		iopf_unmap_range(iommu, dma, 0, dma_npages(dma), domain);
	unlink(iommu, domain);
	if (LIST_EMPTY(&iommu->domain_list)) {
		/* nothing is mapped anywhere now */
		for (dma = vfio_dma_first(iommu); dma;
		     dma = vfio_dma_next(iommu, dma)) {
			if (!dma->iopf_bitmap)
				continue;
			memset(dma->iopf_bitmap, 0,
			       DIV_ROUND_UP(dma_npages(dma), 64) * 8);
		}
		iommu->iopf_resident = 0;
	}
	iommu->iopf_seq++;
	mutex_unlock(&iommu->iopf_lock);
}

/* ---- pages pinned by drivers --------------------------------------------------------- */

uint64_t vfio_iopf_seq(struct vfio_iommu *iommu)
{
	uint64_t seq;

	mutex_lock(&iommu->iopf_lock);
	seq = iommu->iopf_seq;
	mutex_unlock(&iommu->iopf_lock);
	return seq;
}

int vfio_iopf_map_pinned(struct vfio_iommu *iommu, struct vfio_dma *dma,
			 dma_addr_t iova, phys_addr_t pa, uint64_t seq)
{
	uint64_t i = (iova - dma->iova) >> PAGE_SHIFT;
	int ret = 0;

	lockdep_assert_held(&iommu->lock);

	mutex_lock(&iommu->iopf_lock);
	/* an invalidation since the pin: the pinned frame is no longer the
	 * user's page; the device will fault the current one in */
	if (seq == iommu->iopf_seq && dma->iopf_bitmap &&
	    !iopf_test(dma->iopf_bitmap, i) && vfio_has_domain(iommu)) {
		ret = iopf_map_page(iommu, iova, pa,
				    iopf_map_prot(iommu, dma, i));
		if (!ret) {
			iopf_set(dma->iopf_bitmap, i);
			iommu->iopf_resident++;
		}
	}
	mutex_unlock(&iommu->iopf_lock);
	return ret;
}

/* ---- the fault handler ------------------------------------------------------------------------- */

/* Unmap page i of dma everywhere (a read-only page being made writable). */
static int iopf_unmap_one(struct vfio_iommu *iommu, struct vfio_dma *dma,
			  uint64_t i)
{
	long n = iopf_unmap_range(iommu, dma, i, i + 1, NULL);

	lockdep_assert_held(&iommu->iopf_lock);

	if (n < 0)
		vfio_iommu_set_broken(iommu, "a read-only faulted page could "
					     "not be unmapped");
	return n < 0 ? (int)n : 0;
}

/*
 * Pin the n pages from vaddr (the faulting page and its premap window).
 * mm pins all or nothing: when a page of the window cannot be pinned (its
 * vaddr unmapped, say), the window ends before it, as get_user_pages'
 * partial count ends it in the kernel, so the faulting page still gets in
 * (only its own pin failing makes the answer INVALID).
 */
static long iopf_pin(struct mm *mm, unsigned long vaddr, uint64_t n,
		     unsigned int gup_flags, struct mm_pin_run *runs,
		     unsigned int max_runs, unsigned int *nr)
{
	long pinned = mm_pin_pages(mm, vaddr, n, gup_flags, runs, max_runs, nr);
	unsigned int got;
	uint64_t k;

	if (pinned > 0 || n == 1)
		return pinned;
	*nr = 0;
	for (k = 0; k < n && *nr < max_runs; k++) {
		if (mm_pin_pages(mm, vaddr + (k << PAGE_SHIFT), 1, gup_flags,
				 runs + *nr, max_runs - *nr, &got) != 1)
			break;
		*nr += got;
	}
	return k ? (long)k : pinned;
}

static enum iommu_page_response_code
vfio_iopf_fault(struct vfio_iommu *iommu, uint64_t addr, uint32_t perm)
{
	dma_addr_t iova = ALIGN_DOWN(addr, PAGE_SIZE); /* its page */
	bool write = perm & IOMMU_FAULT_PERM_WRITE;
	struct mm_pin_run runs[VFIO_IOPF_PREMAP_MAX];
	enum iommu_page_response_code code;
	unsigned int tries = 0, nr, k;
	struct vfio_dma *dma;
	uint64_t bit, n, seq, i;
	unsigned long vaddr;
	int prot;
	long pinned;

	mutex_lock(&iommu->iopf_lock);
	iommu->iopf_faults++;
again:
	code = IOMMU_PAGE_RESP_INVALID;
	if (atomic_load(&iommu->broken) || !iommu->iopf_enabled)
		goto out_unlock;
	dma = vfio_find_dma(iommu, iova, PAGE_SIZE);
	/* nothing outside a mapping, nor beyond its prot */
	if (!dma || !dma->iopf_bitmap || dma->vaddr_invalid)
		goto out_unlock;
	if (!(dma->prot & (write ? IOMMU_WRITE : IOMMU_READ)))
		goto out_unlock;
	bit = (iova - dma->iova) >> PAGE_SHIFT;
	if (iopf_test(dma->iopf_bitmap, bit)) {
		/* mapped already (a duplicate or a racing request) ...
		 * unless a write finds it read-only for dirty tracking */
		if (!(write && iommu->dirty_page_tracking &&
		      !iopf_dirty(iommu, dma, bit))) {
			iommu->iopf_already++;
			code = IOMMU_PAGE_RESP_SUCCESS;
			goto out_unlock;
		}
		if (iopf_unmap_one(iommu, dma, bit))
			goto out_unlock;
		iommu->iopf_seq++;
	}
	/* up to premap pages, stopping before a mapped page and at the
	 * end of the mapping */
	for (n = 1; n < iommu->iopf_premap && bit + n < dma_npages(dma); n++)
		if (iopf_test(dma->iopf_bitmap, bit + n))
			break;
	vaddr = dma->vaddr + (bit << PAGE_SHIFT);
	prot = dma->prot;
	seq = iommu->iopf_seq;
	mutex_unlock(&iommu->iopf_lock);

	/* resolve and pin through mm, without iopf_lock (the notifier takes
	 * it under the mm's lock) */
	pinned = iopf_pin(iommu->iopf_mm, vaddr, n,
			  prot & IOMMU_WRITE ? MM_GUP_WRITE : 0, runs,
			  ARRAY_SIZE(runs), &nr);

	mutex_lock(&iommu->iopf_lock);
	if (pinned <= 0)
		goto out_unlock; /* INVALID: the faulting page did not pin */
	if (seq != iommu->iopf_seq) {
		/* invalidated or removed meanwhile: the frames may no longer
		 * be the user's pages */
		mutex_unlock(&iommu->iopf_lock);
		mm_unpin_pages(iommu->iopf_mm, runs, nr, 0);
		mutex_lock(&iommu->iopf_lock);
		iommu->iopf_retries++;
		if (++tries < VFIO_IOPF_MAX_RETRIES)
			goto again;
		goto out_unlock;
	}
	i = bit;
	for (k = 0; k < nr; k++) {
		for (uint64_t j = 0; j < runs[k].npages; j++, i++) {
			phys_addr_t pa = runs[k].pa + (j << PAGE_SHIFT);
			int mp;

			if (iopf_test(dma->iopf_bitmap, i)) {
				/* mapped by a racing request meanwhile */
				if (i == bit)
					code = IOMMU_PAGE_RESP_SUCCESS;
				continue;
			}
			/* only the page written is dirty */
			if (i == bit && write)
				vfio_iopf_mark_dirty(iommu, dma,
						     page_iova(dma, i));
			mp = iopf_map_prot(iommu, dma, i);
			if (iopf_map_page(iommu, page_iova(dma, i), pa, mp))
				goto mapped;
			iopf_set(dma->iopf_bitmap, i);
			iommu->iopf_resident++;
			iommu->iopf_mapped_pages++;
			if (i == bit)
				code = IOMMU_PAGE_RESP_SUCCESS;
		}
	}
mapped:
	if (code != IOMMU_PAGE_RESP_SUCCESS)
		iommu->iopf_invalid++;
	mutex_unlock(&iommu->iopf_lock);
	/* the mappings stay, the pins go */
	mm_unpin_pages(iommu->iopf_mm, runs, nr, 0);
	return code;

out_unlock:
	if (code != IOMMU_PAGE_RESP_SUCCESS)
		iommu->iopf_invalid++;
	mutex_unlock(&iommu->iopf_lock);
	return code;
}

/* Is the fault at stage 2 of a nested translation?  Neither a page
 * request nor an unrecoverable fault: not L2 (patch 8 left it uninitialised). */
static bool iopf_fault_l2(const struct iommu_fault *fault)
{
	switch (fault->type) {
	case IOMMU_FAULT_PAGE_REQ:
		return fault->prm.flags & IOMMU_FAULT_PAGE_REQUEST_L2;
	case IOMMU_FAULT_DMA_UNRECOV:
		return fault->event.flags & IOMMU_FAULT_UNRECOV_L2;
	default:
		return false;
	}
}

/* A stage-1 fault goes to the guest through the transfer op of the
 * registered device that names dev; -EOPNOTSUPP without one. */
static int vfio_iopf_transfer(struct vfio_iopf_dev *idev,
			      struct iommu_fault *fault)
{
	struct vfio_iommu *iommu = idev->iommu;
	struct vfio_iommu_device *vdev;
	int ret = -EOPNOTSUPP;

	/* held across the call: the device cannot unregister meanwhile */
	down_read(&iommu->transfer_lock);
	LIST_FOREACH(vdev, &iommu->device_list, link) {
		if (vdev->dev != idev->dev)
			continue;
		if (vdev->ops && vdev->ops->transfer)
			ret = vdev->ops->transfer(fault, vdev->priv);
		break;
	}
	up_read(&iommu->transfer_lock);
	return ret;
}

static int vfio_iopf_handler(struct iommu_fault *fault, void *data)
{
	struct vfio_iopf_dev *idev = data;
	struct iommu_page_response resp = {0};
	int nested;

	/* in a nested domain the level decides whose fault it is */
	if (iommu_domain_nesting(idev->dev, &nested))
		return -ENODEV;
	if (nested && !iopf_fault_l2(fault))
		return vfio_iopf_transfer(idev, fault); /* the guest's */
	/* unrecoverable faults are not ours; they keep being reported */
	if (fault->type != IOMMU_FAULT_PAGE_REQ)
		return -EOPNOTSUPP;
	/* a handler registered for L1 only: no host IOPF to map with */
	if (!idev->host)
		return -EOPNOTSUPP;
	vfio_trace(idev->iommu, VFIO_TRACE_IOPF_FAULT, NULL, fault->prm.addr,
		   (uintptr_t)idev->dev, 0, 0);
	/* a stage-2 page request is a host IOPF like a flat one */
	resp.code =
		vfio_iopf_fault(idev->iommu, fault->prm.addr, fault->prm.perm);
	if (!(fault->prm.flags & IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE))
		return 0; /* the group's last request gets the answer */
	resp.grpid = fault->prm.grpid;
	if (fault->prm.flags & IOMMU_FAULT_PAGE_RESPONSE_NEEDS_PASID) {
		resp.flags = IOMMU_PAGE_RESP_PASID_VALID;
		resp.pasid = fault->prm.pasid;
	}
	iommu_page_response(idev->dev, &resp);
	return 0;
}

/* ---- the MMU notifier ----------------------------------------------------------------------- */

static void vfio_iopf_invalidate(struct mmu_notifier *mn,
				 const struct mmu_notifier_range *r)
{
	struct vfio_iommu *iommu = container_of(mn, struct vfio_iommu, mn);
	bool hit = false;
	struct vfio_dma *dma;

	mutex_lock(&iommu->iopf_lock);
	for (dma = vfio_dma_first(iommu); dma;
	     dma = vfio_dma_next(iommu, dma)) {
		unsigned long s, e;
		long n;

		/* ranges that overlap no mapping cost no IOMMU work */
		if (r->end <= dma->vaddr || r->start >= dma->vaddr + dma->size)
			continue;
		hit = true;
		s = ALIGN_DOWN(max(r->start, dma->vaddr), PAGE_SIZE);
		e = ALIGN_UP(min(r->end, dma->vaddr + dma->size), PAGE_SIZE);
		n = iopf_unmap_range(iommu, dma, (s - dma->vaddr) >> PAGE_SHIFT,
				     (e - dma->vaddr) >> PAGE_SHIFT, NULL);
		if (n > 0)
			iommu->iopf_invalidations++;
		/* the device keeps access to pages the user gave up:
		 * fatal for the container, never ignored */
		if (n < 0)
			vfio_iommu_set_broken(iommu, "an MMU-notifier "
						     "invalidation "
						     "could not unmap faulted "
						     "pages");
	}
	if (hit)
		iommu->iopf_seq++;
	mutex_unlock(&iommu->iopf_lock);
}

static void vfio_iopf_mm_release(struct mmu_notifier *mn, struct mm *mm)
{
	struct vfio_iommu *iommu = container_of(mn, struct vfio_iommu, mn);
	struct vfio_dma *dma;

	(void)mm;
	/* the address space goes: nothing of it stays mapped */
	mutex_lock(&iommu->iopf_lock);
	for (dma = vfio_dma_first(iommu); dma; dma = vfio_dma_next(iommu, dma))
		iopf_unmap_dma(iommu, dma);
	iommu->iopf_seq++;
	iommu->iopf_mm_gone = true;
	mutex_unlock(&iommu->iopf_lock);
}

static const struct mmu_notifier_ops vfio_iopf_mn_ops = {
	.invalidate_range_start = vfio_iopf_invalidate,
	.release = vfio_iopf_mm_release,
};

/* ---- enabling devices ------------------------------------------------------------------------- */

/* Reporting off, then the lookup goes.  A negative errno, never -1. */
static int vfio_iopf_dev_disable(struct vfio_iommu *iommu,
				 struct vfio_iopf_dev *idev)
{
	int ret = 0;

	lockdep_assert_held(&iommu->lock);

	if (idev->enabled) {
		/* waits for a handler in flight.  -EBUSY with requests
		 * nobody answered: stage-1 faults transferred to a guest that
		 * has not answered yet.  Nobody will once the device leaves:
		 * they are answered INVALID here, then it is tried again (a
		 * fault may be transferred in between, so a few times) */
		for (int tries = 0; tries < 16; tries++) {
			ret = iommu_unregister_device_fault_handler(idev->dev);
			if (ret != -EBUSY)
				break;
			iommu_abort_page_requests(idev->dev);
		}
		if (WARN_ON(ret)) {
			/* keep the lookup: the handler may still use it */
			LIST_REMOVE(idev, link);
			return ret;
		}
		ret = iommu_dev_disable_feature(idev->dev, IOMMU_DEV_FEAT_IOPF);
		WARN_ON(ret);
		idev->enabled = false;
		vfio_trace(iommu, VFIO_TRACE_IOPF_DISABLE, NULL, 0,
			   (uintptr_t)idev->dev, 0, 0);
	}
	LIST_REMOVE(idev, link);
	vfio_trace(iommu, VFIO_TRACE_IOPF_LOOKUP_DEL, NULL, 0,
		   (uintptr_t)idev->dev, 0, 0);
	ui_free(idev);
	return ret;
}

/*
 * Make dev report its I/O page faults to type1 with the given handler
 * flags: a lookup entry first (a fault right after enabling finds
 * it), then the feature, then the handler.  Unwinds on failure.
 */
static int iopf_dev_start(struct vfio_iommu *iommu, struct device *dev,
			  struct iommu_group *group, unsigned int flags,
			  struct vfio_iopf_dev **out)
{
	struct vfio_iopf_dev *idev;
	int ret;

	lockdep_assert_held(&iommu->lock);

	idev = ui_zalloc(sizeof(*idev));
	if (!idev)
		return -ENOMEM;
	idev->iommu = iommu;
	idev->dev = dev;
	idev->group = group;
	LIST_INSERT_HEAD(&iommu->iopf_devs, idev, link);
	vfio_trace(iommu, VFIO_TRACE_IOPF_LOOKUP_ADD, NULL, 0, (uintptr_t)dev,
		   0, 0);
	ret = iommu_dev_enable_feature(dev, IOMMU_DEV_FEAT_IOPF);
	if (ret)
		goto err_lookup;
	ret = iommu_register_device_fault_handler(dev, vfio_iopf_handler, flags,
						  idev);
	if (ret)
		goto err_feature;
	idev->enabled = true;
	vfio_trace(iommu, VFIO_TRACE_IOPF_ENABLE, NULL, 0, (uintptr_t)dev, 0,
		   0);
	*out = idev;
	return 0;

err_feature:
	iommu_dev_disable_feature(dev, IOMMU_DEV_FEAT_IOPF);
err_lookup:
	vfio_iopf_dev_disable(iommu, idev);
	return ret;
}

struct iopf_enable_ctx {
	struct vfio_iommu *iommu;
	struct iommu_group *group;
	int ret;
};

static int vfio_iopf_dev_enable(struct device *dev, void *data)
{
	struct iopf_enable_ctx *ctx = data;
	struct vfio_iopf_dev *idev;
	int nested = 0;

	if (iommu_domain_nesting(dev, &nested))
		nested = 0;
	ctx->ret = iopf_dev_start(
		ctx->iommu, dev, ctx->group,
		nested ? FAULT_REPORT_NESTED_L2 : FAULT_REPORT_FLAT, &idev);
	if (!ctx->ret)
		idev->host = true;
	return ctx->ret;
}

void vfio_iopf_disable_group(struct vfio_iommu *iommu,
			     struct iommu_group *group)
{
	struct vfio_iopf_dev *idev, *n;

	lockdep_assert_held(&iommu->lock);

	for (idev = LIST_FIRST(&iommu->iopf_devs); idev; idev = n) {
		n = LIST_NEXT(idev, link);
		if (!group || idev->group == group)
			vfio_iopf_dev_disable(iommu, idev);
	}
}

int vfio_iopf_enable_group(struct vfio_iommu *iommu, struct iommu_group *group)
{
	struct iopf_enable_ctx ctx = {iommu, group, 0};

	lockdep_assert_held(&iommu->lock);

	iommu_group_for_each_dev(group, &ctx, vfio_iopf_dev_enable);
	if (ctx.ret)
		vfio_iopf_disable_group(iommu, group);
	return ctx.ret;
}

/* ---- nested reporting (patch 8 of the VFIO IOPF series) ------------------------------------------------- */

static struct vfio_iopf_dev *iopf_find_dev(struct vfio_iommu *iommu,
					   struct device *dev)
{
	struct vfio_iopf_dev *idev;

	lockdep_assert_held(&iommu->lock);

	LIST_FOREACH(idev, &iommu->iopf_devs, link)
		if (idev->dev == dev)
			return idev;
	return NULL;
}

void vfio_iopf_group_nested(struct vfio_iommu *iommu, struct iommu_group *group)
{
	struct vfio_iopf_dev *idev;

	lockdep_assert_held(&iommu->lock);

	LIST_FOREACH(idev, &iommu->iopf_devs, link)
		if (idev->group == group && idev->host)
			WARN_ON(iommu_update_device_fault_handler(
				idev->dev, ~FAULT_REPORT_FLAT,
				FAULT_REPORT_NESTED_L2));
}

int vfio_iopf_register_l1(struct vfio_iommu *iommu, struct device *dev)
{
	struct vfio_iopf_dev *idev = iopf_find_dev(iommu, dev);
	int ret;

	lockdep_assert_held(&iommu->lock);

	if (idev) {
		if (idev->l1)
			return -EBUSY;
		/* the host's handler takes L1 faults too */
		ret = iommu_update_device_fault_handler(dev, ~0u,
							FAULT_REPORT_NESTED_L1);
		if (!ret)
			idev->l1 = true;
		return ret;
	}
	/* no host IOPF: a handler for L1 only */
	ret = iopf_dev_start(iommu, dev, dev->group, FAULT_REPORT_NESTED_L1,
			     &idev);
	if (!ret)
		idev->l1 = true;
	return ret;
}

int vfio_iopf_unregister_l1(struct vfio_iommu *iommu, struct device *dev)
{
	struct vfio_iopf_dev *idev = iopf_find_dev(iommu, dev);
	int ret;

	lockdep_assert_held(&iommu->lock);

	if (!idev || !idev->l1)
		return -EINVAL;
	if (idev->host) {
		/* only the flag goes; host IOPF stays */
		ret = iommu_update_device_fault_handler(
			dev, ~FAULT_REPORT_NESTED_L1, 0);
		if (!ret)
			idev->l1 = false;
		return ret;
	}
	return vfio_iopf_dev_disable(iommu, idev);
}

/* ---- VFIO_IOMMU_ENABLE_IOPF -------------------------------------------------------------------- */

void vfio_iopf_init(struct vfio_iommu *iommu)
{
	mutex_init(&iommu->iopf_lock, VFIO_LOCK_IOPF);
	LIST_INIT(&iommu->iopf_devs);
	iommu->iopf_premap = 1;
	iommu->mn.ops = &vfio_iopf_mn_ops;
}

/*
 * Before the pins of a converted dma go: a pinned page whose user page was
 * replaced meanwhile (a discard keeps the pinned frame for the pinner) is
 * not the user's page any more and must not stay mapped unpinned.  Checked
 * with the notifier registered, so later changes are its business.
 */
static void iopf_drop_stale_pins(struct vfio_iommu *iommu, struct vfio_dma *dma)
{
	lockdep_assert_held(&iommu->lock);

	for (struct vfio_dma_chunk *c = dma->chunks; c; c = c->next) {
		uint64_t i = (c->iova - dma->iova) >> PAGE_SHIFT;

		for (unsigned int r = 0; r < c->nr; r++) {
			for (uint64_t k = 0; k < c->runs[r].npages; k++, i++) {
				phys_addr_t pa =
					c->runs[r].pa + (k << PAGE_SHIFT);
				struct mm_pin_run cur = {0};
				unsigned int nr;

				if (mm_pin_pages(iommu->mm,
						 dma->vaddr + (i << PAGE_SHIFT),
						 1, 0, &cur, 1, &nr) == 1)
					mm_unpin_pages(iommu->mm, &cur, 1, 0);
				if (cur.pa == pa)
					continue;
				mutex_lock(&iommu->iopf_lock);
				if (iopf_unmap_range(iommu, dma, i, i + 1,
						     NULL) < 0)
					vfio_iommu_set_broken(iommu, "a stale "
								     "pinned "
								     "page "
								     "could "
								     "not be "
								     "unmappe"
								     "d");
				mutex_unlock(&iommu->iopf_lock);
			}
		}
	}
}

/* What converting dma owes: the pages drivers pinned are charged with IOPF
 * on, the IOMMU pins' charge goes. */
static long conversion_delta(struct vfio_dma *dma)
{
	return (long)dma->nr_pfns - dma->locked_vm;
}

long vfio_iommu_type1_enable_iopf(struct vfio_iommu *iommu,
				  struct mm *current_mm)
{
	struct vfio_domain *d;
	struct vfio_iommu_group *g;
	struct vfio_dma *dma, *u;
	int ret;

	if (!current_mm)
		return -ENODEV; /* a caller without an address space */
	mutex_lock(&iommu->lock);
	/* enabled already, or nested L1 reporting registered first: patch 8
	 * configures L1 after L2 */
	if (iommu->iopf_enabled || !LIST_EMPTY(&iommu->iopf_devs)) {
		ret = -EBUSY;
		goto out_unlock;
	}
	if (current_mm != iommu->mm) {
		/* the one mm IOPF is bound to is the one the mappings'
		 * vaddrs are in */
		ret = -EPERM;
		goto out_unlock;
	}

	/* 1. the bitmaps, and the charges converted pins will owe (the only
	 * charges that can fail come first) */
	for (dma = vfio_dma_first(iommu); dma;
	     dma = vfio_dma_next(iommu, dma)) {
		long delta = conversion_delta(dma);

		ret = vfio_iopf_dma_alloc(dma);
		if (ret)
			goto err_bitmaps;
		if (delta > 0) {
			ret = vfio_lock_acct(iommu, dma, delta);
			if (ret) {
				ui_free(dma->iopf_bitmap);
				dma->iopf_bitmap = NULL;
				goto err_bitmaps;
			}
			dma->iopf_charged = delta;
		}
	}
	/* pages pinned and mapped now are the first faulted-in pages */
	mutex_lock(&iommu->iopf_lock);
	for (dma = vfio_dma_first(iommu); dma;
	     dma = vfio_dma_next(iommu, dma)) {
		for (struct vfio_dma_chunk *c = dma->chunks; c; c = c->next) {
			uint64_t b = (c->iova - dma->iova) >> PAGE_SHIFT;

			for (uint64_t k = 0; k < c->npages; k++)
				iopf_set(dma->iopf_bitmap, b + k);
			iommu->iopf_resident += c->npages;
		}
	}
	mutex_unlock(&iommu->iopf_lock);

	/* 2. the notifier, before any page is left unpinned */
	ret = mmu_notifier_register(&iommu->mn, current_mm);
	if (ret)
		goto err_bits;
	mutex_lock(&iommu->iopf_lock);
	iommu->iopf_mm = current_mm;
	iommu->iopf_enabled = true;
	mutex_unlock(&iommu->iopf_lock);

	/* 3. every device of every group, lookup before reporting */
	LIST_FOREACH(d, &iommu->domain_list, next) {
		LIST_FOREACH(g, &d->group_list, next) {
			ret = vfio_iopf_enable_group(iommu, g->iommu_group);
			if (ret)
				goto err_devices;
		}
	}

	/* 4. convert: the pins go, uncharged; the pages stay mapped */
	for (dma = vfio_dma_first(iommu); dma;
	     dma = vfio_dma_next(iommu, dma)) {
		if (!dma->vaddr_invalid)
			iopf_drop_stale_pins(iommu, dma);
		vfio_dma_release_pins(iommu, dma);
		vfio_lock_acct(iommu, dma, conversion_delta(dma));
		dma->iopf_charged = 0;
	}
	ret = 0;
	goto out_unlock;

err_devices:
	/* devices 0..k-1 off, lookups gone, notifier off, flag false */
	vfio_iopf_disable_group(iommu, NULL);
	mutex_lock(&iommu->iopf_lock);
	iommu->iopf_enabled = false;
	iommu->iopf_mm = NULL;
	mutex_unlock(&iommu->iopf_lock);
	mmu_notifier_unregister(&iommu->mn);
err_bits:
	dma = NULL;
err_bitmaps:
	mutex_lock(&iommu->iopf_lock);
	for (u = vfio_dma_first(iommu); u != dma; u = vfio_dma_next(iommu, u)) {
		ui_free(u->iopf_bitmap);
		u->iopf_bitmap = NULL;
		if (u->iopf_charged)
			vfio_lock_acct(iommu, u, -u->iopf_charged);
		u->iopf_charged = 0;
	}
	iommu->iopf_resident = 0;
	mutex_unlock(&iommu->iopf_lock);
out_unlock:
	mutex_unlock(&iommu->lock);
	return ret;
}

void vfio_iopf_release(struct vfio_iommu *iommu)
{
	lockdep_assert_held(&iommu->lock);

	vfio_iopf_disable_group(iommu, NULL);
	if (iommu->iopf_enabled && !iommu->iopf_mm_gone)
		mmu_notifier_unregister(&iommu->mn); /* only here: no disable */
}

void vfio_iopf_fill_cap(struct vfio_iommu *iommu,
			struct vfio_iommu_type1_info_cap_iopf *cap)
{
	lockdep_assert_held(&iommu->lock);

	cap->flags = VFIO_IOMMU_IOPF_INFO_PREMAP;
	if (iommu->iopf_enabled)
		cap->flags |= VFIO_IOMMU_IOPF_INFO_ENABLED;
	mutex_lock(&iommu->iopf_lock);
	cap->premap_pages = iommu->iopf_premap;
	mutex_unlock(&iommu->iopf_lock);
}

/* ---- in-process API ------------------------------------------------------------------------------ */

int vfio_iommu_type1_set_iopf_premap(struct vfio_iommu *iommu,
				     unsigned int pages)
{
	if (!iommu || !pages || pages > VFIO_IOPF_PREMAP_MAX)
		return -EINVAL;
	mutex_lock(&iommu->iopf_lock);
	iommu->iopf_premap = pages;
	mutex_unlock(&iommu->iopf_lock);
	return 0;
}

int vfio_iommu_type1_iopf_mapped(struct vfio_iommu *iommu, dma_addr_t iova)
{
	struct vfio_dma *dma;
	int ret;

	mutex_lock(&iommu->iopf_lock);
	dma = vfio_find_dma(iommu, iova, 1);
	if (!iommu->iopf_enabled)
		ret = -EINVAL;
	else if (!dma || !dma->iopf_bitmap)
		ret = -ENOENT;
	else
		ret = iopf_test(dma->iopf_bitmap,
				(iova - dma->iova) >> PAGE_SHIFT);
	mutex_unlock(&iommu->iopf_lock);
	return ret;
}

int vfio_iommu_type1_iopf_check(struct vfio_iommu *iommu, FILE *log)
{
	struct vfio_domain *d;
	struct vfio_dma *dma;
	uint64_t resident = 0;
	int bad = 0;

	mutex_lock(&iommu->lock);
	if (!iommu->iopf_enabled)
		goto out;
	for (dma = vfio_dma_first(iommu); dma;
	     dma = vfio_dma_next(iommu, dma)) {
		for (uint64_t i = 0; i < dma_npages(dma); i++) {
			dma_addr_t iova = page_iova(dma, i);
			bool set, all = true, any = false;
			phys_addr_t pa = 0, cur = 0;

			mutex_lock(&iommu->iopf_lock);
			set = iopf_test(dma->iopf_bitmap, i);
			resident += set;
			LIST_FOREACH(d, &iommu->domain_list, next) {
				phys_addr_t p =
					iommu_iova_to_phys(d->domain, iova);

				if (pa && p && p != pa)
					all = false; /* domains disagree */
				if (p)
					pa = p;
				any |= !!p;
				all &= !!p;
			}
			mutex_unlock(&iommu->iopf_lock);
			if (set ? !(any && all) : any) {
				if (log)
					fprintf(log,
						"iopf: iova %#llx bit %d but "
						"mapped %s\n",
						(unsigned long long)iova, set,
						all   ? "everywhere"
						: any ? "somewhere"
						      : "nowhere");
				bad++;
				continue;
			}
			if (!set || dma->vaddr_invalid)
				continue;
			/* the frame behind the vaddr now */
			{
				struct mm_pin_run run;
				unsigned int nr;

				if (mm_pin_pages(iommu->mm,
						 dma->vaddr + (i << PAGE_SHIFT),
						 1, 0, &run, 1, &nr) == 1) {
					cur = run.pa;
					mm_unpin_pages(iommu->mm, &run, 1, 0);
				}
			}
			if (cur != pa) {
				if (log)
					fprintf(log,
						"iopf: iova %#llx maps %#llx, "
						"the user's page is %#llx\n",
						(unsigned long long)iova,
						(unsigned long long)pa,
						(unsigned long long)cur);
				bad++;
			}
		}
	}
	mutex_lock(&iommu->iopf_lock);
	if (resident != iommu->iopf_resident) {
		if (log)
			fprintf(log, "iopf: %llu pages mapped, counted %llu\n",
				(unsigned long long)resident,
				(unsigned long long)iommu->iopf_resident);
		bad++;
	}
	mutex_unlock(&iommu->iopf_lock);
out:
	mutex_unlock(&iommu->lock);
	return bad;
}
