"""A real Orthanc PACS (Debian's ``orthanc`` + ``orthanc-dicomweb``) on loopback, holding the demo studies as DICOM
CT series, and a real ``monailabel start_server --studies <its DICOMweb URL>``: the hospital set-up of docs/pacs.md."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from dicomweb_client.api import DICOMwebClient
from monailabel.client import MONAILabelClient

from lib.datastore import ValidatedDICOMWebDatastore, dicomweb_client
from lib.tools import demo_data, nifti_to_dicom, orthanc, rest
from lib.tools.server_process import ServerProcess, copy_app
from tests.conftest import require_program
from tests.integration.conftest import SERVER_CONF

REFERENCED_SERIES, SERIES_UID = "00081115", "0020000E"
# Leases of 0.6 s: each test that asks for the next study waits them out first, so that what earlier tests were handed
# (anonymous requests, which nobody can release) does not decide what it gets. Leases themselves:
# tests/integration/test_labeling_team.py.
LEASE_SECONDS = 0.6
PACS_SERVER_CONF = {**SERVER_CONF, "lease_minutes": str(LEASE_SECONDS / 60)}
MODEL = "uncertainty_contrastive"
STUDIES = ("study_000", "study_001", "study_002", "study_003", "study_004", "study_005")
LABELED = ("study_000", "study_001")
# No test labels this one (the OHIF tests correct and save another): whatever order the tests run in, and whichever
# study the barely trained model segments most, Next Sample still has a free study to hand out.
NEVER_LABELED = "study_005"


@dataclass
class PacsSetup:
    pacs: orthanc.OrthancServer
    server: ServerProcess
    niftis: Path  # the studies as generated, before they became DICOM
    labels: Path  # their ground truth on the series' grids, as an annotator would draw it in a viewer
    series: dict[str, str]  # study name -> SeriesInstanceUID
    studies: dict[str, str]  # study name -> StudyInstanceUID
    cache: Path

    @property
    def url(self) -> str:
        return self.server.url

    def series_of(self, name: str) -> str:
        return self.series[name]

    def name_of(self, series_uid: str) -> str:
        return {uid: name for name, uid in self.series.items()}[series_uid]


def seg_series(pacs_setup: PacsSetup) -> dict[str, dict]:
    """SEG series in the PACS: SeriesInstanceUID -> the metadata of its one instance."""
    client = DICOMwebClient(pacs_setup.pacs.dicomweb_url)
    segs = {}
    for series in client.search_for_series(search_filters={"Modality": "SEG"}):
        study, uid = series["0020000D"]["Value"][0], series[SERIES_UID]["Value"][0]
        segs[uid] = client.retrieve_series_metadata(study, uid)[0]
    return segs


def segmented_voxels(pacs_setup: PacsSetup, client: MONAILabelClient, label: str | None = None) -> dict[str, int]:
    """Study name -> voxels the (barely trained) test model labels in it (all labels, or ``label``), over REST: tests
    that need a segmentation pick a study where there is one."""
    voxels = {}
    for name in STUDIES:
        label_file, result = client.infer(MODEL, pacs_setup.series_of(name), {})
        os.unlink(label_file)
        counts = result["label_voxels"]
        voxels[name] = counts.get(label, 0) if label else sum(counts.values())
    return voxels


def referenced_series(seg: dict) -> str:
    return seg[REFERENCED_SERIES]["Value"][0][SERIES_UID]["Value"][0]


def fresh_datastore(pacs_setup: PacsSetup, cache: Path) -> ValidatedDICOMWebDatastore:
    """The app's datastore on the PACS with an empty cache, as a new server or another machine has it."""
    return ValidatedDICOMWebDatastore(
        dicomweb_client(pacs_setup.pacs.dicomweb_url),
        labels={"organ": 1, "lesion": 2},
        max_voxels=10**8,
        cache_seconds=0,
        search_filter={"Modality": "CT"},
        cache_path=str(cache),
    )


@pytest.fixture(scope="session")
def pacs_setup(tmp_path_factory: pytest.TempPathFactory):
    require_program(orthanc.ORTHANC, "orthanc")
    root = tmp_path_factory.mktemp("pacs")
    niftis = root / "data"
    demo_data.generate(niftis, num=len(STUDIES), labeled=0, seed=5, shape=(32, 32, 24))
    pacs = orthanc.OrthancServer()
    try:
        pacs.start()
    except (FileNotFoundError, RuntimeError) as error:
        pytest.fail(f"Orthanc did not start ({error}); install it: bash sample-apps/pacs/install_debian_packages.sh")
    server = None
    try:
        # As `nifti_to_dicom.py --upload --labels` does: the series in the PACS, ground truth on their grids.
        converter = nifti_to_dicom
        uids = {
            name: converter.convert_volume(
                niftis / f"{name}.nii.gz", root / "dicom", upload=pacs.dicomweb_url, labels=root / "data_groundtruth"
            )
            for name in STUDIES
        }
        cache = root / "cache"
        server = ServerProcess(
            copy_app(root / "app"),
            pacs.dicomweb_url,
            PACS_SERVER_CONF,
            log=root / "server.log",
            env={"MONAI_LABEL_DICOMWEB_CACHE_PATH": str(cache)},
        )
        try:
            server.start()
        except RuntimeError as error:
            pytest.fail(str(error))
        series = {name: u["SeriesInstanceUID"] for name, u in uids.items()}
        studies = {name: u["StudyInstanceUID"] for name, u in uids.items()}
        yield PacsSetup(pacs, server, niftis, root / "dicom" / "labels", series, studies, cache)
    finally:
        if server is not None:
            server.stop()
        pacs.stop()


@pytest.fixture(scope="session")
def slicer_client(pacs_setup: PacsSetup, tmp_path_factory: pytest.TempPathFactory) -> MONAILabelClient:
    """The client 3D Slicer's MONAI Label module uses, with a download folder of its own."""
    return MONAILabelClient(pacs_setup.url, tmpdir=str(tmp_path_factory.mktemp("slicer")))


@pytest.fixture(scope="session")
def trained_on_pacs(pacs_setup: PacsSetup, slicer_client: MONAILabelClient) -> dict:
    """The labels of ``LABELED`` submitted as an annotator in Slicer would, then one short training run.

    Validated on one of the two: the published model is the epoch with the best Dice on a whole study. The run is
    seeded, so that on a given machine the model the browser tests meet is the same in every run of the suite. A run
    this short may collapse to background everywhere (unseeded, 3 of about 10 runs; fresh clones, 2026-12-05: no
    voxel in any study, and fine-tuning the collapsed model twice did not bring it back). Then the model is removed
    and the run repeated from new weights (the next seed), up to three times, until it segments something in a study
    the OHIF tests may use."""
    for name in LABELED:
        slicer_client.save_label(pacs_setup.series_of(name), str(pacs_setup.labels / f"{name}.nii.gz"), "final")
    model_dir = pacs_setup.server.app_dir / "model"
    for seed in range(3):
        result = rest.train(slicer_client, MODEL, {"max_epochs": 30, "val_split": 0.5, "seed": seed})
        voxels = segmented_voxels(pacs_setup, slicer_client)
        if any(count for name, count in voxels.items() if name != NEVER_LABELED):
            break
        shutil.rmtree(model_dir / "train_01", ignore_errors=True)
        (model_dir / f"{MODEL}.pt").unlink()
    return result
