/* SPDX-License-Identifier: MIT */
/*
 * The PCI layer: a type-0 PCI Express function as device models implement
 * it and as vfio-pci exposes it.
 *
 * Data model.  A struct pci_function is made from a description (struct
 * pci_function_desc: ids, class, BARs, an option ROM, an interrupt pin and
 * the capabilities wanted) and the model's ops.  The layer owns:
 *   - configuration space, 4 KiB of bytes with per-byte masks of the bits
 *     software may write and the bits it clears by writing 1; every other
 *     bit is read-only, and a bit no field names reads 0 (pci_config.c);
 *   - the capability list it builds from the description, in a fixed
 *     order from 0x40: power management, MSI, MSI-X, PCI Express;
 *   - the BARs' decoding: a BAR's size, flags, and which page ranges of it
 *     are plain memory (mmappable) rather than registers; accesses to the
 *     registers go to the model's bar_read/bar_write ops (pci.c);
 *   - interrupts: the MSI-X table and PBA (emulated here, in the BAR the
 *     capability names), MSI's mask and pending bits, and the INTx level,
 *     each delivered through a handler the owner registers (pci_irq.c);
 *   - function-level reset, which restores configuration space's defaults
 *     and the interrupt state and then calls the model's reset op.
 *
 * Invariants.  A write to configuration space changes only bits its masks
 * allow; a vector that fires while masked (MSI-X per-vector or function
 * mask, MSI per-vector mask) sets its pending bit and is delivered when it
 * is unmasked, once; no MSI or MSI-X is delivered without Bus Master
 * Enable and the capability's enable bit; INTx is signalled only while
 * asserted, Interrupt Disable is clear and neither MSI nor MSI-X is on.
 *
 * Locking.  One mutex per function (fn->lock, LOCK_RANK_PCI: after every
 * lock of vfio's that a config access may come with, and before the IOMMU
 * layers, which it never calls) guards configuration space and the
 * interrupt state.  The owner's interrupt handlers run with it held and
 * may take no lock that ranks before it (signalling an eventfd takes
 * none).  The model's ops (BAR registers, reset) are called without it:
 * a model does its DMA through hw/ holding nothing of this layer, and may
 * call pci_msix_fire()/pci_msi_fire()/pci_intx_set() from its ops.
 */
#ifndef UIOMMU_PCI_PCI_H
#define UIOMMU_PCI_PCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pci/pci_regs.h"

struct pci_function;

/* A BAR's flags. */
#define PCI_BAR_F_64	   (1u << 0) /* 64-bit: takes this and the next BAR */
#define PCI_BAR_F_PREFETCH (1u << 1)

/* The most plain-memory ranges one BAR has. */
#define PCI_BAR_MAX_MMAP 4

/* A page range of a BAR that is plain memory: mem holds its bytes. */
struct pci_bar_mmap {
	uint64_t offset, size; /* page-aligned, inside the BAR */
	void *mem;
};

struct pci_bar_desc {
	uint64_t size; /* 0: no BAR; else a power of two, at least 16 */
	unsigned int flags;
	unsigned int nr_mmap;
	struct pci_bar_mmap mmap[PCI_BAR_MAX_MMAP];
};

/*
 * A model's ops.  bar_read/bar_write reach the BAR's registers (every
 * offset that is neither plain memory nor the MSI-X table or PBA), with
 * width 1, 2, 4 or 8 and off aligned to it; they return 0 or a negative
 * errno.  reset (may be NULL) returns the model to its power-on state.
 */
struct pci_ops {
	int (*bar_read)(void *priv, unsigned int bar, uint64_t off,
			unsigned int width, uint64_t *val);
	int (*bar_write)(void *priv, unsigned int bar, uint64_t off,
			 unsigned int width, uint64_t val);
	void (*reset)(void *priv);
};

struct pci_function_desc {
	uint16_t vendor, device, subsys_vendor, subsys;
	uint32_t class_code; /* base class, subclass, programming interface */
	uint8_t revision;
	uint8_t int_pin; /* 0: none, 1..4: INTA..INTD */
	struct pci_bar_desc bar[PCI_NUM_BARS];
	uint64_t rom_size; /* 0: none; else a power of two, at least 2 KiB */
	const void *rom;   /* rom_size bytes */
	bool pm;
	unsigned int msi_vectors;  /* 0: no MSI; 1, 2, 4, ..., 32 */
	bool msi_pvm;		   /* MSI per-vector masking */
	unsigned int msix_vectors; /* 0: no MSI-X; 1..2048 */
	unsigned int msix_table_bar, msix_pba_bar;
	uint32_t msix_table_off, msix_pba_off; /* 8-byte aligned */
	bool pcie;
	bool flr; /* DevCap's Function Level Reset capability (needs pcie) */
	const struct pci_ops *ops;
	void *priv;
};

/*
 * Make a function from d (copied; the ROM bytes and the mmap memory are
 * the model's and must outlive the function).  -EINVAL for a description
 * the layer cannot build (a BAR size not a power of two, a 64-bit BAR in
 * BAR5 or followed by a BAR, an MSI-X table or PBA outside its BAR or
 * overlapping plain memory, FLR without PCIe), -ENOMEM.
 */
int pci_function_create(const struct pci_function_desc *d,
			struct pci_function **out);
void pci_function_destroy(struct pci_function *fn);

/*
 * A model's own registers in configuration space (at or above 0x40 and
 * outside the capabilities): size 1, 2 or 4 bytes at an aligned offset,
 * its initial value, the bits software may write and the bits it clears
 * by writing 1.  Made before the function is in use; a reset restores val.
 * -EINVAL for a bad place, -EBUSY when it overlaps a capability or an
 * earlier register.
 */
int pci_config_define(struct pci_function *fn, unsigned int off,
		      unsigned int size, uint32_t val, uint32_t wmask,
		      uint32_t w1cmask);
/* The model sets hardware-owned bits (error status, say) in its register
 * or in the header's Status register, whatever their write masks. */
int pci_config_set_bits(struct pci_function *fn, unsigned int off,
			unsigned int size, uint32_t bits);

/*
 * Configuration space accesses as software makes them: size 1, 2 or 4 at
 * an aligned offset below 4096; -EINVAL otherwise.  A write that sets
 * DevCtl's Initiate FLR on a function with FLR capability resets it.
 */
int pci_config_read(struct pci_function *fn, unsigned int off,
		    unsigned int size, uint32_t *val);
int pci_config_write(struct pci_function *fn, unsigned int off,
		     unsigned int size, uint32_t val);

/*
 * The capability list of a configuration space image (cfg, at least 256
 * bytes): offset of the first capability with id (0: none).  The walk
 * stops at a pointer below 0x40 and after PCI_CAP_MAX_WALK entries.
 */
unsigned int pci_find_capability(const uint8_t *cfg, uint8_t id);
/* Up to max (id, offset) pairs in list order; returns how many. */
unsigned int pci_walk_capabilities(const uint8_t *cfg, uint8_t *ids,
				   unsigned int *offs, unsigned int max);
/* A copy of the function's first 'len' bytes of configuration space. */
void pci_config_snapshot(struct pci_function *fn, uint8_t *buf, size_t len);

/* ---- BARs ---- */

/* The BAR's description (size 0: none; the upper half of a 64-bit BAR
 * reads as none). */
const struct pci_bar_desc *pci_bar(const struct pci_function *fn,
				   unsigned int bar);
/* Whether [off, off + len) of the BAR is plain memory (mmappable). */
bool pci_bar_is_mmap(const struct pci_function *fn, unsigned int bar,
		     uint64_t off, uint64_t len);
/*
 * An access to a BAR at off (width 1, 2, 4 or 8, aligned): plain memory
 * directly, the MSI-X table and PBA by the layer, the rest by the model.
 * -EINVAL for a bad bar, offset or width; -EIO while the Command
 * register's Memory Space is off.
 */
int pci_bar_read(struct pci_function *fn, unsigned int bar, uint64_t off,
		 unsigned int width, uint64_t *val);
int pci_bar_write(struct pci_function *fn, unsigned int bar, uint64_t off,
		  unsigned int width, uint64_t val);
/* The option ROM's bytes (the ROM region): how many were copied. */
size_t pci_rom_read(struct pci_function *fn, uint64_t off, void *buf,
		    size_t len);
/* The option ROM's size (the ROM BAR's; 0: none). */
uint64_t pci_rom_size(const struct pci_function *fn);

/* ---- interrupts ---- */

enum pci_irq_kind { PCI_IRQ_MSI, PCI_IRQ_MSIX };

/* A message is delivered: vector, its address and data. */
typedef void (*pci_msg_handler)(void *ctx, unsigned int vector, uint64_t addr,
				uint32_t data);
/* The INTx output changes to level. */
typedef void (*pci_intx_handler)(void *ctx, bool level);

/* Register (h non-NULL) or clear the owner's handler of one vector;
 * -EINVAL for a vector the function does not have. */
int pci_set_msg_handler(struct pci_function *fn, enum pci_irq_kind kind,
			unsigned int vector, pci_msg_handler h, void *ctx);
int pci_set_intx_handler(struct pci_function *fn, pci_intx_handler h,
			 void *ctx);

/*
 * The model raises a vector.  0: delivered; 1: held pending (masked);
 * -EAGAIN: not sent (the capability or Bus Master Enable is off);
 * -EINVAL: no such vector.
 */
int pci_msix_fire(struct pci_function *fn, unsigned int vector);
int pci_msi_fire(struct pci_function *fn, unsigned int vector);
/* The model's INTx level (its interrupt condition): asserted or not. */
void pci_intx_set(struct pci_function *fn, bool asserted);

struct pci_irq_stats {
	uint64_t delivered;  /* messages handed to handlers */
	uint64_t pended;     /* vectors that fired while masked */
	uint64_t dropped;    /* not sent, or sent with no handler */
	uint64_t intx_edges; /* INTx output changes signalled */
};
void pci_irq_stats(struct pci_function *fn, struct pci_irq_stats *st);

/* ---- reset ---- */

/* Function-level reset: configuration space and interrupt state to their
 * defaults, then the model's reset op. */
void pci_function_reset(struct pci_function *fn);

#endif /* UIOMMU_PCI_PCI_H */
