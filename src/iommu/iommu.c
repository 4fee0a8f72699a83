// SPDX-License-Identifier: MIT
/*
 * The IOMMU core: devices and groups, domains and attachment, map/unmap
 * with page-size selection, IOTLB gather and sync, reserved regions, device
 * features, and device fault reporting with page responses.
 *
 * Data model:
 *  - A struct device is probed onto one struct iommu_device and put in a
 *    struct iommu_group: its own, or the one of the same non-zero group_id
 *    (functions behind one non-ACS bridge).  Groups are numbered from 0 in
 *    creation order and stay registered until their last device goes.
 *  - A group is attached to at most one domain; all its devices follow it.
 *    No domain means blocked: the driver aborts the device's DMA.
 *  - A domain's strictness is decided when it is allocated and never
 *    changes: only DMA_FQ domains are lazy (an UNMANAGED domain is strict
 *    whatever the driver can do).
 *  - Each device may have one fault handler (struct iommu_fault_param) and
 *    a list of page requests still waiting for their response.  Its flags
 *    filter what it is given: stage-2 faults of a nested translation (the
 *    L2 flag) need FAULT_REPORT_NESTED_L2, the others NESTED_L1, unless
 *    it is FLAT.
 *  - A nested domain has a parent: a NEST_PARENT (stage-2) paging domain
 *    of the same IOMMU; the nested domain owns no tables (map/unmap are
 *    -EINVAL on it) and holds the guest's stage-1 context.
 *
 * Locking:
 *  - iommu_core.lock guards the group list and group membership.
 *  - group->lock guards group->domain and the devices' domain pointers;
 *    attach/detach and domain free take it.  map/unmap take no core lock:
 *    the page-table code is safe for concurrent disjoint ranges, as the
 *    kernel's is, and callers own their ranges.
 *  - fault_param->lock (a rw_semaphore) guards the handler: reports hold
 *    it for reading while the handler runs, (un)registration and flag
 *    updates for writing.  fault_param->pending_lock guards the pending
 *    page requests, so a handler may answer its request
 *    (iommu_page_response) inline.
 *  - The order of these locks, and of the driver's, the DMA API's and the
 *    IOVA allocator's, is written once in iommu/iommu_internal.h.  Held
 *    across callbacks into the caller's code: iommu_core.lock (the
 *    function of iommu_group_for_each_dev), group->lock (a domain's fault
 *    handler, through report_iommu_fault_dev) and fault_param->lock for
 *    reading (a device's fault handler).
 *
 * Invariants: a group's devices all have group->domain as their domain; a
 * domain is freed only with no device attached; a failed call changed
 * nothing; a domain whose invalidation did not complete is broken for
 * good (domain->error, set by the driver after it blocked the domain's
 * DMA), and nothing is mapped into it any more.
 */
#include <errno.h>
#include <string.h>

#include "iommu/iommu.h"

#include "iommu/iommu_internal.h"
#include "lib/internal.h"

struct iommu_fault_event {
	struct iommu_fault fault;
	TAILQ_ENTRY(iommu_fault_event) link;
};

/* One per device with a registered fault handler. */
struct iommu_fault_param {
	struct rw_semaphore lock; /* handler, flags, data */
	iommu_dev_fault_handler_t handler;
	unsigned int flags;
	void *data;

	struct mutex pending_lock;
	TAILQ_HEAD(, iommu_fault_event) pending; /* pending_lock */
	unsigned int nr_pending;		 /* pending_lock */
};

struct iommu_group {
	int id;
	unsigned int tag; /* group_id given at probe, 0 for private */
	struct mutex lock;
	struct iommu_domain *domain;  /* lock */
	LIST_HEAD(, device) devices;  /* iommu_core.lock */
	unsigned int nr_devices;      /* iommu_core.lock */
	LIST_ENTRY(iommu_group) link; /* iommu_core.lock */
};

static struct {
	struct mutex lock;
	LIST_HEAD(, iommu_group) groups;
	int next_group_id;
} iommu_core = {
	.lock = MUTEX_INITIALIZER("iommu_core.lock", IOMMU_LOCK_CORE),
};

/* ---- IOMMU instances, devices, groups -------------------------------------------- */

int iommu_device_register(struct iommu_device *iommu)
{
	if (!iommu || !iommu->ops || !iommu->pm)
		return -EINVAL;
	return 0;
}

void iommu_device_unregister(struct iommu_device *iommu)
{
}

static struct iommu_group *group_find_tag(unsigned int tag)
{
	struct iommu_group *g;

	lockdep_assert_held(&iommu_core.lock);
	LIST_FOREACH(g, &iommu_core.groups, link)
		if (tag && g->tag == tag)
			return g;
	return NULL;
}

static struct iommu_group *group_alloc(unsigned int tag)
{
	struct iommu_group *g;

	lockdep_assert_held(&iommu_core.lock);
	g = ui_zalloc(sizeof(*g));
	if (!g)
		return NULL;
	g->id = iommu_core.next_group_id++;
	g->tag = tag;
	mutex_init(&g->lock, IOMMU_LOCK_GROUP);
	LIST_INIT(&g->devices);
	LIST_INSERT_HEAD(&iommu_core.groups, g, link);
	return g;
}

static void group_free(struct iommu_group *g)
{
	lockdep_assert_held(&iommu_core.lock);
	LIST_REMOVE(g, link);
	mutex_destroy(&g->lock);
	ui_free(g);
}

int iommu_probe_device(struct device *dev, struct iommu_device *iommu,
		       unsigned int group_id)
{
	struct iommu_group *g;
	bool new_group = false;
	int ret;

	if (!dev || !iommu || dev->iommu)
		return -EINVAL;
	dev->iommu = iommu;
	dev->domain = NULL;
	dev->fault_param = NULL;
	if (iommu->ops->probe_device) {
		ret = iommu->ops->probe_device(dev);
		if (ret)
			goto err_clear;
	}

	mutex_lock(&iommu_core.lock);
	g = group_find_tag(group_id);
	if (!g) {
		g = group_alloc(group_id);
		if (!g) {
			ret = -ENOMEM;
			goto err_unlock;
		}
		new_group = true;
	}
	/* a device joins a group that is attached somewhere: it follows */
	mutex_lock(&g->lock);
	if (g->domain) {
		ret = g->domain->ops->attach_dev(g->domain, dev);
		if (ret) {
			mutex_unlock(&g->lock);
			goto err_group;
		}
		dev->domain = g->domain;
		atomic_fetch_add(&g->domain->attach_cnt, 1);
	}
	mutex_unlock(&g->lock);
	dev->group = g;
	LIST_INSERT_HEAD(&g->devices, dev, group_link);
	g->nr_devices++;
	mutex_unlock(&iommu_core.lock);
	return 0;

err_group:
	if (new_group)
		group_free(g);
err_unlock:
	mutex_unlock(&iommu_core.lock);
	if (iommu->ops->release_device)
		iommu->ops->release_device(dev);
err_clear:
	dev->iommu = NULL;
	return ret;
}

static void fault_param_free(struct iommu_fault_param *p);

void iommu_release_device(struct device *dev)
{
	struct iommu_group *g = dev ? dev->group : NULL;

	if (!g)
		return;
	mutex_lock(&iommu_core.lock);
	mutex_lock(&g->lock);
	if (dev->domain) {
		if (dev->domain->ops->detach_dev)
			dev->domain->ops->detach_dev(dev->domain, dev);
		atomic_fetch_sub(&dev->domain->attach_cnt, 1);
		dev->domain = NULL;
	}
	mutex_unlock(&g->lock);
	LIST_REMOVE(dev, group_link);
	dev->group = NULL;
	if (!--g->nr_devices)
		group_free(g);
	mutex_unlock(&iommu_core.lock);

	if (dev->fault_param) {
		fault_param_free(dev->fault_param);
		dev->fault_param = NULL;
	}
	if (dev->iommu->ops->release_device)
		dev->iommu->ops->release_device(dev);
	dev->iommu = NULL;
}

struct iommu_group *iommu_group_get(struct device *dev)
{
	return dev ? dev->group : NULL;
}

int iommu_group_id(const struct iommu_group *group)
{
	return group->id;
}

unsigned int iommu_group_device_count(struct iommu_group *group)
{
	unsigned int n;

	mutex_lock(&iommu_core.lock);
	n = group->nr_devices;
	mutex_unlock(&iommu_core.lock);
	return n;
}

struct iommu_group *iommu_group_by_id(int id)
{
	struct iommu_group *g;

	mutex_lock(&iommu_core.lock);
	LIST_FOREACH(g, &iommu_core.groups, link)
		if (g->id == id)
			break;
	mutex_unlock(&iommu_core.lock);
	return g;
}

int iommu_group_for_each_dev(struct iommu_group *group, void *data,
			     int (*fn)(struct device *, void *))
{
	struct device *dev;
	int ret = 0;

	mutex_lock(&iommu_core.lock);
	LIST_FOREACH(dev, &group->devices, group_link) {
		ret = fn(dev, data);
		if (ret)
			break;
	}
	mutex_unlock(&iommu_core.lock);
	return ret;
}

bool device_iommu_capable(struct device *dev, enum iommu_cap cap)
{
	const struct iommu_ops *ops = dev->iommu ? dev->iommu->ops : NULL;

	return ops && ops->capable && ops->capable(dev, cap);
}

/* ---- domains ------------------------------------------------------------------------ */

/* What the core fills in for every domain a driver returns. */
static void domain_init(struct iommu_domain *d, struct device *dev,
			unsigned int type, struct iommu_domain *parent)
{
	const struct iommu_ops *ops = dev->iommu->ops;

	d->type = type;
	d->ops = ops;
	d->iommu = dev->iommu;
	d->parent = parent;
	if (!d->pgsize_bitmap && type != IOMMU_DOMAIN_NESTED)
		d->pgsize_bitmap = ops->pgsize_bitmap;
	d->strict = !(type & __IOMMU_DOMAIN_DMA_FQ);
}

static int domain_alloc(struct device *dev, unsigned int type,
			struct iommu_domain *parent, struct iommu_domain **out)
{
	const struct iommu_ops *ops;
	struct iommu_domain *d;
	int ret;

	if (!dev || !dev->iommu || !out)
		return -ENODEV;
	ops = dev->iommu->ops;
	/* Lazy invalidation needs a whole-IOTLB flush; without one the domain
	 * is simply strict, which is always safe. */
	if (type == IOMMU_DOMAIN_DMA_FQ && !ops->flush_iotlb_all)
		type = IOMMU_DOMAIN_DMA;

	ret = ops->domain_alloc(dev->iommu, type, parent, &d);
	if (ret)
		return ret;
	domain_init(d, dev, type, parent);
	*out = d;
	return 0;
}

int iommu_domain_alloc_type(struct device *dev, unsigned int type,
			    struct iommu_domain **out)
{
	switch (type) {
	case IOMMU_DOMAIN_BLOCKED:
	case IOMMU_DOMAIN_IDENTITY:
	case IOMMU_DOMAIN_UNMANAGED:
	case IOMMU_DOMAIN_DMA:
	case IOMMU_DOMAIN_DMA_FQ:
	case IOMMU_DOMAIN_NEST_PARENT:
		return domain_alloc(dev, type, NULL, out);
	default:
		return -EINVAL;
	}
}

struct iommu_domain *iommu_domain_alloc(struct device *dev)
{
	struct iommu_domain *d;

	return iommu_domain_alloc_type(dev, IOMMU_DOMAIN_UNMANAGED, &d) ? NULL
									: d;
}

int iommu_domain_alloc_nest_parent(struct device *dev,
				   struct iommu_domain **out)
{
	return iommu_domain_alloc_type(dev, IOMMU_DOMAIN_NEST_PARENT, out);
}

int iommu_domain_alloc_dirty(struct device *dev, struct iommu_domain **out)
{
	struct iommu_domain *d;
	int ret;

	if (!dev || !dev->iommu || !out)
		return -ENODEV;
	if (!device_iommu_capable(dev, IOMMU_CAP_DIRTY_TRACKING))
		return -EOPNOTSUPP;
	ret = dev->iommu->ops->domain_alloc(
		dev->iommu,
		IOMMU_DOMAIN_UNMANAGED | __IOMMU_DOMAIN_DIRTY_TRACKING, NULL,
		&d);
	if (ret)
		return ret;
	domain_init(d, dev, IOMMU_DOMAIN_UNMANAGED, NULL);
	/* the kernel's WARN: a driver that took the flag sets dirty_ops */
	if (!d->dirty_ops) {
		iommu_domain_free(d);
		return -EINVAL;
	}
	*out = d;
	return 0;
}

int iommu_domain_alloc_nested_s1(struct device *dev,
				 struct iommu_domain *parent,
				 const struct iommu_nested_s1 *s1,
				 struct iommu_domain **out)
{
	const struct iommu_ops *ops;
	struct iommu_domain *d;
	int ret;

	if (!dev || !dev->iommu || !out)
		return -ENODEV;
	if (!parent || !s1 ||
	    (parent->type & IOMMU_DOMAIN_NEST_PARENT) !=
		    IOMMU_DOMAIN_NEST_PARENT ||
	    parent->iommu != dev->iommu)
		return -EINVAL;
	ops = dev->iommu->ops;
	if (!ops->domain_alloc_nested)
		return -EOPNOTSUPP;
	ret = ops->domain_alloc_nested(parent, s1, &d);
	if (ret)
		return ret;
	domain_init(d, dev, IOMMU_DOMAIN_NESTED, parent);
	*out = d;
	return 0;
}

int iommu_domain_alloc_nested(struct device *dev, struct iommu_domain *parent,
			      struct iommu_domain **out)
{
	return iommu_domain_alloc_nested_s1(dev, parent, NULL, out);
}

void iommu_domain_free(struct iommu_domain *domain)
{
	if (!domain)
		return;
	WARN_ON(atomic_load(&domain->attach_cnt));
	domain->ops->domain_free(domain);
}

bool iommu_domain_is_strict(const struct iommu_domain *domain)
{
	return domain->strict;
}

int iommu_domain_nesting(struct device *dev, int *nested)
{
	struct iommu_domain *d = iommu_get_domain_for_dev(dev);

	if (!d)
		return -ENODEV;
	*nested = d->type == IOMMU_DOMAIN_NESTED;
	return 0;
}

struct iommu_domain *iommu_get_domain_for_dev(struct device *dev)
{
	struct iommu_domain *d;

	if (!dev || !dev->group)
		return NULL;
	mutex_lock(&dev->group->lock);
	d = dev->domain;
	mutex_unlock(&dev->group->lock);
	return d;
}

/* Move every device of g from its domain to @domain (NULL: blocked). */
static int group_set_domain(struct iommu_group *g, struct iommu_domain *domain)
{
	struct iommu_domain *old = g->domain;
	struct device *dev, *failed = NULL;
	int ret = 0;

	lockdep_assert_held(&iommu_core.lock);
	lockdep_assert_held(&g->lock);
	LIST_FOREACH(dev, &g->devices, group_link) {
		if (domain) {
			ret = domain->ops->attach_dev(domain, dev);
			if (ret) {
				failed = dev;
				break;
			}
		} else if (old->ops->detach_dev) {
			old->ops->detach_dev(old, dev);
		}
	}
	if (failed) {
		/* put the devices attached so far back where they were */
		LIST_FOREACH(dev, &g->devices, group_link) {
			if (dev == failed)
				break;
			if (old)
				WARN_ON(old->ops->attach_dev(old, dev));
			else if (domain->ops->detach_dev)
				domain->ops->detach_dev(domain, dev);
		}
		return ret;
	}
	LIST_FOREACH(dev, &g->devices, group_link) {
		dev->domain = domain;
		if (old)
			atomic_fetch_sub(&old->attach_cnt, 1);
		if (domain)
			atomic_fetch_add(&domain->attach_cnt, 1);
	}
	g->domain = domain;
	return 0;
}

int iommu_attach_group(struct iommu_domain *domain, struct iommu_group *group)
{
	int ret;

	if (!domain || !group)
		return -EINVAL;
	mutex_lock(&iommu_core.lock);
	mutex_lock(&group->lock);
	if (group->domain)
		ret = group->domain == domain ? 0 : -EBUSY;
	else if (!group->nr_devices ||
		 LIST_FIRST(&group->devices)->iommu != domain->iommu)
		ret = -EINVAL;
	else
		ret = group_set_domain(group, domain);
	mutex_unlock(&group->lock);
	mutex_unlock(&iommu_core.lock);
	return ret;
}

void iommu_detach_group(struct iommu_domain *domain, struct iommu_group *group)
{
	mutex_lock(&iommu_core.lock);
	mutex_lock(&group->lock);
	if (!WARN_ON(group->domain != domain))
		group_set_domain(group, NULL);
	mutex_unlock(&group->lock);
	mutex_unlock(&iommu_core.lock);
}

/* Attaching a single device needs it to be alone in its group. */
int iommu_attach_device(struct iommu_domain *domain, struct device *dev)
{
	if (!dev || !dev->group)
		return -ENODEV;
	if (iommu_group_device_count(dev->group) != 1)
		return -EINVAL;
	return iommu_attach_group(domain, dev->group);
}

void iommu_detach_device(struct iommu_domain *domain, struct device *dev)
{
	if (dev && dev->group)
		iommu_detach_group(domain, dev->group);
}

void iommu_set_fault_handler(struct iommu_domain *domain,
			     iommu_fault_handler_t handler, void *token)
{
	domain->handler = handler;
	domain->handler_token = token;
}

int report_iommu_fault(struct iommu_domain *domain, struct device *dev,
		       unsigned long iova, int flags)
{
	if (!domain || !domain->handler)
		return -ENOSYS;
	return domain->handler(domain, dev, iova, flags, domain->handler_token);
}

int report_iommu_fault_dev(struct device *dev, unsigned long iova, int flags)
{
	int ret = -ENOSYS;

	if (!dev || !dev->group)
		return ret;
	/* the domain cannot be detached (and freed) under the group lock */
	mutex_lock(&dev->group->lock);
	if (dev->domain)
		ret = report_iommu_fault(dev->domain, dev, iova, flags);
	mutex_unlock(&dev->group->lock);
	return ret;
}

/* ---- map / unmap ----------------------------------------------------------------------- */

static inline unsigned int fls64_idx(uint64_t x)
{
	return 63 - __builtin_clzll(x);
}

size_t iommu_pgsize(uint64_t pgsize_bitmap, unsigned long iova,
		    phys_addr_t paddr, size_t size, size_t *count)
{
	unsigned long addr_merge = paddr | iova;
	uint64_t pgsizes, pgsize_next;
	unsigned int idx;
	size_t pgsize, offset;

	/* page sizes no larger than the size, and that the addresses allow */
	pgsizes = pgsize_bitmap & GENMASK_ULL(fls64_idx(size), 0);
	if (addr_merge)
		pgsizes &= GENMASK_ULL(__builtin_ctzll(addr_merge), 0);
	if (WARN_ON(!pgsizes))
		return 0;
	idx = fls64_idx(pgsizes);
	pgsize = 1UL << idx;

	/* stop where a larger page could take over, if it then fits */
	pgsize_next = pgsize_bitmap & ~GENMASK_ULL(idx, 0);
	if (pgsize_next) {
		size_t next = 1UL << __builtin_ctzll(pgsize_next);

		if (!((iova ^ paddr) & (next - 1))) {
			offset = next - (addr_merge & (next - 1));
			if (offset + next <= size)
				size = offset;
		}
	}
	*count = size >> idx;
	return pgsize;
}

static int check_range(struct iommu_domain *domain, unsigned long iova,
		       phys_addr_t paddr, size_t size)
{
	uint64_t min_pgsz;
	unsigned long last;

	if (!(domain->type & __IOMMU_DOMAIN_PAGING) || !domain->pgsize_bitmap)
		return -EINVAL;
	min_pgsz = 1ULL << __builtin_ctzll(domain->pgsize_bitmap);
	if (!size || !IS_ALIGNED(iova | paddr | size, min_pgsz))
		return -EINVAL;
	if (check_add_overflow(iova, size - 1, &last))
		return -EINVAL;
	if (domain->geometry.force_aperture &&
	    (iova < domain->geometry.aperture_start ||
	     last > domain->geometry.aperture_end))
		return -EINVAL;
	return 0;
}

static size_t __iommu_unmap(struct iommu_domain *domain, unsigned long iova,
			    size_t size, struct iommu_iotlb_gather *gather)
{
	const struct iommu_ops *ops = domain->ops;
	size_t unmapped = 0;

	if (check_range(domain, iova, 0, size))
		return 0;
	while (unmapped < size) {
		size_t pgsize, count, done;

		pgsize = iommu_pgsize(domain->pgsize_bitmap, iova, iova,
				      size - unmapped, &count);
		done = ops->unmap_pages(domain, iova, pgsize, count, gather);
		if (!done)
			break;
		iova += done;
		unmapped += done;
	}
	atomic_fetch_add_explicit(&domain->nr_unmaps, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&domain->nr_unmapped_bytes, unmapped,
				  memory_order_relaxed);
	return unmapped;
}

int iommu_map(struct iommu_domain *domain, unsigned long iova,
	      phys_addr_t paddr, size_t size, int prot)
{
	const struct iommu_ops *ops = domain->ops;
	unsigned long orig_iova = iova;
	size_t orig_size = size;
	int ret;

	ret = check_range(domain, iova, paddr, size);
	if (ret)
		return ret;
	ret = iommu_domain_error(domain);
	if (ret)
		return ret; /* broken: nothing more is made reachable */
	while (size) {
		size_t pgsize, count, mapped = 0;

		pgsize = iommu_pgsize(domain->pgsize_bitmap, iova, paddr, size,
				      &count);
		ret = ops->map_pages(domain, iova, paddr, pgsize, count, prot,
				     &mapped);
		iova += mapped;
		paddr += mapped;
		size -= mapped;
		if (ret)
			break;
	}
	if (ret) {
		/* undo the part that was mapped; it was never used */
		if (iova > orig_iova)
			iommu_unmap(domain, orig_iova, iova - orig_iova);
		return ret;
	}
	atomic_fetch_add_explicit(&domain->nr_maps, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&domain->nr_mapped_bytes, orig_size,
				  memory_order_relaxed);
	return 0;
}

size_t iommu_unmap(struct iommu_domain *domain, unsigned long iova, size_t size)
{
	struct iommu_iotlb_gather gather;
	size_t ret;

	iommu_iotlb_gather_init(&gather);
	ret = __iommu_unmap(domain, iova, size, &gather);
	iommu_iotlb_sync(domain, &gather);
	return ret;
}

size_t iommu_unmap_fast(struct iommu_domain *domain, unsigned long iova,
			size_t size, struct iommu_iotlb_gather *gather)
{
	return __iommu_unmap(domain, iova, size, gather);
}

void iommu_iotlb_sync(struct iommu_domain *domain,
		      struct iommu_iotlb_gather *gather)
{
	if (iommu_iotlb_gather_empty(gather))
		return; /* nothing gathered */
	if (domain->ops->iotlb_sync)
		domain->ops->iotlb_sync(domain, gather);
	iommu_iotlb_gather_init(gather);
}

void iommu_flush_iotlb_all(struct iommu_domain *domain)
{
	if (domain->ops->flush_iotlb_all)
		domain->ops->flush_iotlb_all(domain);
	atomic_fetch_add_explicit(&domain->nr_flush_all, 1,
				  memory_order_relaxed);
}

int iommu_domain_error(struct iommu_domain *domain)
{
	return atomic_load_explicit(&domain->error, memory_order_acquire);
}

bool iommu_domain_set_broken(struct iommu_domain *domain, int err)
{
	int none = 0;

	if (!atomic_compare_exchange_strong(&domain->error, &none, err))
		return false;
	pr_err("iommu: domain %p is broken (%d): an invalidation did not "
	       "complete; its DMA is blocked",
	       (void *)domain, err);
	return true;
}

phys_addr_t iommu_iova_to_phys(struct iommu_domain *domain, dma_addr_t iova)
{
	if (domain->type == IOMMU_DOMAIN_IDENTITY)
		return iova;
	if (!(domain->type & __IOMMU_DOMAIN_PAGING) ||
	    !domain->ops->iova_to_phys)
		return 0;
	return domain->ops->iova_to_phys(domain, iova);
}

/* ---- reserved regions, features -------------------------------------------------------- */

int iommu_get_resv_regions(struct device *dev,
			   struct iommu_resv_region *regions, unsigned int max,
			   unsigned int *nr)
{
	struct iommu_resv_region tmp[IOMMU_MAX_RESV_REGIONS];
	unsigned int n = 0;

	if (!dev || !dev->iommu)
		return -ENODEV;
	if (dev->iommu->ops->get_resv_regions)
		dev->iommu->ops->get_resv_regions(dev, tmp, &n);
	if (n > max)
		return -ENOSPC;
	memcpy(regions, tmp, n * sizeof(*tmp));
	*nr = n;
	return 0;
}

int iommu_dev_enable_feature(struct device *dev, enum iommu_dev_features feat)
{
	const struct iommu_ops *ops = dev && dev->iommu ? dev->iommu->ops
							: NULL;

	if (!ops)
		return -ENODEV;
	if (!ops->dev_enable_feat)
		return -ENODEV;
	return ops->dev_enable_feat(dev, feat);
}

int iommu_dev_disable_feature(struct device *dev, enum iommu_dev_features feat)
{
	const struct iommu_ops *ops = dev && dev->iommu ? dev->iommu->ops
							: NULL;

	if (!ops || !ops->dev_disable_feat)
		return -EBUSY;
	return ops->dev_disable_feat(dev, feat);
}

/* ---- device fault reporting -------------------------------------------------------------- */

static void fault_param_free(struct iommu_fault_param *p)
{
	struct iommu_fault_event *evt;

	while ((evt = TAILQ_FIRST(&p->pending))) {
		TAILQ_REMOVE(&p->pending, evt, link);
		ui_free(evt);
	}
	rwsem_destroy(&p->lock);
	mutex_destroy(&p->pending_lock);
	ui_free(p);
}

int iommu_register_device_fault_handler(struct device *dev,
					iommu_dev_fault_handler_t handler,
					unsigned int flags, void *data)
{
	struct iommu_fault_param *p;

	if (!dev || !dev->iommu || !handler)
		return -EINVAL;
	p = dev->fault_param;
	if (!p) {
		/* the parameter block stays with the device once created */
		p = ui_zalloc(sizeof(*p));
		if (!p)
			return -ENOMEM;
		init_rwsem(&p->lock, IOMMU_LOCK_FAULT_PARAM);
		mutex_init(&p->pending_lock, IOMMU_LOCK_FAULT_PENDING);
		TAILQ_INIT(&p->pending);
		dev->fault_param = p;
	}
	down_write(&p->lock);
	if (p->handler) {
		up_write(&p->lock);
		return -EBUSY; /* one handler per device */
	}
	p->handler = handler;
	p->flags = flags;
	p->data = data;
	up_write(&p->lock);
	return 0;
}

/*
 * The flags of dev's registered handler: with out, read into *out;
 * without, replaced by (flags & mask) | set.  -EINVAL without a handler.
 */
static int fault_handler_flags(struct device *dev, unsigned int mask,
			       unsigned int set, unsigned int *out)
{
	struct iommu_fault_param *p = dev ? dev->fault_param : NULL;
	int ret = 0;

	if (!p)
		return -EINVAL;
	if (out)
		down_read(&p->lock);
	else
		down_write(&p->lock);
	if (!p->handler)
		ret = -EINVAL;
	else if (out)
		*out = p->flags;
	else
		p->flags = (p->flags & mask) | set;
	if (out)
		up_read(&p->lock);
	else
		up_write(&p->lock);
	return ret;
}

int iommu_update_device_fault_handler(struct device *dev, unsigned int mask,
				      unsigned int set)
{
	return fault_handler_flags(dev, mask, set, NULL);
}

int iommu_get_device_fault_handler_flags(struct device *dev,
					 unsigned int *flags)
{
	return flags ? fault_handler_flags(dev, 0, 0, flags) : -EINVAL;
}

int iommu_unregister_device_fault_handler(struct device *dev)
{
	struct iommu_fault_param *p = dev ? dev->fault_param : NULL;
	int ret = 0;

	if (!p)
		return -EINVAL;
	down_write(&p->lock);
	mutex_lock(&p->pending_lock);
	if (!p->handler)
		ret = -EINVAL;
	else if (p->nr_pending)
		ret = -EBUSY; /* unanswered page requests: the handler stays */
	else
		p->handler = NULL;
	mutex_unlock(&p->pending_lock);
	up_write(&p->lock);
	return ret;
}

/* Does a handler registered with flags take this fault?  FLAT (or no
 * flag) takes all; else stage-2 faults of a nested translation need
 * NESTED_L2 and the others NESTED_L1. */
static bool fault_wanted(unsigned int flags, const struct iommu_fault *fault)
{
	bool l2 = false;

	if (!flags || (flags & FAULT_REPORT_FLAT))
		return true;
	if (fault->type == IOMMU_FAULT_PAGE_REQ)
		l2 = fault->prm.flags & IOMMU_FAULT_PAGE_REQUEST_L2;
	else if (fault->type == IOMMU_FAULT_DMA_UNRECOV)
		l2 = fault->event.flags & IOMMU_FAULT_UNRECOV_L2;
	return flags & (l2 ? FAULT_REPORT_NESTED_L2 : FAULT_REPORT_NESTED_L1);
}

int iommu_report_device_fault(struct device *dev, struct iommu_fault *fault)
{
	struct iommu_fault_param *p = dev ? dev->fault_param : NULL;
	struct iommu_fault_event *evt = NULL;
	int ret;

	if (!p || !fault)
		return -EINVAL;
	down_read(&p->lock);
	if (!p->handler) {
		ret = -EINVAL;
		goto out_unlock;
	}
	if (!fault_wanted(p->flags, fault)) {
		ret = -ENODEV; /* not this handler's level */
		goto out_unlock;
	}
	if (fault->type == IOMMU_FAULT_PAGE_REQ &&
	    (fault->prm.flags & IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE)) {
		/* the response will have to find it */
		evt = ui_malloc(sizeof(*evt));
		if (!evt) {
			ret = -ENOMEM;
			goto out_unlock;
		}
		evt->fault = *fault;
		mutex_lock(&p->pending_lock);
		TAILQ_INSERT_TAIL(&p->pending, evt, link);
		p->nr_pending++;
		mutex_unlock(&p->pending_lock);
	}
	ret = p->handler(fault, p->data);
	if (ret && evt) {
		/* not taken: forget it unless it was answered already */
		struct iommu_fault_event *e;

		mutex_lock(&p->pending_lock);
		TAILQ_FOREACH(e, &p->pending, link)
			if (e == evt)
				break;
		if (e) {
			TAILQ_REMOVE(&p->pending, evt, link);
			p->nr_pending--;
			ui_free(evt);
		}
		mutex_unlock(&p->pending_lock);
	}
out_unlock:
	up_read(&p->lock);
	return ret;
}

int iommu_page_response(struct device *dev, struct iommu_page_response *msg)
{
	struct iommu_fault_param *p = dev ? dev->fault_param : NULL;
	const struct iommu_ops *ops = dev && dev->iommu ? dev->iommu->ops
							: NULL;
	bool needs_pasid, has_pasid;
	struct iommu_fault_event *evt;
	int ret = -EINVAL;

	if (!p || !msg || !ops || !ops->page_response)
		return -ENODEV;
	has_pasid = msg->flags & IOMMU_PAGE_RESP_PASID_VALID;
	mutex_lock(&p->pending_lock);
	TAILQ_FOREACH(evt, &p->pending, link) {
		struct iommu_fault_page_request *prm = &evt->fault.prm;

		if (prm->grpid != msg->grpid)
			continue;
		needs_pasid = prm->flags &
			      IOMMU_FAULT_PAGE_RESPONSE_NEEDS_PASID;
		if (needs_pasid && (!has_pasid || msg->pasid != prm->pasid))
			continue;
		if (!needs_pasid && has_pasid) {
			/* a PASID the device does not want is dropped */
			msg->flags &= ~IOMMU_PAGE_RESP_PASID_VALID;
			msg->pasid = 0;
		}
		ret = ops->page_response(dev, &evt->fault, msg);
		TAILQ_REMOVE(&p->pending, evt, link);
		p->nr_pending--;
		ui_free(evt);
		break;
	}
	mutex_unlock(&p->pending_lock);
	return ret;
}

unsigned int iommu_abort_page_requests(struct device *dev)
{
	struct iommu_fault_param *p = dev ? dev->fault_param : NULL;
	const struct iommu_ops *ops = dev && dev->iommu ? dev->iommu->ops
							: NULL;
	struct iommu_fault_event *evt;
	unsigned int n = 0;

	if (!p || !ops || !ops->page_response)
		return 0;
	mutex_lock(&p->pending_lock);
	while ((evt = TAILQ_FIRST(&p->pending))) {
		struct iommu_fault_page_request *prm = &evt->fault.prm;
		struct iommu_page_response msg = {
			.grpid = prm->grpid,
			.code = IOMMU_PAGE_RESP_INVALID,
		};

		if (prm->flags & IOMMU_FAULT_PAGE_RESPONSE_NEEDS_PASID) {
			msg.flags = IOMMU_PAGE_RESP_PASID_VALID;
			msg.pasid = prm->pasid;
		}
		ops->page_response(dev, &evt->fault, &msg);
		TAILQ_REMOVE(&p->pending, evt, link);
		p->nr_pending--;
		ui_free(evt);
		n++;
	}
	mutex_unlock(&p->pending_lock);
	return n;
}

unsigned int iommu_pending_page_requests(struct device *dev)
{
	struct iommu_fault_param *p = dev ? dev->fault_param : NULL;
	unsigned int n;

	if (!p)
		return 0;
	mutex_lock(&p->pending_lock);
	n = p->nr_pending;
	mutex_unlock(&p->pending_lock);
	return n;
}
