"""Flush denormal floats to zero (FTZ/DAZ) on the CPU, in every process that imports the plugin.

Training drives small activations, gradients and weights (weight decay) into the denormal range, which x86
CPUs handle in slow microcode: a trained network can run several times slower than a randomly initialised one,
and a training run slows as it goes (``scripts/bench/denormals.py`` measures it; docs/benchmarks.md). Flushing
changes results by less than the smallest normal float32 (1.2e-38) per operation.

``torch.set_flush_denormal`` sets the floating-point mode of the calling thread only; the threads of torch's
intra-op (OpenMP) pool copy it from the main thread when they are created. So ``flush()`` runs as soon as a process
uses the plugin (``basicsr_compat.prepare``): at the first basicsr import when a plugin module came first (every
plugin module that builds a network imports basicsr), else when the plugin registers. It checks every pool thread
afterwards. Dataloader workers (forked: they copy the main thread's mode; spawned: unpickling a plugin dataset
imports the plugin) and torchrun ranks (each parses the options) inherit it. A process that never uses the plugin
keeps torch's default.

``RDDG_FLUSH_DENORMAL=0`` turns it off.
"""
import os
import warnings

import torch

ENV = 'RDDG_FLUSH_DENORMAL'
_DENORMAL_BITS = 0x000AE398  # float32 bit pattern of 1e-39, a denormal (the smallest normal float32 is 1.18e-38)


def enabled():
    """False when ``RDDG_FLUSH_DENORMAL`` is 0 / false / no / off."""
    return os.environ.get(ENV, '1').strip().lower() not in ('0', 'false', 'no', 'off')


def flush():
    """Turn FTZ/DAZ on for this process unless disabled; returns True when every intra-op thread flushes."""
    if not enabled():
        return False
    if not torch.set_flush_denormal(True):
        return False  # the CPU has no FTZ/DAZ (not x86 with SSE3): nothing to do
    unflushed = unflushed_fraction()
    if unflushed > 0:
        warnings.warn(f'denormal floats are flushed on only {1 - unflushed:.0%} of torch\'s CPU threads: torch ran '
                      'parallel code before the plugin was first used, so trained models may run slower. '
                      f'Import the plugin before other torch work (or set {ENV}=0 to silence '
                      'this).', stacklevel=2)
    return unflushed == 0


def unflushed_fraction(numel=1 << 17):
    """Share of an elementwise op, split over torch's intra-op threads, that kept denormal inputs (0.0 = all
    threads flush). The input is made from integer bits (a float conversion would itself flush it)."""
    x = torch.full((numel, ), _DENORMAL_BITS, dtype=torch.int32).view(torch.float32)
    return float((x * 1.0).count_nonzero()) / numel
