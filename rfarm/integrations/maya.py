"""The Maya plug-in: an "rfarm" menu with "Submit to farm…", and the dialog's logic.

Everything Maya-facing goes through the few ``maya.cmds`` calls :func:`read_scene` makes
(the adapter: any object with ``file``, ``getAttr``, ``ls``, ``listRelatives`` and ``about``
answering as ``maya.cmds`` does). The logic is plain functions over it: :func:`read_scene`
takes the open scene's analysis from Maya itself, :func:`differences` compares it with the
offline analysis (:mod:`rfarm.analysis`, which the nodes and ``rfarm submit`` use), and
:func:`prepare` builds the same request ``rfarm submit`` builds for the same file and options.
This module imports without Maya; only :func:`show_dialog` and the plug-in entry points need it.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rfarm.errors import RfarmError, UsageError
from rfarm.integrations import submitting

if TYPE_CHECKING:
    from rfarm.analysis import AnalysisResult
    from rfarm.submit.request import SubmitRequest

MENU = "rfarmMenu"
WINDOW = "rfarmSubmitWindow"


@dataclass(frozen=True, slots=True)
class MayaView:
    """The open scene as Maya reports it (not as the file on disk says)."""

    scene: str
    modified: bool
    version: str
    renderer: str
    start: float
    end: float
    by_frame: float
    animation: bool
    width: int
    height: int
    image_prefix: str
    cameras: tuple[str, ...]
    render_layers: tuple[tuple[str, bool], ...]
    render_setup_layers: tuple[str, ...]
    files: tuple[str, ...]
    file_nodes: tuple[tuple[str, str], ...] = field(default=())
    """``(node, fileTextureName)`` of each ``file`` node."""


def read_scene(cmds: Any) -> MayaView:
    """The render settings, layers, cameras and files of the open scene, from ``maya.cmds``."""
    def attr(name: str) -> Any:
        return cmds.getAttr(name)

    cameras = []
    for shape in cmds.ls(type="camera") or []:
        if attr(f"{shape}.renderable"):
            cameras.extend(cmds.listRelatives(shape, parent=True) or [shape])
    layers = tuple((name, bool(attr(f"{name}.renderable"))) for name in cmds.ls(type="renderLayer") or [])
    return MayaView(
        scene=cmds.file(query=True, sceneName=True) or "",
        modified=bool(cmds.file(query=True, modified=True)),
        version=str(cmds.about(version=True)),
        renderer=attr("defaultRenderGlobals.currentRenderer"),
        start=float(attr("defaultRenderGlobals.startFrame")),
        end=float(attr("defaultRenderGlobals.endFrame")),
        by_frame=float(attr("defaultRenderGlobals.byFrameStep")),
        animation=bool(attr("defaultRenderGlobals.animation")),
        width=int(attr("defaultResolution.width")),
        height=int(attr("defaultResolution.height")),
        image_prefix=attr("defaultRenderGlobals.imageFilePrefix") or "",  # None when unset
        cameras=tuple(cameras),
        render_layers=layers,
        render_setup_layers=tuple(cmds.ls(type="renderSetupLayer") or []),
        files=tuple(cmds.file(query=True, list=True) or []),
        file_nodes=tuple((node, attr(f"{node}.fileTextureName") or "") for node in cmds.ls(type="file") or []),
    )


def differences(view: MayaView, analysis: AnalysisResult) -> list[str]:
    """Where Maya's view of the open scene and the offline analysis (what the nodes read) disagree."""
    info = analysis.scene_info
    pairs = [
        ("renderer", view.renderer, info.renderer),
        ("frame range", (view.start, view.end, view.by_frame), (info.start, info.end, info.by_frame)),
        ("animation", view.animation, info.animation),
        ("resolution", f"{view.width}x{view.height}", f"{info.width}x{info.height}"),
        ("image prefix", view.image_prefix, info.image_prefix),
        ("renderable cameras", sorted(view.cameras), sorted(info.cameras)),
        ("render layers", sorted(view.render_layers),
         sorted((layer.name, layer.renderable) for layer in info.render_layers)),
    ]
    found = [f"{label}: Maya says {_shown(mine)}, the file says {_shown(theirs)}"
             for label, mine, theirs in pairs if mine != theirs]
    textures = {(dep.node, dep.path) for dep in analysis.dependencies if dep.node_type == "file"}
    for node, path in sorted(set(view.file_nodes) - textures):
        found.append(f"{node}.fileTextureName: Maya reads {path}, the file does not")
    for node, path in sorted(textures - set(view.file_nodes)):
        found.append(f"{node}.fileTextureName: the file reads {path}, Maya does not")
    return found


def _shown(value: object) -> str:
    if isinstance(value, tuple) and len(value) == 3 and all(isinstance(v, float) for v in value):
        start, end, by = value
        return f"{start:g}-{end:g}" + (f" by {by:g}" if by != 1 else "")
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "none"
    return repr(value) if isinstance(value, str) else str(value)


@dataclass(frozen=True, slots=True)
class Prepared:
    """What the dialog shows before the artist presses Submit, and what Submit sends."""

    scene: str
    request: SubmitRequest
    analysis: AnalysisResult | None
    view: MayaView
    differences: list[str]
    path_mapping: list[str]


def prepare(cmds: Any, settings: submitting.PanelSettings, *, save_first: bool = False,
            server_url: str = "", token: str = "") -> Prepared:
    """Read the open scene through ``cmds``, save it if allowed, and build the request ``rfarm submit`` would."""
    from rfarm.submit import flow

    view = read_scene(cmds)
    if not view.scene:
        raise UsageError("the scene was never saved: save it first (rfarm submits a file)")
    if view.modified:
        if not save_first:
            raise UsageError("the scene has unsaved changes: save it, or tick Save first")
        cmds.file(save=True)
        view = read_scene(cmds)
    analysis = flow.analyse_if_readable(view.scene)
    request = submitting.build(view.scene, settings, analysis)
    config = submitting.farm_config(server_url, token)
    return Prepared(view.scene, request, analysis, view, differences(view, analysis) if analysis else [],
                    submitting.path_mapping_lines(config))


def submit_prepared(prepared: Prepared, settings: submitting.PanelSettings, *, server_url: str = "",
                    token: str = "", on_progress: Callable[[Any], Any] | None = None) -> submitting.Outcome:
    """Upload what is new and submit the prepared scene."""
    config = submitting.farm_config(server_url, token)
    return submitting.submit_scene(prepared.scene, settings, config, analysis=prepared.analysis,
                                   on_progress=on_progress)


# -- inside Maya -----------------------------------------------------------------------------


def install_menu(cmds: Any) -> str:
    """The "rfarm" menu in Maya's main window, with "Submit to farm…"."""
    if cmds.menu(MENU, exists=True):
        cmds.deleteUI(MENU)
    menu = cmds.menu(MENU, label="rfarm", parent="MayaWindow", tearOff=True)
    cmds.menuItem(label="Submit to farm…", parent=menu, command=lambda *_: show_dialog(cmds))
    return str(menu)


_FIELDS: Sequence[tuple[str, str]] = (("frames", "Frames"), ("test_frames", "Test frames"), ("priority", "Priority"),
                                      ("tags", "Tags"), ("server_url", "Server"))


def show_dialog(cmds: Any) -> None:
    """A window with the submit fields, the scene as Maya reads it and its differences from the file."""
    if cmds.window(WINDOW, exists=True):
        cmds.deleteUI(WINDOW)
    cmds.window(WINDOW, title="Submit to farm")
    cmds.columnLayout(adjustableColumn=True)
    view = read_scene(cmds)
    cmds.text(label=f"{Path(view.scene).name or 'untitled'}: {view.renderer}, frames {view.start:g}-{view.end:g}, "
                    f"{view.width}x{view.height}")
    cmds.text(label="Render Setup layers: " + (", ".join(view.render_setup_layers) or "none"))
    fields = {name: cmds.textFieldGrp(label=label, text="default" if name == "priority" else "")
              for name, label in _FIELDS}
    chunk = cmds.intFieldGrp(label="Chunk", value1=1)
    needs = cmds.floatFieldGrp(label="RAM GB / GPUs", numberOfFields=2)
    flags = cmds.checkBoxGrp(numberOfCheckBoxes=3, labelArray3=("Stop after test", "Hold after test", "Save first"))
    report = cmds.scrollField(editable=False, wordWrap=True, height=120)

    def settings() -> submitting.PanelSettings:
        text = {name: cmds.textFieldGrp(f, query=True, text=True) for name, f in fields.items()}
        return submitting.PanelSettings(
            frames=text["frames"], test_frames=text["test_frames"], priority=text["priority"] or "default",
            tags=text["tags"], chunk=cmds.intFieldGrp(chunk, query=True, value1=True),
            ram_gb=cmds.floatFieldGrp(needs, query=True, value1=True),
            gpus=int(cmds.floatFieldGrp(needs, query=True, value2=True)),
            stop_after_test=cmds.checkBoxGrp(flags, query=True, value1=True),
            hold_after_test=cmds.checkBoxGrp(flags, query=True, value2=True),
        )

    def submit(*_: Any) -> None:
        import maya.utils

        server = cmds.textFieldGrp(fields["server_url"], query=True, text=True)
        try:
            chosen = settings()
            prepared = prepare(cmds, chosen, save_first=cmds.checkBoxGrp(flags, query=True, value3=True),
                               server_url=server)
        except RfarmError as exc:
            cmds.warning(f"rfarm: {exc}")
            return
        lines = [f"differences from the file: {d}" for d in prepared.differences] + \
                [f"path mapping: {m}" for m in prepared.path_mapping]
        cmds.scrollField(report, edit=True, text="\n".join(lines + ["uploading…"]))

        def work() -> None:  # the upload runs beside Maya's UI; the result comes back on its main thread
            try:
                line = submit_prepared(prepared, chosen, server_url=server).report()
            except RfarmError as exc:
                line = f"rfarm: {exc}"
            maya.utils.executeDeferred(lambda: cmds.scrollField(report, edit=True, text="\n".join(lines + [line])))

        threading.Thread(target=work, name="rfarm-submit", daemon=True).start()

    cmds.button(label="Submit", command=submit)
    cmds.showWindow(WINDOW)


def initializePlugin(plugin: Any) -> None:  # noqa: N802 - the name Maya calls
    from maya import cmds

    install_menu(cmds)


def uninitializePlugin(plugin: Any) -> None:  # noqa: N802 - the name Maya calls
    from maya import cmds

    if cmds.menu(MENU, exists=True):
        cmds.deleteUI(MENU)
