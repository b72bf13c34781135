"""Which files are inputs: a named file whatever its extension, else a folder's image files by extension, sorted;
symlinks that loop or lead nowhere are left out and named."""
import os

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


def _tree_with_bad_links(tmp_path):
    """a.png, sub/b.jpg, and three symlinks: to itself, to nothing, and from sub/ back to the top (a loop)."""
    (tmp_path / 'sub').mkdir()
    for name in ('a.png', 'sub/b.jpg'):
        (tmp_path / name).write_bytes(b'x')
    os.symlink('self.png', tmp_path / 'self.png')
    os.symlink('gone.png', tmp_path / 'broken.png')
    os.symlink('..', tmp_path / 'sub' / 'up')
    return tmp_path


def test_symlinks_that_loop_or_lead_nowhere_are_left_out_and_named(tmp_path):
    """Issue 25 item 5: they were skipped with no word, and the loop listed every image 40 times over
    (sub/up/sub/up/...)."""
    root = _tree_with_bad_links(tmp_path)
    skipped = []
    assert list_inputs(str(root), recursive=True, skipped=skipped) == [str(root / 'a.png'), str(root / 'sub' / 'b.jpg')]
    assert sorted(skipped) == [(str(root / 'broken.png'), 'its target is missing'),
                               (str(root / 'self.png'), 'a symlink loop'),
                               (str(root / 'sub' / 'up'), 'a symlink loop: it leads back to a folder above')]
    skipped = []
    assert list_inputs(str(root), skipped=skipped) == [str(root / 'a.png')]
    assert sorted(path for path, _ in skipped) == [str(root / 'broken.png'), str(root / 'self.png')]


def test_a_folder_linked_twice_without_a_loop_is_listed_through_both(tmp_path):
    (tmp_path / 'photos').mkdir()
    (tmp_path / 'photos' / 'a.png').write_bytes(b'x')
    os.symlink('photos', tmp_path / 'alias')
    assert list_inputs(str(tmp_path), recursive=True) == [str(tmp_path / 'alias' / 'a.png'),
                                                          str(tmp_path / 'photos' / 'a.png')]
