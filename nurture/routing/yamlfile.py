"""Reading a YAML file a user wrote (team file, campaigns): bounded, every problem listed.

:func:`check_shape` walks the file's event stream (PyYAML's parser is a loop, not a
recursion) before anything is built from it, and refuses, with the line:

* a file larger than :data:`MAX_CHARS`;
* nesting deeper than :data:`MAX_DEPTH` (building deeper documents recurses in PyYAML);
* more than :data:`MAX_NODES` values once aliases are expanded (``&a`` / ``*a``: a few
  lines can otherwise stand for billions of values, and validating them would never end);
* a value holding NUL (written ``"\\0"``) or a lone surrogate (``"\\ud800"``): no
  database stores such text.

:class:`ConfigProblems` carries every problem of a file, each with its line, so a user
fixes them all in one go.
"""

from __future__ import annotations

from collections.abc import Sequence

import yaml

from nurture.errors import ConfigError

MAX_CHARS = 1_000_000
MAX_DEPTH = 32
MAX_NODES = 100_000


class ConfigProblems(ConfigError):
    """Several problems in one configuration file, each a :class:`ConfigError` with its
    line. ``str()`` is the first; :meth:`messages` gives one line per problem."""

    def __init__(self, problems: Sequence[ConfigError]):
        if not problems:
            raise ValueError("ConfigProblems needs at least one problem")
        self.problems = list(problems)
        first = self.problems[0]
        super().__init__(str(first), file=first.file, line=first.line)

    def messages(self) -> list[str]:
        """One line per problem, each naming the file and the line."""
        return [p.format_message() for p in self.problems]

    def format_message(self) -> str:
        lines = self.messages()
        if len(lines) == 1:
            return lines[0]
        return f"{len(lines)} problems: " + "; ".join(lines)


def problems_of(exc: ConfigError) -> list[ConfigError]:
    """The individual problems an error stands for (itself when it is a single one)."""
    return list(exc.problems) if isinstance(exc, ConfigProblems) else [exc]


def syntax_error(exc: yaml.YAMLError, *, file: str) -> ConfigError:
    """A YAML syntax error as one line with its line number."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return ConfigError(
        f"not valid YAML: {problem}", file=file, line=mark.line + 1 if mark is not None else None
    )


def storable(value: str) -> bool:
    """Text both databases store: no NUL character, valid UTF-8 (no lone surrogates, which
    a command line's undecodable bytes also become)."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_shape(text: str, *, file: str) -> None:
    """Refuse a file too large, too deep or expanding to too many values (ConfigError with
    the line). Syntax errors are left to the loader, which reports them with their line."""
    if len(text) > MAX_CHARS:
        raise ConfigError(f"the file is larger than {MAX_CHARS:,} characters", file=file)
    sizes: dict[str, int] = {}  # anchor -> values it stands for
    open_nodes: list[tuple[str | None, int]] = []  # (anchor, count before the collection)
    total = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            line = event.start_mark.line + 1 if event.start_mark is not None else None
            if isinstance(event, yaml.AliasEvent):
                total += sizes.get(event.anchor or "", 1)
            elif isinstance(event, yaml.ScalarEvent):
                total += 1
                if event.anchor:
                    sizes[event.anchor] = 1
                if not storable(event.value):
                    raise ConfigError(
                        "a value holds a character no database stores (NUL, or half of a "
                        "UTF-16 surrogate pair)",
                        file=file,
                        line=line,
                    )
            elif isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent):
                open_nodes.append((event.anchor, total))
                total += 1
                if len(open_nodes) > MAX_DEPTH:
                    raise ConfigError(
                        f"nested more than {MAX_DEPTH} levels deep", file=file, line=line
                    )
            elif isinstance(event, yaml.SequenceEndEvent | yaml.MappingEndEvent):
                anchor, before = open_nodes.pop()
                if anchor:
                    sizes[anchor] = total - before
            if total > MAX_NODES:
                raise ConfigError(
                    f"the file stands for more than {MAX_NODES:,} values "
                    "(are YAML aliases, *name, repeating a large part?)",
                    file=file,
                    line=line,
                )
    except yaml.YAMLError:
        return
