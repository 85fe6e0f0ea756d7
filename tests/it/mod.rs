mod aggregate;
mod ballista;
mod bank_e2e;
mod bank_logic;
#[cfg(feature = "testing")]
mod capture;
mod cases;
mod check;
mod cli;
mod collect;
mod common;
mod compact;
mod conversion_pairs;
mod differential;
mod fetch;
mod fixtures;
mod html;
mod html_escape;
mod jaeger_suite;
mod python_sdk;
mod reference;
mod schema_doc;
#[cfg(feature = "testing")]
mod seed_unit;
mod show;
mod upgrade;
mod watch;
mod watch_windows;
