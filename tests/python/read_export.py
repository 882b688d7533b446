#!/usr/bin/env python3
"""Read an export directory the way a hackathon analyst would and print what
each reader sees as JSON, for the Rust tests to compare with what they stored.

usage: read_export.py DIR COLUMN...
  DIR holds interviews.parquet, interviews.csv (either or both) and dictionary.csv.
  Prints {"pandas_parquet": [...], "pandas_csv": [...], "duckdb_parquet": [...],
          "duckdb_versions": {form_version: rows}, "dictionary": {column: versions}}
  where each list holds one {column: value} record per row (only COLUMNs and
  interview_id), sorted by interview_id; missing values are null.
"""
import json
import math
import sys
from pathlib import Path

import duckdb
import pandas as pd

d = Path(sys.argv[1])
wanted = ["interview_id"] + [c for c in sys.argv[2:] if c != "interview_id"]


def plain(v):
    if v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if v is pd.NA or v is pd.NaT:
        return None
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def records(df):
    missing = [c for c in wanted if c not in df.columns]
    if missing:
        raise SystemExit(f"columns missing from the export: {missing}")
    df = df[wanted].sort_values("interview_id")
    return [{c: plain(v) for c, v in r.items()} for r in df.to_dict("records")]


out = {}
parquet = d / "interviews.parquet"
csv = d / "interviews.csv"
if parquet.exists():
    out["pandas_parquet"] = records(pd.read_parquet(parquet))
    con = duckdb.connect()
    cols = ", ".join(f'"{c}"' for c in wanted)
    rows = con.execute(
        f"SELECT {cols} FROM read_parquet(?) ORDER BY interview_id", [str(parquet)]
    ).fetchall()
    out["duckdb_parquet"] = [{c: plain(v) for c, v in zip(wanted, r)} for r in rows]
    out["duckdb_versions"] = {
        str(v): n
        for v, n in con.execute(
            "SELECT form_version, count(*) FROM read_parquet(?) GROUP BY 1 ORDER BY 1",
            [str(parquet)],
        ).fetchall()
    }
if csv.exists():
    out["pandas_csv"] = records(pd.read_csv(csv, keep_default_na=False, na_values=[""]))
dictionary = pd.read_csv(d / "dictionary.csv", keep_default_na=False)
out["dictionary"] = dict(zip(dictionary["column"], dictionary["versions"]))
print(json.dumps(out, ensure_ascii=False))
