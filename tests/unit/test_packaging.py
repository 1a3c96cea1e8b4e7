"""The wheel carries what bakegen reads at run time: the HCL template and the JSON schemas."""
from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]


def test_wheel_carries_the_template_and_schemas(tmp_path):
    completed = subprocess.run([sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(tmp_path)],
                               cwd=REPOSITORY, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    (wheel,) = tmp_path.glob("bakegen-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        assert {"bakegen/templates/docker-bake.hcl.j2", "bakegen/schemas/science.schema.json",
                "bakegen/schemas/compat.schema.json", "bakegen/schemas/config.schema.json"} <= names
        packaged = archive.read("bakegen/templates/docker-bake.hcl.j2").decode()
    assert packaged == (REPOSITORY / "docker-bake.hcl.j2").read_text()
    assert any(name.endswith("entry_points.txt") for name in names)
