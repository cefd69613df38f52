//! A real terminal: a private tmux server per [`Tmux`].

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::poll_until;

/// A real terminal: a private tmux server (its own socket in a temp dir) with one 160x40 window
/// running a command. The pane stays after the command exits (remain-on-exit), so its last
/// screen and exit status can still be read. The server is killed on drop.
pub struct Tmux {
    /// Holds the socket, the config and the exit status; removed on drop.
    _dir: TempDir,
    socket: PathBuf,
    status: PathBuf,
}

impl Tmux {
    /// Starts `tmux -S <sock> -f <conf> new-session -d -x 160 -y 40 -s t <shell_command>` (the
    /// command runs under `/bin/sh -c`); the server (and so the pane) gets exactly `env` (tmux
    /// adds TERM=tmux-256color, TMUX, TMUX_PANE).
    pub fn new(shell_command: &str, env: &[(String, String)]) -> Tmux {
        let dir = tempfile::Builder::new()
            .prefix("assume-tmux-")
            .tempdir()
            .expect("create a temp dir for tmux");
        let conf = dir.path().join("tmux.conf");
        std::fs::write(
            &conf,
            "set -g remain-on-exit on\nset -g status off\nset -g history-limit 10000\n\
             set -g default-shell /bin/sh\nset -g escape-time 0\n",
        )
        .expect("write tmux.conf");
        let socket = dir.path().join("sock");
        let status = dir.path().join("exit-status");
        // Run the command in a child sh and record its exit status ourselves: tmux 3.3 sometimes
        // leaves the dead pane's process unreaped for seconds (pane_dead=1, no status). The outer
        // sh *catches* INT (a caught signal is reset to default in children, an ignored one would
        // be inherited), so a C-c reaches the command but the status is still written.
        let wrapped = format!(
            "trap : INT; /bin/sh -c {}; echo \"$?\" > {}",
            sh_quote(shell_command),
            sh_quote(&status.display().to_string())
        );
        let out = Command::new("tmux")
            .arg("-u")
            .arg("-S")
            .arg(&socket)
            .arg("-f")
            .arg(&conf)
            .args(["new-session", "-d", "-x", "160", "-y", "40", "-s", "t"])
            .arg(&wrapped)
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .output()
            .expect("run tmux (is it installed? scripts/test installs it)");
        assert!(
            out.status.success(),
            "tmux new-session failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Tmux {
            _dir: dir,
            socket,
            status,
        }
    }

    fn tmux(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run tmux")
    }

    fn tmux_ok(&self, args: &[&str]) -> String {
        let out = self.tmux(args);
        assert!(
            out.status.success(),
            "tmux {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// tmux key names and words, whitespace-separated: `send_keys("123456 Enter")`,
    /// `send_keys("C-c")`, `send_keys("Down Down Enter")`. Words that are not key names are
    /// typed literally.
    pub fn send_keys(&self, keys: &str) {
        let mut args = vec!["send-keys", "-t", "t"];
        args.extend(keys.split_whitespace());
        self.tmux_ok(&args);
    }

    /// Types `text` literally (no key-name lookup).
    pub fn send_text(&self, text: &str) {
        self.tmux_ok(&["send-keys", "-t", "t", "-l", text]);
    }

    /// Types `text` literally, then Enter.
    pub fn send_line(&self, text: &str) {
        self.send_text(text);
        self.send_keys("Enter");
    }

    /// Scrollback plus the visible screen (`capture-pane -p -J -S -`), lines joined where tmux
    /// wrapped them, trailing blanks trimmed. History is included because lines can scroll off
    /// the top (tmux itself scrolls by one when it writes "Pane is dead" at the bottom).
    pub fn capture(&self) -> String {
        trim_screen(&self.tmux_ok(&["capture-pane", "-p", "-J", "-S", "-", "-t", "t"]))
    }

    /// Scrollback and screen like [`Tmux::capture`], with the SGR escape sequences (`-e`).
    pub fn capture_with_escapes(&self) -> String {
        self.tmux_ok(&["capture-pane", "-p", "-e", "-J", "-S", "-", "-t", "t"])
    }

    /// Only the visible 160x40 screen.
    pub fn screen(&self) -> String {
        trim_screen(&self.tmux_ok(&["capture-pane", "-p", "-J", "-t", "t"]))
    }

    /// Polls [`Tmux::capture`] every 50 ms until it contains `needle`; returns the capture.
    /// Panics with the capture after `timeout`.
    pub fn wait_for(&self, needle: &str, timeout: Duration) -> String {
        self.wait_for_count(needle, 1, timeout)
    }

    /// Like [`Tmux::wait_for`] but until `needle` occurs at least `count` times (e.g. the
    /// second MFA prompt).
    pub fn wait_for_count(&self, needle: &str, count: usize, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let screen = self.capture();
            if screen.matches(needle).count() >= count {
                return screen;
            }
            if Instant::now() >= deadline {
                panic!(
                    "{needle:?} did not appear {count} time(s) within {timeout:?}; the terminal:\n{screen}"
                );
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Exit status of the command once it has exited (None while it runs); killed by signal N
    /// → `128 + N`, as a shell reports it.
    pub fn exit_status(&self) -> Option<i32> {
        let text = std::fs::read_to_string(&self.status).ok()?;
        // Written by `echo`: complete once the newline is there.
        text.strip_suffix('\n')?.trim().parse().ok()
    }

    /// Waits until the pane's command exits; returns its status. Panics with the screen after
    /// `timeout`.
    pub fn wait_exit(&self, timeout: Duration) -> i32 {
        poll_until(timeout, || self.exit_status()).unwrap_or_else(|| {
            panic!(
                "the command in tmux did not exit within {timeout:?}; the screen:\n{}",
                self.capture()
            )
        })
    }
}

/// `it's` → `'it'\''s'` (POSIX sh single quoting).
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn trim_screen(raw: &str) -> String {
    let lines: Vec<&str> = raw.lines().map(str::trim_end).collect();
    let keep = lines
        .iter()
        .rposition(|l| !l.is_empty())
        .map_or(0, |i| i + 1);
    lines[..keep].join("\n")
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}
