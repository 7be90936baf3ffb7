"""``sample-apps/distributed/run.py`` under the real ``torchrun``: the commands of the CPU trial in
docs/scaling.md ("Several nodes, or without the server: torchrun"), two Gloo ranks on the loopback interface, on a tiny
generated study set."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from lib.tools import demo_data
from lib.tools.server_process import ROOT

TINY = ["--conf", "width", "2", "--conf", "patch_size", "[16,16,16]"]


def _torchrun(command: str, studies: Path, app: Path, *extra: str) -> subprocess.CompletedProcess:
    args = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
    args += [str(ROOT / "sample-apps" / "distributed" / "run.py"), command, "--studies", str(studies)]
    args += ["--app", str(app), *TINY, *extra]
    return subprocess.run(args, capture_output=True, text=True, timeout=300, cwd=ROOT)


def _scores(studies: Path) -> dict[str, float]:
    objects = json.loads((studies / "datastore_v2.json").read_text())["objects"]
    return {
        k: v["image"]["info"]["mean_uncertainty"]
        for k, v in objects.items()
        if "mean_uncertainty" in v["image"]["info"]
    }


@pytest.fixture
def studies(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    demo_data.generate(root, num=5, labeled=2, seed=0, shape=(24, 24, 16))
    return root


def test_scoring_without_a_model_says_so_and_scores_nothing(studies: Path, tmp_path: Path) -> None:
    done = _torchrun("score", studies, tmp_path / "app")
    assert done.returncode != 0
    assert "cannot score: No trained model yet" in done.stderr
    assert _scores(studies) == {}


def test_two_ranks_train_publish_a_model_and_then_score_the_unlabeled_pool_once(studies: Path, tmp_path: Path) -> None:
    app = tmp_path / "app"
    trained = _torchrun("train", studies, app, "--conf", "iterations_per_epoch", "2", "--request", '{"max_epochs": 1}')
    assert trained.returncode == 0, trained.stderr[-3000:]
    stats = json.loads(trained.stdout.strip().splitlines()[-1])
    assert stats["rank"] == 0 and stats["total_epochs"] == 1
    model = app / "model" / "uncertainty_contrastive.pt"
    assert set(torch.load(model, map_location="cpu")), "the published model is a readable state dict"

    scored = _torchrun("score", studies, app)
    assert scored.returncode == 0, scored.stderr[-3000:]
    summary = json.loads(scored.stdout.strip().splitlines()[-1])
    assert (summary["ranks"], summary["executed"], summary["failed"]) == (2, 3, [])
    scores = _scores(studies)
    assert sorted(scores) == ["study_002", "study_003", "study_004"]
    assert all(0.0 <= s <= 1.0 for s in scores.values())

    again = _torchrun("score", studies, app)
    assert json.loads(again.stdout.strip().splitlines()[-1])["skipped"] == 3
    assert _scores(studies) == scores
