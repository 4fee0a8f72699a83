// SPDX-License-Identifier: MIT
/*
 * Tests of the DMA sanitizer's core (src/sanitizer/, issue 16), in
 * process; tests/sanitizer/check.sh runs its programs under `uiommu exec`.
 *  - options: ASan's name=value:name=value form, the defaults, an unknown
 *    name or a bad value warned about on one line each and ignored;
 *  - uiommu_sanitize(): -1 and EBUSY once a system is built with the
 *    sanitizer off; on before it, it stays on;
 *  - mapping history: a bounded ring of MAP/UNMAP events with sequence
 *    numbers; the lookup finds the latest MAP covering an IOVA and the
 *    UNMAP that ended it, and no UNMAP of an older mapping; the stack
 *    the fd front captured at the call's entry is the one recorded;
 *  - stacks: captured at the call, symbolized with libdw, the library's
 *    own frames skipped: the first frame is the caller;
 *  - reports through the in-process callback: a copy into an unmapped
 *    IOVA is one dma-unmapped report naming the device, its stream id,
 *    the IOVA, the access, and the function that unmapped too early; a
 *    write through a read-only mapping is dma-permission naming the
 *    function that mapped it; a good copy reports nothing; the summary's
 *    exit status is exitcode once anything was reported;
 *  - the endpoint's fault path (every device model's DMA): an aborting
 *    stream (no domain) is dma-unmapped without a history, a translation
 *    fault in a domain is dma-unmapped with the domain's history, a write
 *    through a read-only mapping dma-permission, with the bus's name and
 *    stream id; with the sanitizer off nothing is reported.
 */
#include "helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <uiommu/uapi.h>
#include "devices/devices.h"
#include "iommu/bus.h"
#include "sanitizer/sanitizer.h"

/* ---- options ------------------------------------------------------------ */

static void test_options_parse(void **state)
{
	struct san_options o;
	char *warn = NULL;
	size_t len = 0;
	FILE *f;

	san_options_default(&o);
	assert_false(o.halt_on_error);
	assert_int_equal(o.exitcode, 1);
	assert_int_equal(o.history_size, SAN_HISTORY_DEFAULT);
	assert_string_equal(o.log_path, "");

	assert_int_equal(san_options_parse("halt_on_error=1:exitcode=23,"
					   "history_size=16 log_path=/tmp/x",
					   &o, NULL),
			 0);
	assert_true(o.halt_on_error);
	assert_int_equal(o.exitcode, 23);
	assert_int_equal(o.history_size, 16);
	assert_string_equal(o.log_path, "/tmp/x");

	/* each bad pair is one warning line and changes nothing */
	san_options_default(&o);
	f = open_memstream(&warn, &len);
	assert_int_equal(san_options_parse("foo=1:exitcode=300:history_size=0:"
					   "halt_on_error=2:noequals:"
					   "exitcode=4",
					   &o, f),
			 5);
	fclose(f);
	assert_non_null(strstr(warn, "UIOMMU_OPTIONS: foo=1\n"));
	assert_non_null(strstr(warn, "UIOMMU_OPTIONS: exitcode=300\n"));
	assert_non_null(strstr(warn, "UIOMMU_OPTIONS: history_size=0\n"));
	assert_non_null(strstr(warn, "UIOMMU_OPTIONS: halt_on_error=2\n"));
	assert_non_null(strstr(warn, "UIOMMU_OPTIONS: noequals\n"));
	free(warn);
	assert_int_equal(o.exitcode, 4);
	assert_int_equal(o.history_size, SAN_HISTORY_DEFAULT);
	assert_false(o.halt_on_error);
	/* empty pairs are nothing */
	assert_int_equal(san_options_parse("::,,", &o, NULL), 0);
}

/* ---- the switch --------------------------------------------------------- */

static void test_sanitize_ebusy_after_build(void **state)
{
	assert_false(san_enabled());
	assert_int_equal(uiommu_system_init(NULL), 0);
	errno = 0;
	assert_int_equal(uiommu_sanitize(NULL, NULL), -1);
	assert_int_equal(errno, EBUSY);
	assert_false(san_enabled());
	assert_int_equal(uiommu_system_exit(), 0);
	/* before a system: on, and it stays on */
	assert_int_equal(uiommu_sanitize(NULL, NULL), 0);
	assert_true(san_enabled());
	assert_int_equal(uiommu_system_init(NULL), 0);
	assert_int_equal(uiommu_sanitize(NULL, NULL), 0);
	assert_int_equal(uiommu_system_exit(), 0);
}

/* ---- history ------------------------------------------------------------ */

static void test_history_ring(void **state)
{
	unsigned int size = san_get_options()->history_size;
	struct san_space *s = san_space_create("test space");
	struct san_lookup l;

	assert_non_null(s);
	/* size + 10 maps of pages 0, 1, ...: the first 10 rotated out */
	for (unsigned int i = 0; i < size + 10; i++)
		san_space_record(s, SAN_EV_MAP, (uint64_t)i << 12, 4096,
				 0x10000000 + ((uint64_t)i << 12),
				 SAN_PROT_READ);
	san_space_lookup(s, 9ull << 12, &l);
	assert_false(l.have_map);
	assert_int_equal(l.seq, size + 10);
	assert_string_equal(l.what, "test space");
	san_space_lookup(s, (10ull << 12) + 123, &l);
	assert_true(l.have_map);
	assert_int_equal(l.map.seq, 11);
	assert_int_equal(l.map.iova, 10ull << 12);
	assert_int_equal(l.map.vaddr, 0x10000000 + (10ull << 12));
	assert_int_equal(l.map.prot, SAN_PROT_READ);
	san_space_destroy(s);
	/* NULL: nothing recorded, nothing found */
	san_space_record(NULL, SAN_EV_MAP, 0, 4096, 0, 0);
	san_space_lookup(NULL, 0, &l);
	assert_false(l.have_map || l.have_unmap);
	assert_null(l.what);
}

static void test_history_lookup(void **state)
{
	struct san_space *s = san_space_create("test space");
	struct san_lookup l;

	san_space_record(s, SAN_EV_MAP, 0x1000, 0x2000, 0xa000,
			 SAN_PROT_READ | SAN_PROT_WRITE);	      /* 1 */
	san_space_record(s, SAN_EV_UNMAP, 0x1000, 0x2000, 0xa000, 0); /* 2 */
	san_space_record(s, SAN_EV_MAP, 0x8000, 0x1000, 0xc000,
			 SAN_PROT_READ); /* 3 */
	/* 0x2000: mapped by 1, unmapped by 2 */
	san_space_lookup(s, 0x2fff, &l);
	assert_true(l.have_map && l.have_unmap);
	assert_int_equal(l.map.seq, 1);
	assert_int_equal(l.unmap.seq, 2);
	assert_int_equal(l.seq, 3);
	/* mapped again (4): the current mapping, no unmap */
	san_space_record(s, SAN_EV_MAP, 0x2000, 0x1000, 0xd000,
			 SAN_PROT_READ); /* 4 */
	san_space_lookup(s, 0x2000, &l);
	assert_true(l.have_map);
	assert_false(l.have_unmap);
	assert_int_equal(l.map.seq, 4);
	/* just past a range: not covered */
	san_space_lookup(s, 0x3000, &l);
	assert_false(l.have_map || l.have_unmap);
	/* a stack the fd front captured at the call is the one stored */
	{
		struct san_stack front = {
			.depth = 2, .pc = {(void *)0x1234, (void *)0x5678}};

		san_call_stack = &front;
		san_space_record(s, SAN_EV_UNMAP, 0x2000, 0x1000, 0xd000, 0);
		san_call_stack = NULL;
		san_space_lookup(s, 0x2000, &l);
		assert_true(l.have_unmap);
		assert_int_equal(l.unmap.seq, 5);
		assert_int_equal(l.unmap.stack.depth, 2);
		assert_ptr_equal(l.unmap.stack.pc[1], (void *)0x5678);
	}
	san_space_destroy(s);
}

/* ---- stacks ------------------------------------------------------------- */

static __attribute__((noinline)) void
stack_capturing_caller(struct san_stack *st)
{
	san_stack_capture(st);
	__asm__ volatile("" ::: "memory"); /* not a tail call */
}

static void test_stack_names_the_caller(void **state)
{
	struct san_stack st;
	char top[64], *text = NULL;
	size_t len = 0;
	FILE *f;

	stack_capturing_caller(&st);
	assert_true(st.depth >= 2);
	san_stack_top(&st, top, sizeof(top));
	assert_string_equal(top, "stack_capturing_caller");
	f = open_memstream(&text, &len);
	san_stack_print(f, &st);
	fclose(f);
	assert_non_null(strstr(text, "    #0 0x"));
	assert_non_null(strstr(text, " in stack_capturing_caller "));
	assert_non_null(strstr(text, "test_sanitizer.c:"));
	assert_non_null(strstr(text, " in test_stack_names_the_caller "));
	free(text);
}

/* ---- reports through the in-process callback ---------------------------- */

struct seen {
	int n;
	char kind[32], device[32], text[8192];
	uint32_t sid;
	int write;
	uint64_t iova, len;
};

static void on_report(const struct uiommu_dma_report *r, void *arg)
{
	struct seen *s = arg;

	s->n++;
	snprintf(s->kind, sizeof(s->kind), "%s", r->kind);
	snprintf(s->device, sizeof(s->device), "%s", r->device);
	snprintf(s->text, sizeof(s->text), "%s", r->text);
	s->sid = r->sid;
	s->write = r->write;
	s->iova = r->iova;
	s->len = r->len;
}

struct fx {
	int c, g, d;
	uint8_t *buf;
};

#define SRC 0x100000ull
#define DST 0x200000ull

static void fx_map(struct fx *f, uint64_t iova, void *p, uint32_t flags)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = flags,
		.vaddr = (uintptr_t)p,
		.iova = iova,
		.size = 4096,
	};

	assert_int_equal(uiommu_ioctl(f->c, VFIO_IOMMU_MAP_DMA, &map), 0);
}

static void fx_unmap(struct fx *f, uint64_t iova)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.iova = iova,
		.size = 4096,
	};

	assert_int_equal(uiommu_ioctl(f->c, VFIO_IOMMU_UNMAP_DMA, &unmap), 0);
}

static uint32_t fx_copy(struct fx *f)
{
	uint64_t src = SRC, dst = DST, len = 4096;
	uint32_t one = 1, status = 0;

	uiommu_pwrite(f->d, &src, 8, DMAENGINE_REG_SRC);
	uiommu_pwrite(f->d, &dst, 8, DMAENGINE_REG_DST);
	uiommu_pwrite(f->d, &len, 8, DMAENGINE_REG_LEN);
	uiommu_pwrite(f->d, &one, 4, DMAENGINE_REG_DOORBELL);
	uiommu_pread(f->d, &status, 4, DMAENGINE_REG_STATUS);
	return status;
}

static void fx_open(struct fx *f, struct seen *seen)
{
	memset(seen, 0, sizeof(*seen));
	assert_int_equal(uiommu_sanitize(on_report, seen), 0);
	san_reset();
	assert_int_equal(uiommu_sanitize(on_report, seen), 0);
	f->c = uiommu_open("/dev/vfio/vfio", O_RDWR);
	f->g = uiommu_open("/dev/vfio/0", O_RDWR);
	assert_true(f->c >= 0 && f->g >= 0);
	assert_int_equal(uiommu_ioctl(f->g, VFIO_GROUP_SET_CONTAINER, &f->c),
			 0);
	assert_int_equal(uiommu_ioctl(f->c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU),
			 0);
	f->d = uiommu_ioctl(f->g, VFIO_GROUP_GET_DEVICE_FD, "dma0");
	assert_true(f->d >= 0);
	f->buf = uiommu_mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(f->buf != MAP_FAILED);
	memset(f->buf, 0x5a, 4096);
}

static void fx_close(struct fx *f)
{
	uiommu_close(f->d);
	uiommu_close(f->g);
	uiommu_close(f->c);
	uiommu_munmap(f->buf, 2 * 4096);
	assert_int_equal(uiommu_sanitize(NULL, NULL), 0);
	san_reset();
	assert_int_equal(uiommu_system_exit(), 0);
}

/* the bug of the report below */
static __attribute__((noinline)) void unmap_too_early(struct fx *f)
{
	fx_unmap(f, DST);
	__asm__ volatile("" ::: "memory");
}

static void test_report_unmapped(void **state)
{
	struct seen seen;
	struct fx f;

	fx_open(&f, &seen);
	fx_map(&f, SRC, f.buf, VFIO_DMA_MAP_FLAG_READ);
	fx_map(&f, DST, f.buf + 4096,
	       VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE);
	assert_int_equal(fx_copy(&f), DMAENGINE_STATUS_DONE);
	assert_int_equal(seen.n, 0); /* a good copy: nothing */
	unmap_too_early(&f);
	assert_int_equal(fx_copy(&f), DMAENGINE_STATUS_ERROR);
	assert_int_equal(seen.n, 1);
	assert_string_equal(seen.kind, "dma-unmapped");
	assert_string_equal(seen.device, "dma0");
	assert_int_equal(seen.sid, 1);
	assert_int_equal(seen.write, 1);
	assert_int_equal(seen.iova, DST);
	assert_int_equal(seen.len, 4096);
	assert_int_equal(san_kind_count(SAN_KIND_UNMAPPED), 1);
	assert_int_equal(san_error_count(), 1);
	assert_non_null(strstr(seen.text, "uiommu: ERROR: dma-unmapped on dma0 "
					  "write 4096 bytes at IOVA "
					  "0x200000\n"));
	assert_non_null(strstr(seen.text, "IOVA unmapped by UNMAP #3 of IOVA "
					  "[0x200000, 0x201000) in the type1 "
					  "container, at:\n"));
	assert_non_null(strstr(seen.text, " in unmap_too_early "));
	assert_non_null(strstr(seen.text, "earlier mapped by MAP #2 "));
	assert_non_null(strstr(seen.text, "started by the DOORBELL register"));
	/* the summary's exit status */
	assert_int_equal(san_summary(), 1);
	fx_unmap(&f, SRC);
	fx_close(&f);
	assert_int_equal(san_summary(), 0);
}

/* the bug of the report below */
static __attribute__((noinline)) void map_dst_read_only(struct fx *f)
{
	fx_map(f, DST, f->buf + 4096, VFIO_DMA_MAP_FLAG_READ);
	__asm__ volatile("" ::: "memory");
}

static void test_report_permission(void **state)
{
	struct seen seen;
	struct fx f;

	fx_open(&f, &seen);
	fx_map(&f, SRC, f.buf, VFIO_DMA_MAP_FLAG_READ);
	map_dst_read_only(&f);
	assert_int_equal(fx_copy(&f), DMAENGINE_STATUS_ERROR);
	assert_int_equal(seen.n, 1);
	assert_string_equal(seen.kind, "dma-permission");
	assert_int_equal(seen.iova, DST);
	assert_int_equal(seen.write, 1);
	assert_int_equal(san_kind_count(SAN_KIND_PERMISSION), 1);
	assert_non_null(strstr(seen.text, "F_PERMISSION"));
	assert_non_null(strstr(seen.text, "IOVA mapped by MAP #2 of IOVA "
					  "[0x200000, 0x201000) in the type1 "
					  "container -> host 0x"));
	assert_non_null(strstr(seen.text, "(device may read), at:\n"));
	assert_non_null(strstr(seen.text, " in map_dst_read_only "));
	fx_unmap(&f, DST);
	fx_unmap(&f, SRC);
	fx_close(&f);
}

struct caught {
	int n;
	enum san_kind kind;
	char device[32], text[4096];
	uint32_t sid;
	bool write;
	uint64_t iova;
};

static void on_san_report(const struct san_report_info *r, void *arg)
{
	struct caught *c = arg;

	c->n++;
	c->kind = !strcmp(r->kind, "dma-permission") ? SAN_KIND_PERMISSION
						     : SAN_KIND_UNMAPPED;
	snprintf(c->device, sizeof(c->device), "%s", r->device);
	snprintf(c->text, sizeof(c->text), "%s", r->text);
	c->sid = r->sid;
	c->write = r->write;
	c->iova = r->iova;
}

static void test_endpoint_fault_paths(void **state)
{
	struct platform *p;
	struct bus_device bd;
	struct iommu_domain *d;
	struct san_space *space;
	struct caught c = {0};
	uint8_t buf[64] = {0};
	phys_addr_t pa;

	assert_true(san_enabled());
	san_reset();
	san_set_report_fn(on_san_report, &c);
	assert_int_equal(platform_create(NULL, &p), 0);
	assert_int_equal(bus_device_add(&bd, p->hw, p->iommu, "plat0", 3, 0, 0),
			 0);
	/* no domain: the stream aborts */
	assert_int_equal(endpoint_dma_write(bd.hw, 0x1000, buf, 64), -EFAULT);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.kind, SAN_KIND_UNMAPPED);
	assert_string_equal(c.device, "plat0");
	assert_int_equal(c.sid, 3);
	assert_true(c.write);
	assert_int_equal(c.iova, 0x1000);
	assert_non_null(strstr(c.text, "the SMMU answered abort (the stream "
				       "is attached to no translation)"));
	assert_non_null(strstr(c.text, "no mapping history"));

	/* a domain whose owner keeps a history */
	space = san_space_create("test space");
	d = iommu_domain_alloc(&bd.dev);
	assert_non_null(d);
	d->san_space = space;
	assert_int_equal(iommu_attach_device(d, &bd.dev), 0);
	assert_int_equal(phys_alloc_pages(p->pm, 0, 0, 1, &pa), 0);
	assert_int_equal(
		iommu_map(d, 0x1000, pa, 4096, IOMMU_READ | IOMMU_CACHE), 0);
	san_space_record(space, SAN_EV_MAP, 0x1000, 4096, 0, SAN_PROT_READ);
	assert_int_equal(endpoint_dma_read(bd.hw, 0x1000, buf, 64), 0);
	assert_int_equal(c.n, 1); /* a good read: nothing */
	assert_int_equal(endpoint_dma_write(bd.hw, 0x1010, buf, 64), -EFAULT);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.kind, SAN_KIND_PERMISSION);
	assert_int_equal(c.iova, 0x1010);
	assert_non_null(strstr(c.text, "uiommu: ERROR: dma-permission on plat0 "
				       "write 64 bytes at IOVA 0x1010\n"));
	assert_non_null(strstr(c.text, "IOVA mapped by MAP #1 of IOVA "
				       "[0x1000, 0x2000) in the test space"));
	assert_int_equal(endpoint_dma_read(bd.hw, 0x5000, buf, 8), -EFAULT);
	assert_int_equal(c.n, 3);
	assert_int_equal(c.kind, SAN_KIND_UNMAPPED);
	assert_false(c.write);
	assert_non_null(strstr(c.text, "F_TRANSLATION"));
	assert_non_null(strstr(c.text, "no MAP of IOVA 0x5000 in the test "
				       "space's last"));
	/* off: the same fault reports nothing */
	san_set_enabled(false);
	assert_int_equal(endpoint_dma_read(bd.hw, 0x5000, buf, 8), -EFAULT);
	san_set_enabled(true);
	assert_int_equal(c.n, 3);
	assert_int_equal(san_error_count(), 3);

	iommu_unmap(d, 0x1000, 4096);
	iommu_detach_device(d, &bd.dev);
	iommu_domain_free(d);
	phys_free_pages(p->pm, pa, 0);
	bus_device_remove(&bd);
	platform_destroy(p);
	san_space_destroy(space);
	san_reset();
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_options_parse),
	/* first: the sanitizer is still off */
	cmocka_unit_test(test_sanitize_ebusy_after_build),
	cmocka_unit_test(test_history_ring),
	cmocka_unit_test(test_history_lookup),
	cmocka_unit_test(test_stack_names_the_caller),
	cmocka_unit_test(test_report_unmapped),
	cmocka_unit_test(test_report_permission),
	cmocka_unit_test(test_endpoint_fault_paths),
};

TEST_MAIN(tests)
