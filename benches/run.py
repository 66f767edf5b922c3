#!/usr/bin/env python3
"""`make bench`: jclake beside its peers, whole processes, one run, one printed table.

1. Decode+encode alone: NDJSON pages of users and of Directory Insights events -> zstd
   Parquet (`decode_file`, built from benches/decode_file.rs), beside DuckDB's
   `read_json` -> zstd Parquet on the same file, one thread (PyPI duckdb in .venv).
2. A whole export against the simulator in its own process (users, systems, user groups,
   200,000 events), beside dlt's `rest_api` pipeline when `dlt` is importable.
3. A 1,000,000-event backfill: peak RSS at each memory_limit_mb.
4. A latency-bound backfill (simulator at 300 ms per request): wall, requests, and the
   floor requests x latency / requests in flight.

Every figure is `/usr/bin/time -f "%e %U %S %M"` of one process: wall s, user+system
CPU s, peak RSS. Sizes shrink with BENCH_QUICK=1. Budgets: BENCH_ASSERT=1 makes a missed
target fail the run (never part of `make test`).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
JCLAKE = os.path.join(ROOT, "target/release/jclake")
DECODE = os.path.join(ROOT, "target/release/examples/decode_file")
PY = sys.executable
QUICK = os.environ.get("BENCH_QUICK") == "1"
KEY = "sim-api-key"


def timed(cmd, env=None, cwd=None):
    """Runs cmd under /usr/bin/time; returns (wall, cpu, rss_mib, stdout)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as t:
        full = ["/usr/bin/time", "-o", t.name, "-f", "%e %U %S %M"] + cmd
        e = dict(os.environ, **(env or {}))
        p = subprocess.run(full, env=e, cwd=cwd, capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr[-2000:]}")
        wall, user, sys_, rss = t.read().split()[-4:]
        return float(wall), float(user) + float(sys_), int(rss) / 1024, p.stdout


class Sim:
    def __init__(self, *args):
        self.log = tempfile.TemporaryFile()
        self.p = subprocess.Popen([JCLAKE, "sim", "serve", "--port", "0", *args],
                                  stdout=subprocess.PIPE, stderr=self.log, text=True)
        self.url = self.p.stdout.readline().strip()
        if not self.url.startswith("http"):
            self.log.seek(0)
            sys.exit(f"simulator did not start: {self.log.read()[-2000:]}")

    def stop(self):
        self.p.terminate()
        self.p.wait()


def post(url, body):
    req = urllib.request.Request(url, method="POST", data=json.dumps(body).encode(),
                                 headers={"x-api-key": KEY, "content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=300) as r:
        return json.loads(r.read()), r.headers


def dump_events(url, out):
    after = None
    with open(out, "w") as f:
        while True:
            body = {"service": ["all"], "start_time": "2000-01-01T00:00:00Z", "limit": 10000, "sort": "ASC"}
            if after:
                body["search_after"] = after
            page, h = post(url + "/insights/directory/v1/events", body)
            for e in page:
                f.write(json.dumps(e, ensure_ascii=False, separators=(",", ":")) + "\n")
            sa = h.get("X-Search_after")
            if int(h["X-Result-Count"]) < int(h["X-Limit"]) or not sa:
                return
            after = json.loads(sa)


def dump_users(url, out):
    skip = 0
    with open(out, "w") as f:
        while True:
            req = urllib.request.Request(f"{url}/api/systemusers?limit=100&skip={skip}&sort=_id",
                                         headers={"x-api-key": KEY})
            with urllib.request.urlopen(req, timeout=300) as r:
                page = json.loads(r.read())["results"]
            for u in page:
                f.write(json.dumps(u, ensure_ascii=False, separators=(",", ":")) + "\n")
            skip += len(page)
            if len(page) < 100:
                return


DUCK = """
import duckdb, sys
con = duckdb.connect()
con.execute("SET threads=1")
con.execute(f"COPY (SELECT * FROM read_json('{sys.argv[1]}', format='newline_delimited', "
            f"union_by_name=true, sample_size=-1)) TO '{sys.argv[2]}' (FORMAT parquet, COMPRESSION zstd)")
"""


def rows_of(table):
    out = ["| what | who | wall s | CPU s | peak RSS MiB | figure |", "|---|---|---|---|---|---|"]
    out += [f"| {a} | {b} | {c:.2f} | {d:.2f} | {e:.0f} | {f} |" for a, b, c, d, e, f in table]
    return "\n".join(out)


def main():
    work = tempfile.mkdtemp(prefix="jclake-bench-")
    table, checks = [], []
    users, events = (2000, 40000) if QUICK else (10000, 200000)
    try:
        # 1 and 2: one org, the issue's: 10,000 users, 2,000 systems, 200 groups, 200,000 events.
        sim = Sim("--seed", "7", "--users", str(users), "--systems", str(users // 5),
                  "--user-groups", "200", "--events", str(events), "--event-days", "30")
        try:
            for name, dump, page in [("events", dump_events, 10000), ("users", dump_users, 100)]:
                src = os.path.join(work, f"{name}.ndjson")
                dump(sim.url, src)
                mb = os.path.getsize(src) / 1e6
                table_name = "events" if name == "events" else "users"
                out = os.path.join(work, f"dec-{name}")
                w, cpu, rss, so = timed([DECODE, table_name, src, out, str(page)])
                rows = json.loads(so.strip().splitlines()[-1])["rows"]
                w2, cpu2, rss2, _ = timed([PY, "-c", DUCK, src, os.path.join(work, f"{name}.parquet")])
                ratio = cpu / cpu2
                table.append((f"decode+encode {name} ({mb:.0f} MB NDJSON, {rows} rows)", "jclake", w, cpu, rss,
                              f"{mb / w:.0f} MB/s, {rows / w:,.0f} rows/s, {cpu / mb * 1000:.1f} CPU-s/GB; "
                              f"{ratio:.2f}x DuckDB's CPU"))
                table.append(("", "DuckDB read_json, 1 thread", w2, cpu2, rss2,
                              f"{mb / w2:.0f} MB/s, {cpu2 / mb * 1000:.1f} CPU-s/GB"))
                if name == "events":
                    checks.append(("events decode CPU <= DuckDB's", ratio <= 1.0, f"{ratio:.2f}x"))
            lake = os.path.join(work, "lake")
            w, cpu, rss, _ = timed([JCLAKE, "export", "--lake", lake, "--base-url", sim.url,
                                    "--tables", "users,systems,user_groups,events"],
                                   env={"JUMPCLOUD_API_KEY": KEY, "JCLAKE_LOG": "warn"})
            table.append((f"export users, systems, groups, {events:,} events", "jclake", w, cpu, rss,
                          "default settings (memory_limit_mb 128)"))
            checks.append(("export peak RSS <= 128 MiB", rss <= 128, f"{rss:.0f} MiB"))
            dlt = os.path.join(ROOT, "..", "shared", "peers", "dlt_peer.py")
            has_dlt = subprocess.run([PY, "-c", "import dlt"], capture_output=True).returncode == 0
            if has_dlt and os.path.exists(dlt):
                w2, cpu2, rss2, _ = timed([PY, dlt, sim.url, os.path.join(work, "dlt"), "--events"],
                                          env={"JUMPCLOUD_API_KEY": KEY})
                table.append(("", "dlt rest_api -> Parquet", w2, cpu2, rss2, f"jclake uses {cpu / cpu2:.2f}x its CPU"))
                checks.append(("export CPU <= dlt's / 10", cpu <= cpu2 / 10, f"{cpu2 / cpu:.1f}x less"))
            else:
                table.append(("", "dlt", 0, 0, 0, "not installed (pip install 'dlt[parquet]' in .venv)"))
        finally:
            sim.stop()

        # 3: 1,000,000 events over 30 days, memory at each budget.
        n = 200000 if QUICK else 1000000
        sim = Sim("--seed", "7", "--users", "100", "--systems", "20", "--events", str(n), "--event-days", "30")
        try:
            for mb in (64, 128, 256):
                lake = os.path.join(work, f"bf-{mb}")
                w, cpu, rss, _ = timed([JCLAKE, "export", "--lake", lake, "--base-url", sim.url, "--tables", "events",
                                        "--memory-limit-mb", str(mb)], env={"JUMPCLOUD_API_KEY": KEY, "JCLAKE_LOG": "warn"})
                table.append((f"backfill {n:,} events, memory_limit_mb {mb}", "jclake", w, cpu, rss,
                              f"{n / w:,.0f} events/s"))
                if mb == 128:
                    checks.append((f"{n:,}-event backfill peak RSS <= 128 MiB", rss <= 128, f"{rss:.0f} MiB"))
        finally:
            sim.stop()

        # 4: latency-bound: every request takes 300 ms.
        n = 40000 if QUICK else 200000
        sim = Sim("--seed", "7", "--users", "100", "--systems", "20", "--events", str(n), "--event-days", "30",
                  "--latency-ms", "300")
        try:
            lake = os.path.join(work, "slow")
            w, cpu, rss, _ = timed([JCLAKE, "export", "--lake", lake, "--base-url", sim.url, "--tables", "events"],
                                   env={"JUMPCLOUD_API_KEY": KEY, "JCLAKE_LOG": "warn"})
            runs = os.path.join(lake, "_jclake", "runs")
            m = json.load(open(os.path.join(runs, sorted(os.listdir(runs))[-1])))
            made = m["requests"]["made"]
            # Requests in flight: the day queries the budget allows at default settings.
            in_flight = 2
            floor = made * 0.3 / in_flight
            table.append((f"backfill {n:,} events at 300 ms/request", "jclake", w, cpu, rss,
                          f"{made} requests; floor {made} x 0.3 s / {in_flight} = {floor:.1f} s; {w / floor:.2f}x the floor"))
            checks.append(("latency-bound wall <= 1.5x floor", w <= 1.5 * floor, f"{w / floor:.2f}x"))
        finally:
            sim.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(rows_of(table))
    print()
    for name, ok, fig in checks:
        print(f"{'met' if ok else 'MISSED'}: {name} ({fig})")
    if os.environ.get("BENCH_ASSERT") == "1" and not all(ok for _, ok, _ in checks):
        sys.exit(1)


if __name__ == "__main__":
    main()
