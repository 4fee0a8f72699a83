// SPDX-License-Identifier: MIT
/*
 * Tests of the workloads: the NVMe model on the DMA API.  Every read is
 * checked against the namespace pattern, the per-I/O counts of each mode
 * are exact, and the stale-IOTLB probe finds nothing in strict mode and a
 * window in lazy mode (A02, A04, seed 004's security note).  The mediated
 * device models of seed 002: the correct one unmaps cleanly (G02, G08),
 * the two faulty ones are caught by type1 (G03) without leaking a pin or a
 * locked page, and one cannot drop another's pin (G05).
 */
#include "helpers.h"

#include <errno.h>
#include <string.h>

#include <uiommu/devices.h>
#include <uiommu/sva.h>

static struct platform *platform(void)
{
	struct platform *p;

	assert_int_equal(platform_create(NULL, &p), 0);
	return p;
}

static void run(enum nvme_dma_mode mode, uint64_t ios, bool probe,
		unsigned int threads, struct nvme_result *res)
{
	struct nvme_config cfg = {
		.mode = mode,
		.threads = threads,
		.qdepth = 16,
		.ios = ios,
		.read_pct = 50,
		.ns_bytes = 4 << 20,
		.seed = 7,
		.probe_stale = probe,
	};
	struct platform *p = platform();

	assert_int_equal(nvme_run(p, &cfg, res), 0);
	assert_int_equal(mem_check_invariants(p->pm, PHYS_OWNER_KERNEL, stderr),
			 0);
	platform_destroy(p);
	assert_int_equal(res->ios, ios);
	assert_int_equal(res->reads + res->writes, ios);
	assert_int_equal(res->dma_errors, 0);
	assert_int_equal(res->data_errors, 0);
	/* the queues stay mapped until after the figures are taken */
	assert_int_equal(res->maps, res->unmaps + 2 * threads);
}

/* A04: strict costs one TLBI and one sync per I/O; lazy a flush-all per
 * 255 I/Os of a per-CPU queue of 256. */
static void test_nvme_strict_counts(void **state)
{
	struct nvme_result r;

	run(NVME_DMA_STRICT, 4000, false, 1, &r);
	/* the queue mappings add their own: two maps, two unmaps */
	assert_int_equal(r.maps, 4000 + 2);
	assert_int_equal(r.tlbis, r.syncs);
	assert_true(r.tlbis >= 4000 && r.tlbis <= 4000 + 16);
	assert_int_equal(r.flush_all, 0);
}

static void test_nvme_lazy_counts(void **state)
{
	struct nvme_result r;

	run(NVME_DMA_LAZY, 4000, false, 1, &r);
	assert_int_equal(r.maps, 4000 + 2);
	/* full-queue flushes, plus the one at teardown */
	assert_true(r.flush_all >= 4000 / 255 && r.flush_all <= 4000 / 255 + 1);
	assert_true(r.tlbis < r.flush_all + 16);
	assert_true(r.iova_hits > r.iova_misses);
}

/* With one thread and no timer the counts are deterministic. */
static void test_nvme_deterministic(void **state)
{
	struct nvme_result a, b;

	run(NVME_DMA_LAZY_SINGLE, 3000, true, 1, &a);
	run(NVME_DMA_LAZY_SINGLE, 3000, true, 1, &b);
	assert_int_equal(a.tlbis, b.tlbis);
	assert_int_equal(a.syncs, b.syncs);
	assert_int_equal(a.flush_all, b.flush_all);
	assert_int_equal(a.iotlb_misses, b.iotlb_misses);
	assert_int_equal(a.walks, b.walks);
	assert_int_equal(a.iova_hits, b.iova_hits);
	assert_int_equal(a.stale_accesses, b.stale_accesses);
	assert_int_equal(a.max_stale_window, b.max_stale_window);
}

/* Seed 004's security cost: after dma_unmap_page() returns, a lazy domain
 * still lets a device through a stale IOTLB entry; a strict one never. */
static void test_nvme_stale_window(void **state)
{
	struct nvme_result strict, lazy;

	run(NVME_DMA_STRICT, 3000, true, 1, &strict);
	assert_true(strict.probed > 0);
	assert_int_equal(strict.stale_accesses, 0);
	assert_int_equal(strict.max_stale_window, 0);

	run(NVME_DMA_LAZY, 3000, true, 1, &lazy);
	assert_true(lazy.stale_accesses > 0);
	assert_true(lazy.max_stale_window > 0);
	/* no window outlives the queue that holds its IOVA */
	assert_true(lazy.max_stale_window <= IOVA_FQ_SIZE);
}

static void test_nvme_threads(void **state)
{
	struct nvme_result r;

	run(NVME_DMA_LAZY, 6000, false, 2, &r);
	run(NVME_DMA_STRICT, 6000, true, 2, &r);
	assert_int_equal(r.stale_accesses, 0);
}

static void test_nvme_bad_config(void **state)
{
	struct nvme_config cfg = {.read_pct = 101};
	struct platform *p = platform();
	struct nvme_result r;

	assert_int_equal(nvme_run(p, &cfg, &r), -EINVAL);
	cfg.read_pct = 50;
	cfg.threads = UIOMMU_NR_CPUS + 1;
	assert_int_equal(nvme_run(p, &cfg, &r), -EINVAL);
	platform_destroy(p);
}

/* ---- mediated devices that pin (seed 002): G02, G03, G08 ------------------ */

#include <uiommu/vfio.h>

#define MPG   4096UL
#define MIOVA 0x100000UL
#define MRW   (VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)

struct mfx {
	struct platform *p;
	struct mm *mm;
	struct vfio_iommu *c;
	struct iommu_group *g;
	char *va;
};

static char mdev_token;

static void mfx_init(struct mfx *f)
{
	assert_int_equal(platform_create(NULL, &f->p), 0);
	assert_int_equal(mm_create(f->p->pm, &f->mm), 0);
	mm_set_memlock_limit(f->mm, 64ULL << 20);
	assert_int_equal(
		vfio_iommu_type1_open(f->mm, VFIO_TYPE1v2_IOMMU, &f->c), 0);
	f->g = (struct iommu_group *)&mdev_token;
	assert_int_equal(vfio_iommu_type1_attach_emulated_group(f->c, f->g), 0);
	assert_int_equal(
		mm_mmap(f->mm, 128 * MPG, MM_MAP_POPULATE, (void **)&f->va), 0);
}

static uint64_t mfx_pin_refs(struct mfx *f)
{
	struct phys_report r;

	phys_report(f->p->pm, mm_owner(f->mm), &r);
	return r.pin_refs;
}

static void mfx_fini(struct mfx *f)
{
	vfio_iommu_type1_release(f->c);
	assert_int_equal(mfx_pin_refs(f), 0);
	assert_int_equal(mm_locked_vm(f->mm), 0);
	assert_int_equal(mm_check_invariants(f->mm, stderr), 0);
	mm_destroy(f->mm);
	platform_destroy(f->p);
}

static long mmap_dma(struct mfx *f, uint64_t iova, uint64_t off, uint64_t size)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m),
		.flags = MRW,
		.vaddr = (uintptr_t)f->va + off,
		.iova = iova,
		.size = size,
	};

	return vfio_iommu_type1_ioctl(f->c, VFIO_IOMMU_MAP_DMA,
				      (unsigned long)&m);
}

static long munmap_dma(struct mfx *f, uint64_t iova, uint64_t size)
{
	struct vfio_iommu_type1_dma_unmap u = {
		.argsz = sizeof(u),
		.iova = iova,
		.size = size,
	};

	return vfio_iommu_type1_ioctl(f->c, VFIO_IOMMU_UNMAP_DMA,
				      (unsigned long)&u);
}

static struct vfio_iommu_type1_stats mstats(struct mfx *f)
{
	struct vfio_iommu_type1_stats st;

	vfio_iommu_type1_get_stats(f->c, &st);
	return st;
}

static struct mdev_stats mdstats(struct mdev *m)
{
	struct mdev_stats st;

	mdev_get_stats(m, &st);
	assert_int_equal(st.pinned, st.holder_refs); /* cache == type1 */
	return st;
}

/* G08, G02: the GVT-g model walks the whole range and unmaps cleanly */
static void test_mdev_gvt_unmaps_cleanly(void **state)
{
	struct mfx f;
	struct mdev *m;
	char buf[8];

	(void)state;
	mfx_init(&f);
	assert_int_equal(mmap_dma(&f, MIOVA, 0, 64 * MPG), 0);
	assert_int_equal(mmap_dma(&f, MIOVA + 64 * MPG, 64 * MPG, 64 * MPG), 0);
	assert_int_equal(mdev_create(f.p->pm, f.c, f.g, MDEV_GVT, "gvt0", &m),
			 0);
	/* pages inside the range, none the first */
	assert_int_equal(mdev_pin(m, MIOVA + 5 * MPG, 1, IOMMU_READ), 0);
	assert_int_equal(mdev_pin(m, MIOVA + 17 * MPG, 2, IOMMU_READ), 0);
	assert_int_equal(mdev_pin(m, MIOVA + 63 * MPG, 1, IOMMU_READ), 0);
	assert_int_equal(mdev_pin(m, MIOVA + 70 * MPG, 1, IOMMU_READ), 0);
	assert_int_equal(mdstats(m).pinned, 5);
	assert_int_equal(mm_locked_vm(f.mm), 5);
	strcpy(f.va + 17 * MPG, "guest");
	assert_int_equal(mdev_dma_rw(m, MIOVA + 17 * MPG, buf, 6, false), 0);
	assert_string_equal(buf, "guest");
	assert_int_equal(munmap_dma(&f, MIOVA, 64 * MPG), 0);
	assert_int_equal(mdstats(m).unmap_calls, 1);
	assert_int_equal(mdstats(m).unpinned, 4);
	assert_int_equal(mdstats(m).pinned, 1); /* the other mapping's */
	assert_int_equal(mstats(&f).unmap_busy, 0);
	assert_int_equal(mstats(&f).unmap_retries, 0);
	assert_int_equal(mstats(&f).pinned_on_remove, 0);
	assert_int_equal(mm_locked_vm(f.mm), 1);
	/* DMA to the unmapped range is halted */
	assert_int_equal(mdev_dma_rw(m, MIOVA + 17 * MPG, buf, 6, false),
			 -EFAULT);
	mdev_destroy(m);
	assert_int_equal(mstats(&f).external_pins, 0);
	mfx_fini(&f);
}

/* G03: the ccw model (first IOVA only) is caught: the unmap fails naming
 * it, nothing is lost, and its reset lets the unmap through */
static void test_mdev_ccw_caught(void **state)
{
	struct vfio_iommu_type1_stats st;
	struct mfx f;
	struct mdev *m;

	(void)state;
	mfx_init(&f);
	assert_int_equal(mmap_dma(&f, MIOVA, 0, 64 * MPG), 0);
	assert_int_equal(mdev_create(f.p->pm, f.c, f.g, MDEV_CCW, "ccw0", &m),
			 0);
	assert_int_equal(mdev_pin(m, MIOVA + 9 * MPG, 1, IOMMU_READ), 0);
	assert_int_equal(munmap_dma(&f, MIOVA, 64 * MPG), -EBUSY);
	st = mstats(&f);
	assert_int_equal(st.unmap_busy, 1);
	assert_int_equal(st.unmap_retries, 10);
	assert_string_equal(st.busy_device, "ccw0");
	assert_int_equal(st.nr_dma, 1);
	assert_int_equal(mdstats(m).unmap_calls, 11);
	assert_int_equal(mdstats(m).pinned, 1);
	assert_int_equal(mm_locked_vm(f.mm), 1);
	/* with its first IOVA pinned the same driver resets: completes */
	assert_int_equal(mdev_pin(m, MIOVA, 1, IOMMU_READ), 0);
	assert_int_equal(munmap_dma(&f, MIOVA, 64 * MPG), 0);
	assert_int_equal(mdstats(m).resets, 1);
	assert_int_equal(mdstats(m).pinned, 0);
	assert_int_equal(mm_locked_vm(f.mm), 0);
	/* again caught, then torn down: nothing leaks */
	assert_int_equal(mmap_dma(&f, MIOVA, 0, 64 * MPG), 0);
	assert_int_equal(mdev_pin(m, MIOVA + 33 * MPG, 1, IOMMU_READ), 0);
	assert_int_equal(munmap_dma(&f, MIOVA, 64 * MPG), -EBUSY);
	mdev_destroy(m);
	assert_int_equal(munmap_dma(&f, MIOVA, 64 * MPG), 0);
	assert_int_equal(mstats(&f).pinned_on_remove, 0);
	mfx_fini(&f);
}

/* G03, G05: the ap model (unpins the first IOVA) is caught, and its
 * unpin of a page it never pinned does not take another driver's pin */
static void test_mdev_ap_caught(void **state)
{
	struct mfx f;
	struct mdev *ap, *gvt;

	(void)state;
	mfx_init(&f);
	assert_int_equal(mmap_dma(&f, MIOVA, 0, 64 * MPG), 0);
	assert_int_equal(mdev_create(f.p->pm, f.c, f.g, MDEV_AP, "ap0", &ap),
			 0);
	assert_int_equal(mdev_create(f.p->pm, f.c, f.g, MDEV_GVT, "gvt0", &gvt),
			 0);
	assert_int_equal(mdev_pin(ap, MIOVA + 7 * MPG, 1, IOMMU_READ), 0);
	/* gvt holds the first IOVA page: ap's bogus unpin must not drop it
	 * before gvt itself is called (its cache would then disagree) */
	assert_int_equal(mdev_pin(gvt, MIOVA, 1, IOMMU_READ), 0);
	assert_int_equal(munmap_dma(&f, MIOVA, 64 * MPG), -EBUSY);
	assert_string_equal(mstats(&f).busy_device, "ap0");
	assert_int_equal(mdstats(gvt).unpinned, 1); /* its own, by itself */
	assert_int_equal(mdstats(ap).unpinned, 0);
	assert_int_equal(mdstats(ap).pinned, 1);
	assert_int_equal(mstats(&f).external_pins, 1);
	/* ap with a pin at the first IOVA: that one goes, the unmap too */
	mdev_reset(ap);
	assert_int_equal(mdev_pin(ap, MIOVA, 1, IOMMU_READ), 0);
	assert_int_equal(munmap_dma(&f, MIOVA, 64 * MPG), 0);
	assert_int_equal(mdstats(ap).unpinned, 2); /* reset + callback */
	assert_int_equal(mdstats(ap).pinned, 0);
	mdev_destroy(ap);
	mdev_destroy(gvt);
	mfx_fini(&f);
}

struct mpin_sweep {
	struct mfx *f;
	struct mdev *m;
	uint64_t refs;
};

static int op_mpin(void *ctx)
{
	struct mpin_sweep *s = ctx;

	return mdev_pin(s->m, MIOVA, 8, IOMMU_READ);
}

static void undo_mpin(void *ctx)
{
	struct mpin_sweep *s = ctx;

	for (int i = 0; i < 8; i++)
		if (i != 3)
			assert_int_equal(mdev_unpin(s->m, MIOVA + i * MPG), 0);
}

static void check_mpin(void *ctx)
{
	struct mpin_sweep *s = ctx;

	assert_int_equal(mdstats(s->m).pinned, 1);
	assert_int_equal(mfx_pin_refs(s->f), s->refs);
	assert_int_equal(mm_locked_vm(s->f->mm), 1);
}

/* fail-Nth: a failed mdev_pin leaves its cache and type1 as they were */
static void test_mdev_fail_sweep(void **state)
{
	struct mfx f;
	struct mpin_sweep s = {.f = &f};

	(void)state;
	mfx_init(&f);
	assert_int_equal(mmap_dma(&f, MIOVA, 0, 64 * MPG), 0);
	for (int n = 1;; n++) {
		int ret;

		uiommu_fail_nth(n);
		ret = mdev_create(f.p->pm, f.c, f.g, MDEV_GVT, "gvt0", &s.m);
		if (!uiommu_fail_fired())
			break;
		assert_true(ret < 0);
	}
	uiommu_fail_nth(0);
	assert_int_equal(mdev_pin(s.m, MIOVA + 3 * MPG, 1, IOMMU_READ), 0);
	s.refs = mfx_pin_refs(&f);
	assert_true(test_fail_sweep(op_mpin, undo_mpin, check_mpin, &s, 0) > 0);
	mdev_destroy(s.m);
	assert_int_equal(munmap_dma(&f, MIOVA, 64 * MPG), 0);
	mfx_fini(&f);
}

/* ---- the SVA accelerator ----------------------------------------------------- */

struct sva_fx {
	struct iommu_domain *domain;
	struct device *dev;
	phys_addr_t pool;
	unsigned long base;
	int faults;
	bool refuse;
};

/* Maps the faulting page from the pool and answers (or refuses). */
static int sva_map_on_fault(struct iommu_fault *fault, void *data)
{
	struct sva_fx *x = data;
	unsigned long iova = fault->prm.addr & ~4095UL;
	struct iommu_page_response resp = {
		.grpid = fault->prm.grpid,
		.code = x->refuse ? IOMMU_PAGE_RESP_INVALID
				  : IOMMU_PAGE_RESP_SUCCESS,
	};

	x->faults++;
	if (!x->refuse)
		assert_int_equal(
			iommu_map(x->domain, iova, x->pool + (iova - x->base),
				  4096, IOMMU_READ | IOMMU_WRITE | IOMMU_CACHE),
			0);
	return iommu_page_response(x->dev, &resp);
}

/* The accelerator faults its buffers in page by page (A05, A06): one fault
 * per page touched the first time, none the second; a refused request
 * fails the message (A07). */
static void test_sva_faults_in_buffers(void **state)
{
	struct platform *p = platform();
	struct sva_fx x = {.base = 0x100000};
	struct sva_result r;
	struct sva_dev *s;
	uint8_t *mem;

	assert_int_equal(sva_create(p, "sva0", 3, 0, &s), 0);
	x.dev = sva_device(s);
	x.domain = iommu_domain_alloc(x.dev);
	assert_non_null(x.domain);
	assert_int_equal(iommu_attach_group(x.domain, iommu_group_get(x.dev)),
			 0);
	assert_int_equal(phys_alloc_pages(p->pm, 5, PHYS_ALLOC_ZERO,
					  PHYS_OWNER_KERNEL, &x.pool),
			 0);
	mem = phys_to_virt(p->pm, x.pool);
	memset(mem, 0x3e, 16 * 4096);
	assert_int_equal(iommu_dev_enable_feature(x.dev, IOMMU_DEV_FEAT_IOPF),
			 0);
	assert_int_equal(
		iommu_register_device_fault_handler(x.dev, sva_map_on_fault,
						    FAULT_REPORT_FLAT, &x),
		0);

	/* 16 KiB from the first 4 pages to the next 4 */
	assert_int_equal(sva_run(s, x.base, x.base + 4 * 4096, 4 * 4096, 3, &r),
			 0);
	assert_int_equal(r.messages, 3);
	assert_int_equal(r.faults, 8);
	assert_int_equal(x.faults, 8);
	assert_int_equal(mem[4 * 4096 + 5], 0x3e);
	assert_int_equal(sva_run(s, x.base, x.base + 4 * 4096, 4 * 4096, 1, &r),
			 0);
	assert_int_equal(r.faults, 0);

	x.refuse = true;
	assert_int_equal(sva_run(s, x.base, x.base + 12 * 4096, 4096, 1, &r),
			 -EFAULT);
	assert_int_equal(r.messages, 0);
	assert_int_equal(sva_run(s, x.base, x.base, 0, 1, &r), -EINVAL);

	assert_int_equal(iommu_unregister_device_fault_handler(x.dev), 0);
	assert_int_equal(iommu_dev_disable_feature(x.dev, IOMMU_DEV_FEAT_IOPF),
			 0);
	assert_int_equal(iommu_unmap(x.domain, x.base, 8 * 4096), 8 * 4096);
	iommu_detach_group(x.domain, iommu_group_get(x.dev));
	iommu_domain_free(x.domain);
	phys_free_pages(p->pm, x.pool, 5);
	sva_destroy(s);
	assert_int_equal(mem_check_invariants(p->pm, PHYS_OWNER_KERNEL, stderr),
			 0);
	platform_destroy(p);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_nvme_strict_counts),
	cmocka_unit_test(test_nvme_lazy_counts),
	cmocka_unit_test(test_nvme_deterministic),
	cmocka_unit_test(test_nvme_stale_window),
	cmocka_unit_test(test_nvme_threads),
	cmocka_unit_test(test_nvme_bad_config),
	cmocka_unit_test(test_mdev_gvt_unmaps_cleanly),
	cmocka_unit_test(test_mdev_ccw_caught),
	cmocka_unit_test(test_mdev_ap_caught),
	cmocka_unit_test(test_mdev_fail_sweep),
	cmocka_unit_test(test_sva_faults_in_buffers),
};

TEST_MAIN(tests)
