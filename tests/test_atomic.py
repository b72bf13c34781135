"""Atomic writes: the whole new file or the old one, never a partial file; short temporary names unique per process
and call, removed whatever stops the write."""
import os

import pytest

from rddg_basicsr.utils.atomic import atomic_write, temporary_name, write_bytes_atomic


def test_a_write_replaces_the_whole_file_and_leaves_no_temporary_one(tmp_path):
    target = tmp_path / 'out.bin'
    target.write_bytes(b'old')
    write_bytes_atomic(str(target), b'new')
    assert target.read_bytes() == b'new' and os.listdir(tmp_path) == ['out.bin']


def test_a_named_temporary_file_left_by_a_killed_write_is_overwritten(tmp_path):
    target = tmp_path / 'net.pth'
    (tmp_path / 'net.pth.tmp').write_bytes(b'half of an older write')
    atomic_write(str(target), lambda f: f.write(b'whole'), tmp=f'{target}.tmp')
    assert target.read_bytes() == b'whole' and os.listdir(tmp_path) == ['net.pth']


def test_a_failing_writer_names_the_file_and_keeps_the_old_one(tmp_path):
    target = tmp_path / 'out.bin'
    target.write_bytes(b'old')

    def fails(f):
        f.write(b'half')
        raise RuntimeError('the writer failed\nsecond line')

    with pytest.raises(OSError, match=f'^cannot write {target}: the writer failed$'):
        atomic_write(str(target), fails)
    assert os.listdir(tmp_path) == ['out.bin'] and target.read_bytes() == b'old'


def test_ctrl_c_during_a_write_leaves_no_temporary_file_and_the_old_one(tmp_path, monkeypatch):
    """Issue 25 item 5: the temporary file of an interrupted write was left in the output folder."""
    target = tmp_path / 'out.png'
    target.write_bytes(b'old')

    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, 'fsync', interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_bytes_atomic(str(target), b'new')
    assert os.listdir(tmp_path) == ['out.png'] and target.read_bytes() == b'old'


def test_write_into_a_missing_folder_is_one_line(tmp_path):
    with pytest.raises(OSError, match=f'^cannot write {tmp_path / "no" / "x.png"}: No such file or directory$'):
        write_bytes_atomic(str(tmp_path / 'no' / 'x.png'), b'x')


def test_names_of_255_bytes_are_written(tmp_path):
    """Issue 19.9: the temporary name '.<name>.tmp' of a 251-255-byte name went past the 255-byte limit."""
    for length in (251, 255):
        target = tmp_path / ('é' * ((length - 4) // 2) + 'x' * ((length - 4) % 2) + '.png')
        assert len(target.name.encode()) == length
        write_bytes_atomic(str(target), b'data')
        assert target.read_bytes() == b'data'
    assert len(os.listdir(tmp_path)) == 2


def test_temporary_names_are_short_unique_and_beside_the_target(tmp_path):
    """Issue 19.11: two runs shared '.<name>.tmp'; names are now per process and call."""
    names = {temporary_name(str(tmp_path / 'a.png')) for _ in range(100)}
    assert len(names) == 100
    assert all(os.path.dirname(n) == str(tmp_path) and len(os.path.basename(n)) <= 34 for n in names)
    assert f'.{os.getpid()}.' in names.pop()
