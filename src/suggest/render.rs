//! The suggested file: canonical model text, a comment per suggestion saying what it rests on.

use super::{Suggestion, Template};
use crate::error::{Error, Result};
use crate::model::{format_file, parse_file};

impl Template {
    /// What the support of this template counts.
    fn unit(self) -> &'static str {
        match self {
            Template::Exclusive | Template::TagOrder | Template::Conditional => "trace",
            Template::Order => "sibling pair",
            _ => "span",
        }
    }
}

/// A comment's text with control characters (a newline in a span name) escaped, so the comment
/// stays one line.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            c if c.is_control() => c.escape_default().to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// The blocks alone, one after the other (for running them).
pub(super) fn candidates_file(list: &[Suggestion]) -> String {
    list.iter().map(|s| s.block.as_str()).collect::<Vec<_>>().join("\n")
}

/// The file for `kept`, mined from `label` (the good data as the user named it): valid,
/// canonically formatted model text that `tracecheck check` runs as it is.
///
/// ```
/// let text = tracecheck::suggest::render(&[], "good").unwrap();
/// assert!(text.starts_with("# Suggested by"));
/// ```
pub fn render(kept: &[Suggestion], label: &str) -> Result<String> {
    let mut out = format!(
        "# Suggested by `tracecheck suggest` from {}: {} that held on every trace of it.\n\
         # Each one says on how much data it was tested (its support) and why it was kept. Keep the\n\
         # rules that state what the system must do; delete those that only describe today's data.\n",
        one_line(label),
        match kept.len() {
            1 => "1 rule".to_string(),
            n => format!("{n} rules"),
        }
    );
    for s in kept {
        out.push('\n');
        let unit = s.template.unit();
        let plural = if s.support == 1 { "" } else { "s" };
        out.push_str(&format!(
            "# {}: tested on {} {unit}{plural}",
            s.template.as_str(),
            s.support
        ));
        if s.traces > 0 && unit != "trace" {
            out.push_str(&format!(
                " in {} trace{}",
                s.traces,
                if s.traces == 1 { "" } else { "s" }
            ));
        }
        out.push_str(".\n");
        out.push_str(&format!("# {}.\n", one_line(&s.why)));
        if let Some(c) = &s.caught {
            out.push_str(&format!("# On the bad data: {}.\n", one_line(&c.text)));
        }
        out.push_str(&s.block);
    }
    let file = parse_file(&out).map_err(|e| {
        let (line, col) = e.line_col(&out);
        Error::Bug(format!(
            "a suggestion does not parse ({line}:{col}: {}):\n{out}",
            e.message
        ))
    })?;
    Ok(format_file(&file))
}
