/* SPDX-License-Identifier: MIT */
/*
 * copy_from_user / copy_to_user for the ioctl front.  The "user" is this
 * very process, but its pointers are as untrusted as a system call's: a bad
 * pointer must give -EFAULT, not a crash.  With the trap's SIGSEGV handler
 * installed a copy is a memcpy whose faults the handler turns into -EFAULT
 * (uaccess_fault); before it, process_vm_readv/writev on ourselves, which
 * the kernel checks (uaccess.c).
 */
#ifndef UIOMMU_LIB_UACCESS_H
#define UIOMMU_LIB_UACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* 0, or -EFAULT when any byte of the user range is not accessible. */
int copy_from_user(void *to, const void *from, size_t n);
int copy_to_user(void *to, const void *from, size_t n);

/*
 * The fixup.  uaccess_fixup_enable(): the caller's SIGSEGV handler is
 * installed and calls uaccess_fault(fault address) first for every fault
 * (a trapped page in a user range is -EFAULT, as process_vm_readv has it);
 * from then on copies use it (not in sanitizer builds).
 * uaccess_fault() does not return when the address is in this thread's
 * copy in progress.  uaccess_fixups(): faults turned into -EFAULT so far.
 */
void uaccess_fixup_enable(void);
bool uaccess_fixup_enabled(void);
void uaccess_fault(unsigned long addr);
unsigned long uaccess_fixups(void);

/* The end of member m of struct type t: the minsz of a VFIO ioctl whose
 * argument must reach at least up to m. */
#define offsetofend(t, m) (offsetof(t, m) + sizeof(((t *)0)->m))

/*
 * The entry of a VFIO ioctl.  Its argument begins with __u32 argsz (the
 * size the caller says it passed) and __u32 flags, and minsz is the part of
 * it this ioctl always reads.  In the kernel's order: copy the first minsz
 * bytes from arg (-EFAULT), then argsz below minsz is -EINVAL.
 * copy_argsz_flags_from_user also takes a flag outside valid_flags as
 * -EINVAL (the same check, as the kernel does it, in one condition).
 */
int copy_argsz_from_user(void *dst, unsigned long arg, size_t minsz);
int copy_argsz_flags_from_user(void *dst, unsigned long arg, size_t minsz,
			       uint32_t valid_flags);

/*
 * copy_struct_from_user: an extensible struct of usize bytes at src into
 * ksize bytes at dst.  A shorter user struct is zero-extended; the bytes
 * of a longer one past ksize must all be zero (-E2BIG); -EFAULT when any
 * of it is unreadable.
 */
int copy_struct_from_user(void *dst, size_t ksize, const void *src,
			  size_t usize);

#endif
