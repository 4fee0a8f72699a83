/* SPDX-License-Identifier: MIT */
/*
 * A file kind for the fd front (src/vfio/vfio_main.c) that a layer below
 * it implements without the front knowing its internals: the ops a struct
 * file_operations would give (ioctl, read, write, release) on an opaque
 * priv.  iommufd's files (/dev/iommu, later its fault fd) are such files.
 *
 * Every op returns what the system call returns, as a negative errno on
 * error.  read/write are NULL where the file has none (-EINVAL); they get
 * the open file's status flags (the kernel's file->f_flags: O_NONBLOCK).
 * A file whose fd must show readiness to poll/select/epoll is installed
 * on a real fd of the layer's choosing (an eventfd it signals:
 * iommufd_file_install_fd), which the front then owns.  release
 * runs once, when the file's last reference goes (its fd closed and no
 * call in flight), under the front's table lock: it must not call back
 * into the front.
 */
#ifndef UIOMMU_LIB_FILE_H
#define UIOMMU_LIB_FILE_H

#include <sys/types.h>

struct ui_file_ops {
	const char *name; /* for diagnostics */
	long (*ioctl)(void *priv, unsigned int cmd, unsigned long arg);
	ssize_t (*read)(void *priv, void *buf, size_t count, off_t *pos,
			int f_flags);
	ssize_t (*write)(void *priv, const void *buf, size_t count, off_t *pos,
			 int f_flags);
	void (*release)(void *priv);
};

#endif /* UIOMMU_LIB_FILE_H */
