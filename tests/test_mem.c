// SPDX-License-Identifier: MIT
/*
 * Tests of the memory layer: physical frames (phys_), address spaces (mm_),
 * pinning, discard under pins, MMU notifiers and locked-memory accounting.
 * Every test ends with the teardown invariant checker: nothing pinned,
 * nothing charged, no frame left allocated.
 */
#include "helpers.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mem/mem.h"

#include "mem/mmio_trap.h"
#include "mem/phys.h"

#define PG   PHYS_PAGE_SIZE
#define HUGE PHYS_HUGE_SIZE
#define MiB  (1ULL << 20)

struct fixture {
	struct phys_mem *pm;
	struct mm *mm;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->pm = test_phys_create();
	assert_int_equal(mm_create(f->pm, &f->mm), 0);
	mm_set_memlock_limit(f->mm, 64 * MiB);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f->mm) {
		assert_int_equal(mm_check_invariants(f->mm, stderr), 0);
		mm_destroy(f->mm);
	}
	assert_int_equal(mem_check_invariants(f->pm, PHYS_OWNER_NONE, stderr),
			 0);
	phys_destroy(f->pm);
	free(f);
	return 0;
}

static uint64_t frames_allocated(struct phys_mem *pm)
{
	struct phys_report r;

	phys_report(pm, PHYS_OWNER_NONE, &r);
	return r.allocated;
}

/* ---- phys ---------------------------------------------------------------- */

static void test_phys_config(void **state)
{
	struct phys_config bad_size = {PHYS_DEFAULT_BASE, (1ULL << 30) + PG};
	struct phys_config bad_base = {PHYS_DEFAULT_BASE + PG, 1ULL << 30};
	struct phys_config zero = {PHYS_DEFAULT_BASE, 0};
	struct phys_config wrap = {~0ULL << 30, 2ULL << 30};
	struct phys_config ok = {4ULL << 30, 2ULL << 30};
	struct phys_mem *pm = NULL;
	phys_addr_t pa;

	assert_int_equal(phys_create(&bad_size, &pm), -EINVAL);
	assert_int_equal(phys_create(&bad_base, &pm), -EINVAL);
	assert_int_equal(phys_create(&zero, &pm), -EINVAL);
	assert_int_equal(phys_create(&wrap, &pm), -EINVAL);
	assert_null(pm);

	assert_int_equal(phys_create(&ok, &pm), 0);
	assert_int_equal(phys_base(pm), 4ULL << 30);
	assert_int_equal(phys_size(pm), 2ULL << 30);
	assert_int_equal(phys_alloc_pages(pm, 0, 0, PHYS_OWNER_KERNEL, &pa), 0);
	assert_true(pa >= (4ULL << 30) && pa < (6ULL << 30));
	assert_ptr_equal(phys_virt_to_phys(pm, phys_to_virt(pm, pa)), pa);
	phys_free_pages(pm, pa, 0);
	phys_destroy(pm);
}

static void test_phys_alloc_aligned(void **state)
{
	struct fixture *f = *state;
	struct phys_frame_info info;
	phys_addr_t pa[PHYS_HUGE_ORDER + 2];
	unsigned int order;

	for (order = 0; order <= PHYS_HUGE_ORDER + 1; order++) {
		uint64_t size = PG << order;

		assert_int_equal(phys_alloc_pages(f->pm, order, 0,
						  PHYS_OWNER_KERNEL,
						  &pa[order]),
				 0);
		assert_int_equal((pa[order] - phys_base(f->pm)) % size, 0);
	}
	/* a 2 MiB compound extent keeps one count, on its head */
	assert_int_equal(
		phys_frame_info(f->pm, pa[PHYS_HUGE_ORDER] + 5 * PG, &info), 0);
	assert_int_equal(info.state, PHYS_FRAME_ALLOCATED);
	assert_int_equal(info.owner, PHYS_OWNER_KERNEL);
	for (order = 0; order <= PHYS_HUGE_ORDER + 1; order++)
		phys_free_pages(f->pm, pa[order], order);
	assert_int_equal(frames_allocated(f->pm), 0);
}

/* Free memory goes back to the host and reads as zero when reallocated. */
static void test_phys_free_punches_hole(void **state)
{
	struct fixture *f = *state;
	struct phys_stats before, after;
	phys_addr_t pa, pa2;
	uint8_t *p;

	assert_int_equal(phys_alloc_pages(f->pm, 4, 0, PHYS_OWNER_KERNEL, &pa),
			 0);
	p = phys_to_virt(f->pm, pa);
	memset(p, 0x5a, 16 * PG);
	phys_get_stats(f->pm, &before);
	phys_free_pages(f->pm, pa, 4);
	phys_get_stats(f->pm, &after);
	assert_int_equal(after.bytes_punched - before.bytes_punched, 16 * PG);
	assert_int_equal(after.frames_free - before.frames_free, 16);

	assert_int_equal(phys_alloc_pages(f->pm, 4, 0, PHYS_OWNER_KERNEL, &pa2),
			 0);
	assert_int_equal(pa2, pa); /* the buddy allocator reuses it */
	for (size_t i = 0; i < 16 * PG; i++)
		if (p[i])
			fail_msg("byte %zu of reused memory is %#x", i, p[i]);
	phys_free_pages(f->pm, pa2, 4);
}

static void test_phys_exhaustion(void **state)
{
	struct fixture *f = *state;
	struct phys_stats st;
	phys_addr_t pa[2], extra;

	/* 1 GiB of memory is two 512 MiB extents and nothing more */
	assert_int_equal(
		phys_alloc_pages(f->pm, 17, 0, PHYS_OWNER_KERNEL, &pa[0]), 0);
	assert_int_equal(
		phys_alloc_pages(f->pm, 17, 0, PHYS_OWNER_KERNEL, &pa[1]), 0);
	assert_int_equal(phys_alloc_pages(f->pm, 0, 0, PHYS_OWNER_KERNEL,
					  &extra),
			 -ENOMEM);
	assert_int_equal(phys_alloc_pages(f->pm, PHYS_MAX_ORDER + 1, 0,
					  PHYS_OWNER_KERNEL, &extra),
			 -EINVAL);
	phys_free_pages(f->pm, pa[0], 17);
	phys_free_pages(f->pm, pa[1], 17);
	phys_get_stats(f->pm, &st);
	assert_int_equal(st.frames_free, st.frames_total);
	/* the buddies merged back into one 1 GiB extent */
	assert_int_equal(phys_alloc_pages(f->pm, PHYS_MAX_ORDER, 0,
					  PHYS_OWNER_KERNEL, &extra),
			 0);
	phys_free_pages(f->pm, extra, PHYS_MAX_ORDER);
}

/* A checked access to a freed or reused frame is detected; the direct map
 * checks nothing. */
static void test_phys_checked_access(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[64] = {0}, out[64];
	phys_addr_t pa, pa2;
	uint64_t snap;

	memset(buf, 0xab, sizeof(buf));
	assert_int_equal(phys_alloc_pages(f->pm, 0, 0, PHYS_OWNER_KERNEL, &pa),
			 0);
	snap = phys_epoch(f->pm);
	assert_true(phys_frame_gen(f->pm, pa) <= snap);
	assert_int_equal(phys_access_checked(f->pm, pa + 100, buf, sizeof(buf),
					     true, snap),
			 0);
	assert_int_equal(phys_access_checked(f->pm, pa + 100, out, sizeof(out),
					     false, snap),
			 0);
	assert_memory_equal(buf, out, sizeof(out));

	/* freed: -EFAULT, nothing copied */
	phys_free_pages(f->pm, pa, 0);
	assert_int_equal(phys_access_checked(f->pm, pa, buf, sizeof(buf), true,
					     snap),
			 -EFAULT);
	assert_int_equal(((uint8_t *)phys_to_virt(f->pm, pa))[0], 0);

	/* freed and reallocated to someone else: -ESTALE for the old snapshot,
	 * fine for a fresh one */
	assert_int_equal(phys_alloc_pages(f->pm, 0, 0, PHYS_OWNER_KERNEL, &pa2),
			 0);
	assert_int_equal(pa2, pa);
	assert_int_equal(phys_access_checked(f->pm, pa, buf, sizeof(buf), true,
					     snap),
			 -ESTALE);
	assert_int_equal(phys_access_checked(f->pm, pa, buf, sizeof(buf), true,
					     phys_epoch(f->pm)),
			 0);

	/* out of range, and a range whose end runs off memory */
	assert_int_equal(phys_access_checked(f->pm, phys_base(f->pm) - PG, buf,
					     8, false, snap),
			 -EFAULT);
	assert_int_equal(phys_access_checked(
				 f->pm, phys_base(f->pm) + phys_size(f->pm) - 4,
				 buf, 8, false, ~0ULL),
			 -EFAULT);
	/* a range spanning an allocated and a free frame is refused whole */
	assert_int_equal(phys_access_checked(f->pm, pa + PG - 8, buf, 16, true,
					     ~0ULL),
			 pa + PG == pa2 ? 0 : -EFAULT);
	phys_free_pages(f->pm, pa2, 0);
}

/* A11: a non-snooping device reads the memory behind the caches: data the
 * CPU did not write back is not there, data an earlier owner wrote back is
 * (leaked through a reused frame); a flush makes the device see the CPU's
 * data. */
static void test_cache_noncoherent_view(void **state)
{
	struct fixture *f = *state;
	struct cache_stats st;
	uint8_t buf[64], *cpu;
	phys_addr_t pa, pa2;

	assert_int_equal(phys_alloc_pages(f->pm, 0, 0, PHYS_OWNER_KERNEL, &pa),
			 0);
	cpu = phys_to_virt(f->pm, pa);
	memset(cpu, 0x42, PG);
	/* not written back: the device reads what memory held (zero) */
	assert_int_equal(
		phys_access_checked_nc(f->pm, pa, buf, 64, false, ~0ULL), 0);
	assert_int_equal(buf[0], 0);
	assert_int_equal(phys_access_checked(f->pm, pa, buf, 64, false, ~0ULL),
			 0);
	assert_int_equal(buf[0], 0x42); /* a snooping device sees the cache */
	/* written back */
	assert_int_equal(cache_flush_phys(f->pm, pa, PG), 0);
	assert_int_equal(
		phys_access_checked_nc(f->pm, pa, buf, 64, false, ~0ULL), 0);
	assert_int_equal(buf[0], 0x42);
	/* the frame goes to someone else, who writes without flushing: a
	 * non-snooping device reads the previous owner's data */
	phys_free_pages(f->pm, pa, 0);
	assert_int_equal(phys_alloc_pages(f->pm, 0, 0, PHYS_OWNER_KERNEL, &pa2),
			 0);
	assert_int_equal(pa2, pa);
	memset(cpu, 0x07, 64);
	assert_int_equal(
		phys_access_checked_nc(f->pm, pa2, buf, 64, false, ~0ULL), 0);
	assert_int_equal(buf[0], 0x42);
	/* device writes reach both views; the checks still apply */
	memset(buf, 0x99, 64);
	assert_int_equal(
		phys_access_checked_nc(f->pm, pa2, buf, 64, true, ~0ULL), 0);
	assert_int_equal(cpu[0], 0x99);
	assert_int_equal(cache_dram_read(f->pm, pa2, buf, 1), 0);
	assert_int_equal(buf[0], 0x99);
	phys_free_pages(f->pm, pa2, 0);
	assert_int_equal(phys_access_checked_nc(f->pm, pa2, buf, 1, false,
						~0ULL),
			 -EFAULT);
	assert_int_equal(cache_flush_phys(f->pm, phys_base(f->pm) - PG, PG),
			 -EINVAL);
	cache_get_stats(f->pm, &st);
	assert_int_equal(st.flushes, 1);
	assert_int_equal(st.flush_bytes, PG);
	assert_int_equal(st.nc_read_bytes, 64 * 3);
	assert_int_equal(st.nc_write_bytes, 64);
}

/* ---- mm regions ------------------------------------------------------------ */

static void test_mmap_real_pointer(void **state)
{
	struct fixture *f = *state;
	struct mm_vma_info vma;
	uint8_t *p, *h;

	assert_int_equal(mm_mmap(f->mm, 3 * PG + 1, 0, (void **)&p), 0);
	memset(p, 0x11, 4 * PG); /* rounded up to 4 pages, plain stores */
	assert_int_equal(mm_find_vma(f->mm, (unsigned long)p + PG, &vma), 0);
	assert_int_equal(vma.start, (unsigned long)p);
	assert_int_equal(vma.end, (unsigned long)p + 4 * PG);
	assert_true(vma.vm_flags & MM_VM_WRITE);
	assert_int_equal(mm_find_vma(f->mm, (unsigned long)p + 4 * PG, &vma),
			 -EFAULT);

	assert_int_equal(mm_mmap(f->mm, 4 * HUGE, MM_MAP_HUGE | MM_MAP_POPULATE,
				 (void **)&h),
			 0);
	assert_int_equal((uintptr_t)h % HUGE, 0);
	h[4 * HUGE - 1] = 1;

	assert_int_equal(mm_mmap(f->mm, 0, 0, (void **)&h), -EINVAL);
	assert_int_equal(mm_mmap(f->mm, PG, 1u << 30, (void **)&h), -EINVAL);
	assert_int_equal(mm_munmap(f->mm, p, 4 * PG), 0);
}

static void test_munmap_partial(void **state)
{
	struct fixture *f = *state;
	struct mm_vma_info vma;
	uint64_t before;
	uint8_t *p;

	before = frames_allocated(f->pm);
	assert_int_equal(mm_mmap(f->mm, 8 * PG, 0, (void **)&p), 0);
	assert_int_equal(frames_allocated(f->pm) - before, 8);
	assert_int_equal(mm_munmap(f->mm, p + 2 * PG, 2 * PG), 0);
	assert_int_equal(frames_allocated(f->pm) - before, 6);
	p[0] = 1;
	p[7 * PG] = 1;
	/* pinning over the hole fails, all or nothing */
	{
		struct mm_pin_run runs[8];
		unsigned int nr;

		assert_int_equal(mm_pin_pages(f->mm, (unsigned long)p, 8, 0,
					      runs, 8, &nr),
				 -EFAULT);
	}
	assert_int_equal(mm_munmap(f->mm, p + 1, PG), -EINVAL); /* unaligned */
	assert_int_equal(mm_munmap(f->mm, p, 0), -EINVAL);
	/* the length rounds up to pages, as munmap's does */
	assert_int_equal(mm_munmap(f->mm, p, PG + 1), 0);
	assert_int_equal(frames_allocated(f->pm) - before, 4);
	assert_int_equal(mm_munmap(f->mm, p, 8 * PG), 0);
	assert_int_equal(frames_allocated(f->pm), before);
	assert_int_equal(mm_find_vma(f->mm, (unsigned long)p, &vma), -EFAULT);
}

/* ---- pinning --------------------------------------------------------------- */

/* Must show: a pin that crosses the end of a region fails cleanly. */
static void test_pin_across_region_boundary(void **state)
{
	struct fixture *f = *state;
	struct mm_pin_run runs[16];
	struct phys_report r;
	unsigned int nr = 99;
	uint8_t *p;

	assert_int_equal(mm_mmap(f->mm, 8 * PG, 0, (void **)&p), 0);
	assert_int_equal(mm_pin_pages(f->mm, (unsigned long)p + 4 * PG, 8,
				      MM_GUP_WRITE | MM_GUP_LONGTERM, runs, 16,
				      &nr),
			 -EFAULT);
	assert_int_equal(nr, 0);
	phys_report(f->pm, PHYS_OWNER_NONE, &r);
	assert_int_equal(r.pinned, 0);
	assert_int_equal(mm_locked_vm(f->mm), 0);
	/* before the start, too */
	assert_int_equal(mm_pin_pages(f->mm, (unsigned long)p - PG, 2, 0, runs,
				      16, &nr),
			 -EFAULT);
	/* bad arguments */
	assert_int_equal(mm_pin_pages(f->mm, (unsigned long)p + 1, 1, 0, runs,
				      16, &nr),
			 -EINVAL);
	assert_int_equal(mm_pin_pages(f->mm, (unsigned long)p, 0, 0, runs, 16,
				      &nr),
			 -EINVAL);
	assert_int_equal(mm_pin_pages(f->mm, ~0UL & ~(PG - 1), 2, 0, runs, 16,
				      &nr),
			 -EINVAL);
	assert_int_equal(mm_munmap(f->mm, p, 8 * PG), 0);
}

/* Must show: 2^k contiguous pages come back as one run. */
static void test_pin_contiguous_one_run(void **state)
{
	struct fixture *f = *state;
	struct mm_pin_run run;
	struct phys_frame_info info;
	unsigned int nr, k;
	uint8_t *p, *h;

	/* a fresh 4 KiB-backed region of 2^k pages gets one buddy extent */
	for (k = 0; k <= 10; k++) {
		unsigned long n = 1ul << k;

		assert_int_equal(mm_mmap(f->mm, n * PG, 0, (void **)&p), 0);
		assert_int_equal(mm_pin_pages(f->mm, (unsigned long)p, n,
					      MM_GUP_WRITE, &run, 1, &nr),
				 n);
		assert_int_equal(nr, 1);
		assert_int_equal(run.npages, n);
		p[0] = 0x77;
		assert_int_equal(*(uint8_t *)phys_to_virt(f->pm, run.pa), 0x77);
		assert_int_equal(phys_frame_info(f->pm, run.pa, &info), 0);
		assert_int_equal(info.refcount, 2); /* mapped + pinned */
		mm_unpin_pages(f->mm, &run, 1, MM_GUP_WRITE);
		assert_int_equal(mm_munmap(f->mm, p, n * PG), 0);
	}

	/* 2 MiB backing: 16 MiB of folios, allocated in order, is one run
	 * whose every chunk costs one reference operation */
	assert_int_equal(mm_mmap(f->mm, 16 * MiB, MM_MAP_HUGE, (void **)&h), 0);
	assert_int_equal(mm_pin_pages(f->mm, (unsigned long)h, 4096, 0, &run, 1,
				      &nr),
			 4096);
	assert_int_equal(nr, 1);
	assert_int_equal((run.pa - phys_base(f->pm)) % HUGE, 0);
	assert_int_equal(phys_frame_info(f->pm, run.pa + 700 * PG, &info), 0);
	assert_int_equal(info.order, PHYS_HUGE_ORDER);
	assert_int_equal(info.refcount, 512 + 512);
	mm_unpin_pages(f->mm, &run, 1, 0);
	assert_int_equal(mm_munmap(f->mm, h, 16 * MiB), 0);
}

/* Out of run slots: the pin stops early and says how far it got. */
static void test_pin_partial_when_runs_run_out(void **state)
{
	struct fixture *f = *state;
	struct mm_pin_run runs[2];
	unsigned int nr;
	uint8_t *a;
	long n;

	/* a region whose frames are not contiguous: every other page unmapped
	 * and remapped by discard under a pin */
	assert_int_equal(mm_mmap(f->mm, 8 * PG, 0, (void **)&a), 0);
	for (int i = 0; i < 8; i += 2) {
		struct mm_pin_run r;

		assert_int_equal(mm_pin_pages(f->mm, (unsigned long)a + i * PG,
					      1, 0, &r, 1, &nr),
				 1);
		assert_int_equal(mm_discard(f->mm, a + i * PG, PG), 0);
		mm_unpin_pages(f->mm, &r, 1, 0);
	}
	mm_set_memlock_limit(f->mm, 8 * PG);
	n = mm_pin_pages(f->mm, (unsigned long)a, 8, MM_GUP_LONGTERM, runs, 2,
			 &nr);
	assert_true(n > 0 && n < 8);
	assert_int_equal(nr, 2);
	assert_int_equal(runs[0].npages + runs[1].npages, n);
	/* only the pages pinned stay charged */
	assert_int_equal(mm_locked_vm(f->mm), n);
	mm_unpin_pages(f->mm, runs, nr, MM_GUP_LONGTERM);
	assert_int_equal(mm_locked_vm(f->mm), 0);
	assert_int_equal(mm_munmap(f->mm, a, 8 * PG), 0);
}

static void test_pin_rdonly_and_pfnmap(void **state)
{
	struct fixture *f = *state;
	struct mm_pin_run run;
	uint64_t vm_flags;
	phys_addr_t bar, pa;
	unsigned int nr;
	uint8_t *ro, *io;

	assert_int_equal(mm_mmap(f->mm, 4 * PG, MM_MAP_RDONLY, (void **)&ro),
			 0);
	assert_int_equal(mm_pin_pages(f->mm, (unsigned long)ro, 4, MM_GUP_WRITE,
				      &run, 1, &nr),
			 -EFAULT);
	assert_int_equal(
		mm_pin_pages(f->mm, (unsigned long)ro, 4, 0, &run, 1, &nr), 4);
	mm_unpin_pages(f->mm, &run, 1, 0);
	assert_int_equal(mm_follow_pfn(f->mm, (unsigned long)ro, &pa,
				       &vm_flags),
			 -EINVAL);

	/* device memory: IO|PFNMAP, followed but never pinned */
	assert_int_equal(phys_alloc_pages(f->pm, 2, PHYS_ALLOC_ZERO,
					  PHYS_OWNER_KERNEL, &bar),
			 0);
	assert_int_equal(mm_mmap_pfn(f->mm, bar, 4 * PG, MM_VM_ALLOW_WC,
				     (void **)&io),
			 0);
	io[PG + 3] = 0x42;
	assert_int_equal(((uint8_t *)phys_to_virt(f->pm, bar))[PG + 3], 0x42);
	assert_int_equal(mm_pin_pages(f->mm, (unsigned long)io, 1, 0, &run, 1,
				      &nr),
			 -EFAULT);
	assert_int_equal(mm_follow_pfn(f->mm, (unsigned long)io + PG + 3, &pa,
				       &vm_flags),
			 0);
	assert_int_equal(pa, bar + PG);
	assert_true(vm_flags & MM_VM_IO);
	assert_true(vm_flags & MM_VM_PFNMAP);
	assert_true(vm_flags & MM_VM_ALLOW_WC);
	/* discard of device memory is refused */
	assert_int_equal(mm_discard(f->mm, io, PG), -EINVAL);
	assert_int_equal(mm_munmap(f->mm, io, 4 * PG), 0);
	phys_free_pages(f->pm, bar, 2);
	assert_int_equal(mm_munmap(f->mm, ro, 4 * PG), 0);
}

/* ---- discard ------------------------------------------------------------- */

/* Must show: discarding a pinned page leaves the pinner the old frame with
 * its old contents while the user's address reads zero; an unpinned page is
 * simply zeroed (its old contents are gone). */
static void test_discard_pinned_keeps_frame(void **state)
{
	struct fixture *f = *state;
	struct phys_frame_info info;
	struct mm_pin_run run;
	struct mm_stats st;
	unsigned int nr;
	uint8_t *p, *old;
	uint64_t before;

	assert_int_equal(mm_mmap(f->mm, 4 * PG, 0, (void **)&p), 0);
	memset(p, 0xa5, 4 * PG);
	before = frames_allocated(f->pm);
	assert_int_equal(mm_pin_pages(f->mm, (unsigned long)p + PG, 1,
				      MM_GUP_WRITE | MM_GUP_LONGTERM, &run, 1,
				      &nr),
			 1);

	assert_int_equal(mm_discard(f->mm, p, 4 * PG), 0);
	for (int i = 0; i < 4 * (int)PG; i++)
		if (p[i])
			fail_msg("user byte %d reads %#x after discard", i,
				 p[i]);
	old = phys_to_virt(f->pm, run.pa);
	for (int i = 0; i < (int)PG; i++)
		if (old[i] != 0xa5)
			fail_msg("pinned frame byte %d lost: %#x", i, old[i]);
	/* the pinner's frame is no longer the user's */
	p[PG] = 0x33;
	assert_int_equal(old[0], 0xa5);
	assert_int_equal(phys_frame_info(f->pm, run.pa, &info), 0);
	assert_int_equal(info.state, PHYS_FRAME_ALLOCATED);
	assert_false(info.mapped);
	assert_int_equal(info.refcount, 1);
	assert_int_equal(frames_allocated(f->pm), before + 1);
	mm_get_stats(f->mm, &st);
	assert_int_equal(st.replaced_frames, 1);
	assert_int_equal(st.discarded_pages, 4);

	/* unpin: the orphan is freed */
	mm_unpin_pages(f->mm, &run, 1, MM_GUP_WRITE | MM_GUP_LONGTERM);
	assert_int_equal(phys_frame_info(f->pm, run.pa, &info), 0);
	assert_int_equal(info.state, PHYS_FRAME_FREE);
	assert_int_equal(frames_allocated(f->pm), before);
	assert_int_equal(mm_locked_vm(f->mm), 0);

	assert_int_equal(mm_discard(f->mm, p + 8 * PG, PG), -ENOMEM);
	assert_int_equal(mm_munmap(f->mm, p, 4 * PG), 0);
}

/* A discarded unpinned page's frame is freed: the page gets a zeroed frame
 * of a new generation (the same frame, recycled in place), so a device that
 * kept a translation of the old one is caught by the checked accessor. */
static void test_discard_unpinned_frees_frame(void **state)
{
	struct fixture *f = *state;
	struct phys_stats before, after;
	struct mm_pin_run run;
	unsigned int nr;
	uint64_t snap;
	uint8_t *p, b = 1;

	assert_int_equal(mm_mmap(f->mm, PG, 0, (void **)&p), 0);
	p[0] = 0x66;
	assert_int_equal(
		mm_pin_pages(f->mm, (unsigned long)p, 1, 0, &run, 1, &nr), 1);
	mm_unpin_pages(f->mm, &run, 1, 0);
	snap = phys_epoch(f->pm);
	phys_get_stats(f->pm, &before);
	assert_int_equal(mm_discard(f->mm, p, PG), 0);
	phys_get_stats(f->pm, &after);
	assert_int_equal(after.frees - before.frees, 1);
	assert_int_equal(after.bytes_punched - before.bytes_punched, PG);
	assert_int_equal(p[0], 0);
	assert_int_equal(phys_access_checked(f->pm, run.pa, &b, 1, true, snap),
			 -ESTALE);
	assert_int_equal(p[0], 0);
	assert_int_equal(mm_munmap(f->mm, p, PG), 0);
}

/* A discard inside a 2 MiB folio splits it; a pin on the folio survives. */
static void test_discard_inside_huge_folio(void **state)
{
	struct fixture *f = *state;
	struct mm_pin_run run, run2;
	unsigned int nr;
	uint8_t *h;

	assert_int_equal(mm_mmap(f->mm, 2 * HUGE, MM_MAP_HUGE, (void **)&h), 0);
	memset(h, 0x3c, 2 * HUGE);
	assert_int_equal(mm_pin_pages(f->mm, (unsigned long)h + HUGE, 512, 0,
				      &run, 1, &nr),
			 512);
	/* unpinned folio: discard part of it */
	assert_int_equal(mm_discard(f->mm, h + 8 * PG, 8 * PG), 0);
	assert_int_equal(h[8 * PG], 0);
	assert_int_equal(h[7 * PG], 0x3c);
	assert_int_equal(h[16 * PG], 0x3c);
	/* pinned folio: discard part of it, pinner keeps all 512 pages */
	assert_int_equal(mm_discard(f->mm, h + HUGE + 100 * PG, PG), 0);
	assert_int_equal(h[HUGE + 100 * PG], 0);
	assert_int_equal(((uint8_t *)phys_to_virt(f->pm, run.pa))[100 * PG],
			 0x3c);
	/* discarded unpinned pages keep their (zeroed) frames in place, so the
	 * first run goes on until the page the pinned discard replaced */
	assert_int_equal(mm_pin_pages(f->mm, (unsigned long)h, 1024, 0, &run2,
				      1, &nr),
			 512 + 100);
	mm_unpin_pages(f->mm, &run2, nr, 0);
	mm_unpin_pages(f->mm, &run, 1, 0);
	assert_int_equal(mm_munmap(f->mm, h, 2 * HUGE), 0);
}

/* ---- notifiers ------------------------------------------------------------- */

struct notif {
	struct mmu_notifier mn;
	int starts, ends, releases;
	struct mmu_notifier_range last;
	uint8_t seen_before; /* a byte of the range read in start() */
	uint8_t *probe;
};

static void notif_start(struct mmu_notifier *mn,
			const struct mmu_notifier_range *r)
{
	struct notif *n = (struct notif *)mn;

	n->starts++;
	n->last = *r;
	if (n->probe)
		n->seen_before = *n->probe;
}

static void notif_end(struct mmu_notifier *mn,
		      const struct mmu_notifier_range *r)
{
	((struct notif *)mn)->ends++;
}

static void notif_release(struct mmu_notifier *mn, struct mm *mm)
{
	((struct notif *)mn)->releases++;
}

static const struct mmu_notifier_ops notif_ops = {
	.invalidate_range_start = notif_start,
	.invalidate_range_end = notif_end,
	.release = notif_release,
};

static void test_notifiers(void **state)
{
	struct fixture *f = *state;
	struct notif n = {.mn.ops = &notif_ops};
	uint8_t *p;

	assert_int_equal(mm_mmap(f->mm, 8 * PG, 0, (void **)&p), 0);
	p[2 * PG] = 0x99;
	assert_int_equal(mmu_notifier_register(&n.mn, f->mm), 0);
	assert_int_equal(mmu_notifier_register(&n.mn, f->mm), -EBUSY);

	/* called before the pages change: start() still sees the data */
	n.probe = p + 2 * PG;
	assert_int_equal(mm_discard(f->mm, p + 2 * PG, 2 * PG), 0);
	assert_int_equal(n.starts, 1);
	assert_int_equal(n.ends, 1);
	assert_int_equal(n.seen_before, 0x99);
	assert_int_equal(n.last.event, MMU_NOTIFY_DISCARD);
	assert_int_equal(n.last.start, (unsigned long)p + 2 * PG);
	assert_int_equal(n.last.end, (unsigned long)p + 4 * PG);
	n.probe = NULL;

	assert_int_equal(mm_munmap(f->mm, p + 6 * PG, 2 * PG), 0);
	assert_int_equal(n.starts, 2);
	assert_int_equal(n.last.event, MMU_NOTIFY_UNMAP);
	assert_int_equal(n.last.start, (unsigned long)p + 6 * PG);

	/* failed calls notify nobody */
	assert_int_equal(mm_discard(f->mm, p + 6 * PG, PG), -ENOMEM);
	assert_int_equal(n.starts, 2);

	mmu_notifier_unregister(&n.mn);
	assert_int_equal(mm_munmap(f->mm, p, 6 * PG), 0);
	assert_int_equal(n.starts, 2);

	/* release() once, from mm_destroy */
	assert_int_equal(mmu_notifier_register(&n.mn, f->mm), 0);
	mm_destroy(f->mm);
	f->mm = NULL;
	assert_int_equal(n.releases, 1);
}

/* ---- accounting ------------------------------------------------------------ */

/* Must show: accounting refuses past the limit with ENOMEM and returns to
 * zero after unpin; CAP_IPC_LOCK lifts the limit. */
static void test_accounting(void **state)
{
	struct fixture *f = *state;
	struct mm_pin_run runs[4];
	struct mm_stats st;
	unsigned int nr;
	uint8_t *p;

	mm_set_memlock_limit(f->mm, 16 * PG);
	assert_int_equal(mm_memlock_limit(f->mm), 16 * PG);
	assert_int_equal(mm_mmap(f->mm, 32 * PG, 0, (void **)&p), 0);

	assert_int_equal(mm_pin_pages(f->mm, (unsigned long)p, 16,
				      MM_GUP_LONGTERM, runs, 4, &nr),
			 16);
	assert_int_equal(mm_locked_vm(f->mm), 16);
	assert_int_equal(mm_pin_pages(f->mm, (unsigned long)p + 16 * PG, 1,
				      MM_GUP_LONGTERM, runs + 2, 2, &nr),
			 -ENOMEM);
	assert_int_equal(mm_locked_vm(f->mm), 16);
	mm_get_stats(f->mm, &st);
	assert_int_equal(st.acct_failures, 1);
	/* short-term pins are not charged */
	assert_int_equal(mm_pin_pages(f->mm, (unsigned long)p + 16 * PG, 1, 0,
				      runs + 2, 2, &nr),
			 1);
	mm_unpin_pages(f->mm, runs + 2, nr, 0);

	/* the modelled capability: a LONGTERM pin taken with it is charged
	 * but not limited; mm_lock_acct honours only the caller's lock_cap
	 * (taken when its pinning began, as type1's dma->lock_cap) */
	mm_set_cap_ipc_lock(f->mm, true);
	assert_true(mm_cap_ipc_lock(f->mm));
	assert_int_equal(mm_pin_pages(f->mm, (unsigned long)p + 16 * PG, 1,
				      MM_GUP_LONGTERM, runs + 2, 2, &nr),
			 1);
	assert_int_equal(mm_locked_vm(f->mm), 17);
	mm_unpin_pages(f->mm, runs + 2, nr, MM_GUP_LONGTERM);
	assert_int_equal(mm_lock_acct(f->mm, 100, false), -ENOMEM);
	assert_int_equal(mm_lock_acct(f->mm, 100, true), 0);
	assert_int_equal(mm_locked_vm(f->mm), 116);
	assert_int_equal(mm_lock_acct(f->mm, -100, false), 0);
	/* a modelled limit is one without the capability */
	mm_set_memlock_limit(f->mm, 16 * PG);
	assert_false(mm_cap_ipc_lock(f->mm));
	assert_int_equal(mm_lock_acct(f->mm, 1, false), -ENOMEM);
	assert_int_equal(mm_lock_acct(f->mm, 1, true), 0); /* caller's cap */
	assert_int_equal(mm_lock_acct(f->mm, -1, true), 0);

	mm_unpin_pages(f->mm, runs, 1, MM_GUP_LONGTERM);
	assert_int_equal(mm_locked_vm(f->mm), 0);
	mm_get_stats(f->mm, &st);
	assert_int_equal(st.locked_vm_peak, 116);
	assert_int_equal(mm_munmap(f->mm, p, 32 * PG), 0);
}

/*
 * The user's locked memory (iommufd's RLIMIT_MODE "user"): one counter
 * for every mm, charged against the charging mm's limit, with no
 * capability bypass; it leaves the mm's own locked_vm alone.
 */
static void test_user_lock_acct(void **state)
{
	struct fixture *f = *state;
	struct mm *other;
	struct mm_stats st;
	uint64_t base = mm_user_locked_vm();

	assert_int_equal(mm_create(f->pm, &other), 0);
	mm_set_memlock_limit(f->mm, (base + 16) * PG);
	mm_set_memlock_limit(other, (base + 20) * PG);
	mm_set_cap_ipc_lock(f->mm, true); /* no bypass */
	assert_int_equal(mm_user_lock_acct(f->mm, 10), 0);
	assert_int_equal(mm_user_locked_vm(), base + 10);
	assert_int_equal(mm_locked_vm(f->mm), 0);
	/* shared: the other mm's charge counts against the same user */
	assert_int_equal(mm_user_lock_acct(other, 8), 0);
	assert_int_equal(mm_user_lock_acct(f->mm, 1), -ENOMEM);
	assert_int_equal(mm_user_lock_acct(other, 2), 0);
	assert_int_equal(mm_user_lock_acct(other, 1), -ENOMEM);
	mm_get_stats(f->mm, &st);
	assert_int_equal(st.acct_failures, 1);
	assert_int_equal(mm_user_lock_acct(f->mm, -10), 0);
	assert_int_equal(mm_user_lock_acct(other, -10), 0);
	assert_int_equal(mm_user_locked_vm(), base);
	mm_destroy(other);
}

/* The invariant checker itself finds a leaked pin and a charge. */
static void test_invariant_checker_detects_leaks(void **state)
{
	struct fixture *f = *state;
	struct mm_pin_run run;
	struct phys_report r;
	unsigned int nr;
	FILE *devnull = fopen("/dev/null", "w");
	uint8_t *p;

	assert_int_equal(mm_mmap(f->mm, 2 * PG, 0, (void **)&p), 0);
	assert_int_equal(mm_pin_pages(f->mm, (unsigned long)p, 1,
				      MM_GUP_LONGTERM, &run, 1, &nr),
			 1);
	assert_true(mm_check_invariants(f->mm, devnull) > 0);
	assert_int_equal(mm_munmap(f->mm, p, 2 * PG), 0);
	phys_report(f->pm, PHYS_OWNER_NONE, &r);
	assert_int_equal(r.orphaned, 1);
	assert_true(mem_check_invariants(f->pm, PHYS_OWNER_NONE, devnull) > 0);
	mm_unpin_pages(f->mm, &run, 1, MM_GUP_LONGTERM);
	assert_int_equal(mm_check_invariants(f->mm, devnull), 0);
	assert_int_equal(mem_check_invariants(f->pm, PHYS_OWNER_NONE, devnull),
			 0);
	fclose(devnull);
}

/* ---- failure sweeps: every injected failure leaves nothing behind ---------- */

struct sweep {
	struct fixture *f;
	void *addr;
	uint8_t *region;
	struct mm_pin_run runs[64];
	unsigned int nr;
	unsigned int flags;
	uint64_t frames;
};

static void sweep_check_clean(void *ctx)
{
	struct sweep *s = ctx;
	struct phys_report r;

	assert_int_equal(frames_allocated(s->f->pm), s->frames);
	phys_report(s->f->pm, PHYS_OWNER_NONE, &r);
	assert_int_equal(r.pinned, 0);
	assert_int_equal(mm_locked_vm(s->f->mm), 0);
}

static int sweep_mmap(void *ctx)
{
	struct sweep *s = ctx;

	return mm_mmap(s->f->mm, 6 * HUGE + 3 * PG, s->flags, &s->addr);
}

static void sweep_munmap(void *ctx)
{
	struct sweep *s = ctx;

	assert_int_equal(mm_munmap(s->f->mm, s->addr, 6 * HUGE + 3 * PG), 0);
}

static void test_fail_sweep_mmap(void **state)
{
	struct sweep s = {.f = *state};
	unsigned int flags[] = {0, MM_MAP_HUGE, MM_MAP_POPULATE};

	for (size_t i = 0; i < ARRAY_SIZE_T(flags); i++) {
		s.flags = flags[i];
		s.frames = frames_allocated(s.f->pm);
		assert_true(test_fail_sweep(sweep_mmap, sweep_munmap,
					    sweep_check_clean, &s, 0) > 0);
	}
}

static int sweep_pin(void *ctx)
{
	struct sweep *s = ctx;
	long n;

	n = mm_pin_pages(s->f->mm, (unsigned long)s->region, 64,
			 MM_GUP_WRITE | MM_GUP_LONGTERM, s->runs, 64, &s->nr);
	return n < 0 ? (int)n : 0;
}

static void sweep_unpin(void *ctx)
{
	struct sweep *s = ctx;

	mm_unpin_pages(s->f->mm, s->runs, s->nr,
		       MM_GUP_WRITE | MM_GUP_LONGTERM);
}

static void sweep_check_unpinned(void *ctx)
{
	struct sweep *s = ctx;
	struct phys_report r;

	phys_report(s->f->pm, PHYS_OWNER_NONE, &r);
	assert_int_equal(r.pinned, 0);
	assert_int_equal(mm_locked_vm(s->f->mm), 0);
}

static void test_fail_sweep_pin(void **state)
{
	struct sweep s = {.f = *state};

	assert_int_equal(mm_mmap(s.f->mm, 64 * PG, 0, (void **)&s.region), 0);
	assert_int_equal(test_fail_sweep(sweep_pin, sweep_unpin,
					 sweep_check_unpinned, &s, 0),
			 1);
	assert_int_equal(mm_munmap(s.f->mm, s.region, 64 * PG), 0);
}

/* Discard under pins needs fresh frames for the pinned pages: a failure to
 * get them leaves the region and the pins exactly as they were. */
static int sweep_discard(void *ctx)
{
	struct sweep *s = ctx;

	return mm_discard(s->f->mm, s->region, 64 * PG);
}

static void sweep_check_discard(void *ctx)
{
	struct sweep *s = ctx;

	assert_int_equal(frames_allocated(s->f->pm), s->frames);
	for (int i = 0; i < 64; i++)
		assert_int_equal(s->region[i * PG], 0xee);
	assert_int_equal(mm_locked_vm(s->f->mm), 16);
}

static void test_fail_sweep_discard(void **state)
{
	struct sweep s = {.f = *state};
	struct mm_pin_run run;
	unsigned int nr;

	assert_int_equal(mm_mmap(s.f->mm, 64 * PG, 0, (void **)&s.region), 0);
	memset(s.region, 0xee, 64 * PG);
	assert_int_equal(mm_pin_pages(s.f->mm, (unsigned long)s.region + 8 * PG,
				      16, MM_GUP_LONGTERM, &run, 1, &nr),
			 16);
	s.frames = frames_allocated(s.f->pm);
	assert_true(test_fail_sweep(sweep_discard, NULL, sweep_check_discard,
				    &s, 0) > 0);
	assert_int_equal(s.region[9 * PG], 0);
	assert_int_equal(((uint8_t *)phys_to_virt(s.f->pm, run.pa))[0], 0xee);
	mm_unpin_pages(s.f->mm, &run, 1, MM_GUP_LONGTERM);
	assert_int_equal(mm_munmap(s.f->mm, s.region, 64 * PG), 0);
}

static int sweep_create(void *ctx)
{
	struct sweep *s = ctx;
	struct phys_mem *pm = NULL;
	struct mm *mm = NULL;
	int ret;

	ret = phys_create(NULL, &pm);
	if (ret)
		return ret;
	ret = mm_create(pm, &mm);
	if (ret) {
		phys_destroy(pm);
		return ret;
	}
	s->addr = pm;
	s->region = (uint8_t *)mm;
	return 0;
}

static void sweep_destroy(void *ctx)
{
	struct sweep *s = ctx;

	mm_destroy((struct mm *)s->region);
	phys_destroy(s->addr);
}

static void test_fail_sweep_create(void **state)
{
	struct sweep s = {.f = *state};

	assert_true(test_fail_sweep(sweep_create, sweep_destroy, NULL, &s, 0) >=
		    2);
}

/* ---- where device mappings go (mmap's address and MAP_FIXED) -------------- */

static void place_read(void *priv, uint64_t offset, unsigned int width,
		       uint64_t *val)
{
	(void)priv;
	(void)width;
	*val = 0x3300 + offset;
}

static void place_write(void *priv, uint64_t offset, unsigned int width,
			uint64_t val)
{
	(void)offset;
	(void)width;
	*(uint64_t *)priv = val;
}

static const struct mmio_trap_ops place_ops = {place_read, place_write};

/* Issue 14 (mmap of BARs honours MAP_FIXED and address hints as the kernel
 * does: drivers map over a PROT_NONE reservation).  DPDK reserves the
 * BAR's addresses PROT_NONE, maps the device fd there with MAP_FIXED and
 * uses the reservation's address: the device mapping must be exactly
 * there, trapped pages and frames alike.  MAP_FIXED over a region of the
 * mm unmaps it first; MAP_FIXED_NOREPLACE is -EEXIST over anything; an
 * unaligned fixed address -EINVAL; a hint is taken when free. */
static void test_device_mapping_placement(void **state)
{
	struct fixture *f = *state;
	struct mm_place fixed = {.flags = MM_PLACE_FIXED};
	struct mm_place norep = {.flags = MM_PLACE_NOREPLACE};
	struct mm_place hint = {0};
	phys_addr_t bar, pages[2];
	volatile uint32_t *regs;
	volatile uint64_t written = 0;
	uint8_t *res, *io, *io2;
	void *got;

	assert_int_equal(phys_alloc_pages(f->pm, 0, PHYS_ALLOC_ZERO,
					  PHYS_OWNER_KERNEL, &bar),
			 0);
	/* a program's PROT_NONE reservation, then the device over it */
	res = mmap(NULL, 4 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(res != MAP_FAILED);
	pages[0] = PHYS_ADDR_INVALID; /* registers: trapped */
	pages[1] = bar;		      /* plain memory: direct */
	fixed.addr = (unsigned long)res + PG;
	assert_int_equal(mm_mmap_device_at(f->mm, 2 * PG, pages, 0, &place_ops,
					   (void *)&written, 0, &fixed, &got),
			 0);
	assert_ptr_equal(got, res + PG);
	regs = (volatile uint32_t *)(res + PG);
	assert_int_equal(regs[2], 0x3308); /* a trapped load at +8 */
	regs[1] = 0x1234;
	assert_int_equal(written, 0x1234);
	res[2 * PG + 5] = 0x5a; /* the direct page is the frame */
	assert_int_equal(((uint8_t *)phys_to_virt(f->pm, bar))[5], 0x5a);

	/* NOREPLACE over it: -EEXIST; over the rest of the reservation
	 * (a host mapping): -EEXIST too */
	norep.addr = (unsigned long)res + PG;
	assert_int_equal(mm_mmap_pfn_at(f->mm, bar, PG, 0, &norep, &got),
			 -EEXIST);
	norep.addr = (unsigned long)res;
	assert_int_equal(mm_mmap_pfn_at(f->mm, bar, PG, 0, &norep, &got),
			 -EEXIST);
	/* unaligned: -EINVAL */
	fixed.addr = (unsigned long)res + 1;
	assert_int_equal(mm_mmap_pfn_at(f->mm, bar, PG, 0, &fixed, &got),
			 -EINVAL);
	/* MAP_FIXED over the whole device region: it is unmapped first */
	fixed.addr = (unsigned long)res + PG;
	assert_int_equal(
		mm_mmap_pfn_at(f->mm, bar, 2 * PG, 0, &fixed, (void **)&io), 0);
	assert_ptr_equal(io, res + PG);
	assert_int_equal(io[5], 0x5a); /* the frame, no longer trapped */
	io[PG + 6] = 0x6b;	       /* and the frame after it */
	/* MAP_FIXED cutting that region in part: refused, nothing changed */
	fixed.addr = (unsigned long)res + 2 * PG;
	assert_int_equal(mm_mmap_pfn_at(f->mm, bar, 2 * PG, 0, &fixed, &got),
			 -ENOMEM);
	assert_int_equal(io[PG + 6], 0x6b);
	assert_int_equal(mm_munmap(f->mm, io, 2 * PG), 0);

	/* a free hint is taken */
	hint.addr = (unsigned long)res;
	assert_int_equal(munmap(res, 4 * PG), 0);
	assert_int_equal(
		mm_mmap_pfn_at(f->mm, bar, PG, 0, &hint, (void **)&io2), 0);
	assert_ptr_equal(io2, res);
	assert_int_equal(io2[5], 0x5a);
	assert_int_equal(mm_munmap(f->mm, io2, PG), 0);
	phys_free_pages(f->pm, bar, 0);
}

/* ---- adopting the process's own memory ------------------------------------- */

/* A pin of memory the process mapped itself adopts it in place: same
 * address, same contents, now backed by frames the pinner holds; a discard
 * then behaves as for any region; teardown gives the memory back. */
static void test_adopt_own_memory(void **state)
{
	struct fixture *f = *state;
	struct mm_pin_run runs[4];
	unsigned int nr;
	uint8_t *own, *old;
	FILE *tmp;
	void *filemap;

	own = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(own != MAP_FAILED);
	for (int i = 0; i < 8; i++)
		memset(own + i * PG, i + 1, PG);

	/* off by default */
	assert_int_equal(mm_pin_pages(f->mm, (unsigned long)own, 8, 0, runs, 4,
				      &nr),
			 -EFAULT);
	mm_set_adopt(f->mm, true);
	assert_int_equal(mm_pin_pages(f->mm, (unsigned long)own + 2 * PG, 4,
				      MM_GUP_WRITE | MM_GUP_LONGTERM, runs, 4,
				      &nr),
			 4);
	/* the process sees the same memory, and so does the pinner */
	for (int i = 0; i < 8; i++)
		assert_int_equal(own[i * PG + 7], i + 1);
	old = phys_to_virt(f->pm, runs[0].pa);
	assert_int_equal(old[0], 3);
	own[2 * PG] = 0x77;
	assert_int_equal(old[0], 0x77);
	/* a later pin of a wider range adopts only what is new */
	{
		struct mm_pin_run r2[8];
		unsigned int nr2;

		assert_int_equal(mm_pin_pages(f->mm, (unsigned long)own, 8, 0,
					      r2, 8, &nr2),
				 8);
		mm_unpin_pages(f->mm, r2, nr2, 0);
	}
	/* discard under the pin: the pinner keeps the data */
	assert_int_equal(mm_discard(f->mm, own + 2 * PG, PG), 0);
	assert_int_equal(own[2 * PG], 0);
	assert_int_equal(old[0], 0x77);
	mm_unpin_pages(f->mm, runs, nr, MM_GUP_WRITE | MM_GUP_LONGTERM);

	/* file-backed memory is not adopted */
	tmp = tmpfile();
	assert_non_null(tmp);
	assert_int_equal(ftruncate(fileno(tmp), PG), 0);
	filemap = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE,
		       fileno(tmp), 0);
	assert_true(filemap != MAP_FAILED);
	assert_int_equal(mm_pin_pages(f->mm, (unsigned long)filemap, 1, 0, runs,
				      4, &nr),
			 -EFAULT);
	munmap(filemap, PG);
	fclose(tmp);

	/* teardown hands the memory back, contents and all */
	mm_destroy(f->mm);
	f->mm = NULL;
	assert_int_equal(own[7 * PG], 8);
	assert_int_equal(own[2 * PG], 0);
	own[0] = 1; /* still writable, still ours */
	munmap(own, 8 * PG);
}

/* Issue 14 (DPDK from Debian runs unmodified): DPDK's --no-huge memory is
 * a MAP_SHARED mapping of a memfd, and MAP_DMA of it must pin.  A pin
 * adopts shared memory that no file system names (a memfd, shared
 * anonymous memory) as it adopts private anonymous memory: same address,
 * same contents, writable; a shared mapping of a real file is not
 * adopted (-EFAULT: its writes belong to the file). */
static void test_adopt_shared_memory(void **state)
{
	struct fixture *f = *state;
	struct mm_pin_run runs[4];
	unsigned int nr;
	uint8_t *mfd, *shanon, *old;
	void *filemap;
	FILE *tmp;
	int fd;

	mm_set_adopt(f->mm, true);
	fd = memfd_create("nohuge", 0);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 4 * PG), 0);
	mfd = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(mfd != MAP_FAILED);
	for (int i = 0; i < 4; i++)
		memset(mfd + i * PG, 0x10 + i, PG);
	assert_int_equal(mm_pin_pages(f->mm, (unsigned long)mfd, 4,
				      MM_GUP_WRITE | MM_GUP_LONGTERM, runs, 4,
				      &nr),
			 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(mfd[i * PG + 9], 0x10 + i);
	old = phys_to_virt(f->pm, runs[0].pa);
	mfd[5] = 0x99; /* the program's store reaches the pinned frame */
	assert_int_equal(old[5], 0x99);
	mm_unpin_pages(f->mm, runs, nr, MM_GUP_WRITE | MM_GUP_LONGTERM);

	shanon = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(shanon != MAP_FAILED);
	memset(shanon, 0x42, 2 * PG);
	assert_int_equal(mm_pin_pages(f->mm, (unsigned long)shanon, 2, 0, runs,
				      4, &nr),
			 2);
	assert_int_equal(shanon[PG + 1], 0x42);
	mm_unpin_pages(f->mm, runs, nr, 0);

	/* a shared mapping of a file: not adopted */
	tmp = tmpfile();
	assert_non_null(tmp);
	assert_int_equal(ftruncate(fileno(tmp), PG), 0);
	filemap = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED,
		       fileno(tmp), 0);
	assert_true(filemap != MAP_FAILED);
	assert_int_equal(mm_pin_pages(f->mm, (unsigned long)filemap, 1, 0, runs,
				      4, &nr),
			 -EFAULT);
	munmap(filemap, PG);
	fclose(tmp);

	/* teardown hands the memory back with its contents */
	mm_destroy(f->mm);
	f->mm = NULL;
	assert_int_equal(mfd[5], 0x99);
	assert_int_equal(mfd[3 * PG], 0x13);
	assert_int_equal(shanon[0], 0x42);
	munmap(mfd, 4 * PG);
	munmap(shanon, 2 * PG);
	close(fd);
}

/* ---- the program's own munmap and madvise (preload library) -------------- */

/* A record of the C library calls mm made, and the notifier's count when
 * each came (notifiers run before the change). */
static struct host_log {
	int calls;
	unsigned long addr[8], len[8];
	int advice[8];
	int starts_before[8];
	struct notif *n;
	bool fake; /* answer 0 without touching memory (the 1 TiB ranges) */
} hl;

static void host_log_call(void *addr, size_t len, int advice)
{
	if (hl.calls < 8) {
		hl.addr[hl.calls] = (unsigned long)addr;
		hl.len[hl.calls] = len;
		hl.advice[hl.calls] = advice;
		hl.starts_before[hl.calls] = hl.n ? hl.n->starts : -1;
	}
	hl.calls++;
}

static int log_munmap(void *addr, size_t len)
{
	host_log_call(addr, len, -1);
	return hl.fake ? 0 : munmap(addr, len);
}

static int log_madvise(void *addr, size_t len, int advice)
{
	host_log_call(addr, len, advice);
	return hl.fake ? 0 : madvise(addr, len, advice);
}

/* n pages of private anonymous memory at addr (MAP_FIXED if addr), page i
 * filled with fill + i */
static uint8_t *anon_pages(void *addr, unsigned long n, int fill)
{
	uint8_t *p = mmap(addr, n * PG, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | (addr ? MAP_FIXED : 0),
			  -1, 0);

	assert_true(p != MAP_FAILED);
	for (unsigned long i = 0; i < n; i++)
		memset(p + i * PG, fill + (int)i, PG);
	return p;
}

/* Adopt pages [p, p + n) by pinning them; the runs stay pinned. */
static void adopt_pin(struct fixture *f, uint8_t *p, unsigned long n,
		      struct mm_pin_run *runs, unsigned int *nr)
{
	mm_set_adopt(f->mm, true);
	assert_int_equal(mm_pin_pages(f->mm, (unsigned long)p, n, MM_GUP_WRITE,
				      runs, 16, nr),
			 (long)n);
}

#define TiB (1ULL << 40)

/*
 * A PROT_NONE reservation of up to 1 TiB: ThreadSanitizer's fixed memory
 * layout leaves no free TiB, so halve until one fits (at least 16 GiB,
 * still four million pages a per-page lookup would visit).  *len is set.
 */
static uint8_t *reserve_range(uint64_t *len)
{
	void *p;

	for (*len = TiB; *len >= (16ULL << 30); *len /= 2) {
		p = mmap(NULL, *len, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p != MAP_FAILED)
			return p;
	}
	return MAP_FAILED;
}

/* Must show (issue 12): the preload library's munmap costs the pages it
 * knows in the range, not the range: 1 TiB with nothing adopted looks at
 * no page and searches the region tree once; the same 1 TiB around one
 * adopted 2-page range looks at exactly those 2 pages. */
static void test_foreign_munmap_cost_is_adopted_pages(void **state)
{
	struct fixture *f = *state;
	struct mm_stats s0, s1;
	struct mm_pin_run runs[16];
	unsigned int nr;
	uint8_t *res, *p;
	uint64_t len;

	/* up to 1 TiB of address space, nothing of it adopted */
	res = reserve_range(&len);
	assert_true(res != MAP_FAILED);
	hl = (struct host_log){.fake = true};
	mm_get_stats(f->mm, &s0);
	assert_int_equal(mm_foreign_munmap(f->mm, res, len, log_munmap), 0);
	mm_get_stats(f->mm, &s1);
	assert_int_equal(s1.pages_scanned - s0.pages_scanned, 0);
	assert_int_equal(s1.vma_lookups - s0.vma_lookups, 1);
	assert_int_equal(hl.calls, 1); /* the C library's call, unchanged */
	assert_int_equal(hl.addr[0], (unsigned long)res);
	assert_int_equal(hl.len[0], len);

	/* the same with 2 adopted pages in the middle, pinned */
	p = anon_pages(res + len / 2, 2, 0x10);
	adopt_pin(f, p, 2, runs, &nr);
	hl = (struct host_log){.fake = false};
	mm_get_stats(f->mm, &s0);
	assert_int_equal(mm_foreign_munmap(f->mm, res, len, log_munmap), 0);
	mm_get_stats(f->mm, &s1);
	assert_int_equal(s1.pages_scanned - s0.pages_scanned, 2);
	assert_int_equal(s1.vma_lookups - s0.vma_lookups, 1);
	assert_int_equal(s1.unmapped_pages - s0.unmapped_pages, 2);
	assert_int_equal(s1.regions, s0.regions - 1);
	assert_int_equal(hl.calls, 1);
	/* the pinned page stays with the pinner, contents and all */
	assert_int_equal(((uint8_t *)phys_to_virt(f->pm, runs[0].pa))[5], 0x10);
	mm_unpin_pages(f->mm, runs, nr, MM_GUP_WRITE);
}

/* The same for madvise: 1 TiB of nothing is one C library call and no
 * page; around 2 adopted pages, 2 pages and a call for each side. */
static void test_foreign_madvise_cost_is_adopted_pages(void **state)
{
	struct fixture *f = *state;
	struct mm_stats s0, s1;
	struct mm_pin_run runs[16];
	unsigned int nr;
	uint8_t *res, *p;
	uint64_t len;

	res = reserve_range(&len);
	assert_true(res != MAP_FAILED);
	hl = (struct host_log){.fake = true};
	mm_get_stats(f->mm, &s0);
	assert_int_equal(mm_foreign_madvise(f->mm, res, len, MADV_DONTNEED,
					    log_madvise),
			 0);
	mm_get_stats(f->mm, &s1);
	assert_int_equal(s1.pages_scanned - s0.pages_scanned, 0);
	assert_int_equal(s1.vma_lookups - s0.vma_lookups, 1);
	assert_int_equal(hl.calls, 1);
	assert_int_equal(hl.len[0], len);

	p = anon_pages(res + len / 2, 2, 0x20);
	adopt_pin(f, p, 2, runs, &nr);
	hl = (struct host_log){.fake = true};
	mm_get_stats(f->mm, &s0);
	assert_int_equal(mm_foreign_madvise(f->mm, res, len, MADV_DONTNEED,
					    log_madvise),
			 0);
	mm_get_stats(f->mm, &s1);
	assert_int_equal(s1.pages_scanned - s0.pages_scanned, 2);
	assert_int_equal(s1.vma_lookups - s0.vma_lookups, 1);
	assert_int_equal(s1.discarded_pages - s0.discarded_pages, 2);
	assert_int_equal(s1.replaced_frames - s0.replaced_frames, 2);
	assert_int_equal(hl.calls, 2); /* below and above the adopted pages */
	assert_int_equal(hl.addr[0], (unsigned long)res);
	assert_int_equal(hl.len[0], len / 2);
	assert_int_equal(hl.addr[1], (unsigned long)p + 2 * PG);
	assert_int_equal(hl.len[1], len / 2 - 2 * PG);
	/* the program sees zero pages, the pinner its data */
	assert_int_equal(p[0], 0);
	assert_int_equal(p[PG + 9], 0);
	assert_int_equal(((uint8_t *)phys_to_virt(f->pm, runs[0].pa))[0], 0x20);
	mm_unpin_pages(f->mm, runs, nr, MM_GUP_WRITE);
	assert_int_equal(mm_foreign_munmap(f->mm, res, len, munmap), 0);
}

/* munmap cutting adopted memory at both ends and in the middle: the
 * notifiers see each piece before the C library unmaps it, the rest stays
 * adopted with its contents, a range the kernel refuses changes nothing,
 * and the address space freed holds no region (memory mapped there again
 * is the program's, adopted afresh). */
static void test_foreign_munmap_partial_overlaps(void **state)
{
	struct fixture *f = *state;
	struct notif n = {.mn.ops = &notif_ops};
	struct mm_pin_run runs[16], r2[16];
	unsigned int nr, nr2;
	struct mm_vma_info vma;
	struct mm_stats s0, s1;
	uint8_t *res, *p;

	/* [res, res + 12 pages): pages 2..9 adopted, 0..1 and 10..11 not */
	res = anon_pages(NULL, 12, 0x40);
	p = res + 2 * PG;
	adopt_pin(f, p, 8, runs, &nr);
	assert_int_equal(mmu_notifier_register(&n.mn, f->mm), 0);
	hl = (struct host_log){.n = &n};

	/* what munmap refuses: the C library answers, nothing changes */
	mm_get_stats(f->mm, &s0);
	errno = 0;
	assert_int_equal(mm_foreign_munmap(f->mm, p + 1, PG, log_munmap),
			 -EINVAL);
	assert_int_equal(mm_foreign_munmap(f->mm, p, 0, log_munmap), -EINVAL);
	assert_int_equal(mm_foreign_munmap(f->mm, (void *)(-2 * PG), 4 * PG,
					   log_munmap),
			 -EINVAL);
	mm_get_stats(f->mm, &s1);
	assert_int_equal(hl.calls, 3);
	assert_int_equal(n.starts, 0);
	assert_int_equal(s1.unmapped_pages, s0.unmapped_pages);
	assert_int_equal(p[0], 0x42);

	/* the front: pages 0..3, two of them adopted */
	assert_int_equal(mm_foreign_munmap(f->mm, res, 4 * PG, log_munmap), 0);
	assert_int_equal(n.starts, 1);
	assert_int_equal(n.last.start, (unsigned long)p);
	assert_int_equal(n.last.end, (unsigned long)p + 2 * PG);
	assert_int_equal(hl.starts_before[3], 1); /* notifier, then change */
	assert_int_equal(n.ends, 1);
	assert_int_equal(mm_find_vma(f->mm, (unsigned long)p + 2 * PG, &vma),
			 0);
	assert_int_equal(vma.start, (unsigned long)p + 2 * PG);
	assert_int_equal(vma.end, (unsigned long)p + 8 * PG);

	/* the end: pages 8..11, two adopted (a length rounded up) */
	assert_int_equal(mm_foreign_munmap(f->mm, res + 8 * PG, 4 * PG - 100,
					   log_munmap),
			 0);
	assert_int_equal(n.last.start, (unsigned long)res + 8 * PG);
	assert_int_equal(n.last.end, (unsigned long)res + 10 * PG);
	assert_int_equal(mm_find_vma(f->mm, (unsigned long)res + 7 * PG, &vma),
			 0);
	assert_int_equal(vma.end, (unsigned long)res + 8 * PG);

	/* the middle: page 5 splits [4, 8) into [4, 5) and [6, 8) */
	mm_get_stats(f->mm, &s0);
	assert_int_equal(mm_foreign_munmap(f->mm, res + 5 * PG, PG, log_munmap),
			 0);
	mm_get_stats(f->mm, &s1);
	assert_int_equal(s1.regions, s0.regions + 1);
	assert_int_equal(mm_find_vma(f->mm, (unsigned long)res + 4 * PG, &vma),
			 0);
	assert_int_equal(vma.end, (unsigned long)res + 5 * PG);
	assert_int_equal(mm_find_vma(f->mm, (unsigned long)res + 6 * PG, &vma),
			 0);
	assert_int_equal(vma.start, (unsigned long)res + 6 * PG);
	assert_int_equal(vma.end, (unsigned long)res + 8 * PG);
	assert_int_equal(mm_find_vma(f->mm, (unsigned long)res + 5 * PG, &vma),
			 -EFAULT);
	/* what is left is still adopted, contents and all */
	assert_int_equal(res[4 * PG], 0x44);
	assert_int_equal(res[7 * PG + 1], 0x47);
	assert_int_equal(mm_pin_pages(f->mm, (unsigned long)res + 6 * PG, 2, 0,
				      r2, 16, &nr2),
			 2);
	assert_int_equal(r2[0].pa, runs[0].pa + 4 * PG); /* the same frames */
	mm_unpin_pages(f->mm, r2, nr2, 0);

	/* memory mapped again in the freed middle page is the program's:
	 * a pin adopts it (with a hole left in a region it would fault) */
	anon_pages(res + 5 * PG, 1, 0x70);
	assert_int_equal(mm_pin_pages(f->mm, (unsigned long)res + 5 * PG, 1, 0,
				      r2, 16, &nr2),
			 1);
	assert_int_equal(((uint8_t *)phys_to_virt(f->pm, r2[0].pa))[0], 0x70);
	mm_unpin_pages(f->mm, r2, nr2, 0);

	/* the pinned frames of the unmapped pages kept their data */
	assert_int_equal(((uint8_t *)phys_to_virt(f->pm, runs[0].pa))[0], 0x42);
	assert_int_equal(
		((uint8_t *)phys_to_virt(f->pm, runs[0].pa + 3 * PG))[0], 0x45);
	mm_unpin_pages(f->mm, runs, nr, MM_GUP_WRITE);
	assert_int_equal(mm_foreign_munmap(f->mm, res, 12 * PG, log_munmap), 0);
	assert_int_equal(mm_find_vma(f->mm, (unsigned long)res + 6 * PG, &vma),
			 -EFAULT);
	mmu_notifier_unregister(&n.mn);
}

/* madvise as the kernel walks it: the C library gets the stretches mm
 * does not know, adopted pieces are discarded (pinned frames stay with the
 * pinner) or refused as Linux refuses them for private anonymous memory,
 * holes give ENOMEM at the end, bad arguments change nothing. */
static void test_foreign_madvise_semantics(void **state)
{
	struct fixture *f = *state;
	struct mm_pin_run runs[16], bar_runs[1];
	unsigned int nr;
	struct mm_stats s0, s1;
	phys_addr_t bar_pa;
	uint8_t *res, *p;
	void *bar;

	/* pages 0..1 the program's, 2..5 adopted (2 pinned), 6 unmapped */
	res = anon_pages(NULL, 7, 0x50);
	assert_int_equal(munmap(res + 6 * PG, PG), 0);
	p = res + 2 * PG;
	adopt_pin(f, p, 2, runs, &nr);
	{
		unsigned int nr2;

		adopt_pin(f, p + 2 * PG, 2, bar_runs, &nr2);
		mm_unpin_pages(f->mm, bar_runs, nr2, MM_GUP_WRITE);
	}
	hl = (struct host_log){0};

	/* arguments madvise refuses, and an empty range: the C library's */
	mm_get_stats(f->mm, &s0);
	assert_int_equal(mm_foreign_madvise(f->mm, p + 1, PG, MADV_DONTNEED,
					    log_madvise),
			 -EINVAL);
	assert_int_equal(mm_foreign_madvise(f->mm, p, (size_t)-100,
					    MADV_DONTNEED, log_madvise),
			 -EINVAL);
	assert_int_equal(
		mm_foreign_madvise(f->mm, p, 0, MADV_DONTNEED, log_madvise), 0);
	/* MADV_REMOVE of adopted (private anonymous) memory is EINVAL */
	assert_int_equal(mm_foreign_madvise(f->mm, p, PG, MADV_REMOVE,
					    log_madvise),
			 -EINVAL);
	mm_get_stats(f->mm, &s1);
	assert_int_equal(hl.calls, 3);
	assert_int_equal(s1.discarded_pages, s0.discarded_pages);
	assert_int_equal(p[0], 0x52);

	/* over everything: program's pages, adopted, then a hole */
	hl = (struct host_log){0};
	assert_int_equal(mm_foreign_madvise(f->mm, res, 7 * PG, MADV_DONTNEED,
					    log_madvise),
			 -ENOMEM);
	assert_int_equal(hl.calls, 2);
	assert_int_equal(hl.addr[0], (unsigned long)res);
	assert_int_equal(hl.len[0], 2 * PG);
	assert_int_equal(hl.addr[1], (unsigned long)res + 6 * PG);
	assert_int_equal(hl.len[1], PG);
	for (int i = 0; i < 6; i++)
		assert_int_equal(res[i * PG + 3], 0);
	assert_int_equal(((uint8_t *)phys_to_virt(f->pm, runs[0].pa))[3], 0x52);
	assert_int_equal(((uint8_t *)phys_to_virt(f->pm, runs[0].pa + PG))[3],
			 0x53);

	/* MADV_FREE frees adopted memory too (reads zero after it) */
	p[4 * PG - 1] = 9;
	assert_int_equal(mm_foreign_madvise(f->mm, p + 3 * PG, PG, MADV_FREE,
					    log_madvise),
			 0);
	assert_int_equal(p[4 * PG - 1], 0);

	/* device memory (IO|PFNMAP) is refused, after the stretch before it */
	assert_int_equal(
		phys_alloc_pages(f->pm, 0, 0, PHYS_OWNER_KERNEL, &bar_pa), 0);
	assert_int_equal(mm_mmap_pfn(f->mm, bar_pa, PG, 0, &bar), 0);
	assert_int_equal(mm_foreign_madvise(f->mm, bar, PG, MADV_DONTNEED,
					    log_madvise),
			 -EINVAL);
	assert_int_equal(mm_foreign_madvise(f->mm, bar, PG, MADV_REMOVE,
					    log_madvise),
			 -ENODEV);
	assert_int_equal(mm_munmap(f->mm, bar, PG), 0);
	phys_free_pages(f->pm, bar_pa, 0);

	mm_unpin_pages(f->mm, runs, nr, MM_GUP_WRITE);
	assert_int_equal(mm_foreign_munmap(f->mm, res, 7 * PG, munmap), 0);
}

static void *log_mremap(void *addr, size_t old_len, size_t new_len, int flags,
			void *new_addr)
{
	host_log_call(addr, old_len, flags);
	return mremap(addr, old_len, new_len, flags, new_addr);
}

/* mremap of adopted memory: given back to the program first, so the
 * moved memory is the program's with its contents and no region names
 * the old addresses; a pinned frame stays with its pinner; memory mm does
 * not know and bad arguments reach only the C library; device memory is
 * refused with nothing changed. */
static void test_foreign_mremap_gives_memory_back(void **state)
{
	struct fixture *f = *state;
	struct notif n = {.mn.ops = &notif_ops};
	struct mm_pin_run runs[16], r2[16];
	unsigned int nr, nr2;
	struct mm_vma_info vma;
	struct mm_stats s0, s1;
	phys_addr_t bar_pa;
	uint8_t *p, *q, *other;
	void *out, *bar;

	p = anon_pages(NULL, 4, 0x60);
	adopt_pin(f, p + PG, 1, runs, &nr);
	{
		struct mm_pin_run t[16];
		unsigned int nt;

		adopt_pin(f, p, 4, t, &nt);
		mm_unpin_pages(f->mm, t, nt, MM_GUP_WRITE);
	}
	assert_int_equal(mmu_notifier_register(&n.mn, f->mm), 0);
	hl = (struct host_log){.n = &n};

	/* unknown memory: one lookup, the C library's call */
	other = anon_pages(NULL, 1, 1);
	mm_get_stats(f->mm, &s0);
	assert_int_equal(mm_foreign_mremap(f->mm, other, PG, 2 * PG,
					   MREMAP_MAYMOVE, NULL, log_mremap,
					   &out),
			 0);
	mm_get_stats(f->mm, &s1);
	assert_true(out != MAP_FAILED);
	assert_int_equal(s1.vma_lookups - s0.vma_lookups, 1);
	assert_int_equal(s1.pages_scanned, s0.pages_scanned);
	assert_int_equal(hl.calls, 1);
	munmap(out, 2 * PG);
	/* a bad address: the C library's EINVAL, nothing changed */
	assert_int_equal(mm_foreign_mremap(f->mm, p + 1, PG, PG, MREMAP_MAYMOVE,
					   NULL, log_mremap, &out),
			 -EINVAL);
	assert_int_equal(n.starts, 0);
	/* old_len 0 on adopted (private anonymous) memory: EINVAL */
	assert_int_equal(mm_foreign_mremap(f->mm, p, 0, PG, MREMAP_MAYMOVE,
					   NULL, log_mremap, &out),
			 -EINVAL);
	assert_int_equal(hl.calls, 2);
	assert_int_equal(mm_find_vma(f->mm, (unsigned long)p, &vma), 0);

	/* grow and move: contents follow, the old range names no region */
	assert_int_equal(mm_foreign_mremap(f->mm, p, 4 * PG, 64 * PG,
					   MREMAP_MAYMOVE, NULL, log_mremap,
					   &out),
			 0);
	q = out;
	assert_true(q != MAP_FAILED);
	assert_int_equal(hl.starts_before[2], n.starts);
	assert_true(n.starts >= 1);
	for (int i = 0; i < 4; i++)
		assert_int_equal(q[i * PG + 1], 0x60 + i);
	assert_int_equal(q[63 * PG], 0);
	assert_int_equal(mm_find_vma(f->mm, (unsigned long)p, &vma), -EFAULT);
	assert_int_equal(mm_find_vma(f->mm, (unsigned long)p + 3 * PG, &vma),
			 -EFAULT);
	/* the pinner keeps its frame and data */
	q[PG] = 0x11;
	assert_int_equal(((uint8_t *)phys_to_virt(f->pm, runs[0].pa))[0], 0x61);
	mm_unpin_pages(f->mm, runs, nr, MM_GUP_WRITE);
	/* the moved memory is adopted afresh by the next pin */
	assert_int_equal(
		mm_pin_pages(f->mm, (unsigned long)q, 2, 0, r2, 16, &nr2), 2);
	assert_int_equal(((uint8_t *)phys_to_virt(f->pm, r2[0].pa))[PG], 0x11);
	mm_unpin_pages(f->mm, r2, nr2, 0);
	assert_int_equal(mm_foreign_munmap(f->mm, q, 64 * PG, munmap), 0);

	/* device memory: refused, still mapped */
	assert_int_equal(
		phys_alloc_pages(f->pm, 0, 0, PHYS_OWNER_KERNEL, &bar_pa), 0);
	assert_int_equal(mm_mmap_pfn(f->mm, bar_pa, PG, 0, &bar), 0);
	assert_int_equal(mm_foreign_mremap(f->mm, bar, PG, 2 * PG,
					   MREMAP_MAYMOVE, NULL, log_mremap,
					   &out),
			 -EINVAL);
	assert_int_equal(mm_find_vma(f->mm, (unsigned long)bar, &vma), 0);
	assert_int_equal(mm_munmap(f->mm, bar, PG), 0);
	phys_free_pages(f->pm, bar_pa, 0);
	mmu_notifier_unregister(&n.mn);
}

/* ---- concurrency ------------------------------------------------------------ */

struct pin_thread {
	struct mm *mm;
	uint8_t *base;
	int id;
};

static void *pin_worker(void *arg)
{
	struct pin_thread *t = arg;
	struct mm_pin_run runs[8];
	unsigned int nr;

	uiommu_set_cpu_id(t->id);
	for (int i = 0; i < 2000; i++) {
		unsigned long off = ((i * 7 + t->id * 13) % 60) * PG;
		long n = mm_pin_pages(t->mm, (unsigned long)t->base + off, 4,
				      MM_GUP_LONGTERM, runs, 8, &nr);

		if (n != 4)
			return (void *)1;
		mm_unpin_pages(t->mm, runs, nr, MM_GUP_LONGTERM);
	}
	return NULL;
}

/* Pins and unpins from several threads while the region stays mapped: counts
 * and charges balance. */
static void test_concurrent_pins(void **state)
{
	struct fixture *f = *state;
	struct pin_thread t[4];
	pthread_t th[4];
	struct phys_report r;
	uint8_t *p;
	void *ret;

	assert_int_equal(mm_mmap(f->mm, 64 * PG, 0, (void **)&p), 0);
	for (int i = 0; i < 4; i++) {
		t[i] = (struct pin_thread){f->mm, p, i};
		pthread_create(&th[i], NULL, pin_worker, &t[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], &ret);
		assert_null(ret);
	}
	phys_report(f->pm, PHYS_OWNER_NONE, &r);
	assert_int_equal(r.pinned, 0);
	assert_int_equal(mm_locked_vm(f->mm), 0);
	assert_int_equal(mm_munmap(f->mm, p, 64 * PG), 0);
}

#ifdef UI_LOCKDEP
static void count_extent(const struct phys_mem *pm, uint32_t head, void *arg)
{
	(*(unsigned int *)arg)++;
}

static void walk_unlocked(void *ctx)
{
	unsigned int n = 0;

	phys_for_each_allocated(ctx, count_extent, &n);
}

/* A function that needs phys_mem's lock, called without it, aborts naming
 * both. */
static void test_lockdep_phys_lock_not_held(void **state)
{
	static const char *const want[] = {"phys_for_each_allocated() must be "
					   "called with &pm->lock held",
					   "lock class pm->lock", NULL};
	struct fixture *f = *state;

	test_expect_abort(walk_unlocked, f->pm, want);
}

static void reenter_invalidate(struct mmu_notifier *mn,
			       const struct mmu_notifier_range *rg)
{
	struct mm_vma_info info;

	mm_find_vma(rg->mm, rg->start, &info);
}

static const struct mmu_notifier_ops reenter_ops = {
	.invalidate_range_start = reenter_invalidate,
};

static void munmap_reentering(void *ctx)
{
	struct fixture *f = ctx;
	struct mmu_notifier mn = {.ops = &reenter_ops};
	void *p;

	assert_int_equal(mm_mmap(f->mm, PG, 0, &p), 0);
	assert_int_equal(mmu_notifier_register(&mn, f->mm), 0);
	mm_munmap(f->mm, p, PG);
}

/* A notifier callback runs under mmap_lock: one that calls back into the
 * mm takes it again, and lockdep stops it before it deadlocks. */
static void test_lockdep_notifier_reenters_mm(void **state)
{
	static const char *const want[] = {"lock order violated: taking "
					   "mm->mmap_lock",
					   "while holding mm->mmap_lock", NULL};

	test_expect_abort(munmap_reentering, *state, want);
}
#endif

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_phys_config),
	T(test_phys_alloc_aligned),
	T(test_phys_free_punches_hole),
	T(test_phys_exhaustion),
	T(test_phys_checked_access),
	T(test_cache_noncoherent_view),
	T(test_mmap_real_pointer),
	T(test_munmap_partial),
	T(test_pin_across_region_boundary),
	T(test_pin_contiguous_one_run),
	T(test_pin_partial_when_runs_run_out),
	T(test_pin_rdonly_and_pfnmap),
	T(test_discard_pinned_keeps_frame),
	T(test_discard_unpinned_frees_frame),
	T(test_discard_inside_huge_folio),
	T(test_notifiers),
	T(test_accounting),
	T(test_user_lock_acct),
	T(test_invariant_checker_detects_leaks),
	T(test_fail_sweep_mmap),
	T(test_fail_sweep_pin),
	T(test_fail_sweep_discard),
	T(test_fail_sweep_create),
	T(test_device_mapping_placement),
	T(test_adopt_own_memory),
	T(test_adopt_shared_memory),
	T(test_foreign_munmap_cost_is_adopted_pages),
	T(test_foreign_madvise_cost_is_adopted_pages),
	T(test_foreign_munmap_partial_overlaps),
	T(test_foreign_madvise_semantics),
	T(test_foreign_mremap_gives_memory_back),
	T(test_concurrent_pins),
#ifdef UI_LOCKDEP
	T(test_lockdep_phys_lock_not_held),
	T(test_lockdep_notifier_reenters_mm),
#endif
};

TEST_MAIN(tests)
