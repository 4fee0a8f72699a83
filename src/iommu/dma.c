// SPDX-License-Identifier: MIT
/*
 * The DMA API over an IOMMU domain (the kernel's dma-iommu): IOVA cookies,
 * dma_map_page / dma_map_sg, and the flush queues of lazy domains.
 *
 * Data model:
 *  - A DMA domain has one struct iommu_dma_cookie (domain->iova_cookie):
 *    either an IOVA allocator (struct iova_domain) or an MSI window whose
 *    next free address only grows and shrinks at its top.
 *  - A lazy cookie has flush queues: one ring per CPU (or a single shared
 *    ring).  An entry is an IOVA range whose page-table entries are gone but
 *    which the IOTLB may still hold; it carries the value of
 *    fq_flush_start_cnt when it was queued.  A flush increments start_cnt,
 *    invalidates the whole domain (TLBI + CMD_SYNC), then increments
 *    finish_cnt; an entry may be freed once finish_cnt > its counter, i.e.
 *    once a flush that began after it was queued has completed.
 *  - Flushes happen when a ring is full, when the timer fires (armed by the
 *    first queued entry, fq_timeout_ms later, on a timer thread), or on
 *    teardown.  With IOMMU_DMA_FQ_NO_TIMER only full rings flush, which
 *    keeps counts deterministic.
 *
 * Invariants: an IOVA is freed (and can be handed out again) only after an
 * invalidation covering it completed: strict unmaps sync before freeing
 * (free_iova_fast at once, even where a flush queue exists), lazy ones
 * queue the IOVA and wait for the flush, so an allocation before the flush
 * never gets a queued IOVA back.  Strictness comes from the domain type
 * fixed at allocation and cannot change for the domain's lifetime.
 *
 * Locking: each ring has its own lock (the per-CPU one is uncontended in
 * the common case); the timer has timer_lock, never held while flushing.
 * Lock order (iommu/iommu_internal.h): msi_lock -> timer_lock -> ring lock
 * -> (the SMMU driver's lock, when a flush breaks the domain; the IOMMU's
 * command queue) -> IOVA locks.  The map/unmap fast path takes
 * only the ring lock of its CPU and the IOVA allocator's per-CPU lock.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "iommu/dma.h"

#include "iommu/iommu_internal.h"
#include "lib/internal.h"

struct iova_fq_entry {
	unsigned long iova_pfn;
	unsigned long pages;
	uint64_t counter; /* fq_flush_start_cnt when queued */
};

struct iova_fq {
	struct mutex lock;
	unsigned int head, tail; /* lock */
	unsigned int mod_mask;	 /* immutable: size - 1 */
	struct iova_fq_entry *entries;
} __attribute__((aligned(64)));

struct iommu_dma_cookie {
	enum iommu_dma_cookie_type type;
	struct iommu_domain *domain;

	/* IOVA cookie */
	struct iova_domain iovad;
	bool iovad_ready;
	unsigned long limit_pfn; /* immutable after init */

	/* MSI cookie: next free address of the window (msi_lock) */
	struct mutex msi_lock;
	dma_addr_t msi_iova;

	/* flush queue (lazy domains) */
	struct iova_fq *fq; /* nr_fq rings, NULL when strict */
	unsigned int nr_fq;
	unsigned int fq_size;
	_Atomic uint64_t fq_flush_start_cnt;
	_Atomic uint64_t fq_flush_finish_cnt;

	/* the timer */
	unsigned int fq_timeout_ms;
	_Atomic bool fq_timer_on;
	struct mutex timer_lock;
	pthread_cond_t timer_cond;
	bool timer_armed, timer_stop; /* timer_lock */
	bool timer_running;
	pthread_t timer_thread;

	/* counters */
	_Atomic uint64_t maps, unmaps, map_errors, fq_queued, fq_freed,
		fq_flush_full, fq_flush_timer;
};

/* ---- cookies --------------------------------------------------------------------- */

static int cookie_alloc(struct iommu_domain *domain,
			enum iommu_dma_cookie_type type)
{
	struct iommu_dma_cookie *c;

	if (domain->iova_cookie)
		return -EEXIST; /* one cookie per domain */
	c = ui_zalloc(sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->type = type;
	c->domain = domain;
	mutex_init(&c->msi_lock, IOMMU_LOCK_DMA_MSI);
	mutex_init(&c->timer_lock, IOMMU_LOCK_DMA_TIMER);
	pthread_cond_init(&c->timer_cond, NULL);
	domain->iova_cookie = c;
	return 0;
}

int iommu_get_dma_cookie(struct iommu_domain *domain)
{
	return cookie_alloc(domain, IOMMU_DMA_IOVA_COOKIE);
}

int iommu_get_msi_cookie(struct iommu_domain *domain, dma_addr_t base)
{
	int ret;

	if (domain->type != IOMMU_DOMAIN_UNMANAGED)
		return -EINVAL;
	ret = cookie_alloc(domain, IOMMU_DMA_MSI_COOKIE);
	if (!ret)
		domain->iova_cookie->msi_iova = base;
	return ret;
}

/* ---- the flush queue ---------------------------------------------------------------- */

static inline bool fq_full(const struct iova_fq *fq)
{
	return ((fq->tail + 1) & fq->mod_mask) == fq->head;
}

/* Free the entries a completed flush covers. */
static void fq_ring_free(struct iommu_dma_cookie *c, struct iova_fq *fq)
{
	uint64_t done;
	unsigned long freed = 0;

	lockdep_assert_held(&fq->lock);
	done = atomic_load_explicit(&c->fq_flush_finish_cnt,
				    memory_order_acquire);

	while (fq->head != fq->tail) {
		struct iova_fq_entry *e = &fq->entries[fq->head];

		if (e->counter >= done)
			break;
		free_iova_fast(&c->iovad, e->iova_pfn, e->pages);
		fq->head = (fq->head + 1) & fq->mod_mask;
		freed++;
	}
	if (freed)
		atomic_fetch_add_explicit(&c->fq_freed, freed,
					  memory_order_relaxed);
}

static void fq_flush_iotlb(struct iommu_dma_cookie *c)
{
	atomic_fetch_add_explicit(&c->fq_flush_start_cnt, 1,
				  memory_order_acq_rel);
	iommu_flush_iotlb_all(c->domain);
	atomic_fetch_add_explicit(&c->fq_flush_finish_cnt, 1,
				  memory_order_release);
}

static void fq_flush_all_rings(struct iommu_dma_cookie *c)
{
	fq_flush_iotlb(c);
	for (unsigned int i = 0; i < c->nr_fq; i++) {
		struct iova_fq *fq = &c->fq[i];

		mutex_lock(&fq->lock);
		fq_ring_free(c, fq);
		mutex_unlock(&fq->lock);
	}
}

static void *fq_timer_fn(void *arg)
{
	struct iommu_dma_cookie *c = arg;

	mutex_lock(&c->timer_lock);
	for (;;) {
		struct timespec deadline;

		while (!c->timer_armed && !c->timer_stop)
			mutex_cond_wait(&c->timer_cond, &c->timer_lock);
		if (c->timer_stop)
			break;
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_nsec += (long)(c->fq_timeout_ms % 1000) * 1000000;
		deadline.tv_sec +=
			c->fq_timeout_ms / 1000 + deadline.tv_nsec / 1000000000;
		deadline.tv_nsec %= 1000000000;
		while (!c->timer_stop &&
		       mutex_cond_timedwait(&c->timer_cond, &c->timer_lock,
					    &deadline) != ETIMEDOUT)
			;
		if (c->timer_stop)
			break;
		c->timer_armed = false;
		mutex_unlock(&c->timer_lock);

		/* fq_flush_timeout(): from here new entries re-arm the timer */
		atomic_store(&c->fq_timer_on, false);
		atomic_fetch_add_explicit(&c->fq_flush_timer, 1,
					  memory_order_relaxed);
		fq_flush_all_rings(c);

		mutex_lock(&c->timer_lock);
	}
	mutex_unlock(&c->timer_lock);
	return NULL;
}

static void fq_arm_timer(struct iommu_dma_cookie *c)
{
	mutex_lock(&c->timer_lock);
	c->timer_armed = true;
	pthread_cond_signal(&c->timer_cond);
	mutex_unlock(&c->timer_lock);
}

static void queue_iova(struct iommu_dma_cookie *c, unsigned long pfn,
		       unsigned long pages)
{
	struct iova_fq *fq = &c->fq[c->nr_fq == 1 ? 0 : uiommu_cpu_id()];
	unsigned int idx;

	mutex_lock(&fq->lock);
	/* first free what earlier flushes already covered */
	fq_ring_free(c, fq);
	if (fq_full(fq)) {
		atomic_fetch_add_explicit(&c->fq_flush_full, 1,
					  memory_order_relaxed);
		fq_flush_iotlb(c);
		fq_ring_free(c, fq);
	}
	idx = fq->tail;
	fq->tail = (fq->tail + 1) & fq->mod_mask;
	fq->entries[idx] = (struct iova_fq_entry){
		.iova_pfn = pfn,
		.pages = pages,
		.counter = atomic_load_explicit(&c->fq_flush_start_cnt,
						memory_order_acquire),
	};
	mutex_unlock(&fq->lock);
	atomic_fetch_add_explicit(&c->fq_queued, 1, memory_order_relaxed);

	if (c->timer_running && !atomic_load(&c->fq_timer_on) &&
	    !atomic_exchange(&c->fq_timer_on, true))
		fq_arm_timer(c);
}

static void fq_destroy(struct iommu_dma_cookie *c)
{
	if (c->timer_running) {
		mutex_lock(&c->timer_lock);
		c->timer_stop = true;
		pthread_cond_signal(&c->timer_cond);
		mutex_unlock(&c->timer_lock);
		pthread_join(c->timer_thread, NULL);
		c->timer_running = false;
	}
	if (!c->fq)
		return;
	fq_flush_all_rings(c);
	for (unsigned int i = 0; i < c->nr_fq; i++) {
		mutex_destroy(&c->fq[i].lock);
		ui_free(c->fq[i].entries);
	}
	ui_free(c->fq);
	c->fq = NULL;
}

static int fq_init(struct iommu_dma_cookie *c,
		   const struct iommu_dma_options *opts)
{
	bool single = opts && opts->single_queue;
	unsigned int size = opts && opts->fq_size ? opts->fq_size
			    : single		  ? IOVA_SINGLE_FQ_SIZE
						  : IOVA_FQ_SIZE;
	unsigned int timeout = opts && opts->fq_timeout_ms ? opts->fq_timeout_ms
			       : single ? IOVA_SINGLE_FQ_TIMEOUT
					: IOVA_FQ_TIMEOUT;
	int ret = -ENOMEM;

	if (size < 2 || (size & (size - 1)))
		return -EINVAL;
	c->nr_fq = single ? 1 : UIOMMU_NR_CPUS;
	c->fq_size = size;
	c->fq = ui_calloc(c->nr_fq, sizeof(*c->fq));
	if (!c->fq)
		return -ENOMEM;
	for (unsigned int i = 0; i < c->nr_fq; i++) {
		c->fq[i].mod_mask = size - 1;
		mutex_init(&c->fq[i].lock, IOMMU_LOCK_DMA_FQ);
		c->fq[i].entries =
			ui_calloc(size, sizeof(struct iova_fq_entry));
		if (!c->fq[i].entries)
			goto err;
	}
	if (timeout != IOMMU_DMA_FQ_NO_TIMER) {
		c->fq_timeout_ms = timeout;
		if (pthread_create(&c->timer_thread, NULL, fq_timer_fn, c)) {
			ret = -EAGAIN;
			goto err;
		}
		c->timer_running = true;
	}
	return 0;

err:
	for (unsigned int i = 0; i < c->nr_fq; i++) {
		mutex_destroy(&c->fq[i].lock);
		ui_free(c->fq[i].entries);
	}
	ui_free(c->fq);
	c->fq = NULL;
	return ret;
}

/* ---- domain setup ------------------------------------------------------------------- */

static int reserve_regions(struct iommu_dma_cookie *c, struct device *dev)
{
	struct iommu_resv_region regions[IOMMU_MAX_RESV_REGIONS];
	struct iova_domain *iovad = &c->iovad;
	unsigned int nr = 0;
	int ret;

	ret = iommu_get_resv_regions(dev, regions, IOMMU_MAX_RESV_REGIONS, &nr);
	if (ret)
		return ret;
	for (unsigned int i = 0; i < nr; i++) {
		unsigned long lo = iova_pfn(iovad, regions[i].start);
		unsigned long hi = iova_pfn(
			iovad, regions[i].start + regions[i].length - 1);

		if (regions[i].type == IOMMU_RESV_DIRECT)
			continue;
		if (lo > c->limit_pfn)
			continue;
		if (!reserve_iova(iovad, max(lo, iovad->start_pfn),
				  min(hi, c->limit_pfn)))
			return -ENOMEM;
	}
	return 0;
}

int iommu_dma_init_domain(struct iommu_domain *domain, dma_addr_t base,
			  uint64_t size, struct device *dev,
			  const struct iommu_dma_options *opts)
{
	struct iommu_dma_cookie *c = domain->iova_cookie;
	unsigned long order, base_pfn;
	dma_addr_t end;
	int ret;

	if (!c || c->type != IOMMU_DMA_IOVA_COOKIE || c->iovad_ready)
		return -EINVAL;
	if (!(domain->type & __IOMMU_DOMAIN_DMA_API) || !size ||
	    check_add_overflow(base, size - 1, &end))
		return -EINVAL;
	/* a lazy domain whose driver cannot flush everything: the kernel's
	 * BUG_ON */
	if ((domain->type & __IOMMU_DOMAIN_DMA_FQ) &&
	    WARN_ON(!domain->ops->flush_iotlb_all))
		return -EINVAL;

	order = __builtin_ctzll(domain->pgsize_bitmap);
	base_pfn = max(1UL, (unsigned long)(base >> order));
	if (domain->geometry.force_aperture) {
		if (end < domain->geometry.aperture_start ||
		    base > domain->geometry.aperture_end)
			return -EFAULT;
		base_pfn =
			max(base_pfn,
			    (unsigned long)(domain->geometry.aperture_start >>
					    order));
		end = min(end, domain->geometry.aperture_end);
	}
	ret = init_iova_domain(&c->iovad, 1UL << order, base_pfn);
	if (ret)
		return ret;
	c->limit_pfn = end >> order;
	ret = iova_domain_init_rcaches(&c->iovad);
	if (ret)
		goto err_iovad;
	ret = reserve_regions(c, dev);
	if (ret)
		goto err_iovad;
	if (domain->type & __IOMMU_DOMAIN_DMA_FQ) {
		/* the flush queue, whose flush invalidates the whole domain */
		ret = fq_init(c, opts);
		if (ret)
			goto err_iovad;
	}
	c->iovad_ready = true;
	return 0;

err_iovad:
	put_iova_domain(&c->iovad);
	return ret;
}

void iommu_put_dma_cookie(struct iommu_domain *domain)
{
	struct iommu_dma_cookie *c = domain->iova_cookie;

	if (!c)
		return;
	fq_destroy(c);
	if (c->iovad_ready)
		put_iova_domain(&c->iovad);
	mutex_destroy(&c->msi_lock);
	mutex_destroy(&c->timer_lock);
	pthread_cond_destroy(&c->timer_cond);
	ui_free(c);
	domain->iova_cookie = NULL;
}

int iommu_dma_domain_create(struct device *dev, bool lazy,
			    const struct iommu_dma_options *opts,
			    struct iommu_domain **out)
{
	struct iommu_domain *d;
	uint64_t mask;
	int ret;

	ret = iommu_domain_alloc_type(
		dev, lazy ? IOMMU_DOMAIN_DMA_FQ : IOMMU_DOMAIN_DMA, &d);
	if (ret)
		return ret;
	ret = iommu_get_dma_cookie(d);
	if (ret)
		goto err_domain;
	mask = dev->dma_mask ? dev->dma_mask : (1ULL << 48) - 1;
	ret = iommu_dma_init_domain(d, 0, mask + 1 ? mask + 1 : mask, dev,
				    opts);
	if (ret)
		goto err_cookie;
	ret = iommu_attach_group(d, iommu_group_get(dev));
	if (ret)
		goto err_cookie;
	*out = d;
	return 0;

err_cookie:
	iommu_put_dma_cookie(d);
err_domain:
	iommu_domain_free(d);
	return ret;
}

void iommu_dma_domain_destroy(struct device *dev, struct iommu_domain *domain)
{
	if (!domain)
		return;
	iommu_detach_group(domain, iommu_group_get(dev));
	iommu_put_dma_cookie(domain);
	iommu_domain_free(domain);
}

void iommu_dma_flush_queues(struct iommu_domain *domain)
{
	struct iommu_dma_cookie *c = domain->iova_cookie;

	if (c && c->fq)
		fq_flush_all_rings(c);
}

/* ---- map / unmap --------------------------------------------------------------------- */

static int dma_info_to_prot(enum dma_data_direction dir, bool coherent)
{
	int prot = coherent ? IOMMU_CACHE : 0;

	switch (dir) {
	case DMA_BIDIRECTIONAL:
		return prot | IOMMU_READ | IOMMU_WRITE;
	case DMA_TO_DEVICE:
		return prot | IOMMU_READ;
	case DMA_FROM_DEVICE:
		return prot | IOMMU_WRITE;
	default:
		return 0;
	}
}

static struct iommu_dma_cookie *dev_cookie(struct device *dev,
					   struct iommu_domain **domain)
{
	struct iommu_domain *d = dev->domain;

	*domain = d;
	if (!d || !(d->type & __IOMMU_DOMAIN_DMA_API) || !d->iova_cookie ||
	    !d->iova_cookie->iovad_ready)
		return NULL;
	return d->iova_cookie;
}

static dma_addr_t iommu_dma_alloc_iova(struct iommu_dma_cookie *c, size_t size,
				       struct device *dev)
{
	struct iova_domain *iovad = &c->iovad;
	unsigned long limit = c->limit_pfn;
	unsigned long pfn;

	if (dev->dma_mask)
		limit = min(limit, (unsigned long)(dev->dma_mask >>
						   iova_shift(iovad)));
	pfn = alloc_iova_fast(iovad, size >> iova_shift(iovad), limit, true);
	return pfn ? (dma_addr_t)pfn << iova_shift(iovad) : 0;
}

/* Give an unmapped range's IOVA back: now when invalidated, later when
 * queued. */
static void iommu_dma_free_iova(struct iommu_dma_cookie *c, dma_addr_t iova,
				size_t size, bool queued)
{
	struct iova_domain *iovad = &c->iovad;

	if (queued)
		queue_iova(c, iova_pfn(iovad, iova), size >> iova_shift(iovad));
	else
		free_iova_fast(iovad, iova_pfn(iovad, iova),
			       size >> iova_shift(iovad));
}

/* Unmap [addr, addr + size) (granule aligned) and free its IOVA. */
static void __iommu_dma_unmap(struct iommu_dma_cookie *c, dma_addr_t addr,
			      size_t size)
{
	struct iommu_domain *d = c->domain;
	struct iommu_iotlb_gather gather;
	size_t unmapped;

	iommu_iotlb_gather_init(&gather);
	gather.queued = c->fq != NULL;
	unmapped = iommu_unmap_fast(d, addr, size, &gather);
	WARN_ON(unmapped != size);
	if (!gather.queued)
		iommu_iotlb_sync(d, &gather);
	/* dma_unmap_* cannot fail: a broken domain is in the stats, its DMA
	 * blocked by the driver, and its IOVA is never mapped again */
	WARN_ON_ONCE(iommu_domain_error(d));
	iommu_dma_free_iova(c, addr, size, gather.queued);
	atomic_fetch_add_explicit(&c->unmaps, 1, memory_order_relaxed);
}

dma_addr_t dma_map_page(struct device *dev, phys_addr_t phys, size_t len,
			enum dma_data_direction dir)
{
	struct iommu_domain *d;
	struct iommu_dma_cookie *c = dev_cookie(dev, &d);
	size_t off, size;
	dma_addr_t iova;
	int prot;

	if (d && d->type == IOMMU_DOMAIN_IDENTITY)
		return phys;
	prot = dma_info_to_prot(
		dir, device_iommu_capable(dev, IOMMU_CAP_CACHE_COHERENCY));
	if (!c || !len || !prot)
		return DMA_MAPPING_ERROR;
	off = iova_offset(&c->iovad, phys);
	if (len > SIZE_MAX - off - iova_mask(&c->iovad))
		return DMA_MAPPING_ERROR; /* would wrap */
	size = iova_align(&c->iovad, len + off);
	iova = iommu_dma_alloc_iova(c, size, dev);
	if (!iova)
		goto err;
	if (iommu_map(d, iova, phys - off, size, prot)) {
		iommu_dma_free_iova(c, iova, size, false);
		goto err;
	}
	atomic_fetch_add_explicit(&c->maps, 1, memory_order_relaxed);
	return iova + off;
err:
	atomic_fetch_add_explicit(&c->map_errors, 1, memory_order_relaxed);
	return DMA_MAPPING_ERROR;
}

void dma_unmap_page(struct device *dev, dma_addr_t addr, size_t len,
		    enum dma_data_direction dir)
{
	struct iommu_domain *d;
	struct iommu_dma_cookie *c = dev_cookie(dev, &d);
	size_t off;

	if (d && d->type == IOMMU_DOMAIN_IDENTITY)
		return;
	if (WARN_ON(!c))
		return;
	off = iova_offset(&c->iovad, addr);
	__iommu_dma_unmap(c, addr - off, iova_align(&c->iovad, len + off));
}

int dma_map_sg(struct device *dev, struct scatterlist *sg, int nents,
	       enum dma_data_direction dir)
{
	struct iommu_domain *d;
	struct iommu_dma_cookie *c = dev_cookie(dev, &d);
	size_t total = 0, done = 0;
	dma_addr_t iova;
	int prot, i;

	prot = dma_info_to_prot(
		dir, device_iommu_capable(dev, IOMMU_CAP_CACHE_COHERENCY));
	if (!c || nents <= 0 || !prot)
		return 0;
	/* one IOVA range, each segment starting on a granule */
	for (i = 0; i < nents; i++) {
		size_t off = iova_offset(&c->iovad, sg[i].phys);

		size_t len = iova_align(&c->iovad, sg[i].length + off);

		if (!sg[i].length || check_add_overflow(total, len, &total))
			return 0;
	}
	iova = iommu_dma_alloc_iova(c, total, dev);
	if (!iova)
		goto err;
	for (i = 0; i < nents; i++) {
		size_t off = iova_offset(&c->iovad, sg[i].phys);
		size_t len = iova_align(&c->iovad, sg[i].length + off);

		if (iommu_map(d, iova + done, sg[i].phys - off, len, prot))
			goto err_unmap;
		sg[i].dma_address = iova + done + off;
		sg[i].dma_length = sg[i].length;
		done += len;
	}
	atomic_fetch_add_explicit(&c->maps, 1, memory_order_relaxed);
	return nents;

err_unmap:
	if (done)
		iommu_unmap(d, iova, done);
	iommu_dma_free_iova(c, iova, total, false);
err:
	atomic_fetch_add_explicit(&c->map_errors, 1, memory_order_relaxed);
	return 0;
}

void dma_unmap_sg(struct device *dev, struct scatterlist *sg, int nents,
		  enum dma_data_direction dir)
{
	struct iommu_domain *d;
	struct iommu_dma_cookie *c = dev_cookie(dev, &d);
	dma_addr_t start, end;

	if (WARN_ON(!c) || nents <= 0)
		return;
	start = sg[0].dma_address & ~iova_mask(&c->iovad);
	end = iova_align(&c->iovad,
			 sg[nents - 1].dma_address + sg[nents - 1].dma_length);
	__iommu_dma_unmap(c, start, end - start);
}

/* ---- MSI cookies ------------------------------------------------------------------------ */

dma_addr_t iommu_dma_map_msi(struct iommu_domain *domain, phys_addr_t doorbell)
{
	struct iommu_dma_cookie *c = domain->iova_cookie;
	dma_addr_t iova;
	size_t granule;

	if (!c || c->type != IOMMU_DMA_MSI_COOKIE)
		return DMA_MAPPING_ERROR;
	granule = 1UL << __builtin_ctzll(domain->pgsize_bitmap);
	mutex_lock(&c->msi_lock);
	iova = c->msi_iova;
	if (iommu_map(domain, iova, ALIGN_DOWN(doorbell, granule), granule,
		      IOMMU_WRITE | IOMMU_NOEXEC | IOMMU_MMIO)) {
		mutex_unlock(&c->msi_lock);
		return DMA_MAPPING_ERROR;
	}
	c->msi_iova += granule;
	mutex_unlock(&c->msi_lock);
	return iova + (doorbell & (granule - 1));
}

/* The MSI case only ever cleans up its most recent mapping: msi_iova goes
 * back down, and nothing is queued. */
void iommu_dma_unmap_msi(struct iommu_domain *domain, dma_addr_t iova)
{
	struct iommu_dma_cookie *c = domain->iova_cookie;
	size_t granule;

	if (!c || c->type != IOMMU_DMA_MSI_COOKIE)
		return;
	granule = 1UL << __builtin_ctzll(domain->pgsize_bitmap);
	iova = ALIGN_DOWN(iova, granule);
	mutex_lock(&c->msi_lock);
	WARN_ON(iommu_unmap(domain, iova, granule) != granule);
	c->msi_iova -= granule;
	mutex_unlock(&c->msi_lock);
}

/* ---- statistics ---------------------------------------------------------------------------- */

int iommu_dma_get_stats(struct iommu_domain *domain, struct iommu_dma_stats *st)
{
	struct iommu_dma_cookie *c = domain->iova_cookie;

	if (!c)
		return -EINVAL;
	memset(st, 0, sizeof(*st));
	st->cookie = c->type;
	st->lazy = c->fq != NULL;
	st->maps = atomic_load(&c->maps);
	st->unmaps = atomic_load(&c->unmaps);
	st->map_errors = atomic_load(&c->map_errors);
	st->tlbis = atomic_load(&domain->nr_tlbi);
	st->syncs = atomic_load(&domain->nr_syncs);
	st->flush_all = atomic_load(&domain->nr_flush_all);
	st->fq_queued = atomic_load(&c->fq_queued);
	st->fq_freed = atomic_load(&c->fq_freed);
	st->fq_flush_full = atomic_load(&c->fq_flush_full);
	st->fq_flush_timer = atomic_load(&c->fq_flush_timer);
	st->fq_pending = st->fq_queued - st->fq_freed;
	st->error = iommu_domain_error(domain);
	if (c->iovad_ready) {
		struct iova_stats is;

		iova_domain_stats(&c->iovad, &is);
		st->iova_hits = is.rcache_hits;
		st->iova_misses = is.rcache_misses;
	}
	return 0;
}
