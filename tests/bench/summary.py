#!/usr/bin/env python3
"""tests/bench/summary.py [--commit C] OUTPUT...: one table of `tests/bench/run all`.

Reads the JSON line each benchmark prints last and shows every figure beside its floor
measured in the same run (raw publish, COPY of the same events, a static axum route, the
unrecorded read, the fsynced append), the ratio, and the goal. Figures come only from the
files given: nothing here is a number of its own.
"""

import json
import sys


def last_json(path):
    found = None
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if line.startswith("{") and '"bench"' in line:
                try:
                    found = json.loads(line)
                except json.JSONDecodeError:
                    pass
    return found


def case(cases, **want):
    for c in cases:
        if all(c.get(k) == v for k, v in want.items()):
            return c
    return None


def main(argv):
    commit = "unknown"
    paths = []
    args = iter(argv)
    for a in args:
        if a == "--commit":
            commit = next(args, commit)
        else:
            paths.append(a)
    results = [r for r in (last_json(p) for p in paths) if r]
    rows = []  # (figure, value, unit, floor, floor value, ratio, goal, met)

    def row(figure, value, unit, floor, floor_value, goal_ratio=None, goal_text="", met=None):
        ratio = value / floor_value if value and floor_value else None
        if met is None and goal_ratio is not None and ratio is not None:
            met = ratio >= goal_ratio
        rows.append((figure, value, unit, floor, floor_value, ratio, goal_text, met))

    for r in results:
        b = r.get("bench")
        cases = r.get("cases", [])
        if b == "append":
            raw = case(cases, case="raw publish", in_flight=256) or case(cases, case="raw publish")
            cond = case(cases, case="conditional append", in_flight=256) or case(
                cases, case="conditional append"
            )
            if raw and cond:
                row("conditional append, pipelined", cond["events_per_s"], "ev/s",
                    "raw JetStream publish", raw["events_per_s"])
        elif b == "access":
            for n in sorted({c["requesters"] for c in cases}):
                g = case(cases, case="group commit", requesters=n)
                e = case(cases, case="append per event", requesters=n)
                if g and e:
                    row(f"access records, group commit, {n} requesters", g["events_per_s"],
                        "ev/s", "one append per event", e["events_per_s"])
        elif b == "rebuild":
            for c in cases:
                row(f"rebuild {c['projection']}", c["rebuild_events_per_s"], "ev/s",
                    "COPY of the same events", c["copy_rows_per_s"], 0.6, ">= 0.6x")
                row(f"catch-up {c['projection']}", c["catch_up_events_per_s"], "ev/s",
                    "COPY of the same events", c["copy_rows_per_s"], 0.6, ">= 0.6x")
        elif b == "lag":
            rows.append((f"append -> care row visible, p99 at {r['rate']}/s", r["lag_p99_ms"],
                         "ms", "append -> fsynced ack, p99", r["append_p99_ms"], None,
                         "<= 25 ms", r["lag_p99_ms"] <= 25))
        elif b == "gateway":
            site = case(cases, case="GET /api/v1/sites/{id} (bearer)")
            static = case(cases, case="static axum route")
            if site and static:
                row(f"GET /api/v1/sites/{{id}}, {r['clients']} clients", site["per_s"], "req/s",
                    "static axum route", static["per_s"], 0.15, ">= 0.15x")
                rows.append((f"GET /api/v1/sites/{{id}} p99, {r['clients']} clients",
                             site["p99_ms"], "ms", "static axum route p99", static["p99_ms"],
                             None, "<= 20 ms", site["p99_ms"] <= 20))
        elif b == "patient-read":
            for route in ("GET /api/v1/patients/{id}", "GET /api/v1/patients/{id}/record"):
                on = case(cases, case=f"{route}, recorded")
                off = case(cases, case=f"{route}, NOT recorded")
                if on and off:
                    row(f"{route} recorded, {r['clients']} clients", on["per_s"], "req/s",
                        "the same read unrecorded", off["per_s"], 0.8, ">= 0.8x")
        elif b == "audit":
            ingest = r.get("ingest", {})
            if ingest.get("events_per_s"):
                rows.append(("audit ingest at 10 M records", ingest["events_per_s"], "ev/s", "",
                             None, None, ">= 10,000/s", ingest["events_per_s"] >= 10_000))

    print()
    print(f"tests/bench/run all at commit {commit}: each figure beside its floor in this run")
    head = f"{'figure':<52} {'value':>10} {'unit':<5} {'floor':<28} {'floor':>10} {'ratio':>7}  {'goal':<10} met"
    print(head)
    print("-" * len(head))
    for figure, value, unit, floor, floor_value, ratio, goal, met in rows:
        fv = "" if floor_value is None else f"{floor_value:10.1f}"
        rv = "" if ratio is None else f"{ratio:7.2f}"
        mv = "" if met is None else ("yes" if met else "NO")
        print(f"{figure:<52} {value:>10.1f} {unit:<5} {floor:<28} {fv:>10} {rv:>7}  {goal:<10} {mv}")
    print()
    print(json.dumps({"bench": "all", "commit": commit, "rows": [
        {"figure": f, "value": v, "unit": u, "floor": fl, "floor_value": fv,
         "ratio": None if r is None else round(r, 3), "goal": g, "met": m}
        for f, v, u, fl, fv, r, g, m in rows]}, ensure_ascii=False))


if __name__ == "__main__":
    main(sys.argv[1:])
