// SPDX-License-Identifier: MIT
/*
 * A program of the kind the installed library serves: it sees only the
 * public headers (<uiommu/base.h>, <uiommu/uapi.h>) and <linux/vfio.h>,
 * links the shared library, and drives a DMA engine through the fd front:
 * container, group, device fd, MAP_DMA of its own buffer, a copy by the
 * device, and the counters that show the copy was translated.  Built as
 * C99 with -pedantic: the public surface must stay that clean.  Speaks
 * TAP.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/vfio.h>

#include <uiommu/uapi.h>

static int nr_tests, nr_failed;

static void ok(int cond, const char *what)
{
	nr_tests++;
	if (!cond)
		nr_failed++;
	printf("%s %d - %s\n", cond ? "ok" : "not ok", nr_tests, what);
}

static int reg_write(int dev, uint64_t bar, uint64_t off, const void *v,
		     size_t n)
{
	return uiommu_pwrite(dev, v, n, (off_t)(bar + off)) == (ssize_t)n;
}

int main(void)
{
	struct vfio_group_status gs = {.argsz = sizeof(gs)};
	struct vfio_region_info ri = {.argsz = sizeof(ri), .index = 0};
	struct vfio_iommu_type1_dma_map map = {.argsz = sizeof(map)};
	struct uiommu_stats st;
	uint64_t src = 0x100000, dst = 0x200000, len = 8192;
	uint32_t one = 1, status = 0;
	unsigned char *buf;
	int c, g, d;

	printf("1..11\n");
	ok(uiommu_get_stats(99, &st) == -ENODEV, "no IOMMU 99: -ENODEV");
	c = uiommu_open("/dev/vfio/vfio", O_RDWR);
	ok(c >= 0 && uiommu_fd_is_ours(c), "container opened");
	ok(uiommu_ioctl(c, VFIO_GET_API_VERSION) == VFIO_API_VERSION, "VFIO_"
								      "GET_API_"
								      "VERSIO"
								      "N");
	g = uiommu_open("/dev/vfio/0", O_RDWR);
	ok(g >= 0 && !uiommu_ioctl(g, VFIO_GROUP_GET_STATUS, &gs) &&
		   (gs.flags & VFIO_GROUP_FLAGS_VIABLE),
	   "group 0 viable");
	ok(!uiommu_ioctl(g, VFIO_GROUP_SET_CONTAINER, &c) &&
		   !uiommu_ioctl(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU),
	   "type1v2 container");
	d = uiommu_ioctl(g, VFIO_GROUP_GET_DEVICE_FD, "dma0");
	ok(d >= 0 && !uiommu_ioctl(d, VFIO_DEVICE_GET_REGION_INFO, &ri),
	   "device fd and its register region");

	buf = uiommu_mmap(NULL, 2 * len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(buf, 0x5a, len);
	memset(buf + len, 0, len);
	map.vaddr = (uintptr_t)buf;
	map.iova = src;
	map.size = len;
	map.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
	ok(buf != MAP_FAILED && !uiommu_ioctl(c, VFIO_IOMMU_MAP_DMA, &map) &&
		   (map.vaddr = (uintptr_t)(buf + len), map.iova = dst,
		    !uiommu_ioctl(c, VFIO_IOMMU_MAP_DMA, &map)),
	   "MAP_DMA of memory from uiommu_mmap");

	uiommu_reset_stats(0);
	reg_write(d, ri.offset, DMAENGINE_REG_SRC, &src, 8);
	reg_write(d, ri.offset, DMAENGINE_REG_DST, &dst, 8);
	reg_write(d, ri.offset, DMAENGINE_REG_LEN, &len, 8);
	reg_write(d, ri.offset, DMAENGINE_REG_DOORBELL, &one, 4);
	uiommu_pread(d, &status, 4, (off_t)(ri.offset + DMAENGINE_REG_STATUS));
	ok(status == DMAENGINE_STATUS_DONE && buf[len] == 0x5a &&
		   buf[2 * len - 1] == 0x5a,
	   "the device copied through the IOMMU");
	ok(!uiommu_get_stats(0, &st) && st.translations >= 4 &&
		   st.dma_bytes_read == len && st.dma_bytes_written == len,
	   "the counters saw the copy");

	errno = 0;
	ok(uiommu_mmap(buf, len, PROT_READ,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
		       0) == MAP_FAILED &&
		   errno == EINVAL,
	   "anonymous uiommu_mmap: MAP_FIXED is EINVAL");
	/* the per-thread fail-Nth switch: an id of no thread is -ESRCH */
	ok(uiommu_fail_nth_task(-1, 1) == -ESRCH &&
		   uiommu_fail_nth_task_get(-1) == 0,
	   "uiommu_fail_nth_task: no thread -1: -ESRCH");
	uiommu_close(d);
	uiommu_close(g);
	uiommu_close(c);
	uiommu_munmap(buf, 2 * len);
	return nr_failed != 0;
}
