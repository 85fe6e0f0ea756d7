//! The log's file format. A log is a folder of segments `NNNNNNNNNNNNNNNNNNNN.wal` (numbered, never
//! reused); a segment is a 16-byte header (magic, creation time) and then records, each
//!
//! ```text
//! length u32 LE | crc32 u32 LE | payload (length bytes): kind u8, body
//! ```
//!
//! A crash can leave the last record of a segment half written (the write of a group of records
//! was under way; none of them was acknowledged, since acknowledgement waits for the fsync). Reading
//! stops at the first record whose length runs past the end or whose checksum does not match: what
//! follows was never acknowledged.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub(super) use crate::store::sync_dir;

/// First bytes of every segment (the last byte is the format version).
const MAGIC: &[u8; 8] = b"TCWAL\0\0\x01";
/// Magic plus the creation time.
pub(super) const HEADER_LEN: u64 = 16;
/// Length and checksum before each payload.
const RECORD_HEAD: usize = 8;

/// What a record's body is (the request bytes exactly as they were decoded when acknowledged).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An `ExportTraceServiceRequest` in protobuf (OTLP/gRPC, or OTLP/HTTP protobuf after gzip).
    Proto = 1,
    /// An OTLP/HTTP JSON body (after gzip).
    Json = 2,
}

impl Kind {
    fn from_byte(b: u8) -> Option<Kind> {
        match b {
            1 => Some(Kind::Proto),
            2 => Some(Kind::Json),
            _ => None,
        }
    }
}

/// The file name of segment `seq`.
pub(super) fn file_name(seq: u64) -> String {
    format!("{seq:020}.wal")
}

/// The segment number of a file name, if it is a segment's.
pub(super) fn seq_of(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(".wal")?;
    (digits.len() == 20 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

/// Creates segment `seq` in `dir` with its header, synced together with the folder entry, so a
/// record appended later is never in a file the folder does not list.
pub(super) fn create(dir: &Path, seq: u64) -> io::Result<(File, PathBuf)> {
    let path = dir.join(file_name(seq));
    let mut file = File::options().create_new(true).append(true).open(&path)?;
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mut head = Vec::with_capacity(HEADER_LEN as usize);
    head.extend_from_slice(MAGIC);
    head.extend_from_slice(&nanos.to_le_bytes());
    file.write_all(&head)?;
    file.sync_all()?;
    sync_dir(dir)?;
    Ok((file, path))
}

/// Appends one record to `buf`.
pub(super) fn encode(buf: &mut Vec<u8>, kind: Kind, body: &[u8]) {
    let len = body.len() + 1;
    let mut crc = crc32fast::Hasher::new();
    crc.update(&[kind as u8]);
    crc.update(body);
    buf.extend_from_slice(&(len as u32).to_le_bytes());
    buf.extend_from_slice(&crc.finalize().to_le_bytes());
    buf.push(kind as u8);
    buf.extend_from_slice(body);
}

/// A segment read back.
#[derive(Debug)]
pub(super) struct Read {
    /// When the segment was created.
    pub created: SystemTime,
    /// Its complete records, in order.
    pub records: Vec<(Kind, Vec<u8>)>,
    /// Bytes after the last complete record (a write cut short by a crash), if any.
    pub torn_bytes: u64,
}

/// Reads a segment: every complete record, and how much of a torn tail follows.
pub(super) fn read(path: &Path) -> io::Result<Read> {
    let bytes = fs::read(path)?;
    if bytes.len() < HEADER_LEN as usize || &bytes[..8] != MAGIC {
        // A crash between creating the file and syncing its header leaves it short: it holds
        // nothing that was acknowledged.
        return Ok(Read {
            created: UNIX_EPOCH,
            records: Vec::new(),
            torn_bytes: bytes.len() as u64,
        });
    }
    let nanos = u64::from_le_bytes(bytes[8..16].try_into().expect("8 bytes"));
    let mut records = Vec::new();
    let mut at = HEADER_LEN as usize;
    while bytes.len() - at >= RECORD_HEAD {
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes")) as usize;
        let crc = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().expect("4 bytes"));
        let start = at + RECORD_HEAD;
        if len == 0 || bytes.len() - start < len {
            break;
        }
        let payload = &bytes[start..start + len];
        if crc32fast::hash(payload) != crc {
            break;
        }
        let Some(kind) = Kind::from_byte(payload[0]) else {
            break;
        };
        records.push((kind, payload[1..].to_vec()));
        at = start + len;
    }
    Ok(Read {
        created: UNIX_EPOCH + Duration::from_nanos(nanos),
        records,
        torn_bytes: (bytes.len() - at) as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_read_back_and_a_torn_tail_is_cut_off() {
        let dir = tempfile::tempdir().unwrap();
        let (mut f, path) = create(dir.path(), 7).unwrap();
        let mut buf = Vec::new();
        encode(&mut buf, Kind::Proto, b"first");
        encode(&mut buf, Kind::Json, b"{\"second\":1}");
        f.write_all(&buf).unwrap();
        let whole = read(&path).unwrap();
        assert_eq!(
            whole.records,
            vec![
                (Kind::Proto, b"first".to_vec()),
                (Kind::Json, b"{\"second\":1}".to_vec())
            ]
        );
        assert_eq!(whole.torn_bytes, 0);
        assert!(whole.created > UNIX_EPOCH);

        // Half of a third record (a crash during the write): the two before it stay.
        let mut third = Vec::new();
        encode(&mut third, Kind::Proto, b"never acknowledged");
        f.write_all(&third[..10]).unwrap();
        let torn = read(&path).unwrap();
        assert_eq!((torn.records.len(), torn.torn_bytes), (2, 10));

        // A flipped byte inside a record ends the segment there.
        let mut bytes = fs::read(&path).unwrap();
        bytes[HEADER_LEN as usize + RECORD_HEAD + 2] ^= 0xff;
        fs::write(&path, &bytes).unwrap();
        assert_eq!(read(&path).unwrap().records.len(), 0);
    }

    #[test]
    fn segment_names_round_trip_and_others_are_ignored() {
        assert_eq!(seq_of(&file_name(42)), Some(42));
        for other in [
            "42.wal",
            ".lock",
            "00000000000000000042.wal.tmp",
            "x0000000000000000042.wal",
        ] {
            assert_eq!(seq_of(other), None, "{other}");
        }
    }
}
