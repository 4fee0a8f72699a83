// SPDX-License-Identifier: MIT
/*
 * Configuration space: building the type-0 header, the BARs' and ROM's
 * registers and the capability list from a function's description, and
 * software's reads and writes through the per-byte masks.
 *
 * Data model.  fn->cfg holds the bytes software reads; fn->wmask the bits
 * a write replaces, fn->w1cmask the bits a write of 1 clears; every other
 * bit keeps its value (read-only), and a bit that no field sets and no
 * mask covers is reserved and reads 0.  fn->cfg_init is the image a reset
 * restores.  The masks come from one access table per structure, rows of
 * PCI_ACC(STRUCT, FIELD, kind) over pci_regs.h's fields, and from the
 * BAR and ROM sizes (a BAR's address bits below its size are read-only 0,
 * so writing all ones reads back the size mask with the flags).
 * fn->claimed says which bytes the header, a capability or a model
 * register owns, so that a model register never lands on another.
 *
 * Capabilities sit from 0x40 in a fixed order, each 4-byte aligned and
 * linked by its Next pointer: power management, MSI (64-bit, per-vector
 * masking as described), MSI-X, PCI Express (version 2, endpoint).
 * Extended space from 0x100 holds no capability: its first dword is 0.
 *
 * Locking.  Building happens before the function is shared; reads and
 * writes hold fn->lock (asserted in the helpers).
 */
#include "pci/pci_internal.h"

enum pci_acc { PCI_ACC_RO, PCI_ACC_RW, PCI_ACC_W1C };

struct pci_acc_row {
	uint16_t off;
	uint8_t shift, width, acc;
};

#define PCI_ACC(s, f, a)                                                    \
	{                                                                   \
		.off = PCI_##s##_##f##_OFF, .shift = PCI_##s##_##f##_SHIFT, \
		.width = PCI_##s##_##f##_WIDTH, .acc = (a),                 \
	}

enum { CLAIM_NONE, CLAIM_HEADER, CLAIM_CAP, CLAIM_MODEL };

/* The header's bits software may change (the rest read-only or 0). */
static const struct pci_acc_row hdr_acc[] = {
	PCI_ACC(HDR, CMD_MEM, PCI_ACC_RW),
	PCI_ACC(HDR, CMD_MASTER, PCI_ACC_RW),
	PCI_ACC(HDR, CMD_PARITY, PCI_ACC_RW),
	PCI_ACC(HDR, CMD_SERR, PCI_ACC_RW),
	PCI_ACC(HDR, CMD_INTX_DISABLE, PCI_ACC_RW),
	PCI_ACC(HDR, STS_MDPE, PCI_ACC_W1C),
	PCI_ACC(HDR, STS_SIG_TA, PCI_ACC_W1C),
	PCI_ACC(HDR, STS_RCV_TA, PCI_ACC_W1C),
	PCI_ACC(HDR, STS_RCV_MA, PCI_ACC_W1C),
	PCI_ACC(HDR, STS_SIG_SERR, PCI_ACC_W1C),
	PCI_ACC(HDR, STS_DPE, PCI_ACC_W1C),
	PCI_ACC(HDR, CACHE_LINE, PCI_ACC_RW),
	PCI_ACC(HDR, INT_LINE, PCI_ACC_RW),
};

static const struct pci_acc_row pm_acc[] = {
	PCI_ACC(PM, POWER_STATE, PCI_ACC_RW),
};

/* MSI's Mask register is writable for the implemented vectors only
 * (set apart in build_msi). */
static const struct pci_acc_row msi_acc[] = {
	PCI_ACC(MSI, ENABLE, PCI_ACC_RW),  PCI_ACC(MSI, MME, PCI_ACC_RW),
	PCI_ACC(MSI, ADDR_LO, PCI_ACC_RW), PCI_ACC(MSI, ADDR_HI, PCI_ACC_RW),
	PCI_ACC(MSI, DATA, PCI_ACC_RW),
};

static const struct pci_acc_row msix_acc[] = {
	PCI_ACC(MSIX, FUNC_MASK, PCI_ACC_RW),
	PCI_ACC(MSIX, ENABLE, PCI_ACC_RW),
};

/* DevCtl's Initiate FLR is not stored: it reads 0 and acts on write. */
static const struct pci_acc_row exp_acc[] = {
	PCI_ACC(EXP, DEVCTL_CERE, PCI_ACC_RW),
	PCI_ACC(EXP, DEVCTL_NFERE, PCI_ACC_RW),
	PCI_ACC(EXP, DEVCTL_FERE, PCI_ACC_RW),
	PCI_ACC(EXP, DEVCTL_URRE, PCI_ACC_RW),
	PCI_ACC(EXP, DEVCTL_RELAX, PCI_ACC_RW),
	PCI_ACC(EXP, DEVCTL_MPS, PCI_ACC_RW),
	PCI_ACC(EXP, DEVCTL_EXT_TAG, PCI_ACC_RW),
	PCI_ACC(EXP, DEVCTL_NOSNOOP, PCI_ACC_RW),
	PCI_ACC(EXP, DEVCTL_MRRS, PCI_ACC_RW),
	PCI_ACC(EXP, DEVSTA_CED, PCI_ACC_W1C),
	PCI_ACC(EXP, DEVSTA_NFED, PCI_ACC_W1C),
	PCI_ACC(EXP, DEVSTA_FED, PCI_ACC_W1C),
	PCI_ACC(EXP, DEVSTA_URD, PCI_ACC_W1C),
};

/* OR mask's bits at byte off (size bytes) into one of the masks. */
static void mask_or(uint8_t *m, unsigned int off, unsigned int size,
		    uint32_t mask)
{
	pci_le_put(m + off, size, pci_le_get(m + off, size) | mask);
}

static void apply_acc(struct pci_function *fn, unsigned int base,
		      const struct pci_acc_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct pci_acc_row *r = &rows[i];
		unsigned int bytes = PCI_FIELD_BYTES(r->shift, r->width);
		uint32_t m = (uint32_t)((~0ULL >> (64 - r->width)) << r->shift);

		if (r->acc == PCI_ACC_RW)
			mask_or(fn->wmask, base + r->off, bytes, m);
		else if (r->acc == PCI_ACC_W1C)
			mask_or(fn->w1cmask, base + r->off, bytes, m);
	}
}

static void claim(struct pci_function *fn, unsigned int off, unsigned int len,
		  uint8_t who)
{
	memset(fn->claimed + off, who, len);
}

static void build_bars(struct pci_function *fn)
{
	const struct pci_function_desc *d = &fn->desc;
	uint8_t *c = fn->cfg;

	for (unsigned int i = 0; i < PCI_NUM_BARS; i++) {
		const struct pci_bar_desc *b = &d->bar[i];
		unsigned int off = PCI_A_BAR(i);
		uint64_t addr_mask = ~(b->size - 1);

		if (!b->size)
			continue;
		PCI_DP(c, off, BAR, TYPE,
		       b->flags & PCI_BAR_F_64 ? PCI_BAR_TYPE_64
					       : PCI_BAR_TYPE_32);
		PCI_DP(c, off, BAR, PREFETCH,
		       !!(b->flags & PCI_BAR_F_PREFETCH));
		mask_or(fn->wmask, off, 4,
			(uint32_t)addr_mask & PCI_MASK(BAR, ADDR));
		if (b->flags & PCI_BAR_F_64)
			mask_or(fn->wmask, off + 4, 4,
				(uint32_t)(addr_mask >> 32));
	}
	if (d->rom_size) {
		mask_or(fn->wmask, PCI_A_ROM_ADDRESS, 4,
			((uint32_t) ~(d->rom_size - 1) &
			 PCI_MASK(HDR, ROM_ADDR)) |
				PCI_MASK(HDR, ROM_ENABLE));
	}
}

static void build_header(struct pci_function *fn)
{
	const struct pci_function_desc *d = &fn->desc;
	uint8_t *c = fn->cfg;

	claim(fn, 0, PCI_CAP_FIRST, CLAIM_HEADER);
	PCI_DP(c, 0, HDR, VENDOR, d->vendor);
	PCI_DP(c, 0, HDR, DEVICE, d->device);
	PCI_DP(c, 0, HDR, REVISION, d->revision);
	PCI_DP(c, 0, HDR, CLASS, d->class_code);
	PCI_DP(c, 0, HDR, LAYOUT, PCI_HEADER_TYPE_NORMAL);
	PCI_DP(c, 0, HDR, SUBSYS_VENDOR, d->subsys_vendor);
	PCI_DP(c, 0, HDR, SUBSYS, d->subsys);
	PCI_DP(c, 0, HDR, INT_PIN, d->int_pin);
	apply_acc(fn, 0, hdr_acc, ARRAY_SIZE(hdr_acc));
	/* INTx Disable only where there is an INTx to disable */
	if (!d->int_pin) {
		uint32_t m = PCI_MASK(HDR, CMD_INTX_DISABLE);

		pci_le_put(fn->wmask + PCI_A_COMMAND, 2,
			   pci_le_get(fn->wmask + PCI_A_COMMAND, 2) & ~m);
	}
	build_bars(fn);
}

/* Link a capability of id and len bytes at *next, the byte to point at it
 * being *link; returns its offset. */
static unsigned int add_cap(struct pci_function *fn, unsigned int *next,
			    unsigned int *link, uint8_t id, unsigned int len)
{
	unsigned int off = *next;

	fn->cfg[*link] = (uint8_t)off;
	PCI_DP(fn->cfg, off, CAP, ID, id);
	PCI_DP(fn->cfg, off, CAP, NEXT, 0);
	claim(fn, off, len, CLAIM_CAP);
	*link = off + PCI_CAP_NEXT_OFF;
	*next = ALIGN_UP(off + len, 4);
	PCI_DP(fn->cfg, 0, HDR, STS_CAP_LIST, 1);
	return off;
}

static unsigned int log2_vectors(unsigned int n)
{
	unsigned int l = 0;

	while ((1u << l) < n)
		l++;
	return l;
}

static void build_msi(struct pci_function *fn, unsigned int cap)
{
	const struct pci_function_desc *d = &fn->desc;
	uint8_t *c = fn->cfg;

	PCI_DP(c, cap, MSI, MMC, log2_vectors(d->msi_vectors));
	PCI_DP(c, cap, MSI, ADDR64, 1);
	PCI_DP(c, cap, MSI, PVM, d->msi_pvm);
	apply_acc(fn, cap, msi_acc, ARRAY_SIZE(msi_acc));
	if (d->msi_pvm)
		mask_or(fn->wmask, cap + PCI_MSI_MASK_OFF, 4,
			(uint32_t)(~0ULL >> (64 - d->msi_vectors)));
}

static void build_msix(struct pci_function *fn, unsigned int cap)
{
	const struct pci_function_desc *d = &fn->desc;
	uint8_t *c = fn->cfg;

	PCI_DP(c, cap, MSIX, TABLE_SIZE, d->msix_vectors - 1);
	PCI_DP(c, cap, MSIX, TABLE_BIR, d->msix_table_bar);
	PCI_DP(c, cap, MSIX, TABLE_OFFSET,
	       d->msix_table_off >> PCI_MSIX_TABLE_OFFSET_SHIFT);
	PCI_DP(c, cap, MSIX, PBA_BIR, d->msix_pba_bar);
	PCI_DP(c, cap, MSIX, PBA_OFFSET,
	       d->msix_pba_off >> PCI_MSIX_PBA_OFFSET_SHIFT);
	apply_acc(fn, cap, msix_acc, ARRAY_SIZE(msix_acc));
}

static void build_exp(struct pci_function *fn, unsigned int cap)
{
	uint8_t *c = fn->cfg;

	PCI_DP(c, cap, EXP, VERSION, 2);
	PCI_DP(c, cap, EXP, TYPE, PCI_EXP_TYPE_ENDPOINT);
	PCI_DP(c, cap, EXP, DEVCAP_MPS, 1); /* 256 bytes */
	PCI_DP(c, cap, EXP, DEVCAP_EXT_TAG, 1);
	PCI_DP(c, cap, EXP, DEVCAP_RBER, 1);
	PCI_DP(c, cap, EXP, DEVCAP_FLR, fn->desc.flr);
	/* the specification's defaults: relaxed ordering, no snoop, 512 B */
	PCI_DP(c, cap, EXP, DEVCTL_RELAX, 1);
	PCI_DP(c, cap, EXP, DEVCTL_NOSNOOP, 1);
	PCI_DP(c, cap, EXP, DEVCTL_MRRS, 2);
	/* one lane at 2.5 GT/s */
	PCI_DP(c, cap, EXP, LNKCAP_SPEED, 1);
	PCI_DP(c, cap, EXP, LNKCAP_WIDTH, 1);
	PCI_DP(c, cap, EXP, LNKSTA_SPEED, 1);
	PCI_DP(c, cap, EXP, LNKSTA_WIDTH, 1);
	PCI_DP(c, cap, EXP, LNKCAP2_SPEEDS, 1);
	PCI_DP(c, cap, EXP, LNKCTL2_TLS, 1);
	apply_acc(fn, cap, exp_acc, ARRAY_SIZE(exp_acc));
}

int pci_config_build(struct pci_function *fn)
{
	const struct pci_function_desc *d = &fn->desc;
	unsigned int next = PCI_CAP_FIRST, link = PCI_A_CAPABILITY_LIST;

	build_header(fn);
	if (d->pm) {
		fn->pm_cap =
			add_cap(fn, &next, &link, PCI_CAP_ID_PM, PCI_PM_SIZE);
		PCI_DP(fn->cfg, fn->pm_cap, PM, VERSION, 3);
		PCI_DP(fn->cfg, fn->pm_cap, PM, NO_SOFT_RESET, 1);
		apply_acc(fn, fn->pm_cap, pm_acc, ARRAY_SIZE(pm_acc));
	}
	if (d->msi_vectors) {
		fn->msi_cap =
			add_cap(fn, &next, &link, PCI_CAP_ID_MSI,
				d->msi_pvm ? PCI_MSI_SIZE_PVM : PCI_MSI_SIZE);
		build_msi(fn, fn->msi_cap);
	}
	if (d->msix_vectors) {
		fn->msix_cap = add_cap(fn, &next, &link, PCI_CAP_ID_MSIX,
				       PCI_MSIX_SIZE);
		build_msix(fn, fn->msix_cap);
	}
	if (d->pcie) {
		fn->exp_cap =
			add_cap(fn, &next, &link, PCI_CAP_ID_EXP, PCI_EXP_SIZE);
		build_exp(fn, fn->exp_cap);
	}
	memcpy(fn->cfg_init, fn->cfg, sizeof(fn->cfg));
	return 0;
}

void pci_config_restore(struct pci_function *fn)
{
	lockdep_assert_held(&fn->lock);
	memcpy(fn->cfg, fn->cfg_init, sizeof(fn->cfg));
}

uint32_t pci_cfg_get(struct pci_function *fn, unsigned int off,
		     unsigned int size)
{
	lockdep_assert_held(&fn->lock);
	return pci_le_get(fn->cfg + off, size);
}

bool pci_memory_enabled(struct pci_function *fn)
{
	lockdep_assert_held(&fn->lock);
	return PCI_EX(fn->cfg, 0, HDR, CMD_MEM);
}

bool pci_master_enabled(struct pci_function *fn)
{
	lockdep_assert_held(&fn->lock);
	return PCI_EX(fn->cfg, 0, HDR, CMD_MASTER);
}

void pci_cfg_apply(struct pci_function *fn, unsigned int off, unsigned int size,
		   uint32_t val)
{
	unsigned int pm_state = 0;

	lockdep_assert_held(&fn->lock);
	if (fn->pm_cap)
		pm_state = PCI_EX(fn->cfg, fn->pm_cap, PM, POWER_STATE);
	for (unsigned int i = 0; i < size; i++) {
		unsigned int o = off + i;
		uint8_t b = (uint8_t)(val >> (8 * i));
		uint8_t c = fn->cfg[o];

		c = (uint8_t)((c & ~fn->wmask[o]) | (b & fn->wmask[o]));
		c &= (uint8_t) ~(b & fn->w1cmask[o]);
		fn->cfg[o] = c;
	}
	/* D1 and D2 are not supported: a write of them leaves the state */
	if (fn->pm_cap) {
		unsigned int s = PCI_EX(fn->cfg, fn->pm_cap, PM, POWER_STATE);

		if (s == 1 || s == 2)
			PCI_DP(fn->cfg, fn->pm_cap, PM, POWER_STATE, pm_state);
	}
}

static int check_access(unsigned int off, unsigned int size)
{
	if ((size != 1 && size != 2 && size != 4) || off % size ||
	    off >= PCI_CFG_EXP_SIZE)
		return -EINVAL;
	return 0;
}

int pci_config_read(struct pci_function *fn, unsigned int off,
		    unsigned int size, uint32_t *val)
{
	int ret = check_access(off, size);

	if (ret)
		return ret;
	mutex_lock(&fn->lock);
	*val = pci_cfg_get(fn, off, size);
	mutex_unlock(&fn->lock);
	return 0;
}

/* Whether a write of val at [off, +size) sets DevCtl's Initiate FLR. */
static bool writes_flr(const struct pci_function *fn, unsigned int off,
		       unsigned int size, uint32_t val)
{
	unsigned int bit, byte;

	if (!fn->exp_cap || !fn->desc.flr)
		return false;
	bit = PCI_EXP_DEVCTL_BCR_FLR_SHIFT;
	byte = fn->exp_cap + PCI_EXP_DEVCTL_BCR_FLR_OFF + bit / 8;
	if (byte < off || byte >= off + size)
		return false;
	return (val >> (8 * (byte - off) + bit % 8)) & 1;
}

int pci_config_write(struct pci_function *fn, unsigned int off,
		     unsigned int size, uint32_t val)
{
	int ret = check_access(off, size);
	bool flr;

	if (ret)
		return ret;
	mutex_lock(&fn->lock);
	flr = writes_flr(fn, off, size, val);
	pci_cfg_apply(fn, off, size, val);
	pci_irq_config_written(fn, off, size);
	mutex_unlock(&fn->lock);
	if (flr)
		pci_function_reset(fn);
	return 0;
}

int pci_config_define(struct pci_function *fn, unsigned int off,
		      unsigned int size, uint32_t val, uint32_t wmask,
		      uint32_t w1cmask)
{
	int ret = check_access(off, size);

	if (ret || off < PCI_CAP_FIRST)
		return -EINVAL;
	if (size < 4 && (val | wmask | w1cmask) >> (8 * size))
		return -EINVAL;
	if (wmask & w1cmask)
		return -EINVAL;
	mutex_lock(&fn->lock);
	for (unsigned int i = 0; i < size; i++) {
		if (fn->claimed[off + i] != CLAIM_NONE) {
			mutex_unlock(&fn->lock);
			return -EBUSY;
		}
	}
	claim(fn, off, size, CLAIM_MODEL);
	pci_le_put(fn->cfg + off, size, val);
	pci_le_put(fn->cfg_init + off, size, val);
	pci_le_put(fn->wmask + off, size, wmask);
	pci_le_put(fn->w1cmask + off, size, w1cmask);
	mutex_unlock(&fn->lock);
	return 0;
}

int pci_config_set_bits(struct pci_function *fn, unsigned int off,
			unsigned int size, uint32_t bits)
{
	int ret = check_access(off, size);

	if (ret)
		return ret;
	if (off == PCI_A_STATUS && size == PCI_S_STATUS) {
		/* the error bits only: the rest is the layer's own */
		if (bits & ~pci_le_get(fn->w1cmask + off, size))
			return -EINVAL;
	} else {
		for (unsigned int i = 0; i < size; i++)
			if (fn->claimed[off + i] != CLAIM_MODEL)
				return -EINVAL;
	}
	mutex_lock(&fn->lock);
	pci_le_put(fn->cfg + off, size, pci_le_get(fn->cfg + off, size) | bits);
	mutex_unlock(&fn->lock);
	return 0;
}

unsigned int pci_walk_capabilities(const uint8_t *cfg, uint8_t *ids,
				   unsigned int *offs, unsigned int max)
{
	unsigned int n = 0, ptr;

	if (!PCI_EX(cfg, 0, HDR, STS_CAP_LIST))
		return 0;
	/* the bottom two bits of every pointer are reserved */
	ptr = PCI_EX(cfg, 0, HDR, CAP_PTR) & ~3u;
	for (unsigned int i = 0; i < PCI_CAP_MAX_WALK && n < max; i++) {
		if (ptr < PCI_CAP_FIRST)
			break;
		if (ids)
			ids[n] = (uint8_t)PCI_EX(cfg, ptr, CAP, ID);
		if (offs)
			offs[n] = ptr;
		n++;
		ptr = PCI_EX(cfg, ptr, CAP, NEXT) & ~3u;
	}
	return n;
}

unsigned int pci_find_capability(const uint8_t *cfg, uint8_t id)
{
	uint8_t ids[PCI_CAP_MAX_WALK];
	unsigned int offs[PCI_CAP_MAX_WALK];
	unsigned int n =
		pci_walk_capabilities(cfg, ids, offs, PCI_CAP_MAX_WALK);

	for (unsigned int i = 0; i < n; i++)
		if (ids[i] == id)
			return offs[i];
	return 0;
}

void pci_config_snapshot(struct pci_function *fn, uint8_t *buf, size_t len)
{
	mutex_lock(&fn->lock);
	memcpy(buf, fn->cfg, min(len, sizeof(fn->cfg)));
	mutex_unlock(&fn->lock);
}
