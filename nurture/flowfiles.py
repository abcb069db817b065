"""The Prefect flow files of ``flows/`` as modules.

``flows/`` is a folder of deployment entrypoints (``prefect.yaml`` names them by path), not
a package: the demo's driver, the demo runner and the tests load a flow file by its name.
"""

from __future__ import annotations

import importlib.util
from types import ModuleType

from nurture.config import PROJECT_ROOT

FLOWS_DIR = PROJECT_ROOT / "flows"


def load_flow_file(name: str) -> ModuleType:
    """``flows/<name>.py``, executed as a fresh module ``nurture_flows_<name>``."""
    path = FLOWS_DIR / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"nurture_flows_{name}", path)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
