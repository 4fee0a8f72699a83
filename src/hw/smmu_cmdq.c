// SPDX-License-Identifier: MIT
/*
 * The command queue.
 *
 * Data model: 2^n commands of 16 bytes (two dwords) in physical frames, a
 * producer index written by software and a consumer index written by the
 * hardware, each with a wrap bit above the index bits (SMMUv3 style: the
 * queue is full when the indices are equal and the wrap bits differ).
 *
 * Encoding: the CMD field table of smmu_regs.h and one field map per
 * opcode below (cmd_kinds), the SMMUv3 layout of the commands the model
 * implements (CFGI_STE, CFGI_CD, CFGI_ALL, the
 * TLBI_* of stage 1, stage 2 and both, PRI_RESP, RESUME, CMD_SYNC).  A
 * TLBI with TG = 0 invalidates the entry holding ADDR; one with TG = 4 KiB
 * covers (NUM + 1) << SCALE pages from ADDR.  The model has only the 4 KiB
 * granule: a range of another granule is an illegal command.  TTL (the
 * level hint) is carried and ignored; CMD_SYNC completes only by the
 * consumer index (CS = 0, no interrupt or event).
 *
 * Consumption: inline, the issuer of CMD_SYNC (or of a command that finds
 * the queue full) runs the consumer itself; threaded, a consumer thread is
 * woken by every producer index write.  Either way consumption happens under
 * cmdq.lock, one command at a time, in order.  A command with an unknown
 * opcode or a bad field stops the consumer at that command with CMDQ_ERR
 * set (CERROR_ILL), counted; the test hook's fetch aborts stop it the same
 * way with CERROR_ABT.  A stop toggles GERROR.CMDQ_ERR and owes the
 * global-error interrupt, which the thread that ran the consumer delivers
 * (inline: the issuer; threaded: the consumer thread), with cmdq.lock
 * dropped.  The handler (the driver's) reads CONS.ERR and the command,
 * may overwrite it (smmu_cmdq_write_cons: a CMD_SYNC, the skip) and
 * acknowledges (smmu_gerror_ack), which resumes the consumer at cons.  A
 * sync waits behind a stop for that handler, and fails with -EIO only if
 * the handler returned without acknowledging (or there is none).  Once the
 * SMMU is disabled nothing is consumed and syncs fail.
 *
 * A sync is done when the consumer has passed its own slot (queued and
 * consumed count every command, without wrap), not when some sync ran: a
 * skipped command turned into a CMD_SYNC is one more sync.
 *
 * Invariants: cons never passes prod; consumed <= queued; every
 * command before a completed CMD_SYNC has taken effect.  Counters count
 * executed commands, so they are the same in both modes.
 */
#include <limits.h>
#include <sched.h>
#include <string.h>

#include "smmu_internal.h"

/* ---- encoding: one field map per opcode ---- */

#define CMD_OP_FIELD FM_VAL(CMD, OP, struct smmu_cmd, op)
#define CMD_CFGI_FIELDS                                            \
	CMD_OP_FIELD, FM_VAL(CMD, CFGI_SID, struct smmu_cmd, sid), \
		FM_VAL(CMD, CFGI_LEAF, struct smmu_cmd, leaf)
/* TG: the field is enum smmu_tlbi_tg ^ 1 (4 KiB, the zero default, is 1) */
#define CMD_TLBI_RANGE_FIELDS                                      \
	CMD_OP_FIELD, FM_VAL(CMD, TLBI_NUM, struct smmu_cmd, num), \
		FM_VAL(CMD, TLBI_SCALE, struct smmu_cmd, scale),   \
		FM_VAL(CMD, TLBI_VMID, struct smmu_cmd, vmid),     \
		FM_VAL(CMD, TLBI_LEAF, struct smmu_cmd, leaf),     \
		FM_VAL(CMD, TLBI_TTL, struct smmu_cmd, ttl),       \
		FM_XOR(CMD, TLBI_TG, struct smmu_cmd, tg, 1),      \
		FM_ADDR(CMD, TLBI_ADDR, struct smmu_cmd, addr)

static const struct field_map cmd_op_only[] = {CMD_OP_FIELD};
static const struct field_map cmd_sync[] = {
	CMD_OP_FIELD, FM_CONST(CMD, SYNC_CS, CMD_SYNC_CS_NONE)};
static const struct field_map cmd_cfgi_ste[] = {CMD_CFGI_FIELDS};
static const struct field_map cmd_cfgi_cd[] = {
	CMD_CFGI_FIELDS, FM_VAL(CMD, CFGI_SSID, struct smmu_cmd, ssid)};
static const struct field_map cmd_cfgi_all[] = {
	CMD_OP_FIELD, FM_CONST(CMD, CFGI_RANGE, CMD_CFGI_RANGE_ALL)};
static const struct field_map cmd_tlbi_va[] = {
	CMD_TLBI_RANGE_FIELDS, FM_VAL(CMD, TLBI_ASID, struct smmu_cmd, asid)};
static const struct field_map cmd_tlbi_ipa[] = {CMD_TLBI_RANGE_FIELDS};
static const struct field_map cmd_tlbi_asid[] = {
	CMD_OP_FIELD, FM_VAL(CMD, TLBI_VMID, struct smmu_cmd, vmid),
	FM_VAL(CMD, TLBI_ASID, struct smmu_cmd, asid)};
static const struct field_map cmd_tlbi_vmid[] = {
	CMD_OP_FIELD, FM_VAL(CMD, TLBI_VMID, struct smmu_cmd, vmid)};
static const struct field_map cmd_pri_resp[] = {
	CMD_OP_FIELD,
	FM_VAL(CMD, PRI_SSV, struct smmu_cmd, ssv),
	FM_VAL(CMD, PRI_SSID, struct smmu_cmd, ssid),
	FM_VAL(CMD, PRI_SID, struct smmu_cmd, sid),
	FM_VAL(CMD, PRI_GRPID, struct smmu_cmd, grpid),
	FM_VAL(CMD, PRI_RESP, struct smmu_cmd, resp),
};
static const struct field_map cmd_resume[] = {
	CMD_OP_FIELD,
	FM_VAL(CMD, RESUME_RESP, struct smmu_cmd, resp),
	FM_VAL(CMD, RESUME_SID, struct smmu_cmd, sid),
	FM_VAL(CMD, RESUME_STAG, struct smmu_cmd, stag),
};

/*
 * What the consumer does with each opcode: the field map, and for the
 * TLBIs the invalidation and its counter (range: it takes NUM, SCALE, TG).
 */
struct cmd_kind {
	uint8_t op;
	const struct field_map *map;
	size_t n;
	enum smmu_inval_kind inval;
	enum smmu_cnt cnt;
	bool tlbi;
	bool range;
};

#define CMD_KIND(o, m, ...)                                          \
	{                                                            \
		.op = (o), .map = (m), .n = FM_COUNT(m), __VA_ARGS__ \
	}

/* In opcode order. */
static const struct cmd_kind cmd_kinds[] = {
	CMD_KIND(SMMU_CMD_CFGI_STE, cmd_cfgi_ste, .cnt = SMMU_CNT_cmd_cfgi_ste),
	CMD_KIND(SMMU_CMD_CFGI_ALL, cmd_cfgi_all, .cnt = SMMU_CNT_cmd_cfgi_all),
	CMD_KIND(SMMU_CMD_CFGI_CD, cmd_cfgi_cd, .cnt = SMMU_CNT_cmd_cfgi_cd),
	CMD_KIND(SMMU_CMD_TLBI_NH_ALL, cmd_tlbi_vmid, .tlbi = true,
		 .inval = INV_NH_ALL, .cnt = SMMU_CNT_cmd_tlbi_nh_all),
	CMD_KIND(SMMU_CMD_TLBI_NH_ASID, cmd_tlbi_asid, .tlbi = true,
		 .inval = INV_NH_ASID, .cnt = SMMU_CNT_cmd_tlbi_nh_asid),
	CMD_KIND(SMMU_CMD_TLBI_NH_VA, cmd_tlbi_va, .tlbi = true,
		 .inval = INV_NH_VA, .cnt = SMMU_CNT_cmd_tlbi_nh_va,
		 .range = true),
	CMD_KIND(SMMU_CMD_TLBI_S12_VMALL, cmd_tlbi_vmid, .tlbi = true,
		 .inval = INV_S12_VMALL, .cnt = SMMU_CNT_cmd_tlbi_s12_vmall),
	CMD_KIND(SMMU_CMD_TLBI_S2_IPA, cmd_tlbi_ipa, .tlbi = true,
		 .inval = INV_S2_IPA, .cnt = SMMU_CNT_cmd_tlbi_s2_ipa,
		 .range = true),
	CMD_KIND(SMMU_CMD_TLBI_NSNH_ALL, cmd_op_only, .tlbi = true,
		 .inval = INV_ALL, .cnt = SMMU_CNT_cmd_tlbi_nsnh_all),
	CMD_KIND(SMMU_CMD_PRI_RESP, cmd_pri_resp, .cnt = SMMU_CNT_cmd_pri_resp),
	CMD_KIND(SMMU_CMD_RESUME, cmd_resume, .cnt = SMMU_CNT_cmd_resume),
	CMD_KIND(SMMU_CMD_SYNC, cmd_sync, .cnt = SMMU_CNT_cmd_sync),
};

static const struct cmd_kind *cmd_kind(unsigned int op)
{
	size_t i;

	for (i = 0; i < FM_COUNT(cmd_kinds); i++)
		if (cmd_kinds[i].op == op)
			return &cmd_kinds[i];
	return NULL;
}

void smmu_cmd_encode(const struct smmu_cmd *c, uint64_t dw[2])
{
	const struct cmd_kind *k = cmd_kind(c->op);

	if (k)
		fields_encode(k->map, k->n, c, dw, CMD_DWORDS);
	else
		fields_encode(cmd_op_only, FM_COUNT(cmd_op_only), c, dw,
			      CMD_DWORDS);
}

void smmu_cmd_decode(const uint64_t dw[2], struct smmu_cmd *c)
{
	const struct cmd_kind *k = cmd_kind(FIELD_EX64(dw, CMD, OP));

	if (k)
		fields_decode(k->map, k->n, dw, c, sizeof(*c));
	else
		fields_decode(cmd_op_only, FM_COUNT(cmd_op_only), dw, c,
			      sizeof(*c));
}

/*
 * TLBI range length in bytes; 0 for a granule the model does not have.
 * With a 5-bit SCALE and NUM the largest range, 2^36 pages, always fits.
 */
static uint64_t tlbi_len(const struct smmu_cmd *c)
{
	switch (c->tg) {
	case SMMU_TLBI_TG_NONE:
		return PHYS_PAGE_SIZE;
	case SMMU_TLBI_TG_4K:
		return (((uint64_t)c->num + 1) << c->scale) << PHYS_PAGE_SHIFT;
	default:
		return 0;
	}
}

/* Execute one command.  -EINVAL for a bad command. */
static int cmd_exec(struct smmu *smmu, const uint64_t dw[2])
{
	const struct cmd_kind *k = cmd_kind(FIELD_EX64(dw, CMD, OP));
	struct smmu_cmd c;
	uint64_t len;

	lockdep_assert_held(&smmu->cmdq.lock);
	if (!k)
		return -EINVAL;
	fields_decode(k->map, k->n, dw, &c, sizeof(c));
	if (k->tlbi) {
		len = k->range ? tlbi_len(&c) : 0;
		if (k->range && !len)
			return -EINVAL;
		smmu_iotlb_inval(smmu, k->inval, c.asid, c.vmid, c.addr, len);
		goto done;
	}
	switch (c.op) {
	case SMMU_CMD_CFGI_STE:
		if (c.sid >= smmu->nr_sids)
			return -EINVAL;
		smmu_cfg_inval(smmu, false, c.sid, false, 0);
		break;
	case SMMU_CMD_CFGI_CD:
		if (c.sid >= smmu->nr_sids)
			return -EINVAL;
		smmu_cfg_inval(smmu, false, c.sid, true, c.ssid);
		break;
	case SMMU_CMD_CFGI_ALL:
		smmu_cfg_inval(smmu, true, 0, false, 0);
		break;
	case SMMU_CMD_PRI_RESP:
	case SMMU_CMD_RESUME:
		if (c.sid >= smmu->nr_sids || c.resp > CMD_RESP_MAX)
			return -EINVAL;
		/* counted before the waiter can run */
		smmu_inc(smmu, k->cnt);
		smmu_inc(smmu, SMMU_CNT_cmds);
		if (c.op == SMMU_CMD_PRI_RESP)
			smmu_resume(smmu, true, c.sid, c.ssid, c.grpid, c.resp);
		else
			smmu_resume(smmu, false, c.sid, 0, c.stag, c.resp);
		return 0;
	case SMMU_CMD_SYNC:
		/* the invalidations before it are done: wait for the accesses
		 * that may still be using what they invalidated */
		smmu_sync_inflight(smmu);
		break;
	default: /* the TLBIs, above */
		break;
	}
done:
	smmu_inc(smmu, k->cnt);
	smmu_inc(smmu, SMMU_CNT_cmds);
	return 0;
}

/* Let the syncs look at slots up to cpu (the grow is seq_cst, before the
 * slot's first use, so a sync that misses it also misses that access's
 * translation). */
void smmu_inflight_grow(struct smmu *smmu, unsigned int cpu)
{
	unsigned int n = atomic_load(&smmu->inflight_cpus);

	while (n <= cpu &&
	       !atomic_compare_exchange_weak(&smmu->inflight_cpus, &n, cpu + 1))
		;
}

/* CMD_SYNC's wait for the DMA in flight, in the consumer. */
void smmu_sync_inflight(struct smmu *smmu)
{
	uint64_t e = atomic_fetch_add(&smmu->dma_epoch, 1) + 1;
	unsigned int n;

	lockdep_assert_held(&smmu->cmdq.lock);
	atomic_thread_fence(memory_order_seq_cst);
	n = atomic_load(&smmu->inflight_cpus);
	for (unsigned int cpu = 0; cpu < n; cpu++) {
		uint64_t v;

		while ((v = atomic_load_explicit(&smmu->inflight[cpu].epoch,
						 memory_order_acquire)) &&
		       v < e)
			sched_yield();
	}
}

/* Stop at the command at cons. */
static void cmdq_stop_at(struct smmu *smmu, enum smmu_cmdq_cerror why)
{
	struct smmu_cmdq *cmdq = &smmu->cmdq;

	lockdep_assert_held(&cmdq->lock);
	cmdq->error = true;
	cmdq->cerror = why;
	cmdq->gerror ^= SMMU_GERROR_CMDQ_ERR; /* inactive before: now active */
	cmdq->irq_due = true;
	cmdq->err_unhandled = false;
	cmdq->err_seq++;
	smmu_inc(smmu, SMMU_CNT_cmdq_errors);
	smmu_inc(smmu, why == SMMU_CERROR_ABT ? SMMU_CNT_cerror_abt
					      : SMMU_CNT_cerror_ill);
}

/* Run the consumer up to prod or an error. */
static void cmdq_consume(struct smmu *smmu)
{
	struct smmu_cmdq *cmdq = &smmu->cmdq;
	struct smmu_queue *q = &cmdq->q;

	lockdep_assert_held(&cmdq->lock);
	while (!cmdq->error && !q_empty(q) && !atomic_load(&smmu->disabled)) {
		const uint64_t *p = q_entry(q, q->cons);
		uint64_t dw[CMD_DWORDS];

		if (unlikely(cmdq->fetch_aborts)) {
			if (cmdq->fetch_aborts != UINT_MAX)
				cmdq->fetch_aborts--;
			cmdq_stop_at(smmu, SMMU_CERROR_ABT);
			break;
		}
		dw[0] = rd64(&p[0]);
		dw[1] = rd64(&p[1]);
		if (cmd_exec(smmu, dw)) {
			cmdq_stop_at(smmu, SMMU_CERROR_ILL);
			break;
		}
		q->cons = q_inc(q, q->cons);
		cmdq->consumed++;
	}
	pthread_cond_broadcast(&cmdq->done_cond);
}

/*
 * Deliver the owed global-error interrupt, cmdq.lock dropped around the
 * handler.  Inline the thread that ran the consumer calls it, threaded
 * the consumer thread (the line's own handler context, never the interrupt
 * thread whose handlers may be the very syncs waiting).  A handler that
 * returns with the error still active gives its waiters up.
 */
static void cmdq_run_gerror(struct smmu *smmu)
{
	struct smmu_cmdq *cmdq = &smmu->cmdq;
	uint64_t seq;

	lockdep_assert_held(&cmdq->lock);
	seq = cmdq->err_seq;
	cmdq->irq_due = false;
	mutex_unlock(&cmdq->lock);
	smmu_call_gerror_irq(smmu);
	mutex_lock(&cmdq->lock);
	if (cmdq->error && cmdq->err_seq == seq)
		cmdq->err_unhandled = true;
	pthread_cond_broadcast(&cmdq->done_cond);
}

void *smmu_cmdq_thread(void *arg)
{
	struct smmu *smmu = arg;
	struct smmu_cmdq *cmdq = &smmu->cmdq;

	mutex_lock(&cmdq->lock);
	while (!smmu->cmdq_stop) {
		if (!cmdq->error && !q_empty(&cmdq->q) &&
		    !atomic_load(&smmu->disabled)) {
			cmdq_consume(smmu);
			continue;
		}
		if (cmdq->irq_due) {
			cmdq_run_gerror(smmu);
			continue;
		}
		mutex_cond_wait(&cmdq->cons_cond, &cmdq->lock);
	}
	mutex_unlock(&cmdq->lock);
	return NULL;
}

/*
 * The queue is stopped by an error: wait for (inline: run) its handler.
 * 0 when it is worth looking again, -EIO when the handler left the error
 * active.
 */
static int cmdq_wait_error(struct smmu *smmu)
{
	struct smmu_cmdq *cmdq = &smmu->cmdq;

	lockdep_assert_held(&cmdq->lock);
	if (cmdq->err_unhandled)
		return -EIO;
	if (!smmu->cfg.threaded && cmdq->irq_due)
		cmdq_run_gerror(smmu);
	else
		mutex_cond_wait(&cmdq->done_cond, &cmdq->lock);
	return 0;
}

/* Write one command at prod. */
static int cmdq_insert(struct smmu *smmu, const uint64_t dw[2])
{
	struct smmu_cmdq *cmdq = &smmu->cmdq;
	struct smmu_queue *q = &cmdq->q;
	uint64_t *p;

	lockdep_assert_held(&cmdq->lock);
	while (q_full(q)) {
		if (smmu->cmdq_stop || atomic_load(&smmu->disabled))
			return -EIO;
		if (cmdq->error) {
			if (cmdq_wait_error(smmu))
				return -EIO;
		} else if (smmu->cfg.threaded) {
			pthread_cond_signal(&cmdq->cons_cond);
			mutex_cond_wait(&cmdq->done_cond, &cmdq->lock);
		} else {
			cmdq_consume(smmu);
		}
	}
	p = q_entry(q, q->prod);
	wr64(&p[0], dw[0]);
	wr64(&p[1], dw[1]);
	q->prod = q_inc(q, q->prod);
	cmdq->queued++;
	if (smmu->cfg.threaded)
		pthread_cond_signal(&cmdq->cons_cond);
	return 0;
}

int smmu_cmdq_issue_raw(struct smmu *smmu, const uint64_t dw[2])
{
	int ret;

	mutex_lock(&smmu->cmdq.lock);
	ret = cmdq_insert(smmu, dw);
	mutex_unlock(&smmu->cmdq.lock);
	return ret;
}

int smmu_cmdq_issue(struct smmu *smmu, const struct smmu_cmd *cmd)
{
	return smmu_cmdq_issue_batch(smmu, cmd, 1);
}

int smmu_cmdq_issue_batch(struct smmu *smmu, const struct smmu_cmd *cmds,
			  unsigned int n)
{
	uint64_t dw[2];
	unsigned int i;
	int ret = 0;

	mutex_lock(&smmu->cmdq.lock);
	for (i = 0; i < n && !ret; i++) {
		smmu_cmd_encode(&cmds[i], dw);
		ret = cmdq_insert(smmu, dw);
	}
	mutex_unlock(&smmu->cmdq.lock);
	return ret;
}

int smmu_cmdq_sync(struct smmu *smmu)
{
	struct smmu_cmdq *cmdq = &smmu->cmdq;
	struct smmu_cmd sync = {.op = SMMU_CMD_SYNC};
	uint64_t dw[CMD_DWORDS], mine;
	int ret;

	smmu_cmd_encode(&sync, dw);
	mutex_lock(&cmdq->lock);
	ret = cmdq_insert(smmu, dw);
	if (ret)
		goto out;
	mine = cmdq->queued; /* done once consumed reaches it */
	for (;;) {
		if (!smmu->cfg.threaded)
			cmdq_consume(smmu);
		if (cmdq->consumed >= mine)
			break;
		if (smmu->cmdq_stop || atomic_load(&smmu->disabled)) {
			ret = -EIO;
			break;
		}
		if (cmdq->error) {
			ret = cmdq_wait_error(smmu);
			if (ret)
				break;
			continue;
		}
		/* threaded: the consumer broadcasts when it stops */
		mutex_cond_wait(&cmdq->done_cond, &cmdq->lock);
	}
out:
	mutex_unlock(&cmdq->lock);
	return ret;
}

void smmu_cmdq_state(struct smmu *smmu, struct smmu_cmdq_state *st)
{
	struct smmu_cmdq *cmdq = &smmu->cmdq;
	const uint64_t *p;

	mutex_lock(&cmdq->lock);
	st->prod = cmdq->q.prod;
	st->cons = cmdq->q.cons;
	st->entries = 1u << cmdq->q.shift;
	st->error = cmdq->error;
	st->cerror = cmdq->cerror;
	p = q_entry(&cmdq->q, cmdq->q.cons);
	st->bad_cmd[0] = cmdq->error ? rd64(&p[0]) : 0;
	st->bad_cmd[1] = cmdq->error ? rd64(&p[1]) : 0;
	mutex_unlock(&cmdq->lock);
}

uint32_t smmu_gerror_read(struct smmu *smmu)
{
	uint32_t active;

	mutex_lock(&smmu->cmdq.lock);
	active = smmu->cmdq.gerror ^ smmu->cmdq.gerrorn;
	mutex_unlock(&smmu->cmdq.lock);
	return active;
}

static void gerror_ack(struct smmu *smmu, uint32_t bits)
{
	struct smmu_cmdq *cmdq = &smmu->cmdq;

	lockdep_assert_held(&cmdq->lock);
	bits &= cmdq->gerror ^ cmdq->gerrorn;
	cmdq->gerrorn ^= bits;
	if (!(bits & SMMU_GERROR_CMDQ_ERR))
		return;
	/* resume: the command at cons is fetched again */
	cmdq->error = false;
	cmdq->cerror = SMMU_CERROR_NONE;
	cmdq->irq_due = false;
	cmdq->err_unhandled = false;
	if (smmu->cfg.threaded)
		pthread_cond_signal(&cmdq->cons_cond);
	pthread_cond_broadcast(&cmdq->done_cond);
}

void smmu_gerror_ack(struct smmu *smmu, uint32_t bits)
{
	mutex_lock(&smmu->cmdq.lock);
	gerror_ack(smmu, bits);
	mutex_unlock(&smmu->cmdq.lock);
}

int smmu_cmdq_write_cons(struct smmu *smmu, const uint64_t dw[2])
{
	struct smmu_cmdq *cmdq = &smmu->cmdq;
	uint64_t *p;
	int ret = -EBUSY;

	mutex_lock(&cmdq->lock);
	if (cmdq->error) {
		p = q_entry(&cmdq->q, cmdq->q.cons);
		wr64(&p[0], dw[0]);
		wr64(&p[1], dw[1]);
		ret = 0;
	}
	mutex_unlock(&cmdq->lock);
	return ret;
}

int smmu_cmdq_clear_error(struct smmu *smmu)
{
	struct smmu_cmdq *cmdq = &smmu->cmdq;
	int ret = -EINVAL;

	mutex_lock(&cmdq->lock);
	if (cmdq->error) {
		cmdq->q.cons = q_inc(&cmdq->q, cmdq->q.cons);
		cmdq->consumed++;
		gerror_ack(smmu, SMMU_GERROR_CMDQ_ERR);
		ret = 0;
	}
	mutex_unlock(&cmdq->lock);
	return ret;
}

void smmu_cmdq_inject_fetch_abort(struct smmu *smmu, unsigned int n)
{
	mutex_lock(&smmu->cmdq.lock);
	smmu->cmdq.fetch_aborts = n;
	mutex_unlock(&smmu->cmdq.lock);
}

void smmu_disable_abort(struct smmu *smmu)
{
	struct smmu_cmdq *cmdq = &smmu->cmdq;

	mutex_lock(&cmdq->lock);
	atomic_store(&smmu->disabled, true);
	/* nothing cached is used again, and no access still uses it */
	smmu_cfg_inval(smmu, true, 0, false, 0);
	smmu_iotlb_inval(smmu, INV_ALL, 0, 0, 0, 0);
	smmu_sync_inflight(smmu);
	pthread_cond_broadcast(&cmdq->done_cond);
	mutex_unlock(&cmdq->lock);
}

bool smmu_disabled(struct smmu *smmu)
{
	return atomic_load(&smmu->disabled);
}

int smmu_cmdq_init(struct smmu *smmu)
{
	struct smmu_cmdq *cmdq = &smmu->cmdq;
	int ret;

	ret = smmu_queue_alloc(smmu, &cmdq->q, smmu->cfg.cmdq_entries,
			       CMD_DWORDS);
	if (ret)
		return ret;
	/* held briefly by every issuer: spin a little before sleeping, as
	 * the kernel's cmdq spins, rather than a futex round trip per
	 * contended TLBI */
	mutex_init_adaptive(&cmdq->lock, "cmdq->lock", HW_LOCK_CMDQ);
	pthread_cond_init(&cmdq->cons_cond, NULL);
	pthread_cond_init(&cmdq->done_cond, NULL);
	return 0;
}

void smmu_cmdq_free(struct smmu *smmu)
{
	struct smmu_cmdq *cmdq = &smmu->cmdq;

	pthread_cond_destroy(&cmdq->done_cond);
	pthread_cond_destroy(&cmdq->cons_cond);
	mutex_destroy(&cmdq->lock);
	smmu_queue_free(smmu, &cmdq->q);
}
