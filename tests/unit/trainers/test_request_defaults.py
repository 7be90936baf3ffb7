"""A train request that names no ``dataset`` (MONAI Label's client, OHIF's Update Model, scripts) trains as the
drop-down's default says: cached, not with MONAI Label's list of choices, which caches nothing."""

from __future__ import annotations

import pytest

from lib.config import load_config
from lib.networks import DualSubnetSegmenter
from lib.trainers import UncertaintyContrastiveTrain
from lib.trainers.request_defaults import merged_request
from lib.validation.errors import InvalidInputError


@pytest.fixture(scope="module")
def task(tmp_path_factory: pytest.TempPathFactory) -> UncertaintyContrastiveTrain:
    config = load_config({"width": "2"})
    model_dir = tmp_path_factory.mktemp("model")
    return UncertaintyContrastiveTrain(str(model_dir), DualSubnetSegmenter.from_config(config), config)


def test_choices_a_request_leaves_out_take_their_first_value(task: UncertaintyContrastiveTrain) -> None:
    request = merged_request(task._config, {"max_epochs": 3})
    assert request["dataset"] == "CacheDataset"
    assert request["dataloader"] == "ThreadDataLoader"
    assert request["tracking"] == "None"
    assert request["max_epochs"] == 3
    assert not any(isinstance(value, list) for value in request.values())


def test_a_choice_the_request_names_is_kept_and_the_declared_options_are_not_changed() -> None:
    declared = {"dataset": ["CacheDataset", "Dataset"], "max_epochs": 50, "empty": []}
    request = merged_request(declared, {"dataset": "Dataset"})
    assert request == {"dataset": "Dataset", "max_epochs": 50, "empty": []}
    assert declared["dataset"] == ["CacheDataset", "Dataset"]
    assert merged_request(declared, {"dataset": ["Dataset", "CacheDataset"]})["dataset"] == "Dataset"


def test_a_dataset_the_app_does_not_offer_is_refused_by_name(task: UncertaintyContrastiveTrain) -> None:
    with pytest.raises(InvalidInputError, match="'dataset' must be one of"):
        task({"dataset": "PersistentDataset"}, datastore=None)
