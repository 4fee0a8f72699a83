/* SPDX-License-Identifier: MIT */
/*
 * Force-included (gcc -include) into the kernel's iommufd selftests when
 * scripts/check-kernel-selftests.sh builds them from Debian's
 * linux-source-6.12 tarball; never part of the library.
 *
 * Why: Debian's 6.12 stable tree carries tools/testing/selftests/iommu/
 * slightly ahead of its own include/uapi/linux/iommufd.h and
 * drivers/iommu/iommufd/iommufd_test.h: the tests use names that the
 * mainline kernel added later with the IOMMU_GET_HW_INFO input type and
 * the mock device's PASID support.  This file supplies those names with
 * the values of the ABI the tests were written for, so that the two
 * programs compile against the tree's own headers.
 *
 * Each piece is switched on by the script only when the extracted header
 * lacks the name (grep), so a tree whose headers have caught up builds
 * without it:
 *
 *   UIOMMU_KST_BRIDGE_HW_INFO_INPUT   <linux/iommufd.h> has no in_data_type
 *   UIOMMU_KST_BRIDGE_MOCK_PASID      iommufd_test.h has no
 *                                     MOCK_FLAGS_DEVICE_PASID
 *
 * What the library (src/iommufd) implements for these is the newer ABI:
 * IOMMU_GET_HW_INFO with flags bit 0 takes the requested type in the word
 * that otherwise returns the type; type 0 asks for the default one.
 */
#ifndef UIOMMU_KSELFTEST_UAPI_BRIDGE_H
#define UIOMMU_KSELFTEST_UAPI_BRIDGE_H

#ifdef UIOMMU_KST_BRIDGE_HW_INFO_INPUT
/*
 * In the newer ABI struct iommu_hw_info's u32 at offset 24 is a union of
 * in_data_type (read when IOMMU_HW_INFO_FLAG_INPUT_TYPE is set) and
 * out_data_type (written back).  Both names for one member of the same
 * type at the same offset: naming the input one after the output one
 * gives the tests exactly that.
 */
#define in_data_type out_data_type
/* flags of IOMMU_GET_HW_INFO: in_data_type carries a requested type */
#define IOMMU_HW_INFO_FLAG_INPUT_TYPE (1U << 0)
/* the requested type "whatever the driver reports": the value of NONE */
#define IOMMU_HW_INFO_TYPE_DEFAULT 0
#endif

#ifdef UIOMMU_KST_BRIDGE_MOCK_PASID
/* IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS: a mock device that supports PASID */
#define MOCK_FLAGS_DEVICE_PASID (1U << 2)
/* the PASID width (bits) such a device reports in out_max_pasid_log2 */
#define MOCK_PASID_WIDTH 20
#endif

#endif /* UIOMMU_KSELFTEST_UAPI_BRIDGE_H */
