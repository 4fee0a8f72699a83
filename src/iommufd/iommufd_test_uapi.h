/* SPDX-License-Identifier: MIT */
/*
 * IOMMU_TEST_CMD, the test interface of /dev/iommu (Linux 6.12's
 * CONFIG_IOMMUFD_TEST; always built in here).  Our own definitions of the
 * ABI's facts: the command number, the op numbers, the struct layout.
 */
#ifndef UIOMMU_IOMMUFD_TEST_UAPI_H
#define UIOMMU_IOMMUFD_TEST_UAPI_H

#include <stdint.h>

#include "iommufd/iommufd_uapi.h"

/* every op shares one ioctl number; the op is in the struct */
#define IOMMU_TEST_CMD _IO(IOMMUFD_TYPE, IOMMUFD_CMD_BASE + 32)

enum {
	IOMMU_TEST_OP_ADD_RESERVED = 1,
	IOMMU_TEST_OP_MOCK_DOMAIN = 2,
	IOMMU_TEST_OP_MD_CHECK_MAP = 3,
	IOMMU_TEST_OP_MD_CHECK_REFS = 4,
	IOMMU_TEST_OP_CREATE_ACCESS = 5,
	IOMMU_TEST_OP_DESTROY_ACCESS_PAGES = 6,
	IOMMU_TEST_OP_ACCESS_PAGES = 7,
	IOMMU_TEST_OP_ACCESS_RW = 8,
	IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT = 9,
	IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE = 10,
	IOMMU_TEST_OP_ACCESS_REPLACE_IOAS = 11,
	IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS = 12,
	IOMMU_TEST_OP_DIRTY = 13,
	IOMMU_TEST_OP_MD_CHECK_IOTLB = 14,
	IOMMU_TEST_OP_TRIGGER_IOPF = 15,
};

/* the mock IOMMU's aperture */
#define IOMMU_TEST_MOCK_APERTURE_START (1UL << 24)
#define IOMMU_TEST_MOCK_APERTURE_LAST  ((1UL << 31) - 1)

/* MOCK_DOMAIN_FLAGS' dev_flags (PASID: the newer ABI's, Debian's tests) */
#define IOMMU_TEST_MOCK_DEV_NO_DIRTY  (1u << 0)
#define IOMMU_TEST_MOCK_DEV_HUGE_IOVA (1u << 1)
#define IOMMU_TEST_MOCK_DEV_PASID     (1u << 2)

/* CREATE_ACCESS flags */
#define IOMMU_TEST_ACCESS_CREATE_NEEDS_PIN_PAGES (1u << 0)
/* ACCESS_PAGES flags */
#define IOMMU_TEST_ACCESS_WRITE (1u << 0)
#define IOMMU_TEST_ACCESS_SYZ	(1u << 16)
/* ACCESS_RW flags */
#define IOMMU_TEST_ACCESS_RW_WRITE     (1u << 0)
#define IOMMU_TEST_ACCESS_RW_SLOW_PATH (1u << 2)
/* the most bytes ACCESS_PAGES / ACCESS_RW take (-ENOMEM past it) */
#define IOMMU_TEST_ACCESS_MAX (16u << 20)

/* GET_HW_INFO of a mock device: its type and data */
#define IOMMU_HW_INFO_TYPE_SELFTEST   0xfeedbeefu
#define IOMMU_HW_INFO_SELFTEST_REGVAL 0xdeadbeefu
struct iommu_test_hw_info {
	uint32_t flags;
	uint32_t test_reg;
};
/* a PASID-capable mock device's PASID width */
#define IOMMU_TEST_MOCK_PASID_WIDTH 20

/* the default of SET_TEMP_MEMORY_LIMIT's value, in bytes */
#define IOMMUFD_TEST_MEMORY_LIMIT_DEFAULT 65536u

/* IOMMU_HWPT_ALLOC of a mock nested HWPT: data type and data; the mock
 * nested domain's IOTLB, MOCK_NESTED_DOMAIN_IOTLB_NUM entries of the
 * given value, that MD_CHECK_IOTLB reads */
#define IOMMU_HWPT_DATA_SELFTEST 0xdeadu
#define IOMMU_TEST_IOTLB_DEFAULT 0xbadbeefu
struct iommu_hwpt_selftest {
	uint32_t iotlb;
};
#define MOCK_NESTED_DOMAIN_IOTLB_ID_MAX 3
#define MOCK_NESTED_DOMAIN_IOTLB_NUM	4

/* IOMMU_HWPT_INVALIDATE of a mock nested HWPT: one request per entry */
#define IOMMU_HWPT_INVALIDATE_DATA_SELFTEST	    0xdeadbeefu
#define IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID 0xdadbeefu
#define IOMMU_TEST_INVALIDATE_FLAG_ALL		    (1u << 0)
struct iommu_hwpt_invalidate_selftest {
	uint32_t flags;
	uint32_t iotlb_id; /* ignored with FLAG_ALL */
};

struct iommu_test_cmd {
	uint32_t size;
	uint32_t op;
	uint32_t id;
	uint32_t __reserved;
	union {
		struct {
			uint64_t start, length;
		} add_reserved;
		struct {
			uint32_t out_stdev_id, out_hwpt_id, out_idev_id;
			uint32_t dev_flags; /* MOCK_DOMAIN_FLAGS only */
		} mock_domain;
		struct {
			uint32_t pt_id;
		} mock_domain_replace;
		struct {
			uint64_t iova, length, uptr;
		} check_map;
		struct {
			uint64_t length, uptr;
			uint32_t refs;
		} check_refs;
		struct {
			uint32_t out_access_fd, flags;
		} create_access;
		struct {
			uint32_t access_pages_id;
		} destroy_access_pages;
		struct {
			uint32_t flags, out_access_pages_id;
			uint64_t iova, length, uptr;
		} access_pages;
		struct {
			uint64_t iova, length, uptr;
			uint32_t flags;
		} access_rw;
		struct {
			uint32_t limit;
		} memory_limit;
		struct {
			uint32_t ioas_id;
		} access_replace_ioas;
		struct {
			uint32_t flags;
			uint64_t iova, length, page_size, uptr, out_nr_dirty;
		} dirty;
		struct {
			uint32_t id, iotlb;
		} check_iotlb;
		struct {
			uint32_t dev_id, pasid, grpid, perm;
			uint64_t addr;
		} trigger_iopf;
	};
	uint32_t last;
};

_Static_assert(sizeof(struct iommu_test_cmd) == 72, "iommu_test_cmd ABI");

#endif /* UIOMMU_IOMMUFD_TEST_UAPI_H */
