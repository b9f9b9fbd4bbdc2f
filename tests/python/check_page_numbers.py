#!/usr/bin/env python3
"""Every number a page shows is in a download (issue 16).

Usage: check_page_numbers.py SITE [SITE ...]

For each built site, collects every number in the downloads (the cells of data/*.csv, the numbers
inside them such as a band's ends or a finding's sentence, and each table's row count), then reads
the text of every report page's <main> (content pages from content/ are the platform's own prose
and are skipped) and checks that each number it shows is one of them. Dates and times are the
report's own (period, publication, export instants) and are taken out first; years are allowed
from the range the data covers and the reporting period. Exit 0 when every number is found, 1
otherwise (each missing number is printed with its page and context), 2 on a usage error.
"""

from __future__ import annotations

import csv
import html.parser
import json
import os
import re
import sys

MONTHS_EN = "January|February|March|April|May|June|July|August|September|October|November|December"
MONTHS_DE = "Januar|Februar|März|April|Mai|Juni|Juli|August|September|Oktober|November|Dezember"


class MainText(html.parser.HTMLParser):
    """The visible text inside <main>, with <code> spans (ids, file names, hashes) left out."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.depth_main = 0
        self.depth_code = 0
        self.parts: list[str] = []
        self.lang = "en"

    def handle_starttag(self, tag, attrs):
        if tag == "html":
            self.lang = dict(attrs).get("lang", "en") or "en"
        if tag == "main":
            self.depth_main += 1
        if tag in ("code", "script", "style"):
            self.depth_code += 1
        # Cell boundaries separate numbers.
        self.parts.append(" ")

    def handle_endtag(self, tag):
        if tag == "main":
            self.depth_main -= 1
        if tag in ("code", "script", "style"):
            self.depth_code -= 1
        self.parts.append(" ")

    def handle_data(self, data):
        if self.depth_main > 0 and self.depth_code == 0:
            self.parts.append(data)


def download_numbers(site: str) -> set[int]:
    """Every integer in the downloads."""
    found: set[int] = set()
    data = os.path.join(site, "data")
    for name in sorted(os.listdir(data)):
        path = os.path.join(data, name)
        if name.endswith(".csv"):
            with open(path, newline="", encoding="utf-8") as f:
                rows = list(csv.reader(f))
            found.add(max(len(rows) - 1, 0))
            for row in rows[1:]:
                for cell in row:
                    # Numbers in text cells (a finding's sentence) are written for the report's
                    # language: 1,460 or 1.460.
                    for token in re.findall(r"\d{1,3}(?:[.,]\d{3})+|\d+", cell):
                        found.add(int(re.sub(r"[.,]", "", token)))
    with open(os.path.join(data, "report.json"), encoding="utf-8") as f:
        report = json.load(f)

    def walk(v):
        if isinstance(v, bool):
            return
        if isinstance(v, int):
            found.add(v)
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    walk(report)
    # The report's title is the platform's own words.
    found.update(int(t) for t in re.findall(r"\d+", report.get("title", "")))
    # The bands the data page explains, with its example labels (0–249, 250–499).
    width = (report.get("bands") or {}).get("width")
    if width:
        found.update({width - 1, 2 * width - 1})
    # The threshold the labels name ("counts from 1 to 9").
    threshold = report.get("min_count", 1)
    found.update({threshold, threshold - 1})
    return found


def years_allowed(site: str) -> set[int]:
    """The years a page may name: those the data covers, with gaps, and the reporting period."""
    with open(os.path.join(site, "data", "report.json"), encoding="utf-8") as f:
        report = json.load(f)
    years = {int(report["period"]["from"][:4]), int(report["period"]["to"][:4]),
             int(report["published"][:4])}
    with open(os.path.join(site, "data", "shared-items.csv"), newline="", encoding="utf-8") as f:
        years.update(int(r["year"]) for r in csv.DictReader(f) if r["year"])
    if years:
        years.update(range(min(years), max(years) + 1))
    return years


def page_numbers(text: str, lang: str) -> list[tuple[int, str]]:
    """The numbers a page's text shows, with a little context each."""
    german = lang.startswith("de")
    months = MONTHS_DE if german else MONTHS_EN
    # Dates, times and instants are the report's own, not counts.
    patterns = [
        rf"\b\d{{1,2}}\. ({months}) \d{{4}}" if german else rf"\b({months}) \d{{1,2}}, \d{{4}}",
        rf"\b({months}) \d{{4}}",
        r"\b\d{4}-\d{2}(-\d{2})?(T[\d:]+Z)?",
        r"\b\d{1,2}:\d{2}( UTC)?",
        r"\b\d+-day\b",  # "the 45-day deadline": deletion_deadline_days, also in partners.csv
        # Names of standards in the data dictionary, not numbers of the report.
        r"\b(RFC|ISO|ISO/IEC) \d+(-\d+)?( alpha-\d)?",
        r"\b(SHA-?256(SUMS)?|sha256sum)\b",
        # Encodings and licence ids (UTF-8, CC-BY-4.0, ODbL-1.0).
        r"\bUTF-8\b",
        r"\b[A-Za-z]+(-[A-Za-z]+)*-\d+(\.\d+)*\b",
        # How many cells of the chart's own table (shown beside it) are empty: a count of cells.
        r"\b\d+ (values? (is|are) suppressed|Werte? (ist|sind) unterdrückt)",
    ]
    kept: list[tuple[int, str]] = []
    for p in patterns:
        for m in re.finditer(p, text):
            for token in re.findall(r"\d+", m.group(0)):
                if p.endswith(r"-day\b"):
                    kept.append((int(token), m.group(0)))
        text = re.sub(p, " ", text)
    sep = "." if german else ","
    number = r"\d{1,3}(?:" + re.escape(sep) + r"\d{3})+|\d+"
    for m in re.finditer(number, text):
        context = text[max(0, m.start() - 40): m.end() + 40].replace("\n", " ")
        kept.append((int(m.group(0).replace(sep, "")), " ".join(context.split())))
    return kept


def check(site: str) -> list[str]:
    allowed = download_numbers(site) | years_allowed(site)
    content_pages = set()
    missing = []
    pages = []
    for folder, _dirs, names in os.walk(site):
        for name in names:
            if name.endswith(".html"):
                pages.append(os.path.join(folder, name))
    checked = 0
    for path in sorted(pages):
        rel = os.path.relpath(path, site)
        with open(path, encoding="utf-8") as f:
            source = f.read()
        # Content pages (content/*.md) and the corrections log (data/corrections.yaml) are the
        # platform's own prose, not numbers the report computes.
        if rel.split(os.sep)[0] not in (
            "index.html", "partners", "exports", "opt-outs", "findings", "data"):
            content_pages.add(rel)
            continue
        parser = MainText()
        parser.feed(source)
        text = "".join(parser.parts)
        for n, context in page_numbers(text, parser.lang):
            checked += 1
            if n not in allowed:
                missing.append(f"{rel}: {n} is in no download ({context!r})")
    print(f"{site}: {checked} numbers on {len(pages) - len(content_pages)} pages checked, "
          f"{len(missing)} not in any download")
    return missing


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    missing = []
    for site in argv[1:]:
        missing.extend(check(site))
    for m in missing:
        print(m)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
