/* SPDX-License-Identifier: MIT */
/*
 * Internal data model of the type1 backend, shared by type1.c (containers,
 * MAP/UNMAP, attach and replay, ioctls), type1_pin.c (pins by mediated
 * drivers, vfio_pfn records, the dma_unmap callbacks) and type1_dirty.c
 * (dirty page tracking).
 *
 * Locking: vfio_iommu.lock (the kernel's iommu->lock) guards everything in
 * the container and in its vfio_dma, vfio_pfn, vfio_domain and
 * vfio_iommu_group records, except the registered devices, which
 * device_list_lock guards so that dma_unmap callbacks run with the
 * container lock dropped (a driver unpins from inside its callback).
 * Lock order: device_list_lock, then lock.  Never held across a callback:
 * lock.
 */
#ifndef UIOMMU_VFIO_TYPE1_INTERNAL_H
#define UIOMMU_VFIO_TYPE1_INTERNAL_H

#include <pthread.h>
#include <bsd/sys/tree.h>
#include <uiommu/vfio.h>

#include "lib/internal.h"

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
	bool vaddr_invalid : 1;
	/*
	 * Seed 000: the IOMMU-pinned pages were mapped into a non-coherent
	 * domain, so they were written back from the CPU caches when that
	 * happened first and must be written back again before they are
	 * unpinned.  Set when the dma first enters a non-coherent domain (at
	 * pin time or by replay); attaching a coherent domain never clears
	 * it; cleared when the IOMMU pins go (full unmap, unwind).
	 */
	bool cache_flush_required : 1;
	bool replay_flagged : 1; /* set by the replay in progress (unwind) */
	long locked_vm;
	struct vfio_dma_chunk *chunks, *chunk_tail;
	struct vfio_pfn_tree pfn_list;
	uint64_t nr_pfns;
	uint64_t *bitmap; /* dirty tracking: one bit per smallest page */
};

RB_HEAD(vfio_dma_tree, vfio_dma);

/* An IOMMU-backed or emulated group of the container (lock). */
struct vfio_iommu_group {
	struct iommu_group *iommu_group;
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

struct vfio_iommu {
	pthread_mutex_t lock;
	struct mm *mm;				      /* immutable */
	bool v2;				      /* immutable */
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

	pthread_mutex_t device_list_lock;
	LIST_HEAD(, vfio_iommu_device) device_list; /* device_list_lock */
	_Atomic unsigned int nr_devices; /* read without either lock */

	/* statistics (lock) */
	uint64_t pinned_pages, unmap_notify_calls, iotlb_syncs;
	uint64_t pinned_on_remove;
	uint64_t cache_flushes, cache_flush_bytes, cache_flushes_skipped;
	uint64_t unmap_retries, unmap_busy;
	char busy_device[32];
};

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
struct vfio_dma *vfio_dma_next(struct vfio_iommu *iommu, struct vfio_dma *dma);
int vfio_lock_acct(struct vfio_iommu *iommu, struct vfio_dma *dma, long npage);
static inline bool vfio_has_domain(struct vfio_iommu *iommu)
{
	return !LIST_EMPTY(&iommu->domain_list);
}
static inline uint64_t vfio_pgsize(struct vfio_iommu *iommu)
{
	return 1ULL << __builtin_ctzll(iommu->pgsize_bitmap);
}
struct vfio_iommu_group *vfio_find_group(struct vfio_iommu *iommu,
					 struct iommu_group *group);

/* type1_pin.c */
struct vfio_pfn *vfio_find_vpfn(struct vfio_dma *dma, dma_addr_t iova);
struct vfio_pfn *vfio_vpfn_first(struct vfio_dma *dma);
struct vfio_pfn *vfio_vpfn_next(struct vfio_dma *dma, struct vfio_pfn *vpfn);
/* vfio_pfn records in [iova, iova + npages pages) */
uint64_t vfio_vpfn_count(struct vfio_dma *dma, dma_addr_t iova,
			 uint64_t npages);
/* Call every registered device's dma_unmap; called and returns with lock
 * held, drops it meanwhile. */
void vfio_notify_dma_unmap(struct vfio_iommu *iommu, dma_addr_t iova,
			   uint64_t size);
/* Drop every vfio_pfn of a dma being freed (WARNed about by the caller). */
void vfio_dma_drop_vpfns(struct vfio_iommu *iommu, struct vfio_dma *dma);
/* Name the holders of dma's driver pins in iommu->busy_device and a
 * diagnostic (an unmap that failed because of them). */
void vfio_report_busy_pins(struct vfio_iommu *iommu, struct vfio_dma *dma);

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
