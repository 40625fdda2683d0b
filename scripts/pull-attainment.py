#!/usr/bin/env python3
"""Pull attainment (完成率) from a zhibiao server: the month's lagging list, a table, or CSV.

One request to GET /v1/attainment, filtered on the server (`status=lagging`, groups,
units, region); each row's sentence is the server's `message`, as the dashboard and the
bulletin print it. Standard library only; see docs/api.md §2.7. Exit code 0 on
success, 1 on any error.
"""
import argparse, csv, json, os, sys, unicodedata
import urllib.error, urllib.parse, urllib.request

CSV_HEADER = ["indicator", "name", "group_name", "lead_units", "frequency", "status",
              "status_label", "actual", "actual_period", "target", "message"]


def num(v):
    return "" if v is None else f"{v:g}"


def target_text(t):
    if not t or t.get("value") is None:
        return ""
    return num(t["value"]) + (f"–{num(t['upper'])}" if t.get("upper") is not None else "")


def width(s):
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)


def pad(s, w):
    """Pads, or cuts with …, to w terminal columns (a Chinese character takes two)."""
    if width(s) > w:
        while width(s) > w - 1:
            s = s[:-1]
        s += "…"
    return s + " " * (w - width(s))


def fetch(args):
    params = [("as_of", args.as_of), ("as_known_at", args.as_known_at),
              ("status", "lagging" if args.lagging else args.status),
              ("group", args.group), ("lead_unit", args.lead_unit), ("region", args.region)]
    query = urllib.parse.urlencode([(k, v) for k, v in params if v])
    url = args.url.rstrip("/") + "/v1/attainment" + ("?" + query if query else "")
    req = urllib.request.Request(url, headers={"Accept": "application/json",
                                               "Accept-Language": args.lang})
    token = args.token or os.environ.get("ZHIBIAO_TOKEN")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=30) as res:
        return json.load(res)


def main():
    p = argparse.ArgumentParser(
        description="The month's lagging list, or any attainment rows, from a zhibiao server.")
    p.add_argument("--url", default="http://127.0.0.1:8080", help="server (default %(default)s)")
    p.add_argument("--as-of", help="period, e.g. 2023-06 (default: the latest with readings)")
    p.add_argument("--as-known-at", help="RFC 3339 time: answer as the store stood then")
    p.add_argument("--lagging", "--lagging-only", action="store_true",
                   help="only the lagging rows (status=lagging: behind and severely_behind)")
    p.add_argument("--status", help="statuses, comma-separated (e.g. missed,severely_behind)")
    p.add_argument("--group", "--battle", dest="group",
                   help="groups of the plan, comma-separated: key, name or part of a name (民生)")
    p.add_argument("--lead-unit", help="units, comma-separated, e.g. 县科工局,县人社局")
    p.add_argument("--region", help="regions, comma-separated, or * (default: the home region)")
    p.add_argument("--lang", default="zh", choices=["zh", "en"], help="language of the sentences")
    p.add_argument("--token", help="bearer token, for a --private server (default: $ZHIBIAO_TOKEN)")
    p.add_argument("--csv", metavar="FILE", help="write CSV (UTF-8 with BOM) to FILE; - for stdout")
    args = p.parse_args()
    if args.lagging and args.status:
        p.error("--lagging and --status cannot be combined")
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
    rows = data["attainment"]
    what = "lagging" if args.lagging else "rows"
    note = f"as_of {data['as_of']}: {len(rows)} {what}"
    if args.csv:
        table = [[a["indicator"], a["name"], a["group_name"], "、".join(a["lead_units"]),
                  a["frequency"], a["status"], a["status_label"], num(a["actual"]),
                  a["actual_period"] or "", target_text(a["target"]), a["message"] or ""]
                 for a in rows]
        try:
            out = sys.stdout if args.csv == "-" else open(args.csv, "w", encoding="utf-8-sig", newline="")
            csv.writer(out).writerows([CSV_HEADER] + table)
            if out is not sys.stdout:
                out.close()
        except OSError as e:
            sys.exit(f"pull-attainment: cannot write {args.csv}: {e}")
        print(note if args.csv == "-" else f"{note}; CSV written to {args.csv}", file=sys.stderr)
        return 0
    # The list as a bulletin runs it: by group, each row with its units and sentence.
    print(note)
    group = None
    for a in rows:
        if a["group_name"] != group:
            group = a["group_name"]
            print(group)
        label = a["status"] if args.lang == "en" else a["status_label"]
        units = "、".join(a["lead_units"])
        sentence = a["message"] or ("no figure yet" if args.lang == "en" else "暂无数据")
        if args.lang == "en":
            print(f"  {pad(label, 16)}{a['name']} ({units}): {sentence}")
        else:
            print(f"  {pad(label, 16)}{a['name']}（{units}）：{sentence}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # e.g. piped into head: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
