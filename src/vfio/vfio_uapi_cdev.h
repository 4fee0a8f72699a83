/* SPDX-License-Identifier: MIT */
/*
 * The VFIO device cdev's uAPI (/dev/vfio/devices/vfioN) of Linux 6.12,
 * missing from Debian 12's 6.1 <linux/vfio.h>: the project's own
 * definitions, written from the ABI, used where the system's header lacks
 * them (each block guarded by its ioctl or flag), and checked by static
 * assertions against whichever header supplied them.
 *
 * Not here: 6.12 turns vfio_pci_dependent_device's group_id into a union
 * with devid (the same u32); code that fills it for a cdev device writes
 * group_id with the devid value.
 */
#ifndef UIOMMU_VFIO_VFIO_UAPI_CDEV_H
#define UIOMMU_VFIO_VFIO_UAPI_CDEV_H

#include <stddef.h>
#include <linux/vfio.h>

#ifndef VFIO_DEVICE_BIND_IOMMUFD
/*
 * VFIO_DEVICE_BIND_IOMMUFD: bind a cdev device fd to the iommufd
 * `iommufd`; out_devid is the device object's id in that context.
 */
struct vfio_device_bind_iommufd {
	__u32 argsz;
	__u32 flags;
	__s32 iommufd;
	__u32 out_devid;
};
#define VFIO_DEVICE_BIND_IOMMUFD _IO(VFIO_TYPE, VFIO_BASE + 18)
#endif

#ifndef VFIO_DEVICE_ATTACH_IOMMUFD_PT
/*
 * VFIO_DEVICE_ATTACH_IOMMUFD_PT: attach the bound device to pt_id (an
 * IOAS or a HWPT); pt_id comes back as the HWPT's id.
 */
struct vfio_device_attach_iommufd_pt {
	__u32 argsz;
	__u32 flags;
	__u32 pt_id;
};
#define VFIO_DEVICE_ATTACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 19)
#endif

#ifndef VFIO_DEVICE_DETACH_IOMMUFD_PT
/* VFIO_DEVICE_DETACH_IOMMUFD_PT: undo the attach. */
struct vfio_device_detach_iommufd_pt {
	__u32 argsz;
	__u32 flags;
};
#define VFIO_DEVICE_DETACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 20)
#endif

/* vfio_device_info.flags: a CDX bus device (6.12, beside PCI and others). */
#ifndef VFIO_DEVICE_FLAGS_CDX
#define VFIO_DEVICE_FLAGS_CDX (1 << 8)
#endif

/*
 * VFIO_DEVICE_GET_PCI_HOT_RESET_INFO on a cdev device: the entries carry
 * device ids (DEV_ID), and DEV_ID_OWNED when the caller owns them all;
 * an entry's devid is OWNED (0) or NOT_OWNED (-1) for devices not bound
 * in the caller's iommufd.
 */
#ifndef VFIO_PCI_HOT_RESET_FLAG_DEV_ID
#define VFIO_PCI_HOT_RESET_FLAG_DEV_ID (1 << 0)
#endif
#ifndef VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED
#define VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED (1 << 1)
#endif
#ifndef VFIO_PCI_DEVID_OWNED
#define VFIO_PCI_DEVID_OWNED 0
#endif
#ifndef VFIO_PCI_DEVID_NOT_OWNED
#define VFIO_PCI_DEVID_NOT_OWNED -1
#endif

_Static_assert(sizeof(struct vfio_device_bind_iommufd) == 16 &&
		       offsetof(struct vfio_device_bind_iommufd, iommufd) ==
			       8 &&
		       offsetof(struct vfio_device_bind_iommufd, out_devid) ==
			       12,
	       "vfio_device_bind_iommufd layout");
_Static_assert(sizeof(struct vfio_device_attach_iommufd_pt) == 12 &&
		       offsetof(struct vfio_device_attach_iommufd_pt, pt_id) ==
			       8,
	       "vfio_device_attach_iommufd_pt layout");
_Static_assert(sizeof(struct vfio_device_detach_iommufd_pt) == 8, "vfio_device_"
								  "detach_"
								  "iommufd_pt "
								  "layout");
_Static_assert(VFIO_DEVICE_BIND_IOMMUFD == 0x3b76 &&
		       VFIO_DEVICE_ATTACH_IOMMUFD_PT == 0x3b77 &&
		       VFIO_DEVICE_DETACH_IOMMUFD_PT == 0x3b78,
	       "vfio cdev ioctl numbers");

#endif /* UIOMMU_VFIO_VFIO_UAPI_CDEV_H */
