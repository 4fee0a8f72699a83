// SPDX-License-Identifier: MIT
/*
 * IOMMU_TEST_CMD (src/iommufd/selftest.c), the kernel's iommufd test
 * interface that Linux 6.12's tools/testing/selftests/iommu drive (issue
 * 15: "the kernel's own selftests pass under uiommu exec"): the command's
 * dispatch (one ioctl number, the op in the struct, unknown op
 * -EOPNOTSUPP), MD_CHECK_REFS (every page of a user range pinned exactly
 * refs times, -EIO otherwise; alignment -EINVAL) and SET_TEMP_MEMORY_LIMIT
 * (the pinning path's batch size; below one element -EINVAL; the
 * context's own value), MOCK_DOMAIN (a mock device bound and attached to
 * an IOAS through an auto domain of the mock IOMMU: the stdev, HWPT and
 * device ids), MD_CHECK_MAP (each 2048-byte io page maps the user's
 * byte), MOCK_DOMAIN_REPLACE, the selftest object's destroy and close,
 * a HWPT of one mock device attached by another (one mock IOMMU for
 * every device flag), ADD_RESERVED, access objects (CREATE_ACCESS: an fd, closed to
 * destroy; ACCESS_PAGES / DESTROY_ACCESS_PAGES: pins by IOVA, checked
 * against the user's pages; the unmap callback contract: an IOAS_UNMAP
 * over pinned items drops them first; ACCESS_RW: copies through the
 * IOAS's IOVAs; ACCESS_REPLACE_IOAS), GET_HW_INFO of a mock device;
 * dirty tracking (issue 15's iommufd_dirty_tracking fixture):
 * HWPT_ALLOC DIRTY_TRACKING and the DIRTY_TRACKING capability,
 * SET_DIRTY_TRACKING, GET_DIRTY_BITMAP (NO_CLEAR, its checks), the DIRTY
 * op.
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
#include "iommufd/iommufd_test_uapi.h"
#include "iommufd/iommufd_uapi.h"
#include "vfio/vfio.h"
#include "vfio/vfio_device.h"

#define PG 4096UL
#define RW (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)

struct fx {
	struct platform *p;
	struct mm *mm;
	int fd;
};

static int setup(void **state)
{
	struct platform_config pcfg = {.mem_size = 1ULL << 30};
	struct fx *f = calloc(1, sizeof(*f));

	assert_int_equal(platform_create(&pcfg, &f->p), 0);
	assert_int_equal(mm_create(f->p->pm, &f->mm), 0);
	f->fd = vfio_fops_open(f->mm, "/dev/iommu", O_RDWR);
	assert_true(f->fd >= 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	assert_int_equal(vfio_fops_close(f->fd), 0);
	assert_int_equal(mm_check_invariants(f->mm, stderr), 0);
	mm_destroy(f->mm);
	assert_int_equal(
		mem_check_invariants(f->p->pm, PHYS_OWNER_KERNEL, stderr), 0);
	platform_destroy(f->p);
	free(f);
	return 0;
}

static uint64_t map(struct fx *f, uint32_t ioas, const void *va, uint64_t len)
{
	struct iommu_ioas_map m = {.size = sizeof(m),
				   .flags = RW,
				   .ioas_id = ioas,
				   .user_va = (uintptr_t)va,
				   .length = len};

	assert_int_equal(test_fops_ioctl(f->fd, IOMMU_IOAS_MAP, &m), 0);
	return m.iova;
}

static void unmap(struct fx *f, uint32_t ioas, uint64_t iova, uint64_t len)
{
	struct iommu_ioas_unmap u = {.size = sizeof(u),
				     .ioas_id = ioas,
				     .iova = iova,
				     .length = len};

	assert_int_equal(test_fops_ioctl(f->fd, IOMMU_IOAS_UNMAP, &u), 0);
}

static int check_refs(struct fx *f, const void *va, uint64_t len, uint32_t refs)
{
	struct iommu_test_cmd c = {.size = sizeof(c),
				   .op = IOMMU_TEST_OP_MD_CHECK_REFS,
				   .check_refs = {.length = len,
						  .uptr = (uintptr_t)va,
						  .refs = refs}};

	return test_fops_ioctl(f->fd, IOMMU_TEST_CMD, &c);
}

static int set_limit(struct fx *f, uint32_t limit)
{
	struct iommu_test_cmd c = {.size = sizeof(c),
				   .op = IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT,
				   .memory_limit = {.limit = limit}};

	return test_fops_ioctl(f->fd, IOMMU_TEST_CMD, &c);
}

static int mock_domain(struct fx *f, uint32_t pt, uint32_t flags,
		       bool use_flags, uint32_t *stdev, uint32_t *hwpt,
		       uint32_t *idev)
{
	struct iommu_test_cmd c = {
		.size = sizeof(c),
		.op = use_flags ? IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS
				: IOMMU_TEST_OP_MOCK_DOMAIN,
		.id = pt,
		.mock_domain = {.dev_flags = flags}};
	int ret = test_fops_ioctl(f->fd, IOMMU_TEST_CMD, &c);

	if (!ret) {
		*stdev = c.mock_domain.out_stdev_id;
		*hwpt = c.mock_domain.out_hwpt_id;
		*idev = c.mock_domain.out_idev_id;
	}
	return ret;
}

static int check_map(struct fx *f, uint32_t hwpt, uint64_t iova, const void *va,
		     uint64_t len)
{
	struct iommu_test_cmd c = {.size = sizeof(c),
				   .op = IOMMU_TEST_OP_MD_CHECK_MAP,
				   .id = hwpt,
				   .check_map = {.iova = iova,
						 .length = len,
						 .uptr = (uintptr_t)va}};

	return test_fops_ioctl(f->fd, IOMMU_TEST_CMD, &c);
}

static int replace(struct fx *f, uint32_t stdev, uint32_t *pt)
{
	struct iommu_test_cmd c = {.size = sizeof(c),
				   .op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE,
				   .id = stdev,
				   .mock_domain_replace = {.pt_id = *pt}};
	int ret = test_fops_ioctl(f->fd, IOMMU_TEST_CMD, &c);

	if (!ret)
		*pt = c.mock_domain_replace.pt_id;
	return ret;
}

static int destroy(struct fx *f, uint32_t id)
{
	struct iommu_destroy d = {.size = sizeof(d), .id = id};

	return test_fops_ioctl(f->fd, IOMMU_DESTROY, &d);
}

static uint64_t pin_calls(struct fx *f)
{
	struct mm_stats st;

	mm_get_stats(f->mm, &st);
	return st.pin_calls;
}

/* The command: _IO(';', 0x80 + 32), the struct's size up to `last` at
 * least (-EINVAL), zero bytes past it accepted, non-zero -E2BIG; an op
 * it does not know -EOPNOTSUPP. */
static void test_dispatch(void **state)
{
	struct fx *f = *state;
	struct {
		struct iommu_test_cmd c;
		uint64_t tail;
	} big = {.c = {.size = sizeof(big),
		       .op = IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT,
		       .memory_limit = {.limit = 4096}}};
	struct iommu_test_cmd c = {.size = sizeof(c)};

	assert_int_equal(IOMMU_TEST_CMD, 0x3ba0);
	assert_int_equal(offsetof(struct iommu_test_cmd, last), 64);
	c.op = 0;
	assert_int_equal(test_fops_ioctl(f->fd, IOMMU_TEST_CMD, &c),
			 -EOPNOTSUPP);
	c.op = IOMMU_TEST_OP_TRIGGER_IOPF + 1;
	assert_int_equal(test_fops_ioctl(f->fd, IOMMU_TEST_CMD, &c),
			 -EOPNOTSUPP);
	c.op = IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT;
	c.memory_limit.limit = 4096;
	c.size = offsetof(struct iommu_test_cmd, last) + 3;
	assert_int_equal(test_fops_ioctl(f->fd, IOMMU_TEST_CMD, &c), -EINVAL);
	c.size = offsetof(struct iommu_test_cmd, last) + 4;
	assert_int_equal(test_fops_ioctl(f->fd, IOMMU_TEST_CMD, &c), 0);
	assert_int_equal(test_fops_ioctl(f->fd, IOMMU_TEST_CMD, &big), 0);
	big.tail = 1;
	assert_int_equal(test_fops_ioctl(f->fd, IOMMU_TEST_CMD, &big), -E2BIG);
}

/* MD_CHECK_REFS: each page's pins (not its mappings, not the check's own
 * pin) equal refs, else -EIO; a map pins once per IOAS_MAP, an unmap
 * unpins; uptr and length page-aligned and not wrapping, else -EINVAL. */
static void test_check_refs(void **state)
{
	struct fx *f = *state;
	uint32_t ioas = test_ioas_alloc(f->fd), stdev = 0, hwpt = 0, idev = 0;
	uint64_t a, b;
	uint8_t *va;

	/* a domain: the IOAS's maps pin */
	assert_int_equal(mock_domain(f, ioas, 0, false, &stdev, &hwpt, &idev),
			 0);
	assert_int_equal(mm_mmap(f->mm, 4 * PG, MM_MAP_POPULATE, (void **)&va),
			 0);
	assert_int_equal(check_refs(f, va, 4 * PG, 0), 0);
	assert_int_equal(check_refs(f, va, 4 * PG, 1), -EIO);
	a = map(f, ioas, va, 4 * PG);
	assert_int_equal(check_refs(f, va, 4 * PG, 1), 0);
	assert_int_equal(check_refs(f, va, 4 * PG, 0), -EIO);
	b = map(f, ioas, va + PG, PG); /* page 1 pinned twice */
	assert_int_equal(check_refs(f, va, PG, 1), 0);
	assert_int_equal(check_refs(f, va + PG, PG, 2), 0);
	assert_int_equal(check_refs(f, va, 2 * PG, 1), -EIO);
	assert_int_equal(check_refs(f, va + 2 * PG, 2 * PG, 1), 0);
	unmap(f, ioas, b, PG);
	assert_int_equal(check_refs(f, va, 4 * PG, 1), 0);
	unmap(f, ioas, a, 4 * PG);
	assert_int_equal(check_refs(f, va, 4 * PG, 0), 0);
	/* zero length: nothing to check */
	assert_int_equal(check_refs(f, va, 0, 7), 0);
	/* alignment and wrap-around */
	assert_int_equal(check_refs(f, va + 1, PG, 0), -EINVAL);
	assert_int_equal(check_refs(f, va, PG + 1, 0), -EINVAL);
	assert_int_equal(check_refs(f, (void *)(-PG), 2 * PG, 0), -EINVAL);
	/* no memory there: get_user_pages' -EFAULT */
	assert_int_equal(check_refs(f, (void *)PG, PG, 0), -EFAULT);
	assert_int_equal(mm_munmap(f->mm, va, 4 * PG), 0);
}

/* SET_TEMP_MEMORY_LIMIT: below one batch element (a long and a u32)
 * -EINVAL; a limit of 16 bytes pins one run per mm_pin_pages call, the
 * default (65536) a 4-run range in one call; the result is the same
 * pins either way; the limit is the context's (a new /dev/iommu starts
 * at the default). */
static void test_temp_memory_limit(void **state)
{
	struct fx *f = *state;
	uint32_t ioas = test_ioas_alloc(f->fd), stdev = 0, hwpt = 0, idev = 0;
	uint64_t a, b, calls;
	uint8_t *va;
	int fd2;

	assert_int_equal(mock_domain(f, ioas, 0, false, &stdev, &hwpt, &idev),
			 0);

	assert_int_equal(set_limit(f, 0), -EINVAL);
	assert_int_equal(set_limit(f, sizeof(long) + sizeof(uint32_t) - 1),
			 -EINVAL);
	assert_int_equal(set_limit(f, sizeof(long) + sizeof(uint32_t)), 0);

	/* 8 pages whose frames are not contiguous: pinned once, then pages
	 * 1, 3 and 5 discarded (the pinner keeps the old frames, the user
	 * gets new ones) */
	assert_int_equal(mm_mmap(f->mm, 8 * PG, MM_MAP_POPULATE, (void **)&va),
			 0);
	a = map(f, ioas, va, 8 * PG);
	for (int i = 1; i < 6; i += 2)
		assert_int_equal(mm_discard(f->mm, va + i * PG, PG), 0);
	for (int i = 0; i < 8; i++)
		va[i * PG] = (uint8_t)i; /* fault the new frames in */

	assert_int_equal(set_limit(f, 16), 0); /* one run a batch */
	calls = pin_calls(f);
	b = map(f, ioas, va, 8 * PG);
	assert_true(pin_calls(f) - calls > 2);
	assert_int_equal(check_refs(f, va, PG, 2), 0);
	assert_int_equal(check_refs(f, va + PG, PG, 1), 0);
	assert_int_equal(check_refs(f, va + 6 * PG, 2 * PG, 2), 0);
	unmap(f, ioas, b, 8 * PG);

	assert_int_equal(set_limit(f, IOMMUFD_TEST_MEMORY_LIMIT_DEFAULT), 0);
	calls = pin_calls(f);
	b = map(f, ioas, va, 8 * PG);
	assert_int_equal(pin_calls(f) - calls, 1);
	unmap(f, ioas, b, 8 * PG);

	/* another context (with a domain of its own): the default, whatever
	 * this one says */
	assert_int_equal(set_limit(f, 16), 0);
	fd2 = vfio_fops_open(f->mm, "/dev/iommu", O_RDWR);
	assert_true(fd2 >= 0);
	{
		struct iommu_ioas_alloc al = {.size = sizeof(al)};
		struct iommu_ioas_map m = {.size = sizeof(m),
					   .flags = RW,
					   .user_va = (uintptr_t)va,
					   .length = 8 * PG};

		struct iommu_test_cmd md = {.size = sizeof(md),
					    .op = IOMMU_TEST_OP_MOCK_DOMAIN};

		assert_int_equal(test_fops_ioctl(fd2, IOMMU_IOAS_ALLOC, &al),
				 0);
		m.ioas_id = al.out_ioas_id;
		md.id = al.out_ioas_id;
		assert_int_equal(test_fops_ioctl(fd2, IOMMU_TEST_CMD, &md), 0);
		calls = pin_calls(f);
		assert_int_equal(test_fops_ioctl(fd2, IOMMU_IOAS_MAP, &m), 0);
		assert_int_equal(pin_calls(f) - calls, 1);
	}
	assert_int_equal(vfio_fops_close(fd2), 0);
	unmap(f, ioas, a, 8 * PG);
	assert_int_equal(check_refs(f, va, 8 * PG, 0), 0);
	assert_int_equal(mm_munmap(f->mm, va, 8 * PG), 0);
}

/* MOCK_DOMAIN: ids in the kernel's order (the selftest object first, then
 * the device, then the auto domain's HWPT); the device and HWPT cannot be
 * destroyed while the selftest object holds them, its destroy takes all
 * three; the domain maps every area, in the mock's aperture; unknown
 * dev_flags -EINVAL; MD_CHECK_MAP: each io page maps the user's byte
 * (another address, a hole: -EINVAL), 2048-aligned arguments, a HWPT id
 * that is not one -ENOENT; every 2048-aligned start and end of an area
 * maps exactly its bytes, and pins its pages once. */
static void test_mock_domain(void **state)
{
	struct fx *f = *state;
	uint32_t ioas = test_ioas_alloc(f->fd), stdev = 0, hwpt = 0, idev = 0;
	uint64_t iova;
	uint8_t *va;

	assert_int_equal(mock_domain(f, ioas, 1u << 3, true, &stdev, &hwpt,
				     &idev),
			 -EINVAL);
	assert_int_equal(mock_domain(f, 99, 0, false, &stdev, &hwpt, &idev),
			 -ENOENT);
	assert_int_equal(mock_domain(f, ioas, 0, false, &stdev, &hwpt, &idev),
			 0);
	assert_true(ioas < stdev && stdev < idev && idev < hwpt);
	assert_int_equal(mm_mmap(f->mm, 4 * PG, MM_MAP_POPULATE, (void **)&va),
			 0);
	iova = map(f, ioas, va, 4 * PG);
	assert_true(iova >= IOMMU_TEST_MOCK_APERTURE_START &&
		    iova + 4 * PG - 1 <= IOMMU_TEST_MOCK_APERTURE_LAST);
	assert_int_equal(check_map(f, hwpt, iova, va, 4 * PG), 0);
	assert_int_equal(check_map(f, hwpt, iova + 2048, va + 2048, 2048), 0);
	assert_int_equal(check_map(f, hwpt, iova, va + PG, PG), -EINVAL);
	assert_int_equal(check_map(f, hwpt, iova + 4 * PG, va, PG), -EINVAL);
	assert_int_equal(check_map(f, hwpt, iova + 1024, va, 2048), -EINVAL);
	assert_int_equal(check_map(f, hwpt, iova, va, 1024), -EINVAL);
	assert_int_equal(check_map(f, ioas, iova, va, PG), -ENOENT);
	assert_int_equal(check_map(f, 99, iova, va, PG), -ENOENT);
	unmap(f, ioas, iova, 4 * PG);
	assert_int_equal(check_map(f, hwpt, iova, va, PG), -EINVAL);
	/* areas that start and end mid-page, in 2048-byte io pages (the
	 * domain is filled by bytes) */
	for (unsigned int start = 0; start < 4 * PG; start += 2048)
		for (unsigned int end = start + 2048; end <= 4 * PG;
		     end += 2048) {
			iova = map(f, ioas, va + start, end - start);
			assert_int_equal(iova % 2048, 0);
			assert_int_equal(check_map(f, hwpt, iova, va + start,
						   end - start),
					 0);
			assert_int_equal(check_refs(f, va + start / PG * PG,
						    (end + PG - 1) / PG * PG -
							    start / PG * PG,
						    1),
					 0);
			unmap(f, ioas, iova, end - start);
		}
	assert_int_equal(check_refs(f, va, 4 * PG, 0), 0);

	assert_int_equal(destroy(f, idev), -EBUSY);
	assert_int_equal(destroy(f, hwpt), -EBUSY);
	assert_int_equal(destroy(f, ioas), -EBUSY);
	assert_int_equal(destroy(f, stdev), 0);
	assert_int_equal(destroy(f, hwpt), -ENOENT);
	assert_int_equal(destroy(f, idev), -ENOENT);
	assert_int_equal(destroy(f, ioas), 0);
	assert_int_equal(mm_munmap(f->mm, va, 4 * PG), 0);
}

/* A mock device with HUGE_IOVA: the IOAS keeps 2048-byte alignment and the
 * domain maps a 2 MiB-aligned run in large io pages; PASID is accepted. */
static void test_mock_domain_flags(void **state)
{
	struct fx *f = *state;
	uint32_t ioas = test_ioas_alloc(f->fd), stdev = 0, hwpt = 0, idev = 0;

	assert_int_equal(mock_domain(f, ioas,
				     IOMMU_TEST_MOCK_DEV_HUGE_IOVA |
					     IOMMU_TEST_MOCK_DEV_PASID |
					     IOMMU_TEST_MOCK_DEV_NO_DIRTY,
				     true, &stdev, &hwpt, &idev),
			 0);
	assert_int_equal(destroy(f, stdev), 0);
}

/* MOCK_DOMAIN_REPLACE: onto another IOAS (a new auto domain, its HWPT id
 * back, the old one gone with its last attachment); an id that is not a
 * selftest object -ENOENT. */
static void test_mock_domain_replace(void **state)
{
	struct fx *f = *state;
	uint32_t ioas = test_ioas_alloc(f->fd), ioas2 = test_ioas_alloc(f->fd),
		 stdev = 0, hwpt = 0, idev = 0, pt;

	assert_int_equal(mock_domain(f, ioas, 0, false, &stdev, &hwpt, &idev),
			 0);
	pt = ioas2;
	assert_int_equal(replace(f, stdev, &pt), 0);
	assert_true(pt != hwpt && pt != ioas2);
	assert_int_equal(destroy(f, hwpt), -ENOENT);
	assert_int_equal(destroy(f, pt), -EBUSY);
	pt = ioas2;
	assert_int_equal(replace(f, idev, &pt), -ENOENT);
	assert_int_equal(replace(f, ioas, &pt), -ENOENT);
}

/* Closing /dev/iommu with a selftest object alive destroys it (its
 * binding holds no reference on the context): nothing leaks (the
 * teardown's checks), nothing is left pinned. */
static void test_mock_domain_close(void **state)
{
	struct fx *f = *state;
	uint32_t ioas = test_ioas_alloc(f->fd), stdev = 0, hwpt = 0, idev = 0;
	uint8_t *va;

	assert_int_equal(mock_domain(f, ioas, 0, false, &stdev, &hwpt, &idev),
			 0);
	assert_int_equal(mm_mmap(f->mm, 2 * PG, MM_MAP_POPULATE, (void **)&va),
			 0);
	map(f, ioas, va, 2 * PG);
	assert_int_equal(check_refs(f, va, 2 * PG, 1), 0);
	assert_int_equal(vfio_fops_close(f->fd), 0);
	f->fd = vfio_fops_open(f->mm, "/dev/iommu", O_RDWR);
	assert_true(f->fd >= 0);
	assert_int_equal(check_refs(f, va, 2 * PG, 0), 0);
	assert_int_equal(mm_munmap(f->mm, va, 2 * PG), 0);
}

static int add_reserved(struct fx *f, uint32_t ioas, uint64_t start,
			uint64_t len)
{
	struct iommu_test_cmd c = {.size = sizeof(c),
				   .op = IOMMU_TEST_OP_ADD_RESERVED,
				   .id = ioas,
				   .add_reserved = {.start = start,
						    .length = len}};

	return test_fops_ioctl(f->fd, IOMMU_TEST_CMD, &c);
}

/* ADD_RESERVED: a fixed map into the range is refused (-EINVAL, iopt's
 * reserved check), an allocated IOVA avoids it; over an area
 * -EADDRINUSE; a wrapping range (length 0) -EINVAL; not an IOAS
 * -ENOENT. */
static void test_add_reserved(void **state)
{
	struct fx *f = *state;
	uint32_t ioas = test_ioas_alloc(f->fd);
	struct iommu_ioas_map m = {.size = sizeof(m),
				   .flags = RW | IOMMU_IOAS_MAP_FIXED_IOVA,
				   .ioas_id = ioas,
				   .length = PG,
				   .iova = 0x100000};
	uint64_t iova;
	uint8_t *va;

	assert_int_equal(mm_mmap(f->mm, PG, MM_MAP_POPULATE, (void **)&va), 0);
	m.user_va = (uintptr_t)va;
	assert_int_equal(add_reserved(f, ioas, 0, 0x200000), 0);
	assert_int_equal(test_fops_ioctl(f->fd, IOMMU_IOAS_MAP, &m), -EINVAL);
	iova = map(f, ioas, va, PG);
	assert_true(iova >= 0x200000);
	assert_int_equal(add_reserved(f, ioas, iova, PG), -EADDRINUSE);
	assert_int_equal(add_reserved(f, ioas, 0x400000000, 0), -EINVAL);
	assert_int_equal(add_reserved(f, 99, 0x400000000, PG), -ENOENT);
	unmap(f, ioas, iova, PG);
	assert_int_equal(add_reserved(f, ioas, iova, PG), 0);
	assert_int_equal(mm_munmap(f->mm, va, PG), 0);
}

/* MOCK_DOMAIN onto a HWPT another mock device's IOAS made: every mock
 * device shares the one mock IOMMU (6.12's mock_iommu_device), so both
 * attach to one domain, and so does a device with other flags. */
static void test_mock_domain_shared_hwpt(void **state)
{
	struct fx *f = *state;
	uint32_t ioas = test_ioas_alloc(f->fd), stdev = 0, hwpt = 0, idev = 0;
	uint32_t stdev2 = 0, hwpt2 = 0, idev2 = 0, stdev3 = 0, hwpt3 = 0;
	uint32_t idev3 = 0;

	assert_int_equal(mock_domain(f, ioas, 0, false, &stdev, &hwpt, &idev),
			 0);
	assert_int_equal(
		mock_domain(f, hwpt, 0, false, &stdev2, &hwpt2, &idev2), 0);
	assert_int_equal(hwpt2, hwpt);
	assert_int_equal(mock_domain(f, hwpt, IOMMU_TEST_MOCK_DEV_HUGE_IOVA,
				     true, &stdev3, &hwpt3, &idev3),
			 0);
	assert_int_equal(hwpt3, hwpt);
	assert_int_equal(destroy(f, stdev3), 0);
	assert_int_equal(destroy(f, stdev), 0);
	assert_int_equal(destroy(f, hwpt), -EBUSY); /* the second's */
}

static int create_access(struct fx *f, uint32_t ioas, uint32_t flags, int *fd)
{
	struct iommu_test_cmd c = {.size = sizeof(c),
				   .op = IOMMU_TEST_OP_CREATE_ACCESS,
				   .id = ioas,
				   .create_access = {.flags = flags}};
	int ret = test_fops_ioctl(f->fd, IOMMU_TEST_CMD, &c);

	if (!ret)
		*fd = (int)c.create_access.out_access_fd;
	return ret;
}

static int access_pages(struct fx *f, int afd, uint64_t iova, uint64_t len,
			const void *va, uint32_t flags, uint32_t *id)
{
	struct iommu_test_cmd c = {.size = sizeof(c),
				   .op = IOMMU_TEST_OP_ACCESS_PAGES,
				   .id = (uint32_t)afd,
				   .access_pages = {.flags = flags,
						    .iova = iova,
						    .length = len,
						    .uptr = (uintptr_t)va}};
	int ret = test_fops_ioctl(f->fd, IOMMU_TEST_CMD, &c);

	if (!ret && id)
		*id = c.access_pages.out_access_pages_id;
	return ret;
}

static int destroy_pages(struct fx *f, int afd, uint32_t id)
{
	struct iommu_test_cmd c = {.size = sizeof(c),
				   .op = IOMMU_TEST_OP_DESTROY_ACCESS_PAGES,
				   .id = (uint32_t)afd,
				   .destroy_access_pages = {.access_pages_id =
								    id}};

	return test_fops_ioctl(f->fd, IOMMU_TEST_CMD, &c);
}

static int access_rw(struct fx *f, int afd, uint64_t iova, void *buf,
		     uint64_t len, uint32_t flags)
{
	struct iommu_test_cmd c = {.size = sizeof(c),
				   .op = IOMMU_TEST_OP_ACCESS_RW,
				   .id = (uint32_t)afd,
				   .access_rw = {.iova = iova,
						 .length = len,
						 .uptr = (uintptr_t)buf,
						 .flags = flags}};

	return test_fops_ioctl(f->fd, IOMMU_TEST_CMD, &c);
}

static uint64_t map_fixed(struct fx *f, uint32_t ioas, const void *va,
			  uint64_t len, uint64_t iova, uint32_t flags)
{
	struct iommu_ioas_map m = {.size = sizeof(m),
				   .flags = flags | IOMMU_IOAS_MAP_FIXED_IOVA,
				   .ioas_id = ioas,
				   .user_va = (uintptr_t)va,
				   .length = len,
				   .iova = iova};

	return (uint64_t)test_fops_ioctl(f->fd, IOMMU_IOAS_MAP, &m);
}

/* CREATE_ACCESS (flags other than NEEDS_PIN_PAGES -EOPNOTSUPP, no IOAS
 * -ENOENT; the IOAS busy while attached), ACCESS_PAGES (the pages of the
 * IOVA range are the user's, else -EBADE; a gap -ENOENT; write to a
 * read-only area -EPERM; > 16 MiB -ENOMEM; unknown flags -EOPNOTSUPP;
 * not an access fd -EBADFD; an access without NEEDS_PIN_PAGES
 * -EOPNOTSUPP), DESTROY_ACCESS_PAGES (-ENOENT once gone), the unmap
 * callback (the items an unmap covers are dropped, the unmap succeeds),
 * closing the fd frees everything. */
static void test_access_pages(void **state)
{
	struct fx *f = *state;
	uint32_t ioas = test_ioas_alloc(f->fd), id = 99;
	const uint64_t base = IOMMU_TEST_MOCK_APERTURE_START;
	int afd = -1, afd2 = -1;
	uint8_t *va;

	assert_int_equal(mm_mmap(f->mm, 4 * PG, MM_MAP_POPULATE, (void **)&va),
			 0);
	assert_int_equal(map_fixed(f, ioas, va, 4 * PG, base, RW), 0);
	assert_int_equal(create_access(f, ioas, 2, &afd), -EOPNOTSUPP);
	assert_int_equal(create_access(f, 99, 0, &afd), -ENOENT);
	assert_int_equal(create_access(f, ioas,
				       IOMMU_TEST_ACCESS_CREATE_NEEDS_PIN_PAGES,
				       &afd),
			 0);
	assert_true(afd >= 0 && afd != f->fd);
	assert_int_equal(destroy(f, ioas), -EBUSY);

	assert_int_equal(access_pages(f, afd, base + PG, PG, va + PG,
				      IOMMU_TEST_ACCESS_WRITE, &id),
			 0);
	assert_int_equal(id, 0);
	assert_int_equal(access_pages(f, afd, base + PG, PG, va, 0, NULL),
			 -EBADE);
	assert_int_equal(access_pages(f, afd, base + 3 * PG, 2 * PG,
				      va + 3 * PG, 0, NULL),
			 -ENOENT);
	assert_int_equal(access_pages(f, afd, base, 17u << 20, va, 0, NULL),
			 -ENOMEM);
	assert_int_equal(access_pages(f, afd, base, PG, va, 2, NULL),
			 -EOPNOTSUPP);
	assert_int_equal(access_pages(f, f->fd, base, PG, va, 0, NULL),
			 -EBADFD);
	assert_int_equal(destroy_pages(f, afd, 0), 0);
	assert_int_equal(destroy_pages(f, afd, 0), -ENOENT);

	/* the check of the user's pages is one pin call, not one per page
	 * (the fail-nth sweeps count injection points): with the access's
	 * own pin of the (contiguous) range, two */
	{
		uint64_t calls = pin_calls(f);

		assert_int_equal(access_pages(f, afd, base, 4 * PG, va, 0, &id),
				 0);
		assert_true(pin_calls(f) - calls <= 2);
		assert_int_equal(destroy_pages(f, afd, id), 0);
	}

	/* the unmap callback: the item goes with the area */
	assert_int_equal(access_pages(f, afd, base, 2 * PG, va, 0, &id), 0);
	assert_int_equal(id, 2);
	/* no domain: the access's pin is the area's only one */
	assert_int_equal(check_refs(f, va, 4 * PG, 1), 0);
	unmap(f, ioas, base, 4 * PG);
	assert_int_equal(destroy_pages(f, afd, 2), -ENOENT);
	assert_int_equal(check_refs(f, va, 4 * PG, 0), 0);

	/* read-only area: a write pin -EPERM, a read pin fine */
	assert_int_equal(map_fixed(f, ioas, va, 4 * PG, base,
				   IOMMU_IOAS_MAP_READABLE),
			 0);
	assert_int_equal(access_pages(f, afd, base, PG, va,
				      IOMMU_TEST_ACCESS_WRITE, NULL),
			 -EPERM);
	assert_int_equal(access_pages(f, afd, base, PG, va, 0, &id), 0);

	/* an access without NEEDS_PIN_PAGES does not pin */
	assert_int_equal(create_access(f, ioas, 0, &afd2), 0);
	assert_int_equal(access_pages(f, afd2, base, PG, va, 0, NULL),
			 -EOPNOTSUPP);
	assert_int_equal(vfio_fops_close(afd2), 0);

	/* closing the fd unpins and destroys: the IOAS is free again */
	assert_int_equal(vfio_fops_close(afd), 0);
	unmap(f, ioas, base, 4 * PG);
	assert_int_equal(destroy(f, ioas), 0);
	assert_int_equal(mm_munmap(f->mm, va, 4 * PG), 0);
}

/* ACCESS_RW: reads and writes through the IOAS, across a page boundary
 * and an area whose IOVA is not page-congruent with its memory; a gap
 * -ENOENT; a write to a read-only area -EPERM; zero length -EINVAL;
 * unknown flags -EOPNOTSUPP.  The access fd keeps the context after
 * /dev/iommu closes. */
static void test_access_rw(void **state)
{
	struct fx *f = *state;
	uint32_t ioas = test_ioas_alloc(f->fd);
	const uint64_t base = IOMMU_TEST_MOCK_APERTURE_START;
	uint8_t buf[200], back[200];
	int afd = -1;
	uint8_t *va;

	assert_int_equal(mm_mmap(f->mm, 4 * PG, MM_MAP_POPULATE, (void **)&va),
			 0);
	for (unsigned int i = 0; i < 4 * PG; i++)
		va[i] = (uint8_t)(i * 7);
	assert_int_equal(map_fixed(f, ioas, va, 2 * PG, base, RW), 0);
	/* the second half at an IOVA 2048 bytes off its page */
	assert_int_equal(map_fixed(f, ioas, va + 2 * PG, 2 * PG,
				   base + 2 * PG + 2048,
				   IOMMU_IOAS_MAP_READABLE),
			 0);
	assert_int_equal(create_access(f, ioas, 0, &afd), 0);

	assert_int_equal(access_rw(f, afd, base + PG - 50, back, 100, 0), 0);
	assert_memory_equal(back, va + PG - 50, 100);
	for (unsigned int i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(0xa5 ^ i);
	assert_int_equal(access_rw(f, afd, base + PG - 100, buf, 200,
				   IOMMU_TEST_ACCESS_RW_WRITE),
			 0);
	assert_memory_equal(va + PG - 100, buf, 200);
	assert_int_equal(access_rw(f, afd, base + 2 * PG + 2048 + PG - 10, back,
				   20, IOMMU_TEST_ACCESS_RW_SLOW_PATH),
			 0);
	assert_memory_equal(back, va + 3 * PG - 10, 20);
	assert_int_equal(access_rw(f, afd, base + 2 * PG + 2048, buf, 10,
				   IOMMU_TEST_ACCESS_RW_WRITE),
			 -EPERM);
	assert_int_equal(access_rw(f, afd, base + 2 * PG - 10, back, 20, 0),
			 -ENOENT); /* the 2048-byte gap */
	assert_int_equal(access_rw(f, afd, base, back, 0, 0), -EINVAL);
	assert_int_equal(access_rw(f, afd, base, back, 10, 2), -EOPNOTSUPP);

	/* /dev/iommu closed: the access fd still works, then frees all */
	assert_int_equal(vfio_fops_close(f->fd), 0);
	f->fd = vfio_fops_open(f->mm, "/dev/iommu", O_RDWR);
	assert_true(f->fd >= 0);
	assert_int_equal(access_rw(f, afd, base + PG - 50, back, 100, 0), 0);
	assert_memory_equal(back, va + PG - 50, 100);
	/* no domain and no access pin: nothing pinned, copies through the
	 * user's mapping */
	assert_int_equal(check_refs(f, va, 4 * PG, 0), 0);
	assert_int_equal(vfio_fops_close(afd), 0);
	assert_int_equal(check_refs(f, va, 4 * PG, 0), 0);
	assert_int_equal(mm_munmap(f->mm, va, 4 * PG), 0);
}

static int access_replace(struct fx *f, int afd, uint32_t ioas)
{
	struct iommu_test_cmd c = {.size = sizeof(c),
				   .op = IOMMU_TEST_OP_ACCESS_REPLACE_IOAS,
				   .id = (uint32_t)afd,
				   .access_replace_ioas = {.ioas_id = ioas}};

	return test_fops_ioctl(f->fd, IOMMU_TEST_CMD, &c);
}

/* ACCESS_REPLACE_IOAS: the access's items on the old IOAS are dropped
 * (its unmap callback), the old IOAS is free to go, pins work on the new
 * one; the same IOAS is a no-op; no such IOAS -ENOENT. */
static void test_access_replace_ioas(void **state)
{
	struct fx *f = *state;
	uint32_t ioas = test_ioas_alloc(f->fd), ioas2 = test_ioas_alloc(f->fd),
		 id = 99;
	const uint64_t base = IOMMU_TEST_MOCK_APERTURE_START;
	int afd = -1;
	uint8_t *va;

	assert_int_equal(mm_mmap(f->mm, 2 * PG, MM_MAP_POPULATE, (void **)&va),
			 0);
	assert_int_equal(map_fixed(f, ioas, va, 2 * PG, base, RW), 0);
	assert_int_equal(map_fixed(f, ioas2, va, 2 * PG, base + PG, RW), 0);
	assert_int_equal(create_access(f, ioas,
				       IOMMU_TEST_ACCESS_CREATE_NEEDS_PIN_PAGES,
				       &afd),
			 0);
	assert_int_equal(access_pages(f, afd, base, 2 * PG, va, 0, &id), 0);
	assert_int_equal(access_replace(f, afd, ioas), 0);
	assert_int_equal(destroy_pages(f, afd, id), 0); /* still there */
	assert_int_equal(access_pages(f, afd, base, 2 * PG, va, 0, &id), 0);
	assert_int_equal(access_replace(f, afd, 99), -ENOENT);
	assert_int_equal(access_replace(f, afd, ioas2), 0);
	assert_int_equal(destroy_pages(f, afd, id), -ENOENT);
	assert_int_equal(check_refs(f, va, 2 * PG, 0), 0);
	assert_int_equal(destroy(f, ioas), 0);
	assert_int_equal(destroy(f, ioas2), -EBUSY);
	assert_int_equal(access_pages(f, afd, base, PG, va, 0, &id),
			 -ENOENT); /* only the new IOAS now */
	assert_int_equal(access_pages(f, afd, base + PG, PG, va, 0, &id), 0);
	assert_int_equal(check_refs(f, va, 2 * PG, 1), 0);
	assert_int_equal(vfio_fops_close(afd), 0);
	assert_int_equal(check_refs(f, va, 2 * PG, 0), 0);
	assert_int_equal(destroy(f, ioas2), 0);
	assert_int_equal(mm_munmap(f->mm, va, 2 * PG), 0);
}

static int hw_info(struct fx *f, uint32_t idev, uint32_t type, void *buf,
		   uint32_t len, struct iommu_hw_info *out)
{
	struct iommu_hw_info c = {.size = sizeof(c),
				  .flags = type ? 1u : 0u, /* INPUT_TYPE */
				  .dev_id = idev,
				  .data_len = len,
				  .data_uptr = (uintptr_t)buf,
				  .out_data_type = type};
	int ret = test_fops_ioctl(f->fd, IOMMU_GET_HW_INFO, &c);

	*out = c;
	return ret;
}

/* GET_HW_INFO of a mock device: IOMMU_HW_INFO_TYPE_SELFTEST, {0,
 * 0xdeadbeef} up to the user's length, the rest of the buffer zeroed,
 * data_len 8; another requested type -EOPNOTSUPP; max_pasid_log2 20 for
 * a PASID device, else 0. */
static void test_mock_hw_info(void **state)
{
	struct fx *f = *state;
	uint32_t ioas = test_ioas_alloc(f->fd), stdev = 0, hwpt = 0, idev = 0;
	uint32_t stdev2 = 0, hwpt2 = 0, idev2 = 0;
	struct iommu_hw_info out;
	uint8_t buf[16];
	struct iommu_test_hw_info *info = (void *)buf;

	assert_int_equal(mock_domain(f, ioas, 0, false, &stdev, &hwpt, &idev),
			 0);
	memset(buf, 0xff, sizeof(buf));
	assert_int_equal(hw_info(f, idev, 0, buf, sizeof(buf), &out), 0);
	assert_int_equal(out.out_data_type, IOMMU_HW_INFO_TYPE_SELFTEST);
	assert_int_equal(out.data_len, sizeof(*info));
	assert_int_equal(info->flags, 0);
	assert_int_equal(info->test_reg, IOMMU_HW_INFO_SELFTEST_REGVAL);
	for (unsigned int i = sizeof(*info); i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0);
	assert_int_equal(out.out_max_pasid_log2, 0);
	memset(buf, 0xff, sizeof(buf));
	assert_int_equal(
		hw_info(f, idev, IOMMU_HW_INFO_TYPE_SELFTEST, buf, 4, &out), 0);
	assert_int_equal(out.data_len, sizeof(*info));
	assert_int_equal(info->flags, 0);
	assert_int_equal(buf[4], 0xff); /* past the user's length */
	assert_int_equal(hw_info(f, idev, IOMMU_HW_INFO_TYPE_SELFTEST + 1, buf,
				 sizeof(buf), &out),
			 -EOPNOTSUPP);
	assert_int_equal(mock_domain(f, ioas, IOMMU_TEST_MOCK_DEV_PASID, true,
				     &stdev2, &hwpt2, &idev2),
			 0);
	assert_int_equal(hw_info(f, idev2, 0, NULL, 0, &out), 0);
	assert_int_equal(out.out_max_pasid_log2, IOMMU_TEST_MOCK_PASID_WIDTH);
}

/* ---- dirty tracking ---------------------------------------------------------- */

static int hwpt_alloc(struct fx *f, uint32_t idev, uint32_t pt, uint32_t flags,
		      uint32_t *out)
{
	struct iommu_hwpt_alloc a = {
		.size = sizeof(a), .flags = flags, .dev_id = idev, .pt_id = pt};
	int ret = test_fops_ioctl(f->fd, IOMMU_HWPT_ALLOC, &a);

	*out = a.out_hwpt_id;
	return ret;
}

static int set_dirty(struct fx *f, uint32_t hwpt, uint32_t flags)
{
	struct iommu_hwpt_set_dirty_tracking c = {
		.size = sizeof(c), .flags = flags, .hwpt_id = hwpt};

	return test_fops_ioctl(f->fd, IOMMU_HWPT_SET_DIRTY_TRACKING, &c);
}

static int get_bitmap(struct fx *f, uint32_t hwpt, uint64_t iova, uint64_t len,
		      uint64_t page_size, void *data, uint32_t flags)
{
	struct iommu_hwpt_get_dirty_bitmap c = {.size = sizeof(c),
						.hwpt_id = hwpt,
						.flags = flags,
						.iova = iova,
						.length = len,
						.page_size = page_size,
						.data = (uintptr_t)data};

	return test_fops_ioctl(f->fd, IOMMU_HWPT_GET_DIRTY_BITMAP, &c);
}

static int mark_dirty(struct fx *f, uint32_t hwpt, uint64_t iova, uint64_t len,
		      uint64_t page_size, const void *bits, uint64_t *nr)
{
	struct iommu_test_cmd c = {.size = sizeof(c),
				   .op = IOMMU_TEST_OP_DIRTY,
				   .id = hwpt,
				   .dirty = {.iova = iova,
					     .length = len,
					     .page_size = page_size,
					     .uptr = (uintptr_t)bits}};
	int ret = test_fops_ioctl(f->fd, IOMMU_TEST_CMD, &c);

	if (nr)
		*nr = c.dirty.out_nr_dirty;
	return ret;
}

/* HWPT_ALLOC with DIRTY_TRACKING: a mock device that tracks (and GET_HW_INFO
 * reports IOMMU_HW_CAP_DIRTY_TRACKING for it); a NO_DIRTY device has no
 * capability and gets -EOPNOTSUPP, and cannot attach to a dirty HWPT
 * (-EINVAL: enforce_dirty). */
static void test_dirty_alloc(void **state)
{
	struct fx *f = *state;
	uint32_t ioas = test_ioas_alloc(f->fd), stdev = 0, hwpt = 0, idev = 0;
	uint32_t stdev2 = 0, hwpt2 = 0, idev2 = 0, dhwpt = 0, nd = 0;
	struct iommu_hw_info out;

	assert_int_equal(mock_domain(f, ioas, 0, false, &stdev, &hwpt, &idev),
			 0);
	assert_int_equal(hw_info(f, idev, 0, NULL, 0, &out), 0);
	assert_int_equal(out.out_capabilities, IOMMU_HW_CAP_DIRTY_TRACKING);
	assert_int_equal(hwpt_alloc(f, idev, ioas,
				    IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &dhwpt),
			 0);
	assert_int_equal(
		mock_domain(f, dhwpt, 0, false, &stdev2, &hwpt2, &idev2), 0);
	assert_int_equal(hwpt2, dhwpt);
	assert_int_equal(destroy(f, stdev2), 0);
	assert_int_equal(mock_domain(f, dhwpt, IOMMU_TEST_MOCK_DEV_NO_DIRTY,
				     true, &stdev2, &hwpt2, &idev2),
			 -EINVAL);
	assert_int_equal(mock_domain(f, ioas, IOMMU_TEST_MOCK_DEV_NO_DIRTY,
				     true, &stdev2, &hwpt2, &idev2),
			 0);
	assert_int_equal(hw_info(f, idev2, 0, NULL, 0, &out), 0);
	assert_int_equal(out.out_capabilities, 0);
	assert_int_equal(hwpt_alloc(f, idev2, ioas,
				    IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &nd),
			 -EOPNOTSUPP);
	assert_int_equal(destroy(f, dhwpt), 0);
}

/* SET_DIRTY_TRACKING: unknown flags -EOPNOTSUPP, no HWPT -ENOENT, a HWPT
 * allocated without DIRTY_TRACKING -EOPNOTSUPP, enable and disable; the
 * DIRTY op's checks (-EINVAL: page_size, alignment, uptr, tracking off;
 * -ENOENT: no HWPT). */
static void test_dirty_set_tracking(void **state)
{
	struct fx *f = *state;
	uint32_t ioas = test_ioas_alloc(f->fd), stdev = 0, hwpt = 0, idev = 0,
		 dhwpt = 0;
	const uint64_t base = IOMMU_TEST_MOCK_APERTURE_START;
	uint8_t bits = 0xff;

	assert_int_equal(mock_domain(f, ioas, 0, false, &stdev, &hwpt, &idev),
			 0);
	assert_int_equal(hwpt_alloc(f, idev, ioas,
				    IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &dhwpt),
			 0);
	assert_int_equal(set_dirty(f, dhwpt, 2), -EOPNOTSUPP);
	assert_int_equal(set_dirty(f, 999, IOMMU_HWPT_DIRTY_TRACKING_ENABLE),
			 -ENOENT);
	assert_int_equal(set_dirty(f, hwpt, IOMMU_HWPT_DIRTY_TRACKING_ENABLE),
			 -EOPNOTSUPP);
	assert_int_equal(mark_dirty(f, dhwpt, base, 8 * 2048, 2048, &bits,
				    NULL),
			 -EINVAL); /* tracking off */
	assert_int_equal(set_dirty(f, dhwpt, IOMMU_HWPT_DIRTY_TRACKING_ENABLE),
			 0);
	assert_int_equal(set_dirty(f, dhwpt, IOMMU_HWPT_DIRTY_TRACKING_ENABLE),
			 0);
	assert_int_equal(mark_dirty(f, dhwpt, base, 8 * 2048, 0, &bits, NULL),
			 -EINVAL);
	assert_int_equal(mark_dirty(f, dhwpt, base + 1, 8 * 2048, 2048, &bits,
				    NULL),
			 -EINVAL);
	assert_int_equal(mark_dirty(f, dhwpt, base, 8 * 2048, 2048, NULL, NULL),
			 -EINVAL);
	assert_int_equal(mark_dirty(f, 999, base, 8 * 2048, 2048, &bits, NULL),
			 -ENOENT);
	assert_int_equal(set_dirty(f, dhwpt, 0), 0);
	assert_int_equal(destroy(f, dhwpt), 0);
}

/* GET_DIRTY_BITMAP: the DIRTY op marks mapped io pages (out_nr_dirty),
 * the bitmap reports them one bit per page_size and clears them (not with
 * NO_CLEAR), bits the user had set stay, any byte alignment of the
 * bitmap, pages dirtied before enabling are not reported; the checks:
 * flags / __reserved -EOPNOTSUPP, no HWPT -ENOENT, no dirty ops
 * -EOPNOTSUPP, wrap -EOVERFLOW, alignment and page_size 0 -EINVAL, a hole
 * -EINVAL. */
static void test_dirty_bitmap(void **state)
{
	struct fx *f = *state;
	uint32_t ioas = test_ioas_alloc(f->fd), stdev = 0, hwpt = 0, idev = 0,
		 dhwpt = 0;
	const uint64_t base = IOMMU_TEST_MOCK_APERTURE_START, len = 4 * PG;
	uint8_t bits = 0xa5, *bm = calloc(1, 16), *va;
	uint64_t nr = 0;

	assert_int_equal(mm_mmap(f->mm, len, MM_MAP_POPULATE, (void **)&va), 0);
	assert_int_equal(map_fixed(f, ioas, va, len, base, RW), 0);
	assert_int_equal(mock_domain(f, ioas, 0, false, &stdev, &hwpt, &idev),
			 0);
	assert_int_equal(hwpt_alloc(f, idev, ioas,
				    IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &dhwpt),
			 0);
	assert_int_equal(get_bitmap(f, hwpt, base, len, 2048, bm, 0),
			 -EOPNOTSUPP);
	assert_int_equal(set_dirty(f, dhwpt, IOMMU_HWPT_DIRTY_TRACKING_ENABLE),
			 0);
	assert_int_equal(mark_dirty(f, dhwpt, base, len, 2048, &bits, &nr), 0);
	assert_int_equal(nr, 4);
	assert_int_equal(get_bitmap(f, dhwpt, base, len, 2048, bm, 0), 0);
	assert_int_equal(bm[0], 0xa5);
	bm[0] = 0;
	assert_int_equal(get_bitmap(f, dhwpt, base, len, 2048, bm, 0), 0);
	assert_int_equal(bm[0], 0); /* cleared by the read */

	/* NO_CLEAR: reported twice; then a 4096 granule covers two pages */
	assert_int_equal(mark_dirty(f, dhwpt, base, len, 2048, &bits, &nr), 0);
	assert_int_equal(get_bitmap(f, dhwpt, base, len, 2048, bm + 1,
				    IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR),
			 0);
	assert_int_equal(bm[1], 0xa5);
	bm[1] = 0x10; /* the user's own bit stays */
	assert_int_equal(get_bitmap(f, dhwpt, base, len, 2048, bm + 1,
				    IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR),
			 0);
	assert_int_equal(bm[1], 0xb5);
	assert_int_equal(get_bitmap(f, dhwpt, base, len, PG, bm + 2, 0), 0);
	assert_int_equal(bm[2], 0xf); /* 0xa5: pages 0, 2, 5, 7 */
	assert_int_equal(get_bitmap(f, dhwpt, base, len, PG, bm + 3, 0), 0);
	assert_int_equal(bm[3], 0);

	/* dirtied before tracking (re)starts: not reported */
	assert_int_equal(mark_dirty(f, dhwpt, base, len, 2048, &bits, &nr), 0);
	assert_int_equal(set_dirty(f, dhwpt, 0), 0);
	assert_int_equal(set_dirty(f, dhwpt, IOMMU_HWPT_DIRTY_TRACKING_ENABLE),
			 0);
	assert_int_equal(get_bitmap(f, dhwpt, base, len, 2048, bm + 4, 0), 0);
	assert_int_equal(bm[4], 0);

	/* the checks, in 6.12's order */
	assert_int_equal(get_bitmap(f, dhwpt, base, len, 2048, bm, 2),
			 -EOPNOTSUPP);
	assert_int_equal(get_bitmap(f, 999, base, len, 2048, bm, 0), -ENOENT);
	assert_int_equal(get_bitmap(f, dhwpt, UINT64_MAX - 2047, 4096, 2048, bm,
				    0),
			 -EOVERFLOW);
	assert_int_equal(get_bitmap(f, dhwpt, base + 1024, len, 2048, bm, 0),
			 -EINVAL); /* the IOAS's alignment (2048) */
	assert_int_equal(get_bitmap(f, dhwpt, base, len, 0, bm, 0), -EINVAL);
	assert_int_equal(get_bitmap(f, dhwpt, base + 2048, len, PG, bm, 0),
			 -EINVAL); /* page_size alignment */
	assert_int_equal(get_bitmap(f, dhwpt, base, 2 * len, 2048, bm, 0),
			 -EINVAL); /* not all mapped */
	{
		struct iommu_hwpt_get_dirty_bitmap c = {.size = sizeof(c),
							.hwpt_id = dhwpt,
							.__reserved = 1,
							.iova = base,
							.length = len,
							.page_size = 2048,
							.data = (uintptr_t)bm};

		assert_int_equal(
			test_fops_ioctl(f->fd, IOMMU_HWPT_GET_DIRTY_BITMAP, &c),
			-EOPNOTSUPP);
	}
	assert_int_equal(destroy(f, dhwpt), 0);
	free(bm);
}

/* A bitmap over more than one chunk of the walk (4096 bytes of bits):
 * 66 MiB of 2048-byte granules; the first and last granules and one on
 * the chunk boundary. */
static void test_dirty_bitmap_chunks(void **state)
{
	struct fx *f = *state;
	uint32_t ioas = test_ioas_alloc(f->fd), stdev = 0, hwpt = 0, idev = 0,
		 dhwpt = 0;
	const uint64_t base = IOMMU_TEST_MOCK_APERTURE_START, len = 66ul << 20;
	const uint64_t nbits = len / 2048;
	uint8_t *bits = calloc(1, nbits / 8), *bm = calloc(1, nbits / 8), *va;
	uint64_t nr = 0;

	assert_int_equal(mm_mmap(f->mm, len, MM_MAP_POPULATE, (void **)&va), 0);
	assert_int_equal(map_fixed(f, ioas, va, len, base, RW), 0);
	assert_int_equal(mock_domain(f, ioas, 0, false, &stdev, &hwpt, &idev),
			 0);
	assert_int_equal(hwpt_alloc(f, idev, ioas,
				    IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &dhwpt),
			 0);
	assert_int_equal(set_dirty(f, dhwpt, IOMMU_HWPT_DIRTY_TRACKING_ENABLE),
			 0);
	bits[0] = 0x01;
	bits[4095] = 0x80;
	bits[4096] = 0x01;
	bits[nbits / 8 - 1] = 0x80;
	assert_int_equal(mark_dirty(f, dhwpt, base, len, 2048, bits, &nr), 0);
	assert_int_equal(nr, 4);
	assert_int_equal(get_bitmap(f, dhwpt, base, len, 2048, bm, 0), 0);
	assert_memory_equal(bm, bits, nbits / 8);
	assert_int_equal(destroy(f, dhwpt), 0);
	free(bits);
	free(bm);
}

/* Dirty bits of the first 1 MiB of dhwpt at 2048-byte granules after
 * the mock's DMA wrote its first io page: how many are reported. */
static unsigned int dirty_granules(struct fx *f, uint32_t dhwpt, uint64_t base)
{
	uint8_t bit = 1, bm[64] = {0};
	unsigned int n = 0;
	uint64_t nr = 0;

	assert_int_equal(set_dirty(f, dhwpt, IOMMU_HWPT_DIRTY_TRACKING_ENABLE),
			 0);
	assert_int_equal(mark_dirty(f, dhwpt, base, 2048, 2048, &bit, &nr), 0);
	assert_int_equal(nr, 1);
	assert_int_equal(get_bitmap(f, dhwpt, base, 1UL << 20, 2048, bm, 0), 0);
	for (unsigned int i = 0; i < sizeof(bm); i++)
		n += (unsigned int)__builtin_popcount(bm[i]);
	return n;
}

/*
 * Issue 15, the dirty-tracking _huge variants: a plain mock device
 * attaches to the HWPT a HUGE_IOVA device allocated (one mock IOMMU for
 * every device flag, 6.12's mock_iommu_device) and to the IOAS's auto
 * domain that device got; the page sizes are the allocating device's (a
 * 2 MiB-backed mapping is mapped in 1 MiB io pages in the HUGE_IOVA
 * device's domains, whose dirty bits then cover a whole 1 MiB, and in
 * 2048-byte ones in a plain device's); a NO_DIRTY device attaches to the
 * same auto domain but not to a HWPT allocated with DIRTY_TRACKING
 * (-EINVAL, mock_domain_nop_attach).
 */
static void test_mock_domain_cross_flags(void **state)
{
	struct fx *f = *state;
	uint32_t ioas = test_ioas_alloc(f->fd), stdev = 0, hwpt = 0, idev = 0;
	uint32_t stdev2 = 0, hwpt2 = 0, idev2 = 0, dhwpt = 0, phwpt = 0;
	const uint64_t base = IOMMU_TEST_MOCK_APERTURE_START, len = 2UL << 20;
	void *va;

	assert_int_equal(
		mm_mmap(f->mm, len, MM_MAP_HUGE | MM_MAP_POPULATE, &va), 0);
	assert_int_equal(map_fixed(f, ioas, va, len, base, RW), 0);
	assert_int_equal(mock_domain(f, ioas, IOMMU_TEST_MOCK_DEV_HUGE_IOVA,
				     true, &stdev, &hwpt, &idev),
			 0);
	assert_int_equal(hwpt_alloc(f, idev, ioas,
				    IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &dhwpt),
			 0);
	assert_int_equal(
		mock_domain(f, dhwpt, 0, false, &stdev2, &hwpt2, &idev2), 0);
	assert_int_equal(hwpt2, dhwpt);
	assert_int_equal(check_map(f, dhwpt, base, va, len), 0);
	assert_int_equal(dirty_granules(f, dhwpt, base), 512);
	/* a domain allocated for the plain device: 2048-byte io pages */
	assert_int_equal(hwpt_alloc(f, idev2, ioas,
				    IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &phwpt),
			 0);
	assert_int_equal(dirty_granules(f, phwpt, base), 1);
	assert_int_equal(destroy(f, stdev2), 0);
	assert_int_equal(destroy(f, phwpt), 0);

	/* the auto domain is the HUGE_IOVA device's; the others take it */
	assert_int_equal(
		mock_domain(f, ioas, 0, false, &stdev2, &hwpt2, &idev2), 0);
	assert_int_equal(hwpt2, hwpt);
	assert_int_equal(destroy(f, stdev2), 0);
	assert_int_equal(mock_domain(f, dhwpt, IOMMU_TEST_MOCK_DEV_NO_DIRTY,
				     true, &stdev2, &hwpt2, &idev2),
			 -EINVAL);
	assert_int_equal(mock_domain(f, ioas, IOMMU_TEST_MOCK_DEV_NO_DIRTY,
				     true, &stdev2, &hwpt2, &idev2),
			 0);
	assert_int_equal(hwpt2, hwpt);
	assert_int_equal(check_map(f, hwpt, base, va, len), 0);
	assert_int_equal(destroy(f, stdev2), 0);
	assert_int_equal(destroy(f, dhwpt), 0);
	assert_int_equal(destroy(f, stdev), 0);
	unmap(f, ioas, base, len);
	assert_int_equal(mm_munmap(f->mm, va, len), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_dispatch),
		T(test_check_refs),
		T(test_temp_memory_limit),
		T(test_mock_domain),
		T(test_mock_domain_flags),
		T(test_mock_domain_replace),
		T(test_mock_domain_close),
		T(test_add_reserved),
		T(test_mock_domain_shared_hwpt),
		T(test_access_pages),
		T(test_access_rw),
		T(test_access_replace_ioas),
		T(test_mock_hw_info),
		T(test_dirty_alloc),
		T(test_dirty_set_tracking),
		T(test_dirty_bitmap),
		T(test_dirty_bitmap_chunks),
		T(test_mock_domain_cross_flags),
	};

	return test_run("iommufd_mock", tests, ARRAY_SIZE_T(tests));
}
