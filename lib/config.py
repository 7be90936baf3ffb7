"""The app's settings: defaults from ``configs/default.yaml``, overridden by MONAI Label's ``--conf key value``."""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from .networks.dual_subnet import DOWNSAMPLING_FACTOR

__all__ = ["AppConfig", "DEFAULT_CONFIG_PATH", "LR_SCHEDULES", "MIXED_PRECISION", "STUDY_SCORES", "load_config"]

logger = logging.getLogger(__name__)

DEFAULT_CONFIG_PATH = Path(__file__).resolve().parents[1] / "configs" / "default.yaml"
PRESETS_DIR = DEFAULT_CONFIG_PATH.parent / "presets"
MIXED_PRECISION = ("auto", "bfloat16", "float16", "none")
LR_SCHEDULES = ("cosine", "poly", "constant")
# The per-study scores that scoring stores from one pass (lib.scoring), any of which the strategy may rank by.
STUDY_SCORES = ("subnet_disagreement", "mean_uncertainty")


@dataclasses.dataclass(frozen=True)
class AppConfig:
    """Typed, validated settings; field names are the YAML keys (their meaning is documented there)."""

    labels: dict[str, int]
    spacing: list[float]
    intensity: str
    ct_window_min: float
    ct_window_max: float
    width: int
    dropout: float
    patch_size: list[int]
    labeled_batch_size: int
    unlabeled_batch_size: int
    sw_batch_size: int
    sw_overlap: float
    preset: str
    warmup_fraction: float
    rampup_fraction: float
    lr_schedule: str
    ema_decay: float
    strong_augmentation: bool
    tv_threshold: float
    tv_weight: float
    reliable_percentile_start: float
    reliable_percentile: float
    confidence_floor: float
    class_balanced: bool
    unlabeled_weight: float
    bidirectional_weight: float
    contrastive_weight: float
    contrastive_temperature: float
    contrastive_band: float
    projection_dim: int
    prototype_momentum: float
    contrastive_max_voxels: int
    pdcr_weight: float
    pdcr_grid: int
    max_epochs: int
    iterations_per_epoch: int
    learning_rate: float
    val_split: float
    val_interval: int
    num_workers: int
    uncertainty_threshold: float
    score_all: bool
    next_study_score: str
    max_voxels: int
    dicomweb_cache_seconds: int
    mixed_precision: str
    cpu_threads: int

    def __post_init__(self) -> None:
        values = sorted(self.labels.values())
        if not self.labels or values != list(range(1, len(values) + 1)):
            raise ValueError(f"labels must map names to 1..N (0 is background), got {self.labels}")
        if "background" in self.labels:
            raise ValueError("labels must not name 'background': it is always 0")
        if len(self.spacing) != 3 or min(self.spacing) <= 0:
            raise ValueError(f"spacing must be three positive numbers (mm), got {self.spacing}")
        if self.intensity not in ("ct", "mri"):
            raise ValueError(f"intensity must be 'ct' or 'mri', got {self.intensity!r}")
        if self.ct_window_min >= self.ct_window_max:
            raise ValueError("ct_window_min must be below ct_window_max")
        if len(self.patch_size) != 3 or any(s <= 0 or s % DOWNSAMPLING_FACTOR for s in self.patch_size):
            raise ValueError(
                f"patch_size must be three positive multiples of {DOWNSAMPLING_FACTOR}, got {self.patch_size}"
            )
        bottleneck = self.labeled_batch_size * math.prod(s // DOWNSAMPLING_FACTOR for s in self.patch_size)
        if bottleneck < 2:
            raise ValueError(
                f"labeled_batch_size {self.labeled_batch_size} with patch_size {self.patch_size} leaves batch norm one "
                f"value per channel at the networks' 1/{DOWNSAMPLING_FACTOR} level in supervised iterations: raise one"
            )
        positive = ("width", "labeled_batch_size", "sw_batch_size", "contrastive_max_voxels", "max_epochs")
        positive += ("iterations_per_epoch", "val_interval", "max_voxels")
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in (
            "unlabeled_batch_size",
            "projection_dim",
            "tv_weight",
            "unlabeled_weight",
            "bidirectional_weight",
            "contrastive_weight",
            "pdcr_weight",
            "num_workers",
            "cpu_threads",
            "dicomweb_cache_seconds",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative, got {getattr(self, name)}")
        for name in ("tv_threshold", "uncertainty_threshold"):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in (0, 1], got {getattr(self, name)}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if not 0.0 <= self.sw_overlap < 1.0:
            raise ValueError(f"sw_overlap must be in [0, 1), got {self.sw_overlap}")
        if not 0.0 <= self.val_split < 1.0:
            raise ValueError(f"val_split must be in [0, 1), got {self.val_split}")
        for name in ("reliable_percentile_start", "reliable_percentile", "contrastive_band"):
            if not 0.0 < getattr(self, name) <= 100.0:
                raise ValueError(f"{name} must be in (0, 100], got {getattr(self, name)}")
        if not 0.0 < self.rampup_fraction <= 1.0:
            raise ValueError(f"rampup_fraction must be in (0, 1], got {self.rampup_fraction}")
        if not 0.0 <= self.warmup_fraction < 1.0:
            raise ValueError(f"warmup_fraction must be in [0, 1), got {self.warmup_fraction}")
        for name in ("ema_decay", "prototype_momentum", "confidence_floor"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES}, got {self.lr_schedule!r}")
        if self.preset != "none" and not (PRESETS_DIR / f"{self.preset}.yaml").is_file():
            raise ValueError(f"preset must be 'none' or one of {available_presets()}, got {self.preset!r}")
        if self.pdcr_grid < 2 or any(s % self.pdcr_grid for s in self.patch_size):
            raise ValueError(f"pdcr_grid must be at least 2 and divide every patch_size side, got {self.pdcr_grid}")
        if self.next_study_score not in STUDY_SCORES:
            raise ValueError(f"next_study_score must be one of {STUDY_SCORES}, got {self.next_study_score!r}")
        if self.mixed_precision not in MIXED_PRECISION:
            raise ValueError(f"mixed_precision must be one of {MIXED_PRECISION}, got {self.mixed_precision!r}")
        if self.learning_rate <= 0 or self.contrastive_temperature <= 0:
            raise ValueError("learning_rate and contrastive_temperature must be positive")

    @property
    def total_iterations(self) -> int:
        """Iterations of a training run at the default number of epochs (a run's own ``max_epochs`` may differ)."""
        return self.max_epochs * self.iterations_per_epoch

    @property
    def label_names(self) -> list[str]:
        return sorted(self.labels, key=self.labels.get)

    @property
    def num_classes(self) -> int:
        """Output channels: background plus every label."""
        return len(self.labels) + 1


def _coerce(name: str, value: Any, default: Any) -> Any:
    """Give an override the type of its default; ints are accepted where floats are expected."""
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ValueError(f"setting {name!r} must be true or false, got {value!r}")
        return value
    if isinstance(default, float) and not isinstance(value, bool):
        try:
            return float(value)  # also "1e-3", which YAML 1.1 reads as a string
        except (TypeError, ValueError):
            raise ValueError(f"setting {name!r} must be a number, got {value!r}") from None
    if isinstance(default, list):
        if not isinstance(value, list) or len(value) != len(default):
            raise ValueError(f"setting {name!r} must be a list of {len(default)} numbers, got {value!r}")
        return [_coerce(name, v, d) for v, d in zip(value, default)]
    if isinstance(default, dict):
        if not isinstance(value, dict) or not all(isinstance(v, int) for v in value.values()):
            raise ValueError(f"setting {name!r} must map names to integers, got {value!r}")
        return {str(k): v for k, v in value.items()}
    if type(value) is not type(default):
        raise ValueError(f"setting {name!r} must be of type {type(default).__name__}, got {value!r}")
    return value


def available_presets() -> list[str]:
    return sorted(p.stem for p in PRESETS_DIR.glob("*.yaml"))


def _parse(name: str, raw: Any, default: Any) -> Any:
    return _coerce(name, yaml.safe_load(raw) if isinstance(raw, str) else raw, default)


def load_config(conf: Mapping[str, str] | None = None, path: Path = DEFAULT_CONFIG_PATH) -> AppConfig:
    """Read the defaults, then a ``preset`` file's values if one is named, then the other overrides; MONAI Label
    passes ``--conf`` values as strings, parsed here as YAML.

    Keys the app does not know are left alone: MONAI Label passes its own settings through the same dictionary.
    """
    with open(path) as f:
        defaults = yaml.safe_load(f)
    settings = dict(defaults)
    conf = dict(conf or {})
    preset = _parse("preset", conf.get("preset", defaults["preset"]), defaults["preset"])
    if preset != "none":
        preset_path = PRESETS_DIR / f"{preset}.yaml"
        if not preset_path.is_file():
            raise ValueError(f"preset must be 'none' or one of {available_presets()}, got {preset!r}")
        with open(preset_path) as f:
            for name, value in yaml.safe_load(f).items():
                if name not in defaults:
                    raise ValueError(f"{preset_path} sets {name!r}, which is not a setting")
                settings[name] = _coerce(name, value, defaults[name])
    for name, raw in conf.items():
        if name not in defaults:
            continue
        settings[name] = _parse(name, raw, defaults[name])
        logger.info("setting %s = %r (from --conf)", name, settings[name])
    missing = set(f.name for f in dataclasses.fields(AppConfig)) ^ set(settings)
    if missing:
        raise ValueError(f"{path} does not match the app's settings; differing keys: {sorted(missing)}")
    return AppConfig(**settings)
