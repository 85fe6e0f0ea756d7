//! Escaping text for the report's targets, one rule per target over one loop ([`replace_chars`]):
//! HTML, shared by the page ([`super::html`]), its charts and its waterfalls; XML for the JUnit
//! report; JSON inside the page's `<script>` block. In a module of its own so that the page's parts
//! import it from below instead of from each other.
//!
//! HTML and XML escape the same four characters and differ in the apostrophe's entity (`&#39;`
//! works in every HTML version, `&apos;` is XML's) and in which control characters cannot stand in
//! the text and become U+FFFD (NUL in HTML; in XML 1.0 every one but tab, newline and return).

/// `s` with every character that `rule` maps replaced by what it maps it to.
pub(super) fn replace_chars(s: &str, rule: fn(char) -> Option<&'static str>) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match rule(c) {
            Some(replacement) => out.push_str(replacement),
            None => out.push(c),
        }
    }
    out
}

/// What HTML and XML both escape.
fn markup(c: char) -> Option<&'static str> {
    match c {
        '&' => Some("&amp;"),
        '<' => Some("&lt;"),
        '>' => Some("&gt;"),
        '"' => Some("&quot;"),
        _ => None,
    }
}

fn html_rule(c: char) -> Option<&'static str> {
    match c {
        '\'' => Some("&#39;"),
        '\0' => Some("\u{FFFD}"),
        c => markup(c),
    }
}

fn xml_rule(c: char) -> Option<&'static str> {
    match c {
        '\'' => Some("&apos;"),
        '\t' | '\n' | '\r' => None,
        c if (c as u32) < 0x20 => Some("\u{FFFD}"),
        c => markup(c),
    }
}

/// JSON text in a `<script>` block (see [`super::html::script_json`]); U+2028 and U+2029 end a
/// line in older JavaScript.
pub(super) fn script_rule(c: char) -> Option<&'static str> {
    match c {
        '<' => Some("\\u003c"),
        '>' => Some("\\u003e"),
        '&' => Some("\\u0026"),
        '\u{2028}' => Some("\\u2028"),
        '\u{2029}' => Some("\\u2029"),
        _ => None,
    }
}

/// Escapes text for HTML element content and double-quoted attribute values.
///
/// ```
/// use tracecheck::report::html::escape;
/// assert_eq!(escape("<b a=\"x\">&'</b>"), "&lt;b a=&quot;x&quot;&gt;&amp;&#39;&lt;/b&gt;");
/// ```
pub fn escape(s: &str) -> String {
    replace_chars(s, html_rule)
}

/// Escapes text for XML attributes and content; characters XML 1.0 cannot hold become U+FFFD.
pub(super) fn xml(s: &str) -> String {
    replace_chars(s, xml_rule)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_escapes_markup_and_control_characters() {
        assert_eq!(
            xml("<a href=\"x\">&'\u{1}"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&apos;\u{FFFD}"
        );
    }

    #[test]
    fn html_keeps_control_characters_but_nul_and_xml_keeps_whitespace() {
        assert_eq!(escape("\u{1}\t\0'"), "\u{1}\t\u{FFFD}&#39;");
        assert_eq!(xml("\u{1}\t\n\r\0'"), "\u{FFFD}\t\n\r\u{FFFD}&apos;");
    }
}
