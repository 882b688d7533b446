#!/usr/bin/env python3
"""Read a CSV or XLSX file the way an analyst would and print it as JSON, for
tests/tests/trust_edge.rs (formula guard of exports and of `admin import-users`).

usage: read_tables.py csv PATH   -> {"rows": [[cell, ...], ...],            (Python's csv module)
                                     "pandas": {"columns": [...], "dtypes": {col: dtype},
                                                "records": [{col: value}, ...]}}
       read_tables.py xlsx PATH  -> {"sheets": {name: [[{"v": value, "t": data_type,
                                                          "q": quote_prefix}, ...], ...]}}
                                    (openpyxl; `t` is "s" for text, "n" numbers,
                                     "b" booleans, "d" dates, "f" formulas)
"""
import csv
import json
import math
import sys

kind, path = sys.argv[1], sys.argv[2]

if kind == "csv":
    import pandas as pd

    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    df = pd.read_csv(path, keep_default_na=False, na_values=[""])

    def plain(v):
        if isinstance(v, float) and math.isnan(v):
            return None
        return v.item() if hasattr(v, "item") else v

    out = {
        "rows": rows,
        "pandas": {
            "columns": list(df.columns),
            "dtypes": {c: str(t) for c, t in df.dtypes.items()},
            "records": [{c: plain(v) for c, v in r.items()} for r in df.to_dict("records")],
        },
    }
elif kind == "xlsx":
    import openpyxl

    wb = openpyxl.load_workbook(path)  # not read-only: styles are loaded
    sheets = {}
    for ws in wb.worksheets:
        sheets[ws.title] = [
            [
                {
                    "v": c.value if not hasattr(c.value, "isoformat") else c.value.isoformat(),
                    "t": c.data_type,
                    "q": bool(c.quotePrefix),
                }
                for c in row
            ]
            for row in ws.iter_rows()
        ]
    out = {"sheets": sheets}
else:
    sys.exit(f"unknown kind {kind}")

print(json.dumps(out))
