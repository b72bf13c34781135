"""Option checks: unknown type names with suggestions, missing required keys and files, network options the network
does not take, missing data folders, total_iter and num_gpu: named one per line."""
import rddg_basicsr  # noqa: F401, I001  (before any basicsr import)

import re
from pathlib import Path

import pytest
import torch
import yaml
from basicsr.utils.options import ordered_yaml

from rddg_basicsr.basicsr_compat import option_checks
from rddg_basicsr.basicsr_compat.option_checks import check_options, check_type

OPTIONS = Path(__file__).resolve().parents[1] / 'options'


def _valid(tmp_path=None):
    opt = {
        'name': 'exp', 'model_type': 'RDDGModel', 'num_gpu': 0, 'is_train': True,
        'datasets': {
            'train': {'name': 'tr', 'type': 'LowLightPairedDataset'},
            'val': {'name': 'va', 'type': 'LowLightPairedDataset'},
        },
        'network_g': {'type': 'EnlighteningNet', 'num_feat': 4},
        'path': {'pretrain_network_g': None, 'strict_load_g': True, 'resume_state': None,
                 'param_key_g': 'params', 'experiments_root': 'experiments/exp'},
        'train': {
            'total_iter': 10, 'optim_g': {'type': 'Adam', 'lr': 1e-4}, 'scheduler': {'type': 'MultiStepLR'},
            'pixel_opt': {'type': 'DomainWeightedL1Loss'},
            'perceptual_opt': {'type': 'DomainWeightedPerceptualLoss'},
            'gan_opt': {'type': 'GANLoss'},  # BasicSR's own losses are fine too
        },
        'val': {'metrics': {'psnr': {'type': 'calculate_psnr'}, 'lpips': {'type': 'calculate_lpips'}}},
        'logger': {'print_freq': 1, 'save_checkpoint_freq': 5},
    }
    if tmp_path is not None:
        weights = tmp_path / 'net_g.pth'
        weights.write_bytes(b'x')
        opt['path']['pretrain_network_g'] = str(weights)
    return opt


def test_valid_opt_passes(tmp_path):
    check_options(_valid())
    check_options(_valid(tmp_path))


def test_test_opt_needs_no_train_keys():
    opt = _valid()
    opt['is_train'] = False
    del opt['train'], opt['logger']
    check_options(opt)


@pytest.mark.parametrize('where,edit,wrong,close', [
    ('network_g', lambda o: o['network_g'].update(type='EnlighteningNett'), 'EnlighteningNett', 'EnlighteningNet'),
    ('network_d', lambda o: o.update(network_d={'type': 'PatchDiscrimnator'}), 'PatchDiscrimnator',
     'PatchDiscriminator'),
    ('datasets.train', lambda o: o['datasets']['train'].update(type='LowLightPairedDatset'), 'LowLightPairedDatset',
     'LowLightPairedDataset'),
    ('train.pixel_opt', lambda o: o['train']['pixel_opt'].update(type='DomainWeightedL1Los'), 'DomainWeightedL1Los',
     'DomainWeightedL1Loss'),
    ('val.metrics.lpips', lambda o: o['val']['metrics']['lpips'].update(type='calculate_lpip'), 'calculate_lpip',
     'calculate_lpips'),
    ('model_type', lambda o: o.update(model_type='RDDGModell'), 'RDDGModell', 'RDDGModel'),
])
def test_unknown_type_names_option_and_suggests(where, edit, wrong, close):
    opt = _valid()
    edit(opt)
    with pytest.raises(ValueError) as err:
        check_options(opt)
    msg = str(err.value)
    assert where in msg and repr(wrong) in msg and close in msg
    assert '\n' not in msg


def test_darkening_net_typo_suggests_darkening_net():
    opt = _valid()
    opt['network_g']['type'] = 'DarkeningNett'
    with pytest.raises(ValueError, match=r"network_g.*'DarkeningNett'.*did you mean.*DarkeningNet"):
        check_options(opt)


def test_far_off_name_lists_registered_names():
    from basicsr.utils.registry import MODEL_REGISTRY
    with pytest.raises(ValueError) as err:
        check_type('model_type', 'zzzzqqqq', MODEL_REGISTRY)
    assert 'registered' in str(err.value) and 'RDDGModel' in str(err.value)


def test_basicsr_suffixed_names_accepted():
    from basicsr.utils.registry import DATASET_REGISTRY
    check_type('datasets.train', 'RealESRGANDataset', DATASET_REGISTRY)  # registered as ..._basicsr


@pytest.mark.parametrize('key', ['name', 'model_type', 'num_gpu', 'datasets', 'path', 'train.total_iter',
                                 'train.optim_g', 'train.scheduler', 'logger.print_freq',
                                 'logger.save_checkpoint_freq'])
def test_missing_required_key_named(key):
    opt = _valid()
    node = opt
    *parents, last = key.split('.')
    for part in parents:
        node = node[part]
    del node[last]
    with pytest.raises(ValueError, match=f"missing required option '{key}'"):
        check_options(opt)


def test_missing_pretrain_file_named(tmp_path):
    opt = _valid()
    missing = str(tmp_path / 'nope' / 'net_g_1000.pth')
    opt['path']['pretrain_network_g'] = missing
    with pytest.raises(FileNotFoundError) as err:
        check_options(opt)
    assert 'path.pretrain_network_g' in str(err.value) and missing in str(err.value)


def test_pretrain_generic_needs_the_shipped_network_before_any_work():
    """``path.pretrain_network_g: generic`` is the shipped model, not a file; a network_g it cannot load into is one
    line naming the option and the key that differs. The stage-2 preset's network (defaults spelt out) passes."""
    opt = _valid()
    opt['path']['pretrain_network_g'] = 'generic'
    with pytest.raises(ValueError, match=r"path.pretrain_network_g: generic needs .*network_g.num_feat is 4, not 16"):
        check_options(opt)
    with open(OPTIONS / 'stage2_rddg.yml') as f:
        opt['network_g'] = yaml.safe_load(f)['network_g']
    check_options(opt)
    opt['network_g']['num_block'] = 2
    with pytest.raises(ValueError, match="network_g.num_block is 2, not 1"):
        check_options(opt)


def test_missing_resume_state_named(tmp_path):
    opt = _valid()
    opt['path']['resume_state'] = str(tmp_path / '100.state')
    with pytest.raises(FileNotFoundError, match='path.resume_state'):
        check_options(opt)


@pytest.mark.parametrize('name,is_train', [('stage1_darken.yml', True), ('stage1_paper.yml', True),
                                           ('stage2_rddg.yml', True), ('stage2_paper.yml', True),
                                           ('test_rddg.yml', False)])
def test_shipped_options_use_registered_names(name, is_train):
    with open(OPTIONS / name) as f:
        opt = yaml.load(f, Loader=ordered_yaml()[0])
    opt['is_train'] = is_train
    option_checks.check_required(opt, is_train)
    option_checks.check_types(opt)


def test_stage2_darkening_section_is_checked(tmp_path):
    opt = {'name': 'x', 'model_type': 'RDDGModel', 'num_gpu': 0, 'path': {}, 'is_train': False,
           'datasets': {'test': {'type': 'LowLightImageDataset'}},
           'darkening': {'network_g': {'type': 'DarkeningNet'}, 'network_d': {'type': 'PatchDiscriminatr'},
                         'pretrain_network_g': str(tmp_path / 'g.pth')}}
    with pytest.raises(ValueError, match="darkening.network_d.type: unknown arch 'PatchDiscriminatr'; did you mean "
                                         'PatchDiscriminator'):
        check_options(opt)
    opt['darkening']['network_d']['type'] = 'PatchDiscriminator'
    with pytest.raises(FileNotFoundError, match=f'darkening.pretrain_network_g: file not found: {tmp_path}/g.pth'):
        check_options(opt)


@pytest.mark.parametrize('edit,message', [
    (lambda o: o['network_g'].update(bogus_kw=1), "network_g.bogus_kw: EnlighteningNet takes no option 'bogus_kw'"),
    (lambda o: o['network_g'].update(num_feat='eight'),
     "network_g.num_feat: EnlighteningNet expects int like its default"),
    (lambda o: o['datasets']['train'].update(dataroot_gt='/nonexistent/nl'),
     'datasets.train.dataroot_gt: folder not found: /nonexistent/nl'),
])
def test_network_options_and_data_folders_named(edit, message):
    opt = _valid()
    edit(opt)
    with pytest.raises((ValueError, FileNotFoundError)) as err:
        check_options(opt)
        option_checks.check_data_folders(opt)
    assert message in str(err.value) and '\n' not in str(err.value)


@pytest.mark.parametrize('total_iter', [0, -5])
def test_total_iter_below_one_refused(total_iter):
    opt = _valid()
    opt['train']['total_iter'] = total_iter
    with pytest.raises(ValueError, match=f"'train.total_iter' must be at least 1, got {total_iter}"):
        option_checks.check_raw_options(opt, is_train=True)


@pytest.mark.skipif(torch.cuda.is_available(), reason='a machine without CUDA')
@pytest.mark.parametrize('num_gpu,refused', [(1, True), (2, True), (0, False), ('auto', False)])
def test_num_gpu_asking_for_cuda_without_it_says_what_to_set(num_gpu, refused):
    opt = _valid()
    opt['num_gpu'] = num_gpu
    if refused:
        with pytest.raises(ValueError, match=f'num_gpu: {num_gpu} asks for CUDA.*set num_gpu: 0 .CPU. or num_gpu: '
                                             'auto'):
            option_checks.check_raw_options(opt, is_train=True)
    else:
        option_checks.check_raw_options(opt, is_train=True)


def test_names_unregistered_type_looks_without_registering():
    opt = _valid()
    assert not option_checks.names_unregistered_type(opt)  # the test process registered the plugin
    opt['network_g']['type'] = 'SomeoneElsesNet'
    assert option_checks.names_unregistered_type(opt)
    assert not option_checks.names_unregistered_type({'model_type': 'SRModel', 'network_g': {'type': 'RRDBNet'},
                                                      'datasets': {'train': {'type': 'PairedImageDataset'}}})


@pytest.mark.parametrize('name', ['../../escape', '/tmp/abs', '..', '.', '', 'a/b', 'a\0b', 'x' * 201])
def test_a_name_that_is_not_one_folder_name_is_refused(name):
    """Issue 25 item 1: experiments/<name> and results/<name> stay inside the root."""
    opt = _valid()
    opt['name'] = name
    with pytest.raises(ValueError, match="option 'name' must be one plain folder name") as err:
        option_checks.check_raw_options(opt, is_train=False)
    assert '\n' not in str(err.value)


@pytest.mark.parametrize('name', ['stage1_darken', 'débruitage 2', '..x', 'x' * 200])
def test_plain_folder_names_pass(name):
    opt = _valid()
    opt['name'] = name
    option_checks.check_raw_options(opt, is_train=True)


@pytest.mark.parametrize('edit,message', [
    (lambda o: o['datasets'].update(test={'type': 'LowLightPairedDataset'}),
     'datasets.test: a training dataset is named train, val or val_<anything>'),
    (lambda o: o['datasets'].update(val=None), 'datasets.val: expected a mapping of dataset options, got None'),
    (lambda o: o.update(manual_seed=2**40), "option 'manual_seed' must be an integer from 0 to 2147483647"),
    (lambda o: o.update(manual_seed=1.0), "option 'manual_seed' must be an integer from 0 to 2147483647"),
    (lambda o: o.update(dist_timeout=0), "option 'dist_timeout' must be seconds, above 0"),
    (lambda o: o['train'].update(total_iter=-10**400), "option 'train.total_iter' must be at least 1"),
    (lambda o: o['path'].update(pretrain_network_g=5), "option 'path.pretrain_network_g' must be a string"),
    (lambda o: o['val']['metrics'].update(psnr={'type': ['calculate_psnr']}),
     "option 'val.metrics.psnr.type' must be a string"),
])
def test_values_basicsr_would_trip_over_are_named_before_it_parses(edit, message):
    """What BasicSR's own parse or pipeline fails on with a traceback, or after creating the folders."""
    opt = _valid()
    edit(opt)
    with pytest.raises(ValueError, match=re.escape(message)):
        option_checks.check_raw_options(opt, is_train=True)


def test_a_type_that_is_not_text_is_no_unregistered_name():
    assert not option_checks.names_unregistered_type({'model_type': ['RDDGModel'], 'network_g': {'type': {}}})
