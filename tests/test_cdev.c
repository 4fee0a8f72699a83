// SPDX-License-Identifier: MIT
/*
 * VFIO's device cdev (src/vfio/device_cdev.c), issue 15's "The VFIO
 * device cdev: /dev/vfio/devices/vfioN (and vfio-dev/vfioN in the
 * device's sysfs directory), VFIO_DEVICE_BIND_IOMMUFD, ATTACH/DETACH_
 * IOMMUFD_PT, with the rules for mixing the cdev and group paths on one
 * device", against Linux 6.12's drivers/vfio/device_cdev.c, vfio_main.c
 * and group.c:
 *  - every registered device gets the lowest free index (the kernel's
 *    device ida), in registration order, freed with its registration;
 *  - the cdev opens (more than once) and, until bound, every device ioctl
 *    but BIND_IOMMUFD, read, write and mmap are -EINVAL, after the VFS's
 *    own checks (mode -EBADF, buffer -EFAULT);
 *  - a cdev file keeps its device registered;
 *  - BIND_IOMMUFD on a device file of the group path is -EINVAL once its
 *    argument was read;
 *  - the sysfs view's vfio-dev/vfioN, /sys/class/vfio-dev and
 *    /dev/vfio/devices nodes.
 * The machine is the default topology's: dma0, dma1 (platform, groups 0
 * and 1) and the I/OAT at 0000:00:04.0 (group 2).
 */
#include "helpers.h"

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

#include <uiommu/uapi.h>
#include "system/system.h"
#include "vfio/vfio.h"
#include "vfio/vfio_device.h"
#include "vfio/vfio_uapi_cdev.h"
#include "iommufd/iommufd_uapi.h"

#define BAD_PTR ((void *)16)

#define EXPECT_ERR(call, err)                   \
	do {                                    \
		errno = 0;                      \
		assert_int_equal((call), -1);   \
		assert_int_equal(errno, (err)); \
	} while (0)

static struct machine *machine_new(const char *text)
{
	struct topology t;
	struct machine *m;

	assert_int_equal(topology_parse(text, &t), 0);
	assert_int_equal(machine_create(&t, &m), 0);
	return m;
}

/* The index of each registered device: the lowest free one, in the order
 * of registration, and freed with the registration (ida_alloc_max). */
static void test_cdev_index_order(void **state)
{
	struct machine *a, *b, *c;

	(void)state;
	a = machine_new(UIOMMU_DEFAULT_TOPOLOGY);
	for (unsigned int k = 0; k < a->nr_devices; k++)
		assert_int_equal(vfio_device_index(a->devices[k].vdev), (int)k);
	b = machine_new("iommu smmu0; device dma0 iommu=smmu0 sid=1 group=10; "
			"device dma1 iommu=smmu0 sid=2 group=11");
	assert_int_equal(vfio_device_index(b->devices[0].vdev), 3);
	assert_int_equal(vfio_device_index(b->devices[1].vdev), 4);
	machine_destroy(a);
	/* a's indices are free again: the lowest first */
	c = machine_new("iommu smmu0; device dma0 iommu=smmu0 sid=1 group=20");
	assert_int_equal(vfio_device_index(c->devices[0].vdev), 0);
	machine_destroy(c);
	machine_destroy(b);
}

/* A device not registered has no index. */
static void test_cdev_index_unregistered(void **state)
{
	struct vfio_device vdev = {0};

	(void)state;
	assert_int_equal(vfio_device_index(&vdev), -ENODEV);
}

static void test_cdev_names(void **state)
{
	(void)state;
	assert_int_equal(vfio_cdev_parse_name("vfio0"), 0);
	assert_int_equal(vfio_cdev_parse_name("vfio17"), 17);
	assert_int_equal(vfio_cdev_parse_name("vfio1048575"), 1048575);
	assert_int_equal(vfio_cdev_parse_name("vfio1048576"), -ENOENT);
	assert_int_equal(vfio_cdev_parse_name("vfio"), -ENOENT);
	assert_int_equal(vfio_cdev_parse_name("vfio01"), -ENOENT);
	assert_int_equal(vfio_cdev_parse_name("vfio1x"), -ENOENT);
	assert_int_equal(vfio_cdev_parse_name("vfio-1"), -ENOENT);
	assert_int_equal(vfio_cdev_parse_name("0"), -ENOENT);
}

static int sys_setup(void **state)
{
	(void)state;
	assert_int_equal(uiommu_system_init(NULL), 0);
	return 0;
}

static int sys_teardown(void **state)
{
	(void)state;
	assert_int_equal(vfio_open_fds(), 0);
	assert_int_equal(uiommu_system_exit(), 0);
	return 0;
}

/* The cdev opens by its name, more than once; other names are ENOENT. */
static void test_cdev_open(void **state)
{
	int a, b;

	(void)state;
	EXPECT_ERR(uiommu_open("/dev/vfio/devices/vfio3", O_RDWR), ENOENT);
	EXPECT_ERR(uiommu_open("/dev/vfio/devices/vfio00", O_RDWR), ENOENT);
	EXPECT_ERR(uiommu_open("/dev/vfio/devices/", O_RDWR), ENOENT);
	EXPECT_ERR(uiommu_open("/dev/vfio/devices/dma0", O_RDWR), ENOENT);
	EXPECT_ERR(uiommu_open("/dev/vfio/devices", O_RDWR), ENOENT);
	a = uiommu_open("/dev/vfio/devices/vfio0", O_RDWR);
	b = uiommu_open("/dev/vfio/devices/vfio0", O_RDWR);
	assert_true(a >= 0 && b >= 0 && a != b);
	assert_true(uiommu_fd_is_ours(a));
	assert_true(uiommu_path_is_ours("/dev/vfio/devices/vfio0"));
	/* the directory is not a VFIO file: `uiommu exec` serves it from
	 * the view */
	assert_false(uiommu_path_is_ours("/dev/vfio/devices"));
	assert_false(uiommu_path_is_ours("/dev/vfio/devices/"));
	assert_int_equal(vfio_open_fds(), 2);
	/* an unbound cdev file leaves the group alone (only a bound one
	 * blocks it: vfio_device_block_group at BIND) */
	{
		int g = uiommu_open("/dev/vfio/0", O_RDWR);

		assert_true(g >= 0);
		assert_int_equal(uiommu_close(g), 0);
	}
	assert_int_equal(uiommu_close(a), 0);
	assert_int_equal(uiommu_close(b), 0);
	EXPECT_ERR(uiommu_close(a), EBADF);
}

/*
 * Until BIND_IOMMUFD, the cdev file reaches nothing: every ioctl but BIND
 * (the device's own, VFIO_DEVICE_FEATURE, the cdev's ATTACH/DETACH, an
 * unknown one) is -EINVAL, as are read, write and mmap, after the checks
 * the VFS makes first; lseek is ESPIPE and the VFS's own ioctls work.
 */
static void test_cdev_unbound(void **state)
{
	struct vfio_device_info info = {.argsz = sizeof(info)};
	struct vfio_region_info reg = {.argsz = sizeof(reg)};
	struct vfio_device_feature feat = {.argsz = sizeof(feat),
					   .flags = VFIO_DEVICE_FEATURE_PROBE |
						    VFIO_DEVICE_FEATURE_GET};
	struct vfio_device_attach_iommufd_pt at = {.argsz = sizeof(at)};
	struct vfio_device_detach_iommufd_pt de = {.argsz = sizeof(de)};
	char buf[8];
	int fd, ro, wo;

	(void)state;
	fd = uiommu_open("/dev/vfio/devices/vfio2", O_RDWR); /* the I/OAT */
	assert_true(fd >= 0);
	EXPECT_ERR(uiommu_ioctl(fd, VFIO_DEVICE_GET_INFO, &info), EINVAL);
	EXPECT_ERR(uiommu_ioctl(fd, VFIO_DEVICE_GET_REGION_INFO, &reg), EINVAL);
	EXPECT_ERR(uiommu_ioctl(fd, VFIO_DEVICE_RESET), EINVAL);
	EXPECT_ERR(uiommu_ioctl(fd, VFIO_DEVICE_FEATURE, &feat), EINVAL);
	EXPECT_ERR(uiommu_ioctl(fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at),
		   EINVAL);
	EXPECT_ERR(uiommu_ioctl(fd, VFIO_DEVICE_DETACH_IOMMUFD_PT, &de),
		   EINVAL);
	EXPECT_ERR(uiommu_ioctl(fd, VFIO_DEVICE_GET_INFO, BAD_PTR), EINVAL);
	EXPECT_ERR(uiommu_ioctl(fd, _IO(';', 199)), EINVAL);
	EXPECT_ERR(uiommu_ioctl(fd, VFIO_GROUP_GET_STATUS, BAD_PTR), EINVAL);
	/* do_vfs_ioctl answers before the file's ioctl */
	assert_int_equal(uiommu_ioctl(fd, FIOCLEX), 0);
	EXPECT_ERR(uiommu_pread(fd, buf, 4, 0), EINVAL);
	EXPECT_ERR(uiommu_pwrite(fd, buf, 4, 0), EINVAL);
	EXPECT_ERR(uiommu_read(fd, buf, 4), EINVAL);
	EXPECT_ERR(uiommu_write(fd, buf, 4), EINVAL);
	/* vfs_read's access_ok comes before the file's read */
	EXPECT_ERR(uiommu_pread(fd, (void *)-8L, 4, 0), EFAULT);
	EXPECT_ERR(uiommu_pread(fd, buf, 4, -1), EINVAL);
	assert_ptr_equal(uiommu_mmap(NULL, 4096, PROT_READ | PROT_WRITE,
				     MAP_SHARED, fd, 0),
			 MAP_FAILED);
	assert_int_equal(errno, EINVAL);
	/* do_mmap's checks first */
	assert_ptr_equal(uiommu_mmap(NULL, 0, PROT_READ, MAP_SHARED, fd, 0),
			 MAP_FAILED);
	assert_int_equal(errno, EINVAL);
	assert_ptr_equal(uiommu_mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 1),
			 MAP_FAILED);
	assert_int_equal(errno, EINVAL);
	EXPECT_ERR(uiommu_lseek(fd, 0, SEEK_SET), ESPIPE);
	assert_int_equal(uiommu_close(fd), 0);

	/* the file's mode (vfs_read/vfs_write, do_mmap) decides first */
	ro = uiommu_open("/dev/vfio/devices/vfio2", O_RDONLY);
	wo = uiommu_open("/dev/vfio/devices/vfio2", O_WRONLY);
	assert_true(ro >= 0 && wo >= 0);
	EXPECT_ERR(uiommu_pwrite(ro, buf, 4, 0), EBADF);
	EXPECT_ERR(uiommu_pread(wo, buf, 4, 0), EBADF);
	EXPECT_ERR(uiommu_pread(ro, buf, 4, 0), EINVAL);
	assert_ptr_equal(uiommu_mmap(NULL, 4096, PROT_READ | PROT_WRITE,
				     MAP_SHARED, ro, 0),
			 MAP_FAILED);
	assert_int_equal(errno, EACCES);
	assert_int_equal(uiommu_close(ro), 0);
	assert_int_equal(uiommu_close(wo), 0);
}

/* BIND_IOMMUFD is only for cdev files: a device file of the group path
 * gets -EINVAL after the argument's own checks. */
static void test_cdev_bind_group_file(void **state)
{
	struct vfio_device_bind_iommufd bind = {.argsz = sizeof(bind)};
	int c, g, d;

	(void)state;
	c = uiommu_open("/dev/vfio/vfio", O_RDWR);
	g = uiommu_open("/dev/vfio/0", O_RDWR);
	assert_true(c >= 0 && g >= 0);
	test_uapi_set_container(g, &c, VFIO_TYPE1v2_IOMMU);
	d = uiommu_ioctl(g, VFIO_GROUP_GET_DEVICE_FD, "dma0");
	assert_true(d >= 0);
	EXPECT_ERR(uiommu_ioctl(d, VFIO_DEVICE_BIND_IOMMUFD, BAD_PTR), EFAULT);
	bind.argsz = sizeof(bind) - 1;
	EXPECT_ERR(uiommu_ioctl(d, VFIO_DEVICE_BIND_IOMMUFD, &bind), EINVAL);
	bind.argsz = sizeof(bind);
	EXPECT_ERR(uiommu_ioctl(d, VFIO_DEVICE_BIND_IOMMUFD, &bind), EINVAL);
	/* the group path's device file is usable as before */
	{
		struct vfio_device_info info = {.argsz = sizeof(info)};

		assert_int_equal(uiommu_ioctl(d, VFIO_DEVICE_GET_INFO, &info),
				 0);
	}
	assert_int_equal(uiommu_close(d), 0);
	assert_int_equal(uiommu_close(g), 0);
	assert_int_equal(uiommu_close(c), 0);
}

static int open_op(void *ctx)
{
	int *fd = ctx;

	*fd = uiommu_open("/dev/vfio/devices/vfio1", O_RDWR);
	return *fd < 0 ? -errno : 0;
}

static void open_undo(void *ctx)
{
	assert_int_equal(uiommu_close(*(int *)ctx), 0);
}

static void open_check(void *ctx)
{
	(void)ctx;
	assert_int_equal(vfio_open_fds(), 0);
}

/* Every allocation of the cdev's open can fail: -ENOMEM, no file left,
 * and the device stays unregistrable (sys_teardown's exit). */
static void test_cdev_open_fail_sweep(void **state)
{
	int fd = -1;

	(void)state;
	assert_true(test_fail_sweep(open_op, open_undo, open_check, &fd, 0) >=
		    2);
}

/* A cdev file keeps its device registered (the kernel's registration
 * reference; its unregistration waits, ours is -EBUSY). */
static void test_cdev_keeps_registration(void **state)
{
	struct machine *m;
	char path[64];
	int fd, index;

	(void)state;
	m = machine_new("iommu smmu0; device dma0 iommu=smmu0 sid=1 group=30");
	index = vfio_device_index(m->devices[0].vdev);
	assert_true(index >= 0);
	snprintf(path, sizeof(path), "/dev/vfio/devices/vfio%d", index);
	fd = vfio_fops_open(NULL, path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(vfio_unregister_group_dev(m->devices[0].vdev), -EBUSY);
	assert_int_equal(vfio_fops_close(fd), 0);
	machine_destroy(m); /* unregisters it */
	errno = 0;
	assert_int_equal(vfio_fops_open(NULL, path, O_RDWR), -1);
	assert_int_equal(errno, ENOENT);
}

/* ---- binding through iommufd -------------------------------------------------- */

static int iommufd_open(void)
{
	int fd = uiommu_open("/dev/iommu", O_RDWR);

	assert_true(fd >= 0);
	return fd;
}

static uint32_t ioas_alloc(int ifd)
{
	struct iommu_ioas_alloc a = {.size = sizeof(a)};

	assert_int_equal(uiommu_ioctl(ifd, IOMMU_IOAS_ALLOC, &a), 0);
	return a.out_ioas_id;
}

static int bind(int fd, int ifd, uint32_t *devid)
{
	struct vfio_device_bind_iommufd b = {.argsz = sizeof(b),
					     .iommufd = ifd};
	int ret = uiommu_ioctl(fd, VFIO_DEVICE_BIND_IOMMUFD, &b);

	if (!ret && devid)
		*devid = b.out_devid;
	return ret;
}

static int attach(int fd, uint32_t *pt_id)
{
	struct vfio_device_attach_iommufd_pt a = {.argsz = sizeof(a),
						  .pt_id = *pt_id};
	int ret = uiommu_ioctl(fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &a);

	*pt_id = a.pt_id;
	return ret;
}

static int detach(int fd)
{
	struct vfio_device_detach_iommufd_pt d = {.argsz = sizeof(d)};

	return uiommu_ioctl(fd, VFIO_DEVICE_DETACH_IOMMUFD_PT, &d);
}

/*
 * VFIO_DEVICE_BIND_IOMMUFD's errnos in 6.12's order
 * (vfio_df_ioctl_bind_iommufd): the argument (EFAULT), argsz, flags and a
 * negative fd (EINVAL), the group open (EBUSY, vfio_device_block_group),
 * a file bound already (EINVAL), the fd (EBADF not open, EBADFD not
 * /dev/iommu: iommufd_ctx_from_fd), the device open elsewhere (EINVAL,
 * vfio_df_open), out_devid not writable (EFAULT, and nothing stays bound).
 */
static void test_cdev_bind_errnos(void **state)
{
	struct vfio_device_bind_iommufd b = {.argsz = sizeof(b)};
	int ifd = iommufd_open(), fd, fd2, g, c;
	uint32_t devid = 0;
	void *ro;

	(void)state;
	fd = uiommu_open("/dev/vfio/devices/vfio0", O_RDWR);
	fd2 = uiommu_open("/dev/vfio/devices/vfio0", O_RDWR);
	assert_true(fd >= 0 && fd2 >= 0);
	EXPECT_ERR(uiommu_ioctl(fd, VFIO_DEVICE_BIND_IOMMUFD, BAD_PTR), EFAULT);
	b.iommufd = ifd;
	b.argsz = sizeof(b) - 1;
	EXPECT_ERR(uiommu_ioctl(fd, VFIO_DEVICE_BIND_IOMMUFD, &b), EINVAL);
	b.argsz = sizeof(b) + 64; /* a larger argsz is fine */
	b.flags = 1;
	EXPECT_ERR(uiommu_ioctl(fd, VFIO_DEVICE_BIND_IOMMUFD, &b), EINVAL);
	b.flags = 0;
	b.iommufd = -1;
	EXPECT_ERR(uiommu_ioctl(fd, VFIO_DEVICE_BIND_IOMMUFD, &b), EINVAL);
	/* the group open: EBUSY before the fd is looked at */
	g = uiommu_open("/dev/vfio/0", O_RDWR);
	assert_true(g >= 0);
	b.iommufd = 1000000;
	EXPECT_ERR(uiommu_ioctl(fd, VFIO_DEVICE_BIND_IOMMUFD, &b), EBUSY);
	assert_int_equal(uiommu_close(g), 0);
	EXPECT_ERR(uiommu_ioctl(fd, VFIO_DEVICE_BIND_IOMMUFD, &b), EBADF);
	/* open, but not /dev/iommu: a VFIO container, the C library's fd */
	c = uiommu_open("/dev/vfio/vfio", O_RDWR);
	EXPECT_ERR(bind(fd, c, NULL), EBADFD);
	EXPECT_ERR(bind(fd, fd2, NULL), EBADFD);
	EXPECT_ERR(bind(fd, STDERR_FILENO, NULL), EBADFD);
	assert_int_equal(uiommu_close(c), 0);
	/* out_devid not writable: EFAULT, and the device is not bound */
	ro = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(ro != MAP_FAILED);
	b.iommufd = ifd;
	memcpy(ro, &b, sizeof(b));
	assert_int_equal(mprotect(ro, 4096, PROT_READ), 0);
	EXPECT_ERR(uiommu_ioctl(fd, VFIO_DEVICE_BIND_IOMMUFD, ro), EFAULT);
	munmap(ro, 4096);
	g = uiommu_open("/dev/vfio/0", O_RDWR); /* not blocked */
	assert_true(g >= 0);
	assert_int_equal(uiommu_close(g), 0);

	assert_int_equal(bind(fd, ifd, &devid), 0);
	assert_true(devid != 0);
	/* one file binds once: EINVAL before the fd */
	b.iommufd = 1000000;
	EXPECT_ERR(uiommu_ioctl(fd, VFIO_DEVICE_BIND_IOMMUFD, &b), EINVAL);
	/* the device is open: another cdev file cannot bind it */
	EXPECT_ERR(bind(fd2, ifd, NULL), EINVAL);
	/* nor can its group be opened */
	EXPECT_ERR(uiommu_open("/dev/vfio/0", O_RDWR), EBUSY);
	/* the other devices' groups are unaffected */
	g = uiommu_open("/dev/vfio/1", O_RDWR);
	assert_true(g >= 0);
	assert_int_equal(uiommu_close(g), 0);
	/* bound: the device's own ioctls work */
	{
		struct vfio_device_info info = {.argsz = sizeof(info)};

		assert_int_equal(uiommu_ioctl(fd, VFIO_DEVICE_GET_INFO, &info),
				 0);
	}
	assert_int_equal(uiommu_close(fd2), 0);
	/* the device object is the bound file's (its driver holds it) */
	{
		struct iommu_destroy d = {.size = sizeof(d), .id = devid};

		EXPECT_ERR(uiommu_ioctl(ifd, IOMMU_DESTROY, &d), EBUSY);
	}
	/* closing the bound file unbinds: the device object goes, the group
	 * opens again */
	assert_int_equal(uiommu_close(fd), 0);
	{
		struct iommu_destroy d = {.size = sizeof(d), .id = devid};

		EXPECT_ERR(uiommu_ioctl(ifd, IOMMU_DESTROY, &d), ENOENT);
	}
	g = uiommu_open("/dev/vfio/0", O_RDWR);
	assert_true(g >= 0);
	assert_int_equal(uiommu_close(g), 0);
	assert_int_equal(uiommu_close(ifd), 0);
}

/* A device opened through its group cannot be bound through its cdev
 * (its device file keeps the group's open: EBUSY), and a device bound
 * through its cdev keeps its group closed (EBUSY). */
static void test_cdev_group_mixing(void **state)
{
	int ifd = iommufd_open(), c, g, d, fd;

	(void)state;
	c = uiommu_open("/dev/vfio/vfio", O_RDWR);
	g = uiommu_open("/dev/vfio/0", O_RDWR);
	test_uapi_set_container(g, &c, VFIO_TYPE1v2_IOMMU);
	d = uiommu_ioctl(g, VFIO_GROUP_GET_DEVICE_FD, "dma0");
	assert_true(d >= 0);
	assert_int_equal(uiommu_close(g), 0); /* d keeps it */
	fd = uiommu_open("/dev/vfio/devices/vfio0", O_RDWR);
	assert_true(fd >= 0);
	EXPECT_ERR(bind(fd, ifd, NULL), EBUSY);
	/* the group path's file has no cdev ioctls: the driver's answer */
	{
		uint32_t pt = 1;

		EXPECT_ERR(attach(d, &pt), ENOTTY);
		EXPECT_ERR(detach(d), ENOTTY);
	}
	assert_int_equal(uiommu_close(d), 0);
	assert_int_equal(uiommu_close(c), 0);
	/* the group path let go: the cdev binds */
	assert_int_equal(bind(fd, ifd, NULL), 0);
	EXPECT_ERR(uiommu_open("/dev/vfio/0", O_RDWR), EBUSY);
	assert_int_equal(uiommu_close(fd), 0);
	assert_int_equal(uiommu_close(ifd), 0);
}

/*
 * ATTACH/DETACH_IOMMUFD_PT (vfio_df_ioctl_attach_pt/detach_pt): the
 * argument (EFAULT; argsz, flags EINVAL), no such object (ENOENT); an
 * IOAS gives back the HWPT made for it; a second attach replaces;
 * detach is idempotent.
 */
static void test_cdev_attach_errnos(void **state)
{
	struct vfio_device_attach_iommufd_pt a = {.argsz = sizeof(a)};
	struct vfio_device_detach_iommufd_pt d = {.argsz = sizeof(d)};
	int ifd = iommufd_open(), fd;
	uint32_t ioas, ioas2, pt, devid = 0;

	(void)state;
	ioas = ioas_alloc(ifd);
	ioas2 = ioas_alloc(ifd);
	fd = uiommu_open("/dev/vfio/devices/vfio0", O_RDWR);
	assert_int_equal(bind(fd, ifd, &devid), 0);
	EXPECT_ERR(uiommu_ioctl(fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, BAD_PTR),
		   EFAULT);
	a.pt_id = ioas;
	a.argsz = sizeof(a) - 1;
	EXPECT_ERR(uiommu_ioctl(fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &a), EINVAL);
	a.argsz = sizeof(a);
	a.flags = 1;
	EXPECT_ERR(uiommu_ioctl(fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &a), EINVAL);
	pt = 0xdead;
	EXPECT_ERR(attach(fd, &pt), ENOENT);
	pt = ioas;
	assert_int_equal(attach(fd, &pt), 0);
	assert_true(pt != ioas && pt != devid); /* the HWPT made for it */
	/* attached: a second attach replaces */
	pt = ioas2;
	assert_int_equal(attach(fd, &pt), 0);
	assert_true(pt != ioas2);

	EXPECT_ERR(uiommu_ioctl(fd, VFIO_DEVICE_DETACH_IOMMUFD_PT, BAD_PTR),
		   EFAULT);
	d.argsz = sizeof(d) - 1;
	EXPECT_ERR(uiommu_ioctl(fd, VFIO_DEVICE_DETACH_IOMMUFD_PT, &d), EINVAL);
	d.argsz = sizeof(d);
	d.flags = 1;
	EXPECT_ERR(uiommu_ioctl(fd, VFIO_DEVICE_DETACH_IOMMUFD_PT, &d), EINVAL);
	assert_int_equal(detach(fd), 0);
	assert_int_equal(detach(fd), 0); /* nothing attached: still 0 */
	assert_int_equal(uiommu_close(fd), 0);
	assert_int_equal(uiommu_close(ifd), 0);
}

static uint32_t dma_copy(int fd, uint64_t src, uint64_t dst, uint64_t len)
{
	uint32_t one = 1, status = 0;

	assert_int_equal(uiommu_pwrite(fd, &src, 8, DMAENGINE_REG_SRC), 8);
	assert_int_equal(uiommu_pwrite(fd, &dst, 8, DMAENGINE_REG_DST), 8);
	assert_int_equal(uiommu_pwrite(fd, &len, 8, DMAENGINE_REG_LEN), 8);
	assert_int_equal(uiommu_pwrite(fd, &one, 4, DMAENGINE_REG_DOORBELL), 4);
	assert_int_equal(uiommu_pread(fd, &status, 4, DMAENGINE_REG_STATUS), 4);
	return status;
}

/*
 * The whole path: bind, an IOAS with a mapping, attach, and the device's
 * DMA goes through it; detached, the same DMA faults; closed, the device
 * is unbound (its group opens, another cdev file binds it).
 */
static void test_cdev_dma(void **state)
{
	struct iommu_ioas_map map = {.size = sizeof(map)};
	struct mm *mm = uiommu_current_mm();
	int ifd = iommufd_open(), fd, g;
	uint32_t ioas, pt;
	uint8_t *buf;

	(void)state;
	ioas = ioas_alloc(ifd);
	assert_int_equal(mm_mmap(mm, 4 * 4096, 0, (void **)&buf), 0);
	memset(buf, 0x5a, 8192);
	memset(buf + 8192, 0, 8192);
	map.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
		    IOMMU_IOAS_MAP_WRITEABLE;
	map.ioas_id = ioas;
	map.user_va = (uintptr_t)buf;
	map.length = 4 * 4096;
	map.iova = 0x100000;
	assert_int_equal(uiommu_ioctl(ifd, IOMMU_IOAS_MAP, &map), 0);

	fd = uiommu_open("/dev/vfio/devices/vfio0", O_RDWR);
	assert_int_equal(bind(fd, ifd, NULL), 0);
	/* bound but not attached: the device is blocked */
	assert_int_equal(dma_copy(fd, 0x100000, 0x102000, 8192),
			 DMAENGINE_STATUS_ERROR);
	pt = ioas;
	assert_int_equal(attach(fd, &pt), 0);
	assert_int_equal(dma_copy(fd, 0x100000, 0x102000, 8192),
			 DMAENGINE_STATUS_DONE);
	assert_int_equal(buf[8192], 0x5a);
	assert_int_equal(buf[16383], 0x5a);
	/* detached: blocked again, nothing written */
	memset(buf + 8192, 0, 8192);
	assert_int_equal(detach(fd), 0);
	assert_int_equal(dma_copy(fd, 0x100000, 0x102000, 8192),
			 DMAENGINE_STATUS_ERROR);
	assert_int_equal(buf[8192], 0);
	/* attached again, then closed while attached: unbound and detached */
	pt = ioas;
	assert_int_equal(attach(fd, &pt), 0);
	assert_int_equal(uiommu_close(fd), 0);
	g = uiommu_open("/dev/vfio/0", O_RDWR);
	assert_true(g >= 0);
	assert_int_equal(uiommu_close(g), 0);
	fd = uiommu_open("/dev/vfio/devices/vfio0", O_RDWR);
	assert_int_equal(bind(fd, ifd, NULL), 0);
	pt = ioas;
	assert_int_equal(attach(fd, &pt), 0);
	assert_int_equal(dma_copy(fd, 0x100000, 0x102000, 8192),
			 DMAENGINE_STATUS_DONE);
	/* the iommufd fd closes first: the bound file keeps the context */
	assert_int_equal(uiommu_close(ifd), 0);
	assert_int_equal(dma_copy(fd, 0x100000, 0x102000, 8192),
			 DMAENGINE_STATUS_DONE);
	assert_int_equal(uiommu_close(fd), 0);
	assert_int_equal(mm_munmap(mm, buf, 4 * 4096), 0);
}

/*
 * The I/OAT through vfio-pci: once bound, the file reaches the device
 * (GET_INFO says PCI, config space reads, BAR0 maps and its registers
 * read through the mapping), and closing it releases the mapping's
 * device.
 */
static void test_cdev_pci(void **state)
{
	struct vfio_device_info info = {.argsz = sizeof(info)};
	int ifd = iommufd_open(), fd;
	uint32_t pt, id = 0;
	uint8_t cbver = 0;
	void *bar;

	(void)state;
	fd = uiommu_open("/dev/vfio/devices/vfio2", O_RDWR);
	assert_int_equal(bind(fd, ifd, NULL), 0);
	pt = ioas_alloc(ifd);
	assert_int_equal(attach(fd, &pt), 0);
	assert_int_equal(uiommu_ioctl(fd, VFIO_DEVICE_GET_INFO, &info), 0);
	assert_true(info.flags & VFIO_DEVICE_FLAGS_PCI);
	assert_int_equal(uiommu_pread(fd, &id, 4, VFIO_REGION_OFFSET(7)), 4);
	assert_int_equal(id, 0x20218086);
	bar = uiommu_mmap(NULL, 0x4000, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			  VFIO_REGION_OFFSET(0));
	assert_true(bar != MAP_FAILED);
	cbver = *(volatile uint8_t *)((char *)bar + 8); /* CBVER */
	assert_int_equal(cbver, 0x33);
	assert_int_equal(uiommu_munmap(bar, 0x4000), 0);
	assert_int_equal(uiommu_close(fd), 0);
	assert_int_equal(uiommu_close(ifd), 0);
}

struct sweep {
	int ifd, fd;
	uint32_t ioas;
};

static int bind_op(void *ctx)
{
	struct sweep *w = ctx;

	return bind(w->fd, w->ifd, NULL) ? -errno : 0;
}

/* a failed bind left nothing: the group is not blocked */
static void bind_check(void *ctx)
{
	int g = uiommu_open("/dev/vfio/0", O_RDWR);

	(void)ctx;
	assert_true(g >= 0);
	assert_int_equal(uiommu_close(g), 0);
}

static int attach_op(void *ctx)
{
	struct sweep *w = ctx;
	uint32_t pt = w->ioas;

	return attach(w->fd, &pt) ? -errno : 0;
}

/* a failed attach left the device blocked: the IOAS's mapping is not
 * reachable */
static void attach_check(void *ctx)
{
	struct sweep *w = ctx;

	assert_int_equal(dma_copy(w->fd, 0x100000, 0x101000, 4096),
			 DMAENGINE_STATUS_ERROR);
}

/*
 * fail-Nth sweeps over BIND_IOMMUFD and ATTACH_IOMMUFD_PT: each
 * allocation failing gives an error that leaves nothing (the group
 * openable, the device unbound or detached), and the call then succeeds.
 */
static void test_cdev_fail_sweeps(void **state)
{
	struct iommu_ioas_map map = {.size = sizeof(map)};
	struct mm *mm = uiommu_current_mm();
	struct sweep w;
	uint8_t *buf;

	(void)state;
	w.ifd = iommufd_open();
	w.ioas = ioas_alloc(w.ifd);
	assert_int_equal(mm_mmap(mm, 2 * 4096, 0, (void **)&buf), 0);
	memset(buf, 0x77, 4096);
	map.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
		    IOMMU_IOAS_MAP_WRITEABLE;
	map.ioas_id = w.ioas;
	map.user_va = (uintptr_t)buf;
	map.length = 2 * 4096;
	map.iova = 0x100000;
	assert_int_equal(uiommu_ioctl(w.ifd, IOMMU_IOAS_MAP, &map), 0);
	w.fd = uiommu_open("/dev/vfio/devices/vfio0", O_RDWR);
	assert_true(w.fd >= 0);
	assert_true(test_fail_sweep(bind_op, NULL, bind_check, &w, 0) >= 1);
	/* bound now */
	EXPECT_ERR(uiommu_open("/dev/vfio/0", O_RDWR), EBUSY);
	assert_true(test_fail_sweep(attach_op, NULL, attach_check, &w, 0) >= 1);
	/* attached now */
	assert_int_equal(dma_copy(w.fd, 0x100000, 0x101000, 4096),
			 DMAENGINE_STATUS_DONE);
	assert_int_equal(buf[4096], 0x77);
	assert_int_equal(uiommu_close(w.fd), 0);
	assert_int_equal(uiommu_close(w.ifd), 0);
	assert_int_equal(mm_munmap(mm, buf, 2 * 4096), 0);
}

/* ---- the sysfs view --------------------------------------------------------- */

static void slurp(const char *top, const char *rel, char *buf, size_t len)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", top, rel);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		fail_msg("%s: %s", rel, strerror(errno));
	n = read(fd, buf, len - 1);
	close(fd);
	assert_true(n >= 0);
	buf[n] = '\0';
}

static void expect_link(const char *top, const char *rel, const char *text,
			const char *resolves_to)
{
	char path[PATH_MAX], got[PATH_MAX], real[PATH_MAX], want[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s", top, rel);
	n = readlink(path, got, sizeof(got) - 1);
	if (n < 0)
		fail_msg("%s: %s", rel, strerror(errno));
	got[n] = '\0';
	assert_string_equal(got, text);
	assert_non_null(realpath(path, real));
	snprintf(path, sizeof(path), "%s/%s", top, resolves_to);
	assert_non_null(realpath(path, want));
	assert_string_equal(real, want);
}

/*
 * Each registered device's directory has vfio-dev/vfio<index> (6.12's
 * class device: dev major:minor, uevent, device and subsystem links),
 * /sys/class/vfio-dev lists it, /dev/vfio/devices has its node.
 */
static void test_cdev_sysfs(void **state)
{
	struct machine *m = machine_new(UIOMMU_DEFAULT_TOPOLOGY);
	static const char *const dirs[] = {
		"sys/devices/platform/dma0",
		"sys/devices/platform/dma1",
		"sys/devices/pci0000:00/0000:00:04.0",
	};
	static const char *const names[] = {"dma0", "dma1", "0000:00:04.0"};
	char top[64], rel[PATH_MAX], buf[PATH_MAX], want[PATH_MAX];
	struct stat st;

	(void)state;
	snprintf(top, sizeof(top), "/tmp/test_cdev.XXXXXX");
	assert_non_null(mkdtemp(top));
	assert_int_equal(sysfs_render(m, top), 0);
	for (unsigned int k = 0; k < 3; k++) {
		int index = vfio_device_index(m->devices[k].vdev);

		assert_int_equal(index, (int)k);
		snprintf(rel, sizeof(rel), "%s/vfio-dev/vfio%d/dev", dirs[k],
			 index);
		slurp(top, rel, buf, sizeof(buf));
		snprintf(want, sizeof(want), "%d:%d\n", SYSFS_VFIO_DEVICE_MAJOR,
			 index);
		assert_string_equal(buf, want);
		snprintf(rel, sizeof(rel), "%s/vfio-dev/vfio%d/uevent", dirs[k],
			 index);
		slurp(top, rel, buf, sizeof(buf));
		snprintf(want, sizeof(want),
			 "MAJOR=%d\nMINOR=%d\nDEVNAME=vfio/devices/vfio%d\n",
			 SYSFS_VFIO_DEVICE_MAJOR, index, index);
		assert_string_equal(buf, want);
		snprintf(rel, sizeof(rel), "%s/vfio-dev/vfio%d/device", dirs[k],
			 index);
		snprintf(want, sizeof(want), "../../../%s", names[k]);
		expect_link(top, rel, want, dirs[k]);
		snprintf(rel, sizeof(rel), "sys/class/vfio-dev/vfio%d", index);
		snprintf(want, sizeof(want), "../../%s/vfio-dev/vfio%d",
			 dirs[k] + 4, index);
		snprintf(buf, sizeof(buf), "%s/vfio-dev/vfio%d", dirs[k],
			 index);
		expect_link(top, rel, want, buf);
		/* by device number, as /sys/dev/char has every char device */
		snprintf(rel, sizeof(rel), "sys/dev/char/%d:%d",
			 SYSFS_VFIO_DEVICE_MAJOR, index);
		expect_link(top, rel, want, buf);
		snprintf(buf, sizeof(buf), "%s/dev/vfio/devices/vfio%d", top,
			 index);
		assert_int_equal(stat(buf, &st), 0);
	}
	/* subsystem: the class directory, which the view has */
	expect_link(top, "sys/devices/platform/dma0/vfio-dev/vfio0/subsystem",
		    "../../../../../class/vfio-dev", "sys/class/vfio-dev");
	assert_int_equal(sysfs_remove(top), 0);
	machine_destroy(m);
}

/* The view serves /sys/class/vfio-dev, and /dev/vfio/devices/vfioN stats
 * as the character device vfio-dev's major:N. */
static void test_cdev_nodes(void **state)
{
	struct machine *m = machine_new(UIOMMU_DEFAULT_TOPOLOGY);
	mode_t mode;
	dev_t rdev;

	(void)state;
	assert_true(sysfs_in_view(m, "/sys/class/vfio-dev"));
	assert_true(sysfs_in_view(m, "/sys/class/vfio-dev/vfio1"));
	assert_true(sysfs_maybe_in_view("/sys/class/vfio-dev/vfio1"));
	assert_false(sysfs_in_view(m, "/sys/class/net"));
	/* /sys/dev/char: the cdevs' entries only */
	assert_true(sysfs_in_view(m, "/sys/dev/char/242:1"));
	assert_true(sysfs_in_view(m, "/sys/dev/char/242:2/dev"));
	assert_true(sysfs_maybe_in_view("/sys/dev/char/242:7"));
	assert_false(sysfs_in_view(m, "/sys/dev/char/242:3"));
	assert_false(sysfs_in_view(m, "/sys/dev/char/242:10"));
	assert_false(sysfs_in_view(m, "/sys/dev/char/1:3"));
	assert_false(sysfs_maybe_in_view("/sys/dev/char/1:3"));
	assert_false(sysfs_in_view(m, "/sys/dev/char"));
	assert_true(sysfs_in_view(m, "/dev/vfio/devices/vfio1"));
	assert_int_equal(
		sysfs_dev_node(m, "/dev/vfio/devices/vfio1", &mode, &rdev), 0);
	assert_int_equal(mode, S_IFCHR | 0600);
	assert_int_equal(major(rdev), SYSFS_VFIO_DEVICE_MAJOR);
	assert_int_equal(minor(rdev), 1);
	assert_int_equal(
		sysfs_dev_node(m, "/dev/vfio/devices/vfio2", &mode, &rdev), 0);
	assert_int_equal(minor(rdev), 2);
	assert_int_equal(sysfs_dev_node(m, "/dev/vfio/devices/vfio3", &mode,
					&rdev),
			 -ENOENT);
	assert_int_equal(sysfs_dev_node(m, "/dev/vfio/devices/vfio01", &mode,
					&rdev),
			 -ENOENT);
	assert_int_equal(sysfs_dev_node(m, "/dev/vfio/devices", &mode, &rdev),
			 -ENOENT);
	machine_destroy(m);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_cdev_index_order),
	cmocka_unit_test(test_cdev_index_unregistered),
	cmocka_unit_test(test_cdev_names),
	cmocka_unit_test_setup_teardown(test_cdev_open, sys_setup,
					sys_teardown),
	cmocka_unit_test_setup_teardown(test_cdev_unbound, sys_setup,
					sys_teardown),
	cmocka_unit_test_setup_teardown(test_cdev_bind_group_file, sys_setup,
					sys_teardown),
	cmocka_unit_test_setup_teardown(test_cdev_open_fail_sweep, sys_setup,
					sys_teardown),
	cmocka_unit_test_setup_teardown(test_cdev_bind_errnos, sys_setup,
					sys_teardown),
	cmocka_unit_test_setup_teardown(test_cdev_group_mixing, sys_setup,
					sys_teardown),
	cmocka_unit_test_setup_teardown(test_cdev_attach_errnos, sys_setup,
					sys_teardown),
	cmocka_unit_test_setup_teardown(test_cdev_dma, sys_setup, sys_teardown),
	cmocka_unit_test_setup_teardown(test_cdev_pci, sys_setup, sys_teardown),
	cmocka_unit_test_setup_teardown(test_cdev_fail_sweeps, sys_setup,
					sys_teardown),
	cmocka_unit_test(test_cdev_keeps_registration),
	cmocka_unit_test(test_cdev_sysfs),
	cmocka_unit_test(test_cdev_nodes),
};

TEST_MAIN(tests)
