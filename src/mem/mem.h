/* SPDX-License-Identifier: MIT */
/*
 * uiommu memory layer: physical frames (phys_), address spaces (mm_) and MMU
 * notifiers.
 *
 * Physical memory is one sparse memfd, mapped once into the process: the
 * direct map.  A physical address is base + offset into it.  Memory is
 * handed out in naturally aligned extents of 2^order 4 KiB frames by a buddy
 * allocator; freed extents are hole-punched so the host gets them back.
 *
 * Every frame has metadata: state, a reference count, a map count, an owner
 * and a generation.  The reference count is mapcount + pins: an address
 * space's mapping of a page holds one reference, every pin one more, and the
 * frame is freed when the count reaches zero.  A compound extent (a 2 MiB
 * "folio") keeps one count for all its frames, on its head.  The generation
 * of a frame is the value of a global epoch stamped at its last allocation:
 * a device that translated an address at epoch E may touch the frame only if
 * it is still allocated and its generation is <= E, which catches DMA into
 * freed and into reused memory alike.
 *
 * An address space (struct mm) stands for one process.  A region created
 * with mm_mmap() is a real pointer in this process: its frames are mapped
 * MAP_SHARED at that address, so client code uses it with loads and stores.
 * mm offers what the kernel offers type1: pin (get_user_pages), unpin,
 * discard (MADV_DONTNEED), unmap (munmap), MMU notifiers called before a
 * change, and locked-memory accounting against a modelled RLIMIT_MEMLOCK.
 * A pinned frame outlives a discard: the user's address gets a new frame,
 * the pinner keeps the old one.  An unpinned frame is freed by a discard.
 */
#ifndef UIOMMU_MEM_H
#define UIOMMU_MEM_H

#include <stdio.h>
#include <sys/queue.h>
#include <uiommu/base.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef uint64_t phys_addr_t;

#define PHYS_PAGE_SHIFT	  12
#define PHYS_PAGE_SIZE	  (1ULL << PHYS_PAGE_SHIFT)
#define PHYS_HUGE_ORDER	  9 /* 2 MiB */
#define PHYS_HUGE_SIZE	  (PHYS_PAGE_SIZE << PHYS_HUGE_ORDER)
#define PHYS_MAX_ORDER	  18 /* largest extent: 1 GiB */
#define PHYS_ADDR_INVALID ((phys_addr_t)-1)

#define PHYS_DEFAULT_BASE 0x80000000ULL
#define PHYS_DEFAULT_SIZE (16ULL << 30)

struct phys_mem;

struct phys_config {
	phys_addr_t base; /* first physical address, 1 GiB aligned */
	uint64_t size;	  /* bytes, a multiple of 1 GiB */
};

enum phys_frame_state {
	PHYS_FRAME_FREE = 0,
	PHYS_FRAME_ALLOCATED,
};

/* Owners: 0 is "nobody" (a bug for an allocated frame); ids from
 * phys_owner_alloc() name address spaces; PHYS_OWNER_KERNEL names memory the
 * emulated kernel and hardware own (page tables, queues). */
#define PHYS_OWNER_NONE	  0u
#define PHYS_OWNER_KERNEL 1u

/* phys_alloc_pages() flags */
#define PHYS_ALLOC_ZERO	    (1u << 0) /* contents read as zero */
#define PHYS_ALLOC_COMPOUND (1u << 1) /* one refcount for the whole extent */

struct phys_frame_info {
	enum phys_frame_state state;
	uint32_t refcount; /* of the extent's head for compound frames */
	uint32_t mapcount; /* likewise */
	uint32_t owner;
	unsigned int order; /* order of the compound extent, 0 otherwise */
	bool mapped;	    /* this 4 KiB frame is mapped by an mm */
	uint64_t gen;
};

struct phys_stats {
	uint64_t frames_total;
	uint64_t frames_free;
	uint64_t allocs;	/* extents allocated */
	uint64_t frees;		/* extents freed */
	uint64_t bytes_punched; /* returned to the host */
	uint64_t epoch;
};

/* Leak report over all frames (or those of one owner). */
struct phys_report {
	uint64_t allocated; /* allocated frames */
	uint64_t pinned;    /* frames with refcount > mapcount */
	uint64_t orphaned;  /* pinned but no longer mapped by anyone */
	uint64_t ownerless; /* allocated with owner PHYS_OWNER_NONE: a bug */
	uint64_t pin_refs;  /* sum of (refcount - mapcount) */
};

int phys_create(const struct phys_config *cfg, struct phys_mem **out);
void phys_destroy(struct phys_mem *pm);
phys_addr_t phys_base(const struct phys_mem *pm);
uint64_t phys_size(const struct phys_mem *pm);

uint32_t phys_owner_alloc(struct phys_mem *pm);

/* Allocate 2^order frames, naturally aligned, each with refcount 1 (or, with
 * PHYS_ALLOC_COMPOUND, one refcount of 1 on the head). */
int phys_alloc_pages(struct phys_mem *pm, unsigned int order,
		     unsigned int flags, uint32_t owner, phys_addr_t *pa);
/* Drop the allocation reference of every frame of an extent from
 * phys_alloc_pages(). */
void phys_free_pages(struct phys_mem *pm, phys_addr_t pa, unsigned int order);
/* Take / drop one reference on each of npages frames starting at pa (whole
 * runs through compound extents cost one atomic operation per extent). */
void phys_pin_range(struct phys_mem *pm, phys_addr_t pa, uint64_t npages);
void phys_unpin_range(struct phys_mem *pm, phys_addr_t pa, uint64_t npages);

/* The direct map: no checks at all. */
void *phys_to_virt(const struct phys_mem *pm, phys_addr_t pa);
phys_addr_t phys_virt_to_phys(const struct phys_mem *pm, const void *va);

/* Generations: the current epoch, and a frame's generation. */
uint64_t phys_epoch(const struct phys_mem *pm);
uint64_t phys_frame_gen(const struct phys_mem *pm, phys_addr_t pa);
/*
 * Checked access, for DMA: every frame touched must be allocated (-EFAULT
 * otherwise, and for addresses outside memory) and of generation <= gen
 * (-ESTALE otherwise: freed and reallocated since).  Nothing is copied unless
 * every frame passes.
 */
int phys_access_checked(struct phys_mem *pm, phys_addr_t pa, void *buf,
			size_t len, bool write, uint64_t gen);

/* ---- the CPU-cache view of non-snooping DMA (cache.c) -------------------- */

/*
 * The direct map is the CPU's view; behind the caches, memory holds only
 * what was written back.  cache_flush_phys() writes [pa, pa + len) back
 * (the kernel's arch_flush_cache_phys); a non-snooping device reads the
 * memory behind the caches (phys_access_checked_nc), so a missing flush
 * shows as stale data, and data an earlier owner of a frame wrote back as
 * leaked data.  -EINVAL outside memory.
 */
int cache_flush_phys(struct phys_mem *pm, phys_addr_t pa, size_t len);
/* What a non-snooping device would read (tests, reports). */
int cache_dram_read(struct phys_mem *pm, phys_addr_t pa, void *buf, size_t len);
/* phys_access_checked() for a non-snooping device. */
int phys_access_checked_nc(struct phys_mem *pm, phys_addr_t pa, void *buf,
			   size_t len, bool write, uint64_t gen);

struct cache_stats {
	uint64_t flushes, flush_bytes;
	uint64_t nc_read_bytes, nc_write_bytes;
};

void cache_get_stats(const struct phys_mem *pm, struct cache_stats *st);

int phys_frame_info(const struct phys_mem *pm, phys_addr_t pa,
		    struct phys_frame_info *info);
void phys_get_stats(const struct phys_mem *pm, struct phys_stats *st);
void phys_report(const struct phys_mem *pm, uint32_t owner,
		 struct phys_report *r);

/* ---- address spaces ---------------------------------------------------- */

struct mm;

/* VMA flags (the kernel's meaning) */
#define MM_VM_READ	   (1ULL << 0)
#define MM_VM_WRITE	   (1ULL << 1)
#define MM_VM_IO	   (1ULL << 18)
#define MM_VM_DONTEXPAND   (1ULL << 22)
#define MM_VM_PFNMAP	   (1ULL << 10)
#define MM_VM_DONTDUMP	   (1ULL << 26)
#define MM_VM_ALLOW_WC_BIT 39 /* VM_VFIO_ALLOW_WC */
#define MM_VM_ALLOW_WC	   (1ULL << MM_VM_ALLOW_WC_BIT)

/* mm_mmap() flags */
#define MM_MAP_POPULATE (1u << 0) /* back every page now */
#define MM_MAP_HUGE	(1u << 1) /* 2 MiB compound frames, 2 MiB aligned */
#define MM_MAP_LOCKED	(1u << 2) /* really mlock() the host pages */
#define MM_MAP_RDONLY	(1u << 3) /* no write access, no FOLL_WRITE pins */

/*
 * Adopt this process's own memory (malloc, anonymous mmap) when a pin
 * reaches an address no region covers: the pages move into physical frames
 * in place, same address and contents, and the range becomes a region.
 * Adopted: anonymous memory (private, a memfd, shared anonymous), hugetlb
 * memory (whole huge pages, keeping munmap's and madvise's hugetlb rules)
 * and private file mappings (MADV_DONTNEED reads the file back); a shared
 * file mapping or anything else -EFAULT (docs/mem.md).  The preload
 * library turns it on for the program it serves.
 */
void mm_set_adopt(struct mm *mm, bool on);

/*
 * The program's own munmap(2) and madvise(2), for the preload library:
 * host is the C library's call, made here at the kernel's point (the mm
 * lock held for writing, so no pin sees a half-done change), and its
 * errno is the answer (returned negated; 0 on success).  Both cost one
 * region-tree search plus the pages of the regions the range overlaps:
 * nothing per page of memory mm does not know.
 *
 * mm_foreign_munmap: the notifiers' invalidate_range_start runs on each
 * region piece in the range, then host(addr, len); if it succeeds the
 * pieces go (regions cut at both ends, a middle piece splits a region in
 * two; a pinned frame stays with its pinner), then invalidate_range_end.
 * A bad range (unaligned, zero length, wrapping) reaches only host; one
 * that cuts adopted hugetlb memory inside a huge page is -EINVAL without
 * calling host.  -ENOMEM without calling host when a split cannot be allocated (as
 * munmap when a VMA cannot be split).
 *
 * mm_foreign_madvise: for the discarding advices (MADV_DONTNEED,
 * MADV_DONTNEED_LOCKED, MADV_FREE, MADV_REMOVE), do_madvise's walk: the
 * checks of the arguments first (those failures, and other advices, go to
 * host whole), then in address order host on each stretch mm does not
 * know and, on each region piece, a discard (the mapped pages of adopted
 * memory read zero after it, a pinned frame stays with its pinner).  A
 * piece the kernel would refuse stops the walk with its errno: MADV_REMOVE
 * of adopted anonymous memory -EINVAL (hugetlb and private file memory:
 * their kernel rules, docs/mem.md), device
 * memory (IO|PFNMAP) -EINVAL, or -ENODEV for MADV_REMOVE.  Unmapped pages
 * give -ENOMEM at the end, as the kernel's walk.  -EAGAIN stops it if no
 * frame is left for a pinned page.
 */
int mm_foreign_munmap(struct mm *mm, void *addr, size_t len,
		      int (*host)(void *addr, size_t len));
int mm_foreign_madvise(struct mm *mm, void *addr, size_t len, int advice,
		       int (*host)(void *addr, size_t len, int advice));
/*
 * mremap(2): adopted memory in the old range (and, with MREMAP_FIXED, the
 * new one) is first given back to the program as private anonymous memory
 * with its contents (notifiers called, regions cut; a pinned frame stays
 * with its pinner and no longer aliases the program's page), then host
 * makes the call on memory that is the program's again; *out gets its
 * answer.  Device memory in the range: -EINVAL, nothing changed.
 */
int mm_foreign_mremap(struct mm *mm, void *addr, size_t old_len, size_t new_len,
		      int flags, void *new_addr,
		      void *(*host)(void *addr, size_t old_len, size_t new_len,
				    int flags, void *new_addr),
		      void **out);

/* gup flags */
#define MM_GUP_WRITE	(1u << 0) /* FOLL_WRITE */
#define MM_GUP_LONGTERM (1u << 1) /* charge locked_vm, as FOLL_LONGTERM */

/* A run of physically contiguous pinned pages. */
struct mm_pin_run {
	phys_addr_t pa;
	uint64_t npages;
};

struct mm_vma_info {
	unsigned long start, end; /* [start, end) of the region */
	uint64_t vm_flags;
};

struct mm_stats {
	uint64_t regions;
	uint64_t pin_calls;
	uint64_t pinned_pages;
	uint64_t unpinned_pages;
	uint64_t discarded_pages;
	uint64_t replaced_frames; /* pinned frames a discard left to the pinner */
	uint64_t unmapped_pages;
	uint64_t locked_vm; /* pages charged now */
	uint64_t locked_vm_peak;
	uint64_t acct_failures; /* charges refused with ENOMEM */
	/* cost of the range calls: region-tree searches (mm_find_vma, and one
	 * per munmap, discard or foreign call) and pages looked at */
	uint64_t vma_lookups;
	uint64_t pages_scanned;
};

int mm_create(struct phys_mem *pm, struct mm **out);
/* Tear down: notifiers' release, then every region unmapped.  Pins still
 * held keep their frames (orphaned, reported by phys_report). */
void mm_destroy(struct mm *mm);
struct phys_mem *mm_phys(const struct mm *mm);
uint32_t mm_owner(const struct mm *mm);

/*
 * Locked memory of the process the mm stands for: its RLIMIT_MEMLOCK
 * (bytes) and its CAP_IPC_LOCK, by default the real ones of this process
 * (the soft limit, and the capability in the effective set, read with
 * capget when the mm is created).
 *
 * mm_set_memlock_limit() models a limit for a process WITHOUT the
 * capability: it also clears the modelled CAP_IPC_LOCK, so that the
 * -ENOMEM boundary is testable whoever runs the tests (uiommu exec
 * --memlock, $UIOMMU_MEMLOCK).  mm_set_cap_ipc_lock() then sets or clears
 * the modelled capability, as capset would (tests).
 *
 * mm_cap_ipc_lock() is the kernel's capable(CAP_IPC_LOCK) for this process:
 * type1 takes it at MAP_DMA (the dma's lock_cap) and charges every later
 * pin of that dma with it; MM_GUP_LONGTERM pins take it when they pin.
 */
void mm_set_memlock_limit(struct mm *mm, uint64_t bytes);
uint64_t mm_memlock_limit(const struct mm *mm);
void mm_set_cap_ipc_lock(struct mm *mm, bool cap);
bool mm_cap_ipc_lock(const struct mm *mm);
/* Charge (npages > 0) or uncharge (npages < 0) locked_vm (the kernel's
 * __account_locked_vm).  A charge past the limit fails with -ENOMEM unless
 * lock_cap (the pinner's capability, taken when its pinning began) is
 * set; it is charged either way.  Uncharges never fail. */
int mm_lock_acct(struct mm *mm, long npages, bool lock_cap);
uint64_t mm_locked_vm(const struct mm *mm);
/*
 * The user's locked memory, shared by every mm (iommufd's default
 * accounting, IOMMU_OPTION_RLIMIT_MODE 0): charged against mm's
 * RLIMIT_MEMLOCK with no capability bypass (-ENOMEM past it); uncharges
 * never fail.  In pages.
 */
int mm_user_lock_acct(struct mm *mm, long npages);
uint64_t mm_user_locked_vm(void);

/* Create a region of len bytes (rounded up to pages); *addr receives it. */
int mm_mmap(struct mm *mm, size_t len, unsigned int flags, void **addr);
/* Map existing physical memory (device memory) as an IO|PFNMAP region, the
 * way remap_pfn_range does; vm_flags adds to those (e.g. MM_VM_ALLOW_WC). */
int mm_mmap_pfn(struct mm *mm, phys_addr_t pa, size_t len, uint64_t vm_flags,
		void **addr);

/*
 * Where a device mapping goes: mmap(2)'s addr and its placement flags.
 * addr 0: anywhere.  Without a flag addr is a hint, taken when the range
 * is free (the kernel's get_unmapped_area).  MM_PLACE_FIXED (MAP_FIXED):
 * exactly at addr (page-aligned, else -EINVAL), replacing what is mapped
 * there: the regions of this mm in the range are unmapped first, as
 * mm_munmap() would, and a host mapping there (a program's PROT_NONE
 * reservation) is replaced.  MM_PLACE_NOREPLACE (MAP_FIXED_NOREPLACE):
 * exactly at addr, -EEXIST if anything is mapped there.  Deviation: a
 * MAP_FIXED range that cuts a region of this mm only in part is -ENOMEM
 * (the kernel would split it).
 */
struct mm_place {
	unsigned long addr;
	unsigned int flags;
};
#define MM_PLACE_FIXED	   (1u << 0)
#define MM_PLACE_NOREPLACE (1u << 1)

/* mm_mmap_pfn at place (NULL: anywhere). */
int mm_mmap_pfn_at(struct mm *mm, phys_addr_t pa, size_t len, uint64_t vm_flags,
		   const struct mm_place *place, void **addr);
int mm_munmap(struct mm *mm, void *addr, size_t len);
int mm_discard(struct mm *mm, void *addr, size_t len);
int mm_find_vma(struct mm *mm, unsigned long uaddr, struct mm_vma_info *info);
/* follow_pfn for IO|PFNMAP regions; -EINVAL for regions of pinnable pages. */
int mm_follow_pfn(struct mm *mm, unsigned long uaddr, phys_addr_t *pa,
		  uint64_t *vm_flags);

/*
 * Pin npages user pages from uaddr (get_user_pages).  Physically contiguous
 * pages are returned as runs.  All or nothing on error: -EFAULT for an
 * address outside any region, a hole, an IO/PFNMAP region or a write pin of
 * a read-only one; -ENOMEM when a MM_GUP_LONGTERM charge exceeds the limit.
 * When max_runs runs are used up the pin stops early: the return value is
 * the number of pages pinned (> 0).
 */
long mm_pin_pages(struct mm *mm, unsigned long uaddr, unsigned long npages,
		  unsigned int gup_flags, struct mm_pin_run *runs,
		  unsigned int max_runs, unsigned int *nr_runs);
/* Unpin runs from mm_pin_pages() (uncharging if MM_GUP_LONGTERM). */
void mm_unpin_pages(struct mm *mm, const struct mm_pin_run *runs,
		    unsigned int nr_runs, unsigned int gup_flags);

void mm_get_stats(const struct mm *mm, struct mm_stats *st);

/* ---- MMU notifiers ------------------------------------------------------ */

enum mmu_notifier_event {
	MMU_NOTIFY_UNMAP,   /* munmap */
	MMU_NOTIFY_DISCARD, /* MADV_DONTNEED */
};

struct mmu_notifier_range {
	struct mm *mm;
	unsigned long start, end; /* [start, end), page aligned */
	enum mmu_notifier_event event;
};

struct mmu_notifier;

/*
 * Called with the mm's lock held for writing, before (start) and after (end)
 * the pages change: a callback may unpin and touch the IOMMU but must not
 * call back into this mm's region functions.  release() runs once from
 * mm_destroy() before any region goes.
 */
struct mmu_notifier_ops {
	void (*invalidate_range_start)(struct mmu_notifier *mn,
				       const struct mmu_notifier_range *r);
	void (*invalidate_range_end)(struct mmu_notifier *mn,
				     const struct mmu_notifier_range *r);
	void (*release)(struct mmu_notifier *mn, struct mm *mm);
};

struct mmu_notifier {
	const struct mmu_notifier_ops *ops;
	/* private to mm */
	struct mm *mm;
	LIST_ENTRY(mmu_notifier) link;
};

int mmu_notifier_register(struct mmu_notifier *mn, struct mm *mm);
void mmu_notifier_unregister(struct mmu_notifier *mn);

/* ---- invariants --------------------------------------------------------- */

/*
 * Teardown checker for tests: reports (to log, if not NULL) pinned frames,
 * orphans and ownerless frames of the whole memory, and returns how many
 * problems it found; frames of owner 'keep' (e.g. PHYS_OWNER_KERNEL for
 * page tables still in use) are allowed to stay allocated.
 */
int mem_check_invariants(const struct phys_mem *pm, uint32_t keep, FILE *log);
/* An mm's own invariants: locked_vm back to zero, no pins on its frames. */
int mm_check_invariants(const struct mm *mm, FILE *log);

#ifdef __cplusplus
}
#endif
#endif /* UIOMMU_MEM_H */
