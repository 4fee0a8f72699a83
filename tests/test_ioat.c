// SPDX-License-Identifier: MIT
/*
 * Tests of the I/OAT register field tables (src/devices/ioat_regs.h): each
 * offset, width and mask is spelled here as the literal value of the
 * public register interface (CB DMA 3.3), not derived from the table, so a
 * wrong row fails.  The device model itself is not yet written; its tests
 * will join this program.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "helpers.h"

#include "devices/ioat_regs.h"

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

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_device_regs),
	cmocka_unit_test(test_channel_regs),
	cmocka_unit_test(test_chanerr_bits),
	cmocka_unit_test(test_descriptor),
};

TEST_MAIN(tests)
