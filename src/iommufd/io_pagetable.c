// SPDX-License-Identifier: MIT
/*
 * The io_pagetable of an IOAS: its areas, the pinned pages behind them,
 * its domains, and the reserved and allowed IOVA ranges (Linux 6.12's
 * drivers/iommu/iommufd/io_pagetable.c and pages.c are the model for the
 * semantics and the errno of each check).
 *
 * Objects and lifetimes:
 *  - struct iopt_pages: one IOAS_MAP's user range, page-aligned outwards.
 *    Every area using it holds a reference (IOAS_COPY makes new areas on
 *    the same pages); every area whose table has a domain also holds a
 *    pin user (area->pinned).  The first pin user pins it all (mm_pin_pages
 *    in batches of at most iommufd_test_pin_batch() runs, selftest.c;
 *    without MM_GUP_LONGTERM) and charges it as the
 *    context's RLIMIT_MODE says: the user's locked memory
 *    (mm_user_lock_acct), the process's locked_vm (mm_lock_acct) or
 *    nothing (CAP_IPC_LOCK); the last unpins and uncharges.  So an IOAS
 *    without a domain pins nothing, as 6.12's (which pins what a domain
 *    needs when it needs it; whole pages objects here, not spans), and
 *    shared pages are pinned and charged once.  An area an access has
 *    pinned (num_accesses) holds one more pin user (access.c).
 *  - struct iopt_area: [iova, last] onto pages from start_byte; areas of
 *    one table never overlap.  Byte-granular while the table has no
 *    domain (iova_alignment 1); a domain needs every area aligned to its
 *    smallest page (-EADDRINUSE when one is not).
 *  - domains: borrowed from their HWPTs; each maps every area
 *    (iopt_table_add_domain fills it, every later map and unmap goes to
 *    all of them).  Its aperture's complement is reserved for it.
 *  - reserved ranges, by owner (a domain or a device), and allowed ranges
 *    (IOAS_ALLOW_IOVAS; none: all of them): an allocated IOVA lies inside
 *    an allowed range and outside every reserved range and area; a fixed
 *    one outside every reserved range and area.
 *
 * Sanitizer (src/sanitizer): with it on, the table has a history
 * (iopt->san) that every domain added points to; each map that succeeds
 * (IOAS_MAP, IOAS_COPY, the compat container's MAP_DMA) and each area an
 * unmap removes is recorded there with the caller's stack.
 *
 * Locking: iopt->lock guards everything here (6.12 has domains_rwsem and
 * iova_rwsem; one mutex serializes map, unmap and attach per IOAS, which
 * changes no result), but a pages object's pin (pages->mutex, inside it:
 * pages are shared between IOASes).  Pinning and iommu_map/unmap run
 * under them.
 *
 * Invariants: every area is mapped in every domain of its table, exactly
 * its pages; area->pinned iff its table has a domain; a pages object's
 * refs equals the areas on it, its pin_users the pinned ones, and it is
 * pinned and charged iff pin_users > 0.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "iommufd/iommufd_private.h"
#include "lib/internal.h"
#include "lib/uaccess.h"

#define PG IOMMUFD_PAGE_SIZE

static int area_cmp(const struct iopt_area *a, const struct iopt_area *b)
{
	return a->iova < b->iova ? -1 : a->iova > b->iova;
}

RB_GENERATE_INTERNAL(iopt_area_tree, iopt_area, node, area_cmp,
		     __attribute__((unused)) static)

void iopt_init_table(struct io_pagetable *iopt)
{
	memset(iopt, 0, sizeof(*iopt));
	mutex_init(&iopt->lock, IOMMUFD_LOCK_IOPT);
	mutex_init(&iopt->access_lock, IOMMUFD_LOCK_ACCESS_LIST);
	LIST_INIT(&iopt->accesses);
	RB_INIT(&iopt->areas);
	iopt->iova_alignment = 1;
	iopt->san = san_space_create("iommufd IOAS");
}

/* The first area that intersects [start, last], or NULL. */
static struct iopt_area *iopt_area_first(struct io_pagetable *iopt,
					 unsigned long start,
					 unsigned long last)
{
	struct iopt_area *n = RB_ROOT(&iopt->areas), *best = NULL;

	lockdep_assert_held(&iopt->lock);
	while (n) {
		if (n->last >= start) {
			best = n;
			n = RB_LEFT(n, node);
		} else {
			n = RB_RIGHT(n, node);
		}
	}
	return best && best->iova <= last ? best : NULL;
}

static struct iopt_area *iopt_area_next(struct io_pagetable *iopt,
					struct iopt_area *area,
					unsigned long last)
{
	struct iopt_area *n = RB_NEXT(iopt_area_tree, &iopt->areas, area);

	return n && n->iova <= last ? n : NULL;
}

static bool iopt_reserved_hit(struct io_pagetable *iopt, unsigned long start,
			      unsigned long last)
{
	for (unsigned int i = 0; i < iopt->nr_reserved; i++)
		if (iopt->reserved[i].start <= last &&
		    iopt->reserved[i].last >= start)
			return true;
	return false;
}

static bool iopt_allowed_hit(struct io_pagetable *iopt, unsigned long start,
			     unsigned long last)
{
	for (unsigned int i = 0; i < iopt->nr_allowed; i++)
		if (iopt->allowed[i].start <= last &&
		    iopt->allowed[i].last >= start)
			return true;
	return false;
}

/* ---- pages ------------------------------------------------------------------ */

static void iopt_pages_account(struct iopt_pages *pages, long npages)
{
	switch (pages->account_mode) {
	case IOPT_PAGES_ACCOUNT_NONE:
		break;
	case IOPT_PAGES_ACCOUNT_USER:
		WARN_ON(mm_user_lock_acct(pages->mm, npages));
		break;
	case IOPT_PAGES_ACCOUNT_MM:
		WARN_ON(mm_lock_acct(pages->mm, npages, false));
		break;
	}
}

static int iopt_pages_charge(struct iopt_pages *pages)
{
	long n = (long)pages->npages;

	switch (pages->account_mode) {
	case IOPT_PAGES_ACCOUNT_USER:
		return mm_user_lock_acct(pages->mm, n);
	case IOPT_PAGES_ACCOUNT_MM:
		return mm_lock_acct(pages->mm, n, false);
	default:
		return 0;
	}
}

static void iopt_pages_unpin(struct iopt_pages *pages)
{
	if (pages->nr_runs)
		mm_unpin_pages(pages->mm, pages->runs, pages->nr_runs, 0);
	ui_free(pages->runs);
	pages->runs = NULL;
	pages->nr_runs = 0;
}

/* Pin all of pages (get_user_pages) and charge it; all or nothing. */
static int iopt_pages_pin(struct iopt_pages *pages)
{
	unsigned int batch = iommufd_test_pin_batch(pages->ictx);
	unsigned long done = 0;
	unsigned int cap = 0;
	int ret;

	lockdep_assert_held(&pages->mutex);
	while (done < pages->npages) {
		unsigned int nr;
		long n;

		if (pages->nr_runs == cap) {
			unsigned int ncap = cap ? cap * 2 : 64;
			struct mm_pin_run *runs;

			runs = ui_calloc(ncap, sizeof(*runs));
			if (!runs) {
				ret = -ENOMEM;
				goto err;
			}
			if (pages->nr_runs)
				memcpy(runs, pages->runs,
				       pages->nr_runs * sizeof(*runs));
			ui_free(pages->runs);
			pages->runs = runs;
			cap = ncap;
		}
		/* batches no larger than the test interface's limit */
		n = mm_pin_pages(pages->mm, pages->uptr + done * PG,
				 pages->npages - done,
				 pages->writable ? MM_GUP_WRITE : 0,
				 pages->runs + pages->nr_runs,
				 min(cap - pages->nr_runs, batch), &nr);
		if (n < 0) {
			ret = (int)n;
			goto err;
		}
		pages->nr_runs += nr;
		done += (unsigned long)n;
	}
	ret = iopt_pages_charge(pages);
	if (ret)
		goto err;
	return 0;
err:
	iopt_pages_unpin(pages);
	return ret;
}

/*
 * A user of the pages' pin: an area of an IOAS that has a domain.  The
 * first pins and charges, the last unpins and uncharges (6.12 pins what
 * a domain or an access needs, when it needs it).
 */
static int iopt_pages_pin_get(struct iopt_pages *pages)
{
	int ret = 0;

	mutex_lock(&pages->mutex);
	if (!pages->pin_users)
		ret = iopt_pages_pin(pages);
	if (!ret)
		pages->pin_users++;
	mutex_unlock(&pages->mutex);
	return ret;
}

static void iopt_pages_pin_put(struct iopt_pages *pages)
{
	mutex_lock(&pages->mutex);
	if (!WARN_ON(!pages->pin_users) && !--pages->pin_users) {
		iopt_pages_account(pages, -(long)pages->npages);
		iopt_pages_unpin(pages);
	}
	mutex_unlock(&pages->mutex);
}

/* 6.12's iopt_alloc_pages: the range, not yet pinned. */
static int iopt_alloc_pages(struct iommufd_ctx *ictx, unsigned long uptr,
			    unsigned long length, bool writable,
			    struct iopt_pages **out)
{
	struct iopt_pages *pages;
	unsigned long end;

	if (length > SIZE_MAX - PG || length == 0)
		return -EINVAL;
	if (check_add_overflow(uptr, length, &end))
		return -EOVERFLOW;
	pages = ui_zalloc(sizeof(*pages));
	if (!pages)
		return -ENOMEM;
	pages->refs = 1;
	mutex_init(&pages->mutex, IOMMUFD_LOCK_PAGES);
	pages->ictx = ictx;
	pages->mm = ictx->mm;
	pages->uptr = ALIGN_DOWN(uptr, PG);
	pages->npages = DIV_ROUND_UP(length + (uptr - pages->uptr), PG);
	pages->writable = writable;
	if (mm_cap_ipc_lock(ictx->mm))
		pages->account_mode = IOPT_PAGES_ACCOUNT_NONE;
	else if (ictx->account_mode == IOPT_PAGES_ACCOUNT_MM)
		pages->account_mode = IOPT_PAGES_ACCOUNT_MM;
	else
		pages->account_mode = IOPT_PAGES_ACCOUNT_USER;
	*out = pages;
	return 0;
}

static void iopt_put_pages(struct iopt_pages *pages)
{
	if (atomic_fetch_sub(&pages->refs, 1) != 1)
		return;
	WARN_ON(pages->pin_users || pages->nr_runs);
	mutex_destroy(&pages->mutex);
	ui_free(pages);
}

/* The area's pin, taken while its table has a domain. */
static int iopt_area_pin(struct iopt_area *area)
{
	int ret = 0;

	if (!area->pinned) {
		ret = iopt_pages_pin_get(area->pages);
		area->pinned = !ret;
	}
	return ret;
}

static void iopt_area_unpin(struct iopt_area *area)
{
	if (area->pinned) {
		iopt_pages_pin_put(area->pages);
		area->pinned = false;
	}
}

/* ---- domains ------------------------------------------------------------------ */

/*
 * Map area into domain: its pages from start_byte, run by run (page by
 * page with large pages disabled).  Nothing stays mapped on failure.
 */
static int iopt_area_fill_domain(struct io_pagetable *iopt,
				 struct iopt_area *area,
				 struct iommu_domain *domain)
{
	unsigned long byte = area->start_byte, run_byte = 0;
	unsigned long left = area->last - area->iova + 1;
	unsigned long iova = area->iova;
	int ret = 0;

	/* by bytes: a domain's io page may be smaller than a page (the
	 * selftests' mock: 2048), so an area may start or end mid-page */
	for (unsigned int i = 0; i < area->pages->nr_runs && left; i++) {
		const struct mm_pin_run *r = &area->pages->runs[i];
		unsigned long run_len = r->npages * PG, n;
		phys_addr_t pa;

		if (byte >= run_byte + run_len) {
			run_byte += run_len;
			continue;
		}
		pa = r->pa + (byte - run_byte);
		n = min(run_byte + run_len - byte, left);
		run_byte += run_len;
		while (n) {
			size_t len = iopt->disable_large_pages
					     ? min(n, PG - pa % PG)
					     : n;

			ret = iommu_map(domain, iova, pa, len,
					area->iommu_prot);
			if (ret)
				goto unwind;
			iova += len;
			pa += len;
			byte += len;
			n -= len;
			left -= len;
		}
	}
	return 0;
unwind:
	if (iova != area->iova)
		iommu_unmap(domain, area->iova, iova - area->iova);
	return ret;
}

static void iopt_area_unfill_domain(struct iopt_area *area,
				    struct iommu_domain *domain)
{
	size_t len = area->last - area->iova + 1;

	WARN_ON(iommu_unmap(domain, area->iova, len) != len);
}

/* Map area into every domain of the table; all or nothing. */
static int iopt_area_fill_domains(struct io_pagetable *iopt,
				  struct iopt_area *area)
{
	unsigned int i;
	int ret;

	for (i = 0; i < iopt->nr_domains; i++) {
		ret = iopt_area_fill_domain(iopt, area, iopt->domains[i]);
		if (ret)
			goto unwind;
	}
	return 0;
unwind:
	while (i--)
		iopt_area_unfill_domain(area, iopt->domains[i]);
	return ret;
}

/* ---- allocating IOVA -------------------------------------------------------------- */

static unsigned long roundup_pow_of_two(unsigned long x)
{
	return x <= 1 ? 1 : 1UL << (64 - __builtin_clzl(x - 1));
}

static bool alloc_check_range(unsigned long *start, unsigned long last,
			      unsigned long length, unsigned long align,
			      unsigned long page_offset)
{
	unsigned long s;

	if (check_add_overflow(*start, align - 1, &s))
		return false;
	s &= ~(align - 1);
	s |= page_offset;
	if (s >= last || last - s < length - 1)
		return false;
	*start = s;
	return true;
}

/* The lowest hole of the reserved ranges and areas inside [lo, hi] that
 * fits; the holes are walked in IOVA order. */
static bool alloc_in_span(struct io_pagetable *iopt, unsigned long lo,
			  unsigned long hi, unsigned long length,
			  unsigned long align, unsigned long page_offset,
			  unsigned long *iova)
{
	unsigned long cur = lo, start;

	while (cur <= hi) {
		unsigned long used_last = 0, hole_last = hi;
		struct iopt_area *a;
		bool used = false;

		/* what covers cur, and the next used start after it */
		for (unsigned int i = 0; i < iopt->nr_reserved; i++) {
			const struct iopt_reserved *r = &iopt->reserved[i];

			if (r->start <= cur && r->last >= cur) {
				used = true;
				used_last = max(used_last, r->last);
			} else if (r->start > cur && r->start - 1 < hole_last) {
				hole_last = r->start - 1;
			}
		}
		a = iopt_area_first(iopt, cur, hi);
		if (a && a->iova <= cur) {
			used = true;
			used_last = max(used_last, a->last);
		} else if (a && a->iova - 1 < hole_last) {
			hole_last = a->iova - 1;
		}
		if (used) {
			if (used_last >= hi)
				return false;
			cur = used_last + 1;
			continue;
		}
		hole_last = min(hole_last, hi);
		start = cur;
		if (alloc_check_range(&start, hole_last, length, align,
				      page_offset)) {
			*iova = start;
			return true;
		}
		if (hole_last >= hi)
			return false;
		cur = hole_last + 1;
	}
	return false;
}

static int iopt_alloc_iova(struct io_pagetable *iopt, unsigned long *iova,
			   unsigned long uptr, unsigned long length)
{
	unsigned long page_offset = uptr % PG, align;
	const unsigned long lo = PG, hi = ULONG_MAX - PG;

	lockdep_assert_held(&iopt->lock);

	if (length == 0 || length >= ULONG_MAX / 2)
		return -EOVERFLOW;
	/* keep the alignment the user address has: a chance of blocks */
	align = roundup_pow_of_two(length);
	if (uptr)
		align = min(align, 1UL << __builtin_ctzl(uptr));
	if (align >= IOMMUFD_HPAGE_SIZE)
		align = IOMMUFD_HPAGE_SIZE;
	if (align < iopt->iova_alignment)
		return -EINVAL;

	if (!iopt->nr_allowed)
		return alloc_in_span(iopt, lo, hi, length, align, page_offset,
				     iova)
			       ? 0
			       : -ENOSPC;
	for (unsigned int i = 0; i < iopt->nr_allowed; i++) {
		unsigned long s = max(iopt->allowed[i].start, lo);
		unsigned long l = min(iopt->allowed[i].last, hi);

		if (s > l ||
		    !alloc_check_range(&s, l, length, align, page_offset))
			continue;
		if (alloc_in_span(iopt, s, l, length, align, page_offset, iova))
			return 0;
	}
	return -ENOSPC;
}

static int iopt_check_iova(struct io_pagetable *iopt, unsigned long iova,
			   unsigned long length)
{
	unsigned long last;

	lockdep_assert_held(&iopt->lock);

	if (iova & (iopt->iova_alignment - 1))
		return -EINVAL;
	if (check_add_overflow(iova, length - 1, &last))
		return -EOVERFLOW;
	if (iopt_reserved_hit(iopt, iova, last))
		return -EINVAL;
	if (iopt_area_first(iopt, iova, last))
		return -EEXIST;
	return 0;
}

/* ---- map, copy, unmap ---------------------------------------------------------- */

/* One piece of a map: pages and where in them (a pages list entry). */
struct iopt_pages_elm {
	struct iopt_pages *pages;
	unsigned long start_byte;
	unsigned long length;
	struct iopt_area *area;
};

static void iopt_remove_area(struct io_pagetable *iopt, struct iopt_area *area)
{
	RB_REMOVE(iopt_area_tree, &iopt->areas, area);
}

/*
 * Make areas for elms at *dst_iova (allocated with IOPT_ALLOC_IOVA), map
 * them into every domain; on success the areas own the elms' pages
 * references.  All or nothing.
 */
static int iopt_map_pages(struct io_pagetable *iopt, struct iopt_pages_elm *elm,
			  unsigned int nr, unsigned long length,
			  unsigned long *dst_iova, int iommu_prot,
			  unsigned int flags)
{
	unsigned long iova;
	unsigned int i, inserted = 0, filled = 0;
	int ret = 0;

	for (i = 0; i < nr; i++) {
		elm[i].area = ui_zalloc(sizeof(*elm[i].area));
		if (!elm[i].area) {
			ret = -ENOMEM;
			goto free_areas;
		}
	}
	mutex_lock(&iopt->lock);
	if ((length & (iopt->iova_alignment - 1)) || !length) {
		ret = -EINVAL;
		goto out_unlock;
	}
	if (flags & IOPT_ALLOC_IOVA)
		ret = iopt_alloc_iova(iopt, dst_iova,
				      elm[0].pages->uptr + elm[0].start_byte,
				      length);
	else
		ret = iopt_check_iova(iopt, *dst_iova, length);
	if (ret)
		goto out_unlock;

	iova = *dst_iova;
	for (i = 0; i < nr; i++) {
		struct iopt_area *area = elm[i].area;

		if ((iommu_prot & IOMMU_WRITE) && !elm[i].pages->writable) {
			ret = -EPERM;
			goto unwind;
		}
		if ((elm[i].start_byte % PG) & (iopt->iova_alignment - 1)) {
			ret = -EINVAL;
			goto unwind;
		}
		area->iommu_prot = iommu_prot;
		area->iova = iova;
		area->last = iova + elm[i].length - 1;
		area->pages = elm[i].pages;
		area->start_byte = elm[i].start_byte;
		RB_INSERT(iopt_area_tree, &iopt->areas, area);
		inserted++;
		iova += elm[i].length;
	}
	for (i = 0; i < nr; i++) {
		/* pinned only for a table with domains */
		if (iopt->nr_domains) {
			ret = iopt_area_pin(elm[i].area);
			if (ret)
				goto unwind;
		}
		ret = iopt_area_fill_domains(iopt, elm[i].area);
		if (ret)
			goto unwind;
		filled++;
	}
	for (i = 0; i < nr; i++) {
		elm[i].pages = NULL; /* the area's now */
		elm[i].area = NULL;
	}
	mutex_unlock(&iopt->lock);
	return 0;

unwind:
	for (i = 0; i < inserted; i++) {
		if (i < filled)
			for (unsigned int d = 0; d < iopt->nr_domains; d++)
				iopt_area_unfill_domain(elm[i].area,
							iopt->domains[d]);
		iopt_area_unpin(elm[i].area);
		iopt_remove_area(iopt, elm[i].area);
	}
out_unlock:
	mutex_unlock(&iopt->lock);
free_areas:
	for (i = 0; i < nr; i++) {
		ui_free(elm[i].area);
		elm[i].area = NULL;
	}
	return ret;
}

/* The sanitizer's record of a MAP that succeeded (nothing when off). */
static void iopt_san_record_map(struct io_pagetable *iopt, unsigned long iova,
				unsigned long length, unsigned long uptr,
				int iommu_prot)
{
	san_space_record(iopt->san, SAN_EV_MAP, iova, length, uptr,
			 (iommu_prot & IOMMU_READ ? SAN_PROT_READ : 0) |
				 (iommu_prot & IOMMU_WRITE ? SAN_PROT_WRITE
							   : 0));
}

int iopt_map_user_pages(struct iommufd_ctx *ictx, struct io_pagetable *iopt,
			unsigned long *iova, unsigned long uptr,
			unsigned long length, int iommu_prot,
			unsigned int flags)
{
	struct iopt_pages_elm elm = {0};
	int ret;

	ret = iopt_alloc_pages(ictx, uptr, length, iommu_prot & IOMMU_WRITE,
			       &elm.pages);
	if (ret)
		return ret;
	elm.start_byte = uptr - elm.pages->uptr;
	elm.length = length;
	ret = iopt_map_pages(iopt, &elm, 1, length, iova, iommu_prot, flags);
	if (ret)
		iopt_put_pages(elm.pages);
	else
		iopt_san_record_map(iopt, *iova, length, uptr, iommu_prot);
	return ret;
}

int iopt_copy_pages(struct io_pagetable *src, struct io_pagetable *dst,
		    unsigned long src_iova, unsigned long length,
		    unsigned long *dst_iova, int iommu_prot, unsigned int flags)
{
	struct iopt_pages_elm *elm = NULL;
	unsigned long last, cur;
	struct iopt_area *area;
	unsigned int nr = 0, cap = 0, i;
	int ret = 0;

	/* iopt_get_pages: the source range covered by areas, no hole */
	if (!length)
		return -EINVAL;
	if (check_add_overflow(src_iova, length - 1, &last))
		return -EOVERFLOW;
	mutex_lock(&src->lock);
	cur = src_iova;
	for (area = iopt_area_first(src, src_iova, last); area;
	     area = iopt_area_next(src, area, last)) {
		unsigned long end = min(last, area->last);

		if (area->iova > cur)
			break; /* a hole */
		if (nr == cap) {
			unsigned int ncap = cap ? cap * 2 : 4;
			struct iopt_pages_elm *n = ui_calloc(ncap, sizeof(*n));

			if (!n) {
				ret = -ENOMEM;
				break;
			}
			if (nr)
				memcpy(n, elm, nr * sizeof(*n));
			ui_free(elm);
			elm = n;
			cap = ncap;
		}
		elm[nr].pages = area->pages;
		elm[nr].start_byte = area->start_byte + (cur - area->iova);
		elm[nr].length = end - cur + 1;
		atomic_fetch_add(&area->pages->refs, 1);
		nr++;
		if (end == last) {
			cur = 0;
			break;
		}
		cur = end + 1;
	}
	if (!ret && (cur || !nr)) /* not contiguous to the end */
		ret = -ENOENT;
	mutex_unlock(&src->lock);
	if (ret)
		goto out;

	ret = iopt_map_pages(dst, elm, nr, length, dst_iova, iommu_prot, flags);
	if (!ret)
		iopt_san_record_map(dst, *dst_iova, length, 0, iommu_prot);
out:
	for (i = 0; i < nr; i++)
		if (elm[i].pages)
			iopt_put_pages(elm[i].pages);
	ui_free(elm);
	return ret;
}

/* Ask every access of the table to drop its pins of [iova, +length). */
static void iopt_notify_unmap(struct io_pagetable *iopt, unsigned long iova,
			      unsigned long length)
{
	struct iommufd_access *access;

	mutex_lock(&iopt->access_lock);
	LIST_FOREACH(access, &iopt->accesses, next)
		access->ops->unmap(access->data, iova, length);
	mutex_unlock(&iopt->access_lock);
}

static int iopt_unmap_iova_range(struct io_pagetable *iopt, unsigned long start,
				 unsigned long last, unsigned long *unmapped)
{
	unsigned long bytes = 0;
	struct iopt_area *area;
	unsigned int tries = 0;
	int ret = 0;

again:
	mutex_lock(&iopt->lock);
	while ((area = iopt_area_first(iopt, start, last))) {
		unsigned long area_last = area->last;

		/* only whole areas: never one cut in part */
		if (area->iova < start || area->last > last) {
			ret = -ENOENT;
			break;
		}
		if (area->num_accesses) {
			/* the accesses drop their pins first (6.12's contract):
			 * no new pin meanwhile, then look again */
			unsigned long a_iova = area->iova;
			unsigned long a_len = area->last - area->iova + 1;

			area->prevent_access = true;
			mutex_unlock(&iopt->lock);
			iopt_notify_unmap(iopt, a_iova, a_len);
			if (!WARN_ON(++tries > 100))
				goto again;
			ret = -EDEADLOCK; /* an access ignores it */
			mutex_lock(&iopt->lock);
			break;
		}
		for (unsigned int d = 0; d < iopt->nr_domains; d++)
			iopt_area_unfill_domain(area, iopt->domains[d]);
		iopt_area_unpin(area);
		iopt_remove_area(iopt, area);
		san_space_record(iopt->san, SAN_EV_UNMAP, area->iova,
				 area->last - area->iova + 1,
				 area->pages->uptr + area->start_byte, 0);
		iopt_put_pages(area->pages);
		bytes += area->last - area->iova + 1;
		ui_free(area);
		if (area_last >= last)
			break;
		start = area_last + 1;
	}
	mutex_unlock(&iopt->lock);
	if (unmapped)
		*unmapped = bytes;
	return ret;
}

int iopt_unmap_iova(struct io_pagetable *iopt, unsigned long iova,
		    unsigned long length, unsigned long *unmapped)
{
	unsigned long last;

	if (!length)
		return -EINVAL;
	if (check_add_overflow(iova, length - 1, &last))
		return -EOVERFLOW;
	return iopt_unmap_iova_range(iopt, iova, last, unmapped);
}

int iopt_unmap_all(struct io_pagetable *iopt, unsigned long *unmapped)
{
	return iopt_unmap_iova_range(iopt, 0, ULONG_MAX, unmapped);
}

/*
 * Split the area holding iova into [iova of the area, iova] and [iova + 1,
 * last] (6.12's iopt_area_split): both keep the pages (a reference and,
 * if pinned, a pin user each) and their domains' mappings, which are page
 * by page once large pages are disabled; with large pages and a domain
 * the IOPTEs may span the cut: -EINVAL, as under an access's pin; -EBUSY
 * while the area is being unmapped.  An iova at either end of the
 * area cuts nothing.  iopt->lock held.
 */
static int iopt_area_split(struct io_pagetable *iopt, struct iopt_area *area,
			   unsigned long iova)
{
	unsigned long new_start = iova + 1, align = iopt->iova_alignment;
	struct iopt_area *rhs;
	int ret;

	lockdep_assert_held(&iopt->lock);
	if (iova == area->iova || iova == area->last)
		return 0;
	if (area->prevent_access)
		return -EBUSY; /* being unmapped */
	if ((new_start & (align - 1)) ||
	    ((area->start_byte + (new_start - area->iova)) % PG & (align - 1)))
		return -EINVAL;
	/* an access's pins are per area: not split under it, as 6.12 */
	if (area->num_accesses)
		return -EINVAL;
	if (iopt->nr_domains && !iopt->disable_large_pages)
		return -EINVAL;
	rhs = ui_zalloc(sizeof(*rhs));
	if (!rhs)
		return -ENOMEM;
	if (area->pinned) {
		ret = iopt_pages_pin_get(area->pages); /* pinned: no new pin */
		if (ret) {
			ui_free(rhs);
			return ret;
		}
		rhs->pinned = true;
	}
	atomic_fetch_add(&area->pages->refs, 1);
	rhs->pages = area->pages;
	rhs->iommu_prot = area->iommu_prot;
	rhs->iova = new_start;
	rhs->last = area->last;
	rhs->start_byte = area->start_byte + (new_start - area->iova);
	area->last = iova; /* the tree's order stays: rhs follows it */
	RB_INSERT(iopt_area_tree, &iopt->areas, rhs);
	return 0;
}

int iopt_cut_iova(struct io_pagetable *iopt, unsigned long *iovas, size_t nr)
{
	int ret = 0;

	mutex_lock(&iopt->lock);
	for (size_t i = 0; i < nr && !ret; i++) {
		struct iopt_area *area =
			iopt_area_first(iopt, iovas[i], iovas[i]);

		if (area)
			ret = iopt_area_split(iopt, area, iovas[i]);
	}
	mutex_unlock(&iopt->lock);
	return ret;
}

/* ---- allowed and reserved ranges ------------------------------------------------ */

static int range_cmp(const void *a, const void *b)
{
	const struct iommu_iova_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* Takes ranges (ui_calloc'd, or NULL with nr 0) on success. */
int iopt_set_allow_iova(struct io_pagetable *iopt,
			struct iommu_iova_range *ranges, unsigned int nr)
{
	if (nr)
		qsort(ranges, nr, sizeof(*ranges), range_cmp);
	mutex_lock(&iopt->lock);
	for (unsigned int i = 0; i < nr; i++) {
		if (iopt_reserved_hit(iopt, ranges[i].start, ranges[i].last)) {
			mutex_unlock(&iopt->lock);
			return -EADDRINUSE;
		}
	}
	ui_free(iopt->allowed);
	iopt->allowed = ranges;
	iopt->nr_allowed = nr;
	mutex_unlock(&iopt->lock);
	return 0;
}

static int iopt_reserve_iova(struct io_pagetable *iopt, unsigned long start,
			     unsigned long last, const void *owner)
{
	struct iopt_reserved *r;

	lockdep_assert_held(&iopt->lock);

	if (iopt_area_first(iopt, start, last) ||
	    iopt_allowed_hit(iopt, start, last))
		return -EADDRINUSE;
	r = ui_calloc(iopt->nr_reserved + 1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	if (iopt->nr_reserved)
		memcpy(r, iopt->reserved, iopt->nr_reserved * sizeof(*r));
	r[iopt->nr_reserved] = (struct iopt_reserved){
		.start = start, .last = last, .owner = owner};
	ui_free(iopt->reserved);
	iopt->reserved = r;
	iopt->nr_reserved++;
	return 0;
}

int iopt_add_reserved(struct io_pagetable *iopt, unsigned long start,
		      unsigned long last)
{
	int ret;

	if (last < start)
		return -EINVAL;
	mutex_lock(&iopt->lock);
	ret = iopt_reserve_iova(iopt, start, last, NULL);
	mutex_unlock(&iopt->lock);
	return ret;
}

static void __iopt_remove_reserved_iova(struct io_pagetable *iopt,
					const void *owner)
{
	unsigned int i, j = 0;

	lockdep_assert_held(&iopt->lock);
	for (i = 0; i < iopt->nr_reserved; i++)
		if (iopt->reserved[i].owner != owner)
			iopt->reserved[j++] = iopt->reserved[i];
	iopt->nr_reserved = j;
}

void iopt_remove_reserved_iova(struct io_pagetable *iopt, const void *owner)
{
	mutex_lock(&iopt->lock);
	__iopt_remove_reserved_iova(iopt, owner);
	mutex_unlock(&iopt->lock);
}

int iopt_table_enforce_dev_resv_regions(struct io_pagetable *iopt,
					struct device *dev)
{
	struct iommu_resv_region regions[IOMMU_MAX_RESV_REGIONS];
	unsigned int nr = 0;
	int ret;

	ret = iommu_get_resv_regions(dev, regions, ARRAY_SIZE(regions), &nr);
	if (ret)
		return ret;
	mutex_lock(&iopt->lock);
	for (unsigned int i = 0; i < nr; i++) {
		if (!regions[i].length)
			continue;
		ret = iopt_reserve_iova(
			iopt, regions[i].start,
			regions[i].start + regions[i].length - 1, dev);
		if (ret) {
			__iopt_remove_reserved_iova(iopt, dev);
			break;
		}
	}
	mutex_unlock(&iopt->lock);
	return ret;
}

/* The holes of the reserved ranges, in order. */
int iopt_iova_ranges(struct io_pagetable *iopt, struct iommu_iova_range *out,
		     unsigned int max, unsigned int *nr, unsigned long *align)
{
	struct iopt_reserved *r;
	unsigned int n = 0, i;
	unsigned long cur = 0;
	bool done = false;

	mutex_lock(&iopt->lock);
	*align = iopt->iova_alignment;
	r = ui_calloc(iopt->nr_reserved ? iopt->nr_reserved : 1, sizeof(*r));
	if (!r) {
		mutex_unlock(&iopt->lock);
		return -ENOMEM;
	}
	if (iopt->nr_reserved)
		memcpy(r, iopt->reserved, iopt->nr_reserved * sizeof(*r));
	qsort(r, iopt->nr_reserved, sizeof(*r), range_cmp);
	for (i = 0; i < iopt->nr_reserved && !done; i++) {
		if (r[i].last < cur)
			continue;
		if (r[i].start > cur) {
			if (n < max)
				out[n] = (struct iommu_iova_range){
					.start = cur, .last = r[i].start - 1};
			n++;
		}
		if (r[i].last == ULONG_MAX)
			done = true;
		else
			cur = max(cur, r[i].last + 1);
	}
	if (!done) {
		if (n < max)
			out[n] = (struct iommu_iova_range){.start = cur,
							   .last = ULONG_MAX};
		n++;
	}
	mutex_unlock(&iopt->lock);
	ui_free(r);
	*nr = n;
	return 0;
}

/* ---- domains of the table -------------------------------------------------------- */

static int iopt_check_iova_alignment(struct io_pagetable *iopt,
				     unsigned long align)
{
	struct iopt_area *a;

	RB_FOREACH(a, iopt_area_tree, &iopt->areas)
		if ((a->iova & (align - 1)) ||
		    ((a->last - a->iova + 1) & (align - 1)) ||
		    ((a->start_byte % PG) & (align - 1)))
			return -EADDRINUSE;
	return 0;
}

static unsigned long iopt_min_alignment(struct io_pagetable *iopt)
{
	unsigned long align = 1;

	for (unsigned int i = 0; i < iopt->nr_domains; i++)
		align = max(align, 1UL << __builtin_ctzll(
					   iopt->domains[i]->pgsize_bitmap));
	if (iopt->disable_large_pages)
		align = max(align, PG);
	return align;
}

int iopt_table_add_domain(struct io_pagetable *iopt,
			  struct iommu_domain *domain)
{
	const struct iommu_domain_geometry *g = &domain->geometry;
	unsigned long align;
	struct iommu_domain **domains;
	struct iopt_area *area, *failed = NULL;
	int ret;

	mutex_lock(&iopt->lock);
	for (unsigned int i = 0; i < iopt->nr_domains; i++)
		if (WARN_ON(iopt->domains[i] == domain)) {
			ret = -EEXIST;
			goto out_unlock;
		}
	align = max(1UL << __builtin_ctzll(domain->pgsize_bitmap),
		    iopt->iova_alignment);
	if (align > PG) {
		ret = -EINVAL;
		goto out_unlock;
	}
	if (align != iopt->iova_alignment) {
		ret = iopt_check_iova_alignment(iopt, align);
		if (ret)
			goto out_unlock;
	}
	/* no area outside the aperture */
	if (g->aperture_start) {
		ret = iopt_reserve_iova(iopt, 0, g->aperture_start - 1, domain);
		if (ret)
			goto out_reserved;
	}
	if (g->aperture_end != ULONG_MAX) {
		ret = iopt_reserve_iova(iopt, g->aperture_end + 1, ULONG_MAX,
					domain);
		if (ret)
			goto out_reserved;
	}
	domains = ui_calloc(iopt->nr_domains + 1, sizeof(*domains));
	if (!domains) {
		ret = -ENOMEM;
		goto out_reserved;
	}
	/* the first domain pins every area's pages (charging them) */
	RB_FOREACH(area, iopt_area_tree, &iopt->areas) {
		ret = iopt_area_pin(area);
		if (!ret)
			ret = iopt_area_fill_domain(iopt, area, domain);
		if (ret) {
			failed = area;
			break;
		}
	}
	if (failed) {
		RB_FOREACH(area, iopt_area_tree, &iopt->areas) {
			if (area == failed)
				break;
			iopt_area_unfill_domain(area, domain);
		}
		if (!iopt->nr_domains)
			RB_FOREACH(area, iopt_area_tree, &iopt->areas)
				iopt_area_unpin(area);
		ui_free(domains);
		goto out_reserved;
	}
	if (iopt->nr_domains)
		memcpy(domains, iopt->domains,
		       iopt->nr_domains * sizeof(*domains));
	ui_free(iopt->domains);
	iopt->domains = domains;
	iopt->domains[iopt->nr_domains++] = domain;
	iopt->iova_alignment = align;
	domain->san_space = iopt->san;
	mutex_unlock(&iopt->lock);
	return 0;
out_reserved:
	__iopt_remove_reserved_iova(iopt, domain);
out_unlock:
	mutex_unlock(&iopt->lock);
	return ret;
}

void iopt_table_remove_domain(struct io_pagetable *iopt,
			      struct iommu_domain *domain)
{
	struct iopt_area *area;
	unsigned int i;

	mutex_lock(&iopt->lock);
	for (i = 0; i < iopt->nr_domains; i++)
		if (iopt->domains[i] == domain)
			break;
	if (WARN_ON(i == iopt->nr_domains)) {
		mutex_unlock(&iopt->lock);
		return;
	}
	RB_FOREACH(area, iopt_area_tree, &iopt->areas)
		iopt_area_unfill_domain(area, domain);
	iopt->domains[i] = iopt->domains[--iopt->nr_domains];
	/* the last domain: nothing needs the pages pinned any more */
	if (!iopt->nr_domains)
		RB_FOREACH(area, iopt_area_tree, &iopt->areas)
			iopt_area_unpin(area);
	__iopt_remove_reserved_iova(iopt, domain);
	iopt->iova_alignment = iopt_min_alignment(iopt);
	mutex_unlock(&iopt->lock);
}

int iopt_disable_large_pages(struct io_pagetable *iopt)
{
	unsigned long align;
	int ret = 0;

	mutex_lock(&iopt->lock);
	if (iopt->disable_large_pages)
		goto out;
	/* not once domains have pages mapped in them */
	if (iopt->nr_domains && !RB_EMPTY(&iopt->areas)) {
		ret = -EINVAL;
		goto out;
	}
	iopt->disable_large_pages = true;
	align = iopt_min_alignment(iopt);
	if (align != iopt->iova_alignment) {
		ret = iopt_check_iova_alignment(iopt, align);
		if (ret) {
			iopt->disable_large_pages = false;
			goto out;
		}
		iopt->iova_alignment = align;
	}
out:
	mutex_unlock(&iopt->lock);
	return ret;
}

void iopt_enable_large_pages(struct io_pagetable *iopt)
{
	mutex_lock(&iopt->lock);
	iopt->disable_large_pages = false;
	iopt->iova_alignment = iopt_min_alignment(iopt);
	mutex_unlock(&iopt->lock);
}

/* The IOAS goes: its HWPTs (and so domains) went first. */
void iopt_destroy_table(struct io_pagetable *iopt)
{
	WARN_ON(iopt->nr_domains);
	iopt_unmap_all(iopt, NULL);
	ui_free(iopt->domains);
	ui_free(iopt->reserved);
	ui_free(iopt->allowed);
	WARN_ON(!LIST_EMPTY(&iopt->accesses));
	mutex_destroy(&iopt->access_lock);
	mutex_destroy(&iopt->lock);
	san_space_destroy(iopt->san);
}

/* ---- accesses ------------------------------------------------------------------ */

/* The physical address of byte `byte` of pages (pinned: in its runs). */
static phys_addr_t iopt_pages_byte_pa(const struct iopt_pages *pages,
				      unsigned long byte)
{
	unsigned long idx = byte / PG;

	for (unsigned int i = 0; i < pages->nr_runs; i++) {
		if (idx < pages->runs[i].npages)
			return pages->runs[i].pa + idx * PG + byte % PG;
		idx -= pages->runs[i].npages;
	}
	WARN_ON(1);
	return PHYS_ADDR_INVALID;
}

static bool iopt_area_prot_ok(const struct iopt_area *area, bool write)
{
	return area->iommu_prot & (write ? IOMMU_WRITE : IOMMU_READ);
}

/*
 * Walk the areas over [iova, last]: fn on each piece [cur, piece_last] of
 * area; stops at fn's error.  -ENOENT when they leave a gap.
 */
static int iopt_for_each_piece(struct io_pagetable *iopt, unsigned long iova,
			       unsigned long last,
			       int (*fn)(struct iopt_area *area,
					 unsigned long cur,
					 unsigned long piece_last, void *arg),
			       void *arg)
{
	struct iopt_area *area = iopt_area_first(iopt, iova, last);
	unsigned long cur = iova;
	int ret;

	lockdep_assert_held(&iopt->lock);
	for (; area; area = iopt_area_next(iopt, area, last)) {
		unsigned long piece_last = min(area->last, last);

		if (area->iova > cur)
			return -ENOENT;
		ret = fn(area, cur, piece_last, arg);
		if (ret)
			return ret;
		if (piece_last == last)
			return 0;
		cur = piece_last + 1;
	}
	return -ENOENT;
}

static int piece_check_pin(struct iopt_area *area, unsigned long cur,
			   unsigned long piece_last, void *arg)
{
	bool write = *(bool *)arg;
	unsigned long byte = area->start_byte + (cur - area->iova);

	/* a page of the IOVA is a page of the pages (iopt_area_contig_is_
	 * aligned): the same offset in both, whole pages between areas */
	if (area->prevent_access || byte % PG != cur % PG ||
	    (piece_last != area->last && (piece_last + 1) % PG))
		return -EINVAL;
	if (!iopt_area_prot_ok(area, write))
		return -EPERM;
	return 0;
}

/* An access's pin of area: the first makes the area a pin user of its
 * pages (pinned from then on), the last drops it. */
static int iopt_area_access_get(struct iopt_area *area)
{
	int ret;

	if (!area->num_accesses) {
		ret = iopt_pages_pin_get(area->pages);
		if (ret)
			return ret;
	}
	area->num_accesses++;
	return 0;
}

static void iopt_area_access_put(struct iopt_area *area)
{
	if (WARN_ON(!area->num_accesses))
		return;
	if (!--area->num_accesses)
		iopt_pages_pin_put(area->pages);
}

static int piece_unpin(struct iopt_area *area, unsigned long cur,
		       unsigned long piece_last, void *arg)
{
	iopt_area_access_put(area);
	return 0;
}

struct pin_arg {
	phys_addr_t *out;
	unsigned long done_last; /* the last IOVA of the pieces pinned */
	bool any;
};

static int piece_pin(struct iopt_area *area, unsigned long cur,
		     unsigned long piece_last, void *arg)
{
	struct pin_arg *p = arg;
	unsigned long byte = area->start_byte + (cur - area->iova);
	unsigned long first = ALIGN_DOWN(cur, PG);
	int ret;

	ret = iopt_area_access_get(area);
	if (ret)
		return ret;
	p->any = true;
	p->done_last = piece_last;
	mutex_lock(&area->pages->mutex);
	for (unsigned long v = first; v <= piece_last; v += PG)
		*p->out++ = iopt_pages_byte_pa(
			area->pages, ALIGN_DOWN(byte, PG) + (v - first));
	mutex_unlock(&area->pages->mutex);
	return 0;
}

int iopt_access_pin(struct io_pagetable *iopt, unsigned long iova,
		    unsigned long last, phys_addr_t *out_pa, bool write)
{
	struct pin_arg p = {.out = out_pa};
	int ret;

	mutex_lock(&iopt->lock);
	ret = iopt_for_each_piece(iopt, iova, last, piece_check_pin, &write);
	if (!ret) {
		ret = iopt_for_each_piece(iopt, iova, last, piece_pin, &p);
		if (ret && p.any) /* a pin failed: undo the pieces before */
			iopt_for_each_piece(iopt, iova, p.done_last,
					    piece_unpin, NULL);
	}
	mutex_unlock(&iopt->lock);
	return ret;
}

void iopt_access_unpin(struct io_pagetable *iopt, unsigned long iova,
		       unsigned long last)
{
	mutex_lock(&iopt->lock);
	WARN_ON(iopt_for_each_piece(iopt, iova, last, piece_unpin, NULL));
	mutex_unlock(&iopt->lock);
}

struct rw_arg {
	struct phys_mem *pm;
	uint8_t *data;
	bool write;
};

static int piece_check_rw(struct iopt_area *area, unsigned long cur,
			  unsigned long piece_last, void *arg)
{
	struct rw_arg *rw = arg;

	if (area->prevent_access)
		return -EINVAL;
	if (!iopt_area_prot_ok(area, rw->write))
		return -EPERM;
	return 0;
}

/*
 * Copy one piece: through the frames while the pages are pinned, else
 * through the user's mapping (the kernel's access_remote_vm path; the
 * pages belong to this process here), -EFAULT where that faults.
 */
static int piece_rw(struct iopt_area *area, unsigned long cur,
		    unsigned long piece_last, void *arg)
{
	struct rw_arg *rw = arg;
	struct iopt_pages *pages = area->pages;
	unsigned long byte = area->start_byte + (cur - area->iova);
	unsigned long left = piece_last - cur + 1;
	int ret = 0;

	mutex_lock(&pages->mutex);
	if (!pages->nr_runs) {
		void *uva = (void *)(pages->uptr + byte);

		if (rw->write ? copy_to_user(uva, rw->data, left)
			      : copy_from_user(rw->data, uva, left))
			ret = -EFAULT;
		rw->data += left;
		left = 0;
	}
	while (left) {
		size_t n = min(left, PG - byte % PG);
		void *va =
			phys_to_virt(rw->pm, iopt_pages_byte_pa(pages, byte));

		if (rw->write)
			memcpy(va, rw->data, n);
		else
			memcpy(rw->data, va, n);
		rw->data += n;
		byte += n;
		left -= n;
	}
	mutex_unlock(&pages->mutex);
	return ret;
}

int iopt_access_rw(struct io_pagetable *iopt, unsigned long iova,
		   unsigned long last, void *data, bool write)
{
	struct rw_arg rw = {.data = data, .write = write};
	struct iopt_area *area;
	int ret;

	mutex_lock(&iopt->lock);
	ret = iopt_for_each_piece(iopt, iova, last, piece_check_rw, &rw);
	if (!ret) {
		area = iopt_area_first(iopt, iova, last);
		rw.pm = mm_phys(area->pages->mm);
		ret = iopt_for_each_piece(iopt, iova, last, piece_rw, &rw);
	}
	mutex_unlock(&iopt->lock);
	return ret;
}

/* ---- dirty tracking ---------------------------------------------------------------- */

/*
 * Dirty tracking of one of the IOAS's domains (6.12's
 * iopt_set_dirty_tracking / iopt_read_and_clear_dirty_data): ops are the
 * domain's HWPT's (NULL: the domain cannot track, -EOPNOTSUPP), the IOMMU
 * core's struct iommu_dirty_ops.  The driver reports dirty ranges into an
 * iommu_dirty_bitmap whose gather collects them; a clearing read syncs
 * the gathered range (iommu_iotlb_sync: for the SMMU TLBI + CMD_SYNC), so
 * no IOTLB entry cached while a page was dirty lets the next write
 * through without dirtying it again.  Both run under iopt->lock, so no
 * map or unmap changes the areas meanwhile.
 */
int iopt_set_dirty_tracking(struct io_pagetable *iopt,
			    struct iommu_domain *domain,
			    const struct iommu_dirty_ops *ops, bool enable)
{
	struct iommu_iotlb_gather gather;
	struct iommu_dirty_bitmap dirty;
	struct iopt_area *area;
	int ret = 0;

	if (!ops)
		return -EOPNOTSUPP;
	mutex_lock(&iopt->lock);
	/* what was dirtied before tracking started is not reported */
	if (enable) {
		iommu_dirty_bitmap_init(&dirty, NULL, NULL, &gather);
		RB_FOREACH(area, iopt_area_tree, &iopt->areas) {
			ret = ops->read_and_clear_dirty(
				domain, area->iova, area->last - area->iova + 1,
				0, &dirty);
			if (ret)
				break;
		}
		iommu_iotlb_sync(domain, &gather);
		if (ret)
			goto out;
	}
	ret = ops->set_dirty_tracking(domain, enable);
out:
	mutex_unlock(&iopt->lock);
	return ret;
}

/* 6.12's iommufd_check_iova_range: its checks, its order, its errnos. */
static int iopt_check_dirty_range(struct io_pagetable *iopt,
				  struct iommu_hwpt_get_dirty_bitmap *bitmap)
{
	uint64_t align = iopt->iova_alignment, last;

	if (check_add_overflow(bitmap->iova, bitmap->length - 1, &last))
		return -EOVERFLOW;
	if (bitmap->iova > ULONG_MAX || last > ULONG_MAX)
		return -EOVERFLOW;
	if ((bitmap->iova & (align - 1)) || ((last + 1) & (align - 1)))
		return -EINVAL;
	if (!bitmap->page_size)
		return -EINVAL;
	if ((bitmap->iova & (bitmap->page_size - 1)) ||
	    ((last + 1) & (bitmap->page_size - 1)))
		return -EINVAL;
	return 0;
}

struct iopt_dirty_arg {
	struct io_pagetable *iopt;
	struct iommu_domain *domain;
	const struct iommu_dirty_ops *ops;
	unsigned long flags;
	struct iommu_dirty_bitmap dirty; /* its bitmap: the chunk's */
};

static int piece_read_dirty(struct iopt_area *area, unsigned long cur,
			    unsigned long piece_last, void *arg)
{
	struct iopt_dirty_arg *d = arg;

	return d->ops->read_and_clear_dirty(
		d->domain, cur, piece_last - cur + 1, d->flags, &d->dirty);
}

/* One chunk of the user's bitmap: its range must be mapped throughout. */
static int iopt_read_dirty_chunk(struct iova_bitmap *bitmap, unsigned long iova,
				 size_t length, void *opaque)
{
	struct iopt_dirty_arg *d = opaque;
	int ret;

	d->dirty.bitmap = bitmap;
	ret = iopt_for_each_piece(d->iopt, iova, iova + length - 1,
				  piece_read_dirty, d);
	return ret == -ENOENT ? -EINVAL : ret; /* a hole */
}

int iopt_read_and_clear_dirty_data(struct io_pagetable *iopt,
				   struct iommu_domain *domain,
				   const struct iommu_dirty_ops *ops,
				   unsigned long flags,
				   struct iommu_hwpt_get_dirty_bitmap *bitmap)
{
	struct iopt_dirty_arg arg = {
		.iopt = iopt, .domain = domain, .ops = ops, .flags = flags};
	struct iommu_iotlb_gather gather;
	int ret;

	if (!ops || !ops->read_and_clear_dirty)
		return -EOPNOTSUPP;
	iommu_dirty_bitmap_init(&arg.dirty, NULL, iova_bitmap_set, &gather);
	mutex_lock(&iopt->lock);
	ret = iopt_check_dirty_range(iopt, bitmap);
	if (!ret) {
		ret = iova_bitmap_for_each(bitmap->iova, bitmap->length,
					   bitmap->page_size, bitmap->data,
					   iopt_read_dirty_chunk, &arg);
		/* 6.12: a clearing read flushes what it cleaned */
		if (!(flags & IOMMU_DIRTY_NO_CLEAR))
			iommu_iotlb_sync(domain, &gather);
	}
	mutex_unlock(&iopt->lock);
	return ret;
}
