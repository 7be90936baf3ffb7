"""Drive the OHIF viewer that the app's server serves at ``/ohif/`` in headless Chromium, as an annotator would:
study list, a study in the MONAI Label mode, the panel connected to the server, a model run from it; then save a
screenshot. The browser test (``tests/integration/pacs/test_ohif_browser.py``) runs the same steps.

    python sample-apps/pacs/ohif_segment.py --server http://127.0.0.1:8000 --study <StudyInstanceUID> \\
        [--model uncertainty_contrastive] [--out ohif.png]

Needs Debian's ``chromium`` (``sample-apps/pacs/install_debian_packages.sh``) and the ``playwright`` package of
``requirements.txt``, which drives it: no browser is downloaded.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = [
    "CHROMIUM",
    "launch_chromium",
    "next_sample",
    "paint",
    "clear_box",
    "pick_points",
    "save_label",
    "segment_study",
    "set_labelmap",
]

CHROMIUM = "/usr/bin/chromium"
# Headless, as root, offline: WebGL2 (which Cornerstone3D needs) from SwiftShader; no calls to Google's services.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--use-gl=angle",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
]
TIMEOUT_MS = 240_000  # two shared cores: OHIF's bundles, the volume and a first inference all take a while
# What runs in the page: one JavaScript function (or expression) per file, each with what it is for at its top.
PAGE_SCRIPTS = Path(__file__).parent / "ohif_page"


def page_script(name: str) -> str:
    """The text of ``ohif_page/<name>.js``, as Playwright's ``evaluate`` and ``wait_for_function`` take it."""
    return (PAGE_SCRIPTS / f"{name}.js").read_text().strip()


VOLUME_LOADED = page_script("volume_loaded")
LABELMAP_HISTOGRAM = page_script("labelmap_histogram")
PICK_POINTS = page_script("pick_points")
CLEAR_BOX = page_script("clear_box")
ACTIVE_TOOL = page_script("active_tool")
SEGMENT_INDEX = page_script("segment_index")
LABEL_AT_VALUE = page_script("label_at_value")
LABEL_AT = f"([world, expected]) => ({LABEL_AT_VALUE})(world) === expected"
SHOW_POINT = page_script("show_point")
OVERLAY_STATE = page_script("overlay_state")
SEGMENT_NAMES = page_script("segment_names")
PANEL_MODELS = page_script("panel_models")
SET_LABELMAP = page_script("set_labelmap")
# OHIF's segmentation tools behind the panel's buttons (Cornerstone3D's names).
BRUSH_TOOLS = {"Brush": "CircularBrush", "Eraser": "CircularEraser"}


def _notices(pattern: str) -> str:
    """The viewer's notices on screen (innermost elements) whose text matches ``pattern``."""
    return (
        "Array.from(document.querySelectorAll('body *')).filter(e => e.children.length === 0 && "
        f"/{pattern}/.test(e.textContent))"
    )


NOTICES = _notices("Label saved|Label not saved|Nothing to save")  # of the Save Label action
UNCERTAINTY_NOTICES = _notices("^Uncertainty( not shown)?:")  # of the Uncertainty button


def launch_chromium(playwright: Any) -> Any:
    if not Path(CHROMIUM).exists():
        raise FileNotFoundError(f"{CHROMIUM} not found: bash sample-apps/pacs/install_debian_packages.sh")
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


def segment_study(page: Any, server: str, study_uid: str, model: str, screenshot: Path | None = None) -> dict:
    """From OHIF's study list, open ``study_uid`` in the MONAI Label mode, run ``model`` from the panel and wait for
    its segmentation in the viewer. Returns the studies listed, the infer request's URL and status, and the
    histogram of the viewer's labelmap (segment index -> voxels). A step that fails raises ``RuntimeError`` naming
    it, after a screenshot of where it stuck (``<screenshot>.failed.png``)."""
    steps = _Steps(page, screenshot)
    server = server.rstrip("/")
    page.set_default_timeout(TIMEOUT_MS)
    with steps("study list"):
        page.goto(f"{server}/ohif/", wait_until="domcontentloaded")
        row = page.locator(f'[data-cy="studyRow-{study_uid}"]')
        row.wait_for(state="visible")
        rows = page.locator('[data-cy^="studyRow-"]').all()
        listed = [r.get_attribute("data-cy").removeprefix("studyRow-") for r in rows]
    with steps("open the study in the MONAI Label mode"):
        row.click()
        page.locator(f'[data-cy="mode-monai-label-{study_uid}"]').click()
        page.wait_for_url("**/ohif/monai-label?StudyInstanceUIDs=*")
        page.wait_for_function(VOLUME_LOADED, polling=1000)
        banner = page.get_by_role("button", name="Confirm and Hide")  # "investigational use only", over the viewports
        if banner.count():
            banner.click()
    with steps("connect the MONAI Label panel"):
        # The panel's server field defaults to port 8000 of the page's host: point it at this server and connect.
        page.locator("#monailabelServerURL").fill(f"{server}/")
        _connect_panel(page)
    with steps(f"run {model} from the Auto-Segmentation tab"):
        page.locator(".monaiLabelPanel label.tab-label", has_text="Auto-Segmentation").click()
        tab = page.locator(".monaiLabelPanel .tab").filter(
            has=page.locator("label.tab-label", has_text="Auto-Segmentation")
        )
        tab.locator("select.selectBox").select_option(model)
        with page.expect_response(lambda r: f"/infer/{model}" in r.url) as inference:
            tab.locator("button.actionButton", has_text="Run").click()
    histogram = None
    if inference.value.status == 200:
        with steps("the segmentation in the viewer"):
            # The panel's notice that it has put the result into the viewer (the labelmap may be empty).
            page.get_by_text(re.compile("Running Segmentation - ")).first.wait_for(timeout=60_000)
            histogram = page.evaluate(LABELMAP_HISTOGRAM) or {}
            page.wait_for_timeout(2000)  # let the overlay render before the screenshot
    steps.screenshot(screenshot)
    return {
        "listed_studies": listed,
        "infer_url": inference.value.url,
        "infer_status": inference.value.status,
        "labelmap_histogram": histogram,
    }


def clear_box(page: Any, side: int = 16) -> None:
    """Background in a ``side``-voxel box of the middle axial slice of the viewer's labelmap (``CLEAR_BOX``)."""
    page.evaluate(CLEAR_BOX, side)


def pick_points(page: Any, segment: str) -> dict[str, list[float] | None]:
    """World points to correct on the slice with the most room to paint (see ``PICK_POINTS``)."""
    return page.evaluate(PICK_POINTS, segment)


def paint(page: Any, world: list[float], segment: str, tool: str = "Brush", radius_mm: float = 3.0) -> None:
    """One short stroke of ``tool`` (Brush or Eraser, from OHIF's segmentation panel) at ``world`` in the axial
    viewport, with ``segment`` the active segment, as an annotator would: segment row, tool button, stroke.

    It waits until OHIF has made the tool the active one before the stroke (the button's command runs after the
    click returns: a stroke made at once could still be drawn with the tool before, a brush instead of the eraser),
    and until the stroke has reached the labelmap at ``world``; a stroke that never does fails here, by name."""
    page.locator('[data-cy="panelSegmentationWithTools-btn"]').click()
    page.locator('[data-cy="data-row"]', has_text=segment).click()
    page.locator(f'[data-cy="{tool}"]').click()
    tool_name = BRUSH_TOOLS[tool]
    page.wait_for_function(ACTIVE_TOOL, arg=tool_name, timeout=30_000)
    page.evaluate(
        "(r) => window.commandsManager.runCommand('setBrushSize', {value: r, toolNames: ['CircularBrush', "
        "'CircularEraser']})",
        radius_mm,
    )
    x, y = page.evaluate(SHOW_POINT, world)
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 2, y, steps=3)
    page.mouse.up()
    expected = 0 if tool == "Eraser" else page.evaluate(SEGMENT_INDEX, segment)
    try:
        page.wait_for_function(LABEL_AT, arg=[world, expected], timeout=30_000)
    except Exception as error:  # Playwright's TimeoutError, named in the message
        found = page.evaluate(LABEL_AT_VALUE, world)
        message = f"{tool} stroke at {world} left segment {found} in the labelmap, not {expected}"
        raise AssertionError(message) from error


def save_label(page: Any, export_menu: bool = False) -> dict[str, Any]:
    """Press Save Label (or, with ``export_menu``, the segmentation panel's Export & Download > Export DICOM SEG);
    the upload's status (None when the viewer sent none) and the viewer's message."""
    requests_sent: list[Any] = []

    def on_request(request: Any) -> None:
        if "/datastore/label" in request.url:
            requests_sent.append(request)

    # Earlier notices may still be on screen (toasts stay a few seconds, in no fixed order): mark them as seen.
    page.evaluate(f"() => ({NOTICES}).forEach(e => {{ e.dataset.seen = '1'; }})")
    page.on("request", on_request)
    if export_menu:
        page.locator('[data-cy="panelSegmentationWithTools-btn"]').click()
        page.locator("div.bg-primary-dark.flex.h-10 button").first.click()  # the segmentation's "..." menu
        page.get_by_text("Export & Download").click()
        page.get_by_text("Export DICOM SEG").click()
    else:
        page.locator('[data-cy="SaveLabel"]').click()
    page.wait_for_function(f"() => ({NOTICES}).some(e => !e.dataset.seen)", timeout=60_000)
    message = page.evaluate(f"() => ({NOTICES}).find(e => !e.dataset.seen).textContent")
    page.remove_listener("request", on_request)
    response = requests_sent[0].response() if requests_sent else None
    return {"status": response.status if response else None, "message": message}


def _connect_panel(page: Any) -> None:
    """Press the MONAI Label panel's connect button and wait for the server's ``/info/``."""
    with page.expect_response(lambda r: "/info/" in r.url) as info:
        page.locator("table.settingsTable button.actionButton").click()
    if info.value.status != 200:
        raise RuntimeError(f"GET /info/ answered {info.value.status}")
    page.locator(".monaiLabelPanel p.subtitle").wait_for()


def next_sample(page: Any) -> dict[str, Any]:
    """Active Learning tab of the MONAI Label panel: the strategy it shows, then Next Sample's request and answer.
    OHIF remounts the panel when its side-panel tab is shown again, disconnected: it is connected again first, as
    an annotator has to."""
    page.locator('[data-cy="monailabel-btn"]').click()
    page.locator("#monailabelServerURL").wait_for()
    if not page.locator(".monaiLabelPanel label.tab-label").count():
        _connect_panel(page)
    page.locator(".monaiLabelPanel label.tab-label", has_text="Active Learning").click()
    select = page.locator(".monaiLabelPanel select.actionInput").first
    shown = select.input_value()
    with page.expect_response(lambda r: "/activelearning/" in r.url) as answer:
        page.locator(".monaiLabelPanel button.actionInput", has_text="Next Sample").click()
    return {"shown": shown, "url": answer.value.url, "status": answer.value.status, "json": answer.value.json()}


def add_segment(page: Any) -> str:
    """A new segment in the labelmap, made with the segmentation panel's Add Segment as an annotator would; its name
    (the panel makes it the active one)."""
    page.locator('[data-cy="panelSegmentationWithTools-btn"]').click()
    before = page.evaluate(SEGMENT_NAMES)
    page.get_by_text("Add Segment").click()
    page.wait_for_function(f"(n) => ({SEGMENT_NAMES})().length > n", arg=len(before))
    return next(name for name in page.evaluate(SEGMENT_NAMES) if name not in before)


def toggle_uncertainty(page: Any) -> str | None:
    """Press the Uncertainty button; the viewer's notice when this press ran the model (None when it only showed or
    hid the overlay)."""
    page.evaluate(f"() => ({UNCERTAINTY_NOTICES}).forEach(e => {{ e.dataset.seen = '1'; }})")
    before = page.evaluate(OVERLAY_STATE)
    page.locator('[data-cy="Uncertainty"]').click()
    if before["voxels"] is not None:
        page.wait_for_timeout(300)
        return None
    page.wait_for_function(f"() => ({UNCERTAINTY_NOTICES}).some(e => !e.dataset.seen)", timeout=60_000)
    return page.evaluate(f"() => ({UNCERTAINTY_NOTICES}).find(e => !e.dataset.seen).textContent")


def overlay_state(page: Any) -> dict[str, Any]:
    return page.evaluate(OVERLAY_STATE)


def panel_models(page: Any) -> list[str]:
    return page.evaluate(PANEL_MODELS)


def set_labelmap(page: Any, values: list[int] | None) -> list[int]:
    """Replace the viewer's labelmap voxels (None: all background); returns the previous ones."""
    return page.evaluate(SET_LABELMAP, values)


class _Steps:
    """Names the step that failed, with a screenshot of the page as it was then."""

    def __init__(self, page: Any, screenshot: Path | None) -> None:
        self.page, self.failure_shot = page, screenshot.with_suffix(".failed.png") if screenshot else None

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        try:
            yield
        except Exception as error:
            self.screenshot(self.failure_shot)
            raise RuntimeError(f"OHIF step '{name}' failed: {type(error).__name__}: {error}") from error

    def screenshot(self, path: Path | None) -> None:
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(path))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default="http://127.0.0.1:8000")
    parser.add_argument("--study", required=True, help="StudyInstanceUID (pacs/series.json lists the demo's)")
    parser.add_argument("--model", default="uncertainty_contrastive")
    parser.add_argument("--out", type=Path, default=Path("ohif.png"))
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            result = segment_study(page, args.server, args.study, args.model, args.out)
        finally:
            browser.close()
    print(json.dumps({**result, "screenshot": str(args.out)}, indent=2))


if __name__ == "__main__":
    main()
