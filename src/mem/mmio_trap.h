/* SPDX-License-Identifier: MIT */
/*
 * Trapped MMIO: register pages that a program touches with plain loads and
 * stores, each access handed synchronously to a device model.
 *
 * mm_mmap_trapped() makes a region of the mm whose host pages stay
 * PROT_NONE.  A load or store to it faults; the SIGSEGV handler this file's
 * module installs (once, on the first trapped mapping) decodes the
 * faulting instruction, calls ops->read or ops->write with the offset in
 * the mapping and the access width in bytes, writes a loaded value into
 * the destination register, steps over the instruction and returns.  The
 * region is an IO|PFNMAP region without frames: it cannot be pinned or
 * followed (mm_follow_pfn answers -EFAULT), and mm_munmap() unmaps it,
 * whole or in part.  When mm_munmap() (or mm_destroy()) returns, no ops
 * call for the pages it unmapped is in flight or can start.
 *
 * Faults that are not at a live trapped page go to the handler that was
 * installed before ours (or that the program installed through
 * mmio_trap_sigaction()); with none, the default action kills the process
 * as the fault would have.  An instruction the emulator does not know
 * (rep movs, AVX, read-modify-write ALU forms) at a trapped page is
 * reported on stderr with its address and bytes, and then faults with the
 * default action: nothing is guessed.
 *
 * Emulated: mov (register and immediate forms, 8 to 64 bits, REX and
 * high-byte registers), movzx, movsx, movsxd, movnti, and the SSE2
 * movd/movq between an XMM register and memory.
 *
 * The ops run in the signal handler of the faulting thread: they must not
 * take a lock that the code doing the access may hold, must not unmap
 * trapped memory, and mm_munmap() of a trapped range must not be called
 * holding a lock the ops take (it waits for ops calls in flight).
 */
#ifndef UIOMMU_MEM_MMIO_TRAP_H
#define UIOMMU_MEM_MMIO_TRAP_H

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mem/mem.h"

struct mm;

struct mmio_trap_ops {
	/* width is 1, 2, 4 or 8 bytes; offset from the mapping's start */
	void (*read)(void *priv, uint64_t offset, unsigned int width,
		     uint64_t *val);
	void (*write)(void *priv, uint64_t offset, unsigned int width,
		      uint64_t val);
};

struct mmio_trap_stats {
	uint64_t reads, writes; /* accesses emulated */
};

/* A trapped region of len bytes (rounded up to pages) at *addr. */
int mm_mmap_trapped(struct mm *mm, size_t len, const struct mmio_trap_ops *ops,
		    void *priv, void **addr);

/*
 * A device mapping of len bytes (rounded up to pages) at *addr whose pages
 * are of two kinds: pages[i] a frame of physical memory, mapped directly
 * as mm_mmap_pfn() maps device memory (plain memory behind a device), or
 * PHYS_ADDR_INVALID: a trapped page, whose loads and stores reach ops with
 * the offset base + (offset in the mapping), so a driver's ops can serve
 * mappings that begin anywhere in its register space.  vm_flags adds to
 * IO|PFNMAP|DONTEXPAND|DONTDUMP.  ops may be NULL when no page is trapped.
 * One region: mm_munmap() and mm_follow_pfn() see it as one, the trapped
 * pages as mm_mmap_trapped()'s and the frames as mm_mmap_pfn()'s.
 * -EINVAL for a frame outside memory or not page-aligned, a trapped page
 * without ops, len 0; -ENOMEM.
 */
int mm_mmap_device(struct mm *mm, size_t len, const phys_addr_t *pages,
		   uint64_t vm_flags, const struct mmio_trap_ops *ops,
		   void *priv, uint64_t base, void **addr);
/* mm_mmap_device at place (struct mm_place, mem.h; NULL: anywhere). */
int mm_mmap_device_at(struct mm *mm, size_t len, const phys_addr_t *pages,
		      uint64_t vm_flags, const struct mmio_trap_ops *ops,
		      void *priv, uint64_t base, const struct mm_place *place,
		      void **addr);

/*
 * Zapping (vfio-pci's memory decode off, a reset): a driver's struct
 * mmio_zap groups the device mappings made with it (mm_mmap_device_zap).
 * While it is zapped, every access to any page of them, trapped or
 * directly mapped, raises SIGBUS (BUS_ADRERR, si_addr the address) in the
 * accessing thread, as the kernel's fault handler of a zapped vfio-pci
 * BAR mapping answers; the ops are not called.  mmio_zap_set(z, false)
 * gives every page its access back.  The frames are made PROT_NONE while
 * zapped.  Taken with no memory-layer lock held (trap_lock); the ops must
 * not call it.  The driver keeps z alive while a mapping made with it
 * lives, as it keeps priv.
 */
struct mmio_zap {
	_Atomic bool zapped;
	_Atomic uint64_t sigbus; /* accesses answered with SIGBUS */
};

void mmio_zap_init(struct mmio_zap *z, bool zapped);
void mmio_zap_set(struct mmio_zap *z, bool zapped);

/* mm_mmap_device_at, the mapping in zap's group (zap may be NULL: none);
 * the mapping's frames are its pages too (they have a trap, with no ops
 * call). */
int mm_mmap_device_zap(struct mm *mm, size_t len, const phys_addr_t *pages,
		       uint64_t vm_flags, const struct mmio_trap_ops *ops,
		       void *priv, uint64_t base, struct mmio_zap *zap,
		       const struct mm_place *place, void **addr);

/* The counters of the trapped mapping that contains addr (those of the
 * whole mapping mm_mmap_trapped made); -ENOENT if none is live there. */
int mmio_trap_get_stats(const void *addr, struct mmio_trap_stats *st);

/*
 * sigaction(2) for the program: for SIGSEGV once the trap handler is
 * installed, act becomes the handler that faults not ours chain to, and
 * old receives the one it replaces, so the program cannot displace the
 * trap handler; other signals, and SIGSEGV before any trapped mapping,
 * are plain sigaction.  The preload library's sigaction and signal
 * interposers are to call this.
 */
int mmio_trap_sigaction(int sig, const struct sigaction *act,
			struct sigaction *old);

/*
 * Install the trap's SIGSEGV handler now, before any trapped mapping
 * exists: from then on user copies (lib/uaccess.c) are plain copies under
 * a fixup, with no system call, and the program's own SIGSEGV handlers
 * sit behind it as mmio_trap_sigaction() says.  `uiommu exec` does this
 * at the program's first open of a uiommu path.  0 or -errno.
 */
int mmio_trap_install(void);

/* ---- for mm.c ----------------------------------------------------------- */

struct mmio_trap;

/* Publish a trap over [start, end) whose ops see offset base at start:
 * every page live, or (pages non-NULL) those whose pages[i] is
 * PHYS_ADDR_INVALID; with zap, the other pages are its direct pages. */
int mmio_trap_register(unsigned long start, unsigned long end,
		       const struct mmio_trap_ops *ops, void *priv,
		       uint64_t base, const phys_addr_t *pages,
		       struct mmio_zap *zap, struct mmio_trap **out);
/* Pages [start, end) are no longer trapped (no waiting: call
 * mmio_trap_sync() afterwards, outside the mm's lock). */
void mmio_trap_unmap(struct mmio_trap *t, unsigned long start,
		     unsigned long end);
/* Wait until no handler that might have seen an unmapped page live is
 * still running, and free the traps with no live page left. */
void mmio_trap_sync(void);

#endif /* UIOMMU_MEM_MMIO_TRAP_H */
