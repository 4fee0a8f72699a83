// SPDX-License-Identifier: MIT
/*
 * The machine builder: the one place that turns a description (struct
 * topology, src/system/system.h) into objects.
 *
 * Objects and lifetimes: a struct machine owns, in build order, the
 * physical memory, each SMMU model with the Arm SMMUv3 driver probed on it
 * (one struct platform each, the handle the device models take), and each
 * device (a platform DMA engine, or the I/OAT PCI function behind
 * vfio-pci, registered under its PCI address), created on its SMMU and
 * registered with VFIO in its group.  machine_destroy() releases the devices, then the SMMUs, then the
 * memory; a failed build releases what it had built.
 *
 * Two users: the fd front (front.c) builds the machine of a topology
 * string; platform_create() builds a one-SMMU machine with no devices for
 * the scenarios, benchmarks and tests that drive the layers directly, and
 * hands out its platform (platform_add_iommu() gives it more SMMUs, each
 * with a platform of its own, all torn down with the first).
 *
 * Locking: none.  A machine is immutable once built; its owner serializes
 * create and destroy (the front under its system lock).
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "vfio/vfio_device.h"

#include "lib/internal.h"
#include "system.h"

/* The device models number core groups from 1: 0 means "a group of its
 * own", so a topology's group N is the core's N + 1. */
#define MACHINE_GROUP_TAG(group) ((unsigned int)(group) + 1)

static int machine_add_iommu(struct machine *m, const struct topology_iommu *t)
{
	struct platform *p = &m->iommus[m->nr_iommus].plat;
	int ret;

	p->pm = m->pm;
	p->machine = m;
	ret = smmu_create(m->pm, &t->hw, &p->hw);
	if (ret)
		return ret;
	ret = arm_smmu_device_probe(p->hw, &t->drv, &p->smmu);
	if (ret) {
		smmu_destroy(p->hw);
		return ret;
	}
	p->iommu = arm_smmu_iommu(p->smmu);
	m->nr_iommus++;
	return 0;
}

/* A device's model by its type: the PCI ones have their function. */
static int machine_model_create(struct platform *p,
				const struct topology_device *t,
				struct vfio_device **vdev,
				struct pci_function **fn)
{
	struct ioat_config icfg = {
		.bdf = t->bdf,
		.sid = t->sid,
		.group_tag = MACHINE_GROUP_TAG(t->group),
		.fw_flags = t->fw_flags,
		.threaded = t->threaded,
	};
	int ret;

	*fn = NULL;
	switch (t->type) {
	case TOPOLOGY_DEV_IOAT:
		ret = ioat_create(p, &icfg, vdev);
		if (!ret)
			*fn = ioat_function(*vdev);
		return ret;
	case TOPOLOGY_DEV_DMA:
	default:
		return dmaengine_create(p, t->name, t->sid,
					MACHINE_GROUP_TAG(t->group),
					t->fw_flags, vdev);
	}
}

/* The PCI function tells the models apart (only the I/OAT has one). */
static void machine_model_destroy(struct vfio_device *vdev,
				  struct pci_function *fn)
{
	if (fn)
		ioat_destroy(vdev);
	else
		dmaengine_destroy(vdev);
}

static int machine_add_device(struct machine *m,
			      const struct topology_device *t)
{
	struct vfio_device *vdev;
	struct pci_function *fn;
	int ret;

	ret = machine_model_create(&m->iommus[t->iommu].plat, t, &vdev, &fn);
	if (ret)
		return ret;
	ret = vfio_register_group_dev(vdev, t->group);
	if (ret) {
		machine_model_destroy(vdev, fn);
		return ret;
	}
	m->devices[m->nr_devices] = (struct machine_device){
		.vdev = vdev,
		.group = t->group,
		.iommu = t->iommu,
		.sid = t->sid,
		.pci = fn,
	};
	memcpy(m->devices[m->nr_devices].name, t->name, sizeof(t->name));
	m->nr_devices++;
	return 0;
}

void machine_destroy(struct machine *m)
{
	if (!m)
		return;
	for (unsigned int i = 0; i < m->nr_devices; i++) {
		WARN_ON(vfio_unregister_group_dev(m->devices[i].vdev));
		machine_model_destroy(m->devices[i].vdev, m->devices[i].pci);
	}
	for (unsigned int i = 0; i < m->nr_iommus; i++) {
		arm_smmu_device_remove(m->iommus[i].plat.smmu);
		smmu_destroy(m->iommus[i].plat.hw);
	}
	phys_destroy(m->pm);
	ui_free(m);
}

int machine_create(const struct topology *t, struct machine **out)
{
	struct phys_config pcfg = {
		.base = PHYS_DEFAULT_BASE,
		.size = t->mem_size ? t->mem_size : PHYS_DEFAULT_SIZE,
	};
	struct machine *m;
	int ret;

	m = ui_zalloc(sizeof(*m));
	if (!m)
		return -ENOMEM;
	ret = phys_create(&pcfg, &m->pm);
	if (ret) {
		ui_free(m);
		return ret;
	}
	for (unsigned int i = 0; i < t->nr_iommus && !ret; i++)
		ret = machine_add_iommu(m, &t->iommus[i]);
	for (unsigned int i = 0; i < t->nr_devices && !ret; i++)
		ret = machine_add_device(m, &t->devices[i]);
	if (ret) {
		machine_destroy(m);
		return ret;
	}
	*out = m;
	return 0;
}

/* ---- the one-SMMU machine ---------------------------------------------- */

int platform_create(const struct platform_config *cfg, struct platform **out)
{
	struct topology t = {
		.mem_size = cfg && cfg->mem_size ? cfg->mem_size : 1ULL << 30,
		.nr_iommus = 1,
		/* the driver's defaults, as arm_smmu_device_probe(NULL) */
		.iommus[0].drv = {.coherent = true, .range_inv = true},
	};
	struct machine *m;
	int ret;

	if (cfg)
		t.iommus[0].hw = cfg->smmu;
	ret = machine_create(&t, &m);
	if (ret)
		return ret;
	*out = &m->iommus[0].plat;
	return 0;
}

int platform_add_iommu(struct platform *p, const struct smmu_config *hw,
		       const struct arm_smmu_options *drv,
		       struct platform **out)
{
	struct machine *m = p->machine;
	struct topology_iommu t = {
		.drv = {.coherent = true, .range_inv = true},
	};
	int ret;

	if (m->nr_iommus == TOPOLOGY_MAX_IOMMUS)
		return -ENOSPC;
	if (hw)
		t.hw = *hw;
	if (drv)
		t.drv = *drv;
	ret = machine_add_iommu(m, &t);
	if (ret)
		return ret;
	*out = &m->iommus[m->nr_iommus - 1].plat;
	return 0;
}

void platform_destroy(struct platform *p)
{
	if (p)
		machine_destroy(p->machine);
}
