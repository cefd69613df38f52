//! Taking a profile's static keys out of the text of a credentials or config file, every
//! other byte kept, and putting the result in place of the file atomically (`keys import`).
//! Which lines belong to a profile is decided by the same rules as `parse.rs`, so what is
//! removed is exactly what the SDKs would have read as that profile's keys.

use std::io::Write;
use std::path::Path;

use super::parse::{
    COMMENT, DEFAULT, PROFILE, WHITESPACE, headers, parse_property, section_is_valid, section_key,
    strip_comment,
};
use super::{FileKind, ParseError};

/// The properties that make a profile a static-keys source; `keys import` moves all three.
pub const STATIC_KEYS: [&str; 3] = [
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
];

/// `text` without the [`STATIC_KEYS`] lines (and their continuation lines) of every section
/// that the SDKs merge into one of `profiles`. Everything else is kept byte for byte: other
/// keys and profiles, comments, blank lines, line endings, and a missing final newline.
/// A file the SDKs could not parse is an error, and nothing is removed from it.
pub fn remove_static_keys(
    kind: FileKind,
    path: &str,
    text: &str,
    profiles: &[&str],
) -> Result<String, ParseError> {
    let headers = headers(path, text)?;
    // `[profile default]` anywhere in the config file makes the SDKs ignore `[default]`.
    let prefixed_default = kind == FileKind::Config
        && headers
            .iter()
            .any(|header| section_key(header) == (Some(PROFILE), DEFAULT));
    let is_target = |header: &str| {
        let (prefix, name) = section_key(header);
        let merged = match (kind, prefix) {
            (FileKind::Credentials, None) | (FileKind::Config, Some(PROFILE)) => true,
            (FileKind::Config, None) => !prefixed_default,
            _ => false,
        };
        merged && section_is_valid(kind, prefix, name) && profiles.contains(&name)
    };

    let mut edited = String::with_capacity(text.len());
    let mut in_target = false;
    // Whether the property the next continuation line would extend is being removed.
    let mut removing = false;
    let mut removed_last = false;
    for line in text.split_inclusive('\n') {
        // The line as `str::lines` (and so `parse::walk`) sees it.
        let content = match line.strip_suffix('\n') {
            Some(line) => line.strip_suffix('\r').unwrap_or(line),
            None => line,
        };
        let keep = if content.trim_matches(WHITESPACE).is_empty() || content.starts_with(COMMENT) {
            true
        } else if content.starts_with('[') {
            let header = strip_comment(content, false);
            let header = header
                .strip_prefix('[')
                .and_then(|header| header.strip_suffix(']'))
                .unwrap_or_default();
            in_target = is_target(header);
            removing = false;
            true
        } else if content.starts_with(WHITESPACE) {
            !removing
        } else {
            removing = match parse_property(content) {
                Ok((key, _)) => {
                    in_target && STATIC_KEYS.contains(&key.to_ascii_lowercase().as_str())
                }
                Err(_) => false,
            };
            !removing
        };
        if keep {
            edited.push_str(line);
        }
        removed_last = !keep;
    }
    // The file ended without a newline on a removed line: the line now last keeps it so.
    if removed_last && !text.ends_with('\n') && edited.ends_with('\n') {
        edited.pop();
        if edited.ends_with('\r') {
            edited.pop();
        }
    }
    Ok(edited)
}

/// Puts `text` in place of the file at `path` (a link is followed to the file it names) so
/// that a reader sees the old file or the new one, never a part: a temporary file in the same
/// directory, given the old file's mode, written and synced, then renamed over it. No other
/// copy of the old contents is made. A file not there yet is made 0600 (and its directory).
pub fn replace_file(path: &Path, text: &str) -> std::io::Result<()> {
    let (target, permissions) = match std::fs::canonicalize(path) {
        Ok(target) => {
            let permissions = std::fs::metadata(&target)?.permissions();
            (target, Some(permissions))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (path.to_path_buf(), None),
        Err(e) => return Err(e),
    };
    let directory = target
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if permissions.is_none() {
        std::fs::create_dir_all(directory)?;
    }
    let mut temporary = tempfile::Builder::new()
        .prefix(".assume-")
        .tempfile_in(directory)?;
    temporary.write_all(text.as_bytes())?;
    // NamedTempFile is made 0600, which is what a new file keeps.
    if let Some(permissions) = permissions {
        temporary.as_file().set_permissions(permissions)?;
    }
    temporary.as_file().sync_all()?;
    temporary.persist(&target).map_err(|e| e.error)?;
    // The rename is only durable once the directory is.
    #[cfg(unix)]
    std::fs::File::open(directory)?.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ProfileSet;
    use proptest::prelude::*;

    fn remove(kind: FileKind, text: &str, profiles: &[&str]) -> String {
        remove_static_keys(kind, "f", text, profiles).expect("parses")
    }

    fn parsed(kind: FileKind, text: &str) -> ProfileSet {
        let mut set = ProfileSet::default();
        set.merge_file(kind, "f", text).expect("parses");
        set
    }

    #[test]
    fn only_the_profiles_keys_go() {
        let text = "# top\n[default]\naws_access_key_id = D\n\n[alice]\nregion = eu-west-1\naws_access_key_id = AKIA1\n; note\naws_secret_access_key = s3cr3t\naws_session_token = tok\n[bob]\naws_access_key_id = B\n";
        assert_eq!(
            remove(FileKind::Credentials, text, &["alice"]),
            "# top\n[default]\naws_access_key_id = D\n\n[alice]\nregion = eu-west-1\n; note\n[bob]\naws_access_key_id = B\n"
        );
    }

    #[test]
    fn config_sections_are_profile_prefixed() {
        let text = "[alice]\naws_access_key_id = X\n[profile alice]\naws_access_key_id = A\naws_secret_access_key = S\nrole_arn = r\n[sso-session alice]\naws_access_key_id = Y\n";
        assert_eq!(
            remove(FileKind::Config, text, &["alice"]),
            "[alice]\naws_access_key_id = X\n[profile alice]\nrole_arn = r\n[sso-session alice]\naws_access_key_id = Y\n"
        );
    }

    #[test]
    fn credentials_ignore_prefixed_sections() {
        let text = "[profile alice]\naws_access_key_id = X\n[alice]\naws_access_key_id = A\n";
        assert_eq!(
            remove(FileKind::Credentials, text, &["alice"]),
            "[profile alice]\naws_access_key_id = X\n[alice]\n"
        );
    }

    #[test]
    fn default_follows_the_prefixed_default_rule() {
        let both = "[default]\naws_access_key_id = X\n[profile default]\naws_access_key_id = A\n";
        assert_eq!(
            remove(FileKind::Config, both, &["default"]),
            "[default]\naws_access_key_id = X\n[profile default]\n"
        );
        let plain = "[default]\naws_access_key_id = X\nregion = r\n";
        assert_eq!(
            remove(FileKind::Config, plain, &["default"]),
            "[default]\nregion = r\n"
        );
    }

    #[test]
    fn duplicate_sections_key_case_and_whitespace() {
        let text = "[ alice ]\nAWS_ACCESS_KEY_ID=A\n[bob]\nx = 1\n[alice]   # again\nkept = no\n\tmore\nAws_Secret_Access_Key \t=\t S \n";
        assert_eq!(
            remove(FileKind::Credentials, text, &["alice"]),
            "[ alice ]\n[bob]\nx = 1\n[alice]   # again\nkept = no\n\tmore\n"
        );
    }

    #[test]
    fn continuation_lines_go_with_their_key() {
        let text =
            "[alice]\naws_secret_access_key = S\n  more\n# c\n\n  evenmore\nregion = r\n  kept\n";
        assert_eq!(
            remove(FileKind::Credentials, text, &["alice"]),
            "[alice]\n# c\n\nregion = r\n  kept\n"
        );
    }

    #[test]
    fn line_endings_and_a_missing_final_newline_are_kept() {
        let crlf = "[alice]\r\nregion = r\r\naws_access_key_id = A\r\n[bob]\r\nx = y";
        assert_eq!(
            remove(FileKind::Credentials, crlf, &["alice"]),
            "[alice]\r\nregion = r\r\n[bob]\r\nx = y"
        );
        let last = "[alice]\r\nregion = r\r\naws_access_key_id = A";
        assert_eq!(
            remove(FileKind::Credentials, last, &["alice"]),
            "[alice]\r\nregion = r"
        );
        let mixed = "[alice]\nregion = r\r\naws_access_key_id = A\n";
        assert_eq!(
            remove(FileKind::Credentials, mixed, &["alice"]),
            "[alice]\nregion = r\r\n"
        );
    }

    #[test]
    fn several_profiles_at_once() {
        let text =
            "[a]\naws_access_key_id = A\n[b]\naws_access_key_id = B\n[c]\naws_access_key_id = C\n";
        assert_eq!(
            remove(FileKind::Credentials, text, &["a", "c"]),
            "[a]\n[b]\naws_access_key_id = B\n[c]\n"
        );
    }

    #[test]
    fn a_malformed_file_is_an_error() {
        let err = remove_static_keys(
            FileKind::Credentials,
            "/c",
            "[alice]\naws_access_key_id = A\n[bob",
            &["alice"],
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "/c line 3: Profile definition must end with ']'"
        );
    }

    #[test]
    fn replacing_keeps_the_mode_and_leaves_no_other_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("credentials");
        std::fs::write(&path, "[a]\naws_secret_access_key = S\n").expect("write");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        }
        replace_file(&path, "[a]\n").expect("replaced");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "[a]\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
            assert_eq!(mode & 0o7777, 0o640);
        }
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .map(|entry| entry.expect("entry").file_name())
            .collect();
        assert_eq!(names, ["credentials"]);
    }

    #[cfg(unix)]
    #[test]
    fn replacing_a_link_replaces_the_file_it_names() {
        let dir = tempfile::tempdir().expect("tempdir");
        let real = dir.path().join("real");
        let link = dir.path().join("credentials");
        std::fs::write(&real, "old").expect("write");
        std::os::unix::fs::symlink(&real, &link).expect("symlink");
        replace_file(&link, "new").expect("replaced");
        assert!(
            std::fs::symlink_metadata(&link)
                .expect("stat")
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read_to_string(&real).expect("read"), "new");
    }

    /// Every file of the SDKs' parser suite, as it is and with the static keys written into
    /// each of its sections (after the header, and again at the end of the section): removing
    /// every profile's keys leaves what the SDKs read, minus those keys.
    #[test]
    fn the_sdk_suite_files_lose_only_the_keys() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/conformance/profile-parser-tests.json"
        );
        let suite: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).expect("suite")).expect("json");
        let mut checked = 0;
        for case in suite["tests"].as_array().expect("tests") {
            for (field, kind) in [
                ("configFile", FileKind::Config),
                ("credentialsFile", FileKind::Credentials),
            ] {
                let Some(text) = case["input"][field].as_str() else {
                    continue;
                };
                let with_keys = text
                    .split_inclusive('\n')
                    .map(|line| {
                        let keys = "aws_access_key_id = AKIA\nAWS_SECRET_ACCESS_KEY=s\n";
                        if line.starts_with('[') {
                            let ending = if line.ends_with('\n') { "" } else { "\n" };
                            format!("{keys}{line}{ending}{keys}")
                        } else {
                            line.to_string()
                        }
                    })
                    .collect::<String>();
                for text in [text.to_string(), with_keys] {
                    let mut before = ProfileSet::default();
                    if before.merge_file(kind, "f", &text).is_err() {
                        continue;
                    }
                    let names: Vec<String> = before.profiles.keys().map(str::to_string).collect();
                    let names: Vec<&str> = names.iter().map(String::as_str).collect();
                    let edited = remove(kind, &text, &names);
                    assert_eq!(
                        parsed(kind, &edited),
                        without_keys(before, &names),
                        "{}: {text:?} → {edited:?}",
                        case["name"]
                    );
                    assert!(
                        is_lines_subsequence(&edited, &text),
                        "{text:?} → {edited:?}"
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked >= 60, "only {checked} files checked");
    }

    /// Lines that exercise every rule the parser has: headers of each kind for the
    /// profiles `a` and `default`, the static keys in several spellings, continuations,
    /// comments and blank lines, each ending in `\n`, `\r\n` or nothing.
    fn line() -> impl Strategy<Value = String> {
        let body = prop::sample::select(vec![
            "[a]",
            "[ a ]",
            "[profile a]",
            "[profile\ta] # c",
            "[default]",
            "[profile default]",
            "[b]",
            "[profile b]",
            "[sso-session a]",
            "[services a]",
            "[a!]",
            "aws_access_key_id = AKIA",
            "AWS_Secret_Access_Key=s3cr3t",
            "aws_session_token =\ttok ; c",
            "aws_secret_access_key =",
            "region = eu-west-1",
            "sts =",
            "bad key = 1",
            "  endpoint_url = x",
            "\tcontinued",
            "# comment",
            "; comment",
            "",
            "   ",
        ]);
        let ending = prop::sample::select(vec!["\n", "\r\n", ""]);
        (body, ending).prop_map(|(body, ending)| format!("{body}{ending}"))
    }

    /// Files made of those lines; a line without an ending is only allowed last.
    fn file() -> impl Strategy<Value = String> {
        prop::collection::vec(line(), 0..24).prop_map(|lines| {
            let count = lines.len();
            lines
                .into_iter()
                .enumerate()
                .map(|(index, line)| {
                    if index + 1 < count && !line.ends_with('\n') {
                        format!("{line}\n")
                    } else {
                        line
                    }
                })
                .collect()
        })
    }

    fn without_keys(mut set: ProfileSet, profiles: &[&str]) -> ProfileSet {
        for name in profiles {
            if let Some(section) = set.profiles.get_mut(name) {
                for key in STATIC_KEYS {
                    section.properties.remove(key);
                }
            }
        }
        set
    }

    /// Whether `small` is `big` with some whole lines taken out (a last line may lose the
    /// ending it then no longer needs).
    fn is_lines_subsequence(small: &str, big: &str) -> bool {
        let mut big_lines = big.split_inclusive('\n').peekable();
        let small_lines: Vec<&str> = small.split_inclusive('\n').collect();
        for (index, wanted) in small_lines.iter().enumerate() {
            let last = index + 1 == small_lines.len();
            loop {
                let Some(candidate) = big_lines.next() else {
                    return false;
                };
                let trimmed = candidate.trim_end_matches('\n').trim_end_matches('\r');
                if candidate == *wanted || (last && !wanted.ends_with('\n') && trimmed == *wanted) {
                    break;
                }
            }
        }
        true
    }

    #[test]
    fn a_removed_last_line_after_a_blank_line_leaves_that_blank_line() {
        let text = "[a]\n[a]\n[a]\n\naws_access_key_id = AKIA";
        assert_eq!(
            remove(FileKind::Credentials, text, &["a"]),
            "[a]\n[a]\n[a]\n"
        );
        let text = "[a]\nregion = x\naws_access_key_id = AKIA";
        assert_eq!(
            remove(FileKind::Credentials, text, &["a"]),
            "[a]\nregion = x"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn the_result_parses_as_the_input_minus_the_keys(
            text in file(),
            config in any::<bool>(),
            which in prop::sample::select(vec![vec!["a"], vec!["default"], vec!["a", "default"], vec!["b"]]),
        ) {
            let kind = if config { FileKind::Config } else { FileKind::Credentials };
            let mut before = ProfileSet::default();
            // Random lines are often not a valid file; then nothing may be edited.
            match before.merge_file(kind, "f", &text) {
                Err(expected) => {
                    prop_assert_eq!(remove_static_keys(kind, "f", &text, &which), Err(expected));
                }
                Ok(()) => {
                    let edited = remove(kind, &text, &which);
                    prop_assert_eq!(parsed(kind, &edited), without_keys(before, &which));
                    prop_assert!(is_lines_subsequence(&edited, &text), "{:?} from {:?}", edited, text);
                    // A file that ends with a newline still does. (One that does not may end
                    // with one after the edit: when the removed last line followed a blank
                    // line, that blank line's newline is all that is left of it.)
                    if !edited.is_empty() && text.ends_with('\n') {
                        prop_assert!(edited.ends_with('\n'));
                    }
                    prop_assert_eq!(remove(kind, &edited, &which), edited.clone());
                    // Nothing else is touched: with no profile named, the text is unchanged.
                    prop_assert_eq!(remove(kind, &text, &[]), text.clone());
                }
            }
        }
    }
}
