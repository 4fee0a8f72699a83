// SPDX-License-Identifier: MIT
/*
 * libuiommu-preload.so: runs an unmodified, dynamically linked VFIO program
 * against uiommu.  Loaded with LD_PRELOAD (uiommu exec does it), it serves
 * open/openat (and their 64-bit and fortified variants), ioctl, close,
 * read/write/lseek, pread/pwrite and mmap on /dev/vfio/... and the fds they
 * return from the library,
 * with the system described by $UIOMMU_TOPOLOGY.  Everything else goes to
 * the C library.
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
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mem/mem.h"
#include <uiommu/uapi.h>
#include "system/system.h"

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

/*
 * open, open64 (params (const char *path)) and openat, openat64 (params
 * (int dirfd, const char *path): /dev/vfio paths are absolute, so dirfd
 * does not matter): ours, or the C library's with the mode it may take.
 * args names the params for the C library's call.
 */
#define DEFINE_OPEN(name, params, args)                        \
	EXPORT int name(UNPAREN params, int flags, ...)        \
	{                                                      \
		va_list ap;                                    \
		mode_t mode;                                   \
                                                               \
		va_start(ap, flags);                           \
		mode = va_mode(flags, ap);                     \
		va_end(ap);                                    \
		if (our_path(path))                            \
			return our_open(path, flags);          \
		REAL(name);                                    \
		return real_##name(UNPAREN args, flags, mode); \
	}

DEFINE_OPEN(open, (const char *path), (path))
DEFINE_OPEN(open64, (const char *path), (path))
DEFINE_OPEN(openat, (int dirfd, const char *path), (dirfd, path))
DEFINE_OPEN(openat64, (int dirfd, const char *path), (dirfd, path))

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
	if (ours(fd))
		return our_rw(fd, buf, n, off, false);
	REAL(pread);
	return real_pread(fd, buf, n, off);
}

EXPORT ssize_t pread64(int fd, void *buf, size_t n, off_t off)
{
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
	if (ours(fd))
		return our_rw(fd, (void *)buf, n, off, true);
	REAL(pwrite);
	return real_pwrite(fd, buf, n, off);
}

EXPORT ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
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
	if (ours(fd))
		return our_rw_pos(fd, (void *)buf, n, true);
	REAL(write);
	return real_write(fd, buf, n);
}

EXPORT off_t lseek(int fd, off_t off, int whence)
{
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
