// SPDX-License-Identifier: MIT
/*
 * Adoption of the process's own hugetlb and private file memory
 * (src/mem/mm.c, src/mem/host_vma.c; issue 15: the kernel's selftests that
 * pin MAP_HUGETLB buffers and a private mapping of /proc/self/exe):
 *  - a pin of MAP_HUGETLB memory (private or shared) adopts whole huge
 *    pages, in 2 MiB folios; a pinned hugetlb page keeps its data;
 *    munmap must cut it on huge page boundaries (-EINVAL, nothing
 *    changed, the C library not called); MADV_DONTNEED from a huge page
 *    boundary, rounded down to whole huge pages, MADV_FREE -EINVAL,
 *    MADV_REMOVE -EACCES (private) or a punch of the whole huge pages
 *    inside (shared); mremap from a huge page boundary, in whole huge
 *    pages, never growing (-EINVAL);
 *  - a pin of a private file mapping adopts it: the pinned frame stays
 *    the page the program writes (ro_unshare), the file never sees the
 *    writes, MADV_DONTNEED brings the file's pages back (the pinner keeps
 *    its frame), MADV_FREE -EINVAL, MADV_REMOVE -EACCES; a read-only one
 *    refuses write pins; a shared file mapping and pages past the file's
 *    end are still refused (-EFAULT);
 *  - every failure of adopting a private file mapping leaves nothing.
 * The hugetlb tests need free huge pages: as root they raise
 * /proc/sys/vm/nr_hugepages for the test and put it back; else they skip.
 */
#include "helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <uiommu/base.h>
#include "mem/mem.h"
#include "mem/phys.h"

#define PG PHYS_PAGE_SIZE

#ifndef MAP_HUGETLB
#define MAP_HUGETLB 0x40000
#endif

struct fixture {
	struct phys_mem *pm;
	struct mm *mm;
	long old_nr_hugepages; /* to put back, or -1 */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->pm = test_phys_create();
	assert_int_equal(mm_create(f->pm, &f->mm), 0);
	mm_set_adopt(f->mm, true);
	f->old_nr_hugepages = -1;
	*state = f;
	return 0;
}

static long read_long(const char *path)
{
	long v = -1;
	FILE *fp = fopen(path, "re");

	if (fp) {
		if (fscanf(fp, "%ld", &v) != 1)
			v = -1;
		fclose(fp);
	}
	return v;
}

static void write_long(const char *path, long v)
{
	FILE *fp = fopen(path, "we");

	if (fp) {
		fprintf(fp, "%ld\n", v);
		fclose(fp);
	}
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(mm_check_invariants(f->mm, stderr), 0);
	mm_destroy(f->mm);
	assert_int_equal(mem_check_invariants(f->pm, PHYS_OWNER_NONE, stderr),
			 0);
	phys_destroy(f->pm);
	if (f->old_nr_hugepages >= 0)
		write_long("/proc/sys/vm/nr_hugepages", f->old_nr_hugepages);
	free(f);
	return 0;
}

static long meminfo(const char *key)
{
	char line[256];
	size_t n = strlen(key);
	long v = -1;
	FILE *fp = fopen("/proc/meminfo", "re");

	if (!fp)
		return -1;
	while (fgets(line, sizeof(line), fp))
		if (!strncmp(line, key, n) && sscanf(line + n, " %ld", &v) == 1)
			break;
	fclose(fp);
	return v;
}

/* The default huge page size if `need` huge pages are free (raising
 * nr_hugepages as root when they are not), else 0: the test skips. */
static unsigned long hugetlb_ready(struct fixture *f, long need)
{
	const char *nr = "/proc/sys/vm/nr_hugepages";
	long kb = meminfo("Hugepagesize:"), old = read_long(nr);

	if (kb <= 0 || old < 0)
		return 0;
	if (meminfo("HugePages_Free:") < need) {
		f->old_nr_hugepages = old;
		write_long(nr, old + need);
	}
	if (meminfo("HugePages_Free:") < need)
		return 0;
	return (unsigned long)kb * 1024;
}

#define NEED_HUGETLB(f, n, hps)                                            \
	do {                                                               \
		hps = hugetlb_ready(f, n);                                 \
		if (!hps) {                                                \
			print_message("no free huge pages "                \
				      "(/proc/sys/vm/nr_hugepages is 0 "   \
				      "and cannot be raised): skipped\n"); \
			skip();                                            \
		}                                                          \
	} while (0)

/* C library calls mm made for a foreign munmap / madvise */
static int host_calls;

static int count_munmap(void *addr, size_t len)
{
	host_calls++;
	return munmap(addr, len);
}

static int count_madvise(void *addr, size_t len, int advice)
{
	host_calls++;
	return madvise(addr, len, advice);
}

static long pin(struct fixture *f, const void *va, unsigned long n,
		unsigned int flags, struct mm_pin_run *runs)
{
	unsigned int nr = 0;
	long ret =
		mm_pin_pages(f->mm, (unsigned long)va, n, flags, runs, 1, &nr);

	if (ret > 0)
		assert_int_equal(nr, 1);
	return ret;
}

static unsigned int frame_order(struct fixture *f, phys_addr_t pa)
{
	struct phys_frame_info info;

	assert_int_equal(phys_frame_info(f->pm, pa, &info), 0);
	return info.order;
}

/* ---- hugetlb ------------------------------------------------------------- */

/* Private MAP_HUGETLB memory: a pin of one page adopts its whole huge page
 * (a 2 MiB folio when the huge page is 2 MiB), contents kept; munmap and
 * madvise keep hugetlb's rules; a pinned huge page keeps its data. */
static void test_adopt_hugetlb_private(void **state)
{
	struct fixture *f = *state;
	struct mm_pin_run run;
	struct mm_stats st;
	unsigned long hps;
	uint8_t *p, *frame;

	NEED_HUGETLB(f, 2, hps);
	p = mmap(NULL, 2 * hps, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	assert_true(p != MAP_FAILED);
	for (unsigned long i = 0; i < 2 * hps / PG; i++)
		p[i * PG] = (uint8_t)(i + 1);

	/* one page in the second huge page: all of that one is adopted */
	assert_int_equal(pin(f, p + hps + 3 * PG, 1, MM_GUP_WRITE, &run), 1);
	mm_get_stats(f->mm, &st);
	assert_int_equal(st.regions, 1);
	if (hps == PHYS_HUGE_SIZE)
		assert_int_equal(frame_order(f, run.pa), PHYS_HUGE_ORDER);
	frame = phys_to_virt(f->pm, run.pa);
	assert_int_equal(frame[0], (uint8_t)(hps / PG + 4));
	for (unsigned long i = 0; i < 2 * hps / PG; i++)
		assert_int_equal(p[i * PG], (uint8_t)(i + 1));
	p[hps + 3 * PG] = 0xaa; /* the program's store reaches the pin */
	assert_int_equal(frame[0], 0xaa);

	/* munmap: only on huge page boundaries; the C library not called */
	host_calls = 0;
	assert_int_equal(mm_foreign_munmap(f->mm, p + hps + PG, PG,
					   count_munmap),
			 -EINVAL);
	assert_int_equal(mm_foreign_munmap(f->mm, p + hps, PG, count_munmap),
			 -EINVAL);
	assert_int_equal(host_calls, 0);
	assert_int_equal(p[hps + PG], (uint8_t)(hps / PG + 2));

	/* madvise: FREE -EINVAL, REMOVE -EACCES (private), DONTNEED from an
	 * unaligned start -EINVAL, of less than a huge page nothing */
	assert_int_equal(mm_foreign_madvise(f->mm, p + hps, hps, MADV_FREE,
					    count_madvise),
			 -EINVAL);
	assert_int_equal(mm_foreign_madvise(f->mm, p + hps, hps, MADV_REMOVE,
					    count_madvise),
			 -EACCES);
	assert_int_equal(mm_foreign_madvise(f->mm, p + hps + PG, PG,
					    MADV_DONTNEED, count_madvise),
			 -EINVAL);
	assert_int_equal(mm_foreign_madvise(f->mm, p + hps, hps - PG,
					    MADV_DONTNEED, count_madvise),
			 0);
	assert_int_equal(p[hps + 3 * PG], 0xaa);
	assert_int_equal(host_calls, 0);

	/* the whole huge page: zero for the program, the pinner keeps it */
	assert_int_equal(mm_foreign_madvise(f->mm, p + hps, hps, MADV_DONTNEED,
					    count_madvise),
			 0);
	assert_int_equal(p[hps + 3 * PG], 0);
	assert_int_equal(frame[0], 0xaa);
	mm_unpin_pages(f->mm, &run, 1, MM_GUP_WRITE);

	/* the whole huge page goes, and with it the region */
	assert_int_equal(mm_foreign_munmap(f->mm, p + hps, hps, count_munmap),
			 0);
	assert_int_equal(host_calls, 1);
	mm_get_stats(f->mm, &st);
	assert_int_equal(st.regions, 0);
	assert_int_equal(munmap(p, hps), 0);
}

/* A pin across a huge page boundary adopts both huge pages; a munmap
 * that cuts them inside is -EINVAL, one of whole huge pages goes. */
static void test_adopt_hugetlb_across(void **state)
{
	struct fixture *f = *state;
	struct mm_pin_run runs[2];
	unsigned int nr = 0;
	unsigned long hps;
	uint8_t *p;

	NEED_HUGETLB(f, 2, hps);
	p = mmap(NULL, 2 * hps, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE, -1,
		 0);
	assert_true(p != MAP_FAILED);
	memset(p, 0x5a, 2 * hps);
	assert_int_equal(mm_pin_pages(f->mm, (unsigned long)(p + hps - PG), 2,
				      0, runs, 2, &nr),
			 2);
	assert_int_equal(p[0], 0x5a);
	assert_int_equal(p[2 * hps - 1], 0x5a);
	mm_unpin_pages(f->mm, runs, nr, 0);
	host_calls = 0;
	assert_int_equal(mm_foreign_munmap(f->mm, p + PG, hps, count_munmap),
			 -EINVAL); /* cuts both huge pages inside */
	assert_int_equal(host_calls, 0);
	assert_int_equal(mm_foreign_munmap(f->mm, p, hps, count_munmap), 0);
	assert_int_equal(p[hps], 0x5a);
	assert_int_equal(mm_foreign_munmap(f->mm, p + hps, hps, count_munmap),
			 0);
}

/* Shared MAP_HUGETLB memory is adopted too (its sharing ends, as for
 * shared anonymous memory); MADV_REMOVE punches the whole huge pages
 * inside its range. */
static void test_adopt_hugetlb_shared(void **state)
{
	struct fixture *f = *state;
	struct mm_pin_run run;
	unsigned long hps;
	uint8_t *p;

	NEED_HUGETLB(f, 2, hps);
	p = mmap(NULL, 2 * hps, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	assert_true(p != MAP_FAILED);
	memset(p, 0x33, 2 * hps);
	assert_int_equal(pin(f, p, 1, 0, &run), 1);
	mm_unpin_pages(f->mm, &run, 1, 0);
	assert_int_equal(pin(f, p + hps, 1, 0, &run), 1);
	mm_unpin_pages(f->mm, &run, 1, 0);
	/* less than a whole huge page inside: nothing punched */
	assert_int_equal(mm_foreign_madvise(f->mm, p + PG, 2 * hps - 2 * PG,
					    MADV_REMOVE, count_madvise),
			 0);
	assert_int_equal(p[PG], 0x33);
	assert_int_equal(p[hps + PG], 0x33);
	assert_int_equal(mm_foreign_madvise(f->mm, p + PG, 2 * hps - PG,
					    MADV_REMOVE, count_madvise),
			 0);
	assert_int_equal(p[PG], 0x33);
	assert_int_equal(p[hps + PG], 0);
	assert_int_equal(mm_foreign_munmap(f->mm, p, 2 * hps, count_munmap), 0);
}

/* mremap of adopted hugetlb memory, as the kernel's for hugetlb: the
 * address on a huge page boundary, no growth (-EINVAL, nothing changed);
 * lengths in whole huge pages (a shrink to one keeps its contents). */
static size_t mremap_old_len, mremap_new_len;

static void *log_mremap(void *addr, size_t old_len, size_t new_len, int flags,
			void *new_addr)
{
	mremap_old_len = old_len;
	mremap_new_len = new_len;
	return mremap(addr, old_len, new_len, flags, new_addr);
}

static void test_adopt_hugetlb_mremap(void **state)
{
	struct fixture *f = *state;
	struct mm_pin_run runs[2];
	unsigned int nr = 0;
	unsigned long hps;
	void *out = NULL;
	uint8_t *p;

	NEED_HUGETLB(f, 2, hps);
	p = mmap(NULL, 2 * hps, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	assert_true(p != MAP_FAILED);
	memset(p, 0x61, 2 * hps);
	assert_int_equal(mm_pin_pages(f->mm, (unsigned long)(p + hps - PG), 2,
				      0, runs, 2, &nr),
			 2);
	mm_unpin_pages(f->mm, runs, nr, 0);
	assert_int_equal(mm_foreign_mremap(f->mm, p + hps + PG, PG, PG, 0, NULL,
					   log_mremap, &out),
			 -EINVAL);
	assert_int_equal(mm_foreign_mremap(f->mm, p, 2 * hps, 3 * hps, 0, NULL,
					   log_mremap, &out),
			 -EINVAL);
	assert_int_equal(mremap_old_len, 0); /* the C library not called */
	assert_int_equal(p[hps + PG], 0x61);
	assert_int_equal(mm_foreign_mremap(f->mm, p, 2 * hps - PG, hps - PG, 0,
					   NULL, log_mremap, &out),
			 0);
	assert_ptr_equal(out, p);
	assert_int_equal(mremap_old_len, 2 * hps);
	assert_int_equal(mremap_new_len, hps);
	assert_int_equal(p[hps - 1], 0x61);
	assert_int_equal(munmap(p, hps), 0);
}

/* ---- private file mappings ---------------------------------------------- */

/* A file of n pages, page i filled with fill + i, at a path of its own
 * (not unlinked: a deleted file's mapping is not adopted). */
static int make_file(char *path, unsigned long n, int fill)
{
	uint8_t buf[PG];
	int fd;

	strcpy(path, "/tmp/uiommu-adopt-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	for (unsigned long i = 0; i < n; i++) {
		memset(buf, fill + (int)i, sizeof(buf));
		assert_int_equal(write(fd, buf, sizeof(buf)), (ssize_t)PG);
	}
	return fd;
}

/* Issue 15's ro_unshare: a read pin of a private writable file mapping
 * adopts it; the program's write goes to the pinned frame (the page the
 * IOMMU maps does not change) and never to the file; MADV_DONTNEED
 * gives the program the file's page back while the pinner keeps its
 * frame; MADV_FREE -EINVAL, MADV_REMOVE -EACCES. */
static void test_adopt_private_file(void **state)
{
	struct fixture *f = *state;
	struct mm_pin_run run, again;
	char path[64];
	uint8_t *p, *frame, b = 0;
	int fd = make_file(path, 4, 0x10);

	p = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	assert_true(p != MAP_FAILED);
	p[2 * PG] = 0x99; /* a private copy before the pin: adopted as is */
	assert_int_equal(pin(f, p + PG, 1, 0, &run), 1);
	frame = phys_to_virt(f->pm, run.pa);
	assert_int_equal(frame[0], 0x11);
	memset(p + PG, 1, PG); /* ro_unshare's write */
	assert_int_equal(frame[0], 1);
	assert_int_equal(pin(f, p + PG, 1, 0, &again), 1);
	assert_int_equal(again.pa, run.pa);
	mm_unpin_pages(f->mm, &again, 1, 0);
	assert_int_equal(p[0], 0x10);
	assert_int_equal(p[2 * PG], 0x99);
	assert_int_equal(pread(fd, &b, 1, PG), 1);
	assert_int_equal(b, 0x11); /* the file never saw the write */

	assert_int_equal(mm_foreign_madvise(f->mm, p, 4 * PG, MADV_FREE,
					    count_madvise),
			 -EINVAL);
	assert_int_equal(mm_foreign_madvise(f->mm, p, 4 * PG, MADV_REMOVE,
					    count_madvise),
			 -EACCES);
	assert_int_equal(mm_foreign_madvise(f->mm, p, 4 * PG, MADV_DONTNEED,
					    count_madvise),
			 0);
	assert_int_equal(p[PG], 0x11);
	assert_int_equal(p[2 * PG], 0x12);
	assert_int_equal(p[3 * PG + 5], 0x13);
	assert_int_equal(frame[0], 1); /* the pinner's frame */
	mm_unpin_pages(f->mm, &run, 1, 0);

	/* cut in the middle: both pieces still read their own pages back */
	p[0] = 0x77;
	p[3 * PG] = 0x77;
	assert_int_equal(mm_foreign_munmap(f->mm, p + PG, 2 * PG, count_munmap),
			 0);
	assert_int_equal(mm_foreign_madvise(f->mm, p + 3 * PG, PG,
					    MADV_DONTNEED, count_madvise),
			 0);
	assert_int_equal(p[3 * PG], 0x13);
	assert_int_equal(mm_foreign_madvise(f->mm, p, PG, MADV_DONTNEED,
					    count_madvise),
			 0);
	assert_int_equal(p[0], 0x10);
	assert_int_equal(mm_foreign_munmap(f->mm, p, 4 * PG, count_munmap), 0);
	close(fd);
	unlink(path);
}

/* A read-only private file mapping: read pins adopt it, write pins
 * -EFAULT; pages past the file's end and a shared file mapping are not
 * adopted (-EFAULT); nothing was adopted for them. */
static void test_adopt_file_refusals(void **state)
{
	struct fixture *f = *state;
	struct mm_pin_run run;
	struct mm_stats st;
	char path[64];
	uint8_t *ro, *big, *sh;
	int fd = make_file(path, 2, 0x20);

	ro = mmap(NULL, 2 * PG, PROT_READ, MAP_PRIVATE, fd, 0);
	assert_true(ro != MAP_FAILED);
	assert_int_equal(pin(f, ro, 1, MM_GUP_WRITE, &run), -EFAULT);
	assert_int_equal(pin(f, ro, 1, 0, &run), 1);
	assert_int_equal(*(uint8_t *)phys_to_virt(f->pm, run.pa), 0x20);
	mm_unpin_pages(f->mm, &run, 1, 0);
	assert_int_equal(pin(f, ro, 1, MM_GUP_WRITE, &run), -EFAULT);

	/* 4 pages mapped of a 2-page file */
	big = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	assert_true(big != MAP_FAILED);
	mm_get_stats(f->mm, &st);
	assert_int_equal(pin(f, big + PG, 2, 0, &run), -EFAULT);

	sh = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(sh != MAP_FAILED);
	assert_int_equal(pin(f, sh, 1, 0, &run), -EFAULT);
	{
		struct mm_stats st2;

		mm_get_stats(f->mm, &st2);
		assert_int_equal(st2.regions, st.regions);
	}
	assert_int_equal(mm_foreign_munmap(f->mm, ro, 2 * PG, count_munmap), 0);
	munmap(big, 4 * PG);
	munmap(sh, 2 * PG);
	close(fd);
	unlink(path);
}

/* Every failure of adopting a private file mapping (the file's record,
 * the region, its frames, the pin) leaves it the program's, unadopted. */
struct sweep_ctx {
	struct fixture *f;
	uint8_t *p;
	struct mm_pin_run run;
};

static int sweep_pin(void *ctx)
{
	struct sweep_ctx *c = ctx;

	return (int)pin(c->f, c->p, 2, 0, &c->run);
}

static void sweep_unpin(void *ctx)
{
	struct sweep_ctx *c = ctx;

	mm_unpin_pages(c->f->mm, &c->run, 1, 0);
}

static void sweep_check(void *ctx)
{
	struct sweep_ctx *c = ctx;
	struct mm_stats st;

	mm_get_stats(c->f->mm, &st);
	assert_int_equal(st.regions, 0);
	assert_int_equal(c->p[0], 0x40);
	assert_int_equal(c->p[PG], 0x41);
}

static void test_fail_sweep_adopt_file(void **state)
{
	struct fixture *f = *state;
	struct sweep_ctx c = {.f = f};
	char path[64];
	int fd = make_file(path, 2, 0x40);

	c.p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	assert_true(c.p != MAP_FAILED);
	assert_true(test_fail_sweep(sweep_pin, sweep_unpin, sweep_check, &c,
				    0) >= 3);
	assert_int_equal(c.p[PG], 0x41);
	assert_int_equal(mm_foreign_munmap(f->mm, c.p, 2 * PG, count_munmap),
			 0);
	close(fd);
	unlink(path);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

static const struct CMUnitTest tests[] = {
	T(test_adopt_hugetlb_private), T(test_adopt_hugetlb_across),
	T(test_adopt_hugetlb_shared),  T(test_adopt_hugetlb_mremap),
	T(test_adopt_private_file),    T(test_adopt_file_refusals),
	T(test_fail_sweep_adopt_file),
};

TEST_MAIN(tests)
