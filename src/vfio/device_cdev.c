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

#include "vfio/device_cdev.h"
#include "vfio/vfio_uapi_cdev.h"

#include "lib/internal.h"
#include "lib/lock.h"
#include "lib/uaccess.h"

/* the minor numbers of the vfio-dev region: MINORMASK + 1 */
#define VFIO_DEVICE_INDEX_MAX ((1u << 20) - 1)

struct vfio_device_file {
	struct vfio_device *device; /* immutable */
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

/* vfio_device_fops_unl_ioctl's part before the device's own ioctls */
long vfio_cdev_ioctl(struct vfio_device_file *df, unsigned int cmd,
		     unsigned long arg)
{
	struct vfio_device_bind_iommufd bind;
	int ret;

	if (cmd == VFIO_DEVICE_BIND_IOMMUFD && !df) {
		ret = bind_copy(&bind, arg);
		/* only a cdev file binds */
		return ret ? ret : -EINVAL;
	}
	if (!df)
		return -ENOIOCTLCMD; /* the group path's file */
	if (!vfio_cdev_access_granted(df))
		return -EINVAL;
	return -ENOIOCTLCMD;
}

void vfio_cdev_release(struct vfio_device_file *df)
{
	lockdep_assert_held(vfio_core_lock());

	ui_free(df);
}
