//! Writing and opening datasets.
//!
//! Every file is written under a hidden temporary name in its table folder and renamed into place when
//! complete, so a crash never leaves a half-written Parquet file where readers look. A part becomes
//! visible when the manifest names it ([`super::manifest`]), after all four of its files are in
//! place. Appending only adds new part files; accepted data is never rewritten (`compact` writes
//! merged copies and swaps them in through the manifest).

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::properties::{EnabledStatistics, WriterProperties};

use super::assemble::Part;
use super::layout::{cluster, is_clustered_table, sorting_columns, PAGE_ROWS};
use super::leftovers::{lock_and_clean, Cleaned};
use super::manifest::{sync_dir, write_atomic, Manifest};
use crate::error::{Error, Result};
use crate::schema::{READABLE_VERSIONS, SCHEMA_VERSION, TABLES};

/// The marker file that makes a folder a dataset.
const META_FILE: &str = "tracecheck.json";

/// How parts are written.
///
/// ```
/// let o = tracecheck::store::WriteOptions::default().with_zstd_level(6);
/// assert_eq!(o.zstd_level, 6);
/// ```
#[derive(Debug, Clone)]
pub struct WriteOptions {
    /// zstd level (1..=22).
    pub zstd_level: i32,
    /// Rows per Parquet row group; also the block inside which rows are clustered (layout.rs).
    pub row_group_rows: usize,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            zstd_level: 3,
            row_group_rows: 128 * 1024,
        }
    }
}

impl WriteOptions {
    /// Sets the zstd level.
    ///
    /// ```
    /// let o = tracecheck::store::WriteOptions::default().with_zstd_level(1);
    /// assert_eq!(o.zstd_level, 1);
    /// ```
    pub fn with_zstd_level(mut self, level: i32) -> Self {
        self.zstd_level = level;
        self
    }

    /// Sets the rows per row group.
    ///
    /// ```
    /// let o = tracecheck::store::WriteOptions::default().with_row_group_rows(1000);
    /// assert_eq!(o.row_group_rows, 1000);
    /// ```
    pub fn with_row_group_rows(mut self, rows: usize) -> Self {
        self.row_group_rows = rows;
        self
    }
}

/// True if `path` is a dataset folder (holds `tracecheck.json`).
///
/// ```
/// assert!(!tracecheck::store::is_dataset("/nonexistent".as_ref()));
/// ```
pub fn is_dataset(path: &Path) -> bool {
    path.join(META_FILE).is_file()
}

/// A dataset folder opened for appending.
///
/// ```no_run
/// let ds = tracecheck::store::Dataset::create_or_open("out".as_ref()).unwrap();
/// assert!(ds.path().join("spans").is_dir());
/// ```
#[derive(Debug)]
pub struct Dataset {
    path: PathBuf,
    options: WriteOptions,
    batch_id: String,
    next_part: usize,
    /// Held shared while open: leftovers are removed only with no other writer (leftovers.rs).
    _writing: File,
    cleaned: Cleaned,
}

impl Dataset {
    /// Opens an existing dataset (checking its schema version) or creates an empty one.
    pub fn create_or_open(path: &Path) -> Result<Dataset> {
        let dataset_err = |message: String| Error::Dataset {
            path: path.to_path_buf(),
            message,
        };
        if path.exists() && !path.is_dir() {
            return Err(dataset_err("exists and is not a folder".into()));
        }
        if is_dataset(path) {
            Self::check_meta(path)?;
        } else {
            if path.is_dir() && fs::read_dir(path).map_err(|e| Error::io(path, e))?.next().is_some() {
                return Err(dataset_err(format!(
                    "the folder is not empty and has no {META_FILE}; refusing to write into it"
                )));
            }
            fs::create_dir_all(path).map_err(|e| Error::io(path, e))?;
            let meta = serde_json::json!({
                "format": "tracecheck-dataset",
                "schema_version": SCHEMA_VERSION,
                "tables": TABLES,
                "created_by": concat!("tracecheck ", env!("CARGO_PKG_VERSION")),
            });
            write_atomic(
                &path.join(META_FILE),
                serde_json::to_string_pretty(&meta).expect("json").as_bytes(),
            )?;
        }
        for t in TABLES {
            let dir = path.join(t);
            fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        }
        if Manifest::load(path)?.is_none() {
            // A new dataset, or one written before manifests: list what is there.
            Manifest::update(path, |_| Ok(()))?;
        }
        let (writing, cleaned) = lock_and_clean(path)?;
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        Ok(Dataset {
            path: path.to_path_buf(),
            options: WriteOptions::default(),
            batch_id: format!("{nanos:x}-{}", std::process::id()),
            next_part: 0,
            _writing: writing,
            cleaned,
        })
    }

    /// A name unique to this writer (time and process), for its files and scratch folders.
    pub(crate) fn writer_tag(&self) -> &str {
        &self.batch_id
    }

    /// What opening removed: files a crashed writer left (temporary, or parts never listed).
    pub fn cleaned(&self) -> Cleaned {
        self.cleaned
    }

    /// Checks that `path` is a dataset of a schema version this tracecheck reads; returns it.
    pub fn check_meta(path: &Path) -> Result<u32> {
        let meta = read_meta(path)?;
        let version = meta.get("schema_version").and_then(|v| v.as_u64());
        match version.and_then(|v| u32::try_from(v).ok()) {
            Some(v) if READABLE_VERSIONS.contains(&v) => Ok(v),
            _ => Err(Error::Dataset {
                path: path.to_path_buf(),
                message: format!(
                    "schema version {}, this tracecheck reads versions {READABLE_VERSIONS:?}{}",
                    version.map_or("missing".to_string(), |v| v.to_string()),
                    if version.is_some_and(|v| v > u64::from(SCHEMA_VERSION)) {
                        " (written by a newer tracecheck)"
                    } else {
                        ""
                    }
                ),
            }),
        }
    }

    /// Records `version` in the dataset's `tracecheck.json` (atomically), keeping its other fields.
    pub(crate) fn set_version(path: &Path, version: u32) -> Result<()> {
        let mut meta = read_meta(path)?;
        meta["schema_version"] = serde_json::json!(version);
        write_atomic(
            &path.join(META_FILE),
            serde_json::to_string_pretty(&meta).expect("json").as_bytes(),
        )
    }

    /// Uses these write options.
    pub fn with_options(mut self, options: WriteOptions) -> Self {
        self.options = options;
        self
    }

    /// The dataset folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes one part (whole traces) as one file per table and adds it to the manifest; returns
    /// the bytes written.
    pub fn write_part(&mut self, part: &Part) -> Result<u64> {
        Ok(self.write_listed(part)?.1)
    }

    /// [`Dataset::write_part`], returning the part's name too.
    pub(crate) fn write_listed(&mut self, part: &Part) -> Result<(String, u64)> {
        let (name, bytes) = self.write_files(part)?;
        Manifest::update(&self.path, |m| {
            m.parts.push(name.clone());
            Ok(())
        })?;
        Ok((name, bytes))
    }

    /// Writes a part's files without listing it in the manifest (readers do not see it yet);
    /// returns its name and the bytes written.
    pub(crate) fn write_files(&mut self, part: &Part) -> Result<(String, u64)> {
        let name = format!("part-{}-{:05}", self.batch_id, self.next_part);
        self.next_part += 1;
        let file_name = format!("{name}.parquet");
        // Rows clustered by span name and tag key, so that statistics prune lookups (layout.rs).
        let part = cluster(part, self.options.row_group_rows)?;
        // The four files are encoded at the same time (Parquet encoding is most of a write), each
        // under a temporary name; they are renamed into place in table order afterwards, spans last.
        let written: Vec<Result<(PathBuf, PathBuf, u64)>> = std::thread::scope(|scope| {
            let handles: Vec<_> = TABLES
                .iter()
                .map(|&table| {
                    let (part, options, dir) = (&part, &self.options, self.path.join(table));
                    let file_name = &file_name;
                    scope.spawn(move || write_table(part.table(table), table, options, &dir, file_name))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(Error::Bug("a Parquet writer thread panicked".into())))
                })
                .collect()
        });
        let mut bytes = 0;
        let mut renames = Vec::with_capacity(TABLES.len());
        let mut failed = None;
        for w in written {
            match w {
                Ok(r) => renames.push(r),
                Err(e) => failed = failed.or(Some(e)),
            }
        }
        if let Some(e) = failed {
            for (tmp, _, _) in renames {
                let _ = fs::remove_file(tmp);
            }
            return Err(e);
        }
        for (tmp, final_path, size) in renames {
            fs::rename(&tmp, &final_path).map_err(|e| Error::io(&final_path, e))?;
            bytes += size;
        }
        // The renames themselves must reach the disk before the manifest names the part.
        for table in TABLES {
            let dir = self.path.join(table);
            sync_dir(&dir).map_err(|e| Error::io(&dir, e))?;
        }
        Ok((name, bytes))
    }
}

/// The dataset's `tracecheck.json`, parsed.
fn read_meta(path: &Path) -> Result<serde_json::Value> {
    let file = path.join(META_FILE);
    let text = fs::read_to_string(&file).map_err(|e| Error::io(&file, e))?;
    serde_json::from_str(&text).map_err(|e| Error::Dataset {
        path: path.to_path_buf(),
        message: format!("{META_FILE} is not valid JSON: {e}"),
    })
}

/// Encodes one table of a part into `DIR/.NAME.tmp` and syncs it; returns the temporary path, the
/// final path and the size.
fn write_table(
    batch: &RecordBatch,
    table: &str,
    options: &WriteOptions,
    dir: &Path,
    file_name: &str,
) -> Result<(PathBuf, PathBuf, u64)> {
    let final_path = dir.join(file_name);
    let tmp = dir.join(format!(".{file_name}.tmp"));
    let mut props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(options.zstd_level)?))
        .set_max_row_group_row_count(Some(options.row_group_rows))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_sorting_columns(Some(sorting_columns(table)).filter(|s| !s.is_empty()));
    if is_clustered_table(table) {
        // Small pages: the page index skips the other names' or keys' pages inside a row group.
        props = props.set_data_page_row_count_limit(PAGE_ROWS);
    }
    let props = props.build();
    let file = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
    let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(props))?;
    writer.write(batch)?;
    let file = writer.into_inner()?;
    file.sync_all().map_err(|e| Error::io(&tmp, e))?;
    let size = file.metadata().map_err(|e| Error::io(&tmp, e))?.len();
    Ok((tmp, final_path, size))
}
