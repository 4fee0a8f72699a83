// SPDX-License-Identifier: MIT
/*
 * Tests of the VFIO front through the in-process uAPI (uiommu_open,
 * uiommu_ioctl, ...): the container, group and device fds with the
 * kernel's errno values for bad input (table-driven), the topology, the
 * DMA-engine device, and that a failed call changes nothing.
 */
#include "helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <uiommu/uapi.h>
#include <uiommu/vfio.h>

#define BAD_PTR ((void *)16)

struct fds {
	int container, group, dev;
};

static int setup(void **state)
{
	static struct fds f;

	assert_int_equal(uiommu_system_init(NULL), 0);
	f.container = uiommu_open("/dev/vfio/vfio", O_RDWR);
	f.group = uiommu_open("/dev/vfio/0", O_RDWR);
	f.dev = -1;
	assert_true(f.container >= 0 && f.group >= 0);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fds *f = *state;

	if (f->dev >= 0)
		assert_int_equal(uiommu_close(f->dev), 0);
	if (f->group >= 0)
		assert_int_equal(uiommu_close(f->group), 0);
	if (f->container >= 0)
		assert_int_equal(uiommu_close(f->container), 0);
	assert_int_equal(mm_locked_vm(uiommu_current_mm()), 0);
	assert_int_equal(uiommu_system_exit(), 0);
	return 0;
}

/* set container + type1v2 + device fd */
static void full_setup(struct fds *f)
{
	assert_int_equal(uiommu_ioctl(f->group, VFIO_GROUP_SET_CONTAINER,
				      &f->container),
			 0);
	assert_int_equal(uiommu_ioctl(f->container, VFIO_SET_IOMMU,
				      VFIO_TYPE1v2_IOMMU),
			 0);
	f->dev = uiommu_ioctl(f->group, VFIO_GROUP_GET_DEVICE_FD, "dma0");
	assert_true(f->dev >= 0);
}

#define EXPECT_ERR(call, err)                   \
	do {                                    \
		errno = 0;                      \
		assert_int_equal((call), -1);   \
		assert_int_equal(errno, (err)); \
	} while (0)

static void test_open(void **state)
{
	struct fds *f = *state;

	EXPECT_ERR(uiommu_open("/dev/vfio/99", O_RDWR), ENOENT);
	EXPECT_ERR(uiommu_open("/dev/vfio/abc", O_RDWR), ENOENT);
	EXPECT_ERR(uiommu_open("/dev/vfio/", O_RDWR), ENOENT);
	EXPECT_ERR(uiommu_open("/dev/null", O_RDWR), ENOENT);
	/* a group is opened once at a time */
	EXPECT_ERR(uiommu_open("/dev/vfio/0", O_RDWR), EBUSY);
	assert_true(uiommu_fd_is_ours(f->group));
	assert_true(uiommu_path_is_ours("/dev/vfio/vfio"));
	/* a second container is fine */
	{
		int c2 = uiommu_open("/dev/vfio/vfio", O_RDWR);

		assert_true(c2 >= 0 && c2 != f->container);
		assert_int_equal(uiommu_close(c2), 0);
		EXPECT_ERR(uiommu_close(c2), EBADF);
	}
	EXPECT_ERR(uiommu_ioctl(12345, VFIO_GET_API_VERSION), EBADF);
	/* the system cannot go while fds are open */
	assert_int_equal(uiommu_system_exit(), -EBUSY);
	assert_int_equal(uiommu_system_init(NULL), -EBUSY);
}

static void test_container_ioctls(void **state)
{
	struct fds *f = *state;
	struct vfio_iommu_type1_dma_map map = {.argsz = sizeof(map)};

	assert_int_equal(uiommu_ioctl(f->container, VFIO_GET_API_VERSION),
			 VFIO_API_VERSION);
	assert_int_equal(uiommu_ioctl(f->container, VFIO_CHECK_EXTENSION,
				      VFIO_TYPE1_IOMMU),
			 1);
	assert_int_equal(uiommu_ioctl(f->container, VFIO_CHECK_EXTENSION,
				      VFIO_TYPE1v2_IOMMU),
			 1);
	assert_int_equal(uiommu_ioctl(f->container, VFIO_CHECK_EXTENSION,
				      VFIO_NOIOMMU_IOMMU),
			 0);
	assert_int_equal(
		uiommu_ioctl(f->container, VFIO_CHECK_EXTENSION, 12345), 0);
	/* no group yet: no backend can be chosen */
	EXPECT_ERR(uiommu_ioctl(f->container, VFIO_SET_IOMMU,
				VFIO_TYPE1v2_IOMMU),
		   EINVAL);
	/* no backend: the backend's ioctls are refused */
	EXPECT_ERR(uiommu_ioctl(f->container, VFIO_IOMMU_MAP_DMA, &map),
		   EINVAL);
	EXPECT_ERR(uiommu_ioctl(f->container, _IO(';', 199)), EINVAL);

	assert_int_equal(uiommu_ioctl(f->group, VFIO_GROUP_SET_CONTAINER,
				      &f->container),
			 0);
	EXPECT_ERR(uiommu_ioctl(f->container, VFIO_SET_IOMMU, 12345), ENODEV);
	EXPECT_ERR(uiommu_ioctl(f->container, VFIO_SET_IOMMU,
				VFIO_NOIOMMU_IOMMU),
		   ENODEV);
	assert_int_equal(uiommu_ioctl(f->container, VFIO_SET_IOMMU,
				      VFIO_TYPE1v2_IOMMU),
			 0);
	EXPECT_ERR(uiommu_ioctl(f->container, VFIO_SET_IOMMU,
				VFIO_TYPE1v2_IOMMU),
		   EINVAL);
	/* with a backend, its own answer to unknown ioctls */
	EXPECT_ERR(uiommu_ioctl(f->container, _IO(';', 199)), ENOTTY);
	assert_int_equal(uiommu_ioctl(f->container, VFIO_CHECK_EXTENSION,
				      VFIO_TYPE1v2_IOMMU),
			 1);
}

static void test_group_ioctls(void **state)
{
	struct fds *f = *state;
	struct vfio_group_status st = {.argsz = sizeof(st)};
	int nullfd = open("/dev/null", O_RDONLY), closed;

	assert_int_equal(uiommu_ioctl(f->group, VFIO_GROUP_GET_STATUS, &st), 0);
	assert_int_equal(st.flags, VFIO_GROUP_FLAGS_VIABLE);
	st.argsz = 4;
	EXPECT_ERR(uiommu_ioctl(f->group, VFIO_GROUP_GET_STATUS, &st), EINVAL);
	EXPECT_ERR(uiommu_ioctl(f->group, VFIO_GROUP_GET_STATUS, BAD_PTR),
		   EFAULT);

	/* SET_CONTAINER: bad pointers, bad fds, non-containers */
	EXPECT_ERR(uiommu_ioctl(f->group, VFIO_GROUP_SET_CONTAINER, BAD_PTR),
		   EFAULT);
	{
		int minus = -1;

		EXPECT_ERR(uiommu_ioctl(f->group, VFIO_GROUP_SET_CONTAINER,
					&minus),
			   EINVAL);
	}
	EXPECT_ERR(uiommu_ioctl(f->group, VFIO_GROUP_SET_CONTAINER, &nullfd),
		   EINVAL);
	closed = dup(nullfd);
	close(closed);
	EXPECT_ERR(uiommu_ioctl(f->group, VFIO_GROUP_SET_CONTAINER, &closed),
		   EBADF);
	EXPECT_ERR(uiommu_ioctl(f->group, VFIO_GROUP_SET_CONTAINER, &f->group),
		   EINVAL);
	close(nullfd);
	/* none of that set anything */
	st.argsz = sizeof(st);
	assert_int_equal(uiommu_ioctl(f->group, VFIO_GROUP_GET_STATUS, &st), 0);
	assert_false(st.flags & VFIO_GROUP_FLAGS_CONTAINER_SET);
	EXPECT_ERR(uiommu_ioctl(f->group, VFIO_GROUP_UNSET_CONTAINER), EINVAL);
	EXPECT_ERR(uiommu_ioctl(f->group, VFIO_GROUP_GET_DEVICE_FD, "dma0"),
		   EINVAL);

	assert_int_equal(uiommu_ioctl(f->group, VFIO_GROUP_SET_CONTAINER,
				      &f->container),
			 0);
	EXPECT_ERR(uiommu_ioctl(f->group, VFIO_GROUP_SET_CONTAINER,
				&f->container),
		   EINVAL);
	assert_int_equal(uiommu_ioctl(f->group, VFIO_GROUP_GET_STATUS, &st), 0);
	assert_true(st.flags & VFIO_GROUP_FLAGS_CONTAINER_SET);
	/* no IOMMU set yet */
	EXPECT_ERR(uiommu_ioctl(f->group, VFIO_GROUP_GET_DEVICE_FD, "dma0"),
		   EINVAL);
	assert_int_equal(uiommu_ioctl(f->container, VFIO_SET_IOMMU,
				      VFIO_TYPE1v2_IOMMU),
			 0);
	EXPECT_ERR(uiommu_ioctl(f->group, VFIO_GROUP_GET_DEVICE_FD, "nope"),
		   ENODEV);
	EXPECT_ERR(uiommu_ioctl(f->group, VFIO_GROUP_GET_DEVICE_FD, "dma1"),
		   ENODEV); /* in another group */
	EXPECT_ERR(uiommu_ioctl(f->group, VFIO_GROUP_GET_DEVICE_FD, BAD_PTR),
		   EFAULT);
	f->dev = uiommu_ioctl(f->group, VFIO_GROUP_GET_DEVICE_FD, "dma0");
	assert_true(f->dev >= 0);
	EXPECT_ERR(uiommu_ioctl(f->group, VFIO_GROUP_UNSET_CONTAINER), EBUSY);
	EXPECT_ERR(uiommu_ioctl(f->group, _IO(';', 199)), ENOTTY);
	assert_int_equal(uiommu_close(f->dev), 0);
	f->dev = -1;
	assert_int_equal(uiommu_ioctl(f->group, VFIO_GROUP_UNSET_CONTAINER), 0);
	/* the backend went with the last group */
	EXPECT_ERR(uiommu_ioctl(f->container, _IO(';', 199)), EINVAL);
}

static void test_device_ioctls(void **state)
{
	struct fds *f = *state;
	struct vfio_device_info info = {.argsz = sizeof(info)};
	struct vfio_region_info r = {.argsz = sizeof(r)};
	uint8_t regs[8];

	full_setup(f);
	assert_int_equal(uiommu_ioctl(f->dev, VFIO_DEVICE_GET_INFO, &info), 0);
	assert_int_equal(info.num_regions, 2);
	assert_true(info.flags & VFIO_DEVICE_FLAGS_RESET);
	info.argsz = 4;
	EXPECT_ERR(uiommu_ioctl(f->dev, VFIO_DEVICE_GET_INFO, &info), EINVAL);
	EXPECT_ERR(uiommu_ioctl(f->dev, VFIO_DEVICE_GET_INFO, BAD_PTR), EFAULT);
	assert_int_equal(uiommu_ioctl(f->dev, VFIO_DEVICE_GET_REGION_INFO, &r),
			 0);
	assert_int_equal(r.size, DMAENGINE_REG_SIZE);
	r.index = 2;
	EXPECT_ERR(uiommu_ioctl(f->dev, VFIO_DEVICE_GET_REGION_INFO, &r),
		   EINVAL);
	r.index = 0;
	r.argsz = 8;
	EXPECT_ERR(uiommu_ioctl(f->dev, VFIO_DEVICE_GET_REGION_INFO, &r),
		   EINVAL);
	EXPECT_ERR(uiommu_ioctl(f->dev, _IO(';', 199)), ENOTTY);
	/* region access */
	EXPECT_ERR(uiommu_pread(f->dev, regs, 8, DMAENGINE_REG_SIZE), EINVAL);
	EXPECT_ERR(uiommu_pread(f->dev, regs, 8, ((off_t)2 << 40)), EINVAL);
	EXPECT_ERR(uiommu_pread(f->dev, regs, 8, ((off_t)1 << 40) + 65536),
		   EINVAL);
	EXPECT_ERR(uiommu_pread(f->dev, BAD_PTR, 8, 0), EFAULT);
	EXPECT_ERR(uiommu_pread(f->group, regs, 8, 0), EINVAL);
	assert_int_equal(uiommu_pread(f->dev, regs, 8, 0), 8);
	/* read/write at the file position, which they advance */
	{
		uint64_t src = 0x1234, back = 0;

		assert_int_equal(uiommu_lseek(f->dev, DMAENGINE_REG_SRC,
					      SEEK_SET),
				 DMAENGINE_REG_SRC);
		assert_int_equal(uiommu_write(f->dev, &src, 8), 8);
		assert_int_equal(uiommu_lseek(f->dev, 0, SEEK_CUR),
				 DMAENGINE_REG_SRC + 8);
		assert_int_equal(uiommu_lseek(f->dev, -8, SEEK_CUR),
				 DMAENGINE_REG_SRC);
		assert_int_equal(uiommu_read(f->dev, &back, 8), 8);
		assert_int_equal(back, 0x1234);
		EXPECT_ERR(uiommu_lseek(f->dev, 0, SEEK_END), EINVAL);
		EXPECT_ERR(uiommu_lseek(f->dev, -1, SEEK_SET), EINVAL);
		EXPECT_ERR(uiommu_lseek(f->group, 0, SEEK_SET), ESPIPE);
		EXPECT_ERR(uiommu_read(f->group, &back, 8), EINVAL);
		EXPECT_ERR(uiommu_read(12345, &back, 8), EBADF);
		/* a failed read leaves the position */
		assert_int_equal(uiommu_lseek(f->dev, DMAENGINE_REG_SIZE,
					      SEEK_SET),
				 DMAENGINE_REG_SIZE);
		EXPECT_ERR(uiommu_read(f->dev, &back, 8), EINVAL);
		assert_int_equal(uiommu_lseek(f->dev, 0, SEEK_CUR),
				 DMAENGINE_REG_SIZE);
	}
	assert_int_equal(uiommu_ioctl(f->dev, VFIO_DEVICE_RESET), 0);
}

/* The engine copies through the IOMMU and faults cleanly outside maps. */
static void test_dmaengine(void **state)
{
	struct fds *f = *state;
	struct vfio_iommu_type1_dma_map map = {.argsz = sizeof(map)};
	struct mm *mm = uiommu_current_mm();
	uint64_t v, len = 8192;
	uint32_t one = 1, status, err, count;
	uint8_t *buf;

	full_setup(f);
	assert_int_equal(mm_mmap(mm, 4 * 4096, 0, (void **)&buf), 0);
	memset(buf, 0x3c, 8192);
	memset(buf + 8192, 0, 8192);
	map.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
	map.vaddr = (uintptr_t)buf;
	map.iova = 0x10000;
	map.size = 4 * 4096;
	assert_int_equal(uiommu_ioctl(f->container, VFIO_IOMMU_MAP_DMA, &map),
			 0);

	v = 0x10000;
	uiommu_pwrite(f->dev, &v, 8, DMAENGINE_REG_SRC);
	v = 0x12000;
	uiommu_pwrite(f->dev, &v, 8, DMAENGINE_REG_DST);
	uiommu_pwrite(f->dev, &len, 8, DMAENGINE_REG_LEN);
	uiommu_pwrite(f->dev, &one, 4, DMAENGINE_REG_DOORBELL);
	uiommu_pread(f->dev, &status, 4, DMAENGINE_REG_STATUS);
	assert_int_equal(status, DMAENGINE_STATUS_DONE);
	assert_int_equal(buf[8192], 0x3c);
	assert_int_equal(buf[16383], 0x3c);

	/* the destination runs past the mapping: fault, nothing beyond */
	v = 0x13000;
	uiommu_pwrite(f->dev, &v, 8, DMAENGINE_REG_DST);
	uiommu_pwrite(f->dev, &one, 4, DMAENGINE_REG_DOORBELL);
	uiommu_pread(f->dev, &status, 4, DMAENGINE_REG_STATUS);
	uiommu_pread(f->dev, &err, 4, DMAENGINE_REG_ERROR);
	uiommu_pread(f->dev, &v, 8, DMAENGINE_REG_FAULT);
	uiommu_pread(f->dev, &count, 4, DMAENGINE_REG_COUNT);
	assert_int_equal(status, DMAENGINE_STATUS_ERROR);
	assert_int_equal(err, EFAULT);
	assert_int_equal(v, 0x14000);
	assert_int_equal(count, 1);
	/* a bad length */
	len = 0;
	uiommu_pwrite(f->dev, &len, 8, DMAENGINE_REG_LEN);
	uiommu_pwrite(f->dev, &one, 4, DMAENGINE_REG_DOORBELL);
	uiommu_pread(f->dev, &err, 4, DMAENGINE_REG_ERROR);
	assert_int_equal(err, EINVAL);

	/* closing the group unmaps and unpins everything */
	assert_int_equal(uiommu_close(f->dev), 0);
	f->dev = -1;
	assert_true(mm_locked_vm(mm) > 0);
	assert_int_equal(uiommu_close(f->group), 0);
	f->group = -1;
	assert_int_equal(mm_locked_vm(mm), 0);
	assert_int_equal(mm_munmap(mm, buf, 4 * 4096), 0);
}

/* Region 1, a memory BAR: info with the sparse-mmap capability, mmap of
 * its mappable part only, the VMA flags the driver sets (H06), and the
 * mapping reaching the device's memory. */
static void test_bar_region_mmap(void **state)
{
	struct fds *f = *state;
	struct {
		struct vfio_region_info info;
		struct vfio_region_info_cap_sparse_mmap sparse;
		struct vfio_region_sparse_mmap_area area;
	} r = {.info.argsz = sizeof(struct vfio_region_info), .info.index = 1};
	struct mm_vma_info vma;
	uint32_t id[2];
	uint8_t *bar, b;
	off_t off;

	full_setup(f);
	/* too small for the capability: told how much room it needs */
	assert_int_equal(uiommu_ioctl(f->dev, VFIO_DEVICE_GET_REGION_INFO, &r),
			 0);
	assert_true(r.info.flags & VFIO_REGION_INFO_FLAG_MMAP);
	assert_true(r.info.flags & VFIO_REGION_INFO_FLAG_CAPS);
	assert_int_equal(r.info.argsz, sizeof(r));
	assert_int_equal(r.info.cap_offset, 0);
	r.info.argsz = sizeof(r);
	assert_int_equal(uiommu_ioctl(f->dev, VFIO_DEVICE_GET_REGION_INFO, &r),
			 0);
	assert_int_equal(r.info.cap_offset, sizeof(r.info));
	assert_int_equal(r.sparse.header.id, VFIO_REGION_INFO_CAP_SPARSE_MMAP);
	assert_int_equal(r.sparse.nr_areas, 1);
	assert_int_equal(r.area.offset, 4096);
	off = r.info.offset;

	assert_int_equal(uiommu_pread(f->dev, id, 8, off), 8);
	assert_int_equal(id[0], DMAENGINE_BAR_ID_MAGIC);
	assert_int_equal(id[1], r.info.size);

	/* errno paths: private, unaligned, the trapped page, past the end,
	 * a region without mmap, a non-device fd */
	assert_true(uiommu_mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, f->dev,
				off + 4096) == MAP_FAILED);
	assert_int_equal(errno, EINVAL);
	assert_true(uiommu_mmap(NULL, 4096, PROT_READ, MAP_SHARED, f->dev,
				off + 4097) == MAP_FAILED);
	assert_int_equal(errno, EINVAL);
	assert_true(uiommu_mmap(NULL, 4096, PROT_READ, MAP_SHARED, f->dev,
				off) == MAP_FAILED);
	assert_int_equal(errno, EINVAL);
	assert_true(uiommu_mmap(NULL, r.info.size, PROT_READ, MAP_SHARED,
				f->dev, off + 4096) == MAP_FAILED);
	assert_int_equal(errno, EINVAL);
	assert_true(uiommu_mmap(NULL, 4096, PROT_READ, MAP_SHARED, f->dev, 0) ==
		    MAP_FAILED);
	assert_int_equal(errno, EINVAL);
	assert_true(uiommu_mmap(NULL, 4096, PROT_READ, MAP_SHARED, f->group,
				off + 4096) == MAP_FAILED);
	assert_int_equal(errno, EINVAL);

	bar = uiommu_mmap(NULL, r.info.size - 4096, PROT_READ | PROT_WRITE,
			  MAP_SHARED, f->dev, off + 4096);
	assert_true(bar != MAP_FAILED);
	assert_int_equal(
		mm_find_vma(uiommu_current_mm(), (unsigned long)bar, &vma), 0);
	assert_true(vma.vm_flags & MM_VM_IO);
	assert_true(vma.vm_flags & MM_VM_PFNMAP);
	assert_true(vma.vm_flags & MM_VM_DONTEXPAND);
	assert_true(vma.vm_flags & MM_VM_DONTDUMP);
	assert_true(vma.vm_flags & MM_VM_ALLOW_WC);
	bar[100] = 0x5d;
	assert_int_equal(uiommu_pread(f->dev, &b, 1, off + 4096 + 100), 1);
	assert_int_equal(b, 0x5d);
	assert_int_equal(uiommu_munmap(bar, r.info.size - 4096), 0);
}

static void test_topology(void **state)
{
	int g;

	assert_int_equal(uiommu_system_init("iommu a; device x iommu=b sid=1 "
					    "group=0"),
			 -EINVAL);
	assert_int_equal(uiommu_system_init("bogus"), -EINVAL);
	assert_int_equal(uiommu_system_init("iommu a threaded; device x "
					    "iommu=a sid=1 group=3 stall\n"
					    "# comment\n"
					    "device y iommu=a sid=2 group=3"),
			 0);
	EXPECT_ERR(uiommu_open("/dev/vfio/0", O_RDWR), ENOENT);
	g = uiommu_open("/dev/vfio/3", O_RDWR);
	assert_true(g >= 0);
	{
		int c = uiommu_open("/dev/vfio/vfio", O_RDWR), d1, d2;

		assert_int_equal(uiommu_ioctl(g, VFIO_GROUP_SET_CONTAINER, &c),
				 0);
		assert_int_equal(
			uiommu_ioctl(c, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU), 0);
		d1 = uiommu_ioctl(g, VFIO_GROUP_GET_DEVICE_FD, "x");
		d2 = uiommu_ioctl(g, VFIO_GROUP_GET_DEVICE_FD, "y");
		assert_true(d1 >= 0 && d2 >= 0);
		uiommu_close(d1);
		uiommu_close(d2);
		uiommu_close(c);
	}
	uiommu_close(g);
	assert_int_equal(uiommu_system_exit(), 0);
	assert_int_equal(uiommu_system_exit(), -ENODEV);
}

/* Seed 001 end to end through the uAPI: a device that can stall (or issue
 * page requests) behind an SMMU inline or threaded; the container enables
 * IOPF; MAP_DMA pins nothing; the engine's copy faults every page in
 * through the SMMU, the IOMMU core and type1's handler, and completes. */
static void iopf_through_uapi(const char *topology)
{
	struct vfio_iommu_type1_dma_map map = {.argsz = sizeof(map)};
	struct mm *mm;
	int c, g, d;
	uint64_t v, len = 16 * 4096;
	uint32_t one = 1, status;
	uint8_t *buf;

	assert_int_equal(uiommu_system_init(topology), 0);
	mm = uiommu_current_mm();
	c = uiommu_open("/dev/vfio/vfio", O_RDWR);
	g = uiommu_open("/dev/vfio/0", O_RDWR);
	assert_int_equal(uiommu_ioctl(g, VFIO_GROUP_SET_CONTAINER, &c), 0);
	assert_int_equal(uiommu_ioctl(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU),
			 0);
	assert_int_equal(uiommu_ioctl(c, VFIO_CHECK_EXTENSION,
				      VFIO_UIOMMU_TYPE1_IOPF),
			 1);
	assert_int_equal(uiommu_ioctl(c, VFIO_IOMMU_ENABLE_IOPF), 0);
	d = uiommu_ioctl(g, VFIO_GROUP_GET_DEVICE_FD, "e");
	assert_true(d >= 0);

	assert_int_equal(mm_mmap(mm, 2 * len, 0, (void **)&buf), 0);
	for (uint64_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 13);
	map.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
	map.vaddr = (uintptr_t)buf;
	map.iova = 0x100000;
	map.size = 2 * len;
	assert_int_equal(uiommu_ioctl(c, VFIO_IOMMU_MAP_DMA, &map), 0);
	assert_int_equal(mm_locked_vm(mm), 0); /* nothing pinned (F07) */

	v = 0x100000;
	uiommu_pwrite(d, &v, 8, DMAENGINE_REG_SRC);
	v = 0x100000 + len;
	uiommu_pwrite(d, &v, 8, DMAENGINE_REG_DST);
	uiommu_pwrite(d, &len, 8, DMAENGINE_REG_LEN);
	uiommu_pwrite(d, &one, 4, DMAENGINE_REG_DOORBELL);
	uiommu_pread(d, &status, 4, DMAENGINE_REG_STATUS);
	assert_int_equal(status, DMAENGINE_STATUS_DONE);
	assert_memory_equal(buf, buf + len, len);
	assert_int_equal(mm_locked_vm(mm), 0); /* faulted pages: not charged */

	uiommu_close(d);
	uiommu_close(g);
	uiommu_close(c);
	assert_int_equal(mm_munmap(mm, buf, 2 * len), 0);
	assert_int_equal(uiommu_system_exit(), 0);
}

static void test_iopf_stall_inline(void **state)
{
	iopf_through_uapi("iommu s; device e iommu=s sid=1 group=0 stall");
}

static void test_iopf_stall_threaded(void **state)
{
	iopf_through_uapi("iommu s threaded; device e iommu=s sid=1 group=0 "
			  "stall");
}

static void test_iopf_pri(void **state)
{
	iopf_through_uapi("iommu s; device e iommu=s sid=1 group=0 pri");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

static const struct CMUnitTest tests[] = {
	T(test_open),
	T(test_container_ioctls),
	T(test_group_ioctls),
	T(test_device_ioctls),
	T(test_dmaengine),
	T(test_bar_region_mmap),
	cmocka_unit_test(test_topology),
	cmocka_unit_test(test_iopf_stall_inline),
	cmocka_unit_test(test_iopf_stall_threaded),
	cmocka_unit_test(test_iopf_pri),
};

TEST_MAIN(tests)
