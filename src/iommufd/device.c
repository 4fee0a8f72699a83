// SPDX-License-Identifier: MIT
/*
 * Devices bound to an iommufd context and their attachment to paging
 * HWPTs (Linux 6.12's drivers/iommu/iommufd/device.c and
 * hw_pagetable.c are the model), on the IOMMU core (src/iommu).
 *
 * Objects and lifetimes:
 *  - struct iommufd_group: the DMA ownership of one IOMMU group by one
 *    context, process-wide (the kernel keeps it in the group as its DMA
 *    owner): made by the first bind of one of its devices, gone with the
 *    last unbind.  A group owned by another context, or attached to a
 *    domain some other way (the DMA API, a type1 container), cannot be
 *    bound (-EBUSY).  It is attached to at most one HWPT at a time.
 *  - struct iommufd_device: an object (IOMMUFD_OBJ_DEVICE) whose driver
 *    (vfio's cdev) holds a user, so IOMMU_DESTROY of it is -EBUSY; it
 *    holds a reference on its context.  iommufd_device_unbind detaches
 *    and destroys it.
 *  - struct iommufd_hwpt_paging: a paging domain over an IOAS (the HWPT
 *    holds a user of its IOAS, and the domain is one of the IOAS's, filled
 *    with its areas).  An attached device holds a user of it.  One made
 *    by an attach to an IOAS (auto_domain) goes when its last device
 *    detaches; attaching to an IOAS first tries its auto domains of the
 *    device's IOMMU (-EINVAL from the core: try the next), then makes one.
 *
 * Locking: iommufd_owners.lock, then igroup->lock (attach, detach,
 * replace), then ioas->mutex (its HWPT list), then the iopt's lock (in
 * io_pagetable.c), then ictx->lock; the IOMMU core's locks after all.
 *
 * Deviations from 6.12: no MSI checks (every emulated platform isolates
 * MSIs), no PASID attach; replace is a detach and an attach (a blocked
 * window between, the old HWPT back if the attach fails) and needs the
 * device to be the only one of its group attached (-EBUSY otherwise).
 */
#include <errno.h>
#include <stdatomic.h>

#include "iommufd/iommufd_private.h"
#include "lib/internal.h"

static struct {
	struct mutex lock;
	LIST_HEAD(, iommufd_group) groups;
} iommufd_owners = {
	.lock = MUTEX_INITIALIZER("iommufd_owners.lock", IOMMUFD_LOCK_OWNERS),
};

/* ---- group ownership -------------------------------------------------------- */

static int iommufd_group_claim(struct iommufd_ctx *ictx, struct device *dev,
			       struct iommufd_group **out)
{
	struct iommu_group *group = iommu_group_get(dev);
	struct iommufd_group *igroup;
	int ret = 0;

	if (!group)
		return -ENODEV;
	mutex_lock(&iommufd_owners.lock);
	LIST_FOREACH(igroup, &iommufd_owners.groups, next)
		if (igroup->group == group)
			break;
	if (igroup) {
		if (igroup->ictx != ictx) {
			ret = -EBUSY;
			goto out;
		}
	} else {
		/* in use for DMA another way: the group is not ours */
		if (iommu_get_domain_for_dev(dev)) {
			ret = -EBUSY;
			goto out;
		}
		igroup = ui_zalloc(sizeof(*igroup));
		if (!igroup) {
			ret = -ENOMEM;
			goto out;
		}
		igroup->group = group;
		igroup->ictx = ictx;
		mutex_init(&igroup->lock, IOMMUFD_LOCK_GROUP);
		LIST_INSERT_HEAD(&iommufd_owners.groups, igroup, next);
	}
	igroup->bound++;
	*out = igroup;
out:
	mutex_unlock(&iommufd_owners.lock);
	return ret;
}

static void iommufd_group_release(struct iommufd_group *igroup)
{
	mutex_lock(&iommufd_owners.lock);
	if (!--igroup->bound) {
		WARN_ON(igroup->hwpt);
		LIST_REMOVE(igroup, next);
		mutex_destroy(&igroup->lock);
		ui_free(igroup);
	}
	mutex_unlock(&iommufd_owners.lock);
}

/* ---- bind ------------------------------------------------------------------------ */

int iommufd_device_bind(struct iommufd_ctx *ictx, struct device *dev,
			uint32_t *id, struct iommufd_device **out)
{
	struct iommufd_group *igroup;
	struct iommufd_device *idev;
	int ret;

	if (!ictx || !dev)
		return -EINVAL;
	if (!device_iommu_capable(dev, IOMMU_CAP_CACHE_COHERENCY))
		return -EINVAL;
	ret = iommufd_group_claim(ictx, dev, &igroup);
	if (ret)
		return ret;
	idev = ui_zalloc(sizeof(*idev));
	if (!idev) {
		ret = -ENOMEM;
		goto err_group;
	}
	ret = iommufd_object_alloc(ictx, &idev->obj, IOMMUFD_OBJ_DEVICE);
	if (ret) {
		ui_free(idev);
		goto err_group;
	}
	idev->ictx = ictx;
	idev->dev = dev;
	idev->igroup = igroup;
	if (!iommufd_selftest_is_mock_dev(dev))
		iommufd_ctx_get(ictx); /* a mock's holds none (6.12's rule) */
	idev->obj.users++; /* the driver's: users cannot destroy it */
	iommufd_object_finalize(ictx, &idev->obj);
	*id = idev->obj.id;
	*out = idev;
	return 0;
err_group:
	iommufd_group_release(igroup);
	return ret;
}

void iommufd_device_destroy(struct iommufd_object *obj)
{
	struct iommufd_device *idev =
		container_of(obj, struct iommufd_device, obj);

	WARN_ON(idev->hwpt);
	iommufd_group_release(idev->igroup);
	if (!iommufd_selftest_is_mock_dev(idev->dev))
		iommufd_ctx_put(idev->ictx);
}

void iommufd_device_unbind(struct iommufd_device *idev)
{
	iommufd_device_detach(idev);
	WARN_ON(iommufd_object_remove_user(idev->ictx, &idev->obj));
}

struct iommufd_ctx *iommufd_device_to_ictx(struct iommufd_device *idev)
{
	return idev->ictx;
}

uint32_t iommufd_device_to_id(struct iommufd_device *idev)
{
	return idev->obj.id;
}

/* ---- paging HWPTs ------------------------------------------------------------------ */

int iommufd_hwpt_paging_alloc(struct iommufd_ctx *ictx,
			      struct iommufd_ioas *ioas,
			      struct iommufd_device *idev, uint32_t flags,
			      bool auto_domain,
			      struct iommufd_hwpt_paging **out)
{
	const uint32_t valid_flags = IOMMU_HWPT_ALLOC_NEST_PARENT |
				     IOMMU_HWPT_ALLOC_DIRTY_TRACKING;
	const struct iommufd_dirty_ops *dirty_ops = NULL;
	struct iommufd_hwpt_paging *hwpt;
	int ret;

	lockdep_assert_held(&ioas->mutex);
	if (flags & ~valid_flags)
		return -EOPNOTSUPP;
	/* only the mock reports IOMMU_CAP_DIRTY_TRACKING (not the SMMUv3) */
	if (flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING) {
		dirty_ops = iommufd_selftest_dirty_ops(idev->dev);
		if (!dirty_ops)
			return -EOPNOTSUPP;
	}
	hwpt = ui_zalloc(sizeof(*hwpt));
	if (!hwpt)
		return -ENOMEM;
	ret = iommufd_object_alloc(ictx, &hwpt->obj, IOMMUFD_OBJ_HWPT_PAGING);
	if (ret) {
		ui_free(hwpt);
		return ret;
	}
	hwpt->ictx = ictx;
	hwpt->auto_domain = auto_domain;
	hwpt->ioas = ioas;
	iommufd_object_get_user(ictx, &ioas->obj);
	hwpt->nest_parent = flags & IOMMU_HWPT_ALLOC_NEST_PARENT;
	hwpt->dirty_ops = dirty_ops;
	if (hwpt->nest_parent) {
		ret = iommu_domain_alloc_nest_parent(idev->dev, &hwpt->domain);
		if (ret) {
			hwpt->domain = NULL;
			goto err;
		}
	} else {
		hwpt->domain = iommu_domain_alloc(idev->dev);
		if (!hwpt->domain) {
			ret = -ENOMEM;
			goto err;
		}
	}
	iommufd_selftest_domain_init(idev->dev, hwpt->domain, dirty_ops);
	ret = iopt_table_add_domain(&ioas->iopt, hwpt->domain);
	if (ret) {
		iommu_domain_free(hwpt->domain);
		hwpt->domain = NULL;
		goto err;
	}
	LIST_INSERT_HEAD(&ioas->hwpt_list, hwpt, hwpt_item);
	hwpt->on_list = true;
	*out = hwpt;
	return 0;
err:
	iommufd_object_abort_and_destroy(ictx, &hwpt->obj);
	return ret;
}

void iommufd_hwpt_paging_destroy(struct iommufd_object *obj)
{
	struct iommufd_hwpt_paging *hwpt =
		container_of(obj, struct iommufd_hwpt_paging, obj);
	struct iommufd_ioas *ioas = hwpt->ioas;

	WARN_ON(hwpt->attached);
	if (hwpt->domain) {
		if (hwpt->on_list) {
			mutex_lock(&ioas->mutex);
			LIST_REMOVE(hwpt, hwpt_item);
			mutex_unlock(&ioas->mutex);
		}
		iopt_table_remove_domain(&ioas->iopt, hwpt->domain);
		iommu_domain_free(hwpt->domain);
	}
	iommufd_put_object(hwpt->ictx, &ioas->obj);
}

/* Drop the user an attach held: an auto domain goes with its last. */
static void iommufd_hwpt_put(struct iommufd_hwpt_paging *hwpt)
{
	if (hwpt->auto_domain)
		iommufd_object_remove_user(hwpt->ictx, &hwpt->obj);
	else
		iommufd_put_object(hwpt->ictx, &hwpt->obj);
}

/* ---- attach and detach ------------------------------------------------------------- */

static int iommufd_device_do_attach(struct iommufd_device *idev,
				    struct iommufd_hwpt_paging *hwpt)
{
	struct iommufd_group *igroup = idev->igroup;
	int ret;

	lockdep_assert_held(&igroup->lock);
	if (igroup->hwpt && igroup->hwpt != hwpt)
		return -EINVAL;
	if (hwpt->domain->iommu != idev->dev->iommu)
		return -EINVAL; /* another IOMMU's domain */
	ret = iopt_table_enforce_dev_resv_regions(&hwpt->ioas->iopt, idev->dev);
	if (ret)
		return ret;
	if (!igroup->hwpt) {
		ret = iommu_attach_group(hwpt->domain, igroup->group);
		if (ret) {
			iopt_remove_reserved_iova(&hwpt->ioas->iopt, idev->dev);
			return ret;
		}
		igroup->hwpt = hwpt;
	}
	igroup->attached++;
	hwpt->attached++;
	idev->hwpt = hwpt;
	iommufd_object_get_user(idev->ictx, &hwpt->obj);
	return 0;
}

/* An auto domain of ioas for idev: an existing one, else a new one. */
static int iommufd_device_auto_get_domain(struct iommufd_device *idev,
					  struct iommufd_ioas *ioas,
					  uint32_t *pt_id)
{
	struct iommufd_hwpt_paging *hwpt;
	int ret;

	lockdep_assert_held(&idev->igroup->lock);
	mutex_lock(&ioas->mutex);
	LIST_FOREACH(hwpt, &ioas->hwpt_list, hwpt_item) {
		if (!hwpt->auto_domain)
			continue;
		ret = iommufd_device_do_attach(idev, hwpt);
		if (ret == -EINVAL)
			continue; /* not compatible: try the next */
		if (!ret)
			*pt_id = hwpt->obj.id;
		goto out;
	}
	ret = iommufd_hwpt_paging_alloc(idev->ictx, ioas, idev, 0, true, &hwpt);
	if (ret)
		goto out;
	ret = iommufd_device_do_attach(idev, hwpt);
	if (ret) {
		LIST_REMOVE(hwpt, hwpt_item); /* we hold ioas->mutex */
		hwpt->on_list = false;
		iommufd_object_abort_and_destroy(idev->ictx, &hwpt->obj);
		goto out;
	}
	*pt_id = hwpt->obj.id;
	iommufd_object_finalize(idev->ictx, &hwpt->obj);
out:
	mutex_unlock(&ioas->mutex);
	return ret;
}

static int iommufd_device_attach_locked(struct iommufd_device *idev,
					uint32_t *pt_id)
{
	struct iommufd_object *obj;
	int ret;

	lockdep_assert_held(&idev->igroup->lock);
	obj = iommufd_get_object(idev->ictx, *pt_id, IOMMUFD_OBJ_ANY);
	if (!obj)
		return -ENOENT;
	switch (obj->type) {
	case IOMMUFD_OBJ_HWPT_PAGING: {
		struct iommufd_hwpt_paging *hwpt =
			container_of(obj, struct iommufd_hwpt_paging, obj);

		ret = iommufd_device_do_attach(idev, hwpt);
		break;
	}
	case IOMMUFD_OBJ_IOAS:
		ret = iommufd_device_auto_get_domain(
			idev, container_of(obj, struct iommufd_ioas, obj),
			pt_id);
		break;
	default:
		ret = -EINVAL;
		break;
	}
	iommufd_put_object(idev->ictx, obj);
	return ret;
}

int iommufd_device_attach(struct iommufd_device *idev, uint32_t *pt_id)
{
	int ret;

	mutex_lock(&idev->igroup->lock);
	ret = idev->hwpt ? -EINVAL : iommufd_device_attach_locked(idev, pt_id);
	mutex_unlock(&idev->igroup->lock);
	return ret;
}

/* Detach; the HWPT's attach user stays with the caller. */
static struct iommufd_hwpt_paging *
iommufd_device_do_detach(struct iommufd_device *idev)
{
	struct iommufd_group *igroup = idev->igroup;
	struct iommufd_hwpt_paging *hwpt = idev->hwpt;

	lockdep_assert_held(&igroup->lock);
	if (!--igroup->attached) {
		iommu_detach_group(hwpt->domain, igroup->group);
		igroup->hwpt = NULL;
	}
	iopt_remove_reserved_iova(&hwpt->ioas->iopt, idev->dev);
	hwpt->attached--;
	idev->hwpt = NULL;
	return hwpt;
}

void iommufd_device_detach(struct iommufd_device *idev)
{
	mutex_lock(&idev->igroup->lock);
	if (idev->hwpt)
		iommufd_hwpt_put(iommufd_device_do_detach(idev));
	mutex_unlock(&idev->igroup->lock);
}

int iommufd_device_replace(struct iommufd_device *idev, uint32_t *pt_id)
{
	struct iommufd_group *igroup = idev->igroup;
	struct iommufd_hwpt_paging *old;
	struct iommufd_object *obj;
	int ret;

	mutex_lock(&igroup->lock);
	old = idev->hwpt;
	if (!old) {
		ret = -EINVAL;
		goto out;
	}
	obj = iommufd_get_object(idev->ictx, *pt_id, IOMMUFD_OBJ_ANY);
	if (!obj) {
		ret = -ENOENT;
		goto out;
	}
	if (obj == &old->obj ||
	    (obj->type == IOMMUFD_OBJ_IOAS &&
	     container_of(obj, struct iommufd_ioas, obj) == old->ioas &&
	     old->auto_domain)) {
		/* already there */
		*pt_id = old->obj.id;
		iommufd_put_object(idev->ictx, obj);
		ret = 0;
		goto out;
	}
	iommufd_put_object(idev->ictx, obj);
	if (igroup->attached != 1) {
		ret = -EBUSY;
		goto out;
	}
	/* the attach's user keeps old while we move */
	iommufd_device_do_detach(idev);
	ret = iommufd_device_attach_locked(idev, pt_id);
	if (ret)
		WARN_ON(iommufd_device_do_attach(idev, old));
	iommufd_hwpt_put(old);
out:
	mutex_unlock(&igroup->lock);
	return ret;
}
