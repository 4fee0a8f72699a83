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
 * that the unbound file reaches nothing (EINVAL), and closes it.  Output
 * is TAP.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define BDF    "0000:00:04.0"
#define DEVDIR "/sys/bus/pci/devices/" BDF

static int n_test, n_failed;

static void check(int ok, const char *what)
{
	n_test++;
	if (!ok) {
		n_failed++;
		printf("not ok %d - %s (errno %d: %s)\n", n_test, what, errno,
		       strerror(errno));
	} else {
		printf("ok %d - %s\n", n_test, what);
	}
}

/* The one vfioN entry of the device's vfio-dev directory, into name. */
static int cdev_name(char *name, size_t len)
{
	DIR *d = opendir(DEVDIR "/vfio-dev");
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
	snprintf(path, sizeof(path), "/sys/class/vfio-dev/%s/device", name);
	check(realpath(path, real) && !strcmp(real, "/sys/devices/"
						    "pci0000:00/" BDF),
	      "vfioN/device is the PCI device");

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
	printf("1..%d\n", n_test);
	return n_failed ? 1 : 0;
}
