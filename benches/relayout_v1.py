"""Writes a copy of a tracecheck dataset with its rows in the schema-version-1 order (every table by
trace), for measuring the version-2 layout against the old one on exactly the same rows.

    python3 benches/relayout_v1.py DATASET OUT

Same part names, columns and values; spans ordered by (trace_id, start_time, span_id) and tags,
refs and logs by (trace_id, span_id), as version 1 wrote them (trace by trace). Written with
pyarrow: zstd level 3, row groups of 131,072 rows, statistics and page index, like tracecheck's
writer. Used by benches/check.sh (OLD=1).
"""
import json
import os
import sys

import pyarrow.parquet as pq

src, out = sys.argv[1], sys.argv[2]
manifest = json.load(open(os.path.join(src, "manifest.json")))
order = {
    "spans": [("trace_id", "ascending"), ("start_time", "ascending"), ("span_id", "ascending")],
    "tags": [("trace_id", "ascending"), ("span_id", "ascending")],
    "refs": [("trace_id", "ascending"), ("span_id", "ascending")],
    "logs": [("trace_id", "ascending"), ("span_id", "ascending")],
}
for table, keys in order.items():
    os.makedirs(os.path.join(out, table), exist_ok=True)
    for part in manifest["parts"]:
        t = pq.read_table(os.path.join(src, table, part + ".parquet"))
        t = t.sort_by(keys)
        pq.write_table(
            t,
            os.path.join(out, table, part + ".parquet"),
            compression="zstd",
            compression_level=3,
            row_group_size=131072,
            write_statistics=True,
            write_page_index=True,
        )
meta = json.load(open(os.path.join(src, "tracecheck.json")))
meta["schema_version"] = 1
json.dump(meta, open(os.path.join(out, "tracecheck.json"), "w"), indent=2)
json.dump({"parts": manifest["parts"], "retired": []}, open(os.path.join(out, "manifest.json"), "w"), indent=2)
