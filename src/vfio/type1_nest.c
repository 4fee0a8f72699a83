// SPDX-License-Identifier: MIT
/*
 * Nested translation in type1 containers opened as VFIO_TYPE1_NESTING_IOMMU:
 * moving a group onto a nested stage-1 domain over its vfio_domain's
 * stage-2 domain, and the register/unregister of nested L1 fault handlers
 * through the container that holds a device's group.
 *
 * Objects: a nested domain (vfio_iommu_group.nested) is allocated by
 * vfio_iommu_type1_set_nested_s1, replaces the group's previous nested
 * domain (freed), and is freed when the group is detached or the container
 * released (type1.c), always before its parent.  The device -> container
 * lookup walks vfio_iommu_all, the list of every open container (type1.c
 * adds at open and removes at release, through vfio_iommu_all_add/del).
 *
 * Locking: vfio_iommu_all_lock, then the container's lock; set_nested_s1
 * takes only the container's lock.
 */
#include <errno.h>
#include <string.h>

#include "vfio/type1_internal.h"

/* Every open container, so that a device can find its container (the
 * kernel's vfio_group_get_from_dev()). */
static struct mutex vfio_iommu_all_lock =
	MUTEX_INITIALIZER("vfio_iommu_all_lock", VFIO_LOCK_CONTAINER_LIST);
static LIST_HEAD(, vfio_iommu) vfio_iommu_all = LIST_HEAD_INITIALIZER();

void vfio_iommu_all_add(struct vfio_iommu *iommu)
{
	mutex_lock(&vfio_iommu_all_lock);
	LIST_INSERT_HEAD(&vfio_iommu_all, iommu, all_link);
	mutex_unlock(&vfio_iommu_all_lock);
}

void vfio_iommu_all_del(struct vfio_iommu *iommu)
{
	mutex_lock(&vfio_iommu_all_lock);
	LIST_REMOVE(iommu, all_link);
	mutex_unlock(&vfio_iommu_all_lock);
}

int vfio_iommu_type1_set_nested_s1(struct vfio_iommu *iommu,
				   struct iommu_group *group, uint64_t cd_table,
				   unsigned int cd_max)
{
	struct iommu_nested_s1 s1 = {.cd_table = cd_table, .cd_max = cd_max};
	struct iommu_domain *nd, *old;
	struct vfio_iommu_group *g;
	struct vfio_domain *d;
	struct device *dev;
	int ret;

	ret = vfio_group_dev(iommu, group, &dev);
	if (ret)
		return ret;
	if (!iommu->nesting) /* immutable */
		return -EOPNOTSUPP;
	mutex_lock(&iommu->lock);
	g = vfio_find_domain_group(iommu, group, &d);
	if (!g) {
		ret = -ENODEV;
		goto out_unlock;
	}
	ret = iommu_domain_alloc_nested_s1(dev, d->domain, &s1, &nd);
	if (ret)
		goto out_unlock;
	old = g->nested ? g->nested : d->domain;
	iommu_detach_group(old, group);
	ret = iommu_attach_group(nd, group);
	if (ret) {
		WARN_ON(iommu_attach_group(old, group));
		iommu_domain_free(nd);
		goto out_unlock;
	}
	if (g->nested)
		iommu_domain_free(g->nested);
	g->nested = nd;
	/* the host's handler now takes the stage-2 faults only */
	vfio_iopf_group_nested(iommu, group);
out_unlock:
	mutex_unlock(&iommu->lock);
	return ret;
}

/* Nested fault reporting's register/unregister through the group's container: the container
 * whose IOMMU-backed groups include dev's, locked; NULL if none. */
static struct vfio_iommu *vfio_iommu_lock_for_dev(struct device *dev)
{
	struct vfio_iommu *iommu;

	if (!dev->group)
		return NULL;
	LIST_FOREACH(iommu, &vfio_iommu_all, all_link) {
		mutex_lock(&iommu->lock);
		if (vfio_find_domain_group(iommu, dev->group, NULL))
			return iommu;
		mutex_unlock(&iommu->lock);
	}
	return NULL;
}

static int vfio_iommu_dev_fault_handler_op(struct device *dev, bool reg)
{
	struct vfio_iommu *iommu;
	int ret;

	if (!dev)
		return -EINVAL;
	mutex_lock(&vfio_iommu_all_lock);
	iommu = vfio_iommu_lock_for_dev(dev);
	if (!iommu) {
		ret = -ENODEV;
		goto out;
	}
	if (reg)
		ret = iommu->ops->register_handler
			      ? iommu->ops->register_handler(iommu, dev)
			      : -ENOTTY;
	else
		ret = iommu->ops->unregister_handler
			      ? iommu->ops->unregister_handler(iommu, dev)
			      : -ENOTTY;
	mutex_unlock(&iommu->lock);
out:
	mutex_unlock(&vfio_iommu_all_lock);
	return ret;
}

int vfio_iommu_dev_fault_handler_register_nested(struct device *dev)
{
	return vfio_iommu_dev_fault_handler_op(dev, true);
}

int vfio_iommu_dev_fault_handler_unregister_nested(struct device *dev)
{
	return vfio_iommu_dev_fault_handler_op(dev, false);
}
