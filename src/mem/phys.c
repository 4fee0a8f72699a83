// SPDX-License-Identifier: MIT
/*
 * Physical memory: a sparse memfd mapped once (the direct map), 4 KiB frames
 * with metadata, and a buddy allocator over them.
 *
 * Data model: see phys.h.  Invariants:
 *  - every frame is either inside exactly one free extent (whose head is on
 *    free_area[order] with PF_BUDDY) or allocated;
 *  - free memory reads as zero: an extent is hole-punched before it goes
 *    back on a free list, so an allocation never needs to clear it and the
 *    host gets the memory back;
 *  - an allocated frame's generation is the epoch value stamped when it was
 *    (re)allocated; epochs only grow, so a frame freed and reallocated after
 *    a device translated an address has a generation above the device's
 *    snapshot;
 *  - refcount == mapcount + pins, on the head of a compound extent.
 */
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "phys.h"

#define GiB (1ULL << 30)

static void free_area_add(struct phys_mem *pm, uint32_t pfn, unsigned int order)
{
	struct phys_free_area *area = &pm->free_area[order];
	struct phys_frame *f = &pm->frames[pfn];

	lockdep_assert_held(&pm->lock);
	f->flags = PF_BUDDY;
	f->order = order;
	f->prev = PFN_NONE;
	f->next = area->first;
	if (area->first != PFN_NONE)
		pm->frames[area->first].prev = pfn;
	area->first = pfn;
	area->nr_free++;
	pm->frames_free += 1ULL << order;
}

static void free_area_del(struct phys_mem *pm, uint32_t pfn, unsigned int order)
{
	struct phys_free_area *area = &pm->free_area[order];
	struct phys_frame *f = &pm->frames[pfn];

	lockdep_assert_held(&pm->lock);
	if (f->prev != PFN_NONE)
		pm->frames[f->prev].next = f->next;
	else
		area->first = f->next;
	if (f->next != PFN_NONE)
		pm->frames[f->next].prev = f->prev;
	f->flags = 0;
	area->nr_free--;
	pm->frames_free -= 1ULL << order;
}

int phys_create(const struct phys_config *cfg, struct phys_mem **out)
{
	struct phys_config def = {PHYS_DEFAULT_BASE, PHYS_DEFAULT_SIZE};
	struct phys_mem *pm;
	uint64_t pfn, nr;
	size_t meta;
	int ret;

	if (!cfg)
		cfg = &def;
	if (!cfg->size || cfg->size % GiB || cfg->base % GiB ||
	    cfg->size >> PHYS_PAGE_SHIFT >= PFN_NONE ||
	    cfg->base + cfg->size < cfg->base)
		return -EINVAL;

	pm = ui_zalloc(sizeof(*pm));
	if (!pm)
		return -ENOMEM;
	pm->base = cfg->base;
	pm->size = cfg->size;
	pm->nr_frames = cfg->size >> PHYS_PAGE_SHIFT;
	atomic_init(&pm->next_owner, PHYS_OWNER_KERNEL + 1);
	mutex_init(&pm->lock, MEM_LOCK_PHYS);
	mutex_init(&pm->dram_lock, MEM_LOCK_DRAM);

	pm->memfd = memfd_create("uiommu-phys", MFD_CLOEXEC);
	if (pm->memfd < 0) {
		ret = -errno;
		goto err_free;
	}
	if (ftruncate(pm->memfd, pm->size)) {
		ret = -errno;
		goto err_close;
	}
	pm->map = mmap(NULL, pm->size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_NORESERVE, pm->memfd, 0);
	if (pm->map == MAP_FAILED) {
		ret = -errno;
		goto err_close;
	}
	meta = (size_t)pm->nr_frames * sizeof(struct phys_frame);
	pm->frames = mmap(NULL, meta, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (pm->frames == MAP_FAILED) {
		ret = -errno;
		goto err_unmap;
	}

	for (unsigned int o = 0; o <= PHYS_MAX_ORDER; o++)
		pm->free_area[o].first = PFN_NONE;
	nr = 1ULL << PHYS_MAX_ORDER;
	/* no one else sees pm yet: the lock is for the helpers' assertion */
	mutex_lock(&pm->lock);
	for (pfn = 0; pfn < pm->nr_frames; pfn += nr)
		free_area_add(pm, pfn, PHYS_MAX_ORDER);
	mutex_unlock(&pm->lock);

	*out = pm;
	return 0;

err_unmap:
	munmap(pm->map, pm->size);
err_close:
	close(pm->memfd);
err_free:
	mutex_destroy(&pm->dram_lock);
	mutex_destroy(&pm->lock);
	ui_free(pm);
	return ret;
}

void phys_destroy(struct phys_mem *pm)
{
	if (!pm)
		return;
	munmap(pm->frames, (size_t)pm->nr_frames * sizeof(struct phys_frame));
	munmap(pm->map, pm->size);
	close(pm->memfd);
	cache_fini(pm);
	mutex_destroy(&pm->lock);
	ui_free(pm);
}

phys_addr_t phys_base(const struct phys_mem *pm)
{
	return pm->base;
}

uint64_t phys_size(const struct phys_mem *pm)
{
	return pm->size;
}

uint32_t phys_owner_alloc(struct phys_mem *pm)
{
	return atomic_fetch_add(&pm->next_owner, 1);
}

static void punch(struct phys_mem *pm, uint32_t pfn, uint64_t nr)
{
	uint64_t off = (uint64_t)pfn << PHYS_PAGE_SHIFT;
	uint64_t len = nr << PHYS_PAGE_SHIFT;

	if (fallocate(pm->memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      off, len))
		memset(pm->map + off, 0, len); /* no hole punching here */
	atomic_fetch_add_explicit(&pm->bytes_punched, len,
				  memory_order_relaxed);
}

int __phys_alloc(struct phys_mem *pm, unsigned int order, unsigned int flags,
		 uint32_t owner, uint32_t *out)
{
	unsigned int o;
	uint32_t pfn, nr, i;
	uint64_t gen;

	if (order > PHYS_MAX_ORDER)
		return -EINVAL;
	if (unlikely(uiommu_should_fail(UIOMMU_FAIL_FRAME)))
		return -ENOMEM;

	mutex_lock(&pm->lock);
	for (o = order; o <= PHYS_MAX_ORDER; o++)
		if (pm->free_area[o].first != PFN_NONE)
			break;
	if (o > PHYS_MAX_ORDER) {
		mutex_unlock(&pm->lock);
		return -ENOMEM;
	}
	pfn = pm->free_area[o].first;
	free_area_del(pm, pfn, o);
	/* give back the upper halves until the extent has the wanted order */
	while (o > order) {
		o--;
		free_area_add(pm, pfn + (1u << o), o);
	}
	mutex_unlock(&pm->lock);

	gen = atomic_fetch_add(&pm->epoch, 1) + 1;
	nr = 1u << order;
	for (i = 0; i < nr; i++) {
		struct phys_frame *f = &pm->frames[pfn + i];

		/* flags and order are read by a concurrent __phys_free()
		 * looking for buddies (under pm->lock, which we no longer
		 * hold): it must find no PF_BUDDY here, so store atomically */
		f->mapcount = 0;
		f->owner = owner;
		f->head = pfn;
		__atomic_store_n(&f->order,
				 flags & PHYS_ALLOC_COMPOUND && !i ? order : 0,
				 __ATOMIC_RELAXED);
		__atomic_store_n(&f->flags,
				 !(flags & PHYS_ALLOC_COMPOUND) ? 0
				 : i				? PF_TAIL
								: PF_HEAD,
				 __ATOMIC_RELAXED);
		if (flags & PHYS_ALLOC_COMPOUND) {
			atomic_store_explicit(&f->refcount, i ? 0 : 1,
					      memory_order_relaxed);
		} else {
			atomic_store_explicit(&f->refcount, 1,
					      memory_order_relaxed);
		}
		__atomic_store_n(&f->gen, gen, __ATOMIC_RELAXED);
		__atomic_store_n(&f->state, PHYS_FRAME_ALLOCATED,
				 __ATOMIC_RELEASE);
	}
	atomic_fetch_add_explicit(&pm->allocs, 1, memory_order_relaxed);
	*out = pfn;
	return 0;
}

int phys_alloc_pages(struct phys_mem *pm, unsigned int order,
		     unsigned int flags, uint32_t owner, phys_addr_t *pa)
{
	uint32_t pfn;
	int ret;

	/* free memory is punched, hence zero: PHYS_ALLOC_ZERO costs nothing */
	ret = __phys_alloc(pm, order, flags, owner, &pfn);
	if (!ret)
		*pa = pfn_to_pa(pm, pfn);
	return ret;
}

/* Return an extent whose last reference went (no one else can see it). */
static void __phys_free(struct phys_mem *pm, uint32_t pfn, unsigned int order)
{
	uint32_t nr = 1u << order, i;

	for (i = 0; i < nr; i++) {
		struct phys_frame *f = &pm->frames[pfn + i];

		__atomic_store_n(&f->state, PHYS_FRAME_FREE, __ATOMIC_RELEASE);
		__atomic_store_n(&f->flags, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&f->order, 0, __ATOMIC_RELAXED);
		f->owner = PHYS_OWNER_NONE;
		f->mapcount = 0;
	}
	punch(pm, pfn, nr);

	mutex_lock(&pm->lock);
	while (order < PHYS_MAX_ORDER) {
		uint32_t buddy = pfn ^ (1u << order);
		struct phys_frame *b;

		if (buddy >= pm->nr_frames)
			break;
		b = &pm->frames[buddy];
		if (!(__atomic_load_n(&b->flags, __ATOMIC_RELAXED) &
		      PF_BUDDY) ||
		    __atomic_load_n(&b->order, __ATOMIC_RELAXED) != order)
			break;
		free_area_del(pm, buddy, order);
		pfn &= ~(1u << order);
		order++;
	}
	free_area_add(pm, pfn, order);
	mutex_unlock(&pm->lock);
	atomic_fetch_add_explicit(&pm->frees, 1, memory_order_relaxed);
}

void frame_put(struct phys_mem *pm, uint32_t head, uint32_t nr)
{
	struct phys_frame *f = &pm->frames[head];
	uint32_t old;

	old = atomic_fetch_sub_explicit(&f->refcount, nr, memory_order_acq_rel);
	if (WARN_ON(old < nr)) {
		atomic_fetch_add(&f->refcount, nr);
		return;
	}
	if (old == nr)
		__phys_free(pm, head, (f->flags & PF_HEAD) ? f->order : 0);
}

void phys_free_pages(struct phys_mem *pm, phys_addr_t pa, unsigned int order)
{
	uint32_t pfn = pa_to_pfn(pm, pa);
	uint32_t nr = 1u << order, i;

	if (pm->frames[pfn].flags & PF_HEAD) {
		frame_put(pm, pfn, 1);
		return;
	}
	for (i = 0; i < nr; i++)
		frame_put(pm, pfn + i, 1);
}

/*
 * Walk npages frames from pfn in pieces that each lie in one extent, and
 * apply fn to (head, count).  One call per compound extent: this is what
 * makes pinning 2 MiB-backed memory cheaper per byte than 4 KiB frames.
 */
#define for_each_extent_piece(pm, pfn, npages, head, cnt)        \
	for (uint64_t __done = 0;                                \
	     __done < (npages) &&                                \
	     ((head) = frame_head_pfn(pm, (pfn) + __done),       \
	     (cnt) = min((uint64_t)(head) + frame_nr(pm, head) - \
				 ((pfn) + __done),               \
			 (npages)-__done),                       \
	     1);                                                 \
	     __done += (cnt))

void phys_pin_range(struct phys_mem *pm, phys_addr_t pa, uint64_t npages)
{
	uint32_t pfn = pa_to_pfn(pm, pa), head;
	uint64_t cnt;

	for_each_extent_piece(pm, pfn, npages, head, cnt)
		frame_get(pm, head, cnt);
}

void phys_unpin_range(struct phys_mem *pm, phys_addr_t pa, uint64_t npages)
{
	uint32_t pfn = pa_to_pfn(pm, pa), head;
	uint64_t cnt;

	for_each_extent_piece(pm, pfn, npages, head, cnt)
		frame_put(pm, head, cnt);
}

void phys_split_compound(struct phys_mem *pm, uint32_t head)
{
	struct phys_frame *h = &pm->frames[head];
	uint32_t nr = 1u << h->order, i;

	if (WARN_ON(!(h->flags & PF_HEAD)) ||
	    WARN_ON(atomic_load(&h->refcount) != h->mapcount))
		return;
	for (i = 0; i < nr; i++) {
		struct phys_frame *f = &pm->frames[head + i];
		bool mapped = f->flags & PF_MAPPED;

		f->flags = mapped ? PF_MAPPED : 0;
		f->order = 0;
		f->head = head + i;
		f->mapcount = mapped;
		atomic_store_explicit(&f->refcount, mapped,
				      memory_order_relaxed);
	}
	/* pages no one maps any more were kept only by the compound */
	for (i = 0; i < nr; i++)
		if (!(pm->frames[head + i].flags & PF_MAPPED))
			__phys_free(pm, head + i, 0);
}

void phys_recycle(struct phys_mem *pm, uint32_t pfn, uint32_t nr)
{
	uint64_t gen = atomic_fetch_add(&pm->epoch, 1) + 1;
	uint32_t i;

	punch(pm, pfn, nr);
	for (i = 0; i < nr; i++)
		__atomic_store_n(&pm->frames[pfn + i].gen, gen,
				 __ATOMIC_RELEASE);
	atomic_fetch_add_explicit(&pm->frees, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&pm->allocs, 1, memory_order_relaxed);
}

void *phys_to_virt(const struct phys_mem *pm, phys_addr_t pa)
{
	if (!phys_pa_valid(pm, pa))
		return NULL;
	return __phys_to_virt(pm, pa);
}

phys_addr_t phys_virt_to_phys(const struct phys_mem *pm, const void *va)
{
	const uint8_t *p = va;

	if (p < pm->map || p >= pm->map + pm->size)
		return PHYS_ADDR_INVALID;
	return pm->base + (p - pm->map);
}

uint64_t phys_epoch(const struct phys_mem *pm)
{
	return atomic_load_explicit(&pm->epoch, memory_order_acquire);
}

uint64_t phys_frame_gen(const struct phys_mem *pm, phys_addr_t pa)
{
	if (!phys_pa_valid(pm, pa))
		return 0;
	return __atomic_load_n(&pm->frames[pa_to_pfn(pm, pa)].gen,
			       __ATOMIC_ACQUIRE);
}

int phys_access_checked(struct phys_mem *pm, phys_addr_t pa, void *buf,
			size_t len, bool write, uint64_t gen)
{
	phys_addr_t end;
	uint32_t pfn, last;

	if (!len)
		return 0;
	if (check_add_overflow(pa, (phys_addr_t)len - 1, &end) ||
	    !phys_pa_valid(pm, pa) || !phys_pa_valid(pm, end))
		return -EFAULT;
	last = pa_to_pfn(pm, end);
	for (pfn = pa_to_pfn(pm, pa); pfn <= last; pfn++) {
		const struct phys_frame *f = &pm->frames[pfn];

		if (__atomic_load_n(&f->state, __ATOMIC_ACQUIRE) !=
		    PHYS_FRAME_ALLOCATED)
			return -EFAULT;
		if (__atomic_load_n(&f->gen, __ATOMIC_RELAXED) > gen)
			return -ESTALE;
	}
	if (write)
		memcpy(__phys_to_virt(pm, pa), buf, len);
	else
		memcpy(buf, __phys_to_virt(pm, pa), len);
	return 0;
}

int phys_frame_info(const struct phys_mem *pm, phys_addr_t pa,
		    struct phys_frame_info *info)
{
	const struct phys_frame *f, *h;
	uint32_t pfn;

	if (!phys_pa_valid(pm, pa))
		return -EINVAL;
	pfn = pa_to_pfn(pm, pa);
	f = &pm->frames[pfn];
	h = &pm->frames[frame_head_pfn(pm, pfn)];
	memset(info, 0, sizeof(*info));
	info->state = __atomic_load_n(&f->state, __ATOMIC_ACQUIRE);
	if (info->state != PHYS_FRAME_ALLOCATED)
		return 0;
	info->refcount = atomic_load(&h->refcount);
	info->mapcount = h->mapcount;
	info->owner = f->owner;
	info->order = (h->flags & PF_HEAD) ? h->order : 0;
	info->mapped = f->flags & PF_MAPPED;
	info->gen = __atomic_load_n(&f->gen, __ATOMIC_RELAXED);
	return 0;
}

void phys_get_stats(const struct phys_mem *pm, struct phys_stats *st)
{
	struct phys_mem *m = (struct phys_mem *)pm;

	mutex_lock(&m->lock);
	st->frames_free = pm->frames_free;
	mutex_unlock(&m->lock);
	st->frames_total = pm->nr_frames;
	st->allocs = atomic_load(&pm->allocs);
	st->frees = atomic_load(&pm->frees);
	st->bytes_punched = atomic_load(&pm->bytes_punched);
	st->epoch = atomic_load(&pm->epoch);
}

/*
 * Free extents are skipped whole through their buddy heads, so only
 * metadata of memory in use (and the free heads) is touched.
 */
void phys_for_each_allocated(const struct phys_mem *pm,
			     void (*fn)(const struct phys_mem *pm,
					uint32_t head, void *arg),
			     void *arg)
{
	uint32_t pfn = 0;

	lockdep_assert_held(&pm->lock);
	while (pfn < pm->nr_frames) {
		const struct phys_frame *f = &pm->frames[pfn];

		if (f->flags & PF_BUDDY) {
			pfn += 1u << f->order;
			continue;
		}
		if (f->state == PHYS_FRAME_ALLOCATED)
			fn(pm, pfn, arg);
		pfn += (f->flags & PF_HEAD) ? 1u << f->order : 1;
	}
}

struct report_arg {
	uint32_t owner;
	struct phys_report *r;
};

static void report_one(const struct phys_mem *pm, uint32_t head, void *arg)
{
	struct report_arg *a = arg;
	const struct phys_frame *f = &pm->frames[head];
	uint32_t nr = frame_nr(pm, head);
	uint32_t rc = atomic_load(&f->refcount);

	if (a->owner && f->owner != a->owner)
		return;
	a->r->allocated += nr;
	if (f->owner == PHYS_OWNER_NONE)
		a->r->ownerless += nr;
	/* kernel-owned frames hold their allocation reference, not a map */
	if (f->owner == PHYS_OWNER_KERNEL)
		return;
	if (rc > f->mapcount) {
		a->r->pinned += nr;
		a->r->pin_refs += rc - f->mapcount;
		if (!f->mapcount)
			a->r->orphaned += nr;
	}
}

void phys_report(const struct phys_mem *pm, uint32_t owner,
		 struct phys_report *r)
{
	struct phys_mem *m = (struct phys_mem *)pm;
	struct report_arg a = {owner, r};

	memset(r, 0, sizeof(*r));
	mutex_lock(&m->lock);
	phys_for_each_allocated(pm, report_one, &a);
	mutex_unlock(&m->lock);
}

struct check_arg {
	uint32_t keep;
	FILE *log;
	int problems;
};

static void check_one(const struct phys_mem *pm, uint32_t head, void *arg)
{
	struct check_arg *a = arg;
	const struct phys_frame *f = &pm->frames[head];
	uint32_t rc = atomic_load(&f->refcount);
	const char *what = NULL;

	if (f->owner == PHYS_OWNER_NONE)
		what = "allocated frame without owner";
	else if (f->owner != PHYS_OWNER_KERNEL && rc < f->mapcount)
		what = "refcount below mapcount";
	else if (f->owner != PHYS_OWNER_KERNEL && rc > f->mapcount)
		what = f->mapcount ? "pinned frame" : "orphaned pinned frame";
	else if (f->owner != a->keep)
		what = "frame still allocated";
	if (!what)
		return;
	if (a->log && a->problems < 16)
		fprintf(a->log,
			"mem: %s: pa 0x%llx order %u owner %u refcount %u "
			"mapcount %u\n",
			what, (unsigned long long)pfn_to_pa(pm, head),
			(f->flags & PF_HEAD) ? f->order : 0, f->owner, rc,
			f->mapcount);
	a->problems++;
}

int mem_check_invariants(const struct phys_mem *pm, uint32_t keep, FILE *log)
{
	struct phys_mem *m = (struct phys_mem *)pm;
	struct check_arg a = {keep, log, 0};

	mutex_lock(&m->lock);
	phys_for_each_allocated(pm, check_one, &a);
	mutex_unlock(&m->lock);
	return a.problems;
}
