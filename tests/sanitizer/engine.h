/* SPDX-License-Identifier: MIT */
/*
 * The two DMA engines of the default topology, driven the way a user-space
 * driver drives them: <linux/vfio.h>, open/ioctl/pread/pwrite and the
 * devices' register layouts (docs/uapi.md, docs/ioat.md), nothing of
 * uiommu.  For the sanitizer's buggy programs (tests/sanitizer/), which
 * include it once each.
 *
 *   dma0          the platform DMA engine, group 0: SRC, DST, LEN, DOORBELL
 *   0000:00:04.0  the I/OAT, group 2: one descriptor at a time on its ring
 *                 (mapped by eng_open at RING_IOVA), DMACOUNT the doorbell
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define PG 4096

/* the platform engine's registers, region 0 */
#define DMA_SRC	     0x00
#define DMA_DST	     0x08
#define DMA_LEN	     0x10
#define DMA_DOORBELL 0x18
#define DMA_STATUS   0x1c
#define DMA_DONE     1

/* the I/OAT's channel 0 registers in BAR0 (region 0) */
#define CH0	       0x80
#define CH_CHANCTRL    (CH0 + 0x00)
#define CH_CHANCMD     (CH0 + 0x04)
#define CH_DMACOUNT    (CH0 + 0x06)
#define CH_CHANSTS     (CH0 + 0x08)
#define CH_CHAINADDR   (CH0 + 0x10)
#define CH_CHANCMP     (CH0 + 0x18)
#define CH_CHANERR     (CH0 + 0x28)
#define CMD_RESET      0x20
#define CTRL_ERR_ABORT 0x0c /* ANY_ERR_ABORT_EN | ERR_COMPLETION_EN */
#define ST_MASK	       7
#define ST_DONE	       1
#define DCTL_COMPL     (1u << 3)

/* the I/OAT's descriptor ring and completion word: one page */
#define RING_IOVA 0xf00000ull

struct eng {
	int container, group, dev;
	bool ioat;
	uint8_t *ring; /* the I/OAT's descriptor page (completion at +2048) */
	uint16_t count;
};

static void die(const char *what)
{
	fprintf(stderr, "%s: %s\n", what, strerror(errno));
	exit(2);
}

static void eng_map(struct eng *e, void *buf, uint64_t iova, uint64_t size,
		    uint32_t flags)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = flags,
		.vaddr = (uintptr_t)buf,
		.iova = iova,
		.size = size,
	};

	if (ioctl(e->container, VFIO_IOMMU_MAP_DMA, &map))
		die("VFIO_IOMMU_MAP_DMA");
}

static void eng_unmap(struct eng *e, uint64_t iova, uint64_t size)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.iova = iova,
		.size = size,
	};

	if (ioctl(e->container, VFIO_IOMMU_UNMAP_DMA, &unmap))
		die("VFIO_IOMMU_UNMAP_DMA");
}

static void wr(struct eng *e, off_t reg, uint64_t v, size_t width)
{
	if (pwrite(e->dev, &v, width, reg) != (ssize_t)width)
		die("pwrite");
}

static uint64_t rd(struct eng *e, off_t reg, size_t width)
{
	uint64_t v = 0;

	if (pread(e->dev, &v, width, reg) != (ssize_t)width)
		die("pread");
	return v;
}

/* Open the engine name ("dma0" or "ioat") in a type1v2 container. */
static void eng_open(struct eng *e, const char *name)
{
	int dev_group;

	memset(e, 0, sizeof(*e));
	e->ioat = !strcmp(name, "ioat");
	dev_group = e->ioat ? 2 : 0;
	e->container = open("/dev/vfio/vfio", O_RDWR);
	if (e->container < 0)
		die("open /dev/vfio/vfio");
	e->group = open(dev_group ? "/dev/vfio/2" : "/dev/vfio/0", O_RDWR);
	if (e->group < 0)
		die("open the group");
	if (ioctl(e->group, VFIO_GROUP_SET_CONTAINER, &e->container) ||
	    ioctl(e->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		die("container");
	e->dev = ioctl(e->group, VFIO_GROUP_GET_DEVICE_FD,
		       e->ioat ? "0000:00:04.0" : "dma0");
	if (e->dev < 0)
		die("VFIO_GROUP_GET_DEVICE_FD");
	if (!e->ioat)
		return;
	e->ring = mmap(NULL, PG, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (e->ring == MAP_FAILED)
		die("mmap");
	memset(e->ring, 0, PG);
	eng_map(e, e->ring, RING_IOVA, PG,
		VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE);
	/* reset, arm at the ring, completions after the descriptors */
	wr(e, CH_CHANCMD, CMD_RESET, 1);
	wr(e, CH_CHAINADDR, RING_IOVA, 8);
	wr(e, CH_CHANCMP, RING_IOVA + 2048, 8);
	wr(e, CH_CHANCTRL, CTRL_ERR_ABORT, 2);
}

/* Copy len bytes from IOVA src to IOVA dst; 0, or -1 when the device
 * reports an error. */
static int eng_copy(struct eng *e, uint64_t src, uint64_t dst, uint64_t len)
{
	uint8_t *d;
	uint32_t ctl = DCTL_COMPL, size = (uint32_t)len;
	uint64_t next;

	if (!e->ioat) {
		wr(e, DMA_SRC, src, 8);
		wr(e, DMA_DST, dst, 8);
		wr(e, DMA_LEN, len, 8);
		wr(e, DMA_DOORBELL, 1, 4);
		return rd(e, DMA_STATUS, 4) == DMA_DONE ? 0 : -1;
	}
	/* descriptor number count, of 64 bytes, in the first half page */
	d = e->ring + (e->count % 32) * 64;
	next = RING_IOVA + ((e->count + 1) % 32) * 64;
	memset(d, 0, 64);
	memcpy(d + 0x00, &size, 4);
	memcpy(d + 0x04, &ctl, 4);
	memcpy(d + 0x08, &src, 8);
	memcpy(d + 0x10, &dst, 8);
	memcpy(d + 0x18, &next, 8);
	e->count++;
	wr(e, CH_DMACOUNT, e->count, 2);
	return (rd(e, CH_CHANSTS, 8) & ST_MASK) == ST_DONE ? 0 : -1;
}

static void eng_close(struct eng *e)
{
	if (e->ioat)
		eng_unmap(e, RING_IOVA, PG);
	close(e->dev);
	close(e->group);
	close(e->container);
}

/* A page-aligned buffer of the program's own memory. */
static uint8_t *eng_buffer(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap");
	return p;
}
