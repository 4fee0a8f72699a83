/* SPDX-License-Identifier: MIT */
/*
 * iommufd for the layers above (vfio's device cdev and compat container,
 * the fd front): the kernel's include/linux/iommufd.h surface, by the same
 * names.  The objects themselves (IOAS, HWPT, device, access, fault queue)
 * and their ioctls are private to src/iommufd/ (iommufd_private.h).
 *
 * Every call returns 0 or a negative errno, as the kernel's do.
 */
#ifndef UIOMMU_IOMMUFD_IOMMUFD_H
#define UIOMMU_IOMMUFD_IOMMUFD_H

#include <stdbool.h>
#include <stdint.h>

struct device;
struct iommufd_ctx;
struct iommufd_device;

/*
 * A device bound to an iommufd context (VFIO_DEVICE_BIND_IOMMUFD): the
 * context takes a reference on dev's group for DMA ownership; *id is the
 * new device object's id.  -EBUSY when the device's group is owned for
 * DMA some other way (the group path, another context's binding of a
 * device of another group is fine).
 */
int iommufd_device_bind(struct iommufd_ctx *ictx, struct device *dev,
			uint32_t *id, struct iommufd_device **out);
/* Detaches first if attached; the device object goes with it. */
void iommufd_device_unbind(struct iommufd_device *idev);
/*
 * Attach to *pt_id: an IOAS (a paging domain of the device's IOMMU is
 * found among the IOAS's or made and filled with its mappings) or a HWPT;
 * *pt_id becomes the HWPT's id.  -EINVAL already attached elsewhere
 * (replace is iommufd_device_replace), -ENOENT no such object.
 */
int iommufd_device_attach(struct iommufd_device *idev, uint32_t *pt_id);
int iommufd_device_replace(struct iommufd_device *idev, uint32_t *pt_id);
void iommufd_device_detach(struct iommufd_device *idev);
struct iommufd_ctx *iommufd_device_to_ictx(struct iommufd_device *idev);
uint32_t iommufd_device_to_id(struct iommufd_device *idev);

struct mm;
struct ui_file_ops;

/*
 * The /dev/iommu file for the fd front: iommufd_ctx_alloc() makes the
 * context of one open (pinning and accounting against mm, the opener's),
 * holding one reference, which the file's release drops; the front
 * installs it as a file of kind iommufd_fops with the context as priv.
 */
int iommufd_ctx_alloc(struct mm *mm, struct iommufd_ctx **out);
extern const struct ui_file_ops iommufd_fops;
struct mm *iommufd_ctx_mm(struct iommufd_ctx *ictx);
/*
 * The context behind fd, with a reference (iommufd_ctx_put it): -EBADF
 * when fd is not open, -EBADFD when it is not a /dev/iommu file.
 * Implemented by the fd front (src/vfio/vfio_main.c), which owns the fd
 * table.
 */
int iommufd_ctx_from_fd(int fd, struct iommufd_ctx **out);
/*
 * Files iommufd makes inside an ioctl (IOMMU_TEST_OP_CREATE_ACCESS's
 * access fd), also implemented by the fd front: install a file of kind
 * ops on priv (the fd, or a negative errno; priv stays the caller's on
 * failure); and the priv of fd if it is such a file, get(priv) called
 * under the front's lock so it cannot be released meanwhile (-EBADFD
 * not open or another kind).
 */
int iommufd_file_install(const struct ui_file_ops *ops, void *priv, int flags);
/* The same on rawfd, a real fd (an eventfd the caller signals, so that
 * poll/select/epoll on the file's fd see its readiness): the fd is
 * rawfd, owned by the front from then on (closed with the file); on
 * failure (-errno) rawfd stays the caller's. */
int iommufd_file_install_fd(const struct ui_file_ops *ops, void *priv,
			    int flags, int rawfd);
int iommufd_file_get(int fd, const struct ui_file_ops *ops,
		     void (*get)(void *priv), void **out);

/* A context stays while someone holds a reference (a bound device, the
 * compat container). */
void iommufd_ctx_get(struct iommufd_ctx *ictx);
void iommufd_ctx_put(struct iommufd_ctx *ictx);
/*
 * The compat IOAS (VFIO's container through iommufd): create makes one
 * unless one is designated already (a group attaching to the container
 * does it, as 6.12's vfio_iommufd_compat_attach_ioas); get_id tells its
 * id, -ENODEV when none.
 */
int iommufd_vfio_compat_ioas_create(struct iommufd_ctx *ictx);
int iommufd_vfio_compat_ioas_get_id(struct iommufd_ctx *ictx,
				    uint32_t *out_ioas_id);

#endif /* UIOMMU_IOMMUFD_IOMMUFD_H */
