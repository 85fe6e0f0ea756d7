"""Runs SQL files printed by `tracecheck explain` on DuckDB over a tracecheck dataset's Parquet files.

    python3 benches/duckdb_run.py DATASET FILE.sql

Each statement's row count is printed, so a run can be compared with `tracecheck check`'s counts.
"""
import sys

import duckdb

data, sql_file = sys.argv[1], sys.argv[2]
con = duckdb.connect()
for table in ["spans", "tags", "refs", "logs"]:
    con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{data}/{table}/*.parquet')")
for stmt in [s for s in open(sql_file).read().split(";\n") if s.strip()]:
    rows = con.execute(stmt).fetchall()
    print(stmt.strip().splitlines()[0], len(rows))
