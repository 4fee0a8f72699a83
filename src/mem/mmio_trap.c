// SPDX-License-Identifier: MIT
/*
 * Trap-and-emulate of loads and stores to trapped MMIO pages (mmio_trap.h).
 *
 * Data model:
 *  - struct mmio_trap is one mm_mmap_trapped() or mm_mmap_device() mapping:
 *    its range, its ops and their priv, the offset ops see for its first
 *    byte, its counters, and a bit per page that is set while the page is
 *    live (trapped; a device mapping's directly mapped pages never are).  mm.c clears bits as it unmaps pages; a
 *    trap whose last bit went is dead and is freed by the next rebuild.
 *  - The handler finds traps through the published table: an array, sorted
 *    by address, of the runs of live pages of every trap (start, end,
 *    trap), rebuilt whole under trap_lock when a trap is registered and in
 *    mmio_trap_sync(), and swapped in with one atomic store.  A page
 *    unmapped since the last rebuild is still in a run, so the handler
 *    also checks the page's bit.
 *  - Zappable mappings (mm_mmap_device_zap) belong to a driver's struct
 *    mmio_zap and also keep a bit per directly mapped frame (the direct
 *    map, after live), so their runs cover the frames too.  While the
 *    group is zapped the handler answers every access in its mappings
 *    with SIGBUS, and the frames are PROT_NONE.  zap_lock orders a zap's
 *    mprotect against mm clearing a frame's bit before it unmaps the
 *    page, so a zap never touches address space no longer the mapping's.
 *  - The handler is installed once, on the first registration, and stays.
 *    prev is the handler faults not ours go to: the one installed before
 *    ours, or the program's through mmio_trap_sigaction(); each is an
 *    immutable copy, published by pointer and never freed (old copies stay
 *    on a list).
 *
 * Concurrency: the handler takes no lock; it may run on any thread, in the
 * middle of anything.  It marks itself in one of two reader counters
 * (chosen by the low bit of an epoch) before it loads the table and leaves
 * it when done with the trap.  A writer publishes a new table, then twice
 * advances the epoch and waits for the counter of the previous one to
 * drain: every handler that could have seen the old table, or a page bit
 * before it was cleared, has then finished, and the old table and the dead
 * traps are freed.  New handlers count in the other counter, so a writer
 * is not starved by a stream of faults.  Writers hold trap_lock (never the
 * mm's mmap_lock while they wait: mm.c calls mmio_trap_sync() after
 * dropping it, because a device model's ops may need it).  The counters of
 * a trap are relaxed atomics.
 *
 * Invariants: runs of one table never overlap (live pages are distinct
 * host pages) except for the instant between the program's munmap of a
 * trapped range and mm clearing its bits, during which a new trapped
 * mapping could be given the same addresses: the handler takes the run
 * with the greatest start not above the address and checks its bit.
 */
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>
#include <Zydis/Zydis.h>

#include "lib/uaccess.h"
#include "mmio_trap.h"
#include "phys.h"

#define PF_ERR_WRITE (1u << 1) /* the page-fault error code's W/R bit */
#define PF_ERR_INSTR (1u << 4) /* and its I/D bit */

/* zap_lock: a zappable trap's direct bits against the mprotect of a zap;
 * taken under trap_lock (a zap) and under mmap_lock (mm's unmap) */
#define MEM_LOCK_TRAP_ZAP (MEM_LOCK_TRAP + 1)

struct mmio_trap {
	unsigned long start, end; /* [start, end) of the mapping */
	const struct mmio_trap_ops *ops;
	void *priv;
	uint64_t base; /* the offset ops see for start */
	_Atomic uint64_t reads, writes;
	_Atomic unsigned long nr_live; /* pages with a bit set (either map) */
	struct mmio_trap *next_dead;   /* trap_lock: on the free list */
	struct mmio_zap *zap;	       /* NULL: the mapping is not zappable */
	unsigned long words;	       /* of each bitmap */
	/* live: a bit per trapped page; then (zappable mappings only) the
	 * direct map: a bit per page that maps a frame, while mapped */
	_Atomic uint64_t live[];
};

struct trap_run {
	unsigned long start, end;
	struct mmio_trap *trap;
};

struct trap_table {
	unsigned int nr_runs, nr_traps;
	struct trap_run *runs;	   /* sorted by start */
	struct mmio_trap **traps;  /* every trap with a live page */
	struct trap_run storage[]; /* runs, then the trap pointers */
};

struct prev_handler {
	struct sigaction sa;
	struct prev_handler *older; /* kept: a handler may still read it */
};

static struct mutex trap_lock = MUTEX_INITIALIZER("trap_lock", MEM_LOCK_TRAP);
static struct mutex zap_lock = MUTEX_INITIALIZER("zap_lock", MEM_LOCK_TRAP_ZAP);
static _Atomic(struct trap_table *) table; /* written under trap_lock */
static _Atomic unsigned int epoch;
static _Atomic unsigned long readers[2];
static _Atomic unsigned long nr_dead; /* dead traps still in the table */
static bool installed;		      /* trap_lock */
static _Atomic(struct prev_handler *) prev;
static ZydisDecoder decoder; /* immutable once installed */

/* ---- the read side, in the handler ----------------------------------------- */

static unsigned int read_enter(void)
{
	unsigned int i = atomic_load(&epoch) & 1;

	atomic_fetch_add(&readers[i], 1);
	return i;
}

static void read_exit(unsigned int i)
{
	atomic_fetch_sub(&readers[i], 1);
}

static bool page_live(struct mmio_trap *t, unsigned long addr)
{
	unsigned long i = (addr - t->start) >> PHYS_PAGE_SHIFT;

	return atomic_load_explicit(&t->live[i / 64], memory_order_acquire) &
	       (1ULL << (i % 64));
}

static bool page_direct(struct mmio_trap *t, unsigned long addr)
{
	unsigned long i = (addr - t->start) >> PHYS_PAGE_SHIFT;

	return t->zap && (atomic_load_explicit(&t->live[t->words + i / 64],
					       memory_order_acquire) &
			  (1ULL << (i % 64)));
}

/* The trap whose live page holds addr, or NULL. */
static struct mmio_trap *lookup(const struct trap_table *tb, unsigned long addr)
{
	unsigned int lo = 0, hi, mid;
	const struct trap_run *r;

	if (!tb || !tb->nr_runs)
		return NULL;
	hi = tb->nr_runs;
	while (hi - lo > 1) { /* greatest start <= addr */
		mid = lo + (hi - lo) / 2;
		if (tb->runs[mid].start <= addr)
			lo = mid;
		else
			hi = mid;
	}
	r = &tb->runs[lo];
	if (addr < r->start || addr >= r->end ||
	    !(page_live(r->trap, addr) || page_direct(r->trap, addr)))
		return NULL;
	return r->trap;
}

/* ---- the write side ---------------------------------------------------------- */

/* Every handler that began before this call has finished. */
static void wait_readers(void)
{
	unsigned int k, old;

	lockdep_assert_held(&trap_lock);
	for (k = 0; k < 2; k++) {
		old = atomic_fetch_add(&epoch, 1) & 1;
		while (atomic_load(&readers[old]))
			sched_yield();
	}
}

static unsigned long trap_pages(const struct mmio_trap *t)
{
	return (t->end - t->start) >> PHYS_PAGE_SHIFT;
}

static bool direct_bit(const struct mmio_trap *t, unsigned long i)
{
	return t->zap &&
	       (atomic_load(&t->live[t->words + i / 64]) & (1ULL << (i % 64)));
}

/* A page the table covers: trapped, or a zappable mapping's frame. */
static bool trap_bit(const struct mmio_trap *t, unsigned long i)
{
	return (atomic_load(&t->live[i / 64]) & (1ULL << (i % 64))) ||
	       direct_bit(t, i);
}

/* Runs of live pages of t, written to out (if not NULL); their count. */
static unsigned int trap_runs(struct mmio_trap *t, struct trap_run *out)
{
	unsigned long i = 0, j, n = trap_pages(t);
	unsigned int nr = 0;

	while (i < n) {
		if (!trap_bit(t, i)) {
			i++;
			continue;
		}
		for (j = i + 1; j < n && trap_bit(t, j); j++)
			;
		if (out)
			out[nr] = (struct trap_run){
				t->start + (i << PHYS_PAGE_SHIFT),
				t->start + (j << PHYS_PAGE_SHIFT), t};
		nr++;
		i = j;
	}
	return nr;
}

static int run_cmp(const void *a, const void *b)
{
	const struct trap_run *x = a, *y = b;

	return (x->start > y->start) - (x->start < y->start);
}

/*
 * Publish a table of the live traps of the current one plus add (if not
 * NULL), wait for the handlers that may see the old one, then free it and
 * the dead traps.  -ENOMEM changes nothing.
 */
static int rebuild(struct mmio_trap *add)
{
	struct trap_table *old = atomic_load(&table), *tb;
	struct mmio_trap *dead = NULL, *t;
	unsigned int i, nt = 0, nr = 0, k;

	lockdep_assert_held(&trap_lock);
	for (i = 0; old && i < old->nr_traps; i++) {
		k = trap_runs(old->traps[i], NULL);
		nr += k;
		nt += k != 0;
	}
	if (add) {
		nr += trap_runs(add, NULL);
		nt++;
	}
	tb = ui_zalloc(sizeof(*tb) + nr * sizeof(struct trap_run) +
		       nt * sizeof(struct mmio_trap *));
	if (!tb)
		return -ENOMEM;
	tb->runs = tb->storage;
	tb->traps = (struct mmio_trap **)(tb->storage + nr);
	for (i = 0; old && i < old->nr_traps; i++) {
		t = old->traps[i];
		k = trap_runs(t, tb->runs + tb->nr_runs);
		if (k) {
			tb->nr_runs += k;
			tb->traps[tb->nr_traps++] = t;
		} else {
			t->next_dead = dead;
			dead = t;
		}
	}
	if (add) {
		tb->nr_runs += trap_runs(add, tb->runs + tb->nr_runs);
		tb->traps[tb->nr_traps++] = add;
	}
	qsort(tb->runs, tb->nr_runs, sizeof(*tb->runs), run_cmp);
	atomic_store(&table, tb);
	wait_readers();
	ui_free(old);
	while ((t = dead)) {
		dead = t->next_dead;
		atomic_fetch_sub(&nr_dead, 1);
		ui_free(t);
	}
	return 0;
}

static void trap_sigsegv(int sig, siginfo_t *si, void *ctx);

/* Install the handler; what was installed before becomes prev. */
static int install(void)
{
	struct sigaction sa = {.sa_sigaction = trap_sigsegv};
	struct prev_handler *p;

	lockdep_assert_held(&trap_lock);
	if (installed)
		return 0;
	p = ui_zalloc(sizeof(*p));
	if (!p)
		return -ENOMEM;
	if (ZYAN_FAILED(ZydisDecoderInit(&decoder, ZYDIS_MACHINE_MODE_LONG_64,
					 ZYDIS_STACK_WIDTH_64))) {
		ui_free(p);
		return -EINVAL;
	}
	/* SA_NODEFER: an ops call may itself touch a trapped page */
	sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSEGV, &sa, &p->sa)) {
		ui_free(p);
		return -errno;
	}
	atomic_store(&prev, p);
	installed = true;
	uaccess_fixup_enable();
	return 0;
}

int mmio_trap_install(void)
{
	int ret;

	mutex_lock(&trap_lock);
	ret = install();
	mutex_unlock(&trap_lock);
	return ret;
}

static void zap_pages(struct mmio_trap *t, bool zapped);

int mmio_trap_register(unsigned long start, unsigned long end,
		       const struct mmio_trap_ops *ops, void *priv,
		       uint64_t base, const phys_addr_t *pages,
		       struct mmio_zap *zap, struct mmio_trap **out)
{
	unsigned long n = (end - start) >> PHYS_PAGE_SHIFT, i, live = 0;
	unsigned long words = DIV_ROUND_UP(n, 64);
	struct mmio_trap *t;
	int ret;

	t = ui_zalloc(sizeof(*t) + (zap ? 2 : 1) * words * sizeof(uint64_t));
	if (!t)
		return -ENOMEM;
	t->start = start;
	t->end = end;
	t->ops = ops;
	t->priv = priv;
	t->base = base;
	t->zap = zap;
	t->words = words;
	for (i = 0; i < n; i++) {
		if (pages && pages[i] != PHYS_ADDR_INVALID) {
			if (zap) {
				t->live[words + i / 64] |= 1ULL << (i % 64);
				live++;
			}
			continue;
		}
		t->live[i / 64] |= 1ULL << (i % 64);
		live++;
	}
	atomic_init(&t->nr_live, live);

	mutex_lock(&trap_lock);
	ret = install();
	if (!ret)
		ret = rebuild(t);
	/* a mapping made while its device's memory is zapped faults too */
	if (!ret && zap && atomic_load(&zap->zapped))
		zap_pages(t, true);
	mutex_unlock(&trap_lock);
	if (ret) {
		ui_free(t);
		return ret;
	}
	*out = t;
	return 0;
}

void mmio_trap_unmap(struct mmio_trap *t, unsigned long start,
		     unsigned long end)
{
	unsigned long i, s = (start - t->start) >> PHYS_PAGE_SHIFT;
	unsigned long e = (end - t->start) >> PHYS_PAGE_SHIFT;
	unsigned int k;
	uint64_t bit;

	/* a zap's mprotect never reaches a page once its bit is clear */
	if (t->zap)
		mutex_lock(&zap_lock);
	for (i = s; i < e; i++) {
		bit = 1ULL << (i % 64);
		for (k = 0; k < (t->zap ? 2u : 1u); k++) {
			if (!(atomic_fetch_and(&t->live[k * t->words + i / 64],
					       ~bit) &
			      bit))
				continue;
			if (atomic_fetch_sub(&t->nr_live, 1) == 1)
				atomic_fetch_add(&nr_dead, 1);
		}
	}
	if (t->zap)
		mutex_unlock(&zap_lock);
}

/* mprotect t's directly mapped pages: no access while zapped, read and
 * write (as mm maps device frames) when not. */
static void zap_pages(struct mmio_trap *t, bool zapped)
{
	unsigned long i, j, n = trap_pages(t);

	lockdep_assert_held(&trap_lock);
	mutex_lock(&zap_lock);
	for (i = 0; i < n; i = j + 1) {
		for (j = i; j < n && direct_bit(t, j); j++)
			;
		if (j > i)
			WARN_ON(mprotect(
				(void *)(t->start + (i << PHYS_PAGE_SHIFT)),
				(j - i) << PHYS_PAGE_SHIFT,
				zapped ? PROT_NONE : PROT_READ | PROT_WRITE));
	}
	mutex_unlock(&zap_lock);
}

void mmio_zap_init(struct mmio_zap *z, bool zapped)
{
	atomic_init(&z->zapped, zapped);
	atomic_init(&z->sigbus, 0);
}

/*
 * The flag is set before the frames lose their access and cleared after
 * they have it back, so a fault at a frame always finds the flag set;
 * trapped pages read it on every access.
 */
void mmio_zap_set(struct mmio_zap *z, bool zapped)
{
	struct trap_table *tb;
	unsigned int i;

	mutex_lock(&trap_lock);
	if (zapped)
		atomic_store(&z->zapped, true);
	tb = atomic_load(&table);
	for (i = 0; tb && i < tb->nr_traps; i++)
		if (tb->traps[i]->zap == z)
			zap_pages(tb->traps[i], zapped);
	if (!zapped)
		atomic_store(&z->zapped, false);
	mutex_unlock(&trap_lock);
}

void mmio_trap_sync(void)
{
	mutex_lock(&trap_lock);
	/* compact if a trap died; without memory for that, only wait */
	if (!atomic_load(&nr_dead) || rebuild(NULL))
		wait_readers();
	mutex_unlock(&trap_lock);
}

int mmio_trap_get_stats(const void *addr, struct mmio_trap_stats *st)
{
	struct mmio_trap *t;
	int ret = -ENOENT;

	mutex_lock(&trap_lock);
	t = lookup(atomic_load(&table), (unsigned long)addr);
	if (t) {
		st->reads = atomic_load(&t->reads);
		st->writes = atomic_load(&t->writes);
		ret = 0;
	}
	mutex_unlock(&trap_lock);
	return ret;
}

int mmio_trap_sigaction(int sig, const struct sigaction *act,
			struct sigaction *old)
{
	struct prev_handler *p = NULL, *cur;

	if (sig != SIGSEGV)
		return sigaction(sig, act, old);
	mutex_lock(&trap_lock);
	if (!installed) {
		mutex_unlock(&trap_lock);
		return sigaction(sig, act, old);
	}
	if (act) {
		p = ui_zalloc(sizeof(*p));
		if (!p) {
			mutex_unlock(&trap_lock);
			errno = ENOMEM;
			return -1;
		}
		p->sa = *act;
	}
	cur = atomic_load(&prev);
	if (old)
		*old = cur->sa;
	if (p) {
		p->older = cur;
		atomic_store(&prev, p);
	}
	mutex_unlock(&trap_lock);
	return 0;
}

/* ---- the handler ------------------------------------------------------------- */

enum emul {
	EMUL_NOT_OURS,
	EMUL_DONE,
	EMUL_UNSUPPORTED,
	EMUL_SIGBUS, /* a zapped mapping */
};

static const int greg_of[16] = {
	REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
	REG_R8,	 REG_R9,  REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15,
};

static uint64_t width_mask(unsigned int bytes)
{
	return bytes >= 8 ? ~0ULL : (1ULL << (bytes * 8)) - 1;
}

/* A high-byte register's 64-bit register, or ZYDIS_REGISTER_NONE. */
static ZydisRegister high_byte(ZydisRegister r)
{
	switch (r) {
	case ZYDIS_REGISTER_AH:
		return ZYDIS_REGISTER_RAX;
	case ZYDIS_REGISTER_CH:
		return ZYDIS_REGISTER_RCX;
	case ZYDIS_REGISTER_DH:
		return ZYDIS_REGISTER_RDX;
	case ZYDIS_REGISTER_BH:
		return ZYDIS_REGISTER_RBX;
	default:
		return ZYDIS_REGISTER_NONE;
	}
}

/* The ucontext slot of a general-purpose register (any width), or -1. */
static int greg_slot(ZydisRegister r)
{
	ZydisRegister full = high_byte(r);

	if (full == ZYDIS_REGISTER_NONE)
		full = ZydisRegisterGetLargestEnclosing(
			ZYDIS_MACHINE_MODE_LONG_64, r);
	if (full < ZYDIS_REGISTER_RAX || full > ZYDIS_REGISTER_R15)
		return -1;
	return greg_of[full - ZYDIS_REGISTER_RAX];
}

static bool is_xmm(ZydisRegister r)
{
	return r >= ZYDIS_REGISTER_XMM0 && r <= ZYDIS_REGISTER_XMM15;
}

/* Read register r (its own width, zero-extended); false if not emulated. */
static bool reg_get(const ucontext_t *uc, ZydisRegister r, uint64_t *val)
{
	unsigned int bits;
	int slot;

	if (is_xmm(r)) {
		const uint32_t *e =
			uc->uc_mcontext.fpregs->_xmm[r - ZYDIS_REGISTER_XMM0]
				.element;

		*val = e[0] | (uint64_t)e[1] << 32;
		return true;
	}
	slot = greg_slot(r);
	if (slot < 0)
		return false;
	*val = uc->uc_mcontext.gregs[slot];
	if (high_byte(r) != ZYDIS_REGISTER_NONE) {
		*val = (*val >> 8) & 0xff;
		return true;
	}
	bits = ZydisRegisterGetWidth(ZYDIS_MACHINE_MODE_LONG_64, r);
	*val &= width_mask(bits / 8);
	return true;
}

/* Write val to register r as a load into it does: a 32-bit register
 * zero-extends into its 64, 8- and 16-bit ones merge, an XMM register is
 * zero-extended (movd, movq).  False if not emulated. */
static bool reg_set(ucontext_t *uc, ZydisRegister r, uint64_t val)
{
	unsigned int bits;
	greg_t *g;
	int slot;

	if (is_xmm(r)) {
		uint32_t *e =
			uc->uc_mcontext.fpregs->_xmm[r - ZYDIS_REGISTER_XMM0]
				.element;

		e[0] = (uint32_t)val;
		e[1] = (uint32_t)(val >> 32);
		e[2] = e[3] = 0;
		return true;
	}
	slot = greg_slot(r);
	if (slot < 0)
		return false;
	g = &uc->uc_mcontext.gregs[slot];
	if (high_byte(r) != ZYDIS_REGISTER_NONE) {
		*g = (greg_t)(((uint64_t)*g & ~0xff00ULL) | (val & 0xff) << 8);
		return true;
	}
	bits = ZydisRegisterGetWidth(ZYDIS_MACHINE_MODE_LONG_64, r);
	if (bits >= 32)
		*g = (greg_t)(val & width_mask(bits / 8));
	else
		*g = (greg_t)(((uint64_t)*g & ~width_mask(bits / 8)) |
			      (val & width_mask(bits / 8)));
	return true;
}

/* The effective address of a memory operand; false if not emulated. */
static bool mem_address(const ucontext_t *uc, const ZydisDecodedInstruction *in,
			const ZydisDecodedOperand *op, unsigned long *ea)
{
	uint64_t a = 0, v;

	if (op->mem.type != ZYDIS_MEMOP_TYPE_MEM ||
	    op->mem.segment == ZYDIS_REGISTER_FS ||
	    op->mem.segment == ZYDIS_REGISTER_GS)
		return false;
	if (op->mem.base == ZYDIS_REGISTER_RIP) {
		a = uc->uc_mcontext.gregs[REG_RIP] + in->length;
	} else if (op->mem.base != ZYDIS_REGISTER_NONE) {
		if (!reg_get(uc, op->mem.base, &v) || is_xmm(op->mem.base))
			return false;
		a = v;
	}
	if (op->mem.index != ZYDIS_REGISTER_NONE) {
		if (!reg_get(uc, op->mem.index, &v) || is_xmm(op->mem.index))
			return false;
		a += v * op->mem.scale;
	}
	if (op->mem.disp.has_displacement)
		a += (uint64_t)op->mem.disp.value;
	if (in->address_width == 32)
		a = (uint32_t)a;
	*ea = a;
	return true;
}

/* Sign-extend the low 'bytes' bytes of v. */
static uint64_t sext(uint64_t v, unsigned int bytes)
{
	unsigned int sh = 64 - bytes * 8;

	return bytes >= 8 ? v : (uint64_t)((int64_t)(v << sh) >> sh);
}

static enum emul emulate(struct mmio_trap *t, ucontext_t *uc,
			 unsigned long fault)
{
	const uint8_t *rip = (const uint8_t *)uc->uc_mcontext.gregs[REG_RIP];
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	ZydisDecodedInstruction in;
	const ZydisDecodedOperand *mem = NULL, *other = NULL;
	bool write = uc->uc_mcontext.gregs[REG_ERR] & PF_ERR_WRITE;
	unsigned long ea, avail;
	unsigned int width, i;
	uint64_t val;
	ZyanStatus st;

	/* only the bytes to the end of the page are surely readable, unless
	 * the instruction goes on (then the CPU fetched the rest) */
	avail = PHYS_PAGE_SIZE - ((unsigned long)rip & (PHYS_PAGE_SIZE - 1));
	st = ZydisDecoderDecodeFull(
		&decoder, rip,
		min(avail, (unsigned long)ZYDIS_MAX_INSTRUCTION_LENGTH), &in,
		ops);
	if (st == ZYDIS_STATUS_NO_MORE_DATA)
		st = ZydisDecoderDecodeFull(
			&decoder, rip, ZYDIS_MAX_INSTRUCTION_LENGTH, &in, ops);
	if (ZYAN_FAILED(st) || in.operand_count_visible != 2)
		return EMUL_UNSUPPORTED;
	for (i = 0; i < 2; i++) {
		if (ops[i].type == ZYDIS_OPERAND_TYPE_MEMORY && !mem)
			mem = &ops[i];
		else
			other = &ops[i];
	}
	if (!mem || !other || !mem_address(uc, &in, mem, &ea))
		return EMUL_UNSUPPORTED;
	width = mem->size / 8;
	if (width != 1 && width != 2 && width != 4 && width != 8)
		return EMUL_UNSUPPORTED;
	/* the whole access within live pages of this trap, and the one that
	 * faulted among them */
	if (ea < t->start || ea + width > t->end || ea + width < ea ||
	    fault < ea || fault >= ea + width || !page_live(t, ea) ||
	    !page_live(t, ea + width - 1))
		return EMUL_UNSUPPORTED;
	if (write != (mem == &ops[0]))
		return EMUL_UNSUPPORTED;

	switch (in.mnemonic) {
	case ZYDIS_MNEMONIC_MOV:
	case ZYDIS_MNEMONIC_MOVNTI:
		break;
	case ZYDIS_MNEMONIC_MOVZX:
	case ZYDIS_MNEMONIC_MOVSX:
	case ZYDIS_MNEMONIC_MOVSXD:
		if (write)
			return EMUL_UNSUPPORTED;
		break;
	case ZYDIS_MNEMONIC_MOVD:
	case ZYDIS_MNEMONIC_MOVQ:
		if (in.encoding != ZYDIS_INSTRUCTION_ENCODING_LEGACY ||
		    other->type != ZYDIS_OPERAND_TYPE_REGISTER ||
		    !is_xmm(other->reg.value))
			return EMUL_UNSUPPORTED;
		break;
	default:
		return EMUL_UNSUPPORTED;
	}

	if (write) {
		if (other->type == ZYDIS_OPERAND_TYPE_IMMEDIATE)
			val = other->imm.is_signed
				      ? (uint64_t)other->imm.value.s
				      : other->imm.value.u;
		else if (other->type != ZYDIS_OPERAND_TYPE_REGISTER ||
			 !reg_get(uc, other->reg.value, &val))
			return EMUL_UNSUPPORTED;
		val &= width_mask(width);
		t->ops->write(t->priv, t->base + (ea - t->start), width, val);
		atomic_fetch_add_explicit(&t->writes, 1, memory_order_relaxed);
	} else {
		if (other->type != ZYDIS_OPERAND_TYPE_REGISTER ||
		    (!is_xmm(other->reg.value) &&
		     greg_slot(other->reg.value) < 0))
			return EMUL_UNSUPPORTED;
		val = 0;
		t->ops->read(t->priv, t->base + (ea - t->start), width, &val);
		val &= width_mask(width);
		if (in.mnemonic == ZYDIS_MNEMONIC_MOVSX ||
		    in.mnemonic == ZYDIS_MNEMONIC_MOVSXD)
			val = sext(val, width);
		reg_set(uc, other->reg.value, val);
		atomic_fetch_add_explicit(&t->reads, 1, memory_order_relaxed);
	}
	uc->uc_mcontext.gregs[REG_RIP] += in.length;
	return EMUL_DONE;
}

/* Async-signal-safe formatting for the report. */
static char *put_str(char *p, const char *s)
{
	while (*s)
		*p++ = *s++;
	return p;
}

static char *put_hex(char *p, uint64_t v, int digits)
{
	static const char hex[] = "0123456789abcdef";
	int i;

	if (digits == 0) /* as many as needed */
		for (digits = 1; digits < 16 && v >> (digits * 4); digits++)
			;
	for (i = digits - 1; i >= 0; i--)
		*p++ = hex[(v >> (i * 4)) & 0xf];
	return p;
}

/* pr_err's line, written with write(2): stdio is not signal-safe. */
static void report_unsupported(const ucontext_t *uc, unsigned long addr)
{
	const uint8_t *rip = (const uint8_t *)uc->uc_mcontext.gregs[REG_RIP];
	unsigned long avail, i, n;
	char buf[256], *p = buf;
	ssize_t w;

	/* getenv only reads the environment (pr_err's test of it) */
	if (getenv("UIOMMU_QUIET"))
		return;
	avail = PHYS_PAGE_SIZE - ((unsigned long)rip & (PHYS_PAGE_SIZE - 1));
	n = min(avail, (unsigned long)ZYDIS_MAX_INSTRUCTION_LENGTH);
	p = put_str(p, "uiommu: error: trapped MMIO at 0x");
	p = put_hex(p, addr, 0);
	p = put_str(p, ": cannot emulate the instruction at 0x");
	p = put_hex(p, (uint64_t)(uintptr_t)rip, 0);
	p = put_str(p, " (bytes");
	for (i = 0; i < n; i++) {
		*p++ = ' ';
		p = put_hex(p, rip[i], 2);
	}
	p = put_str(p, ")\n");
	w = write(STDERR_FILENO, buf, p - buf);
	(void)w;
}

/*
 * The kernel's default action for sig, set by the system call itself: the
 * C library's sigaction may be interposed (uiommu exec's preload sends it
 * to mmio_trap_sigaction(), which only records the program's handler), and
 * the fault would then be taken by this handler again, forever.
 */
static void set_sig_default(int sig)
{
	struct {
		void *handler;
		unsigned long flags;
		void *restorer;
		uint64_t mask;
	} k = {.handler = (void *)SIG_DFL};

	syscall(SYS_rt_sigaction, sig, &k, NULL, sizeof(k.mask));
}

/* Let the fault take the default action: the instruction faults again on
 * return (a signal sent by a process is raised again). */
static void fault_default(int sig, const siginfo_t *si)
{
	set_sig_default(sig);
	if (si->si_code <= 0)
		raise(sig);
}

/*
 * A zapped mapping's access: SIGBUS (BUS_ADRERR at the address), as the
 * kernel's fault handler of such a mapping answers.  It is queued to this
 * thread with SIGBUS blocked until this handler returns, so it is taken
 * at the faulting instruction; one that is blocked or ignored there is
 * reset to the default and unblocked (force_sig_fault), which kills.
 */
static void fault_sigbus(unsigned long addr, ucontext_t *uc)
{
	siginfo_t info;
	struct sigaction cur;
	sigset_t bus;

	memset(&info, 0, sizeof(info));
	info.si_signo = SIGBUS;
	info.si_code = BUS_ADRERR;
	info.si_addr = (void *)addr;
	if (sigismember(&uc->uc_sigmask, SIGBUS) == 1 ||
	    (!sigaction(SIGBUS, NULL, &cur) && !(cur.sa_flags & SA_SIGINFO) &&
	     cur.sa_handler == SIG_IGN)) {
		set_sig_default(SIGBUS);
		sigdelset(&uc->uc_sigmask, SIGBUS);
	}
	sigemptyset(&bus);
	sigaddset(&bus, SIGBUS);
	pthread_sigmask(SIG_BLOCK, &bus, NULL);
	syscall(SYS_rt_tgsigqueueinfo, getpid(), syscall(SYS_gettid), SIGBUS,
		&info);
}

/* Give a fault that is not ours to prev, with prev's signal mask. */
static void chain(int sig, siginfo_t *si, ucontext_t *uc)
{
	const struct prev_handler *p = atomic_load(&prev);
	const struct sigaction *sa = &p->sa;
	sigset_t mask, saved;
	int i;

	if (!(sa->sa_flags & SA_SIGINFO) &&
	    (sa->sa_handler == SIG_DFL || sa->sa_handler == SIG_IGN)) {
		fault_default(sig, si); /* SIGSEGV cannot be ignored */
		return;
	}
	mask = uc->uc_sigmask;
	for (i = 1; i < NSIG; i++)
		if (sigismember(&sa->sa_mask, i) == 1)
			sigaddset(&mask, i);
	if (!(sa->sa_flags & SA_NODEFER))
		sigaddset(&mask, sig);
	pthread_sigmask(SIG_SETMASK, &mask, &saved);
	if (sa->sa_flags & SA_SIGINFO)
		sa->sa_sigaction(sig, si, uc);
	else
		sa->sa_handler(sig);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
}

static void trap_sigsegv(int sig, siginfo_t *si, void *ctx)
{
	unsigned long addr = (unsigned long)si->si_addr;
	enum emul r = EMUL_NOT_OURS;
	ucontext_t *uc = ctx;
	int saved_errno = errno;
	struct mmio_trap *t;
	unsigned int rd;

	uaccess_fault(addr); /* a copy_from/to_user's: -EFAULT, no return */
	rd = read_enter();
	if (si->si_code == SEGV_ACCERR &&
	    !(uc->uc_mcontext.gregs[REG_ERR] & PF_ERR_INSTR)) {
		t = lookup(atomic_load(&table), addr);
		if (t && t->zap && atomic_load(&t->zap->zapped)) {
			atomic_fetch_add_explicit(&t->zap->sigbus, 1,
						  memory_order_relaxed);
			r = EMUL_SIGBUS;
		} else if (t && page_live(t, addr)) {
			r = emulate(t, uc, addr);
		}
	}
	read_exit(rd);
	switch (r) {
	case EMUL_DONE:
		break;
	case EMUL_SIGBUS:
		fault_sigbus(addr, uc);
		break;
	case EMUL_UNSUPPORTED:
		report_unsupported(uc, addr);
		fault_default(sig, si);
		break;
	case EMUL_NOT_OURS:
		chain(sig, si, uc);
		break;
	}
	errno = saved_errno;
}
