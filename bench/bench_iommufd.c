// SPDX-License-Identifier: MIT
/*
 * iommufd benchmarks (issue 15): IOMMU_IOAS_MAP and IOMMU_IOAS_UNMAP of one
 * 1 GiB area (256 MiB with --quick) through /dev/iommu's ioctl entry, with
 * one device attached to the IOAS (its auto domain on the emulated SMMU),
 * 4 KiB- and 2 MiB-backed, beside type1's VFIO_IOMMU_MAP_DMA/UNMAP_DMA of
 * the same memory on the same SMMU in the same run; the ratio figures are
 * iommufd's time over type1's (target <= 1.2).  Both pin through mem's
 * mm_pin_pages; iommufd's charge is the user's locked memory (its default
 * RLIMIT_MODE), type1's the process's locked_vm, neither limited
 * (CAP_IPC_LOCK).  GB/s of mapping size, medians over the repetitions.
 * Each figure twice: as a program that mapped no BAR sees it (the user
 * copies of both uAPIs are process_vm_readv/writev, and IOAS_MAP copies
 * its IOVA back where MAP_DMA copies nothing), and with the trap's SIGSEGV
 * handler installed ("_fixup": copies without system calls).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>

#include "devices/devices.h"
#include "mem/mmio_trap.h"
#include "vfio/vfio.h"
#include "vfio/vfio_device.h"

#include "iommufd/iommufd.h"
#include "iommufd/iommufd_uapi.h"

#include "bench.h"

#define BENCH_IOVA (1ULL << 32)

static int ioas_map(int fd, uint32_t ioas, void *va, uint64_t size)
{
	struct iommu_ioas_map m = {
		.size = sizeof(m),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = ioas,
		.user_va = (uintptr_t)va,
		.length = size,
		.iova = BENCH_IOVA,
	};

	return vfio_fops_ioctl(fd, IOMMU_IOAS_MAP, &m);
}

static int ioas_unmap(int fd, uint32_t ioas, uint64_t size)
{
	struct iommu_ioas_unmap u = {.size = sizeof(u),
				     .ioas_id = ioas,
				     .iova = BENCH_IOVA,
				     .length = size};

	return vfio_fops_ioctl(fd, IOMMU_IOAS_UNMAP, &u) || u.length != size;
}

/* type1's MAP/UNMAP medians of the same memory, for the ratios */
static void type1_medians(struct mm *mm, struct device *dev, void *va,
			  uint64_t size, int reps, double *map_ns,
			  double *unmap_ns)
{
	double m[64], u[64];
	struct vfio_iommu *c;

	if (vfio_iommu_type1_open(mm, VFIO_TYPE1v2_IOMMU, &c) ||
	    vfio_iommu_type1_attach_group(c, iommu_group_get(dev)))
		abort();
	if (bench_type1_map(c, va, BENCH_IOVA, size) ||
	    bench_type1_unmap(c, BENCH_IOVA, size))
		abort();
	for (int r = 0; r < reps; r++) {
		uint64_t t0 = bench_now_ns(), t1, t2;

		if (bench_type1_map(c, va, BENCH_IOVA, size))
			abort();
		t1 = bench_now_ns();
		if (bench_type1_unmap(c, BENCH_IOVA, size))
			abort();
		t2 = bench_now_ns();
		m[r] = (double)(t1 - t0);
		u[r] = (double)(t2 - t1);
	}
	*map_ns = bench_median(m, reps);
	*unmap_ns = bench_median(u, reps);
	vfio_iommu_type1_release(c);
}

static void bench_backing(struct platform *p, struct device *dev, bool huge,
			  const char *sfx)
{
	const char *b = huge ? "2m" : "4k";
	uint64_t size = bench_quick ? 256ULL << 20 : 1ULL << 30;
	int reps = bench_reps > 64 ? 64 : bench_reps;
	double m[64], u[64], t1_map, t1_unmap, map_ns, unmap_ns;
	struct iommu_ioas_alloc a = {.size = sizeof(a)};
	struct iommufd_device *idev;
	struct iommufd_ctx *ictx;
	uint32_t dev_id, pt;
	char name[64];
	struct mm *mm;
	void *va;
	int fd;

	if (mm_create(p->pm, &mm))
		abort();
	mm_set_cap_ipc_lock(mm, true);
	if (mm_mmap(mm, size, MM_MAP_POPULATE | (huge ? MM_MAP_HUGE : 0), &va))
		abort();
	type1_medians(mm, dev, va, size, reps, &t1_map, &t1_unmap);

	fd = vfio_fops_open(mm, "/dev/iommu", O_RDWR);
	if (fd < 0 || vfio_fops_ioctl(fd, IOMMU_IOAS_ALLOC, &a) ||
	    iommufd_ctx_from_fd(fd, &ictx) ||
	    iommufd_device_bind(ictx, dev, &dev_id, &idev))
		abort();
	pt = a.out_ioas_id;
	if (iommufd_device_attach(idev, &pt))
		abort();
	if (ioas_map(fd, a.out_ioas_id, va, size) ||
	    ioas_unmap(fd, a.out_ioas_id, size))
		abort();
	for (int r = 0; r < reps; r++) {
		uint64_t t0 = bench_now_ns(), t1, t2;

		if (ioas_map(fd, a.out_ioas_id, va, size))
			abort();
		t1 = bench_now_ns();
		if (ioas_unmap(fd, a.out_ioas_id, size))
			abort();
		t2 = bench_now_ns();
		m[r] = (double)(t1 - t0);
		u[r] = (double)(t2 - t1);
	}
	map_ns = bench_median(m, reps);
	unmap_ns = bench_median(u, reps);

	snprintf(name, sizeof(name), "iommufd.ioas_map_%s_backed%s", b, sfx);
	bench_report(name, (double)size / map_ns, "GB/s", "1 GiB, one domain");
	snprintf(name, sizeof(name), "iommufd.ioas_unmap_%s_backed%s", b, sfx);
	bench_report(name, (double)size / unmap_ns, "GB/s",
		     "1 GiB, one domain");
	snprintf(name, sizeof(name), "iommufd.ioas_map_%s_vs_type1%s", b, sfx);
	bench_report(name, map_ns / t1_map, "x",
		     "IOAS_MAP time / MAP_DMA time, target <= 1.2");
	snprintf(name, sizeof(name), "iommufd.ioas_unmap_%s_vs_type1%s", b,
		 sfx);
	bench_report(name, unmap_ns / t1_unmap, "x",
		     "IOAS_UNMAP time / UNMAP_DMA time, target <= 1.2");

	iommufd_device_unbind(idev);
	iommufd_ctx_put(ictx);
	vfio_fops_close(fd);
	mm_destroy(mm);
}

static void no_read(void *priv, uint64_t off, unsigned int width, uint64_t *val)
{
	*val = 0;
}

static void no_write(void *priv, uint64_t off, unsigned int width, uint64_t val)
{
}

static const struct mmio_trap_ops no_ops = {.read = no_read, .write = no_write};

static void bench_iommufd(void)
{
	struct mm *trap_mm;
	void *trap_page;
	struct platform_config cfg = {.mem_size = 4ULL << 30};
	struct device dev = {.name = "bench", .sid = 1};
	struct platform *p;

	if (platform_create(&cfg, &p) || iommu_probe_device(&dev, p->iommu, 0))
		abort();
	bench_backing(p, &dev, false, "");
	bench_backing(p, &dev, true, "");
	/* again with the trap's SIGSEGV handler installed (a trapped page
	 * mapped, as a program that mapped a BAR has): the ioctls' user
	 * copies are then plain copies under a fixup, no system call */
	if (mm_create(p->pm, &trap_mm) ||
	    mm_mmap_trapped(trap_mm, 4096, &no_ops, NULL, &trap_page))
		abort();
	bench_backing(p, &dev, false, "_fixup");
	bench_backing(p, &dev, true, "_fixup");
	mm_munmap(trap_mm, trap_page, 4096);
	mm_destroy(trap_mm);
	iommu_release_device(&dev);
	platform_destroy(p);
}

BENCH_SUITE(iommufd, bench_iommufd)
