//! What the fuzz targets share: the byte layout of a `handle` input ([`input`]), the servers
//! it is sent to and the driver that sends it ([`harness`]).
//!
//! The targets are in `fuzz_targets/`, the seed generator in `examples/seeds.rs`; see
//! `README.md`.

pub mod harness;
pub mod input;
