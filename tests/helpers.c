// SPDX-License-Identifier: MIT
#include "helpers.h"

#include <uiommu/base.h>

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
