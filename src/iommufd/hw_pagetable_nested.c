// SPDX-License-Identifier: MIT
/*
 * Nested HWPTs: IOMMU_HWPT_ALLOC with pt_id a paging HWPT and driver data,
 * and the driver's side of IOMMU_HWPT_INVALIDATE (Linux 6.12's
 * iommufd_hwpt_nested_alloc and iommufd_hwpt_invalidate are the model:
 * their checks in their order, their errno values).
 *
 * Objects and lifetimes: a struct iommufd_hwpt_nested holds a user of its
 * parent (a NEST_PARENT paging HWPT made by HWPT_ALLOC, never an auto
 * domain) from allocation to destroy, so IOMMU_DESTROY of the parent is
 * -EBUSY while a nested HWPT on it lives and the context's release
 * destroys the nested one first (its users drop to the table's once the
 * nested is gone).  Its domain is the driver's nested domain, freed with
 * the object, before the parent's user is dropped.  A device attached to
 * it holds a user of it (device.c), as for a paging HWPT.
 *
 * Drivers: the mock IOMMU (IOMMU_HWPT_DATA_SELFTEST, selftest.c) and the
 * SMMUv3 (UIOMMU_HWPT_DATA_ARM_SMMUV3, nested_smmu.c);
 * a device of any other IOMMU -EOPNOTSUPP.  The driver checks the data
 * type first (-EOPNOTSUPP), then the flags, then copies the data.
 *
 * Locking: none of its own; the object table's (ictx->lock) for users.
 */
#include <errno.h>
#include <string.h>

#include "iommufd/iommufd_private.h"
#include "lib/internal.h"
#include "lib/uaccess.h"

int iommu_copy_struct_from_user(void *dst, size_t dst_size, size_t min_size,
				const struct iommu_user_data *src,
				uint32_t type)
{
	/* Debian's 6.12: longer than the driver's struct is -EINVAL too */
	if (src->type != type || src->len < min_size || src->len > dst_size)
		return -EINVAL;
	return copy_struct_from_user(dst, dst_size, src->uptr, src->len);
}

int iommu_copy_struct_from_user_array(void *dst, size_t dst_size,
				      size_t min_size,
				      const struct iommu_user_data_array *src,
				      uint32_t type, uint32_t index)
{
	if (index >= src->entry_num)
		return -EINVAL;
	if (src->type != type || src->entry_len < min_size ||
	    src->entry_len > dst_size)
		return -EINVAL;
	return copy_struct_from_user(dst, dst_size,
				     (const char *)src->uptr +
					     (size_t)index * src->entry_len,
				     src->entry_len);
}

/* The nested domain of the device's IOMMU driver. */
static int hwpt_nested_domain_alloc(struct iommufd_device *idev,
				    struct iommu_domain *parent, uint32_t flags,
				    const struct iommu_user_data *user_data,
				    struct iommu_domain **out,
				    const struct iommufd_nested_ops **ops)
{
	if (iommufd_selftest_is_mock_dev(idev->dev))
		return iommufd_selftest_nested_alloc(idev->dev, parent, flags,
						     user_data, out, ops);
	if (iommufd_smmu_is_dev(idev->dev))
		return iommufd_smmu_nested_alloc(idev->dev, parent, flags,
						 user_data, out, ops);
	return -EOPNOTSUPP;
}

int iommufd_hwpt_nested_alloc(struct iommufd_ctx *ictx,
			      struct iommufd_hwpt_paging *parent,
			      struct iommufd_device *idev, uint32_t flags,
			      const struct iommu_user_data *user_data,
			      struct iommufd_hwpt_nested **out)
{
	struct iommufd_hwpt_nested *hwpt;
	int ret;

	if ((flags & ~IOMMU_HWPT_FAULT_ID_VALID) || !user_data->len)
		return -EOPNOTSUPP;
	/* 6.12's domain owner: the parent's driver is the device's */
	if (parent->auto_domain || !parent->nest_parent ||
	    parent->common.domain->ops != idev->dev->iommu->ops)
		return -EINVAL;
	hwpt = ui_zalloc(sizeof(*hwpt));
	if (!hwpt)
		return -ENOMEM;
	ret = iommufd_object_alloc(ictx, &hwpt->common.obj,
				   IOMMUFD_OBJ_HWPT_NESTED);
	if (ret) {
		ui_free(hwpt);
		return ret;
	}
	hwpt->common.ictx = ictx;
	iommufd_object_get_user(ictx, &parent->common.obj);
	hwpt->parent = parent;
	ret = hwpt_nested_domain_alloc(idev, parent->common.domain,
				       flags & ~IOMMU_HWPT_FAULT_ID_VALID,
				       user_data, &hwpt->common.domain,
				       &hwpt->ops);
	if (ret) {
		hwpt->common.domain = NULL;
		iommufd_object_abort_and_destroy(ictx, &hwpt->common.obj);
		return ret;
	}
	*out = hwpt;
	return 0;
}

void iommufd_hwpt_nested_destroy(struct iommufd_object *obj)
{
	struct iommufd_hwpt_nested *hwpt =
		container_of(obj, struct iommufd_hwpt_nested, common.obj);

	WARN_ON(hwpt->common.attached);
	if (hwpt->common.domain)
		iommu_domain_free(hwpt->common.domain);
	if (hwpt->common.fault)
		iommufd_fault_put_hwpt(hwpt->common.ictx, hwpt->common.fault);
	iommufd_put_object(hwpt->common.ictx, &hwpt->parent->common.obj);
}

int iommufd_hwpt_nested_invalidate(struct iommufd_ctx *ictx, uint32_t id,
				   struct iommu_user_data_array *array)
{
	struct iommufd_object *obj =
		iommufd_get_object(ictx, id, IOMMUFD_OBJ_HWPT_NESTED);
	struct iommufd_hwpt_nested *hwpt;
	int ret;

	if (!obj) {
		array->entry_num = 0;
		return -ENOENT;
	}
	hwpt = container_of(obj, struct iommufd_hwpt_nested, common.obj);
	ret = hwpt->ops->cache_invalidate_user(hwpt->common.domain, array);
	iommufd_put_object(ictx, obj);
	return ret;
}
