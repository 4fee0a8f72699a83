// SPDX-License-Identifier: MIT
/*
 * The system behind uiommu_open(): physical memory, the process's address
 * space, the IOMMUs and devices a topology string describes, and the VFIO
 * groups they form.  One system per process, built on the first open (or by
 * uiommu_system_init) and torn down by uiommu_system_exit once no fd is
 * open.
 *
 * Topology grammar (include/uiommu/uapi.h): items separated by newlines or
 * ';', words by blanks; '#' starts a comment.
 *
 * Locking: sys_lock guards the system pointer; the objects are immutable
 * once built.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <uiommu/devices.h>
#include <uiommu/uapi.h>
#include <uiommu/vfio_device.h>

#include "lib/internal.h"

#define SYS_MAX_IOMMUS	8
#define SYS_MAX_DEVICES 32

struct sys_iommu {
	char name[32];
	struct smmu *hw;
	struct arm_smmu_device *smmu;
	struct platform plat; /* pm + this SMMU, for device models */
};

struct sys_device {
	struct vfio_device *vdev;
	int group;
};

struct uiommu_system {
	struct phys_mem *pm;
	struct mm *mm;
	struct sys_iommu iommus[SYS_MAX_IOMMUS];
	unsigned int nr_iommus;
	struct sys_device devices[SYS_MAX_DEVICES];
	unsigned int nr_devices;
};

static pthread_mutex_t sys_lock = PTHREAD_MUTEX_INITIALIZER;
static struct uiommu_system *sys;

static void system_free(struct uiommu_system *s)
{
	for (unsigned int i = 0; i < s->nr_devices; i++) {
		WARN_ON(vfio_unregister_group_dev(s->devices[i].vdev));
		dmaengine_destroy(s->devices[i].vdev);
	}
	for (unsigned int i = 0; i < s->nr_iommus; i++) {
		arm_smmu_device_remove(s->iommus[i].smmu);
		smmu_destroy(s->iommus[i].hw);
	}
	mm_destroy(s->mm);
	phys_destroy(s->pm);
	ui_free(s);
}

static struct sys_iommu *find_iommu(struct uiommu_system *s, const char *name)
{
	for (unsigned int i = 0; i < s->nr_iommus; i++)
		if (!strcmp(s->iommus[i].name, name))
			return &s->iommus[i];
	return NULL;
}

static int parse_uint(const char *v, unsigned long max, unsigned long *out)
{
	char *end;

	if (!*v)
		return -EINVAL;
	*out = strtoul(v, &end, 0);
	return *end || *out > max ? -EINVAL : 0;
}

static int add_iommu(struct uiommu_system *s, char **w, int n)
{
	struct smmu_config cfg = {0};
	struct arm_smmu_options opts = {.coherent = true, .range_inv = true};
	struct sys_iommu *io;
	int ret;

	if (n < 2 || s->nr_iommus == SYS_MAX_IOMMUS || find_iommu(s, w[1]) ||
	    strlen(w[1]) >= sizeof(io->name))
		return -EINVAL;
	for (int i = 2; i < n; i++) {
		if (!strcmp(w[i], "noncoherent"))
			opts.coherent = false;
		else if (!strcmp(w[i], "threaded"))
			cfg.threaded = true;
		else
			return -EINVAL;
	}
	io = &s->iommus[s->nr_iommus];
	snprintf(io->name, sizeof(io->name), "%s", w[1]);
	ret = smmu_create(s->pm, &cfg, &io->hw);
	if (ret)
		return ret;
	ret = arm_smmu_device_probe(io->hw, &opts, &io->smmu);
	if (ret) {
		smmu_destroy(io->hw);
		return ret;
	}
	io->plat = (struct platform){
		.pm = s->pm,
		.hw = io->hw,
		.smmu = io->smmu,
		.iommu = arm_smmu_iommu(io->smmu),
	};
	s->nr_iommus++;
	return 0;
}

static int add_device(struct uiommu_system *s, char **w, int n)
{
	struct sys_iommu *io = NULL;
	unsigned long sid = ~0UL, group = ~0UL;
	unsigned int fw_flags = 0;
	struct vfio_device *vdev;
	int ret;

	if (n < 2 || s->nr_devices == SYS_MAX_DEVICES || strlen(w[1]) >= 32)
		return -EINVAL;
	for (unsigned int i = 0; i < s->nr_devices; i++)
		if (!strcmp(s->devices[i].vdev->name, w[1]))
			return -EINVAL;
	for (int i = 2; i < n; i++) {
		if (!strncmp(w[i], "iommu=", 6))
			io = find_iommu(s, w[i] + 6);
		else if (!strncmp(w[i], "sid=", 4)) {
			if (parse_uint(w[i] + 4, 0xffff, &sid))
				return -EINVAL;
		} else if (!strncmp(w[i], "group=", 6)) {
			if (parse_uint(w[i] + 6, 0xffff, &group))
				return -EINVAL;
		} else if (!strcmp(w[i], "type=dma")) {
			;
		} else if (!strcmp(w[i], "stall")) {
			fw_flags |= DEVICE_FW_CAN_STALL;
		} else if (!strcmp(w[i], "pri")) {
			fw_flags |= DEVICE_FW_PRI;
		} else if (!strcmp(w[i], "nosnoop")) {
			fw_flags |= DEVICE_FW_NO_SNOOP;
		} else {
			return -EINVAL;
		}
	}
	if (!io || sid == ~0UL || group == ~0UL)
		return -EINVAL;
	/* group tags of the core are offset so that 0 stays "private" */
	ret = dmaengine_create(&io->plat, w[1], (uint32_t)sid,
			       (unsigned int)group + 1, fw_flags, &vdev);
	if (ret)
		return ret;
	ret = vfio_register_group_dev(vdev, (int)group);
	if (ret) {
		dmaengine_destroy(vdev);
		return ret;
	}
	s->devices[s->nr_devices++] = (struct sys_device){vdev, (int)group};
	return 0;
}

static int parse_topology(struct uiommu_system *s, const char *topology)
{
	char *copy = strdup(topology), *save = NULL, *item;
	int ret = 0;

	if (!copy)
		return -ENOMEM;
	for (item = strtok_r(copy, ";\n", &save); item && !ret;
	     item = strtok_r(NULL, ";\n", &save)) {
		char *w[16], *wsave = NULL, *hash = strchr(item, '#');
		int n = 0;

		if (hash)
			*hash = '\0';
		for (char *t = strtok_r(item, " \t", &wsave); t;
		     t = strtok_r(NULL, " \t", &wsave)) {
			if (n == 16) {
				ret = -EINVAL;
				break;
			}
			w[n++] = t;
		}
		if (ret || !n)
			continue;
		if (!strcmp(w[0], "iommu"))
			ret = add_iommu(s, w, n);
		else if (!strcmp(w[0], "device"))
			ret = add_device(s, w, n);
		else
			ret = -EINVAL;
	}
	free(copy);
	return ret;
}

static int system_create(const char *topology, struct uiommu_system **out)
{
	struct phys_config pcfg = {PHYS_DEFAULT_BASE, PHYS_DEFAULT_SIZE};
	struct uiommu_system *s;
	int ret;

	if (!topology)
		topology = getenv("UIOMMU_TOPOLOGY");
	if (!topology || !*topology)
		topology = UIOMMU_DEFAULT_TOPOLOGY;
	s = ui_zalloc(sizeof(*s));
	if (!s)
		return -ENOMEM;
	ret = phys_create(&pcfg, &s->pm);
	if (ret)
		goto err_free;
	ret = mm_create(s->pm, &s->mm);
	if (ret)
		goto err_phys;
	ret = parse_topology(s, topology);
	if (ret)
		goto err_system;
	*out = s;
	return 0;

err_system:
	system_free(s);
	return ret;
err_phys:
	phys_destroy(s->pm);
err_free:
	ui_free(s);
	return ret;
}

int uiommu_system_init(const char *topology)
{
	int ret = 0;

	pthread_mutex_lock(&sys_lock);
	if (sys)
		ret = -EBUSY;
	else
		ret = system_create(topology, &sys);
	pthread_mutex_unlock(&sys_lock);
	return ret;
}

int uiommu_system_exit(void)
{
	int ret = 0;

	pthread_mutex_lock(&sys_lock);
	if (!sys)
		ret = -ENODEV;
	else if (vfio_open_fds())
		ret = -EBUSY;
	else {
		system_free(sys);
		sys = NULL;
	}
	pthread_mutex_unlock(&sys_lock);
	return ret;
}

static struct uiommu_system *system_get(void)
{
	struct uiommu_system *s;

	pthread_mutex_lock(&sys_lock);
	if (!sys && system_create(NULL, &sys))
		sys = NULL;
	s = sys;
	pthread_mutex_unlock(&sys_lock);
	return s;
}

struct mm *uiommu_current_mm(void)
{
	struct uiommu_system *s = system_get();

	return s ? s->mm : NULL;
}

struct phys_mem *uiommu_system_phys(void)
{
	struct uiommu_system *s = system_get();

	return s ? s->pm : NULL;
}

struct smmu *uiommu_system_smmu(unsigned int i)
{
	struct uiommu_system *s = system_get();

	return s && i < s->nr_iommus ? s->iommus[i].hw : NULL;
}

bool uiommu_path_is_ours(const char *path)
{
	return path && !strncmp(path, "/dev/vfio/", 10);
}

bool uiommu_fd_is_ours(int fd)
{
	return vfio_fd_is_ours(fd);
}

int uiommu_open(const char *path, int flags)
{
	struct uiommu_system *s = system_get();

	if (!s) {
		errno = ENODEV;
		return -1;
	}
	return vfio_fops_open(s->mm, path, flags);
}

int uiommu_ioctl(int fd, unsigned long request, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, request);
	arg = va_arg(ap, void *); /* as the C library's ioctl does */
	va_end(ap);
	return vfio_fops_ioctl(fd, request, arg);
}

int uiommu_close(int fd)
{
	return vfio_fops_close(fd);
}

ssize_t uiommu_pread(int fd, void *buf, size_t count, off_t off)
{
	return vfio_fops_pread(fd, buf, count, off);
}

ssize_t uiommu_pwrite(int fd, const void *buf, size_t count, off_t off)
{
	return vfio_fops_pwrite(fd, buf, count, off);
}

ssize_t uiommu_read(int fd, void *buf, size_t count)
{
	return vfio_fops_read(fd, buf, count);
}

ssize_t uiommu_write(int fd, const void *buf, size_t count)
{
	return vfio_fops_write(fd, buf, count);
}

off_t uiommu_lseek(int fd, off_t off, int whence)
{
	return vfio_fops_lseek(fd, off, whence);
}

void *uiommu_mmap(void *addr, size_t len, int prot, int flags, int fd,
		  off_t off)
{
	struct uiommu_system *s = system_get();

	if (!s) {
		errno = ENODEV;
		return MAP_FAILED;
	}
	return vfio_fops_mmap(s->mm, len, prot, flags, fd, off);
}

int uiommu_munmap(void *addr, size_t len)
{
	struct uiommu_system *s = system_get();
	int ret = s ? mm_munmap(s->mm, addr, len) : -ENODEV;

	if (ret) {
		errno = -ret;
		return -1;
	}
	return 0;
}
