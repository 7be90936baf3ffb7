"""The model card: what a model was trained under, compared setting by setting with the server's."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch

from lib.config import load_config
from lib.model_card import ModelMismatchError, card_path, check_model, make_card, read_card, write_card


def _model(tmp_path: Path, conf: dict[str, str]) -> Path:
    path = tmp_path / "uncertainty_contrastive.pt"
    torch.save({}, path)
    write_card(path, make_card(load_config(conf), {"labeled_studies": 3}))
    return path


def test_the_card_sits_beside_the_model_and_holds_its_settings(tmp_path: Path) -> None:
    path = _model(tmp_path, {"width": "4"})
    assert card_path(path) == tmp_path / "uncertainty_contrastive.card.json"
    card = read_card(path)
    assert card["settings"]["width"] == 4 and card["settings"]["labels"] == {"organ": 1, "lesion": 2}
    assert card["trained_on"] == {"labeled_studies": 3}
    assert check_model(path, load_config({"width": "4"})) == card


@pytest.mark.parametrize(
    "server, named",
    [
        ({"width": "8"}, "width (model: 4, server: 8)"),
        ({"width": "4", "labels": '{"lesion":1,"organ":2}'}, "labels (model: {'organ': 1, 'lesion': 2}"),
        ({"width": "4", "spacing": "[1,1,1]"}, "spacing (model: [1.5, 1.5, 2.0], server: [1.0, 1.0, 1.0])"),
    ],
)
def test_each_setting_that_differs_is_named(tmp_path: Path, server: dict, named: str) -> None:
    path = _model(tmp_path, {"width": "4"})
    with pytest.raises(ModelMismatchError, match="trained with other settings") as error:
        check_model(path, load_config(server))
    assert named in str(error.value)


def test_dropout_is_recorded_but_need_not_match(tmp_path: Path) -> None:
    path = _model(tmp_path, {"width": "4", "dropout": "0.2"})
    assert check_model(path, load_config({"width": "4"}))["settings"]["dropout"] == 0.2


def test_a_model_without_a_card_passes_and_is_named_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "old.pt"
    torch.save({}, path)
    with caplog.at_level(logging.WARNING, logger="lib.model_card"):
        assert check_model(path, load_config()) is None
        assert check_model(path, load_config()) is None
    assert caplog.text.count("has no model card") == 1
    assert check_model(tmp_path / "missing.pt", load_config()) is None and read_card(None) is None
