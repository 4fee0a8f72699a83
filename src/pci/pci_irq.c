// SPDX-License-Identifier: MIT
/*
 * A function's interrupts: MSI-X (the table and PBA in their BAR, emulated
 * here), MSI (the capability's mask and pending bits) and INTx (the
 * model's level, the Command register's Interrupt Disable and the Status
 * register's Interrupt Status).
 *
 * Data model.  fn->msix_table holds the table's entries as the BAR shows
 * them (16 bytes each: address, data, vector control, whose bit 0 is the
 * mask and whose other bits are reserved); fn->msix_pba the pending bits,
 * 64 to a word.  MSI's pending bits are fn->msi_pending, mirrored into the
 * capability's Pending register when it has per-vector masking.  Each
 * vector has one handler slot the owner fills (pci_set_msg_handler).
 *
 * Invariants.  A vector is delivered only while its capability is enabled
 * and the Command register's Bus Master Enable is set (a message is a
 * memory write); otherwise it is not sent and not held.  While masked
 * (MSI-X: the entry's mask or the function mask; MSI: its mask bit) it is
 * held pending, at most once however often it fires, and delivered once
 * when the last mask over it clears.  The INTx output is asserted &&
 * Interrupt Disable clear && neither MSI nor MSI-X enabled; the handler
 * hears each change of it, and Interrupt Status follows the assertion
 * whatever Interrupt Disable says.
 *
 * Locking.  Everything here runs with fn->lock held (asserted), handlers
 * included.
 */
#include "pci/pci_internal.h"

static uint64_t msix_table_len(const struct pci_function_desc *d)
{
	return (uint64_t)d->msix_vectors * PCI_MSIX_ENTRY_SIZE;
}

static uint64_t msix_pba_len(const struct pci_function_desc *d)
{
	return DIV_ROUND_UP(d->msix_vectors, 64) * 8;
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

bool pci_msix_overlaps(const struct pci_function_desc *d, unsigned int bar,
		       uint64_t off, uint64_t len)
{
	if (!d->msix_vectors)
		return false;
	return (bar == d->msix_table_bar &&
		ranges_overlap(off, len, d->msix_table_off,
			       msix_table_len(d))) ||
	       (bar == d->msix_pba_bar &&
		ranges_overlap(off, len, d->msix_pba_off, msix_pba_len(d)));
}

static void msix_table_reset(struct pci_function *fn)
{
	size_t len = msix_table_len(&fn->desc);

	memset(fn->msix_table, 0, len);
	for (unsigned int v = 0; v < fn->desc.msix_vectors; v++)
		PCI_DP(fn->msix_table, v * PCI_MSIX_ENTRY_SIZE, MSIXE, MASKED,
		       1);
	memset(fn->msix_pba, 0, msix_pba_len(&fn->desc));
}

int pci_irq_init(struct pci_function *fn)
{
	const struct pci_function_desc *d = &fn->desc;

	if (!d->msix_vectors)
		return 0;
	fn->msix_table = ui_zalloc(msix_table_len(d));
	if (!fn->msix_table)
		goto err;
	fn->msix_pba = ui_zalloc(msix_pba_len(d));
	if (!fn->msix_pba)
		goto err_table;
	fn->msix_h = ui_calloc(d->msix_vectors, sizeof(*fn->msix_h));
	if (!fn->msix_h)
		goto err_pba;
	msix_table_reset(fn);
	return 0;

err_pba:
	ui_free(fn->msix_pba);
err_table:
	ui_free(fn->msix_table);
err:
	return -ENOMEM;
}

void pci_irq_fini(struct pci_function *fn)
{
	ui_free(fn->msix_h);
	ui_free(fn->msix_pba);
	ui_free(fn->msix_table);
}

static void deliver(struct pci_function *fn, const struct pci_vec_handler *h,
		    unsigned int vector, uint64_t addr, uint32_t data)
{
	lockdep_assert_held(&fn->lock);
	if (!h->h) {
		fn->stats.dropped++;
		return;
	}
	fn->stats.delivered++;
	h->h(h->ctx, vector, addr, data);
}

/* ---- MSI-X ---- */

static bool msix_enabled(struct pci_function *fn)
{
	lockdep_assert_held(&fn->lock);
	return fn->msix_cap && PCI_EX(fn->cfg, fn->msix_cap, MSIX, ENABLE);
}

static bool msix_vector_masked(struct pci_function *fn, unsigned int v)
{
	lockdep_assert_held(&fn->lock);
	return PCI_EX(fn->cfg, fn->msix_cap, MSIX, FUNC_MASK) ||
	       PCI_EX(fn->msix_table, v * PCI_MSIX_ENTRY_SIZE, MSIXE, MASKED);
}

static void msix_send(struct pci_function *fn, unsigned int v)
{
	const uint8_t *e = fn->msix_table + v * PCI_MSIX_ENTRY_SIZE;
	uint64_t addr = (uint64_t)PCI_EX(e, 0, MSIXE, ADDR_HI) << 32 |
			PCI_EX(e, 0, MSIXE, ADDR_LO);

	deliver(fn, &fn->msix_h[v], v, addr, PCI_EX(e, 0, MSIXE, DATA));
}

static void msix_deliver_pending(struct pci_function *fn)
{
	lockdep_assert_held(&fn->lock);
	if (!msix_enabled(fn) || !pci_master_enabled(fn))
		return;
	for (unsigned int v = 0; v < fn->desc.msix_vectors; v++) {
		uint64_t bit = 1ULL << (v % 64);

		if (!(fn->msix_pba[v / 64] & bit) || msix_vector_masked(fn, v))
			continue;
		fn->msix_pba[v / 64] &= ~bit;
		msix_send(fn, v);
	}
}

int pci_msix_fire(struct pci_function *fn, unsigned int vector)
{
	int ret = 0;

	if (vector >= fn->desc.msix_vectors)
		return -EINVAL;
	mutex_lock(&fn->lock);
	if (!msix_enabled(fn) || !pci_master_enabled(fn)) {
		fn->stats.dropped++;
		ret = -EAGAIN;
	} else if (msix_vector_masked(fn, vector)) {
		fn->msix_pba[vector / 64] |= 1ULL << (vector % 64);
		fn->stats.pended++;
		ret = 1;
	} else {
		msix_send(fn, vector);
	}
	mutex_unlock(&fn->lock);
	return ret;
}

/* Whether [off, +width) touches the table (*in = 1) or the PBA (2). */
static bool msix_place(struct pci_function *fn, unsigned int bar, uint64_t off,
		       unsigned int width, int *ret, uint64_t *rel, int *in)
{
	const struct pci_function_desc *d = &fn->desc;

	if (!pci_msix_overlaps(d, bar, off, width))
		return false;
	*in = 0;
	if (bar == d->msix_table_bar && off >= d->msix_table_off &&
	    off + width <= d->msix_table_off + msix_table_len(d)) {
		*in = 1;
		*rel = off - d->msix_table_off;
	} else if (bar == d->msix_pba_bar && off >= d->msix_pba_off &&
		   off + width <= d->msix_pba_off + msix_pba_len(d)) {
		*in = 2;
		*rel = off - d->msix_pba_off;
	}
	/* dword and qword accesses only (PCI 3.0 6.8.2) */
	*ret = (*in && (width == 4 || width == 8)) ? 0 : -EINVAL;
	return true;
}

bool pci_msix_bar_read(struct pci_function *fn, unsigned int bar, uint64_t off,
		       unsigned int width, uint64_t *val, int *ret)
{
	uint64_t rel;
	int in;

	if (!msix_place(fn, bar, off, width, ret, &rel, &in))
		return false;
	if (*ret)
		return true;
	mutex_lock(&fn->lock);
	if (in == 1) {
		*val = pci_le_get(fn->msix_table + rel, 4);
		if (width == 8)
			*val |= (uint64_t)pci_le_get(fn->msix_table + rel + 4,
						     4)
				<< 32;
	} else {
		uint64_t w = fn->msix_pba[rel / 8];

		*val = width == 8 ? w : (uint32_t)(w >> (8 * (rel % 8)));
	}
	mutex_unlock(&fn->lock);
	return true;
}

static void msix_table_write32(struct pci_function *fn, uint64_t rel,
			       uint32_t v)
{
	lockdep_assert_held(&fn->lock);
	switch (rel % PCI_MSIX_ENTRY_SIZE) {
	case PCI_MSIXE_ADDR_LO_OFF:
		v &= ~3u; /* dword aligned */
		break;
	case PCI_MSIXE_MASKED_OFF:
		v &= PCI_MASK(MSIXE, MASKED); /* the rest is reserved */
		break;
	}
	pci_le_put(fn->msix_table + rel, 4, v);
}

bool pci_msix_bar_write(struct pci_function *fn, unsigned int bar, uint64_t off,
			unsigned int width, uint64_t val, int *ret)
{
	uint64_t rel;
	int in;

	if (!msix_place(fn, bar, off, width, ret, &rel, &in))
		return false;
	if (*ret || in == 2) /* the PBA is read-only */
		return true;
	mutex_lock(&fn->lock);
	msix_table_write32(fn, rel, (uint32_t)val);
	if (width == 8)
		msix_table_write32(fn, rel + 4, (uint32_t)(val >> 32));
	msix_deliver_pending(fn);
	mutex_unlock(&fn->lock);
	return true;
}

/* ---- MSI ---- */

static bool msi_enabled(struct pci_function *fn)
{
	lockdep_assert_held(&fn->lock);
	return fn->msi_cap && PCI_EX(fn->cfg, fn->msi_cap, MSI, ENABLE);
}

/* The vectors software enabled: 2^MME, at most the capable count. */
static unsigned int msi_nr_enabled(struct pci_function *fn)
{
	unsigned int mme = PCI_EX(fn->cfg, fn->msi_cap, MSI, MME);
	unsigned int mmc = PCI_EX(fn->cfg, fn->msi_cap, MSI, MMC);

	lockdep_assert_held(&fn->lock);
	return 1u << min(mme, mmc);
}

static bool msi_vector_masked(struct pci_function *fn, unsigned int v)
{
	lockdep_assert_held(&fn->lock);
	return fn->desc.msi_pvm &&
	       ((PCI_EX(fn->cfg, fn->msi_cap, MSI, MASK) >> v) & 1);
}

static void msi_sync_pending(struct pci_function *fn)
{
	lockdep_assert_held(&fn->lock);
	if (fn->desc.msi_pvm)
		PCI_DP(fn->cfg, fn->msi_cap, MSI, PENDING, fn->msi_pending);
}

/* The message of vector v: the data's low log2(enabled) bits are v. */
static void msi_send(struct pci_function *fn, unsigned int v)
{
	unsigned int cap = fn->msi_cap, n = msi_nr_enabled(fn);
	uint64_t addr =
		(uint64_t)PCI_EX(fn->cfg, cap, MSI, ADDR_HI) << 32 |
		(PCI_EX(fn->cfg, cap, MSI, ADDR_LO) << PCI_MSI_ADDR_LO_SHIFT);
	uint32_t data = (PCI_EX(fn->cfg, cap, MSI, DATA) & ~(n - 1)) | v;

	deliver(fn, &fn->msi_h[v], v, addr, data);
}

static void msi_deliver_pending(struct pci_function *fn)
{
	lockdep_assert_held(&fn->lock);
	if (!fn->msi_pending || !msi_enabled(fn) || !pci_master_enabled(fn))
		return;
	for (unsigned int v = 0; v < msi_nr_enabled(fn); v++) {
		if (!(fn->msi_pending & (1u << v)) || msi_vector_masked(fn, v))
			continue;
		fn->msi_pending &= ~(1u << v);
		msi_send(fn, v);
	}
	msi_sync_pending(fn);
}

int pci_msi_fire(struct pci_function *fn, unsigned int vector)
{
	int ret = 0;

	if (vector >= fn->desc.msi_vectors)
		return -EINVAL;
	mutex_lock(&fn->lock);
	if (!msi_enabled(fn) || !pci_master_enabled(fn) ||
	    vector >= msi_nr_enabled(fn)) {
		fn->stats.dropped++;
		ret = -EAGAIN;
	} else if (msi_vector_masked(fn, vector)) {
		fn->msi_pending |= 1u << vector;
		msi_sync_pending(fn);
		fn->stats.pended++;
		ret = 1;
	} else {
		msi_send(fn, vector);
	}
	mutex_unlock(&fn->lock);
	return ret;
}

/* ---- INTx ---- */

static void intx_update(struct pci_function *fn)
{
	bool out;

	lockdep_assert_held(&fn->lock);
	PCI_DP(fn->cfg, 0, HDR, STS_INTX, fn->intx_asserted);
	out = fn->intx_asserted && !PCI_EX(fn->cfg, 0, HDR, CMD_INTX_DISABLE) &&
	      !msi_enabled(fn) && !msix_enabled(fn);
	if (out == fn->intx_out)
		return;
	fn->intx_out = out;
	fn->stats.intx_edges++;
	if (fn->intx_h)
		fn->intx_h(fn->intx_ctx, out);
}

void pci_intx_set(struct pci_function *fn, bool asserted)
{
	if (!fn->desc.int_pin)
		return;
	mutex_lock(&fn->lock);
	fn->intx_asserted = asserted;
	intx_update(fn);
	mutex_unlock(&fn->lock);
}

/* ---- shared ---- */

void pci_irq_config_written(struct pci_function *fn, unsigned int off,
			    unsigned int size)
{
	lockdep_assert_held(&fn->lock);
	/* enables, masks and Bus Master may all have changed */
	if (fn->msix_cap)
		msix_deliver_pending(fn);
	if (fn->msi_cap)
		msi_deliver_pending(fn);
	intx_update(fn);
}

void pci_irq_reset(struct pci_function *fn)
{
	lockdep_assert_held(&fn->lock);
	if (fn->desc.msix_vectors)
		msix_table_reset(fn);
	fn->msi_pending = 0;
	fn->intx_asserted = false;
	intx_update(fn);
}

int pci_set_msg_handler(struct pci_function *fn, enum pci_irq_kind kind,
			unsigned int vector, pci_msg_handler h, void *ctx)
{
	struct pci_vec_handler *slot;

	if (kind == PCI_IRQ_MSIX && vector < fn->desc.msix_vectors)
		slot = &fn->msix_h[vector];
	else if (kind == PCI_IRQ_MSI && vector < fn->desc.msi_vectors)
		slot = &fn->msi_h[vector];
	else
		return -EINVAL;
	mutex_lock(&fn->lock);
	slot->h = h;
	slot->ctx = h ? ctx : NULL;
	mutex_unlock(&fn->lock);
	return 0;
}

int pci_set_intx_handler(struct pci_function *fn, pci_intx_handler h, void *ctx)
{
	if (!fn->desc.int_pin)
		return -EINVAL;
	mutex_lock(&fn->lock);
	fn->intx_h = h;
	fn->intx_ctx = h ? ctx : NULL;
	mutex_unlock(&fn->lock);
	return 0;
}

void pci_irq_stats(struct pci_function *fn, struct pci_irq_stats *st)
{
	mutex_lock(&fn->lock);
	*st = fn->stats;
	mutex_unlock(&fn->lock);
}
