"""What both plugin models share: a NaN/inf loss stops the run, pointing to a saved checkpoint only when one exists;
a swallowed Ctrl-C stops the next iteration."""
import pytest
import torch

from helpers import swallowed_ctrl_c
from rddg_basicsr.models.plugin_model import PluginModelMixin
from rddg_basicsr.utils import interrupts


def _model(tmp_path):
    model = PluginModelMixin.__new__(PluginModelMixin)
    model.opt = {'path': {'models': str(tmp_path / 'models'), 'training_states': str(tmp_path / 'states')}}
    return model


def test_finite_losses_pass(tmp_path):
    _model(tmp_path).check_finite({'l_g_pix': torch.tensor(0.5)}, 3)


def test_nan_before_any_checkpoint_names_none(tmp_path):
    with pytest.raises(FloatingPointError) as err:
        _model(tmp_path).check_finite({'l_g_pix': torch.tensor(float('nan'))}, 3)
    message = str(err.value)
    assert message.startswith('l_g_pix is nan at iter 3') and 'no checkpoint was saved yet' in message
    assert 'resume' not in message


def test_nan_after_a_checkpoint_points_to_it(tmp_path):
    (tmp_path / 'states').mkdir()
    (tmp_path / 'states' / '10.state').write_bytes(b'')
    with pytest.raises(FloatingPointError) as err:
        _model(tmp_path).check_finite({'l_d_real': torch.tensor(float('inf'))}, 12)
    assert f'the last saved checkpoint is in {tmp_path / "models"}' in str(err.value)
    assert '--auto_resume' in str(err.value)


def test_a_swallowed_ctrl_c_stops_the_next_iteration(tmp_path):
    with interrupts.sigint_recorded():
        swallowed_ctrl_c()
        with pytest.raises(KeyboardInterrupt):
            _model(tmp_path).check_finite({'l': torch.tensor(1.0)}, 5)
