// SPDX-License-Identifier: MIT
/*
 * Tests of type1's I/O page faults (seed 001) that requirements.md section
 * 7 names F12, F22, F23, F24 and F36, with stall-capable SVA accelerators
 * doing real DMA: sva0 behind SMMU A, sva1 and sva2 behind SMMU B (two
 * domains; sva2 joins sva1's).  The rest of the IOPF tests (enabling, the
 * notifier, premap, pins, dirty tracking, nested) are in test_vfio.c.
 *
 *  - F12: a failed pin (fault injection, a hole in the user's memory) or a
 *    failed IOMMU map (a domain whose map refuses) of the faulting page is
 *    answered INVALID with nothing pinned and nothing mapped anywhere; a
 *    premap window that runs into such a page still maps the faulting one.
 *  - F22: UNMAP_DMA takes the faulted pages out of every domain and its
 *    IOTLB before it returns, frees the bitmap and uncharges nothing.
 *  - F23: a new domain gets the faulted pages (its devices never stall on
 *    them), a group joining an existing domain reports faults too, and an
 *    attach that fails midway leaves nothing behind.
 *  - F24: a handler held in flight (the IOPF_FAULT trace hook blocks it)
 *    while its group is detached: the detach waits for it, the handler
 *    finishes on live state, and nothing of the group's stays registered.
 *    Also with the threaded SMMU (the handler on the interrupt thread).
 *  - F36: with IOPF bound to the container's mm, MAP_DMA (also with
 *    FLAG_VADDR) and UNMAP_DMA from another mm fail with EPERM and change
 *    nothing.
 */
#include "helpers.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pthread.h>
#include <stdatomic.h>

#include "devices/devices.h"
#include "devices/sva.h"
#include "vfio/vfio.h"

#include "pgtable/lpae_format.h"

#define PG   4096UL
#define RW   (VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)
#define IOVA 0x100000UL
#define NSVA 3

struct fx {
	struct test_vfio_machine m; /* SMMU B coherent */
	struct platform pb;	    /* SMMU B as a platform, for sva_create */
	struct sva_dev *s[NSVA];
};

static const uint32_t sva_sid[NSVA] = {5, 6, 7};

static int setup_common(void **state, bool threaded)
{
	struct fx *f = calloc(1, sizeof(*f));

	test_vfio_smmus_create(&f->m, threaded, true);
	f->pb = (struct platform){f->m.p->pm, f->m.hw2, f->m.smmu2,
				  arm_smmu_iommu(f->m.smmu2)};
	assert_int_equal(sva_create(f->m.p, "sva0", sva_sid[0], 0, &f->s[0]),
			 0);
	assert_int_equal(sva_create(&f->pb, "sva1", sva_sid[1], 0, &f->s[1]),
			 0);
	assert_int_equal(sva_create(&f->pb, "sva2", sva_sid[2], 0, &f->s[2]),
			 0);
	test_vfio_mm_open(&f->m, VFIO_TYPE1v2_IOMMU);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_common(state, false);
}

static int setup_threaded(void **state)
{
	return setup_common(state, true);
}

static struct iommu_group *sgrp(struct fx *f, int i)
{
	return iommu_group_get(sva_device(f->s[i]));
}

static int swrite(struct fx *f, int i, uint64_t iova, uint32_t v)
{
	return endpoint_dma_write(sva_hw(f->s[i]), iova, &v, sizeof(v));
}

static int sread(struct fx *f, int i, uint64_t iova, uint32_t *v)
{
	return endpoint_dma_read(sva_hw(f->s[i]), iova, v, sizeof(*v));
}

static int drain_answer(struct iommu_fault *fault, void *data)
{
	struct iommu_page_response r = {.grpid = fault->prm.grpid,
					.code = IOMMU_PAGE_RESP_INVALID};

	return iommu_page_response(data, &r);
}

/*
 * With the threaded SMMU, events of failed accesses may still be in the
 * interrupt thread when a test ends; a stall is answered only after what
 * was queued before it, so one round trip per SMMU drains them.
 */
static void drain_evtq(struct fx *f, int i)
{
	struct device *dev = sva_device(f->s[i]);
	struct iommu_domain *d = iommu_domain_alloc(dev);

	assert_non_null(d);
	assert_int_equal(iommu_attach_group(d, sgrp(f, i)), 0);
	assert_int_equal(iommu_dev_enable_feature(dev, IOMMU_DEV_FEAT_IOPF), 0);
	assert_int_equal(iommu_register_device_fault_handler(
				 dev, drain_answer, FAULT_REPORT_FLAT, dev),
			 0);
	assert_int_equal(swrite(f, i, IOVA, 0), -EFAULT);
	assert_int_equal(iommu_unregister_device_fault_handler(dev), 0);
	assert_int_equal(iommu_dev_disable_feature(dev, IOMMU_DEV_FEAT_IOPF),
			 0);
	iommu_detach_group(d, sgrp(f, i));
	iommu_domain_free(d);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	vfio_iommu_type1_release(f->m.c);
	drain_evtq(f, 0);
	drain_evtq(f, 1);
	for (int i = 0; i < NSVA; i++)
		sva_destroy(f->s[i]);
	test_vfio_mm_close(&f->m);
	test_vfio_smmus_destroy(&f->m);
	free(f);
	return 0;
}

static void *region(struct fx *f, size_t size)
{
	void *va;

	assert_int_equal(mm_mmap(f->m.mm, size, MM_MAP_POPULATE, &va), 0);
	return va;
}

static long map_dma_mm(struct fx *f, struct mm *mm, uint64_t iova,
		       const void *va, uint64_t size, uint32_t flags)
{
	return test_map_dma(f->m.c, mm, iova, va, size, flags);
}

static long map_dma(struct fx *f, uint64_t iova, const void *va, uint64_t size,
		    uint32_t flags)
{
	return map_dma_mm(f, f->m.mm, iova, va, size, flags);
}

static long unmap_dma_mm(struct fx *f, struct mm *mm, uint64_t iova,
			 uint64_t size, uint32_t flags, uint64_t *done)
{
	return test_unmap_dma(f->m.c, mm, iova, size, flags, done);
}

static long unmap_dma(struct fx *f, uint64_t iova, uint64_t size,
		      uint64_t *done)
{
	return unmap_dma_mm(f, f->m.mm, iova, size, 0, done);
}

static long enable_iopf(struct fx *f)
{
	return vfio_iommu_type1_ioctl(f->m.c, VFIO_IOMMU_ENABLE_IOPF, 0);
}

static struct vfio_iommu_type1_stats stats(struct fx *f)
{
	return test_vfio_stats(f->m.c);
}

static uint64_t pin_refs(struct fx *f)
{
	return test_vfio_pin_refs(&f->m);
}

static struct iommu_domain *sdom(struct fx *f, int i)
{
	return vfio_iommu_type1_group_domain(f->m.c, sgrp(f, i));
}

static uint64_t stalls(struct fx *f, int i)
{
	struct smmu_counters c;

	smmu_stream_counters_read(i ? f->m.hw2 : f->m.p->hw, sva_sid[i], &c);
	return c.stalls;
}

static uint64_t stale_dma(struct fx *f)
{
	struct smmu_counters a, b;

	smmu_counters_read(f->m.p->hw, &a);
	smmu_counters_read(f->m.hw2, &b);
	return a.stale_dma + b.stale_dma;
}

static int iopf_mapped(struct fx *f, uint64_t iova)
{
	return vfio_iommu_type1_iopf_mapped(f->m.c, iova);
}

static void assert_iopf_clean(struct fx *f)
{
	/* every bit equals the page tables of every domain */
	assert_int_equal(vfio_iommu_type1_iopf_check(f->m.c, stderr), 0);
	assert_int_equal(stale_dma(f), 0);
}

static bool has_handler(struct fx *f, int i)
{
	unsigned int flags;

	return !iommu_get_device_fault_handler_flags(sva_device(f->s[i]),
						     &flags);
}

/* ---- F12: a failed pin or map answers INVALID, nothing left ---------------------------- */

/* F12: the pin of the faulting page fails (injected): INVALID, the DMA
 * fails, nothing pinned or mapped; the next access maps it. */
static void test_f12_pin_failure_answers_invalid(void **state)
{
	struct fx *f = *state;
	uint32_t *va = region(f, 16 * PG);
	struct vfio_iommu_type1_stats st;

	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, sgrp(f, 0)), 0);
	assert_int_equal(enable_iopf(f), 0);
	assert_int_equal(map_dma(f, IOVA, va, 16 * PG, RW), 0);

	uiommu_fail_filter(UIOMMU_FAIL_PIN);
	uiommu_fail_nth(1);
	assert_int_equal(swrite(f, 0, IOVA + 3 * PG, 0xab), -EFAULT);
	assert_true(uiommu_fail_fired());
	uiommu_fail_nth(0);
	uiommu_fail_filter(0);
	st = stats(f);
	assert_int_equal(st.iopf_faults, 1);
	assert_int_equal(st.iopf_invalid, 1);
	assert_int_equal(st.iopf_mapped_pages, 0);
	assert_int_equal(iopf_mapped(f, IOVA + 3 * PG), 0);
	test_assert_unmapped(sdom(f, 0), IOVA, 16 * PG);
	assert_int_equal(pin_refs(f), 0);
	assert_int_equal(va[3 * PG / 4], 0);
	assert_iopf_clean(f);

	/* nothing stuck: the next access faults it in */
	assert_int_equal(swrite(f, 0, IOVA + 3 * PG, 0xab), 0);
	assert_int_equal(va[3 * PG / 4], 0xab);
	assert_int_equal(pin_refs(f), 0);
	assert_iopf_clean(f);
}

/* F12 with premap: a page that cannot be pinned (its vaddr unmapped) is
 * INVALID; a premap window running into it still maps the faulting page
 * and the pages before the hole. */
static void test_f12_unpinnable_page_in_premap_window(void **state)
{
	struct fx *f = *state;
	char *va = region(f, 16 * PG);
	uint32_t v;

	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, sgrp(f, 0)), 0);
	assert_int_equal(enable_iopf(f), 0);
	assert_int_equal(vfio_iommu_type1_set_iopf_premap(f->m.c, 8), 0);
	assert_int_equal(map_dma(f, IOVA, va, 16 * PG, RW), 0);
	assert_int_equal(mm_munmap(f->m.mm, va + 4 * PG, PG), 0);

	/* the hole itself: INVALID, nothing mapped, nothing pinned */
	assert_int_equal(swrite(f, 0, IOVA + 4 * PG, 1), -EFAULT);
	assert_int_equal(iopf_mapped(f, IOVA + 4 * PG), 0);
	assert_int_equal(stats(f).iopf_mapped_pages, 0);
	assert_int_equal(pin_refs(f), 0);

	/* page 1's window [1, 9) contains the hole: 1..3 are mapped */
	assert_int_equal(swrite(f, 0, IOVA + 1 * PG, 7), 0);
	assert_int_equal(*(uint32_t *)(va + PG), 7);
	for (int i = 1; i < 4; i++)
		assert_int_equal(iopf_mapped(f, IOVA + i * PG), 1);
	assert_int_equal(iopf_mapped(f, IOVA + 4 * PG), 0);
	assert_int_equal(iopf_mapped(f, IOVA + 5 * PG), 0);
	assert_int_equal(sread(f, 0, IOVA + 3 * PG, &v), 0);
	assert_int_equal(stalls(f, 0), 2); /* page 3 came with page 1 */
	assert_int_equal(pin_refs(f), 0);
	assert_iopf_clean(f);
}

/* A domain whose map refuses one IOVA (or every one: fail_iova 0). */
static _Atomic unsigned long fail_iova;
static const struct iommu_ops *real_ops;

static int refuse_map(struct iommu_domain *domain, unsigned long iova,
		      phys_addr_t paddr, size_t pgsize, size_t pgcount,
		      int prot, size_t *mapped)
{
	unsigned long bad = atomic_load(&fail_iova);

	if (!bad || (bad >= iova && bad < iova + pgsize * pgcount)) {
		*mapped = 0;
		return -ENOMEM;
	}
	return real_ops->map_pages(domain, iova, paddr, pgsize, pgcount, prot,
				   mapped);
}

/* F12: the IOMMU map fails in the second domain: the first is unwound,
 * INVALID, nothing mapped anywhere, the pin released.  With premap, a map
 * failing past the faulting page leaves that page mapped (SUCCESS) and
 * the rest unmapped, nothing pinned. */
static void test_f12_map_failure_answers_invalid(void **state)
{
	struct fx *f = *state;
	uint32_t *va = region(f, 16 * PG);
	struct iommu_domain *d0, *d1;
	struct iommu_ops ops;

	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, sgrp(f, 0)), 0);
	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, sgrp(f, 1)), 0);
	d0 = sdom(f, 0);
	d1 = sdom(f, 1);
	assert_ptr_not_equal(d0, d1);
	assert_int_equal(enable_iopf(f), 0);
	assert_int_equal(map_dma(f, IOVA, va, 16 * PG, RW), 0);

	/* either domain's map fails (whichever is mapped first, the other
	 * is unwound): INVALID, nothing mapped anywhere, nothing pinned */
	for (int k = 0; k < 2; k++) {
		struct iommu_domain *bad = k ? d0 : d1;
		uint64_t iova = IOVA + (2 + k) * PG;

		real_ops = bad->ops;
		ops = *real_ops;
		ops.map_pages = refuse_map;
		atomic_store(&fail_iova, 0);
		bad->ops = &ops;
		assert_int_equal(swrite(f, 0, iova, 5), -EFAULT);
		bad->ops = real_ops;
		assert_int_equal(stats(f).iopf_invalid, k + 1);
		assert_int_equal(iommu_iova_to_phys(d0, iova), 0);
		assert_int_equal(iommu_iova_to_phys(d1, iova), 0);
		assert_int_equal(iopf_mapped(f, iova), 0);
		assert_int_equal(pin_refs(f), 0);
		assert_int_equal(va[(2 + k) * PG / 4], 0);
		assert_iopf_clean(f);
	}

	real_ops = d1->ops;
	ops = *real_ops;
	ops.map_pages = refuse_map;
	d1->ops = &ops;
	/* premap 4 from page 8, the map of page 10 fails */
	assert_int_equal(vfio_iommu_type1_set_iopf_premap(f->m.c, 4), 0);
	atomic_store(&fail_iova, IOVA + 10 * PG);
	assert_int_equal(swrite(f, 0, IOVA + 8 * PG, 9), 0);
	assert_int_equal(va[8 * PG / 4], 9);
	assert_int_equal(iopf_mapped(f, IOVA + 8 * PG), 1);
	assert_int_equal(iopf_mapped(f, IOVA + 9 * PG), 1);
	assert_int_equal(iopf_mapped(f, IOVA + 10 * PG), 0);
	assert_int_equal(iopf_mapped(f, IOVA + 11 * PG), 0);
	assert_int_equal(iommu_iova_to_phys(d0, IOVA + 10 * PG), 0);
	assert_int_equal(iommu_iova_to_phys(d0, IOVA + 11 * PG), 0);
	assert_int_equal(pin_refs(f), 0);
	assert_iopf_clean(f);
	d1->ops = real_ops;

	/* the real map again: both domains get the page */
	assert_int_equal(swrite(f, 1, IOVA + 2 * PG, 6), 0);
	assert_int_equal(va[2 * PG / 4], 6);
	test_assert_mapped(f->m.mm, d0, IOVA + 2 * PG, va + 2 * PG / 4, PG);
	test_assert_mapped(f->m.mm, d1, IOVA + 2 * PG, va + 2 * PG / 4, PG);
	assert_int_equal(mm_locked_vm(f->m.mm), 0);
	assert_iopf_clean(f);
}

/* ---- F22: UNMAP_DMA ------------------------------------------------------------------------------------ */

/* A driver that pinned a page and unpins it when told to (G02). */
struct pin_driver {
	struct vfio_iommu_device vdev;
	struct vfio_iommu *c;
	uint64_t iova; /* 0: nothing pinned */
};

static void pin_driver_unmap(struct vfio_iommu_device *vdev, uint64_t iova,
			     uint64_t length, void *priv)
{
	struct pin_driver *drv = priv;

	(void)vdev;
	if (drv->iova && drv->iova >= iova && drv->iova < iova + length) {
		assert_int_equal(
			vfio_iommu_type1_unpin_pages(drv->c, drv->iova, 1), 1);
		drv->iova = 0;
	}
}

static const struct vfio_iommu_device_ops pin_driver_ops = {
	.dma_unmap = pin_driver_unmap,
};

/* F22: faulted pages in two domains, in the IOTLBs too; UNMAP_DMA of
 * their dma: unmapped everywhere, IOTLBs invalidated before it returns
 * (the devices fault at once), the bitmap gone, nothing uncharged (the
 * driver's charged pin in another dma stays charged). */
static void test_f22_unmap_dma_unmaps_syncs_uncharges_nothing(void **state)
{
	struct fx *f = *state;
	uint32_t *a = region(f, 4 * PG), *b = region(f, 16 * PG), v;
	struct pin_driver drv = {.vdev.ops = &pin_driver_ops, .c = f->m.c};
	uint64_t syncs, done;
	phys_addr_t pa;

	drv.vdev.priv = &drv;
	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, sgrp(f, 0)), 0);
	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, sgrp(f, 1)), 0);
	assert_int_equal(enable_iopf(f), 0);
	assert_int_equal(map_dma(f, IOVA, a, 4 * PG, RW), 0);
	assert_int_equal(map_dma(f, IOVA + 64 * PG, b, 16 * PG, RW), 0);
	assert_int_equal(vfio_iommu_type1_register_device(f->m.c, &drv.vdev),
			 0);
	assert_int_equal(
		vfio_iommu_type1_pin_pages(f->m.c, sgrp(f, 0), IOVA + PG, 1,
					   IOMMU_READ | IOMMU_WRITE, &pa),
		1);
	drv.iova = IOVA + PG;
	assert_int_equal(mm_locked_vm(f->m.mm), 1); /* F25 */

	/* fault b's pages in from both devices, then read them all through
	 * both IOTLBs */
	for (int i = 0; i < 16; i++)
		assert_int_equal(swrite(f, i & 1, IOVA + (64 + i) * PG, i), 0);
	for (int i = 0; i < 16; i++) {
		assert_int_equal(sread(f, 0, IOVA + (64 + i) * PG, &v), 0);
		assert_int_equal(v, (uint32_t)i);
		assert_int_equal(sread(f, 1, IOVA + (64 + i) * PG, &v), 0);
	}
	assert_int_equal(stats(f).iopf_resident, 17);
	assert_true(test_iotlb_entries_in(f->m.p->hw, IOVA + 64 * PG, 16 * PG) >
		    0);
	assert_true(test_iotlb_entries_in(f->m.hw2, IOVA + 64 * PG, 16 * PG) >
		    0);
	assert_int_equal(mm_locked_vm(f->m.mm), 1);
	syncs = stats(f).iotlb_syncs;

	assert_int_equal(unmap_dma(f, IOVA + 64 * PG, 16 * PG, &done), 0);
	assert_int_equal(done, 16 * PG);
	test_assert_unmapped(sdom(f, 0), IOVA + 64 * PG, 16 * PG);
	test_assert_unmapped(sdom(f, 1), IOVA + 64 * PG, 16 * PG);
	/* synced: nothing left in either IOTLB, one sync per domain */
	assert_int_equal(
		test_iotlb_entries_in(f->m.p->hw, IOVA + 64 * PG, 16 * PG), 0);
	assert_int_equal(
		test_iotlb_entries_in(f->m.hw2, IOVA + 64 * PG, 16 * PG), 0);
	assert_true(stats(f).iotlb_syncs >= syncs + 2);
	assert_int_equal(sread(f, 0, IOVA + 64 * PG, &v), -EFAULT);
	assert_int_equal(sread(f, 1, IOVA + 79 * PG, &v), -EFAULT);
	/* the dma and its bitmap are gone, a's page is untouched */
	assert_int_equal(iopf_mapped(f, IOVA + 64 * PG), -ENOENT);
	assert_int_equal(stats(f).nr_dma, 1);
	assert_int_equal(stats(f).iopf_resident, 1);
	assert_int_equal(iopf_mapped(f, IOVA + PG), 1);
	/* no unpin accounting for faulted pages: the driver's one stays */
	assert_int_equal(mm_locked_vm(f->m.mm), 1);
	assert_int_equal(stats(f).locked_vm, 1);
	assert_int_equal(pin_refs(f), 1);
	assert_iopf_clean(f);

	/* a's dma: the driver unpins when called back, its charge goes */
	assert_int_equal(unmap_dma(f, IOVA, 4 * PG, &done), 0);
	assert_int_equal(done, 4 * PG);
	assert_int_equal(drv.iova, 0);
	assert_int_equal(mm_locked_vm(f->m.mm), 0);
	assert_int_equal(pin_refs(f), 0);
	assert_int_equal(stats(f).iopf_resident, 0);
	assert_int_equal(stats(f).nr_dma, 0);
	assert_iopf_clean(f);
	vfio_iommu_type1_unregister_device(f->m.c, &drv.vdev);
}

/* ---- F23: domains attached after pages were faulted in ------------------------------------------------ */

/* F23: a new domain gets every faulted page as it is attached; its
 * device reports faults and never stalls on those pages; a group that
 * joins that domain reports faults as well. */
static void test_f23_new_domain_has_faulted_pages(void **state)
{
	struct fx *f = *state;
	uint32_t *va = region(f, 32 * PG), v;
	unsigned int flags;

	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, sgrp(f, 0)), 0);
	assert_int_equal(enable_iopf(f), 0);
	assert_int_equal(map_dma(f, IOVA, va, 32 * PG, RW), 0);
	for (int i = 0; i < 8; i++)
		assert_int_equal(swrite(f, 0, IOVA + i * PG, 100 + i), 0);
	assert_false(has_handler(f, 1));

	/* a new domain (SMMU B) */
	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, sgrp(f, 1)), 0);
	assert_int_equal(stats(f).nr_domains, 2);
	assert_int_equal(iommu_get_device_fault_handler_flags(
				 sva_device(f->s[1]), &flags),
			 0);
	assert_int_equal(flags, FAULT_REPORT_FLAT);
	assert_int_equal(stats(f).iopf_devices, 2);
	test_assert_mapped(f->m.mm, sdom(f, 1), IOVA, va, 8 * PG);
	for (int i = 0; i < 8; i++) {
		assert_int_equal(sread(f, 1, IOVA + i * PG, &v), 0);
		assert_int_equal(v, 100 + i);
	}
	assert_int_equal(stalls(f, 1), 0);
	assert_int_equal(stats(f).iopf_faults, 8);
	assert_iopf_clean(f);

	/* sva2 joins sva1's domain: reporting on, the pages already there */
	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, sgrp(f, 2)), 0);
	assert_ptr_equal(sdom(f, 2), sdom(f, 1));
	assert_int_equal(stats(f).nr_domains, 2);
	assert_int_equal(stats(f).iopf_devices, 3);
	assert_true(has_handler(f, 2));
	assert_int_equal(sread(f, 2, IOVA + 5 * PG, &v), 0);
	assert_int_equal(v, 105);
	assert_int_equal(stalls(f, 2), 0);
	/* and its own fault maps the page into both domains */
	assert_int_equal(swrite(f, 2, IOVA + 20 * PG, 120), 0);
	assert_int_equal(stalls(f, 2), 1);
	assert_int_equal(va[20 * PG / 4], 120);
	test_assert_mapped(f->m.mm, sdom(f, 0), IOVA + 20 * PG,
			   va + 20 * PG / 4, PG);
	assert_int_equal(sread(f, 0, IOVA + 20 * PG, &v), 0);
	assert_int_equal(stalls(f, 0), 8);
	assert_iopf_clean(f);

	/* the domain's last group leaves: its devices stop reporting */
	vfio_iommu_type1_detach_group(f->m.c, sgrp(f, 2));
	assert_false(has_handler(f, 2));
	vfio_iommu_type1_detach_group(f->m.c, sgrp(f, 1));
	assert_false(has_handler(f, 1));
	assert_int_equal(stats(f).nr_domains, 1);
	assert_iopf_clean(f);
}

struct attach_ctx {
	struct fx *f;
};

static int op_attach(void *ctx)
{
	struct fx *f = ((struct attach_ctx *)ctx)->f;

	return vfio_iommu_type1_attach_group(f->m.c, sgrp(f, 1));
}

static void undo_attach(void *ctx)
{
	struct fx *f = ((struct attach_ctx *)ctx)->f;

	vfio_iommu_type1_detach_group(f->m.c, sgrp(f, 1));
}

static void check_not_attached(void *ctx)
{
	struct fx *f = ((struct attach_ctx *)ctx)->f;

	assert_int_equal(stats(f).nr_domains, 1);
	assert_null(sdom(f, 1));
	assert_null(iommu_get_domain_for_dev(sva_device(f->s[1])));
	assert_false(has_handler(f, 1));
	assert_int_equal(stats(f).iopf_devices, 1);
	assert_int_equal(stats(f).iopf_resident, 8);
	assert_int_equal(vfio_iommu_type1_iopf_check(f->m.c, stderr), 0);
	assert_int_equal(pin_refs(f), 0);
}

/* F23: an attach that fails anywhere (every allocation, frame and pin
 * swept) leaves no domain, no reporting device, the old domain's pages
 * as they were. */
static void test_f23_failed_attach_leaves_nothing(void **state)
{
	struct fx *f = *state;
	uint32_t *va = region(f, 16 * PG), v;
	struct attach_ctx ctx = {f};

	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, sgrp(f, 0)), 0);
	assert_int_equal(enable_iopf(f), 0);
	assert_int_equal(map_dma(f, IOVA, va, 16 * PG, RW), 0);
	for (int i = 0; i < 8; i++)
		assert_int_equal(swrite(f, 0, IOVA + 2 * i * PG, i), 0);
	assert_true(test_fail_sweep(op_attach, undo_attach, check_not_attached,
				    &ctx, 0) > 1);
	/* attached at last: the pages are there, no stall */
	assert_int_equal(op_attach(&ctx), 0);
	assert_int_equal(sread(f, 1, IOVA + 14 * PG, &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(stalls(f, 1), 0);
	assert_iopf_clean(f);
}

/* ---- F24: a fault in flight while its group is detached -------------------------------------------- */

/* Holds the handler at IOPF_FAULT until released. */
struct hold {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool held, release;
	struct device *dev;
};

static void hold_fn(const struct vfio_trace_event *ev, void *arg)
{
	struct hold *h = arg;

	if (ev->op != VFIO_TRACE_IOPF_FAULT || ev->pa != (uintptr_t)h->dev)
		return;
	pthread_mutex_lock(&h->lock);
	h->held = true;
	pthread_cond_broadcast(&h->cond);
	while (!h->release)
		pthread_cond_wait(&h->cond, &h->lock);
	pthread_mutex_unlock(&h->lock);
}

struct dma_job {
	struct fx *f;
	int dev;
	uint64_t iova;
	int ret;
};

static void *dma_job_fn(void *arg)
{
	struct dma_job *j = arg;

	j->ret = swrite(j->f, j->dev, j->iova, 0x5a5a);
	return NULL;
}

struct detach_job {
	struct fx *f;
	int dev;
	_Atomic bool done;
};

static void *detach_job_fn(void *arg)
{
	struct detach_job *j = arg;

	vfio_iommu_type1_detach_group(j->f->m.c, sgrp(j->f, j->dev));
	atomic_store(&j->done, true);
	return NULL;
}

/*
 * F24: sva0's handler is held in flight (it has its lookup record and
 * nothing else) when sva0's group is detached.  The detach must wait: it
 * is still running after the wait below, and returns only once the
 * handler finished with live state (under ASan a handler touching the
 * freed record would be a use-after-free).  Afterwards nothing of sva0's
 * reporting remains, the other group is untouched.
 */
static void f24_detach_waits(struct fx *f)
{
	uint32_t *va = region(f, 16 * PG), v;
	struct hold h = {.dev = sva_device(f->s[0])};
	struct dma_job dj = {f, 0, IOVA + 3 * PG, 1};
	struct detach_job tj = {f, 0, false};
	struct timespec ts = {0, 50 * 1000 * 1000};
	pthread_t dt, tt;

	pthread_mutex_init(&h.lock, NULL);
	pthread_cond_init(&h.cond, NULL);
	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, sgrp(f, 0)), 0);
	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, sgrp(f, 1)), 0);
	assert_int_equal(enable_iopf(f), 0);
	assert_int_equal(map_dma(f, IOVA, va, 16 * PG, RW), 0);
	vfio_iommu_type1_set_trace(f->m.c, hold_fn, &h);

	assert_int_equal(pthread_create(&dt, NULL, dma_job_fn, &dj), 0);
	pthread_mutex_lock(&h.lock);
	while (!h.held)
		pthread_cond_wait(&h.cond, &h.lock);
	pthread_mutex_unlock(&h.lock);

	assert_int_equal(pthread_create(&tt, NULL, detach_job_fn, &tj), 0);
	nanosleep(&ts, NULL);
	/* the handler is in flight: the detach waits for it */
	assert_false(atomic_load(&tj.done));

	pthread_mutex_lock(&h.lock);
	h.release = true;
	pthread_cond_broadcast(&h.cond);
	pthread_mutex_unlock(&h.lock);
	pthread_join(tt, NULL);
	pthread_join(dt, NULL);
	assert_true(atomic_load(&tj.done));
	vfio_iommu_type1_set_trace(f->m.c, NULL, NULL);

	/* the held request was answered on live state, one way or the
	 * other, and nothing is pending */
	assert_true(dj.ret == 0 || dj.ret == -EFAULT);
	if (!dj.ret)
		assert_int_equal(va[3 * PG / 4], 0x5a5a);
	assert_int_equal(iommu_pending_page_requests(h.dev), 0);
	/* sva0's reporting and domain are gone; sva1 still faults pages in */
	assert_false(has_handler(f, 0));
	assert_null(iommu_get_domain_for_dev(h.dev));
	assert_int_equal(stats(f).iopf_devices, 1);
	assert_int_equal(stats(f).nr_domains, 1);
	assert_int_equal(swrite(f, 0, IOVA + 5 * PG, 1), -EFAULT);
	assert_int_equal(sread(f, 1, IOVA + 5 * PG, &v), 0);
	assert_int_equal(pin_refs(f), 0);
	assert_iopf_clean(f);
	pthread_cond_destroy(&h.cond);
	pthread_mutex_destroy(&h.lock);
}

static void test_f24_detach_waits_for_handler_in_flight(void **state)
{
	f24_detach_waits(*state);
}

/* the same with the threaded SMMU: the handler runs on SMMU A's interrupt
 * thread, the device waits in its own */
static void test_f24_detach_waits_for_handler_threaded(void **state)
{
	f24_detach_waits(*state);
}

/* A guest driver whose transfer op queues the stage-1 fault for the guest
 * and returns: the answer comes later, or never. */
struct late_guest {
	struct vfio_iommu_device vdev;
	struct iommu_fault last;
	int calls;
};

static int late_transfer(struct iommu_fault *fault, void *priv)
{
	struct late_guest *g = priv;

	g->last = *fault;
	g->calls++;
	return 0;
}

static void late_dma_unmap(struct vfio_iommu_device *vdev, uint64_t iova,
			   uint64_t length, void *priv)
{
	(void)vdev, (void)iova, (void)length, (void)priv;
}

static const struct vfio_iommu_device_ops late_ops = {
	.dma_unmap = late_dma_unmap,
	.transfer = late_transfer,
};

/* A synthetic stage-1 page request to sva0's handler (as the SMMU sends). */
static int report_l1_pr(struct fx *f, uint64_t addr, uint32_t grpid)
{
	struct iommu_fault flt = {.type = IOMMU_FAULT_PAGE_REQ};

	flt.prm.flags = IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE;
	flt.prm.grpid = grpid;
	flt.prm.addr = addr;
	flt.prm.perm = IOMMU_FAULT_PERM_READ;
	return iommu_report_device_fault(sva_device(f->s[0]), &flt);
}

/*
 * F24, nested: a stage-1 page request transferred to the guest is still
 * unanswered when the group is detached.  The detach cannot wait for the
 * guest: it answers the request INVALID itself (the device is not left
 * waiting) and unregisters the handler, so nothing of the container stays
 * reachable from the device (no leaked lookup, no handler left pointing at
 * freed state; the device can be given to another owner).  The guest's
 * late answer finds nothing.
 */
static void test_f24_detach_answers_unanswered_transfers(void **state)
{
	struct fx *f = *state;
	struct device *dev = sva_device(f->s[0]);
	struct smmu_cd cd = {.valid = true,
			     .t0sz = 16,
			     .asid = 5,
			     .mair = LPAE_MAIR_DEFAULT,
			     .stall = true};
	struct late_guest g = {.vdev.ops = &late_ops};
	struct iommu_page_response r = {.grpid = 0x21,
					.code = IOMMU_PAGE_RESP_SUCCESS};
	uint64_t dw[8];
	char *gva;

	vfio_iommu_type1_release(f->m.c);
	assert_int_equal(vfio_iommu_type1_open(
				 f->m.mm, VFIO_TYPE1_NESTING_IOMMU, &f->m.c),
			 0);
	gva = region(f, 16 * PG);
	assert_int_equal(map_dma(f, TEST_GUEST_IPA, gva, 16 * PG, RW), 0);
	cd.ttb0 = TEST_GUEST_IPA + PG;
	smmu_cd_encode(&cd, dw);
	memcpy(gva, dw, sizeof(dw));
	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, sgrp(f, 0)), 0);
	assert_int_equal(enable_iopf(f), 0);
	assert_int_equal(vfio_iommu_type1_set_nested_s1(f->m.c, sgrp(f, 0),
							TEST_GUEST_IPA, 0),
			 0);
	g.vdev.priv = &g;
	g.vdev.name = "late-guest";
	g.vdev.dev = dev;
	assert_int_equal(vfio_iommu_type1_register_device(f->m.c, &g.vdev), 0);
	assert_int_equal(vfio_iommu_dev_fault_handler_register_nested(dev), 0);

	/* two stage-1 requests go to the guest, which does not answer yet */
	assert_int_equal(report_l1_pr(f, 0x40000, 0x21), 0);
	assert_int_equal(report_l1_pr(f, 0x50000, 0x22), 0);
	assert_int_equal(g.calls, 2);
	assert_int_equal(iommu_pending_page_requests(dev), 2);

	vfio_iommu_type1_unregister_device(f->m.c, &g.vdev);
	vfio_iommu_type1_detach_group(f->m.c, sgrp(f, 0));
	/* answered for the guest, the handler gone with the lookup */
	assert_int_equal(iommu_pending_page_requests(dev), 0);
	assert_false(has_handler(f, 0));
	assert_int_equal(stats(f).iopf_devices, 0);
	assert_null(iommu_get_domain_for_dev(dev));
	/* the guest's late answer finds nothing */
	assert_int_equal(iommu_page_response(dev, &r), -EINVAL);
	/* a fault now reaches no handler, and another owner can take the
	 * device's reporting */
	assert_int_equal(report_l1_pr(f, 0x40000, 0x23), -EINVAL);
	assert_int_equal(g.calls, 2);
	assert_int_equal(iommu_dev_enable_feature(dev, IOMMU_DEV_FEAT_IOPF), 0);
	assert_int_equal(iommu_register_device_fault_handler(
				 dev, drain_answer, FAULT_REPORT_FLAT, dev),
			 0);
	assert_int_equal(iommu_unregister_device_fault_handler(dev), 0);
	assert_int_equal(iommu_dev_disable_feature(dev, IOMMU_DEV_FEAT_IOPF),
			 0);
	assert_int_equal(pin_refs(f), 0);
}

/* ---- F36: one mm ----------------------------------------------------------------------------------------- */

/* F36: IOPF is bound to the container's mm; MAP_DMA, MAP_DMA with
 * FLAG_VADDR and UNMAP_DMA from another mm are EPERM and change nothing;
 * the bound mm keeps working. */
static void test_f36_map_unmap_from_other_mm(void **state)
{
	struct fx *f = *state;
	uint32_t *va = region(f, 8 * PG);
	struct mm *other;
	void *ova;
	uint64_t done = 1;

	assert_int_equal(mm_create(f->m.p->pm, &other), 0);
	assert_int_equal(mm_mmap(other, 8 * PG, MM_MAP_POPULATE, &ova), 0);
	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, sgrp(f, 0)), 0);
	assert_int_equal(enable_iopf(f), 0);
	assert_int_equal(map_dma(f, IOVA, va, 4 * PG, RW), 0);
	assert_int_equal(swrite(f, 0, IOVA, 11), 0);

	/* MAP from another mm: EPERM, no dma */
	assert_int_equal(map_dma_mm(f, other, IOVA + 4 * PG, ova, 4 * PG, RW),
			 -EPERM);
	assert_int_equal(stats(f).nr_dma, 1);
	assert_int_equal(iopf_mapped(f, IOVA + 4 * PG), -ENOENT);
	assert_int_equal(swrite(f, 0, IOVA + 4 * PG, 1), -EFAULT);
	/* UNMAP from another mm: EPERM, the dma and its page stay */
	assert_int_equal(unmap_dma_mm(f, other, IOVA, 4 * PG, 0, &done),
			 -EPERM);
	assert_int_equal(stats(f).nr_dma, 1);
	assert_int_equal(iopf_mapped(f, IOVA), 1);
	/* a new vaddr from another mm: EPERM, the dma stays invalid */
	assert_int_equal(unmap_dma_mm(f, f->m.mm, IOVA, 4 * PG,
				      VFIO_DMA_UNMAP_FLAG_VADDR, &done),
			 0);
	assert_int_equal(map_dma_mm(f, other, IOVA, ova, 4 * PG,
				    VFIO_DMA_MAP_FLAG_VADDR),
			 -EPERM);
	assert_int_equal(swrite(f, 0, IOVA, 12), -EFAULT);
	assert_int_equal(map_dma_mm(f, f->m.mm, IOVA, va, 4 * PG,
				    VFIO_DMA_MAP_FLAG_VADDR),
			 0);
	assert_int_equal(swrite(f, 0, IOVA, 13), 0);
	assert_int_equal(va[0], 13);
	assert_int_equal(*(uint32_t *)ova, 0);
	/* the bound mm maps and unmaps as before */
	assert_int_equal(map_dma(f, IOVA + 4 * PG, va + PG, 4 * PG, RW), 0);
	assert_int_equal(unmap_dma(f, IOVA, 8 * PG, &done), 0);
	assert_int_equal(done, 8 * PG);
	assert_int_equal(stats(f).nr_dma, 0);
	assert_int_equal(pin_refs(f), 0);
	assert_int_equal(mm_locked_vm(other), 0);
	assert_iopf_clean(f);
	assert_int_equal(mm_check_invariants(other, stderr), 0);
	mm_destroy(other);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test_setup_teardown(test_f12_pin_failure_answers_invalid,
					setup, teardown),
	cmocka_unit_test_setup_teardown(
		test_f12_unpinnable_page_in_premap_window, setup, teardown),
	cmocka_unit_test_setup_teardown(test_f12_map_failure_answers_invalid,
					setup, teardown),
	cmocka_unit_test_setup_teardown(
		test_f22_unmap_dma_unmaps_syncs_uncharges_nothing, setup,
		teardown),
	cmocka_unit_test_setup_teardown(test_f23_new_domain_has_faulted_pages,
					setup, teardown),
	cmocka_unit_test_setup_teardown(test_f23_failed_attach_leaves_nothing,
					setup, teardown),
	cmocka_unit_test_setup_teardown(
		test_f24_detach_waits_for_handler_in_flight, setup, teardown),
	cmocka_unit_test_setup_teardown(
		test_f24_detach_waits_for_handler_threaded, setup_threaded,
		teardown),
	cmocka_unit_test_setup_teardown(
		test_f24_detach_answers_unanswered_transfers, setup, teardown),
	cmocka_unit_test_setup_teardown(test_f36_map_unmap_from_other_mm, setup,
					teardown),
};

TEST_MAIN(tests)
