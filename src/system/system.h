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
};

/* Parse text into t (zeroed first; mem_size left 0).  0, or -EINVAL for a
 * description that breaks the grammar or the limits above, -ENOMEM. */
int topology_parse(const char *text, struct topology *t);

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

#endif /* UIOMMU_SYSTEM_SYSTEM_H */
