"""Matplotlib figures of the benchmark results (PNG, no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

__all__ = ["accuracy_plot", "learning_curve_plot", "paired_plot", "plateau_plot", "score_error_plot"]

# Which (recipe, predictor) pairs to draw, and their legend names, in order.
BARS = [
    ("supervised", "averaged", "A supervised"),
    ("label_terms", "averaged", "B supervised + label-only terms"),
    ("paper", "averaged", "D paper's objective"),
    ("no_teacher", "averaged", "C without teacher"),
    ("no_class_balance", "averaged", "C without class balance"),
    ("no_contrastive", "averaged", "C without contrast"),
    ("no_bidirectional", "averaged", "C without uncertainty weighting"),
    ("pdcr", "averaged", "C + PDCR"),
    ("default", "averaged", "C default (semi-supervised)"),
]


def accuracy_plot(summary: list[dict[str, Any]], label_names: dict[str, tuple[str, ...]], path: Path) -> None:
    """One panel per study set: Dice (mean over labels) per recipe, grouped by labeled fraction, ± std over seeds."""
    datasets = sorted({r["dataset"] for r in summary})
    fig, axes = plt.subplots(1, len(datasets), figsize=(7 * len(datasets), 5.2), squeeze=False)
    base = min(r["iterations"] for r in summary)
    rows = {(r["dataset"], r["fraction"], r["recipe"], r["predictor"]): r for r in summary if r["iterations"] == base}
    for ax, dataset in zip(axes[0], datasets):
        fractions = sorted({r["fraction"] for r in summary if r["dataset"] == dataset})
        width = 0.8 / len(BARS)
        for b, (recipe, predictor, name) in enumerate(BARS):
            means = [
                rows.get((dataset, f, recipe, predictor), {}).get("dice", {}).get("mean_all_labels", np.nan)
                for f in fractions
            ]
            stds = [
                rows.get((dataset, f, recipe, predictor), {}).get("dice", {}).get("std_all_labels", 0.0)
                for f in fractions
            ]
            ax.bar(
                np.arange(len(fractions)) + (b - len(BARS) / 2 + 0.5) * width,
                means,
                width,
                yerr=stds,
                capsize=2,
                label=name,
            )
        ax.set_xticks(np.arange(len(fractions)), [f"{f:.0%} labeled" for f in fractions])
        ax.set_ylabel(f"test Dice, mean of {', '.join(label_names[dataset])}")
        ax.set_title(dataset)
        ax.set_ylim(0, 1)
        ax.grid(axis="y", alpha=0.3)
    handles, names = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncol=4, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _save(fig: plt.Figure, path: Path) -> None:
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def score_error_plot(runs: dict[str, dict[str, Any]], scores: tuple[str, ...], path: Path) -> None:
    """One panel per candidate score: each study's score against its error, one colour per model, Spearman in the
    legend."""
    fig, axes = plt.subplots(1, len(scores), figsize=(4.6 * len(scores), 4.2), squeeze=False)
    for ax, score in zip(axes[0], scores):
        for name, run in sorted(runs.items()):
            ax.scatter(run["scores"][score], run["error"], s=18, label=f"{name} (ρ {run['spearman'][score]:+.2f})")
        ax.set_xlabel(score)
        ax.set_ylabel("error (1 − Dice)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    _save(fig, path)


def learning_curve_plot(
    curves: dict[str, dict[int, list[float]]], path: Path, title: str, ylabel: str = "test Dice (mean over labels)"
) -> None:
    """A Dice against the number of labeled studies, one line per strategy, mean over seeds with a min–max band."""
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for strategy, by_count in sorted(curves.items()):
        counts = sorted(by_count)
        values = [np.asarray(by_count[c], dtype=float) for c in counts]
        mean = np.array([v.mean() for v in values])
        ax.plot(counts, mean, marker="o", label=f"{strategy} ({len(values[0])} seeds)")
        ax.fill_between(counts, [v.min() for v in values], [v.max() for v in values], alpha=0.2)
    ax.set_xlabel("labeled studies")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    _save(fig, path)


def effort_plot(curves: dict[str, list[dict[str, Any]]], path: Path, label: str) -> None:
    """``label``'s test Dice against labeled studies (left) and against the volume annotators corrected in the
    model's pre-labels so far (right), one colour per strategy: a thin line per seed, a thick one for the mean over
    seeds (at each round, the mean corrected volume and mean Dice)."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
    for index, (strategy, seeds) in enumerate(sorted(curves.items())):
        colour = f"C{index}"
        rounds = len(seeds[0]["points"])
        for key, ax in zip(("labeled", "corrected_ml"), axes):
            for seed in seeds:
                ax.plot([p[key] for p in seed["points"]], [p["dice"] for p in seed["points"]], color=colour, lw=0.6)
            mean_x = [np.mean([s["points"][r][key] for s in seeds]) for r in range(rounds)]
            mean_y = [np.mean([s["points"][r]["dice"] for s in seeds]) for r in range(rounds)]
            ax.plot(mean_x, mean_y, color=colour, lw=2.2, marker="o", label=f"{strategy} ({len(seeds)} seeds)")
    axes[0].set_xlabel("labeled studies")
    axes[1].set_xlabel("volume corrected in the model's pre-labels so far (mL)")
    axes[0].set_ylabel(f"test Dice, {label.replace('_', ' ')}")
    for ax in axes:
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=7)
    fig.suptitle("What the labels bought: per study labeled, and per mL an annotator corrected")
    _save(fig, path)


def paired_plot(rows: list[tuple[str, list[float]]], path: Path, xlabel: str, target: float | None = None) -> None:
    """Per row (a name and its per-seed paired differences), the differences as dots and their mean as a bar; a dashed
    line at the decision rule's ``target``."""
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(rows) + 1.5))
    for row, (_, differences) in enumerate(rows):
        ax.barh(row, float(np.mean(differences)), color="tab:blue", alpha=0.35)
        ax.scatter(differences, [row] * len(differences), color="tab:blue", s=14)
    ax.set_yticks(range(len(rows)), [name for name, _ in rows])
    ax.axvline(0, color="black", lw=0.8)
    if target is not None:
        ax.axvline(target, color="tab:green", lw=0.8, ls="--")
    ax.set_xlabel(xlabel)
    ax.invert_yaxis()
    ax.grid(axis="x", alpha=0.3)
    _save(fig, path)


def plateau_plot(curves: list[dict[str, Any]], path: Path) -> None:
    """Held-out Dice of the served model against training iterations, one line per recipe and seed, per set."""
    panels = sorted({(c["dataset"], c["fraction"]) for c in curves})
    fig, axes = plt.subplots(1, max(1, len(panels)), figsize=(5.5 * max(1, len(panels)), 4.2), squeeze=False)
    colours = {"supervised": "tab:orange", "default": "tab:blue"}
    for ax, (dataset, fraction) in zip(axes[0], panels):
        for c in curves:
            if (c["dataset"], c["fraction"]) != (dataset, fraction):
                continue
            xs = [p["iteration"] for p in c["points"]]
            ys = [p["dice"] for p in c["points"]]
            name = (
                c["recipe"]
                if c["points"][-1]["iteration"] == min(x["points"][-1]["iteration"] for x in curves)
                else f"{c['recipe']}, longer run"
            )
            ls = "-" if name == c["recipe"] else "--"
            ax.plot(xs, ys, marker="o", ms=3, ls=ls, color=colours.get(c["recipe"], "grey"), alpha=0.7, label=name)
        handles, names = ax.get_legend_handles_labels()
        unique = dict(zip(names, handles))
        ax.legend(unique.values(), unique.keys())
        ax.set_title(f"{dataset}, {fraction:.0%} labeled")
        ax.set_xlabel("iteration")
        ax.set_ylabel("held-out Dice (mean over labels)")
        ax.grid(alpha=0.3)
    _save(fig, path)
