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
 * HWPT_ALLOC.
 */
#include "helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uiommu/base.h>
#include "devices/devices.h"
#include "iommufd/iommufd.h"
#include "iommufd/iommufd_private.h"
#include "iommufd/iommufd_test_uapi.h"
#include "iommufd/iommufd_uapi.h"
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

static int destroy(struct fx *f, uint32_t id)
{
	struct iommu_destroy d = {.size = sizeof(d), .id = id};

	return test_fops_ioctl(f->fd, IOMMU_DESTROY, &d);
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
 * -EINVAL, unreadable -EFAULT, non-zero bytes past the struct -E2BIG;
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
	data.tail = 1;
	assert_int_equal(hwpt_alloc(f, parent, 0, S, &data, sizeof(data), &id),
			 -E2BIG);
	data.tail = 0;
	assert_int_equal(hwpt_alloc(f, parent, IOMMU_HWPT_FAULT_ID_VALID, S,
				    &data, len, &id),
			 -ENOENT);
	/* a longer struct with zero bytes past ours is taken */
	assert_int_equal(hwpt_alloc(f, parent, 0, S, &data, sizeof(data), &id),
			 0);
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

	assert_int_equal(destroy(f, parent), -EBUSY);
	assert_int_equal(replace(f, n0), 0);
	assert_int_equal(destroy(f, n0), -EBUSY);
	assert_int_equal(replace(f, n1), 0);
	assert_int_equal(destroy(f, n1), -EBUSY);
	assert_int_equal(destroy(f, n0), 0);
	assert_int_equal(destroy(f, parent), -EBUSY);
	assert_int_equal(replace(f, parent), 0);
	assert_int_equal(destroy(f, n1), 0);
	assert_int_equal(replace(f, f->ioas), 0);
	assert_int_equal(destroy(f, parent), 0);
	assert_int_equal(check_iotlb(f, n1, 0, IOMMU_TEST_IOTLB_DEFAULT),
			 -ENOENT);

	/* left attached to a nested HWPT for close */
	parent = parent_alloc(f);
	n0 = nested_alloc(f, parent);
	assert_int_equal(replace(f, n0), 0);
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
	assert_int_equal(invalidate(f, n0, &big, T, sizeof(big), &num), -E2BIG);
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

	assert_int_equal(destroy(s->f, s->id), 0);
}

static void sweep_nested_check(void *ctx)
{
	struct sweep *s = ctx;

	/* nothing left holding the parent */
	assert_int_equal(destroy(s->f, s->parent), 0);
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

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_nested_alloc_errnos),
		T(test_nested_lifetime),
		T(test_nested_invalidate),
		T(test_nested_fail_sweep),
	};

	return test_run("iommufd_nested", tests, ARRAY_SIZE_T(tests));
}
