// SPDX-License-Identifier: MIT
/*
 * An ordinary program that finds and opens a VFIO device's cdev the way
 * 6.12-era tools do (QEMU's vfio_device_get_name, the kernel's VFIO
 * selftests): it knows nothing of uiommu.  make check runs it under
 * `uiommu exec` with the default machine, whose I/OAT is 0000:00:04.0.
 *
 * It reads the device's vfio-dev directory in sysfs for its cdev's name,
 * checks the name's dev attribute against the /dev node's device number,
 * follows /sys/class/vfio-dev, opens /dev/vfio/devices/vfioN and checks
 * that the unbound file reaches nothing (EINVAL), and closes it.  Then,
 * as an iommufd VMM does with the DMA engine dma0: opens /dev/iommu,
 * allocates an IOAS and maps two buffers of its own memory into it, opens
 * dma0's cdev (found through /sys/devices/platform/dma0/vfio-dev), binds
 * it, attaches it to the IOAS, has the device copy one buffer into the
 * other, detaches (the copy then faults) and closes everything.  It knows
 * the 6.12 uAPI from the project's ABI definitions, as Debian 12's 6.1
 * headers lack it.  Output is TAP.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/vfio.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "iommufd/iommufd_uapi.h"
#include "vfio/vfio_uapi_cdev.h"

#include "tap_program.h"

/* the DMA engine's registers, region 0 (docs/dmaengine.md) */
#define REG_SRC	     0x00
#define REG_DST	     0x08
#define REG_LEN	     0x10
#define REG_DOORBELL 0x18
#define REG_STATUS   0x1c
#define STATUS_DONE  1
#define STATUS_ERROR 2

#define BDF    "0000:00:04.0"
#define DEVDIR "/sys/bus/pci/devices/" BDF

/* The one vfioN entry of a device's vfio-dev directory, into name. */
static int cdev_name_in(const char *dir, char *name, size_t len)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int found = 0;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "vfio", 4))
			continue;
		snprintf(name, len, "%s", e->d_name);
		found++;
	}
	closedir(d);
	return found == 1 ? 0 : -1;
}

static int cdev_name(char *name, size_t len)
{
	return cdev_name_in(DEVDIR "/vfio-dev", name, len);
}

static int dma_copy(int dev, uint64_t src, uint64_t dst, uint64_t len)
{
	uint32_t one = 1, status = 0;

	if (pwrite(dev, &src, 8, REG_SRC) != 8 ||
	    pwrite(dev, &dst, 8, REG_DST) != 8 ||
	    pwrite(dev, &len, 8, REG_LEN) != 8 ||
	    pwrite(dev, &one, 4, REG_DOORBELL) != 4 ||
	    pread(dev, &status, 4, REG_STATUS) != 4)
		return -1;
	return (int)status;
}

/* The iommufd path with dma0 (the program's own memory, mapped). */
static void iommufd_dma(void)
{
	struct iommu_ioas_alloc alloc = {.size = sizeof(alloc)};
	struct iommu_ioas_map map = {.size = sizeof(map)};
	struct vfio_device_bind_iommufd bind = {.argsz = sizeof(bind)};
	struct vfio_device_attach_iommufd_pt at = {.argsz = sizeof(at)};
	struct vfio_device_detach_iommufd_pt de = {.argsz = sizeof(de)};
	char name[256], path[PATH_MAX];
	int ifd, dev;
	uint8_t *buf;

	ifd = open("/dev/iommu", O_RDWR);
	check(ifd >= 0, "open /dev/iommu");
	check(!ioctl(ifd, IOMMU_IOAS_ALLOC, &alloc), "IOMMU_IOAS_ALLOC");
	buf = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(buf, 0xa5, 8192);
	memset(buf + 8192, 0, 8192);
	map.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
		    IOMMU_IOAS_MAP_WRITEABLE;
	map.ioas_id = alloc.out_ioas_id;
	map.user_va = (uintptr_t)buf;
	map.length = 4 * 4096;
	map.iova = 0x200000;
	check(!ioctl(ifd, IOMMU_IOAS_MAP, &map), "IOMMU_IOAS_MAP own memory");

	check(!cdev_name_in("/sys/devices/platform/dma0/vfio-dev", name,
			    sizeof(name)),
	      "dma0's vfio-dev/vfioN");
	snprintf(path, sizeof(path), "/dev/vfio/devices/%s", name);
	dev = open(path, O_RDWR);
	check(dev >= 0, "open dma0's cdev");
	bind.iommufd = ifd;
	check(!ioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &bind) && bind.out_devid,
	      "VFIO_DEVICE_BIND_IOMMUFD");
	at.pt_id = alloc.out_ioas_id;
	check(!ioctl(dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at) &&
		      at.pt_id != alloc.out_ioas_id,
	      "VFIO_DEVICE_ATTACH_IOMMUFD_PT: the IOAS, a HWPT back");
	check(dma_copy(dev, 0x200000, 0x202000, 8192) == STATUS_DONE &&
		      buf[8192] == 0xa5 && buf[16383] == 0xa5,
	      "DMA through the IOAS");
	memset(buf + 8192, 0, 8192);
	check(!ioctl(dev, VFIO_DEVICE_DETACH_IOMMUFD_PT, &de), "VFIO_DEVICE_"
							       "DETACH_IOMMUFD_"
							       "PT");
	check(dma_copy(dev, 0x200000, 0x202000, 8192) == STATUS_ERROR &&
		      buf[8192] == 0,
	      "detached: the DMA faults, nothing written");
	check(!close(dev), "close the cdev (unbinds)");
	dev = open("/dev/vfio/0", O_RDWR);
	check(dev >= 0, "the group opens again");
	close(dev);
	check(!close(ifd), "close /dev/iommu");
	munmap(buf, 4 * 4096);
}

int main(void)
{
	char name[256], path[PATH_MAX], buf[64], real[PATH_MAX];
	unsigned int maj = 0, min = 0;
	struct vfio_device_info info = {.argsz = sizeof(info)};
	struct stat st;
	FILE *f;
	int fd;

	check(!cdev_name(name, sizeof(name)), "one vfioN in vfio-dev/");
	snprintf(path, sizeof(path), DEVDIR "/vfio-dev/%s/dev", name);
	f = fopen(path, "r");
	check(f && fgets(buf, sizeof(buf), f) &&
		      sscanf(buf, "%u:%u", &maj, &min) == 2,
	      "vfio-dev/vfioN/dev reads major:minor");
	if (f)
		fclose(f);
	snprintf(path, sizeof(path), "/dev/vfio/devices/%s", name);
	check(!stat(path, &st) && S_ISCHR(st.st_mode) &&
		      major(st.st_rdev) == maj && minor(st.st_rdev) == min,
	      "/dev/vfio/devices/vfioN is that character device");
	check((unsigned int)atoi(name + 4) == min && maj != 0, "the minor is "
							       "the index in "
							       "the name");
	snprintf(path, sizeof(path), "/sys/class/vfio-dev/%s", name);
	check(realpath(path, real) != NULL, "realpath of "
					    "/sys/class/vfio-dev/vfioN");
	check(!strncmp(real, "/sys/devices/pci0000:00/" BDF "/vfio-dev/",
		       strlen("/sys/devices/pci0000:00/" BDF "/vfio-dev/")) &&
		      !strcmp(strrchr(real, '/') + 1, name),
	      "/sys/class/vfio-dev/vfioN is the device's vfio-dev/vfioN");
	snprintf(path, sizeof(path), "/sys/dev/char/%u:%u/device", maj, min);
	check(realpath(path, real) && !strcmp(real, "/sys/devices/"
						    "pci0000:00/" BDF),
	      "/sys/dev/char/MAJ:MIN of the node is that device's cdev");
	/* (the directory itself is the host's: only 242:N are the view's) */
	check(stat("/sys/dev/char", &st) || !stat("/sys/dev/char/1:3", &st),
	      "the host's other /sys/dev/char entries stay");
	snprintf(path, sizeof(path), "/sys/class/vfio-dev/%s/device", name);
	check(realpath(path, real) && !strcmp(real, "/sys/devices/"
						    "pci0000:00/" BDF),
	      "vfioN/device is the PCI device");

	/* the directory opens as one, and lists every device's cdev */
	fd = open("/dev/vfio/devices", O_RDONLY | O_DIRECTORY);
	check(fd >= 0, "open /dev/vfio/devices as a directory");
	{
		DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
		struct dirent *e;
		int n = 0, mine = 0;

		while (d && (e = readdir(d))) {
			n += !strncmp(e->d_name, "vfio", 4);
			mine += !strcmp(e->d_name, name);
		}
		check(n == 3 && mine == 1, "/dev/vfio/devices lists the three "
					   "cdevs");
		if (d)
			closedir(d);
	}
	snprintf(path, sizeof(path), "/dev/vfio/devices/%s", name);
	fd = open(path, O_RDWR);
	check(fd >= 0, "open /dev/vfio/devices/vfioN");
	errno = 0;
	check(ioctl(fd, VFIO_DEVICE_GET_INFO, &info) == -1 && errno == EINVAL,
	      "unbound: VFIO_DEVICE_GET_INFO is EINVAL");
	errno = 0;
	check(pread(fd, buf, 4, 0) == -1 && errno == EINVAL, "unbound: pread "
							     "is EINVAL");
	errno = 0;
	check(mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED &&
		      errno == EINVAL,
	      "unbound: mmap is EINVAL");
	check(!close(fd), "close");
	iommufd_dma();
	printf("1..%d\n", n_test);
	return n_failed ? 1 : 0;
}
