//! [`TestEnv`]: a temp `HOME` with `~/.aws/{config,credentials}`, a recording proxy in front of
//! one moto, and commands (`assume`, any program, the aws CLI, tmux) that see only this
//! environment; [`recorded_sts_calls`] and [`recorded_requests`] read what it recorded.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use tempfile::TempDir;

use super::{Moto, RecordedRequest, RecordingProxy, StsCall, Tmux, assume_bin, lock, venv_bin};

/// Whether the tests run inside `scripts/test`'s private session keyring and D-Bus (with an
/// unlocked gnome-keyring), where the product may use the real keyrings.
pub fn private_keyring() -> bool {
    std::env::var("ASSUME_PRIVATE_KEYRING").as_deref() == Ok("1")
}

/// A temp `HOME` (with `~/.aws/config` and `~/.aws/credentials`), a recording proxy in front of
/// one moto, and commands that see only this environment.
pub struct TestEnv {
    dir: TempDir,
    /// Where the product is pointed (`AWS_ENDPOINT_URL`): this env's recording proxy.
    pub endpoint: String,
    pub world: Value,
    proxy: RecordingProxy,
}

impl TestEnv {
    pub fn new(moto: &Moto) -> TestEnv {
        let dir = tempfile::Builder::new()
            .prefix("assume-test-")
            .tempdir()
            .expect("create a temp dir for the test env");
        std::fs::create_dir_all(dir.path().join("home").join(".aws")).expect("create HOME/.aws");
        let proxy = RecordingProxy::start(moto.port);
        TestEnv {
            endpoint: format!("http://127.0.0.1:{}", proxy.port),
            world: moto.world.clone(),
            proxy,
            dir,
        }
    }

    /// The temp dir that holds everything (HOME is `root()/home`); free for other files.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// `HOME/.aws/config` (exported as AWS_CONFIG_FILE).
    pub fn config_path(&self) -> PathBuf {
        self.home().join(".aws").join("config")
    }

    /// `HOME/.aws/credentials` (exported as AWS_SHARED_CREDENTIALS_FILE).
    pub fn credentials_path(&self) -> PathBuf {
        self.home().join(".aws").join("credentials")
    }

    pub fn write_config(&self, contents: &str) {
        std::fs::write(self.config_path(), contents).expect("write AWS config");
    }

    pub fn write_credentials(&self, contents: &str) {
        std::fs::write(self.credentials_path(), contents).expect("write AWS credentials");
    }

    /// `[<profile>]` with the access key of world user `user` ("alice" or "mallory").
    pub fn user_credentials_section(&self, profile: &str, user: &str) -> String {
        let u = &self.world[user];
        let (Some(id), Some(secret)) =
            (u["access_key_id"].as_str(), u["secret_access_key"].as_str())
        else {
            panic!("no user {user:?} in the moto world: {}", self.world)
        };
        format!("[{profile}]\naws_access_key_id={id}\naws_secret_access_key={secret}\n")
    }

    /// Writes the credentials file with only `[alice]` = alice's key.
    pub fn alice_credentials(&self) {
        self.write_credentials(&self.user_credentials_section("alice", "alice"));
    }

    /// The variables every command gets (after clearing the environment):
    /// PATH (the directory of the `assume` binary, then the test process' PATH), HOME,
    /// AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE, AWS_ENDPOINT_URL (this env's recording
    /// proxy), AWS_EC2_METADATA_DISABLED=true, USER=tester, LANG=C.UTF-8, TERM=dumb,
    /// XDG_CACHE_HOME=`root()/cache`; inside `scripts/test`'s private keyring session also
    /// DBUS_SESSION_BUS_ADDRESS and XDG_RUNTIME_DIR, outside it ASSUME_CACHE=file.
    pub fn env_for_shell(&self) -> Vec<(String, String)> {
        let bin_dir = assume_bin()
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let path = match std::env::var("PATH") {
            Ok(p) if !p.is_empty() => format!("{bin_dir}:{p}"),
            _ => format!("{bin_dir}:/usr/local/bin:/usr/bin:/bin"),
        };
        let s = |p: PathBuf| p.display().to_string();
        let mut vars = vec![
            ("PATH".into(), path),
            ("HOME".into(), s(self.home())),
            ("AWS_CONFIG_FILE".into(), s(self.config_path())),
            (
                "AWS_SHARED_CREDENTIALS_FILE".into(),
                s(self.credentials_path()),
            ),
            ("AWS_ENDPOINT_URL".into(), self.endpoint.clone()),
            ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
            ("USER".into(), "tester".into()),
            ("LANG".into(), "C.UTF-8".into()),
            ("TERM".into(), "dumb".into()),
        ];
        vars.push(("XDG_CACHE_HOME".into(), s(self.root().join("cache"))));
        if private_keyring() {
            // The private session bus of `scripts/test`: its unlocked gnome-keyring is the
            // Secret Service the product finds (its session keyring, the keyutils store).
            vars.extend(
                ["DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR"]
                    .iter()
                    .filter_map(|name| Some((name.to_string(), std::env::var(name).ok()?))),
            );
        } else {
            // Outside it, never touch the developer's own keyrings: files in the temp dir.
            vars.push(("ASSUME_CACHE".into(), "file".into()));
        }
        vars
    }

    /// `assume` (assert_cmd) with only [`TestEnv::env_for_shell`]'s variables, cwd = HOME,
    /// stdin empty unless the test sets `write_stdin`.
    pub fn cmd(&self) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::new(assume_bin());
        cmd.env_clear()
            .envs(self.env_for_shell())
            .current_dir(self.home());
        cmd
    }

    /// `assume` as a std Command (for spawn/pipes), same environment as [`TestEnv::cmd`].
    pub fn std_cmd(&self) -> Command {
        self.command(assume_bin())
    }

    /// Any program (e.g. "bash", "zsh", "fish") with the same cleared environment, cwd = HOME.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .envs(self.env_for_shell())
            .current_dir(self.home());
        cmd
    }

    /// The venv's `aws` CLI with this environment plus `AWS_PAGER=""`.
    pub fn aws(&self) -> Command {
        let mut cmd = self.command(venv_bin("aws"));
        cmd.env("AWS_PAGER", "");
        cmd
    }

    /// A tmux terminal running `shell_command` (via /bin/sh -c) with this environment
    /// (tmux sets TERM=tmux-256color inside the pane).
    pub fn tmux(&self, shell_command: &str) -> Tmux {
        Tmux::new(shell_command, &self.env_for_shell())
    }
}

/// Runs `f` and returns the form-decoded parameters of each STS request made *through this env*
/// while it ran, in arrival order (e.g. `calls[0]["Action"] == "AssumeRole"`,
/// `calls[0]["TokenCode"] == "123456"`). Requests are recorded before they are forwarded, so a
/// command that finished inside `f` is fully recorded. Commands must use `env`'s environment
/// (`env.cmd()`, `env.aws()`, `env.command(..)`, `env.tmux(..)`), which points at its proxy.
pub fn recorded_sts_calls(env: &TestEnv, f: impl FnOnce()) -> Vec<StsCall> {
    recorded_requests(env, f)
        .iter()
        .filter(|r| r.is_sts())
        .map(RecordedRequest::params)
        .collect()
}

/// Like [`recorded_sts_calls`] but every request, raw (headers, signing key, body).
pub fn recorded_requests(env: &TestEnv, f: impl FnOnce()) -> Vec<RecordedRequest> {
    let before = lock(&env.proxy.requests).len();
    f();
    lock(&env.proxy.requests)
        .get(before..)
        .map(<[RecordedRequest]>::to_vec)
        .unwrap_or_default()
}

/// The port of this env's recording proxy (what `AWS_ENDPOINT_URL` points at).
pub fn proxy_port(env: &TestEnv) -> u16 {
    env.endpoint.rsplit(':').next().unwrap().parse().unwrap()
}

/// `assume explain ARGS --output json` with `vars` added: its JSON (it must succeed).
pub fn explain_json(env: &TestEnv, args: &[&str], vars: &[(&str, &str)]) -> Value {
    let out = env
        .cmd()
        .arg("explain")
        .args(args)
        .args(["--output", "json"])
        .envs(vars.iter().copied())
        .output()
        .expect("run assume");
    assert!(
        out.status.success(),
        "explain failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("explain prints JSON")
}

/// `assume P` with neither a terminal nor stdin.
pub fn run_without_terminal(env: &TestEnv, args: &[&str]) -> Output {
    env.command("setsid")
        .arg("--wait")
        .arg(assume_bin())
        .args(args)
        .env("SHELL", "/bin/bash")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}
