"""The Blender add-on: a panel in Render properties, a Render menu entry and ``rfarm.submit``.

The bpy-facing code stays thin: settings become a request and go to the farm through
:mod:`rfarm.integrations.submitting`, exactly as ``rfarm submit`` would send them. Imported
only inside Blender (or a Python with the ``bpy`` module); ``rfarm integrations install
blender`` writes a small add-on that loads this module.

The token lives in the add-on's preferences (Blender's user preferences), never in the
.blend; the server URL is a scene setting, shown in the panel. In the UI a submit runs in
a thread watched by a modal timer, so Blender keeps drawing while files upload; in the
background (``bpy.app.background``) and from a script (``bpy.ops.rfarm.submit()``) it
finishes before the operator returns.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import bpy

from rfarm.errors import RfarmError
from rfarm.integrations import submitting
from rfarm.integrations.install import BL_INFO

bl_info = BL_INFO

#: the add-on's name in Blender's preferences; the installed add-on sets it to its own
ADDON_ID = __name__

PRIORITIES = [("high", "High", ""), ("default", "Default", ""), ("low", "Low", "")]
FILE_MODES = [("upload", "Upload", "The scene and every dependency, with dedup: nodes render only from copies"),
              ("snapshot", "Snapshot", "The scene alone; its dependencies are read where they are"),
              ("in-place", "In place", "Render the live file")]


class RfarmSettings(bpy.types.PropertyGroup):
    """The panel's settings, kept in the scene (``scene.rfarm``); strings as the CLI takes them."""

    frames: bpy.props.StringProperty(name="Frames", description="1-100, 1-100x2 or 1,5,10-20; empty: the scene's range")
    test_frames: bpy.props.StringProperty(name="Test frames", description="Rendered first, alone: 50 or 1,50,100")
    stop_after_test: bpy.props.BoolProperty(name="Stop after test", description="A failed test frame fails the task")
    hold_after_test: bpy.props.BoolProperty(name="Hold after test", description="Hold the task after its test frames")
    priority: bpy.props.EnumProperty(name="Priority", items=PRIORITIES, default="default")
    chunk: bpy.props.IntProperty(name="Chunk", description="Frames per render process", default=1, min=1)
    ram_gb: bpy.props.FloatProperty(name="RAM (GB)", default=0, min=0)
    gpus: bpy.props.IntProperty(name="GPUs", default=0, min=0)
    tags: bpy.props.StringProperty(name="Tags", description="Only nodes with these tags, comma-separated")
    files: bpy.props.EnumProperty(name="Files", items=FILE_MODES, default="upload")
    save_first: bpy.props.BoolProperty(name="Save first", description="Save unsaved changes before submitting")
    server_url: bpy.props.StringProperty(name="Server", description="https://HOST:PORT of rfarm serve; empty: "
                                         "the farm the configuration names (RFARM_*, rfarm.toml)")
    last_task_id: bpy.props.IntProperty(name="Last task", default=0)
    last_task_link: bpy.props.StringProperty(name="Link")


class RfarmPreferences(bpy.types.AddonPreferences):
    """The add-on's preferences: the server token, kept with Blender's preferences and never in a .blend."""

    bl_idname = ADDON_ID

    token: bpy.props.StringProperty(name="Token", subtype="PASSWORD",
                                    description="The token `rfarm users token NAME` printed")

    def draw(self, context: Any) -> None:
        self.layout.prop(self, "token")


def _token(context: Any) -> str:
    addon = context.preferences.addons.get(ADDON_ID)
    return addon.preferences.token if addon is not None and addon.preferences is not None else ""


def panel_settings(props: Any) -> submitting.PanelSettings:
    """:class:`submitting.PanelSettings` from ``scene.rfarm``."""
    return submitting.PanelSettings(
        frames=props.frames, test_frames=props.test_frames, stop_after_test=props.stop_after_test,
        hold_after_test=props.hold_after_test, priority=props.priority, chunk=props.chunk,
        ram_gb=props.ram_gb, gpus=props.gpus, tags=props.tags, files=props.files,
    )


_analyses: dict[tuple[str, int], Any] = {}


def _analysis(path: str) -> Any:
    """The saved file's analysis, read once per version of the file (the panel draws often)."""
    from rfarm.submit import flow

    key = (path, Path(path).stat().st_mtime_ns)
    if key not in _analyses:
        _analyses.clear()
        _analyses[key] = flow.analyse_if_readable(path)
    return _analyses[key]


def _unsaved(props: Any) -> str | None:
    """Why the scene cannot be submitted as it stands, after saving it if the artist allows; None if it can.

    In the background Blender marks every file changed, so there the saved file is
    submitted (and the operator says so) unless ``save_first`` saves it.
    """
    if not bpy.data.filepath:
        return "the scene was never saved: save it first (rfarm submits a file)"
    if props.save_first:
        bpy.ops.wm.save_mainfile()
    elif bpy.data.is_dirty and not bpy.app.background:
        return "the scene has unsaved changes: save it, or tick Save first"
    return None


def _finish(props: Any, outcome: submitting.Outcome) -> None:
    props.last_task_id = outcome.task_id
    props.last_task_link = outcome.link


class RFARM_OT_submit(bpy.types.Operator):
    """Analyse the saved scene, upload what the farm lacks and submit it"""

    bl_idname = "rfarm.submit"
    bl_label = "Submit to rfarm"

    _thread: threading.Thread | None = None
    _timer: Any = None

    def _start(self, context: Any) -> tuple[str, submitting.PanelSettings, Any] | None:
        props = context.scene.rfarm
        why = _unsaved(props)
        if why is not None:
            self.report({"ERROR"}, f"rfarm: {why}")
            return None
        config = submitting.farm_config(props.server_url, _token(context))
        if bpy.app.background and bpy.data.is_dirty and not props.save_first:
            self.report({"INFO"}, f"rfarm: submitting {Path(bpy.data.filepath).name} as last saved")
        return bpy.data.filepath, panel_settings(props), config

    def execute(self, context: Any) -> set[str]:
        started = self._start(context)
        if started is None:
            return {"CANCELLED"}
        try:
            outcome = submitting.submit_scene(*started)
        except RfarmError as exc:
            self.report({"ERROR"}, f"rfarm: {exc}")
            return {"CANCELLED"}
        _finish(context.scene.rfarm, outcome)
        self.report({"INFO"}, outcome.report())
        return {"FINISHED"}

    def invoke(self, context: Any, event: Any) -> set[str]:
        if bpy.app.background:
            return self.execute(context)
        started = self._start(context)
        if started is None:
            return {"CANCELLED"}
        self._state: dict[str, Any] = {"progress": None, "outcome": None, "error": None}
        state = self._state

        def work() -> None:
            try:
                state["outcome"] = submitting.submit_scene(
                    *started, on_progress=lambda p: state.__setitem__("progress", p))
            except RfarmError as exc:
                state["error"] = str(exc)
            except Exception as exc:  # noqa: BLE001 - a thread's error must still reach the artist
                state["error"] = f"{type(exc).__name__}: {exc}"

        self._thread = threading.Thread(target=work, name="rfarm-submit", daemon=True)
        self._thread.start()
        wm = context.window_manager
        self._timer = wm.event_timer_add(0.2, window=context.window)
        wm.progress_begin(0, 100)
        wm.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def modal(self, context: Any, event: Any) -> set[str]:
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        state, wm = self._state, context.window_manager
        progress = state["progress"]
        if progress is not None and progress.bytes_total:
            wm.progress_update(int(100 * progress.bytes_done / progress.bytes_total))
            context.workspace.status_text_set(
                f"rfarm: {progress.stage} {progress.done}/{progress.total} files")
        if self._thread is not None and self._thread.is_alive():
            return {"PASS_THROUGH"}
        wm.event_timer_remove(self._timer)
        wm.progress_end()
        context.workspace.status_text_set(None)
        if state["error"] is not None:
            self.report({"ERROR"}, f"rfarm: {state['error']}")
            return {"CANCELLED"}
        _finish(context.scene.rfarm, state["outcome"])
        self.report({"INFO"}, state["outcome"].report())
        return {"FINISHED"}


class RFARM_OT_open_task(bpy.types.Operator):
    """Open the last submitted task in the farm's dashboard"""

    bl_idname = "rfarm.open_task"
    bl_label = "Open in dashboard"

    def execute(self, context: Any) -> set[str]:
        link = context.scene.rfarm.last_task_link
        if not link:
            self.report({"ERROR"}, "rfarm: no dashboard link (the embedded farm has none: rfarm status TASK)")
            return {"CANCELLED"}
        bpy.ops.wm.url_open(url=link)
        return {"FINISHED"}


class RFARM_PT_submit(bpy.types.Panel):
    bl_label = "rfarm"
    bl_space_type = "PROPERTIES"
    bl_region_type = "WINDOW"
    bl_context = "render"

    def draw(self, context: Any) -> None:
        layout, props = self.layout, context.scene.rfarm
        box = layout.box()
        if not bpy.data.filepath:
            box.label(text="Save the scene to analyse it", icon="INFO")
        else:
            try:
                analysis = _analysis(bpy.data.filepath)
            except (RfarmError, OSError) as exc:
                box.alert = True
                box.label(text=f"analysis failed: {exc}", icon="ERROR")
                analysis = None
            if analysis is not None:
                shown = submitting.summary(analysis)
                for key in ("frames", "resolution", "engine", "output"):
                    box.label(text=f"{key.capitalize()}: {shown[key]}")
                for line in shown["missing"] + shown["errors"]:
                    row = box.row()
                    row.alert = True  # drawn in red
                    row.label(text=line, icon="ERROR")
        for name in ("frames", "test_frames", "stop_after_test", "hold_after_test", "priority", "chunk",
                     "ram_gb", "gpus", "tags", "files", "save_first", "server_url"):
            layout.prop(props, name)
        config = submitting.farm_config(props.server_url)
        for line in submitting.path_mapping_lines(config):
            layout.label(text=f"Path mapping: {line}")
        layout.operator(RFARM_OT_submit.bl_idname, icon="RENDER_ANIMATION")
        if props.last_task_id:
            row = layout.row()
            row.label(text=f"Last task: {props.last_task_id}")
            if props.last_task_link:
                row.operator(RFARM_OT_open_task.bl_idname, icon="URL")


def _menu(self: Any, context: Any) -> None:
    self.layout.operator(RFARM_OT_submit.bl_idname, text="Submit to rfarm…")


CLASSES = (RfarmSettings, RfarmPreferences, RFARM_OT_submit, RFARM_OT_open_task, RFARM_PT_submit)


def register(addon_id: str | None = None) -> None:
    """Register the classes, ``Scene.rfarm`` and the Render menu entry (``addon_id``: the installed add-on's name)."""
    global ADDON_ID
    if addon_id:
        ADDON_ID = RfarmPreferences.bl_idname = addon_id
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    bpy.types.Scene.rfarm = bpy.props.PointerProperty(type=RfarmSettings)
    bpy.types.TOPBAR_MT_render.append(_menu)


def unregister() -> None:
    bpy.types.TOPBAR_MT_render.remove(_menu)
    del bpy.types.Scene.rfarm
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
    _analyses.clear()
