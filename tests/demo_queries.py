"""Runs README's demo queries, as written, with DuckDB on a demo lake.

Usage: demo_queries.py LAKE

The queries sit in README.md between `<!-- demo-queries: begin -->` and `<!-- demo-queries:
end -->`, one ```sql block each; the first defines the `latest` macro. Every query must run
and answer at least one row (the demo org is made to hold an answer to each). Prints each
query's first line and row count, and exits non-zero on any failure.
"""

import pathlib
import re
import sys

import duckdb


def main():
    lake = pathlib.Path(sys.argv[1])
    readme = (pathlib.Path(__file__).parent.parent / "README.md").read_text()
    begin, end = "<!-- demo-queries: begin -->", "<!-- demo-queries: end -->"
    section = readme[readme.index(begin) : readme.index(end)]
    blocks = re.findall(r"```sql\n(.*?)```", section, re.S)
    if len(blocks) < 6:
        print(f"FAIL: README has {len(blocks)} demo query blocks, expected 6")
        return 1
    con = duckdb.connect()
    failed = 0
    for i, sql in enumerate(blocks):
        sql = sql.replace("'demo-lake/'", f"'{lake.as_posix()}/'")
        try:
            if i == 0:
                con.execute(sql)
                rows = 0
            else:
                # Counted in SQL: fetching TIMESTAMPTZ values into Python would need pytz.
                query = sql.strip().rstrip(";")
                rows = con.execute(f"SELECT count(*) FROM ({query})").fetchone()[0]
        except duckdb.Error as e:
            print(f"FAIL: query {i}: {e}")
            failed += 1
            continue
        if i == 0:
            continue
        first = sql.strip().splitlines()[0]
        print(f"{rows:>6} rows  {first}")
        if not rows:
            print(f"FAIL: query {i} answers nothing on the demo lake")
            failed += 1
    print(f"{len(blocks) - 1 - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
