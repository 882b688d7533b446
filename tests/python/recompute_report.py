#!/usr/bin/env python3
"""Recompute every figure of the analysis report from the Parquet export with
DuckDB SQL, the way a hackathon analyst would, and compare with the report's
JSON form.

usage: recompute_report.py INTERVIEWS.parquet SUMMARY.json FILTER.json
  FILTER.json: {"campaign", "segments", "places", "from", "to",
                "review_states", "include_rejected", "min_n"} as the report had it.
Prints {"checked": N, "mismatches": [...]} (figures compared to 1e-6).

The base: submitted interviews (the export holds only consented ones) of the
campaign, not rejected in review unless asked, passing the filter.
NPS = 100 (p - d); SE = 100 sqrt((p + d - (p - d)^2) / n); interval
NPS +- 1.96 SE clamped to [-100, 100]. Satisfaction: mean +- 1.96 sd / sqrt(n),
sd the sample standard deviation. Drivers: NPS of those citing a root cause
(or rating a touchpoint 1-2) minus the others' NPS (those with an NPS, or who
rated the touchpoint), SE = sqrt(SE1^2 + SE2^2).
"""
import json
import math
import sys

import duckdb

parquet, summary_path, filter_path = sys.argv[1:4]
s = json.load(open(summary_path))
f = json.load(open(filter_path))
con = duckdb.connect()
con.execute(f"CREATE VIEW raw AS SELECT * FROM read_parquet('{parquet}')")
cols = {r[0] for r in con.execute("DESCRIBE raw").fetchall()}

where = ["status = 'submitted'"]
args = []
if f.get("campaign"):
    where.append("campaign = ?")
    args.append(f["campaign"])
if not f.get("include_rejected"):
    where.append("coalesce(review_state, '') <> 'rejected'")
if f.get("segments"):
    where.append("segment IN (SELECT unnest(?))")
    args.append(f["segments"])
if f.get("places"):
    where.append("place IN (SELECT unnest(?))")
    args.append(f["places"])
if f.get("from"):
    where.append("substr(created_at, 1, 10) >= ?")
    args.append(f["from"])
if f.get("to"):
    where.append("substr(created_at, 1, 10) <= ?")
    args.append(f["to"])
if f.get("review_states"):
    where.append("coalesce(review_state, 'none') IN (SELECT unnest(?))")
    args.append(f["review_states"])
con.execute(f"CREATE TABLE base AS SELECT * FROM raw WHERE {' AND '.join(where)}", args)
min_n = f.get("min_n", 30)

checked = 0
mismatches = []


def same(what, got, want):
    global checked
    checked += 1
    if got is None or want is None:
        if got != want:
            mismatches.append({"what": what, "report": got, "recomputed": want})
        return
    if isinstance(want, (bool, list, str)) or isinstance(want, int) and not isinstance(got, float):
        ok = got == want
    else:
        ok = math.isclose(float(got), float(want), rel_tol=1e-6, abs_tol=1e-6)
    if not ok:
        mismatches.append({"what": what, "report": got, "recomputed": want})


def nps_sql(cond="TRUE"):
    """(n, promoters, passives, detractors) of the base rows matching cond."""
    return (
        "SELECT count(*) FILTER (WHERE nps IS NOT NULL), "
        "count(*) FILTER (WHERE nps >= 9), count(*) FILTER (WHERE nps BETWEEN 7 AND 8), "
        f"count(*) FILTER (WHERE nps <= 6) FROM base WHERE {cond}"
    )


def nps_of(n, p, d):
    pp, dd = p / n, d / n
    nps = 100 * (pp - dd)
    se = 100 * math.sqrt(max(pp + dd - (pp - dd) ** 2, 0) / n)
    return nps, se, max(nps - 1.96 * se, -100), min(nps + 1.96 * se, 100)


def check_nps(what, stat, n, p, pa, d):
    same(what + ".n", stat["n"], n)
    same(what + ".promoters", stat["promoters"], p)
    same(what + ".passives", stat["passives"], pa)
    same(what + ".detractors", stat["detractors"], d)
    nps, se, lo, hi = nps_of(n, p, d)
    same(what + ".nps", stat["nps"], nps)
    same(what + ".se", stat["se"], se)
    same(what + ".ci_low", stat["ci_low"], lo)
    same(what + ".ci_high", stat["ci_high"], hi)
    same(what + ".low_n", stat["low_n"], n < min_n)


# The base and the overall NPS.
same("interviews", s["interviews"], con.execute("SELECT count(*) FROM base").fetchone()[0])
n, p, pa, d = con.execute(nps_sql()).fetchone()
check_nps("nps_overall", s["nps_overall"], n, p, pa, d)

# NPS by every dimension, every group, ranked by NPS.
for b in s["nps_by"]:
    dim = b["dimension"]
    rows = con.execute(
        f'SELECT "{dim}", count(nps), count(*) FILTER (WHERE nps >= 9), '
        f"count(*) FILTER (WHERE nps BETWEEN 7 AND 8), count(*) FILTER (WHERE nps <= 6) "
        f'FROM base WHERE "{dim}" IS NOT NULL GROUP BY 1 HAVING count(nps) > 0'
    ).fetchall()
    want = {r[0]: r[1:] for r in rows}
    got = {g["group"]: g for g in b["groups"]}
    same(f"nps_by.{dim}.groups", sorted(got), sorted(want))
    for g, (n, p, pa, d) in want.items():
        if g in got:
            check_nps(f"nps_by.{dim}.{g}", got[g], n, p, pa, d)
    order = [g["nps"] for g in b["groups"]]
    same(f"nps_by.{dim}.ranked", order == sorted(order, reverse=True), True)

# Satisfaction per touchpoint.
for t in s["satisfaction"]:
    q = t["question"]
    n, mean, sd = con.execute(
        f'SELECT count("{q}"), avg("{q}"), stddev_samp("{q}") FROM base'
    ).fetchone()
    sd = sd or 0.0
    half = 1.96 * sd / math.sqrt(n)
    same(f"satisfaction.{q}.n", t["n"], n)
    same(f"satisfaction.{q}.mean", t["mean"], mean)
    same(f"satisfaction.{q}.sd", t["sd"], sd)
    same(f"satisfaction.{q}.ci_low", t["ci_low"], mean - half)
    same(f"satisfaction.{q}.ci_high", t["ci_high"], mean + half)
    same(f"satisfaction.{q}.low_n", t["low_n"], n < min_n)

# Drivers.
seen = set()
for dr in s["drivers"]:
    v = dr["value"]
    if dr["kind"] == "root_cause":
        col = f"complaint_root_cause__{v}"
        with_ = con.execute(nps_sql(f'coalesce("{col}", FALSE)')).fetchone()
        all_ = con.execute(nps_sql()).fetchone()
    else:
        with_ = con.execute(nps_sql(f'"{v}" <= 2')).fetchone()
        all_ = con.execute(nps_sql(f'"{v}" IS NOT NULL')).fetchone()
    without = tuple(a - w for a, w in zip(all_, with_))
    check_nps(f"drivers.{v}.with", dr["with"], *with_)
    check_nps(f"drivers.{v}.without", dr["without"], *without)
    a, sa, _, _ = nps_of(with_[0], with_[1], with_[3])
    b, sb, _, _ = nps_of(without[0], without[1], without[3])
    se = math.sqrt(sa * sa + sb * sb)
    same(f"drivers.{v}.gap", dr["gap"], a - b)
    same(f"drivers.{v}.gap_low", dr["gap_low"], a - b - 1.96 * se)
    same(f"drivers.{v}.gap_high", dr["gap_high"], a - b + 1.96 * se)
    seen.add((dr["kind"], v))
gaps = [dr["gap"] for dr in s["drivers"]]
same("drivers.ranked", gaps == sorted(gaps), True)
# Every root cause cited and every touchpoint with low ratings is a driver.
for c in [c for c in cols if c.startswith("complaint_root_cause__")]:
    k = con.execute(
        f'SELECT count(*) FROM base WHERE coalesce("{c}", FALSE) AND nps IS NOT NULL'
    ).fetchone()[0]
    if k > 0 and k < con.execute("SELECT count(nps) FROM base").fetchone()[0]:
        same(f"drivers.has.{c}", ("root_cause", c.split("__", 1)[1]) in seen, True)

print(json.dumps({"checked": checked, "mismatches": mismatches}))
