"""Every reach into MONAI Label's (and its ignite handlers') private internals, in one place, for one version.

The app subclasses MONAI Label's tasks and datastores through their documented extension points. Where those points
are missing, it works on private attributes; each such use is a function or mixin here, with what it works around.
They were written against monailabel 0.8.5: :func:`check_version` stops the app at start on any other version, so an
upgrade fails loudly at once instead of breaking one workaround after another in silence.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from typing import Any

import monailabel
from fastapi import APIRouter
from filelock import FileLock
from ignite.engine import Engine, Events
from monai.handlers import CheckpointSaver
from monailabel.datastore.local import LocalDatastore
from monailabel.tasks.train.handler import PublishStatsAndModel

from .atomic_write import atomic_write_text

__all__ = [
    "SUPPORTED_MONAILABEL",
    "AtomicIndex",
    "align_dicom_seg_segments",
    "check_version",
    "lower_task_priority_at_start",
    "checkpoint_savers",
    "put_routes_first",
    "handle_exceptions",
    "publisher_arguments",
    "replace_handler",
    "save_checkpoints_atomically",
    "scoring_methods",
    "trainers",
    "update_image_infos",
]

SUPPORTED_MONAILABEL = "0.8.5"


def check_version(installed: str = monailabel.__version__) -> None:
    """Raise ``RuntimeError`` unless ``installed`` is the version this module was made for."""
    if installed != SUPPORTED_MONAILABEL:
        raise RuntimeError(
            f"this app was made for monailabel {SUPPORTED_MONAILABEL}, but {installed} is installed; its workarounds "
            f"of MONAI Label internals (lib/monailabel_compat.py) would break unnoticed. Install the supported "
            f"version: pip install -r requirements.txt (monailabel=={SUPPORTED_MONAILABEL})"
        )


# --- The server: MONAI Label's FastAPI app offers no hook before its own routes. ------------------------------------


def put_routes_first(router: APIRouter) -> list[str]:
    """Put ``router``'s routes in front of MONAI Label's on its FastAPI app (routes match in order), so that they
    check a request before MONAI Label's handler for the same path and method; returns their paths. Only in the
    server process: importing ``monailabel.app`` builds the server."""
    from monailabel.app import app as server

    server.router.routes[:0] = router.routes
    return sorted({route.path for route in router.routes})


def handle_exceptions(exception: type[Exception], handler: Callable[[Any, Any], Any]) -> None:
    """Answer ``exception``, raised by any route, with ``handler`` on MONAI Label's FastAPI app. The app object is
    built before the app's code runs and Starlette copies its handlers into the middleware stack at the first ASGI
    call (the lifespan, before ``on_init_complete``), so a handler added the documented way afterwards is never
    seen: it goes into the live ``ExceptionMiddleware`` too. Only in the server process."""
    from monailabel.app import app as server
    from starlette.middleware.exceptions import ExceptionMiddleware

    server.add_exception_handler(exception, handler)
    layer = server.middleware_stack
    while layer is not None and not isinstance(layer, ExceptionMiddleware):
        layer = getattr(layer, "app", None)
    if layer is not None:
        layer.add_exception_handler(exception, handler)


class _TaskProcesses:
    """MONAI Label's ``subprocess`` module as its task runner sees it, with each process it starts lowered to
    ``niceness`` at once (``preexec_fn`` would do it before the program runs, but is unsafe in a threaded server)."""

    def __init__(self, module: Any, niceness: int) -> None:
        self.module, self.niceness = module, niceness

    def __getattr__(self, name: str) -> Any:
        return getattr(self.module, name)

    def Popen(self, *args: Any, **kwargs: Any) -> Any:  # noqa: N802 (subprocess's name)
        process = self.module.Popen(*args, **kwargs)
        try:
            os.setpriority(os.PRIO_PROCESS, process.pid, self.niceness)
        except OSError:  # it has ended already
            pass
        return process


def lower_task_priority_at_start(niceness: int) -> None:
    """Training, scoring and batch-inference processes at ``niceness`` from their first moment (call it in the
    server process). Each lowers its own priority once the app is built in it (``lib.runtime.yield_to_the_server``),
    but that comes after some 5 s of importing torch and MONAI at the server's priority, and an ``/infer`` asked for
    then took 3.1 s instead of 1.6 s (``monailabel.utils.async_tasks.utils`` starts them with ``subprocess.Popen``)."""
    from monailabel.utils.async_tasks import utils as task_runner

    if niceness > 0 and not isinstance(task_runner.subprocess, _TaskProcesses):
        task_runner.subprocess = _TaskProcesses(task_runner.subprocess, niceness)


def align_dicom_seg_segments(request: dict[str, Any], present: list[str]) -> None:
    """Give each label value of an ``/infer?output=dicom_seg`` result the request's ``label_info`` entry of its own
    name. MONAI Label's endpoint names the i-th value *present* in the result after the i-th entry, so a result
    without organ would call its lesion "organ". The endpoint reads the same list object from its parsed params
    after ``infer`` returns: it is reordered in place (entries the client did not name get just the app's name)."""
    entries = request.get("label_info")
    if not isinstance(entries, list):
        return
    by_name = {entry.get("name"): entry for entry in entries if isinstance(entry, dict)}
    entries[:] = [by_name.get(name, {"name": name}) for name in present]


def trainers(app: Any) -> dict[str, Any]:
    """The app's train tasks by name (``MONAILabelApp`` keeps them private; ``info()`` only describes them)."""
    return app._trainers


def scoring_methods(app: Any) -> dict[str, Any]:
    return app._scoring_methods


# --- Training: MONAI Label builds its ignite handlers inside ``train``/``finalize``, with no factory to override. --


def _attached(engine: Engine, event: Events | None = None) -> Iterator[Any]:
    """The handlers attached to ``engine`` (for ``event``, or all), as ignite stores them (``_event_handlers``)."""
    lists = [engine._event_handlers[event]] if event is not None else list(engine._event_handlers.values())
    for handlers in lists:
        for handler, _, _ in list(handlers):
            yield handler


def checkpoint_savers(engine: Engine) -> list[CheckpointSaver]:
    """MONAI's ``CheckpointSaver`` handlers attached to ``engine`` (MONAI Label creates them inside ``train``)."""
    savers = []
    for handler in _attached(engine):
        saver = getattr(handler, "__self__", None)
        if isinstance(saver, CheckpointSaver) and saver not in savers:
            savers.append(saver)
    return savers


def save_checkpoints_atomically(saver: CheckpointSaver) -> None:
    """Switch ``saver`` to ignite's write-and-rename saving (MONAI turns it off for file permissions that ignite now
    sets itself): a crash while saving leaves the previous checkpoint, not half a file that the next fine-tuning run
    would fail to load. MONAI has no setting for it."""
    for checkpoint in (saver._final_checkpoint, saver._key_metric_checkpoint, saver._interval_checkpoint):
        if checkpoint is not None:
            checkpoint.save_handler._atomic = True


def replace_handler(engine: Engine, event: Events, old: type, make_new: Callable[[Any], Any]) -> None:
    """Swap each handler of exactly type ``old`` on ``event`` for ``make_new(handler)``."""
    for handler in _attached(engine, event):
        if type(handler) is old:
            engine.remove_event_handler(handler, event)
            engine.add_event_handler(event, make_new(handler))


def publisher_arguments(publisher: PublishStatsAndModel) -> tuple:
    """The constructor arguments of a ``PublishStatsAndModel`` that MONAI Label's ``finalize`` built inline."""
    p = publisher
    return (p._stats_path, p._publish_path, p._key_metric_filename, p.start_ts, p.run_id, p.output_dir, p.trainer,
            p.evaluator)  # fmt: skip


# --- Datastores: MONAI Label's ``LocalDatastore`` rewrites its index in place and per image. ----------------------


def update_image_infos(datastore: LocalDatastore, infos: dict[str, dict[str, Any]]) -> None:
    """Update the info of many images and write the index once. ``LocalDatastore.update_image_info`` rewrites the
    whole datastore JSON per call (O(N) each, O(N^2) for a pool)."""
    for image_id, info in infos.items():
        datastore._datastore.objects[image_id].image.info.update(info)
    datastore._update_datastore_file()


class AtomicIndex:
    """Mixin for a MONAI Label ``LocalDatastore`` (or subclass): MONAI Label rewrites the index
    (``datastore_v2.json``) in place, so a kill during the write leaves a truncated JSON that the next start cannot
    read. Here it is written to a temporary file and renamed; call ``_watch_renames`` after ``__init__``."""

    def _watch_renames(self) -> None:
        handler = getattr(self, "_handler", None)
        if handler is not None:
            # An atomic write is a rename, which MONAI Label's file watcher (modify events only) would not notice:
            # the server would miss the scores that a scoring subprocess writes.
            handler.on_moved = self._on_moved_event

    def _on_moved_event(self, event: Any) -> None:
        if getattr(event, "dest_path", None) == self._datastore_config_path:
            self._init_from_datastore_file()

    def _update_datastore_file(self, lock: bool = True) -> None:
        def write() -> None:
            atomic_write_text(
                self._datastore_config_path,
                json.dumps(self._datastore.model_dump(exclude={"base_path"}), indent=2, default=str),
            )
            self._config_ts = os.stat(self._datastore_config_path).st_mtime

        if lock:
            with FileLock(self._lock_file):
                write()
        else:
            write()
