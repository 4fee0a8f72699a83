// SPDX-License-Identifier: MIT
/*
 * Tests of the PCI layer (src/pci): configuration space virtualization
 * (read-only, read-write, write-1-to-clear and reserved bits, BAR and ROM
 * sizing, model registers), the capability list and its walker, golden
 * bytes of the header and of every capability, BAR accesses (registers,
 * plain memory, the MSI-X table and PBA), MSI-X and MSI masking and
 * pending bits, INTx with Interrupt Disable, power states, function-level
 * reset, bad descriptions, a fail-Nth sweep over creation and a lock rule.
 *
 * The device model is this file's own (struct tdev): BAR0 is 64-bit,
 * prefetchable, 16 KiB: page 0 registers (a scratch register, a
 * write-1-to-clear status register, a doorbell that fires the MSI-X vector
 * written to it), page 1 plain memory, the MSI-X table at 0x2000 and the
 * PBA at 0x3000; BAR2 is 32-bit, 256 bytes of registers; a 4 KiB ROM.
 *
 * The golden tests spell the expected bytes from the PCI Local Bus 3.0,
 * PCI PM 1.2 and PCIe 4.0 specifications' offsets and bit positions.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

#include <uiommu/base.h>
#include "pci/pci.h"

#include "pci/pci_internal.h"

#define TDEV_VENDOR 0x1af4
#define TDEV_DEVICE 0x10f0
#define MSIX_N	    8

struct tdev {
	struct pci_function *fn;
	uint64_t scratch;
	uint32_t status; /* W1C */
	unsigned int reads, writes, resets;
	uint8_t ram[4096];
	uint8_t rom[4096];
};

static int tdev_read(void *priv, unsigned int bar, uint64_t off,
		     unsigned int width, uint64_t *val)
{
	struct tdev *t = priv;

	t->reads++;
	if (bar == 0 && off == 0x0)
		*val = t->scratch;
	else if (bar == 0 && off == 0x8)
		*val = t->status;
	else
		*val = 0xdead0000 | (bar << 12) | off;
	return 0;
}

static int tdev_write(void *priv, unsigned int bar, uint64_t off,
		      unsigned int width, uint64_t val)
{
	struct tdev *t = priv;

	t->writes++;
	if (bar == 0 && off == 0x0)
		t->scratch = val;
	else if (bar == 0 && off == 0x8)
		t->status &= ~(uint32_t)val;
	else if (bar == 0 && off == 0x10) /* doorbell: raise vector val */
		return pci_msix_fire(t->fn, (unsigned int)val) < 0 ? -EIO : 0;
	else
		return -EINVAL;
	return 0;
}

static void tdev_reset(void *priv)
{
	struct tdev *t = priv;

	t->resets++;
	t->scratch = 0;
	t->status = 0;
}

static const struct pci_ops tdev_ops = {
	.bar_read = tdev_read,
	.bar_write = tdev_write,
	.reset = tdev_reset,
};

static struct pci_function_desc tdev_desc(struct tdev *t)
{
	struct pci_function_desc d = {
		.vendor = TDEV_VENDOR,
		.device = TDEV_DEVICE,
		.subsys_vendor = 0x1234,
		.subsys = 0x5678,
		.class_code = 0x088000, /* base 08, sub 80, interface 00 */
		.revision = 0x03,
		.int_pin = 1,
		.rom_size = sizeof(t->rom),
		.rom = t->rom,
		.pm = true,
		.msi_vectors = 4,
		.msi_pvm = true,
		.msix_vectors = MSIX_N,
		.msix_table_bar = 0,
		.msix_table_off = 0x2000,
		.msix_pba_bar = 0,
		.msix_pba_off = 0x3000,
		.pcie = true,
		.flr = true,
		.ops = &tdev_ops,
		.priv = t,
	};

	d.bar[0] = (struct pci_bar_desc){
		.size = 0x4000,
		.flags = PCI_BAR_F_64 | PCI_BAR_F_PREFETCH,
		.nr_mmap = 1,
		.mmap = {{.offset = 0x1000, .size = 0x1000, .mem = t->ram}},
	};
	d.bar[2] = (struct pci_bar_desc){.size = 0x100};
	return d;
}

static struct tdev *tdev_new(void)
{
	struct tdev *t = calloc(1, sizeof(*t));
	struct pci_function_desc d;

	assert_non_null(t);
	for (unsigned int i = 0; i < sizeof(t->rom); i++)
		t->rom[i] = (uint8_t)(i * 7);
	d = tdev_desc(t);
	assert_int_equal(pci_function_create(&d, &t->fn), 0);
	return t;
}

static void tdev_free(struct tdev *t)
{
	pci_function_destroy(t->fn);
	free(t);
}

static uint32_t cfg_rd(struct tdev *t, unsigned int off, unsigned int size)
{
	uint32_t v = 0xbadbad;

	assert_int_equal(pci_config_read(t->fn, off, size, &v), 0);
	return v;
}

static void cfg_wr(struct tdev *t, unsigned int off, unsigned int size,
		   uint32_t v)
{
	assert_int_equal(pci_config_write(t->fn, off, size, v), 0);
}

static uint64_t bar_rd(struct tdev *t, unsigned int bar, uint64_t off,
		       unsigned int width)
{
	uint64_t v = 0;

	assert_int_equal(pci_bar_read(t->fn, bar, off, width, &v), 0);
	return v;
}

static void bar_wr(struct tdev *t, unsigned int bar, uint64_t off,
		   unsigned int width, uint64_t v)
{
	assert_int_equal(pci_bar_write(t->fn, bar, off, width, v), 0);
}

static uint32_t fn_rd(struct pci_function *fn, unsigned int off)
{
	uint32_t v = 0xbadbad;

	assert_int_equal(pci_config_read(fn, off, 4, &v), 0);
	return v;
}

/* Expected little-endian bytes at off of a snapshot. */
static void expect_bytes(const uint8_t *cfg, unsigned int off,
			 const uint8_t *want, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (cfg[off + i] != want[i])
			fail_msg("config byte 0x%zx: 0x%02x, want 0x%02x",
				 off + i, cfg[off + i], want[i]);
	}
}

/* ---- golden bytes, from the specifications' offsets ---- */

static void test_golden_header(void **state)
{
	struct tdev *t = tdev_new();
	uint8_t cfg[PCI_CFG_EXP_SIZE];
	/* PCI 3.0 6.1: type-0 header, offsets 0x00..0x3f */
	static const uint8_t want[0x40] = {
		[0x00] = 0xf4, 0x1a,	      /* vendor 1af4 */
		[0x02] = 0xf0, 0x10,	      /* device 10f0 */
		[0x04] = 0x00, 0x00,	      /* command */
		[0x06] = 0x10, 0x00,	      /* status: capabilities list */
		[0x08] = 0x03,		      /* revision */
		[0x09] = 0x00, 0x80, 0x08,    /* interface, sub, base class */
		[0x0e] = 0x00,		      /* header type 0 */
		[0x10] = 0x0c, 0,    0,	   0, /* BAR0: 64-bit (10b), prefetch */
		[0x14] = 0,    0,    0,	   0, /* BAR1: BAR0's upper half */
		[0x18] = 0x00, 0,    0,	   0, /* BAR2: 32-bit memory */
		[0x2c] = 0x34, 0x12, 0x78, 0x56, /* subsystem ids */
		[0x30] = 0,    0,    0,	   0,	 /* ROM: disabled */
		[0x34] = 0x40,			 /* capabilities pointer */
		[0x3c] = 0x00, 0x01,		 /* line, pin INTA */
	};

	(void)state;
	pci_config_snapshot(t->fn, cfg, sizeof(cfg));
	expect_bytes(cfg, 0, want, sizeof(want));
	/* nothing past the capabilities, no extended capability */
	for (unsigned int i = 0xa8; i < PCI_CFG_EXP_SIZE; i++)
		assert_int_equal(cfg[i], 0);
	tdev_free(t);
}

static void test_golden_capabilities(void **state)
{
	struct tdev *t = tdev_new();
	uint8_t cfg[PCI_CFG_EXP_SIZE];
	/* PM 1.2 3.2: ID 01, PMC version 3 (bits 2:0) at +2, PMCSR at +4
	 * with No_Soft_Reset (bit 3) */
	static const uint8_t pm[8] = {0x01, 0x48, 0x03, 0x00,
				      0x08, 0x00, 0x00, 0x00};
	/* PCI 3.0 6.8.1: ID 05; control at +2: MMC=2 (bits 3:1) 0x04,
	 * 64-bit (bit 7) 0x80, per-vector masking (bit 8); address +4/+8,
	 * data +0xc, mask +0x10, pending +0x14 */
	static const uint8_t msi[0x18] = {0x05, 0x60, 0x84, 0x01};
	/* PCI 3.0 6.8.2: ID 11; control: table size - 1 (bits 10:0); table
	 * offset/BIR at +4, PBA offset/BIR at +8 (BIR bits 2:0) */
	static const uint8_t msix[12] = {0x11, 0x6c, 0x07, 0x00, 0x00, 0x20,
					 0x00, 0x00, 0x00, 0x30, 0x00, 0x00};
	/* PCIe 4.0 7.5.3: ID 10; caps +2: version 2, type 0 endpoint;
	 * DevCap +4: MPS 256 B (1), extended tag (bit 5), role-based errors
	 * (bit 15), FLR (bit 28); DevCtl +8: relaxed ordering (bit 4), no
	 * snoop (bit 11), MRRS 512 B (2 at bits 14:12); LnkCap +0xc: 2.5 GT/s
	 * (1), x1 (bits 9:4); LnkSta +0x12 the same; LnkCap2 +0x2c: 2.5 GT/s
	 * (bit 1); LnkCtl2 +0x30: target speed 1 */
	static const uint8_t exp[0x3c] = {
		[0x00] = 0x10, 0x00, 0x02,	    0x00, [0x04] = 0x21, 0x80,
		0x00,	       0x10, [0x08] = 0x10, 0x28, 0x00,		 0x00,
		[0x0c] = 0x11, 0x00, 0x00,	    0x00, [0x10] = 0x00, 0x00,
		0x11,	       0x00, [0x2c] = 0x02, 0x00, 0x00,		 0x00,
		[0x30] = 0x01, 0x00,
	};

	(void)state;
	pci_config_snapshot(t->fn, cfg, sizeof(cfg));
	expect_bytes(cfg, 0x40, pm, sizeof(pm));
	expect_bytes(cfg, 0x48, msi, sizeof(msi));
	expect_bytes(cfg, 0x60, msix, sizeof(msix));
	expect_bytes(cfg, 0x6c, exp, sizeof(exp));
	tdev_free(t);
}

/* MSI without per-vector masking (14 bytes) and no power management: MSI
 * at 0x40, MSI-X at the next dword, 0x50; no PCIe (0x50's Next is 0). */
static void test_golden_msi_no_masking(void **state)
{
	struct tdev t = {0};
	struct pci_function_desc d = tdev_desc(&t);
	struct pci_function *fn;
	uint8_t cfg[PCI_CFG_SIZE];
	/* PCI 3.0 6.8.1: control MMC=0, 64-bit (bit 7) only */
	static const uint8_t msi[0x10] = {0x05, 0x50, 0x80, 0x00};
	static const uint8_t msix[4] = {0x11, 0x00, 0x07, 0x00};

	(void)state;
	d.pm = false;
	d.msi_vectors = 1;
	d.msi_pvm = false;
	d.pcie = false;
	d.flr = false;
	assert_int_equal(pci_function_create(&d, &fn), 0);
	pci_config_snapshot(fn, cfg, sizeof(cfg));
	assert_int_equal(cfg[0x34], 0x40);
	expect_bytes(cfg, 0x40, msi, sizeof(msi));
	expect_bytes(cfg, 0x50, msix, sizeof(msix));
	/* the bytes past the data register are not a mask register */
	assert_int_equal(pci_config_write(fn, 0x4c, 4, 0xffffffff), 0);
	assert_int_equal(fn_rd(fn, 0x4c), 0x0000ffff);
	pci_function_destroy(fn);
}

static void test_capability_walk(void **state)
{
	struct tdev *t = tdev_new();
	uint8_t cfg[PCI_CFG_SIZE];
	uint8_t ids[8];
	unsigned int offs[8];

	(void)state;
	pci_config_snapshot(t->fn, cfg, sizeof(cfg));
	assert_int_equal(pci_walk_capabilities(cfg, ids, offs, 8), 4);
	assert_int_equal(ids[0], 0x01);
	assert_int_equal(offs[0], 0x40);
	assert_int_equal(ids[1], 0x05);
	assert_int_equal(offs[1], 0x48);
	assert_int_equal(ids[2], 0x11);
	assert_int_equal(offs[2], 0x60);
	assert_int_equal(ids[3], 0x10);
	assert_int_equal(offs[3], 0x6c);
	assert_int_equal(pci_walk_capabilities(cfg, ids, offs, 2), 2);
	assert_int_equal(pci_find_capability(cfg, 0x11), 0x60);
	assert_int_equal(pci_find_capability(cfg, 0x09), 0);
	tdev_free(t);

	/* hand-made lists: low pointer bits ignored, a cycle bounded, no
	 * list without the Status bit */
	memset(cfg, 0, sizeof(cfg));
	cfg[0x06] = 0x10;
	cfg[0x34] = 0x43; /* 0x40 */
	cfg[0x40] = 0x09;
	cfg[0x41] = 0x50;
	cfg[0x50] = 0x05;
	cfg[0x51] = 0x40; /* back to the first */
	assert_int_equal(pci_walk_capabilities(cfg, NULL, NULL, 100),
			 PCI_CAP_MAX_WALK);
	assert_int_equal(pci_find_capability(cfg, 0x05), 0x50);
	cfg[0x51] = 0x3c; /* into the header: the end */
	assert_int_equal(pci_walk_capabilities(cfg, NULL, NULL, 100), 2);
	cfg[0x06] = 0;
	assert_int_equal(pci_walk_capabilities(cfg, NULL, NULL, 100), 0);
}

/* ---- configuration space virtualization ---- */

static void test_config_masks(void **state)
{
	struct tdev *t = tdev_new();
	uint32_t v;

	(void)state;
	/* read-only ids */
	cfg_wr(t, 0x00, 4, 0xffffffff);
	assert_int_equal(cfg_rd(t, 0x00, 4), 0x10f01af4);
	cfg_wr(t, 0x08, 4, 0xffffffff);
	assert_int_equal(cfg_rd(t, 0x08, 4), 0x08800003);
	/* command: memory (1), bus master (2), parity (6), SERR (8),
	 * INTx disable (10) are writable; I/O (0) and the rest are not */
	cfg_wr(t, 0x04, 2, 0xffff);
	assert_int_equal(cfg_rd(t, 0x04, 2), 0x0546);
	cfg_wr(t, 0x04, 2, 0);
	assert_int_equal(cfg_rd(t, 0x04, 2), 0);
	/* a byte write touches its byte only */
	cfg_wr(t, 0x05, 1, 0x04);
	assert_int_equal(cfg_rd(t, 0x04, 2), 0x0400);
	cfg_wr(t, 0x04, 1, 0x02);
	assert_int_equal(cfg_rd(t, 0x04, 2), 0x0402);
	/* status: write-1-to-clear error bits, read-only capabilities bit */
	assert_int_equal(
		pci_config_set_bits(t->fn, 0x06, 2, (1u << 13) | (1u << 8)), 0);
	assert_int_equal(cfg_rd(t, 0x06, 2), 0x2110);
	cfg_wr(t, 0x06, 2, 0); /* writing 0 clears nothing */
	assert_int_equal(cfg_rd(t, 0x06, 2), 0x2110);
	cfg_wr(t, 0x06, 2, 1u << 13);
	assert_int_equal(cfg_rd(t, 0x06, 2), 0x0110);
	cfg_wr(t, 0x04, 4, 0xffff0000); /* a dword write of both */
	assert_int_equal(cfg_rd(t, 0x06, 2), 0x0010);
	assert_int_equal(cfg_rd(t, 0x04, 2), 0);
	/* the layer's own status bits are not the model's to set */
	assert_int_equal(pci_config_set_bits(t->fn, 0x06, 2, 1u << 3), -EINVAL);
	assert_int_equal(pci_config_set_bits(t->fn, 0x08, 1, 1), -EINVAL);
	/* interrupt line and cache line read-write, pin read-only */
	cfg_wr(t, 0x3c, 2, 0xffff);
	assert_int_equal(cfg_rd(t, 0x3c, 2), 0x01ff);
	cfg_wr(t, 0x0c, 1, 0x10);
	assert_int_equal(cfg_rd(t, 0x0c, 1), 0x10);
	/* reserved: CardBus CIS, space after the capabilities, extended */
	cfg_wr(t, 0x28, 4, 0xffffffff);
	assert_int_equal(cfg_rd(t, 0x28, 4), 0);
	cfg_wr(t, 0xf0, 4, 0xffffffff);
	assert_int_equal(cfg_rd(t, 0xf0, 4), 0);
	cfg_wr(t, 0x100, 4, 0xffffffff);
	assert_int_equal(cfg_rd(t, 0x100, 4), 0);
	cfg_wr(t, 0xffc, 4, 0xffffffff);
	assert_int_equal(cfg_rd(t, 0xffc, 4), 0);
	/* capability headers are read-only */
	cfg_wr(t, 0x40, 2, 0);
	assert_int_equal(cfg_rd(t, 0x40, 2), 0x4801);
	/* PCIe DevCtl read-write; DevSta's error bits only clear */
	cfg_wr(t, 0x6c + 0x08, 2, 0x000f);
	assert_int_equal(cfg_rd(t, 0x6c + 0x08, 2), 0x000f);
	cfg_wr(t, 0x6c + 0x0a, 2, 0xffff);
	assert_int_equal(cfg_rd(t, 0x6c + 0x0a, 2), 0);
	/* bad accesses */
	assert_int_equal(pci_config_read(t->fn, 0, 3, &v), -EINVAL);
	assert_int_equal(pci_config_read(t->fn, 2, 4, &v), -EINVAL);
	assert_int_equal(pci_config_read(t->fn, 4096, 1, &v), -EINVAL);
	assert_int_equal(pci_config_write(t->fn, 1, 2, 0), -EINVAL);
	tdev_free(t);
}

static void test_bar_sizing(void **state)
{
	struct tdev *t = tdev_new();
	struct pci_function *fn;
	struct pci_function_desc d = {.ops = &tdev_ops};

	(void)state;
	/* 64-bit 16 KiB: the low dword's address bits from 14 up */
	cfg_wr(t, 0x10, 4, 0xffffffff);
	assert_int_equal(cfg_rd(t, 0x10, 4), 0xffffc00c);
	cfg_wr(t, 0x14, 4, 0xffffffff);
	assert_int_equal(cfg_rd(t, 0x14, 4), 0xffffffff);
	cfg_wr(t, 0x10, 4, 0x12345678);
	assert_int_equal(cfg_rd(t, 0x10, 4), 0x1234400c);
	/* 32-bit 256 bytes */
	cfg_wr(t, 0x18, 4, 0xffffffff);
	assert_int_equal(cfg_rd(t, 0x18, 4), 0xffffff00);
	/* no BAR: reads 0 whatever is written */
	for (unsigned int off = 0x1c; off <= 0x24; off += 4) {
		cfg_wr(t, off, 4, 0xffffffff);
		assert_int_equal(cfg_rd(t, off, 4), 0);
	}
	/* ROM 4 KiB: address bits from 12, enable bit 0 */
	cfg_wr(t, 0x30, 4, 0xffffffff);
	assert_int_equal(cfg_rd(t, 0x30, 4), 0xfffff001);
	cfg_wr(t, 0x30, 4, 0xfeed0000);
	assert_int_equal(cfg_rd(t, 0x30, 4), 0xfeed0000);
	tdev_free(t);

	/* a 64-bit BAR of 8 GiB: no low address bit writable; no ROM */
	d.bar[4] = (struct pci_bar_desc){.size = 8ULL << 30,
					 .flags = PCI_BAR_F_64};
	assert_int_equal(pci_function_create(&d, &fn), 0);
	assert_int_equal(pci_config_write(fn, 0x20, 4, 0xffffffff), 0);
	assert_int_equal(pci_config_write(fn, 0x24, 4, 0xffffffff), 0);
	assert_int_equal(fn_rd(fn, 0x20), 0x00000004);
	assert_int_equal(fn_rd(fn, 0x24), 0xfffffffe);
	assert_int_equal(pci_config_write(fn, 0x30, 4, 0xffffffff), 0);
	assert_int_equal(fn_rd(fn, 0x30), 0);
	/* no capabilities: no list */
	assert_int_equal(fn_rd(fn, 0x04) >> 16, 0);
	assert_int_equal(fn_rd(fn, 0x34), 0);
	pci_function_destroy(fn);
}

/* ---- BARs ---- */

static void test_bar_access(void **state)
{
	struct tdev *t = tdev_new();
	uint64_t v;
	uint8_t rom[16];

	(void)state;
	assert_int_equal(pci_bar(t->fn, 0)->size, 0x4000);
	assert_int_equal(pci_bar(t->fn, 1)->size, 0);
	assert_int_equal(pci_bar(t->fn, 2)->size, 0x100);
	assert_int_equal(pci_bar(t->fn, 7)->size, 0);
	/* memory decoding off: no access */
	assert_int_equal(pci_bar_read(t->fn, 0, 0, 4, &v), -EIO);
	assert_int_equal(pci_bar_write(t->fn, 0, 0, 4, 1), -EIO);
	assert_int_equal(t->reads + t->writes, 0);
	cfg_wr(t, 0x04, 2, 0x0002);
	/* registers: the model's ops */
	bar_wr(t, 0, 0x0, 8, 0x1122334455667788ULL);
	assert_int_equal(bar_rd(t, 0, 0x0, 8), 0x1122334455667788ULL);
	assert_int_equal(bar_rd(t, 0, 0x0, 2), 0x7788); /* width-masked */
	t->status = 0x0f;
	bar_wr(t, 0, 0x8, 4, 0x05); /* the model's write-1-to-clear */
	assert_int_equal(bar_rd(t, 0, 0x8, 4), 0x0a);
	assert_int_equal(bar_rd(t, 2, 0x40, 4), 0xdead2040);
	/* plain memory: the model's bytes directly, no op */
	t->reads = t->writes = 0;
	assert_true(pci_bar_is_mmap(t->fn, 0, 0x1000, 0x1000));
	assert_true(pci_bar_is_mmap(t->fn, 0, 0x1ff8, 8));
	assert_false(pci_bar_is_mmap(t->fn, 0, 0x0, 0x1000));
	assert_false(pci_bar_is_mmap(t->fn, 0, 0x1000, 0x1001));
	assert_false(pci_bar_is_mmap(t->fn, 0, 0x2000, 16)); /* MSI-X */
	assert_false(pci_bar_is_mmap(t->fn, 2, 0, 4));
	bar_wr(t, 0, 0x1010, 4, 0xcafef00d);
	bar_wr(t, 0, 0x1018, 8, 0x0102030405060708ULL);
	bar_wr(t, 0, 0x1003, 1, 0xaa);
	assert_int_equal(t->ram[0x10], 0x0d);
	assert_int_equal(t->ram[0x13], 0xca);
	assert_int_equal(t->ram[0x18], 0x08);
	assert_int_equal(t->ram[0x1f], 0x01);
	assert_int_equal(t->ram[0x03], 0xaa);
	assert_int_equal(bar_rd(t, 0, 0x1018, 8), 0x0102030405060708ULL);
	assert_int_equal(bar_rd(t, 0, 0x1012, 2), 0xcafe);
	assert_int_equal(t->reads + t->writes, 0);
	/* bad accesses */
	assert_int_equal(pci_bar_read(t->fn, 0, 0x2, 4, &v), -EINVAL);
	assert_int_equal(pci_bar_read(t->fn, 0, 0x0, 3, &v), -EINVAL);
	assert_int_equal(pci_bar_read(t->fn, 0, 0x4000, 1, &v), -EINVAL);
	assert_int_equal(pci_bar_read(t->fn, 2, 0xfc, 8, &v), -EINVAL);
	assert_int_equal(pci_bar_read(t->fn, 1, 0, 4, &v), -EINVAL);
	assert_int_equal(pci_bar_read(t->fn, 3, 0, 4, &v), -EINVAL);
	assert_int_equal(pci_bar_read(t->fn, 6, 0, 4, &v), -EINVAL);
	/* the MSI-X table takes dwords and qwords only */
	assert_int_equal(pci_bar_read(t->fn, 0, 0x2000, 2, &v), -EINVAL);
	assert_int_equal(pci_bar_write(t->fn, 0, 0x3000, 1, 0), -EINVAL);
	/* the ROM's bytes */
	assert_int_equal(pci_rom_read(t->fn, 4090, rom, sizeof(rom)), 6);
	assert_int_equal(rom[0], (uint8_t)(4090 * 7));
	assert_int_equal(rom[5], (uint8_t)(4095 * 7));
	assert_int_equal(pci_rom_read(t->fn, 4096, rom, 1), 0);
	tdev_free(t);
}

/* ---- interrupts ---- */

struct msg_log {
	unsigned int n;
	unsigned int vector;
	uint64_t addr;
	uint32_t data;
};

static void on_msg(void *ctx, unsigned int vector, uint64_t addr, uint32_t data)
{
	struct msg_log *l = ctx;

	l->n++;
	l->vector = vector;
	l->addr = addr;
	l->data = data;
}

#define MSIX_CTRL 0x62 /* the capability at 0x60, control at +2 */
#define TABLE	  0x2000
#define PBA	  0x3000

static void msix_program(struct tdev *t, unsigned int v, uint64_t addr,
			 uint32_t data)
{
	uint64_t e = TABLE + 16 * v;

	bar_wr(t, 0, e + 0, 8, addr);
	bar_wr(t, 0, e + 8, 4, data);
}

static void test_msix_masking(void **state)
{
	struct tdev *t = tdev_new();
	struct msg_log log = {0};
	struct pci_irq_stats st;

	(void)state;
	for (unsigned int v = 0; v < MSIX_N; v++)
		assert_int_equal(pci_set_msg_handler(t->fn, PCI_IRQ_MSIX, v,
						     on_msg, &log),
				 0);
	assert_int_equal(pci_set_msg_handler(t->fn, PCI_IRQ_MSIX, MSIX_N,
					     on_msg, &log),
			 -EINVAL);
	cfg_wr(t, 0x04, 2, 0x0002); /* memory only */
	/* every entry starts masked, address and data 0 */
	for (unsigned int v = 0; v < MSIX_N; v++) {
		assert_int_equal(bar_rd(t, 0, TABLE + 16 * v, 8), 0);
		assert_int_equal(bar_rd(t, 0, TABLE + 16 * v + 12, 4), 1);
	}
	msix_program(t, 3, 0xfee00000abcd0000ULL | 0x7, 0x4243);
	/* address bits 1:0 are 0; vector control's reserved bits too */
	assert_int_equal(bar_rd(t, 0, TABLE + 48, 4), 0xabcd0004);
	assert_int_equal(bar_rd(t, 0, TABLE + 52, 4), 0xfee00000);
	bar_wr(t, 0, TABLE + 60, 4, 0xfffffffe);
	assert_int_equal(bar_rd(t, 0, TABLE + 60, 4), 0);
	/* not sent: MSI-X disabled, then Bus Master off */
	assert_int_equal(pci_msix_fire(t->fn, 3), -EAGAIN);
	cfg_wr(t, MSIX_CTRL, 2, 0x8000);
	assert_int_equal(pci_msix_fire(t->fn, 3), -EAGAIN);
	assert_int_equal(bar_rd(t, 0, PBA, 8), 0);
	cfg_wr(t, 0x04, 2, 0x0006);
	/* delivered with the entry's address and data */
	assert_int_equal(pci_msix_fire(t->fn, 3), 0);
	assert_int_equal(log.n, 1);
	assert_int_equal(log.vector, 3);
	assert_int_equal(log.addr, 0xfee00000abcd0004ULL);
	assert_int_equal(log.data, 0x4243);
	/* masked vector: pending once, delivered once on unmask */
	bar_wr(t, 0, TABLE + 60, 4, 1);
	assert_int_equal(pci_msix_fire(t->fn, 3), 1);
	assert_int_equal(pci_msix_fire(t->fn, 3), 1);
	assert_int_equal(log.n, 1);
	assert_int_equal(bar_rd(t, 0, PBA, 8), 1u << 3);
	assert_int_equal(bar_rd(t, 0, PBA, 4), 1u << 3);
	bar_wr(t, 0, PBA, 8, 0); /* the PBA is read-only */
	assert_int_equal(bar_rd(t, 0, PBA, 8), 1u << 3);
	bar_wr(t, 0, TABLE + 60, 4, 0);
	assert_int_equal(log.n, 2);
	assert_int_equal(bar_rd(t, 0, PBA, 8), 0);
	/* function mask: pending, delivered when it clears */
	cfg_wr(t, MSIX_CTRL, 2, 0xc000);
	assert_int_equal(cfg_rd(t, MSIX_CTRL, 2), 0xc007);
	assert_int_equal(pci_msix_fire(t->fn, 3), 1);
	assert_int_equal(bar_rd(t, 0, PBA, 8), 1u << 3);
	/* a vector masked both ways stays pending past the function mask */
	msix_program(t, 5, 0xfee01000, 0x55);
	assert_int_equal(pci_msix_fire(t->fn, 5), 1);
	cfg_wr(t, MSIX_CTRL, 2, 0x8000);
	assert_int_equal(log.n, 3);
	assert_int_equal(log.vector, 3);
	assert_int_equal(bar_rd(t, 0, PBA, 8), 1u << 5);
	bar_wr(t, 0, TABLE + 80 + 12, 4, 0);
	assert_int_equal(log.n, 4);
	assert_int_equal(log.vector, 5);
	assert_int_equal(log.data, 0x55);
	/* the model's doorbell fires from its op, no pci lock held */
	bar_wr(t, 0, 0x10, 4, 3);
	assert_int_equal(log.n, 5);
	/* no handler: counted as dropped */
	assert_int_equal(
		pci_set_msg_handler(t->fn, PCI_IRQ_MSIX, 3, NULL, NULL), 0);
	assert_int_equal(pci_msix_fire(t->fn, 3), 0);
	assert_int_equal(log.n, 5);
	assert_int_equal(pci_msix_fire(t->fn, MSIX_N), -EINVAL);
	pci_irq_stats(t->fn, &st);
	assert_int_equal(st.delivered, 5);
	assert_int_equal(st.pended, 4);
	assert_int_equal(st.dropped, 3);
	tdev_free(t);
}

struct race {
	struct tdev *t;
	atomic_uint delivered;
	atomic_bool stop;
	unsigned int fired_ok, fired_pending, fired_bad;
};

static void on_race_msg(void *ctx, unsigned int vector, uint64_t addr,
			uint32_t data)
{
	struct race *r = ctx;

	atomic_fetch_add(&r->delivered, 1);
}

/* The model's thread raises vector 2 (no cmocka assertion off the main
 * thread: it counts what it got). */
static void *race_fire(void *arg)
{
	struct race *r = arg;

	for (unsigned int i = 0; i < 20000; i++) {
		int ret = pci_msix_fire(r->t->fn, 2);

		if (ret == 0)
			r->fired_ok++;
		else if (ret == 1)
			r->fired_pending++;
		else
			r->fired_bad++;
	}
	atomic_store(&r->stop, true);
	return NULL;
}

/*
 * One thread fires while another masks and unmasks the vector through the
 * BAR and the function mask through configuration space: every fire is
 * either delivered at once or held, a held vector is delivered on unmask,
 * and nothing is delivered twice.
 */
static void test_msix_concurrent(void **state)
{
	struct tdev *t = tdev_new();
	struct race r = {.t = t};
	pthread_t th;
	struct pci_irq_stats st;

	(void)state;
	assert_int_equal(pci_set_msg_handler(t->fn, PCI_IRQ_MSIX, 2,
					     on_race_msg, &r),
			 0);
	cfg_wr(t, 0x04, 2, 0x0006);
	cfg_wr(t, MSIX_CTRL, 2, 0x8000);
	msix_program(t, 2, 0xfee00000, 2);
	bar_wr(t, 0, TABLE + 32 + 12, 4, 0);
	assert_int_equal(pthread_create(&th, NULL, race_fire, &r), 0);
	for (unsigned int i = 0; !atomic_load(&r.stop); i++) {
		if (i % 2)
			cfg_wr(t, MSIX_CTRL, 2, i % 4 == 1 ? 0xc000 : 0x8000);
		else
			bar_wr(t, 0, TABLE + 32 + 12, 4, i % 4 == 0);
	}
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(r.fired_bad, 0);
	cfg_wr(t, MSIX_CTRL, 2, 0x8000);
	bar_wr(t, 0, TABLE + 32 + 12, 4, 0);
	assert_int_equal(bar_rd(t, 0, PBA, 8), 0);
	pci_irq_stats(t->fn, &st);
	assert_int_equal(st.delivered, atomic_load(&r.delivered));
	assert_int_equal(st.pended, r.fired_pending);
	/* each fire delivered at once, or held and delivered at most once
	 * (several held fires of one vector are one message) */
	assert_true(st.delivered >= r.fired_ok + (r.fired_pending ? 1 : 0));
	assert_true(st.delivered <= r.fired_ok + r.fired_pending);
	tdev_free(t);
}

#define MSI 0x48

static void test_msi_masking(void **state)
{
	struct tdev *t = tdev_new();
	struct msg_log log = {0};

	(void)state;
	for (unsigned int v = 0; v < 4; v++)
		assert_int_equal(pci_set_msg_handler(t->fn, PCI_IRQ_MSI, v,
						     on_msg, &log),
				 0);
	assert_int_equal(pci_set_msg_handler(t->fn, PCI_IRQ_MSI, 4, on_msg,
					     &log),
			 -EINVAL);
	cfg_wr(t, 0x04, 2, 0x0004);
	cfg_wr(t, MSI + 0x04, 4, 0xfee00003); /* bits 1:0 read-only 0 */
	cfg_wr(t, MSI + 0x08, 4, 0x1);
	cfg_wr(t, MSI + 0x0c, 2, 0x4060);
	assert_int_equal(cfg_rd(t, MSI + 0x04, 4), 0xfee00000);
	assert_int_equal(pci_msi_fire(t->fn, 0), -EAGAIN); /* disabled */
	/* enable with MME = 2 (4 vectors): vector v is data | v */
	cfg_wr(t, MSI + 0x02, 2, 0x0021 | (2 << 4));
	assert_int_equal(cfg_rd(t, MSI + 0x02, 2), 0x01a5);
	assert_int_equal(pci_msi_fire(t->fn, 2), 0);
	assert_int_equal(log.n, 1);
	assert_int_equal(log.addr, 0x1fee00000ULL);
	assert_int_equal(log.data, 0x4062);
	/* mask bits exist for the 4 vectors only */
	cfg_wr(t, MSI + 0x10, 4, 0xffffffff);
	assert_int_equal(cfg_rd(t, MSI + 0x10, 4), 0xf);
	cfg_wr(t, MSI + 0x10, 4, 0x2);
	assert_int_equal(pci_msi_fire(t->fn, 1), 1);
	assert_int_equal(log.n, 1);
	assert_int_equal(cfg_rd(t, MSI + 0x14, 4), 0x2);
	cfg_wr(t, MSI + 0x14, 4, 0); /* pending is read-only */
	assert_int_equal(cfg_rd(t, MSI + 0x14, 4), 0x2);
	cfg_wr(t, MSI + 0x10, 4, 0);
	assert_int_equal(log.n, 2);
	assert_int_equal(log.data, 0x4061);
	assert_int_equal(cfg_rd(t, MSI + 0x14, 4), 0);
	/* two vectors enabled: vector 3 is not sent */
	cfg_wr(t, MSI + 0x02, 2, 0x0011);
	assert_int_equal(pci_msi_fire(t->fn, 3), -EAGAIN);
	assert_int_equal(pci_msi_fire(t->fn, 1), 0);
	assert_int_equal(log.data, 0x4061);
	assert_int_equal(pci_msi_fire(t->fn, 4), -EINVAL);
	tdev_free(t);
}

struct intx_log {
	unsigned int edges;
	bool level;
};

static void on_intx(void *ctx, bool level)
{
	struct intx_log *l = ctx;

	l->edges++;
	l->level = level;
}

static void test_intx(void **state)
{
	struct tdev *t = tdev_new();
	struct intx_log log = {0};
	struct pci_function *fn;
	struct pci_function_desc d = {0};

	(void)state;
	assert_int_equal(pci_set_intx_handler(t->fn, on_intx, &log), 0);
	pci_intx_set(t->fn, true);
	assert_int_equal(log.edges, 1);
	assert_true(log.level);
	assert_int_equal(cfg_rd(t, 0x06, 2), 0x0018); /* interrupt status */
	pci_intx_set(t->fn, true);		      /* no change, no edge */
	assert_int_equal(log.edges, 1);
	/* Interrupt Disable: output off, status still set */
	cfg_wr(t, 0x04, 2, 0x0400);
	assert_int_equal(log.edges, 2);
	assert_false(log.level);
	assert_int_equal(cfg_rd(t, 0x06, 2), 0x0018);
	cfg_wr(t, 0x04, 2, 0);
	assert_int_equal(log.edges, 3);
	assert_true(log.level);
	pci_intx_set(t->fn, false);
	assert_int_equal(log.edges, 4);
	assert_false(log.level);
	assert_int_equal(cfg_rd(t, 0x06, 2), 0x0010);
	/* asserted while disabled: nothing until enabled */
	cfg_wr(t, 0x04, 2, 0x0400);
	pci_intx_set(t->fn, true);
	assert_int_equal(log.edges, 4);
	cfg_wr(t, 0x04, 2, 0);
	assert_int_equal(log.edges, 5);
	/* MSI on: no INTx */
	cfg_wr(t, MSI + 0x02, 2, 0x0001);
	assert_int_equal(log.edges, 6);
	assert_false(log.level);
	tdev_free(t);

	/* no pin: no handler, Interrupt Disable not writable */
	assert_int_equal(pci_function_create(&d, &fn), 0);
	assert_int_equal(pci_set_intx_handler(fn, on_intx, &log), -EINVAL);
	pci_intx_set(fn, true);
	assert_int_equal(pci_config_write(fn, 0x04, 2, 0x0400), 0);
	assert_int_equal(fn_rd(fn, 0x04), 0);
	pci_function_destroy(fn);
}

/* ---- power management, reset ---- */

static void test_power_state(void **state)
{
	struct tdev *t = tdev_new();

	(void)state;
	cfg_wr(t, 0x44, 2, 0x0003); /* D3hot */
	assert_int_equal(cfg_rd(t, 0x44, 2), 0x000b);
	cfg_wr(t, 0x44, 2, 0x0001); /* D1: not supported, ignored */
	assert_int_equal(cfg_rd(t, 0x44, 2), 0x000b);
	cfg_wr(t, 0x44, 2, 0x8100); /* PME bits read-only without PME */
	assert_int_equal(cfg_rd(t, 0x44, 2), 0x0008);
	tdev_free(t);
}

#define DEVCTL (0x6c + 0x08)

static void test_flr(void **state)
{
	struct tdev *t = tdev_new();
	struct intx_log ilog = {0};
	uint8_t before[PCI_CFG_EXP_SIZE], after[PCI_CFG_EXP_SIZE];

	(void)state;
	assert_int_equal(pci_config_define(t->fn, 0x180, 4, 0x11, 0xff00, 0),
			 0);
	pci_config_snapshot(t->fn, before, sizeof(before));
	assert_int_equal(pci_set_intx_handler(t->fn, on_intx, &ilog), 0);
	/* change what software can */
	cfg_wr(t, 0x04, 2, 0x0006);
	cfg_wr(t, 0x10, 4, 0xfe000000);
	cfg_wr(t, 0x3c, 1, 0x0b);
	cfg_wr(t, MSIX_CTRL, 2, 0xc000);
	cfg_wr(t, 0x180, 4, 0xab00);
	msix_program(t, 1, 0xfee00000, 7);
	bar_wr(t, 0, TABLE + 16 + 12, 4, 0);
	bar_wr(t, 0, 0x0, 4, 99);
	assert_int_equal(pci_msix_fire(t->fn, 1), 1);
	cfg_wr(t, MSIX_CTRL, 2, 0x0000);
	pci_intx_set(t->fn, true);
	assert_true(ilog.level);
	/* Initiate FLR: reads 0, resets the function */
	cfg_wr(t, DEVCTL, 2, 0x8000 | 0x2810);
	assert_int_equal(t->resets, 1);
	assert_int_equal(t->scratch, 0);
	assert_false(ilog.level);
	pci_config_snapshot(t->fn, after, sizeof(after));
	assert_memory_equal(before, after, sizeof(before));
	assert_int_equal(cfg_rd(t, DEVCTL, 2), 0x2810);
	cfg_wr(t, 0x04, 2, 0x0002);
	assert_int_equal(bar_rd(t, 0, TABLE + 16, 8), 0);
	assert_int_equal(bar_rd(t, 0, TABLE + 16 + 12, 4), 1);
	assert_int_equal(bar_rd(t, 0, PBA, 8), 0);
	/* the byte write of DevCtl's high byte does it too */
	cfg_wr(t, DEVCTL + 1, 1, 0x80);
	assert_int_equal(t->resets, 2);
	assert_int_equal(cfg_rd(t, 0x04, 2), 0);
	/* the direct call */
	pci_function_reset(t->fn);
	assert_int_equal(t->resets, 3);
	tdev_free(t);

	/* without the FLR capability the bit does nothing */
	t = calloc(1, sizeof(*t));
	assert_non_null(t);
	{
		struct pci_function_desc d = tdev_desc(t);

		d.flr = false;
		assert_int_equal(pci_function_create(&d, &t->fn), 0);
	}
	assert_int_equal(cfg_rd(t, 0x6c + 4, 4) >> 28 & 1, 0);
	cfg_wr(t, 0x04, 2, 0x0002);
	cfg_wr(t, DEVCTL, 2, 0x8000);
	assert_int_equal(t->resets, 0);
	assert_int_equal(cfg_rd(t, 0x04, 2), 0x0002);
	tdev_free(t);
}

static void test_config_define(void **state)
{
	struct tdev *t = tdev_new();

	(void)state;
	/* an error register: bits 7:0 write-1-to-clear, 15:8 read-write */
	assert_int_equal(pci_config_define(t->fn, 0x180, 4, 0x0, 0xff00, 0xff),
			 0);
	assert_int_equal(pci_config_set_bits(t->fn, 0x180, 4, 0x81), 0);
	cfg_wr(t, 0x180, 4, 0xffffff01);
	assert_int_equal(cfg_rd(t, 0x180, 4), 0xff80);
	/* places it may not take */
	assert_int_equal(pci_config_define(t->fn, 0x182, 2, 0, 0, 0), -EBUSY);
	assert_int_equal(pci_config_define(t->fn, 0x40, 4, 0, 0, 0), -EBUSY);
	assert_int_equal(pci_config_define(t->fn, 0xa4, 4, 0, 0, 0), -EBUSY);
	assert_int_equal(pci_config_define(t->fn, 0x3c, 4, 0, 0, 0), -EINVAL);
	assert_int_equal(pci_config_define(t->fn, 0x201, 2, 0, 0, 0), -EINVAL);
	assert_int_equal(pci_config_define(t->fn, 0x200, 1, 0x100, 0, 0),
			 -EINVAL);
	assert_int_equal(pci_config_define(t->fn, 0x200, 4, 0, 1, 1), -EINVAL);
	assert_int_equal(pci_config_set_bits(t->fn, 0x200, 4, 1), -EINVAL);
	/* a read-only model register right after the capabilities */
	assert_int_equal(pci_config_define(t->fn, 0xa8, 4, 0x5a5a, 0, 0), 0);
	cfg_wr(t, 0xa8, 4, 0);
	assert_int_equal(cfg_rd(t, 0xa8, 4), 0x5a5a);
	pci_function_reset(t->fn);
	assert_int_equal(cfg_rd(t, 0x180, 4), 0);
	tdev_free(t);
}

/* ---- creation ---- */

/* Bad description number i: what is wrong (NULL past the last). */
static const char *bad_desc(unsigned int i, struct pci_function_desc *d)
{
	switch (i) {
	case 0:
		d->bar[2].size = 0x180;
		return "BAR size not a power of two";
	case 1:
		d->bar[2].size = 8;
		return "BAR under 16 bytes";
	case 2:
		d->bar[2].size = 1ULL << 32;
		return "32-bit BAR over 2 GiB";
	case 3:
		d->bar[5].size = 16;
		d->bar[5].flags = PCI_BAR_F_64;
		return "64-bit BAR in BAR5";
	case 4:
		d->bar[1].size = 16;
		return "64-bit BAR's upper half used";
	case 5:
		d->bar[3].flags = PCI_BAR_F_PREFETCH;
		return "flags without a BAR";
	case 6:
		d->bar[2].flags = 1u << 7;
		return "unknown flag";
	case 7:
		d->bar[0].mmap[0].offset = 0x800;
		return "mmap not page aligned";
	case 8:
		d->bar[0].mmap[0].size = 0x4000;
		return "mmap past the BAR";
	case 9:
		d->bar[0].mmap[0].offset = 0x2000;
		return "mmap over the MSI-X table";
	case 10:
		d->bar[0].mmap[0].mem = NULL;
		return "mmap without memory";
	case 11:
		d->bar[0].nr_mmap = 2;
		d->bar[0].mmap[1] = d->bar[0].mmap[0];
		return "mmaps overlapping";
	case 12:
		d->bar[0].nr_mmap = 5;
		return "too many mmaps";
	case 13:
		d->ops = NULL;
		return "no ops";
	case 14:
		d->int_pin = 5;
		return "pin past INTD";
	case 15:
		d->rom_size = 1024;
		return "ROM under 2 KiB";
	case 16:
		d->rom = NULL;
		return "ROM without bytes";
	case 17:
		d->msi_vectors = 3;
		return "MSI vectors not a power of two";
	case 18:
		d->msi_vectors = 64;
		return "MSI over 32 vectors";
	case 19:
		d->msi_vectors = 0;
		return "MSI masking without MSI";
	case 20:
		d->msix_vectors = 2049;
		return "MSI-X over 2048 vectors";
	case 21:
		d->msix_table_bar = 3;
		return "MSI-X table in no BAR";
	case 22:
		d->msix_table_bar = 1;
		return "MSI-X table in an upper half";
	case 23:
		d->msix_table_off = 0x3fc0;
		return "MSI-X table past its BAR";
	case 24:
		d->msix_table_off = 0x2004;
		return "MSI-X table misaligned";
	case 25:
		d->msix_pba_bar = 2;
		d->msix_pba_off = 0x100;
		return "MSI-X PBA past its BAR";
	case 26:
		d->msix_pba_off = 0x2040;
		return "MSI-X PBA over the table";
	case 27:
		d->pcie = false;
		return "FLR without PCIe";
	default:
		return NULL;
	}
}

static void test_create_invalid(void **state)
{
	static struct tdev t;
	struct pci_function *fn = NULL;
	const char *what;

	(void)state;
	for (unsigned int i = 0;; i++) {
		struct pci_function_desc d = tdev_desc(&t);

		what = bad_desc(i, &d);
		if (!what)
			break;
		if (pci_function_create(&d, &fn) != -EINVAL)
			fail_msg("%s: not refused", what);
		assert_null(fn);
	}
}

static struct tdev sweep_tdev;
static struct pci_function *sweep_fn;

static int op_create(void *ctx)
{
	struct pci_function_desc d = tdev_desc(&sweep_tdev);

	sweep_fn = NULL;
	return pci_function_create(&d, &sweep_fn);
}

static void undo_create(void *ctx)
{
	assert_non_null(sweep_fn);
	pci_function_destroy(sweep_fn);
	sweep_fn = NULL;
}

static void check_create(void *ctx)
{
	assert_null(sweep_fn);
}

static void test_create_fail_sweep(void **state)
{
	(void)state;
	/* the function, the MSI-X table, the PBA, the handler slots */
	assert_int_equal(test_fail_sweep(op_create, undo_create, check_create,
					 NULL, UIOMMU_FAIL_ALLOC),
			 4);
}

#ifdef UI_LOCKDEP
static void cfg_get_unlocked(void *ctx)
{
	struct tdev *t = ctx;

	/* reads configuration space without the function's lock */
	pci_cfg_get(t->fn, 0, 4);
}

/* A function of the layer called without its lock aborts, naming both. */
static void test_lock_rule_aborts(void **state)
{
	static const char *const want[] = {"pci_cfg_get() must be called "
					   "with &fn->lock held",
					   "fn->lock", NULL};
	struct tdev *t = tdev_new();

	(void)state;
	test_expect_abort(cfg_get_unlocked, t, want);
	tdev_free(t);
}
#endif

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_golden_header),
	cmocka_unit_test(test_golden_capabilities),
	cmocka_unit_test(test_golden_msi_no_masking),
	cmocka_unit_test(test_capability_walk),
	cmocka_unit_test(test_config_masks),
	cmocka_unit_test(test_bar_sizing),
	cmocka_unit_test(test_bar_access),
	cmocka_unit_test(test_msix_masking),
	cmocka_unit_test(test_msix_concurrent),
	cmocka_unit_test(test_msi_masking),
	cmocka_unit_test(test_intx),
	cmocka_unit_test(test_power_state),
	cmocka_unit_test(test_flr),
	cmocka_unit_test(test_config_define),
	cmocka_unit_test(test_create_invalid),
	cmocka_unit_test(test_create_fail_sweep),
#ifdef UI_LOCKDEP
	cmocka_unit_test(test_lock_rule_aborts),
#endif
};

TEST_MAIN(tests)
