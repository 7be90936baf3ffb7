"""Publishing a trained model so that a SIGKILL at any moment leaves a loadable model where inference looks for it.

MONAI Label's ``PublishStatsAndModel`` copies the best checkpoint over the published model and the stats over
``train_stats.json`` in place (``shutil.copy``), and MONAI's ``CheckpointSaver`` writes the run's checkpoint in place
too (``atomic=False``): a kill during either write leaves a truncated file that inference, ``/info/`` or the next
training run (which resumes from the run's checkpoint) cannot read.
"""

from __future__ import annotations

import filecmp
import json
import logging
import os
from collections.abc import Callable
from typing import Any

from monai.engines.workflow import Engine, Events
from monailabel.tasks.train.handler import PublishStatsAndModel, prepare_stats

from ..atomic_write import atomic_copy, atomic_write_text
from ..model_card import write_card
from ..monailabel_compat import publisher_arguments, replace_handler

__all__ = ["AtomicPublishStatsAndModel", "replace_publisher", "resume_path"]

logger = logging.getLogger(__name__)


class AtomicPublishStatsAndModel(PublishStatsAndModel):
    """Same stats and the same publishing rule (the best checkpoint, when it differs), each written atomically; the
    stats also hold ``published_model_metrics``, the metrics of the epoch whose checkpoint was published (MONAI
    Label's stats give the best key metric alone, and the other metrics of the last epoch)."""

    def __init__(self, stats_path: str | None, publish_path: str | None, key_metric_filename: str, *args: Any) -> None:
        super().__init__(stats_path, publish_path, key_metric_filename, *args)
        self.stats_path, self.publish_path, self.key_metric_filename = stats_path, publish_path, key_metric_filename
        self.published_metrics: dict[str, float] | None = None
        self.card: Callable[[dict[str, float]], dict[str, Any]] | None = None

    @classmethod
    def like(
        cls, publisher: PublishStatsAndModel, card: Callable[[dict[str, float]], dict[str, Any]] | None = None
    ) -> AtomicPublishStatsAndModel:
        """The atomic publisher of ``publisher``'s run; with ``card``, the model card of each published model made
        from its metrics (``lib/model_card.py``) is written beside it."""
        atomic = cls(*publisher_arguments(publisher))
        atomic.card = card
        return atomic

    def iteration_completed(self) -> dict:
        best = os.path.join(self.output_dir, self.key_metric_filename)
        if self.publish_path and os.path.exists(best):
            if not os.path.exists(self.publish_path) or not filecmp.cmp(self.publish_path, best, shallow=False):
                atomic_copy(best, self.publish_path)
                logger.info("New Model published: %s => %s", best, self.publish_path)
                # The checkpoint saver wrote ``best`` in this same epoch event: these are its metrics.
                metrics = (self.evaluator or self.trainer).state.metrics
                self.published_metrics = {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float))}
                if self.card is not None:
                    write_card(self.publish_path, self.card(self.published_metrics))
        stats = prepare_stats(self.start_ts, self.trainer, self.evaluator)
        if self.published_metrics is not None:
            stats["published_model_metrics"] = self.published_metrics
        text = json.dumps(stats, indent=2)
        atomic_write_text(os.path.join(self.output_dir, f"stats_{self.run_id}.json"), text)
        if self.stats_path:
            atomic_write_text(self.stats_path, text)
        return stats


def replace_publisher(engine: Engine, card: Callable[[dict[str, float]], dict[str, Any]] | None = None) -> None:
    """Swap the ``PublishStatsAndModel`` that MONAI Label's ``finalize`` attached to ``engine`` for the atomic one
    (``finalize`` builds it inline, so there is no factory to override), writing ``card`` with each model."""
    replace_handler(
        engine, Events.EPOCH_COMPLETED, PublishStatsAndModel, lambda old: AtomicPublishStatsAndModel.like(old, card)
    )


def resume_path(checkpoint: str, published: str | None, pretrained: str | None) -> str | None:
    """The weights a training run starts from.

    The run's checkpoint when it is the published model byte for byte (MONAI Label's default, the usual case); the
    published model when they differ, for a checkpoint written in place may be half a file after a kill; else the
    pretrained model a user dropped in. Without a published model (a task built without ``publish_path``): the run's
    checkpoint, as MONAI Label does.
    """
    if published is None:
        return checkpoint if os.path.exists(checkpoint) else pretrained
    if os.path.exists(published):
        if os.path.exists(checkpoint) and filecmp.cmp(checkpoint, published, shallow=False):
            return checkpoint
        return published
    return pretrained
