// SPDX-License-Identifier: MIT
/*
 * The fd front: uiommu_open() and the calls beside it (include/uiommu/uapi.h)
 * over the VFIO layer's file operations (src/vfio/vfio_main.c), and the one
 * system per process they serve.
 *
 * Objects and lifetimes: the system is a machine (machine.c) built from a
 * topology (topology.c: the argument of uiommu_system_init, else
 * $UIOMMU_TOPOLOGY, else UIOMMU_DEFAULT_TOPOLOGY) plus the process's
 * address space (struct mm) that VFIO pins from, made on the machine's
 * memory once the machine is built and destroyed before it; its
 * vfio-container item (else $UIOMMU_VFIO_CONTAINER, which overrides it)
 * sets what /dev/vfio/vfio opens while it lives.  The topology
 * is parsed whole before anything is built, so a description with a
 * syntax error builds nothing.  The first uiommu_open()
 * (or any call that needs the system) builds it when uiommu_system_init()
 * did not; uiommu_system_exit() tears it down once no fd is open.
 *
 * The sysfs view (sysfs.c) of the machine is rendered on the first
 * uiommu_sysfs_redirect() that needs it, into a fresh directory under
 * $TMPDIR (else /tmp), and removed with the system or, for the process
 * that rendered it, at exit; a process killed by a signal leaves it
 * behind.
 *
 * The sanitizer (src/sanitizer) is turned on from the environment before
 * a system is built, or by uiommu_sanitize(), whose callback receives
 * each report in the public struct.
 *
 * Locking: sys_lock guards the system pointer and the view's directory
 * (set once) and is held across a build, a render and a teardown; the
 * system itself is immutable once built, so the calls that only use it
 * run without the lock.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/vfio.h>

#include <uiommu/uapi.h>
#include "iommufd/iommufd_uapi.h"
#include "vfio/vfio_device.h"

#include "lib/internal.h"
#include "sanitizer/sanitizer.h"
#include "system.h"

struct uiommu_system {
	struct machine *machine;
	struct mm *mm;
	char *view;	  /* the rendered sysfs view's directory, or NULL */
	pid_t view_owner; /* the process that rendered it (and removes it) */
};

static struct mutex sys_lock = MUTEX_INITIALIZER("sys_lock", SYSTEM_LOCK_SYS);
static struct uiommu_system *sys; /* sys_lock */

/* The rendered view goes with the system that rendered it (a forked child
 * leaves its parent's alone). */
static void view_free(struct uiommu_system *s)
{
	if (s->view && s->view_owner == getpid())
		sysfs_remove(s->view);
	free(s->view);
	s->view = NULL;
}

/* The system and what it holds; a failed create's parts may be absent. */
static void system_free(struct uiommu_system *s)
{
	lockdep_assert_held(&sys_lock);
	view_free(s);
	vfio_set_container_iommufd(false);
	mm_destroy(s->mm);
	machine_destroy(s->machine);
	ui_free(s);
}

int system_create(const char *topology, struct uiommu_system **out)
{
	struct uiommu_system *s;
	struct topology t;
	const char *env;
	int ret;

	lockdep_assert_held(&sys_lock);
	if (!topology)
		topology = getenv("UIOMMU_TOPOLOGY");
	if (!topology || !*topology)
		topology = UIOMMU_DEFAULT_TOPOLOGY;
	ret = topology_parse(topology, &t);
	if (ret)
		return ret;
	/* uiommu exec --vfio-container overrides the topology's */
	env = getenv("UIOMMU_VFIO_CONTAINER");
	if (env && *env) {
		ret = topology_parse_vfio_container(env,
						    &t.vfio_container_iommufd);
		if (ret)
			return ret;
	}
	/* $UIOMMU_OPTIONS or `uiommu exec --sanitize`: before the machine,
	 * whose IOVA spaces then keep their histories */
	san_enable_from_env();
	s = ui_zalloc(sizeof(*s));
	if (!s)
		return -ENOMEM;
	ret = machine_create(&t, &s->machine);
	if (ret)
		goto err;
	ret = mm_create(s->machine->pm, &s->mm);
	if (ret)
		goto err;
	vfio_set_container_iommufd(t.vfio_container_iommufd);
	*out = s;
	return 0;

err:
	system_free(s);
	return ret;
}

static uiommu_dma_report_fn report_fn;
static void *report_arg;

/* The sanitizer's report, in the public struct. */
static void report_adapter(const struct san_report_info *r, void *arg)
{
	struct uiommu_dma_report pub = {
		.kind = r->kind,
		.device = r->device,
		.sid = r->sid,
		.write = r->write,
		.iova = r->iova,
		.len = r->len,
		.text = r->text,
	};

	report_fn(&pub, report_arg);
}

int uiommu_sanitize(uiommu_dma_report_fn fn, void *arg)
{
	int ret = 0;

	mutex_lock(&sys_lock);
	if (sys && !san_enabled()) {
		ret = -EBUSY;
		goto out;
	}
	if (!san_enable_from_env())
		san_enable(NULL);
	if (!fn)
		san_set_report_fn(NULL, NULL);
	report_fn = fn;
	report_arg = arg;
	if (fn)
		san_set_report_fn(report_adapter, NULL);
out:
	mutex_unlock(&sys_lock);
	if (ret) {
		errno = -ret;
		return -1;
	}
	return 0;
}

int uiommu_system_init(const char *topology)
{
	int ret;

	mutex_lock(&sys_lock);
	if (sys)
		ret = -EBUSY;
	else
		ret = system_create(topology, &sys);
	mutex_unlock(&sys_lock);
	return ret;
}

int uiommu_system_exit(void)
{
	int ret = 0;

	mutex_lock(&sys_lock);
	if (!sys) {
		ret = -ENODEV;
	} else if (vfio_open_fds()) {
		ret = -EBUSY;
	} else {
		system_free(sys);
		sys = NULL;
	}
	mutex_unlock(&sys_lock);
	return ret;
}

static struct uiommu_system *system_get(void)
{
	struct uiommu_system *s;

	mutex_lock(&sys_lock);
	if (!sys && system_create(NULL, &sys))
		sys = NULL;
	s = sys;
	mutex_unlock(&sys_lock);
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

	return s ? s->machine->pm : NULL;
}

static struct smmu *system_smmu(unsigned int i)
{
	struct uiommu_system *s = system_get();

	return s && i < s->machine->nr_iommus ? s->machine->iommus[i].plat.hw
					      : NULL;
}

int uiommu_get_stats(unsigned int iommu, struct uiommu_stats *st)
{
	struct smmu *hw = system_smmu(iommu);
	struct smmu_counters c;

	if (!hw)
		return -ENODEV;
	smmu_counters_read(hw, &c);
	*st = (struct uiommu_stats){
		.translations = c.translations,
		.iotlb_hits = c.iotlb_hits,
		.iotlb_misses = c.iotlb_misses,
		.walks = c.walks,
		.faults = c.faults,
		.events = c.events,
		.stalls = c.stalls,
		.page_requests = c.page_requests,
		.dma_reads = c.dma_reads,
		.dma_writes = c.dma_writes,
		.dma_bytes_read = c.dma_bytes_read,
		.dma_bytes_written = c.dma_bytes_written,
		.dma_errors = c.dma_errors,
		.tlbi_va = c.cmd_tlbi_nh_va,
		.tlbi_asid = c.cmd_tlbi_nh_asid,
		.tlbi_ipa = c.cmd_tlbi_s2_ipa,
		.tlbi_vmid = c.cmd_tlbi_s12_vmall,
		.tlbi_all = c.cmd_tlbi_nh_all + c.cmd_tlbi_nsnh_all,
		.syncs = c.cmd_sync,
	};
	return 0;
}

int uiommu_reset_stats(unsigned int iommu)
{
	struct smmu *hw = system_smmu(iommu);

	if (!hw)
		return -ENODEV;
	smmu_counters_reset(hw);
	return 0;
}

bool uiommu_path_is_ours(const char *path)
{
	if (!path)
		return false;
	/* the cdevs' directory is the view's, as /dev/vfio itself */
	if (!strcmp(path, "/dev/vfio/devices") || !strcmp(path, "/dev/vfio/"
								"devices/"))
		return false;
	return !strncmp(path, "/dev/vfio/", 10) || !strcmp(path, "/dev/iommu");
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

/* The requests that map or unmap an IOVA space, whose caller's stack the
 * sanitizer's history keeps. */
static bool san_mapping_request(unsigned long request)
{
	switch (request) {
	case VFIO_IOMMU_MAP_DMA:
	case VFIO_IOMMU_UNMAP_DMA:
	case IOMMU_IOAS_MAP:
	case IOMMU_IOAS_UNMAP:
	case IOMMU_IOAS_COPY:
		return true;
	default:
		return false;
	}
}

/* With the sanitizer on, a mapping request's stack is captured here, at
 * the library's entry, and recorded by the layer that maps. */
static __attribute__((noinline)) int san_ioctl(int fd, unsigned long request,
					       void *arg)
{
	struct san_stack st;
	int ret;

	san_stack_capture(&st);
	san_call_stack = &st;
	ret = vfio_fops_ioctl(fd, request, arg);
	san_call_stack = NULL;
	return ret;
}

int uiommu_ioctl(int fd, unsigned long request, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, request);
	arg = va_arg(ap, void *); /* as the C library's ioctl does */
	va_end(ap);
	if (unlikely(san_enabled()) && san_mapping_request(request))
		return san_ioctl(fd, request, arg);
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

/* DMA-able anonymous memory: a region of the process's mm */
static void *anon_mmap(struct mm *mm, void *addr, size_t len, int prot,
		       int flags, int fd, off_t off)
{
	const int type = flags & (MAP_PRIVATE | MAP_SHARED);
	void *p;
	int ret;

	if (!len || fd != -1 || off || (flags & MAP_FIXED) ||
	    (type != MAP_PRIVATE && type != MAP_SHARED) ||
	    (prot & ~(PROT_READ | PROT_WRITE))) {
		errno = EINVAL;
		return MAP_FAILED;
	}
	ret = mm_mmap(mm, len, 0, &p);
	if (ret) {
		errno = -ret;
		return MAP_FAILED;
	}
	return p;
}

void *uiommu_mmap(void *addr, size_t len, int prot, int flags, int fd,
		  off_t off)
{
	struct uiommu_system *s = system_get();

	if (!s) {
		errno = ENODEV;
		return MAP_FAILED;
	}
	if (flags & MAP_ANONYMOUS)
		return anon_mmap(s->mm, addr, len, prot, flags, fd, off);
	return vfio_fops_mmap_at(s->mm, addr, len, prot, flags, fd, off);
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

/* ---- the sysfs view -------------------------------------------------------- */

static void view_exit(void)
{
	mutex_lock(&sys_lock);
	if (sys)
		view_free(sys);
	mutex_unlock(&sys_lock);
}

/* The system with its view rendered, or NULL with *err set. */
static struct uiommu_system *view_get(int *err)
{
	static bool exit_registered;
	struct uiommu_system *s;
	const char *tmp = getenv("TMPDIR");
	char dir[PATH_MAX];

	mutex_lock(&sys_lock);
	if (!sys && (*err = system_create(NULL, &sys)))
		sys = NULL;
	s = sys;
	if (!s || s->view)
		goto out;
	if (!tmp || !*tmp)
		tmp = "/tmp";
	if (snprintf(dir, sizeof(dir), "%s/uiommu-view.XXXXXX", tmp) >=
	    (int)sizeof(dir)) {
		*err = -ENAMETOOLONG;
		s = NULL;
		goto out;
	}
	if (!mkdtemp(dir)) {
		*err = -errno;
		s = NULL;
		goto out;
	}
	*err = sysfs_render(s->machine, dir);
	if (!*err && !(s->view = strdup(dir)))
		*err = -ENOMEM;
	if (*err) {
		sysfs_remove(dir);
		s = NULL;
		goto out;
	}
	s->view_owner = getpid();
	if (!exit_registered) {
		exit_registered = true;
		atexit(view_exit);
	}
out:
	mutex_unlock(&sys_lock);
	return s;
}

/* path with "//" and "/./" collapsed and no trailing "/", into out. */
static int normalize(const char *path, char *out, size_t len)
{
	size_t n = 0;

	for (const char *p = path; *p;) {
		if (*p == '/' &&
		    (p[1] == '/' || (p[1] == '.' && (p[2] == '/' || !p[2])))) {
			p += p[1] == '/' ? 1 : 2;
			continue;
		}
		if (n + 1 >= len)
			return -ENAMETOOLONG;
		out[n++] = *p++;
	}
	while (n > 1 && out[n - 1] == '/')
		n--;
	out[n] = '\0';
	return 0;
}

/* Could path be in the view at all (without building the system)? */
static bool maybe_view(const char *p)
{
	return !strncmp(p, "/sys/", 5) || !strncmp(p, "/dev/vfio", 9) ||
	       !strcmp(p, "/dev/iommu") || !strncmp(p, "//", 2);
}

int uiommu_sysfs_redirect(const char *path, char *buf, size_t len)
{
	struct uiommu_system *s;
	char norm[PATH_MAX];
	int ret;

	if (!path || path[0] != '/' || !maybe_view(path))
		return 0;
	ret = normalize(path, norm, sizeof(norm));
	if (ret)
		return ret;
	if (!sysfs_maybe_in_view(norm))
		return 0;
	s = view_get(&ret);
	if (!s)
		return ret ? ret : -ENODEV;
	if (!sysfs_in_view(s->machine, norm))
		return 0;
	if ((size_t)snprintf(buf, len, "%s%s", s->view, norm) >= len)
		return -ENAMETOOLONG;
	if (!strncmp(norm, "/sys/", 5)) {
		ret = sysfs_refresh(s->machine, s->view, norm + 1);
		if (ret)
			return ret;
	}
	return 1;
}

bool uiommu_sysfs_unredirect(char *path)
{
	const char *view;
	size_t n;

	mutex_lock(&sys_lock);
	view = sys ? sys->view : NULL;
	mutex_unlock(&sys_lock);
	if (!view)
		return false;
	n = strlen(view);
	if (strncmp(path, view, n) || path[n] != '/')
		return false;
	memmove(path, path + n, strlen(path + n) + 1);
	return true;
}

int uiommu_sysfs_dev_node(const char *path, mode_t *mode, dev_t *rdev)
{
	struct uiommu_system *s = system_get();
	char norm[PATH_MAX];
	int ret;

	if (!s)
		return -ENODEV;
	ret = normalize(path, norm, sizeof(norm));
	return ret ? ret : sysfs_dev_node(s->machine, norm, mode, rdev);
}
