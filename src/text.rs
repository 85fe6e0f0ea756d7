//! Small pieces of English every report shares.

/// The plural suffix for `n` things: `""` for one, `"s"` otherwise (`format!("{n} trace{}",
/// plural(n))`).
pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn plural() {
        assert_eq!(format!("1 trace{}", super::plural(1)), "1 trace");
        assert_eq!(format!("0 trace{}", super::plural(0)), "0 traces");
        assert_eq!(format!("2 trace{}", super::plural(2)), "2 traces");
    }
}
