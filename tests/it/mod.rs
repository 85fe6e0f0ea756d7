mod cli;
mod common;
mod fixtures;
mod jaeger_suite;
mod conversion_pairs;
