//! `assume` with no profile in a terminal: the profile picker (tmux), its order and the
//! recently-used list, for `assume`, `exec`, `shell` and `console`; without a terminal, a
//! usage error.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::harness::{
    self, Federation, TestEnv, WAIT, actions, assert_success, cx, cx_with, moto, query,
    recorded_sts_calls, sh_quote, sourced_vars, stderr, stdout,
};

/// `~/.local/state/assume/recent` of this env (XDG_STATE_HOME is not set by the harness).
fn recent_path(env: &TestEnv) -> PathBuf {
    env.home()
        .join(".local")
        .join("state")
        .join("assume")
        .join("recent")
}

/// The recently-used profile names, most recent first (none when the file does not exist).
fn recent(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// Index of the first screen line whose last word is `name` (a picker row).
fn row_of(screen: &str, name: &str) -> Option<usize> {
    screen
        .lines()
        .position(|line| line.split_whitespace().last() == Some(name))
}

/// `assume` with no profile in a terminal: type part of a name, Enter, the MFA prompt, and the
/// exports of the chosen profile; the recently-used list then starts with it.
#[test]
fn picker_types_part_of_a_name_then_asks_for_mfa() {
    let cx = cx("picker");
    let env = &cx.env;
    let out = env.root().join("out");
    let calls = recorded_sts_calls(env, || {
        let tmux = env.tmux(&format!(
            "SHELL=/bin/bash assume >{}; echo exit-$?",
            sh_quote(&out.display().to_string())
        ));
        tmux.wait_for("Profile", WAIT);
        tmux.send_text("adm");
        // Filtered: readonly, zeta and alice leave the list.
        let filtered = harness::poll_until(WAIT, || {
            let screen = tmux.screen();
            (screen.contains("admin") && !screen.contains("readonly") && !screen.contains("zeta"))
                .then_some(screen)
        });
        assert!(
            filtered.is_some(),
            "typing `adm` did not filter the list to admin:\n{}",
            tmux.capture()
        );
        tmux.send_keys("Enter");
        tmux.wait_for(&format!("MFA code for {}", cx.mfa), WAIT);
        tmux.send_line("123456");
        let screen = tmux.wait_for("exit-", WAIT);
        assert!(screen.contains("exit-0"), "{screen}");
    });
    let vars = sourced_vars(env, &out);
    assert_eq!(
        vars.get("ASSUME_PROFILE").map(String::as_str),
        Some("admin")
    );
    assert!(
        vars.get("AWS_ACCESS_KEY_ID")
            .is_some_and(|k| k.starts_with("ASIA")),
        "{vars:?}"
    );
    assert!(vars.get("AWS_SESSION_TOKEN").is_some_and(|t| !t.is_empty()));
    assert_eq!(
        vars.get("AWS_REGION").map(String::as_str),
        Some("eu-west-1")
    );
    // Exactly as if `assume admin` had been typed: the code on GetSessionToken, then the role.
    assert_eq!(
        actions(&calls),
        ["GetSessionToken", "AssumeRole"],
        "{calls:?}"
    );
    assert_eq!(calls[0]["TokenCode"], "123456");
    assert_eq!(calls[0]["SerialNumber"], cx.mfa);
    assert_eq!(calls[1]["RoleArn"], moto().role_arn("Administrators"));
    assert_eq!(recent(&recent_path(env)), ["admin"]);
}

/// Role profiles first — the recently used one on top, then alphabetical — then the others;
/// Esc ends with status 2 and prints nothing.
#[test]
fn picker_lists_recent_roles_first_and_esc_is_exit_2() {
    let cx = cx_with("order", "[profile bkeys]\nregion = eu-west-1\n");
    let env = &cx.env;
    let out = env
        .cmd()
        .args(["readonly", "--token-code", "123456"])
        .env("SHELL", "/bin/bash")
        .output()
        .unwrap();
    assert_success("assume readonly", &out);
    assert_eq!(recent(&recent_path(env)), ["readonly"]);

    let outfile = env.root().join("out");
    let tmux = env.tmux(&format!(
        "assume >{}; echo exit-$?",
        sh_quote(&outfile.display().to_string())
    ));
    tmux.wait_for("Profile", WAIT);
    let screen = harness::poll_until(WAIT, || {
        let screen = tmux.screen();
        ["readonly", "admin", "zeta", "alice", "bkeys"]
            .iter()
            .all(|name| row_of(&screen, name).is_some())
            .then_some(screen)
    })
    .unwrap_or_else(|| {
        panic!(
            "the picker does not list every profile:\n{}",
            tmux.capture()
        )
    });
    let row = |name| row_of(&screen, name).unwrap();
    assert!(
        row("readonly") < row("admin"),
        "the recently used readonly is not above admin:\n{screen}"
    );
    assert!(
        row("admin") < row("zeta"),
        "roles are not alphabetical after the recent ones:\n{screen}"
    );
    for other in ["alice", "bkeys"] {
        assert!(
            row("zeta") < row(other),
            "the non-role profile {other} is not after the roles:\n{screen}"
        );
    }

    tmux.send_keys("Escape");
    let screen = tmux.wait_for("exit-", WAIT);
    assert!(screen.contains("exit-2"), "Esc: {screen}");
    assert_eq!(std::fs::read_to_string(&outfile).unwrap(), "");
    assert_eq!(recent(&recent_path(env)), ["readonly"]);
}

/// The picker reads the recent file as documented (one name per line, most recent first):
/// names no longer in the config are skipped, recent roles lead in that order.
#[test]
fn picker_reads_the_recent_file() {
    let cx = cx("recent-file");
    let env = &cx.env;
    let path = recent_path(env);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, "ghost\nzeta\nadmin\n").unwrap();
    let tmux = env.tmux("assume >/dev/null; echo exit-$?");
    tmux.wait_for("Profile", WAIT);
    let screen = harness::poll_until(WAIT, || {
        let screen = tmux.screen();
        ["zeta", "admin", "readonly", "alice"]
            .iter()
            .all(|name| row_of(&screen, name).is_some())
            .then_some(screen)
    })
    .unwrap_or_else(|| {
        panic!(
            "the picker does not list every profile:\n{}",
            tmux.capture()
        )
    });
    let row = |name| row_of(&screen, name).unwrap();
    assert!(
        row("zeta") < row("admin")
            && row("admin") < row("readonly")
            && row("readonly") < row("alice"),
        "not zeta, admin, readonly, then alice:\n{screen}"
    );
    assert!(
        row_of(&screen, "ghost").is_none(),
        "a profile that does not exist is listed:\n{screen}"
    );
    tmux.send_keys("Escape");
    let screen = tmux.wait_for("exit-", WAIT);
    assert!(screen.contains("exit-2"), "{screen}");
}

/// No PROFILE, no AWS_PROFILE and no terminal: status 2, a message asking for a profile,
/// nothing on stdout, nothing sent.
#[test]
fn no_profile_and_no_terminal_is_a_usage_error() {
    let cx = cx("noterm");
    let env = &cx.env;
    for args in [
        &["--token-code", "123456"][..],
        &["console", "--print"][..],
        &["shell", "--shell-path", "/bin/true"][..],
    ] {
        let mut out = None;
        let calls = recorded_sts_calls(env, || {
            // setsid: a new session, so there is no controlling terminal (/dev/tty) either.
            out = Some(
                env.command("setsid")
                    .arg("--wait")
                    .arg(harness::assume_bin())
                    .args(args)
                    .env(
                        "ASSUME_FEDERATION_ENDPOINT",
                        "http://127.0.0.1:9/federation",
                    )
                    .stdin(Stdio::null())
                    .output()
                    .unwrap(),
            );
        });
        let out = out.unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "assume {args:?}: stdout: {}\nstderr: {}",
            stdout(&out),
            stderr(&out)
        );
        assert!(
            stderr(&out).to_lowercase().contains("no profile"),
            "assume {args:?}: the message does not ask for a profile: {}",
            stderr(&out)
        );
        assert!(stdout(&out).is_empty(), "{}", stdout(&out));
        assert!(calls.is_empty(), "assume {args:?}: {calls:?}");
    }
    assert!(recent(&recent_path(env)).is_empty());
}

/// With AWS_PROFILE set, `assume` in a terminal takes it and opens no picker.
#[test]
fn aws_profile_set_means_no_picker() {
    let cx = cx("awsprofile");
    let env = &cx.env;
    let out = env.root().join("out");
    let tmux = env.tmux(&format!(
        "AWS_PROFILE=zeta SHELL=/bin/bash assume >{}; echo exit-$?",
        sh_quote(&out.display().to_string())
    ));
    let screen = tmux.wait_for("exit-", WAIT);
    assert!(screen.contains("exit-0"), "{screen}");
    assert!(!screen.contains("Profile"), "a picker opened:\n{screen}");
    let vars = sourced_vars(env, &out);
    assert_eq!(vars.get("ASSUME_PROFILE").map(String::as_str), Some("zeta"));
}

/// The same picker serves `exec`.
#[test]
fn picker_serves_exec() {
    let cx = cx("exec");
    let env = &cx.env;
    let out = env.root().join("out");
    let tmux = env.tmux(&format!(
        "assume exec --token-code 123456 -- printenv ASSUME_PROFILE >{}; echo exit-$?",
        sh_quote(&out.display().to_string())
    ));
    tmux.wait_for("Profile", WAIT);
    tmux.send_text("reado");
    harness::poll_until(WAIT, || {
        let s = tmux.screen();
        (!s.contains("admin") && s.contains("readonly")).then_some(())
    })
    .unwrap_or_else(|| panic!("`reado` did not filter the list:\n{}", tmux.capture()));
    tmux.send_keys("Enter");
    let screen = tmux.wait_for("exit-", WAIT);
    assert!(screen.contains("exit-0"), "{screen}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "readonly\n");
    assert_eq!(recent(&recent_path(env)), ["readonly"]);
}

/// The same picker serves `shell`.
#[test]
fn picker_serves_shell() {
    let cx = cx("shell");
    let env = &cx.env;
    let tmux = env.tmux("assume shell --shell-path /bin/sh; echo exit-$?");
    tmux.wait_for("Profile", WAIT);
    tmux.send_text("zet");
    harness::poll_until(WAIT, || {
        let s = tmux.screen();
        (!s.contains("admin") && s.contains("zeta")).then_some(())
    })
    .unwrap_or_else(|| panic!("`zet` did not filter the list:\n{}", tmux.capture()));
    tmux.send_keys("Enter");
    tmux.wait_for("expire", WAIT);
    tmux.send_line("echo \"profile=[$ASSUME_PROFILE] shell=[$ASSUME_SHELL]\"");
    tmux.wait_for("profile=[zeta] shell=[zeta]", WAIT);
    tmux.send_line("exit");
    let screen = tmux.wait_for("exit-", WAIT);
    assert!(screen.contains("exit-0"), "{screen}");
    assert_eq!(recent(&recent_path(env)), ["zeta"]);
}

/// The same picker serves `console`.
#[test]
fn picker_serves_console() {
    let cx = cx("console-picker");
    let env = &cx.env;
    let fed = Federation::ok();
    let out = env.root().join("out");
    let tmux = env.tmux(&format!(
        "ASSUME_FEDERATION_ENDPOINT={} assume console --print >{}; echo exit-$?",
        sh_quote(&fed.endpoint),
        sh_quote(&out.display().to_string())
    ));
    tmux.wait_for("Profile", WAIT);
    tmux.send_text("reado");
    harness::poll_until(WAIT, || {
        let s = tmux.screen();
        (!s.contains("admin") && s.contains("readonly")).then_some(())
    })
    .unwrap_or_else(|| panic!("`reado` did not filter the list:\n{}", tmux.capture()));
    tmux.send_keys("Enter");
    tmux.wait_for(&format!("MFA code for {}", cx.mfa), WAIT);
    tmux.send_line("123456");
    let screen = tmux.wait_for("exit-", WAIT);
    assert!(screen.contains("exit-0"), "{screen}");
    let url = std::fs::read_to_string(&out).unwrap();
    assert!(url.trim().starts_with(&fed.endpoint), "{url}");
    assert_eq!(
        query(url.trim()).get("SigninToken").map(String::as_str),
        Some("tok-123")
    );
    assert_eq!(recent(&recent_path(env)), ["readonly"]);
}

/// 5 000 profiles: the picker opens and filters to one name within a generous bound, and the
/// chosen one is assumed.
#[test]
fn picker_stays_quick_with_5000_profiles() {
    let m = moto();
    let haystack: String = (0..5000)
        .map(|i| {
            format!(
                "[profile role-{i:05}]\nrole_arn = {}\nsource_profile = alice\n",
                m.role_arn("ReadOnly")
            )
        })
        .collect();
    let cx = cx_with(
        "many",
        &format!(
            "{haystack}[profile needle-xyz]\nrole_arn = {}\nsource_profile = alice\n",
            m.role_arn("Administrators")
        ),
    );
    let env = &cx.env;
    let out = env.root().join("out");
    let start = Instant::now();
    let tmux = env.tmux(&format!(
        "SHELL=/bin/bash assume >{}; echo exit-$?",
        sh_quote(&out.display().to_string())
    ));
    tmux.wait_for("Profile", Duration::from_secs(10));
    tmux.send_text("needle");
    let filtered = harness::poll_until(Duration::from_secs(10), || {
        let s = tmux.screen();
        (row_of(&s, "needle-xyz").is_some() && !s.contains("role-0")).then_some(())
    });
    let took = start.elapsed();
    assert!(
        filtered.is_some(),
        "the picker did not filter 5000 profiles to needle-xyz:\n{}",
        tmux.screen()
    );
    assert!(
        took < Duration::from_secs(10),
        "opening and filtering the picker took {took:?}"
    );
    tmux.send_keys("Enter");
    let screen = tmux.wait_for("exit-", WAIT);
    assert!(screen.contains("exit-0"), "{screen}");
    let vars = sourced_vars(env, &out);
    assert_eq!(
        vars.get("ASSUME_PROFILE").map(String::as_str),
        Some("needle-xyz")
    );
}

/// The recently-used list: most recent first, no duplicates, updated by `assume P`, `exec`,
/// `shell` and `console` when they succeed, not by a failure; under `$XDG_STATE_HOME` when set.
#[test]
fn recent_list_is_kept_by_every_command_that_uses_a_profile() {
    let cx = cx("recent");
    let env = &cx.env;
    let path = recent_path(env);
    let run = |args: &[&str]| {
        let out = env
            .cmd()
            .args(args)
            .env("SHELL", "/bin/bash")
            .output()
            .unwrap();
        assert_success(&format!("assume {args:?}"), &out);
    };
    run(&["admin", "--token-code", "123456"]);
    assert_eq!(recent(&path), ["admin"]);
    // The MFA session serves readonly without a code.
    run(&["exec", "readonly", "--", "true"]);
    assert_eq!(recent(&path), ["readonly", "admin"]);
    run(&["shell", "admin", "--shell-path", "/bin/true"]);
    assert_eq!(recent(&path), ["admin", "readonly"]);
    let fed = Federation::ok();
    let out = env
        .cmd()
        .args(["console", "zeta", "--print"])
        .env("ASSUME_FEDERATION_ENDPOINT", &fed.endpoint)
        .output()
        .unwrap();
    assert_success("assume console zeta --print", &out);
    assert_eq!(recent(&path), ["zeta", "admin", "readonly"]);

    // A failure is no use.
    let out = env.cmd().arg("nosuchprofile").output().unwrap();
    assert!(!out.status.success());
    assert_eq!(recent(&path), ["zeta", "admin", "readonly"]);

    // $XDG_STATE_HOME moves it.
    let state = env.root().join("state");
    let out = env
        .cmd()
        .arg("readonly")
        .env("XDG_STATE_HOME", &state)
        .output()
        .unwrap();
    assert_success("XDG_STATE_HOME=… assume readonly", &out);
    assert_eq!(
        recent(&state.join("assume").join("recent")),
        ["readonly"],
        "not under $XDG_STATE_HOME/assume/recent"
    );
    assert_eq!(recent(&path), ["zeta", "admin", "readonly"]);
}
