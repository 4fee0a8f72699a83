/* SPDX-License-Identifier: MIT */
/*
 * The VFIO core: device registration and the character-device front
 * (containers, groups, device fds) that routes ioctls to the type1 backend
 * and to device drivers.  A device driver (src/devices/) fills in a
 * struct vfio_device and registers it; its group appears as /dev/vfio/N,
 * the device itself as /dev/vfio/devices/vfioN (its cdev, device_cdev.c).
 */
#ifndef UIOMMU_VFIO_DEVICE_H
#define UIOMMU_VFIO_DEVICE_H

#include <sys/types.h>
#include "iommu/iommu.h"

#ifdef __cplusplus
extern "C" {
#endif

struct vfio_device;
struct mm_place;
struct iommufd_device;

/* What a device driver provides (the kernel's vfio_device_ops). */
struct vfio_device_ops {
	const char *name;
	/*
	 * VFIO_DEVICE_* ioctls but VFIO_DEVICE_FEATURE, which the core
	 * validates: -ENOTTY for those it does not handle.  NULL: every
	 * ioctl is -EINVAL.
	 */
	long (*ioctl)(struct vfio_device *vdev, unsigned int cmd,
		      unsigned long arg);
	/*
	 * A VFIO_DEVICE_FEATURE the core does not serve, its header
	 * validated (flags, argsz): the user's data after the header and its
	 * size.  NULL: -ENOTTY.
	 */
	int (*device_feature)(struct vfio_device *vdev, uint32_t flags,
			      unsigned long arg, size_t argsz);
	/*
	 * Region access at the fd offset (index << VFIO_REGION_SHIFT), with
	 * a count the core checked (vfs_read) and clipped to MAX_RW_COUNT;
	 * the driver clips at the region's end (a short count) and gives
	 * -EINVAL at or past it.  NULL: -EINVAL.
	 */
	ssize_t (*read)(struct vfio_device *vdev, void *buf, size_t count,
			off_t off);
	ssize_t (*write)(struct vfio_device *vdev, const void *buf,
			 size_t count, off_t off);
	/*
	 * mmap of [off, off + len) of a region (the fd offset): the physical
	 * memory behind it and the VMA flags the driver puts on the mapping
	 * (vfio_pci_core_mmap's IO|PFNMAP|DONTEXPAND|DONTDUMP, and
	 * MM_VM_ALLOW_WC where it deems write-combining safe).  -EINVAL for a
	 * region or range that cannot be mapped.  NULL: nothing mappable.
	 */
	int (*mmap)(struct vfio_device *vdev, off_t off, size_t len, bool write,
		    phys_addr_t *pa, uint64_t *vm_flags);
	/*
	 * Instead of mmap, for a driver that maps [off, off + len) into mm
	 * itself (vfio-pci: its BARs' register pages are trapped, their
	 * plain memory mapped directly, in one mapping: mm_mmap_device) at
	 * place (mmap's address and MAP_FIXED: struct mm_place, mem.h):
	 * 0 with *addr, or the errno mmap would give.
	 */
	int (*mmap_mm)(struct vfio_device *vdev, struct mm *mm, off_t off,
		       size_t len, bool write, const struct mm_place *place,
		       void **addr);
	/* called when the device's first file opens (NULL: nothing); an
	 * error fails VFIO_GROUP_GET_DEVICE_FD */
	int (*open_device)(struct vfio_device *vdev);
	/* called when the last file of the device is released */
	void (*close_device)(struct vfio_device *vdev);
};

#define VFIO_REGION_SHIFT	  40
#define VFIO_REGION_OFFSET(index) ((off_t)(index) << VFIO_REGION_SHIFT)

struct vfio_device {
	const struct vfio_device_ops *ops;
	struct device *dev; /* probed on an IOMMU (iommu_probe_device) */
	char name[32];	    /* for VFIO_GROUP_GET_DEVICE_FD */
	void *priv;
	/* private to the VFIO core */
	struct vfio_group *group;
	unsigned int open_count;
	/* vfio.lock; the cdev (device_cdev.c): its index while registered,
	 * its open cdev files, and its iommufd binding */
	int index;
	unsigned int cdev_files;
	struct iommufd_device *iommufd_device;
	bool iommufd_attached;
	struct vfio_device *next;
};

/*
 * VFIO_DEVICE_SET_IRQS's header checks, for drivers
 * (vfio_set_irqs_validate_and_prepare): -EINVAL for an argsz, index (not
 * below max_irq_type), start/count (within num_irqs), flags or data size
 * that does not fit; else 0 with the size of the data after the header.
 */
struct vfio_irq_set;
int vfio_set_irqs_validate_and_prepare(struct vfio_irq_set *hdr, int num_irqs,
				       int max_irq_type, size_t *data_size);

/* Register a device whose dev is probed: its IOMMU group becomes the VFIO
 * group numbered group_nr (/dev/vfio/<group_nr>). */
int vfio_register_group_dev(struct vfio_device *vdev, int group_nr);
/* -EBUSY while the device, its group or one of its cdev files is open. */
int vfio_unregister_group_dev(struct vfio_device *vdev);
/* The index of a registered device's cdev, /dev/vfio/devices/vfio<index>
 * (the lowest free one at registration, as the kernel's), or -ENODEV. */
int vfio_device_index(const struct vfio_device *vdev);
/* The index a cdev's name "vfio<N>" (under /dev/vfio/devices/) gives: N
 * as the kernel names it (decimal, no leading zero), or -ENOENT for any
 * other name. */
int vfio_cdev_parse_name(const char *name);

/*
 * Which container /dev/vfio/vfio opens: type1's (false, the default) or
 * an iommufd context serving the VFIO container ioctls (true: 6.12's
 * CONFIG_IOMMUFD_VFIO_CONTAINER).  Files open keep what they are.
 */
void vfio_set_container_iommufd(bool iommufd);
bool vfio_container_is_iommufd(void);

/* The fd front (uiommu_open and friends call these). */
int vfio_fops_open(struct mm *mm, const char *path, int flags);
int vfio_fops_ioctl(int fd, unsigned long request, void *arg);
int vfio_fops_close(int fd);
ssize_t vfio_fops_pread(int fd, void *buf, size_t count, off_t off);
ssize_t vfio_fops_pwrite(int fd, const void *buf, size_t count, off_t off);
ssize_t vfio_fops_read(int fd, void *buf, size_t count);
ssize_t vfio_fops_write(int fd, const void *buf, size_t count);
off_t vfio_fops_lseek(int fd, off_t off, int whence);
/* mmap of a device fd region into mm (MAP_SHARED only, as vfio-pci):
 * the address, or MAP_FAILED with errno. */
void *vfio_fops_mmap(struct mm *mm, size_t len, int prot, int flags, int fd,
		     off_t off);
/* The same at addr as mmap(2) places it: a hint, or with MAP_FIXED
 * (page-aligned, else EINVAL) or MAP_FIXED_NOREPLACE exactly there
 * (struct mm_place, mem.h). */
void *vfio_fops_mmap_at(struct mm *mm, void *addr, size_t len, int prot,
			int flags, int fd, off_t off);
bool vfio_fd_is_ours(int fd);
unsigned int vfio_open_fds(void);

struct ui_file_ops;
/*
 * A file of a layer below the front (src/lib/file.h: /dev/iommu, later
 * iommufd's fault fd) in the fd table: its fd, or a negative errno (priv
 * then stays the caller's).  flags: the open(2) access mode.  The front
 * calls ops->release(priv) when the file's last reference goes.
 * /dev/iommu (vfio_fops_open) is one: a new iommufd context each open.
 */
int vfio_file_install_ops(const struct ui_file_ops *ops, void *priv, int flags);

#ifdef __cplusplus
}
#endif
#endif /* UIOMMU_VFIO_DEVICE_H */
