// SPDX-License-Identifier: MIT
/*
 * Mediated devices that pin guest memory through a VFIO type1 container
 * (the 2022 thread that replaced VFIO's DMA-unmap notifier with a
 * callback): one correct driver and the two faulty ones of the thread, to
 * show that type1 copes with both.
 *
 * Data model: struct mdev is a registered vfio_iommu_device with a cache of
 * the pages it pinned, a hash of struct mdev_entry keyed by IOVA page (the
 * GVT-g "gvt_dma" cache).  Each entry holds exactly one of the device's
 * references in type1 (mdev_pin does not pin a cached page again), so
 * "pages in the cache" == vfio_iommu_type1_device_pinned() at every point
 * where cache_lock is not held.  The device's DMA is emulated through the
 * CPU on the cached frames only: a page that left the cache is one the
 * device no longer touches (the callback "halts DMA" by removing it).
 *
 * The dma_unmap callback (models, devices.h):
 *  - GVT walks every page of [iova, iova + length) under cache_lock and
 *    unpins each cached one: the contract.
 *  - CCW looks at the first IOVA only; a hit resets the device (unpins
 *    everything), a miss does nothing, so a pin further in the range stays
 *    and type1 fails the unmap after its retries.
 *  - AP unpins the range's first IOVA, which it usually did not pin: with
 *    type1's per-device holders that changes nothing, not even another
 *    device's pin of that page; its own pin further in stays.
 *
 * Locking: cache_lock guards the cache and the counters.  Order:
 * (type1's device_list_lock, in the callback) -> cache_lock -> the
 * container's lock (inside the pin/unpin calls).  mdev_destroy resets
 * before unregistering, never holding cache_lock across the unregister.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "devices/devices.h"
#include "vfio/vfio.h"

#include "devices_internal.h"
#include "lib/internal.h"

#define MDEV_BUCKETS 64
#define MDEV_PAGE    PHYS_PAGE_SIZE

struct mdev_entry {
	struct mdev_entry *next;
	uint64_t iova;
	phys_addr_t pa;
	uint64_t gen; /* the mdev_pin call that made it */
};

struct mdev {
	struct vfio_iommu_device vdev;
	struct phys_mem *pm;
	struct vfio_iommu *iommu;
	struct iommu_group *group;
	enum mdev_model model;
	char name[32];
	struct mutex cache_lock;
	struct mdev_entry *cache[MDEV_BUCKETS]; /* cache_lock */
	struct mdev_stats st;			/* cache_lock */
	uint64_t pin_gen;			/* cache_lock */
};

const char *mdev_model_name(enum mdev_model model)
{
	switch (model) {
	case MDEV_GVT:
		return "gvt (whole range)";
	case MDEV_CCW:
		return "ccw (first IOVA checked)";
	case MDEV_AP:
		return "ap (first IOVA unpinned)";
	}
	return "?";
}

static unsigned int bucket(uint64_t iova)
{
	return (iova / MDEV_PAGE) % MDEV_BUCKETS;
}

static struct mdev_entry **cache_find(struct mdev *m, uint64_t iova)
{
	struct mdev_entry **e;

	lockdep_assert_held(&m->cache_lock);
	for (e = &m->cache[bucket(iova)]; *e; e = &(*e)->next)
		if ((*e)->iova == iova)
			return e;
	return NULL;
}

/* Halt and unpin one cached page. */
static void cache_remove(struct mdev *m, struct mdev_entry **ep)
{
	struct mdev_entry *e = *ep;

	lockdep_assert_held(&m->cache_lock);
	*ep = e->next;
	WARN_ON(vfio_iommu_type1_device_unpin_pages(m->iommu, &m->vdev, e->iova,
						    1) != 1);
	m->st.pinned--;
	ui_free(e);
}

/* Unpin everything the device holds. */
static void reset_locked(struct mdev *m)
{
	lockdep_assert_held(&m->cache_lock);
	for (unsigned int b = 0; b < MDEV_BUCKETS; b++)
		while (m->cache[b]) {
			cache_remove(m, &m->cache[b]);
			m->st.unpinned++;
		}
	m->st.resets++;
}

static void mdev_dma_unmap(struct vfio_iommu_device *vdev, uint64_t iova,
			   uint64_t length, void *priv)
{
	struct mdev *m = priv;
	struct mdev_entry **e;

	(void)vdev;
	mutex_lock(&m->cache_lock);
	m->st.unmap_calls++;
	switch (m->model) {
	case MDEV_GVT:
		/* every page of the range, as GVT-g does */
		for (uint64_t pfn = iova / MDEV_PAGE,
			      end = pfn + length / MDEV_PAGE;
		     pfn < end; pfn++) {
			e = cache_find(m, pfn * MDEV_PAGE);
			if (!e)
				continue;
			cache_remove(m, e);
			m->st.unpinned++;
		}
		break;
	case MDEV_CCW:
		/* the bug: the length is ignored */
		if (cache_find(m, iova))
			reset_locked(m);
		break;
	case MDEV_AP:
		/* the bug: one page, the first, pinned or not; type1 only
		 * drops a reference this device holds there */
		e = cache_find(m, iova);
		if (e) {
			cache_remove(m, e);
			m->st.unpinned++;
		} else {
			vfio_iommu_type1_device_unpin_pages(m->iommu, &m->vdev,
							    iova, 1);
		}
		break;
	}
	mutex_unlock(&m->cache_lock);
}

static const struct vfio_iommu_device_ops mdev_ops = {
	.dma_unmap = mdev_dma_unmap,
};

int mdev_create(struct phys_mem *pm, struct vfio_iommu *iommu,
		struct iommu_group *group, enum mdev_model model,
		const char *name, struct mdev **out)
{
	struct mdev *m;
	int ret;

	if (!pm || !iommu || !group || !out || model > MDEV_AP)
		return -EINVAL;
	m = ui_zalloc(sizeof(*m));
	if (!m)
		return -ENOMEM;
	*m = (struct mdev){
		.vdev = {.ops = &mdev_ops, .priv = m, .name = m->name},
		.pm = pm,
		.iommu = iommu,
		.group = group,
		.model = model,
	};
	snprintf(m->name, sizeof(m->name), "%s",
		 name ? name : mdev_model_name(model));
	mutex_init(&m->cache_lock, DEVICES_LOCK_MDEV_CACHE);
	ret = vfio_iommu_type1_register_device(iommu, &m->vdev);
	if (ret) {
		mutex_destroy(&m->cache_lock);
		ui_free(m);
		return ret;
	}
	*out = m;
	return 0;
}

void mdev_reset(struct mdev *m)
{
	mutex_lock(&m->cache_lock);
	reset_locked(m);
	mutex_unlock(&m->cache_lock);
}

void mdev_destroy(struct mdev *m)
{
	if (!m)
		return;
	mdev_reset(m);
	vfio_iommu_type1_unregister_device(m->iommu, &m->vdev);
	mutex_destroy(&m->cache_lock);
	ui_free(m);
}

int mdev_pin(struct mdev *m, uint64_t iova, int npage, int prot)
{
	int i, ret = 0;

	uint64_t gen;

	if (npage <= 0 || iova % MDEV_PAGE)
		return -EINVAL;
	mutex_lock(&m->cache_lock);
	gen = ++m->pin_gen;
	for (i = 0; i < npage; i++) {
		uint64_t cur = iova + (uint64_t)i * MDEV_PAGE;
		struct mdev_entry *e;
		phys_addr_t pa;

		if (cache_find(m, cur))
			continue;
		e = ui_malloc(sizeof(*e));
		if (!e) {
			ret = -ENOMEM;
			break;
		}
		ret = vfio_iommu_type1_device_pin_pages(
			m->iommu, &m->vdev, m->group, cur, 1, prot, &pa);
		if (ret != 1) {
			ui_free(e);
			break;
		}
		ret = 0;
		e->iova = cur;
		e->pa = pa;
		e->gen = gen;
		e->next = m->cache[bucket(cur)];
		m->cache[bucket(cur)] = e;
		m->st.pinned++;
	}
	/* all or nothing: drop what this call pinned */
	while (ret && i-- > 0) {
		struct mdev_entry **e =
			cache_find(m, iova + (uint64_t)i * MDEV_PAGE);

		if (e && (*e)->gen == gen)
			cache_remove(m, e);
	}
	mutex_unlock(&m->cache_lock);
	return ret;
}

int mdev_unpin(struct mdev *m, uint64_t iova)
{
	struct mdev_entry **e;
	int ret = -ENOENT;

	mutex_lock(&m->cache_lock);
	e = cache_find(m, iova);
	if (e) {
		cache_remove(m, e);
		ret = 0;
	}
	mutex_unlock(&m->cache_lock);
	return ret;
}

int mdev_dma_rw(struct mdev *m, uint64_t iova, void *buf, size_t len,
		bool write)
{
	uint8_t *p = buf;
	int ret = 0;

	mutex_lock(&m->cache_lock);
	while (len) {
		uint64_t off = iova % MDEV_PAGE;
		size_t n = min((size_t)(MDEV_PAGE - off), len);
		struct mdev_entry **e = cache_find(m, iova - off);
		uint8_t *va;

		if (!e) {
			m->st.dma_refused++;
			ret = -EFAULT;
			break;
		}
		va = (uint8_t *)phys_to_virt(m->pm, (*e)->pa) + off;
		if (write)
			memcpy(va, p, n);
		else
			memcpy(p, va, n);
		p += n;
		iova += n;
		len -= n;
	}
	mutex_unlock(&m->cache_lock);
	return ret;
}

void mdev_get_stats(struct mdev *m, struct mdev_stats *st)
{
	mutex_lock(&m->cache_lock);
	*st = m->st;
	mutex_unlock(&m->cache_lock);
	st->holder_refs = vfio_iommu_type1_device_pinned(m->iommu, &m->vdev);
}
