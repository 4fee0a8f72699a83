// SPDX-License-Identifier: MIT
/*
 * The user's dirty bitmap of IOMMU_HWPT_GET_DIRTY_BITMAP (the role of
 * Linux 6.12's drivers/iommu/iommufd/iova_bitmap.c; our own code): bit n
 * of the user's array (byte n / 8, bit n % 8: the kernel's little-endian
 * u64 words) stands for the granule [iova + n * page_size, + page_size).
 *
 * Objects and lifetimes: a struct iova_bitmap lives on the stack of one
 * iova_bitmap_for_each call.  It walks the user's bitmap in chunks of
 * IOVA_BITMAP_CHUNK bytes: each chunk is read from the user (-EFAULT),
 * handed to fn for its IOVA range, whose iova_bitmap_set calls OR bits
 * into it, and written back (-EFAULT), so bits the caller had set stay set
 * (the kernel sets bits in the user's pinned pages).  Any byte alignment
 * of the user's pointer works.
 *
 * Invariants: page_size is a power of two and iova, length are multiples
 * of it (the caller's checks, iommufd_check_iova_range); iova_bitmap_set
 * clamps to the current chunk.
 *
 * Locking: none of its own; fn runs under the caller's locks.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "iommufd/iommufd_private.h"
#include "lib/internal.h"
#include "lib/uaccess.h"

enum { IOVA_BITMAP_CHUNK = 4096 }; /* bytes of the user's bitmap per chunk */

struct iova_bitmap {
	unsigned int pgshift;	  /* log2(page_size) */
	unsigned long chunk_iova; /* the chunk's first granule */
	unsigned long chunk_last; /* the chunk's last byte of IOVA */
	uint8_t buf[IOVA_BITMAP_CHUNK];
};

void iova_bitmap_set(struct iova_bitmap *bitmap, unsigned long iova,
		     size_t length)
{
	unsigned long last, first_bit, last_bit;

	if (!length)
		return;
	last = iova + length - 1;
	if (last < iova)
		last = ULONG_MAX;
	if (last < bitmap->chunk_iova || iova > bitmap->chunk_last)
		return;
	iova = max(iova, bitmap->chunk_iova);
	last = min(last, bitmap->chunk_last);
	first_bit = (iova - bitmap->chunk_iova) >> bitmap->pgshift;
	last_bit = (last - bitmap->chunk_iova) >> bitmap->pgshift;
	for (unsigned long b = first_bit; b <= last_bit; b++)
		bitmap->buf[b / 8] |= (uint8_t)(1u << (b % 8));
}

int iova_bitmap_for_each(uint64_t iova, uint64_t length, uint64_t page_size,
			 uint64_t data, iova_bitmap_fn_t fn, void *opaque)
{
	struct iova_bitmap *bitmap;
	uint8_t *uptr = (uint8_t *)(uintptr_t)data;
	uint64_t nbits, bit;
	int ret = 0;

	if (!page_size || (page_size & (page_size - 1)))
		return -EINVAL;
	bitmap = ui_zalloc(sizeof(*bitmap));
	if (!bitmap)
		return -ENOMEM;
	bitmap->pgshift = (unsigned int)__builtin_ctzll(page_size);
	nbits = length >> bitmap->pgshift;
	for (bit = 0; bit < nbits && !ret;) {
		uint64_t n = min(nbits - bit, (uint64_t)IOVA_BITMAP_CHUNK * 8);
		size_t bytes = (size_t)DIV_ROUND_UP(n, 8);

		if (copy_from_user(bitmap->buf, uptr + bit / 8, bytes)) {
			ret = -EFAULT;
			break;
		}
		bitmap->chunk_iova = iova + (bit << bitmap->pgshift);
		bitmap->chunk_last =
			bitmap->chunk_iova + (n << bitmap->pgshift) - 1;
		ret = fn(bitmap, bitmap->chunk_iova, n << bitmap->pgshift,
			 opaque);
		if (!ret && copy_to_user(uptr + bit / 8, bitmap->buf, bytes))
			ret = -EFAULT;
		bit += n;
	}
	ui_free(bitmap);
	return ret;
}
