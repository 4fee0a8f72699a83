// SPDX-License-Identifier: MIT
/*
 * The IOAS object and its ioctls: IOAS_ALLOC, IOAS_IOVA_RANGES,
 * IOAS_ALLOW_IOVAS, IOAS_MAP, IOAS_COPY, IOAS_UNMAP and the options
 * (RLIMIT_MODE of the context, HUGE_PAGES of an IOAS).  Linux 6.12's
 * drivers/iommu/iommufd/ioas.c is the model: the same checks in the same
 * order, the same errno values.
 *
 * An IOAS owns its io_pagetable (io_pagetable.c) and the list of its
 * paging HWPTs (ioas->mutex); each HWPT holds a user of it, so an IOAS
 * with HWPTs cannot be destroyed (-EBUSY).  So one being destroyed has no
 * domain and pins nothing; its areas go, and with them the pages no
 * other IOAS's area shares.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "iommufd/iommufd_private.h"
#include "lib/internal.h"
#include "lib/uaccess.h"

struct iommufd_ioas *iommufd_ioas_alloc(struct iommufd_ctx *ictx)
{
	struct iommufd_ioas *ioas = ui_zalloc(sizeof(*ioas));

	if (!ioas)
		return NULL;
	iopt_init_table(&ioas->iopt);
	mutex_init(&ioas->mutex, IOMMUFD_LOCK_IOAS);
	LIST_INIT(&ioas->hwpt_list);
	if (iommufd_object_alloc(ictx, &ioas->obj, IOMMUFD_OBJ_IOAS)) {
		iopt_destroy_table(&ioas->iopt);
		mutex_destroy(&ioas->mutex);
		ui_free(ioas);
		return NULL;
	}
	return ioas;
}

void iommufd_ioas_destroy(struct iommufd_object *obj)
{
	struct iommufd_ioas *ioas = container_of(obj, struct iommufd_ioas, obj);

	WARN_ON(!LIST_EMPTY(&ioas->hwpt_list));
	iopt_destroy_table(&ioas->iopt);
	mutex_destroy(&ioas->mutex);
}

struct iommufd_ioas *iommufd_get_ioas(struct iommufd_ctx *ictx, uint32_t id)
{
	struct iommufd_object *obj =
		iommufd_get_object(ictx, id, IOMMUFD_OBJ_IOAS);

	return obj ? container_of(obj, struct iommufd_ioas, obj) : NULL;
}

int iommufd_ioas_alloc_ioctl(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_alloc *cmd = ucmd->cmd;
	struct iommufd_ioas *ioas;
	int ret;

	if (cmd->flags)
		return -EOPNOTSUPP;
	ioas = iommufd_ioas_alloc(ucmd->ictx);
	if (!ioas)
		return -ENOMEM;
	cmd->out_ioas_id = ioas->obj.id;
	ret = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (ret) {
		iommufd_object_abort_and_destroy(ucmd->ictx, &ioas->obj);
		return ret;
	}
	iommufd_object_finalize(ucmd->ictx, &ioas->obj);
	return 0;
}

int iommufd_ioas_iova_ranges(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_iova_ranges *cmd = ucmd->cmd;
	struct iommu_iova_range *ranges = NULL;
	struct iommufd_ioas *ioas;
	unsigned long align;
	unsigned int nr, max_iovas;
	int ret;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	ioas = iommufd_get_ioas(ucmd->ictx, cmd->ioas_id);
	if (!ioas)
		return -ENOENT;
	max_iovas = cmd->num_iovas;
	/* the holes are few: reserved ranges + 1 at most */
	ret = iopt_iova_ranges(&ioas->iopt, NULL, 0, &nr, &align);
	if (ret)
		goto out_put;
	ranges = ui_calloc(nr, sizeof(*ranges));
	if (!ranges) {
		ret = -ENOMEM;
		goto out_put;
	}
	ret = iopt_iova_ranges(&ioas->iopt, ranges, nr, &nr, &align);
	if (ret)
		goto out_put;
	cmd->num_iovas = nr;
	cmd->out_iova_alignment = align;
	if (min(nr, max_iovas) &&
	    copy_to_user((void *)(uintptr_t)cmd->allowed_iovas, ranges,
			 min(nr, max_iovas) * sizeof(*ranges))) {
		ret = -EFAULT;
		goto out_put;
	}
	ret = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (!ret && nr > max_iovas)
		ret = -EMSGSIZE;
out_put:
	ui_free(ranges);
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return ret;
}

/* iommufd_ioas_load_iovas: the user's ranges, each start < last, none
 * overlapping another. */
static int ioas_load_iovas(const struct iommu_iova_range *uranges, uint32_t num,
			   struct iommu_iova_range **out)
{
	struct iommu_iova_range *r;

	*out = NULL;
	if (!num)
		return 0;
	r = ui_calloc(num, sizeof(*r));
	if (!r)
		return -ENOMEM;
	for (uint32_t i = 0; i < num; i++) {
		if (copy_from_user(&r[i], &uranges[i], sizeof(r[i]))) {
			ui_free(r);
			return -EFAULT;
		}
		if (r[i].start >= r[i].last) {
			ui_free(r);
			return -EINVAL;
		}
		for (uint32_t j = 0; j < i; j++)
			if (r[j].start <= r[i].last &&
			    r[j].last >= r[i].start) {
				ui_free(r);
				return -EINVAL;
			}
	}
	*out = r;
	return 0;
}

int iommufd_ioas_allow_iovas(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_allow_iovas *cmd = ucmd->cmd;
	struct iommu_iova_range *ranges;
	struct iommufd_ioas *ioas;
	int ret;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	ioas = iommufd_get_ioas(ucmd->ictx, cmd->ioas_id);
	if (!ioas)
		return -ENOENT;
	ret = ioas_load_iovas((const void *)(uintptr_t)cmd->allowed_iovas,
			      cmd->num_iovas, &ranges);
	if (!ret) {
		ret = iopt_set_allow_iova(&ioas->iopt, ranges, cmd->num_iovas);
		if (ret)
			ui_free(ranges);
	}
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return ret;
}

/* Coherent DMA only: no user cache maintenance, as 6.12 requires. */
static int conv_iommu_prot(uint32_t map_flags)
{
	int prot = IOMMU_CACHE;

	if (map_flags & IOMMU_IOAS_MAP_WRITEABLE)
		prot |= IOMMU_WRITE;
	if (map_flags & IOMMU_IOAS_MAP_READABLE)
		prot |= IOMMU_READ;
	return prot;
}

#define IOAS_MAP_FLAGS                                          \
	(IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_WRITEABLE | \
	 IOMMU_IOAS_MAP_READABLE)

int iommufd_ioas_map(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_map *cmd = ucmd->cmd;
	unsigned long iova = cmd->iova;
	struct iommufd_ioas *ioas;
	unsigned int flags = 0;
	int ret;

	if ((cmd->flags & ~IOAS_MAP_FLAGS) || cmd->__reserved)
		return -EOPNOTSUPP;
	if (cmd->iova >= ULONG_MAX || cmd->length >= ULONG_MAX)
		return -EOVERFLOW;
	if (!(cmd->flags &
	      (IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE)))
		return -EINVAL;
	ioas = iommufd_get_ioas(ucmd->ictx, cmd->ioas_id);
	if (!ioas)
		return -ENOENT;
	if (!(cmd->flags & IOMMU_IOAS_MAP_FIXED_IOVA))
		flags = IOPT_ALLOC_IOVA;
	ret = iopt_map_user_pages(ucmd->ictx, &ioas->iopt, &iova,
				  (unsigned long)cmd->user_va, cmd->length,
				  conv_iommu_prot(cmd->flags), flags);
	if (!ret) {
		cmd->iova = iova;
		ret = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	}
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return ret;
}

int iommufd_ioas_copy(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_copy *cmd = ucmd->cmd;
	struct iommufd_ioas *src, *dst;
	unsigned long iova = cmd->dst_iova;
	unsigned int flags = 0;
	int ret;

	if (cmd->flags & ~IOAS_MAP_FLAGS)
		return -EOPNOTSUPP;
	if (cmd->length >= ULONG_MAX || cmd->src_iova >= ULONG_MAX ||
	    cmd->dst_iova >= ULONG_MAX)
		return -EOVERFLOW;
	if (!(cmd->flags &
	      (IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE)))
		return -EINVAL;
	src = iommufd_get_ioas(ucmd->ictx, cmd->src_ioas_id);
	if (!src)
		return -ENOENT;
	dst = iommufd_get_ioas(ucmd->ictx, cmd->dst_ioas_id);
	if (!dst) {
		ret = -ENOENT;
		goto out_src;
	}
	if (!(cmd->flags & IOMMU_IOAS_MAP_FIXED_IOVA))
		flags = IOPT_ALLOC_IOVA;
	ret = iopt_copy_pages(&src->iopt, &dst->iopt, cmd->src_iova,
			      cmd->length, &iova, conv_iommu_prot(cmd->flags),
			      flags);
	if (!ret) {
		cmd->dst_iova = iova;
		ret = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	}
	iommufd_put_object(ucmd->ictx, &dst->obj);
out_src:
	iommufd_put_object(ucmd->ictx, &src->obj);
	return ret;
}

int iommufd_ioas_unmap(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_unmap *cmd = ucmd->cmd;
	unsigned long unmapped = 0;
	struct iommufd_ioas *ioas;
	int ret;

	ioas = iommufd_get_ioas(ucmd->ictx, cmd->ioas_id);
	if (!ioas)
		return -ENOENT;
	if (cmd->iova == 0 && cmd->length == UINT64_MAX) {
		ret = iopt_unmap_all(&ioas->iopt, &unmapped);
	} else if (cmd->iova >= ULONG_MAX || cmd->length >= ULONG_MAX) {
		ret = -EOVERFLOW;
	} else {
		ret = iopt_unmap_iova(&ioas->iopt, cmd->iova, cmd->length,
				      &unmapped);
		if (!ret && !unmapped)
			ret = -ENOENT;
	}
	if (!ret) {
		cmd->length = unmapped;
		ret = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	}
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return ret;
}

int iommufd_option_rlimit_mode(struct iommu_option *cmd,
			       struct iommufd_ctx *ictx)
{
	int ret = 0;

	if (cmd->object_id)
		return -EOPNOTSUPP;
	if (cmd->op == IOMMU_OPTION_OP_GET) {
		cmd->val64 = ictx->account_mode == IOPT_PAGES_ACCOUNT_MM;
		return 0;
	}
	if (cmd->op != IOMMU_OPTION_OP_SET)
		return -EOPNOTSUPP;
	if (!ictx->cap_sys_resource)
		return -EPERM;
	mutex_lock(&ictx->lock);
	if (ictx->live_objects)
		ret = -EBUSY;
	else if (cmd->val64 == 0)
		ictx->account_mode = IOPT_PAGES_ACCOUNT_USER;
	else if (cmd->val64 == 1)
		ictx->account_mode = IOPT_PAGES_ACCOUNT_MM;
	else
		ret = -EINVAL;
	mutex_unlock(&ictx->lock);
	return ret;
}

static int ioas_option_huge_pages(struct iommu_option *cmd,
				  struct iommufd_ioas *ioas)
{
	if (cmd->op == IOMMU_OPTION_OP_GET) {
		cmd->val64 = !ioas->iopt.disable_large_pages;
		return 0;
	}
	if (cmd->op != IOMMU_OPTION_OP_SET)
		return -EOPNOTSUPP;
	if (cmd->val64 == 0)
		return iopt_disable_large_pages(&ioas->iopt);
	if (cmd->val64 == 1) {
		iopt_enable_large_pages(&ioas->iopt);
		return 0;
	}
	return -EINVAL;
}

int iommufd_ioas_option(struct iommufd_ucmd *ucmd)
{
	struct iommu_option *cmd = ucmd->cmd;
	struct iommufd_ioas *ioas;
	int ret;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	ioas = iommufd_get_ioas(ucmd->ictx, cmd->object_id);
	if (!ioas)
		return -ENOENT;
	ret = cmd->option_id == IOMMU_OPTION_HUGE_PAGES
		      ? ioas_option_huge_pages(cmd, ioas)
		      : -EOPNOTSUPP;
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return ret;
}
