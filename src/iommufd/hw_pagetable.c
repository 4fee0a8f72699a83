// SPDX-License-Identifier: MIT
/*
 * IOMMU_HWPT_ALLOC and IOMMU_GET_HW_INFO (Linux 6.12's
 * drivers/iommu/iommufd/hw_pagetable.c and device.c are the model: their
 * checks in their order, their errno values).
 *
 * A HWPT made here is the user's (not an auto domain): it lives until
 * IOMMU_DESTROY (-EBUSY while a device is attached to it) or the
 * context's close, holding a user of its IOAS; its domain is one of the
 * IOAS's from allocation on (filled with its areas, given every later
 * map and unmap).  Devices attach to it by its id.
 *
 * What 6.12 gives the ARM SMMUv3, and so this: paging HWPTs, with
 * NEST_PARENT a stage-2 domain; no driver data for a paging HWPT
 * (-EOPNOTSUPP).  pt_id a paging HWPT with driver data makes a nested
 * HWPT (hw_pagetable_nested.c: the mock's IOMMU_HWPT_DATA_SELFTEST, the
 * SMMUv3's UIOMMU_HWPT_DATA_ARM_SMMUV3 in nested_smmu.c);
 * both kinds end in the same tail here (FAULT_ID_VALID, the answer,
 * finalize).  IOMMU_HWPT_INVALIDATE's checks are here, its requests go
 * to the nested HWPT's driver.  The SMMUv3's GET_HW_INFO is 6.12's,
 * without driver data (IOMMU_HW_INFO_TYPE_NONE), taking the
 * newer ABI's INPUT_TYPE flag that Debian's 6.12 selftests send.  Dirty
 * tracking: an SMMUv3 with HTTU reports IOMMU_HW_CAP_DIRTY_TRACKING and a
 * HWPT allocated with DIRTY_TRACKING gets a stage-1 domain whose leaves
 * the SMMU dirties (the IOMMU core's iommu_dirty_ops; without HTTU, or
 * with NEST_PARENT, -EOPNOTSUPP); the mock IOMMU (selftest.c) keeps its
 * own ops of the same interface.  SET_DIRTY_TRACKING and GET_DIRTY_BITMAP
 * drive them through the IOAS (io_pagetable.c, iova_bitmap.c; any other
 * HWPT -EOPNOTSUPP, as 6.12's domain without dirty_ops).  The
 * IOMMU core offers no PASID attach, so
 * out_max_pasid_log2 is 0.  FAULT_ID_VALID (fault.c) names the fault
 * queue the HWPT's I/O page faults go to, for a HWPT of either kind; as
 * in later kernels (6.12 takes it on nested HWPTs only) a paging HWPT
 * takes it too, but not with NEST_PARENT (-EOPNOTSUPP).
 *
 * Locking: the IOAS's mutex across the allocation (its HWPT list), as
 * 6.12 holds it.
 */
#include <errno.h>
#include <string.h>

#include "iommufd/iommufd_private.h"
#include "lib/internal.h"
#include "lib/uaccess.h"

struct iommufd_device *iommufd_get_device(struct iommufd_ucmd *ucmd,
					  uint32_t id)
{
	struct iommufd_object *obj =
		iommufd_get_object(ucmd->ictx, id, IOMMUFD_OBJ_DEVICE);

	return obj ? container_of(obj, struct iommufd_device, obj) : NULL;
}

/* Undo an unfinalized HWPT of iommufd_hwpt_alloc (ioas->mutex held for a
 * paging one, which is on its IOAS's list). */
static void hwpt_alloc_abort(struct iommufd_ctx *ictx,
			     struct iommufd_hw_pagetable *hwpt)
{
	if (hwpt->obj.type == IOMMUFD_OBJ_HWPT_PAGING) {
		struct iommufd_hwpt_paging *paging =
			container_of(hwpt, struct iommufd_hwpt_paging, common);

		LIST_REMOVE(paging, hwpt_item);
		paging->on_list = false;
	}
	iommufd_object_abort_and_destroy(ictx, &hwpt->obj);
}

/*
 * IOMMU_HWPT_FAULT_ID_VALID, for a HWPT of any kind once allocated (6.12
 * looks the fault object up after the allocation: -ENOENT, the HWPT
 * aborted): *fault gets it, holding a user of it until the HWPT goes.
 */
static int hwpt_alloc_fault(struct iommufd_ucmd *ucmd,
			    const struct iommu_hwpt_alloc *cmd,
			    struct iommufd_fault **fault)
{
	if (!(cmd->flags & IOMMU_HWPT_FAULT_ID_VALID))
		return 0;
	return iommufd_fault_get_hwpt(ucmd->ictx, cmd->fault_id, fault);
}

int iommufd_hwpt_alloc(struct iommufd_ucmd *ucmd)
{
	struct iommu_hwpt_alloc *cmd = ucmd->cmd;
	const struct iommu_user_data user_data = {
		.type = cmd->data_type,
		.uptr = (const void *)(uintptr_t)cmd->data_uptr,
		.len = cmd->data_len,
	};
	struct iommufd_hw_pagetable *hwpt;
	struct iommufd_ioas *ioas = NULL;
	struct iommufd_object *pt_obj;
	struct iommufd_device *idev;
	int ret;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	if ((cmd->data_type == IOMMU_HWPT_DATA_NONE && cmd->data_len) ||
	    (cmd->data_type != IOMMU_HWPT_DATA_NONE && !cmd->data_len))
		return -EINVAL;
	idev = iommufd_get_device(ucmd, cmd->dev_id);
	if (!idev)
		return -ENOENT;
	pt_obj = iommufd_get_object(ucmd->ictx, cmd->pt_id, IOMMUFD_OBJ_ANY);
	if (!pt_obj) {
		ret = -EINVAL;
		goto out_put_idev;
	}
	if (pt_obj->type == IOMMUFD_OBJ_IOAS) {
		struct iommufd_hwpt_paging *paging;

		ioas = container_of(pt_obj, struct iommufd_ioas, obj);
		mutex_lock(&ioas->mutex);
		/* the SMMU's domain_alloc_user takes flags, but no paging
		 * data */
		if (cmd->data_len) {
			ret = -EOPNOTSUPP;
			goto out_unlock;
		}
		ret = iommufd_hwpt_paging_alloc(ucmd->ictx, ioas, idev,
						cmd->flags, false, &paging);
		if (ret)
			goto out_unlock;
		hwpt = &paging->common;
	} else if (pt_obj->type == IOMMUFD_OBJ_HWPT_PAGING) {
		struct iommufd_hwpt_nested *nested;

		ret = iommufd_hwpt_nested_alloc(
			ucmd->ictx,
			container_of(pt_obj, struct iommufd_hwpt_paging,
				     common.obj),
			idev, cmd->flags, &user_data, &nested);
		if (ret)
			goto out_unlock;
		hwpt = &nested->common;
	} else {
		ret = -EINVAL;
		goto out_put_pt;
	}
	ret = hwpt_alloc_fault(ucmd, cmd, &hwpt->fault);
	if (ret)
		goto out_hwpt;
	cmd->out_hwpt_id = hwpt->obj.id;
	ret = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (ret)
		goto out_hwpt;
	iommufd_object_finalize(ucmd->ictx, &hwpt->obj);
	goto out_unlock;
out_hwpt:
	hwpt_alloc_abort(ucmd->ictx, hwpt);
out_unlock:
	if (ioas)
		mutex_unlock(&ioas->mutex);
out_put_pt:
	iommufd_put_object(ucmd->ictx, pt_obj);
out_put_idev:
	iommufd_put_object(ucmd->ictx, &idev->obj);
	return ret;
}

/*
 * The newer ABI's GET_HW_INFO flag that Debian's 6.12 stable selftests
 * use (not in 6.12's header): the caller names the data type it wants in
 * the field out_data_type shares with in_data_type.  Only a driver's
 * hw_info op looks at it; the SMMUv3 here has none, so every request
 * gets IOMMU_HW_INFO_TYPE_NONE, as the newer kernels answer for such a
 * driver.
 */
#define IOMMUFD_HW_INFO_FLAG_INPUT_TYPE (1u << 0)

int iommufd_get_hw_info(struct iommufd_ucmd *ucmd)
{
	static const uint8_t zero[256];
	struct iommu_hw_info *cmd = ucmd->cmd;
	uint8_t *uptr = (uint8_t *)(uintptr_t)cmd->data_uptr;
	struct iommufd_device *idev;
	uint32_t left;
	int ret;

	if ((cmd->flags & ~IOMMUFD_HW_INFO_FLAG_INPUT_TYPE) ||
	    cmd->__reserved[0] || cmd->__reserved[1] || cmd->__reserved[2])
		return -EOPNOTSUPP;
	idev = iommufd_get_device(ucmd, cmd->dev_id);
	if (!idev)
		return -ENOENT;
	if (iommufd_selftest_is_mock_dev(idev->dev)) {
		/* the mock IOMMU's hw_info op (selftest.c) */
		ret = iommufd_selftest_hw_info(
			ucmd, idev->dev,
			cmd->flags & IOMMUFD_HW_INFO_FLAG_INPUT_TYPE);
		goto out_put;
	}
	/* no hw_info op: no data, the user's buffer cleared (clear_user) */
	cmd->out_data_type = IOMMU_HW_INFO_TYPE_NONE;
	for (left = cmd->data_len; left;) {
		uint32_t n = min(left, (uint32_t)sizeof(zero));

		if (copy_to_user(uptr, zero, n)) {
			ret = -EFAULT;
			goto out_put;
		}
		uptr += n;
		left -= n;
	}
	cmd->data_len = 0;
	cmd->out_capabilities =
		device_iommu_capable(idev->dev, IOMMU_CAP_DIRTY_TRACKING)
			? IOMMU_HW_CAP_DIRTY_TRACKING
			: 0;
	cmd->out_max_pasid_log2 = 0;
	ret = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
out_put:
	iommufd_put_object(ucmd->ictx, &idev->obj);
	return ret;
}

/* Debian's 6.12 bounds one call (the CPU time of one invalidation) */
#define IOMMUFD_HWPT_INVALIDATE_ENTRY_NUM_MAX (1u << 19)

/*
 * IOMMU_HWPT_INVALIDATE: the requests go to the nested HWPT's driver
 * (hw_pagetable_nested.c); any other id, a paging HWPT's too, -ENOENT.
 * entry_num comes back as the requests handled, on error too (0 when the
 * checks here fail).
 */
int iommufd_hwpt_invalidate(struct iommufd_ucmd *ucmd)
{
	struct iommu_hwpt_invalidate *cmd = ucmd->cmd;
	struct iommu_user_data_array array = {
		.type = cmd->data_type,
		.uptr = (const void *)(uintptr_t)cmd->data_uptr,
		.entry_len = cmd->entry_len,
		.entry_num = cmd->entry_num,
	};
	uint32_t done = 0;
	int ret;

	if (cmd->__reserved) {
		ret = -EOPNOTSUPP;
	} else if (cmd->entry_num &&
		   (!cmd->data_uptr || !cmd->entry_len ||
		    cmd->entry_len > IOMMUFD_PAGE_SIZE ||
		    cmd->entry_num > IOMMUFD_HWPT_INVALIDATE_ENTRY_NUM_MAX)) {
		ret = -EINVAL;
	} else {
		ret = iommufd_hwpt_nested_invalidate(ucmd->ictx, cmd->hwpt_id,
						     &array);
		done = array.entry_num;
	}
	cmd->entry_num = done;
	if (iommufd_ucmd_respond(ucmd, sizeof(*cmd)))
		return -EFAULT;
	return ret;
}

struct iommufd_hwpt_paging *iommufd_get_hwpt_paging(struct iommufd_ctx *ictx,
						    uint32_t id)
{
	struct iommufd_object *obj =
		iommufd_get_object(ictx, id, IOMMUFD_OBJ_HWPT_PAGING);

	return obj ? container_of(obj, struct iommufd_hwpt_paging, common.obj)
		   : NULL;
}

/* IOMMU_HWPT_SET_DIRTY_TRACKING (6.12's checks and order). */
int iommufd_hwpt_set_dirty_tracking(struct iommufd_ucmd *ucmd)
{
	struct iommu_hwpt_set_dirty_tracking *cmd = ucmd->cmd;
	struct iommufd_hwpt_paging *hwpt;
	int ret;

	if (cmd->flags & ~IOMMU_HWPT_DIRTY_TRACKING_ENABLE)
		return -EOPNOTSUPP;
	hwpt = iommufd_get_hwpt_paging(ucmd->ictx, cmd->hwpt_id);
	if (!hwpt)
		return -ENOENT;
	ret = iopt_set_dirty_tracking(
		&hwpt->ioas->iopt, hwpt->common.domain, hwpt->dirty_ops,
		cmd->flags & IOMMU_HWPT_DIRTY_TRACKING_ENABLE);
	iommufd_put_object(ucmd->ictx, &hwpt->common.obj);
	return ret;
}

/* IOMMU_HWPT_GET_DIRTY_BITMAP (6.12's checks and order). */
int iommufd_hwpt_get_dirty_bitmap(struct iommufd_ucmd *ucmd)
{
	struct iommu_hwpt_get_dirty_bitmap *cmd = ucmd->cmd;
	struct iommufd_hwpt_paging *hwpt;
	int ret;

	if ((cmd->flags & ~IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR) ||
	    cmd->__reserved)
		return -EOPNOTSUPP;
	hwpt = iommufd_get_hwpt_paging(ucmd->ictx, cmd->hwpt_id);
	if (!hwpt)
		return -ENOENT;
	ret = iopt_read_and_clear_dirty_data(
		&hwpt->ioas->iopt, hwpt->common.domain, hwpt->dirty_ops,
		(cmd->flags & IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR)
			? IOMMU_DIRTY_NO_CLEAR
			: 0,
		cmd);
	iommufd_put_object(ucmd->ictx, &hwpt->common.obj);
	return ret;
}
