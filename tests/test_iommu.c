// SPDX-License-Identifier: MIT
/*
 * Tests of the IOMMU core, the SMMUv3 driver and the DMA API on the
 * emulated SMMU: groups and attachment, iommu_map/unmap with page-size
 * selection, strict and gathered invalidation, fault reporting and page
 * responses, DMA cookies, flush queues, stage-2 nest-parent and nested
 * domains (a guest's stage-1 tables in guest memory over stage 2).
 * Requirement ids (B01..B10, C01..C09, A01..A10) are named on the tests
 * that show them.
 */
#include "helpers.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <limits.h>

#include "iommu/arm_smmu_v3.h"
#include "iommu/dma.h"
#ifdef UIOMMU_TEST_WITH_VFIO
#include "vfio/vfio.h"
#endif

#include "pgtable/lpae_format.h"

#define PG    4096UL
#define SZ_2M (2UL << 20)

struct fixture {
	struct phys_mem *pm;
	struct smmu *hw;
	struct arm_smmu_device *smmu;
	struct device dev[3];
	struct endpoint *hwdev[3];
};

static struct fixture *fixture_create_mode(bool stall, unsigned int timeout_ms,
					   bool threaded)
{
	struct smmu_config cfg = {.stall_timeout_ms = timeout_ms,
				  .threaded = threaded};
	struct fixture *f = calloc(1, sizeof(*f));

	f->pm = test_phys_create();
	assert_int_equal(smmu_create(f->pm, &cfg, &f->hw), 0);
	assert_int_equal(arm_smmu_device_probe(f->hw, NULL, &f->smmu), 0);
	for (int i = 0; i < 3; i++) {
		struct device *d = &f->dev[i];

		snprintf(d->name, sizeof(d->name), "dev%d", i);
		d->sid = 1 + i;
		d->fw_flags = stall ? DEVICE_FW_CAN_STALL : 0;
		/* dev0 alone, dev1 and dev2 behind one bridge */
		assert_int_equal(iommu_probe_device(d, arm_smmu_iommu(f->smmu),
						    i ? 7 : 0),
				 0);
		assert_int_equal(endpoint_create(f->hw, d->sid, 0,
						 stall ? ENDPOINT_CAP_STALL : 0,
						 &f->hwdev[i]),
				 0);
	}
	return f;
}

static struct fixture *fixture_create(bool stall, unsigned int timeout_ms)
{
	return fixture_create_mode(stall, timeout_ms, false);
}

static void fixture_destroy(struct fixture *f);

static int setup(void **state)
{
	*state = fixture_create(false, 0);
	return 0;
}

static int setup_stall(void **state)
{
	*state = fixture_create(true, 200);
	return 0;
}

static int teardown(void **state)
{
	fixture_destroy(*state);
	return 0;
}

static void fixture_destroy(struct fixture *f)
{
	for (int i = 0; i < 3; i++) {
		endpoint_destroy(f->hwdev[i]);
		iommu_release_device(&f->dev[i]);
	}
	arm_smmu_device_remove(f->smmu);
	smmu_destroy(f->hw);
	assert_int_equal(mem_check_invariants(f->pm, PHYS_OWNER_NONE, stderr),
			 0);
	phys_destroy(f->pm);
	free(f);
}

static phys_addr_t alloc_page(struct fixture *f, unsigned int order)
{
	phys_addr_t pa;

	assert_int_equal(phys_alloc_pages(f->pm, order, PHYS_ALLOC_ZERO,
					  PHYS_OWNER_KERNEL, &pa),
			 0);
	return pa;
}

static struct iommu_domain *attach_unmanaged(struct fixture *f, int i)
{
	struct iommu_domain *d = iommu_domain_alloc(&f->dev[i]);

	assert_non_null(d);
	assert_int_equal(iommu_attach_group(d, iommu_group_get(&f->dev[i])), 0);
	return d;
}

static void detach_free(struct fixture *f, int i, struct iommu_domain *d)
{
	iommu_detach_group(d, iommu_group_get(&f->dev[i]));
	iommu_domain_free(d);
}

/* ---- groups and attachment ------------------------------------------------------ */

static void test_groups(void **state)
{
	struct fixture *f = *state;
	struct iommu_group *g0 = iommu_group_get(&f->dev[0]);
	struct iommu_group *g1 = iommu_group_get(&f->dev[1]);
	struct iommu_domain *d, *d2;

	assert_ptr_not_equal(g0, g1);
	assert_ptr_equal(g1, iommu_group_get(&f->dev[2]));
	assert_int_equal(iommu_group_device_count(g1), 2);
	assert_ptr_equal(iommu_group_by_id(iommu_group_id(g1)), g1);

	/* a device shares its group: it cannot be attached alone */
	d = iommu_domain_alloc(&f->dev[1]);
	assert_int_equal(iommu_attach_device(d, &f->dev[1]), -EINVAL);
	assert_int_equal(iommu_attach_group(d, g1), 0);
	assert_ptr_equal(iommu_get_domain_for_dev(&f->dev[2]), d);
	/* a group attached elsewhere is busy */
	d2 = iommu_domain_alloc(&f->dev[1]);
	assert_int_equal(iommu_attach_group(d2, g1), -EBUSY);
	iommu_detach_group(d, g1);
	assert_null(iommu_get_domain_for_dev(&f->dev[1]));
	assert_int_equal(iommu_attach_group(d2, g1), 0);
	iommu_detach_group(d2, g1);
	iommu_domain_free(d);
	iommu_domain_free(d2);

	assert_int_equal(iommu_attach_device(NULL, &f->dev[0]), -EINVAL);
}

/* B10: a device reaches phys through iova, subject to prot; A08: a device
 * without IOPF that hits a hole gets an unrecoverable fault reported. */
struct fault_log {
	int n;
	struct iommu_fault last;
	int ret;
	/* for page requests: map this and answer */
	struct iommu_domain *domain;
	phys_addr_t map_pa;
	int map_prot;
	unsigned int code;
	bool answer;
	struct device *dev;
};

static int log_handler(struct iommu_fault *fault, void *data)
{
	struct fault_log *log = data;

	log->n++;
	log->last = *fault;
	if (fault->type == IOMMU_FAULT_PAGE_REQ && log->answer) {
		struct iommu_page_response resp = {
			.grpid = fault->prm.grpid,
			.code = log->code,
		};

		if (log->code == IOMMU_PAGE_RESP_SUCCESS && log->domain)
			assert_int_equal(iommu_map(log->domain,
						   fault->prm.addr & ~(PG - 1),
						   log->map_pa, PG,
						   log->map_prot),
					 0);
		assert_int_equal(iommu_page_response(log->dev, &resp), 0);
	}
	return log->ret;
}

static void test_map_prot_and_unrecoverable_fault(void **state)
{
	struct fixture *f = *state;
	struct iommu_domain *d = attach_unmanaged(f, 0);
	struct fault_log log = {0};
	phys_addr_t pa = alloc_page(f, 1);
	uint8_t buf[64], out[64];

	memset(buf, 0x5c, sizeof(buf));
	assert_int_equal(
		iommu_register_device_fault_handler(&f->dev[0], log_handler,
						    FAULT_REPORT_FLAT, &log),
		0);
	assert_int_equal(iommu_map(d, 0x100000, pa, PG,
				   IOMMU_READ | IOMMU_WRITE | IOMMU_CACHE),
			 0);
	assert_int_equal(iommu_map(d, 0x200000, pa + PG, PG,
				   IOMMU_READ | IOMMU_CACHE),
			 0);
	assert_int_equal(iommu_iova_to_phys(d, 0x100010), pa + 0x10);

	assert_int_equal(endpoint_dma_write(f->hwdev[0], 0x100100, buf, 64), 0);
	assert_memory_equal((uint8_t *)phys_to_virt(f->pm, pa) + 0x100, buf,
			    64);
	assert_int_equal(endpoint_dma_read(f->hwdev[0], 0x200000, out, 64), 0);
	/* B10: write to the read-only mapping faults, nothing written */
	assert_int_equal(endpoint_dma_write(f->hwdev[0], 0x200000, buf, 64),
			 -EFAULT);
	assert_int_equal(*(uint8_t *)phys_to_virt(f->pm, pa + PG), 0);
	assert_int_equal(log.n, 1);
	assert_int_equal(log.last.type, IOMMU_FAULT_DMA_UNRECOV);
	assert_int_equal(log.last.event.reason, IOMMU_FAULT_REASON_PERMISSION);
	assert_int_equal(log.last.event.perm, IOMMU_FAULT_PERM_WRITE);

	/* A08: a hole */
	assert_int_equal(endpoint_dma_read(f->hwdev[0], 0x300000, out, 8),
			 -EFAULT);
	assert_int_equal(log.n, 2);
	assert_int_equal(log.last.type, IOMMU_FAULT_DMA_UNRECOV);
	assert_int_equal(log.last.event.addr, 0x300000);
	assert_false(log.last.event.flags & IOMMU_FAULT_UNRECOV_L2);

	assert_int_equal(iommu_unregister_device_fault_handler(&f->dev[0]), 0);
	assert_int_equal(iommu_unmap(d, 0x100000, PG), PG);
	assert_int_equal(iommu_unmap(d, 0x200000, PG), PG);
	detach_free(f, 0, d);
	phys_free_pages(f->pm, pa, 1);
}

static void test_map_errors(void **state)
{
	struct fixture *f = *state;
	struct iommu_domain *d = attach_unmanaged(f, 0);
	phys_addr_t pa = alloc_page(f, 2);

	assert_int_equal(iommu_map(d, 0x1000 + 1, pa, PG, IOMMU_READ), -EINVAL);
	assert_int_equal(iommu_map(d, 0x1000, pa + 1, PG, IOMMU_READ), -EINVAL);
	assert_int_equal(iommu_map(d, 0x1000, pa, PG - 1, IOMMU_READ), -EINVAL);
	assert_int_equal(iommu_map(d, 0x1000, pa, 0, IOMMU_READ), -EINVAL);
	assert_int_equal(iommu_map(d, ~0UL & ~(PG - 1), pa, 2 * PG, IOMMU_READ),
			 -EINVAL);
	/* beyond the 48-bit aperture */
	assert_int_equal(iommu_map(d, 1UL << 48, pa, PG, IOMMU_READ), -EINVAL);

	/* double map: -EEXIST, and the partial work is undone */
	assert_int_equal(iommu_map(d, 0x3000, pa, PG, IOMMU_READ), 0);
	assert_int_equal(iommu_map(d, 0x1000, pa, 4 * PG, IOMMU_READ), -EEXIST);
	assert_int_equal(iommu_iova_to_phys(d, 0x1000), 0);
	assert_int_equal(iommu_iova_to_phys(d, 0x2000), 0);
	assert_int_equal(iommu_iova_to_phys(d, 0x3000), pa);
	assert_int_equal(iommu_unmap(d, 0x3000, PG), PG);
	/* unmap of nothing */
	assert_int_equal(iommu_unmap(d, 0x3000, PG), 0);
	detach_free(f, 0, d);
	phys_free_pages(f->pm, pa, 2);
}

static void test_pgsize_selection(void **state)
{
	const uint64_t bm = LPAE_PGSIZE_ALL;
	size_t count;

	/* aligned 4 MiB: 2 MiB pages */
	assert_int_equal(iommu_pgsize(bm, 0x400000, 0x800000, 4 << 20, &count),
			 SZ_2M);
	assert_int_equal(count, 2);
	/* misaligned phys: 4 KiB pages up to where 2 MiB could start */
	assert_int_equal(iommu_pgsize(bm, 0x1ff000, 0x3ff000, 4 << 20, &count),
			 PG);
	assert_int_equal(count, 1);
	/* iova and phys disagree mod 2 MiB: 4 KiB all the way */
	assert_int_equal(iommu_pgsize(bm, 0x1000, 0x2000, 4 << 20, &count), PG);
	assert_int_equal(count, 1024);
	/* 1 GiB */
	assert_int_equal(iommu_pgsize(bm, 1UL << 30, 1UL << 31, 1UL << 31,
				      &count),
			 1UL << 30);
	assert_int_equal(count, 2);
}

/* Blocks are used when alignment allows; A10: a sub-range unmap of a
 * block returns what it did, and the caller must act on that. */
static void test_block_map_and_partial_unmap(void **state)
{
	struct fixture *f = *state;
	struct iommu_domain *d = attach_unmanaged(f, 0);
	phys_addr_t pa = alloc_page(f, 10); /* 4 MiB, 4 MiB aligned */
	struct smmu_xlate x;
	uint8_t b = 1;

	assert_int_equal(iommu_map(d, 0x40000000, pa, 4 << 20,
				   IOMMU_READ | IOMMU_WRITE),
			 0);
	assert_int_equal(smmu_translate(f->hwdev[0], 0x40000000 + 5 * PG, true,
					&x, NULL),
			 0);
	assert_int_equal(x.size, SZ_2M);
	assert_int_equal(x.pa, pa + 5 * PG);

	/* unmap one page from the middle of a block */
	assert_int_equal(iommu_unmap(d, 0x40000000 + 5 * PG, PG), PG);
	assert_int_equal(endpoint_dma_write(f->hwdev[0], 0x40000000 + 5 * PG,
					    &b, 1),
			 -EFAULT);
	assert_int_equal(
		endpoint_dma_write(f->hwdev[0], 0x40000000 + 6 * PG, &b, 1), 0);
	assert_int_equal(iommu_iova_to_phys(d, 0x40000000 + 4 * PG),
			 pa + 4 * PG);
	/* an unmap starting at the hole stops there: 0 of 2 MiB */
	assert_int_equal(iommu_unmap(d, 0x40000000 + 5 * PG, PG), 0);
	/* the rest in two calls that add up */
	assert_int_equal(iommu_unmap(d, 0x40000000, 5 * PG), 5 * PG);
	assert_int_equal(iommu_unmap(d, 0x40000000 + 6 * PG,
				     (4 << 20) - 6 * PG),
			 (4 << 20) - 6 * PG);
	detach_free(f, 0, d);
	phys_free_pages(f->pm, pa, 10);
}

/* ---- invalidation -------------------------------------------------------------------- */

/* A01: once a strict iommu_unmap() returns, the device faults.  B07: with
 * iommu_unmap_fast the stale entry survives until iommu_iotlb_sync. */
static void test_strict_unmap_and_gather(void **state)
{
	struct fixture *f = *state;
	struct iommu_domain *d = attach_unmanaged(f, 0);
	struct iommu_iotlb_gather gather;
	phys_addr_t pa = alloc_page(f, 0);
	uint8_t b = 0;

	assert_true(iommu_domain_is_strict(d)); /* B08 */
	assert_int_equal(iommu_map(d, 0x10000, pa, PG, IOMMU_READ), 0);
	assert_int_equal(endpoint_dma_read(f->hwdev[0], 0x10000, &b, 1), 0);
	assert_int_equal(iommu_unmap(d, 0x10000, PG), PG);
	assert_int_equal(endpoint_dma_read(f->hwdev[0], 0x10000, &b, 1),
			 -EFAULT);

	/* a sentinel keeps the tables, so no table free flushes anything */
	assert_int_equal(iommu_map(d, 0x40000, pa, PG, IOMMU_READ), 0);
	assert_int_equal(iommu_map(d, 0x10000, pa, PG, IOMMU_READ), 0);
	assert_int_equal(iommu_map(d, 0x11000, pa, PG, IOMMU_READ), 0);
	assert_int_equal(endpoint_dma_read(f->hwdev[0], 0x10000, &b, 1), 0);
	assert_int_equal(endpoint_dma_read(f->hwdev[0], 0x11000, &b, 1), 0);
	iommu_iotlb_gather_init(&gather);
	assert_int_equal(iommu_unmap_fast(d, 0x10000, PG, &gather), PG);
	assert_int_equal(iommu_unmap_fast(d, 0x11000, PG, &gather), PG);
	assert_int_equal(iommu_iova_to_phys(d, 0x10000), 0);
	/* PTEs are gone, the IOTLB still translates */
	assert_int_equal(endpoint_dma_read(f->hwdev[0], 0x10000, &b, 1), 0);
	assert_int_equal(endpoint_dma_read(f->hwdev[0], 0x11000, &b, 1), 0);
	iommu_iotlb_sync(d, &gather);
	assert_int_equal(endpoint_dma_read(f->hwdev[0], 0x10000, &b, 1),
			 -EFAULT);
	assert_int_equal(endpoint_dma_read(f->hwdev[0], 0x11000, &b, 1),
			 -EFAULT);
	assert_int_equal(iommu_unmap(d, 0x40000, PG), PG);
	detach_free(f, 0, d);
	phys_free_pages(f->pm, pa, 0);
}

/* A04: K single-page strict unmaps cost K TLBIs and K syncs. */
static void test_strict_counts(void **state)
{
	struct fixture *f = *state;
	struct iommu_domain *d = attach_unmanaged(f, 0);
	struct smmu_counters c0, c1;
	phys_addr_t pa = alloc_page(f, 0);
	uint64_t tlbi0, sync0;
	const int K = 50;

	/* a sentinel in the same last-level table: no table becomes empty,
	 * so nothing but the leaves needs invalidating */
	assert_int_equal(iommu_map(d, 0x1ff000, pa, PG, IOMMU_READ), 0);
	for (int i = 0; i < K; i++)
		assert_int_equal(iommu_map(d, 0x100000 + i * 2 * PG, pa, PG,
					   IOMMU_READ),
				 0);
	tlbi0 = d->nr_tlbi;
	sync0 = d->nr_syncs;
	smmu_counters_read(f->hw, &c0);
	for (int i = 0; i < K; i++)
		assert_int_equal(iommu_unmap(d, 0x100000 + i * 2 * PG, PG), PG);
	smmu_counters_read(f->hw, &c1);
	assert_int_equal(d->nr_tlbi - tlbi0, K);
	assert_int_equal(d->nr_syncs - sync0, K);
	assert_int_equal(c1.cmd_tlbi_nh_va - c0.cmd_tlbi_nh_va, K);
	assert_int_equal(c1.cmd_sync - c0.cmd_sync, K);
	assert_int_equal(iommu_unmap(d, 0x1ff000, PG), PG);
	detach_free(f, 0, d);
	phys_free_pages(f->pm, pa, 0);
}

/* ---- fault handlers ------------------------------------------------------------------- */

static int noop_handler(struct iommu_fault *fault, void *data)
{
	return 0;
}

/* B01, B02, B03 */
static void test_fault_handler_registration(void **state)
{
	struct fixture *f = *state;
	struct device *dev = &f->dev[0];
	unsigned int flags;

	assert_int_equal(iommu_unregister_device_fault_handler(dev), -EINVAL);
	assert_int_equal(iommu_update_device_fault_handler(dev, ~0u, 1),
			 -EINVAL);
	assert_int_equal(iommu_register_device_fault_handler(
				 dev, noop_handler, FAULT_REPORT_FLAT, NULL),
			 0);
	assert_int_equal(iommu_register_device_fault_handler(
				 dev, log_handler, FAULT_REPORT_FLAT, NULL),
			 -EBUSY);
	assert_int_equal(iommu_update_device_fault_handler(
				 dev, ~0u, FAULT_REPORT_NESTED_L1),
			 0);
	assert_int_equal(iommu_get_device_fault_handler_flags(dev, &flags), 0);
	assert_int_equal(flags, FAULT_REPORT_FLAT | FAULT_REPORT_NESTED_L1);
	assert_int_equal(iommu_update_device_fault_handler(
				 dev, ~FAULT_REPORT_NESTED_L1, 0),
			 0);
	assert_int_equal(iommu_get_device_fault_handler_flags(dev, &flags), 0);
	assert_int_equal(flags, FAULT_REPORT_FLAT);
	assert_int_equal(iommu_unregister_device_fault_handler(dev), 0);
	assert_int_equal(iommu_register_device_fault_handler(
				 dev, log_handler, FAULT_REPORT_FLAT, NULL),
			 0);
	assert_int_equal(iommu_unregister_device_fault_handler(dev), 0);
}

/* B05, B06 */
static void test_features_and_nesting_query(void **state)
{
	struct fixture *f = *state;
	int nested = -1;

	/* no stall, no PRI: the feature cannot be enabled */
	assert_int_equal(iommu_dev_enable_feature(&f->dev[0],
						  IOMMU_DEV_FEAT_IOPF),
			 -ENODEV);
	assert_int_equal(iommu_domain_nesting(&f->dev[0], &nested), -ENODEV);
	struct iommu_domain *d = attach_unmanaged(f, 0);
	assert_int_equal(iommu_domain_nesting(&f->dev[0], &nested), 0);
	assert_int_equal(nested, 0);
	detach_free(f, 0, d);
}

/* A05, A06: a stalled access becomes a page request with the faulting
 * address; the handler maps and answers success; the access completes. */
static void test_stall_page_request_success(void **state)
{
	struct fixture *f = *state;
	struct iommu_domain *d = attach_unmanaged(f, 0);
	phys_addr_t pa = alloc_page(f, 0);
	struct fault_log log = {
		.domain = d,
		.map_pa = pa,
		.map_prot = IOMMU_READ | IOMMU_WRITE,
		.code = IOMMU_PAGE_RESP_SUCCESS,
		.answer = true,
		.dev = &f->dev[0],
	};
	uint32_t v = 0xfeedf00d;

	assert_int_equal(
		iommu_dev_enable_feature(&f->dev[0], IOMMU_DEV_FEAT_IOPF), 0);
	assert_int_equal(
		iommu_register_device_fault_handler(&f->dev[0], log_handler,
						    FAULT_REPORT_FLAT, &log),
		0);
	assert_int_equal(endpoint_dma_write(f->hwdev[0], 0x7000 + 12, &v, 4),
			 0);
	assert_int_equal(log.n, 1);
	assert_int_equal(log.last.type, IOMMU_FAULT_PAGE_REQ);
	assert_int_equal(log.last.prm.addr, 0x7000 + 12);
	assert_true(log.last.prm.perm & IOMMU_FAULT_PERM_WRITE);
	assert_int_equal(*(uint32_t *)((uint8_t *)phys_to_virt(f->pm, pa) + 12),
			 v);
	assert_int_equal(iommu_pending_page_requests(&f->dev[0]), 0);

	assert_int_equal(iommu_unregister_device_fault_handler(&f->dev[0]), 0);
	assert_int_equal(
		iommu_dev_disable_feature(&f->dev[0], IOMMU_DEV_FEAT_IOPF), 0);
	assert_int_equal(iommu_unmap(d, 0x7000, PG), PG);
	detach_free(f, 0, d);
	phys_free_pages(f->pm, pa, 0);
}

/* A07: an INVALID response aborts the access. */
static void test_stall_page_request_invalid(void **state)
{
	struct fixture *f = *state;
	struct iommu_domain *d = attach_unmanaged(f, 0);
	struct fault_log log = {
		.code = IOMMU_PAGE_RESP_INVALID,
		.answer = true,
		.dev = &f->dev[0],
	};
	uint32_t v = 1;

	assert_int_equal(
		iommu_dev_enable_feature(&f->dev[0], IOMMU_DEV_FEAT_IOPF), 0);
	assert_int_equal(
		iommu_register_device_fault_handler(&f->dev[0], log_handler,
						    FAULT_REPORT_FLAT, &log),
		0);
	assert_int_equal(endpoint_dma_write(f->hwdev[0], 0x9000, &v, 4),
			 -EFAULT);
	assert_int_equal(log.n, 1);
	assert_int_equal(iommu_unregister_device_fault_handler(&f->dev[0]), 0);
	assert_int_equal(
		iommu_dev_disable_feature(&f->dev[0], IOMMU_DEV_FEAT_IOPF), 0);
	detach_free(f, 0, d);
}

/* B04: unregistering with a page request unanswered fails, and the
 * handler stays. */
static void test_unregister_with_pending_requests(void **state)
{
	struct fixture *f = *state;
	struct iommu_domain *d = attach_unmanaged(f, 0);
	struct fault_log log = {.answer = false};
	struct iommu_page_response resp = {.code = IOMMU_PAGE_RESP_INVALID};
	unsigned int flags;
	uint32_t v = 1;

	assert_int_equal(
		iommu_dev_enable_feature(&f->dev[0], IOMMU_DEV_FEAT_IOPF), 0);
	assert_int_equal(
		iommu_register_device_fault_handler(&f->dev[0], log_handler,
						    FAULT_REPORT_FLAT, &log),
		0);
	/* nobody answers: the device gives up after the stall timeout */
	assert_int_equal(endpoint_dma_write(f->hwdev[0], 0x9000, &v, 4),
			 -ETIMEDOUT);
	assert_int_equal(log.n, 1);
	assert_int_equal(iommu_pending_page_requests(&f->dev[0]), 1);
	assert_int_equal(iommu_unregister_device_fault_handler(&f->dev[0]),
			 -EBUSY);
	assert_int_equal(
		iommu_get_device_fault_handler_flags(&f->dev[0], &flags), 0);
	/* a response to an unknown group is refused */
	resp.grpid = log.last.prm.grpid + 1;
	assert_int_equal(iommu_page_response(&f->dev[0], &resp), -EINVAL);
	resp.grpid = log.last.prm.grpid;
	assert_int_equal(iommu_page_response(&f->dev[0], &resp), 0);
	assert_int_equal(iommu_unregister_device_fault_handler(&f->dev[0]), 0);
	assert_int_equal(
		iommu_dev_disable_feature(&f->dev[0], IOMMU_DEV_FEAT_IOPF), 0);
	detach_free(f, 0, d);
}

/* ---- the DMA API ------------------------------------------------------------------------ */

/* The first mapping of a DMA domain: kept for a test's length so that its
 * tables are never emptied (an emptied table costs a walk invalidation,
 * which would blur the per-unmap counts). */
static dma_addr_t map_sentinel(struct fixture *f, phys_addr_t pa)
{
	dma_addr_t a = dma_map_page(&f->dev[0], pa, PG, DMA_TO_DEVICE);

	assert_int_not_equal(a, DMA_MAPPING_ERROR);
	return a;
}

/* B09 */
static void test_cookies(void **state)
{
	struct fixture *f = *state;
	struct iommu_domain *d;

	assert_int_equal(
		iommu_domain_alloc_type(&f->dev[0], IOMMU_DOMAIN_DMA, &d), 0);
	assert_int_equal(iommu_get_dma_cookie(d), 0);
	assert_int_equal(iommu_get_dma_cookie(d), -EEXIST);
	iommu_put_dma_cookie(d);
	iommu_domain_free(d);

	d = iommu_domain_alloc(&f->dev[0]);
	assert_int_equal(iommu_get_msi_cookie(d, MSI_IOVA_BASE), 0);
	assert_int_equal(iommu_get_msi_cookie(d, MSI_IOVA_BASE), -EEXIST);
	assert_int_equal(iommu_get_dma_cookie(d), -EEXIST);
	/* an unmanaged domain has no IOVA space of the DMA API (C04) */
	assert_int_equal(iommu_dma_init_domain(d, 0, 1UL << 32, &f->dev[0],
					       NULL),
			 -EINVAL);
	iommu_put_dma_cookie(d);
	iommu_domain_free(d);
}

/* C05: the MSI cookie hands out its window in order and takes back only
 * its most recent mapping; nothing is ever queued. */
static void test_msi_cookie(void **state)
{
	struct fixture *f = *state;
	struct iommu_domain *d = attach_unmanaged(f, 0);
	phys_addr_t doorbell = alloc_page(f, 0);
	dma_addr_t a, b;

	assert_int_equal(iommu_get_msi_cookie(d, MSI_IOVA_BASE), 0);
	a = iommu_dma_map_msi(d, doorbell + 0x40);
	b = iommu_dma_map_msi(d, doorbell);
	assert_int_equal(a, MSI_IOVA_BASE + 0x40);
	assert_int_equal(b, MSI_IOVA_BASE + PG);
	assert_int_equal(iommu_iova_to_phys(d, a), doorbell + 0x40);
	iommu_dma_unmap_msi(d, b);
	assert_int_equal(iommu_dma_map_msi(d, doorbell), MSI_IOVA_BASE + PG);
	iommu_dma_unmap_msi(d, MSI_IOVA_BASE + PG);
	iommu_dma_unmap_msi(d, a);
	assert_int_equal(iommu_iova_to_phys(d, a), 0);
	iommu_put_dma_cookie(d);
	detach_free(f, 0, d);
	phys_free_pages(f->pm, doorbell, 0);
}

/* dma_map_page in a strict DMA domain: offset kept, MSI window avoided,
 * C04: the IOVA is freed right after a synchronous invalidation. */
static void test_dma_map_strict(void **state)
{
	struct fixture *f = *state;
	struct iommu_dma_stats st0, st1;
	struct iommu_domain *d;
	phys_addr_t pa = alloc_page(f, 0);
	dma_addr_t a, a2;
	uint8_t b = 0x42, out = 0;

	dma_addr_t sentinel;

	assert_int_equal(iommu_dma_domain_create(&f->dev[0], false, NULL, &d),
			 0);
	assert_true(iommu_domain_is_strict(d));
	sentinel = map_sentinel(f, pa);
	a = dma_map_page(&f->dev[0], pa + 100, 200, DMA_BIDIRECTIONAL);
	assert_int_not_equal(a, DMA_MAPPING_ERROR);
	assert_int_equal(a & (PG - 1), 100);
	assert_false(a >= MSI_IOVA_BASE && a < MSI_IOVA_BASE + MSI_IOVA_LENGTH);
	assert_int_equal(endpoint_dma_write(f->hwdev[0], a + 10, &b, 1), 0);
	assert_int_equal(*((uint8_t *)phys_to_virt(f->pm, pa) + 110), 0x42);

	iommu_dma_get_stats(d, &st0);
	dma_unmap_page(&f->dev[0], a, 200, DMA_BIDIRECTIONAL);
	iommu_dma_get_stats(d, &st1);
	assert_int_equal(st1.tlbis - st0.tlbis, 1);
	assert_int_equal(st1.syncs - st0.syncs, 1);
	assert_int_equal(st1.fq_queued, 0);
	assert_int_equal(endpoint_dma_read(f->hwdev[0], a, &out, 1), -EFAULT);
	/* freed at once: the cache hands the same IOVA out again */
	a2 = dma_map_page(&f->dev[0], pa, PG, DMA_TO_DEVICE);
	assert_int_equal(a2, a - 100);
	/* DMA_TO_DEVICE is read-only for the device */
	assert_int_equal(endpoint_dma_write(f->hwdev[0], a2, &b, 1), -EFAULT);
	dma_unmap_page(&f->dev[0], a2, PG, DMA_TO_DEVICE);
	assert_int_equal(dma_map_page(&f->dev[0], pa, 0, DMA_TO_DEVICE),
			 DMA_MAPPING_ERROR);
	/* a length that would wrap the aligned size */
	assert_int_equal(dma_map_page(&f->dev[0], pa + 1, SIZE_MAX,
				      DMA_TO_DEVICE),
			 DMA_MAPPING_ERROR);
	dma_unmap_page(&f->dev[0], sentinel, PG, DMA_TO_DEVICE);
	iommu_dma_domain_destroy(&f->dev[0], d);
	phys_free_pages(f->pm, pa, 0);
}

static void test_dma_map_sg(void **state)
{
	struct fixture *f = *state;
	struct scatterlist sg[3];
	struct iommu_domain *d;
	phys_addr_t pa = alloc_page(f, 2);
	uint8_t buf[3 * PG];

	assert_int_equal(iommu_dma_domain_create(&f->dev[0], false, NULL, &d),
			 0);
	sg[0] = (struct scatterlist){.phys = pa + 3 * PG, .length = PG};
	sg[1] = (struct scatterlist){.phys = pa + 0x10, .length = 100};
	sg[2] = (struct scatterlist){.phys = pa + 2 * PG, .length = PG};
	assert_int_equal(dma_map_sg(&f->dev[0], sg, 3, DMA_FROM_DEVICE), 3);
	assert_int_equal(sg[1].dma_address, sg[0].dma_address + PG + 0x10);
	memset(buf, 0x77, sizeof(buf));
	assert_int_equal(
		endpoint_dma_write(f->hwdev[0], sg[0].dma_address, buf, PG), 0);
	assert_int_equal(endpoint_dma_write(f->hwdev[0], sg[1].dma_address, buf,
					    100),
			 0);
	assert_int_equal(*((uint8_t *)phys_to_virt(f->pm, pa) + 0x10), 0x77);
	assert_int_equal(*((uint8_t *)phys_to_virt(f->pm, pa) + 3 * PG), 0x77);
	dma_unmap_sg(&f->dev[0], sg, 3, DMA_FROM_DEVICE);
	assert_int_equal(endpoint_dma_write(f->hwdev[0], sg[2].dma_address, buf,
					    1),
			 -EFAULT);
	iommu_dma_domain_destroy(&f->dev[0], d);
	phys_free_pages(f->pm, pa, 2);
}

/* C01, C03, A02, C06: a lazy domain queues the IOVA; the PTE is gone but
 * the IOTLB still translates; the IOVA is not reused before the flush. */
static void test_lazy_queue_and_stale_window(void **state)
{
	struct fixture *f = *state;
	struct iommu_dma_options opts = {.fq_timeout_ms =
						 IOMMU_DMA_FQ_NO_TIMER};
	struct iommu_dma_stats st;
	struct iommu_domain *d;
	phys_addr_t pa = alloc_page(f, 0);
	dma_addr_t a, a2;
	uint8_t b = 0;

	assert_int_equal(iommu_dma_domain_create(&f->dev[0], true, &opts, &d),
			 0);
	assert_false(iommu_domain_is_strict(d));
	assert_int_equal(d->type, IOMMU_DOMAIN_DMA_FQ);
	iommu_dma_get_stats(d, &st);
	assert_true(st.lazy); /* C01 */
	map_sentinel(f, pa);

	a = dma_map_page(&f->dev[0], pa, PG, DMA_BIDIRECTIONAL);
	assert_int_equal(endpoint_dma_read(f->hwdev[0], a, &b, 1), 0);
	dma_unmap_page(&f->dev[0], a, PG, DMA_BIDIRECTIONAL);
	iommu_dma_get_stats(d, &st);
	assert_int_equal(st.fq_queued, 1); /* C03 */
	assert_int_equal(st.syncs, 0);
	assert_int_equal(st.tlbis, 0);
	assert_int_equal(iommu_iova_to_phys(d, a), 0);
	/* A02: stale translation still works */
	assert_int_equal(endpoint_dma_read(f->hwdev[0], a, &b, 1), 0);
	/* C06: not handed out again before the flush */
	a2 = dma_map_page(&f->dev[0], pa, PG, DMA_BIDIRECTIONAL);
	assert_int_not_equal(a2, a);
	dma_unmap_page(&f->dev[0], a2, PG, DMA_BIDIRECTIONAL);

	iommu_dma_flush_queues(d);
	iommu_dma_get_stats(d, &st);
	assert_int_equal(st.flush_all, 1);
	assert_int_equal(st.fq_freed, 2);
	assert_int_equal(endpoint_dma_read(f->hwdev[0], a, &b, 1), -EFAULT);
	/* after the flush it can be handed out again */
	a2 = dma_map_page(&f->dev[0], pa, PG, DMA_BIDIRECTIONAL);
	assert_true(a2 == a || a2 == a - PG || a2 + PG == a || a2 != 0);
	dma_unmap_page(&f->dev[0], a2, PG, DMA_BIDIRECTIONAL);
	iommu_dma_domain_destroy(&f->dev[0], d);
	phys_free_pages(f->pm, pa, 0);
}

/* A03: a full queue triggers exactly one flush-all, then all its IOVAs are
 * freed; the timer does the same for a queue that does not fill. */
static void test_flush_queue_threshold_and_timer(void **state)
{
	struct fixture *f = *state;
	struct iommu_dma_options opts = {
		.fq_size = 8, .fq_timeout_ms = IOMMU_DMA_FQ_NO_TIMER};
	struct iommu_dma_stats st;
	struct iommu_domain *d;
	phys_addr_t pa = alloc_page(f, 0);
	dma_addr_t a[8];

	uiommu_set_cpu_id(0);
	assert_int_equal(iommu_dma_domain_create(&f->dev[0], true, &opts, &d),
			 0);
	for (int i = 0; i < 8; i++)
		a[i] = dma_map_page(&f->dev[0], pa, PG, DMA_TO_DEVICE);
	/* a ring of 8 holds 7 */
	for (int i = 0; i < 7; i++)
		dma_unmap_page(&f->dev[0], a[i], PG, DMA_TO_DEVICE);
	iommu_dma_get_stats(d, &st);
	assert_int_equal(st.flush_all, 0);
	assert_int_equal(st.fq_pending, 7);
	dma_unmap_page(&f->dev[0], a[7], PG, DMA_TO_DEVICE);
	iommu_dma_get_stats(d, &st);
	assert_int_equal(st.flush_all, 1);
	assert_int_equal(st.fq_flush_full, 1);
	assert_int_equal(st.fq_freed, 7);
	assert_int_equal(st.fq_pending, 1);
	iommu_dma_domain_destroy(&f->dev[0], d);

	/* the timer: 20 ms */
	opts.fq_timeout_ms = 20;
	assert_int_equal(iommu_dma_domain_create(&f->dev[0], true, &opts, &d),
			 0);
	for (int i = 0; i < 3; i++)
		a[i] = dma_map_page(&f->dev[0], pa, PG, DMA_TO_DEVICE);
	for (int i = 0; i < 3; i++)
		dma_unmap_page(&f->dev[0], a[i], PG, DMA_TO_DEVICE);
	for (int ms = 0; ms < 5000; ms += 5) {
		struct timespec ts = {0, 5000000};

		iommu_dma_get_stats(d, &st);
		if (st.fq_freed == 3)
			break;
		nanosleep(&ts, NULL);
	}
	assert_int_equal(st.fq_flush_timer, 1);
	assert_int_equal(st.flush_all, 1);
	assert_int_equal(st.fq_freed, 3);
	iommu_dma_domain_destroy(&f->dev[0], d);
	phys_free_pages(f->pm, pa, 0);
}

/* C02 and C07: lazy needs flush_iotlb_all.  A driver without it gets a
 * strict domain when it asks for lazy (harmless), and a lazy domain set up
 * by hand without it is refused (the kernel's BUG_ON). */
static void test_lazy_without_flush_all(void **state)
{
	struct fixture *f = *state;
	struct iommu_device *real = arm_smmu_iommu(f->smmu);
	struct iommu_ops ops = *real->ops;
	struct iommu_device fake = *real;
	struct device *dev = &f->dev[0];
	struct iommu_domain *d;

	ops.flush_iotlb_all = NULL;
	fake.ops = &ops;
	dev->iommu = &fake;
	assert_int_equal(iommu_domain_alloc_type(dev, IOMMU_DOMAIN_DMA_FQ, &d),
			 0);
	assert_int_equal(d->type, IOMMU_DOMAIN_DMA); /* C07 */
	assert_true(iommu_domain_is_strict(d));
	/* force the contradiction */
	d->type = IOMMU_DOMAIN_DMA_FQ;
	d->ops = &ops;
	assert_int_equal(iommu_get_dma_cookie(d), 0);
	assert_int_equal(iommu_dma_init_domain(d, 0, 1UL << 32, dev, NULL),
			 -EINVAL); /* C02 */
	iommu_put_dma_cookie(d);
	d->ops = real->ops;
	iommu_domain_free(d);
	dev->iommu = real;
}

/* C08: memory freed after a lazy unmap is not protected by the DMA layer;
 * the checked accessor catches a device that uses the stale IOVA. */
static void test_lazy_freed_memory_detected(void **state)
{
	struct fixture *f = *state;
	struct iommu_dma_options opts = {.fq_timeout_ms =
						 IOMMU_DMA_FQ_NO_TIMER};
	struct smmu_counters c;
	struct iommu_domain *d;
	phys_addr_t pa = alloc_page(f, 0), sentinel;
	dma_addr_t a;
	uint8_t b = 1;

	assert_int_equal(iommu_dma_domain_create(&f->dev[0], true, &opts, &d),
			 0);
	sentinel = alloc_page(f, 0);
	map_sentinel(f, sentinel);
	a = dma_map_page(&f->dev[0], pa, PG, DMA_BIDIRECTIONAL);
	assert_int_equal(endpoint_dma_write(f->hwdev[0], a, &b, 1), 0);
	dma_unmap_page(&f->dev[0], a, PG, DMA_BIDIRECTIONAL);
	phys_free_pages(f->pm, pa, 0);
	assert_int_not_equal(endpoint_dma_write(f->hwdev[0], a, &b, 1), 0);
	smmu_counters_read(f->hw, &c);
	assert_int_equal(c.stale_dma, 1);
	iommu_dma_domain_destroy(&f->dev[0], d);
	phys_free_pages(f->pm, sentinel, 0);
}

/* Every allocation failure of domain setup leaves nothing behind. */
struct sweep {
	struct fixture *f;
	struct iommu_domain *d;
	bool lazy;
	uint64_t kernel_frames;
};

static int sweep_dma_domain(void *ctx)
{
	struct sweep *s = ctx;

	return iommu_dma_domain_create(&s->f->dev[0], s->lazy, NULL, &s->d);
}

static void sweep_dma_domain_undo(void *ctx)
{
	struct sweep *s = ctx;

	iommu_dma_domain_destroy(&s->f->dev[0], s->d);
}

static void sweep_dma_domain_check(void *ctx)
{
	struct sweep *s = ctx;
	struct phys_report r;

	assert_null(iommu_get_domain_for_dev(&s->f->dev[0]));
	phys_report(s->f->pm, PHYS_OWNER_KERNEL, &r);
	assert_int_equal(r.allocated, s->kernel_frames);
}

static void test_fail_sweep_dma_domain(void **state)
{
	struct sweep s = {.f = *state};
	struct phys_report r;

	phys_report(s.f->pm, PHYS_OWNER_KERNEL, &r);
	s.kernel_frames = r.allocated;
	assert_true(test_fail_sweep(sweep_dma_domain, sweep_dma_domain_undo,
				    sweep_dma_domain_check, &s, 0) > 2);
	s.lazy = true;
	assert_true(test_fail_sweep(sweep_dma_domain, sweep_dma_domain_undo,
				    sweep_dma_domain_check, &s, 0) > 2);
}

static int sweep_map(void *ctx)
{
	struct sweep *s = ctx;

	return iommu_map(s->d, 0x1ff000, 0x80000000 + 0x1ff000, 4 << 20,
			 IOMMU_READ);
}

static void sweep_map_undo(void *ctx)
{
	struct sweep *s = ctx;

	assert_int_equal(iommu_unmap(s->d, 0x1ff000, 4 << 20), 4 << 20);
}

static void sweep_map_check(void *ctx)
{
	struct sweep *s = ctx;

	for (unsigned long o = 0; o < (4 << 20); o += PG)
		assert_int_equal(iommu_iova_to_phys(s->d, 0x1ff000 + o), 0);
}

static void test_fail_sweep_map(void **state)
{
	struct sweep s = {.f = *state};

	s.d = attach_unmanaged(s.f, 0);
	assert_true(test_fail_sweep(sweep_map, sweep_map_undo, sweep_map_check,
				    &s, 0) > 0);
	detach_free(s.f, 0, s.d);
}

/* ---- nesting: stage-2 parents, nested domains, A09 ------------------------------ */

/*
 * A guest: 16 pages of host memory at IPA GUEST_IPA, mapped by a stage-2
 * parent; its CD table (CD 0) and stage-1 tables (48-bit VA, 4 levels) are
 * built by hand in that memory, every address in them an IPA.
 */
#define GUEST_IPA   TEST_GUEST_IPA
#define GUEST_PAGES TEST_GUEST_PAGES

struct guest {
	struct fixture *f;
	phys_addr_t hpa;	 /* the host frames (order 4) */
	struct test_guest tg;	 /* their host view, the page allocator */
	uint64_t cd_table, root; /* IPAs */
};

static void *gptr(struct guest *g, uint64_t ipa)
{
	return test_guest_ptr(&g->tg, ipa);
}

static uint64_t galloc(struct guest *g)
{
	return test_guest_alloc(&g->tg);
}

static void guest_s1_map(struct guest *g, uint64_t va, uint64_t ipa)
{
	test_guest_s1_map(&g->tg, g->root, va, ipa);
}

/* Guest memory mapped by s2 at GUEST_IPA; CD 0 with asid over the root. */
static void guest_init(struct guest *g, struct fixture *f,
		       struct iommu_domain *s2, uint16_t asid, bool stall)
{
	struct smmu_cd cd = {.valid = true,
			     .t0sz = 16,
			     .asid = asid,
			     .mair = LPAE_MAIR_DEFAULT,
			     .stall = stall};

	memset(g, 0, sizeof(*g));
	g->f = f;
	g->hpa = alloc_page(f, 4);
	g->tg.mem = phys_to_virt(f->pm, g->hpa);
	assert_int_equal(iommu_map(s2, GUEST_IPA, g->hpa, GUEST_PAGES * PG,
				   IOMMU_READ | IOMMU_WRITE | IOMMU_CACHE),
			 0);
	g->cd_table = galloc(g);
	g->root = galloc(g);
	cd.ttb0 = g->root;
	/* the guest writes its CD in its memory (host PA behind the IPA) */
	assert_int_equal(smmu_cd_write(f->hw,
				       g->hpa + (g->cd_table - GUEST_IPA), 0,
				       &cd),
			 0);
}

static uint64_t hw_count(struct fixture *f, size_t off)
{
	struct smmu_counters c;

	smmu_counters_read(f->hw, &c);
	return *(uint64_t *)((char *)&c + off);
}

#define HWC(f, field) hw_count(f, offsetof(struct smmu_counters, field))

/* Issue 7 (nested): a stage-2 nest parent, a nested domain over it with the
 * guest's CD table, and a device's DMA translated through both stages. */
static void test_nested_translation(void **state)
{
	struct fixture *f = *state;
	struct iommu_group *g0 = iommu_group_get(&f->dev[0]);
	struct iommu_group *g1 = iommu_group_get(&f->dev[1]);
	struct iommu_domain *s2, *n, *s1dom = iommu_domain_alloc(&f->dev[0]);
	struct iommu_nested_s1 ctx;
	struct smmu_iotlb_entry e[64];
	struct smmu_ste ste;
	struct guest g;
	uint64_t data_ipa, before;
	uint32_t v = 0x5eed, r = 0;
	int nested = -1, vmid;
	size_t ne, i, found = 0;

	assert_int_equal(iommu_domain_alloc_nest_parent(&f->dev[0], &s2), 0);
	assert_int_equal(s2->type, IOMMU_DOMAIN_NEST_PARENT);
	assert_true(iommu_domain_is_strict(s2));
	vmid = arm_smmu_domain_tag(s2);
	assert_true(vmid > 0); /* VMID 0 is the stage-1 domains' */
	guest_init(&g, f, s2, 9, false);
	data_ipa = galloc(&g);
	guest_s1_map(&g, 0x10000, data_ipa);

	/* a nested domain needs a context, a nest parent, a sane table */
	ctx = (struct iommu_nested_s1){.cd_table = g.cd_table};
	assert_int_equal(iommu_domain_alloc_nested(&f->dev[0], s2, &n),
			 -EINVAL);
	assert_int_equal(iommu_domain_alloc_nested_s1(&f->dev[0], s1dom, &ctx,
						      &n),
			 -EINVAL);
	ctx.cd_table = g.cd_table + 8;
	assert_int_equal(iommu_domain_alloc_nested_s1(&f->dev[0], s2, &ctx, &n),
			 -EINVAL);
	ctx = (struct iommu_nested_s1){.cd_table = g.cd_table,
				       .cd_max = IOMMU_NESTED_CD_MAX_LOG2 + 1};
	assert_int_equal(iommu_domain_alloc_nested_s1(&f->dev[0], s2, &ctx, &n),
			 -EINVAL);
	ctx.cd_max = 0;
	assert_int_equal(iommu_domain_alloc_nested_s1(&f->dev[0], s2, &ctx, &n),
			 0);
	assert_int_equal(n->type, IOMMU_DOMAIN_NESTED);
	assert_ptr_equal(n->parent, s2);
	assert_int_equal(arm_smmu_domain_tag(n), vmid);
	/* it has no tables of its own */
	assert_int_equal(iommu_map(n, 0x10000, g.hpa, PG, IOMMU_READ), -EINVAL);

	/* attach: a NESTED STE with the guest's CD pointer and the S2 fields */
	before = HWC(f, cmd_cfgi_ste);
	assert_int_equal(iommu_attach_group(n, g0), 0);
	assert_int_equal(HWC(f, cmd_cfgi_ste), before + 1);
	assert_int_equal(smmu_ste_read(f->hw, f->dev[0].sid, &ste), 0);
	assert_int_equal(ste.config, SMMU_STE_NESTED);
	assert_int_equal(ste.s1_ctx_ptr, g.cd_table);
	assert_int_equal(ste.s1_cd_max, 0);
	assert_int_equal(ste.s2_vmid, vmid);
	assert_false(ste.s2_stall);
	assert_int_equal(iommu_domain_nesting(&f->dev[0], &nested), 0);
	assert_int_equal(nested, 1);

	/* DMA at VA 0x10000 -> IPA data_ipa -> host frame */
	assert_int_equal(endpoint_dma_write(f->hwdev[0], 0x10008, &v, 4), 0);
	assert_int_equal(*(uint32_t *)gptr(&g, data_ipa + 8), 0x5eed);
	assert_int_equal(endpoint_dma_read(f->hwdev[0], 0x10008, &r, 4), 0);
	assert_int_equal(r, 0x5eed);
	ne = smmu_iotlb_dump(f->hw, e, 64);
	for (i = 0; i < ne && i < 64; i++)
		if (e[i].type == SMMU_TLB_NESTED && e[i].va == 0x10000 &&
		    e[i].vmid == vmid && e[i].asid == 9)
			found++;
	assert_int_equal(found, 1);
	/* outside the guest's stage 1: a fault, the DMA fails */
	assert_int_equal(endpoint_dma_read(f->hwdev[0], 0x20000, &r, 4),
			 -EFAULT);

	/* a device on the parent itself translates at stage 2 only */
	assert_int_equal(iommu_attach_group(s2, g1), 0);
	assert_int_equal(smmu_ste_read(f->hw, f->dev[1].sid, &ste), 0);
	assert_int_equal(ste.config, SMMU_STE_S2);
	assert_int_equal(ste.s2_vmid, vmid);
	assert_int_equal(endpoint_dma_read(f->hwdev[1], data_ipa + 8, &r, 4),
			 0);
	assert_int_equal(r, 0x5eed);

	/* stage-2 unmap: TLBI_S2_IPA + sync, the nested entry goes too */
	before = HWC(f, cmd_tlbi_s2_ipa);
	assert_int_equal(iommu_unmap(s2, data_ipa, PG), PG);
	assert_int_equal(HWC(f, cmd_tlbi_s2_ipa), before + 1);
	assert_int_equal(endpoint_dma_read(f->hwdev[0], 0x10008, &r, 4),
			 -EFAULT);
	assert_int_equal(endpoint_dma_read(f->hwdev[1], data_ipa, &r, 4),
			 -EFAULT);
	assert_int_equal(iommu_map(s2, data_ipa, g.hpa + (data_ipa - GUEST_IPA),
				   PG, IOMMU_READ | IOMMU_WRITE | IOMMU_CACHE),
			 0);
	assert_int_equal(endpoint_dma_read(f->hwdev[0], 0x10008, &r, 4), 0);
	assert_int_equal(r, 0x5eed);
	/* flush-all of the parent: TLBI_S12_VMALL; of the nested domain:
	 * the guest's stage-1 entries (TLBI_NH_ALL of the VMID) */
	before = HWC(f, cmd_tlbi_s12_vmall);
	iommu_flush_iotlb_all(s2);
	assert_int_equal(HWC(f, cmd_tlbi_s12_vmall), before + 1);
	assert_int_equal(endpoint_dma_read(f->hwdev[0], 0x10008, &r, 4), 0);
	/* the guest moves its page: after its invalidation, the new one */
	guest_s1_map(&g, 0x10000, GUEST_IPA); /* onto the CD page */
	before = HWC(f, cmd_tlbi_nh_all);
	iommu_flush_iotlb_all(n);
	assert_int_equal(HWC(f, cmd_tlbi_nh_all), before + 1);
	assert_int_equal(endpoint_dma_read(f->hwdev[0], 0x10000, &r, 4), 0);
	assert_int_equal(r, *(uint32_t *)gptr(&g, g.cd_table));

	iommu_detach_group(s2, g1);
	iommu_detach_group(n, g0);
	assert_int_equal(smmu_ste_read(f->hw, f->dev[0].sid, &ste), 0);
	assert_int_equal(ste.config, SMMU_STE_ABORT);
	iommu_domain_free(n);
	iommu_domain_free(s2);
	iommu_domain_free(s1dom);
	phys_free_pages(f->pm, g.hpa, 4);
}

/* A09: in a nested domain a stage-2 fault carries the L2 flag
 * (UNRECOV_L2, or PAGE_REQUEST_L2 when stalled), a stage-1 fault does not;
 * and the handler flags filter the levels. */
static void a09_run(struct fixture *f, bool stall)
{
	struct iommu_group *g0 = iommu_group_get(&f->dev[0]);
	struct device *dev = &f->dev[0];
	struct iommu_nested_s1 ctx = {0};
	struct iommu_domain *s2, *n;
	struct fault_log log = {
		.answer = true, .code = IOMMU_PAGE_RESP_INVALID, .dev = dev};
	struct guest g;
	uint64_t hole_ipa = GUEST_IPA + GUEST_PAGES * PG;
	uint32_t r;

	assert_int_equal(iommu_domain_alloc_nest_parent(dev, &s2), 0);
	guest_init(&g, f, s2, 3, stall);
	guest_s1_map(&g, 0x10000, galloc(&g));
	guest_s1_map(&g, 0x30000, hole_ipa); /* IPA not mapped at stage 2 */
	ctx.cd_table = g.cd_table;
	assert_int_equal(iommu_domain_alloc_nested_s1(dev, s2, &ctx, &n), 0);
	assert_int_equal(iommu_attach_group(n, g0), 0);
	if (stall)
		assert_int_equal(
			iommu_dev_enable_feature(dev, IOMMU_DEV_FEAT_IOPF), 0);
	assert_int_equal(iommu_register_device_fault_handler(
				 dev, log_handler, FAULT_REPORT_FLAT, &log),
			 0);

	/* stage 2 fault on the output IPA */
	assert_int_equal(endpoint_dma_read(f->hwdev[0], 0x30000, &r, 4),
			 -EFAULT);
	assert_int_equal(log.n, 1);
	if (stall) {
		assert_int_equal(log.last.type, IOMMU_FAULT_PAGE_REQ);
		assert_true(log.last.prm.flags & IOMMU_FAULT_PAGE_REQUEST_L2);
		/* the page the host must fault in: the IPA */
		assert_int_equal(log.last.prm.addr, hole_ipa);
	} else {
		assert_int_equal(log.last.type, IOMMU_FAULT_DMA_UNRECOV);
		assert_true(log.last.event.flags & IOMMU_FAULT_UNRECOV_L2);
		assert_true(log.last.event.flags &
			    IOMMU_FAULT_UNRECOV_FETCH_ADDR_VALID);
		assert_int_equal(log.last.event.fetch_addr, hole_ipa);
		assert_int_equal(log.last.event.addr, 0x30000);
	}
	/* stage 1 fault: no L2 flag */
	assert_int_equal(endpoint_dma_read(f->hwdev[0], 0x50000, &r, 4),
			 -EFAULT);
	assert_int_equal(log.n, 2);
	if (stall) {
		assert_int_equal(log.last.type, IOMMU_FAULT_PAGE_REQ);
		assert_false(log.last.prm.flags & IOMMU_FAULT_PAGE_REQUEST_L2);
	} else {
		assert_int_equal(log.last.type, IOMMU_FAULT_DMA_UNRECOV);
		assert_false(log.last.event.flags & IOMMU_FAULT_UNRECOV_L2);
	}
	/* the handler flags filter the levels: L1 only misses stage 2 */
	assert_int_equal(iommu_update_device_fault_handler(
				 dev, 0, FAULT_REPORT_NESTED_L1),
			 0);
	assert_int_equal(endpoint_dma_read(f->hwdev[0], 0x30000, &r, 4),
			 -EFAULT);
	assert_int_equal(log.n, 2);
	assert_int_equal(endpoint_dma_read(f->hwdev[0], 0x50000, &r, 4),
			 -EFAULT);
	assert_int_equal(log.n, 3);
	/* L2 only misses stage 1 */
	assert_int_equal(iommu_update_device_fault_handler(
				 dev, 0, FAULT_REPORT_NESTED_L2),
			 0);
	assert_int_equal(endpoint_dma_read(f->hwdev[0], 0x50000, &r, 4),
			 -EFAULT);
	assert_int_equal(log.n, 3);
	assert_int_equal(endpoint_dma_read(f->hwdev[0], 0x30000, &r, 4),
			 -EFAULT);
	assert_int_equal(log.n, 4);
	assert_int_equal(iommu_pending_page_requests(dev), 0);

	assert_int_equal(iommu_unregister_device_fault_handler(dev), 0);
	if (stall)
		assert_int_equal(
			iommu_dev_disable_feature(dev, IOMMU_DEV_FEAT_IOPF), 0);
	iommu_detach_group(n, g0);
	iommu_domain_free(n);
	iommu_domain_free(s2);
	phys_free_pages(f->pm, g.hpa, 4);
}

static void test_a09_nested_fault_level(void **state)
{
	a09_run(*state, false);
}

static void test_a09_nested_page_request_level(void **state)
{
	a09_run(*state, true);
}

/* fail-Nth over the nested domain allocation and attach */
struct nested_sweep {
	struct fixture *f;
	struct iommu_domain *s2, *n;
	struct iommu_nested_s1 ctx;
};

static int sweep_nested(void *ctx)
{
	struct nested_sweep *s = ctx;
	int ret = iommu_domain_alloc_nested_s1(&s->f->dev[0], s->s2, &s->ctx,
					       &s->n);

	if (ret)
		return ret;
	ret = iommu_attach_group(s->n, iommu_group_get(&s->f->dev[0]));
	if (ret)
		iommu_domain_free(s->n);
	return ret;
}

static void sweep_nested_undo(void *ctx)
{
	struct nested_sweep *s = ctx;

	iommu_detach_group(s->n, iommu_group_get(&s->f->dev[0]));
	iommu_domain_free(s->n);
}

static void sweep_nested_check(void *ctx)
{
	struct nested_sweep *s = ctx;

	assert_null(iommu_get_domain_for_dev(&s->f->dev[0]));
}

static void test_fail_sweep_nested(void **state)
{
	struct nested_sweep s = {.f = *state};

	assert_int_equal(iommu_domain_alloc_nest_parent(&s.f->dev[0], &s.s2),
			 0);
	s.ctx.cd_table = GUEST_IPA;
	assert_true(test_fail_sweep(sweep_nested, sweep_nested_undo,
				    sweep_nested_check, &s, 0) > 0);
	iommu_domain_free(s.s2);
}

/* ---- command-queue errors (issue 12) --------------------------------------------------- */

static struct arm_smmu_stats smmu_stats(struct fixture *f)
{
	struct arm_smmu_stats st;

	arm_smmu_get_stats(f->smmu, &st);
	return st;
}

#define CQ_IOVA 0x100000UL
#define CQ_K	8

/* A sentinel and K pages mapped, each cached in the IOTLB by a DMA. */
static void cq_map_and_cache(struct fixture *f, struct iommu_domain *d,
			     phys_addr_t pa)
{
	struct smmu_xlate x;
	uint8_t b;

	assert_int_equal(iommu_map(d, 0x1ff000, pa, PG, IOMMU_READ), 0);
	for (int i = 0; i < CQ_K; i++) {
		assert_int_equal(iommu_map(d, CQ_IOVA + i * PG, pa, PG,
					   IOMMU_READ | IOMMU_WRITE),
				 0);
		assert_int_equal(endpoint_dma_read(f->hwdev[0],
						   CQ_IOVA + i * PG, &b, 1),
				 0);
		assert_int_equal(smmu_translate(f->hwdev[0], CQ_IOVA + i * PG,
						false, &x, NULL),
				 0);
		assert_true(x.hit);
	}
}

/* After the strict unmap of page i: nothing reaches it, neither the
 * device's DMA nor a translation probe (which would hit a stale entry). */
static void cq_assert_gone(struct fixture *f, int i)
{
	struct smmu_xlate x;
	uint8_t b = 1;

	assert_int_equal(endpoint_dma_read(f->hwdev[0], CQ_IOVA + i * PG, &b,
					   1),
			 -EFAULT);
	assert_int_equal(endpoint_dma_write(f->hwdev[0], CQ_IOVA + i * PG, &b,
					    1),
			 -EFAULT);
	assert_int_equal(smmu_translate(f->hwdev[0], CQ_IOVA + i * PG, false,
					&x, NULL),
			 -EFAULT);
}

/*
 * One illegal command in the queue (an unknown opcode through the raw
 * command API): the gerror handler reports it, turns it into a CMD_SYNC
 * and the queue resumes, so every strict unmap after it still invalidates.
 * Before the fix the error was swallowed and the queue stayed stopped:
 * every later unmap returned with its TLBI never executed.
 */
static void cmdq_illegal_run(bool threaded)
{
	struct fixture *f = fixture_create_mode(false, 0, threaded);
	struct iommu_domain *d = attach_unmanaged(f, 0);
	phys_addr_t pa = alloc_page(f, 0);
	uint64_t bad[2] = {0x7f, 0xabcd000};
	struct smmu_counters c0, c1;
	struct smmu_cmdq_state cq;
	struct arm_smmu_stats st;
	uint8_t b;

	cq_map_and_cache(f, d, pa);
	smmu_counters_read(f->hw, &c0);
	assert_int_equal(smmu_cmdq_issue_raw(f->hw, bad), 0);
	for (int i = 0; i < CQ_K; i++) {
		assert_int_equal(iommu_unmap(d, CQ_IOVA + i * PG, PG), PG);
		assert_int_equal(iommu_domain_error(d), 0);
		cq_assert_gone(f, i);
	}
	smmu_counters_read(f->hw, &c1);
	assert_int_equal(c1.cmdq_errors - c0.cmdq_errors, 1);
	assert_int_equal(c1.cerror_ill - c0.cerror_ill, 1);
	assert_int_equal(c1.irq_gerror - c0.irq_gerror, 1);
	assert_int_equal(c1.cmd_tlbi_nh_va - c0.cmd_tlbi_nh_va, CQ_K);
	assert_int_equal(c1.stale_dma, 0);
	st = smmu_stats(f);
	assert_int_equal(st.cerrors, 1);
	assert_int_equal(st.skipped_cmds, 1);
	assert_int_equal(st.last_cerror, SMMU_CERROR_ILL);
	assert_int_equal(st.last_cmd[0], bad[0]);
	assert_int_equal(st.last_cmd[1], bad[1]);
	assert_int_equal(st.sync_retries, 0);
	assert_int_equal(st.broken_domains, 0);
	smmu_cmdq_state(f->hw, &cq);
	assert_false(cq.error);
	assert_int_equal(cq.prod, cq.cons);
	/* and the domain goes on working */
	assert_int_equal(iommu_map(d, CQ_IOVA, pa, PG, IOMMU_READ), 0);
	assert_int_equal(endpoint_dma_read(f->hwdev[0], CQ_IOVA, &b, 1), 0);
	assert_int_equal(iommu_unmap(d, CQ_IOVA, PG), PG);
	cq_assert_gone(f, 0);
	assert_int_equal(iommu_unmap(d, 0x1ff000, PG), PG);
	detach_free(f, 0, d);
	phys_free_pages(f->pm, pa, 0);
	fixture_destroy(f);
}

static void test_cmdq_illegal_command_skipped(void **state)
{
	cmdq_illegal_run(false);
	cmdq_illegal_run(true);
}

/* Aborted command fetches are retried by the gerror handler; past its
 * budget the sync fails once and is retried with a fresh one: the unmap
 * still invalidates, nothing is broken. */
static struct arm_smmu_stats cmdq_abort_run(bool threaded)
{
	struct fixture *f = fixture_create_mode(false, 0, threaded);
	struct iommu_domain *d = attach_unmanaged(f, 0);
	phys_addr_t pa = alloc_page(f, 0);
	struct arm_smmu_stats st;
	struct smmu_counters c;

	cq_map_and_cache(f, d, pa);
	smmu_cmdq_inject_fetch_abort(f->hw, 5);
	assert_int_equal(iommu_unmap(d, CQ_IOVA, PG), PG);
	assert_int_equal(iommu_domain_error(d), 0);
	cq_assert_gone(f, 0);
	for (int i = 1; i < CQ_K; i++) {
		assert_int_equal(iommu_unmap(d, CQ_IOVA + i * PG, PG), PG);
		cq_assert_gone(f, i);
	}
	st = smmu_stats(f);
	assert_int_equal(st.cerrors, 5);
	assert_int_equal(st.fetch_retries, 4); /* 3, give up, 1 more */
	assert_int_equal(st.sync_retries, 1);
	assert_int_equal(st.sync_failures, 0);
	assert_int_equal(st.broken_domains, 0);
	assert_int_equal(st.skipped_cmds, 0);
	assert_int_equal(st.last_cerror, SMMU_CERROR_ABT);
	smmu_counters_read(f->hw, &c);
	assert_int_equal(c.cerror_abt, 5);
	assert_int_equal(c.stale_dma, 0);
	assert_false(smmu_disabled(f->hw));
	assert_int_equal(iommu_unmap(d, 0x1ff000, PG), PG);
	detach_free(f, 0, d);
	phys_free_pages(f->pm, pa, 0);
	fixture_destroy(f);
	return st;
}

static void test_cmdq_fetch_abort_retried(void **state)
{
	struct arm_smmu_stats a = cmdq_abort_run(false);
	struct arm_smmu_stats b = cmdq_abort_run(true);

	/* the faults' events are handled asynchronously when threaded */
	a.events = b.events = a.unrecoverable = b.unrecoverable = 0;
	a.unhandled = b.unhandled = 0;
	assert_memory_equal(&a, &b, sizeof(a));
}

/*
 * A command queue that never recovers (every fetch aborts): the unmap's
 * sync cannot complete even after the retry.  The unmap must not look
 * done: the domain is broken (the core refuses maps, the caller reads
 * -EIO), and its DMA is blocked: the queue cannot carry the abort STEs'
 * CFGI either, so the driver disables the SMMU (GBPA abort).
 */
static void cmdq_stuck_run(bool threaded)
{
	struct fixture *f = fixture_create_mode(false, 0, threaded);
	struct iommu_domain *d = attach_unmanaged(f, 0);
	struct iommu_domain *d1 = attach_unmanaged(f, 1);
	phys_addr_t pa = alloc_page(f, 0);
	struct arm_smmu_stats st;
	struct smmu_counters c;
	uint8_t b;
	int tag;

	cq_map_and_cache(f, d, pa);
	assert_int_equal(iommu_map(d1, CQ_IOVA, pa, PG, IOMMU_READ), 0);
	assert_int_equal(endpoint_dma_read(f->hwdev[1], CQ_IOVA, &b, 1), 0);
	smmu_cmdq_inject_fetch_abort(f->hw, UINT_MAX);
	assert_int_equal(iommu_unmap(d, CQ_IOVA, PG), PG);
	assert_int_equal(iommu_domain_error(d), -EIO);
	cq_assert_gone(f, 0);
	/* blocked, the pages still mapped too, and other streams */
	cq_assert_gone(f, 1);
	assert_int_equal(endpoint_dma_read(f->hwdev[0], 0x1ff000, &b, 1),
			 -EFAULT);
	assert_int_equal(endpoint_dma_read(f->hwdev[1], CQ_IOVA, &b, 1),
			 -EFAULT);
	assert_true(smmu_disabled(f->hw));
	assert_int_equal(iommu_map(d, 0x300000, pa, PG, IOMMU_READ), -EIO);
	assert_int_equal(iommu_domain_error(d1), 0); /* d1's unmaps not yet */
	st = smmu_stats(f);
	assert_int_equal(st.broken_domains, 1);
	assert_int_equal(st.disabled, 1);
	assert_true(st.sync_failures >= 1);
	smmu_counters_read(f->hw, &c);
	assert_int_equal(c.stale_dma, 0);
	for (int i = 1; i < CQ_K; i++)
		assert_int_equal(iommu_unmap(d, CQ_IOVA + i * PG, PG), PG);
	assert_int_equal(iommu_unmap(d, 0x1ff000, PG), PG);
	assert_int_equal(iommu_unmap(d1, CQ_IOVA, PG), PG);
	assert_int_equal(iommu_domain_error(d1), -EIO);
	tag = arm_smmu_domain_tag(d);
	detach_free(f, 0, d);
	detach_free(f, 1, d1);
	/* its ASID could not be flushed: never handed out again */
	d = iommu_domain_alloc(&f->dev[0]);
	assert_non_null(d);
	assert_int_not_equal(arm_smmu_domain_tag(d), tag);
	iommu_domain_free(d);
	phys_free_pages(f->pm, pa, 0);
	fixture_destroy(f);
}

static void test_cmdq_stuck_domain_broken(void **state)
{
	cmdq_stuck_run(false);
	cmdq_stuck_run(true);
}

/* The DMA API: dma_unmap_* cannot fail, so a broken domain shows in its
 * stats and every later dma_map_* fails. */
static void test_cmdq_stuck_dma_api(void **state)
{
	struct fixture *f = *state;
	struct iommu_dma_stats ds;
	struct iommu_domain *d;
	phys_addr_t pa = alloc_page(f, 0);
	dma_addr_t a, s;
	uint8_t b;

	assert_int_equal(iommu_dma_domain_create(&f->dev[0], false, NULL, &d),
			 0);
	s = map_sentinel(f, pa);
	a = dma_map_page(&f->dev[0], pa, PG, DMA_BIDIRECTIONAL);
	assert_int_not_equal(a, DMA_MAPPING_ERROR);
	assert_int_equal(endpoint_dma_read(f->hwdev[0], a, &b, 1), 0);
	smmu_cmdq_inject_fetch_abort(f->hw, UINT_MAX);
	dma_unmap_page(&f->dev[0], a, PG, DMA_BIDIRECTIONAL);
	assert_int_equal(endpoint_dma_read(f->hwdev[0], a, &b, 1), -EFAULT);
	assert_int_equal(iommu_dma_get_stats(d, &ds), 0);
	assert_int_equal(ds.error, -EIO);
	assert_int_equal(dma_map_page(&f->dev[0], pa, PG, DMA_TO_DEVICE),
			 DMA_MAPPING_ERROR);
	dma_unmap_page(&f->dev[0], s, PG, DMA_TO_DEVICE);
	iommu_dma_domain_destroy(&f->dev[0], d);
	phys_free_pages(f->pm, pa, 0);
}

#ifdef UIOMMU_TEST_WITH_VFIO
/*
 * Through VFIO type1: an UNMAP_DMA whose invalidation cannot complete
 * returns -EIO, not success; the container is broken (every later ioctl
 * -EIO, F19's state) and the device's DMA is blocked.  An illegal command
 * before it is skipped and changes nothing of this.
 */
static long t1_ioctl_map(struct vfio_iommu *c, uint64_t iova, void *va,
			 uint64_t size)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)va,
		.iova = iova,
		.size = size,
	};

	return vfio_iommu_type1_ioctl(c, VFIO_IOMMU_MAP_DMA, (unsigned long)&m);
}

static long t1_ioctl_unmap(struct vfio_iommu *c, uint64_t iova, uint64_t size)
{
	struct vfio_iommu_type1_dma_unmap u = {
		.argsz = sizeof(u),
		.iova = iova,
		.size = size,
	};

	return vfio_iommu_type1_ioctl(c, VFIO_IOMMU_UNMAP_DMA,
				      (unsigned long)&u);
}

static void test_cmdq_errors_type1(void **state)
{
	struct fixture *f = *state;
	struct vfio_iommu_type1_stats vs;
	uint64_t bad[2] = {0x7f, 0};
	struct vfio_iommu *c;
	struct mm *mm;
	char *va;
	uint8_t b;

	assert_int_equal(mm_create(f->pm, &mm), 0);
	mm_set_cap_ipc_lock(mm, false);
	mm_set_memlock_limit(mm, 1 << 20);
	assert_int_equal(mm_mmap(mm, 4 * PG, MM_MAP_POPULATE, (void **)&va), 0);
	assert_int_equal(vfio_iommu_type1_open(mm, VFIO_TYPE1v2_IOMMU, &c), 0);
	assert_int_equal(
		vfio_iommu_type1_attach_group(c, iommu_group_get(&f->dev[0])),
		0);
	for (int i = 0; i < 4; i++) { /* one vfio_dma each (v2: no split) */
		assert_int_equal(
			t1_ioctl_map(c, CQ_IOVA + i * PG, va + i * PG, PG), 0);
		assert_int_equal(endpoint_dma_read(f->hwdev[0],
						   CQ_IOVA + i * PG, &b, 1),
				 0);
	}

	/* illegal command: skipped, the unmap invalidates */
	assert_int_equal(smmu_cmdq_issue_raw(f->hw, bad), 0);
	assert_int_equal(t1_ioctl_unmap(c, CQ_IOVA, PG), 0);
	cq_assert_gone(f, 0);
	assert_int_equal(endpoint_dma_read(f->hwdev[0], CQ_IOVA + PG, &b, 1),
			 0);
	assert_int_equal(smmu_stats(f).skipped_cmds, 1);

	/* a queue that never recovers: -EIO, broken, DMA blocked */
	smmu_cmdq_inject_fetch_abort(f->hw, UINT_MAX);
	assert_int_equal(t1_ioctl_unmap(c, CQ_IOVA + PG, PG), -EIO);
	cq_assert_gone(f, 1);
	assert_int_equal(endpoint_dma_read(f->hwdev[0], CQ_IOVA + 2 * PG, &b,
					   1),
			 -EFAULT);
	vfio_iommu_type1_get_stats(c, &vs);
	assert_true(vs.broken);
	assert_int_equal(t1_ioctl_map(c, CQ_IOVA, va, PG), -EIO);
	assert_int_equal(smmu_stats(f).broken_domains, 1);
	vfio_iommu_type1_release(c);
	assert_int_equal(mm_locked_vm(mm), 0);
	assert_int_equal(mm_check_invariants(mm, stderr), 0);
	mm_destroy(mm);
}
#endif

#define T(fn)  cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define TS(fn) cmocka_unit_test_setup_teardown(fn, setup_stall, teardown)

static const struct CMUnitTest tests[] = {
	T(test_groups),
	T(test_map_prot_and_unrecoverable_fault),
	T(test_map_errors),
	cmocka_unit_test(test_pgsize_selection),
	T(test_block_map_and_partial_unmap),
	T(test_strict_unmap_and_gather),
	T(test_strict_counts),
	T(test_fault_handler_registration),
	T(test_features_and_nesting_query),
	TS(test_stall_page_request_success),
	TS(test_stall_page_request_invalid),
	TS(test_unregister_with_pending_requests),
	T(test_cookies),
	T(test_msi_cookie),
	T(test_dma_map_strict),
	T(test_dma_map_sg),
	T(test_lazy_queue_and_stale_window),
	T(test_flush_queue_threshold_and_timer),
	T(test_lazy_without_flush_all),
	T(test_lazy_freed_memory_detected),
	T(test_fail_sweep_dma_domain),
	T(test_fail_sweep_map),
	T(test_nested_translation),
	T(test_a09_nested_fault_level),
	TS(test_a09_nested_page_request_level),
	T(test_fail_sweep_nested),
	cmocka_unit_test(test_cmdq_illegal_command_skipped),
	cmocka_unit_test(test_cmdq_fetch_abort_retried),
	cmocka_unit_test(test_cmdq_stuck_domain_broken),
	T(test_cmdq_stuck_dma_api),
#ifdef UIOMMU_TEST_WITH_VFIO
	T(test_cmdq_errors_type1),
#endif
};

TEST_MAIN(tests)
