// SPDX-License-Identifier: MIT
/*
 * IOMMU_TEST_CMD: the test interface of /dev/iommu that Linux 6.12's
 * tools/testing/selftests/iommu drive (the kernel's CONFIG_IOMMUFD_TEST,
 * drivers/iommu/iommufd/selftest.c is the model for each op's checks and
 * errnos).  Always built in here; docs/iommufd.md, "The test interface".
 *
 * Ops so far:
 *  - MD_CHECK_REFS(uptr, length, refs): every 4 KiB page of the user
 *    range has exactly refs pins (-EIO otherwise).  A page's pins are its
 *    frame's references beyond its mappings (mem/'s refcount - mapcount);
 *    the check takes a short-term pin of its own (as the kernel's
 *    get_user_pages_fast), which it does not count, so a page nobody
 *    pinned yet is faulted in (adopted) and reads 0.  Pages of a compound
 *    (2 MiB) extent are not checked, as the kernel skips compound pages.
 *  - SET_TEMP_MEMORY_LIMIT(limit): the bytes of "temporary memory" the
 *    pinning path may use per batch (the kernel's iommufd_test_memory_limit,
 *    default 65536): io_pagetable pins at most limit / (sizeof(long) +
 *    sizeof(u32)) runs per mm_pin_pages call, the kernel's batch element,
 *    so a small limit pins in many small batches.  Deviation: the kernel's
 *    value is module-wide; ours is the context's (ictx->temp_memory_limit),
 *    so it goes with the /dev/iommu it was set on and cannot leak into
 *    another context.
 *  - any other op: -EOPNOTSUPP (as the kernel's default case).
 *
 * Objects and lifetimes: no object of its own yet; the ops read the
 * context's mm and write the context's limit.
 *
 * Locking: none held by the ops; the limit is an atomic the pin path
 * reads once per IOAS_MAP.
 */
#include <errno.h>
#include <stdatomic.h>

#include "iommufd/iommufd_private.h"
#include "iommufd/iommufd_test_uapi.h"
#include "lib/internal.h"

#define PG IOMMUFD_PAGE_SIZE

/* The pins of the page at uaddr, less the one this check takes. */
static int test_page_pins(struct mm *mm, unsigned long uaddr, bool *compound,
			  uint32_t *pins)
{
	struct phys_frame_info info;
	struct mm_pin_run run;
	unsigned int nr = 0;
	long n;
	int ret;

	n = mm_pin_pages(mm, uaddr, 1, 0, &run, 1, &nr);
	if (n < 0)
		return (int)n;
	if (n != 1 || nr != 1)
		return -EFAULT;
	ret = phys_frame_info(mm_phys(mm), run.pa, &info);
	if (!ret) {
		*compound = info.order != 0;
		/* the frame's references: its mappings, our pin, the others */
		*pins = info.refcount - info.mapcount - 1;
	}
	mm_unpin_pages(mm, &run, 1, 0);
	return ret;
}

static int iommufd_test_md_check_refs(struct iommufd_ucmd *ucmd, uint64_t uptr,
				      uint64_t length, uint32_t refs)
{
	struct mm *mm = iommufd_ctx_mm(ucmd->ictx);
	uint64_t end;

	if (length % PG || uptr % PG || check_add_overflow(uptr, length, &end))
		return -EINVAL;
	for (; length; length -= PG, uptr += PG) {
		bool compound = false;
		uint32_t pins = 0;
		int ret;

		ret = test_page_pins(mm, (unsigned long)uptr, &compound, &pins);
		if (ret)
			return ret;
		if (!compound && pins != refs)
			return -EIO;
	}
	return 0;
}

static int iommufd_test_set_memory_limit(struct iommufd_ucmd *ucmd,
					 uint32_t limit)
{
	/* one batch element at least: a pfn and a count */
	if (limit < sizeof(unsigned long) + sizeof(uint32_t))
		return -EINVAL;
	atomic_store_explicit(&ucmd->ictx->temp_memory_limit, limit,
			      memory_order_relaxed);
	return 0;
}

unsigned int iommufd_test_pin_batch(struct iommufd_ctx *ictx)
{
	uint32_t limit = atomic_load_explicit(&ictx->temp_memory_limit,
					      memory_order_relaxed);

	return limit / (sizeof(unsigned long) + sizeof(uint32_t));
}

int iommufd_test(struct iommufd_ucmd *ucmd)
{
	struct iommu_test_cmd *cmd = ucmd->cmd;

	switch (cmd->op) {
	case IOMMU_TEST_OP_MD_CHECK_REFS:
		return iommufd_test_md_check_refs(ucmd, cmd->check_refs.uptr,
						  cmd->check_refs.length,
						  cmd->check_refs.refs);
	case IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT:
		return iommufd_test_set_memory_limit(ucmd,
						     cmd->memory_limit.limit);
	default:
		return -EOPNOTSUPP;
	}
}
