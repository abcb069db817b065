"""The event a lead list belongs to, from the ``NAME.EXT.event.yaml`` beside it.

```yaml
name: Иннопром-2026     # required
kind: exhibition        # exhibition | seminar | webinar | mailing | webform (default exhibition)
date: 2026-07-07        # optional, YYYY-MM-DD
mapping: innoprom.yaml  # optional: a --mapping file, relative to the sidecar's folder
                        # (the inbox flow: relative to the inbox)
```

Both ``nurture import`` and the inbox flow read it; on the command line, ``--event``,
``--kind``, ``--date`` and ``--mapping`` win over it. A broken sidecar is a
:class:`~nurture.errors.ConfigError` naming the file and the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import yaml

from nurture.errors import ConfigError

SUFFIX = ".event.yaml"
KINDS = ("exhibition", "seminar", "webinar", "mailing", "webform")
FIELDS = ("name", "kind", "date", "mapping")


@dataclass
class EventMeta:
    name: str
    kind: str = "exhibition"
    date: date | None = None
    mapping: Path | None = None


def sidecar_of(path: Path) -> Path:
    return path.with_name(path.name + SUFFIX)


def read_sidecar(path: Path, *, base: Path | None = None) -> EventMeta | None:
    """The event in ``path``'s sidecar, or ``None`` when it has none. ``mapping:`` is
    relative to ``base`` (default: the sidecar's folder)."""
    sidecar = sidecar_of(path)
    if not sidecar.is_file():
        return None
    where = str(sidecar)

    def wrong(field: str, problem: str) -> ConfigError:
        return ConfigError(f"field {field!r}: {problem}", file=where)

    try:
        data = yaml.safe_load(sidecar.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise ConfigError(f"cannot read the event file ({exc.strerror})", file=where) from exc
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        mark = getattr(exc, "problem_mark", None)
        line = None if mark is None else int(mark.line) + 1
        raise ConfigError("not valid YAML", file=where, line=line) from exc
    if not isinstance(data, dict):
        raise ConfigError("expected 'name:', 'kind:', 'date:' and 'mapping:' fields", file=where)
    unknown = sorted(str(k) for k in data if k not in FIELDS)
    if unknown:
        raise wrong(unknown[0], f"unknown (the fields are {', '.join(FIELDS)})")
    name = data.get("name")
    if not isinstance(name, str | int) or not str(name).strip():
        raise wrong("name", "the event needs a name")
    kind = data.get("kind") or "exhibition"
    if kind not in KINDS:
        raise wrong("kind", f"{kind!r} is not one of {', '.join(KINDS)}")
    raw_date = data.get("date")
    day: date | None = None
    if isinstance(raw_date, date):
        day = raw_date
    elif raw_date not in (None, ""):
        try:
            day = date.fromisoformat(str(raw_date))
        except ValueError:
            raise wrong("date", f"{raw_date!r} is not a date (YYYY-MM-DD)") from None
    mapping = data.get("mapping")
    mapping_path = None
    if mapping not in (None, ""):
        mapping_path = (base or sidecar.parent) / str(mapping)
        if not mapping_path.is_file():
            raise wrong("mapping", f"no such file {mapping_path}")
    return EventMeta(name=str(name).strip(), kind=str(kind), date=day, mapping=mapping_path)
