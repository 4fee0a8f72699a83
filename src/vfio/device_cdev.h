/* SPDX-License-Identifier: MIT */
/*
 * Between the VFIO core's fd front (vfio_main.c) and the device cdev
 * (device_cdev.c): private to src/vfio/.
 *
 * Every registered device has an index (the kernel's device ida) that
 * names its cdev, /dev/vfio/devices/vfio<index>.  A file opened there is a
 * device file with a struct vfio_device_file of its own: unusable until
 * VFIO_DEVICE_BIND_IOMMUFD bound the device to an iommufd context.  A
 * device file opened through its group (VFIO_GROUP_GET_DEVICE_FD) has none.
 *
 * Locking: vfio.lock (vfio_core_lock()) guards the index map, every
 * device's open_count and binding, and each group's cdev_device_open_cnt,
 * as the kernel's dev_set->lock and group_lock do.
 */
#ifndef UIOMMU_VFIO_DEVICE_CDEV_H
#define UIOMMU_VFIO_DEVICE_CDEV_H

#include <stdbool.h>

#include "vfio/vfio_device.h"

#ifndef ENOIOCTLCMD
#define ENOIOCTLCMD 515 /* the kernel's "not mine", never returned */
#endif

struct vfio_device_file;

/* ---- vfio_main.c, for device_cdev.c ---- */

/* vfio.lock, the one lock of the core's files, groups and devices. */
struct mutex *vfio_core_lock(void);
/*
 * vfio_device_block_group: a device bound through its cdev keeps its
 * group from being opened (-EBUSY while the group's file is open, which a
 * device file of the group path keeps open); unblock undoes it.  Both
 * with vfio.lock held.
 */
int vfio_device_block_group(struct vfio_device *vdev);
void vfio_device_unblock_group(struct vfio_device *vdev);

/* ---- device_cdev.c, for vfio_main.c ---- */

/* The cdev's index: the lowest free one (ida_alloc_max(MINORMASK)), or
 * -ENOSPC; freed with the device's registration.  vfio.lock held. */
int vfio_device_index_alloc(void);
void vfio_device_index_free(int index);
/* The state of a new cdev file of vdev (vfio_device_fops_cdev_open):
 * NULL for want of memory. */
struct vfio_device_file *vfio_cdev_file_alloc(struct vfio_device *vdev);
/* Whether the file may reach the device (BIND_IOMMUFD succeeded). */
bool vfio_cdev_access_granted(struct vfio_device_file *df);
/*
 * The device-file ioctls the cdev answers, for every device file (df
 * NULL: a device file of the group path): BIND_IOMMUFD (the group path's
 * gets -EINVAL once its argument was read), anything on an unbound cdev
 * file (-EINVAL), ATTACH/DETACH_IOMMUFD_PT on a bound one.  -ENOIOCTLCMD
 * for the rest, which go to the device (device_ioctl).
 */
long vfio_cdev_ioctl(struct vfio_device_file *df, unsigned int cmd,
		     unsigned long arg);
/* The cdev file's release (vfio_device_fops_release): the device is
 * unbound (closed, detached, its iommufd context put) if the file bound
 * it, and df freed.  vfio.lock held. */
void vfio_cdev_release(struct vfio_device_file *df);

#endif /* UIOMMU_VFIO_DEVICE_CDEV_H */
