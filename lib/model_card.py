"""A model card beside every published model: what the weights mean and what they were trained on.

A checkpoint alone does not say what it is. Start the server with another ``labels`` map of the same length and it
would serve the names swapped; change ``width`` and it would fail deep inside torch. nnU-Net keeps its plans with
every checkpoint; here ``<model>.card.json`` (``uncertainty_contrastive.card.json`` beside
``uncertainty_contrastive.pt``) holds the settings that shape the network or the meaning of its outputs, and what it
was trained on. It is written atomically with each published model, checked at start-up, before inference (409) and
before fine-tuning, and shown by ``GET /info/``. A model from before the card loads as it did, and the log says once
that it could not be checked.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from .atomic_write import atomic_write_text

__all__ = [
    "CARD_SUFFIX",
    "MATCHED_SETTINGS",
    "ModelMismatchError",
    "card_path",
    "check_model",
    "make_card",
    "read_card",
    "write_card",
]

logger = logging.getLogger(__name__)

CARD_SUFFIX = ".card.json"
# Settings a model must have been trained with to be served or fine-tuned under this server's settings: they shape the
# network's weights (a checkpoint of another width does not load) or give its outputs their meaning (label names and
# values, the grid and intensities it learnt from, the patch it saw).
MATCHED_SETTINGS = (
    "labels",
    "width",
    "projection_dim",
    "feature_selection",
    "spacing",
    "intensity",
    "ct_window_min",
    "ct_window_max",
    "patch_size",
)
# Recorded but not required to match: a trained model keeps the dropout it was trained with.
RECORDED_SETTINGS = ("dropout",)
APP_VERSION = "0.1.0"

_unchecked: set[str] = set()


class ModelMismatchError(Exception):
    """The model on disk was trained under other settings than the server's; the message names each one."""


def card_path(model_path: str | os.PathLike) -> Path:
    path = Path(model_path)
    return path.with_name(path.name.removesuffix(".pt") + CARD_SUFFIX)


def make_card(config: Any, trained_on: dict[str, Any]) -> dict[str, Any]:
    """The card of a model trained under ``config`` (an ``AppConfig``) on ``trained_on`` (study counts, per-label
    validation Dice, ...)."""
    settings = {name: getattr(config, name) for name in MATCHED_SETTINGS + RECORDED_SETTINGS}
    return {
        "app_version": APP_VERSION,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "settings": settings,
        "trained_on": trained_on,
    }


def write_card(model_path: str | os.PathLike, card: dict[str, Any]) -> None:
    atomic_write_text(card_path(model_path), json.dumps(card, indent=2))


def read_card(model_path: str | os.PathLike | None) -> dict[str, Any] | None:
    """The card beside ``model_path``, or None where there is none (a model from before the card) or no model."""
    if model_path is None:
        return None
    path = card_path(model_path)
    if not path.is_file():
        return None
    with open(path) as f:
        return json.load(f)


def _normalised(value: Any) -> Any:
    """JSON's form of a setting (tuples become lists, mapping keys strings), so a card compares with a live config."""
    return json.loads(json.dumps(value))


def check_model(model_path: str | os.PathLike | None, config: Any) -> dict[str, Any] | None:
    """The model's card if its settings are the server's; :class:`ModelMismatchError` naming every setting that
    differs; None for no model or a model without a card (logged once per model file)."""
    if model_path is None or not Path(model_path).exists():
        return None
    card = read_card(model_path)
    if card is None:
        if str(model_path) not in _unchecked:
            _unchecked.add(str(model_path))
            logger.warning("%s has no model card (a model from before cards): loaded without checking it", model_path)
        return None
    trained = card.get("settings", {})
    differing = [
        f"{name} (model: {trained[name]!r}, server: {_normalised(getattr(config, name))!r})"
        for name in MATCHED_SETTINGS
        if name in trained and _normalised(trained[name]) != _normalised(getattr(config, name))
    ]
    if differing:
        raise ModelMismatchError(
            f"the model {model_path} was trained with other settings than this server's: {'; '.join(differing)}. "
            "Start the server with the model's settings, or train a new model from scratch "
            '(POST /train/uncertainty_contrastive with {"from_scratch": true}).'
        )
    return card
