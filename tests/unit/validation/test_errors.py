"""The refusals every layer raises: plain exceptions that carry their HTTP status and message."""

from __future__ import annotations

from monailabel.interfaces.exception import MONAILabelError, MONAILabelException

from lib.infers import NoTrainedModelError
from lib.validation.errors import InvalidInputError, RequestRefused


def test_an_invalid_input_is_a_refusal_with_its_status_and_a_monai_label_error() -> None:
    error = InvalidInputError(422, "label is truncated")
    assert isinstance(error, RequestRefused) and isinstance(error, MONAILabelException)
    assert (error.status_code, error.detail, str(error)) == (422, "label is truncated", "label is truncated")
    assert error.error == MONAILabelError.INVALID_INPUT and error.msg == "label is truncated"


def test_no_trained_model_is_a_409_that_names_the_missing_files() -> None:
    error = NoTrainedModelError(["model/a.pt"])
    assert isinstance(error, RequestRefused) and error.status_code == 409
    assert "model/a.pt" in error.detail and "POST /train/" in error.detail
