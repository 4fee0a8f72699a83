// SPDX-License-Identifier: MIT
/*
 * Nested HWPTs (issue 15: "IOMMU_HWPT_ALLOC ... nested HWPTs over a parent
 * where the SMMU supports stage 1 over stage 2", "IOMMU_HWPT_INVALIDATE",
 * "MD_CHECK_IOTLB"; src/iommufd/hw_pagetable_nested.c): on the mock IOMMU
 * (IOMMU_HWPT_DATA_SELFTEST) every errno of a nested HWPT_ALLOC in 6.12's
 * order, the parent's lifetime rules (DESTROY -EBUSY while a nested HWPT
 * lives; close with both), replacing a device onto nested HWPTs,
 * MD_CHECK_IOTLB with HWPT_INVALIDATE (one entry, all, bad entries, the
 * count of entries handled written back), a fail-nth sweep of the nested
 * HWPT_ALLOC.  On the SMMUv3 (UIOMMU_HWPT_DATA_ARM_SMMUV3, 6.13's STE
 * data over a NEST_PARENT HWPT): the guest STE's checks, real DMA of a
 * device through a guest stage 1 in IOAS-mapped memory over the parent's
 * stage 2, HWPT_INVALIDATE's SMMUv3 commands making a changed stage-1
 * entry or CD take effect, bypass and abort STEs, a fail-nth sweep.
 */
#include "helpers.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uiommu/base.h>
#include "devices/devices.h"
#include "hw/hw.h"
#include "iommu/arm_smmu_v3.h"
#include "iommu/iommu.h"
#include "iommufd/iommufd.h"
#include "iommufd/iommufd_private.h"
#include "iommufd/iommufd_test_uapi.h"
#include "iommufd/iommufd_uapi.h"
#include "iommufd/iommufd_uapi_smmuv3.h"
#include "pgtable/lpae_format.h"
#include "vfio/vfio.h"
#include "vfio/vfio_device.h"

#define PG 4096UL

struct fx {
	struct platform *p;
	struct mm *mm;
	int fd;
	uint32_t ioas, stdev, idev, auto_hwpt;
};

static int mock_domain(struct fx *f, uint32_t pt, uint32_t *stdev,
		       uint32_t *hwpt, uint32_t *idev)
{
	struct iommu_test_cmd c = {
		.size = sizeof(c), .op = IOMMU_TEST_OP_MOCK_DOMAIN, .id = pt};
	int ret = test_fops_ioctl(f->fd, IOMMU_TEST_CMD, &c);

	if (!ret) {
		*stdev = c.mock_domain.out_stdev_id;
		*hwpt = c.mock_domain.out_hwpt_id;
		*idev = c.mock_domain.out_idev_id;
	}
	return ret;
}

static int setup(void **state)
{
	struct platform_config pcfg = {.mem_size = 1ULL << 30};
	struct fx *f = calloc(1, sizeof(*f));

	assert_int_equal(platform_create(&pcfg, &f->p), 0);
	assert_int_equal(mm_create(f->p->pm, &f->mm), 0);
	f->fd = vfio_fops_open(f->mm, "/dev/iommu", O_RDWR);
	assert_true(f->fd >= 0);
	f->ioas = test_ioas_alloc(f->fd);
	assert_int_equal(
		mock_domain(f, f->ioas, &f->stdev, &f->auto_hwpt, &f->idev), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	/* whatever the test left (nested HWPTs included) goes with close */
	assert_int_equal(vfio_fops_close(f->fd), 0);
	assert_int_equal(mm_check_invariants(f->mm, stderr), 0);
	mm_destroy(f->mm);
	assert_int_equal(
		mem_check_invariants(f->p->pm, PHYS_OWNER_KERNEL, stderr), 0);
	platform_destroy(f->p);
	free(f);
	return 0;
}

static int hwpt_alloc(struct fx *f, uint32_t pt, uint32_t flags, uint32_t type,
		      const void *data, uint32_t len, uint32_t *out)
{
	struct iommu_hwpt_alloc a = {.size = sizeof(a),
				     .flags = flags,
				     .dev_id = f->idev,
				     .pt_id = pt,
				     .data_type = type,
				     .data_len = len,
				     .data_uptr = (uintptr_t)data};
	int ret = test_fops_ioctl(f->fd, IOMMU_HWPT_ALLOC, &a);

	if (!ret)
		*out = a.out_hwpt_id;
	return ret;
}

static uint32_t parent_alloc(struct fx *f)
{
	uint32_t id = 0;

	assert_int_equal(hwpt_alloc(f, f->ioas, IOMMU_HWPT_ALLOC_NEST_PARENT,
				    IOMMU_HWPT_DATA_NONE, NULL, 0, &id),
			 0);
	return id;
}

static uint32_t nested_alloc(struct fx *f, uint32_t parent)
{
	struct iommu_hwpt_selftest data = {.iotlb = IOMMU_TEST_IOTLB_DEFAULT};
	uint32_t id = 0;

	assert_int_equal(hwpt_alloc(f, parent, 0, IOMMU_HWPT_DATA_SELFTEST,
				    &data, sizeof(data), &id),
			 0);
	return id;
}

static int replace(struct fx *f, uint32_t pt)
{
	struct iommu_test_cmd c = {.size = sizeof(c),
				   .op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE,
				   .id = f->stdev,
				   .mock_domain_replace = {.pt_id = pt}};

	return test_fops_ioctl(f->fd, IOMMU_TEST_CMD, &c);
}

static int check_iotlb(struct fx *f, uint32_t hwpt, uint32_t id, uint32_t value)
{
	struct iommu_test_cmd c = {.size = sizeof(c),
				   .op = IOMMU_TEST_OP_MD_CHECK_IOTLB,
				   .id = hwpt,
				   .check_iotlb = {.id = id, .iotlb = value}};

	return test_fops_ioctl(f->fd, IOMMU_TEST_CMD, &c);
}

static void assert_iotlb(struct fx *f, uint32_t hwpt, uint32_t v0, uint32_t v1,
			 uint32_t v2, uint32_t v3)
{
	assert_int_equal(check_iotlb(f, hwpt, 0, v0), 0);
	assert_int_equal(check_iotlb(f, hwpt, 1, v1), 0);
	assert_int_equal(check_iotlb(f, hwpt, 2, v2), 0);
	assert_int_equal(check_iotlb(f, hwpt, 3, v3), 0);
}

static int invalidate(struct fx *f, uint32_t hwpt, const void *reqs,
		      uint32_t type, uint32_t len, uint32_t *num)
{
	struct iommu_hwpt_invalidate c = {.size = sizeof(c),
					  .hwpt_id = hwpt,
					  .data_uptr = (uintptr_t)reqs,
					  .data_type = type,
					  .entry_len = len,
					  .entry_num = *num};
	int ret = test_fops_ioctl(f->fd, IOMMU_HWPT_INVALIDATE, &c);

	*num = c.entry_num;
	return ret;
}

/* Nested HWPT_ALLOC's errnos in 6.12's order: data type NONE with data
 * -EINVAL; no such device -ENOENT; pt_id not an IOAS or paging HWPT (a
 * device, a nested HWPT) -EINVAL; a flag other than FAULT_ID_VALID
 * -EOPNOTSUPP; a parent that is not NEST_PARENT, or an auto domain,
 * -EINVAL; then the mock driver: another data type -EOPNOTSUPP, short data
 * -EINVAL, longer than the struct -EINVAL, unreadable -EFAULT;
 * FAULT_ID_VALID with no such fault queue -ENOENT. */
static void test_nested_alloc_errnos(void **state)
{
	struct fx *f = *state;
	struct {
		struct iommu_hwpt_selftest s;
		uint32_t tail;
	} data = {.s = {.iotlb = IOMMU_TEST_IOTLB_DEFAULT}};
	const uint32_t S = IOMMU_HWPT_DATA_SELFTEST, len = sizeof(data.s);
	uint32_t parent = parent_alloc(f), plain = 0, nested, id = 0;
	uint32_t idev = f->idev;

	assert_int_equal(hwpt_alloc(f, f->ioas, 0, IOMMU_HWPT_DATA_NONE, NULL,
				    0, &plain),
			 0);
	assert_int_equal(hwpt_alloc(f, parent, 0, IOMMU_HWPT_DATA_NONE, &data,
				    len, &id),
			 -EINVAL);
	f->idev = 99;
	assert_int_equal(hwpt_alloc(f, parent, 0, S, &data, len, &id), -ENOENT);
	f->idev = idev;
	assert_int_equal(hwpt_alloc(f, f->idev, 0, S, &data, len, &id),
			 -EINVAL);
	assert_int_equal(hwpt_alloc(f, 99, 0, S, &data, len, &id), -EINVAL);
	assert_int_equal(hwpt_alloc(f, parent, IOMMU_HWPT_ALLOC_NEST_PARENT, S,
				    &data, len, &id),
			 -EOPNOTSUPP);
	assert_int_equal(hwpt_alloc(f, parent, IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
				    S, &data, len, &id),
			 -EOPNOTSUPP);
	assert_int_equal(hwpt_alloc(f, plain, 0, S, &data, len, &id), -EINVAL);
	assert_int_equal(hwpt_alloc(f, f->auto_hwpt, 0, S, &data, len, &id),
			 -EINVAL);
	assert_int_equal(hwpt_alloc(f, parent, 0, S + 1, &data, len, &id),
			 -EOPNOTSUPP);
	assert_int_equal(hwpt_alloc(f, parent, 0, S, &data, len - 1, &id),
			 -EINVAL);
	assert_int_equal(hwpt_alloc(f, parent, 0, S, NULL, len, &id), -EFAULT);
	/* longer than the driver's struct: -EINVAL, zero tail or not
	 * (Debian 6.12's __iommu_copy_struct_from_user) */
	assert_int_equal(hwpt_alloc(f, parent, 0, S, &data, sizeof(data), &id),
			 -EINVAL);
	data.tail = 1;
	assert_int_equal(hwpt_alloc(f, parent, 0, S, &data, sizeof(data), &id),
			 -EINVAL);
	data.tail = 0;
	assert_int_equal(hwpt_alloc(f, parent, IOMMU_HWPT_FAULT_ID_VALID, S,
				    &data, len, &id),
			 -ENOENT);
	assert_int_equal(hwpt_alloc(f, parent, 0, S, &data, len, &id), 0);
	nested = id;
	assert_int_equal(check_iotlb(f, nested, 0, IOMMU_TEST_IOTLB_DEFAULT),
			 0);
	/* not over a nested HWPT */
	assert_int_equal(hwpt_alloc(f, nested, 0, S, &data, len, &id), -EINVAL);
	/* the failures left no object behind: the next id is the next */
	assert_int_equal(hwpt_alloc(f, parent, 0, S, &data, len, &id), 0);
	assert_int_equal(id, nested + 1);
}

/* Lifetimes: a nested HWPT holds its parent (DESTROY -EBUSY until the
 * nested ones are gone); a device replaced onto a nested HWPT holds it
 * (-EBUSY), moves between nested HWPTs and back to the parent and the
 * IOAS; a context closed with nested HWPTs and an attached device tears
 * down (teardown). */
static void test_nested_lifetime(void **state)
{
	struct fx *f = *state;
	uint32_t parent = parent_alloc(f);
	uint32_t n0 = nested_alloc(f, parent), n1 = nested_alloc(f, parent);

	assert_int_equal(test_iommu_destroy(f->fd, parent), -EBUSY);
	assert_int_equal(replace(f, n0), 0);
	assert_int_equal(test_iommu_destroy(f->fd, n0), -EBUSY);
	assert_int_equal(replace(f, n1), 0);
	assert_int_equal(test_iommu_destroy(f->fd, n1), -EBUSY);
	assert_int_equal(test_iommu_destroy(f->fd, n0), 0);
	assert_int_equal(test_iommu_destroy(f->fd, parent), -EBUSY);
	assert_int_equal(replace(f, parent), 0);
	assert_int_equal(test_iommu_destroy(f->fd, n1), 0);
	assert_int_equal(replace(f, f->ioas), 0);
	assert_int_equal(test_iommu_destroy(f->fd, parent), 0);
	assert_int_equal(check_iotlb(f, n1, 0, IOMMU_TEST_IOTLB_DEFAULT),
			 -ENOENT);

	/* left attached to a nested HWPT for close */
	parent = parent_alloc(f);
	n0 = nested_alloc(f, parent);
	assert_int_equal(replace(f, n0), 0);

	/* a NO_DIRTY device attaches to a nested HWPT too (it has no dirty
	 * tracking of its own) */
	{
		struct iommu_test_cmd c = {
			.size = sizeof(c),
			.op = IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS,
			.id = n0,
			.mock_domain = {.dev_flags =
						IOMMU_TEST_MOCK_DEV_NO_DIRTY}};

		assert_int_equal(test_fops_ioctl(f->fd, IOMMU_TEST_CMD, &c), 0);
		assert_int_equal(c.mock_domain.out_hwpt_id, n0);
	}
}

/* MD_CHECK_IOTLB and HWPT_INVALIDATE (the kselftest alloc_hwpt_nested's
 * sequence): a paging HWPT has no user cache (-ENOENT); zero entries
 * check nothing; another data type, entry_len not the struct's (longer
 * with a non-zero tail, shorter), a bad flag, no data_uptr, entry_len 0, an
 * id past the last all fail with entry_num 0; a failure at the second
 * entry leaves entry_num 1 and the first done; one entry, two, and ALL
 * clear what they name. */
static void test_nested_invalidate(void **state)
{
	struct fx *f = *state;
	const uint32_t T = IOMMU_HWPT_INVALIDATE_DATA_SELFTEST;
	const uint32_t D = IOMMU_TEST_IOTLB_DEFAULT;
	struct iommu_hwpt_invalidate_selftest inv[2] = {0};
	uint32_t parent = parent_alloc(f);
	uint32_t n0 = nested_alloc(f, parent), n1 = nested_alloc(f, parent);
	uint32_t num;
	struct {
		struct iommu_hwpt_invalidate_selftest r;
		uint32_t tail;
	} big = {.tail = 1};

	assert_iotlb(f, n0, D, D, D, D);
	assert_int_equal(check_iotlb(f, n0, 0, 0), -EINVAL);
	assert_int_equal(check_iotlb(f, n0, MOCK_NESTED_DOMAIN_IOTLB_ID_MAX + 1,
				     D),
			 -EINVAL);
	assert_int_equal(check_iotlb(f, parent, 0, D), -ENOENT);
	assert_int_equal(check_iotlb(f, 99, 0, D), -ENOENT);

	num = 1;
	assert_int_equal(invalidate(f, parent, inv, T, sizeof(*inv), &num),
			 -ENOENT);
	assert_int_equal(num, 0);
	num = 0;
	assert_int_equal(invalidate(f, n0, inv, T, sizeof(*inv), &num), 0);
	assert_int_equal(num, 0);
	num = 1;
	assert_int_equal(invalidate(f, n0, inv,
				    IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID,
				    sizeof(*inv), &num),
			 -EINVAL);
	assert_int_equal(num, 0);
	num = 1;
	assert_int_equal(invalidate(f, n0, &big, T, sizeof(big), &num),
			 -EINVAL);
	assert_int_equal(num, 0);
	/* longer with a zero tail too (the kselftest's sizeof + 1) */
	num = 1;
	assert_int_equal(invalidate(f, n0, inv, T, sizeof(*inv) + 1, &num),
			 -EINVAL);
	assert_int_equal(num, 0);
	num = 1;
	assert_int_equal(invalidate(f, n0, inv, T, 1, &num), -EINVAL);
	assert_int_equal(num, 0);
	num = 1;
	inv[0].flags = 0xffffffff;
	assert_int_equal(invalidate(f, n0, inv, T, sizeof(*inv), &num),
			 -EOPNOTSUPP);
	assert_int_equal(num, 0);
	inv[0].flags = 0;
	num = 1;
	assert_int_equal(invalidate(f, n0, NULL, T, sizeof(*inv), &num),
			 -EINVAL);
	assert_int_equal(num, 0);
	num = 1;
	assert_int_equal(invalidate(f, n0, inv, T, 0, &num), -EINVAL);
	assert_int_equal(num, 0);
	num = 1;
	assert_int_equal(invalidate(f, n0, inv, T, PG + 1, &num), -EINVAL);
	assert_int_equal(num, 0);
	num = 1;
	inv[0].iotlb_id = MOCK_NESTED_DOMAIN_IOTLB_ID_MAX + 1;
	assert_int_equal(invalidate(f, n0, inv, T, sizeof(*inv), &num),
			 -EINVAL);
	assert_int_equal(num, 0);
	assert_iotlb(f, n0, D, D, D, D);

	/* the first done, the second's flags refused */
	inv[0] = (struct iommu_hwpt_invalidate_selftest){.iotlb_id = 0};
	inv[1] = (struct iommu_hwpt_invalidate_selftest){.flags = 0xffffffff,
							 .iotlb_id = 1};
	num = 2;
	assert_int_equal(invalidate(f, n0, inv, T, sizeof(*inv), &num),
			 -EOPNOTSUPP);
	assert_int_equal(num, 1);
	assert_iotlb(f, n0, 0, D, D, D);
	/* the second's id refused */
	inv[1] = (struct iommu_hwpt_invalidate_selftest){
		.iotlb_id = MOCK_NESTED_DOMAIN_IOTLB_ID_MAX + 1};
	num = 2;
	assert_int_equal(invalidate(f, n0, inv, T, sizeof(*inv), &num),
			 -EINVAL);
	assert_int_equal(num, 1);
	assert_iotlb(f, n0, 0, D, D, D);
	/* one, then two */
	inv[0].iotlb_id = 1;
	num = 1;
	assert_int_equal(invalidate(f, n0, inv, T, sizeof(*inv), &num), 0);
	assert_int_equal(num, 1);
	assert_iotlb(f, n0, 0, 0, D, D);
	inv[0].iotlb_id = 2;
	inv[1].iotlb_id = 3;
	num = 2;
	assert_int_equal(invalidate(f, n0, inv, T, sizeof(*inv), &num), 0);
	assert_int_equal(num, 2);
	assert_iotlb(f, n0, 0, 0, 0, 0);
	/* ALL clears every entry whatever the id names (the id is still
	 * bounded first, as 6.12's mock); the other nested HWPT was
	 * untouched */
	assert_iotlb(f, n1, D, D, D, D);
	inv[0] = (struct iommu_hwpt_invalidate_selftest){
		.flags = IOMMU_TEST_INVALIDATE_FLAG_ALL,
		.iotlb_id = MOCK_NESTED_DOMAIN_IOTLB_ID_MAX + 1};
	num = 1;
	assert_int_equal(invalidate(f, n1, inv, T, sizeof(*inv), &num),
			 -EINVAL);
	assert_int_equal(num, 0);
	inv[0].iotlb_id = 1;
	num = 1;
	assert_int_equal(invalidate(f, n1, inv, T, sizeof(*inv), &num), 0);
	assert_int_equal(num, 1);
	assert_iotlb(f, n1, 0, 0, 0, 0);
}

struct sweep {
	struct fx *f;
	uint32_t parent, id;
};

static int sweep_nested(void *ctx)
{
	struct sweep *s = ctx;
	struct iommu_hwpt_selftest data = {.iotlb = IOMMU_TEST_IOTLB_DEFAULT};

	return hwpt_alloc(s->f, s->parent, 0, IOMMU_HWPT_DATA_SELFTEST, &data,
			  sizeof(data), &s->id);
}

static void sweep_nested_undo(void *ctx)
{
	struct sweep *s = ctx;

	assert_int_equal(test_iommu_destroy(s->f->fd, s->id), 0);
}

static void sweep_nested_check(void *ctx)
{
	struct sweep *s = ctx;

	/* nothing left holding the parent */
	assert_int_equal(test_iommu_destroy(s->f->fd, s->parent), 0);
	s->parent = parent_alloc(s->f);
}

/* fail-nth over a nested HWPT_ALLOC: every failure leaves no nested HWPT
 * and the parent free to go. */
static void test_nested_fail_sweep(void **state)
{
	struct fx *f = *state;
	struct sweep s = {.f = f, .parent = parent_alloc(f)};

	assert_true(test_fail_sweep(sweep_nested, sweep_nested_undo,
				    sweep_nested_check, &s, 0) > 0);
}

/* ---- the SMMUv3: a guest's stage 1 over a NEST_PARENT stage 2 ---------------- */

#define RW	 (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)
#define GUEST_VA 0x10000ULL /* the device's address in the guest's stage 1 */
#define ASID	 5

/*
 * The SMMU fixture: a device behind the platform's SMMU with an endpoint,
 * bound to the context; the guest's memory (TEST_GUEST_PAGES pages of
 * user memory) mapped in an IOAS at IOVA = IPA TEST_GUEST_IPA, a
 * NEST_PARENT HWPT over it (the stage 2), the guest's CD table at the
 * first IPA page (CD 0: ASID 5, its stage-1 root) and two data pages.
 */
struct sfx {
	struct platform *p;
	struct mm *mm;
	struct device dev;
	struct endpoint *ep;
	int fd;
	struct iommufd_ctx *ictx;
	struct iommufd_device *idev;
	uint32_t dev_id, ioas, parent;
	struct test_guest g;
	uint64_t cd, root, data[3];
};

static void guest_cd(struct sfx *f, uint64_t root)
{
	struct smmu_cd cd = {.valid = true,
			     .t0sz = 16,
			     .asid = ASID,
			     .mair = LPAE_MAIR_DEFAULT,
			     .ttb0 = root};
	uint64_t dw[8];

	smmu_cd_encode(&cd, dw);
	memcpy(test_guest_ptr(&f->g, f->cd), dw, sizeof(dw));
}

static int ssetup(void **state)
{
	struct platform_config pcfg = {.mem_size = 1ULL << 30};
	struct sfx *f = calloc(1, sizeof(*f));
	struct iommu_ioas_map m = {.size = sizeof(m),
				   .flags = RW | IOMMU_IOAS_MAP_FIXED_IOVA,
				   .iova = TEST_GUEST_IPA,
				   .length = TEST_GUEST_PAGES * PG};
	struct iommu_hwpt_alloc a = {.size = sizeof(a),
				     .flags = IOMMU_HWPT_ALLOC_NEST_PARENT};
	void *va;

	assert_int_equal(platform_create(&pcfg, &f->p), 0);
	snprintf(f->dev.name, sizeof(f->dev.name), "nest0");
	f->dev.sid = 1;
	assert_int_equal(iommu_probe_device(&f->dev, f->p->iommu, 0), 0);
	assert_int_equal(endpoint_create(f->p->hw, f->dev.sid, 0, 0, &f->ep),
			 0);
	assert_int_equal(mm_create(f->p->pm, &f->mm), 0);
	f->fd = vfio_fops_open(f->mm, "/dev/iommu", O_RDWR);
	assert_true(f->fd >= 0);
	assert_int_equal(iommufd_ctx_from_fd(f->fd, &f->ictx), 0);
	iommufd_ctx_put(f->ictx); /* the fd keeps it */
	assert_int_equal(
		iommufd_device_bind(f->ictx, &f->dev, &f->dev_id, &f->idev), 0);
	f->ioas = test_ioas_alloc(f->fd);
	assert_int_equal(
		mm_mmap(f->mm, TEST_GUEST_PAGES * PG, MM_MAP_POPULATE, &va), 0);
	f->g.mem = va;
	m.ioas_id = f->ioas;
	m.user_va = (uintptr_t)va;
	assert_int_equal(test_fops_ioctl(f->fd, IOMMU_IOAS_MAP, &m), 0);
	a.dev_id = f->dev_id;
	a.pt_id = f->ioas;
	assert_int_equal(test_fops_ioctl(f->fd, IOMMU_HWPT_ALLOC, &a), 0);
	f->parent = a.out_hwpt_id;
	f->cd = test_guest_alloc(&f->g);
	f->root = test_guest_alloc(&f->g);
	for (int i = 0; i < 3; i++)
		f->data[i] = test_guest_alloc(&f->g);
	guest_cd(f, f->root);
	test_guest_s1_map(&f->g, f->root, GUEST_VA, f->data[0]);
	*state = f;
	return 0;
}

static int steardown(void **state)
{
	struct sfx *f = *state;

	iommufd_device_unbind(f->idev);
	assert_int_equal(vfio_fops_close(f->fd), 0);
	assert_int_equal(mm_check_invariants(f->mm, stderr), 0);
	mm_destroy(f->mm);
	endpoint_destroy(f->ep);
	iommu_release_device(&f->dev);
	assert_int_equal(
		mem_check_invariants(f->p->pm, PHYS_OWNER_KERNEL, stderr), 0);
	platform_destroy(f->p);
	free(f);
	return 0;
}

/* STE dword 0 of a guest stream: V, Config, S1ContextPtr, S1CDMax. */
static uint64_t ste0(unsigned int config, uint64_t cd, unsigned int cd_max)
{
	return 1 | (uint64_t)config << 1 | (cd & 0x000fffffffffffc0ULL) |
	       (uint64_t)cd_max << 59;
}

static int smmu_nested(struct sfx *f, uint32_t flags, uint32_t type,
		       uint64_t w0, uint64_t w1, uint32_t len, uint32_t *out)
{
	struct uiommu_hwpt_arm_smmuv3 data = {
		.ste = {htole64(w0), htole64(w1)}};
	struct iommu_hwpt_alloc a = {.size = sizeof(a),
				     .flags = flags,
				     .dev_id = f->dev_id,
				     .pt_id = f->parent,
				     .data_type = type,
				     .data_len = len,
				     .data_uptr = (uintptr_t)&data};
	int ret = test_fops_ioctl(f->fd, IOMMU_HWPT_ALLOC, &a);

	if (!ret)
		*out = a.out_hwpt_id;
	return ret;
}

static int sdestroy(struct sfx *f, uint32_t id)
{
	struct iommu_destroy d = {.size = sizeof(d), .id = id};

	return test_fops_ioctl(f->fd, IOMMU_DESTROY, &d);
}

/* The endpoint writes v at iova and reads it back (0xdead: a fault). */
static uint32_t dma_word(struct sfx *f, uint64_t iova, uint32_t v)
{
	uint32_t r = 0;

	if (endpoint_dma_write(f->ep, iova, &v, sizeof(v)))
		return 0xdead;
	assert_int_equal(endpoint_dma_read(f->ep, iova, &r, sizeof(r)), 0);
	return r;
}

static uint32_t guest_word(struct sfx *f, uint64_t ipa)
{
	uint32_t v;

	memcpy(&v, test_guest_ptr(&f->g, ipa), sizeof(v));
	return v;
}

static int sinvalidate(struct sfx *f, uint32_t hwpt, const struct smmu_cmd *c,
		       unsigned int n, uint32_t type, uint32_t *num)
{
	struct uiommu_hwpt_arm_smmuv3_invalidate inv[4];
	struct iommu_hwpt_invalidate cmd = {.size = sizeof(cmd),
					    .hwpt_id = hwpt,
					    .data_uptr = (uintptr_t)inv,
					    .data_type = type,
					    .entry_len = sizeof(inv[0]),
					    .entry_num = n};
	int ret;

	for (unsigned int i = 0; i < n; i++) {
		uint64_t dw[2];

		smmu_cmd_encode(&c[i], dw);
		inv[i].cmd[0] = htole64(dw[0]);
		inv[i].cmd[1] = htole64(dw[1]);
	}
	ret = test_fops_ioctl(f->fd, IOMMU_HWPT_INVALIDATE, &cmd);
	*num = cmd.entry_num;
	return ret;
}

static int sattach(struct sfx *f, uint32_t pt)
{
	return iommufd_device_attach(f->idev, &pt);
}

/* An SMMUv3 nested HWPT's allocation errnos: another data type or a flag
 * -EOPNOTSUPP, short data -EINVAL; the guest STE's checks (6.13's): a bit
 * outside the fields a guest owns (dword 0 or 1) -EIO, a Config of
 * stage 2 or nested -EIO, EATS past full ATS -EIO; a two-level CD table
 * -EOPNOTSUPP (the model's linear tables only); a CD table past the
 * parent's input range or misaligned -EINVAL; the parent must be a
 * NEST_PARENT HWPT (-EINVAL). */
static void test_smmu_nested_errnos(void **state)
{
	struct sfx *f = *state;
	const uint32_t S = UIOMMU_HWPT_DATA_ARM_SMMUV3;
	uint64_t good = ste0(SMMU_STE_S1, f->cd, 0);
	uint32_t id = 0, plain;
	struct iommu_hwpt_alloc a = {
		.size = sizeof(a), .dev_id = f->dev_id, .pt_id = f->ioas};

	assert_int_equal(smmu_nested(f, 0, S + 1, good, 0, 16, &id),
			 -EOPNOTSUPP);
	assert_int_equal(smmu_nested(f, IOMMU_HWPT_ALLOC_NEST_PARENT, S, good,
				     0, 16, &id),
			 -EOPNOTSUPP);
	assert_int_equal(smmu_nested(f, 0, S, good, 0, 15, &id), -EINVAL);
	/* dword 0: bits [58:52] are no guest's (S1ContextPtr ends at 51) */
	assert_int_equal(smmu_nested(f, 0, S, good | 1ULL << 55, 0, 16, &id),
			 -EIO);
	/* dword 1: bit 8 (not S1DSS/S1CIR/S1COR/S1CSH), S2-side fields */
	assert_int_equal(smmu_nested(f, 0, S, good, 1ULL << 8, 16, &id), -EIO);
	assert_int_equal(smmu_nested(f, 0, S, good, 1ULL << 31, 16, &id), -EIO);
	assert_int_equal(smmu_nested(f, 0, S, ste0(SMMU_STE_S2, f->cd, 0), 0,
				     16, &id),
			 -EIO);
	assert_int_equal(smmu_nested(f, 0, S, ste0(SMMU_STE_NESTED, f->cd, 0),
				     0, 16, &id),
			 -EIO);
	assert_int_equal(smmu_nested(f, 0, S, good, 2ULL << 28, 16, &id), -EIO);
	assert_int_equal(smmu_nested(f, 0, S, good | 1ULL << 4, 0, 16, &id),
			 -EOPNOTSUPP);
	assert_int_equal(smmu_nested(f, 0, S, ste0(SMMU_STE_S1, 1ULL << 50, 0),
				     0, 16, &id),
			 -EINVAL);
	/* the attributes and S1STALLD a guest may set, full ATS */
	assert_int_equal(smmu_nested(f, 0, S, good,
				     1 | 1 << 2 | 1 << 4 | 3 << 6 | 1 << 27 |
					     1 << 28,
				     16, &id),
			 0);
	assert_int_equal(sdestroy(f, id), 0);
	/* V clear: the rest is not looked at */
	assert_int_equal(smmu_nested(f, 0, S, 1ULL << 55, 0xff, 16, &id), 0);
	assert_int_equal(sdestroy(f, id), 0);
	/* over a paging HWPT that is not a nest parent */
	assert_int_equal(test_fops_ioctl(f->fd, IOMMU_HWPT_ALLOC, &a), 0);
	plain = a.out_hwpt_id;
	f->parent = plain;
	assert_int_equal(smmu_nested(f, 0, S, good, 0, 16, &id), -EINVAL);
}

/* Real DMA through a guest's stage 1 over the NEST_PARENT HWPT's stage 2:
 * the device attached to the nested HWPT writes at a guest VA and the
 * word lands in the guest page its stage 1 maps (in the IOAS-mapped user
 * memory); a changed stage-1 entry takes effect only after
 * HWPT_INVALIDATE's TLBI_NH_VA, a changed CD after CFGI_CD (with
 * TLBI_NH_ASID); an unaccepted command -EIO with entry_num the commands
 * done before it; another data type -EINVAL; a paging HWPT -ENOENT; the
 * parent -EBUSY while the nested HWPT lives; detached, DMA is blocked. */
static void test_smmu_nested_dma(void **state)
{
	struct sfx *f = *state;
	const uint32_t T = UIOMMU_HWPT_INVALIDATE_DATA_ARM_SMMUV3;
	uint32_t nested = 0, num;
	uint64_t root2;
	struct smmu_cmd va = {.op = SMMU_CMD_TLBI_NH_VA,
			      .asid = ASID,
			      .addr = GUEST_VA,
			      .tg = SMMU_TLBI_TG_NONE,
			      .leaf = true};
	struct smmu_cmd c[3];

	assert_int_equal(smmu_nested(f, 0, UIOMMU_HWPT_DATA_ARM_SMMUV3,
				     ste0(SMMU_STE_S1, f->cd, 0), 0, 16,
				     &nested),
			 0);
	assert_int_equal(sdestroy(f, f->parent), -EBUSY);
	assert_int_equal(dma_word(f, GUEST_VA, 1), 0xdead); /* not attached */
	assert_int_equal(sattach(f, nested), 0);
	assert_int_equal(sdestroy(f, nested), -EBUSY);
	assert_int_equal(dma_word(f, GUEST_VA, 0x1111), 0x1111);
	assert_int_equal(guest_word(f, f->data[0]), 0x1111);

	/* the guest moves its page: the IOTLB still has the old one */
	test_guest_s1_map(&f->g, f->root, GUEST_VA, f->data[1]);
	assert_int_equal(dma_word(f, GUEST_VA, 0x2222), 0x2222);
	assert_int_equal(guest_word(f, f->data[0]), 0x2222);
	assert_int_equal(guest_word(f, f->data[1]), 0);
	/* not these: another type, a paging HWPT */
	num = 1;
	assert_int_equal(sinvalidate(f, nested, &va, 1,
				     IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, &num),
			 -EINVAL);
	assert_int_equal(num, 0);
	num = 1;
	assert_int_equal(sinvalidate(f, f->parent, &va, 1, T, &num), -ENOENT);
	assert_int_equal(num, 0);
	/* TLBI_NH_VA then a command no guest sends (CFGI_STE): one done */
	c[0] = va;
	c[1] = (struct smmu_cmd){.op = SMMU_CMD_CFGI_STE, .sid = 1};
	num = 2;
	assert_int_equal(sinvalidate(f, nested, c, 2, T, &num), -EIO);
	assert_int_equal(num, 1);
	assert_int_equal(dma_word(f, GUEST_VA, 0x3333), 0x3333);
	assert_int_equal(guest_word(f, f->data[1]), 0x3333);
	assert_int_equal(guest_word(f, f->data[0]), 0x2222);
	/* a range TLBI of a granule the model has not: -EIO, none done */
	c[0] = va;
	c[0].tg = SMMU_TLBI_TG_64K;
	num = 1;
	assert_int_equal(sinvalidate(f, nested, c, 1, T, &num), -EIO);
	assert_int_equal(num, 0);

	/* the guest changes its CD to a new stage-1 root: cached until
	 * CFGI_CD, and the old translations until TLBI_NH_ASID */
	root2 = test_guest_alloc(&f->g);
	test_guest_s1_map(&f->g, root2, GUEST_VA, f->data[2]);
	guest_cd(f, root2);
	assert_int_equal(dma_word(f, GUEST_VA, 0x4444), 0x4444);
	assert_int_equal(guest_word(f, f->data[1]), 0x4444);
	c[0] = (struct smmu_cmd){.op = SMMU_CMD_CFGI_CD, .leaf = true};
	c[1] = (struct smmu_cmd){.op = SMMU_CMD_TLBI_NH_ASID, .asid = ASID};
	num = 2;
	assert_int_equal(sinvalidate(f, nested, c, 2, T, &num), 0);
	assert_int_equal(num, 2);
	assert_int_equal(dma_word(f, GUEST_VA, 0x5555), 0x5555);
	assert_int_equal(guest_word(f, f->data[2]), 0x5555);
	assert_int_equal(guest_word(f, f->data[1]), 0x4444);
	/* TLBI_NH_ALL, TLBI_NSNH_ALL are taken too, and TLBI_NH_VAA and
	 * CFGI_CD_ALL (the model has neither: issued as wider ones) */
	c[0] = (struct smmu_cmd){.op = SMMU_CMD_TLBI_NH_ALL};
	c[1] = (struct smmu_cmd){.op = SMMU_CMD_TLBI_NSNH_ALL};
	num = 2;
	assert_int_equal(sinvalidate(f, nested, c, 2, T, &num), 0);
	assert_int_equal(num, 2);
	test_guest_s1_map(&f->g, root2, GUEST_VA, f->data[0]);
	c[0] = (struct smmu_cmd){.op = ARM_SMMU_CMD_TLBI_NH_VAA,
				 .addr = GUEST_VA};
	c[1] = (struct smmu_cmd){.op = ARM_SMMU_CMD_CFGI_CD_ALL};
	num = 2;
	assert_int_equal(sinvalidate(f, nested, c, 2, T, &num), 0);
	assert_int_equal(num, 2);
	assert_int_equal(dma_word(f, GUEST_VA, 0x5a5a), 0x5a5a);
	assert_int_equal(guest_word(f, f->data[0]), 0x5a5a);

	/* back on the parent: stage 2 only, the IPA is the device's address */
	assert_int_equal(iommufd_device_replace(f->idev, &f->parent), 0);
	assert_int_equal(dma_word(f, f->data[0], 0x6666), 0x6666);
	assert_int_equal(guest_word(f, f->data[0]), 0x6666);
	assert_int_equal(sdestroy(f, nested), 0);
	assert_int_equal(sdestroy(f, f->parent), -EBUSY); /* attached */
	iommufd_device_detach(f->idev);
	assert_int_equal(sdestroy(f, f->parent), 0);
}

/* A guest STE that bypasses stage 1 translates through stage 2 only; one
 * that aborts (or is not valid) blocks the device's DMA. */
static void test_smmu_nested_bypass_abort(void **state)
{
	struct sfx *f = *state;
	const uint32_t S = UIOMMU_HWPT_DATA_ARM_SMMUV3;
	uint32_t bypass = 0, abort_ = 0, invalid = 0;

	assert_int_equal(smmu_nested(f, 0, S, ste0(SMMU_STE_BYPASS, 0, 0), 0,
				     16, &bypass),
			 0);
	assert_int_equal(smmu_nested(f, 0, S, ste0(SMMU_STE_ABORT, 0, 0), 0, 16,
				     &abort_),
			 0);
	assert_int_equal(smmu_nested(f, 0, S, 0, 0, 16, &invalid), 0);
	assert_int_equal(sattach(f, bypass), 0);
	assert_int_equal(dma_word(f, f->data[1], 0x7777), 0x7777);
	assert_int_equal(guest_word(f, f->data[1]), 0x7777);
	assert_int_equal(iommufd_device_replace(f->idev, &abort_), 0);
	assert_int_equal(dma_word(f, f->data[1], 0x8888), 0xdead);
	assert_int_equal(iommufd_device_replace(f->idev, &invalid), 0);
	assert_int_equal(dma_word(f, f->data[1], 0x8888), 0xdead);
	assert_int_equal(guest_word(f, f->data[1]), 0x7777);
	/* left attached for the teardown's unbind and close */
}

struct ssweep {
	struct sfx *f;
	uint32_t id;
};

static int ssweep_nested(void *ctx)
{
	struct ssweep *s = ctx;

	return smmu_nested(s->f, 0, UIOMMU_HWPT_DATA_ARM_SMMUV3,
			   ste0(SMMU_STE_S1, s->f->cd, 0), 0, 16, &s->id);
}

static void ssweep_nested_undo(void *ctx)
{
	struct ssweep *s = ctx;

	assert_int_equal(sdestroy(s->f, s->id), 0);
}

static void ssweep_nested_check(void *ctx)
{
	struct ssweep *s = ctx;
	struct iommu_hwpt_alloc a = {.size = sizeof(a),
				     .flags = IOMMU_HWPT_ALLOC_NEST_PARENT,
				     .dev_id = s->f->dev_id,
				     .pt_id = s->f->ioas};

	/* no nested HWPT left holding the parent */
	assert_int_equal(sdestroy(s->f, s->f->parent), 0);
	assert_int_equal(test_fops_ioctl(s->f->fd, IOMMU_HWPT_ALLOC, &a), 0);
	s->f->parent = a.out_hwpt_id;
}

/* fail-nth over an SMMUv3 nested HWPT_ALLOC: each failure leaves nothing
 * behind (the parent free to go), the success translates. */
static void test_smmu_nested_fail_sweep(void **state)
{
	struct sfx *f = *state;
	struct ssweep s = {.f = f};

	assert_true(test_fail_sweep(ssweep_nested, ssweep_nested_undo,
				    ssweep_nested_check, &s, 0) > 0);
	assert_int_equal(ssweep_nested(&s), 0);
	assert_int_equal(sattach(f, s.id), 0);
	assert_int_equal(dma_word(f, GUEST_VA, 0x9999), 0x9999);
	assert_int_equal(guest_word(f, f->data[0]), 0x9999);
}

#define TS(fn) cmocka_unit_test_setup_teardown(fn, ssetup, steardown)

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_nested_alloc_errnos),
		T(test_nested_lifetime),
		T(test_nested_invalidate),
		T(test_nested_fail_sweep),
		TS(test_smmu_nested_errnos),
		TS(test_smmu_nested_dma),
		TS(test_smmu_nested_bypass_abort),
		TS(test_smmu_nested_fail_sweep),
	};

	return test_run("iommufd_nested", tests, ARRAY_SIZE_T(tests));
}
