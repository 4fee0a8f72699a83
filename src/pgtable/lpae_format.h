/* SPDX-License-Identifier: MIT */
/*
 * The ARM VMSAv8-64 long-descriptor (LPAE) translation table format, 4 KiB
 * granule, as both the software (lpae_*, src/pgtable) and the emulated SMMU's
 * walker (src/hw) read it.  Two independent users of one bit layout: a bug in
 * the page-table code shows up as a wrong translation in the hardware model.
 *
 * A table is 512 descriptors of 8 bytes in one 4 KiB frame.  Level 3 covers
 * IA[20:12], level 2 IA[29:21], level 1 IA[38:30], level 0 IA[47:39].  The
 * start level follows from the input size; a stage-2 table whose level-0
 * table would have at most 16 entries starts at level 1 instead, with that
 * many level-1 tables concatenated (contiguous, aligned to their size).
 */
#ifndef UIOMMU_LPAE_FORMAT_H
#define UIOMMU_LPAE_FORMAT_H

#include <stdbool.h>
#include <stdint.h>

typedef uint64_t lpae_pte_t;

#define LPAE_GRANULE_SHIFT  12
#define LPAE_BITS_PER_LEVEL 9
#define LPAE_PTES_PER_TABLE (1u << LPAE_BITS_PER_LEVEL)
#define LPAE_MAX_LEVELS	    4
#define LPAE_MIN_IAS	    32
#define LPAE_MAX_IAS	    48
#define LPAE_MAX_OAS	    48
#define LPAE_MAX_CONCAT	    16

/* Descriptor type, bits [1:0]. */
#define LPAE_PTE_TYPE_MASK  0x3ULL
#define LPAE_PTE_TYPE_BLOCK 0x1ULL /* levels 1 and 2 */
#define LPAE_PTE_TYPE_TABLE 0x3ULL /* levels 0 to 2 */
#define LPAE_PTE_TYPE_PAGE  0x3ULL /* level 3 */
#define LPAE_PTE_VALID	    0x1ULL

/* Output address (or next-level table address), bits [47:12]. */
#define LPAE_PTE_ADDR_MASK 0x0000fffffffff000ULL

/*
 * Table descriptors: bits [11:2] are IGNORED by the walker (VMSAv8-64,
 * 4 KiB granule, 48-bit OA).  The software (src/pgtable) keeps there the
 * number of live entries of the child table plus transient references of
 * walkers in it, so that a table is unhooked in the same atomic step that
 * empties it.  A walker must take the next-level address with
 * LPAE_PTE_ADDR_MASK and ignore these bits.  Tables kept with
 * LPAE_QUIRK_KEEP_TABLES carry no count: the bits stay 0.
 */
#define LPAE_PTE_TABLE_CNT_SHIFT 2
#define LPAE_PTE_TABLE_CNT_MASK	 (0x3ffULL << LPAE_PTE_TABLE_CNT_SHIFT)
#define LPAE_PTE_TABLE_CNT_MAX	 0x3ffu

/* Attributes common to both stages. */
#define LPAE_PTE_SH_SHIFT 8
#define LPAE_PTE_SH_NS	  (0ULL << LPAE_PTE_SH_SHIFT)
#define LPAE_PTE_SH_OS	  (2ULL << LPAE_PTE_SH_SHIFT)
#define LPAE_PTE_SH_IS	  (3ULL << LPAE_PTE_SH_SHIFT)
#define LPAE_PTE_AF	  (1ULL << 10)
#define LPAE_PTE_CONT	  (1ULL << 52)
#define LPAE_PTE_XN	  (1ULL << 54) /* stage 1 UXN/XN, stage 2 XN[1] */
#define LPAE_PTE_PXN	  (1ULL << 53) /* stage 1 only */

/* Stage 1 lower attributes. */
#define LPAE_PTE_ATTRINDX_SHIFT 2
#define LPAE_PTE_ATTRINDX_MASK	(7ULL << LPAE_PTE_ATTRINDX_SHIFT)
#define LPAE_PTE_NS		(1ULL << 5)
#define LPAE_PTE_AP_UNPRIV	(1ULL << 6) /* AP[1]: EL0 may access */
#define LPAE_PTE_AP_RDONLY	(1ULL << 7) /* AP[2]: no write */
#define LPAE_PTE_NG		(1ULL << 11)

/* Stage 1 MAIR indices and their attribute bytes. */
#define LPAE_MAIR_IDX_NC      0
#define LPAE_MAIR_IDX_CACHE   1 /* Normal write-back, read/write-allocate */
#define LPAE_MAIR_IDX_DEV     2 /* Device-nGnRE */
#define LPAE_MAIR_ATTR_NC     0x44
#define LPAE_MAIR_ATTR_WBRWA  0xff
#define LPAE_MAIR_ATTR_DEVICE 0x04
#define LPAE_MAIR_DEFAULT                                                \
	(((uint64_t)LPAE_MAIR_ATTR_NC << (8 * LPAE_MAIR_IDX_NC)) |       \
	 ((uint64_t)LPAE_MAIR_ATTR_WBRWA << (8 * LPAE_MAIR_IDX_CACHE)) | \
	 ((uint64_t)LPAE_MAIR_ATTR_DEVICE << (8 * LPAE_MAIR_IDX_DEV)))

/* Stage 2 lower attributes: MemAttr[5:2] and S2AP[7:6]. */
#define LPAE_PTE_MEMATTR_SHIFT 2
#define LPAE_PTE_MEMATTR_MASK  (0xfULL << LPAE_PTE_MEMATTR_SHIFT)
#define LPAE_PTE_MEMATTR_DEV   (0x1ULL << LPAE_PTE_MEMATTR_SHIFT) /* nGnRE */
#define LPAE_PTE_MEMATTR_NC    (0x5ULL << LPAE_PTE_MEMATTR_SHIFT)
#define LPAE_PTE_MEMATTR_OIWB  (0xfULL << LPAE_PTE_MEMATTR_SHIFT)
#define LPAE_PTE_S2AP_READ     (1ULL << 6)
#define LPAE_PTE_S2AP_WRITE    (1ULL << 7)

/* Memory types as the attribute decoders report them. */
enum lpae_memtype {
	LPAE_MEM_NORMAL_WB,
	LPAE_MEM_NORMAL_NC,
	LPAE_MEM_DEVICE,
};

static inline unsigned int lpae_level_shift(int level)
{
	return LPAE_GRANULE_SHIFT +
	       (unsigned int)(LPAE_MAX_LEVELS - 1 - level) *
		       LPAE_BITS_PER_LEVEL;
}

static inline unsigned int lpae_pte_index(uint64_t iova, int level)
{
	return (unsigned int)(iova >> lpae_level_shift(level)) &
	       (LPAE_PTES_PER_TABLE - 1);
}

/*
 * Start level and the number of descriptors in the start table (concatenated
 * tables included) for an input size of @ias bits.
 */
static inline int lpae_start_level(unsigned int ias, bool stage2,
				   unsigned int *pgd_ptes)
{
	unsigned int va_bits = ias - LPAE_GRANULE_SHIFT;
	int levels = (int)((va_bits + LPAE_BITS_PER_LEVEL - 1) /
			   LPAE_BITS_PER_LEVEL);
	int start = LPAE_MAX_LEVELS - levels;
	unsigned int entries = 1u << (ias - lpae_level_shift(start));

	if (stage2 && start == 0 && entries <= LPAE_MAX_CONCAT) {
		start = 1;
		entries = 1u << (ias - lpae_level_shift(start));
	}
	if (pgd_ptes)
		*pgd_ptes = entries;
	return start;
}

static inline bool lpae_pte_is_table(lpae_pte_t pte, int level)
{
	return level < LPAE_MAX_LEVELS - 1 &&
	       (pte & LPAE_PTE_TYPE_MASK) == LPAE_PTE_TYPE_TABLE;
}

static inline bool lpae_pte_is_leaf(lpae_pte_t pte, int level)
{
	if (level == LPAE_MAX_LEVELS - 1)
		return (pte & LPAE_PTE_TYPE_MASK) == LPAE_PTE_TYPE_PAGE;
	return (level == 1 || level == 2) &&
	       (pte & LPAE_PTE_TYPE_MASK) == LPAE_PTE_TYPE_BLOCK;
}

#endif /* UIOMMU_LPAE_FORMAT_H */
