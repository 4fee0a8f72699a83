// SPDX-License-Identifier: MIT
/*
 * Address spaces: regions of real process memory backed by physical frames,
 * with get_user_pages-style pinning, discard and unmap, MMU notifiers and
 * locked-memory accounting.
 *
 * Data model:
 *  - struct mm has an RB tree of regions keyed by start address.  A region
 *    owns a host address range [start, end) reserved with PROT_NONE; each
 *    of its pages is either a hole (pfns[i] == PFN_NONE, PROT_NONE on the
 *    host) or maps a frame (the memfd page at that frame's offset, mapped
 *    MAP_SHARED|MAP_FIXED at the page's address).
 *  - A mapped page holds one reference on its frame's extent (mapcount);
 *    each pin holds one more (phys.h).
 *  - For 2 MiB-backed regions, huge[] has a bit per 2 MiB chunk that maps
 *    the 512 pages of one compound extent in order; pinning such a chunk is
 *    one atomic operation.  A chunk loses its bit when any page of it
 *    changes.
 *  - IO|PFNMAP regions (device memory, mm_mmap_pfn) map frames they do not
 *    reference, like remap_pfn_range; they cannot be pinned, only followed.
 *  - Trapped regions (mm_mmap_trapped, mmio_trap.c) are IO|PFNMAP regions
 *    without frames: each page is PFN_TRAP while trapped and stays
 *    PROT_NONE on the host (a device mapping, mm_mmap_device, mixes such
 *    pages with frames mapped as mm_mmap_pfn maps them); the region's trap (shared by the pieces a cut
 *    leaves) loses a page when the region does, under mmap_lock, and each
 *    call that unmapped trapped pages ends, after dropping mmap_lock, with
 *    mmio_trap_sync(), which waits for the handlers still using them.
 *  - Regions never overlap, so the tree ordered by start is ordered by end
 *    too: first_overlap() answers "which regions meet [s, e)" with one
 *    descent, and range calls do per-page work only inside the overlap.
 *  - The program's own munmap (mm_foreign_munmap, for the preload library)
 *    cuts regions as munmap cuts VMAs: no region keeps a hole over address
 *    space the host may hand out again.
 *  - Adopted regions (the process's own memory a pin took, host_vma.c
 *    says which) remember what they were: MM_MAP_HUGETLB regions start
 *    and end on their huge page size (hpage_size; cuts keep that, munmap
 *    and madvise keep hugetlb's rules), MM_MAP_FILE regions hold their
 *    file (struct mm_file, refcounted by the pieces a cut leaves, closed
 *    with the last) and its offset, so that a discard reads it back.
 *
 * Locking: mmap_lock (a struct rw_semaphore) guards the region tree, every
 * region's pages and the notifier list.  Pins take it for reading; discard,
 * unmap, mmap and notifier (un)registration for writing.  A region not yet
 * in the tree (mm_mmap() building one) is private to its builder.
 * Unpinning needs no mm lock: it only drops frame references (phys.h).
 * locked_vm is an atomic charged with compare-and-swap against the
 * modelled limit.
 *
 * Lock order: the layers above call in holding their own locks (vfio pins
 * under its container lock) and the MMU notifiers call back up with
 * mmap_lock held (kvm's invalidation takes its mmu_lock, vfio's takes its
 * fault lock), so mmap_lock ranks after the first and before the second
 * (MEM_LOCK_MMAP, phys.h and lib/lock.h).  Under mmap_lock the mm takes
 * phys_mem's lock to allocate and free frames.  No notifier callback may
 * call back into the mm: mmap_lock is not recursive.
 *
 * Invariants: a page's frame is PF_MAPPED exactly while some region maps
 * it; a region with no mapped page is removed; a failed call changed
 * nothing (mmap, discard and pin are all-or-nothing).
 */
#include <bsd/sys/tree.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <linux/capability.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "host_vma.h"
#include "mmio_trap.h"
#include "phys.h"

#define PAGES_PER_HUGE (1u << PHYS_HUGE_ORDER)

#ifndef MADV_DONTNEED_LOCKED
#define MADV_DONTNEED_LOCKED 24 /* Linux 5.18 */
#endif

/* region map_flags of adopted memory (never given to mm_mmap) */
#define MM_MAP_ADOPTED	   (1u << 30) /* the process's own memory, adopted */
#define MM_MAP_KEEP_HOST   (1u << 31) /* adoption failed before the remap */
#define MM_MAP_TRAPPED	   (1u << 29) /* trapped MMIO (mm_mmap_trapped) */
#define MM_MAP_HUGETLB	   (1u << 28) /* adopted MAP_HUGETLB memory */
#define MM_MAP_FILE	   (1u << 27) /* adopted private file mapping */
#define MM_MAP_SHARED_HOST (1u << 26) /* adopted from a MAP_SHARED mapping */

/* The file behind adopted private file memory, shared by the pieces a
 * cut leaves (refs under mmap_lock, or private to a region's builder). */
struct mm_file {
	int fd;
	unsigned int refs;
};

/* the page of a trapped region that is trapped (it has no frame) */
#define PFN_TRAP (PFN_NONE - 1)

struct mm_region {
	RB_ENTRY(mm_region) rb;
	unsigned long start, end; /* [start, end) */
	unsigned long nr_pages;
	unsigned long nr_mapped;
	uint64_t vm_flags;
	unsigned int map_flags;
	uint32_t *pfns;		  /* per page, PFN_NONE for holes */
	uint64_t *huge;		  /* bitmap per 2 MiB chunk, NULL unless huge */
	phys_addr_t pfnmap_pa;	  /* IO|PFNMAP: physical base of the region */
	struct mmio_trap *trap;	  /* MM_MAP_TRAPPED: its pages' trap */
	unsigned long hpage_size; /* MM_MAP_HUGETLB: the host's page size */
	struct mm_file *file;	  /* MM_MAP_FILE: what a discard reads back */
	uint64_t file_off;	  /* MM_MAP_FILE: the file offset of start */
};

static int region_cmp(struct mm_region *a, struct mm_region *b)
{
	return (a->start > b->start) - (a->start < b->start);
}

RB_HEAD(mm_region_tree, mm_region);
/* libbsd leaves __unused undefined (it clashes with Linux headers). */
RB_GENERATE_INTERNAL(mm_region_tree, mm_region, rb, region_cmp,
		     __attribute__((unused)) static)

struct mm {
	struct phys_mem *pm; /* immutable */
	uint32_t owner;	     /* immutable */

	struct rw_semaphore mmap_lock;
	struct mm_region_tree regions;	     /* mmap_lock */
	LIST_HEAD(, mmu_notifier) notifiers; /* mmap_lock */
	_Atomic uint64_t memlock_limit;	     /* bytes */
	_Atomic bool cap_ipc_lock;
	_Atomic uint64_t locked_vm; /* pages */
	_Atomic bool adopt;	    /* adopt the process's own memory */

	/* statistics, atomics (pins run concurrently) */
	_Atomic uint64_t nr_regions, pin_calls, pinned_pages, unpinned_pages;
	_Atomic uint64_t discarded_pages, replaced_frames, unmapped_pages;
	_Atomic uint64_t locked_vm_peak, acct_failures, adopted_pages;
	_Atomic uint64_t vma_lookups, pages_scanned;
};

#define stat_add(mm, field, n) \
	atomic_fetch_add_explicit(&(mm)->field, (n), memory_order_relaxed)

static bool mm_process_cap_ipc_lock(void);

int mm_create(struct phys_mem *pm, struct mm **out)
{
	struct rlimit rl;
	struct mm *mm;

	mm = ui_zalloc(sizeof(*mm));
	if (!mm)
		return -ENOMEM;
	mm->pm = pm;
	mm->owner = phys_owner_alloc(pm);
	init_rwsem(&mm->mmap_lock, MEM_LOCK_MMAP);
	RB_INIT(&mm->regions);
	LIST_INIT(&mm->notifiers);
	if (getrlimit(RLIMIT_MEMLOCK, &rl) || rl.rlim_cur == RLIM_INFINITY)
		rl.rlim_cur = UINT64_MAX;
	atomic_init(&mm->memlock_limit, rl.rlim_cur);
	atomic_init(&mm->cap_ipc_lock, mm_process_cap_ipc_lock());
	*out = mm;
	return 0;
}

struct phys_mem *mm_phys(const struct mm *mm)
{
	return mm->pm;
}

uint32_t mm_owner(const struct mm *mm)
{
	return mm->owner;
}

/* ---- locked memory -------------------------------------------------------- */

/*
 * The process's real CAP_IPC_LOCK: in its effective set (capget, pid 0).
 * Read once per mm, when it is created (the mm stands for the process), so
 * that no MAP_DMA makes a system call; false if capget fails.
 */
static bool mm_process_cap_ipc_lock(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
		.pid = 0,
	};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {0};

	if (syscall(SYS_capget, &hdr, data))
		return false;
	return data[CAP_TO_INDEX(CAP_IPC_LOCK)].effective &
	       CAP_TO_MASK(CAP_IPC_LOCK);
}

/* A modelled limit is one for a process without the capability. */
void mm_set_memlock_limit(struct mm *mm, uint64_t bytes)
{
	atomic_store(&mm->memlock_limit, bytes);
	atomic_store(&mm->cap_ipc_lock, false);
}

uint64_t mm_memlock_limit(const struct mm *mm)
{
	return atomic_load(&mm->memlock_limit);
}

void mm_set_cap_ipc_lock(struct mm *mm, bool cap)
{
	atomic_store(&mm->cap_ipc_lock, cap);
}

bool mm_cap_ipc_lock(const struct mm *mm)
{
	return atomic_load(&mm->cap_ipc_lock);
}

uint64_t mm_locked_vm(const struct mm *mm)
{
	return atomic_load(&mm->locked_vm);
}

int mm_lock_acct(struct mm *mm, long npages, bool lock_cap)
{
	uint64_t cur, next, limit;

	if (!npages)
		return 0;
	if (npages < 0) {
		cur = atomic_fetch_sub(&mm->locked_vm, (uint64_t)-npages);
		WARN_ON(cur < (uint64_t)-npages);
		return 0;
	}
	/* lock_cap is the caller's capable(CAP_IPC_LOCK), taken when the
	 * pinning started (type1: at MAP_DMA, dma->lock_cap), not now */
	limit = atomic_load(&mm->memlock_limit) >> PHYS_PAGE_SHIFT;
	cur = atomic_load(&mm->locked_vm);
	do {
		next = cur + npages;
		if (next > limit && !lock_cap) {
			stat_add(mm, acct_failures, 1);
			return -ENOMEM;
		}
	} while (!atomic_compare_exchange_weak(&mm->locked_vm, &cur, next));

	cur = atomic_load(&mm->locked_vm_peak);
	while (next > cur &&
	       !atomic_compare_exchange_weak(&mm->locked_vm_peak, &cur, next))
		;
	return 0;
}

/*
 * The user's locked memory (the kernel's user_struct locked_vm, which
 * iommufd charges in its default RLIMIT_MODE): one counter for every mm,
 * as every mm here stands for a process of the one user running uiommu.
 * The limit is the charging mm's RLIMIT_MEMLOCK; no capability bypasses
 * it (iommufd does not charge at all for a CAP_IPC_LOCK caller).
 */
static _Atomic uint64_t mm_user_locked;

int mm_user_lock_acct(struct mm *mm, long npages)
{
	uint64_t cur, next, limit;

	if (!npages)
		return 0;
	if (npages < 0) {
		cur = atomic_fetch_sub(&mm_user_locked, (uint64_t)-npages);
		WARN_ON(cur < (uint64_t)-npages);
		return 0;
	}
	limit = atomic_load(&mm->memlock_limit) >> PHYS_PAGE_SHIFT;
	cur = atomic_load(&mm_user_locked);
	do {
		next = cur + npages;
		if (next > limit) {
			stat_add(mm, acct_failures, 1);
			return -ENOMEM;
		}
	} while (!atomic_compare_exchange_weak(&mm_user_locked, &cur, next));
	return 0;
}

uint64_t mm_user_locked_vm(void)
{
	return atomic_load(&mm_user_locked);
}

/* ---- regions -------------------------------------------------------------- */

static struct mm_region *find_region(struct mm *mm, unsigned long addr)
{
	struct mm_region *r = RB_ROOT(&mm->regions);

	lockdep_assert_held(&mm->mmap_lock);
	while (r) {
		if (addr < r->start)
			r = RB_LEFT(r, rb);
		else if (addr >= r->end)
			r = RB_RIGHT(r, rb);
		else
			return r;
	}
	return NULL;
}

/*
 * The lowest region overlapping [start, end), or NULL: one descent of the
 * tree (regions never overlap, so the tree ordered by start is ordered by
 * end too).  The regions after it in the range follow with RB_NEXT.
 */
static struct mm_region *first_overlap(struct mm *mm, unsigned long start,
				       unsigned long end)
{
	struct mm_region *r = RB_ROOT(&mm->regions), *best = NULL;

	lockdep_assert_held(&mm->mmap_lock);
	stat_add(mm, vma_lookups, 1);
	while (r) {
		if (r->end > start) {
			best = r;
			r = RB_LEFT(r, rb);
		} else {
			r = RB_RIGHT(r, rb);
		}
	}
	return best && best->start < end ? best : NULL;
}

/* The region after r, if it still overlaps [.., end). */
static struct mm_region *next_overlap(struct mm *mm, struct mm_region *r,
				      unsigned long end)
{
	lockdep_assert_held(&mm->mmap_lock);
	r = RB_NEXT(mm_region_tree, &mm->regions, r);
	return r && r->start < end ? r : NULL;
}

static inline unsigned long region_idx(const struct mm_region *r,
				       unsigned long addr)
{
	return (addr - r->start) >> PHYS_PAGE_SHIFT;
}

static inline bool chunk_huge(const struct mm_region *r, unsigned long idx)
{
	unsigned long c = idx / PAGES_PER_HUGE;

	return r->huge && (r->huge[c / 64] & (1ULL << (c % 64)));
}

static inline void chunk_clear_huge(struct mm_region *r, unsigned long idx)
{
	unsigned long c = idx / PAGES_PER_HUGE;

	if (r->huge)
		r->huge[c / 64] &= ~(1ULL << (c % 64));
}

/* Reserve len bytes of host address space aligned to align. */
static void *reserve_va(size_t len, size_t align)
{
	uint8_t *p, *a;

	p = mmap(NULL, len + align, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	a = (uint8_t *)ALIGN_UP((uintptr_t)p, align);
	if (a > p)
		munmap(p, a - p);
	if (a + len < p + len + align)
		munmap(a + len, p + len + align - (a + len));
	return a;
}

/* Put the host range back to an inaccessible reservation. */
static void unback_va(unsigned long addr, size_t len)
{
	mmap((void *)addr, len, PROT_NONE,
	     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
}

/* Map pages [idx, idx + n) of r, whose frames are consecutive, on the host. */
static int back_va(struct mm *mm, struct mm_region *r, unsigned long idx,
		   unsigned long n)
{
	int prot = PROT_READ;
	int flags = MAP_SHARED | MAP_FIXED;
	void *p;

	if (!(r->map_flags & MM_MAP_RDONLY))
		prot |= PROT_WRITE;
	if (r->map_flags & MM_MAP_POPULATE)
		flags |= MAP_POPULATE;
	p = mmap((void *)(r->start + (idx << PHYS_PAGE_SHIFT)),
		 n << PHYS_PAGE_SHIFT, prot, flags, mm->pm->memfd,
		 (off_t)r->pfns[idx] << PHYS_PAGE_SHIFT);
	return p == MAP_FAILED ? -errno : 0;
}

/* Map every run of consecutive frames of pages [idx, idx + n). */
static int back_va_runs(struct mm *mm, struct mm_region *r, unsigned long idx,
			unsigned long n)
{
	unsigned long i = idx, j, end = idx + n;
	int ret;

	while (i < end) {
		for (j = i + 1; j < end && r->pfns[j] == r->pfns[j - 1] + 1;
		     j++)
			;
		ret = back_va(mm, r, i, j - i);
		if (ret)
			return ret;
		i = j;
	}
	return 0;
}

static void region_free(struct mm_region *r)
{
	if (r->file && !--r->file->refs) {
		close(r->file->fd);
		ui_free(r->file);
	}
	ui_free(r->huge);
	ui_free(r->pfns);
	ui_free(r);
}

static struct mm_region *region_alloc(unsigned long nr_pages, bool huge)
{
	struct mm_region *r;
	unsigned long chunks;

	r = ui_zalloc(sizeof(*r));
	if (!r)
		return NULL;
	r->nr_pages = nr_pages;
	r->pfns = ui_malloc(nr_pages * sizeof(*r->pfns));
	if (!r->pfns)
		goto err;
	memset(r->pfns, 0xff, nr_pages * sizeof(*r->pfns)); /* PFN_NONE */
	if (huge) {
		chunks = DIV_ROUND_UP(nr_pages, PAGES_PER_HUGE);
		r->huge = ui_calloc(DIV_ROUND_UP(chunks, 64), sizeof(uint64_t));
		if (!r->huge)
			goto err;
	}
	return r;
err:
	region_free(r);
	return NULL;
}

/* Batch of order-0 frames whose last reference went: freed as runs. */
struct free_batch {
	uint32_t pfn, nr;
};

static void free_batch_flush(struct phys_mem *pm, struct free_batch *b);

/*
 * Drop a mapping reference of page idx of r.  Plain frames that go free are
 * batched so that a large unmap punches and frees runs, not pages.
 */
static void unmap_page(struct mm *mm, struct mm_region *r, unsigned long idx,
		       struct free_batch *b)
{
	struct phys_mem *pm = mm->pm;
	uint32_t pfn = r->pfns[idx], head = frame_head_pfn(pm, pfn);
	struct phys_frame *f = pfn_frame(pm, pfn), *h = pfn_frame(pm, head);

	__atomic_fetch_and(&f->flags, (uint16_t)~PF_MAPPED, __ATOMIC_RELAXED);
	h->mapcount--;
	r->pfns[idx] = PFN_NONE;
	r->nr_mapped--;
	chunk_clear_huge(r, idx);

	if (h->flags & PF_HEAD) {
		frame_put(pm, head, 1);
		return;
	}
	if (atomic_fetch_sub_explicit(&h->refcount, 1, memory_order_acq_rel) !=
	    1)
		return;
	/* last reference: free with its neighbours */
	if (b->nr && b->pfn + b->nr == pfn) {
		b->nr++;
		return;
	}
	free_batch_flush(pm, b);
	b->pfn = pfn;
	b->nr = 1;
}

/* Defined in phys.c's terms: free a run of plain frames with no references. */
static void free_batch_flush(struct phys_mem *pm, struct free_batch *b)
{
	uint32_t pfn = b->pfn, end = b->pfn + b->nr;

	while (pfn < end) {
		unsigned int order = 0;

		/* largest naturally aligned power-of-two piece */
		while (order < PHYS_MAX_ORDER && !(pfn & (1u << order)) &&
		       pfn + (2u << order) <= end)
			order++;
		/* turn the piece into one extent, then free it at once */
		pfn_frame(pm, pfn)->flags = order ? PF_HEAD : 0;
		pfn_frame(pm, pfn)->order = order;
		atomic_store(&pfn_frame(pm, pfn)->refcount, 1);
		frame_put(pm, pfn, 1);
		pfn += 1u << order;
	}
	b->nr = 0;
}

/* Give adopted memory back to the process as private anonymous memory
 * with the frames' contents (teardown).  Pages without a frame read zero. */
static void unadopt_host(struct mm *mm, struct mm_region *r)
{
	int prot = PROT_READ | (r->vm_flags & MM_VM_WRITE ? PROT_WRITE : 0);
	unsigned long i;

	if (mmap((void *)r->start, r->end - r->start, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
		return;
	for (i = 0; i < r->nr_pages; i++)
		if (r->pfns[i] != PFN_NONE)
			memcpy((void *)(r->start + (i << PHYS_PAGE_SHIFT)),
			       __phys_to_virt(mm->pm,
					      pfn_to_pa(mm->pm, r->pfns[i])),
			       PHYS_PAGE_SIZE);
	mprotect((void *)r->start, r->end - r->start, prot);
}

static void region_unmap_all(struct mm *mm, struct mm_region *r)
{
	struct free_batch b = {0, 0};
	unsigned long i;

	stat_add(mm, unmapped_pages, r->nr_mapped);
	if (r->map_flags & MM_MAP_TRAPPED)
		mmio_trap_unmap(r->trap, r->start, r->end);
	if ((r->map_flags & (MM_MAP_ADOPTED | MM_MAP_KEEP_HOST)) ==
	    MM_MAP_ADOPTED)
		unadopt_host(mm, r);
	if (!(r->vm_flags & MM_VM_PFNMAP))
		for (i = 0; i < r->nr_pages; i++)
			if (r->pfns[i] != PFN_NONE)
				unmap_page(mm, r, i, &b);
	free_batch_flush(mm->pm, &b);
	r->nr_mapped = 0;
	/* adopted memory stays the process's */
	if (!(r->map_flags & MM_MAP_ADOPTED))
		munmap((void *)r->start, r->end - r->start);
}

/* Allocate frames for all pages of a new region. */
static int region_populate(struct mm *mm, struct mm_region *r)
{
	struct phys_mem *pm = mm->pm;
	unsigned long i = 0, n = r->nr_pages, k;
	unsigned int order;
	uint32_t pfn;
	int ret;

	while (i < n) {
		bool huge = r->huge && n - i >= PAGES_PER_HUGE;

		if (huge) {
			order = PHYS_HUGE_ORDER;
		} else {
			order = 63 - __builtin_clzll(n - i);
			order = min(order, (unsigned int)PHYS_MAX_ORDER);
		}
		for (;;) {
			ret = __phys_alloc(pm, order,
					   huge ? PHYS_ALLOC_COMPOUND : 0,
					   mm->owner, &pfn);
			if (ret != -ENOMEM || !order || uiommu_fail_fired())
				break;
			if (huge)
				huge = false; /* fragmented: fall back */
			order--;
		}
		if (ret)
			return ret;
		for (k = 0; k < (1ul << order); k++) {
			struct phys_frame *f = pfn_frame(pm, pfn + k);

			r->pfns[i + k] = pfn + k;
			__atomic_fetch_or(&f->flags, PF_MAPPED,
					  __ATOMIC_RELAXED);
			if (!huge)
				f->mapcount = 1;
		}
		if (huge) {
			struct phys_frame *h = pfn_frame(pm, pfn);
			unsigned long c = i / PAGES_PER_HUGE;

			h->mapcount = PAGES_PER_HUGE;
			frame_get(pm, pfn, PAGES_PER_HUGE - 1);
			r->huge[c / 64] |= 1ULL << (c % 64);
		}
		r->nr_mapped += 1ul << order;
		i += 1ul << order;
	}
	return 0;
}

/* Give the new region r a host range of len bytes aligned to align. */
static int region_reserve(struct mm_region *r, size_t len, size_t align)
{
	void *va = reserve_va(len, align);

	if (!va)
		return -ENOMEM;
	r->start = (unsigned long)va;
	r->end = r->start + len;
	return 0;
}

/*
 * Reserve r's range (len bytes, PROT_NONE) at place (struct mm_place,
 * mem.h; NULL or no address: region_reserve's search).  For MAP_FIXED the
 * regions of mm in the range are unmapped first, as mm_munmap() does, and
 * the host mapping there is replaced by the reservation in one mmap; the
 * range is not held in between (another thread's mmap of the same
 * addresses in that window is the program's race, as with munmap+mmap).
 */
static int region_reserve_at(struct mm *mm, struct mm_region *r, size_t len,
			     size_t align, const struct mm_place *pl)
{
	const unsigned int exact = MM_PLACE_FIXED | MM_PLACE_NOREPLACE;
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
	bool busy, partial = false;
	struct mm_region *o;
	unsigned long a;
	void *va;
	int ret;

	if (!pl || (!pl->addr && !(pl->flags & exact)))
		return region_reserve(r, len, align);
	a = pl->addr;
	if (pl->flags & exact) {
		if (!IS_ALIGNED(a, PHYS_PAGE_SIZE))
			return -EINVAL;
		if (!a)
			return -EPERM; /* below mmap_min_addr */
		if (a + len < a)
			return -ENOMEM;
		down_read(&mm->mmap_lock);
		busy = false;
		for (o = first_overlap(mm, a, a + len); o;
		     o = next_overlap(mm, o, a + len)) {
			busy = true;
			/* a region cut in part: not split here */
			partial |= o->start < a || o->end > a + len;
		}
		up_read(&mm->mmap_lock);
		if (busy && (pl->flags & MM_PLACE_NOREPLACE))
			return -EEXIST;
		if (partial)
			return -ENOMEM;
		if (busy) {
			ret = mm_munmap(mm, (void *)a, len);
			if (ret)
				return ret;
		}
		flags |= pl->flags & MM_PLACE_FIXED ? MAP_FIXED
						    : MAP_FIXED_NOREPLACE;
	}
	va = mmap((void *)a, len, PROT_NONE, flags, -1, 0);
	if (va == MAP_FAILED)
		return -errno;
	if ((pl->flags & exact) && (unsigned long)va != a) {
		/* a kernel without MAP_FIXED_NOREPLACE took it as a hint */
		munmap(va, len);
		return -EEXIST;
	}
	r->start = (unsigned long)va;
	r->end = r->start + len;
	return 0;
}

/* Publish the new region r, built without the lock, at *addr. */
static void mm_insert_region(struct mm *mm, struct mm_region *r, void **addr)
{
	down_write(&mm->mmap_lock);
	RB_INSERT(mm_region_tree, &mm->regions, r);
	up_write(&mm->mmap_lock);
	stat_add(mm, nr_regions, 1);
	*addr = (void *)r->start;
}

int mm_mmap(struct mm *mm, size_t len, unsigned int flags, void **addr)
{
	bool huge = flags & MM_MAP_HUGE;
	struct mm_region *r;
	size_t align;
	int ret;

	if (!len || len > (1ULL << 46) ||
	    (flags &
	     ~(MM_MAP_POPULATE | MM_MAP_HUGE | MM_MAP_LOCKED | MM_MAP_RDONLY)))
		return -EINVAL;
	len = ALIGN_UP(len, PHYS_PAGE_SIZE);

	r = region_alloc(len >> PHYS_PAGE_SHIFT, huge);
	if (!r)
		return -ENOMEM;
	r->map_flags = flags;
	r->vm_flags = MM_VM_READ | (flags & MM_MAP_RDONLY ? 0 : MM_VM_WRITE);

	align = len >= PHYS_HUGE_SIZE ? PHYS_HUGE_SIZE : PHYS_PAGE_SIZE;
	ret = region_reserve(r, len, align);
	if (ret)
		goto err_region;

	ret = region_populate(mm, r);
	if (ret)
		goto err_frames;
	ret = back_va_runs(mm, r, 0, r->nr_pages);
	if (ret)
		goto err_frames;
	if ((flags & MM_MAP_LOCKED) && mlock((void *)r->start, len)) {
		ret = -errno;
		goto err_frames;
	}
	mm_insert_region(mm, r, addr);
	return 0;

err_frames:
	region_unmap_all(mm, r);
err_region:
	region_free(r);
	return ret;
}

int mm_mmap_pfn(struct mm *mm, phys_addr_t pa, size_t len, uint64_t vm_flags,
		void **addr)
{
	return mm_mmap_pfn_at(mm, pa, len, vm_flags, NULL, addr);
}

int mm_mmap_pfn_at(struct mm *mm, phys_addr_t pa, size_t len, uint64_t vm_flags,
		   const struct mm_place *place, void **addr)
{
	struct phys_mem *pm = mm->pm;
	struct mm_region *r;
	phys_addr_t last;
	unsigned long i;
	int ret;

	if (!len || !IS_ALIGNED(pa, PHYS_PAGE_SIZE) ||
	    check_add_overflow(pa, (phys_addr_t)len - 1, &last) ||
	    !phys_pa_valid(pm, pa) || !phys_pa_valid(pm, last))
		return -EINVAL;
	len = ALIGN_UP(len, PHYS_PAGE_SIZE);

	r = region_alloc(len >> PHYS_PAGE_SHIFT, false);
	if (!r)
		return -ENOMEM;
	r->vm_flags = vm_flags | MM_VM_READ | MM_VM_WRITE | MM_VM_IO |
		      MM_VM_PFNMAP | MM_VM_DONTEXPAND | MM_VM_DONTDUMP;
	r->pfnmap_pa = pa;
	ret = region_reserve_at(mm, r, len, PHYS_PAGE_SIZE, place);
	if (ret)
		goto err_region;
	for (i = 0; i < r->nr_pages; i++)
		r->pfns[i] = pa_to_pfn(pm, pa) + i;
	r->nr_mapped = r->nr_pages;
	ret = back_va(mm, r, 0, r->nr_pages);
	if (ret)
		goto err_va;
	mm_insert_region(mm, r, addr);
	return 0;

err_va:
	munmap((void *)r->start, len);
err_region:
	region_free(r);
	return ret;
}

int mm_mmap_trapped(struct mm *mm, size_t len, const struct mmio_trap_ops *ops,
		    void *priv, void **addr)
{
	if (!ops)
		return -EINVAL;
	return mm_mmap_device(mm, len, NULL, 0, ops, priv, 0, addr);
}

int mm_mmap_device(struct mm *mm, size_t len, const phys_addr_t *pages,
		   uint64_t vm_flags, const struct mmio_trap_ops *ops,
		   void *priv, uint64_t base, void **addr)
{
	return mm_mmap_device_zap(mm, len, pages, vm_flags, ops, priv, base,
				  NULL, NULL, addr);
}

int mm_mmap_device_at(struct mm *mm, size_t len, const phys_addr_t *pages,
		      uint64_t vm_flags, const struct mmio_trap_ops *ops,
		      void *priv, uint64_t base, const struct mm_place *place,
		      void **addr)
{
	return mm_mmap_device_zap(mm, len, pages, vm_flags, ops, priv, base,
				  NULL, place, addr);
}

/* A zappable mapping has a trap whatever its pages (the frames' bits). */
int mm_mmap_device_zap(struct mm *mm, size_t len, const phys_addr_t *pages,
		       uint64_t vm_flags, const struct mmio_trap_ops *ops,
		       void *priv, uint64_t base, struct mmio_zap *zap,
		       const struct mm_place *place, void **addr)
{
	unsigned long i, j, n, trapped = 0;
	struct mm_region *r;
	int ret;

	if (!len || len > (1ULL << 46) || (ops && (!ops->read || !ops->write)))
		return -EINVAL;
	n = ALIGN_UP(len, PHYS_PAGE_SIZE) >> PHYS_PAGE_SHIFT;
	for (i = 0; i < n; i++) {
		if (pages && pages[i] != PHYS_ADDR_INVALID) {
			if (!IS_ALIGNED(pages[i], PHYS_PAGE_SIZE) ||
			    !phys_pa_valid(mm->pm, pages[i]))
				return -EINVAL;
		} else {
			trapped++;
		}
	}
	if (trapped && !ops)
		return -EINVAL;
	len = n << PHYS_PAGE_SHIFT;

	r = region_alloc(n, false);
	if (!r)
		return -ENOMEM;
	r->map_flags = trapped || zap ? MM_MAP_TRAPPED : 0;
	r->vm_flags = vm_flags | MM_VM_READ | MM_VM_WRITE | MM_VM_IO |
		      MM_VM_PFNMAP | MM_VM_DONTEXPAND | MM_VM_DONTDUMP;
	/* the reservation is PROT_NONE, and stays so on trapped pages */
	ret = region_reserve_at(mm, r, len, PHYS_PAGE_SIZE, place);
	if (ret)
		goto err_region;
	for (i = 0; i < n; i++)
		r->pfns[i] = pages && pages[i] != PHYS_ADDR_INVALID
				     ? pa_to_pfn(mm->pm, pages[i])
				     : PFN_TRAP;
	r->nr_mapped = n;
	/* each run of consecutive frames in one host mapping */
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && r->pfns[i] != PFN_TRAP &&
				r->pfns[j] == r->pfns[j - 1] + 1;
		     j++)
			;
		if (r->pfns[i] == PFN_TRAP)
			continue;
		ret = back_va(mm, r, i, j - i);
		if (ret)
			goto err_va;
	}
	if (trapped || zap) {
		ret = mmio_trap_register(r->start, r->end, ops, priv, base,
					 pages, zap, &r->trap);
		if (ret)
			goto err_va;
	}
	mm_insert_region(mm, r, addr);
	return 0;

err_va:
	munmap((void *)r->start, len);
err_region:
	region_free(r);
	return ret;
}

/* Tell every notifier that [rg->start, rg->end) is about to change
 * (start) or has changed. */
static void notify(struct mm *mm, const struct mmu_notifier_range *rg,
		   bool start)
{
	void (*fn)(struct mmu_notifier *, const struct mmu_notifier_range *);
	struct mmu_notifier *mn;

	lockdep_assert_held(&mm->mmap_lock);
	LIST_FOREACH(mn, &mm->notifiers, link) {
		fn = start ? mn->ops->invalidate_range_start
			   : mn->ops->invalidate_range_end;
		if (fn)
			fn(mn, rg);
	}
}

static void notify_start(struct mm *mm, const struct mmu_notifier_range *rg)
{
	notify(mm, rg, true);
}

static void notify_end(struct mm *mm, const struct mmu_notifier_range *rg)
{
	notify(mm, rg, false);
}

static int check_user_range(void *addr, size_t len, unsigned long *start,
			    unsigned long *end)
{
	*start = (unsigned long)addr;
	if (!IS_ALIGNED(*start, PHYS_PAGE_SIZE) || !len)
		return -EINVAL;
	len = ALIGN_UP(len, PHYS_PAGE_SIZE);
	if (!len || check_add_overflow(*start, len, end))
		return -EINVAL;
	return 0;
}

/* Drop the mappings of pages [i, e) of r (holes are skipped). */
static void unmap_range(struct mm *mm, struct mm_region *r, unsigned long i,
			unsigned long e, struct free_batch *b)
{
	lockdep_assert_held_write(&mm->mmap_lock);
	stat_add(mm, pages_scanned, e - i);
	for (; i < e; i++) {
		if (r->pfns[i] == PFN_NONE)
			continue;
		if (r->vm_flags & MM_VM_PFNMAP) {
			if (r->map_flags & MM_MAP_TRAPPED)
				mmio_trap_unmap(
					r->trap,
					r->start + (i << PHYS_PAGE_SHIFT),
					r->start +
						((i + 1) << PHYS_PAGE_SHIFT));
			r->pfns[i] = PFN_NONE;
			r->nr_mapped--;
		} else {
			unmap_page(mm, r, i, b);
		}
		stat_add(mm, unmapped_pages, 1);
	}
}

int mm_munmap(struct mm *mm, void *addr, size_t len)
{
	struct mmu_notifier_range rg = {.mm = mm, .event = MMU_NOTIFY_UNMAP};
	struct free_batch b = {0, 0};
	struct mm_region *r, *next;
	bool trapped = false;
	unsigned long a, e;
	int ret;

	ret = check_user_range(addr, len, &rg.start, &rg.end);
	if (ret)
		return ret;

	down_write(&mm->mmap_lock);
	notify_start(mm, &rg);
	for (r = first_overlap(mm, rg.start, rg.end); r; r = next) {
		next = next_overlap(mm, r, rg.end);
		trapped |= r->map_flags & MM_MAP_TRAPPED;
		a = max(r->start, rg.start);
		e = min(r->end, rg.end);
		unmap_range(mm, r, region_idx(r, a), region_idx(r, e), &b);
		if (!r->nr_mapped) {
			RB_REMOVE(mm_region_tree, &mm->regions, r);
			munmap((void *)r->start, r->end - r->start);
			region_free(r);
			stat_add(mm, nr_regions, -1);
		} else {
			unback_va(a, e - a);
		}
	}
	free_batch_flush(mm->pm, &b);
	notify_end(mm, &rg);
	up_write(&mm->mmap_lock);
	if (trapped)
		mmio_trap_sync();
	return 0;
}

/* Is the page's frame pinned (referenced beyond its mappings)? */
static bool page_pinned(struct phys_mem *pm, uint32_t pfn)
{
	struct phys_frame *h = pfn_frame(pm, frame_head_pfn(pm, pfn));

	return atomic_load(&h->refcount) > h->mapcount;
}

/* Give page idx a fresh frame (the old one stays with its pinner). */
static void replace_page(struct mm *mm, struct mm_region *r, unsigned long idx,
			 uint32_t newpfn)
{
	struct phys_mem *pm = mm->pm;
	struct free_batch b = {0, 0};
	struct phys_frame *nf = pfn_frame(pm, newpfn);

	lockdep_assert_held_write(&mm->mmap_lock);
	unmap_page(mm, r, idx, &b);
	free_batch_flush(pm, &b);
	__atomic_fetch_or(&nf->flags, PF_MAPPED, __ATOMIC_RELAXED);
	nf->mapcount = 1;
	r->pfns[idx] = newpfn;
	r->nr_mapped++;
	/* only mmap can fail here, and it does not for a fixed shared map
	 * over our own reservation */
	WARN_ON(back_va(mm, r, idx, 1));
	stat_add(mm, replaced_frames, 1);
}

/*
 * Pages [i, e) of adopted private file memory were discarded: as the
 * kernel's private file mapping, the program sees the file again (its
 * pages are read into the fresh frames; a page the read cannot fill
 * stays zero; past the file's end, as adoption never takes).
 */
static void file_read_back(struct mm *mm, struct mm_region *r, unsigned long i,
			   unsigned long e)
{
	lockdep_assert_held_write(&mm->mmap_lock);
	for (; i < e; i++) {
		void *va =
			__phys_to_virt(mm->pm, pfn_to_pa(mm->pm, r->pfns[i]));
		ssize_t n = pread(r->file->fd, va, PHYS_PAGE_SIZE,
				  (off_t)(r->file_off +
					  ((uint64_t)i << PHYS_PAGE_SHIFT)));

		(void)n; /* short or failed: the rest reads zero */
	}
}

/*
 * Discard pages [i, e) of r (MADV_DONTNEED).  Unpinned memory is freed: its
 * frames are recycled in place (punched to zero, new generation), which is
 * the same as freeing them and handing the same frames back.  Pinned frames
 * stay with their pinners and the pages get fresh frames from new[].
 */
static void discard_pages(struct mm *mm, struct mm_region *r, unsigned long i,
			  unsigned long e, uint32_t *new, unsigned long *nnew)
{
	struct phys_mem *pm = mm->pm;
	unsigned long run_start = 0, run_len = 0, from = i;

	lockdep_assert_held_write(&mm->mmap_lock);
	while (i < e) {
		uint32_t pfn = r->pfns[i], head = frame_head_pfn(pm, pfn);
		struct phys_frame *h = pfn_frame(pm, head);

		if (h->flags & PF_HEAD && !page_pinned(pm, pfn)) {
			unsigned long first = i - (pfn - head);

			if (chunk_huge(r, i) && pfn == head &&
			    first + PAGES_PER_HUGE <= e) {
				/* the whole folio, unpinned: recycle it */
				phys_recycle(pm, head, PAGES_PER_HUGE);
				i += PAGES_PER_HUGE;
				continue;
			}
			/* part of an unpinned folio: split it (THP split) */
			chunk_clear_huge(r, i);
			phys_split_compound(pm, head);
			continue;
		}
		if (!page_pinned(pm, pfn)) {
			/* recycle runs of consecutive plain frames at once */
			if (run_len && r->pfns[run_start] + run_len == pfn) {
				run_len++;
			} else {
				if (run_len)
					phys_recycle(pm, r->pfns[run_start],
						     run_len);
				run_start = i;
				run_len = 1;
			}
			i++;
			continue;
		}
		replace_page(mm, r, i, new[(*nnew)++]);
		i++;
	}
	if (run_len)
		phys_recycle(pm, r->pfns[run_start], run_len);
	if (r->file)
		file_read_back(mm, r, from, e);
}

/*
 * Fresh frames for the pinned pages of [i, e) of r, which a discard leaves
 * to their pinners: counted, then allocated all at once (or none).
 */
static unsigned long discard_need(struct mm *mm, struct mm_region *r,
				  unsigned long i, unsigned long e)
{
	unsigned long need = 0;

	lockdep_assert_held(&mm->mmap_lock);
	stat_add(mm, pages_scanned, e - i);
	for (; i < e; i++)
		if (page_pinned(mm->pm, r->pfns[i]))
			need++;
	return need;
}

static int discard_alloc(struct mm *mm, unsigned long need, uint32_t **out)
{
	uint32_t *new;
	unsigned long k;
	int ret;

	*out = NULL;
	if (!need)
		return 0;
	new = ui_calloc(need, sizeof(*new));
	if (!new)
		return -ENOMEM;
	for (k = 0; k < need; k++) {
		ret = __phys_alloc(mm->pm, 0, 0, mm->owner, &new[k]);
		if (ret) {
			while (k)
				frame_put(mm->pm, new[--k], 1);
			ui_free(new);
			return ret;
		}
	}
	*out = new;
	return 0;
}

/* Give back the frames counted as needed but not used (a pinner let go
 * meanwhile). */
static void discard_free(struct mm *mm, uint32_t *new, unsigned long need,
			 unsigned long used)
{
	while (need > used)
		frame_put(mm->pm, new[--need], 1);
	ui_free(new);
}

int mm_discard(struct mm *mm, void *addr, size_t len)
{
	struct mmu_notifier_range rg = {.mm = mm, .event = MMU_NOTIFY_DISCARD};
	unsigned long a, e, i, need = 0, used = 0;
	struct mm_region *r, *first;
	uint32_t *new = NULL;
	int ret;

	ret = check_user_range(addr, len, &rg.start, &rg.end);
	if (ret)
		return ret;

	down_write(&mm->mmap_lock);
	/* every page must be mapped (as madvise on unmapped memory: -ENOMEM)
	 * and pinnable memory (-EINVAL), in address order */
	first = first_overlap(mm, rg.start, rg.end);
	for (a = rg.start, r = first; a < rg.end;
	     a = e, r = next_overlap(mm, r, rg.end)) {
		if (!r || r->start > a) {
			ret = -ENOMEM;
			goto out;
		}
		e = min(r->end, rg.end);
		for (i = region_idx(r, a); i < region_idx(r, e); i++)
			if (r->pfns[i] == PFN_NONE) {
				ret = -ENOMEM;
				goto out;
			} else if (r->vm_flags & MM_VM_PFNMAP) {
				ret = -EINVAL;
				goto out;
			}
		need += discard_need(mm, r, region_idx(r, a), region_idx(r, e));
	}
	ret = discard_alloc(mm, need, &new);
	if (ret)
		goto out;

	notify_start(mm, &rg);
	for (a = rg.start, r = first; a < rg.end;
	     a = e, r = next_overlap(mm, r, rg.end)) {
		e = min(r->end, rg.end);
		discard_pages(mm, r, region_idx(r, a), region_idx(r, e), new,
			      &used);
		stat_add(mm, discarded_pages,
			 region_idx(r, e) - region_idx(r, a));
	}
	notify_end(mm, &rg);
	discard_free(mm, new, need, used);
out:
	up_write(&mm->mmap_lock);
	return ret;
}

int mm_find_vma(struct mm *mm, unsigned long uaddr, struct mm_vma_info *info)
{
	struct mm_region *r;
	int ret = -EFAULT;

	stat_add(mm, vma_lookups, 1);
	down_read(&mm->mmap_lock);
	r = find_region(mm, uaddr);
	if (r && r->pfns[region_idx(r, uaddr)] != PFN_NONE) {
		info->start = r->start;
		info->end = r->end;
		info->vm_flags = r->vm_flags;
		ret = 0;
	}
	up_read(&mm->mmap_lock);
	return ret;
}

int mm_follow_pfn(struct mm *mm, unsigned long uaddr, phys_addr_t *pa,
		  uint64_t *vm_flags)
{
	struct mm_region *r;
	unsigned long idx;
	int ret = -EFAULT;

	down_read(&mm->mmap_lock);
	r = find_region(mm, uaddr);
	if (!r)
		goto out;
	idx = region_idx(r, uaddr);
	if (r->pfns[idx] == PFN_NONE || r->pfns[idx] == PFN_TRAP)
		goto out;
	if (!(r->vm_flags & (MM_VM_IO | MM_VM_PFNMAP))) {
		ret = -EINVAL;
		goto out;
	}
	*pa = pfn_to_pa(mm->pm, r->pfns[idx]);
	if (vm_flags)
		*vm_flags = r->vm_flags;
	ret = 0;
out:
	up_read(&mm->mmap_lock);
	return ret;
}

/* ---- pinning -------------------------------------------------------------- */

/* ---- adopting the process's own memory ----------------------------------- */

void mm_set_adopt(struct mm *mm, bool on)
{
	atomic_store(&mm->adopt, on);
}

/*
 * Adopt memory from start, which no region covers, up to at most end:
 * move the process's pages into physical frames in place (copy, then map
 * the frames MAP_SHARED at the same address), so the memory becomes a
 * region like mm_mmap()'s, with the kernel's pin/discard semantics.  What
 * may be adopted, and how much of [start, end) one region takes, is
 * host_vma_classify()'s: anonymous memory (private, a memfd, shared
 * anonymous), hugetlb memory (whole huge pages, in 2 MiB folios when the
 * huge page is 2 MiB, and MM_MAP_HUGETLB keeps munmap's and madvise's
 * huge-page rules), a private file mapping (MM_MAP_FILE: the file stays
 * open so that a discard reads its pages back).  Adopting a shared
 * mapping ends its sharing (another mapping of the memfd, or a child
 * that inherited the memory, no longer sees this mapping's writes): the
 * kernel would pin the shared pages themselves, which have no frame
 * here.  The caller looks the region up again: it may start below start
 * (hugetlb) and end before end (the next call adopts the rest).
 */
static int mm_adopt(struct mm *mm, unsigned long start, unsigned long end)
{
	struct mm_file *file = NULL;
	struct host_vma hv;
	struct mm_region *r;
	unsigned long n, i;
	bool huge;
	int ret;

	lockdep_assert_held_write(&mm->mmap_lock);
	ret = host_vma_classify(start, end, &hv);
	if (ret)
		return ret;
	if (hv.kind == HOST_VMA_HUGETLB && first_overlap(mm, hv.start, hv.end))
		return -EFAULT; /* widened into a region: cannot happen */
	if (hv.kind == HOST_VMA_FILE) {
		file = ui_zalloc(sizeof(*file));
		if (!file) {
			close(hv.fd);
			return -ENOMEM;
		}
		file->fd = hv.fd;
		file->refs = 1;
	}
	n = (hv.end - hv.start) >> PHYS_PAGE_SHIFT;
	huge = hv.kind == HOST_VMA_HUGETLB &&
	       hv.hpage_size == PAGES_PER_HUGE * PHYS_PAGE_SIZE;
	r = region_alloc(n, huge);
	if (!r) {
		if (file) {
			close(file->fd);
			ui_free(file);
		}
		return -ENOMEM;
	}
	r->start = hv.start;
	r->end = hv.end;
	r->map_flags = MM_MAP_ADOPTED | (hv.writable ? 0 : MM_MAP_RDONLY);
	r->vm_flags = MM_VM_READ | (hv.writable ? MM_VM_WRITE : 0);
	if (hv.kind == HOST_VMA_HUGETLB) {
		r->map_flags |= MM_MAP_HUGETLB |
				(hv.shared ? MM_MAP_SHARED_HOST : 0);
		r->hpage_size = hv.hpage_size;
	}
	if (file) {
		r->map_flags |= MM_MAP_FILE;
		r->file = file;
		r->file_off = hv.file_off;
	}
	ret = region_populate(mm, r);
	if (ret) {
		r->map_flags |= MM_MAP_KEEP_HOST; /* host not touched yet */
		goto err_frames;
	}
	for (i = 0; i < n; i++)
		memcpy(__phys_to_virt(mm->pm, pfn_to_pa(mm->pm, r->pfns[i])),
		       (void *)(hv.start + (i << PHYS_PAGE_SHIFT)),
		       PHYS_PAGE_SIZE);
	/* hugetlb goes whole first: the frames' runs need not end on huge
	 * page boundaries, where a fixed map over part of it would fail */
	if (hv.kind == HOST_VMA_HUGETLB)
		unback_va(hv.start, hv.end - hv.start);
	ret = back_va_runs(mm, r, 0, n);
	if (ret)
		goto err_frames; /* the old pages are still there */
	RB_INSERT(mm_region_tree, &mm->regions, r);
	stat_add(mm, nr_regions, 1);
	stat_add(mm, adopted_pages, n);
	return 0;

err_frames:
	/* after a partial remap the host pages are copied back */
	region_unmap_all(mm, r);
	region_free(r);
	return ret;
}

/* Find the end of the hole at addr (in no region): the next region's
 * start, or end; one descent of the tree. */
static unsigned long hole_end(struct mm *mm, unsigned long addr,
			      unsigned long end)
{
	struct mm_region *r;

	lockdep_assert_held(&mm->mmap_lock);
	r = first_overlap(mm, addr, end);
	return r ? min(r->start, end) : end;
}

/* ---- the program's own munmap and madvise (the preload library) ---------- */

/* The C library's answer: 0, or -errno. */
static int host_ret(int ret)
{
	return ret ? (errno ? -errno : -EINVAL) : 0;
}

/* Drop r if it has no mapped page left (its host range is the program's
 * if adopted, our reservation otherwise). */
static void region_drop_if_empty(struct mm *mm, struct mm_region *r)
{
	lockdep_assert_held_write(&mm->mmap_lock);
	if (r->nr_mapped)
		return;
	RB_REMOVE(mm_region_tree, &mm->regions, r);
	if (!(r->map_flags & MM_MAP_ADOPTED))
		munmap((void *)r->start, r->end - r->start);
	region_free(r);
	stat_add(mm, nr_regions, -1);
}

/* Move the 2 MiB chunk bits of r down by 'pages' pages (the front of its
 * old_pages went): kept if chunks stay aligned, dropped otherwise (the
 * pages stay mapped; pins of them take one reference per page). */
static void huge_shift(struct mm_region *r, unsigned long old_pages,
		       unsigned long pages)
{
	unsigned long c, shift = pages / PAGES_PER_HUGE;
	unsigned long chunks = DIV_ROUND_UP(old_pages, PAGES_PER_HUGE);

	if (!r->huge)
		return;
	if (pages % PAGES_PER_HUGE) {
		memset(r->huge, 0, DIV_ROUND_UP(chunks, 64) * sizeof(uint64_t));
		return;
	}
	for (c = 0; c < chunks; c++) {
		unsigned long s = c + shift;
		bool on = s < chunks && (r->huge[s / 64] & (1ULL << (s % 64)));

		r->huge[c / 64] &= ~(1ULL << (c % 64));
		r->huge[c / 64] |= (uint64_t)on << (c % 64);
	}
}

/*
 * Pages [a, e) of r are unmapped and their host range is gone (the
 * program unmapped it): cut them out of r, as munmap cuts a VMA, so that
 * no region keeps a hole the host may hand out again.  A middle piece
 * splits r: its upper part moves to *split, allocated beforehand.
 */
static void region_cut(struct mm *mm, struct mm_region *r, unsigned long a,
		       unsigned long e, struct mm_region **split)
{
	unsigned long lo = region_idx(r, a), hi = region_idx(r, e);
	unsigned long n = r->nr_pages - hi, i;
	struct mm_region *s;

	lockdep_assert_held_write(&mm->mmap_lock);
	if (a > r->start && e < r->end) {
		s = *split;
		*split = NULL;
		memcpy(s->pfns, r->pfns + hi, n * sizeof(*s->pfns));
		s->start = e;
		s->end = r->end;
		s->vm_flags = r->vm_flags;
		s->map_flags = r->map_flags;
		s->pfnmap_pa =
			r->pfnmap_pa + ((phys_addr_t)hi << PHYS_PAGE_SHIFT);
		s->trap = r->trap;
		s->hpage_size = r->hpage_size;
		s->file = r->file;
		if (s->file)
			s->file->refs++;
		s->file_off = r->file_off + ((uint64_t)hi << PHYS_PAGE_SHIFT);
		for (i = 0; i < n; i++)
			s->nr_mapped += s->pfns[i] != PFN_NONE;
		stat_add(mm, pages_scanned, n);
		r->nr_mapped -= s->nr_mapped;
		RB_INSERT(mm_region_tree, &mm->regions, s);
		stat_add(mm, nr_regions, 1);
		region_drop_if_empty(mm, s);
		/* fall through: r keeps [start, a) */
		e = r->end;
	}
	if (e == r->end) {
		r->end = a;
		r->nr_pages = lo;
	} else {
		/* the front went: the rest moves down, r keeps its place in
		 * the tree (its neighbours are still below and above) */
		memmove(r->pfns, r->pfns + hi, n * sizeof(*r->pfns));
		stat_add(mm, pages_scanned, n);
		huge_shift(r, r->nr_pages, hi);
		r->nr_pages = n;
		r->start = e;
		r->pfnmap_pa += (phys_addr_t)hi << PHYS_PAGE_SHIFT;
		r->file_off += (uint64_t)hi << PHYS_PAGE_SHIFT;
	}
	if (!r->nr_pages)
		r->nr_mapped = 0;
	region_drop_if_empty(mm, r);
}

/*
 * munmap may cut adopted hugetlb memory only on huge page boundaries
 * (-EINVAL otherwise, nothing changed: the kernel's hugetlb VMAs refuse
 * to split elsewhere); a piece that goes whole needs no alignment.
 */
static int hugetlb_cuts_aligned(struct mm *mm, struct mm_region *first,
				unsigned long start, unsigned long end)
{
	struct mm_region *r;

	lockdep_assert_held(&mm->mmap_lock);
	for (r = first; r; r = next_overlap(mm, r, end)) {
		if (!(r->map_flags & MM_MAP_HUGETLB))
			continue;
		if ((start > r->start && !IS_ALIGNED(start, r->hpage_size)) ||
		    (end < r->end && !IS_ALIGNED(end, r->hpage_size)))
			return -EINVAL;
	}
	return 0;
}

int mm_foreign_munmap(struct mm *mm, void *addr, size_t len,
		      int (*host)(void *addr, size_t len))
{
	struct mmu_notifier_range rg = {.mm = mm, .event = MMU_NOTIFY_UNMAP};
	struct mm_region *r, *first, *next, *split = NULL;
	struct free_batch b = {0, 0};
	unsigned long start, end;
	bool trapped = false;
	int ret;

	/* what munmap refuses (-EINVAL) reaches only the C library */
	if (check_user_range(addr, len, &start, &end))
		return host_ret(host(addr, len));

	down_write(&mm->mmap_lock);
	first = first_overlap(mm, start, end);
	ret = hugetlb_cuts_aligned(mm, first, start, end);
	if (ret)
		goto out;
	if (first && first->start < start && first->end > end) {
		/* a hole in the middle of one region: allocate its upper
		 * part now, so that nothing fails once the host changed */
		split = region_alloc(first->nr_pages - region_idx(first, end),
				     false);
		if (!split) {
			ret = -ENOMEM;
			goto out;
		}
	}
	for (r = first; r; r = next_overlap(mm, r, end)) {
		rg.start = max(r->start, start);
		rg.end = min(r->end, end);
		notify_start(mm, &rg);
	}
	ret = host_ret(host(addr, len));
	for (r = first; r; r = next) {
		next = next_overlap(mm, r, end);
		rg.start = max(r->start, start);
		rg.end = min(r->end, end);
		if (!ret) {
			trapped |= r->map_flags & MM_MAP_TRAPPED;
			unmap_range(mm, r, region_idx(r, rg.start),
				    region_idx(r, rg.end), &b);
			region_cut(mm, r, rg.start, rg.end, &split);
		}
		notify_end(mm, &rg);
	}
	free_batch_flush(mm->pm, &b);
	if (split)
		region_free(split);
out:
	up_write(&mm->mmap_lock);
	if (trapped)
		mmio_trap_sync();
	return ret;
}

static bool advice_discards(int advice)
{
	return advice == MADV_DONTNEED || advice == MADV_DONTNEED_LOCKED ||
	       advice == MADV_FREE || advice == MADV_REMOVE;
}

/*
 * A discarding madvise of [*a, *e) of adopted hugetlb memory, as the
 * kernel's for a hugetlb VMA: MADV_DONTNEED(_LOCKED) from a huge page
 * boundary (-EINVAL otherwise), rounded down to whole huge pages (a
 * caller unaware of huge pages loses no data past its range); MADV_FREE
 * -EINVAL; MADV_REMOVE punches the whole huge pages inside of a shared
 * writable mapping (-EACCES for any other: not shared, or read-only).
 */
static int hugetlb_discard_range(const struct mm_region *r, int advice,
				 unsigned long *a, unsigned long *e)
{
	unsigned long hps = r->hpage_size;

	if (advice == MADV_REMOVE) {
		if (!(r->map_flags & MM_MAP_SHARED_HOST) ||
		    !(r->vm_flags & MM_VM_WRITE))
			return -EACCES;
		*a = ALIGN_UP(*a, hps);
	} else if (advice == MADV_FREE || !IS_ALIGNED(*a, hps)) {
		return -EINVAL;
	}
	*e = ALIGN_DOWN(*e, hps);
	return 0;
}

/*
 * What a discarding madvise does to the region piece [a, e) of r, as the
 * kernel's per-VMA step: the refusals first, then every mapped page
 * discarded (-ENOMEM at the end if the piece has holes).
 */
static int foreign_discard(struct mm *mm, struct mm_region *r, unsigned long a,
			   unsigned long e, int advice)
{
	struct mmu_notifier_range rg = {.mm = mm, .event = MMU_NOTIFY_DISCARD};
	unsigned long lo, hi, i, j, need = 0, used = 0;
	bool adopted = r->map_flags & MM_MAP_ADOPTED, hole = false;
	uint32_t *new;
	int ret;

	lockdep_assert_held_write(&mm->mmap_lock);
	/* device memory: not on the LRU (DONTNEED, FREE), and its file
	 * (an anonymous inode) cannot punch holes (REMOVE) */
	if (r->vm_flags & MM_VM_PFNMAP)
		return advice == MADV_REMOVE ? -ENODEV : -EINVAL;
	if ((r->map_flags & MM_MAP_LOCKED) && advice != MADV_DONTNEED_LOCKED)
		return -EINVAL;
	if (r->map_flags & MM_MAP_HUGETLB) {
		ret = hugetlb_discard_range(r, advice, &a, &e);
		if (ret || a >= e)
			return ret;
	} else if (r->map_flags & MM_MAP_FILE) {
		/* a private file mapping: not anonymous (no MADV_FREE), not
		 * shared (no MADV_REMOVE) */
		if (advice == MADV_FREE)
			return -EINVAL;
		if (advice == MADV_REMOVE)
			return -EACCES;
	} else if ((adopted && advice == MADV_REMOVE) ||
		   (!adopted && advice == MADV_FREE)) {
		/* adopted memory is private anonymous to the program: no
		 * file to punch; mm_mmap() memory is a shared file mapping:
		 * no MADV_FREE */
		return -EINVAL;
	}
	if (!adopted && advice == MADV_REMOVE && !(r->vm_flags & MM_VM_WRITE))
		return -EACCES;
	rg.start = a;
	rg.end = e;
	lo = region_idx(r, a);
	hi = region_idx(r, e);

	stat_add(mm, pages_scanned, hi - lo);
	for (i = lo; i < hi; i++)
		if (r->pfns[i] == PFN_NONE)
			hole = true;
		else if (page_pinned(mm->pm, r->pfns[i]))
			need++;
	if (discard_alloc(mm, need, &new))
		return -EAGAIN;
	notify_start(mm, &rg);
	for (i = lo; i < hi; i = j) {
		for (j = i; j < hi && r->pfns[j] != PFN_NONE; j++)
			;
		if (j > i) {
			discard_pages(mm, r, i, j, new, &used);
			stat_add(mm, discarded_pages, j - i);
		} else {
			j++; /* a hole */
		}
	}
	notify_end(mm, &rg);
	discard_free(mm, new, need, used);
	return hole ? -ENOMEM : 0;
}

int mm_foreign_madvise(struct mm *mm, void *addr, size_t len, int advice,
		       int (*host)(void *addr, size_t len, int advice))
{
	unsigned long start = (unsigned long)addr, end, a, alen, e;
	struct mm_region *r;
	int ret = 0, unmapped = 0;

	/* do_madvise's checks of its arguments, in its order; what fails
	 * them, an empty range and other advice reach only the C library */
	alen = ALIGN_UP(len, PHYS_PAGE_SIZE);
	if (!advice_discards(advice) || !IS_ALIGNED(start, PHYS_PAGE_SIZE) ||
	    (len && !alen) || check_add_overflow(start, alen, &end) ||
	    end == start)
		return host_ret(host(addr, len, advice));

	down_write(&mm->mmap_lock);
	r = first_overlap(mm, start, end);
	for (a = start; a < end; a = e) {
		/* the stretch before the next region is the C library's */
		e = r ? max(r->start, a) : end;
		if (e > a) {
			ret = host_ret(host((void *)a, e - a, advice));
			if (ret == -ENOMEM)
				unmapped = ret;
			else if (ret)
				goto out;
			continue;
		}
		e = min(r->end, end);
		ret = foreign_discard(mm, r, a, e, advice);
		if (ret == -ENOMEM)
			unmapped = ret;
		else if (ret)
			goto out;
		r = next_overlap(mm, r, end);
	}
	ret = unmapped;
out:
	up_write(&mm->mmap_lock);
	return ret;
}

/*
 * Give the adopted piece [a, e) of r back to the program as private
 * anonymous memory with its contents, and cut it out of r: what mremap
 * then moves, resizes or unmaps is the program's memory again.  A pinned
 * frame stays with its pinner (it no longer aliases the program's page).
 */
static int unadopt_piece(struct mm *mm, struct mm_region *r, unsigned long a,
			 unsigned long e, struct mm_region **split)
{
	struct mmu_notifier_range rg = {
		.mm = mm, .event = MMU_NOTIFY_UNMAP, .start = a, .end = e};
	int prot = PROT_READ | (r->vm_flags & MM_VM_WRITE ? PROT_WRITE : 0);
	unsigned long i, lo = region_idx(r, a), hi = region_idx(r, e);
	struct free_batch b = {0, 0};

	lockdep_assert_held_write(&mm->mmap_lock);
	notify_start(mm, &rg);
	if (mmap((void *)a, e - a, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
		 0) == MAP_FAILED) {
		notify_end(mm, &rg);
		return -ENOMEM;
	}
	for (i = lo; i < hi; i++)
		if (r->pfns[i] != PFN_NONE)
			memcpy((void *)(r->start + (i << PHYS_PAGE_SHIFT)),
			       __phys_to_virt(mm->pm,
					      pfn_to_pa(mm->pm, r->pfns[i])),
			       PHYS_PAGE_SIZE);
	mprotect((void *)a, e - a, prot);
	unmap_range(mm, r, lo, hi, &b);
	region_cut(mm, r, a, e, split);
	free_batch_flush(mm->pm, &b);
	notify_end(mm, &rg);
	return 0;
}

/* Check the regions meeting [s, e) for mremap (-EINVAL on device memory)
 * and allocate the split a middle piece needs. */
static int mremap_prepare(struct mm *mm, unsigned long s, unsigned long e,
			  struct mm_region **split)
{
	struct mm_region *r;

	lockdep_assert_held_write(&mm->mmap_lock);
	for (r = first_overlap(mm, s, e); r; r = next_overlap(mm, r, e))
		if (!(r->map_flags & MM_MAP_ADOPTED))
			return -EINVAL;
	r = first_overlap(mm, s, e);
	if (r && r->start < s && r->end > e) {
		*split = region_alloc(r->nr_pages - region_idx(r, e), false);
		if (!*split)
			return -ENOMEM;
	}
	return 0;
}

static int mremap_unadopt(struct mm *mm, unsigned long s, unsigned long e,
			  struct mm_region **split)
{
	struct mm_region *r, *next;
	int ret;

	lockdep_assert_held_write(&mm->mmap_lock);
	for (r = first_overlap(mm, s, e); r; r = next) {
		next = next_overlap(mm, r, e);
		ret = unadopt_piece(mm, r, max(r->start, s), min(r->end, e),
				    split);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * mremap of adopted hugetlb memory at s, as the kernel's for a hugetlb
 * VMA: both lengths rounded up to whole huge pages, the old and (with
 * MREMAP_FIXED) the new address on a huge page boundary, no growth;
 * -EINVAL otherwise.  Other memory: nothing to do.
 */
static int mremap_hugetlb(struct mm *mm, unsigned long s, int flags,
			  unsigned long ns, unsigned long *olen,
			  unsigned long *nlen)
{
	struct mm_region *r = find_region(mm, s);
	unsigned long hps;

	if (!r || !(r->map_flags & MM_MAP_HUGETLB))
		return 0;
	hps = r->hpage_size;
	*olen = ALIGN_UP(*olen, hps);
	*nlen = ALIGN_UP(*nlen, hps);
	if (!IS_ALIGNED(s, hps) ||
	    ((flags & MREMAP_FIXED) && !IS_ALIGNED(ns, hps)) || *nlen > *olen)
		return -EINVAL;
	return 0;
}

int mm_foreign_mremap(struct mm *mm, void *addr, size_t old_len, size_t new_len,
		      int flags, void *new_addr,
		      void *(*host)(void *addr, size_t old_len, size_t new_len,
				    int flags, void *new_addr),
		      void **out)
{
	unsigned long s = (unsigned long)addr, e, ns = (unsigned long)new_addr;
	unsigned long ne, olen = ALIGN_UP(old_len, PHYS_PAGE_SIZE);
	unsigned long nlen = ALIGN_UP(new_len, PHYS_PAGE_SIZE);
	struct mm_region *split[2] = {NULL, NULL};
	int ret = 0;

	/* what mremap refuses for its arguments reaches only the host */
	if (!IS_ALIGNED(s, PHYS_PAGE_SIZE) || !nlen || (old_len && !olen) ||
	    check_add_overflow(s, olen ? olen : PHYS_PAGE_SIZE, &e))
		goto host;
	if (!(flags & MREMAP_FIXED) || !IS_ALIGNED(ns, PHYS_PAGE_SIZE) ||
	    check_add_overflow(ns, nlen, &ne))
		ns = ne = 0;
	if (ne && ns < e && s < ne)
		goto host; /* overlapping old and new ranges: EINVAL */

	down_write(&mm->mmap_lock);
	if (!first_overlap(mm, s, e) && (!ne || !first_overlap(mm, ns, ne))) {
		up_write(&mm->mmap_lock);
		goto host;
	}
	/* adopted memory is private anonymous to the program: old_len 0
	 * (a second mapping of a shared one) is EINVAL */
	if (!old_len)
		ret = -EINVAL;
	if (!ret)
		ret = mremap_hugetlb(mm, s, flags, ns, &olen, &nlen);
	if (!ret && olen != ALIGN_UP(old_len, PHYS_PAGE_SIZE)) {
		/* hugetlb: the lengths in whole huge pages */
		old_len = olen;
		new_len = nlen;
		e = s + olen;
		if (ne)
			ne = ns + nlen;
	}
	if (!ret)
		ret = mremap_prepare(mm, s, e, &split[0]);
	if (!ret && ne)
		ret = mremap_prepare(mm, ns, ne, &split[1]);
	if (!ret)
		ret = mremap_unadopt(mm, s, e, &split[0]);
	if (!ret && ne)
		ret = mremap_unadopt(mm, ns, ne, &split[1]);
	for (int i = 0; i < 2; i++)
		if (split[i])
			region_free(split[i]);
	up_write(&mm->mmap_lock);
	if (ret)
		return ret;
host:
	*out = host(addr, old_len, new_len, flags, new_addr);
	return *out == MAP_FAILED ? (errno ? -errno : -EINVAL) : 0;
}

static void emit_run(struct mm_pin_run *runs, unsigned int *nr, phys_addr_t pa,
		     uint64_t n)
{
	if (*nr &&
	    runs[*nr - 1].pa + (runs[*nr - 1].npages << PHYS_PAGE_SHIFT) ==
		    pa) {
		runs[*nr - 1].npages += n;
		return;
	}
	runs[*nr].pa = pa;
	runs[*nr].npages = n;
	(*nr)++;
}

static bool run_fits(const struct mm_pin_run *runs, unsigned int nr,
		     unsigned int max, phys_addr_t pa)
{
	return nr < max ||
	       runs[nr - 1].pa + (runs[nr - 1].npages << PHYS_PAGE_SHIFT) == pa;
}

long mm_pin_pages(struct mm *mm, unsigned long uaddr, unsigned long npages,
		  unsigned int gup_flags, struct mm_pin_run *runs,
		  unsigned int max_runs, unsigned int *nr_runs)
{
	struct phys_mem *pm = mm->pm;
	struct mm_region *r = NULL;
	unsigned long done = 0, end;
	unsigned int nr = 0;
	int ret;

	*nr_runs = 0;
	if (!npages || !max_runs || !runs ||
	    !IS_ALIGNED(uaddr, PHYS_PAGE_SIZE) ||
	    npages > (ULONG_MAX >> PHYS_PAGE_SHIFT) ||
	    check_add_overflow(uaddr, npages << PHYS_PAGE_SHIFT, &end))
		return -EINVAL;
	if (unlikely(uiommu_should_fail(UIOMMU_FAIL_PIN)))
		return -ENOMEM;
	if (gup_flags & MM_GUP_LONGTERM) {
		/* FOLL_LONGTERM charges with capable() now */
		ret = mm_lock_acct(mm, npages, mm_cap_ipc_lock(mm));
		if (ret)
			return ret;
	}

	down_read(&mm->mmap_lock);
	while (done < npages) {
		unsigned long addr = uaddr + (done << PHYS_PAGE_SHIFT);
		unsigned long idx, cnt;
		uint32_t pfn, head;
		phys_addr_t pa;

		if (!r || addr >= r->end) {
			r = find_region(mm, addr);
			if (!r && atomic_load(&mm->adopt)) {
				/* the process's own memory: adopt, retry */
				up_read(&mm->mmap_lock);
				down_write(&mm->mmap_lock);
				ret = find_region(mm, addr)
					      ? 0
					      : mm_adopt(mm, addr,
							 hole_end(mm, addr,
								  end));
				up_write(&mm->mmap_lock);
				down_read(&mm->mmap_lock);
				if (ret)
					goto err_unwind;
				r = find_region(mm, addr);
			}
			if (!r || (r->vm_flags & (MM_VM_IO | MM_VM_PFNMAP)) ||
			    ((gup_flags & MM_GUP_WRITE) &&
			     !(r->vm_flags & MM_VM_WRITE))) {
				ret = -EFAULT;
				goto err_unwind;
			}
		}
		idx = region_idx(r, addr);
		pfn = r->pfns[idx];
		if (pfn == PFN_NONE) {
			ret = -EFAULT;
			goto err_unwind;
		}
		pa = pfn_to_pa(pm, pfn);
		if (!run_fits(runs, nr, max_runs, pa))
			break;
		if (chunk_huge(r, idx)) {
			/* a whole folio mapped in order: one reference op */
			head = frame_head_pfn(pm, pfn);
			cnt = min(PAGES_PER_HUGE - (pfn - head), npages - done);
			cnt = min(cnt, r->nr_pages - idx);
		} else {
			head = frame_head_pfn(pm, pfn);
			cnt = 1;
		}
		frame_get(pm, head, cnt);
		emit_run(runs, &nr, pa, cnt);
		done += cnt;
	}
	up_read(&mm->mmap_lock);

	if ((gup_flags & MM_GUP_LONGTERM) && done < npages)
		mm_lock_acct(mm, -(long)(npages - done), false);
	*nr_runs = nr;
	stat_add(mm, pin_calls, 1);
	stat_add(mm, pinned_pages, done);
	return done;

err_unwind:
	up_read(&mm->mmap_lock);
	for (unsigned int i = 0; i < nr; i++)
		phys_unpin_range(pm, runs[i].pa, runs[i].npages);
	if (gup_flags & MM_GUP_LONGTERM)
		mm_lock_acct(mm, -(long)npages, false);
	return ret;
}

void mm_unpin_pages(struct mm *mm, const struct mm_pin_run *runs,
		    unsigned int nr_runs, unsigned int gup_flags)
{
	uint64_t total = 0;

	for (unsigned int i = 0; i < nr_runs; i++) {
		phys_unpin_range(mm->pm, runs[i].pa, runs[i].npages);
		total += runs[i].npages;
	}
	if (gup_flags & MM_GUP_LONGTERM)
		mm_lock_acct(mm, -(long)total, false);
	stat_add(mm, unpinned_pages, total);
}

/* ---- notifiers, teardown, statistics -------------------------------------- */

int mmu_notifier_register(struct mmu_notifier *mn, struct mm *mm)
{
	if (!mn || !mn->ops || !mm)
		return -EINVAL;
	if (mn->mm)
		return -EBUSY; /* already registered */
	down_write(&mm->mmap_lock);
	mn->mm = mm;
	LIST_INSERT_HEAD(&mm->notifiers, mn, link);
	up_write(&mm->mmap_lock);
	return 0;
}

void mmu_notifier_unregister(struct mmu_notifier *mn)
{
	struct mm *mm = mn->mm;

	if (!mm)
		return;
	down_write(&mm->mmap_lock);
	LIST_REMOVE(mn, link);
	mn->mm = NULL;
	up_write(&mm->mmap_lock);
}

void mm_destroy(struct mm *mm)
{
	struct mmu_notifier *mn;
	struct mm_region *r;
	bool trapped = false;

	if (!mm)
		return;
	down_write(&mm->mmap_lock);
	while ((mn = LIST_FIRST(&mm->notifiers))) {
		LIST_REMOVE(mn, link);
		mn->mm = NULL;
		if (mn->ops->release)
			mn->ops->release(mn, mm);
	}
	while ((r = RB_MIN(mm_region_tree, &mm->regions))) {
		RB_REMOVE(mm_region_tree, &mm->regions, r);
		trapped |= r->map_flags & MM_MAP_TRAPPED;
		region_unmap_all(mm, r);
		region_free(r);
	}
	up_write(&mm->mmap_lock);
	if (trapped)
		mmio_trap_sync();
	rwsem_destroy(&mm->mmap_lock);
	ui_free(mm);
}

void mm_get_stats(const struct mm *mm, struct mm_stats *st)
{
	st->regions = atomic_load(&mm->nr_regions);
	st->pin_calls = atomic_load(&mm->pin_calls);
	st->pinned_pages = atomic_load(&mm->pinned_pages);
	st->unpinned_pages = atomic_load(&mm->unpinned_pages);
	st->discarded_pages = atomic_load(&mm->discarded_pages);
	st->replaced_frames = atomic_load(&mm->replaced_frames);
	st->unmapped_pages = atomic_load(&mm->unmapped_pages);
	st->locked_vm = atomic_load(&mm->locked_vm);
	st->locked_vm_peak = atomic_load(&mm->locked_vm_peak);
	st->acct_failures = atomic_load(&mm->acct_failures);
	st->vma_lookups = atomic_load(&mm->vma_lookups);
	st->pages_scanned = atomic_load(&mm->pages_scanned);
}

int mm_check_invariants(const struct mm *mm, FILE *log)
{
	struct phys_report rep;
	int problems = 0;

	if (atomic_load(&mm->locked_vm)) {
		if (log)
			fprintf(log, "mm %u: locked_vm %llu pages, not 0\n",
				mm->owner,
				(unsigned long long)atomic_load(
					&mm->locked_vm));
		problems++;
	}
	phys_report(mm->pm, mm->owner, &rep);
	if (rep.pin_refs) {
		if (log)
			fprintf(log,
				"mm %u: %llu pin references on %llu frames "
				"(%llu orphaned)\n",
				mm->owner, (unsigned long long)rep.pin_refs,
				(unsigned long long)rep.pinned,
				(unsigned long long)rep.orphaned);
		problems++;
	}
	return problems;
}
