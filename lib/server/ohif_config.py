"""``/ohif/app-config.js`` as the app serves it: MONAI Label's own OHIF configuration with the app's MONAI Label mode
(``ohif/mode/``: brush, eraser, threshold and shapes, Save Label, Next Sample by ``uncertainty``, the
uncertainty region as an overlay to show and hide).

No OHIF rebuild: the bundled viewer reads its modes from this file first. The mode was written against the OHIF build
that monailabel 0.8.5 ships; with another build the app logs a warning and leaves MONAI Label's file as it is.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import monailabel
from fastapi import APIRouter, Depends
from fastapi.responses import Response
from monailabel.config import settings
from monailabel.endpoints.user.auth import RBAC, User

from ..infers.uncertainty_region import REGION_MODEL, UNCERTAIN_LABEL
from ..monailabel_compat import put_routes_first

__all__ = ["OHIF_VERSION", "OhifViewer", "app_config_js", "bundled_ohif_version", "mode_js", "ohif_config_router"]

logger = logging.getLogger(__name__)

OHIF_VERSION = "3.10.0-beta.5"
STATIC_DIR = Path(monailabel.__file__).parent / "endpoints" / "static" / "ohif"
MODE_DIR = Path(__file__).parent / "ohif" / "mode"
# The mode's files, one concern each, joined in this order inside one function (no build step): each part's top-level
# statements use only what the parts before it define.
MODE_PARTS = (
    "shared.js",  # the app's settings, the overview, helpers every part uses
    "toolbar.js",  # buttons and tool groups
    "save_label.js",  # Save Label
    "nrrd.js",  # the reader of the Uncertainty button's result
    "uncertainty_overlay.js",  # the Uncertainty button
    "panel_patches.js",  # the patches of the bundled panel and of browser globals, isolated
    "mode.js",  # the mode and its registration
)
DEFAULT_STRATEGY = "uncertainty"


def bundled_ohif_version(static_dir: Path = STATIC_DIR) -> str | None:
    """The ``versionNumber`` compiled into the viewer's main bundle, or None if there is none."""
    for bundle in static_dir.glob("app.bundle.*.js"):
        found = re.search(r'versionNumber = "([^"]+)"', bundle.read_text(errors="replace"))
        if found:
            return found.group(1)
    return None


def app_config_js(labels: dict[str, int], static_dir: Path = STATIC_DIR) -> str:
    """The stock configuration (data sources as MONAI Label set them), then the app's mode."""
    app = {
        "labels": labels,
        "defaultStrategy": DEFAULT_STRATEGY,
        "apiRoot": settings.MONAI_LABEL_API_STR,
        "overlay": {"model": REGION_MODEL, "label": next(iter(UNCERTAIN_LABEL))},
    }
    return (static_dir / "app-config.js").read_text() + "\n" + mode_js(app)


def mode_js(app: dict) -> str:
    """The mode's parts as one script, with the app's settings in place of ``__APP__``."""
    parts = "\n".join((MODE_DIR / name).read_text() for name in MODE_PARTS)
    return "(function () {\n'use strict';\n\n" + parts.replace("__APP__", json.dumps(app)) + "})();\n"


def ohif_config_router(labels: dict[str, int], static_dir: Path = STATIC_DIR) -> APIRouter | None:
    """The route that serves :func:`app_config_js`, or None (with a warning) for an OHIF build it was not made for."""
    version = bundled_ohif_version(static_dir)
    if version != OHIF_VERSION:
        logger.warning(
            "OHIF %s is bundled, but the app's OHIF mode (Save Label, brush tools) was made for %s: serving MONAI "
            "Label's own /ohif/app-config.js instead",
            version,
            OHIF_VERSION,
        )
        return None
    text = app_config_js(labels, static_dir)
    router = APIRouter(prefix=settings.MONAI_LABEL_API_STR)

    @router.get("/ohif/app-config.js", include_in_schema=False)
    async def app_config(user: User = Depends(RBAC(settings.MONAI_LABEL_AUTH_ROLE_USER))) -> Response:
        return Response(text, media_type="application/javascript", headers={"Cache-Control": "no-cache, no-store"})

    return router


class OhifViewer:
    """Mixin for the ``MONAILabelApp`` (needs ``app_config``): serves the app's OHIF configuration."""

    def on_init_complete(self) -> None:
        """In the server process only (training and scoring subprocesses build the app too)."""
        router = ohif_config_router(self.app_config.labels)
        if router is not None:
            put_routes_first(router)
            logger.info("OHIF %s: the app's MONAI Label mode is served in /ohif/app-config.js", OHIF_VERSION)
        super().on_init_complete()
