//! `assume init SHELL`: a shell function that makes `assume PROFILE` switch the calling shell
//! itself, in real bash, zsh and fish, and passes every other command through unchanged; each
//! script passes its shell's checker.

use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;

use serde_json::Value;

use crate::harness::{self, TestEnv, assert_success, plain_cx, stderr, stdout};

/// `assume init SHELL` → its text (must succeed).
fn init_script(env: &TestEnv, shell: &str) -> String {
    let out = env.cmd().args(["init", shell]).output().unwrap();
    assert_success(&format!("assume init {shell}"), &out);
    let text = stdout(&out);
    assert!(
        !text.trim().is_empty(),
        "assume init {shell} printed nothing"
    );
    text
}

/// The script run in each shell after its init line: pass-through commands (compared with the
/// binary's own output, `command assume`, at the same moment), the switch, a failed switch, the
/// switch back. `show STAGE VAR…` prints `STAGE.VAR=value` or `STAGE.VAR=<unset>`.
fn init_session_script(shell: &str, aws: &Path) -> String {
    let aws = aws.display();
    match shell {
        "fish" => format!(
            r#"assume init fish | source; or begin; echo init-failed; exit 1; end
function show
    set -l stage $argv[1]
    for v in $argv[2..-1]
        if set -q $v
            echo "$stage.$v=$$v"
        else
            echo "$stage.$v=<unset>"
        end
    end
end
command assume explain admin > $HOME/explain.direct
assume explain admin > $HOME/explain.fn; echo "status.explain=$status"
command assume list --output json > $HOME/list.direct
assume list --output json > $HOME/list.fn; echo "status.list=$status"
command assume --version > $HOME/version.direct
assume --version > $HOME/version.fn; echo "status.version=$status"
assume exec admin --token-code 123456 -- printenv ASSUME_PROFILE > $HOME/exec.fn; echo "status.exec=$status"
command assume -v list --output json > $HOME/vlist.direct 2>/dev/null
assume -v list --output json > $HOME/vlist.fn 2>/dev/null; echo "status.vlist=$status"
command assume --region eu-west-1 explain admin > $HOME/rexplain.direct
assume --region eu-west-1 explain admin > $HOME/rexplain.fn; echo "status.rexplain=$status"
assume -v exec admin -- echo "touch $HOME/pwned" > $HOME/vexec.fn 2>/dev/null; echo "status.vexec=$status"
show before AWS_PROFILE ASSUME_PROFILE AWS_ACCESS_KEY_ID
assume admin --token-code 123456 > $HOME/switch.out; echo "status.switch=$status"
show switched AWS_PROFILE ASSUME_PROFILE AWS_ACCESS_KEY_ID AWS_REGION
echo "switched.ARN="({aws} sts get-caller-identity --query Arn --output text)
assume nosuchprofile > $HOME/bad.out 2> $HOME/bad.err; echo "status.bad=$status"
show failed AWS_PROFILE ASSUME_PROFILE AWS_ACCESS_KEY_ID
assume --unset > $HOME/unset.out; echo "status.unset=$status"
show unset AWS_PROFILE ASSUME_PROFILE AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
"#
        ),
        _ => format!(
            r#"eval "$(assume init {shell})" || {{ echo init-failed; exit 1; }}
show() {{
    stage=$1; shift
    for v in "$@"; do
        if [[ -v $v ]]; then eval "printf '%s.%s=%s\n' \"\$stage\" \"\$v\" \"\${{$v}}\""
        else printf '%s.%s=<unset>\n' "$stage" "$v"; fi
    done
}}
command assume explain admin > "$HOME/explain.direct"
assume explain admin > "$HOME/explain.fn"; echo "status.explain=$?"
command assume list --output json > "$HOME/list.direct"
assume list --output json > "$HOME/list.fn"; echo "status.list=$?"
command assume --version > "$HOME/version.direct"
assume --version > "$HOME/version.fn"; echo "status.version=$?"
assume exec admin --token-code 123456 -- printenv ASSUME_PROFILE > "$HOME/exec.fn"; echo "status.exec=$?"
command assume -v list --output json > "$HOME/vlist.direct" 2>/dev/null
assume -v list --output json > "$HOME/vlist.fn" 2>/dev/null; echo "status.vlist=$?"
command assume --region eu-west-1 explain admin > "$HOME/rexplain.direct"
assume --region eu-west-1 explain admin > "$HOME/rexplain.fn"; echo "status.rexplain=$?"
assume -v exec admin -- echo "touch $HOME/pwned" > "$HOME/vexec.fn" 2>/dev/null; echo "status.vexec=$?"
show before AWS_PROFILE ASSUME_PROFILE AWS_ACCESS_KEY_ID
assume admin --token-code 123456 > "$HOME/switch.out"; echo "status.switch=$?"
show switched AWS_PROFILE ASSUME_PROFILE AWS_ACCESS_KEY_ID AWS_REGION
echo "switched.ARN=$({aws} sts get-caller-identity --query Arn --output text)"
assume nosuchprofile > "$HOME/bad.out" 2> "$HOME/bad.err"; echo "status.bad=$?"
show failed AWS_PROFILE ASSUME_PROFILE AWS_ACCESS_KEY_ID
assume --unset > "$HOME/unset.out"; echo "status.unset=$?"
show unset AWS_PROFILE ASSUME_PROFILE AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
"#
        ),
    }
}

/// After `init`, `assume PROFILE` switches the very shell it runs in, `assume --unset` switches
/// back, a failed switch changes nothing, and every other command passes through unchanged.
fn check_init_in(shell: &str) {
    let cx = plain_cx();
    let env = &cx.env;
    let home = env.home();
    let script = init_session_script(shell, &harness::venv_bin("aws"));
    let out = env
        .command(shell)
        .args(["-c", &script])
        .env("SHELL", format!("/usr/bin/{shell}"))
        .env("AWS_PAGER", "")
        .env("AWS_PROFILE", "alice")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {shell}: {e}"));
    let text = stdout(&out);
    let context = format!("{shell}:\n{text}\nstderr: {}", stderr(&out));
    assert!(out.status.success(), "{context}");
    assert!(!text.contains("init-failed"), "{context}");
    let lines: HashMap<&str, &str> = text.lines().filter_map(|l| l.split_once('=')).collect();
    let get = |k: &str| -> &str {
        lines
            .get(k)
            .copied()
            .unwrap_or_else(|| panic!("no {k}= line; {context}"))
    };
    let read = |name: &str| std::fs::read_to_string(home.join(name)).unwrap_or_default();

    // Pass-through: the same stdout as the binary's, and status 0.
    for (cmd, name) in [
        ("explain", "explain"),
        ("list", "list"),
        ("version", "version"),
        // Options before the subcommand: still passed through, never evaluated.
        ("-v list", "vlist"),
        ("--region eu-west-1 explain", "rexplain"),
    ] {
        assert_eq!(get(&format!("status.{name}")), "0", "{context}");
        let direct = read(&format!("{name}.direct"));
        let through = read(&format!("{name}.fn"));
        assert!(
            !direct.trim().is_empty(),
            "{shell}: `command assume {cmd}` printed nothing"
        );
        assert_eq!(
            through, direct,
            "{shell}: the function changed what `assume {cmd}` prints"
        );
    }
    assert!(
        read("explain.fn").contains("role/Administrators"),
        "{shell}: {}",
        read("explain.fn")
    );
    let list: Value = serde_json::from_str(&read("list.fn"))
        .unwrap_or_else(|e| panic!("{shell}: `assume list --output json` is no JSON ({e})"));
    assert!(list.is_array(), "{shell}: {list}");
    assert!(
        read("version.fn").contains(env!("CARGO_PKG_VERSION")),
        "{shell}: {}",
        read("version.fn")
    );

    // `exec` too runs as it is (its command's output is not evaluated), with `-v` before it too.
    assert_eq!(get("status.exec"), "0", "{context}");
    assert_eq!(read("exec.fn"), "admin\n", "{shell}");
    assert_eq!(get("status.vexec"), "0", "{context}");
    assert!(
        read("vexec.fn").starts_with("touch "),
        "{shell}: {}",
        read("vexec.fn")
    );
    assert!(
        !home.join("pwned").exists(),
        "{shell}: the function evaluated the output of `assume -v exec`"
    );

    // Before.
    assert_eq!(get("before.AWS_PROFILE"), "alice", "{context}");
    assert_eq!(get("before.ASSUME_PROFILE"), "<unset>", "{context}");
    assert_eq!(get("before.AWS_ACCESS_KEY_ID"), "<unset>", "{context}");

    // The switch, in this shell.
    assert_eq!(get("status.switch"), "0", "{context}");
    assert_eq!(
        read("switch.out"),
        "",
        "{shell}: `assume admin` printed the exports instead of evaluating them"
    );
    assert_eq!(get("switched.ASSUME_PROFILE"), "admin", "{context}");
    assert!(
        get("switched.AWS_ACCESS_KEY_ID").starts_with("ASIA"),
        "{context}"
    );
    assert_eq!(get("switched.AWS_PROFILE"), "<unset>", "{context}");
    assert_eq!(get("switched.AWS_REGION"), "eu-west-1", "{context}");
    assert!(
        get("switched.ARN").contains(":assumed-role/Administrators/"),
        "{context}"
    );

    // A failed switch: non-zero, nothing changed.
    assert_ne!(get("status.bad"), "0", "{context}");
    assert_eq!(read("bad.out"), "", "{shell}");
    assert!(!read("bad.err").is_empty(), "{shell}: no error message");
    assert_eq!(get("failed.ASSUME_PROFILE"), "admin", "{context}");
    assert_eq!(
        get("failed.AWS_ACCESS_KEY_ID"),
        get("switched.AWS_ACCESS_KEY_ID"),
        "{context}"
    );
    assert_eq!(get("failed.AWS_PROFILE"), "<unset>", "{context}");

    // Switch back.
    assert_eq!(get("status.unset"), "0", "{context}");
    assert_eq!(read("unset.out"), "", "{shell}");
    for var in [
        "ASSUME_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
    ] {
        assert_eq!(get(&format!("unset.{var}")), "<unset>", "{context}");
    }
    assert_eq!(get("unset.AWS_PROFILE"), "alice", "{context}");
}

#[test]
fn init_bash_switches_the_calling_shell() {
    check_init_in("bash");
}

#[test]
fn init_zsh_switches_the_calling_shell() {
    check_init_in("zsh");
}

#[test]
fn init_fish_switches_the_calling_shell() {
    check_init_in("fish");
}

/// Each script passes its shell's own checker; PowerShell's (not installed) is checked as text.
#[test]
fn init_scripts_pass_their_checkers() {
    let cx = plain_cx();
    let env = &cx.env;
    let dir = env.root();
    for (shell, checker, args) in [
        ("bash", "shellcheck", &["-s", "bash"][..]),
        ("zsh", "zsh", &["-n"][..]),
        ("fish", "fish", &["--no-execute"][..]),
    ] {
        let file = dir.join(format!("init.{shell}"));
        std::fs::write(&file, init_script(env, shell)).unwrap();
        let out = env
            .command(checker)
            .args(args)
            .arg(&file)
            .output()
            .unwrap_or_else(|e| panic!("run {checker}: {e}"));
        assert!(
            out.status.success(),
            "{checker} {args:?} rejects `assume init {shell}`:\n{}{}",
            stdout(&out),
            stderr(&out)
        );
    }
    let ps = init_script(env, "powershell");
    assert!(ps.contains("function assume"), "{ps}");
    assert!(ps.contains("Invoke-Expression"), "{ps}");
}
