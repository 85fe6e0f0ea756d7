"""Runs the SQL `tracecheck explain --traceql` printed on DuckDB over a tracecheck dataset.

    python3 benches/traceql_duckdb.py DATASET FILE.sql

DuckDB cannot CAST its TIMESTAMPTZ_NS to BIGINT, which the SQL does to get nanoseconds, so the
views give the time columns as BIGINT nanoseconds (epoch_ns) already. Prints the row count.
"""
import sys

import duckdb

data, sql_file = sys.argv[1], sys.argv[2]
con = duckdb.connect()
for table in ["spans", "tags", "refs", "logs"]:
    src = f"read_parquet('{data}/{table}/*.parquet')"
    cols = [c[0] for c in con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()]
    sel = ", ".join(f"epoch_ns({c}) AS {c}" if c in ("start_time", "end_time", "time") else c for c in cols)
    con.execute(f"CREATE VIEW {table} AS SELECT {sel} FROM {src}")
sql = "\n".join(l for l in open(sql_file).read().splitlines() if not l.startswith("--")).rstrip().rstrip(";")
rows = con.execute(sql).fetchall()
print(len(rows))
