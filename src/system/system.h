/* SPDX-License-Identifier: MIT */
/*
 * The system layer's internal header: the parsed topology and the machine
 * built from it.
 *
 * A struct topology is data only: what the machine should hold (memory
 * size, SMMUs with their hardware configuration and driver options, and
 * DMA-engine devices naming the SMMU they sit behind by index).  The parser
 * (topology.c) fills one from the text of include/uiommu/uapi.h (a
 * device is a platform DMA engine or a PCI function, the I/OAT, named by
 * its PCI address); the
 * one-SMMU machine of platform_create() fills one by hand.
 *
 * A struct machine is what machine_create() built from a topology, in this
 * order: physical memory, each SMMU model with its driver probed on it,
 * each device (created on its SMMU and registered with VFIO in its group).
 * machine_destroy() undoes that in reverse.  A machine is immutable once
 * built; its owner serializes create and destroy.
 *
 * Locks of the layer, outermost first (one: the front's system lock, held
 * while a machine is built or torn down, so it ranks below every lock of
 * the layers the builder calls).
 */
#ifndef UIOMMU_SYSTEM_SYSTEM_H
#define UIOMMU_SYSTEM_SYSTEM_H

#include <stdbool.h>
#include <sys/types.h>

#include "iommu/arm_smmu_v3.h"
#include "devices/devices.h"
#include "pci/pci.h"

#include "lib/lock.h"

/*
 * Handles into the system the front serves, for uiommu's own tools and
 * tests (not part of the public interface): the process's address space,
 * from which DMA-able memory comes (mm_mmap) and into which the preload
 * library adopts the program's own mappings, and the system's physical
 * memory, for leak checks.  NULL when no system can be built.
 */
struct mm *uiommu_current_mm(void);
struct phys_mem *uiommu_system_phys(void);

#define TOPOLOGY_MAX_IOMMUS  8
#define TOPOLOGY_MAX_DEVICES 32
#define TOPOLOGY_NAME_LEN    32

/* The system lock ranks above no lock: the layer sits above devices. */
enum system_lock_rank {
	SYSTEM_LOCK_SYS = LOCK_RANK_SYSTEM,
};

struct topology_iommu {
	char name[TOPOLOGY_NAME_LEN];
	struct smmu_config hw;	     /* zero fields: the defaults */
	struct arm_smmu_options drv; /* the driver's options */
};

/* A device's model: the platform DMA engine or the I/OAT PCI function. */
enum topology_device_type {
	TOPOLOGY_DEV_DMA,
	TOPOLOGY_DEV_IOAT,
};

/* "DDDD:BB:DD.F", lower-case hex, and its NUL */
#define TOPOLOGY_BDF_LEN 13

struct topology_device {
	char name[TOPOLOGY_NAME_LEN];
	enum topology_device_type type;
	char bdf[TOPOLOGY_BDF_LEN]; /* a PCI device's address ("" for dma) */
	bool threaded;		    /* ioat: its channel runs on a thread */
	unsigned int iommu;	    /* index into topology.iommus */
	uint32_t sid;		    /* stream id on that SMMU */
	int group;		    /* VFIO group number: /dev/vfio/N */
	unsigned int fw_flags;	    /* DEVICE_FW_* */
};

struct topology {
	uint64_t mem_size; /* bytes of physical memory */
	struct topology_iommu iommus[TOPOLOGY_MAX_IOMMUS];
	unsigned int nr_iommus;
	struct topology_device devices[TOPOLOGY_MAX_DEVICES];
	unsigned int nr_devices;
	bool vfio_container_iommufd; /* vfio-container iommufd */
};

/* Parse text into t (zeroed first; mem_size left 0).  0, or -EINVAL for a
 * description that breaks the grammar or the limits above, -ENOMEM. */
int topology_parse(const char *text, struct topology *t);
/* A vfio-container word: "type1" (false) or "iommufd" (true), else
 * -EINVAL. */
int topology_parse_vfio_container(const char *word, bool *iommufd);

struct machine_iommu {
	struct platform plat; /* memory, this SMMU, its driver */
};

/*
 * A device of the machine: its VFIO device (named by the topology's NAME
 * for a platform DMA engine, by its PCI address for a PCI function), its
 * group, its SMMU, and for a PCI function the function itself (NULL for a
 * platform device), which the sysfs view shows.
 */
struct machine_device {
	struct vfio_device *vdev;
	int group;
	unsigned int iommu; /* index into machine.iommus */
	uint32_t sid;
	struct pci_function *pci;
	char name[TOPOLOGY_NAME_LEN]; /* the topology's NAME */
};

struct machine {
	struct phys_mem *pm;
	struct machine_iommu iommus[TOPOLOGY_MAX_IOMMUS];
	unsigned int nr_iommus;
	struct machine_device devices[TOPOLOGY_MAX_DEVICES];
	unsigned int nr_devices;
};

/* Build the machine t describes.  0 or a negative errno (nothing left). */
int machine_create(const struct topology *t, struct machine **out);
void machine_destroy(struct machine *m);

/* The fd front's system (front.c): a machine and the process's mm.  Build
 * it from a topology (NULL: $UIOMMU_TOPOLOGY, else the default); the
 * caller holds the front's system lock.  0 or a negative errno. */
struct uiommu_system;
int system_create(const char *topology, struct uiommu_system **out);

/* ---- the sysfs view (sysfs.c) ---------------------------------------------
 *
 * The machine as a Linux 6.1 host shows it under /sys and /dev/vfio,
 * rendered into a private directory for the preload library to redirect
 * the view's paths into (docs/sysfs.md).
 */

/* The host-like layout the view gives the machine. */
#define SYSFS_MMIO_BASE	       0xfd000000ULL /* BARs, upwards */
#define SYSFS_SMMU_BASE	       0x09050000ULL /* SMMU 0's registers */
#define SYSFS_SMMU_STRIDE      0x00020000ULL
#define SYSFS_INTX_IRQ_BASE    16
#define SYSFS_VFIO_MISC_MAJOR  10 /* /dev/vfio/vfio: the misc device */
#define SYSFS_VFIO_MISC_MINOR  196
#define SYSFS_IOMMUFD_MINOR    123 /* /dev/iommu: a dynamic misc minor */
#define SYSFS_VFIO_GROUP_MAJOR 243 /* the groups' (a dynamic major) */
/* the device cdevs' ("vfio-dev", the next dynamic major: vfio_init
 * allocates it right after the groups' region) */
#define SYSFS_VFIO_DEVICE_MAJOR 242

/* Render m into top (an existing empty directory): top/sys, top/dev/vfio.
 * 0 or a negative errno (what was rendered stays: sysfs_remove it). */
int sysfs_render(const struct machine *m, const char *top);
/* Remove top and everything under it.  0 or a negative errno. */
int sysfs_remove(const char *top);
/* Whether an absolute, normalized path is one the view serves (its
 * prefixes: /sys/bus/pci, /sys/devices/pci0000:00, /sys/kernel/iommu_groups,
 * /sys/module/vfio, vfio_pci and vfio_iommu_type1, /sys/class/vfio-dev,
 * /sys/dev/char/MAJ:N of the device cdevs,
 * /sys/devices/platform/NAME of the SMMUs and platform devices,
 * /dev/vfio, /dev/iommu). */
bool sysfs_in_view(const struct machine *m, const char *path);
/* Whether path may be in some machine's view (what sysfs_in_view answers
 * without looking at the machine: the fixed prefixes, or a platform
 * device's directory): false means the system need not be built. */
bool sysfs_maybe_in_view(const char *path);
/* For /dev/vfio/vfio, /dev/iommu, /dev/vfio/N of m's groups and
 * /dev/vfio/devices/vfioN of its devices' cdevs: the mode and device number
 * a stat reports; -ENOENT for any other path. */
int sysfs_dev_node(const struct machine *m, const char *path, mode_t *mode,
		   dev_t *rdev);
/* Re-render a dynamic attribute (config, enable) when rel (relative to
 * top, e.g. "sys/bus/pci/devices/BDF/config") names one; 0 otherwise. */
int sysfs_refresh(const struct machine *m, const char *top, const char *rel);

/*
 * The front's view, for the preload library (front.c).  Each builds the
 * system (and renders the view once) when needed.
 *
 * uiommu_sysfs_redirect: when path (absolute, or relative to the working
 * directory) lies in the view, the path in the rendered tree into buf
 * (refreshing a dynamic attribute first) and 1; 0 when it does not (buf
 * untouched); a negative errno when the view cannot be built or the path
 * does not fit.
 * uiommu_sysfs_unredirect: a path inside the rendered tree (realpath's
 * answer) rewritten in place to the path the kernel would give; false
 * when path is not inside it.
 * uiommu_sysfs_dev_node: sysfs_dev_node() on the front's machine.
 */
int uiommu_sysfs_redirect(const char *path, char *buf, size_t len);
bool uiommu_sysfs_unredirect(char *path);
int uiommu_sysfs_dev_node(const char *path, mode_t *mode, dev_t *rdev);

#endif /* UIOMMU_SYSTEM_SYSTEM_H */
