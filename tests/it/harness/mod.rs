//! The harness every module of the `it` test binary shares. It drives real parts on loopback:
//! a real `moto_server` (STS + IAM), the real `aws` CLI from the test venv, real shells, the
//! private keyrings of `scripts/test` and a real terminal (tmux). Nothing is mocked; the one
//! fake ([`FakeServer`]) plays only what moto cannot: STS answers it never gives, a silent or
//! cut-off endpoint, the federation (console sign-in) endpoint.
//!
//! * [`moto`](self::moto) — one moto server per test binary (and one more with auth mode on),
//!   the world `tests/support/moto_world.py` creates in it, killed when the binary exits.
//! * [`proxy`] — the recording proxy in front of moto, one per [`TestEnv`]; [`RecordedRequest`]
//!   and form decoding.
//! * [`env`] — [`TestEnv`] (a temp `HOME` with `~/.aws/{config,credentials}`, the command
//!   builders with a cleared environment), [`recorded_sts_calls`], the private keyrings.
//! * [`profiles`] — the config and credentials files tests start from.
//! * [`store`] — which cache store a command ends up with ([`StoreCx`]), and looking inside
//!   each store.
//! * [`tmux`] — a real terminal for interactive prompts.
//! * [`fake`] — [`FakeServer`], and a port where nothing listens.
//! * [`check`] — output assertions shared by the modules.
//!
//! One binary means one process: tests run in parallel threads and share the two motos, the
//! Secret Service and the session keyring. So nothing here changes process-wide state (no
//! `set_var`, umask, rlimit or current dir: a child process gets those), entries are always
//! looked up by their own cache key, and a test that must see a whole store gets a Secret
//! Service of its own ([`Store::OwnSecretService`]).

mod check;
mod env;
mod fake;
mod moto;
mod profiles;
mod proxy;
mod store;
mod tmux;

pub use check::*;
pub use env::*;
pub use fake::*;
pub use moto::*;
pub use profiles::*;
pub use proxy::*;
pub use store::*;
pub use tmux::*;

use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

/// Upper bound for any single `assume` run (a hang fails the test instead of blocking it).
pub const RUN_TIMEOUT: Duration = Duration::from_secs(40);
/// How long to wait for a prompt, a screen or an exit in tmux, or for a process to appear.
pub const WAIT: Duration = Duration::from_secs(20);
/// Socket timeouts of the harness' own HTTP clients and servers (moto's control API, the
/// recording proxy, the fake server).
const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// The crate root (where Cargo.toml lives).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `assume` binary cargo built for this test run.
pub fn assume_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_assume"))
}

/// The test venv: `$ASSUME_TEST_VENV`, else `<repo>/.venv-test`. Panics (never skips) if it
/// does not hold moto.
pub fn venv() -> PathBuf {
    let dir = match std::env::var_os("ASSUME_TEST_VENV") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => repo_root().join(".venv-test"),
    };
    let moto_server = dir.join("bin").join("moto_server");
    assert!(
        moto_server.is_file(),
        "no moto in the test venv: {} does not exist.\n\
         run scripts/test (it creates .venv-test with moto), or point ASSUME_TEST_VENV at a \
         venv with moto[server]==5.2.5 and awscli",
        moto_server.display()
    );
    dir
}

/// `<venv>/bin/<name>`, e.g. `venv_bin("aws")`.
pub fn venv_bin(name: &str) -> PathBuf {
    venv().join("bin").join(name)
}

/// Calls `f` every 20 ms until it returns true or `timeout` passes; returns whether it did.
pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    poll_until(timeout, || f().then_some(())).is_some()
}

/// Calls `f` every 20 ms until it returns `Some(v)` (→ `Some(v)`) or `timeout` passes (→ None).
/// `f` is always called at least once, and once more at the deadline.
pub fn poll_until<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        let now = Instant::now();
        if now >= deadline {
            return None;
        }
        thread::sleep(Duration::from_millis(20).min(deadline - now));
    }
}
