"""Request checks at the app's entry points, so that a bad request gets a clear 4xx before anything runs.

Inference and active learning run in the server process, through the app's ``infer`` and ``next_sample``: those are
overridden. Training and scoring run in subprocesses that MONAI Label starts before the app sees the request, so a
bad option would only show later, as ERROR in ``GET /train/``; for them, and for the form fields that MONAI Label
parses with a bare ``json.loads`` (a 500 on bad JSON), the app puts a checking route in front of MONAI Label's own,
which it then calls. Both raise :class:`~lib.validation.errors.InvalidInputError`, answered with its status code and
message by :mod:`lib.server.refusals`.
"""

from __future__ import annotations

import json
import logging
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, BackgroundTasks, Depends, File, Form, UploadFile
from monai.transforms import LoadImage
from monailabel.config import settings
from monailabel.endpoints import activelearning as activelearning_api
from monailabel.endpoints import datastore as datastore_api
from monailabel.endpoints import infer as infer_api
from monailabel.endpoints import scoring as scoring_api
from monailabel.endpoints import train as train_api
from monailabel.endpoints.user.auth import RBAC, User
from monailabel.interfaces.datastore import DefaultLabelTag
from monailabel.utils.async_tasks.utils import tasks

from ..infers import EMBEDDING_KEY
from ..model_card import ModelMismatchError, check_model
from ..monailabel_compat import align_dicom_seg_segments, put_routes_first, scoring_methods, trainers
from ..scoring.study_scores import SCORE_GRID_KEY, SCORE_TS_KEY
from ..validation.errors import InvalidInputError, check_id
from ..validation.options import ScoringOptions, check_options, check_train_options
from .infer_request import validate_infer_request
from .refusals import answer_refusals

__all__ = ["RequestGuards", "guard_routes"]

logger = logging.getLogger(__name__)

# What the scorer keeps in a study's info for the strategy, not for a viewer: MONAI Label merges a study's whole info
# into the /activelearning answer (and its log line), the 256-float embedding with it.
STRATEGY_BOOKKEEPING = frozenset({EMBEDDING_KEY, SCORE_TS_KEY, SCORE_GRID_KEY})

ANNOTATOR = Depends(RBAC(settings.MONAI_LABEL_AUTH_ROLE_ANNOTATOR))
ADMIN = Depends(RBAC(settings.MONAI_LABEL_AUTH_ROLE_ADMIN))
USER = Depends(RBAC(settings.MONAI_LABEL_AUTH_ROLE_USER))


def _json_object(text: str | None, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text) if text else {}
    except json.JSONDecodeError as e:
        raise InvalidInputError(422, f"{what} must be a JSON object: {e}") from None
    if not isinstance(value, dict):
        raise InvalidInputError(422, f"{what} must be a JSON object, got {type(value).__name__}")
    return value


class RequestGuards:
    """Mixin for the ``MONAILabelApp``: checks requests, then hands them to MONAI Label. Needs ``app_config``."""

    def infer(self, request: dict[str, Any], datastore: Any = None) -> dict[str, Any]:
        datastore = datastore or self.datastore()
        validate_infer_request(request, datastore, self._infers, self.app_config.max_voxels)
        try:
            result = super().infer(request, datastore)
        except ModelMismatchError as error:
            raise InvalidInputError(409, str(error)) from None
        if request.get("label_info") and result.get("file"):
            names = {value: name for name, value in self._infers[request["model"]].labels.items()}
            present = np.unique(LoadImage(image_only=True)(result["file"]).numpy())
            align_dicom_seg_segments(request, [names[int(v)] for v in present if int(v) in names])
        return result

    def next_sample(self, request: dict[str, Any]) -> dict[str, Any]:
        strategy = request.get("strategy")
        if strategy not in self._strategies:
            raise InvalidInputError(404, f"unknown strategy {strategy!r}; this server has {sorted(self._strategies)}")
        return super().next_sample(request)

    def on_init_complete(self) -> None:
        """Called once, in the server process only (training and scoring subprocesses build the app too)."""
        # MONAI Label logs each /activelearning answer whole; the route below logs it without the bookkeeping.
        logging.getLogger(activelearning_api.__name__).setLevel(logging.WARNING)
        answer_refusals()
        paths = put_routes_first(guard_routes(self))
        logger.info("Request guards in front of: %s", ", ".join(paths))
        super().on_init_complete()


def guard_routes(app: Any) -> APIRouter:
    """Routes with MONAI Label's paths, parameters and roles that check a request and then call MONAI Label's own
    handler for it."""
    router = APIRouter(prefix=settings.MONAI_LABEL_API_STR)

    def check_train(model: str, options: Any, enqueue: bool | None) -> None:
        if model not in trainers(app):
            raise InvalidInputError(404, f"unknown model {model!r}; this server trains {sorted(trainers(app))}")
        check_train_options(options)
        if not (options or {}).get("from_scratch") and hasattr(trainers(app)[model], "check_fine_tuning"):
            trainers(app)[model].check_fine_tuning()  # 409 now, not an ERROR in the training subprocess later
        # MONAI Label refuses a second run only once the first one's subprocess exists: two requests in quick
        # succession would both be queued and run one after the other.
        if not enqueue and any(task["status"] in ("SUBMITTED", "RUNNING") for task in tasks("train")):
            raise InvalidInputError(429, "a training run is already going; wait for it (GET /train/) or stop it")

    def check_scoring_options(options: Any) -> None:
        check_options(ScoringOptions, options, "scoring")
        for task in app._infers.values():
            try:
                check_model(task.get_path(), app.app_config)
            except ModelMismatchError as error:
                raise InvalidInputError(409, f"cannot score: {error}") from None

    @router.post("/train/{model}", include_in_schema=False)
    async def train(
        model: str,
        params: dict | None = None,
        run_sync: bool | None = False,
        enqueue: bool | None = False,
        user: User = ADMIN,
    ) -> Any:
        check_train(model, params, enqueue)
        return train_api.run_model(model, params, run_sync, enqueue)

    # MONAI Label's deprecated "run every trainer / every scoring method" routes (left out of its OpenAPI document,
    # reached by POST /train/ and POST /scoring/): options per model or method.
    @router.post("/train/", include_in_schema=False)
    async def train_all(params: dict | None = None, run_sync: bool | None = False, user: User = ADMIN) -> Any:
        params = params or {}
        check_train_options({k: v for k, v in params.items() if k not in trainers(app)})  # apply to every model
        for model in trainers(app):
            check_train(model, params.get(model), enqueue=False)
        return train_api.run(params, run_sync)

    @router.post("/scoring/{method}", include_in_schema=False)
    async def scoring(method: str, params: dict | None = None, run_sync: bool | None = False, user: User = ADMIN):
        if method not in scoring_methods(app):
            raise InvalidInputError(
                404, f"unknown scoring method {method!r}; this server has {sorted(scoring_methods(app))}"
            )
        check_scoring_options(params or {})
        return scoring_api.run_method(method, params, run_sync)

    @router.post("/scoring/", include_in_schema=False)
    async def scoring_all(params: dict | None = None, run_sync: bool | None = False, user: User = ADMIN) -> Any:
        params = params or {}
        check_scoring_options({k: v for k, v in params.items() if k not in scoring_methods(app)})
        for method in scoring_methods(app):
            check_scoring_options(params.get(method, {}))
        return scoring_api.run(params, run_sync)

    @router.post("/activelearning/{strategy}", include_in_schema=False)
    async def next_sample(strategy: str, params: dict | None = None, user: User = USER) -> Any:
        result = activelearning_api.sample(strategy, params, user.username)
        answer = {key: value for key, value in result.items() if key not in STRATEGY_BOOKKEEPING}
        logger.info("Next sample: %s", json.dumps(answer, default=str))
        return answer

    @router.post("/infer/{model}", include_in_schema=False)
    async def infer(
        background_tasks: BackgroundTasks,
        model: str,
        image: str = "",
        session_id: str = "",
        params: str = Form("{}"),
        file: Annotated[UploadFile | None, File()] = None,
        label: Annotated[UploadFile | None, File()] = None,
        output: infer_api.ResultType | None = None,
        user: User = USER,
    ) -> Any:
        if file or label or session_id:
            raise InvalidInputError(
                422, "this server infers only images of its datastore: upload the image first (PUT /datastore/image)"
            )
        check_id(image, "image id")  # MONAI Label answers a missing image with 500
        _json_object(params, "params")
        return infer_api.run_inference(background_tasks, model, image, session_id, params, file, label, output)

    @router.put("/datastore/image", include_in_schema=False)
    async def add_image(
        background_tasks: BackgroundTasks,
        file: Annotated[UploadFile, File()],
        image: str | None = None,
        params: str = Form("{}"),
        user: User = ANNOTATOR,
    ) -> Any:
        _json_object(params, "params")
        return datastore_api.add_image(background_tasks, image, params, file, user.username)

    @router.put("/datastore/label", include_in_schema=False)
    async def save_label(
        background_tasks: BackgroundTasks,
        image: str,
        label: Annotated[UploadFile, File()],
        params: str = Form("{}"),
        tag: str = DefaultLabelTag.FINAL.value,
        user: User = ANNOTATOR,
    ) -> Any:
        options = _json_object(params, "params")
        result = datastore_api.save_label(background_tasks, image, params, tag, label, user.username)
        app.on_label_submitted(background_tasks, image, tag or DefaultLabelTag.FINAL.value, options, user.username)
        return result

    @router.put("/datastore/image/info", include_in_schema=False)
    async def update_image_info(image: str, info: str = Form("{}"), user: User = ANNOTATOR) -> Any:
        _json_object(info, "info")
        return datastore_api.update_image_info(image, info, user.username)

    @router.put("/datastore/label/info", include_in_schema=False)
    async def update_label_info(label: str, tag: str, info: str = Form("{}"), user: User = ANNOTATOR) -> Any:
        _json_object(info, "info")
        return datastore_api.update_label_info(label, tag, info, user.username)

    return router
