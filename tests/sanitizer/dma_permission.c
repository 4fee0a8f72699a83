// SPDX-License-Identifier: MIT
/*
 * Issue 16, kind dma-permission (a write through a read-only mapping): a
 * driver that maps its destination buffer with VFIO_DMA_MAP_FLAG_READ
 * only.  The copy's write is refused (F_PERMISSION); the sanitizer's
 * report shows the MAP, with map_dst_buffer() on its stack, and that it
 * lets the device only read.  With --fixed the buffer is mapped for the
 * device to write as well: nothing to report.
 *
 *   dma_permission dma0|ioat [--fixed]
 */
#include "engine.h"

#define SRC_IOVA 0x100000ull
#define DST_IOVA 0x200000ull

/* The bug: the flags are the source's, copied and not changed. */
static __attribute__((noinline)) void map_dst_buffer(struct eng *e,
						     uint8_t *dst, bool fixed)
{
	uint32_t flags = VFIO_DMA_MAP_FLAG_READ;

	if (fixed)
		flags |= VFIO_DMA_MAP_FLAG_WRITE;
	eng_map(e, dst, DST_IOVA, PG, flags);
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
	map_dst_buffer(&e, dst, fixed);
	if (eng_copy(&e, SRC_IOVA, DST_IOVA, PG))
		printf("the copy failed\n");
	else if (dst[0] != 0x5a)
		return 3;
	eng_unmap(&e, DST_IOVA, PG);
	eng_unmap(&e, SRC_IOVA, PG);
	eng_close(&e);
	return 0;
}
