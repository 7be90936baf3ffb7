"""Which weights a training run resumes from, when a kill may have left the run's checkpoint half written."""

from __future__ import annotations

from pathlib import Path

from lib.trainers.atomic_publish import resume_path


def test_resumes_from_the_runs_checkpoint_when_it_is_the_published_model(tmp_path: Path) -> None:
    (tmp_path / "checkpoint.pt").write_bytes(b"weights")
    (tmp_path / "published.pt").write_bytes(b"weights")
    assert resume_path(str(tmp_path / "checkpoint.pt"), str(tmp_path / "published.pt"), None) == str(
        tmp_path / "checkpoint.pt"
    )


def test_resumes_from_the_published_model_when_the_checkpoint_differs(tmp_path: Path) -> None:
    (tmp_path / "checkpoint.pt").write_bytes(b"wei")  # cut short by a kill during MONAI's in-place save
    (tmp_path / "published.pt").write_bytes(b"weights")
    assert resume_path(str(tmp_path / "checkpoint.pt"), str(tmp_path / "published.pt"), None) == str(
        tmp_path / "published.pt"
    )


def test_starts_from_the_pretrained_model_when_nothing_was_published(tmp_path: Path) -> None:
    (tmp_path / "checkpoint.pt").write_bytes(b"wei")
    pretrained = str(tmp_path / "pretrained.pt")
    assert resume_path(str(tmp_path / "checkpoint.pt"), str(tmp_path / "published.pt"), pretrained) == pretrained
