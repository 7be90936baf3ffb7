"""One checking path for every request's options: same messages, same status codes, for infer, train and scoring."""

from __future__ import annotations

import pytest

from lib.validation.errors import InvalidInputError
from lib.validation.options import InferOptions, ScoringOptions, TrainOptions, check_options, check_train_options


@pytest.mark.parametrize(
    "model, options, status, message",
    [
        (TrainOptions, {"max_epochs": "ten"}, 422, "train option 'max_epochs' must be an integer >= 1, got 'ten'"),
        (TrainOptions, {"max_epochs": True}, 422, "must be an integer >= 1, got True"),
        (TrainOptions, {"max_epochs": None}, 422, "must be an integer >= 1, got None"),
        (TrainOptions, {"max_epoch": 3}, 422, r"unknown train options \['max_epoch'\]; known: \['client_id'"),
        (TrainOptions, [1], 422, "train options must be a JSON object, got list"),
        (InferOptions, {"uncertainty_threshold": "high"}, 422, r"must be a number in \(0, 1\], got 'high'"),
        (InferOptions, {"uncertainty_threshold": 0}, 422, "uncertainty_threshold"),
        (InferOptions, {"result_extension": ".png"}, 422, "'.nii.gz', '.nii' or '.nrrd'"),
        (ScoringOptions, {"score_all": 1}, 422, "scoring option 'score_all' must be true or false, got 1"),
        (ScoringOptions, {"all": True}, 422, r"unknown scoring options \['all'\]; known: \['device', 'score_all'\]"),
    ],
)
def test_a_bad_option_is_refused_naming_it(model: type, options: object, status: int, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message) as refused:
        check_options(model, options, {TrainOptions: "train", InferOptions: "infer", ScoringOptions: "scoring"}[model])
    assert refused.value.status_code == status


def test_what_the_clients_send_is_accepted_and_typed() -> None:
    train = check_options(TrainOptions, {"max_epochs": 3, "device": ["cuda", "cpu"], "client_id": None}, "train")
    assert train.max_epochs == 3 and train.device == ["cuda", "cpu"]
    assert check_options(InferOptions, {"uncertainty_threshold": 1}, "infer").uncertainty_threshold == 1.0
    assert check_options(ScoringOptions, None, "scoring").score_all is None  # not sent: the method's default


def test_the_train_task_lets_monai_labels_own_additions_through_but_still_checks_the_rest() -> None:
    check_train_options({"local_rank": 0, "max_epochs": 2}, allow_unknown=True)
    with pytest.raises(InvalidInputError, match="max_epochs"):
        check_train_options({"local_rank": 0, "max_epochs": 0}, allow_unknown=True)


def test_a_run_name_that_is_a_path_is_refused_with_400() -> None:
    with pytest.raises(InvalidInputError, match="must be a plain name") as refused:
        check_train_options({"name": "../outside"})
    assert refused.value.status_code == 400
