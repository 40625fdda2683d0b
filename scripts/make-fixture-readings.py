#!/usr/bin/env python3
"""Writes tests/fixtures/readings-2023.csv: a deterministic year of year-to-date readings
for the built-in catalogue, January to September 2023, with every status represented.

Each indicator gets a "pace factor" picked from its id, so some run ahead of the
scheduled pace, some a little behind and some far behind; rates and levels sit near,
above or below their targets the same way. Relative targets (no value) and annual
indicators get no readings, so no_target and no_data appear too.

Run from the repository root:  python3 scripts/make-fixture-readings.py
"""
import csv
import hashlib
import sys
import tomllib

FACTORS = [1.4, 1.15, 1.05, 1.0, 0.96, 0.93, 0.75, 0.6]
RATE_OFFSETS = [0.6, 0.2, 0.0, -0.3, -0.8, -1.6, -2.5]


def pick(seq, key):
    h = int(hashlib.sha256(key.encode()).hexdigest(), 16)
    return seq[h % len(seq)]


def main():
    cat = tomllib.load(open("seeds/taojiang-2023.toml", "rb"))
    out = csv.writer(open("tests/fixtures/readings-2023.csv", "w", newline="", encoding="utf-8"))
    out.writerow(["indicator", "period", "value", "status", "note"])
    rows = 0
    for ind in cat["indicator"]:
        t = ind.get("target", {})
        if "value" not in t or ind["frequency"] == "annual":
            continue
        iid, kind, value = ind["id"], ind["kind"], float(t["value"])
        months = [3, 6, 9] if ind["frequency"] == "quarterly" else [2, 3, 4, 5, 6, 7, 8, 9]
        factor = pick(FACTORS, iid)
        for m in months:
            # A list (milestone) counts up like a cumulative figure, a growth rate
            # reads like any rate, and a class or rank (ordinal) like a level.
            if kind in ("cumulative", "milestone"):
                if ind["direction"] == "down":
                    # Caps: mostly under the allowance, a few over it; a zero cap
                    # (杜绝) is breached once by the slowest.
                    v = value * m / 12 * (2.0 - factor)
                    if pick([False, False, True], iid + ":cap") and m >= 6:
                        v = value * (0.7 + m * 0.05) if value > 0 else 1.0
                else:
                    v = value * m / 12 * factor
                v = round(max(v, 0.0), 2)
            elif kind in ("rate", "growth"):
                off = pick(RATE_OFFSETS, iid)
                sign = -1 if ind["direction"] == "down" else 1
                v = round(value + sign * off + (m - 6) * 0.05, 2)
                # Shares stay within their plausible range (a coverage rate tops out
                # at 100%), as the quality checks require.
                lo, hi = ind.get("quality", {}).get("range", [-100.0, 1000.0])
                v = min(max(v, lo), hi)
            else:
                v = value if factor >= 0.96 else (value + 1 if ind["direction"] == "down" else value * 0.8)
                v = round(v, 2)
            status = "P" if m == 9 else "A"
            out.writerow([iid, f"2023-{m:02d}", v, status, ""])
            rows += 1
    print(f"wrote {rows} readings", file=sys.stderr)


if __name__ == "__main__":
    main()
