"""The generic EnlighteningNet that ships in the package (``rddg_basicsr/weights/``; model card:
``docs/model_card.md``).

``generic_en.pth`` holds fp16 weights under ``params``; ``generic_en.json`` its sha256, its ``network_g`` options and
how it was trained. ``verified_path()`` checks the checksum before anything loads the file, so a corrupted or
replaced file is an error naming it, never a silently different model. ``rddg-enhance`` uses it when no
``--model_path`` is given, and stage 2 fine-tunes it with ``path.pretrain_network_g: generic``.
"""
import hashlib
import json
import os

WEIGHTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'weights')
WEIGHTS = os.path.join(WEIGHTS_DIR, 'generic_en.pth')
CARD = os.path.join(WEIGHTS_DIR, 'generic_en.json')
KEYWORD = 'generic'  # the word that names the shipped model in option files


class GenericModelError(RuntimeError):
    """The shipped model is missing or does not match its checksum (a broken install)."""


def sha256(path):
    """Hex sha256 of a file."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def card():
    """The metadata dict of the shipped model (``sha256``, ``network_g``, ``training``)."""
    if not os.path.isfile(CARD) or not os.path.isfile(WEIGHTS):
        raise GenericModelError(f'the shipped generic model is missing ({WEIGHTS} and {CARD}); reinstall '
                                'rddg-basicsr, or pass --model_path with a model you trained')
    with open(CARD, encoding='utf-8') as f:
        return json.load(f)


def network_opt():
    """``network_g`` options of the shipped model (a fresh dict)."""
    return dict(card()['network_g'])


def _with_defaults(network_g):
    """``network_g`` with every argument its registered architecture leaves at a default filled in."""
    import inspect

    from basicsr.utils.registry import ARCH_REGISTRY

    from rddg_basicsr import register

    register()
    arch = ARCH_REGISTRY.get(network_g['type']) if network_g.get('type') in ARCH_REGISTRY else None
    params = inspect.signature(arch).parameters.values() if arch is not None else ()
    return {**{p.name: p.default for p in params if p.default is not inspect.Parameter.empty}, **network_g}


def check_network(network_g, where='path.pretrain_network_g'):
    """ValueError unless ``network_g`` builds the shipped model's network (defaults count as given): what fine-tuning
    it needs."""
    shipped = _with_defaults(network_opt())
    given = _with_defaults(network_g if isinstance(network_g, dict) else {})
    differ = [k for k in set(shipped) | set(given) if shipped.get(k) != given.get(k)]
    differ.sort(key=lambda k: (k != 'type', k))  # the type first: with another arch the rest means little
    if differ:
        raise ValueError(f'{where}: {KEYWORD} needs network_g to be the shipped model\'s {network_opt()} '
                         f'(network_g.{differ[0]} is {given.get(differ[0])!r}, not {shipped.get(differ[0])!r})')


def verified_path():
    """Path of the shipped weights after checking their sha256 against the card."""
    expected = card()['sha256']
    found = sha256(WEIGHTS)
    if found != expected:
        raise GenericModelError(f'{WEIGHTS}: sha256 {found[:12]}... does not match the shipped {expected[:12]}...; '
                                'the file is corrupted or replaced: reinstall rddg-basicsr')
    return WEIGHTS


def resolve(path):
    """``path`` unless it is the keyword ``generic``: then the verified shipped weights."""
    return verified_path() if path == KEYWORD else path


def write(checkpoint, network_g, training, out_dir=WEIGHTS_DIR, param_key='params_ema'):
    """Ship a trained BasicSR checkpoint: fp16 weights under ``params`` into ``generic_en.pth`` and the card
    (sha256, ``network_g``, ``training`` facts) into ``generic_en.json`` under ``out_dir``. Returns the card."""
    from rddg_basicsr.utils.checkpoint import atomic_torch_save, load_state_dict

    state = {k: v.half() if v.is_floating_point() else v for k, v in load_state_dict(checkpoint, param_key).items()}
    os.makedirs(out_dir, exist_ok=True)
    weights = os.path.join(out_dir, os.path.basename(WEIGHTS))
    atomic_torch_save({'params': state}, weights)
    meta = {'sha256': sha256(weights), 'network_g': network_g, 'training': training}
    with open(os.path.join(out_dir, os.path.basename(CARD)), 'w', encoding='utf-8') as f:
        json.dump(meta, f, indent=2)
        f.write('\n')
    return meta

