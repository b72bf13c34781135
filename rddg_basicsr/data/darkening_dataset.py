"""Stage-1 data: synthetic pairs (normal-light y, synthetic low-light x_s) plus unpaired real low-light x_r."""
import torch
from basicsr.utils import img2tensor
from basicsr.utils.registry import DATASET_REGISTRY
from torch.utils import data

from rddg_basicsr.data.image_folder import ImageRoot, check_aligned, pair_by_stem
from rddg_basicsr.data.transforms import train_min_size, train_transform


@DATASET_REGISTRY.register()
class DarkeningDataset(data.Dataset):
    """Training data of the darkening network: ``(y, x_s)`` pairs and an independently drawn real image ``x_r``.

    Options:
        dataroot_gt (str): Normal-light images y.
        dataroot_lq (str): Synthetic low-light twins x_s, paired with dataroot_gt by file stem, same sizes.
        dataroot_real (str): Unpaired real-world low-light images x_r (any names and count). Required when
            training (drawn without replacement, independently of the pair); optional otherwise (then image
            ``i % len`` is returned).
        io_backend (dict): ``{type: disk}`` or ``{type: lmdb}`` (each dataroot then ends in ``.lmdb``).
        gt_size (int), use_hflip (bool), use_rot (bool), pad_small (bool, default false): train-phase crop and
            augmentation; without pad_small, images smaller than gt_size are refused at construction.
        phase (str): 'train' crops and augments; anything else returns whole images.

    Returns (``__getitem__``):
        dict: ``gt``, ``lq``, ``real``: 3 x H x W RGB float32 tensors in [0, 1] (``gt_size`` square when
        training; the pair shares one crop and one augmentation, the real image has its own);
        ``gt_path``, ``lq_path``, ``real_path`` (str; ``real*`` absent when no dataroot_real is given).
    """

    def __init__(self, opt):
        super().__init__()
        self.opt = opt
        self.train = opt.get('phase') == 'train'
        min_size = train_min_size(opt)
        self.gt_root = ImageRoot(opt, 'dataroot_gt', min_size)
        self.lq_root = ImageRoot(opt, 'dataroot_lq', min_size)
        self.pairs = pair_by_stem(self.gt_root.paths, self.lq_root.paths, 'dataroot_gt', 'dataroot_lq')
        check_aligned(self.pairs, self.gt_root.sizes, self.lq_root.sizes)
        if opt.get('dataroot_real') is None:
            if self.train:
                raise ValueError('dataroot_real: required in the train phase (folder of real low-light images)')
            self.real_root = None
        else:
            self.real_root = ImageRoot(opt, 'dataroot_real', min_size)
        self._real_queue = []

    def __getitem__(self, index):
        gt_path, lq_path = self.pairs[index]
        gt, lq = train_transform([self.gt_root.read(gt_path), self.lq_root.read(lq_path)], self.opt, lq_path)
        gt, lq = img2tensor([gt, lq], bgr2rgb=True, float32=True)
        sample = {'gt': gt, 'lq': lq, 'gt_path': gt_path, 'lq_path': lq_path}
        if self.real_root is not None:
            real_path = self._real_path(index)
            real, = train_transform([self.real_root.read(real_path)], self.opt, real_path)
            sample.update(real=img2tensor(real, bgr2rgb=True, float32=True), real_path=real_path)
        return sample

    def _real_path(self, index):
        """Training: the next real image of a random permutation of the real set, drawn afresh when used up, so
        each process (main or worker) goes through the whole set before any repeats; independent of ``index``.
        torch's generator draws it: per worker and per epoch in DataLoader workers. Else image ``index % len``."""
        paths = self.real_root.paths
        if not self.train:
            return paths[index % len(paths)]
        if not self._real_queue:
            self._real_queue = torch.randperm(len(paths)).tolist()
        return paths[self._real_queue.pop()]

    def __len__(self):
        return len(self.pairs)
