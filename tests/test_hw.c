// SPDX-License-Identifier: MIT
/*
 * Tests of the emulated SMMU and the device DMA engine (src/hw).
 *
 * Translation tables are built by hand here with lpae_format.h, in frames
 * from phys, independently of the page-table code.  Requirement ids of
 * section 7A at the hardware level: A01 (entry gone after TLBI + SYNC, not
 * before), A05 (page request / stall on a fault of an IOPF-capable device),
 * A06 (retry after a success response), A07 (abort after an invalid
 * response), A08 (unrecoverable fault reported), A10 (block entries cover
 * their whole range; invalidating inside one drops it), A12 (flush-all of a
 * context invalidates every entry of it).
 */
#include <errno.h>
#include <jansson.h>
#include <sched.h>
#include <stdatomic.h>
#include <pthread.h>
#include <string.h>

#include "helpers.h"

#include "hw/hw.h"

#include "hw/smmu_internal.h"
#include "pgtable/lpae_format.h"

#define S1_ATTR                                              \
	(LPAE_PTE_AF | LPAE_PTE_SH_IS | LPAE_PTE_AP_UNPRIV | \
	 ((uint64_t)LPAE_MAIR_IDX_CACHE << LPAE_PTE_ATTRINDX_SHIFT))
#define S1_RO (S1_ATTR | LPAE_PTE_AP_RDONLY)
#define S2_ATTR                                              \
	(LPAE_PTE_AF | LPAE_PTE_SH_IS | LPAE_PTE_S2AP_READ | \
	 LPAE_PTE_S2AP_WRITE | LPAE_PTE_MEMATTR_OIWB)

#define SZ_4K 0x1000ULL
#define SZ_2M 0x200000ULL
#define SZ_1G 0x40000000ULL

struct env {
	struct phys_mem *pm;
	struct smmu *smmu;
	struct endpoint *dev;
	phys_addr_t root; /* stage 1 root, 48-bit VA */
	phys_addr_t cd_table;
	/* fault handler state */
	int mode; /* 0: map and succeed, 1: answer failure */
	int handled;
	_Atomic int answered; /* responses whose CMD_SYNC completed */
	phys_addr_t fault_pa;
	struct smmu_event last_ev;
	struct smmu_page_request last_pr;
};

static phys_addr_t frame(struct env *e, unsigned int order)
{
	phys_addr_t pa;

	assert_int_equal(phys_alloc_pages(e->pm, order, PHYS_ALLOC_ZERO,
					  PHYS_OWNER_KERNEL, &pa),
			 0);
	return pa;
}

/* Map va -> pa with a descriptor at leaf_level, creating tables. */
static void tt_map(struct env *e, phys_addr_t root, unsigned int ias, int start,
		   uint64_t va, phys_addr_t pa, int leaf_level, uint64_t attrs)
{
	phys_addr_t table = root;
	int level;

	for (level = start;; level++) {
		unsigned int shift = lpae_level_shift(level);
		uint64_t nr = level == start ? 1ULL << (ias - shift) : 512;
		uint64_t *pte = phys_to_virt(
			e->pm, table + ((va >> shift) & (nr - 1)) * 8);

		if (level == leaf_level) {
			*pte = (pa & LPAE_PTE_ADDR_MASK) | attrs |
			       (level == 3 ? LPAE_PTE_TYPE_PAGE
					   : LPAE_PTE_TYPE_BLOCK);
			return;
		}
		if (!(*pte & LPAE_PTE_VALID))
			*pte = frame(e, 0) | LPAE_PTE_TYPE_TABLE;
		table = *pte & LPAE_PTE_ADDR_MASK;
	}
}

static void s1_map(struct env *e, uint64_t va, phys_addr_t pa, int level,
		   uint64_t attrs)
{
	tt_map(e, e->root, 48, 0, va, pa, level, attrs);
}

static void s1_unmap(struct env *e, uint64_t va, int level)
{
	phys_addr_t table = e->root;
	int l;

	for (l = 0; l < level; l++)
		table = *(uint64_t *)phys_to_virt(
				e->pm, table + lpae_pte_index(va, l) * 8) &
			LPAE_PTE_ADDR_MASK;
	*(uint64_t *)phys_to_virt(e->pm,
				  table + lpae_pte_index(va, level) * 8) = 0;
}

static void cmd(struct env *e, struct smmu_cmd c)
{
	assert_int_equal(smmu_cmdq_issue(e->smmu, &c), 0);
}

static void sync_(struct env *e)
{
	assert_int_equal(smmu_cmdq_sync(e->smmu), 0);
}

static void cmd_sync(struct env *e, struct smmu_cmd c)
{
	cmd(e, c);
	sync_(e);
}

static void s1_stream(struct env *e, uint32_t sid, uint16_t asid, bool stall)
{
	struct smmu_cd cd = {
		.valid = true,
		.t0sz = 16,
		.ttb0 = e->root,
		.asid = asid,
		.mair = LPAE_MAIR_DEFAULT,
		.stall = stall,
	};
	struct smmu_ste ste = {
		.valid = true,
		.config = SMMU_STE_S1,
		.s1_ctx_ptr = e->cd_table,
		.s1_cd_max = 2,
	};

	assert_int_equal(smmu_cd_write(e->smmu, e->cd_table, 0, &cd), 0);
	assert_int_equal(smmu_ste_write(e->smmu, sid, &ste), 0);
	cmd_sync(e, (struct smmu_cmd){.op = SMMU_CMD_CFGI_STE, .sid = sid});
}

static struct env *env_new(const struct smmu_config *cfg, unsigned int caps)
{
	struct env *e = calloc(1, sizeof(*e));

	e->pm = test_phys_create();
	assert_int_equal(smmu_create(e->pm, cfg, &e->smmu), 0);
	e->root = frame(e, 0);
	e->cd_table = frame(e, 0);
	s1_stream(e, 1, 7, false);
	assert_int_equal(endpoint_create(e->smmu, 1, 0, caps, &e->dev), 0);
	return e;
}

static void env_free(struct env *e)
{
	endpoint_destroy(e->dev);
	smmu_destroy(e->smmu);
	phys_destroy(e->pm);
	free(e);
}

/* Is there an entry of this type/asid/vmid covering va?  Its size too. */
static uint64_t tlb_has(struct env *e, unsigned int type, uint16_t asid,
			uint16_t vmid, uint64_t va)
{
	struct smmu_iotlb_entry ents[4096];
	size_t n = smmu_iotlb_dump(e->smmu, ents, 4096), i;

	for (i = 0; i < n && i < 4096; i++)
		if (ents[i].type == type && ents[i].asid == asid &&
		    ents[i].vmid == vmid && va >= ents[i].va &&
		    va - ents[i].va < ents[i].size)
			return ents[i].size;
	return 0;
}

static struct smmu_counters counters(struct env *e)
{
	struct smmu_counters c;

	smmu_counters_read(e->smmu, &c);
	return c;
}

/* ---- creation ---- */

static void test_create_invalid(void **state)
{
	struct phys_mem *pm = test_phys_create();
	struct smmu_config cfg = {.iotlb_entries = 100};
	struct smmu *smmu;

	assert_int_equal(smmu_create(pm, &cfg, &smmu), -EINVAL);
	cfg = (struct smmu_config){.iotlb_entries = 4, .iotlb_ways = 8};
	assert_int_equal(smmu_create(pm, &cfg, &smmu), -EINVAL);
	cfg = (struct smmu_config){.cmdq_entries = 3};
	assert_int_equal(smmu_create(pm, &cfg, &smmu), -EINVAL);
	cfg = (struct smmu_config){.sid_bits = 17};
	assert_int_equal(smmu_create(pm, &cfg, &smmu), -EINVAL);
	cfg = (struct smmu_config){.oas = 52};
	assert_int_equal(smmu_create(pm, &cfg, &smmu), -EINVAL);
	assert_int_equal(smmu_create(pm, NULL, &smmu), 0);
	smmu_get_config(smmu, &cfg);
	assert_int_equal(cfg.iotlb_entries, 1024);
	assert_int_equal(cfg.iotlb_ways, 4);
	smmu_destroy(smmu);
	phys_destroy(pm);
}

struct sweep_ctx {
	struct phys_mem *pm;
	struct smmu *smmu;
	bool threaded;
	uint64_t free0;
};

static int sweep_op(void *p)
{
	struct sweep_ctx *c = p;
	struct smmu_config cfg = {.threaded = c->threaded};

	c->smmu = NULL;
	return smmu_create(c->pm, &cfg, &c->smmu);
}

static void sweep_undo(void *p)
{
	struct sweep_ctx *c = p;

	smmu_destroy(c->smmu);
}

static void sweep_check(void *p)
{
	struct sweep_ctx *c = p;
	struct phys_stats st;

	assert_null(c->smmu);
	phys_get_stats(c->pm, &st);
	assert_int_equal(st.frames_free, c->free0);
}

static void test_create_fail_sweep(void **state)
{
	struct sweep_ctx c = {.pm = test_phys_create()};
	struct phys_stats st;
	int n;

	phys_get_stats(c.pm, &st);
	c.free0 = st.frames_free;
	n = test_fail_sweep(sweep_op, sweep_undo, sweep_check, &c,
			    UIOMMU_FAIL_ALLOC | UIOMMU_FAIL_FRAME);
	assert_true(n >= 8);
	c.threaded = true;
	n = test_fail_sweep(sweep_op, sweep_undo, sweep_check, &c,
			    UIOMMU_FAIL_ALLOC | UIOMMU_FAIL_FRAME);
	assert_true(n >= 8);
	phys_get_stats(c.pm, &st);
	assert_int_equal(st.frames_free, c.free0);
	phys_destroy(c.pm);
}

static void test_ste_cd_encoding(void **state)
{
	struct smmu_ste ste = {.valid = true,
			       .config = SMMU_STE_NESTED,
			       .s1_ctx_ptr = 0x123440,
			       .s1_cd_max = 5,
			       .s2_vmid = 0xbeef,
			       .s2_t0sz = 24,
			       .s2_sl0 = 1,
			       .s2_ttb = 0x80002000,
			       .s2_stall = true},
			ste2;
	struct smmu_cd cd = {.valid = true,
			     .t0sz = 16,
			     .ttb0 = 0x80001000,
			     .asid = 0x1234,
			     .mair = LPAE_MAIR_DEFAULT,
			     .stall = true},
		       cd2;
	uint64_t dw[8];

	smmu_ste_encode(&ste, dw);
	assert_int_equal(dw[0] & 1, 1);
	assert_int_equal((dw[0] >> 1) & 7, 7);
	smmu_ste_decode(dw, &ste2);
	assert_true(ste2.valid && ste2.config == ste.config &&
		    ste2.s1_ctx_ptr == ste.s1_ctx_ptr && ste2.s1_cd_max == 5 &&
		    ste2.s2_vmid == 0xbeef && ste2.s2_t0sz == 24 &&
		    ste2.s2_sl0 == 1 && ste2.s2_ttb == ste.s2_ttb &&
		    ste2.s2_stall);
	smmu_cd_encode(&cd, dw);
	assert_int_equal(dw[0] >> 48, 0x1234);
	smmu_cd_decode(dw, &cd2);
	assert_true(cd2.valid && cd2.t0sz == 16 && cd2.ttb0 == cd.ttb0 &&
		    cd2.asid == 0x1234 && cd2.mair == cd.mair && cd2.stall);
}

/*
 * Golden encodings.  The expected words are spelled from the bit positions
 * of the SMMUv3 specification (ARM IHI 0070: the STE, CD, command, event
 * record and PRI record formats), field by field, never from the model's
 * field table; each case also decodes the literal words back.
 */
static void test_golden_ste_cd(void **state)
{
	/* STE: V[0] Config[3:1] S1ContextPtr[51:6] S1CDMax[63:59];
	 * S2VMID[15:0] S2T0SZ[37:32] S2SL0[39:38] S2S[57]; S2TTB[51:4] */
	const uint64_t ste_w[8] = {
		0x1ULL | 7ULL << 1 | 0x123440ULL | 5ULL << 59,
		0,
		0xbeefULL | 24ULL << 32 | 1ULL << 38 | 1ULL << 57,
		0x80002000ULL,
	};
	/* CD: T0SZ[5:0] V[31] S[44] ASID[63:48]; TTB0[51:4]; MAIR */
	const uint64_t cd_w[8] = {
		16ULL | 1ULL << 31 | 1ULL << 44 | 0x1234ULL << 48,
		0x80001000ULL,
		0,
		0x00000000004404ffULL,
	};
	struct smmu_ste ste = {.valid = true,
			       .config = SMMU_STE_NESTED,
			       .s1_ctx_ptr = 0x123440,
			       .s1_cd_max = 5,
			       .s2_vmid = 0xbeef,
			       .s2_t0sz = 24,
			       .s2_sl0 = 1,
			       .s2_ttb = 0x80002000,
			       .s2_stall = true},
			ste2;
	struct smmu_cd cd = {.valid = true,
			     .t0sz = 16,
			     .ttb0 = 0x80001000,
			     .asid = 0x1234,
			     .mair = 0x00000000004404ffULL,
			     .stall = true},
		       cd2;
	uint64_t dw[8];

	(void)state;
	assert_int_equal(ste_w[0], 0x280000000012344fULL);
	assert_int_equal(ste_w[2], 0x020000580000beefULL);
	smmu_ste_encode(&ste, dw);
	assert_memory_equal(dw, ste_w, sizeof(ste_w));
	smmu_ste_decode(ste_w, &ste2);
	assert_true(ste2.valid && ste2.config == SMMU_STE_NESTED &&
		    ste2.s1_ctx_ptr == 0x123440 && ste2.s1_cd_max == 5 &&
		    ste2.s2_vmid == 0xbeef && ste2.s2_t0sz == 24 &&
		    ste2.s2_sl0 == 1 && ste2.s2_ttb == 0x80002000 &&
		    ste2.s2_stall);

	assert_int_equal(cd_w[0], 0x1234100080000010ULL);
	smmu_cd_encode(&cd, dw);
	assert_memory_equal(dw, cd_w, sizeof(cd_w));
	smmu_cd_decode(cd_w, &cd2);
	assert_true(cd2.valid && cd2.t0sz == 16 && cd2.ttb0 == 0x80001000 &&
		    cd2.asid == 0x1234 && cd2.mair == 0x00000000004404ffULL &&
		    cd2.stall);
}

/*
 * A guest's STE words (iommufd's nested STE, issue 15): V[0] Config[3:1]
 * S1Fmt[5:4] S1ContextPtr[51:6] S1CDMax[63:59]; S1DSS[1:0] S1CIR[3:2]
 * S1COR[5:4] S1CSH[7:6] S1STALLD[27] EATS[29:28] decode by the
 * specification's positions; a bit in any other position (S2 fields of
 * dword 1, the RES0 bits [58:52] of dword 0) is -EIO.
 */
static void test_golden_guest_ste(void **state)
{
	const uint64_t w[2] = {
		0x1ULL | 5ULL << 1 | 1ULL << 4 | 0x8000123440ULL | 3ULL << 59,
		1ULL | 2ULL << 2 | 3ULL << 4 | 1ULL << 6 | 1ULL << 27 |
			1ULL << 28,
	};
	struct smmu_guest_ste g;
	uint64_t bad[2];

	(void)state;
	assert_int_equal(smmu_guest_ste_decode(w, &g), 0);
	assert_true(g.valid && g.config == SMMU_STE_S1 && g.s1_fmt == 1 &&
		    g.s1_ctx_ptr == 0x8000123440ULL && g.s1_cd_max == 3 &&
		    g.s1_dss == 1 && g.s1_cir == 2 && g.s1_cor == 3 &&
		    g.s1_csh == 1 && g.s1_stalld && g.eats == 1);
	for (unsigned int bit = 52; bit < 59; bit++) {
		memcpy(bad, w, sizeof(bad));
		bad[0] |= 1ULL << bit;
		assert_int_equal(smmu_guest_ste_decode(bad, &g), -EIO);
	}
	for (unsigned int bit = 8; bit < 64; bit++) {
		if (bit == 27 || bit == 28 || bit == 29)
			continue;
		memcpy(bad, w, sizeof(bad));
		bad[1] |= 1ULL << bit;
		assert_int_equal(smmu_guest_ste_decode(bad, &g), -EIO);
	}
}

struct golden_cmd {
	struct smmu_cmd cmd;
	uint64_t dw[2];
};

static void test_golden_commands(void **state)
{
	/*
	 * Opcode dw0[7:0].  CFGI: SSID[31:12] SID[63:32], Leaf dw1[0], Range
	 * dw1[4:0] (CFGI_ALL: 31).  TLBI: NUM[16:12] SCALE[24:20] VMID[47:32]
	 * ASID[63:48], Leaf dw1[0] TTL[9:8] TG[11:10] (4K = 1, 64K = 3)
	 * Address[63:12].  PRI_RESP: SSV[11] SSID[31:12] SID[63:32],
	 * PRGIndex dw1[8:0] Resp dw1[13:12] (Deny 0, Fail 1, Success 2).
	 * RESUME: Resp[13:12] (Term 0, Retry 1, Abort 2) SID[63:32], STAG
	 * dw1[15:0].  CMD_SYNC: CS[13:12] = 0 (no signal).
	 */
	static const struct golden_cmd g[] = {
		{{.op = SMMU_CMD_CFGI_STE, .sid = 0x42, .leaf = true},
		 {0x03ULL | 0x42ULL << 32, 1}},
		{{.op = SMMU_CMD_CFGI_CD,
		  .sid = 0x42,
		  .ssid = 0x1234,
		  .leaf = true},
		 {0x05ULL | 0x1234ULL << 12 | 0x42ULL << 32, 1}},
		{{.op = SMMU_CMD_CFGI_ALL}, {0x04, 31}},
		{{.op = SMMU_CMD_TLBI_NH_VA,
		  .asid = 0x1234,
		  .vmid = 0x56,
		  .addr = 0x7fff12345000ULL,
		  .num = 3,
		  .scale = 9,
		  .ttl = 3,
		  .leaf = true},
		 {0x12ULL | 3ULL << 12 | 9ULL << 20 | 0x56ULL << 32 |
			  0x1234ULL << 48,
		  1ULL | 3ULL << 8 | 1ULL << 10 | 0x7fff12345000ULL}},
		{{.op = SMMU_CMD_TLBI_S2_IPA,
		  .vmid = 0x56,
		  .addr = 0x40000000ULL,
		  .num = 31,
		  .scale = 31,
		  .tg = SMMU_TLBI_TG_64K},
		 {0x2aULL | 31ULL << 12 | 31ULL << 20 | 0x56ULL << 32,
		  3ULL << 10 | 0x40000000ULL}},
		{{.op = SMMU_CMD_TLBI_S2_IPA,
		  .vmid = 1,
		  .addr = 0x3000,
		  .tg = SMMU_TLBI_TG_NONE},
		 {0x2aULL | 1ULL << 32, 0x3000}},
		{{.op = SMMU_CMD_TLBI_NH_ASID, .asid = 0x1234, .vmid = 0x56},
		 {0x11ULL | 0x56ULL << 32 | 0x1234ULL << 48, 0}},
		{{.op = SMMU_CMD_TLBI_NH_ALL, .vmid = 0x56},
		 {0x10ULL | 0x56ULL << 32, 0}},
		{{.op = SMMU_CMD_TLBI_S12_VMALL, .vmid = 0x56},
		 {0x28ULL | 0x56ULL << 32, 0}},
		{{.op = SMMU_CMD_TLBI_NSNH_ALL}, {0x30, 0}},
		{{.op = SMMU_CMD_PRI_RESP,
		  .sid = 0x42,
		  .ssid = 0x1234,
		  .ssv = true,
		  .grpid = 0x1ab,
		  .resp = SMMU_PRI_RESP_SUCCESS},
		 {0x41ULL | 1ULL << 11 | 0x1234ULL << 12 | 0x42ULL << 32,
		  0x1abULL | 2ULL << 12}},
		{{.op = SMMU_CMD_PRI_RESP,
		  .sid = 1,
		  .grpid = 2,
		  .resp = SMMU_PRI_RESP_FAILURE},
		 {0x41ULL | 1ULL << 32, 2ULL | 1ULL << 12}},
		{{.op = SMMU_CMD_PRI_RESP,
		  .sid = 1,
		  .resp = SMMU_PRI_RESP_INVALID},
		 {0x41ULL | 1ULL << 32, 0}},
		{{.op = SMMU_CMD_RESUME,
		  .sid = 0x42,
		  .stag = 0xbeef,
		  .resp = SMMU_RESUME_RETRY},
		 {0x44ULL | 1ULL << 12 | 0x42ULL << 32, 0xbeef}},
		{{.op = SMMU_CMD_RESUME,
		  .sid = 0x42,
		  .stag = 7,
		  .resp = SMMU_RESUME_ABORT},
		 {0x44ULL | 2ULL << 12 | 0x42ULL << 32, 7}},
		{{.op = SMMU_CMD_RESUME, .sid = 3, .resp = SMMU_RESUME_TERM},
		 {0x44ULL | 3ULL << 32, 0}},
		{{.op = SMMU_CMD_SYNC}, {0x46, 0}},
	};
	struct smmu_cmd c;
	uint64_t dw[2];
	size_t i;

	(void)state;
	/* two of them written out whole */
	assert_int_equal(g[3].dw[0], 0x1234005600903012ULL);
	assert_int_equal(g[3].dw[1], 0x00007fff12345701ULL);
	assert_int_equal(g[10].dw[0], 0x0000004201234841ULL);
	for (i = 0; i < sizeof(g) / sizeof(g[0]); i++) {
		smmu_cmd_encode(&g[i].cmd, dw);
		assert_int_equal(dw[0], g[i].dw[0]);
		assert_int_equal(dw[1], g[i].dw[1]);
		smmu_cmd_decode(g[i].dw, &c);
		assert_memory_equal(&c, &g[i].cmd, sizeof(c));
	}
}

static void assert_ev_equal(const struct smmu_event *a,
			    const struct smmu_event *b)
{
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->flags, b->flags);
	assert_int_equal(a->stag, b->stag);
	assert_int_equal(a->sid, b->sid);
	assert_int_equal(a->ssid, b->ssid);
	assert_int_equal(a->addr, b->addr);
	assert_int_equal(a->fetch_addr, b->fetch_addr);
}

static void assert_pr_equal(const struct smmu_page_request *a,
			    const struct smmu_page_request *b)
{
	assert_int_equal(a->sid, b->sid);
	assert_int_equal(a->ssid, b->ssid);
	assert_int_equal(a->addr, b->addr);
	assert_int_equal(a->grpid, b->grpid);
	assert_int_equal(a->flags, b->flags);
}

static void test_golden_event_pri(void **state)
{
	/* Event: Type[7:0] SSV[11] SSID[31:12] SID[63:32]; STAG dw1[15:0]
	 * Stall[31] RnW[35] (1: read) S2[39] CLASS[41:40] (CD 0, TT 1,
	 * IN 2); InputAddr dw2; IPA / FetchAddr dw3.  The model's NESTED flag
	 * is dw1[63], a bit the specification leaves RES0. */
	const uint64_t ev_w[4] = {
		0x10ULL | 1ULL << 11 | 0xabcdeULL << 12 | 0x42ULL << 32,
		0x1234ULL | 1ULL << 31 | 1ULL << 39 | 1ULL << 40 | 1ULL << 63,
		0x7fff12345678ULL,
		0x80001234ULL,
	};
	const uint64_t ev2_w[4] = {
		0x04ULL | 7ULL << 32,
		1ULL << 35 | 2ULL << 40,
	};
	const uint64_t ev3_w[4] = {
		0x09ULL | 7ULL << 32,
		1ULL << 35 | 1ULL << 39,
		0x5000,
		0x123440,
	};
	/* PRI: SID[31:0] SSID[51:32] R[60] W[61] Last[62] SSV[63];
	 * PRGIndex dw1[8:0] Address dw1[63:12] */
	const uint64_t pr_w[2] = {
		0x42ULL | 0x1234ULL << 32 | 1ULL << 61 | 1ULL << 62 |
			1ULL << 63,
		0x1abULL | 0x7fff12345000ULL,
	};
	const uint64_t pr2_w[2] = {1ULL | 1ULL << 60, 3ULL | 0x1000ULL};
	const struct smmu_event ev = {
		.type = SMMU_EVT_F_TRANSLATION,
		.flags = SMMU_EVT_FL_WRITE | SMMU_EVT_FL_S2 |
			 SMMU_EVT_FL_NESTED | SMMU_EVT_FL_CLASS_TT |
			 SMMU_EVT_FL_STALL | SMMU_EVT_FL_SSV,
		.stag = 0x1234,
		.sid = 0x42,
		.ssid = 0xabcde,
		.addr = 0x7fff12345678ULL,
		.fetch_addr = 0x80001234ULL,
	};
	const struct smmu_event ev2 = {.type = SMMU_EVT_C_BAD_STE, .sid = 7};
	const struct smmu_event ev3 = {.type = SMMU_EVT_F_CD_FETCH,
				       .flags = SMMU_EVT_FL_S2 |
						SMMU_EVT_FL_CLASS_CD,
				       .sid = 7,
				       .addr = 0x5000,
				       .fetch_addr = 0x123440};
	const struct smmu_page_request pr = {
		.sid = 0x42,
		.ssid = 0x1234,
		.addr = 0x7fff12345000ULL,
		.grpid = 0x1ab,
		.flags = SMMU_PRI_FL_WRITE | SMMU_PRI_FL_LAST |
			 SMMU_PRI_FL_PASID,
	};
	const struct smmu_page_request pr2 = {
		.sid = 1, .addr = 0x1000, .grpid = 3};
	struct smmu_event e;
	struct smmu_page_request r;
	uint64_t dw[4];

	(void)state;
	assert_int_equal(ev_w[0], 0x00000042abcde810ULL);
	assert_int_equal(ev_w[1], 0x8000018080001234ULL);
	smmu_event_encode(&ev, dw);
	assert_memory_equal(dw, ev_w, sizeof(ev_w));
	smmu_event_decode(ev_w, &e);
	assert_ev_equal(&e, &ev);
	smmu_event_encode(&ev2, dw);
	assert_memory_equal(dw, ev2_w, sizeof(ev2_w));
	smmu_event_decode(ev2_w, &e);
	assert_ev_equal(&e, &ev2);
	smmu_event_encode(&ev3, dw);
	assert_memory_equal(dw, ev3_w, sizeof(ev3_w));
	smmu_event_decode(ev3_w, &e);
	assert_ev_equal(&e, &ev3);

	assert_int_equal(pr_w[0], 0xe000123400000042ULL);
	smmu_page_request_encode(&pr, dw);
	assert_memory_equal(dw, pr_w, sizeof(pr_w));
	smmu_page_request_decode(pr_w, &r);
	assert_pr_equal(&r, &pr);
	smmu_page_request_encode(&pr2, dw);
	assert_memory_equal(dw, pr2_w, sizeof(pr2_w));
	smmu_page_request_decode(pr2_w, &r);
	assert_pr_equal(&r, &pr2);
}

/* Register offsets and fields of the table against the specification's. */
static void test_golden_registers(void **state)
{
	(void)state;
	assert_int_equal(A_IDR0, 0x0);
	assert_int_equal(A_IDR1, 0x4);
	assert_int_equal(A_IDR5, 0x14);
	assert_int_equal(A_CR0, 0x20);
	assert_int_equal(A_CR0ACK, 0x24);
	assert_int_equal(A_CR1, 0x28);
	assert_int_equal(A_CR2, 0x2c);
	assert_int_equal(A_GBPA, 0x44);
	assert_int_equal(A_IRQ_CTRL, 0x50);
	assert_int_equal(A_GERROR, 0x60);
	assert_int_equal(A_GERRORN, 0x64);
	assert_int_equal(A_STRTAB_BASE, 0x80);
	assert_int_equal(A_STRTAB_BASE_CFG, 0x88);
	assert_int_equal(A_CMDQ_BASE, 0x90);
	assert_int_equal(A_CMDQ_PROD, 0x98);
	assert_int_equal(A_CMDQ_CONS, 0x9c);
	assert_int_equal(A_EVENTQ_BASE, 0xa0);
	assert_int_equal(A_EVENTQ_PROD, 0x100a8);
	assert_int_equal(A_EVENTQ_CONS, 0x100ac);
	assert_int_equal(A_PRIQ_BASE, 0xc0);
	assert_int_equal(A_PRIQ_PROD, 0x100c8);
	assert_int_equal(A_PRIQ_CONS, 0x100cc);
	/* CR0: SMMUEN[0] PRIQEN[1] EVENTQEN[2] CMDQEN[3] */
	assert_int_equal(FIELD_PREP(CR0, SMMUEN, 1) |
				 FIELD_PREP(CR0, PRIQEN, 1) |
				 FIELD_PREP(CR0, EVENTQEN, 1) |
				 FIELD_PREP(CR0, CMDQEN, 1),
			 0xf);
	/* GBPA.ABORT[20]; GERROR.CMDQ_ERR[0], the public constant too */
	assert_int_equal(FIELD_PREP(GBPA, ABORT, 1), 1ULL << 20);
	assert_int_equal(FIELD_PREP(GERROR, CMDQ_ERR, 1), 1);
	assert_int_equal(SMMU_GERROR_CMDQ_ERR, 1);
	/* CMDQ_CONS.ERR[30:24] = CERROR_ILL (1), CERROR_ABT (2) */
	assert_int_equal(FIELD_PREP(CMDQ_CONS, ERR, SMMU_CERROR_ILL),
			 1ULL << 24);
	assert_int_equal(FIELD_PREP(CMDQ_CONS, ERR, SMMU_CERROR_ABT),
			 2ULL << 24);
	/* Q_BASE: LOG2SIZE[4:0] ADDR[51:5]; STRTAB_BASE.ADDR[51:6] */
	assert_int_equal(FIELD_PREP(Q_BASE, LOG2SIZE, 8) |
				 (0x80004000ULL & FIELD_MASK(Q_BASE, ADDR)),
			 0x80004008ULL);
	assert_int_equal(FIELD_MASK(STRTAB_BASE, ADDR), 0x000fffffffffffc0ULL);
	/* IDR1: SIDSIZE[5:0] SSIDSIZE[10:6] PRIQS[15:11] EVENTQS[20:16]
	 * CMDQS[25:21]; IDR5.OAS[2:0] */
	assert_int_equal(FIELD_PREP(IDR1, SIDSIZE, 16) |
				 FIELD_PREP(IDR1, SSIDSIZE, 20) |
				 FIELD_PREP(IDR1, PRIQS, 8) |
				 FIELD_PREP(IDR1, EVENTQS, 8) |
				 FIELD_PREP(IDR1, CMDQS, 8),
			 16 | 20 << 6 | 8 << 11 | 8 << 16 | 8 << 21);
	assert_int_equal(FIELD_MASK(IDR5, OAS), 7);
	/* EVENTQ_PROD.OVFLG[31] */
	assert_int_equal(FIELD_MASK(Q_PROD, OVFLG), 1ULL << 31);
}

/* ---- translation, IOTLB ---- */

static void test_s1_hit_miss_walk(void **state)
{
	struct env *e = env_new(NULL, 0);
	phys_addr_t pa = frame(e, 0);
	char buf[64] = "hello", out[64];
	struct smmu_counters c;
	struct smmu_xlate x;

	s1_map(e, 0x10000, pa, 3, S1_ATTR);
	assert_int_equal(endpoint_dma_write(e->dev, 0x10010, buf, sizeof(buf)),
			 0);
	assert_memory_equal((char *)phys_to_virt(e->pm, pa) + 0x10, buf, 64);
	c = counters(e);
	assert_int_equal(c.iotlb_misses, 1);
	assert_int_equal(c.walks, 1);
	assert_int_equal(c.walk_reads, 4); /* 4-level walk */
	assert_int_equal(c.iotlb_fills, 1);
	assert_int_equal(endpoint_dma_read(e->dev, 0x10010, out, sizeof(out)),
			 0);
	assert_memory_equal(out, buf, 64);
	c = counters(e);
	assert_int_equal(c.iotlb_hits, 1);
	assert_int_equal(c.walks, 1);
	assert_int_equal(c.dma_writes, 1);
	assert_int_equal(c.dma_reads, 1);
	assert_int_equal(c.dma_bytes_written, 64);
	assert_int_equal(smmu_translate(e->dev, 0x10ff8, false, &x, NULL), 0);
	assert_true(x.hit);
	assert_int_equal(x.pa, pa + 0xff8);
	assert_int_equal(x.size, SZ_4K);
	assert_int_equal(x.memtype, SMMU_MEM_NORMAL_WB);
	assert_int_equal(tlb_has(e, SMMU_TLB_S1, 7, 0, 0x10000), SZ_4K);
	env_free(e);
}

/* A11: a mapping that is not cacheable (Normal-NC) does not snoop the CPU
 * caches: the device reads what memory behind them holds, so data the CPU
 * did not write back is not seen, until cache_flush_phys(). */
static void test_A11_noncoherent_dma_reads_memory(void **state)
{
	struct env *e = env_new(NULL, 0);
	phys_addr_t pa = frame(e, 0);
	uint8_t *cpu = phys_to_virt(e->pm, pa), out[8];
	uint64_t nc = (LPAE_PTE_AF | LPAE_PTE_SH_OS | LPAE_PTE_AP_UNPRIV |
		       ((uint64_t)LPAE_MAIR_IDX_NC << LPAE_PTE_ATTRINDX_SHIFT));
	struct smmu_counters c;

	s1_map(e, 0x10000, pa, 3, nc);
	memset(cpu, 0x6b, 64);
	assert_int_equal(endpoint_dma_read(e->dev, 0x10000, out, 8), 0);
	assert_int_equal(out[0], 0); /* stale: never written back */
	assert_int_equal(cache_flush_phys(e->pm, pa, 64), 0);
	assert_int_equal(endpoint_dma_read(e->dev, 0x10000, out, 8), 0);
	assert_int_equal(out[0], 0x6b);
	/* its writes reach the CPU too */
	out[0] = 0x21;
	assert_int_equal(endpoint_dma_write(e->dev, 0x10000, out, 1), 0);
	assert_int_equal(cpu[0], 0x21);
	c = counters(e);
	assert_int_equal(c.dma_nc_bytes, 17);
	env_free(e);
}

/* A01: an entry survives the TLBI until the CMD_SYNC, then it is gone and
 * the device faults on the unmapped IOVA. */
static void test_A01_tlbi_nh_va_then_sync(void **state)
{
	struct env *e = env_new(NULL, 0);
	phys_addr_t pa = frame(e, 0);
	uint32_t v = 0x1234, r;
	struct smmu_event ev;

	s1_map(e, 0x20000, pa, 3, S1_ATTR);
	assert_int_equal(endpoint_dma_write(e->dev, 0x20000, &v, 4), 0);
	s1_unmap(e, 0x20000, 3);
	/* stale window: the PTE is gone, the IOTLB still translates */
	assert_int_equal(endpoint_dma_read(e->dev, 0x20000, &r, 4), 0);
	assert_int_equal(r, v);
	cmd(e, (struct smmu_cmd){.op = SMMU_CMD_TLBI_NH_VA,
				 .asid = 7,
				 .addr = 0x20000,
				 .leaf = true});
	assert_int_equal(tlb_has(e, SMMU_TLB_S1, 7, 0, 0x20000), SZ_4K);
	sync_(e);
	assert_int_equal(tlb_has(e, SMMU_TLB_S1, 7, 0, 0x20000), 0);
	assert_int_equal(endpoint_dma_read(e->dev, 0x20000, &r, 4), -EFAULT);
	assert_int_equal(smmu_evtq_read(e->smmu, &ev), 1);
	assert_int_equal(ev.type, SMMU_EVT_F_TRANSLATION);
	assert_int_equal(counters(e).cmd_tlbi_nh_va, 1);
	assert_true(counters(e).iotlb_invalidated >= 1);
	env_free(e);
}

struct batch_sync {
	struct env *e;
	atomic_bool done;
	int ret;
};

static void *batch_sync_thread(void *arg)
{
	struct batch_sync *b = arg;
	struct smmu_cmd c = {.op = SMMU_CMD_TLBI_NH_VA,
			     .asid = 7,
			     .addr = 0x20000,
			     .leaf = true};

	b->ret = smmu_cmdq_issue(b->e->smmu, &c);
	if (!b->ret)
		b->ret = smmu_cmdq_sync(b->e->smmu);
	atomic_store(&b->done, true);
	return NULL;
}

/*
 * A01 in a batch (endpoint_dma_batch_begin): the batch holds one in-flight
 * window, so a CMD_SYNC issued meanwhile by another thread waits for it,
 * but only until the batch's next access, which enters the window again
 * with the new epoch; that access and the ones after it see the
 * invalidation.  Batches do not nest.
 */
static void test_A01_sync_during_batch(void **state)
{
	struct env *e = env_new(NULL, 0);
	phys_addr_t pa = frame(e, 0);
	struct batch_sync b = {.e = e};
	uint32_t v = 0x55, r;
	unsigned long n = 0;
	pthread_t th;

	s1_map(e, 0x20000, pa, 3, S1_ATTR);
	s1_map(e, 0x21000, pa, 3, S1_ATTR);
	assert_true(endpoint_dma_batch_begin(e->dev));
	assert_false(endpoint_dma_batch_begin(e->dev));
	assert_int_equal(endpoint_dma_write(e->dev, 0x20000, &v, 4), 0);
	s1_unmap(e, 0x20000, 3);
	assert_int_equal(pthread_create(&th, NULL, batch_sync_thread, &b), 0);
	/* accesses of the other page, until the sync is through (without
	 * the new epoch's entry it would wait for the batch's end) */
	while (!atomic_load(&b.done) && n++ < 100000000ul)
		assert_int_equal(endpoint_dma_read(e->dev, 0x21000, &r, 4), 0);
	assert_true(atomic_load(&b.done));
	pthread_join(th, NULL);
	assert_int_equal(b.ret, 0);
	assert_int_equal(endpoint_dma_read(e->dev, 0x20000, &r, 4), -EFAULT);
	assert_int_equal(endpoint_dma_read(e->dev, 0x21000, &r, 4), 0);
	assert_int_equal(r, v);
	endpoint_dma_batch_end(e->dev);
	/* the window is left: a sync completes with no access pending */
	sync_(e);
	env_free(e);
}

/* TLBI_NH_VA with a range: (num + 1) << scale pages. */
static void test_tlbi_nh_va_range(void **state)
{
	struct env *e = env_new(NULL, 0);
	phys_addr_t pa = frame(e, 4);
	uint32_t v = 1;
	int i;

	for (i = 0; i < 16; i++) {
		s1_map(e, 0x100000 + i * SZ_4K, pa + i * SZ_4K, 3, S1_ATTR);
		assert_int_equal(
			endpoint_dma_write(e->dev, 0x100000 + i * SZ_4K, &v, 4),
			0);
	}
	/* 4 pages from page 2 */
	cmd_sync(e, (struct smmu_cmd){.op = SMMU_CMD_TLBI_NH_VA,
				      .asid = 7,
				      .addr = 0x102000,
				      .num = 3});
	for (i = 0; i < 16; i++)
		assert_int_equal(tlb_has(e, SMMU_TLB_S1, 7, 0,
					 0x100000 + i * SZ_4K) != 0,
				 i < 2 || i >= 6);
	/* 64 pages = num 0, scale 6: beyond the probe, the ids-list path */
	cmd_sync(e, (struct smmu_cmd){.op = SMMU_CMD_TLBI_NH_VA,
				      .asid = 7,
				      .addr = 0x100000,
				      .scale = 6});
	for (i = 0; i < 16; i++)
		assert_int_equal(
			tlb_has(e, SMMU_TLB_S1, 7, 0, 0x100000 + i * SZ_4K), 0);
	env_free(e);
}

/* A12: a flush-all of the context (TLBI_NH_ASID) drops every entry of the
 * ASID and no other; TLBI_NH_ALL and NSNH_ALL drop all. */
/*
 * A01, A12: invalidations that visit the ids lists (TLBI_NH_ASID, ranges
 * beyond the probe) drop exactly the matching entries and count exactly
 * those, with every ASID sharing one list (one set) and a block entry
 * that the range only partly covers.
 */
static void test_tlbi_ids_index_exact(void **state)
{
	struct smmu_config cfg = {.iotlb_entries = 8, .iotlb_ways = 8};
	struct env *e = env_new(&cfg, 0);
	phys_addr_t pa = frame(e, 9); /* 2 MiB, for the block */
	struct smmu_cd cd = {.valid = true,
			     .t0sz = 16,
			     .ttb0 = e->root,
			     .asid = 9,
			     .mair = LPAE_MAIR_DEFAULT};
	struct smmu_ste ste = {.valid = true,
			       .config = SMMU_STE_S1,
			       .s1_ctx_ptr = e->cd_table + 64 * 4};
	uint64_t before;
	struct endpoint *d2;
	uint32_t v = 0;
	int i;

	assert_int_equal(smmu_cd_write(e->smmu, e->cd_table + 64 * 4, 0, &cd),
			 0);
	assert_int_equal(smmu_ste_write(e->smmu, 2, &ste), 0);
	assert_int_equal(endpoint_create(e->smmu, 2, 0, 0, &d2), 0);
	/* ASID 7: three pages and a 2 MiB block; ASID 9: three pages */
	s1_map(e, 0x600000, pa, 2, S1_ATTR);
	for (i = 0; i < 3; i++) {
		s1_map(e, 0x40000 + i * SZ_4K, pa + i * SZ_4K, 3, S1_ATTR);
		assert_int_equal(endpoint_dma_write(e->dev, 0x40000 + i * SZ_4K,
						    &v, 4),
				 0);
		assert_int_equal(
			endpoint_dma_write(d2, 0x40000 + i * SZ_4K, &v, 4), 0);
	}
	assert_int_equal(endpoint_dma_write(e->dev, 0x600000, &v, 4), 0);
	assert_int_equal(smmu_iotlb_dump(e->smmu, NULL, 0), 7);

	/* 64 pages from 0x5f0000: covers only the block's first 0x30000 */
	before = counters(e).iotlb_invalidated;
	cmd_sync(e, (struct smmu_cmd){.op = SMMU_CMD_TLBI_NH_VA,
				      .asid = 7,
				      .addr = 0x5f0000,
				      .scale = 6});
	assert_int_equal(counters(e).iotlb_invalidated - before, 1);
	assert_int_equal(tlb_has(e, SMMU_TLB_S1, 7, 0, 0x600000), 0);
	assert_int_equal(smmu_iotlb_dump(e->smmu, NULL, 0), 6);

	/* a large range of the other ASID leaves ASID 7 alone */
	before = counters(e).iotlb_invalidated;
	cmd_sync(e, (struct smmu_cmd){.op = SMMU_CMD_TLBI_NH_VA,
				      .asid = 9,
				      .addr = 0x41000,
				      .scale = 8});
	assert_int_equal(counters(e).iotlb_invalidated - before, 2);
	assert_int_equal(tlb_has(e, SMMU_TLB_S1, 9, 0, 0x40000), SZ_4K);
	assert_int_equal(tlb_has(e, SMMU_TLB_S1, 7, 0, 0x41000), SZ_4K);

	/* by ASID: exactly ASID 7's three pages; then nothing left of it */
	before = counters(e).iotlb_invalidated;
	cmd_sync(e, (struct smmu_cmd){.op = SMMU_CMD_TLBI_NH_ASID, .asid = 7});
	assert_int_equal(counters(e).iotlb_invalidated - before, 3);
	cmd_sync(e, (struct smmu_cmd){.op = SMMU_CMD_TLBI_NH_ASID, .asid = 7});
	assert_int_equal(counters(e).iotlb_invalidated - before, 3);
	assert_int_equal(smmu_iotlb_dump(e->smmu, NULL, 0), 1);
	assert_int_equal(tlb_has(e, SMMU_TLB_S1, 9, 0, 0x40000), SZ_4K);

	/* refill after the drops: the lists stay consistent */
	for (i = 0; i < 3; i++)
		assert_int_equal(endpoint_dma_write(e->dev, 0x40000 + i * SZ_4K,
						    &v, 4),
				 0);
	before = counters(e).iotlb_invalidated;
	cmd_sync(e, (struct smmu_cmd){.op = SMMU_CMD_TLBI_NH_ASID, .asid = 7});
	assert_int_equal(counters(e).iotlb_invalidated - before, 3);
	cmd_sync(e, (struct smmu_cmd){.op = SMMU_CMD_TLBI_NSNH_ALL});
	assert_int_equal(counters(e).iotlb_invalidated - before, 4);
	assert_int_equal(smmu_iotlb_dump(e->smmu, NULL, 0), 0);
	endpoint_destroy(d2);
	env_free(e);
}

static void test_A12_tlbi_asid_and_all(void **state)
{
	struct env *e = env_new(NULL, 0);
	phys_addr_t pa = frame(e, 3);
	struct smmu_cd cd = {.valid = true,
			     .t0sz = 16,
			     .ttb0 = e->root,
			     .asid = 9,
			     .mair = LPAE_MAIR_DEFAULT};
	struct smmu_ste ste = {.valid = true,
			       .config = SMMU_STE_S1,
			       .s1_ctx_ptr = e->cd_table + 64 * 4};
	struct endpoint *d2;
	uint32_t v = 0;
	int i;

	/* stream 2 shares the tables under ASID 9 */
	assert_int_equal(smmu_cd_write(e->smmu, e->cd_table + 64 * 4, 0, &cd),
			 0);
	assert_int_equal(smmu_ste_write(e->smmu, 2, &ste), 0);
	assert_int_equal(endpoint_create(e->smmu, 2, 0, 0, &d2), 0);
	for (i = 0; i < 8; i++) {
		s1_map(e, 0x40000 + i * SZ_4K, pa + i * SZ_4K, 3, S1_ATTR);
		assert_int_equal(endpoint_dma_write(e->dev, 0x40000 + i * SZ_4K,
						    &v, 4),
				 0);
		assert_int_equal(
			endpoint_dma_write(d2, 0x40000 + i * SZ_4K, &v, 4), 0);
	}
	assert_int_equal(smmu_iotlb_dump(e->smmu, NULL, 0), 16);
	cmd_sync(e, (struct smmu_cmd){.op = SMMU_CMD_TLBI_NH_ASID, .asid = 7});
	for (i = 0; i < 8; i++) {
		assert_int_equal(
			tlb_has(e, SMMU_TLB_S1, 7, 0, 0x40000 + i * SZ_4K), 0);
		assert_int_equal(tlb_has(e, SMMU_TLB_S1, 9, 0,
					 0x40000 + i * SZ_4K),
				 SZ_4K);
	}
	cmd_sync(e, (struct smmu_cmd){.op = SMMU_CMD_TLBI_NH_ALL, .vmid = 1});
	assert_int_equal(smmu_iotlb_dump(e->smmu, NULL, 0), 8);
	cmd_sync(e, (struct smmu_cmd){.op = SMMU_CMD_TLBI_NH_ALL, .vmid = 0});
	assert_int_equal(smmu_iotlb_dump(e->smmu, NULL, 0), 0);
	assert_int_equal(endpoint_dma_write(e->dev, 0x40000, &v, 4), 0);
	cmd_sync(e, (struct smmu_cmd){.op = SMMU_CMD_TLBI_NSNH_ALL});
	assert_int_equal(smmu_iotlb_dump(e->smmu, NULL, 0), 0);
	assert_int_equal(counters(e).cmd_tlbi_nh_asid, 1);
	assert_int_equal(counters(e).cmd_tlbi_nh_all, 2);
	assert_int_equal(counters(e).cmd_tlbi_nsnh_all, 1);
	endpoint_destroy(d2);
	env_free(e);
}

/* A10: a block entry covers its whole range; a TLBI anywhere inside drops
 * the whole block. */
static void test_A10_block_entries(void **state)
{
	struct env *e = env_new(NULL, 0);
	phys_addr_t pa;
	struct smmu_xlate x;
	uint32_t v = 5;

	assert_int_equal(phys_alloc_pages(e->pm, PHYS_HUGE_ORDER,
					  PHYS_ALLOC_ZERO, PHYS_OWNER_KERNEL,
					  &pa),
			 0);
	s1_map(e, 0x40000000, pa, 2, S1_ATTR);
	assert_int_equal(endpoint_dma_write(e->dev, 0x40000000 + 0x1234, &v, 4),
			 0);
	assert_int_equal(tlb_has(e, SMMU_TLB_S1, 7, 0, 0x40000000), SZ_2M);
	assert_int_equal(smmu_translate(e->dev, 0x40000000 + 0x1ff000, true, &x,
					NULL),
			 0);
	assert_true(x.hit);
	assert_int_equal(x.pa, pa + 0x1ff000);
	assert_int_equal(x.size, SZ_2M);
	assert_int_equal(counters(e).walks, 1);
	assert_int_equal(smmu_iotlb_dump(e->smmu, NULL, 0), 1);
	/* invalidate one 4K page in the middle: the whole block goes */
	cmd_sync(e, (struct smmu_cmd){.op = SMMU_CMD_TLBI_NH_VA,
				      .asid = 7,
				      .addr = 0x40000000 + 0x100000});
	assert_int_equal(smmu_iotlb_dump(e->smmu, NULL, 0), 0);

	/* a 1 GiB block (output need not be backed for translation) */
	s1_map(e, 0x80000000ULL, PHYS_DEFAULT_BASE, 1, S1_ATTR);
	assert_int_equal(smmu_translate(e->dev,
					0x80000000ULL + pa - PHYS_DEFAULT_BASE,
					false, &x, NULL),
			 0);
	assert_int_equal(x.size, SZ_1G);
	assert_int_equal(x.pa, pa);
	assert_int_equal(tlb_has(e, SMMU_TLB_S1, 7, 0, 0x80000000ULL + 12345),
			 SZ_1G);
	env_free(e);
}

static void test_iotlb_eviction(void **state)
{
	struct smmu_config cfg = {.iotlb_entries = 8, .iotlb_ways = 2};
	struct env *e = env_new(&cfg, 0);
	phys_addr_t pa = frame(e, 6);
	struct smmu_counters c;
	uint32_t v = 0;
	int i;

	for (i = 0; i < 64; i++) {
		s1_map(e, i * SZ_4K, pa + i * SZ_4K, 3, S1_ATTR);
		assert_int_equal(endpoint_dma_write(e->dev, i * SZ_4K, &v, 4),
				 0);
	}
	c = counters(e);
	assert_int_equal(c.iotlb_fills, 64);
	assert_int_equal(c.iotlb_evictions, 64 - 8);
	assert_int_equal(smmu_iotlb_dump(e->smmu, NULL, 0), 8);
	/* the last 8 pages are cached (round robin over 4 sets x 2 ways) */
	for (i = 56; i < 64; i++)
		assert_int_equal(tlb_has(e, SMMU_TLB_S1, 7, 0, i * SZ_4K),
				 SZ_4K);
	assert_int_equal(endpoint_dma_write(e->dev, 0, &v, 4), 0);
	assert_int_equal(counters(e).iotlb_misses, 65);
	env_free(e);
}

/* CFGI_STE / CFGI_CD / CFGI_ALL: changes take effect only after them. */
static void test_cfgi_commands(void **state)
{
	struct env *e = env_new(NULL, 0);
	phys_addr_t pa = frame(e, 0);
	struct smmu_ste ste;
	struct smmu_cd cd = {.valid = true,
			     .t0sz = 16,
			     .ttb0 = e->root,
			     .asid = 8,
			     .mair = LPAE_MAIR_DEFAULT};
	uint32_t v = 0;

	s1_map(e, 0x1000, pa, 3, S1_ATTR);
	assert_int_equal(endpoint_dma_write(e->dev, 0x1000, &v, 4), 0);
	assert_int_equal(counters(e).cfg_misses, 1);

	/* CD: new ASID not seen until CFGI_CD */
	assert_int_equal(smmu_cd_write(e->smmu, e->cd_table, 0, &cd), 0);
	cmd_sync(e, (struct smmu_cmd){.op = SMMU_CMD_TLBI_NSNH_ALL});
	assert_int_equal(endpoint_dma_write(e->dev, 0x1000, &v, 4), 0);
	assert_int_equal(tlb_has(e, SMMU_TLB_S1, 7, 0, 0x1000), SZ_4K);
	cmd_sync(e, (struct smmu_cmd){.op = SMMU_CMD_CFGI_CD,
				      .sid = 1,
				      .ssid = 0,
				      .leaf = true});
	assert_int_equal(endpoint_dma_write(e->dev, 0x1000, &v, 4), 0);
	assert_int_equal(tlb_has(e, SMMU_TLB_S1, 8, 0, 0x1000), SZ_4K);
	assert_int_equal(counters(e).cfg_misses, 2);

	/* STE: abort not seen until CFGI_STE */
	assert_int_equal(smmu_ste_read(e->smmu, 1, &ste), 0);
	ste.config = SMMU_STE_ABORT;
	assert_int_equal(smmu_ste_write(e->smmu, 1, &ste), 0);
	assert_int_equal(endpoint_dma_write(e->dev, 0x1000, &v, 4), 0);
	cmd_sync(e, (struct smmu_cmd){.op = SMMU_CMD_CFGI_STE, .sid = 1});
	assert_int_equal(endpoint_dma_write(e->dev, 0x1000, &v, 4), -EFAULT);
	assert_int_equal(counters(e).aborted, 1);
	assert_int_equal(counters(e).events, 0); /* abort records nothing */

	/* CFGI_ALL: bypass */
	ste.config = SMMU_STE_BYPASS;
	assert_int_equal(smmu_ste_write(e->smmu, 1, &ste), 0);
	assert_int_equal(endpoint_dma_write(e->dev, 0x1000, &v, 4), -EFAULT);
	cmd_sync(e, (struct smmu_cmd){.op = SMMU_CMD_CFGI_ALL});
	v = 0xabcd;
	assert_int_equal(endpoint_dma_write(e->dev, pa + 8, &v, 4), 0);
	assert_int_equal(*(uint32_t *)((char *)phys_to_virt(e->pm, pa) + 8),
			 0xabcd);
	assert_int_equal(counters(e).bypassed, 1);
	assert_int_equal(counters(e).cmd_cfgi_ste, 2); /* + env_new */
	assert_int_equal(counters(e).cmd_cfgi_cd, 1);
	assert_int_equal(counters(e).cmd_cfgi_all, 1);
	env_free(e);
}

/* ---- faults ---- */

static void expect_event(struct env *e, unsigned int type, unsigned int flags)
{
	struct smmu_event ev;

	assert_int_equal(smmu_evtq_read(e->smmu, &ev), 1);
	assert_int_equal(ev.type, type);
	assert_int_equal(ev.flags & ~SMMU_EVT_FL_SSV, flags);
	e->last_ev = ev;
}

/* A08: no IOPF: an access to an unmapped IOVA is reported, never dropped. */
static void test_A08_translation_fault(void **state)
{
	struct env *e = env_new(NULL, ENDPOINT_CAP_STALL);
	char buf[8];
	struct smmu_event ev;

	assert_int_equal(endpoint_dma_read(e->dev, 0x5000, buf, 8), -EFAULT);
	expect_event(e, SMMU_EVT_F_TRANSLATION, 0);
	assert_int_equal(e->last_ev.addr, 0x5000);
	assert_int_equal(e->last_ev.sid, 1);
	assert_int_equal(endpoint_dma_write(e->dev, 0x6008, buf, 8), -EFAULT);
	expect_event(e, SMMU_EVT_F_TRANSLATION, SMMU_EVT_FL_WRITE);
	assert_int_equal(e->last_ev.addr, 0x6008);
	/* beyond the 48-bit input range */
	assert_int_equal(endpoint_dma_read(e->dev, 1ULL << 50, buf, 8),
			 -EFAULT);
	expect_event(e, SMMU_EVT_F_TRANSLATION, 0);
	assert_int_equal(smmu_evtq_read(e->smmu, &ev), 0);
	assert_int_equal(counters(e).evt_translation, 3);
	assert_int_equal(counters(e).faults, 3);
	assert_int_equal(counters(e).dma_errors, 3);
	assert_int_equal(counters(e).stalls, 0);
	env_free(e);
}

/*
 * A08: an address outside the input range never hits the IOTLB, even when
 * its low 48 bits are those of a cached entry: the range check comes
 * first, so it faults (found by make fuzz: a DMA to 0x8000000000010fff
 * reached the page cached for 0x10000 after its unmap).
 */
static void test_A08_out_of_range_never_hits(void **state)
{
	struct env *e = env_new(NULL, ENDPOINT_CAP_STALL);
	phys_addr_t pa = frame(e, 0);
	static const uint64_t high[] = {0x8000000000010000ULL,
					0xffff000000010000ULL,
					(1ULL << 48) | 0x10000};
	char buf[8] = "cached";
	struct smmu_xlate x;

	s1_map(e, 0x10000, pa, 3, S1_ATTR);
	assert_int_equal(endpoint_dma_write(e->dev, 0x10ff8, buf, 8), 0);
	assert_int_equal(tlb_has(e, SMMU_TLB_S1, 7, 0, 0x10000), SZ_4K);
	for (unsigned int i = 0; i < ARRAY_SIZE(high); i++) {
		assert_int_equal(endpoint_dma_read(e->dev, high[i] | 0xff8, buf,
						   8),
				 -EFAULT);
		expect_event(e, SMMU_EVT_F_TRANSLATION, 0);
		assert_int_equal(e->last_ev.addr, high[i] | 0xff8);
		assert_int_equal(smmu_translate(e->dev, high[i], false, &x,
						NULL),
				 -EFAULT);
	}
	/* the in-range entry still hits */
	assert_int_equal(smmu_translate(e->dev, 0x10000, false, &x, NULL), 0);
	assert_true(x.hit);
	assert_int_equal(counters(e).evt_translation, ARRAY_SIZE(high));
	env_free(e);
}

/* A copy engine's transfer (endpoint_dma_copy): pieces split at the pages
 * of both sides, moved frame to frame; a fault on either side stops at its
 * piece and names the side; what is not cacheable goes through the read
 * and write paths (the non-coherent view). */
static void test_dma_copy(void **state)
{
	struct env *e = env_new(NULL, 0);
	phys_addr_t src[3], dst[3], ro = frame(e, 0), nc = frame(e, 0);
	uint64_t nc_attr =
		(LPAE_PTE_AF | LPAE_PTE_SH_OS | LPAE_PTE_AP_UNPRIV |
		 ((uint64_t)LPAE_MAIR_IDX_NC << LPAE_PTE_ATTRINDX_SHIFT));
	uint8_t want[3 * 4096], got[3 * 4096];
	struct smmu_counters c0, c;
	int side;

	for (int i = 0; i < 3; i++) {
		src[i] = frame(e, 0);
		dst[i] = frame(e, 0);
		s1_map(e, 0x10000 + i * SZ_4K, src[i], 3, S1_ATTR);
		s1_map(e, 0x20000 + i * SZ_4K, dst[i], 3, S1_ATTR);
		for (int j = 0; j < 4096; j++)
			((uint8_t *)phys_to_virt(e->pm, src[i]))[j] =
				(uint8_t)(i * 31 + j * 7 + 1);
	}
	s1_map(e, 0x30000, ro, 3, S1_RO);
	s1_map(e, 0x50000, nc, 3, nc_attr);
	for (int i = 0; i < 3; i++)
		memcpy(want + i * 4096, phys_to_virt(e->pm, src[i]), 4096);

	/* 8000 bytes, source at +0x100, destination at +0xf00: five pieces */
	c0 = counters(e);
	assert_int_equal(
		endpoint_dma_copy(e->dev, 0x20f00, 0x10100, 8000, &side), 0);
	for (int i = 0; i < 3; i++)
		memcpy(got + i * 4096, phys_to_virt(e->pm, dst[i]), 4096);
	assert_memory_equal(got + 0xf00, want + 0x100, 8000);
	assert_int_equal(got[0xeff], 0);
	assert_int_equal(got[0xf00 + 8000], 0);
	c = counters(e);
	assert_int_equal(c.dma_reads - c0.dma_reads, 1);
	assert_int_equal(c.dma_writes - c0.dma_writes, 1);
	assert_int_equal(c.dma_bytes_read - c0.dma_bytes_read, 8000);
	assert_int_equal(c.dma_bytes_written - c0.dma_bytes_written, 8000);
	assert_int_equal(c.dma_errors, 0);

	/* the source runs into an unmapped page: the piece before it is
	 * copied, nothing after; the event is the read's */
	memset(phys_to_virt(e->pm, dst[0]), 0, 4096);
	side = 0;
	assert_int_equal(endpoint_dma_copy(e->dev, 0x20000, 0x12f00, 0x200,
					   &side),
			 -EFAULT);
	assert_int_equal(side, ENDPOINT_COPY_SRC);
	expect_event(e, SMMU_EVT_F_TRANSLATION, 0);
	assert_int_equal(e->last_ev.addr, 0x13000);
	assert_memory_equal(phys_to_virt(e->pm, dst[0]), want + 0x2f00, 0x100);
	assert_int_equal(((uint8_t *)phys_to_virt(e->pm, dst[0]))[0x100], 0);

	/* a read-only destination: a write permission fault, nothing moved */
	side = 0;
	assert_int_equal(endpoint_dma_copy(e->dev, 0x30000, 0x10000, 64, &side),
			 -EFAULT);
	assert_int_equal(side, ENDPOINT_COPY_DST);
	expect_event(e, SMMU_EVT_F_PERMISSION, SMMU_EVT_FL_WRITE);
	assert_int_equal(((uint8_t *)phys_to_virt(e->pm, ro))[0], 0);

	/* an IOVA range that wraps is refused before any access */
	side = 0;
	assert_int_equal(endpoint_dma_copy(e->dev, ~0ULL - 8, 0x10000, 64,
					   &side),
			 -EINVAL);
	assert_int_equal(side, ENDPOINT_COPY_DST);
	assert_int_equal(counters(e).dma_errors, 2);

	/* a Normal-NC source is read from memory behind the CPU caches (A11):
	 * data the CPU did not write back is not copied */
	memset(phys_to_virt(e->pm, nc), 0x6b, 64);
	assert_int_equal(endpoint_dma_copy(e->dev, 0x21000, 0x50000, 64, NULL),
			 0);
	assert_int_equal(((uint8_t *)phys_to_virt(e->pm, dst[1]))[0], 0);
	assert_int_equal(cache_flush_phys(e->pm, nc, 64), 0);
	assert_int_equal(endpoint_dma_copy(e->dev, 0x21000, 0x50000, 64, NULL),
			 0);
	assert_int_equal(((uint8_t *)phys_to_virt(e->pm, dst[1]))[0], 0x6b);
	assert_int_equal(counters(e).dma_nc_bytes, 128);
	env_free(e);
}

static void test_permission_fault(void **state)
{
	struct env *e = env_new(NULL, 0);
	phys_addr_t pa = frame(e, 0);
	uint32_t v = 1;

	s1_map(e, 0x7000, pa, 3, S1_RO);
	assert_int_equal(endpoint_dma_read(e->dev, 0x7000, &v, 4), 0);
	assert_int_equal(endpoint_dma_write(e->dev, 0x7000, &v, 4), -EFAULT);
	expect_event(e, SMMU_EVT_F_PERMISSION, SMMU_EVT_FL_WRITE);
	assert_int_equal(counters(e).evt_permission, 1);
	/* upgrade the PTE: the cached read-only entry does not stop a write */
	s1_map(e, 0x7000, pa, 3, S1_ATTR);
	assert_int_equal(endpoint_dma_write(e->dev, 0x7000, &v, 4), 0);
	env_free(e);
}

static void test_addr_size_and_access_faults(void **state)
{
	struct smmu_config cfg = {.oas = 40, .check_af = true};
	struct env *e = env_new(&cfg, 0);
	uint32_t v;

	s1_map(e, 0x8000, 1ULL << 41, 3, S1_ATTR);
	assert_int_equal(endpoint_dma_read(e->dev, 0x8000, &v, 4), -EFAULT);
	expect_event(e, SMMU_EVT_F_ADDR_SIZE, 0);
	s1_map(e, 0x9000, frame(e, 0), 3, S1_ATTR & ~LPAE_PTE_AF);
	assert_int_equal(endpoint_dma_read(e->dev, 0x9000, &v, 4), -EFAULT);
	expect_event(e, SMMU_EVT_F_ACCESS, 0);
	/* a table pointer outside memory: walk external abort */
	s1_map(e, 0xa000, frame(e, 0), 3, S1_ATTR);
	{
		uint64_t *pte = phys_to_virt(e->pm, e->root);

		*pte = 0x10000000ULL | LPAE_PTE_TYPE_TABLE;
	}
	assert_int_equal(endpoint_dma_read(e->dev, 0xa000, &v, 4), -EFAULT);
	expect_event(e, SMMU_EVT_F_WALK_EABT, 0);
	assert_int_equal(counters(e).evt_addr_size, 1);
	assert_int_equal(counters(e).evt_access, 1);
	env_free(e);
}

static void test_bad_ste_cd(void **state)
{
	struct env *e = env_new(NULL, 0);
	struct smmu_ste ste = {.valid = false};
	struct smmu_cd cd = {.valid = false};
	struct endpoint *d;
	uint32_t v;

	/* invalid STE */
	assert_int_equal(smmu_ste_write(e->smmu, 3, &ste), 0);
	assert_int_equal(endpoint_create(e->smmu, 3, 0, 0, &d), 0);
	assert_int_equal(endpoint_dma_read(d, 0, &v, 4), -EFAULT);
	expect_event(e, SMMU_EVT_C_BAD_STE, 0);
	/* reserved config */
	ste = (struct smmu_ste){.valid = true, .config = 2};
	assert_int_equal(smmu_ste_write(e->smmu, 3, &ste), 0);
	assert_int_equal(endpoint_dma_read(d, 0, &v, 4), -EFAULT);
	expect_event(e, SMMU_EVT_C_BAD_STE, 0);
	/* bad stage 2 size */
	ste = (struct smmu_ste){.valid = true,
				.config = SMMU_STE_S2,
				.s2_t0sz = 8,
				.s2_ttb = e->root};
	assert_int_equal(smmu_ste_write(e->smmu, 3, &ste), 0);
	assert_int_equal(endpoint_dma_read(d, 0, &v, 4), -EFAULT);
	expect_event(e, SMMU_EVT_C_BAD_STE, 0);
	/* invalid CD */
	ste = (struct smmu_ste){.valid = true,
				.config = SMMU_STE_S1,
				.s1_ctx_ptr = e->cd_table + 64 * 8};
	assert_int_equal(smmu_cd_write(e->smmu, e->cd_table + 64 * 8, 0, &cd),
			 0);
	assert_int_equal(smmu_ste_write(e->smmu, 3, &ste), 0);
	assert_int_equal(endpoint_dma_read(d, 0, &v, 4), -EFAULT);
	expect_event(e, SMMU_EVT_C_BAD_CD, 0);
	endpoint_destroy(d);
	/* a PASID beyond S1CDMax (2^2 CDs on stream 1) */
	assert_int_equal(endpoint_create(e->smmu, 1, 4, ENDPOINT_CAP_PASID, &d),
			 0);
	assert_int_equal(endpoint_dma_read(d, 0, &v, 4), -EFAULT);
	expect_event(e, SMMU_EVT_C_BAD_SUBSTREAMID, 0);
	assert_int_equal(e->last_ev.ssid, 4);
	endpoint_destroy(d);
	assert_int_equal(counters(e).evt_bad_ste, 3);
	assert_int_equal(counters(e).evt_bad_cd, 1);
	/* faulty configurations are never cached */
	assert_int_equal(counters(e).cfg_faults, 5);
	env_free(e);
}

static void test_pasid_cd(void **state)
{
	struct env *e = env_new(NULL, 0);
	phys_addr_t root2 = frame(e, 0), pa = frame(e, 0);
	struct smmu_cd cd = {.valid = true,
			     .t0sz = 16,
			     .ttb0 = root2,
			     .asid = 33,
			     .mair = LPAE_MAIR_DEFAULT};
	struct endpoint *d;
	uint32_t v = 77;

	tt_map(e, root2, 48, 0, 0x3000, pa, 3, S1_ATTR);
	assert_int_equal(smmu_cd_write(e->smmu, e->cd_table, 3, &cd), 0);
	assert_int_equal(endpoint_create(e->smmu, 1, 3, ENDPOINT_CAP_PASID, &d),
			 0);
	assert_int_equal(endpoint_dma_write(d, 0x3000, &v, 4), 0);
	assert_int_equal(*(uint32_t *)phys_to_virt(e->pm, pa), 77);
	assert_int_equal(tlb_has(e, SMMU_TLB_S1, 33, 0, 0x3000), SZ_4K);
	assert_int_equal(endpoint_dma_write(e->dev, 0x3000, &v, 4), -EFAULT);
	endpoint_destroy(d);
	env_free(e);
}

/* ---- stage 2 and nested ---- */

static void s2_stream(struct env *e, uint32_t sid, uint16_t vmid,
		      unsigned int ias, int start, phys_addr_t ttb,
		      enum smmu_ste_config config)
{
	struct smmu_ste ste = {
		.valid = true,
		.config = config,
		.s1_ctx_ptr = e->cd_table,
		.s1_cd_max = 2,
		.s2_vmid = vmid,
		.s2_t0sz = 64 - ias,
		.s2_sl0 = SMMU_S2_SL0(start),
		.s2_ttb = ttb,
	};

	assert_int_equal(smmu_ste_write(e->smmu, sid, &ste), 0);
	cmd_sync(e, (struct smmu_cmd){.op = SMMU_CMD_CFGI_STE, .sid = sid});
}

static void test_s2_concatenated(void **state)
{
	struct env *e = env_new(NULL, 0);
	phys_addr_t s2root = frame(e, 1), pa = frame(e, 0);
	unsigned int nr;
	int start = lpae_start_level(40, true, &nr);
	struct endpoint *d;
	uint32_t v = 3;

	assert_int_equal(start, 1);
	assert_int_equal(nr, 1024);
	/* IPA above 512 GiB lands in the second concatenated table */
	tt_map(e, s2root, 40, start, 0x8000000000ULL + 0x5000, pa, 3, S2_ATTR);
	tt_map(e, s2root, 40, start, 0x6000, pa, 3,
	       S2_ATTR & ~LPAE_PTE_S2AP_WRITE);
	s2_stream(e, 4, 5, 40, start, s2root, SMMU_STE_S2);
	assert_int_equal(endpoint_create(e->smmu, 4, 0, 0, &d), 0);
	assert_int_equal(endpoint_dma_write(d, 0x8000005000ULL, &v, 4), 0);
	assert_int_equal(*(uint32_t *)phys_to_virt(e->pm, pa), 3);
	assert_int_equal(tlb_has(e, SMMU_TLB_S2, 0, 5, 0x8000005000ULL), SZ_4K);
	assert_int_equal(endpoint_dma_write(d, 0x6000, &v, 4), -EFAULT);
	expect_event(e, SMMU_EVT_F_PERMISSION,
		     SMMU_EVT_FL_WRITE | SMMU_EVT_FL_S2);
	assert_int_equal(e->last_ev.fetch_addr, 0x6000);
	/* TLBI_S2_IPA */
	cmd_sync(e, (struct smmu_cmd){.op = SMMU_CMD_TLBI_S2_IPA,
				      .vmid = 5,
				      .addr = 0x8000005000ULL});
	assert_int_equal(tlb_has(e, SMMU_TLB_S2, 0, 5, 0x8000005000ULL), 0);
	/* TLBI_S12_VMALL */
	assert_int_equal(endpoint_dma_write(d, 0x8000005000ULL, &v, 4), 0);
	cmd_sync(e,
		 (struct smmu_cmd){.op = SMMU_CMD_TLBI_S12_VMALL, .vmid = 6});
	assert_int_equal(smmu_iotlb_dump(e->smmu, NULL, 0), 2);
	cmd_sync(e,
		 (struct smmu_cmd){.op = SMMU_CMD_TLBI_S12_VMALL, .vmid = 5});
	assert_int_equal(smmu_iotlb_dump(e->smmu, NULL, 0), 0);
	endpoint_destroy(d);
	env_free(e);
}

static void test_nested(void **state)
{
	struct env *e = env_new(NULL, 0);
	phys_addr_t s2root = frame(e, 0), pa = frame(e, 0);
	struct smmu_cd cd = {.valid = true,
			     .t0sz = 16,
			     .ttb0 = e->root,
			     .asid = 7,
			     .mair = LPAE_MAIR_DEFAULT};
	struct smmu_counters c;
	struct smmu_xlate x;
	struct endpoint *d;
	uint32_t v = 9;

	/* stage 2: IPA == PA for the 1 GiB of memory, plus nothing else */
	tt_map(e, s2root, 39, 1, PHYS_DEFAULT_BASE, PHYS_DEFAULT_BASE, 1,
	       S2_ATTR);
	s1_map(e, 0x11000, pa, 3, S1_ATTR);
	s1_map(e, 0x12000, 0x40001000ULL, 3, S1_ATTR); /* IPA not in S2 */
	assert_int_equal(smmu_cd_write(e->smmu, e->cd_table, 0, &cd), 0);
	s2_stream(e, 5, 3, 39, 1, s2root, SMMU_STE_NESTED);
	assert_int_equal(endpoint_create(e->smmu, 5, 0, 0, &d), 0);
	smmu_counters_reset(e->smmu);
	assert_int_equal(endpoint_dma_write(d, 0x11000, &v, 4), 0);
	assert_int_equal(*(uint32_t *)phys_to_virt(e->pm, pa), 9);
	c = counters(e);
	/* CD fetch, 4 table fetches and the output: all through stage 2,
	 * one stage-2 walk (the 1 GiB block is cached after the first) */
	assert_int_equal(c.walks, 3); /* CD fetch walk + S2 walk + S1 walk */
	assert_int_equal(tlb_has(e, SMMU_TLB_NESTED, 7, 3, 0x11000), SZ_4K);
	assert_int_equal(tlb_has(e, SMMU_TLB_S2, 0, 3, pa), SZ_1G);
	assert_int_equal(smmu_translate(d, 0x11000, false, &x, NULL), 0);
	assert_true(x.hit);
	/* stage 2 fault on the output IPA */
	assert_int_equal(endpoint_dma_read(d, 0x12000, &v, 4), -EFAULT);
	expect_event(e, SMMU_EVT_F_TRANSLATION,
		     SMMU_EVT_FL_S2 | SMMU_EVT_FL_NESTED);
	assert_int_equal(e->last_ev.fetch_addr, 0x40001000ULL);
	assert_int_equal(e->last_ev.addr, 0x12000);
	/* stage 2 fault on a stage 1 table fetch */
	cd.ttb0 = 0x40000000ULL;
	assert_int_equal(smmu_cd_write(e->smmu, e->cd_table, 0, &cd), 0);
	cmd_sync(e, (struct smmu_cmd){.op = SMMU_CMD_CFGI_CD, .sid = 5});
	assert_int_equal(endpoint_dma_read(d, 0x13000, &v, 4), -EFAULT);
	expect_event(e, SMMU_EVT_F_TRANSLATION,
		     SMMU_EVT_FL_S2 | SMMU_EVT_FL_NESTED |
			     SMMU_EVT_FL_CLASS_TT);
	/* TLBI_S2_IPA drops the VMID's nested entries too */
	cmd_sync(e, (struct smmu_cmd){
			    .op = SMMU_CMD_TLBI_S2_IPA, .vmid = 3, .addr = pa});
	assert_int_equal(tlb_has(e, SMMU_TLB_NESTED, 7, 3, 0x11000), 0);
	endpoint_destroy(d);
	env_free(e);
}

/* ---- HTTU: hardware access flag and dirty state updates ---- */

/* A writable-clean stage-1 leaf: DBM set, AP[2] read-only (bits 51, 7). */
#define S1_WCLEAN (S1_ATTR | (1ULL << 51) | (1ULL << 7))

/* The stream's CD with CD.HA [43] and CD.HD [42] as asked. */
static void httu_stream(struct env *e, bool ha, bool hd)
{
	struct smmu_cd cd = {
		.valid = true,
		.t0sz = 16,
		.ttb0 = e->root,
		.asid = 7,
		.mair = LPAE_MAIR_DEFAULT,
		.ha = ha,
		.hd = hd,
	};

	assert_int_equal(smmu_cd_write(e->smmu, e->cd_table, 0, &cd), 0);
	cmd_sync(e, (struct smmu_cmd){.op = SMMU_CMD_CFGI_CD, .sid = 1});
}

/* The level-3 descriptor of va (test tables, 48-bit VA). */
static uint64_t s1_leaf(struct env *e, uint64_t va)
{
	phys_addr_t table = e->root;
	int l;

	for (l = 0; l < 3; l++)
		table = *(uint64_t *)phys_to_virt(
				e->pm, table + lpae_pte_index(va, l) * 8) &
			LPAE_PTE_ADDR_MASK;
	return *(uint64_t *)phys_to_virt(e->pm,
					 table + lpae_pte_index(va, 3) * 8);
}

/* IDR0.HTTU [7:6] = 2 (access + dirty), 0 with no_httu; CD.HD [42], CD.HA
 * [43] encode and decode. */
static void test_httu_idr0_and_cd_bits(void **state)
{
	struct smmu_config cfg = {.no_httu = true};
	struct smmu_cd cd = {.valid = true, .ha = true, .hd = true}, back;
	struct env *e = env_new(NULL, 0), *off = env_new(&cfg, 0);
	uint64_t dw[8];

	(void)state;
	assert_int_equal((smmu_read_idr0(e->smmu) >> 6) & 3, 2);
	assert_int_equal((smmu_read_idr0(off->smmu) >> 6) & 3, 0);
	/* S1P [1], S2P [0], TTF [3:2] = AArch64 */
	assert_int_equal(smmu_read_idr0(e->smmu) & 0xf, 0x3 | 2 << 2);
	smmu_cd_encode(&cd, dw);
	assert_int_equal(dw[0], 1ULL << 31 | 1ULL << 42 | 1ULL << 43);
	smmu_cd_decode(dw, &back);
	assert_true(back.ha && back.hd);
	env_free(e);
	env_free(off);
}

/* The issue's HTTU: with CD.HD, a DMA write through a writable-clean leaf
 * dirties exactly the written pages' descriptors (AP[2] cleared in the
 * table in memory); a read dirties nothing. */
static void test_httu_write_dirties_descriptor(void **state)
{
	struct env *e = env_new(NULL, 0);
	phys_addr_t pa = frame(e, 2);
	uint32_t v = 0x5a5a;
	unsigned int i;

	(void)state;
	httu_stream(e, true, true);
	for (i = 0; i < 4; i++)
		s1_map(e, 0x20000 + i * SZ_4K, pa + i * SZ_4K, 3, S1_WCLEAN);
	assert_int_equal(endpoint_dma_write(e->dev, 0x21010, &v, 4), 0);
	assert_int_equal(endpoint_dma_write(e->dev, 0x23ff0, &v, 4), 0);
	assert_int_equal(endpoint_dma_read(e->dev, 0x20000, &v, 4), 0);
	assert_int_equal(*(uint32_t *)phys_to_virt(e->pm, pa + 0x1010), 0x5a5a);
	for (i = 0; i < 4; i++) {
		uint64_t pte = s1_leaf(e, 0x20000 + i * SZ_4K);
		bool written = i == 1 || i == 3;

		uint64_t want = S1_WCLEAN | (pa + i * SZ_4K) |
				LPAE_PTE_TYPE_PAGE;

		if (written)
			want &= ~(1ULL << 7);
		assert_int_equal(pte, want);
	}
	assert_int_equal(counters(e).httu_dirty_set, 2);
	assert_int_equal(counters(e).evt_permission, 0);
	/* a second write through the dirty (now cached writable) entry:
	 * nothing more to update */
	assert_int_equal(endpoint_dma_write(e->dev, 0x21000, &v, 4), 0);
	assert_int_equal(counters(e).httu_dirty_set, 2);
	env_free(e);
}

/* A 2 MiB block leaf: one write anywhere in it dirties the block's one
 * descriptor (the page table then reports all of its pages). */
static void test_httu_block_dirtied(void **state)
{
	struct env *e = env_new(NULL, 0);
	phys_addr_t pa = frame(e, 9), table = e->root;
	uint64_t *pte;
	uint32_t v = 7;
	int l;

	(void)state;
	assert_true(IS_ALIGNED(pa, SZ_2M));
	httu_stream(e, true, true);
	s1_map(e, 0x40000000ULL, pa, 2, S1_WCLEAN);
	assert_int_equal(
		endpoint_dma_write(e->dev, 0x40000000ULL + 0x123458, &v, 4), 0);
	for (l = 0; l < 2; l++)
		table = *(uint64_t *)phys_to_virt(
				e->pm,
				table + lpae_pte_index(0x40000000ULL, l) * 8) &
			LPAE_PTE_ADDR_MASK;
	pte = phys_to_virt(e->pm, table + lpae_pte_index(0x40000000ULL, 2) * 8);
	assert_int_equal(*pte,
			 (S1_WCLEAN & ~(1ULL << 7)) | pa | LPAE_PTE_TYPE_BLOCK);
	assert_int_equal(tlb_has(e, SMMU_TLB_S1, 7, 0, 0x40000000ULL), SZ_2M);
	assert_int_equal(counters(e).httu_dirty_set, 1);
	env_free(e);
}

/* The issue's IOTLB rule: an entry cached while the leaf was clean (by a
 * read) never lets a write through as is: the write walks again and
 * dirties the descriptor; the entry is cached writable after it. */
static void test_httu_write_through_cached_clean_entry(void **state)
{
	struct env *e = env_new(NULL, 0);
	phys_addr_t pa = frame(e, 0);
	struct smmu_xlate x;
	uint32_t v = 3;

	(void)state;
	httu_stream(e, true, true);
	s1_map(e, 0x30000, pa, 3, S1_WCLEAN);
	assert_int_equal(endpoint_dma_read(e->dev, 0x30000, &v, 4), 0);
	assert_int_equal(tlb_has(e, SMMU_TLB_S1, 7, 0, 0x30000), SZ_4K);
	assert_int_equal(smmu_translate(e->dev, 0x30000, false, &x, NULL), 0);
	assert_true(x.hit);
	assert_int_equal(x.perm, SMMU_PERM_READ); /* cached clean */
	assert_true(s1_leaf(e, 0x30000) & (1ULL << 7));
	assert_int_equal(endpoint_dma_write(e->dev, 0x30000, &v, 4), 0);
	assert_false(s1_leaf(e, 0x30000) & (1ULL << 7));
	assert_int_equal(counters(e).httu_dirty_set, 1);
	assert_int_equal(smmu_translate(e->dev, 0x30000, true, &x, NULL), 0);
	assert_true(x.hit);
	assert_int_equal(x.perm, SMMU_PERM_READ | SMMU_PERM_WRITE);
	/* software cleans it again (sets AP[2]) and invalidates: the next
	 * write dirties again */
	s1_map(e, 0x30000, pa, 3, S1_WCLEAN);
	cmd_sync(e, (struct smmu_cmd){.op = SMMU_CMD_TLBI_NH_VA,
				      .asid = 7,
				      .addr = 0x30000});
	assert_int_equal(endpoint_dma_write(e->dev, 0x30000, &v, 4), 0);
	assert_false(s1_leaf(e, 0x30000) & (1ULL << 7));
	assert_int_equal(counters(e).httu_dirty_set, 2);
	env_free(e);
}

/* Without HTTU (IDR0.HTTU 0: CD.HD ignored), or with CD.HD clear, nothing
 * is updated: the write faults as a permission fault and the descriptor
 * stays clean. */
static void test_httu_off_write_faults(void **state)
{
	struct smmu_config cfg = {.no_httu = true};
	struct env *off = env_new(&cfg, 0), *nohd = env_new(NULL, 0);
	struct env *envs[2] = {off, nohd};
	uint32_t v = 1;
	unsigned int i;

	(void)state;
	httu_stream(off, true, true);
	httu_stream(nohd, true, false);
	for (i = 0; i < 2; i++) {
		struct env *e = envs[i];
		phys_addr_t pa = frame(e, 0);

		s1_map(e, 0x40000, pa, 3, S1_WCLEAN);
		assert_int_equal(endpoint_dma_write(e->dev, 0x40000, &v, 4),
				 -EFAULT);
		expect_event(e, SMMU_EVT_F_PERMISSION, SMMU_EVT_FL_WRITE);
		assert_int_equal(s1_leaf(e, 0x40000),
				 S1_WCLEAN | pa | LPAE_PTE_TYPE_PAGE);
		assert_int_equal(counters(e).httu_dirty_set, 0);
		assert_int_equal(endpoint_dma_read(e->dev, 0x40000, &v, 4), 0);
	}
	env_free(off);
	env_free(nohd);
}

/* CD.HA: an access through a leaf with AF = 0 sets AF instead of the
 * access flag fault (check_af); without HTTU the fault stays. */
static void test_httu_access_flag(void **state)
{
	struct smmu_config on = {.check_af = true};
	struct smmu_config off = {.check_af = true, .no_httu = true};
	struct env *e = env_new(&on, 0), *o = env_new(&off, 0);
	phys_addr_t pa = frame(e, 0), pa2 = frame(o, 0);
	uint32_t v;

	(void)state;
	httu_stream(e, true, false);
	httu_stream(o, true, false);
	s1_map(e, 0x50000, pa, 3, S1_ATTR & ~LPAE_PTE_AF);
	assert_int_equal(endpoint_dma_read(e->dev, 0x50000, &v, 4), 0);
	assert_true(s1_leaf(e, 0x50000) & LPAE_PTE_AF);
	assert_int_equal(counters(e).httu_af_set, 1);
	assert_int_equal(counters(e).evt_access, 0);
	s1_map(o, 0x50000, pa2, 3, S1_ATTR & ~LPAE_PTE_AF);
	assert_int_equal(endpoint_dma_read(o->dev, 0x50000, &v, 4), -EFAULT);
	expect_event(o, SMMU_EVT_F_ACCESS, 0);
	assert_false(s1_leaf(o, 0x50000) & LPAE_PTE_AF);
	env_free(e);
	env_free(o);
}

/* Nested: the update writes the stage-1 descriptor through its IPA, so
 * stage 2 must allow the write: read-only at stage 2 is an S2 permission
 * fault on the table walk (CLASS_TT) and the descriptor stays clean. */
static void test_httu_nested_needs_s2_write(void **state)
{
	struct env *e = env_new(NULL, 0);
	phys_addr_t s2rw = frame(e, 0), s2ro = frame(e, 0), pa = frame(e, 0);
	struct smmu_cd cd = {.valid = true,
			     .t0sz = 16,
			     .ttb0 = e->root,
			     .asid = 7,
			     .mair = LPAE_MAIR_DEFAULT,
			     .ha = true,
			     .hd = true};
	struct endpoint *d;
	uint32_t v = 4;

	(void)state;
	tt_map(e, s2rw, 39, 1, PHYS_DEFAULT_BASE, PHYS_DEFAULT_BASE, 1,
	       S2_ATTR);
	tt_map(e, s2ro, 39, 1, PHYS_DEFAULT_BASE, PHYS_DEFAULT_BASE, 1,
	       S2_ATTR & ~LPAE_PTE_S2AP_WRITE);
	s1_map(e, 0x61000, pa, 3, S1_WCLEAN);
	assert_int_equal(smmu_cd_write(e->smmu, e->cd_table, 0, &cd), 0);
	s2_stream(e, 5, 3, 39, 1, s2ro, SMMU_STE_NESTED);
	assert_int_equal(endpoint_create(e->smmu, 5, 0, 0, &d), 0);
	assert_int_equal(endpoint_dma_write(d, 0x61000, &v, 4), -EFAULT);
	expect_event(e, SMMU_EVT_F_PERMISSION,
		     SMMU_EVT_FL_WRITE | SMMU_EVT_FL_S2 | SMMU_EVT_FL_NESTED |
			     SMMU_EVT_FL_CLASS_TT);
	assert_true(s1_leaf(e, 0x61000) & (1ULL << 7));
	endpoint_destroy(d);
	s2_stream(e, 6, 4, 39, 1, s2rw, SMMU_STE_NESTED);
	assert_int_equal(endpoint_create(e->smmu, 6, 0, 0, &d), 0);
	assert_int_equal(endpoint_dma_write(d, 0x61000, &v, 4), 0);
	assert_false(s1_leaf(e, 0x61000) & (1ULL << 7));
	endpoint_destroy(d);
	env_free(e);
}

/* ---- stall and PRI ---- */

static void evtq_handler(void *priv)
{
	struct env *e = priv;
	struct smmu_event ev;

	while (smmu_evtq_read(e->smmu, &ev)) {
		e->last_ev = ev;
		if (!(ev.flags & SMMU_EVT_FL_STALL))
			continue;
		e->handled++;
		if (e->mode == 0)
			s1_map(e, ev.addr & ~0xfffULL, e->fault_pa, 3, S1_ATTR);
		cmd(e, (struct smmu_cmd){.op = SMMU_CMD_RESUME,
					 .sid = ev.sid,
					 .stag = ev.stag,
					 .resp = e->mode ? SMMU_RESUME_ABORT
							 : SMMU_RESUME_RETRY});
		sync_(e);
		atomic_fetch_add(&e->answered, 1);
	}
}

static void priq_handler(void *priv)
{
	struct env *e = priv;
	struct smmu_page_request r;

	while (smmu_priq_read(e->smmu, &r)) {
		e->last_pr = r;
		e->handled++;
		if (e->mode == 0)
			s1_map(e, r.addr, e->fault_pa, 3, S1_ATTR);
		cmd(e,
		    (struct smmu_cmd){.op = SMMU_CMD_PRI_RESP,
				      .sid = r.sid,
				      .ssid = r.ssid,
				      .grpid = r.grpid,
				      .resp = e->mode ? SMMU_PRI_RESP_INVALID
						      : SMMU_PRI_RESP_SUCCESS});
		sync_(e);
	}
}

static const struct smmu_irq_ops handler_ops = {
	.evtq = evtq_handler,
	.priq = priq_handler,
};

static struct env *stall_env(bool threaded, unsigned int caps)
{
	struct smmu_config cfg = {.threaded = threaded};
	struct env *e = env_new(&cfg, caps);

	s1_stream(e, 1, 7, true);
	e->fault_pa = frame(e, 0);
	smmu_set_irq_ops(e->smmu, &handler_ops, e);
	return e;
}

/* A05 + A06: a stalled access is reported, the handler maps the page and
 * answers RESUME(retry), and the access completes. */
static void stall_success(bool threaded)
{
	struct env *e = stall_env(threaded, ENDPOINT_CAP_STALL);
	uint32_t v = 0x5a5a;
	struct smmu_counters c;

	assert_int_equal(endpoint_dma_write(e->dev, 0x30000, &v, 4), 0);
	assert_int_equal(*(uint32_t *)phys_to_virt(e->pm, e->fault_pa), v);
	assert_int_equal(e->handled, 1);
	assert_int_equal(e->last_ev.type, SMMU_EVT_F_TRANSLATION);
	assert_int_equal(e->last_ev.addr, 0x30000);
	assert_true(e->last_ev.flags & SMMU_EVT_FL_STALL);
	assert_true(e->last_ev.flags & SMMU_EVT_FL_WRITE);
	c = counters(e);
	assert_int_equal(c.stalls, 1);
	assert_int_equal(c.retries, 1);
	assert_int_equal(c.resp_success, 1);
	assert_int_equal(c.cmd_resume, 1);
	env_free(e);
}

static void test_A05_A06_stall_retry(void **state)
{
	stall_success(false);
	stall_success(true);
}

/* A07: RESUME(abort) fails the access. */
static void test_A07_stall_abort(void **state)
{
	struct env *e = stall_env(false, ENDPOINT_CAP_STALL);
	uint32_t v = 1;

	e->mode = 1;
	assert_int_equal(endpoint_dma_read(e->dev, 0x30000, &v, 4), -EFAULT);
	assert_int_equal(e->handled, 1);
	assert_int_equal(counters(e).resp_fail, 1);
	env_free(e);
}

/* A08 with a stall-capable device on a stream without stall: terminated. */
static void test_A08_stall_disabled(void **state)
{
	struct env *e = stall_env(false, ENDPOINT_CAP_STALL);
	uint32_t v;

	s1_stream(e, 1, 7, false);
	assert_int_equal(endpoint_dma_read(e->dev, 0x30000, &v, 4), -EFAULT);
	assert_int_equal(e->handled, 0);
	assert_int_equal(e->last_ev.type, SMMU_EVT_F_TRANSLATION);
	assert_false(e->last_ev.flags & SMMU_EVT_FL_STALL);
	env_free(e);
}

/* A05/A06/A07 with PRI: page request, PRI_RESP success or invalid. */
static void pri_case(bool threaded)
{
	struct env *e =
		stall_env(threaded, ENDPOINT_CAP_PRI | ENDPOINT_CAP_PASID);
	uint32_t v = 0x77;

	endpoint_destroy(e->dev);
	assert_int_equal(endpoint_create(e->smmu, 1, 2,
					 ENDPOINT_CAP_PRI | ENDPOINT_CAP_PASID,
					 &e->dev),
			 0);
	{
		struct smmu_cd cd = {.valid = true,
				     .t0sz = 16,
				     .ttb0 = e->root,
				     .asid = 7,
				     .mair = LPAE_MAIR_DEFAULT};

		assert_int_equal(smmu_cd_write(e->smmu, e->cd_table, 2, &cd),
				 0);
	}
	assert_int_equal(endpoint_dma_write(e->dev, 0x31234, &v, 4), 0);
	assert_int_equal(
		*(uint32_t *)((char *)phys_to_virt(e->pm, e->fault_pa) + 0x234),
		0x77);
	assert_int_equal(e->last_pr.addr, 0x31000);
	assert_int_equal(e->last_pr.sid, 1);
	assert_int_equal(e->last_pr.ssid, 2);
	assert_int_equal(e->last_pr.flags, SMMU_PRI_FL_WRITE |
						   SMMU_PRI_FL_LAST |
						   SMMU_PRI_FL_PASID);
	assert_int_equal(counters(e).page_requests, 1);
	assert_int_equal(counters(e).cmd_pri_resp, 1);
	/* invalid response: the access fails */
	e->mode = 1;
	assert_int_equal(endpoint_dma_read(e->dev, 0x50000, &v, 4), -EFAULT);
	assert_int_equal(e->handled, 2);
	assert_int_equal(e->last_pr.grpid, 1);
	assert_int_equal(e->last_pr.flags,
			 SMMU_PRI_FL_LAST | SMMU_PRI_FL_PASID);
	assert_int_equal(counters(e).resp_fail, 1);
	assert_int_equal(counters(e).events, 0);
	env_free(e);
}

static void test_A05_A06_A07_pri(void **state)
{
	pri_case(false);
	pri_case(true);
}

static void test_stall_timeout(void **state)
{
	struct smmu_config cfg = {.stall_timeout_ms = 20};
	struct env *e = env_new(&cfg, ENDPOINT_CAP_STALL);
	uint32_t v;

	s1_stream(e, 1, 7, true);
	assert_int_equal(endpoint_dma_read(e->dev, 0x30000, &v, 4), -ETIMEDOUT);
	assert_int_equal(counters(e).stalls, 1);
	env_free(e);
}

static void test_queue_overflow(void **state)
{
	struct smmu_config cfg = {
		.evtq_entries = 2, .priq_entries = 2, .stall_timeout_ms = 1};
	struct env *e = env_new(&cfg, 0);
	struct smmu_event ev;
	uint32_t v;
	int i;

	for (i = 0; i < 3; i++)
		assert_int_equal(endpoint_dma_read(e->dev, 0x5000, &v, 4),
				 -EFAULT);
	assert_true(smmu_evtq_overflowed(e->smmu));
	assert_int_equal(counters(e).evtq_overflows, 1);
	assert_int_equal(counters(e).events, 2);
	smmu_evtq_ack_overflow(e->smmu);
	assert_false(smmu_evtq_overflowed(e->smmu));
	assert_int_equal(smmu_evtq_read(e->smmu, &ev), 1);
	assert_int_equal(smmu_evtq_read(e->smmu, &ev), 1);
	assert_int_equal(smmu_evtq_read(e->smmu, &ev), 0);
	/* a page request that cannot be queued fails the access at once */
	endpoint_destroy(e->dev);
	assert_int_equal(
		endpoint_create(e->smmu, 1, 0, ENDPOINT_CAP_PRI, &e->dev), 0);
	for (i = 0; i < 2; i++) /* queued, nobody answers: time out */
		assert_int_equal(endpoint_dma_read(e->dev, 0x5000, &v, 4),
				 -ETIMEDOUT);
	assert_false(smmu_priq_overflowed(e->smmu));
	assert_int_equal(endpoint_dma_read(e->dev, 0x5000, &v, 4), -EFAULT);
	assert_true(smmu_priq_overflowed(e->smmu));
	assert_int_equal(counters(e).priq_overflows, 1);
	assert_int_equal(counters(e).page_requests, 2);
	env_free(e);
}

/* ---- command queue ---- */

static void test_bad_commands(void **state)
{
	struct env *e = env_new(NULL, 0);
	phys_addr_t pa = frame(e, 0);
	uint64_t bad[2] = {0x7f, 0};
	struct smmu_cmdq_state st;
	struct smmu_cmd c;
	uint64_t dw[2];
	uint32_t v = 0;

	s1_map(e, 0x1000, pa, 3, S1_ATTR);
	assert_int_equal(endpoint_dma_write(e->dev, 0x1000, &v, 4), 0);
	/* unknown opcode, then a TLBI that must not run */
	assert_int_equal(smmu_cmdq_issue_raw(e->smmu, bad), 0);
	cmd(e, (struct smmu_cmd){.op = SMMU_CMD_TLBI_NH_ASID, .asid = 7});
	assert_int_equal(smmu_cmdq_sync(e->smmu), -EIO);
	smmu_cmdq_state(e->smmu, &st);
	assert_true(st.error);
	assert_int_equal(st.cerror, SMMU_CERROR_ILL);
	assert_int_equal(st.bad_cmd[0], 0x7f);
	assert_int_not_equal(st.prod, st.cons);
	assert_int_equal(tlb_has(e, SMMU_TLB_S1, 7, 0, 0x1000), SZ_4K);
	assert_int_equal(counters(e).cmdq_errors, 1);
	/* clear: the bad command is skipped, the rest runs */
	assert_int_equal(smmu_cmdq_clear_error(e->smmu), 0);
	assert_int_equal(smmu_cmdq_clear_error(e->smmu), -EINVAL);
	sync_(e);
	assert_int_equal(tlb_has(e, SMMU_TLB_S1, 7, 0, 0x1000), 0);
	smmu_cmdq_state(e->smmu, &st);
	assert_false(st.error);
	assert_int_equal(st.prod, st.cons);

	/* bad fields: a stream id beyond the table, a PRI code 3 */
	c = (struct smmu_cmd){.op = SMMU_CMD_CFGI_STE, .sid = 1000};
	cmd(e, c);
	assert_int_equal(smmu_cmdq_sync(e->smmu), -EIO);
	assert_int_equal(smmu_cmdq_clear_error(e->smmu), 0);
	c = (struct smmu_cmd){.op = SMMU_CMD_PRI_RESP, .sid = 1};
	smmu_cmd_encode(&c, dw);
	dw[1] |= 3ULL << 12;
	assert_int_equal(smmu_cmdq_issue_raw(e->smmu, dw), 0);
	assert_int_equal(smmu_cmdq_sync(e->smmu), -EIO);
	assert_int_equal(smmu_cmdq_clear_error(e->smmu), 0);
	/* a TLBI range of a granule the model does not have (64 KiB) */
	c = (struct smmu_cmd){.op = SMMU_CMD_TLBI_NH_VA,
			      .num = 31,
			      .scale = 31,
			      .tg = SMMU_TLBI_TG_64K};
	cmd(e, c);
	assert_int_equal(smmu_cmdq_sync(e->smmu), -EIO);
	assert_int_equal(smmu_cmdq_clear_error(e->smmu), 0);
	sync_(e);
	assert_int_equal(counters(e).cmdq_errors, 4);
	env_free(e);
}

static void cmdq_full(bool threaded)
{
	struct smmu_config cfg = {.cmdq_entries = 4, .threaded = threaded};
	struct env *e = env_new(&cfg, 0);
	struct smmu_cmd cmds[10];
	uint64_t bad[2] = {0xee, 0};
	int i;

	for (i = 0; i < 10; i++)
		cmds[i] = (struct smmu_cmd){.op = SMMU_CMD_TLBI_NH_VA,
					    .asid = 7,
					    .addr = i * SZ_4K};
	assert_int_equal(smmu_cmdq_issue_batch(e->smmu, cmds, 10), 0);
	sync_(e);
	assert_int_equal(counters(e).cmd_tlbi_nh_va, 10);
	/* a queue stopped by an error and full: issue fails */
	assert_int_equal(smmu_cmdq_issue_raw(e->smmu, bad), 0);
	for (i = 0; i < 3; i++)
		cmd(e, cmds[i]);
	assert_int_equal(smmu_cmdq_issue(e->smmu, &cmds[0]), -EIO);
	assert_int_equal(smmu_cmdq_clear_error(e->smmu), 0);
	sync_(e);
	assert_int_equal(counters(e).cmd_tlbi_nh_va, 13);
	env_free(e);
}

static void test_cmdq_full(void **state)
{
	cmdq_full(false);
	cmdq_full(true);
}

/*
 * The global-error path: a handler that does what a driver does (reads
 * GERROR and CONS.ERR, replaces an illegal command with a CMD_SYNC,
 * acknowledges; retries an aborted fetch) lets the sync waiting behind the
 * error complete, in both modes, with the same counts.
 */
struct gerror_log {
	struct smmu *smmu;
	unsigned int calls, acks;
	uint32_t active;
	enum smmu_cmdq_cerror cerror;
	uint64_t bad0;
	bool ack; /* acknowledge (else leave the error active) */
};

static void gerror_handler(void *priv)
{
	struct gerror_log *l = priv;
	uint64_t sync[2] = {SMMU_CMD_SYNC, 0};
	struct smmu_cmdq_state st;

	l->calls++;
	l->active = smmu_gerror_read(l->smmu);
	smmu_cmdq_state(l->smmu, &st);
	l->cerror = st.cerror;
	l->bad0 = st.bad_cmd[0];
	if (!l->ack)
		return;
	if (st.cerror == SMMU_CERROR_ILL)
		assert_int_equal(smmu_cmdq_write_cons(l->smmu, sync), 0);
	l->acks++;
	smmu_gerror_ack(l->smmu, l->active);
}

static const struct smmu_irq_ops gerror_ops = {.gerror = gerror_handler};

static struct smmu_counters gerror_run(bool threaded)
{
	struct smmu_config cfg = {.threaded = threaded};
	struct env *e = env_new(&cfg, 0);
	struct gerror_log l = {.smmu = e->smmu, .ack = true};
	uint64_t bad[2] = {0x7f, 0x1234};
	uint64_t sync[2] = {SMMU_CMD_SYNC, 0};
	struct smmu_cmdq_state st;
	struct smmu_counters c;
	uint32_t v = 0;

	s1_map(e, 0x1000, frame(e, 0), 3, S1_ATTR);
	assert_int_equal(endpoint_dma_write(e->dev, 0x1000, &v, 4), 0);
	assert_int_equal(tlb_has(e, SMMU_TLB_S1, 7, 0, 0x1000), SZ_4K);
	smmu_set_irq_ops(e->smmu, &gerror_ops, &l);
	assert_int_equal(smmu_gerror_read(e->smmu), 0);
	assert_int_equal(smmu_cmdq_write_cons(e->smmu, sync), -EBUSY);

	/* an illegal command before a TLBI: skipped, the TLBI runs, the
	 * sync completes */
	assert_int_equal(smmu_cmdq_issue_raw(e->smmu, bad), 0);
	cmd(e, (struct smmu_cmd){.op = SMMU_CMD_TLBI_NH_ASID, .asid = 7});
	sync_(e);
	assert_int_equal(l.calls, 1);
	assert_int_equal(l.active, SMMU_GERROR_CMDQ_ERR);
	assert_int_equal(l.cerror, SMMU_CERROR_ILL);
	assert_int_equal(l.bad0, 0x7f);
	assert_int_equal(tlb_has(e, SMMU_TLB_S1, 7, 0, 0x1000), 0);
	assert_int_equal(smmu_gerror_read(e->smmu), 0);
	smmu_cmdq_state(e->smmu, &st);
	assert_false(st.error);
	assert_int_equal(st.cerror, SMMU_CERROR_NONE);
	assert_int_equal(st.prod, st.cons);

	/* two aborted fetches: retried, then the command runs */
	assert_int_equal(endpoint_dma_write(e->dev, 0x1000, &v, 4), 0);
	smmu_cmdq_inject_fetch_abort(e->smmu, 2);
	cmd(e, (struct smmu_cmd){.op = SMMU_CMD_TLBI_NH_ASID, .asid = 7});
	sync_(e);
	assert_int_equal(l.calls, 3);
	assert_int_equal(l.cerror, SMMU_CERROR_ABT);
	assert_int_equal(tlb_has(e, SMMU_TLB_S1, 7, 0, 0x1000), 0);

	/* a handler that does not acknowledge: the sync fails, the queue
	 * stays stopped until someone does */
	l.ack = false;
	assert_int_equal(smmu_cmdq_issue_raw(e->smmu, bad), 0);
	assert_int_equal(smmu_cmdq_sync(e->smmu), -EIO);
	assert_int_equal(smmu_cmdq_sync(e->smmu), -EIO); /* no second irq */
	assert_int_equal(l.calls, 4);
	assert_int_equal(smmu_gerror_read(e->smmu), SMMU_GERROR_CMDQ_ERR);
	assert_int_equal(smmu_cmdq_clear_error(e->smmu), 0);
	sync_(e);
	assert_int_equal(smmu_gerror_read(e->smmu), 0);

	smmu_set_irq_ops(e->smmu, NULL, NULL);
	c = counters(e);
	assert_int_equal(c.cmdq_errors, 4);
	assert_int_equal(c.cerror_ill, 2);
	assert_int_equal(c.cerror_abt, 2);
	assert_int_equal(c.irq_gerror, 4);
	assert_int_equal(c.cmd_tlbi_nh_asid, 2);
	env_free(e);
	return c;
}

static void test_cmdq_gerror_skip_and_retry(void **state)
{
	struct smmu_counters a = gerror_run(false), b = gerror_run(true);

	assert_memory_equal(&a, &b, sizeof(a));
}

/* SMMUEN = 0 with GBPA.ABORT: every access aborts, cached or not; the
 * command queue stops. */
static void disable_run(bool threaded)
{
	struct smmu_config cfg = {.threaded = threaded};
	struct env *e = env_new(&cfg, 0);
	struct smmu_xlate x;
	uint32_t v = 0;

	s1_map(e, 0x1000, frame(e, 0), 3, S1_ATTR);
	assert_int_equal(endpoint_dma_write(e->dev, 0x1000, &v, 4), 0);
	assert_int_equal(smmu_translate(e->dev, 0x1000, true, &x, NULL), 0);
	assert_true(x.hit);
	assert_false(smmu_disabled(e->smmu));
	smmu_disable_abort(e->smmu);
	assert_true(smmu_disabled(e->smmu));
	assert_int_equal(endpoint_dma_write(e->dev, 0x1000, &v, 4), -EFAULT);
	assert_int_equal(smmu_translate(e->dev, 0x1000, false, &x, NULL),
			 -EFAULT);
	assert_int_equal(tlb_has(e, SMMU_TLB_S1, 7, 0, 0x1000), 0);
	assert_int_equal(counters(e).aborted, 2);
	assert_int_equal(counters(e).events, 0);
	cmd(e, (struct smmu_cmd){.op = SMMU_CMD_TLBI_NH_ASID, .asid = 7});
	assert_int_equal(smmu_cmdq_sync(e->smmu), -EIO);
	assert_int_equal(counters(e).cmd_tlbi_nh_asid, 0);
	env_free(e);
}

static void test_smmu_disable_abort(void **state)
{
	disable_run(false);
	disable_run(true);
}

/* ---- DMA ---- */

/* DMA through a stale IOTLB entry to a frame freed (and reused) since. */
static void test_stale_dma_freed_frame(void **state)
{
	struct env *e = env_new(NULL, 0);
	phys_addr_t pa = frame(e, 0), pa2;
	uint32_t v = 1;

	s1_map(e, 0x2000, pa, 3, S1_ATTR);
	assert_int_equal(endpoint_dma_write(e->dev, 0x2000, &v, 4), 0);
	/* the buggy driver frees the page without unmapping/invalidating */
	phys_free_pages(e->pm, pa, 0);
	assert_int_equal(endpoint_dma_write(e->dev, 0x2000, &v, 4), -EFAULT);
	expect_event(e, SMMU_EVT_E_DMA_STALE, SMMU_EVT_FL_WRITE);
	assert_int_equal(e->last_ev.fetch_addr, pa);
	assert_int_equal(counters(e).stale_dma, 1);
	assert_int_equal(counters(e).iotlb_hits, 1);
	/* reused by someone else: generation newer than the entry */
	assert_int_equal(phys_alloc_pages(e->pm, 0, PHYS_ALLOC_ZERO,
					  PHYS_OWNER_KERNEL, &pa2),
			 0);
	assert_int_equal(pa2, pa);
	assert_int_equal(endpoint_dma_write(e->dev, 0x2000, &v, 4), -ESTALE);
	assert_int_equal(*(uint32_t *)phys_to_virt(e->pm, pa2), 0);
	assert_int_equal(counters(e).stale_dma, 2);
	/* after TLBI + sync the device walks again and sees the new mapping */
	cmd_sync(e, (struct smmu_cmd){.op = SMMU_CMD_TLBI_NH_VA,
				      .asid = 7,
				      .addr = 0x2000});
	assert_int_equal(endpoint_dma_write(e->dev, 0x2000, &v, 4), 0);
	/* bypass to an address outside memory */
	env_free(e);
}

static void test_dma_sg_and_cross_page(void **state)
{
	struct env *e = env_new(NULL, 0);
	phys_addr_t pa = frame(e, 1);
	char in[8192], out[8192];
	struct endpoint_sg sg[2] = {
		{.iova = 0x10000 + 100, .buf = in, .len = 5000},
		{.iova = 0x10000 + 5100, .buf = in + 5000, .len = 2000},
	};

	memset(in, 0x3c, sizeof(in));
	s1_map(e, 0x10000, pa, 3, S1_ATTR);
	s1_map(e, 0x11000, pa + SZ_4K, 3, S1_ATTR);
	assert_int_equal(endpoint_dma_sg(e->dev, sg, 2, true), 0);
	assert_int_equal(endpoint_dma_read(e->dev, 0x10000 + 100, out, 7000),
			 0);
	assert_memory_equal(out, in, 7000);
	assert_int_equal(counters(e).translations, 2 + 1 + 2);
	/* the second page of a transfer faults: error, first page moved */
	memset((char *)phys_to_virt(e->pm, pa), 0, 8192);
	assert_int_equal(endpoint_dma_write(e->dev, 0x11800, in, 8192),
			 -EFAULT);
	assert_int_equal(((char *)phys_to_virt(e->pm, pa))[0x1800], 0x3c);
	assert_int_equal(endpoint_dma_write(e->dev, UINT64_MAX - 4, in, 16),
			 -EINVAL);
	env_free(e);
}

/* ---- modes ---- */

static void workload(struct env *e)
{
	phys_addr_t pa = frame(e, 4);
	uint32_t v = 0;
	int i, round;

	for (i = 0; i < 16; i++)
		s1_map(e, 0x200000 + i * SZ_4K, pa + i * SZ_4K, 3, S1_ATTR);
	for (round = 0; round < 4; round++) {
		for (i = 0; i < 16; i++)
			assert_int_equal(
				endpoint_dma_write(e->dev, 0x200000 + i * SZ_4K,
						   &v, 4),
				0);
		for (i = 0; i < 16; i += 4)
			cmd(e, (struct smmu_cmd){.op = SMMU_CMD_TLBI_NH_VA,
						 .asid = 7,
						 .addr = 0x200000 + i * SZ_4K,
						 .num = 1});
		sync_(e);
	}
	/* faults: unrecoverable, then stalled-and-resumed */
	assert_int_equal(endpoint_dma_read(e->dev, 0x900000, &v, 4), -EFAULT);
	s1_stream(e, 1, 7, true);
	assert_int_equal(endpoint_dma_write(e->dev, 0x30000, &v, 4), 0);
	cmd_sync(e, (struct smmu_cmd){.op = SMMU_CMD_TLBI_NH_ALL});
}

static void test_inline_threaded_same_counters(void **state)
{
	struct smmu_counters a, b;
	struct env *e;

	e = stall_env(false, ENDPOINT_CAP_STALL);
	s1_stream(e, 1, 7, false);
	smmu_counters_reset(e->smmu);
	workload(e);
	a = counters(e);
	env_free(e);

	e = stall_env(true, ENDPOINT_CAP_STALL);
	s1_stream(e, 1, 7, false);
	smmu_counters_reset(e->smmu);
	workload(e);
	/* the interrupt thread's response ends with its own CMD_SYNC, which
	 * may still be on its way when the resumed device is done */
	while (atomic_load(&e->answered) < 1)
		sched_yield();
	b = counters(e);
	env_free(e);

	assert_true(a.cmds > 10 && a.iotlb_hits > 0 && a.stalls == 1);
	assert_memory_equal(&a, &b, sizeof(a));
}

struct conc {
	struct env *e;
	struct endpoint *dev;
	_Atomic bool stop;
	int errors;
};

static void *dma_thread(void *p)
{
	struct conc *c = p;
	uint32_t v;
	int i = 0;

	while (!c->stop)
		if (endpoint_dma_read(c->dev, 0x200000 + (i++ % 16) * SZ_4K, &v,
				      4))
			c->errors++;
	return NULL;
}

/* Threaded mode under concurrency (run under ThreadSanitizer too): DMA
 * threads hit and walk while the main thread invalidates. */
static void test_threaded_concurrent(void **state)
{
	struct smmu_config cfg = {.threaded = true, .iotlb_entries = 16};
	struct env *e = env_new(&cfg, 0);
	phys_addr_t pa = frame(e, 4);
	struct conc c[3];
	pthread_t th[3];
	int i;

	for (i = 0; i < 16; i++)
		s1_map(e, 0x200000 + i * SZ_4K, pa + i * SZ_4K, 3, S1_ATTR);
	for (i = 0; i < 3; i++) {
		c[i] = (struct conc){.e = e};
		assert_int_equal(endpoint_create(e->smmu, 1, 0, 0, &c[i].dev),
				 0);
		pthread_create(&th[i], NULL, dma_thread, &c[i]);
	}
	for (i = 0; i < 200; i++) {
		cmd(e, (struct smmu_cmd){.op = SMMU_CMD_TLBI_NH_VA,
					 .asid = 7,
					 .addr = 0x200000 + (i % 16) * SZ_4K});
		if (i % 10 == 0)
			cmd(e, (struct smmu_cmd){.op = SMMU_CMD_CFGI_ALL});
		sync_(e);
	}
	for (i = 0; i < 3; i++) {
		c[i].stop = true;
		pthread_join(th[i], NULL);
		assert_int_equal(c[i].errors, 0);
		endpoint_destroy(c[i].dev);
	}
	assert_int_equal(counters(e).faults, 0);
	env_free(e);
}

static void test_counters_json(void **state)
{
	struct env *e = env_new(NULL, 0);
	json_t *j, *g, *s;
	uint32_t v;

	assert_int_equal(endpoint_dma_read(e->dev, 0x5000, &v, 4), -EFAULT);
	j = smmu_counters_json(e->smmu);
	assert_non_null(j);
	g = json_object_get(j, "global");
	assert_int_equal(json_integer_value(json_object_get(g, "faults")), 1);
	assert_int_equal(json_integer_value(json_object_get(g, "cmd_sync")), 1);
	s = json_object_get(json_object_get(j, "streams"), "1");
	assert_non_null(s);
	assert_int_equal(json_integer_value(json_object_get(s, "evt_"
							       "translation")),
			 1);
	assert_null(json_object_get(json_object_get(j, "streams"), "0"));
	json_decref(j);
	smmu_counters_reset(e->smmu);
	assert_int_equal(counters(e).faults, 0);
	assert_int_equal(endpoint_create(e->smmu, 256, 0, 0, &e->dev), -EINVAL);
	env_free(e);
}

#ifdef UI_LOCKDEP
static void resume_unlocked(void *ctx)
{
	struct env *e = ctx;

	/* RESUME's completion belongs to the command consumer */
	smmu_resume(e->smmu, false, 0, 0, 0, SMMU_RESUME_RETRY);
}

/* A function of the layer called without its lock aborts, naming both. */
static void test_lock_rule_aborts(void **state)
{
	static const char *const want[] = {"smmu_resume() must be called "
					   "with &smmu->cmdq.lock held",
					   "lock class cmdq->lock", NULL};
	struct env *e = env_new(NULL, 0);

	(void)state;
	test_expect_abort(resume_unlocked, e, want);
	env_free(e);
}
#endif

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_create_invalid),
	cmocka_unit_test(test_create_fail_sweep),
	cmocka_unit_test(test_ste_cd_encoding),
	cmocka_unit_test(test_golden_ste_cd),
	cmocka_unit_test(test_golden_guest_ste),
	cmocka_unit_test(test_golden_commands),
	cmocka_unit_test(test_golden_event_pri),
	cmocka_unit_test(test_golden_registers),
	cmocka_unit_test(test_s1_hit_miss_walk),
	cmocka_unit_test(test_A11_noncoherent_dma_reads_memory),
	cmocka_unit_test(test_dma_copy),
	cmocka_unit_test(test_A01_tlbi_nh_va_then_sync),
	cmocka_unit_test(test_A01_sync_during_batch),
	cmocka_unit_test(test_tlbi_nh_va_range),
	cmocka_unit_test(test_tlbi_ids_index_exact),
	cmocka_unit_test(test_A12_tlbi_asid_and_all),
	cmocka_unit_test(test_A10_block_entries),
	cmocka_unit_test(test_iotlb_eviction),
	cmocka_unit_test(test_cfgi_commands),
	cmocka_unit_test(test_A08_translation_fault),
	cmocka_unit_test(test_A08_out_of_range_never_hits),
	cmocka_unit_test(test_permission_fault),
	cmocka_unit_test(test_httu_idr0_and_cd_bits),
	cmocka_unit_test(test_httu_write_dirties_descriptor),
	cmocka_unit_test(test_httu_write_through_cached_clean_entry),
	cmocka_unit_test(test_httu_block_dirtied),
	cmocka_unit_test(test_httu_off_write_faults),
	cmocka_unit_test(test_httu_access_flag),
	cmocka_unit_test(test_httu_nested_needs_s2_write),
	cmocka_unit_test(test_addr_size_and_access_faults),
	cmocka_unit_test(test_bad_ste_cd),
	cmocka_unit_test(test_pasid_cd),
	cmocka_unit_test(test_s2_concatenated),
	cmocka_unit_test(test_nested),
	cmocka_unit_test(test_A05_A06_stall_retry),
	cmocka_unit_test(test_A07_stall_abort),
	cmocka_unit_test(test_A08_stall_disabled),
	cmocka_unit_test(test_A05_A06_A07_pri),
	cmocka_unit_test(test_stall_timeout),
	cmocka_unit_test(test_queue_overflow),
	cmocka_unit_test(test_bad_commands),
	cmocka_unit_test(test_cmdq_full),
	cmocka_unit_test(test_cmdq_gerror_skip_and_retry),
	cmocka_unit_test(test_smmu_disable_abort),
	cmocka_unit_test(test_stale_dma_freed_frame),
	cmocka_unit_test(test_dma_sg_and_cross_page),
	cmocka_unit_test(test_inline_threaded_same_counters),
	cmocka_unit_test(test_threaded_concurrent),
	cmocka_unit_test(test_counters_json),
#ifdef UI_LOCKDEP
	cmocka_unit_test(test_lock_rule_aborts),
#endif
};

TEST_MAIN(tests)
