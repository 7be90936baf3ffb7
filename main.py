"""MONAI Label app: uncertainty-driven active learning with an uncertainty-aware contrastive pair of 3D networks.

    monailabel start_server --app . --studies data/ [--conf key value ...]

Settings: ``configs/default.yaml``; any of them can be overridden with ``--conf``.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from monailabel.config import settings
from monailabel.interfaces.app import MONAILabelApp
from monailabel.interfaces.datastore import Datastore
from monailabel.interfaces.tasks.infer_v2 import InferTask
from monailabel.interfaces.tasks.scoring import ScoringMethod
from monailabel.interfaces.tasks.strategy import Strategy
from monailabel.interfaces.tasks.train import TrainTask
from monailabel.tasks.activelearning.epistemic import Epistemic
from monailabel.tasks.activelearning.first import First
from monailabel.tasks.scoring.epistemic_v2 import EpistemicScoring

from lib.activelearning import LeaseBook, MostUncertain, RandomFree
from lib.config import MODEL_NAME, load_config
from lib.datastore import ValidatedDICOMWebDatastore, ValidatedLocalDatastore, dicomweb_client, require_dcmqi
from lib.infers import REGION_MODEL, McDropoutInfer, UncertaintyContrastiveInfer, UncertaintyRegionInfer
from lib.model_card import ModelMismatchError, check_model
from lib.monailabel_compat import check_version, lower_task_priority_at_start
from lib.networks import DualSubnetSegmenter
from lib.runtime import yield_to_the_server
from lib.scoring import StudyScoring
from lib.server.guards import RequestGuards
from lib.server.ohif_config import OhifViewer
from lib.server.team import LabelingTeam
from lib.trainers import UncertaintyContrastiveTrain

logger = logging.getLogger(__name__)


class UncertaintyContrastiveApp(OhifViewer, LabelingTeam, RequestGuards, MONAILabelApp):
    """Kept cheap to construct: MONAI Label re-creates the app in every training and scoring subprocess.

    ``RequestGuards`` checks requests before MONAI Label runs them (clear 4xx for bad input); ``LabelingTeam`` records
    what each submitted label says about the round and serves ``GET /activelearning/rounds/``; ``OhifViewer`` serves
    the OHIF configuration with the app's MONAI Label mode (brush tools, Save Label).
    """

    def __init__(self, app_dir: str, studies: str, conf: dict[str, Any]) -> None:
        check_version()
        self.app_config = load_config(conf)
        yield_to_the_server(self.app_config.task_niceness)
        self.model_dir = os.path.join(app_dir, "model")
        # Inference uses the last file that exists: a pretrained model a user drops in, or what training publishes.
        self.model_paths = [
            os.path.join(self.model_dir, f"pretrained_{MODEL_NAME}.pt"),
            os.path.join(self.model_dir, f"{MODEL_NAME}.pt"),
        ]
        self.network = DualSubnetSegmenter.from_config(self.app_config)
        # Who holds which unlabeled study: the strategies hand out and renew leases, a submitted label ends one.
        self.leases = LeaseBook(60 * self.app_config.lease_minutes)
        super().__init__(
            app_dir=app_dir,
            studies=studies,
            conf=conf,
            name="Uncertainty-contrastive active learning",
            description="Semi-supervised 3D segmentation that tells annotators which study to label next",
            version="0.1.0",
            # A list ordered by label value, as MONAI Label aggregates it from the models when an app passes none.
            labels=self.app_config.label_names,
        )

    def on_init_complete(self) -> None:
        """In the server process only, before MONAI Label's start-up scoring starts the first task process: task
        priorities, and whether the model on disk was trained under this server's settings (its model card)."""
        lower_task_priority_at_start(self.app_config.task_niceness)
        for path in self.model_paths:
            try:
                check_model(path, self.app_config)
            except ModelMismatchError as error:
                logger.error("%s /infer and scoring answer 409 until it is resolved.", error)
        super().on_init_complete()

    def async_scoring(self, method: str | None, params: dict | None = None) -> dict:
        """MONAI Label scores every study by itself (at start-up, after training, on /activelearning); with no trained
        model yet, or one trained under other settings, there is nothing to score: one line in the log instead of a
        scoring process that fails. A scoring request (POST /scoring) is answered 409 in that case."""
        if method is None:
            served = self.model_paths[-1] if os.path.exists(self.model_paths[-1]) else self.model_paths[0]
            if not os.path.exists(served):
                logger.info("No trained model yet: nothing to score")
                return {}
            try:
                check_model(served, self.app_config)
            except ModelMismatchError:
                logger.info("The model was trained under other settings (see above): nothing is scored")
                return {}
        return super().async_scoring(method, params)

    def init_remote_datastore(self) -> Datastore:
        """A DICOMweb PACS through MONAI Label's DICOMweb datastore, made fit for the app (``lib/datastore``);
        the other remote kinds (XNAT, DSA, Google's DICOMweb) as MONAI Label does them."""
        if settings.MONAI_LABEL_DATASTORE.lower() in ("xnat", "dsa") or "googleapis.com" in self.studies:
            return super().init_remote_datastore()
        require_dcmqi()
        cache_path = (settings.MONAI_LABEL_DICOMWEB_CACHE_PATH or "").strip()
        return ValidatedDICOMWebDatastore(
            dicomweb_client(self.studies),
            labels=self.app_config.labels,
            max_voxels=self.app_config.max_voxels,
            cache_seconds=self.app_config.dicomweb_cache_seconds,
            search_filter=settings.MONAI_LABEL_DICOMWEB_SEARCH_FILTER,
            cache_path=cache_path or None,
            fetch_by_frame=settings.MONAI_LABEL_DICOMWEB_FETCH_BY_FRAME,
            convert_to_nifti=True,  # the app's transforms read NIfTI
        )

    def init_datastore(self) -> Datastore:
        """A local study folder through the validating datastore; a URL through ``init_remote_datastore``."""
        if self.studies.startswith(("http://", "https://")):
            return super().init_datastore()
        return ValidatedLocalDatastore(
            self.studies,
            labels=self.app_config.labels,
            max_voxels=self.app_config.max_voxels,
            extensions=settings.MONAI_LABEL_DATASTORE_FILE_EXT,
            auto_reload=settings.MONAI_LABEL_DATASTORE_AUTO_RELOAD,
            read_only=settings.MONAI_LABEL_DATASTORE_READ_ONLY,
        )

    def init_infers(self) -> dict[str, InferTask]:
        common = dict(path=self.model_paths, network=self.network, config=self.app_config)
        return {
            MODEL_NAME: UncertaintyContrastiveInfer(
                labels=self.app_config.labels,
                description="Segmentation by the averaged subnet pair, with the study's mean uncertainty",
                **common,
            ),
            REGION_MODEL: UncertaintyRegionInfer(
                threshold=self.app_config.uncertainty_threshold,
                description="Voxels whose normalised entropy is above the threshold: correct these first",
                **common,
            ),
        }

    def init_trainers(self) -> dict[str, TrainTask]:
        return {
            MODEL_NAME: UncertaintyContrastiveTrain(
                model_dir=self.model_dir,
                network=self.network,
                config=self.app_config,
                load_path=self.model_paths[0],
                publish_path=self.model_paths[1],
            )
        }

    def init_strategies(self) -> dict[str, Strategy]:
        strategies = {
            "uncertainty": MostUncertain(
                self._infers[MODEL_NAME],
                self.app_config.next_study_score,
                self.leases,
                pool_factor=self.app_config.batch_pool_factor,
                batch_pick=self.app_config.batch_pick,
                cold_start_labels=self.app_config.cold_start_labels,
            ),
            "random": RandomFree(self.leases),
            "first": First(),
        }
        if self.app_config.dropout > 0:
            strategies["epistemic"] = Epistemic()
        return strategies

    def init_scoring_methods(self) -> dict[str, ScoringMethod]:
        methods: dict[str, ScoringMethod] = {
            "mean_uncertainty": StudyScoring(
                self._infers[MODEL_NAME],
                score_all=self.app_config.score_all,
                cold_start_labels=self.app_config.cold_start_labels,
            )
        }
        if self.app_config.dropout > 0:
            # MONAI Label's own Monte-Carlo dropout scoring, with its default number of samples, for comparison.
            mc_dropout = McDropoutInfer(
                path=self.model_paths,
                network=self.network,
                config=self.app_config,
                labels=self.app_config.labels,
                description="One Monte-Carlo dropout pass (for epistemic scoring)",
            )
            methods["epistemic"] = EpistemicScoring(mc_dropout)
        return methods
