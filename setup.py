"""Build step that pyproject.toml cannot express: the wheel carries the folders Nurture ships
beside its code (templates, models, examples) as ``nurture/_data/<folder>``, where
``nurture.config.data_dir`` finds them once installed. Everything else is in pyproject.toml."""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
DATA_DIRS = ("templates", "models", "examples")  # nurture.config.DATA_DIRS


class BuildWithData(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the source tree's folders
        for name in DATA_DIRS:
            target = Path(self.build_lib) / "nurture" / "_data" / name
            shutil.copytree(
                ROOT / name, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__")
            )


setup(cmdclass={"build_py": BuildWithData})
