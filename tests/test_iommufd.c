// SPDX-License-Identifier: MIT
/*
 * iommufd (src/iommufd/) through its file, /dev/iommu, as a program drives
 * it (vfio_fops_open/ioctl of the fd front), and its devices through
 * iommufd.h as vfio's device cdev binds them: issue 15's "/dev/iommu and
 * its objects with the kernel's lifetimes and reference rules", the IOAS
 * ioctls with Linux 6.12's errno values in its order of checks (one table
 * of bad inputs per ioctl, as test_uapi.c has them), real DMA of an
 * emulated endpoint through an auto domain, one pinning and accounting
 * layer (mem/'s), and fail-Nth sweeps over IOAS_MAP and attach.
 */
#include "helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <uiommu/base.h>
#include "devices/devices.h"
#include "hw/hw.h"
#include "iommu/iommu.h"
#include "iommufd/iommufd.h"
#include "iommufd/iommufd_private.h"
#include "iommufd/iommufd_uapi.h"
#include "lib/uaccess.h"
#include "vfio/vfio.h"
#include "vfio/vfio_device.h"

#define PG	  4096UL
#define SZ_2M	  (2UL << 20)
#define BAD_PTR	  ((void *)16)
#define RW	  (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)
#define FIXED_RW  (RW | IOMMU_IOAS_MAP_FIXED_IOVA)
#define LIMIT_PGS 4096 /* the mm's RLIMIT_MEMLOCK: 16 MiB */

struct fx {
	struct platform *p;
	struct mm *mm;
	struct device dev[2]; /* two groups on SMMU A */
	struct endpoint *ep[2];
	int fd;
	struct iommufd_ctx *ictx;
	uint64_t user_base; /* the user's locked pages before the test */
};

static int setup(void **state)
{
	struct platform_config pcfg = {.mem_size = 1ULL << 30};
	struct fx *f = calloc(1, sizeof(*f));

	assert_int_equal(platform_create(&pcfg, &f->p), 0);
	for (int i = 0; i < 2; i++) {
		snprintf(f->dev[i].name, sizeof(f->dev[i].name), "fd%d", i);
		f->dev[i].sid = 1 + i;
		assert_int_equal(iommu_probe_device(&f->dev[i], f->p->iommu, 0),
				 0);
		assert_int_equal(endpoint_create(f->p->hw, f->dev[i].sid, 0, 0,
						 &f->ep[i]),
				 0);
	}
	assert_int_equal(mm_create(f->p->pm, &f->mm), 0);
	mm_set_memlock_limit(f->mm, LIMIT_PGS * PG); /* no CAP_IPC_LOCK */
	f->user_base = mm_user_locked_vm();
	f->fd = vfio_fops_open(f->mm, "/dev/iommu", O_RDWR);
	assert_true(f->fd >= 0);
	assert_int_equal(iommufd_ctx_from_fd(f->fd, &f->ictx), 0);
	iommufd_ctx_put(f->ictx); /* the fd keeps it */
	iommufd_ctx_set_cap_sys_resource(f->ictx, false);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	if (f->fd >= 0)
		assert_int_equal(vfio_fops_close(f->fd), 0);
	/* accounting back to 0 after close */
	assert_int_equal(mm_user_locked_vm(), f->user_base);
	assert_int_equal(mm_locked_vm(f->mm), 0);
	assert_int_equal(mm_check_invariants(f->mm, stderr), 0);
	mm_destroy(f->mm);
	for (int i = 0; i < 2; i++) {
		endpoint_destroy(f->ep[i]);
		iommu_release_device(&f->dev[i]);
	}
	assert_int_equal(
		mem_check_invariants(f->p->pm, PHYS_OWNER_KERNEL, stderr), 0);
	platform_destroy(f->p);
	free(f);
	return 0;
}

static int map(struct fx *f, uint32_t ioas, uint32_t flags, const void *va,
	       uint64_t len, uint64_t *iova)
{
	struct iommu_ioas_map m = {.size = sizeof(m),
				   .flags = flags,
				   .ioas_id = ioas,
				   .user_va = (uintptr_t)va,
				   .length = len,
				   .iova = *iova};
	int ret = test_fops_ioctl(f->fd, IOMMU_IOAS_MAP, &m);

	if (!ret)
		*iova = m.iova;
	return ret;
}

static int unmap(struct fx *f, uint32_t ioas, uint64_t iova, uint64_t len,
		 uint64_t *done)
{
	struct iommu_ioas_unmap u = {.size = sizeof(u),
				     .ioas_id = ioas,
				     .iova = iova,
				     .length = len};
	int ret = test_fops_ioctl(f->fd, IOMMU_IOAS_UNMAP, &u);

	if (done)
		*done = ret ? 0 : u.length;
	return ret;
}

static void *region(struct fx *f, size_t size, unsigned int flags)
{
	void *va;

	assert_int_equal(mm_mmap(f->mm, size, MM_MAP_POPULATE | flags, &va), 0);
	return va;
}

/* dev[d] bound to the fixture's context and attached to ioas (its auto
 * domain): the IOAS's pages are pinned and charged from then on. */
static struct iommufd_device *bind_attach(struct fx *f, int d, uint32_t ioas)
{
	struct iommufd_device *idev;
	uint32_t id, pt = ioas;

	assert_int_equal(iommufd_device_bind(f->ictx, &f->dev[d], &id, &idev),
			 0);
	assert_int_equal(iommufd_device_attach(idev, &pt), 0);
	return idev;
}

/* ---- the file, objects and the dispatch ----------------------------------------- */

/* Objects get ids from 1, the lowest free one; IOMMU_DESTROY of an
 * unknown id is -ENOENT; a destroyed id is found no more. */
static void test_object_ids(void **state)
{
	struct fx *f = *state;
	struct iommu_ioas_iova_ranges r = {.size = sizeof(r)};

	assert_int_equal(test_ioas_alloc(f->fd), 1);
	assert_int_equal(test_ioas_alloc(f->fd), 2);
	assert_int_equal(test_ioas_alloc(f->fd), 3);
	assert_int_equal(test_iommu_destroy(f->fd, 2), 0);
	assert_int_equal(test_iommu_destroy(f->fd, 2), -ENOENT);
	assert_int_equal(test_iommu_destroy(f->fd, 0), -ENOENT);
	assert_int_equal(test_iommu_destroy(f->fd, 1000), -ENOENT);
	r.ioas_id = 2;
	assert_int_equal(test_fops_ioctl(f->fd, IOMMU_IOAS_IOVA_RANGES, &r),
			 -ENOENT);
	assert_int_equal(test_ioas_alloc(f->fd), 2);
	/* IOAS_ALLOC's flags are reserved */
	{
		struct iommu_ioas_alloc a = {.size = sizeof(a), .flags = 1};

		assert_int_equal(test_fops_ioctl(f->fd, IOMMU_IOAS_ALLOC, &a),
				 -EOPNOTSUPP);
	}
	/* a second open is a second context: its own ids */
	{
		int fd2 = vfio_fops_open(f->mm, "/dev/iommu", O_RDWR);
		struct iommu_ioas_alloc a = {.size = sizeof(a)};

		assert_true(fd2 >= 0);
		assert_int_equal(test_fops_ioctl(fd2, IOMMU_IOAS_ALLOC, &a), 0);
		assert_int_equal(a.out_ioas_id, 1);
		assert_int_equal(vfio_fops_close(fd2), 0);
	}
}

/*
 * The dispatch's order: a command outside the table -ENOTTY, the size
 * unreadable -EFAULT, a number that is not the command's -ENOTTY, size
 * below the struct's minimum -EINVAL, non-zero bytes past the known
 * struct -E2BIG (zero ones are fine), the struct unreadable -EFAULT.
 */
static void test_dispatch_order(void **state)
{
	struct fx *f = *state;
	struct {
		struct iommu_ioas_alloc a;
		uint8_t tail[20];
	} big = {{.size = sizeof(big)}};
	struct iommu_destroy d = {.size = 4, .id = 1};

	assert_int_equal(test_fops_ioctl(f->fd, _IO(IOMMUFD_TYPE, 0x7f), &d),
			 -ENOTTY);
	/* past the table: 0xa0 is IOMMU_TEST_CMD's (test_iommufd_mock) */
	assert_int_equal(test_fops_ioctl(f->fd, _IO(IOMMUFD_TYPE, 0xa1), &d),
			 -ENOTTY);
	assert_int_equal(test_fops_ioctl(f->fd, IOMMU_DESTROY, BAD_PTR),
			 -EFAULT);
	assert_int_equal(test_fops_ioctl(f->fd, _IOW(IOMMUFD_TYPE, 0x80, int),
					 &d),
			 -ENOTTY);
	assert_int_equal(test_fops_ioctl(f->fd, IOMMU_DESTROY, &d), -EINVAL);
	d.size = 0;
	assert_int_equal(test_fops_ioctl(f->fd, IOMMU_DESTROY, &d), -EINVAL);
	/* zero tail: accepted, and the answer is written within size */
	assert_int_equal(test_fops_ioctl(f->fd, IOMMU_IOAS_ALLOC, &big), 0);
	assert_int_equal(big.a.out_ioas_id, 1);
	big.tail[19] = 1;
	assert_int_equal(test_fops_ioctl(f->fd, IOMMU_IOAS_ALLOC, &big),
			 -E2BIG);
	/* the size readable, the struct running into an unreadable page */
	{
		uint8_t *pg = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		uint32_t *size = (uint32_t *)(pg + PG - sizeof(uint32_t));

		assert_true(pg != MAP_FAILED);
		assert_int_equal(mprotect(pg + PG, PG, PROT_NONE), 0);
		*size = sizeof(struct iommu_ioas_alloc);
		assert_int_equal(test_fops_ioctl(f->fd, IOMMU_IOAS_ALLOC, size),
				 -EFAULT);
		/* a longer struct whose unknown tail is unreadable */
		size = (uint32_t *)(pg + PG - sizeof(struct iommu_ioas_alloc));
		*size = sizeof(struct iommu_ioas_alloc) + 8;
		assert_int_equal(test_fops_ioctl(f->fd, IOMMU_IOAS_ALLOC, size),
				 -EFAULT);
		/* an older, shorter struct that ends the readable memory is
		 * read in full: HWPT_ALLOC's 24 required of its 48 bytes */
		size = (uint32_t *)(pg + PG - 24);
		memset(size, 0, 24);
		*size = 24;
		assert_int_equal(test_fops_ioctl(f->fd, IOMMU_HWPT_ALLOC, size),
				 -ENOENT);
		munmap(pg, 2 * PG);
	}
	/* the VFS's generic requests are answered for this file too */
	assert_int_equal(test_fops_ioctl(f->fd, FIOCLEX, NULL), 0);
	/* no read, write or mmap on /dev/iommu */
	{
		char c;

		errno = 0;
		assert_int_equal(vfio_fops_read(f->fd, &c, 1), -1);
		assert_int_equal(errno, EINVAL);
	}
}

/*
 * Every implemented command's size rules (the kernel selftest's
 * cmd_length): one byte short of the last required field -EINVAL; a
 * longer struct with a non-zero byte past what is known -E2BIG; with a
 * zero tail, the same answer as the exact size.
 */
static void test_cmd_length(void **state)
{
	struct fx *f = *state;
	static const struct {
		const char *name;
		unsigned long cmd;
		size_t size, min;
	} t[] = {
#define C(ioctl, type, last) \
	{#ioctl, ioctl, sizeof(struct type), offsetofend(struct type, last)}
		C(IOMMU_DESTROY, iommu_destroy, id),
		C(IOMMU_IOAS_ALLOC, iommu_ioas_alloc, out_ioas_id),
		C(IOMMU_IOAS_ALLOW_IOVAS, iommu_ioas_allow_iovas,
		  allowed_iovas),
		C(IOMMU_IOAS_COPY, iommu_ioas_copy, src_iova),
		C(IOMMU_IOAS_IOVA_RANGES, iommu_ioas_iova_ranges,
		  out_iova_alignment),
		C(IOMMU_IOAS_MAP, iommu_ioas_map, iova),
		C(IOMMU_IOAS_UNMAP, iommu_ioas_unmap, length),
		C(IOMMU_OPTION, iommu_option, val64),
		C(IOMMU_VFIO_IOAS, iommu_vfio_ioas, __reserved),
		C(IOMMU_HWPT_ALLOC, iommu_hwpt_alloc, __reserved),
		C(IOMMU_GET_HW_INFO, iommu_hw_info, __reserved),
		C(IOMMU_HWPT_INVALIDATE, iommu_hwpt_invalidate, __reserved),
#undef C
	};

	for (size_t i = 0; i < ARRAY_SIZE_T(t); i++) {
		uint64_t buf[16] = {0};
		uint32_t *size = (uint32_t *)buf;
		int exact, tail;

		*size = (uint32_t)t[i].min - 1;
		if (test_fops_ioctl(f->fd, t[i].cmd, buf) != -EINVAL)
			fail_msg("%s: short", t[i].name);
		memset(buf, 0, sizeof(buf));
		*size = (uint32_t)t[i].size;
		exact = test_fops_ioctl(f->fd, t[i].cmd, buf);
		memset(buf, 0, sizeof(buf));
		*size = (uint32_t)t[i].size + 8;
		tail = test_fops_ioctl(f->fd, t[i].cmd, buf);
		if (tail != exact)
			fail_msg("%s: zero tail %d, exact %d", t[i].name, tail,
				 exact);
		memset(buf, 0, sizeof(buf));
		*size = (uint32_t)t[i].size + 8;
		((uint8_t *)buf)[t[i].size + 7] = 1;
		if (test_fops_ioctl(f->fd, t[i].cmd, buf) != -E2BIG)
			fail_msg("%s: tail", t[i].name);
	}
}

/* iommufd_ctx_from_fd: -EBADF not open, -EBADFD not /dev/iommu. */
static void test_ctx_from_fd(void **state)
{
	struct fx *f = *state;
	struct iommufd_ctx *ictx;
	int other = open("/dev/null", O_RDONLY);
	int container = vfio_fops_open(f->mm, "/dev/vfio/vfio", O_RDWR);

	assert_true(other >= 0 && container >= 0);
	assert_int_equal(iommufd_ctx_from_fd(other, &ictx), -EBADFD);
	assert_int_equal(iommufd_ctx_from_fd(container, &ictx), -EBADFD);
	close(other);
	assert_int_equal(iommufd_ctx_from_fd(other, &ictx), -EBADF);
	assert_int_equal(iommufd_ctx_from_fd(-1, &ictx), -EBADF);
	assert_int_equal(iommufd_ctx_from_fd(f->fd, &ictx), 0);
	assert_ptr_equal(ictx, f->ictx);
	/* the reference outlives the fd: the context stays */
	assert_int_equal(vfio_fops_close(f->fd), 0);
	f->fd = -1;
	assert_ptr_equal(iommufd_ctx_mm(ictx), f->mm);
	iommufd_ctx_put(ictx);
	assert_int_equal(vfio_fops_close(container), 0);
}

/* ---- IOAS_MAP, UNMAP ------------------------------------------------------------ */

struct bad_map {
	const char *what;
	struct iommu_ioas_map m;
	int err;
};

/* IOAS_MAP's checks in 6.12's order: flags and __reserved (-EOPNOTSUPP),
 * iova and length < ULONG_MAX (-EOVERFLOW), a permission (-EINVAL), the
 * IOAS (-ENOENT), a length of 0 (-EINVAL), a user range that wraps
 * (-EOVERFLOW), a fixed range that wraps (-EOVERFLOW) or overlaps
 * (-EEXIST); an unbacked user range -EFAULT once the IOAS has a domain
 * (without one, nothing is pinned and it maps). */
static void test_order_ioas_map(void **state)
{
	struct fx *f = *state;
	uint8_t *buf = region(f, 4 * PG, 0);
	uint32_t ioas = test_ioas_alloc(f->fd);
	uint64_t iova = 0x100000, va = (uintptr_t)buf;
	struct bad_map t[] = {
		{"unknown flag", {.flags = RW | 8, .ioas_id = 99}, -EOPNOTSUPP},
		{"reserved", {.flags = RW, .__reserved = 1}, -EOPNOTSUPP},
		{"iova", {.flags = 0, .iova = ULONG_MAX}, -EOVERFLOW},
		{"length", {.flags = 0, .length = ULONG_MAX}, -EOVERFLOW},
		{"no permission", {.flags = 0, .ioas_id = 99}, -EINVAL},
		{"ioas", {.flags = RW, .ioas_id = 99}, -ENOENT},
		{"zero length",
		 {.flags = RW, .ioas_id = ioas, .user_va = va},
		 -EINVAL},
		{"user wraps",
		 {.flags = RW,
		  .ioas_id = ioas,
		  .user_va = ULONG_MAX - PG + 1,
		  .length = 2 * PG},
		 -EOVERFLOW},
		{"fixed wraps",
		 {.flags = FIXED_RW,
		  .ioas_id = ioas,
		  .user_va = va,
		  .length = 3 * PG,
		  .iova = ULONG_MAX - 2 * PG + 1},
		 -EOVERFLOW},
		{"overlap",
		 {.flags = FIXED_RW,
		  .ioas_id = ioas,
		  .user_va = va,
		  .length = PG,
		  .iova = 0x101000},
		 -EEXIST},
		{"unbacked",
		 {.flags = RW, .ioas_id = ioas, .user_va = 0x1000, .length = PG},
		 -EFAULT},
	};

	struct iommufd_device *idev;

	/* without a domain nothing is pinned: unbacked memory maps */
	assert_int_equal(map(f, ioas, RW, (void *)0x1000, PG, &iova), 0);
	assert_int_equal(unmap(f, ioas, iova, PG, NULL), 0);
	/* with one, the pin is the map's */
	idev = bind_attach(f, 0, ioas);
	iova = 0x100000;
	assert_int_equal(map(f, ioas, FIXED_RW, buf, 2 * PG, &iova), 0);
	for (size_t i = 0; i < ARRAY_SIZE_T(t); i++) {
		t[i].m.size = sizeof(t[i].m);
		if (test_fops_ioctl(f->fd, IOMMU_IOAS_MAP, &t[i].m) != t[i].err)
			fail_msg("%s: %d, not %d", t[i].what,
				 test_fops_ioctl(f->fd, IOMMU_IOAS_MAP,
						 &t[i].m),
				 t[i].err);
	}
	/* failures charged nothing */
	assert_int_equal(mm_user_locked_vm(), f->user_base + 2);
	iommufd_device_unbind(idev);
	assert_int_equal(mm_user_locked_vm(), f->user_base);
}

/* IOAS_UNMAP: whole areas only (-ENOENT for one cut in part or nothing
 * there), unmap-all with iova 0 and length U64_MAX, the bytes unmapped
 * back in length; -EINVAL for length 0, -EOVERFLOW for a wrapping range;
 * the pin and the charge (the IOAS has a domain) go with the area. */
static void test_unmap(void **state)
{
	struct fx *f = *state;
	uint8_t *buf = region(f, 8 * PG, 0);
	uint32_t ioas = test_ioas_alloc(f->fd);
	struct iommufd_device *idev = bind_attach(f, 0, ioas);
	uint64_t iova, done;

	iova = 0x200000;
	assert_int_equal(map(f, ioas, FIXED_RW, buf, 2 * PG, &iova), 0);
	iova = 0x202000;
	assert_int_equal(map(f, ioas, FIXED_RW, buf + 2 * PG, 2 * PG, &iova),
			 0);
	iova = 0x400000;
	assert_int_equal(map(f, ioas, FIXED_RW, buf + 4 * PG, 4 * PG, &iova),
			 0);
	assert_int_equal(mm_user_locked_vm(), f->user_base + 8);

	assert_int_equal(unmap(f, 99, 0, PG, NULL), -ENOENT);
	assert_int_equal(unmap(f, ioas, 0x200000, 0, NULL), -EINVAL);
	assert_int_equal(unmap(f, ioas, ULONG_MAX, PG, NULL), -EOVERFLOW);
	assert_int_equal(unmap(f, ioas, ULONG_MAX - PG, 2 * PG, NULL),
			 -EOVERFLOW);
	assert_int_equal(unmap(f, ioas, 0x300000, PG, NULL), -ENOENT);
	/* a part of an area */
	assert_int_equal(unmap(f, ioas, 0x200000, PG, NULL), -ENOENT);
	assert_int_equal(unmap(f, ioas, 0x201000, 2 * PG, NULL), -ENOENT);
	/* two whole areas in one call */
	assert_int_equal(unmap(f, ioas, 0x200000, 4 * PG, &done), 0);
	assert_int_equal(done, 4 * PG);
	assert_int_equal(mm_user_locked_vm(), f->user_base + 4);
	assert_int_equal(unmap(f, ioas, 0x200000, 4 * PG, NULL), -ENOENT);
	/* unmap-all */
	assert_int_equal(unmap(f, ioas, 0, UINT64_MAX, &done), 0);
	assert_int_equal(done, 4 * PG);
	assert_int_equal(unmap(f, ioas, 0, UINT64_MAX, &done), 0);
	assert_int_equal(done, 0);
	assert_int_equal(mm_user_locked_vm(), f->user_base);
	iommufd_device_unbind(idev);
}

/* Allocated IOVA: 6.12's choice, aligned to the length's power of two
 * (capped at 2 MiB) and to the user address's alignment, from PAGE_SIZE
 * on; byte-granular user ranges keep their page offset. */
static void test_alloc_iova(void **state)
{
	struct fx *f = *state;
	uint8_t *buf = region(f, 4 * SZ_2M, MM_MAP_HUGE);
	uint32_t ioas = test_ioas_alloc(f->fd);
	uint64_t iova = 0, a2;

	assert_int_equal(map(f, ioas, RW, buf, PG, &iova), 0);
	assert_int_equal(iova, PG); /* the first page is never handed out */
	a2 = 0;
	assert_int_equal(map(f, ioas, RW, buf, 4 * PG, &a2), 0);
	assert_int_equal(a2, 4 * PG); /* 16 KiB-aligned, after the first */
	iova = 0;
	assert_int_equal(map(f, ioas, RW, buf, 2 * SZ_2M, &iova), 0);
	assert_int_equal(iova % SZ_2M, 0);
	assert_true(iova >= SZ_2M);
	/* a user address aligned to 8 KiB only: an 8 KiB alignment */
	iova = 0;
	assert_int_equal(map(f, ioas, RW, buf + 2 * PG, 8 * PG, &iova), 0);
	assert_int_equal(iova % (2 * PG), 0);
	/* byte granular: the page offset is kept */
	iova = 0;
	assert_int_equal(map(f, ioas, RW, buf + 100, 50, &iova), 0);
	assert_int_equal(iova % PG, 100);
	assert_int_equal(unmap(f, ioas, iova, 50, NULL), 0);
}

/* ---- IOVA ranges and allowed ranges --------------------------------------------- */

static int iova_ranges(struct fx *f, uint32_t ioas, struct iommu_iova_range *r,
		       uint32_t *num, uint64_t *align)
{
	struct iommu_ioas_iova_ranges c = {.size = sizeof(c),
					   .ioas_id = ioas,
					   .num_iovas = *num,
					   .allowed_iovas = (uintptr_t)r};
	int ret = test_fops_ioctl(f->fd, IOMMU_IOAS_IOVA_RANGES, &c);

	*num = c.num_iovas;
	if (align)
		*align = c.out_iova_alignment;
	return ret;
}

/* IOAS_IOVA_RANGES: everything while nothing is attached, -EMSGSIZE with
 * the count when the array is short, -EFAULT for an unwritable array,
 * -EOPNOTSUPP for __reserved. */
static void test_iova_ranges_empty(void **state)
{
	struct fx *f = *state;
	uint32_t ioas = test_ioas_alloc(f->fd), num = 0;
	struct iommu_iova_range r[4];
	uint64_t align;

	assert_int_equal(iova_ranges(f, ioas, r, &num, &align), -EMSGSIZE);
	assert_int_equal(num, 1);
	assert_int_equal(iova_ranges(f, ioas, r, &num, &align), 0);
	assert_int_equal(r[0].start, 0);
	assert_int_equal(r[0].last, UINT64_MAX);
	assert_int_equal(align, 1);
	num = 1;
	assert_int_equal(iova_ranges(f, ioas, BAD_PTR, &num, NULL), -EFAULT);
	{
		struct iommu_ioas_iova_ranges c = {
			.size = sizeof(c), .ioas_id = ioas, .__reserved = 1};

		assert_int_equal(test_fops_ioctl(f->fd, IOMMU_IOAS_IOVA_RANGES,
						 &c),
				 -EOPNOTSUPP);
	}
}

static int allow(struct fx *f, uint32_t ioas, struct iommu_iova_range *r,
		 uint32_t n)
{
	struct iommu_ioas_allow_iovas a = {.size = sizeof(a),
					   .ioas_id = ioas,
					   .num_iovas = n,
					   .allowed_iovas = (uintptr_t)r};

	return test_fops_ioctl(f->fd, IOMMU_IOAS_ALLOW_IOVAS, &a);
}

/* IOAS_ALLOW_IOVAS: allocated IOVA only inside the allowed ranges
 * (-ENOSPC when none fits), fixed IOVA anywhere not reserved; a range
 * with start >= last or overlapping another -EINVAL, unreadable -EFAULT,
 * one over a reserved range -EADDRINUSE; none allowed: all again. */
static void test_allow_iovas(void **state)
{
	struct fx *f = *state;
	uint8_t *buf = region(f, 4 * PG, 0);
	uint32_t ioas = test_ioas_alloc(f->fd);
	struct iommu_iova_range r[2] = {{0x10000000, 0x10003fff},
					{0x20000000, 0x20000fff}};
	struct iommu_iova_range bad[2] = {{0x1000, 0x1000}, {0, 0}};
	uint64_t iova;

	assert_int_equal(allow(f, 99, r, 2), -ENOENT);
	assert_int_equal(allow(f, ioas, bad, 1), -EINVAL);
	bad[0] = (struct iommu_iova_range){0x1000, 0x5000};
	bad[1] = (struct iommu_iova_range){0x5000, 0x9000};
	assert_int_equal(allow(f, ioas, bad, 2), -EINVAL);
	assert_int_equal(allow(f, ioas, BAD_PTR, 1), -EFAULT);
	assert_int_equal(allow(f, ioas, r, 2), 0);
	iova = 0;
	assert_int_equal(map(f, ioas, RW, buf, 4 * PG, &iova), 0);
	assert_int_equal(iova, 0x10000000);
	iova = 0;
	assert_int_equal(map(f, ioas, RW, buf, PG, &iova), 0);
	assert_int_equal(iova, 0x20000000);
	iova = 0;
	assert_int_equal(map(f, ioas, RW, buf, PG, &iova), -ENOSPC);
	iova = 0x30000000; /* fixed: outside the allowed ranges is fine */
	assert_int_equal(map(f, ioas, FIXED_RW, buf, PG, &iova), 0);
	/* none allowed: anywhere again */
	assert_int_equal(allow(f, ioas, NULL, 0), 0);
	iova = 0;
	assert_int_equal(map(f, ioas, RW, buf, PG, &iova), 0);
	assert_int_equal(iova, PG);
	assert_int_equal(unmap(f, ioas, 0, UINT64_MAX, NULL), 0);
}

/* ---- IOAS_COPY ------------------------------------------------------------------- */

/* IOAS_COPY: the same pages behind both areas, pinned and charged once;
 * they stay while either area does.  -ENOENT for a source range with a
 * hole or nothing mapped, the flag checks of IOAS_MAP. */
static void test_copy(void **state)
{
	struct fx *f = *state;
	uint8_t *buf = region(f, 8 * PG, 0);
	uint32_t a = test_ioas_alloc(f->fd), b = test_ioas_alloc(f->fd);
	struct iommu_ioas_copy c = {.size = sizeof(c),
				    .flags = FIXED_RW,
				    .dst_ioas_id = b,
				    .src_ioas_id = a,
				    .length = 4 * PG,
				    .dst_iova = 0x800000,
				    .src_iova = 0x100000};
	uint64_t iova = 0x100000;
	struct mm_stats st0, st1;
	/* both IOASes with a domain: their pages pinned and charged */
	struct iommufd_device *da = bind_attach(f, 0, a),
			      *db = bind_attach(f, 1, b);

	assert_int_equal(map(f, a, FIXED_RW, buf, 2 * PG, &iova), 0);
	iova = 0x102000;
	assert_int_equal(map(f, a, FIXED_RW, buf + 2 * PG, 2 * PG, &iova), 0);
	iova = 0x200000;
	assert_int_equal(map(f, a, FIXED_RW, buf + 6 * PG, PG, &iova), 0);
	assert_int_equal(mm_user_locked_vm(), f->user_base + 5);
	mm_get_stats(f->mm, &st0);

	c.flags = 0x80;
	assert_int_equal(test_fops_ioctl(f->fd, IOMMU_IOAS_COPY, &c),
			 -EOPNOTSUPP);
	c.flags = IOMMU_IOAS_MAP_FIXED_IOVA;
	assert_int_equal(test_fops_ioctl(f->fd, IOMMU_IOAS_COPY, &c), -EINVAL);
	c.flags = FIXED_RW;
	c.src_ioas_id = 99;
	assert_int_equal(test_fops_ioctl(f->fd, IOMMU_IOAS_COPY, &c), -ENOENT);
	c.src_ioas_id = a;
	c.src_iova = 0x1ff000; /* a hole before the area */
	c.length = 2 * PG;
	assert_int_equal(test_fops_ioctl(f->fd, IOMMU_IOAS_COPY, &c), -ENOENT);
	c.src_iova = 0x103000; /* runs past the last area */
	assert_int_equal(test_fops_ioctl(f->fd, IOMMU_IOAS_COPY, &c), -ENOENT);
	/* across two areas, from the middle of the first */
	c.src_iova = 0x101000;
	c.length = 3 * PG;
	assert_int_equal(test_fops_ioctl(f->fd, IOMMU_IOAS_COPY, &c), 0);
	/* no new pin, no new charge */
	mm_get_stats(f->mm, &st1);
	assert_int_equal(st1.pin_calls, st0.pin_calls);
	assert_int_equal(mm_user_locked_vm(), f->user_base + 5);
	/* the source goes; the copy keeps its pages */
	assert_int_equal(unmap(f, a, 0x100000, 4 * PG, NULL), 0);
	assert_int_equal(mm_user_locked_vm(), f->user_base + 5);
	/* the copy's areas are one per source piece; an unmap that ends
	 * inside the second fails, having unmapped the whole first one, as
	 * 6.12's does; its pages (2, of the first map) go with it */
	assert_int_equal(unmap(f, b, 0x800000, 2 * PG, NULL), -ENOENT);
	assert_int_equal(mm_user_locked_vm(), f->user_base + 3);
	assert_int_equal(unmap(f, b, 0x800000, PG, NULL), -ENOENT);
	assert_int_equal(unmap(f, b, 0x801000, 2 * PG, NULL), 0);
	assert_int_equal(mm_user_locked_vm(), f->user_base + 1);
	/* allocated destination IOVA */
	c.flags = RW;
	c.src_iova = 0x200000;
	c.length = PG;
	c.dst_iova = 0;
	assert_int_equal(test_fops_ioctl(f->fd, IOMMU_IOAS_COPY, &c), 0);
	assert_int_equal(c.dst_iova, PG);
	/* the source's domain goes: the copy keeps the pages pinned */
	iommufd_device_unbind(da);
	assert_int_equal(mm_user_locked_vm(), f->user_base + 1);
	assert_int_equal(test_iommu_destroy(f->fd, a), 0);
	assert_int_equal(mm_user_locked_vm(), f->user_base + 1);
	/* and the destination's: nothing needs them pinned */
	iommufd_device_unbind(db);
	assert_int_equal(mm_user_locked_vm(), f->user_base);
	assert_int_equal(test_iommu_destroy(f->fd, b), 0);
}

/* A read-only user range cannot be pinned for a WRITEABLE map (-EFAULT,
 * at the map into an IOAS with a domain, or at the attach that gives it
 * one), and pages mapped read-only cannot be copied WRITEABLE (-EPERM). */
static void test_copy_readonly(void **state)
{
	struct fx *f = *state;
	uint8_t *ro = region(f, PG, MM_MAP_RDONLY);
	uint32_t a = test_ioas_alloc(f->fd), b = test_ioas_alloc(f->fd);
	struct iommu_ioas_copy c = {.size = sizeof(c),
				    .flags = FIXED_RW,
				    .dst_ioas_id = b,
				    .src_ioas_id = a,
				    .length = PG,
				    .dst_iova = 0x800000,
				    .src_iova = 0x100000};
	uint64_t iova = 0x100000;
	struct iommufd_device *idev;
	uint32_t pt = a;

	/* no domain, no pin: a writable map of read-only memory is taken,
	 * and an attach that would pin it for writing fails */
	assert_int_equal(map(f, a, FIXED_RW, ro, PG, &iova), 0);
	idev = bind_attach(f, 0, b);
	iommufd_device_detach(idev);
	assert_int_equal(iommufd_device_attach(idev, &pt), -EFAULT);
	assert_int_equal(unmap(f, a, 0, UINT64_MAX, NULL), 0);
	pt = a;
	assert_int_equal(iommufd_device_attach(idev, &pt), 0);
	assert_int_equal(map(f, a, FIXED_RW, ro, PG, &iova), -EFAULT);
	assert_int_equal(
		map(f, a, IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE,
		    ro, PG, &iova),
		0);
	assert_int_equal(test_fops_ioctl(f->fd, IOMMU_IOAS_COPY, &c), -EPERM);
	c.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE;
	assert_int_equal(test_fops_ioctl(f->fd, IOMMU_IOAS_COPY, &c), 0);
	iommufd_device_unbind(idev);
}

/* ---- accounting and options -------------------------------------------------------- */

static int option(struct fx *f, uint32_t id, uint16_t op, uint32_t obj,
		  uint64_t *val)
{
	struct iommu_option o = {.size = sizeof(o),
				 .option_id = id,
				 .op = op,
				 .object_id = obj,
				 .val64 = *val};
	int ret = test_fops_ioctl(f->fd, IOMMU_OPTION, &o);

	*val = o.val64;
	return ret;
}

/*
 * RLIMIT_MODE (pins, and so charges, need a domain in the IOAS): by
 * default pins are charged to the user's locked memory
 * (mem/'s mm_user_lock_acct), not the process's locked_vm; -ENOMEM past
 * RLIMIT_MEMLOCK.  SET needs CAP_SYS_RESOURCE (-EPERM) and a context
 * without objects (-EBUSY); 1 charges locked_vm as type1 does; other
 * values -EINVAL; an object id -EOPNOTSUPP.
 */
static void test_rlimit_mode(void **state)
{
	struct fx *f = *state;
	uint8_t *buf = region(f, (LIMIT_PGS + 1) * PG, 0);
	uint64_t v = 0, iova = 0;
	struct iommufd_device *idev;
	uint32_t ioas;

	assert_int_equal(option(f, IOMMU_OPTION_RLIMIT_MODE,
				IOMMU_OPTION_OP_GET, 0, &v),
			 0);
	assert_int_equal(v, 0);
	assert_int_equal(option(f, IOMMU_OPTION_RLIMIT_MODE,
				IOMMU_OPTION_OP_GET, 1, &v),
			 -EOPNOTSUPP);
	assert_int_equal(option(f, 99, IOMMU_OPTION_OP_GET, 0, &v),
			 -EOPNOTSUPP);
	assert_int_equal(option(f, IOMMU_OPTION_RLIMIT_MODE, 7, 0, &v),
			 -EOPNOTSUPP);
	v = 1;
	assert_int_equal(option(f, IOMMU_OPTION_RLIMIT_MODE,
				IOMMU_OPTION_OP_SET, 0, &v),
			 -EPERM);

	ioas = test_ioas_alloc(f->fd);
	idev = bind_attach(f, 0, ioas);
	assert_int_equal(map(f, ioas, RW, buf, 16 * PG, &iova), 0);
	assert_int_equal(mm_user_locked_vm(), f->user_base + 16);
	assert_int_equal(mm_locked_vm(f->mm), 0);
	iova = 0;
	assert_int_equal(map(f, ioas, RW, buf, LIMIT_PGS * PG, &iova), -ENOMEM);
	assert_int_equal(mm_user_locked_vm(), f->user_base + 16);

	iommufd_ctx_set_cap_sys_resource(f->ictx, true);
	v = 1;
	assert_int_equal(option(f, IOMMU_OPTION_RLIMIT_MODE,
				IOMMU_OPTION_OP_SET, 0, &v),
			 -EBUSY);
	iommufd_device_unbind(idev);
	assert_int_equal(test_iommu_destroy(f->fd, ioas), 0);
	assert_int_equal(mm_user_locked_vm(), f->user_base);
	v = 2;
	assert_int_equal(option(f, IOMMU_OPTION_RLIMIT_MODE,
				IOMMU_OPTION_OP_SET, 0, &v),
			 -EINVAL);
	v = 1;
	assert_int_equal(option(f, IOMMU_OPTION_RLIMIT_MODE,
				IOMMU_OPTION_OP_SET, 0, &v),
			 0);
	v = 0;
	assert_int_equal(option(f, IOMMU_OPTION_RLIMIT_MODE,
				IOMMU_OPTION_OP_GET, 0, &v),
			 0);
	assert_int_equal(v, 1);
	ioas = test_ioas_alloc(f->fd);
	idev = bind_attach(f, 0, ioas);
	iova = 0;
	assert_int_equal(map(f, ioas, RW, buf, 16 * PG, &iova), 0);
	assert_int_equal(mm_locked_vm(f->mm), 16);
	assert_int_equal(mm_user_locked_vm(), f->user_base);
	/* CAP_IPC_LOCK: not charged at all */
	mm_set_cap_ipc_lock(f->mm, true);
	iova = 0;
	assert_int_equal(map(f, ioas, RW, buf, (LIMIT_PGS + 1) * PG, &iova), 0);
	assert_int_equal(mm_locked_vm(f->mm), 16);
	mm_set_cap_ipc_lock(f->mm, false);
	/* the detach returns all of it */
	iommufd_device_unbind(idev);
	assert_int_equal(mm_locked_vm(f->mm), 0);
}

/* ---- devices ------------------------------------------------------------------------- */

static int attach(struct iommufd_device *idev, uint32_t *pt)
{
	return iommufd_device_attach(idev, pt);
}

static uint32_t dma_word(struct fx *f, int d, uint64_t iova, uint32_t v)
{
	uint32_t r = 0;

	if (endpoint_dma_write(f->ep[d], iova, &v, sizeof(v)))
		return 0xdead;
	assert_int_equal(endpoint_dma_read(f->ep[d], iova, &r, sizeof(r)), 0);
	return r;
}

/*
 * Bind and attach: attaching to an IOAS makes a paging HWPT (an auto
 * domain) filled with the IOAS's areas, later maps and unmaps reach it,
 * and the endpoint's DMA lands in the user's pages; the object rules:
 * DESTROY of the IOAS, the HWPT or the device is -EBUSY while attached or
 * bound, and the auto HWPT goes with its last device.
 */
static void test_attach_dma(void **state)
{
	struct fx *f = *state;
	uint32_t *buf = region(f, 4 * PG, 0);
	uint32_t ioas = test_ioas_alloc(f->fd), pt, dev_id, pt2;
	struct iommufd_device *idev;
	uint64_t iova = 0x100000;

	/* mapped before the attach: filled in at attach */
	assert_int_equal(map(f, ioas, FIXED_RW, buf, PG, &iova), 0);
	assert_int_equal(
		iommufd_device_bind(f->ictx, &f->dev[0], &dev_id, &idev), 0);
	assert_int_equal(dev_id, 2);
	assert_int_equal(iommufd_device_to_id(idev), dev_id);
	assert_ptr_equal(iommufd_device_to_ictx(idev), f->ictx);
	/* blocked before the attach */
	assert_int_equal(dma_word(f, 0, 0x100000, 1), 0xdead);

	pt = 99;
	assert_int_equal(attach(idev, &pt), -ENOENT);
	pt = dev_id;
	assert_int_equal(attach(idev, &pt), -EINVAL); /* not a page table */
	pt = ioas;
	assert_int_equal(attach(idev, &pt), 0);
	assert_true(pt != ioas && pt != dev_id);
	pt2 = ioas;
	assert_int_equal(attach(idev, &pt2), -EINVAL); /* attached */

	assert_int_equal(dma_word(f, 0, 0x100000, 0x1234), 0x1234);
	assert_int_equal(buf[0], 0x1234);
	/* a later map reaches the domain */
	iova = 0x200000;
	assert_int_equal(map(f, ioas, FIXED_RW, buf + 1024, PG, &iova), 0);
	assert_int_equal(dma_word(f, 0, 0x200000, 0x5678), 0x5678);
	assert_int_equal(buf[1024], 0x5678);
	/* the device's reserved region and the aperture are reserved now */
	{
		struct iommu_iova_range r[4];
		uint32_t num = 4;
		uint64_t align;

		assert_int_equal(iova_ranges(f, ioas, r, &num, &align), 0);
		assert_int_equal(num, 2);
		assert_int_equal(align, PG);
		assert_int_equal(r[0].start, 0);
		assert_int_equal(r[0].last, MSI_IOVA_BASE - 1);
		assert_int_equal(r[1].start, MSI_IOVA_BASE + MSI_IOVA_LENGTH);
		iova = MSI_IOVA_BASE;
		assert_int_equal(map(f, ioas, FIXED_RW, buf, PG, &iova),
				 -EINVAL);
		/* byte-granular maps no longer: the domain's page size */
		iova = 0x300000;
		assert_int_equal(map(f, ioas, FIXED_RW, buf, 100, &iova),
				 -EINVAL);
	}

	/* objects in use */
	assert_int_equal(test_iommu_destroy(f->fd, ioas), -EBUSY);
	assert_int_equal(test_iommu_destroy(f->fd, pt), -EBUSY);
	assert_int_equal(test_iommu_destroy(f->fd, dev_id), -EBUSY);

	/* unmap: the device's DMA faults */
	assert_int_equal(unmap(f, ioas, 0x200000, PG, NULL), 0);
	assert_int_equal(dma_word(f, 0, 0x200000, 1), 0xdead);

	iommufd_device_detach(idev);
	assert_int_equal(dma_word(f, 0, 0x100000, 1), 0xdead);
	/* the auto domain went with its last device */
	assert_int_equal(test_iommu_destroy(f->fd, pt), -ENOENT);
	iommufd_device_detach(idev); /* not attached: nothing */
	/* attach again: a new auto domain, filled */
	pt = ioas;
	assert_int_equal(attach(idev, &pt), 0);
	assert_int_equal(dma_word(f, 0, 0x100000, 0x77), 0x77);
	/* unbind detaches first */
	iommufd_device_unbind(idev);
	assert_int_equal(test_iommu_destroy(f->fd, pt), -ENOENT);
	assert_int_equal(test_iommu_destroy(f->fd, dev_id), -ENOENT);
	assert_int_equal(test_iommu_destroy(f->fd, ioas), 0);
}

/* An attach whose reserved regions (the SMMU's MSI window) or domain
 * alignment an existing area breaks is -EADDRINUSE and changes nothing;
 * with large pages off, the IOAS's alignment is PAGE_SIZE (byte-granular
 * maps -EINVAL, and turning them off over such an area -EADDRINUSE). */
static void test_attach_conflicts(void **state)
{
	struct fx *f = *state;
	uint8_t *buf = region(f, 2 * PG, 0);
	uint32_t ioas = test_ioas_alloc(f->fd), id, pt;
	struct iommufd_device *idev;
	uint64_t iova = MSI_IOVA_BASE, v = 0;

	assert_int_equal(iommufd_device_bind(f->ictx, &f->dev[0], &id, &idev),
			 0);
	assert_int_equal(map(f, ioas, FIXED_RW, buf, PG, &iova), 0);
	pt = ioas;
	assert_int_equal(attach(idev, &pt), -EADDRINUSE);
	assert_null(iommu_get_domain_for_dev(&f->dev[0]));
	assert_int_equal(unmap(f, ioas, MSI_IOVA_BASE, PG, NULL), 0);
	/* a byte-granular area: no 4 KiB domain can take the IOAS */
	iova = 0x100000 + 10;
	assert_int_equal(map(f, ioas, FIXED_RW, buf + 10, 100, &iova), 0);
	pt = ioas;
	assert_int_equal(attach(idev, &pt), -EADDRINUSE);
	assert_int_equal(option(f, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET,
				ioas, &v),
			 -EADDRINUSE);
	assert_int_equal(unmap(f, ioas, 0, UINT64_MAX, NULL), 0);
	v = 0;
	assert_int_equal(option(f, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET,
				ioas, &v),
			 0);
	iova = 0x100000 + 10;
	assert_int_equal(map(f, ioas, FIXED_RW, buf + 10, 100, &iova), -EINVAL);
	/* now it attaches */
	pt = ioas;
	assert_int_equal(attach(idev, &pt), 0);
	iommufd_device_unbind(idev);
}

/* Pins follow the domains (6.12's): an IOAS without one pins and charges
 * nothing; the first attach pins and charges every area, the last
 * detach unpins and uncharges; a second domain adds no pin. */
static void test_pin_with_domain(void **state)
{
	struct fx *f = *state;
	uint8_t *buf = region(f, 8 * PG, 0);
	uint32_t ioas = test_ioas_alloc(f->fd);
	struct iommufd_device *d0, *d1;
	uint64_t iova = 0x100000;
	struct mm_stats st0, st1;

	assert_int_equal(map(f, ioas, FIXED_RW, buf, 8 * PG, &iova), 0);
	mm_get_stats(f->mm, &st0);
	assert_int_equal(mm_user_locked_vm(), f->user_base);
	d0 = bind_attach(f, 0, ioas);
	assert_int_equal(mm_user_locked_vm(), f->user_base + 8);
	assert_int_equal(dma_word(f, 0, 0x100000 + 7 * PG, 3), 3);
	d1 = bind_attach(f, 1, ioas);
	mm_get_stats(f->mm, &st1);
	assert_int_equal(st1.pinned_pages - st0.pinned_pages, 8);
	assert_int_equal(mm_user_locked_vm(), f->user_base + 8);
	iommufd_device_unbind(d0);
	assert_int_equal(mm_user_locked_vm(), f->user_base + 8);
	iommufd_device_unbind(d1);
	assert_int_equal(mm_user_locked_vm(), f->user_base);
	mm_get_stats(f->mm, &st1);
	assert_int_equal(st1.unpinned_pages - st0.unpinned_pages, 8);
	assert_int_equal(unmap(f, ioas, 0, UINT64_MAX, NULL), 0);
}

/* Two devices of two groups on one IOAS share its auto domain; a
 * domain's iova alignment is the IOAS's while it is attached. */
static void test_two_devices_share_domain(void **state)
{
	struct fx *f = *state;
	uint32_t *buf = region(f, PG, 0);
	uint32_t ioas = test_ioas_alloc(f->fd), id0, id1, pt0 = ioas,
		 pt1 = ioas;
	struct iommufd_device *d0, *d1;
	uint64_t iova = 0x100000;

	assert_int_equal(iommufd_device_bind(f->ictx, &f->dev[0], &id0, &d0),
			 0);
	assert_int_equal(iommufd_device_bind(f->ictx, &f->dev[1], &id1, &d1),
			 0);
	assert_int_equal(attach(d0, &pt0), 0);
	assert_int_equal(attach(d1, &pt1), 0);
	assert_int_equal(pt0, pt1);
	assert_int_equal(map(f, ioas, FIXED_RW, buf, PG, &iova), 0);
	assert_int_equal(dma_word(f, 0, 0x100000, 5), 5);
	assert_int_equal(dma_word(f, 1, 0x100000, 6), 6);
	iommufd_device_detach(d0);
	/* the other still holds it */
	assert_int_equal(test_iommu_destroy(f->fd, pt0), -EBUSY);
	assert_int_equal(dma_word(f, 1, 0x100000, 7), 7);
	iommufd_device_unbind(d0);
	iommufd_device_unbind(d1);
	assert_int_equal(test_iommu_destroy(f->fd, pt0), -ENOENT);
}

/* DMA ownership: a group bound by one context cannot be bound by
 * another (-EBUSY), nor one attached to a domain some other way; the
 * context lives while a device is bound, after its fd closed. */
static void test_bind_ownership(void **state)
{
	struct fx *f = *state;
	int fd2 = vfio_fops_open(f->mm, "/dev/iommu", O_RDWR);
	struct iommufd_ctx *ictx2;
	struct iommufd_device *idev, *idev2;
	struct iommu_domain *dom;
	uint32_t id, pt;

	assert_true(fd2 >= 0);
	assert_int_equal(iommufd_ctx_from_fd(fd2, &ictx2), 0);
	assert_int_equal(iommufd_device_bind(f->ictx, &f->dev[0], &id, &idev),
			 0);
	assert_int_equal(iommufd_device_bind(ictx2, &f->dev[0], &id, &idev2),
			 -EBUSY);
	/* another group is fine */
	assert_int_equal(iommufd_device_bind(ictx2, &f->dev[1], &id, &idev2),
			 0);
	iommufd_device_unbind(idev2);
	iommufd_device_unbind(idev);
	/* now free for the other context */
	assert_int_equal(iommufd_device_bind(ictx2, &f->dev[0], &id, &idev2),
			 0);
	/* the bound device holds the context past its fd */
	iommufd_ctx_put(ictx2);
	assert_int_equal(vfio_fops_close(fd2), 0);
	pt = 1000;
	assert_int_equal(attach(idev2, &pt), -ENOENT);
	iommufd_device_unbind(idev2);

	/* a group attached to a domain another way (the DMA API, type1) */
	dom = iommu_domain_alloc(&f->dev[1]);
	assert_non_null(dom);
	assert_int_equal(iommu_attach_device(dom, &f->dev[1]), 0);
	assert_int_equal(iommufd_device_bind(f->ictx, &f->dev[1], &id, &idev),
			 -EBUSY);
	iommu_detach_device(dom, &f->dev[1]);
	iommu_domain_free(dom);
}

/* replace: the device moves to another IOAS's domain (-EINVAL when not
 * attached; the same IOAS is a no-op). */
static void test_replace(void **state)
{
	struct fx *f = *state;
	uint32_t *buf = region(f, 2 * PG, 0);
	uint32_t a = test_ioas_alloc(f->fd), b = test_ioas_alloc(f->fd), id, pt,
		 pta;
	struct iommufd_device *idev;
	uint64_t iova = 0x100000;

	assert_int_equal(map(f, a, FIXED_RW, buf, PG, &iova), 0);
	iova = 0x100000;
	assert_int_equal(map(f, b, FIXED_RW, buf + 1024, PG, &iova), 0);
	assert_int_equal(iommufd_device_bind(f->ictx, &f->dev[0], &id, &idev),
			 0);
	pt = b;
	assert_int_equal(iommufd_device_replace(idev, &pt), -EINVAL);
	pta = a;
	assert_int_equal(attach(idev, &pta), 0);
	pt = a;
	assert_int_equal(iommufd_device_replace(idev, &pt), 0);
	assert_int_equal(pt, pta);
	pt = 99;
	assert_int_equal(iommufd_device_replace(idev, &pt), -ENOENT);
	assert_int_equal(dma_word(f, 0, 0x100000, 1), 1);
	pt = b;
	assert_int_equal(iommufd_device_replace(idev, &pt), 0);
	assert_int_equal(dma_word(f, 0, 0x100000, 2), 2);
	assert_int_equal(buf[0], 1);
	assert_int_equal(buf[1024], 2);
	/* a's auto domain went with the move */
	assert_int_equal(test_iommu_destroy(f->fd, pta), -ENOENT);
	assert_int_equal(test_iommu_destroy(f->fd, a), 0);
	iommufd_device_unbind(idev);
}

/*
 * HUGE_PAGES per IOAS: on by default (a 2 MiB-backed map is one block in
 * the domain); off, every page is mapped alone and the IOAS's alignment
 * is PAGE_SIZE.  Turning it off is -EINVAL once a domain has areas;
 * values other than 0 and 1 -EINVAL; an unknown IOAS -ENOENT.
 */
static void test_huge_pages(void **state)
{
	struct fx *f = *state;
	uint8_t *buf = region(f, SZ_2M, MM_MAP_HUGE);
	uint32_t ioas = test_ioas_alloc(f->fd), id, pt = ioas;
	struct iommufd_device *idev;
	struct iommu_domain *dom;
	uint64_t v = 0, iova = SZ_2M, maps;

	assert_int_equal(option(f, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET,
				ioas, &v),
			 0);
	assert_int_equal(v, 1);
	assert_int_equal(option(f, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET,
				99, &v),
			 -ENOENT);
	v = 2;
	assert_int_equal(option(f, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET,
				ioas, &v),
			 -EINVAL);
	assert_int_equal(iommufd_device_bind(f->ictx, &f->dev[0], &id, &idev),
			 0);
	assert_int_equal(attach(idev, &pt), 0);
	dom = iommu_get_domain_for_dev(&f->dev[0]);
	maps = dom->nr_maps;
	assert_int_equal(map(f, ioas, FIXED_RW, buf, SZ_2M, &iova), 0);
	assert_int_equal(dom->nr_maps - maps, 1);
	v = 0;
	assert_int_equal(option(f, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET,
				ioas, &v),
			 -EINVAL);
	assert_int_equal(unmap(f, ioas, 0, UINT64_MAX, NULL), 0);
	assert_int_equal(option(f, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET,
				ioas, &v),
			 0);
	maps = dom->nr_maps;
	assert_int_equal(map(f, ioas, FIXED_RW, buf, SZ_2M, &iova), 0);
	assert_int_equal(dom->nr_maps - maps, SZ_2M / PG);
	assert_int_equal(dma_word(f, 0, SZ_2M + 5 * PG, 9), 9);
	v = 9;
	assert_int_equal(option(f, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET,
				ioas, &v),
			 0);
	assert_int_equal(v, 0);
	iommufd_device_unbind(idev);
}

static int hwpt_alloc(struct fx *f, uint32_t flags, uint32_t dev, uint32_t pt,
		      uint32_t *out)
{
	struct iommu_hwpt_alloc h = {
		.size = sizeof(h), .flags = flags, .dev_id = dev, .pt_id = pt};
	int ret = test_fops_ioctl(f->fd, IOMMU_HWPT_ALLOC, &h);

	*out = h.out_hwpt_id;
	return ret;
}

/* Closing /dev/iommu destroys what is left, leaves first (the HWPT, then
 * its IOAS): the pins and charges go (teardown checks 0). */
static void test_close_with_objects(void **state)
{
	struct fx *f = *state;
	uint8_t *buf = region(f, 8 * PG, 0);
	uint32_t a = test_ioas_alloc(f->fd), b = test_ioas_alloc(f->fd);
	uint64_t iova = 0;
	struct iommu_ioas_copy c = {.size = sizeof(c),
				    .flags = RW,
				    .dst_ioas_id = b,
				    .src_ioas_id = a,
				    .length = 8 * PG};

	struct iommufd_device *idev;
	uint32_t id, hwpt;

	assert_int_equal(map(f, a, RW, buf, 8 * PG, &iova), 0);
	c.src_iova = iova;
	assert_int_equal(test_fops_ioctl(f->fd, IOMMU_IOAS_COPY, &c), 0);
	assert_int_equal(mm_user_locked_vm(), f->user_base);
	/* a user HWPT gives b a domain, and outlives the device it was
	 * made for: the pages are pinned when the fd closes */
	assert_int_equal(iommufd_device_bind(f->ictx, &f->dev[0], &id, &idev),
			 0);
	assert_int_equal(hwpt_alloc(f, 0, id, b, &hwpt), 0);
	iommufd_device_unbind(idev);
	assert_int_equal(mm_user_locked_vm(), f->user_base + 8);
}

/* ---- HWPT_ALLOC, GET_HW_INFO ------------------------------------------------------- */

/*
 * IOMMU_HWPT_ALLOC of paging HWPTs, in 6.12's order: __reserved
 * (-EOPNOTSUPP), data type and length disagreeing (-EINVAL), the device
 * (-ENOENT), pt_id (-EINVAL: unknown or not an IOAS/HWPT), flags
 * (-EOPNOTSUPP: unknown, DIRTY_TRACKING without the capability), data for
 * a paging HWPT (-EOPNOTSUPP); nested over a HWPT: -EINVAL unless the
 * parent is a NEST_PARENT one, then -EOPNOTSUPP (no SMMU data type in
 * 6.12).  The HWPT is the IOAS's domain from then on: DMA through it
 * after an attach by its id; DESTROY -EBUSY while attached, and it stays
 * after the detach.
 */
static void test_hwpt_alloc(void **state)
{
	struct fx *f = *state;
	uint32_t *buf = region(f, PG, 0);
	uint32_t ioas = test_ioas_alloc(f->fd), id, hwpt, np, out, pt;
	struct iommufd_device *idev;
	uint64_t iova = 0x100000;

	assert_int_equal(iommufd_device_bind(f->ictx, &f->dev[0], &id, &idev),
			 0);
	{
		struct iommu_hwpt_alloc h = {.size = sizeof(h),
					     .dev_id = id,
					     .pt_id = ioas,
					     .__reserved = 1};

		assert_int_equal(test_fops_ioctl(f->fd, IOMMU_HWPT_ALLOC, &h),
				 -EOPNOTSUPP);
		h.__reserved = 0;
		h.data_len = 8;
		assert_int_equal(test_fops_ioctl(f->fd, IOMMU_HWPT_ALLOC, &h),
				 -EINVAL);
		h.data_type = IOMMU_HWPT_DATA_VTD_S1;
		h.data_len = 0;
		assert_int_equal(test_fops_ioctl(f->fd, IOMMU_HWPT_ALLOC, &h),
				 -EINVAL);
		h.data_len = sizeof(struct iommu_hwpt_vtd_s1);
		assert_int_equal(test_fops_ioctl(f->fd, IOMMU_HWPT_ALLOC, &h),
				 -EOPNOTSUPP);
	}
	assert_int_equal(hwpt_alloc(f, 0, ioas, ioas, &out), -ENOENT);
	assert_int_equal(hwpt_alloc(f, 0, id, 99, &out), -EINVAL);
	assert_int_equal(hwpt_alloc(f, 0, id, id, &out), -EINVAL);
	assert_int_equal(hwpt_alloc(f, 1u << 7, id, ioas, &out), -EOPNOTSUPP);
	/* the SMMU has HTTU: DIRTY_TRACKING gives a domain (issue 15; the
	 * dirty tests are in test_iommufd_dirty.c) */
	assert_int_equal(hwpt_alloc(f, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, id,
				    ioas, &out),
			 0);
	assert_int_equal(test_iommu_destroy(f->fd, out), 0);
	/* a fault queue's id is looked up (none here: fault_id 0); the
	 * queue itself is test_iommufd_fault's */
	assert_int_equal(hwpt_alloc(f, IOMMU_HWPT_FAULT_ID_VALID, id, ioas,
				    &out),
			 -ENOENT);

	assert_int_equal(map(f, ioas, FIXED_RW, buf, PG, &iova), 0);
	assert_int_equal(hwpt_alloc(f, 0, id, ioas, &hwpt), 0);
	assert_int_equal(test_iommu_destroy(f->fd, ioas),
			 -EBUSY); /* the HWPT uses it */
	/* nested over a plain paging HWPT: not a nest parent */
	assert_int_equal(hwpt_alloc(f, 0, id, hwpt, &out), -EOPNOTSUPP);
	{
		struct iommu_hwpt_alloc h = {
			.size = sizeof(h),
			.dev_id = id,
			.pt_id = hwpt,
			.data_type = IOMMU_HWPT_DATA_VTD_S1,
			.data_len = sizeof(struct iommu_hwpt_vtd_s1)};

		assert_int_equal(test_fops_ioctl(f->fd, IOMMU_HWPT_ALLOC, &h),
				 -EINVAL);
		assert_int_equal(hwpt_alloc(f, IOMMU_HWPT_ALLOC_NEST_PARENT, id,
					    ioas, &np),
				 0);
		h.pt_id = np;
		assert_int_equal(test_fops_ioctl(f->fd, IOMMU_HWPT_ALLOC, &h),
				 -EOPNOTSUPP);
	}

	/* attach by the HWPT's id: DMA through its domain */
	pt = hwpt;
	assert_int_equal(attach(idev, &pt), 0);
	assert_int_equal(pt, hwpt);
	assert_int_equal(dma_word(f, 0, 0x100000, 0xabc), 0xabc);
	assert_int_equal(buf[0], 0xabc);
	assert_int_equal(test_iommu_destroy(f->fd, hwpt), -EBUSY);
	iommufd_device_detach(idev);
	/* a stage-2 (nest parent) HWPT translates as well */
	pt = np;
	assert_int_equal(attach(idev, &pt), 0);
	assert_int_equal(dma_word(f, 0, 0x100000, 0xdef), 0xdef);
	iommufd_device_detach(idev);
	/* the user's HWPTs stay after the detach, until destroyed */
	assert_int_equal(test_iommu_destroy(f->fd, hwpt), 0);
	assert_int_equal(test_iommu_destroy(f->fd, np), 0);
	assert_int_equal(test_iommu_destroy(f->fd, ioas), 0);
	iommufd_device_unbind(idev);
}

/* IOMMU_HWPT_INVALIDATE: __reserved -EOPNOTSUPP; entries without a
 * buffer, of length 0 or past a page, or too many -EINVAL; then no
 * nested HWPT by that id (none can exist: a paging one is -ENOENT too);
 * entry_num comes back 0. */
static void test_hwpt_invalidate(void **state)
{
	struct fx *f = *state;
	uint32_t ioas = test_ioas_alloc(f->fd), id, hwpt;
	struct iommufd_device *idev;
	uint8_t entries[64];
	struct iommu_hwpt_invalidate c = {
		.size = sizeof(c), .__reserved = 1, .entry_num = 5};

	assert_int_equal(iommufd_device_bind(f->ictx, &f->dev[0], &id, &idev),
			 0);
	assert_int_equal(hwpt_alloc(f, 0, id, ioas, &hwpt), 0);
	assert_int_equal(test_fops_ioctl(f->fd, IOMMU_HWPT_INVALIDATE, &c),
			 -EOPNOTSUPP);
	assert_int_equal(c.entry_num, 0);
	c.__reserved = 0;
	c.entry_num = 1;
	c.entry_len = 8;
	assert_int_equal(test_fops_ioctl(f->fd, IOMMU_HWPT_INVALIDATE, &c),
			 -EINVAL);
	c.data_uptr = (uintptr_t)entries;
	c.entry_len = 0;
	c.entry_num = 1; /* each answer wrote it back as 0 */
	assert_int_equal(test_fops_ioctl(f->fd, IOMMU_HWPT_INVALIDATE, &c),
			 -EINVAL);
	c.entry_len = PG + 1;
	c.entry_num = 1;
	assert_int_equal(test_fops_ioctl(f->fd, IOMMU_HWPT_INVALIDATE, &c),
			 -EINVAL);
	c.entry_len = 8;
	c.entry_num = (1u << 19) + 1;
	assert_int_equal(test_fops_ioctl(f->fd, IOMMU_HWPT_INVALIDATE, &c),
			 -EINVAL);
	c.entry_num = 1;
	c.hwpt_id = hwpt;
	assert_int_equal(test_fops_ioctl(f->fd, IOMMU_HWPT_INVALIDATE, &c),
			 -ENOENT);
	assert_int_equal(c.entry_num, 0);
	c.entry_num = 0; /* nothing to do: still the look-up */
	assert_int_equal(test_fops_ioctl(f->fd, IOMMU_HWPT_INVALIDATE, &c),
			 -ENOENT);
	assert_int_equal(test_iommu_destroy(f->fd, hwpt), 0);
	iommufd_device_unbind(idev);
}

/* IOMMU_GET_HW_INFO: unknown flags or __reserved -EOPNOTSUPP, an unknown device
 * -ENOENT; the SMMUv3 of 6.12 has no driver data: type NONE, data_len 0,
 * the user's buffer cleared (-EFAULT when it cannot be), no capability. */
static void test_get_hw_info(void **state)
{
	struct fx *f = *state;
	uint8_t data[64];
	struct iommu_hw_info h = {.size = sizeof(h)};
	struct iommufd_device *idev;
	uint32_t id;

	assert_int_equal(iommufd_device_bind(f->ictx, &f->dev[0], &id, &idev),
			 0);
	h.flags = 2;
	assert_int_equal(test_fops_ioctl(f->fd, IOMMU_GET_HW_INFO, &h),
			 -EOPNOTSUPP);
	h.flags = 0;
	h.__reserved[2] = 1;
	assert_int_equal(test_fops_ioctl(f->fd, IOMMU_GET_HW_INFO, &h),
			 -EOPNOTSUPP);
	h.__reserved[2] = 0;
	h.dev_id = 99;
	assert_int_equal(test_fops_ioctl(f->fd, IOMMU_GET_HW_INFO, &h),
			 -ENOENT);
	h.dev_id = id;
	h.data_len = sizeof(data);
	h.data_uptr = (uintptr_t)BAD_PTR;
	assert_int_equal(test_fops_ioctl(f->fd, IOMMU_GET_HW_INFO, &h),
			 -EFAULT);
	memset(data, 0xff, sizeof(data));
	h.data_uptr = (uintptr_t)data;
	h.out_data_type = 77;
	h.out_capabilities = 77;
	assert_int_equal(test_fops_ioctl(f->fd, IOMMU_GET_HW_INFO, &h), 0);
	assert_int_equal(h.out_data_type, IOMMU_HW_INFO_TYPE_NONE);
	assert_int_equal(h.data_len, 0);
	/* the SMMU has HTTU (issue 15) */
	assert_int_equal(h.out_capabilities, IOMMU_HW_CAP_DIRTY_TRACKING);
	assert_int_equal(h.out_max_pasid_log2, 0);
	for (size_t i = 0; i < sizeof(data); i++)
		assert_int_equal(data[i], 0);
	/* the newer ABI's INPUT_TYPE (flag bit 0, the type asked for where
	 * out_data_type is): a driver without hw_info answers NONE to any;
	 * other flags stay -EOPNOTSUPP */
	h.flags = 1;
	h.out_data_type = 5;
	assert_int_equal(test_fops_ioctl(f->fd, IOMMU_GET_HW_INFO, &h), 0);
	assert_int_equal(h.out_data_type, IOMMU_HW_INFO_TYPE_NONE);
	h.flags = 2;
	assert_int_equal(test_fops_ioctl(f->fd, IOMMU_GET_HW_INFO, &h),
			 -EOPNOTSUPP);
	iommufd_device_unbind(idev);
}

/* IOMMU_VFIO_IOAS: __reserved and unknown ops -EOPNOTSUPP; GET -ENODEV
 * with none designated; SET an IOAS (-ENOENT otherwise), GET gives it
 * back; CLEAR; destroying the designated IOAS clears the designation. */
static void test_vfio_ioas(void **state)
{
	struct fx *f = *state;
	uint32_t a = test_ioas_alloc(f->fd), b = test_ioas_alloc(f->fd);
	struct iommu_vfio_ioas v = {.size = sizeof(v),
				    .op = IOMMU_VFIO_IOAS_GET};

	v.__reserved = 1;
	assert_int_equal(test_fops_ioctl(f->fd, IOMMU_VFIO_IOAS, &v),
			 -EOPNOTSUPP);
	v.__reserved = 0;
	v.op = 3;
	assert_int_equal(test_fops_ioctl(f->fd, IOMMU_VFIO_IOAS, &v),
			 -EOPNOTSUPP);
	v.op = IOMMU_VFIO_IOAS_GET;
	assert_int_equal(test_fops_ioctl(f->fd, IOMMU_VFIO_IOAS, &v), -ENODEV);
	v.op = IOMMU_VFIO_IOAS_SET;
	v.ioas_id = 99;
	assert_int_equal(test_fops_ioctl(f->fd, IOMMU_VFIO_IOAS, &v), -ENOENT);
	v.ioas_id = b;
	assert_int_equal(test_fops_ioctl(f->fd, IOMMU_VFIO_IOAS, &v), 0);
	v.op = IOMMU_VFIO_IOAS_GET;
	v.ioas_id = 0;
	assert_int_equal(test_fops_ioctl(f->fd, IOMMU_VFIO_IOAS, &v), 0);
	assert_int_equal(v.ioas_id, b);
	v.op = IOMMU_VFIO_IOAS_CLEAR;
	assert_int_equal(test_fops_ioctl(f->fd, IOMMU_VFIO_IOAS, &v), 0);
	v.op = IOMMU_VFIO_IOAS_GET;
	assert_int_equal(test_fops_ioctl(f->fd, IOMMU_VFIO_IOAS, &v), -ENODEV);
	/* the designation is no user: the IOAS can go, and takes it along */
	v.op = IOMMU_VFIO_IOAS_SET;
	v.ioas_id = a;
	assert_int_equal(test_fops_ioctl(f->fd, IOMMU_VFIO_IOAS, &v), 0);
	assert_int_equal(test_iommu_destroy(f->fd, a), 0);
	v.op = IOMMU_VFIO_IOAS_GET;
	assert_int_equal(test_fops_ioctl(f->fd, IOMMU_VFIO_IOAS, &v), -ENODEV);
	assert_int_equal(test_ioas_alloc(f->fd), a); /* the id is free again */
	assert_int_equal(test_fops_ioctl(f->fd, IOMMU_VFIO_IOAS, &v), -ENODEV);
}

/* ---- concurrency ------------------------------------------------------------------ */

struct racer {
	struct fx *f;
	uint32_t ioas;
	uint32_t *buf;
	uint64_t iova;
	int errors;
};

static void *race_map_unmap(void *arg)
{
	struct racer *r = arg;

	for (int i = 0; i < 200; i++) {
		uint64_t iova = r->iova, done;

		if (map(r->f, r->ioas, FIXED_RW, r->buf, 4 * PG, &iova) ||
		    unmap(r->f, r->ioas, r->iova, 4 * PG, &done) ||
		    done != 4 * PG)
			r->errors++;
		iova = 0; /* an allocated IOVA never lands on another's */
		if (map(r->f, r->ioas, RW, r->buf, PG, &iova) ||
		    unmap(r->f, r->ioas, iova, PG, NULL))
			r->errors++;
	}
	return NULL;
}

/* Maps and unmaps from four threads at once on one IOAS with an attached
 * device: every call succeeds, nothing is left pinned or charged, and the
 * domain still translates what stays mapped. */
static void test_concurrent_map_unmap(void **state)
{
	struct fx *f = *state;
	uint32_t *keep = region(f, PG, 0);
	uint32_t ioas = test_ioas_alloc(f->fd), id, pt;
	struct iommufd_device *idev;
	struct racer r[4];
	pthread_t t[4];
	uint64_t iova = 0x40000000;

	assert_int_equal(map(f, ioas, FIXED_RW, keep, PG, &iova), 0);
	assert_int_equal(iommufd_device_bind(f->ictx, &f->dev[0], &id, &idev),
			 0);
	pt = ioas;
	assert_int_equal(attach(idev, &pt), 0);
	for (int i = 0; i < 4; i++) {
		r[i] = (struct racer){.f = f,
				      .ioas = ioas,
				      .buf = region(f, 4 * PG, 0),
				      .iova = 0x10000000 + i * 0x100000};
		assert_int_equal(
			pthread_create(&t[i], NULL, race_map_unmap, &r[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(r[i].errors, 0);
	}
	assert_int_equal(mm_user_locked_vm(), f->user_base + 1);
	assert_int_equal(dma_word(f, 0, 0x40000000, 42), 42);
	assert_int_equal(keep[0], 42);
	iommufd_device_unbind(idev);
}

/* ---- fail-Nth sweeps ---------------------------------------------------------------- */

struct sweep {
	struct fx *f;
	uint32_t ioas;
	void *buf;
	struct iommufd_device *idev;
	uint64_t locked;
	unsigned int objects;
};

static int sweep_map(void *ctx)
{
	struct sweep *s = ctx;
	uint64_t iova = 0;

	return map(s->f, s->ioas, RW, s->buf, 64 * PG, &iova);
}

static void sweep_map_undo(void *ctx)
{
	struct sweep *s = ctx;

	assert_int_equal(unmap(s->f, s->ioas, 0, UINT64_MAX, NULL), 0);
}

static void sweep_map_check(void *ctx)
{
	struct sweep *s = ctx;
	uint64_t done;

	assert_int_equal(mm_user_locked_vm(), s->locked);
	assert_int_equal(unmap(s->f, s->ioas, 0, UINT64_MAX, &done), 0);
	assert_int_equal(done, 0);
	assert_int_equal(mm_check_invariants(s->f->mm, stderr), 0);
}

/* IOAS_MAP into an IOAS with an attached device: every failure leaves
 * nothing mapped, pinned or charged. */
static void test_fail_sweep_map(void **state)
{
	struct fx *f = *state;
	struct sweep s = {.f = f, .buf = region(f, 64 * PG, 0)};
	uint32_t id, pt;

	s.ioas = test_ioas_alloc(f->fd);
	pt = s.ioas;
	assert_int_equal(iommufd_device_bind(f->ictx, &f->dev[0], &id, &s.idev),
			 0);
	assert_int_equal(attach(s.idev, &pt), 0);
	s.locked = mm_user_locked_vm();
	assert_true(test_fail_sweep(sweep_map, sweep_map_undo, sweep_map_check,
				    &s, 0) > 0);
	iommufd_device_unbind(s.idev);
}

static int sweep_attach(void *ctx)
{
	struct sweep *s = ctx;
	uint32_t pt = s->ioas;

	return attach(s->idev, &pt);
}

static void sweep_attach_undo(void *ctx)
{
	struct sweep *s = ctx;

	iommufd_device_detach(s->idev);
}

static void sweep_attach_check(void *ctx)
{
	struct sweep *s = ctx;
	struct iommu_iova_range r[4];
	uint32_t num = 4;
	uint64_t align;

	/* not attached, no domain left, no reservation left */
	assert_null(iommu_get_domain_for_dev(&s->f->dev[0]));
	assert_int_equal(iova_ranges(s->f, s->ioas, r, &num, &align), 0);
	assert_int_equal(num, 1);
	assert_int_equal(align, 1);
	assert_int_equal(s->f->ictx->live_objects, s->objects);
	assert_int_equal(dma_word(s->f, 0, 0x100000, 1), 0xdead);
	/* the pins the attach took went with it */
	assert_int_equal(mm_user_locked_vm(), s->locked);
	assert_int_equal(mm_check_invariants(s->f->mm, stderr), 0);
}

/* Attach to an IOAS with areas (an auto domain made and filled): every
 * failure leaves the device detached and the IOAS as it was. */
static void test_fail_sweep_attach(void **state)
{
	struct fx *f = *state;
	struct sweep s = {.f = f, .buf = region(f, 16 * PG, 0)};
	uint64_t iova = 0x100000;
	uint32_t id;

	s.ioas = test_ioas_alloc(f->fd);
	assert_int_equal(map(f, s.ioas, FIXED_RW, s.buf, 16 * PG, &iova), 0);
	assert_int_equal(iommufd_device_bind(f->ictx, &f->dev[0], &id, &s.idev),
			 0);
	s.objects = f->ictx->live_objects;
	s.locked = mm_user_locked_vm();
	assert_true(test_fail_sweep(sweep_attach, sweep_attach_undo,
				    sweep_attach_check, &s, 0) > 0);
	iommufd_device_unbind(s.idev);
}

static int sweep_hwpt(void *ctx)
{
	struct sweep *s = ctx;
	uint32_t out;

	return hwpt_alloc(s->f, IOMMU_HWPT_ALLOC_NEST_PARENT,
			  iommufd_device_to_id(s->idev), s->ioas, &out);
}

static void sweep_hwpt_undo(void *ctx)
{
	struct sweep *s = ctx;

	/* the new HWPT has the lowest free id: the one after the device */
	assert_int_equal(test_iommu_destroy(s->f->fd,
					    iommufd_device_to_id(s->idev) + 1),
			 0);
}

static void sweep_hwpt_check(void *ctx)
{
	struct sweep *s = ctx;
	struct iommu_iova_range r[4];
	uint32_t num = 4;
	uint64_t align;

	assert_int_equal(s->f->ictx->live_objects, s->objects);
	/* no domain left in the IOAS: no aperture reserved, alignment 1 */
	assert_int_equal(iova_ranges(s->f, s->ioas, r, &num, &align), 0);
	assert_int_equal(num, 1);
	assert_int_equal(align, 1);
}

/* HWPT_ALLOC over an IOAS with areas: every failure leaves no object,
 * no domain in the IOAS. */
static void test_fail_sweep_hwpt_alloc(void **state)
{
	struct fx *f = *state;
	struct sweep s = {.f = f, .buf = region(f, 16 * PG, 0)};
	uint64_t iova = 0x100000;
	uint32_t id;

	s.ioas = test_ioas_alloc(f->fd);
	assert_int_equal(map(f, s.ioas, FIXED_RW, s.buf, 16 * PG, &iova), 0);
	assert_int_equal(iommufd_device_bind(f->ictx, &f->dev[0], &id, &s.idev),
			 0);
	s.objects = f->ictx->live_objects;
	assert_true(test_fail_sweep(sweep_hwpt, sweep_hwpt_undo,
				    sweep_hwpt_check, &s, 0) > 0);
	iommufd_device_unbind(s.idev);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_object_ids),	      T(test_dispatch_order),
		T(test_cmd_length),	      T(test_ctx_from_fd),
		T(test_order_ioas_map),	      T(test_unmap),
		T(test_alloc_iova),	      T(test_iova_ranges_empty),
		T(test_allow_iovas),	      T(test_copy),
		T(test_copy_readonly),	      T(test_rlimit_mode),
		T(test_attach_dma),	      T(test_attach_conflicts),
		T(test_pin_with_domain),      T(test_two_devices_share_domain),
		T(test_bind_ownership),	      T(test_replace),
		T(test_huge_pages),	      T(test_close_with_objects),
		T(test_hwpt_alloc),	      T(test_get_hw_info),
		T(test_hwpt_invalidate),      T(test_vfio_ioas),
		T(test_concurrent_map_unmap), T(test_fail_sweep_map),
		T(test_fail_sweep_attach),    T(test_fail_sweep_hwpt_alloc),
	};

	return test_run("iommufd", tests, ARRAY_SIZE_T(tests));
}
