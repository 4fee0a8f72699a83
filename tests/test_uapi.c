// SPDX-License-Identifier: MIT
/*
 * Tests of the VFIO front through the in-process uAPI (uiommu_open,
 * uiommu_ioctl, ...): the container, group and device fds with the
 * kernel's errno values for bad input (table-driven), the topology, the
 * DMA-engine device, and that a failed call changes nothing.
 */
#include "helpers.h"

#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <linux/vfio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <uiommu/uapi.h>
#include "system/system.h"
#include "vfio/vfio.h"
#include "vfio/vfio_device.h"
#include "iommufd/iommufd_uapi.h"

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
	test_uapi_set_container(f->group, &f->container, VFIO_TYPE1v2_IOMMU);
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

/* /dev/iommu through the public front (issue 15): ours, a new iommufd
 * context per open, its ioctls through uiommu_ioctl. */
static void test_open_iommufd(void **state)
{
	struct iommu_ioas_alloc a = {.size = sizeof(a)};
	int fd, fd2;

	(void)state;
	assert_true(uiommu_path_is_ours("/dev/iommu"));
	assert_false(uiommu_path_is_ours("/dev/iommu0"));
	fd = uiommu_open("/dev/iommu", O_RDWR);
	fd2 = uiommu_open("/dev/iommu", O_RDWR);
	assert_true(fd >= 0 && fd2 >= 0 && fd != fd2);
	assert_true(uiommu_fd_is_ours(fd));
	assert_int_equal(uiommu_ioctl(fd, IOMMU_IOAS_ALLOC, &a), 0);
	assert_int_equal(a.out_ioas_id, 1);
	assert_int_equal(uiommu_ioctl(fd2, IOMMU_IOAS_ALLOC, &a), 0);
	assert_int_equal(a.out_ioas_id, 1);
	/* the VFIO container ioctls are iommufd's too (its compat container,
	 * src/iommufd/vfio_compat.c); other VFIO numbers stay -ENOTTY */
	assert_int_equal(uiommu_ioctl(fd, VFIO_GET_API_VERSION),
			 VFIO_API_VERSION);
	EXPECT_ERR(uiommu_ioctl(fd, VFIO_GROUP_GET_STATUS, NULL), ENOTTY);
	EXPECT_ERR(uiommu_lseek(fd, 0, SEEK_SET), ESPIPE);
	assert_int_equal(uiommu_close(fd), 0);
	assert_int_equal(uiommu_close(fd2), 0);
	EXPECT_ERR(uiommu_ioctl(fd, IOMMU_IOAS_ALLOC, &a), EBADF);
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
			   EBADF);
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
		uint64_t src = 0x1234, back = 0, dst = 0;

		/* no VFIO file can seek: each starts at 0 and moves by
		 * what read and write transferred */
		EXPECT_ERR(uiommu_lseek(f->dev, 0, SEEK_SET), ESPIPE);
		EXPECT_ERR(uiommu_lseek(f->dev, 0, SEEK_CUR), ESPIPE);
		EXPECT_ERR(uiommu_lseek(f->group, 0, SEEK_SET), ESPIPE);
		EXPECT_ERR(uiommu_lseek(f->container, 0, SEEK_SET), ESPIPE);
		EXPECT_ERR(uiommu_lseek(12345, 0, SEEK_SET), EBADF);
		assert_int_equal(uiommu_write(f->dev, &src, 8), 8); /* SRC */
		assert_int_equal(
			uiommu_pread(f->dev, &back, 8, DMAENGINE_REG_SRC), 8);
		assert_int_equal(back, 0x1234);
		assert_int_equal(
			uiommu_pread(f->dev, &dst, 8, DMAENGINE_REG_DST), 8);
		assert_int_equal(uiommu_read(f->dev, &back, 8), 8); /* DST */
		assert_int_equal(back, dst);
		EXPECT_ERR(uiommu_read(f->group, &back, 8), EINVAL);
		EXPECT_ERR(uiommu_read(12345, &back, 8), EBADF);
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
	uint8_t *bar, *res, b;
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
	assert_int_equal(errno, ENODEV); /* a group file has no mmap */

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

	/* issue 14: MAP_FIXED over the program's PROT_NONE reservation (as
	 * DPDK maps BARs) lands exactly there; unaligned is EINVAL;
	 * MAP_FIXED_NOREPLACE over the reservation is EEXIST */
	res = mmap(NULL, 4 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		   0);
	assert_true(res != MAP_FAILED);
	assert_true(uiommu_mmap(res + 1, 4096, PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_FIXED, f->dev,
				off + 4096) == MAP_FAILED);
	assert_int_equal(errno, EINVAL);
	assert_true(uiommu_mmap(res + 4096, 4096, PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_FIXED_NOREPLACE, f->dev,
				off + 4096) == MAP_FAILED);
	assert_int_equal(errno, EEXIST);
	bar = uiommu_mmap(res + 4096, 4096, PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_FIXED, f->dev, off + 4096);
	assert_ptr_equal(bar, res + 4096);
	assert_int_equal(bar[100], 0x5d);
	assert_int_equal(uiommu_munmap(bar, 4096), 0);
	munmap(res, 4 * 4096);
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

/* ---- order of checks: one table per ioctl -----------------------------------------
 *
 * Each table lists the checks of one ioctl in the order Linux 6.1 makes
 * them, each row with an input that trips that check (and passes those
 * before it), and rows whose input fails several checks at once: the
 * first check decides the errno.
 */

/* Each row runs its call, then checks errno at once (errno is per call). */
#define RUN_ROW(check, call, e)                                               \
	do {                                                                  \
		long r_;                                                      \
		errno = 0;                                                    \
		r_ = (long)(call);                                            \
		if ((e) && (r_ != -1 || errno != (e)))                        \
			print_error("%s: ret %ld errno %d, want %d\n", check, \
				    r_, errno, (e));                          \
		assert_int_equal(r_, (e) ? -1 : r_);                          \
		if (e)                                                        \
			assert_int_equal(errno, (e));                         \
	} while (0)

struct ioctl_row {
	const char *check;
	int *fd;
	unsigned long request;
	void *arg;
	long ret; /* when err is 0 */
	int err;
};

static void run_ioctl_rows(const struct ioctl_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		long r;

		errno = 0;
		r = uiommu_ioctl(*rows[i].fd, rows[i].request, rows[i].arg);
		if (rows[i].err ? (r != -1 || errno != rows[i].err)
				: r != rows[i].ret)
			print_error("row %zu (%s): ret %ld errno %d\n", i,
				    rows[i].check, r, errno);
		if (rows[i].err) {
			assert_int_equal(r, -1);
			assert_int_equal(errno, rows[i].err);
		} else {
			assert_int_equal(r, rows[i].ret);
		}
	}
}

/* VFIO_GET_API_VERSION: vfio_fops_unl_ioctl answers it on a container
 * only; the fd first (fdget). */
static void test_order_get_api_version(void **state)
{
	struct fds *f = *state;
	int bad = 12345;
	const struct ioctl_row rows[] = {
		{"fdget", &bad, VFIO_GET_API_VERSION, NULL, 0, EBADF},
		{"group fops: unknown", &f->group, VFIO_GET_API_VERSION, NULL,
		 0, ENOTTY},
		{"container", &f->container, VFIO_GET_API_VERSION, BAD_PTR,
		 VFIO_API_VERSION, 0},
	};

	run_ioctl_rows(rows, ARRAY_SIZE_T(rows));
}

/* do_vfs_ioctl answers some requests for every file before its ioctl op:
 * FIOCLEX/FIONCLEX (the descriptor's close-on-exec flag), FIONBIO and
 * FIOASYNC (get_user first), FIOQSIZE (-ENOTTY but for regular files);
 * a container without a backend would give -EINVAL for them otherwise. */
static void test_order_vfs_ioctls(void **state)
{
	struct fds *f = *state;
	int on = 1, bad = 12345;
	const struct ioctl_row rows[] = {
		{"fdget first", &bad, FIOCLEX, NULL, 0, EBADF},
		{"FIONCLEX", &f->container, FIONCLEX, NULL, 0, 0},
		{"FIOCLEX", &f->container, FIOCLEX, NULL, 0, 0},
		{"FIONBIO: get_user", &f->container, FIONBIO, BAD_PTR, 0,
		 EFAULT},
		{"FIONBIO", &f->group, FIONBIO, &on, 0, 0},
		{"FIOASYNC", &f->group, FIOASYNC, &on, 0, 0},
		{"FIOQSIZE: not a regular file", &f->container, FIOQSIZE, &on,
		 0, ENOTTY},
		{"the container's op: no backend", &f->container, _IO(';', 199),
		 NULL, 0, EINVAL},
	};

	run_ioctl_rows(rows, ARRAY_SIZE_T(rows));
	assert_int_equal(fcntl(f->container, F_GETFD), FD_CLOEXEC);
	assert_int_equal(uiommu_ioctl(f->container, FIONCLEX), 0);
	assert_int_equal(fcntl(f->container, F_GETFD), 0);
}

/* VFIO_CHECK_EXTENSION (vfio_ioctl_check_extension): with no backend,
 * the driver's check_extension(NULL, arg): type1's with a NULL iommu. */
static void test_order_check_extension(void **state)
{
	struct fds *f = *state;
	const struct {
		unsigned long arg;
		long none, backend; /* no backend yet; type1v2 set */
	} rows[] = {
		{VFIO_TYPE1_IOMMU, 1, 1},	  {VFIO_TYPE1v2_IOMMU, 1, 1},
		{VFIO_TYPE1_NESTING_IOMMU, 1, 1}, {VFIO_UNMAP_ALL, 1, 1},
		{VFIO_DMA_CC_IOMMU, 0, 1}, /* needs a domain: NULL says 0 */
		{VFIO_NOIOMMU_IOMMU, 0, 0},	  {12345, 0, 0},
	};

	for (size_t i = 0; i < ARRAY_SIZE_T(rows); i++)
		assert_int_equal(uiommu_ioctl(f->container,
					      VFIO_CHECK_EXTENSION,
					      rows[i].arg),
				 rows[i].none);
	full_setup(f);
	for (size_t i = 0; i < ARRAY_SIZE_T(rows); i++)
		assert_int_equal(uiommu_ioctl(f->container,
					      VFIO_CHECK_EXTENSION,
					      rows[i].arg),
				 rows[i].backend);
}

/* VFIO_SET_IOMMU (vfio_ioctl_set_iommu): no group or a backend already
 * (-EINVAL), then the driver's check_extension(NULL, type) (<= 0:
 * -ENODEV), then its open (type1's: -EINVAL for a type it does not
 * open), then attaching the groups. */
static void test_order_set_iommu(void **state)
{
	struct fds *f = *state;

	RUN_ROW("no group",
		uiommu_ioctl(f->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU),
		EINVAL);
	RUN_ROW("all fail: no group decides",
		uiommu_ioctl(f->container, VFIO_SET_IOMMU, 12345), EINVAL);
	assert_int_equal(uiommu_ioctl(f->group, VFIO_GROUP_SET_CONTAINER,
				      &f->container),
			 0);
	RUN_ROW("check_extension: unknown",
		uiommu_ioctl(f->container, VFIO_SET_IOMMU, 12345), ENODEV);
	RUN_ROW("check_extension: noiommu",
		uiommu_ioctl(f->container, VFIO_SET_IOMMU, VFIO_NOIOMMU_IOMMU),
		ENODEV);
	RUN_ROW("check_extension(NULL): cache coherency is 0",
		uiommu_ioctl(f->container, VFIO_SET_IOMMU, VFIO_DMA_CC_IOMMU),
		ENODEV);
	RUN_ROW("check_extension(NULL): UPDATE_VADDR is 0",
		uiommu_ioctl(f->container, VFIO_SET_IOMMU, VFIO_UPDATE_VADDR),
		ENODEV);
	RUN_ROW("open: an extension, not a type",
		uiommu_ioctl(f->container, VFIO_SET_IOMMU, VFIO_UNMAP_ALL),
		EINVAL);
	assert_int_equal(uiommu_ioctl(f->container, VFIO_SET_IOMMU,
				      VFIO_TYPE1v2_IOMMU),
			 0);
	RUN_ROW("backend set",
		uiommu_ioctl(f->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU),
		EINVAL);
	RUN_ROW("all fail: backend set decides",
		uiommu_ioctl(f->container, VFIO_SET_IOMMU, 12345), EINVAL);
}

/* VFIO_GROUP_GET_STATUS (vfio_group_ioctl_get_status): copy_from_user,
 * argsz. */
static void test_order_group_get_status(void **state)
{
	struct fds *f = *state;
	struct vfio_group_status small = {.argsz = 7}, ok = {.argsz = 8};
	const struct ioctl_row rows[] = {
		{"copy_from_user", &f->group, VFIO_GROUP_GET_STATUS, BAD_PTR, 0,
		 EFAULT},
		{"copy_from_user: NULL", &f->group, VFIO_GROUP_GET_STATUS, NULL,
		 0, EFAULT},
		{"argsz", &f->group, VFIO_GROUP_GET_STATUS, &small, 0, EINVAL},
		{"fine", &f->group, VFIO_GROUP_GET_STATUS, &ok, 0, 0},
	};

	run_ioctl_rows(rows, ARRAY_SIZE_T(rows));
	assert_int_equal(ok.flags, VFIO_GROUP_FLAGS_VIABLE);
}

/* VFIO_GROUP_SET_CONTAINER (vfio_group_ioctl_set_container): get_user,
 * fdget (any fd not open: even when the group has a container), a
 * container already set, vfio_container_from_file, the attach. */
static void test_order_set_container(void **state)
{
	struct fds *f = *state;
	int minus = -1, closed, nullfd = open("/dev/null", O_RDONLY);
	int c2 = uiommu_open("/dev/vfio/vfio", O_RDWR);

	/* a number no open can hand out again before the last row */
	closed = 1 << 20;
	assert_true(fcntl(closed, F_GETFD) < 0);
	{
		const struct ioctl_row rows[] = {
			{"get_user", &f->group, VFIO_GROUP_SET_CONTAINER,
			 BAD_PTR, 0, EFAULT},
			{"get_user: NULL", &f->group, VFIO_GROUP_SET_CONTAINER,
			 NULL, 0, EFAULT},
			{"fdget: -1", &f->group, VFIO_GROUP_SET_CONTAINER,
			 &minus, 0, EBADF},
			{"fdget: closed", &f->group, VFIO_GROUP_SET_CONTAINER,
			 &closed, 0, EBADF},
			{"not a container: /dev/null", &f->group,
			 VFIO_GROUP_SET_CONTAINER, &nullfd, 0, EINVAL},
			{"not a container: a group", &f->group,
			 VFIO_GROUP_SET_CONTAINER, &f->group, 0, EINVAL},
		};

		run_ioctl_rows(rows, ARRAY_SIZE_T(rows));
	}
	full_setup(f);
	{
		const struct ioctl_row rows[] = {
			{"all fail: get_user decides", &f->group,
			 VFIO_GROUP_SET_CONTAINER, BAD_PTR, 0, EFAULT},
			{"all fail: fdget decides (-1)", &f->group,
			 VFIO_GROUP_SET_CONTAINER, &minus, 0, EBADF},
			{"all fail: fdget decides (closed)", &f->group,
			 VFIO_GROUP_SET_CONTAINER, &closed, 0, EBADF},
			{"container set", &f->group, VFIO_GROUP_SET_CONTAINER,
			 &c2, 0, EINVAL},
			{"all fail: container set decides", &f->group,
			 VFIO_GROUP_SET_CONTAINER, &f->dev, 0, EINVAL},
		};

		run_ioctl_rows(rows, ARRAY_SIZE_T(rows));
	}
	close(nullfd);
	assert_int_equal(uiommu_close(c2), 0);
}

/* VFIO_GROUP_UNSET_CONTAINER (vfio_group_ioctl_unset_container): no
 * container, then container_users (device files open). */
static void test_order_unset_container(void **state)
{
	struct fds *f = *state;

	RUN_ROW("no container",
		uiommu_ioctl(f->group, VFIO_GROUP_UNSET_CONTAINER), EINVAL);
	full_setup(f);
	RUN_ROW("device files open",
		uiommu_ioctl(f->group, VFIO_GROUP_UNSET_CONTAINER), EBUSY);
	assert_int_equal(uiommu_close(f->dev), 0);
	f->dev = -1;
	assert_int_equal(uiommu_ioctl(f->group, VFIO_GROUP_UNSET_CONTAINER), 0);
}

/* VFIO_GROUP_GET_DEVICE_FD (vfio_group_ioctl_get_device_fd): the name
 * (strndup_user with PAGE_SIZE: -EFAULT unreadable, -EINVAL no NUL in a
 * page), the device by name (-ENODEV), then vfio_device_open's container
 * and backend (-EINVAL). */
static void test_order_get_device_fd(void **state)
{
	struct fds *f = *state;
	char *pages = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *tail_name = pages + 4096 - 5; /* "dma0\0", up to the page end */
	int fd;

	assert_true(pages != MAP_FAILED);
	memset(pages, 'a', 4096);
	assert_int_equal(mprotect(pages + 4096, 4096, PROT_NONE), 0);
	{
		const struct ioctl_row rows[] = {
			{"strndup_user: NULL", &f->group,
			 VFIO_GROUP_GET_DEVICE_FD, NULL, 0, EFAULT},
			{"strndup_user: unreadable", &f->group,
			 VFIO_GROUP_GET_DEVICE_FD, BAD_PTR, 0, EFAULT},
			{"strndup_user: runs into an unreadable page",
			 &f->group, VFIO_GROUP_GET_DEVICE_FD, pages + 4000, 0,
			 EFAULT},
			{"strndup_user: no NUL within a page", &f->group,
			 VFIO_GROUP_GET_DEVICE_FD, pages, 0, EINVAL},
			{"all fail: the name decides (no container)", &f->group,
			 VFIO_GROUP_GET_DEVICE_FD, pages, 0, EINVAL},
			{"by name", &f->group, VFIO_GROUP_GET_DEVICE_FD, "nope",
			 0, ENODEV},
			{"by name: another group's device", &f->group,
			 VFIO_GROUP_GET_DEVICE_FD, "dma1", 0, ENODEV},
			{"container", &f->group, VFIO_GROUP_GET_DEVICE_FD,
			 "dma0", 0, EINVAL},
		};

		run_ioctl_rows(rows, ARRAY_SIZE_T(rows));
	}
	assert_int_equal(uiommu_ioctl(f->group, VFIO_GROUP_SET_CONTAINER,
				      &f->container),
			 0);
	RUN_ROW("backend",
		uiommu_ioctl(f->group, VFIO_GROUP_GET_DEVICE_FD, "dma0"),
		EINVAL);
	RUN_ROW("all fail: by name decides (no backend)",
		uiommu_ioctl(f->group, VFIO_GROUP_GET_DEVICE_FD, "nope"),
		ENODEV);
	assert_int_equal(uiommu_ioctl(f->container, VFIO_SET_IOMMU,
				      VFIO_TYPE1v2_IOMMU),
			 0);
	memcpy(tail_name, "dma0", 5);
	fd = uiommu_ioctl(f->group, VFIO_GROUP_GET_DEVICE_FD, tail_name);
	assert_true(fd >= 0); /* a name ending at a page's last byte */
	assert_int_equal(uiommu_close(fd), 0);
	assert_int_equal(munmap(pages, 2 * 4096), 0);
}

/* VFIO_DEVICE_GET_INFO (vfio_platform_ioctl): copy_from_user, argsz. */
static void test_order_device_get_info(void **state)
{
	struct fds *f = *state;
	struct vfio_device_info small = {.argsz = 15}, ok = {.argsz = 16};

	full_setup(f);
	{
		const struct ioctl_row rows[] = {
			{"copy_from_user", &f->dev, VFIO_DEVICE_GET_INFO,
			 BAD_PTR, 0, EFAULT},
			{"copy_from_user: NULL", &f->dev, VFIO_DEVICE_GET_INFO,
			 NULL, 0, EFAULT},
			{"argsz", &f->dev, VFIO_DEVICE_GET_INFO, &small, 0,
			 EINVAL},
			{"fine", &f->dev, VFIO_DEVICE_GET_INFO, &ok, 0, 0},
		};

		run_ioctl_rows(rows, ARRAY_SIZE_T(rows));
	}
	assert_int_equal(ok.num_regions, 2);
	assert_int_equal(ok.num_irqs, 0);
}

/* VFIO_DEVICE_GET_REGION_INFO (vfio_platform_ioctl, vfio-pci's caps):
 * copy_from_user, argsz, the index (before it is used: UBSan found a
 * shift of a huge index), then the capability chain. */
static void test_order_region_info(void **state)
{
	struct fds *f = *state;
	struct vfio_region_info small = {.argsz = 23, .index = 99},
				idx2 = {.argsz = 32, .index = 2},
				huge = {.argsz = 32, .index = 0xffffffff},
				ok = {.argsz = 32, .index = 0};

	full_setup(f);
	{
		const struct ioctl_row rows[] = {
			{"copy_from_user", &f->dev, VFIO_DEVICE_GET_REGION_INFO,
			 BAD_PTR, 0, EFAULT},
			{"copy_from_user: NULL", &f->dev,
			 VFIO_DEVICE_GET_REGION_INFO, NULL, 0, EFAULT},
			{"all fail: argsz decides (bad index too)", &f->dev,
			 VFIO_DEVICE_GET_REGION_INFO, &small, 0, EINVAL},
			{"index", &f->dev, VFIO_DEVICE_GET_REGION_INFO, &idx2,
			 0, EINVAL},
			{"index: huge", &f->dev, VFIO_DEVICE_GET_REGION_INFO,
			 &huge, 0, EINVAL},
			{"fine", &f->dev, VFIO_DEVICE_GET_REGION_INFO, &ok, 0,
			 0},
		};

		run_ioctl_rows(rows, ARRAY_SIZE_T(rows));
	}
	assert_int_equal(ok.size, DMAENGINE_REG_SIZE);
	/* a failed call wrote nothing back */
	assert_int_equal(huge.offset, 0);
	assert_int_equal(huge.size, 0);
}

/* VFIO_DEVICE_GET_IRQ_INFO (vfio_platform_ioctl): copy_from_user, argsz,
 * the index (this device has none). */
static void test_order_irq_info(void **state)
{
	struct fds *f = *state;
	struct vfio_irq_info small = {.argsz = 15}, idx0 = {.argsz = 16};

	full_setup(f);
	{
		const struct ioctl_row rows[] = {
			{"copy_from_user", &f->dev, VFIO_DEVICE_GET_IRQ_INFO,
			 BAD_PTR, 0, EFAULT},
			{"copy_from_user: NULL", &f->dev,
			 VFIO_DEVICE_GET_IRQ_INFO, NULL, 0, EFAULT},
			{"argsz", &f->dev, VFIO_DEVICE_GET_IRQ_INFO, &small, 0,
			 EINVAL},
			{"index >= num_irqs", &f->dev, VFIO_DEVICE_GET_IRQ_INFO,
			 &idx0, 0, EINVAL},
		};

		run_ioctl_rows(rows, ARRAY_SIZE_T(rows));
	}
}

/* VFIO_DEVICE_SET_IRQS: copy_from_user, then the core's
 * vfio_set_irqs_validate_and_prepare (argsz, index >= num_irqs,
 * start/count, flags, data size): a device without interrupts is
 * -EINVAL whatever the header, never -ENOTTY. */
static void test_order_set_irqs(void **state)
{
	struct fds *f = *state;
	struct vfio_irq_set small = {.argsz = 19},
			    trigger = {.argsz = 20,
				       .flags = VFIO_IRQ_SET_DATA_NONE |
						VFIO_IRQ_SET_ACTION_TRIGGER,
				       .index = 0,
				       .start = 0,
				       .count = 1},
			    badflags = {.argsz = 20, .flags = 0x80000000},
			    wrap = {.argsz = 20,
				    .start = 5,
				    .count = 0xfffffffe};

	full_setup(f);
	{
		const struct ioctl_row rows[] = {
			{"copy_from_user", &f->dev, VFIO_DEVICE_SET_IRQS,
			 BAD_PTR, 0, EFAULT},
			{"copy_from_user: NULL", &f->dev, VFIO_DEVICE_SET_IRQS,
			 NULL, 0, EFAULT},
			{"argsz", &f->dev, VFIO_DEVICE_SET_IRQS, &small, 0,
			 EINVAL},
			{"index >= num_irqs", &f->dev, VFIO_DEVICE_SET_IRQS,
			 &trigger, 0, EINVAL},
			{"flags", &f->dev, VFIO_DEVICE_SET_IRQS, &badflags, 0,
			 EINVAL},
			{"start + count wraps", &f->dev, VFIO_DEVICE_SET_IRQS,
			 &wrap, 0, EINVAL},
		};

		run_ioctl_rows(rows, ARRAY_SIZE_T(rows));
	}
}

/* vfio_set_irqs_validate_and_prepare itself, on a device with
 * interrupts (as vfio-pci calls it): each check in order. */
static void test_set_irqs_validate(void **state)
{
	const struct {
		const char *check;
		struct vfio_irq_set hdr;
		int num_irqs, max_type, ret;
		size_t size;
	} rows[] = {
		{"argsz", {.argsz = 19, .count = 1}, 4, 5, -EINVAL, 0},
		{"index >= max_irq_type",
		 {.argsz = 20, .index = 5},
		 4,
		 5,
		 -EINVAL,
		 0},
		{"count wraps",
		 {.argsz = 20, .start = 1, .count = 0xfffffffe},
		 4,
		 5,
		 -EINVAL,
		 0},
		{"flags", {.argsz = 20, .flags = 1u << 9}, 4, 5, -EINVAL, 0},
		{"start >= num_irqs",
		 {.argsz = 20, .start = 4},
		 4,
		 5,
		 -EINVAL,
		 0},
		{"start + count > num_irqs",
		 {.argsz = 20, .start = 2, .count = 3},
		 4,
		 5,
		 -EINVAL,
		 0},
		{"data type",
		 {.argsz = 20, .flags = 3, .count = 1},
		 4,
		 5,
		 -EINVAL,
		 0},
		{"data size",
		 {.argsz = 20 + 7,
		  .flags = VFIO_IRQ_SET_DATA_EVENTFD,
		  .count = 2},
		 4,
		 5,
		 -EINVAL,
		 0},
		{"eventfds",
		 {.argsz = 20 + 8,
		  .flags = VFIO_IRQ_SET_DATA_EVENTFD |
			   VFIO_IRQ_SET_ACTION_TRIGGER,
		  .count = 2},
		 4,
		 5,
		 0,
		 8},
		{"none",
		 {.argsz = 20,
		  .flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_MASK,
		  .start = 3,
		  .count = 1},
		 4,
		 5,
		 0,
		 0},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE_T(rows); i++) {
		struct vfio_irq_set hdr = rows[i].hdr;
		size_t size = 99;

		if (vfio_set_irqs_validate_and_prepare(&hdr, rows[i].num_irqs,
						       rows[i].max_type,
						       &size) != rows[i].ret)
			print_error("row %zu (%s)\n", i, rows[i].check);
		assert_int_equal(vfio_set_irqs_validate_and_prepare(
					 &hdr, rows[i].num_irqs,
					 rows[i].max_type, &size),
				 rows[i].ret);
		if (!rows[i].ret)
			assert_int_equal(size, rows[i].size);
	}
}

/* VFIO_DEVICE_RESET: no argument to check. */
static void test_order_reset(void **state)
{
	struct fds *f = *state;
	uint64_t v = 0x1234, back = 1;

	full_setup(f);
	assert_int_equal(uiommu_pwrite(f->dev, &v, 8, DMAENGINE_REG_SRC), 8);
	RUN_ROW("no argument", uiommu_ioctl(f->dev, VFIO_DEVICE_RESET, BAD_PTR),
		0);
	assert_int_equal(uiommu_pread(f->dev, &back, 8, DMAENGINE_REG_SRC), 8);
	assert_int_equal(back, 0);
}

/* VFIO_DEVICE_FEATURE (vfio_ioctl_device_feature): copy_from_user,
 * argsz, unknown flags, GET with SET without PROBE, then the feature:
 * migration and DMA logging without the driver's ops, and any other
 * without a device_feature op, are -ENOTTY. */
static void test_order_device_feature(void **state)
{
	struct fds *f = *state;
	struct vfio_device_feature
		small = {.argsz = 7, .flags = 0xffffffff},
		unknown = {.argsz = 8,
			   .flags = 1u << 20 | VFIO_DEVICE_FEATURE_GET},
		getset = {.argsz = 8,
			  .flags = VFIO_DEVICE_FEATURE_GET |
				   VFIO_DEVICE_FEATURE_SET | 100},
		probe = {.argsz = 8,
			 .flags = VFIO_DEVICE_FEATURE_PROBE |
				  VFIO_DEVICE_FEATURE_GET |
				  VFIO_DEVICE_FEATURE_SET | 100},
		mig = {.argsz = 8,
		       .flags = VFIO_DEVICE_FEATURE_GET |
				VFIO_DEVICE_FEATURE_MIGRATION},
		log = {.argsz = 8,
		       .flags = VFIO_DEVICE_FEATURE_SET |
				VFIO_DEVICE_FEATURE_DMA_LOGGING_START},
		other = {.argsz = 8, .flags = VFIO_DEVICE_FEATURE_GET | 100};

	full_setup(f);
	{
		const struct ioctl_row rows[] = {
			{"copy_from_user", &f->dev, VFIO_DEVICE_FEATURE,
			 BAD_PTR, 0, EFAULT},
			{"all fail: argsz decides", &f->dev,
			 VFIO_DEVICE_FEATURE, &small, 0, EINVAL},
			{"unknown flags", &f->dev, VFIO_DEVICE_FEATURE,
			 &unknown, 0, EINVAL},
			{"GET|SET without PROBE", &f->dev, VFIO_DEVICE_FEATURE,
			 &getset, 0, EINVAL},
			{"PROBE|GET|SET: to the feature", &f->dev,
			 VFIO_DEVICE_FEATURE, &probe, 0, ENOTTY},
			{"migration: no mig_ops", &f->dev, VFIO_DEVICE_FEATURE,
			 &mig, 0, ENOTTY},
			{"DMA logging: no log_ops", &f->dev,
			 VFIO_DEVICE_FEATURE, &log, 0, ENOTTY},
			{"no device_feature op", &f->dev, VFIO_DEVICE_FEATURE,
			 &other, 0, ENOTTY},
			{"unknown device ioctl", &f->dev, _IO(';', 199), NULL,
			 0, ENOTTY},
			{"a group ioctl on a device", &f->dev,
			 VFIO_GROUP_GET_STATUS, NULL, 0, ENOTTY},
		};

		run_ioctl_rows(rows, ARRAY_SIZE_T(rows));
	}
}

/* pread/pwrite/read/write: ksys_pread64 (a negative offset before the
 * fd), fdget, vfs_read (mode, a read op, access_ok, rw_verify_area), then
 * vfio-platform's read: the index, an offset at or past the region's end,
 * a count clipped at it. */
static void test_order_rw(void **state)
{
	struct fds *f = *state;
	uint8_t buf[64] = {0};
	uint64_t v = 0x1122334455667788ULL, back = 0;
	int wronly;

	full_setup(f);
	RUN_ROW("pread: offset < 0 (all fail)", uiommu_pread(12345, buf, 8, -1),
		EINVAL);
	RUN_ROW("pread: fdget", uiommu_pread(12345, buf, 8, 0), EBADF);
	RUN_ROW("read: fdget", uiommu_read(12345, buf, 8), EBADF);
	RUN_ROW("group: no read op", uiommu_pread(f->group, buf, 8, 0), EINVAL);
	RUN_ROW("container: no write op",
		uiommu_pwrite(f->container, buf, 8, 0), EINVAL);
	RUN_ROW("access_ok", uiommu_pread(f->dev, (void *)0x7ffffffff000, 8, 0),
		EFAULT);
	RUN_ROW("access_ok: wraps", uiommu_pread(f->dev, buf, SIZE_MAX, 0),
		EFAULT);
	RUN_ROW("rw_verify_area: pos + count < 0",
		uiommu_pread(f->dev, buf, 16, INT64_MAX - 8), EINVAL);
	RUN_ROW("index", uiommu_pread(f->dev, buf, 8, (off_t)2 << 40), EINVAL);
	RUN_ROW("at the region's end",
		uiommu_pread(f->dev, buf, 8, DMAENGINE_REG_SIZE), EINVAL);
	RUN_ROW("bar: at its end",
		uiommu_pwrite(f->dev, buf, 8, ((off_t)1 << 40) + 65536),
		EINVAL);
	RUN_ROW("copy_to_user", uiommu_pread(f->dev, BAD_PTR, 8, 0), EFAULT);
	/* straddling the end: the short count */
	assert_int_equal(uiommu_pread(f->dev, buf, 64, DMAENGINE_REG_SIZE - 8),
			 8);
	assert_int_equal(uiommu_pwrite(f->dev, &v, 8, DMAENGINE_REG_SRC), 8);
	assert_int_equal(uiommu_pread(f->dev, buf, 64, DMAENGINE_REG_SIZE - 8),
			 8);
	assert_int_equal(uiommu_pwrite(f->dev, buf, 64,
				       ((off_t)1 << 40) + 65536 - 16),
			 16);
	assert_int_equal(uiommu_pread(f->dev, &back, 0, 0), 0);
	/* the ID page and the memory after it in one read */
	{
		uint32_t span[4];

		assert_int_equal(uiommu_pread(f->dev, span, 16,
					      ((off_t)1 << 40) + 4096 - 8),
				 16);
	}
	/* read at the file position: a short count moves it by that much,
	 * and a failed read leaves it (the position is reached by reading,
	 * as no VFIO file can seek) */
	{
		static uint8_t regs_copy[DMAENGINE_REG_SIZE];

		assert_int_equal(uiommu_read(f->dev, regs_copy,
					     DMAENGINE_REG_SIZE - 4),
				 DMAENGINE_REG_SIZE - 4);
		assert_int_equal(uiommu_read(f->dev, buf, 64), 4);
		RUN_ROW("read at the region's end", uiommu_read(f->dev, buf, 8),
			EINVAL);
		RUN_ROW("and again: the position did not move",
			uiommu_read(f->dev, buf, 8), EINVAL);
	}
	/* a file's mode: a group opened write-only is not readable */
	assert_int_equal(uiommu_close(f->group), 0);
	f->group = -1;
	wronly = uiommu_open("/dev/vfio/1", O_WRONLY);
	assert_true(wronly >= 0);
	RUN_ROW("vfs_read: FMODE_READ", uiommu_pread(wronly, buf, 8, 0), EBADF);
	RUN_ROW("vfs_write: FMODE_WRITE then no op",
		uiommu_pwrite(wronly, buf, 8, 0), EINVAL);
	assert_int_equal(uiommu_close(wronly), 0);
}

/* mmap: sys_mmap's offset alignment (before the fd), fdget, MAP_HUGETLB,
 * do_mmap's length (zero, wrapping when page-aligned: -ENOMEM), offset
 * overflow, get_unmapped_area, file_mmap_ok, the map type and the file's
 * mode, a file without mmap (-ENODEV), then the driver. */
static void test_order_mmap(void **state)
{
	struct fds *f = *state;
	off_t bar = (off_t)1 << 40;
	void *p;
	int rdonly;

#define MMAP_ROW(check, len, prot, flags, fd, off, e)                        \
	do {                                                                 \
		errno = 0;                                                   \
		p = uiommu_mmap(NULL, len, prot, flags, fd, off);            \
		if (p != MAP_FAILED || errno != (e))                         \
			print_error("%s: errno %d, want %d\n", check, errno, \
				    (e));                                    \
		assert_true(p == MAP_FAILED);                                \
		assert_int_equal(errno, (e));                                \
	} while (0)

	full_setup(f);
	MMAP_ROW("offset alignment (all fail)", 0, PROT_READ, 0, 12345, bar + 1,
		 EINVAL);
	MMAP_ROW("fdget", 4096, PROT_READ, MAP_SHARED, 12345, bar + 4096,
		 EBADF);
	MMAP_ROW("MAP_HUGETLB", 4096, PROT_READ, MAP_SHARED | MAP_HUGETLB,
		 f->dev, bar + 4096, EINVAL);
	MMAP_ROW("zero length", 0, PROT_READ, MAP_SHARED, f->dev, bar + 4096,
		 EINVAL);
	MMAP_ROW("length wraps when page-aligned", SIZE_MAX - 100, PROT_READ,
		 MAP_SHARED, f->dev, bar + 4096, ENOMEM);
	MMAP_ROW("all fail: the length decides (group fd)", SIZE_MAX, PROT_READ,
		 0x0f, f->group, 0, ENOMEM);
	MMAP_ROW("offset overflow", (size_t)1 << 40, PROT_READ, MAP_SHARED,
		 f->dev, (off_t)-4096, EOVERFLOW);
	MMAP_ROW("more than the address space", (size_t)1 << 50, PROT_READ,
		 MAP_SHARED, f->dev, bar + 4096, ENOMEM);
	MMAP_ROW("file_mmap_ok", 8192, PROT_READ, MAP_SHARED, f->dev,
		 (off_t)-4096, EOVERFLOW);
	MMAP_ROW("MAP_SHARED_VALIDATE: unknown flag", 4096, PROT_READ,
		 MAP_SHARED_VALIDATE | 0x80000, f->dev, bar + 4096, EOPNOTSUPP);
	MMAP_ROW("map type", 4096, PROT_READ, 0x0f, f->dev, bar + 4096, EINVAL);
	MMAP_ROW("no mmap: group", 4096, PROT_READ, MAP_SHARED, f->group,
		 bar + 4096, ENODEV);
	MMAP_ROW("no mmap: container", 4096, PROT_READ, MAP_PRIVATE,
		 f->container, 0, ENODEV);
	MMAP_ROW("MAP_GROWSDOWN on a file", 4096, PROT_READ,
		 MAP_SHARED | MAP_GROWSDOWN, f->dev, bar + 4096, EINVAL);
	MMAP_ROW("driver: not shared", 4096, PROT_READ, MAP_PRIVATE, f->dev,
		 bar + 4096, EINVAL);
	MMAP_ROW("driver: index", 4096, PROT_READ, MAP_SHARED, f->dev, bar * 2,
		 EINVAL);
	MMAP_ROW("driver: region without mmap", 4096, PROT_READ, MAP_SHARED,
		 f->dev, 0, EINVAL);
	MMAP_ROW("driver: the trapped page", 4096, PROT_READ, MAP_SHARED,
		 f->dev, bar, EINVAL);
	MMAP_ROW("driver: past the region", 65536, PROT_READ, MAP_SHARED,
		 f->dev, bar + 4096, EINVAL);
	/* MAP_SHARED drops flags it does not know; a length rounds up */
	p = uiommu_mmap(NULL, 100, PROT_READ, MAP_SHARED | 0x80000, f->dev,
			bar + 4096);
	assert_true(p != MAP_FAILED);
	assert_int_equal(uiommu_munmap(p, 4096), 0);
	/* the file's mode: a read-only container, a write mapping */
	rdonly = uiommu_open("/dev/vfio/vfio", O_RDONLY);
	MMAP_ROW("MAP_SHARED, PROT_WRITE: FMODE_WRITE", 4096, PROT_WRITE,
		 MAP_SHARED, rdonly, 0, EACCES);
	MMAP_ROW("MAP_PRIVATE: no FMODE_WRITE needed", 4096, PROT_WRITE,
		 MAP_PRIVATE, rdonly, 0, ENODEV);
	assert_int_equal(uiommu_close(rdonly), 0);
#undef MMAP_ROW
}

/* ---- file lifetimes --------------------------------------------------------------- */

/* Map a buffer, copy through the engine and check the copy. */
static void engine_copy_ok(int container, int dev, uint8_t *buf, uint64_t iova)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)buf,
		.iova = iova,
		.size = 2 * 4096,
	};
	uint64_t v, len = 4096;
	uint32_t one = 1, status = 0;

	if (container >= 0)
		assert_int_equal(
			uiommu_ioctl(container, VFIO_IOMMU_MAP_DMA, &map), 0);
	memset(buf, (int)(iova >> 12), 4096);
	memset(buf + 4096, 0, 4096);
	v = iova;
	assert_int_equal(uiommu_pwrite(dev, &v, 8, DMAENGINE_REG_SRC), 8);
	v = iova + 4096;
	assert_int_equal(uiommu_pwrite(dev, &v, 8, DMAENGINE_REG_DST), 8);
	assert_int_equal(uiommu_pwrite(dev, &len, 8, DMAENGINE_REG_LEN), 8);
	assert_int_equal(uiommu_pwrite(dev, &one, 4, DMAENGINE_REG_DOORBELL),
			 4);
	assert_int_equal(uiommu_pread(dev, &status, 4, DMAENGINE_REG_STATUS),
			 4);
	assert_int_equal(status, DMAENGINE_STATUS_DONE);
	assert_memory_equal(buf, buf + 4096, 4096);
}

/* A device file holds its group's file (6.1 vfio_device_assign_container
 * takes group->opened_file): closing the group fd leaves the group in its
 * container, MAP_DMA and DMA go on, the group cannot be opened again;
 * the last device file's release releases the group file, which takes
 * the group out of its container. */
static void test_device_fd_holds_group_file(void **state)
{
	struct fds *f = *state;
	struct mm *mm = uiommu_current_mm();
	struct vfio_group_status st = {.argsz = sizeof(st)};
	struct vfio_iommu_type1_dma_map map = {.argsz = sizeof(map)};
	uint8_t *buf;
	int g;

	full_setup(f);
	assert_int_equal(mm_mmap(mm, 4 * 4096, 0, (void **)&buf), 0);
	engine_copy_ok(f->container, f->dev, buf, 0x10000);
	assert_int_equal(uiommu_close(f->group), 0);
	EXPECT_ERR(uiommu_ioctl(f->group, VFIO_GROUP_GET_STATUS, &st), EBADF);
	f->group = -1;
	/* still in the container, with its backend */
	EXPECT_ERR(uiommu_open("/dev/vfio/0", O_RDWR), EBUSY);
	assert_true(mm_locked_vm(mm) > 0);
	engine_copy_ok(f->container, f->dev, buf + 2 * 4096, 0x20000);
	assert_int_equal(uiommu_close(f->dev), 0);
	f->dev = -1;
	/* the group file went with its last device file */
	assert_int_equal(mm_locked_vm(mm), 0);
	EXPECT_ERR(uiommu_ioctl(f->container, VFIO_IOMMU_MAP_DMA, &map),
		   EINVAL); /* no backend: the group left */
	g = uiommu_open("/dev/vfio/0", O_RDWR);
	assert_true(g >= 0);
	assert_int_equal(uiommu_ioctl(g, VFIO_GROUP_GET_STATUS, &st), 0);
	assert_false(st.flags & VFIO_GROUP_FLAGS_CONTAINER_SET);
	f->group = g;
	assert_int_equal(mm_munmap(mm, buf, 4 * 4096), 0);
}

/* Two device files of one group: the group file goes with the last. */
static void test_group_file_goes_with_last_device(void **state)
{
	struct fds *f = *state;
	int d2;

	full_setup(f);
	d2 = uiommu_ioctl(f->group, VFIO_GROUP_GET_DEVICE_FD, "dma0");
	assert_true(d2 >= 0 && d2 != f->dev);
	assert_int_equal(uiommu_close(f->group), 0);
	f->group = -1;
	assert_int_equal(uiommu_close(f->dev), 0);
	f->dev = -1;
	EXPECT_ERR(uiommu_open("/dev/vfio/0", O_RDWR), EBUSY);
	assert_int_equal(uiommu_close(d2), 0);
	f->group = uiommu_open("/dev/vfio/0", O_RDWR);
	assert_true(f->group >= 0);
}

/* A container whose fd closed lives on while groups are in it: group and
 * device ioctls go on, and DMA through what it mapped. */
static void test_container_outlives_its_fd(void **state)
{
	struct fds *f = *state;
	struct mm *mm = uiommu_current_mm();
	struct vfio_group_status st = {.argsz = sizeof(st)};
	uint8_t *buf;
	int d2;

	full_setup(f);
	assert_int_equal(mm_mmap(mm, 2 * 4096, 0, (void **)&buf), 0);
	engine_copy_ok(f->container, f->dev, buf, 0x10000);
	assert_int_equal(uiommu_close(f->container), 0);
	f->container = -1;
	assert_int_equal(uiommu_ioctl(f->group, VFIO_GROUP_GET_STATUS, &st), 0);
	assert_true(st.flags & VFIO_GROUP_FLAGS_CONTAINER_SET);
	engine_copy_ok(-1, f->dev, buf, 0x10000); /* still mapped */
	d2 = uiommu_ioctl(f->group, VFIO_GROUP_GET_DEVICE_FD, "dma0");
	assert_true(d2 >= 0); /* the backend is still there */
	assert_int_equal(uiommu_close(d2), 0);
	assert_true(mm_locked_vm(mm) > 0);
	assert_int_equal(uiommu_close(f->dev), 0);
	f->dev = -1;
	/* the last group out frees the container and its mappings */
	assert_int_equal(uiommu_ioctl(f->group, VFIO_GROUP_UNSET_CONTAINER), 0);
	assert_int_equal(mm_locked_vm(mm), 0);
	assert_int_equal(uiommu_ioctl(f->group, VFIO_GROUP_GET_STATUS, &st), 0);
	assert_false(st.flags & VFIO_GROUP_FLAGS_CONTAINER_SET);
	assert_int_equal(mm_munmap(mm, buf, 2 * 4096), 0);
}

/* Calls in flight while their files close: each call holds its file, the
 * last reference releases it (run under TSan by make check). */
struct hammer {
	int dev, group;
	_Atomic int calls, wrong; /* wrong: an answer but 8 bytes or EBADF */
};

static void *hammer_fn(void *arg)
{
	struct hammer *h = arg;
	struct vfio_region_info r = {.argsz = sizeof(r)};
	struct vfio_group_status st = {.argsz = sizeof(st)};
	bool dev_gone = false, group_gone = false;
	uint64_t v;

	/* no cmocka asserts off the main thread: count what is wrong */
	while (!dev_gone || !group_gone) {
		if (!dev_gone) {
			if (uiommu_ioctl(h->dev, VFIO_DEVICE_GET_REGION_INFO,
					 &r)) {
				if (errno == EBADF)
					dev_gone = true;
				else
					h->wrong++;
			}
			if (uiommu_pread(h->dev, &v, 8, 0) != 8 &&
			    errno != EBADF)
				h->wrong++;
		}
		if (!group_gone &&
		    uiommu_ioctl(h->group, VFIO_GROUP_GET_STATUS, &st)) {
			if (errno == EBADF)
				group_gone = true;
			else
				h->wrong++;
		}
		h->calls++;
	}
	return NULL;
}

static void test_close_while_calls_in_flight(void **state)
{
	struct fds *f = *state;
	struct mm *mm = uiommu_current_mm();

	for (int i = 0; i < 50; i++) {
		struct hammer h = {0};
		pthread_t t;

		full_setup(f);
		h.dev = f->dev;
		h.group = f->group;
		assert_int_equal(pthread_create(&t, NULL, hammer_fn, &h), 0);
		while (h.calls < 3)
			sched_yield();
		/* group first: the device file keeps it, then goes too */
		assert_int_equal(uiommu_close(f->group), 0);
		assert_int_equal(uiommu_close(f->dev), 0);
		assert_int_equal(pthread_join(t, NULL), 0);
		assert_int_equal(h.wrong, 0);
		f->dev = -1;
		f->group = uiommu_open("/dev/vfio/0", O_RDWR);
		assert_true(f->group >= 0);
		assert_int_equal(mm_locked_vm(mm), 0);
	}
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

static const struct CMUnitTest tests[] = {
	T(test_open),
	T(test_open_iommufd),
	T(test_container_ioctls),
	T(test_group_ioctls),
	T(test_device_ioctls),
	T(test_dmaengine),
	T(test_bar_region_mmap),
	T(test_order_get_api_version),
	T(test_order_vfs_ioctls),
	T(test_order_check_extension),
	T(test_order_set_iommu),
	T(test_order_group_get_status),
	T(test_order_set_container),
	T(test_order_unset_container),
	T(test_order_get_device_fd),
	T(test_order_device_get_info),
	T(test_order_region_info),
	T(test_order_irq_info),
	T(test_order_set_irqs),
	cmocka_unit_test(test_set_irqs_validate),
	T(test_order_reset),
	T(test_order_device_feature),
	T(test_order_rw),
	T(test_order_mmap),
	T(test_device_fd_holds_group_file),
	T(test_group_file_goes_with_last_device),
	T(test_container_outlives_its_fd),
	T(test_close_while_calls_in_flight),
	cmocka_unit_test(test_topology),
	cmocka_unit_test(test_iopf_stall_inline),
	cmocka_unit_test(test_iopf_stall_threaded),
	cmocka_unit_test(test_iopf_pri),
};

TEST_MAIN(tests)
