// SPDX-License-Identifier: MIT
/*
 * The CPU-cache view that non-snooping DMA sees (docs/mem.md, "The
 * CPU-cache view").  A device in a domain without cache coherency reads memory
 * behind the CPU caches, not the caches.
 *
 * Data model:
 *  - The direct map is the CPU's view: caches and memory together, always
 *    coherent with itself.  What the CPU writes is there at once.
 *  - "dram" is a second, sparse copy of physical memory: what the memory
 *    behind the caches holds.  It is all zero at first and changes only
 *    when the CPU writes its view back (cache_flush_phys(), the kernel's
 *    arch_flush_cache_phys()) and when a non-snooping device writes.
 *  - A non-snooping device reads dram (phys_access_checked_nc()).  So data
 *    the CPU wrote but did not write back is not what the device reads,
 *    and data an earlier owner of a frame wrote back (or a device wrote) is
 *    still there after the frame was freed and handed to someone else:
 *    freeing punches the CPU view, not dram.  That is what non-coherent
 *    DMA is about: a missing flush shows up as stale or leaked data, not
 *    only as a broken rule.
 *  - A device write reaches both views (the model does not keep stale CPU
 *    lines after device writes: the stale data that matters is what a
 *    device reads).
 *
 * dram is made on first use, so coherent systems never pay for it.
 * Locking: dram_lock guards its creation and every copy to or from it, so
 * a flush racing a device write gives one or the other, not torn C data
 * (on hardware the outcome of that race is as undefined); only
 * non-coherent DMA and flushes take it.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "phys.h"

static uint8_t *dram_get(struct phys_mem *pm)
{
	uint8_t *d = atomic_load_explicit(&pm->dram, memory_order_acquire);

	if (likely(d))
		return d;
	mutex_lock(&pm->dram_lock);
	d = atomic_load(&pm->dram);
	if (!d) {
		d = mmap(NULL, pm->size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (d == MAP_FAILED)
			d = NULL;
		else
			atomic_store_explicit(&pm->dram, d,
					      memory_order_release);
	}
	mutex_unlock(&pm->dram_lock);
	return d;
}

void cache_fini(struct phys_mem *pm)
{
	uint8_t *d = atomic_load(&pm->dram);

	if (d)
		munmap(d, pm->size);
	mutex_destroy(&pm->dram_lock);
}

static int range_ok(const struct phys_mem *pm, phys_addr_t pa, size_t len)
{
	phys_addr_t end;

	return len && !check_add_overflow(pa, (phys_addr_t)len - 1, &end) &&
	       phys_pa_valid(pm, pa) && phys_pa_valid(pm, end);
}

/* Copy len bytes between buf and the memory behind the caches at pa, which
 * the caller checked. */
static int dram_copy(struct phys_mem *pm, phys_addr_t pa, void *buf, size_t len,
		     bool to_dram)
{
	uint8_t *d = dram_get(pm);

	if (!d)
		return -ENOMEM;
	mutex_lock(&pm->dram_lock);
	if (to_dram)
		memcpy(d + (pa - pm->base), buf, len);
	else
		memcpy(buf, d + (pa - pm->base), len);
	mutex_unlock(&pm->dram_lock);
	return 0;
}

int cache_flush_phys(struct phys_mem *pm, phys_addr_t pa, size_t len)
{
	int ret;

	if (!len)
		return 0;
	if (!range_ok(pm, pa, len))
		return -EINVAL;
	ret = dram_copy(pm, pa, __phys_to_virt(pm, pa), len, true);
	if (ret)
		return ret;
	atomic_fetch_add_explicit(&pm->cache_flushes, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&pm->cache_flush_bytes, len,
				  memory_order_relaxed);
	return 0;
}

int cache_dram_read(struct phys_mem *pm, phys_addr_t pa, void *buf, size_t len)
{
	if (!range_ok(pm, pa, len))
		return -EINVAL;
	return dram_copy(pm, pa, buf, len, false);
}

int phys_access_checked_nc(struct phys_mem *pm, phys_addr_t pa, void *buf,
			   size_t len, bool write, uint64_t gen)
{
	int ret;

	if (!len)
		return 0;
	if (!dram_get(pm))
		return -ENOMEM;
	/* the same checks as a coherent access; a write reaches the CPU view
	 * there, a read is redone from dram below */
	ret = phys_access_checked(pm, pa, buf, len, write, gen);
	if (ret)
		return ret;
	ret = dram_copy(pm, pa, buf, len, write);
	if (ret)
		return ret;
	atomic_fetch_add_explicit(write ? &pm->nc_write_bytes
					: &pm->nc_read_bytes,
				  len, memory_order_relaxed);
	return 0;
}

void cache_get_stats(const struct phys_mem *pm, struct cache_stats *st)
{
	st->flushes = atomic_load(&pm->cache_flushes);
	st->flush_bytes = atomic_load(&pm->cache_flush_bytes);
	st->nc_read_bytes = atomic_load(&pm->nc_read_bytes);
	st->nc_write_bytes = atomic_load(&pm->nc_write_bytes);
}
