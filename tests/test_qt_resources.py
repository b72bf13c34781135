"""read_rcc against bundles written here in Qt's rcc layout: folders, raw and zlib files, and the errors."""
import struct
import zlib

import pytest

from rddg_basicsr.data.qt_resources import FLAG_DIRECTORY, FLAG_ZLIB, FLAG_ZSTD, read_rcc


def write_rcc(path, version=3, zstd=False):
    """A bundle holding ``a/b.txt`` (raw) and ``c.bin`` (zlib, or flagged zstd); tree: root -> [a, c.bin],
    a -> [b.txt]."""
    names, data = b'', b''

    def name(text):
        nonlocal names
        offset = len(names)
        encoded = text.encode('utf-16-be')
        names += struct.pack('>HI', len(text), 0) + encoded
        return offset

    def blob(payload):
        nonlocal data
        offset = len(data)
        data += struct.pack('>I', len(payload)) + payload
        return offset

    tail = b'' if version == 1 else b'\0' * 8
    raw = blob(b'hello')
    packed = blob(struct.pack('>I', 6) + zlib.compress(b'world!'))
    tree = [struct.pack('>IHII', 0, FLAG_DIRECTORY, 2, 1) + tail,
            struct.pack('>IHII', name('a'), FLAG_DIRECTORY, 1, 3) + tail,
            struct.pack('>IHHHI', name('c.bin'), FLAG_ZSTD if zstd else FLAG_ZLIB, 0, 0, packed) + tail,
            struct.pack('>IHHHI', name('b.txt'), 0, 0, 0, raw) + tail]
    header_size = 24
    tree_blob = b''.join(tree)
    header = b'qres' + struct.pack('>IIIII', version, header_size, header_size + len(tree_blob),
                                   header_size + len(tree_blob) + len(data), 0)
    path.write_bytes(header + tree_blob + data + names)
    return str(path)


@pytest.mark.parametrize('version', [1, 3])
def test_read_rcc_returns_every_file_by_its_path_inflating_zlib(tmp_path, version):
    files = read_rcc(write_rcc(tmp_path / 'x.rcc', version))
    assert files == {'a/b.txt': b'hello', 'c.bin': b'world!'}


def test_read_rcc_names_the_file_that_is_no_bundle_or_holds_zstd(tmp_path):
    other = tmp_path / 'photo.jpg'
    other.write_bytes(b'\xff\xd8\xff' + b'\0' * 40)
    with pytest.raises(ValueError, match='photo.jpg: not a Qt resource bundle'):
        read_rcc(str(other))
    with pytest.raises(ValueError, match='z.rcc: c.bin is zstd'):
        read_rcc(write_rcc(tmp_path / 'z.rcc', zstd=True))
