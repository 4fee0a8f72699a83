/* SPDX-License-Identifier: MIT */
/*
 * TAP for the plain programs run under `uiommu exec` (vfio_program,
 * cdev_program, fault_program, fail_nth_program): check() prints one
 * "ok N - what" or "not ok N - what (errno ...)" line per case, flushed at
 * once (a program that dies still leaves its lines); n_failed decides the
 * exit status.  Include once, from the program's one source file.
 */
#ifndef UIOMMU_TESTS_TAP_PROGRAM_H
#define UIOMMU_TESTS_TAP_PROGRAM_H

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int n_test, n_failed;

static void check(int ok, const char *what)
{
	n_test++;
	if (!ok) {
		n_failed++;
		printf("not ok %d - %s (errno %d: %s)\n", n_test, what, errno,
		       strerror(errno));
	} else {
		printf("ok %d - %s\n", n_test, what);
	}
	fflush(stdout);
}

#endif /* UIOMMU_TESTS_TAP_PROGRAM_H */
