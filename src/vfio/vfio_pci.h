/* SPDX-License-Identifier: MIT */
/*
 * vfio-pci: a PCI function (src/pci) exposed through a VFIO device fd as
 * Linux 6.1's vfio-pci exposes one (docs/vfio.md, "vfio-pci").
 *
 * The device model owns the struct pci_function and the bus device (the
 * IOMMU core's struct device, probed into its group); vfio_pci_create()
 * makes the struct vfio_device the caller registers with
 * vfio_register_group_dev(), named by the function's PCI address
 * ("0000:00:04.0") for VFIO_GROUP_GET_DEVICE_FD.  vfio_pci_destroy()
 * frees it once unregistered; the function and the device outlive it.
 *
 * pm is the machine's physical memory: a BAR's plain-memory pages that lie
 * in it are mapped directly by mmap, every other page of a BAR mapping is
 * trapped (its loads and stores reach pci_bar_read/pci_bar_write).
 */
#ifndef UIOMMU_VFIO_VFIO_PCI_H
#define UIOMMU_VFIO_VFIO_PCI_H

#include "pci/pci.h"
#include "vfio/vfio_device.h"

/* The region and interrupt indexes of linux/vfio.h's VFIO_PCI_* enums. */
#define VFIO_PCI_REGIONS 9 /* BAR0-5, ROM, config, VGA */
#define VFIO_PCI_IRQS	 5 /* INTx, MSI, MSI-X, ERR, REQ */

struct vfio_pci_stats {
	uint64_t signals;	 /* eventfd signals sent (all indexes) */
	uint64_t intx_masked;	 /* INTx automasks */
	uint64_t resets;	 /* function-level resets done */
	uint64_t virqfd_unmasks; /* INTx unmasks by the unmask eventfd */
	uint64_t trap_reads;	 /* loads from the BARs' trapped pages */
	uint64_t trap_writes;	 /* stores to them */
	uint64_t zap_faults;	 /* BAR mapping accesses answered SIGBUS */
	bool zapped;		 /* the BAR mappings are zapped now */
};

/* -EINVAL for a name that does not fit, -ENOMEM. */
int vfio_pci_create(struct pci_function *fn, struct device *dev,
		    struct phys_mem *pm, const char *name,
		    struct vfio_device **out);
void vfio_pci_destroy(struct vfio_device *vdev);

struct pci_function *vfio_pci_function(struct vfio_device *vdev);
void vfio_pci_get_stats(struct vfio_device *vdev, struct vfio_pci_stats *st);

#endif /* UIOMMU_VFIO_VFIO_PCI_H */
