"""Training in several processes: MONAI Label's own multi-GPU runs and ``torchrun`` launches on one or many nodes.

Kept apart from the train task so that it reads as the MONAI Label task it is; this mixin changes only where
MONAI Label's ``BasicTrainTask`` assumes one node of GPUs (device of a rank, the DDP wrapper on CPU, no ``torchrun``
entry point).
"""

from __future__ import annotations

import logging
import os
from datetime import datetime
from typing import Any

import torch
from monailabel.interfaces.datastore import Datastore
from monailabel.tasks.train.basic_train import Context

from ..distributed import backend_for
from ..runtime import configure_device
from ..validation.options import check_train_options
from .request_defaults import merged_request

__all__ = ["MultiProcessTraining"]

logger = logging.getLogger(__name__)


class MultiProcessTraining:
    """Mixin for a ``BasicTrainTask`` with an ``app_config`` (for ``cpu_threads``); put it first in the bases.
    ``_create_students`` is the network and optimizer of ``_create_network_and_optimizer``, wrapped for DDP."""

    def _device(self, context: Context) -> torch.device:
        """MONAI Label's device choice, except under torch.distributed: the GPU of this process's *local* rank
        (``request["local_rank"]`` under torchrun, where the global rank that MONAI Label calls ``local_rank`` goes
        past a node's GPUs), or the CPU when there is none (Gloo ranks)."""
        if not context.multi_gpu:
            device = super()._device(context)
        elif torch.cuda.is_available():
            device = torch.device("cuda", int(context.request.get("local_rank", context.local_rank)))
            torch.cuda.set_device(device)
        else:
            device = torch.device("cpu")
        local_world_size = int(os.environ.get("LOCAL_WORLD_SIZE", context.world_size)) if context.multi_gpu else 1
        configure_device(device, self.app_config.cpu_threads, local_world_size)
        logger.info("%d - Using device %s", context.local_rank, device)
        return device

    def _create_students(self, context: Context) -> tuple[torch.nn.Module, torch.optim.Optimizer]:
        """Both subnets in one ``DistributedDataParallel`` (they are one module), with batch norm synchronised
        across GPUs; MONAI Label's own wrapper passes ``device_ids=[None]`` on CPU, which DDP refuses."""
        if not context.multi_gpu:
            return super()._create_network_and_optimizer(context)
        network = self.network(context).to(context.device)
        if context.device.type == "cuda":
            network = torch.nn.SyncBatchNorm.convert_sync_batchnorm(network)
        context.network = network
        optimizer = self.optimizer(context)
        device_ids = [context.device.index] if context.device.type == "cuda" else None
        ddp = torch.nn.parallel.DistributedDataParallel(
            network, device_ids=device_ids, find_unused_parameters=self._find_unused_parameters
        )
        return ddp, optimizer

    def train_torchrun_rank(self, request: dict[str, Any], datastore: Datastore) -> dict[str, Any]:
        """One rank of a ``torchrun`` launch (one or several nodes): the request as MONAI Label's ``__call__``
        prepares it, then MONAI Label's per-rank ``train`` with the process group ``torchrun`` describes in the
        environment (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``)."""
        check_train_options(request, allow_unknown=True)
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        req = merged_request(self._config, request)
        req.update(
            run_id=datetime.now().strftime("%Y%m%d_%H%M%S"),
            device=device.type,
            multi_gpu=True,
            distributed_backend=backend_for(device),
            distributed_url="env://",
            local_rank=int(os.environ["LOCAL_RANK"]),
        )
        datalist = self.pre_process(req, datastore)
        try:
            return self.train(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), req, datalist)
        finally:
            self.cleanup(req)
