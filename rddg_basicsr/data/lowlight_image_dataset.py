"""Low-light images without ground truth (ExDark, DARK FACE, LIME...), for inference and no-reference metrics."""
from basicsr.utils import img2tensor
from basicsr.utils.registry import DATASET_REGISTRY
from torch.utils import data

from rddg_basicsr.data.image_folder import ImageRoot


@DATASET_REGISTRY.register()
class LowLightImageDataset(data.Dataset):
    """Whole low-light images, never cropped or augmented.

    Options:
        dataroot_lq (str): Folder (or ``.lmdb``) of low-light images.
        recursive (bool): Also list the folder's sub-folders (ExDark's class folders). Default: false.
        io_backend (dict): ``{type: disk}`` or ``{type: lmdb}``.

    Returns (``__getitem__``):
        dict: ``lq``: 3 x H x W RGB float32 tensor in [0, 1]; ``lq_path`` (str).
    """

    def __init__(self, opt):
        super().__init__()
        self.opt = opt
        self.lq_root = ImageRoot(opt, 'dataroot_lq')

    def __getitem__(self, index):
        lq_path = self.lq_root.paths[index]
        return {'lq': img2tensor(self.lq_root.read(lq_path), bgr2rgb=True, float32=True), 'lq_path': lq_path}

    def __len__(self):
        return len(self.lq_root.paths)
