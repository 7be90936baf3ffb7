from __future__ import annotations

from pathlib import Path

import pytest

from lib.config import load_config


def test_defaults_are_cpu_practical_and_declare_the_demo_labels() -> None:
    config = load_config()
    assert config.labels == {"organ": 1, "lesion": 2}
    assert config.num_classes == 3
    assert config.label_names == ["organ", "lesion"]
    assert config.width == 8 and config.patch_size == [48, 48, 32]


def test_conf_strings_override_with_the_type_of_the_default() -> None:
    config = load_config({"width": "16", "patch_size": "[112, 112, 80]", "learning_rate": "1e-2", "score_all": "true"})
    assert config.width == 16 and config.patch_size == [112, 112, 80]
    assert config.learning_rate == 0.01 and config.score_all is True


def test_settings_of_monai_label_itself_are_ignored() -> None:
    assert load_config({"models": "all", "preload": "false", "server_mode": "true"}) == load_config()


def test_an_unknown_key_is_refused_with_the_list_of_known_settings() -> None:
    with pytest.raises(ValueError, match=r"unknown setting\(s\) \['widht'\].*settings are: .*\bwidth\b") as error:
        load_config({"widht": "16"})
    assert "patch_size" in str(error.value) and "labels" in str(error.value)


def test_labels_can_be_redeclared_for_any_number_of_classes() -> None:
    config = load_config({"labels": "{liver: 1, tumor: 2, vessel: 3}"})
    assert config.num_classes == 4


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("max_epochs", "ten", "max_epochs"),
        ("patch_size", "[50, 48, 32]", "multiples of 16"),
        ("patch_size", "[48, 48]", "list of 3"),
        ("labels", "{organ: 1, lesion: 3}", "1..N"),
        ("labels", "{background: 1}", "1..N|background"),
        ("intensity", "pet", "'auto', 'ct' or 'mri'"),
        ("tv_threshold", "1.5", "tv_threshold"),
        ("val_split", "1.0", "val_split"),
        ("score_all", "1", "score_all.*boolean"),
        ("warmup_fraction", "1.0", "warmup_fraction"),
        ("rampup_fraction", "0", "rampup_fraction"),
        ("rampup_fraction", "1.5", "rampup_fraction"),
        ("ema_decay", "-0.1", "ema_decay"),
        ("ema_decay", "1.0", "ema_decay"),
        ("prototype_momentum", "-0.5", "prototype_momentum"),
        ("confidence_floor", "1.2", "confidence_floor"),
        ("reliable_percentile_start", "0", "reliable_percentile_start"),
        ("contrastive_band", "120", "contrastive_band"),
        ("lr_schedule", "step", "lr_schedule"),
        ("bidirectional_weight", "-1", "bidirectional_weight"),
        ("projection_dim", "-4", "projection_dim"),
        ("pdcr_grid", "5", "pdcr_grid"),
        ("preset", "mine", "preset"),
    ],
)
def test_bad_overrides_are_rejected_with_a_message_naming_the_setting(key: str, value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_config({key: value})


def test_the_paper_preset_is_one_setting_away_and_other_overrides_still_apply() -> None:
    paper = load_config({"preset": "paper", "tv_weight": "0.25"})
    assert paper.ema_decay == 0.0 and paper.projection_dim == 0 and not paper.class_balanced
    assert paper.reliable_percentile == paper.reliable_percentile_start == 20.0
    assert paper.tv_weight == 0.25
    default = load_config()
    assert default.ema_decay > 0 and default.projection_dim > 0 and default.class_balanced


def test_a_patch_and_batch_that_leave_batch_norm_one_value_are_refused() -> None:
    with pytest.raises(ValueError, match="batch norm"):
        load_config({"patch_size": "[16, 16, 16]", "labeled_batch_size": "1"})


def _default_tables(text: str) -> list[tuple[list[str], list[str]]]:
    """Rows of every ``| setting | default | ...`` table: (setting names, default values), both comma-separated."""
    rows, in_table = [], False
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| setting | default |"):
            in_table = True
        elif not line.startswith("|"):
            in_table = False
        elif in_table and cells[0].startswith("`"):
            rows.append(([n.strip(" `") for n in cells[0].split(",")], [v.strip(" `") for v in cells[1].split(",")]))
    return rows


def test_the_defaults_the_docs_quote_are_the_configured_ones() -> None:
    """The docs' settings tables must not drift from configs/default.yaml (sw_overlap once did)."""
    root = Path(__file__).resolve().parents[2]
    config = load_config()
    pages = [root / "README.md", *sorted((root / "docs").glob("*.md"))]
    rows = [row for page in pages for row in _default_tables(page.read_text())]
    assert rows, "no settings table found in README.md or docs/"
    for names, values in rows:
        assert len(names) == len(values), names
        for name, value in zip(names, values, strict=True):
            configured = str(getattr(config, name))
            assert configured == value, f"{name}: the docs say {value}, configs/default.yaml {configured}"
