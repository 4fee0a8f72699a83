// SPDX-License-Identifier: MIT
/*
 * Introspection of a type1 container for the tests and tools: counters
 * (vfio_iommu_type1_get_stats), the domain a group is attached to, the
 * vfio_dma covering an IOVA, a group's dirty scope, and the debug switches
 * (cache flushing, the trace hook).
 *
 * Objects: none of its own; every function reads or sets fields of
 * struct vfio_iommu (type1_internal.h) and returns copies, never pointers
 * into the container's records, except the iommu_domain, which lives as
 * long as the group stays attached.
 *
 * Locking: each function takes the container's lock (and, for the IOPF
 * counters, iopf_lock inside it) for the whole read or write.
 */
#include <errno.h>
#include <string.h>

#include "vfio/type1_internal.h"

void vfio_iommu_type1_get_stats(struct vfio_iommu *iommu,
				struct vfio_iommu_type1_stats *st)
{
	struct vfio_iommu_group *g;
	struct vfio_domain *d;
	struct vfio_dma *dma;

	memset(st, 0, sizeof(*st));
	mutex_lock(&iommu->lock);
	st->nr_dma = iommu->nr_dma;
	st->dma_avail = iommu->dma_avail;
	LIST_FOREACH(d, &iommu->domain_list, next) {
		st->nr_domains++;
		LIST_FOREACH(g, &d->group_list, next)
			st->nr_groups++;
	}
	LIST_FOREACH(g, &iommu->emulated_iommu_groups, next)
		st->nr_emulated++;
	st->num_non_pinned_groups = iommu->num_non_pinned_groups;
	st->pgsize_bitmap = iommu->pgsize_bitmap;
	st->pinned_pages = iommu->pinned_pages;
	for (dma = vfio_dma_first(iommu); dma;
	     dma = vfio_dma_next(iommu, dma)) {
		st->external_pins += dma->nr_pfns;
		st->locked_vm += dma->locked_vm;
		st->dma_flush_required += dma->cache_flush_required;
	}
	st->unmap_notify_calls = iommu->unmap_notify_calls;
	st->iotlb_syncs = iommu->iotlb_syncs;
	st->pinned_on_remove = iommu->pinned_on_remove;
	st->dirty_page_tracking = iommu->dirty_page_tracking;
	st->noncoherent_domains = iommu->noncoherent_domains;
	st->cache_flushes = iommu->cache_flushes;
	st->cache_flush_bytes = iommu->cache_flush_bytes;
	st->cache_flushes_skipped = iommu->cache_flushes_skipped;
	st->unmap_retries = iommu->unmap_retries;
	st->unmap_busy = iommu->unmap_busy;
	memcpy(st->busy_device, iommu->busy_device, sizeof(st->busy_device));
	st->iopf_enabled = iommu->iopf_enabled;
	st->broken = atomic_load(&iommu->broken);
	{
		struct vfio_iopf_dev *idev;

		LIST_FOREACH(idev, &iommu->iopf_devs, link)
			st->iopf_devices += idev->enabled && idev->host;
	}
	mutex_lock(&iommu->iopf_lock);
	st->iopf_premap = iommu->iopf_premap;
	st->iopf_faults = iommu->iopf_faults;
	st->iopf_already = iommu->iopf_already;
	st->iopf_invalid = iommu->iopf_invalid;
	st->iopf_retries = iommu->iopf_retries;
	st->iopf_mapped_pages = iommu->iopf_mapped_pages;
	st->iopf_resident = iommu->iopf_resident;
	st->iopf_invalidations = iommu->iopf_invalidations;
	st->iopf_unmapped_pages = iommu->iopf_unmapped_pages;
	st->iotlb_syncs += iommu->iopf_syncs;
	mutex_unlock(&iommu->iopf_lock);
	mutex_unlock(&iommu->lock);
}

void vfio_iommu_type1_set_cache_flush(struct vfio_iommu *iommu, bool enabled)
{
	mutex_lock(&iommu->lock);
	iommu->cache_flush_off = !enabled;
	mutex_unlock(&iommu->lock);
}

void vfio_iommu_type1_set_trace(struct vfio_iommu *iommu, vfio_trace_fn fn,
				void *arg)
{
	mutex_lock(&iommu->lock);
	iommu->trace = fn;
	iommu->trace_arg = arg;
	mutex_unlock(&iommu->lock);
}

struct iommu_domain *vfio_iommu_type1_group_domain(struct vfio_iommu *iommu,
						   struct iommu_group *group)
{
	struct iommu_domain *ret = NULL;
	struct vfio_iommu_group *g;
	struct vfio_domain *d;

	mutex_lock(&iommu->lock);
	g = vfio_find_domain_group(iommu, group, &d);
	if (g)
		ret = d->domain;
	mutex_unlock(&iommu->lock);
	return ret;
}

int vfio_iommu_type1_find_dma(struct vfio_iommu *iommu, dma_addr_t iova,
			      dma_addr_t *start, uint64_t *size,
			      bool *iommu_mapped)
{
	struct vfio_dma *dma;
	int ret = -ENOENT;

	mutex_lock(&iommu->lock);
	dma = vfio_find_dma(iommu, iova, 1);
	if (dma) {
		if (start)
			*start = dma->iova;
		if (size)
			*size = dma->size;
		if (iommu_mapped)
			*iommu_mapped = dma->iommu_mapped;
		ret = 0;
	}
	mutex_unlock(&iommu->lock);
	return ret;
}

int vfio_iommu_type1_group_pinned_scope(struct vfio_iommu *iommu,
					struct iommu_group *group)
{
	struct vfio_iommu_group *g;
	int ret;

	mutex_lock(&iommu->lock);
	g = vfio_find_group(iommu, group);
	ret = g ? g->pinned_page_dirty_scope : -ENOENT;
	mutex_unlock(&iommu->lock);
	return ret;
}
