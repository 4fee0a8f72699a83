/* SPDX-License-Identifier: MIT */
/*
 * The process's own mappings, as /proc/self/maps (and smaps) show them:
 * what adoption (mm.c) may take and how.  Internal to src/mem.
 */
#ifndef UIOMMU_MEM_HOST_VMA_H
#define UIOMMU_MEM_HOST_VMA_H

#include <stdbool.h>
#include <stdint.h>

enum host_vma_kind {
	HOST_VMA_ANON,	  /* private anonymous, a shared memfd, shared anon */
	HOST_VMA_HUGETLB, /* MAP_HUGETLB memory, private or shared */
	HOST_VMA_FILE,	  /* a private mapping of a file */
};

/* What [start, end) of a host range adopts as one region. */
struct host_vma {
	enum host_vma_kind kind;
	unsigned long start, end; /* HUGETLB: widened to whole huge pages */
	bool writable;		  /* every page of it may be written */
	bool shared;		  /* HUGETLB: a MAP_SHARED mapping */
	unsigned long hpage_size; /* HUGETLB: the mapping's page size */
	int fd;			  /* FILE: the file, opened O_RDONLY; else -1 */
	uint64_t file_off;	  /* FILE: the file offset of start */
};

/*
 * Classify the host memory from start (page aligned) up to at most end:
 * 0 and *out filled, or -EFAULT where nothing from start can be adopted
 * (not mapped, not readable, a shared file mapping, a file that cannot
 * be opened again or whose pages past its end are in the range).
 * Anonymous memory runs on over adjacent anonymous mappings and stops
 * where a hugetlb or file mapping begins (the next call takes that one);
 * a hole or a mapping nothing adopts before end is -EFAULT, as before.
 * A hugetlb or file mapping is one host_vma, clipped to end; hugetlb
 * is widened to the huge pages the range touches (never past its
 * mapping).  A FILE host_vma holds an fd the caller owns.
 */
int host_vma_classify(unsigned long start, unsigned long end,
		      struct host_vma *out);

#endif
