"""A local web page that enhances night photos (console script ``rddg-app``; needs the app extra: gradio).

    python rddg_basicsr/app.py [--model_path EN.pth [-opt TRAIN_YML]] [--tile 512] [--max_pixels 134217728]
        [--stage1_d D.pth [--stage1_opt STAGE1_YML]] [--host 127.0.0.1] [--port 7860] [--device cpu|cuda]

Drop one or more photos on the page: each is enhanced by ``LowLightEnhancer.enhance_file``, as ``rddg-enhance
--ext png`` would (same model, tiling, pixel budget, EXIF orientation, 16-bit and alpha handling), into a full-size
PNG offered for download, with a before/after view (at most ``PREVIEW_SIDE`` px) beside it. With a stage-1
discriminator (``--stage1_d``), the page also shows the input's domain-distance map w = sigmoid(D(x)) as
``rddg-pseudo-pairs --maps_only`` draws it (JET, fixed scale 0..1, colour bar). A photo that cannot be read or is
above the pixel budget is reported in one line and skipped. The page serves on 127.0.0.1 only unless ``--host``
says otherwise; results live in a temporary folder removed when the app stops.

Importing this module loads neither torch nor gradio: ``--help`` answers at once.
"""
import argparse
import atexit
import collections
import inspect
import math
import os
import shutil
import sys
import tempfile

if __name__ == '__main__' and not __package__:
    import _bootstrap  # noqa: F401  (run as a file: import the package from the repo root)

from rddg_basicsr.cli import fail, load_network_opts, resolve_device  # noqa: E402
from rddg_basicsr.utils.image_files import DEFAULT_MAX_PIXELS  # noqa: E402
from rddg_basicsr.utils.paths import preset  # noqa: E402

PROG = 'rddg-app'
DEFAULT_PORT = 7860
DEFAULT_STAGE1 = 'stage1_darken.yml'  # as rddg-pseudo-pairs: the preset whose networks read a D without --stage1_opt
PREVIEW_SIDE = 1600  # longest side of the pictures shown in the page (downloads are full size)
NEEDS_GRADIO = 'rddg-app needs gradio: pip install "rddg-basicsr[app]"'

Enhanced = collections.namedtuple('Enhanced', 'name output before after domain_map')
Enhanced.__doc__ = """One enhanced photo: ``name`` (the upload's file name), ``output`` (path of the full-size PNG),
``before`` / ``after`` (paths of 8-bit RGB PNG previews, longest side <= ``PREVIEW_SIDE``) and ``domain_map`` (path of
the heat map PNG with its colour bar, or None without a stage 1)."""


class PhotoEnhancer:
    """What the page does with uploaded photos, without the page (the unit tests call it directly).

    Args:
        enhancer (rddg_basicsr.enhancer.LowLightEnhancer): The model, its tiling and device.
        work_dir (str): Folder for the results (one sub-folder per request).
        max_pixels (int | None): Pixel budget read from the header (None: no budget).
        stage1 (rddg_basicsr.stage1.Stage1 | None): A trained stage 1 with its D, for the domain-distance maps.
        preview_side (int): Longest side of the previews.
    """

    def __init__(self, enhancer, work_dir, max_pixels=DEFAULT_MAX_PIXELS, stage1=None, preview_side=PREVIEW_SIDE):
        self.enhancer, self.work_dir, self.max_pixels = enhancer, work_dir, max_pixels
        self.stage1, self.preview_side = stage1, preview_side

    def enhance_photos(self, paths, progress=None):
        """Enhance each file of ``paths`` into a new sub-folder of ``work_dir``.

        Args:
            progress (callable | None): ``progress(fraction in [0, 1], text)``, called per photo and per tile.

        Returns:
            tuple: ``list[Enhanced]`` in the order given, and one line per skipped photo (unreadable, above the pixel
            budget, or not writable), naming it by its file name (the upload's, not its temporary path).
        """
        from rddg_basicsr.utils.image_io import UnreadableImageError

        out_dir = tempfile.mkdtemp(prefix='run-', dir=self.work_dir)
        report = progress or (lambda fraction, text: None)
        done, skipped, names = [], [], set()
        for index, path in enumerate(paths):
            name = os.path.basename(path)
            try:
                done.append(self._enhance_photo(path, self._output_path(out_dir, name, names),
                                                lambda part, text, at=index: report((at + part) / len(paths), text)))
            except (UnreadableImageError, OSError) as err:
                skipped.append(one_line(err, path, name))  # the messages name the file
        report(1.0, 'done')
        return done, skipped

    def _output_path(self, out_dir, name, names):
        """``<stem>_enhanced.png`` in ``out_dir``, numbered when an earlier upload of the request had the stem."""
        stem = os.path.splitext(name)[0]
        candidate, number = stem, 1
        while candidate.casefold() in names:
            number += 1
            candidate = f'{stem}_{number}'
        names.add(candidate.casefold())
        return os.path.join(out_dir, f'{candidate}_enhanced.png')

    def _enhance_photo(self, path, out_path, progress):
        from rddg_basicsr.utils.image_io import check_pixel_budget, read_header, read_image_any

        name = os.path.basename(path)
        header = read_header(path)
        check_pixel_budget(name, header, self.max_pixels)  # before any work, the upload named by its file name
        tiles = tile_count(header.size, self.enhancer.tile)
        calls = [0]

        def tile_done(module, inputs, output):
            calls[0] += 1
            progress(0.9 * min(calls[0], tiles) / tiles, f'{name}: tile {min(calls[0], tiles)}/{tiles}')

        progress(0.0, f'{name}: {header.size[1]}x{header.size[0]}, {tiles} tiles')
        hook = self.enhancer.net.register_forward_hook(tile_done)
        try:
            out_path = self.enhancer.enhance_file(path, out_path, self.max_pixels)  # what rddg-enhance writes
        finally:
            hook.remove()
        progress(0.9, f'{name}: previews')
        stem = os.path.splitext(out_path)[0]
        rgb, _, _ = read_image_any(path, self.max_pixels)
        before = self._preview(rgb, f'{stem}_before.png')
        domain_map = self._domain_map(rgb, f'{stem}_domain_map.png') if self.stage1 else None
        del rgb
        after = self._preview(read_image_any(out_path, None)[0], f'{stem}_after.png')
        return Enhanced(name, out_path, before, after, domain_map)

    def _preview(self, rgb, path):
        """Write float (H, W, 3) RGB in [0, 1] as an 8-bit PNG at ``path``, shrunk (area average) to
        ``preview_side`` at most; returns ``path``."""
        import cv2

        from rddg_basicsr.utils.color import quantize
        from rddg_basicsr.utils.image_io import write_encoded

        h, w = rgb.shape[:2]
        scale = self.preview_side / max(h, w)
        if scale < 1:
            rgb = cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
        write_encoded(path, quantize(rgb[..., ::-1]))
        return path

    def _domain_map(self, rgb, path):
        """Write the heat map of w = D's domain distance of ``rgb`` (computed at full size, shown at preview size)."""
        import torch
        from torch.nn import functional as F

        from rddg_basicsr.utils.image_io import write_encoded
        from rddg_basicsr.utils.visualize import heat_map

        device = next(self.stage1.net_d.parameters()).device
        w = self.stage1.domain_map(torch.from_numpy(rgb).permute(2, 0, 1)[None].to(device))
        h, width = w.shape[-2:]
        scale = self.preview_side / max(h, width)
        if scale < 1:
            w = F.interpolate(w, size=(max(1, round(h * scale)), max(1, round(width * scale))), mode='area')
        write_encoded(path, heat_map(w))
        return path


def tile_count(size, tile):
    """How many network calls ``tiled_forward`` makes for an (H, W) image with tiles of ``tile`` px (0: one)."""
    return 1 if tile <= 0 else math.ceil(size[0] / tile) * math.ceil(size[1] / tile)


def one_line(err, path=None, name=None):
    """The first line of ``err``'s message, with the upload's temporary ``path`` shown as its file ``name``."""
    message = (str(err).strip().splitlines() or [type(err).__name__])[0]
    return message.replace(path, name) if path and name else message


def build_page(photos, has_stage1):
    """The gradio Blocks of the page for a ``PhotoEnhancer``; the photos are processed one request at a time."""
    import gradio as gr

    slider = hasattr(gr, 'ImageSlider')

    def enhance(files, progress=gr.Progress()):  # noqa: B008  (how gradio finds the progress bar)
        paths = [getattr(f, 'name', f) for f in files or []]
        if not paths:
            raise gr.Error('Drop one or more photos first.')
        done, skipped = photos.enhance_photos(paths, lambda fraction, text: progress(fraction, desc=text))
        if not done:
            raise gr.Error(skipped[0] if len(skipped) == 1 else f'none of the {len(paths)} photos could be '
                           f'enhanced; {skipped[0]}')
        status = '\n'.join([f'Enhanced {len(done)}/{len(paths)} photos.'] + [f'Skipped: {line}' for line in skipped])
        choices = [result.name for result in done]
        return ([r._asdict() for r in done], [r.output for r in done], status,
                gr.update(choices=choices, value=choices[0], visible=len(done) > 1), *view(done[0]))

    def show(name, results):
        chosen = next((r for r in results or [] if r['name'] == name), None)
        shown = view(Enhanced(**chosen)) if chosen else (gr.update(), ) * len(views)
        return shown[0] if len(shown) == 1 else shown  # gradio takes a lone output's value as it is

    def view(result):
        pictures = ([(result.before, result.after)] if slider else [result.before, result.after])
        return (*pictures, result.domain_map) if has_stage1 else tuple(pictures)

    with gr.Blocks(title='rddg-app: low-light enhancement', analytics_enabled=False, **_theme(gr, 'Blocks')) as page:
        gr.Markdown('## Night photos, enhanced\nDrop one or more photos (PNG, JPEG, TIFF, 16-bit too), then '
                    '**Enhance**. Downloads are full-size PNGs; the pictures here are previews.')
        results = gr.State([])
        with gr.Row():
            with gr.Column(scale=1):
                files = gr.File(label='Photos', file_count='multiple', file_types=['image'], elem_id='photos')
                button = gr.Button('Enhance', variant='primary', elem_id='enhance')
                status = gr.Textbox(label='Status', interactive=False, lines=2, elem_id='status')
                downloads = gr.File(label='Enhanced (full size, PNG)', file_count='multiple', interactive=False,
                                    elem_id='downloads')
            with gr.Column(scale=2):
                chooser = gr.Dropdown(label='Photo shown', choices=[], visible=False, elem_id='chooser')
                if slider:
                    views = [gr.ImageSlider(label='Before / after', type='filepath', elem_id='before_after')]
                else:
                    with gr.Row():
                        views = [gr.Image(label='Before', type='filepath', elem_id='before'),
                                 gr.Image(label='After', type='filepath', elem_id='after')]
                if has_stage1:
                    views.append(gr.Image(label='Domain distance w = sigmoid(D(x)) (0: like the synthetic low '
                                          'light D was trained on, 1: far from it)', type='filepath',
                                          elem_id='domain_map'))
        button.click(enhance, [files], [results, downloads, status, chooser, *views], concurrency_limit=1)
        chooser.change(show, [chooser, results], views)
    return page


def _theme(gr, where):
    """``{'theme': ...}`` for the gradio call (Blocks or launch, by version) that takes it: system fonts only, so
    the page loads nothing from outside the machine."""
    takes = inspect.signature(gr.Blocks.__init__ if where == 'Blocks' else gr.Blocks.launch).parameters
    if 'theme' not in takes:
        return {}
    system = ['ui-sans-serif', 'system-ui', 'sans-serif']
    return {'theme': gr.themes.Default(font=system, font_mono=['ui-monospace', 'monospace'])}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog=PROG, description='A local web page that enhances night photos with the '
                                     'shipped generic EN or one you trained (needs gradio: the app extra).')
    parser.add_argument('--model_path', help='EN checkpoint (BasicSR .pth) of a model you trained (rddg-train). '
                        'Default: the generic model shipped in the package')
    parser.add_argument('-opt', '--opt', help='Training YAML; its network_g builds the net. Default: EnlighteningNet()')
    parser.add_argument('--param_key', default='params_ema', help="Checkpoint key ('params' is the fallback)")
    parser.add_argument('-t', '--tile', type=int, help='Tile size, 0 for whole images. Default: as rddg-enhance (512)')
    parser.add_argument('--fp32', action='store_true', help='Full precision on CUDA (the default there is fp16)')
    parser.add_argument('--device', help='cpu | cuda | cuda:N. Default: CUDA when available')
    parser.add_argument('--max_pixels', type=int, default=DEFAULT_MAX_PIXELS,
                        help=f'Refuse photos with more pixels (read from the header), 0 for no limit. '
                        f'Default: {DEFAULT_MAX_PIXELS}')
    parser.add_argument('--stage1_d', help='Stage-1 PatchDiscriminator checkpoint: the page also shows the domain-'
                        'distance map of each photo')
    parser.add_argument('--stage1_opt', default=preset(DEFAULT_STAGE1),
                        help=f'Stage-1 YAML (network_d, maps.smooth). Default: the preset {DEFAULT_STAGE1}')
    parser.add_argument('--host', default='127.0.0.1',
                        help='Address to serve on; 0.0.0.0 opens the page to the network. Default: 127.0.0.1')
    parser.add_argument('--port', type=int, default=DEFAULT_PORT, help=f'Port. Default: {DEFAULT_PORT}')
    args = parser.parse_args(argv)
    if args.model_path is None and args.opt is not None:
        fail(PROG, '-opt describes the network of a checkpoint you trained: give it with --model_path')
    for flag, path in (('--model_path', args.model_path), ('--stage1_d', args.stage1_d)):
        if path is not None and not os.path.isfile(path):
            fail(PROG, f'{flag}: file not found: {path}')
    return args


def load_photo_enhancer(args, work_dir):
    """The ``PhotoEnhancer`` that ``args`` (``parse_args``) describe; a user's error stops the CLI with one line."""
    from rddg_basicsr.enhancer import DEFAULT_TILE, LowLightEnhancer

    network_opt = load_network_opts(PROG, args.opt, 'network_g')['network_g'] if args.opt else None
    device = resolve_device(PROG, args.device)
    tile = DEFAULT_TILE if args.tile is None else args.tile
    try:
        enhancer = LowLightEnhancer(args.model_path, network_opt, tile, None, not args.fp32 and device.type == 'cuda',
                                    device, args.param_key)
    except (KeyError, RuntimeError, ValueError) as err:
        fail(PROG, err.args[0])
    stage1 = None
    if args.stage1_d:
        from rddg_basicsr.stage1 import Stage1

        try:
            stage1 = Stage1.from_options(args.stage1_opt, None, args.stage1_d, device, tile=tile)
        except (KeyError, RuntimeError, ValueError, FileNotFoundError) as err:
            fail(PROG, f'--stage1_d / --stage1_opt: {one_line(err)}')
    return PhotoEnhancer(enhancer, work_dir, args.max_pixels or None, stage1)


def main(argv=None):
    """Serve the page until Ctrl-C; returns the exit status."""
    args = parse_args(argv)
    try:
        import gradio  # noqa: F401
    except ImportError:
        fail(PROG, NEEDS_GRADIO)
    work_dir = tempfile.mkdtemp(prefix='rddg-app-')
    atexit.register(shutil.rmtree, work_dir, ignore_errors=True)
    photos = load_photo_enhancer(args, work_dir)
    page = build_page(photos, photos.stage1 is not None)
    page.queue(default_concurrency_limit=1)
    try:
        _, url, _ = page.launch(server_name=args.host, server_port=args.port, share=False, inbrowser=False,
                                prevent_thread_lock=True, quiet=True, allowed_paths=[work_dir],
                                **_theme(gradio, 'launch'))
    except OSError as err:
        reason = one_line(err).split('. ')[0]  # gradio's first sentence ('Cannot find empty port...')
        fail(PROG, f'cannot serve on {args.host}:{args.port}: {reason} (try another --port)')
    shown = url.replace('0.0.0.0', '127.0.0.1') if url else f'http://{args.host}:{args.port}/'
    note = ' (open to the network)' if args.host not in ('127.0.0.1', 'localhost', '::1') else ''
    print(f'{PROG}: serving on {shown}{note}; Ctrl-C stops it', flush=True)
    try:
        page.block_thread()
    except KeyboardInterrupt:
        pass
    finally:
        page.close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
