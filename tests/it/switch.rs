//! `assume PROFILE` beyond its exports: a hint on a terminal and silence in a pipe, no colour
//! under `NO_COLOR`, usage errors, and `-v` before a subcommand.

use crate::harness::{
    self, RUN_TIMEOUT, WAIT, admin_env, assert_success, cx, explain_env, plain_env, sh_quote,
    stderr, stdout, text,
};

/// Every SGR sequence (`ESC [ … m`) that sets a foreground or background colour.
fn color_sequences(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("\x1b[") {
        let after = &rest[start + 2..];
        let end = after
            .find(|c: char| !(c.is_ascii_digit() || c == ';' || c == ':'))
            .unwrap_or(after.len());
        if after[end..].starts_with('m') {
            let params = &after[..end];
            let colored = params.split([';', ':']).any(|p| {
                matches!(
                    p.parse::<u32>(),
                    Ok(30..=38 | 40..=48 | 90..=97 | 100..=107)
                )
            });
            if colored {
                found.push(format!("ESC[{params}m"));
            }
        }
        rest = &after[end..];
    }
    found
}

/// A terminal on stdout gets a hint on stderr; a pipe gets none.
#[test]
fn eval_hint_only_on_a_terminal() {
    let env = admin_env("alice", "");
    let out = env
        .cmd()
        .args(["admin", "--token-code", "123456"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tmux = env.tmux("assume admin --token-code 123456; echo done-$?");
    let screen = tmux.wait_for("done-0", std::time::Duration::from_secs(20));
    assert!(screen.contains("eval \"$(assume admin)\""), "{screen}");
}

/// stderr is not a terminal: a successful switch writes nothing at all there (no spinner, no
/// escape sequence).
#[test]
fn nothing_on_stderr_when_it_is_not_a_terminal() {
    let cx = cx("quiet");
    let env = &cx.env;
    let out = env
        .cmd()
        .args(["admin", "--token-code", "123456"])
        .env("SHELL", "/bin/bash")
        .env("TERM", "xterm-256color")
        .output()
        .unwrap();
    assert_success("assume admin", &out);
    assert_eq!(stderr(&out), "", "stderr is not empty");
    assert!(stdout(&out).contains("AWS_SESSION_TOKEN="));
    assert!(!stdout(&out).contains('\x1b'), "escape sequence on stdout");
}

/// NO_COLOR in a terminal: no colour on the picker, the MFA prompt, or whatever stays on the
/// screen afterwards (spinner included).
#[test]
fn no_color_leaves_no_color_codes_on_the_terminal() {
    let cx = cx("nocolor");
    let env = &cx.env;
    let out = env.root().join("out");
    let tmux = env.tmux(&format!(
        "NO_COLOR=1 SHELL=/bin/bash assume >{}; echo exit-$?",
        sh_quote(&out.display().to_string())
    ));
    tmux.wait_for("Profile", WAIT);
    tmux.send_text("adm");
    harness::poll_until(WAIT, || (!tmux.screen().contains("readonly")).then_some(()))
        .unwrap_or_else(|| panic!("`adm` did not filter:\n{}", tmux.capture()));
    let picker = tmux.capture_with_escapes();
    assert_eq!(
        color_sequences(&picker),
        Vec::<String>::new(),
        "picker: {picker:?}"
    );
    tmux.send_keys("Enter");
    tmux.wait_for("MFA code for", WAIT);
    let prompt = tmux.capture_with_escapes();
    assert_eq!(
        color_sequences(&prompt),
        Vec::<String>::new(),
        "prompt: {prompt:?}"
    );
    tmux.send_line("123456");
    let screen = tmux.wait_for("exit-", WAIT);
    assert!(screen.contains("exit-0"), "{screen}");
    let after = tmux.capture_with_escapes();
    assert_eq!(
        color_sequences(&after),
        Vec::<String>::new(),
        "after: {after:?}"
    );

    // An error in a terminal, too.
    let tmux = env.tmux("NO_COLOR=1 assume nosuchprofile; echo exit-$?");
    let screen = tmux.wait_for("exit-", WAIT);
    assert!(!screen.contains("exit-0"), "{screen}");
    let error = tmux.capture_with_escapes();
    assert_eq!(
        color_sequences(&error),
        Vec::<String>::new(),
        "error: {error:?}"
    );
}

#[test]
fn usage_errors_exit_2() {
    let env = explain_env();
    env.cmd()
        .args(["admin", "--token-code", "12345"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicates::str::contains("6 digits"));
    env.cmd()
        .args(["admin", "--shell", "tcsh"])
        .assert()
        .code(2)
        .stdout("");
    env.cmd()
        .args(["admin", "--duration", "soon"])
        .assert()
        .code(2)
        .stdout("");
    env.cmd()
        .args(["admin", "explain"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicates::str::contains("put the profile after it"));
}

/// `-v` is global: before a subcommand it must not turn the subcommand into a profile name
/// (`assume -v list` must list, not look for a profile called "list").
#[test]
fn verbose_before_a_subcommand() {
    let env = plain_env();
    for args in [
        &["-v", "explain", "plain"][..],
        &["-v", "list"],
        &["--verbose", "exec", "plain", "--", "true"],
    ] {
        let out = env.cmd().args(args).timeout(RUN_TIMEOUT).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "assume {}: {}",
            args.join(" "),
            text(&out.stderr)
        );
    }
}
