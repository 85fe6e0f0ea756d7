//! The collector's write-ahead log: what makes an acknowledged span survive a crash.
//!
//! A request's body is appended to the log (`DATASET/wal/`) and the log is fsynced before the request
//! is answered; requests arriving while one fsync runs are written together by the next (group
//! commit: one fsync per group, not per request, so throughput holds). Spans then wait in the
//! buffer as before. Each segment counts its spans not yet in a manifest-listed part; a segment whose
//! count drops to zero (and that is no longer the one appended to) is deleted. On start, whatever
//! segments are left are replayed ([`replay`]): their requests are decoded again, spans the dataset
//! already holds are dropped, and the rest go into the buffer like new arrivals.
//!
//! The log is only ever appended to by one thread, which owns the file; handlers wait on a oneshot.

mod replay;
mod segment;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

pub use replay::Replayed;
pub use segment::Kind;

use crate::error::{Error, Result};
use crate::store::lock_file;

/// The log's folder inside a dataset.
pub const LOG_DIR: &str = "wal";

/// A segment is closed and a new one started once it is this large.
const SEGMENT_BYTES: u64 = 64 << 20;

/// One group commit writes at most about this much (the rest waits for the next fsync).
const GROUP_BYTES: usize = 32 << 20;

/// Spans not yet stored, by segment.
pub type LogCounts = BTreeMap<u64, u64>;

/// Adds `more` into `into`.
pub fn merge_counts(into: &mut LogCounts, more: LogCounts) {
    for (seg, n) in more {
        *into.entry(seg).or_default() += n;
    }
}

struct Append {
    kind: Kind,
    body: Vec<u8>,
    spans: u64,
    done: tokio::sync::oneshot::Sender<std::result::Result<u64, String>>,
}

/// Which segment is appended to, and how many spans each segment holds that are not yet stored.
#[derive(Default)]
struct Counts {
    outstanding: LogCounts,
    active: u64,
}

/// An open log (see the module documentation).
pub struct Wal {
    dir: PathBuf,
    tx: Mutex<Option<mpsc::Sender<Append>>>,
    counts: Arc<Mutex<Counts>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// Held while the log is open: one writer per dataset.
    _lock: File,
}

impl Wal {
    /// Opens the log of `dataset` (creating it), replays what a previous run left and starts a new
    /// segment. Fails if another process has the log open.
    pub fn open(dataset: &Path) -> Result<(Wal, Replayed)> {
        let dir = dataset.join(LOG_DIR);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let lock_path = dir.join(".lock");
        let lock = lock_file(&lock_path)?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(Error::Dataset {
                    path: dataset.to_path_buf(),
                    message: format!(
                        "another collector is receiving into this dataset (its log {} is locked); \
                         give each collector its own dataset",
                        dir.display()
                    ),
                })
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&lock_path, e)),
        }
        let replayed = replay::replay(dataset, &dir)?;
        let active = replayed.next_segment;
        let (file, _) = segment::create(&dir, active).map_err(|e| Error::io(&dir, e))?;
        let mut outstanding = LogCounts::new();
        for (seg, spans) in &replayed.segments {
            outstanding.insert(*seg, spans.len() as u64);
        }
        let counts = Arc::new(Mutex::new(Counts { outstanding, active }));
        let (tx, rx) = mpsc::channel();
        let thread = {
            let (thread_dir, counts) = (dir.clone(), counts.clone());
            std::thread::Builder::new()
                .name("tracecheck-wal".into())
                .spawn(move || append_loop(&thread_dir, file, active, &counts, &rx))
                .map_err(|e| Error::io(&dir, e))?
        };
        Ok((
            Wal {
                dir,
                tx: Mutex::new(Some(tx)),
                counts,
                thread: Mutex::new(Some(thread)),
                _lock: lock,
            },
            replayed,
        ))
    }

    /// Appends a request body holding `spans` spans and waits until it is on disk; returns the
    /// segment it is in (the spans count there until [`Wal::release`]).
    pub async fn append(&self, kind: Kind, body: Vec<u8>, spans: u64) -> Result<u64> {
        let (done, wait) = tokio::sync::oneshot::channel();
        let sent = match &*self.tx.lock().expect("log sender") {
            Some(tx) => tx
                .send(Append {
                    kind,
                    body,
                    spans,
                    done,
                })
                .is_ok(),
            None => false,
        };
        let closed = || Error::Usage(format!("the log {} is closed", self.dir.display()));
        if !sent {
            return Err(closed());
        }
        match wait.await {
            Ok(Ok(seg)) => Ok(seg),
            Ok(Err(message)) => Err(Error::Dataset {
                path: self.dir.clone(),
                message: format!("cannot write the log: {message}"),
            }),
            Err(_) => Err(closed()),
        }
    }

    /// These spans are now in manifest-listed parts: segments left with none are deleted.
    pub fn release(&self, stored: &LogCounts) {
        let done: Vec<u64> = {
            let mut c = self.counts.lock().expect("log counts");
            for (seg, n) in stored {
                if let Some(left) = c.outstanding.get_mut(seg) {
                    *left = left.saturating_sub(*n);
                }
            }
            let active = c.active;
            let done: Vec<u64> = c
                .outstanding
                .iter()
                .filter(|(seg, left)| **left == 0 && **seg < active)
                .map(|(seg, _)| *seg)
                .collect();
            for seg in &done {
                c.outstanding.remove(seg);
            }
            done
        };
        remove_segments(&self.dir, &done);
    }

    /// Spans in the log not yet stored.
    pub fn outstanding(&self) -> u64 {
        self.counts.lock().expect("log counts").outstanding.values().sum()
    }

    /// Stops appending (later [`Wal::append`]s fail) and, when every logged span is stored,
    /// deletes the last segment too: a clean shutdown leaves an empty log.
    pub fn close(&self) {
        self.tx.lock().expect("log sender").take();
        if let Some(t) = self.thread.lock().expect("log thread").take() {
            let _ = t.join();
        }
        let done: Vec<u64> = {
            let mut c = self.counts.lock().expect("log counts");
            // The active segment has no entry until something is appended to it.
            let active = c.active;
            c.outstanding.entry(active).or_default();
            let done: Vec<u64> = c
                .outstanding
                .iter()
                .filter(|(_, left)| **left == 0)
                .map(|(seg, _)| *seg)
                .collect();
            for seg in &done {
                c.outstanding.remove(seg);
            }
            done
        };
        remove_segments(&self.dir, &done);
    }
}

impl Drop for Wal {
    fn drop(&mut self) {
        // The thread ends once its sender is gone; segments stay for the next start.
        if let Ok(mut tx) = self.tx.lock() {
            tx.take();
        }
    }
}

fn remove_segments(dir: &Path, segs: &[u64]) {
    if segs.is_empty() {
        return;
    }
    for seg in segs {
        // A failed removal only leaves a segment whose spans are all stored: replay drops them
        // as already present.
        let _ = std::fs::remove_file(dir.join(segment::file_name(*seg)));
    }
    let _ = segment::sync_dir(dir);
}

/// The appending thread: takes every request waiting, writes them as one group, fsyncs, answers.
fn append_loop(dir: &Path, mut file: File, mut seq: u64, counts: &Mutex<Counts>, rx: &mpsc::Receiver<Append>) {
    let mut size = segment::HEADER_LEN;
    // After a write that failed and could not be cut back, the segment's end is unknown: nothing
    // more is appended (every request is refused with this message) until a restart.
    let mut broken: Option<String> = None;
    let mut buf = Vec::new();
    while let Ok(first) = rx.recv() {
        let mut group = vec![first];
        let mut bytes = group[0].body.len();
        while bytes < GROUP_BYTES {
            match rx.try_recv() {
                Ok(a) => {
                    bytes += a.body.len();
                    group.push(a);
                }
                Err(_) => break,
            }
        }
        if broken.is_none() && size >= SEGMENT_BYTES {
            match segment::create(dir, seq + 1) {
                Ok((f, _)) => {
                    let old = seq;
                    file = f;
                    seq += 1;
                    size = segment::HEADER_LEN;
                    let empty = {
                        let mut c = counts.lock().expect("log counts");
                        c.active = seq;
                        let empty = c.outstanding.get(&old).is_none_or(|n| *n == 0);
                        if empty {
                            c.outstanding.remove(&old);
                        }
                        empty
                    };
                    if empty {
                        remove_segments(dir, &[old]);
                    }
                }
                Err(e) => broken = Some(format!("cannot start a new segment in {}: {e}", dir.display())),
            }
        }
        if let Some(message) = &broken {
            for a in group {
                let _ = a.done.send(Err(message.clone()));
            }
            continue;
        }
        buf.clear();
        let mut spans = 0;
        for a in &group {
            segment::encode(&mut buf, a.kind, &a.body);
            spans += a.spans;
        }
        // Counted before the write: a release running meanwhile must not delete the segment.
        *counts.lock().expect("log counts").outstanding.entry(seq).or_default() += spans;
        let written = file.write_all(&buf).and_then(|()| file.sync_data());
        let answer = match written {
            Ok(()) => {
                size += buf.len() as u64;
                Ok(seq)
            }
            Err(e) => {
                if let Some(n) = counts.lock().expect("log counts").outstanding.get_mut(&seq) {
                    *n = n.saturating_sub(spans);
                }
                // Cut the segment back to its last acknowledged record, so this group (refused)
                // is not replayed later.
                if let Err(cut) = file.set_len(size).and_then(|()| file.sync_all()) {
                    broken = Some(format!("{e}; the segment could not be cut back ({cut})"));
                }
                Err(e.to_string())
            }
        };
        for a in group {
            let _ = a.done.send(answer.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segments(dir: &Path) -> Vec<u64> {
        let mut v: Vec<u64> = std::fs::read_dir(dir.join(LOG_DIR))
            .unwrap()
            .filter_map(|e| segment::seq_of(&e.unwrap().file_name().to_string_lossy()))
            .collect();
        v.sort();
        v
    }

    /// Opens the log just dropped. Once, under heavy load (a full test run beside other builds),
    /// that open was refused as if the dropped log still held its lock; the cause was not found (a
    /// descriptor shared with a forked child keeps an `flock`, but no test of this binary forks).
    /// A refusal is retried for a bounded time so the test stays about what it checks, and a lock
    /// that is never released still fails it.
    fn reopen(dir: &Path) -> (Wal, replay::Replayed) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            match Wal::open(dir) {
                Ok(opened) => return opened,
                Err(e) if e.to_string().contains("another collector") && std::time::Instant::now() < deadline => {
                    std::thread::yield_now()
                }
                Err(e) => panic!("{e}"),
            }
        }
    }

    #[tokio::test]
    async fn a_second_writer_is_refused_and_a_clean_close_leaves_no_segment() {
        let dir = tempfile::tempdir().unwrap();
        crate::store::Dataset::create_or_open(dir.path()).unwrap();
        let (wal, replayed) = Wal::open(dir.path()).unwrap();
        assert_eq!(replayed.spans(), 0);
        let err = Wal::open(dir.path()).err().expect("locked").to_string();
        assert!(err.contains("another collector"), "{err}");
        // The span count is the caller's: the log takes it as given.
        let seg = wal
            .append(Kind::Json, br#"{"resourceSpans":[]}"#.to_vec(), 3)
            .await
            .unwrap();
        assert_eq!(wal.outstanding(), 3);
        assert_eq!(segments(dir.path()), vec![seg]);
        wal.close();
        assert_eq!(segments(dir.path()), vec![seg], "3 spans not stored: the segment stays");
        drop(wal);
        // The body holds no span: replay finds nothing to keep and deletes the segment.
        let (wal, replayed) = reopen(dir.path());
        assert_eq!(replayed.spans(), 0);
        assert_eq!(segments(dir.path()), vec![seg + 1]);
        wal.close();
        assert!(segments(dir.path()).is_empty());
    }
}
