/* SPDX-License-Identifier: MIT */
/*
 * uiommu IOMMU core: devices, groups, domains, map/unmap with page-size
 * selection, IOTLB gather and sync, reserved regions, device features and
 * I/O page fault reporting with page responses.
 *
 * As in the kernel, the core is generic and an IOMMU driver fills in
 * struct iommu_ops (src/iommu/arm_smmu_v3.c drives the emulated SMMU).  A
 * device is probed onto an IOMMU instance, lands in a group, and is attached
 * to one domain at a time.  Domains have the kernel's types; whether a
 * domain invalidates strictly is fixed when it is allocated: UNMANAGED
 * domains (the ones VFIO uses) are always strict, DMA_FQ domains are lazy.
 *
 * Errors are negative errno values.  A failed call changes nothing.
 */
#ifndef UIOMMU_IOMMU_H
#define UIOMMU_IOMMU_H

#include <sys/queue.h>
#include <uiommu/base.h>
#include "mem/mem.h"
#include "pgtable/pgtable.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef uint64_t dma_addr_t;

struct iommu_device;
struct iommu_domain;
struct iommu_group;
struct device;

/* ---- domains ---------------------------------------------------------------- */

#define __IOMMU_DOMAIN_PAGING  (1u << 0) /* has page tables */
#define __IOMMU_DOMAIN_DMA_API (1u << 1) /* owned by the DMA API */
#define __IOMMU_DOMAIN_PT      (1u << 2) /* identity mapped */
#define __IOMMU_DOMAIN_DMA_FQ  (1u << 3) /* lazy: flush queue */
#define __IOMMU_DOMAIN_NESTED  (1u << 6) /* stage 1 over a parent's stage 2 */
/* uiommu: a paging domain at stage 2 that nested domains may sit on (the
 * kernel's IOMMU_HWPT_ALLOC_NEST_PARENT allocation flag) */
#define __IOMMU_DOMAIN_NEST_PARENT (1u << 7)
/* uiommu: asked of the driver's domain_alloc only (the kernel's
 * IOMMU_HWPT_ALLOC_DIRTY_TRACKING flag), never in a domain's type: the
 * paging domain must track dirty pages (domain->dirty_ops) */
#define __IOMMU_DOMAIN_DIRTY_TRACKING (1u << 8)

#define IOMMU_DOMAIN_BLOCKED   0u
#define IOMMU_DOMAIN_IDENTITY  __IOMMU_DOMAIN_PT
#define IOMMU_DOMAIN_UNMANAGED __IOMMU_DOMAIN_PAGING
#define IOMMU_DOMAIN_DMA       (__IOMMU_DOMAIN_PAGING | __IOMMU_DOMAIN_DMA_API)
#define IOMMU_DOMAIN_DMA_FQ \
	(__IOMMU_DOMAIN_PAGING | __IOMMU_DOMAIN_DMA_API | __IOMMU_DOMAIN_DMA_FQ)
#define IOMMU_DOMAIN_NESTED __IOMMU_DOMAIN_NESTED
#define IOMMU_DOMAIN_NEST_PARENT \
	(__IOMMU_DOMAIN_PAGING | __IOMMU_DOMAIN_NEST_PARENT)

/*
 * The guest's stage-1 context of a nested domain (what the never-merged
 * VFIO_IOMMU_SET_PASID_TABLE handed in, and iommufd's nested STE): the IPA
 * of its context descriptor table, 64-byte aligned, in guest memory that
 * the stage-2 parent maps, and its size, 2^cd_max descriptors (cd_max <=
 * IOMMU_NESTED_CD_MAX_LOG2; 0: one CD, used by DMA without a PASID).  The
 * guest owns the CDs and the stage-1 tables they point at, all IPAs.
 */
enum iommu_nested_s1_config {
	IOMMU_NESTED_S1_TRANSLATE = 0, /* stage 1 through cd_table */
	IOMMU_NESTED_S1_ABORT,	       /* the guest's STE aborts */
	IOMMU_NESTED_S1_BYPASS,	       /* stage 1 bypassed: stage 2 only */
};

struct iommu_nested_s1 {
	uint64_t cd_table;
	unsigned int cd_max;
	/* what the guest's STE asks for (iommufd's nested STE may abort or
	 * bypass stage 1; cd_table and cd_max then unused) */
	enum iommu_nested_s1_config config;
};

#define IOMMU_NESTED_CD_MAX_LOG2 20

struct iommu_domain_geometry {
	dma_addr_t aperture_start; /* first address that can be mapped */
	dma_addr_t aperture_end;   /* last address that can be mapped */
	bool force_aperture;
};

/* Domain-level fault handler (iommu_set_fault_handler), for unrecoverable
 * faults of any device attached to the domain. */
typedef int (*iommu_fault_handler_t)(struct iommu_domain *domain,
				     struct device *dev, unsigned long iova,
				     int flags, void *token);

/*
 * struct iommu_domain: immutable after allocation except where noted.
 * Drivers embed it in their own domain structure.
 */
struct iommu_domain {
	unsigned int type;
	const struct iommu_ops *ops;
	struct iommu_device *iommu;
	uint64_t pgsize_bitmap;
	struct iommu_domain_geometry geometry;
	bool strict; /* fixed at allocation, for the domain's lifetime */
	/* a nested domain's stage-2 parent */
	struct iommu_domain *parent;
	/* set once by the DMA layer (iommu_get_dma_cookie) */
	struct iommu_dma_cookie *iova_cookie;
	iommu_fault_handler_t handler;
	void *handler_token;
	/* the sanitizer's history of the IOVA space mapped into this domain
	 * (src/sanitizer): set by the domain's owner (VFIO type1, iommufd)
	 * before it attaches a device, or NULL */
	struct san_space *san_space;
	/* counters (atomics; exact in inline mode): iommu_map/unmap calls
	 * and bytes and flush-all requests, counted by the core; TLBI and
	 * CMD_SYNC commands issued for this domain, counted by the driver */
	_Atomic uint64_t nr_maps, nr_unmaps, nr_mapped_bytes, nr_unmapped_bytes,
		nr_flush_all;
	_Atomic uint64_t nr_tlbi, nr_syncs;
	_Atomic unsigned int attach_cnt;
	/* the driver's, set at allocation with __IOMMU_DOMAIN_DIRTY_TRACKING
	 * (immutable); NULL: the domain does not track dirty pages */
	const struct iommu_dirty_ops *dirty_ops;
	/* 0, or (set once, by the driver) the error of an invalidation that
	 * did not complete: the domain is broken, its DMA blocked, every
	 * later map refused (stricter than the kernel: docs/iommu.md) */
	_Atomic int error;
};

/* ---- capabilities and features --------------------------------------------- */

enum iommu_cap {
	IOMMU_CAP_CACHE_COHERENCY,	   /* IOMMU_CACHE is supported */
	IOMMU_CAP_NOEXEC,		   /* IOMMU_NOEXEC flag */
	IOMMU_CAP_ENFORCE_CACHE_COHERENCY, /* no-snoop can be blocked */
	IOMMU_CAP_DIRTY_TRACKING,	   /* domains can track dirty pages */
};

/* ---- dirty tracking (the kernel's iommu_dirty_ops) ---------------------------- */

/*
 * Where a driver's read_and_clear_dirty reports dirty ranges: the caller's
 * bitmap (opaque here: iommufd's struct iova_bitmap, marked through set;
 * NULL: nothing recorded) and an IOTLB gather that collects every range
 * reported, for the caller's iommu_iotlb_sync() after a clearing read
 * (NULL: none), as the kernel's struct iommu_dirty_bitmap.
 */
struct iova_bitmap;
struct iommu_dirty_bitmap {
	struct iova_bitmap *bitmap;
	void (*set)(struct iova_bitmap *bitmap, unsigned long iova,
		    size_t length);
	struct iommu_iotlb_gather *gather;
};

static inline void iommu_dirty_bitmap_init(struct iommu_dirty_bitmap *dirty,
					   struct iova_bitmap *bitmap,
					   void (*set)(struct iova_bitmap *,
						       unsigned long, size_t),
					   struct iommu_iotlb_gather *gather)
{
	if (gather)
		iommu_iotlb_gather_init(gather);
	dirty->bitmap = bitmap;
	dirty->set = set;
	dirty->gather = gather;
}

static inline void iommu_dirty_bitmap_record(struct iommu_dirty_bitmap *dirty,
					     unsigned long iova,
					     unsigned long length)
{
	if (dirty->bitmap && dirty->set)
		dirty->set(dirty->bitmap, iova, length);
	if (dirty->gather)
		iommu_iotlb_gather_add_range(dirty->gather, iova, length);
}

/* read_and_clear_dirty's flags: report without clearing */
#define IOMMU_DIRTY_NO_CLEAR (1ul << 0)

/*
 * A paging domain's dirty tracking: set_dirty_tracking starts or stops it;
 * read_and_clear_dirty reports the dirty ranges of [iova, iova + size)
 * (iommu_dirty_bitmap_record) and cleans them unless IOMMU_DIRTY_NO_CLEAR;
 * after a clearing read the caller syncs the gathered IOTLB range, so that
 * the next DMA write dirties again.  The caller keeps the range mapped.
 */
struct iommu_dirty_ops {
	int (*set_dirty_tracking)(struct iommu_domain *domain, bool enabled);
	int (*read_and_clear_dirty)(struct iommu_domain *domain,
				    unsigned long iova, size_t size,
				    unsigned long flags,
				    struct iommu_dirty_bitmap *dirty);
};

enum iommu_dev_features {
	IOMMU_DEV_FEAT_SVA,
	IOMMU_DEV_FEAT_IOPF,
};

/* ---- reserved regions ------------------------------------------------------ */

enum iommu_resv_type {
	IOMMU_RESV_DIRECT,   /* must be identity mapped */
	IOMMU_RESV_RESERVED, /* must never be mapped */
	IOMMU_RESV_MSI,	     /* hardware MSI doorbell */
	IOMMU_RESV_SW_MSI,   /* software-managed MSI window */
};

struct iommu_resv_region {
	dma_addr_t start;
	size_t length;
	int prot;
	enum iommu_resv_type type;
};

/* The software MSI window of ARM SMMUs, as the kernel reserves it. */
#define MSI_IOVA_BASE	0x8000000ULL
#define MSI_IOVA_LENGTH 0x100000ULL

#define IOMMU_MAX_RESV_REGIONS 8

/* ---- I/O page faults ---------------------------------------------------------- */

enum iommu_fault_type {
	IOMMU_FAULT_DMA_UNRECOV = 1, /* unrecoverable fault */
	IOMMU_FAULT_PAGE_REQ,	     /* page request fault */
};

enum iommu_fault_reason {
	IOMMU_FAULT_REASON_UNKNOWN = 0,
	IOMMU_FAULT_REASON_PASID_FETCH,
	IOMMU_FAULT_REASON_BAD_PASID_ENTRY,
	IOMMU_FAULT_REASON_PASID_INVALID,
	IOMMU_FAULT_REASON_WALK_EABT,
	IOMMU_FAULT_REASON_PTE_FETCH,
	IOMMU_FAULT_REASON_PERMISSION,
	IOMMU_FAULT_REASON_ACCESS,
	IOMMU_FAULT_REASON_OOR_ADDRESS,
};

#define IOMMU_FAULT_PERM_READ  (1u << 0)
#define IOMMU_FAULT_PERM_WRITE (1u << 1)
#define IOMMU_FAULT_PERM_EXEC  (1u << 2)
#define IOMMU_FAULT_PERM_PRIV  (1u << 3)

/* event.flags */
#define IOMMU_FAULT_UNRECOV_PASID_VALID	     (1u << 0)
#define IOMMU_FAULT_UNRECOV_ADDR_VALID	     (1u << 1)
#define IOMMU_FAULT_UNRECOV_FETCH_ADDR_VALID (1u << 2)
#define IOMMU_FAULT_UNRECOV_L2		     (1u << 3) /* stage-2 fault */

struct iommu_fault_unrecoverable {
	uint32_t reason;
	uint32_t flags;
	uint32_t pasid;
	uint32_t perm;
	uint64_t addr;
	uint64_t fetch_addr;
};

/* prm.flags */
#define IOMMU_FAULT_PAGE_REQUEST_PASID_VALID  (1u << 0)
#define IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE    (1u << 1)
#define IOMMU_FAULT_PAGE_REQUEST_PRIV_DATA    (1u << 2)
#define IOMMU_FAULT_PAGE_RESPONSE_NEEDS_PASID (1u << 3)
/* stage 2 of a nested translation (a stage-1 fault has neither L2 flag):
 * addr is then the IPA to fault in
 * (the output IPA, or that of the guest's table entry being fetched) */
#define IOMMU_FAULT_PAGE_REQUEST_L2 (1u << 4)

struct iommu_fault_page_request {
	uint32_t flags;
	uint32_t pasid;
	uint32_t grpid;
	uint32_t perm;
	uint64_t addr;
	uint64_t private_data[2];
};

struct iommu_fault {
	uint32_t type;
	uint32_t padding;
	union {
		struct iommu_fault_unrecoverable event;
		struct iommu_fault_page_request prm;
	};
};

enum iommu_page_response_code {
	IOMMU_PAGE_RESP_SUCCESS = 0,
	IOMMU_PAGE_RESP_INVALID,
	IOMMU_PAGE_RESP_FAILURE,
};

#define IOMMU_PAGE_RESP_PASID_VALID (1u << 0)

struct iommu_page_response {
	uint32_t flags;
	uint32_t pasid;
	uint32_t grpid;
	uint32_t code;
};

/*
 * Device fault handler flags (those of the IOPF-for-VFIO series): which
 * faults reach the handler.
 * FLAT (or no flag): every fault.  Otherwise a fault with the L2 flag
 * (IOMMU_FAULT_PAGE_REQUEST_L2 / IOMMU_FAULT_UNRECOV_L2: stage 2 of a
 * nested translation) is reported only with NESTED_L2, any other only with
 * NESTED_L1; iommu_report_device_fault() returns -ENODEV for a fault that
 * the flags filter out.
 */
#define FAULT_REPORT_FLAT      (1u << 0)
#define FAULT_REPORT_NESTED_L1 (1u << 1)
#define FAULT_REPORT_NESTED_L2 (1u << 2)

typedef int (*iommu_dev_fault_handler_t)(struct iommu_fault *fault, void *data);

/* ---- devices, groups, the driver --------------------------------------------- */

/*
 * struct device: the IOMMU core's view of a bus device that does DMA (the
 * kernel's struct device), as against struct endpoint, the hardware
 * requester the SMMU model translates for (src/hw/hw.h); the bus
 * (bus.h) creates the two together on one stream id.  name and sid are set
 * by its creator; the rest belongs to the core (guarded by the core's
 * lock).
 */
/* device->fw_flags: what firmware says of the device (the kernel reads
 * them from DT/IORT, e.g. "dma-can-stall") */
#define DEVICE_FW_CAN_STALL (1u << 0) /* its transactions may be stalled */
#define DEVICE_FW_PRI	    (1u << 1) /* it issues PCIe page requests */
#define DEVICE_FW_NO_SNOOP  (1u << 2) /* its DMA may bypass CPU caches */

struct device {
	char name[32];
	uint32_t sid;	       /* stream id on its IOMMU */
	unsigned int fw_flags; /* DEVICE_FW_* */
	uint64_t dma_mask;     /* addressable DMA space; 0: 48 bits */
	struct iommu_device *iommu;
	struct iommu_group *group;
	struct iommu_domain *domain; /* attached domain, or NULL */
	void *iommu_priv;	     /* the driver's per-device data */
	struct iommu_fault_param *fault_param;
	void *drvdata; /* the device driver's (e.g. vfio_device) */
	bool iopf_enabled;
	LIST_ENTRY(device) group_link;
};

/* The ops an IOMMU driver provides (src/iommu/arm_smmu_v3.c). */
struct iommu_ops {
	bool (*capable)(struct device *dev, enum iommu_cap cap);
	int (*probe_device)(struct device *dev);
	void (*release_device)(struct device *dev);
	int (*domain_alloc)(struct iommu_device *iommu, unsigned int type,
			    struct iommu_domain *parent,
			    struct iommu_domain **out);
	void (*domain_free)(struct iommu_domain *domain);
	int (*attach_dev)(struct iommu_domain *domain, struct device *dev);
	void (*detach_dev)(struct iommu_domain *domain, struct device *dev);
	int (*map_pages)(struct iommu_domain *domain, unsigned long iova,
			 phys_addr_t paddr, size_t pgsize, size_t pgcount,
			 int prot, size_t *mapped);
	size_t (*unmap_pages)(struct iommu_domain *domain, unsigned long iova,
			      size_t pgsize, size_t pgcount,
			      struct iommu_iotlb_gather *gather);
	void (*flush_iotlb_all)(struct iommu_domain *domain);
	void (*iotlb_sync)(struct iommu_domain *domain,
			   struct iommu_iotlb_gather *gather);
	phys_addr_t (*iova_to_phys)(struct iommu_domain *domain,
				    dma_addr_t iova);
	/* a nested domain over a NEST_PARENT domain of this driver, with the
	 * guest's stage-1 context (may be NULL: no nesting) */
	int (*domain_alloc_nested)(struct iommu_domain *parent,
				   const struct iommu_nested_s1 *s1,
				   struct iommu_domain **out);
	bool (*enforce_cache_coherency)(struct iommu_domain *domain);
	int (*dev_enable_feat)(struct device *dev, enum iommu_dev_features f);
	int (*dev_disable_feat)(struct device *dev, enum iommu_dev_features f);
	int (*page_response)(struct device *dev, struct iommu_fault *evt,
			     struct iommu_page_response *msg);
	void (*get_resv_regions)(struct device *dev,
				 struct iommu_resv_region *regions,
				 unsigned int *nr);
	uint64_t pgsize_bitmap;
};

/* An IOMMU instance, registered by its driver. */
struct iommu_device {
	const struct iommu_ops *ops;
	struct phys_mem *pm;
	void *priv; /* the driver's */
	char name[32];
};

int iommu_device_register(struct iommu_device *iommu);
void iommu_device_unregister(struct iommu_device *iommu);

/*
 * Probe a device behind an IOMMU: the driver sets it up and the core puts
 * it in a group.  Devices with the same group_id (non-zero) share a group,
 * as functions behind one non-ACS bridge do; 0 gives a group of its own.
 */
int iommu_probe_device(struct device *dev, struct iommu_device *iommu,
		       unsigned int group_id);
void iommu_release_device(struct device *dev);

struct iommu_group *iommu_group_get(struct device *dev);
int iommu_group_id(const struct iommu_group *group);
unsigned int iommu_group_device_count(struct iommu_group *group);
int iommu_group_for_each_dev(struct iommu_group *group, void *data,
			     int (*fn)(struct device *, void *));
struct iommu_group *iommu_group_by_id(int id);

bool device_iommu_capable(struct device *dev, enum iommu_cap cap);

/* ---- domains ------------------------------------------------------------------- */

/* Allocate a domain of a given type on the IOMMU of dev.  DMA_FQ falls back
 * to DMA (strict) when the driver cannot flush its whole IOTLB: strict
 * semantics apply and nothing breaks. */
int iommu_domain_alloc_type(struct device *dev, unsigned int type,
			    struct iommu_domain **out);
/* Unmanaged (VFIO) domain: iommu_domain_alloc(dev). */
struct iommu_domain *iommu_domain_alloc(struct device *dev);
/*
 * A stage-2 paging domain that nested domains may be allocated over (the
 * "nest parent"): map/unmap take IPAs (the guest's physical addresses) to
 * PAs; a device attached to it directly translates at stage 2 only.
 * -EOPNOTSUPP when the driver has no stage 2.
 */
int iommu_domain_alloc_nest_parent(struct device *dev,
				   struct iommu_domain **out);
/*
 * A nested domain: the guest's stage 1 (s1: its CD table, an IPA) over
 * parent's stage 2.  It has no page tables of its own (map/unmap -EINVAL);
 * iommu_flush_iotlb_all() on it invalidates the guest's stage-1 entries
 * (what a guest's TLBI would do).  -EINVAL: no s1, parent not a nest
 * parent of dev's IOMMU, a bad context; -EOPNOTSUPP: no nesting.  The
 * parent must outlive it.  iommu_domain_alloc_nested() is this without a
 * context, which is -EINVAL.
 */
int iommu_domain_alloc_nested_s1(struct device *dev,
				 struct iommu_domain *parent,
				 const struct iommu_nested_s1 *s1,
				 struct iommu_domain **out);
int iommu_domain_alloc_nested(struct device *dev, struct iommu_domain *parent,
			      struct iommu_domain **out);
/*
 * An unmanaged paging domain that tracks dirty pages (its dirty_ops set;
 * the kernel's domain_alloc_user with IOMMU_HWPT_ALLOC_DIRTY_TRACKING):
 * -EOPNOTSUPP unless dev's IOMMU has IOMMU_CAP_DIRTY_TRACKING.
 */
int iommu_domain_alloc_dirty(struct device *dev, struct iommu_domain **out);
void iommu_domain_free(struct iommu_domain *domain);

/* Attach every device of the group (-EBUSY if the group is attached
 * elsewhere); detach returns it to blocked. */
int iommu_attach_group(struct iommu_domain *domain, struct iommu_group *group);
void iommu_detach_group(struct iommu_domain *domain, struct iommu_group *group);
int iommu_attach_device(struct iommu_domain *domain, struct device *dev);
void iommu_detach_device(struct iommu_domain *domain, struct device *dev);
struct iommu_domain *iommu_get_domain_for_dev(struct device *dev);

/* Strictness, fixed at allocation (UNMANAGED domains are always strict). */
bool iommu_domain_is_strict(const struct iommu_domain *domain);
/* Nested query: 1 nested, 0 not, -ENODEV no domain. */
int iommu_domain_nesting(struct device *dev, int *nested);

void iommu_set_fault_handler(struct iommu_domain *domain,
			     iommu_fault_handler_t handler, void *token);
/* Report an unrecoverable fault to the domain handler (report_iommu_fault):
 * returns the handler's result, -ENOSYS when there is none. */
int report_iommu_fault(struct iommu_domain *domain, struct device *dev,
		       unsigned long iova, int flags);
/* The same to the domain dev is attached to now, looked up and reported
 * under its group's lock, so a concurrent detach cannot free it meanwhile
 * (IOMMU drivers' event interrupts); -ENOSYS when blocked or no handler.
 * The handler must not attach or detach dev's group. */
int report_iommu_fault_dev(struct device *dev, unsigned long iova, int flags);

/* ---- map / unmap ------------------------------------------------------------------- */

/*
 * Map [iova, iova + size) to paddr with prot (IOMMU_READ | IOMMU_WRITE |
 * IOMMU_CACHE | IOMMU_NOEXEC | IOMMU_MMIO), in the largest pages that the
 * domain's pgsize_bitmap, alignment and length allow.  -EINVAL when iova,
 * paddr or size are not aligned to the smallest page, size is 0, the range
 * wraps or leaves the aperture; -EEXIST when part is mapped; -ENOMEM.
 * Nothing stays mapped on failure.
 */
int iommu_map(struct iommu_domain *domain, unsigned long iova,
	      phys_addr_t paddr, size_t size, int prot);
/*
 * Unmap and invalidate (gather + iotlb_sync before returning).  Returns the
 * bytes unmapped, which may be more than asked for when the range starts a
 * larger page, and stops at the first hole: callers act on the size
 * returned.
 */
size_t iommu_unmap(struct iommu_domain *domain, unsigned long iova,
		   size_t size);
/* Unmap into a caller's gather; invalidation waits for iommu_iotlb_sync. */
size_t iommu_unmap_fast(struct iommu_domain *domain, unsigned long iova,
			size_t size, struct iommu_iotlb_gather *gather);
void iommu_iotlb_sync(struct iommu_domain *domain,
		      struct iommu_iotlb_gather *gather);
void iommu_flush_iotlb_all(struct iommu_domain *domain);
/*
 * A domain is broken once an invalidation of it could not be completed
 * (the command queue stuck, the SMMU disabled): the driver has blocked its
 * DMA, iommu_map() on it fails with that error (-EIO), and the unmaps,
 * which cannot fail in the kernel's API, leave it here for the caller to
 * check after its iommu_unmap / iommu_iotlb_sync: 0 or -EIO.
 */
int iommu_domain_error(struct iommu_domain *domain);
/* For drivers: mark it broken; true for the call that did (the first
 * error stays). */
bool iommu_domain_set_broken(struct iommu_domain *domain, int err);
phys_addr_t iommu_iova_to_phys(struct iommu_domain *domain, dma_addr_t iova);

/* Largest page for the next step of a map/unmap (exported for tests). */
size_t iommu_pgsize(uint64_t pgsize_bitmap, unsigned long iova,
		    phys_addr_t paddr, size_t size, size_t *count);

/* ---- reserved regions, features ------------------------------------------------------ */

/* The device's reserved regions (the driver's, e.g. the MSI window). */
int iommu_get_resv_regions(struct device *dev,
			   struct iommu_resv_region *regions, unsigned int max,
			   unsigned int *nr);

int iommu_dev_enable_feature(struct device *dev, enum iommu_dev_features feat);
int iommu_dev_disable_feature(struct device *dev, enum iommu_dev_features feat);

/* ---- device fault reporting (the IOPF-for-VFIO series' framework) ---------------------- */

/* One handler per device: -EBUSY if one is registered. */
int iommu_register_device_fault_handler(struct device *dev,
					iommu_dev_fault_handler_t handler,
					unsigned int flags, void *data);
/* flags = (flags & mask) | set, the handler unchanged; -EINVAL without a
 * handler. */
int iommu_update_device_fault_handler(struct device *dev, unsigned int mask,
				      unsigned int set);
/* -EBUSY while page requests are unanswered (the handler stays); -EINVAL
 * if none. */
int iommu_unregister_device_fault_handler(struct device *dev);
int iommu_get_device_fault_handler_flags(struct device *dev,
					 unsigned int *flags);
/*
 * Report a fault from the IOMMU driver.  Page requests are remembered until
 * answered with iommu_page_response().  Returns the handler's result, or
 * -ENODEV when no handler is registered.
 */
int iommu_report_device_fault(struct device *dev, struct iommu_fault *fault);
/* Answer a page request: -EINVAL when no such request is pending. */
int iommu_page_response(struct device *dev, struct iommu_page_response *msg);
unsigned int iommu_pending_page_requests(struct device *dev);
/*
 * Answer every page request still pending on dev with IOMMU_PAGE_RESP_INVALID
 * (its handler is going away and whoever was to answer never will: the
 * device must not wait on it), as later kernels do when a device leaves its
 * fault queue.  Returns how many were answered.
 */
unsigned int iommu_abort_page_requests(struct device *dev);

#ifdef __cplusplus
}
#endif
#endif /* UIOMMU_IOMMU_H */
