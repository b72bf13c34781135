"""Stage-2 data: low-light / normal-light pairs, optionally with per-pixel domain-distance maps w."""
from basicsr.utils import img2tensor
from basicsr.utils.registry import DATASET_REGISTRY
from torch.utils import data

from rddg_basicsr.data.image_folder import ImageRoot, check_aligned, list_maps, map_size, pair_by_stem, read_map
from rddg_basicsr.data.transforms import train_min_size, train_transform


@DATASET_REGISTRY.register()
class LowLightPairedDataset(data.Dataset):
    """Training / test data of the enlightening network.

    Options:
        dataroot_gt (str): Normal-light images.
        dataroot_lq (str, optional): Low-light images (pseudo-LL for training, or a paired LL test set), paired
            with dataroot_gt by file stem, same sizes. Without it only ``gt`` is returned and the model makes the
            low-light input itself (frozen darkening network); ``lq_path`` then equals ``gt_path``.
        context (int, optional, without dataroot_lq): Pixels of context around each training crop (default 0):
            ``gt`` is then ``gt_size + 2 * context`` square and the model removes the context after darkening, so
            its x_g and w equal the offline ones (``rddg_basicsr.stage1.Stage1.context_margin`` says how much).
        dataroot_w (str, optional, needs dataroot_lq): Domain-distance maps ``<stem>.npy`` (float, H x W or
            H x W x 1, values in [0, 1]) or ``<stem>.png`` (16-bit, value / 65535), one per low-light image and of
            its size; always read from disk.
        io_backend (dict): ``{type: disk}`` or ``{type: lmdb}`` for the images.
        gt_size (int), use_hflip (bool), use_rot (bool), pad_small (bool, default false): train-phase crop and
            augmentation, shared by lq, gt and w; without pad_small, images smaller than gt_size are refused at
            construction.
        phase (str): 'train' crops and augments; anything else returns whole images.

    Returns (``__getitem__``):
        dict: ``gt`` (and ``lq``): 3 x H x W RGB float32 tensors in [0, 1]; ``w``: 1 x H x W float32 tensor in
        [0, 1] when dataroot_w is given; ``gt_path``, ``lq_path`` (and ``w_path``) strings.
    """

    def __init__(self, opt):
        super().__init__()
        self.opt = opt
        self.context = self._context(opt)
        self._crop_opt = dict(opt, gt_size=opt['gt_size'] + 2 * self.context) if self.context else opt
        min_size = train_min_size(self._crop_opt)
        self.gt_root = ImageRoot(opt, 'dataroot_gt', min_size)
        if opt.get('dataroot_lq') is None:
            if opt.get('dataroot_w') is not None:
                raise ValueError('dataroot_w: needs dataroot_lq (the maps are aligned with the low-light images)')
            self.lq_root = None
            self.pairs = [(path, path) for path in self.gt_root.paths]
        else:
            self.lq_root = ImageRoot(opt, 'dataroot_lq', min_size)
            self.pairs = pair_by_stem(self.lq_root.paths, self.gt_root.paths, 'dataroot_lq', 'dataroot_gt')
            check_aligned(self.pairs, self.lq_root.sizes, self.gt_root.sizes)
        self.w_paths = None if opt.get('dataroot_w') is None else self._match_maps(opt['dataroot_w'])

    @staticmethod
    def _context(opt):
        """Context around training crops for on-the-fly darkening (0 outside training)."""
        context = opt.get('context') or 0
        if context and opt.get('dataroot_lq') is not None:
            raise ValueError('context: only for on-the-fly darkening (no dataroot_lq)')
        if not isinstance(context, int) or context < 0:
            raise ValueError(f'context: must be a whole number of pixels >= 0, got {context!r}')
        return context if opt.get('phase') == 'train' else 0

    def _match_maps(self, folder):
        """One map per pair, matched to the low-light image by stem and checked (from its header) to share its size."""
        lq_paths = [lq_path for lq_path, _ in self.pairs]
        lq_w_pairs = pair_by_stem(lq_paths, list_maps(folder, 'dataroot_w'), 'dataroot_lq', 'dataroot_w')
        check_aligned(lq_w_pairs, self.lq_root.sizes, {w_path: map_size(w_path) for _, w_path in lq_w_pairs})
        w_by_lq = dict(lq_w_pairs)
        return [w_by_lq[lq_path] for lq_path in lq_paths]

    def __getitem__(self, index):
        lq_path, gt_path = self.pairs[index]
        sample = {'gt_path': gt_path, 'lq_path': lq_path}
        arrays = {'gt': self.gt_root.read(gt_path)}
        if self.lq_root is not None:
            arrays['lq'] = self.lq_root.read(lq_path)
        if self.w_paths is not None:
            sample['w_path'] = self.w_paths[index]
            arrays['w'] = read_map(sample['w_path'])[..., None]  # H x W x 1: cropped, augmented and converted alike
        arrays_out = train_transform(list(arrays.values()), self._crop_opt, lq_path)
        tensors = img2tensor(arrays_out, bgr2rgb=True, float32=True)
        sample.update(zip(arrays, tensors))
        return sample

    def __len__(self):
        return len(self.pairs)
