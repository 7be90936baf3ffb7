"""An annotator's path in a real browser: headless Debian Chromium (driven by Playwright, no browser download) opens
the OHIF viewer MONAI Label serves at ``/ohif/``, lists the studies of the Orthanc PACS, opens one in the MONAI Label
mode, connects the MONAI Label panel, runs ``uncertainty_contrastive`` and shows its segmentation on the study.

Then it corrects the segmentation with the brush and the eraser, saves it (Save Label), asks for the next study,
and meets what can go wrong (nothing painted, a refusal, a stopped server). The steps are those of
``lib/tools/ohif_segment.py``. The screenshots are test artifacts: ``results/test-artifacts/ohif_segmentation.png``
and ``ohif_brush_save.png`` (or under ``$TEST_ARTIFACTS``).
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import requests
from monailabel.client import MONAILabelClient

from lib.infers import REGION_MODEL
from lib.tools import ohif_segment
from lib.tools.server_process import ROOT
from tests.conftest import require_program
from tests.integration.pacs.conftest import (
    LEASE_SECONDS,
    MODEL,
    NEVER_LABELED,
    PacsSetup,
    fresh_datastore,
    referenced_series,
    rest,
    seg_series,
    segmented_voxels,
)

ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS", ROOT / "results" / "test-artifacts"))


@pytest.fixture(scope="module")
def page():
    from playwright.sync_api import sync_playwright

    require_program(ohif_segment.CHROMIUM, "chromium")
    with sync_playwright() as playwright:
        try:
            browser = ohif_segment.launch_chromium(playwright)
        except FileNotFoundError as error:
            pytest.fail(str(error))
        try:
            yield browser.new_page(viewport={"width": 1600, "height": 1000})
        finally:
            browser.close()


@pytest.fixture(scope="module")
def segmented(pacs_setup: PacsSetup, slicer_client: MONAILabelClient, trained_on_pacs: dict, page) -> dict:
    """The study where the (barely trained) model segments most organ, as the same request over REST gives it,
    opened in OHIF's MONAI Label mode with the model's segmentation in the viewer."""
    segmented = segmented_voxels(pacs_setup, slicer_client)
    organ = segmented_voxels(pacs_setup, slicer_client, "organ")
    for voxels in (segmented, organ):  # the tests below save a label for the chosen study
        voxels.pop(NEVER_LABELED)
    # The annotator corrects the model's organ: the study with the most (the barely trained model may make none).
    name = max(organ, key=organ.get) if any(organ.values()) else max(segmented, key=segmented.get)
    assert segmented[name] > 0, f"the test model segments nothing in any study: {segmented}"
    screenshot = ARTIFACTS / "ohif_segmentation.png"
    result = ohif_segment.segment_study(page, pacs_setup.url, pacs_setup.studies[name], MODEL, screenshot)
    return {"name": name, "rest_voxels": segmented[name], "result": result, "screenshot": screenshot}


def test_ohif_runs_the_model_on_a_pacs_study_and_shows_the_segmentation(pacs_setup: PacsSetup, segmented) -> None:
    result, name = segmented["result"], segmented["name"]
    assert sorted(result["listed_studies"]) == sorted(pacs_setup.studies.values())  # from the PACS, via the proxy
    assert result["infer_status"] == 200
    assert f"image={pacs_setup.series_of(name)}" in result["infer_url"]
    assert segmented["screenshot"].stat().st_size > 0
    # What OHIF shows is what the model segments: as many labeled voxels as over REST.
    assert sum(result["labelmap_histogram"].values()) == segmented["rest_voxels"]


def test_the_uncertainty_overlay_shows_and_hides_and_leaves_the_label_alone(pacs_setup, slicer_client, segmented, page):
    label_before = page.evaluate(ohif_segment.LABELMAP_HISTOGRAM)
    region_file, region = slicer_client.infer(REGION_MODEL, pacs_setup.series_of(segmented["name"]), {})
    os.unlink(region_file)
    assert REGION_MODEL not in ohif_segment.panel_models(page)  # the panel would write it over the label

    message = ohif_segment.toggle_uncertainty(page)

    uncertain = region["label_voxels"].get("uncertain", 0)
    assert message.startswith(f"Uncertainty: {uncertain} voxels"), message
    shown = ohif_segment.overlay_state(page)
    assert shown["voxels"] == uncertain  # what the model gives over REST
    assert all(v == {"shown": True, "active": "1"} for v in shown["viewports"].values()), shown  # brush edits '1'
    assert page.evaluate(ohif_segment.LABELMAP_HISTOGRAM) == label_before

    ohif_segment.toggle_uncertainty(page)
    assert not any(v["shown"] for v in ohif_segment.overlay_state(page)["viewports"].values())
    ohif_segment.toggle_uncertainty(page)
    assert all(v["shown"] for v in ohif_segment.overlay_state(page)["viewports"].values())
    assert page.evaluate(ohif_segment.LABELMAP_HISTOGRAM) == label_before


def _completed(pacs_setup: PacsSetup) -> int:
    return requests.get(f"{pacs_setup.url}/datastore/", timeout=30).json()["completed"]


def _label_at(volume: nib.Nifti1Image, world_lps: list[float]) -> int:
    """The label value at a patient-space (LPS) point; NIfTI's affine maps to RAS."""
    x, y, z = world_lps
    index = np.linalg.inv(volume.affine) @ np.array([-x, -y, z, 1.0])
    return int(np.asarray(volume.dataobj)[tuple(int(round(v)) for v in index[:3])])


def test_an_annotator_paints_erases_and_saves_the_label_in_ohif(pacs_setup: PacsSetup, segmented, page, tmp_path):
    series = pacs_setup.series_of(segmented["name"])
    completed, segs = _completed(pacs_setup), set(seg_series(pacs_setup))
    ohif_segment.clear_box(page)  # background to paint into, whatever the barely trained model segmented
    points = ohif_segment.pick_points(page, "organ")
    room = points["background"] and points["background2"] and (points["inside"] or points["background3"])
    assert room, f"no room to paint in the viewer: {points}"
    erased = points["inside"]
    if erased is None:  # the barely trained model segmented no organ: erase organ the annotator painted instead
        erased = points["background3"]
        ohif_segment.paint(page, erased, "organ", "Brush")
    # Paint organ where the viewer shows background (the cleared box: the barely trained model may label every
    # voxel), erase inside the organ, paint a segment of the annotator's own (one the app does not
    # label) elsewhere; the Uncertainty overlay is on screen.
    ohif_segment.paint(page, points["background"], "organ", "Brush")
    ohif_segment.paint(page, erased, "organ", "Eraser")
    own_segment = ohif_segment.add_segment(page)
    ohif_segment.paint(page, points["background2"], own_segment, "Brush")
    page.screenshot(path=str(ARTIFACTS / "ohif_brush_save.png"))

    saved = ohif_segment.save_label(page)

    assert saved["status"] == 200 and "Label saved" in saved["message"], saved
    assert _completed(pacs_setup) == completed + 1  # /datastore/ counts it at once
    added = {uid: seg for uid, seg in seg_series(pacs_setup).items() if uid not in segs}
    assert [referenced_series(seg) for seg in added.values()] == [series]  # one SEG, of this series, in the PACS
    label = nib.load(fresh_datastore(pacs_setup, tmp_path / "cache").get_label_uri(next(iter(added)), "final", series))
    assert set(np.unique(np.asarray(label.dataobj)).tolist()) <= {0, 1, 2}  # the app's values: organ 1, lesion 2
    assert _label_at(label, points["background"]) == 1  # painted organ, at the point the brush was put
    assert _label_at(label, erased) == 0  # erased
    assert _label_at(label, points["background2"]) == 0  # no label of the app: never saved


def test_export_dicom_seg_saves_through_the_app_and_the_viewer_survives(pacs_setup, segmented, page) -> None:
    series = pacs_setup.series_of(segmented["name"])
    segs = set(seg_series(pacs_setup))
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    saved = ohif_segment.save_label(page, export_menu=True)

    assert saved["status"] == 200 and "Label saved" in saved["message"], saved
    added = {uid: seg for uid, seg in seg_series(pacs_setup).items() if uid not in segs}
    assert [referenced_series(seg) for seg in added.values()] == [series]
    page.locator('[data-cy="Zoom"]').click()  # OHIF's own export would have torn the viewer down
    assert errors == []


def test_next_sample_starts_at_uncertainty_and_hands_out_the_most_disputed_free_study(pacs_setup, segmented, page):
    rest.run_scoring(pacs_setup.url)
    model_ts = (pacs_setup.server.app_dir / "model" / f"{MODEL}.pt").stat().st_mtime

    def current(objects: dict) -> dict[str, float] | None:
        infos = {i: o["image"]["info"] for i, o in objects.items() if not o["labels"].get("final")}
        if infos and all(info.get("mean_uncertainty_ts") == pytest.approx(model_ts) for info in infos.values()):
            return {i: info["subnet_disagreement"] for i, info in infos.items()}
        return None

    scores = rest.wait_for_datastore(pacs_setup.url, current, "current scores")
    time.sleep(LEASE_SECONDS)  # what earlier tests were handed is free again

    sample = ohif_segment.next_sample(page)

    assert sample["shown"] == "uncertainty"
    assert "/activelearning/uncertainty" in sample["url"] and sample["status"] == 200
    assert scores[sample["json"]["id"]] == pytest.approx(max(scores.values()))
    page.keyboard.press("Escape")  # the panel's Next Sample dialog


def test_save_with_nothing_painted_says_so_and_stores_nothing(pacs_setup, segmented, page) -> None:
    segs = set(seg_series(pacs_setup))
    painted = ohif_segment.set_labelmap(page, None)  # as if the annotator had erased everything
    try:
        saved = ohif_segment.save_label(page)
    finally:
        ohif_segment.set_labelmap(page, painted)
    assert saved["status"] is None and "Nothing to save" in saved["message"]
    assert set(seg_series(pacs_setup)) == segs


def test_a_label_the_server_refuses_shows_its_message_and_nothing_is_stored(pacs_setup, segmented, page) -> None:
    segs = set(seg_series(pacs_setup))
    # The upload as the viewer sends it, for a series the PACS does not hold: the server's own 404.
    page.route(
        "**/datastore/label?*",
        lambda route: route.continue_(url=re.sub(r"image=[^&]+", "image=1.2.3.4", route.request.url)),
    )
    try:
        saved = ohif_segment.save_label(page)
    finally:
        page.unroute("**/datastore/label?*")
    assert saved["status"] == 404 and "Label not saved (404)" in saved["message"]
    assert "is not a series of this PACS" in saved["message"]
    assert set(seg_series(pacs_setup)) == segs


def test_save_with_the_server_stopped_says_so_and_the_viewer_stays_usable(pacs_setup, segmented, page) -> None:
    segs = set(seg_series(pacs_setup))
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    pacs_setup.server.stop()
    try:
        saved = ohif_segment.save_label(page)
        assert "did not answer" in saved["message"]
        page.locator('[data-cy="Zoom"]').click()  # the viewer still takes clicks
        page.locator('[data-cy="monailabel-btn"]').click()
        page.locator(".monaiLabelPanel").wait_for()
    finally:
        pacs_setup.server.start()
    assert errors == []
    assert set(seg_series(pacs_setup)) == segs
