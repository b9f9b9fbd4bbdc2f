"""Opens a built report's downloads the way a journalist's tools do, and fails loudly when a
standard tool would guess a type wrong.

Usage: python check_open_data.py PUBLIC_DIR

- pandas reads every CSV in data/datapackage.json with only the types the package declares, and
  gets the same values as pyarrow reading the Parquet file beside it;
- integer columns are integers (nullable where cells may be empty), dates are dates, date-times
  are UTC date-times, and a column the package calls required has no empty cell;
- data/report.sqlite (sqlite3) and data/report.xlsx (openpyxl) hold every table with the same
  columns and values as its CSV, typed (integers as integers, dates as dates), and the data
  dictionary; their sizes and checksums are the ones datapackage.json gives.
"""

import datetime
import hashlib
import sqlite3

import openpyxl

import json
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def unformula(text):
    """The text of a CSV cell written with an apostrophe so that spreadsheets keep it as text."""
    if isinstance(text, str) and text.startswith("'") and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text


def main(public: Path) -> int:
    data = public / "data"
    package = json.loads((data / "datapackage.json").read_text(encoding="utf-8"))
    problems = []
    tables = [r for r in package["resources"] if "schema" in r]
    for resource in package["resources"]:
        body = (data / resource["path"]).read_bytes()
        if resource.get("bytes") != len(body) or resource.get("hash") != "sha256:" + hashlib.sha256(body).hexdigest():
            problems.append(f"{resource['path']}: size or checksum differs from datapackage.json")
    names = {r["path"] for r in package["resources"]}
    if not {"report.xlsx", "report.sqlite"} <= names:
        problems.append(f"datapackage.json lists no workbook or database: {sorted(names)}")
    for resource in tables:
        name = resource["name"]
        fields = resource["schema"]["fields"]
        dtypes = {}
        dates = []
        for f in fields:
            if f["type"] == "integer":
                dtypes[f["name"]] = "Int64"
            elif f["type"] in ("date", "datetime"):
                dates.append(f["name"])
            else:
                dtypes[f["name"]] = "string"
        frame = pd.read_csv(data / resource["path"], dtype=dtypes, keep_default_na=False,
                            na_values={k: [""] for k in dtypes})
        for column in dates:
            frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
        table = pq.read_table(data / f"{name}.parquet").to_pandas()
        if list(frame.columns) != [f["name"] for f in fields]:
            problems.append(f"{name}.csv: columns {list(frame.columns)}")
        if list(table.columns) != list(frame.columns):
            problems.append(f"{name}.parquet: columns {list(table.columns)}")
            continue
        if len(table) != len(frame):
            problems.append(f"{name}: {len(frame)} CSV rows, {len(table)} Parquet rows")
            continue
        for f in fields:
            col = f["name"]
            csv_values = frame[col]
            pq_values = table[col]
            if f.get("constraints", {}).get("required") and csv_values.isna().any():
                problems.append(f"{name}.{col}: required but has empty cells")
            if f["type"] == "integer":
                if not pd.api.types.is_integer_dtype(csv_values.dtype):
                    problems.append(f"{name}.{col}: pandas read {csv_values.dtype}")
                got = pd.array(pq_values, dtype="Int64")
                if not got.equals(pd.array(csv_values, dtype="Int64")):
                    problems.append(f"{name}.{col}: Parquet and CSV values differ")
            elif f["type"] == "date":
                got = pd.to_datetime(pq_values, utc=True).astype(csv_values.dtype)
                if not got.equals(csv_values):
                    problems.append(f"{name}.{col}: Parquet and CSV dates differ")
            elif f["type"] == "datetime":
                if str(pq_values.dtype) not in ("datetime64[us, UTC]", "datetime64[ns, UTC]"):
                    problems.append(f"{name}.{col}: Parquet type {pq_values.dtype}, not UTC")
                if not pq_values.equals(csv_values.astype(pq_values.dtype)):
                    problems.append(f"{name}.{col}: Parquet and CSV date-times differ")
            else:
                # CSV writes a text cell that a spreadsheet would run as a formula with a leading
                # apostrophe; Parquet keeps the text as it is.
                csv_text = [unformula(v) for v in csv_values.fillna("")]
                if list(pq_values.fillna("")) != csv_text:
                    problems.append(f"{name}.{col}: Parquet and CSV text differs")
        print(f"{name}: {len(frame)} rows, {len(fields)} columns, types as declared")
        problems.extend(same_in_sqlite(data, name, fields, frame))
        problems.extend(same_in_workbook(data, name, fields, frame))
    problems.extend(dictionaries(data, tables))
    for p in problems:
        print(f"error: {p}", file=sys.stderr)
    return 1 if problems else 0


def expected(f, value):
    """A CSV cell (as pandas read it with the package's types) as the workbook and database
    should hold it: None for an empty cell, an int, or the CSV's text."""
    if value is None or pd.isna(value):
        return None
    if f["type"] == "integer":
        return int(value)
    if f["type"] == "date":
        return value.date().isoformat()
    if f["type"] == "datetime":
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return unformula(value)


def csv_rows(fields, frame):
    return [[expected(f, v) for f, v in zip(fields, row)] for row in frame.itertuples(index=False)]


def same_in_sqlite(data, name, fields, frame):
    db = sqlite3.connect(f"file:{data / 'report.sqlite'}?mode=ro", uri=True)
    try:
        cur = db.execute(f'SELECT * FROM "{name}"')
        columns = [d[0] for d in cur.description]
        rows = [list(r) for r in cur.fetchall()]
        types = dict((r[1], r[2]) for r in db.execute(f'PRAGMA table_info("{name}")'))
    finally:
        db.close()
    if columns != [f["name"] for f in fields]:
        return [f"report.sqlite {name}: columns {columns}"]
    out = []
    for f in fields:
        want = "INTEGER" if f["type"] == "integer" else "TEXT"
        if types.get(f["name"]) != want:
            out.append(f"report.sqlite {name}.{f['name']}: type {types.get(f['name'])}, not {want}")
    if rows != csv_rows(fields, frame):
        out.append(f"report.sqlite {name}: rows differ from the CSV")
    return out


def same_in_workbook(data, name, fields, frame):
    book = openpyxl.load_workbook(data / "report.xlsx", read_only=True)
    if name not in book.sheetnames:
        return [f"report.xlsx: no sheet {name}"]
    sheet = list(book[name].iter_rows(values_only=True))
    if list(sheet[0]) != [f["name"] for f in fields]:
        return [f"report.xlsx {name}: header {sheet[0]}"]

    def cell(f, v):
        if v is None:
            return None
        if f["type"] == "integer":
            if not isinstance(v, int):
                raise TypeError(f"{f['name']}: {v!r} is not a number")
            return v
        if f["type"] == "date":
            if not isinstance(v, datetime.datetime):
                raise TypeError(f"{f['name']}: {v!r} is not a date")
            return v.date().isoformat()
        if f["type"] == "datetime":
            if not isinstance(v, datetime.datetime):
                raise TypeError(f"{f['name']}: {v!r} is not a date-time")
            return v.strftime("%Y-%m-%dT%H:%M:%SZ")
        return v

    try:
        rows = [[cell(f, v) for f, v in zip(fields, row)] for row in sheet[1:]]
    except TypeError as e:
        return [f"report.xlsx {name}: {e}"]
    if rows != csv_rows(fields, frame):
        return [f"report.xlsx {name}: rows differ from the CSV"]
    return []


def dictionaries(data, tables):
    """The dictionary sheet and table list every column of every table, in order."""
    want = [(r["name"], f["name"]) for r in tables for f in r["schema"]["fields"]]
    db = sqlite3.connect(f"file:{data / 'report.sqlite'}?mode=ro", uri=True)
    try:
        got = [tuple(r) for r in db.execute("SELECT table_name, column_name FROM dictionary ORDER BY rowid")]
        listed = [r[0] for r in db.execute("SELECT table_name FROM tables ORDER BY rowid")]
    finally:
        db.close()
    book = openpyxl.load_workbook(data / "report.xlsx", read_only=True)
    sheet = [tuple(r[:2]) for r in book["dictionary"].iter_rows(min_row=2, values_only=True)]
    out = []
    if got != want:
        out.append("report.sqlite: the dictionary does not list every column in order")
    if listed != [r["name"] for r in tables]:
        out.append(f"report.sqlite: tables lists {listed}")
    if sheet != want:
        out.append("report.xlsx: the dictionary sheet does not list every column in order")
    return out


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
