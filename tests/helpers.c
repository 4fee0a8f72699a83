// SPDX-License-Identifier: MIT
#include "helpers.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <uiommu/base.h>
#include "devices/devices.h"
#include "hw/hw.h"
#include "iommu/iommu.h"
#include <uiommu/uapi.h>
#include "vfio/vfio.h"

#include "pgtable/lpae_format.h"

struct phys_mem *test_phys_create(void)
{
	struct phys_config cfg = {
		.base = PHYS_DEFAULT_BASE,
		.size = 1ULL << 30,
	};
	struct phys_mem *pm = NULL;

	assert_int_equal(phys_create(&cfg, &pm), 0);
	return pm;
}

int test_fail_sweep(int (*op)(void *ctx), void (*undo)(void *ctx),
		    void (*check)(void *ctx), void *ctx, unsigned int kinds)
{
	int n, ret;

	uiommu_fail_filter(kinds);
	for (n = 1;; n++) {
		uiommu_fail_nth(n);
		ret = op(ctx);
		if (!uiommu_fail_fired()) {
			uiommu_fail_nth(0);
			uiommu_fail_filter(0);
			assert_true(ret >= 0);
			if (undo)
				undo(ctx);
			return n - 1;
		}
		/* the injected failure must surface as an error ... */
		assert_true(ret < 0);
		/* ... that left nothing behind */
		if (check)
			check(ctx);
	}
}

int test_run(const char *name, const struct CMUnitTest *tests, size_t n)
{
	return _cmocka_run_group_tests(name, tests, n, NULL, NULL);
}

void *test_guest_ptr(struct test_guest *g, uint64_t ipa)
{
	assert_true(ipa >= TEST_GUEST_IPA &&
		    ipa < TEST_GUEST_IPA + TEST_GUEST_PAGES * 4096ULL);
	return g->mem + (ipa - TEST_GUEST_IPA);
}

uint64_t test_guest_alloc(struct test_guest *g)
{
	assert_true(g->next < TEST_GUEST_PAGES);
	return TEST_GUEST_IPA + (uint64_t)g->next++ * 4096;
}

void test_guest_s1_map(struct test_guest *g, uint64_t root, uint64_t va,
		       uint64_t ipa)
{
	const uint64_t attrs =
		LPAE_PTE_AF | LPAE_PTE_SH_IS | LPAE_PTE_AP_UNPRIV |
		((uint64_t)LPAE_MAIR_IDX_CACHE << LPAE_PTE_ATTRINDX_SHIFT);
	uint64_t table = root;

	for (int level = 0;; level++) {
		uint64_t *pte = test_guest_ptr(
			g, table + lpae_pte_index(va, level) * 8);

		if (level == 3) {
			*pte = (ipa & LPAE_PTE_ADDR_MASK) | attrs |
			       LPAE_PTE_TYPE_PAGE;
			return;
		}
		if (!(*pte & LPAE_PTE_VALID))
			*pte = test_guest_alloc(g) | LPAE_PTE_TYPE_TABLE;
		table = *pte & LPAE_PTE_ADDR_MASK;
	}
}

phys_addr_t test_user_pa(struct mm *mm, const void *va)
{
	uintptr_t page = (uintptr_t)va & ~(uintptr_t)(PHYS_PAGE_SIZE - 1);
	struct mm_pin_run run;
	unsigned int nr;

	assert_int_equal(mm_pin_pages(mm, page, 1, 0, &run, 1, &nr), 1);
	mm_unpin_pages(mm, &run, 1, 0);
	return run.pa + ((uintptr_t)va - page);
}

void test_assert_mapped(struct mm *mm, struct iommu_domain *d, uint64_t iova,
			const void *va, uint64_t size)
{
	for (uint64_t off = 0; off < size; off += PHYS_PAGE_SIZE)
		assert_int_equal(iommu_iova_to_phys(d, iova + off),
				 test_user_pa(mm, (const char *)va + off));
}

void test_assert_unmapped(struct iommu_domain *d, uint64_t iova, uint64_t size)
{
	for (uint64_t off = 0; off < size; off += PHYS_PAGE_SIZE)
		assert_int_equal(iommu_iova_to_phys(d, iova + off), 0);
}

size_t test_iotlb_entries_in(struct smmu *hw, uint64_t iova, uint64_t size)
{
	static struct smmu_iotlb_entry e[4096];
	size_t n = smmu_iotlb_dump(hw, e, 4096), hits = 0;

	for (size_t i = 0; i < n && i < 4096; i++)
		if (e[i].va < iova + size && e[i].va + e[i].size > iova)
			hits++;
	return hits;
}

void test_expect_abort(void (*fn)(void *ctx), void *ctx,
		       const char *const *want)
{
	char buf[8192];
	size_t len = 0;
	ssize_t n;
	int fds[2], st;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		close(fds[0]);
		dup2(fds[1], STDERR_FILENO);
		/* no core file, and no sanitizer report for the abort */
		signal(SIGABRT, SIG_DFL);
		fn(ctx);
		_exit(0);
	}
	close(fds[1]);
	while (len < sizeof(buf) - 1 &&
	       (n = read(fds[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += n;
	buf[len] = 0;
	close(fds[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGABRT)
		fail_msg("expected an abort, got status %#x; stderr:\n%s", st,
			 buf);
	for (; *want; want++)
		if (!strstr(buf, *want))
			fail_msg("'%s' missing from the report:\n%s", *want,
				 buf);
}

void test_vfio_smmus_create(struct test_vfio_machine *m, bool threaded,
			    bool b_coherent)
{
	struct platform_config pcfg = {.mem_size = 1ULL << 30,
				       .smmu.threaded = threaded};
	struct arm_smmu_options o2 = {
		.coherent = b_coherent,
		.ias = 48,
		.pgsize_bitmap = 4096 | (2UL << 20),
		.range_inv = true,
	};

	assert_int_equal(platform_create(&pcfg, &m->p), 0);
	assert_int_equal(smmu_create(m->p->pm, NULL, &m->hw2), 0);
	assert_int_equal(arm_smmu_device_probe(m->hw2, &o2, &m->smmu2), 0);
}

void test_mm_limits(struct mm *mm)
{
	mm_set_cap_ipc_lock(mm, false);
	mm_set_memlock_limit(mm, 256ULL << 20);
}

void test_vfio_mm_open(struct test_vfio_machine *m, unsigned long type)
{
	assert_int_equal(mm_create(m->p->pm, &m->mm), 0);
	test_mm_limits(m->mm);
	assert_int_equal(vfio_iommu_type1_open(m->mm, type, &m->c), 0);
}

void test_vfio_mm_close(struct test_vfio_machine *m)
{
	assert_int_equal(mm_check_invariants(m->mm, stderr), 0);
	mm_destroy(m->mm);
}

void test_vfio_smmus_destroy(struct test_vfio_machine *m)
{
	arm_smmu_device_remove(m->smmu2);
	smmu_destroy(m->hw2);
	assert_int_equal(
		mem_check_invariants(m->p->pm, PHYS_OWNER_KERNEL, stderr), 0);
	platform_destroy(m->p);
}

long test_map_dma(struct vfio_iommu *c, struct mm *mm, uint64_t iova,
		  const void *va, uint64_t size, uint32_t flags)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = flags,
		.vaddr = (uintptr_t)va,
		.iova = iova,
		.size = size,
	};

	if (!mm)
		return vfio_iommu_type1_ioctl(c, VFIO_IOMMU_MAP_DMA,
					      (unsigned long)&map);
	return vfio_iommu_type1_ioctl_mm(c, mm, VFIO_IOMMU_MAP_DMA,
					 (unsigned long)&map);
}

long test_unmap_dma(struct vfio_iommu *c, struct mm *mm, uint64_t iova,
		    uint64_t size, uint32_t flags, uint64_t *done)
{
	struct vfio_iommu_type1_dma_unmap u = {
		.argsz = sizeof(u),
		.flags = flags,
		.iova = iova,
		.size = size,
	};
	long ret;

	if (!mm)
		ret = vfio_iommu_type1_ioctl(c, VFIO_IOMMU_UNMAP_DMA,
					     (unsigned long)&u);
	else
		ret = vfio_iommu_type1_ioctl_mm(c, mm, VFIO_IOMMU_UNMAP_DMA,
						(unsigned long)&u);
	if (done)
		*done = u.size;
	return ret;
}

struct vfio_iommu_type1_stats test_vfio_stats(struct vfio_iommu *c)
{
	struct vfio_iommu_type1_stats st;

	vfio_iommu_type1_get_stats(c, &st);
	return st;
}

uint64_t test_vfio_pin_refs(const struct test_vfio_machine *m)
{
	struct phys_report r;

	phys_report(m->p->pm, mm_owner(m->mm), &r);
	return r.pin_refs;
}

void test_uapi_set_container(int group, int *container,
			     unsigned long iommu_type)
{
	assert_int_equal(
		uiommu_ioctl(group, VFIO_GROUP_SET_CONTAINER, container), 0);
	if (iommu_type)
		assert_int_equal(uiommu_ioctl(*container, VFIO_SET_IOMMU,
					      iommu_type),
				 0);
}
