"""A mistyped setting must not start a server that silently runs with the default: it stops with the known keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from lib.tools import demo_data
from lib.tools.server_process import ServerProcess, copy_app


def test_an_unknown_conf_key_stops_the_server_at_start_with_the_list_of_settings(tmp_path: Path) -> None:
    demo_data.generate(tmp_path / "data", num=1, labeled=0, seed=3, shape=(32, 32, 24))
    server = ServerProcess(copy_app(tmp_path / "app"), tmp_path / "data", {"widht": "16"}, log=tmp_path / "server.log")
    with pytest.raises(RuntimeError, match="server exited"):
        server.start(timeout=120)
    log = server.log_tail(20000)
    assert "unknown setting(s) ['widht'] (from --conf)" in log
    assert "width" in log.split("the app's settings are:")[1]
