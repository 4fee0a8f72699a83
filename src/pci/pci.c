// SPDX-License-Identifier: MIT
/*
 * PCI functions: creation from a description, the BARs' accesses and the
 * option ROM, and function-level reset.
 *
 * Data model.  A function keeps a copy of its description (the BARs'
 * sizes, flags and plain-memory ranges never change after creation).  A
 * BAR access, once checked (a BAR that exists, width 1, 2, 4 or 8, aligned,
 * inside the BAR, Memory Space enabled), goes to one of three places: the
 * MSI-X table or PBA (pci_irq.c), a plain-memory range (the model's bytes,
 * copied directly: what a later mmap maps), or the model's bar_read/
 * bar_write for its registers.
 *
 * Invariants.  A created function has a well-formed description: BAR
 * sizes powers of two, a 64-bit BAR's upper half unused, plain-memory
 * ranges page-aligned, inside their BAR and clear of the MSI-X table and
 * PBA, which lie inside their BARs and clear of each other.
 *
 * Locking.  fn->lock is held to read the Command register and by the
 * MSI-X accesses; the model's ops and the plain memory are reached
 * without it (the model guards its registers itself), so a model's op may
 * fire interrupts.  Reset restores the defaults under the lock and then
 * calls the model's reset op without it.
 */
#include "pci/pci_internal.h"

#define PCI_PAGE_SIZE 4096ULL

static bool is_pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

static bool bar_usable(const struct pci_function_desc *d, unsigned int bar)
{
	return bar < PCI_NUM_BARS && d->bar[bar].size;
}

static int check_mmap(const struct pci_function_desc *d, unsigned int i)
{
	const struct pci_bar_desc *b = &d->bar[i];

	if (b->nr_mmap > PCI_BAR_MAX_MMAP)
		return -EINVAL;
	for (unsigned int j = 0; j < b->nr_mmap; j++) {
		const struct pci_bar_mmap *m = &b->mmap[j];

		if (!m->size || !m->mem || m->offset % PCI_PAGE_SIZE ||
		    m->size % PCI_PAGE_SIZE || m->offset > b->size ||
		    m->size > b->size - m->offset)
			return -EINVAL;
		if (pci_msix_overlaps(d, i, m->offset, m->size))
			return -EINVAL;
		for (unsigned int k = 0; k < j; k++)
			if (m->offset < b->mmap[k].offset + b->mmap[k].size &&
			    b->mmap[k].offset < m->offset + m->size)
				return -EINVAL;
	}
	return 0;
}

static int check_bars(const struct pci_function_desc *d)
{
	for (unsigned int i = 0; i < PCI_NUM_BARS; i++) {
		const struct pci_bar_desc *b = &d->bar[i];

		if (!b->size) {
			if (b->flags || b->nr_mmap)
				return -EINVAL;
			continue;
		}
		if (!is_pow2(b->size) || b->size < 16 ||
		    (b->flags & ~(PCI_BAR_F_64 | PCI_BAR_F_PREFETCH)))
			return -EINVAL;
		if (!(b->flags & PCI_BAR_F_64) && b->size > (1ULL << 31))
			return -EINVAL;
		if (check_mmap(d, i))
			return -EINVAL;
		if (b->flags & PCI_BAR_F_64) {
			/* the next BAR register is the upper half */
			if (i + 1 >= PCI_NUM_BARS || d->bar[i + 1].size ||
			    d->bar[i + 1].flags || d->bar[i + 1].nr_mmap)
				return -EINVAL;
			i++;
		}
	}
	return 0;
}

static bool inside_bar(const struct pci_function_desc *d, unsigned int bar,
		       uint64_t off, uint64_t len)
{
	return bar_usable(d, bar) && off <= d->bar[bar].size &&
	       len <= d->bar[bar].size - off;
}

static int check_desc(const struct pci_function_desc *d)
{
	if (d->int_pin > 4 || check_bars(d))
		return -EINVAL;
	for (unsigned int i = 0; i < PCI_NUM_BARS; i++)
		if (d->bar[i].size &&
		    (!d->ops || !d->ops->bar_read || !d->ops->bar_write))
			return -EINVAL;
	if (d->rom_size && (!is_pow2(d->rom_size) || d->rom_size < 2048 ||
			    d->rom_size > (1ULL << 31) || !d->rom))
		return -EINVAL;
	if (d->msi_vectors > PCI_MSI_MAX_VECTORS ||
	    (d->msi_vectors && !is_pow2(d->msi_vectors)) ||
	    (d->msi_pvm && !d->msi_vectors))
		return -EINVAL;
	if (d->msix_vectors) {
		uint64_t tlen = (uint64_t)d->msix_vectors * PCI_MSIX_ENTRY_SIZE;
		uint64_t plen = DIV_ROUND_UP(d->msix_vectors, 64) * 8;

		if (d->msix_vectors > PCI_MSIX_MAX_VECTORS ||
		    d->msix_table_off % 8 || d->msix_pba_off % 8 ||
		    !inside_bar(d, d->msix_table_bar, d->msix_table_off,
				tlen) ||
		    !inside_bar(d, d->msix_pba_bar, d->msix_pba_off, plen))
			return -EINVAL;
		if (d->msix_table_bar == d->msix_pba_bar &&
		    d->msix_table_off < d->msix_pba_off + plen &&
		    d->msix_pba_off < d->msix_table_off + tlen)
			return -EINVAL;
	}
	if (d->flr && !d->pcie)
		return -EINVAL;
	return 0;
}

int pci_function_create(const struct pci_function_desc *d,
			struct pci_function **out)
{
	struct pci_function *fn;
	int ret = check_desc(d);

	if (ret)
		return ret;
	fn = ui_zalloc(sizeof(*fn));
	if (!fn)
		return -ENOMEM;
	fn->desc = *d;
	mutex_init(&fn->lock, PCI_LOCK_FN);
	ret = pci_config_build(fn);
	if (ret)
		goto err_free;
	ret = pci_irq_init(fn);
	if (ret)
		goto err_free;
	*out = fn;
	return 0;

err_free:
	mutex_destroy(&fn->lock);
	ui_free(fn);
	return ret;
}

void pci_function_destroy(struct pci_function *fn)
{
	if (!fn)
		return;
	pci_irq_fini(fn);
	mutex_destroy(&fn->lock);
	ui_free(fn);
}

const struct pci_bar_desc *pci_bar(const struct pci_function *fn,
				   unsigned int bar)
{
	static const struct pci_bar_desc none;

	return bar < PCI_NUM_BARS ? &fn->desc.bar[bar] : &none;
}

static const struct pci_bar_mmap *find_mmap(const struct pci_function *fn,
					    unsigned int bar, uint64_t off,
					    uint64_t len)
{
	const struct pci_bar_desc *b = pci_bar(fn, bar);

	for (unsigned int i = 0; i < b->nr_mmap; i++) {
		const struct pci_bar_mmap *m = &b->mmap[i];

		if (off >= m->offset && off - m->offset <= m->size &&
		    len <= m->size - (off - m->offset))
			return m;
	}
	return NULL;
}

bool pci_bar_is_mmap(const struct pci_function *fn, unsigned int bar,
		     uint64_t off, uint64_t len)
{
	return len && find_mmap(fn, bar, off, len);
}

static int check_bar_access(struct pci_function *fn, unsigned int bar,
			    uint64_t off, unsigned int width)
{
	bool mem;

	if (width != 1 && width != 2 && width != 4 && width != 8)
		return -EINVAL;
	if (off % width || !inside_bar(&fn->desc, bar, off, width))
		return -EINVAL;
	mutex_lock(&fn->lock);
	mem = pci_memory_enabled(fn);
	mutex_unlock(&fn->lock);
	return mem ? 0 : -EIO;
}

static uint64_t width_mask(unsigned int width)
{
	return ~0ULL >> (64 - 8 * width);
}

int pci_bar_read(struct pci_function *fn, unsigned int bar, uint64_t off,
		 unsigned int width, uint64_t *val)
{
	const struct pci_bar_mmap *m;
	int ret = check_bar_access(fn, bar, off, width);

	if (ret)
		return ret;
	if (pci_msix_bar_read(fn, bar, off, width, val, &ret))
		return ret;
	m = find_mmap(fn, bar, off, width);
	if (m) {
		*val = pci_le_get((const uint8_t *)m->mem + (off - m->offset),
				  min(width, 4u));
		if (width == 8)
			*val |= (uint64_t)pci_le_get((const uint8_t *)m->mem +
							     (off - m->offset) +
							     4,
						     4)
				<< 32;
		return 0;
	}
	ret = fn->desc.ops->bar_read(fn->desc.priv, bar, off, width, val);
	if (!ret)
		*val &= width_mask(width);
	return ret;
}

int pci_bar_write(struct pci_function *fn, unsigned int bar, uint64_t off,
		  unsigned int width, uint64_t val)
{
	const struct pci_bar_mmap *m;
	int ret = check_bar_access(fn, bar, off, width);

	if (ret)
		return ret;
	val &= width_mask(width);
	if (pci_msix_bar_write(fn, bar, off, width, val, &ret))
		return ret;
	m = find_mmap(fn, bar, off, width);
	if (m) {
		uint8_t *p = (uint8_t *)m->mem + (off - m->offset);

		pci_le_put(p, min(width, 4u), (uint32_t)val);
		if (width == 8)
			pci_le_put(p + 4, 4, (uint32_t)(val >> 32));
		return 0;
	}
	return fn->desc.ops->bar_write(fn->desc.priv, bar, off, width, val);
}

size_t pci_rom_read(struct pci_function *fn, uint64_t off, void *buf,
		    size_t len)
{
	if (off >= fn->desc.rom_size)
		return 0;
	len = min(len, (size_t)(fn->desc.rom_size - off));
	memcpy(buf, (const uint8_t *)fn->desc.rom + off, len);
	return len;
}

uint64_t pci_rom_size(const struct pci_function *fn)
{
	return fn->desc.rom_size;
}

void pci_function_reset(struct pci_function *fn)
{
	mutex_lock(&fn->lock);
	pci_config_restore(fn);
	pci_irq_reset(fn);
	mutex_unlock(&fn->lock);
	if (fn->desc.ops && fn->desc.ops->reset)
		fn->desc.ops->reset(fn->desc.priv);
}
