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

use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::metadata::SortingColumn;
use datafusion::parquet::file::properties::{EnabledStatistics, WriterProperties};

use super::assemble::Part;
use super::manifest::{write_atomic, Manifest};
use crate::error::{Error, Result};
use crate::schema::{SCHEMA_VERSION, TABLES};

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
    /// Rows per Parquet row group.
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
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        Ok(Dataset {
            path: path.to_path_buf(),
            options: WriteOptions::default(),
            batch_id: format!("{nanos:x}-{}", std::process::id()),
            next_part: 0,
        })
    }

    /// Checks that `path` is a dataset of this schema version.
    pub fn check_meta(path: &Path) -> Result<()> {
        let file = path.join(META_FILE);
        let text = fs::read_to_string(&file).map_err(|e| Error::io(&file, e))?;
        let meta: serde_json::Value = serde_json::from_str(&text).map_err(|e| Error::Dataset {
            path: path.to_path_buf(),
            message: format!("{META_FILE} is not valid JSON: {e}"),
        })?;
        match meta.get("schema_version").and_then(|v| v.as_u64()) {
            Some(v) if v == u64::from(SCHEMA_VERSION) => Ok(()),
            other => Err(Error::Dataset {
                path: path.to_path_buf(),
                message: format!("schema version {other:?}, this tracecheck reads version {SCHEMA_VERSION}"),
            }),
        }
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
        let (name, bytes) = self.write_files(part)?;
        Manifest::update(&self.path, |m| {
            m.parts.push(name);
            Ok(())
        })?;
        Ok(bytes)
    }

    /// Writes a part's files without listing it in the manifest (readers do not see it yet);
    /// returns its name and the bytes written.
    pub(crate) fn write_files(&mut self, part: &Part) -> Result<(String, u64)> {
        let name = format!("part-{}-{:05}", self.batch_id, self.next_part);
        self.next_part += 1;
        let file_name = format!("{name}.parquet");
        let mut bytes = 0;
        for table in TABLES {
            let batch = part.table(table);
            let final_path = self.path.join(table).join(&file_name);
            let tmp = self.path.join(table).join(format!(".{file_name}.tmp"));
            let sorting = vec![SortingColumn {
                column_idx: 0,
                descending: false,
                nulls_first: false,
            }];
            let props = WriterProperties::builder()
                .set_compression(Compression::ZSTD(ZstdLevel::try_new(self.options.zstd_level)?))
                .set_max_row_group_row_count(Some(self.options.row_group_rows))
                .set_statistics_enabled(EnabledStatistics::Page)
                .set_sorting_columns(Some(sorting))
                .build();
            let file = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
            let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(props))?;
            writer.write(batch)?;
            let file = writer.into_inner()?;
            file.sync_all().map_err(|e| Error::io(&tmp, e))?;
            bytes += file.metadata().map_err(|e| Error::io(&tmp, e))?.len();
            drop(file);
            fs::rename(&tmp, &final_path).map_err(|e| Error::io(&final_path, e))?;
        }
        Ok((name, bytes))
    }
}
