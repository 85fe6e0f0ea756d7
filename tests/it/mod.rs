mod check;
mod cli;
mod common;
mod conversion_pairs;
mod differential;
mod fixtures;
mod jaeger_suite;
mod reference;
