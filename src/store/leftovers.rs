//! Files a crashed writer left behind: temporary files (`.NAME.parquet.tmp`, `manifest.tmp`), an
//! ingest's spill folder (`.spill-*`) and parts written but never listed in the manifest. Readers never see them (they go by the
//! manifest), but they take space forever unless removed.
//!
//! Removal is safe only when no other process is writing: a writer's fresh part is unlisted until
//! its manifest change, which for `compact` or `upgrade` comes after all of its parts are written.
//! So every open-for-writing [`super::Dataset`] holds a shared lock on `DATASET/.writers` for its
//! lifetime, and leftovers are removed only by the process that gets that lock exclusively (no
//! other writer open) — at open for writing, and therefore also by `compact`.

use std::collections::HashSet;
use std::fs::{self, File};
use std::path::Path;

use super::manifest::{lock_file, Manifest};
use crate::error::{Error, Result};
use crate::schema::TABLES;

/// Scratch folders are named `.spill-*` (`spill::Scratch`); the ones a crashed writer left are
/// removed here.
pub(crate) const SCRATCH_PREFIX: &str = ".spill-";

/// The lock file every writer holds shared.
pub(crate) const WRITERS_LOCK: &str = ".writers";

/// What a cleaning removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cleaned {
    /// Files removed.
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
}

/// Takes the writers' lock shared for as long as the returned file lives; before that, if no other
/// writer holds it, removes leftovers.
pub(crate) fn lock_and_clean(dataset: &Path) -> Result<(File, Cleaned)> {
    let path = dataset.join(WRITERS_LOCK);
    let lock = lock_file(&path)?;
    let mut cleaned = Cleaned::default();
    if lock.try_lock().is_ok() {
        cleaned = clean(dataset)?;
        lock.unlock().map_err(|e| Error::io(&path, e))?;
    }
    lock.lock_shared().map_err(|e| Error::io(&path, e))?;
    Ok((lock, cleaned))
}

/// Removes temporary files and unlisted part files (the caller made sure nobody else writes).
fn clean(dataset: &Path) -> Result<Cleaned> {
    Manifest::update(dataset, |m| {
        let listed: HashSet<&str> = m
            .parts
            .iter()
            .chain(m.retired.iter().map(|(p, _)| p))
            .map(String::as_str)
            .collect();
        let mut cleaned = Cleaned::default();
        let mut remove = |path: &Path| {
            let size = fs::metadata(path).map(|m| m.len()).unwrap_or(0);
            if fs::remove_file(path).is_ok() {
                cleaned.files += 1;
                cleaned.bytes += size;
            }
        };
        for table in TABLES {
            let dir = dataset.join(table);
            let Ok(entries) = fs::read_dir(&dir) else { continue };
            for entry in entries.flatten() {
                let name = entry.file_name();
                let name = name.to_string_lossy();
                let leftover = if name.starts_with('.') {
                    name.ends_with(".tmp")
                } else {
                    name.strip_suffix(".parquet")
                        .is_some_and(|part| part.starts_with("part-") && !listed.contains(part))
                };
                if leftover {
                    remove(&entry.path());
                }
            }
        }
        // A crashed ingest's spill folder: only a running writer uses one, and none is running.
        if let Ok(entries) = fs::read_dir(dataset) {
            for entry in entries.flatten() {
                let name = entry.file_name();
                if !name.to_string_lossy().starts_with(SCRATCH_PREFIX) || !entry.path().is_dir() {
                    continue;
                }
                for file in fs::read_dir(entry.path()).into_iter().flatten().flatten() {
                    remove(&file.path());
                }
                let _ = fs::remove_dir(entry.path());
            }
        }
        // `manifest.tmp` is ours to remove: we hold the manifest lock. `tracecheck.tmp` is written
        // only by `upgrade`, a writer, so none is being written now.
        for tmp in ["manifest.tmp", "tracecheck.tmp"] {
            let path = dataset.join(tmp);
            if path.exists() {
                remove(&path);
            }
        }
        Ok(cleaned)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Dataset;

    #[test]
    fn leftovers_go_listed_parts_and_other_files_stay() {
        let dir = tempfile::tempdir().unwrap();
        let ds = dir.path();
        drop(Dataset::create_or_open(ds).unwrap());
        Manifest::update(ds, |m| {
            m.parts.push("part-kept".into());
            m.retired
                .push(("part-retired".into(), super::super::manifest::now_secs()));
            Ok(())
        })
        .unwrap();
        let files = [
            ("spans/part-kept.parquet", true),
            ("tags/part-retired.parquet", true),
            ("spans/part-crashed.parquet", false),
            ("logs/.part-crashed.parquet.tmp", false),
            ("manifest.tmp", false),
            ("spans/notes.txt", true),
            ("wal/00000000000000000001.wal", true),
            (".spill-dead-1/0001.spans", false),
        ];
        // Another writer is open (its fresh parts look just like leftovers): nothing is touched.
        let other = Dataset::create_or_open(ds).unwrap();
        fs::create_dir_all(ds.join("wal")).unwrap();
        fs::create_dir_all(ds.join(".spill-dead-1")).unwrap();
        for (f, _) in files {
            fs::write(ds.join(f), b"x").unwrap();
        }
        assert_eq!(Dataset::create_or_open(ds).unwrap().cleaned(), Cleaned::default());
        assert!(files.iter().all(|(f, _)| ds.join(f).exists()));
        drop(other);
        let cleaned = Dataset::create_or_open(ds).unwrap().cleaned();
        assert_eq!(cleaned, Cleaned { files: 4, bytes: 4 });
        for (f, kept) in files {
            assert_eq!(ds.join(f).exists(), kept, "{f}");
        }
        assert!(!ds.join(".spill-dead-1").exists());
    }
}
