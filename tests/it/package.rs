//! What people install: the Debian package `scripts/package --debug` builds (checked with
//! dpkg-deb, unpacked into a temp root and run from there) and the .crate of `cargo package`
//! (its file list; the verify build is slow and left to `cargo package` by hand).
//!
//! The .deb tests need dpkg-deb and skip, with a note on stderr, where it is missing.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use tempfile::TempDir;

use crate::harness::{assert_success, assume_bin, repo_root, stderr, stdout};

/// The files of the package (dpkg-deb -c paths) and, for the docs, the repository file each is.
const BINARY: &str = "./usr/bin/assume";

const MAN_PAGE: &str = "./usr/share/man/man1/assume.1.gz";

const COMPLETIONS: [(&str, &str); 3] = [
    (
        "./usr/share/bash-completion/completions/assume",
        "completions/assume.bash",
    ),
    (
        "./usr/share/zsh/vendor-completions/_assume",
        "completions/_assume",
    ),
    (
        "./usr/share/fish/vendor_completions.d/assume.fish",
        "completions/assume.fish",
    ),
];

fn copyright() -> String {
    format!("./usr/share/doc/{}/copyright", env!("CARGO_PKG_NAME"))
}

/// Says on the real stderr (which libtest does not capture) that a test was skipped.
fn skip(test: &str, why: &str) {
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
}

fn run(what: &str, cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("could not run {what}: {e}"));
    assert_success(what, &out);
    out
}

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success())
}

struct Deb {
    /// Holds the .deb and the root it is unpacked into.
    dir: TempDir,
    path: PathBuf,
}

impl Deb {
    /// `dpkg-deb -x` of the package: the tree `apt install` would lay out under /.
    fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }
}

/// The .deb of `scripts/package --debug`, built once for this test binary; None without dpkg-deb.
fn deb() -> Option<&'static Deb> {
    static DEB: OnceLock<Option<Deb>> = OnceLock::new();
    DEB.get_or_init(|| {
        if !have("dpkg-deb") {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let out_dir = dir.path().join("out");
        // The target dir of this very test run, so the dev build is the warm one.
        let target_dir = assume_bin()
            .parent()
            .and_then(Path::parent)
            .unwrap()
            .to_path_buf();
        let out = run(
            "scripts/package --debug",
            // The binary this test run built: no cargo build beside the running tests.
            Command::new(repo_root().join("scripts").join("package"))
                .arg("--debug")
                .arg("--binary")
                .arg(assume_bin())
                .arg("--out-dir")
                .arg(&out_dir)
                .env("CARGO_TARGET_DIR", &target_dir)
                .current_dir(dir.path()),
        );
        let path = PathBuf::from(stdout(&out).trim());
        let file_name = format!(
            "{}_{}_{}.deb",
            env!("CARGO_PKG_NAME"),
            deb_version(),
            architecture()
        );
        assert_eq!(
            path,
            out_dir.join(&file_name),
            "scripts/package printed where the .deb is; stderr:\n{}",
            stderr(&out)
        );
        assert!(path.is_file(), "{} is not there", path.display());
        let names: Vec<_> = std::fs::read_dir(&out_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, [file_name], "only the .deb is left in the out dir");
        let root = dir.path().join("root");
        run(
            "dpkg-deb -x",
            Command::new("dpkg-deb").arg("-x").arg(&path).arg(&root),
        );
        Some(Deb { dir, path })
    })
    .as_ref()
}

/// Cargo's version as Debian orders it: a pre-release `1.0.0-rc.1` is `1.0.0~rc.1`.
fn deb_version() -> String {
    env!("CARGO_PKG_VERSION").replacen('-', "~", 1)
}

fn architecture() -> String {
    stdout(&run(
        "dpkg --print-architecture",
        Command::new("dpkg").arg("--print-architecture"),
    ))
    .trim()
    .to_string()
}

/// `dpkg-deb -f DEB`: the control fields, continuation lines joined with '\n'.
fn control_fields(deb: &Deb) -> Vec<(String, String)> {
    let text = stdout(&run(
        "dpkg-deb -f",
        Command::new("dpkg-deb").arg("-f").arg(&deb.path),
    ));
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if let Some(more) = line.strip_prefix(' ') {
            let (_, value) = fields
                .last_mut()
                .expect("a continuation line after a field");
            value.push('\n');
            value.push_str(more);
        } else {
            let (name, value) = line.split_once(':').expect("Name: value");
            fields.push((name.to_string(), value.trim().to_string()));
        }
    }
    fields
}

#[test]
fn deb_control_names_the_package_its_version_architecture_and_dependencies() {
    let Some(deb) = deb() else {
        return skip(
            "deb control",
            "dpkg-deb is not installed (not a Debian system?)",
        );
    };
    let fields = control_fields(deb);
    let field = |name: &str| {
        fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no {name} field in {fields:#?}"))
    };
    assert_eq!(field("Package"), env!("CARGO_PKG_NAME"));
    assert_eq!(field("Version"), deb_version());
    assert_eq!(field("Architecture"), architecture());
    assert!(!field("Maintainer").is_empty());
    assert_eq!(field("Section"), "utils");
    assert_eq!(field("Priority"), "optional");
    let size: u64 = field("Installed-Size").parse().unwrap();
    let binary_kib = std::fs::metadata(deb.root().join(BINARY)).unwrap().len() / 1024;
    assert!(size >= binary_kib, "Installed-Size {size} KiB < the binary");
    // The dev build links glibc (and libgcc_s for unwinding), as every Rust binary on Linux.
    let depends = field("Depends");
    assert!(
        depends
            .split(", ")
            .any(|d| d.starts_with("libc6 (>= 2.") && d.ends_with(')')),
        "Depends: {depends}"
    );
    let description = field("Description");
    let (synopsis, long) = description.split_once('\n').unwrap();
    assert!(
        !synopsis.is_empty() && synopsis.len() < 80,
        "synopsis: {synopsis}"
    );
    assert!(long.contains("AssumeRole"), "{long}");
    assert!(
        long.contains("development build"),
        "a --debug package says so: {long}"
    );
    let names: Vec<&str> = fields.iter().map(|(n, _)| n.as_str()).collect();
    let unique: BTreeSet<&str> = names.iter().copied().collect();
    assert_eq!(unique.len(), names.len(), "a field twice: {names:?}");
}

#[test]
fn deb_holds_the_binary_man_page_completions_and_copyright_owned_by_root() {
    let Some(deb) = deb() else {
        return skip(
            "deb contents",
            "dpkg-deb is not installed (not a Debian system?)",
        );
    };
    let listing = stdout(&run(
        "dpkg-deb -c",
        Command::new("dpkg-deb").arg("-c").arg(&deb.path),
    ));
    let copyright = copyright();
    let mut want_files: BTreeSet<&str> = [BINARY, MAN_PAGE, copyright.as_str()]
        .into_iter()
        .chain(COMPLETIONS.iter().map(|(path, _)| *path))
        .collect();
    let mut dirs = 0;
    for line in listing.lines() {
        // drwxr-xr-x root/root         0 2026-11-22 18:04 ./usr/
        let cols: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(cols.len(), 6, "{line}");
        let (mode, owner, path) = (cols[0], cols[1], cols[5]);
        assert_eq!(owner, "root/root", "{line}");
        if mode.starts_with('d') {
            assert_eq!(mode, "drwxr-xr-x", "{line}");
            dirs += 1;
            continue;
        }
        assert!(want_files.remove(path), "unexpected in the package: {line}");
        let want_mode = if path == BINARY {
            "-rwxr-xr-x"
        } else {
            "-rw-r--r--"
        };
        assert_eq!(mode, want_mode, "{line}");
    }
    assert!(want_files.is_empty(), "missing: {want_files:?}\n{listing}");
    assert!(dirs > 0, "{listing}");
}

#[test]
fn installed_assume_runs_and_its_docs_are_the_repositorys() {
    let Some(deb) = deb() else {
        return skip(
            "installed deb",
            "dpkg-deb is not installed (not a Debian system?)",
        );
    };
    let root = deb.root();
    let assume = root.join(BINARY);

    let version = run("assume --version", Command::new(&assume).arg("--version"));
    assert_eq!(
        stdout(&version),
        format!("assume {}\n", env!("CARGO_PKG_VERSION"))
    );

    let home = TempDir::new().unwrap();
    let config = home.path().join("config");
    std::fs::write(
        &config,
        "[profile alice]\nregion = eu-west-1\naws_access_key_id = AKIDPACKAGE\n\
         aws_secret_access_key = not-a-secret\n\
         [profile admin]\nrole_arn = arn:aws:iam::123456789012:role/Administrators\n\
         source_profile = alice\n",
    )
    .unwrap();
    let explain = run(
        "assume explain admin",
        Command::new(&assume)
            .args(["explain", "admin", "--output", "json"])
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", home.path())
            .env("AWS_CONFIG_FILE", &config)
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
    );
    let json: serde_json::Value = serde_json::from_slice(&explain.stdout).unwrap();
    assert_eq!(json["profile"], "admin", "{json}");
    assert_eq!(json["region"], "eu-west-1", "{json}");
    assert_eq!(
        json["hops"][0]["role_arn"], "arn:aws:iam::123456789012:role/Administrators",
        "{json}"
    );

    let man = run(
        "gzip -dc assume.1.gz",
        Command::new("gzip").arg("-dc").arg(root.join(MAN_PAGE)),
    );
    assert!(
        man.stdout == std::fs::read(repo_root().join("man/assume.1")).unwrap(),
        "{MAN_PAGE} is not man/assume.1"
    );
    for (installed, repo) in COMPLETIONS {
        assert!(
            std::fs::read(root.join(installed)).unwrap()
                == std::fs::read(repo_root().join(repo)).unwrap(),
            "{installed} is not {repo}"
        );
    }
    let copyright = std::fs::read_to_string(root.join(copyright())).unwrap();
    assert!(
        copyright.starts_with(
            "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
        ),
        "{copyright}"
    );
    assert!(
        copyright.contains("License: MIT or Apache-2.0\n"),
        "{copyright}"
    );
    assert!(
        copyright.contains(" Permission is hereby granted, free of charge"),
        "{copyright}"
    );
}

/// The packaged bash completion, sourced in real bash, asks the packaged binary.
#[test]
fn installed_bash_completion_completes_with_the_installed_binary() {
    let Some(deb) = deb() else {
        return skip(
            "deb completion",
            "dpkg-deb is not installed (not a Debian system?)",
        );
    };
    let root = deb.root();
    let script = r#"
        source "$1"
        COMP_WORDS=(assume expl)
        COMP_CWORD=1
        COMP_TYPE=9
        _clap_complete_assume assume expl assume
        printf '%s\n' "${COMPREPLY[@]}"
    "#;
    let out = run(
        "bash completion",
        Command::new("bash")
            .args(["--norc", "--noprofile", "-c", script, "bash"])
            .arg(root.join(COMPLETIONS[0].0))
            .env_clear()
            .env(
                "PATH",
                format!("{}:/usr/bin:/bin", root.join("usr/bin").display()),
            )
            .env("HOME", root.as_path()),
    );
    assert_eq!(stdout(&out).trim(), "explain", "stderr: {}", stderr(&out));
}

/// Paths of the repository that are deliberately not in the .crate (Cargo.toml's `include`).
const NOT_IN_CRATE: [&str; 5] = [
    ".ci/",
    ".gitignore",
    "docs/",
    "scripts/bench",
    "scripts/demo",
];

#[test]
fn crate_holds_the_sources_and_not_the_benchmarks_docs_or_ci() {
    // `assume` on crates.io is an unrelated crate: `cargo install assume` would install that.
    assert_ne!(env!("CARGO_PKG_NAME"), "assume");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = run(
        "cargo package --list",
        Command::new(cargo)
            .args(["package", "--list", "--allow-dirty", "--offline"])
            .current_dir(repo_root()),
    );
    let listed: BTreeSet<String> = stdout(&out).lines().map(str::to_string).collect();
    for file in [
        "Cargo.toml",
        "Cargo.lock",
        "README.md",
        "LICENSE-MIT",
        "LICENSE-APACHE",
        "src/main.rs",
        "src/lib.rs",
        "templates/init.sh",
        "templates/init.fish",
        "templates/init.ps1",
        "man/assume.1",
        "completions/assume.bash",
        "completions/_assume",
        "completions/assume.fish",
        "tests/it/main.rs",
        "tests/it/harness/mod.rs",
        "tests/support/moto_world.py",
        "tests/conformance/assume-role-tests.json",
        "tests/it/package.rs",
        "scripts/lib.sh",
        "scripts/test",
        "scripts/package",
    ] {
        assert!(listed.contains(file), "{file} is not in the .crate");
    }
    for file in &listed {
        assert!(
            !NOT_IN_CRATE.iter().any(|x| file.starts_with(x))
                && !file.starts_with(".venv")
                && !file.starts_with("target/"),
            "{file} should not be in the .crate"
        );
    }
    // In a git checkout: every committed file is in the .crate or meant not to be, so a new
    // directory the build needs cannot be left out unnoticed.
    let Ok(git) = Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(repo_root())
        .output()
    else {
        return;
    };
    if !git.status.success() {
        return;
    }
    for file in git.stdout.split(|b| *b == 0).filter(|f| !f.is_empty()) {
        let file = String::from_utf8_lossy(file);
        assert!(
            listed.contains(file.as_ref()) || NOT_IN_CRATE.iter().any(|x| file.starts_with(x)),
            "{file} is committed but not in the .crate: add it to `include` in Cargo.toml, or to \
             NOT_IN_CRATE in tests/it/package.rs if the crate does not need it"
        );
    }
}
