"""Test harness (not a test module): runs ``rddg_basicsr/train.py``'s pipeline with probes attached.

    python tests/probe_train.py -opt X.yml [--launcher pytorch] ...   (BasicSR's usual arguments)

Environment switches, each read once:
    PROBE_DUMP_DIR=DIR       after training, every rank saves the weights it holds and the sample indices its
                             sampler gave it in the first epoch and the process-group backend to DIR/rank<r>.pth
    PROBE_KILL_AT_SAVE=N     the N-th ``torch.save`` call writes half its bytes, then the process SIGKILLs itself
    PROBE_FREEZE=R:N         rank R stops itself (SIGSTOP, as a hung GPU or a debugger would) at iteration N
"""
import io
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import rddg_basicsr  # noqa: E402,F401  (compat before basicsr)
import basicsr.train  # noqa: E402
import torch  # noqa: E402
from basicsr.data.data_sampler import EnlargedSampler  # noqa: E402

from rddg_basicsr.cli import run_pipeline  # noqa: E402


def kill_during_save(n):
    real_save, calls = torch.save, [0]

    def save(obj, f, *args, **kwargs):
        calls[0] += 1
        if calls[0] < n:
            return real_save(obj, f, *args, **kwargs)
        buffer = io.BytesIO()
        real_save(obj, buffer)
        data = buffer.getvalue()
        f.write(data[:len(data) // 2])
        f.flush()
        os.kill(os.getpid(), signal.SIGKILL)

    torch.save = save


def freeze_at(rank, iteration):
    build_model = basicsr.train.build_model

    def build_and_freeze(opt):
        model = build_model(opt)
        optimize = model.optimize_parameters

        def optimize_or_freeze(current_iter):
            if opt['rank'] == rank and current_iter == iteration:
                os.kill(os.getpid(), signal.SIGSTOP)
            return optimize(current_iter)

        model.optimize_parameters = optimize_or_freeze
        return model

    basicsr.train.build_model = build_and_freeze


def dump_weights(directory):
    build_model, models, indices = basicsr.train.build_model, [], []
    sampler_iter = EnlargedSampler.__iter__

    def record_indices(sampler):
        seen = list(sampler_iter(sampler))
        if not indices:
            indices.extend(seen)
        return iter(seen)

    EnlargedSampler.__iter__ = record_indices

    def build_and_keep(opt):
        models.append(build_model(opt))
        return models[-1]

    basicsr.train.build_model = build_and_keep

    def dump():
        model = models[0]
        nets = {name: model.get_bare_model(getattr(model, name)).state_dict()
                for name in ('net_g', 'net_d') if hasattr(model, name)}
        nets['indices'] = torch.tensor(indices)
        nets['backend'] = torch.distributed.get_backend() if torch.distributed.is_initialized() else 'none'
        torch.save(nets, os.path.join(directory, f'rank{model.opt["rank"]}.pth'))

    return dump


if __name__ == '__main__':
    if os.environ.get('PROBE_KILL_AT_SAVE'):
        kill_during_save(int(os.environ['PROBE_KILL_AT_SAVE']))
    if os.environ.get('PROBE_FREEZE'):
        freeze_at(*map(int, os.environ['PROBE_FREEZE'].split(':')))
    dump = dump_weights(os.environ['PROBE_DUMP_DIR']) if os.environ.get('PROBE_DUMP_DIR') else None
    run_pipeline('train', "BasicSR's training pipeline with probes attached.")
    if dump:
        dump()
