// SPDX-License-Identifier: MIT
/*
 * Tests of the workloads: the NVMe model on the DMA API.  Every read is
 * checked against the namespace pattern, the per-I/O counts of each mode
 * are exact, and the stale-IOTLB probe finds nothing in strict mode and a
 * window in lazy mode (A02, A04, seed 004's security note).  The mediated
 * device models of seed 002: the correct one unmaps cleanly (G02, G08),
 * the two faulty ones are caught by type1 (G03) without leaking a pin or a
 * locked page, and one cannot drop another's pin (G05).  The bus pairs an
 * SMMU endpoint with its core device and leaves nothing behind on any
 * failure; the topology parser accepts the grammar and refuses what breaks
 * it; the machine builder builds what a topology describes; the fd front's
 * counters read and reset.
 */
#include "helpers.h"

#include <errno.h>
#include <string.h>

#include "iommu/bus.h"
#include "devices/devices.h"
#include "devices/sva.h"
#include <uiommu/uapi.h>
#include "vfio/vfio_device.h"

#include "system/system.h"

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

#include "vfio/vfio.h"

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

/* ---- the bus ---------------------------------------------------------------- */

static void test_bus_pairs_endpoint_and_device(void **state)
{
	struct platform *p = platform();
	struct bus_device a, b, c;
	struct smmu_counters cnt;

	assert_int_equal(bus_device_add(&a, p->hw, p->iommu, "a", 3,
					DEVICE_FW_CAN_STALL, 7),
			 0);
	assert_int_equal(bus_device_add(&b, p->hw, p->iommu, "b", 4, 0, 7), 0);
	assert_int_equal(bus_device_add(&c, p->hw, p->iommu, "c", 5, 0, 0), 0);
	/* one stream id on both halves, and the name and flags on the core's */
	assert_string_equal(a.dev.name, "a");
	assert_int_equal(a.dev.sid, 3);
	assert_int_equal(endpoint_sid(a.hw), 3);
	assert_int_equal(a.dev.fw_flags, DEVICE_FW_CAN_STALL);
	assert_ptr_equal(a.smmu, p->hw);
	/* the group tag groups: a and b share one, c has its own */
	assert_ptr_equal(iommu_group_get(&a.dev), iommu_group_get(&b.dev));
	assert_ptr_not_equal(iommu_group_get(&a.dev), iommu_group_get(&c.dev));
	bus_device_counters(&a, &cnt);
	assert_int_equal(cnt.translations, 0);
	/* no domain attached: nothing is stale */
	assert_false(bus_device_iotlb_stale(&c, 0x1000));
	bus_device_remove(&c);
	bus_device_remove(&b);
	bus_device_remove(&a);
	/* a stream the SMMU does not have (stream ids of 8 bits): the
	 * driver refuses the probe, and the name and stream can be used
	 * again (the sweep below fails the endpoint after the probe) */
	assert_int_equal(bus_device_add(&a, p->hw, p->iommu, "a", 256, 0, 0),
			 -ENODEV);
	assert_int_equal(bus_device_add(&a, p->hw, p->iommu, "a", 3, 0, 0), 0);
	bus_device_remove(&a);
	assert_int_equal(mem_check_invariants(p->pm, PHYS_OWNER_KERNEL, stderr),
			 0);
	platform_destroy(p);
}

struct bus_sweep {
	struct platform *p;
	struct bus_device bd;
};

static int bus_sweep_op(void *ctx)
{
	struct bus_sweep *s = ctx;

	return bus_device_add(&s->bd, s->p->hw, s->p->iommu, "x", 9,
			      DEVICE_FW_PRI, 0);
}

static void bus_sweep_undo(void *ctx)
{
	struct bus_sweep *s = ctx;

	bus_device_remove(&s->bd);
}

static void bus_sweep_check(void *ctx)
{
	struct bus_sweep *s = ctx;

	assert_int_equal(
		mem_check_invariants(s->p->pm, PHYS_OWNER_KERNEL, stderr), 0);
}

static void test_bus_fail_sweep(void **state)
{
	struct bus_sweep s = {.p = platform()};

	assert_true(test_fail_sweep(bus_sweep_op, bus_sweep_undo,
				    bus_sweep_check, &s, 0) > 0);
	/* and the pairing works again afterwards */
	assert_int_equal(bus_sweep_op(&s), 0);
	bus_sweep_undo(&s);
	platform_destroy(s.p);
}

/* ---- the topology and the machine ------------------------------------------- */

static void test_topology_grammar(void **state)
{
	static const char *const bad[] = {
		"bogus",
		"iommu",
		"iommu a; iommu a",
		"iommu a fast",
		"iommu a; device x iommu=b sid=1 group=0",
		"device x iommu=a sid=1 group=0; iommu a",
		"iommu a; device x iommu=a group=0",
		"iommu a; device x iommu=a sid=1",
		"iommu a; device x iommu=a sid=65536 group=0",
		"iommu a; device x iommu=a sid=1 group=0x10000",
		"iommu a; device x iommu=a sid=1x group=0",
		"iommu a; device x iommu=a sid= group=0",
		"iommu a; device x iommu=a sid=1 group=0 type=nvme",
		"iommu a; device x iommu=a sid=1 group=0; "
		"device x iommu=a sid=2 group=1",
		"iommu a123456789012345678901234567890123",
		"iommu a 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15",
	};
	struct topology t;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(topology_parse(bad[i], &t), -EINVAL);
	assert_int_equal(topology_parse("# two SMMUs\n"
					"iommu a threaded; iommu b "
					"noncoherent\n"
					"device x iommu=b sid=0x10 group=3 "
					"stall pri "
					"nosnoop type=dma # comment\n"
					"\n"
					"device y iommu=a sid=2 group=3;;",
					&t),
			 0);
	assert_int_equal(t.nr_iommus, 2);
	assert_string_equal(t.iommus[0].name, "a");
	assert_true(t.iommus[0].hw.threaded);
	assert_true(t.iommus[0].drv.coherent);
	assert_false(t.iommus[1].hw.threaded);
	assert_false(t.iommus[1].drv.coherent);
	assert_true(t.iommus[1].drv.range_inv);
	assert_int_equal(t.nr_devices, 2);
	assert_string_equal(t.devices[0].name, "x");
	assert_int_equal(t.devices[0].iommu, 1);
	assert_int_equal(t.devices[0].sid, 0x10);
	assert_int_equal(t.devices[0].group, 3);
	assert_int_equal(t.devices[0].fw_flags, DEVICE_FW_CAN_STALL |
							DEVICE_FW_PRI |
							DEVICE_FW_NO_SNOOP);
	assert_int_equal(t.devices[1].iommu, 0);
	assert_int_equal(t.devices[1].fw_flags, 0);
	assert_int_equal(t.mem_size, 0);
}

static void test_machine_builds_topology(void **state)
{
	struct topology t;
	struct machine *m;
	struct platform *p, *p2, *p3;

	assert_int_equal(topology_parse(UIOMMU_DEFAULT_TOPOLOGY, &t), 0);
	t.mem_size = 1ULL << 30;
	assert_int_equal(machine_create(&t, &m), 0);
	assert_int_equal(m->nr_iommus, 1);
	/* dma0, dma1 and the I/OAT (issue 14) */
	assert_int_equal(m->nr_devices, 3);
	assert_ptr_equal(m->iommus[0].plat.pm, m->pm);
	assert_ptr_equal(arm_smmu_hw(m->iommus[0].plat.smmu),
			 m->iommus[0].plat.hw);
	assert_string_equal(m->devices[1].vdev->name, "dma1");
	assert_int_equal(m->devices[1].group, 1);
	assert_null(m->devices[1].pci);
	assert_string_equal(m->devices[2].vdev->name, "0000:00:04.0");
	assert_string_equal(m->devices[2].name, "ioat0");
	assert_int_equal(m->devices[2].group, 2);
	assert_non_null(m->devices[2].pci);
	machine_destroy(m);

	/* a device on a stream the SMMU does not have: nothing is left */
	assert_int_equal(topology_parse("iommu a; device x iommu=a sid=1 "
					"group=0; device y iommu=a sid=999 "
					"group=1",
					&t),
			 0);
	assert_int_equal(machine_create(&t, &m), -ENODEV);

	/* the one-SMMU machine and a second SMMU on its memory */
	assert_int_equal(platform_create(NULL, &p), 0);
	assert_int_equal(platform_add_iommu(p, NULL, NULL, &p2), 0);
	assert_ptr_equal(p2->pm, p->pm);
	assert_ptr_not_equal(p2->hw, p->hw);
	assert_ptr_equal(p2->iommu, arm_smmu_iommu(p2->smmu));
	/* any platform of the machine names it: a third through the second,
	 * and the teardown through the third */
	assert_int_equal(platform_add_iommu(p2, NULL, NULL, &p3), 0);
	assert_ptr_equal(p3->machine, p->machine);
	assert_ptr_equal(p3->pm, p->pm);
	platform_destroy(p3);
}

/* ---- the fd front's counters ------------------------------------------------ */

static void test_front_stats(void **state)
{
	struct uiommu_stats st;

	assert_int_equal(uiommu_system_init("iommu a; iommu b; device x "
					    "iommu=b sid=1 group=0"),
			 0);
	assert_int_equal(uiommu_get_stats(0, &st), 0);
	assert_int_equal(uiommu_get_stats(1, &st), 0);
	assert_int_equal(uiommu_get_stats(2, &st), -ENODEV);
	assert_int_equal(uiommu_reset_stats(2), -ENODEV);
	assert_int_equal(uiommu_reset_stats(1), 0);
	assert_int_equal(uiommu_get_stats(1, &st), 0);
	assert_int_equal(st.translations, 0);
	assert_int_equal(st.tlbi_va + st.tlbi_asid + st.tlbi_all, 0);
	assert_int_equal(uiommu_system_exit(), 0);
}

#ifdef UI_LOCKDEP
static void create_system_unlocked(void *ctx)
{
	struct uiommu_system *s;

	(void)ctx;
	system_create(NULL, &s);
}

/* The front builds its system only under its lock: without it, the
 * builder aborts naming itself and the lock. */
static void test_front_lock_not_held_aborts(void **state)
{
	static const char *const want[] = {"system_create() must be called "
					   "with &sys_lock held",
					   "lock class sys_lock", NULL};

	test_expect_abort(create_system_unlocked, NULL, want);
}
#endif

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
	cmocka_unit_test(test_bus_pairs_endpoint_and_device),
	cmocka_unit_test(test_bus_fail_sweep),
	cmocka_unit_test(test_topology_grammar),
	cmocka_unit_test(test_machine_builds_topology),
	cmocka_unit_test(test_front_stats),
#ifdef UI_LOCKDEP
	cmocka_unit_test(test_front_lock_not_held_aborts),
#endif
};

TEST_MAIN(tests)
