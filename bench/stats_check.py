"""The two-source test, its intervals and its advice by simulation, at more replications
than the suite runs (scripts/mnist_study/simulation.py: the regimes where the seeds
dominate, where the test images do, where they do by far, and the bundled sample's own,
fitted to its Keras CNN and MLP; 3, 5 and 10 seeds), each figure next to the one derived
for it from the regime's true variance parts under the crossed normal model
(`simulation.true_components`, `stats.rejection_chance`), against two alternatives on
the same draws:
- "satterthwaite": the plug-in t, the unbiased variance (MS_seeds + MS_images -
  MS_error) / (S n) with Satterthwaite's degrees of freedom;
- "before": the procedure on main before issue 39, (MS_seeds + MS_images) / (S n) on the
  seeds' S - 1 degrees of freedom (the residual counted twice).

    python bench/stats_check.py [--reps 1000] [--out bench/results/stats_check]

Writes the size at 0.05, the size at 0.05 / 28 (the level Holm's first step reads) and
Holm's family-wise error over 28 null pairs; the coverage of the model and pair
intervals, the power at half a point and the one-source intervals' coverage; the rate
of each answer of the advice (`stats.advice_rule`); the size with seed effects
t-distributed on 3 degrees of freedom and correlated 0.5 between models; and the
unpaired test's size (5 seeds against 3).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from common import RESULTS, write_summary
from scipy.stats import chi2, f

from mnist_study import simulation, stats

IMAGES = simulation.IMAGES


def alternative_p_values(mean_squares, seeds: int, images: int, procedure: str):
    """Two-sided p-values of a zero mean under one of the alternative procedures."""
    from scipy.stats import t

    mean, ms_seed, ms_image, ms_error = mean_squares
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


def derived(regime: str, seeds: int, alpha: float, model=False, **kind) -> float:
    """The generalized test's rejection chance under the null, from true parts."""
    c = simulation.true_components(regime, model=model, **kind)
    seed_term = c["var_seeds"] / seeds + c["var_error"] / (seeds * IMAGES)
    return float(stats.rejection_chance(seed_term, c["var_images"] / IMAGES, seeds - 1, alpha))


def null_check(rng, regime: str, seeds: int, reps: int, models: int = 8, alpha=0.05, **kind):
    """Size, tail size and Holm's family-wise error of each procedure, same draws; and
    the advice's answers (one per pair)."""
    found: dict[str, list] = {}
    answers = []
    for size in simulation._chunks(reps):
        runs = simulation.correct(rng, size, seeds, regime, [0.0] * models, **kind)
        mean_squares = simulation.pair_mean_squares(runs)
        mean, ms_seed, ms_image, ms_error = mean_squares
        cell = seeds * IMAGES
        found.setdefault("generalized", []).append(
            stats.generalized_p_value(
                mean, ms_seed / cell, np.maximum(ms_image - ms_error, 0) / cell, seeds - 1
            )
        )
        for procedure in ("satterthwaite", "before"):
            found.setdefault(procedure, []).append(
                alternative_p_values(mean_squares, seeds, IMAGES, procedure)
            )
        answers.append(stats.advice_rule(ms_seed, ms_image, ms_error, seeds, IMAGES))
    out = {}
    for procedure, chunks in found.items():
        p = np.concatenate(chunks)
        out[procedure] = {
            "size": float((p < alpha).mean()),
            "tail_size": float((p < alpha / p.shape[1]).mean()),
            "fwer": float(np.mean([(stats.holm(row) < alpha).any() for row in p])),
        }
    answers = np.concatenate(answers)
    out["advice"] = {a: float((answers == a).mean()) for a in stats_answers()}
    return out


def stats_answers():
    return ("more seeds", "more test images", "cannot tell")


def advice_rates(regime: str, seeds: int) -> dict:
    """Each answer's chance under the crossed normal model (an F law; tests/test_verdicts.py)."""
    c, df = simulation.true_components(regime), seeds - 1
    ratio = (seeds * c["var_images"] + c["var_error"]) / (IMAGES * c["var_seeds"] + c["var_error"])
    more_seeds = float(f.sf(chi2.ppf(0.975, df) / df * ratio, df, IMAGES - 1))
    more_images = float(f.cdf(chi2.ppf(0.025, df) / df * ratio, df, IMAGES - 1))
    return {"more seeds": more_seeds, "more test images": more_images,
            "cannot tell": 1 - more_seeds - more_images}  # fmt: skip


def unpaired_size(rng, regime: str, reps: int, alpha=0.05, **kind) -> float:
    """The unpaired test's size, one model on 5 seeds and the other on 3 (of the same
    draw's test images)."""
    p = []
    for size in simulation._chunks(reps):
        runs = simulation.correct(rng, size, 5, regime, **kind)
        p.append(stats.unpaired_test(runs[:, 0], runs[:, 1, :3], interval=False)["p_value"])
    return float((np.concatenate(p) < alpha).mean())


def percent(x: float, digits: int = 1) -> str:
    return f"{100 * x:.{digits}f}%"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=1000)
    parser.add_argument("--out", default=str(RESULTS / "stats_check"))
    args = parser.parse_args()
    started, summary, lines = time.perf_counter(), {"reps": args.reps}, []
    components = {r: simulation.true_components(r) for r in simulation.REGIMES}
    summary["components"] = components
    lines += [
        f"# The two-source test by simulation ({args.reps} replications a cell)",
        "",
        "True variance parts of a null pair's difference (simulation.true_components):",
        "",
        "| regime | accuracy | var_seeds | var_images | var_error |",
        "|---|---|---|---|---|",
        *(
            f"| {r} | {c['accuracy']:.4f} | {c['var_seeds']:.3g} | {c['var_images']:.3g} | "
            f"{c['var_error']:.3g} |"
            for r, c in components.items()
        ),
        "",
        "Eight equally good models, 28 null pairs a replication; derived: the generalized "
        "test's size from the true parts (stats.rejection_chance):",
        "",
        "| regime | seeds | procedure | size at 0.05 (derived) | size at 0.05/28 (derived) "
        "| Holm FWER |",
        "|---|---|---|---|---|---|",
    ]
    advice_lines = []
    for regime in simulation.REGIMES:
        for seeds in (3, 5, 10):
            rng = np.random.default_rng(1000 + seeds)
            result = null_check(rng, regime, seeds, args.reps)
            sizes = (derived(regime, seeds, 0.05), derived(regime, seeds, 0.05 / 28))
            result["derived"] = {"size": sizes[0], "tail_size": sizes[1]}
            result["advice_derived"] = advice_rates(regime, seeds)
            summary[f"null {regime} {seeds}"] = result
            for procedure in ("generalized", "satterthwaite", "before"):
                r = result[procedure]
                extra = (
                    (f" ({percent(sizes[0])})", f" ({percent(sizes[1], 3)})")
                    if procedure == "generalized"
                    else ("", "")
                )
                lines.append(
                    f"| {regime} | {seeds} | {procedure} | {percent(r['size'])}{extra[0]} | "
                    f"{percent(r['tail_size'], 3)}{extra[1]} | {percent(r['fwer'])} |"
                )
            advice_lines.append(
                f"| {regime} | {seeds} | "
                + " | ".join(
                    f"{percent(result['advice'][a])} ({percent(result['advice_derived'][a])})"
                    for a in stats_answers()
                )
                + " |"
            )
            print(regime, seeds, {k: v for k, v in result.items()}, flush=True)
    lines += [
        "",
        "The advice over the same pairs (stats.advice_rule), each answer's share "
        "(derived, an F law):",
        "",
        "| regime | seeds | more seeds | more test images | cannot tell |",
        "|---|---|---|---|---|",
        *advice_lines,
        "",
        "Seed effects of another law, 5 seeds, the generalized test (derived: normal seeds "
        "of the same law's parts):",
        "",
        "| regime | seed effects | size at 0.05 (derived) | size at 0.05/28 (derived) | "
        "Holm FWER | unpaired, 5 and 3 seeds |",
        "|---|---|---|---|---|---|",
    ]
    for regime in ("seeds", "sample"):
        for label, kind in (
            ("normal", {}),
            ("t, 3 df", {"tails": "t3"}),
            ("correlated 0.5", {"correlation": 0.5}),
        ):
            rng = np.random.default_rng(3000)
            r = null_check(rng, regime, 5, args.reps, **kind)["generalized"]
            sizes = (derived(regime, 5, 0.05, **kind), derived(regime, 5, 0.05 / 28, **kind))
            unpaired = unpaired_size(np.random.default_rng(4000), regime, 2 * args.reps, **kind)
            summary[f"seed law {regime} {label}"] = r | {"derived": sizes, "unpaired": unpaired}
            lines.append(
                f"| {regime} | {label} | {percent(r['size'])} ({percent(sizes[0])}) | "
                f"{percent(r['tail_size'], 3)} ({percent(sizes[1], 3)}) | {percent(r['fwer'])} "
                f"| {percent(unpaired)} |"
            )
            print(regime, label, summary[f"seed law {regime} {label}"], flush=True)
    lines += [
        "",
        f"Two models 0.1 log-odds apart, {2 * args.reps} replications a cell (derived "
        "coverage in brackets):",
        "",
        "| regime | seeds | model coverage | pair coverage | power | seeds-only pair | "
        "images-only pair | seeds-only model | images-only model |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for regime in simulation.REGIMES:
        for seeds in (3, 5, 10):
            rng = np.random.default_rng(2000 + seeds)
            r = simulation.interval_check(rng, regime, seeds, 2 * args.reps)
            cover = [1 - derived(regime, seeds, 0.05, model=m) for m in (True, False)]
            summary[f"intervals {regime} {seeds}"] = r | {"derived": cover}
            lines.append(
                f"| {regime} | {seeds} | {percent(r['coverage_model'])} ({percent(cover[0])}) | "
                f"{percent(r['coverage_pair'])} ({percent(cover[1])}) | {percent(r['power'])} | "
                f"{percent(r['seeds_only_pair'])} | {percent(r['images_only_pair'])} | "
                f"{percent(r['seeds_only_model'])} | {percent(r['images_only_model'])} |"
            )
            print(regime, seeds, r, flush=True)
    summary["seconds"] = time.perf_counter() - started
    lines += ["", f"{summary['seconds']:.0f} s in all.", ""]
    write_summary(Path(args.out), summary, "\n".join(lines))


if __name__ == "__main__":
    main()
