"""Interop: three days of `users` with growing schemas in one lake, read by every engine;
then a lake of three orgs that differ in shape, read as one table by every engine.

Usage: interop.py JCLAKE_BIN [--spark]

Day 1 has the declared columns; day 2 adds a column (`drift_new_field`) and a nested field
(`mfa.drift_nested`); day 3 has more of both and values of the wrong JSON type (kept in
`_rescued`). The whole table, across all partitions, is read with DuckDB (union_by_name),
DataFusion and pyarrow datasets (and Spark with mergeSchema when --spark is given); every
engine must return the same rows and values, and the exact counts below.
The second lake: three orgs behind one multi-tenant key, whose users carry `ssh_keys`
shaped differently per org (a list of key objects first in one org, empty lists first in
the others); `users` and `events` must read as one table across the `org_id=` folders.
Prints 'N passed, N failed' and exits non-zero on any failure.
"""

import argparse
import datetime
import glob
import json
import os
import subprocess
import sys
import tempfile
import urllib.request

passed = 0
failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print(f"FAIL: {what}")


DAYS = [
    ("2026-11-20", []),
    ("2026-11-21", ["--drift-field-after", "100"]),
    ("2026-11-22", ["--drift-field-after", "50", "--drift-type-every", "7"]),
]
USERS = 250


def export_day(binary, lake, date, drift):
    sim = subprocess.Popen(
        [binary, "sim", "serve", "--port", "0", "--users", str(USERS), *drift],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        url = sim.stdout.readline().strip()
        if not url.startswith("http://127.0.0.1:"):
            raise SystemExit(f"simulator did not start: {url!r}")
        env = dict(os.environ, JUMPCLOUD_API_KEY="sim-api-key")
        subprocess.run(
            [binary, "export", "--lake", lake, "--base-url", url, "--tables", "users", "--snapshot-date", date],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    finally:
        sim.terminate()
        sim.wait(timeout=30)


def norm(rows):
    """Rows as comparable tuples: (date, id, username, drift_new_field, drift_nested, unix_uid, rescued)."""
    out = []
    for r in rows:
        rescued = r["_rescued"]
        out.append(
            (
                str(r["snapshot_date"]),
                r["id"],
                r["username"],
                r["drift_new_field"],
                r["drift_nested"],
                r["unix_uid"],
                json.dumps(json.loads(rescued), sort_keys=True) if rescued else None,
                r["created_us"],
            )
        )
    return sorted(out)


def read_duckdb(lake):
    import duckdb

    con = duckdb.connect()
    rel = con.execute(
        f"""SELECT CAST(snapshot_date AS VARCHAR) AS snapshot_date, id, username, drift_new_field,
                   mfa.drift_nested AS drift_nested, unix_uid, _rescued, epoch_us(created) AS created_us
            FROM read_parquet('{lake}/users/*/*.parquet', hive_partitioning = true, union_by_name = true)"""
    )
    cols = [d[0] for d in rel.description]
    return [dict(zip(cols, r)) for r in rel.fetchall()]


def read_datafusion(lake):
    import datafusion

    ctx = datafusion.SessionContext()
    ctx.register_parquet("users", f"{lake}/users/", table_partition_cols=[("snapshot_date", "string")])
    df = ctx.sql(
        """SELECT snapshot_date, id, username, drift_new_field, users.mfa['drift_nested'] AS drift_nested,
                  unix_uid, _rescued, CAST(created AS BIGINT) AS created_us FROM users"""
    )
    return df.to_arrow_table().to_pylist()


def read_pyarrow(lake):
    import glob

    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    files = sorted(glob.glob(f"{lake}/users/*/*.parquet"))
    schema = pa.unify_schemas([pq.read_schema(f) for f in files], promote_options="permissive")
    part = ds.partitioning(pa.schema([("snapshot_date", pa.string())]), flavor="hive")
    schema = pa.unify_schemas([schema, pa.schema([("snapshot_date", pa.string())])])
    t = ds.dataset(f"{lake}/users", format="parquet", partitioning=part, schema=schema).to_table()
    nested = pc.struct_field(t["mfa"], "drift_nested")
    created = pc.cast(t["created"], pa.int64())
    rows = []
    for i, r in enumerate(t.select(["snapshot_date", "id", "username", "drift_new_field", "unix_uid", "_rescued"]).to_pylist()):
        r["drift_nested"] = nested[i].as_py()
        r["created_us"] = created[i].as_py()
        rows.append(r)
    return rows


def spark_session():
    """A local Spark on 127.0.0.1 only, times in UTC."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    return (
        SparkSession.builder.master("local[1]")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )


def read_spark(lake):
    from pyspark.sql import functions as F

    spark = spark_session()
    try:
        df = spark.read.option("mergeSchema", "true").parquet(f"{lake}/users")
        df = df.select(
            F.col("snapshot_date").cast("string").alias("snapshot_date"),
            "id",
            "username",
            "drift_new_field",
            F.col("mfa.drift_nested").alias("drift_nested"),
            "unix_uid",
            "_rescued",
            F.expr("unix_micros(created)").alias("created_us"),
        )
        return [r.asDict() for r in df.collect()]
    finally:
        spark.stop()


MO_USERS = 60


def multi_org_lake(binary, lake):
    """Exports three orgs that differ in shape; returns the events the run committed."""
    sim = subprocess.Popen(
        [binary, "sim", "serve", "--port", "0", "--orgs", "3", "--drift-ssh-keys", "--users", str(MO_USERS),
         "--events", "300", "--event-days", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        url = sim.stdout.readline().strip()
        if not url.startswith("http://127.0.0.1:"):
            raise SystemExit(f"simulator did not start: {url!r}")
        with urllib.request.urlopen(f"{url}/_sim/orgs") as r:
            orgs = json.load(r)
        settings = os.path.join(os.path.dirname(lake), "orgs.toml")
        with open(settings, "w") as f:
            f.write("".join(f'[[orgs]]\norg_id = "{o}"\n' for o in orgs))
        since = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=3)).strftime("%Y-%m-%d")
        env = dict(os.environ, JUMPCLOUD_API_KEY="sim-msp-key")
        subprocess.run(
            [binary, "export", "--lake", lake, "--base-url", url, "--config", settings, "--tables", "users,events",
             "--snapshot-date", "2026-11-20", "--events-since", since],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    finally:
        sim.terminate()
        sim.wait(timeout=30)
    events = 0
    for m in glob.glob(f"{lake}/_jclake/runs/*.json"):
        with open(m) as f:
            events += sum(t["rows"] for t in json.load(f)["tables"] if t["table"] == "events")
    return events


def mo_duckdb(lake):
    import duckdb

    con = duckdb.connect()
    users = con.execute(
        f"SELECT count(*), count(ssh_keys), count(DISTINCT org_id) FROM read_parquet('{lake}/users/*/*/*.parquet', hive_partitioning = true, union_by_name = true)"
    ).fetchone()
    events = con.execute(
        f"SELECT count(*), count(DISTINCT org_id) FROM read_parquet('{lake}/events/*/*/*.parquet', hive_partitioning = true, union_by_name = true)"
    ).fetchone()
    return (*users, *events)


def mo_datafusion(lake):
    import datafusion

    ctx = datafusion.SessionContext()
    ctx.register_parquet("users", f"{lake}/users/", table_partition_cols=[("org_id", "string"), ("snapshot_date", "string")])
    ctx.register_parquet("events", f"{lake}/events/", table_partition_cols=[("org_id", "string"), ("event_date", "string")])
    users = ctx.sql("SELECT count(*) AS n, count(ssh_keys) AS k, count(DISTINCT org_id) AS o FROM users").to_arrow_table().to_pylist()[0]
    events = ctx.sql("SELECT count(*) AS n, count(DISTINCT org_id) AS o FROM events").to_arrow_table().to_pylist()[0]
    return (users["n"], users["k"], users["o"], events["n"], events["o"])


def mo_pyarrow(lake):
    import pyarrow as pa
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    out = []
    for table, date in (("users", "snapshot_date"), ("events", "event_date")):
        files = sorted(glob.glob(f"{lake}/{table}/*/*/*.parquet"))
        parts = pa.schema([("org_id", pa.string()), (date, pa.string())])
        schema = pa.unify_schemas([pq.read_schema(f) for f in files] + [parts], promote_options="permissive")
        t = ds.dataset(f"{lake}/{table}", format="parquet", partitioning=ds.partitioning(parts, flavor="hive"), schema=schema).to_table()
        orgs = len(set(t["org_id"].to_pylist()))
        if table == "users":
            out += [t.num_rows, t.num_rows - t["ssh_keys"].null_count, orgs]
        else:
            out += [t.num_rows, orgs]
    return tuple(out)


def mo_spark(lake):
    from pyspark.sql import functions as F

    spark = spark_session()
    try:
        users = spark.read.option("mergeSchema", "true").parquet(f"{lake}/users")
        u = users.agg(F.count("*"), F.count("ssh_keys"), F.countDistinct("org_id")).collect()[0]
        events = spark.read.option("mergeSchema", "true").parquet(f"{lake}/events")
        e = events.agg(F.count("*"), F.countDistinct("org_id")).collect()[0]
        return (u[0], u[1], u[2], e[0], e[1])
    finally:
        spark.stop()


def multi_org(binary, tmp, spark):
    lake = os.path.join(tmp, "orgs-lake")
    events = multi_org_lake(binary, lake)
    check(events > 0, "the multi-org run committed events")
    engines = {"duckdb": mo_duckdb, "datafusion": mo_datafusion, "pyarrow": mo_pyarrow}
    if spark:
        engines["spark"] = mo_spark
    want = (3 * MO_USERS, 3 * MO_USERS, 3, events, 3)
    for name, read in engines.items():
        try:
            got = tuple(int(x) for x in read(lake))
        except Exception as e:
            check(False, f"{name} cannot read the three-org lake as one: {type(e).__name__}: {e}")
            continue
        check(got == want, f"{name}: three-org lake (users, with ssh_keys, orgs, events, orgs) {got}, expected {want}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("binary")
    p.add_argument("--spark", action="store_true")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        lake = os.path.join(tmp, "lake")
        for date, drift in DAYS:
            export_day(args.binary, lake, date, drift)
        engines = {"duckdb": read_duckdb, "datafusion": read_datafusion, "pyarrow": read_pyarrow}
        if args.spark:
            engines["spark"] = read_spark
        results = {}
        for name, read in engines.items():
            try:
                results[name] = norm(read(lake))
            except Exception as e:  # one engine failing must not hide the others' results
                check(False, f"{name} cannot read the lake: {type(e).__name__}: {e}")
        for name, rows in results.items():
            check(len(rows) == USERS * len(DAYS), f"{name}: {len(rows)} rows, expected {USERS * len(DAYS)}")
            new = sum(1 for r in rows if r[3] is not None)
            nested = sum(1 for r in rows if r[4] is not None)
            rescued = sum(1 for r in rows if r[6] is not None)
            check(new == 150 + 200, f"{name}: {new} rows with drift_new_field, expected 350")
            check(nested == 150 + 200, f"{name}: {nested} rows with mfa.drift_nested, expected 350")
            check(rescued == 35, f"{name}: {rescued} rows with _rescued, expected 35")
            per_day = {d: sum(1 for r in rows if r[0] == d) for d, _ in DAYS}
            check(all(n == USERS for n in per_day.values()), f"{name}: rows per day {per_day}")
            check(all(r[7] is not None for r in rows), f"{name}: every created timestamp read")
        base = results.get("duckdb")
        for name, rows in results.items():
            if base is not None and name != "duckdb":
                same = rows == base
                if not same:
                    diff = next((a, b) for a, b in zip(base, rows) if a != b) if len(rows) == len(base) else "row counts differ"
                    print(f"first difference duckdb vs {name}: {diff}")
                check(same, f"{name} returns the same rows and values as duckdb")
        multi_org(args.binary, tmp, args.spark)
    print(f"interop: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
