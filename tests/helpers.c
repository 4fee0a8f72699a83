// SPDX-License-Identifier: MIT
#include "helpers.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <uiommu/base.h>

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
