"""DarkeningGANModel (stage 1) in-process: which network learns from what, and when."""
import rddg_basicsr  # noqa: F401, I001  (compat layer before any basicsr import)

import copy

import pytest
import torch

from basicsr.models import build_model

from helpers import stage1_model_options
from rddg_basicsr.stage1 import Stage1


def batch(size=24):
    g = torch.Generator().manual_seed(0)
    nl = torch.rand(2, 3, size, size, generator=g)
    return {'gt': nl, 'lq': nl * 0.3, 'real': torch.rand(2, 3, size, size, generator=g) * 0.1}


def snapshot(net):
    return copy.deepcopy(net.state_dict())


def changed(net, before):
    return any(not torch.equal(before[k], v) for k, v in net.state_dict().items())


def test_one_step_updates_g_and_d_and_logs_every_term(tmp_path):
    model = build_model(stage1_model_options(tmp_path))
    g0, d0 = snapshot(model.net_g), snapshot(model.net_d)
    model.feed_data(batch())
    model.optimize_parameters(1)
    assert changed(model.net_g, g0) and changed(model.net_d, d0)
    assert set(model.log_dict) == {'l_g_pix', 'l_g_ssim', 'l_g_percep', 'l_g_gan', 'l_d_real', 'l_d_fake',
                                   'out_d_real', 'out_d_fake', 'acc_d'}
    assert 0 <= model.log_dict['acc_d'] <= 1


def test_g_waits_for_net_d_init_iters_and_steps_every_net_d_iters(tmp_path):
    model = build_model(stage1_model_options(tmp_path, net_d_init_iters=2, net_d_iters=2))
    model.feed_data(batch())
    for it, g_steps in ((1, False), (2, False), (3, False), (4, True)):
        g0, d0 = snapshot(model.net_g), snapshot(model.net_d)
        model.optimize_parameters(it)
        assert changed(model.net_g, g0) == g_steps, it
        assert changed(model.net_d, d0), it
        assert ('l_g_gan' in model.log_dict) == g_steps


def test_generator_loss_is_the_weighted_sum_of_the_paper_terms(tmp_path):
    model = build_model(stage1_model_options(tmp_path, 'stage1_paper.yml'))
    data = batch()
    model.feed_data(data)
    with torch.no_grad():
        x_g = model.net_g(data['gt'])
        l1 = (x_g - data['lq']).abs().mean()
        d_logits = model.net_d(x_g)
        adv = torch.nn.functional.binary_cross_entropy_with_logits(d_logits, torch.ones_like(d_logits))
    model.optimize_parameters(1)
    assert model.log_dict['l_g_pix'] == pytest.approx(l1.item(), rel=1e-5)  # target: the synthetic twin x_s
    assert model.log_dict['l_g_gan'] == pytest.approx(0.02 * adv.item(), rel=1e-4)  # -log D(x_g), weight 0.02


def test_anchor_y_holds_mu_to_the_input_instead_of_the_twin(tmp_path):
    model = build_model(stage1_model_options(tmp_path, 'stage1_paper.yml', anchor='y'))
    data = batch()
    model.feed_data(data)
    with torch.no_grad():
        x_g = model.net_g(data['gt'])
        to_y, to_twin = (x_g - data['gt']).abs().mean().item(), (x_g - data['lq']).abs().mean().item()
    model.optimize_parameters(1)
    assert abs(to_y - to_twin) > 1e-2  # the two targets really differ
    assert model.log_dict['l_g_pix'] == pytest.approx(to_y, rel=1e-5)


@pytest.mark.parametrize('anchor', ['nl', 'X_S', 1])
def test_an_unknown_anchor_is_refused_naming_the_option(tmp_path, anchor):
    with pytest.raises(ValueError, match='train.anchor: expected x_s .* or y'):
        build_model(stage1_model_options(tmp_path, anchor=anchor))


def test_discriminator_sees_real_images_as_real(tmp_path):
    model = build_model(stage1_model_options(tmp_path))
    data = batch()
    model.feed_data(data)
    with torch.no_grad():
        real_logits = model.net_d(data['real'])
    model.optimize_parameters(1)
    assert model.log_dict['out_d_real'] == pytest.approx(real_logits.mean().item(), rel=1e-5)


def test_gan_opt_is_required(tmp_path):
    opt = stage1_model_options(tmp_path)
    opt['train'].pop('gan_opt')
    with pytest.raises(ValueError, match='gan_opt'):
        build_model(opt)


def test_test_mode_loads_d_for_the_domain_score(tmp_path):
    trained = build_model(stage1_model_options(tmp_path))
    trained.save(0, 5)
    opt = stage1_model_options(tmp_path)
    opt.update(is_train=False)
    opt['path'].update(pretrain_network_g=str(tmp_path / 'net_g_5.pth'),
                       pretrain_network_d=str(tmp_path / 'net_d_5.pth'))
    model = build_model(opt)
    model.feed_data(batch())
    model.test()
    data = model.extra_metric_data()
    assert data['d_prob'].shape == (2, 1, 24, 24) and data['d_prob_real'].shape == (2, 1, 24, 24)
    assert torch.equal(model.net_d.state_dict()['body.0.weight'], trained.net_d.state_dict()['body.0.weight'])


@pytest.mark.parametrize('smooth', ['rf', 'none', 5])
def test_validation_maps_are_the_maps_stage2_uses(tmp_path, smooth):
    """The heat maps and domain scores of validation come from the same ``Stage1`` maps (``maps.smooth``) that
    pseudo pairs and stage 2 get from this D; a bad ``maps.smooth`` stops the build with the option named."""
    opt = stage1_model_options(tmp_path)
    opt['maps'] = {'smooth': smooth}
    model = build_model(opt)
    model.feed_data(batch(size=40))
    model.test()
    expected = Stage1(None, model.net_d, smooth).domain_map(model.output)
    assert torch.equal(model.current_domain_map(), expected) and model.net_d.training
    raw = torch.sigmoid(model.net_d(model.output)).detach()
    assert torch.equal(model.current_domain_map(), raw) == (smooth == 'none')
    opt['maps'] = {'smooth': 'coarse'}
    with pytest.raises(ValueError, match='maps.smooth: expected none, rf'):
        build_model(opt)


def test_discriminator_learns_to_tell_real_from_generated(tmp_path):
    """With G held back (net_d_init_iters), D separates x_r from x_g = y: its accuracy climbs to ~1."""
    torch.manual_seed(0)
    model = build_model(stage1_model_options(tmp_path, net_d_init_iters=1000, optim_d={'type': 'Adam', 'lr': 1e-3}))
    model.feed_data(batch())
    accuracy = []
    for it in range(1, 51):
        model.optimize_parameters(it)
        accuracy.append(model.log_dict['acc_d'])
    assert accuracy[-1] >= 0.95 and accuracy[-1] > accuracy[0], accuracy
    assert model.log_dict['out_d_real'] > 0 > model.log_dict['out_d_fake']


def _stochastic_step(tmp_path):
    """One step of the default (stochastic) stage 1 anchored to x_s (y would make mu's L1 ~0 at the start); returns
    the log and the L1 of the clean image and of a sample."""
    model = build_model(stage1_model_options(tmp_path, anchor='x_s'))
    data = batch()
    model.feed_data(data)
    torch.manual_seed(7)
    with torch.no_grad():
        sample, clean = model.net_g(data['gt'], return_clean=True)
    torch.manual_seed(7)
    model.optimize_parameters(1)
    return model.log_dict, (clean - data['lq']).abs().mean().item(), (sample - data['lq']).abs().mean().item()


def test_the_anchor_holds_the_clean_image_not_the_sample(tmp_path):
    log, l1_clean, l1_sample = _stochastic_step(tmp_path)
    assert abs(l1_clean - l1_sample) > 1e-4  # the camera layer really changes the image
    assert log['l_g_pix'] == pytest.approx(l1_clean, rel=1e-5)


def test_adversarial_weight_zero_is_the_table1_ablation(tmp_path):
    """gan_opt.loss_weight 0: G learns from the anchor alone, D still learns (its maps stay available)."""
    opt = stage1_model_options(tmp_path, 'stage1_paper.yml')
    opt['train']['gan_opt']['loss_weight'] = 0
    model = build_model(opt)
    d0 = snapshot(model.net_d)
    model.feed_data(batch())
    model.optimize_parameters(1)
    assert model.log_dict['l_g_gan'] == 0 and model.log_dict['l_g_pix'] > 0
    assert changed(model.net_d, d0)


def test_validation_runs_d_in_eval_mode_and_restores_training(tmp_path):
    opt = stage1_model_options(tmp_path)
    opt['network_d']['norm'] = 'batch'
    model = build_model(opt)
    model.feed_data(batch())
    modes = []
    model.net_d.register_forward_pre_hook(lambda module, args: modes.append(module.training))
    model.test()
    assert modes and not any(modes)  # batch norm with running statistics, as at deployment
    assert model.net_d.training


# ---- the degradation parameters' own optimizer group (train.optim_g.degradation) --------------------------------
def _groups(model):
    camera = {id(p) for _, p in model.net_g.degradation_parameters()}
    return [({id(p) for p in g['params']}, g) for g in model.optimizer_g.param_groups], camera


def test_default_preset_puts_the_camera_in_its_own_group_without_weight_decay(tmp_path):
    opt = stage1_model_options(tmp_path)
    model = build_model(opt)
    ((rest, base), (cam, group)), camera = _groups(model)
    assert cam == camera and not rest & camera
    assert rest | cam == {id(p) for p in model.net_g.parameters()}
    settings = opt['train']['optim_g']
    assert group['weight_decay'] == 0 and group['lr'] == settings['degradation']['lr']
    assert base['weight_decay'] == settings['weight_decay'] and base['lr'] == settings['lr']


def test_without_the_option_or_a_camera_g_has_one_group(tmp_path):
    opt = stage1_model_options(tmp_path)
    opt['train']['optim_g'].pop('degradation')
    assert len(build_model(opt).optimizer_g.param_groups) == 1
    assert len(build_model(stage1_model_options(tmp_path, 'stage1_paper.yml')).optimizer_g.param_groups) == 1


def test_each_group_steps_at_its_own_learning_rate(tmp_path):
    """Adam's first step moves every parameter by about its group's lr: DN's by optim_g.lr, the camera's by
    degradation.lr (no weight decay in the camera's group: its step is the adversarial gradient's sign alone)."""
    optim_g = {'type': 'Adam', 'lr': 1e-4, 'weight_decay': 1e-3, 'eps': 1e-20,  # eps: the step is lr * sign(grad)
               'degradation': {'lr': 5e-2, 'weight_decay': 0}}
    model = build_model(stage1_model_options(tmp_path, optim_g=optim_g))
    before = snapshot(model.net_g)
    model.feed_data(batch())
    model.optimize_parameters(1)
    after = model.net_g.state_dict()
    step = {k: (after[k] - before[k]).abs().max().item() for k in before}
    assert step['camera.log_shot'] == pytest.approx(5e-2, rel=0.01)
    assert step['camera.log_gain'] == pytest.approx(5e-2, rel=0.01)
    assert step['conv_last.1.bias'] == pytest.approx(1e-4, rel=0.01)


@pytest.mark.parametrize('value,match', [({'momentum': 0.9}, "'momentum' is not a setting of Adam"),
                                         (1e-3, 'expected a mapping')])
def test_bad_degradation_group_is_refused(tmp_path, value, match):
    opt = stage1_model_options(tmp_path)
    opt['train']['optim_g']['degradation'] = value
    with pytest.raises(ValueError, match=f'train.optim_g.degradation: {match}'):
        build_model(opt)


def test_resume_restores_both_groups(tmp_path):
    """A training state saved with the camera's group resumes into a fresh model: same groups, same Adam moments,
    the same next step."""
    model = build_model(stage1_model_options(tmp_path))
    model.feed_data(batch())
    for it in (1, 2):
        model.optimize_parameters(it)
        model.update_learning_rate(it)
    model.save_training_state(0, 2)
    model.save_network(model.net_g, 'net_g', 2)
    model.save_network(model.net_d, 'net_d', 2)
    opt = stage1_model_options(tmp_path)
    opt['path'].update(pretrain_network_g=str(tmp_path / 'net_g_2.pth'),
                       pretrain_network_d=str(tmp_path / 'net_d_2.pth'))
    resumed = build_model(opt)
    resumed.resume_training(torch.load(tmp_path / '2.state', weights_only=True))
    saved, loaded = model.optimizer_g.state_dict(), resumed.optimizer_g.state_dict()
    assert len(loaded['param_groups']) == 2
    assert [g['lr'] for g in loaded['param_groups']] == [g['lr'] for g in saved['param_groups']]
    assert all(torch.equal(saved['state'][k]['exp_avg'], loaded['state'][k]['exp_avg']) for k in saved['state'])
    resumed.feed_data(batch())
    for m in (model, resumed):
        torch.manual_seed(11)
        m.optimize_parameters(3)
    assert torch.equal(model.net_g.camera.log_read, resumed.net_g.camera.log_read)
