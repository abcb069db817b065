"""Published model versions: ``models/lead-value/<version>/`` and the ``current`` pointer.

Each version directory holds

* ``model.skops``: the fitted :class:`~nurture.scoring.model.LeadValueModel`, saved with
  :mod:`skops.io` (never pickle: loading a pickle can run arbitrary code). Loading accepts
  only the types in :data:`TRUSTED_TYPES` beyond what skops trusts by default; a file that
  needs anything else is refused with :class:`~nurture.errors.ModelError`;
* ``card.json`` and ``README.md``: the model card (:mod:`nurture.scoring.card`: intended
  use, limitations, currency, training data, features, parameters, metrics against
  baselines, library versions).

``models/lead-value/current`` is a one-line text file naming the version in use. A version
is written into a temporary directory and renamed into place, and ``current`` is replaced
atomically, so a reader never sees half a version.
"""

from __future__ import annotations

import json
import os
import platform
import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from nurture.errors import ModelError, NotFoundError
from nurture.scoring.card import complete, render_card
from nurture.scoring.model import LeadValueModel

MODEL_NAME = "lead-value"
ARTIFACT = "model.skops"
CARD_JSON = "card.json"
CARD_MD = "README.md"
CURRENT = "current"

#: Types beyond skops' defaults that a lead-value artifact may contain. Nothing else loads.
TRUSTED_TYPES: tuple[str, ...] = (
    "nurture.scoring.model.LeadValueModel",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    # With categorical lead attributes the trees keep a preprocessor that holds
    # ``functools.partial(sklearn.utils.validation.check_array, ...)``; skops checks the
    # wrapped function separately, so trusting ``partial`` admits no other callable.
    "functools.partial",
    "sklearn.utils.validation.check_array",
)
_VERSION_RE = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
LIBRARIES = ("nurture", "scikit-learn", "skops", "numpy", "pandas", "scipy", "lifetimes")


@dataclass(frozen=True)
class Published:
    """A version on disk."""

    version: str
    path: Path
    card: dict[str, Any]


def model_root(models_dir: Path) -> Path:
    return Path(models_dir) / MODEL_NAME


def library_versions() -> dict[str, str]:
    """Versions of the libraries that shape the artifact, for the model card."""
    out = {"python": platform.python_version()}
    for lib in LIBRARIES:
        try:
            out[lib] = version(lib)
        except PackageNotFoundError:
            out[lib] = "not installed"
    return out


def new_version(now: datetime | None = None) -> str:
    """A sortable version name: ``YYYYMMDDTHHMMSSZ``."""
    return (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def save_artifact(model: LeadValueModel, path: Path) -> None:
    """Write ``model`` with skops and check it needs nothing beyond :data:`TRUSTED_TYPES`."""
    import skops.io as sio

    sio.dump(model, path)
    extra = sorted(set(sio.get_untrusted_types(file=path)) - set(TRUSTED_TYPES))
    if extra:
        path.unlink(missing_ok=True)
        raise ModelError(f"the model contains types outside the trusted list: {extra}")


def load_artifact(path: Path) -> LeadValueModel:
    """Load a skops artifact, trusting only :data:`TRUSTED_TYPES` (and skops' defaults)."""
    import skops.io as sio

    if not path.is_file():
        raise NotFoundError(f"no model artifact at {path}")
    try:
        untrusted = set(sio.get_untrusted_types(file=path))
    except Exception as exc:
        raise ModelError(f"{path}: not a skops model file ({type(exc).__name__})") from exc
    refused = sorted(untrusted - set(TRUSTED_TYPES))
    if refused:
        raise ModelError(f"{path}: refusing to load untrusted types {refused}")
    model = sio.load(path, trusted=sorted(untrusted))
    if not isinstance(model, LeadValueModel):
        raise ModelError(f"{path}: expected a LeadValueModel, found {type(model).__name__}")
    return model


def publish(
    model: LeadValueModel,
    card: dict[str, Any],
    models_dir: Path,
    *,
    version_name: str | None = None,
    make_current: bool = True,
) -> Published:
    """Write a new version (artifact + card) and, by default, point ``current`` at it."""
    root = model_root(models_dir)
    root.mkdir(parents=True, exist_ok=True)
    name = version_name or new_version()
    if not _VERSION_RE.match(name) or name == CURRENT:
        raise ModelError(f"invalid version name {name!r}")
    target = root / name
    if target.exists():
        raise ModelError(f"version {name} already exists in {root}")
    full_card = complete(
        {
            "model": MODEL_NAME,
            "version": name,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "estimator": "nurture.scoring.model.LeadValueModel",
            "parameters": model.get_params(),
            "features": list(getattr(model, "feature_names_", [])),
            "training": getattr(model, "training_summary_", {}),
            "bgnbd": getattr(model, "bgnbd_", {}),
            "gamma_gamma": getattr(model, "gamma_gamma_", {}),
            "libraries": library_versions(),
            "artifact": {"file": ARTIFACT, "format": "skops", "trusted_types": list(TRUSTED_TYPES)},
            **card,
        }
    )
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=root))
    tmp.chmod(0o755)  # mkdtemp makes it private; a published version is readable by workers
    try:
        save_artifact(model, tmp / ARTIFACT)
        (tmp / CARD_JSON).write_text(
            json.dumps(full_card, indent=2, ensure_ascii=False, default=str) + "\n",
            encoding="utf-8",
        )
        (tmp / CARD_MD).write_text(render_card(full_card), encoding="utf-8")
        os.replace(tmp, target)
    except BaseException:
        for child in tmp.glob("*"):
            child.unlink(missing_ok=True)
        tmp.rmdir()
        raise
    if make_current:
        set_current(models_dir, name)
    return Published(version=name, path=target, card=full_card)


def set_current(models_dir: Path, name: str) -> None:
    """Point ``current`` at an existing version (atomic replace)."""
    root = model_root(models_dir)
    if not (root / name / ARTIFACT).is_file():
        raise NotFoundError(f"no version {name!r} in {root}")
    fd, tmp = tempfile.mkstemp(prefix=".current-", dir=root)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(name + "\n")
    os.replace(tmp, root / CURRENT)


def current_version(models_dir: Path) -> str:
    """The version named by ``current``."""
    pointer = model_root(models_dir) / CURRENT
    if not pointer.is_file():
        raise NotFoundError(
            f"no current lead-value model in {model_root(models_dir)}: run `nurture score train`"
        )
    name = pointer.read_text(encoding="utf-8").strip()
    if not _VERSION_RE.match(name):
        raise ModelError(f"{pointer}: invalid version name {name!r}")
    return name


def read_card(models_dir: Path, name: str | None = None) -> Published:
    """A version's card (default: ``current``) without loading its artifact."""
    name = name or current_version(models_dir)
    if not _VERSION_RE.match(name) or name == CURRENT:
        raise NotFoundError(f"no version {name!r} in {model_root(models_dir)}")
    path = model_root(models_dir) / name
    if not (path / ARTIFACT).is_file():
        raise NotFoundError(f"no version {name!r} in {model_root(models_dir)}")
    card_path = path / CARD_JSON
    card = json.loads(card_path.read_text(encoding="utf-8")) if card_path.is_file() else {}
    return Published(version=name, path=path, card=card)


def load(models_dir: Path, name: str | None = None) -> tuple[LeadValueModel, Published]:
    """Load a version (default: ``current``) after checking its trusted types."""
    published = read_card(models_dir, name)
    return load_artifact(published.path / ARTIFACT), published


def list_versions(models_dir: Path) -> list[str]:
    root = model_root(models_dir)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and (p / ARTIFACT).is_file())
