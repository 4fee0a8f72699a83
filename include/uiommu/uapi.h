/* SPDX-License-Identifier: MIT */
/*
 * uiommu's system-call front: the VFIO character devices (/dev/vfio/vfio,
 * /dev/vfio/N) and device fds, served in process.  uiommu_open(),
 * uiommu_ioctl(), uiommu_close(), uiommu_pread() and uiommu_pwrite() behave
 * as the system calls do (-1 and errno), with the ioctl numbers and structs
 * of <linux/vfio.h>.  The fds are real descriptors (of /dev/null) so they
 * never collide with a program's own; the preload library routes calls on
 * them here.
 *
 * The system behind them (memory, IOMMUs, devices, groups) is described by
 * a topology string, one item per line or ';'-separated:
 *
 *   iommu NAME [noncoherent] [threaded]
 *   device NAME iommu=NAME sid=N group=N [type=dma] [stall] [pri] [nosnoop]
 *
 * Group numbers name /dev/vfio/N.  Without a topology (and without the
 * UIOMMU_TOPOLOGY environment variable) the system has one SMMU and two
 * DMA-engine devices, dma0 in group 0 and dma1 in group 1.
 */
#ifndef UIOMMU_UAPI_H
#define UIOMMU_UAPI_H

#include <sys/types.h>
#include <uiommu/mem.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UIOMMU_DEFAULT_TOPOLOGY                                \
	"iommu smmu0; device dma0 iommu=smmu0 sid=1 group=0; " \
	"device dma1 iommu=smmu0 sid=2 group=1"

/* Build the system from a topology (NULL: $UIOMMU_TOPOLOGY or the
 * default).  -EBUSY if one exists; -EINVAL for a bad description.  The
 * first uiommu_open() does this implicitly. */
UIOMMU_API int uiommu_system_init(const char *topology);
/* Tear it down: -EBUSY while fds are open. */
UIOMMU_API int uiommu_system_exit(void);
/* This process's address space: DMA-able memory from mm_mmap() on it is a
 * plain pointer the program can use and hand to VFIO_IOMMU_MAP_DMA. */
UIOMMU_API struct mm *uiommu_current_mm(void);
UIOMMU_API struct phys_mem *uiommu_system_phys(void);
/* The i-th IOMMU's hardware (its counters), NULL past the last. */
struct smmu;
UIOMMU_API struct smmu *uiommu_system_smmu(unsigned int i);

/* Is fd one of ours? */
UIOMMU_API bool uiommu_fd_is_ours(int fd);
/* Is path one of ours (/dev/vfio/...)? */
UIOMMU_API bool uiommu_path_is_ours(const char *path);

UIOMMU_API int uiommu_open(const char *path, int flags);
/* Like ioctl(2): the third argument is a pointer or an integer. */
UIOMMU_API int uiommu_ioctl(int fd, unsigned long request, ...);
UIOMMU_API int uiommu_close(int fd);
UIOMMU_API ssize_t uiommu_pread(int fd, void *buf, size_t count, off_t off);
UIOMMU_API ssize_t uiommu_pwrite(int fd, const void *buf, size_t count,
				 off_t off);
/* read(2)/write(2) at the fd's position, and lseek(2) (SEEK_SET, SEEK_CUR:
 * a device fd has no end), for device fds. */
UIOMMU_API ssize_t uiommu_read(int fd, void *buf, size_t count);
UIOMMU_API ssize_t uiommu_write(int fd, const void *buf, size_t count);
UIOMMU_API off_t uiommu_lseek(int fd, off_t off, int whence);
/* mmap(2) of a device region into this process (uiommu_current_mm()):
 * MAP_SHARED, page aligned, within the region's sparse-mmap areas. */
UIOMMU_API void *uiommu_mmap(void *addr, size_t len, int prot, int flags,
			     int fd, off_t off);
/* munmap(2) of memory uiommu mapped or adopted. */
UIOMMU_API int uiommu_munmap(void *addr, size_t len);

/* ---- the DMA-engine device (docs/dmaengine.md) ------------------------------ */

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
