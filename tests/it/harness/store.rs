//! Which cache store a command ends up with, and looking inside each store: [`StoreCx`] runs
//! `assume` so that the private Secret Service, the kernel keyring or files take the entry —
//! directly, forced, or by a fallback from a store that is missing, locked or broken.
//!
//! The private gnome-keyring (on the private D-Bus) and the private kernel session keyring
//! are those `scripts/test` runs the tests in (see `with_private_keyring` in scripts/lib.sh),
//! shared by every test of the binary: entries are always looked up by their own cache key,
//! never by counting, and a test that needs a whole store to itself uses
//! [`Store::OwnSecretService`].

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

use super::{
    RUN_TIMEOUT, StsCall, TestEnv, Tmux, Vars, assert_success, assume_bin,
    check_credential_process_json, exported_vars, files_under, moto, own_mfa_serial,
    recorded_sts_calls, standard_config, text, unix_now, wait_until,
};

/// `sh -c` body that makes the kernel keyring unusable for the command it then execs: run
/// inside `keyctl session -` (a fresh session keyring of its own), it revokes that keyring, so
/// every keyutils operation on `@s` fails with EKEYREVOKED — without touching the session
/// keyring the other tests share.
pub const REVOKE_AND_EXEC: &str = "keyctl revoke @s && exec \"$@\"";

/// Which store the product should end up using, and how the environment makes it so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    /// Automatic selection with the private Secret Service reachable (its bus address passed).
    SecretService,
    /// Automatic selection with no session bus at all (no `DBUS_SESSION_BUS_ADDRESS`, an empty
    /// `XDG_RUNTIME_DIR`): falls back to the kernel keyring.
    Keyutils,
    /// Automatic selection with the bus address pointing nowhere and the kernel session keyring
    /// revoked (each command runs as `keyctl session - sh -c 'keyctl revoke @s && exec …'`):
    /// falls back to files.
    FileFallback,
    /// `ASSUME_CACHE=file` (bus pointing nowhere, so nothing could reach a keyring anyway).
    File,
    /// Automatic selection on a session bus where nothing provides the Secret Service: each
    /// command runs under its own `dbus-run-session` with a config without service
    /// directories (so nothing is activated). Falls back to the kernel keyring.
    BusWithoutSecretService,
    /// Automatic selection on a session bus whose Secret Service (gnome-keyring, activated by
    /// the bus as on a desktop) has only a locked login keyring and no way to prompt for its
    /// password: each command runs under its own `dbus-run-session`, with `XDG_DATA_HOME`
    /// pointing at a login keyring made beforehand with a password. Falls back to keyutils.
    LockedSecretService,
    /// A Secret Service of this test's own: a session bus and an unlocked gnome-keyring on it,
    /// for as long as the [`StoreCx`] lives. For a test that acts on the whole store (`clear
    /// --all` removes every item of `assume`'s), which on the shared one would remove the
    /// entries of tests running beside it.
    OwnSecretService,
}

/// dbus-daemon config of a session bus with nothing activatable.
const BARE_BUS_CONF: &str = r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:tmpdir=/tmp</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#;

/// One test's cache: its TestEnv, its own cache dir, the store its commands end up with.
pub struct StoreCx {
    pub env: TestEnv,
    pub store: Store,
    /// `XDG_CACHE_HOME` (inside the TestEnv's root).
    pub cache_home: PathBuf,
    /// This test's own `mfa_serial`.
    pub mfa: String,
    own_secret_service: Option<OwnSecretService>,
}

/// The tests must run inside the private keyrings of `scripts/test`, never the developer's.
pub fn require_private_keyrings() {
    let private = std::env::var("ASSUME_PRIVATE_KEYRING").unwrap_or_default();
    let bus = std::env::var("DBUS_SESSION_BUS_ADDRESS").unwrap_or_default();
    assert!(
        private == "1" && !bus.is_empty(),
        "the store tests need the private Secret Service and session keyring of scripts/test \
         (ASSUME_PRIVATE_KEYRING={private:?}, DBUS_SESSION_BUS_ADDRESS={bus:?}); run \
         `scripts/test --test it cache::`, or `source scripts/lib.sh && with_private_keyring \
         cargo test --test it cache::`"
    );
}

impl StoreCx {
    pub fn new(store: Store) -> StoreCx {
        require_private_keyrings();
        let env = TestEnv::new(moto());
        let mfa = own_mfa_serial("cache");
        env.write_config(&standard_config(&mfa));
        env.alice_credentials();
        let cache_home = env.root().join("xdg-cache");
        std::fs::create_dir_all(env.root().join("run")).unwrap();
        let own_secret_service =
            (store == Store::OwnSecretService).then(|| OwnSecretService::start(env.root()));
        let cx = StoreCx {
            env,
            store,
            cache_home,
            mfa,
            own_secret_service,
        };
        match store {
            Store::BusWithoutSecretService => {
                std::fs::write(cx.env.root().join("bus.conf"), BARE_BUS_CONF).unwrap();
            }
            Store::LockedSecretService => cx.make_locked_login_keyring(),
            _ => {}
        }
        cx
    }

    /// `XDG_DATA_HOME` of the locked Secret Service.
    fn keyring_data(&self) -> PathBuf {
        self.env.root().join("keyring-data")
    }

    /// A gnome-keyring login keyring with a password, made on a throwaway bus; every later
    /// daemon that opens it without the password finds it locked.
    fn make_locked_login_keyring(&self) {
        let data = self.keyring_data();
        std::fs::create_dir_all(&data).unwrap();
        let out = Command::new("dbus-run-session")
            .args(["--", "sh", "-c"])
            .arg(
                "printf %s secret-pw | gnome-keyring-daemon --unlock --components=secrets \
                 >/dev/null && printf %s v | secret-tool store --label probe service probe \
                 username probe",
            )
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.env.home())
            .env("XDG_DATA_HOME", &data)
            .env("XDG_RUNTIME_DIR", self.env.root().join("run"))
            .stdin(Stdio::null())
            .output()
            .expect("run dbus-run-session (dbus) and gnome-keyring-daemon");
        assert!(
            out.status.success() && data.join("keyrings").join("login.keyring").is_file(),
            "could not make a login keyring: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// What each command runs under, before `assume` itself.
    fn wrapper(&self) -> Vec<String> {
        let strings = |v: &[&str]| v.iter().map(|s| (*s).to_string()).collect::<Vec<_>>();
        match self.store {
            Store::FileFallback => {
                strings(&["keyctl", "session", "-", "sh", "-c", REVOKE_AND_EXEC, "sh"])
            }
            Store::BusWithoutSecretService => vec![
                "dbus-run-session".into(),
                format!(
                    "--config-file={}",
                    self.env.root().join("bus.conf").display()
                ),
                "--".into(),
            ],
            Store::LockedSecretService => strings(&["dbus-run-session", "--"]),
            _ => Vec::new(),
        }
    }

    /// `wrapper… assume`, as a program and its first arguments.
    fn program(&self) -> (PathBuf, Vec<PathBuf>) {
        let mut all: Vec<PathBuf> = self.wrapper().into_iter().map(PathBuf::from).collect();
        all.push(assume_bin());
        let program = all.remove(0);
        (program, all)
    }

    /// `$XDG_CACHE_HOME/assume`.
    pub fn cache_dir(&self) -> PathBuf {
        self.cache_home.join("assume")
    }

    pub fn entry_path(&self, key: &str) -> PathBuf {
        self.cache_dir().join("entries").join(format!("{key}.json"))
    }

    /// The TestEnv's variables, with this test's XDG_CACHE_HOME, SHELL=/bin/bash and the
    /// variables that select the store.
    pub fn vars(&self) -> Vec<(String, String)> {
        let mut vars: Vec<(String, String)> = self
            .env
            .env_for_shell()
            .into_iter()
            // The harness' own choices of these are replaced by the store selection below.
            .filter(|(k, _)| {
                ![
                    "DBUS_SESSION_BUS_ADDRESS",
                    "XDG_RUNTIME_DIR",
                    "XDG_CACHE_HOME",
                    "XDG_DATA_HOME",
                    "ASSUME_CACHE",
                ]
                .contains(&k.as_str())
            })
            .collect();
        let s = |p: PathBuf| p.display().to_string();
        vars.push(("XDG_CACHE_HOME".into(), s(self.cache_home.clone())));
        vars.push(("SHELL".into(), "/bin/bash".into()));
        let nowhere = format!("unix:path={}", self.env.root().join("no-bus").display());
        match self.store {
            Store::SecretService => vars.push((
                "DBUS_SESSION_BUS_ADDRESS".into(),
                std::env::var("DBUS_SESSION_BUS_ADDRESS").unwrap(),
            )),
            Store::OwnSecretService => vars.push((
                "DBUS_SESSION_BUS_ADDRESS".into(),
                self.own_bus().unwrap_or_default().to_string(),
            )),
            // No address at all, and no $XDG_RUNTIME_DIR/bus to guess either.
            Store::Keyutils => {
                vars.push(("XDG_RUNTIME_DIR".into(), s(self.env.root().join("run"))))
            }
            Store::FileFallback => vars.push(("DBUS_SESSION_BUS_ADDRESS".into(), nowhere)),
            Store::File => {
                vars.push(("DBUS_SESSION_BUS_ADDRESS".into(), nowhere));
                vars.push(("ASSUME_CACHE".into(), "file".into()));
            }
            // dbus-run-session sets the address.
            Store::BusWithoutSecretService => {
                vars.push(("XDG_RUNTIME_DIR".into(), s(self.env.root().join("run"))));
            }
            Store::LockedSecretService => {
                vars.push(("XDG_RUNTIME_DIR".into(), s(self.env.root().join("run"))));
                vars.push(("XDG_DATA_HOME".into(), s(self.keyring_data())));
            }
        }
        vars
    }

    /// `assume` with [`StoreCx::vars`], under [`StoreCx::wrapper`]; more arguments and variables
    /// may be added.
    pub fn cmd(&self) -> assert_cmd::Command {
        let (program, args) = self.program();
        let mut cmd = assert_cmd::Command::new(program);
        cmd.args(args)
            .env_clear()
            .envs(self.vars())
            .current_dir(self.env.home())
            .timeout(RUN_TIMEOUT);
        cmd
    }

    /// Same as [`StoreCx::cmd`], as a std Command (spawn).
    pub fn std_cmd(&self) -> Command {
        let (program, args) = self.program();
        let mut cmd = Command::new(program);
        cmd.args(args)
            .env_clear()
            .envs(self.vars())
            .current_dir(self.env.home())
            .stdin(Stdio::null());
        cmd
    }

    /// `program` under [`StoreCx::wrapper`] with the same variables.
    pub fn wrapped(&self, program: &str) -> Command {
        let mut all = self.wrapper();
        all.push(program.to_string());
        let mut cmd = Command::new(&all[0]);
        cmd.args(&all[1..])
            .env_clear()
            .envs(self.vars())
            .current_dir(self.env.home())
            .stdin(Stdio::null());
        cmd
    }

    /// Any program with the same variables.
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .envs(self.vars())
            .current_dir(self.env.home())
            .stdin(Stdio::null());
        cmd
    }

    pub fn tmux(&self, shell_command: &str) -> Tmux {
        assert!(self.wrapper().is_empty(), "not wired for tmux");
        Tmux::new(shell_command, &self.vars())
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().unwrap()
    }

    /// Runs `assume ARGS`, asserts success, returns stderr.
    pub fn ok(&self, args: &[&str]) -> String {
        self.ok_with(&[], args)
    }

    /// [`StoreCx::ok`] with more variables set.
    pub fn ok_with(&self, vars: &[(&str, &str)], args: &[&str]) -> String {
        let out = self
            .cmd()
            .envs(vars.iter().copied())
            .args(args)
            .output()
            .unwrap();
        assert_success(args, &out);
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// Runs `assume ARGS` (exports), evaluates them with bash; the exported variables and
    /// assume's stderr.
    pub fn exports_with(&self, cmd: &mut assert_cmd::Command, args: &[&str]) -> (Vars, String) {
        let out = cmd.args(args).output().unwrap();
        assert_success(args, &out);
        let vars = exported_vars(&mut self.command("bash"), &out.stdout);
        (vars, String::from_utf8_lossy(&out.stderr).into_owned())
    }

    pub fn exports(&self, args: &[&str]) -> Vars {
        self.exports_with(&mut self.cmd(), args).0
    }

    /// The bus address of [`Store::OwnSecretService`].
    fn own_bus(&self) -> Option<&str> {
        self.own_secret_service.as_ref().map(|s| s.address.as_str())
    }

    /// `assume ARGS` → (AccessKeyId exported, STS calls made, stderr).
    pub fn key_id_and_calls(&self, args: &[&str]) -> (String, Vec<StsCall>, String) {
        self.key_id_and_calls_with(&mut self.cmd(), args)
    }

    pub fn key_id_and_calls_with(
        &self,
        cmd: &mut assert_cmd::Command,
        args: &[&str],
    ) -> (String, Vec<StsCall>, String) {
        let mut result = None;
        let calls = recorded_sts_calls(&self.env, || {
            result = Some(self.exports_with(cmd, args));
        });
        let (vars, stderr) = result.unwrap();
        (vars["AWS_ACCESS_KEY_ID"].clone(), calls, stderr)
    }

    /// `cache_key` from `assume explain PROFILE --output json` (same environment).
    pub fn cache_key(&self, profile: &str) -> String {
        let out = self
            .cmd()
            .args(["explain", profile, "--output", "json"])
            .output()
            .unwrap();
        assert_success(&["explain", profile], &out);
        let json: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "explain printed no JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        });
        json["cache_key"]
            .as_str()
            .unwrap_or_else(|| panic!("explain --output json has no \"cache_key\" string: {json}"))
            .to_string()
    }

    /// `assume credential-process ARGS` → its JSON document (checked for the exact shape).
    pub fn credential_process(&self, args: &[&str]) -> Value {
        let mut all = vec!["credential-process"];
        all.extend_from_slice(args);
        let out = self.run(&all);
        assert_success(&all, &out);
        check_credential_process_json(&out.stdout)
    }
}

/// `sh -c` body, run under `dbus-run-session`, of [`Store::OwnSecretService`]: an unlocked
/// gnome-keyring on that private bus (its keyrings and, as `HOME`, its control socket under
/// `$1`, as `with_private_keyring` in scripts/lib.sh does it), the bus address on stdout once
/// it serves, then waiting until its stdin closes (the [`StoreCx`] dropped, or the test binary
/// gone, by any death) to stop the daemon, and with it the bus.
const OWN_SECRET_SERVICE: &str = r#"
kr=$1
printf %s assume-test >"$kr/password"
XDG_DATA_HOME="$kr" gnome-keyring-daemon --foreground --unlock \
  --components=secrets <"$kr/password" >"$kr/env" 2>"$kr/daemon.log" &
daemon=$!
i=0
until grep -q "^GNOME_KEYRING_CONTROL=" "$kr/env"; do
  i=$((i + 1))
  if [ "$i" -gt 1000 ] || ! kill -0 "$daemon" 2>/dev/null; then
    echo "gnome-keyring-daemon did not start:" >&2
    cat "$kr/daemon.log" >&2
    exit 1
  fi
  sleep 0.01
done
echo "$DBUS_SESSION_BUS_ADDRESS"
while read -r _; do :; done
kill "$daemon" 2>/dev/null
wait "$daemon" 2>/dev/null
"#;

/// The session bus and gnome-keyring of [`Store::OwnSecretService`].
struct OwnSecretService {
    /// `dbus-run-session`, running [`OWN_SECRET_SERVICE`].
    session: Child,
    /// The write end of its stdin: closing it stops it.
    stdin: Option<ChildStdin>,
    address: String,
}

impl OwnSecretService {
    fn start(root: &Path) -> OwnSecretService {
        let dir = root.join("own-secret-service");
        std::fs::create_dir_all(&dir).expect("create the own Secret Service's dir");
        let log = dir.join("session.log");
        let mut session = Command::new("dbus-run-session")
            .args(["--", "sh", "-c", OWN_SECRET_SERVICE, "sh"])
            .arg(&dir)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("create session.log"))
            .spawn()
            .expect("run dbus-run-session (dbus) with gnome-keyring-daemon");
        let stdin = session.stdin.take();
        let mut address = String::new();
        let _ = BufReader::new(session.stdout.take().expect("its stdout")).read_line(&mut address);
        let address = address.trim().to_string();
        assert!(
            !address.is_empty(),
            "no Secret Service of the test's own: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        // The daemon answers before its login collection is ready for writes: the first item
        // stored too soon comes back "result not returned". Wait (bounded) until a probe item
        // can be stored, then remove it.
        let stored = wait_until(Duration::from_secs(15), || {
            let mut probe = secret_tool(
                Some(&address),
                &[
                    "store",
                    "--label",
                    "probe",
                    "service",
                    "assume-probe",
                    "username",
                    "ready",
                ],
            );
            probe
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            let Ok(mut child) = probe.spawn() else {
                return false;
            };
            if let Some(mut input) = child.stdin.take() {
                let _ = input.write_all(b"x");
            }
            child.wait().is_ok_and(|status| status.success())
        });
        assert!(
            stored,
            "the test's own Secret Service never took an item: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        let _ = secret_tool(
            Some(&address),
            &["clear", "service", "assume-probe", "username", "ready"],
        )
        .output();
        OwnSecretService {
            session,
            stdin,
            address,
        }
    }
}

impl Drop for OwnSecretService {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.session.wait();
    }
}

/// `secret-tool ARGS` on the bus at `bus` (None: the shared private Secret Service).
fn secret_tool(bus: Option<&str>, args: &[&str]) -> Command {
    let mut cmd = Command::new("secret-tool");
    cmd.args(args);
    if let Some(bus) = bus {
        cmd.env("DBUS_SESSION_BUS_ADDRESS", bus)
            .env_remove("GNOME_KEYRING_CONTROL");
    }
    cmd
}

/// The Secret Service item `service=assume username=KEY` (its secret), via the real
/// `secret-tool` on the private bus.
pub fn secret_service_lookup(key: &str) -> Option<String> {
    secret_service_lookup_on(None, key)
}

/// [`secret_service_lookup`] on the bus at `bus`.
fn secret_service_lookup_on(bus: Option<&str>, key: &str) -> Option<String> {
    let out = secret_tool(bus, &["lookup", "service", "assume", "username", key])
        .stdin(Stdio::null())
        .output()
        .expect("run secret-tool (libsecret-tools)");
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Removes the item `service=assume username=KEY`, as another program could.
pub fn secret_service_delete(key: &str) {
    let out = secret_tool(None, &["clear", "service", "assume", "username", key])
        .stdin(Stdio::null())
        .output()
        .expect("run secret-tool");
    assert!(out.status.success(), "secret-tool clear failed");
}

/// Stores `secret` as the item `service=assume username=KEY`, as another program could.
pub fn secret_service_store(key: &str, secret: &str) {
    secret_service_store_on(None, key, secret);
}

/// [`secret_service_store`] on the bus at `bus`.
fn secret_service_store_on(bus: Option<&str>, key: &str, secret: &str) {
    let mut child = secret_tool(
        bus,
        &[
            "store", "--label", "x", "service", "assume", "username", key,
        ],
    )
    .stdin(Stdio::piped())
    .stdout(Stdio::null())
    .spawn()
    .expect("run secret-tool");
    {
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(secret.as_bytes()).unwrap();
    }
    assert!(child.wait().unwrap().success(), "secret-tool store failed");
}

/// The id of the user key `keyring:KEY@assume` in this (private) session keyring.
pub fn keyutils_search(key: &str) -> Option<String> {
    kernel_search(key, "assume")
}

/// The id of the kernel keyring's copy of the OS keyring entry `key`.
pub fn kernel_copy_search(key: &str) -> Option<String> {
    kernel_search(key, "assume-copy")
}

/// Drops the kernel keyring's copy of the OS keyring entry `key`, if there is one.
pub fn drop_kernel_copy(key: &str) {
    if let Some(id) = kernel_copy_search(key) {
        keyctl(&["invalidate", &id]);
    }
}

/// Runs `keyctl ARGS…` in this (private) session keyring; its stdout, trimmed, or `None`
/// when it fails.
pub fn keyctl(args: &[&str]) -> Option<String> {
    let out = Command::new("keyctl")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run keyctl (keyutils)");
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// When the kernel drops the key `id` (decimal, as keyctl prints it), as `/proc/keys` says:
/// `perm` for never, else the time left (`59m`, `3599s` …).
pub fn kernel_expiry(id: &str) -> Option<String> {
    let hex = format!("{:08x}", id.parse::<u32>().ok()?);
    std::fs::read_to_string("/proc/keys")
        .ok()?
        .lines()
        .find(|line| line.split_whitespace().next() == Some(hex.as_str()))
        .and_then(|line| line.split_whitespace().nth(3).map(str::to_string))
}

/// The id of the user key `keyring:KEY@SERVICE` in this (private) session keyring.
fn kernel_search(key: &str, service: &str) -> Option<String> {
    keyctl(&["search", "@s", "user", &format!("keyring:{key}@{service}")])
}

/// The payload of the user key `keyring:KEY@assume`.
pub fn keyutils_read(key: &str) -> Option<String> {
    let id = keyutils_search(key)?;
    let out = Command::new("keyctl")
        .args(["pipe", &id])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `keyctl padd user keyring:KEY@assume @s` with `payload`, as another program could.
pub fn keyutils_store(key: &str, payload: &str) {
    let mut child = Command::new("keyctl")
        .args(["padd", "user", &format!("keyring:{key}@assume"), "@s"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run keyctl");
    {
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(payload.as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "keyctl padd user keyring:{key}@assume @s failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The cached secret of `key`, from whichever store `store` means.
pub fn stored_secret(cx: &StoreCx, key: &str) -> Option<String> {
    match cx.store {
        Store::SecretService => secret_service_lookup(key),
        Store::OwnSecretService => secret_service_lookup_on(cx.own_bus(), key),
        Store::Keyutils | Store::BusWithoutSecretService | Store::LockedSecretService => {
            keyutils_read(key)
        }
        Store::File | Store::FileFallback => std::fs::read_to_string(cx.entry_path(key)).ok(),
    }
}

/// Replaces the stored secret of `key` with `junk`, in the store `cx` uses.
pub fn corrupt(cx: &StoreCx, key: &str, junk: &str) {
    match cx.store {
        // The kernel's copy would answer until it expires: it goes too.
        Store::SecretService => {
            secret_service_store(key, junk);
            drop_kernel_copy(key);
        }
        Store::OwnSecretService => {
            secret_service_store_on(cx.own_bus(), key, junk);
            drop_kernel_copy(key);
        }
        Store::Keyutils | Store::BusWithoutSecretService | Store::LockedSecretService => {
            keyutils_store(key, junk)
        }
        Store::File | Store::FileFallback => std::fs::write(cx.entry_path(key), junk).unwrap(),
    }
}

/// Makes the file store's entry at `path` look as if time had passed: its credentials now
/// expire `left` seconds from now (rewritten in place, as a day of waiting would leave it).
/// What a refresh does with it is then up to `--min-ttl`, without waiting for real.
pub fn age_file_entry(path: &Path, left: u64) {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("no cache entry {}: {e}", path.display()));
    let mut entry: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not JSON ({e})", path.display()));
    assert!(
        entry.get("expires_at").is_some_and(Value::is_u64),
        "{} has no expires_at: {entry}",
        path.display()
    );
    entry["expires_at"] = Value::from(unix_now() + left);
    std::fs::write(path, entry.to_string()).expect("rewrite the cache entry");
}

/// `$XDG_CACHE_HOME/assume/entries/*.json`.
pub fn entry_files(cache_home: &Path) -> Vec<PathBuf> {
    files_under(&cache_home.join("assume").join("entries"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect()
}

/// Every file under `$XDG_CACHE_HOME/assume/entries/` is whole JSON (none half-written).
pub fn all_entries_parse(cache_home: &Path) {
    for path in files_under(&cache_home.join("assume").join("entries")) {
        let bytes = std::fs::read(&path).unwrap();
        assert!(
            serde_json::from_slice::<Value>(&bytes).is_ok(),
            "{} is not JSON (half-written?): {:?}",
            path.display(),
            text(&bytes)
        );
    }
}
