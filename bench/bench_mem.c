// SPDX-License-Identifier: MIT
/*
 * Memory-layer benchmarks: pin+unpin (get_user_pages, FOLL_LONGTERM with
 * accounting) of a pre-populated 1 GiB region backed by 4 KiB frames and by
 * 2 MiB folios, beside the cost of touching one byte of every page of the
 * same region in the same run.  Figures are medians of ns per page.
 *
 * The preload library's munmap (mm_foreign_munmap) of 1 TiB: with nothing
 * adopted, and around two adopted 2-page ranges.  The C library's call is
 * left out (a stand-in answers 0), so the figure is the library's own
 * cost; medians of ns per call.
 *
 * Trapped MMIO (mmio_trap.c): a 32-bit load from a trapped register page,
 * emulated through the device's read op (trap.read32), beside the bare
 * fault round trip of the same machine in the same run (a load from a
 * PROT_NONE page whose handler only steps over it: the kernel's fault,
 * signal delivery and sigreturn, nothing of ours); medians of ns per load
 * and their ratio.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <ucontext.h>

#include "mem/mem.h"
#include "mem/mmio_trap.h"

#include "bench.h"

#define REGION (1ULL << 30)

struct mem_bench {
	struct phys_mem *pm;
	struct mm *mm;
	struct mm_pin_run *runs;
	unsigned int max_runs;
};

static double pin_unpin_ns_per_page(struct mem_bench *b, void *addr,
				    unsigned long npages)
{
	unsigned int nr;
	uint64_t t0, t1;
	long n;

	t0 = bench_now_ns();
	n = mm_pin_pages(b->mm, (unsigned long)addr, npages,
			 MM_GUP_WRITE | MM_GUP_LONGTERM, b->runs, b->max_runs,
			 &nr);
	if (n != (long)npages) {
		fprintf(stderr, "pin: %ld\n", n);
		exit(1);
	}
	mm_unpin_pages(b->mm, b->runs, nr, MM_GUP_WRITE | MM_GUP_LONGTERM);
	t1 = bench_now_ns();
	return (double)(t1 - t0) / npages;
}

static double touch_ns_per_page(void *addr, unsigned long npages)
{
	volatile uint8_t *p = addr;
	unsigned long sum = 0;
	uint64_t t0, t1;

	t0 = bench_now_ns();
	for (unsigned long i = 0; i < npages; i++)
		sum += p[i << PHYS_PAGE_SHIFT];
	t1 = bench_now_ns();
	bench_keep(sum);
	return (double)(t1 - t0) / npages;
}

#define FOREIGN_LEN (1ULL << 40)

static int host_nop(void *addr, size_t len)
{
	(void)addr;
	(void)len;
	return 0;
}

/* Adopt 2 pages at p (private anonymous memory, then a pin). */
static int adopt2(struct mm *mm, uint8_t *p)
{
	struct mm_pin_run runs[2];
	unsigned int nr;

	if (mmap(p, 2 << PHYS_PAGE_SHIFT, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
		return -1;
	memset(p, 1, 2 << PHYS_PAGE_SHIFT);
	if (mm_pin_pages(mm, (unsigned long)p, 2, 0, runs, 2, &nr) != 2)
		return -1;
	mm_unpin_pages(mm, runs, nr, 0);
	return 0;
}

static void bench_foreign_munmap(void)
{
	struct phys_config cfg = {PHYS_DEFAULT_BASE, 1ULL << 30};
	double *none = calloc(bench_reps, sizeof(double));
	double *some = calloc(bench_reps, sizeof(double));
	struct phys_mem *pm = NULL;
	struct mm *mm = NULL;
	uint8_t *res;
	uint64_t t0;

	res = mmap(NULL, FOREIGN_LEN, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (!none || !some || res == MAP_FAILED || phys_create(&cfg, &pm) ||
	    mm_create(pm, &mm))
		goto out;
	mm_set_adopt(mm, true);
	for (int i = 0; i < bench_reps; i++) {
		t0 = bench_now_ns();
		mm_foreign_munmap(mm, res, FOREIGN_LEN, host_nop);
		none[i] = bench_now_ns() - t0;

		if (adopt2(mm, res + (FOREIGN_LEN >> 2)) ||
		    adopt2(mm, res + 3 * (FOREIGN_LEN >> 2))) {
			fprintf(stderr, "foreign munmap: adoption failed\n");
			goto out;
		}
		t0 = bench_now_ns();
		mm_foreign_munmap(mm, res, FOREIGN_LEN, host_nop);
		some[i] = bench_now_ns() - t0;
	}
	bench_report("mem.foreign_munmap_1t_none",
		     bench_median(none, bench_reps), "ns",
		     "preload munmap of 1 TiB, nothing adopted");
	bench_report("mem.foreign_munmap_1t_4pages",
		     bench_median(some, bench_reps), "ns",
		     "the same around 2 adopted ranges of 2 pages");
out:
	mm_destroy(mm);
	phys_destroy(pm);
	if (res != MAP_FAILED)
		munmap(res, FOREIGN_LEN);
	free(none);
	free(some);
}

/* ---- trapped MMIO ---------------------------------------------------------- */

#define TRAP_LOADS 20000

/* The bare handler: step over the 2-byte load of bare_load(). */
static void bare_segv(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;

	(void)sig;
	(void)si;
	uc->uc_mcontext.gregs[REG_RIP] += 2;
}

static inline void bare_load(const void *p)
{
	uint32_t v;

	/* movl (%rdi), %eax: 8b 07, two bytes */
	__asm__ volatile(".byte 0x8b, 0x07" : "=a"(v) : "D"(p) : "memory");
	bench_keep(v);
}

static double bare_fault_ns(const void *page, int n)
{
	uint64_t t0 = bench_now_ns();

	for (int i = 0; i < n; i++)
		bare_load(page);
	return (double)(bench_now_ns() - t0) / n;
}

static void reg_read(void *priv, uint64_t off, unsigned int width,
		     uint64_t *val)
{
	(void)width;
	*val = ((uint32_t *)priv)[off / 4 % 4];
}

static void reg_write(void *priv, uint64_t off, unsigned int width,
		      uint64_t val)
{
	(void)width;
	((uint32_t *)priv)[off / 4 % 4] = (uint32_t)val;
}

static const struct mmio_trap_ops reg_ops = {reg_read, reg_write};

static double trap_read_ns(const volatile uint32_t *reg, int n)
{
	uint64_t t0 = bench_now_ns();
	uint32_t sum = 0;

	for (int i = 0; i < n; i++)
		sum += *reg;
	bench_keep(sum);
	return (double)(bench_now_ns() - t0) / n;
}

static void bench_trap(void)
{
	struct phys_config cfg = {PHYS_DEFAULT_BASE, 1ULL << 30};
	struct sigaction sa = {.sa_sigaction = bare_segv,
			       .sa_flags = SA_SIGINFO},
			 old;
	int n = bench_quick ? TRAP_LOADS / 10 : TRAP_LOADS;
	double *bare = calloc(bench_reps, sizeof(double));
	double *trap = calloc(bench_reps, sizeof(double));
	uint32_t regs[4] = {1, 2, 3, 4};
	struct phys_mem *pm = NULL;
	struct mm *mm = NULL;
	void *page, *bar;
	double mb, mtr;

	sigemptyset(&sa.sa_mask);
	page = mmap(NULL, 1 << PHYS_PAGE_SHIFT, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!bare || !trap || page == MAP_FAILED || phys_create(&cfg, &pm) ||
	    mm_create(pm, &mm) ||
	    mm_mmap_trapped(mm, 1 << PHYS_PAGE_SHIFT, &reg_ops, regs, &bar))
		goto out;
	/* warm up once, then alternate so both see the same machine; the
	 * bare handler stands in for ours (installed by the mapping) only
	 * while the bare loads run */
	for (int i = -1; i < bench_reps; i++) {
		double b, t;

		if (sigaction(SIGSEGV, &sa, &old))
			goto out;
		b = bare_fault_ns(page, n);
		sigaction(SIGSEGV, &old, NULL);
		t = trap_read_ns(bar, n);
		if (i >= 0) {
			bare[i] = b;
			trap[i] = t;
		}
	}
	mb = bench_median(bare, bench_reps);
	mtr = bench_median(trap, bench_reps);
	bench_report("trap.bare_fault", mb, "ns",
		     "load from a PROT_NONE page, handler steps over it");
	bench_report("trap.read32", mtr, "ns",
		     "trapped 32-bit register load, decoded and emulated");
	bench_report("trap.read32_over_bare", mtr / mb, "x",
		     "trapped load over the bare fault round trip");
out:
	mm_destroy(mm);
	phys_destroy(pm);
	if (page != MAP_FAILED)
		munmap(page, 1 << PHYS_PAGE_SHIFT);
	free(bare);
	free(trap);
}

static void bench_mem(void)
{
	struct phys_config cfg = {PHYS_DEFAULT_BASE, 4ULL << 30};
	unsigned long size = bench_quick ? REGION / 8 : REGION;
	unsigned long npages = size >> PHYS_PAGE_SHIFT;
	struct mem_bench b = {0};
	double *pin4k, *pin2m, *touch;
	void *r4k, *r2m;
	double m4k, m2m, mt;
	char note[96];

	pin4k = calloc(bench_reps, sizeof(double));
	pin2m = calloc(bench_reps, sizeof(double));
	touch = calloc(bench_reps, sizeof(double));
	b.max_runs = npages;
	b.runs = calloc(b.max_runs, sizeof(*b.runs));
	if (!pin4k || !pin2m || !touch || !b.runs || phys_create(&cfg, &b.pm) ||
	    mm_create(b.pm, &b.mm))
		goto out;
	mm_set_memlock_limit(b.mm, size);
	if (mm_mmap(b.mm, size, MM_MAP_POPULATE, &r4k) ||
	    mm_mmap(b.mm, size, MM_MAP_POPULATE | MM_MAP_HUGE, &r2m))
		goto out;

	/* warm up once, then alternate so both see the same machine */
	pin_unpin_ns_per_page(&b, r4k, npages);
	pin_unpin_ns_per_page(&b, r2m, npages);
	for (int i = 0; i < bench_reps; i++) {
		pin4k[i] = pin_unpin_ns_per_page(&b, r4k, npages);
		pin2m[i] = pin_unpin_ns_per_page(&b, r2m, npages);
		touch[i] = touch_ns_per_page(r4k, npages);
	}
	m4k = bench_median(pin4k, bench_reps);
	m2m = bench_median(pin2m, bench_reps);
	mt = bench_median(touch, bench_reps);

	snprintf(note, sizeof(note), "%lu MiB, pre-populated (%.1f GB/s)",
		 size >> 20, 4096.0 / m4k);
	bench_report("mem.pin_unpin_4k", m4k, "ns/page", note);
	snprintf(note, sizeof(note), "2 MiB folios (%.1f GB/s)", 4096.0 / m2m);
	bench_report("mem.pin_unpin_2m", m2m, "ns/page", note);
	bench_report("mem.touch_byte_per_page", mt, "ns/page",
		     "one load per 4 KiB page of the same region");
	bench_report("mem.pin_2m_speedup", m4k / m2m, "x",
		     "4 KiB over 2 MiB backing, per byte");
out:
	mm_destroy(b.mm);
	phys_destroy(b.pm);
	free(b.runs);
	free(pin4k);
	free(pin2m);
	free(touch);
	bench_foreign_munmap();
	bench_trap();
}

BENCH_SUITE(mem, bench_mem)
