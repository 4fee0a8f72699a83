// SPDX-License-Identifier: MIT
/*
 * The VFIO core's character-device front: the container (/dev/vfio/vfio),
 * groups (/dev/vfio/N) and device fds, with the kernel's ioctl semantics
 * and errno values (drivers/vfio/container.c and group.c are the model).
 *
 * Data model:
 *  - A struct vfio_group stands for one IOMMU group with registered
 *    devices; it is opened at most once at a time.  Setting its container
 *    links it on the container's group list and, when the container has an
 *    IOMMU backend, attaches it there.
 *  - A struct vfio_container holds the type1 backend once VFIO_SET_IOMMU
 *    chose it; the backend goes when the last group leaves.
 *  - Every open object is behind a real file descriptor (of /dev/null, so
 *    numbers never collide with the program's own) in a table indexed by
 *    fd.  An entry holds a reference on its object.
 *
 * Locking: vfio.lock (a mutex) guards the fd table, the group list and
 * every group/container membership field.  ioctls that reach the type1
 * backend or a device driver run without it, holding a reference on their
 * object (the backend has its own lock).
 *
 * Invariants: a group with a container is on exactly that container's
 * list; a container has a backend only while it has groups; a group with
 * device fds open cannot leave its container (-EBUSY).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <uiommu/vfio.h>
#include <uiommu/vfio_device.h>

#include "lib/internal.h"
#include "lib/uaccess.h"

struct vfio_container {
	unsigned int refs;	   /* vfio.lock */
	unsigned int users;	   /* vfio.lock: backend ioctls running */
	struct vfio_group *groups; /* vfio.lock */
	struct vfio_iommu *iommu;  /* vfio.lock; NULL until SET_IOMMU */
	struct mm *mm;		   /* immutable */
};

struct vfio_group {
	int nr; /* /dev/vfio/<nr> */
	struct iommu_group *iommu_group;
	struct vfio_device *devices;	   /* vfio.lock */
	bool opened;			   /* vfio.lock */
	struct vfio_container *container;  /* vfio.lock */
	struct vfio_group *container_next; /* vfio.lock */
	unsigned int device_fds;	   /* vfio.lock: open device fds */
	struct vfio_group *next;	   /* vfio.lock */
};

enum vfio_file_type { VFIO_FILE_CONTAINER, VFIO_FILE_GROUP, VFIO_FILE_DEVICE };

struct vfio_file {
	enum vfio_file_type type;
	union {
		struct vfio_container *container;
		struct vfio_group *group;
		struct vfio_device *device;
	};
	unsigned int busy; /* vfio.lock: ioctls in flight */
	_Atomic off_t pos; /* read/write/lseek file position */
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t idle;
	struct vfio_group *groups;
	struct vfio_file **files; /* indexed by fd */
	unsigned int nr_files, open_files;
	struct mm *mm;
} vfio = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
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

/* ---- the fd table ------------------------------------------------------------------- */

static int file_install(struct vfio_file *f)
{
	int fd = raw_open_null();

	if (fd < 0)
		return -errno;
	if ((unsigned int)fd >= vfio.nr_files) {
		unsigned int n = max((unsigned int)fd + 1, vfio.nr_files * 2);
		struct vfio_file **files;

		files = realloc(vfio.files, n * sizeof(*files));
		if (!files) {
			raw_close(fd);
			return -ENOMEM;
		}
		memset(files + vfio.nr_files, 0,
		       (n - vfio.nr_files) * sizeof(*files));
		vfio.files = files;
		vfio.nr_files = n;
	}
	vfio.files[fd] = f;
	vfio.open_files++;
	return fd;
}

static struct vfio_file *file_get(int fd)
{
	struct vfio_file *f = NULL;

	pthread_mutex_lock(&vfio.lock);
	if (fd >= 0 && (unsigned int)fd < vfio.nr_files && vfio.files[fd]) {
		f = vfio.files[fd];
		f->busy++;
	}
	pthread_mutex_unlock(&vfio.lock);
	return f;
}

static void file_put(struct vfio_file *f)
{
	pthread_mutex_lock(&vfio.lock);
	if (!--f->busy)
		pthread_cond_broadcast(&vfio.idle);
	pthread_mutex_unlock(&vfio.lock);
}

bool vfio_fd_is_ours(int fd)
{
	bool ours;

	pthread_mutex_lock(&vfio.lock);
	ours = fd >= 0 && (unsigned int)fd < vfio.nr_files && vfio.files[fd];
	pthread_mutex_unlock(&vfio.lock);
	return ours;
}

unsigned int vfio_open_fds(void)
{
	unsigned int n;

	pthread_mutex_lock(&vfio.lock);
	n = vfio.open_files;
	pthread_mutex_unlock(&vfio.lock);
	return n;
}

/* ---- devices and groups --------------------------------------------------------------- */

static struct vfio_group *group_find(int nr)
{
	struct vfio_group *g;

	for (g = vfio.groups; g; g = g->next)
		if (g->nr == nr)
			return g;
	return NULL;
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
	pthread_mutex_lock(&vfio.lock);
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
	} else if (g->opened) {
		ret = -EBUSY;
		goto out;
	}
	vdev->group = g;
	vdev->open_count = 0;
	vdev->next = g->devices;
	g->devices = vdev;
out:
	pthread_mutex_unlock(&vfio.lock);
	return ret;
}

int vfio_unregister_group_dev(struct vfio_device *vdev)
{
	struct vfio_group *g = vdev->group, **pg;
	struct vfio_device **pd;
	int ret = 0;

	if (!g)
		return -EINVAL;
	pthread_mutex_lock(&vfio.lock);
	if (g->opened || vdev->open_count) {
		ret = -EBUSY;
		goto out;
	}
	for (pd = &g->devices; *pd; pd = &(*pd)->next)
		if (*pd == vdev) {
			*pd = vdev->next;
			break;
		}
	vdev->group = NULL;
	if (!g->devices) {
		for (pg = &vfio.groups; *pg; pg = &(*pg)->next)
			if (*pg == g) {
				*pg = g->next;
				break;
			}
		ui_free(g);
	}
out:
	pthread_mutex_unlock(&vfio.lock);
	return ret;
}

/* ---- containers ---------------------------------------------------------------------- */

static void container_put(struct vfio_container *c)
{
	if (--c->refs)
		return;
	WARN_ON(c->groups || c->iommu);
	ui_free(c);
}

/* Take g out of its container.  vfio.lock held. */
static void group_unset_container(struct vfio_group *g)
{
	struct vfio_container *c = g->container;
	struct vfio_group **p;

	/* no backend ioctl may run while its groups change */
	while (c->users)
		pthread_cond_wait(&vfio.idle, &vfio.lock);
	if (c->iommu)
		vfio_iommu_type1_detach_group(c->iommu, g->iommu_group);
	for (p = &c->groups; *p; p = &(*p)->container_next)
		if (*p == g) {
			*p = g->container_next;
			break;
		}
	g->container = NULL;
	g->container_next = NULL;
	/* the last group takes the backend with it */
	if (!c->groups && c->iommu) {
		vfio_iommu_type1_release(c->iommu);
		c->iommu = NULL;
	}
	container_put(c);
}

static int container_set_iommu(struct vfio_container *c, unsigned long type)
{
	struct vfio_iommu *iommu;
	struct vfio_group *g, *failed = NULL;
	int ret;

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

static long container_ioctl(struct vfio_container *c, unsigned int cmd,
			    unsigned long arg)
{
	struct vfio_iommu *iommu;
	long ret;

	switch (cmd) {
	case VFIO_GET_API_VERSION:
		return VFIO_API_VERSION;
	case VFIO_CHECK_EXTENSION:
		pthread_mutex_lock(&vfio.lock);
		iommu = c->iommu;
		/* without a backend, ask the backend we have */
		ret = vfio_iommu_type1_ioctl(iommu, VFIO_CHECK_EXTENSION, arg);
		pthread_mutex_unlock(&vfio.lock);
		return ret < 0 ? 0 : ret;
	case VFIO_SET_IOMMU:
		pthread_mutex_lock(&vfio.lock);
		ret = container_set_iommu(c, arg);
		pthread_mutex_unlock(&vfio.lock);
		return ret;
	default:
		pthread_mutex_lock(&vfio.lock);
		iommu = c->iommu;
		if (iommu)
			c->users++; /* group changes wait for us */
		pthread_mutex_unlock(&vfio.lock);
		if (!iommu)
			return -EINVAL;
		ret = vfio_iommu_type1_ioctl(iommu, cmd, arg);
		pthread_mutex_lock(&vfio.lock);
		if (!--c->users)
			pthread_cond_broadcast(&vfio.idle);
		pthread_mutex_unlock(&vfio.lock);
		return ret;
	}
}

/* ---- group ioctls --------------------------------------------------------------------- */

static long group_get_status(struct vfio_group *g, unsigned long arg)
{
	struct vfio_group_status status;
	size_t minsz = offsetof(struct vfio_group_status, flags) +
		       sizeof(status.flags);

	if (copy_from_user(&status, (void *)arg, minsz))
		return -EFAULT;
	if (status.argsz < minsz)
		return -EINVAL;
	status.flags = VFIO_GROUP_FLAGS_VIABLE;
	pthread_mutex_lock(&vfio.lock);
	if (g->container)
		status.flags |= VFIO_GROUP_FLAGS_CONTAINER_SET;
	pthread_mutex_unlock(&vfio.lock);
	return copy_to_user((void *)arg, &status, minsz) ? -EFAULT : 0;
}

static long group_set_container(struct vfio_group *g, unsigned long arg)
{
	struct vfio_file *cf;
	struct vfio_container *c;
	int fd, ret = 0;

	if (copy_from_user(&fd, (void *)arg, sizeof(fd)))
		return -EFAULT;
	if (fd < 0)
		return -EINVAL;
	pthread_mutex_lock(&vfio.lock);
	cf = fd < (int)vfio.nr_files ? vfio.files[fd] : NULL;
	if (g->container) {
		ret = -EINVAL;
		goto out;
	}
	if (!cf) {
		/* an fd that is not ours: valid or not, not a container */
		ret = fcntl(fd, F_GETFD) < 0 ? -EBADF : -EINVAL;
		goto out;
	}
	if (cf->type != VFIO_FILE_CONTAINER) {
		ret = -EINVAL;
		goto out;
	}
	c = cf->container;
	if (c->iommu) {
		ret = vfio_iommu_type1_attach_group(c->iommu, g->iommu_group);
		if (ret)
			goto out;
	}
	c->refs++;
	g->container = c;
	g->container_next = c->groups;
	c->groups = g;
out:
	pthread_mutex_unlock(&vfio.lock);
	return ret;
}

static long group_unset(struct vfio_group *g)
{
	int ret = 0;

	pthread_mutex_lock(&vfio.lock);
	if (!g->container)
		ret = -EINVAL;
	else if (g->device_fds)
		ret = -EBUSY;
	else
		group_unset_container(g);
	pthread_mutex_unlock(&vfio.lock);
	return ret;
}

static long group_get_device_fd(struct vfio_group *g, unsigned long arg)
{
	char name[64];
	struct vfio_device *vdev;
	struct vfio_file *f;
	size_t len;
	int fd;

	/* strndup_user: the name, up to a page, must be readable */
	for (len = 0; len < sizeof(name); len++) {
		/* integer arithmetic: arg may be NULL */
		if (copy_from_user(&name[len], (void *)(arg + len), 1))
			return -EFAULT;
		if (!name[len])
			break;
	}
	if (len == sizeof(name))
		return -ENODEV; /* longer than any device name */

	pthread_mutex_lock(&vfio.lock);
	if (!g->container || !g->container->iommu) {
		fd = -EINVAL;
		goto out;
	}
	for (vdev = g->devices; vdev; vdev = vdev->next)
		if (!strcmp(vdev->name, name))
			break;
	if (!vdev) {
		fd = -ENODEV;
		goto out;
	}
	f = ui_zalloc(sizeof(*f));
	if (!f) {
		fd = -ENOMEM;
		goto out;
	}
	f->type = VFIO_FILE_DEVICE;
	f->device = vdev;
	fd = file_install(f);
	if (fd < 0) {
		ui_free(f);
		goto out;
	}
	vdev->open_count++;
	g->device_fds++;
out:
	pthread_mutex_unlock(&vfio.lock);
	return fd;
}

static long group_ioctl(struct vfio_group *g, unsigned int cmd,
			unsigned long arg)
{
	switch (cmd) {
	case VFIO_GROUP_GET_STATUS:
		return group_get_status(g, arg);
	case VFIO_GROUP_SET_CONTAINER:
		return group_set_container(g, arg);
	case VFIO_GROUP_UNSET_CONTAINER:
		return group_unset(g);
	case VFIO_GROUP_GET_DEVICE_FD:
		return group_get_device_fd(g, arg);
	default:
		return -ENOTTY;
	}
}

/* ---- the fops ----------------------------------------------------------------------- */

static int open_group(const char *nrstr)
{
	struct vfio_group *g;
	struct vfio_file *f;
	char *end;
	long nr;
	int fd;

	nr = strtol(nrstr, &end, 10);
	if (*end || end == nrstr || nr < 0 || nr > INT32_MAX)
		return -ENOENT;
	pthread_mutex_lock(&vfio.lock);
	g = group_find((int)nr);
	if (!g) {
		fd = -ENOENT;
		goto out;
	}
	if (g->opened) {
		fd = -EBUSY;
		goto out;
	}
	f = ui_zalloc(sizeof(*f));
	if (!f) {
		fd = -ENOMEM;
		goto out;
	}
	f->type = VFIO_FILE_GROUP;
	f->group = g;
	fd = file_install(f);
	if (fd < 0) {
		ui_free(f);
		goto out;
	}
	g->opened = true;
out:
	pthread_mutex_unlock(&vfio.lock);
	return fd;
}

static int open_container(struct mm *mm)
{
	struct vfio_container *c;
	struct vfio_file *f;
	int fd;

	c = ui_zalloc(sizeof(*c));
	f = ui_zalloc(sizeof(*f));
	if (!c || !f) {
		ui_free(c);
		ui_free(f);
		return -ENOMEM;
	}
	c->refs = 1;
	c->mm = mm;
	f->type = VFIO_FILE_CONTAINER;
	f->container = c;
	pthread_mutex_lock(&vfio.lock);
	fd = file_install(f);
	pthread_mutex_unlock(&vfio.lock);
	if (fd < 0) {
		ui_free(c);
		ui_free(f);
	}
	return fd;
}

int vfio_fops_open(struct mm *mm, const char *path, int flags)
{
	static const char prefix[] = "/dev/vfio/";
	int ret;

	if (!path || strncmp(path, prefix, sizeof(prefix) - 1)) {
		errno = ENOENT;
		return -1;
	}
	path += sizeof(prefix) - 1;
	ret = !strcmp(path, "vfio") ? open_container(mm) : open_group(path);
	if (ret < 0) {
		errno = -ret;
		return -1;
	}
	return ret;
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
	switch (f->type) {
	case VFIO_FILE_CONTAINER:
		ret = container_ioctl(f->container, cmd, (unsigned long)arg);
		break;
	case VFIO_FILE_GROUP:
		ret = group_ioctl(f->group, cmd, (unsigned long)arg);
		break;
	default:
		ret = f->device->ops->ioctl
			      ? f->device->ops->ioctl(f->device, cmd,
						      (unsigned long)arg)
			      : -EINVAL;
		break;
	}
	file_put(f);
	if (ret < 0) {
		errno = (int)-ret;
		return -1;
	}
	return (int)ret;
}

int vfio_fops_close(int fd)
{
	struct vfio_file *f;

	pthread_mutex_lock(&vfio.lock);
	if (fd < 0 || (unsigned int)fd >= vfio.nr_files || !vfio.files[fd]) {
		pthread_mutex_unlock(&vfio.lock);
		errno = EBADF;
		return -1;
	}
	f = vfio.files[fd];
	while (f->busy)
		pthread_cond_wait(&vfio.idle, &vfio.lock);
	vfio.files[fd] = NULL;
	vfio.open_files--;
	switch (f->type) {
	case VFIO_FILE_CONTAINER:
		container_put(f->container);
		break;
	case VFIO_FILE_GROUP:
		if (f->group->container)
			group_unset_container(f->group);
		f->group->opened = false;
		break;
	case VFIO_FILE_DEVICE:
		f->device->group->device_fds--;
		if (!--f->device->open_count && f->device->ops->close_device)
			f->device->ops->close_device(f->device);
		break;
	}
	pthread_mutex_unlock(&vfio.lock);
	raw_close(fd);
	ui_free(f);
	return 0;
}

static ssize_t device_rw(int fd, void *buf, size_t count, off_t off, bool write)
{
	struct vfio_file *f = file_get(fd);
	ssize_t ret;

	if (!f) {
		errno = EBADF;
		return -1;
	}
	if (f->type != VFIO_FILE_DEVICE)
		ret = -EINVAL;
	else if (write)
		ret = f->device->ops->write
			      ? f->device->ops->write(f->device, buf, count,
						      off)
			      : -EINVAL;
	else
		ret = f->device->ops->read
			      ? f->device->ops->read(f->device, buf, count, off)
			      : -EINVAL;
	file_put(f);
	if (ret < 0) {
		errno = (int)-ret;
		return -1;
	}
	return ret;
}

ssize_t vfio_fops_pread(int fd, void *buf, size_t count, off_t off)
{
	return device_rw(fd, buf, count, off, false);
}

ssize_t vfio_fops_pwrite(int fd, const void *buf, size_t count, off_t off)
{
	return device_rw(fd, (void *)buf, count, off, true);
}

/* read/write at the file position, which they advance (as the kernel's
 * vfio device fops do with *ppos). */
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
	file_put(f);
	ret = device_rw(fd, buf, count, pos, write);
	if (ret > 0) {
		f = file_get(fd);
		if (f) {
			atomic_compare_exchange_strong(&f->pos, &pos,
						       pos + ret);
			file_put(f);
		}
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

off_t vfio_fops_lseek(int fd, off_t off, int whence)
{
	struct vfio_file *f = file_get(fd);
	off_t pos = -1;
	int err = 0;

	if (!f) {
		errno = EBADF;
		return -1;
	}
	if (f->type != VFIO_FILE_DEVICE) {
		err = ESPIPE;
	} else if (whence == SEEK_SET) {
		pos = off;
	} else if (whence == SEEK_CUR) {
		pos = atomic_load(&f->pos) + off;
	} else {
		err = EINVAL; /* a device fd has no end */
	}
	if (!err && pos < 0)
		err = EINVAL;
	if (!err)
		atomic_store(&f->pos, pos);
	file_put(f);
	if (err) {
		errno = err;
		return -1;
	}
	return pos;
}

void *vfio_fops_mmap(struct mm *mm, size_t len, int prot, int flags, int fd,
		     off_t off)
{
	struct vfio_file *f = file_get(fd);
	uint64_t vm_flags = 0;
	phys_addr_t pa;
	void *addr = MAP_FAILED;
	int ret;

	if (!f) {
		errno = EBADF;
		return MAP_FAILED;
	}
	if (f->type != VFIO_FILE_DEVICE || !f->device->ops->mmap) {
		ret = -EINVAL;
		goto out;
	}
	/* like vfio_pci_core_mmap: shared mappings of whole pages only */
	if (!(flags & MAP_SHARED) || !len || off < 0 ||
	    (off & (PHYS_PAGE_SIZE - 1))) {
		ret = -EINVAL;
		goto out;
	}
	ret = f->device->ops->mmap(f->device, off,
				   ALIGN_UP(len, PHYS_PAGE_SIZE),
				   prot & PROT_WRITE, &pa, &vm_flags);
	if (ret)
		goto out;
	ret = mm_mmap_pfn(mm, pa, ALIGN_UP(len, PHYS_PAGE_SIZE), vm_flags,
			  &addr);
	if (ret)
		addr = MAP_FAILED;
out:
	file_put(f);
	if (addr == MAP_FAILED)
		errno = -ret;
	return addr;
}
