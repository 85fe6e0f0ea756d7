//! `upgrade`: rewrite a version-1 dataset's parts in the version-2 order ([`super::layout`]), in
//! one atomic manifest change.
//!
//! Each part is read back, clustered and written under a new name; readers keep seeing the old
//! parts until one manifest change swaps every one of them for its rewrite (same place in the
//! list), and the old files are retired like `compact`'s. Only then does `tracecheck.json` say
//! version 2. A crash anywhere leaves a readable dataset: before the swap, the old parts and some
//! invisible new files; after it, version-2 parts under a version-1 label, which the next
//! `upgrade` rewrites again. Rows are moved, never changed: every table keeps its columns and
//! values, so a query gives the same answer before and after (tested).

use std::path::Path;

use super::compact::read_part;
use super::dataset::Dataset;
use super::manifest::{now_secs, remove_parts, Manifest};
use crate::error::{Error, Result};
use crate::schema::SCHEMA_VERSION;

/// What an upgrade did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpgradeStats {
    /// The dataset's schema version before.
    pub from: u32,
    /// Its schema version after.
    pub to: u32,
    /// Parts rewritten (0 when it was already current).
    pub parts: usize,
    /// Spans in the rewritten parts.
    pub spans: usize,
}

/// Rewrites `dataset` in the current layout; does nothing to a dataset already at
/// [`SCHEMA_VERSION`].
///
/// ```no_run
/// let stats = tracecheck::store::upgrade("ds".as_ref()).unwrap();
/// println!("version {} → {}: {} parts", stats.from, stats.to, stats.parts);
/// ```
pub fn upgrade(dataset: &Path) -> Result<UpgradeStats> {
    let from = Dataset::check_meta(dataset)?;
    let mut stats = UpgradeStats {
        from,
        to: SCHEMA_VERSION,
        ..Default::default()
    };
    if from == SCHEMA_VERSION {
        return Ok(stats);
    }
    let mut ds = Dataset::create_or_open(dataset)?;
    let old = Manifest::load(dataset)?.unwrap_or_default().parts;
    let mut written: Vec<String> = Vec::with_capacity(old.len());
    let swapped = (|| {
        for part in &old {
            // One part in memory at a time; `write_files` clusters it.
            let p = read_part(dataset, part)?;
            stats.spans += p.spans.num_rows();
            written.push(ds.write_files(&p)?.0);
        }
        Manifest::update(dataset, |m| {
            if old.iter().any(|p| !m.parts.contains(p)) {
                return Err(Error::Dataset {
                    path: dataset.to_path_buf(),
                    message:
                        "a compaction changed the dataset during the upgrade; nothing was changed, run upgrade again"
                            .into(),
                });
            }
            for (o, n) in old.iter().zip(&written) {
                if let Some(at) = m.parts.iter().position(|p| p == o) {
                    m.parts[at] = n.clone();
                }
            }
            let now = now_secs();
            m.retired.extend(old.iter().map(|p| (p.clone(), now)));
            Ok(())
        })
    })();
    if let Err(e) = swapped {
        remove_parts(dataset, &written);
        return Err(e);
    }
    Dataset::set_version(dataset, SCHEMA_VERSION)?;
    stats.parts = written.len();
    Ok(stats)
}
