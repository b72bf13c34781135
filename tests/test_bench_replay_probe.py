"""scripts/bench/replay_probe.py: its rule, its report and its refusals (the trainings it plans are
``quality/runs.py``'s, tested in test_bench_quality.py)."""
import pytest

import replay_probe


def scores(gains, base=13.0):
    """``{replay: {row: {domain: metrics}}}`` with the full method's val PSNR moved by ``gains`` per domain."""
    domains = [f'd{i}' for i in range(len(gains))]
    return {False: {'ours': {d: {'psnr': base} for d in domains}},
            True: {'ours': {d: {'psnr': base + g} for d, g in zip(domains, gains, strict=True)}}}, domains


@pytest.mark.parametrize('gains, adopted', [
    ((0.1, 0.1, 0.1, 0.1), True),
    ((0.5, 0.5, 0.5, -0.25), True),
    ((0.05, 0.1, 0.1, 0.1), False),  # mean +0.0875: under the margin
    ((0.8, 0.8, 0.8, -0.4), False),  # a domain loses more than 0.3 dB
])
def test_rule_needs_the_mean_gain_and_no_large_loss(gains, adopted):
    verdict, mean, worst = replay_probe.rule(*scores(gains))
    assert verdict is adopted and mean == pytest.approx(sum(gains) / 4) and worst == pytest.approx(min(gains))


def test_report_says_the_verdict_and_each_difference():
    cfg = replay_probe.quality_args(['--work', '/w', '--seeds', '0', '1', '--domains', 'camera', 'cctv'])
    args = type('Args', (), {'rows': ['ours']})()
    table = {f'scene{i}': {'psnr': [13.0 + i, 13.2 + i], 'ciede2000': [20.0, 20.0]} for i in range(3)}
    wider = {s: {'psnr': [v + 0.3 for v in m['psnr']], 'ciede2000': [19.0, 19.0]} for s, m in table.items()}
    tables = {(rep, name, d): (wider if rep else table) for rep, name in ((False, 'generic'), (False, 'ours'),
                                                                            (True, 'ours')) for d in cfg.domains}
    for key in ('ssim', 'psnr_cm', 'noise'):
        for t in (table, wider):
            for m in t.values():
                m[key] = [0.5, 0.5]
    text = replay_probe.make_report(args, cfg, tables, 60)
    assert '**adopted**' in text and 'Mean +0.30 dB' in text
    assert text.count('+0.30 [+0.30, +0.30]') == 2  # one row per domain, the interval over scenes x seeds


def test_a_missing_benchmark_folder_is_one_line_and_the_rule_needs_its_row(tmp_path):
    with pytest.raises(SystemExit, match='manifest.json: missing; run scripts/bench/quality.py'):
        replay_probe.main(['--work', str(tmp_path)])
    with pytest.raises(SystemExit):
        replay_probe.parse_args(['--work', str(tmp_path), '--rows', 'naive', 'stats'])
