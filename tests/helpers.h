/* SPDX-License-Identifier: MIT */
/*
 * Test helpers shared by the per-layer cmocka programs.
 */
#ifndef UIOMMU_TEST_HELPERS_H
#define UIOMMU_TEST_HELPERS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mem/mem.h"

/* A small physical memory for one test (1 GiB, sparse). */
struct phys_mem *test_phys_create(void);

/*
 * Failure sweep: for n = 1, 2, ... arm uiommu_fail_nth(n) and call op(ctx);
 * op must return a negative errno when the injected failure hit it, and
 * check(ctx) (may be NULL) must then find that nothing changed.  Stops when
 * op succeeds without the failure firing.  Returns the number of failure
 * points visited.
 */
int test_fail_sweep(int (*op)(void *ctx), void (*undo)(void *ctx),
		    void (*check)(void *ctx), void *ctx, unsigned int kinds);

int test_run(const char *name, const struct CMUnitTest *tests, size_t n);

/*
 * A guest's memory for nested-translation tests: TEST_GUEST_PAGES pages at
 * IPA TEST_GUEST_IPA, reached by the test through mem (the host's view of
 * them), with a bump allocator of pages and a builder of 4-level stage-1
 * tables (4 KiB pages, Normal write-back) whose every address is an IPA.
 */
#define TEST_GUEST_IPA	 0x40000000ULL
#define TEST_GUEST_PAGES 16

struct test_guest {
	uint8_t *mem;
	unsigned int next;
};

void *test_guest_ptr(struct test_guest *g, uint64_t ipa);
uint64_t test_guest_alloc(struct test_guest *g);
void test_guest_s1_map(struct test_guest *g, uint64_t root, uint64_t va,
		       uint64_t ipa);

/*
 * Translation checks shared by the VFIO tests: the frame behind a user
 * address (a short pin), every page of [iova, +size) translating to va's
 * frames in domain d or to nothing, and the IOTLB entries of hw that
 * overlap a range.
 */
struct iommu_domain;
struct smmu;

phys_addr_t test_user_pa(struct mm *mm, const void *va);
void test_assert_mapped(struct mm *mm, struct iommu_domain *d, uint64_t iova,
			const void *va, uint64_t size);
void test_assert_unmapped(struct iommu_domain *d, uint64_t iova, uint64_t size);
size_t test_iotlb_entries_in(struct smmu *hw, uint64_t iova, uint64_t size);

/*
 * Death test: run fn(ctx) in a child process and expect it to abort with
 * every string of want (NULL-terminated) in its standard error.  Not under
 * ThreadSanitizer-unsafe conditions: the child only runs fn and exits.
 */
void test_expect_abort(void (*fn)(void *ctx), void *ctx,
		       const char *const *want);

/*
 * The VFIO tests' machine: SMMU A (the platform's, threaded or not) and
 * SMMU B (a second SMMU on the same memory: 48-bit, 4 KiB and 2 MiB pages,
 * range invalidation, coherent or not), then the user's address space (no
 * CAP_IPC_LOCK, 256 MiB of locked memory) and a container on it.  The
 * devices behind the SMMUs are each program's own: they are created
 * between test_vfio_smmus_create and test_vfio_mm_open, and destroyed
 * between test_vfio_mm_close and test_vfio_smmus_destroy (which check the
 * mm's and the kernel memory's invariants on the way).
 */
struct platform;
struct arm_smmu_device;
struct vfio_iommu;
struct vfio_iommu_type1_stats;

struct test_vfio_machine {
	struct platform *p; /* SMMU A */
	struct smmu *hw2;   /* SMMU B */
	struct arm_smmu_device *smmu2;
	struct mm *mm;
	struct vfio_iommu *c;
};

void test_vfio_smmus_create(struct test_vfio_machine *m, bool threaded,
			    bool b_coherent);
void test_vfio_mm_open(struct test_vfio_machine *m, unsigned long type);
void test_vfio_mm_close(struct test_vfio_machine *m);
void test_vfio_smmus_destroy(struct test_vfio_machine *m);
/* an mm as the VFIO tests want it: no CAP_IPC_LOCK, 256 MiB lockable */
void test_mm_limits(struct mm *mm);

/* MAP_DMA and UNMAP_DMA as from mm (NULL: the container's own); *done
 * (if done) gets UNMAP's size back */
long test_map_dma(struct vfio_iommu *c, struct mm *mm, uint64_t iova,
		  const void *va, uint64_t size, uint32_t flags);
long test_unmap_dma(struct vfio_iommu *c, struct mm *mm, uint64_t iova,
		    uint64_t size, uint32_t flags, uint64_t *done);
/* the container's counters; the frames of the machine's mm pinned now (pin
 * references in the memory's report) */
struct vfio_iommu_type1_stats test_vfio_stats(struct vfio_iommu *c);
uint64_t test_vfio_pin_refs(const struct test_vfio_machine *m);

/* uAPI: attach group to *container and, if iommu_type, set that IOMMU */
/* vfio_fops_ioctl as 0 or -errno, for errno tables of the fd front. */
int test_fops_ioctl(int fd, unsigned long cmd, void *arg);
/* IOMMU_IOAS_ALLOC on a /dev/iommu fd of the fd front: the new IOAS's id
 * (the call must succeed). */
uint32_t test_ioas_alloc(int fd);
/* IOMMU_DESTROY of object id on a /dev/iommu fd: 0 or -errno. */
int test_iommu_destroy(int fd, uint32_t id);
void test_uapi_set_container(int group, int *container,
			     unsigned long iommu_type);

#define TEST_MAIN(tests)                                               \
	int main(void)                                                 \
	{                                                              \
		return test_run(__FILE__, tests, ARRAY_SIZE_T(tests)); \
	}
#define ARRAY_SIZE_T(a) (sizeof(a) / sizeof((a)[0]))

#endif
