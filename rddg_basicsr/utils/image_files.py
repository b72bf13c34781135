"""Which files the command lines take as images, and their pixel budget: plain Python, so parsers and ``--help``
need no image library (``image_io.py`` reads and writes the pixels)."""
import os

IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp', '.ppm', '.pgm', '.pnm')
DEFAULT_MAX_PIXELS = 2**27  # 134 Mpx: 4x an 8K photo (7680x4320), 1.6 GB as float32 RGB


def list_inputs(path, recursive=False):
    """``[path]`` for a file (any extension), else the sorted image files (by extension) of a folder; with
    ``recursive``, of its sub-folders too.

    Raises:
        FileNotFoundError: ``path`` is neither a file nor a folder.
    """
    if os.path.isfile(path):
        return [path]
    if not os.path.isdir(path):
        raise FileNotFoundError(f'Input not found: {path}')
    if recursive:
        return sorted(os.path.join(root, name) for root, _, names in os.walk(path, followlinks=True) for name in names
                      if name.lower().endswith(IMAGE_EXTENSIONS))
    names = sorted(name for name in os.listdir(path) if name.lower().endswith(IMAGE_EXTENSIONS))
    return [os.path.join(path, name) for name in names if os.path.isfile(os.path.join(path, name))]
