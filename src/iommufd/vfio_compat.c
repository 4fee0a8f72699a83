// SPDX-License-Identifier: MIT
/*
 * The IOAS that VFIO's compat container uses (IOMMU_VFIO_IOAS; Linux
 * 6.12's drivers/iommu/iommufd/vfio_compat.c is the model).  The
 * container itself (/dev/vfio/vfio served by iommufd) comes later; this is
 * the designation it will map through.
 *
 * ictx->vfio_ioas is a plain pointer, not a user of the IOAS: the IOAS
 * can be destroyed while designated, and its removal from the id table
 * clears the designation (iommufd_object_unlink), as 6.12's
 * iommufd_object_remove does.  ictx->lock guards it.
 */
#include <errno.h>

#include "iommufd/iommufd_private.h"
#include "lib/internal.h"

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
