"""The two-source test and intervals by simulation, at more replications than the suite
runs (scripts/mnist_study/simulation.py: two regimes and a third where the test images
dominate by far; 3, 5 and 10 seeds), against two alternatives on the same draws:
- "satterthwaite": the plug-in t, the unbiased variance (MS_seeds + MS_images -
  MS_error) / (S n) with Satterthwaite's degrees of freedom;
- "before": the procedure on main before issue 39, (MS_seeds + MS_images) / (S n) on the
  seeds' S - 1 degrees of freedom (the residual counted twice).

    python bench/stats_check.py [--reps 2000] [--out bench/results/stats_check]

Writes the size at 0.05, the size at 0.05 / 28 (the level Holm's first step reads) and
Holm's family-wise error over 28 null pairs; the coverage of the model and pair
intervals, the power at half a point and the one-source intervals' coverage.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from common import RESULTS, write_summary

from mnist_study import simulation, stats


def alternative_p_values(scores, procedure: str):
    """Two-sided p-values of a zero mean under one of the alternative procedures."""
    from scipy.stats import t

    seeds, images = scores.shape[-2:]
    mean, ms_seed, ms_image, ms_error = stats.crossed_mean_squares(scores)
    cell = seeds * images
    if procedure == "satterthwaite":
        variance = np.maximum(ms_seed + ms_image - ms_error, 1e-30) / cell
        parts = ms_seed**2 / (seeds - 1) + ms_image**2 / (images - 1)
        parts += ms_error**2 / ((seeds - 1) * (images - 1))
        df = (ms_seed + ms_image - ms_error) ** 2 / np.maximum(parts, 1e-30)
        df = np.clip(df, 1, None)
    else:
        variance, df = np.maximum(ms_seed + ms_image, 1e-30) / cell, seeds - 1
    return 2 * t.sf(np.abs(mean) / np.sqrt(variance), df)


def null_check(rng, regime: str, seeds: int, reps: int, models: int = 8, alpha=0.05) -> dict:
    """Size, tail size and Holm's family-wise error of each procedure, same draws."""
    found: dict[str, list] = {}
    for size in simulation._chunks(reps):
        runs = simulation.correct(rng, size, seeds, regime, [0.0] * models)
        pairs = simulation.pair_differences(runs)
        found.setdefault("generalized", []).append(
            stats.crossed_test(pairs, interval=False)["p_value"]
        )
        for procedure in ("satterthwaite", "before"):
            found.setdefault(procedure, []).append(alternative_p_values(pairs, procedure))
    out = {}
    for procedure, chunks in found.items():
        p = np.concatenate(chunks)
        out[procedure] = {
            "size": float((p < alpha).mean()),
            "tail_size": float((p < alpha / p.shape[1]).mean()),
            "fwer": float(np.mean([(stats.holm(row) < alpha).any() for row in p])),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=2000)
    parser.add_argument("--out", default=str(RESULTS / "stats_check"))
    args = parser.parse_args()
    started, summary, lines = time.perf_counter(), {"reps": args.reps}, []
    lines += [
        f"# The two-source test by simulation ({args.reps} replications a cell)",
        "",
        "| regime | seeds | procedure | size at 0.05 | size at 0.05/28 | Holm FWER |",
        "|---|---|---|---|---|---|",
    ]
    for regime in simulation.REGIMES:
        for seeds in (3, 5, 10):
            rng = np.random.default_rng(1000 + seeds)
            result = null_check(rng, regime, seeds, args.reps)
            summary[f"null {regime} {seeds}"] = result
            for procedure, r in result.items():
                lines.append(
                    f"| {regime} | {seeds} | {procedure} | {100 * r['size']:.1f}% | "
                    f"{100 * r['tail_size']:.2f}% | {100 * r['fwer']:.1f}% |"
                )
            print(regime, seeds, result, flush=True)
    lines += [
        "",
        f"Two models 0.1 log-odds apart, {2 * args.reps} replications a cell:",
        "",
        "| regime | seeds | model coverage | pair coverage | power | seeds-only pair | "
        "images-only pair | seeds-only model | images-only model |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for regime in simulation.REGIMES:
        for seeds in (3, 5, 10):
            rng = np.random.default_rng(2000 + seeds)
            r = simulation.interval_check(rng, regime, seeds, 2 * args.reps)
            summary[f"intervals {regime} {seeds}"] = r
            lines.append(
                f"| {regime} | {seeds} | {100 * r['coverage_model']:.1f}% | "
                f"{100 * r['coverage_pair']:.1f}% | {100 * r['power']:.1f}% | "
                f"{100 * r['seeds_only_pair']:.1f}% | {100 * r['images_only_pair']:.1f}% | "
                f"{100 * r['seeds_only_model']:.1f}% | {100 * r['images_only_model']:.1f}% |"
            )
            print(regime, seeds, r, flush=True)
    summary["seconds"] = time.perf_counter() - started
    lines += ["", f"{summary['seconds']:.0f} s in all.", ""]
    write_summary(Path(args.out), summary, "\n".join(lines))


if __name__ == "__main__":
    main()
