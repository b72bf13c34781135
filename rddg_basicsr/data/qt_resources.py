"""Files inside a compiled Qt resource bundle (``.rcc``), read without Qt.

GCompris (Debian's ``gcompris-qt-data``) ships its photographs in such bundles. The format (Qt's ``rcc``, versions
1-3): a 20-byte big-endian header ``b'qres'``, version, and the offsets of the tree, data and names sections. Tree
entries are 14 bytes (22 from version 2: a modification time follows): name offset (u32), flags (u16), then for a
directory the child count and first child index (u32, u32), for a file country and language (u16, u16) and the data
offset (u32). A data record is its size (u32) and bytes; flag 1 marks zlib (the bytes start with the inflated size,
u32), flag 4 zstd. A name record is its length in UTF-16 units (u16), a hash (u32) and the UTF-16BE name.
"""
import struct
import zlib

FLAG_ZLIB, FLAG_DIRECTORY, FLAG_ZSTD = 1, 2, 4


def read_rcc(path):
    """Every file of the bundle ``path``: ``{'folder/name.ext': bytes}`` (paths relative to the bundle's root, '/'
    separated). ValueError names the file when it is no Qt resource bundle or holds zstd data."""
    with open(path, 'rb') as f:
        blob = f.read()
    if blob[:4] != b'qres' or len(blob) < 20:
        raise ValueError(f'{path}: not a Qt resource bundle (no "qres" header)')
    version, tree, data, names = struct.unpack('>IIII', blob[4:20])
    entry_size = 14 if version == 1 else 22

    def name_at(offset):
        length, = struct.unpack_from('>H', blob, names + offset)
        return blob[names + offset + 6:names + offset + 6 + 2 * length].decode('utf-16-be')

    files = {}
    stack = [(0, '')]
    while stack:
        index, prefix = stack.pop()
        base = tree + index * entry_size
        name_offset, flags = struct.unpack_from('>IH', blob, base)
        name = prefix + name_at(name_offset) if index else ''
        if flags & FLAG_DIRECTORY:
            count, first = struct.unpack_from('>II', blob, base + 6)
            stack.extend((first + k, name + '/' if name else '') for k in range(count))
            continue
        data_offset, = struct.unpack_from('>I', blob, base + 10)
        size, = struct.unpack_from('>I', blob, data + data_offset)
        payload = blob[data + data_offset + 4:data + data_offset + 4 + size]
        if flags & FLAG_ZSTD:
            raise ValueError(f'{path}: {name} is zstd-compressed, which this reader does not decode')
        files[name] = zlib.decompress(payload[4:]) if flags & FLAG_ZLIB else payload
    return files
