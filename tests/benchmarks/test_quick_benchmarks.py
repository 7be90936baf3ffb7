"""Each benchmark's ``--quick`` form, run as a user runs it (``python -m benchmarks <name> --quick``), must finish and
write results that make sense: the full runs are too long for CI, so this is what keeps them from rotting."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from lib.tools.server_process import ROOT


def _run(name: str, out: Path, data: Path, *extra: str, result: str | None = None) -> dict:
    command = [sys.executable, "-m", "benchmarks", name, "--quick", "--out", str(out), "--data", str(data), *extra]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads((out / f"{result or name}.json").read_text())


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("benchmark-data")


def test_listing_names_every_benchmark() -> None:
    done = subprocess.run([sys.executable, "-m", "benchmarks"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0
    for name in ("accuracy", "active_learning", "score_error", "speed", "training_profile"):
        assert name in done.stdout


def test_accuracy_runs_the_paired_protocol_on_both_study_sets(tmp_path: Path, data: Path) -> None:
    result = _run("accuracy", tmp_path, data)
    mni = {"supervised", "label_terms", "default", "paper"}
    mni |= {"no_teacher", "no_class_balance", "no_contrastive", "no_bidirectional", "pdcr"}
    assert {r["recipe"] for r in result["runs"] if r["dataset"] == "mni"} == mni
    assert {r["recipe"] for r in result["runs"] if r["dataset"] == "synthetic"} == {"supervised", "default"}
    for dataset in ("mni", "synthetic"):
        base = min(r["iterations"] for r in result["runs"])
        runs = [r for r in result["runs"] if r["dataset"] == dataset and r["iterations"] == base]
        # Paired: every recipe of a seed consumed the same labeled batches after the same warm-up.
        assert len({r["labeled_stream_checksum"] for r in runs}) == 1
        assert len({r["warmup_iterations"] for r in runs}) == 1 and runs[0]["warmup_iterations"] > 0
        assert {r["held_out_split"] for r in runs} == {"test"}
    for run in result["runs"]:
        assert set(run["metrics"]) == {"averaged", "vnet", "resnet"}
        for metrics in run["metrics"].values():
            assert all(0.0 <= d <= 1.0 for per_study in metrics["dice"] for d in per_study if not math.isnan(d))
    comparisons = {(c["dataset"], c["comparison"]) for c in result["comparisons"]}
    assert ("mni", "default - supervised") in comparisons and ("mni", "default - label_terms") in comparisons
    assert all(len(c["points"]) == 2 for c in result["curves"])  # the plateau curve: half-way and at the end
    for name in ("accuracy.png", "accuracy_paired.png", "accuracy_plateau.png"):
        assert (tmp_path / name).stat().st_size > 10_000


def test_active_learning_loop_runs_every_strategy_through_the_server(tmp_path: Path, data: Path) -> None:
    # On the lesion pool, three sites (the MNI sets run the same loop; the lesion evidence benchmark makes this set).
    strategies = ("uncertainty", "random", "epistemic", "error_oracle", "cold_start")
    result = _run("active_learning", tmp_path, data, "--dataset", "mni_lesions", "--strategies", *strategies)
    assert result["plan"]["dataset"] == "mni_lesions"
    loops = {loop["strategy"]: loop for loop in result["loops"]}
    assert set(loops) == set(strategies)
    k = result["plan"]["k"]
    for loop in loops.values():
        counts = [r["labeled"] for r in loop["rounds"]]
        assert counts == list(range(counts[0], counts[0] + k * len(counts), k))  # k more labels per round
        assert all(len(set(r["picked"])) == k for r in loop["rounds"][:-1])
        # The studies picked after a training run were segmented by that model when their labels came in.
        assert all(0.0 <= r["picked_prelabel_dice"] <= 1.0 for r in loop["rounds"][:-1])
        assert sum(r["submitted"] for r in loop["server_rounds"]["rounds"]) == counts[-1]
        # Effort: the volume the annotator changed in the picked studies' pre-labels, as the server stored it.
        assert all(r["picked_corrected_ml"] >= 0.0 for r in loop["rounds"][:-1])
        assert all(set(r["test_dice_per_label"]) == {"white_matter", "lesion"} for r in loop["rounds"])
    # The cold start's first label is a typical study (1 labeled < 8); uncertainty ranks by score, random draws.
    assert loops["cold_start"]["rounds"][0]["picked_how"] == ["typical"]
    assert loops["uncertainty"]["rounds"][0]["picked_how"] == ["score"]
    assert loops["random"]["rounds"][0]["picked_how"] == ["random"]
    # Paired: the random loop trained the seed's first model and the others started from it.
    assert "shared" not in loops["random"]["rounds"][0]
    first = {loop["rounds"][0]["test_dice"] for loop in loops.values()}
    assert len(first) == 1 and all(loops[s]["rounds"][0]["shared"] for s in strategies if s != "random")
    # The oracle labeled the unlabeled studies the round's model got most wrong.
    for oracle_round in loops["error_oracle"]["rounds"][:-1]:
        errors = oracle_round["pool_error"]
        assert sorted(errors[s] for s in oracle_round["picked"]) == sorted(errors.values())[-k:]
    assert "replicate_test_dice" in loops["random"]["rounds"][-1]
    summary = result["summary"]
    # Issue 29's view: per-label curves, the rule for every strategy against random (the oracle included), effort.
    lesion_pool = summary["lesion_pool"]
    assert set(lesion_pool["decision"]["strategies"]) == set(strategies) - {"random"}
    assert all(v["seeds"] == 1 and v["passes"] is False for v in lesion_pool["decision"]["strategies"].values())
    assert set(lesion_pool["effort"]) == set(strategies) and lesion_pool["retrain_spread_lesion"]["values"]
    assert summary["decision"]["seeds"] == 1 and summary["retrain_spread"]["values"]
    cheap = summary["cheap_scoring"]
    assert set(cheap["spearman_coarse_vs_full"]) >= {"subnet_disagreement", "mean_uncertainty"}
    assert cheap["scorer_seconds_per_study"]["epistemic"] > 0 and 0 < cheap["coarse_to_full_time_ratio"] < 1
    # Score against error also where no score thinned the pool (random), and not in MONAI Label's epistemic loop.
    by_strategy = summary["spearman_vs_error_by_strategy"]
    assert set(by_strategy) == {"uncertainty", "random", "cold_start"}
    candidates = {"subnet_disagreement", "class_disagreement", "mean_uncertainty", "focus_disagreement"}
    assert set(by_strategy["random"]) == set(by_strategy["uncertainty"]) >= candidates
    assert "coarse_spearman_vs_full" not in loops["random"]["rounds"][0]
    for strategy, sites in summary["by_site"].items():
        assert sum(sites["picked_share"].values()) == pytest.approx(1.0), strategy
        # The quick test split is the 7th and 8th studies, both from site A.
        assert list(sites["final_test_dice"]) == ["A"] and 0.0 <= sites["final_test_dice"]["A"] <= 1.0
    assert (tmp_path / "active_learning.png").stat().st_size > 10_000
    assert (tmp_path / "active_learning_prelabel.png").stat().st_size > 10_000
    assert (tmp_path / "active_learning_paired.png").stat().st_size > 10_000
    for name in ("lesion", "white_matter", "effort", "lesion_paired"):
        assert (tmp_path / f"active_learning_{name}.png").stat().st_size > 10_000


def test_score_error_scores_every_unlabeled_study_with_every_candidate(tmp_path: Path, data: Path) -> None:
    result = _run("score_error", tmp_path, data, "--crop", "0.5")
    (run,) = result["runs"].values()  # the quick form's one untrained model, with no labeled study
    assert result["with_test"] is False
    assert run["studies"] == 6 == len(run["error"])  # the quick plan's pool only: the test split chooses nothing
    assert all(0.0 <= e <= 1.0 for e in run["error"])
    assert (
        set(run["scores"])
        == set(run["spearman"])
        == {
            "mean_uncertainty",
            "foreground_uncertainty",
            "subnet_disagreement",
            "class_disagreement",
            "focus_disagreement",
        }
    )
    for name in ("mean_uncertainty", "subnet_disagreement", "class_disagreement", "focus_disagreement"):
        assert all(0.0 <= v <= 1.0 for v in run["scores"][name])
    assert (tmp_path / "score_error.png").stat().st_size > 10_000
    # The centred box against the whole study, on the same studies: every score compared, and the time of both.
    assert result["crop"]["fraction"] == 0.5
    assert set(run["crop"]["spearman_vs_full"]) == set(result["crop"]["spearman_vs_full"]) == set(run["scores"])
    # (An untrained model's disagreement can be the same on every study: Spearman is then undefined, NaN.)
    assert -1.0 <= result["crop"]["spearman_vs_full_min"]["mean_uncertainty"] <= 1.0
    assert 0.0 < run["crop"]["seconds_ratio"] == result["crop"]["seconds_ratio"]


def test_speed_reports_scoring_inference_and_training_figures(tmp_path: Path, data: Path) -> None:
    result = _run("speed", tmp_path, data)
    scoring = result["scoring"]
    assert scoring["epistemic"]["samples"] >= 2
    assert scoring["mean_uncertainty"]["seconds_per_volume"] > 0
    # How much dearer epistemic is, is the benchmark's figure, not this test's: a timed assertion flakes on a busy CPU
    # (it failed once with the CPU shared); that the reported ratio is the two measured times' is what it checks.
    assert scoring["ratio_epistemic_to_mean_uncertainty"] == pytest.approx(
        scoring["epistemic"]["seconds_per_volume"] / scoring["mean_uncertainty"]["seconds_per_volume"]
    )
    for kind in ("nifti_gz", "ohif_nrrd"):
        split = result["infer"][kind]["server_seconds"]
        assert {"pre", "infer", "post", "write"} <= set(split)
        assert result["infer"][kind]["wall_seconds"] >= split["infer"] > 0
    assert result["training"]["seconds_per_iteration"] > 0
    assert result["training"]["peak_rss_gib"] > 0.1


def test_training_profile_splits_an_iteration_and_times_a_first_model(tmp_path: Path, data: Path) -> None:
    result = _run("training_profile", tmp_path, data)
    runs = {r["dataset"]: r for r in result["profile"]}
    assert set(runs) == {"Dataset", "CacheDataset"}
    for run in runs.values():
        stages = run["profiled_seconds_per_iteration"]
        for stage in ("labeled batch", "unlabeled batch", "teacher forward", "students forward", "backward"):
            assert stages[stage] > 0, stage
        assert stages["loss: supervised"] > 0 and stages["loss: prototype contrast"] > 0
        assert run["transforms"]["preprocess_per_study_s"] > 0 and run["peak_rss_gib"] > 0.1
    assert runs["Dataset"]["cache_plan"] is None
    plan = runs["CacheDataset"]["cache_plan"]
    assert (plan["train"], plan["unlabeled"]) == (2, 2) and plan["bytes"] > 0
    first = result["first_model"]
    assert len(first["epoch_seconds"]) == first["request"]["max_epochs"]
    # The request named no dataset: each of the 4 studies was loaded once in the whole run.
    assert first["study_loads"] == [{"loads": 4, "studies": 4, "dataset": "CacheDataset"}]


def test_lesion_set_describes_its_lesions_and_draws_a_preview(tmp_path: Path, data: Path) -> None:
    result = _run("lesion_set", tmp_path, data)
    rows = result["studies"]
    assert [bool(r["lesions"]) for r in rows] == [r["has_lesions"] for r in rows]
    assert all(1 <= len(r["lesions"]) <= 3 for r in rows if r["has_lesions"])
    # The smallest semi-axis allowed is 2 voxels: no lesion is a speck.
    assert all(lesion["voxels"] >= 20 for r in rows for lesion in r["lesions"])
    assert (tmp_path / "lesion_set.png").stat().st_size > 10_000


def test_lesion_evidence_runs_both_parts_with_lesion_metrics(tmp_path: Path, data: Path) -> None:
    headroom = _run("lesion_evidence", tmp_path, data, "headroom", result="lesion_headroom")
    assert {(r["fraction"], r["held_out_split"]) for r in headroom["runs"]} == {
        (0.25, "validation"),
        (1.0, "validation"),
    }
    assert headroom["decision"]["budget"] in (1120, 2240)
    semi = _run("lesion_evidence", tmp_path, data, "semi_supervised", result="lesion_semi_supervised")
    few = [r for r in semi["runs"] if r["fraction"] == 0.25]
    assert {r["recipe"] for r in few} == {"supervised", "label_terms", "default"}
    assert len({(r["labeled_stream_checksum"], r["unlabeled_stream_checksum"]) for r in few}) == 1
    for run in semi["runs"]:
        summary = run["summary"]
        assert 0.0 <= summary["lesion_dice"] <= 1.0 and 0.0 <= summary["lesion_f1"] <= 1.0
        assert run["held_out_split"] == "test"


def test_load_compares_task_niceness_zero_with_the_default(tmp_path: Path, data: Path) -> None:
    result = _run("load", tmp_path, data)
    assert set(result["runs"]) == {"0", "19"}
    for run in result["runs"].values():
        assert run["ok"] == run["requests"] and run["second_train_status"] == 429
        assert run["idle_same_clients"]["ok"] == run["idle_same_clients"]["requests"]
        assert run["training_iterations_per_s_alone"] > 0


def test_sliding_window_scores_every_overlap_on_the_same_model(tmp_path: Path, data: Path) -> None:
    result = _run("sliding_window", tmp_path, data)
    assert [s["overlap"] for s in result["summary"]] == [0.25, 0.125, 0.0]
    runs = {(r["seed"], r["overlap"]): r for r in result["runs"]}
    for row in result["summary"]:
        # The paired differences as the runs give them, and the rule applied to them.
        differences = [
            100 * (runs[(seed, row["overlap"])]["validation_dice"] - runs[(seed, 0.25)]["validation_dice"])
            for seed, overlap in runs
            if overlap == row["overlap"]
        ]
        assert row["validation_minus_reference_points"]["mean"] == pytest.approx(sum(differences) / len(differences))
        assert row["meets_rule"] == (row["validation_minus_reference_points"]["mean"] >= -0.5)
    assert result["chosen_overlap"] == min(row["overlap"] for row in result["summary"] if row["meets_rule"])
    assert all(0.0 <= run["test_dice"] <= 1.0 for run in result["runs"])
