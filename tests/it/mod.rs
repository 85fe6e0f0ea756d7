mod cli;
mod common;
mod conversion_pairs;
mod fixtures;
mod jaeger_suite;
