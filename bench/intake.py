"""Benchmark of intake: N generated leads (~30% duplicates, mixed formats) imported into a
fresh SQLite database (and PostgreSQL when reachable), against a floor measured in the same
run: pandas ``read_csv`` + lower-cased e-mail ``drop_duplicates`` + raw ``sqlite3``
``executemany`` of the unique rows.

    .venv/bin/python bench/intake.py [--rows 1000000] [--no-postgres] [--json]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "intake"))

from common import Report, drop_pg_schema, new_pg_schema, peak_rss_mb, run_isolated, timed

FIRST = [
    "Иван",
    "Пётр",
    "Анна",
    "Мария",
    "Олег",
    "Елена",
    "John",
    "Jane",
    "Li",
    "Priya",
    "Сергей",
    "Ольга",
    "Дмитрий",
    "Наталья",
    "Алексей",
    "Татьяна",
    "Tom",
    "Anna",
]
LAST = [
    "Иванов",
    "Петров",
    "Смирнов",
    "Кузнецов",
    "Попов",
    "Васильев",
    "Соколов",
    "Михайлов",
    "Новиков",
    "Фёдоров",
    "Морозов",
    "Волков",
    "Smith",
    "Doe",
    "Wei",
    "Sharma",
    "Baker",
]
CITIES = ["Москва", "Санкт-Петербург", "Екатеринбург", "Новосибирск", "Казань", "Berlin", ""]
PREFIX = [
    "Техно",
    "Урал",
    "Сибир",
    "Волга",
    "Нефте",
    "Агро",
    "Строй",
    "Мета",
    "Энерго",
    "Авто",
    "Медиа",
    "Транс",
    "Хим",
    "Электро",
    "Газо",
    "Инфо",
    "Про",
    "Север",
    "Юг",
    "Балт",
    "Green",
    "Blue",
    "Nord",
    "Smart",
    "Prime",
    "Alpha",
    "Delta",
    "Omega",
    "Terra",
    "Aqua",
    "Вега",
    "Орион",
    "Альфа",
    "Спектр",
    "Гранит",
    "Кедр",
    "Лотос",
    "Меридиан",
    "Атлант",
    "Зенит",
]
SUFFIX = [
    "сфера",
    "маш",
    "пром",
    "лайн",
    "тех",
    "сервис",
    "групп",
    "снаб",
    "торг",
    "логистик",
    "софт",
    "строй",
    "инвест",
    "холдинг",
    "ресурс",
    "систем",
    "трейд",
    "компани",
    "мир",
    "плюс",
    "tech",
    "soft",
    "line",
    "group",
    "labs",
    "works",
    "trade",
    "net",
    "pro",
    "hub",
    "вест",
    "ост",
    "центр",
    "нова",
    "стар",
    "форм",
    "дом",
    "сталь",
    "лес",
    "вод",
    "газ",
    "нефть",
    "агро",
    "фарм",
    "мед",
    "информ",
    "связь",
    "транс",
    "энерго",
    "экспорт",
]
FORMS = ["ООО", "АО", "ПАО", "ИП"]
HEADER = ["ФИО", "E-mail", "Телефон", "Компания", "Должность", "Город", "Дата"]


def person(i: int, rnd: random.Random) -> list[str]:
    first, last = FIRST[i % len(FIRST)], f"{LAST[(i // 7) % len(LAST)]}{i % 997}"
    login = ["ivan", "petr", "anna", "maria", "oleg", "elena", "john", "jane", "li"][i % 9]
    email = f"{login}.{i}@{['mail.ru', 'yandex.ru', 'gmail.com', 'corp.ru'][i % 4]}"
    phone = f"+7 9{i % 10**9:09d}" if rnd.random() < 0.8 else ""
    company = f"{FORMS[i % 4]} {PREFIX[i % 40]}{SUFFIX[(i // 40) % 50]}"
    return [
        f"{last} {first}",
        email,
        phone,
        company,
        "Менеджер",
        CITIES[i % len(CITIES)],
        f"{1 + i % 28:02d}.0{1 + i % 9}.2026",
    ]


def variant(row: list[str], rnd: random.Random) -> list[str]:
    """A duplicate as it shows up in another list: case, spacing, phone format."""
    r = list(row)
    r[1] = r[1].upper() if rnd.random() < 0.5 else f" {r[1]} "
    if r[2] and rnd.random() < 0.5:
        d = r[2].replace(" ", "").replace("+7", "8")
        r[2] = f"{d[0]} ({d[1:4]}) {d[4:7]}-{d[7:9]}-{d[9:]}"
    if rnd.random() < 0.3:
        r[1] = ""  # only the phone links it
    return r


def generate(rows: int, folder: Path, seed: int = 7) -> tuple[list[Path], Path]:
    """Mixed files (CSV utf-8 ',', CSV cp1251 ';', JSON Lines, XLSX) plus one flat CSV of
    the same rows for the floor; ~30% of rows are duplicates of earlier people; ~1% junk."""
    from xlsxgen import write_xlsx

    rnd = random.Random(seed)
    unique = int(rows * 0.7)
    all_rows: list[list[str]] = []
    for n in range(rows):
        if n < unique:
            all_rows.append(person(n, rnd))
        else:
            all_rows.append(variant(person(rnd.randrange(unique), rnd), rnd))
        if rnd.random() < 0.01:
            all_rows[-1][1], all_rows[-1][2] = "not-an-email", ""
    rnd.shuffle(all_rows)
    parts = [("a.csv", 0.5), ("b.csv", 0.25), ("c.jsonl", 0.15), ("d.xlsx", 0.10)]
    files: list[Path] = []
    start = 0
    for name, share in parts:
        end = rows if name == "d.xlsx" else start + int(rows * share)
        chunk = all_rows[start:end]
        path = folder / name
        if name == "a.csv":
            with path.open("w", encoding="utf-8", newline="") as fh:
                w = csv.writer(fh)
                w.writerow(HEADER)
                w.writerows(chunk)
        elif name == "b.csv":
            with path.open("w", encoding="cp1251", newline="", errors="replace") as fh:
                fh.write("Выгрузка сканера бейджей\r\n\r\n")
                w = csv.writer(fh, delimiter=";")
                w.writerow(HEADER)
                w.writerows(chunk)
        elif name == "c.jsonl":
            keys = ["name", "email", "phone", "company", "title", "city", "date"]
            with path.open("w", encoding="utf-8") as fh:
                for r in chunk:
                    fh.write(json.dumps(dict(zip(keys, r, strict=True)), ensure_ascii=False))
                    fh.write("\n")
        else:
            write_xlsx(path, [["Seminar sign-ups"], [], HEADER, *chunk])
        files.append(path)
        start = end
    flat = folder / "all.csv"
    with flat.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["name", "email", "phone", "company", "title", "city", "date"])
        w.writerows(all_rows)
    return files, flat


def floor(flat: Path, db: Path) -> int:
    import pandas as pd

    df = pd.read_csv(flat, dtype=str, keep_default_na=False)
    df["email"] = df["email"].str.strip().str.lower()
    df = df.drop_duplicates(subset=["email"])
    con = sqlite3.connect(db)
    con.execute(
        "create table leads (name text, email text, phone text, company text, "
        "title text, city text, date text)"
    )
    con.executemany("insert into leads values (?,?,?,?,?,?,?)", df.itertuples(index=False))
    con.commit()
    con.close()
    return len(df)


def normalise_only(files: list[Path]) -> int:
    """The importer's reading and normalising stage alone, in one process, no database:
    the same ``open_table`` and ``prepare_rows`` the importer's helper process runs, with
    its garbage-collection regime (young generations after each chunk). The import runs
    this stage beside its writes (two processes), so it cannot take less."""
    import gc

    from nurture.intake.headers import recogniser, resolve_columns
    from nurture.intake.prepare import chunked, detect_locale, prepare_rows, row_context
    from nurture.intake.reading import open_table

    gc.disable()
    rows = 0
    for path in files:
        table = open_table(path, recogniser(None))
        columns = resolve_columns(table.header, None)
        ctx = row_context(None, detect_locale(table))
        for chunk in chunked(table.rows(), 5000):  # the importer's chunking
            rows += prepare_rows(
                chunk, header=table.header, columns=columns, ctx=ctx, file_name=path.name
            ).count
            gc.collect(1)
    return rows


# The leanest schema any design keeping intake's guarantees must write: one lead per new
# person with the unique e-mail and phone indexes of live leads (two importers at once),
# and one provenance row per input row with its raw cells (every row accounted for).
LEAN_SCHEMA = (
    "CREATE TABLE leads (id INTEGER PRIMARY KEY, email TEXT, phone TEXT, first_name TEXT, "
    "last_name TEXT, company TEXT, title TEXT, city TEXT, merged_into_id INTEGER)",
    "CREATE UNIQUE INDEX uq_leads_email_active ON leads (email) WHERE merged_into_id IS NULL",
    "CREATE UNIQUE INDEX uq_leads_phone_active ON leads (phone) WHERE merged_into_id IS NULL",
    "CREATE TABLE lead_sources (id INTEGER PRIMARY KEY, lead_id INTEGER, batch_id INTEGER, "
    "row_number INTEGER, raw TEXT, UNIQUE (batch_id, row_number))",
)
LEAN_LEADS = ("id", "email", "phone", "first_name", "last_name", "company", "title", "city")
LEAN_SOURCES = ("lead_id", "batch_id", "row_number", "raw")
LEAN_RUN = "lean schema bound (sqlite3, contacts + provenance)"


def schema_floor(
    done: Path, db: Path, chunk: int = 5000, *, lean: bool = False
) -> tuple[int, float]:
    """What SQLite alone needs to hold an import's result in Nurture's schema: the leads
    and lead_sources rows that ``done`` (a finished import) ended with, written ``chunk``
    rows a statement, in transactions of ``NURTURE_IMPORT_COMMIT_ROWS`` rows like the
    importer's, into a fresh database with the same indexes and settings, plus the chunk's
    e-mail and phone lookups that dedup needs. No Python decisions: the part of the gap to
    the floor that the schema itself costs. Returns the lead count and the seconds from
    creating the schema to the last commit: reading ``done`` into memory first is not part
    of the bound (at a million rows it took ~9 of 35 s). Its peak memory says nothing about
    the importer's.

    ``lean``: the same writes into :data:`LEAN_SCHEMA` (contacts, names and provenance,
    nothing else): what any design that keeps intake's guarantees must pay in SQLite and
    in the driver, however its Python is written. What is left of 3x the floor once this
    is paid is all the time the writer would have for receiving the normalised rows,
    deciding who is whom and fuzzy matching."""
    from nurture.config import get_settings
    from nurture.db.session import init_db, make_engine
    from nurture.intake.bulk_sqlite import IMPORT_PRAGMAS

    src = sqlite3.connect(done)
    if lean:
        lead_cols, src_cols = list(LEAN_LEADS), list(LEAN_SOURCES)
    else:
        lead_cols = [r[1] for r in src.execute("PRAGMA table_info(leads)")]
        src_cols = [r[1] for r in src.execute("PRAGMA table_info(lead_sources)") if r[1] != "id"]
    leads = {r[0]: r for r in src.execute(f"SELECT {', '.join(lead_cols)} FROM leads")}
    sources = src.execute(f"SELECT {', '.join(src_cols)} FROM lead_sources ORDER BY id").fetchall()
    src.close()
    started = time.perf_counter()  # timed from here: the schema, then the writes
    if lean:
        con = sqlite3.connect(db)
        for ddl in LEAN_SCHEMA:
            con.execute(ddl)
    else:
        init_db(make_engine(f"sqlite:///{db}"))
        con = sqlite3.connect(db)
        con.execute("ATTACH DATABASE ? AS done", (str(done),))
        for table in ("events", "import_batches"):  # what the sources refer to (a few rows)
            con.execute(f"INSERT INTO main.{table} SELECT * FROM done.{table}")
        con.commit()
        con.execute("DETACH DATABASE done")
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
        con.execute(f"PRAGMA {pragma}")
    for name, value in IMPORT_PRAGMAS.items():  # the importer's connection settings
        con.execute(f"PRAGMA {name} = {value}")
    commit_rows = get_settings().import_commit_rows
    marks = ",".join("?" * len(lead_cols))
    ins_lead = f"INSERT INTO leads ({', '.join(lead_cols)}) VALUES ({marks})"
    marks = ",".join("?" * len(src_cols))
    ins_src = f"INSERT INTO lead_sources ({', '.join(src_cols)}) VALUES ({marks})"
    email, phone = lead_cols.index("email"), lead_cols.index("phone")
    lead_at = src_cols.index("lead_id")
    written: set[int] = set()
    for start in range(0, len(sources), chunk):
        part = sources[start : start + chunk]
        new = []  # the leads this chunk's rows are the first to mention, as import made them
        for r in part:
            if r[lead_at] not in written:
                written.add(r[lead_at])
                new.append(leads[r[lead_at]])
        people = [leads[i] for i in {r[lead_at] for r in part}]
        for col, name in ((email, "email"), (phone, "phone")):
            wanted = sorted({p[col] for p in people if p[col]})  # dedup's lookups
            if wanted:
                con.execute(
                    f"SELECT id FROM leads INDEXED BY uq_leads_{name}_active "
                    f"WHERE merged_into_id IS NULL AND {name} IN ({','.join('?' * len(wanted))})",
                    wanted,
                ).fetchall()
        con.executemany(ins_lead, new)
        con.executemany(ins_src, part)
        if (start + chunk) % commit_rows < chunk:  # the importer commits whole chunks
            con.commit()
    con.commit()
    con.close()
    return len(leads), time.perf_counter() - started


def intake(files: list[Path], url: str) -> dict[str, int]:
    from nurture.db.session import init_db, make_engine
    from nurture.intake import import_file

    engine = make_engine(url)
    init_db(engine)
    totals = {"rows": 0, "created": 0, "merged": 0, "quarantined": 0, "possible_duplicates": 0}
    for f in files:
        s = import_file(f, event=f"Bench {f.name}", engine=engine)
        assert s.created + s.merged + s.quarantined == s.rows
        for k in totals:
            totals[k] += getattr(s, k)
    engine.dispose()
    return totals


def pg_schema() -> tuple[str, str] | None:
    try:
        return new_pg_schema("intake_bench")
    except Exception as exc:  # unreachable server: report and go on with SQLite
        print(f"PostgreSQL skipped: {type(exc).__name__}", file=sys.stderr)
        return None


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--no-postgres", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    import nurture.intake.pipeline  # noqa: F401  (loaded once, before the forked runs)

    tmp = Path(tempfile.mkdtemp(prefix="nurture-bench-intake-"))
    try:
        with timed() as t_gen:
            files, flat = generate(args.rows, tmp)
        report = Report(f"intake: {args.rows:,} rows (~30% duplicates, CSV/cp1251/JSONL/XLSX)")
        with timed() as t_floor:
            (kept, floor_mb) = run_isolated(lambda: floor(flat, tmp / "floor.db"))
        print(f"floor: {t_floor.seconds:.2f} s", file=sys.stderr, flush=True)

        def add(run: str, seconds: float, peak_mb: float, **counts: int) -> None:
            report.add(
                run=run,
                seconds=seconds,
                rows_per_s=args.rows / seconds,
                peak_mb=peak_mb,
                ratio=seconds / t_floor.seconds,
                **counts,
            )

        add("floor (pandas + sqlite3)", t_floor.seconds, floor_mb, created=kept)
        with timed() as t_norm:
            normalised, norm_mb = run_isolated(lambda: normalise_only(files))
        add("normalising alone (no database)", t_norm.seconds, norm_mb, rows=normalised)
        targets: list[tuple[str, str, str | None]] = [
            ("nurture sqlite", f"sqlite:///{tmp / 'nurture.db'}", None)
        ]
        if not args.no_postgres:
            pg = pg_schema()
            if pg:
                targets.append(("nurture postgresql", pg[0], pg[1]))
        for label, url, schema in targets:
            try:
                with timed() as t:
                    totals, peak = run_isolated(partial(intake, files, url))
            finally:
                if schema:
                    drop_pg_schema(schema)
            add(label, t.seconds, peak, **totals)
            print(f"{label}: {report.rows[-1]}", file=sys.stderr, flush=True)
            if label == "nurture sqlite":
                for lean, run in (
                    (False, "schema floor (sqlite3, Nurture's tables)"),
                    (True, LEAN_RUN),
                ):
                    (kept_schema, schema_s), schema_mb = run_isolated(
                        partial(
                            schema_floor, tmp / "nurture.db", tmp / f"schema-{lean}.db", lean=lean
                        )
                    )
                    add(run, schema_s, schema_mb, created=kept_schema)
        report.print()
        print(f"(generated in {t_gen.seconds:.1f} s; bench process peak {peak_rss_mb():.0f} MiB)")
        return {"rows": report.rows}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
