// SPDX-License-Identifier: MIT
/*
 * libuiommu-preload.so: runs an unmodified, dynamically linked VFIO program
 * against uiommu.  Loaded with LD_PRELOAD (uiommu exec does it), it serves
 * open/openat (and their 64-bit and fortified variants), ioctl, close,
 * read/write/lseek, pread/pwrite and mmap on /dev/vfio/..., /dev/iommu and the fds they
 * return from the library,
 * with the system described by $UIOMMU_TOPOLOGY.  Everything else goes to
 * the C library.
 *
 * The machine's sysfs view (src/system/sysfs.c, docs/sysfs.md): path
 * lookups under the view's prefixes (/sys/bus/pci, /sys/devices/pci0000:00,
 * /sys/kernel/iommu_groups, /sys/module/vfio{,_pci,_iommu_type1},
 * /sys/devices/platform/<the machine's SMMUs and platform devices>,
 * /dev/vfio, /dev/iommu) go to the tree the front renders: open, openat and their
 * 64-bit and fortified variants, fopen, the stat family (stat, lstat,
 * fstatat, statx and glibc's older __xstat entry points), access,
 * faccessat, readlink, readlinkat, realpath (which answers the path the
 * kernel would: /sys/devices/pci0000:00/BDF, not the tree's), opendir and
 * scandir.  readdir, fstat and openat relative to a directory fd work on
 * the tree itself.  The view is read-only: opening one of its files for
 * writing, or access(W_OK), is EACCES.  stat of /dev/vfio/vfio,
 * /dev/vfio/N, /dev/vfio/devices/vfioN and /dev/iommu reports the
 * character devices they are (misc 10:196; the groups and the device
 * cdevs on dynamic majors; /dev/iommu misc 10:123).  Relative paths
 * resolved against the working
 * directory are not redirected.
 *
 * The kernel's per-thread fault-injection file (tools/fail_nth.c):
 * /proc/thread-self/fail-nth, /proc/self/fail-nth and
 * /proc/self/task/TID/fail-nth (or the pid's own number for self) open
 * through the open family; read, pread, write, pwrite, lseek and close on
 * them are served there, over uiommu's per-thread fail-the-Nth switch;
 * so are the debugfs attributes of fault injection uiommu has
 * (/sys/kernel/debug/failslab/ignore-gfp-wait, ...: opendir of
 * /sys/kernel/debug and its fail* directories, and opens of the attributes
 * by path or relative to such a directory's fd).
 *
 * Signals: sigaction, signal, bsd_signal, sysv_signal, sigset for SIGSEGV
 * and SIGBUS go through mmio_trap_sigaction(), so that a program's handler
 * is chained behind the trap handler of trapped MMIO and cannot displace
 * it; faults that are not trapped accesses reach the program's handler.
 *
 * The program's own memory (malloc, anonymous mmap) is adopted by the
 * library when VFIO_IOMMU_MAP_DMA first pins it (mm_set_adopt).  Once the
 * program used VFIO, its munmap and madvise go through mm
 * (mm_foreign_munmap, mm_foreign_madvise), which calls the MMU notifiers,
 * makes the C library's call at the kernel's point and updates the memory
 * it knows, so discards and unmaps behave as the kernel's MMU would (a
 * pinned page stays with the device).  Their cost is one lookup plus the
 * pages mm knows in the range, whatever its length.  mremap of adopted
 * memory gives it back to the program first (mm_foreign_mremap).
 *
 * mlockall is made MCL_ONFAULT, so that it does not populate the direct
 * map of the machine's physical memory (mlockall, below).
 *
 * Locked memory: by default the program's real RLIMIT_MEMLOCK and its
 * real CAP_IPC_LOCK (capget: with it, as root, pins are charged but never
 * limited, as in the kernel).  $UIOMMU_MEMLOCK (uiommu exec --memlock)
 * models a limit in bytes, or "unlimited", for a process WITHOUT the
 * capability, so that the ENOMEM boundary can be tried as root.
 *
 * The library itself calls mmap, munmap, open and so on: a per-thread guard
 * sends those straight to the C library.
 *
 * Nothing is torn down at exit, as the kernel tears a process's VFIO state
 * down only once the process can no longer look: giving adopted memory back
 * then could write into memory the program already freed.
 */
/* both open and open64 are defined here: no 64-bit redirection of names */
#undef _FILE_OFFSET_BITS
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "mem/mem.h"
#include "mem/mmio_trap.h"
#include "lib/uaccess.h"
#include "sanitizer/sanitizer.h"
#include <uiommu/uapi.h>
#include "system/system.h"
#include "vfio/vfio_device.h"

#include "fail_nth.h"

#define EXPORT __attribute__((visibility("default")))

static __thread int in_lib;
static int system_used; /* set once the program opened a VFIO file */

#define REAL(name)                            \
	static __typeof__(name) *real_##name; \
	if (!real_##name)                     \
	real_##name = (__typeof__(name) *)dlsym(RTLD_NEXT, #name)

static void lib_enter(void)
{
	in_lib++;
}

static void lib_exit(void)
{
	in_lib--;
}

/* The value of call, made inside the library (in_lib set: the C library
 * calls it makes go to the C library), with the errno it left. */
#define IN_LIB(call)                    \
	({                              \
		__typeof__(call) __ret; \
		int __err;              \
                                        \
		lib_enter();            \
		__ret = (call);         \
		__err = errno;          \
		lib_exit();             \
		errno = __err;          \
		__ret;                  \
	})

/* ---- $UIOMMU_REPORT: the state at exit, and after a kernel's release --- */

static FILE *report_open(void)
{
	const char *path = getenv("UIOMMU_REPORT");

	if (!path || !*path)
		return NULL;
	return strcmp(path, "-") ? fopen(path, "a") : stderr;
}

static void report_line(FILE *f, const char *what)
{
	struct mm *mm = uiommu_current_mm();
	struct phys_mem *pm = uiommu_system_phys();
	struct phys_report r = {0};

	if (pm)
		phys_report(pm, PHYS_OWNER_NONE /* every owner */, &r);
	fprintf(f,
		"uiommu-report: %s open-fds=%u pinned-pages=%llu "
		"locked-bytes=%llu\n",
		what, vfio_open_fds(), (unsigned long long)r.pinned,
		(unsigned long long)(mm ? mm_locked_vm(mm) : 0) *
			PHYS_PAGE_SIZE);
}

/*
 * With $UIOMMU_REPORT set (a file to append to, or "-" for stderr), the
 * program's exit reports the pins and locked memory its open VFIO files
 * still hold, then closes those files as the kernel does when the process
 * exits (devices, groups, containers: each release unpins and uncharges)
 * and reports again: a correct stack is back at zero.  Opt-in, because the
 * release gives adopted memory back while the program is exiting.
 */
static void report_at_exit(void)
{
	FILE *f;
	DIR *d;
	struct dirent *e;

	lib_enter();
	f = report_open();
	if (!f)
		goto out;
	report_line(f, "at-exit");
	/* how the program's ioctl arguments were copied, and how many bad
	 * pointers the fixup turned into -EFAULT */
	fprintf(f, "uiommu-report: uaccess copies=%s efaults=%lu\n",
		uaccess_fixup_enabled() ? "fixup" : "syscall",
		uaccess_fixups());
	d = opendir("/proc/self/fd");
	while (d && (e = readdir(d))) {
		int fd = atoi(e->d_name);

		if (e->d_name[0] != '.' && uiommu_fd_is_ours(fd))
			uiommu_close(fd);
	}
	if (d)
		closedir(d);
	report_line(f, "after-release");
	if (f != stderr)
		fclose(f);
	else
		fflush(f);
out:
	lib_exit();
}

/* ---- the DMA sanitizer's end of run ------------------------------------ */

/*
 * With the sanitizer asked for ($UIOMMU_OPTIONS, or `uiommu exec
 * --sanitize`), a run that reported anything ends as LeakSanitizer ends
 * one: the SUMMARY line, then exit status exitcode (1), whatever the
 * program's own status was.  Registered when the library loads, so that it
 * runs after the program's own exit handlers (registered later).
 */
static void sanitizer_at_exit(void)
{
	int status;

	lib_enter();
	status = san_summary();
	lib_exit();
	if (status) {
		fflush(NULL);
		_exit(status);
	}
}

__attribute__((constructor)) static void sanitizer_setup(void)
{
	const char *on = getenv("UIOMMU_SANITIZE");

	if (getenv("UIOMMU_OPTIONS") || (on && !strcmp(on, "1")))
		atexit(sanitizer_at_exit);
}

static void setup_mm(void)
{
	static int done;
	struct mm *mm;
	const char *lim;

	if (__atomic_exchange_n(&done, 1, __ATOMIC_ACQ_REL))
		return;
	mm = uiommu_current_mm();
	if (!mm)
		return;
	mm_set_adopt(mm, true);
	/* every user copy without a system call (on failure: with one) */
	mmio_trap_install();
	if (getenv("UIOMMU_REPORT"))
		atexit(report_at_exit);
	lim = getenv("UIOMMU_MEMLOCK");
	if (lim && !strcmp(lim, "unlimited"))
		mm_set_memlock_limit(mm, UINT64_MAX);
	else if (lim && *lim)
		mm_set_memlock_limit(mm, strtoull(lim, NULL, 0));
}

static int our_open(const char *path, int flags)
{
	int ret, err;

	lib_enter();
	setup_mm();
	__atomic_store_n(&system_used, 1, __ATOMIC_RELEASE);
	ret = uiommu_open(path, flags);
	err = errno;
	lib_exit();
	errno = err;
	return ret;
}

static bool ours(int fd)
{
	bool r;

	if (in_lib)
		return false;
	lib_enter();
	r = uiommu_fd_is_ours(fd);
	lib_exit();
	return r;
}

static bool our_path(const char *path)
{
	return !in_lib && uiommu_path_is_ours(path);
}

static mode_t va_mode(int flags, va_list ap)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE
		       ? va_arg(ap, mode_t)
		       : 0;
}

#define UNPAREN(...) __VA_ARGS__

/* ---- the sysfs view ------------------------------------------------------ */

/*
 * The path to give the C library for path: the rendered tree's when path
 * lies in the view (into buf, PATH_MAX bytes), else path itself; NULL
 * with errno set when the view cannot serve it, or (writes) when the
 * caller would write into the view.
 */
static const char *view_path(const char *path, char *buf, bool writes)
{
	int ret;

	if (in_lib || !path || path[0] != '/')
		return path;
	ret = IN_LIB(uiommu_sysfs_redirect(path, buf, PATH_MAX));
	if (ret < 0) {
		errno = -ret;
		return NULL;
	}
	if (!ret)
		return path;
	if (writes && strncmp(path, "/dev/", 5)) {
		errno = EACCES;
		return NULL;
	}
	return buf;
}

static bool open_writes(int flags)
{
	return (flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC));
}

static bool fopen_writes(const char *mode)
{
	return mode && strpbrk(mode, "wa+");
}

/* stat of a /dev/vfio node or /dev/iommu: the character device it is. */
static void dev_node_fix(const char *path, struct stat *st)
{
	mode_t mode;
	dev_t rdev;

	if (path &&
	    (!strncmp(path, "/dev/vfio/", 10) || !strcmp(path, "/dev/iommu")) &&
	    !IN_LIB(uiommu_sysfs_dev_node(path, &mode, &rdev))) {
		st->st_mode = mode;
		st->st_rdev = rdev;
		st->st_size = 0;
	}
}

/*
 * open, open64 (params (const char *path)) and openat, openat64 (params
 * (int dirfd, const char *path): /dev/vfio paths are absolute, so dirfd
 * does not matter): ours, or the C library's with the mode it may take.
 * args names the params for the C library's call.
 */
#define DEFINE_OPEN(name, params, args, dir)                       \
	EXPORT int name(UNPAREN params, int flags, ...)            \
	{                                                          \
		va_list ap;                                        \
		mode_t mode;                                       \
                                                                   \
		va_start(ap, flags);                               \
		mode = va_mode(flags, ap);                         \
		va_end(ap);                                        \
		char __buf[PATH_MAX];                              \
		pid_t __tid;                                       \
                                                                   \
		if (!in_lib && fail_nth_path(path, &__tid))        \
			return fail_nth_open(__tid, flags);        \
		if (!in_lib && fault_attr_path(dir, path))         \
			return fault_attr_open(dir, path, flags);  \
		if (our_path(path))                                \
			return our_open(path, flags);              \
		path = view_path(path, __buf, open_writes(flags)); \
		if (!path)                                         \
			return -1;                                 \
		REAL(name);                                        \
		return real_##name(UNPAREN args, flags, mode);     \
	}

DEFINE_OPEN(open, (const char *path), (path), AT_FDCWD)
DEFINE_OPEN(open64, (const char *path), (path), AT_FDCWD)
DEFINE_OPEN(openat, (int dirfd, const char *path), (dirfd, path), dirfd)
DEFINE_OPEN(openat64, (int dirfd, const char *path), (dirfd, path), dirfd)

/* the fortified variants (-D_FORTIFY_SOURCE) */
EXPORT int __open_2(const char *path, int flags);
EXPORT int __open_2(const char *path, int flags)
{
	return open(path, flags);
}

EXPORT int __open64_2(const char *path, int flags);
EXPORT int __open64_2(const char *path, int flags)
{
	return open64(path, flags);
}

EXPORT int __openat_2(int dirfd, const char *path, int flags);
EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
	return openat(dirfd, path, flags);
}

EXPORT int __openat64_2(int dirfd, const char *path, int flags);
EXPORT int __openat64_2(int dirfd, const char *path, int flags)
{
	return openat64(dirfd, path, flags);
}

EXPORT int close(int fd)
{
	if (fail_nth_fd(fd))
		return fail_nth_close(fd);
	if (ours(fd))
		return IN_LIB(uiommu_close(fd));
	REAL(close);
	return real_close(fd);
}

EXPORT int ioctl(int fd, unsigned long request, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, request);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (ours(fd))
		return IN_LIB(uiommu_ioctl(fd, request, arg));
	REAL(ioctl);
	return real_ioctl(fd, request, arg);
}

static ssize_t our_rw(int fd, void *buf, size_t n, off_t off, bool write)
{
	return IN_LIB(write ? uiommu_pwrite(fd, buf, n, off)
			    : uiommu_pread(fd, buf, n, off));
}

EXPORT ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
	if (fail_nth_fd(fd))
		return fail_nth_pread(fd, buf, n, off);
	if (ours(fd))
		return our_rw(fd, buf, n, off, false);
	REAL(pread);
	return real_pread(fd, buf, n, off);
}

EXPORT ssize_t pread64(int fd, void *buf, size_t n, off_t off)
{
	if (fail_nth_fd(fd))
		return fail_nth_pread(fd, buf, n, off);
	if (ours(fd))
		return our_rw(fd, buf, n, off, false);
	REAL(pread64);
	return real_pread64(fd, buf, n, off);
}

EXPORT ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off,
			   size_t buflen);
EXPORT ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off,
			   size_t buflen)
{
	return pread(fd, buf, n, off);
}

EXPORT ssize_t __pread64_chk(int fd, void *buf, size_t n, off_t off,
			     size_t buflen);
EXPORT ssize_t __pread64_chk(int fd, void *buf, size_t n, off_t off,
			     size_t buflen)
{
	return pread64(fd, buf, n, off);
}

EXPORT ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	if (fail_nth_fd(fd))
		return fail_nth_pwrite(fd, buf, n, off);
	if (ours(fd))
		return our_rw(fd, (void *)buf, n, off, true);
	REAL(pwrite);
	return real_pwrite(fd, buf, n, off);
}

EXPORT ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
	if (fail_nth_fd(fd))
		return fail_nth_pwrite(fd, buf, n, off);
	if (ours(fd))
		return our_rw(fd, (void *)buf, n, off, true);
	REAL(pwrite64);
	return real_pwrite64(fd, buf, n, off);
}

static ssize_t our_rw_pos(int fd, void *buf, size_t n, bool write)
{
	return IN_LIB(write ? uiommu_write(fd, buf, n)
			    : uiommu_read(fd, buf, n));
}

EXPORT ssize_t read(int fd, void *buf, size_t n)
{
	if (fail_nth_fd(fd))
		return fail_nth_read(fd, buf, n);
	if (ours(fd))
		return our_rw_pos(fd, buf, n, false);
	REAL(read);
	return real_read(fd, buf, n);
}

EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);
EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	return read(fd, buf, n);
}

EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
	if (fail_nth_fd(fd))
		return fail_nth_write(fd, buf, n);
	if (ours(fd))
		return our_rw_pos(fd, (void *)buf, n, true);
	REAL(write);
	return real_write(fd, buf, n);
}

EXPORT off_t lseek(int fd, off_t off, int whence)
{
	if (fail_nth_fd(fd))
		return fail_nth_lseek(fd, off, whence);
	if (ours(fd))
		return IN_LIB(uiommu_lseek(fd, off, whence));
	REAL(lseek);
	return real_lseek(fd, off, whence);
}

EXPORT off_t lseek64(int fd, off_t off, int whence)
{
	return lseek(fd, off, whence);
}

EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd,
		  off_t off)
{
	if (!(flags & MAP_ANONYMOUS) && ours(fd))
		return IN_LIB(uiommu_mmap(addr, len, prot, flags, fd, off));
	REAL(mmap);
	return real_mmap(addr, len, prot, flags, fd, off);
}

EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd,
		    off_t off)
{
	return mmap(addr, len, prot, flags, fd, off);
}

static bool have_system(void)
{
	/* only once the program used VFIO can memory be adopted */
	return !in_lib && __atomic_load_n(&system_used, __ATOMIC_ACQUIRE);
}

/* The C library's calls, for mm to make at the kernel's point. */
static int host_munmap(void *addr, size_t len)
{
	REAL(munmap);
	return real_munmap(addr, len);
}

static int host_madvise(void *addr, size_t len, int advice)
{
	REAL(madvise);
	return real_madvise(addr, len, advice);
}

/*
 * mlockall(MCL_CURRENT) populates every mapping, the library's direct map
 * of the machine's physical memory (sparse, gigabytes) with them: the
 * program's call is made MCL_ONFAULT, so pages are locked as they are
 * first touched and none is faulted in for nothing (DPDK's testpmd locks
 * all its memory at start).
 */
EXPORT int mlockall(int flags)
{
	REAL(mlockall);
	if (!in_lib && (flags & (MCL_CURRENT | MCL_FUTURE)))
		flags |= MCL_ONFAULT;
	return real_mlockall(flags);
}

/* The process's mm once the program used the library, else NULL. */
static struct mm *system_mm(void)
{
	return have_system() ? IN_LIB(uiommu_current_mm()) : NULL;
}

/* The library's mm, and the program's errno for its answer. */
static int foreign_ret(int ret)
{
	if (ret) {
		errno = -ret;
		return -1;
	}
	return 0;
}

/*
 * munmap and madvise of memory the library knows (adopted memory, device
 * mmaps) go through mm, which makes the C library's call itself: their
 * cost is one lookup plus the pages the library knows in the range.
 */
EXPORT int munmap(void *addr, size_t len)
{
	struct mm *mm = system_mm();

	if (mm)
		return foreign_ret(
			IN_LIB(mm_foreign_munmap(mm, addr, len, host_munmap)));
	return host_munmap(addr, len);
}

EXPORT int madvise(void *addr, size_t len, int advice)
{
	struct mm *mm = system_mm();

	if (mm)
		return foreign_ret(IN_LIB(mm_foreign_madvise(
			mm, addr, len, advice, host_madvise)));
	return host_madvise(addr, len, advice);
}

static void *host_mremap(void *addr, size_t old_len, size_t new_len, int flags,
			 void *new_addr)
{
	REAL(mremap);
	return real_mremap(addr, old_len, new_len, flags, new_addr);
}

/* mremap of adopted memory: mm gives it back to the program first (the
 * region tree would otherwise name the old addresses). */
EXPORT void *mremap(void *addr, size_t old_len, size_t new_len, int flags, ...)
{
	void *new_addr = NULL, *out = MAP_FAILED;
	struct mm *mm = NULL;
	va_list ap;
	int ret;

	if (flags & MREMAP_FIXED) {
		va_start(ap, flags);
		new_addr = va_arg(ap, void *);
		va_end(ap);
	}
	mm = system_mm();
	if (mm) {
		ret = IN_LIB(mm_foreign_mremap(mm, addr, old_len, new_len,
					       flags, new_addr, host_mremap,
					       &out));
		if (ret) {
			errno = -ret;
			return MAP_FAILED;
		}
		return out;
	}
	return host_mremap(addr, old_len, new_len, flags, new_addr);
}

/* ---- path lookups in the sysfs view ---------------------------------------- */

EXPORT FILE *fopen(const char *path, const char *mode)
{
	char buf[PATH_MAX];

	path = view_path(path, buf, fopen_writes(mode));
	if (!path)
		return NULL;
	REAL(fopen);
	return real_fopen(path, mode);
}

EXPORT FILE *fopen64(const char *path, const char *mode)
{
	char buf[PATH_MAX];

	path = view_path(path, buf, fopen_writes(mode));
	if (!path)
		return NULL;
	REAL(fopen64);
	return real_fopen64(path, mode);
}

/*
 * The stat family: fstatat (with AT_SYMLINK_NOFOLLOW for lstat) on the
 * view's path, then the /dev/vfio nodes' type.  struct stat and stat64
 * are one layout on x86-64, as glibc's own aliases assume.
 */
static int view_fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	char buf[PATH_MAX];
	const char *p = view_path(path, buf, false);
	int ret;

	if (!p)
		return -1;
	REAL(fstatat);
	ret = real_fstatat(dirfd, p, st, flags);
	if (!ret && p != path)
		dev_node_fix(path, st);
	return ret;
}

EXPORT int stat(const char *path, struct stat *st)
{
	return view_fstatat(AT_FDCWD, path, st, 0);
}

EXPORT int lstat(const char *path, struct stat *st)
{
	return view_fstatat(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW);
}

EXPORT int fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	return view_fstatat(dirfd, path, st, flags);
}

EXPORT int stat64(const char *path, struct stat64 *st)
{
	return view_fstatat(AT_FDCWD, path, (struct stat *)st, 0);
}

EXPORT int lstat64(const char *path, struct stat64 *st)
{
	return view_fstatat(AT_FDCWD, path, (struct stat *)st,
			    AT_SYMLINK_NOFOLLOW);
}

EXPORT int fstatat64(int dirfd, const char *path, struct stat64 *st, int flags)
{
	return view_fstatat(dirfd, path, (struct stat *)st, flags);
}

/* glibc's entry points before 2.33, which older binaries still call */
EXPORT int __xstat(int ver, const char *path, struct stat *st);
EXPORT int __xstat(int ver, const char *path, struct stat *st)
{
	return view_fstatat(AT_FDCWD, path, st, 0);
}

EXPORT int __lxstat(int ver, const char *path, struct stat *st);
EXPORT int __lxstat(int ver, const char *path, struct stat *st)
{
	return view_fstatat(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW);
}

EXPORT int __fxstatat(int ver, int dirfd, const char *path, struct stat *st,
		      int flags);
EXPORT int __fxstatat(int ver, int dirfd, const char *path, struct stat *st,
		      int flags)
{
	return view_fstatat(dirfd, path, st, flags);
}

EXPORT int __xstat64(int ver, const char *path, struct stat64 *st);
EXPORT int __xstat64(int ver, const char *path, struct stat64 *st)
{
	return view_fstatat(AT_FDCWD, path, (struct stat *)st, 0);
}

EXPORT int __lxstat64(int ver, const char *path, struct stat64 *st);
EXPORT int __lxstat64(int ver, const char *path, struct stat64 *st)
{
	return view_fstatat(AT_FDCWD, path, (struct stat *)st,
			    AT_SYMLINK_NOFOLLOW);
}

EXPORT int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *st,
			int flags);
EXPORT int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *st,
			int flags)
{
	return view_fstatat(dirfd, path, (struct stat *)st, flags);
}

EXPORT int statx(int dirfd, const char *path, int flags, unsigned int mask,
		 struct statx *stx)
{
	char buf[PATH_MAX];
	const char *p = view_path(path, buf, false);
	mode_t mode;
	dev_t rdev;
	int ret;

	if (!p)
		return -1;
	REAL(statx);
	ret = real_statx(dirfd, p, flags, mask, stx);
	if (!ret && p != path &&
	    (!strncmp(path, "/dev/vfio/", 10) || !strcmp(path, "/dev/iommu")) &&
	    !IN_LIB(uiommu_sysfs_dev_node(path, &mode, &rdev))) {
		stx->stx_mode = (uint16_t)mode;
		stx->stx_rdev_major = major(rdev);
		stx->stx_rdev_minor = minor(rdev);
		stx->stx_size = 0;
	}
	return ret;
}

static bool access_writes(int mode)
{
	return mode & W_OK;
}

EXPORT int access(const char *path, int mode)
{
	char buf[PATH_MAX];

	path = view_path(path, buf, access_writes(mode));
	if (!path)
		return -1;
	REAL(access);
	return real_access(path, mode);
}

EXPORT int faccessat(int dirfd, const char *path, int mode, int flags)
{
	char buf[PATH_MAX];

	path = view_path(path, buf, access_writes(mode));
	if (!path)
		return -1;
	REAL(faccessat);
	return real_faccessat(dirfd, path, mode, flags);
}

EXPORT ssize_t readlink(const char *path, char *out, size_t len)
{
	char buf[PATH_MAX];

	path = view_path(path, buf, false);
	if (!path)
		return -1;
	REAL(readlink);
	return real_readlink(path, out, len);
}

EXPORT ssize_t readlinkat(int dirfd, const char *path, char *out, size_t len)
{
	char buf[PATH_MAX];

	path = view_path(path, buf, false);
	if (!path)
		return -1;
	REAL(readlinkat);
	return real_readlinkat(dirfd, path, out, len);
}

EXPORT ssize_t __readlink_chk(const char *path, char *out, size_t len,
			      size_t outlen);
EXPORT ssize_t __readlink_chk(const char *path, char *out, size_t len,
			      size_t outlen)
{
	return readlink(path, out, len);
}

EXPORT ssize_t __readlinkat_chk(int dirfd, const char *path, char *out,
				size_t len, size_t outlen);
EXPORT ssize_t __readlinkat_chk(int dirfd, const char *path, char *out,
				size_t len, size_t outlen)
{
	return readlinkat(dirfd, path, out, len);
}

/* realpath: resolved in the tree, answered as the kernel's /sys path. */
EXPORT char *realpath(const char *path, char *resolved)
{
	char buf[PATH_MAX], *out;
	const char *p = view_path(path, buf, false);

	if (!p)
		return NULL;
	REAL(realpath);
	out = real_realpath(p, resolved);
	if (out && p != path)
		IN_LIB(uiommu_sysfs_unredirect(out));
	return out;
}

EXPORT char *__realpath_chk(const char *path, char *resolved,
			    size_t resolvedlen);
EXPORT char *__realpath_chk(const char *path, char *resolved,
			    size_t resolvedlen)
{
	return realpath(path, resolved);
}

EXPORT char *canonicalize_file_name(const char *path)
{
	return realpath(path, NULL);
}

EXPORT DIR *opendir(const char *path)
{
	char buf[PATH_MAX];
	const char *fa;

	fa = in_lib ? NULL : fault_attr_dir(path, buf, sizeof(buf));
	if (fa) {
		REAL(opendir);
		return real_opendir(fa);
	}
	path = view_path(path, buf, false);
	if (!path)
		return NULL;
	REAL(opendir);
	return real_opendir(path);
}

typedef int (*scandir_filter)(const struct dirent *);
typedef int (*scandir_compar)(const struct dirent **, const struct dirent **);

EXPORT int scandir(const char *path, struct dirent ***list,
		   scandir_filter filter, scandir_compar compar)
{
	char buf[PATH_MAX];

	path = view_path(path, buf, false);
	if (!path)
		return -1;
	REAL(scandir);
	return real_scandir(path, list, filter, compar);
}

typedef int (*scandir64_filter)(const struct dirent64 *);
typedef int (*scandir64_compar)(const struct dirent64 **,
				const struct dirent64 **);

EXPORT int scandir64(const char *path, struct dirent64 ***list,
		     scandir64_filter filter, scandir64_compar compar)
{
	char buf[PATH_MAX];

	path = view_path(path, buf, false);
	if (!path)
		return -1;
	REAL(scandir64);
	return real_scandir64(path, list, filter, compar);
}

/* ---- signals: the program's SIGSEGV and SIGBUS handlers behind ours ------- */

static bool trapped_signal(int sig)
{
	return sig == SIGSEGV || sig == SIGBUS;
}

EXPORT int sigaction(int sig, const struct sigaction *act,
		     struct sigaction *old)
{
	if (!in_lib && trapped_signal(sig))
		return IN_LIB(mmio_trap_sigaction(sig, act, old));
	REAL(sigaction);
	return real_sigaction(sig, act, old);
}

EXPORT int __sigaction(int sig, const struct sigaction *act,
		       struct sigaction *old);
EXPORT int __sigaction(int sig, const struct sigaction *act,
		       struct sigaction *old)
{
	return sigaction(sig, act, old);
}

/* signal() with sigaction's flags and mask; SIG_ERR and errno on error. */
static sighandler_t install(int sig, sighandler_t h, int flags, bool self_mask)
{
	struct sigaction sa = {.sa_handler = h, .sa_flags = flags}, old;

	if (h == SIG_ERR || sig < 1 || sig >= NSIG) {
		errno = EINVAL;
		return SIG_ERR;
	}
	sigemptyset(&sa.sa_mask);
	if (self_mask)
		sigaddset(&sa.sa_mask, sig);
	if (sigaction(sig, &sa, &old))
		return SIG_ERR;
	return old.sa_handler;
}

/* BSD semantics (glibc's signal): restarting, the signal blocked in its
 * handler, the handler kept. */
EXPORT sighandler_t signal(int sig, sighandler_t h)
{
	return install(sig, h, SA_RESTART, true);
}

EXPORT sighandler_t bsd_signal(int sig, sighandler_t h);
EXPORT sighandler_t bsd_signal(int sig, sighandler_t h)
{
	return install(sig, h, SA_RESTART, true);
}

/* System V semantics: the handler reset on delivery, the signal not
 * blocked in it, no restart. */
EXPORT sighandler_t sysv_signal(int sig, sighandler_t h)
{
	return install(sig, h, SA_RESETHAND | SA_NODEFER, false);
}

EXPORT sighandler_t __sysv_signal(int sig, sighandler_t h);
EXPORT sighandler_t __sysv_signal(int sig, sighandler_t h)
{
	return sysv_signal(sig, h);
}

/* sigset: SIG_HOLD blocks the signal; anything else installs the handler
 * and unblocks it.  SIG_HOLD is the answer when it was blocked. */
EXPORT sighandler_t sigset(int sig, sighandler_t h)
{
	sigset_t set, was;
	sighandler_t prev;
	struct sigaction cur;

	if (sig < 1 || sig >= NSIG) {
		errno = EINVAL;
		return SIG_ERR;
	}
	sigemptyset(&set);
	sigaddset(&set, sig);
	if (h == SIG_HOLD) {
		if (sigaction(sig, NULL, &cur) ||
		    sigprocmask(SIG_BLOCK, &set, &was))
			return SIG_ERR;
		return sigismember(&was, sig) ? SIG_HOLD : cur.sa_handler;
	}
	prev = install(sig, h, 0, false);
	if (prev == SIG_ERR || sigprocmask(SIG_UNBLOCK, &set, &was))
		return SIG_ERR;
	return sigismember(&was, sig) ? SIG_HOLD : prev;
}
