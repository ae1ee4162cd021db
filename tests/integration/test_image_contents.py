"""What the image installs is complete: the wheel carries templates, static assets with their licences and the
migrations; where a Docker daemon answers, the image builds and its `qunke --version` runs as a non-root user."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_the_wheel_carries_every_file_the_running_bot_reads(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), "."],
        cwd=REPO,
        check=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("qunke-*.whl")
    inside = set(zipfile.ZipFile(wheel).namelist())
    wanted = [
        path.relative_to(REPO).as_posix()
        for folder in ("console/templates", "console/static", "sandbox", "storage/migrations")
        for path in (REPO / folder).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    ]
    assert wanted and sorted(set(wanted) - inside) == []


def _docker_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    probe = subprocess.run(["docker", "info"], capture_output=True, timeout=30)
    return probe.returncode == 0


@pytest.mark.skipif(not _docker_answers(), reason="no Docker daemon on this machine: the image build is not exercised")
def test_the_image_builds_and_runs_as_a_non_root_user() -> None:
    subprocess.run(["docker", "build", "-q", "-t", "qunke:test", "."], cwd=REPO, check=True, timeout=1800)
    whoami = subprocess.run(
        ["docker", "run", "--rm", "qunke:test", "sh", "-c", "id -u && qunke --version"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    uid, version = whoami.stdout.split("\n", 1)
    assert uid.strip() != "0" and "qunke" in version.lower()
