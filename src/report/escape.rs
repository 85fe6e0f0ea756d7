//! HTML escaping, shared by the page ([`super::html`]), its charts and its waterfalls: in a module of
//! its own so that those three import it from below instead of from each other.

/// Escapes text for HTML element content and double-quoted attribute values.
///
/// ```
/// use tracecheck::report::html::escape;
/// assert_eq!(escape("<b a=\"x\">&'</b>"), "&lt;b a=&quot;x&quot;&gt;&amp;&#39;&lt;/b&gt;");
/// ```
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}
