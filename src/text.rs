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

/// `s` cut to at most `width` characters; a cut text ends with `…`.
pub(crate) fn cut(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_string();
    }
    let mut cut: String = s.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// `s` cut or padded with spaces to exactly `width` characters (a table column).
pub(crate) fn fit(s: &str, width: usize) -> String {
    format!("{:<width$}", cut(s, width))
}

/// A span's place in a drawn tree: the indent (two spaces per level, at most `max_depth` levels)
/// and its label — the name, or past `max_depth` `[depth N] name`, so deep trees stay on screen.
pub(crate) fn tree_label(name: &str, depth: usize, max_depth: usize) -> (String, String) {
    let indent = "  ".repeat(depth.min(max_depth));
    let label = if depth > max_depth {
        format!("[depth {depth}] {name}")
    } else {
        name.to_string()
    };
    (indent, label)
}

#[cfg(test)]
mod tests {
    #[test]
    fn cut_fit_and_tree_labels() {
        assert_eq!(super::cut("withdrawal", 5), "with…");
        assert_eq!(super::cut("ok", 5), "ok");
        assert_eq!(super::fit("ok", 4), "ok  ");
        assert_eq!(super::fit("ünïcode", 4), "ünï…");
        assert_eq!(super::tree_label("a", 2, 16), ("    ".to_string(), "a".to_string()));
        assert_eq!(super::tree_label("a", 17, 16).1, "[depth 17] a");
        assert_eq!(super::tree_label("a", 17, 16).0.len(), 32);
    }

    #[test]
    fn plural() {
        assert_eq!(format!("1 trace{}", super::plural(1)), "1 trace");
        assert_eq!(format!("0 trace{}", super::plural(0)), "0 traces");
        assert_eq!(format!("2 trace{}", super::plural(2)), "2 traces");
    }
}
