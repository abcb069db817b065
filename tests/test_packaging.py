"""The default templates, models and examples folders are found from a source checkout and
from an installed wheel, and the wheel's metadata carries the SPDX licence."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from nurture.config import DATA_DIRS, PROJECT_ROOT, Settings, data_dir


def test_data_dir_prefers_the_packaged_copy_then_the_source_tree(tmp_path: Path) -> None:
    package = tmp_path / "site" / "nurture"
    (tmp_path / "site" / "templates").mkdir(parents=True)
    package.mkdir()
    assert data_dir("templates", package=package) == tmp_path / "site" / "templates"
    (package / "_data" / "templates").mkdir(parents=True)
    assert data_dir("templates", package=package) == package / "_data" / "templates"
    with pytest.raises(ValueError, match="shipped folders"):
        data_dir("secrets", package=package)


def test_the_defaults_are_the_source_trees_folders_in_a_checkout() -> None:
    settings = Settings()
    assert settings.templates_dir == PROJECT_ROOT / "templates"
    assert (settings.templates_dir / "email" / "base.html").is_file()
    assert (settings.models_dir / "lead-value" / "current").is_file()
    assert (settings.examples_dir / "campaigns" / "exhibition.yaml").is_file()


def _build_wheel(tmp: Path) -> Path:
    """The wheel, built offline from a copy of the source tree (nothing written in it)."""
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in", "LICENSE", "README.md"):
        shutil.copy(PROJECT_ROOT / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "_data")
    for name in ("nurture", *DATA_DIRS):
        shutil.copytree(PROJECT_ROOT / name, src / name, ignore=ignore)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "--no-index", "-w", str(tmp / "dist"), str(src)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    (wheel,) = (tmp / "dist").glob("nurture-*.whl")
    return wheel


@pytest.mark.slow
def test_an_installed_wheel_finds_its_templates_models_examples_and_migrations(
    tmp_path: Path,
) -> None:
    wheel = _build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        metadata = archive.read(next(n for n in archive.namelist() if n.endswith("METADATA")))
        assert b"License-Expression: Apache-2.0" in metadata
        assert any(n.endswith(".dist-info/licenses/LICENSE") for n in archive.namelist())
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index",
         "--target", str(site), str(wheel)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    work = tmp_path / "elsewhere"  # not the checkout: nothing found by the current directory
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NURTURE_", "PYTHON"))}
    env |= {
        "PYTHONPATH": str(site),
        "NURTURE_DATABASE_URL": f"sqlite:///{work / 'n.db'}",
        "NURTURE_OUTBOX_DIR": str(work / "outbox"),
    }

    def run(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, *args], cwd=work, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    where = json.loads(
        run(
            "-c",
            "import json, nurture; from nurture.config import get_settings; s = get_settings(); "
            "print(json.dumps({'code': nurture.__file__, 'templates': str(s.templates_dir), "
            "'models': str(s.models_dir), 'examples': str(s.examples_dir)}))",
        )
    )
    installed = site / "nurture"
    assert Path(where["code"]).parent == installed
    for name in DATA_DIRS:
        assert Path(where[name]) == installed / "_data" / name
    assert json.loads(run("-m", "nurture.cli", "init", "--json"))["revision"]
    checked = json.loads(run("-m", "nurture.cli", "template", "check", "--json"))
    assert checked["checked"] > 0 and checked["errors"] == []
    assert "*" in run("-m", "nurture.cli", "score", "models")
