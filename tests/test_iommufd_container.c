// SPDX-License-Identifier: MIT
/*
 * /dev/vfio/vfio served by iommufd (issue 15's compat container: the
 * topology's "vfio-container iommufd", uiommu exec --vfio-container),
 * through the public front as a type1 program drives it: the container
 * file is an iommufd context, VFIO_GROUP_SET_CONTAINER makes its compat
 * IOAS (6.12's vfio_group_ioctl_set_container), a device file binds its
 * device to that context and attaches it to the compat IOAS
 * (vfio_iommufd_compat_attach_ioas), and the device's DMA goes through
 * the maps of VFIO_IOMMU_MAP_DMA; type1 stays the default; a fail-Nth
 * sweep over the device's open through it.
 */
#include "helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <uiommu/uapi.h>
#include "devices/devices.h"
#include "iommufd/iommufd.h"
#include "iommufd/iommufd_private.h"
#include "iommufd/iommufd_uapi.h"
#include "mem/mem.h"
#include "system/system.h"
#include "vfio/vfio_device.h"

#define TOPO                                      \
	"iommu smmu0; "                           \
	"device dma0 iommu=smmu0 sid=1 group=0; " \
	"device dma1 iommu=smmu0 sid=2 group=1; "
#define RW (VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)

#define EXPECT_ERR(call, err)                   \
	do {                                    \
		errno = 0;                      \
		assert_int_equal((call), -1);   \
		assert_int_equal(errno, (err)); \
	} while (0)

static int teardown(void **state)
{
	(void)state;
	unsetenv("UIOMMU_VFIO_CONTAINER");
	assert_int_equal(uiommu_system_exit(), 0);
	return 0;
}

static uint32_t compat_ioas(int fd)
{
	struct iommu_vfio_ioas v = {.size = sizeof(v),
				    .op = IOMMU_VFIO_IOAS_GET};

	assert_int_equal(uiommu_ioctl(fd, IOMMU_VFIO_IOAS, &v), 0);
	return v.ioas_id;
}

/* The pins the process's memory holds. */
static uint64_t pin_refs(struct mm *mm)
{
	struct phys_report r;

	phys_report(mm_phys(mm), mm_owner(mm), &r);
	return r.pin_refs;
}

/* One copy of the DMA engine: its status. */
static uint32_t dma_copy(int dev, uint64_t src, uint64_t dst, uint64_t len)
{
	uint32_t one = 1, status;

	uiommu_pwrite(dev, &src, 8, DMAENGINE_REG_SRC);
	uiommu_pwrite(dev, &dst, 8, DMAENGINE_REG_DST);
	uiommu_pwrite(dev, &len, 8, DMAENGINE_REG_LEN);
	uiommu_pwrite(dev, &one, 4, DMAENGINE_REG_DOORBELL);
	uiommu_pread(dev, &status, 4, DMAENGINE_REG_STATUS);
	return status;
}

/*
 * The compat container end to end: /dev/vfio/vfio is an iommufd (its
 * IOMMU_* ioctls work), SET_CONTAINER makes the compat IOAS and the group
 * reports CONTAINER_SET, SET_IOMMU, GET_DEVICE_FD binds and attaches the
 * device, MAP_DMA'd memory is what the device copies through, UNMAP_DMA
 * makes its DMA fault; closing the device unbinds it (its auto domain
 * goes, the pins with it) while the container keeps its maps.
 */
static void test_iommufd_container_dma(void **state)
{
	struct vfio_group_status st = {.argsz = sizeof(st)};
	struct iommu_ioas_alloc a = {.size = sizeof(a)};
	struct vfio_iommu_type1_dma_map map = {.argsz = sizeof(map),
					       .flags = RW};
	struct vfio_iommu_type1_dma_unmap unmap = {.argsz = sizeof(unmap)};
	int container, group, dev;
	struct mm *mm;
	uint8_t *buf;

	(void)state;
	assert_int_equal(uiommu_system_init(TOPO "vfio-container iommufd"), 0);
	mm = uiommu_current_mm();
	container = uiommu_open("/dev/vfio/vfio", O_RDWR);
	group = uiommu_open("/dev/vfio/0", O_RDWR);
	assert_true(container >= 0 && group >= 0);
	assert_int_equal(uiommu_ioctl(container, VFIO_GET_API_VERSION),
			 VFIO_API_VERSION);
	assert_int_equal(uiommu_ioctl(container, VFIO_CHECK_EXTENSION,
				      VFIO_TYPE1v2_IOMMU),
			 1);
	/* no group yet: no compat IOAS, SET_IOMMU is -ENODEV (type1 -EINVAL) */
	EXPECT_ERR(uiommu_ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU),
		   ENODEV);
	/* the device needs a container first */
	EXPECT_ERR(uiommu_ioctl(group, VFIO_GROUP_GET_DEVICE_FD, "dma0"),
		   EINVAL);

	assert_int_equal(
		uiommu_ioctl(group, VFIO_GROUP_SET_CONTAINER, &container), 0);
	EXPECT_ERR(uiommu_ioctl(group, VFIO_GROUP_SET_CONTAINER, &container),
		   EINVAL);
	assert_int_equal(uiommu_ioctl(group, VFIO_GROUP_GET_STATUS, &st), 0);
	assert_true(st.flags & VFIO_GROUP_FLAGS_CONTAINER_SET);
	assert_int_equal(compat_ioas(container), 1);
	assert_int_equal(uiommu_ioctl(container, IOMMU_IOAS_ALLOC, &a), 0);
	assert_int_equal(a.out_ioas_id, 2);
	assert_int_equal(
		uiommu_ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);

	dev = uiommu_ioctl(group, VFIO_GROUP_GET_DEVICE_FD, "dma0");
	assert_true(dev >= 0);
	/* the bound device is an object of the context: id 3 */
	{
		struct iommu_destroy d = {.size = sizeof(d), .id = 3};

		EXPECT_ERR(uiommu_ioctl(container, IOMMU_DESTROY, &d), EBUSY);
	}

	assert_int_equal(mm_mmap(mm, 4 * 4096, 0, (void **)&buf), 0);
	memset(buf, 0x5a, 8192);
	memset(buf + 8192, 0, 8192);
	map.vaddr = (uintptr_t)buf;
	map.iova = 0x10000;
	map.size = 4 * 4096;
	assert_int_equal(uiommu_ioctl(container, VFIO_IOMMU_MAP_DMA, &map), 0);
	assert_int_equal(dma_copy(dev, 0x10000, 0x12000, 8192),
			 DMAENGINE_STATUS_DONE);
	assert_int_equal(buf[8192], 0x5a);
	assert_int_equal(buf[16383], 0x5a);
	assert_true(pin_refs(mm) > 0);

	unmap.iova = 0x12000;
	unmap.size = 2 * 4096;
	/* part of the mapping: -ENOENT (type1v2: -EINVAL) */
	EXPECT_ERR(uiommu_ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap),
		   ENOENT);
	unmap.iova = 0x10000;
	unmap.size = 4 * 4096;
	assert_int_equal(uiommu_ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap),
			 0);
	assert_int_equal(unmap.size, 4 * 4096);
	assert_int_equal(dma_copy(dev, 0x10000, 0x12000, 8192),
			 DMAENGINE_STATUS_ERROR);

	/* the device's last close unbinds it: its domain and pins go */
	assert_int_equal(uiommu_ioctl(container, VFIO_IOMMU_MAP_DMA, &map), 0);
	assert_true(pin_refs(mm) > 0);
	assert_int_equal(uiommu_close(dev), 0);
	assert_int_equal(pin_refs(mm), 0);
	{
		struct iommu_destroy d = {.size = sizeof(d), .id = 3};

		EXPECT_ERR(uiommu_ioctl(container, IOMMU_DESTROY, &d), ENOENT);
	}
	/* open again: bound and attached again, the maps filled in */
	dev = uiommu_ioctl(group, VFIO_GROUP_GET_DEVICE_FD, "dma0");
	assert_true(dev >= 0);
	assert_int_equal(dma_copy(dev, 0x10000, 0x12000, 8192),
			 DMAENGINE_STATUS_DONE);
	assert_int_equal(uiommu_close(dev), 0);
	assert_int_equal(uiommu_close(group), 0);
	assert_int_equal(uiommu_close(container), 0);
	assert_int_equal(mm_munmap(mm, buf, 4 * 4096), 0);
}

/*
 * type1 is the default: /dev/vfio/vfio is not an iommufd (IOMMU_* goes
 * to a type1 container without a backend: -EINVAL); UIOMMU_VFIO_CONTAINER
 * overrides the topology's item either way; a vfio-container word other
 * than type1/iommufd is -EINVAL.
 */
static void test_container_mode(void **state)
{
	struct iommu_ioas_alloc a = {.size = sizeof(a)};
	int c;

	(void)state;
	assert_int_equal(uiommu_system_init(TOPO "vfio-container bogus"),
			 -EINVAL);
	assert_int_equal(uiommu_system_init(TOPO "vfio-container"), -EINVAL);
	assert_int_equal(uiommu_system_init(TOPO), 0);
	c = uiommu_open("/dev/vfio/vfio", O_RDWR);
	EXPECT_ERR(uiommu_ioctl(c, IOMMU_IOAS_ALLOC, &a), EINVAL);
	assert_int_equal(uiommu_close(c), 0);
	assert_int_equal(uiommu_system_exit(), 0);

	setenv("UIOMMU_VFIO_CONTAINER", "type1", 1);
	assert_int_equal(uiommu_system_init(TOPO "vfio-container iommufd"), 0);
	c = uiommu_open("/dev/vfio/vfio", O_RDWR);
	EXPECT_ERR(uiommu_ioctl(c, IOMMU_IOAS_ALLOC, &a), EINVAL);
	assert_int_equal(uiommu_close(c), 0);
	assert_int_equal(uiommu_system_exit(), 0);

	setenv("UIOMMU_VFIO_CONTAINER", "iommufd", 1);
	assert_int_equal(uiommu_system_init(TOPO), 0);
	c = uiommu_open("/dev/vfio/vfio", O_RDWR);
	assert_int_equal(uiommu_ioctl(c, IOMMU_IOAS_ALLOC, &a), 0);
	assert_int_equal(uiommu_close(c), 0);
	assert_int_equal(uiommu_system_exit(), 0);

	setenv("UIOMMU_VFIO_CONTAINER", "nope", 1);
	assert_int_equal(uiommu_system_init(TOPO), -EINVAL);
	unsetenv("UIOMMU_VFIO_CONTAINER");
	/* for the teardown */
	assert_int_equal(uiommu_system_init(TOPO), 0);
}

/*
 * SET_CONTAINER takes any iommufd file, in type1 mode too (6.12): a
 * /dev/iommu opened as such; an IOAS designated with IOMMU_VFIO_IOAS_SET
 * first is the one the device attaches to (no compat IOAS made);
 * UNSET_CONTAINER drops the context (6.12: open devices stay bound), the
 * group's status no longer has CONTAINER_SET and new device files need a
 * container again; a designation cleared before GET_DEVICE_FD leaves the
 * device nothing to attach to: -ENODEV, and it is left unbound.
 */
static void test_set_container_iommufd_file(void **state)
{
	struct vfio_group_status st = {.argsz = sizeof(st)};
	struct iommu_ioas_alloc a = {.size = sizeof(a)};
	struct iommu_vfio_ioas v = {.size = sizeof(v),
				    .op = IOMMU_VFIO_IOAS_SET};
	int ictx, group, dev, dev2;

	(void)state;
	assert_int_equal(uiommu_system_init(TOPO), 0);
	ictx = uiommu_open("/dev/iommu", O_RDWR);
	group = uiommu_open("/dev/vfio/0", O_RDWR);
	assert_int_equal(uiommu_ioctl(ictx, IOMMU_IOAS_ALLOC, &a), 0);
	v.ioas_id = a.out_ioas_id;
	assert_int_equal(uiommu_ioctl(ictx, IOMMU_VFIO_IOAS, &v), 0);
	assert_int_equal(uiommu_ioctl(group, VFIO_GROUP_SET_CONTAINER, &ictx),
			 0);
	assert_int_equal(compat_ioas(ictx), a.out_ioas_id);
	dev = uiommu_ioctl(group, VFIO_GROUP_GET_DEVICE_FD, "dma0");
	assert_true(dev >= 0);
	/* attached to that IOAS: it cannot go */
	{
		struct iommu_destroy d = {.size = sizeof(d),
					  .id = a.out_ioas_id};

		EXPECT_ERR(uiommu_ioctl(ictx, IOMMU_DESTROY, &d), EBUSY);
	}
	/* a second file of the same device: no second bind */
	dev2 = uiommu_ioctl(group, VFIO_GROUP_GET_DEVICE_FD, "dma0");
	assert_true(dev2 >= 0);
	assert_int_equal(uiommu_close(dev2), 0);

	assert_int_equal(uiommu_ioctl(group, VFIO_GROUP_UNSET_CONTAINER), 0);
	assert_int_equal(uiommu_ioctl(group, VFIO_GROUP_GET_STATUS, &st), 0);
	assert_false(st.flags & VFIO_GROUP_FLAGS_CONTAINER_SET);
	EXPECT_ERR(uiommu_ioctl(group, VFIO_GROUP_UNSET_CONTAINER), EINVAL);
	EXPECT_ERR(uiommu_ioctl(group, VFIO_GROUP_GET_DEVICE_FD, "dma1"),
		   ENODEV);
	/* the open device stays bound until its close */
	assert_int_equal(uiommu_close(dev), 0);

	/* no IOAS designated any more when the device opens */
	assert_int_equal(uiommu_ioctl(group, VFIO_GROUP_SET_CONTAINER, &ictx),
			 0);
	v.op = IOMMU_VFIO_IOAS_CLEAR;
	assert_int_equal(uiommu_ioctl(ictx, IOMMU_VFIO_IOAS, &v), 0);
	EXPECT_ERR(uiommu_ioctl(group, VFIO_GROUP_GET_DEVICE_FD, "dma0"),
		   ENODEV);
	/* unbound again: a fresh bind gets the next id, attach works once
	 * an IOAS is designated */
	v.op = IOMMU_VFIO_IOAS_SET;
	assert_int_equal(uiommu_ioctl(ictx, IOMMU_VFIO_IOAS, &v), 0);
	dev = uiommu_ioctl(group, VFIO_GROUP_GET_DEVICE_FD, "dma0");
	assert_true(dev >= 0);
	assert_int_equal(uiommu_close(dev), 0);
	/* the group file's release drops the context; the context's file
	 * closes after */
	assert_int_equal(uiommu_close(group), 0);
	assert_int_equal(uiommu_close(ictx), 0);
}

/*
 * A device behind an SMMU without IOMMU_CAP_CACHE_COHERENCY (topology
 * "noncoherent") does not bind to iommufd (6.12's iommufd_device_bind:
 * -EINVAL), so its GET_DEVICE_FD through the compat container is -EINVAL
 * and leaves nothing behind (type1 takes such a device); DMA_CC_IOMMU
 * stays 1 (no domain on the compat IOAS).
 */
static void test_noncoherent_device(void **state)
{
	int container, group;

	(void)state;
	assert_int_equal(uiommu_system_init("iommu smmu0 noncoherent; "
					    "device dma0 iommu=smmu0 sid=1 "
					    "group=0; vfio-container iommufd"),
			 0);
	container = uiommu_open("/dev/vfio/vfio", O_RDWR);
	group = uiommu_open("/dev/vfio/0", O_RDWR);
	EXPECT_ERR(uiommu_ioctl(container, VFIO_CHECK_EXTENSION,
				VFIO_DMA_CC_IOMMU),
		   ENODEV);
	assert_int_equal(
		uiommu_ioctl(group, VFIO_GROUP_SET_CONTAINER, &container), 0);
	EXPECT_ERR(uiommu_ioctl(group, VFIO_GROUP_GET_DEVICE_FD, "dma0"),
		   EINVAL);
	EXPECT_ERR(uiommu_ioctl(group, VFIO_GROUP_GET_DEVICE_FD, "dma0"),
		   EINVAL);
	assert_int_equal(uiommu_ioctl(container, VFIO_CHECK_EXTENSION,
				      VFIO_DMA_CC_IOMMU),
			 1);
	assert_int_equal(uiommu_close(group), 0);
	assert_int_equal(uiommu_close(container), 0);
}

struct sweep {
	int container, group, dev;
	struct mm *mm;
	struct iommufd_ctx *ictx;
	unsigned int objects, files;
};

static int sweep_open(void *ctx)
{
	struct sweep *s = ctx;

	errno = 0;
	s->dev = uiommu_ioctl(s->group, VFIO_GROUP_GET_DEVICE_FD, "dma0");
	return s->dev < 0 ? -errno : 0;
}

static void sweep_open_undo(void *ctx)
{
	struct sweep *s = ctx;

	assert_int_equal(uiommu_close(s->dev), 0);
}

/* nothing bound, attached or pinned; no file left */
static void sweep_open_check(void *ctx)
{
	struct sweep *s = ctx;

	assert_int_equal(s->ictx->live_objects, s->objects);
	assert_int_equal(pin_refs(s->mm), 0);
	assert_int_equal(vfio_open_fds(), s->files);
}

/*
 * GET_DEVICE_FD through an iommufd container, failed at every allocation
 * (the bind, the driver's open, the attach and its auto domain filled
 * with the container's maps, the fd): each failure undoes the steps
 * before it.
 */
static void test_fail_sweep_device_open(void **state)
{
	struct vfio_iommu_type1_dma_map map = {.argsz = sizeof(map),
					       .flags = RW,
					       .iova = 0x10000,
					       .size = 4 * 4096};
	struct sweep s;
	void *buf;

	(void)state;
	assert_int_equal(uiommu_system_init(TOPO "vfio-container iommufd"), 0);
	s.mm = uiommu_current_mm();
	s.container = uiommu_open("/dev/vfio/vfio", O_RDWR);
	s.group = uiommu_open("/dev/vfio/0", O_RDWR);
	assert_int_equal(uiommu_ioctl(s.group, VFIO_GROUP_SET_CONTAINER,
				      &s.container),
			 0);
	assert_int_equal(mm_mmap(s.mm, 4 * 4096, 0, &buf), 0);
	map.vaddr = (uintptr_t)buf;
	assert_int_equal(uiommu_ioctl(s.container, VFIO_IOMMU_MAP_DMA, &map),
			 0);
	assert_int_equal(iommufd_ctx_from_fd(s.container, &s.ictx), 0);
	iommufd_ctx_put(s.ictx); /* the container's fd keeps it */
	s.objects = s.ictx->live_objects;
	s.files = vfio_open_fds();
	assert_true(test_fail_sweep(sweep_open, sweep_open_undo,
				    sweep_open_check, &s, 0) > 0);
	assert_int_equal(uiommu_close(s.group), 0);
	assert_int_equal(uiommu_close(s.container), 0);
	assert_int_equal(mm_munmap(s.mm, buf, 4 * 4096), 0);
}

#define T(fn) cmocka_unit_test_teardown(fn, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_iommufd_container_dma),	    T(test_container_mode),
		T(test_set_container_iommufd_file), T(test_noncoherent_device),
		T(test_fail_sweep_device_open),
	};

	return test_run("iommufd_container", tests, ARRAY_SIZE_T(tests));
}
