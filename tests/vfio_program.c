// SPDX-License-Identifier: MIT
/*
 * An ordinary VFIO program: it knows nothing of uiommu, only <linux/vfio.h>,
 * open/ioctl/pread/pwrite/mmap and the DMA engine's register layout
 * (docs/dmaengine.md).  make check runs it under libuiommu-preload.so.
 *
 * It opens the container and group 0, sets up type1v2, maps two buffers of
 * its own anonymous memory, has the device copy one into the other, checks
 * the copy, unmaps the destination, checks that a copy into it now fails
 * without touching memory, and closes everything (with --exit-open it
 * exits with them open, as QEMU does).  Output is TAP.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tap_program.h"

/* the DMA engine's registers, region 0 */
#define REG_SRC	     0x00
#define REG_DST	     0x08
#define REG_LEN	     0x10
#define REG_DOORBELL 0x18
#define REG_STATUS   0x1c
#define REG_ERROR    0x20
#define STATUS_DONE  1
#define STATUS_ERROR 2

#define BUF (64 * 1024)

static uint32_t reg32(int dev, off_t base, off_t reg)
{
	uint32_t v = 0;

	if (pread(dev, &v, 4, base + reg) != 4)
		return ~0u;
	return v;
}

/*
 * The same register through read() at the file position: no VFIO file can
 * seek (lseek is ESPIPE, as the kernel's), so read up to it from wherever
 * the position is, a register at a time.
 */
static uint32_t reg32_read(int dev, off_t base, off_t reg)
{
	static off_t pos; /* region 0's offset is 0: the file position */
	uint32_t v = 0;

	if (base != 0 || lseek(dev, reg, SEEK_SET) != -1 || errno != ESPIPE)
		return ~0u;
	while (pos <= reg) {
		if (read(dev, &v, 4) != 4)
			return ~0u;
		pos += 4;
	}
	return pos == reg + 4 ? v : ~0u;
}

static int dma_copy(int dev, off_t base, uint64_t src, uint64_t dst,
		    uint64_t len)
{
	uint32_t one = 1;

	if (pwrite(dev, &src, 8, base + REG_SRC) != 8 ||
	    pwrite(dev, &dst, 8, base + REG_DST) != 8 ||
	    pwrite(dev, &len, 8, base + REG_LEN) != 8 ||
	    pwrite(dev, &one, 4, base + REG_DOORBELL) != 4)
		return -1;
	return (int)reg32(dev, base, REG_STATUS);
}

int main(int argc, char **argv)
{
	struct vfio_group_status status = {.argsz = sizeof(status)};
	struct vfio_iommu_type1_info info = {.argsz = sizeof(info)};
	struct vfio_device_info dinfo = {.argsz = sizeof(dinfo)};
	struct vfio_region_info rinfo = {.argsz = sizeof(rinfo)};
	struct vfio_iommu_type1_dma_map map = {.argsz = sizeof(map)};
	struct vfio_iommu_type1_dma_unmap unmap = {.argsz = sizeof(unmap)};
	int container, group, dev;
	uint8_t *src, *dst, *dst_alloc;

	printf("1..20\n");
	container = open("/dev/vfio/vfio", O_RDWR);
	check(container >= 0, "open /dev/vfio/vfio");
	check(ioctl(container, VFIO_GET_API_VERSION) == VFIO_API_VERSION, "VFIO"
									  "_GET"
									  "_API"
									  "_VER"
									  "SIO"
									  "N");
	check(ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) == 1,
	      "type1v2 supported");

	group = open("/dev/vfio/0", O_RDWR);
	check(group >= 0, "open /dev/vfio/0");
	check(!ioctl(group, VFIO_GROUP_GET_STATUS, &status) &&
		      (status.flags & VFIO_GROUP_FLAGS_VIABLE),
	      "group viable");
	check(!ioctl(group, VFIO_GROUP_SET_CONTAINER, &container), "VFIO_GROUP_"
								   "SET_"
								   "CONTAINER");
	check(!ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), "VFIO_SET_"
								     "IOMMU "
								     "type1v2");
	check(!ioctl(container, VFIO_IOMMU_GET_INFO, &info) &&
		      (info.iova_pgsizes & 4096),
	      "VFIO_IOMMU_GET_INFO: 4 KiB pages");

	/* a bad argument pointer: -EFAULT, as the kernel's copy_from_user
	 * gives (under `uiommu exec` the copy's fixup turns the fault into
	 * it, $UIOMMU_REPORT counts those: tests/exec_report.sh) */
	check(ioctl(container, VFIO_IOMMU_GET_INFO, (void *)8) == -1 &&
		      errno == EFAULT,
	      "VFIO_IOMMU_GET_INFO with a bad pointer: EFAULT");

	dev = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, "dma0");
	check(dev >= 0, "VFIO_GROUP_GET_DEVICE_FD dma0");
	check(!ioctl(dev, VFIO_DEVICE_GET_INFO, &dinfo) &&
		      dinfo.num_regions >= 1,
	      "VFIO_DEVICE_GET_INFO");
	rinfo.index = 0;
	check(!ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &rinfo) &&
		      rinfo.size >= 0x30,
	      "VFIO_DEVICE_GET_REGION_INFO 0");

	/* the program's own memory */
	src = mmap(NULL, BUF, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	dst_alloc = malloc(BUF + 4096);
	dst = (uint8_t *)(((uintptr_t)dst_alloc + 4095) & ~4095UL);
	for (int i = 0; i < BUF; i++)
		src[i] = (uint8_t)(i * 7 + 3);
	memset(dst, 0, BUF);

	map.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
	map.vaddr = (uintptr_t)src;
	map.iova = 0x100000;
	map.size = BUF;
	check(!ioctl(container, VFIO_IOMMU_MAP_DMA, &map), "MAP_DMA src");
	map.vaddr = (uintptr_t)dst;
	map.iova = 0x200000;
	check(!ioctl(container, VFIO_IOMMU_MAP_DMA, &map), "MAP_DMA dst");

	check(dma_copy(dev, rinfo.offset, 0x100000, 0x200000, BUF) ==
			      STATUS_DONE &&
		      !memcmp(src, dst, BUF),
	      "device copied src to dst");

	unmap.iova = 0x200000;
	unmap.size = BUF;
	check(!ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap) &&
		      unmap.size == BUF,
	      "UNMAP_DMA dst");
	memset(dst, 0x5a, BUF);
	check(dma_copy(dev, rinfo.offset, 0x100000, 0x200000, BUF) ==
			      STATUS_ERROR &&
		      reg32(dev, rinfo.offset, REG_ERROR) == EFAULT &&
		      reg32_read(dev, rinfo.offset, REG_ERROR) == EFAULT &&
		      dst[0] == 0x5a && dst[BUF - 1] == 0x5a,
	      "copy into unmapped IOVA faults, memory untouched");

	/* region 1, a memory BAR: mmap its sparse area, store through it,
	 * read it back through pread */
	{
		struct {
			struct vfio_region_info info;
			struct vfio_region_info_cap_sparse_mmap sparse;
			struct vfio_region_sparse_mmap_area area;
		} r1 = {.info.argsz = sizeof(r1), .info.index = 1};
		uint8_t *bar = MAP_FAILED, b = 0;

		if (!ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &r1) &&
		    (r1.info.flags & VFIO_REGION_INFO_FLAG_MMAP) &&
		    r1.info.cap_offset)
			bar = mmap(NULL, r1.area.size, PROT_READ | PROT_WRITE,
				   MAP_SHARED, dev,
				   r1.info.offset + r1.area.offset);
		check(bar != MAP_FAILED, "mmap the BAR's sparse area");
		if (bar != MAP_FAILED) {
			bar[8] = 0xa7;
			if (pread(dev, &b, 1,
				  r1.info.offset + r1.area.offset + 8) != 1)
				b = 0;
			munmap(bar, r1.area.size);
		}
		check(b == 0xa7, "a store through the mapping reaches the BAR");
	}

	if (argc > 1 && !strcmp(argv[1], "--exit-open")) {
		/* as QEMU does: the process's exit releases the files */
		check(true, "exit with device, group, container open");
		return n_failed ? 1 : 0;
	}
	{
		bool closed = !close(dev) && !close(group) && !close(container);

		check(closed, "close device, group, container");
	}
	munmap(src, BUF);
	free(dst_alloc);
	return n_failed ? 1 : 0;
}
