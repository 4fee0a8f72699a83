// SPDX-License-Identifier: MIT
/*
 * What a type1 container tells about itself: VFIO_CHECK_EXTENSION and
 * VFIO_IOMMU_GET_INFO with its capability chain (migration, DMA available,
 * IOVA ranges, then uiommu's IOPF capability).
 *
 * Objects: none of its own.  GET_INFO builds the capability chain in a
 * buffer allocated and freed within the call, and copies it to the caller
 * only when argsz leaves room for all of it (otherwise argsz says how much
 * is needed, as in the kernel).
 *
 * Locking: each entry takes the container's lock for the snapshot it
 * reports; copies to and from the caller happen without it.
 */
#include <errno.h>
#include <string.h>

#include "lib/uaccess.h"
#include "vfio/type1_internal.h"

/*
 * VFIO_DMA_CC_IOMMU asks "does the IOMMU enforce DMA cache coherency for
 * this container?": 1 while noncoherent_domains is 0 (also with no domain
 * at all, vacuously), 0 as soon as one domain lets DMA bypass the caches.
 * That is the kernel's polarity (KVM then need not emulate wbinvd); the
 * "noncoherent_domains ? 1 : 0" of the review thread answers the opposite
 * question.  The counter is only stable under the lock.
 */
static int vfio_domains_have_enforce_cache_coherency(struct vfio_iommu *iommu)
{
	int ret;

	mutex_lock(&iommu->lock);
	ret = !iommu->noncoherent_domains;
	mutex_unlock(&iommu->lock);
	return ret;
}

long vfio_iommu_type1_check_extension(struct vfio_iommu *iommu,
				      unsigned long arg)
{
	int ret;

	switch (arg) {
	case VFIO_TYPE1_IOMMU:
	case VFIO_TYPE1v2_IOMMU:
	case VFIO_TYPE1_NESTING_IOMMU:
	case VFIO_UNMAP_ALL:
		return 1;
	case VFIO_UPDATE_VADDR:
		/* not while drivers pin: they cannot follow vaddr changes;
		 * and not before SET_IOMMU (no container: 0) */
		if (!iommu)
			return 0;
		mutex_lock(&iommu->lock);
		ret = LIST_EMPTY(&iommu->emulated_iommu_groups);
		mutex_unlock(&iommu->lock);
		return ret;
	case VFIO_DMA_CC_IOMMU:
		if (!iommu)
			return 0;
		return vfio_domains_have_enforce_cache_coherency(iommu);
	case VFIO_UIOMMU_TYPE1_IOPF:
		/* VFIO_IOMMU_ENABLE_IOPF is offered */
		return 1;
	default:
		return 0;
	}
}

/*
 * Append one capability to buf at *off (8-byte aligned) and chain it: the
 * offsets in the chain count from the start of the info struct, which the
 * buffer follows.
 */
static void *cap_add(char *buf, size_t *off, uint32_t *prev_next, size_t size,
		     uint16_t id, uint16_t version)
{
	struct vfio_info_cap_header *h = (void *)(buf + *off);

	h->id = id;
	h->version = version;
	h->next = 0;
	if (prev_next)
		*prev_next = sizeof(struct vfio_iommu_type1_info) + *off;
	*off += ALIGN_UP(size, 8);
	return h;
}

long vfio_iommu_type1_get_info(struct vfio_iommu *iommu, unsigned long arg)
{
	struct vfio_iommu_type1_info info = {0};
	size_t minsz = offsetofend(struct vfio_iommu_type1_info, iova_pgsizes);
	/* cap_offset: copied back only when argsz covers it (an older
	 * caller's 16-byte struct is left alone past iova_pgsizes); the
	 * padding after it is never written */
	size_t capsz = offsetofend(struct vfio_iommu_type1_info, cap_offset);
	struct vfio_iommu_type1_info_cap_migration *mig;
	struct vfio_iommu_type1_info_dma_avail *avail;
	struct vfio_iommu_type1_info_cap_iova_range *range;
	struct vfio_iommu_type1_info_cap_iopf *iopf;
	size_t caps_size, off = 0, iova_size = 0;
	uint32_t *prev = NULL;
	char *caps;
	long ret = 0;

	ret = copy_argsz_from_user(&info, arg, minsz);
	if (ret)
		return ret;
	if (info.argsz >= capsz) {
		minsz = capsz;
		info.cap_offset = 0;
	}

	mutex_lock(&iommu->lock);
	info.flags = VFIO_IOMMU_INFO_PGSIZES;
	info.iova_pgsizes = iommu->pgsize_bitmap;
	caps_size = ALIGN_UP(sizeof(*mig), 8) + ALIGN_UP(sizeof(*avail), 8) +
		    ALIGN_UP(sizeof(*iopf), 8);
	if (iommu->iova_valid) {
		iova_size = sizeof(*range) +
			    iommu->nr_iova * sizeof(range->iova_ranges[0]);
		caps_size += ALIGN_UP(iova_size, 8);
	}
	caps = ui_zalloc(caps_size);
	if (!caps) {
		mutex_unlock(&iommu->lock);
		return -ENOMEM;
	}
	/* the kernel's order: migration, DMA available, IOVA ranges */
	mig = cap_add(caps, &off, prev, sizeof(*mig),
		      VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION, 1);
	prev = &mig->header.next;
	mig->flags = 0;
	mig->pgsize_bitmap = vfio_pgsize(iommu);
	mig->max_dirty_bitmap_size = VFIO_DIRTY_BITMAP_SIZE_MAX;
	avail = cap_add(caps, &off, prev, sizeof(*avail),
			VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, 1);
	prev = &avail->header.next;
	avail->avail = iommu->dma_avail;
	if (iommu->iova_valid) {
		range = cap_add(caps, &off, prev, iova_size,
				VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, 1);
		range->nr_iovas = iommu->nr_iova;
		for (unsigned int i = 0; i < iommu->nr_iova; i++) {
			range->iova_ranges[i].start = iommu->iova_list[i].start;
			range->iova_ranges[i].end = iommu->iova_list[i].end;
		}
		prev = &range->header.next;
	}
	/* uiommu's own, last */
	iopf = cap_add(caps, &off, prev, sizeof(*iopf),
		       VFIO_IOMMU_TYPE1_INFO_CAP_IOPF, 1);
	vfio_iopf_fill_cap(iommu, iopf);
	mutex_unlock(&iommu->lock);

	info.flags |= VFIO_IOMMU_INFO_CAPS;
	if (info.argsz < sizeof(info) + caps_size) {
		info.argsz = sizeof(info) + caps_size;
	} else {
		if (copy_to_user((char *)arg + sizeof(info), caps, caps_size))
			ret = -EFAULT;
		info.cap_offset = sizeof(info);
	}
	ui_free(caps);
	if (ret)
		return ret;
	return copy_to_user((void *)arg, &info, minsz) ? -EFAULT : 0;
}
