"""A model knows what it is: its card beside the weights, shown by /info/, and a server whose settings differ from
the card's refuses to serve, score or fine-tune it with a message naming the setting (but trains from scratch when
asked to); a model from before the card loads as before, the log saying so once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
from monailabel.client import MONAILabelClient
from monailabel.client.client import MONAILabelClientException

from lib.model_card import card_path
from lib.tools import rest
from lib.tools.server_process import ServerProcess
from tests.integration.conftest import SERVER_CONF, start_demo_server

MODEL = "uncertainty_contrastive"
LABELED = ("study_000", "study_001", "study_002")


@pytest.fixture(scope="module")
def trained_app(tmp_path_factory: pytest.TempPathFactory):
    """An app folder, its studies and the settings it trained a model under (the server stopped again)."""
    root = tmp_path_factory.mktemp("model-card")
    process = start_demo_server(root, SERVER_CONF)
    try:
        client = MONAILabelClient(process.url, tmpdir=str(root))
        for image_id in LABELED:
            client.save_label(image_id, str(root / "data_groundtruth" / f"{image_id}.nii.gz"), tag="final")
        rest.train(client, MODEL, {"max_epochs": 1})
        info = client.info()
    finally:
        process.stop()
    return {"root": root, "app_dir": process.app_dir, "studies": process.studies, "info": info}


def _server(trained_app: dict, conf: dict[str, str], name: str) -> ServerProcess:
    log = trained_app["root"] / f"{name}.log"
    return ServerProcess(trained_app["app_dir"], trained_app["studies"], conf, log=log).start()


def test_a_published_model_has_a_card_that_info_shows(trained_app: dict) -> None:
    model = trained_app["app_dir"] / "model" / f"{MODEL}.pt"
    card = json.loads(card_path(model).read_text())
    assert card["settings"]["labels"] == {"organ": 1, "lesion": 2} and card["settings"]["width"] == 4
    assert card["trained_on"]["labeled_studies"] + card["trained_on"]["validation_studies"] == len(LABELED)
    assert card["trained_on"]["unlabeled_studies"] == 3
    assert set(card["trained_on"]["dice_per_label"]) == {"organ", "lesion"}
    assert trained_app["info"]["models"][MODEL]["model_card"] == card


def test_a_model_without_a_card_is_served_and_the_log_says_so_once(trained_app: dict, tmp_path: Path) -> None:
    model = trained_app["app_dir"] / "model" / f"{MODEL}.pt"
    card = card_path(model)
    card.rename(tmp_path / card.name)
    server = _server(trained_app, SERVER_CONF, "no-card")
    try:
        client = MONAILabelClient(server.url, tmpdir=str(trained_app["root"]))
        for _ in range(2):
            client.infer(MODEL, "study_004", {})
        server_lines = [line for line in server.log.read_text().splitlines() if "task_" not in line]
        assert sum("has no model card" in line for line in server_lines) == 1
        assert client.info()["models"][MODEL]["model_card"] is None
    finally:
        server.stop()
        (tmp_path / card.name).rename(card)


@pytest.mark.parametrize(
    "changed, setting",
    [({"labels": '{"lesion":1,"organ":2}'}, "labels"), ({"width": "2"}, "width")],
    ids=["renamed-labels", "new-width"],
)
def test_other_settings_are_refused_by_name_and_a_new_model_can_be_trained(trained_app, changed, setting) -> None:
    server = _server(trained_app, {**SERVER_CONF, **changed}, f"changed-{setting}")
    try:
        client = MONAILabelClient(server.url, tmpdir=str(trained_app["root"]))
        with pytest.raises(MONAILabelClientException) as refused:
            client.infer(MODEL, "study_004", {})
        assert "409" in refused.value.msg and f"{setting} (model:" in refused.value.msg
        scoring = requests.post(f"{server.url}/scoring/mean_uncertainty", json={}, timeout=60)
        assert scoring.status_code == 409 and setting in scoring.json()["detail"]
        fine_tune = requests.post(f"{server.url}/train/{MODEL}", json={"max_epochs": 1}, timeout=60)
        assert fine_tune.status_code == 409 and "cannot fine-tune" in fine_tune.json()["detail"]
        assert f"trained with other settings than this server's: {setting}" in server.log.read_text()  # at start-up
        if setting == "width":  # the model trained from scratch under the new settings is served
            rest.train(client, MODEL, {"max_epochs": 1, "from_scratch": True})
            client.infer(MODEL, "study_004", {})
            assert client.info()["models"][MODEL]["model_card"]["settings"]["width"] == 2
    finally:
        server.stop()
