"""Quality benchmark v3: the shipped generic model, and every trained row fine-tuning it with the same budget (naive
pairs, statistics matching, the paper's stage 1, ours, an oracle), against the peers on four target domains
(scripts/bench/DOMAINS.md), scenes split by scene; a convergence gate, intervals over scenes and seeds.

    python scripts/bench/quality.py [--quick] [--reuse] [--seeds 0 1 2] [--domains ...] [--rows ...] [--num-gpu 1]

The code lives in the package scripts/bench/quality/ (scenes, domains, data, draw_dataset, rows, runs, peers, metrics,
stats, figures, report); this file only runs it.
"""

from quality.main import main  # the package beside this file

if __name__ == '__main__':
    main()
