/* SPDX-License-Identifier: MIT */
/*
 * The PCI layer's private state: struct pci_function and the helpers its
 * files share (configuration space in pci_config.c, interrupts in
 * pci_irq.c, creation, BARs and reset in pci.c).
 *
 * Locking.  fn->lock (PCI_LOCK_FN) guards cfg, the MSI-X table and PBA,
 * the MSI pending bits, the INTx state, the handlers and the counters;
 * every helper here that reads or writes them begins with
 * lockdep_assert_held(&fn->lock).  desc, the capability offsets, the
 * masks and the defaults are written at creation (and by
 * pci_config_define() before the function is in use) and only read after.
 */
#ifndef UIOMMU_PCI_PCI_INTERNAL_H
#define UIOMMU_PCI_PCI_INTERNAL_H

#include "lib/internal.h"
#include "lib/lock.h"
#include "pci/pci.h"

enum pci_lock_rank {
	PCI_LOCK_FN = LOCK_RANK_PCI, /* struct pci_function: lock */
};

struct pci_vec_handler {
	pci_msg_handler h;
	void *ctx;
};

struct pci_function {
	struct mutex lock;
	struct pci_function_desc desc;

	uint8_t cfg[PCI_CFG_EXP_SIZE];	    /* current bytes */
	uint8_t cfg_init[PCI_CFG_EXP_SIZE]; /* defaults, for reset */
	uint8_t wmask[PCI_CFG_EXP_SIZE];    /* read-write bits */
	uint8_t w1cmask[PCI_CFG_EXP_SIZE];  /* write-1-to-clear bits */
	uint8_t claimed[PCI_CFG_EXP_SIZE];  /* bytes the header, a capability
					     * or a model register own */

	/* capability offsets, 0 when absent */
	unsigned int pm_cap, msi_cap, msix_cap, exp_cap;

	/* MSI-X: table entries (16 bytes each) and pending bits */
	uint8_t *msix_table;
	uint64_t *msix_pba;
	struct pci_vec_handler *msix_h;
	/* MSI: pending bits (mirrored into the Pending register with PVM) */
	uint32_t msi_pending;
	struct pci_vec_handler msi_h[PCI_MSI_MAX_VECTORS];

	bool intx_asserted, intx_out;
	pci_intx_handler intx_h;
	void *intx_ctx;

	struct pci_irq_stats stats;
};

/* pci_config.c */
int pci_config_build(struct pci_function *fn);
void pci_config_restore(struct pci_function *fn);
uint32_t pci_cfg_get(struct pci_function *fn, unsigned int off,
		     unsigned int size);
/* Apply a software write's bytes through the masks. */
void pci_cfg_apply(struct pci_function *fn, unsigned int off, unsigned int size,
		   uint32_t val);
bool pci_memory_enabled(struct pci_function *fn);
bool pci_master_enabled(struct pci_function *fn);

/* pci_irq.c */
int pci_irq_init(struct pci_function *fn);
void pci_irq_fini(struct pci_function *fn);
void pci_irq_reset(struct pci_function *fn);
/* After a config write to [off, off + size): deliver what was unmasked,
 * follow INTx's output. */
void pci_irq_config_written(struct pci_function *fn, unsigned int off,
			    unsigned int size);
/* MSI-X table and PBA accesses in BAR bar: true when [off, +width) is
 * theirs (and then *val or the write is done). */
bool pci_msix_bar_read(struct pci_function *fn, unsigned int bar, uint64_t off,
		       unsigned int width, uint64_t *val, int *ret);
bool pci_msix_bar_write(struct pci_function *fn, unsigned int bar, uint64_t off,
			unsigned int width, uint64_t val, int *ret);
bool pci_msix_overlaps(const struct pci_function_desc *d, unsigned int bar,
		       uint64_t off, uint64_t len);

#endif /* UIOMMU_PCI_PCI_INTERNAL_H */
