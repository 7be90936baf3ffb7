"""Layers point one way: the HTTP layer (``lib/server/``) imports the layers below it, and no module below imports it
(the request checks that every layer applies live in ``lib/validation/``)."""

from __future__ import annotations

import ast
from pathlib import Path

LIB = Path(__file__).resolve().parents[2] / "lib"
HTTP_PACKAGES = {"fastapi", "starlette"}


def _server_imports(source: str, package: tuple[str, ...]) -> list[str]:
    """What ``source``, a module of ``package`` (``("lib", "datastore")``), imports of ``lib.server``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            base = list(package[: len(package) - node.level + 1]) if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            names = [module] + [f"{module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found += [name for name in names if name == "lib.server" or name.startswith("lib.server.")]
    return found


def test_no_module_below_the_http_layer_imports_it() -> None:
    offenders = {}
    for path in LIB.rglob("*.py"):
        parts = path.relative_to(LIB.parent).parts
        if parts[1] != "server" and (imports := _server_imports(path.read_text(), parts[:-1])):
            offenders[str(path.relative_to(LIB.parent))] = imports
    assert offenders == {}


def test_the_check_finds_relative_and_absolute_imports_of_the_server() -> None:
    source = "from ..server.guards import RequestGuards\nfrom .. import server\nimport lib.server.team\n"
    assert set(_server_imports(source, ("lib", "datastore"))) >= {"lib.server.guards", "lib.server", "lib.server.team"}
    assert _server_imports("from ..validation.errors import InvalidInputError\n", ("lib", "datastore")) == []


def test_only_the_http_layer_knows_http() -> None:
    """Errors below the HTTP layer are plain exceptions with a status (``RequestRefused``), not FastAPI's: a
    training or scoring subprocess raises them too. ``monailabel_compat`` reaches into MONAI Label's FastAPI app."""
    offenders = []
    for path in LIB.rglob("*.py"):
        parts = path.relative_to(LIB.parent).parts
        if parts[1] == "server" or path.name == "monailabel_compat.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            names += [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            offenders += [f"{path.relative_to(LIB.parent)}: {n}" for n in names if n.split(".")[0] in HTTP_PACKAGES]
    assert offenders == []
