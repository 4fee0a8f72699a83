/* SPDX-License-Identifier: MIT */
/*
 * The iommufd uAPI (/dev/iommu) of Linux 6.12: the system's
 * <linux/iommufd.h> when it has one, otherwise the project's own
 * definitions below, written from the ABI (ioctl numbers, struct layouts
 * and flag values; the layouts are checked by the static assertions at
 * the end, whichever header supplied them).  Debian 12's linux-libc-dev
 * (6.1) has no <linux/iommufd.h>.
 *
 * Every command is _IO(';', 0x80 + n) and takes one struct whose first
 * u32 is its size; the kernel reads min(size, sizeof) bytes and requires
 * the rest of a larger struct to be zero (copy_struct_from_user).
 *
 * Only 6.12's ABI is here: the newer fields Debian's 6.12 stable
 * selftests use (iommu_hw_info's in_data_type, IOMMU_HW_INFO_TYPE_DEFAULT,
 * ARM SMMUv3 data types) belong to the test harness, not to this header.
 */
#ifndef UIOMMU_IOMMUFD_IOMMUFD_UAPI_H
#define UIOMMU_IOMMUFD_IOMMUFD_UAPI_H

#include <stddef.h>
#include <linux/ioctl.h>
#include <linux/types.h>

#if defined(__has_include) && __has_include(<linux/iommufd.h>) &&          \
	!defined(UIOMMU_OWN_IOMMUFD_UAPI)
#include <linux/iommufd.h>
#else

#define IOMMUFD_TYPE	       (';')

/* Command numbers: the ioctl's nr, from 0x80 on. */
enum {
	IOMMUFD_CMD_BASE = 0x80,
	IOMMUFD_CMD_DESTROY = 0x80,
	IOMMUFD_CMD_IOAS_ALLOC = 0x81,
	IOMMUFD_CMD_IOAS_ALLOW_IOVAS = 0x82,
	IOMMUFD_CMD_IOAS_COPY = 0x83,
	IOMMUFD_CMD_IOAS_IOVA_RANGES = 0x84,
	IOMMUFD_CMD_IOAS_MAP = 0x85,
	IOMMUFD_CMD_IOAS_UNMAP = 0x86,
	IOMMUFD_CMD_OPTION = 0x87,
	IOMMUFD_CMD_VFIO_IOAS = 0x88,
	IOMMUFD_CMD_HWPT_ALLOC = 0x89,
	IOMMUFD_CMD_GET_HW_INFO = 0x8a,
	IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING = 0x8b,
	IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP = 0x8c,
	IOMMUFD_CMD_HWPT_INVALIDATE = 0x8d,
	IOMMUFD_CMD_FAULT_QUEUE_ALLOC = 0x8e,
};

/* IOMMU_DESTROY: drop the object called id. */
struct iommu_destroy {
	__u32 size;
	__u32 id;
};
#define IOMMU_DESTROY	       _IO(IOMMUFD_TYPE, IOMMUFD_CMD_DESTROY)

/* IOMMU_IOAS_ALLOC: a new, empty I/O address space; its id comes back. */
struct iommu_ioas_alloc {
	__u32 size;
	__u32 flags;
	__u32 out_ioas_id;
};
#define IOMMU_IOAS_ALLOC       _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_ALLOC)

/* One inclusive range of IOVA, [start, last]. */
struct iommu_iova_range {
	__aligned_u64 start;
	__aligned_u64 last;
};

/*
 * IOMMU_IOAS_IOVA_RANGES: the ranges a map may use now; allowed_iovas
 * points at num_iovas entries (num_iovas is set to the count needed).
 */
struct iommu_ioas_iova_ranges {
	__u32 size;
	__u32 ioas_id;
	__u32 num_iovas;
	__u32 __reserved;
	__aligned_u64 allowed_iovas;
	__aligned_u64 out_iova_alignment;
};
#define IOMMU_IOAS_IOVA_RANGES _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_IOVA_RANGES)

/* IOMMU_IOAS_ALLOW_IOVAS: restrict allocated IOVAs to these ranges. */
struct iommu_ioas_allow_iovas {
	__u32 size;
	__u32 ioas_id;
	__u32 num_iovas;
	__u32 __reserved;
	__aligned_u64 allowed_iovas;
};
#define IOMMU_IOAS_ALLOW_IOVAS _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_ALLOW_IOVAS)

enum iommufd_ioas_map_flags {
	IOMMU_IOAS_MAP_FIXED_IOVA = 1 << 0,
	IOMMU_IOAS_MAP_WRITEABLE = 1 << 1,
	IOMMU_IOAS_MAP_READABLE = 1 << 2,
};

/* IOMMU_IOAS_MAP: map user memory [user_va, +length) at iova. */
struct iommu_ioas_map {
	__u32 size;
	__u32 flags;
	__u32 ioas_id;
	__u32 __reserved;
	__aligned_u64 user_va;
	__aligned_u64 length;
	__aligned_u64 iova;
};
#define IOMMU_IOAS_MAP	       _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_MAP)

/* IOMMU_IOAS_COPY: map the pages behind src_iova again in dst_ioas. */
struct iommu_ioas_copy {
	__u32 size;
	__u32 flags;
	__u32 dst_ioas_id;
	__u32 src_ioas_id;
	__aligned_u64 length;
	__aligned_u64 dst_iova;
	__aligned_u64 src_iova;
};
#define IOMMU_IOAS_COPY	       _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_COPY)

/* IOMMU_IOAS_UNMAP: length comes back as the bytes unmapped. */
struct iommu_ioas_unmap {
	__u32 size;
	__u32 ioas_id;
	__aligned_u64 iova;
	__aligned_u64 length;
};
#define IOMMU_IOAS_UNMAP       _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_UNMAP)

enum iommufd_option {
	IOMMU_OPTION_RLIMIT_MODE = 0,
	IOMMU_OPTION_HUGE_PAGES = 1,
};

enum iommufd_option_ops {
	IOMMU_OPTION_OP_SET = 0,
	IOMMU_OPTION_OP_GET = 1,
};

/* IOMMU_OPTION: set or get one option of the context or of an object. */
struct iommu_option {
	__u32 size;
	__u32 option_id;
	__u16 op;
	__u16 __reserved;
	__u32 object_id;
	__aligned_u64 val64;
};
#define IOMMU_OPTION	       _IO(IOMMUFD_TYPE, IOMMUFD_CMD_OPTION)

enum iommufd_vfio_ioas_op {
	IOMMU_VFIO_IOAS_GET = 0,
	IOMMU_VFIO_IOAS_SET = 1,
	IOMMU_VFIO_IOAS_CLEAR = 2,
};

/* IOMMU_VFIO_IOAS: the IOAS the compat container (/dev/vfio/vfio) uses. */
struct iommu_vfio_ioas {
	__u32 size;
	__u32 ioas_id;
	__u16 op;
	__u16 __reserved;
};
#define IOMMU_VFIO_IOAS	       _IO(IOMMUFD_TYPE, IOMMUFD_CMD_VFIO_IOAS)

enum iommufd_hwpt_alloc_flags {
	IOMMU_HWPT_ALLOC_NEST_PARENT = 1 << 0,
	IOMMU_HWPT_ALLOC_DIRTY_TRACKING = 1 << 1,
	IOMMU_HWPT_FAULT_ID_VALID = 1 << 2,
};

enum iommu_hwpt_vtd_s1_flags {
	IOMMU_VTD_S1_SRE = 1 << 0,
	IOMMU_VTD_S1_EAFE = 1 << 1,
	IOMMU_VTD_S1_WPE = 1 << 2,
};

/* Intel VT-d stage-1 page table of a nested HWPT. */
struct iommu_hwpt_vtd_s1 {
	__aligned_u64 flags;
	__aligned_u64 pgtbl_addr;
	__u32 addr_width;
	__u32 __reserved;
};

enum iommu_hwpt_data_type {
	IOMMU_HWPT_DATA_NONE = 0,
	IOMMU_HWPT_DATA_VTD_S1 = 1,
};

/*
 * IOMMU_HWPT_ALLOC: a HW page table for dev_id over pt_id (an IOAS: a
 * paging HWPT; a NEST_PARENT HWPT with data: a nested one).
 */
struct iommu_hwpt_alloc {
	__u32 size;
	__u32 flags;
	__u32 dev_id;
	__u32 pt_id;
	__u32 out_hwpt_id;
	__u32 __reserved;
	__u32 data_type;
	__u32 data_len;
	__aligned_u64 data_uptr;
	__u32 fault_id;
	__u32 __reserved2;
};
#define IOMMU_HWPT_ALLOC       _IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_ALLOC)

enum iommu_hw_info_vtd_flags {
	IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17 = 1 << 0,
};

/* VT-d's registers as IOMMU_GET_HW_INFO reports them. */
struct iommu_hw_info_vtd {
	__u32 flags;
	__u32 __reserved;
	__aligned_u64 cap_reg;
	__aligned_u64 ecap_reg;
};

enum iommu_hw_info_type {
	IOMMU_HW_INFO_TYPE_NONE = 0,
	IOMMU_HW_INFO_TYPE_INTEL_VTD = 1,
};

enum iommufd_hw_capabilities {
	IOMMU_HW_CAP_DIRTY_TRACKING = 1 << 0,
	IOMMU_HW_CAP_PCI_PASID_EXEC = 1 << 1,
	IOMMU_HW_CAP_PCI_PASID_PRIV = 1 << 2,
};

/* IOMMU_GET_HW_INFO: what the IOMMU behind dev_id is and can do. */
struct iommu_hw_info {
	__u32 size;
	__u32 flags;
	__u32 dev_id;
	__u32 data_len;
	__aligned_u64 data_uptr;
	__u32 out_data_type;
	__u8 out_max_pasid_log2;
	__u8 __reserved[3];
	__aligned_u64 out_capabilities;
};
#define IOMMU_GET_HW_INFO      _IO(IOMMUFD_TYPE, IOMMUFD_CMD_GET_HW_INFO)

enum iommufd_hwpt_set_dirty_tracking_flags {
	IOMMU_HWPT_DIRTY_TRACKING_ENABLE = 1,
};

/* IOMMU_HWPT_SET_DIRTY_TRACKING: start or stop dirty tracking. */
struct iommu_hwpt_set_dirty_tracking {
	__u32 size;
	__u32 flags;
	__u32 hwpt_id;
	__u32 __reserved;
};
#define IOMMU_HWPT_SET_DIRTY_TRACKING \
	_IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING)

enum iommufd_hwpt_get_dirty_bitmap_flags {
	IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR = 1,
};

/* IOMMU_HWPT_GET_DIRTY_BITMAP: one bit per page_size of [iova, +length). */
struct iommu_hwpt_get_dirty_bitmap {
	__u32 size;
	__u32 hwpt_id;
	__u32 flags;
	__u32 __reserved;
	__aligned_u64 iova;
	__aligned_u64 length;
	__aligned_u64 page_size;
	__aligned_u64 data;
};
#define IOMMU_HWPT_GET_DIRTY_BITMAP \
	_IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP)

enum iommu_hwpt_invalidate_data_type {
	IOMMU_HWPT_INVALIDATE_DATA_VTD_S1 = 0,
};

enum iommu_hwpt_vtd_s1_invalidate_flags {
	IOMMU_VTD_INV_FLAGS_LEAF = 1 << 0,
};

/* One VT-d stage-1 invalidation request. */
struct iommu_hwpt_vtd_s1_invalidate {
	__aligned_u64 addr;
	__aligned_u64 npages;
	__u32 flags;
	__u32 __reserved;
};

/*
 * IOMMU_HWPT_INVALIDATE: entry_num requests of entry_len bytes each at
 * data_uptr; entry_num comes back as the count handled.
 */
struct iommu_hwpt_invalidate {
	__u32 size;
	__u32 hwpt_id;
	__aligned_u64 data_uptr;
	__u32 data_type;
	__u32 entry_len;
	__u32 entry_num;
	__u32 __reserved;
};
#define IOMMU_HWPT_INVALIDATE	_IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_INVALIDATE)

enum iommu_hwpt_pgfault_flags {
	IOMMU_PGFAULT_FLAGS_PASID_VALID = 1 << 0,
	IOMMU_PGFAULT_FLAGS_LAST_PAGE = 1 << 1,
};

enum iommu_hwpt_pgfault_perm {
	IOMMU_PGFAULT_PERM_READ = 1 << 0,
	IOMMU_PGFAULT_PERM_WRITE = 1 << 1,
	IOMMU_PGFAULT_PERM_EXEC = 1 << 2,
	IOMMU_PGFAULT_PERM_PRIV = 1 << 3,
};

/* One page fault as read(2) of a fault fd returns it. */
struct iommu_hwpt_pgfault {
	__u32 flags;
	__u32 dev_id;
	__u32 pasid;
	__u32 grpid;
	__u32 perm;
	__u32 __reserved;
	__aligned_u64 addr;
	__u32 length;
	__u32 cookie;
};

enum iommufd_page_response_code {
	IOMMUFD_PAGE_RESP_SUCCESS = 0,
	IOMMUFD_PAGE_RESP_INVALID = 1,
};

/* One answer as write(2) to a fault fd takes it. */
struct iommu_hwpt_page_response {
	__u32 cookie;
	__u32 code;
};

/* IOMMU_FAULT_QUEUE_ALLOC: a fault object and its fd. */
struct iommu_fault_alloc {
	__u32 size;
	__u32 flags;
	__u32 out_fault_id;
	__u32 out_fault_fd;
};
#define IOMMU_FAULT_QUEUE_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_FAULT_QUEUE_ALLOC)

#endif /* !<linux/iommufd.h> */

/*
 * The layouts of 6.12's ABI, checked against whichever header is in use
 * (sizes and the offsets of the last field; from the kernel's uAPI).
 */
#define IOMMUFD_UAPI_CHECK(type, size_, last, off)                   \
	_Static_assert(sizeof(struct type) == (size_) &&             \
			       offsetof(struct type, last) == (off), \
		       #type " layout")
IOMMUFD_UAPI_CHECK(iommu_destroy, 8, id, 4);
IOMMUFD_UAPI_CHECK(iommu_ioas_alloc, 12, out_ioas_id, 8);
IOMMUFD_UAPI_CHECK(iommu_iova_range, 16, last, 8);
IOMMUFD_UAPI_CHECK(iommu_ioas_iova_ranges, 32, out_iova_alignment, 24);
IOMMUFD_UAPI_CHECK(iommu_ioas_allow_iovas, 24, allowed_iovas, 16);
IOMMUFD_UAPI_CHECK(iommu_ioas_map, 40, iova, 32);
IOMMUFD_UAPI_CHECK(iommu_ioas_copy, 40, src_iova, 32);
IOMMUFD_UAPI_CHECK(iommu_ioas_unmap, 24, length, 16);
IOMMUFD_UAPI_CHECK(iommu_option, 24, val64, 16);
IOMMUFD_UAPI_CHECK(iommu_vfio_ioas, 12, __reserved, 10);
IOMMUFD_UAPI_CHECK(iommu_hwpt_vtd_s1, 24, __reserved, 20);
IOMMUFD_UAPI_CHECK(iommu_hwpt_alloc, 48, __reserved2, 44);
IOMMUFD_UAPI_CHECK(iommu_hw_info_vtd, 24, ecap_reg, 16);
IOMMUFD_UAPI_CHECK(iommu_hw_info, 40, out_capabilities, 32);
IOMMUFD_UAPI_CHECK(iommu_hwpt_set_dirty_tracking, 16, __reserved, 12);
IOMMUFD_UAPI_CHECK(iommu_hwpt_get_dirty_bitmap, 48, data, 40);
IOMMUFD_UAPI_CHECK(iommu_hwpt_vtd_s1_invalidate, 24, __reserved, 20);
IOMMUFD_UAPI_CHECK(iommu_hwpt_invalidate, 32, __reserved, 28);
IOMMUFD_UAPI_CHECK(iommu_hwpt_pgfault, 40, cookie, 36);
IOMMUFD_UAPI_CHECK(iommu_hwpt_page_response, 8, code, 4);
IOMMUFD_UAPI_CHECK(iommu_fault_alloc, 16, out_fault_fd, 12);
_Static_assert(offsetof(struct iommu_hw_info, out_data_type) == 24 &&
		       offsetof(struct iommu_hw_info, out_max_pasid_log2) == 28,
	       "iommu_hw_info layout");
_Static_assert(offsetof(struct iommu_hwpt_alloc, data_uptr) == 32 &&
		       offsetof(struct iommu_hwpt_alloc, fault_id) == 40,
	       "iommu_hwpt_alloc layout");
_Static_assert(offsetof(struct iommu_ioas_unmap, iova) == 8, "iommu_ioas_unmap "
							     "layout");
_Static_assert(IOMMU_IOAS_MAP == 0x3b85 && IOMMU_FAULT_QUEUE_ALLOC == 0x3b8e,
	       "iommufd ioctl numbers");
#undef IOMMUFD_UAPI_CHECK

#endif /* UIOMMU_IOMMUFD_IOMMUFD_UAPI_H */
