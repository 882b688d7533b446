#!/usr/bin/env python3
"""Read fieldvoice exports as a hackathon analyst would, and check them.

usage: check_analyst.py DIR            the exports tests/tests/analyst_exports.rs saved
       check_analyst.py DIR LO_DIR     the workbook as LibreOffice converted it to CSV

DIR holds expected.json (the seeded interviews' ids and texts) and the
exports: labels-fr.csv (BOM, label columns, French), values-ar.csv (labels
instead of codes, Arabic), plain.csv, all.csv (drafts and rejected on
request), interviews.parquet, job.parquet (an export job's file),
interviews.xlsx (Arabic label columns), interviews.geojson and its manifest,
codebook.json, codebook.csv, delta.csv and removed.csv (incremental).
Exits non-zero with a message on the first mismatch.
"""
import csv
import io
import json
import sys
from pathlib import Path

from checking import Checks

d = Path(sys.argv[1])
exp = json.loads((d / "expected.json").read_text())
check = Checks()


if len(sys.argv) > 2:
    # LibreOffice opened interviews.xlsx and wrote its first sheet as CSV.
    lo = Path(sys.argv[2]) / "interviews.csv"
    check(lo.exists(), f"LibreOffice wrote {lo}")
    rows = list(csv.DictReader(io.StringIO(lo.read_text(encoding="utf-8"))))
    by_id = {r["interview_id"]: r for r in rows}
    check(set(by_id) == set(exp["counted"]), "LibreOffice reads every row")
    check(by_id[exp["formula_id"]]["verbatim"] == exp["formula"],
          "LibreOffice keeps the formula-like verbatim as text (not evaluated)")
    check(by_id[exp["arabic_id"]]["verbatim"] == exp["arabic"], "LibreOffice reads the Arabic verbatim")
    check(by_id[exp["formula_id"]]["nps"] == "9", "LibreOffice reads numbers")
    check(by_id[exp["formula_id"]]["country_label"] == "ساحل العاج", "LibreOffice reads Arabic labels")
    print(f"check_analyst (libreoffice): {check.count} checks passed")
    sys.exit(0)

import duckdb
import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

counted = sorted(exp["counted"])
book = json.loads((d / "codebook.json").read_text(encoding="utf-8"))
entries = {c["column"]: c for c in book["columns"]}


def label(column, code, lang):
    for o in entries[column]["options"]:
        if o["value"] == code:
            return o["label"][lang]
    sys.exit(f"FAIL: no option {code} of {column} in the codebook")


# --- The codebook: four languages, skip rules, ranges, versions -----------------
check(book["languages"] == ["en", "fr", "ar", "pt"], "codebook languages")
nps = entries["nps"]
check(nps["type"] == "integer" and nps["range"] == "0-10", f"nps range {nps['range']}")
check(all(nps["label"][l] for l in ("en", "fr", "ar", "pt")), "nps labelled in four languages")
cats = entries["complaint_categories__billing"]
check(cats["asked_when"]["en"].startswith("Asked when ") and "`has_complaint` = `yes`" in cats["asked_when"]["en"],
      f"skip rule in words: {cats['asked_when']}")
check(cats["asked_when"]["fr"].startswith("Posée si"), "skip rule in French")
check(entries["segment"]["options"] and all(o["label"]["ar"] for o in entries["segment"]["options"]),
      "segment options labelled in Arabic")
check("not asked" in entries["nps"]["missing"], "missing-value convention per column")
check(any("not_asked" in c for c in book["conventions"]), "conventions state the not_asked rule")
check(entries["created_at"]["label"]["fr"] == "Début (UTC)", "key columns labelled in French")
raw_csv = (d / "codebook.csv").read_bytes()
check(raw_csv.startswith(b"\xef\xbb\xbf"), "codebook.csv has a BOM for Excel")
cb = pd.read_csv(io.BytesIO(raw_csv), encoding="utf-8-sig")
check(list(cb["column"]) == list(entries), "codebook.csv and codebook.json list the same columns")
check("label_ar" in cb.columns and "asked_when_pt" in cb.columns, "codebook.csv has every language")

# --- CSV for Excel: BOM, French label columns, formula guard --------------------
raw = (d / "labels-fr.csv").read_bytes()
check(raw.startswith(b"\xef\xbb\xbf"), "excel=true: UTF-8 BOM")
check(not (d / "plain.csv").read_bytes().startswith(b"\xef\xbb\xbf"), "no BOM unless asked")
df = pd.read_csv(d / "labels-fr.csv", encoding="utf-8-sig", dtype={"interview_id": str})
check(df.columns[0] == "interview_id", "the BOM does not stick to the first header")
check(sorted(df["interview_id"]) == counted, "default base: submitted, consented, not rejected")
by = df.set_index("interview_id")
check(by.loc[exp["formula_id"], "country_label"] == "Côte d'Ivoire", "country label in French")
check(by.loc[exp["formula_id"], "segment"] == "business", "codes stay")
check(by.loc[exp["formula_id"], "segment_label"] == label("segment", "business", "fr"), "segment label in French")
check(by.loc[exp["formula_id"], "verbatim"] == "'" + exp["formula"], "CSV formula guard: one quote in front")
check(by.loc[exp["arabic_id"], "verbatim"] == exp["arabic"], "Arabic text intact")
# pandas: booleans and integers typed from the CSV text.
check(str(df["consent"].dtype) == "bool", f"consent read as bool: {df['consent'].dtype}")
check(str(df["nps"].dtype) == "int64", f"nps read as int64: {df['nps'].dtype}")
pa_df = pd.read_csv(d / "labels-fr.csv", encoding="utf-8-sig", dtype_backend="pyarrow")
check(str(pa_df["nps"].dtype) == "int64[pyarrow]", f"pyarrow backend nps {pa_df['nps'].dtype}")
check(str(pa_df["consent"].dtype) == "bool[pyarrow]", f"pyarrow backend consent {pa_df['consent'].dtype}")
check(str(pa_df["complaint_categories__billing"].dtype) == "bool[pyarrow]",
      f"flags with gaps stay booleans: {pa_df['complaint_categories__billing'].dtype}")
ts = pd.read_csv(d / "labels-fr.csv", encoding="utf-8-sig", parse_dates=["created_at", "submitted_at"])
check(str(ts["created_at"].dtype).startswith("datetime64") and "UTC" in str(ts["created_at"].dtype),
      f"created_at parses as UTC: {ts['created_at'].dtype}")
# Review work and the missing-value convention.
r = by.loc[exp["reviewed_id"]]
check(r["review_state"] == "approved" and r["reviewed_by"] == exp["reviewer_id"], "reviewer and state")
check(isinstance(r["reviewed_at"], str) and r["reviewed_at"].endswith("Z"), f"review time {r['reviewed_at']}")
check(r["comment_count"] == 1, "comment count")
check("[phone]" in r["comments"] and "+225 07 00 00 00 01" not in r["comments"], f"comments scrubbed: {r['comments']}")
check(bool(r["tag__root_cause_network"]) is True, "one column per tag")
check(bool(by.loc[exp["formula_id"], "tag__root_cause_network"]) is False, "untagged is false")
nc = by.loc[exp["no_complaint_id"]]
check("complaint_categories" in nc["not_asked"].split(";"), f"not asked: {nc['not_asked']}")
check(pd.isna(nc["complaint_categories__billing"]), "a flag of a question not asked is empty")
check("complaint_categories" not in str(by.loc[exp["formula_id"], "not_asked"]).split(";"),
      "asked questions are not in not_asked")

# --- Labels instead of codes, in Arabic -----------------------------------------
va = pd.read_csv(d / "values-ar.csv", dtype=str).set_index("interview_id")
check(va.loc[exp["formula_id"], "segment"] == label("segment", "business", "ar"), "labels as values, Arabic")
check(va.loc[exp["formula_id"], "country"] == "ساحل العاج", "country name in Arabic")
check("segment_label" not in va.columns, "values mode adds no label columns")

# --- Opt-ins ------------------------------------------------------------------
al = pd.read_csv(d / "all.csv", dtype={"interview_id": str})
check(set(al["interview_id"]) == set(counted) | {exp["rejected_id"], exp["draft_id"]},
      "include_drafts and include_rejected add them")
check(set(al.loc[al["interview_id"] == exp["draft_id"], "status"]) == {"draft"}, "the draft says so")

# --- Parquet: pyarrow types, pandas dtypes (both backends), DuckDB --------------
for name in ("interviews.parquet", "job.parquet"):
    t = pq.read_table(d / name)
    sch = t.schema
    for col, typ in [("created_at", pa.timestamp("us", tz="UTC")), ("submitted_at", pa.timestamp("us", tz="UTC")),
                     ("reviewed_at", pa.timestamp("us", tz="UTC")), ("nps", pa.int64()), ("consent", pa.bool_()),
                     ("tag__root_cause_network", pa.bool_()), ("interview_date", pa.date32()),
                     ("comments", pa.string())]:
        check(sch.field(col).type == typ, f"{name}: {col} is {sch.field(col).type}, want {typ}")
pdf = pd.read_parquet(d / "interviews.parquet")
for col, want in [("nps", "Int64"), ("sat_network", "Int64"), ("consent", "boolean"),
                  ("complaint_categories__billing", "boolean"), ("duration_s", "Int64")]:
    check(str(pdf[col].dtype) == want, f"pandas default backend {col}: {pdf[col].dtype} != {want}")
check(str(pdf["created_at"].dtype).startswith("datetime64[") and "UTC" in str(pdf["created_at"].dtype),
      f"pandas created_at {pdf['created_at'].dtype}")
check(pdf["complaint_categories__billing"].isna().sum() >= 1, "gaps stay <NA> in boolean columns")
pyd = pd.read_parquet(d / "interviews.parquet", dtype_backend="pyarrow")
for col, want in [("nps", "int64[pyarrow]"), ("consent", "bool[pyarrow]"),
                  ("created_at", "timestamp[us, tz=UTC][pyarrow]"), ("interview_date", "date32[day][pyarrow]")]:
    check(str(pyd[col].dtype) == want, f"pandas pyarrow backend {col}: {pyd[col].dtype} != {want}")
con = duckdb.connect()
types = {r[0]: r[1] for r in con.execute(
    f"DESCRIBE SELECT * FROM read_parquet('{d / 'interviews.parquet'}')").fetchall()}
check(types["created_at"] == "TIMESTAMP WITH TIME ZONE", f"duckdb created_at {types['created_at']}")
check(types["nps"] == "BIGINT" and types["consent"] == "BOOLEAN", "duckdb nps/consent")
n = con.execute(f"SELECT count(*) FROM read_parquet('{d / 'interviews.parquet'}') "
                f"WHERE submitted_at >= TIMESTAMPTZ '2026-01-01 00:00:00+00'").fetchone()[0]
check(n == len(counted), "duckdb compares timestamps")
ctypes = {r[0]: r[1] for r in con.execute(
    f"DESCRIBE SELECT * FROM read_csv('{d / 'plain.csv'}', header=true)").fetchall()}
check(ctypes["consent"] == "BOOLEAN" and ctypes["nps"] == "BIGINT", f"duckdb csv types {ctypes['consent']} {ctypes['nps']}")
check(ctypes["created_at"].startswith("TIMESTAMP"), f"duckdb reads CSV timestamps: {ctypes['created_at']}")

# --- XLSX: openpyxl -----------------------------------------------------------
wb = openpyxl.load_workbook(d / "interviews.xlsx")
ws = wb["interviews"]
check(ws.freeze_panes == "A2", f"frozen header: {ws.freeze_panes}")
check(ws.auto_filter.ref is not None and ws.auto_filter.ref.startswith("A1:"), f"filters: {ws.auto_filter.ref}")
header = [c.value for c in ws[1]]
ix = {h: i for i, h in enumerate(header)}
check(ws.column_dimensions["A"].width >= 36, "interview_id column wide enough")
rows = {r[ix["interview_id"]].value: r for r in ws.iter_rows(min_row=2)}
f = rows[exp["formula_id"]][ix["verbatim"]]
check(f.value == exp["formula"] and f.data_type == "s" and f.quotePrefix, "XLSX: formula text stored as text, quote-prefixed")
c = rows[exp["formula_id"]][ix["created_at"]]
check(c.is_date and c.value.year == 2026 and c.number_format == "yyyy-mm-dd hh:mm:ss", f"XLSX date-time {c.value!r}")
check(rows[exp["formula_id"]][ix["country_label"]].value == "ساحل العاج", "XLSX Arabic label column")
check(rows[exp["formula_id"]][ix["consent"]].value is True, "XLSX boolean")

# --- GeoJSON ids, manifest ------------------------------------------------------
gj = json.loads((d / "interviews.geojson").read_text(encoding="utf-8"))
check(all(f["id"] == f["properties"]["interview_id"] for f in gj["features"]), "GeoJSON features have ids")
man = json.loads((d / "geojson-manifest.json").read_text())
check(man["rows_without_location"] == man["rows"] - len(gj["features"]), "manifest counts rows without location")
check(man["base"].startswith("consented, submitted"), f"manifest states the base: {man['base']}")
check(man["left_out"]["rejected"] == 1 and man["left_out"]["drafts"] == 1, f"left out: {man['left_out']}")

# --- Incremental: the delta and what left ---------------------------------------
removed = pd.read_csv(d / "removed.csv", dtype=str)
got = dict(zip(removed["interview_id"], removed["reason"]))
check(got == {exp["formula_id"]: "rejected", exp["withdrawn_id"]: "without_consent"},
      f"removed.csv names what left and why: {got}")
check(len(pd.read_csv(d / "delta.csv")) == 0, "nothing new to add")
merged = set(df["interview_id"]) - set(removed["interview_id"])
check(merged == set(counted) - {exp["formula_id"], exp["withdrawn_id"]}, "the merged dataset is right")

print(f"check_analyst: {check.count} checks passed")
