//! Datasets on disk: assembly of decoded spans into whole-trace parts, and atomic Parquet writes.
//!
//! A dataset is a folder:
//!
//! ```text
//! DATASET/tracecheck.json          format marker and schema version
//! DATASET/manifest.json            the parts readers see (see `manifest`)
//! DATASET/spans/part-*.parquet     one file per part: whole traces, rows clustered by name (layout.rs)
//! DATASET/tags/part-*.parquet      same part names, same traces, rows clustered by key
//! DATASET/refs/part-*.parquet
//! DATASET/logs/part-*.parquet
//! DATASET/wal/NNNN.wal             the collector's write-ahead log (`collect::wal`); readers ignore it
//! DATASET/.spill-*/                 an ingest's spill files while it runs (`spill`); readers ignore it
//! ```

mod assemble;
mod compact;
mod dataset;
mod layout;
mod leftovers;
mod manifest;
mod spill;
mod stored;
mod stream;
mod to_otlp;
mod upgrade;
mod write;

pub use assemble::{assemble, AssembleStats, Part};
pub use compact::{compact, CompactStats};
pub use dataset::{is_dataset, Dataset, WriteOptions};
pub use layout::{cluster, is_clustered, sorting_columns, PAGE_ROWS};
pub use leftovers::Cleaned;
pub(crate) use manifest::{listed_parts, lock_file, sync_dir};
pub use manifest::{Manifest, MANIFEST_FILE, RETIRE_GRACE};
pub use spill::{Spill, SpillStats, BUCKETS as SPILL_BUCKETS};
pub(crate) use stored::part_span_keys;
pub use stored::{stored_span_keys, SpanKey};
pub use stream::{PartStream, StreamStats};
pub use to_otlp::parts_to_request;
pub use upgrade::{upgrade, UpgradeStats};
pub use write::{write_raw, Written};
