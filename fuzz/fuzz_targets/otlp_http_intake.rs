//! The OTLP/HTTP receiver's body handling: the first byte chooses the encoding (bit 0: protobuf or
//! JSON) and whether the body is gzip (bit 1: inflated by `collect::gunzip` with a limit, as
//! `Content-Encoding: gzip` is); the rest is the body, read by `Accepted::from_proto` / `from_json`.
#![no_main]

use std::borrow::Cow;

use libfuzzer_sys::fuzz_target;
use tracecheck::collect::{gunzip, Accepted, BodyError};

/// The inflation limit (the collector's default is 16 MiB; 1 MiB keeps gzip bombs fast to refuse).
const LIMIT: usize = 1 << 20;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, body)) = data.split_first() else {
        return;
    };
    let body: Cow<[u8]> = if mode & 2 != 0 {
        match gunzip(body, LIMIT) {
            Ok(inflated) => {
                assert!(inflated.len() <= LIMIT, "gunzip returned more than its limit");
                Cow::Owned(inflated)
            }
            Err(BodyError::TooLarge(limit)) => {
                assert_eq!(limit, LIMIT);
                return;
            }
            Err(BodyError::Invalid(_)) => return,
        }
    } else {
        Cow::Borrowed(body)
    };
    let accepted = if mode & 1 == 0 {
        Accepted::from_proto(&body)
    } else {
        Accepted::from_json(&body)
    };
    if let Ok(a) = accepted {
        assert_eq!(a.first_error.is_some(), a.rejected > 0, "first_error is set iff spans were rejected");
    }
});
