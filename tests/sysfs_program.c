// SPDX-License-Identifier: MIT
/*
 * The machine a program sees under `uiommu exec` (issue 14): an ordinary
 * program that knows nothing of uiommu looks at /sys and /dev/vfio the way
 * DPDK and QEMU do, and checks that every path API gives the same answer
 * on the same paths: open, openat (absolute and relative to a directory
 * fd), fopen, stat, lstat, fstatat, statx, glibc's __xstat entry points,
 * access, faccessat, readlink, readlinkat, realpath, __realpath_chk,
 * opendir/readdir and scandir.  It checks that the view is read-only,
 * that the host's own /sys stays visible outside the view's prefixes,
 * that /dev/vfio/vfio and /dev/vfio/N stat as character devices (and
 * /dev/vfio/vfio still opens as the VFIO container), and that no host PCI
 * device shows: /sys/bus/pci/devices lists the machine's functions only.
 *
 * The machine is the default topology's: platform DMA engines dma0 and
 * dma1 in groups 0 and 1; when it has the I/OAT at 0000:00:04.0 (group 2)
 * its PCI attributes and links are checked too.  Output is TAP.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/vfio.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* the iommufd ABI, where the system's headers lack <linux/iommufd.h> */
#include "../src/iommufd/iommufd_uapi.h"

#define BDF "0000:00:04.0"

static int n_test, n_failed;

static void check(bool ok, const char *what, const char *path)
{
	n_test++;
	if (!ok)
		n_failed++;
	printf("%s %d - %s %s%s%s\n", ok ? "ok" : "not ok", n_test, what, path,
	       ok ? "" : ": ", ok ? "" : strerror(errno));
}

/* The file's first line through open/read, openat, fopen/fgets: all equal
 * to want. */
static void expect_text(const char *path, const char *want)
{
	char a[256] = "", b[256] = "", c[256] = "";
	ssize_t n;
	FILE *f;
	int fd;

	fd = open(path, O_RDONLY);
	n = fd >= 0 ? read(fd, a, sizeof(a) - 1) : -1;
	if (fd >= 0)
		close(fd);
	a[n > 0 ? n : 0] = '\0';
	check(!strcmp(a, want), "open+read", path);
	fd = openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	n = fd >= 0 ? read(fd, b, sizeof(b) - 1) : -1;
	if (fd >= 0)
		close(fd);
	b[n > 0 ? n : 0] = '\0';
	check(!strcmp(b, want), "openat+read", path);
	f = fopen(path, "r");
	if (f) {
		if (!fgets(c, sizeof(c), f))
			c[0] = '\0';
		fclose(f);
	}
	check(!strcmp(c, want), "fopen+fgets", path);
}

typedef int (*xstat_fn)(int, const char *, struct stat *);
typedef int (*fxstatat_fn)(int, int, const char *, struct stat *, int);
typedef char *(*realpath_chk_fn)(const char *, char *, size_t);

/* Every stat API agrees on the type (and for S_ISCHR the device). */
static void expect_stat(const char *path, mode_t type, bool follow)
{
	xstat_fn xstat = (xstat_fn)dlsym(RTLD_DEFAULT, "__xstat");
	xstat_fn lxstat = (xstat_fn)dlsym(RTLD_DEFAULT, "__lxstat");
	fxstatat_fn fxstatat = (fxstatat_fn)dlsym(RTLD_DEFAULT, "__fxstatat");
	struct stat s1, s2, s3, s4;
	struct statx sx;
	int r;

	r = follow ? stat(path, &s1) : lstat(path, &s1);
	check(!r && (s1.st_mode & S_IFMT) == type, follow ? "stat" : "lstat",
	      path);
	r = fstatat(AT_FDCWD, path, &s2, follow ? 0 : AT_SYMLINK_NOFOLLOW);
	check(!r && (s2.st_mode & S_IFMT) == type && s2.st_rdev == s1.st_rdev,
	      "fstatat", path);
	r = statx(AT_FDCWD, path, follow ? 0 : AT_SYMLINK_NOFOLLOW,
		  STATX_BASIC_STATS, &sx);
	check(!r && (sx.stx_mode & S_IFMT) == type &&
		      makedev(sx.stx_rdev_major, sx.stx_rdev_minor) ==
			      s1.st_rdev,
	      "statx", path);
	if (xstat && lxstat && fxstatat) {
		r = follow ? xstat(1, path, &s3) : lxstat(1, path, &s3);
		check(!r && (s3.st_mode & S_IFMT) == type &&
			      s3.st_rdev == s1.st_rdev,
		      follow ? "__xstat" : "__lxstat", path);
		r = fxstatat(1, AT_FDCWD, path, &s4,
			     follow ? 0 : AT_SYMLINK_NOFOLLOW);
		check(!r && (s4.st_mode & S_IFMT) == type, "__fxstatat", path);
	}
	check(!access(path, F_OK) && !faccessat(AT_FDCWD, path, F_OK, 0),
	      "access/faccessat", path);
}

/* A path the view does not have: ENOENT from every API. */
static void expect_absent(const char *path)
{
	struct stat st;
	struct statx sx;
	char buf[PATH_MAX];

	errno = 0;
	check(stat(path, &st) == -1 && errno == ENOENT, "stat ENOENT", path);
	errno = 0;
	check(open(path, O_RDONLY) == -1 && errno == ENOENT, "open ENOENT",
	      path);
	errno = 0;
	check(!fopen(path, "r") && errno == ENOENT, "fopen ENOENT", path);
	errno = 0;
	check(access(path, F_OK) == -1 && errno == ENOENT, "access ENOENT",
	      path);
	errno = 0;
	check(statx(AT_FDCWD, path, 0, STATX_BASIC_STATS, &sx) == -1 &&
		      errno == ENOENT,
	      "statx ENOENT", path);
	errno = 0;
	check(!realpath(path, buf) && errno == ENOENT, "realpath ENOENT", path);
}

/* A link: its text through readlink and readlinkat, and realpath (and
 * __realpath_chk) giving the kernel's path. */
static void expect_link(const char *path, const char *text, const char *real)
{
	realpath_chk_fn chk = (realpath_chk_fn)dlsym(RTLD_DEFAULT, "__realpath_"
								   "chk");
	char a[PATH_MAX], b[PATH_MAX], c[PATH_MAX], d[PATH_MAX];
	char *e;
	ssize_t n;

	n = readlink(path, a, sizeof(a) - 1);
	a[n > 0 ? n : 0] = '\0';
	check(!strcmp(a, text), "readlink", path);
	n = readlinkat(AT_FDCWD, path, b, sizeof(b) - 1);
	b[n > 0 ? n : 0] = '\0';
	check(!strcmp(b, text), "readlinkat", path);
	check(realpath(path, c) && !strcmp(c, real), "realpath", path);
	e = realpath(path, NULL);
	check(e && !strcmp(e, real), "realpath (allocated)", path);
	free(e);
	if (chk)
		check(chk(path, d, sizeof(d)) && !strcmp(d, real),
		      "__realpath_chk", path);
	expect_stat(path, S_IFLNK, false);
}

static int not_dot(const struct dirent *d)
{
	return strcmp(d->d_name, ".") && strcmp(d->d_name, "..");
}

/* The entries of a directory (not . and ..), sorted, joined by ' ', through
 * readdir on opendir's DIR* and through scandir: both equal to want. */
static void expect_dir(const char *path, const char *want)
{
	char a[1024] = "", b[1024] = "";
	struct dirent **list, *d;
	char *names[64];
	unsigned int n = 0;
	DIR *dir;
	int m;

	dir = opendir(path);
	while (dir && (d = readdir(dir)) && n < 64)
		if (not_dot(d))
			names[n++] = strdup(d->d_name);
	if (dir)
		closedir(dir);
	for (unsigned int i = 0; i < n; i++)
		for (unsigned int j = i + 1; j < n; j++)
			if (strcmp(names[j], names[i]) < 0) {
				char *t = names[i];

				names[i] = names[j];
				names[j] = t;
			}
	for (unsigned int i = 0; i < n; i++) {
		if (i)
			strcat(a, " ");
		strcat(a, names[i]);
		free(names[i]);
	}
	check(dir && !strcmp(a, want), "opendir+readdir", path);
	m = scandir(path, &list, not_dot, alphasort);
	for (int i = 0; i < m; i++) {
		if (i)
			strcat(b, " ");
		strcat(b, list[i]->d_name);
		free(list[i]);
	}
	if (m >= 0)
		free(list);
	check(m >= 0 && !strcmp(b, want), "scandir", path);
}

/* openat relative to a directory fd inside the view. */
static void expect_relative(const char *dirpath, const char *rel,
			    const char *want)
{
	char buf[64] = "";
	struct stat st;
	ssize_t n = -1;
	int dfd, fd;

	dfd = open(dirpath, O_RDONLY | O_DIRECTORY);
	fd = dfd >= 0 ? openat(dfd, rel, O_RDONLY) : -1;
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
	}
	buf[n > 0 ? n : 0] = '\0';
	check(!strcmp(buf, want), "openat(dirfd) relative", rel);
	check(dfd >= 0 && !fstatat(dfd, rel, &st, 0) && S_ISREG(st.st_mode),
	      "fstatat(dirfd) relative", rel);
	if (dfd >= 0)
		close(dfd);
}

/* The view is read-only. */
static void expect_readonly(const char *path)
{
	errno = 0;
	check(open(path, O_WRONLY) == -1 && errno == EACCES, "open O_WRONLY",
	      path);
	errno = 0;
	check(!fopen(path, "w") && errno == EACCES, "fopen w", path);
	errno = 0;
	check(access(path, W_OK) == -1 && errno == EACCES, "access W_OK", path);
}

static void dev_vfio(void)
{
	struct stat st;
	int fd;

	expect_stat("/dev/vfio/vfio", S_IFCHR, true);
	check(!stat("/dev/vfio/vfio", &st) && major(st.st_rdev) == 10 &&
		      minor(st.st_rdev) == 196,
	      "misc 10:196", "/dev/vfio/vfio");
	expect_stat("/dev/vfio/0", S_IFCHR, true);
	expect_stat("/dev/vfio/1", S_IFCHR, false);
	check(!stat("/dev/vfio/1", &st) && minor(st.st_rdev) == 1 &&
		      major(st.st_rdev) != 10,
	      "group on its own major, minor = group", "/dev/vfio/1");
	expect_stat("/dev/vfio", S_IFDIR, true);
	check(!access("/dev/vfio/vfio", R_OK | W_OK), "access R_OK|W_OK",
	      "/dev/vfio/vfio");
	errno = 0;
	check(stat("/dev/vfio/7", &st) == -1 && errno == ENOENT, "stat ENOENT",
	      "/dev/vfio/7");
	fd = open("/dev/vfio/vfio", O_RDWR);
	check(fd >= 0 && ioctl(fd, VFIO_GET_API_VERSION) == VFIO_API_VERSION,
	      "still the VFIO container", "/dev/vfio/vfio");
	if (fd >= 0)
		close(fd);
}

/* /dev/iommu (issue 15): misc 10:123, and it opens as iommufd. */
static void dev_iommu(void)
{
	struct iommu_ioas_alloc a = {.size = sizeof(a)};
	struct stat st;
	int fd;

	expect_stat("/dev/iommu", S_IFCHR, true);
	check(!stat("/dev/iommu", &st) && major(st.st_rdev) == 10 &&
		      minor(st.st_rdev) == 123,
	      "misc 10:123", "/dev/iommu");
	fd = open("/dev/iommu", O_RDWR);
	check(fd >= 0 && !ioctl(fd, IOMMU_IOAS_ALLOC, &a) && a.out_ioas_id == 1,
	      "iommufd: IOMMU_IOAS_ALLOC", "/dev/iommu");
	if (fd >= 0)
		close(fd);
}

static void platform_devices(void)
{
	expect_text("/sys/module/vfio/parameters/enable_unsafe_noiommu_mode",
		    "N\n");
	expect_text("/sys/module/vfio_iommu_type1/parameters/dma_entry_limit",
		    "65535\n");
	expect_text("/sys/kernel/iommu_groups/1/type", "DMA\n");
	expect_text("/sys/kernel/iommu_groups/0/reserved_regions", "0x000000000"
								   "8000000 "
								   "0x000000000"
								   "80fffff "
								   "msi\n");
	expect_stat("/sys/module/vfio", S_IFDIR, true);
	expect_stat("//sys/./module/vfio_pci/", S_IFDIR, true);
	expect_stat("/sys/module/vfio_pci/parameters/disable_idle_d3", S_IFREG,
		    true);
	expect_dir("/sys/module/vfio", "initstate parameters");
	expect_dir("/sys/kernel/iommu_groups/0/devices", "dma0");
	expect_link("/sys/kernel/iommu_groups/0/devices/dma0",
		    "../../../../devices/platform/dma0",
		    "/sys/devices/platform/dma0");
	expect_link("/sys/devices/platform/dma1/iommu_group",
		    "../../../kernel/iommu_groups/1",
		    "/sys/kernel/iommu_groups/1");
	expect_stat("/sys/kernel/iommu_groups/0/devices/dma0", S_IFDIR, true);
	expect_relative("/sys/module/vfio_pci", "parameters/nointxmask", "N\n");
	expect_readonly("/sys/module/vfio_iommu_type1/parameters/"
			"dma_entry_limit");
	expect_absent("/sys/kernel/iommu_groups/9");
	expect_absent("/sys/module/vfio/parameters/nosuch");
	expect_absent("/sys/devices/platform/dma0/iommu/intel-iommu/cap");
}

static void pci_device(void)
{
	struct stat st;

	if (stat("/sys/kernel/iommu_groups/2", &st)) {
		printf("ok %d - # SKIP no PCI function in the topology\n",
		       ++n_test);
		return;
	}
	expect_dir("/sys/bus/pci/devices", BDF);
	expect_dir("/sys/bus/pci/drivers/vfio-pci", BDF " bind module new_id "
							"remove_id uevent "
							"unbind");
	expect_text("/sys/bus/pci/devices/" BDF "/vendor", "0x8086\n");
	expect_text("/sys/bus/pci/devices/" BDF "/device", "0x2021\n");
	expect_text("/sys/bus/pci/devices/" BDF "/numa_node", "-1\n");
	expect_stat("/sys/bus/pci/devices/" BDF, S_IFDIR, true);
	expect_link("/sys/bus/pci/devices/" BDF,
		    "../../../devices/pci0000:00/" BDF,
		    "/sys/devices/pci0000:00/" BDF);
	expect_link("/sys/bus/pci/devices/" BDF "/iommu_group",
		    "../../../kernel/iommu_groups/2",
		    "/sys/kernel/iommu_groups/2");
	expect_link("/sys/bus/pci/devices/" BDF "/driver",
		    "../../../bus/pci/drivers/vfio-pci",
		    "/sys/bus/pci/drivers/vfio-pci");
	expect_link("/sys/kernel/iommu_groups/2/devices/" BDF,
		    "../../../../devices/pci0000:00/" BDF,
		    "/sys/devices/pci0000:00/" BDF);
	expect_relative("/sys/bus/pci/devices/" BDF, "class", "0x088000\n");
	expect_readonly("/sys/bus/pci/devices/" BDF "/config");
	/* DPDK's VA-mode probe: no Intel IOMMU here, ENOENT exactly */
	expect_absent("/sys/bus/pci/devices/" BDF "/iommu/intel-iommu/cap");
	check(!stat("/sys/bus/pci/devices/" BDF "/config", &st) &&
		      st.st_size == 4096,
	      "config is 4 KiB", BDF);
}

int main(void)
{
	struct stat st;

	platform_devices();
	dev_vfio();
	dev_iommu();
	pci_device();
	/* the host's own /sys outside the view */
	check(!stat("/sys/kernel", &st) && S_ISDIR(st.st_mode),
	      "the host's /sys outside the view", "/sys/kernel");
	check(!stat("/proc/self/status", &st), "other paths untouched",
	      "/proc/self/status");
	/* no host PCI device: the bus holds the machine's functions only */
	if (stat("/sys/kernel/iommu_groups/2", &st))
		expect_dir("/sys/bus/pci/devices", "");
	printf("1..%d\n", n_test);
	return n_failed ? 1 : 0;
}
