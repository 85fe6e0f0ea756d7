//! Escaping text for markup: HTML, shared by the page ([`super::html`]), its charts and its
//! waterfalls, and XML for the JUnit report. In a module of its own so that the page's parts import
//! it from below instead of from each other.
//!
//! Both targets escape the same five characters; they differ in the apostrophe's entity (`&#39;`
//! works in every HTML version, `&apos;` is XML's) and in which control characters cannot stand in
//! the text and become U+FFFD (NUL in HTML; in XML 1.0 every one but tab, newline and return).

/// The rules of one target, applied by [`Markup::escape`].
struct Markup {
    apostrophe: &'static str,
    /// Characters the target cannot hold, written as U+FFFD.
    unrepresentable: fn(char) -> bool,
}

const HTML: Markup = Markup {
    apostrophe: "&#39;",
    unrepresentable: |c| c == '\0',
};

const XML: Markup = Markup {
    apostrophe: "&apos;",
    unrepresentable: |c| (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r'),
};

impl Markup {
    fn escape(&self, s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        for c in s.chars() {
            match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '"' => out.push_str("&quot;"),
                '\'' => out.push_str(self.apostrophe),
                c if (self.unrepresentable)(c) => out.push('\u{FFFD}'),
                c => out.push(c),
            }
        }
        out
    }
}

/// Escapes text for HTML element content and double-quoted attribute values.
///
/// ```
/// use tracecheck::report::html::escape;
/// assert_eq!(escape("<b a=\"x\">&'</b>"), "&lt;b a=&quot;x&quot;&gt;&amp;&#39;&lt;/b&gt;");
/// ```
pub fn escape(s: &str) -> String {
    HTML.escape(s)
}

/// Escapes text for XML attributes and content; characters XML 1.0 cannot hold become U+FFFD.
pub(super) fn xml(s: &str) -> String {
    XML.escape(s)
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
