// SPDX-License-Identifier: MIT
/*
 * The process's own mappings as /proc/self/maps shows them, for adoption
 * (mm.c, "adopting the process's own memory"): which memory a pin may
 * take into frames, and what of the kernel's semantics the region must
 * keep.
 *
 * Objects: none kept; each call reads /proc/self/maps (and, for hugetlb
 * memory, /proc/self/smaps for the mapping's page size) once.  A FILE
 * answer carries an fd of the mapped file that the caller then owns.
 *
 * Kinds (the line's perms, inode and name):
 *  - anonymous: private with no inode (heap, anonymous mmap), or shared
 *    memory no file system names (a memfd, "/memfd:...", or shared
 *    anonymous memory, "/dev/zero (deleted)");
 *  - hugetlb: "/anon_hugepage (deleted)" (MAP_HUGETLB, private or
 *    shared; its inode is hugetlbfs's);
 *  - file: a private mapping of a file that can be opened again by the
 *    name maps gives, and is the same inode on the same device (writes
 *    to a private mapping never reach the file, so its pages can become
 *    frames; the file is what MADV_DONTNEED brings back).
 * Any other mapping (a shared file mapping: its writes belong to the
 * file; a deleted or unreachable file; no read permission) is refused.
 *
 * Locking: none; the caller holds its mm's mmap_lock for writing, so no
 * other adoption races with the read (the program's own mmap may, as it
 * may with the kernel's GUP).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "host_vma.h"
#include "lib/internal.h"
#include "phys.h"

struct maps_line {
	unsigned long lo, hi, off, inode;
	unsigned int maj, min;
	char perms[8];
	const char *name; /* into the line buffer, no newline */
};

static bool parse_line(char *line, struct maps_line *l)
{
	char dev[16];
	int at = 0;
	char *nl;

	if (sscanf(line, "%lx-%lx %7s %lx %15s %lu %n", &l->lo, &l->hi,
		   l->perms, &l->off, dev, &l->inode, &at) != 6)
		return false;
	if (sscanf(dev, "%x:%x", &l->maj, &l->min) != 2)
		return false;
	l->name = at ? line + at : "";
	nl = strchr(line + at, '\n');
	if (nl)
		*nl = '\0';
	return true;
}

static bool line_hugetlb(const struct maps_line *l)
{
	return !strncmp(l->name, "/anon_hugepage", 14);
}

static bool line_anon(const struct maps_line *l)
{
	if (l->perms[3] == 'p')
		return !l->inode;
	return !strncmp(l->name, "/memfd:", 7) ||
	       !strncmp(l->name, "/dev/zero (deleted)", 19);
}

static bool line_file(const struct maps_line *l)
{
	return l->perms[3] == 'p' && l->inode && l->name[0] == '/' &&
	       !strstr(l->name, " (deleted)");
}

/* The page size of the mapping that starts at lo (smaps KernelPageSize),
 * or 0. */
static unsigned long smaps_page_size(unsigned long lo)
{
	unsigned long a, b, kb = 0;
	bool in = false;
	char line[512];
	FILE *f;

	f = fopen("/proc/self/smaps", "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &a, &b) == 2 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			if (in)
				break;
			in = a == lo;
			continue;
		}
		if (in && sscanf(line, "KernelPageSize: %lu kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb * 1024;
}

/* The file of a private file mapping, opened again and checked to be the
 * mapped inode; pages of [off, off + len) all within its size. */
static int open_mapped_file(const struct maps_line *l, uint64_t off,
			    uint64_t len)
{
	struct stat st;
	int fd;

	fd = open(l->name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -EFAULT;
	if (fstat(fd, &st) || st.st_ino != l->inode ||
	    major(st.st_dev) != l->maj || minor(st.st_dev) != l->min ||
	    off + len > ALIGN_UP((uint64_t)st.st_size, PHYS_PAGE_SIZE)) {
		close(fd);
		return -EFAULT;
	}
	return fd;
}

int host_vma_classify(unsigned long start, unsigned long end,
		      struct host_vma *out)
{
	unsigned long covered = start;
	struct maps_line l;
	char line[PATH_MAX + 128];
	bool first = true, done = false;
	int ret = -EFAULT;
	FILE *f;

	f = fopen("/proc/self/maps", "re");
	if (!f)
		return -EFAULT;
	*out = (struct host_vma){
		.kind = HOST_VMA_ANON, .fd = -1, .writable = true};
	while (!done && covered < end && fgets(line, sizeof(line), f)) {
		if (!parse_line(line, &l) || l.hi <= covered)
			continue;
		if (l.lo > covered || l.perms[0] != 'r')
			break; /* a hole, or not readable */
		if (line_anon(&l)) {
			if (l.perms[1] != 'w')
				out->writable = false;
			covered = l.hi;
		} else if (!first && (line_hugetlb(&l) || line_file(&l))) {
			/* the anonymous run ends here: the next call
			 * adopts this mapping */
			done = true;
		} else if (line_hugetlb(&l)) {
			out->kind = HOST_VMA_HUGETLB;
			out->shared = l.perms[3] == 's';
			out->writable = l.perms[1] == 'w';
			out->hpage_size = smaps_page_size(l.lo);
			if (!out->hpage_size ||
			    !IS_ALIGNED(l.lo, out->hpage_size))
				break;
			start = ALIGN_DOWN(start, out->hpage_size);
			covered = min(ALIGN_UP(min(end, l.hi), out->hpage_size),
				      l.hi);
			end = covered;
			done = true;
		} else if (line_file(&l)) {
			out->kind = HOST_VMA_FILE;
			out->writable = l.perms[1] == 'w';
			out->file_off = l.off + (start - l.lo);
			out->fd = open_mapped_file(&l, out->file_off,
						   min(end, l.hi) - start);
			if (out->fd < 0)
				break;
			covered = min(end, l.hi);
			end = covered;
			done = true;
		} else {
			break;
		}
		first = false;
	}
	fclose(f);
	if (covered >= end || (done && covered > start)) {
		out->start = start;
		out->end = min(covered, end);
		ret = 0;
	} else if (out->fd >= 0) {
		close(out->fd);
	}
	return ret;
}
