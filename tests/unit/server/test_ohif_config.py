"""The OHIF configuration the app serves: MONAI Label's own, then the app's mode, only for the OHIF build it was made
for."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
from pathlib import Path

import pytest

from lib.server.ohif_config import (
    MODE_DIR,
    MODE_PARTS,
    OHIF_VERSION,
    STATIC_DIR,
    app_config_js,
    bundled_ohif_version,
    mode_js,
    ohif_config_router,
)


def test_the_bundled_viewer_is_the_build_the_mode_was_made_for() -> None:
    assert bundled_ohif_version() == OHIF_VERSION


def test_the_served_file_keeps_monai_labels_data_sources_and_adds_the_apps_mode() -> None:
    text = app_config_js({"organ": 1, "lesion": 2})
    stock = (STATIC_DIR / "app-config.js").read_text()
    assert text.startswith(stock)
    mode = text[len(stock) :]
    assert "__APP__" not in mode
    app = {
        "labels": {"organ": 1, "lesion": 2},
        "defaultStrategy": "uncertainty",
        "apiRoot": "",
        "overlay": {"model": "uncertainty_region", "label": "uncertain"},  # the Uncertainty button's model
    }
    assert json.dumps(app) in mode
    assert "window.config.modes = [" in mode and "'@ohif/mode-monai-label'" in mode


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed (a syntax check only)")
def test_the_served_file_is_valid_javascript(tmp_path: Path) -> None:
    script = tmp_path / "app-config.js"
    script.write_text(app_config_js({"organ": 1, "lesion": 2}))
    subprocess.run(["node", "--check", str(script)], check=True)


def test_another_ohif_build_gets_monai_labels_own_file_and_a_warning(tmp_path: Path, caplog) -> None:
    (tmp_path / "app.bundle.0.js").write_text('var versionNumber = "3.11.0";')
    (tmp_path / "app-config.js").write_text("window.config = {};")
    with caplog.at_level(logging.WARNING):
        assert ohif_config_router({"organ": 1}, tmp_path) is None
    assert "3.11.0" in caplog.text and f"made for {OHIF_VERSION}" in caplog.text


def test_the_bundled_build_gets_the_route() -> None:
    router = ohif_config_router({"organ": 1})
    assert [route.path for route in router.routes] == ["/ohif/app-config.js"]


def test_every_file_of_the_mode_folder_is_served_once() -> None:
    assert sorted(MODE_PARTS) == sorted(path.name for path in MODE_DIR.glob("*.js"))
    mode = mode_js({"labels": {"organ": 1}})
    for name in MODE_PARTS:
        assert mode.count((MODE_DIR / name).read_text().replace("__APP__", '{"labels": {"organ": 1}}')) == 1
