// SPDX-License-Identifier: MIT
/*
 * The emulated Intel I/OAT DMA engine (Crystal Beach DMA 3.3, PCI
 * 8086:2021): one channel that runs chains of 64-byte descriptors (copy,
 * fill, null) fetched from memory by DMA, every access of its own going
 * through the SMMU as the stream of its endpoint.  Register layout and
 * what is modelled: docs/ioat.md; the field tables: ioat_regs.h.
 *
 * Objects and lifetimes.  struct ioat owns its place on the bus (the
 * core's device and the SMMU endpoint, one stream id), the PCI function
 * (src/pci: configuration space with PM, MSI-X and PCIe capabilities, FLR,
 * the config-space CHANERR_INT/CHANERRMASK_INT registers; BAR0, 64-bit,
 * 16 KiB, registers in its first page, the MSI-X table at 0x2000 and the
 * PBA at 0x3000, every page trapped when mapped) and, in threaded mode,
 * the channel's thread.  The VFIO device is vfio-pci's (vfio_pci_create),
 * named by the function's PCI address; its dev is our bus device, which is
 * how ioat_destroy() finds the model.
 *
 * The channel.  A reset leaves it stopped (CHANSTS reads HALTED with no
 * CHANERR bit).  Software points CHAINADDR at the first descriptor (which
 * arms the channel: CHANSTS reads ARMED, the descriptor count restarts
 * at 0) and writes the running count of descriptors it has queued to
 * DMACOUNT (16 bits, wrapping).  The channel runs descriptors, one at a
 * time and in order, while its own count differs from DMACOUNT and it is
 * neither suspended nor halted: each is fetched at its address (the chain
 * address, then each descriptor's next pointer), executed, and counted;
 * CHANSTS then holds its address as the completed descriptor.  With the
 * descriptor's completion-write bit, the channel writes CHANSTS's value
 * (the completed address and the state, ACTIVE while more are queued,
 * DONE after the last) by DMA to CHANCMP's address; with its interrupt bit
 * and the channel's interrupt armed (CHANCTRL.INT_REARM, which firing
 * consumes and rearming rewrites), the channel raises ATTNSTATUS bit 0 and,
 * with INTRCTRL's master enable, MSI-X vector 0 (pci_msix_fire: the PCI
 * layer applies the enable, function and vector masks).  Because
 * descriptors run strictly one after another, the fence bit holds for
 * every descriptor.
 *
 * Errors halt the channel: CHANSTS reads HALTED with the last completed
 * descriptor's address (so the failing one is the one after it, as DPDK's
 * and Linux's drivers find it), CDAR holds the failing descriptor's
 * address, CHANERR and the config-space CHANERR_INT get the error's bit,
 * the completion is written (ERR_COMPLETION_EN) and the interrupt raised
 * (ERR_INT_EN).  A source or destination IOVA the SMMU refuses is
 * SRC_ADDR/DEST_ADDR; a descriptor fetch it refuses is READ_DATA (DPDK's
 * "descriptor read error"); a misaligned chain or next address is
 * CHAIN_ADDR_VALUE/NEXT_DESC_ALIGN; a length past XFERCAP is LENGTH; an
 * unknown operation is CONTROL; a completion write that fails, or to an
 * address not 8-byte aligned, is COMPLETION_ADDR.  A refused DMA writes
 * nothing the SMMU did not map (endpoint_dma_*).
 *
 * Sanitizer.  Each descriptor names itself (its number on the channel,
 * its operation, its IOVA; before that, its fetch) to the DMA sanitizer
 * (san_origin_set) for the report of a fault its DMA meets.
 *
 * Execution.  Inline (the default): the DMACOUNT write runs the
 * descriptors before the store (trapped or pwrite) returns.  Software
 * cannot look at memory in between, so of the completions one run writes,
 * the first is written at once (a bad CHANCMP halts at the first
 * descriptor asking for one) and the others only as the last value before
 * the run ends, an interrupt or a halt: what a driver reading after the
 * doorbell, or in its interrupt handler, finds is the same.  Threaded: the
 * write wakes the channel's thread, which runs them while software polls;
 * a CHANCMD reset is then done by the thread, and CHANCMD's reset bit
 * reads 1 until it is (or until the next register write, which the reset
 * precedes).
 *
 * Locking.  lock (DEVICES_LOCK_IOAT, devices_internal.h: after vfio-pci's
 * igate and memory lock, held around a function reset and BAR accesses,
 * and before the type1 container's, which a stalled DMA's fault handling
 * reaches) guards every
 * register, the channel's state, the bounce buffer, the stats and the
 * thread's flags.  One descriptor runs wholly under it, so register
 * accesses see the channel between descriptors; the thread drops it
 * between descriptors.  Under it the model calls the endpoint's DMA (hw/)
 * and the PCI layer (pci_msix_fire, pci_config_set_bits: LOCK_RANK_PCI),
 * both ranked after it.  The BAR ops run in the trapping thread's signal
 * handler; the driver's code holds none of these locks while it accesses
 * the BAR.
 */
#include <inttypes.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "sanitizer/sanitizer.h"
#include "devices/devices.h"
#include "devices/ioat_regs.h"
#include "iommu/bus.h"
#include "pci/pci.h"
#include "vfio/vfio_pci.h"

#include "devices_internal.h"
#include "lib/internal.h"

/* The channel's largest transfer: 2^IOAT_XFERCAP_LOG2 bytes. */
#define IOAT_XFERCAP_LOG2 20
/* MSI-X in BAR0, after the register page. */
#define IOAT_MSIX_TABLE_OFF 0x2000
#define IOAT_MSIX_PBA_OFF   0x3000
#define IOAT_MSIX_VECTORS   1
/* Bytes moved per DMA call (a multiple of 8, for fills). */
#define IOAT_BOUNCE 16384
/* descriptors one fetch reads at most (within one page) */
#define IOAT_PREFETCH 8
/* Every CHANERR bit the model sets (bits 0..18 exist). */
#define IOAT_CHANERR_ALL 0x7ffffu

enum {
	IOAT_DMACAP_VALUE = IOAT_MASK(DMACAP, FILL_BLOCK),
	IOAT_DMA_COMP_VALUE = IOAT_MASK(DMA_COMP, V2),
	IOAT_CHANCTRL_WMASK = IOAT_MASK(CHANCTRL, INT_REARM) |
			      IOAT_MASK(CHANCTRL, ERR_COMPLETION_EN) |
			      IOAT_MASK(CHANCTRL, ANY_ERR_ABORT_EN) |
			      IOAT_MASK(CHANCTRL, ERR_INT_EN) |
			      IOAT_MASK(CHANCTRL, DESC_ADDR_SNOOP) |
			      IOAT_MASK(CHANCTRL, IN_USE) |
			      IOAT_MASK(CHANCTRL, COMPL_DCA_EN) |
			      IOAT_MASK(CHANCTRL, PRIORITY),
	IOAT_INTRCTRL_WMASK = IOAT_MASK(INTRCTRL, MASTER_INT_EN) |
			      IOAT_MASK(INTRCTRL, MSIX_VECTOR_CONTROL),
};

/* The registers of BAR0 the model decodes, by id. */
enum ioat_reg_id {
	R_CHANCNT,
	R_XFERCAP,
	R_GENCTRL,
	R_INTRCTRL,
	R_ATTNSTATUS,
	R_CBVER,
	R_INTRDELAY,
	R_CS_STATUS,
	R_DMACAPABILITY,
	R_CHANCTRL,
	R_DMA_COMP,
	R_CHANCMD,
	R_DMACOUNT,
	R_CHANSTS,
	R_CHAINADDR,
	R_CHANCMP,
	R_CDAR,
	R_CHANERR,
	R_CHANERRMASK,
	R_NR,
};

#define DREG(n) [R_##n] = {IOAT_A_##n, IOAT_S_##n}
#define CREG(n) [R_##n] = {IOAT_CHAN_BASE + IOAT_A_##n, IOAT_S_##n}
static const struct {
	uint16_t off;
	uint8_t size;
} ioat_regs[R_NR] = {
	DREG(CHANCNT),	     DREG(XFERCAP),  DREG(GENCTRL),	DREG(INTRCTRL),
	DREG(ATTNSTATUS),    DREG(CBVER),    DREG(INTRDELAY),	DREG(CS_STATUS),
	DREG(DMACAPABILITY), CREG(CHANCTRL), CREG(DMA_COMP),	CREG(CHANCMD),
	CREG(DMACOUNT),	     CREG(CHANSTS),  CREG(CHAINADDR),	CREG(CHANCMP),
	CREG(CDAR),	     CREG(CHANERR),  CREG(CHANERRMASK),
};

struct ioat {
	struct bus_device bus; /* the core's device and the endpoint */
	struct pci_function *fn;
	struct vfio_device *vdev; /* vfio-pci's */
	struct phys_mem *pm;
	bool threaded;

	struct mutex lock;
	/* device registers */
	uint8_t genctrl, intrctrl;
	uint32_t attnstatus;
	uint16_t intrdelay;
	/* the channel */
	uint16_t chanctrl;
	uint16_t dmacount;  /* what software wrote */
	uint16_t done;	    /* descriptors the channel consumed since armed */
	unsigned int state; /* IOAT_CHANSTS_* */
	bool reset_pending; /* threaded: CHANCMD reset not done yet */
	uint64_t chainaddr, chancmp;
	uint64_t next;	    /* the next descriptor's address */
	bool at_chain;	    /* next came from CHAINADDR (not a next pointer) */
	uint64_t completed; /* the last completed descriptor's address */
	uint64_t cdar;	    /* the descriptor being or last run */
	uint32_t chanerr, chanerrmask;
	struct ioat_stats stats;
	uint8_t bounce[IOAT_BOUNCE];
	/* descriptors fetched ahead, [pf_addr, pf_addr + pf_n * 64): only
	 * queued ones (software does not rewrite those), dropped at every
	 * doorbell, CHAINADDR write and reset */
	uint64_t pf_addr;
	unsigned int pf_n;
	uint8_t pf[IOAT_PREFETCH * IOAT_DESC_SIZE];
	/* inline: one doorbell's run writes its first completion at once
	 * (which proves the address) and keeps the later ones in compl_val
	 * until the run ends, an interrupt or a halt: software cannot look
	 * in between, as the doorbell has not returned */
	bool compl_proven, compl_pending;
	uint64_t compl_val;

	/* threaded mode */
	pthread_t thread;
	pthread_cond_t wake;
	bool thread_started, stop;
};

static struct ioat *to_ioat(struct vfio_device *vdev)
{
	return container_of(vdev->dev, struct ioat, bus.dev);
}

/* ---- the channel --------------------------------------------------------- */

/* CHANSTS: the completed descriptor's address and the state. */
static uint64_t chansts(const struct ioat *e)
{
	return (e->completed & IOAT_MASK(CHANSTS, COMPLETED_DESC)) | e->state;
}

/* Power-on (and CHANCMD reset) state of the channel: stopped (HALTED, no
 * error bit) until a CHAINADDR write arms it, as DPDK's driver expects
 * of a reset (its stop and recovery paths). */
static void chan_reset(struct ioat *e)
{
	lockdep_assert_held(&e->lock);
	e->chanctrl = 0;
	e->dmacount = e->done = 0;
	e->state = IOAT_CHANSTS_HALTED;
	e->reset_pending = false;
	e->chainaddr = e->chancmp = 0;
	e->next = e->completed = e->cdar = 0;
	e->pf_n = 0;
	e->compl_proven = e->compl_pending = false;
	e->at_chain = true;
	e->stats.resets++;
}

/* The channel raises its interrupt (a completion that asked for one, or
 * an error with ERR_INT_EN): once per arming. */
static void chan_interrupt(struct ioat *e)
{
	lockdep_assert_held(&e->lock);
	if (!(e->chanctrl & IOAT_MASK(CHANCTRL, INT_REARM))) {
		e->stats.irqs_unarmed++;
		return;
	}
	e->chanctrl &= (uint16_t)~IOAT_MASK(CHANCTRL, INT_REARM);
	e->attnstatus |= 1;
	if (!(e->intrctrl & IOAT_MASK(INTRCTRL, MASTER_INT_EN))) {
		e->stats.irqs_disabled++;
		return;
	}
	if (pci_msix_fire(e->fn, 0) == 0)
		e->stats.irqs_sent++;
	else
		e->stats.irqs_held++;
}

/* Write v to the completion address; false if refused. */
static bool chan_write_value(struct ioat *e, uint64_t v)
{
	lockdep_assert_held(&e->lock);
	if (e->chancmp & 7)
		return false;
	if (endpoint_dma_write(e->bus.hw, e->chancmp, &v, sizeof(v)))
		return false;
	e->stats.completions++;
	return true;
}

/* Write CHANSTS's value now (superseding a kept one); false if refused. */
static bool chan_write_completion(struct ioat *e)
{
	e->compl_pending = false;
	return chan_write_value(e, chansts(e));
}

/* Write the completion value kept back, if any; false if refused. */
static bool chan_flush_completion(struct ioat *e)
{
	lockdep_assert_held(&e->lock);
	if (!e->compl_pending)
		return true;
	e->compl_pending = false;
	return chan_write_value(e, e->compl_val);
}

/* Halt on an error of the descriptor at cdar. */
static void chan_halt(struct ioat *e, uint32_t err)
{
	lockdep_assert_held(&e->lock);
	e->state = IOAT_CHANSTS_HALTED;
	if (e->chanctrl & IOAT_MASK(CHANCTRL, ERR_COMPLETION_EN)) {
		if (!chan_write_completion(e))
			err |= IOAT_MASK(CHANERR, COMPLETION_ADDR);
	} else if (!chan_flush_completion(e)) {
		/* the last completion before the error, as it would have
		 * been written when its descriptor completed */
		err |= IOAT_MASK(CHANERR, COMPLETION_ADDR);
	}
	e->chanerr |= err;
	pci_config_set_bits(e->fn, IOAT_A_PCI_CHANERR_INT, 4, err);
	e->stats.errors++;
	if (e->chanctrl & IOAT_MASK(CHANCTRL, ERR_INT_EN))
		chan_interrupt(e);
}

static uint32_t le32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* A copy of size bytes from src to dst, one frame-to-frame copy per page
 * piece; 0 or the CHANERR bit of the side the SMMU refused. */
static uint32_t op_copy(struct ioat *e, uint64_t src, uint64_t dst,
			uint64_t size)
{
	int side = 0;

	if (!endpoint_dma_copy(e->bus.hw, dst, src, (size_t)size, &side))
		return 0;
	return side == ENDPOINT_COPY_DST ? IOAT_MASK(CHANERR, DEST_ADDR)
					 : IOAT_MASK(CHANERR, SRC_ADDR);
}

/* A fill of size bytes at dst with the 64-bit pattern, its bytes in
 * little-endian order from dst on. */
static uint32_t op_fill(struct ioat *e, uint64_t pattern, uint64_t dst,
			uint64_t size)
{
	for (size_t i = 0; i < IOAT_BOUNCE; i += 8)
		memcpy(e->bounce + i, &pattern, 8);
	for (uint64_t done = 0; done < size;) {
		size_t n = (size_t)min(size - done, (uint64_t)IOAT_BOUNCE);

		if (endpoint_dma_write(e->bus.hw, dst + done, e->bounce, n))
			return IOAT_MASK(CHANERR, DEST_ADDR);
		done += n;
	}
	return 0;
}

/* May the channel run a descriptor now? */
static bool chan_runnable(const struct ioat *e)
{
	return e->done != e->dmacount && !e->reset_pending &&
	       e->state != IOAT_CHANSTS_HALTED &&
	       e->state != IOAT_CHANSTS_SUSPENDED;
}

/*
 * The descriptor at addr (64-byte aligned) into d: from what was fetched
 * ahead, else one DMA read of it and of the queued descriptors that follow
 * it in the same page (a fault there is this descriptor's: one page, one
 * translation).  0, or -EFAULT when the SMMU refused the read.
 */
static int desc_fetch(struct ioat *e, uint64_t addr, uint8_t *d)
{
	unsigned int queued = (uint16_t)(e->dmacount - e->done), k;

	lockdep_assert_held(&e->lock);
	if (e->pf_n && addr >= e->pf_addr &&
	    addr - e->pf_addr < (uint64_t)e->pf_n * IOAT_DESC_SIZE) {
		memcpy(d, e->pf + (addr - e->pf_addr), IOAT_DESC_SIZE);
		return 0;
	}
	k = (unsigned int)min3((uint64_t)IOAT_PREFETCH, (uint64_t)queued,
			       (4096 - (addr & 4095)) / IOAT_DESC_SIZE);
	if (k < 1)
		k = 1;
	e->pf_n = 0;
	if (endpoint_dma_read(e->bus.hw, addr, e->pf, k * IOAT_DESC_SIZE))
		return -EFAULT;
	e->pf_addr = addr;
	e->pf_n = k;
	memcpy(d, e->pf, IOAT_DESC_SIZE);
	return 0;
}

/* What started a DMA, as the sanitizer's report says it. */
#define IOAT_SAN_FETCH "the fetch of descriptor %" PRIu64 ", at IOVA 0x%" PRIx64
#define IOAT_SAN_COPY                                               \
	"descriptor %" PRIu64 " of the channel (a copy of %" PRIu64 \
	" bytes), at IOVA 0x%" PRIx64
#define IOAT_SAN_FILL                                               \
	"descriptor %" PRIu64 " of the channel (a fill of %" PRIu64 \
	" bytes), at IOVA 0x%" PRIx64

/* Fetch, run and retire one descriptor (naming it to the sanitizer as
 * what started its DMA). */
static void chan_run_desc(struct ioat *e)
{
	uint8_t d[IOAT_DESC_SIZE];
	uint64_t addr = e->next, size;
	uint32_t ctl, op, err = 0;

	lockdep_assert_held(&e->lock);
	e->cdar = addr;
	e->state = IOAT_CHANSTS_ACTIVE;
	if (addr & (IOAT_DESC_SIZE - 1)) {
		chan_halt(e, e->at_chain ? IOAT_MASK(CHANERR, CHAIN_ADDR_VALUE)
					 : IOAT_MASK(CHANERR, NEXT_DESC_ALIGN));
		return;
	}
	san_origin_set(IOAT_SAN_FETCH, e->done, addr, 0);
	if (desc_fetch(e, addr, d)) {
		chan_halt(e, IOAT_MASK(CHANERR, READ_DATA));
		return;
	}
	size = le32(d + IOAT_D_SIZE);
	ctl = le32(d + IOAT_D_CTL);
	op = (ctl >> IOAT_DCTL_OP_SHIFT) & IOAT_VMASK(DCTL, OP);
	san_origin_set(op == IOAT_OP_FILL ? IOAT_SAN_FILL : IOAT_SAN_COPY,
		       e->done, size, addr);
	if (ctl & IOAT_MASK(DCTL, NULL_DESC)) {
		e->stats.nulls++;
	} else if (size > (1ULL << IOAT_XFERCAP_LOG2)) {
		err = IOAT_MASK(CHANERR, LENGTH);
	} else if (op == IOAT_OP_COPY) {
		err = op_copy(e, le64(d + IOAT_D_SRC), le64(d + IOAT_D_DST),
			      size);
		e->stats.copies++;
	} else if (op == IOAT_OP_FILL) {
		err = op_fill(e, le64(d + IOAT_D_SRC), le64(d + IOAT_D_DST),
			      size);
		e->stats.fills++;
	} else {
		err = IOAT_MASK(CHANERR, CONTROL);
	}
	if (err) {
		chan_halt(e, err);
		return;
	}
	e->stats.descriptors++;
	if (!(ctl & IOAT_MASK(DCTL, NULL_DESC)))
		e->stats.bytes += size;
	e->done++;
	e->completed = addr;
	e->next = le64(d + IOAT_D_NEXT);
	e->at_chain = false;
	e->state = e->done == e->dmacount ? IOAT_CHANSTS_DONE
					  : IOAT_CHANSTS_ACTIVE;
	if (!(ctl & IOAT_MASK(DCTL, COMPL_WRITE)))
		goto interrupt;
	if (e->compl_proven && !(ctl & IOAT_MASK(DCTL, INT_EN))) {
		e->compl_val = chansts(e);
		e->compl_pending = true;
		return;
	}
	if (!chan_write_completion(e)) {
		chan_halt(e, IOAT_MASK(CHANERR, COMPLETION_ADDR));
		return;
	}
	e->compl_proven = !e->threaded;
interrupt:
	if (ctl & IOAT_MASK(DCTL, INT_EN)) {
		if (!chan_flush_completion(e)) {
			chan_halt(e, IOAT_MASK(CHANERR, COMPLETION_ADDR));
			return;
		}
		chan_interrupt(e);
	}
}

static void chan_run_one(struct ioat *e)
{
	chan_run_desc(e);
	san_origin_set(NULL, 0, 0, 0);
}

/* Inline: run every queued descriptor now.  Threaded: wake the thread. */
static void chan_kick(struct ioat *e)
{
	bool batch;

	lockdep_assert_held(&e->lock);
	if (e->threaded) {
		pthread_cond_signal(&e->wake);
		return;
	}
	if (!chan_runnable(e))
		return;
	/* one in-flight window for the run (nothing in it waits for a
	 * CMD_SYNC: the MSI-X handler signals an eventfd) */
	batch = endpoint_dma_batch_begin(e->bus.hw);
	e->compl_proven = false;
	while (chan_runnable(e))
		chan_run_one(e);
	if (!chan_flush_completion(e))
		chan_halt(e, IOAT_MASK(CHANERR, COMPLETION_ADDR));
	e->compl_proven = false;
	if (batch)
		endpoint_dma_batch_end(e->bus.hw);
}

static void *chan_thread(void *arg)
{
	struct ioat *e = arg;

	mutex_lock(&e->lock);
	while (!e->stop) {
		if (e->reset_pending) {
			chan_reset(e);
		} else if (chan_runnable(e)) {
			chan_run_one(e);
			/* let register accesses in between descriptors */
			mutex_unlock(&e->lock);
			mutex_lock(&e->lock);
		} else {
			mutex_cond_wait(&e->wake, &e->lock);
		}
	}
	mutex_unlock(&e->lock);
	return NULL;
}

/* A CHAINADDR write arms the channel, unless it is running (threaded,
 * descriptors queued and not halted or suspended). */
static void chan_arm(struct ioat *e)
{
	lockdep_assert_held(&e->lock);
	if (e->state == IOAT_CHANSTS_ACTIVE && chan_runnable(e))
		return;
	e->next = e->chainaddr;
	e->pf_n = 0;
	e->at_chain = true;
	e->done = e->dmacount = 0;
	e->completed = 0;
	e->state = IOAT_CHANSTS_ARMED;
}

static void chan_command(struct ioat *e, uint8_t cmd)
{
	lockdep_assert_held(&e->lock);
	if (cmd & IOAT_MASK(CHANCMD, RESET)) {
		if (e->threaded) {
			e->reset_pending = true;
			pthread_cond_signal(&e->wake);
		} else {
			chan_reset(e);
		}
	} else if (cmd & IOAT_MASK(CHANCMD, ABORT)) {
		/* what is queued is dropped; the channel stops */
		e->done = e->dmacount;
		e->state = IOAT_CHANSTS_HALTED;
		e->stats.aborts++;
	} else if (cmd & IOAT_MASK(CHANCMD, SUSPEND)) {
		if (e->state != IOAT_CHANSTS_HALTED)
			e->state = IOAT_CHANSTS_SUSPENDED;
	} else if (cmd & IOAT_MASK(CHANCMD, RESUME)) {
		if (e->state == IOAT_CHANSTS_SUSPENDED) {
			e->state = e->done == e->dmacount ? IOAT_CHANSTS_DONE
							  : IOAT_CHANSTS_ACTIVE;
			chan_kick(e);
		}
	}
	/* START and APPEND are version 1's doorbells: DMACOUNT is this
	 * version's, and they do nothing */
}

/* ---- registers ----------------------------------------------------------- */

static uint64_t reg_read(struct ioat *e, enum ioat_reg_id r)
{
	lockdep_assert_held(&e->lock);
	switch (r) {
	case R_CHANCNT:
		return 1;
	case R_XFERCAP:
		return IOAT_XFERCAP_LOG2;
	case R_GENCTRL:
		return e->genctrl;
	case R_INTRCTRL: {
		uint64_t v = e->intrctrl;

		if (e->attnstatus) {
			v |= IOAT_MASK(INTRCTRL, INT_STATUS);
			if (e->intrctrl & IOAT_MASK(INTRCTRL, MASTER_INT_EN))
				v |= IOAT_MASK(INTRCTRL, INT);
		}
		return v;
	}
	case R_ATTNSTATUS:
		return e->attnstatus;
	case R_CBVER:
		return IOAT_VERSION;
	case R_INTRDELAY:
		return e->intrdelay;
	case R_CS_STATUS:
		return 0;
	case R_DMACAPABILITY:
		return IOAT_DMACAP_VALUE;
	case R_CHANCTRL:
		return e->chanctrl;
	case R_DMA_COMP:
		return IOAT_DMA_COMP_VALUE;
	case R_CHANCMD:
		return e->reset_pending ? IOAT_MASK(CHANCMD, RESET) : 0;
	case R_DMACOUNT:
		return e->dmacount;
	case R_CHANSTS:
		return chansts(e);
	case R_CHAINADDR:
		return e->chainaddr;
	case R_CHANCMP:
		return e->chancmp;
	case R_CDAR:
		return e->cdar;
	case R_CHANERR:
		return e->chanerr;
	case R_CHANERRMASK:
		return e->chanerrmask;
	default:
		return 0;
	}
}

/* A write of the bits in mask (v in place) to register r. */
static void reg_write(struct ioat *e, enum ioat_reg_id r, uint64_t v,
		      uint64_t mask)
{
	uint64_t old = reg_read(e, r), nv = (old & ~mask) | (v & mask);

	switch (r) {
	case R_GENCTRL:
		e->genctrl = (uint8_t)(nv & IOAT_MASK(GENCTRL, DEBUG_EN));
		break;
	case R_INTRCTRL:
		e->intrctrl = (uint8_t)(nv & IOAT_INTRCTRL_WMASK);
		break;
	case R_INTRDELAY:
		e->intrdelay = (uint16_t)(nv & IOAT_MASK(INTRDELAY, DELAY));
		break;
	case R_CHANCTRL:
		e->chanctrl = (uint16_t)(nv & IOAT_CHANCTRL_WMASK);
		/* rearming acknowledges the channel's attention */
		if (v & mask & IOAT_MASK(CHANCTRL, INT_REARM))
			e->attnstatus &= ~1u;
		break;
	case R_CHANCMD:
		chan_command(e, (uint8_t)(v & mask));
		break;
	case R_DMACOUNT:
		e->dmacount = (uint16_t)nv;
		e->pf_n = 0; /* completed descriptors may have been rewritten */
		e->stats.doorbells++;
		chan_kick(e);
		break;
	case R_CHAINADDR:
		e->chainaddr = nv;
		chan_arm(e);
		break;
	case R_CHANCMP:
		e->chancmp = nv;
		break;
	case R_CHANERR:
		e->chanerr &= ~(uint32_t)(v & mask);
		break;
	case R_CHANERRMASK:
		e->chanerrmask = (uint32_t)(nv & IOAT_CHANERR_ALL);
		break;
	default: /* read-only */
		break;
	}
}

/*
 * An access of width bytes at off: each register it overlaps gets its
 * part (bytes of no register read 0 and ignore writes).
 */
static void bar0_access(struct ioat *e, uint64_t off, unsigned int width,
			uint64_t *val, bool write)
{
	uint64_t out = 0;

	lockdep_assert_held(&e->lock);
	for (unsigned int r = 0; r < R_NR; r++) {
		uint64_t ro = ioat_regs[r].off, re = ro + ioat_regs[r].size;
		uint64_t lo = max(ro, off), hi = min(re, off + width);
		unsigned int rs, as, n;
		uint64_t m;

		if (lo >= hi)
			continue;
		rs = (unsigned int)(lo - ro) * 8;  /* shift in the register */
		as = (unsigned int)(lo - off) * 8; /* shift in the access */
		n = (unsigned int)(hi - lo) * 8;
		m = n == 64 ? ~0ULL : (1ULL << n) - 1;
		if (write)
			reg_write(e, (enum ioat_reg_id)r,
				  ((*val >> as) & m) << rs, m << rs);
		else
			out |= ((reg_read(e, (enum ioat_reg_id)r) >> rs) & m)
			       << as;
	}
	if (!write)
		*val = out;
}

static int ioat_bar_read(void *priv, unsigned int bar, uint64_t off,
			 unsigned int width, uint64_t *val)
{
	struct ioat *e = priv;

	if (bar != 0)
		return -EINVAL;
	mutex_lock(&e->lock);
	e->stats.reg_reads++;
	bar0_access(e, off, width, val, false);
	mutex_unlock(&e->lock);
	return 0;
}

static int ioat_bar_write(void *priv, unsigned int bar, uint64_t off,
			  unsigned int width, uint64_t val)
{
	struct ioat *e = priv;

	if (bar != 0)
		return -EINVAL;
	mutex_lock(&e->lock);
	e->stats.reg_writes++;
	/* a reset the thread has not done yet lands before this write */
	if (e->reset_pending)
		chan_reset(e);
	bar0_access(e, off, width, &val, true);
	mutex_unlock(&e->lock);
	return 0;
}

/* Function-level reset: every register to its power-on value. */
static void ioat_fn_reset(void *priv)
{
	struct ioat *e = priv;

	mutex_lock(&e->lock);
	e->genctrl = e->intrctrl = 0;
	e->attnstatus = 0;
	e->intrdelay = 0;
	e->chanerr = e->chanerrmask = 0;
	chan_reset(e);
	mutex_unlock(&e->lock);
}

static const struct pci_ops ioat_pci_ops = {
	.bar_read = ioat_bar_read,
	.bar_write = ioat_bar_write,
	.reset = ioat_fn_reset,
};

/* ---- creation ------------------------------------------------------------ */

static int ioat_function_create(struct ioat *e)
{
	struct pci_function_desc d = {
		.vendor = IOAT_PCI_VENDOR,
		.device = IOAT_PCI_DEVICE,
		.subsys_vendor = IOAT_PCI_VENDOR,
		.subsys = 0,
		.class_code = IOAT_PCI_CLASS,
		.revision = 0,
		.pm = true,
		.msix_vectors = IOAT_MSIX_VECTORS,
		.msix_table_bar = 0,
		.msix_table_off = IOAT_MSIX_TABLE_OFF,
		.msix_pba_bar = 0,
		.msix_pba_off = IOAT_MSIX_PBA_OFF,
		.pcie = true,
		.flr = true,
		.ops = &ioat_pci_ops,
		.priv = e,
	};
	int ret;

	d.bar[0] = (struct pci_bar_desc){.size = IOAT_BAR0_SIZE,
					 .flags = PCI_BAR_F_64};
	ret = pci_function_create(&d, &e->fn);
	if (ret)
		return ret;
	/* the channel's errors, write 1 to clear, and their mask */
	ret = pci_config_define(e->fn, IOAT_A_PCI_CHANERR_INT,
				IOAT_S_PCI_CHANERR_INT, 0, 0, IOAT_CHANERR_ALL);
	if (!ret)
		ret = pci_config_define(e->fn, IOAT_A_PCI_CHANERRMASK_INT,
					IOAT_S_PCI_CHANERRMASK_INT, 0,
					IOAT_CHANERR_ALL, 0);
	if (ret) {
		pci_function_destroy(e->fn);
		e->fn = NULL;
	}
	return ret;
}

int ioat_create(struct platform *p, const struct ioat_config *cfg,
		struct vfio_device **out)
{
	struct ioat *e;
	int ret;

	if (!cfg || !cfg->bdf)
		return -EINVAL;
	e = ui_zalloc(sizeof(*e));
	if (!e)
		return -ENOMEM;
	mutex_init(&e->lock, DEVICES_LOCK_IOAT);
	pthread_cond_init(&e->wake, NULL);
	e->pm = p->pm;
	e->threaded = cfg->threaded;
	mutex_lock(&e->lock);
	chan_reset(e);
	e->stats.resets = 0;
	mutex_unlock(&e->lock);
	ret = bus_device_add(&e->bus, p->hw, p->iommu, cfg->bdf, cfg->sid,
			     cfg->fw_flags, cfg->group_tag);
	if (ret)
		goto err_free;
	ret = ioat_function_create(e);
	if (ret)
		goto err_bus;
	ret = vfio_pci_create(e->fn, &e->bus.dev, p->pm, cfg->bdf, &e->vdev);
	if (ret)
		goto err_fn;
	if (e->threaded) {
		ret = -pthread_create(&e->thread, NULL, chan_thread, e);
		if (ret)
			goto err_vfio;
		e->thread_started = true;
	}
	*out = e->vdev;
	return 0;

err_vfio:
	vfio_pci_destroy(e->vdev);
err_fn:
	pci_function_destroy(e->fn);
err_bus:
	bus_device_remove(&e->bus);
err_free:
	pthread_cond_destroy(&e->wake);
	mutex_destroy(&e->lock);
	ui_free(e);
	return ret;
}

void ioat_destroy(struct vfio_device *vdev)
{
	struct ioat *e;

	if (!vdev)
		return;
	e = to_ioat(vdev);
	if (e->thread_started) {
		mutex_lock(&e->lock);
		e->stop = true;
		pthread_cond_signal(&e->wake);
		mutex_unlock(&e->lock);
		pthread_join(e->thread, NULL);
	}
	vfio_pci_destroy(e->vdev);
	pci_function_destroy(e->fn);
	bus_device_remove(&e->bus);
	pthread_cond_destroy(&e->wake);
	mutex_destroy(&e->lock);
	ui_free(e);
}

struct pci_function *ioat_function(struct vfio_device *vdev)
{
	return to_ioat(vdev)->fn;
}

void ioat_get_stats(struct vfio_device *vdev, struct ioat_stats *st)
{
	struct ioat *e = to_ioat(vdev);

	mutex_lock(&e->lock);
	*st = e->stats;
	mutex_unlock(&e->lock);
}

bool ioat_idle(struct vfio_device *vdev)
{
	struct ioat *e = to_ioat(vdev);
	bool idle;

	mutex_lock(&e->lock);
	idle = !chan_runnable(e) && !e->reset_pending;
	mutex_unlock(&e->lock);
	return idle;
}
