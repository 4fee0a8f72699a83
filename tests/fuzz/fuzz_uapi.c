// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness of the in-process VFIO uAPI (uiommu_open, uiommu_ioctl,
 * uiommu_pread/pwrite, uiommu_mmap, ...).
 *
 * One system serves every input (topology below).  Each input maps three
 * regions of the address space (plain, 2 MiB-backed, read-only), may turn
 * adoption of the program's own memory on (as the preload library does),
 * and decodes the rest into operations on up to NR_SLOTS fds:
 * open container/group/device, SET_CONTAINER/UNSET, SET_IOMMU, MAP/UNMAP
 * (also VADDR and GET_DIRTY_BITMAP), dirty tracking, IOPF, region access,
 * DMA-engine copies, mmap of device regions, discards and unmaps of the
 * regions, any ioctl with fuzzed bytes, and closes in any order; and
 * iommufd: /dev/iommu, the device cdevs, IOAS alloc/map/unmap/copy/
 * allow/ranges/option, HWPT_ALLOC, DESTROY, bind and attach of a cdev.  After the
 * last operation every fd is closed (in an order the input picks) and the
 * invariants must hold: no fd left open, no locked memory (the process's
 * or the user's), the mm's and the
 * physical memory's checkers clean, every frame back to the count it had
 * before the first operation.  Any violation aborts (a finding).
 *
 * Deterministic per input: every input starts from the same state (the
 * checks say so), and the threaded SMMU's results do not depend on
 * scheduling.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <uiommu/uapi.h>
#include "system/system.h"
#include "iommufd/iommufd_uapi.h"
#include "vfio/vfio.h"
#include "vfio/vfio_device.h"
#include "vfio/vfio_uapi_cdev.h"

#define NR_SLOTS      8
#define NR_REGIONS    3
#define NR_BARMAPS    4
#define BAD_PTR	      ((void *)16)
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * One system for the whole run (building one per input would cost more
 * than the input): a coherent SMMU with a plain device, a group of two
 * (one can stall, one issues page requests), a non-coherent SMMU with a
 * no-snoop stalling device, and a threaded SMMU.  Every input must leave
 * it as it found it, which the checks after each input verify.
 */
static const char topology[] = "iommu s; iommu t noncoherent; iommu u "
			       "threaded; "
			       "device dma0 iommu=s sid=1 group=0; "
			       "device e iommu=s sid=2 group=1 stall; "
			       "device f iommu=s sid=3 group=1 pri; "
			       "device n iommu=t sid=1 group=2 nosnoop stall; "
			       "device w iommu=u sid=1 group=3 stall";

static const char *const dev_names[] = {
	"dma0", "e", "f", "n", "w", "nope", "", "dma1",
};

static const unsigned long iommu_types[] = {
	VFIO_TYPE1v2_IOMMU,
	VFIO_TYPE1_IOMMU,
	VFIO_TYPE1_NESTING_IOMMU,
	VFIO_NOIOMMU_IOMMU,
	0,
	12345,
};

static const unsigned long ioctls[] = {
	VFIO_GET_API_VERSION,
	VFIO_CHECK_EXTENSION,
	VFIO_SET_IOMMU,
	VFIO_GROUP_GET_STATUS,
	VFIO_GROUP_SET_CONTAINER,
	VFIO_GROUP_UNSET_CONTAINER,
	VFIO_GROUP_GET_DEVICE_FD,
	VFIO_DEVICE_GET_INFO,
	VFIO_DEVICE_GET_REGION_INFO,
	VFIO_DEVICE_GET_IRQ_INFO,
	VFIO_DEVICE_SET_IRQS,
	VFIO_DEVICE_RESET,
	VFIO_DEVICE_GET_PCI_HOT_RESET_INFO,
	VFIO_DEVICE_FEATURE,
	VFIO_IOMMU_GET_INFO,
	VFIO_IOMMU_MAP_DMA,
	VFIO_IOMMU_UNMAP_DMA,
	VFIO_IOMMU_DIRTY_PAGES,
	VFIO_IOMMU_ENABLE_IOPF,
	VFIO_IOMMU_ENABLE,
	_IO(VFIO_TYPE, VFIO_BASE + 40),
	VFIO_DEVICE_BIND_IOMMUFD,
	VFIO_DEVICE_ATTACH_IOMMUFD_PT,
	VFIO_DEVICE_DETACH_IOMMUFD_PT,
	IOMMU_DESTROY,
	IOMMU_IOAS_ALLOC,
	IOMMU_IOAS_IOVA_RANGES,
	IOMMU_IOAS_ALLOW_IOVAS,
	IOMMU_IOAS_MAP,
	IOMMU_IOAS_COPY,
	IOMMU_IOAS_UNMAP,
	IOMMU_OPTION,
	IOMMU_VFIO_IOAS,
	IOMMU_HWPT_ALLOC,
	IOMMU_GET_HW_INFO,
	IOMMU_HWPT_SET_DIRTY_TRACKING,
	IOMMU_HWPT_GET_DIRTY_BITMAP,
	IOMMU_HWPT_INVALIDATE,
	_IO(IOMMUFD_TYPE, 0x9f),
};

static const uint64_t iova_bases[] = {
	0,	   0x10000,    0x100000,   0x200000,
	0x8000000, 0xfee00000, 1ULL << 47, 1ULL << 63,
};

static const uint64_t magic_u64[] = {
	0,
	1,
	4095,
	4096,
	0x10000,
	1ULL << 20,
	2ULL << 20,
	1ULL << 31,
	1ULL << 32,
	1ULL << 40,
	1ULL << 48,
	1ULL << 63,
	UINT64_MAX,
	UINT64_MAX - 4095,
	(uint64_t)INT64_MAX,
	0x7fffffff,
};

static const size_t region_sizes[NR_REGIONS] = {64 << 10, 2 << 20, 16 << 10};
static const unsigned int region_flags[NR_REGIONS] = {0, MM_MAP_HUGE,
						      MM_MAP_RDONLY};

struct input {
	const uint8_t *p;
	size_t n;
};

struct state {
	struct mm *mm;
	int fds[NR_SLOTS];
	uint8_t *regions[NR_REGIONS];
	struct {
		void *addr;
		size_t len;
	} bars[NR_BARMAPS];
	uint8_t scratch[4096] __attribute__((aligned(4096)));
	uint8_t bitmap[4096] __attribute__((aligned(8)));
};

static struct state st;
static bool trace;    /* $FUZZ_UAPI_TRACE: each operation and its errno */
static bool adopting; /* this input turned adoption on */
#define FINDING(...)                                        \
	do {                                                \
		fprintf(stderr, "fuzz_uapi: " __VA_ARGS__); \
		fputc('\n', stderr);                        \
		abort();                                    \
	} while (0)

/*
 * The program's own memory (private anonymous, not a region): with
 * adoption on (the preload library's mode) a pin adopts it.  Guard pages
 * on both sides keep adoption from spreading to the harness's neighbours;
 * after each input it is unmapped through mm and mapped afresh.
 */
#define FOREIGN_PAGES 16
static uint8_t *foreign;

static void foreign_map(void)
{
	void *p = mmap(foreign, FOREIGN_PAGES * 4096, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);

	if (p == MAP_FAILED)
		FINDING("mmap of the foreign area: %d", errno);
	memset(foreign, 0x5a, FOREIGN_PAGES * 4096);
}

static uint8_t u8(struct input *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

/* little endian; the reads are sequenced, as the format needs */
static uint16_t u16(struct input *in)
{
	uint16_t lo = u8(in);

	return (uint16_t)(lo | u8(in) << 8);
}

static uint32_t u32(struct input *in)
{
	uint32_t lo = u16(in);

	return lo | (uint32_t)u16(in) << 16;
}

static uint64_t u64(struct input *in)
{
	uint64_t lo = u32(in);

	return lo | (uint64_t)u32(in) << 32;
}

/* A value: often an interesting one, sometimes raw bits. */
static uint64_t value(struct input *in)
{
	uint8_t sel = u8(in);

	if (sel < 0x80)
		return magic_u64[sel % ARRAY_SIZE(magic_u64)] +
		       (sel & 0x40 ? 4096 : 0);
	if (sel < 0xc0)
		return (uint64_t)(sel & 0x3f) * 4096;
	return u64(in);
}

static uint64_t iova(struct input *in)
{
	uint8_t sel = u8(in);

	if (sel == 0xff)
		return u64(in);
	return iova_bases[sel & 7] + (uint64_t)(sel >> 3) * 4096;
}

static uint64_t size(struct input *in)
{
	uint8_t sel = u8(in);

	if (sel >= 0xf0)
		return value(in);
	return (uint64_t)(sel + 1) * 4096;
}

static uint64_t vaddr(struct input *in)
{
	uint8_t sel = u8(in), off = u8(in);
	unsigned int r = sel % (NR_REGIONS + 3);

	if (r < NR_REGIONS)
		return (uintptr_t)st.regions[r] +
		       ((uint64_t)off * 4096) % region_sizes[r] +
		       (sel & 0x80 && off & 1 ? 1 : 0); /* or unaligned */
	if (r == NR_REGIONS)
		return (uintptr_t)foreign + (off % FOREIGN_PAGES) * 4096;
	if (r == NR_REGIONS + 1)
		return (uintptr_t)BAD_PTR;
	return value(in);
}

/*
 * What the harness knows of its fds, to check isolation: after a
 * successful v2 UNMAP_DMA of [iova, ...) nothing is mapped there in that
 * container, so no device of a group attached to it may reach iova.  Only
 * what the calls' results prove is recorded; anything unsure is forgotten
 * (a check not made rather than a false finding).
 */
#define MAX_FD 1024
enum fd_kind { FD_NONE, FD_CONTAINER, FD_GROUP, FD_DEVICE };
static struct fd_meta {
	enum fd_kind kind;
	int link; /* group: its container's fd; device: its group's fd */
	bool v2;  /* container: a v2 (or nesting) backend set */
} meta[MAX_FD];

static struct fd_meta *fd_meta(int fd)
{
	return fd >= 0 && fd < MAX_FD ? &meta[fd] : NULL;
}

static void meta_forget(int fd)
{
	if (!fd_meta(fd))
		return;
	meta[fd] = (struct fd_meta){FD_NONE, -1, false};
	for (int i = 0; i < MAX_FD; i++)
		if (meta[i].link == fd)
			meta[i].link = -1;
}

/* After a call whose effect is unknown: fd's links and the fds linking
 * to it are forgotten. */
static void meta_forget_links(int fd)
{
	if (!fd_meta(fd))
		return;
	meta[fd].link = -1;
	meta[fd].v2 = false;
	for (int i = 0; i < MAX_FD; i++)
		if (meta[i].link == fd)
			meta[i].link = -1;
}

/* uiommu_ioctl, recording what a success proves */
static int xioctl(int fd, unsigned long cmd, void *arg)
{
	struct fd_meta *m = fd_meta(fd);
	int ret = uiommu_ioctl(fd, cmd, arg);

	if (ret < 0 || !m)
		return ret;
	switch (cmd) {
	case VFIO_GROUP_SET_CONTAINER: {
		int c = *(int *)arg;

		m->link = fd_meta(c) && meta[c].kind == FD_CONTAINER ? c : -1;
		break;
	}
	case VFIO_GROUP_UNSET_CONTAINER:
		m->link = -1;
		break;
	case VFIO_SET_IOMMU:
		m->v2 = (uintptr_t)arg == VFIO_TYPE1v2_IOMMU ||
			(uintptr_t)arg == VFIO_TYPE1_NESTING_IOMMU;
		break;
	}
	return ret;
}

static int slot_fd(struct input *in)
{
	uint8_t s = u8(in);

	if (s >= 0xf8)
		return s == 0xff ? -1 : 12345; /* not ours */
	return st.fds[s % NR_SLOTS];
}

static void slot_put(int fd, enum fd_kind kind, int link)
{
	for (int i = 0; i < NR_SLOTS; i++)
		if (st.fds[i] < 0) {
			st.fds[i] = fd;
			if (fd_meta(fd))
				meta[fd] = (struct fd_meta){kind, link, false};
			return;
		}
	/* no room: the fd goes at once */
	uiommu_close(fd);
}

static void slot_close(int i)
{
	if (st.fds[i] < 0)
		return;
	if (uiommu_close(st.fds[i]))
		FINDING("close of an open fd failed: %d", errno);
	meta_forget(st.fds[i]);
	st.fds[i] = -1;
}

/* Nothing is mapped at iova in container c: no device of it reaches it. */
static void check_unmapped(int c, uint64_t iova)
{
	if (!fd_meta(c) || meta[c].kind != FD_CONTAINER || !meta[c].v2)
		return;
	for (int i = 0; i < NR_SLOTS; i++) {
		int d = st.fds[i], g;
		uint32_t one = 1, status = 0;
		uint64_t len = 1;

		if (!fd_meta(d) || meta[d].kind != FD_DEVICE)
			continue;
		g = meta[d].link;
		if (!fd_meta(g) || meta[g].kind != FD_GROUP ||
		    meta[g].link != c)
			continue;
		uiommu_pwrite(d, &iova, 8, DMAENGINE_REG_SRC);
		uiommu_pwrite(d, &iova, 8, DMAENGINE_REG_DST);
		uiommu_pwrite(d, &len, 8, DMAENGINE_REG_LEN);
		uiommu_pwrite(d, &one, 4, DMAENGINE_REG_DOORBELL);
		uiommu_pread(d, &status, 4, DMAENGINE_REG_STATUS);
		if (status == DMAENGINE_STATUS_DONE)
			FINDING("DMA reached IOVA %#llx after it was unmapped",
				(unsigned long long)iova);
	}
}

/* Fill the scratch buffer with input bytes, returning its pointer (or a
 * bad one). */
static void *scratch_arg(struct input *in)
{
	uint8_t sel = u8(in);
	size_t n = (size_t)u8(in) * 2;

	if (sel == 0xff)
		return NULL;
	if (sel == 0xfe)
		return BAD_PTR;
	memset(st.scratch, 0, sizeof(st.scratch));
	for (size_t i = 0; i < n && in->n; i++)
		st.scratch[i] = u8(in);
	return st.scratch;
}

static void op_open(struct input *in)
{
	uint8_t w = u8(in);
	char path[32];
	int fd;

	if (w < 0x30)
		snprintf(path, sizeof(path), "/dev/vfio/vfio");
	else if (w < 0x38)
		snprintf(path, sizeof(path), "/dev/iommu");
	else if (w < 0x40)
		snprintf(path, sizeof(path), "/dev/vfio/devices/vfio%u",
			 (w - 0x38) % 5);
	else if (w < 0xf0)
		snprintf(path, sizeof(path), "/dev/vfio/%u", (w - 0x40) % 5);
	else
		snprintf(path, sizeof(path), "/dev/vfio/%s",
			 w == 0xf0   ? ""
			 : w == 0xf1 ? "-1"
				     : "99");
	fd = uiommu_open(path, O_RDWR);
	if (fd >= 0)
		slot_put(fd,
			 w < 0x30   ? FD_CONTAINER
			 : w < 0x40 ? FD_NONE /* iommufd's */
				    : FD_GROUP,
			 -1);
}

static void op_close(struct input *in)
{
	slot_close(u8(in) % NR_SLOTS);
}

static void op_set_container(struct input *in)
{
	int g = slot_fd(in), c = slot_fd(in);

	xioctl(g, VFIO_GROUP_SET_CONTAINER, u8(in) == 0xff ? NULL : &c);
}

static void op_set_iommu(struct input *in)
{
	int c = slot_fd(in);

	xioctl(c, VFIO_SET_IOMMU,
	       (void *)iommu_types[u8(in) % ARRAY_SIZE(iommu_types)]);
}

static void op_get_device_fd(struct input *in)
{
	int g = slot_fd(in), fd;
	uint8_t w = u8(in);
	const char *name;

	if (w == 0xff)
		name = NULL;
	else if (w == 0xfe)
		name = BAD_PTR;
	else if (w == 0xfd) {
		/* no NUL within the 4 KiB buffer */
		memset(st.scratch, 'x', sizeof(st.scratch));
		name = (const char *)st.scratch;
	} else
		name = dev_names[w % ARRAY_SIZE(dev_names)];
	fd = uiommu_ioctl(g, VFIO_GROUP_GET_DEVICE_FD, name);
	if (fd >= 0)
		slot_put(fd, FD_DEVICE, g);
}

/*
 * With adoption on, a pin adopts whatever private anonymous memory the
 * range covers: keep the ranges inside the harness's own areas, so that
 * the sanitizers' and libFuzzer's memory is never adopted (that would be
 * the harness's bug, not the library's).  Other ranges become an unmapped
 * low address (EFAULT) or an unaligned one (EINVAL).
 */
static void adopt_guard(__u64 *va, uint64_t size)
{
	uintptr_t areas[NR_REGIONS + 1][2];
	uint64_t end;

	if (!adopting)
		return;
	for (int i = 0; i < NR_REGIONS; i++) {
		areas[i][0] = (uintptr_t)st.regions[i];
		areas[i][1] = areas[i][0] + region_sizes[i];
	}
	areas[NR_REGIONS][0] = (uintptr_t)foreign;
	areas[NR_REGIONS][1] = (uintptr_t)foreign + FOREIGN_PAGES * 4096;
	for (int i = 0; i <= NR_REGIONS; i++) {
		if (*va < areas[i][0] || *va >= areas[i][1])
			continue;
		if (__builtin_add_overflow(*va, size, &end) ||
		    end > areas[i][1])
			*va = size <= areas[i][1] - areas[i][0] ? areas[i][0]
								: 0x1000;
		return;
	}
	if (__builtin_add_overflow(*va, size, &end) || end > 0x10000)
		*va = 0x1000 + 1;
	if (*va >= 0x10000)
		*va = 0x1000 + 1;
}

static void op_map(struct input *in)
{
	int c = slot_fd(in);
	uint8_t f = u8(in);
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = (f & 7) | (f & 0x80 ? u32(in) : 0),
	};

	map.iova = iova(in);
	map.vaddr = vaddr(in);
	map.size = size(in);
	adopt_guard(&map.vaddr, map.size);
	if (f & 0x40)
		map.argsz = u8(in);
	uiommu_ioctl(c, VFIO_IOMMU_MAP_DMA, &map);
}

static void op_unmap(struct input *in)
{
	int c = slot_fd(in);
	uint8_t f = u8(in);
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.flags = f & 7,
	};
	struct vfio_bitmap bitmap = {0};
	uint8_t arg[sizeof(unmap) + sizeof(bitmap)];

	unmap.iova = f & 0x10 ? 0 : iova(in);
	unmap.size = f & 0x20 ? 0 : size(in);
	if (unmap.flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP) {
		unmap.argsz = sizeof(arg);
		bitmap.pgsize = f & 0x40 ? value(in) : 4096;
		bitmap.size = f & 0x80 ? value(in) : sizeof(st.bitmap);
		bitmap.data = (__u64 *)st.bitmap;
	} else if (f & 0x80) {
		unmap.flags |= u32(in);
	}
	memcpy(arg, &unmap, sizeof(unmap));
	memcpy(arg + sizeof(unmap), &bitmap, sizeof(bitmap));
	if (uiommu_ioctl(c, VFIO_IOMMU_UNMAP_DMA, arg) ||
	    unmap.flags & VFIO_DMA_UNMAP_FLAG_VADDR)
		return;
	/* the range's first and last pages (UNMAP_ALL: a usual IOVA) */
	if (unmap.flags & VFIO_DMA_UNMAP_FLAG_ALL) {
		check_unmapped(c, iova_bases[1]);
	} else {
		check_unmapped(c, unmap.iova);
		check_unmapped(c, unmap.iova + unmap.size - 1);
	}
}

static void op_dirty(struct input *in)
{
	int c = slot_fd(in);
	uint8_t f = u8(in);
	struct vfio_iommu_type1_dirty_bitmap d = {
		.flags = 1u << (f % 3),
	};
	struct vfio_iommu_type1_dirty_bitmap_get g = {0};
	uint8_t arg[sizeof(d) + sizeof(g)];

	d.argsz = sizeof(arg);
	if (f & 0x80)
		d.flags = u32(in);
	if (f & 0x40)
		d.argsz = u8(in);
	g.iova = iova(in);
	g.size = size(in);
	g.bitmap.pgsize = f & 0x20 ? value(in) : 4096;
	g.bitmap.size = f & 0x10 ? value(in) : sizeof(st.bitmap);
	g.bitmap.data = (__u64 *)st.bitmap;
	memcpy(arg, &d, sizeof(d));
	memcpy(arg + sizeof(d), &g, sizeof(g));
	uiommu_ioctl(c, VFIO_IOMMU_DIRTY_PAGES, arg);
}

static void op_simple_ioctl(struct input *in)
{
	int fd = slot_fd(in);
	uint8_t w = u8(in);

	switch (w % 6) {
	case 0:
		uiommu_ioctl(fd, VFIO_IOMMU_ENABLE_IOPF);
		break;
	case 1:
		uiommu_ioctl(fd, VFIO_CHECK_EXTENSION,
			     (unsigned long)value(in));
		break;
	case 2:
		xioctl(fd, VFIO_GROUP_UNSET_CONTAINER, NULL);
		break;
	case 3:
		uiommu_ioctl(fd, VFIO_DEVICE_RESET);
		break;
	case 4:
		uiommu_ioctl(fd, VFIO_GET_API_VERSION);
		break;
	default:
		/* SET_CONTAINER needs a pointer: unknown after that */
		if (!uiommu_ioctl(fd, (unsigned long)u32(in),
				  (void *)(uintptr_t)value(in)))
			meta_forget_links(fd);
		break;
	}
}

static void op_any_ioctl(struct input *in)
{
	int fd = slot_fd(in);
	unsigned long cmd = ioctls[u8(in) % ARRAY_SIZE(ioctls)];
	void *arg = scratch_arg(in);
	int ret;

	if (arg == st.scratch && cmd == VFIO_IOMMU_MAP_DMA) {
		struct vfio_iommu_type1_dma_map map;

		memcpy(&map, arg, sizeof(map));
		adopt_guard(&map.vaddr, map.size);
		memcpy(arg, &map, sizeof(map));
	} else if (arg == st.scratch && cmd == IOMMU_IOAS_MAP) {
		struct iommu_ioas_map m;

		memcpy(&m, arg, sizeof(m));
		adopt_guard(&m.user_va, m.length);
		memcpy(arg, &m, sizeof(m));
	}
	ret = xioctl(fd, cmd, arg);
	if (ret >= 0 && cmd == VFIO_GROUP_GET_DEVICE_FD)
		slot_put(ret, FD_DEVICE, fd);
}

static off_t region_off(struct input *in)
{
	uint8_t sel = u8(in);
	uint64_t o = u16(in);

	if (sel >= 0xf0)
		return (off_t)value(in);
	return (off_t)((uint64_t)(sel & 3) << 40) + (off_t)o;
}

static void op_rw(struct input *in)
{
	int fd = slot_fd(in);
	uint8_t w = u8(in);
	off_t off = region_off(in);
	size_t n = (size_t)u8(in) * (w & 0x80 ? 64 : 1);
	void *buf = w & 0x40 ? BAD_PTR : st.scratch;

	if (n > sizeof(st.scratch))
		n = sizeof(st.scratch);
	if (w & 1) {
		for (size_t i = 0; i < n && in->n && i < 16; i++)
			st.scratch[i] = u8(in);
		uiommu_pwrite(fd, buf, n, off);
	} else if (w & 2) {
		uiommu_lseek(fd, off, w & 4 ? SEEK_CUR : SEEK_SET);
		if (w & 8)
			uiommu_read(fd, buf, n);
		else
			uiommu_write(fd, buf, n);
	} else {
		uiommu_pread(fd, buf, n, off);
	}
}

/* Program the engine: SRC, DST, LEN, then ring the doorbell. */
static void op_dma(struct input *in)
{
	int fd = slot_fd(in);
	uint64_t src = iova(in), dst = iova(in), len = u8(in);
	uint8_t w = u8(in);
	uint32_t one = 1, status = 0;

	len = w & 0x80 ? value(in) : (len + 1) * (w & 0x40 ? 4096 : 64);
	uiommu_pwrite(fd, &src, 8, DMAENGINE_REG_SRC);
	uiommu_pwrite(fd, &dst, 8, DMAENGINE_REG_DST);
	uiommu_pwrite(fd, &len, 8, DMAENGINE_REG_LEN);
	uiommu_pwrite(fd, &one, 4, DMAENGINE_REG_DOORBELL);
	uiommu_pread(fd, &status, 4, DMAENGINE_REG_STATUS);
	if (trace)
		fprintf(stderr, "  dma %#llx -> %#llx len %#llx: status %u\n",
			(unsigned long long)src, (unsigned long long)dst,
			(unsigned long long)len, status);
}

static void op_mmap(struct input *in)
{
	int fd = slot_fd(in);
	uint8_t w = u8(in);
	off_t off = (w & 0x80) ? (off_t)value(in)
			       : VFIO_REGION_OFFSET(w & 1) +
					 (off_t)(u8(in) & 15) * 4096;
	size_t len = (w & 0x40) ? (size_t)value(in)
				: (size_t)(u8(in) % 16 + 1) * 4096;
	int prot = (w & 2 ? PROT_READ : 0) | (w & 4 ? PROT_WRITE : 0);
	int flags = w & 8 ? MAP_PRIVATE : MAP_SHARED;
	void *p;

	p = uiommu_mmap(NULL, len, prot, flags, fd, off);
	if (p == MAP_FAILED)
		return;
	for (int i = 0; i < NR_BARMAPS; i++)
		if (!st.bars[i].addr) {
			st.bars[i].addr = p;
			st.bars[i].len = len;
			/* the mapping is device memory: touch it */
			if (prot & PROT_WRITE)
				((volatile uint8_t *)p)[0] = w;
			return;
		}
	if (uiommu_munmap(p, len))
		FINDING("munmap of a device mapping failed: %d", errno);
}

static void op_bar_unmap(struct input *in)
{
	uint8_t i = u8(in) % NR_BARMAPS;

	if (!st.bars[i].addr)
		return;
	if (uiommu_munmap(st.bars[i].addr, st.bars[i].len))
		FINDING("munmap of a device mapping failed: %d", errno);
	st.bars[i].addr = NULL;
}

/* Discard or unmap part of a region (never outside it), or discard part
 * of the foreign area (never unmapped: its address could be reused). */
static void op_discard(struct input *in)
{
	uint8_t w = u8(in), a = u8(in), b = u8(in);
	unsigned int r = w % (NR_REGIONS + 1);
	uint64_t pages = r < NR_REGIONS ? region_sizes[r] / 4096
					: FOREIGN_PAGES,
		 first = a % pages, n = 1 + b % (pages - first);
	uint8_t *base = r < NR_REGIONS ? st.regions[r] : foreign;
	void *addr = base + first * 4096;

	if (w & 0x80 && r < NR_REGIONS)
		mm_munmap(st.mm, addr, n * 4096);
	else
		mm_discard(st.mm, addr, n * 4096);
}

/* An object id: a small one (ids count from 1), or raw bits. */
static uint32_t obj_id(struct input *in)
{
	uint8_t sel = u8(in);

	return sel >= 0xf0 ? u32(in) : sel % 8;
}

/* iommufd, structured: the IOAS's ioctls, HWPT_ALLOC, DESTROY, and a
 * cdev's bind and attach (a fd of the input's choice as the iommufd). */
static void op_iommufd(struct input *in)
{
	int fd = slot_fd(in);
	uint8_t w = u8(in);
	uint32_t fl = u8(in);

	switch (w % 9) {
	case 0: {
		struct iommu_ioas_alloc a = {.size = sizeof(a)};

		uiommu_ioctl(fd, IOMMU_IOAS_ALLOC, &a);
		break;
	}
	case 1: {
		struct iommu_ioas_map m = {
			.size = sizeof(m),
			.flags = fl & 7,
			.ioas_id = obj_id(in),
			.user_va = vaddr(in),
			.length = size(in),
			.iova = iova(in),
		};

		adopt_guard(&m.user_va, m.length);
		uiommu_ioctl(fd, IOMMU_IOAS_MAP, &m);
		break;
	}
	case 2: {
		struct iommu_ioas_unmap u = {.size = sizeof(u),
					     .ioas_id = obj_id(in),
					     .iova = iova(in),
					     .length = size(in)};

		if (fl & 1) /* all */
			u.iova = 0, u.length = UINT64_MAX;
		uiommu_ioctl(fd, IOMMU_IOAS_UNMAP, &u);
		break;
	}
	case 3: {
		struct iommu_ioas_copy c = {.size = sizeof(c),
					    .flags = fl & 7,
					    .dst_ioas_id = obj_id(in),
					    .src_ioas_id = obj_id(in),
					    .length = size(in),
					    .dst_iova = iova(in),
					    .src_iova = iova(in)};

		uiommu_ioctl(fd, IOMMU_IOAS_COPY, &c);
		break;
	}
	case 4: {
		struct iommu_iova_range r[2] = {{iova(in), iova(in)},
						{iova(in), iova(in)}};
		struct iommu_ioas_allow_iovas a = {.size = sizeof(a),
						   .ioas_id = obj_id(in),
						   .num_iovas = fl % 3,
						   .allowed_iovas =
							   (uintptr_t)r};
		struct iommu_ioas_iova_ranges g = {.size = sizeof(g),
						   .ioas_id = a.ioas_id,
						   .num_iovas = fl % 3,
						   .allowed_iovas =
							   (uintptr_t)r};

		uiommu_ioctl(fd,
			     fl & 8 ? IOMMU_IOAS_IOVA_RANGES
				    : IOMMU_IOAS_ALLOW_IOVAS,
			     fl & 8 ? (void *)&g : (void *)&a);
		break;
	}
	case 5: {
		struct iommu_option o = {
			.size = sizeof(o),
			.option_id = fl & 1 ? IOMMU_OPTION_HUGE_PAGES
					    : IOMMU_OPTION_RLIMIT_MODE,
			.op = fl & 2 ? IOMMU_OPTION_OP_GET
				     : IOMMU_OPTION_OP_SET,
			.object_id = obj_id(in),
			.val64 = u8(in) % 3};

		uiommu_ioctl(fd, IOMMU_OPTION, &o);
		break;
	}
	case 6: {
		struct iommu_hwpt_alloc h = {.size = sizeof(h),
					     .flags = fl & 7,
					     .dev_id = obj_id(in),
					     .pt_id = obj_id(in)};

		uiommu_ioctl(fd, IOMMU_HWPT_ALLOC, &h);
		break;
	}
	case 7: {
		struct iommu_destroy d = {.size = sizeof(d), .id = obj_id(in)};

		uiommu_ioctl(fd, IOMMU_DESTROY, &d);
		break;
	}
	default: {
		struct vfio_device_bind_iommufd b = {.argsz = sizeof(b),
						     .iommufd = slot_fd(in)};
		struct vfio_device_attach_iommufd_pt a = {.argsz = sizeof(a),
							  .pt_id = obj_id(in)};

		if (fl & 1)
			uiommu_ioctl(fd, VFIO_DEVICE_BIND_IOMMUFD, &b);
		else
			uiommu_ioctl(fd,
				     fl & 2 ? VFIO_DEVICE_DETACH_IOMMUFD_PT
					    : VFIO_DEVICE_ATTACH_IOMMUFD_PT,
				     &a);
		break;
	}
	}
}

typedef void (*op_fn)(struct input *in);

static const op_fn ops[] = {
	op_open,
	op_close,
	op_set_container,
	op_set_iommu,
	op_get_device_fd,
	op_map,
	op_unmap,
	op_dirty,
	op_simple_ioctl,
	op_any_ioctl,
	op_rw,
	op_dma,
	op_mmap,
	op_bar_unmap,
	op_discard,
	op_map,
	op_iommufd,
	op_iommufd,
};

static uint64_t frames_free(void)
{
	struct phys_stats ps;

	phys_get_stats(uiommu_system_phys(), &ps);
	return ps.frames_free;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int ret;

	setenv("UIOMMU_QUIET", "1", 1);
	trace = getenv("FUZZ_UAPI_TRACE");
	ret = uiommu_system_init(topology);
	if (ret)
		FINDING("system init: %d", ret);
	st.mm = uiommu_current_mm();
	foreign = mmap(NULL, (FOREIGN_PAGES + 2) * 4096, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (foreign == MAP_FAILED)
		FINDING("mmap: %d", errno);
	foreign += 4096;
	foreign_map();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	struct input in = {data, n};
	uint8_t cfg = u8(&in), order = u8(&in);
	static const uint64_t limits[] = {64 << 10, 1 << 20, 256 << 20, 0};
	uint64_t baseline;
	unsigned int steps = 0;
	int ret;

	mm_set_cap_ipc_lock(st.mm, cfg & 0x80);
	mm_set_memlock_limit(st.mm, limits[cfg & 3]);
	adopting = cfg & 0x40;
	mm_set_adopt(st.mm, adopting);
	baseline = frames_free();
	for (int i = 0; i < NR_SLOTS; i++)
		st.fds[i] = -1;
	for (int i = 0; i < MAX_FD; i++)
		meta[i] = (struct fd_meta){FD_NONE, -1, false};
	memset(st.bars, 0, sizeof(st.bars));
	for (int i = 0; i < NR_REGIONS; i++) {
		ret = mm_mmap(st.mm, region_sizes[i], region_flags[i],
			      (void **)&st.regions[i]);
		if (ret)
			FINDING("mm_mmap: %d", ret);
	}

	while (in.n && steps++ < 256) {
		uint8_t op = u8(&in) % ARRAY_SIZE(ops);

		errno = 0;
		if (trace)
			fprintf(stderr, "op %u ...\n", op);
		ops[op](&in);
		if (trace)
			fprintf(stderr, "op %u: errno %d\n", op, errno);
	}

	/* close everything, in the order the input chose */
	for (int k = 0; k < NR_SLOTS; k++) {
		int i = order & 1 ? NR_SLOTS - 1 - k
				  : (k + order / 2) % NR_SLOTS;

		slot_close(i);
	}
	for (int i = 0; i < NR_BARMAPS; i++)
		if (st.bars[i].addr &&
		    uiommu_munmap(st.bars[i].addr, st.bars[i].len))
			FINDING("munmap of a device mapping failed: %d", errno);
	if (vfio_open_fds())
		FINDING("%u fds still open after closing all", vfio_open_fds());
	if (mm_locked_vm(st.mm))
		FINDING("locked_vm %llu after closing all",
			(unsigned long long)mm_locked_vm(st.mm));
	if (mm_user_locked_vm())
		FINDING("the user's locked memory %llu after closing all",
			(unsigned long long)mm_user_locked_vm());
	if (mm_check_invariants(st.mm, stderr))
		FINDING("mm invariants");
	for (int i = 0; i < NR_REGIONS; i++)
		if (mm_munmap(st.mm, st.regions[i], region_sizes[i]))
			FINDING("munmap of region %d failed", i);
	if (mm_munmap(st.mm, foreign, FOREIGN_PAGES * 4096))
		FINDING("munmap of the foreign area failed");
	mm_set_adopt(st.mm, false);
	foreign_map();
	if (mem_check_invariants(uiommu_system_phys(), PHYS_OWNER_KERNEL,
				 stderr))
		FINDING("phys invariants");
	if (frames_free() != baseline)
		FINDING("free frames %llu, %llu before the input",
			(unsigned long long)frames_free(),
			(unsigned long long)baseline);
	return 0;
}
