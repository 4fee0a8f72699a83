// SPDX-License-Identifier: MIT
/*
 * Issue 15's dirty tracking with the SMMU's dirty bits in the page tables,
 * through /dev/iommu: a HWPT allocated with IOMMU_HWPT_ALLOC_DIRTY_TRACKING
 * on an SMMU device (HTTU: the IOMMU core's dirty ops over an LPAE stage 1
 * with DBM, CD.HA/HD set), the device's DMA through it, and
 * SET_DIRTY_TRACKING / GET_DIRTY_BITMAP: the bitmap is exactly the pages
 * the device wrote, cleared after a read, kept with NO_CLEAR, and a page
 * written again after a clearing read is dirty again (the read flushed the
 * IOTLB entry cached while it was dirty).  An SMMU without HTTU (the
 * topology's nohttu) refuses DIRTY_TRACKING with -EOPNOTSUPP and reports
 * no capability; a fail-Nth sweep covers the new allocation path.
 *
 * The fixture: one machine with two SMMUs, A with HTTU (device sid 1) and
 * B without (device sid 1 of B); one /dev/iommu context.
 */
#include "helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uiommu/base.h>
#include "devices/devices.h"
#include "hw/hw.h"
#include "iommu/iommu.h"
#include "iommufd/iommufd.h"
#include "iommufd/iommufd_private.h"
#include "iommufd/iommufd_uapi.h"
#include "vfio/vfio.h"
#include "system/system.h"
#include "vfio/vfio_device.h"

#define PG	 4096UL
#define RW	 (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)
#define FIXED_RW (RW | IOMMU_IOAS_MAP_FIXED_IOVA)
#define IOVA	 0x100000UL
#define NPAGES	 16

struct fx {
	struct platform *p, *nohttu;
	struct mm *mm;
	struct device dev, dev_b; /* on A (HTTU), on B (no HTTU) */
	struct endpoint *ep;
	int fd;
	struct iommufd_ctx *ictx;
	uint32_t ioas;
	uint8_t *buf;
};

static int setup(void **state)
{
	struct platform_config pcfg = {.mem_size = 1ULL << 30};
	struct smmu_config off = {.no_httu = true};
	struct fx *f = calloc(1, sizeof(*f));
	uint64_t iova = IOVA;

	assert_int_equal(platform_create(&pcfg, &f->p), 0);
	assert_int_equal(platform_add_iommu(f->p, &off, NULL, &f->nohttu), 0);
	snprintf(f->dev.name, sizeof(f->dev.name), "dirty0");
	f->dev.sid = 1;
	assert_int_equal(iommu_probe_device(&f->dev, f->p->iommu, 0), 0);
	assert_int_equal(endpoint_create(f->p->hw, 1, 0, 0, &f->ep), 0);
	snprintf(f->dev_b.name, sizeof(f->dev_b.name), "dirty1");
	f->dev_b.sid = 1;
	assert_int_equal(iommu_probe_device(&f->dev_b, f->nohttu->iommu, 0), 0);
	assert_int_equal(mm_create(f->p->pm, &f->mm), 0);
	f->fd = vfio_fops_open(f->mm, "/dev/iommu", O_RDWR);
	assert_true(f->fd >= 0);
	assert_int_equal(iommufd_ctx_from_fd(f->fd, &f->ictx), 0);
	iommufd_ctx_put(f->ictx); /* the fd keeps it */
	assert_int_equal(mm_mmap(f->mm, NPAGES * PG, MM_MAP_POPULATE,
				 (void **)&f->buf),
			 0);
	f->ioas = test_ioas_alloc(f->fd);
	{
		struct iommu_ioas_map m = {.size = sizeof(m),
					   .flags = FIXED_RW,
					   .ioas_id = f->ioas,
					   .user_va = (uintptr_t)f->buf,
					   .length = NPAGES * PG,
					   .iova = iova};

		assert_int_equal(test_fops_ioctl(f->fd, IOMMU_IOAS_MAP, &m), 0);
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	assert_int_equal(vfio_fops_close(f->fd), 0);
	assert_int_equal(mm_locked_vm(f->mm), 0);
	mm_destroy(f->mm);
	endpoint_destroy(f->ep);
	iommu_release_device(&f->dev);
	iommu_release_device(&f->dev_b);
	assert_int_equal(
		mem_check_invariants(f->p->pm, PHYS_OWNER_KERNEL, stderr), 0);
	platform_destroy(f->p);
	free(f);
	return 0;
}

static int hwpt_alloc(struct fx *f, uint32_t flags, uint32_t dev, uint32_t *out)
{
	struct iommu_hwpt_alloc h = {.size = sizeof(h),
				     .flags = flags,
				     .dev_id = dev,
				     .pt_id = f->ioas};
	int ret = test_fops_ioctl(f->fd, IOMMU_HWPT_ALLOC, &h);

	*out = h.out_hwpt_id;
	return ret;
}

static int set_tracking(struct fx *f, uint32_t hwpt, bool enable)
{
	struct iommu_hwpt_set_dirty_tracking s = {
		.size = sizeof(s),
		.flags = enable ? IOMMU_HWPT_DIRTY_TRACKING_ENABLE : 0,
		.hwpt_id = hwpt};

	return test_fops_ioctl(f->fd, IOMMU_HWPT_SET_DIRTY_TRACKING, &s);
}

/* GET_DIRTY_BITMAP over the fixture's NPAGES pages: bit i = page i. */
static int get_bitmap(struct fx *f, uint32_t hwpt, uint32_t flags,
		      uint64_t *bits)
{
	struct iommu_hwpt_get_dirty_bitmap g = {.size = sizeof(g),
						.hwpt_id = hwpt,
						.flags = flags,
						.iova = IOVA,
						.length = NPAGES * PG,
						.page_size = PG,
						.data = (uintptr_t)bits};

	*bits = 0;
	return test_fops_ioctl(f->fd, IOMMU_HWPT_GET_DIRTY_BITMAP, &g);
}

static void dma_write(struct fx *f, unsigned int page, uint32_t v)
{
	assert_int_equal(endpoint_dma_write(f->ep, IOVA + page * PG + 8, &v,
					    sizeof(v)),
			 0);
	assert_int_equal(*(uint32_t *)(f->buf + page * PG + 8), v);
}

static uint32_t bind_attach_dirty(struct fx *f, struct iommufd_device **idev)
{
	uint32_t dev_id, hwpt, pt;

	assert_int_equal(iommufd_device_bind(f->ictx, &f->dev, &dev_id, idev),
			 0);
	assert_int_equal(hwpt_alloc(f, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, dev_id,
				    &hwpt),
			 0);
	pt = hwpt;
	assert_int_equal(iommufd_device_attach(*idev, &pt), 0);
	return hwpt;
}

/*
 * The SMMU dirty tracking: GET_DIRTY_BITMAP equals the pages the
 * device wrote (not those it read), cleared after the read, kept with
 * NO_CLEAR; a page written again after a clearing read shows again.
 */
static void test_smmu_dirty_bitmap(void **state)
{
	struct fx *f = *state;
	struct iommufd_device *idev;
	uint32_t hwpt = bind_attach_dirty(f, &idev), v;
	uint64_t bits;

	assert_int_equal(set_tracking(f, hwpt, true), 0);
	/* tracking starts clean (the mapping was made writable-dirty) */
	assert_int_equal(get_bitmap(f, hwpt, 0, &bits), 0);
	assert_int_equal(bits, 0);

	dma_write(f, 1, 0x11);
	dma_write(f, 4, 0x44);
	dma_write(f, 15, 0xff);
	assert_int_equal(endpoint_dma_read(f->ep, IOVA + 2 * PG, &v, 4), 0);
	assert_int_equal(get_bitmap(f, hwpt,
				    IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR,
				    &bits),
			 0);
	assert_int_equal(bits, 1u << 1 | 1u << 4 | 1u << 15);
	/* NO_CLEAR kept them */
	assert_int_equal(get_bitmap(f, hwpt, 0, &bits), 0);
	assert_int_equal(bits, 1u << 1 | 1u << 4 | 1u << 15);
	/* that read cleared them */
	assert_int_equal(get_bitmap(f, hwpt, 0, &bits), 0);
	assert_int_equal(bits, 0);
	/* page 4's IOTLB entry was cached writable while dirty: the clearing
	 * read flushed it, so this write dirties the page again */
	dma_write(f, 4, 0x45);
	assert_int_equal(get_bitmap(f, hwpt, 0, &bits), 0);
	assert_int_equal(bits, 1u << 4);

	assert_int_equal(set_tracking(f, hwpt, false), 0);
	iommufd_device_detach(idev);
	assert_int_equal(test_iommu_destroy(f->fd, hwpt), 0);
	iommufd_device_unbind(idev);
}

/*
 * The capability and the refusals: an SMMU with HTTU reports
 * IOMMU_HW_CAP_DIRTY_TRACKING; without HTTU (nohttu) none, and
 * DIRTY_TRACKING is -EOPNOTSUPP, as it is with NEST_PARENT (a stage-2
 * domain cannot track); a HWPT without the flag has no dirty ops
 * (-EOPNOTSUPP).
 */
static void test_smmu_dirty_refusals(void **state)
{
	struct fx *f = *state;
	struct iommufd_device *ia, *ib;
	uint32_t a, b, hwpt;
	uint64_t bits;

	assert_int_equal(iommufd_device_bind(f->ictx, &f->dev, &a, &ia), 0);
	assert_int_equal(iommufd_device_bind(f->ictx, &f->dev_b, &b, &ib), 0);
	for (int i = 0; i < 2; i++) {
		struct iommu_hw_info h = {.size = sizeof(h),
					  .dev_id = i ? b : a};

		assert_int_equal(test_fops_ioctl(f->fd, IOMMU_GET_HW_INFO, &h),
				 0);
		assert_int_equal(h.out_capabilities,
				 i ? 0 : IOMMU_HW_CAP_DIRTY_TRACKING);
	}
	assert_true(device_iommu_capable(&f->dev, IOMMU_CAP_DIRTY_TRACKING));
	assert_false(device_iommu_capable(&f->dev_b, IOMMU_CAP_DIRTY_TRACKING));
	assert_int_equal(hwpt_alloc(f, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, b,
				    &hwpt),
			 -EOPNOTSUPP);
	assert_int_equal(hwpt_alloc(f,
				    IOMMU_HWPT_ALLOC_DIRTY_TRACKING |
					    IOMMU_HWPT_ALLOC_NEST_PARENT,
				    a, &hwpt),
			 -EOPNOTSUPP);
	assert_int_equal(hwpt_alloc(f, 0, b, &hwpt), 0);
	assert_int_equal(set_tracking(f, hwpt, true), -EOPNOTSUPP);
	assert_int_equal(get_bitmap(f, hwpt, 0, &bits), -EOPNOTSUPP);
	assert_int_equal(test_iommu_destroy(f->fd, hwpt), 0);
	iommufd_device_unbind(ib);
	iommufd_device_unbind(ia);
}

/* 6.12's arm_smmu_dbm_capable: HTTU and coherent table walks, so a
 * noncoherent SMMU with HTTU cannot track either. */
static void test_noncoherent_no_dirty(void **state)
{
	struct fx *f = *state;
	struct arm_smmu_options drv = {.coherent = false, .range_inv = true};
	struct iommu_domain *d;
	struct platform *nc;
	struct device dev = {.sid = 2};

	assert_int_equal(platform_add_iommu(f->p, NULL, &drv, &nc), 0);
	snprintf(dev.name, sizeof(dev.name), "dirty2");
	assert_int_equal(iommu_probe_device(&dev, nc->iommu, 0), 0);
	assert_false(device_iommu_capable(&dev, IOMMU_CAP_DIRTY_TRACKING));
	assert_int_equal(iommu_domain_alloc_dirty(&dev, &d), -EOPNOTSUPP);
	iommu_release_device(&dev);
}

/* The core below iommufd: a dirty domain has the driver's ops, a plain
 * one none, and an SMMU without HTTU gives none (-EOPNOTSUPP). */
static void test_core_dirty_domain(void **state)
{
	struct fx *f = *state;
	struct iommu_domain *d = NULL, *plain;

	assert_int_equal(iommu_domain_alloc_dirty(&f->dev_b, &d), -EOPNOTSUPP);
	assert_int_equal(iommu_domain_alloc_dirty(&f->dev, &d), 0);
	assert_non_null(d->dirty_ops);
	assert_non_null(d->dirty_ops->read_and_clear_dirty);
	assert_int_equal(d->type, IOMMU_DOMAIN_UNMANAGED);
	plain = iommu_domain_alloc(&f->dev);
	assert_non_null(plain);
	assert_null(plain->dirty_ops);
	iommu_domain_free(plain);
	iommu_domain_free(d);
}

struct sweep {
	struct fx *f;
	uint32_t dev_id;
	unsigned int objects;
};

static int sweep_op(void *ctx)
{
	struct sweep *s = ctx;
	uint32_t out;

	return hwpt_alloc(s->f, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, s->dev_id,
			  &out);
}

static void sweep_undo(void *ctx)
{
	struct sweep *s = ctx;

	/* the new HWPT has the lowest free id: the one after the device */
	assert_int_equal(test_iommu_destroy(s->f->fd, s->dev_id + 1), 0);
}

static void sweep_check(void *ctx)
{
	struct sweep *s = ctx;

	assert_int_equal(s->f->ictx->live_objects, s->objects);
}

/* The fail-Nth over the new allocation path (HWPT_ALLOC with
 * DIRTY_TRACKING on the SMMU): every failure leaves no object behind
 * (teardown checks the frames). */
static void test_fail_sweep_dirty_alloc(void **state)
{
	struct fx *f = *state;
	struct iommufd_device *idev;
	struct sweep s = {.f = f};

	assert_int_equal(
		iommufd_device_bind(f->ictx, &f->dev, &s.dev_id, &idev), 0);
	s.objects = f->ictx->live_objects;
	assert_true(test_fail_sweep(sweep_op, sweep_undo, sweep_check, &s, 0) >
		    0);
	iommufd_device_unbind(idev);
}

/* The topology's nohttu: an SMMU whose IDR0.HTTU is 0 (docs/uapi.md). */
static void test_topology_nohttu(void **state)
{
	struct topology t;

	(void)state;
	assert_int_equal(topology_parse("iommu s nohttu noncoherent; device d "
					"iommu=s sid=1 group=0",
					&t),
			 0);
	assert_true(t.iommus[0].hw.no_httu);
	assert_false(t.iommus[0].drv.coherent);
	assert_int_equal(topology_parse("iommu s; device d iommu=s sid=1 "
					"group=0",
					&t),
			 0);
	assert_false(t.iommus[0].hw.no_httu);
	assert_int_equal(topology_parse("iommu s httu", &t), -EINVAL);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_smmu_dirty_bitmap),
		T(test_smmu_dirty_refusals),
		T(test_core_dirty_domain),
		T(test_noncoherent_no_dirty),
		T(test_fail_sweep_dirty_alloc),
		cmocka_unit_test(test_topology_nohttu),
	};

	return test_run("iommufd_dirty", tests, ARRAY_SIZE_T(tests));
}
