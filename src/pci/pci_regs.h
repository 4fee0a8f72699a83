/* SPDX-License-Identifier: MIT */
/*
 * Field tables of a type-0 PCI function's configuration space: the header
 * and the capabilities the layer builds (power management, MSI, MSI-X,
 * PCI Express), and the MSI-X table entry in its BAR.
 *
 * Data model.  Configuration space is little-endian bytes.  A register is
 * PCI_REG(NAME, offset, size): PCI_A_NAME, PCI_S_NAME (bytes).  Each field
 * is declared once, by PCI_FIELD(STRUCT, NAME, offset, shift, width) (the
 * register's byte offset, then bits [shift + width - 1 : shift] of the
 * little-endian value that starts there, at most 32 bits), which makes the
 * constants PCI_STRUCT_NAME_OFF, _SHIFT and _WIDTH.  Header fields are at
 * offsets in configuration space; a capability's fields are at offsets
 * from the capability's first byte (its ID).  The encoder deposits and the
 * decoder extracts with the same name:
 *
 *	PCI_DP(cfg, 0, HDR, CMD_MEM, 1);
 *	on = PCI_EX(cfg, 0, HDR, CMD_MEM);
 *	ctl = PCI_EX(cfg, msix_cap, MSIX, ENABLE);
 *
 * and the access kind of every bit (read-only, read-write, write-1-to-
 * clear; a bit no field names is reserved and reads 0) is given by a table
 * of PCI_ACC(STRUCT, NAME, kind) rows over the same names (pci_config.c),
 * from which the per-byte write masks are built.
 *
 * Bit positions are those of the PCI Local Bus Specification 3.0, the PCI
 * Bus Power Management Interface Specification 1.2 and the PCI Express
 * Base Specification 4.0 (type-0 header, chapters 6 and 7).  The golden
 * tests in tests/test_pci.c spell the expected bytes from those positions,
 * not from this table.
 *
 * A new register goes into its structure's register map (by offset), its
 * fields into the block after it, and their access kinds into the
 * structure's access table in pci_config.c.
 */
#ifndef UIOMMU_PCI_PCI_REGS_H
#define UIOMMU_PCI_PCI_REGS_H

#include <stdint.h>

#define PCI_FIELD(s, f, off, shift, width)       \
	enum {                                   \
		PCI_##s##_##f##_OFF = (off),     \
		PCI_##s##_##f##_SHIFT = (shift), \
		PCI_##s##_##f##_WIDTH = (width), \
	}

#define PCI_REG(name, off, size) \
	enum { PCI_A_##name = (off), PCI_S_##name = (size) }

/* The field's value mask at bit 0, and in place in its register. */
#define PCI_VMASK(s, f) ((uint32_t)(~0ULL >> (64 - PCI_##s##_##f##_WIDTH)))
#define PCI_MASK(s, f)	(PCI_VMASK(s, f) << PCI_##s##_##f##_SHIFT)

/* Little-endian bytes of configuration space (n: 1 to 4 bytes). */
static inline uint32_t pci_le_get(const uint8_t *p, unsigned int n)
{
	uint32_t v = 0;

	for (unsigned int i = 0; i < n; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

static inline void pci_le_put(uint8_t *p, unsigned int n, uint32_t v)
{
	for (unsigned int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* How many bytes a field's register spans from its offset. */
#define PCI_FIELD_BYTES(shift, width) (((shift) + (width) + 7) / 8)

static inline uint32_t pci_field_get(const uint8_t *buf, unsigned int off,
				     unsigned int shift, unsigned int width)
{
	uint64_t v = pci_le_get(buf + off, PCI_FIELD_BYTES(shift, width));

	return (uint32_t)((v >> shift) & (~0ULL >> (64 - width)));
}

static inline void pci_field_set(uint8_t *buf, unsigned int off,
				 unsigned int shift, unsigned int width,
				 uint32_t val)
{
	unsigned int n = PCI_FIELD_BYTES(shift, width);
	uint64_t m = (~0ULL >> (64 - width)) << shift;
	uint64_t v = pci_le_get(buf + off, n);

	v = (v & ~m) | (((uint64_t)val << shift) & m);
	pci_le_put(buf + off, n, (uint32_t)v);
}

/* Field f of structure s, which starts at byte base of buf. */
#define PCI_EX(buf, base, s, f)                            \
	pci_field_get((buf), (base) + PCI_##s##_##f##_OFF, \
		      PCI_##s##_##f##_SHIFT, PCI_##s##_##f##_WIDTH)
#define PCI_DP(buf, base, s, f, val)                       \
	pci_field_set((buf), (base) + PCI_##s##_##f##_OFF, \
		      PCI_##s##_##f##_SHIFT, PCI_##s##_##f##_WIDTH, (val))

/* ---- the type-0 header ---- */

#define PCI_CFG_SIZE	  256  /* conventional configuration space */
#define PCI_CFG_EXP_SIZE  4096 /* PCI Express extended space */
#define PCI_CAP_FIRST	  0x40 /* capabilities live in [0x40, 0x100) */
#define PCI_EXT_CAP_FIRST 0x100

/* The register map, by offset. */
PCI_REG(VENDOR_ID, 0x00, 2);
PCI_REG(DEVICE_ID, 0x02, 2);
PCI_REG(COMMAND, 0x04, 2);
PCI_REG(STATUS, 0x06, 2);
PCI_REG(REVISION_ID, 0x08, 1);
PCI_REG(CLASS_CODE, 0x09, 3);
PCI_REG(CACHE_LINE_SIZE, 0x0c, 1);
PCI_REG(LATENCY_TIMER, 0x0d, 1);
PCI_REG(HEADER_TYPE, 0x0e, 1);
PCI_REG(BIST, 0x0f, 1);
PCI_REG(BAR0, 0x10, 4); /* BARn at 0x10 + 4 n, n = 0..5 */
PCI_REG(CARDBUS_CIS, 0x28, 4);
PCI_REG(SUBSYSTEM_VENDOR_ID, 0x2c, 2);
PCI_REG(SUBSYSTEM_ID, 0x2e, 2);
PCI_REG(ROM_ADDRESS, 0x30, 4);
PCI_REG(CAPABILITY_LIST, 0x34, 1);
PCI_REG(INTERRUPT_LINE, 0x3c, 1);
PCI_REG(INTERRUPT_PIN, 0x3d, 1);
PCI_REG(MIN_GNT, 0x3e, 1);
PCI_REG(MAX_LAT, 0x3f, 1);

#define PCI_NUM_BARS 6
#define PCI_A_BAR(n) (PCI_A_BAR0 + 4 * (n))

/* Their fields. */
PCI_FIELD(HDR, VENDOR, 0x00, 0, 16);
PCI_FIELD(HDR, DEVICE, 0x02, 0, 16);
PCI_FIELD(HDR, CMD_IO, 0x04, 0, 1);
PCI_FIELD(HDR, CMD_MEM, 0x04, 1, 1);
PCI_FIELD(HDR, CMD_MASTER, 0x04, 2, 1);
PCI_FIELD(HDR, CMD_PARITY, 0x04, 6, 1);
PCI_FIELD(HDR, CMD_SERR, 0x04, 8, 1);
PCI_FIELD(HDR, CMD_INTX_DISABLE, 0x04, 10, 1);
PCI_FIELD(HDR, STS_INTX, 0x06, 3, 1);
PCI_FIELD(HDR, STS_CAP_LIST, 0x06, 4, 1);
PCI_FIELD(HDR, STS_MDPE, 0x06, 8, 1);	   /* master data parity error */
PCI_FIELD(HDR, STS_SIG_TA, 0x06, 11, 1);   /* signaled target abort */
PCI_FIELD(HDR, STS_RCV_TA, 0x06, 12, 1);   /* received target abort */
PCI_FIELD(HDR, STS_RCV_MA, 0x06, 13, 1);   /* received master abort */
PCI_FIELD(HDR, STS_SIG_SERR, 0x06, 14, 1); /* signaled system error */
PCI_FIELD(HDR, STS_DPE, 0x06, 15, 1);	   /* detected parity error */
PCI_FIELD(HDR, REVISION, 0x08, 0, 8);
PCI_FIELD(HDR, CLASS, 0x09, 0, 24);
PCI_FIELD(HDR, CACHE_LINE, 0x0c, 0, 8);
PCI_FIELD(HDR, LAYOUT, 0x0e, 0, 7);
PCI_FIELD(HDR, MULTI_FUNCTION, 0x0e, 7, 1);
PCI_FIELD(HDR, SUBSYS_VENDOR, 0x2c, 0, 16);
PCI_FIELD(HDR, SUBSYS, 0x2e, 0, 16);
PCI_FIELD(HDR, ROM_ENABLE, 0x30, 0, 1);
PCI_FIELD(HDR, ROM_ADDR, 0x30, 11, 21); /* address bits [31:11] in place */
PCI_FIELD(HDR, CAP_PTR, 0x34, 0, 8);
PCI_FIELD(HDR, INT_LINE, 0x3c, 0, 8);
PCI_FIELD(HDR, INT_PIN, 0x3d, 0, 8);

/* A memory BAR, at offset 0 from its register. */
PCI_FIELD(BAR, IO_SPACE, 0, 0, 1);
PCI_FIELD(BAR, TYPE, 0, 1, 2); /* PCI_BAR_TYPE_* */
PCI_FIELD(BAR, PREFETCH, 0, 3, 1);
PCI_FIELD(BAR, ADDR, 0, 4, 28);	   /* address bits [31:4] in place */
PCI_FIELD(BAR, ADDR_HI, 4, 0, 32); /* a 64-bit BAR's next register */
#define PCI_BAR_TYPE_32 0
#define PCI_BAR_TYPE_64 2

#define PCI_HEADER_TYPE_NORMAL 0

/* ---- capabilities: the header every capability starts with ---- */

PCI_FIELD(CAP, ID, 0x00, 0, 8);
PCI_FIELD(CAP, NEXT, 0x01, 0, 8);

#define PCI_CAP_ID_PM	0x01
#define PCI_CAP_ID_MSI	0x05
#define PCI_CAP_ID_EXP	0x10
#define PCI_CAP_ID_MSIX 0x11
/* the most capabilities a walk visits: 192 bytes of 4-byte headers */
#define PCI_CAP_MAX_WALK 48

/* ---- power management (PM 1.2, chapter 3) ---- */

PCI_REG(PM_PMC, 0x02, 2);
PCI_REG(PM_PMCSR, 0x04, 2);
PCI_REG(PM_DATA, 0x07, 1);
#define PCI_PM_SIZE 8

PCI_FIELD(PM, VERSION, 0x02, 0, 3);
PCI_FIELD(PM, PME_CLOCK, 0x02, 3, 1);
PCI_FIELD(PM, DSI, 0x02, 5, 1);
PCI_FIELD(PM, AUX_CURRENT, 0x02, 6, 3);
PCI_FIELD(PM, D1, 0x02, 9, 1);
PCI_FIELD(PM, D2, 0x02, 10, 1);
PCI_FIELD(PM, PME_SUPPORT, 0x02, 11, 5);
PCI_FIELD(PM, POWER_STATE, 0x04, 0, 2); /* 0: D0, 3: D3hot */
PCI_FIELD(PM, NO_SOFT_RESET, 0x04, 3, 1);
PCI_FIELD(PM, PME_ENABLE, 0x04, 8, 1);
PCI_FIELD(PM, PME_STATUS, 0x04, 15, 1);

/* ---- MSI, 64-bit, with or without per-vector masking (PCI 3.0 6.8.1) ---- */

PCI_REG(MSI_CONTROL, 0x02, 2);
PCI_REG(MSI_ADDRESS_LO, 0x04, 4);
PCI_REG(MSI_ADDRESS_HI, 0x08, 4);
PCI_REG(MSI_DATA, 0x0c, 2);
PCI_REG(MSI_MASK, 0x10, 4);	 /* with per-vector masking only */
PCI_REG(MSI_PENDING, 0x14, 4);	 /* with per-vector masking only */
#define PCI_MSI_SIZE	    0x0e /* 64-bit */
#define PCI_MSI_SIZE_PVM    0x18 /* 64-bit, per-vector masking */
#define PCI_MSI_MAX_VECTORS 32

PCI_FIELD(MSI, ENABLE, 0x02, 0, 1);
PCI_FIELD(MSI, MMC, 0x02, 1, 3); /* multiple message capable: log2 */
PCI_FIELD(MSI, MME, 0x02, 4, 3); /* multiple message enable: log2 */
PCI_FIELD(MSI, ADDR64, 0x02, 7, 1);
PCI_FIELD(MSI, PVM, 0x02, 8, 1);
PCI_FIELD(MSI, ADDR_LO, 0x04, 2, 30); /* address bits [31:2] in place */
PCI_FIELD(MSI, ADDR_HI, 0x08, 0, 32);
PCI_FIELD(MSI, DATA, 0x0c, 0, 16);
PCI_FIELD(MSI, MASK, 0x10, 0, 32);
PCI_FIELD(MSI, PENDING, 0x14, 0, 32);

/* ---- MSI-X (PCI 3.0 6.8.2) ---- */

PCI_REG(MSIX_CONTROL, 0x02, 2);
PCI_REG(MSIX_TABLE, 0x04, 4);
PCI_REG(MSIX_PBA, 0x08, 4);
#define PCI_MSIX_SIZE	     12
#define PCI_MSIX_MAX_VECTORS 2048

PCI_FIELD(MSIX, TABLE_SIZE, 0x02, 0, 11); /* vectors - 1 */
PCI_FIELD(MSIX, FUNC_MASK, 0x02, 14, 1);
PCI_FIELD(MSIX, ENABLE, 0x02, 15, 1);
PCI_FIELD(MSIX, TABLE_BIR, 0x04, 0, 3);
PCI_FIELD(MSIX, TABLE_OFFSET, 0x04, 3, 29); /* offset bits [31:3] in place */
PCI_FIELD(MSIX, PBA_BIR, 0x08, 0, 3);
PCI_FIELD(MSIX, PBA_OFFSET, 0x08, 3, 29);

/* A table entry in its BAR: 16 bytes, at offset 16 n from the table. */
#define PCI_MSIX_ENTRY_SIZE 16
PCI_FIELD(MSIXE, ADDR_LO, 0x00, 0, 32); /* bits [1:0] are 0 */
PCI_FIELD(MSIXE, ADDR_HI, 0x04, 0, 32);
PCI_FIELD(MSIXE, DATA, 0x08, 0, 32);
PCI_FIELD(MSIXE, MASKED, 0x0c, 0, 1); /* vector control */

/* ---- PCI Express capability, version 2, endpoint (PCIe 4.0 7.5.3) ---- */

PCI_REG(EXP_CAPS, 0x02, 2);
PCI_REG(EXP_DEVCAP, 0x04, 4);
PCI_REG(EXP_DEVCTL, 0x08, 2);
PCI_REG(EXP_DEVSTA, 0x0a, 2);
PCI_REG(EXP_LNKCAP, 0x0c, 4);
PCI_REG(EXP_LNKCTL, 0x10, 2);
PCI_REG(EXP_LNKSTA, 0x12, 2);
PCI_REG(EXP_DEVCAP2, 0x24, 4);
PCI_REG(EXP_DEVCTL2, 0x28, 2);
PCI_REG(EXP_LNKCAP2, 0x2c, 4);
PCI_REG(EXP_LNKCTL2, 0x30, 2);
#define PCI_EXP_SIZE 0x3c /* version 2: through Slot Status 2 */

PCI_FIELD(EXP, VERSION, 0x02, 0, 4);
PCI_FIELD(EXP, TYPE, 0x02, 4, 4); /* PCI_EXP_TYPE_* */
PCI_FIELD(EXP, DEVCAP_MPS, 0x04, 0, 3);
PCI_FIELD(EXP, DEVCAP_EXT_TAG, 0x04, 5, 1);
PCI_FIELD(EXP, DEVCAP_RBER, 0x04, 15, 1);
PCI_FIELD(EXP, DEVCAP_FLR, 0x04, 28, 1);
PCI_FIELD(EXP, DEVCTL_CERE, 0x08, 0, 1);
PCI_FIELD(EXP, DEVCTL_NFERE, 0x08, 1, 1);
PCI_FIELD(EXP, DEVCTL_FERE, 0x08, 2, 1);
PCI_FIELD(EXP, DEVCTL_URRE, 0x08, 3, 1);
PCI_FIELD(EXP, DEVCTL_RELAX, 0x08, 4, 1);
PCI_FIELD(EXP, DEVCTL_MPS, 0x08, 5, 3);
PCI_FIELD(EXP, DEVCTL_EXT_TAG, 0x08, 8, 1);
PCI_FIELD(EXP, DEVCTL_NOSNOOP, 0x08, 11, 1);
PCI_FIELD(EXP, DEVCTL_MRRS, 0x08, 12, 3);
PCI_FIELD(EXP, DEVCTL_BCR_FLR, 0x08, 15, 1); /* reads 0 */
PCI_FIELD(EXP, DEVSTA_CED, 0x0a, 0, 1);
PCI_FIELD(EXP, DEVSTA_NFED, 0x0a, 1, 1);
PCI_FIELD(EXP, DEVSTA_FED, 0x0a, 2, 1);
PCI_FIELD(EXP, DEVSTA_URD, 0x0a, 3, 1);
PCI_FIELD(EXP, DEVSTA_TRPND, 0x0a, 5, 1);
PCI_FIELD(EXP, LNKCAP_SPEED, 0x0c, 0, 4);
PCI_FIELD(EXP, LNKCAP_WIDTH, 0x0c, 4, 6);
PCI_FIELD(EXP, LNKSTA_SPEED, 0x12, 0, 4);
PCI_FIELD(EXP, LNKSTA_WIDTH, 0x12, 4, 6);
PCI_FIELD(EXP, DEVCAP2_CTO_DIS, 0x24, 4, 1);
PCI_FIELD(EXP, DEVCTL2_CTO, 0x28, 0, 4);
PCI_FIELD(EXP, DEVCTL2_CTO_DIS, 0x28, 4, 1);
PCI_FIELD(EXP, LNKCAP2_SPEEDS, 0x2c, 1, 7);
PCI_FIELD(EXP, LNKCTL2_TLS, 0x30, 0, 4);
#define PCI_EXP_TYPE_ENDPOINT 0

#endif /* UIOMMU_PCI_PCI_REGS_H */
