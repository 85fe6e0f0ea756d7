//! `manifest.json`: the list of parts a dataset consists of.
//!
//! A part is four files (one per table) written one after another; readers go by the manifest, not
//! by the folder listing, so a part becomes visible all at once — when the manifest that names it
//! replaces the previous one (a rename) — and `compact` swaps many small parts for merged ones in one
//! step. Writers (`ingest`, `collect`, `compact`, possibly at the same time) change the manifest only
//! while holding an exclusive lock on `DATASET/.lock`.
//!
//! Parts taken out by `compact` are not deleted at once: a query that listed them a moment ago may
//! still be reading them. They are "retired" with a time and deleted by a later manifest change once
//! [`RETIRE_GRACE`] has passed.
//!
//! ```no_run
//! use tracecheck::store::Manifest;
//! let m = Manifest::load("ds".as_ref()).unwrap().expect("a manifest");
//! println!("{} parts", m.parts.len());
//! ```

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::schema::TABLES;

/// The manifest's file name inside a dataset.
pub const MANIFEST_FILE: &str = "manifest.json";

/// How long a part replaced by `compact` stays on disk for queries that already listed it.
pub const RETIRE_GRACE: Duration = Duration::from_secs(120);

/// The parts of a dataset, by name (`part-…`; the files are `TABLE/NAME.parquet`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Parts readers see, oldest first.
    pub parts: Vec<String>,
    /// Parts taken out, waiting for deletion: (name, seconds since the epoch when taken out).
    #[serde(default)]
    pub retired: Vec<(String, u64)>,
}

impl Manifest {
    /// Reads the manifest; `Ok(None)` for a dataset written before manifests existed.
    pub fn load(dataset: &Path) -> Result<Option<Manifest>> {
        let path = dataset.join(MANIFEST_FILE);
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(&path, e)),
        };
        let manifest: Manifest = serde_json::from_str(&text).map_err(|e| Error::Dataset {
            path: dataset.to_path_buf(),
            message: format!("{MANIFEST_FILE} is not valid: {e}"),
        })?;
        // A part is a file name inside each table folder; anything that could lead elsewhere
        // (`../other/x`, `/etc/x`) would make readers open, and compaction delete, files outside.
        let names = manifest.parts.iter().chain(manifest.retired.iter().map(|(n, _)| n));
        if let Some(bad) = names.into_iter().find(|n| !is_part_name(n)) {
            return Err(Error::Dataset {
                path: dataset.to_path_buf(),
                message: format!(
                    "{MANIFEST_FILE} lists the part {bad:?}, which is not a plain file name inside the \
                     dataset (parts are named like \"part-…\")"
                ),
            });
        }
        Ok(Some(manifest))
    }

    /// Changes the manifest under the dataset's lock: reads the current one (or, for an older
    /// dataset, the parts found in the folder), applies `change`, writes it atomically and deletes
    /// retired parts past the grace period. `change` returns a value handed back to the caller; an
    /// `Err` from it leaves the manifest untouched.
    pub fn update<T>(dataset: &Path, change: impl FnOnce(&mut Manifest) -> Result<T>) -> Result<T> {
        let lock_path = dataset.join(".lock");
        let lock = lock_file(&lock_path)?;
        lock.lock().map_err(|e| Error::io(&lock_path, e))?;
        let mut manifest = match Manifest::load(dataset)? {
            Some(m) => m,
            None => Manifest {
                parts: listed_parts(dataset)?,
                retired: Vec::new(),
            },
        };
        let out = change(&mut manifest)?;
        let now = now_secs();
        let (expired, kept): (Vec<_>, Vec<_>) = manifest
            .retired
            .drain(..)
            .partition(|(_, at)| now.saturating_sub(*at) >= RETIRE_GRACE.as_secs());
        manifest.retired = kept;
        write_atomic(
            &dataset.join(MANIFEST_FILE),
            serde_json::to_string_pretty(&manifest).expect("json").as_bytes(),
        )?;
        for (part, _) in expired {
            remove_part(dataset, &part);
        }
        drop(lock);
        Ok(out)
    }
}

/// Seconds since the Unix epoch.
pub(crate) fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Deletes a part's files (spans first, so a folder listing never shows spans without tags).
/// Failures are ignored: a leftover file is invisible to readers, who go by the manifest.
pub(crate) fn remove_part(dataset: &Path, part: &str) {
    for table in TABLES.iter().rev() {
        let _ = fs::remove_file(dataset.join(table).join(format!("{part}.parquet")));
    }
}

/// A part name that stays inside its table folder: one path component, not `.` or `..`.
fn is_part_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\', '\0'])
}

/// Deletes the files of parts written but never listed (a rewrite that failed before its swap).
pub(crate) fn remove_parts(dataset: &Path, parts: &[String]) {
    for part in parts {
        remove_part(dataset, part);
    }
}

/// Parts in the folder of an older dataset: every `spans/*.parquet` (spans are written last, so
/// their part is complete).
pub(crate) fn listed_parts(dataset: &Path) -> Result<Vec<String>> {
    let dir = dataset.join("spans");
    let mut parts = Vec::new();
    for entry in fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))? {
        let name = entry.map_err(|e| Error::io(&dir, e))?.file_name();
        let name = name.to_string_lossy();
        if let Some(part) = name.strip_suffix(".parquet")
            && !part.starts_with('.')
        {
            parts.push(part.to_string());
        }
    }
    parts.sort();
    Ok(parts)
}

/// Writes `bytes` to `path` through a temporary file, fsync and a rename.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
    f.write_all(bytes).map_err(|e| Error::io(&tmp, e))?;
    f.sync_all().map_err(|e| Error::io(&tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| Error::io(path, e))?;
    // The rename is what makes the change; it is durable once the folder is synced.
    let dir = path.parent().unwrap_or(Path::new("."));
    sync_dir(dir).map_err(|e| Error::io(dir, e))
}

/// Opens the lock file at `path`, creating it (empty, never truncated: another process may hold
/// it). The caller takes the lock it needs on it: shared or exclusive, waiting or not.
pub(crate) fn lock_file(path: &Path) -> Result<File> {
    File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| Error::io(path, e))
}

/// Makes a folder's entries (files created, renamed or removed in it) durable.
pub(crate) fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Part names that would lead outside the dataset make the manifest invalid.
    #[test]
    fn parts_outside_the_dataset_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        for bad in ["../../other/part-1", "/etc/passwd", "..", "a\\b", ""] {
            let m = serde_json::json!({ "parts": ["part-ok", bad], "retired": [] });
            fs::write(dir.path().join(MANIFEST_FILE), m.to_string()).unwrap();
            let err = Manifest::load(dir.path()).unwrap_err().to_string();
            assert!(err.contains("not a plain file name inside the dataset"), "{bad}: {err}");
        }
        let retired = serde_json::json!({ "parts": [], "retired": [["../x", 1]] });
        fs::write(dir.path().join(MANIFEST_FILE), retired.to_string()).unwrap();
        assert!(Manifest::load(dir.path()).is_err());
        let good = serde_json::json!({ "parts": ["part-1"], "retired": [["part-0", 1]] });
        fs::write(dir.path().join(MANIFEST_FILE), good.to_string()).unwrap();
        assert_eq!(Manifest::load(dir.path()).unwrap().unwrap().parts, ["part-1"]);
    }
}
