"""The app's settings: defaults from ``configs/default.yaml``, overridden by MONAI Label's ``--conf key value``.

Each setting is declared once here, with its type and range (pydantic); its default value and meaning live in the
YAML file. A bad or unknown setting stops the server at start with a message that names it.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    StrictBool,
    ValidationError,
    field_validator,
    model_validator,
)

from .networks.dual_subnet import DOWNSAMPLING_FACTOR

__all__ = [
    "AppConfig",
    "BATCH_PICKS",
    "DEFAULT_CONFIG_PATH",
    "MODEL_NAME",
    "MONAI_LABEL_CONF_KEYS",
    "STUDY_SCORES",
    "load_config",
]

logger = logging.getLogger(__name__)

DEFAULT_CONFIG_PATH = Path(__file__).resolve().parents[1] / "configs" / "default.yaml"
PRESETS_DIR = DEFAULT_CONFIG_PATH.parent / "presets"
# The one model this app registers: its infer and train task, and the file training publishes.
MODEL_NAME = "uncertainty_contrastive"
# The per-study scores that scoring stores from one pass (lib.scoring), any of which the strategy may rank by.
STUDY_SCORES = ("subnet_disagreement", "class_disagreement", "mean_uncertainty", "focus_disagreement")
# How `uncertainty` picks a batch among its batch_pool_factor x k highest (lib/activelearning/batch_selection).
BATCH_PICKS = ("diverse", "representative")
# Keys that MONAI Label 0.8.5 itself reads from the same ``--conf`` dictionary (interfaces/app.py ``server_mode``,
# interfaces/config.py ``auth_token``, utils/others/generic.py ``zoo_repo``/``zoo_source``/``models``, bundle tasks
# ``preload``): they pass through; any other key that is not a setting of this app is a typo and stops the server.
MONAI_LABEL_CONF_KEYS = frozenset({"server_mode", "preload", "auth_token", "zoo_repo", "zoo_source", "models"})

Fraction = Annotated[float, Field(gt=0.0, le=1.0)]  # (0, 1]
UnitInterval = Annotated[float, Field(ge=0.0, lt=1.0)]  # [0, 1)
Percent = Annotated[float, Field(gt=0.0, le=100.0)]  # (0, 100]


def _three(values: list[Any]) -> list[Any]:
    if len(values) != 3:
        raise ValueError(f"must be a list of 3 numbers, got {values}")
    return values


def _patch(sides: list[int]) -> list[int]:
    if any(s % DOWNSAMPLING_FACTOR for s in sides):
        raise ValueError(f"must be three positive multiples of {DOWNSAMPLING_FACTOR}, got {sides}")
    return sides


class AppConfig(BaseModel):
    """Typed, validated settings; field names are the YAML keys (their meaning is documented there)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    labels: dict[str, int]
    spacing: Annotated[list[PositiveFloat], AfterValidator(_three)]
    intensity: Literal["auto", "ct", "mri"]
    ct_window_min: float
    ct_window_max: float
    width: PositiveInt
    dropout: UnitInterval
    patch_size: Annotated[list[PositiveInt], AfterValidator(_three), AfterValidator(_patch)]
    labeled_batch_size: PositiveInt
    crop_ratios: list[NonNegativeFloat]
    unlabeled_batch_size: NonNegativeInt
    sw_batch_size: PositiveInt
    sw_overlap: UnitInterval
    preset: str
    warmup_fraction: UnitInterval
    rampup_fraction: Fraction
    lr_schedule: Literal["cosine", "poly", "constant"]
    ema_decay: UnitInterval
    strong_augmentation: StrictBool
    copy_paste: UnitInterval
    batch_dice: StrictBool
    tv_threshold: Fraction
    tv_weight: NonNegativeFloat
    reliable_percentile_start: Percent
    reliable_percentile: Percent
    confidence_floor: UnitInterval
    class_balanced: StrictBool
    unlabeled_weight: NonNegativeFloat
    bidirectional_weight: NonNegativeFloat
    contrastive_weight: NonNegativeFloat
    contrastive_temperature: PositiveFloat
    contrastive_band: Percent
    projection_dim: NonNegativeInt
    feature_selection: StrictBool
    prototype_momentum: UnitInterval
    contrastive_max_voxels: PositiveInt
    pdcr_weight: NonNegativeFloat
    pdcr_grid: Annotated[int, Field(ge=2)]
    max_epochs: PositiveInt
    iterations_per_epoch: PositiveInt
    learning_rate: PositiveFloat
    val_split: UnitInterval
    val_interval: PositiveInt
    num_workers: NonNegativeInt
    cache_fraction: UnitInterval
    uncertainty_threshold: Fraction
    score_all: StrictBool
    next_study_score: Literal[STUDY_SCORES]
    focus_label: str
    focus_min_ml: NonNegativeFloat
    score_downsample: Annotated[int, Field(ge=1, le=4)]
    batch_pool_factor: Annotated[int, Field(ge=1, le=10)]
    batch_pick: Literal[BATCH_PICKS]
    cold_start_labels: NonNegativeInt
    lease_minutes: PositiveFloat
    agreement_threshold: Fraction
    agreement_window: PositiveInt
    max_voxels: PositiveInt
    dicomweb_cache_seconds: NonNegativeInt
    mixed_precision: Literal["auto", "bfloat16", "float16", "none"]
    cpu_threads: NonNegativeInt
    task_niceness: Annotated[int, Field(ge=0, le=19)]

    @field_validator("labels")
    @classmethod
    def _labels_are_one_to_n(cls, labels: dict[str, int]) -> dict[str, int]:
        values = sorted(labels.values())
        if not labels or values != list(range(1, len(values) + 1)):
            raise ValueError(f"labels must map names to 1..N (0 is background), got {labels}")
        if "background" in labels:
            raise ValueError("labels must not name 'background': it is always 0")
        return labels

    @field_validator("preset")
    @classmethod
    def _preset_exists(cls, preset: str) -> str:
        if preset != "none" and not (PRESETS_DIR / f"{preset}.yaml").is_file():
            raise ValueError(f"preset must be 'none' or one of {available_presets()}, got {preset!r}")
        return preset

    @model_validator(mode="after")
    def _settings_fit_together(self) -> AppConfig:
        if self.ct_window_min >= self.ct_window_max:
            raise ValueError("ct_window_min must be below ct_window_max")
        bottleneck = self.labeled_batch_size * math.prod(s // DOWNSAMPLING_FACTOR for s in self.patch_size)
        if bottleneck < 2:
            raise ValueError(
                f"labeled_batch_size {self.labeled_batch_size} with patch_size {self.patch_size} leaves batch norm one "
                f"value per channel at the networks' 1/{DOWNSAMPLING_FACTOR} level in supervised iterations: raise one"
            )
        if self.crop_ratios and (len(self.crop_ratios) != self.num_classes or not any(self.crop_ratios)):
            raise ValueError(
                f"crop_ratios must be empty (every class alike) or {self.num_classes} weights, background first, "
                f"not all 0, got {self.crop_ratios}"
            )
        if self.focus_label and self.focus_label not in self.labels:
            raise ValueError(
                f"focus_label must be '' or one of the labels {self.label_names}, got {self.focus_label!r}"
            )
        if any(s % self.pdcr_grid for s in self.patch_size):
            raise ValueError(f"pdcr_grid must divide every patch_size side, got {self.pdcr_grid} and {self.patch_size}")
        return self

    @property
    def total_iterations(self) -> int:
        """Iterations of a training run at the default number of epochs (a run's own ``max_epochs`` may differ)."""
        return self.max_epochs * self.iterations_per_epoch

    @property
    def scoring_spacing(self) -> list[float]:
        """The grid scoring resamples a study to: ``score_downsample`` times coarser than ``spacing``."""
        return [s * self.score_downsample for s in self.spacing]

    @property
    def label_names(self) -> list[str]:
        return sorted(self.labels, key=self.labels.get)

    @property
    def focus_value(self) -> int:
        """The label value that ``focus_disagreement`` scores: ``focus_label``'s, else the highest label value."""
        return self.labels[self.focus_label] if self.focus_label else max(self.labels.values())

    def focus_min_voxels(self, spacing: Sequence[float]) -> float:
        """``focus_min_ml`` in voxels of a grid with ``spacing`` (mm)."""
        return self.focus_min_ml * 1000.0 / math.prod(spacing)

    @property
    def num_classes(self) -> int:
        """Output channels: background plus every label."""
        return len(self.labels) + 1


def available_presets() -> list[str]:
    return sorted(p.stem for p in PRESETS_DIR.glob("*.yaml"))


def _read_yaml(path: Path) -> dict[str, Any]:
    with open(path) as f:
        return yaml.safe_load(f)


def _message(error: ValidationError) -> str:
    """One line per bad setting, naming it: what an operator reads in the server log at start."""
    lines = []
    for e in error.errors():
        text = e["msg"].removeprefix("Value error, ")
        name = ".".join(str(part) for part in e["loc"])
        lines.append(f"setting {name!r}: {text} (got {e['input']!r})" if name else text)
    return "; ".join(lines)


def load_config(conf: Mapping[str, str] | None = None, path: Path = DEFAULT_CONFIG_PATH) -> AppConfig:
    """Read the defaults, then a ``preset`` file's values if one is named, then the other overrides; MONAI Label
    passes ``--conf`` values as strings, parsed here as YAML.
    """
    settings = _read_yaml(path)
    known = set(AppConfig.model_fields)
    if set(settings) != known:
        raise ValueError(f"{path} does not match the app's settings; differing keys: {sorted(set(settings) ^ known)}")
    overrides = {name: yaml.safe_load(raw) if isinstance(raw, str) else raw for name, raw in (conf or {}).items()}
    unknown = sorted(set(overrides) - known - MONAI_LABEL_CONF_KEYS)
    if unknown:
        raise ValueError(
            f"unknown setting(s) {unknown} (from --conf); the app's settings are: {', '.join(sorted(known))}"
        )
    preset = overrides.get("preset", settings["preset"])
    preset_path = PRESETS_DIR / f"{preset}.yaml"
    if preset != "none" and preset_path.is_file():  # a preset that does not exist is refused by AppConfig
        preset_values = _read_yaml(preset_path)
        if set(preset_values) - known:
            raise ValueError(f"{preset_path} sets {sorted(set(preset_values) - known)}, which are not settings")
        settings.update(preset_values)
    for name in sorted(set(overrides) & known):
        settings[name] = overrides[name]
        logger.info("setting %s = %r (from --conf)", name, overrides[name])
    try:
        return AppConfig(**settings)
    except ValidationError as error:
        raise ValueError(_message(error)) from None
