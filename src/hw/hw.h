/* SPDX-License-Identifier: MIT */
/*
 * uiommu hardware layer: an emulated SMMUv3-style IOMMU (smmu_) and the DMA
 * engine of the devices behind it (dev_).
 *
 * The SMMU reads its configuration from physical memory the way the real
 * one does: a linear stream table of 64-byte STEs (one per stream id),
 * context descriptor tables of 64-byte CDs (one per substream id / PASID)
 * and LPAE translation tables.  Software writes them (smmu_ste_write,
 * smmu_cd_write write memory only) and tells the SMMU through the command
 * queue (CFGI_*), which also carries TLB invalidations (TLBI_*), CMD_SYNC,
 * and the responses to stalled transactions (RESUME) and page requests
 * (PRI_RESP).  Faults go to the event queue, page requests to the PRI queue;
 * both raise interrupt callbacks.  See docs/hw.md for the layouts.
 *
 * Modes: inline (default) runs the command consumer in the thread that
 * issues CMD_SYNC (or finds the queue full) and calls the interrupt
 * callbacks in the thread that writes a fault queue; threaded runs a command
 * consumer thread and an interrupt thread.  Counters are the same in both
 * for the same single-threaded workload.
 */
#ifndef UIOMMU_HW_H
#define UIOMMU_HW_H

#include <uiommu/base.h>
#include "mem/mem.h"

#ifdef __cplusplus
extern "C" {
#endif

struct smmu;
struct endpoint;

/* ---- creation ----------------------------------------------------------- */

struct smmu_config {
	unsigned int iotlb_entries; /* total entries, power of 2 (1024) */
	unsigned int iotlb_ways;    /* associativity, power of 2 (4) */
	unsigned int cmdq_entries;  /* power of 2, >= 2 (256) */
	unsigned int evtq_entries;  /* power of 2, >= 2 (256) */
	unsigned int priq_entries;  /* power of 2, >= 2 (256) */
	unsigned int sid_bits;	    /* stream table has 2^sid_bits STEs (8) */
	unsigned int cfg_cache_entries; /* STE+CD cache, power of 2 (64) */
	unsigned int oas;		/* output address size in bits (48) */
	unsigned int max_retries;	/* stall/PRI retries of one page (8) */
	unsigned int stall_timeout_ms;	/* 0: wait for the response forever */
	bool check_af; /* descriptors with AF == 0 raise F_ACCESS */
	/* IDR0.HTTU = 0: no hardware updates of the access flag and dirty
	 * state, CD.HA and CD.HD ignored (HTTU: access + dirty) */
	bool no_httu;
	bool threaded; /* consumer and interrupt threads */
};

/* Zero fields of cfg (or a NULL cfg) take the defaults in brackets above. */
int smmu_create(struct phys_mem *pm, const struct smmu_config *cfg,
		struct smmu **out);
void smmu_destroy(struct smmu *smmu);
struct phys_mem *smmu_phys(const struct smmu *smmu);
void smmu_get_config(const struct smmu *smmu, struct smmu_config *cfg);

/* IDR0 as the model implements it: S1P, S2P, TTF (AArch64), HTTU (access
 * + dirty, 0 with no_httu), ASID16, VMID16, PRI; the HTTU field below. */
uint32_t smmu_read_idr0(const struct smmu *smmu);
#define SMMU_IDR0_HTTU_SHIFT   6
#define SMMU_IDR0_HTTU_MASK    0x3u
#define SMMU_HTTU_ACCESS       1 /* access flag updates */
#define SMMU_HTTU_ACCESS_DIRTY 2 /* access flag and dirty state updates */

/* ---- stream table and context descriptors (memory only) ---------------- */

enum smmu_ste_config {
	SMMU_STE_ABORT = 0,  /* terminate, record nothing */
	SMMU_STE_BYPASS = 4, /* IOVA == PA */
	SMMU_STE_S1 = 5,     /* stage 1 only */
	SMMU_STE_S2 = 6,     /* stage 2 only */
	SMMU_STE_NESTED = 7, /* stage 1 then stage 2 */
};

/* Decoded STE: what smmu_ste_write() encodes into the stream table. */
struct smmu_ste {
	bool valid;
	enum smmu_ste_config config;
	phys_addr_t s1_ctx_ptr; /* CD table (an IPA when nested), 64 B aligned */
	unsigned int s1_cd_max; /* CD table holds 2^s1_cd_max CDs */
	uint16_t s2_vmid;	/* tags stage 1 entries too */
	unsigned int s2_t0sz;	/* IPA size = 64 - s2_t0sz */
	unsigned int s2_sl0;	/* start level: 0 -> 2, 1 -> 1, 2 -> 0 */
	phys_addr_t s2_ttb;	/* stage 2 table (concatenated if needed) */
	bool s2_stall;		/* stall stage 2 faults (S2S) */
};

#define SMMU_S2_SL0(level) (2u - (unsigned int)(level))

/* Decoded CD. */
struct smmu_cd {
	bool valid;
	unsigned int t0sz; /* VA size = 64 - t0sz */
	phys_addr_t ttb0;
	uint16_t asid;
	uint64_t mair;
	bool stall; /* stall stage 1 faults (CD.S) */
	/* hardware translation table updates (IDR0.HTTU permitting): CD.HA
	 * sets a leaf's AF on access instead of an access flag fault, CD.HD
	 * makes a write through a writable-clean leaf (DBM set, AP[2]
	 * read-only) clear AP[2] (dirty) instead of a permission fault */
	bool ha, hd;
};

/*
 * A guest's STE (the two words of a nested stream it owns, as iommufd's
 * IOMMU_HWPT_DATA_ARM_SMMUV3 hands them in): its config, CD table (an
 * IPA) and the stage-1 attributes.  smmu_guest_ste_decode() is -EIO when
 * a bit outside these fields is set.
 */
struct smmu_guest_ste {
	bool valid;
	unsigned int config; /* enum smmu_ste_config */
	unsigned int s1_fmt; /* 0: a linear CD table */
	phys_addr_t s1_ctx_ptr;
	unsigned int s1_cd_max;
	unsigned int s1_dss, s1_cir, s1_cor, s1_csh;
	bool s1_stalld;
	unsigned int eats; /* 0: ATS aborted, 1: full ATS */
};

int smmu_guest_ste_decode(const uint64_t dw[2], struct smmu_guest_ste *ste);

#define SMMU_STE_SIZE 64
#define SMMU_CD_SIZE  64

/* Encode into / decode from 8 little-endian dwords. */
void smmu_ste_encode(const struct smmu_ste *ste, uint64_t dw[8]);
void smmu_ste_decode(const uint64_t dw[8], struct smmu_ste *ste);
void smmu_cd_encode(const struct smmu_cd *cd, uint64_t dw[8]);
void smmu_cd_decode(const uint64_t dw[8], struct smmu_cd *cd);

/* Physical address of the stream table (2^sid_bits STEs). */
phys_addr_t smmu_strtab_base(const struct smmu *smmu);
/* Write STE sid into the stream table (dword 0 last); -EINVAL bad sid. */
int smmu_ste_write(struct smmu *smmu, uint32_t sid, const struct smmu_ste *ste);
int smmu_ste_read(struct smmu *smmu, uint32_t sid, struct smmu_ste *ste);
/* Write CD ssid of the CD table at cd_table (a PA); -EFAULT outside memory. */
int smmu_cd_write(struct smmu *smmu, phys_addr_t cd_table, uint32_t ssid,
		  const struct smmu_cd *cd);

/* ---- command queue ------------------------------------------------------ */

enum smmu_cmd_op {
	SMMU_CMD_CFGI_STE = 0x03,
	SMMU_CMD_CFGI_ALL = 0x04,
	SMMU_CMD_CFGI_CD = 0x05,
	SMMU_CMD_TLBI_NH_ALL = 0x10,
	SMMU_CMD_TLBI_NH_ASID = 0x11,
	SMMU_CMD_TLBI_NH_VA = 0x12,
	SMMU_CMD_TLBI_S12_VMALL = 0x28,
	SMMU_CMD_TLBI_S2_IPA = 0x2a,
	SMMU_CMD_TLBI_NSNH_ALL = 0x30,
	SMMU_CMD_PRI_RESP = 0x41,
	SMMU_CMD_RESUME = 0x44,
	SMMU_CMD_SYNC = 0x46,
};

/* PRI_RESP codes, as the command encodes the PCIe PRG responses. */
enum smmu_pri_resp {
	SMMU_PRI_RESP_INVALID = 0, /* Deny: Invalid Request */
	SMMU_PRI_RESP_FAILURE = 1, /* Fail: Response Failure */
	SMMU_PRI_RESP_SUCCESS = 2, /* Success */
};

/* RESUME actions, as the command encodes them.  The model retries on
 * RETRY and fails the stalled transfer (-EFAULT) on either of the other
 * two: it does not tell their completions apart. */
enum smmu_resume_action {
	SMMU_RESUME_TERM = 0,  /* terminate the transaction */
	SMMU_RESUME_RETRY = 1, /* retry the translation */
	SMMU_RESUME_ABORT = 2, /* abort the transaction */
};

/* TLBI granule: a range of 4 KiB pages (the default), or not a range.
 * (The command's TG field holds the value xor 1: 4 KiB is 1 there.) */
enum smmu_tlbi_tg {
	SMMU_TLBI_TG_4K = 0,
	SMMU_TLBI_TG_NONE = 1, /* the entry holding addr; num, scale unused */
	SMMU_TLBI_TG_64K = 2,  /* granules the model does not have: */
	SMMU_TLBI_TG_16K = 3,  /* an illegal command */
};

#define SMMU_TLBI_NUM_MAX   31 /* 5 bits */
#define SMMU_TLBI_SCALE_MAX 31 /* 5 bits */

/*
 * A command as software builds it; smmu_cmdq_issue() encodes it into the
 * 16-byte queue format (docs/hw.md), the consumer decodes and checks it.
 * TLBI_NH_VA and TLBI_S2_IPA cover (num + 1) << scale pages from addr
 * (num = scale = 0: the one page, or the block entry, holding addr).
 * Fields wider than their command field are truncated to it.
 */
struct smmu_cmd {
	enum smmu_cmd_op op;
	uint32_t sid;
	uint32_t ssid;
	uint16_t asid;
	uint16_t vmid;
	uint64_t addr;
	uint8_t num;   /* 5 bits */
	uint8_t scale; /* 5 bits */
	uint8_t ttl;   /* TLBI level hint (2 bits, 0: any): carried, ignored */
	enum smmu_tlbi_tg tg;
	bool leaf;
	bool ssv;	/* PRI_RESP: ssid is valid */
	uint16_t grpid; /* PRI_RESP: page request group index (9 bits) */
	uint16_t stag;	/* RESUME: stall tag */
	uint8_t resp;	/* PRI_RESP code or RESUME action */
};

/* Raw encoding, for tests that write bad commands, and its decode (the
 * fields of cmd->op only; the rest zero). */
void smmu_cmd_encode(const struct smmu_cmd *cmd, uint64_t dw[2]);
void smmu_cmd_decode(const uint64_t dw[2], struct smmu_cmd *cmd);
int smmu_cmdq_issue_raw(struct smmu *smmu, const uint64_t dw[2]);

/*
 * Queue one command (or n); does not wait for it.  When the queue is full
 * the consumer is run (inline) or waited for (threaded).  -EIO if the queue
 * is full and stopped by an error.
 */
int smmu_cmdq_issue(struct smmu *smmu, const struct smmu_cmd *cmd);
int smmu_cmdq_issue_batch(struct smmu *smmu, const struct smmu_cmd *cmds,
			  unsigned int n);
/* Queue CMD_SYNC and wait until the consumer has passed it: every command
 * issued before has taken effect.  -EIO if the queue stopped on an error
 * before the sync that the global-error handler did not acknowledge, or
 * the SMMU is disabled. */
int smmu_cmdq_sync(struct smmu *smmu);

/*
 * Command errors.  The consumer stops at the command it could not execute:
 * GERROR.CMDQ_ERR toggles (active while GERROR != GERRORN), CONS.ERR holds
 * the reason, and nothing more is consumed until software acknowledges it
 * (smmu_gerror_ack).  The global-error interrupt (smmu_irq_ops.gerror)
 * tells software; a sync waiting behind the error waits for that handler
 * and fails (-EIO) only if the handler returns without acknowledging.
 */
enum smmu_cmdq_cerror {
	SMMU_CERROR_NONE = 0,
	SMMU_CERROR_ILL = 1,	      /* unknown opcode or bad field */
	SMMU_CERROR_ABT = 2,	      /* abort on the command fetch */
	SMMU_CERROR_ATC_INV_SYNC = 3, /* ATC invalidation timeout (no ATS
				       * here: never raised) */
};

#define SMMU_GERROR_CMDQ_ERR (1u << 0)

struct smmu_cmdq_state {
	uint32_t prod, cons; /* indices with the wrap bit above them */
	uint32_t entries;
	bool error;		      /* GERROR.CMDQ_ERR active */
	enum smmu_cmdq_cerror cerror; /* CONS.ERR */
	uint64_t bad_cmd[2];	      /* the command at cons when error */
};

void smmu_cmdq_state(struct smmu *smmu, struct smmu_cmdq_state *st);
/* Active global errors (GERROR ^ GERRORN). */
uint32_t smmu_gerror_read(struct smmu *smmu);
/* Acknowledge errors (toggle GERRORN); acknowledging CMDQ_ERR resumes the
 * consumer, which fetches the command at cons again. */
void smmu_gerror_ack(struct smmu *smmu, uint32_t bits);
/* While CMDQ_ERR is active: overwrite the command at cons (the driver's
 * skip: replace it with a CMD_SYNC).  -EBUSY if the queue is running. */
int smmu_cmdq_write_cons(struct smmu *smmu, const uint64_t dw[2]);
/* Test convenience: skip the bad command (cons + 1) and acknowledge. */
int smmu_cmdq_clear_error(struct smmu *smmu);
/* Test hook: the next n command fetches abort (CERROR_ABT); UINT_MAX:
 * every fetch from now on (a broken bus). */
void smmu_cmdq_inject_fetch_abort(struct smmu *smmu, unsigned int n);

/*
 * CR0.SMMUEN = 0 with GBPA.ABORT: from now on every transaction of every
 * stream is terminated (counted as aborted), nothing cached is used again.
 * Returns once no DMA that could have used a translation is in flight.
 * Software's last resort when the command queue cannot carry an
 * invalidation.
 */
void smmu_disable_abort(struct smmu *smmu);
bool smmu_disabled(struct smmu *smmu);

/* ---- event and page request queues -------------------------------------- */

enum smmu_evt_type {
	SMMU_EVT_C_BAD_STREAMID = 0x02,
	SMMU_EVT_C_BAD_STE = 0x04,
	SMMU_EVT_C_BAD_SUBSTREAMID = 0x08,
	SMMU_EVT_F_CD_FETCH = 0x09,
	SMMU_EVT_C_BAD_CD = 0x0a,
	SMMU_EVT_F_WALK_EABT = 0x0b,
	SMMU_EVT_F_TRANSLATION = 0x10,
	SMMU_EVT_F_ADDR_SIZE = 0x11,
	SMMU_EVT_F_ACCESS = 0x12,
	SMMU_EVT_F_PERMISSION = 0x13,
	/* implementation defined */
	SMMU_EVT_E_DMA_STALE = 0xe0, /* DMA to a frame freed since translated */
	SMMU_EVT_E_DMA_EABT = 0xe1,  /* DMA to an address outside memory */
};

#define SMMU_EVT_FL_WRITE    (1u << 0) /* RnW == 0 */
#define SMMU_EVT_FL_S2	     (1u << 1) /* fault at stage 2 */
#define SMMU_EVT_FL_NESTED   (1u << 2) /* stream translates at both stages */
#define SMMU_EVT_FL_CLASS_TT (1u << 3) /* on a stage 1 table walk access */
#define SMMU_EVT_FL_CLASS_CD (1u << 4) /* on the CD fetch */
#define SMMU_EVT_FL_STALL    (1u << 5) /* stalled: answer with RESUME stag */
#define SMMU_EVT_FL_SSV	     (1u << 6) /* ssid valid */

struct smmu_event {
	uint8_t type; /* enum smmu_evt_type */
	uint8_t flags;
	uint16_t stag;
	uint32_t sid;
	uint32_t ssid;
	uint64_t addr;	     /* input address of the transaction */
	uint64_t fetch_addr; /* IPA (stage 2 faults) or PA (DMA_STALE) */
};

#define SMMU_PRI_FL_WRITE (1u << 0)
#define SMMU_PRI_FL_LAST  (1u << 1)
#define SMMU_PRI_FL_PASID (1u << 2) /* ssid valid */

struct smmu_page_request {
	uint32_t sid;
	uint32_t ssid;
	uint64_t addr; /* page aligned */
	uint16_t grpid;
	uint8_t flags;
};

/* Encode into / decode from the queue's record format (docs/hw.md). */
void smmu_event_encode(const struct smmu_event *ev, uint64_t dw[4]);
void smmu_event_decode(const uint64_t dw[4], struct smmu_event *ev);
void smmu_page_request_encode(const struct smmu_page_request *req,
			      uint64_t dw[2]);
void smmu_page_request_decode(const uint64_t dw[2],
			      struct smmu_page_request *req);

/* Pop the oldest record: 1 if one was read, 0 if the queue is empty. */
int smmu_evtq_read(struct smmu *smmu, struct smmu_event *ev);
int smmu_priq_read(struct smmu *smmu, struct smmu_page_request *req);
/* Overflow flags (set when a record was dropped); ack clears them. */
bool smmu_evtq_overflowed(struct smmu *smmu);
bool smmu_priq_overflowed(struct smmu *smmu);
void smmu_evtq_ack_overflow(struct smmu *smmu);
void smmu_priq_ack_overflow(struct smmu *smmu);

struct smmu_irq_ops {
	void (*evtq)(void *priv);
	void (*priq)(void *priv);
	void (*gerror)(void *priv); /* global error (GERROR ^ GERRORN) */
};

/* Register interrupt callbacks (ops may be NULL to remove them).  Inline:
 * called by the thread that wrote the queue, with no SMMU lock held;
 * threaded: by the SMMU's interrupt thread.  gerror is called by the
 * thread that ran the command consumer (inline: the issuer; threaded: the
 * consumer thread), no lock held; it must not wait for a sync.  Returns once no handler of
 * the previous ops runs any more (so never call it from a handler). */
void smmu_set_irq_ops(struct smmu *smmu, const struct smmu_irq_ops *ops,
		      void *priv);

/* ---- counters ------------------------------------------------------------ */

#define SMMU_COUNTERS(X)      \
	X(translations)       \
	X(iotlb_hits)         \
	X(iotlb_misses)       \
	X(walks)              \
	X(walk_reads)         \
	X(httu_af_set)        \
	X(httu_dirty_set)     \
	X(httu_races)         \
	X(iotlb_fills)        \
	X(iotlb_evictions)    \
	X(iotlb_invalidated)  \
	X(cfg_hits)           \
	X(cfg_misses)         \
	X(cfg_faults)         \
	X(bypassed)           \
	X(aborted)            \
	X(faults)             \
	X(events)             \
	X(evt_translation)    \
	X(evt_addr_size)      \
	X(evt_access)         \
	X(evt_permission)     \
	X(evt_bad_ste)        \
	X(evt_bad_cd)         \
	X(evt_other)          \
	X(evtq_overflows)     \
	X(stalls)             \
	X(page_requests)      \
	X(priq_overflows)     \
	X(retries)            \
	X(resp_success)       \
	X(resp_fail)          \
	X(stale_dma)          \
	X(dma_reads)          \
	X(dma_writes)         \
	X(dma_bytes_read)     \
	X(dma_bytes_written)  \
	X(dma_nc_bytes)       \
	X(dma_errors)         \
	X(cmds)               \
	X(cmd_cfgi_ste)       \
	X(cmd_cfgi_cd)        \
	X(cmd_cfgi_all)       \
	X(cmd_tlbi_nh_va)     \
	X(cmd_tlbi_nh_asid)   \
	X(cmd_tlbi_nh_all)    \
	X(cmd_tlbi_s2_ipa)    \
	X(cmd_tlbi_s12_vmall) \
	X(cmd_tlbi_nsnh_all)  \
	X(cmd_sync)           \
	X(cmd_pri_resp)       \
	X(cmd_resume)         \
	X(cmdq_errors)        \
	X(cerror_ill)         \
	X(cerror_abt)         \
	X(irq_gerror)         \
	X(irq_evtq)           \
	X(irq_priq)

struct smmu_counters {
#define SMMU_CNT_FIELD(name) uint64_t name;
	SMMU_COUNTERS(SMMU_CNT_FIELD)
#undef SMMU_CNT_FIELD
};

/* Whole SMMU (per-stream counts summed, plus the command queue's). */
void smmu_counters_read(struct smmu *smmu, struct smmu_counters *c);
/* One stream (translation, fault and DMA counts; cmd_* are zero). */
int smmu_stream_counters_read(struct smmu *smmu, uint32_t sid,
			      struct smmu_counters *c);
void smmu_counters_reset(struct smmu *smmu);
/* {"global": {...}, "streams": {"<sid>": {...}}} for streams with activity,
 * a jansson json_t (the caller includes <jansson.h> to use it and owns the
 * reference).  NULL on allocation failure. */
struct json_t;
struct json_t *smmu_counters_json(struct smmu *smmu);

/* ---- translation and test hooks ------------------------------------------ */

enum smmu_tlb_type {
	SMMU_TLB_S1 = 1,     /* tagged ASID + VMID, VA -> PA */
	SMMU_TLB_S2 = 2,     /* tagged VMID, IPA -> PA */
	SMMU_TLB_NESTED = 3, /* tagged ASID + VMID, VA -> PA through both */
};

enum smmu_memtype {
	SMMU_MEM_NORMAL_WB = 0,
	SMMU_MEM_NORMAL_NC = 1,
	SMMU_MEM_DEVICE = 2,
};

#define SMMU_PERM_READ	(1u << 0)
#define SMMU_PERM_WRITE (1u << 1)

struct smmu_iotlb_entry {
	enum smmu_tlb_type type;
	uint16_t asid, vmid;
	uint64_t va;	/* input address, aligned to size */
	uint64_t size;	/* 4 KiB, 2 MiB or 1 GiB */
	phys_addr_t pa; /* aligned to size */
	unsigned int perm;
	enum smmu_memtype memtype;
	uint64_t gen; /* phys_epoch() when the entry was filled */
};

/* Copy up to max valid entries; returns how many there are in all. */
size_t smmu_iotlb_dump(struct smmu *smmu, struct smmu_iotlb_entry *out,
		       size_t max);

struct smmu_xlate {
	phys_addr_t pa;
	uint64_t size; /* of the mapping that translated it */
	unsigned int perm;
	enum smmu_memtype memtype;
	uint64_t gen;
	bool hit; /* from the IOTLB */
};

/*
 * Translate one access of dev (an ATS-like probe: fills the IOTLB, records
 * no event and never stalls).  0, or -EFAULT with *fault (if not NULL)
 * describing the fault as an event would.
 */
int smmu_translate(struct endpoint *dev, uint64_t iova, bool write,
		   struct smmu_xlate *x, struct smmu_event *fault);

/* ---- devices and DMA ------------------------------------------------------- */

#define ENDPOINT_CAP_STALL \
	(1u << 0) /* can stall on a fault (wait for RESUME) */
#define ENDPOINT_CAP_PRI   (1u << 1) /* issues PCIe page requests */
#define ENDPOINT_CAP_PASID (1u << 2) /* tags transactions with a PASID */

int endpoint_create(struct smmu *smmu, uint32_t sid, uint32_t pasid,
		    unsigned int caps, struct endpoint **out);
void endpoint_destroy(struct endpoint *dev);
/* What the sanitizer names the endpoint in its reports (NULL: nothing
 * reported); set once, before the endpoint does DMA. */
struct san_device;
void endpoint_set_san(struct endpoint *dev, const struct san_device *sd);
uint32_t endpoint_sid(const struct endpoint *dev);

/*
 * DMA of len bytes at iova, translated page by page.  0, or: -EFAULT on a
 * fault the device could not recover from (or an abort/failure response),
 * -ESTALE when a frame was reallocated since its translation was cached,
 * -ETIMEDOUT when no response came in time.  A failed transfer may have
 * moved the pages before the faulting one.
 */
int endpoint_dma_read(struct endpoint *dev, uint64_t iova, void *buf,
		      size_t len);
int endpoint_dma_write(struct endpoint *dev, uint64_t iova, const void *buf,
		       size_t len);

/*
 * A copy engine's transfer: len bytes from src to dst, both IOVAs of this
 * endpoint, piece by piece (no piece crosses a page of either side), each
 * piece's source translated for read and destination for write, as the
 * read and write above do (faults, stalls, page requests alike).  Pieces
 * on cacheable memory move frame to frame in one copy.  0 or their errno;
 * on an error *failed (may be NULL) is the side that failed, and the
 * pieces before it were copied.  Counted as one read and one write.
 */
enum { ENDPOINT_COPY_SRC = 1, ENDPOINT_COPY_DST = 2 };
int endpoint_dma_copy(struct endpoint *dev, uint64_t dst, uint64_t src,
		      size_t len, int *failed);

/*
 * A run of DMAs by the calling thread, such as the descriptors one doorbell
 * starts: between endpoint_dma_batch_begin() and endpoint_dma_batch_end()
 * the thread's accesses through dev's SMMU stay in one in-flight window
 * instead of entering and leaving one per access (a locked exchange each,
 * which also waits for the previous copy's stores).  The window is
 * entered again, with the new epoch, at the first access after a CMD_SYNC
 * began, so a sync still waits for at most the access in progress; fault
 * waits leave it as they do outside a batch.  Code between the accesses
 * must not wait for a CMD_SYNC.  Batches do not nest: begin returns false
 * (and end is then not called) when one is open on this thread.
 */
bool endpoint_dma_batch_begin(struct endpoint *dev);
void endpoint_dma_batch_end(struct endpoint *dev);

struct endpoint_sg {
	uint64_t iova;
	void *buf;
	size_t len;
};

/* Scatter-gather: each element in turn; stops at the first error. */
int endpoint_dma_sg(struct endpoint *dev, const struct endpoint_sg *sg,
		    unsigned int nents, bool write);

#ifdef __cplusplus
}
#endif
#endif /* UIOMMU_HW_H */
