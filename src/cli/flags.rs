//! The command line's names for the library's settings. The library names a setting in its own
//! terms (`tracecheck::Setting`); an error about a value the user gave on the command line names the
//! flag that gave it instead.

use tracecheck::{Error, Setting};

/// The flag that gives `setting`.
fn flag(setting: Setting) -> &'static str {
    match setting {
        Setting::Data => "--data",
        Setting::Engine => "--engine",
        Setting::JaegerUrl => "--jaeger",
        Setting::TempoUrl => "--tempo",
        Setting::CaCert => "--ca-cert",
        Setting::PageLimit => "--page-limit",
        Setting::Baseline => "--baseline",
        // A setting no flag gives keeps the library's name.
        other => other.describe(),
    }
}

/// `error` as the command line says it: a setting named by its flag.
pub fn name_flags(error: Error) -> Error {
    match error {
        Error::Setting { setting, message } => Error::Usage(format!("{} {message}", flag(setting))),
        Error::Untrusted { url, message } => Error::Usage(format!(
            "{url}: {message} (is the server's certificate signed by a private CA? pass that CA with {} FILE)",
            flag(Setting::CaCert)
        )),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_named_by_their_flags() {
        let e = Error::Setting {
            setting: Setting::PageLimit,
            message: "must be at least 1".into(),
        };
        assert_eq!(e.to_string(), "the page limit must be at least 1");
        assert_eq!(name_flags(e).to_string(), "--page-limit must be at least 1");
        let e = Error::Untrusted {
            url: "https://x/".into(),
            message: "invalid peer certificate".into(),
        };
        assert!(!e.to_string().contains("--"), "{e}");
        let e = name_flags(e).to_string();
        assert!(
            e.starts_with("https://x/: invalid peer certificate (") && e.contains("--ca-cert FILE"),
            "{e}"
        );
        let other = name_flags(Error::Usage("as it was".into()));
        assert_eq!(other.to_string(), "as it was");
    }
}
