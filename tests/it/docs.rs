//! What documents `assume`: the help of every subcommand (with an example), the version, and
//! the generated files that are committed — the man page and the completion scripts — which
//! must equal what `assume` prints now; profile names complete from the config files in real
//! fish and bash.

use std::path::Path;

use crate::harness::{
    self, Cx, TestEnv, assert_success, moto, plain_cx, plain_cx_with, sh_quote, stdout,
};

/// The completion scripts the repository holds: (shell, file under `completions/`).
const COMPLETION_FILES: [(&str, &str); 5] = [
    ("bash", "assume.bash"),
    ("zsh", "_assume"),
    ("fish", "assume.fish"),
    ("powershell", "_assume.ps1"),
    ("elvish", "assume.elv"),
];

fn check(args: &[&str], file: &str) {
    let out = assert_cmd::Command::new(env!("CARGO_BIN_EXE_assume"))
        .args(args)
        .output()
        .expect("run assume");
    assert!(out.status.success());
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let committed = std::fs::read(&path).unwrap_or_default();
    assert!(
        committed == out.stdout,
        "{file} is stale: run  assume {} > {file}",
        args.join(" ")
    );
}

#[test]
fn man_page_is_current() {
    check(&["man"], "man/assume.1");
}

#[test]
fn every_subcommand_help_has_an_example() {
    let out = assert_cmd::Command::new(env!("CARGO_BIN_EXE_assume"))
        .arg("--help")
        .output()
        .expect("run assume");
    let help = String::from_utf8_lossy(&out.stdout);
    let commands: Vec<&str> = help
        .lines()
        .skip_while(|line| !line.starts_with("Commands:"))
        .skip(1)
        .take_while(|line| line.starts_with("  "))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .collect();
    assert!(commands.len() >= 10, "{commands:?}");
    for command in commands {
        let out = assert_cmd::Command::new(env!("CARGO_BIN_EXE_assume"))
            .args([command, "--help"])
            .output()
            .expect("run assume");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("Example"),
            "`assume {command} --help` has no example"
        );
    }
}

#[test]
fn every_subcommand_has_an_example_and_version_is_semver() {
    let m = moto();
    let env = TestEnv::new(m);
    let out = env.cmd().arg("--help").output().unwrap();
    assert_success("assume --help", &out);
    let help = stdout(&out);
    assert!(help.contains("Example"), "assume --help: {help}");
    // Every subcommand in the help, and at least these.
    let mut subcommands: Vec<String> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .filter(|name| name != "help")
        .collect();
    for required in [
        "exec",
        "serve",
        "shell",
        "init",
        "completions",
        "credential-process",
        "clear",
        "list",
        "explain",
        "whoami",
        "console",
    ] {
        if !subcommands.iter().any(|s| s == required) {
            subcommands.push(required.to_string());
        }
    }
    for sub in &subcommands {
        let out = env.cmd().args([sub.as_str(), "--help"]).output().unwrap();
        assert_success(&format!("assume {sub} --help"), &out);
        let text = stdout(&out);
        assert!(
            text.contains(&format!("Usage: assume {sub}")),
            "assume {sub} --help is not that subcommand's help: {text}"
        );
        assert!(text.contains("Example"), "assume {sub} --help: {text}");
    }

    let out = env.cmd().arg("--version").output().unwrap();
    assert_success("assume --version", &out);
    let version = stdout(&out);
    let semver = version
        .trim_end()
        .strip_prefix("assume ")
        .unwrap_or_else(|| panic!("not `assume <version>`: {version:?}"));
    let core = semver.split(['-', '+']).next().unwrap();
    let parts: Vec<&str> = core.split('.').collect();
    assert!(
        parts.len() == 3
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())),
        "not semver: {version:?}"
    );
    assert_eq!(semver, env!("CARGO_PKG_VERSION"));
}

/// The committed scripts are exactly what `assume completions SHELL` prints.
#[test]
fn completion_files_are_not_stale() {
    let cx = plain_cx();
    let mut stale = Vec::new();
    for (shell, file) in COMPLETION_FILES {
        let out = cx.env.cmd().args(["completions", shell]).output().unwrap();
        assert_success(&format!("assume completions {shell}"), &out);
        assert!(
            !out.stdout.is_empty(),
            "assume completions {shell} printed nothing"
        );
        let committed =
            std::fs::read(harness::repo_root().join("completions").join(file)).unwrap_or_default();
        if committed != out.stdout {
            stale.push(format!(
                "completions/{file} is stale: run  assume completions {shell} > completions/{file}"
            ));
        }
    }
    assert!(stale.is_empty(), "{}", stale.join("\n"));
}

/// Profile names from this env's config files.
fn completion_cx() -> Cx {
    plain_cx_with("[profile adzebra-team]\nregion = eu-central-1\n")
}

/// Candidates (the text before a tab) of fish's `complete -C LINE`.
fn fish_candidates(env: &TestEnv, line: &str) -> Vec<String> {
    let script = format!(
        "assume completions fish | source; or exit 1\ncomplete -C {}",
        sh_quote(line)
    );
    let out = env.command("fish").args(["-c", &script]).output().unwrap();
    assert_success(&format!("fish complete -C {line:?}"), &out);
    stdout(&out)
        .lines()
        .map(|l| l.split('\t').next().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn fish_completes_profile_names_from_the_config() {
    let cx = completion_cx();
    for line in ["assume ad", "assume exec ad", "assume shell ad"] {
        let got = fish_candidates(&cx.env, line);
        for want in ["admin", "adzebra-team"] {
            assert!(
                got.iter().any(|c| c == want),
                "fish `complete -C {line:?}` lacks {want}: {got:?}"
            );
        }
        for unwanted in ["alice", "readonly", "plain"] {
            assert!(
                !got.iter().any(|c| c == unwanted),
                "fish `complete -C {line:?}` offers {unwanted}: {got:?}"
            );
        }
    }
}

/// COMPREPLY of the function `assume completions bash` registers for `assume`, for the words.
fn bash_candidates(env: &TestEnv, words: &[&str]) -> Vec<String> {
    let quoted: Vec<String> = words.iter().map(|w| sh_quote(w)).collect();
    let line = words.join(" ");
    let script = format!(
        r#"source <(assume completions bash) || exit 1
spec=$(complete -p assume) || {{ echo "no completion registered for assume" >&2; exit 1; }}
fn=${{spec##*-F }}; fn=${{fn%% *}}
COMP_WORDS=({words})
COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
COMP_LINE={line}
COMP_POINT=${{#COMP_LINE}}
COMP_TYPE=9
COMP_KEY=9
"$fn" assume "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf '%s\n' "${{COMPREPLY[@]}}"
"#,
        words = quoted.join(" "),
        line = sh_quote(&line),
    );
    let out = env.command("bash").args(["-c", &script]).output().unwrap();
    assert_success(&format!("bash completion of {line:?}"), &out);
    stdout(&out)
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn bash_completes_profile_names_from_the_config() {
    let cx = completion_cx();
    for words in [
        &["assume", "ad"][..],
        &["assume", "exec", "ad"][..],
        &["assume", "shell", "ad"][..],
    ] {
        let got = bash_candidates(&cx.env, words);
        for want in ["admin", "adzebra-team"] {
            assert!(
                got.iter().any(|c| c == want),
                "bash completion of {words:?} lacks {want}: {got:?}"
            );
        }
        for unwanted in ["alice", "readonly", "plain"] {
            assert!(
                !got.iter().any(|c| c == unwanted),
                "bash completion of {words:?} offers {unwanted}: {got:?}"
            );
        }
    }
}
