// SPDX-License-Identifier: MIT
/*
 * Tests of trapped MMIO (src/mem/mmio_trap.c): every access width through
 * the instruction forms compilers emit and a few written in assembly (REX
 * registers, high bytes, immediates, sign and zero extension, SSE), device
 * side effects, two threads at once, device mappings of frames and trapped
 * pages (mm_mmap_device), chaining of faults that are not ours
 * to the program's handlers, unmap, counters and the unsupported
 * instruction.
 *
 * cmocka sets its own SIGSEGV handler around every test with signal(3);
 * this program defines signal() over the C library's the way the preload
 * library is to interpose it: through mmio_trap_sigaction(), so that
 * cmocka's handler becomes the one ours chains to instead of displacing
 * ours.
 */
#include "helpers.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/uaccess.h"
#include "mem/mem.h"
#include "mem/mmio_trap.h"

#define PG PHYS_PAGE_SIZE

/*
 * The device's state changes behind the compiler's back (in the handler,
 * at a volatile access it does not think writes memory): every check
 * reloads it after a compiler barrier.
 */
#define barrier() __asm__ volatile("" : : : "memory")
#define EQ(a, b)                            \
	do {                                \
		barrier();                  \
		assert_int_equal((a), (b)); \
	} while (0)

#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif

/* ---- a register file ----------------------------------------------------------- */

/*
 * The device: 4 KiB of plain registers (reads return what was written),
 * and at STATUS a write-1-to-clear register, at COUNTER one that counts
 * its reads.  Each access is logged (last offset and width).
 */
#define STATUS	0x800
#define COUNTER 0x808

struct dev {
	uint8_t regs[2 * PG];
	uint64_t status;
	uint64_t counter;
	uint64_t last_off;
	unsigned int last_width;
	unsigned long reads, writes;
};

static void dev_read(void *priv, uint64_t off, unsigned int width,
		     uint64_t *val)
{
	struct dev *d = priv;

	d->last_off = off;
	d->last_width = width;
	d->reads++;
	if (off == STATUS) {
		*val = d->status;
	} else if (off == COUNTER) {
		*val = ++d->counter;
	} else {
		*val = 0;
		memcpy(val, d->regs + off, width);
	}
}

static void dev_write(void *priv, uint64_t off, unsigned int width,
		      uint64_t val)
{
	struct dev *d = priv;

	d->last_off = off;
	d->last_width = width;
	d->writes++;
	if (off == STATUS)
		d->status &= ~val;
	else
		memcpy(d->regs + off, &val, width);
}

static const struct mmio_trap_ops dev_ops = {
	.read = dev_read,
	.write = dev_write,
};

struct fixture {
	struct phys_mem *pm;
	struct mm *mm;
	struct dev dev;
	uint8_t *bar;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->pm = test_phys_create();
	EQ(mm_create(f->pm, &f->mm), 0);
	EQ(mm_mmap_trapped(f->mm, 2 * PG, &dev_ops, &f->dev, (void **)&f->bar),
	   0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	mm_destroy(f->mm);
	EQ(mem_check_invariants(f->pm, PHYS_OWNER_KERNEL, stderr), 0);
	phys_destroy(f->pm);
	free(f);
	return 0;
}

/* ---- the program's own handler ------------------------------------------------- */

static sigjmp_buf fault_jb;
static void *volatile fault_addr;
static volatile int fault_hits, fault_hits_other;

static void program_segv(int sig, siginfo_t *si, void *ctx)
{
	fault_addr = si->si_addr;
	fault_hits++;
	siglongjmp(fault_jb, 1);
}

static void program_segv_plain(int sig)
{
	fault_hits_other++;
	siglongjmp(fault_jb, 1);
}

static void set_handler(void (*fn)(int, siginfo_t *, void *),
			struct sigaction *old)
{
	struct sigaction sa = {.sa_sigaction = fn, .sa_flags = SA_SIGINFO};

	sigemptyset(&sa.sa_mask);
	EQ(mmio_trap_sigaction(SIGSEGV, &sa, old), 0);
}

/* Load a byte at p; true if the program's handler took a fault there. */
static bool faults(volatile uint8_t *p)
{
	int hits = fault_hits + fault_hits_other;

	fault_addr = NULL;
	if (!sigsetjmp(fault_jb, 1))
		(void)*p;
	return fault_hits + fault_hits_other == hits + 1;
}

/* ---- tests --------------------------------------------------------------------- */

/*
 * First: a handler the program installed (with plain sigaction) before the
 * first trapped mapping gets the faults that are not ours.  It must run
 * before anything else installs the trap handler.
 */
static void test_chain_to_handler_installed_before(void **state)
{
	struct sigaction sa = {.sa_sigaction = program_segv,
			       .sa_flags = SA_SIGINFO},
			 cm;
	struct phys_mem *pm = test_phys_create();
	volatile uint32_t *bar;
	struct dev d = {0};
	struct mm *mm;
	uint8_t *page;

	sigemptyset(&sa.sa_mask);
	EQ(sigaction(SIGSEGV, &sa, &cm), 0); /* cmocka's out */
	EQ(mm_create(pm, &mm), 0);
	EQ(mm_mmap_trapped(mm, PG, &dev_ops, &d, (void **)&bar), 0);
	page = mmap(NULL, PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(page != MAP_FAILED);

	fault_hits = 0;
	assert_true(faults(page + 5));
	assert_ptr_equal(fault_addr, page + 5);
	bar[1] = 0x12345678; /* ours still */
	EQ(bar[1], 0x12345678);
	EQ(d.writes, 1);
	EQ(d.reads, 1);
	EQ(fault_hits, 1);

	munmap(page, PG);
	mm_destroy(mm);
	phys_destroy(pm);
	/* cmocka's handler is the program's again */
	EQ(mmio_trap_sigaction(SIGSEGV, &cm, NULL), 0);
}

static void test_plain_volatile_widths(void **state)
{
	struct fixture *f = *state;
	volatile uint8_t *b8 = f->bar;
	volatile uint16_t *b16 = (volatile uint16_t *)(f->bar + 0x10);
	volatile uint32_t *b32 = (volatile uint32_t *)(f->bar + 0x20);
	volatile uint64_t *b64 = (volatile uint64_t *)(f->bar + 0x40);
	volatile uint64_t *hi = (volatile uint64_t *)(f->bar + PG + 0x100);

	*b8 = 0xa5;
	EQ(f->dev.last_width, 1);
	EQ(f->dev.regs[0], 0xa5);
	*b16 = 0xbeef;
	EQ(f->dev.last_width, 2);
	EQ(f->dev.last_off, 0x10);
	*b32 = 0xdeadbeef;
	EQ(f->dev.last_width, 4);
	*b64 = 0x0123456789abcdefULL;
	EQ(f->dev.last_width, 8);
	*hi = 0xfeedfacecafef00dULL; /* the second page */
	EQ(f->dev.last_off, PG + 0x100);

	EQ(*b8, 0xa5);
	EQ(f->dev.last_width, 1);
	EQ(*b16, 0xbeef);
	EQ(f->dev.last_width, 2);
	EQ(*b32, 0xdeadbeef);
	EQ(f->dev.last_width, 4);
	EQ(*b64, 0x0123456789abcdefULL);
	EQ(f->dev.last_width, 8);
	EQ(*hi, 0xfeedfacecafef00dULL);
	EQ(f->dev.writes, 5);
	EQ(f->dev.reads, 5);
}

/* rte_write32/rte_read32: a volatile 32-bit store and load at an offset
 * computed at run time */
static inline void io_write32(uint32_t v, volatile void *addr)
{
	*(volatile uint32_t *)addr = v;
}

static inline uint32_t io_read32(const volatile void *addr)
{
	return *(const volatile uint32_t *)addr;
}

static void test_rte_read_write32(void **state)
{
	struct fixture *f = *state;
	uint32_t i, sum = 0;

	for (i = 0; i < 64; i++)
		io_write32(i * 3 + 1, f->bar + 0x200 + i * 4);
	for (i = 0; i < 64; i++)
		sum += io_read32(f->bar + 0x200 + i * 4);
	EQ(sum, 3 * (63 * 64 / 2) + 64);
	EQ(f->dev.last_off, 0x200 + 63 * 4);
}

static void test_asm_forms(void **state)
{
	struct fixture *f = *state;
	uint8_t *b = f->bar;
	uint64_t v;
	uint32_t v32;

	f->dev.regs[0x300] = 0xf0; /* negative as a byte */
	memcpy(f->dev.regs + 0x302, &(uint16_t){0x8001}, 2);
	memcpy(f->dev.regs + 0x304, &(uint32_t){0x80000002}, 4);

	/* movzx r32, byte: upper bits of the 64 cleared */
	v = ~0ULL;
	__asm__ volatile("movzbl (%1), %k0" : "+r"(v) : "r"(b + 0x300));
	EQ(v, 0xf0);
	/* movzx r64, word */
	__asm__ volatile("movzwq (%1), %0" : "=r"(v) : "r"(b + 0x302));
	EQ(v, 0x8001);
	/* movsx r64, byte and word; movsxd r64, dword */
	__asm__ volatile("movsbq (%1), %0" : "=r"(v) : "r"(b + 0x300));
	EQ(v, 0xfffffffffffffff0ULL);
	__asm__ volatile("movswq (%1), %0" : "=r"(v) : "r"(b + 0x302));
	EQ(v, 0xffffffffffff8001ULL);
	__asm__ volatile("movslq (%1), %0" : "=r"(v) : "r"(b + 0x304));
	EQ(v, 0xffffffff80000002ULL);
	/* movsx r32, byte: sign into 32 bits, the upper 32 cleared */
	v = ~0ULL;
	__asm__ volatile("movsbl (%1), %k0" : "+r"(v) : "r"(b + 0x300));
	EQ(v, 0xfffffff0ULL);

	/* mov imm to memory: 8 bits, and 64 bits from a sign-extended imm32 */
	__asm__ volatile("movb $0x5a, (%0)" : : "r"(b + 0x310) : "memory");
	EQ(f->dev.regs[0x310], 0x5a);
	EQ(f->dev.last_width, 1);
	__asm__ volatile("movq $-2, (%0)" : : "r"(b + 0x318) : "memory");
	memcpy(&v, f->dev.regs + 0x318, 8);
	EQ(v, 0xfffffffffffffffeULL);
	EQ(f->dev.last_width, 8);
	__asm__ volatile("movl $0x11223344, 8(%0)"
			 :
			 : "r"(b + 0x318)
			 : "memory");
	memcpy(&v32, f->dev.regs + 0x320, 4);
	EQ(v32, 0x11223344);

	/* r8-r15 as data and as base and index (REX.R, REX.B, REX.X) */
	{
		register uint64_t r12 __asm__("r12") = 0x1122334455667788ULL;
		register uint8_t *r13 __asm__("r13") = b;
		register uint64_t r14 __asm__("r14") = 0x40;

		__asm__ volatile("movq %0, 0x10(%1,%2,8)"
				 :
				 : "r"(r12), "r"(r13), "r"(r14)
				 : "memory");
		EQ(f->dev.last_off, 0x10 + 0x40 * 8);
		memcpy(&v, f->dev.regs + 0x210, 8);
		EQ(v, 0x1122334455667788ULL);
	}
	{
		register uint64_t r9 __asm__("r9") = 0;
		register uint8_t *r15 __asm__("r15") = b + 0x210;

		__asm__ volatile("movq (%1), %0" : "=r"(r9) : "r"(r15));
		EQ(r9, 0x1122334455667788ULL);
		r9 = ~0ULL;
		/* 16-bit load merges: bits 16..63 stay */
		__asm__ volatile("movw (%1), %w0" : "+r"(r9) : "r"(r15));
		EQ(r9, 0xffffffffffff7788ULL);
		/* 8-bit register of REX only (r9b) */
		__asm__ volatile("movb (%1), %b0" : "+r"(r9) : "r"(r15));
		EQ(r9, 0xffffffffffff7788ULL);
	}
	/* high-byte registers: load into ah keeps al, store from bh */
	{
		uint64_t rax = 0xaaaaaaaaaaaa00ccULL;

		f->dev.regs[0x330] = 0x77;
		__asm__ volatile("movb (%1), %%ah"
				 : "+a"(rax)
				 : "r"(b + 0x330));
		EQ(rax, 0xaaaaaaaaaaaa77ccULL);
		__asm__ volatile("movb %%bh, (%1)"
				 :
				 : "b"(0x4321UL), "r"(b + 0x331)
				 : "memory");
		EQ(f->dev.regs[0x331], 0x43);
	}
	/* RIP-relative would need a trapped page beside the code; movnti */
	__asm__ volatile("movnti %0, (%1)"
			 :
			 : "r"(0xcafe0001U), "r"(b + 0x340)
			 : "memory");
	memcpy(&v32, f->dev.regs + 0x340, 4);
	EQ(v32, 0xcafe0001U);
}

static void test_sse_movd_movq(void **state)
{
	struct fixture *f = *state;
	uint8_t *b = f->bar;
	uint64_t lo, out[2];
	uint32_t v32;

	memcpy(f->dev.regs + 0x400, &(uint64_t){0x8877665544332211ULL}, 8);
	/* movq xmm, m64 zeroes bits 64..127 */
	__asm__ volatile("pcmpeqd %%xmm3, %%xmm3\n\t"
			 "movq (%1), %%xmm3\n\t"
			 "movdqu %%xmm3, (%0)"
			 :
			 : "r"(out), "r"(b + 0x400)
			 : "xmm3", "memory");
	EQ(out[0], 0x8877665544332211ULL);
	EQ(out[1], 0);
	/* movd xmm10 (REX), m32 zeroes bits 32..127 */
	__asm__ volatile("pcmpeqd %%xmm10, %%xmm10\n\t"
			 "movd (%1), %%xmm10\n\t"
			 "movdqu %%xmm10, (%0)"
			 :
			 : "r"(out), "r"(b + 0x400)
			 : "xmm10", "memory");
	EQ(out[0], 0x44332211ULL);
	EQ(out[1], 0);
	/* stores of the low 64 and 32 bits */
	lo = 0x0102030405060708ULL;
	__asm__ volatile("movq %0, %%xmm5\n\t"
			 "movq %%xmm5, (%1)\n\t"
			 "movd %%xmm5, 8(%1)"
			 :
			 : "r"(lo), "r"(b + 0x410)
			 : "xmm5", "memory");
	memcpy(out, f->dev.regs + 0x410, 8);
	EQ(out[0], lo);
	memcpy(&v32, f->dev.regs + 0x418, 4);
	EQ(v32, 0x05060708);
	EQ(f->dev.last_width, 4);
}

static void test_side_effects(void **state)
{
	struct fixture *f = *state;
	volatile uint64_t *status = (volatile uint64_t *)(f->bar + STATUS);
	volatile uint32_t *counter = (volatile uint32_t *)(f->bar + COUNTER);

	f->dev.status = 0xf5;
	*status = 0x05; /* write 1 to clear bits 0 and 2 */
	EQ(*status, 0xf0);
	*status = 0x0f; /* clearing clear bits changes nothing */
	EQ(*status, 0xf0);
	EQ(f->dev.status, 0xf0);
	/* every read is a new value: nothing cached, nothing merged */
	EQ(*counter, 1);
	EQ(*counter, 2);
	EQ(*counter, 3);
	EQ(f->dev.counter, 3);
}

static void test_counters(void **state)
{
	struct fixture *f = *state;
	volatile uint32_t *r = (volatile uint32_t *)f->bar;
	struct mmio_trap_stats st;
	int i;

	EQ(mmio_trap_get_stats(f->bar + PG + 3, &st), 0);
	EQ(st.reads, 0);
	EQ(st.writes, 0);
	for (i = 0; i < 7; i++)
		r[i] = i;
	for (i = 0; i < 3; i++)
		(void)r[i];
	EQ(mmio_trap_get_stats(f->bar, &st), 0);
	EQ(st.reads, 3);
	EQ(st.writes, 7);
	EQ(mmio_trap_get_stats(&st, &st), -ENOENT);
}

struct hammer {
	volatile uint32_t *reg;
	struct dev *dev;
	unsigned int n;
	uint32_t sum;
};

static void *hammer_thread(void *arg)
{
	struct hammer *h = arg;
	unsigned int i;

	for (i = 0; i < h->n; i++) {
		h->reg[i % 256] = i;
		h->sum += h->reg[i % 256] == i;
	}
	return NULL;
}

static void test_two_threads(void **state)
{
	struct fixture *f = *state;
	struct dev *d2 = calloc(1, sizeof(*d2));
	struct mmio_trap_stats st;
	struct hammer h[2];
	pthread_t th[2];
	uint8_t *bar2;
	int i;

	EQ(mm_mmap_trapped(f->mm, PG, &dev_ops, d2, (void **)&bar2), 0);
	h[0] = (struct hammer){(volatile uint32_t *)f->bar, &f->dev, 20000, 0};
	h[1] = (struct hammer){(volatile uint32_t *)bar2, d2, 20000, 0};
	for (i = 0; i < 2; i++)
		EQ(pthread_create(&th[i], NULL, hammer_thread, &h[i]), 0);
	for (i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < 2; i++) {
		EQ(h[i].sum, 20000);
		EQ(h[i].dev->reads, 20000);
		EQ(h[i].dev->writes, 20000);
	}
	EQ(mmio_trap_get_stats(bar2, &st), 0);
	EQ(st.reads, 20000);
	EQ(mm_munmap(f->mm, bar2, PG), 0);
	free(d2);
}

/*
 * Unmapping while another thread is inside a read op: mm_munmap() returns
 * only after the op did, and no op starts after it; the thread's next
 * load is the program's fault.
 */
static _Atomic int race_in_op, race_release;
static _Atomic unsigned long race_calls;
static __thread sigjmp_buf race_jb;

static void race_read(void *priv, uint64_t off, unsigned int width,
		      uint64_t *val)
{
	atomic_fetch_add(&race_calls, 1);
	atomic_store(&race_in_op, 1);
	while (atomic_load(&race_calls) >= 100 && !atomic_load(&race_release))
		sched_yield(); /* a device that takes its time */
	*val = 7;
	atomic_store(&race_in_op, 0);
}

static void race_write(void *priv, uint64_t off, unsigned int width,
		       uint64_t val)
{
}

static const struct mmio_trap_ops race_ops = {race_read, race_write};

static void race_segv(int sig, siginfo_t *si, void *ctx)
{
	siglongjmp(race_jb, 1);
}

struct unmap_race {
	struct mm *mm;
	void *reg;
	_Atomic bool faulted, unmapped;
};

static void *race_reader(void *arg)
{
	struct unmap_race *u = arg;

	if (sigsetjmp(race_jb, 1)) {
		atomic_store(&u->faulted, true);
		return NULL;
	}
	for (;;)
		(void)*(volatile uint32_t *)u->reg;
}

static void *race_unmapper(void *arg)
{
	struct unmap_race *u = arg;

	mm_munmap(u->mm, u->reg, PG);
	atomic_store(&u->unmapped, true);
	return NULL;
}

static void test_unmap_waits_for_handlers(void **state)
{
	struct fixture *f = *state;
	struct unmap_race u = {.mm = f->mm};
	struct sigaction old;
	bool early;
	unsigned long calls;
	pthread_t rd, un;

	EQ(mm_mmap_trapped(f->mm, PG, &race_ops, NULL, &u.reg), 0);
	set_handler(race_segv, &old);
	atomic_store(&race_calls, 0);
	atomic_store(&race_release, 0);
	EQ(pthread_create(&rd, NULL, race_reader, &u), 0);
	/* the 100th read holds the op */
	while (atomic_load(&race_calls) < 100 || !atomic_load(&race_in_op))
		sched_yield();
	EQ(pthread_create(&un, NULL, race_unmapper, &u), 0);
	usleep(50000);
	early = atomic_load(&u.unmapped); /* not: it waits for the op */
	atomic_store(&race_release, 1);
	pthread_join(un, NULL);
	assert_false(early);
	assert_true(atomic_load(&u.unmapped));
	calls = atomic_load(&race_calls);
	pthread_join(rd, NULL);
	assert_true(atomic_load(&u.faulted));
	EQ(atomic_load(&race_calls), calls); /* none after the unmap */
	EQ(calls, 100);
	EQ(mmio_trap_sigaction(SIGSEGV, &old, NULL), 0);
}

static void test_fault_after_unmap(void **state)
{
	struct fixture *f = *state;
	struct mmio_trap_stats st;
	struct sigaction old;
	unsigned long r;

	set_handler(program_segv, &old);
	fault_hits = 0;
	assert_false(faults(f->bar + 3));
	assert_false(faults(f->bar + PG + 3));
	r = f->dev.reads;
	/* the second page goes: the first stays trapped */
	EQ(mm_munmap(f->mm, f->bar + PG, PG), 0);
	assert_true(faults(f->bar + PG + 3));
	assert_ptr_equal(fault_addr, f->bar + PG + 3);
	EQ(f->dev.reads, r);
	assert_false(faults(f->bar + 3));
	EQ(f->dev.reads, r + 1);
	EQ(mmio_trap_get_stats(f->bar + PG, &st), -ENOENT);
	EQ(mmio_trap_get_stats(f->bar, &st), 0);
	/* all of it: the address space is gone, the fault is the program's */
	EQ(mm_munmap(f->mm, f->bar, PG), 0);
	assert_true(faults(f->bar + 3));
	assert_ptr_equal(fault_addr, f->bar + 3);
	EQ(f->dev.reads, r + 1);
	EQ(mmio_trap_get_stats(f->bar, &st), -ENOENT);
	EQ(fault_hits, 2);
	EQ(mmio_trap_sigaction(SIGSEGV, &old, NULL), 0);
}

static int host_munmap(void *addr, size_t len)
{
	return munmap(addr, len);
}

/* The program's own munmap (the preload library's path) of part of a
 * trapped mapping: that part is gone, the rest still traps. */
static void test_foreign_munmap_of_trapped_pages(void **state)
{
	struct fixture *f = *state;
	struct mmio_trap_stats st;
	struct sigaction old;
	struct mm_stats ms;

	set_handler(program_segv, &old);
	fault_hits = 0;
	EQ(mm_foreign_munmap(f->mm, f->bar, PG, host_munmap), 0);
	assert_true(faults(f->bar + 1));
	EQ(mmio_trap_get_stats(f->bar, &st), -ENOENT);
	assert_false(faults(f->bar + PG + 1));
	EQ(f->dev.reads, 1);
	EQ(f->dev.last_off, PG + 1);
	EQ(mm_foreign_munmap(f->mm, f->bar + PG, PG, host_munmap), 0);
	mm_get_stats(f->mm, &ms);
	EQ(ms.regions, 0);
	assert_true(faults(f->bar + PG + 1));
	EQ(f->dev.reads, 1);
	EQ(fault_hits, 2);
	EQ(mmio_trap_sigaction(SIGSEGV, &old, NULL), 0);
}

/* A handler the program installs after ours becomes the one faults not ours
 * go to, plain (sa_handler) or SA_SIGINFO, and ours keeps trapping. */
static void test_chain_to_handler_installed_after(void **state)
{
	struct fixture *f = *state;
	struct sigaction plain = {.sa_handler = program_segv_plain}, old, mid;
	volatile uint32_t *reg = (volatile uint32_t *)f->bar;
	uint8_t *page;

	page = mmap(NULL, PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(page != MAP_FAILED);
	set_handler(program_segv, &old);
	fault_hits = fault_hits_other = 0;
	assert_true(faults(page));
	EQ(fault_hits, 1);
	assert_ptr_equal(fault_addr, page);
	*reg = 9;
	EQ(*reg, 9);

	sigemptyset(&plain.sa_mask);
	EQ(mmio_trap_sigaction(SIGSEGV, &plain, &mid), 0);
	assert_ptr_equal(mid.sa_sigaction, program_segv);
	assert_true(faults(page + 1));
	EQ(fault_hits_other, 1);
	EQ(fault_hits, 1);
	*reg = 10;
	EQ(*reg, 10);

	/* a plain sigaction call replaces our handler; that is what the
	 * preload library's interposition is to prevent */
	EQ(mmio_trap_sigaction(SIGSEGV, &old, NULL), 0);
	munmap(page, PG);
}

static void test_not_pinnable(void **state)
{
	struct fixture *f = *state;
	struct mm_pin_run run;
	struct mm_vma_info vi;
	unsigned int nr;
	phys_addr_t pa;

	EQ(mm_pin_pages(f->mm, (unsigned long)f->bar, 1, 0, &run, 1, &nr),
	   -EFAULT);
	EQ(mm_follow_pfn(f->mm, (unsigned long)f->bar, &pa, NULL), -EFAULT);
	EQ(mm_discard(f->mm, f->bar, PG), -EINVAL);
	EQ(mm_find_vma(f->mm, (unsigned long)f->bar, &vi), 0);
	assert_true(vi.vm_flags & MM_VM_IO);
	EQ(vi.end - vi.start, 2 * PG);
	EQ(mm_mmap_trapped(f->mm, 0, &dev_ops, NULL, (void **)&pa), -EINVAL);
}

/* mm_mmap_device: frames mapped directly beside trapped pages, whose ops
 * see the offsets from base. */
static void test_device_mapping(void **state)
{
	struct fixture *f = *state;
	phys_addr_t pa, got, pages[2];
	struct mmio_trap_stats st;
	volatile uint8_t *p;
	uint8_t *frame;

	EQ(phys_alloc_pages(f->pm, 0, PHYS_ALLOC_ZERO, PHYS_OWNER_KERNEL, &pa),
	   0);
	frame = phys_to_virt(f->pm, pa);
	pages[0] = PHYS_ADDR_INVALID;
	pages[1] = pa;
	EQ(mm_mmap_device(f->mm, 2 * PG, pages, 0, &dev_ops, &f->dev, PG,
			  (void **)&p),
	   0);
	*(volatile uint32_t *)(p + 8) = 0x1234;
	EQ(f->dev.last_off, PG + 8);
	EQ(f->dev.last_width, 4);
	EQ(*(volatile uint32_t *)(p + 8), 0x1234);
	p[PG + 3] = 0x7e; /* the frame, not trapped */
	EQ(frame[3], 0x7e);
	EQ(mm_follow_pfn(f->mm, (unsigned long)p + PG, &got, NULL), 0);
	EQ(got, pa);
	EQ(mm_follow_pfn(f->mm, (unsigned long)p, &got, NULL), -EFAULT);
	EQ(mmio_trap_get_stats((const void *)p, &st), 0);
	EQ(st.reads, 1);
	EQ(st.writes, 1);
	EQ(mmio_trap_get_stats((const void *)(p + PG), &st), -ENOENT);
	EQ(mm_munmap(f->mm, (void *)p, 2 * PG), 0);
	/* frames only: no ops needed */
	pages[0] = pa;
	EQ(mm_mmap_device(f->mm, PG, pages, 0, NULL, NULL, 0, (void **)&p), 0);
	EQ(p[3], 0x7e);
	EQ(mm_munmap(f->mm, (void *)p, PG), 0);
	/* a trapped page without ops, a frame not aligned or outside memory */
	pages[0] = PHYS_ADDR_INVALID;
	EQ(mm_mmap_device(f->mm, PG, pages, 0, NULL, NULL, 0, (void **)&p),
	   -EINVAL);
	pages[0] = pa + 8;
	EQ(mm_mmap_device(f->mm, PG, pages, 0, NULL, NULL, 0, (void **)&p),
	   -EINVAL);
	pages[0] = 0x1000;
	EQ(mm_mmap_device(f->mm, PG, pages, 0, NULL, NULL, 0, (void **)&p),
	   -EINVAL);
	phys_free_pages(f->pm, pa, 0);
}

static sigjmp_buf bus_jmp;
static void *volatile bus_addr;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	bus_addr = si->si_code == BUS_ADRERR ? si->si_addr : NULL;
	siglongjmp(bus_jmp, 1);
}

/* Whether a byte load (or store) at p raises SIGBUS (BUS_ADRERR at p). */
static bool bus_faults(volatile uint8_t *p, bool write)
{
	struct sigaction sa = {.sa_sigaction = on_sigbus,
			       .sa_flags = SA_SIGINFO},
			 old;
	volatile bool hit = false;

	sigemptyset(&sa.sa_mask);
	EQ(sigaction(SIGBUS, &sa, &old), 0);
	bus_addr = NULL;
	if (!sigsetjmp(bus_jmp, 1)) {
		if (write)
			*p = 0x42;
		else
			(void)*p;
	} else {
		hit = true;
	}
	EQ(sigaction(SIGBUS, &old, NULL), 0);
	if (hit)
		assert_ptr_equal(bus_addr, (void *)p);
	return hit;
}

/*
 * Zapping (mm_mmap_device_zap, mmio_zap_set), what vfio-pci's memory
 * decode off needs: every page of the group's mappings, frames and
 * trapped pages, raises SIGBUS without an ops call; a mapping outside the
 * group is untouched; restoring gives both kinds back; a page unmapped
 * while zapped is not given access back; a mapping made while zapped
 * starts zapped.
 */
static void test_zap(void **state)
{
	struct fixture *f = *state;
	phys_addr_t pa, pages[3];
	volatile uint8_t *p, *q, *other;
	struct mmio_zap z;
	uint8_t *frame;

	mmio_zap_init(&z, false);
	EQ(phys_alloc_pages(f->pm, 1, PHYS_ALLOC_ZERO, PHYS_OWNER_KERNEL, &pa),
	   0);
	frame = phys_to_virt(f->pm, pa);
	pages[0] = PHYS_ADDR_INVALID;
	pages[1] = pa;
	pages[2] = pa + PG;
	EQ(mm_mmap_device_zap(f->mm, 3 * PG, pages, 0, &dev_ops, &f->dev, 0, &z,
			      NULL, (void **)&p),
	   0);
	/* frames only, in the same group */
	EQ(mm_mmap_device_zap(f->mm, PG, pages + 1, 0, NULL, NULL, 0, &z, NULL,
			      (void **)&q),
	   0);
	EQ(mm_mmap_device(f->mm, PG, pages + 1, 0, NULL, NULL, 0,
			  (void **)&other),
	   0);
	p[PG] = 1;
	EQ(frame[0], 1);
	*(volatile uint32_t *)p = 9;
	EQ(f->dev.writes, 1);

	mmio_zap_set(&z, true);
	assert_true(bus_faults(p, false));
	assert_true(bus_faults(p + 4, true));
	EQ(f->dev.writes, 1);
	EQ(f->dev.reads, 0);
	assert_true(bus_faults(p + PG, false));
	assert_true(bus_faults(p + 2 * PG + 5, true));
	assert_true(bus_faults(q + 7, false));
	EQ(atomic_load(&z.sigbus), 5);
	EQ(frame[PG + 5], 0);
	/* not in the group: still the frame */
	EQ(other[0], 1);
	/* a mapping made while zapped */
	{
		volatile uint8_t *r;

		EQ(mm_mmap_device_zap(f->mm, PG, pages + 2, 0, NULL, NULL, 0,
				      &z, NULL, (void **)&r),
		   0);
		assert_true(bus_faults(r, false));
		EQ(mm_munmap(f->mm, (void *)r, PG), 0);
	}
	/* unmapped while zapped: stays a hole */
	EQ(mm_munmap(f->mm, (void *)(p + 2 * PG), PG), 0);

	mmio_zap_set(&z, false);
	EQ(p[PG], 1);
	q[1] = 3;
	EQ(frame[1], 3);
	EQ(*(volatile uint32_t *)p, 9);
	EQ(f->dev.reads, 1);
	EQ(mm_munmap(f->mm, (void *)p, 2 * PG), 0);
	EQ(mm_munmap(f->mm, (void *)q, PG), 0);
	EQ(mm_munmap(f->mm, (void *)other, PG), 0);
	phys_free_pages(f->pm, pa, 1);
}

struct sweep {
	struct mm *mm;
	void *addr;
	struct dev dev;
};

static int sweep_map(void *ctx)
{
	struct sweep *s = ctx;

	return mm_mmap_trapped(s->mm, 3 * PG, &dev_ops, &s->dev, &s->addr);
}

static void sweep_unmap(void *ctx)
{
	struct sweep *s = ctx;
	volatile uint32_t *r = s->addr;

	*r = 5; /* trapped */
	EQ(*r, 5);
	EQ(mm_munmap(s->mm, s->addr, 3 * PG), 0);
}

static void sweep_check(void *ctx)
{
	struct sweep *s = ctx;
	struct mm_stats st;

	mm_get_stats(s->mm, &st);
	EQ(st.regions, 1); /* the fixture's */
}

static void test_fail_sweep_mmap_trapped(void **state)
{
	struct fixture *f = *state;
	struct sweep s = {.mm = f->mm};

	assert_true(test_fail_sweep(sweep_map, sweep_unmap, sweep_check, &s,
				    0) > 1);
}

/* ---- deaths: the default action ------------------------------------------------- */

/* Run fn in a child; its status and standard error. */
static int child_status(void (*fn)(void *), void *ctx, char *err, size_t n)
{
	int fds[2], st;
	size_t len = 0;
	ssize_t k;
	pid_t pid;

	EQ(pipe(fds), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		close(fds[0]);
		dup2(fds[1], STDERR_FILENO);
		fn(ctx);
		_exit(0);
	}
	close(fds[1]);
	while (len < n - 1 && (k = read(fds[0], err + len, n - 1 - len)) > 0)
		len += k;
	err[len] = 0;
	close(fds[0]);
	EQ(waitpid(pid, &st, 0), pid);
	return st;
}

static void default_action(void)
{
	struct sigaction dfl = {.sa_handler = SIG_DFL};

	sigemptyset(&dfl.sa_mask);
	mmio_trap_sigaction(SIGSEGV, &dfl, NULL);
	/* no core file */
	setrlimit(RLIMIT_CORE, &(struct rlimit){0, 0});
}

static void rep_movs_into_trap(void *ctx)
{
	uint8_t *bar = ctx, src[16] = {0};
	void *d = bar, *s = src;
	unsigned long n = sizeof(src);

	unsetenv("UIOMMU_QUIET");
	default_action();
	__asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
}

static void wild_fault(void *ctx)
{
	default_action();
	*(volatile int *)ctx = 1;
}

static void test_unsupported_instruction_dies(void **state)
{
	struct fixture *f = *state;
	char err[4096];
	int st;

	st = child_status(rep_movs_into_trap, f->bar, err, sizeof(err));
	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGSEGV)
		fail_msg("expected SIGSEGV, got %#x:\n%s", st, err);
	assert_non_null(strstr(err, "trapped MMIO at 0x"));
	/* rep movsb is f3 a4 */
	assert_non_null(strstr(err, "(bytes f3 a4"));
	EQ(f->dev.writes, 0);
}

/* A zapped page's SIGBUS that the program ignores or blocks is forced:
 * the default action, as the kernel's force_sig_fault. */
static bool zap_blocked; /* the child blocks SIGBUS, or ignores it */

static void zapped_access(void *ctx)
{
	volatile uint8_t *p = ctx;
	sigset_t bus;

	sigemptyset(&bus);
	sigaddset(&bus, SIGBUS);
	if (zap_blocked)
		sigprocmask(SIG_BLOCK, &bus, NULL);
	else
		signal(SIGBUS, SIG_IGN);
	(void)*p;
}

static void test_zapped_sigbus_forced(void **state)
{
	struct fixture *f = *state;
	struct mmio_zap z;
	volatile uint8_t *p;
	char err[256];
	int st, i;

	mmio_zap_init(&z, true);
	EQ(mm_mmap_device_zap(f->mm, PG, NULL, 0, &dev_ops, &f->dev, 0, &z,
			      NULL, (void **)&p),
	   0);
	for (i = 0; i < 2; i++) {
		zap_blocked = i;
		st = child_status(zapped_access, (void *)p, err, sizeof(err));
		if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGBUS)
			fail_msg("expected SIGBUS, got %#x:\n%s", st, err);
	}
	EQ(mm_munmap(f->mm, (void *)p, PG), 0);
}

static void test_not_ours_default_action_dies(void **state)
{
	uint8_t *page;
	char err[256];
	int st;

	page = mmap(NULL, PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(page != MAP_FAILED);
	st = child_status(wild_fault, page, err, sizeof(err));
	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGSEGV)
		fail_msg("expected SIGSEGV, got %#x:\n%s", st, err);
	munmap(page, PG);
}

/*
 * copy_from_user / copy_to_user with the handler installed: a plain copy
 * whose faults inside the user range become -EFAULT (in sanitizer builds
 * process_vm_readv/writev gives the same answers).  A range running into
 * a page without the access, a read-only destination, a wild pointer and a
 * trapped page are -EFAULT; the device sees no access and the program's
 * handler no fault; past the user half nothing is touched at all.
 */
static void test_uaccess_fixup(void **state)
{
	struct fixture *f = *state;
	int hits = fault_hits + fault_hits_other;
	unsigned long fixups = uaccess_fixups(), reads = f->dev.reads;
	uint8_t buf[64] = {0}, src[64];
	uint8_t *page = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	assert_true(page != MAP_FAILED);
	memset(src, 7, sizeof(src));
	EQ(copy_from_user(buf, src, sizeof(src)), 0);
	assert_memory_equal(buf, src, sizeof(src));
	EQ(copy_to_user(page, src, sizeof(src)), 0);
	assert_memory_equal(page, src, sizeof(src));
	EQ(mprotect(page + PG, PG, PROT_NONE), 0);
	EQ(copy_from_user(buf, page + PG - 8, 16), -EFAULT);
	EQ(copy_to_user(page + PG - 8, src, 16), -EFAULT);
	EQ(mprotect(page, PG, PROT_READ), 0);
	EQ(copy_from_user(buf, page, 64), 0);
	EQ(copy_to_user(page, src, 64), -EFAULT);
	EQ(copy_from_user(buf, (void *)8, 8), -EFAULT);
	EQ(copy_from_user(buf, f->bar, 4), -EFAULT);
	EQ(f->dev.reads, reads);
	EQ(copy_from_user(buf, (void *)0xffff800000000000ull, 8), -EFAULT);
	EQ(copy_from_user(buf, (void *)(UINTPTR_MAX - 3), 8), -EFAULT);
	EQ(fault_hits + fault_hits_other, hits);
	if (uaccess_fixup_enabled())
		EQ(uaccess_fixups() - fixups, 5);
	munmap(page, 2 * PG);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_chain_to_handler_installed_before), /* first */
	T(test_plain_volatile_widths),
	T(test_rte_read_write32),
	T(test_asm_forms),
	T(test_sse_movd_movq),
	T(test_side_effects),
	T(test_counters),
	T(test_two_threads),
	T(test_unmap_waits_for_handlers),
	T(test_fault_after_unmap),
	T(test_foreign_munmap_of_trapped_pages),
	T(test_chain_to_handler_installed_after),
	T(test_not_pinnable),
	T(test_uaccess_fixup),
	T(test_device_mapping),
	T(test_zap),
	T(test_zapped_sigbus_forced),
	T(test_fail_sweep_mmap_trapped),
	T(test_unsupported_instruction_dies),
	T(test_not_ours_default_action_dies),
};

TEST_MAIN(tests)
