// SPDX-License-Identifier: MIT
/*
 * Stress test of the uAPI under concurrency (run in every build, and clean
 * under ThreadSanitizer): one container with two groups, and at once
 *  - two mappers doing MAP/UNMAP in windows of their own (each must
 *    succeed) and in one shared window where their ranges overlap (EEXIST
 *    and EINVAL are the only failures allowed),
 *  - a copier driving dma0 between two mappings of its own, checking that
 *    the data copied is what the CPU wrote there,
 *  - a second engine (dma1) copying through the windows the mappers change
 *    under it (faults allowed, nothing else),
 *  - a discarder that discards (MADV_DONTNEED) and unmaps pinned memory of
 *    a region a third mapper keeps mapping, then maps a new one,
 *  - a dirty-bitmap reader (start, get, stop).
 * Bounded by time; at the end everything is unmapped and closed, and no
 * pin, charge or frame may be left.  The threads count their failures
 * (cmocka's asserts are for the main thread).
 */
#include "helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <uiommu/uapi.h>
#include "system/system.h"
#include "vfio/vfio.h"
#include "vfio/vfio_device.h"

#define PG	      4096ULL
#define RUN_NS	      (1000ULL * 1000 * 1000) /* 1 s */
#define MIN_ROUNDS    50
#define SHARED_IOVA   0x1000000ULL /* the overlapping window: 64 pages */
#define SHARED_PAGES  64
#define PRIVATE_IOVA  0x2000000ULL /* mapper i: + i * 0x100000, 32 pages */
#define PRIVATE_PAGES 32
#define COPY_SRC      0x4000000ULL /* the copier's: 16 pages each */
#define COPY_DST      0x4100000ULL
#define COPY_PAGES    16
#define VICTIM_IOVA   0x5000000ULL /* the discarded region's: 32 pages */
#define VICTIM_PAGES  32

struct stress {
	struct mm *mm;
	int container, group[2], dev[2];
	uint8_t *shared, *priv[2], *src, *dst;
	_Atomic(uint8_t *) victim;
	_Atomic bool stop;
	atomic_uint failures;
	atomic_ulong rounds[6];
	uint64_t deadline;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void stress_fail(struct stress *s, const char *what, int err)
{
	fprintf(stderr, "stress: %s: errno %d\n", what, err);
	atomic_fetch_add(&s->failures, 1);
}

/* xorshift, one state per thread */
static uint64_t rnd(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static bool running(struct stress *s, unsigned int who)
{
	unsigned long n = atomic_fetch_add(&s->rounds[who], 1);

	if (n < MIN_ROUNDS)
		return true;
	return !atomic_load(&s->stop) && now_ns() < s->deadline;
}

static int map(struct stress *s, uint64_t iova, void *vaddr, uint64_t size)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)vaddr,
		.iova = iova,
		.size = size,
	};

	return uiommu_ioctl(s->container, VFIO_IOMMU_MAP_DMA, &m) ? errno : 0;
}

/* 0 and the bytes unmapped in *done, or the errno */
static int unmap(struct stress *s, uint64_t iova, uint64_t size, uint64_t *done)
{
	struct vfio_iommu_type1_dma_unmap u = {
		.argsz = sizeof(u),
		.iova = iova,
		.size = size,
	};

	if (uiommu_ioctl(s->container, VFIO_IOMMU_UNMAP_DMA, &u))
		return errno;
	if (done)
		*done = u.size;
	return 0;
}

/* Program an engine and ring it: its STATUS, or -1 if the fd refused. */
static int engine_copy(int dev, uint64_t src, uint64_t dst, uint64_t len)
{
	uint32_t one = 1, status;

	if (uiommu_pwrite(dev, &src, 8, DMAENGINE_REG_SRC) != 8 ||
	    uiommu_pwrite(dev, &dst, 8, DMAENGINE_REG_DST) != 8 ||
	    uiommu_pwrite(dev, &len, 8, DMAENGINE_REG_LEN) != 8 ||
	    uiommu_pwrite(dev, &one, 4, DMAENGINE_REG_DOORBELL) != 4 ||
	    uiommu_pread(dev, &status, 4, DMAENGINE_REG_STATUS) != 4)
		return -1;
	return (int)status;
}

struct mapper {
	struct stress *s;
	unsigned int id;
};

static void *mapper_thread(void *arg)
{
	struct mapper *m = arg;
	struct stress *s = m->s;
	uint64_t x = 0x9e3779b97f4a7c15ULL * (m->id + 1), done = 0;
	uint64_t priv = PRIVATE_IOVA + m->id * 0x100000ULL;
	int err;

	while (running(s, m->id)) {
		/* disjoint: ours alone, must work */
		uint64_t p = rnd(&x) % PRIVATE_PAGES,
			 n = 1 + rnd(&x) % (PRIVATE_PAGES - p);

		err = map(s, priv + p * PG, s->priv[m->id] + p * PG, n * PG);
		if (err)
			stress_fail(s, "private map", err);
		err = unmap(s, priv + p * PG, n * PG, &done);
		if (err || done != n * PG)
			stress_fail(s, "private unmap", err);

		/* overlapping: the other mapper's ranges meet ours */
		p = rnd(&x) % SHARED_PAGES;
		n = 1 + rnd(&x) % (SHARED_PAGES - p);
		err = map(s, SHARED_IOVA + p * PG, s->shared + p * PG, n * PG);
		if (err && err != EEXIST)
			stress_fail(s, "shared map", err);
		p = rnd(&x) % SHARED_PAGES;
		n = 1 + rnd(&x) % (SHARED_PAGES - p);
		err = unmap(s, SHARED_IOVA + p * PG, n * PG, NULL);
		if (err && err != EINVAL)
			stress_fail(s, "shared unmap", err);
	}
	return NULL;
}

/* dma0 between the copier's own mappings: the data must arrive. */
static void *copier_thread(void *arg)
{
	struct stress *s = arg;
	uint64_t x = 12345;
	unsigned int round = 0;

	while (running(s, 2)) {
		uint64_t len = 1 + rnd(&x) % (COPY_PAGES * PG),
			 off = rnd(&x) % (COPY_PAGES * PG - len + 1);
		int status;

		for (uint64_t i = 0; i < len; i++)
			s->src[off + i] = (uint8_t)(round + i * 7);
		status = engine_copy(s->dev[0], COPY_SRC + off, COPY_DST + off,
				     len);
		if (status != DMAENGINE_STATUS_DONE)
			stress_fail(s, "copy status", status);
		else if (memcmp(s->src + off, s->dst + off, len))
			stress_fail(s, "copied data differ", 0);
		round++;
	}
	return NULL;
}

/* dma1 through windows that change under it: faults are fine. */
static void *chaos_thread(void *arg)
{
	struct stress *s = arg;
	uint64_t x = 777;

	while (running(s, 3)) {
		static const uint64_t bases[] = {SHARED_IOVA, PRIVATE_IOVA,
						 PRIVATE_IOVA + 0x100000ULL,
						 VICTIM_IOVA};
		uint64_t a = bases[rnd(&x) % 4] + (rnd(&x) % 32) * PG,
			 b = bases[rnd(&x) % 4] + (rnd(&x) % 32) * PG;
		int status =
			engine_copy(s->dev[1], a, b, 1 + rnd(&x) % (4 * PG));

		if (status != DMAENGINE_STATUS_DONE &&
		    status != DMAENGINE_STATUS_ERROR)
			stress_fail(s, "chaos status", status);
	}
	return NULL;
}

/* Map the victim region; discard and unmap it under the mapping. */
static void *discarder_thread(void *arg)
{
	struct stress *s = arg;
	uint64_t x = 4242;
	int err;

	while (running(s, 4)) {
		uint8_t *v = atomic_load(&s->victim), *nv;
		uint64_t p = rnd(&x) % VICTIM_PAGES,
			 n = 1 + rnd(&x) % (VICTIM_PAGES - p);

		err = map(s, VICTIM_IOVA, v, VICTIM_PAGES * PG);
		if (err)
			stress_fail(s, "victim map", err);
		/* the pinned pages stay with the device */
		err = -mm_discard(s->mm, v + p * PG, n * PG);
		if (err)
			stress_fail(s, "discard", err);
		if (rnd(&x) & 1) {
			/* munmap of pinned memory, and a new region */
			err = -mm_munmap(s->mm, v, VICTIM_PAGES * PG);
			if (err)
				stress_fail(s, "munmap pinned", err);
			err = -mm_mmap(s->mm, VICTIM_PAGES * PG, 0,
				       (void **)&nv);
			if (err)
				stress_fail(s, "mmap", err);
			atomic_store(&s->victim, nv);
		}
		err = unmap(s, VICTIM_IOVA, VICTIM_PAGES * PG, NULL);
		if (err)
			stress_fail(s, "victim unmap", err);
	}
	return NULL;
}

static int dirty_op(struct stress *s, uint32_t flag, uint64_t iova,
		    uint64_t size, uint64_t *bitmap, uint64_t bytes)
{
	struct {
		struct vfio_iommu_type1_dirty_bitmap d;
		struct vfio_iommu_type1_dirty_bitmap_get g;
	} __attribute__((packed)) a = {
		.d.argsz = sizeof(a),
		.d.flags = flag,
		.g.iova = iova,
		.g.size = size,
		.g.bitmap.pgsize = PG,
		.g.bitmap.size = bytes,
		.g.bitmap.data = (__u64 *)bitmap,
	};

	return uiommu_ioctl(s->container, VFIO_IOMMU_DIRTY_PAGES, &a) ? errno
								      : 0;
}

static void *dirty_thread(void *arg)
{
	struct stress *s = arg;
	uint64_t bitmap[8];
	unsigned int round = 0;
	int err;

	while (running(s, 5)) {
		/* the copier's destination: one whole mapping, always there */
		err = dirty_op(s, VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP,
			       COPY_DST, COPY_PAGES * PG, bitmap,
			       sizeof(bitmap));
		if (err)
			stress_fail(s, "dirty bitmap", err);
		/* the shared window: may bisect a mapping */
		err = dirty_op(s, VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP,
			       SHARED_IOVA, SHARED_PAGES * PG, bitmap,
			       sizeof(bitmap));
		if (err && err != EINVAL)
			stress_fail(s, "shared dirty bitmap", err);
		if (++round % 16 == 0) {
			err = dirty_op(s, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP, 0,
				       0, NULL, 0);
			err = err
				      ?: dirty_op(
						 s,
						 VFIO_IOMMU_DIRTY_PAGES_FLAG_START,
						 0, 0, NULL, 0);
			if (err)
				stress_fail(s, "dirty stop/start", err);
		}
	}
	return NULL;
}

static void stress_run(const char *topology)
{
	struct stress *s = calloc(1, sizeof(*s));
	struct mapper m[2] = {{s, 0}, {s, 1}};
	struct phys_stats before, after;
	pthread_t t[6];
	uint8_t *v;
	uint64_t done;

	assert_int_equal(uiommu_system_init(topology), 0);
	s->mm = uiommu_current_mm();
	test_mm_limits(s->mm);
	phys_get_stats(uiommu_system_phys(), &before);

	s->container = uiommu_open("/dev/vfio/vfio", O_RDWR);
	for (int i = 0; i < 2; i++) {
		char path[32];

		snprintf(path, sizeof(path), "/dev/vfio/%d", i);
		s->group[i] = uiommu_open(path, O_RDWR);
		assert_true(s->group[i] >= 0);
		test_uapi_set_container(s->group[i], &s->container,
					i ? 0 : VFIO_TYPE1v2_IOMMU);
	}
	s->dev[0] = uiommu_ioctl(s->group[0], VFIO_GROUP_GET_DEVICE_FD, "dma0");
	s->dev[1] = uiommu_ioctl(s->group[1], VFIO_GROUP_GET_DEVICE_FD, "dma1");
	assert_true(s->dev[0] >= 0 && s->dev[1] >= 0);

	assert_int_equal(
		mm_mmap(s->mm, SHARED_PAGES * PG, 0, (void **)&s->shared), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(mm_mmap(s->mm, PRIVATE_PAGES * PG, 0,
					 (void **)&s->priv[i]),
				 0);
	assert_int_equal(mm_mmap(s->mm, COPY_PAGES * PG, 0, (void **)&s->src),
			 0);
	assert_int_equal(mm_mmap(s->mm, COPY_PAGES * PG, 0, (void **)&s->dst),
			 0);
	assert_int_equal(mm_mmap(s->mm, VICTIM_PAGES * PG, 0, (void **)&v), 0);
	atomic_store(&s->victim, v);
	assert_int_equal(map(s, COPY_SRC, s->src, COPY_PAGES * PG), 0);
	assert_int_equal(map(s, COPY_DST, s->dst, COPY_PAGES * PG), 0);
	assert_int_equal(dirty_op(s, VFIO_IOMMU_DIRTY_PAGES_FLAG_START, 0, 0,
				  NULL, 0),
			 0);

	s->deadline = now_ns() + RUN_NS;
	assert_int_equal(pthread_create(&t[0], NULL, mapper_thread, &m[0]), 0);
	assert_int_equal(pthread_create(&t[1], NULL, mapper_thread, &m[1]), 0);
	assert_int_equal(pthread_create(&t[2], NULL, copier_thread, s), 0);
	assert_int_equal(pthread_create(&t[3], NULL, chaos_thread, s), 0);
	assert_int_equal(pthread_create(&t[4], NULL, discarder_thread, s), 0);
	assert_int_equal(pthread_create(&t[5], NULL, dirty_thread, s), 0);
	for (int i = 0; i < 6; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	for (int i = 0; i < 6; i++)
		print_message("# thread %d: %lu rounds\n", i,
			      atomic_load(&s->rounds[i]));
	assert_int_equal(atomic_load(&s->failures), 0);

	/* everything goes; nothing may stay behind */
	{
		struct vfio_iommu_type1_dma_unmap u = {
			.argsz = sizeof(u),
			.flags = VFIO_DMA_UNMAP_FLAG_ALL,
		};

		assert_int_equal(uiommu_ioctl(s->container,
					      VFIO_IOMMU_UNMAP_DMA, &u),
				 0);
		done = u.size;
		assert_true(done >= 2 * COPY_PAGES * PG);
	}
	assert_int_equal(mm_locked_vm(s->mm), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(uiommu_close(s->dev[i]), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(uiommu_close(s->group[i]), 0);
	assert_int_equal(uiommu_close(s->container), 0);
	assert_int_equal(mm_check_invariants(s->mm, stderr), 0);
	assert_int_equal(mm_munmap(s->mm, s->shared, SHARED_PAGES * PG), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(
			mm_munmap(s->mm, s->priv[i], PRIVATE_PAGES * PG), 0);
	assert_int_equal(mm_munmap(s->mm, s->src, COPY_PAGES * PG), 0);
	assert_int_equal(mm_munmap(s->mm, s->dst, COPY_PAGES * PG), 0);
	assert_int_equal(mm_munmap(s->mm, atomic_load(&s->victim),
				   VICTIM_PAGES * PG),
			 0);
	assert_int_equal(mem_check_invariants(uiommu_system_phys(),
					      PHYS_OWNER_KERNEL, stderr),
			 0);
	phys_get_stats(uiommu_system_phys(), &after);
	assert_int_equal(after.frames_free, before.frames_free);
	assert_int_equal(uiommu_system_exit(), 0);
	free(s);
}

static void test_stress_inline(void **state)
{
	stress_run(UIOMMU_DEFAULT_TOPOLOGY);
}

/* the same with the SMMU's queues on their own threads */
static void test_stress_threaded(void **state)
{
	stress_run("iommu smmu0 threaded; device dma0 iommu=smmu0 sid=1 "
		   "group=0; device dma1 iommu=smmu0 sid=2 group=1");
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_stress_inline),
	cmocka_unit_test(test_stress_threaded),
};

TEST_MAIN(tests)
