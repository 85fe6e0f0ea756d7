//! Durations on the command line: `250ns`, `20us`, `500ms`, `3s`, `5m`, `1h` (a bare number is seconds).

use std::time::Duration;

/// Parses `N[ns|us|ms|s|m|h]` with a decimal `N`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("{text:?} is not a duration; expected e.g. 500ms, 3s, 5m, 1h"))?;
    // Whole nanoseconds exactly (a metrics step from a script), not through a float.
    if unit.trim() == "ns"
        && let Ok(ns) = num.parse::<u64>()
    {
        return Ok(Duration::from_nanos(ns));
    }
    let secs = match unit.trim() {
        "ns" => value / 1e9,
        "us" | "µs" => value / 1e6,
        "ms" => value / 1000.0,
        "" | "s" => value,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        other => return Err(format!("unknown unit {other:?} in {text:?}; use ns, us, ms, s, m or h")),
    };
    Duration::try_from_secs_f64(secs).map_err(|e| format!("{text:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert_eq!(
            parse_duration("10000000001ns"),
            Ok(Duration::from_nanos(10_000_000_001))
        );
        assert_eq!(parse_duration("20us"), Ok(Duration::from_micros(20)));
        assert_eq!(parse_duration("1.5m"), Ok(Duration::from_secs(90)));
        assert!(parse_duration("3 days").unwrap_err().contains("unknown unit"));
        assert!(parse_duration("fast").is_err());
    }
}
