/* SPDX-License-Identifier: MIT */
/*
 * uiommu VFIO: the type1 IOMMU backend of a container, in process.
 *
 * This is what drivers/vfio/vfio_iommu_type1.c is to the kernel: a container
 * (struct vfio_iommu) holds the user's DMA mappings (struct vfio_dma, one per
 * VFIO_IOMMU_MAP_DMA), the IOMMU domains its groups are attached to, and the
 * pages pinned for them.  The ioctl entry point takes the real <linux/vfio.h>
 * commands and structures; arg is a pointer in this process, read with
 * copy_from_user(), so a bad pointer gives -EFAULT as the system call would.
 * Every function returns a value >= 0 or a negative errno, the kernel's for
 * the same input; a failed call changes nothing.
 *
 * The fd front (container and group files, uiommu_open/uiommu_ioctl) sits
 * on top of this and lives elsewhere in src/vfio/.
 */
#ifndef UIOMMU_VFIO_H
#define UIOMMU_VFIO_H

#include <sys/queue.h>
#include <linux/vfio.h>
#include "iommu/iommu.h"

#ifdef __cplusplus
extern "C" {
#endif

struct vfio_iommu;

/* The kernel's module parameter: mappings a container may hold (65535). */
#define VFIO_DMA_ENTRY_LIMIT_DEFAULT 65535u
/* Pages vfio_pin_pages() takes at once (VFIO_PIN_PAGES_MAX_ENTRIES). */
#define VFIO_PIN_PAGES_MAX_ENTRIES 512
/* Largest dirty bitmap (bytes) GET_DIRTY_BITMAP accepts: INT_MAX pages. */
#define VFIO_DIRTY_BITMAP_PAGES_MAX ((uint64_t)0x7fffffff)
#define VFIO_DIRTY_BITMAP_BYTES(n)  ((((uint64_t)(n) + 63) / 64) * 8)
#define VFIO_DIRTY_BITMAP_SIZE_MAX \
	VFIO_DIRTY_BITMAP_BYTES(VFIO_DIRTY_BITMAP_PAGES_MAX)

/*
 * Set dma_entry_limit (the kernel's module parameter): containers opened
 * afterwards start with that many available mappings.
 */
void vfio_iommu_type1_set_dma_entry_limit(unsigned int limit);
/* dma_entry_limit now (what /sys/module/vfio_iommu_type1 shows). */
unsigned int vfio_iommu_type1_dma_entry_limit(void);

/*
 * Open a container backend on the address space mm.  type is
 * VFIO_TYPE1_IOMMU, VFIO_TYPE1v2_IOMMU or VFIO_TYPE1_NESTING_IOMMU (v2
 * whose domains are stage-2 "nest parents": the mappings are the guest's
 * IPA -> host memory, and vfio_iommu_type1_set_nested_s1() puts a group's
 * devices on a nested domain over them); -EINVAL otherwise.  Locked memory
 * is charged to mm.
 */
int vfio_iommu_type1_open(struct mm *mm, unsigned long type,
			  struct vfio_iommu **out);
/* Detach every group, remove every mapping, free the container. */
void vfio_iommu_type1_release(struct vfio_iommu *iommu);

/*
 * Attach an IOMMU-backed group: join an existing domain of the same IOMMU
 * with the same cache-coherency enforcement, or allocate a new UNMANAGED
 * (strict) domain and replay every mapping into it.  -EINVAL for a group
 * already attached or whose reserved regions or aperture conflict with
 * existing mappings; -EBUSY when the group is attached elsewhere or a
 * mapping's vaddr is invalid (VFIO_DMA_UNMAP_FLAG_VADDR) and would have to
 * be pinned; the errors of pinning and mapping.
 */
int vfio_iommu_type1_attach_group(struct vfio_iommu *iommu,
				  struct iommu_group *group);
/*
 * Attach an emulated group (a mediated device with no IOMMU of its own, the
 * kernel's VFIO_EMULATED_IOMMU): group is only a token; such a group's
 * driver sees memory through vfio_iommu_type1_pin_pages().
 */
int vfio_iommu_type1_attach_emulated_group(struct vfio_iommu *iommu,
					   struct iommu_group *group);
/* Detach either kind.  Detaching the last IOMMU-backed group with no
 * emulated group left removes every mapping, as the kernel does. */
void vfio_iommu_type1_detach_group(struct vfio_iommu *iommu,
				   struct iommu_group *group);

/*
 * VFIO_CHECK_EXTENSION, VFIO_IOMMU_GET_INFO, VFIO_IOMMU_MAP_DMA,
 * VFIO_IOMMU_UNMAP_DMA, VFIO_IOMMU_DIRTY_PAGES; -ENOTTY for anything else.
 * VFIO_DMA_CC_IOMMU is 1 when no domain of the container is non-coherent
 * (the IOMMU enforces cache coherency for all its DMA; also with no domain),
 * 0 otherwise.  iommu may be NULL for VFIO_CHECK_EXTENSION only: the
 * answers before VFIO_SET_IOMMU (VFIO_UPDATE_VADDR and VFIO_DMA_CC_IOMMU
 * are then 0).  Where several checks fail the errno is that of 6.1's first
 * (docs/vfio.md, "The order of checks").  UNMAP_DMA of a mapping whose
 * driver pins survive the dma_unmap callbacks fails with -EBUSY after its
 * retries (the kernel BUG()s), naming the device in a diagnostic and in
 * stats.busy_device.
 */
long vfio_iommu_type1_ioctl(struct vfio_iommu *iommu, unsigned int cmd,
			    unsigned long arg);

/* ---- pinning drivers (mediated devices) ----------------------------------- */

/*
 * A driver that pins pages registers itself (the kernel's
 * vfio_iommu_type1_register_device): pinning needs one registered, and
 * VFIO_IOMMU_UNMAP_DMA of a mapping with pinned pages calls every
 * registered dma_unmap() with the mapping's whole range, without the
 * container lock, and expects the pins in it to be dropped (the series that replaced the DMA unmap notifier with this callback).
 */
struct vfio_iommu_device;

struct vfio_iommu_device_ops {
	void (*dma_unmap)(struct vfio_iommu_device *vdev, uint64_t iova,
			  uint64_t length, void *priv);
	/*
	 * Optional (vfio_device_ops.transfer of the VFIO IOPF series' patch 8): take a stage-1
	 * (L1) fault of vdev->dev, whose domain is nested, to the guest that
	 * owns stage 1.  Called from the fault handler (the SMMU's interrupt
	 * context) with the device list locked: it must not register or
	 * unregister devices; it may answer a page request at once with
	 * iommu_page_response(), or later.  Its result is the handler's; a
	 * device without it gets -EOPNOTSUPP.
	 */
	int (*transfer)(struct iommu_fault *fault, void *priv);
};

struct vfio_iommu_device {
	const struct vfio_iommu_device_ops *ops;
	void *priv;
	/* private to type1 (device_list_lock) */
	LIST_ENTRY(vfio_iommu_device) link;
	bool registered;
	/* set by the driver before registering: named in diagnostics (may
	 * stay NULL) */
	const char *name;
	/* set by the driver before registering (may stay NULL): the device
	 * whose stage-1 faults ops->transfer takes */
	struct device *dev;
	/* private to type1: the container registered on (device_list_lock;
	 * stable while registered) and the page references this device holds
	 * through vfio_iommu_type1_device_pin_pages (the container's lock) */
	struct vfio_iommu *iommu;
	uint64_t pinned;
};

int vfio_iommu_type1_register_device(struct vfio_iommu *iommu,
				     struct vfio_iommu_device *vdev);
void vfio_iommu_type1_unregister_device(struct vfio_iommu *iommu,
					struct vfio_iommu_device *vdev);

/*
 * Pin npage pages from iova for a group's driver (vfio_pin_pages): phys[i]
 * receives each page's physical address.  Returns npage, or: -EINVAL (no
 * iommu/phys, npage <= 0, iova unaligned, no device registered, a page
 * outside every mapping), -E2BIG (npage > VFIO_PIN_PAGES_MAX_ENTRIES),
 * -EACCES (v1 container), -EPERM (prot not allowed by the mapping), -EBUSY
 * (a vaddr is invalid: pins fail rather than wait), -ENOMEM (locked-memory
 * limit), -EFAULT (the user's page is gone).  A page pinned twice holds
 * two references; it is charged to locked_vm only when no IOMMU-backed
 * domain already pinned it.  All or nothing.
 */
int vfio_iommu_type1_pin_pages(struct vfio_iommu *iommu,
			       struct iommu_group *group, dma_addr_t iova,
			       int npage, int prot, phys_addr_t *phys);
/*
 * Drop one reference on each of npage pages from iova; pages never pinned
 * are left alone.  Returns the pages processed (stopping at the first one
 * outside every mapping), or -EINVAL when that is the very first page or
 * the arguments are bad, -EACCES for v1.
 */
int vfio_iommu_type1_unpin_pages(struct vfio_iommu *iommu, dma_addr_t iova,
				 int npage);

/*
 * The same for a registered device (the kernel's vfio_pin_pages(vdev, ...)):
 * each page remembers which devices hold references on it, and how many, so
 * that two devices pinning one page each hold their own reference and a
 * device unpinning a page it does not hold changes nothing, even when
 * another device holds it (the ap driver's unpin of the first
 * IOVA cannot drop another driver's pin).  The pins of
 * vfio_iommu_type1_pin_pages() belong to an anonymous holder that only
 * vfio_iommu_type1_unpin_pages() releases.  vdev must be registered on
 * iommu (-EINVAL otherwise); errors as vfio_iommu_type1_pin_pages(),
 * -ENOMEM also for the holder record.  Unregistering a device drops every
 * reference it still holds (with a warning).
 */
int vfio_iommu_type1_device_pin_pages(struct vfio_iommu *iommu,
				      struct vfio_iommu_device *vdev,
				      struct iommu_group *group,
				      dma_addr_t iova, int npage, int prot,
				      phys_addr_t *phys);
int vfio_iommu_type1_device_unpin_pages(struct vfio_iommu *iommu,
					struct vfio_iommu_device *vdev,
					dma_addr_t iova, int npage);
/* Page references vdev holds in iommu (0 when it is not registered). */
uint64_t vfio_iommu_type1_device_pinned(struct vfio_iommu *iommu,
					struct vfio_iommu_device *vdev);

/* ---- non-coherent domains ---------------------------------------- */

/*
 * A domain whose IOMMU cannot enforce cache coherency (its devices may do
 * no-snoop DMA, reading memory behind the CPU caches) is "non-coherent".
 * type1 maps into such a domain without IOMMU_CACHE (the device sees
 * Normal-NC memory) and keeps memory behind the caches in step with the CPU:
 * pages are written back (cache_flush_phys, the kernel's
 * arch_flush_cache_phys) after pinning and before their first mapping into
 * a non-coherent domain, and again before they are unpinned.
 *
 * Debug switch: with flushing off the flushes are skipped (the bookkeeping
 * stays); scenarios use it to show what the device then reads.  On by
 * default.
 */
void vfio_iommu_type1_set_cache_flush(struct vfio_iommu *iommu, bool enabled);

/*
 * Test hook: called, under the container lock, for each step the backend
 * takes on IOMMU-pinned pages, in order: PIN (pa, len), FLUSH (pa, len),
 * MAP (domain, iova, pa, len), UNMAP (domain, iova, len; after its IOTLB
 * sync), UNPIN (pa, len).  The callback must not call into the container.
 * NULL removes it.
 */
enum vfio_trace_op {
	VFIO_TRACE_PIN,
	VFIO_TRACE_FLUSH,
	VFIO_TRACE_MAP,
	VFIO_TRACE_UNMAP,
	VFIO_TRACE_UNPIN,
	/* IOPF lifecycle of one device: its lookup record
	 * added, fault reporting enabled (feature + handler), reporting
	 * disabled, lookup removed.  pa carries the struct device pointer. */
	VFIO_TRACE_IOPF_LOOKUP_ADD,
	VFIO_TRACE_IOPF_ENABLE,
	VFIO_TRACE_IOPF_DISABLE,
	VFIO_TRACE_IOPF_LOOKUP_DEL,
	/* the IOPF handler took a page request (iova: its address, pa: the
	 * struct device pointer), before it looks at the container: called
	 * without any container lock, and the callback may block (tests hold
	 * a handler in flight there) */
	VFIO_TRACE_IOPF_FAULT,
};

struct vfio_trace_event {
	enum vfio_trace_op op;
	struct iommu_domain *domain; /* MAP, UNMAP */
	dma_addr_t iova;	     /* MAP, UNMAP */
	phys_addr_t pa;		     /* PIN, FLUSH, MAP, UNPIN */
	uint64_t len;
	int prot; /* MAP: what iommu_map was given */
};

typedef void (*vfio_trace_fn)(const struct vfio_trace_event *ev, void *arg);
void vfio_iommu_type1_set_trace(struct vfio_iommu *iommu, vfio_trace_fn fn,
				void *arg);

/* ---- introspection for tests and reports ---------------------------------- */

struct vfio_iommu_type1_stats {
	unsigned int nr_dma;	  /* vfio_dma records */
	unsigned int dma_avail;	  /* mappings still allowed */
	unsigned int nr_domains;  /* IOMMU domains */
	unsigned int nr_groups;	  /* IOMMU-backed groups */
	unsigned int nr_emulated; /* emulated groups */
	uint64_t num_non_pinned_groups;
	uint64_t pgsize_bitmap;
	uint64_t pinned_pages;	     /* pages pinned for IOMMU mappings */
	uint64_t external_pins;	     /* vfio_pfn records (pages) */
	uint64_t locked_vm;	     /* pages charged by this container */
	uint64_t unmap_notify_calls; /* dma_unmap callbacks made */
	uint64_t iotlb_syncs;	     /* syncs issued by unmaps */
	uint64_t pinned_on_remove;   /* dmas removed with driver pins */
	bool dirty_page_tracking;
	/* non-coherent domains */
	unsigned int noncoherent_domains; /* domains not enforcing coherency */
	unsigned int dma_flush_required;  /* vfio_dmas flagged */
	uint64_t cache_flushes;		  /* cache_flush_phys calls made */
	uint64_t cache_flush_bytes;	  /* bytes they wrote back */
	uint64_t cache_flushes_skipped;	  /* not made: flushing switched off */
	/* unmaps of pinned pages (the series that replaced the DMA unmap notifier with this callback) */
	uint64_t unmap_retries; /* callback rounds repeated for one dma */
	uint64_t unmap_busy;	/* unmaps failed: pins were kept */
	char busy_device[32];	/* device named by the last failed unmap */
	/* I/O page faults */
	bool iopf_enabled;
	bool broken;		     /* an invalidation failed: -EIO from now */
	unsigned int iopf_premap;    /* pages mapped per fault at most */
	unsigned int iopf_devices;   /* devices with the type1 handler */
	uint64_t iopf_faults;	     /* page requests handled */
	uint64_t iopf_already;	     /* ... for a page already mapped */
	uint64_t iopf_invalid;	     /* ... answered INVALID */
	uint64_t iopf_retries;	     /* pins redone: an invalidation raced */
	uint64_t iopf_mapped_pages;  /* pages mapped by faults (total) */
	uint64_t iopf_resident;	     /* pages mapped now (bitmap bits set) */
	uint64_t iopf_invalidations; /* notifier calls that hit a mapping */
	uint64_t iopf_unmapped_pages; /* pages the notifier unmapped */
};

void vfio_iommu_type1_get_stats(struct vfio_iommu *iommu,
				struct vfio_iommu_type1_stats *st);
/* The domain the group is attached to through this container, or NULL. */
struct iommu_domain *vfio_iommu_type1_group_domain(struct vfio_iommu *iommu,
						   struct iommu_group *group);
/* Does a vfio_dma cover iova?  Its range (and whether it is mapped in the
 * IOMMU) is returned; -ENOENT otherwise. */
int vfio_iommu_type1_find_dma(struct vfio_iommu *iommu, dma_addr_t iova,
			      dma_addr_t *start, uint64_t *size,
			      bool *iommu_mapped);
/* Is the group's pinned-page dirty scope set?  -ENOENT if unknown. */
int vfio_iommu_type1_group_pinned_scope(struct vfio_iommu *iommu,
					struct iommu_group *group);

/* ---- I/O page faults (the reviewers' design) ------------------------ */

/*
 * VFIO_IOMMU_ENABLE_IOPF (no argument): map the container's memory on
 * demand from I/O page faults instead of pinning it.  The posted series'
 * number; upstream Linux has no such ioctl.  No disable: the container keeps
 * IOPF until it is released.  Errors: -ENODEV (the caller has no address
 * space), -EPERM (the caller's address space is not the container's:
 * a container's IOPF is bound to that one mm), -EBUSY (already enabled),
 * -ENOMEM, and the errors of enabling a device (IOMMU_DEV_FEAT_IOPF,
 * iommu_register_device_fault_handler: a device that cannot stall gives
 * -ENODEV); a failed call changes nothing.  Existing mappings are
 * converted: their pins dropped and uncharged, their pages left mapped and
 * marked in the fault bitmap, handed to the MMU notifier.
 */
#ifndef VFIO_IOMMU_ENABLE_IOPF
#define VFIO_IOMMU_ENABLE_IOPF _IO(VFIO_TYPE, VFIO_BASE + 18)
#endif

/*
 * Discovery, uiommu's own values (upstream has none): chosen far
 * above upstream's (extensions end at 10, type1 capabilities at 3) so that
 * they cannot collide with a future upstream number.
 *  - VFIO_CHECK_EXTENSION(VFIO_UIOMMU_TYPE1_IOPF) is 1: the type1 backend
 *    offers VFIO_IOMMU_ENABLE_IOPF (with or without a container).
 *  - VFIO_IOMMU_GET_INFO carries VFIO_IOMMU_TYPE1_INFO_CAP_IOPF (version 1)
 *    after the upstream capabilities.
 */
#define VFIO_UIOMMU_TYPE1_IOPF	       0x5501
#define VFIO_IOMMU_TYPE1_INFO_CAP_IOPF 0x5501
#define VFIO_IOMMU_IOPF_INFO_ENABLED   (1u << 0) /* enabled here */
#define VFIO_IOMMU_IOPF_INFO_PREMAP    (1u << 1) /* premap_pages valid */

struct vfio_iommu_type1_info_cap_iopf {
	struct vfio_info_cap_header header;
	uint32_t flags;	       /* VFIO_IOMMU_IOPF_INFO_* */
	uint32_t premap_pages; /* pages mapped per fault at most */
};

/* Pages one fault maps at most (the posted IOPF_PREMAP_LEN). */
#define VFIO_IOPF_PREMAP_MAX 512

/*
 * The ioctl with the caller's address space made explicit (the kernel's
 * current->mm; NULL: a caller without one).  vfio_iommu_type1_ioctl() is
 * this with the container's own mm.  With IOPF enabled, MAP_DMA and
 * UNMAP_DMA from another mm fail with -EPERM.
 */
long vfio_iommu_type1_ioctl_mm(struct vfio_iommu *iommu, struct mm *current_mm,
			       unsigned int cmd, unsigned long arg);

/*
 * Pages one fault maps (1 by default): from the faulting page on, stopping
 * before the first page already mapped and at the end of the mapping.
 * 512 reproduces the posted series.  -EINVAL outside [1, 512].
 */
int vfio_iommu_type1_set_iopf_premap(struct vfio_iommu *iommu,
				     unsigned int pages);

/* Is the page at iova mapped by a fault (its bitmap bit)?  1 or 0;
 * -ENOENT outside every mapping, -EINVAL with IOPF off. */
int vfio_iommu_type1_iopf_mapped(struct vfio_iommu *iommu, dma_addr_t iova);

/* ---- nested translation ------------------------------ */

/*
 * In-process stand-in for the never-merged VFIO_IOMMU_SET_PASID_TABLE: put
 * the devices of group (attached to this VFIO_TYPE1_NESTING_IOMMU container)
 * on a nested domain whose stage 1 is the guest's CD table at IPA cd_table
 * (2^cd_max CDs) over the stage-2 domain of the container's mappings.
 * Called again, it replaces the previous context.  The group's stage-1
 * faults then go to the registered device's transfer op once nested
 * reporting is registered; its stage-2 faults are the host's IOPF:
 * with IOPF on, the handler's flags become FAULT_REPORT_NESTED_L2.
 * -EINVAL (NULL, bad context), -EOPNOTSUPP (not a nesting container),
 * -ENODEV (the group is not attached here), -ENOMEM; a failed call changes
 * nothing.  Detaching the group frees the nested domain.  The SMMU
 * fetches CDs outside any stallable transaction: with IOPF on, keep the CD
 * table resident at stage 2 (pin it: driver pins are mapped at once).
 */
int vfio_iommu_type1_set_nested_s1(struct vfio_iommu *iommu,
				   struct iommu_group *group, uint64_t cd_table,
				   unsigned int cd_max);

/*
 * The VFIO IOPF series' vfio_iommu_dev_fault_handler_register_nested(): ask that
 * dev's stage-1 (L1) faults be reported, to be passed to its transfer op.
 * The container is found from dev's group.  With IOPF enabled the existing
 * handler gains FAULT_REPORT_NESTED_L1 (no second handler); without,
 * IOMMU_DEV_FEAT_IOPF is enabled and a handler is registered for L1 only.
 * Unregistering removes only that flag (or that handler).  -EINVAL for a
 * NULL dev (and unregistering what was not registered), -ENODEV for a
 * device not in a group attached to a type1 container, -ENOTTY when the
 * container's backend has no register_handler (uiommu: only nesting
 * containers have it), -EBUSY when already registered, and the errors of
 * enabling the feature.  Enabling IOPF after L1 registration is
 * -EBUSY: L1 comes after L2, as the posted series assumes.
 */
int vfio_iommu_dev_fault_handler_register_nested(struct device *dev);
int vfio_iommu_dev_fault_handler_unregister_nested(struct device *dev);

/*
 * Invariant checker for tests: with IOPF on, every mapping's fault bitmap
 * equals the IOMMU state (a bit is set exactly when the page is mapped in
 * every domain, and nothing outside set bits is mapped), and each mapped
 * page is the frame currently behind its vaddr.  Returns the problems found,
 * reported to log if not NULL.
 */
int vfio_iommu_type1_iopf_check(struct vfio_iommu *iommu, FILE *log);

#ifdef __cplusplus
}
#endif
#endif /* UIOMMU_VFIO_H */
