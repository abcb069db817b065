"""Transactions: the one input shape of lead scoring, its loaders and a synthetic generator.

A *transactions frame* has the columns ``customer_id`` (str), ``date`` (``datetime64``,
midnight, no time zone), ``amount`` (float) and ``quantity`` (float, 1 when unknown).
Everything in :mod:`nurture.scoring` takes and returns plain pandas frames of that shape, so
the same model runs on a CSV file, on the CDNOW reference cohort and on the database.
"""

from __future__ import annotations

import csv
import hashlib
import importlib.resources
import math
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from nurture.errors import InputError
from nurture.text import plural

TRANSACTION_COLUMNS = ("customer_id", "date", "amount", "quantity")
REQUIRED_COLUMNS = ("customer_id", "date", "amount")

#: The out-of-time reference test of the issue: features to this date, value over 26 weeks.
CDNOW_AS_OF = pd.Timestamp("1997-12-30")
CDNOW_HORIZON_DAYS = 182
CDNOW_CURRENCY = "USD"
#: What the CDNOW data are, for model cards.
CDNOW_DESCRIPTION = (
    "CDNOW: every purchase of the 23,570 customers who first bought CDs from the US online"
    " store CDNOW in the first quarter of 1997, up to June 1998, in US dollars of the time"
    " (Fader and Hardie's cohort, shipped in the `lifetimes` package). Consumer music"
    " sales: small, frequent orders, unlike most B2B leads."
)


def empty_transactions() -> pd.DataFrame:
    """A transactions frame with no rows and the right dtypes."""
    return pd.DataFrame(
        {
            "customer_id": pd.Series([], dtype=object),
            "date": pd.Series([], dtype="datetime64[ns]"),
            "amount": pd.Series([], dtype=float),
            "quantity": pd.Series([], dtype=float),
        }
    )


def normalise_transactions(frame: pd.DataFrame) -> pd.DataFrame:
    """Coerce a frame with the transaction columns to the canonical dtypes (no validation)."""
    out = pd.DataFrame(
        {
            "customer_id": frame["customer_id"].astype(str).to_numpy(dtype=object),
            "date": pd.to_datetime(frame["date"]).dt.tz_localize(None).dt.normalize()
            if getattr(frame["date"].dtype, "tz", None) is not None
            else pd.to_datetime(frame["date"]).dt.normalize(),
            "amount": frame["amount"].astype(float).to_numpy(),
            "quantity": (
                frame["quantity"].astype(float).to_numpy()
                if "quantity" in frame
                else np.ones(len(frame))
            ),
        }
    )
    out["date"] = out["date"].astype("datetime64[ns]")
    return out


def to_timestamp(value: str | date | datetime | pd.Timestamp) -> pd.Timestamp:
    """A date given as text or object, as a naive midnight :class:`pandas.Timestamp`."""
    ts = pd.Timestamp(value)
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts.normalize()


def load_cdnow(
    n_customers: int | None = None, *, seed: int = 0, path: Path | None = None
) -> pd.DataFrame:
    """The CDNOW cohort (69,659 transactions of 23,570 customers, 1997-01 to 1998-06).

    Read from the copy shipped inside the ``lifetimes`` wheel through
    :mod:`importlib.resources` (``lifetimes``' own loaders need the removed
    ``pkg_resources``). ``n_customers`` picks a reproducible random subsample of customers
    (for notebooks and tests on small data).
    """
    if path is None:
        try:
            resource = importlib.resources.files("lifetimes") / "datasets" / "CDNOW_master.txt"
        except ModuleNotFoundError as exc:  # pragma: no cover - eval extra missing
            raise InputError(
                "the CDNOW data ships in the 'lifetimes' package: pip install 'nurture[eval]'"
            ) from exc
        with importlib.resources.as_file(resource) as real:
            raw = _read_cdnow(Path(real))
    else:
        raw = _read_cdnow(path)
    if n_customers is not None:
        ids = raw["customer_id"].unique()
        rng = np.random.default_rng(seed)
        keep = rng.choice(ids, size=min(n_customers, len(ids)), replace=False)
        raw = raw[raw["customer_id"].isin(set(keep))]
    return raw.reset_index(drop=True)


def _read_cdnow(path: Path) -> pd.DataFrame:
    raw = pd.read_csv(
        path,
        sep=r"\s+",
        header=0,
        names=["customer_id", "date", "quantity", "amount"],
        dtype={"customer_id": str, "date": str},
    )
    raw["date"] = pd.to_datetime(raw["date"], format="%Y%m%d")
    return normalise_transactions(raw[list(TRANSACTION_COLUMNS)])


def read_transactions_csv(path: Path) -> pd.DataFrame:
    """Read ``customer_id,date,amount[,quantity]`` from a CSV file, checking every row.

    Raises :class:`~nurture.errors.InputError` naming the file, the row (1 = header) and
    the field of the first bad value, e.g. ``tx.csv row 7, column "amount": 'abc' is not a
    number``.
    """
    name = str(path)
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror}", file=name) from exc
    ids: list[str] = []
    dates: list[date] = []
    amounts: list[float] = []
    quantities: list[float] = []
    with handle:
        try:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                raise InputError(
                    "the file is empty; expected a header customer_id,date,amount", file=name
                )
            columns = [h.strip().lower() for h in header]
            missing = [c for c in REQUIRED_COLUMNS if c not in columns]
            if missing:
                raise InputError(
                    f"missing {plural(len(missing), 'column')} {', '.join(missing)}; expected "
                    "customer_id,date,amount"
                    " and optionally quantity",
                    file=name,
                    row=1,
                )
            pos = {c: columns.index(c) for c in TRANSACTION_COLUMNS if c in columns}
            for rownum, row in enumerate(reader, start=2):
                if not any(cell.strip() for cell in row):
                    continue
                if len(row) < len(columns):
                    row = row + [""] * (len(columns) - len(row))
                cid = row[pos["customer_id"]].strip()
                if not cid:
                    raise InputError(
                        "empty customer id", file=name, row=rownum, field="customer_id"
                    )
                ids.append(cid)
                dates.append(_parse_date(row[pos["date"]], name, rownum))
                amounts.append(_parse_number(row[pos["amount"]], name, rownum, "amount"))
                if "quantity" in pos and row[pos["quantity"]].strip():
                    quantities.append(_parse_number(row[pos["quantity"]], name, rownum, "quantity"))
                else:
                    quantities.append(1.0)
        except UnicodeDecodeError as exc:
            raise InputError("not a UTF-8 text file", file=name) from exc
        except csv.Error as exc:
            raise InputError(f"not a readable CSV file: {exc}", file=name) from exc
    if not ids:
        raise InputError("no transactions in the file", file=name)
    return normalise_transactions(
        pd.DataFrame(
            {
                "customer_id": ids,
                "date": pd.to_datetime(dates),
                "amount": amounts,
                "quantity": quantities,
            }
        )
    )


def _parse_date(text: str, file: str, row: int) -> date:
    value = text.strip()
    for fmt in ("%Y-%m-%d", "%Y%m%d", "%d.%m.%Y", "%Y/%m/%d"):
        try:
            return datetime.strptime(value[:10] if fmt == "%Y-%m-%d" else value, fmt).date()
        except ValueError:
            continue
    raise InputError(f"{value!r} is not a date (use YYYY-MM-DD)", file=file, row=row, field="date")


def _parse_number(text: str, file: str, row: int, field: str) -> float:
    value = text.strip().replace(",", ".") if text.count(",") == 1 and "." not in text else text
    try:
        number = float(value)
    except ValueError:
        raise InputError(
            f"{text.strip()!r} is not a number", file=file, row=row, field=field
        ) from None
    if not math.isfinite(number):
        raise InputError(
            f"{text.strip()!r} is not a finite number", file=file, row=row, field=field
        )
    return number


def write_transactions_csv(tx: pd.DataFrame, path: Path) -> int:
    """Write a transactions frame as ``customer_id,date,amount,quantity``; returns rows."""
    out = tx.loc[:, list(TRANSACTION_COLUMNS)].copy()
    out["date"] = out["date"].dt.strftime("%Y-%m-%d")
    path.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(path, index=False)
    return len(out)


def data_hash(tx: pd.DataFrame) -> str:
    """SHA-256 of the canonical transactions (order-independent), for the model card."""
    ordered = tx.sort_values(["customer_id", "date", "amount"], kind="stable")
    digest = hashlib.sha256()
    digest.update(
        pd.util.hash_pandas_object(ordered[list(TRANSACTION_COLUMNS)], index=False)
        .to_numpy()
        .tobytes()
    )
    return digest.hexdigest()


def split_at(
    tx: pd.DataFrame, as_of: pd.Timestamp, horizon_days: int
) -> tuple[pd.DataFrame, pd.Series]:
    """Split at ``as_of``: the history (rows on or before it) and, for every customer seen
    in that history, the value bought in the following ``horizon_days`` (0 when none)."""
    history = tx[tx["date"] <= as_of]
    end = as_of + pd.Timedelta(days=horizon_days)
    future = tx[(tx["date"] > as_of) & (tx["date"] <= end)]
    customers = pd.Index(history["customer_id"].unique(), name="customer_id")
    target = future.groupby("customer_id")["amount"].sum().reindex(customers, fill_value=0.0)
    return history, target.astype(float)


def synthetic_transactions(
    n_customers: int = 1000,
    *,
    start: str = "2022-01-01",
    days: int = 730,
    seed: int = 0,
    id_prefix: str = "c",
) -> pd.DataFrame:
    """Transactions drawn from the BG/NBD story (Pareto/NBD-like buying and dropping out,
    Gamma-Gamma spend), with customers acquired during the first quarter of the period.

    Deterministic for a seed; used by tests, notebooks and the benchmark.
    """
    rng = np.random.default_rng(seed)
    lam = rng.gamma(shape=0.5, scale=1 / 20.0, size=n_customers)  # purchases per day
    p_drop = rng.beta(1.0, 3.0, size=n_customers)
    spend_scale = rng.gamma(shape=4.0, scale=10.0, size=n_customers)
    first = rng.integers(0, max(1, days // 4), size=n_customers)
    rows_c: list[np.ndarray] = []
    rows_t: list[np.ndarray] = []
    for i in range(n_customers):
        t = [int(first[i])]
        while True:
            if rng.random() < p_drop[i] and len(t) > 1:
                break
            gap = rng.exponential(1 / lam[i]) if lam[i] > 0 else days
            nxt = t[-1] + max(1, int(gap))
            if nxt >= days:
                break
            t.append(nxt)
        rows_c.append(np.full(len(t), i))
        rows_t.append(np.asarray(t))
    cust = np.concatenate(rows_c)
    day = np.concatenate(rows_t)
    amount = np.round(rng.gamma(shape=3.0, scale=spend_scale[cust] / 3.0), 2)
    quantity = rng.integers(1, 4, size=len(cust)).astype(float)
    frame = pd.DataFrame(
        {
            "customer_id": np.char.add(id_prefix, cust.astype(str)).astype(object),
            "date": pd.Timestamp(start) + pd.to_timedelta(day, unit="D"),
            "amount": amount,
            "quantity": quantity,
        }
    )
    return normalise_transactions(frame)
