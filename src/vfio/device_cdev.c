// SPDX-License-Identifier: MIT
/*
 * VFIO's device cdev: /dev/vfio/devices/vfio<index>, one per registered
 * device (Linux 6.12's drivers/vfio/device_cdev.c is the model; its
 * semantics, errno values and order of checks).
 *
 * Objects and lifetimes:
 *  - The index: every registered device holds one (the kernel's device
 *    ida, allocated lowest first up to MINORMASK), from its registration
 *    to its unregistration; it names the cdev and the device's
 *    vfio-dev/vfio<index> directory in the sysfs view.
 *  - struct vfio_device_file: the state of one file opened on the cdev,
 *    made at open and freed at its release (vfio_main.c's file holds it).
 *    The file keeps the device registered (vfio_unregister_group_dev is
 *    -EBUSY while a cdev file is open, where the kernel waits).
 *
 * Invariants: a cdev file gives access to the device (access_granted)
 * only once VFIO_DEVICE_BIND_IOMMUFD opened the device through it; until
 * then every ioctl but BIND_IOMMUFD, read, write and mmap are -EINVAL.
 *
 * Locking: vfio.lock (vfio_core_lock()) guards the index map and a file's
 * binding; access_granted is set last, with release order, and read with
 * acquire order without the lock, as the kernel's smp_store_release /
 * smp_load_acquire pair.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "iommufd/iommufd.h"
#include "vfio/device_cdev.h"
#include "vfio/vfio_uapi_cdev.h"

#include "lib/internal.h"
#include "lib/lock.h"
#include "lib/uaccess.h"

/* the minor numbers of the vfio-dev region: MINORMASK + 1 */
#define VFIO_DEVICE_INDEX_MAX ((1u << 20) - 1)

struct vfio_device_file {
	struct vfio_device *device;  /* immutable */
	struct iommufd_ctx *iommufd; /* vfio.lock: the bound context */
	uint32_t devid;		     /* vfio.lock: its device object */
	_Atomic bool access_granted;
};

/* ---- the device index (the kernel's vfio.device_ida) ---------------------- */

static uint64_t index_map[(VFIO_DEVICE_INDEX_MAX + 1) / 64]; /* vfio.lock */

int vfio_device_index_alloc(void)
{
	lockdep_assert_held(vfio_core_lock());

	for (unsigned int w = 0; w < ARRAY_SIZE(index_map); w++) {
		unsigned int bit;

		if (index_map[w] == UINT64_MAX)
			continue;
		bit = (unsigned int)__builtin_ctzll(~index_map[w]);
		index_map[w] |= 1ULL << bit;
		return (int)(w * 64 + bit);
	}
	return -ENOSPC;
}

void vfio_device_index_free(int index)
{
	lockdep_assert_held(vfio_core_lock());

	if (WARN_ON(index < 0 || (unsigned int)index > VFIO_DEVICE_INDEX_MAX))
		return;
	index_map[index / 64] &= ~(1ULL << (index % 64));
}

int vfio_cdev_parse_name(const char *name)
{
	unsigned long n = 0;
	const char *p;

	if (strncmp(name, "vfio", 4))
		return -ENOENT;
	p = name + 4;
	/* dev_set_name("vfio%d"): decimal, "0" or no leading zero */
	if (!*p || (p[0] == '0' && p[1]))
		return -ENOENT;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return -ENOENT;
		n = n * 10 + (unsigned long)(*p - '0');
		if (n > VFIO_DEVICE_INDEX_MAX)
			return -ENOENT;
	}
	return (int)n;
}

/* ---- the cdev's files ----------------------------------------------------- */

struct vfio_device_file *vfio_cdev_file_alloc(struct vfio_device *vdev)
{
	struct vfio_device_file *df = ui_zalloc(sizeof(*df));

	if (df)
		df->device = vdev;
	return df;
}

bool vfio_cdev_access_granted(struct vfio_device_file *df)
{
	return atomic_load_explicit(&df->access_granted, memory_order_acquire);
}

/*
 * vfio_df_ioctl_bind_iommufd's checks of its argument: the first minsz
 * bytes (-EFAULT), then argsz, flags (none is defined in 6.12) and a
 * negative fd (-EINVAL).
 */
static int bind_copy(struct vfio_device_bind_iommufd *bind, unsigned long arg)
{
	size_t minsz = offsetofend(struct vfio_device_bind_iommufd, out_devid);

	if (copy_from_user(bind, (const void *)arg, minsz))
		return -EFAULT;
	if (bind->argsz < minsz || bind->flags || bind->iommufd < 0)
		return -EINVAL;
	return 0;
}

/* vfio_iommufd_physical_unbind: detached first if attached. */
static void physical_unbind(struct vfio_device *vdev)
{
	lockdep_assert_held(vfio_core_lock());

	if (vdev->iommufd_attached) {
		iommufd_device_detach(vdev->iommufd_device);
		vdev->iommufd_attached = false;
	}
	iommufd_device_unbind(vdev->iommufd_device);
	vdev->iommufd_device = NULL;
}

/*
 * vfio_df_open for a cdev file: the device's only open (-EINVAL when it is
 * open already, through its group or another cdev file), binding it to
 * df's context (vfio_iommufd_physical_bind), then the driver's
 * open_device.
 */
static int df_open(struct vfio_device_file *df)
{
	struct vfio_device *vdev = df->device;
	struct iommufd_device *idev;
	int ret;

	lockdep_assert_held(vfio_core_lock());

	if (vdev->open_count)
		return -EINVAL;
	ret = iommufd_device_bind(df->iommufd, vdev->dev, &df->devid, &idev);
	if (ret)
		return ret;
	vdev->iommufd_device = idev;
	if (vdev->ops->open_device) {
		ret = vdev->ops->open_device(vdev);
		if (ret) {
			physical_unbind(vdev);
			return ret;
		}
	}
	vdev->open_count = 1;
	return 0;
}

/* vfio_df_close: the driver's close_device, then the unbind. */
static void df_close(struct vfio_device_file *df)
{
	struct vfio_device *vdev = df->device;

	lockdep_assert_held(vfio_core_lock());

	if (WARN_ON(vdev->open_count != 1))
		return;
	if (vdev->ops->close_device)
		vdev->ops->close_device(vdev);
	physical_unbind(vdev);
	vdev->open_count = 0;
}

/*
 * vfio_df_ioctl_bind_iommufd: the argument, then the group blocked
 * (-EBUSY while it is open), a file bound already (-EINVAL), the iommufd
 * (-EBADF, -EBADFD), the open (-EINVAL when the device is open elsewhere,
 * the bind's and the driver's errors), out_devid written (-EFAULT).  The
 * fd is resolved without vfio.lock (the fd table takes it): whether the
 * file got bound meanwhile is looked at again after.
 */
static long df_bind(struct vfio_device_file *df, unsigned long arg)
{
	struct vfio_device_bind_iommufd bind;
	struct vfio_device *vdev = df->device;
	struct iommufd_ctx *ictx = NULL;
	int ret;

	ret = bind_copy(&bind, arg);
	if (ret)
		return ret;
	mutex_lock(vfio_core_lock());
	ret = vfio_device_block_group(vdev);
	if (ret)
		goto out_unlock;
	if (vfio_cdev_access_granted(df)) {
		ret = -EINVAL;
		goto out_unblock;
	}
	mutex_unlock(vfio_core_lock());
	ret = iommufd_ctx_from_fd(bind.iommufd, &ictx);
	mutex_lock(vfio_core_lock());
	if (ret)
		goto out_unblock;
	if (vfio_cdev_access_granted(df)) { /* a bind on df in between */
		ret = -EINVAL;
		goto out_put;
	}
	df->iommufd = ictx;
	ret = df_open(df);
	if (ret)
		goto out_put;
	if (copy_to_user(&((struct vfio_device_bind_iommufd *)arg)->out_devid,
			 &df->devid, sizeof(df->devid))) {
		ret = -EFAULT;
		goto out_close;
	}
	atomic_store_explicit(&df->access_granted, true, memory_order_release);
	mutex_unlock(vfio_core_lock());
	return 0;

out_close:
	df_close(df);
out_put:
	df->iommufd = NULL;
	iommufd_ctx_put(ictx);
out_unblock:
	vfio_device_unblock_group(vdev);
out_unlock:
	mutex_unlock(vfio_core_lock());
	return ret;
}

/*
 * vfio_df_ioctl_attach_pt: the argument (-EFAULT; argsz, flags -EINVAL),
 * then vfio_iommufd_physical_attach_ioas: a replace when attached, else
 * an attach; pt_id written back (-EFAULT, and the device detached).
 */
static long df_attach_pt(struct vfio_device_file *df, unsigned long arg)
{
	size_t minsz = offsetofend(struct vfio_device_attach_iommufd_pt, pt_id);
	struct vfio_device_attach_iommufd_pt attach;
	struct vfio_device *vdev = df->device;
	int ret;

	if (copy_from_user(&attach, (const void *)arg, minsz))
		return -EFAULT;
	if (attach.argsz < minsz || attach.flags)
		return -EINVAL;
	mutex_lock(vfio_core_lock());
	if (WARN_ON(!vdev->iommufd_device)) {
		ret = -EINVAL;
		goto out_unlock;
	}
	if (vdev->iommufd_attached)
		ret = iommufd_device_replace(vdev->iommufd_device,
					     &attach.pt_id);
	else
		ret = iommufd_device_attach(vdev->iommufd_device,
					    &attach.pt_id);
	if (ret)
		goto out_unlock;
	vdev->iommufd_attached = true;
	if (copy_to_user(&((struct vfio_device_attach_iommufd_pt *)arg)->pt_id,
			 &attach.pt_id, sizeof(attach.pt_id))) {
		ret = -EFAULT;
		iommufd_device_detach(vdev->iommufd_device);
		vdev->iommufd_attached = false;
	}
out_unlock:
	mutex_unlock(vfio_core_lock());
	return ret;
}

/* vfio_df_ioctl_detach_pt: the argument, then a detach if attached. */
static long df_detach_pt(struct vfio_device_file *df, unsigned long arg)
{
	size_t minsz = offsetofend(struct vfio_device_detach_iommufd_pt, flags);
	struct vfio_device_detach_iommufd_pt detach;
	struct vfio_device *vdev = df->device;

	if (copy_from_user(&detach, (const void *)arg, minsz))
		return -EFAULT;
	if (detach.argsz < minsz || detach.flags)
		return -EINVAL;
	mutex_lock(vfio_core_lock());
	if (!WARN_ON(!vdev->iommufd_device) && vdev->iommufd_attached) {
		iommufd_device_detach(vdev->iommufd_device);
		vdev->iommufd_attached = false;
	}
	mutex_unlock(vfio_core_lock());
	return 0;
}

/* vfio_device_fops_unl_ioctl's part before the device's own ioctls */
long vfio_cdev_ioctl(struct vfio_device_file *df, unsigned int cmd,
		     unsigned long arg)
{
	struct vfio_device_bind_iommufd bind;
	int ret;

	if (cmd == VFIO_DEVICE_BIND_IOMMUFD) {
		if (df)
			return df_bind(df, arg);
		ret = bind_copy(&bind, arg);
		/* only a cdev file binds */
		return ret ? ret : -EINVAL;
	}
	if (!df)
		return -ENOIOCTLCMD; /* the group path's file */
	if (!vfio_cdev_access_granted(df))
		return -EINVAL;
	switch (cmd) { /* the cdev's own */
	case VFIO_DEVICE_ATTACH_IOMMUFD_PT:
		return df_attach_pt(df, arg);
	case VFIO_DEVICE_DETACH_IOMMUFD_PT:
		return df_detach_pt(df, arg);
	default:
		return -ENOIOCTLCMD;
	}
}

/* vfio_df_unbind_iommufd, then the file's state */
void vfio_cdev_release(struct vfio_device_file *df)
{
	lockdep_assert_held(vfio_core_lock());

	if (vfio_cdev_access_granted(df)) {
		df_close(df);
		iommufd_ctx_put(df->iommufd);
		vfio_device_unblock_group(df->device);
	}
	ui_free(df);
}
