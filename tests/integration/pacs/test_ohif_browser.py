"""An annotator's path in a real browser: headless Debian Chromium (driven by Playwright, no browser download) opens
the OHIF viewer MONAI Label serves at ``/ohif/``, lists the studies of the Orthanc PACS, opens one in the MONAI Label
mode, connects the MONAI Label panel, runs ``uncertainty_contrastive`` and shows its segmentation on the study.

The steps are ``sample-apps/pacs/ohif_segment.py``'s. The screenshot is a test artifact:
``results/test-artifacts/ohif_segmentation.png`` (or under ``$TEST_ARTIFACTS``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from monailabel.client import MONAILabelClient

from lib.tools import ohif_segment
from lib.tools.server_process import ROOT
from tests.conftest import require_program
from tests.integration.pacs.conftest import MODEL, STUDIES, PacsSetup

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


def test_ohif_runs_the_model_on_a_pacs_study_and_shows_the_segmentation(
    pacs_setup: PacsSetup, slicer_client: MONAILabelClient, trained_on_pacs: dict, page
) -> None:
    # The study where the (barely trained) model segments most, as the same request over REST gives it.
    segmented = {}
    for name in STUDIES:
        label_file, rest_result = slicer_client.infer(MODEL, pacs_setup.series_of(name), {})
        os.unlink(label_file)
        segmented[name] = sum(rest_result["label_voxels"].values())
    name = max(segmented, key=segmented.get)
    assert segmented[name] > 0, f"the test model segments nothing in any study: {segmented}"
    screenshot = ARTIFACTS / "ohif_segmentation.png"

    result = ohif_segment.segment_study(page, pacs_setup.url, pacs_setup.studies[name], MODEL, screenshot)

    assert sorted(result["listed_studies"]) == sorted(pacs_setup.studies.values())  # from the PACS, via the proxy
    assert result["infer_status"] == 200
    assert f"image={pacs_setup.series_of(name)}" in result["infer_url"]
    assert screenshot.stat().st_size > 0
    # What OHIF shows is what the model segments: as many labeled voxels as over REST.
    assert sum(result["labelmap_histogram"].values()) == segmented[name]
