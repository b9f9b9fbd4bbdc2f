"""Opens every CSV of a built report in LibreOffice Calc, as a journalist's spreadsheet would, and
checks that each column gets the type data/datapackage.json declares.

Usage: python check_spreadsheet.py PUBLIC_DIR   (needs `soffice` and openpyxl)

Calc imports each CSV as UTF-8 with comma separators and "detect special numbers" on, the way
its import dialog does by default; the result is saved as .xlsx and read back with openpyxl:
- integer columns hold numbers (int), never text;
- date columns hold dates;
- months (YYYY-MM) hold that month, as a date or as text (Calc turns them into dates);
- every other column holds the CSV's text exactly. That includes the UTC date-times
  (`2024-02-12T09:15:00Z`): Calc keeps RFC 3339 with a `Z` as text, which loses nothing;
- no cell is a formula, with formula evaluation on: text that would start one (`=`, `+`, `-`, `@`,
  tab, CR) is written with a leading apostrophe (issue 17; CI also opens a root whose partner
  names are formulas).
"""

import csv
import datetime
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import openpyxl

# CSV filter options: comma, double quote, UTF-8 (76), start at row 1, default column types,
# language default, quoted fields as text = false, detect special numbers = true, and (the 13th)
# evaluate formulas = true, as opening a file by double-click does: a text cell that Calc would
# run as a formula must not be one.
FILTER = "CSV:44,34,76,1,,0,false,true,false,false,false,-1,true"


def main(public: Path) -> int:
    data = public / "data"
    package = json.loads((data / "datapackage.json").read_text(encoding="utf-8"))
    problems = []
    # The tables (the workbook and the database are files beside them).
    tables = [r for r in package["resources"] if "schema" in r]
    with tempfile.TemporaryDirectory() as tmp:
        # The workbook opens in Calc too, with a sheet per table and the dictionary.
        subprocess.run(
            ["soffice", "--headless", "--convert-to", "ods", "--outdir", tmp, str(data / "report.xlsx")],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300,
        )
        if not (Path(tmp) / "report.ods").is_file():
            problems.append("report.xlsx: LibreOffice Calc could not open it")
        csvs = [str(data / r["path"]) for r in tables]
        subprocess.run(
            ["soffice", "--headless", "--convert-to", "xlsx", "--infilter=" + FILTER,
             "--outdir", tmp, *csvs],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300,
        )
        for r in tables:
            name = r["name"]
            with open(data / r["path"], encoding="utf-8", newline="") as f:
                rows = list(csv.reader(f))[1:]
            sheet = openpyxl.load_workbook(Path(tmp) / f"{name}.xlsx").active
            for row in sheet.iter_rows(min_row=2):
                for cell in row:
                    if cell.data_type == "f":
                        problems.append(f"{name} {cell.coordinate}: a formula: {cell.value!r}")
            cells = list(sheet.iter_rows(values_only=True))[1:]
            if len(cells) != len(rows):
                problems.append(f"{name}: {len(rows)} CSV rows, {len(cells)} in the sheet")
                continue
            for k, field in enumerate(r["schema"]["fields"]):
                for i, (row, got) in enumerate(zip(rows, cells)):
                    text, value = row[k], got[k] if k < len(got) else None
                    where = f"{name} row {i + 2} {field['name']}"
                    if text == "":
                        if value not in (None, ""):
                            problems.append(f"{where}: empty in CSV, {value!r} in the sheet")
                    elif field["type"] == "integer":
                        if not isinstance(value, (int, float)) or value != int(text):
                            problems.append(f"{where}: {text} became {value!r}")
                    elif field["type"] == "date":
                        if not isinstance(value, datetime.datetime) or value.date().isoformat() != text:
                            problems.append(f"{where}: {text} became {value!r}")
                    elif field["type"] == "yearmonth":
                        ok = (isinstance(value, datetime.datetime)
                              and value.strftime("%Y-%m") == text) or value == text
                        if not ok:
                            problems.append(f"{where}: {text} became {value!r}")
                    elif str(value) != text:
                        problems.append(f"{where}: {text!r} became {value!r}")
            print(f"{name}: {len(rows)} rows open in LibreOffice Calc with the declared types")
    for p in problems[:50]:
        print(f"error: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
