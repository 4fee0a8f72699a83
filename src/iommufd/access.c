// SPDX-License-Identifier: MIT
/*
 * iommufd_access: an in-kernel user of an IOAS that reads and writes
 * through its IOVAs or pins its pages by IOVA, without a domain (Linux
 * 6.12's iommufd_access_* of drivers/iommu/iommufd/device.c is the model
 * for the checks and their errnos).  Here IOMMU_TEST_CMD's access objects
 * (selftest.c) are its users.
 *
 * Objects and lifetimes: an access is an object of its context
 * (IOMMUFD_OBJ_ACCESS, with an id) that holds a reference on the context
 * and, once attached, a user of its IOAS (so the IOAS cannot be destroyed
 * under it: -EBUSY).  Its driver holds one more user, so IOMMU_DESTROY of
 * its id is -EBUSY; iommufd_access_destroy drops it, detaching.
 *
 * Pins: the pages behind an IOAS are pinned from IOAS_MAP on (iopt_pages),
 * so an access pin takes no page reference: it counts itself on each area
 * it covers (area->num_accesses), and an unmap of such an area first calls
 * every attached access's ops->unmap (which must unpin), then retries
 * (io_pagetable.c).  The pages returned stay the area's until then.
 *
 * Locking: iopt->access_lock (the IOAS's access list) is taken before the
 * access user's own lock, which is taken before iopt->lock.  access->ioas
 * is the user's to serialize (selftest.c: its lock for pins and copies);
 * iommufd_access_replace calls ops->unmap, so the user calls it without
 * its lock (6.12's access->ioas_lock is not modelled: a replace must not
 * race the user's other calls on the same access).
 */
#include <errno.h>
#include <limits.h>

#include "iommufd/iommufd_private.h"
#include "lib/internal.h"

int iommufd_access_create(struct iommufd_ctx *ictx,
			  const struct iommufd_access_ops *ops, void *data,
			  uint32_t *id, struct iommufd_access **out)
{
	struct iommufd_access *access;
	int ret;

	if (!ops || !ops->unmap)
		return -EINVAL;
	access = ui_zalloc(sizeof(*access));
	if (!access)
		return -ENOMEM;
	ret = iommufd_object_alloc(ictx, &access->obj, IOMMUFD_OBJ_ACCESS);
	if (ret) {
		ui_free(access);
		return ret;
	}
	access->ictx = ictx;
	access->ops = ops;
	access->data = data;
	iommufd_ctx_get(ictx);
	access->obj.users++; /* the driver's, until iommufd_access_destroy */
	iommufd_object_finalize(ictx, &access->obj);
	*id = access->obj.id;
	*out = access;
	return 0;
}

int iommufd_access_attach(struct iommufd_access *access, uint32_t ioas_id)
{
	struct iommufd_ioas *ioas;

	if (access->ioas)
		return -EINVAL;
	ioas = iommufd_get_ioas(access->ictx, ioas_id);
	if (!ioas)
		return -ENOENT;
	/* the look-up's user stays: the access's on the IOAS */
	mutex_lock(&ioas->iopt.access_lock);
	LIST_INSERT_HEAD(&ioas->iopt.accesses, access, next);
	access->ioas = ioas;
	mutex_unlock(&ioas->iopt.access_lock);
	return 0;
}

static void iommufd_access_detach(struct iommufd_access *access)
{
	struct iommufd_ioas *ioas = access->ioas;

	if (!ioas)
		return;
	mutex_lock(&ioas->iopt.access_lock);
	LIST_REMOVE(access, next);
	access->ioas = NULL;
	mutex_unlock(&ioas->iopt.access_lock);
	iommufd_put_object(access->ictx, &ioas->obj);
}

int iommufd_access_replace(struct iommufd_access *access, uint32_t ioas_id)
{
	struct iommufd_ioas *ioas;

	if (!access->ioas)
		return -ENOENT;
	ioas = iommufd_get_ioas(access->ictx, ioas_id);
	if (!ioas)
		return -ENOENT;
	if (ioas == access->ioas) {
		iommufd_put_object(access->ictx, &ioas->obj);
		return 0;
	}
	/* its pins of the old IOAS go first (6.12: unmap of everything) */
	access->ops->unmap(access->data, 0, ULONG_MAX);
	iommufd_access_detach(access);
	/* the look-up's user stays: the access's on the new IOAS */
	mutex_lock(&ioas->iopt.access_lock);
	LIST_INSERT_HEAD(&ioas->iopt.accesses, access, next);
	access->ioas = ioas;
	mutex_unlock(&ioas->iopt.access_lock);
	return 0;
}

void iommufd_access_destroy_object(struct iommufd_object *obj)
{
	struct iommufd_access *access =
		container_of(obj, struct iommufd_access, obj);

	iommufd_access_detach(access);
	iommufd_ctx_put(access->ictx);
}

void iommufd_access_destroy(struct iommufd_access *access)
{
	WARN_ON(iommufd_object_remove_user(access->ictx, &access->obj));
}

int iommufd_access_pin_pages(struct iommufd_access *access, unsigned long iova,
			     unsigned long length, phys_addr_t *out_pa,
			     unsigned int flags)
{
	unsigned long last;

	if (WARN_ON(!access->ops->needs_pin_pages))
		return -EINVAL;
	if (!length)
		return -EINVAL;
	if (check_add_overflow(iova, length - 1, &last))
		return -EOVERFLOW;
	if (!access->ioas)
		return -ENOENT;
	return iopt_access_pin(&access->ioas->iopt, iova, last, out_pa,
			       flags & IOMMUFD_ACCESS_RW_WRITE);
}

void iommufd_access_unpin_pages(struct iommufd_access *access,
				unsigned long iova, unsigned long length)
{
	unsigned long last;

	if (WARN_ON(!length) ||
	    WARN_ON(check_add_overflow(iova, length - 1, &last)))
		return;
	if (WARN_ON(!access->ioas))
		return;
	iopt_access_unpin(&access->ioas->iopt, iova, last);
}

int iommufd_access_rw(struct iommufd_access *access, unsigned long iova,
		      void *data, size_t length, unsigned int flags)
{
	unsigned long last;

	if (!length)
		return -EINVAL;
	if (check_add_overflow(iova, length - 1, &last))
		return -EOVERFLOW;
	if (!access->ioas)
		return -ENOENT;
	return iopt_access_rw(&access->ioas->iopt, iova, last, data,
			      flags & IOMMUFD_ACCESS_RW_WRITE);
}
