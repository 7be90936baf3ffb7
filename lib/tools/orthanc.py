"""Debian's Orthanc as a DICOMweb PACS on loopback, for trying the app and for the tests.

    python sample-apps/pacs/orthanc.py [--port 8042] [--storage pacs-storage]

writes an Orthanc configuration (DICOMweb plugin on, DICOM port off, remote access off, storage in ``--storage`` or a
temporary folder), starts ``/usr/sbin/Orthanc`` on 127.0.0.1, waits until it answers, prints its DICOMweb URL and
runs until Ctrl-C. Needs the Debian packages ``orthanc`` and ``orthanc-dicomweb`` and a C compiler.

Orthanc 1.10.1 has no bind-address setting: it listens on every interface and ``RemoteAccessAllowed: false`` only
answers other hosts with 401. The small ``loopback_bind.c`` shim beside this file, preloaded into Orthanc, turns its
"any address" bind into 127.0.0.1, so that the PACS cannot be reached from the network at all.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from .wait_for_http import wait_for_http

__all__ = ["OrthancServer", "dicomweb_plugin"]

ORTHANC = "/usr/sbin/Orthanc"
PLUGIN_NAME = "libOrthancDicomWeb.so"
PLUGIN_DIRS = ("/usr/share/orthanc/plugins", "/usr/lib/orthanc")
SHIM_SOURCE = Path(__file__).resolve().with_name("loopback_bind.c")


def dicomweb_plugin() -> Path:
    """The DICOMweb plugin that Debian's ``orthanc-dicomweb`` installs."""
    for folder in PLUGIN_DIRS:
        path = Path(folder) / PLUGIN_NAME
        if path.exists():
            return path
    raise FileNotFoundError(f"{PLUGIN_NAME} not found in {PLUGIN_DIRS}: apt-get install orthanc orthanc-dicomweb")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _build_shim(out_dir: Path) -> Path:
    compiler = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    if compiler is None:
        raise FileNotFoundError("a C compiler (cc or gcc) is needed to keep Orthanc on loopback: apt-get install gcc")
    target = out_dir / "loopback_bind.so"
    subprocess.run([compiler, "-shared", "-fPIC", "-O2", "-o", str(target), str(SHIM_SOURCE), "-ldl"], check=True)
    return target


class OrthancServer:
    """One Orthanc process on ``127.0.0.1:port`` with the DICOMweb plugin at ``/dicom-web``.

    ``storage`` keeps the studies (a temporary folder, removed by ``stop``, when not given). Also a context manager.
    """

    def __init__(self, storage: Path | None = None, port: int | None = None, executable: str = ORTHANC) -> None:
        self.port = port or _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.dicomweb_url = f"{self.url}/dicom-web"
        self.executable = executable
        self._work_dir = Path(tempfile.mkdtemp(prefix="orthanc-"))
        self.storage = Path(storage) if storage else self._work_dir / "storage"
        self.log = self._work_dir / "orthanc.log"
        self.process: subprocess.Popen | None = None

    def config(self) -> dict:
        return {
            "Name": "MONAILabelPACS",
            "HttpPort": self.port,
            "RemoteAccessAllowed": False,
            "AuthenticationEnabled": False,
            "DicomServerEnabled": False,
            "StorageDirectory": str(self.storage),
            "IndexDirectory": str(self.storage),
            "Plugins": [str(dicomweb_plugin())],
            "DicomWeb": {"Enable": True, "Root": "/dicom-web/", "EnableWado": True, "WadoRoot": "/wado"},
            # A series is "stable" (and its metadata final) this many seconds after its last instance arrived.
            "StableAge": 2,
        }

    def start(self, timeout: float = 60.0) -> OrthancServer:
        if not Path(self.executable).exists():
            raise FileNotFoundError(f"{self.executable} not found: apt-get install orthanc orthanc-dicomweb")
        self.storage.mkdir(parents=True, exist_ok=True)
        config_path = self._work_dir / "orthanc.json"
        config_path.write_text(json.dumps(self.config(), indent=2))
        env = {**os.environ, "LD_PRELOAD": str(_build_shim(self._work_dir))}
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [self.executable, str(config_path)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        wait_for_http(f"{self.url}/system", self.process, "Orthanc", timeout, self.log_tail, self.stop, poll=0.2)
        return self

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        shutil.rmtree(self._work_dir, ignore_errors=True)

    def __enter__(self) -> OrthancServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8042)
    parser.add_argument("--storage", type=Path, default=None, help="keeps the studies (default: a temporary folder)")
    args = parser.parse_args()
    with OrthancServer(args.storage, args.port) as pacs:
        print(f"Orthanc on {pacs.url}; DICOMweb: {pacs.dicomweb_url}; storage: {pacs.storage}", flush=True)
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            while pacs.process.poll() is None:
                time.sleep(1)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
