// SPDX-License-Identifier: MIT
/*
 * The VFIO core's character-device front: the container (/dev/vfio/vfio),
 * groups (/dev/vfio/N) and device fds, with the kernel's ioctl semantics,
 * errno values and order of checks (Linux 6.1's drivers/vfio/container.c
 * and vfio_main.c are the model; the system-call layer above them, fdget,
 * vfs_read and do_mmap, is modelled where it decides an errno first).
 *
 * Data model:
 *  - A struct vfio_file stands for one open file (the kernel's struct
 *    file): a container, a group, a device (either from its group,
 *    GET_DEVICE_FD, or from its cdev /dev/vfio/devices/vfioN, then with
 *    the cdev's state, df: device_cdev.c; such a file holds no group
 *    file, and its group stays closed while it binds the device:
 *    cdev_device_open_cnt) or a lower layer's file.  It is reference
 *    counted: its fd table entry holds one reference, every call in
 *    flight on it one, and every device file one on the file of its group
 *    (6.1's vfio_device_assign_container takes the group's opened_file).
 *    The last reference releases it as the file's release op would;
 *    close() only drops the table's reference and frees the fd number at
 *    once.
 *  - A struct vfio_group stands for one IOMMU group with registered
 *    devices; it has at most one open file at a time (opened_file).
 *    Setting its container links it on the container's group list and,
 *    when the container has an IOMMU backend, attaches it there.
 *    container_users is 1 while it has a container, plus one per device
 *    file (6.1's container_users).
 *  - A struct vfio_container holds the type1 backend once VFIO_SET_IOMMU
 *    chose it; the backend goes when the last group leaves.  Its file
 *    and each group in it hold a reference: a container whose fd closed
 *    lives on while groups are in it.
 *  - The compat container (6.12's CONFIG_IOMMUFD_VFIO_CONTAINER, chosen
 *    by vfio_set_container_iommufd: the topology's vfio-container item):
 *    /dev/vfio/vfio opens an iommufd context, the VFIO container ioctls
 *    are iommufd's (src/iommufd/vfio_compat.c).  SET_CONTAINER with any
 *    iommufd file (6.12's vfio_group_ioctl_set_container) makes the
 *    context's compat IOAS and keeps a reference on the context in the
 *    group (g->iommufd, until UNSET_CONTAINER or the group file's
 *    release); a device file then binds its device to that context on the
 *    device's first open and attaches it to the compat IOAS
 *    (vfio_iommufd_compat_attach_ioas), and unbinds on its last close.
 *    Such a device file is not counted in container_users.
 *  - A file of a layer below (VFIO_FILE_OPS: /dev/iommu, an iommufd
 *    context) is its struct ui_file_ops and priv (src/lib/file.h): the
 *    front routes ioctl, read and write to the ops without knowing the
 *    kind, and calls release(priv) when the last reference goes (under
 *    vfio.lock; the op must not call back into the front).
 *  - Every fd is a real file descriptor (of /dev/null, so numbers never
 *    collide with the program's own) in a table indexed by fd; a lower
 *    layer's file that must be pollable brings its own (iommufd's fault
 *    fd: an eventfd it signals while faults wait), which poll, select and
 *    epoll then see directly.
 *
 * Locking: vfio.lock (a mutex) guards the fd table, every file's
 * reference count, the group list and every group/container membership
 * field; file releases run under it.  ioctls that reach the type1 backend
 * or a device driver run without it, holding a reference on their file
 * (the backend has its own lock).  A backend ioctl in flight counts in its
 * container's users: group attach/detach waits for them (vfio.idle), as
 * 6.1's container group_lock rwsem makes them wait.
 *
 * Invariants: a group with a container is on exactly that container's
 * list; a container has a backend only while it has groups; a group file
 * outlives its device files, so a group with device files open stays in
 * its container and cannot leave it (UNSET_CONTAINER is -EBUSY), and the
 * group cannot be opened again (-EBUSY) until its last device file goes.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/vfio.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vfio/vfio.h"
#include "vfio/vfio_device.h"

#include "iommufd/iommufd.h"
#include "lib/file.h"

#include "lib/internal.h"
#include "lib/uaccess.h"
#include "vfio/device_cdev.h"
#include "vfio/type1_internal.h"

/* The x86-64 user address limit (4-level paging) that access_ok and
 * get_unmapped_area check against, and vfs_read/write's MAX_RW_COUNT. */
#define VFIO_TASK_SIZE	  0x00007ffffffff000ULL
#define VFIO_MAX_RW_COUNT ((size_t)(INT_MAX & ~(PHYS_PAGE_SIZE - 1)))

/* the file mode bits of OPEN_FMODE() */
#define VFIO_FMODE_READ	 1u
#define VFIO_FMODE_WRITE 2u

struct vfio_container {
	unsigned int refs;	   /* vfio.lock: its file, its groups */
	unsigned int users;	   /* vfio.lock: backend ioctls running */
	struct vfio_group *groups; /* vfio.lock */
	struct vfio_iommu *iommu;  /* vfio.lock; NULL until SET_IOMMU */
	struct mm *mm;		   /* immutable */
};

struct vfio_file;

struct vfio_group {
	int nr; /* /dev/vfio/<nr> */
	struct iommu_group *iommu_group;
	struct vfio_device *devices;	   /* vfio.lock */
	struct vfio_file *opened_file;	   /* vfio.lock: NULL when closed */
	struct vfio_container *container;  /* vfio.lock */
	struct vfio_group *container_next; /* vfio.lock */
	unsigned int container_users;	   /* vfio.lock */
	unsigned int cdev_device_open_cnt; /* vfio.lock: bound by cdev */
	struct iommufd_ctx *iommufd;	   /* vfio.lock: an iommufd container */
	struct vfio_group *next;	   /* vfio.lock */
};

/*
 * VFIO_FILE_OPS: a file of a layer below (iommufd's /dev/iommu): its
 * struct ui_file_ops and priv, opaque to the front (src/lib/file.h).
 */
enum vfio_file_type {
	VFIO_FILE_CONTAINER,
	VFIO_FILE_GROUP,
	VFIO_FILE_DEVICE,
	VFIO_FILE_OPS,
};

struct vfio_file {
	enum vfio_file_type type;
	unsigned int mode; /* immutable: VFIO_FMODE_* */
	union {
		struct vfio_container *container;
		struct vfio_group *group;
		struct vfio_device *device;
		struct {
			const struct ui_file_ops *ops;
			void *priv;
		} ext; /* VFIO_FILE_OPS */
	};
	/* a device's cdev file: its binding (device_cdev.c); NULL for a
	 * device file of the group path */
	struct vfio_device_file *df;
	/* a group-path device file opened through an iommufd container */
	bool via_iommufd;
	unsigned int refs; /* vfio.lock */
	_Atomic off_t pos; /* read/write file position (f_pos) */
};

static struct {
	struct mutex lock;
	pthread_cond_t idle;
	struct vfio_group *groups;
	struct vfio_file **files; /* indexed by fd */
	unsigned int nr_files;
	unsigned int live_files; /* files not yet released */
	struct mm *mm;
	bool container_iommufd; /* /dev/vfio/vfio is an iommufd context */
} vfio = {
	.lock = MUTEX_INITIALIZER("vfio.lock", VFIO_LOCK_CORE),
	.idle = PTHREAD_COND_INITIALIZER,
};

/* ---- raw descriptors (never through a preloaded libc) ----------------------------- */

static int raw_open_null(void)
{
	return (int)syscall(SYS_openat, AT_FDCWD, "/dev/null",
			    O_RDWR | O_CLOEXEC);
}

static void raw_close(int fd)
{
	syscall(SYS_close, fd);
}

/* Is fd open in this process at all (fdget)? */
static bool raw_fd_open(int fd)
{
	return fd >= 0 && syscall(SYS_fcntl, fd, F_GETFD) >= 0;
}

/* ---- files and the fd table ------------------------------------------------------------ */

static struct vfio_file *file_alloc(enum vfio_file_type type, unsigned int mode)
{
	struct vfio_file *f = ui_zalloc(sizeof(*f));

	if (!f)
		return NULL;
	f->type = type;
	f->mode = mode;
	f->refs = 1; /* the fd table's, once installed */
	return f;
}

/* Put f (holding one reference) in the table at fd, an open descriptor
 * of ours. */
static int file_install_at(struct vfio_file *f, int fd)
{
	lockdep_assert_held(&vfio.lock);

	if ((unsigned int)fd >= vfio.nr_files) {
		unsigned int n = max((unsigned int)fd + 1, vfio.nr_files * 2);
		struct vfio_file **files;

		files = realloc(vfio.files, n * sizeof(*files));
		if (!files)
			return -ENOMEM;
		memset(files + vfio.nr_files, 0,
		       (n - vfio.nr_files) * sizeof(*files));
		vfio.files = files;
		vfio.nr_files = n;
	}
	vfio.files[fd] = f;
	vfio.live_files++;
	return 0;
}

/* Give f an fd. */
static int file_install(struct vfio_file *f)
{
	int fd = raw_open_null(), ret;

	lockdep_assert_held(&vfio.lock);

	if (fd < 0)
		return -errno;
	ret = file_install_at(f, fd);
	if (ret) {
		raw_close(fd);
		return ret;
	}
	return fd;
}

static struct vfio_file *fd_lookup(int fd)
{
	lockdep_assert_held(&vfio.lock);

	if (fd < 0 || (unsigned int)fd >= vfio.nr_files)
		return NULL;
	return vfio.files[fd];
}

/* fdget: a reference for a call on fd, or NULL (EBADF). */
static struct vfio_file *file_get(int fd)
{
	struct vfio_file *f;

	mutex_lock(&vfio.lock);
	f = fd_lookup(fd);
	if (f)
		f->refs++;
	mutex_unlock(&vfio.lock);
	return f;
}

static void group_unset_container(struct vfio_group *g);

/* The device's binding to the compat container's context goes, detached
 * first (vfio_iommufd_physical_unbind). */
static void compat_unbind(struct vfio_device *vdev)
{
	lockdep_assert_held(&vfio.lock);

	if (vdev->iommufd_attached) {
		iommufd_device_detach(vdev->iommufd_device);
		vdev->iommufd_attached = false;
	}
	iommufd_device_unbind(vdev->iommufd_device);
	vdev->iommufd_device = NULL;
}

/*
 * Drop a reference; the last one releases the file as its fops release
 * would (vfio_fops_release, vfio_group_fops_release,
 * vfio_device_fops_release).
 */
static void file_put_locked(struct vfio_file *f)
{
	struct vfio_device *vdev;
	struct vfio_group *g;

	lockdep_assert_held(&vfio.lock);

	if (--f->refs)
		return;
	switch (f->type) {
	case VFIO_FILE_CONTAINER:
		/* the groups in it keep it */
		if (!--f->container->refs) {
			WARN_ON(f->container->groups || f->container->iommu);
			ui_free(f->container);
		}
		break;
	case VFIO_FILE_GROUP:
		g = f->group;
		/* no device file is open: each holds this file */
		if (g->container)
			group_unset_container(g);
		if (g->iommufd) {
			iommufd_ctx_put(g->iommufd);
			g->iommufd = NULL;
		}
		g->opened_file = NULL;
		break;
	case VFIO_FILE_OPS:
		f->ext.ops->release(f->ext.priv);
		break;
	case VFIO_FILE_DEVICE:
		vdev = f->device;
		if (f->df) { /* vfio_df_unbind_iommufd */
			vfio_cdev_release(f->df);
			vdev->cdev_files--;
			break;
		}
		g = vdev->group;
		if (vdev->open_count == 1 && vdev->ops->close_device)
			vdev->ops->close_device(vdev);
		if (vdev->open_count == 1 && f->via_iommufd)
			compat_unbind(vdev); /* vfio_df_iommufd_unbind */
		vdev->open_count--;
		if (f->via_iommufd) {
			file_put_locked(g->opened_file);
			break;
		}
		/* vfio_device_unassign_container: the group file goes last */
		WARN_ON(g->container_users <= 1);
		g->container_users--;
		file_put_locked(g->opened_file);
		break;
	}
	vfio.live_files--;
	ui_free(f);
}

static void file_put(struct vfio_file *f)
{
	mutex_lock(&vfio.lock);
	file_put_locked(f);
	mutex_unlock(&vfio.lock);
}

bool vfio_fd_is_ours(int fd)
{
	bool ours;

	mutex_lock(&vfio.lock);
	ours = fd_lookup(fd) != NULL;
	mutex_unlock(&vfio.lock);
	return ours;
}

unsigned int vfio_open_fds(void)
{
	unsigned int n;

	mutex_lock(&vfio.lock);
	n = vfio.live_files;
	mutex_unlock(&vfio.lock);
	return n;
}
/* ---- devices and groups --------------------------------------------------------------- */

static struct vfio_group *group_find(int nr)
{
	struct vfio_group *g;

	lockdep_assert_held(&vfio.lock);

	for (g = vfio.groups; g; g = g->next)
		if (g->nr == nr)
			return g;
	return NULL;
}

/* Unlink a group without devices from vfio.groups and free it. */
static void group_free(struct vfio_group *g)
{
	struct vfio_group **pg;

	lockdep_assert_held(&vfio.lock);

	for (pg = &vfio.groups; *pg; pg = &(*pg)->next)
		if (*pg == g) {
			*pg = g->next;
			break;
		}
	ui_free(g);
}

int vfio_register_group_dev(struct vfio_device *vdev, int group_nr)
{
	struct iommu_group *ig;
	struct vfio_group *g;
	int ret = 0;

	if (!vdev || !vdev->ops || !vdev->dev || group_nr < 0)
		return -EINVAL;
	ig = iommu_group_get(vdev->dev);
	if (!ig)
		return -EINVAL; /* no IOMMU: no VFIO (noiommu is not offered) */
	mutex_lock(&vfio.lock);
	g = group_find(group_nr);
	if (g && g->iommu_group != ig) {
		ret = -EEXIST;
		goto out;
	}
	if (!g) {
		for (g = vfio.groups; g; g = g->next)
			if (g->iommu_group == ig) {
				ret = -EEXIST; /* registered under another nr */
				goto out;
			}
		g = ui_zalloc(sizeof(*g));
		if (!g) {
			ret = -ENOMEM;
			goto out;
		}
		g->nr = group_nr;
		g->iommu_group = ig;
		g->next = vfio.groups;
		vfio.groups = g;
	} else if (g->opened_file) {
		ret = -EBUSY;
		goto out;
	}
	ret = vfio_device_index_alloc(); /* a group made above stays empty */
	if (ret < 0) {
		if (!g->devices)
			group_free(g);
		goto out;
	}
	vdev->index = ret;
	ret = 0;
	vdev->cdev_files = 0;
	vdev->iommufd_device = NULL;
	vdev->iommufd_attached = false;
	vdev->group = g;
	vdev->open_count = 0;
	vdev->next = g->devices;
	g->devices = vdev;
out:
	mutex_unlock(&vfio.lock);
	return ret;
}

int vfio_unregister_group_dev(struct vfio_device *vdev)
{
	struct vfio_group *g = vdev->group;
	struct vfio_device **pd;
	int ret = 0;

	if (!g)
		return -EINVAL;
	mutex_lock(&vfio.lock);
	if (g->opened_file || vdev->open_count || vdev->cdev_files) {
		ret = -EBUSY;
		goto out;
	}
	vfio_device_index_free(vdev->index);
	for (pd = &g->devices; *pd; pd = &(*pd)->next)
		if (*pd == vdev) {
			*pd = vdev->next;
			break;
		}
	vdev->group = NULL;
	if (!g->devices)
		group_free(g);
out:
	mutex_unlock(&vfio.lock);
	return ret;
}

int vfio_device_index(const struct vfio_device *vdev)
{
	int index = -ENODEV;

	mutex_lock(&vfio.lock);
	if (vdev->group)
		index = vdev->index;
	mutex_unlock(&vfio.lock);
	return index;
}

/* ---- for the device cdev (device_cdev.c) ---------------------------------------------- */

struct mutex *vfio_core_lock(void)
{
	return &vfio.lock;
}

int vfio_device_block_group(struct vfio_device *vdev)
{
	struct vfio_group *g = vdev->group;

	lockdep_assert_held(&vfio.lock);

	if (g->opened_file)
		return -EBUSY;
	g->cdev_device_open_cnt++;
	return 0;
}

void vfio_device_unblock_group(struct vfio_device *vdev)
{
	lockdep_assert_held(&vfio.lock);

	WARN_ON(!vdev->group->cdev_device_open_cnt);
	vdev->group->cdev_device_open_cnt--;
}

/* ---- containers ---------------------------------------------------------------------- */

/* Take g out of its container (vfio_group_detach_container).  No device
 * file of g is open. */
static void group_unset_container(struct vfio_group *g)
{
	struct vfio_container *c = g->container;
	struct vfio_group **p;

	lockdep_assert_held(&vfio.lock);

	WARN_ON(g->container_users != 1);
	/* no backend ioctl may run while its groups change */
	while (c->users)
		mutex_cond_wait(&vfio.idle, &vfio.lock);
	if (c->iommu)
		vfio_iommu_type1_detach_group(c->iommu, g->iommu_group);
	for (p = &c->groups; *p; p = &(*p)->container_next)
		if (*p == g) {
			*p = g->container_next;
			break;
		}
	g->container = NULL;
	g->container_next = NULL;
	g->container_users = 0;
	/* the last group takes the backend with it */
	if (!c->groups && c->iommu) {
		vfio_iommu_type1_release(c->iommu);
		c->iommu = NULL;
	}
	if (!--c->refs)
		ui_free(c); /* its file closed before its last group left */
}

/* vfio_ioctl_set_iommu: each driver's check_extension(NULL, type) picks
 * the one to open (type1 is the only one). */
static int container_set_iommu(struct vfio_container *c, unsigned long type)
{
	struct vfio_iommu *iommu;
	struct vfio_group *g, *failed = NULL;
	int ret;

	lockdep_assert_held(&vfio.lock);

	if (!c->groups || c->iommu)
		return -EINVAL;
	if (vfio_iommu_type1_ioctl(NULL, VFIO_CHECK_EXTENSION, type) <= 0)
		return -ENODEV;
	ret = vfio_iommu_type1_open(c->mm, type, &iommu);
	if (ret)
		return ret;
	for (g = c->groups; g; g = g->container_next) {
		ret = vfio_iommu_type1_attach_group(iommu, g->iommu_group);
		if (ret) {
			failed = g;
			break;
		}
	}
	if (failed) {
		for (g = c->groups; g != failed; g = g->container_next)
			vfio_iommu_type1_detach_group(iommu, g->iommu_group);
		vfio_iommu_type1_release(iommu);
		return ret;
	}
	c->iommu = iommu;
	return 0;
}

/* vfio_fops_unl_ioctl */
static long container_ioctl(struct vfio_container *c, unsigned int cmd,
			    unsigned long arg)
{
	struct vfio_iommu *iommu;
	long ret;

	switch (cmd) {
	case VFIO_GET_API_VERSION:
		return VFIO_API_VERSION;
	case VFIO_CHECK_EXTENSION:
		/* no base extensions: the backend's answer, or without one
		 * the registered driver's check_extension(NULL, arg) */
		mutex_lock(&vfio.lock);
		iommu = c->iommu;
		ret = vfio_iommu_type1_ioctl(iommu, VFIO_CHECK_EXTENSION, arg);
		mutex_unlock(&vfio.lock);
		return ret < 0 ? 0 : ret;
	case VFIO_SET_IOMMU:
		mutex_lock(&vfio.lock);
		ret = container_set_iommu(c, arg);
		mutex_unlock(&vfio.lock);
		return ret;
	default:
		/* everything else passes through to the backend, if any */
		mutex_lock(&vfio.lock);
		iommu = c->iommu;
		if (iommu)
			c->users++; /* group changes wait for us */
		mutex_unlock(&vfio.lock);
		if (!iommu)
			return -EINVAL;
		ret = vfio_iommu_type1_ioctl(iommu, cmd, arg);
		mutex_lock(&vfio.lock);
		if (!--c->users)
			pthread_cond_broadcast(&vfio.idle);
		mutex_unlock(&vfio.lock);
		return ret;
	}
}

/* ---- group ioctls --------------------------------------------------------------------- */

/* vfio_group_ioctl_get_status */
static long group_get_status(struct vfio_group *g, unsigned long arg)
{
	struct vfio_group_status status;
	size_t minsz = offsetofend(struct vfio_group_status, flags);
	int ret;

	ret = copy_argsz_from_user(&status, arg, minsz);
	if (ret)
		return ret;
	status.flags = VFIO_GROUP_FLAGS_VIABLE;
	mutex_lock(&vfio.lock);
	if (g->container || g->iommufd)
		status.flags |= VFIO_GROUP_FLAGS_CONTAINER_SET;
	mutex_unlock(&vfio.lock);
	return copy_to_user((void *)arg, &status, minsz) ? -EFAULT : 0;
}

/*
 * vfio_group_ioctl_set_container: get_user (-EFAULT), fdget (-EBADF for
 * any fd that is not open, whatever else is wrong), a container already
 * set (-EINVAL), then a container file's attach, or an iommufd file's
 * compat IOAS (6.12; made unless one is designated), anything else
 * -EINVAL (6.1's answer: 6.12 says -EBADFD).
 */
static long group_set_container(struct vfio_group *g, unsigned long arg)
{
	struct vfio_file *cf;
	struct vfio_container *c;
	int fd, ret = 0;

	if (copy_from_user(&fd, (void *)arg, sizeof(fd)))
		return -EFAULT;
	cf = file_get(fd);
	if (!cf && !raw_fd_open(fd))
		return -EBADF;
	mutex_lock(&vfio.lock);
	if (g->container || g->iommufd) {
		ret = -EINVAL;
		goto out;
	}
	if (cf && cf->type == VFIO_FILE_OPS && cf->ext.ops == &iommufd_fops) {
		ret = iommufd_vfio_compat_ioas_create(cf->ext.priv);
		if (ret)
			goto out;
		iommufd_ctx_get(cf->ext.priv);
		g->iommufd = cf->ext.priv;
		goto out;
	}
	/* an fd that is not ours is open, but not a container */
	if (!cf || cf->type != VFIO_FILE_CONTAINER) {
		ret = -EINVAL;
		goto out;
	}
	c = cf->container;
	while (c->users) /* down_write(&container->group_lock) */
		mutex_cond_wait(&vfio.idle, &vfio.lock);
	if (g->container || g->iommufd) { /* raced with another SET_CONTAINER */
		ret = -EINVAL;
		goto out;
	}
	if (c->iommu) {
		ret = vfio_iommu_type1_attach_group(c->iommu, g->iommu_group);
		if (ret)
			goto out;
	}
	c->refs++;
	g->container = c;
	g->container_users = 1;
	g->container_next = c->groups;
	c->groups = g;
out:
	if (cf)
		file_put_locked(cf);
	mutex_unlock(&vfio.lock);
	return ret;
}

/* vfio_group_ioctl_unset_container */
static long group_unset(struct vfio_group *g)
{
	int ret = 0;

	mutex_lock(&vfio.lock);
	if (g->container) {
		if (g->container_users != 1)
			ret = -EBUSY; /* device files are open */
		else
			group_unset_container(g);
	} else if (g->iommufd) {
		/* 6.12: the devices open stay bound (their binding holds
		 * the context) */
		iommufd_ctx_put(g->iommufd);
		g->iommufd = NULL;
	} else {
		ret = -EINVAL;
	}
	mutex_unlock(&vfio.lock);
	return ret;
}

/*
 * strndup_user(uaddr, PAGE_SIZE): -EFAULT when the string cannot be read
 * up to its NUL, -EINVAL when a page of it holds no NUL.  Read a page
 * piece at a time (each is readable or not as a whole).  The address is
 * arithmetic on an integer: it may be NULL or anything else.
 */
static int strndup_user_page(unsigned long uaddr, char *buf)
{
	size_t len = 0;

	while (len < PHYS_PAGE_SIZE) {
		unsigned long at = uaddr + len;
		size_t n = PHYS_PAGE_SIZE - (at & (PHYS_PAGE_SIZE - 1));

		if (at < uaddr) /* wraps: nothing up there is the user's */
			return -EFAULT;
		n = min(n, PHYS_PAGE_SIZE - len);
		if (copy_from_user(buf + len, (const void *)at, n))
			return -EFAULT;
		if (memchr(buf + len, '\0', n))
			return 0;
		len += n;
	}
	return -EINVAL;
}

/*
 * vfio_group_ioctl_get_device_fd: the name (strndup_user), then the device
 * by name (-ENODEV), then a free fd, then vfio_device_open, which needs a
 * container with a backend or an iommufd container (-EINVAL).  Through an
 * iommufd container (6.12's vfio_df_group_open) the device's first open
 * binds it to the context, opens the driver, then attaches it to the
 * compat IOAS (-ENODEV when none is designated any more); each step's
 * failure undoes the ones before.  The device file holds the group file.
 */
static long group_get_device_fd(struct vfio_file *gf, unsigned long arg)
{
	struct vfio_group *g = gf->group;
	char name[PHYS_PAGE_SIZE];
	struct vfio_device *vdev;
	struct vfio_file *f;
	int fd, ret;

	ret = strndup_user_page(arg, name);
	if (ret)
		return ret;

	mutex_lock(&vfio.lock);
	for (vdev = g->devices; vdev; vdev = vdev->next)
		if (!strcmp(vdev->name, name))
			break;
	if (!vdev) {
		ret = -ENODEV;
		goto out;
	}
	fd = raw_open_null(); /* get_unused_fd_flags */
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	/* vfio_device_assign_container */
	if ((!g->container || !g->container->iommu) && !g->iommufd) {
		ret = -EINVAL;
		goto out_close;
	}
	f = file_alloc(VFIO_FILE_DEVICE, VFIO_FMODE_READ | VFIO_FMODE_WRITE);
	if (!f) {
		ret = -ENOMEM;
		goto out_close;
	}
	f->device = vdev;
	f->via_iommufd = !g->container;
	if (f->via_iommufd && !vdev->open_count) {
		/* vfio_df_iommufd_bind */
		uint32_t devid;

		ret = iommufd_device_bind(g->iommufd, vdev->dev, &devid,
					  &vdev->iommufd_device);
		if (ret)
			goto out_free;
	}
	/* vfio_device_open: the driver's open_device on the first open */
	if (!vdev->open_count && vdev->ops->open_device) {
		ret = vdev->ops->open_device(vdev);
		if (ret)
			goto out_unbind;
	}
	if (f->via_iommufd && !vdev->open_count) {
		/* vfio_iommufd_compat_attach_ioas */
		uint32_t ioas_id;

		ret = iommufd_vfio_compat_ioas_get_id(g->iommufd, &ioas_id);
		if (!ret)
			ret = iommufd_device_attach(vdev->iommufd_device,
						    &ioas_id);
		if (ret)
			goto out_close_device;
		vdev->iommufd_attached = true;
	}
	ret = file_install_at(f, fd);
	if (ret)
		goto out_close_device;
	gf->refs++; /* get_file(group->opened_file) */
	if (!f->via_iommufd)
		g->container_users++;
	vdev->open_count++;
	mutex_unlock(&vfio.lock);
	return fd;

out_close_device:
	if (!vdev->open_count && vdev->ops->close_device)
		vdev->ops->close_device(vdev);
out_unbind:
	if (f->via_iommufd && !vdev->open_count)
		compat_unbind(vdev);
out_free:
	ui_free(f);
out_close:
	raw_close(fd);
out:
	mutex_unlock(&vfio.lock);
	return ret;
}

/* vfio_group_fops_unl_ioctl */
static long group_ioctl(struct vfio_file *gf, unsigned int cmd,
			unsigned long arg)
{
	switch (cmd) {
	case VFIO_GROUP_GET_DEVICE_FD:
		return group_get_device_fd(gf, arg);
	case VFIO_GROUP_GET_STATUS:
		return group_get_status(gf->group, arg);
	case VFIO_GROUP_SET_CONTAINER:
		return group_set_container(gf->group, arg);
	case VFIO_GROUP_UNSET_CONTAINER:
		return group_unset(gf->group);
	default:
		return -ENOTTY;
	}
}

/* ---- device ioctls -------------------------------------------------------------------- */

int vfio_set_irqs_validate_and_prepare(struct vfio_irq_set *hdr, int num_irqs,
				       int max_irq_type, size_t *data_size)
{
	size_t minsz = offsetofend(struct vfio_irq_set, count);
	size_t size;

	/* the header first, all of it -EINVAL */
	if (hdr->argsz < minsz ||
	    hdr->index >= (uint32_t)max(max_irq_type, 0) ||
	    hdr->count >= UINT32_MAX - hdr->start ||
	    (hdr->flags &
	     ~(VFIO_IRQ_SET_DATA_TYPE_MASK | VFIO_IRQ_SET_ACTION_TYPE_MASK)))
		return -EINVAL;
	if (data_size)
		*data_size = 0;
	if (hdr->start >= (uint32_t)max(num_irqs, 0) ||
	    hdr->start + hdr->count > (uint32_t)max(num_irqs, 0))
		return -EINVAL;
	switch (hdr->flags & VFIO_IRQ_SET_DATA_TYPE_MASK) {
	case VFIO_IRQ_SET_DATA_NONE:
		size = 0;
		break;
	case VFIO_IRQ_SET_DATA_BOOL:
		size = sizeof(uint8_t);
		break;
	case VFIO_IRQ_SET_DATA_EVENTFD:
		size = sizeof(int32_t);
		break;
	default:
		return -EINVAL;
	}
	if (size) {
		if (hdr->argsz - minsz < (size_t)hdr->count * size)
			return -EINVAL;
		if (!data_size)
			return -EINVAL;
		*data_size = (size_t)hdr->count * size;
	}
	return 0;
}

/*
 * vfio_ioctl_device_feature: the core validates the header before any
 * driver sees it.  No device model migrates or tracks dirty pages itself
 * (no mig_ops, no log_ops): those features are -ENOTTY, as is any other
 * feature of a driver without a device_feature op.
 */
static long device_feature(struct vfio_device *vdev, unsigned long arg)
{
	size_t minsz = offsetofend(struct vfio_device_feature, flags);
	struct vfio_device_feature feature;
	int ret;

	ret = copy_argsz_flags_from_user(
		&feature, arg, minsz,
		VFIO_DEVICE_FEATURE_MASK | VFIO_DEVICE_FEATURE_SET |
			VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_PROBE);
	if (ret)
		return ret;
	/* GET and SET together only with PROBE */
	if (!(feature.flags & VFIO_DEVICE_FEATURE_PROBE) &&
	    (feature.flags & VFIO_DEVICE_FEATURE_SET) &&
	    (feature.flags & VFIO_DEVICE_FEATURE_GET))
		return -EINVAL;
	switch (feature.flags & VFIO_DEVICE_FEATURE_MASK) {
	case VFIO_DEVICE_FEATURE_MIGRATION:
	case VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE:
	case VFIO_DEVICE_FEATURE_DMA_LOGGING_START:
	case VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP:
	case VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT:
		return -ENOTTY;
	default:
		if (!vdev->ops->device_feature)
			return -ENOTTY;
		return vdev->ops->device_feature(vdev, feature.flags,
						 arg + minsz,
						 feature.argsz - minsz);
	}
}

/* vfio_device_fops_unl_ioctl */
static long device_ioctl(struct vfio_device *vdev, unsigned int cmd,
			 unsigned long arg)
{
	if (cmd == VFIO_DEVICE_FEATURE)
		return device_feature(vdev, arg);
	if (!vdev->ops->ioctl)
		return -EINVAL;
	return vdev->ops->ioctl(vdev, cmd, arg);
}

/* ---- the fops ----------------------------------------------------------------------- */

/* vfio_group_fops_open */
static int open_group(const char *nrstr, unsigned int mode)
{
	struct vfio_group *g;
	struct vfio_file *f;
	char *end;
	long nr;
	int fd;

	nr = strtol(nrstr, &end, 10);
	if (*end || end == nrstr || nr < 0 || nr > INT32_MAX)
		return -ENOENT;
	mutex_lock(&vfio.lock);
	g = group_find((int)nr);
	if (!g) {
		fd = -ENOENT;
		goto out;
	}
	/* not while a device of it is bound through its cdev */
	if (g->cdev_device_open_cnt) {
		fd = -EBUSY;
		goto out;
	}
	/* one file at a time: a device file keeps a closed group's */
	if (g->opened_file) {
		fd = -EBUSY;
		goto out;
	}
	f = file_alloc(VFIO_FILE_GROUP, mode);
	if (!f) {
		fd = -ENOMEM;
		goto out;
	}
	f->group = g;
	fd = file_install(f);
	if (fd < 0) {
		ui_free(f);
		goto out;
	}
	g->opened_file = f;
out:
	mutex_unlock(&vfio.lock);
	return fd;
}

/*
 * vfio_device_fops_cdev_open, after the lookup of devices/<name> (-ENOENT
 * for a name no registered device has): the file's state (-ENOMEM).  The
 * file keeps the device registered.
 */
static int open_device_cdev(const char *name, unsigned int mode)
{
	int index = vfio_cdev_parse_name(name), fd;
	struct vfio_device *vdev = NULL;
	struct vfio_file *f;
	struct vfio_group *g;

	if (index < 0)
		return index;
	mutex_lock(&vfio.lock);
	for (g = vfio.groups; g && !vdev; g = g->next)
		for (vdev = g->devices; vdev; vdev = vdev->next)
			if (vdev->index == index)
				break;
	if (!vdev) {
		fd = -ENOENT;
		goto out;
	}
	f = file_alloc(VFIO_FILE_DEVICE, mode);
	if (f)
		f->df = vfio_cdev_file_alloc(vdev);
	if (!f || !f->df) {
		if (f)
			ui_free(f);
		fd = -ENOMEM;
		goto out;
	}
	f->device = vdev;
	fd = file_install(f);
	if (fd < 0) {
		vfio_cdev_release(f->df);
		ui_free(f);
		goto out;
	}
	vdev->cdev_files++;
out:
	mutex_unlock(&vfio.lock);
	return fd;
}

void vfio_set_container_iommufd(bool iommufd)
{
	mutex_lock(&vfio.lock);
	vfio.container_iommufd = iommufd;
	mutex_unlock(&vfio.lock);
}

bool vfio_container_is_iommufd(void)
{
	bool ret;

	mutex_lock(&vfio.lock);
	ret = vfio.container_iommufd;
	mutex_unlock(&vfio.lock);
	return ret;
}

/* vfio_fops_open */
static int open_container(struct mm *mm, unsigned int mode)
{
	struct vfio_container *c;
	struct vfio_file *f;
	int fd;

	c = ui_zalloc(sizeof(*c));
	f = file_alloc(VFIO_FILE_CONTAINER, mode);
	if (!c || !f) {
		ui_free(c);
		ui_free(f);
		return -ENOMEM;
	}
	c->refs = 1; /* its file's */
	c->mm = mm;
	f->container = c;
	mutex_lock(&vfio.lock);
	fd = file_install(f);
	mutex_unlock(&vfio.lock);
	if (fd < 0) {
		ui_free(c);
		ui_free(f);
	}
	return fd;
}

int vfio_file_install_ops(const struct ui_file_ops *ops, void *priv, int flags)
{
	struct vfio_file *f;
	int fd;

	f = file_alloc(VFIO_FILE_OPS, (unsigned int)(flags + 1) & O_ACCMODE);
	if (!f)
		return -ENOMEM;
	f->ext.ops = ops;
	f->ext.priv = priv;
	mutex_lock(&vfio.lock);
	fd = file_install(f);
	mutex_unlock(&vfio.lock);
	if (fd < 0)
		ui_free(f); /* priv stays the caller's */
	return fd;
}

/* A file of a layer below on rawfd, a real fd the front owns from now on
 * (the layer signals readiness on it); -errno, rawfd the caller's. */
static int vfio_file_install_ops_fd(const struct ui_file_ops *ops, void *priv,
				    int flags, int rawfd)
{
	struct vfio_file *f;
	int ret;

	if (rawfd < 0)
		return -EBADF;
	f = file_alloc(VFIO_FILE_OPS, (unsigned int)(flags + 1) & O_ACCMODE);
	if (!f)
		return -ENOMEM;
	f->ext.ops = ops;
	f->ext.priv = priv;
	mutex_lock(&vfio.lock);
	ret = fd_lookup(rawfd) ? -EBUSY : file_install_at(f, rawfd);
	mutex_unlock(&vfio.lock);
	if (ret) {
		ui_free(f);
		return ret;
	}
	return rawfd;
}

/* iommufd_fops_open: a new context, the file's reference on it */
static int open_iommufd(struct mm *mm, int flags)
{
	struct iommufd_ctx *ictx;
	int ret;

	ret = iommufd_ctx_alloc(mm, &ictx);
	if (ret)
		return ret;
	ret = vfio_file_install_ops(&iommufd_fops, ictx, flags);
	if (ret < 0)
		iommufd_ctx_put(ictx);
	return ret;
}

int iommufd_ctx_from_fd(int fd, struct iommufd_ctx **out)
{
	struct vfio_file *f;
	int ret = 0;

	mutex_lock(&vfio.lock);
	f = fd_lookup(fd);
	if (!f)
		ret = raw_fd_open(fd) ? -EBADFD : -EBADF;
	else if (f->type != VFIO_FILE_OPS || f->ext.ops != &iommufd_fops)
		ret = -EBADFD;
	else {
		iommufd_ctx_get(f->ext.priv);
		*out = f->ext.priv;
	}
	mutex_unlock(&vfio.lock);
	return ret;
}

int iommufd_file_install(const struct ui_file_ops *ops, void *priv, int flags)
{
	return vfio_file_install_ops(ops, priv, flags);
}

int iommufd_file_install_fd(const struct ui_file_ops *ops, void *priv,
			    int flags, int rawfd)
{
	return vfio_file_install_ops_fd(ops, priv, flags, rawfd);
}

int iommufd_file_get(int fd, const struct ui_file_ops *ops,
		     void (*get)(void *priv), void **out)
{
	struct vfio_file *f;
	int ret = 0;

	mutex_lock(&vfio.lock);
	f = fd_lookup(fd);
	if (!f || f->type != VFIO_FILE_OPS || f->ext.ops != ops) {
		ret = -EBADFD;
	} else {
		get(f->ext.priv);
		*out = f->ext.priv;
	}
	mutex_unlock(&vfio.lock);
	return ret;
}

int vfio_fops_open(struct mm *mm, const char *path, int flags)
{
	static const char prefix[] = "/dev/vfio/";
	/* OPEN_FMODE: O_RDONLY reads, O_WRONLY writes, O_RDWR both */
	unsigned int mode = (unsigned int)(flags + 1) & O_ACCMODE;
	int ret;

	if (path && !strcmp(path, "/dev/iommu")) {
		ret = open_iommufd(mm, flags);
		goto out;
	}
	if (!path || strncmp(path, prefix, sizeof(prefix) - 1)) {
		errno = ENOENT;
		return -1;
	}
	path += sizeof(prefix) - 1;
	if (!strncmp(path, "devices/", 8))
		ret = open_device_cdev(path + 8, mode);
	else if (!strcmp(path, "vfio"))
		ret = vfio_container_is_iommufd() ? open_iommufd(mm, flags)
						  : open_container(mm, mode);
	else
		ret = open_group(path, mode);
out:
	if (ret < 0) {
		errno = -ret;
		return -1;
	}
	return ret;
}

/*
 * do_vfs_ioctl: the requests the VFS answers for every file before its
 * ioctl op sees them (close-on-exec, non-blocking and async flags, which
 * change nothing here but the descriptor's FD_CLOEXEC; FIOQSIZE is only
 * for regular files, directories and links).  -ENOIOCTLCMD: not one.
 */
static long vfs_ioctl_generic(int fd, unsigned int cmd, unsigned long arg)
{
	int on;

	switch (cmd) {
	case FIOCLEX:
	case FIONCLEX:
		syscall(SYS_fcntl, fd, F_SETFD,
			cmd == FIOCLEX ? FD_CLOEXEC : 0);
		return 0;
	case FIONBIO:
	case FIOASYNC:
		/* get_user; neither flag means anything to our files */
		return copy_from_user(&on, (void *)arg, sizeof(on)) ? -EFAULT
								    : 0;
	case FIOQSIZE:
		return -ENOTTY;
	default:
		return -ENOIOCTLCMD;
	}
}

int vfio_fops_ioctl(int fd, unsigned long request, void *arg)
{
	struct vfio_file *f = file_get(fd);
	unsigned int cmd = (unsigned int)request;
	long ret;

	if (!f) {
		errno = EBADF;
		return -1;
	}
	ret = vfs_ioctl_generic(fd, cmd, (unsigned long)arg);
	if (ret != -ENOIOCTLCMD)
		goto out;
	switch (f->type) {
	case VFIO_FILE_CONTAINER:
		ret = container_ioctl(f->container, cmd, (unsigned long)arg);
		break;
	case VFIO_FILE_GROUP:
		ret = group_ioctl(f, cmd, (unsigned long)arg);
		break;
	case VFIO_FILE_OPS:
		ret = f->ext.ops->ioctl(f->ext.priv, cmd, (unsigned long)arg);
		break;
	default:
		ret = vfio_cdev_ioctl(f->df, cmd, (unsigned long)arg);
		if (ret == -ENOIOCTLCMD)
			ret = device_ioctl(f->device, cmd, (unsigned long)arg);
		break;
	}
out:
	file_put(f);
	if (ret < 0) {
		errno = (int)-ret;
		return -1;
	}
	return (int)ret;
}

/* close(): the fd number goes at once; the file when its last
 * reference does (a call in flight, or a device file on its group). */
int vfio_fops_close(int fd)
{
	struct vfio_file *f;

	mutex_lock(&vfio.lock);
	f = fd_lookup(fd);
	if (!f) {
		mutex_unlock(&vfio.lock);
		errno = EBADF;
		return -1;
	}
	vfio.files[fd] = NULL;
	file_put_locked(f);
	mutex_unlock(&vfio.lock);
	raw_close(fd);
	return 0;
}

/*
 * vfs_read/vfs_write on a file: its mode (-EBADF), a read/write op (only
 * a device file has one: -EINVAL), access_ok on the buffer (-EFAULT),
 * rw_verify_area (-EINVAL), the count clipped to MAX_RW_COUNT, then the
 * driver, which clips at the region's end.
 */
static ssize_t file_rw(struct vfio_file *f, int fd, void *buf, size_t count,
		       off_t *ppos, bool write)
{
	off_t pos = *ppos;
	ssize_t ret;
	struct vfio_device *vdev = f->device;
	uintptr_t end;

	if (!(f->mode & (write ? VFIO_FMODE_WRITE : VFIO_FMODE_READ)))
		return -EBADF;
	if (f->type == VFIO_FILE_OPS &&
	    !(write ? (void *)f->ext.ops->write : (void *)f->ext.ops->read))
		return -EINVAL;
	if (f->type != VFIO_FILE_DEVICE && f->type != VFIO_FILE_OPS)
		return -EINVAL;
	if (__builtin_add_overflow((uintptr_t)buf, count, &end) ||
	    end > VFIO_TASK_SIZE)
		return -EFAULT;
	if ((ssize_t)count < 0 || pos < 0 || (off_t)((uint64_t)pos + count) < 0)
		return -EINVAL;
	count = min(count, VFIO_MAX_RW_COUNT);
	if (f->type == VFIO_FILE_OPS) {
		/* the status flags (O_NONBLOCK) live in the open file
		 * description behind the real fd, where fcntl sets them */
		int fl = (int)syscall(SYS_fcntl, fd, F_GETFL);

		if (fl < 0)
			fl = 0;
		/* the op moves the position (or not: a stream's stays) */
		return write ? f->ext.ops->write(f->ext.priv, buf, count, ppos,
						 fl)
			     : f->ext.ops->read(f->ext.priv, buf, count, ppos,
						fl);
	}
	/* vfio_device_fops_read/write: an unbound cdev file reaches nothing */
	if (f->df && !vfio_cdev_access_granted(f->df))
		return -EINVAL;
	if (write)
		ret = vdev->ops->write ? vdev->ops->write(vdev, buf, count, pos)
				       : -EINVAL;
	else
		ret = vdev->ops->read ? vdev->ops->read(vdev, buf, count, pos)
				      : -EINVAL;
	if (ret > 0)
		*ppos = pos + ret;
	return ret;
}

/* ksys_pread64/ksys_pwrite64: a negative offset before the fd */
static ssize_t rw_at(int fd, void *buf, size_t count, off_t off, bool write)
{
	struct vfio_file *f;
	ssize_t ret;

	if (off < 0) {
		errno = EINVAL;
		return -1;
	}
	f = file_get(fd);
	if (!f) {
		errno = EBADF;
		return -1;
	}
	ret = file_rw(f, fd, buf, count, &off, write);
	file_put(f);
	if (ret < 0) {
		errno = (int)-ret;
		return -1;
	}
	return ret;
}

ssize_t vfio_fops_pread(int fd, void *buf, size_t count, off_t off)
{
	return rw_at(fd, buf, count, off, false);
}

ssize_t vfio_fops_pwrite(int fd, const void *buf, size_t count, off_t off)
{
	return rw_at(fd, (void *)buf, count, off, true);
}

/* read/write at the file position, which a transfer advances (ksys_read:
 * f_pos is what the driver moved *ppos to). */
static ssize_t rw_at_pos(int fd, void *buf, size_t count, bool write)
{
	struct vfio_file *f = file_get(fd);
	ssize_t ret;
	off_t pos;

	if (!f) {
		errno = EBADF;
		return -1;
	}
	pos = atomic_load(&f->pos);
	ret = file_rw(f, fd, buf, count, &pos, write);
	if (ret >= 0)
		atomic_store(&f->pos, pos);
	file_put(f);
	if (ret < 0) {
		errno = (int)-ret;
		return -1;
	}
	return ret;
}

ssize_t vfio_fops_read(int fd, void *buf, size_t count)
{
	return rw_at_pos(fd, buf, count, false);
}

ssize_t vfio_fops_write(int fd, const void *buf, size_t count)
{
	return rw_at_pos(fd, (void *)buf, count, true);
}

/*
 * None of VFIO's files has an llseek op (the container and group are
 * character devices without one, the device file an anonymous-inode file
 * without one), so vfs_llseek() refuses them all; read and write still
 * use and advance the file position.
 */
off_t vfio_fops_lseek(int fd, off_t off, int whence)
{
	struct vfio_file *f = file_get(fd);

	if (!f) {
		errno = EBADF;
		return -1;
	}
	file_put(f);
	errno = ESPIPE;
	return -1;
}

#ifndef MAP_UNINITIALIZED
#define MAP_UNINITIALIZED 0x4000000
#endif
/* the flags MAP_SHARED keeps and MAP_SHARED_VALIDATE accepts */
#define VFIO_LEGACY_MAP_MASK                                                  \
	(MAP_SHARED | MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS |               \
	 MAP_DENYWRITE | MAP_EXECUTABLE | MAP_UNINITIALIZED | MAP_GROWSDOWN | \
	 MAP_LOCKED | MAP_NORESERVE | MAP_POPULATE | MAP_NONBLOCK |           \
	 MAP_STACK | MAP_HUGETLB)

/*
 * mmap of one of our fds, in the order the system call checks: the
 * offset's alignment (sys_mmap, before the fd), the fd (-EBADF),
 * MAP_HUGETLB on a file not of hugetlbfs (-EINVAL), then do_mmap: a zero
 * length (-EINVAL), a length that wraps when page-aligned (-ENOMEM), an
 * offset that wraps (-EOVERFLOW), more than the address space (-ENOMEM),
 * file_mmap_ok (-EOVERFLOW), the mapping type and the file's mode
 * (-EOPNOTSUPP, -EACCES, -EINVAL), a file without mmap (-ENODEV: the
 * container and group), then the driver's mmap, which wants a shared
 * mapping inside a mappable region (-EINVAL).
 */
void *vfio_fops_mmap(struct mm *mm, size_t len, int prot, int flags, int fd,
		     off_t off)
{
	return vfio_fops_mmap_at(mm, NULL, len, prot, flags, fd, off);
}

void *vfio_fops_mmap_at(struct mm *mm, void *at, size_t len, int prot,
			int flags, int fd, off_t off)
{
	struct mm_place place = {.addr = (unsigned long)at};
	uint64_t pgoff = (uint64_t)off >> PHYS_PAGE_SHIFT, vm_flags = 0;
	struct vfio_file *f;
	void *addr = MAP_FAILED;
	phys_addr_t pa;
	int ret;

	if ((uint64_t)off & (PHYS_PAGE_SIZE - 1)) {
		errno = EINVAL;
		return MAP_FAILED;
	}
	f = file_get(fd);
	if (!f) {
		errno = EBADF;
		return MAP_FAILED;
	}
	ret = -EINVAL;
	if ((flags & MAP_HUGETLB) || !len)
		goto out;
	ret = -ENOMEM;
	if (len > SIZE_MAX - (PHYS_PAGE_SIZE - 1))
		goto out;
	len = ALIGN_UP(len, PHYS_PAGE_SIZE);
	ret = -EOVERFLOW;
	if (pgoff + (len >> PHYS_PAGE_SHIFT) < pgoff)
		goto out;
	ret = -ENOMEM; /* get_unmapped_area */
	if (len > VFIO_TASK_SIZE)
		goto out;
	ret = -EOVERFLOW; /* file_mmap_ok: no size limit but the offset's */
	if (pgoff > (UINT64_MAX - len) >> PHYS_PAGE_SHIFT)
		goto out;
	switch (flags & MAP_TYPE) {
	case MAP_SHARED_VALIDATE:
		ret = -EOPNOTSUPP; /* no file of ours adds mmap flags */
		if (flags & ~VFIO_LEGACY_MAP_MASK)
			goto out;
		/* fallthrough */
	case MAP_SHARED:
		ret = -EACCES;
		if ((prot & PROT_WRITE) && !(f->mode & VFIO_FMODE_WRITE))
			goto out;
		/* fallthrough */
	case MAP_PRIVATE:
		ret = -EACCES;
		if (!(f->mode & VFIO_FMODE_READ))
			goto out;
		ret = -ENODEV;
		if (f->type != VFIO_FILE_DEVICE)
			goto out;
		ret = -EINVAL; /* VM_GROWSDOWN on a file */
		if (flags & MAP_GROWSDOWN)
			goto out;
		break;
	default:
		ret = -EINVAL;
		goto out;
	}
	/* vfio_device_fops_mmap (an unbound cdev file reaches nothing), then
	 * the driver's VM_SHARED check */
	ret = -EINVAL;
	if ((f->df && !vfio_cdev_access_granted(f->df)) ||
	    (!f->device->ops->mmap && !f->device->ops->mmap_mm) ||
	    !(flags & MAP_SHARED))
		goto out;
	/* do_mmap: MAP_FIXED_NOREPLACE implies MAP_FIXED's checks; the
	 * address itself is checked where the range is placed */
	if (flags & MAP_FIXED_NOREPLACE)
		place.flags = MM_PLACE_NOREPLACE;
	else if (flags & MAP_FIXED)
		place.flags = MM_PLACE_FIXED;
	if (f->device->ops->mmap_mm) {
		ret = f->device->ops->mmap_mm(f->device, mm, off, len,
					      prot & PROT_WRITE, &place, &addr);
		if (ret)
			addr = MAP_FAILED;
		goto out;
	}
	ret = f->device->ops->mmap(f->device, off, len, prot & PROT_WRITE, &pa,
				   &vm_flags);
	if (ret)
		goto out;
	ret = mm_mmap_pfn_at(mm, pa, len, vm_flags, &place, &addr);
	if (ret)
		addr = MAP_FAILED;
out:
	file_put(f);
	if (addr == MAP_FAILED)
		errno = -ret;
	return addr;
}
