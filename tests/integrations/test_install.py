"""``rfarm integrations install``: the folders each DCC reads (Windows through PureWindowsPath),
and the files written there on a temporary home."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path, PurePosixPath, PureWindowsPath

import pytest
from rfarm_testlib import assert_one_error_line, clean_env, run_cli

from rfarm.integrations import install


def test_blender_and_maya_folders_on_each_platform() -> None:
    win = install.blender_root("windows", PureWindowsPath(r"C:\Users\ann"), {"APPDATA": r"C:\Users\ann\AppData\Roaming"})
    assert win == PureWindowsPath(r"C:\Users\ann\AppData\Roaming\Blender Foundation\Blender")
    assert install.blender_root("windows", PureWindowsPath(r"D:\home\ann"), {}) == \
        PureWindowsPath(r"D:\home\ann\AppData\Roaming\Blender Foundation\Blender")
    assert install.blender_root("linux", "/home/ann", {}) == PurePosixPath("/home/ann/.config/blender")
    assert install.blender_root("linux", "/home/ann", {"XDG_CONFIG_HOME": "/cfg"}) == PurePosixPath("/cfg/blender")
    assert install.blender_root("darwin", "/Users/ann", {}) == \
        PurePosixPath("/Users/ann/Library/Application Support/Blender")
    assert install.maya_modules("windows", PureWindowsPath(r"C:\Users\ann")) == \
        PureWindowsPath(r"C:\Users\ann\Documents\maya\modules")
    assert install.maya_modules("linux", "/home/ann") == PurePosixPath("/home/ann/maya/modules")
    module = install.maya_module_text(PureWindowsPath(r"C:\Users\ann\Documents\maya\modules\rfarm"))
    assert module.splitlines()[0] == r"+ rfarm 1.0 C:\Users\ann\Documents\maya\modules\rfarm"


def home_env(home: Path) -> dict[str, str]:
    env = clean_env({"HOME": str(home)})
    env.pop("XDG_CONFIG_HOME", None)
    return env


@pytest.mark.skipif(sys.platform == "win32", reason="the Linux layout, on a Linux home")
def test_install_blender_writes_the_addon_into_every_version_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    for version in ("4.2", "5.0", "config"):  # "config" is not a version folder
        (tmp_path / ".config" / "blender" / version).mkdir(parents=True)
    code, out, err = run_cli("integrations", "install", "blender", "--json", env=home_env(tmp_path))
    assert code == 0, err
    files = json.loads(out)["files"]
    assert files == [str(tmp_path / ".config" / "blender" / v / "scripts" / "addons" / "rfarm_submit.py")
                     for v in ("4.2", "5.0")]
    tree = ast.parse(Path(files[0]).read_text())
    bl_info = next(node for node in tree.body if isinstance(node, ast.Assign) and node.targets[0].id == "bl_info")
    assert ast.literal_eval(bl_info.value)["name"] == "rfarm"  # Blender reads it without running the file
    assert {f.name for f in tree.body if isinstance(f, ast.FunctionDef)} == {"register", "unregister"}


def test_install_blender_without_a_version_folder_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    line = assert_one_error_line(*run_cli("integrations", "install", "blender", env=home_env(tmp_path)))
    assert "no Blender version folder" in line and "--blender-dir" in line
    assert not any(tmp_path.rglob("rfarm_submit.py"))
    code, _, err = run_cli("integrations", "install", "blender", "--blender-dir", str(tmp_path / "addons"),
                           env=home_env(tmp_path))
    assert code == 0 and (tmp_path / "addons" / "rfarm_submit.py").is_file(), err


def test_install_maya_writes_a_module_with_its_plugin_and_user_setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    code, out, err = run_cli("integrations", "install", "maya", "--json", env=home_env(tmp_path))
    assert code == 0, err
    modules = tmp_path / "maya" / "modules"
    assert json.loads(out) == {"dcc": "maya", "files": [
        str(modules / "rfarm.mod"), str(modules / "rfarm" / "plug-ins" / "rfarm_submit.py"),
        str(modules / "rfarm" / "scripts" / "userSetup.py")]}
    lines = (modules / "rfarm.mod").read_text().splitlines()
    assert lines[0] == f"+ rfarm 1.0 {modules / 'rfarm'}"
    rfarm_parent = str(Path(install.__file__).resolve().parents[2])
    assert f"PYTHONPATH+={rfarm_parent}" in lines
    plugin = ast.parse((modules / "rfarm" / "plug-ins" / "rfarm_submit.py").read_text())
    assert {f.name for f in plugin.body if isinstance(f, ast.FunctionDef)} == {"initializePlugin", "uninitializePlugin"}


def test_install_refuses_an_unknown_application_or_a_misplaced_option(tmp_path: Path) -> None:
    assert "houdini" in assert_one_error_line(*run_cli("integrations", "install", "houdini", env=home_env(tmp_path)))
    assert "--maya-dir" in assert_one_error_line(*run_cli(
        "integrations", "install", "blender", "--maya-dir", str(tmp_path), env=home_env(tmp_path)))


@pytest.mark.e2e
def test_the_installed_blender_addon_registers_from_its_own_file(tmp_path: Path) -> None:
    """The written file, loaded the way Blender loads an add-on module, registers rfarm's add-on under its own name."""
    folder = Path(install.install_blender(tmp_path, {}, system="linux", blender_dir=tmp_path / "addons").files[0]).parent
    script = textwrap.dedent(f"""
        import sys
        import bpy
        sys.path.insert(0, {str(folder)!r})
        import rfarm_submit
        rfarm_submit.register()
        from rfarm.integrations import blender
        print("RESULT", hasattr(bpy.types.Scene, "rfarm"), blender.RfarmPreferences.bl_idname,
              "rfarm" in dir(bpy.ops))
        rfarm_submit.unregister()
        print("AFTER", hasattr(bpy.types.Scene, "rfarm"))
    """)
    proc = subprocess.run([sys.executable, "-c", script], env=clean_env({"PYTHONPATH": ""}), capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL, check=False, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "RESULT True rfarm_submit True" in proc.stdout and "AFTER False" in proc.stdout, proc.stdout[-2000:]
