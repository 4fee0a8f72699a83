// SPDX-License-Identifier: MIT
/*
 * Tests of the emulated Intel I/OAT (src/devices/ioat.c, issue 14's "An
 * emulated Intel I/OAT") and of its register field tables
 * (src/devices/ioat_regs.h).
 *
 * The tables: each offset, width and mask is spelled here as the literal
 * value of the public register interface (CB DMA 3.3), not derived from
 * the table, so a wrong row fails.
 *
 * The model: one I/OAT on a one-SMMU platform behind vfio-pci, driven
 * through the fd front (vfio_fops_*) as a driver drives it: BAR0 by
 * pread/pwrite of region 0 and, in the driver-style case, by plain loads
 * and stores on its trapped mmap; DMA memory mapped with type1 MAP_DMA at
 * IOVA; descriptors written into that memory.  Every op and error path:
 * copy, fill, null, fence, chained descriptors across doorbells, the
 * completion write-back's value, CHANERR's bits for unmapped source,
 * destination and descriptor addresses (nothing written where the SMMU maps
 * nothing), write-1-to-clear, reset/abort/suspend/resume, MSI-X delivered
 * and masked, the threaded mode, FLR, fail-Nth over ioat_create; then the
 * topology's type=ioat devices and the default topology's I/OAT through
 * uiommu_open/uiommu_ioctl.
 *
 * cmocka sets its own SIGSEGV handler around every test with signal(3);
 * trap_signal.c keeps the trap handler in front (as test_vfio_pci does).
 */
#include "helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>
#include <uiommu/uapi.h>

#include "devices/devices.h"
#include "devices/ioat_regs.h"
#include "lib/internal.h"
#include "mem/mmio_trap.h"
#include "pci/pci.h"
#include "system/system.h"
#include "vfio/vfio_device.h"
#include "vfio/vfio_pci.h"

static void test_device_regs(void **state)
{
	(void)state;
	assert_int_equal(IOAT_A_CHANCNT, 0x00);
	assert_int_equal(IOAT_A_XFERCAP, 0x01);
	assert_int_equal(IOAT_A_GENCTRL, 0x02);
	assert_int_equal(IOAT_A_INTRCTRL, 0x03);
	assert_int_equal(IOAT_A_ATTNSTATUS, 0x04);
	assert_int_equal(IOAT_A_CBVER, 0x08);
	assert_int_equal(IOAT_A_INTRDELAY, 0x0c);
	assert_int_equal(IOAT_A_CS_STATUS, 0x0e);
	assert_int_equal(IOAT_A_DMACAPABILITY, 0x10);
	assert_int_equal(IOAT_MASK(INTRCTRL, MASTER_INT_EN), 0x01);
	assert_int_equal(IOAT_MASK(INTRCTRL, INT_STATUS), 0x02);
	assert_int_equal(IOAT_MASK(INTRCTRL, INT), 0x04);
	assert_int_equal(IOAT_MASK(INTRCTRL, MSIX_VECTOR_CONTROL), 0x08);
	assert_int_equal(IOAT_MASK(CBVER, MAJOR), 0xf0);
	assert_int_equal(IOAT_MASK(CBVER, MINOR), 0x0f);
	assert_int_equal(IOAT_MASK(INTRDELAY, DELAY), 0x3fff);
	assert_int_equal(IOAT_MASK(INTRDELAY, COALESCE_SUPPORT), 0x8000);
	assert_int_equal(IOAT_MASK(DMACAP, FILL_BLOCK), 0x40);
	assert_int_equal(IOAT_MASK(DMACAP, DCA), 0x10);
	assert_int_equal(IOAT_MASK(DMACAP, XOR), 0x100);
	assert_int_equal(IOAT_MASK(DMACAP, PQ), 0x200);
	assert_int_equal(IOAT_MASK(DMACAP, DWBES), 0x2000);
	assert_int_equal(IOAT_MASK(DMACAP, RAID16SS), 0x20000);
	assert_int_equal(IOAT_A_PCI_CHANERR_INT, 0x180);
	assert_int_equal(IOAT_A_PCI_CHANERRMASK_INT, 0x184);
}

static void test_channel_regs(void **state)
{
	(void)state;
	assert_int_equal(IOAT_CHAN_BASE, 0x80);
	assert_int_equal(IOAT_A_CHANCTRL, 0x00);
	assert_int_equal(IOAT_A_DMA_COMP, 0x02);
	assert_int_equal(IOAT_A_CHANCMD, 0x04);
	assert_int_equal(IOAT_A_DMACOUNT, 0x06);
	assert_int_equal(IOAT_S_DMACOUNT, 2);
	assert_int_equal(IOAT_A_CHANSTS, 0x08);
	assert_int_equal(IOAT_S_CHANSTS, 8);
	assert_int_equal(IOAT_A_CHAINADDR, 0x10);
	assert_int_equal(IOAT_A_CHANCMP, 0x18);
	assert_int_equal(IOAT_A_CDAR, 0x20);
	assert_int_equal(IOAT_A_CHANERR, 0x28);
	assert_int_equal(IOAT_A_CHANERRMASK, 0x2c);
	assert_int_equal(IOAT_MASK(CHANCTRL, INT_REARM), 0x0001);
	assert_int_equal(IOAT_MASK(CHANCTRL, ERR_COMPLETION_EN), 0x0004);
	assert_int_equal(IOAT_MASK(CHANCTRL, ANY_ERR_ABORT_EN), 0x0008);
	assert_int_equal(IOAT_MASK(CHANCTRL, ERR_INT_EN), 0x0010);
	assert_int_equal(IOAT_MASK(CHANCTRL, DESC_ADDR_SNOOP), 0x0020);
	assert_int_equal(IOAT_MASK(CHANCTRL, IN_USE), 0x0100);
	assert_int_equal(IOAT_MASK(CHANCTRL, COMPL_DCA_EN), 0x0200);
	assert_int_equal(IOAT_MASK(CHANCTRL, PRIORITY), 0xf000);
	assert_int_equal(IOAT_MASK(CHANCMD, START), 0x01);
	assert_int_equal(IOAT_MASK(CHANCMD, APPEND), 0x02);
	assert_int_equal(IOAT_MASK(CHANCMD, SUSPEND), 0x04);
	assert_int_equal(IOAT_MASK(CHANCMD, ABORT), 0x08);
	assert_int_equal(IOAT_MASK(CHANCMD, RESUME), 0x10);
	assert_int_equal(IOAT_MASK(CHANCMD, RESET), 0x20);
	assert_int_equal(IOAT_MASK(CHANSTS, STATUS), 0x7);
	assert_int_equal(IOAT_MASK(CHANSTS, UNAFFILIATED_ERR), 0x8);
	assert_int_equal(IOAT_MASK(CHANSTS, SOFT_ERR), 0x10);
	assert_true(IOAT_MASK(CHANSTS, COMPLETED_DESC) == ~0x3fULL);
	assert_int_equal(IOAT_CHANSTS_HALTED, 3);
	assert_int_equal(IOAT_CHANSTS_ARMED, 4);
}

static void test_chanerr_bits(void **state)
{
	(void)state;
	assert_int_equal(IOAT_MASK(CHANERR, SRC_ADDR), 0x0001);
	assert_int_equal(IOAT_MASK(CHANERR, DEST_ADDR), 0x0002);
	assert_int_equal(IOAT_MASK(CHANERR, NEXT_ADDR), 0x0004);
	assert_int_equal(IOAT_MASK(CHANERR, NEXT_DESC_ALIGN), 0x0008);
	assert_int_equal(IOAT_MASK(CHANERR, CHAIN_ADDR_VALUE), 0x0010);
	assert_int_equal(IOAT_MASK(CHANERR, CHANCMD), 0x0020);
	assert_int_equal(IOAT_MASK(CHANERR, READ_DATA), 0x0100);
	assert_int_equal(IOAT_MASK(CHANERR, WRITE_DATA), 0x0200);
	assert_int_equal(IOAT_MASK(CHANERR, CONTROL), 0x0400);
	assert_int_equal(IOAT_MASK(CHANERR, LENGTH), 0x0800);
	assert_int_equal(IOAT_MASK(CHANERR, COMPLETION_ADDR), 0x1000);
	assert_int_equal(IOAT_MASK(CHANERR, INT_CONFIGURATION), 0x2000);
	assert_int_equal(IOAT_MASK(CHANERR, SOFT), 0x4000);
	assert_int_equal(IOAT_MASK(CHANERR, UNAFFILIATED), 0x8000);
	assert_int_equal(IOAT_MASK(CHANERR, XOR_P_OR_CRC), 0x10000);
	assert_int_equal(IOAT_MASK(CHANERR, XOR_Q), 0x20000);
	assert_int_equal(IOAT_MASK(CHANERR, DESCRIPTOR_COUNT), 0x40000);
}

static void test_descriptor(void **state)
{
	(void)state;
	assert_int_equal(IOAT_DESC_SIZE, 64);
	assert_int_equal(IOAT_D_SIZE, 0);
	assert_int_equal(IOAT_D_CTL, 4);
	assert_int_equal(IOAT_D_SRC, 8);
	assert_int_equal(IOAT_D_DST, 16);
	assert_int_equal(IOAT_D_NEXT, 24);
	assert_int_equal(IOAT_MASK(DCTL, INT_EN), 0x01);
	assert_int_equal(IOAT_MASK(DCTL, SRC_SNOOP_DIS), 0x02);
	assert_int_equal(IOAT_MASK(DCTL, DEST_SNOOP_DIS), 0x04);
	assert_int_equal(IOAT_MASK(DCTL, COMPL_WRITE), 0x08);
	assert_int_equal(IOAT_MASK(DCTL, FENCE), 0x10);
	assert_int_equal(IOAT_MASK(DCTL, NULL_DESC), 0x20);
	assert_int_equal(IOAT_MASK(DCTL, OP), 0xff000000u);
	assert_int_equal(IOAT_OP_COPY, 0x00);
	assert_int_equal(IOAT_OP_FILL, 0x01);
}

/* ---- the model through vfio-pci ------------------------------------------ */

#define PG	  4096u
#define GROUP	  40
#define BDF	  "0000:00:04.0"
#define IOVA	  0x100000ULL
#define NPAGES	  32
#define BAR0	  VFIO_REGION_OFFSET(VFIO_PCI_BAR0_REGION_INDEX)
#define CFG	  VFIO_REGION_OFFSET(VFIO_PCI_CONFIG_REGION_INDEX)
#define CH(r)	  (IOAT_CHAN_BASE + IOAT_A_##r)
#define RING	  (IOVA)      /* page 0: descriptors */
#define COMPL	  (IOVA + PG) /* page 1: the completion word */
#define BUF(n)	  (IOVA + (2 + (n)) * (uint64_t)PG) /* pages 2.. */
#define UNMAPPED  0x40000000ULL
#define DESC(i)	  (RING + (uint64_t)(i)*IOAT_DESC_SIZE)
#define CTL_COPY  IOAT_MASK(DCTL, COMPL_WRITE)
#define CTL_FILL  ((uint32_t)IOAT_OP_FILL << 24 | IOAT_MASK(DCTL, COMPL_WRITE))
#define ST_ACTIVE IOAT_CHANSTS_ACTIVE
#define ST_DONE	  IOAT_CHANSTS_DONE
#define ST_SUSP	  IOAT_CHANSTS_SUSPENDED
#define ST_HALTED IOAT_CHANSTS_HALTED
#define ST_ARMED  IOAT_CHANSTS_ARMED

#define barrier() __asm__ volatile("" : : : "memory")

struct fx {
	struct platform *p;
	struct mm *mm;
	struct vfio_device *vdev;
	int container, group, dev;
	uint8_t *mem; /* NPAGES pages at IOVA */
	bool threaded;
};

static void *host(struct fx *f, uint64_t iova)
{
	return f->mem + (iova - IOVA);
}

static int fx_setup(void **state, bool threaded)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct ioat_config cfg = {.bdf = BDF, .sid = 4, .threaded = threaded};
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.iova = IOVA,
		.size = NPAGES * PG,
	};
	uint16_t cmd;

	assert_non_null(f);
	f->threaded = threaded;
	assert_int_equal(platform_create(NULL, &f->p), 0);
	assert_int_equal(mm_create(f->p->pm, &f->mm), 0);
	test_mm_limits(f->mm);
	assert_int_equal(ioat_create(f->p, &cfg, &f->vdev), 0);
	assert_int_equal(vfio_register_group_dev(f->vdev, GROUP), 0);
	f->container = vfio_fops_open(f->mm, "/dev/vfio/vfio", O_RDWR);
	f->group = vfio_fops_open(f->mm, "/dev/vfio/40", O_RDWR);
	assert_true(f->container >= 0 && f->group >= 0);
	assert_int_equal(vfio_fops_ioctl(f->group, VFIO_GROUP_SET_CONTAINER,
					 &f->container),
			 0);
	assert_int_equal(vfio_fops_ioctl(f->container, VFIO_SET_IOMMU,
					 (void *)(uintptr_t)VFIO_TYPE1v2_IOMMU),
			 0);
	f->dev = vfio_fops_ioctl(f->group, VFIO_GROUP_GET_DEVICE_FD, BDF);
	assert_true(f->dev >= 0);
	assert_int_equal(mm_mmap(f->mm, NPAGES * PG, 0, (void **)&f->mem), 0);
	map.vaddr = (uintptr_t)f->mem;
	assert_int_equal(
		vfio_fops_ioctl(f->container, VFIO_IOMMU_MAP_DMA, &map), 0);
	/* memory decoding (the open's) and bus mastering */
	assert_int_equal(vfio_fops_pread(f->dev, &cmd, 2, CFG + 4), 2);
	cmd |= 0x6;
	assert_int_equal(vfio_fops_pwrite(f->dev, &cmd, 2, CFG + 4), 2);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return fx_setup(state, false);
}

static int setup_threaded(void **state)
{
	return fx_setup(state, true);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	assert_int_equal(vfio_fops_close(f->dev), 0);
	assert_int_equal(vfio_fops_close(f->group), 0);
	assert_int_equal(vfio_fops_close(f->container), 0);
	assert_int_equal(vfio_unregister_group_dev(f->vdev), 0);
	ioat_destroy(f->vdev);
	assert_int_equal(mm_munmap(f->mm, f->mem, NPAGES * PG), 0);
	assert_int_equal(mm_check_invariants(f->mm, stderr), 0);
	mm_destroy(f->mm);
	platform_destroy(f->p);
	free(f);
	return 0;
}

/* Threaded: until the channel's thread has caught up. */
static void settle(struct fx *f)
{
	for (int i = 0; i < 100000 && !ioat_idle(f->vdev); i++)
		usleep(10);
	assert_true(ioat_idle(f->vdev));
}

static uint64_t rd(struct fx *f, unsigned int off, unsigned int n)
{
	uint64_t v = 0;

	assert_int_equal(vfio_fops_pread(f->dev, &v, n, BAR0 + off), (int)n);
	return v;
}

static void wr(struct fx *f, unsigned int off, unsigned int n, uint64_t v)
{
	assert_int_equal(vfio_fops_pwrite(f->dev, &v, n, BAR0 + off), (int)n);
	if (f->threaded)
		settle(f);
}

static uint32_t cfg_rd(struct fx *f, unsigned int off)
{
	uint32_t v = 0;

	assert_int_equal(vfio_fops_pread(f->dev, &v, 4, CFG + off), 4);
	return v;
}

static void cfg_wr(struct fx *f, unsigned int off, unsigned int n, uint32_t v)
{
	assert_int_equal(vfio_fops_pwrite(f->dev, &v, n, CFG + off), (int)n);
}

static uint64_t chansts(struct fx *f)
{
	return rd(f, CH(CHANSTS), 8);
}

static uint64_t completion(struct fx *f)
{
	barrier();
	return *(volatile uint64_t *)host(f, COMPL);
}

static void desc(struct fx *f, unsigned int i, uint32_t size, uint32_t ctl,
		 uint64_t src, uint64_t dst, uint64_t next)
{
	uint8_t *d = host(f, DESC(i));

	memset(d, 0, IOAT_DESC_SIZE);
	memcpy(d + IOAT_D_SIZE, &size, 4);
	memcpy(d + IOAT_D_CTL, &ctl, 4);
	memcpy(d + IOAT_D_SRC, &src, 8);
	memcpy(d + IOAT_D_DST, &dst, 8);
	memcpy(d + IOAT_D_NEXT, &next, 8);
}

/* DPDK's start: reset, chain address (arms), completion address, the
 * error behaviour. */
static void arm(struct fx *f, uint64_t chain)
{
	wr(f, CH(CHANCMD), 1, IOAT_MASK(CHANCMD, RESET));
	assert_int_equal(rd(f, CH(CHANCMD), 1), 0);
	wr(f, CH(CHAINADDR), 8, chain);
	wr(f, CH(CHANCMP), 8, COMPL);
	wr(f, CH(CHANCTRL), 2,
	   IOAT_MASK(CHANCTRL, ANY_ERR_ABORT_EN) |
		   IOAT_MASK(CHANCTRL, ERR_COMPLETION_EN));
	*(volatile uint64_t *)host(f, COMPL) = 0xdeadull;
}

static void fill_pattern(struct fx *f, uint64_t iova, size_t n, uint8_t seed)
{
	uint8_t *p = host(f, iova);

	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

static struct ioat_stats stats(struct fx *f)
{
	struct ioat_stats st;

	ioat_get_stats(f->vdev, &st);
	return st;
}

/* The identity and the device registers a driver reads at probe. */
static void test_identity(void **state)
{
	struct fx *f = *state;
	uint8_t cfg[PCI_CFG_SIZE];

	assert_int_equal(cfg_rd(f, 0), 0x20218086);
	assert_int_equal(cfg_rd(f, 8) >> 8, 0x088000);
	/* BAR0: 64-bit memory, 16 KiB */
	cfg_wr(f, 0x10, 4, 0xffffffff);
	assert_int_equal(cfg_rd(f, 0x10) & ~0xfu, 0xffffc000u);
	assert_int_equal(cfg_rd(f, 0x10) & 0x6u, 0x4u);
	pci_config_snapshot(ioat_function(f->vdev), cfg, sizeof(cfg));
	assert_true(pci_find_capability(cfg, PCI_CAP_ID_PM) != 0);
	assert_true(pci_find_capability(cfg, PCI_CAP_ID_MSIX) != 0);
	assert_true(pci_find_capability(cfg, PCI_CAP_ID_EXP) != 0);
	assert_int_equal(rd(f, IOAT_A_CHANCNT, 1), 1);
	assert_int_equal(rd(f, IOAT_A_XFERCAP, 1), 20);
	assert_int_equal(rd(f, IOAT_A_CBVER, 1), 0x33);
	assert_true(rd(f, IOAT_A_DMACAPABILITY, 4) &
		    IOAT_MASK(DMACAP, FILL_BLOCK));
	assert_false(rd(f, IOAT_A_DMACAPABILITY, 4) &
		     (IOAT_MASK(DMACAP, XOR) | IOAT_MASK(DMACAP, PQ)));
	/* after the open's reset: stopped, no error, nothing queued */
	assert_int_equal(chansts(f), ST_HALTED);
	assert_int_equal(rd(f, CH(CHANERR), 4), 0);
	assert_int_equal(rd(f, CH(CHANCMD), 1), 0);
	assert_int_equal(cfg_rd(f, IOAT_A_PCI_CHANERR_INT), 0);
	/* CHANSTS in two 32-bit halves reads the same */
	wr(f, CH(CHAINADDR), 4, RING);
	wr(f, CH(CHAINADDR) + 4, 4, 0);
	assert_int_equal(rd(f, CH(CHANSTS), 4), ST_ARMED);
	assert_int_equal(rd(f, CH(CHANSTS) + 4, 4), 0);
	assert_int_equal(rd(f, CH(CHAINADDR), 8), RING);
	/* a register the model does not have reads 0 and ignores writes */
	wr(f, 0x40, 4, 0x12345678);
	assert_int_equal(rd(f, 0x40, 4), 0);
}

/* One copy: the data, the completion write-back's value, CHANSTS. */
static void test_copy(void **state)
{
	struct fx *f = *state;
	struct ioat_stats st;

	fill_pattern(f, BUF(0), PG, 1);
	memset(host(f, BUF(1)), 0, PG);
	desc(f, 0, PG, CTL_COPY, BUF(0), BUF(1), DESC(1));
	arm(f, RING);
	assert_int_equal(chansts(f), ST_ARMED);
	wr(f, CH(DMACOUNT), 2, 1);
	assert_memory_equal(host(f, BUF(0)), host(f, BUF(1)), PG);
	/* the completed descriptor's address and DONE, written by DMA */
	assert_int_equal(completion(f), DESC(0) | ST_DONE);
	assert_int_equal(chansts(f), DESC(0) | ST_DONE);
	assert_int_equal(rd(f, CH(CDAR), 8), DESC(0));
	assert_int_equal(rd(f, CH(DMACOUNT), 2), 1);
	st = stats(f);
	assert_int_equal(st.copies, 1);
	assert_int_equal(st.bytes, PG);
	assert_int_equal(st.completions, 1);
	assert_int_equal(st.errors, 0);
}

/* Chained descriptors across doorbells: DMACOUNT is the running count,
 * and only descriptors up to it run. */
static void test_chain_doorbells(void **state)
{
	struct fx *f = *state;

	for (unsigned int i = 0; i < 4; i++) {
		fill_pattern(f, BUF(i), 512, (uint8_t)(10 * i));
		memset(host(f, BUF(4 + i)), 0, 512);
		/* descriptors 0 and 2 write completions, 1 and 3 do not */
		desc(f, i, 512, i % 2 ? 0 : CTL_COPY, BUF(i), BUF(4 + i),
		     DESC(i + 1));
	}
	arm(f, RING);
	wr(f, CH(DMACOUNT), 2, 2);
	assert_memory_equal(host(f, BUF(0)), host(f, BUF(4)), 512);
	assert_memory_equal(host(f, BUF(1)), host(f, BUF(5)), 512);
	assert_int_equal(((uint8_t *)host(f, BUF(6)))[1], 0);
	/* descriptor 0's write-back: more were queued, so ACTIVE */
	assert_int_equal(completion(f), DESC(0) | ST_ACTIVE);
	assert_int_equal(chansts(f), DESC(1) | ST_DONE);
	wr(f, CH(DMACOUNT), 2, 4);
	assert_memory_equal(host(f, BUF(2)), host(f, BUF(6)), 512);
	assert_memory_equal(host(f, BUF(3)), host(f, BUF(7)), 512);
	assert_int_equal(completion(f), DESC(2) | ST_ACTIVE);
	assert_int_equal(chansts(f), DESC(3) | ST_DONE);
	/* the same count again queues nothing */
	wr(f, CH(DMACOUNT), 2, 4);
	assert_int_equal(stats(f).descriptors, 4);
}

/* Descriptors are fetched ahead in one read (at most 8, the queued ones in
 * one page), never across a doorbell: a ring of 2 whose completed entry
 * software rewrites runs the new contents, and a ring entry not yet
 * queued when the channel fetched is read again once it is. */
static void test_fetch_ahead(void **state)
{
	struct fx *f = *state;

	for (unsigned int i = 0; i < 3; i++) {
		fill_pattern(f, BUF(i), 256, (uint8_t)(40 + i));
		memset(host(f, BUF(4 + i)), 0, 256);
	}
	desc(f, 0, 256, CTL_COPY, BUF(0), BUF(4), DESC(1));
	desc(f, 1, 256, CTL_COPY, BUF(1), BUF(5), DESC(0));
	arm(f, RING);
	wr(f, CH(DMACOUNT), 2, 2);
	assert_memory_equal(host(f, BUF(1)), host(f, BUF(5)), 256);
	/* descriptor 0 is done: software reuses it for another copy */
	desc(f, 0, 256, CTL_COPY, BUF(2), BUF(6), DESC(1));
	wr(f, CH(DMACOUNT), 2, 3);
	assert_memory_equal(host(f, BUF(2)), host(f, BUF(6)), 256);
	assert_int_equal(chansts(f), DESC(0) | ST_DONE);
	/* queued one at a time: descriptor 1 is written after the fetch of
	 * descriptor 0, before its own doorbell */
	desc(f, 1, 256, CTL_COPY, BUF(0), BUF(7), DESC(0));
	memset(host(f, BUF(7)), 0, 256);
	wr(f, CH(DMACOUNT), 2, 4);
	assert_memory_equal(host(f, BUF(0)), host(f, BUF(7)), 256);
	assert_int_equal(stats(f).descriptors, 4);
}

/* Inline, one doorbell's run writes its first completion at once and the
 * others as one last value: when the run ends, before an interrupt
 * (a descriptor with INT_EN writes its own), and at a halt without
 * ERR_COMPLETION_EN, where the value is the last completed descriptor's
 * (ACTIVE), as writing every one would have left it. */
static void test_completion_coalesced(void **state)
{
	struct fx *f = *state;
	uint32_t ctl_int = CTL_COPY | IOAT_MASK(DCTL, INT_EN);
	struct ioat_stats st;

	fill_pattern(f, BUF(0), 64, 3);
	for (unsigned int i = 0; i < 8; i++)
		desc(f, i, 64, CTL_COPY, BUF(0), BUF(1 + i), DESC(i + 1));
	arm(f, RING);
	wr(f, CH(DMACOUNT), 2, 8);
	assert_int_equal(completion(f), DESC(7) | ST_DONE);
	assert_memory_equal(host(f, BUF(0)), host(f, BUF(8)), 64);
	st = stats(f);
	assert_int_equal(st.descriptors, 8);
	assert_int_equal(st.completions, 2); /* the first and the last */
	/* descriptor 1 interrupts: its completion is written, not kept */
	desc(f, 1, 64, ctl_int, BUF(0), BUF(2), DESC(2));
	for (unsigned int i = 2; i < 4; i++)
		desc(f, i, 64, CTL_COPY, BUF(0), BUF(1 + i), DESC(i + 1));
	arm(f, RING);
	wr(f, CH(DMACOUNT), 2, 4);
	assert_int_equal(completion(f), DESC(3) | ST_DONE);
	assert_int_equal(stats(f).completions - st.completions, 3);
	/* descriptor 5 faults, without ERR_COMPLETION_EN: the completion
	 * names descriptor 4, the last one done, while more were queued */
	desc(f, 1, 64, CTL_COPY, BUF(0), BUF(2), DESC(2));
	desc(f, 5, 64, CTL_COPY, UNMAPPED, BUF(6), DESC(6));
	arm(f, RING);
	wr(f, CH(CHANCTRL), 2, IOAT_MASK(CHANCTRL, ANY_ERR_ABORT_EN));
	wr(f, CH(DMACOUNT), 2, 8);
	assert_int_equal(chansts(f), DESC(4) | ST_HALTED);
	assert_int_equal(completion(f), DESC(4) | ST_ACTIVE);
	assert_int_equal(rd(f, CH(CHANERR), 4), IOAT_MASK(CHANERR, SRC_ADDR));
}

/* The count wraps at 16 bits: a ring of 2 descriptors run 70000 times. */
static void test_count_wraps(void **state)
{
	struct fx *f = *state;
	uint16_t count = 0;

	desc(f, 0, 8, CTL_COPY, BUF(0), BUF(1), DESC(1));
	desc(f, 1, 8, CTL_COPY, BUF(0), BUF(1), DESC(0));
	arm(f, RING);
	for (unsigned int i = 0; i < 70000 / 500; i++) {
		count = (uint16_t)(count + 500);
		wr(f, CH(DMACOUNT), 2, count);
	}
	assert_int_equal(stats(f).descriptors, 70000);
	assert_int_equal(completion(f), DESC(1) | ST_DONE);
}

/* Fill: the 64-bit pattern's bytes in order, nothing past the size. */
static void test_fill(void **state)
{
	struct fx *f = *state;
	const unsigned int lengths[] = {8, 50, 89, 1024, 3 * PG + 5};
	uint64_t pattern = 0xfedcba9876543210ULL;

	arm(f, RING);
	for (unsigned int i = 0; i < ARRAY_SIZE(lengths); i++) {
		uint8_t *d = host(f, BUF(0));

		memset(d, 0, 4 * PG);
		desc(f, i, lengths[i], CTL_FILL, pattern, BUF(0), DESC(i + 1));
		wr(f, CH(DMACOUNT), 2, i + 1);
		assert_int_equal(completion(f), DESC(i) | ST_DONE);
		for (unsigned int j = 0; j < lengths[i]; j++)
			assert_int_equal(d[j], ((uint8_t *)&pattern)[j % 8]);
		for (unsigned int j = lengths[i]; j < 4 * PG; j++)
			assert_int_equal(d[j], 0);
	}
	assert_int_equal(stats(f).fills, ARRAY_SIZE(lengths));
}

/* A null descriptor moves nothing and completes; a fenced copy is done
 * before the next descriptor reads what it wrote. */
static void test_null_and_fence(void **state)
{
	struct fx *f = *state;

	fill_pattern(f, BUF(0), PG, 3);
	memset(host(f, BUF(1)), 0xaa, PG);
	memset(host(f, BUF(2)), 0, PG);
	desc(f, 0, 0, IOAT_MASK(DCTL, NULL_DESC) | IOAT_MASK(DCTL, COMPL_WRITE),
	     BUF(0), BUF(1), DESC(1));
	arm(f, RING);
	wr(f, CH(DMACOUNT), 2, 1);
	assert_int_equal(completion(f), DESC(0) | ST_DONE);
	assert_int_equal(((uint8_t *)host(f, BUF(1)))[0], 0xaa);
	assert_int_equal(stats(f).nulls, 1);
	desc(f, 1, PG, CTL_COPY | IOAT_MASK(DCTL, FENCE), BUF(0), BUF(1),
	     DESC(2));
	desc(f, 2, PG, CTL_COPY, BUF(1), BUF(2), DESC(3));
	wr(f, CH(DMACOUNT), 2, 3);
	assert_memory_equal(host(f, BUF(0)), host(f, BUF(2)), PG);
	assert_int_equal(completion(f), DESC(2) | ST_DONE);
}

/*
 * Halting on an error: descriptor 1 of a chain fails.  CHANSTS is HALTED
 * with descriptor 0 as the last completed one, CDAR is descriptor 1, the
 * error's bit is set in CHANERR and in the config-space CHANERR_INT, the
 * completion (ERR_COMPLETION_EN) carries the same value, and descriptor 2
 * does not run.
 */
static void expect_halt(struct fx *f, uint32_t size, uint32_t ctl, uint64_t src,
			uint64_t dst, uint64_t next1, uint32_t bit)
{
	desc(f, 0, 64, CTL_COPY, BUF(0), BUF(1), DESC(1));
	desc(f, 1, size, ctl, src, dst, next1);
	desc(f, 2, 64, CTL_COPY, BUF(0), BUF(3), DESC(3));
	memset(host(f, BUF(3)), 0, 64);
	arm(f, RING);
	wr(f, CH(DMACOUNT), 2, 3);
	assert_int_equal(chansts(f), DESC(0) | ST_HALTED);
	assert_int_equal(completion(f), DESC(0) | ST_HALTED);
	assert_int_equal(rd(f, CH(CDAR), 8), DESC(1));
	assert_int_equal(rd(f, CH(CHANERR), 4), bit);
	assert_int_equal(cfg_rd(f, IOAT_A_PCI_CHANERR_INT), bit);
	assert_int_equal(((uint8_t *)host(f, BUF(3)))[0], 0);
	/* write 1 to clear, in both */
	wr(f, CH(CHANERR), 4, bit);
	assert_int_equal(rd(f, CH(CHANERR), 4), 0);
	cfg_wr(f, IOAT_A_PCI_CHANERR_INT, 4, bit);
	assert_int_equal(cfg_rd(f, IOAT_A_PCI_CHANERR_INT), 0);
}

static void test_errors(void **state)
{
	struct fx *f = *state;
	uint8_t *dst = host(f, BUF(2));

	fill_pattern(f, BUF(0), PG, 9);
	/* an unmapped source: invalid source address */
	expect_halt(f, 64, CTL_COPY, UNMAPPED, BUF(2), DESC(2),
		    IOAT_MASK(CHANERR, SRC_ADDR));
	/* an unmapped destination: invalid destination address, and the
	 * SMMU wrote nothing anywhere */
	expect_halt(f, 64, CTL_COPY, BUF(0), UNMAPPED, DESC(2),
		    IOAT_MASK(CHANERR, DEST_ADDR));
	/* a destination running off the mapping: the mapped part may be
	 * written, nothing past it */
	memset(dst, 0, PG);
	expect_halt(f, 2 * PG, CTL_COPY, BUF(0),
		    IOVA + (NPAGES - 1) * (uint64_t)PG, DESC(2),
		    IOAT_MASK(CHANERR, DEST_ADDR));
	/* a next pointer to memory the SMMU does not map: descriptor read
	 * error (descriptor 1 completes; 2 cannot be fetched) */
	desc(f, 0, 64, CTL_COPY, BUF(0), BUF(1), DESC(1));
	desc(f, 1, 64, CTL_COPY, BUF(0), BUF(2), UNMAPPED);
	arm(f, RING);
	wr(f, CH(DMACOUNT), 2, 3);
	assert_int_equal(chansts(f), DESC(1) | ST_HALTED);
	assert_int_equal(rd(f, CH(CDAR), 8), UNMAPPED);
	assert_int_equal(rd(f, CH(CHANERR), 4), IOAT_MASK(CHANERR, READ_DATA));
	wr(f, CH(CHANERR), 4, 0xffffffff);
	cfg_wr(f, IOAT_A_PCI_CHANERR_INT, 4, 0xffffffff);
	/* a misaligned next pointer: next descriptor alignment */
	desc(f, 1, 64, CTL_COPY, BUF(0), BUF(2), DESC(2) + 8);
	arm(f, RING);
	wr(f, CH(DMACOUNT), 2, 3);
	assert_int_equal(chansts(f), DESC(1) | ST_HALTED);
	assert_int_equal(rd(f, CH(CHANERR), 4),
			 IOAT_MASK(CHANERR, NEXT_DESC_ALIGN));
	wr(f, CH(CHANERR), 4, 0xffffffff);
	cfg_wr(f, IOAT_A_PCI_CHANERR_INT, 4, 0xffffffff);
	/* a misaligned chain address: nothing completed since the arming,
	 * so the completion is 0 | HALTED, as DPDK's driver expects */
	arm(f, RING + 8);
	wr(f, CH(DMACOUNT), 2, 1);
	assert_int_equal(chansts(f), ST_HALTED);
	assert_int_equal(completion(f), ST_HALTED);
	assert_int_equal(rd(f, CH(CHANERR), 4),
			 IOAT_MASK(CHANERR, CHAIN_ADDR_VALUE));
	wr(f, CH(CHANERR), 4, 0xffffffff);
	cfg_wr(f, IOAT_A_PCI_CHANERR_INT, 4, 0xffffffff);
	/* past XFERCAP: length; an operation the model lacks: control */
	expect_halt(f, (1u << 20) + 1, CTL_COPY, BUF(0), BUF(2), DESC(2),
		    IOAT_MASK(CHANERR, LENGTH));
	expect_halt(f, 64, 0x87u << 24 | IOAT_MASK(DCTL, COMPL_WRITE), BUF(0),
		    BUF(2), DESC(2), IOAT_MASK(CHANERR, CONTROL));
	assert_int_equal(stats(f).errors, 8);
	/* pci config CHANERRMASK_INT is read/write */
	cfg_wr(f, IOAT_A_PCI_CHANERRMASK_INT, 4, 0x3);
	assert_int_equal(cfg_rd(f, IOAT_A_PCI_CHANERRMASK_INT), 0x3);
}

/* A completion address the SMMU does not map: completion address error. */
static void test_completion_error(void **state)
{
	struct fx *f = *state;

	desc(f, 0, 64, CTL_COPY, BUF(0), BUF(1), DESC(1));
	arm(f, RING);
	wr(f, CH(CHANCMP), 8, UNMAPPED);
	wr(f, CH(DMACOUNT), 2, 1);
	assert_int_equal(chansts(f), DESC(0) | ST_HALTED);
	assert_int_equal(rd(f, CH(CHANERR), 4),
			 IOAT_MASK(CHANERR, COMPLETION_ADDR));
	/* not 8-byte aligned: the same */
	wr(f, CH(CHANERR), 4, 0xffffffff);
	cfg_wr(f, IOAT_A_PCI_CHANERR_INT, 4, 0xffffffff);
	arm(f, RING);
	wr(f, CH(CHANCMP), 8, COMPL + 4);
	wr(f, CH(DMACOUNT), 2, 1);
	assert_int_equal(rd(f, CH(CHANERR), 4),
			 IOAT_MASK(CHANERR, COMPLETION_ADDR));
}

/* DPDK's recovery after a halt: clear CHANERR, reset, chain address of the
 * descriptor after the bad one: CHANSTS is exactly ARMED, and the count
 * starts again from 0. */
static void test_recover(void **state)
{
	struct fx *f = *state;

	fill_pattern(f, BUF(0), PG, 5);
	expect_halt(f, 64, CTL_COPY, UNMAPPED, BUF(2), DESC(2),
		    IOAT_MASK(CHANERR, SRC_ADDR));
	wr(f, CH(CHANCMD), 1, IOAT_MASK(CHANCMD, RESET));
	wr(f, CH(CHAINADDR), 8, DESC(2));
	wr(f, CH(CHANCTRL), 2, IOAT_MASK(CHANCTRL, ERR_COMPLETION_EN));
	wr(f, CH(CHANCMP), 8, COMPL);
	assert_int_equal(chansts(f), ST_ARMED);
	wr(f, CH(DMACOUNT), 2, 1);
	assert_int_equal(completion(f), DESC(2) | ST_DONE);
	assert_memory_equal(host(f, BUF(0)), host(f, BUF(3)), 64);
}

/* CHANCMD: suspend holds queued descriptors, resume runs them, abort drops
 * them, reset returns the channel to its stopped state. */
static void test_commands(void **state)
{
	struct fx *f = *state;

	for (unsigned int i = 0; i < 3; i++)
		desc(f, i, 64, CTL_COPY, BUF(0), BUF(1 + i), DESC(i + 1));
	memset(host(f, BUF(1)), 0, 3 * PG);
	arm(f, RING);
	wr(f, CH(CHANCMD), 1, IOAT_MASK(CHANCMD, SUSPEND));
	assert_int_equal(chansts(f) & 7, ST_SUSP);
	wr(f, CH(DMACOUNT), 2, 1);
	assert_int_equal(stats(f).descriptors, 0);
	assert_int_equal(completion(f), 0xdead);
	wr(f, CH(CHANCMD), 1, IOAT_MASK(CHANCMD, RESUME));
	assert_int_equal(chansts(f), DESC(0) | ST_DONE);
	assert_int_equal(stats(f).descriptors, 1);
	/* suspended with two queued, then aborted: they never run */
	wr(f, CH(CHANCMD), 1, IOAT_MASK(CHANCMD, SUSPEND));
	wr(f, CH(DMACOUNT), 2, 3);
	wr(f, CH(CHANCMD), 1, IOAT_MASK(CHANCMD, ABORT));
	assert_int_equal(chansts(f) & 7, ST_HALTED);
	wr(f, CH(CHANCMD), 1, IOAT_MASK(CHANCMD, RESUME));
	assert_int_equal(stats(f).descriptors, 1);
	assert_int_equal(stats(f).aborts, 1);
	assert_int_equal(rd(f, CH(CHANERR), 4), 0);
	/* reset: CHANCMD reads back without RESET, the channel is stopped
	 * with its registers cleared */
	wr(f, CH(CHANCTRL), 2, IOAT_MASK(CHANCTRL, IN_USE));
	wr(f, CH(CHANCMD), 1, IOAT_MASK(CHANCMD, RESET));
	assert_int_equal(rd(f, CH(CHANCMD), 1), 0);
	assert_int_equal(chansts(f), ST_HALTED);
	assert_int_equal(rd(f, CH(CHANCTRL), 2), 0);
	assert_int_equal(rd(f, CH(CHAINADDR), 8), 0);
	assert_int_equal(rd(f, CH(CHANCMP), 8), 0);
	/* a doorbell on a stopped channel runs nothing */
	wr(f, CH(DMACOUNT), 2, 1);
	assert_int_equal(stats(f).descriptors, 1);
}

/* VFIO_DEVICE_RESET (FLR) restores every register's power-on value. */
static void test_flr(void **state)
{
	struct fx *f = *state;

	expect_halt(f, 64, CTL_COPY, UNMAPPED, BUF(2), DESC(2),
		    IOAT_MASK(CHANERR, SRC_ADDR));
	wr(f, CH(CHANERR), 4, 0); /* left set */
	wr(f, IOAT_A_INTRCTRL, 1, IOAT_MASK(INTRCTRL, MASTER_INT_EN));
	wr(f, CH(CHANERRMASK), 4, 0x5);
	assert_int_equal(vfio_fops_ioctl(f->dev, VFIO_DEVICE_RESET, NULL), 0);
	assert_int_equal(rd(f, CH(CHANERR), 4), 0);
	assert_int_equal(rd(f, CH(CHANERRMASK), 4), 0);
	assert_int_equal(rd(f, IOAT_A_INTRCTRL, 1), 0);
	assert_int_equal(chansts(f), ST_HALTED);
}

/* ---- MSI-X ---------------------------------------------------------------- */

static int efd(void)
{
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

static uint64_t efd_take(int fd)
{
	uint64_t v = 0;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

static void set_msix(struct fx *f, int fd)
{
	struct {
		struct vfio_irq_set s;
		int32_t fd;
	} a = {.s = {.argsz = sizeof(a),
		     .flags = VFIO_IRQ_SET_DATA_EVENTFD |
			      VFIO_IRQ_SET_ACTION_TRIGGER,
		     .index = VFIO_PCI_MSIX_IRQ_INDEX,
		     .count = 1},
	       .fd = fd};

	assert_int_equal(vfio_fops_ioctl(f->dev, VFIO_DEVICE_SET_IRQS, &a), 0);
}

/* One interrupting copy; returns the eventfd's count. */
static uint64_t irq_copy(struct fx *f, int fd, uint16_t *count)
{
	unsigned int i = *count % 8;

	desc(f, i, 64, CTL_COPY | IOAT_MASK(DCTL, INT_EN), BUF(0), BUF(1),
	     DESC((i + 1) % 8));
	*count = (uint16_t)(*count + 1);
	wr(f, CH(DMACOUNT), 2, *count);
	return efd_take(fd);
}

/* MSI-X on completion: only with INTRCTRL's master enable, the channel's
 * interrupt armed (consumed by firing), the vector unmasked. */
static void test_msix(void **state)
{
	struct fx *f = *state;
	const uint16_t rearm = IOAT_MASK(CHANCTRL, INT_REARM) |
			       IOAT_MASK(CHANCTRL, ERR_INT_EN);
	int fd = efd();
	uint16_t n = 0;
	struct ioat_stats st;

	for (unsigned int i = 0; i < 8; i++)
		desc(f, i, 0, 0, 0, 0, DESC((i + 1) % 8));
	arm(f, RING);
	set_msix(f, fd);
	/* no master enable: the channel's attention, no message */
	wr(f, CH(CHANCTRL), 2, rearm);
	assert_int_equal(irq_copy(f, fd, &n), 0);
	assert_int_equal(rd(f, IOAT_A_ATTNSTATUS, 4), 1);
	assert_int_equal(rd(f, IOAT_A_INTRCTRL, 1),
			 IOAT_MASK(INTRCTRL, INT_STATUS));
	assert_int_equal(stats(f).irqs_disabled, 1);
	/* master enable, rearmed: delivered; rearming cleared attention */
	wr(f, IOAT_A_INTRCTRL, 1, IOAT_MASK(INTRCTRL, MASTER_INT_EN));
	wr(f, CH(CHANCTRL), 2, rearm);
	assert_int_equal(rd(f, IOAT_A_ATTNSTATUS, 4), 0);
	assert_int_equal(irq_copy(f, fd, &n), 1);
	assert_int_equal(rd(f, IOAT_A_INTRCTRL, 1),
			 IOAT_MASK(INTRCTRL, MASTER_INT_EN) |
				 IOAT_MASK(INTRCTRL, INT_STATUS) |
				 IOAT_MASK(INTRCTRL, INT));
	/* firing consumed INT_REARM: the next one is not sent */
	assert_int_equal(
		rd(f, CH(CHANCTRL), 2) & IOAT_MASK(CHANCTRL, INT_REARM), 0);
	assert_int_equal(irq_copy(f, fd, &n), 0);
	assert_int_equal(stats(f).irqs_unarmed, 1);
	/* the vector masked in the MSI-X table: held, sent on unmask */
	wr(f, CH(CHANCTRL), 2, rearm);
	/* (vfio-pci drops pwrites to the table: the function's own path) */
	assert_int_equal(
		pci_bar_write(ioat_function(f->vdev), 0, 0x2000 + 12, 4, 1), 0);
	assert_int_equal(irq_copy(f, fd, &n), 0);
	assert_int_equal(
		pci_bar_write(ioat_function(f->vdev), 0, 0x2000 + 12, 4, 0), 0);
	assert_int_equal(efd_take(fd), 1);
	/* an error with ERR_INT_EN interrupts too */
	wr(f, CH(CHANCTRL), 2, rearm);
	desc(f, n % 8, 64, CTL_COPY, UNMAPPED, BUF(1), DESC((n + 1) % 8));
	n++;
	wr(f, CH(DMACOUNT), 2, n);
	assert_int_equal(chansts(f) & 7, ST_HALTED);
	assert_int_equal(efd_take(fd), 1);
	st = stats(f);
	assert_int_equal(st.irqs_sent, 2);
	assert_int_equal(st.irqs_held, 1);
	close(fd);
}

/* ---- threaded mode ------------------------------------------------------ */

/* The doorbell wakes the channel's thread; the driver polls the
 * completion word as DPDK's does. */
static void test_threaded(void **state)
{
	struct fx *f = *state;
	uint16_t v;

	for (unsigned int i = 0; i < 32; i++) {
		fill_pattern(f, BUF(i % 8), 128, (uint8_t)i);
		desc(f, i, 128, CTL_COPY, BUF(i % 8), BUF(8 + i % 16),
		     DESC(i + 1));
	}
	arm(f, RING);
	v = 32;
	/* without the settle of wr(): poll the completion word */
	assert_int_equal(vfio_fops_pwrite(f->dev, &v, 2, BAR0 + CH(DMACOUNT)),
			 2);
	for (int i = 0; i < 1000000 && completion(f) != (DESC(31) | ST_DONE);
	     i++)
		usleep(1);
	assert_int_equal(completion(f), DESC(31) | ST_DONE);
	assert_memory_equal(host(f, BUF(7)), host(f, BUF(8 + 15)), 128);
	assert_int_equal(stats(f).descriptors, 32);
	/* a reset is the thread's: CHANCMD settles to 0 once it is done */
	v = IOAT_MASK(CHANCMD, RESET);
	assert_int_equal(vfio_fops_pwrite(f->dev, &v, 1, BAR0 + CH(CHANCMD)),
			 1);
	settle(f);
	assert_int_equal(rd(f, CH(CHANCMD), 1), 0);
	assert_int_equal(chansts(f), ST_HALTED);
	/* errors halt the same way */
	expect_halt(f, 64, CTL_COPY, UNMAPPED, BUF(2), DESC(2),
		    IOAT_MASK(CHANERR, SRC_ADDR));
}

/* ---- a driver on the trapped BAR mapping ---------------------------------- */

/* DPDK's probe and one copy, with plain loads and stores on BAR0's mmap
 * (every page trapped: the registers' side effects happen in the store). */
static void test_mmap_driver(void **state)
{
	struct fx *f = *state;
	volatile uint8_t *bar;
	struct mmio_trap_stats ts;
	struct ioat_stats before = stats(f), st;
	struct vfio_pci_stats vs, vbefore;
	int retry = 0;

	vfio_pci_get_stats(f->vdev, &vbefore);
	bar = vfio_fops_mmap(f->mm, IOAT_BAR0_SIZE, PROT_READ | PROT_WRITE,
			     MAP_SHARED, f->dev, BAR0);
	assert_true(bar != MAP_FAILED);
#define R8(o)  (*(volatile uint8_t *)(bar + (o)))
#define R16(o) (*(volatile uint16_t *)(bar + (o)))
#define R32(o) (*(volatile uint32_t *)(bar + (o)))
#define R64(o) (*(volatile uint64_t *)(bar + (o)))
	assert_int_equal(R8(IOAT_A_CBVER), 0x33);
	assert_int_equal(R8(IOAT_A_CHANCNT), 1);
	if (R16(CH(CHANCTRL)) & IOAT_MASK(CHANCTRL, IN_USE))
		R16(CH(CHANCTRL)) = 0;
	R32(CH(CHANERR)) = R32(CH(CHANERR));
	R8(CH(CHANCMD)) = IOAT_MASK(CHANCMD, SUSPEND);
	R8(CH(CHANCMD)) = IOAT_MASK(CHANCMD, RESET);
	while ((R8(CH(CHANCMD)) & IOAT_MASK(CHANCMD, RESET)) && retry++ < 200)
		R64(CH(CHAINADDR)) = 0;
	assert_true(retry < 200);
	R16(CH(CHANCTRL)) = IOAT_MASK(CHANCTRL, ANY_ERR_ABORT_EN) |
			    IOAT_MASK(CHANCTRL, ERR_COMPLETION_EN);
	fill_pattern(f, BUF(0), PG, 77);
	memset(host(f, BUF(1)), 0, PG);
	desc(f, 0, PG, CTL_COPY, BUF(0), BUF(1), DESC(1));
	R64(CH(CHAINADDR)) = RING;
	R64(CH(CHANCMP)) = COMPL;
	assert_true((R64(CH(CHANSTS)) & 7) != ST_HALTED);
	R16(CH(DMACOUNT)) = 1;
	/* inline: done when the store returns */
	assert_int_equal(completion(f), DESC(0) | ST_DONE);
	assert_memory_equal(host(f, BUF(0)), host(f, BUF(1)), PG);
	assert_int_equal(R64(CH(CHANSTS)), DESC(0) | ST_DONE);
	assert_int_equal(mmio_trap_get_stats((const void *)bar, &ts), 0);
	st = stats(f);
	assert_int_equal(st.reg_reads - before.reg_reads, ts.reads);
	assert_int_equal(st.reg_writes - before.reg_writes, ts.writes);
	assert_int_equal(ts.writes, 7);
	/* the device's own count of trapped accesses (vfio-pci's) */
	vfio_pci_get_stats(f->vdev, &vs);
	assert_int_equal(vs.trap_reads - vbefore.trap_reads, ts.reads);
	assert_int_equal(vs.trap_writes - vbefore.trap_writes, ts.writes);
#undef R8
#undef R16
#undef R32
#undef R64
	assert_int_equal(mm_munmap(f->mm, (void *)bar, IOAT_BAR0_SIZE), 0);
}

/* ---- creation ------------------------------------------------------------- */

struct create_ctx {
	struct platform *p;
	struct vfio_device *vdev;
	bool threaded;
};

static int create_op(void *ctx)
{
	struct create_ctx *c = ctx;
	struct ioat_config cfg = {
		.bdf = "0000:00:05.0", .sid = 7, .threaded = c->threaded};

	return ioat_create(c->p, &cfg, &c->vdev);
}

static void create_undo(void *ctx)
{
	struct create_ctx *c = ctx;

	ioat_destroy(c->vdev);
}

/* fail-Nth over ioat_create: each failure unwinds (the sanitizer builds
 * find what leaks), and a stream the SMMU lacks or a long name fails. */
static void test_fail_create(void **state)
{
	struct create_ctx c = {0};
	struct ioat_config bad = {.bdf = "0000:00:05.0", .sid = 1u << 30};
	struct ioat_config longname = {.bdf = "01234567890123456789012345678901"
					      "23456789",
				       .sid = 8};
	struct vfio_device *v;

	(void)state;
	assert_int_equal(platform_create(NULL, &c.p), 0);
	assert_true(test_fail_sweep(create_op, create_undo, NULL, &c,
				    UIOMMU_FAIL_ALLOC) >= 4);
	c.threaded = true;
	assert_true(test_fail_sweep(create_op, create_undo, NULL, &c,
				    UIOMMU_FAIL_ALLOC) >= 4);
	assert_true(ioat_create(c.p, &bad, &v) < 0);
	assert_int_equal(ioat_create(c.p, &longname, &v), -EINVAL);
	assert_int_equal(ioat_create(c.p, NULL, &v), -EINVAL);
	platform_destroy(c.p);
}

/* ---- the topology and the fd front ---------------------------------------- */

/* type=ioat devices: bdf parsed and kept in lower case, threaded; every
 * malformed or duplicate address is -EINVAL. */
static void test_topology(void **state)
{
	static const char *const bad[] = {
		"device d type=ioat iommu=s sid=1 group=0",	   /* no bdf */
		"device d bdf=0000:00:04.0 iommu=s sid=1 group=0", /* not PCI */
		"device d iommu=s sid=1 group=0 threaded", /* dma threaded */
		"device d type=ioat bdf=0000:00:04 iommu=s sid=1 group=0",
		"device d type=ioat bdf=0000:00:04.0x iommu=s sid=1 group=0",
		"device d type=ioat bdf=000g:00:04.0 iommu=s sid=1 group=0",
		"device d type=ioat bdf=0000-00:04.0 iommu=s sid=1 group=0",
		"device d type=ioat bdf=0000:00:20.0 iommu=s sid=1 group=0",
		"device d type=ioat bdf=0000:00:04.8 iommu=s sid=1 group=0",
		"device d type=ioat bdf= iommu=s sid=1 group=0",
		"device d type=ioat bdf=0000:00:04.0 bdf=0000:00:05.0 "
		"iommu=s sid=1 group=0",
		"device d type=ioat type=dma bdf=0000:00:04.0 iommu=s sid=1 "
		"group=0",
		"device d type=ioat bdf=0000:00:04.0 iommu=s sid=1 group=0; "
		"device e type=ioat bdf=0000:00:04.0 iommu=s sid=2 group=1",
	};
	struct topology t;
	char text[256];

	(void)state;
	assert_int_equal(topology_parse("iommu s; device d type=ioat "
					"bdf=0000:0A:1f.7 "
					"iommu=s sid=3 group=2 threaded; "
					"device e "
					"iommu=s sid=4 group=3",
					&t),
			 0);
	assert_int_equal(t.nr_devices, 2);
	assert_int_equal(t.devices[0].type, TOPOLOGY_DEV_IOAT);
	assert_string_equal(t.devices[0].bdf, "0000:0a:1f.7");
	assert_true(t.devices[0].threaded);
	assert_int_equal(t.devices[1].type, TOPOLOGY_DEV_DMA);
	assert_string_equal(t.devices[1].bdf, "");
	assert_false(t.devices[1].threaded);
	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(text, sizeof(text), "iommu s; %s", bad[i]);
		assert_int_equal(topology_parse(text, &t), -EINVAL);
	}
}

/* The default topology's I/OAT opens by its PCI address through the
 * public front, as a vfio-pci device; the machine builds a threaded one. */
static void test_front(void **state)
{
	struct vfio_device_info info = {.argsz = sizeof(info)};
	unsigned int type = VFIO_TYPE1v2_IOMMU;
	int c, g, d;
	uint8_t v;

	(void)state;
	for (int pass = 0; pass < 2; pass++) {
		assert_int_equal(uiommu_system_init(pass ? "iommu a; device x "
							   "type=ioat "
							   "bdf=0000:00:07.0 "
							   "iommu=a sid=9 "
							   "group=5 threaded"
							 : NULL),
				 0);
		c = uiommu_open("/dev/vfio/vfio", O_RDWR);
		g = uiommu_open(pass ? "/dev/vfio/5" : "/dev/vfio/2", O_RDWR);
		assert_true(c >= 0 && g >= 0);
		assert_int_equal(uiommu_ioctl(g, VFIO_GROUP_SET_CONTAINER, &c),
				 0);
		assert_int_equal(uiommu_ioctl(c, VFIO_SET_IOMMU,
					      (void *)(uintptr_t)type),
				 0);
		d = uiommu_ioctl(g, VFIO_GROUP_GET_DEVICE_FD,
				 pass ? "0000:00:07.0" : "0000:00:04.0");
		assert_true(d >= 0);
		assert_int_equal(uiommu_ioctl(d, VFIO_DEVICE_GET_INFO, &info),
				 0);
		assert_true(info.flags & VFIO_DEVICE_FLAGS_PCI);
		assert_int_equal(uiommu_pread(d, &v, 1, BAR0 + IOAT_A_CBVER),
				 1);
		assert_int_equal(v, 0x33);
		assert_int_equal(uiommu_close(d), 0);
		assert_int_equal(uiommu_close(g), 0);
		assert_int_equal(uiommu_close(c), 0);
		assert_int_equal(uiommu_system_exit(), 0);
	}
}

#define T(fn)  cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define TT(fn) cmocka_unit_test_setup_teardown(fn, setup_threaded, teardown)

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_device_regs),
	cmocka_unit_test(test_channel_regs),
	cmocka_unit_test(test_chanerr_bits),
	cmocka_unit_test(test_descriptor),
	T(test_identity),
	T(test_copy),
	T(test_chain_doorbells),
	T(test_fetch_ahead),
	T(test_completion_coalesced),
	T(test_count_wraps),
	T(test_fill),
	T(test_null_and_fence),
	T(test_errors),
	T(test_completion_error),
	T(test_recover),
	T(test_commands),
	T(test_flr),
	T(test_msix),
	TT(test_threaded),
	TT(test_fill),
	TT(test_commands),
	T(test_mmap_driver),
	cmocka_unit_test(test_fail_create),
	cmocka_unit_test(test_topology),
	cmocka_unit_test(test_front),
};

TEST_MAIN(tests)
