// SPDX-License-Identifier: MIT
/*
 * Pages pinned by drivers (mediated devices) through the container: the
 * kernel's vfio_pin_pages/vfio_unpin_pages for type1, and the dma_unmap
 * callbacks that ask those drivers to let go (the series that replaced the DMA unmap notifier with this callback).
 *
 * Data model: each vfio_dma keeps an rb-tree of struct vfio_pfn keyed by
 * IOVA, one per page a driver pinned, with a reference count (two drivers,
 * or one driver twice, pinning a page count two; each unpin drops one, and
 * the page's single pin is released at zero).  Only IOVAs in the tree can be
 * unpinned: unpinning a page nobody pinned changes nothing.
 *
 * Each vfio_pfn also lists its holders: the registered devices that pinned
 * it through vfio_iommu_type1_device_pin_pages, with their counts, or the
 * anonymous holder (NULL) of vfio_iommu_type1_pin_pages.  An unpin drops a
 * reference of its own holder only, so a driver unpinning a page it never
 * pinned cannot take another driver's pin away (the kernel only has
 * the page's count and that risk).  The holders also let a
 * failed UNMAP_DMA name the device that kept its pins.
 * Invariants: ref_count == sum of the holders' counts; vdev->pinned == sum
 * of vdev's counts over all vfio_pfn of its container.
 *
 * Accounting: a driver's pin is charged to locked_vm only when the
 * container has no IOMMU-backed domain; with one, every page of every
 * mapping is already pinned and charged for the IOMMU.  Symmetrically an
 * unpin uncharges only without a domain, and the IOMMU pinning path skips
 * pages that have a vfio_pfn (type1.c).  With I/O page faults on, nothing
 * else pins, so drivers' pins are always charged, and a page a
 * driver pins is mapped into the domains at once (it cannot fault;
 * the reviewers' replacement for the posted vfio_range tracking); it stays
 * mapped as a faulted page after the unpin.
 *
 * Invalid vaddrs (VFIO_DMA_UNMAP_FLAG_VADDR): the kernel stopped blocking
 * pins until the vaddr comes back; a pin while any vaddr is invalid fails
 * with -EBUSY, and VADDR invalidation is refused while emulated groups are
 * attached.
 *
 * Locking: iommu->lock for the trees; device_list_lock for the registered
 * devices.  The unmap path calls the callbacks with iommu->lock dropped and
 * device_list_lock held, so a callback may call vfio_iommu_type1_unpin_pages
 * (order: device_list_lock, then lock).
 */
#include <errno.h>
#include <stdio.h>

#include "vfio/type1_internal.h"

static int vfio_pfn_cmp(const struct vfio_pfn *a, const struct vfio_pfn *b)
{
	return a->iova < b->iova ? -1 : a->iova > b->iova;
}

RB_GENERATE_INTERNAL(vfio_pfn_tree, vfio_pfn, node, vfio_pfn_cmp,
		     __attribute__((unused)) static)

struct vfio_pfn *vfio_find_vpfn(struct vfio_dma *dma, dma_addr_t iova)
{
	struct vfio_pfn key = {.iova = iova};

	if (!dma->nr_pfns)
		return NULL;
	return RB_FIND(vfio_pfn_tree, &dma->pfn_list, &key);
}

struct vfio_pfn *vfio_vpfn_first(struct vfio_dma *dma)
{
	return RB_MIN(vfio_pfn_tree, &dma->pfn_list);
}

struct vfio_pfn *vfio_vpfn_next(struct vfio_dma *dma, struct vfio_pfn *vpfn)
{
	return RB_NEXT(vfio_pfn_tree, &dma->pfn_list, vpfn);
}

uint64_t vfio_vpfn_count(struct vfio_dma *dma, dma_addr_t iova, uint64_t npages)
{
	struct vfio_pfn key = {.iova = iova}, *v;
	dma_addr_t end = iova + (npages << PAGE_SHIFT);
	uint64_t n = 0;

	if (!dma->nr_pfns)
		return 0;
	for (v = RB_NFIND(vfio_pfn_tree, &dma->pfn_list, &key);
	     v && v->iova < end; v = vfio_vpfn_next(dma, v))
		n++;
	return n;
}

static struct vfio_pfn_holder **vfio_holder_find(struct vfio_pfn *vpfn,
						 struct vfio_iommu_device *vdev)
{
	struct vfio_pfn_holder **h;

	for (h = &vpfn->holders; *h; h = &(*h)->next)
		if ((*h)->vdev == vdev)
			return h;
	return NULL;
}

/* The page holds one reference for all of ref_count. */
static void vfio_vpfn_release(struct vfio_iommu *iommu, struct vfio_dma *dma,
			      struct vfio_pfn *vpfn)
{
	struct mm_pin_run run = {.pa = vpfn->phys, .npages = 1};
	struct vfio_pfn_holder *h;

	lockdep_assert_held(&iommu->lock);

	while ((h = vpfn->holders)) {
		vpfn->holders = h->next;
		if (h->vdev)
			h->vdev->pinned -= h->count;
		ui_free(h);
	}
	mm_unpin_pages(iommu->mm, &run, 1, 0);
	RB_REMOVE(vfio_pfn_tree, &dma->pfn_list, vpfn);
	dma->nr_pfns--;
	ui_free(vpfn);
}

void vfio_dma_drop_vpfns(struct vfio_iommu *iommu, struct vfio_dma *dma)
{
	struct vfio_pfn *vpfn;

	lockdep_assert_held(&iommu->lock);

	while ((vpfn = vfio_vpfn_first(dma))) {
		vfio_vpfn_release(iommu, dma, vpfn);
		vfio_lock_acct(iommu, dma, -1);
	}
}

/*
 * Drop one of vdev's references on the driver pin at iova; the page goes
 * with the last reference.  1 if the page was released, 0 otherwise
 * (including when vdev held none: then nothing changes).
 */
static int vfio_unpin_page_external(struct vfio_iommu *iommu,
				    struct vfio_dma *dma,
				    struct vfio_iommu_device *vdev,
				    dma_addr_t iova, bool do_accounting)
{
	struct vfio_pfn *vpfn = vfio_find_vpfn(dma, iova);
	struct vfio_pfn_holder **hp, *h;

	lockdep_assert_held(&iommu->lock);

	if (!vpfn)
		return 0;
	hp = vfio_holder_find(vpfn, vdev);
	if (!hp)
		return 0;
	h = *hp;
	if (vdev)
		vdev->pinned--;
	vpfn->ref_count--;
	if (!--h->count) {
		*hp = h->next;
		ui_free(h);
	}
	if (vpfn->ref_count)
		return 0;
	vfio_vpfn_release(iommu, dma, vpfn);
	if (do_accounting)
		vfio_lock_acct(iommu, dma, -1);
	return 1;
}

/* One more reference of vdev on vpfn; -ENOMEM changes nothing. */
static int vfio_vpfn_get(struct vfio_pfn *vpfn, struct vfio_iommu_device *vdev)
{
	struct vfio_pfn_holder **hp = vfio_holder_find(vpfn, vdev), *h;

	if (hp) {
		h = *hp;
	} else {
		h = ui_malloc(sizeof(*h));
		if (!h)
			return -ENOMEM;
		h->vdev = vdev;
		h->count = 0;
		h->next = vpfn->holders;
		vpfn->holders = h;
	}
	h->count++;
	vpfn->ref_count++;
	if (vdev)
		vdev->pinned++;
	return 0;
}

static int vfio_pin_pages_common(struct vfio_iommu *iommu,
				 struct vfio_iommu_device *vdev,
				 struct iommu_group *group, dma_addr_t iova,
				 int npage, int prot, phys_addr_t *phys)
{
	struct vfio_iommu_group *g;
	bool do_accounting;
	int i, j, ret;

	if (!iommu || !phys || npage <= 0)
		return -EINVAL;
	if (npage > VFIO_PIN_PAGES_MAX_ENTRIES)
		return -E2BIG;
	/* v2 only */
	if (!iommu->v2)
		return -EACCES;
	if (!IS_ALIGNED(iova, PAGE_SIZE) ||
	    !(prot & (IOMMU_READ | IOMMU_WRITE)) ||
	    (prot & ~(IOMMU_READ | IOMMU_WRITE)))
		return -EINVAL;

	mutex_lock(&iommu->lock);
	if (WARN_ON_ONCE(iommu->vaddr_invalid_count)) {
		ret = -EBUSY;
		goto pin_done;
	}
	/* the other refusals are all -EINVAL */
	ret = -EINVAL;
	/* no pins without someone to call back on unmap */
	if (!atomic_load(&iommu->nr_devices))
		goto pin_done;
	/* the caller keeps vdev registered while it pins (the kernel's
	 * "device open" lifetime) */
	if (vdev && (!vdev->registered || vdev->iommu != iommu))
		goto pin_done;
	g = vfio_find_group(iommu, group);
	if (!g)
		goto pin_done;
	/* with an IOMMU domain every page is pinned and charged already,
	 * unless faults map them */
	do_accounting = !vfio_has_domain(iommu) || iommu->iopf_enabled;

	for (i = 0; i < npage; i++) {
		dma_addr_t cur = iova + ((dma_addr_t)i << PAGE_SHIFT);
		struct mm_pin_run run;
		struct vfio_pfn *vpfn;
		struct vfio_dma *dma;
		unsigned int nr;
		uint64_t seq = 0;
		long n;

		dma = vfio_find_dma(iommu, cur, PAGE_SIZE);
		if (!dma) {
			ret = -EINVAL;
			goto pin_unwind;
		}
		if ((dma->prot & prot) != prot) {
			ret = -EPERM;
			goto pin_unwind;
		}
		vpfn = vfio_find_vpfn(dma, cur);
		if (vpfn) {
			ret = vfio_vpfn_get(vpfn, vdev);
			if (ret)
				goto pin_unwind;
			phys[i] = vpfn->phys;
			continue;
		}
		if (iommu->iopf_enabled)
			seq = vfio_iopf_seq(iommu);
		n = mm_pin_pages(iommu->mm, dma->vaddr + (cur - dma->iova), 1,
				 dma->prot & IOMMU_WRITE ? MM_GUP_WRITE : 0,
				 &run, 1, &nr);
		if (n < 0) {
			ret = (int)n;
			goto pin_unwind;
		}
		if (do_accounting) {
			ret = vfio_lock_acct(iommu, dma, 1);
			if (ret) {
				mm_unpin_pages(iommu->mm, &run, 1, 0);
				goto pin_unwind;
			}
		}
		vpfn = ui_zalloc(sizeof(*vpfn));
		if (!vpfn || vfio_vpfn_get(vpfn, vdev)) {
			ui_free(vpfn);
			mm_unpin_pages(iommu->mm, &run, 1, 0);
			if (do_accounting)
				vfio_lock_acct(iommu, dma, -1);
			ret = -ENOMEM;
			goto pin_unwind;
		}
		vpfn->iova = cur;
		vpfn->phys = run.pa;
		RB_INSERT(vfio_pfn_tree, &dma->pfn_list, vpfn);
		dma->nr_pfns++;
		phys[i] = run.pa;
		if (iommu->dirty_page_tracking) {
			mutex_lock(&iommu->iopf_lock);
			vfio_dma_bitmap_set_pinned(iommu, dma, cur);
			mutex_unlock(&iommu->iopf_lock);
		}
		if (iommu->iopf_enabled) {
			/* mapped now, so the device never faults on it;
			 * on failure the pin is undone like the others */
			ret = vfio_iopf_map_pinned(iommu, dma, cur, run.pa,
						   seq);
			if (ret) {
				i++;
				goto pin_unwind;
			}
		}
	}
	ret = npage;
	/* this group now says which pages it dirties: its pins */
	if (!g->pinned_page_dirty_scope) {
		g->pinned_page_dirty_scope = true;
		iommu->num_non_pinned_groups--;
	}
	goto pin_done;

pin_unwind:
	for (j = 0; j < i; j++) {
		dma_addr_t cur = iova + ((dma_addr_t)j << PAGE_SHIFT);

		vfio_unpin_page_external(iommu,
					 vfio_find_dma(iommu, cur, PAGE_SIZE),
					 vdev, cur, do_accounting);
		phys[j] = 0;
	}
pin_done:
	mutex_unlock(&iommu->lock);
	return ret;
}

int vfio_iommu_type1_pin_pages(struct vfio_iommu *iommu,
			       struct iommu_group *group, dma_addr_t iova,
			       int npage, int prot, phys_addr_t *phys)
{
	return vfio_pin_pages_common(iommu, NULL, group, iova, npage, prot,
				     phys);
}

int vfio_iommu_type1_device_pin_pages(struct vfio_iommu *iommu,
				      struct vfio_iommu_device *vdev,
				      struct iommu_group *group,
				      dma_addr_t iova, int npage, int prot,
				      phys_addr_t *phys)
{
	if (!vdev)
		return -EINVAL;
	return vfio_pin_pages_common(iommu, vdev, group, iova, npage, prot,
				     phys);
}

static int vfio_unpin_pages_common(struct vfio_iommu *iommu,
				   struct vfio_iommu_device *vdev,
				   dma_addr_t iova, int npage)
{
	bool do_accounting;
	int i;

	if (!iommu || npage <= 0 || !IS_ALIGNED(iova, PAGE_SIZE))
		return -EINVAL;
	if (npage > VFIO_PIN_PAGES_MAX_ENTRIES)
		return -E2BIG;
	if (!iommu->v2)
		return -EACCES;

	mutex_lock(&iommu->lock);
	do_accounting = !vfio_has_domain(iommu) || iommu->iopf_enabled;
	for (i = 0; i < npage; i++) {
		dma_addr_t cur = iova + ((dma_addr_t)i << PAGE_SHIFT);
		struct vfio_dma *dma = vfio_find_dma(iommu, cur, PAGE_SIZE);

		if (!dma)
			break;
		vfio_unpin_page_external(iommu, dma, vdev, cur, do_accounting);
	}
	mutex_unlock(&iommu->lock);
	return i > 0 ? i : -EINVAL;
}

int vfio_iommu_type1_unpin_pages(struct vfio_iommu *iommu, dma_addr_t iova,
				 int npage)
{
	return vfio_unpin_pages_common(iommu, NULL, iova, npage);
}

int vfio_iommu_type1_device_unpin_pages(struct vfio_iommu *iommu,
					struct vfio_iommu_device *vdev,
					dma_addr_t iova, int npage)
{
	if (!vdev)
		return -EINVAL;
	return vfio_unpin_pages_common(iommu, vdev, iova, npage);
}

uint64_t vfio_iommu_type1_device_pinned(struct vfio_iommu *iommu,
					struct vfio_iommu_device *vdev)
{
	uint64_t n = 0;

	if (!iommu || !vdev)
		return 0;
	mutex_lock(&iommu->lock);
	if (vdev->iommu == iommu)
		n = vdev->pinned;
	mutex_unlock(&iommu->lock);
	return n;
}

/* Drop every reference vdev still holds (unregistering with pins). */
static void vfio_drop_device_pins(struct vfio_iommu *iommu,
				  struct vfio_iommu_device *vdev)
{
	bool do_accounting = !vfio_has_domain(iommu) || iommu->iopf_enabled;
	struct vfio_dma *dma;

	lockdep_assert_held(&iommu->lock);

	for (dma = vfio_dma_first(iommu); dma && vdev->pinned;
	     dma = vfio_dma_next(iommu, dma)) {
		struct vfio_pfn *v, *n;

		for (v = vfio_vpfn_first(dma); v; v = n) {
			struct vfio_pfn_holder **hp = vfio_holder_find(v, vdev);
			unsigned int cnt = hp ? (*hp)->count : 0;

			n = vfio_vpfn_next(dma, v);
			while (cnt--)
				vfio_unpin_page_external(iommu, dma, vdev,
							 v->iova,
							 do_accounting);
		}
	}
	WARN_ON(vdev->pinned);
}

void vfio_report_busy_pins(struct vfio_iommu *iommu, struct vfio_dma *dma)
{
	struct vfio_pfn *v;
	const char *name = NULL;
	uint64_t pages = 0;

	lockdep_assert_held(&iommu->lock);

	for (v = vfio_vpfn_first(dma); v; v = vfio_vpfn_next(dma, v)) {
		pages++;
		if (!name && v->holders)
			name = v->holders->vdev ? v->holders->vdev->name
						: "(vfio_iommu_type1_pin_"
						  "pages)";
		if (!name)
			name = "(unnamed device)";
	}
	snprintf(iommu->busy_device, sizeof(iommu->busy_device), "%s",
		 name ? name : "");
	/* the kernel BUG()s after its retries; here the unmap fails */
	pr_err("vfio: UNMAP_DMA [%#llx, +%#llx): %llu pinned page(s) still "
	       "held by %s after %d dma_unmap rounds; unmap fails with -EBUSY",
	       (unsigned long long)dma->iova, (unsigned long long)dma->size,
	       (unsigned long long)pages, name ? name : "?",
	       VFIO_UNMAP_NOTIFY_RETRIES + 1);
}

/* ---- drivers and their dma_unmap callbacks ------------------------------------ */

int vfio_iommu_type1_register_device(struct vfio_iommu *iommu,
				     struct vfio_iommu_device *vdev)
{
	if (!iommu || !vdev || !vdev->ops || !vdev->ops->dma_unmap)
		return -EINVAL;
	mutex_lock(&iommu->device_list_lock);
	if (vdev->registered) {
		mutex_unlock(&iommu->device_list_lock);
		return -EBUSY;
	}
	/* transfer_lock too: the fault handler walks the list under it */
	down_write(&iommu->transfer_lock);
	LIST_INSERT_HEAD(&iommu->device_list, vdev, link);
	up_write(&iommu->transfer_lock);
	vdev->registered = true;
	mutex_lock(&iommu->lock);
	vdev->iommu = iommu;
	vdev->pinned = 0;
	mutex_unlock(&iommu->lock);
	atomic_fetch_add(&iommu->nr_devices, 1);
	mutex_unlock(&iommu->device_list_lock);
	return 0;
}

void vfio_iommu_type1_unregister_device(struct vfio_iommu *iommu,
					struct vfio_iommu_device *vdev)
{
	if (!iommu || !vdev)
		return;
	mutex_lock(&iommu->device_list_lock);
	if (vdev->registered && vdev->iommu == iommu) {
		/* waits for a transfer op in flight */
		down_write(&iommu->transfer_lock);
		LIST_REMOVE(vdev, link);
		up_write(&iommu->transfer_lock);
		vdev->registered = false;
		atomic_fetch_sub(&iommu->nr_devices, 1);
		/* no pin may outlive its holder */
		mutex_lock(&iommu->lock);
		if (WARN_ON(vdev->pinned))
			vfio_drop_device_pins(iommu, vdev);
		vdev->iommu = NULL;
		mutex_unlock(&iommu->lock);
	}
	mutex_unlock(&iommu->device_list_lock);
}

void vfio_notify_dma_unmap(struct vfio_iommu *iommu, dma_addr_t iova,
			   uint64_t size)
{
	struct vfio_iommu_device *vdev;

	lockdep_assert_held(&iommu->lock);

	mutex_unlock(&iommu->lock);
	mutex_lock(&iommu->device_list_lock);
	LIST_FOREACH(vdev, &iommu->device_list, link) {
		vdev->ops->dma_unmap(vdev, iova, size, vdev->priv);
		__atomic_fetch_add(&iommu->unmap_notify_calls, 1,
				   __ATOMIC_RELAXED);
	}
	mutex_unlock(&iommu->device_list_lock);
	mutex_lock(&iommu->lock);
}
