#!/usr/bin/env python3
"""Pull attainment (完成率) from a zhibiao server; print a table or write CSV.

Standard library only; see docs/api.md. Exit code 0 on success, 1 on any error.
"""
import argparse, csv, json, os, sys, unicodedata
import urllib.error, urllib.parse, urllib.request

LAGGING = {"behind", "severely_behind", "missed"}
HEADER = ["indicator", "name", "actual", "target", "完成率%", "序时%", "status"]


def num(v):
    return "" if v is None else f"{v:g}"


def pct(v):
    return "" if v is None else f"{v * 100:.1f}"


def target_text(t):
    if not t or t.get("value") is None:
        return ""
    return num(t["value"]) + (f"–{num(t['upper'])}" if t.get("upper") is not None else "")


def width(s):
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)


def pad(s, w, right=False):
    """Pads, or cuts with …, to w terminal columns (a Chinese character takes two)."""
    if width(s) > w:
        while width(s) > w - 1:
            s = s[:-1]
        s += "…"
    fill = " " * (w - width(s))
    return fill + s if right else s + fill


def fetch(args):
    params = [("as_of", args.as_of), ("as_known_at", args.as_known_at),
              ("group", args.group), ("lead_unit", args.lead_unit)]
    query = urllib.parse.urlencode([(k, v) for k, v in params if v])
    url = args.url.rstrip("/") + "/v1/attainment" + ("?" + query if query else "")
    req = urllib.request.Request(url, headers={"Accept": "application/json"})
    token = args.token or os.environ.get("ZHIBIAO_TOKEN")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=30) as res:
        return json.load(res)


def main():
    p = argparse.ArgumentParser(description="Print attainment from a zhibiao server.")
    p.add_argument("--url", default="http://127.0.0.1:8080", help="server (default %(default)s)")
    p.add_argument("--as-of", help="period, e.g. 2023-06 (default: the latest with readings)")
    p.add_argument("--as-known-at", help="RFC 3339 time: answer as the store stood then")
    p.add_argument("--group", "--battle", dest="group",
                   help="a group of the plan, by key or name (growth … livelihood for Taojiang 2023)")
    p.add_argument("--lead-unit", help="only indicators led by this unit, e.g. 县科工局")
    p.add_argument("--token", help="bearer token, for a --private server (default: $ZHIBIAO_TOKEN)")
    p.add_argument("--lagging-only", action="store_true", help="only behind, severely_behind, missed")
    p.add_argument("--csv", metavar="FILE", help="write CSV (UTF-8 with BOM) to FILE; - for stdout")
    args = p.parse_args()
    try:
        data = fetch(args)
    except urllib.error.HTTPError as e:
        body = e.read().decode("utf-8", "replace")
        try:
            prob = json.loads(body)
            msg = f"{prob.get('title', e.reason)}: {prob.get('detail', '')}"
            msg += f" (field: {prob['field']})" if prob.get("field") else ""
        except ValueError:
            msg = body.strip() or str(e.reason)
        hint = "; pass --token or set ZHIBIAO_TOKEN" if e.code == 401 else ""
        sys.exit(f"pull-attainment: HTTP {e.code}: {msg}{hint}")
    except (urllib.error.URLError, OSError) as e:
        sys.exit(f"pull-attainment: cannot reach {args.url}: {getattr(e, 'reason', e)}")
    except ValueError as e:
        sys.exit(f"pull-attainment: the answer is not JSON ({e})")
    rows = [a for a in data["attainment"] if not args.lagging_only or a["status"] in LAGGING]
    table = [[a["indicator"], a["name"], num(a["actual"]), target_text(a["target"]),
              pct(a["attainment"]), pct(a["scheduled_pace"]), a["status"]] for a in rows]
    note = f"as_of {data['as_of']}: {len(rows)} of {data['count']} indicators"
    if args.csv:
        try:
            out = sys.stdout if args.csv == "-" else open(args.csv, "w", encoding="utf-8-sig", newline="")
            csv.writer(out).writerows([HEADER] + table)
            if out is not sys.stdout:
                out.close()
        except OSError as e:
            sys.exit(f"pull-attainment: cannot write {args.csv}: {e}")
        print(note if args.csv == "-" else f"{note}; CSV written to {args.csv}", file=sys.stderr)
        return 0
    widths = [max(width(r[0]) for r in [HEADER] + table), 24, 9, 9, 7, 6, 15]
    print(note)
    for r in [HEADER] + table:
        print(" ".join(pad(c, w, 2 <= i <= 5) for i, (c, w) in enumerate(zip(r, widths))).rstrip())
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # e.g. piped into head: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
