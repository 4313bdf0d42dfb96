"""The CLI reaches the farm only through :mod:`rfarm.api`.

A command may read the configuration, print, and do work that stays on the
user's machine (analyse or hash a local file, the client halves of the file
flows); the worker command runs the node itself. Everything else that touches
the farm's database, queue or storage goes through the seam.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "rfarm"
CLI = PACKAGE / "cli"

#: rfarm modules a CLI module may import at run time
ALLOWED = {
    "rfarm", "rfarm.api", "rfarm.state.users", "rfarm.state.states", "rfarm.config", "rfarm.errors", "rfarm.files.progress",
    "rfarm.submit.scene", "rfarm.files.hashing", "rfarm.submit.submission", "rfarm.files.upload", "rfarm.files.download",
    "rfarm.submit.frames",  # frame specs (1-100x2) parsed on the user's machine
    "rfarm.submit.flow",  # the analysis and the hash-cached send, through the seam, that the add-ons share
    "rfarm.integrations.install",  # writes the DCC add-ons into this user's folders
    "rfarm.wire",  # records as JSON documents
    "rfarm.client.http",  # the seam's other side: `rfarm login` checks a token against a server
    "rfarm.service.serve",  # `rfarm serve` runs the service, on the farm's side
    "rfarm.node.hardware",  # this machine's hardware
    "rfarm.node.worker",  # `rfarm worker` is the render node itself, the farm's trusted side
}


def _is_package(module: str) -> bool:
    return (PACKAGE.parent.joinpath(*module.split(".")) / "__init__.py").is_file()


def runtime_imports(source: str) -> set[str]:
    """The rfarm modules ``source`` imports, leaving out imports only type checkers see."""
    tree = ast.parse(source)
    typing_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            typing_only.update(id(n) for n in ast.walk(node))
    found = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "rfarm":
            found.add(node.module)
            if _is_package(node.module):
                found.update(f"{node.module}.{alias.name}" for alias in node.names if alias.name != "__version__")
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "rfarm")
    return found


def test_the_checker_sees_direct_and_hidden_imports() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from rfarm.state.models import Task\n"
        "def f():\n    from rfarm import api, __version__\n    from rfarm.state import scheduler\n"
        "    import rfarm.state.db\n"
    )
    assert runtime_imports(source) == {"rfarm", "rfarm.api", "rfarm.state", "rfarm.state.scheduler", "rfarm.state.db"}


@pytest.mark.parametrize("module", sorted(p.name for p in CLI.glob("*.py")))
def test_cli_module_reaches_the_farm_only_through_the_seam(module: str) -> None:
    imported = runtime_imports((CLI / module).read_text(encoding="utf-8"))
    outside = sorted(m for m in imported if m not in ALLOWED and not _is_package(m) and not m.startswith(("rfarm.cli", "rfarm.analysis")))
    assert not outside, f"rfarm/cli/{module} imports {outside}: call rfarm.api instead"
