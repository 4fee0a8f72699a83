// SPDX-License-Identifier: MIT
/*
 * The sysfs view (src/system/sysfs.c): the machine a program sees under
 * `uiommu exec`, as a Linux 6.1 host with vfio-pci shows it (issue 14,
 * "The machine a program sees").
 *
 * The machine is the default topology's (two platform DMA engines, groups
 * 0 and 1, on one SMMU) with a PCI function the test builds (an I/OAT's
 * ids and layout: 8086:2021, BAR0 64-bit 16 KiB, a 2 KiB ROM, MSI-X and
 * PCIe, INTA) appended as 0000:00:04.0 in group 2.  Every attribute's
 * contents and format, every link's text and where it resolves, the
 * module parameters, the /dev/vfio nodes, the dynamic attributes, and
 * the front's path redirection are checked.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <uiommu/uapi.h>
#include "pci/pci.h"
#include "system/system.h"
#include "vfio/vfio.h"
#include "vfio/vfio_device.h"

#include "helpers.h"

#define BDF "0000:00:04.0"

struct fixture {
	struct machine *m;
	struct pci_function *fn;
	struct vfio_device vdev; /* the function's name and open count */
	uint8_t rom[2048];
	char top[64];
};

static int tdev_read(void *priv, unsigned int bar, uint64_t off,
		     unsigned int width, uint64_t *val)
{
	*val = 0;
	return 0;
}

static int tdev_write(void *priv, unsigned int bar, uint64_t off,
		      unsigned int width, uint64_t val)
{
	return 0;
}

static const struct pci_ops tdev_ops = {
	.bar_read = tdev_read,
	.bar_write = tdev_write,
};

#define PLATFORM_TOPOLOGY                                      \
	"iommu smmu0; device dma0 iommu=smmu0 sid=1 group=0; " \
	"device dma1 iommu=smmu0 sid=2 group=1"

static struct fixture *fixture_new(void)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct pci_function_desc d = {
		.vendor = 0x8086,
		.device = 0x2021,
		.subsys_vendor = 0x8086,
		.subsys = 0x0001,
		.class_code = 0x088000,
		.revision = 0x04,
		.int_pin = 1,
		.rom_size = sizeof(f->rom),
		.rom = f->rom,
		.pm = true,
		.msix_vectors = 1,
		.msix_table_bar = 0,
		.msix_table_off = 0x2000,
		.msix_pba_bar = 0,
		.msix_pba_off = 0x3000,
		.pcie = true,
		.ops = &tdev_ops,
	};
	struct topology t;
	struct machine_device *md;

	assert_non_null(f);
	d.priv = f;
	d.bar[0] = (struct pci_bar_desc){.size = 0x4000, .flags = PCI_BAR_F_64};
	/* the platform devices only: the test adds its own function at BDF */
	assert_int_equal(topology_parse(PLATFORM_TOPOLOGY, &t), 0);
	assert_int_equal(machine_create(&t, &f->m), 0);
	assert_int_equal(pci_function_create(&d, &f->fn), 0);
	snprintf(f->vdev.name, sizeof(f->vdev.name), "%s", BDF);
	md = &f->m->devices[f->m->nr_devices++];
	*md = (struct machine_device){.vdev = &f->vdev,
				      .group = 2,
				      .iommu = 0,
				      .sid = 3,
				      .pci = f->fn};
	snprintf(md->name, sizeof(md->name), "ioat0");
	snprintf(f->top, sizeof(f->top), "/tmp/test_sysfs.XXXXXX");
	assert_non_null(mkdtemp(f->top));
	assert_int_equal(sysfs_render(f->m, f->top), 0);
	return f;
}

static void fixture_free(struct fixture *f)
{
	assert_int_equal(sysfs_remove(f->top), 0);
	f->m->nr_devices--; /* the test's own function */
	pci_function_destroy(f->fn);
	machine_destroy(f->m);
	free(f);
}

/* The contents of top/rel (NUL-terminated) and their length. */
static size_t slurp(const struct fixture *f, const char *rel, char *buf,
		    size_t len)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", f->top, rel);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		fail_msg("%s: %s", rel, strerror(errno));
	n = read(fd, buf, len - 1);
	close(fd);
	assert_true(n >= 0);
	buf[n] = '\0';
	return (size_t)n;
}

static void expect_file(const struct fixture *f, const char *rel,
			const char *want)
{
	char buf[8192];

	slurp(f, rel, buf, sizeof(buf));
	if (strcmp(buf, want))
		fail_msg("%s: got \"%s\", want \"%s\"", rel, buf, want);
}

/* A link's text, and where it resolves relative to the view's sys/. */
static void expect_link(const struct fixture *f, const char *rel,
			const char *text, const char *resolves)
{
	char path[PATH_MAX], buf[PATH_MAX], real[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s", f->top, rel);
	n = readlink(path, buf, sizeof(buf) - 1);
	if (n < 0)
		fail_msg("%s: %s", rel, strerror(errno));
	buf[n] = '\0';
	if (strcmp(buf, text))
		fail_msg("%s: link \"%s\", want \"%s\"", rel, buf, text);
	assert_non_null(realpath(path, real));
	snprintf(buf, sizeof(buf), "%s/%s", f->top, resolves);
	if (strcmp(real, buf))
		fail_msg("%s: resolves to %s, want %s", rel, real, buf);
}

/* The PCI function's identity attributes, in the kernel's formats. */
static void test_pci_attributes(void **state)
{
	struct fixture *f = fixture_new();
	char buf[256];

	(void)state;
#define D "sys/bus/pci/devices/" BDF "/"
	expect_file(f, D "vendor", "0x8086\n");
	expect_file(f, D "device", "0x2021\n");
	expect_file(f, D "subsystem_vendor", "0x8086\n");
	expect_file(f, D "subsystem_device", "0x0001\n");
	expect_file(f, D "class", "0x088000\n");
	expect_file(f, D "revision", "0x04\n");
	expect_file(f, D "numa_node", "-1\n");
	/* INTA on slot 4 of the root bus: 16 + (4 + 0) mod 4 */
	expect_file(f, D "irq", "16\n");
	expect_file(f, D "enable", "0\n");
	expect_file(f, D "driver_override", "(null)\n");
	expect_file(f, D "modalias",
		    "pci:v00008086d00002021sv00008086sd00000001bc08sc80i00\n");
	expect_file(f, D "uevent",
		    "DRIVER=vfio-pci\nPCI_CLASS=88000\nPCI_ID=8086:2021\n"
		    "PCI_SUBSYS_ID=8086:0001\nPCI_SLOT_NAME=" BDF "\n"
		    "MODALIAS=pci:v00008086d00002021sv00008086sd00000001bc08"
		    "sc80i00\n");
	/* no msi_irqs while no vector is enabled */
	snprintf(buf, sizeof(buf), "%s/" D "msi_irqs", f->top);
	assert_int_equal(access(buf, F_OK), -1);
#undef D
	fixture_free(f);
}

/* resource: 13 lines (BARs, ROM, SR-IOV BARs), host-like addresses. */
static void test_pci_resource(void **state)
{
	struct fixture *f = fixture_new();
	const char *zero = "0x0000000000000000 0x0000000000000000 "
			   "0x0000000000000000\n";
	char want[2048] = "";

	(void)state;
	/* BAR0: MEM | SIZEALIGN | MEM_64 and the BAR's type bits (64-bit) */
	strcat(want, "0x00000000fd000000 0x00000000fd003fff "
		     "0x0000000000140204\n");
	for (int i = 1; i < 6; i++)
		strcat(want, zero);
	/* the ROM: MEM | PREFETCH | READONLY | SIZEALIGN, after BAR0 */
	strcat(want, "0x00000000fd004000 0x00000000fd0047ff "
		     "0x0000000000046200\n");
	for (int i = 7; i < 13; i++)
		strcat(want, zero);
	expect_file(f, "sys/devices/pci0000:00/" BDF "/resource", want);
	fixture_free(f);
}

/* config: 4 KiB (PCIe), the function's bytes with the host's BARs, read
 * afresh at each open. */
static void test_pci_config(void **state)
{
	struct fixture *f = fixture_new();
	uint8_t want[PCI_CFG_EXP_SIZE];
	char got[PCI_CFG_EXP_SIZE + 1];
	uint32_t v;

	(void)state;
	pci_config_snapshot(f->fn, want, sizeof(want));
	assert_int_equal(slurp(f, "sys/devices/pci0000:00/" BDF "/config", got,
			       sizeof(got)),
			 PCI_CFG_EXP_SIZE);
	memcpy(&v, got + 0x10, 4);
	assert_int_equal(v, 0xfd000004u); /* 64-bit memory BAR */
	memcpy(&v, got + 0x14, 4);
	assert_int_equal(v, 0);
	memcpy(&v, got + 0x30, 4);
	assert_int_equal(v, 0xfd004000u);
	memset(want + 0x10, 0, 8);
	memset(got + 0x10, 0, 8);
	memset(want + 0x30, 0, 4);
	memset(got + 0x30, 0, 4);
	assert_memory_equal(got, want, sizeof(want));

	/* a change of the function's config shows at the next open */
	assert_int_equal(pci_config_write(f->fn, 0x04, 2, 0x0006), 0);
	assert_int_equal(sysfs_refresh(f->m, f->top,
				       "sys/bus/pci/devices/" BDF "/config"),
			 0);
	slurp(f, "sys/devices/pci0000:00/" BDF "/config", got, sizeof(got));
	assert_int_equal((uint8_t)got[4], 0x06);

	/* enable follows VFIO's open of the device */
	f->vdev.open_count = 1;
	assert_int_equal(sysfs_refresh(f->m, f->top,
				       "sys/devices/pci0000:00/" BDF "/enable"),
			 0);
	expect_file(f, "sys/bus/pci/devices/" BDF "/enable", "1\n");
	f->vdev.open_count = 0;
	/* other paths are not dynamic */
	assert_int_equal(sysfs_refresh(f->m, f->top, "sys/module/vfio"), 0);
	fixture_free(f);
}

/* The links a VFIO program follows, spelled as the kernel's. */
static void test_links(void **state)
{
	struct fixture *f = fixture_new();

	(void)state;
	expect_link(f, "sys/bus/pci/devices/" BDF,
		    "../../../devices/pci0000:00/" BDF,
		    "sys/devices/pci0000:00/" BDF);
	expect_link(f, "sys/bus/pci/devices/" BDF "/iommu_group",
		    "../../../kernel/iommu_groups/2",
		    "sys/kernel/iommu_groups/2");
	expect_link(f, "sys/bus/pci/devices/" BDF "/driver",
		    "../../../bus/pci/drivers/vfio-pci",
		    "sys/bus/pci/drivers/vfio-pci");
	expect_link(f, "sys/bus/pci/devices/" BDF "/subsystem",
		    "../../../bus/pci", "sys/bus/pci");
	expect_link(f, "sys/bus/pci/devices/" BDF "/iommu",
		    "../../platform/arm-smmu-v3.0.auto/iommu/"
		    "smmu3.0x0000000009050000",
		    "sys/devices/platform/arm-smmu-v3.0.auto/iommu/"
		    "smmu3.0x0000000009050000");
	expect_link(f, "sys/bus/pci/drivers/vfio-pci/" BDF,
		    "../../../../devices/pci0000:00/" BDF,
		    "sys/devices/pci0000:00/" BDF);
	expect_link(f, "sys/bus/pci/drivers/vfio-pci/module",
		    "../../../../module/vfio_pci", "sys/module/vfio_pci");
	expect_link(f, "sys/module/vfio_pci/drivers/pci:vfio-pci",
		    "../../../bus/pci/drivers/vfio-pci",
		    "sys/bus/pci/drivers/vfio-pci");
	expect_link(f, "sys/kernel/iommu_groups/2/devices/" BDF,
		    "../../../../devices/pci0000:00/" BDF,
		    "sys/devices/pci0000:00/" BDF);
	/* the platform devices of the default topology */
	expect_link(f, "sys/kernel/iommu_groups/0/devices/dma0",
		    "../../../../devices/platform/dma0",
		    "sys/devices/platform/dma0");
	expect_link(f, "sys/kernel/iommu_groups/1/devices/dma1",
		    "../../../../devices/platform/dma1",
		    "sys/devices/platform/dma1");
	expect_link(f, "sys/devices/platform/dma1/iommu_group",
		    "../../../kernel/iommu_groups/1",
		    "sys/kernel/iommu_groups/1");
	expect_link(f, "sys/devices/platform/dma0/iommu",
		    "../arm-smmu-v3.0.auto/iommu/smmu3.0x0000000009050000",
		    "sys/devices/platform/arm-smmu-v3.0.auto/iommu/"
		    "smmu3.0x0000000009050000");
	/* the SMMU's IOMMU device lists the devices behind it */
	expect_link(f,
		    "sys/devices/platform/arm-smmu-v3.0.auto/iommu/"
		    "smmu3.0x0000000009050000/devices/" BDF,
		    "../../../../../../devices/pci0000:00/" BDF,
		    "sys/devices/pci0000:00/" BDF);
	fixture_free(f);
}

/* iommu_groups: type and reserved_regions (the SMMU's software MSI
 * window), and only the machine's groups. */
static void test_groups(void **state)
{
	struct fixture *f = fixture_new();
	char path[PATH_MAX];

	(void)state;
	for (int g = 0; g < 3; g++) {
		snprintf(path, sizeof(path), "sys/kernel/iommu_groups/%d/type",
			 g);
		expect_file(f, path, "DMA\n");
	}
	expect_file(f, "sys/kernel/iommu_groups/0/reserved_regions",
		    "0x0000000008000000 0x00000000080fffff msi\n");
	/* the test's function has no IOMMU device: no regions */
	expect_file(f, "sys/kernel/iommu_groups/2/reserved_regions", "");
	snprintf(path, sizeof(path), "%s/sys/kernel/iommu_groups/3", f->top);
	assert_int_equal(access(path, F_OK), -1);
	fixture_free(f);
}

/* The modules and their parameters, with the library's real values. */
static void test_modules(void **state)
{
	struct fixture *f;

	(void)state;
	vfio_iommu_type1_set_dma_entry_limit(1234);
	f = fixture_new();
	vfio_iommu_type1_set_dma_entry_limit(VFIO_DMA_ENTRY_LIMIT_DEFAULT);
	expect_file(f, "sys/module/vfio/parameters/enable_unsafe_noiommu_mode",
		    "N\n");
#define P "sys/module/vfio_pci/parameters/"
	expect_file(f, P "nointxmask", "N\n");
	expect_file(f, P "disable_vga", "N\n");
	expect_file(f, P "disable_idle_d3", "N\n");
	expect_file(f, P "enable_sriov", "N\n");
	expect_file(f, P "disable_denylist", "N\n");
#undef P
#define P "sys/module/vfio_iommu_type1/parameters/"
	expect_file(f, P "allow_unsafe_interrupts", "N\n");
	expect_file(f, P "disable_hugepages", "N\n");
	expect_file(f, P "dma_entry_limit", "1234\n");
#undef P
	expect_file(f, "sys/bus/pci/drivers/vfio-pci/bind", "");
	expect_file(f, "sys/bus/pci/drivers/vfio-pci/new_id", "");
	fixture_free(f);
}

/* Which paths the view serves, and the /dev/vfio nodes. */
static void test_lookups(void **state)
{
	struct fixture *f = fixture_new();
	mode_t mode;
	dev_t rdev;

	(void)state;
	assert_true(sysfs_in_view(f->m, "/sys/bus/pci"));
	assert_true(sysfs_in_view(f->m, "/sys/bus/pci/devices/" BDF "/vendor"));
	assert_true(sysfs_in_view(f->m, "/sys/devices/pci0000:00"));
	assert_true(sysfs_in_view(f->m, "/sys/kernel/iommu_groups/2/type"));
	assert_true(sysfs_in_view(f->m, "/sys/module/vfio"));
	assert_true(sysfs_in_view(f->m, "/sys/module/vfio_pci/parameters"));
	assert_true(sysfs_in_view(f->m, "/sys/module/vfio_iommu_type1"));
	assert_true(sysfs_in_view(f->m, "/sys/devices/platform/dma0"));
	assert_true(sysfs_in_view(f->m, "/sys/devices/platform/"
					"arm-smmu-v3.0.auto"));
	assert_true(sysfs_in_view(f->m, "/dev/vfio/vfio"));
	assert_false(sysfs_in_view(f->m, "/sys/module/vfio_virqfd"));
	assert_false(sysfs_in_view(f->m, "/sys/module"));
	assert_false(sysfs_in_view(f->m, "/sys/devices/platform/serial8250"));
	assert_false(sysfs_in_view(f->m, "/sys/devices/platform/dma00"));
	assert_false(sysfs_in_view(f->m, "/sys/devices/system/cpu"));
	assert_false(sysfs_in_view(f->m, "/sys/bus/pcie"));
	assert_false(sysfs_in_view(f->m, "/dev/vfio2"));
	/* without the machine: only the platform directory needs it */
	assert_true(sysfs_maybe_in_view("/sys/module/vfio_pci"));
	assert_true(sysfs_maybe_in_view("/sys/devices/platform/serial8250"));
	assert_false(sysfs_maybe_in_view("/sys/devices/system/cpu/cpu0"));
	assert_false(sysfs_maybe_in_view("/sys/module/kvm"));

	assert_int_equal(sysfs_dev_node(f->m, "/dev/vfio/vfio", &mode, &rdev),
			 0);
	assert_true(S_ISCHR(mode));
	assert_int_equal(major(rdev), 10);
	assert_int_equal(minor(rdev), 196);
	assert_int_equal(sysfs_dev_node(f->m, "/dev/vfio/2", &mode, &rdev), 0);
	assert_true(S_ISCHR(mode));
	assert_int_equal(major(rdev), SYSFS_VFIO_GROUP_MAJOR);
	assert_int_equal(minor(rdev), 2);
	assert_int_equal(sysfs_dev_node(f->m, "/dev/vfio/3", &mode, &rdev),
			 -ENOENT);
	assert_int_equal(sysfs_dev_node(f->m, "/dev/vfio/2x", &mode, &rdev),
			 -ENOENT);
	assert_int_equal(sysfs_dev_node(f->m, "/dev/vfio", &mode, &rdev),
			 -ENOENT);
	fixture_free(f);
}

/* The front: redirection of the view's paths (normalized) into the tree
 * it renders, and realpath's answers turned back into /sys paths. */
static void test_front_redirect(void **state)
{
	char buf[PATH_MAX], real[PATH_MAX], want[PATH_MAX];
	struct stat st;

	(void)state;
	assert_int_equal(
		uiommu_sysfs_redirect("/proc/self/maps", buf, sizeof(buf)), 0);
	assert_int_equal(uiommu_sysfs_redirect("/sys/devices/system/cpu", buf,
					       sizeof(buf)),
			 0);
	/* a /sys path outside the view builds nothing */
	assert_int_equal(uiommu_system_exit(), -ENODEV);
	assert_int_equal(uiommu_sysfs_redirect("/sys//module/./vfio/", buf,
					       sizeof(buf)),
			 1);
	assert_int_equal(stat(buf, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_non_null(strstr(buf, "/sys/module/vfio"));
	strcpy(want, buf);
	assert_int_equal(uiommu_sysfs_redirect("/sys/kernel/iommu_groups/0/"
					       "devices/dma0/iommu_group",
					       buf, sizeof(buf)),
			 1);
	assert_non_null(realpath(buf, real));
	assert_true(uiommu_sysfs_unredirect(real));
	assert_string_equal(real, "/sys/kernel/iommu_groups/0");
	strcpy(real, "/tmp/elsewhere");
	assert_false(uiommu_sysfs_unredirect(real));
	assert_int_equal(uiommu_sysfs_redirect("/sys/module/vfio", buf, 8),
			 -ENAMETOOLONG);
	assert_int_equal(uiommu_system_exit(), 0);
	/* the view went with the system */
	assert_int_equal(stat(want, &st), -1);
}

/* /dev/iommu (issue 15): in the view as misc 10:123, rendered, and
 * redirected into the tree; a path that only begins with it is not. */
static void test_dev_iommu(void **state)
{
	struct fixture *f = fixture_new();
	char buf[PATH_MAX];
	struct stat st;
	mode_t mode;
	dev_t rdev;

	(void)state;
	assert_true(sysfs_in_view(f->m, "/dev/iommu"));
	assert_false(sysfs_in_view(f->m, "/dev/iommufd"));
	assert_true(sysfs_maybe_in_view("/dev/iommu"));
	assert_int_equal(sysfs_dev_node(f->m, "/dev/iommu", &mode, &rdev), 0);
	assert_true(S_ISCHR(mode));
	assert_int_equal(major(rdev), SYSFS_VFIO_MISC_MAJOR);
	assert_int_equal(minor(rdev), SYSFS_IOMMUFD_MINOR);
	assert_int_equal(sysfs_dev_node(f->m, "/dev/iommu0", &mode, &rdev),
			 -ENOENT);
	fixture_free(f);

	assert_int_equal(uiommu_sysfs_redirect("/dev/iommu", buf, sizeof(buf)),
			 1);
	assert_int_equal(stat(buf, &st), 0);
	assert_int_equal(uiommu_sysfs_redirect("/dev/iommux", buf, sizeof(buf)),
			 0);
	assert_int_equal(uiommu_system_exit(), 0);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_pci_attributes),
	cmocka_unit_test(test_pci_resource),
	cmocka_unit_test(test_pci_config),
	cmocka_unit_test(test_links),
	cmocka_unit_test(test_groups),
	cmocka_unit_test(test_modules),
	cmocka_unit_test(test_lookups),
	cmocka_unit_test(test_front_redirect),
	cmocka_unit_test(test_dev_iommu),
};

TEST_MAIN(tests)
