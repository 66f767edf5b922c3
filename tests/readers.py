"""Reads a jclake lake with DuckDB and pyarrow and checks it against its run manifest.

Usage: readers.py LAKE [--users N] [--user-groups N] [--systems N]

For the latest run (state.json's last_run_id), every committed table's partition must read
back with exactly the manifest's row count in both engines, ids must be unique, the column
types must be the ones the schemas declare, and edge tables must point at exported objects.
Prints 'N passed, N failed' and exits non-zero on any failure.
"""

import argparse
import json
import pathlib
import sys

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds

passed = 0
failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print(f"FAIL: {what}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("lake")
    p.add_argument("--users", type=int)
    p.add_argument("--user-groups", type=int)
    p.add_argument("--systems", type=int)
    p.add_argument("--events", type=int)
    args = p.parse_args()
    lake = pathlib.Path(args.lake)
    state = json.loads((lake / "_jclake" / "state.json").read_text())
    run = json.loads((lake / "_jclake" / "runs" / f"{state['last_run_id']}.json").read_text())
    date = run["snapshot_date"]
    check(run["outcome"] == "succeeded", f"run outcome {run['outcome']}")
    con = duckdb.connect()
    rows = {}
    for t in run["tables"]:
        name = t["table"]
        if not t["files"]:
            continue  # an events day with no events writes no file
        key, value = t["partition"].split("=", 1)
        glob = f"{lake}/{name}/*/*.parquet"
        n_duck = con.execute(
            f"SELECT count(*) FROM read_parquet('{glob}', hive_partitioning = true, union_by_name = true) "
            f"WHERE CAST({key} AS VARCHAR) = ?",
            [value],
        ).fetchone()[0]
        part = pa.schema([(key, pa.string())])
        dset = ds.dataset(lake / name, format="parquet", partitioning=ds.partitioning(part, flavor="hive"))
        n_arrow = dset.count_rows(filter=ds.field(key) == value)
        check(n_duck == t["rows"], f"{name}/{t['partition']}: duckdb reads {n_duck} rows, manifest says {t['rows']}")
        check(n_arrow == t["rows"], f"{name}/{t['partition']}: pyarrow reads {n_arrow} rows, manifest says {t['rows']}")
        rows[name] = rows.get(name, 0) + n_duck

    for table, expected in [("users", args.users), ("user_groups", args.user_groups), ("systems", args.systems)]:
        if expected is not None:
            check(rows.get(table) == expected, f"{table}: {rows.get(table)} rows, expected {expected}")

    def q(sql):
        return con.execute(sql).fetchall()

    users = f"read_parquet('{lake}/users/*/*.parquet', hive_partitioning = true)"
    dup = q(f"SELECT count(*) - count(DISTINCT id) FROM {users} WHERE CAST(snapshot_date AS VARCHAR) = '{date}'")[0][0]
    check(dup == 0, f"users: {dup} duplicate ids")
    types = dict(q(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {users})"))
    check(types.get("created") == "TIMESTAMP WITH TIME ZONE", f"duckdb users.created is {types.get('created')}")
    check(types.get("unix_uid") == "BIGINT", f"duckdb users.unix_uid is {types.get('unix_uid')}")
    check(str(types.get("mfa", "")).startswith("STRUCT("), f"duckdb users.mfa is {types.get('mfa')}")
    check(str(types.get("addresses", "")).startswith("STRUCT(") and str(types.get("addresses")).endswith("[]"),
          f"duckdb users.addresses is {types.get('addresses')}")
    part = pa.schema([("snapshot_date", pa.string())])
    schema = ds.dataset(lake / "users", format="parquet", partitioning=ds.partitioning(part, flavor="hive")).schema
    check(schema.field("created").type == pa.timestamp("us", tz="UTC"), f"pyarrow users.created is {schema.field('created').type}")
    check(schema.field("id").nullable is False, "pyarrow users.id is not nullable")

    members = f"read_parquet('{lake}/user_group_members/*/*.parquet', hive_partitioning = true)"
    dangling = q(
        f"SELECT count(*) FROM {members} m WHERE CAST(m.snapshot_date AS VARCHAR) = '{date}' AND m.member_type = 'user' "
        f"AND m.member_id NOT IN (SELECT id FROM {users} WHERE CAST(snapshot_date AS VARCHAR) = '{date}')"
    )[0][0]
    check(dangling == 0, f"user_group_members: {dangling} members point at no exported user")

    if args.events is not None:
        events = f"read_parquet('{lake}/events/*/*.parquet', hive_partitioning = true, union_by_name = true)"
        n, distinct = q(f"SELECT count(*), count(DISTINCT id) FROM {events}")[0]
        check(n == args.events, f"events: {n} rows, expected {args.events}")
        check(distinct == n, f"events: {n - distinct} duplicate ids")
        wrong = q(f"SELECT count(*) FROM {events} WHERE CAST(CAST(timestamp AS DATE) AS VARCHAR) <> CAST(event_date AS VARCHAR)")[0][0]
        check(wrong == 0, f"events: {wrong} events in the partition of another date")
        etypes = dict(q(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {events})"))
        check(etypes.get("timestamp") == "TIMESTAMP WITH TIME ZONE", f"duckdb events.timestamp is {etypes.get('timestamp')}")

    print(f"readers: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
