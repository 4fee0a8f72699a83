#!/usr/bin/env python3
# Write the seed corpus of tests/fuzz/fuzz_uapi.c into tests/fuzz/corpus/:
# small inputs, each a scenario in the harness's encoding (read it there).
# The regression seeds (crash-*, named after the finding) are kept as they
# are; run this again after changing the encoding.
import os
import struct
import sys

OPEN, CLOSE, SETC, SETIOMMU, GETDEV, MAP, UNMAP, DIRTY, SIMPLE, ANY, RW, \
    DMA, MMAP, BARUNMAP, DISCARD = range(15)

# slots fill in order: container 0, group 1, device 2 in setup()
C, G, D = 0, 1, 2
READ, WRITE, VADDR = 1, 2, 4
UNMAP_DIRTY, UNMAP_ALL, UNMAP_VADDR = 1, 2, 4
ANY_IOCTLS = ['GET_API_VERSION', 'CHECK_EXTENSION', 'SET_IOMMU',
              'GROUP_GET_STATUS', 'GROUP_SET_CONTAINER',
              'GROUP_UNSET_CONTAINER', 'GROUP_GET_DEVICE_FD',
              'DEVICE_GET_INFO', 'DEVICE_GET_REGION_INFO',
              'DEVICE_GET_IRQ_INFO', 'DEVICE_SET_IRQS', 'DEVICE_RESET',
              'GET_PCI_HOT_RESET_INFO', 'DEVICE_FEATURE', 'IOMMU_GET_INFO',
              'MAP_DMA', 'UNMAP_DMA', 'DIRTY_PAGES', 'ENABLE_IOPF']
DEVS = ['dma0', 'e', 'f', 'n', 'w']


def hdr(cap=False, limit=2, order=0, adopt=False):
    return bytes([(0x80 if cap else 0) | (0x40 if adopt else 0) | limit,
                  order])


def setup(group=0, dev='dma0', iommu_type=0):
    """container, group, SET_CONTAINER, SET_IOMMU (v2), device fd"""
    return bytes([OPEN, 0, OPEN, 0x40 + group, SETC, G, C, 0,
                  SETIOMMU, C, iommu_type, GETDEV, G, DEVS.index(dev)])


def iova_sel(base_idx, page):
    return base_idx | (page << 3)


def map_(flags=READ | WRITE, base=1, page=0, region=0, off=0, pages=4):
    return bytes([MAP, C, flags, iova_sel(base, page), region, off,
                  pages - 1])


def unmap(flags=0, base=1, page=0, pages=4, extra=b''):
    return bytes([UNMAP, C, flags, iova_sel(base, page), pages - 1]) + extra


def dma(src_page, dst_page, pages, base=1, fd=D):
    return bytes([DMA, fd, iova_sel(base, src_page), iova_sel(base, dst_page),
                  pages - 1, 0x40])


def dirty(flag, base=1, page=0, pages=4):
    # flag: 0 start, 1 stop, 2 get bitmap
    return bytes([DIRTY, C, flag, iova_sel(base, page), pages - 1])


def any_ioctl(fd, name, payload):
    return bytes([ANY, fd, ANY_IOCTLS.index(name), 0, (len(payload) + 1) // 2]) \
        + payload


def u32(*v):
    return struct.pack('<' + 'I' * len(v), *v)


seeds = {
    'setup': hdr() + setup(),
    'setup-v1': hdr() + setup(iommu_type=1),
    'setup-nesting': hdr() + setup(iommu_type=2),
    'map-unmap': hdr() + setup() + map_() + unmap(),
    'map-dma-unmap': hdr() + setup() + map_(pages=8) + dma(0, 4, 4) + unmap(pages=8),
    'dma-fault': hdr() + setup() + map_(pages=2) + dma(0, 1, 2),
    'map-huge': hdr() + setup() + map_(region=1, pages=240, base=3) +
    dma(0, 16, 16, base=3),
    'map-rdonly-write': hdr() + setup() + map_(flags=WRITE, region=2),
    'map-rdonly-read': hdr() + setup() + map_(flags=READ, region=2, pages=4),
    'map-overlap': hdr() + setup() + map_() + map_(page=2) + unmap(page=1, pages=2),
    'map-nomem': hdr(cap=False, limit=0) + setup() + map_(region=1, pages=240),
    'map-cap': hdr(cap=True, limit=3) + setup() + map_(region=1, pages=240),
    'map-before-iommu': hdr() + bytes([OPEN, 0, OPEN, 0x40, SETC, G, C, 0]) +
    map_() + bytes([SETIOMMU, C, 0]) + map_(),
    'map-then-attach': hdr() + bytes([OPEN, 0, OPEN, 0x40, OPEN, 0x41, SETC, G, C, 0,
                                      SETIOMMU, C, 0]) + map_() +
    bytes([SETC, 2, C, 0]),
    'unmap-all': hdr() + setup() + map_() + map_(page=8) +
    unmap(flags=UNMAP_ALL | 0x30),
    'dirty-start-get-stop': hdr() + setup() + map_() + dirty(0) +
    dma(0, 2, 1) + dirty(2) + dirty(1),
    'dirty-unmap-bitmap': hdr() + setup() + map_() + dirty(0) +
    unmap(flags=UNMAP_DIRTY),
    'vaddr-update': hdr() + setup() + map_() + unmap(flags=UNMAP_VADDR) +
    map_(flags=VADDR, off=4) + dma(0, 1, 1),
    'vaddr-invalid-dma': hdr() + setup() + map_() + unmap(flags=UNMAP_VADDR) +
    dma(0, 1, 1),
    'discard-pinned': hdr() + setup() + map_() + bytes([DISCARD, 0, 0, 3]) +
    dma(0, 2, 2),
    'munmap-pinned': hdr() + setup() + map_() + bytes([DISCARD, 0x80, 0, 3]) +
    dma(0, 2, 2) + unmap(),
    'iopf': hdr() + setup(group=1, dev='e') + bytes([SIMPLE, C, 0]) + map_() +
    dma(0, 2, 2) + unmap(),
    'iopf-pri-discard': hdr() + setup(group=1, dev='f') + bytes([SIMPLE, C, 0]) +
    map_(pages=8) + dma(0, 4, 4) + bytes([DISCARD, 0, 0, 7]) + dma(0, 4, 4),
    'iopf-dirty': hdr() + setup(group=1, dev='e') + bytes([SIMPLE, C, 0]) + map_() +
    dirty(0) + dma(0, 2, 2) + dirty(2) + unmap(flags=UNMAP_DIRTY),
    'noncoherent': hdr() + setup(group=2, dev='n') + map_() + dma(0, 2, 2),
    'threaded-iopf': hdr() + setup(group=3, dev='w') + bytes([SIMPLE, C, 0]) +
    map_() + dma(0, 2, 2),
    'regs-rw': hdr() + setup() + bytes([RW, D, 1, 0, 0, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8,
                                        RW, D, 0, 0, 0, 0, 0x30,
                                        RW, D, 0, 1, 0, 0, 16]),
    'regs-lseek-read': hdr() + setup() + bytes([RW, D, 0x0a, 0, 0x10, 0, 8,
                                                RW, D, 0x07, 0, 8, 0, 8]),
    'bar-mmap': hdr() + setup() + bytes([MMAP, D, 0x07, 1, 3, MMAP, D, 0x07, 0, 0,
                                         BARUNMAP, 0]),
    'bar-mmap-private': hdr() + setup() + bytes([MMAP, D, 0x0f, 1, 3]),
    'region-info': hdr() + setup() + any_ioctl(D, 'DEVICE_GET_REGION_INFO',
                                              u32(32, 0, 1, 0)),
    'region-info-bad-index': hdr() + setup() + any_ioctl(
        D, 'DEVICE_GET_REGION_INFO', u32(32, 0, 0xffffffff, 0)),
    'device-info': hdr() + setup() + any_ioctl(D, 'DEVICE_GET_INFO', u32(24)),
    'iommu-info': hdr() + setup() + any_ioctl(C, 'IOMMU_GET_INFO', u32(512)),
    'set-irqs': hdr() + setup() + any_ioctl(D, 'DEVICE_SET_IRQS',
                                           u32(20, 0x21, 0, 0, 0)),
    'device-feature': hdr() + setup() + any_ioctl(D, 'DEVICE_FEATURE',
                                                 u32(8, 0x10000)),
    'get-device-fd-null': hdr() + bytes([OPEN, 0, OPEN, 0x40, SETC, G, C, 0,
                                         SETIOMMU, C, 0, GETDEV, G, 0xff]),
    'close-group-first': hdr(order=0) + setup() + map_() + bytes([CLOSE, G]) +
    dma(0, 2, 1) + bytes([CLOSE, C]),
    'close-container-first': hdr() + setup() + map_() + bytes([CLOSE, C]) +
    dma(0, 2, 1),
    'close-reverse': hdr(order=1) + setup() + map_() + setup(group=1, dev='e'),
    'two-containers': hdr() + setup() + bytes([OPEN, 0, OPEN, 0x41, SETC, 4, 3, 0,
                                               SETIOMMU, 3, 0]) + map_(),
    'adopt-map-dma': hdr(adopt=True) + setup() + map_(region=3, pages=8) +
    dma(0, 4, 4) + bytes([DISCARD, 3, 0, 3]) + dma(0, 4, 4) + unmap(pages=8),
    'adopt-too-long': hdr(adopt=True) + setup() + map_(region=3, pages=32),
    'foreign-no-adopt': hdr() + setup() + map_(region=3, pages=2),
    'reset-unset': hdr() + setup() + bytes([SIMPLE, D, 3, CLOSE, D, SIMPLE, G, 2]),
}

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus')
os.makedirs(out, exist_ok=True)
for f in os.listdir(out):
    if not f.startswith('crash-'):
        os.remove(os.path.join(out, f))
for name, data in seeds.items():
    with open(os.path.join(out, name), 'wb') as fh:
        fh.write(data)
print(f'{len(seeds)} seeds in {out}', file=sys.stderr)
