"""Which files are inputs: a named file whatever its extension, else a folder's image files by extension, sorted."""
import pytest

from rddg_basicsr.utils.image_files import list_inputs


def test_list_inputs(tmp_path):
    for name in ('b.png', 'a.JPG', 'notes.txt'):
        (tmp_path / name).write_bytes(b'x')
    (tmp_path / 'sub.png').mkdir()
    assert list_inputs(str(tmp_path)) == [str(tmp_path / 'a.JPG'), str(tmp_path / 'b.png')]
    assert list_inputs(str(tmp_path / 'notes.txt')) == [str(tmp_path / 'notes.txt')]  # a named file is taken
    with pytest.raises(FileNotFoundError, match='nowhere'):
        list_inputs(str(tmp_path / 'nowhere'))
