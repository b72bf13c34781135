"""The benchmark's rows, declared: a row = stage-1 preset + option overrides + stage-2 source + RDDG flag.

Every trained row fine-tunes the shipped generic EnlighteningNet (``rddg_basicsr.generic_model``) with the same
budget (``runs.stage2_options``); the row ``generic`` is that model alone, untrained here.
An ablation row for a new stage-1 part is one line, e.g.
``Row('ours_lnoise', 'ours + learned noise', 'ours', {'network_g': {'camera': {'learned_noise': True}}}, 'fly', True)``.
Rows with the same preset and overrides share their stage-1 runs. A candidate for the stage-1 default is such a row,
written here before any run; ``quality_candidates.py`` adds its no-RDDG twin (``plain_twin``) and applies the rule.
"""
import hashlib
import json
from dataclasses import dataclass, field, replace

STAGE1_PRESETS = {'paper': 'stage1_paper.yml', 'ours': 'stage1_darken.yml'}
SOURCES = {
    'generic': 'the shipped generic model alone, no training here (evaluated like the peers)',
    'naive': 'the naive twins x_s (domain-independent: one run per seed serves every domain)',
    'stats': 'the statistics match of x_s drawn on the fly (fresh noise and JPEG per sample)',
    'oracle': "the domain's own simulator drawn on the fly on the train crops (a fresh draw per sample)",
    'calib_y': ("stage 1's camera, calibrated on the real set against the NL crops y, applied to y on the fly (no "
                'learning: a fresh draw per sample)'),
    'pseudo': "pairs written once by make_pseudo_pairs.py (the paper's protocol; deterministic stage 1)",
    'fly': 'darkened on the fly by the frozen stage 1 (a fresh sample per batch)',
}
ON_THE_FLY = ('stats', 'oracle', 'calib_y')  # sources drawn per sample by quality/draw_dataset.py


@dataclass(frozen=True)
class Row:
    name: str
    label: str
    stage1: str = None  # a STAGE1_PRESETS key, None for rows without stage 1
    overrides: dict = field(default_factory=dict, hash=False)  # merged into the stage-1 preset's options
    source: str = 'naive'
    rddg: bool = False
    reverse: bool = True  # (1 - w) as the paper; False: DASR's w

    @property
    def trained(self):
        """Whether the benchmark trains this row (fine-tuning the generic model); ``generic`` is evaluated as is."""
        return self.source != 'generic'

    @property
    def s1_key(self):
        """The stage-1 run this row uses: the preset, plus a digest of the overrides when there are any."""
        if self.stage1 is None:
            return None
        if not self.overrides:
            return self.stage1
        return f'{self.stage1}-{hashlib.sha1(json.dumps(self.overrides, sort_keys=True).encode()).hexdigest()[:6]}'


ROWS = {row.name: row for row in [
    Row('generic', 'Generic model alone (shipped, no adaptation)', source='generic'),
    Row('naive', 'EN on {x_s, y} (naive pairs)'),
    Row('stats', 'EN on {statistics-matched x_s, y} (no learning)', source='stats'),
    Row('paper_plain', "paper's stage 1, no RDDG", 'paper', source='pseudo'),
    Row('paper', "paper's stage 1 + RDDG", 'paper', source='pseudo', rddg=True),
    Row('ours_plain', 'our stage 1, no RDDG', 'ours', source='fly'),
    Row('ours', 'our stage 1 + RDDG (full method)', 'ours', source='fly', rddg=True),
    Row('oracle', "EN on the domain's true pairs (oracle)", source='oracle'),
    Row('calib_y', 'EN on {calibrated camera(y), y} (no learning)', source='calib_y'),
    Row('dasr', 'our stage 1 + DASR weighting w', 'ours', source='fly', rddg=True, reverse=False),
]}
DEFAULT_ROWS = ['generic', 'naive', 'stats', 'paper_plain', 'paper', 'ours_plain', 'ours', 'oracle']


def plain_twin(row):
    """``row`` without RDDG, named ``<name>_plain``: the same stage-1 run, the unweighted loss."""
    return replace(row, name=f'{row.name}_plain', label=row.label.replace(' + RDDG', ''), rddg=False)
