#!/usr/bin/env python3
"""Builds policies/divisions.csv from the upstream division tables.

Run from the repository root with the shared data beside it:
    python3 scripts/build_divisions.py ../shared/data/divisions > policies/divisions.csv

The output is the project's own data file; siteward never reads the upstream
files. Columns: code, name, level, status, start, end, successor, source.
- source `gbt2260`: yescallop/areacodes (GB/T 2260, current and historical, CC0-1.0)
- source `stats`: codes only in the statistics bureau's 2023 list
  (modood/Administrative-divisions-of-China, WTFPL), such as development
  zones (130171); they are real prefixes of identifier codes.
"""
import csv
import sys
from pathlib import Path

src = Path(sys.argv[1])
levels = {"省级": "province", "地级": "prefecture", "县级": "county"}
statuses = {"在用": "current", "变更": "changed", "弃用": "abolished"}
rows = {}
with open(src / "yescallop_areacodes_county_and_above_1981-2024.csv", encoding="utf-8-sig") as f:
    for r in csv.DictReader(f):
        code = r["代码"].strip()
        key = (code, r["启用时间"])
        rows[key] = [code, r["名称"].strip(), levels[r["级别"]], statuses[r["状态"]],
                     r["启用时间"], r["变更/弃用时间"], r["新代码"].strip(), "gbt2260"]
known = {k[0] for k in rows}
with open(src / "modood_cities.csv", encoding="utf-8") as f:
    for r in csv.DictReader(f):
        code = r["code"] + "00"
        if code not in known:
            rows[(code, "")] = [code, r["name"], "prefecture", "current", "", "", "", "stats"]
            known.add(code)
with open(src / "modood_areas.csv", encoding="utf-8") as f:
    for r in csv.DictReader(f):
        code = r["code"]
        if code not in known:
            rows[(code, "")] = [code, r["name"], "county", "current", "", "", "", "stats"]
            known.add(code)
out = csv.writer(sys.stdout, lineterminator="\n")
out.writerow(["code", "name", "level", "status", "start", "end", "successor", "source"])
for key in sorted(rows):
    out.writerow(rows[key])
