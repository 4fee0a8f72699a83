// SPDX-License-Identifier: MIT
/*
 * VFIO's type1 container API served by iommufd (Linux 6.12's
 * drivers/iommu/iommufd/vfio_compat.c is the model): IOMMU_VFIO_IOAS,
 * which designates the compat IOAS, and the VFIO container ioctls on an
 * iommufd file (iommufd_vfio_ioctl: VFIO_GET_API_VERSION,
 * VFIO_CHECK_EXTENSION, VFIO_SET_IOMMU, VFIO_IOMMU_GET_INFO,
 * VFIO_IOMMU_MAP_DMA, VFIO_IOMMU_UNMAP_DMA), which all act on that IOAS
 * since their ABI names none.  docs/iommufd.md "The compat container"
 * lists where they differ from type1.
 *
 * ictx->vfio_ioas is a plain pointer, not a user of the IOAS: the IOAS
 * can be destroyed while designated, and its removal from the id table
 * clears the designation (iommufd_object_unlink), as 6.12's
 * iommufd_object_remove does.  ictx->lock guards it.  The compat IOAS is
 * made on demand (iommufd_vfio_compat_ioas_create, as a group's attach
 * does) and is then an ordinary object of the context: IOMMU_VFIO_IOAS_GET
 * tells its id, IOMMU_DESTROY may remove it, the context's release
 * destroys it otherwise.
 *
 * Locking: each ioctl takes a user of the compat IOAS (get_compat_ioas)
 * for its duration; the io_pagetable's own lock serializes the rest.
 */
#include <errno.h>
#include <linux/vfio.h>
#include <stdint.h>
#include <string.h>

#include "iommufd/iommufd_private.h"
#include "lib/internal.h"
#include "lib/uaccess.h"

/* get_compat_ioas: the designated IOAS with a user, -ENODEV if none. */
static struct iommufd_ioas *get_compat_ioas(struct iommufd_ctx *ictx)
{
	struct iommufd_ioas *ioas = NULL;

	mutex_lock(&ictx->lock);
	if (ictx->vfio_ioas && ictx->vfio_ioas->obj.users) {
		ioas = ictx->vfio_ioas;
		ioas->obj.users++;
	}
	mutex_unlock(&ictx->lock);
	return ioas;
}

int iommufd_vfio_ioas(struct iommufd_ucmd *ucmd)
{
	struct iommu_vfio_ioas *cmd = ucmd->cmd;
	struct iommufd_ctx *ictx = ucmd->ictx;
	struct iommufd_ioas *ioas;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	switch (cmd->op) {
	case IOMMU_VFIO_IOAS_GET:
		ioas = get_compat_ioas(ictx);
		if (!ioas)
			return -ENODEV;
		cmd->ioas_id = ioas->obj.id;
		iommufd_put_object(ictx, &ioas->obj);
		return iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	case IOMMU_VFIO_IOAS_SET:
		ioas = iommufd_get_ioas(ictx, cmd->ioas_id);
		if (!ioas)
			return -ENOENT;
		mutex_lock(&ictx->lock);
		ictx->vfio_ioas = ioas;
		mutex_unlock(&ictx->lock);
		iommufd_put_object(ictx, &ioas->obj);
		return 0;
	case IOMMU_VFIO_IOAS_CLEAR:
		mutex_lock(&ictx->lock);
		ictx->vfio_ioas = NULL;
		mutex_unlock(&ictx->lock);
		return 0;
	default:
		return -EOPNOTSUPP;
	}
}

int iommufd_vfio_compat_ioas_get_id(struct iommufd_ctx *ictx,
				    uint32_t *out_ioas_id)
{
	struct iommufd_ioas *ioas = get_compat_ioas(ictx);

	if (!ioas)
		return -ENODEV;
	*out_ioas_id = ioas->obj.id;
	iommufd_put_object(ictx, &ioas->obj);
	return 0;
}

int iommufd_vfio_compat_ioas_create(struct iommufd_ctx *ictx)
{
	struct iommufd_ioas *ioas = iommufd_ioas_alloc(ictx);

	if (!ioas)
		return -ENOMEM;
	mutex_lock(&ictx->lock);
	if (ictx->vfio_ioas && ictx->vfio_ioas->obj.users) {
		/* one exists already (made before, or designated by SET) */
		mutex_unlock(&ictx->lock);
		iommufd_object_abort_and_destroy(ictx, &ioas->obj);
		return 0;
	}
	ictx->vfio_ioas = ioas;
	mutex_unlock(&ictx->lock);
	/* a user-visible object from now on, as one IOAS_ALLOC made */
	iommufd_object_finalize(ictx, &ioas->obj);
	return 0;
}

/* VFIO_IOMMU_MAP_DMA: only READ and WRITE; no VADDR update. */
static int iommufd_vfio_map_dma(struct iommufd_ctx *ictx, unsigned long arg)
{
	const uint32_t supported = VFIO_DMA_MAP_FLAG_READ |
				   VFIO_DMA_MAP_FLAG_WRITE;
	const size_t minsz = offsetofend(struct vfio_iommu_type1_dma_map, size);
	struct vfio_iommu_type1_dma_map map;
	int iommu_prot = IOMMU_CACHE;
	struct iommufd_ioas *ioas;
	unsigned long iova;
	int ret;

	if (copy_from_user(&map, (void *)arg, minsz))
		return -EFAULT;
	if (map.argsz < minsz || (map.flags & ~supported))
		return -EINVAL;
	if (map.flags & VFIO_DMA_MAP_FLAG_READ)
		iommu_prot |= IOMMU_READ;
	if (map.flags & VFIO_DMA_MAP_FLAG_WRITE)
		iommu_prot |= IOMMU_WRITE;

	ioas = get_compat_ioas(ictx);
	if (!ioas)
		return -ENODEV;
	/* a fixed IOVA (flags 0: no allocation), the context's accounting */
	iova = map.iova;
	ret = iopt_map_user_pages(ictx, &ioas->iopt, &iova, map.vaddr, map.size,
				  iommu_prot, 0);
	iommufd_put_object(ictx, &ioas->obj);
	return ret;
}

/* VFIO_IOMMU_UNMAP_DMA: only the ALL flag (no dirty bitmap, no VADDR). */
static int iommufd_vfio_unmap_dma(struct iommufd_ctx *ictx, unsigned long arg)
{
	const size_t minsz =
		offsetofend(struct vfio_iommu_type1_dma_unmap, size);
	struct vfio_iommu_type1_dma_unmap unmap;
	unsigned long unmapped = 0;
	struct iommufd_ioas *ioas;
	int ret;

	if (copy_from_user(&unmap, (void *)arg, minsz))
		return -EFAULT;
	if (unmap.argsz < minsz || (unmap.flags & ~VFIO_DMA_UNMAP_FLAG_ALL))
		return -EINVAL;

	ioas = get_compat_ioas(ictx);
	if (!ioas)
		return -ENODEV;
	if (unmap.flags & VFIO_DMA_UNMAP_FLAG_ALL) {
		if (unmap.iova || unmap.size) {
			ret = -EINVAL;
			goto out_put;
		}
		ret = iopt_unmap_all(&ioas->iopt, &unmapped);
	} else {
		if (ioas->iopt.disable_large_pages) {
			/*
			 * type1 (v1): a range may cut areas; split them at
			 * its first and last byte (none before IOVA 0).
			 */
			unsigned long iovas[] = {unmap.iova + unmap.size - 1,
						 unmap.iova - 1};

			ret = iopt_cut_iova(&ioas->iopt, iovas,
					    unmap.iova ? 2 : 1);
			if (ret)
				goto out_put;
		}
		ret = iopt_unmap_iova(&ioas->iopt, unmap.iova, unmap.size,
				      &unmapped);
	}
	/* the size unmapped goes back, even with an error */
	unmap.size = unmapped;
	if (copy_to_user((void *)arg, &unmap, minsz))
		ret = -EFAULT;
out_put:
	iommufd_put_object(ictx, &ioas->obj);
	return ret;
}

/*
 * VFIO_DMA_CC_IOMMU: 1 when every paging domain of the compat IOAS
 * enforces cache coherency.  6.12 keeps this per HWPT, set when the
 * domain's driver agrees to enforce it; the drivers here decide it by
 * their IOMMU's configuration alone, so asking them is the same answer.
 */
static int iommufd_vfio_cc_iommu(struct iommufd_ctx *ictx)
{
	struct iommufd_hwpt_paging *hwpt;
	struct iommufd_ioas *ioas;
	int ret = 1;

	ioas = get_compat_ioas(ictx);
	if (!ioas)
		return -ENODEV;
	mutex_lock(&ioas->mutex);
	LIST_FOREACH(hwpt, &ioas->hwpt_list, hwpt_item) {
		const struct iommu_ops *ops = hwpt->common.domain->ops;

		if (!ops->enforce_cache_coherency ||
		    !ops->enforce_cache_coherency(hwpt->common.domain)) {
			ret = 0;
			break;
		}
	}
	mutex_unlock(&ioas->mutex);
	iommufd_put_object(ictx, &ioas->obj);
	return ret;
}

static int iommufd_vfio_check_extension(struct iommufd_ctx *ictx,
					unsigned long type)
{
	switch (type) {
	case VFIO_TYPE1_IOMMU:
	case VFIO_TYPE1v2_IOMMU:
	case VFIO_UNMAP_ALL:
		return 1;
	case VFIO_DMA_CC_IOMMU:
		return iommufd_vfio_cc_iommu(ictx);
	case VFIO_NOIOMMU_IOMMU:       /* no no-IOMMU mode here */
	case VFIO_TYPE1_NESTING_IOMMU: /* obsolete: refused, as 6.12 */
	case VFIO_UPDATE_VADDR:	       /* refused, as 6.12 */
	default:
		return 0;
	}
}

/*
 * VFIO_SET_IOMMU: TYPE1 or TYPE1v2 once a compat IOAS exists (a group
 * attached, as VFIO wants a group first).  TYPE1 may unmap part of a
 * mapping; 6.12 gives it that by mapping no large IOPTEs in the IOAS, so
 * that an area can be cut anywhere (iopt_disable_large_pages: -EINVAL if
 * a domain already has mappings).
 */
static int iommufd_vfio_set_iommu(struct iommufd_ctx *ictx, unsigned long type)
{
	struct iommufd_ioas *ioas;
	int ret = 0;

	if (type != VFIO_TYPE1_IOMMU && type != VFIO_TYPE1v2_IOMMU)
		return -EINVAL;
	ioas = get_compat_ioas(ictx);
	if (!ioas)
		return -ENODEV;
	if (type == VFIO_TYPE1_IOMMU)
		ret = iopt_disable_large_pages(&ioas->iopt);
	iommufd_put_object(ictx, &ioas->obj);
	return ret;
}

/* The page sizes of all domains, at least PAGE_SIZE and the alignment. */
static uint64_t iommufd_get_pagesizes(struct iommufd_ioas *ioas)
{
	struct io_pagetable *iopt = &ioas->iopt;
	uint64_t pgsizes = UINT64_MAX;

	mutex_lock(&iopt->lock);
	for (unsigned int i = 0; i < iopt->nr_domains; i++)
		pgsizes &= iopt->domains[i]->pgsize_bitmap;
	/* as type1's vfio_update_pgsize_bitmap: sub-page sizes are a page */
	if (pgsizes & (IOMMUFD_PAGE_SIZE - 1)) {
		pgsizes &= ~(uint64_t)(IOMMUFD_PAGE_SIZE - 1);
		pgsizes |= IOMMUFD_PAGE_SIZE;
	}
	pgsizes = max(pgsizes, (uint64_t)iopt->iova_alignment);
	mutex_unlock(&iopt->lock);
	return pgsizes;
}

/* The DMA_AVAIL capability: U32_MAX, as 6.12 (no per-container limit). */
static int fill_cap_dma_avail(struct iommufd_ioas *ioas, void *ucap,
			      size_t avail)
{
	struct vfio_iommu_type1_info_dma_avail cap = {
		.header = {.id = VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, .version = 1},
		.avail = UINT32_MAX,
	};

	(void)ioas;
	if (avail >= sizeof(cap) && copy_to_user(ucap, &cap, sizeof(cap)))
		return -EFAULT;
	return sizeof(cap);
}

/* The IOVA_RANGE capability: the holes of the IOAS's reserved ranges. */
static int fill_cap_iova(struct iommufd_ioas *ioas, void *ucap, size_t avail)
{
	struct vfio_iommu_type1_info_cap_iova_range cap = {
		.header = {.id = VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE,
			   .version = 1},
	};
	struct iommu_iova_range *ranges;
	unsigned int nr, max = 0;
	unsigned long align;
	size_t size;
	int ret;

	/* count, then read (a second count may differ: take the smaller) */
	ret = iopt_iova_ranges(&ioas->iopt, NULL, 0, &nr, &align);
	if (ret)
		return ret;
	ranges = ui_calloc(nr ? nr : 1, sizeof(*ranges));
	if (!ranges)
		return -ENOMEM;
	max = nr;
	ret = iopt_iova_ranges(&ioas->iopt, ranges, max, &nr, &align);
	if (ret)
		goto out;
	nr = min(nr, max);
	cap.nr_iovas = nr;
	size = sizeof(cap) + nr * sizeof(struct vfio_iova_range);
	if (avail >= size) {
		struct vfio_iommu_type1_info_cap_iova_range *u = ucap;

		for (unsigned int i = 0; i < nr; i++) {
			struct vfio_iova_range r = {.start = ranges[i].start,
						    .end = ranges[i].last};

			if (copy_to_user(&u->iova_ranges[i], &r, sizeof(r))) {
				ret = -EFAULT;
				goto out;
			}
		}
		if (copy_to_user(ucap, &cap, sizeof(cap))) {
			ret = -EFAULT;
			goto out;
		}
	}
	ret = size;
out:
	ui_free(ranges);
	return ret;
}

/*
 * VFIO_IOMMU_GET_INFO: PGSIZES and CAPS, with the DMA_AVAIL and
 * IOVA_RANGE capabilities in that order, each written only when the
 * user's argsz holds it; argsz comes back as the size all of them need.
 */
static int iommufd_vfio_iommu_get_info(struct iommufd_ctx *ictx,
				       unsigned long arg)
{
	typedef int (*fill_cap_fn)(struct iommufd_ioas * ioas, void *ucap,
				   size_t avail);
	static const fill_cap_fn fill_fns[] = {fill_cap_dma_avail,
					       fill_cap_iova};
	size_t minsz = offsetofend(struct vfio_iommu_type1_info, iova_pgsizes);
	struct vfio_iommu_type1_info info = {0};
	struct vfio_info_cap_header *last_cap = NULL;
	char *uarg = (char *)arg;
	struct iommufd_ioas *ioas;
	size_t total;
	int ret;

	if (copy_from_user(&info, uarg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;
	minsz = min((size_t)info.argsz, sizeof(info));

	ioas = get_compat_ioas(ictx);
	if (!ioas)
		return -ENODEV;
	info.flags = VFIO_IOMMU_INFO_PGSIZES;
	info.iova_pgsizes = iommufd_get_pagesizes(ioas);
	info.cap_offset = 0;

	total = sizeof(info);
	for (size_t i = 0; i < ARRAY_SIZE(fill_fns); i++) {
		int cap_size;

		if (info.argsz > total)
			cap_size = fill_fns[i](ioas, uarg + total,
					       info.argsz - total);
		else
			cap_size = fill_fns[i](ioas, NULL, 0);
		if (cap_size < 0) {
			ret = cap_size;
			goto out_put;
		}
		cap_size = ALIGN_UP(cap_size, sizeof(uint64_t));
		if (last_cap && info.argsz >= total) {
			uint32_t next = total;

			if (copy_to_user(&last_cap->next, &next,
					 sizeof(next))) {
				ret = -EFAULT;
				goto out_put;
			}
		}
		last_cap = (struct vfio_info_cap_header *)(uarg + total);
		total += cap_size;
	}
	/* too small an argsz: only some caps, and the size all need */
	if (info.argsz >= total)
		info.cap_offset = sizeof(info);
	info.argsz = total;
	info.flags |= VFIO_IOMMU_INFO_CAPS;
	ret = copy_to_user(uarg, &info, minsz) ? -EFAULT : 0;
out_put:
	iommufd_put_object(ictx, &ioas->obj);
	return ret;
}

int iommufd_vfio_ioctl(struct iommufd_ctx *ictx, unsigned int cmd,
		       unsigned long arg)
{
	switch (cmd) {
	case VFIO_GET_API_VERSION:
		return VFIO_API_VERSION;
	case VFIO_SET_IOMMU:
		return iommufd_vfio_set_iommu(ictx, arg);
	case VFIO_CHECK_EXTENSION:
		return iommufd_vfio_check_extension(ictx, arg);
	case VFIO_IOMMU_GET_INFO:
		return iommufd_vfio_iommu_get_info(ictx, arg);
	case VFIO_IOMMU_MAP_DMA:
		return iommufd_vfio_map_dma(ictx, arg);
	case VFIO_IOMMU_UNMAP_DMA:
		return iommufd_vfio_unmap_dma(ictx, arg);
	case VFIO_IOMMU_DIRTY_PAGES: /* refused: IOMMU_HWPT_GET_DIRTY_BITMAP's */
	default:
		return -ENOTTY;
	}
}
