/* SPDX-License-Identifier: MIT */
/*
 * uiommu's stable interface: the system-call front of VFIO, served in
 * process.  A program opens the VFIO character devices (/dev/vfio/vfio,
 * /dev/vfio/N) and device fds with uiommu_open() and drives them with the
 * ioctl numbers and structs of <linux/vfio.h>; the errno values are the
 * kernel's (docs/uapi.md lists them per ioctl).  The fds are real
 * descriptors (of /dev/null) so they never collide with a program's own;
 * the preload library (tools/preload.c) routes unmodified programs' calls
 * on them here.  src/system/front.c implements this header.
 *
 * This header is self-contained: it includes only the C library and
 * <uiommu/base.h>, and names the library's objects as opaque types.
 *
 * Error conventions.  The calls named after a system call (uiommu_open,
 * uiommu_ioctl, ...) behave as that call does: they return -1 (mmap:
 * MAP_FAILED) and set errno.  The others (uiommu_system_*, uiommu_*_stats)
 * return 0 or a negative errno and leave errno alone.
 *
 * The system behind the fds (memory, IOMMUs, devices, groups) is described
 * by a topology string, one item per line or ';'-separated, words separated
 * by blanks, '#' starting a comment:
 *
 *   iommu NAME [noncoherent] [threaded]
 *   device NAME iommu=NAME sid=N group=N [type=dma] [stall] [pri] [nosnoop]
 *   device NAME type=ioat bdf=DDDD:BB:DD.F iommu=NAME sid=N group=N
 *          [threaded] [stall] [pri] [nosnoop]
 *   vfio-container type1|iommufd
 *
 * An iommu is an emulated SMMUv3 with its driver (noncoherent: its table
 * walks and DMA do not snoop CPU caches; threaded: its queues are served
 * by threads of their own).  A device is a DMA engine (the registers
 * below) on stream sid of an iommu named before it, in VFIO group N
 * (/dev/vfio/N); stall and pri let its faults wait for software, nosnoop
 * lets its DMA bypass CPU caches.  A type=ioat device is instead an
 * emulated Intel I/OAT DMA engine (CB DMA 3.3, PCI 8086:2021, docs/ioat.md)
 * behind vfio-pci, at PCI address bdf (hexadecimal domain:bus:device.
 * function, device below 0x20, function below 8), which is also its name
 * for VFIO_GROUP_GET_DEVICE_FD ("0000:00:04.0"); threaded runs its channel
 * on a thread of its own instead of in the doorbell's store.  Names are
 * unique and shorter than 32 bytes, PCI addresses unique, sid and group
 * fit 16 bits, at most 8 iommus and 32 devices; anything else is -EINVAL.
 * vfio-container says what /dev/vfio/vfio opens: type1's container (the
 * default) or an iommufd context serving the VFIO container ioctls
 * (Linux 6.12's CONFIG_IOMMUFD_VFIO_CONTAINER, docs/iommufd.md "The
 * compat container"); the UIOMMU_VFIO_CONTAINER environment variable
 * (uiommu exec --vfio-container) overrides it.
 * Without a topology (and without the UIOMMU_TOPOLOGY environment
 * variable) the system is UIOMMU_DEFAULT_TOPOLOGY: one SMMU, two
 * DMA-engine devices, dma0 in group 0 and dma1 in group 1, and one I/OAT,
 * ioat0 at 0000:00:04.0 in group 2.
 */
#ifndef UIOMMU_UAPI_H
#define UIOMMU_UAPI_H

#include <stdint.h>
#include <sys/types.h>
#include <uiommu/base.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UIOMMU_DEFAULT_TOPOLOGY                                \
	"iommu smmu0; device dma0 iommu=smmu0 sid=1 group=0; " \
	"device dma1 iommu=smmu0 sid=2 group=1; "              \
	"device ioat0 type=ioat bdf=0000:00:04.0 iommu=smmu0 sid=3 group=2"

/* ---- the system --------------------------------------------------------- */

/*
 * Build the system from topology (NULL: $UIOMMU_TOPOLOGY if set and not
 * empty, else UIOMMU_DEFAULT_TOPOLOGY).  The first call that needs the
 * system builds the default one implicitly when this was not called.
 * Returns 0, -EBUSY if a system exists, -EINVAL for a description that
 * breaks the grammar or its limits, -ENOMEM.
 */
UIOMMU_API int uiommu_system_init(const char *topology);
/* Tear the system down.  Returns 0, -ENODEV if there is none, -EBUSY while
 * any of its fds is open. */
UIOMMU_API int uiommu_system_exit(void);

/* ---- the fd front -------------------------------------------------------- */

/* Is fd one of ours (open, and returned by uiommu_open or a
 * VFIO_GROUP_GET_DEVICE_FD)? */
UIOMMU_API bool uiommu_fd_is_ours(int fd);
/* Is path one of ours (it starts with /dev/vfio/ but is not the directory
 * /dev/vfio/devices, or is /dev/iommu)? */
UIOMMU_API bool uiommu_path_is_ours(const char *path);

/*
 * open(2) of /dev/vfio/vfio (a new container), /dev/vfio/N (group N),
 * /dev/vfio/devices/vfioN (device N's cdev, unusable until
 * VFIO_DEVICE_BIND_IOMMUFD) or /dev/iommu (a new iommufd context).
 * Returns the fd, or -1 with errno: ENOENT (not a path of ours, no such
 * group), EBUSY (the group is open), ENOMEM, ENODEV (no system could be
 * built).
 */
UIOMMU_API int uiommu_open(const char *path, int flags);
/*
 * ioctl(2): the third argument is a pointer or an integer, as the VFIO
 * request wants.  Returns what the request returns (0, a new fd, an
 * extension's answer), or -1 with errno: EBADF (not an fd of ours),
 * ENOTTY (a request the file does not serve), and the request's own
 * errnos (docs/uapi.md).
 */
UIOMMU_API int uiommu_ioctl(int fd, unsigned long request, ...);
/* close(2).  Returns 0, or -1 with errno EBADF.  The file lives on while
 * other references hold it (a group file, while its device fds are open). */
UIOMMU_API int uiommu_close(int fd);
/*
 * pread(2)/pwrite(2) of a device fd at a region offset (region index << 40
 * plus the offset in the region).  Returns the count transferred (short
 * when the transfer runs past the region's end), or -1 with errno: EINVAL
 * (negative offset, not a device fd, offset at or past the region's end),
 * EBADF (not an fd of ours, or not opened for that access), EFAULT (bad
 * buffer).
 */
UIOMMU_API ssize_t uiommu_pread(int fd, void *buf, size_t count, off_t off);
UIOMMU_API ssize_t uiommu_pwrite(int fd, const void *buf, size_t count,
				 off_t off);
/* read(2)/write(2) of a device fd at its file position, which a transfer
 * advances.  Returns and errnos as uiommu_pread. */
UIOMMU_API ssize_t uiommu_read(int fd, void *buf, size_t count);
UIOMMU_API ssize_t uiommu_write(int fd, const void *buf, size_t count);
/* lseek(2): no VFIO file can seek.  Returns -1 with errno ESPIPE (EBADF
 * for an fd not ours). */
UIOMMU_API off_t uiommu_lseek(int fd, off_t off, int whence);
/*
 * mmap(2) of a device region into this process: MAP_SHARED, page aligned,
 * within the region's sparse-mmap areas.  Returns the address, or
 * MAP_FAILED with errno: EINVAL (alignment, length, a private mapping or a
 * range no area allows), EBADF, ENOMEM, EOVERFLOW, EOPNOTSUPP, EACCES
 * (protection beyond the fd's mode), ENODEV (not a device fd, or no
 * system), in the order docs/uapi.md gives.
 *
 * With MAP_ANONYMOUS (fd -1, offset 0, MAP_PRIVATE or MAP_SHARED, no
 * MAP_FIXED) it is DMA-able memory instead: len bytes of zeroes, read and
 * write, in the process's address space as uiommu models it, for
 * VFIO_IOMMU_MAP_DMA.  Give it back with uiommu_munmap().  Returns
 * MAP_FAILED with errno EINVAL for other flags or a zero length, ENOMEM.
 * (Programs run under the preload library may map their own memory
 * instead: it is adopted when MAP_DMA first pins it.)
 */
UIOMMU_API void *uiommu_mmap(void *addr, size_t len, int prot, int flags,
			     int fd, off_t off);
/* munmap(2) of memory uiommu mapped or adopted.  Returns 0, or -1 with
 * errno (EINVAL for a bad range, ENODEV without a system). */
UIOMMU_API int uiommu_munmap(void *addr, size_t len);

/* ---- counters ------------------------------------------------------------ */

/*
 * What one IOMMU of the system counted since it was built or last reset:
 * its translations, the IOTLB, its faults, the DMA it carried and the
 * invalidation commands its driver issued.  Fields are only ever added at
 * the end.
 */
struct uiommu_stats {
	uint64_t translations;	/* DMA pages translated */
	uint64_t iotlb_hits;	/* translations the IOTLB answered */
	uint64_t iotlb_misses;	/* translations that missed it */
	uint64_t walks;		/* page-table walks */
	uint64_t faults;	/* translations that faulted */
	uint64_t events;	/* fault events recorded */
	uint64_t stalls;	/* faults stalled for software */
	uint64_t page_requests; /* page requests issued */
	uint64_t dma_reads, dma_writes;
	uint64_t dma_bytes_read, dma_bytes_written;
	uint64_t dma_errors; /* transfers that failed */
	uint64_t tlbi_va;    /* TLB invalidations by stage-1 address */
	uint64_t tlbi_asid;  /* ... of one address space (ASID) */
	uint64_t tlbi_ipa;   /* ... by stage-2 address */
	uint64_t tlbi_vmid;  /* ... of one VM (VMID), both stages */
	uint64_t tlbi_all;   /* ... of everything */
	uint64_t syncs;	     /* command-queue syncs */
};

/* Read IOMMU iommu's counters (its index in the topology); like every call
 * of the front, the first builds the system when none exists.  Returns 0,
 * or -ENODEV past the last IOMMU or when no system can be built. */
UIOMMU_API int uiommu_get_stats(unsigned int iommu, struct uiommu_stats *st);
/* Zero IOMMU iommu's counters.  Returns 0 or -ENODEV. */
UIOMMU_API int uiommu_reset_stats(unsigned int iommu);

/* ---- the DMA sanitizer (docs/sanitizer.md) ------------------------------ */

/* One finding of the sanitizer, as its report's head line states it. */
struct uiommu_dma_report {
	const char *kind;   /* "dma-unmapped", "dma-permission" */
	const char *device; /* the device's name (a PCI device's BDF) */
	uint32_t sid;	    /* its stream id */
	int write;	    /* 1: a DMA write, 0: a read */
	uint64_t iova;	    /* the IOVA the SMMU refused */
	uint64_t len;	    /* bytes of the refused access */
	const char *text;   /* the whole report, lines ending in newlines */
};

typedef void (*uiommu_dma_report_fn)(const struct uiommu_dma_report *r,
				     void *arg);

/*
 * Turn the DMA sanitizer on for this process, with its options from
 * $UIOMMU_OPTIONS (docs/sanitizer.md), and hand every report to fn(report,
 * arg) instead of writing it to stderr (fn NULL: written to stderr or the
 * options' log_path).  The pointers in a report live until fn returns;
 * fn is called on the thread whose device made the DMA, and must not call
 * the front.  Returns 0; or -1 with errno EBUSY when the system is built
 * already and the sanitizer is off (its IOVA spaces would lack their
 * history: call this before the first uiommu_open()).  Once on, the
 * sanitizer stays on; calling again only changes fn and arg.
 */
UIOMMU_API int uiommu_sanitize(uiommu_dma_report_fn fn, void *arg);

/* ---- the DMA-engine device (docs/dmaengine.md) -------------------------- */

/* A device fd's register layout: the device ABI, stable as the calls are. */

/* Region 0 registers, little endian, 4 KiB. */
#define DMAENGINE_REG_SRC      0x00 /* u64: source IOVA */
#define DMAENGINE_REG_DST      0x08 /* u64: destination IOVA */
#define DMAENGINE_REG_LEN      0x10 /* u64: bytes (at most 1 MiB) */
#define DMAENGINE_REG_DOORBELL 0x18 /* u32: write 1 to copy */
#define DMAENGINE_REG_STATUS   0x1c /* u32: DMAENGINE_STATUS_* */
#define DMAENGINE_REG_ERROR    0x20 /* u32: errno of the failed copy */
#define DMAENGINE_REG_COUNT    0x24 /* u32: copies completed */
#define DMAENGINE_REG_FAULT    0x28 /* u64: IOVA that faulted */
#define DMAENGINE_REG_SIZE     0x1000

#define DMAENGINE_STATUS_IDLE  0
#define DMAENGINE_STATUS_DONE  1
#define DMAENGINE_STATUS_ERROR 2

#define DMAENGINE_MAX_LEN (1u << 20)

/* Region 1: a 64 KiB memory BAR; its first page reads the magic and its
 * size, the rest (the sparse-mmap area) is device memory that may be
 * mmapped, write-combining allowed (MM_VM_ALLOW_WC). */
#define DMAENGINE_BAR_ID_MAGIC 0x444d4145

#ifdef __cplusplus
}
#endif
#endif /* UIOMMU_UAPI_H */
