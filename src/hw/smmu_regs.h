/* SPDX-License-Identifier: MIT */
/*
 * Field tables of every structure the emulated SMMU shares with software:
 * the registers, the stream table entry, the context descriptor, the
 * commands, the event and page request records, and the model's own packed
 * words (the configuration cache, the IOTLB tag).
 *
 * Data model.  A structure is an array of little-endian 64-bit words (a
 * register is a structure of one word).  Each field is declared once, by
 * FIELD(STRUCT, NAME, word, shift, width) (an address field by its bits,
 * ADDR_FIELD(STRUCT, NAME, word, hi, lo)), which makes the constants
 * STRUCT_NAME_WORD, STRUCT_NAME_SHIFT and STRUCT_NAME_WIDTH; the encoder
 * deposits and the decoder extracts with the same name:
 *
 *	FIELD_DP64(dw, STE, CONFIG, SMMU_STE_S1);
 *	config = FIELD_EX64(dw, STE, CONFIG);
 *
 * FIELD_EX/FIELD_DP work on a single word (a register value, dword 0 of a
 * record); the _ADDR forms keep an address field in place (bits [51:6] of
 * S1ContextPtr are the address bits [51:6], not a number shifted down).
 * Register offsets are REG(NAME, offset): A_NAME.
 *
 * Bit positions are those of the SMMUv3 architecture specification (ARM
 * IHI 0070) for the fields the model implements; the few the model adds
 * (marked "model") sit in bits the specification leaves RES0.  The golden
 * tests in tests/test_hw.c spell the expected words from the
 * specification's bit positions, not from this table.
 *
 * A new structure goes here as one block of FIELD lines, its size in
 * words in the table of sizes; its encoder and decoder use only these
 * names.  A new register goes into the register map (by offset) and its
 * fields into the block of fields after it.
 */
#ifndef UIOMMU_HW_SMMU_REGS_H
#define UIOMMU_HW_SMMU_REGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FIELD(s, f, word, shift, width)    \
	enum {                             \
		s##_##f##_WORD = (word),   \
		s##_##f##_SHIFT = (shift), \
		s##_##f##_WIDTH = (width), \
	}

/*
 * An address field: bits [hi:lo] of the word hold the address's own bits
 * [hi:lo] (read and written in place, by the _ADDR forms below).
 */
#define ADDR_FIELD(s, f, word, hi, lo) FIELD(s, f, word, lo, (hi) - (lo) + 1)

#define REG(name, offset) enum { A_##name = (offset) }

/* The field's value mask, at bit 0, and in place. */
#define FIELD_VMASK(s, f) (~0ULL >> (64 - s##_##f##_WIDTH))
#define FIELD_MASK(s, f)  (FIELD_VMASK(s, f) << s##_##f##_SHIFT)
#define FIELD_MAX(s, f)	  FIELD_VMASK(s, f)

/* One word. */
#define FIELD_EX(v, s, f) \
	(((uint64_t)(v) >> s##_##f##_SHIFT) & FIELD_VMASK(s, f))
#define FIELD_PREP(s, f, val) \
	(((uint64_t)(val) << s##_##f##_SHIFT) & FIELD_MASK(s, f))
#define FIELD_DP(v, s, f, val) \
	(((uint64_t)(v) & ~FIELD_MASK(s, f)) | FIELD_PREP(s, f, val))

/* A structure of words. */
#define FIELD_EX64(w, s, f) FIELD_EX((w)[s##_##f##_WORD], s, f)
#define FIELD_DP64(w, s, f, val) \
	((w)[s##_##f##_WORD] = FIELD_DP((w)[s##_##f##_WORD], s, f, val))
#define FIELD_EX64_ADDR(w, s, f) ((w)[s##_##f##_WORD] & FIELD_MASK(s, f))
#define FIELD_DP64_ADDR(w, s, f, addr)                                     \
	((w)[s##_##f##_WORD] = ((w)[s##_##f##_WORD] & ~FIELD_MASK(s, f)) | \
			       ((uint64_t)(addr)&FIELD_MASK(s, f)))

/*
 * A structure's map: which member of its C struct each field holds, for
 * the one encoder and decoder of them all (fields_encode, fields_decode in
 * smmu_fields.c).  FM_VAL: a number, FM_ADDR: an address field kept in
 * place, FM_FLAG: a bit of a flags member (FM_NFLAG: set when the field is
 * 0), FM_CONST: a value the encoder writes and the decoder ignores; the
 * _ENC forms are written only (a field derived from another).
 */
enum fm_kind { FM_KIND_VAL, FM_KIND_ADDR, FM_KIND_FLAG, FM_KIND_NFLAG };

struct field_map {
	uint8_t word, shift, width;
	uint8_t kind;	/* enum fm_kind */
	bool enc_only;	/* not decoded (FM_CONST, the _ENC forms) */
	bool no_member; /* FM_CONST */
	uint16_t off;	/* of the member */
	uint8_t size;	/* of the member: 1, 2, 4 or 8 bytes */
	uint64_t arg;	/* FLAG/NFLAG: the flag; VAL: xor; CONST: value */
};

#define __FM(s, f, k, type, m, a, enc)                                    \
	{                                                                 \
		.word = s##_##f##_WORD, .shift = s##_##f##_SHIFT,         \
		.width = s##_##f##_WIDTH, .kind = (k), .enc_only = (enc), \
		.off = offsetof(type, m), .size = sizeof(((type *)0)->m), \
		.arg = (a),                                               \
	}
#define FM_VAL(s, f, type, m)	   __FM(s, f, FM_KIND_VAL, type, m, 0, false)
#define FM_XOR(s, f, type, m, x)   __FM(s, f, FM_KIND_VAL, type, m, x, false)
#define FM_ADDR(s, f, type, m)	   __FM(s, f, FM_KIND_ADDR, type, m, 0, false)
#define FM_FLAG(s, f, type, m, fl) __FM(s, f, FM_KIND_FLAG, type, m, fl, false)
#define FM_NFLAG(s, f, type, m, fl) \
	__FM(s, f, FM_KIND_NFLAG, type, m, fl, false)
#define FM_NFLAG_ENC(s, f, type, m, fl) \
	__FM(s, f, FM_KIND_NFLAG, type, m, fl, true)
#define FM_CONST(s, f, v)                                         \
	{                                                         \
		.word = s##_##f##_WORD, .shift = s##_##f##_SHIFT, \
		.width = s##_##f##_WIDTH, .kind = FM_KIND_VAL,    \
		.enc_only = true, .no_member = true, .arg = (v),  \
	}
#define FM_COUNT(map) (sizeof(map) / sizeof((map)[0]))

/* Zero w[0, words) and deposit every field of map from obj. */
void fields_encode(const struct field_map *map, size_t n, const void *obj,
		   uint64_t *w, size_t words);
/* Zero obj (size bytes) and extract every decoded field of map into it. */
void fields_decode(const struct field_map *map, size_t n, const uint64_t *w,
		   void *obj, size_t size);

/*
 * Define prefix_encode(const type *, uint64_t dw[words]) and
 * prefix_decode(const uint64_t dw[words], type *) over map, the
 * structure's encoder and decoder when its map says all of it.
 */
#define FIELDS_CODEC(prefix, type, map, words)                            \
	void prefix##_encode(const type *obj, uint64_t dw[words])         \
	{                                                                 \
		fields_encode(map, FM_COUNT(map), obj, dw, words);        \
	}                                                                 \
	void prefix##_decode(const uint64_t dw[words], type *obj)         \
	{                                                                 \
		fields_decode(map, FM_COUNT(map), dw, obj, sizeof(*obj)); \
	}                                                                 \
	_Static_assert(1, "FIELDS_CODEC() takes a semicolon")

/* ---- registers (page 0; the PROD/CONS of the output queues on page 1) ---- */

/* The register map, by offset. */
REG(IDR0, 0x00);
REG(IDR1, 0x04);
REG(IDR2, 0x08);
REG(IDR3, 0x0c);
REG(IDR4, 0x10);
REG(IDR5, 0x14);
REG(CR0, 0x20);
REG(CR0ACK, 0x24);
REG(CR1, 0x28);
REG(CR2, 0x2c);
REG(GBPA, 0x44);
REG(IRQ_CTRL, 0x50);
REG(IRQ_CTRLACK, 0x54);
REG(GERROR, 0x60);
REG(GERRORN, 0x64);
REG(STRTAB_BASE, 0x80);
REG(STRTAB_BASE_CFG, 0x88);
REG(CMDQ_BASE, 0x90);
REG(CMDQ_PROD, 0x98);
REG(CMDQ_CONS, 0x9c);
REG(EVENTQ_BASE, 0xa0);
REG(EVENTQ_PROD, 0x100a8);
REG(EVENTQ_CONS, 0x100ac);
REG(PRIQ_BASE, 0xc0);
REG(PRIQ_PROD, 0x100c8);
REG(PRIQ_CONS, 0x100cc);

/* Their fields, register by register (IDR2, IDR4, CR1, CR2: none used).
 * CR0ACK and IRQ_CTRLACK read back CR0 and IRQ_CTRL. */
FIELD(IDR0, S2P, 0, 0, 1);
FIELD(IDR0, S1P, 0, 1, 1);
FIELD(IDR0, TTF, 0, 2, 2);
FIELD(IDR0, HTTU, 0, 6, 2); /* hardware updates of the tables' AF, dirty */
FIELD(IDR0, ASID16, 0, 12, 1);
FIELD(IDR0, PRI, 0, 16, 1);
FIELD(IDR0, VMID16, 0, 18, 1);
FIELD(IDR0, STALL_MODEL, 0, 24, 2);
FIELD(IDR0, TERM_MODEL, 0, 26, 1);
FIELD(IDR0, ST_LEVEL, 0, 27, 2);
#define IDR0_TTF_AARCH64       2
#define IDR0_HTTU_ACCESS       1 /* AF updates */
#define IDR0_HTTU_ACCESS_DIRTY 2 /* AF and dirty state updates */

FIELD(IDR1, SIDSIZE, 0, 0, 6);
FIELD(IDR1, SSIDSIZE, 0, 6, 5);
FIELD(IDR1, PRIQS, 0, 11, 5);
FIELD(IDR1, EVENTQS, 0, 16, 5);
FIELD(IDR1, CMDQS, 0, 21, 5);

FIELD(IDR3, RIL, 0, 10, 1);

FIELD(IDR5, OAS, 0, 0, 3);
FIELD(IDR5, GRAN4K, 0, 4, 1);
FIELD(IDR5, STALL_MAX, 0, 16, 16);

FIELD(CR0, SMMUEN, 0, 0, 1);
FIELD(CR0, PRIQEN, 0, 1, 1);
FIELD(CR0, EVENTQEN, 0, 2, 1);
FIELD(CR0, CMDQEN, 0, 3, 1);

FIELD(GBPA, ABORT, 0, 20, 1);
FIELD(GBPA, UPDATE, 0, 31, 1);

FIELD(IRQ_CTRL, GERROR_IRQEN, 0, 0, 1);
FIELD(IRQ_CTRL, PRIQ_IRQEN, 0, 1, 1);
FIELD(IRQ_CTRL, EVENTQ_IRQEN, 0, 2, 1);

/* Active errors are the bits where GERROR and GERRORN differ. */
FIELD(GERROR, CMDQ_ERR, 0, 0, 1);
FIELD(GERROR, EVENTQ_ABT_ERR, 0, 2, 1);
FIELD(GERROR, PRIQ_ABT_ERR, 0, 3, 1);

ADDR_FIELD(STRTAB_BASE, ADDR, 0, 51, 6);
FIELD(STRTAB_BASE_CFG, LOG2SIZE, 0, 0, 6);
FIELD(STRTAB_BASE_CFG, FMT, 0, 16, 2);

/* CMDQ_BASE, EVENTQ_BASE and PRIQ_BASE share one layout (Q_BASE). */
FIELD(Q_BASE, LOG2SIZE, 0, 0, 5);
ADDR_FIELD(Q_BASE, ADDR, 0, 51, 5);

/* PROD and CONS: the index, its wrap bit just above it (at LOG2SIZE). */
FIELD(CMDQ_CONS, ERR, 0, 24, 7);
FIELD(Q_PROD, OVFLG, 0, 31, 1); /* EVENTQ_PROD, PRIQ_PROD */

/* The model's queues: entries of at most 2^20, so the index and its wrap
 * bit fit in PROD/CONS bits [20:0]. */
#define SMMU_QUEUE_MAX_SHIFT 20

/* ---- the structures in memory, their sizes in 64-bit words --------------- */

enum {
	STE_DWORDS = 8, /* stream table entry */
	CD_DWORDS = 8,	/* context descriptor */
	CMD_DWORDS = 2, /* command */
	EVT_DWORDS = 4, /* event record */
	PRI_DWORDS = 2, /* page request record */
};

/* ---- stream table entry -------------------------------------------------- */

FIELD(STE, VALID, 0, 0, 1);
FIELD(STE, CONFIG, 0, 1, 3);
FIELD(STE, S1FMT, 0, 4, 2);
ADDR_FIELD(STE, S1CONTEXTPTR, 0, 51, 6);
FIELD(STE, S1CDMAX, 0, 59, 5);
/* dword 1: the stage-1 attributes a guest's STE may set (nested) */
FIELD(STE, S1DSS, 1, 0, 2);
FIELD(STE, S1CIR, 1, 2, 2);
FIELD(STE, S1COR, 1, 4, 2);
FIELD(STE, S1CSH, 1, 6, 2);
FIELD(STE, S1STALLD, 1, 27, 1);
FIELD(STE, EATS, 1, 28, 2);
FIELD(STE, S2VMID, 2, 0, 16);
FIELD(STE, S2T0SZ, 2, 32, 6);
FIELD(STE, S2SL0, 2, 38, 2);
FIELD(STE, S2TG, 2, 46, 2);
FIELD(STE, S2PS, 2, 48, 3);
FIELD(STE, S2AA64, 2, 51, 1);
FIELD(STE, S2S, 2, 57, 1);
FIELD(STE, S2R, 2, 58, 1);
ADDR_FIELD(STE, S2TTB, 3, 51, 4);

/* ---- context descriptor -------------------------------------------------- */

FIELD(CD, T0SZ, 0, 0, 6);
FIELD(CD, TG0, 0, 6, 2);
FIELD(CD, EPD0, 0, 14, 1);
FIELD(CD, EPD1, 0, 30, 1);
FIELD(CD, VALID, 0, 31, 1);
FIELD(CD, IPS, 0, 32, 3);
FIELD(CD, AA64, 0, 41, 1);
FIELD(CD, HD, 0, 42, 1); /* hardware dirty state update (with IDR0.HTTU) */
FIELD(CD, HA, 0, 43, 1); /* hardware access flag update */
FIELD(CD, S, 0, 44, 1);
FIELD(CD, R, 0, 45, 1);
FIELD(CD, A, 0, 46, 1);
FIELD(CD, ASID, 0, 48, 16);
ADDR_FIELD(CD, TTB0, 1, 51, 4);
ADDR_FIELD(CD, TTB1, 2, 51, 4);
FIELD(CD, MAIR, 3, 0, 64); /* MAIR0 [31:0], MAIR1 [63:32] */

/* ---- commands: the opcode in dword 0 [7:0] ------------------------------- */

FIELD(CMD, OP, 0, 0, 8);
/* CFGI_STE, CFGI_CD, CFGI_ALL (CFGI_STE_RANGE with RANGE 31) */
FIELD(CMD, CFGI_SSID, 0, 12, 20);
FIELD(CMD, CFGI_SID, 0, 32, 32);
FIELD(CMD, CFGI_LEAF, 1, 0, 1);
FIELD(CMD, CFGI_RANGE, 1, 0, 5);
/* TLBI_*: a range when TG != 0, (NUM + 1) << SCALE granules from ADDR */
FIELD(CMD, TLBI_NUM, 0, 12, 5);
FIELD(CMD, TLBI_SCALE, 0, 20, 5);
FIELD(CMD, TLBI_VMID, 0, 32, 16);
FIELD(CMD, TLBI_ASID, 0, 48, 16);
FIELD(CMD, TLBI_LEAF, 1, 0, 1);
FIELD(CMD, TLBI_TTL, 1, 8, 2);
FIELD(CMD, TLBI_TG, 1, 10, 2);
ADDR_FIELD(CMD, TLBI_ADDR, 1, 63, 12);
/* PRI_RESP */
FIELD(CMD, PRI_SSV, 0, 11, 1);
FIELD(CMD, PRI_SSID, 0, 12, 20);
FIELD(CMD, PRI_SID, 0, 32, 32);
FIELD(CMD, PRI_GRPID, 1, 0, 9);
FIELD(CMD, PRI_RESP, 1, 12, 2);
/* RESUME */
FIELD(CMD, RESUME_RESP, 0, 12, 2);
FIELD(CMD, RESUME_SID, 0, 32, 32);
FIELD(CMD, RESUME_STAG, 1, 0, 16);
/* CMD_SYNC */
FIELD(CMD, SYNC_CS, 0, 12, 2);

#define CMD_RESP_MAX	   2  /* PRI_RESP, RESUME: 3 is reserved */
#define CMD_CFGI_RANGE_ALL 31 /* CFGI_ALL: every stream */
#define CMD_SYNC_CS_NONE   0  /* completion by the consumer index only */
#define CMD_TLBI_TG_NONE   0  /* not a range: the entry holding ADDR */
#define CMD_TLBI_TG_4K	   1
#define CMD_TLBI_TG_16K	   2
#define CMD_TLBI_TG_64K	   3

/* ---- event record -------------------------------------------------------- */

FIELD(EVT, TYPE, 0, 0, 8);
FIELD(EVT, SSV, 0, 11, 1);
FIELD(EVT, SSID, 0, 12, 20);
FIELD(EVT, SID, 0, 32, 32);
FIELD(EVT, STAG, 1, 0, 16);
FIELD(EVT, STALL, 1, 31, 1);
FIELD(EVT, PNU, 1, 33, 1);
FIELD(EVT, IND, 1, 34, 1);
FIELD(EVT, RNW, 1, 35, 1); /* 1: a read */
FIELD(EVT, S2, 1, 39, 1);
FIELD(EVT, CLASS, 1, 40, 2);
FIELD(EVT, NESTED, 1, 63, 1); /* model: the stream translates nested */
FIELD(EVT, INPUT_ADDR, 2, 0, 64);
FIELD(EVT, FETCH_ADDR, 3, 0, 64); /* IPA or fetch address */

#define EVT_CLASS_CD 0 /* the CD fetch */
#define EVT_CLASS_TT 1 /* a translation table walk access */
#define EVT_CLASS_IN 2 /* the input address */

/* ---- page request record ------------------------------------------------- */

FIELD(PRI, SID, 0, 0, 32);
FIELD(PRI, SSID, 0, 32, 20);
FIELD(PRI, PRIV, 0, 58, 1);
FIELD(PRI, EXEC, 0, 59, 1);
FIELD(PRI, READ, 0, 60, 1);
FIELD(PRI, WRITE, 0, 61, 1);
FIELD(PRI, LAST, 0, 62, 1);
FIELD(PRI, SSV, 0, 63, 1);
FIELD(PRI, GRPID, 1, 0, 9);
ADDR_FIELD(PRI, ADDR, 1, 63, 12);

/* ---- memory attributes the walker decodes -------------------------------- */

/* A MAIR attribute byte (stage 1) and a stage 2 descriptor's MemAttr[3:0]:
 * each an outer and an inner half, and the values of a half it checks. */
FIELD(MAIR_ATTR, INNER, 0, 0, 4);
FIELD(MAIR_ATTR, OUTER, 0, 4, 4);
FIELD(S2_MEMATTR, INNER, 0, 0, 2);
FIELD(S2_MEMATTR, OUTER, 0, 2, 2);
#define MAIR_ATTR_DEVICE  0x0 /* outer: Device memory */
#define MAIR_ATTR_NC	  0x4 /* either half: Normal Non-cacheable */
#define S2_MEMATTR_DEVICE 0x0 /* outer: Device memory */
#define S2_MEMATTR_WB	  0x3 /* a half: Normal write-back */

/* ---- model: the configuration cache's packed context (4 words) ----------- */

FIELD(CFGW, CONFIG, 0, 0, 3);
FIELD(CFGW, S1_STALL, 0, 3, 1);
FIELD(CFGW, S2_STALL, 0, 4, 1);
FIELD(CFGW, S1_HA, 0, 5, 1);
FIELD(CFGW, S1_HD, 0, 6, 1);
FIELD(CFGW, S1_IAS, 0, 8, 8);
FIELD(CFGW, S2_IAS, 0, 16, 8);
FIELD(CFGW, S2_START, 0, 24, 2);
FIELD(CFGW, ASID, 0, 32, 16);
FIELD(CFGW, VMID, 0, 48, 16);
FIELD(CFGW, S1_TTB, 1, 0, 64);
FIELD(CFGW, S2_TTB, 2, 0, 64);
FIELD(CFGW, MAIR, 3, 0, 64);

/* Its key: sid, ssid (SMMU_SSID_NONE without PASID), valid. */
FIELD(CFGK, VALID, 0, 0, 1);
FIELD(CFGK, SSID, 0, 1, 31);
FIELD(CFGK, SID, 0, 32, 32);

/* ---- model: an IOTLB entry's words --------------------------------------- */

/* tag: the input address aligned to the entry's size, with these below */
FIELD(TLBTAG, VALID, 0, 0, 1);
FIELD(TLBTAG, TYPE, 0, 2, 2);
FIELD(TLBTAG, LEVEL, 0, 4, 2);
#define TLBTAG_VALID_MASK FIELD_MASK(TLBTAG, VALID)
/* ids */
FIELD(TLBIDS, ASID, 0, 0, 16);
FIELD(TLBIDS, VMID, 0, 16, 16);
/* pa_attr: the output address aligned to the entry's size, with these */
FIELD(TLBPA, PERM, 0, 0, 2);
FIELD(TLBPA, MEMTYPE, 0, 2, 2);

/* The public sizes and bits of hw.h are these. */
#define SMMU_REGS_CHECK_PUBLIC()                                            \
	_Static_assert(                                                     \
		SMMU_STE_SIZE == STE_DWORDS * 8 &&                          \
			SMMU_CD_SIZE == CD_DWORDS * 8 &&                    \
			SMMU_GERROR_CMDQ_ERR ==                             \
				FIELD_MASK(GERROR, CMDQ_ERR) &&             \
			SMMU_IDR0_HTTU_SHIFT == IDR0_HTTU_SHIFT &&          \
			SMMU_IDR0_HTTU_MASK == FIELD_VMASK(IDR0, HTTU) &&   \
			SMMU_HTTU_ACCESS == IDR0_HTTU_ACCESS &&             \
			SMMU_HTTU_ACCESS_DIRTY == IDR0_HTTU_ACCESS_DIRTY && \
			(SMMU_TLBI_TG_4K ^ 1) == CMD_TLBI_TG_4K &&          \
			(SMMU_TLBI_TG_NONE ^ 1) == CMD_TLBI_TG_NONE &&      \
			(SMMU_TLBI_TG_16K ^ 1) == CMD_TLBI_TG_16K &&        \
			(SMMU_TLBI_TG_64K ^ 1) == CMD_TLBI_TG_64K,          \
		"hw.h agrees with the field tables")

#endif /* UIOMMU_HW_SMMU_REGS_H */
