//! The integration tests, one binary: a module per command and per mechanism, all over one
//! [`harness`]. Each drives the built `assume` against real parts on loopback — moto for STS
//! and IAM, the private keyrings of `scripts/test`, real bash, zsh and fish, tmux, the aws CLI
//! — and the tests of every module run in parallel threads of this one process.
//!
//! One feature's tests: `scripts/test --test it cache::` (or `cargo test --test it cache::`
//! inside `with_private_keyring` of scripts/lib.sh).

#![allow(clippy::unwrap_used)]

mod harness;

mod botocore;
mod cache;
mod clear;
mod config;
mod console;
mod credential_process;
mod docs;
mod endpoint;
mod exec;
mod explain;
mod fidelity;
mod init;
mod keys;
mod keys_import;
mod keys_rotate;
mod list;
mod mfa;
mod package;
mod picker;
mod robustness;
mod shells;
mod sts;
mod subshell;
mod switch;
mod whoami;
