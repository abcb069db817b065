"""Text lead lists read line by line: each line decoded on its own, none held whole.

8-bit files are split into lines as bytes, so each line is decoded by itself: a line that
is not valid in the file's encoding is read in the fallback one (UTF-8 <-> cp1251) with a
warning, instead of the whole file being read in the wrong one or the line silently
getting replacement characters. A NUL character is taken out and its line's row
quarantined.

A physical line longer than the limit is read in pieces and replaced by its *skeleton*: a
short string that moves the CSV parser through the same states (:func:`csv_skeleton`,
:func:`shortest_equivalent`), so the rows after it are read exactly as before; its row is
quarantined. What was noticed about a line is kept by its number for the row that holds it.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO

_BLOCK = 1 << 20
# Two bytes that begin a UTF-8 sequence: a cp1251 block without them has no UTF-8 line.
_UTF8_PAIR = re.compile(rb"[\xc2-\xf4][\x80-\xbf]")


class Marked(list[str]):
    """A row's cells with what the reader noticed: ``problem`` quarantines the row,
    ``warning`` is kept with it."""

    __slots__ = ("problem", "warning")

    def __init__(self, cells: list[str], *, problem: str | None = None, warning: str | None = None):
        super().__init__(cells)
        self.problem = problem
        self.warning = warning


_FALLBACK = {"utf-8": "cp1251", "utf-8-sig": "cp1251", "cp1251": "utf-8"}


class Lines:
    """The physical lines of a text file, decoded one by one and bounded in length; what
    was noticed about a line is kept by its number (``notes``) for the row that holds it.

    8-bit files are split into lines as bytes, so each line is decoded on its own: a line
    that is not valid in the file's encoding is read in the fallback one (UTF-8 <-> cp1251)
    with a warning. A line longer than ``max_chars`` is read in pieces and replaced by its
    *skeleton* (:func:`csv_skeleton`), which leaves the CSV parser in the same state."""

    def __init__(
        self, path: Path, encoding: str, *, max_chars: int, delimiter: str | None, file: str
    ) -> None:
        self.path = path
        self.encoding = encoding
        self.max_chars = max_chars
        self.delimiter = delimiter
        self.file = file
        self.count = 0  # lines handed out
        self.notes: dict[int, tuple[str, bool]] = {}  # line -> (message, quarantines the row)
        self.last_note = 0

    def _note(self, message: str, *, problem: bool) -> None:
        self.notes[self.count] = (message, problem)
        self.last_note = self.count

    def mark(self, cells: list[str], above: int, upto: int) -> list[str]:
        """``cells`` of the row made of lines ``above + 1 .. upto``, marked with their notes."""
        notes = [self.notes.pop(n) for n in range(above + 1, upto + 1) if n in self.notes]
        if not notes:
            return cells
        problems = [m for m, p in notes if p]
        if problems:
            return Marked(cells, problem="; ".join(dict.fromkeys(problems)))
        return Marked(cells, warning="; ".join(dict.fromkeys(m for m, _ in notes)))

    def __iter__(self) -> Iterator[str]:
        if self.encoding.startswith("utf-16"):
            yield from self._text_lines()
            return
        primary = "utf-8" if self.encoding == "utf-8-sig" else self.encoding
        fallback = _FALLBACK[self.encoding]
        for lines, skeleton in self._byte_blocks():
            if skeleton is not None:
                self.count += 1
                self._too_long()
                yield skeleton
                continue
            if self.count == 0:
                lines[0] = lines[0].removeprefix(codecs.BOM_UTF8)
            text = self._whole(lines, primary)
            if text is not None:  # the usual block: every line plain in the file's encoding
                self.count += len(text)
                yield from text
                continue
            for raw in lines:
                self.count += 1
                yield self._line(raw, primary, fallback)

    def _whole(self, lines: list[bytes], primary: str) -> list[str] | None:
        """The block's lines decoded at once, or ``None`` when one of them needs a closer
        look (not valid in ``primary``, a NUL, or a character ``str.splitlines`` would split
        on that the CSV parser does not). In a cp1251 block, the few lines that may be UTF-8
        are tried as UTF-8 one by one."""
        joined = b"".join(lines)
        if b"\x00" in joined:
            return None
        try:
            text = joined.decode(primary)
        except UnicodeDecodeError:
            return None
        split = text.splitlines(keepends=True)
        if len(split) != len(lines):
            return None
        if primary == "cp1251" and _UTF8_PAIR.search(joined):
            for i, raw in enumerate(lines):
                if raw.isascii() or not _UTF8_PAIR.search(raw):
                    continue
                try:  # cp1251 reads almost any bytes: a line valid as UTF-8 is UTF-8
                    split[i] = raw.decode("utf-8")
                except UnicodeDecodeError:
                    continue
                line = self.count + i + 1
                self.notes[line] = (f"line {line} is UTF-8 in a cp1251 file", False)
                self.last_note = max(self.last_note, line)
        return split

    def _line(self, raw: bytes, primary: str, fallback: str) -> str:
        if primary == "cp1251" and not raw.isascii():
            try:  # cp1251 reads almost any bytes: a line valid as UTF-8 is UTF-8
                line = raw.decode("utf-8")
                self._note(f"line {self.count} is UTF-8 in a cp1251 file", problem=False)
            except UnicodeDecodeError:
                line = self._decode(raw, "cp1251", "cp1251")
        else:
            line = self._decode(raw, primary, fallback)
        if "\x00" in line:
            self._note(f"line {self.count} contains a NUL character (\\x00)", problem=True)
            line = line.replace("\x00", "")
        return line

    def _decode(self, raw: bytes, primary: str, fallback: str) -> str:
        try:
            return raw.decode(primary)
        except UnicodeDecodeError:
            self._note(f"line {self.count} is not {primary}: read as {fallback}", problem=False)
            return raw.decode(fallback, errors="replace")

    def _too_long(self) -> None:
        self._note(
            f"line {self.count} is longer than {self.max_chars:,} characters "
            "(NURTURE_IMPORT_MAX_CELL_CHARS)",
            problem=True,
        )

    def _byte_blocks(self) -> Iterator[tuple[list[bytes], str | None]]:
        """Runs of lines as bytes, ``(lines, None)``, and ``([], skeleton)`` for each line
        over the limit, in file order."""
        limit = self.max_chars
        with self.path.open("rb") as fh:
            carry = b""
            while block := fh.read(_BLOCK):
                lines = (carry + block if carry else block).splitlines(keepends=True)
                carry = lines.pop()
                if carry.endswith(b"\n"):  # complete; one ending in "\r" may go on with "\n"
                    lines.append(carry)
                    carry = b""
                run: list[bytes] = []
                for line in lines:
                    if len(line) <= limit:
                        run.append(line)
                        continue
                    if run:
                        yield run, None
                        run = []
                    yield [], self._skeleton([line], None)
                if run:
                    yield run, None
                if len(carry) > limit:
                    yield [], self._skeleton([carry], fh)
                    carry = b""
            if carry:
                if len(carry) <= limit:
                    yield [carry], None
                else:
                    yield [], self._skeleton([carry], None)

    def _skeleton(self, pieces: list[bytes], fh: IO[bytes] | None) -> str:
        """The skeleton of one long line (given whole, or its start with the rest still in
        ``fh``); JSON Lines need none (their rows are lines), so theirs is empty."""
        skeleton = b""
        for piece in _line_rest(pieces, fh):
            if self.delimiter is None:
                continue
            skeleton = csv_skeleton(skeleton + csv_skeleton(piece, self.delimiter), self.delimiter)
            if len(skeleton) > _SKELETON_CHARS:
                skeleton = shortest_equivalent(skeleton, self.delimiter)
        return skeleton.decode("ascii")

    def _text_lines(self) -> Iterator[str]:
        limit = self.max_chars
        with self.path.open("r", encoding=self.encoding, errors="replace", newline="") as fh:
            while line := fh.readline(limit + 1):
                self.count += 1
                if len(line) > limit and not line.endswith(("\n", "\r")):
                    self._too_long()
                    pieces = [line]
                    while not line.endswith(("\n", "\r")) and (line := fh.readline(limit)):
                        pieces.append(line)
                        if self.delimiter is not None:
                            pieces = [self._text_skeleton(pieces)]
                    yield self._text_skeleton(pieces) if self.delimiter is not None else ""
                    continue
                if "\x00" in line:
                    self._note(f"line {self.count} contains a NUL character (\\x00)", problem=True)
                    line = line.replace("\x00", "")
                yield line.lstrip("\ufeff") if self.count == 1 else line

    def _text_skeleton(self, pieces: list[str]) -> str:
        skeleton = b""
        for piece in pieces:
            raw = piece.encode("utf-8", "replace")
            skeleton = csv_skeleton(skeleton + csv_skeleton(raw, self.delimiter), self.delimiter)
            if len(skeleton) > _SKELETON_CHARS:
                skeleton = shortest_equivalent(skeleton, self.delimiter)
        return skeleton.decode("ascii")


def _line_rest(pieces: list[bytes], fh: IO[bytes] | None) -> Iterator[bytes]:
    """``pieces``, then (from ``fh``) the rest of the physical line they began."""
    yield from pieces
    if fh is None or pieces[-1].endswith((b"\n", b"\r")):
        return
    while block := fh.read(_BLOCK):
        end = re.search(rb"\r\n|\n|\r", block)
        if end is None:
            yield block
            continue
        yield block[: end.end()]
        fh.seek(end.end() - len(block), 1)  # the next line starts here
        return


_ORDINARY_CACHE: dict[str | None, re.Pattern[bytes]] = {}


def csv_skeleton(piece: bytes, delimiter: str | None) -> bytes:
    """``piece`` of a CSV line reduced to a short string that moves the CSV parser
    (``doublequote``, not strict, no escape character) through the same states: every run
    of ordinary characters is one ``x``, a run of delimiters one delimiter, a run of quotes
    one or two by its parity, and ``x`` followed by delimiter-or-``""`` and ``x`` again is
    ``x``. Line ends stay."""
    d = re.escape((delimiter or ",").encode("ascii"))
    pattern = _ORDINARY_CACHE.get(delimiter)
    if pattern is None:
        pattern = _ORDINARY_CACHE[delimiter] = re.compile(rb'[^"\r\n' + d + rb"]+")
    s = pattern.sub(b"x", piece)
    s = re.sub(d + b"+", d.replace(b"\\", b""), s)
    s = re.sub(rb'"+', lambda m: b'"' if len(m.group(0)) % 2 else b'""', s)
    return re.sub(rb"x(?:(?:" + d + rb'|"")x)+', b"x", s)


# The CSV parser's states within a line (start of a field, in an unquoted field, in a quoted
# field, just after a quote in a quoted field) and how an ordinary character, the delimiter
# and a quote move them. A line's effect is one map of these four states; every possible map
# has a short string that has the same effect (found once, breadth first).
_MOVES = {"x": (1, 1, 2, 1), "d": (0, 0, 2, 0), "q": (2, 1, 3, 2)}
_SKELETON_CHARS = 4096


def _shortest_strings() -> dict[tuple[int, ...], str]:
    found: dict[tuple[int, ...], str] = {(0, 1, 2, 3): ""}
    frontier: list[tuple[int, ...]] = [(0, 1, 2, 3)]
    while frontier:
        nxt = []
        for state in frontier:
            for ch, move in _MOVES.items():
                after = tuple(move[s] for s in state)
                if after not in found:
                    found[after] = found[state] + ch
                    nxt.append(after)
        frontier = nxt
    return found


_SHORTEST = _shortest_strings()


def shortest_equivalent(skeleton: bytes, delimiter: str | None) -> bytes:
    """The shortest string with ``skeleton``'s effect on the CSV parser (its line end kept).
    Linear in the skeleton's length: only an adversarial line (millions of tiny fields)
    gets here."""
    d = (delimiter or ",").encode("ascii")
    body = skeleton.rstrip(b"\r\n")
    state = (0, 1, 2, 3)
    table = {ord("x"): _MOVES["x"], d[0]: _MOVES["d"], ord('"'): _MOVES["q"]}
    for byte in body:
        move = table[byte]
        state = (move[state[0]], move[state[1]], move[state[2]], move[state[3]])
    word = _SHORTEST[state].replace("d", d.decode("ascii")).replace("q", '"')
    return word.encode("ascii") + skeleton[len(body) :]
