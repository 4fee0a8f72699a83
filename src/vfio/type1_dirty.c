// SPDX-License-Identifier: MIT
/*
 * Dirty page tracking of the type1 backend (VFIO_IOMMU_DIRTY_PAGES and
 * VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP), with the kernel's bitmap format:
 * one bit per page of the container's smallest page size, in u64 words,
 * bit 0 the range's first page, written to the user with copy_to_user.
 *
 * Data model: while tracking is on every vfio_dma has a bitmap of its own
 * pages (one spare word, so the copy into a user bitmap that starts
 * mid-word can shift in place).  The emulated IOMMU has no dirty bits, so,
 * as in the kernel, a mapping that an IOMMU-backed group could write to
 * without telling (num_non_pinned_groups > 0 and the dma is IOMMU-mapped) is
 * reported dirty in full; otherwise only the pages drivers pinned are.
 * Reading a range's bitmap clears it, then marks the still-pinned
 * pages again.
 *
 * With I/O page faults (the target design) the IOPF handler marks
 * the pages devices write through faults: a faulted page is mapped
 * writable only while its dirty bit is set.  Starting and stopping
 * tracking unmap every faulted page, reading a range's bitmap unmaps its
 * dirty faulted pages, so that the next write faults and is seen.
 *
 * Locking: iommu->lock (all callers hold it, except the ioctl, which takes
 * it); the per-dma bitmaps and dirty_page_tracking are also written under
 * iopf_lock, as the IOPF handler reads and sets them holding only that.
 */
#include <errno.h>
#include <string.h>

#include "lib/uaccess.h"
#include "vfio/type1_internal.h"

static void bitmap_set_bits(uint64_t *map, uint64_t start, uint64_t n)
{
	for (uint64_t b = start; b < start + n;) {
		if (!(b % 64) && b + 64 <= start + n) {
			map[b / 64] = ~0ULL;
			b += 64;
		} else {
			map[b / 64] |= 1ULL << (b % 64);
			b++;
		}
	}
}

int vfio_verify_bitmap_size(uint64_t npages, uint64_t bitmap_size)
{
	if (!npages || !bitmap_size || bitmap_size > VFIO_DIRTY_BITMAP_SIZE_MAX)
		return -EINVAL;
	if (bitmap_size < VFIO_DIRTY_BITMAP_BYTES(npages))
		return -EINVAL;
	return 0;
}

static void vfio_dma_populate_bitmap(struct vfio_dma *dma, uint64_t pgsize)
{
	unsigned int pgshift = __builtin_ctzll(pgsize);
	struct vfio_pfn *v;

	for (v = vfio_vpfn_first(dma); v; v = vfio_vpfn_next(dma, v))
		bitmap_set_bits(dma->bitmap, (v->iova - dma->iova) >> pgshift,
				1);
}

int vfio_dma_bitmap_alloc(struct vfio_dma *dma, uint64_t pgsize)
{
	uint64_t npages = dma->size / pgsize;

	/* a bitmap of more than INT_MAX bits is never built (MAP_DMA while
	 * tracking, or START, with such a mapping: -EINVAL) */
	if (npages > VFIO_DIRTY_BITMAP_PAGES_MAX)
		return -EINVAL;
	dma->bitmap =
		ui_zalloc(VFIO_DIRTY_BITMAP_BYTES(npages) + sizeof(uint64_t));
	return dma->bitmap ? 0 : -ENOMEM;
}

void vfio_dma_bitmap_free(struct vfio_dma *dma)
{
	ui_free(dma->bitmap);
	dma->bitmap = NULL;
}

void vfio_dma_bitmap_set_pinned(struct vfio_iommu *iommu, struct vfio_dma *dma,
				dma_addr_t iova)
{
	unsigned int pgshift = __builtin_ctzll(iommu->pgsize_bitmap);

	lockdep_assert_held(&iommu->lock);

	bitmap_set_bits(dma->bitmap, (iova - dma->iova) >> pgshift, 1);
}

void vfio_dma_bitmap_free_all(struct vfio_iommu *iommu)
{
	struct vfio_dma *dma;

	lockdep_assert_held(&iommu->lock);

	for (dma = vfio_dma_first(iommu); dma; dma = vfio_dma_next(iommu, dma))
		vfio_dma_bitmap_free(dma);
}

int vfio_dma_bitmap_alloc_all(struct vfio_iommu *iommu, uint64_t pgsize)
{
	struct vfio_dma *dma, *u;
	int ret;

	lockdep_assert_held(&iommu->lock);

	for (dma = vfio_dma_first(iommu); dma;
	     dma = vfio_dma_next(iommu, dma)) {
		ret = vfio_dma_bitmap_alloc(dma, pgsize);
		if (ret) {
			for (u = vfio_dma_first(iommu); u != dma;
			     u = vfio_dma_next(iommu, u))
				vfio_dma_bitmap_free(u);
			return ret;
		}
		vfio_dma_populate_bitmap(dma, pgsize);
	}
	return 0;
}

void vfio_iommu_populate_bitmap_full(struct vfio_iommu *iommu)
{
	unsigned int pgshift = __builtin_ctzll(iommu->pgsize_bitmap);
	struct vfio_dma *dma;

	lockdep_assert_held(&iommu->lock);

	for (dma = vfio_dma_first(iommu); dma; dma = vfio_dma_next(iommu, dma))
		bitmap_set_bits(dma->bitmap, 0, dma->size >> pgshift);
}

/*
 * Copy dma's bits into the user bitmap that starts at base_iova; when the
 * dma starts mid-word, the user's bits below it (earlier dmas') are kept.
 */
int vfio_update_user_bitmap(struct vfio_iommu *iommu, struct vfio_dma *dma,
			    uint64_t *ubitmap, dma_addr_t base_iova,
			    uint64_t pgsize)
{
	unsigned int pgshift = __builtin_ctzll(pgsize);
	uint64_t nbits = dma->size >> pgshift;
	uint64_t bit_offset = (dma->iova - base_iova) >> pgshift;
	uint64_t copy_offset = bit_offset / 64;
	unsigned int shift = bit_offset % 64;
	uint64_t *map = dma->bitmap;

	lockdep_assert_held(&iommu->lock);
	lockdep_assert_held(&iommu->iopf_lock);

	/* no dirty bits in the IOMMU: a mapped page a group can write to
	 * without pinning may be dirty */
	if (iommu->num_non_pinned_groups && dma->iommu_mapped)
		bitmap_set_bits(map, 0, nbits);
	if (shift) {
		uint64_t nwords = DIV_ROUND_UP(nbits + shift, 64), leftover;

		for (uint64_t i = nwords; i-- > 0;)
			map[i] = (map[i] << shift) |
				 (i ? map[i - 1] >> (64 - shift) : 0);
		if (copy_from_user(&leftover, ubitmap + copy_offset,
				   sizeof(leftover)))
			return -EFAULT;
		map[0] |= leftover & ((1ULL << shift) - 1);
	}
	if (copy_to_user(ubitmap + copy_offset, map,
			 VFIO_DIRTY_BITMAP_BYTES(nbits + shift)))
		return -EFAULT;
	return 0;
}

static int vfio_iova_dirty_bitmap(struct vfio_iommu *iommu, uint64_t *ubitmap,
				  dma_addr_t iova, uint64_t size,
				  uint64_t pgsize)
{
	unsigned int pgshift = __builtin_ctzll(pgsize);
	dma_addr_t last = iova + size - 1;
	struct vfio_dma *dma;
	int ret;

	lockdep_assert_held(&iommu->lock);

	/* the range must not bisect a mapping */
	dma = vfio_find_dma(iommu, iova, 1);
	if (dma && dma->iova != iova)
		return -EINVAL;
	dma = vfio_find_dma(iommu, last, 1);
	if (dma && dma->iova + dma->size - 1 != last)
		return -EINVAL;

	for (dma = vfio_dma_first(iommu); dma;
	     dma = vfio_dma_next(iommu, dma)) {
		if (dma->iova < iova)
			continue;
		if (dma->iova > last)
			break;
		mutex_lock(&iommu->iopf_lock);
		ret = vfio_update_user_bitmap(iommu, dma, ubitmap, iova,
					      pgsize);
		if (ret) {
			mutex_unlock(&iommu->iopf_lock);
			return ret;
		}
		/* written faulted pages must fault again to be seen */
		vfio_iopf_dirty_reset(iommu, dma);
		/* start over with the pages still pinned */
		memset(dma->bitmap, 0,
		       VFIO_DIRTY_BITMAP_BYTES(dma->size >> pgshift) +
			       sizeof(uint64_t));
		vfio_dma_populate_bitmap(dma, pgsize);
		mutex_unlock(&iommu->iopf_lock);
	}
	return 0;
}

long vfio_iommu_type1_dirty_pages(struct vfio_iommu *iommu, unsigned long arg)
{
	uint32_t mask = VFIO_IOMMU_DIRTY_PAGES_FLAG_START |
			VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP |
			VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP;
	struct vfio_iommu_type1_dirty_bitmap dirty;
	size_t minsz = offsetofend(struct vfio_iommu_type1_dirty_bitmap, flags);
	int ret = 0;

	if (!iommu->v2)
		return -EACCES;
	ret = copy_argsz_flags_from_user(&dirty, arg, minsz, mask);
	if (ret)
		return ret;
	/* exactly one flag */
	if (!dirty.flags || (dirty.flags & (dirty.flags - 1)))
		return -EINVAL;

	if (dirty.flags & VFIO_IOMMU_DIRTY_PAGES_FLAG_START) {
		mutex_lock(&iommu->lock);
		if (!iommu->dirty_page_tracking) {
			mutex_lock(&iommu->iopf_lock);
			ret = vfio_dma_bitmap_alloc_all(iommu,
							vfio_pgsize(iommu));
			if (!ret)
				iommu->dirty_page_tracking = true;
			mutex_unlock(&iommu->iopf_lock);
			/* faulted pages fault again, read-only until written */
			if (!ret && iommu->iopf_enabled)
				vfio_iopf_unmap_all(iommu);
		}
		mutex_unlock(&iommu->lock);
		return ret;
	} else if (dirty.flags & VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP) {
		mutex_lock(&iommu->lock);
		if (iommu->dirty_page_tracking) {
			mutex_lock(&iommu->iopf_lock);
			iommu->dirty_page_tracking = false;
			vfio_dma_bitmap_free_all(iommu);
			mutex_unlock(&iommu->iopf_lock);
			/* read-only faulted pages go: writable again on the
			 * next fault */
			if (iommu->iopf_enabled)
				vfio_iopf_unmap_all(iommu);
		}
		mutex_unlock(&iommu->lock);
		return 0;
	} else {
		struct vfio_iommu_type1_dirty_bitmap_get range;
		size_t data_size = dirty.argsz - minsz;
		uint64_t pgsize, end;

		if (!data_size || data_size < sizeof(range))
			return -EINVAL;
		if (copy_from_user(&range, (char *)arg + minsz, sizeof(range)))
			return -EFAULT;
		if (check_add_overflow(range.iova, range.size, &end))
			return -EINVAL;
		if (!access_ok((uint64_t)(uintptr_t)range.bitmap.data,
			       range.bitmap.size) ||
		    !range.bitmap.pgsize)
			return -EINVAL;
		ret = vfio_verify_bitmap_size(
			range.size >> __builtin_ctzll(range.bitmap.pgsize),
			range.bitmap.size);
		if (ret)
			return ret;

		mutex_lock(&iommu->lock);
		pgsize = vfio_pgsize(iommu);
		/* only the smallest page size */
		if (range.bitmap.pgsize != pgsize ||
		    range.iova & (pgsize - 1) || !range.size ||
		    range.size & (pgsize - 1))
			ret = -EINVAL;
		else if (iommu->dirty_page_tracking)
			ret = vfio_iova_dirty_bitmap(
				iommu, (uint64_t *)range.bitmap.data,
				range.iova, range.size, pgsize);
		else
			ret = -EINVAL;
		mutex_unlock(&iommu->lock);
		return ret;
	}
}
