#!/usr/bin/env python3
"""An attacker's audit of a built sharelog site: can hidden counts be worked out?

For every built site given on the command line, this reads the downloads in SITE/data/ (the CSV
files and report.json), turns every suppressed (empty) or banded ("250-499") count into an unknown
of a linear program, every published count into a constant, and every relation between the
published tables that a reader can know into linear constraints. It then solves, per connected
component of unknowns, for the smallest and largest feasible value of each unknown (scipy's
HiGHS). An unknown whose feasible range holds a single integer is DISCLOSED.

Usage: audit.py [-v] [--truth EXACT_SITE | --truth-suffix SUFFIX] SITE [SITE ...]

--truth / --truth-suffix name the exact (--unsuppressed) build of a site: every disclosed value is
then checked against it (a mismatch would be a wrong relation, reported as a model error).

Exit status: 0 nothing disclosed, 1 some cell disclosed, 2 usage error, 3 the model is
inconsistent with the site (a relation fails on published numbers, or the constraints have no
solution): the audit's relations are then wrong for that site and its verdict cannot be trusted.

Bounds of the unknowns
- An empty count cell in a column where emptiness means suppression is an integer >= 1: zero is
  always published.
- A banded cell "lo-hi" is lo <= x <= hi. A banded cell that the relations pin to 0 is not
  reported: sharelog publishes zero (it never protects a banded zero).
- Columns that can be empty because the figure does not exist (shared-items.opted_out, which a
  manifest's declared counts may leave out row by row; partners.items_opted_out_now without item
  listings; exports/partners.opt_outs_in_force without an opt-out ledger; exports/partners.owners
  and owners_opted_out without item listings; opt-outs-monthly.accounts)
  are unknowns >= 0 (the per-signal columns of opt-outs-monthly are only read when some month has
  a signal figure; then every month has them, and an empty one is suppressed). Such a cell is reported
  only when it is pinned to a value >= 1: a cell that does not exist could be 0, so a pinned
  non-zero value proves it was suppressed and is now known. opt_outs_in_force is treated as
  suppressed (>= 1) when the site has an opt-out ledger (opt-out-scopes.csv has rows): with a
  ledger it is always computed.
- A cell whose column is named in its row's `not_declared` column (shared-items) is not secret and
  takes part in no relation: it is skipped.

The relations (each checked on exact, --unsuppressed builds; see run_all.sh) are listed in
`Site.relations`; every relation function's docstring says why it holds.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import re
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import csr_matrix, vstack

# Distinct owners (exports, partners): empty without an item listing (or, opted out, a ledger).
OWNER_COLUMNS = ("owners", "owners_opted_out")
FLAGS = ["private", "deleted", "suspended", "explicit", "minor"]
SIGNALS = ["account_setting", "support_request", "robots_txt", "tdmrep", "gpc", "other"]
# Findings whose `count` counts items (suppressed like any count of people's content).
ITEM_FINDINGS = {
    "opted-out-content-shared",
    "sensitive-content-shared",
    "outside-content-window",
    "opt-out-not-honoured",
}
BAND = re.compile(r"^(\d+)-(\d+)$")
MONTHS = {
    m: i + 1
    for i, m in enumerate(
        "January February March April May June July August September October November December".split()
    )
}
EN_DATE = r"(%s) (\d{1,2}), (\d{4})" % "|".join(MONTHS)


class UsageError(Exception):
    pass


# --------------------------------------------------------------------------------------------
# The linear model
# --------------------------------------------------------------------------------------------


@dataclass
class Var:
    """One unknown: a hidden or banded cell, or an auxiliary quantity (never reported)."""

    label: str  # "file [key] column"
    lb: float
    ub: float | None
    kind: str  # "hidden" (>= 1), "banded", "optional" (>= 0, may not exist), "aux"


@dataclass
class Constraint:
    """sum(coef * x) + const  (== or <=)  0, with a label saying which relation it is."""

    coefs: dict[int, float]
    const: float
    eq: bool
    label: str


@dataclass
class Model:
    vars: list[Var] = field(default_factory=list)
    constraints: list[Constraint] = field(default_factory=list)
    relations: int = 0  # relations with at least one unknown
    checked: int = 0  # relations between published numbers only
    violations: list[str] = field(default_factory=list)

    def var(self, label, lb, ub, kind):
        self.vars.append(Var(label, lb, ub, kind))
        return ("v", len(self.vars) - 1)

    @staticmethod
    def _expr(terms):
        """terms: a list of cell terms (("c", value) or ("v", index)) or (coef, term) pairs."""
        coefs: dict[int, float] = defaultdict(float)
        const = 0.0
        for t in terms:
            if t is None:
                continue
            coef, t = (1.0, t) if isinstance(t[0], str) else t
            if t[0] == "c":
                const += coef * t[1]
            else:
                coefs[t[1]] += coef
        return coefs, const

    def _add(self, lhs, rhs, eq, label):
        lc, lk = self._expr(lhs)
        rc, rk = self._expr(rhs)
        coefs = dict(lc)
        for i, c in rc.items():
            coefs[i] = coefs.get(i, 0.0) - c
        coefs = {i: c for i, c in coefs.items() if c != 0.0}
        const = lk - rk
        if not coefs:
            self.checked += 1
            ok = abs(const) <= 1e-6 if eq else const <= 1e-6
            if not ok:
                self.violations.append(f"{label}: {lk:g} {'=' if eq else '<='} {rk:g} fails")
            return
        self.relations += 1
        self.constraints.append(Constraint(coefs, const, eq, label))

    def eq(self, lhs, rhs, label):
        """sum(lhs) == sum(rhs)."""
        self._add(lhs, rhs, True, label)

    def le(self, lhs, rhs, label):
        """sum(lhs) <= sum(rhs)."""
        self._add(lhs, rhs, False, label)


# --------------------------------------------------------------------------------------------
# Reading a site
# --------------------------------------------------------------------------------------------


def read_csv(path):
    """The rows of a CSV download as dicts, or [] when the file does not exist."""
    if not os.path.isfile(path):
        return []
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def key_text(pairs):
    return " ".join(f"{k}={v}" for k, v in pairs if v != "")


class Site:
    """One built site's downloads, as cells of a linear model."""

    def __init__(self, path):
        self.path = path
        self.data = os.path.join(path, "data")
        if not os.path.isdir(self.data):
            raise UsageError(f"{path}: not a built site (no data/ folder)")
        self.m = Model()
        self.hidden = 0
        self.banded = 0
        self.optional = 0
        t = lambda name: read_csv(os.path.join(self.data, name))  # noqa: E731
        self.shared = t("shared-items.csv")
        self.exports = t("exports.csv")
        self.partners = t("partners.csv")
        self.findings = t("findings.csv")
        self.deletions = t("deletions.csv")
        # Older sites (before deletion requests could name an export and a reason) have none.
        self.by_export_deletions = t("deletions-by-export.csv")
        self.monthly = t("opt-outs-monthly.csv")
        self.scopes = t("opt-out-scopes.csv")
        self.totals = t("item-totals.csv")
        if not os.path.isfile(os.path.join(self.data, "shared-items.csv")):
            raise UsageError(f"{path}: not a built site (no data/shared-items.csv)")
        self.by_export = defaultdict(list)
        for r in self.shared:
            self.by_export[r["export"]].append(r)
        self.report = {}
        if os.path.isfile(report := os.path.join(self.data, "report.json")):
            with open(report, encoding="utf-8") as f:
                self.report = json.load(f)
        # An exact build (`--unsuppressed`) marks every row.
        self.exact = any("not_for_publication" in r for r in self.shared + self.exports)
        # With an opt-out ledger, opt-out-scopes lists every scope kind (with zeros); without one
        # it is empty. opt_outs_in_force and the monthly `active` depend on it.
        self.ledger = bool(self.scopes)
        self.cells = {}  # (file, key, column) -> term
        self.ident_of = {}  # unknown -> (file, key, column)

    # -- cells ---------------------------------------------------------------------------------

    def cell(self, file, row, key, column, optional=False):
        """The term for one count cell: a constant, or a new unknown (once per cell).

        `optional`: an empty cell may be a figure that does not exist, not a suppressed one."""
        ident = (file, tuple(key), column)
        if ident in self.cells:
            return self.cells[ident]
        text = (row.get(column) or "").strip()
        label = f"{file} [{key_text(key)}] {column}"
        if text == "":
            if optional:
                self.optional += 1
                # In an exact build nothing is suppressed: an empty optional cell does not exist,
                # and the relations count it as 0 (so that they are checked exactly).
                term = ("c", 0.0) if self.exact else self.m.var(label, 0.0, None, "optional")
            else:
                self.hidden += 1
                term = self.m.var(label, 1.0, None, "hidden")
        elif (b := BAND.match(text)) is not None:
            self.banded += 1
            term = self.m.var(label, float(b.group(1)), float(b.group(2)), "banded")
        else:
            try:
                term = ("c", float(int(text)))
            except ValueError:
                raise UsageError(f"{self.path}: {label}: `{text}` is not a count or band")
        self.cells[ident] = term
        if term[0] == "v":
            self.ident_of[term[1]] = ident
        return term

    def si(self, r, column):
        """A shared-items cell, or None when its column is not declared (no secret, no relation)."""
        undeclared = {c.strip() for c in (r.get("not_declared") or "").split(";") if c.strip()}
        if column in undeclared:
            return None
        key = [(k, r[k]) for k in ("partner", "export", "category", "year")]
        return self.cell("shared-items.csv", r, key, column, optional=(column == "opted_out"))

    def export_cell(self, r, column):
        optional = column in OWNER_COLUMNS or (column == "opt_outs_in_force" and not self.ledger)
        return self.cell("exports.csv", r, [("export", r["export"])], column, optional=optional)

    def partner_cell(self, r, column):
        optional = (column == "items_opted_out_now" or column in OWNER_COLUMNS
                    or (column == "opt_outs_in_force" and not self.ledger))
        return self.cell("partners.csv", r, [("partner", r["partner"])], column, optional=optional)

    def finding_key(self, f):
        return [(k, f.get(k, "")) for k in ("id", "partner", "export", "flag")]

    def by_export_cell(self, r, column):
        key = [(k, r[k]) for k in ("partner", "export", "reason")]
        return self.cell("deletions-by-export.csv", r, key, column)

    def deletion_cell(self, r, column):
        return self.cell("deletions.csv", r, [("partner", r["partner"]), ("month", r["month"])], column)

    # -- relations -----------------------------------------------------------------------------

    def relations(self):
        self.rel_shared_rows()
        self.rel_exports()
        self.rel_partners()
        self.rel_item_totals()
        self.rel_findings()
        self.rel_deletions()
        self.rel_deletions_by_export()
        self.rel_opt_outs_monthly()
        self.rel_scopes()
        # Site-level protections take part in no relation; their hidden cells are only counted.
        for r in read_csv(os.path.join(self.data, "protections-monthly.csv")):
            self.cell("protections-monthly.csv", r, [("month", r["month"]), ("setting", r["setting"])], "accounts")
        return self.m

    def rel_shared_rows(self):
        """shared-items: every flag and opted_out counts a subset of the row's items."""
        for r in self.shared:
            items = self.si(r, "items")
            for c in FLAGS + ["opted_out"]:
                if c in r and (x := self.si(r, c)) is not None:
                    self.m.le([x], [items], f"shared-items {c} <= items")

    def rows_of(self, export):
        return self.by_export.get(export, [])

    def rel_exports(self):
        """exports.items is the sum of the export's shared-items rows."""
        for e in self.exports:
            parts = [self.si(r, "items") for r in self.rows_of(e["export"])]
            self.m.eq([self.export_cell(e, "items")], parts, f"exports[{e['export']}].items = sum of rows")
            if "opt_outs_in_force" in e:
                self.export_cell(e, "opt_outs_in_force")
            self.rel_owners(e, self.export_cell, f"exports[{e['export']}]")

    def rel_owners(self, r, cell, label):
        """owners (distinct) <= items; owners_opted_out <= owners; for an export, owners_opted_out
        <= opt_outs_in_force (they are among the owners opted out then) and <= the opted-out items
        of its rows (each owns at least one). Returns the terms (None where there is no column)."""
        if "owners" not in r:
            return None, None
        owners = cell(r, "owners")
        self.m.le([owners], [cell(r, "items")], f"{label}.owners <= items")
        opted = None
        if "owners_opted_out" in r:
            opted = cell(r, "owners_opted_out")
            self.m.le([opted], [owners], f"{label}.owners_opted_out <= owners")
            if cell == self.export_cell:
                if "opt_outs_in_force" in r:
                    self.m.le([opted], [cell(r, "opt_outs_in_force")],
                              f"{label}.owners_opted_out <= opt_outs_in_force")
                rows = [self.si(x, "opted_out") for x in self.rows_of(r["export"])]
                if rows and all(x is not None for x in rows):
                    self.m.le([opted], rows, f"{label}.owners_opted_out <= opted-out items")
        return owners, opted

    def rel_partner_owners(self, p):
        """A partner's owners are the union of its exports' owners: at least each export's, at
        most their sum; the same for owners_opted_out."""
        pid = p["partner"]
        owners, opted = self.rel_owners(p, self.partner_cell, f"partners[{pid}]")
        mine = [e for e in self.exports if e["partner"] == pid]
        for column, whole in (("owners", owners), ("owners_opted_out", opted)):
            if whole is None or not mine or any(column not in e for e in mine):
                continue
            # The partner's figure exists when it is published, or when every export's is (an
            # export without a listing has none, and then neither has the partner).
            published = lambda r: (r.get(column) or "").strip() != ""
            if not (published(p) or all(published(e) for e in mine)):
                continue
            parts = [self.export_cell(e, column) for e in mine]
            self.m.le([whole], parts, f"partners[{pid}].{column} <= sum of exports")
            for e, part in zip(mine, parts):
                self.m.le([part], [whole], f"exports[{e['export']}].{column} <= partners[{pid}].{column}")

    def rel_partners(self):
        """partners.items is the sum of its exports; the site's total (report.json) the sum of the
        partners; deletion_items / deletion_requests (when published) the sums of deletions.csv;
        items_opted_out_now counts some of the partner's items."""
        for p in self.partners:
            pid = p["partner"]
            total = self.partner_cell(p, "items")
            exports = [self.export_cell(e, "items") for e in self.exports if e["partner"] == pid]
            self.m.eq([total], exports, f"partners[{pid}].items = sum of exports")
            if "items_opted_out_now" in p:
                self.m.le([self.partner_cell(p, "items_opted_out_now")], [total],
                          f"partners[{pid}].items_opted_out_now <= items")
            if "opt_outs_in_force" in p:
                self.partner_cell(p, "opt_outs_in_force")
            self.rel_partner_owners(p)
            mine = [d for d in self.deletions if d["partner"] == pid]
            if "deletion_items" in p:
                self.m.eq([self.partner_cell(p, "deletion_items")],
                          [self.deletion_cell(d, "items") for d in mine],
                          f"partners[{pid}].deletion_items = sum of deletions")
            if "deletion_requests" in p:
                self.m.eq([self.partner_cell(p, "deletion_requests")],
                          [("c", float(d["requests"])) for d in mine],
                          f"partners[{pid}].deletion_requests = sum of deletions")
        totals = self.report.get("totals") or {}
        if "items" in totals and self.partners:
            v = totals["items"]
            row = {"items": "" if v is None else str(v)}
            term = self.cell("report.json", row, [("totals", "")], "items")
            self.m.eq([term], [self.partner_cell(p, "items") for p in self.partners],
                      "report.json totals.items = sum of partners")

    def rel_item_totals(self):
        """item-totals.csv (newer builds): each row is the sum of the shared-items items over its
        key (partner, category, year; an empty key column is summed over)."""
        if not self.totals:
            return
        index = defaultdict(list)
        for r in self.shared:
            index[(r["partner"], r["category"], r["year"])].append(r)
        for t in self.totals:
            key = (t.get("partner", ""), t.get("category", ""), t.get("year", ""))
            parts = [
                self.si(r, "items")
                for k, rows in index.items()
                if all(want == "" or want == have for want, have in zip(key, k))
                for r in rows
            ]
            label_key = [("grouping", t.get("grouping", ""))] + list(zip(("partner", "category", "year"), key))
            cell = self.cell("item-totals.csv", t, label_key, "items")
            self.m.eq([cell], parts, f"item-totals[{key_text(label_key)}] = sum of shared-items")

    def rel_findings(self):
        """Findings: a sensitive-content-shared count is its flag's sum over the export's rows, an
        opted-out-content-shared count the sum of opted_out (and a missing finding means a sum of
        0: findings are made for every non-zero sum); opt-out-not-honoured counts the partner's
        items; outside-content-window lies between the items of whole years outside the window
        and those of years touching it (equal to the former for declared counts); a
        deletion-overdue finding's "covering N items" is the sum of the partner's items_overdue."""
        seen = set()
        for f in self.findings:
            kind, export, flag, pid = f["id"], f.get("export", ""), f.get("flag", ""), f.get("partner", "")
            key = self.finding_key(f)
            count = self.cell("findings.csv", f, key, "count") if kind in ITEM_FINDINGS else None
            rows = self.rows_of(export) if export else []
            label = f"findings[{key_text(key)}]"
            if kind == "sensitive-content-shared" and flag in FLAGS:
                seen.add((export, flag))
                self.m.eq([count], [self.si(r, flag) for r in rows], f"{label} = sum of {flag}")
            elif kind == "opted-out-content-shared":
                seen.add((export, "opted_out"))
                self.m.eq([count], [self.si(r, "opted_out") for r in rows if "opted_out" in r],
                          f"{label} = sum of opted_out")
            elif kind == "opt-out-not-honoured":
                seen.add((pid, "not-honoured"))
                for p in self.partners:
                    if p["partner"] == pid:
                        self.m.eq([count], [self.partner_cell(p, "items")], f"{label} = partner items")
            elif kind == "outside-content-window":
                self.outside_window(f, count, rows, label)
            elif kind == "deletion-overdue":
                self.overdue(f, key, pid, label)
            elif kind == "declared-count-mismatch":
                self.mismatch(f, key, export, label)
        # No finding: the sum is 0.
        for e in self.exports:
            rows = self.rows_of(e["export"])
            for c in FLAGS + ["opted_out"]:
                if (e["export"], c) not in seen and rows and c in rows[0]:
                    self.m.eq([self.si(r, c) for r in rows], [], f"no finding for {e['export']} {c}: sum 0")
        for p in self.partners:
            if p.get("honours_opt_out") in ("no", "unknown") and (p["partner"], "not-honoured") not in seen:
                self.m.eq([self.partner_cell(p, "items")], [], f"no opt-out-not-honoured for {p['partner']}: 0 items")

    def outside_window(self, f, count, rows, label):
        """Bounds for outside-content-window, from the window in the (English) sentence."""
        m = re.search(r"content window \(([^)]*)\)", f.get("message", ""))
        if not m:
            return
        text = m.group(1)
        dates = [date(int(y), MONTHS[mo], int(d)) for mo, d, y in re.findall(EN_DATE, text)]
        if re.fullmatch(f"{EN_DATE} to {EN_DATE}", text) and len(dates) == 2:
            lo, hi = dates
        elif re.fullmatch(f"from {EN_DATE}", text) and len(dates) == 1:
            lo, hi = dates[0], None
        elif re.fullmatch(f"up to {EN_DATE}", text) and len(dates) == 1:
            lo, hi = None, dates[0]
        else:
            return

        def whole(y):  # every item of year y is outside the window
            return (lo is not None and y < lo.year) or (hi is not None and y > hi.year)

        def touches(y):  # some items of year y may be outside
            return whole(y) or (lo is not None and y == lo.year and (lo.month, lo.day) != (1, 1)) or (
                hi is not None and y == hi.year and (hi.month, hi.day) != (12, 31))

        inside = [self.si(r, "items") for r in rows if whole(int(r["year"]))]
        around = [self.si(r, "items") for r in rows if touches(int(r["year"]))]
        if "judging by the years of its declared counts" in f["message"]:
            self.m.eq([count], inside, f"{label} = items of years outside the window")
        else:
            self.m.le(inside, [count], f"{label} >= items of years outside the window")
            self.m.le([count], around, f"{label} <= items of years touching the window")

    def mismatch(self, f, key, export, label):
        """declared-count-mismatch: its (English) sentence gives the declared total beside the
        export's total, and how they compare: the same total, or N more or fewer."""
        msg = f.get("message", "")
        m = re.search(r"declares (\d[\d,]*|a suppressed number of) items?, the listing holds "
                      r"(\d[\d,]*|a suppressed number of) items? \(([^)]*)\)", msg)
        if m is None:
            return
        text = "" if m.group(1).startswith("a ") else m.group(1).replace(",", "")
        declared = self.cell("findings.csv", {"declared items": text}, key, "declared items")
        listed = [self.export_cell(e, "items") for e in self.exports if e["export"] == export]
        if not listed:
            return
        diff = m.group(3)
        if diff.startswith("the same total"):
            self.m.eq([declared], listed, f"{label} declared = listed")
        elif (d := re.match(r"(\d[\d,]*) items? more than declared", diff)) is not None:
            self.m.eq(listed, [declared, ("c", float(d.group(1).replace(",", "")))],
                      f"{label} listed = declared + difference")
        elif (d := re.match(r"(\d[\d,]*) items? fewer than declared", diff)) is not None:
            self.m.eq([declared], listed + [("c", float(d.group(1).replace(",", "")))],
                      f"{label} declared = listed + difference")

    def overdue(self, f, key, pid, label):
        """deletion-overdue: requests = sum of requests_overdue; "covering N items" = items_overdue."""
        mine = [d for d in self.deletions if d["partner"] == pid]
        self.m.eq([("c", float(f["count"]))], [("c", float(d["requests_overdue"])) for d in mine],
                  f"{label} requests = sum of requests_overdue")
        msg = f.get("message", "")
        if (m := re.search(r"covering (\d[\d,]*) items?\b", msg)) is not None:
            text = m.group(1).replace(",", "")
        elif "covering a suppressed number of items" in msg:
            text = ""
        else:
            return
        items = self.cell("findings.csv", {"message items": text}, key, "message items")
        self.m.eq([items], [self.deletion_cell(d, "items_overdue") for d in mine],
                  f"{label} items = sum of items_overdue")

    def rel_deletions(self):
        """deletions.csv, per row: the items of acknowledged, completed and overdue requests are
        parts of the row's items, all of them when every request has that status, none when no
        request has. Overdue requests are those completed late (a part of the completed ones) and
        those still open past the deadline (a part of the open ones): items_overdue = L + P with
        0 <= L <= items_completed and 0 <= P <= items - items_completed, each all or nothing by the
        request counts. Not used: items_completed <= items_acknowledged (a request may be
        completed without being acknowledged) and items >= requests (a request may cover 0 items)."""
        for d in self.deletions:
            lab = f"deletions[{d['partner']} {d['month']}]"
            n = {c: int(d[c]) for c in d if c.startswith("requests")}
            items = self.deletion_cell(d, "items")
            cell = {x: self.deletion_cell(d, f"items_{x}") for x in ("acknowledged", "completed", "overdue")}
            for x, term in cell.items():
                self.m.le([term], [items], f"{lab} items_{x} <= items")
                if n[f"requests_{x}"] == n["requests"]:
                    self.m.eq([term], [items], f"{lab} items_{x} = items (all requests)")
                if n[f"requests_{x}"] == 0:
                    self.m.eq([term], [], f"{lab} items_{x} = 0 (no requests)")
            late_n = n["requests_completed_late"]
            open_n = n["requests_open"]
            open_overdue_n = n["requests_overdue"] - late_n
            self.m.eq([("c", float(open_n))], [("c", float(n["requests"])), (-1.0, ("c", float(n["requests_completed"])))],
                      f"{lab} requests_open = requests - requests_completed")
            late = self.m.var(f"{lab} items completed late", 0.0, None, "aux")
            open_over = self.m.var(f"{lab} items open past the deadline", 0.0, None, "aux")
            done = cell["completed"]
            self.m.eq([cell["overdue"]], [late, open_over], f"{lab} items_overdue = late + open overdue")
            self.m.le([late], [done], f"{lab} late items <= items_completed")
            self.m.le([open_over, done], [items], f"{lab} open overdue items <= items - items_completed")
            if late_n == 0:
                self.m.eq([late], [], f"{lab} no late requests")
            if late_n == n["requests_completed"]:
                self.m.eq([late], [done], f"{lab} every completed request late")
            if open_overdue_n == 0:
                self.m.eq([open_over], [], f"{lab} no open overdue requests")
            if open_overdue_n == open_n:
                self.m.eq([open_over, done], [items], f"{lab} every open request overdue")

    def rel_deletions_by_export(self):
        """deletions-by-export.csv groups the same requests as deletions.csv by (export, reason):
        per partner, its items add up to the same total as the months'."""
        for pid in sorted({d["partner"] for d in self.by_export_deletions}):
            groups = [d for d in self.by_export_deletions if d["partner"] == pid]
            months = [d for d in self.deletions if d["partner"] == pid]
            self.m.eq([self.by_export_cell(d, "items") for d in groups],
                      [self.deletion_cell(d, "items") for d in months],
                      f"deletions-by-export[{pid}] sum of items = deletions")

    def rel_opt_outs_monthly(self):
        """opt-outs-monthly: the signal columns split opted_out (when the source has signals).
        From monthly.csv alone (no ledger) active is the running balance: active(m) =
        active(m-1) + opted_out(m) - withdrawn(m), from 0 before the first row. From a ledger,
        active counts distinct owners, so an opt-out adds at most one and a withdrawal removes at
        most one: -withdrawn(m) <= active(m) - active(m-1) <= opted_out(m)."""
        if not self.monthly:
            return
        with_signals = any((r.get(f"opted_out_{s}") or "") != "" for r in self.monthly for s in SIGNALS)
        prev = None
        for r in self.monthly:
            key = [("month", r["month"])]
            c = lambda col, opt=False: self.cell("opt-outs-monthly.csv", r, key, col, optional=opt)  # noqa: E731
            opted, withdrawn, active = c("opted_out"), c("withdrawn"), c("active")
            if "accounts" in r:
                c("accounts", True)
            lab = f"opt-outs-monthly[{r['month']}]"
            if with_signals:
                sig = [c(f"opted_out_{s}") for s in SIGNALS if f"opted_out_{s}" in r]
                self.m.eq([opted], sig, f"{lab} opted_out = sum of signals")
            before = [prev] if prev is not None else []
            if self.ledger:
                self.m.le([active], before + [opted], f"{lab} active <= previous + opted_out")
                self.m.le(before, [active, withdrawn], f"{lab} active >= previous - withdrawn")
            else:
                self.m.eq([active, withdrawn], before + [opted], f"{lab} running balance")
            prev = active

    def rel_scopes(self):
        """Opt-outs in force for a partner at the report's date are the owners with an active
        opt-out of a scope covering it: all-third-parties, ai-training (when its purposes include
        ai-training) and its own. So each scope's count <= in force <= their sum."""
        if not self.scopes:
            return
        scope = {}
        for r in self.scopes:
            key = [("scope", r["scope"]), ("partner", r.get("partner", ""))]
            scope[(r["scope"], r.get("partner", ""))] = self.cell("opt-out-scopes.csv", r, key, "active")
        for p in self.partners:
            if "opt_outs_in_force" not in p:
                continue
            pid = p["partner"]
            parts = [scope.get(("all-third-parties", "")), scope.get(("partner", pid))]
            if "ai-training" in (p.get("purposes") or "").split(";"):
                parts.append(scope.get(("ai-training", "")))
            parts = [x for x in parts if x is not None]
            force = self.partner_cell(p, "opt_outs_in_force")
            self.m.le([force], parts, f"partners[{pid}].opt_outs_in_force <= sum of covering scopes")
            for x in parts:
                self.m.le([x], [force], f"partners[{pid}].opt_outs_in_force >= a covering scope")
        # With a ledger, the monthly table's last `active` counts the owners with any opt-out in
        # force at its end, which no later event changes before the report's date: each scope's
        # owners, and each partner's opt-outs in force, are among them, and they are all in
        # some scope.
        if not (self.ledger and self.monthly):
            return
        last = self.monthly[-1]
        active = self.cell("opt-outs-monthly.csv", last, [("month", last["month"])], "active")
        self.m.le([active], list(scope.values()), "last month's active <= sum of scopes")
        for x in scope.values():
            self.m.le([x], [active], "a scope's count <= last month's active")
        for p in self.partners:
            if "opt_outs_in_force" in p:
                self.m.le([self.partner_cell(p, "opt_outs_in_force")], [active],
                          f"partners[{p['partner']}].opt_outs_in_force <= last month's active")


# --------------------------------------------------------------------------------------------
# Solving
# --------------------------------------------------------------------------------------------


def components(model):
    """The component (a representative unknown) of every unknown in a constraint (union-find)."""
    parent = list(range(len(model.vars)))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for c in model.constraints:
        ids = list(c.coefs)
        for j in ids[1:]:
            a, b = find(ids[0]), find(j)
            if a != b:
                parent[a] = b
    used = sorted({i for c in model.constraints for i in c.coefs})
    return {i: find(i) for i in used}


class Infeasible(Exception):
    pass


class Program:
    """The linear program of all the unknowns that are in some relation.

    Components (unknowns linked by relations) are independent, so one LP whose objective is a sum
    over components optimises each of them at once: batches of LPs cost one solve. Every LP here
    has a bounded objective: all unknowns are >= 0, and objectives that push up are capped."""

    def __init__(self, model):
        self.comp = components(model)
        self.ids = list(self.comp)  # column -> unknown
        col = {v: k for k, v in enumerate(self.ids)}
        self.n = len(self.ids)
        self.rows = {}
        for eq in (True, False):
            data, ri, ci, rhs = [], [], [], []
            for c in model.constraints:
                if c.eq != eq:
                    continue
                for v, a in c.coefs.items():
                    data.append(a)
                    ri.append(len(rhs))
                    ci.append(col[v])
                rhs.append(-c.const)
            self.rows[eq] = (np.array(data), np.array(ri, dtype=int), np.array(ci, dtype=int), np.array(rhs))
        self.lb = np.array([model.vars[v].lb for v in self.ids])
        self.ub = np.array([np.inf if model.vars[v].ub is None else model.vars[v].ub for v in self.ids])

    def matrix(self, eq, extra=0, rhs_scale=1.0):
        data, ri, ci, rhs = self.rows[eq]
        if len(rhs) == 0:
            return None, None
        return csr_matrix((data, (ri, ci)), shape=(len(rhs), self.n + extra)), rhs * rhs_scale

    def solve(self, c, extra_ub=None, extra_bounds=None, cone=False):
        """min c.x over the unknowns (plus extra columns and <= rows), or over the recession cone
        (`cone`: right-hand sides 0, unknowns with an upper bound fixed at 0)."""
        k = 0 if extra_bounds is None else len(extra_bounds)
        scale = 0.0 if cone else 1.0
        a_eq, b_eq = self.matrix(True, k, scale)
        a_ub, b_ub = self.matrix(False, k, scale)
        if extra_ub is not None:
            a, b = extra_ub
            a_ub = a if a_ub is None else vstack([a_ub, a]).tocsr()
            b_ub = b if b_ub is None else np.concatenate([b_ub, b])
        if cone:
            bounds = np.column_stack([np.zeros(self.n), np.where(np.isinf(self.ub), np.inf, 0.0)])
        else:
            bounds = np.column_stack([self.lb, self.ub])
        if k:
            bounds = np.vstack([bounds, np.array(extra_bounds, dtype=float)])
        bounds = [(lo, None if np.isinf(hi) else hi) for lo, hi in bounds]
        return linprog(c, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")

    def capped(self, cols, target, sign, cone=False):
        """max sum(y) with y_j <= 1 and y_j <= sign * (x_i - target_j) for i = cols[j]."""
        k = len(cols)
        link = csr_matrix(
            (np.concatenate([np.ones(k), np.full(k, -sign)]),
             (np.tile(np.arange(k), 2), np.concatenate([self.n + np.arange(k), cols]))),
            shape=(k, self.n + k))
        c = np.concatenate([np.zeros(self.n), -np.ones(k)])
        return self.solve(c, (link, -sign * np.asarray(target, dtype=float)),
                          [(0.0 if cone else None, 1.0)] * k, cone)


def ranges(model, seed=0):
    """The feasible [min, max] of every unknown in a relation (max inf when unbounded), or, for an
    unknown shown to take two different integers, the range of the values seen: var ->
    (min, max, solved).

    Two LPs per unknown would be slow, so the candidates are narrowed first:
    1. one LP over the recession cone finds every unknown that is unbounded above (a direction
       d >= 0 keeping every relation, with d_i > 0; maximising sum(min(d_i, 1)) finds all at once);
    2. "step" LPs ask every undecided unknown at once to move one integer beyond the values seen
       (maximise sum(y), y_i <= 1, y_i <= x_i - ceil(lo_i) up, or y_i <= floor(hi_i) - x_i down);
       an unknown seen at values spanning two integers is not disclosed;
    3. the rest get their min and max, one unknown per component in each LP."""
    prog = Program(model)
    n = prog.n
    if n == 0:
        return {}
    lo_seen = np.full(n, np.inf)
    hi_seen = np.full(n, -np.inf)
    lo_true = np.full(n, np.nan)
    hi_true = np.full(n, np.nan)

    def see(res):
        np.minimum(lo_seen, res.x[:n], out=lo_seen)
        np.maximum(hi_seen, res.x[:n], out=hi_seen)

    def ok(res):
        if res.status != 0:
            raise RuntimeError(f"LP failed: {res.message}")
        return res

    first = prog.solve(np.random.default_rng(seed).uniform(0.5, 1.5, n))
    if first.status == 2:
        raise Infeasible(infeasible_relations(model, prog))
    see(ok(first))
    # 1. Unbounded above: not disclosed.
    cone = ok(prog.capped(np.arange(n), np.zeros(n), 1.0, cone=True))
    unbounded = cone.x[n:] > 0.5
    hi_true[unbounded] = np.inf

    def undecided():
        two = np.floor(hi_seen + 1e-7) - np.ceil(lo_seen - 1e-7) >= 1
        return np.flatnonzero(~two & ~unbounded)

    # 2. Steps.
    cand = undecided()
    for _ in range(20):
        before = len(cand)
        for up in (True, False):
            if len(cand) == 0:
                break
            target = np.ceil(lo_seen[cand] - 1e-7) if up else np.floor(hi_seen[cand] + 1e-7)
            see(ok(prog.capped(cand, target, 1.0 if up else -1.0)))
            cand = undecided()
        if before - len(cand) <= max(2, before // 20):  # little progress: go to step 3
            break
    # 3. Min and max, batched over components.
    for sign, true in ((1.0, lo_true), (-1.0, hi_true)):
        while True:
            todo = [i for i in undecided() if np.isnan(true[i])]
            if not todo:
                break
            batch = {}
            for i in todo:
                batch.setdefault(prog.comp[prog.ids[i]], i)
            cols = np.array(list(batch.values()))
            c = np.zeros(n)
            c[cols] = sign
            res = ok(prog.solve(c))
            see(res)
            true[cols] = res.x[cols]
    out = {}
    for i, v in enumerate(prog.ids):
        if not np.isnan(lo_true[i]) and not np.isnan(hi_true[i]):
            out[v] = (lo_true[i], hi_true[i], True)
        else:
            out[v] = (lo_seen[i], np.inf if unbounded[i] else hi_seen[i], False)
    return out


def infeasible_relations(model, prog):
    """Names of the relations of the components that have no solution, for the error message."""
    names = set()
    by_comp = defaultdict(list)
    for k, c in enumerate(model.constraints):
        by_comp[prog.comp[next(iter(c.coefs))]].append(k)
    for ks in by_comp.values():
        sub = Model(vars=model.vars, constraints=[model.constraints[k] for k in ks])
        p = Program(sub)
        if p.solve(np.ones(p.n)).status == 2:
            names.update(re.sub(r"\[[^\]]*\]", "", model.constraints[k].label) for k in ks)
    return sorted(names)[:8]


def single_value(lo, hi):
    """The one integer in [lo, hi], or None. This includes the |max - min| < 0.5 test: every
    count is an integer, so a range holding one integer gives it away."""
    if math.isinf(hi):
        return None
    eps = 1e-6 + 1e-9 * abs(hi)
    a, b = math.ceil(lo - eps), math.floor(hi + eps)
    return a if a == b else None


def audit(path, verbose=False, truth=None):
    """Audits one site; returns (summary line, detail line, disclosure lines, problems).

    `truth`: the exact (--unsuppressed) build of the same root; every disclosed value is compared
    with it, and one that differs is a problem (the audit's model would be wrong)."""
    site = Site(path)
    model = site.relations()
    problems = [f"relation fails on published numbers: {v}" for v in model.violations]
    disclosed = []
    try:
        found = ranges(model)
    except Infeasible as e:
        found = {}
        problems.append(f"no values satisfy these relations together: {'; '.join(e.args[0])}")
    in_relation = set(found)
    for i, v in enumerate(model.vars):
        if v.kind == "aux":
            continue
        lo, hi, solved = found.get(i, (v.lb, v.ub if v.ub is not None else math.inf, True))
        value = single_value(lo, hi) if solved else None  # else: seen at two integers, or unbounded
        if verbose and (i in in_relation or v.kind == "banded"):
            span = "feasible range" if solved else "spans at least"
            print(f"  {v.label} [{v.kind}]: {span} {lo + 0.0:.6g} .. {hi + 0.0:.6g}")
        if value is None:
            continue
        # A pinned 0 is no secret: zero is always published (banded zeros included), and a
        # cell of an optional column that is 0 may simply not exist.
        if value == 0 and v.kind in ("banded", "optional"):
            continue
        line = f"DISCLOSED {v.label} = {value} ({v.kind})"
        if truth is not None:
            true = truth.cells.get(site.ident_of.get(i))
            if true is None or true[0] != "c":
                problems.append(f"{v.label}: no exact value in {truth.path}")
            elif abs(true[1] - value) > 1e-6:
                problems.append(f"FALSE DISCLOSURE {v.label} = {value}, exact build says {true[1]:g}")
            else:
                line += " [matches the exact build]"
        disclosed.append(line)
    summary = (f"{path}: {site.hidden} hidden cells, {site.banded} banded, {model.relations} relations, "
               f"{len(disclosed)} disclosed")
    optional = "as 0 (exact build)" if site.exact else "as unknowns >= 0"
    detail = (f"  ({site.optional} empty cells of optional columns {optional}; "
              f"{model.checked} relations between published numbers checked)")
    return summary, detail, disclosed, problems


def main(argv):
    ap = argparse.ArgumentParser(
        prog="audit.py",
        description="Works out hidden counts of built sharelog sites by linear programming.")
    ap.add_argument("sites", nargs="+", metavar="SITE", help="a built site (the folder with data/)")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every unknown's range")
    truth = ap.add_mutually_exclusive_group()
    truth.add_argument("--truth", metavar="EXACT_SITE",
                       help="the exact (--unsuppressed) build of the one SITE: disclosed values are "
                            "compared with it, and a value that differs is a model error")
    truth.add_argument("--truth-suffix", metavar="SUFFIX",
                       help="the same for every SITE, whose exact build is SITE + SUFFIX")
    a = ap.parse_args(argv)
    if a.truth is not None and len(a.sites) != 1:
        ap.error("--truth takes one SITE; use --truth-suffix for several")
    status = 0
    for path in a.sites:
        try:
            truth = None
            exact = a.truth or (path.rstrip("/") + a.truth_suffix if a.truth_suffix else None)
            if exact is not None:
                truth = Site(exact)
                truth.relations()
            summary, detail, disclosed, problems = audit(path, a.verbose, truth)
        except UsageError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        for line in disclosed:
            print(f"{path}: {line}")
        for p in problems:
            print(f"{path}: MODEL ERROR: {p}")
        print(summary)
        print(detail)
        if problems:
            status = 3
        elif disclosed and status == 0:
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
