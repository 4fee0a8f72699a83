/* SPDX-License-Identifier: MIT */
/*
 * Physical memory internals, shared by the memory layer's files and by the
 * layers above that need the direct map on a hot path.
 *
 * Frame metadata (struct phys_frame, one per 4 KiB frame, in a lazily
 * populated anonymous array):
 *
 *  - A free extent of 2^order frames is linked on free_area[order] through
 *    its first frame's 'next'/'prev' (frame indices), with PF_BUDDY set and
 *    'order' holding the order.  Other frames of a free extent are plain
 *    free frames.
 *  - An allocated frame has state PHYS_FRAME_ALLOCATED, an owner and a
 *    generation.  A compound extent (PHYS_ALLOC_COMPOUND) has PF_HEAD on its
 *    first frame, which holds 'order', 'refcount' and 'mapcount' for the
 *    whole extent; its other frames have PF_TAIL and 'head' = index of the
 *    head.  A plain frame is its own head.
 *  - refcount = mapcount + pins.  mapcount counts the 4 KiB pages of the
 *    extent an address space maps; PF_MAPPED marks each such 4 KiB frame.
 *    When refcount drops to zero the extent is freed.
 *
 * Locking: 'lock' guards free_area and the buddy fields (next, prev, order
 * of free extents, PF_BUDDY); 'dram_lock' guards the memory behind the CPU
 * caches (cache.c).  Both are innermost: nothing is taken while either is
 * held, and neither is taken while the other is held.  refcount is atomic.
 * mapcount, PF_MAPPED and the split of a compound extent are changed only
 * by the address space that maps the frames, under its mmap_lock held for
 * writing (or at creation, before anyone else can see them).  state, owner and gen are written with
 * the frame exclusively held (allocation, last put) and read racily by DMA
 * checks, which is what hardware would do too.
 */
#ifndef UIOMMU_MEM_PHYS_H
#define UIOMMU_MEM_PHYS_H

#include <string.h>
#include <stdatomic.h>

#include "mem/mem.h"

#include "lib/internal.h"
#include "lib/lock.h"

/*
 * The memory layer's lock order.  The mm's mmap_lock is not in it: it ranks
 * where the real order puts it, between the layers that pin user memory
 * and the locks their MMU-notifier callbacks take (LOCK_RANK_MMAP, see
 * lib/lock.h); it is taken before the two below (a pin or a discard
 * allocates frames under it).
 */
enum mem_lock_rank {
	MEM_LOCK_MMAP = LOCK_RANK_MMAP, /* struct mm: mmap_lock */
	MEM_LOCK_PHYS = LOCK_RANK_MEM,	/* struct phys_mem: lock */
	MEM_LOCK_DRAM,			/* struct phys_mem: dram_lock */
	MEM_LOCK_TRAP, /* mmio_trap.c: trap_lock, taken with no mem lock */
};

#define PF_BUDDY  (1u << 0) /* first frame of a free extent */
#define PF_HEAD	  (1u << 1) /* first frame of a compound extent */
#define PF_TAIL	  (1u << 2) /* other frame of a compound extent */
#define PF_MAPPED (1u << 3) /* mapped by an address space */

#define PFN_NONE UINT32_MAX

struct phys_frame {
	_Atomic uint32_t refcount;
	uint32_t mapcount;
	uint32_t owner;
	uint8_t state;
	uint8_t order;
	uint16_t flags;
	uint64_t gen;
	uint32_t head;	     /* compound head (tails) */
	uint32_t next, prev; /* free_area links (free extent heads) */
};

struct phys_free_area {
	uint32_t first; /* PFN_NONE if empty */
	uint64_t nr_free;
};

struct phys_mem {
	/* immutable after phys_create() */
	uint8_t *map; /* the direct map */
	phys_addr_t base;
	uint64_t size;
	uint32_t nr_frames;
	int memfd;
	struct phys_frame *frames;

	struct mutex lock;
	struct phys_free_area free_area[PHYS_MAX_ORDER + 1]; /* lock */
	uint64_t frames_free;				     /* lock */

	_Atomic uint64_t epoch;
	_Atomic uint32_t next_owner;
	_Atomic uint64_t allocs, frees, bytes_punched;

	/* the memory behind the CPU caches (cache.c), made on first use */
	struct mutex dram_lock;
	uint8_t *_Atomic dram;
	_Atomic uint64_t cache_flushes, cache_flush_bytes, nc_read_bytes,
		nc_write_bytes;
};

static inline uint32_t pa_to_pfn(const struct phys_mem *pm, phys_addr_t pa)
{
	return (pa - pm->base) >> PHYS_PAGE_SHIFT;
}

static inline phys_addr_t pfn_to_pa(const struct phys_mem *pm, uint32_t pfn)
{
	return pm->base + ((phys_addr_t)pfn << PHYS_PAGE_SHIFT);
}

static inline bool phys_pa_valid(const struct phys_mem *pm, phys_addr_t pa)
{
	return pa >= pm->base && pa - pm->base < pm->size;
}

/* Direct map without checks, inlined for the DMA and walker hot paths. */
static inline void *__phys_to_virt(const struct phys_mem *pm, phys_addr_t pa)
{
	return pm->map + (pa - pm->base);
}

static inline struct phys_frame *pfn_frame(const struct phys_mem *pm,
					   uint32_t pfn)
{
	return &pm->frames[pfn];
}

static inline uint32_t frame_head_pfn(const struct phys_mem *pm, uint32_t pfn)
{
	const struct phys_frame *f = &pm->frames[pfn];

	/* PF_MAPPED changes under readers: flags are read atomically */
	return (__atomic_load_n(&f->flags, __ATOMIC_RELAXED) & PF_TAIL)
		       ? f->head
		       : pfn;
}

/* Number of frames of the extent headed by pfn (1 for a plain frame). */
static inline uint32_t frame_nr(const struct phys_mem *pm, uint32_t head)
{
	const struct phys_frame *f = &pm->frames[head];

	return (__atomic_load_n(&f->flags, __ATOMIC_RELAXED) & PF_HEAD)
		       ? 1u << f->order
		       : 1u;
}

/* Take nr references on the extent headed by 'head'. */
static inline void frame_get(struct phys_mem *pm, uint32_t head, uint32_t nr)
{
	atomic_fetch_add_explicit(&pm->frames[head].refcount, nr,
				  memory_order_relaxed);
}

/* Drop nr references; frees the extent when it was the last. */
void frame_put(struct phys_mem *pm, uint32_t head, uint32_t nr);

/* Allocate an extent (buddy); used by mm for its regions. */
int __phys_alloc(struct phys_mem *pm, unsigned int order, unsigned int flags,
		 uint32_t owner, uint32_t *pfn);
/* Split an unpinned compound extent into plain frames (mm write lock). */
void phys_split_compound(struct phys_mem *pm, uint32_t head);
/* Stamp frames as reallocated (a discard's free + reuse of the same frames):
 * new generation, contents punched to zero. */
/*
 * The direct-map address of a piece within one allocated frame whose
 * generation is not newer than gen (a translation's snapshot), or NULL for
 * anything else (the caller then takes phys_access_checked(), which tells
 * the errors apart).  Inline for the DMA hot path.
 */
static inline void *phys_frame_ptr_checked(struct phys_mem *pm, phys_addr_t pa,
					   size_t len, uint64_t gen)
{
	const struct phys_frame *f;
	uint64_t off = pa - pm->base;

	if (unlikely(off >= pm->size || !len ||
		     (off & (PHYS_PAGE_SIZE - 1)) + len > PHYS_PAGE_SIZE))
		return NULL;
	f = &pm->frames[off >> PHYS_PAGE_SHIFT];
	if (unlikely(__atomic_load_n(&f->state, __ATOMIC_ACQUIRE) !=
			     PHYS_FRAME_ALLOCATED ||
		     __atomic_load_n(&f->gen, __ATOMIC_RELAXED) > gen))
		return NULL;
	return pm->map + off;
}

/* phys_access_checked() for a piece within one frame, inline. */
static inline int phys_access_checked_frame(struct phys_mem *pm, phys_addr_t pa,
					    void *buf, size_t len, bool write,
					    uint64_t gen)
{
	void *p = phys_frame_ptr_checked(pm, pa, len, gen);

	if (unlikely(!p))
		return phys_access_checked(pm, pa, buf, len, write, gen);
	if (write)
		memcpy(p, buf, len);
	else
		memcpy(buf, p, len);
	return 0;
}

/* Call fn for the head of every allocated extent, in address order, with
 * pm->lock held (the reports and the invariant checker). */
void phys_for_each_allocated(const struct phys_mem *pm,
			     void (*fn)(const struct phys_mem *pm,
					uint32_t head, void *arg),
			     void *arg);

void cache_fini(struct phys_mem *pm);
void phys_recycle(struct phys_mem *pm, uint32_t pfn, uint32_t nr);

#endif /* UIOMMU_MEM_PHYS_H */
