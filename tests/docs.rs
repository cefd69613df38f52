//! Generated files that are committed: they must equal what `assume` prints now.

use std::path::Path;

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
