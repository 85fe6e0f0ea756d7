//! Files the commands write (an HTML report, a Parquet result, a formatted model): through a
//! temporary file beside the target, synced, then renamed over it, so a reader (a browser
//! reloading the report, an editor, another tool) never sees half a file, and a failed write
//! leaves the old file as it was and no temporary behind.

use std::fs::File;
use std::path::Path;

use tracecheck::{Error, Result};

/// Writes `path` with `fill`, atomically (see the module).
pub fn write_file(path: &Path, fill: impl FnOnce(&mut File) -> Result<()>) -> Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| Error::Usage(format!("{}: not a file name", path.display())))?;
    let tmp = path.with_file_name(format!(".{}.{}.tmp", name.to_string_lossy(), std::process::id()));
    let written = File::create(&tmp).map_err(|e| Error::io(&tmp, e)).and_then(|mut file| {
        fill(&mut file)?;
        file.sync_all().map_err(|e| Error::io(&tmp, e))
    });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, e)
    })
}

/// Writes `bytes` to `path` atomically.
pub fn write_bytes(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    write_file(path, |f| f.write_all(bytes).map_err(|e| Error::io(path, e)))
}
