/* SPDX-License-Identifier: MIT */
/*
 * Internal data model of the type1 backend, shared by type1.c (containers,
 * MAP/UNMAP, attach and replay, ioctls), type1_iova.c (the usable IOVA
 * ranges and page sizes), type1_info.c (GET_INFO, CHECK_EXTENSION),
 * type1_introspect.c (counters and lookups for tests and tools),
 * type1_nest.c (nested translation), type1_pin.c (pins by mediated
 * drivers, vfio_pfn records, the dma_unmap callbacks), type1_dirty.c
 * (dirty page tracking) and type1_iopf.c (I/O page faults).
 *
 * Locking: vfio_iommu.lock (the kernel's iommu->lock) guards everything in
 * the container and in its vfio_dma, vfio_pfn, vfio_domain and
 * vfio_iommu_group records, except the registered devices, which
 * device_list_lock guards so that dma_unmap callbacks run with the
 * container lock dropped (a driver unpins from inside its callback).
 *
 * I/O page faults (type1_iopf.c) add iopf_lock.  The fault handler and the
 * MMU notifier take only iopf_lock: the notifier runs under the mm's lock
 * (taken for writing), and lock is held while pinning (which takes the
 * mm's lock for reading), so the notifier cannot take lock.  Hence
 * iopf_lock also guards, for readers holding only it, the shape of the dma
 * tree and of the domain list and the dma fields the handler reads (vaddr,
 * vaddr_invalid): their writers hold both lock and iopf_lock.  iopf_lock
 * alone guards the fault bitmaps, the IOMMU mappings of faulted pages,
 * iopf_seq and the IOPF counters.
 * Lock order: enum vfio_lock_rank below (vfio.lock, vfio_iommu_all_lock,
 * device_list_lock, lock, transfer_lock, iopf_lock); lockdep checks it
 * where two of them nest.
 * Never held across a callback: lock.  Never held while pinning or while
 * answering a page request: iopf_lock.
 *
 * Two vfio locks are taken in callbacks from the layers below, with a
 * lock of theirs held, so they rank where the real order puts them
 * (lib/lock.h), not in vfio's span: transfer_lock is taken by the device
 * fault handler (vfio_iopf_transfer) under the IOMMU core's
 * fault_param->lock, so it ranks in LOCK_RANK_FAULT after the core's two
 * locks; iopf_lock is taken by the MMU notifier ops (vfio_iopf_invalidate,
 * vfio_iopf_mm_release) under the mm's mmap_lock, and by the fault handler
 * after it pinned, so it ranks in LOCK_RANK_MM_NOTIFIER beside kvm's
 * mmu_lock (the two never nest).  Under iopf_lock vfio unmaps from the
 * IOMMU, whose locks rank after it.
 */
#ifndef UIOMMU_VFIO_TYPE1_INTERNAL_H
#define UIOMMU_VFIO_TYPE1_INTERNAL_H

#include <pthread.h>
#include <bsd/sys/tree.h>
#include "vfio/vfio.h"

#include "lib/internal.h"
#include "lib/lock.h"
#include "sanitizer/sanitizer.h"

/*
 * The VFIO layer's lock order, outermost first (lib/lock.h: a lock may be
 * taken only above every lock held).  Its base is above the KVM and device
 * layers that call VFIO and below the IOMMU, hardware and memory layers it
 * calls.
 *  - vfio.lock (vfio_main.c): the fd front; a group's attach and detach
 *    and a container file's release call into type1 under it.
 *  - vfio_iommu_all_lock (type1_nest.c): the list of containers; the
 *    device -> container lookup takes a container's lock under it.
 *  - device_list_lock: the registered devices; the unmap path calls their
 *    dma_unmap callbacks under it with lock dropped, and a callback may
 *    unpin, which takes lock.
 *  - lock: the container.
 *  - transfer_lock: device_list for the nested fault handler; written
 *    under device_list_lock, read by the handler (never under lock).
 *  - iopf_lock: the IOPF state; writers of the dma tree and domain list
 *    take it under lock.
 * iopf_lock and transfer_lock are also taken in callbacks from the layers
 * below, with their locks held: see the IOPF note above.
 */
enum vfio_lock_rank {
	VFIO_LOCK_CORE = LOCK_RANK_VFIO,
	VFIO_LOCK_CONTAINER_LIST,
	VFIO_LOCK_DEVICE_LIST,
	/* vfio-pci's interrupt gate (vfio_pci.c): a driver lock taken in
	 * vfio's open/close callbacks */
	VFIO_LOCK_PCI_IGATE = LOCK_RANK_VFIO_DRIVER + 4,
	/* after the drivers' locks taken in vfio's callbacks (lib/lock.h) */
	VFIO_LOCK_CONTAINER = LOCK_RANK_VFIO_DRIVER + 8,
	/* the fault handler's, after iommu_core.lock and fault_param->lock */
	VFIO_LOCK_TRANSFER = LOCK_RANK_FAULT + LOCK_LAYER_SPAN / 2,
	/* the MMU notifier's, after mmap_lock */
	VFIO_LOCK_IOPF = LOCK_RANK_MM_NOTIFIER + 1,
};

#define PAGE_SHIFT PHYS_PAGE_SHIFT
#define PAGE_SIZE  PHYS_PAGE_SIZE

/* Runs of a vfio_dma_chunk; also the unmap batch: one TLB sync per domain
 * for up to this many runs before they are unpinned (the kernel's
 * VFIO_IOMMU_TLB_SYNC_MAX). */
#define VFIO_CHUNK_RUNS 512

/* Times UNMAP calls the drivers back for one vfio_dma before giving up
 * (the kernel's BUG_ON(++retries > 10)). */
#define VFIO_UNMAP_NOTIFY_RETRIES 10

/*
 * Pages pinned for IOMMU mappings, as physically contiguous runs in IOVA
 * order: chunk k starts at iova and covers the sum of its runs' pages.  The
 * kernel finds the pages again by walking the IOMMU page table
 * (iommu_iova_to_phys per page); keeping the runs costs 16 bytes a run and
 * saves those walks.
 */
struct vfio_dma_chunk {
	struct vfio_dma_chunk *next;
	dma_addr_t iova; /* of runs[0] */
	uint64_t npages; /* in runs[0 .. nr) */
	unsigned int nr; /* runs committed (mapped everywhere) */
	struct mm_pin_run runs[VFIO_CHUNK_RUNS];
};

/* The references one holder (a registered device, or NULL: the anonymous
 * pins of vfio_iommu_type1_pin_pages) keeps on a driver-pinned page. */
struct vfio_pfn_holder {
	struct vfio_pfn_holder *next;
	struct vfio_iommu_device *vdev;
	unsigned int count;
};

/*
 * A page pinned by drivers (vfio_pin_pages): ref_count pins of one page,
 * the sum of its holders' counts (never 0 while the record exists).  The
 * page itself holds one frame reference for all of them.
 */
struct vfio_pfn {
	RB_ENTRY(vfio_pfn) node;
	dma_addr_t iova;
	phys_addr_t phys;
	unsigned int ref_count;
	struct vfio_pfn_holder *holders;
};

RB_HEAD(vfio_pfn_tree, vfio_pfn);

/*
 * One VFIO_IOMMU_MAP_DMA.  All fields: vfio_iommu.lock.
 * Invariants: iommu_mapped <=> the whole range is pinned and mapped in
 * every domain of the container (chunks cover [iova, iova + size)); with no
 * domain nothing is pinned for the IOMMU (chunks == NULL).  locked_vm is
 * what this dma charged to the mm: the pages of its chunks that have no
 * vfio_pfn, plus, when no domain exists, its vfio_pfn pages.
 */
struct vfio_dma {
	RB_ENTRY(vfio_dma) node;
	dma_addr_t iova;
	unsigned long vaddr;
	uint64_t size;
	int prot; /* IOMMU_READ | IOMMU_WRITE */
	bool iommu_mapped : 1;
	bool lock_cap : 1; /* CAP_IPC_LOCK at map time */
	/*
	 * The IOMMU-pinned pages were mapped into a non-coherent
	 * domain, so they were written back from the CPU caches when that
	 * happened first and must be written back again before they are
	 * unpinned.  Set when the dma first enters a non-coherent domain (at
	 * pin time or by replay); attaching a coherent domain never clears
	 * it; cleared when the IOMMU pins go (full unmap, unwind).
	 */
	bool cache_flush_required : 1;
	bool replay_flagged : 1; /* set by the replay in progress (unwind) */
	/* not a bit-field: the IOPF handler reads it under iopf_lock only
	 * (written under both locks) while the bits above change under lock */
	bool vaddr_invalid;
	long locked_vm;
	struct vfio_dma_chunk *chunks, *chunk_tail;
	struct vfio_pfn_tree pfn_list;
	uint64_t nr_pfns;
	uint64_t *bitmap; /* dirty tracking: one bit per smallest page */
	/*
	 * IOPF (iopf_lock): one bit per PAGE_SIZE page, set exactly while the
	 * page is mapped in every domain of the container (the kernel's
	 * iopf_mapped_bitmap).  Allocated while IOPF is enabled.
	 */
	uint64_t *iopf_bitmap;
	long iopf_charged; /* lock: charged ahead by an enable in progress */
};

RB_HEAD(vfio_dma_tree, vfio_dma);

/* An IOMMU-backed or emulated group of the container (lock). */
struct vfio_iommu_group {
	struct iommu_group *iommu_group;
	/* nesting containers: the nested domain the group is attached to
	 * (over its vfio_domain's), or NULL: attached to that one */
	struct iommu_domain *nested;
	bool pinned_page_dirty_scope;
	LIST_ENTRY(vfio_iommu_group) next;
};

LIST_HEAD(vfio_group_list, vfio_iommu_group);

/* A domain and the groups attached to it (lock).  Linked into the
 * container only by vfio_iommu_link_domain/unlink_domain, which keep
 * noncoherent_domains. */
struct vfio_domain {
	struct iommu_domain *domain;
	struct vfio_group_list group_list;
	bool enforce_cache_coherency : 1;
	bool fgsp : 1; /* fine-grained superpages (vfio_test_domain_fgsp) */
	LIST_ENTRY(vfio_domain) next;
};

/* A usable IOVA range [start, end] (inclusive, as the kernel keeps it). */
struct vfio_iova {
	dma_addr_t start, end;
};

/* A backend's optional driver ops (the kernel's vfio_iommu_driver_ops
 * members patch 8 of the VFIO IOPF series adds); called with the container's lock held. */
struct vfio_iommu_driver_ops {
	int (*register_handler)(struct vfio_iommu *iommu, struct device *dev);
	int (*unregister_handler)(struct vfio_iommu *iommu, struct device *dev);
};

struct vfio_iommu {
	struct mutex lock;
	struct mm *mm; /* immutable */
	bool v2;       /* immutable */
	bool nesting;  /* immutable: VFIO_TYPE1_NESTING_IOMMU */
	const struct vfio_iommu_driver_ops *ops; /* immutable */
	/* the sanitizer's MAP/UNMAP history (NULL when it is off): made at
	 * open, set in every domain, recorded under lock */
	struct san_space *san;			      /* immutable */
	LIST_ENTRY(vfio_iommu) all_link;	      /* vfio_iommu_all_lock */
	LIST_HEAD(, vfio_domain) domain_list;	      /* lock */
	struct vfio_group_list emulated_iommu_groups; /* lock */
	struct vfio_dma_tree dma_list;		      /* lock */
	unsigned int nr_dma;			      /* lock */
	unsigned int dma_avail;			      /* lock */
	unsigned int vaddr_invalid_count;	      /* lock */
	uint64_t pgsize_bitmap;			      /* lock */
	uint64_t num_non_pinned_groups;		      /* lock */
	bool dirty_page_tracking;		      /* lock */
	/* domains with !enforce_cache_coherency in domain_list (lock; kept
	 * by the link/unlink wrappers, 0 once release unlinked them all) */
	unsigned int noncoherent_domains;
	bool cache_flush_off; /* debug switch (lock) */
	vfio_trace_fn trace;  /* test hook (lock) */
	void *trace_arg;      /* lock */
	struct phys_mem *pm;  /* immutable: mm_phys(mm) */
	/* usable IOVA ranges; iova_valid false until the first attach
	 * (the kernel's empty list: everything goes) */
	struct vfio_iova *iova_list; /* lock */
	unsigned int nr_iova;	     /* lock */
	bool iova_valid;	     /* lock */

	struct mutex device_list_lock;
	/* device_list_lock; changes also under transfer_lock (write) */
	LIST_HEAD(, vfio_iommu_device) device_list;
	/*
	 * The nested fault handler's view of device_list (patch 8 of the VFIO IOPF series): held
	 * for reading while it finds and calls a transfer op, for writing
	 * (innermost, under device_list_lock) while the list changes.  Not
	 * device_list_lock: the handler runs under the core's handler lock,
	 * which ENABLE_IOPF takes under lock, itself taken under
	 * device_list_lock.
	 */
	struct rw_semaphore transfer_lock;
	_Atomic unsigned int nr_devices; /* read without either lock */

	/*
	 * I/O page faults (type1_iopf.c).  iopf_enabled is written under both
	 * locks, once (no disable); iopf_mm (immutable once enabled) is the
	 * address space IOPF is bound to, mn its notifier.  iopf_seq counts
	 * invalidations and mapping removals: a handler that pinned without
	 * iopf_lock maps only if it did not move meanwhile.
	 */
	bool iopf_enabled;
	_Atomic bool broken; /* -EIO from every ioctl once set */
	bool iopf_mm_gone;   /* iopf_lock: the mm was destroyed */
	struct mm *iopf_mm;
	struct mmu_notifier mn;
	struct mutex iopf_lock;
	uint64_t iopf_seq;		      /* iopf_lock */
	unsigned int iopf_premap;	      /* iopf_lock */
	LIST_HEAD(, vfio_iopf_dev) iopf_devs; /* lock */
	/* IOPF counters (iopf_lock) */
	uint64_t iopf_faults, iopf_already, iopf_invalid, iopf_retries;
	uint64_t iopf_mapped_pages, iopf_resident, iopf_invalidations;
	uint64_t iopf_unmapped_pages, iopf_syncs;

	/* statistics (lock) */
	uint64_t pinned_pages, unmap_notify_calls, iotlb_syncs;
	uint64_t pinned_on_remove;
	uint64_t cache_flushes, cache_flush_bytes, cache_flushes_skipped;
	uint64_t unmap_retries, unmap_busy;
	char busy_device[32];
};

/*
 * The lookup from a device to its container (the handler's data): created
 * before the device's fault reporting is enabled and freed only after it is
 * disabled, so a handler never sees it freed.  Guarded by lock.
 */
struct vfio_iopf_dev {
	struct vfio_iommu *iommu;  /* immutable */
	struct device *dev;	   /* immutable */
	struct iommu_group *group; /* immutable */
	bool enabled;		   /* feature + handler are on */
	bool host;		   /* ENABLE_IOPF's: host IOPF (L2, flat) */
	bool l1;		   /* FAULT_REPORT_NESTED_L1 registered */
	LIST_ENTRY(vfio_iopf_dev) link;
};

/*
 * The dma tree is read under lock or under iopf_lock alone (the IOPF
 * handler and the MMU notifier); its writers hold both.  Its readers assert
 * that one of the two is held.
 */
#define vfio_assert_dma_tree_held(iommu) \
	lockdep_assert_held_either(&(iommu)->lock, &(iommu)->iopf_lock)

static inline void vfio_trace(struct vfio_iommu *iommu, enum vfio_trace_op op,
			      struct iommu_domain *domain, dma_addr_t iova,
			      phys_addr_t pa, uint64_t len, int prot)
{
	if (unlikely(iommu->trace)) {
		struct vfio_trace_event ev = {op, domain, iova, pa, len, prot};

		iommu->trace(&ev, iommu->trace_arg);
	}
}

/* Write [pa, pa + len) back from the CPU caches (the kernel's
 * arch_flush_cache_phys), unless the debug switch is off; counted. */
void vfio_flush_cache_phys(struct vfio_iommu *iommu, phys_addr_t pa,
			   uint64_t len);

/* The kernel's access_ok(): inside the user half of the address space
 * (47 bits); whether it is mapped is copy_to_user's business (-EFAULT). */
static inline bool access_ok(uint64_t addr, uint64_t size)
{
	uint64_t end;

	return !check_add_overflow(addr, size, &end) && end <= (1ULL << 47);
}

/* type1.c */
struct vfio_dma *vfio_find_dma(struct vfio_iommu *iommu, dma_addr_t start,
			       uint64_t size);
struct vfio_dma *vfio_dma_first(struct vfio_iommu *iommu);
struct vfio_dma *vfio_dma_last(struct vfio_iommu *iommu);
void vfio_dma_tree_remove(struct vfio_iommu *iommu, struct vfio_dma *dma);
struct vfio_dma *vfio_dma_next(struct vfio_iommu *iommu, struct vfio_dma *dma);
int vfio_lock_acct(struct vfio_iommu *iommu, struct vfio_dma *dma, long npage);
/* release dma's IOMMU pins (chunks) without unmapping: IOPF conversion */
void vfio_dma_release_pins(struct vfio_iommu *iommu, struct vfio_dma *dma);
/* IOMMU_CACHE only where the IOMMU enforces coherency: a non-coherent
 * domain's mappings are Normal-NC, so its devices' DMA does not snoop. */
static inline int vfio_domain_prot(const struct vfio_domain *d, int prot)
{
	return d->enforce_cache_coherency ? prot | IOMMU_CACHE : prot;
}
static inline bool vfio_has_domain(struct vfio_iommu *iommu)
{
	return !LIST_EMPTY(&iommu->domain_list);
}
static inline uint64_t vfio_pgsize(struct vfio_iommu *iommu)
{
	return 1ULL << __builtin_ctzll(iommu->pgsize_bitmap);
}
/* group's record in the container (IOMMU-backed or emulated), or NULL */
struct vfio_iommu_group *vfio_find_group(struct vfio_iommu *iommu,
					 struct iommu_group *group);
/* group's record among the IOMMU-backed ones and, in *dp (if dp), its
 * domain; NULL if group is not attached to a domain of the container */
struct vfio_iommu_group *vfio_find_domain_group(struct vfio_iommu *iommu,
						struct iommu_group *group,
						struct vfio_domain **dp);

/* type1_nest.c */
/* On and off the list of every open container (the device -> container
 * lookup of nested fault reporting): at open and at release. */
void vfio_iommu_all_add(struct vfio_iommu *iommu);
void vfio_iommu_all_del(struct vfio_iommu *iommu);

/* type1_iova.c */
/* A scratch array of reserved regions, grown as groups are visited; the
 * caller frees regions. */
struct resv_collect {
	struct iommu_resv_region *regions;
	unsigned int nr, max;
	int ret;
};
bool vfio_iommu_iova_dma_valid(struct vfio_iommu *iommu, dma_addr_t start,
			       dma_addr_t end);
int vfio_group_resv_regions(struct iommu_group *group, struct resv_collect *rc);
/* The first device of group, through which domains are allocated for it:
 * -EINVAL without a container or group, -ENODEV for a group with no
 * device. */
int vfio_group_dev(struct vfio_iommu *iommu, struct iommu_group *group,
		   struct device **dev);
int vfio_iova_build(struct vfio_iommu *iommu, struct vfio_domain *extra,
		    struct resv_collect *rc, struct vfio_iova **out,
		    unsigned int *nr_out);
void vfio_iova_install(struct vfio_iommu *iommu, struct vfio_iova *list,
		       unsigned int nr);
bool vfio_iommu_aper_conflict(struct vfio_iommu *iommu, dma_addr_t start,
			      dma_addr_t end);
bool vfio_iommu_resv_conflict(struct vfio_iommu *iommu,
			      const struct resv_collect *rc);
void vfio_update_pgsize_bitmap(struct vfio_iommu *iommu);

/* type1_info.c */
long vfio_iommu_type1_check_extension(struct vfio_iommu *iommu,
				      unsigned long arg);
long vfio_iommu_type1_get_info(struct vfio_iommu *iommu, unsigned long arg);

/* type1_pin.c */
struct vfio_pfn *vfio_find_vpfn(struct vfio_dma *dma, dma_addr_t iova);
struct vfio_pfn *vfio_vpfn_first(struct vfio_dma *dma);
struct vfio_pfn *vfio_vpfn_next(struct vfio_dma *dma, struct vfio_pfn *vpfn);
/* vfio_pfn records in [iova, iova + npages pages) */
uint64_t vfio_vpfn_count(struct vfio_dma *dma, dma_addr_t iova,
			 uint64_t npages);
/* Call every registered device's dma_unmap; lock is dropped meanwhile
 * (taken again before it returns). */
void vfio_notify_dma_unmap(struct vfio_iommu *iommu, dma_addr_t iova,
			   uint64_t size);
/* Drop every vfio_pfn of a dma being freed (WARNed about by the caller). */
void vfio_dma_drop_vpfns(struct vfio_iommu *iommu, struct vfio_dma *dma);
/* Name the holders of dma's driver pins in iommu->busy_device and a
 * diagnostic (an unmap that failed because of them). */
void vfio_report_busy_pins(struct vfio_iommu *iommu, struct vfio_dma *dma);

/* type1_iopf.c (each asserts the lock it needs: lock unless noted) */
void vfio_iopf_init(struct vfio_iommu *iommu);
long vfio_iommu_type1_enable_iopf(struct vfio_iommu *iommu,
				  struct mm *current_mm);
/* IOPF on the devices of group (attach); off again (detach, unwind) */
int vfio_iopf_enable_group(struct vfio_iommu *iommu, struct iommu_group *group);
void vfio_iopf_disable_group(struct vfio_iommu *iommu,
			     struct iommu_group *group);
/* a new dma (MAP_DMA with IOPF on): its bitmap */
int vfio_iopf_dma_alloc(struct vfio_dma *dma);
/* a dma going: its faulted pages unmapped from every domain (synced), out
 * of the tree, bitmap freed; takes iopf_lock.  Every removal goes here. */
void vfio_iopf_dma_unlink(struct vfio_iommu *iommu, struct vfio_dma *dma);
/* the invalidation sequence (iopf_lock taken): read before pinning */
uint64_t vfio_iopf_seq(struct vfio_iommu *iommu);
/* link a new domain with the faulted pages replayed into it; takes
 * iopf_lock.  All or nothing. */
int vfio_iopf_link_domain(struct vfio_iommu *iommu, struct vfio_domain *domain,
			  void (*link)(struct vfio_iommu *,
				       struct vfio_domain *));
/* unlink a domain, its faulted pages unmapped first; takes iopf_lock */
void vfio_iopf_unlink_domain(struct vfio_iommu *iommu,
			     struct vfio_domain *domain,
			     void (*unlink)(struct vfio_iommu *,
					    struct vfio_domain *));
/* every faulted page unmapped from every domain (last domain leaving) */
void vfio_iopf_unmap_all(struct vfio_iommu *iommu);
/* a page pinned by a driver: mapped at once; iopf_lock taken */
int vfio_iopf_map_pinned(struct vfio_iommu *iommu, struct vfio_dma *dma,
			 dma_addr_t iova, phys_addr_t pa, uint64_t seq);
/* the vaddr of dma changes or is invalidated: its faulted pages go */
void vfio_iopf_dma_vaddr_change(struct vfio_iommu *iommu, struct vfio_dma *dma);
/* nested: the group now has a nested domain: its host handlers take
 * L2 faults (FAULT_REPORT_NESTED_L2) */
void vfio_iopf_group_nested(struct vfio_iommu *iommu,
			    struct iommu_group *group);
/* nested L1 reporting on and off for dev */
int vfio_iopf_register_l1(struct vfio_iommu *iommu, struct device *dev);
int vfio_iopf_unregister_l1(struct vfio_iommu *iommu, struct device *dev);
/* release: devices off, notifier unregistered */
void vfio_iopf_release(struct vfio_iommu *iommu);
/* mark the container broken (a failed invalidation), with a diagnostic */
void vfio_iommu_set_broken(struct vfio_iommu *iommu, const char *why);
/* GET_INFO capability and CHECK_EXTENSION */
void vfio_iopf_fill_cap(struct vfio_iommu *iommu,
			struct vfio_iommu_type1_info_cap_iopf *cap);
/* dirty tracking: unmap dma's faulted pages that are dirty, before their
 * dirty bits are cleared (under iopf_lock) */
void vfio_iopf_dirty_reset(struct vfio_iommu *iommu, struct vfio_dma *dma);
/* dirty tracking: faulted pages written */
void vfio_iopf_mark_dirty(struct vfio_iommu *iommu, struct vfio_dma *dma,
			  dma_addr_t iova);

/* type1_dirty.c */
int vfio_dma_bitmap_alloc(struct vfio_dma *dma, uint64_t pgsize);
void vfio_dma_bitmap_free(struct vfio_dma *dma);
void vfio_dma_bitmap_set_pinned(struct vfio_iommu *iommu, struct vfio_dma *dma,
				dma_addr_t iova);
int vfio_dma_bitmap_alloc_all(struct vfio_iommu *iommu, uint64_t pgsize);
void vfio_dma_bitmap_free_all(struct vfio_iommu *iommu);
void vfio_iommu_populate_bitmap_full(struct vfio_iommu *iommu);
int vfio_verify_bitmap_size(uint64_t npages, uint64_t bitmap_size);
int vfio_update_user_bitmap(struct vfio_iommu *iommu, struct vfio_dma *dma,
			    uint64_t *ubitmap, dma_addr_t base_iova,
			    uint64_t pgsize);
long vfio_iommu_type1_dirty_pages(struct vfio_iommu *iommu, unsigned long arg);

#endif /* UIOMMU_VFIO_TYPE1_INTERNAL_H */
