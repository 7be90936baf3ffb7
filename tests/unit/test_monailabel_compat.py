"""The seam to MONAI Label's internals refuses a version it was not made for, and its reaches still find their targets
in the installed one (a MONAI Label that renamed them would fail here, not in a training run)."""

from __future__ import annotations

import pytest
import torch
from ignite.engine import Engine, Events
from monai.handlers import CheckpointSaver
from monailabel.tasks.train.handler import PublishStatsAndModel

from lib import monailabel_compat as compat


def test_the_supported_version_passes_and_any_other_stops_with_the_install_command() -> None:
    compat.check_version()
    compat.check_version(compat.SUPPORTED_MONAILABEL)
    with pytest.raises(RuntimeError, match=r"made for monailabel 0\.8\.5, but 0\.9\.0 is installed.*pip install"):
        compat.check_version("0.9.0")


def test_checkpoint_savers_are_found_on_an_engine_and_switched_to_atomic_writes(tmp_path) -> None:
    engine = Engine(lambda engine, batch: None)
    saver = CheckpointSaver(str(tmp_path), {"model": torch.nn.Linear(1, 1)}, save_final=True, save_interval=1)
    saver.attach(engine)
    assert compat.checkpoint_savers(engine) == [saver]
    compat.save_checkpoints_atomically(saver)
    assert saver._final_checkpoint.save_handler._atomic and saver._interval_checkpoint.save_handler._atomic


def test_the_publisher_is_replaced_with_the_same_arguments(tmp_path) -> None:
    engine = Engine(lambda engine, batch: None)
    publisher = PublishStatsAndModel(
        str(tmp_path / "s.json"), str(tmp_path / "m.pt"), "k.pt", 0, "r", str(tmp_path), engine, None
    )
    engine.add_event_handler(Events.EPOCH_COMPLETED, publisher)

    class Replacement(PublishStatsAndModel):
        pass

    compat.replace_handler(
        engine, Events.EPOCH_COMPLETED, PublishStatsAndModel, lambda p: Replacement(*compat.publisher_arguments(p))
    )
    (handler,) = [h for h, _, _ in engine._event_handlers[Events.EPOCH_COMPLETED]]
    assert type(handler) is Replacement
    assert compat.publisher_arguments(handler) == compat.publisher_arguments(publisher)


def test_dicom_seg_segments_are_renamed_in_place_after_the_values_present() -> None:
    entries = [{"name": "organ", "color": [255, 0, 0]}, {"name": "lesion", "color": [0, 255, 0]}]
    request = {"label_info": entries}
    compat.align_dicom_seg_segments(request, ["lesion"])  # a result without organ
    assert request["label_info"] is entries  # the endpoint holds this very list
    assert entries == [{"name": "lesion", "color": [0, 255, 0]}]
    compat.align_dicom_seg_segments(request, ["organ", "lesion"])
    assert [e["name"] for e in entries] == ["organ", "lesion"]
