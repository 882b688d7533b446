#!/usr/bin/env python3
"""Read every fieldvoice export back with real readers and compare with the store.

usage: check_exports.py EXPECTED.json EXPORT_ROOT

EXPECTED.json is the store's content (every interview with its raw answers and
log seq) written by tests/tests/exports.rs; EXPORT_ROOT holds one directory per
export made by `fieldvoice-server export` (csv, parquet, xlsx, jsonl, geojson,
pseudo-csv, pseudo-parquet, raw). Readers: pandas and DuckDB for CSV and
Parquet, pyarrow for Parquet types, openpyxl for XLSX, json for JSONL/GeoJSON.
Exits non-zero with a message on the first mismatch.
"""
import csv
import datetime
import json
import math
import sys
from pathlib import Path

from checking import Checks

import duckdb
import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

expected = json.loads(Path(sys.argv[1]).read_text())
root = Path(sys.argv[2])
PII = expected["pii_questions"]

# The consent rule: only interviews whose consent answer is true are exported.
store = expected["interviews"]
kept = {r["interview_id"]: r for r in store if r["answers"].get("consent") is True}
dropped = {r["interview_id"] for r in store if r["answers"].get("consent") is not True}
assert dropped, "the seed must hold an interview without consent"
ids = sorted(kept)
check = Checks()


def ans(iid, q):
    return kept[iid]["answers"].get(q)


def no_pii(columns, where):
    for q in PII:
        check(not any(c == q or c.startswith(q + "_") for c in columns), f"{where}: PII column {q} present")


def restore(cell):
    """The value of a CSV text cell: drops the one ' the export's formula guard
    adds in front of text starting (after any quotes) with = + - @ tab or CR."""
    if isinstance(cell, str) and cell.startswith("'") and cell[1:].lstrip("'")[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return cell[1:]
    return cell


def close(a, b):
    return a is not None and b is not None and math.isclose(float(a), float(b), rel_tol=0, abs_tol=1e-9)


def dictionary_covers(d, columns):
    with open(d / "dictionary.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    names = [r["column"] for r in rows]
    check(names == list(columns), f"{d.name}: dictionary columns differ from data columns")
    seg = next(r for r in rows if r["column"] == "segment")
    check("individual=" in seg["options"], f"{d.name}: options with labels in dictionary")
    meta = json.loads((d / "manifest.json").read_text())
    check(meta["rows"] == len(kept), f"{d.name}: manifest rows")
    check({f["name"] for f in meta["files"]} >= {"dictionary.csv", "dictionary.json"}, "manifest files")
    return rows


# --- CSV: pandas and DuckDB ---------------------------------------------------
d = root / "csv"
df = pd.read_csv(d / "interviews.csv", dtype={"interview_id": str}, keep_default_na=True)
check(len(df) == len(kept), f"csv rows {len(df)} != {len(kept)}")
check(sorted(df["interview_id"]) == ids, "csv interview ids")
check(list(df["interview_id"]) == ids, "csv rows in interview_id order")
check(not (set(df["interview_id"]) & dropped), "csv holds an interview without consent")
no_pii(df.columns, "csv")
check(list(df.columns[:15]) == ["interview_id", "country", "campaign", "form_id", "form_version",
                                 "created_by", "device_id", "created_at", "status", "submitted_at",
                                 "review_state", "reviewed_by", "reviewed_at", "tags", "comment_count"],
      f"csv key columns {list(df.columns[:15])}")
rows = dictionary_covers(d, df.columns)
labels = {r["column"]: r["label"] for r in rows}
check(labels["nps"].startswith("Sur une échelle"), "dictionary labels in French (--lang fr)")
for _, r in df.iterrows():
    iid = r["interview_id"]
    check(r["country"] == kept[iid]["country"], "csv country")
    check(int(r["nps"]) == ans(iid, "nps"), f"csv nps of {iid}")
    check(int(r["consent"]) == 1, "csv consent is 1")
    for opt in ["mobile_voice", "mobile_data", "mobile_money", "home_internet"]:
        want = 1 if opt in (ans(iid, "services_used") or []) else 0
        check(int(r[f"services_used__{opt}"]) == want, f"csv multi-choice flag {opt}")
    loc = ans(iid, "location")
    check(close(r["location_lat"], loc["lat"]) and close(r["location_lon"], loc["lon"]), "csv geopoint")
    if loc.get("accuracy") is None:
        check(pd.isna(r["location_accuracy"]), "csv empty accuracy")
    check(r["verbatim"] == ans(iid, "verbatim"), "csv verbatim text (UTF-8)")
    check(r["interview_date"] == ans(iid, "interview_date"), "csv date")

con = duckdb.connect()
n, s, mx = con.execute(
    f"SELECT count(*), sum(nps), max(location_lat) FROM read_csv_auto('{d / 'interviews.csv'}', header=true)"
).fetchone()
check(n == len(kept), "duckdb csv count")
check(s == sum(ans(i, "nps") for i in ids), "duckdb csv sum(nps)")
check(close(mx, max(ans(i, "location")["lat"] for i in ids)), "duckdb csv max(lat)")
by_country = dict(con.execute(
    f"SELECT country, count(*) FROM read_csv_auto('{d / 'interviews.csv'}', header=true) GROUP BY 1"
).fetchall())
want_by_country = {}
for i in ids:
    want_by_country[kept[i]["country"]] = want_by_country.get(kept[i]["country"], 0) + 1
check(by_country == want_by_country, f"duckdb csv by country {by_country}")

# --- Parquet: pyarrow types, pandas values, DuckDB ---------------------------------
d = root / "parquet"
t = pq.read_table(d / "interviews.parquet")
sch = t.schema
check(t.num_rows == len(kept), "parquet rows")
for col, typ in [("nps", pa.int64()), ("sat_network", pa.int64()), ("customer_since_years", pa.int64()),
                 ("form_version", pa.int64()), ("consent", pa.bool_()),
                 ("services_used__mobile_money", pa.bool_()), ("interview_date", pa.date32()),
                 ("complaint_since", pa.date32()), ("location_lat", pa.float64()),
                 ("location_lon", pa.float64()), ("verbatim", pa.string()), ("interview_id", pa.string())]:
    check(sch.field(col).type == typ, f"parquet type of {col}: {sch.field(col).type} != {typ}")
no_pii(sch.names, "parquet")
dictionary_covers(d, sch.names)
pdf = t.to_pandas()
check(list(pdf["interview_id"]) == ids, "parquet order")
for _, r in pdf.iterrows():
    iid = r["interview_id"]
    check(int(r["nps"]) == ans(iid, "nps"), "parquet nps")
    check(bool(r["consent"]) is True, "parquet consent")
    check(bool(r["services_used__mobile_data"]) == ("mobile_data" in ans(iid, "services_used")), "parquet flag")
    check(r["interview_date"] == datetime.date.fromisoformat(ans(iid, "interview_date")), "parquet date")
    check(close(r["location_lon"], ans(iid, "location")["lon"]), "parquet lon")
    check(r["segment"] == ans(iid, "segment"), "parquet segment")
n, s, dmin = con.execute(
    f"SELECT count(*), sum(nps), min(interview_date) FROM read_parquet('{d / 'interviews.parquet'}')"
).fetchone()
check(n == len(kept) and s == sum(ans(i, "nps") for i in ids), "duckdb parquet count/sum")
check(dmin == datetime.date(2026, 11, 30), f"duckdb parquet date {dmin}")
check(pd.read_parquet(d / "interviews.parquet").shape[0] == len(kept), "pandas parquet")

# --- XLSX: openpyxl -----------------------------------------------------------
d = root / "xlsx"
wb = openpyxl.load_workbook(d / "interviews.xlsx", read_only=True)
check(wb.sheetnames == ["interviews", "dictionary"], f"xlsx sheets {wb.sheetnames}")
data = list(wb["interviews"].iter_rows(values_only=True))
header, body = list(data[0]), data[1:]
check(len(body) == len(kept), "xlsx rows")
no_pii(header, "xlsx")
dictionary_covers(d, header)
ix = {c: i for i, c in enumerate(header)}
for row in body:
    iid = row[ix["interview_id"]]
    check(row[ix["nps"]] == ans(iid, "nps"), "xlsx nps is a number")
    check(row[ix["consent"]] is True, "xlsx consent is boolean")
    check(row[ix["services_used__mobile_voice"]] == ("mobile_voice" in ans(iid, "services_used")), "xlsx flag")
    check(row[ix["interview_date"]].date() == datetime.date.fromisoformat(ans(iid, "interview_date")), "xlsx date")
    check(row[ix["verbatim"]] == ans(iid, "verbatim"), "xlsx text")
dict_rows = list(wb["dictionary"].iter_rows(values_only=True))
check(list(dict_rows[0][:4]) == ["column", "type", "question", "label"], "xlsx dictionary header")
check(len(dict_rows) - 1 == len(header), "xlsx dictionary covers every column")
nps_label = next(r[3] for r in dict_rows if r[0] == "nps")
check(nps_label.startswith("Sur une échelle"), "xlsx labels in French")

# --- JSON Lines -----------------------------------------------------------------
d = root / "jsonl"
lines = (d / "interviews.jsonl").read_text(encoding="utf-8").splitlines()
objs = [json.loads(l) for l in lines]
check([o["interview_id"] for o in objs] == ids, "jsonl ids and order")
for o in objs:
    iid = o["interview_id"]
    check(o["nps"] == ans(iid, "nps") and isinstance(o["nps"], int), "jsonl typed nps")
    check(o["consent"] is True, "jsonl consent")
    check(o["services_used__mobile_money"] == ("mobile_money" in ans(iid, "services_used")), "jsonl flag")
    no_pii(o.keys(), "jsonl")
dictionary_covers(d, list(objs[0].keys()))

# --- GeoJSON ----------------------------------------------------------------------
d = root / "geojson"
gj = json.loads((d / "interviews.geojson").read_text(encoding="utf-8"))
check(gj["type"] == "FeatureCollection", "geojson type")
feats = gj["features"]
check(len(feats) == len([i for i in ids if ans(i, "location")]), "geojson one point per located interview")
for f in feats:
    iid = f["properties"]["interview_id"]
    loc = ans(iid, "location")
    check(f["geometry"]["type"] == "Point", "geojson point")
    lon, lat = f["geometry"]["coordinates"]
    check(close(lon, loc["lon"]) and close(lat, loc["lat"]), "geojson [lon, lat]")
    check("location_lat" not in f["properties"], "geojson coordinates not repeated")
    check(f["properties"]["nps"] == ans(iid, "nps"), "geojson properties")
    no_pii(f["properties"].keys(), "geojson")

# --- PII: pseudonyms (CSV and Parquet) and raw (admin) -----------------------------
pc = pd.read_csv(root / "pseudo-csv" / "interviews.csv", dtype=str)
pp = pq.read_table(root / "pseudo-parquet" / "interviews.parquet").to_pandas()
check("customer_phone_pseudonym" in pc.columns and "customer_phone" not in pc.columns, "pseudonym column")
check(list(pc["customer_phone_pseudonym"]) == list(pp["customer_phone_pseudonym"]),
      "pseudonyms identical across runs and formats")
seen = {}
for _, r in pc.iterrows():
    iid = r["interview_id"]
    raw = ans(iid, "customer_phone")
    p = r["customer_phone_pseudonym"]
    check(isinstance(p, str) and p.startswith("p_") and len(p) == 34, f"pseudonym shape {p}")
    check(raw not in p and p != raw, "pseudonym is not the raw value")
    seen.setdefault(p, set()).add(raw)
check(all(len(v) == 1 for v in seen.values()), "one pseudonym per raw value")
check(len(seen) == len({ans(i, "customer_phone") for i in ids}), "distinct raw values, distinct pseudonyms")
blob = (root / "pseudo-csv" / "interviews.csv").read_text(encoding="utf-8")
for i in ids:
    check(ans(i, "customer_phone") not in blob, "no raw phone in a pseudonymised export")
raw = pd.read_csv(root / "raw" / "interviews.csv", dtype=str)
for _, r in raw.iterrows():
    check(restore(r["customer_phone"]) == ans(r["interview_id"], "customer_phone"), "raw PII on admin request")
    check(r["customer_phone"].startswith("'+"), "phone numbers starting with + are formula-guarded")
check(json.loads((root / "raw" / "manifest.json").read_text())["pii"] == "include", "manifest pii")
for d in root.iterdir():
    if d.is_dir():
        for f in d.iterdir():
            if f.suffix in (".csv", ".jsonl", ".geojson"):
                check("Refused Person" not in f.read_text(encoding="utf-8"), f"{f}: no-consent PII leaked")

print(f"check_exports: {check.count} checks passed on {len(kept)} interviews ({len(dropped)} without consent)")
