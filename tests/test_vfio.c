// SPDX-License-Identifier: MIT
/*
 * Tests of the VFIO type1 backend: MAP/UNMAP semantics of v1 and v2,
 * replay on attach, domain sharing, IOVA ranges and reserved regions,
 * GET_INFO capabilities, locked-memory accounting, pins by mediated drivers
 * and their unmap callbacks, dirty tracking, UPDATE_VADDR, a table of bad
 * inputs for every ioctl, and fail-the-Nth-allocation sweeps.  Real DMA from
 * an emulated device shows that mappings work and unmapped ranges fault.
 * Non-coherent domains (seed 000): flush order through the trace hook, what
 * a non-snooping device would read (cache_dram_read), the counter and the
 * per-dma flag.  I/O page faults (seed 001) with stall-capable SVA
 * accelerators: enabling, the handler, the MMU notifier, premap, domains
 * coming and going, pins, dirty tracking, and device threads faulting while
 * the user discards and unmaps (run under ThreadSanitizer too).  Nested
 * IOPF (F30..F33) on a nesting container: a guest's stage-1 tables in guest
 * memory, stage-2 faults mapped by the host, stage-1 faults transferred.
 * Requirement ids (D01..D12, E01..E11, F01..F37, G01..G09) are named on the
 * tests.
 */
#include "helpers.h"

#include <errno.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "devices/devices.h"
#include "devices/sva.h"
#include "vfio/vfio.h"

#include "pgtable/lpae_format.h"
#include "vfio/type1_internal.h"

#define PG    4096UL
#define SZ_2M (2UL << 20)
#define RW    (VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)
#define IOVA  0x100000UL

struct fx {
	struct test_vfio_machine m; /* SMMU B not coherent */
	struct device dev[3];	    /* 0, 1: SMMU A (coherent); 2: SMMU B */
	struct endpoint *hw[3];
};

static bool fx_threaded; /* the IOPF tests' threaded SMMU A */

static struct fx *fx_create(unsigned long type)
{
	struct fx *f = calloc(1, sizeof(*f));

	test_vfio_smmus_create(&f->m, fx_threaded, false);
	for (int i = 0; i < 3; i++) {
		struct device *d = &f->dev[i];
		struct smmu *hw = i < 2 ? f->m.p->hw : f->m.hw2;

		snprintf(d->name, sizeof(d->name), "vdev%d", i);
		d->sid = i < 2 ? 1 + i : 1;
		assert_int_equal(
			iommu_probe_device(d,
					   i < 2 ? f->m.p->iommu
						 : arm_smmu_iommu(f->m.smmu2),
					   0),
			0);
		assert_int_equal(endpoint_create(hw, d->sid, 0, 0, &f->hw[i]),
				 0);
	}
	test_vfio_mm_open(&f->m, type);
	return f;
}

static int setup(void **state)
{
	*state = fx_create(VFIO_TYPE1v2_IOMMU);
	return 0;
}

static int setup_v1(void **state)
{
	*state = fx_create(VFIO_TYPE1_IOMMU);
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	vfio_iommu_type1_release(f->m.c);
	test_vfio_mm_close(&f->m);
	for (int i = 0; i < 3; i++) {
		endpoint_destroy(f->hw[i]);
		iommu_release_device(&f->dev[i]);
	}
	test_vfio_smmus_destroy(&f->m);
	free(f);
	return 0;
}

static struct iommu_group *grp(struct fx *f, int i)
{
	return iommu_group_get(&f->dev[i]);
}

static void *region(struct fx *f, size_t size, unsigned int flags)
{
	void *va;

	assert_int_equal(mm_mmap(f->m.mm, size, MM_MAP_POPULATE | flags, &va),
			 0);
	return va;
}

static long map_dma(struct vfio_iommu *c, uint64_t iova, const void *va,
		    uint64_t size, uint32_t flags)
{
	return test_map_dma(c, NULL, iova, va, size, flags);
}

static long unmap_dma(struct vfio_iommu *c, uint64_t iova, uint64_t size,
		      uint32_t flags, uint64_t *done)
{
	return test_unmap_dma(c, NULL, iova, size, flags, done);
}

static struct vfio_iommu_type1_stats stats(struct fx *f)
{
	return test_vfio_stats(f->m.c);
}

static uint64_t pin_refs(struct fx *f)
{
	return test_vfio_pin_refs(&f->m);
}

/* ---- basic DMA through a mapping ------------------------------------------------ */

static void test_dma_through_mapping(void **state)
{
	struct fx *f = *state;
	char *va = region(f, 16 * PG, 0);
	char buf[8] = {0};
	struct smmu_xlate x;
	uint64_t done;

	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, grp(f, 0)), 0);
	assert_int_equal(map_dma(f->m.c, IOVA, va, 16 * PG, RW), 0);
	assert_int_equal(
		endpoint_dma_write(f->hw[0], IOVA + 3 * PG + 8, "hello", 6), 0);
	assert_string_equal(va + 3 * PG + 8, "hello");
	memcpy(va + 5 * PG, "world", 6);
	assert_int_equal(endpoint_dma_read(f->hw[0], IOVA + 5 * PG, buf, 6), 0);
	assert_string_equal(buf, "world");
	/* D04: mapped with IOMMU_CACHE: normal write-back memory */
	assert_int_equal(smmu_translate(f->hw[0], IOVA, true, &x, NULL), 0);
	assert_int_equal(x.memtype, SMMU_MEM_NORMAL_WB);
	assert_true(test_iotlb_entries_in(f->m.p->hw, IOVA, 16 * PG) > 0);

	assert_int_equal(unmap_dma(f->m.c, IOVA, 16 * PG, 0, &done), 0);
	assert_int_equal(done, 16 * PG);
	/* the IOTLB was synced before UNMAP returned: the device faults */
	assert_int_equal(test_iotlb_entries_in(f->m.p->hw, IOVA, 16 * PG), 0);
	assert_int_equal(endpoint_dma_write(f->hw[0], IOVA + 3 * PG, "x", 1),
			 -EFAULT);
	assert_int_equal(endpoint_dma_read(f->hw[0], IOVA + 5 * PG, buf, 1),
			 -EFAULT);
	assert_int_equal(mm_locked_vm(f->m.mm), 0);
	assert_int_equal(pin_refs(f), 0);
}

/* A read-only mapping: device writes fault, reads work. */
static void test_dma_prot(void **state)
{
	struct fx *f = *state;
	char *va = region(f, 4 * PG, 0), buf[4];

	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, grp(f, 0)), 0);
	assert_int_equal(
		map_dma(f->m.c, IOVA, va, 4 * PG, VFIO_DMA_MAP_FLAG_READ), 0);
	assert_int_equal(endpoint_dma_read(f->hw[0], IOVA, buf, 4), 0);
	assert_int_equal(endpoint_dma_write(f->hw[0], IOVA, "abc", 4), -EFAULT);
}

/* ---- D01, D04, D05: mappings without a domain, replay, sharing ------------------- */

static void test_d01_map_without_domain(void **state)
{
	struct fx *f = *state;
	char *va = region(f, 64 * PG, 0);
	dma_addr_t start;
	uint64_t size;
	bool mapped;

	assert_int_equal(map_dma(f->m.c, IOVA, va, 64 * PG, RW), 0);
	assert_int_equal(vfio_iommu_type1_find_dma(f->m.c, IOVA + 63 * PG,
						   &start, &size, &mapped),
			 0);
	assert_int_equal(start, IOVA);
	assert_int_equal(size, 64 * PG);
	assert_false(mapped);
	assert_int_equal(stats(f).pinned_pages, 0);
	assert_int_equal(mm_locked_vm(f->m.mm), 0);
	assert_int_equal(pin_refs(f), 0);
	/* the device is blocked */
	assert_int_equal(endpoint_dma_write(f->hw[0], IOVA, "x", 1), -EFAULT);
}

static void test_d04_replay_and_sharing(void **state)
{
	struct fx *f = *state;
	char *a = region(f, 32 * PG, 0);
	char *h = region(f, 2 * SZ_2M, MM_MAP_HUGE);
	struct iommu_domain *d0, *d2;
	struct smmu_xlate x;
	bool mapped;

	assert_int_equal(map_dma(f->m.c, IOVA, a, 32 * PG, RW), 0);
	assert_int_equal(map_dma(f->m.c, 0x40000000, h, 2 * SZ_2M, RW), 0);
	assert_int_equal(mm_locked_vm(f->m.mm), 0);

	/* the first group: a domain, everything replayed and charged */
	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, grp(f, 0)), 0);
	d0 = vfio_iommu_type1_group_domain(f->m.c, grp(f, 0));
	assert_non_null(d0);
	assert_true(d0->strict);
	assert_int_equal(d0->type, IOMMU_DOMAIN_UNMANAGED);
	test_assert_mapped(f->m.mm, d0, IOVA, a, 32 * PG);
	test_assert_mapped(f->m.mm, d0, 0x40000000, h, 2 * SZ_2M);
	assert_int_equal(vfio_iommu_type1_find_dma(f->m.c, IOVA, NULL, NULL,
						   &mapped),
			 0);
	assert_true(mapped);
	assert_int_equal(mm_locked_vm(f->m.mm), 32 + 1024);
	/* 2 MiB-backed memory is mapped with 2 MiB blocks */
	assert_int_equal(smmu_translate(f->hw[0], 0x40000000 + SZ_2M + PG,
					false, &x, NULL),
			 0);
	assert_int_equal(x.size, SZ_2M);
	assert_int_equal(
		endpoint_dma_write(f->hw[0], 0x40000000 + 5 * PG, "hi", 3), 0);
	assert_string_equal(h + 5 * PG, "hi");

	/* a group of the same IOMMU shares the domain */
	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, grp(f, 1)), 0);
	assert_ptr_equal(vfio_iommu_type1_group_domain(f->m.c, grp(f, 1)), d0);
	assert_int_equal(stats(f).nr_domains, 1);
	assert_int_equal(endpoint_dma_write(f->hw[1], IOVA + PG, "g1", 3), 0);
	assert_string_equal(a + PG, "g1");
	/* attaching twice */
	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, grp(f, 1)),
			 -EINVAL);

	/* another IOMMU: a second domain, replayed from the pinned pages,
	 * nothing charged twice; page sizes intersect; coherency drops */
	assert_int_equal(vfio_iommu_type1_ioctl(f->m.c, VFIO_CHECK_EXTENSION,
						VFIO_DMA_CC_IOMMU),
			 1);
	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, grp(f, 2)), 0);
	d2 = vfio_iommu_type1_group_domain(f->m.c, grp(f, 2));
	assert_ptr_not_equal(d2, d0);
	assert_int_equal(stats(f).nr_domains, 2);
	test_assert_mapped(f->m.mm, d2, IOVA, a, 32 * PG);
	test_assert_mapped(f->m.mm, d2, 0x40000000, h, 2 * SZ_2M);
	assert_int_equal(mm_locked_vm(f->m.mm), 32 + 1024);
	assert_int_equal(stats(f).pgsize_bitmap, PG | SZ_2M);
	assert_int_equal(vfio_iommu_type1_ioctl(f->m.c, VFIO_CHECK_EXTENSION,
						VFIO_DMA_CC_IOMMU),
			 0);
	assert_int_equal(endpoint_dma_write(f->hw[2], IOVA + 2 * PG, "g2", 3),
			 0);
	assert_string_equal(a + 2 * PG, "g2");
	assert_int_equal(stats(f).num_non_pinned_groups, 3);

	/* a map now goes into both domains */
	assert_int_equal(map_dma(f->m.c, 0x200000, a, 4 * PG, RW), 0);
	test_assert_mapped(f->m.mm, d0, 0x200000, a, 4 * PG);
	test_assert_mapped(f->m.mm, d2, 0x200000, a, 4 * PG);
	assert_int_equal(unmap_dma(f->m.c, 0x200000, 4 * PG, 0, NULL), 0);
	assert_int_equal(test_iotlb_entries_in(f->m.hw2, 0x200000, 4 * PG), 0);

	/* detach: the second domain goes, the first keeps its mappings */
	vfio_iommu_type1_detach_group(f->m.c, grp(f, 2));
	assert_int_equal(stats(f).nr_domains, 1);
	assert_null(iommu_get_domain_for_dev(&f->dev[2]));
	assert_int_equal(endpoint_dma_write(f->hw[2], IOVA, "x", 1), -EFAULT);
	assert_int_equal(vfio_iommu_type1_ioctl(f->m.c, VFIO_CHECK_EXTENSION,
						VFIO_DMA_CC_IOMMU),
			 1);
	assert_int_equal(stats(f).pgsize_bitmap, PG | SZ_2M | (1UL << 30));
	vfio_iommu_type1_detach_group(f->m.c, grp(f, 1));
	test_assert_mapped(f->m.mm, d0, IOVA, a, 32 * PG);
	assert_int_equal(mm_locked_vm(f->m.mm), 32 + 1024);
	/* the last group takes every mapping with it */
	vfio_iommu_type1_detach_group(f->m.c, grp(f, 0));
	assert_int_equal(stats(f).nr_dma, 0);
	assert_int_equal(stats(f).dma_avail, VFIO_DMA_ENTRY_LIMIT_DEFAULT);
	assert_int_equal(mm_locked_vm(f->m.mm), 0);
	assert_int_equal(pin_refs(f), 0);
}

static void test_d05_replay_failure_unwinds(void **state)
{
	struct fx *f = *state;
	char *a = region(f, 8 * PG, 0), *b = region(f, 16 * PG, 0);

	mm_set_memlock_limit(f->m.mm, 16 * PG);
	assert_int_equal(map_dma(f->m.c, IOVA, a, 8 * PG, RW), 0);
	assert_int_equal(map_dma(f->m.c, 0x200000, b, 16 * PG, RW), 0);
	/* the second dma no longer fits: attach fails, the first unwinds */
	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, grp(f, 0)),
			 -ENOMEM);
	assert_int_equal(mm_locked_vm(f->m.mm), 0);
	assert_int_equal(pin_refs(f), 0);
	assert_null(iommu_get_domain_for_dev(&f->dev[0]));
	assert_int_equal(stats(f).nr_domains, 0);
	assert_int_equal(stats(f).nr_dma, 2);
	assert_int_equal(stats(f).num_non_pinned_groups, 0);

	mm_set_memlock_limit(f->m.mm, 24 * PG);
	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, grp(f, 0)), 0);
	assert_int_equal(mm_locked_vm(f->m.mm), 24);
}

/* ---- D02, D03, D06: entries, unknown ioctls, accounting ---------------------------- */

static void test_d02_dma_avail(void **state)
{
	struct fx *f = *state;
	char *va = region(f, 4 * PG, 0);
	struct vfio_iommu *c;

	vfio_iommu_type1_set_dma_entry_limit(2);
	assert_int_equal(vfio_iommu_type1_open(f->m.mm, VFIO_TYPE1v2_IOMMU, &c),
			 0);
	vfio_iommu_type1_set_dma_entry_limit(VFIO_DMA_ENTRY_LIMIT_DEFAULT);
	assert_int_equal(map_dma(c, IOVA, va, PG, RW), 0);
	assert_int_equal(map_dma(c, IOVA + PG, va + PG, PG, RW), 0);
	assert_int_equal(map_dma(c, IOVA + 2 * PG, va, PG, RW), -ENOSPC);
	assert_int_equal(unmap_dma(c, IOVA, PG, 0, NULL), 0);
	assert_int_equal(map_dma(c, IOVA + 2 * PG, va, PG, RW), 0);
	vfio_iommu_type1_release(c);

	assert_int_equal(stats(f).dma_avail, 65535);
	assert_int_equal(map_dma(f->m.c, IOVA, va, PG, RW), 0);
	assert_int_equal(stats(f).dma_avail, 65534);
	assert_int_equal(unmap_dma(f->m.c, IOVA, PG, 0, NULL), 0);
	assert_int_equal(stats(f).dma_avail, 65535);
}

static void test_d03_unknown_ioctl(void **state)
{
	struct fx *f = *state;

	assert_int_equal(vfio_iommu_type1_ioctl(f->m.c, VFIO_GET_API_VERSION,
						0),
			 -ENOTTY);
	assert_int_equal(vfio_iommu_type1_ioctl(f->m.c, 0x1234, 0), -ENOTTY);
	assert_int_equal(vfio_iommu_type1_ioctl(f->m.c, VFIO_SET_IOMMU, 1),
			 -ENOTTY);
}

static void test_d06_unpin_accounting(void **state)
{
	struct fx *f = *state;
	char *va = region(f, 48 * PG, 0);

	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, grp(f, 0)), 0);
	assert_int_equal(map_dma(f->m.c, IOVA, va, 32 * PG, RW), 0);
	assert_int_equal(map_dma(f->m.c, 0x200000, va + 32 * PG, 16 * PG, RW),
			 0);
	assert_int_equal(mm_locked_vm(f->m.mm), 48);
	assert_int_equal(pin_refs(f), 48);
	assert_int_equal(unmap_dma(f->m.c, 0x200000, 16 * PG, 0, NULL), 0);
	assert_int_equal(mm_locked_vm(f->m.mm), 32);
	assert_int_equal(pin_refs(f), 32);
	/* over the limit: ENOMEM, nothing left */
	mm_set_memlock_limit(f->m.mm, 40 * PG);
	assert_int_equal(map_dma(f->m.c, 0x200000, va + 32 * PG, 16 * PG, RW),
			 -ENOMEM);
	assert_int_equal(mm_locked_vm(f->m.mm), 32);
	assert_int_equal(pin_refs(f), 32);
	assert_int_equal(stats(f).nr_dma, 1);
	/* CAP_IPC_LOCK lifts the limit */
	mm_set_cap_ipc_lock(f->m.mm, true);
	assert_int_equal(map_dma(f->m.c, 0x200000, va + 32 * PG, 16 * PG, RW),
			 0);
	assert_int_equal(mm_locked_vm(f->m.mm), 48);
	assert_int_equal(unmap_dma(f->m.c, 0, 1ULL << 30, 0, NULL), 0);
	assert_int_equal(mm_locked_vm(f->m.mm), 0);
	mm_set_cap_ipc_lock(f->m.mm, false);
}

/* ---- v1 and v2 unmap semantics ------------------------------------------------------- */

static void test_v2_unmap_rules(void **state)
{
	struct fx *f = *state;
	char *va = region(f, 32 * PG, 0);
	uint64_t done = 1;

	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, grp(f, 0)), 0);
	assert_int_equal(map_dma(f->m.c, IOVA, va, 16 * PG, RW), 0);
	assert_int_equal(
		map_dma(f->m.c, IOVA + 16 * PG, va + 16 * PG, 16 * PG, RW), 0);
	/* overlap */
	assert_int_equal(map_dma(f->m.c, IOVA + 15 * PG, va, 2 * PG, RW),
			 -EEXIST);
	/* bisecting a mapping */
	assert_int_equal(unmap_dma(f->m.c, IOVA + PG, 4 * PG, 0, &done),
			 -EINVAL);
	assert_int_equal(done, 4 * PG); /* an error copies nothing back */
	assert_int_equal(unmap_dma(f->m.c, IOVA, 20 * PG, 0, &done), -EINVAL);
	/* nothing there: success, size 0 */
	assert_int_equal(unmap_dma(f->m.c, 0x10000000, 16 * PG, 0, &done), 0);
	assert_int_equal(done, 0);
	/* a range covering both */
	assert_int_equal(unmap_dma(f->m.c, IOVA - 16 * PG, 64 * PG, 0, &done),
			 0);
	assert_int_equal(done, 32 * PG);
	assert_int_equal(stats(f).nr_dma, 0);

	/* UNMAP_ALL */
	assert_int_equal(map_dma(f->m.c, IOVA, va, 16 * PG, RW), 0);
	assert_int_equal(map_dma(f->m.c, 0x7000000000, va, 4 * PG, RW), 0);
	assert_int_equal(
		unmap_dma(f->m.c, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL, &done), 0);
	assert_int_equal(done, 20 * PG);
	assert_int_equal(stats(f).nr_dma, 0);
	assert_int_equal(mm_locked_vm(f->m.mm), 0);
}

static void test_v1_unmap_rules(void **state)
{
	struct fx *f = *state;
	char *va = region(f, 32 * PG, 0);
	uint64_t done = 1;

	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, grp(f, 0)), 0);
	assert_int_equal(map_dma(f->m.c, IOVA, va, 16 * PG, RW), 0);
	/* v1: a request starting inside a mapping unmaps nothing */
	assert_int_equal(unmap_dma(f->m.c, IOVA + PG, 4 * PG, 0, &done), 0);
	assert_int_equal(done, 0);
	assert_int_equal(stats(f).nr_dma, 1);
	/* one covering the first IOVA removes the whole mapping */
	assert_int_equal(unmap_dma(f->m.c, IOVA, 4 * PG, 0, &done), 0);
	assert_int_equal(done, 16 * PG);
	assert_int_equal(stats(f).nr_dma, 0);
	assert_int_equal(mm_locked_vm(f->m.mm), 0);
	assert_int_equal(endpoint_dma_write(f->hw[0], IOVA + 8 * PG, "x", 1),
			 -EFAULT);
	/* pins and dirty tracking are v2 only */
	assert_int_equal(vfio_iommu_type1_pin_pages(f->m.c, grp(f, 0), IOVA, 1,
						    IOMMU_READ,
						    (phys_addr_t[1]){0}),
			 -EACCES);
	assert_int_equal(vfio_iommu_type1_unpin_pages(f->m.c, IOVA, 1),
			 -EACCES);
	{
		struct vfio_iommu_type1_dirty_bitmap d = {
			.argsz = sizeof(d),
			.flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_START,
		};

		assert_int_equal(vfio_iommu_type1_ioctl(f->m.c,
							VFIO_IOMMU_DIRTY_PAGES,
							(unsigned long)&d),
				 -EACCES);
	}
}

/* ---- IOVA ranges, reserved regions, GET_INFO, CHECK_EXTENSION --------------------------- */

static void test_iova_ranges_and_info(void **state)
{
	struct fx *f = *state;
	char *va = region(f, 4 * PG, 0);
	union {
		struct vfio_iommu_type1_info info;
		char raw[512];
	} u;
	struct vfio_info_cap_header *h;
	struct vfio_iommu_type1_info_cap_iova_range *r = NULL;
	struct vfio_iommu_type1_info_cap_migration *m = NULL;
	struct vfio_iommu_type1_info_dma_avail *a = NULL;

	/* no IOVA ranges before the first group: the MSI window is fine */
	memset(&u, 0, sizeof(u));
	u.info.argsz = sizeof(u);
	assert_int_equal(vfio_iommu_type1_ioctl(f->m.c, VFIO_IOMMU_GET_INFO,
						(unsigned long)&u),
			 0);
	assert_int_equal(u.info.iova_pgsizes, ~(PG - 1));
	assert_int_equal(map_dma(f->m.c, MSI_IOVA_BASE, va, 4 * PG, RW), 0);
	/* the group's reserved MSI window conflicts with it */
	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, grp(f, 0)),
			 -EINVAL);
	assert_null(iommu_get_domain_for_dev(&f->dev[0]));
	assert_int_equal(unmap_dma(f->m.c, MSI_IOVA_BASE, 4 * PG, 0, NULL), 0);
	/* a mapping beyond the 48-bit aperture conflicts too */
	assert_int_equal(map_dma(f->m.c, 1ULL << 48, va, 4 * PG, RW), 0);
	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, grp(f, 0)),
			 -EINVAL);
	assert_int_equal(unmap_dma(f->m.c, 1ULL << 48, 4 * PG, 0, NULL), 0);
	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, grp(f, 0)), 0);

	/* now the window and the outside of the aperture are refused */
	assert_int_equal(map_dma(f->m.c, MSI_IOVA_BASE, va, 4 * PG, RW),
			 -EINVAL);
	assert_int_equal(map_dma(f->m.c, MSI_IOVA_BASE - PG, va, 2 * PG, RW),
			 -EINVAL);
	assert_int_equal(map_dma(f->m.c, 1ULL << 48, va, 4 * PG, RW), -EINVAL);
	assert_int_equal(map_dma(f->m.c, MSI_IOVA_BASE + MSI_IOVA_LENGTH, va,
				 4 * PG, RW),
			 0);

	/* too small: the size needed comes back, no capability copied */
	memset(&u, 0, sizeof(u));
	u.info.argsz = 16;
	assert_int_equal(vfio_iommu_type1_ioctl(f->m.c, VFIO_IOMMU_GET_INFO,
						(unsigned long)&u),
			 0);
	assert_true(u.info.argsz > sizeof(u.info));
	assert_true(u.info.flags & VFIO_IOMMU_INFO_CAPS);
	assert_int_equal(u.info.cap_offset, 0);

	memset(&u, 0, sizeof(u));
	u.info.argsz = sizeof(u);
	assert_int_equal(vfio_iommu_type1_ioctl(f->m.c, VFIO_IOMMU_GET_INFO,
						(unsigned long)&u),
			 0);
	assert_int_equal(u.info.flags,
			 VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS);
	assert_int_equal(u.info.iova_pgsizes, PG | SZ_2M | (1UL << 30));
	assert_int_equal(u.info.cap_offset, sizeof(u.info));
	for (uint32_t off = u.info.cap_offset; off; off = h->next) {
		h = (void *)(u.raw + off);
		assert_true(off % 8 == 0);
		assert_int_equal(h->version, 1);
		if (h->id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE)
			r = (void *)h;
		else if (h->id == VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION)
			m = (void *)h;
		else if (h->id == VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL)
			a = (void *)h;
		else if (h->id != VFIO_IOMMU_TYPE1_INFO_CAP_IOPF) /* F35 */
			fail();
	}
	assert_non_null(r);
	assert_non_null(m);
	assert_non_null(a);
	assert_int_equal(r->nr_iovas, 2);
	assert_int_equal(r->iova_ranges[0].start, 0);
	assert_int_equal(r->iova_ranges[0].end, MSI_IOVA_BASE - 1);
	assert_int_equal(r->iova_ranges[1].start,
			 MSI_IOVA_BASE + MSI_IOVA_LENGTH);
	assert_int_equal(r->iova_ranges[1].end, (1ULL << 48) - 1);
	assert_int_equal(m->pgsize_bitmap, PG);
	assert_int_equal(m->max_dirty_bitmap_size, VFIO_DIRTY_BITMAP_SIZE_MAX);
	assert_int_equal(a->avail, 65534);
}

/*
 * 6.1's vfio_iommu_type1_check_extension, every extension id: with no
 * container (the core asks each backend before SET_IOMMU with a NULL
 * iommu) and with one (no domain, a non-coherent domain, an emulated group
 * too).
 */
static const struct ext_case {
	unsigned long id;
	const char *name;
	long none, empty, noncoherent, emulated;
} ext_cases[] = {
	{0, "0", 0, 0, 0, 0},
	{VFIO_TYPE1_IOMMU, "TYPE1", 1, 1, 1, 1},
	{VFIO_SPAPR_TCE_IOMMU, "SPAPR_TCE", 0, 0, 0, 0},
	{VFIO_TYPE1v2_IOMMU, "TYPE1v2", 1, 1, 1, 1},
	/* no domain: vacuously coherent; without a container: no */
	{VFIO_DMA_CC_IOMMU, "DMA_CC_IOMMU", 0, 1, 0, 0},
	{VFIO_EEH, "EEH", 0, 0, 0, 0},
	/* seed 001 p8: nesting containers are offered (F30..F33) */
	{VFIO_TYPE1_NESTING_IOMMU, "TYPE1_NESTING", 1, 1, 1, 1},
	{VFIO_SPAPR_TCE_v2_IOMMU, "SPAPR_TCE_v2", 0, 0, 0, 0},
	{VFIO_NOIOMMU_IOMMU, "NOIOMMU", 0, 0, 0, 0},
	{VFIO_UNMAP_ALL, "UNMAP_ALL", 1, 1, 1, 1},
	/* iommu && no emulated group: 0 before SET_IOMMU */
	{VFIO_UPDATE_VADDR, "UPDATE_VADDR", 0, 1, 1, 0},
	{11, "11", 0, 0, 0, 0},
	/* uiommu's own (F35): offered with or without a container */
	{VFIO_UIOMMU_TYPE1_IOPF, "UIOMMU_TYPE1_IOPF", 1, 1, 1, 1},
	{12345, "12345", 0, 0, 0, 0},
};

static void check_ext_column(struct vfio_iommu *c, size_t col)
{
	for (size_t i = 0; i < ARRAY_SIZE_T(ext_cases); i++) {
		const struct ext_case *e = &ext_cases[i];
		long want = col == 0   ? e->none
			    : col == 1 ? e->empty
			    : col == 2 ? e->noncoherent
				       : e->emulated;
		long got =
			vfio_iommu_type1_ioctl(c, VFIO_CHECK_EXTENSION, e->id);

		if (got != want)
			fail_msg("CHECK_EXTENSION(%s), column %zu: got %ld, "
				 "expected %ld",
				 e->name, col, got, want);
	}
}

static void test_check_extension(void **state)
{
	struct fx *f = *state;
	static char token;

	check_ext_column(NULL, 0);
	check_ext_column(f->m.c, 1);
	/* the non-coherent IOMMU alone */
	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, grp(f, 2)), 0);
	check_ext_column(f->m.c, 2);
	/* emulated groups switch UPDATE_VADDR off */
	assert_int_equal(vfio_iommu_type1_attach_emulated_group(
				 f->m.c, (struct iommu_group *)&token),
			 0);
	check_ext_column(f->m.c, 3);
	vfio_iommu_type1_detach_group(f->m.c, (struct iommu_group *)&token);
	check_ext_column(f->m.c, 2);
	/* open */
	{
		struct vfio_iommu *c;

		/* nesting is a v2 container whose domains are nest
		 * parents */
		assert_int_equal(vfio_iommu_type1_open(
					 f->m.mm, VFIO_TYPE1_NESTING_IOMMU, &c),
				 0);
		vfio_iommu_type1_release(c);
		assert_int_equal(vfio_iommu_type1_open(f->m.mm, 0, &c),
				 -EINVAL);
		assert_int_equal(vfio_iommu_type1_open(NULL, VFIO_TYPE1_IOMMU,
						       &c),
				 -EINVAL);
	}
}

/* ---- UPDATE_VADDR ------------------------------------------------------------------------ */

static void test_update_vaddr(void **state)
{
	struct fx *f = *state;
	char *a = region(f, 16 * PG, 0), *b = region(f, 16 * PG, 0);
	struct vfio_iommu_device vdev = {0};
	struct iommu_domain *d;
	uint64_t done;
	phys_addr_t pa;

	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, grp(f, 0)), 0);
	d = vfio_iommu_type1_group_domain(f->m.c, grp(f, 0));
	assert_int_equal(map_dma(f->m.c, IOVA, a, 8 * PG, RW), 0);
	assert_int_equal(map_dma(f->m.c, IOVA + 8 * PG, a + 8 * PG, 8 * PG, RW),
			 0);
	/* invalidate the second; then both: the second is already invalid,
	 * so the call fails and the first is left valid */
	assert_int_equal(unmap_dma(f->m.c, IOVA + 8 * PG, 8 * PG,
				   VFIO_DMA_UNMAP_FLAG_VADDR, &done),
			 0);
	assert_int_equal(done, 8 * PG);
	assert_int_equal(unmap_dma(f->m.c, IOVA, 16 * PG,
				   VFIO_DMA_UNMAP_FLAG_VADDR, &done),
			 -EINVAL);
	/* the mapping itself stays and DMA still works */
	test_assert_mapped(f->m.mm, d, IOVA, a, 16 * PG);
	assert_int_equal(endpoint_dma_write(f->hw[0], IOVA + 9 * PG, "v", 2),
			 0);
	/* pins fail while a vaddr is invalid */
	vdev.ops = &(const struct vfio_iommu_device_ops){
		.dma_unmap = (void *)abort,
	};
	assert_int_equal(vfio_iommu_type1_register_device(f->m.c, &vdev), 0);
	assert_int_equal(vfio_iommu_type1_pin_pages(f->m.c, grp(f, 0), IOVA, 1,
						    IOMMU_READ, &pa),
			 -EBUSY);
	vfio_iommu_type1_unregister_device(f->m.c, &vdev);
	/* the new vaddr: prot flags are refused, the range must match */
	assert_int_equal(map_dma(f->m.c, IOVA + 8 * PG, b, 8 * PG,
				 VFIO_DMA_MAP_FLAG_VADDR | RW),
			 -EINVAL);
	assert_int_equal(map_dma(f->m.c, IOVA + 8 * PG, b, 4 * PG,
				 VFIO_DMA_MAP_FLAG_VADDR),
			 -EINVAL);
	assert_int_equal(map_dma(f->m.c, 0x10000000, b, 8 * PG,
				 VFIO_DMA_MAP_FLAG_VADDR),
			 -ENOENT);
	assert_int_equal(map_dma(f->m.c, IOVA, b, 8 * PG,
				 VFIO_DMA_MAP_FLAG_VADDR),
			 -EINVAL); /* not invalid */
	assert_int_equal(map_dma(f->m.c, IOVA + 8 * PG, b, 8 * PG,
				 VFIO_DMA_MAP_FLAG_VADDR),
			 0);
	/* unmapping still releases the pages pinned from the old vaddr */
	assert_int_equal(unmap_dma(f->m.c, IOVA, 16 * PG, 0, &done), 0);
	assert_int_equal(done, 16 * PG);
	assert_int_equal(mm_locked_vm(f->m.mm), 0);
	assert_int_equal(pin_refs(f), 0);

	/* without a domain: attach cannot pin an invalid vaddr (-EBUSY) */
	vfio_iommu_type1_detach_group(f->m.c, grp(f, 0));
	assert_int_equal(map_dma(f->m.c, IOVA, a, 8 * PG, RW), 0);
	assert_int_equal(unmap_dma(f->m.c, IOVA, 8 * PG,
				   VFIO_DMA_UNMAP_FLAG_VADDR, NULL),
			 0);
	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, grp(f, 0)),
			 -EBUSY);
	assert_int_equal(
		map_dma(f->m.c, IOVA, b, 8 * PG, VFIO_DMA_MAP_FLAG_VADDR), 0);
	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, grp(f, 0)), 0);
	test_assert_mapped(f->m.mm,
			   vfio_iommu_type1_group_domain(f->m.c, grp(f, 0)),
			   IOVA, b, 8 * PG);
}

/* ---- pins by mediated drivers: D07..D10, D12, G01, G02, G04, G05 ------------------------- */

struct pin_driver {
	struct vfio_iommu_device vdev;
	struct vfio_iommu *c;
	uint64_t pinned_iova[8];
	unsigned int nr_pinned;
	unsigned int calls;
	uint64_t last_iova, last_len;
	bool ignore; /* the ccw/ap bug: never unpins */
};

static void pin_driver_unmap(struct vfio_iommu_device *vdev, uint64_t iova,
			     uint64_t length, void *priv)
{
	struct pin_driver *drv = priv;

	drv->calls++;
	drv->last_iova = iova;
	drv->last_len = length;
	if (drv->ignore)
		return;
	/* a correct driver: every page it pinned in the range (G02) */
	for (unsigned int i = 0; i < drv->nr_pinned; i++) {
		uint64_t p = drv->pinned_iova[i];

		if (p >= iova && p < iova + length) {
			assert_int_equal(
				vfio_iommu_type1_unpin_pages(drv->c, p, 1), 1);
			drv->pinned_iova[i--] =
				drv->pinned_iova[--drv->nr_pinned];
		}
	}
}

static const struct vfio_iommu_device_ops pin_driver_ops = {
	.dma_unmap = pin_driver_unmap,
};

static void pin_driver_init(struct pin_driver *drv, struct vfio_iommu *c)
{
	memset(drv, 0, sizeof(*drv));
	drv->vdev.ops = &pin_driver_ops;
	drv->vdev.priv = drv;
	drv->c = c;
	assert_int_equal(vfio_iommu_type1_register_device(c, &drv->vdev), 0);
}

static int pin_one(struct pin_driver *drv, struct iommu_group *g, uint64_t iova,
		   phys_addr_t *pa)
{
	int ret =
		vfio_iommu_type1_pin_pages(drv->c, g, iova, 1, IOMMU_READ, pa);

	if (ret == 1)
		drv->pinned_iova[drv->nr_pinned++] = iova;
	return ret;
}

static void test_d07_d12_pins_with_domain(void **state)
{
	struct fx *f = *state;
	char *va = region(f, 16 * PG, 0);
	struct iommu_domain *d;
	struct pin_driver drv;
	phys_addr_t pa[4];

	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, grp(f, 0)), 0);
	d = vfio_iommu_type1_group_domain(f->m.c, grp(f, 0));
	assert_int_equal(map_dma(f->m.c, IOVA, va, 16 * PG, RW), 0);
	assert_int_equal(mm_locked_vm(f->m.mm), 16);
	/* no registered device: no pins */
	assert_int_equal(vfio_iommu_type1_pin_pages(f->m.c, grp(f, 0),
						    IOVA + 4 * PG, 4,
						    IOMMU_READ, pa),
			 -EINVAL);
	pin_driver_init(&drv, f->m.c);
	assert_int_equal(vfio_iommu_type1_group_pinned_scope(f->m.c, grp(f, 0)),
			 0);
	assert_int_equal(stats(f).num_non_pinned_groups, 1);
	assert_int_equal(
		vfio_iommu_type1_pin_pages(f->m.c, grp(f, 0), IOVA + 4 * PG, 4,
					   IOMMU_READ | IOMMU_WRITE, pa),
		4);
	/* D07: not charged again; the same frames the IOMMU maps */
	assert_int_equal(mm_locked_vm(f->m.mm), 16);
	assert_int_equal(pin_refs(f), 16 + 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(pa[i],
				 iommu_iova_to_phys(d, IOVA + (4 + i) * PG));
	/* D12: the group's first pin sets its dirty scope */
	assert_int_equal(vfio_iommu_type1_group_pinned_scope(f->m.c, grp(f, 0)),
			 1);
	assert_int_equal(stats(f).num_non_pinned_groups, 0);
	assert_int_equal(stats(f).external_pins, 4);
	assert_int_equal(vfio_iommu_type1_unpin_pages(f->m.c, IOVA + 4 * PG, 4),
			 4);
	assert_int_equal(mm_locked_vm(f->m.mm), 16);
	assert_int_equal(pin_refs(f), 16);
	assert_int_equal(stats(f).external_pins, 0);
	vfio_iommu_type1_unregister_device(f->m.c, &drv.vdev);
}

static void test_d07_pins_without_domain(void **state)
{
	struct fx *f = *state;
	char *va = region(f, 16 * PG, 0);
	static char mdev;
	struct iommu_group *eg = (struct iommu_group *)&mdev;
	struct pin_driver drv;
	phys_addr_t pa[2], pb[2];

	assert_int_equal(vfio_iommu_type1_attach_emulated_group(f->m.c, eg), 0);
	assert_int_equal(vfio_iommu_type1_group_pinned_scope(f->m.c, eg), 1);
	assert_int_equal(map_dma(f->m.c, IOVA, va, 16 * PG, RW), 0);
	pin_driver_init(&drv, f->m.c);
	/* no IOMMU-backed domain: each pinned page is charged, once */
	assert_int_equal(vfio_iommu_type1_pin_pages(f->m.c, eg, IOVA + PG, 2,
						    IOMMU_WRITE, pa),
			 2);
	assert_int_equal(pa[0], test_user_pa(f->m.mm, va + PG));
	assert_int_equal(mm_locked_vm(f->m.mm), 2);
	/* G05: pinned again (another driver, say): counted twice, the
	 * page pinned once; one unpin leaves it pinned */
	assert_int_equal(vfio_iommu_type1_pin_pages(f->m.c, eg, IOVA + PG, 2,
						    IOMMU_READ, pb),
			 2);
	assert_memory_equal(pa, pb, sizeof(pa));
	assert_int_equal(mm_locked_vm(f->m.mm), 2);
	assert_int_equal(pin_refs(f), 2);
	assert_int_equal(vfio_iommu_type1_unpin_pages(f->m.c, IOVA + PG, 2), 2);
	assert_int_equal(pin_refs(f), 2);
	assert_int_equal(stats(f).external_pins, 2);
	assert_int_equal(mm_locked_vm(f->m.mm), 2);

	/* a domain comes: the pinned pages are not charged twice */
	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, grp(f, 0)), 0);
	assert_int_equal(mm_locked_vm(f->m.mm), 16);
	assert_int_equal(pin_refs(f), 16 + 2);
	/* the last domain goes while the emulated group stays: the
	 * mappings stay, the drivers' pins are charged again */
	vfio_iommu_type1_detach_group(f->m.c, grp(f, 0));
	assert_int_equal(stats(f).nr_dma, 1);
	assert_int_equal(mm_locked_vm(f->m.mm), 2);
	assert_int_equal(pin_refs(f), 2);
	/* G04: an IOVA never pinned: nothing changes */
	assert_int_equal(vfio_iommu_type1_unpin_pages(f->m.c, IOVA + 8 * PG, 1),
			 1);
	assert_int_equal(pin_refs(f), 2);
	assert_int_equal(vfio_iommu_type1_unpin_pages(f->m.c, IOVA + PG, 2), 2);
	assert_int_equal(mm_locked_vm(f->m.mm), 0);
	assert_int_equal(pin_refs(f), 0);
	vfio_iommu_type1_unregister_device(f->m.c, &drv.vdev);
}

/*
 * D08, and the order of pin_pages' checks: 6.1's vfio_pin_pages (the core:
 * pages, npage, E2BIG) then vfio_iommu_type1_pin_pages (iommu and pages
 * NULL, v2, vaddrs invalid, a registered device, then per page: a mapping,
 * its prot).  Both in-process APIs: the group's (anonymous holder) and the
 * device's (what src/devices/mdev.c calls).  The kernel's D08 names
 * user_pfn too: the 6.1 API, like this one, takes an IOVA, not an array.
 */
enum pin_api { PIN_GROUP, PIN_DEVICE };

struct pin_case {
	const char *name;
	enum pin_api api;
	bool null_iommu, null_phys, null_vdev, v1, other_group;
	uint64_t iova;
	int npage, prot;
	long expect;
};

static long pin_call(struct fx *f, struct vfio_iommu *v1,
		     struct pin_driver *drv, const struct pin_case *c,
		     phys_addr_t *pa)
{
	static char other;
	struct vfio_iommu *iommu = c->null_iommu ? NULL : c->v1 ? v1 : f->m.c;
	struct iommu_group *g = c->other_group ? (struct iommu_group *)&other
					       : grp(f, 0);
	phys_addr_t *phys = c->null_phys ? NULL : pa;

	if (c->api == PIN_GROUP)
		return vfio_iommu_type1_pin_pages(iommu, g, c->iova, c->npage,
						  c->prot, phys);
	return vfio_iommu_type1_device_pin_pages(
		iommu, c->null_vdev ? NULL : &drv->vdev, g, c->iova, c->npage,
		c->prot, phys);
}

#define PMAX VFIO_PIN_PAGES_MAX_ENTRIES
#define PR   IOMMU_READ

static const struct pin_case pin_cases[] = {
	{"D08: iommu NULL", PIN_GROUP, .null_iommu = true, .iova = IOVA,
	 .npage = 1, .prot = PR, .expect = -EINVAL},
	{"D08: phys NULL", PIN_GROUP, .null_phys = true, .iova = IOVA,
	 .npage = 1, .prot = PR, .expect = -EINVAL},
	{"D08: device, iommu NULL", PIN_DEVICE, .null_iommu = true,
	 .iova = IOVA, .npage = 1, .prot = PR, .expect = -EINVAL},
	{"D08: device, phys NULL", PIN_DEVICE, .null_phys = true, .iova = IOVA,
	 .npage = 1, .prot = PR, .expect = -EINVAL},
	{"D08: device NULL", PIN_DEVICE, .null_vdev = true, .iova = IOVA,
	 .npage = 1, .prot = PR, .expect = -EINVAL},
	{"D08: phys NULL + too many (first wins)", PIN_GROUP, .null_phys = true,
	 .iova = IOVA, .npage = PMAX + 1, .prot = PR, .expect = -EINVAL},
	{"D08: phys NULL + v1 (first wins)", PIN_GROUP, .null_phys = true,
	 .v1 = true, .iova = IOVA, .npage = 1, .prot = PR, .expect = -EINVAL},
	{"D08: device, phys NULL + v1 (first wins)", PIN_DEVICE,
	 .null_phys = true, .v1 = true, .iova = IOVA, .npage = 1, .prot = PR,
	 .expect = -EINVAL},
	{"npage 0", PIN_GROUP, .iova = IOVA, .npage = 0, .prot = PR,
	 .expect = -EINVAL},
	{"npage > max", PIN_GROUP, .iova = IOVA, .npage = PMAX + 1, .prot = PR,
	 .expect = -E2BIG},
	{"npage > max + v1 (first wins)", PIN_DEVICE, .v1 = true, .iova = IOVA,
	 .npage = PMAX + 1, .prot = PR, .expect = -E2BIG},
	{"v1", PIN_GROUP, .v1 = true, .iova = IOVA, .npage = 1, .prot = PR,
	 .expect = -EACCES},
	{"v1 + unaligned (first wins)", PIN_GROUP, .v1 = true, .iova = IOVA + 1,
	 .npage = 1, .prot = PR, .expect = -EACCES},
	/* uiommu's own: unaligned IOVAs and unknown prot bits */
	{"iova unaligned", PIN_GROUP, .iova = IOVA + 1, .npage = 1, .prot = PR,
	 .expect = -EINVAL},
	{"no prot", PIN_DEVICE, .iova = IOVA, .npage = 1, .prot = 0,
	 .expect = -EINVAL},
	{"group not in the container", PIN_GROUP, .other_group = true,
	 .iova = IOVA, .npage = 1, .prot = PR, .expect = -EINVAL},
	/* per page: the mapping first, then its prot */
	{"first page outside + write (first wins)", PIN_GROUP,
	 .iova = IOVA - PG, .npage = 2, .prot = IOMMU_WRITE, .expect = -EINVAL},
	{"write to a read-only mapping", PIN_DEVICE, .iova = IOVA, .npage = 1,
	 .prot = IOMMU_WRITE, .expect = -EPERM},
	{"last page outside", PIN_DEVICE, .iova = IOVA + 12 * PG, .npage = 5,
	 .prot = PR, .expect = -EINVAL},
	{"pinned", PIN_DEVICE, .iova = IOVA + 12 * PG, .npage = 4, .prot = PR,
	 .expect = 4},
};

static void test_d08_pin_arguments(void **state)
{
	struct fx *f = *state;
	char *va = region(f, 16 * PG, MM_MAP_RDONLY);
	phys_addr_t pa[VFIO_PIN_PAGES_MAX_ENTRIES + 1];
	struct pin_driver drv, drv1;
	struct vfio_iommu *v1;

	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, grp(f, 0)), 0);
	assert_int_equal(
		map_dma(f->m.c, IOVA, va, 16 * PG, VFIO_DMA_MAP_FLAG_READ), 0);
	assert_int_equal(vfio_iommu_type1_open(f->m.mm, VFIO_TYPE1_IOMMU, &v1),
			 0);
	assert_int_equal(map_dma(v1, IOVA, va, 16 * PG, VFIO_DMA_MAP_FLAG_READ),
			 0);
	/* no device registered yet, and a vaddr invalid: EBUSY first */
	assert_int_equal(unmap_dma(f->m.c, IOVA, 16 * PG,
				   VFIO_DMA_UNMAP_FLAG_VADDR, NULL),
			 0);
	assert_int_equal(vfio_iommu_type1_pin_pages(f->m.c, grp(f, 0), IOVA, 1,
						    PR, pa),
			 -EBUSY);
	assert_int_equal(
		map_dma(f->m.c, IOVA, va, 16 * PG, VFIO_DMA_MAP_FLAG_VADDR), 0);
	/* no device registered: nobody to call back on unmap */
	assert_int_equal(vfio_iommu_type1_pin_pages(f->m.c, grp(f, 0), IOVA, 1,
						    PR, pa),
			 -EINVAL);
	pin_driver_init(&drv, f->m.c);
	pin_driver_init(&drv1, v1);
	for (size_t i = 0; i < ARRAY_SIZE_T(pin_cases); i++) {
		const struct pin_case *c = &pin_cases[i];
		long ret = pin_call(f, v1, &drv, c, pa);

		if (ret != c->expect)
			fail_msg("%s: got %ld, expected %ld", c->name, ret,
				 c->expect);
		if (ret > 0) {
			assert_int_equal(vfio_iommu_type1_device_unpin_pages(
						 f->m.c, &drv.vdev, c->iova,
						 (int)ret),
					 ret);
		}
		/* all or nothing, nothing charged twice */
		assert_int_equal(stats(f).external_pins, 0);
		assert_int_equal(pin_refs(f), 16);
		assert_int_equal(mm_locked_vm(f->m.mm), 16);
		assert_int_equal(
			vfio_iommu_type1_device_pinned(f->m.c, &drv.vdev), 0);
	}
	/* a failed call leaves the group's dirty scope as it was, a good one
	 * sets it (D12) */
	assert_int_equal(vfio_iommu_type1_group_pinned_scope(f->m.c, grp(f, 0)),
			 1);
	vfio_iommu_type1_unregister_device(f->m.c, &drv.vdev);
	vfio_iommu_type1_unregister_device(v1, &drv1.vdev);
	vfio_iommu_type1_release(v1);
}

/*
 * D09 and unpin_pages' checks in order: arguments (iommu, npage), E2BIG,
 * v2; then per page until one has no mapping: -EINVAL if that is the
 * first, else the pages processed.  6.1's vfio_unpin_pages is void (WARN
 * on a short count); D09 is the older interface's return, which the
 * in-process API keeps so that a driver can tell.
 */
struct unpin_case {
	const char *name;
	enum pin_api api;
	bool null_iommu, null_vdev, v1;
	uint64_t iova;
	int npage;
	long expect;
	uint64_t pins_left; /* of the 2 + 2 pinned before each row */
};

static const struct unpin_case unpin_cases[] = {
	{"D09: iommu NULL", PIN_GROUP, .null_iommu = true, .iova = IOVA,
	 .npage = 1, .expect = -EINVAL, .pins_left = 4},
	{"D09: device NULL", PIN_DEVICE, .null_vdev = true, .iova = IOVA,
	 .npage = 1, .expect = -EINVAL, .pins_left = 4},
	{"D09: npage 0", PIN_GROUP, .iova = IOVA, .npage = 0, .expect = -EINVAL,
	 .pins_left = 4},
	{"D09: npage < 0", PIN_DEVICE, .iova = IOVA, .npage = -1,
	 .expect = -EINVAL, .pins_left = 4},
	{"D09: iommu NULL + too many (first wins)", PIN_GROUP,
	 .null_iommu = true, .iova = IOVA, .npage = PMAX + 1, .expect = -EINVAL,
	 .pins_left = 4},
	{"D09: too many", PIN_GROUP, .iova = IOVA, .npage = PMAX + 1,
	 .expect = -E2BIG, .pins_left = 4},
	{"D09: too many + v1 (first wins)", PIN_DEVICE, .v1 = true,
	 .iova = IOVA, .npage = PMAX + 1, .expect = -E2BIG, .pins_left = 4},
	{"D09: v1", PIN_GROUP, .v1 = true, .iova = IOVA, .npage = 1,
	 .expect = -EACCES, .pins_left = 4},
	{"D09: unaligned", PIN_GROUP, .iova = IOVA + 1, .npage = 1,
	 .expect = -EINVAL, .pins_left = 4},
	{"D09: first IOVA has no mapping", PIN_GROUP, .iova = IOVA - PG,
	 .npage = 4, .expect = -EINVAL, .pins_left = 4},
	{"D09: device, first IOVA has no mapping", PIN_DEVICE,
	 .iova = IOVA - PG, .npage = 4, .expect = -EINVAL, .pins_left = 4},
	/* the group's pins at IOVA + 14, 15 (mapping ends at 16), the
	 * device's at IOVA + 32, 33 (second mapping [32, 48)) */
	{"D09: stops at the end of a mapping", PIN_GROUP,
	 .iova = IOVA + 14 * PG, .npage = 4, .expect = 2, .pins_left = 2},
	{"D09: first IOVA in a hole between mappings", PIN_DEVICE,
	 .iova = IOVA + 30 * PG, .npage = 8, .expect = -EINVAL, .pins_left = 4},
	{"D09: device, processed count", PIN_DEVICE, .iova = IOVA + 32 * PG,
	 .npage = 20, .expect = 16, .pins_left = 2},
	{"D09: another holder's pins are left", PIN_GROUP,
	 .iova = IOVA + 32 * PG, .npage = 2, .expect = 2, .pins_left = 4},
	{"D09: all processed", PIN_GROUP, .iova = IOVA, .npage = 16,
	 .expect = 16, .pins_left = 2},
};

static void test_d09_unpin_arguments(void **state)
{
	struct fx *f = *state;
	char *va = region(f, 32 * PG, 0);
	struct pin_driver drv, drv1;
	struct vfio_iommu *v1;
	phys_addr_t pa[4];

	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, grp(f, 0)), 0);
	assert_int_equal(map_dma(f->m.c, IOVA, va, 16 * PG, RW), 0);
	assert_int_equal(
		map_dma(f->m.c, IOVA + 32 * PG, va + 16 * PG, 16 * PG, RW), 0);
	assert_int_equal(vfio_iommu_type1_open(f->m.mm, VFIO_TYPE1_IOMMU, &v1),
			 0);
	pin_driver_init(&drv, f->m.c);
	pin_driver_init(&drv1, v1);
	for (size_t i = 0; i < ARRAY_SIZE_T(unpin_cases); i++) {
		const struct unpin_case *c = &unpin_cases[i];
		struct vfio_iommu *iommu = c->null_iommu ? NULL
					   : c->v1	 ? v1
							 : f->m.c;
		long ret;

		assert_int_equal(vfio_iommu_type1_pin_pages(f->m.c, grp(f, 0),
							    IOVA + 14 * PG, 2,
							    PR, pa),
				 2);
		assert_int_equal(vfio_iommu_type1_device_pin_pages(
					 f->m.c, &drv.vdev, grp(f, 0),
					 IOVA + 32 * PG, 2, PR, pa),
				 2);
		if (c->api == PIN_GROUP)
			ret = vfio_iommu_type1_unpin_pages(iommu, c->iova,
							   c->npage);
		else
			ret = vfio_iommu_type1_device_unpin_pages(
				iommu, c->null_vdev ? NULL : &drv.vdev, c->iova,
				c->npage);
		if (ret != c->expect)
			fail_msg("%s: got %ld, expected %ld", c->name, ret,
				 c->expect);
		assert_int_equal(stats(f).external_pins, c->pins_left);
		assert_int_equal(pin_refs(f), 32 + c->pins_left);
		assert_int_equal(mm_locked_vm(f->m.mm), 32);
		/* back to none */
		vfio_iommu_type1_unpin_pages(f->m.c, IOVA + 14 * PG, 2);
		vfio_iommu_type1_device_unpin_pages(f->m.c, &drv.vdev,
						    IOVA + 32 * PG, 2);
		assert_int_equal(stats(f).external_pins, 0);
	}
	vfio_iommu_type1_unregister_device(f->m.c, &drv.vdev);
	vfio_iommu_type1_unregister_device(v1, &drv1.vdev);
	vfio_iommu_type1_release(v1);
}

/* ---- CAP_IPC_LOCK: the real one by default, taken at MAP_DMA ------------------------------- */

/* CAP_IPC_LOCK in this process's effective set, as /proc tells it (not
 * through the library's capget) */
static bool proc_cap_ipc_lock(void)
{
	unsigned long long eff = 0;
	char line[256];
	FILE *fp = fopen("/proc/self/status", "r");

	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	fclose(fp);
	return eff >> CAP_IPC_LOCK & 1;
}

static void test_cap_ipc_lock_is_the_real_one(void **state)
{
	struct fx *f = *state;
	bool have = proc_cap_ipc_lock();
	struct mm *mm;
	pid_t pid;
	int st;

	/* a new mm (a process) has the process's real capability */
	assert_int_equal(mm_create(f->m.p->pm, &mm), 0);
	assert_int_equal(mm_cap_ipc_lock(mm), have);
	/* a modelled limit is one without it; the test API sets it again */
	mm_set_memlock_limit(mm, 8 * PG);
	assert_false(mm_cap_ipc_lock(mm));
	mm_set_cap_ipc_lock(mm, true);
	assert_true(mm_cap_ipc_lock(mm));
	mm_destroy(mm);
	if (!have)
		return;
	/* a process that dropped it from its effective set gets none */
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		struct __user_cap_header_struct h = {
			.version = _LINUX_CAPABILITY_VERSION_3};
		struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

		if (syscall(SYS_capget, &h, d))
			_exit(2);
		d[CAP_TO_INDEX(CAP_IPC_LOCK)].effective &=
			~CAP_TO_MASK(CAP_IPC_LOCK);
		if (syscall(SYS_capset, &h, d) || proc_cap_ipc_lock())
			_exit(3);
		if (mm_create(f->m.p->pm, &mm))
			_exit(4);
		_exit(mm_cap_ipc_lock(mm) ? 1 : 0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/*
 * vfio_dma_do_map takes capable(CAP_IPC_LOCK) into dma->lock_cap; every
 * later charge of that dma (replay into a new domain, a driver's pin with
 * no domain) uses it, whatever the capability is by then.  With it the
 * pages are charged to locked_vm but never checked against the limit.
 */
static void test_cap_ipc_lock_taken_at_map(void **state)
{
	struct fx *f = *state;
	char *va = region(f, 16 * PG, 0);
	static char mdev;
	struct iommu_group *eg = (struct iommu_group *)&mdev;
	struct pin_driver drv;
	phys_addr_t pa[16];

	mm_set_memlock_limit(f->m.mm, 8 * PG);
	/* mapped without it: the capability gained later does not count */
	assert_int_equal(map_dma(f->m.c, IOVA, va, 16 * PG, RW), 0);
	mm_set_cap_ipc_lock(f->m.mm, true);
	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, grp(f, 0)),
			 -ENOMEM);
	assert_int_equal(mm_locked_vm(f->m.mm), 0);
	assert_int_equal(pin_refs(f), 0);
	assert_int_equal(unmap_dma(f->m.c, IOVA, 16 * PG, 0, NULL), 0);
	/* mapped with it (still set): dropping it later does not count */
	assert_int_equal(map_dma(f->m.c, IOVA, va, 16 * PG, RW), 0);
	mm_set_cap_ipc_lock(f->m.mm, false);
	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, grp(f, 0)), 0);
	assert_int_equal(mm_locked_vm(f->m.mm), 16); /* charged past 8 */
	/* a new mapping without it hits the limit */
	assert_int_equal(map_dma(f->m.c, 0x400000, va, PG, RW), -ENOMEM);
	assert_int_equal(mm_locked_vm(f->m.mm), 16);
	vfio_iommu_type1_detach_group(f->m.c, grp(f, 0));
	assert_int_equal(mm_locked_vm(f->m.mm), 0);

	/* drivers' pins (no IOMMU domain: charged) use the dma's too */
	assert_int_equal(vfio_iommu_type1_attach_emulated_group(f->m.c, eg), 0);
	pin_driver_init(&drv, f->m.c);
	mm_set_cap_ipc_lock(f->m.mm, true);
	assert_int_equal(map_dma(f->m.c, IOVA, va, 16 * PG, RW), 0);
	mm_set_cap_ipc_lock(f->m.mm, false);
	assert_int_equal(map_dma(f->m.c, 0x400000, va, 16 * PG, RW), 0);
	mm_set_cap_ipc_lock(f->m.mm, true);
	assert_int_equal(vfio_iommu_type1_pin_pages(f->m.c, eg, IOVA, 16,
						    IOMMU_READ, pa),
			 16);
	assert_int_equal(mm_locked_vm(f->m.mm), 16);
	assert_int_equal(vfio_iommu_type1_pin_pages(f->m.c, eg, 0x400000, 1,
						    IOMMU_READ, pa),
			 -ENOMEM);
	assert_int_equal(mm_locked_vm(f->m.mm), 16);
	assert_int_equal(stats(f).external_pins, 16);
	assert_int_equal(vfio_iommu_type1_unpin_pages(f->m.c, IOVA, 16), 16);
	assert_int_equal(mm_locked_vm(f->m.mm), 0);
	vfio_iommu_type1_unregister_device(f->m.c, &drv.vdev);
	vfio_iommu_type1_detach_group(f->m.c, eg);
	mm_set_cap_ipc_lock(f->m.mm, false);
}

static void test_d10_remove_with_pins_warns(void **state)
{
	struct fx *f = *state;
	char *va = region(f, 16 * PG, 0);
	static char mdev;
	struct iommu_group *eg = (struct iommu_group *)&mdev;
	struct pin_driver drv;
	phys_addr_t pa[3];

	assert_int_equal(vfio_iommu_type1_attach_emulated_group(f->m.c, eg), 0);
	assert_int_equal(map_dma(f->m.c, IOVA, va, 16 * PG, RW), 0);
	pin_driver_init(&drv, f->m.c);
	assert_int_equal(vfio_iommu_type1_pin_pages(f->m.c, eg, IOVA, 3,
						    IOMMU_READ, pa),
			 3);
	vfio_iommu_type1_unregister_device(f->m.c, &drv.vdev);
	/* the last group leaves with pins held: the dma goes with a
	 * warning and the pins are dropped rather than leaked */
	vfio_iommu_type1_detach_group(f->m.c, eg);
	assert_int_equal(stats(f).pinned_on_remove, 1);
	assert_int_equal(stats(f).nr_dma, 0);
	assert_int_equal(mm_locked_vm(f->m.mm), 0);
	assert_int_equal(pin_refs(f), 0);
}

static void test_g01_unmap_calls_drivers_back(void **state)
{
	struct fx *f = *state;
	char *va = region(f, 32 * PG, 0);
	struct pin_driver drv, other;
	phys_addr_t pa;
	uint64_t done;

	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, grp(f, 0)), 0);
	assert_int_equal(map_dma(f->m.c, IOVA, va, 16 * PG, RW), 0);
	assert_int_equal(
		map_dma(f->m.c, IOVA + 16 * PG, va + 16 * PG, 16 * PG, RW), 0);
	pin_driver_init(&drv, f->m.c);
	pin_driver_init(&other, f->m.c);
	/* a page that is not the first of the mapping (G02) */
	assert_int_equal(pin_one(&drv, grp(f, 0), IOVA + 16 * PG + 7 * PG, &pa),
			 1);
	/* unmapping the mapping without pins calls nobody */
	assert_int_equal(unmap_dma(f->m.c, IOVA, 16 * PG, 0, &done), 0);
	assert_int_equal(drv.calls + other.calls, 0);
	/* G01: every registered driver, with the whole range */
	assert_int_equal(unmap_dma(f->m.c, IOVA + 16 * PG, 16 * PG, 0, &done),
			 0);
	assert_int_equal(done, 16 * PG);
	assert_int_equal(drv.calls, 1);
	assert_int_equal(other.calls, 1);
	assert_int_equal(drv.last_iova, IOVA + 16 * PG);
	assert_int_equal(drv.last_len, 16 * PG);
	/* G09: no pins left, nothing warned about */
	assert_int_equal(stats(f).pinned_on_remove, 0);
	assert_int_equal(stats(f).nr_dma, 0);
	assert_int_equal(pin_refs(f), 0);
	assert_int_equal(mm_locked_vm(f->m.mm), 0);
	vfio_iommu_type1_unregister_device(f->m.c, &drv.vdev);
	vfio_iommu_type1_unregister_device(f->m.c, &other.vdev);
}

/* G03: a driver that never unpins: type1 retries, then (where the kernel
 * would BUG) fails the unmap with -EBUSY, leaving the mapping and the pins
 * as they were; once the driver unpins, the unmap goes through. */
static void test_g03_driver_ignoring_unmap_fails(void **state)
{
	struct fx *f = *state;
	char *va = region(f, 16 * PG, 0);
	struct pin_driver drv;
	phys_addr_t pa;
	uint64_t done = 1;

	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, grp(f, 0)), 0);
	assert_int_equal(map_dma(f->m.c, IOVA, va, 16 * PG, RW), 0);
	pin_driver_init(&drv, f->m.c);
	drv.ignore = true;
	assert_int_equal(pin_one(&drv, grp(f, 0), IOVA + 3 * PG, &pa), 1);
	assert_int_equal(unmap_dma(f->m.c, IOVA, 16 * PG, 0, &done), -EBUSY);
	/* on error the struct is not written back, as with the kernel */
	assert_int_equal(done, 16 * PG);
	assert_true(stats(f).nr_dma == 1);
	assert_true(iommu_iova_to_phys(vfio_iommu_type1_group_domain(f->m.c,
								     grp(f, 0)),
				       IOVA + 3 * PG) != 0);
	/* the pin is dropped properly, then the unmap succeeds */
	assert_int_equal(vfio_iommu_type1_unpin_pages(f->m.c, IOVA + 3 * PG, 1),
			 1);
	assert_int_equal(unmap_dma(f->m.c, IOVA, 16 * PG, 0, &done), 0);
	assert_int_equal(done, 16 * PG);
	vfio_iommu_type1_unregister_device(f->m.c, &drv.vdev);
}

/* ---- dirty tracking: D11, D12 -------------------------------------------------------------- */

static long dirty_ioctl(struct vfio_iommu *c, uint32_t flags)
{
	struct vfio_iommu_type1_dirty_bitmap d = {
		.argsz = sizeof(d),
		.flags = flags,
	};

	return vfio_iommu_type1_ioctl(c, VFIO_IOMMU_DIRTY_PAGES,
				      (unsigned long)&d);
}

static long get_bitmap(struct vfio_iommu *c, uint64_t iova, uint64_t size,
		       uint64_t *map, uint64_t map_bytes)
{
	struct {
		struct vfio_iommu_type1_dirty_bitmap d;
		struct vfio_iommu_type1_dirty_bitmap_get g;
	} __attribute__((packed)) a = {
		.d = {.argsz = sizeof(a),
		      .flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP},
		.g = {.iova = iova,
		      .size = size,
		      .bitmap = {.pgsize = PG,
				 .size = map_bytes,
				 .data = (void *)map}},
	};

	return vfio_iommu_type1_ioctl(c, VFIO_IOMMU_DIRTY_PAGES,
				      (unsigned long)&a);
}

static void test_d11_dirty_tracking(void **state)
{
	struct fx *f = *state;
	char *va = region(f, 16 * PG, 0);
	struct pin_driver drv;
	uint64_t map[2] = {0};
	phys_addr_t pa;

	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, grp(f, 0)), 0);
	/* two mappings, the second starting mid-word of the bitmap */
	assert_int_equal(map_dma(f->m.c, IOVA, va, 3 * PG, RW), 0);
	assert_int_equal(
		map_dma(f->m.c, IOVA + 3 * PG, va + 3 * PG, 5 * PG, RW), 0);
	assert_int_equal(get_bitmap(f->m.c, IOVA, 8 * PG, map, 8), -EINVAL);
	assert_int_equal(dirty_ioctl(f->m.c, VFIO_IOMMU_DIRTY_PAGES_FLAG_START),
			 0);
	assert_true(stats(f).dirty_page_tracking);
	/* D11: a group that does not pin: everything mapped is dirty */
	assert_int_equal(get_bitmap(f->m.c, IOVA, 8 * PG, map, 8), 0);
	assert_int_equal(map[0], 0xff);
	/* a map while tracking gets a bitmap too */
	assert_int_equal(
		map_dma(f->m.c, IOVA + 8 * PG, va + 8 * PG, 8 * PG, RW), 0);
	map[0] = 0;
	assert_int_equal(get_bitmap(f->m.c, IOVA, 16 * PG, map, 8), 0);
	assert_int_equal(map[0], 0xffff);
	/* the range must not bisect a mapping */
	assert_int_equal(get_bitmap(f->m.c, IOVA, 4 * PG, map, 8), -EINVAL);

	/* D12: once the group pins, only its pins are dirty */
	pin_driver_init(&drv, f->m.c);
	assert_int_equal(pin_one(&drv, grp(f, 0), IOVA + 4 * PG, &pa), 1);
	map[0] = 0;
	assert_int_equal(get_bitmap(f->m.c, IOVA, 16 * PG, map, 8), 0);
	assert_int_equal(map[0], 1ULL << 4);
	/* GET_DIRTY_BITMAP on unmap */
	{
		struct {
			struct vfio_iommu_type1_dma_unmap u;
			struct vfio_bitmap b;
		} __attribute__((packed)) a = {
			.u = {.argsz = sizeof(a),
			      .flags = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP,
			      .iova = IOVA,
			      .size = 8 * PG},
			.b = {.pgsize = PG, .size = 8, .data = (void *)map},
		};

		assert_int_equal(vfio_iommu_type1_unpin_pages(f->m.c,
							      IOVA + 4 * PG, 1),
				 1);
		drv.nr_pinned = 0;
		map[0] = 0;
		assert_int_equal(vfio_iommu_type1_ioctl(f->m.c,
							VFIO_IOMMU_UNMAP_DMA,
							(unsigned long)&a),
				 0);
		assert_int_equal(a.u.size, 8 * PG);
		/* still dirty: it was pinned since the last read */
		assert_int_equal(map[0], 1ULL << 4);
	}
	/* the group leaves: what it could have written is all dirty */
	assert_int_equal(dirty_ioctl(f->m.c, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP),
			 0);
	assert_false(stats(f).dirty_page_tracking);
	assert_int_equal(dirty_ioctl(f->m.c, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP),
			 0);
	vfio_iommu_type1_unregister_device(f->m.c, &drv.vdev);
}

/* ---- the order of checks: one table per ioctl --------------------------------------------------- */

/*
 * Each table lists an ioctl's checks in the order Linux 6.1 makes them,
 * each row an input that trips one; rows marked "first wins" trip several
 * at once and expect the errno of the earliest.  Every row runs against a
 * container with one group attached and one 16-page mapping at IOVA, and
 * must leave it unchanged.
 */

#define BADPTR 0x10UL /* never mapped */

enum arg_kind { ARG_MAP, ARG_UNMAP, ARG_DIRTY, ARG_INFO };

#define VADDR_WRAP (~0ULL)     /* MAP: a vaddr whose range wraps */
#define VADDR_ZERO (~0ULL - 1) /* MAP: vaddr 0 */
#define VADDR_NONE (~0ULL - 2) /* MAP: a vaddr with nothing mapped */

struct bad_case {
	const char *name;
	unsigned int cmd;
	enum arg_kind kind;
	uint32_t argsz; /* 0: the full size */
	uint32_t flags;
	uint64_t iova, size;
	uint64_t vaddr_off; /* MAP: offset into the region, or VADDR_* */
	uint64_t bm_pgsize, bm_size, bm_data; /* 1 in bm_data: a buffer */
	bool tracking;			      /* dirty tracking on */
	bool emulated; /* an emulated (mdev) group attached too */
	bool badptr;
	long expect;
};

#define M(...)                                                          \
	{                                                               \
		.cmd = VFIO_IOMMU_MAP_DMA, .kind = ARG_MAP, __VA_ARGS__ \
	}
#define U(...)                                                              \
	{                                                                   \
		.cmd = VFIO_IOMMU_UNMAP_DMA, .kind = ARG_UNMAP, __VA_ARGS__ \
	}
#define D(...)                                                                \
	{                                                                     \
		.cmd = VFIO_IOMMU_DIRTY_PAGES, .kind = ARG_DIRTY, __VA_ARGS__ \
	}
#define I(...)                                                            \
	{                                                                 \
		.cmd = VFIO_IOMMU_GET_INFO, .kind = ARG_INFO, __VA_ARGS__ \
	}
#define GP VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP
#define UD VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP
#define UV VFIO_DMA_UNMAP_FLAG_VADDR
#define MV VFIO_DMA_MAP_FLAG_VADDR

/* 6.1: vfio_iommu_type1_map_dma, then vfio_dma_do_map */
static const struct bad_case map_cases[] = {
	/* copy_from_user(minsz) */
	M(.name = "map: bad pointer", .badptr = true, .expect = -EFAULT),
	/* argsz < minsz || flags & ~mask */
	M(.name = "map: argsz", .argsz = 31, .flags = RW, .iova = 0x400000,
	  .size = PG, .expect = -EINVAL),
	M(.name = "map: unknown flag", .flags = RW | 8, .iova = 0x400000,
	  .size = PG, .expect = -EINVAL),
	M(.name = "map: argsz + overlap (first wins)", .argsz = 8, .flags = RW,
	  .iova = IOVA, .size = 16 * PG, .expect = -EINVAL),
	/* (prot && VADDR) || (!prot && !VADDR) */
	M(.name = "map: no prot", .iova = 0x400000, .size = PG,
	  .expect = -EINVAL),
	M(.name = "map: vaddr + prot", .flags = RW | MV, .iova = IOVA,
	  .size = 16 * PG, .expect = -EINVAL),
	M(.name = "map: no prot + overlap (first wins)", .iova = IOVA,
	  .size = 16 * PG, .expect = -EINVAL),
	/* !size || (size | iova | vaddr) & (pgsize - 1) */
	M(.name = "map: size 0", .flags = RW, .iova = 0x400000,
	  .expect = -EINVAL),
	M(.name = "map: iova unaligned", .flags = RW, .iova = 0x400100,
	  .size = PG, .expect = -EINVAL),
	M(.name = "map: vaddr unaligned", .flags = RW, .iova = 0x400000,
	  .size = PG, .vaddr_off = 8, .expect = -EINVAL),
	M(.name = "map: size unaligned", .flags = RW, .iova = 0x400000,
	  .size = PG + 1, .expect = -EINVAL),
	M(.name = "map: unaligned + overlap (first wins)", .flags = RW,
	  .iova = IOVA + 8, .size = PG, .expect = -EINVAL),
	M(.name = "map: vaddr update, size 0 + nothing there (first wins)",
	  .flags = MV, .iova = 0x400000, .expect = -EINVAL),
	/* iova or vaddr wrap */
	M(.name = "map: iova wraps", .flags = RW, .iova = ~0ULL - PG + 1,
	  .size = 2 * PG, .expect = -EINVAL),
	M(.name = "map: vaddr wraps", .flags = RW, .iova = 0x400000,
	  .size = 2 * PG, .vaddr_off = VADDR_WRAP, .expect = -EINVAL),
	M(.name = "map: vaddr wraps + overlap (first wins)", .flags = RW,
	  .iova = IOVA, .size = 2 * PG, .vaddr_off = VADDR_WRAP,
	  .expect = -EINVAL),
	/* VADDR: no dma -> ENOENT; valid one, or not exactly it -> EINVAL */
	M(.name = "map: vaddr update of nothing", .flags = MV, .iova = 0x400000,
	  .size = PG, .expect = -ENOENT),
	M(.name = "map: vaddr update of valid", .flags = MV, .iova = IOVA,
	  .size = 16 * PG, .expect = -EINVAL),
	M(.name = "map: vaddr update, part of one", .flags = MV, .iova = IOVA,
	  .size = 8 * PG, .expect = -EINVAL),
	M(.name = "map: vaddr update of nothing, MSI window (first wins)",
	  .flags = MV, .iova = MSI_IOVA_BASE, .size = PG, .expect = -ENOENT),
	/* overlap -> EEXIST (before the IOVA ranges) */
	M(.name = "map: overlap", .flags = RW, .iova = IOVA + 15 * PG,
	  .size = 2 * PG, .expect = -EEXIST),
	M(.name = "map: overlap + vaddr not mapped (first wins)", .flags = RW,
	  .iova = IOVA + 15 * PG, .size = 2 * PG, .vaddr_off = VADDR_NONE,
	  .expect = -EEXIST),
	/* (dma_avail: test_map_dma_entry_limit_order) */
	/* outside the IOVA ranges */
	M(.name = "map: MSI window", .flags = RW, .iova = MSI_IOVA_BASE,
	  .size = PG, .expect = -EINVAL),
	M(.name = "map: beyond aperture", .flags = RW, .iova = 1ULL << 48,
	  .size = PG, .expect = -EINVAL),
	M(.name = "map: MSI window + vaddr not mapped (first wins)",
	  .flags = RW, .iova = MSI_IOVA_BASE, .size = PG,
	  .vaddr_off = VADDR_NONE, .expect = -EINVAL),
	/* vfio_pin_map_dma: the user's pages */
	M(.name = "map: vaddr not mapped", .flags = RW, .iova = 0x400000,
	  .size = 32 * PG, .vaddr_off = VADDR_NONE, .expect = -EFAULT),
	M(.name = "map: vaddr 0", .flags = RW, .iova = 0x400000, .size = PG,
	  .vaddr_off = VADDR_ZERO, .expect = -EFAULT),
	/* vfio_dma_bitmap_alloc while tracking: more than INT_MAX pages */
	M(.name = "map: dirty bitmap too large", .flags = RW,
	  .iova = 1ULL << 46, .size = (VFIO_DIRTY_BITMAP_PAGES_MAX + 1) * PG,
	  .vaddr_off = VADDR_NONE, .tracking = true, .expect = -EFAULT),
};

/* 6.1: vfio_iommu_type1_unmap_dma, then vfio_dma_do_unmap */
static const struct bad_case unmap_cases[] = {
	/* copy_from_user(minsz) */
	U(.name = "unmap: bad pointer", .badptr = true, .expect = -EFAULT),
	/* argsz < minsz || flags & ~mask */
	U(.name = "unmap: argsz", .argsz = 23, .iova = IOVA, .size = 16 * PG,
	  .expect = -EINVAL),
	U(.name = "unmap: unknown flag", .flags = 8, .iova = IOVA,
	  .size = 16 * PG, .expect = -EINVAL),
	U(.name = "unmap: argsz + vaddr with mdev (first wins)", .argsz = 23,
	  .flags = UV, .iova = IOVA, .size = 16 * PG, .emulated = true,
	  .expect = -EINVAL),
	/* GET_DIRTY_BITMAP with ALL or VADDR */
	U(.name = "unmap: dirty + all", .flags = UD | VFIO_DMA_UNMAP_FLAG_ALL,
	  .tracking = true, .expect = -EINVAL),
	U(.name = "unmap: dirty + vaddr", .flags = UD | UV, .iova = IOVA,
	  .size = 16 * PG, .tracking = true, .expect = -EINVAL),
	U(.name = "unmap: dirty + vaddr with mdev (first wins)",
	  .flags = UD | UV, .iova = IOVA, .size = 16 * PG, .emulated = true,
	  .tracking = true, .expect = -EINVAL),
	/* GET_DIRTY_BITMAP: argsz, copy, access_ok, verify_bitmap_size */
	U(.name = "unmap: dirty argsz", .argsz = 24, .flags = UD, .iova = IOVA,
	  .size = 16 * PG, .tracking = true, .expect = -EINVAL),
	U(.name = "unmap: dirty bitmap kernel ptr", .flags = UD, .iova = IOVA,
	  .size = 16 * PG, .bm_pgsize = PG, .bm_size = 8,
	  .bm_data = 0xffff800000000000ULL, .tracking = true,
	  .expect = -EINVAL),
	U(.name = "unmap: dirty bitmap small", .flags = UD, .iova = IOVA,
	  .size = 128 * PG, .bm_pgsize = PG, .bm_size = 8, .bm_data = 1,
	  .tracking = true, .expect = -EINVAL),
	U(.name = "unmap: dirty bitmap size 0", .flags = UD, .iova = IOVA,
	  .size = 16 * PG, .bm_pgsize = PG, .bm_data = 1, .tracking = true,
	  .expect = -EINVAL),
	U(.name = "unmap: dirty pgsize 0", .flags = UD, .iova = IOVA,
	  .size = 16 * PG, .bm_size = 8, .bm_data = 1, .tracking = true,
	  .expect = -EINVAL),
	/* under the lock: VADDR with emulated groups -> EBUSY, first */
	U(.name = "unmap: vaddr with mdev", .flags = UV, .iova = IOVA,
	  .size = 16 * PG, .emulated = true, .expect = -EBUSY),
	U(.name = "unmap: vaddr with mdev + iova unaligned (first wins)",
	  .flags = UV, .iova = IOVA + 1, .size = 16 * PG, .emulated = true,
	  .expect = -EBUSY),
	U(.name = "unmap: vaddr all with mdev + iova (first wins)",
	  .flags = UV | VFIO_DMA_UNMAP_FLAG_ALL, .iova = IOVA, .emulated = true,
	  .expect = -EBUSY),
	U(.name = "unmap: vaddr with mdev + size 0 (first wins)", .flags = UV,
	  .iova = IOVA, .emulated = true, .expect = -EBUSY),
	/* iova alignment; ALL: iova = size = 0; size, wrap */
	U(.name = "unmap: iova unaligned", .iova = IOVA + 1, .size = 16 * PG,
	  .expect = -EINVAL),
	U(.name = "unmap: all with iova", .flags = VFIO_DMA_UNMAP_FLAG_ALL,
	  .iova = IOVA, .expect = -EINVAL),
	U(.name = "unmap: all with size", .flags = VFIO_DMA_UNMAP_FLAG_ALL,
	  .size = PG, .expect = -EINVAL),
	U(.name = "unmap: size 0", .iova = IOVA, .expect = -EINVAL),
	U(.name = "unmap: size unaligned", .iova = IOVA, .size = 16 * PG - 1,
	  .expect = -EINVAL),
	U(.name = "unmap: wraps", .iova = IOVA, .size = ~0ULL - PG + 1,
	  .expect = -EINVAL),
	/* GET_DIRTY_BITMAP: tracking on, the bitmap's page size */
	U(.name = "unmap: dirty, not tracking", .flags = UD, .iova = IOVA,
	  .size = 16 * PG, .bm_pgsize = PG, .bm_size = 8, .bm_data = 1,
	  .expect = -EINVAL),
	U(.name = "unmap: dirty pgsize 2M", .flags = UD, .iova = IOVA,
	  .size = 16 * PG, .bm_pgsize = SZ_2M, .bm_size = 8, .bm_data = 1,
	  .tracking = true, .expect = -EINVAL),
	U(.name = "unmap: dirty not tracking + bitmap unmapped (first wins)",
	  .flags = UD, .iova = IOVA, .size = 16 * PG, .bm_pgsize = PG,
	  .bm_size = 8, .bm_data = BADPTR, .expect = -EINVAL),
	/* v2: no bisected mapping */
	U(.name = "unmap: bisect start", .iova = IOVA + PG, .size = 16 * PG,
	  .expect = -EINVAL),
	U(.name = "unmap: bisect end", .iova = IOVA - PG, .size = 2 * PG,
	  .expect = -EINVAL),
	U(.name = "unmap: vaddr bisect", .flags = UV, .iova = IOVA + PG,
	  .size = PG, .expect = -EINVAL),
	U(.name = "unmap: dirty bisect + bitmap unmapped (first wins)",
	  .flags = UD, .iova = IOVA + PG, .size = 15 * PG, .bm_pgsize = PG,
	  .bm_size = 8, .bm_data = BADPTR, .tracking = true, .expect = -EINVAL),
	/* update_user_bitmap: copy_to_user */
	U(.name = "unmap: dirty bitmap unmapped", .flags = UD, .iova = IOVA,
	  .size = 16 * PG, .bm_pgsize = PG, .bm_size = 8, .bm_data = BADPTR,
	  .tracking = true, .expect = -EFAULT),
};

/* 6.1: vfio_iommu_type1_dirty_pages, then vfio_iova_dirty_bitmap (the
 * v1 container's EACCES, before anything: test_dirty_pages_check_order) */
static const struct bad_case dirty_cases[] = {
	/* copy_from_user(minsz) */
	D(.name = "dirty: bad pointer", .badptr = true, .expect = -EFAULT),
	/* argsz < minsz || flags & ~mask */
	D(.name = "dirty: argsz", .argsz = 7,
	  .flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_START, .expect = -EINVAL),
	D(.name = "dirty: unknown flag", .flags = 8, .expect = -EINVAL),
	/* exactly one flag */
	D(.name = "dirty: no flag", .expect = -EINVAL),
	D(.name = "dirty: two flags",
	  .flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_START |
		   VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP,
	  .expect = -EINVAL),
	D(.name = "dirty: start + get",
	  .flags = GP | VFIO_IOMMU_DIRTY_PAGES_FLAG_START, .expect = -EINVAL),
	/* GET_BITMAP: argsz for the range, copy, wrap, access_ok, size */
	D(.name = "dirty: get argsz", .argsz = 8, .flags = GP, .iova = IOVA,
	  .size = 16 * PG, .tracking = true, .expect = -EINVAL),
	D(.name = "dirty: get range wraps", .flags = GP, .iova = IOVA,
	  .size = ~0ULL - PG, .bm_pgsize = PG, .bm_size = 8, .bm_data = 1,
	  .tracking = true, .expect = -EINVAL),
	D(.name = "dirty: get kernel ptr", .flags = GP, .iova = IOVA,
	  .size = 16 * PG, .bm_pgsize = PG, .bm_size = 8,
	  .bm_data = 0xffff800000000000ULL, .tracking = true,
	  .expect = -EINVAL),
	D(.name = "dirty: get bitmap small", .flags = GP, .iova = IOVA,
	  .size = 128 * PG, .bm_pgsize = PG, .bm_size = 8, .bm_data = 1,
	  .tracking = true, .expect = -EINVAL),
	D(.name = "dirty: get pgsize 0", .flags = GP, .iova = IOVA,
	  .size = 16 * PG, .bm_size = 8, .bm_data = 1, .tracking = true,
	  .expect = -EINVAL),
	/* under the lock: pgsize, iova, size; tracking on */
	D(.name = "dirty: get pgsize 2M", .flags = GP, .iova = IOVA,
	  .size = 16 * PG, .bm_pgsize = SZ_2M, .bm_size = 8, .bm_data = 1,
	  .tracking = true, .expect = -EINVAL),
	D(.name = "dirty: get iova unaligned", .flags = GP, .iova = IOVA + 8,
	  .size = 16 * PG, .bm_pgsize = PG, .bm_size = 8, .bm_data = 1,
	  .tracking = true, .expect = -EINVAL),
	D(.name = "dirty: get size 0", .flags = GP, .iova = IOVA,
	  .bm_pgsize = PG, .bm_size = 8, .bm_data = 1, .tracking = true,
	  .expect = -EINVAL),
	D(.name = "dirty: get, not tracking", .flags = GP, .iova = IOVA,
	  .size = 16 * PG, .bm_pgsize = PG, .bm_size = 8, .bm_data = 1,
	  .expect = -EINVAL),
	D(.name = "dirty: get not tracking + bitmap unmapped (first wins)",
	  .flags = GP, .iova = IOVA, .size = 16 * PG, .bm_pgsize = PG,
	  .bm_size = 8, .bm_data = BADPTR, .expect = -EINVAL),
	/* vfio_iova_dirty_bitmap: no bisected mapping, then the copy */
	D(.name = "dirty: get bisect", .flags = GP, .iova = IOVA,
	  .size = 8 * PG, .bm_pgsize = PG, .bm_size = 8, .bm_data = 1,
	  .tracking = true, .expect = -EINVAL),
	D(.name = "dirty: get bisect + bitmap unmapped (first wins)",
	  .flags = GP, .iova = IOVA, .size = 8 * PG, .bm_pgsize = PG,
	  .bm_size = 8, .bm_data = BADPTR, .tracking = true, .expect = -EINVAL),
	D(.name = "dirty: get bitmap unmapped", .flags = GP, .iova = IOVA,
	  .size = 16 * PG, .bm_pgsize = PG, .bm_size = 8, .bm_data = BADPTR,
	  .tracking = true, .expect = -EFAULT),
};

/* 6.1: vfio_iommu_type1_get_info (what it copies back:
 * test_get_info_copy_back) */
static const struct bad_case info_cases[] = {
	I(.name = "info: bad pointer", .badptr = true, .expect = -EFAULT),
	I(.name = "info: argsz", .argsz = 15, .expect = -EINVAL),
	I(.name = "info: argsz 16", .argsz = 16, .expect = 0),
};

static void check_unchanged(struct fx *f, struct iommu_domain *d,
			    const char *va)
{
	struct vfio_iommu_type1_stats st = stats(f);

	assert_int_equal(st.nr_dma, 1);
	assert_int_equal(st.dma_avail, 65534);
	assert_int_equal(st.pinned_pages, 16);
	assert_int_equal(st.nr_emulated, 0);
	assert_int_equal(mm_locked_vm(f->m.mm), 16);
	assert_int_equal(pin_refs(f), 16);
	test_assert_mapped(f->m.mm, d, IOVA, va, 16 * PG);
	test_assert_unmapped(d, 0x400000, 32 * PG);
	assert_int_equal(st.dirty_page_tracking, false);
	assert_int_equal(
		vfio_iommu_type1_find_dma(f->m.c, IOVA, NULL, NULL, NULL), 0);
}

static void run_cases(struct fx *f, const struct bad_case *cases, size_t n)
{
	char *va = region(f, 16 * PG, 0);
	static char mdev;
	struct iommu_group *eg = (struct iommu_group *)&mdev;
	struct iommu_domain *d;
	uint64_t bm[4];
	union {
		struct vfio_iommu_type1_dma_map map;
		struct {
			struct vfio_iommu_type1_dma_unmap u;
			struct vfio_bitmap b;
		} __attribute__((packed)) unmap;
		struct {
			struct vfio_iommu_type1_dirty_bitmap d;
			struct vfio_iommu_type1_dirty_bitmap_get g;
		} __attribute__((packed)) dirty;
		struct vfio_iommu_type1_info info;
		char raw[512];
	} a;

	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, grp(f, 0)), 0);
	d = vfio_iommu_type1_group_domain(f->m.c, grp(f, 0));
	assert_int_equal(map_dma(f->m.c, IOVA, va, 16 * PG, RW), 0);

	for (size_t i = 0; i < n; i++) {
		const struct bad_case *c = &cases[i];
		void *data = (void *)(uintptr_t)(c->bm_data == 1 ? (uintptr_t)bm
								 : c->bm_data);
		unsigned long arg = (unsigned long)&a;
		long ret;

		memset(&a, 0, sizeof(a));
		switch (c->kind) {
		case ARG_MAP:
			a.map.argsz = c->argsz ? c->argsz : sizeof(a.map);
			a.map.flags = c->flags;
			a.map.iova = c->iova;
			a.map.size = c->size;
			if (c->vaddr_off == VADDR_WRAP)
				a.map.vaddr = ~0ULL - PG + 1;
			else if (c->vaddr_off == VADDR_ZERO)
				a.map.vaddr = 0;
			else if (c->vaddr_off == VADDR_NONE)
				a.map.vaddr = 0x1000; /* nothing there */
			else
				a.map.vaddr = (uintptr_t)va + c->vaddr_off;
			break;
		case ARG_UNMAP:
			a.unmap.u.argsz = c->argsz ? c->argsz : sizeof(a.unmap);
			a.unmap.u.flags = c->flags;
			a.unmap.u.iova = c->iova;
			a.unmap.u.size = c->size;
			a.unmap.b.pgsize = c->bm_pgsize;
			a.unmap.b.size = c->bm_size;
			a.unmap.b.data = data;
			break;
		case ARG_DIRTY:
			a.dirty.d.argsz = c->argsz ? c->argsz : sizeof(a.dirty);
			a.dirty.d.flags = c->flags;
			a.dirty.g.iova = c->iova;
			a.dirty.g.size = c->size;
			a.dirty.g.bitmap.pgsize = c->bm_pgsize;
			a.dirty.g.bitmap.size = c->bm_size;
			a.dirty.g.bitmap.data = data;
			break;
		case ARG_INFO:
			a.info.argsz = c->argsz ? c->argsz : sizeof(a);
			break;
		}
		if (c->badptr)
			arg = BADPTR;
		if (c->emulated)
			assert_int_equal(vfio_iommu_type1_attach_emulated_group(
						 f->m.c, eg),
					 0);
		if (c->tracking)
			assert_int_equal(
				dirty_ioctl(f->m.c,
					    VFIO_IOMMU_DIRTY_PAGES_FLAG_START),
				0);
		ret = vfio_iommu_type1_ioctl(f->m.c, c->cmd, arg);
		if (ret != c->expect)
			fail_msg("%s: got %ld, expected %ld", c->name, ret,
				 c->expect);
		if (c->tracking)
			assert_int_equal(
				dirty_ioctl(f->m.c,
					    VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP),
				0);
		if (c->emulated)
			vfio_iommu_type1_detach_group(f->m.c, eg);
		check_unchanged(f, d, va);
	}
}

static void test_map_dma_check_order(void **state)
{
	run_cases(*state, map_cases, ARRAY_SIZE_T(map_cases));
}

/* dma_avail comes after the overlap and before the IOVA ranges */
static void test_map_dma_entry_limit_order(void **state)
{
	struct fx *f = *state;
	char *va = region(f, 4 * PG, 0);
	struct vfio_iommu *c;

	vfio_iommu_type1_set_dma_entry_limit(1);
	assert_int_equal(vfio_iommu_type1_open(f->m.mm, VFIO_TYPE1v2_IOMMU, &c),
			 0);
	vfio_iommu_type1_set_dma_entry_limit(VFIO_DMA_ENTRY_LIMIT_DEFAULT);
	assert_int_equal(vfio_iommu_type1_attach_group(c, grp(f, 0)), 0);
	assert_int_equal(map_dma(c, IOVA, va, PG, RW), 0);
	assert_int_equal(map_dma(c, IOVA + PG, va, PG, RW), -ENOSPC);
	assert_int_equal(map_dma(c, IOVA, va, PG, RW), -EEXIST);
	assert_int_equal(map_dma(c, MSI_IOVA_BASE, va, PG, RW), -ENOSPC);
	assert_int_equal(map_dma(c, IOVA + PG, (void *)0x1000, PG, RW),
			 -ENOSPC);
	assert_int_equal(map_dma(c, IOVA + 8, va, PG, RW), -EINVAL);
	assert_int_equal(mm_locked_vm(f->m.mm), 1);
	vfio_iommu_type1_release(c);
	assert_int_equal(mm_locked_vm(f->m.mm), 0);
}

static void test_unmap_dma_check_order(void **state)
{
	run_cases(*state, unmap_cases, ARRAY_SIZE_T(unmap_cases));
}

static void test_dirty_pages_check_order(void **state)
{
	struct fx *f = *state;
	struct vfio_iommu *c;

	run_cases(f, dirty_cases, ARRAY_SIZE_T(dirty_cases));
	/* v1: EACCES before the argument is even read */
	assert_int_equal(vfio_iommu_type1_open(f->m.mm, VFIO_TYPE1_IOMMU, &c),
			 0);
	assert_int_equal(vfio_iommu_type1_ioctl(c, VFIO_IOMMU_DIRTY_PAGES,
						BADPTR),
			 -EACCES);
	vfio_iommu_type1_release(c);
}

/* vfio_dma_bitmap_alloc: no bitmap of more than INT_MAX pages (START with
 * such a mapping, or MAP_DMA of one while tracking: -EINVAL) */
static void test_dirty_bitmap_pages_max(void **state)
{
	struct fx *f = *state;
	uint64_t big = (VFIO_DIRTY_BITMAP_PAGES_MAX + 1) * PG;

	/* no domain: nothing is pinned, the vaddr need not exist */
	assert_int_equal(
		map_dma(f->m.c, 1ULL << 44, (void *)(1ULL << 44), big, RW), 0);
	assert_int_equal(dirty_ioctl(f->m.c, VFIO_IOMMU_DIRTY_PAGES_FLAG_START),
			 -EINVAL);
	assert_false(stats(f).dirty_page_tracking);
	assert_int_equal(unmap_dma(f->m.c, 1ULL << 44, big, 0, NULL), 0);
	assert_int_equal(dirty_ioctl(f->m.c, VFIO_IOMMU_DIRTY_PAGES_FLAG_START),
			 0);
	assert_int_equal(map_dma(f->m.c, 1ULL << 44, (void *)(1ULL << 44), big,
				 RW),
			 -EINVAL);
	assert_int_equal(stats(f).nr_dma, 0);
	assert_int_equal(stats(f).dma_avail, VFIO_DMA_ENTRY_LIMIT_DEFAULT);
	assert_int_equal(map_dma(f->m.c, 1ULL << 44, (void *)(1ULL << 44),
				 big - PG, RW),
			 0);
	assert_int_equal(dirty_ioctl(f->m.c, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP),
			 0);
}

static void test_get_info_check_order(void **state)
{
	run_cases(*state, info_cases, ARRAY_SIZE_T(info_cases));
}

/*
 * 6.1's vfio_iommu_type1_get_info copies back iova_pgsizes and what comes
 * before it, plus cap_offset only when argsz covers it (offsetofend
 * cap_offset = 20), never the padding after it; argsz grows to what the
 * capabilities need when they do not fit (then nothing follows the struct
 * and cap_offset is 0), flags always say CAPS.
 */
static void test_get_info_copy_back(void **state)
{
	struct fx *f = *state;
	const uint8_t fill = 0xa5;
	uint32_t need;
	union {
		struct vfio_iommu_type1_info info;
		uint8_t raw[512];
	} u;
	static const uint32_t argszs[] = {16, 17, 19, 20, 21, 23, 24, 32};

	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, grp(f, 0)), 0);
	memset(&u, 0, sizeof(u));
	u.info.argsz = sizeof(u);
	assert_int_equal(vfio_iommu_type1_ioctl(f->m.c, VFIO_IOMMU_GET_INFO,
						(unsigned long)&u),
			 0);
	/* the capabilities' end: follow the chain */
	need = sizeof(u.info);
	for (uint32_t off = u.info.cap_offset; off;) {
		struct vfio_info_cap_header *h = (void *)(u.raw + off);

		need = off +
		       (h->id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE
				? sizeof(struct vfio_iommu_type1_info_cap_iova_range) +
					  2 * sizeof(struct vfio_iova_range)
			: h->id == VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION
				? sizeof(struct vfio_iommu_type1_info_cap_migration)
			: h->id == VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL
				? sizeof(struct vfio_iommu_type1_info_dma_avail)
				: sizeof(struct vfio_iommu_type1_info_cap_iopf));
		off = h->next;
	}
	need = (need + 7) & ~7u;

	for (size_t i = 0; i < ARRAY_SIZE_T(argszs); i++) {
		uint32_t argsz = argszs[i];

		memset(&u, fill, sizeof(u));
		u.info.argsz = argsz;
		assert_int_equal(vfio_iommu_type1_ioctl(f->m.c,
							VFIO_IOMMU_GET_INFO,
							(unsigned long)&u),
				 0);
		assert_int_equal(u.info.argsz, need);
		assert_int_equal(u.info.flags, VFIO_IOMMU_INFO_PGSIZES |
						       VFIO_IOMMU_INFO_CAPS);
		assert_int_equal(u.info.iova_pgsizes, PG | SZ_2M | (1UL << 30));
		if (argsz < 20)
			assert_int_equal(u.info.cap_offset, 0xa5a5a5a5);
		else
			assert_int_equal(u.info.cap_offset, 0);
		/* the padding and everything after: untouched */
		for (size_t b = 20; b < sizeof(u); b++)
			if (u.raw[b] != fill)
				fail_msg("argsz %u: byte %zu written", argsz,
					 b);
	}
	/* it fits: the capabilities follow, cap_offset points at them */
	memset(&u, fill, sizeof(u));
	u.info.argsz = need;
	assert_int_equal(vfio_iommu_type1_ioctl(f->m.c, VFIO_IOMMU_GET_INFO,
						(unsigned long)&u),
			 0);
	assert_int_equal(u.info.argsz, need);
	assert_int_equal(u.info.cap_offset, sizeof(u.info));
	for (size_t b = 20; b < sizeof(u.info); b++)
		assert_int_equal(u.raw[b], fill);
	for (size_t b = need; b < sizeof(u); b++)
		assert_int_equal(u.raw[b], fill);
}

/* ---- fail-the-Nth-allocation sweeps ------------------------------------------------------------ */

struct sweep {
	struct fx *f;
	char *va;
	uint64_t size;
	uint64_t locked, refs;
	unsigned int nr_dma;
};

static int op_map(void *ctx)
{
	struct sweep *s = ctx;

	return (int)map_dma(s->f->m.c, 0x40000000, s->va, s->size, RW);
}

static void check_map(void *ctx)
{
	struct sweep *s = ctx;
	struct fx *f = s->f;
	struct iommu_domain *d =
		vfio_iommu_type1_group_domain(f->m.c, grp(f, 0));

	assert_int_equal(stats(f).nr_dma, s->nr_dma);
	assert_int_equal(mm_locked_vm(f->m.mm), s->locked);
	assert_int_equal(pin_refs(f), s->refs);
	assert_int_equal(vfio_iommu_type1_find_dma(f->m.c, 0x40000000, NULL,
						   NULL, NULL),
			 -ENOENT);
	for (uint64_t off = 0; off < s->size; off += SZ_2M / 2)
		assert_int_equal(iommu_iova_to_phys(d, 0x40000000 + off), 0);
	assert_int_equal(test_iotlb_entries_in(f->m.p->hw, 0x40000000, s->size),
			 0);
}

static void undo_map(void *ctx)
{
	struct sweep *s = ctx;

	assert_int_equal(unmap_dma(s->f->m.c, 0x40000000, s->size, 0, NULL), 0);
}

static void test_fail_sweep_map(void **state)
{
	struct fx *f = *state;
	char *va = region(f, 4 * SZ_2M, MM_MAP_HUGE);
	char *small = region(f, 64 * PG, 0);
	struct sweep s = {.f = f, .va = va, .size = 4 * SZ_2M};

	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, grp(f, 0)), 0);
	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, grp(f, 2)), 0);
	assert_int_equal(map_dma(f->m.c, IOVA, small, 64 * PG, RW), 0);
	/* a device uses the existing mapping so the IOTLB is warm */
	assert_int_equal(endpoint_dma_write(f->hw[0], IOVA, "x", 1), 0);
	s.locked = mm_locked_vm(f->m.mm);
	s.refs = pin_refs(f);
	s.nr_dma = 1;
	assert_true(test_fail_sweep(op_map, undo_map, check_map, &s, 0) > 0);
	/* a 4 KiB-backed one too */
	s.va = small;
	s.size = 64 * PG;
	assert_true(test_fail_sweep(op_map, undo_map, check_map, &s, 0) > 0);
}

/*
 * Every failure point of MAP_DMA in the container states that take other
 * paths through vfio_dma_do_map: no domain (nothing pinned, D01), dirty
 * tracking on (the bitmap after the pins), an emulated group beside the
 * domain, and two IOMMUs (pin failures alone, then every kind): each
 * failure leaves no dma, no pin, no charge, no mapping and no IOTLB entry
 * behind, and dma_avail as it was.  (IOPF's MAP_DMA: F07's test.)
 */
static void check_map_any(void *ctx)
{
	struct sweep *s = ctx;
	struct fx *f = s->f;
	struct iommu_domain *d =
		vfio_iommu_type1_group_domain(f->m.c, grp(f, 0));

	assert_int_equal(stats(f).nr_dma, s->nr_dma);
	assert_int_equal(stats(f).dma_avail,
			 VFIO_DMA_ENTRY_LIMIT_DEFAULT - s->nr_dma);
	assert_int_equal(stats(f).pinned_pages, s->refs);
	assert_int_equal(mm_locked_vm(f->m.mm), s->locked);
	assert_int_equal(pin_refs(f), s->refs);
	assert_int_equal(vfio_iommu_type1_find_dma(f->m.c, 0x40000000, NULL,
						   NULL, NULL),
			 -ENOENT);
	if (d)
		for (uint64_t off = 0; off < s->size; off += PG)
			assert_int_equal(
				iommu_iova_to_phys(d, 0x40000000 + off), 0);
	assert_int_equal(test_iotlb_entries_in(f->m.p->hw, 0x40000000, s->size),
			 0);
}

static void test_fail_sweep_map_states(void **state)
{
	struct fx *f = *state;
	char *va = region(f, 64 * PG, 0);
	static char mdev;
	struct iommu_group *eg = (struct iommu_group *)&mdev;
	struct sweep s = {.f = f, .va = va, .size = 64 * PG};

	/* no domain: only the dma itself */
	assert_true(test_fail_sweep(op_map, undo_map, check_map_any, &s, 0) >
		    0);
	/* dirty tracking, still no domain: the bitmap too */
	assert_int_equal(dirty_ioctl(f->m.c, VFIO_IOMMU_DIRTY_PAGES_FLAG_START),
			 0);
	assert_true(test_fail_sweep(op_map, undo_map, check_map_any, &s, 0) >
		    1);
	/* a domain and an emulated group: pins, maps, bitmap */
	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, grp(f, 0)), 0);
	assert_int_equal(vfio_iommu_type1_attach_emulated_group(f->m.c, eg), 0);
	assert_true(test_fail_sweep(op_map, undo_map, check_map_any, &s, 0) >
		    2);
	vfio_iommu_type1_detach_group(f->m.c, eg);
	assert_int_equal(dirty_ioctl(f->m.c, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP),
			 0);
	/* pin failures (get_user_pages) alone, over both IOMMUs */
	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, grp(f, 2)), 0);
	assert_true(test_fail_sweep(op_map, undo_map, check_map_any, &s,
				    UIOMMU_FAIL_PIN) > 0);
	assert_true(test_fail_sweep(op_map, undo_map, check_map_any, &s, 0) >
		    0);
	assert_int_equal(mm_locked_vm(f->m.mm), 0);
	assert_int_equal(pin_refs(f), 0);
}

static int op_unmap(void *ctx)
{
	struct sweep *s = ctx;
	uint64_t done;
	long ret = unmap_dma(s->f->m.c, 0x40000000, s->size, 0, &done);

	return ret ? (int)ret : (done == s->size ? 0 : -EIO);
}

static void test_fail_sweep_unmap(void **state)
{
	struct fx *f = *state;
	char *va = region(f, 2 * SZ_2M, MM_MAP_HUGE);
	struct sweep s = {.f = f, .va = va, .size = 2 * SZ_2M};

	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, grp(f, 0)), 0);
	assert_int_equal(map_dma(f->m.c, 0x40000000, va, s.size, RW), 0);
	assert_int_equal(endpoint_dma_write(f->hw[0], 0x40000000, "x", 1), 0);
	/* unmap allocates nothing: no failure point, it always completes */
	assert_int_equal(test_fail_sweep(op_unmap, NULL, NULL, &s, 0), 0);
	s.nr_dma = 0;
	check_map(&s);
	assert_int_equal(endpoint_dma_write(f->hw[0], 0x40000000, "x", 1),
			 -EFAULT);
}

static int op_attach(void *ctx)
{
	struct sweep *s = ctx;

	return vfio_iommu_type1_attach_group(s->f->m.c, grp(s->f, 0));
}

static void check_attach(void *ctx)
{
	struct sweep *s = ctx;
	struct fx *f = s->f;

	assert_int_equal(stats(f).nr_domains, 0);
	assert_int_equal(stats(f).nr_dma, 2);
	assert_int_equal(stats(f).pinned_pages, 0);
	assert_int_equal(mm_locked_vm(f->m.mm), 0);
	assert_int_equal(pin_refs(f), 0);
	assert_null(iommu_get_domain_for_dev(&f->dev[0]));
	assert_int_equal(stats(f).num_non_pinned_groups, 0);
}

static void test_fail_sweep_attach(void **state)
{
	struct fx *f = *state;
	char *va = region(f, 2 * SZ_2M, MM_MAP_HUGE);
	char *small = region(f, 16 * PG, 0);
	struct sweep s = {.f = f};

	assert_int_equal(map_dma(f->m.c, 0x40000000, va, 2 * SZ_2M, RW), 0);
	assert_int_equal(map_dma(f->m.c, IOVA, small, 16 * PG, RW), 0);
	assert_true(test_fail_sweep(op_attach, NULL, check_attach, &s, 0) > 0);
	assert_int_equal(mm_locked_vm(f->m.mm), 1024 + 16);
	assert_int_equal(endpoint_dma_write(f->hw[0], IOVA + PG, "ok", 3), 0);
	assert_string_equal(small + PG, "ok");
	/* and a second domain (another IOMMU) swept the same way: the
	 * first one's state stays */
	{
		int n = 0, ret;

		for (n = 1;; n++) {
			uiommu_fail_nth(n);
			ret = vfio_iommu_type1_attach_group(f->m.c, grp(f, 2));
			if (!uiommu_fail_fired())
				break;
			assert_true(ret < 0);
			assert_int_equal(stats(f).nr_domains, 1);
			assert_int_equal(mm_locked_vm(f->m.mm), 1024 + 16);
			assert_int_equal(pin_refs(f), 1024 + 16);
			assert_null(iommu_get_domain_for_dev(&f->dev[2]));
			assert_int_equal(endpoint_dma_write(f->hw[2], IOVA, "x",
							    1),
					 -EFAULT);
		}
		uiommu_fail_nth(0);
		assert_int_equal(ret, 0);
		assert_true(n > 1);
		assert_int_equal(stats(f).nr_domains, 2);
	}
}

/* ---- non-coherent domains (seed 000): E01..E11 ------------------------------ */

#define TRACE_MAX 4096

struct trace_log {
	struct vfio_trace_event ev[TRACE_MAX];
	unsigned int n;
};

static void trace_rec(const struct vfio_trace_event *ev, void *arg)
{
	struct trace_log *t = arg;

	if (t->n < TRACE_MAX)
		t->ev[t->n++] = *ev;
}

/* index of the first event op at or after from covering pa (-1: none) */
static int trace_find(const struct trace_log *t, unsigned int from,
		      enum vfio_trace_op op, phys_addr_t pa)
{
	for (unsigned int i = from; i < t->n; i++)
		if (t->ev[i].op == op && pa >= t->ev[i].pa &&
		    pa < t->ev[i].pa + t->ev[i].len)
			return (int)i;
	return -1;
}

/* every PIN is flushed after it and before its MAP into domain d */
static void assert_pin_flush_map(const struct trace_log *t,
				 struct iommu_domain *d)
{
	unsigned int maps = 0;

	for (unsigned int i = 0; i < t->n; i++) {
		const struct vfio_trace_event *e = &t->ev[i];
		int fl, pin;

		if (e->op != VFIO_TRACE_MAP || e->domain != d)
			continue;
		maps++;
		assert_false(e->prot & IOMMU_CACHE);
		fl = -1;
		for (int k = (int)i - 1; k >= 0; k--)
			if (t->ev[k].op == VFIO_TRACE_FLUSH &&
			    t->ev[k].pa <= e->pa &&
			    t->ev[k].pa + t->ev[k].len >= e->pa + e->len) {
				fl = k;
				break;
			}
		assert_true(fl >= 0);
		pin = trace_find(t, 0, VFIO_TRACE_PIN, e->pa);
		if (pin >= 0) /* pinned by this call: pin -> flush -> map */
			assert_true(pin < fl);
	}
	assert_true(maps > 0);
}

/* every UNPIN comes after a FLUSH of its pages, itself after the UNMAP */
static void assert_unmap_flush_unpin(const struct trace_log *t)
{
	unsigned int unpins = 0;

	for (unsigned int i = 0; i < t->n; i++) {
		const struct vfio_trace_event *e = &t->ev[i];
		int fl = -1;

		if (e->op != VFIO_TRACE_UNPIN)
			continue;
		unpins++;
		for (int k = (int)i - 1; k >= 0; k--)
			if (t->ev[k].op == VFIO_TRACE_FLUSH &&
			    t->ev[k].pa == e->pa && t->ev[k].len == e->len) {
				fl = k;
				break;
			}
		assert_true(fl >= 0);
	}
	assert_true(unpins > 0);
}

static unsigned int trace_count(const struct trace_log *t,
				enum vfio_trace_op op)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < t->n; i++)
		n += t->ev[i].op == op;
	return n;
}

static struct cache_stats cstats(struct fx *f)
{
	struct cache_stats st;

	cache_get_stats(f->m.p->pm, &st);
	return st;
}

/* what a non-snooping device would read at iova of domain d */
static void nc_read(struct fx *f, struct iommu_domain *d, uint64_t iova,
		    void *buf, size_t len)
{
	phys_addr_t pa = iommu_iova_to_phys(d, iova);

	assert_true(pa != 0);
	assert_int_equal(cache_dram_read(f->m.p->pm, pa, buf, len), 0);
}

static int cc_iommu(struct fx *f)
{
	return (int)vfio_iommu_type1_ioctl(f->m.c, VFIO_CHECK_EXTENSION,
					   VFIO_DMA_CC_IOMMU);
}

/* E01: coherent domains only: no flush, no flag, IOMMU_CACHE mappings */
static void test_e01_coherent_no_flush(void **state)
{
	struct fx *f = *state;
	char *va = region(f, 16 * PG, 0);
	struct cache_stats c0 = cstats(f);
	struct trace_log *t = calloc(1, sizeof(*t));
	struct smmu_xlate x;

	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, grp(f, 0)), 0);
	vfio_iommu_type1_set_trace(f->m.c, trace_rec, t);
	assert_int_equal(map_dma(f->m.c, IOVA, va, 16 * PG, RW), 0);
	vfio_iommu_type1_set_trace(f->m.c, NULL, NULL);
	assert_int_equal(stats(f).cache_flushes, 0);
	assert_int_equal(stats(f).dma_flush_required, 0);
	assert_int_equal(stats(f).noncoherent_domains, 0);
	assert_int_equal(cstats(f).flushes, c0.flushes);
	assert_int_equal(trace_count(t, VFIO_TRACE_FLUSH), 0);
	for (unsigned int i = 0; i < t->n; i++)
		if (t->ev[i].op == VFIO_TRACE_MAP)
			assert_true(t->ev[i].prot & IOMMU_CACHE);
	assert_int_equal(smmu_translate(f->hw[0], IOVA, false, &x, NULL), 0);
	assert_int_equal(x.memtype, SMMU_MEM_NORMAL_WB);
	assert_int_equal(unmap_dma(f->m.c, IOVA, 16 * PG, 0, NULL), 0);
	assert_int_equal(stats(f).cache_flushes, 0);
	free(t);
}

/* E02, E03: pin -> flush -> map; unmap -> flush -> unpin; Normal-NC */
static void test_e02_e03_noncoherent_order(void **state)
{
	struct fx *f = *state;
	char *va = region(f, 32 * PG, 0);
	struct trace_log *t = calloc(1, sizeof(*t));
	struct iommu_domain *d;
	struct vfio_iommu_type1_stats st;
	struct smmu_xlate x;
	char buf[64];

	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, grp(f, 2)), 0);
	d = vfio_iommu_type1_group_domain(f->m.c, grp(f, 2));
	assert_int_equal(stats(f).noncoherent_domains, 1);
	/* the CPU writes, the data sits in its caches */
	for (int i = 0; i < 32; i++)
		snprintf(va + i * PG, 64, "page %d of the user", i);
	vfio_iommu_type1_set_trace(f->m.c, trace_rec, t);
	assert_int_equal(map_dma(f->m.c, IOVA, va, 32 * PG, RW), 0);
	vfio_iommu_type1_set_trace(f->m.c, NULL, NULL);
	assert_pin_flush_map(t, d);
	st = stats(f);
	assert_int_equal(st.dma_flush_required, 1);
	assert_int_equal(st.cache_flush_bytes, 2 * PG + 32 * PG); /* + fgsp */
	/* what the device reads behind the caches is what the CPU wrote */
	for (int i = 0; i < 32; i += 7) {
		char want[64];

		snprintf(want, sizeof(want), "page %d of the user", i);
		nc_read(f, d, IOVA + i * PG, buf, sizeof(buf));
		assert_string_equal(buf, want);
	}
	/* the hardware sees Normal-NC: its DMA does not snoop */
	assert_int_equal(smmu_translate(f->hw[2], IOVA, false, &x, NULL), 0);
	assert_int_equal(x.memtype, SMMU_MEM_NORMAL_NC);
	/* E03: the CPU writes again while mapped; unmap writes it back
	 * after the IOTLB sync and before the pages are released */
	strcpy(va + 5 * PG, "written while mapped");
	t->n = 0;
	vfio_iommu_type1_set_trace(f->m.c, trace_rec, t);
	{
		phys_addr_t pa = iommu_iova_to_phys(d, IOVA + 5 * PG);

		assert_int_equal(unmap_dma(f->m.c, IOVA, 32 * PG, 0, NULL), 0);
		vfio_iommu_type1_set_trace(f->m.c, NULL, NULL);
		assert_unmap_flush_unpin(t);
		assert_true(trace_find(t, 0, VFIO_TRACE_UNMAP, 0) < 0 || true);
		assert_true(t->ev[0].op == VFIO_TRACE_UNMAP);
		assert_int_equal(cache_dram_read(f->m.p->pm, pa, buf, 21), 0);
		assert_string_equal(buf, "written while mapped");
	}
	assert_int_equal(stats(f).cache_flush_bytes, 2 * PG + 64 * PG);
	assert_int_equal(pin_refs(f), 0);
	assert_int_equal(mm_locked_vm(f->m.mm), 0);
	free(t);
}

/* E02 negative: with the debug switch off the device reads stale memory */
static void test_e02_flush_off_reads_stale(void **state)
{
	struct fx *f = *state;
	char *va = region(f, 4 * PG, 0);
	struct iommu_domain *d;
	char buf[32];

	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, grp(f, 2)), 0);
	d = vfio_iommu_type1_group_domain(f->m.c, grp(f, 2));
	strcpy(va + PG, "fresh cpu data");
	vfio_iommu_type1_set_cache_flush(f->m.c, false);
	assert_int_equal(map_dma(f->m.c, IOVA, va, 4 * PG, RW), 0);
	nc_read(f, d, IOVA + PG, buf, sizeof(buf));
	assert_string_not_equal(buf, "fresh cpu data");
	assert_true(stats(f).cache_flushes_skipped > 0);
	assert_int_equal(stats(f).cache_flushes, 1);	  /* fgsp only */
	assert_int_equal(stats(f).dma_flush_required, 1); /* still tracked */
	assert_int_equal(unmap_dma(f->m.c, IOVA, 4 * PG, 0, NULL), 0);
	vfio_iommu_type1_set_cache_flush(f->m.c, true);
	assert_int_equal(map_dma(f->m.c, IOVA, va, 4 * PG, RW), 0);
	nc_read(f, d, IOVA + PG, buf, sizeof(buf));
	assert_string_equal(buf, "fresh cpu data");
}

/* E03 (unwind) and E04: a failed map flushes what it unpins; the flag
 * goes with the IOMMU pins */
static void test_e03_e04_unwind_and_clear(void **state)
{
	struct fx *f = *state;
	char *va = region(f, 64 * PG, 0);
	static char token;
	struct trace_log *t = calloc(1, sizeof(*t));
	int n, ret, unwinds = 0;

	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, grp(f, 2)), 0);
	vfio_iommu_type1_set_trace(f->m.c, trace_rec, t);
	/* far from the fgsp probe: the map needs page tables, so the sweep
	 * fails iommu_map after pages were pinned */
	for (n = 1;; n++) {
		t->n = 0;
		uiommu_fail_nth(n);
		ret = (int)map_dma(f->m.c, 0x80000000UL, va, 64 * PG, RW);
		if (!uiommu_fail_fired())
			break;
		assert_true(ret < 0);
		assert_int_equal(stats(f).nr_dma, 0);
		assert_int_equal(pin_refs(f), 0);
		assert_int_equal(mm_locked_vm(f->m.mm), 0);
		if (trace_count(t, VFIO_TRACE_UNPIN)) {
			assert_unmap_flush_unpin(t);
			unwinds++;
		}
	}
	uiommu_fail_nth(0);
	vfio_iommu_type1_set_trace(f->m.c, NULL, NULL);
	assert_int_equal(ret, 0);
	assert_true(unwinds > 0);
	assert_int_equal(unmap_dma(f->m.c, 0x80000000UL, 64 * PG, 0, NULL), 0);
	assert_int_equal(map_dma(f->m.c, IOVA, va, 64 * PG, RW), 0);
	/* E04: two flagged dmas, one unmapped: one flag left */
	assert_int_equal(map_dma(f->m.c, IOVA + 64 * PG, va, 16 * PG, RW), 0);
	assert_int_equal(stats(f).dma_flush_required, 2);
	assert_int_equal(unmap_dma(f->m.c, IOVA + 64 * PG, 16 * PG, 0, NULL),
			 0);
	assert_int_equal(stats(f).dma_flush_required, 1);
	/* the last domain goes while an emulated group keeps the mappings:
	 * every IOMMU pin is released (flushed) and the flag cleared */
	assert_int_equal(vfio_iommu_type1_attach_emulated_group(
				 f->m.c, (struct iommu_group *)&token),
			 0);
	{
		uint64_t before = stats(f).cache_flushes;

		vfio_iommu_type1_detach_group(f->m.c, grp(f, 2));
		assert_true(stats(f).cache_flushes > before);
	}
	assert_int_equal(stats(f).nr_dma, 1);
	assert_int_equal(stats(f).dma_flush_required, 0);
	assert_int_equal(stats(f).noncoherent_domains, 0);
	assert_int_equal(pin_refs(f), 0);
	vfio_iommu_type1_detach_group(f->m.c, (struct iommu_group *)&token);
	free(t);
}

/* E05, E10: the counter follows link/unlink; CC_IOMMU answers from it */
static void test_e05_e10_counter_and_extension(void **state)
{
	struct fx *f = *state;

	assert_int_equal(cc_iommu(f), 1); /* no domain: vacuously */
	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, grp(f, 0)), 0);
	assert_int_equal(stats(f).noncoherent_domains, 0);
	assert_int_equal(cc_iommu(f), 1);
	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, grp(f, 2)), 0);
	assert_int_equal(stats(f).noncoherent_domains, 1);
	assert_int_equal(cc_iommu(f), 0);
	vfio_iommu_type1_detach_group(f->m.c, grp(f, 2));
	assert_int_equal(stats(f).noncoherent_domains, 0);
	assert_int_equal(cc_iommu(f), 1);
	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, grp(f, 2)), 0);
	assert_int_equal(stats(f).noncoherent_domains, 1);
	/* detaching the coherent one leaves the count alone */
	vfio_iommu_type1_detach_group(f->m.c, grp(f, 0));
	assert_int_equal(stats(f).noncoherent_domains, 1);
	assert_int_equal(stats(f).nr_domains, 1);
	/* release unlinks it (teardown; the release WARNs if not 0) */
}

/* a second non-coherent IOMMU, for a second non-coherent domain */
struct nc2 {
	struct smmu *hw;
	struct arm_smmu_device *smmu;
	struct device dev;
	struct endpoint *d;
};

static void nc2_create(struct fx *f, struct nc2 *n)
{
	struct arm_smmu_options o = {
		.coherent = false, .ias = 48, .range_inv = true};

	memset(n, 0, sizeof(*n));
	assert_int_equal(smmu_create(f->m.p->pm, NULL, &n->hw), 0);
	assert_int_equal(arm_smmu_device_probe(n->hw, &o, &n->smmu), 0);
	snprintf(n->dev.name, sizeof(n->dev.name), "nc2");
	n->dev.sid = 5;
	assert_int_equal(
		iommu_probe_device(&n->dev, arm_smmu_iommu(n->smmu), 0), 0);
	assert_int_equal(endpoint_create(n->hw, 5, 0, 0, &n->d), 0);
}

static void nc2_destroy(struct fx *f, struct nc2 *n)
{
	vfio_iommu_type1_detach_group(f->m.c, iommu_group_get(&n->dev));
	endpoint_destroy(n->d);
	iommu_release_device(&n->dev);
	arm_smmu_device_remove(n->smmu);
	smmu_destroy(n->hw);
}

/* E06, E07, E08: replay flushes into the first non-coherent domain only,
 * and a coherent domain never clears the flag */
static void test_e06_e07_e08_replay(void **state)
{
	struct fx *f = *state;
	char *va = region(f, 16 * PG, 0);
	struct trace_log *t = calloc(1, sizeof(*t));
	struct iommu_domain *d;
	struct nc2 n2;
	char buf[32];
	uint64_t bytes;

	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, grp(f, 0)), 0);
	assert_int_equal(map_dma(f->m.c, IOVA, va, 16 * PG, RW), 0);
	assert_int_equal(stats(f).dma_flush_required, 0);
	/* written after the coherent mapping: only in the CPU caches */
	strcpy(va + 3 * PG, "after the first map");
	/* E06 */
	vfio_iommu_type1_set_trace(f->m.c, trace_rec, t);
	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, grp(f, 2)), 0);
	vfio_iommu_type1_set_trace(f->m.c, NULL, NULL);
	d = vfio_iommu_type1_group_domain(f->m.c, grp(f, 2));
	assert_pin_flush_map(t, d);
	assert_int_equal(trace_count(t, VFIO_TRACE_PIN), 0); /* no re-pin */
	assert_int_equal(stats(f).dma_flush_required, 1);
	assert_int_equal(stats(f).cache_flush_bytes, 2 * PG + 16 * PG);
	nc_read(f, d, IOVA + 3 * PG, buf, sizeof(buf));
	assert_string_equal(buf, "after the first map");
	/* E07: a second non-coherent domain: mapped without a new flush of
	 * the dma (only its own fgsp probe pages) */
	nc2_create(f, &n2);
	bytes = stats(f).cache_flush_bytes;
	t->n = 0;
	vfio_iommu_type1_set_trace(f->m.c, trace_rec, t);
	assert_int_equal(
		vfio_iommu_type1_attach_group(f->m.c, iommu_group_get(&n2.dev)),
		0);
	vfio_iommu_type1_set_trace(f->m.c, NULL, NULL);
	assert_int_equal(stats(f).nr_domains, 3);
	assert_int_equal(stats(f).noncoherent_domains, 2);
	assert_int_equal(stats(f).cache_flush_bytes, bytes + 2 * PG);
	assert_int_equal(trace_count(t, VFIO_TRACE_FLUSH), 1);
	assert_int_equal(t->ev[0].op, VFIO_TRACE_FLUSH); /* fgsp */
	assert_int_equal(t->ev[0].len, 2 * PG);
	assert_true(trace_count(t, VFIO_TRACE_MAP) > 0);
	assert_int_equal(endpoint_dma_write(n2.d, IOVA + 3 * PG, "n2", 3), 0);
	assert_string_equal(va + 3 * PG, "n2");
	/* E08: a coherent domain after a non-coherent one */
	vfio_iommu_type1_detach_group(f->m.c, grp(f, 0));
	assert_int_equal(stats(f).dma_flush_required, 1);
	bytes = stats(f).cache_flush_bytes;
	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, grp(f, 1)), 0);
	assert_int_equal(stats(f).dma_flush_required, 1);
	assert_int_equal(stats(f).cache_flush_bytes, bytes);
	/* detaching the non-coherent ones keeps the flag: the pages were
	 * exposed and are written back when unpinned */
	nc2_destroy(f, &n2);
	vfio_iommu_type1_detach_group(f->m.c, grp(f, 2));
	assert_int_equal(stats(f).noncoherent_domains, 0);
	assert_int_equal(stats(f).dma_flush_required, 1);
	bytes = stats(f).cache_flush_bytes;
	assert_int_equal(unmap_dma(f->m.c, IOVA, 16 * PG, 0, NULL), 0);
	assert_int_equal(stats(f).cache_flush_bytes, bytes + 16 * PG);
	free(t);
}

/* E09: replay into a non-coherent domain fails: what it pinned is flushed
 * and unpinned, the flags it set are cleared, nothing else changes */
static void test_e09_replay_unwind(void **state)
{
	struct fx *f = *state;
	char *va = region(f, 64 * PG, 0);
	struct trace_log *t = calloc(1, sizeof(*t));
	static char token;
	int n, ret, unwinds = 0;

	/* dma A: pinned for a coherent domain; dma B: not pinned (an
	 * emulated group only: D01) — both kinds go through replay */
	assert_int_equal(vfio_iommu_type1_attach_emulated_group(
				 f->m.c, (struct iommu_group *)&token),
			 0);
	assert_int_equal(map_dma(f->m.c, IOVA, va, 32 * PG, RW), 0);
	assert_int_equal(
		map_dma(f->m.c, IOVA + 32 * PG, va + 32 * PG, 32 * PG, RW), 0);
	vfio_iommu_type1_set_trace(f->m.c, trace_rec, t);
	for (n = 1;; n++) {
		t->n = 0;
		uiommu_fail_nth(n);
		ret = vfio_iommu_type1_attach_group(f->m.c, grp(f, 2));
		if (!uiommu_fail_fired())
			break;
		assert_true(ret < 0);
		assert_int_equal(stats(f).nr_domains, 0);
		assert_int_equal(stats(f).noncoherent_domains, 0);
		assert_int_equal(stats(f).dma_flush_required, 0);
		assert_int_equal(pin_refs(f), 0);
		assert_int_equal(mm_locked_vm(f->m.mm), 0);
		if (trace_count(t, VFIO_TRACE_UNPIN)) {
			assert_unmap_flush_unpin(t);
			unwinds++;
		}
	}
	uiommu_fail_nth(0);
	assert_int_equal(ret, 0);
	assert_true(unwinds > 0);
	assert_int_equal(stats(f).dma_flush_required, 2);
	vfio_iommu_type1_detach_group(f->m.c, grp(f, 2));
	assert_int_equal(stats(f).dma_flush_required, 0);
	/* already pinned for a coherent domain: the unwind clears the flag
	 * it set, and only that */
	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, grp(f, 0)), 0);
	assert_int_equal(stats(f).dma_flush_required, 0);
	for (n = 1;; n++) {
		uiommu_fail_nth(n);
		ret = vfio_iommu_type1_attach_group(f->m.c, grp(f, 2));
		if (!uiommu_fail_fired())
			break;
		assert_true(ret < 0);
		assert_int_equal(stats(f).noncoherent_domains, 0);
		assert_int_equal(stats(f).dma_flush_required, 0);
		assert_int_equal(pin_refs(f), 64);
	}
	uiommu_fail_nth(0);
	assert_int_equal(ret, 0);
	assert_int_equal(stats(f).dma_flush_required, 2);
	vfio_iommu_type1_set_trace(f->m.c, NULL, NULL);
	vfio_iommu_type1_detach_group(f->m.c, (struct iommu_group *)&token);
	free(t);
}

/* E11: the fgsp probe pages are flushed before their mapping in a
 * non-coherent domain, never after the unmap; not at all if coherent */
static void test_e11_fgsp_probe(void **state)
{
	struct fx *f = *state;
	struct cache_stats c0 = cstats(f), c1;

	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, grp(f, 0)), 0);
	assert_int_equal(stats(f).cache_flushes, 0);
	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, grp(f, 2)), 0);
	assert_int_equal(stats(f).cache_flushes, 1);
	assert_int_equal(stats(f).cache_flush_bytes, 2 * PG);
	c1 = cstats(f);
	assert_int_equal(c1.flushes - c0.flushes, 1);
	assert_int_equal(c1.flush_bytes - c0.flush_bytes, 2 * PG);
	/* the probe left no mapping behind */
	assert_int_equal(stats(f).nr_dma, 0);
	assert_int_equal(endpoint_dma_write(f->hw[2], 0, "x", 1), -EFAULT);
	vfio_iommu_type1_detach_group(f->m.c, grp(f, 2));
	assert_int_equal(stats(f).cache_flushes, 1);
}

/* ---- pinning drivers (seed 002): G02..G09 beyond the tests above --------- */

struct dev_drv {
	struct vfio_iommu_device vdev;
	struct fx *f;
	unsigned int calls;
	uint64_t seen_pinned; /* what it could query from its callback */
};

static void dev_drv_unmap(struct vfio_iommu_device *vdev, uint64_t iova,
			  uint64_t length, void *priv)
{
	struct dev_drv *d = priv;

	(void)iova;
	(void)length;
	d->calls++;
	/* G06: the container lock is not held here */
	d->seen_pinned = vfio_iommu_type1_device_pinned(d->f->m.c, vdev);
	(void)stats(d->f);
}

static const struct vfio_iommu_device_ops dev_drv_ops = {
	.dma_unmap = dev_drv_unmap,
};

static void dev_drv_init(struct dev_drv *d, struct fx *f, const char *name)
{
	memset(d, 0, sizeof(*d));
	d->vdev.ops = &dev_drv_ops;
	d->vdev.priv = d;
	d->vdev.name = name;
	d->f = f;
	assert_int_equal(vfio_iommu_type1_register_device(f->m.c, &d->vdev), 0);
}

static int dpin(struct dev_drv *d, struct iommu_group *g, uint64_t iova)
{
	phys_addr_t pa;

	return vfio_iommu_type1_device_pin_pages(d->f->m.c, &d->vdev, g, iova,
						 1, IOMMU_READ, &pa);
}

static int dunpin(struct dev_drv *d, uint64_t iova)
{
	return vfio_iommu_type1_device_unpin_pages(d->f->m.c, &d->vdev, iova,
						   1);
}

/* G04, G05, G07: per-device references */
static void test_g04_g05_g07_references(void **state)
{
	struct fx *f = *state;
	char *va = region(f, 16 * PG, 0);
	static char token;
	struct iommu_group *g = (struct iommu_group *)&token;
	struct dev_drv a, b;
	uint64_t refs;

	/* no IOMMU domain: driver pins are what is charged */
	assert_int_equal(vfio_iommu_type1_attach_emulated_group(f->m.c, g), 0);
	assert_int_equal(map_dma(f->m.c, IOVA, va, 16 * PG, RW), 0);
	dev_drv_init(&a, f, "mdev-a");
	dev_drv_init(&b, f, "mdev-b");
	/* G04: unpinning an IOVA never pinned changes nothing */
	refs = pin_refs(f);
	assert_int_equal(dunpin(&a, IOVA + 2 * PG), 1);
	assert_int_equal(vfio_iommu_type1_unpin_pages(f->m.c, IOVA + 2 * PG, 1),
			 1);
	assert_int_equal(pin_refs(f), refs);
	assert_int_equal(stats(f).external_pins, 0);
	/* G05: two devices, one page, one reference each */
	assert_int_equal(dpin(&a, g, IOVA + 4 * PG), 1);
	assert_int_equal(dpin(&b, g, IOVA + 4 * PG), 1);
	assert_int_equal(stats(f).external_pins, 1);
	assert_int_equal(mm_locked_vm(f->m.mm), 1);
	assert_int_equal(pin_refs(f), refs + 1);
	assert_int_equal(vfio_iommu_type1_device_pinned(f->m.c, &a.vdev), 1);
	assert_int_equal(vfio_iommu_type1_device_pinned(f->m.c, &b.vdev), 1);
	/* a unpins: b keeps it */
	assert_int_equal(dunpin(&a, IOVA + 4 * PG), 1);
	assert_int_equal(stats(f).external_pins, 1);
	assert_int_equal(vfio_iommu_type1_device_pinned(f->m.c, &b.vdev), 1);
	/* a again, and the anonymous API: neither holds it, nothing moves
	 * (the ap bug cannot take b's pin away) */
	assert_int_equal(dunpin(&a, IOVA + 4 * PG), 1);
	assert_int_equal(vfio_iommu_type1_unpin_pages(f->m.c, IOVA + 4 * PG, 1),
			 1);
	assert_int_equal(stats(f).external_pins, 1);
	assert_int_equal(mm_locked_vm(f->m.mm), 1);
	/* one device twice: two references */
	assert_int_equal(dpin(&b, g, IOVA + 4 * PG), 1);
	assert_int_equal(vfio_iommu_type1_device_pinned(f->m.c, &b.vdev), 2);
	assert_int_equal(dunpin(&b, IOVA + 4 * PG), 1);
	assert_int_equal(stats(f).external_pins, 1);
	/* G07: unpin takes the IOVA; a gfn names nothing mapped */
	assert_int_equal(dunpin(&b, (IOVA + 4 * PG) >> 12), -EINVAL);
	assert_int_equal(stats(f).external_pins, 1);
	assert_int_equal(dunpin(&b, IOVA + 4 * PG), 1);
	assert_int_equal(stats(f).external_pins, 0);
	assert_int_equal(pin_refs(f), refs);
	assert_int_equal(mm_locked_vm(f->m.mm), 0);
	/* unregistered devices cannot pin; unregistering drops pins */
	assert_int_equal(dpin(&a, g, IOVA), 1);
	vfio_iommu_type1_unregister_device(f->m.c, &a.vdev);
	assert_int_equal(stats(f).external_pins, 0);
	assert_int_equal(mm_locked_vm(f->m.mm), 0);
	assert_int_equal(dpin(&a, g, IOVA), -EINVAL);
	vfio_iommu_type1_unregister_device(f->m.c, &b.vdev);
	vfio_iommu_type1_detach_group(f->m.c, g);
}

/* G01, G06, G09 with device pins; G03: the device is named */
static void test_g03_g06_g09_busy_names_device(void **state)
{
	struct fx *f = *state;
	char *va = region(f, 16 * PG, 0);
	struct dev_drv a, b;
	uint64_t done = 0;
	struct vfio_iommu_type1_stats st;

	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, grp(f, 0)), 0);
	assert_int_equal(map_dma(f->m.c, IOVA, va, 16 * PG, RW), 0);
	dev_drv_init(&a, f, "stubborn-mdev");
	dev_drv_init(&b, f, "bystander");
	assert_int_equal(dpin(&a, grp(f, 0), IOVA + 9 * PG), 1);
	/* neither driver unpins: the unmap fails after bounded retries */
	assert_int_equal(unmap_dma(f->m.c, IOVA, 16 * PG, 0, &done), -EBUSY);
	st = stats(f);
	assert_int_equal(st.unmap_busy, 1);
	assert_int_equal(st.unmap_retries, 10);
	assert_int_equal(a.calls, 11);
	assert_int_equal(b.calls, 11);
	assert_int_equal(st.unmap_notify_calls, 22);
	assert_string_equal(st.busy_device, "stubborn-mdev");
	/* G06: from the callback, the container answered */
	assert_int_equal(a.seen_pinned, 1);
	assert_int_equal(b.seen_pinned, 0);
	/* nothing lost: mapping and pin intact, nothing leaked */
	assert_int_equal(st.nr_dma, 1);
	assert_int_equal(st.external_pins, 1);
	assert_int_equal(mm_locked_vm(f->m.mm), 16);
	/* G09: once the pins go the unmap completes with an empty list */
	assert_int_equal(dunpin(&a, IOVA + 9 * PG), 1);
	assert_int_equal(unmap_dma(f->m.c, IOVA, 16 * PG, 0, &done), 0);
	assert_int_equal(stats(f).pinned_on_remove, 0);
	assert_int_equal(pin_refs(f), 0);
	assert_int_equal(mm_locked_vm(f->m.mm), 0);
	vfio_iommu_type1_unregister_device(f->m.c, &a.vdev);
	vfio_iommu_type1_unregister_device(f->m.c, &b.vdev);
}

struct dpin_sweep {
	struct fx *f;
	struct dev_drv *a;
	struct iommu_group *g;
	uint64_t refs, locked;
};

static int op_dpin(void *ctx)
{
	struct dpin_sweep *s = ctx;
	phys_addr_t pa[8];
	int ret = vfio_iommu_type1_device_pin_pages(
		s->f->m.c, &s->a->vdev, s->g, IOVA, 8, IOMMU_READ, pa);

	return ret < 0 ? ret : 0;
}

static void undo_dpin(void *ctx)
{
	struct dpin_sweep *s = ctx;

	assert_int_equal(vfio_iommu_type1_device_unpin_pages(
				 s->f->m.c, &s->a->vdev, IOVA, 8),
			 8);
}

static void check_dpin(void *ctx)
{
	struct dpin_sweep *s = ctx;

	assert_int_equal(vfio_iommu_type1_device_pinned(s->f->m.c, &s->a->vdev),
			 2);
	assert_int_equal(pin_refs(s->f), s->refs);
	assert_int_equal(mm_locked_vm(s->f->m.mm), s->locked);
}

/* fail-Nth over device pins, some pages already held by another device */
static void test_fail_sweep_device_pin(void **state)
{
	struct fx *f = *state;
	char *va = region(f, 16 * PG, 0);
	static char token;
	struct dev_drv a, b;
	struct dpin_sweep s = {
		.f = f, .a = &a, .g = (struct iommu_group *)&token};

	assert_int_equal(vfio_iommu_type1_attach_emulated_group(f->m.c, s.g),
			 0);
	assert_int_equal(map_dma(f->m.c, IOVA, va, 16 * PG, RW), 0);
	dev_drv_init(&a, f, "a");
	dev_drv_init(&b, f, "b");
	assert_int_equal(dpin(&b, s.g, IOVA + 2 * PG), 1);
	assert_int_equal(dpin(&a, s.g, IOVA + 3 * PG), 1);
	assert_int_equal(dpin(&a, s.g, IOVA + 20 * PG), -EINVAL);
	assert_int_equal(dpin(&a, s.g, IOVA + 5 * PG), 1);
	assert_int_equal(dunpin(&a, IOVA + 5 * PG), 1);
	assert_int_equal(dpin(&a, s.g, IOVA + 5 * PG), 1);
	s.refs = pin_refs(f);
	s.locked = mm_locked_vm(f->m.mm);
	assert_true(test_fail_sweep(op_dpin, undo_dpin, check_dpin, &s, 0) > 0);
	vfio_iommu_type1_unregister_device(f->m.c, &a.vdev);
	vfio_iommu_type1_unregister_device(f->m.c, &b.vdev);
	assert_int_equal(stats(f).external_pins, 0);
	assert_int_equal(mm_locked_vm(f->m.mm), 0);
	vfio_iommu_type1_detach_group(f->m.c, s.g);
}

/* ---- I/O page faults (seed 001): F01..F26, F34..F37 ------------------------------------ */

/*
 * The IOPF fixture: fx plus two stall-capable SVA accelerators, sva0 on
 * SMMU A (joins the domain of dev0/dev1's SMMU) and sva1 on SMMU B (a
 * domain of its own).
 */
struct io {
	struct fx *f;
	struct platform pb;
	struct sva_dev *s[2];
};

static int setup_io_common(void **state, bool threaded)
{
	struct io *io = calloc(1, sizeof(*io));

	fx_threaded = threaded;
	io->f = fx_create(VFIO_TYPE1v2_IOMMU);
	fx_threaded = false;
	io->pb = (struct platform){io->f->m.p->pm, io->f->m.hw2, io->f->m.smmu2,
				   arm_smmu_iommu(io->f->m.smmu2)};
	assert_int_equal(sva_create(io->f->m.p, "sva0", 5, 0, &io->s[0]), 0);
	assert_int_equal(sva_create(&io->pb, "sva1", 6, 0, &io->s[1]), 0);
	*state = io;
	return 0;
}

static int setup_io(void **state)
{
	return setup_io_common(state, false);
}

static int setup_io_threaded(void **state)
{
	return setup_io_common(state, true);
}

static struct iommu_group *sgrp(struct io *io, int i);
static int swrite(struct io *io, int i, uint64_t iova, uint32_t v);

static int drain_answer(struct iommu_fault *fault, void *data)
{
	struct iommu_page_response r = {.grpid = fault->prm.grpid,
					.code = IOMMU_PAGE_RESP_INVALID};

	return iommu_page_response(data, &r);
}

/*
 * With the threaded SMMU, events of accesses that failed (fire and forget)
 * may still be in the interrupt thread when the test ends.  A stall is
 * answered only after everything queued before it: one round trip drains
 * the queue before devices and driver go.
 */
static void drain_evtq(struct io *io)
{
	struct device *dev = sva_device(io->s[0]);
	struct iommu_domain *d = iommu_domain_alloc(dev);
	uint32_t v = 0;

	assert_non_null(d);
	assert_int_equal(iommu_attach_group(d, sgrp(io, 0)), 0);
	assert_int_equal(iommu_dev_enable_feature(dev, IOMMU_DEV_FEAT_IOPF), 0);
	assert_int_equal(iommu_register_device_fault_handler(
				 dev, drain_answer, FAULT_REPORT_FLAT, dev),
			 0);
	assert_int_equal(swrite(io, 0, IOVA, v), -EFAULT);
	assert_int_equal(iommu_unregister_device_fault_handler(dev), 0);
	assert_int_equal(iommu_dev_disable_feature(dev, IOMMU_DEV_FEAT_IOPF),
			 0);
	iommu_detach_group(d, sgrp(io, 0));
	iommu_domain_free(d);
}

static int teardown_io(void **state)
{
	struct io *io = *state;
	struct fx *f = io->f;

	vfio_iommu_type1_release(f->m.c);
	drain_evtq(io);
	f->m.c = NULL;
	sva_destroy(io->s[0]);
	sva_destroy(io->s[1]);
	*state = f;
	free(io);
	return teardown(state);
}

static struct iommu_group *sgrp(struct io *io, int i)
{
	return iommu_group_get(sva_device(io->s[i]));
}

static long enable_iopf(struct vfio_iommu *c)
{
	return vfio_iommu_type1_ioctl(c, VFIO_IOMMU_ENABLE_IOPF, 0);
}

static int swrite(struct io *io, int i, uint64_t iova, uint32_t v)
{
	return endpoint_dma_write(sva_hw(io->s[i]), iova, &v, sizeof(v));
}

static int sread(struct io *io, int i, uint64_t iova, uint32_t *v)
{
	return endpoint_dma_read(sva_hw(io->s[i]), iova, v, sizeof(*v));
}

static uint64_t stalls(struct io *io, int i)
{
	struct smmu_counters c;
	struct smmu *hw = i ? io->f->m.hw2 : io->f->m.p->hw;

	smmu_stream_counters_read(hw, i ? 6 : 5, &c);
	return c.stalls;
}

static uint64_t stale_dma(struct io *io)
{
	struct smmu_counters a, b;

	smmu_counters_read(io->f->m.p->hw, &a);
	smmu_counters_read(io->f->m.hw2, &b);
	return a.stale_dma + b.stale_dma;
}

static struct iommu_domain *sdom(struct io *io, int i)
{
	return vfio_iommu_type1_group_domain(io->f->m.c, sgrp(io, i));
}

/* A synthetic page request to the device's handler (as the SMMU sends). */
static int report_pr(struct io *io, int i, uint64_t addr, bool write)
{
	struct iommu_fault flt = {.type = IOMMU_FAULT_PAGE_REQ};

	flt.prm.flags = IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE;
	flt.prm.grpid = 0x7ff;
	flt.prm.addr = addr;
	flt.prm.perm = write ? IOMMU_FAULT_PERM_WRITE : IOMMU_FAULT_PERM_READ;
	return iommu_report_device_fault(sva_device(io->s[i]), &flt);
}

static void assert_iopf_clean(struct io *io)
{
	assert_int_equal(vfio_iommu_type1_iopf_check(io->f->m.c, stderr), 0);
	/* no DMA reached a frame freed or reused since its translation */
	assert_int_equal(stale_dma(io), 0);
}

static void test_f01_f05_f35_enable_discovery(void **state)
{
	struct io *io = *state;
	struct fx *f = io->f;
	struct mm *other;
	union {
		struct vfio_iommu_type1_info info;
		char raw[1024];
	} u;
	struct vfio_info_cap_header *h;
	struct vfio_iommu_type1_info_cap_iopf *cap = NULL;
	unsigned int flags;

	/* F35: discoverable without trying, with or without a container */
	assert_int_equal(vfio_iommu_type1_ioctl(NULL, VFIO_CHECK_EXTENSION,
						VFIO_UIOMMU_TYPE1_IOPF),
			 1);
	assert_int_equal(vfio_iommu_type1_ioctl(f->m.c, VFIO_CHECK_EXTENSION,
						VFIO_UIOMMU_TYPE1_IOPF),
			 1);
	assert_int_equal(VFIO_IOMMU_ENABLE_IOPF,
			 _IO(VFIO_TYPE, VFIO_BASE + 18));
	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, sgrp(io, 0)), 0);
	for (int pass = 0; pass < 2; pass++) {
		memset(&u, 0, sizeof(u));
		u.info.argsz = sizeof(u);
		assert_int_equal(vfio_iommu_type1_ioctl(f->m.c,
							VFIO_IOMMU_GET_INFO,
							(unsigned long)&u),
				 0);
		cap = NULL;
		for (uint32_t off = u.info.cap_offset; off; off = h->next) {
			h = (void *)(u.raw + off);
			if (h->id == VFIO_IOMMU_TYPE1_INFO_CAP_IOPF)
				cap = (void *)h;
		}
		assert_non_null(cap);
		assert_int_equal(cap->header.version, 1);
		assert_int_equal(cap->premap_pages, 1);
		assert_int_equal(!!(cap->flags & VFIO_IOMMU_IOPF_INFO_ENABLED),
				 pass);
		if (pass)
			break;
		/* F01: no mm; another mm than the container's */
		assert_int_equal(
			vfio_iommu_type1_ioctl_mm(f->m.c, NULL,
						  VFIO_IOMMU_ENABLE_IOPF, 0),
			-ENODEV);
		assert_int_equal(mm_create(f->m.p->pm, &other), 0);
		assert_int_equal(
			vfio_iommu_type1_ioctl_mm(f->m.c, other,
						  VFIO_IOMMU_ENABLE_IOPF, 0),
			-EPERM);
		mm_destroy(other);
		assert_false(stats(f).iopf_enabled);
		assert_int_equal(enable_iopf(f->m.c), 0);
	}
	/* F02: the type1 handler, flat */
	assert_true(stats(f).iopf_enabled);
	assert_int_equal(stats(f).iopf_devices, 1);
	assert_int_equal(iommu_get_device_fault_handler_flags(
				 sva_device(io->s[0]), &flags),
			 0);
	assert_int_equal(flags, FAULT_REPORT_FLAT);
	/* the feature is on: enabling it again is refused */
	assert_int_equal(iommu_dev_enable_feature(sva_device(io->s[0]),
						  IOMMU_DEV_FEAT_IOPF),
			 -EBUSY);
	assert_int_equal(enable_iopf(f->m.c), -EBUSY);
	/* F05: no disable ioctl */
	assert_int_equal(vfio_iommu_type1_ioctl(
				 f->m.c, _IO(VFIO_TYPE, VFIO_BASE + 19), 0),
			 -ENOTTY);
	/* F05: release unregisters the notifier and turns the device off */
	vfio_iommu_type1_release(f->m.c);
	f->m.c = NULL;
	assert_int_equal(iommu_get_device_fault_handler_flags(
				 sva_device(io->s[0]), &flags),
			 -EINVAL);
	{
		void *va = region(f, 4 * PG, 0);

		/* the notifier is gone: a discard touches no freed state */
		assert_int_equal(mm_discard(f->m.mm, va, 4 * PG), 0);
		assert_int_equal(mm_munmap(f->m.mm, va, 4 * PG), 0);
	}
	assert_int_equal(
		vfio_iommu_type1_open(f->m.mm, VFIO_TYPE1v2_IOMMU, &f->m.c), 0);
}

struct order_log {
	enum vfio_trace_op ops[16];
	int n;
};

static void order_trace(const struct vfio_trace_event *ev, void *arg)
{
	struct order_log *l = arg;

	if (ev->op >= VFIO_TRACE_IOPF_LOOKUP_ADD && l->n < 16)
		l->ops[l->n++] = ev->op;
}

static void test_f02_f04_lookup_order(void **state)
{
	struct io *io = *state;
	struct fx *f = io->f;
	struct order_log l = {0};

	vfio_iommu_type1_set_trace(f->m.c, order_trace, &l);
	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, sgrp(io, 0)), 0);
	assert_int_equal(enable_iopf(f->m.c), 0);
	/* F04: lookup before reporting is enabled */
	assert_int_equal(l.n, 2);
	assert_int_equal(l.ops[0], VFIO_TRACE_IOPF_LOOKUP_ADD);
	assert_int_equal(l.ops[1], VFIO_TRACE_IOPF_ENABLE);
	/* a group attached later: the same order (F02) */
	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, sgrp(io, 1)), 0);
	assert_int_equal(l.n, 4);
	assert_int_equal(l.ops[2], VFIO_TRACE_IOPF_LOOKUP_ADD);
	assert_int_equal(l.ops[3], VFIO_TRACE_IOPF_ENABLE);
	assert_int_equal(stats(f).iopf_devices, 2);
	/* teardown: reporting off before the lookup goes */
	vfio_iommu_type1_detach_group(f->m.c, sgrp(io, 1));
	assert_int_equal(l.n, 6);
	assert_int_equal(l.ops[4], VFIO_TRACE_IOPF_DISABLE);
	assert_int_equal(l.ops[5], VFIO_TRACE_IOPF_LOOKUP_DEL);
	assert_int_equal(stats(f).iopf_devices, 1);
	vfio_iommu_type1_set_trace(f->m.c, NULL, NULL);
}

static int op_enable(void *ctx)
{
	struct io *io = ctx;

	return (int)enable_iopf(io->f->m.c);
}

static void check_enable_unwound(void *ctx)
{
	struct io *io = ctx;
	unsigned int flags;

	assert_false(stats(io->f).iopf_enabled);
	assert_int_equal(stats(io->f).iopf_devices, 0);
	assert_int_equal(iommu_get_device_fault_handler_flags(
				 sva_device(io->s[0]), &flags),
			 -EINVAL);
	/* still pinned and charged as before (F06 all or nothing) */
	assert_int_equal(stats(io->f).pinned_pages, 8);
	assert_int_equal(mm_locked_vm(io->f->m.mm), 8);
}

static void test_f03_f37_enable_failure_unwinds(void **state)
{
	struct io *io = *state;
	struct fx *f = io->f;
	void *va = region(f, 8 * PG, 0);
	unsigned int flags;

	/* sva0 can stall, dev0 cannot: enabling fails on dev0 */
	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, sgrp(io, 0)), 0);
	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, grp(f, 0)), 0);
	assert_int_equal(map_dma(f->m.c, IOVA, va, 8 * PG, RW), 0);
	assert_int_equal(enable_iopf(f->m.c), -ENODEV);
	check_enable_unwound(io);
	/* the device was disabled again: its feature can be enabled anew */
	assert_int_equal(iommu_dev_enable_feature(sva_device(io->s[0]),
						  IOMMU_DEV_FEAT_IOPF),
			 0);
	/* F37: the helpers report errnos (disable of a disabled feature) */
	assert_int_equal(iommu_dev_disable_feature(sva_device(io->s[0]),
						   IOMMU_DEV_FEAT_IOPF),
			 0);
	assert_int_equal(iommu_dev_disable_feature(sva_device(io->s[0]),
						   IOMMU_DEV_FEAT_IOPF),
			 -EINVAL);
	/* the notifier was unregistered: a discard changes nothing here */
	assert_int_equal(mm_discard(f->m.mm, va, PG), 0);
	assert_int_equal(stats(f).iopf_invalidations, 0);
	vfio_iommu_type1_detach_group(f->m.c, grp(f, 0));
	/* every failure point of a successful enable unwinds (F03) */
	assert_true(test_fail_sweep(op_enable, NULL, check_enable_unwound, io,
				    UIOMMU_FAIL_ALLOC) > 0);
	assert_true(stats(f).iopf_enabled);
	assert_int_equal(iommu_get_device_fault_handler_flags(
				 sva_device(io->s[0]), &flags),
			 0);
	assert_iopf_clean(io);
}

static void test_f06_enable_converts_pins(void **state)
{
	struct io *io = *state;
	struct fx *f = io->f;
	uint32_t *va = region(f, 2 * SZ_2M, MM_MAP_HUGE);
	struct iommu_domain *d;
	uint32_t v;

	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, sgrp(io, 0)), 0);
	d = sdom(io, 0);
	assert_int_equal(map_dma(f->m.c, SZ_2M, va, 2 * SZ_2M, RW), 0);
	assert_int_equal(mm_locked_vm(f->m.mm), 1024);
	assert_true(pin_refs(f) >= 1024);
	assert_int_equal(enable_iopf(f->m.c), 0);
	/* unpinned, uncharged, still mapped, marked */
	assert_int_equal(mm_locked_vm(f->m.mm), 0);
	assert_int_equal(pin_refs(f), 0);
	assert_int_equal(stats(f).pinned_pages, 0);
	assert_int_equal(stats(f).iopf_resident, 1024);
	assert_int_equal(vfio_iommu_type1_iopf_mapped(f->m.c, SZ_2M + 5 * PG),
			 1);
	test_assert_mapped(f->m.mm, d, SZ_2M, va, 2 * SZ_2M);
	va[100] = 0x1234;
	assert_int_equal(sread(io, 0, SZ_2M + 400, &v), 0);
	assert_int_equal(v, 0x1234);
	assert_int_equal(stalls(io, 0), 0);
	assert_iopf_clean(io);
	/* now the notifier owns them: a discard unmaps (splitting a block) */
	assert_int_equal(mm_discard(f->m.mm, va, PG), 0);
	assert_int_equal(vfio_iommu_type1_iopf_mapped(f->m.c, SZ_2M), 0);
	assert_int_equal(iommu_iova_to_phys(d, SZ_2M), 0);
	test_assert_mapped(f->m.mm, d, SZ_2M + PG, (char *)va + PG, 4 * PG);
	/* F21: the next access faults the user's new page in */
	assert_int_equal(swrite(io, 0, SZ_2M + 8, 0xbeef), 0);
	assert_int_equal(va[2], 0xbeef);
	assert_int_equal(stalls(io, 0), 1);
	assert_iopf_clean(io);
}

static int op_map_iopf(void *ctx)
{
	struct io *io = ctx;

	return (int)map_dma(io->f->m.c, IOVA, (void *)io->pb.smmu, 16 * PG, RW);
}

static void check_no_dma(void *ctx)
{
	struct io *io = ctx;

	assert_int_equal(stats(io->f).nr_dma, 0);
}

static void test_f07_map_pins_nothing(void **state)
{
	struct io *io = *state;
	struct fx *f = io->f;
	void *va = region(f, 16 * PG, 0);
	void *saved = io->pb.smmu;

	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, sgrp(io, 0)), 0);
	assert_int_equal(enable_iopf(f->m.c), 0);
	/* every failure of MAP_DMA leaves no dma (F07: bitmap -ENOMEM) */
	io->pb.smmu = va;
	assert_true(test_fail_sweep(op_map_iopf, NULL, check_no_dma, io, 0) >
		    0);
	io->pb.smmu = saved;
	assert_int_equal(stats(f).nr_dma, 1);
	assert_int_equal(mm_locked_vm(f->m.mm), 0);
	assert_int_equal(pin_refs(f), 0);
	test_assert_unmapped(sdom(io, 0), IOVA, 16 * PG);
	for (int i = 0; i < 16; i++)
		assert_int_equal(
			vfio_iommu_type1_iopf_mapped(f->m.c, IOVA + i * PG), 0);
	assert_int_equal(vfio_iommu_type1_iopf_mapped(f->m.c, IOVA + 16 * PG),
			 -ENOENT);
	assert_iopf_clean(io);
}

static void test_f08_to_f13_fault_handler(void **state)
{
	struct io *io = *state;
	struct fx *f = io->f;
	uint32_t *va = region(f, 16 * PG, 0), v;
	struct iommu_domain *d;

	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, sgrp(io, 0)), 0);
	d = sdom(io, 0);
	assert_int_equal(enable_iopf(f->m.c), 0);
	assert_int_equal(map_dma(f->m.c, IOVA, va, 16 * PG, RW), 0);
	/* F09: pinned, mapped with prot, bit set, pin dropped, SUCCESS */
	assert_int_equal(swrite(io, 0, IOVA + 3 * PG + 16, 0xcafe), 0);
	assert_int_equal(va[3 * PG / 4 + 4], 0xcafe);
	assert_int_equal(stalls(io, 0), 1);
	test_assert_mapped(f->m.mm, d, IOVA + 3 * PG, (char *)va + 3 * PG, PG);
	assert_int_equal(vfio_iommu_type1_iopf_mapped(f->m.c, IOVA + 3 * PG),
			 1);
	assert_int_equal(vfio_iommu_type1_iopf_mapped(f->m.c, IOVA + 4 * PG),
			 0);
	assert_int_equal(pin_refs(f), 0);
	/* F13: not charged */
	assert_int_equal(mm_locked_vm(f->m.mm), 0);
	assert_int_equal(stats(f).locked_vm, 0);
	/* mapped now: no second fault */
	assert_int_equal(sread(io, 0, IOVA + 3 * PG + 16, &v), 0);
	assert_int_equal(v, 0xcafe);
	assert_int_equal(stalls(io, 0), 1);
	/* F10: a duplicate request is answered without a new mapping */
	assert_int_equal(report_pr(io, 0, IOVA + 3 * PG, true), 0);
	assert_int_equal(stats(f).iopf_already, 1);
	assert_int_equal(stats(f).iopf_mapped_pages, 1);
	/* F11: an unaligned address maps its page */
	assert_int_equal(report_pr(io, 0, IOVA + 7 * PG + 0x123, false), 0);
	test_assert_mapped(f->m.mm, d, IOVA + 7 * PG, (char *)va + 7 * PG, PG);
	/* F08: outside every mapping: INVALID, the DMA fails */
	assert_int_equal(swrite(io, 0, IOVA + 32 * PG, 1), -EFAULT);
	assert_int_equal(stats(f).iopf_invalid, 1);
	assert_int_equal(iommu_iova_to_phys(d, IOVA + 32 * PG), 0);
	assert_int_equal(pin_refs(f), 0);
	assert_iopf_clean(io);
}

static void test_f08_prot_enforced(void **state)
{
	struct io *io = *state;
	struct fx *f = io->f;
	uint32_t *va = region(f, 4 * PG, 0), v;

	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, sgrp(io, 0)), 0);
	assert_int_equal(enable_iopf(f->m.c), 0);
	assert_int_equal(
		map_dma(f->m.c, IOVA, va, 4 * PG, VFIO_DMA_MAP_FLAG_READ), 0);
	/* a write through a read-only mapping is refused, a read works */
	assert_int_equal(swrite(io, 0, IOVA, 1), -EFAULT);
	assert_int_equal(vfio_iommu_type1_iopf_mapped(f->m.c, IOVA), 0);
	assert_int_equal(sread(io, 0, IOVA, &v), 0);
	assert_int_equal(vfio_iommu_type1_iopf_mapped(f->m.c, IOVA), 1);
	assert_int_equal(swrite(io, 0, IOVA, 1), -EFAULT);
	assert_iopf_clean(io);
}

static void test_f12_failures_answer_invalid(void **state)
{
	struct io *io = *state;
	struct fx *f = io->f;
	char *va = region(f, 16 * PG, 0);
	unsigned int n;

	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, sgrp(io, 0)), 0);
	assert_int_equal(enable_iopf(f->m.c), 0);
	assert_int_equal(map_dma(f->m.c, IOVA, va, 16 * PG, RW), 0);
	/* the user's memory is gone: the pin fails, INVALID */
	assert_int_equal(mm_munmap(f->m.mm, va + 8 * PG, 8 * PG), 0);
	assert_int_equal(swrite(io, 0, IOVA + 9 * PG, 1), -EFAULT);
	assert_int_equal(vfio_iommu_type1_iopf_mapped(f->m.c, IOVA + 9 * PG),
			 0);
	assert_int_equal(pin_refs(f), 0);
	/* every injected failure on the way (event, pin, page table) gives a
	 * failed DMA with nothing mapped and nothing pinned */
	for (n = 1;; n++) {
		int ret;

		uiommu_fail_nth(n);
		ret = swrite(io, 0, IOVA + 2 * SZ_2M, 1);
		(void)ret;
		ret = swrite(io, 0, IOVA, 7);
		if (!uiommu_fail_fired()) {
			uiommu_fail_nth(0);
			assert_int_equal(ret, 0);
			break;
		}
		assert_int_equal(pin_refs(f), 0);
		if (ret)
			assert_int_equal(
				vfio_iommu_type1_iopf_mapped(f->m.c, IOVA), 0);
		assert_int_equal(vfio_iommu_type1_iopf_check(f->m.c, stderr),
				 0);
		unmap_dma(f->m.c, IOVA, 16 * PG, 0, NULL);
		assert_int_equal(map_dma(f->m.c, IOVA, va, 8 * PG, RW), 0);
	}
	assert_true(n > 1);
	assert_int_equal(va[0], 7);
	assert_iopf_clean(io);
}

static void test_f14_unrecoverable_not_consumed(void **state)
{
	struct io *io = *state;
	struct fx *f = io->f;
	struct iommu_fault flt = {.type = IOMMU_FAULT_DMA_UNRECOV};

	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, sgrp(io, 0)), 0);
	assert_int_equal(enable_iopf(f->m.c), 0);
	flt.event.addr = IOVA;
	assert_int_equal(iommu_report_device_fault(sva_device(io->s[0]), &flt),
			 -EOPNOTSUPP);
	assert_int_equal(stats(f).iopf_faults, 0);
}

static void test_f15_f16_page_granular_premap(void **state)
{
	struct io *io = *state;
	struct fx *f = io->f;
	char *va = region(f, 2 * SZ_2M, MM_MAP_HUGE);
	struct iommu_domain *d;
	uint64_t np = SZ_2M / PG;

	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, sgrp(io, 0)), 0);
	d = sdom(io, 0);
	assert_true(d->pgsize_bitmap & SZ_2M); /* superpages possible */
	assert_int_equal(enable_iopf(f->m.c), 0);
	assert_int_equal(vfio_iommu_type1_set_iopf_premap(f->m.c, 0), -EINVAL);
	assert_int_equal(vfio_iommu_type1_set_iopf_premap(f->m.c, 513),
			 -EINVAL);
	assert_int_equal(stats(f).iopf_premap, 1);
	assert_int_equal(map_dma(f->m.c, SZ_2M, va, 2 * SZ_2M, RW), 0);
	/* F16 with 512 (the posted value): one fault maps a whole aligned
	 * 2 MiB of physically contiguous pages ... */
	assert_int_equal(vfio_iommu_type1_set_iopf_premap(f->m.c, 512), 0);
	assert_int_equal(swrite(io, 0, SZ_2M, 1), 0);
	assert_int_equal(stats(f).iopf_mapped_pages, np);
	test_assert_mapped(f->m.mm, d, SZ_2M, va, SZ_2M);
	/* F15: ... as pages, so one of them can go alone */
	assert_int_equal(mm_discard(f->m.mm, va + 5 * PG, PG), 0);
	assert_int_equal(iommu_iova_to_phys(d, SZ_2M + 5 * PG), 0);
	test_assert_mapped(f->m.mm, d, SZ_2M + 4 * PG, va + 4 * PG, PG);
	test_assert_mapped(f->m.mm, d, SZ_2M + 6 * PG, va + 6 * PG, PG);
	/* premap 4: stops before the first mapped page ... */
	assert_int_equal(vfio_iommu_type1_set_iopf_premap(f->m.c, 4), 0);
	assert_int_equal(mm_discard(f->m.mm, va + 10 * PG, 4 * PG), 0);
	assert_int_equal(swrite(io, 0, SZ_2M + 12 * PG, 1), 0);
	assert_int_equal(vfio_iommu_type1_iopf_mapped(f->m.c, SZ_2M + 12 * PG),
			 1);
	assert_int_equal(vfio_iommu_type1_iopf_mapped(f->m.c, SZ_2M + 13 * PG),
			 1);
	assert_int_equal(vfio_iommu_type1_iopf_mapped(f->m.c, SZ_2M + 10 * PG),
			 0);
	assert_int_equal(stats(f).iopf_mapped_pages, np + 2);
	/* ... and at the end of the mapping */
	assert_int_equal(swrite(io, 0, 3 * SZ_2M - 2 * PG, 1), 0);
	assert_int_equal(stats(f).iopf_mapped_pages, np + 4);
	assert_int_equal(
		vfio_iommu_type1_iopf_mapped(f->m.c, 3 * SZ_2M - 3 * PG), 0);
	assert_iopf_clean(io);
}

static void test_f17_f18_f21_notifier(void **state)
{
	struct io *io = *state;
	struct fx *f = io->f;
	uint32_t *va = region(f, 16 * PG, 0), v;
	char *other = region(f, 4 * PG, 0);
	struct vfio_iommu_type1_stats st;
	phys_addr_t old;

	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, sgrp(io, 0)), 0);
	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, sgrp(io, 1)), 0);
	assert_int_equal(stats(f).nr_domains, 2);
	assert_int_equal(enable_iopf(f->m.c), 0);
	assert_int_equal(map_dma(f->m.c, IOVA, va, 16 * PG, RW), 0);
	for (int i = 0; i < 8; i++)
		assert_int_equal(swrite(io, 0, IOVA + i * PG, 100 + i), 0);
	/* SMMU B is not coherent: check where it goes, not what it reads */
	assert_int_equal(sread(io, 1, IOVA + 2 * PG, &v), 0);
	test_assert_mapped(f->m.mm, sdom(io, 1), IOVA, va, 8 * PG);
	assert_true(test_iotlb_entries_in(f->m.hw2, IOVA, 8 * PG) > 0);
	old = test_user_pa(f->m.mm, va + PG / 4);
	/* F17: an unaligned overlap of pages 1..2 unmaps them everywhere,
	 * IOTLBs synced, bits cleared, before the discard returns */
	assert_int_equal(mm_discard(f->m.mm, (char *)va + PG, 2 * PG), 0);
	test_assert_unmapped(sdom(io, 0), IOVA + PG, 2 * PG);
	test_assert_unmapped(sdom(io, 1), IOVA + PG, 2 * PG);
	assert_int_equal(test_iotlb_entries_in(f->m.p->hw, IOVA + PG, 2 * PG),
			 0);
	assert_int_equal(test_iotlb_entries_in(f->m.hw2, IOVA + PG, 2 * PG), 0);
	assert_int_equal(vfio_iommu_type1_iopf_mapped(f->m.c, IOVA + PG), 0);
	assert_int_equal(vfio_iommu_type1_iopf_mapped(f->m.c, IOVA + 3 * PG),
			 1);
	assert_int_equal(stats(f).iopf_invalidations, 1);
	/* F18: a range no mapping covers: no IOMMU work */
	st = stats(f);
	assert_int_equal(mm_discard(f->m.mm, other, 4 * PG), 0);
	assert_int_equal(stats(f).iotlb_syncs, st.iotlb_syncs);
	assert_int_equal(stats(f).iopf_invalidations, st.iopf_invalidations);
	/* F21: the device's next access maps the user's current page */
	assert_int_equal(sread(io, 1, IOVA + PG, &v), 0);
	assert_int_equal(swrite(io, 0, IOVA + PG, 0x55), 0);
	assert_int_equal(va[PG / 4], 0x55);
	(void)old;
	test_assert_mapped(f->m.mm, sdom(io, 0), IOVA + PG, (char *)va + PG,
			   PG);
	test_assert_mapped(f->m.mm, sdom(io, 1), IOVA + PG, (char *)va + PG,
			   PG);
	/* munmap too */
	assert_int_equal(mm_munmap(f->m.mm, (char *)va + 4 * PG, 4 * PG), 0);
	test_assert_unmapped(sdom(io, 0), IOVA + 4 * PG, 4 * PG);
	assert_iopf_clean(io);
}

static void test_f19_f20_invalidation_as_unmapped(void **state)
{
	struct io *io = *state;
	struct fx *f = io->f;
	char *va = region(f, 16 * PG, 0);
	char *hv = region(f, SZ_2M, MM_MAP_HUGE);
	struct iommu_domain *d;
	uint64_t done;
	unsigned int n;

	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, sgrp(io, 0)), 0);
	d = sdom(io, 0);
	/* a 2 MiB block mapping, converted */
	assert_int_equal(map_dma(f->m.c, SZ_2M, hv, SZ_2M, RW), 0);
	assert_int_equal(enable_iopf(f->m.c), 0);
	assert_int_equal(vfio_iommu_type1_set_iopf_premap(f->m.c, 4), 0);
	assert_int_equal(map_dma(f->m.c, IOVA, va, 16 * PG, RW), 0);
	assert_int_equal(swrite(io, 0, IOVA, 1), 0);
	/* F20: the IOMMU lost page 1 behind our back (a hole): unmap of the
	 * run stops there; the bitmap follows what was really unmapped */
	assert_int_equal(iommu_unmap(d, IOVA + PG, PG), PG);
	assert_int_equal(mm_discard(f->m.mm, va, 4 * PG), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(
			vfio_iommu_type1_iopf_mapped(f->m.c, IOVA + i * PG), 0);
	test_assert_unmapped(d, IOVA, 4 * PG);
	assert_false(stats(f).broken);
	assert_iopf_clean(io);
	/* F19's broken state: test_f19_unmappable_page_breaks_container */
	(void)hv;
	(void)done;
	(void)n;
}

/* An IOMMU whose unmap refuses: what the notifier must not survive. */
static size_t refuse_unmap(struct iommu_domain *domain, unsigned long iova,
			   size_t pgsize, size_t pgcount,
			   struct iommu_iotlb_gather *gather)
{
	return 0;
}

/* F19: when an MMU-notifier invalidation cannot take faulted pages out of
 * the IOMMU, the container is broken: every later ioctl fails with -EIO
 * and faults are answered INVALID; it is never ignored. */
static void test_f19_unmappable_page_breaks_container(void **state)
{
	struct io *io = *state;
	struct fx *f = io->f;
	char *va = region(f, 16 * PG, 0);
	const struct iommu_ops *real;
	struct iommu_ops ops;
	struct iommu_domain *d;

	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, sgrp(io, 0)), 0);
	d = sdom(io, 0);
	assert_int_equal(enable_iopf(f->m.c), 0);
	assert_int_equal(map_dma(f->m.c, IOVA, va, 16 * PG, RW), 0);
	assert_int_equal(swrite(io, 0, IOVA, 1), 0);
	assert_false(stats(f).broken);

	real = d->ops;
	ops = *real;
	ops.unmap_pages = refuse_unmap;
	d->ops = &ops;
	assert_int_equal(mm_discard(f->m.mm, va, PG), 0);
	d->ops = real;
	assert_true(stats(f).broken);
	/* broken: ioctls fail, faults are refused */
	assert_int_equal(map_dma(f->m.c, IOVA + 16 * PG, va + PG, PG, RW),
			 -EIO);
	assert_int_not_equal(swrite(io, 0, IOVA + 2 * PG, 1), 0);
}

static void test_f22_unmap_dma(void **state)
{
	struct io *io = *state;
	struct fx *f = io->f;
	char *va = region(f, 16 * PG, 0);
	uint64_t done;

	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, sgrp(io, 0)), 0);
	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, sgrp(io, 1)), 0);
	assert_int_equal(enable_iopf(f->m.c), 0);
	assert_int_equal(map_dma(f->m.c, IOVA, va, 16 * PG, RW), 0);
	for (int i = 0; i < 16; i += 2)
		assert_int_equal(swrite(io, i & 2 ? 1 : 0, IOVA + i * PG, i),
				 0);
	assert_int_equal(stats(f).iopf_resident, 8);
	assert_int_equal(unmap_dma(f->m.c, IOVA, 16 * PG, 0, &done), 0);
	assert_int_equal(done, 16 * PG);
	test_assert_unmapped(sdom(io, 0), IOVA, 16 * PG);
	test_assert_unmapped(sdom(io, 1), IOVA, 16 * PG);
	assert_int_equal(test_iotlb_entries_in(f->m.p->hw, IOVA, 16 * PG), 0);
	assert_int_equal(test_iotlb_entries_in(f->m.hw2, IOVA, 16 * PG), 0);
	assert_int_equal(stats(f).iopf_resident, 0);
	assert_int_equal(stats(f).nr_dma, 0);
	assert_int_equal(mm_locked_vm(f->m.mm), 0);
	assert_int_equal(swrite(io, 0, IOVA, 1), -EFAULT);
	assert_iopf_clean(io);
}

static void test_f23_new_domain_gets_faulted_pages(void **state)
{
	struct io *io = *state;
	struct fx *f = io->f;
	uint32_t *va = region(f, 16 * PG, 0), v;

	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, sgrp(io, 0)), 0);
	assert_int_equal(enable_iopf(f->m.c), 0);
	assert_int_equal(map_dma(f->m.c, IOVA, va, 16 * PG, RW), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(swrite(io, 0, IOVA + i * PG, 40 + i), 0);
	/* sva1 is behind another SMMU: a new domain */
	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, sgrp(io, 1)), 0);
	assert_int_equal(stats(f).nr_domains, 2);
	assert_int_equal(stats(f).iopf_devices, 2);
	test_assert_mapped(f->m.mm, sdom(io, 1), IOVA, va, 4 * PG);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(sread(io, 1, IOVA + i * PG, &v), 0);
		assert_int_equal(v, 40 + i);
	}
	assert_int_equal(stalls(io, 1), 0); /* no (endless) re-fault */
	/* a page neither has: faulted once, mapped into both */
	assert_int_equal(sread(io, 1, IOVA + 9 * PG, &v), 0);
	assert_int_equal(stalls(io, 1), 1);
	test_assert_mapped(f->m.mm, sdom(io, 0), IOVA + 9 * PG,
			   (char *)va + 9 * PG, PG);
	assert_iopf_clean(io);
	/* leaving: its domain goes, the other keeps the pages */
	vfio_iommu_type1_detach_group(f->m.c, sgrp(io, 1));
	assert_int_equal(stats(f).nr_domains, 1);
	assert_iopf_clean(io);
	vfio_iommu_type1_detach_group(f->m.c, sgrp(io, 0));
	assert_int_equal(stats(f).nr_domains, 0);
}

struct dma_thread {
	struct io *io;
	int dev;
	uint64_t iova, pages;
	_Atomic bool stop;
	_Atomic uint64_t ok, failed;
	unsigned int seed, seed0;
};

static void *dma_thread_fn(void *arg)
{
	struct dma_thread *t = arg;

	t->seed0 = t->seed;
	while (!atomic_load(&t->stop)) {
		uint64_t pg = rand_r(&t->seed) % t->pages;
		uint32_t v = (uint32_t)pg;
		/* each thread its own bytes: devices racing on one word would
		 * be the workload's race, not the stack's */
		int ret = endpoint_dma_write(sva_hw(t->io->s[t->dev]),
					     t->iova + pg * PG + 64 +
						     (t->seed0 % 32) * 8,
					     &v, sizeof(v));

		if (ret)
			atomic_fetch_add(&t->failed, 1);
		else
			atomic_fetch_add(&t->ok, 1);
	}
	return NULL;
}

static void test_f24_detach_with_faults_in_flight(void **state)
{
	struct io *io = *state;
	struct fx *f = io->f;
	char *va = region(f, 256 * PG, 0);
	struct dma_thread t = {
		.io = io, .dev = 0, .iova = IOVA, .pages = 256, .seed = 1};
	pthread_t th;

	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, sgrp(io, 0)), 0);
	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, sgrp(io, 1)), 0);
	assert_int_equal(enable_iopf(f->m.c), 0);
	assert_int_equal(map_dma(f->m.c, IOVA, va, 256 * PG, RW), 0);
	assert_int_equal(pthread_create(&th, NULL, dma_thread_fn, &t), 0);
	while (atomic_load(&t.ok) < 50)
		sched_yield();
	for (int i = 0; i < 64; i++)
		assert_int_equal(mm_discard(f->m.mm, va + (i * 4 % 256) * PG,
					    4 * PG),
				 0);
	/* the handler in flight finishes before its lookup goes */
	vfio_iommu_type1_detach_group(f->m.c, sgrp(io, 0));
	assert_int_equal(iommu_pending_page_requests(sva_device(io->s[0])), 0);
	{
		uint64_t failed = atomic_load(&t.failed);

		/* blocked now: every access fails, none waits forever */
		while (atomic_load(&t.failed) < failed + 10)
			sched_yield();
	}
	atomic_store(&t.stop, true);
	pthread_join(th, NULL);
	assert_int_equal(stats(f).iopf_devices, 1);
	assert_iopf_clean(io);
}

static void test_f25_f26_driver_pins_mapped_and_charged(void **state)
{
	struct io *io = *state;
	struct fx *f = io->f;
	uint32_t *va = region(f, 16 * PG, 0), v;
	struct pin_driver drv;
	phys_addr_t pa;

	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, sgrp(io, 0)), 0);
	assert_int_equal(enable_iopf(f->m.c), 0);
	assert_int_equal(map_dma(f->m.c, IOVA, va, 16 * PG, RW), 0);
	pin_driver_init(&drv, f->m.c);
	assert_int_equal(
		vfio_iommu_type1_pin_pages(f->m.c, sgrp(io, 0), IOVA + 2 * PG,
					   1, IOMMU_READ | IOMMU_WRITE, &pa),
		1);
	/* F25: charged; F26: mapped at once, no fault */
	assert_int_equal(mm_locked_vm(f->m.mm), 1);
	assert_int_equal(vfio_iommu_type1_iopf_mapped(f->m.c, IOVA + 2 * PG),
			 1);
	assert_int_equal(iommu_iova_to_phys(sdom(io, 0), IOVA + 2 * PG), pa);
	va[2 * PG / 4] = 77;
	assert_int_equal(sread(io, 0, IOVA + 2 * PG, &v), 0);
	assert_int_equal(v, 77);
	assert_int_equal(stalls(io, 0), 0);
	assert_iopf_clean(io);
	/* unpinned: uncharged, the mapping stays as a faulted page */
	assert_int_equal(vfio_iommu_type1_unpin_pages(f->m.c, IOVA + 2 * PG, 1),
			 1);
	assert_int_equal(mm_locked_vm(f->m.mm), 0);
	assert_int_equal(vfio_iommu_type1_iopf_mapped(f->m.c, IOVA + 2 * PG),
			 1);
	assert_iopf_clean(io);
	vfio_iommu_type1_unregister_device(f->m.c, &drv.vdev);
}

static void test_f34_dirty_by_fault_access(void **state)
{
	struct io *io = *state;
	struct fx *f = io->f;
	char *va = region(f, 16 * PG, 0);
	uint64_t map[1];
	uint32_t v;

	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, sgrp(io, 0)), 0);
	assert_int_equal(enable_iopf(f->m.c), 0);
	assert_int_equal(map_dma(f->m.c, IOVA, va, 16 * PG, RW), 0);
	assert_int_equal(swrite(io, 0, IOVA + 9 * PG, 1), 0);
	assert_int_equal(dirty_ioctl(f->m.c, VFIO_IOMMU_DIRTY_PAGES_FLAG_START),
			 0);
	/* starting unmapped what was faulted: writes must be seen */
	assert_int_equal(vfio_iommu_type1_iopf_mapped(f->m.c, IOVA + 9 * PG),
			 0);
	assert_int_equal(sread(io, 0, IOVA + 1 * PG, &v), 0); /* read */
	assert_int_equal(swrite(io, 0, IOVA + 2 * PG, 5), 0); /* write */
	memset(map, 0, sizeof(map));
	assert_int_equal(get_bitmap(f->m.c, IOVA, 16 * PG, map, sizeof(map)),
			 0);
	assert_int_equal(map[0], 1ULL << 2); /* the read page is clean */
	/* a write to the read-faulted page faults again and is seen */
	assert_int_equal(swrite(io, 0, IOVA + 1 * PG, 6), 0);
	assert_int_equal(va[PG], 6);
	memset(map, 0, sizeof(map));
	assert_int_equal(get_bitmap(f->m.c, IOVA, 16 * PG, map, sizeof(map)),
			 0);
	assert_int_equal(map[0], 1ULL << 1);
	/* the bitmap read reset page 1: the next write is seen again */
	assert_int_equal(swrite(io, 0, IOVA + 1 * PG, 7), 0);
	memset(map, 0, sizeof(map));
	assert_int_equal(get_bitmap(f->m.c, IOVA, 16 * PG, map, sizeof(map)),
			 0);
	assert_int_equal(map[0], 1ULL << 1);
	assert_iopf_clean(io);
	assert_int_equal(dirty_ioctl(f->m.c, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP),
			 0);
	assert_int_equal(swrite(io, 0, IOVA + 1 * PG, 8), 0);
	assert_int_equal(sread(io, 0, IOVA + 3 * PG, &v), 0);
	assert_int_equal(swrite(io, 0, IOVA + 3 * PG, 8), 0);
	assert_iopf_clean(io);
}

static void test_f36_single_mm(void **state)
{
	struct io *io = *state;
	struct fx *f = io->f;
	char *va = region(f, 4 * PG, 0);
	struct vfio_iommu_type1_dma_map m = {.argsz = sizeof(m),
					     .flags = RW,
					     .vaddr = (uintptr_t)va,
					     .iova = IOVA,
					     .size = 4 * PG};
	struct vfio_iommu_type1_dma_unmap u = {
		.argsz = sizeof(u), .iova = IOVA, .size = 4 * PG};
	struct mm *other;

	assert_int_equal(mm_create(f->m.p->pm, &other), 0);
	/* without IOPF any caller may map (no binding yet) */
	assert_int_equal(vfio_iommu_type1_ioctl_mm(f->m.c, other,
						   VFIO_IOMMU_MAP_DMA,
						   (unsigned long)&m),
			 0);
	assert_int_equal(vfio_iommu_type1_ioctl_mm(f->m.c, other,
						   VFIO_IOMMU_UNMAP_DMA,
						   (unsigned long)&u),
			 0);
	assert_int_equal(enable_iopf(f->m.c), 0);
	assert_int_equal(vfio_iommu_type1_ioctl_mm(f->m.c, other,
						   VFIO_IOMMU_MAP_DMA,
						   (unsigned long)&m),
			 -EPERM);
	assert_int_equal(stats(f).nr_dma, 0);
	assert_int_equal(map_dma(f->m.c, IOVA, va, 4 * PG, RW), 0);
	assert_int_equal(vfio_iommu_type1_ioctl_mm(f->m.c, other,
						   VFIO_IOMMU_UNMAP_DMA,
						   (unsigned long)&u),
			 -EPERM);
	assert_int_equal(stats(f).nr_dma, 1);
	mm_destroy(other);
}

/*
 * Concurrency (run under ThreadSanitizer in CI): device threads fault
 * while the user discards memory, unmaps and maps again; no DMA may reach a freed frame, and at rest the bitmap equals
 * the page tables.
 */
static void test_iopf_concurrency(void **state)
{
	struct io *io = *state;
	struct fx *f = io->f;
	enum { NT = 3, PAGES = 128 };
	char *va = region(f, 2 * PAGES * PG, 0);
	struct dma_thread t[NT];
	pthread_t th[NT];
	unsigned int seed = 7;

	/* one (coherent) domain: SMMU B's is not coherent, and the memory
	 * model's cache writeback (cache_flush_phys, before each map into
	 * it) is not synchronised with DMA writes to the same frame */
	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, sgrp(io, 0)), 0);
	assert_int_equal(enable_iopf(f->m.c), 0);
	assert_int_equal(vfio_iommu_type1_set_iopf_premap(f->m.c, 8), 0);
	assert_int_equal(map_dma(f->m.c, IOVA, va, PAGES * PG, RW), 0);
	assert_int_equal(map_dma(f->m.c, IOVA + PAGES * PG, va + PAGES * PG,
				 PAGES * PG, RW),
			 0);
	for (int i = 0; i < NT; i++) {
		t[i] = (struct dma_thread){.io = io,
					   .dev = 0,
					   .iova = IOVA,
					   .pages = 2 * PAGES,
					   .seed = 11 + i};
		assert_int_equal(
			pthread_create(&th[i], NULL, dma_thread_fn, &t[i]), 0);
	}
	for (int round = 0; round < 300; round++) {
		unsigned int pg = rand_r(&seed) % (2 * PAGES - 8);

		assert_int_equal(mm_discard(f->m.mm, va + pg * PG,
					    (1 + rand_r(&seed) % 8) * PG),
				 0);
		if (round % 50 == 49) {
			/* the second mapping goes and comes back */
			assert_int_equal(unmap_dma(f->m.c, IOVA + PAGES * PG,
						   PAGES * PG, 0, NULL),
					 0);
			assert_int_equal(map_dma(f->m.c, IOVA + PAGES * PG,
						 va + PAGES * PG, PAGES * PG,
						 RW),
					 0);
		}
	}
	/* every thread got through some faults */
	for (int i = 0; i < NT; i++)
		while (atomic_load(&t[i].ok) < 20)
			sched_yield();
	for (int i = 0; i < NT; i++) {
		atomic_store(&t[i].stop, true);
		pthread_join(th[i], NULL);
	}
	assert_false(stats(f).broken);
	assert_iopf_clean(io);
}

/* ---- nested IOPF (seed 001 p8): F30..F33 ------------------------------------------------ */

/*
 * A guest of a nesting container: 16 pages of user memory mapped (MAP_DMA)
 * at IPA GUEST_IPA, holding its CD table (page 0, CD 0 with the stall bit)
 * and its stage-1 tables (48-bit VA), every address in them an IPA.  With
 * IOPF on nothing of it is mapped at stage 2 until the SMMU faults on it.
 */
#define GUEST_IPA   TEST_GUEST_IPA
#define GUEST_PAGES TEST_GUEST_PAGES

struct guest {
	char *va; /* the user memory behind GUEST_IPA */
	struct test_guest tg;
	uint64_t root;
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

/* The guest's memory mapped at GUEST_IPA; its CD 0 (asid 5, stalls). */
static void guest_init(struct guest *g, struct fx *f)
{
	struct smmu_cd cd = {.valid = true,
			     .t0sz = 16,
			     .asid = 5,
			     .mair = LPAE_MAIR_DEFAULT,
			     .stall = true};
	uint64_t dw[8];

	memset(g, 0, sizeof(*g));
	g->va = region(f, GUEST_PAGES * PG, 0);
	g->tg.mem = (uint8_t *)g->va;
	assert_int_equal(
		map_dma(f->m.c, GUEST_IPA, g->va, GUEST_PAGES * PG, RW), 0);
	assert_int_equal(galloc(g), GUEST_IPA); /* the CD table */
	g->root = galloc(g);
	cd.ttb0 = g->root;
	smmu_cd_encode(&cd, dw);
	memcpy(gptr(g, GUEST_IPA), dw, sizeof(dw));
}

static int setup_io_nested(void **state)
{
	struct io *io;

	setup_io_common(state, false);
	io = *state;
	/* the same fixture on a nesting container */
	vfio_iommu_type1_release(io->f->m.c);
	assert_int_equal(vfio_iommu_type1_open(io->f->m.mm,
					       VFIO_TYPE1_NESTING_IOMMU,
					       &io->f->m.c),
			 0);
	return 0;
}

/* The guest's side of a transferred stage-1 fault: it maps the page in
 * its stage 1 (when told to) and answers. */
struct guest_drv {
	struct vfio_iommu_device vdev;
	struct guest *g;
	struct device *dev;
	int calls;
	struct iommu_fault last;
	uint64_t map_ipa; /* 0: answer INVALID */
	int ret;
};

static int guest_transfer(struct iommu_fault *fault, void *priv)
{
	struct guest_drv *d = priv;

	d->calls++;
	d->last = *fault;
	if (fault->type == IOMMU_FAULT_PAGE_REQ) {
		struct iommu_page_response r = {
			.grpid = fault->prm.grpid,
			.code = d->map_ipa ? IOMMU_PAGE_RESP_SUCCESS
					   : IOMMU_PAGE_RESP_INVALID};

		if (d->map_ipa)
			guest_s1_map(d->g, fault->prm.addr & ~(PG - 1),
				     d->map_ipa);
		assert_int_equal(iommu_page_response(d->dev, &r), 0);
	}
	return d->ret;
}

static void guest_dma_unmap(struct vfio_iommu_device *vdev, uint64_t iova,
			    uint64_t length, void *priv)
{
	(void)vdev, (void)iova, (void)length, (void)priv; /* pins nothing */
}

static const struct vfio_iommu_device_ops guest_drv_ops = {
	.dma_unmap = guest_dma_unmap,
	.transfer = guest_transfer,
};
static const struct vfio_iommu_device_ops no_transfer_ops = {
	.dma_unmap = guest_dma_unmap,
};

static void guest_drv_init(struct guest_drv *d, struct io *io, struct guest *g,
			   const struct vfio_iommu_device_ops *ops)
{
	memset(d, 0, sizeof(*d));
	d->g = g;
	d->dev = sva_device(io->s[0]);
	d->vdev.ops = ops;
	d->vdev.priv = d;
	d->vdev.name = "guest";
	d->vdev.dev = d->dev;
	assert_int_equal(vfio_iommu_type1_register_device(io->f->m.c, &d->vdev),
			 0);
}

/*
 * The SMMU fetches the guest's CD outside any transaction it could stall:
 * with IOPF the VMM keeps the CD table resident at stage 2 by pinning it
 * (driver pins are mapped at once, F26).
 */
static void guest_pin_cd(struct guest_drv *d, struct io *io)
{
	phys_addr_t pa;

	assert_int_equal(vfio_iommu_type1_device_pin_pages(
				 io->f->m.c, &d->vdev, sgrp(io, 0), GUEST_IPA,
				 1, IOMMU_READ, &pa),
			 1);
}

static void guest_unpin_cd(struct guest_drv *d, struct io *io)
{
	assert_int_equal(vfio_iommu_type1_device_unpin_pages(
				 io->f->m.c, &d->vdev, GUEST_IPA, 1),
			 1);
}

static unsigned int hflags(struct io *io)
{
	unsigned int flags = 0;

	if (iommu_get_device_fault_handler_flags(sva_device(io->s[0]), &flags))
		return 0;
	return flags;
}

/* A synthetic unrecoverable fault, stage 1 or 2 (l2). */
static int report_unrecov(struct io *io, uint64_t addr, bool l2)
{
	struct iommu_fault flt = {.type = IOMMU_FAULT_DMA_UNRECOV};

	flt.event.flags = IOMMU_FAULT_UNRECOV_ADDR_VALID |
			  (l2 ? IOMMU_FAULT_UNRECOV_L2 : 0);
	flt.event.addr = addr;
	return iommu_report_device_fault(sva_device(io->s[0]), &flt);
}

/* F31: the nested domain's stage-2 faults (the CD, each stage-1 table, the
 * data) are host IOPF: L2 page requests mapped like flat ones. */
static void test_f31_l2_page_requests_mapped(void **state)
{
	struct io *io = *state;
	struct fx *f = io->f;
	struct iommu_domain *n;
	struct guest_drv gd;
	struct guest g;
	uint64_t data;
	uint32_t v;
	int nested = 0;

	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, sgrp(io, 0)), 0);
	assert_int_equal(sdom(io, 0)->type, IOMMU_DOMAIN_NEST_PARENT);
	assert_int_equal(enable_iopf(f->m.c), 0);
	assert_int_equal(hflags(io), FAULT_REPORT_FLAT);
	guest_init(&g, f);
	data = galloc(&g);
	guest_s1_map(&g, 0x10000, data);
	assert_int_equal(vfio_iommu_type1_set_nested_s1(f->m.c, sgrp(io, 0),
							GUEST_IPA, 0),
			 0);
	n = iommu_get_domain_for_dev(sva_device(io->s[0]));
	assert_int_equal(n->type, IOMMU_DOMAIN_NESTED);
	assert_ptr_equal(n->parent, sdom(io, 0));
	assert_int_equal(iommu_domain_nesting(sva_device(io->s[0]), &nested),
			 0);
	assert_int_equal(nested, 1);
	/* F02: the host's handler now takes stage-2 faults */
	assert_int_equal(hflags(io), FAULT_REPORT_NESTED_L2);
	assert_int_equal(stats(f).iopf_mapped_pages, 0);
	guest_drv_init(&gd, io, &g, &guest_drv_ops);
	guest_pin_cd(&gd, io);
	assert_int_equal(vfio_iommu_type1_iopf_mapped(f->m.c, GUEST_IPA), 1);

	assert_int_equal(swrite(io, 0, 0x10000 + 16, 0xcafe), 0);
	assert_int_equal(*(uint32_t *)gptr(&g, data + 16), 0xcafe);
	/* 4 stage-1 tables and the data page: 5 stage-2 faults */
	assert_int_equal(stalls(io, 0), 5);
	assert_int_equal(stats(f).iopf_faults, 5);
	assert_int_equal(vfio_iommu_type1_iopf_mapped(f->m.c, data), 1);
	assert_int_equal(vfio_iommu_type1_iopf_mapped(f->m.c, g.root), 1);
	assert_int_equal(pin_refs(f), 1); /* the CD page only */
	assert_int_equal(sread(io, 0, 0x10000 + 16, &v), 0);
	assert_int_equal(v, 0xcafe);
	assert_int_equal(stalls(io, 0), 5);
	assert_iopf_clean(io);
	/* the user discards the data page: unmapped at stage 2 (and the
	 * nested entry with it), faulted in again on the next access */
	assert_int_equal(mm_discard(f->m.mm, gptr(&g, data), PG), 0);
	assert_int_equal(vfio_iommu_type1_iopf_mapped(f->m.c, data), 0);
	assert_int_equal(sread(io, 0, 0x10000 + 16, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(stalls(io, 0), 6);
	assert_iopf_clean(io);
	/* F30 without nested L1 reporting: a stage-1 fault is not the
	 * host's, the stall is aborted */
	assert_int_equal(swrite(io, 0, 0x20000, 1), -EFAULT);
	assert_int_equal(stats(f).iopf_faults, 6);
	assert_int_equal(gd.calls, 0);
	guest_unpin_cd(&gd, io);
	vfio_iommu_type1_unregister_device(f->m.c, &gd.vdev);
	vfio_iommu_type1_detach_group(f->m.c, sgrp(io, 0));
	assert_null(iommu_get_domain_for_dev(sva_device(io->s[0])));
}

/* F30, F33: stage-1 faults go to the transfer op once nested reporting is
 * registered, on the existing handler; unregistering removes only that. */
static void test_f30_f33_l1_faults_transferred(void **state)
{
	struct io *io = *state;
	struct fx *f = io->f;
	struct device *dev = sva_device(io->s[0]);
	struct guest_drv gd;
	struct guest g;
	uint64_t data;
	uint32_t v;

	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, sgrp(io, 0)), 0);
	assert_int_equal(enable_iopf(f->m.c), 0);
	guest_init(&g, f);
	guest_s1_map(&g, 0x10000, galloc(&g));
	assert_int_equal(vfio_iommu_type1_set_nested_s1(f->m.c, sgrp(io, 0),
							GUEST_IPA, 0),
			 0);
	guest_drv_init(&gd, io, &g, &guest_drv_ops);
	guest_pin_cd(&gd, io);
	assert_int_equal(stats(f).iopf_devices, 1);

	/* F33: one handler, the L1 flag added */
	assert_int_equal(vfio_iommu_dev_fault_handler_register_nested(dev), 0);
	assert_int_equal(hflags(io),
			 FAULT_REPORT_NESTED_L2 | FAULT_REPORT_NESTED_L1);
	assert_int_equal(vfio_iommu_dev_fault_handler_register_nested(dev),
			 -EBUSY);
	assert_int_equal(stats(f).iopf_devices, 1);

	/* F30: VA 0x40000 is not in the guest's stage 1: the stall goes to
	 * the guest, which maps it and answers; the retry then faults at
	 * stage 2 on the new IPA, which the host maps (F31) */
	data = galloc(&g);
	gd.map_ipa = data;
	assert_int_equal(swrite(io, 0, 0x40000 + 8, 0xbeef), 0);
	assert_int_equal(*(uint32_t *)gptr(&g, data + 8), 0xbeef);
	assert_int_equal(gd.calls, 1);
	assert_int_equal(gd.last.type, IOMMU_FAULT_PAGE_REQ);
	assert_int_equal(gd.last.prm.addr, 0x40000 + 8);
	assert_false(gd.last.prm.flags & IOMMU_FAULT_PAGE_REQUEST_L2);
	assert_int_equal(vfio_iommu_type1_iopf_mapped(f->m.c, data), 1);
	assert_int_equal(sread(io, 0, 0x40000 + 8, &v), 0);
	assert_int_equal(v, 0xbeef);
	/* the guest refuses: the DMA fails, nothing mapped by the host */
	gd.map_ipa = 0;
	assert_int_equal(swrite(io, 0, 0x50000, 1), -EFAULT);
	assert_int_equal(gd.calls, 2);
	/* unrecoverable stage-1 faults are transferred too, stage-2 ones are
	 * not (F14: not consumed) */
	gd.ret = 0;
	assert_int_equal(report_unrecov(io, 0x60000, false), 0);
	assert_int_equal(gd.calls, 3);
	assert_int_equal(gd.last.type, IOMMU_FAULT_DMA_UNRECOV);
	assert_int_equal(report_unrecov(io, 0x60000, true), -EOPNOTSUPP);
	assert_int_equal(gd.calls, 3);
	/* the transfer op's result is the handler's */
	gd.ret = -EIO;
	assert_int_equal(report_unrecov(io, 0x60000, false), -EIO);

	/* F30: no transfer op: -EOPNOTSUPP, the stall is aborted (the CD
	 * page stays pinned by the anonymous holder meanwhile) */
	phys_addr_t cdpa;
	assert_int_equal(vfio_iommu_type1_pin_pages(f->m.c, sgrp(io, 0),
						    GUEST_IPA, 1, IOMMU_READ,
						    &cdpa),
			 1);
	guest_unpin_cd(&gd, io);
	vfio_iommu_type1_unregister_device(f->m.c, &gd.vdev);
	assert_int_equal(report_unrecov(io, 0x60000, false), -EOPNOTSUPP);
	assert_int_equal(swrite(io, 0, 0x50000, 1), -EFAULT);
	guest_drv_init(&gd, io, &g, &no_transfer_ops);
	assert_int_equal(report_unrecov(io, 0x60000, false), -EOPNOTSUPP);
	assert_int_equal(gd.calls, 0);
	vfio_iommu_type1_unregister_device(f->m.c, &gd.vdev);
	guest_drv_init(&gd, io, &g, &guest_drv_ops);

	/* F33: unregistering takes only the L1 flag; stage 2 stays the
	 * host's, stage-1 faults reach nobody */
	assert_int_equal(vfio_iommu_dev_fault_handler_unregister_nested(dev),
			 0);
	assert_int_equal(hflags(io), FAULT_REPORT_NESTED_L2);
	assert_int_equal(vfio_iommu_dev_fault_handler_unregister_nested(dev),
			 -EINVAL);
	assert_int_equal(stats(f).iopf_devices, 1);
	assert_int_equal(report_unrecov(io, 0x60000, false), -ENODEV);
	assert_int_equal(swrite(io, 0, 0x50000, 1), -EFAULT);
	assert_int_equal(gd.calls, 0);
	assert_int_equal(mm_discard(f->m.mm, gptr(&g, data), PG), 0);
	assert_int_equal(swrite(io, 0, 0x40000 + 8, 0xf00d), 0);
	assert_int_equal(*(uint32_t *)gptr(&g, data + 8), 0xf00d);
	assert_iopf_clean(io);
	assert_int_equal(vfio_iommu_type1_unpin_pages(f->m.c, GUEST_IPA, 1), 1);
	vfio_iommu_type1_unregister_device(f->m.c, &gd.vdev);
}

/* F32: the registration's errors; L1 reporting without host IOPF */
static void test_f32_register_nested_errors(void **state)
{
	struct io *io = *state;
	struct fx *f = io->f;
	struct device *dev = sva_device(io->s[0]);
	struct vfio_iommu *c2;
	struct guest_drv gd;
	struct guest g;
	uint64_t data;
	uint32_t v;

	assert_int_equal(vfio_iommu_dev_fault_handler_register_nested(NULL),
			 -EINVAL);
	assert_int_equal(vfio_iommu_dev_fault_handler_unregister_nested(NULL),
			 -EINVAL);
	/* not in a group of any container */
	assert_int_equal(vfio_iommu_dev_fault_handler_register_nested(dev),
			 -ENODEV);
	assert_int_equal(
		vfio_iommu_dev_fault_handler_register_nested(&f->dev[2]),
		-ENODEV);
	/* a container whose backend has no register_handler */
	assert_int_equal(
		vfio_iommu_type1_open(f->m.mm, VFIO_TYPE1v2_IOMMU, &c2), 0);
	assert_int_equal(vfio_iommu_type1_attach_group(c2, grp(f, 0)), 0);
	assert_int_equal(
		vfio_iommu_dev_fault_handler_register_nested(&f->dev[0]),
		-ENOTTY);
	assert_int_equal(
		vfio_iommu_dev_fault_handler_unregister_nested(&f->dev[0]),
		-ENOTTY);
	assert_int_equal(vfio_iommu_type1_set_nested_s1(c2, grp(f, 0),
							GUEST_IPA, 0),
			 -EOPNOTSUPP);
	vfio_iommu_type1_release(c2);
	/* set_nested_s1's own errors */
	assert_int_equal(vfio_iommu_type1_set_nested_s1(f->m.c, sgrp(io, 0),
							GUEST_IPA, 0),
			 -ENODEV);
	assert_int_equal(vfio_iommu_type1_set_nested_s1(NULL, sgrp(io, 0),
							GUEST_IPA, 0),
			 -EINVAL);

	/* without host IOPF: a handler for L1 only */
	assert_int_equal(vfio_iommu_type1_attach_group(f->m.c, sgrp(io, 0)), 0);
	guest_init(&g, f); /* pinned and mapped: no IOPF */
	assert_int_equal(vfio_iommu_type1_set_nested_s1(f->m.c, sgrp(io, 0),
							GUEST_IPA + 8, 0),
			 -EINVAL);
	assert_int_equal(vfio_iommu_type1_set_nested_s1(f->m.c, sgrp(io, 0),
							GUEST_IPA, 0),
			 0);
	guest_drv_init(&gd, io, &g, &guest_drv_ops);
	assert_int_equal(hflags(io), 0);
	assert_int_equal(vfio_iommu_dev_fault_handler_register_nested(dev), 0);
	assert_int_equal(hflags(io), FAULT_REPORT_NESTED_L1);
	assert_int_equal(stats(f).iopf_devices, 0);
	data = galloc(&g);
	gd.map_ipa = data;
	assert_int_equal(swrite(io, 0, 0x70000, 0x1234), 0);
	assert_int_equal(gd.calls, 1);
	assert_int_equal(*(uint32_t *)gptr(&g, data), 0x1234);
	assert_int_equal(sread(io, 0, 0x70000, &v), 0);
	assert_int_equal(v, 0x1234);
	/* L1 before L2: ENABLE_IOPF refuses (the series' order) */
	assert_int_equal(enable_iopf(f->m.c), -EBUSY);
	assert_false(stats(f).iopf_enabled);
	/* unregistering drops that handler */
	assert_int_equal(vfio_iommu_dev_fault_handler_unregister_nested(dev),
			 0);
	assert_int_equal(
		iommu_get_device_fault_handler_flags(dev, &(unsigned int){0}),
		-EINVAL);
	assert_int_equal(swrite(io, 0, 0x80000, 1), -EFAULT);
	assert_int_equal(gd.calls, 1);
	/* and now IOPF can be enabled */
	assert_int_equal(enable_iopf(f->m.c), 0);
	assert_int_equal(hflags(io), FAULT_REPORT_NESTED_L2);
	vfio_iommu_type1_unregister_device(f->m.c, &gd.vdev);
	/* detaching frees the nested domain, the parent after it */
	vfio_iommu_type1_detach_group(f->m.c, sgrp(io, 0));
	assert_null(iommu_get_domain_for_dev(dev));
}

/* ---- lock rules ------------------------------------------------------------------ */

#ifdef UI_LOCKDEP
static void call_iova_valid_unlocked(void *ctx)
{
	struct fx *f = ctx;

	vfio_iommu_iova_dma_valid(f->m.c, IOVA, IOVA + PG - 1);
}

/* A type1 function that reads the container asserts its lock: called
 * without it, the program aborts naming the function and the lock. */
static void test_lockdep_container_lock_asserted(void **state)
{
	static const char *const want[] = {"vfio_iommu_iova_dma_valid()",
					   "called with &iommu->lock held",
					   "lock class iommu->lock", NULL};
	struct fx *f = *state;

	test_expect_abort(call_iova_valid_unlocked, f, want);
	/* with the lock it passes (no attach yet: every IOVA is usable) */
	mutex_lock(&f->m.c->lock);
	assert_true(vfio_iommu_iova_dma_valid(f->m.c, IOVA, IOVA + PG - 1));
	mutex_unlock(&f->m.c->lock);
}

static void call_find_dma_under_iopf_lock(void *ctx)
{
	struct fx *f = ctx;

	mutex_lock(&f->m.c->iopf_lock);
	vfio_iommu_type1_find_dma(f->m.c, IOVA, NULL, NULL, NULL);
}

/* The layer's order where two of its locks nest: an entry point (it takes
 * the container's lock) called under iopf_lock, which ranks after it. */
static void test_lockdep_vfio_order_checked(void **state)
{
	static const char *const want[] = {"lock order violated",
					   "taking iommu->lock",
					   "holding iommu->iopf_lock", NULL};
	struct fx *f = *state;

	test_expect_abort(call_find_dma_under_iopf_lock, f, want);
}
#endif

static const struct CMUnitTest tests[] = {
	cmocka_unit_test_setup_teardown(test_dma_through_mapping, setup,
					teardown),
	cmocka_unit_test_setup_teardown(test_dma_prot, setup, teardown),
	cmocka_unit_test_setup_teardown(test_d01_map_without_domain, setup,
					teardown),
	cmocka_unit_test_setup_teardown(test_d02_dma_avail, setup, teardown),
	cmocka_unit_test_setup_teardown(test_d03_unknown_ioctl, setup,
					teardown),
	cmocka_unit_test_setup_teardown(test_d04_replay_and_sharing, setup,
					teardown),
	cmocka_unit_test_setup_teardown(test_d05_replay_failure_unwinds, setup,
					teardown),
	cmocka_unit_test_setup_teardown(test_d06_unpin_accounting, setup,
					teardown),
	cmocka_unit_test_setup_teardown(test_d07_d12_pins_with_domain, setup,
					teardown),
	cmocka_unit_test_setup_teardown(test_d07_pins_without_domain, setup,
					teardown),
	cmocka_unit_test_setup_teardown(test_d08_pin_arguments, setup,
					teardown),
	cmocka_unit_test_setup_teardown(test_d09_unpin_arguments, setup,
					teardown),
	cmocka_unit_test_setup_teardown(test_cap_ipc_lock_is_the_real_one,
					setup, teardown),
	cmocka_unit_test_setup_teardown(test_cap_ipc_lock_taken_at_map, setup,
					teardown),
	cmocka_unit_test_setup_teardown(test_d10_remove_with_pins_warns, setup,
					teardown),
	cmocka_unit_test_setup_teardown(test_d11_dirty_tracking, setup,
					teardown),
	cmocka_unit_test_setup_teardown(test_g01_unmap_calls_drivers_back,
					setup, teardown),
	cmocka_unit_test_setup_teardown(test_g03_driver_ignoring_unmap_fails,
					setup, teardown),
	cmocka_unit_test_setup_teardown(test_v2_unmap_rules, setup, teardown),
	cmocka_unit_test_setup_teardown(test_v1_unmap_rules, setup_v1,
					teardown),
	cmocka_unit_test_setup_teardown(test_iova_ranges_and_info, setup,
					teardown),
	cmocka_unit_test_setup_teardown(test_check_extension, setup, teardown),
	cmocka_unit_test_setup_teardown(test_update_vaddr, setup, teardown),
	cmocka_unit_test_setup_teardown(test_map_dma_check_order, setup,
					teardown),
	cmocka_unit_test_setup_teardown(test_map_dma_entry_limit_order, setup,
					teardown),
	cmocka_unit_test_setup_teardown(test_unmap_dma_check_order, setup,
					teardown),
	cmocka_unit_test_setup_teardown(test_dirty_pages_check_order, setup,
					teardown),
	cmocka_unit_test_setup_teardown(test_dirty_bitmap_pages_max, setup,
					teardown),
	cmocka_unit_test_setup_teardown(test_get_info_check_order, setup,
					teardown),
	cmocka_unit_test_setup_teardown(test_get_info_copy_back, setup,
					teardown),
	cmocka_unit_test_setup_teardown(test_fail_sweep_map, setup, teardown),
	cmocka_unit_test_setup_teardown(test_fail_sweep_map_states, setup,
					teardown),
	cmocka_unit_test_setup_teardown(test_fail_sweep_unmap, setup, teardown),
	cmocka_unit_test_setup_teardown(test_fail_sweep_attach, setup,
					teardown),
	cmocka_unit_test_setup_teardown(test_e01_coherent_no_flush, setup,
					teardown),
	cmocka_unit_test_setup_teardown(test_e02_e03_noncoherent_order, setup,
					teardown),
	cmocka_unit_test_setup_teardown(test_e02_flush_off_reads_stale, setup,
					teardown),
	cmocka_unit_test_setup_teardown(test_e03_e04_unwind_and_clear, setup,
					teardown),
	cmocka_unit_test_setup_teardown(test_e05_e10_counter_and_extension,
					setup, teardown),
	cmocka_unit_test_setup_teardown(test_e06_e07_e08_replay, setup,
					teardown),
	cmocka_unit_test_setup_teardown(test_e09_replay_unwind, setup,
					teardown),
	cmocka_unit_test_setup_teardown(test_e11_fgsp_probe, setup, teardown),
	cmocka_unit_test_setup_teardown(test_g04_g05_g07_references, setup,
					teardown),
	cmocka_unit_test_setup_teardown(test_g03_g06_g09_busy_names_device,
					setup, teardown),
	cmocka_unit_test_setup_teardown(test_fail_sweep_device_pin, setup,
					teardown),
	cmocka_unit_test_setup_teardown(test_f01_f05_f35_enable_discovery,
					setup_io, teardown_io),
	cmocka_unit_test_setup_teardown(test_f02_f04_lookup_order, setup_io,
					teardown_io),
	cmocka_unit_test_setup_teardown(test_f03_f37_enable_failure_unwinds,
					setup_io, teardown_io),
	cmocka_unit_test_setup_teardown(test_f06_enable_converts_pins, setup_io,
					teardown_io),
	cmocka_unit_test_setup_teardown(test_f07_map_pins_nothing, setup_io,
					teardown_io),
	cmocka_unit_test_setup_teardown(test_f08_to_f13_fault_handler, setup_io,
					teardown_io),
	cmocka_unit_test_setup_teardown(test_f08_prot_enforced, setup_io,
					teardown_io),
	cmocka_unit_test_setup_teardown(test_f12_failures_answer_invalid,
					setup_io, teardown_io),
	cmocka_unit_test_setup_teardown(test_f14_unrecoverable_not_consumed,
					setup_io, teardown_io),
	cmocka_unit_test_setup_teardown(test_f15_f16_page_granular_premap,
					setup_io, teardown_io),
	cmocka_unit_test_setup_teardown(test_f17_f18_f21_notifier, setup_io,
					teardown_io),
	cmocka_unit_test_setup_teardown(test_f19_f20_invalidation_as_unmapped,
					setup_io, teardown_io),
	cmocka_unit_test_setup_teardown(
		test_f19_unmappable_page_breaks_container, setup_io,
		teardown_io),
	cmocka_unit_test_setup_teardown(test_f22_unmap_dma, setup_io,
					teardown_io),
	cmocka_unit_test_setup_teardown(test_f23_new_domain_gets_faulted_pages,
					setup_io, teardown_io),
	cmocka_unit_test_setup_teardown(test_f24_detach_with_faults_in_flight,
					setup_io_threaded, teardown_io),
	cmocka_unit_test_setup_teardown(
		test_f25_f26_driver_pins_mapped_and_charged, setup_io,
		teardown_io),
	cmocka_unit_test_setup_teardown(test_f34_dirty_by_fault_access,
					setup_io, teardown_io),
	cmocka_unit_test_setup_teardown(test_f36_single_mm, setup_io,
					teardown_io),
	cmocka_unit_test_setup_teardown(test_iopf_concurrency,
					setup_io_threaded, teardown_io),
	cmocka_unit_test_setup_teardown(test_f31_l2_page_requests_mapped,
					setup_io_nested, teardown_io),
	cmocka_unit_test_setup_teardown(test_f30_f33_l1_faults_transferred,
					setup_io_nested, teardown_io),
	cmocka_unit_test_setup_teardown(test_f32_register_nested_errors,
					setup_io_nested, teardown_io),
#ifdef UI_LOCKDEP
	cmocka_unit_test_setup_teardown(test_lockdep_container_lock_asserted,
					setup, teardown),
	cmocka_unit_test_setup_teardown(test_lockdep_vfio_order_checked, setup,
					teardown),
#endif
};

TEST_MAIN(tests)
