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

/*
 * The descriptor's fields, one line each: name, lowest bit, width, as the
 * Arm ARM's VMSAv8-64 descriptor formats place them (4 KiB granule, 48-bit
 * output address).  Every encoder and decoder of descriptors (src/pgtable,
 * the SMMU's walker in src/hw) takes a field with LPAE_PTE_GET() and
 * builds one with LPAE_PTE_PREP(), or uses the names below that are
 * spelled from them; no bit position is written anywhere else.  Fields of
 * different kinds of descriptor share bits: a table descriptor's bits
 * [11:2] are IGNORED by the walker and hold the software's TABLE_CNT; a
 * leaf's bits [5:2] are ATTRINDX and NS at stage 1, MEMATTR at stage 2;
 * bits [7:6] are AP[2:1] at stage 1 and S2AP at stage 2.
 */
/* clang-format off */
#define LPAE_PTE_FIELDS(F)						\
	F(VALID,	0,	1)	/* every descriptor */		\
	F(TYPE,		0,	2)	/* every descriptor */		\
	F(TABLE_CNT,	2,	10)	/* table: the software's count */ \
	F(ATTRINDX,	2,	3)	/* stage-1 leaf: MAIR index */	\
	F(MEMATTR,	2,	4)	/* stage-2 leaf: memory type */	\
	F(NS,		5,	1)	/* stage-1 leaf: non-secure */	\
	F(AP_UNPRIV,	6,	1)	/* stage-1 leaf: AP[1], EL0 may access */ \
	F(AP_RDONLY,	7,	1)	/* stage-1 leaf: AP[2], no write */ \
	F(S2AP_READ,	6,	1)	/* stage-2 leaf: S2AP[0] */	\
	F(S2AP_WRITE,	7,	1)	/* stage-2 leaf: S2AP[1] */	\
	F(SH,		8,	2)	/* leaf: shareability */	\
	F(AF,		10,	1)	/* leaf: access flag */		\
	F(NG,		11,	1)	/* stage-1 leaf: not global */	\
	F(ADDR,		12,	36)	/* output or next-table address */ \
	F(DBM,		51,	1)	/* stage-1 leaf: dirty bit modifier */ \
	F(CONT,		52,	1)	/* leaf: contiguous hint */	\
	F(PXN,		53,	1)	/* stage-1 leaf */		\
	F(XN,		54,	1)	/* stage-1 UXN/XN, stage-2 XN[1] */
/* clang-format on */

#define LPAE_PTE_FIELD_ENUM(name, shift, width) \
	LPAE_PTE_##name##_SHIFT = (shift), LPAE_PTE_##name##_WIDTH = (width),
enum lpae_pte_field { LPAE_PTE_FIELDS(LPAE_PTE_FIELD_ENUM) };
#undef LPAE_PTE_FIELD_ENUM

/* A field's bits in place, a value put into a field, a field's value. */
#define LPAE_PTE_MASK(f) \
	(((1ULL << LPAE_PTE_##f##_WIDTH) - 1) << LPAE_PTE_##f##_SHIFT)
#define LPAE_PTE_PREP(f, v) \
	(((uint64_t)(v) << LPAE_PTE_##f##_SHIFT) & LPAE_PTE_MASK(f))
#define LPAE_PTE_GET(f, pte) \
	(((uint64_t)(pte)&LPAE_PTE_MASK(f)) >> LPAE_PTE_##f##_SHIFT)

/* TYPE values. */
#define LPAE_TYPE_BLOCK 0x1 /* levels 1 and 2 */
#define LPAE_TYPE_TABLE 0x3 /* levels 0 to 2 */
#define LPAE_TYPE_PAGE	0x3 /* level 3 */

/* SH values. */
#define LPAE_SH_NON   0x0
#define LPAE_SH_OUTER 0x2
#define LPAE_SH_INNER 0x3

/*
 * Stage-2 MEMATTR values: MemAttr[3:2] == 0 is Device memory (MemAttr[1:0]
 * then says which), anything else Normal memory with MemAttr[3:2] its
 * outer and MemAttr[1:0] its inner cacheability.
 */
#define LPAE_MEMATTR_OUTER_MASK	  0xc
#define LPAE_MEMATTR_DEVICE_nGnRE 0x1
#define LPAE_MEMATTR_NORMAL_NC	  0x5 /* outer and inner non-cacheable */
#define LPAE_MEMATTR_NORMAL_WB	  0xf /* outer and inner write-back */

#define LPAE_PTE_TYPE_MASK  LPAE_PTE_MASK(TYPE)
#define LPAE_PTE_TYPE_BLOCK LPAE_PTE_PREP(TYPE, LPAE_TYPE_BLOCK)
#define LPAE_PTE_TYPE_TABLE LPAE_PTE_PREP(TYPE, LPAE_TYPE_TABLE)
#define LPAE_PTE_TYPE_PAGE  LPAE_PTE_PREP(TYPE, LPAE_TYPE_PAGE)
#define LPAE_PTE_VALID	    LPAE_PTE_MASK(VALID)

#define LPAE_PTE_ADDR_MASK LPAE_PTE_MASK(ADDR)

/*
 * Table descriptors: bits [11:2] are IGNORED by the walker.  The software
 * (src/pgtable) keeps there the number of live entries of the child table
 * plus transient references of walkers in it, so that a table is unhooked
 * in the same atomic step that empties it.  A walker must take the
 * next-level address with LPAE_PTE_ADDR_MASK and ignore these bits.
 * Tables kept with LPAE_QUIRK_KEEP_TABLES carry no count: the bits stay 0.
 */
#define LPAE_PTE_TABLE_CNT_MASK LPAE_PTE_MASK(TABLE_CNT)
#define LPAE_PTE_TABLE_CNT_MAX	((1u << LPAE_PTE_TABLE_CNT_WIDTH) - 1)

/* Attributes common to both stages. */
#define LPAE_PTE_SH_NS LPAE_PTE_PREP(SH, LPAE_SH_NON)
#define LPAE_PTE_SH_OS LPAE_PTE_PREP(SH, LPAE_SH_OUTER)
#define LPAE_PTE_SH_IS LPAE_PTE_PREP(SH, LPAE_SH_INNER)
#define LPAE_PTE_AF    LPAE_PTE_MASK(AF)
#define LPAE_PTE_CONT  LPAE_PTE_MASK(CONT)
#define LPAE_PTE_XN    LPAE_PTE_MASK(XN)
#define LPAE_PTE_PXN   LPAE_PTE_MASK(PXN)

/* Stage 1 lower attributes. */
#define LPAE_PTE_ATTRINDX_MASK LPAE_PTE_MASK(ATTRINDX)
#define LPAE_PTE_NS	       LPAE_PTE_MASK(NS)
#define LPAE_PTE_AP_UNPRIV     LPAE_PTE_MASK(AP_UNPRIV)
#define LPAE_PTE_AP_RDONLY     LPAE_PTE_MASK(AP_RDONLY)
#define LPAE_PTE_NG	       LPAE_PTE_MASK(NG)
#define LPAE_PTE_DBM	       LPAE_PTE_MASK(DBM)

/*
 * Stage 1 MAIR indices and their attribute bytes: MAIR holds one byte per
 * index; a byte whose high nibble (outer attributes) is 0 is Device memory.
 */
#define LPAE_MAIR_ATTR_BITS	  8
#define LPAE_MAIR_ATTR_MASK	  0xffu
#define LPAE_MAIR_ATTR_OUTER_MASK 0xf0u
#define LPAE_MAIR_IDX_NC	  0
#define LPAE_MAIR_IDX_CACHE	  1 /* Normal write-back, read/write-allocate */
#define LPAE_MAIR_IDX_DEV	  2 /* Device-nGnRE */
#define LPAE_MAIR_ATTR_NC	  0x44
#define LPAE_MAIR_ATTR_WBRWA	  0xff
#define LPAE_MAIR_ATTR_DEVICE	  0x04
#define LPAE_MAIR_ATTR(idx, attr) \
	((uint64_t)(attr) << (LPAE_MAIR_ATTR_BITS * (idx)))
#define LPAE_MAIR_DEFAULT                                            \
	(LPAE_MAIR_ATTR(LPAE_MAIR_IDX_NC, LPAE_MAIR_ATTR_NC) |       \
	 LPAE_MAIR_ATTR(LPAE_MAIR_IDX_CACHE, LPAE_MAIR_ATTR_WBRWA) | \
	 LPAE_MAIR_ATTR(LPAE_MAIR_IDX_DEV, LPAE_MAIR_ATTR_DEVICE))

/* Stage 2 lower attributes: MemAttr[5:2] and S2AP[7:6]. */
#define LPAE_PTE_MEMATTR_MASK LPAE_PTE_MASK(MEMATTR)
#define LPAE_PTE_MEMATTR_DEV  LPAE_PTE_PREP(MEMATTR, LPAE_MEMATTR_DEVICE_nGnRE)
#define LPAE_PTE_MEMATTR_NC   LPAE_PTE_PREP(MEMATTR, LPAE_MEMATTR_NORMAL_NC)
#define LPAE_PTE_MEMATTR_OIWB LPAE_PTE_PREP(MEMATTR, LPAE_MEMATTR_NORMAL_WB)
#define LPAE_PTE_S2AP_READ    LPAE_PTE_MASK(S2AP_READ)
#define LPAE_PTE_S2AP_WRITE   LPAE_PTE_MASK(S2AP_WRITE)

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
