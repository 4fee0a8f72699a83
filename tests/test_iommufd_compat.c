// SPDX-License-Identifier: MIT
/*
 * VFIO's type1 container API on an iommufd file (src/iommufd/vfio_compat.c,
 * issue 15's "the VFIO compat container served by iommufd"): each compat
 * ioctl's errno table in Linux 6.12's order of checks, the extensions it
 * reports and refuses, SET_IOMMU's type1 vs type1v2 semantics (type1 may
 * unmap part of a mapping), GET_INFO's page sizes and capability chain,
 * MAP_DMA/UNMAP_DMA onto the compat IOAS with a device's DMA through it,
 * the errno differences from type1 that docs/iommufd.md lists, and
 * fail-Nth sweeps over TYPE1's cut, GET_INFO and the compat IOAS's
 * creation.
 */
#include "helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <uiommu/base.h>
#include "devices/devices.h"
#include "hw/hw.h"
#include "iommu/iommu.h"
#include "iommufd/iommufd.h"
#include "iommufd/iommufd_private.h"
#include "iommufd/iommufd_uapi.h"
#include "lib/internal.h"
#include "lib/uaccess.h"
#include "vfio/vfio.h"
#include "vfio/vfio_device.h"

#define PG	4096UL
#define BAD_PTR ((void *)16)
#define RW	(VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)

struct fx {
	struct platform *p;
	struct mm *mm;
	struct device dev;
	struct endpoint *ep;
	int fd;
	struct iommufd_ctx *ictx;
};

static int setup(void **state)
{
	struct platform_config pcfg = {.mem_size = 1ULL << 30};
	struct fx *f = calloc(1, sizeof(*f));

	assert_int_equal(platform_create(&pcfg, &f->p), 0);
	snprintf(f->dev.name, sizeof(f->dev.name), "cc0");
	f->dev.sid = 1;
	assert_int_equal(iommu_probe_device(&f->dev, f->p->iommu, 0), 0);
	assert_int_equal(endpoint_create(f->p->hw, f->dev.sid, 0, 0, &f->ep),
			 0);
	assert_int_equal(mm_create(f->p->pm, &f->mm), 0);
	mm_set_memlock_limit(f->mm, 4096 * PG);
	f->fd = vfio_fops_open(f->mm, "/dev/iommu", O_RDWR);
	assert_true(f->fd >= 0);
	assert_int_equal(iommufd_ctx_from_fd(f->fd, &f->ictx), 0);
	iommufd_ctx_put(f->ictx); /* the fd keeps it */
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	assert_int_equal(vfio_fops_close(f->fd), 0);
	assert_int_equal(mm_locked_vm(f->mm), 0);
	assert_int_equal(mm_check_invariants(f->mm, stderr), 0);
	mm_destroy(f->mm);
	endpoint_destroy(f->ep);
	iommu_release_device(&f->dev);
	platform_destroy(f->p);
	free(f);
	return 0;
}

/* The ioctl's value, or -errno. */
static long ioc(struct fx *f, unsigned long cmd, unsigned long arg)
{
	long ret;

	errno = 0;
	ret = vfio_fops_ioctl(f->fd, cmd, (void *)arg);
	return ret < 0 ? -errno : ret;
}

static long iocp(struct fx *f, unsigned long cmd, void *arg)
{
	return ioc(f, cmd, (unsigned long)arg);
}

static void *region(struct fx *f, size_t size)
{
	void *va;

	assert_int_equal(mm_mmap(f->mm, size, MM_MAP_POPULATE, &va), 0);
	return va;
}

static long map_dma(struct fx *f, uint32_t flags, void *va, uint64_t iova,
		    uint64_t size)
{
	struct vfio_iommu_type1_dma_map m = {.argsz = sizeof(m),
					     .flags = flags,
					     .vaddr = (uintptr_t)va,
					     .iova = iova,
					     .size = size};

	return iocp(f, VFIO_IOMMU_MAP_DMA, &m);
}

/* UNMAP_DMA; *done: the size it wrote back. */
static long unmap_dma(struct fx *f, uint32_t flags, uint64_t iova,
		      uint64_t size, uint64_t *done)
{
	struct vfio_iommu_type1_dma_unmap u = {
		.argsz = sizeof(u), .flags = flags, .iova = iova, .size = size};
	long ret = iocp(f, VFIO_IOMMU_UNMAP_DMA, &u);

	if (done)
		*done = u.size;
	return ret;
}

static uint32_t compat_ioas_id(struct fx *f)
{
	uint32_t id = 0;

	assert_int_equal(iommufd_vfio_compat_ioas_get_id(f->ictx, &id), 0);
	return id;
}

static struct iommufd_device *bind_attach_compat(struct fx *f)
{
	struct iommufd_device *idev;
	uint32_t id, pt = compat_ioas_id(f);

	assert_int_equal(iommufd_device_bind(f->ictx, &f->dev, &id, &idev), 0);
	assert_int_equal(iommufd_device_attach(idev, &pt), 0);
	return idev;
}

static uint32_t dma_word(struct fx *f, uint64_t iova, uint32_t v)
{
	uint32_t r = 0;

	if (endpoint_dma_write(f->ep, iova, &v, sizeof(v)))
		return 0xdead;
	assert_int_equal(endpoint_dma_read(f->ep, iova, &r, sizeof(r)), 0);
	return r;
}

/*
 * VFIO_GET_API_VERSION is VFIO_API_VERSION; CHECK_EXTENSION reports TYPE1,
 * TYPE1v2 and UNMAP_ALL, refuses NESTING (obsolete), UPDATE_VADDR and
 * NOIOMMU (0), and DMA_CC_IOMMU needs the compat IOAS (-ENODEV); the
 * dirty-page ioctl and any other VFIO number are -ENOTTY (6.12 refuses
 * DIRTY_PAGES: dirty tracking is IOMMU_HWPT_GET_DIRTY_BITMAP's).
 */
static void test_compat_extensions(void **state)
{
	struct fx *f = *state;
	struct vfio_iommu_type1_dirty_bitmap d = {.argsz = sizeof(d)};

	assert_int_equal(ioc(f, VFIO_GET_API_VERSION, 0), VFIO_API_VERSION);
	assert_int_equal(ioc(f, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU), 1);
	assert_int_equal(ioc(f, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU), 1);
	assert_int_equal(ioc(f, VFIO_CHECK_EXTENSION, VFIO_UNMAP_ALL), 1);
	assert_int_equal(ioc(f, VFIO_CHECK_EXTENSION, VFIO_TYPE1_NESTING_IOMMU),
			 0);
	assert_int_equal(ioc(f, VFIO_CHECK_EXTENSION, VFIO_UPDATE_VADDR), 0);
	assert_int_equal(ioc(f, VFIO_CHECK_EXTENSION, VFIO_NOIOMMU_IOMMU), 0);
	assert_int_equal(ioc(f, VFIO_CHECK_EXTENSION, 1000), 0);
	assert_int_equal(ioc(f, VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU),
			 -ENODEV);
	assert_int_equal(iocp(f, VFIO_IOMMU_DIRTY_PAGES, &d), -ENOTTY);
	assert_int_equal(ioc(f, VFIO_GROUP_GET_STATUS, 0), -ENOTTY);
	assert_int_equal(ioc(f, VFIO_IOMMU_ENABLE, 0), -ENOTTY);

	/* with the compat IOAS and no domain: coherent (no HWPT says not) */
	assert_int_equal(iommufd_vfio_compat_ioas_create(f->ictx), 0);
	assert_int_equal(ioc(f, VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU), 1);
	/* the SMMU here enforces coherency: its domain does too */
	{
		struct iommufd_device *idev = bind_attach_compat(f);

		assert_int_equal(
			ioc(f, VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU), 1);
		iommufd_device_unbind(idev);
	}
}

/*
 * The compat IOAS: made on demand (as a group's attach makes it), then an
 * ordinary object: IOMMU_VFIO_IOAS_GET tells its id, a second create keeps
 * it, IOMMU_DESTROY removes it and the compat ioctls are -ENODEV again; a
 * create after IOMMU_VFIO_IOAS_SET keeps the designated one.
 */
static void test_compat_ioas_create(void **state)
{
	struct fx *f = *state;
	struct iommu_vfio_ioas v = {.size = sizeof(v),
				    .op = IOMMU_VFIO_IOAS_GET};
	struct iommu_destroy d = {.size = sizeof(d)};
	struct iommu_ioas_alloc a = {.size = sizeof(a)};
	uint32_t id;

	assert_int_equal(iommufd_vfio_compat_ioas_get_id(f->ictx, &id),
			 -ENODEV);
	assert_int_equal(iommufd_vfio_compat_ioas_create(f->ictx), 0);
	id = compat_ioas_id(f);
	assert_int_equal(id, 1);
	assert_int_equal(iocp(f, IOMMU_VFIO_IOAS, &v), 0);
	assert_int_equal(v.ioas_id, id);
	assert_int_equal(iommufd_vfio_compat_ioas_create(f->ictx), 0);
	assert_int_equal(compat_ioas_id(f), id);
	assert_int_equal(f->ictx->live_objects, 1);

	d.id = id;
	assert_int_equal(iocp(f, IOMMU_DESTROY, &d), 0);
	assert_int_equal(ioc(f, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), -ENODEV);

	assert_int_equal(iocp(f, IOMMU_IOAS_ALLOC, &a), 0);
	v.op = IOMMU_VFIO_IOAS_SET;
	v.ioas_id = a.out_ioas_id;
	assert_int_equal(iocp(f, IOMMU_VFIO_IOAS, &v), 0);
	assert_int_equal(iommufd_vfio_compat_ioas_create(f->ictx), 0);
	assert_int_equal(compat_ioas_id(f), a.out_ioas_id);
	assert_int_equal(f->ictx->live_objects, 1);
	assert_int_equal(ioc(f, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);
}

/*
 * The errno tables, in 6.12's order of checks.
 * SET_IOMMU: a type other than TYPE1/TYPE1v2 (-EINVAL), then no compat
 * IOAS (-ENODEV).  GET_INFO: the copy of argsz..iova_pgsizes (-EFAULT),
 * argsz below it (-EINVAL), no compat IOAS (-ENODEV).  MAP_DMA: the copy
 * (-EFAULT), argsz below minsz or a flag other than READ/WRITE (-EINVAL:
 * VADDR included), no compat IOAS (-ENODEV).  UNMAP_DMA: the copy
 * (-EFAULT), argsz or a flag other than ALL (-EINVAL: GET_DIRTY_BITMAP
 * and VADDR included), no compat IOAS (-ENODEV), ALL with an iova or size
 * (-EINVAL).
 */
static void test_compat_errno_order(void **state)
{
	struct fx *f = *state;
	struct vfio_iommu_type1_info info = {.argsz = sizeof(info)};
	struct vfio_iommu_type1_dma_map m = {.argsz = sizeof(m), .flags = RW};
	struct vfio_iommu_type1_dma_unmap u = {.argsz = sizeof(u)};
	void *buf = region(f, PG);
	uint64_t done;

	/* SET_IOMMU */
	assert_int_equal(ioc(f, VFIO_SET_IOMMU, VFIO_TYPE1_NESTING_IOMMU),
			 -EINVAL);
	assert_int_equal(ioc(f, VFIO_SET_IOMMU, VFIO_NOIOMMU_IOMMU), -EINVAL);
	assert_int_equal(ioc(f, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), -ENODEV);
	assert_int_equal(ioc(f, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU), -ENODEV);

	/* GET_INFO */
	assert_int_equal(iocp(f, VFIO_IOMMU_GET_INFO, BAD_PTR), -EFAULT);
	info.argsz =
		offsetofend(struct vfio_iommu_type1_info, iova_pgsizes) - 1;
	assert_int_equal(iocp(f, VFIO_IOMMU_GET_INFO, &info), -EINVAL);
	info.argsz = sizeof(info);
	assert_int_equal(iocp(f, VFIO_IOMMU_GET_INFO, &info), -ENODEV);

	/* MAP_DMA */
	assert_int_equal(iocp(f, VFIO_IOMMU_MAP_DMA, BAD_PTR), -EFAULT);
	m.argsz = sizeof(m) - 1;
	assert_int_equal(iocp(f, VFIO_IOMMU_MAP_DMA, &m), -EINVAL);
	m.argsz = sizeof(m);
	m.flags = RW | VFIO_DMA_MAP_FLAG_VADDR;
	assert_int_equal(iocp(f, VFIO_IOMMU_MAP_DMA, &m), -EINVAL);
	m.flags = RW;
	assert_int_equal(iocp(f, VFIO_IOMMU_MAP_DMA, &m), -ENODEV);

	/* UNMAP_DMA */
	assert_int_equal(iocp(f, VFIO_IOMMU_UNMAP_DMA, BAD_PTR), -EFAULT);
	u.argsz = sizeof(u) - 1;
	assert_int_equal(iocp(f, VFIO_IOMMU_UNMAP_DMA, &u), -EINVAL);
	u.argsz = sizeof(u);
	u.flags = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP;
	assert_int_equal(iocp(f, VFIO_IOMMU_UNMAP_DMA, &u), -EINVAL);
	u.flags = VFIO_DMA_UNMAP_FLAG_VADDR;
	assert_int_equal(iocp(f, VFIO_IOMMU_UNMAP_DMA, &u), -EINVAL);
	u.flags = VFIO_DMA_UNMAP_FLAG_ALL;
	u.iova = PG; /* not yet looked at: no IOAS first */
	assert_int_equal(iocp(f, VFIO_IOMMU_UNMAP_DMA, &u), -ENODEV);

	assert_int_equal(iommufd_vfio_compat_ioas_create(f->ictx), 0);
	assert_int_equal(iocp(f, VFIO_IOMMU_UNMAP_DMA, &u), -EINVAL);
	assert_int_equal(unmap_dma(f, VFIO_DMA_UNMAP_FLAG_ALL, 0, PG, NULL),
			 -EINVAL);
	/* the mapping's own checks are the IOAS's (iopt_map_user_pages) */
	assert_int_equal(map_dma(f, RW, buf, 0x10000, 0), -EINVAL);
	assert_int_equal(map_dma(f, RW, buf, 0x10000, PG), 0);
	assert_int_equal(map_dma(f, RW, buf, 0x10000, PG), -EEXIST);
	assert_int_equal(unmap_dma(f, 0, 0x10000, 0, NULL), -EINVAL);
	assert_int_equal(unmap_dma(f, 0, 0x10000, PG, &done), 0);
	assert_int_equal(done, PG);
}

/*
 * TYPE1v2 on the compat IOAS: MAP_DMA maps at the fixed IOVA; UNMAP_DMA
 * of whole mappings writes back the size unmapped; of part of one it is
 * -ENOENT with size 0 (type1v2: -EINVAL); of nothing 0 with size 0;
 * UNMAP_ALL unmaps everything.  A device attached to the compat IOAS
 * does DMA through the maps.
 */
static void test_compat_map_unmap_v2(void **state)
{
	struct fx *f = *state;
	uint32_t *buf = region(f, 4 * PG);
	struct iommufd_device *idev;
	uint64_t done;

	assert_int_equal(iommufd_vfio_compat_ioas_create(f->ictx), 0);
	idev = bind_attach_compat(f);
	assert_int_equal(ioc(f, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);

	/* neither READ nor WRITE with a domain attached: the domain's map
	 * refuses it (6.12's io-pgtable-arm: -EINVAL), nothing is mapped
	 * (found by the fuzzer: with "nothing to do" the map loop spun) */
	assert_int_equal(map_dma(f, 0, buf, 0x100000, 2 * PG), -EINVAL);
	assert_int_equal(map_dma(f, RW, buf, 0x100000, 2 * PG), 0);
	assert_int_equal(map_dma(f, RW, buf + 2048, 0x200000, 2 * PG), 0);
	assert_int_equal(dma_word(f, 0x100000 + PG, 0x1111), 0x1111);
	assert_int_equal(buf[1024], 0x1111);
	assert_int_equal(dma_word(f, 0x200000, 0x2222), 0x2222);
	assert_int_equal(buf[2048], 0x2222);

	/* part of a mapping: 6.12's -ENOENT, nothing unmapped */
	done = 99;
	assert_int_equal(unmap_dma(f, 0, 0x100000, PG, &done), -ENOENT);
	assert_int_equal(done, 0);
	assert_int_equal(dma_word(f, 0x100000, 3), 3);
	/* nothing there: success, size 0 */
	assert_int_equal(unmap_dma(f, 0, 0x800000, PG, &done), 0);
	assert_int_equal(done, 0);
	/* whole */
	assert_int_equal(unmap_dma(f, 0, 0x100000, 2 * PG, &done), 0);
	assert_int_equal(done, 2 * PG);
	assert_int_equal(dma_word(f, 0x100000, 1), 0xdead);
	assert_int_equal(dma_word(f, 0x200000, 4), 4);
	/* ALL */
	assert_int_equal(map_dma(f, VFIO_DMA_MAP_FLAG_READ, buf, 0x100000, PG),
			 0);
	assert_int_equal(unmap_dma(f, VFIO_DMA_UNMAP_FLAG_ALL, 0, 0, &done), 0);
	assert_int_equal(done, 3 * PG);
	assert_int_equal(dma_word(f, 0x200000, 1), 0xdead);
	iommufd_device_unbind(idev);
}

/*
 * TYPE1 (v1): large pages off in the compat IOAS, so an unmap may cut a
 * mapping: the rest stays mapped and DMA-able, and its pages stay pinned
 * until they go too.  SET_IOMMU TYPE1 once a domain has mappings is
 * -EINVAL (large IOPTEs may exist), as 6.12.
 */
static void test_compat_type1_cut(void **state)
{
	struct fx *f = *state;
	uint32_t *buf = region(f, 4 * PG);
	struct iommufd_device *idev;
	uint64_t done;

	assert_int_equal(iommufd_vfio_compat_ioas_create(f->ictx), 0);
	idev = bind_attach_compat(f);
	assert_int_equal(ioc(f, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU), 0);
	assert_int_equal(map_dma(f, RW, buf, 0x100000, 4 * PG), 0);
	assert_int_equal(mm_locked_vm(f->mm) + mm_user_locked_vm() > 0, 1);

	/* the second page alone */
	assert_int_equal(unmap_dma(f, 0, 0x100000 + PG, PG, &done), 0);
	assert_int_equal(done, PG);
	assert_int_equal(dma_word(f, 0x100000 + PG, 1), 0xdead);
	assert_int_equal(dma_word(f, 0x100000, 0x10), 0x10);
	assert_int_equal(buf[0], 0x10);
	assert_int_equal(dma_word(f, 0x100000 + 2 * PG, 0x20), 0x20);
	assert_int_equal(buf[2048], 0x20);
	/* from inside the first page to inside the third: cut at both ends
	 * (the first page's cut is at its last byte, it stays whole) */
	assert_int_equal(unmap_dma(f, 0, 0x100000 + 3 * PG, PG, &done), 0);
	assert_int_equal(done, PG);
	assert_int_equal(dma_word(f, 0x100000 + 2 * PG, 0x30), 0x30);
	assert_int_equal(unmap_dma(f, VFIO_DMA_UNMAP_FLAG_ALL, 0, 0, &done), 0);
	assert_int_equal(done, 2 * PG);
	assert_int_equal(dma_word(f, 0x100000, 1), 0xdead);

	/* TYPE1 again with a mapping in the domain: refused */
	assert_int_equal(ioc(f, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU), 0);
	iopt_enable_large_pages(&f->ictx->vfio_ioas->iopt);
	assert_int_equal(map_dma(f, RW, buf, 0x100000, PG), 0);
	assert_int_equal(ioc(f, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU), -EINVAL);
	assert_int_equal(ioc(f, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);
	iommufd_device_unbind(idev);
}

/*
 * GET_INFO: flags PGSIZES|CAPS; iova_pgsizes is the domains' common page
 * sizes (all sizes from PAGE_SIZE with none); the capabilities DMA_AVAIL
 * (U32_MAX) then IOVA_RANGE (the usable ranges: around the SMMU's MSI
 * window once the device is attached), chained from cap_offset; an argsz
 * too small for them gets cap_offset 0 and the argsz they need.
 */
static void test_compat_get_info(void **state)
{
	struct fx *f = *state;
	struct {
		struct vfio_iommu_type1_info info;
		uint8_t caps[256];
	} b;
	struct vfio_iommu_type1_info_dma_avail *avail;
	struct vfio_iommu_type1_info_cap_iova_range *r;
	struct iommufd_device *idev;
	/* each capability 8-byte aligned: DMA_AVAIL's 12 bytes take 16 */
	const size_t avail_sz = ALIGN_UP(sizeof(*avail), 8);
	size_t need = sizeof(b.info) + avail_sz + sizeof(*r) +
		      2 * sizeof(struct vfio_iova_range);

	assert_int_equal(iommufd_vfio_compat_ioas_create(f->ictx), 0);
	memset(&b, 0, sizeof(b));
	b.info.argsz = sizeof(b.info);
	assert_int_equal(iocp(f, VFIO_IOMMU_GET_INFO, &b.info), 0);
	assert_int_equal(b.info.flags,
			 VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS);
	assert_int_equal(b.info.iova_pgsizes, ~(uint64_t)(PG - 1));
	assert_int_equal(b.info.cap_offset, 0);
	/* no domain: one range, everything */
	assert_int_equal(b.info.argsz, need - sizeof(struct vfio_iova_range));

	idev = bind_attach_compat(f);
	memset(&b, 0, sizeof(b));
	b.info.argsz = sizeof(b.info);
	assert_int_equal(iocp(f, VFIO_IOMMU_GET_INFO, &b.info), 0);
	assert_int_equal(b.info.argsz, need);
	assert_int_equal(b.info.cap_offset, 0);
	assert_int_equal(b.info.iova_pgsizes,
			 f->ictx->vfio_ioas->iopt.domains[0]->pgsize_bitmap);

	memset(&b, 0, sizeof(b));
	b.info.argsz = sizeof(b);
	assert_int_equal(iocp(f, VFIO_IOMMU_GET_INFO, &b.info), 0);
	assert_int_equal(b.info.argsz, need);
	assert_int_equal(b.info.cap_offset, sizeof(b.info));
	avail = (void *)b.caps;
	assert_int_equal(avail->header.id, VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL);
	assert_int_equal(avail->header.version, 1);
	assert_int_equal(avail->avail, UINT32_MAX);
	assert_int_equal(avail->header.next, sizeof(b.info) + avail_sz);
	r = (void *)(b.caps + avail_sz);
	assert_int_equal(r->header.id, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE);
	assert_int_equal(r->header.version, 1);
	assert_int_equal(r->header.next, 0);
	assert_int_equal(r->nr_iovas, 2);
	assert_int_equal(r->iova_ranges[0].start, 0);
	assert_int_equal(r->iova_ranges[0].end, MSI_IOVA_BASE - 1);
	assert_int_equal(r->iova_ranges[1].start,
			 MSI_IOVA_BASE + MSI_IOVA_LENGTH);

	/* room for DMA_AVAIL only: it alone is written, no cap_offset */
	memset(&b, 0, sizeof(b));
	b.info.argsz = sizeof(b.info) + avail_sz;
	assert_int_equal(iocp(f, VFIO_IOMMU_GET_INFO, &b.info), 0);
	assert_int_equal(b.info.argsz, need);
	assert_int_equal(b.info.cap_offset, 0);
	assert_int_equal(avail->header.id, VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL);
	assert_int_equal(r->header.id, 0);
	iommufd_device_unbind(idev);
}

/* ---- fail-Nth sweeps ----------------------------------------------------------- */

struct sweep {
	struct fx *f;
	uint32_t *buf;
};

#define SWEEP_IOVA 0x100000UL

static int sweep_cut(void *ctx)
{
	struct sweep *s = ctx;

	/* the second of four pages: cuts at both of its ends */
	return (int)unmap_dma(s->f, 0, SWEEP_IOVA + PG, PG, NULL);
}

static void sweep_cut_undo(void *ctx)
{
	struct sweep *s = ctx;

	assert_int_equal(map_dma(s->f, RW, s->buf + 1024, SWEEP_IOVA + PG, PG),
			 0);
}

/* a failed cut unmapped nothing: every page still reaches its memory */
static void sweep_cut_check(void *ctx)
{
	struct sweep *s = ctx;

	for (unsigned int i = 0; i < 4; i++) {
		assert_int_equal(dma_word(s->f, SWEEP_IOVA + i * PG, 0x40 + i),
				 0x40 + i);
		assert_int_equal(s->buf[i * 1024], 0x40 + i);
	}
}

/* TYPE1's partial UNMAP_DMA: a failure at any allocation of the cut
 * leaves the mapping whole (and DMA-able); nothing leaks (the teardown's
 * mm checks, once all is unmapped). */
static void test_fail_sweep_type1_cut(void **state)
{
	struct fx *f = *state;
	struct sweep s = {.f = f, .buf = region(f, 4 * PG)};
	struct iommufd_device *idev;

	assert_int_equal(iommufd_vfio_compat_ioas_create(f->ictx), 0);
	idev = bind_attach_compat(f);
	assert_int_equal(ioc(f, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU), 0);
	assert_int_equal(map_dma(f, RW, s.buf, SWEEP_IOVA, 4 * PG), 0);
	assert_true(test_fail_sweep(sweep_cut, sweep_cut_undo, sweep_cut_check,
				    &s, 0) > 0);
	iommufd_device_unbind(idev);
}

static int sweep_info(void *ctx)
{
	struct sweep *s = ctx;
	struct {
		struct vfio_iommu_type1_info info;
		uint8_t caps[128];
	} b = {.info.argsz = sizeof(b)};

	return (int)iocp(s->f, VFIO_IOMMU_GET_INFO, &b.info);
}

/* GET_INFO's allocations fail cleanly (-ENOMEM, nothing held). */
static void test_fail_sweep_get_info(void **state)
{
	struct fx *f = *state;
	struct sweep s = {.f = f};

	assert_int_equal(iommufd_vfio_compat_ioas_create(f->ictx), 0);
	assert_true(test_fail_sweep(sweep_info, NULL, NULL, &s, 0) > 0);
}

static int sweep_create(void *ctx)
{
	struct sweep *s = ctx;

	return iommufd_vfio_compat_ioas_create(s->f->ictx);
}

static void sweep_create_undo(void *ctx)
{
	struct sweep *s = ctx;
	struct iommu_destroy d = {.size = sizeof(d),
				  .id = compat_ioas_id(s->f)};

	assert_int_equal(iocp(s->f, IOMMU_DESTROY, &d), 0);
}

static void sweep_create_check(void *ctx)
{
	struct sweep *s = ctx;
	uint32_t id;

	assert_int_equal(iommufd_vfio_compat_ioas_get_id(s->f->ictx, &id),
			 -ENODEV);
	assert_int_equal(s->f->ictx->live_objects, 0);
}

/* The compat IOAS's creation: a failure leaves none designated, no object. */
static void test_fail_sweep_compat_create(void **state)
{
	struct fx *f = *state;
	struct sweep s = {.f = f};

	assert_true(test_fail_sweep(sweep_create, sweep_create_undo,
				    sweep_create_check, &s, 0) > 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_compat_extensions),	  T(test_compat_ioas_create),
		T(test_compat_errno_order),	  T(test_compat_map_unmap_v2),
		T(test_compat_type1_cut),	  T(test_compat_get_info),
		T(test_fail_sweep_type1_cut),	  T(test_fail_sweep_get_info),
		T(test_fail_sweep_compat_create),
	};

	return test_run("iommufd_compat", tests, ARRAY_SIZE_T(tests));
}
