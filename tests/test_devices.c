// SPDX-License-Identifier: MIT
/*
 * Tests of the workloads: the NVMe model on the DMA API.  Every read is
 * checked against the namespace pattern, the per-I/O counts of each mode
 * are exact, and the stale-IOTLB probe finds nothing in strict mode and a
 * window in lazy mode (A02, A04, seed 004's security note).
 */
#include "helpers.h"

#include <errno.h>
#include <string.h>

#include <uiommu/devices.h>

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

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_nvme_strict_counts),
	cmocka_unit_test(test_nvme_lazy_counts),
	cmocka_unit_test(test_nvme_deterministic),
	cmocka_unit_test(test_nvme_stale_window),
	cmocka_unit_test(test_nvme_threads),
	cmocka_unit_test(test_nvme_bad_config),
};

TEST_MAIN(tests)
