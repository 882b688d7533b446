#!/usr/bin/env python3
"""Read the repeat tables of fieldvoice exports back with real readers.

usage: check_repeats.py EXPECTED.json EXPORT_ROOT

EXPECTED.json lists the exported interviews with their repeat instances as
the store holds them ({"interviews": [{"interview_id", "total", "members":
[{...}], "visits": [{...}]}]}), written by tests/tests/exports.rs; EXPORT_ROOT
holds one directory per format (csv, parquet, xlsx, jsonl) made by
`fieldvoice-server export`. What an analyst does: join each repeat table to
the interviews on interview_id (pandas, DuckDB), open the XLSX sheets
(openpyxl), walk the nested JSON Lines arrays. Exits non-zero on the first
mismatch.
"""
import csv
import json
import sys
from pathlib import Path

from checking import Checks

import duckdb
import openpyxl
import pandas as pd
import pyarrow.parquet as pq

expected = json.loads(Path(sys.argv[1]).read_text())
root = Path(sys.argv[2])
check = Checks()
REPEATS = ["members", "visits"]
by_id = {i["interview_id"]: i for i in expected["interviews"]}
ids = sorted(by_id)


def instances(rep):
    """(interview_id, instance, row) of every expected instance, in order."""
    out = []
    for i in ids:
        for n, row in enumerate(by_id[i][rep], start=1):
            out.append((i, n, row))
    return out


def same(a, b):
    if a is None or (isinstance(a, float) and a != a):
        return b is None
    if isinstance(b, float) or isinstance(a, float):
        return abs(float(a) - float(b)) < 1e-9
    return a == b


def check_frame(df, rep, fmt):
    want = instances(rep)
    check(len(df) == len(want), f"{fmt} {rep}: {len(df)} rows, want {len(want)}")
    df = df.sort_values(["interview_id", "instance"]).reset_index(drop=True)
    for k, (i, n, row) in enumerate(want):
        got = df.iloc[k]
        check(got["interview_id"] == i and int(got["instance"]) == n, f"{fmt} {rep} key {k}")
        for col, v in row.items():
            cell = got[col]
            cell = None if pd.isna(cell) else cell
            check(same(cell, v), f"{fmt} {rep} {i}#{n} {col}: {cell!r} != {v!r}")


def check_dictionary(d):
    with open(d / "dictionary.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    tables = {r["table"] for r in rows}
    check(tables == {"interviews", "repeat_members", "repeat_visits"}, f"{d.name}: dictionary tables {tables}")
    members = [r["column"] for r in rows if r["table"] == "repeat_members"]
    check(members[:2] == ["interview_id", "instance"], f"{d.name}: repeat key columns {members[:2]}")
    check("member_age" in members and "member_age" not in [r["column"] for r in rows if r["table"] == "interviews"],
          f"{d.name}: member_age belongs to the members table")
    meta = json.loads((d / "dictionary.json").read_text())
    check([t["name"] for t in meta["tables"]] == ["interviews", "repeat_members", "repeat_visits"], "dictionary.json tables")


# --- CSV: pandas merge -----------------------------------------------------------
d = root / "csv"
interviews = pd.read_csv(d / "interviews.csv", dtype={"interview_id": str})
check(sorted(interviews["interview_id"]) == ids, "csv interviews")
for rep in REPEATS:
    df = pd.read_csv(d / f"repeat_{rep}.csv", dtype={"interview_id": str})
    check_frame(df, rep, "csv")
    joined = df.merge(interviews[["interview_id", "country"]], on="interview_id", how="left")
    check(joined["country"].notna().all(), f"csv {rep}: every instance joins an interview")
check_dictionary(d)
manifest = json.loads((d / "manifest.json").read_text())
names = {f["name"] for f in manifest["files"]}
check({"repeat_members.csv", "repeat_visits.csv"} <= names, f"csv manifest files {names}")

# --- Parquet: pyarrow types, pandas, DuckDB join -----------------------------------
d = root / "parquet"
schema = pq.read_schema(d / "repeat_members.parquet")
check(str(schema.field("instance").type) == "int64", "parquet instance is int64")
check(str(schema.field("member_age").type) == "int64", "parquet member_age is int64")
check("spent" not in schema.names and "hh_size" not in schema.names,
      "the members table holds only the members' questions")
for rep in REPEATS:
    check_frame(pd.read_parquet(d / f"repeat_{rep}.parquet"), rep, "parquet")
con = duckdb.connect()
counts = dict(con.execute(
    "SELECT i.interview_id, count(m.instance) FROM read_parquet(?) i "
    "LEFT JOIN read_parquet(?) m USING (interview_id) GROUP BY 1",
    [str(d / "interviews.parquet"), str(d / "repeat_members.parquet")],
).fetchall())
check(counts == {i: len(by_id[i]["members"]) for i in ids}, f"duckdb members per interview {counts}")
check_dictionary(d)

# --- XLSX: one sheet per table -----------------------------------------------------
d = root / "xlsx"
wb = openpyxl.load_workbook(d / "interviews.xlsx", read_only=True)
check(wb.sheetnames == ["interviews", "repeat_members", "repeat_visits", "dictionary"], f"xlsx sheets {wb.sheetnames}")
for rep in REPEATS:
    rows = list(wb[f"repeat_{rep}"].iter_rows(values_only=True))
    header, body = rows[0], rows[1:]
    df = pd.DataFrame(body, columns=header)
    check_frame(df, rep, "xlsx")
dict_rows = list(wb["dictionary"].iter_rows(values_only=True))
check(dict_rows[0][-1] == "table", "xlsx dictionary has the table column")

# --- JSON Lines: instances nested in their interview ----------------------------
d = root / "jsonl"
objs = [json.loads(l) for l in (d / "interviews.jsonl").read_text().splitlines() if l.strip()]
check(sorted(o["interview_id"] for o in objs) == ids, "jsonl interviews")
for o in objs:
    want = by_id[o["interview_id"]]
    for rep in REPEATS:
        got = o[rep]
        check(len(got) == len(want[rep]), f"jsonl {rep} count")
        for n, (g, w) in enumerate(zip(got, want[rep]), start=1):
            check(g["instance"] == n and "interview_id" not in g, f"jsonl {rep} instance {n}")
            for col, v in w.items():
                check(same(g.get(col), v), f"jsonl {rep} {col}: {g.get(col)!r} != {v!r}")
check(all(o["total"] == by_id[o["interview_id"]]["total"] for o in objs), "jsonl calculated total")

print(f"repeat tables: {check.count} checks passed")
