#!/usr/bin/env python3
"""Read fieldvoice's OData v4 feed with a real OData client (python-odata).

usage: odata_client.py SERVICE_ROOT API_TOKEN EXPECTED.json

The client reflects the entity set from $metadata, authenticates with HTTP
Basic (the API token as the password, as Power BI and Excel do), follows the
server's @odata.nextLink paging, filters, selects and counts. EXPECTED.json
holds the interviews the caller may see: [{"interview_id", "nps", "country"}].
Exits non-zero with a message on the first mismatch.
"""
import datetime
import json
import sys

import requests
from odata import ODataService

from checking import Checks

root, token, expected_path = sys.argv[1], sys.argv[2], sys.argv[3]
expected = json.loads(open(expected_path, encoding="utf-8").read())
want_ids = sorted(e["interview_id"] for e in expected)
check = Checks()


session = requests.Session()
session.auth = ("powerbi", token)
service = ODataService(root, reflect_entities=True, session=session, quiet_progress=True)
Interview = service.entities.get("Interviews")
check(Interview is not None, f"entity set Interviews reflected: {list(service.entities)}")

rows = list(service.query(Interview))
ids = [r.interview_id for r in rows]
check(ids == want_ids, f"every row once, in id order: {len(ids)} rows, want {len(want_ids)}")
by_id = {e["interview_id"]: e for e in expected}
for r in rows:
    e = by_id[r.interview_id]
    check(r.nps == e["nps"], f"nps of {r.interview_id}: {r.nps} != {e['nps']}")
    check(r.country == e["country"], "country")
    check(isinstance(r.submitted_at, datetime.datetime) and r.submitted_at.tzinfo is not None,
          f"submitted_at is an aware datetime: {r.submitted_at!r}")
    check(r.consent is True, "consent is a boolean")

promoters = list(service.query(Interview).filter(Interview.nps >= 9))
want_p = sorted(e["interview_id"] for e in expected if e["nps"] >= 9)
check(sorted(r.interview_id for r in promoters) == want_p, "$filter nps ge 9")
check(service.query(Interview).filter(Interview.nps >= 9).count() == len(want_p), "/$count with $filter")
check(service.query(Interview).count() == len(want_ids), "/$count")

first5 = service.query(Interview).limit(5).all()
check([r.interview_id for r in first5] == want_ids[:5], "$top 5")
window = service.query(Interview).offset(3).limit(4).all()
check([r.interview_id for r in window] == want_ids[3:7], "$skip 3 $top 4")

sel = service.query(Interview).select(Interview.interview_id, Interview.nps).limit(3).all()
check(len(sel) == 3 and all(set(s) == {"interview_id", "nps"} and s["nps"] == by_id[s["interview_id"]]["nps"]
                            for s in sel), f"$select: {sel}")

print(f"odata_client: {check.count} checks passed on {len(rows)} rows")
