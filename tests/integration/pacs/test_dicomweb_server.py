"""The app on a DICOMweb PACS, driven with the calls 3D Slicer's MONAI Label module makes (``MONAILabelClient``):
info, next sample, submit label, train, infer; plus scoring and the ``uncertainty`` strategy, as on a local folder."""

from __future__ import annotations

import io
import json
import os
import time
from pathlib import Path

import nibabel as nib
import nrrd
import numpy as np
import pydicom
import pytest
import requests
from monailabel.client import MONAILabelClient
from monailabel.client.client import MONAILabelClientException
from monailabel.datastore.utils.convert import dicom_seg_to_itk_image
from monailabel.datastore.utils.dicom import dicom_web_download_series

from lib.datastore import dicomweb_client
from lib.tools.server_process import listening_addresses
from tests.integration.pacs.conftest import (
    LABELED,
    LEASE_SECONDS,
    MODEL,
    STUDIES,
    PacsSetup,
    fresh_datastore,
    referenced_series,
    rest,
    seg_series,
    segmented_voxels,
)

SEGMENT_SEQUENCE, SEGMENT_LABEL = "00620002", "00620005"


def _put_label(pacs_setup: PacsSetup, series_uid: str, path: Path, filename: str) -> requests.Response:
    """``PUT /datastore/label`` as a viewer sends it (OHIF: ``label.bin``; Slicer: ``.nii.gz``)."""
    with open(path, "rb") as f:
        return requests.put(
            f"{pacs_setup.url}/datastore/label",
            params={"image": series_uid, "tag": "final"},
            files={"label": (filename, f)},
            timeout=120,
        )


def _datastore_stats(pacs_setup: PacsSetup) -> dict:
    return requests.get(f"{pacs_setup.url}/datastore/", params={"output": "stats"}, timeout=30).json()


def test_orthanc_and_the_server_listen_on_loopback_only(pacs_setup: PacsSetup) -> None:
    for process, port in ((pacs_setup.pacs.process, pacs_setup.pacs.port), (pacs_setup.server.process, None)):
        listening = listening_addresses(process.pid)
        assert listening, "nothing listens"
        assert {address.ip for address in listening} == {"127.0.0.1"}
        if port:
            assert any(address.port == port for address in listening)


def test_info_shows_the_app_on_the_pacs_series(pacs_setup: PacsSetup, slicer_client: MONAILabelClient) -> None:
    info = slicer_client.info()
    assert info["models"][MODEL]["labels"] == {"organ": 1, "lesion": 2}
    assert info["datastore"]["total"] == len(STUDIES)


def test_next_sample_before_training_is_one_of_the_pacs_series(pacs_setup, slicer_client) -> None:
    sample = slicer_client.next_sample("uncertainty", {})
    assert sample["id"] in pacs_setup.series.values()
    assert sample["strategy_fallback"] == "random"  # no model, no scores yet


def test_a_label_that_does_not_fit_its_series_is_refused_and_nothing_reaches_the_pacs(pacs_setup, tmp_path) -> None:
    before = set(seg_series(pacs_setup))
    wrong = tmp_path / "wrong_shape.nii.gz"
    nib.save(nib.Nifti1Image(np.ones((8, 8, 8), np.uint8), np.eye(4)), wrong)
    response = _put_label(pacs_setup, pacs_setup.series_of("study_004"), wrong, "label.nii.gz")
    assert response.status_code == 422
    assert "must be the same" in response.json()["detail"]
    assert set(seg_series(pacs_setup)) == before


def test_a_label_for_a_series_the_pacs_does_not_have_is_refused(pacs_setup, tmp_path) -> None:
    label = tmp_path / "label.nii.gz"
    nib.save(nib.Nifti1Image(np.ones((8, 8, 8), np.uint8), np.eye(4)), label)
    assert _put_label(pacs_setup, "1.2.3.4.5", label, "label.nii.gz").status_code == 404


def test_submitted_labels_are_stored_as_dicom_seg_named_after_the_apps_labels(pacs_setup, trained_on_pacs) -> None:
    segs = {referenced_series(seg): seg for seg in seg_series(pacs_setup).values()}
    for name in LABELED:
        seg = segs[pacs_setup.series_of(name)]
        values = set(np.unique(np.asarray(nib.load(pacs_setup.labels / f"{name}.nii.gz").dataobj))) - {0}
        names = [s[SEGMENT_LABEL]["Value"][0] for s in seg[SEGMENT_SEQUENCE]["Value"]]
        assert names == [{1: "organ", 2: "lesion"}[int(v)] for v in sorted(values)]
    # The server forgets its lists of labeled series when it stores a label: no stale "completed 0".
    assert _datastore_stats(pacs_setup)["completed"] == len(LABELED)


def test_training_on_the_pacs_studies_publishes_a_model(pacs_setup, trained_on_pacs) -> None:
    assert trained_on_pacs["status"] == "DONE"
    assert (pacs_setup.server.app_dir / "model" / f"{MODEL}.pt").exists()


def test_infer_on_a_series_returns_a_label_on_the_series_grid(pacs_setup, slicer_client, trained_on_pacs) -> None:
    name = "study_003"
    label_file, result = slicer_client.infer(MODEL, pacs_setup.series_of(name), {})
    try:
        label, series = nib.load(label_file), nib.load(pacs_setup.labels / f"{name}.nii.gz")
        assert label.shape == series.shape
        np.testing.assert_allclose(label.affine, series.affine, atol=1e-3)
        assert set(np.unique(np.asarray(label.dataobj))) <= {0, 1, 2}
        assert 0.0 <= result["mean_uncertainty"] <= 1.0
    finally:
        os.unlink(label_file)


def test_ohif_style_nrrd_infer_request_is_answered(pacs_setup, trained_on_pacs) -> None:
    params = {
        "result_extension": ".nrrd",
        "result_dtype": "uint8",
        "result_compress": False,
        "restore_label_idx": False,
    }
    response = requests.post(
        f"{pacs_setup.url}/infer/{MODEL}",
        params={"image": pacs_setup.series_of("study_002"), "output": "image"},
        data={"params": json.dumps(params)},
        timeout=300,
    )
    assert response.status_code == 200, response.text
    header = response.content[:1000].decode("latin-1")
    assert header.startswith("NRRD") and "sizes: 32 32 24" in header


def test_scoring_and_the_uncertainty_strategy_hand_out_the_most_disputed_unlabeled_series(
    pacs_setup, slicer_client, trained_on_pacs
) -> None:
    summary = rest.run_scoring(pacs_setup.url)
    assert summary["status"] == "DONE"
    unlabeled = {pacs_setup.series_of(n) for n in STUDIES if n not in LABELED}

    def scored(objects: dict) -> dict[str, float] | None:
        scores = {i: o["image"]["info"].get("subnet_disagreement") for i, o in objects.items() if i in unlabeled}
        return scores if len(scores) == len(unlabeled) and None not in scores.values() else None

    scores = rest.wait_for_datastore(pacs_setup.url, scored, "scores for every unlabeled series")
    time.sleep(LEASE_SECONDS)  # the study handed out before training is free again
    sample = slicer_client.next_sample("uncertainty", {})
    assert "strategy_fallback" not in sample
    assert sample["id"] in unlabeled
    assert scores[sample["id"]] == pytest.approx(max(scores.values()))  # (a tiny model may tie several)


def test_labels_read_back_from_the_pacs_line_up_with_their_series_voxel_for_voxel(
    pacs_setup, trained_on_pacs, tmp_path
) -> None:
    # What MONAI Label alone reads back: dcmqi stored only the slices that hold foreground.
    series_uid = pacs_setup.series_of(LABELED[0])
    seg_uid = next(uid for uid, seg in seg_series(pacs_setup).items() if referenced_series(seg) == series_uid)
    dicom_web_download_series(None, seg_uid, str(tmp_path / "seg"), dicomweb_client(pacs_setup.pacs.dicomweb_url))
    raw = nib.load(dicom_seg_to_itk_image(str(tmp_path / "seg"), output_ext=".nii.gz"))
    assert raw.shape[2] < 24, "the SEG holds every slice: this test would not show the cropping"

    pairs = fresh_datastore(pacs_setup, tmp_path / "cache").datalist()
    assert {pacs_setup.name_of(os.path.basename(p["image"]).removesuffix(".nii.gz")) for p in pairs} == set(LABELED)
    for pair in pairs:
        name = pacs_setup.name_of(os.path.basename(pair["image"]).removesuffix(".nii.gz"))
        image, label = nib.load(pair["image"]), nib.load(pair["label"])
        submitted = nib.load(pacs_setup.labels / f"{name}.nii.gz")
        assert label.shape == image.shape == submitted.shape
        np.testing.assert_allclose(label.affine, image.affine, atol=1e-3)
        np.testing.assert_allclose(image.affine, submitted.affine, atol=1e-3)
        np.testing.assert_array_equal(np.asarray(label.dataobj), np.asarray(submitted.dataobj))
        # The series' grid holds the generated volume's voxels in another order: the label lost none of them.
        truth = np.asarray(nib.load(pacs_setup.niftis.parent / "data_groundtruth" / f"{name}.nii.gz").dataobj)
        np.testing.assert_array_equal(np.bincount(truth.ravel()), np.bincount(np.asarray(submitted.dataobj).ravel()))


def test_unknown_series_for_infer_is_a_clear_404(pacs_setup, slicer_client) -> None:
    with pytest.raises(MONAILabelClientException) as error:
        slicer_client.infer(MODEL, "1.2.3.4.5", {})
    assert "404" in error.value.msg and "not in the datastore" in error.value.msg


def test_ohifs_raw_label_upload_is_checked_and_stored_as_seg_on_the_series_grid(
    pacs_setup, trained_on_pacs, tmp_path
) -> None:
    """OHIF sends a label as ``label.bin``: one uint8 per voxel of the series, first axis fastest."""
    name = "study_004"
    voxels = np.asarray(nib.load(pacs_setup.labels / f"{name}.nii.gz").dataobj).astype(np.uint8)
    before = set(seg_series(pacs_setup))
    short = tmp_path / "short.bin"
    short.write_bytes(voxels.ravel(order="F")[:-1].tobytes())
    refused = _put_label(pacs_setup, pacs_setup.series_of(name), short, "label.bin")
    assert refused.status_code == 422 and "bytes" in refused.json()["detail"]
    assert set(seg_series(pacs_setup)) == before

    raw = tmp_path / "label.bin"
    raw.write_bytes(voxels.ravel(order="F").tobytes())
    assert _put_label(pacs_setup, pacs_setup.series_of(name), raw, "label.bin").status_code == 200
    added = {uid: seg for uid, seg in seg_series(pacs_setup).items() if uid not in before}
    assert [referenced_series(seg) for seg in added.values()] == [pacs_setup.series_of(name)]
    read_back = fresh_datastore(pacs_setup, tmp_path / "cache").get_label_uri(
        next(iter(added)), "final", pacs_setup.series_of(name)
    )
    np.testing.assert_array_equal(np.asarray(nib.load(read_back).dataobj), voxels)


def _slicer_seg_nrrd(label: nib.Nifti1Image, path: Path, file_values: dict[str, int]) -> Path:
    """A label as 3D Slicer writes a segmentation (``.seg.nrrd``): LPS geometry, segments in its own numbering."""
    ras_to_lps = np.diag([-1.0, -1.0, 1.0])
    data = np.asarray(label.dataobj).astype(np.uint8)
    written = np.zeros_like(data)
    header = {
        "space": "left-posterior-superior",
        "space directions": (ras_to_lps @ label.affine[:3, :3]).T,
        "space origin": ras_to_lps @ label.affine[:3, 3],
    }
    for i, (name, value) in enumerate(file_values.items()):
        written[data == {"organ": 1, "lesion": 2}[name]] = value
        header |= {f"Segment{i}_Name": name, f"Segment{i}_LabelValue": str(value), f"Segment{i}_Layer": "0"}
    nrrd.write(str(path), written, header)
    return path


def test_a_slicer_seg_nrrd_label_is_stored_as_seg_with_the_apps_values(pacs_setup, trained_on_pacs, tmp_path) -> None:
    name = "study_003"
    truth = nib.load(pacs_setup.labels / f"{name}.nii.gz")
    upload = _slicer_seg_nrrd(truth, tmp_path / "label.seg.nrrd", {"lesion": 1, "organ": 2})
    before = set(seg_series(pacs_setup))
    response = _put_label(pacs_setup, pacs_setup.series_of(name), upload, "label.seg.nrrd")
    assert response.status_code == 200, response.text
    added = {uid: seg for uid, seg in seg_series(pacs_setup).items() if uid not in before}
    assert [referenced_series(seg) for seg in added.values()] == [pacs_setup.series_of(name)]
    seg = next(iter(added.values()))
    assert [s[SEGMENT_LABEL]["Value"][0] for s in seg[SEGMENT_SEQUENCE]["Value"]] == ["organ", "lesion"]
    read_back = fresh_datastore(pacs_setup, tmp_path / "cache").get_label_uri(
        next(iter(added)), "final", pacs_setup.series_of(name)
    )
    np.testing.assert_array_equal(np.asarray(nib.load(read_back).dataobj), np.asarray(truth.dataobj))


def test_infer_as_dicom_seg_with_label_info_returns_a_seg_of_the_series_named_per_value(
    pacs_setup, slicer_client, trained_on_pacs
) -> None:
    """``label_info`` is MONAI Label's option for naming a DICOM SEG result's segments (a SEG needs a segment: the
    study where the test model segments most)."""
    voxels = segmented_voxels(pacs_setup, slicer_client)
    series = pacs_setup.series_of(max(voxels, key=voxels.get))
    label_info = [{"name": "organ", "color": [255, 0, 0]}, {"name": "lesion", "color": [0, 255, 0]}]
    response = requests.post(
        f"{pacs_setup.url}/infer/{MODEL}",
        params={"image": series, "output": "dicom_seg"},
        data={"params": json.dumps({"label_info": label_info})},
        timeout=300,
    )
    assert response.status_code == 200, response.text
    seg = pydicom.dcmread(io.BytesIO(response.content))
    assert seg.Modality == "SEG"
    assert seg.ReferencedSeriesSequence[0].SeriesInstanceUID == series
    json_result = requests.post(
        f"{pacs_setup.url}/infer/{MODEL}", params={"image": series, "output": "json"}, timeout=300
    ).json()
    present = [n for n in ("organ", "lesion") if json_result["label_voxels"].get(n)]
    assert [s.SegmentLabel for s in seg.SegmentSequence] == present
