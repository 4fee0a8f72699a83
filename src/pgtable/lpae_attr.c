// SPDX-License-Identifier: MIT
/*
 * LPAE leaf attributes: IOMMU_* prot to descriptor bits and back.
 *
 * Data model: a leaf is  XN | ... | nG | AF | SH | AP/S2AP | AttrIndx/MemAttr
 * | type, with the output address in [47:12] (lpae_format.h).  This file
 * only computes the attribute bits; lpae.c adds the address and the type.
 *
 * prot -> bits, both stages:
 *   AF always; SH = inner-shareable for IOMMU_CACHE (without MMIO), outer
 *   otherwise; XN for IOMMU_NOEXEC.
 * Stage 1:
 *   nG always (translations are tagged with the context's ASID);
 *   AP[2] (read-only) when READ without WRITE (AP cannot say write-only:
 *   WRITE alone maps read-write, as the kernel does); AP[1] (EL0) unless
 *   IOMMU_PRIV;  AttrIndx = DEV (Device-nGnRE) for MMIO, else CACHE
 *   (Normal WB) for IOMMU_CACHE, else NC, indices into LPAE_MAIR_DEFAULT.
 * Stage 2:
 *   S2AP[0] for READ, S2AP[1] for WRITE;  MemAttr = 0b0001 Device-nGnRE for
 *   MMIO, 0b1111 Normal outer/inner WB for CACHE, else 0b0101 Normal-NC.
 * IOMMU_NORMAL_NC asks for Normal-NC explicitly; with MMIO or CACHE it is a
 * contradiction and -EINVAL (the rule of KVM's stage2_set_prot_attr).
 *
 * Invariant: for every prot accepted, lpae_pte_prot() of the leaf gives back
 * prot restricted to what the format can say (READ is implied at stage 1,
 * WRITE alone reads back as READ|WRITE, NORMAL_NC reads back as nothing).
 */
#include "pgtable/pgtable.h"

#include "lib/internal.h"
#include "pgtable/lpae_format.h"

int lpae_prot_to_attrs(int stage, int prot, uint64_t *attrs)
{
	bool mmio = prot & IOMMU_MMIO, cache = prot & IOMMU_CACHE;
	uint64_t pte = LPAE_PTE_AF;
	uint64_t idx;

	if ((prot & IOMMU_NORMAL_NC) && (mmio || cache))
		return -EINVAL;

	switch (stage) {
	case 1:
		pte |= LPAE_PTE_NG;
		if ((prot & IOMMU_READ) && !(prot & IOMMU_WRITE))
			pte |= LPAE_PTE_AP_RDONLY;
		if (!(prot & IOMMU_PRIV))
			pte |= LPAE_PTE_AP_UNPRIV;
		if (mmio)
			idx = LPAE_MAIR_IDX_DEV;
		else if (cache)
			idx = LPAE_MAIR_IDX_CACHE;
		else
			idx = LPAE_MAIR_IDX_NC;
		pte |= LPAE_PTE_PREP(ATTRINDX, idx);
		break;
	case 2:
		if (prot & IOMMU_READ)
			pte |= LPAE_PTE_S2AP_READ;
		if (prot & IOMMU_WRITE)
			pte |= LPAE_PTE_S2AP_WRITE;
		if (mmio)
			pte |= LPAE_PTE_MEMATTR_DEV;
		else if (cache)
			pte |= LPAE_PTE_MEMATTR_OIWB;
		else
			pte |= LPAE_PTE_MEMATTR_NC;
		break;
	default:
		return -EINVAL;
	}

	pte |= (cache && !mmio) ? LPAE_PTE_SH_IS : LPAE_PTE_SH_OS;
	if (prot & IOMMU_NOEXEC)
		pte |= LPAE_PTE_XN;
	*attrs = pte;
	return 0;
}

int lpae_pte_prot(uint64_t pte, int stage)
{
	int prot = 0;

	if (!(pte & LPAE_PTE_VALID))
		return 0;
	if (stage == 1) {
		uint64_t idx = LPAE_PTE_GET(ATTRINDX, pte);

		prot |= IOMMU_READ;
		/* DBM: writable, clean or dirty (LPAE_QUIRK_ARM_HD) */
		if (!(pte & LPAE_PTE_AP_RDONLY) || (pte & LPAE_PTE_DBM))
			prot |= IOMMU_WRITE;
		if (!(pte & LPAE_PTE_AP_UNPRIV))
			prot |= IOMMU_PRIV;
		if (idx == LPAE_MAIR_IDX_DEV)
			prot |= IOMMU_MMIO;
		else if (idx == LPAE_MAIR_IDX_CACHE)
			prot |= IOMMU_CACHE;
	} else {
		uint64_t attr = pte & LPAE_PTE_MEMATTR_MASK;

		if (pte & LPAE_PTE_S2AP_READ)
			prot |= IOMMU_READ;
		if (pte & LPAE_PTE_S2AP_WRITE)
			prot |= IOMMU_WRITE;
		if (attr == LPAE_PTE_MEMATTR_DEV)
			prot |= IOMMU_MMIO;
		else if (attr == LPAE_PTE_MEMATTR_OIWB)
			prot |= IOMMU_CACHE;
	}
	if (pte & LPAE_PTE_XN)
		prot |= IOMMU_NOEXEC;
	return prot;
}

/*
 * Memory type of a leaf.  Stage 1: the MAIR byte its AttrIndx selects
 * (high nibble 0: Device; 0x44: Normal-NC; any other Normal: treated as
 * write-back).  Stage 2: MemAttr[3:2] == 0 is Device; 0b0101 Normal-NC;
 * any other Normal encoding is reported as write-back.
 */
int lpae_pte_memtype(uint64_t pte, int stage, uint64_t mair)
{
	unsigned int attr;

	if (stage == 1) {
		unsigned int idx = LPAE_PTE_GET(ATTRINDX, pte);

		attr = (mair >> (LPAE_MAIR_ATTR_BITS * idx)) &
		       LPAE_MAIR_ATTR_MASK;
		if (!(attr & LPAE_MAIR_ATTR_OUTER_MASK))
			return LPAE_MEM_DEVICE;
		if (attr == LPAE_MAIR_ATTR_NC)
			return LPAE_MEM_NORMAL_NC;
		return LPAE_MEM_NORMAL_WB;
	}
	attr = LPAE_PTE_GET(MEMATTR, pte);
	if (!(attr & LPAE_MEMATTR_OUTER_MASK))
		return LPAE_MEM_DEVICE;
	if (attr == LPAE_MEMATTR_NORMAL_NC)
		return LPAE_MEM_NORMAL_NC;
	return LPAE_MEM_NORMAL_WB;
}
