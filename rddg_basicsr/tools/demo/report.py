"""The demo's closing report: PSNR / SSIM / LPIPS of each trained EnlighteningNet on the held-out test set, and one
picture of the full method (``__main__.py`` runs the training steps)."""
import os
from os import path as osp

import cv2
import numpy as np
import torch
from basicsr.metrics import calculate_psnr, calculate_ssim

from rddg_basicsr.enhancer import LowLightEnhancer
from rddg_basicsr.metrics.lpips_metric import calculate_lpips
from rddg_basicsr.stage1 import Stage1
from rddg_basicsr.utils.color import quantize, tensor_to_bgr8
from rddg_basicsr.utils.option_files import load_yaml
from rddg_basicsr.utils.visualize import colour_bar_strip, heat_map

PANELS = ('input (real LL)', 'pseudo-LL x_g', 'domain map w', 'generic model', 'adapted (RDDG)', 'ground truth')


def evaluate(enhance, data, lp):
    """Mean PSNR / SSIM (RGB, 8-bit, no GT-mean correction) and LPIPS (or None) of ``enhance`` on test/."""
    scores = []
    for name in sorted(os.listdir(f'{data}/test/ll')):
        ll = cv2.imread(f'{data}/test/ll/{name}')
        gt = cv2.imread(f'{data}/test/nl/{name}')
        out = enhance(ll)
        row = [calculate_psnr(out, gt, 0), calculate_ssim(out, gt, 0)]
        row.append(calculate_lpips(out, gt, device='cpu') if lp else np.nan)
        scores.append(row)
    return np.mean(scores, axis=0)


def enhancer_fn(models=None, option_file=None):
    """BGR uint8 -> BGR uint8 with the EnlighteningNet trained in ``models`` (its ``option_file``), or with the shipped
    generic model when ``models`` is None."""
    model_path = None if models is None else f'{models}/net_g_latest.pth'
    net_opt = None if option_file is None else load_yaml(option_file)['network_g']
    enhancer = LowLightEnhancer(model_path, network_opt=net_opt, device='cpu')

    def enhance(bgr):
        rgb = enhancer.enhance(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB).astype(np.float32) / 255)
        return cv2.cvtColor(quantize(rgb), cv2.COLOR_RGB2BGR)

    return enhance


def results_table(trained, data, lp):
    rows = [('input (no enhancement)', evaluate(lambda img: img, data, lp)),
            ('generic model (shipped, no training)', evaluate(enhancer_fn(), data, lp))]
    labels = {'naive_pairs': 'generic fine-tuned on naive pairs {x_s, y}',
              'pseudo_pairs': 'generic fine-tuned on pseudo pairs {x_g, y}',
              'pseudo_rddg': 'generic fine-tuned on pseudo pairs + RDDG (full)'}
    for name, (models, option_file) in trained.items():
        rows.append((labels.get(name, name), evaluate(enhancer_fn(models, option_file), data, lp)))
    lines = ['| training data | PSNR (dB) | SSIM | LPIPS |', '|---|---|---|---|']
    for label, (psnr, ssim, lpips) in rows:
        lp_text = f'{lpips:.4f}' if lp else 'unavailable'
        lines.append(f'| {label} | {psnr:.2f} | {ssim:.4f} | {lp_text} |')
    return '\n'.join(lines)


def picture(data, trained, out):
    """Rows of: input | pseudo-LL (of its NL) | domain map | the generic model's output | the adapted one (full
    method) | ground truth, and the maps' colour bar (w from 0 to 1) on the right."""
    models = osp.join(out, 'experiments', 'demo_stage1', 'models')
    stage1 = Stage1.from_options(osp.join(out, 'options', 'demo_stage1.yml'), f'{models}/net_g_latest.pth',
                                 f'{models}/net_d_latest.pth')
    generic, adapted = enhancer_fn(), enhancer_fn(*trained['pseudo_rddg'])
    rows = []
    for name in sorted(os.listdir(f'{data}/test/ll'))[:3]:
        ll, gt = cv2.imread(f'{data}/test/ll/{name}'), cv2.imread(f'{data}/test/nl/{name}')
        nl = torch.from_numpy(cv2.cvtColor(gt, cv2.COLOR_BGR2RGB)).permute(2, 0, 1)[None].float() / 255
        x_g, w = stage1.sample(nl)
        rows.append(np.hstack([ll, tensor_to_bgr8(x_g), heat_map(w, colour_bar=False), generic(ll), adapted(ll), gt]))
    grid = np.vstack(rows)
    width = grid.shape[1] // len(PANELS)
    grid = np.hstack([grid, colour_bar_strip(grid.shape[0])])
    header = np.full((28, grid.shape[1], 3), 255, np.uint8)
    for i, label in enumerate(PANELS + ('w',)):
        cv2.putText(header, label, (i * width + 4, 19), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    path = osp.join(out, 'demo_result.png')
    cv2.imwrite(path, np.vstack([header, grid]))
    return path
