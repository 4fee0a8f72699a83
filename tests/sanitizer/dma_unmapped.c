// SPDX-License-Identifier: MIT
/*
 * Issue 16, kind dma-unmapped (DMA through no mapping): a driver that
 * unmaps its destination buffer while it still has a copy to make.  The
 * second copy's write goes to an IOVA nothing maps: the SMMU refuses it
 * (F_TRANSLATION), the device reports an error, and the sanitizer's report
 * names the UNMAP that came too early, with release_dst_early() on its
 * stack.  With --fixed the buffer is unmapped after the last copy: nothing
 * to report.
 *
 *   dma_unmapped dma0|ioat [--fixed]
 */
#include "engine.h"

#define SRC_IOVA 0x100000ull
#define DST_IOVA 0x200000ull

/* The bug: the destination goes before its last use. */
static __attribute__((noinline)) void release_dst_early(struct eng *e)
{
	eng_unmap(e, DST_IOVA, PG);
}

static __attribute__((noinline)) void release_dst(struct eng *e)
{
	eng_unmap(e, DST_IOVA, PG);
}

int main(int argc, char **argv)
{
	bool fixed = argc > 2 && !strcmp(argv[2], "--fixed");
	uint8_t *src = eng_buffer(PG), *dst = eng_buffer(PG);
	struct eng e;

	if (argc < 2)
		return 2;
	eng_open(&e, argv[1]);
	memset(src, 0x5a, PG);
	eng_map(&e, src, SRC_IOVA, PG, VFIO_DMA_MAP_FLAG_READ);
	eng_map(&e, dst, DST_IOVA, PG,
		VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE);
	if (eng_copy(&e, SRC_IOVA, DST_IOVA, PG) || dst[PG - 1] != 0x5a)
		return 3;
	if (!fixed)
		release_dst_early(&e);
	memset(src, 0xa5, PG);
	if (eng_copy(&e, SRC_IOVA, DST_IOVA, PG))
		printf("the second copy failed\n");
	if (fixed)
		release_dst(&e);
	eng_unmap(&e, SRC_IOVA, PG);
	eng_close(&e);
	return 0;
}
