"""Opens a built report's downloads the way a journalist's tools do, and fails loudly when a
standard tool would guess a type wrong.

Usage: python check_open_data.py PUBLIC_DIR

- pandas reads every CSV in data/datapackage.json with only the types the package declares, and
  gets the same values as pyarrow reading the Parquet file beside it;
- integer columns are integers (nullable where cells may be empty), dates are dates, date-times
  are UTC date-times, and a column the package calls required has no empty cell.
"""

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
    for resource in package["resources"]:
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
    for p in problems:
        print(f"error: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
