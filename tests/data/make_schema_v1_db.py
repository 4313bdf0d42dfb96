"""How ``rfarm-schema-v1.db`` was made: by rfarm at commit f6cd9fd, the last release with schema version 1.

Run with that commit's rfarm first on the path, then copy ``HOME/rfarm.db`` here::

    git worktree add /tmp/rfarm-v1 f6cd9fd
    PYTHONPATH=/tmp/rfarm-v1 python tests/data/make_schema_v1_db.py /tmp/v1home

Later code cannot run it (its models are newer); it is kept to say what the file holds:
users alice and bob, alice's task 1 (frames 1-4, test frame 2 done on node01), bob's
cancelled task 2 (frames 10-11), one asset of alice's, a hardware config, and their events.
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

home = Path(sys.argv[1])
shutil.rmtree(home, ignore_errors=True)
home.mkdir()
os.environ.clear()
os.environ.update({"RFARM_HOME": str(home), "RFARM_USER": "alice", "PATH": "/usr/bin"})

from rfarm.config import load_config  # noqa: E402 - after the environment is set
from rfarm.files.hashing import hash_file  # noqa: E402
from rfarm.files.transfer import store_object  # noqa: E402
from rfarm.state import scheduler  # noqa: E402
from rfarm.state.farm import open_farm  # noqa: E402
from rfarm.state.hwconfigs import add_hardware_config  # noqa: E402
from rfarm.submit.request import SubmitRequest  # noqa: E402

farm = open_farm(load_config())
scheduler.submit(SubmitRequest(scene="/proj/shot010.blend", renderer="blender", frames=[1, 2, 3, 4], test_frames=[2]),
                 user="alice")
bobs = scheduler.submit(SubmitRequest(scene="/proj/shot020.ma", renderer="maya", frames=[10, 11]), user="bob")
claim = scheduler.claim("node01", lease_s=60)
assert claim is not None
texture = home / "tex.png"
texture.write_bytes(b"a texture")
store_object(farm.storage, "alice", texture, hash_file(texture))
scheduler.finish_frame(claim.frames[0].id, claim.token, outputs=["/out/shot010_0002.png"])
scheduler.cancel_task(bobs, actor="bob")
add_hardware_config("gpu-large", ram_gb=64, gpus=2, tags=("fx",))
farm.db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
farm.db.execute_sql("VACUUM")
farm.db.close()
