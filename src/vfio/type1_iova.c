// SPDX-License-Identifier: MIT
/*
 * The usable IOVA ranges of a type1 container and its page sizes.
 *
 * Objects: vfio_iommu.iova_list, an array of nr_iova inclusive ranges
 * [start, end], is the intersection of the apertures of the container's
 * domains minus the reserved regions of the devices of their groups.  It is
 * built anew (vfio_iova_build) on every attach and detach and installed
 * (vfio_iova_install) only once the attach cannot fail any more; the old
 * array is freed then.  Until the first attach iova_valid is false and
 * every IOVA is usable.  pgsize_bitmap is the intersection of the domains'
 * page sizes, with sizes below PAGE_SIZE folded into PAGE_SIZE.  A
 * struct resv_collect is a caller's scratch array of reserved regions,
 * grown as groups are visited and freed by that caller.
 *
 * Locking: every function here that reads or writes the container asserts
 * its lock (the callers are the attach, detach and MAP_DMA paths of
 * type1.c).
 */
#include <errno.h>
#include <string.h>

#include "vfio/type1_internal.h"

bool vfio_iommu_iova_dma_valid(struct vfio_iommu *iommu, dma_addr_t start,
			       dma_addr_t end)
{
	lockdep_assert_held(&iommu->lock);

	if (!iommu->iova_valid)
		return true;
	for (unsigned int i = 0; i < iommu->nr_iova; i++)
		if (start >= iommu->iova_list[i].start &&
		    end <= iommu->iova_list[i].end)
			return true;
	return false;
}

static int resv_collect_dev(struct device *dev, void *data)
{
	struct resv_collect *rc = data;
	unsigned int n = 0;
	int ret;

	ret = iommu_get_resv_regions(dev, rc->regions + rc->nr,
				     rc->max - rc->nr, &n);
	if (ret) {
		rc->ret = ret;
		return ret;
	}
	rc->nr += n;
	return 0;
}

/* Append the reserved regions of every device of group. */
int vfio_group_resv_regions(struct iommu_group *group, struct resv_collect *rc)
{
	unsigned int need = rc->nr + IOMMU_MAX_RESV_REGIONS *
					     iommu_group_device_count(group);
	struct iommu_resv_region *r;

	if (need > rc->max) {
		r = ui_calloc(need, sizeof(*r));
		if (!r)
			return -ENOMEM;
		if (rc->nr)
			memcpy(r, rc->regions, rc->nr * sizeof(*r));
		ui_free(rc->regions);
		rc->regions = r;
		rc->max = need;
	}
	rc->ret = 0;
	iommu_group_for_each_dev(group, rc, resv_collect_dev);
	return rc->ret;
}

static int first_dev(struct device *dev, void *data)
{
	*(struct device **)data = dev;
	return 1;
}

static struct device *vfio_group_first_dev(struct iommu_group *group)
{
	struct device *dev = NULL;

	iommu_group_for_each_dev(group, &dev, first_dev);
	return dev;
}

int vfio_group_dev(struct vfio_iommu *iommu, struct iommu_group *group,
		   struct device **dev)
{
	if (!iommu || !group)
		return -EINVAL;
	*dev = vfio_group_first_dev(group);
	return *dev ? 0 : -ENODEV;
}

/*
 * Build the IOVA ranges: the intersection of the apertures of the domains
 * (plus extra), minus the reserved regions of their groups (plus those in
 * rc); [0, ~0] with no domain at all.  -EINVAL if nothing is left.
 */
int vfio_iova_build(struct vfio_iommu *iommu, struct vfio_domain *extra,
		    struct resv_collect *rc, struct vfio_iova **out,
		    unsigned int *nr_out)
{
	dma_addr_t start = 0, end = ~(dma_addr_t)0;
	struct vfio_iommu_group *g;
	struct vfio_iova *list;
	struct vfio_domain *d;
	unsigned int nr = 1;
	int ret = 0;

	lockdep_assert_held(&iommu->lock);

	LIST_FOREACH(d, &iommu->domain_list, next) {
		start = max(start, d->domain->geometry.aperture_start);
		end = min(end, d->domain->geometry.aperture_end);
		LIST_FOREACH(g, &d->group_list, next) {
			ret = vfio_group_resv_regions(g->iommu_group, rc);
			if (ret)
				return ret;
		}
	}
	if (extra) {
		start = max(start, extra->domain->geometry.aperture_start);
		end = min(end, extra->domain->geometry.aperture_end);
	}
	if (start > end)
		return -EINVAL;
	list = ui_calloc(rc->nr + 1, sizeof(*list));
	if (!list)
		return -ENOMEM;
	list[0].start = start;
	list[0].end = end;
	for (unsigned int k = 0; k < rc->nr; k++) {
		const struct iommu_resv_region *r = &rc->regions[k];
		dma_addr_t rs = r->start, re = r->start + r->length - 1;

		for (unsigned int i = 0; i < nr; i++) {
			struct vfio_iova *n = &list[i];

			if (re < n->start || rs > n->end)
				continue;
			if (rs > n->start && re < n->end) {
				/* split in two */
				memmove(n + 2, n + 1,
					(nr - i - 1) * sizeof(*n));
				n[1].start = re + 1;
				n[1].end = n->end;
				n->end = rs - 1;
				nr++;
				i++;
			} else if (rs > n->start) {
				n->end = rs - 1;
			} else if (re < n->end) {
				n->start = re + 1;
			} else {
				memmove(n, n + 1, (nr - i - 1) * sizeof(*n));
				nr--;
				i--;
			}
		}
	}
	if (!nr) {
		ui_free(list);
		return -EINVAL;
	}
	*out = list;
	*nr_out = nr;
	return 0;
}

void vfio_iova_install(struct vfio_iommu *iommu, struct vfio_iova *list,
		       unsigned int nr)
{
	lockdep_assert_held(&iommu->lock);

	ui_free(iommu->iova_list);
	iommu->iova_list = list;
	iommu->nr_iova = nr;
	iommu->iova_valid = true;
}

/* Would a new aperture leave an existing mapping outside? */
bool vfio_iommu_aper_conflict(struct vfio_iommu *iommu, dma_addr_t start,
			      dma_addr_t end)
{
	struct vfio_dma *first = vfio_dma_first(iommu), *last;

	lockdep_assert_held(&iommu->lock);

	if (!first)
		return false;
	last = vfio_dma_last(iommu);
	return first->iova < start || last->iova + last->size - 1 > end;
}

bool vfio_iommu_resv_conflict(struct vfio_iommu *iommu,
			      const struct resv_collect *rc)
{
	lockdep_assert_held(&iommu->lock);

	for (unsigned int i = 0; i < rc->nr; i++)
		if (vfio_find_dma(iommu, rc->regions[i].start,
				  rc->regions[i].length))
			return true;
	return false;
}

void vfio_update_pgsize_bitmap(struct vfio_iommu *iommu)
{
	struct vfio_domain *d;
	uint64_t bitmap = ~0ULL;

	lockdep_assert_held(&iommu->lock);

	LIST_FOREACH(d, &iommu->domain_list, next)
		bitmap &= d->domain->pgsize_bitmap;
	/* sizes below PAGE_SIZE are hidden behind PAGE_SIZE */
	if (bitmap & (PAGE_SIZE - 1)) {
		bitmap &= ~(PAGE_SIZE - 1);
		bitmap |= PAGE_SIZE;
	}
	iommu->pgsize_bitmap = bitmap;
}
