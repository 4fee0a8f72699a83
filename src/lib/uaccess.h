/* SPDX-License-Identifier: MIT */
/*
 * copy_from_user / copy_to_user for the ioctl front.  The "user" is this
 * very process, but its pointers are as untrusted as a system call's: a bad
 * pointer must give -EFAULT, not a crash.  The copies go through
 * process_vm_readv/writev on ourselves, which the kernel checks (one system
 * call per ioctl argument, off every DMA hot path).
 */
#ifndef UIOMMU_LIB_UACCESS_H
#define UIOMMU_LIB_UACCESS_H

#include <stddef.h>

/* 0, or -EFAULT when any byte of the user range is not accessible. */
int copy_from_user(void *to, const void *from, size_t n);
int copy_to_user(void *to, const void *from, size_t n);

#endif
