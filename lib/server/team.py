"""What the server adds for a labeling team: the submission signals and ``GET /activelearning/rounds/``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, BackgroundTasks, Depends
from monailabel.config import settings
from monailabel.endpoints.user.auth import RBAC, User

from ..activelearning.prelabel_agreement import record_prelabel_agreement
from ..activelearning.rounds import labeling_rounds, training_runs
from ..activelearning.submissions import record_submission
from ..config import MODEL_NAME
from ..monailabel_compat import put_routes_first

__all__ = ["ROUNDS_PATH", "LabelingTeam"]

ROUNDS_PATH = "/activelearning/rounds/"


class LabelingTeam:
    """Mixin for the ``MONAILabelApp`` (needs ``app_config``, ``leases`` and ``model_dir``)."""

    def on_label_submitted(
        self, background_tasks: BackgroundTasks, image_id: str, tag: str, params: dict[str, Any], user: str | None
    ) -> None:
        """After a label is stored: for a final one, record who and how long, end the lease, and (after the response,
        it runs the model once) how much the annotator changed the model's pre-label."""
        datastore = self.datastore()
        if record_submission(datastore, self.leases, image_id, tag, params, user):
            background_tasks.add_task(record_prelabel_agreement, self._infers[MODEL_NAME], datastore, image_id)

    def labeling_rounds(self) -> dict[str, Any]:
        config = self.app_config
        return labeling_rounds(
            self.datastore(), training_runs(self.model_dir), config.agreement_threshold, config.agreement_window
        )

    def info(self) -> dict[str, Any]:
        info = super().info()
        info["endpoints"] = {
            ROUNDS_PATH: "GET: per labeling round the labels submitted, validation Dice, pre-label agreement and "
            "annotation time, and whether labeling still pays off"
        }
        return info

    def on_init_complete(self) -> None:
        """In the server process only (training and scoring subprocesses build the app too)."""
        router = APIRouter(prefix=settings.MONAI_LABEL_API_STR)

        @router.get(ROUNDS_PATH, summary="Labeling rounds and the signal that labeling stops paying off")
        async def rounds(user: User = Depends(RBAC(settings.MONAI_LABEL_AUTH_ROLE_USER))) -> dict[str, Any]:
            return self.labeling_rounds()

        put_routes_first(router)
        super().on_init_complete()
