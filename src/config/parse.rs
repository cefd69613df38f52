//! The AWS shared config file format, parsed and merged the way every AWS SDK does it
//! (pinned by the SDKs' shared `profile-parser-tests.json`, vendored under `tests/`).
//! Our own parser rather than `aws-runtime`'s: that one hides a profile's list of keys,
//! which `explain`, `list` and the conformance suite need.

use std::collections::BTreeMap;

pub(super) const WHITESPACE: &[char] = &[' ', '\t'];
pub(super) const COMMENT: &[char] = &['#', ';'];

/// Which of the two files a text came from: they name their sections differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// `~/.aws/config`: `[profile NAME]`, `[default]`, `[sso-session NAME]`, `[services NAME]`.
    Config,
    /// `~/.aws/credentials`: `[NAME]` only.
    Credentials,
}

/// A malformed line: where it is and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path} line {line}: {message}")]
pub struct ParseError {
    pub path: String,
    pub line: usize,
    pub message: String,
}

/// One named section and its properties; keys are lower case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    pub properties: BTreeMap<String, String>,
}

impl Section {
    pub(crate) fn new(name: &str) -> Self {
        Section {
            name: name.to_string(),
            properties: BTreeMap::new(),
        }
    }

    /// A property by name, case-insensitively, as the SDKs look them up.
    pub fn get(&self, key: &str) -> Option<&str> {
        let value = if key.bytes().any(|b| b.is_ascii_uppercase()) {
            self.properties.get(&key.to_ascii_lowercase())
        } else {
            self.properties.get(key)
        };
        value.map(String::as_str)
    }

    /// The sub-properties of a property written as `key =` followed by indented `sub = value` lines.
    pub fn sub_properties(&self, key: &str) -> BTreeMap<String, String> {
        self.get(key).map(parse_sub_properties).unwrap_or_default()
    }
}

/// Both files, merged: profiles, `sso-session` sections and any other prefixed section
/// (`[services NAME]`), keyed by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileSet {
    pub profiles: BTreeMap<String, Section>,
    pub sso_sessions: BTreeMap<String, Section>,
    /// `(prefix, name)` → section, e.g. `("services", "local")`.
    pub other_sections: BTreeMap<(String, String), Section>,
    /// The profiles whose long-term keys are in the vault (from its index: no secret).
    pub vault: BTreeMap<String, VaultEntry>,
}

/// A profile's keys in the vault, as its index tells: who, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultEntry {
    pub access_key_id: String,
    pub store: crate::vault::VaultKind,
}

impl ProfileSet {
    pub fn profile(&self, name: &str) -> Option<&Section> {
        self.profiles.get(name)
    }

    /// Parses `text` and merges it in; credentials merged after config win on duplicate keys.
    pub fn merge_file(&mut self, kind: FileKind, path: &str, text: &str) -> Result<(), ParseError> {
        let raw = parse_raw(path, text)?;
        let prefixed_default = raw
            .iter()
            .any(|(header, _)| section_key(header) == (Some(PROFILE), DEFAULT));
        for (header, properties) in raw {
            let (prefix, name) = section_key(header);
            if !section_is_valid(kind, prefix, name) {
                continue;
            }
            // `[profile default]` beats `[default]` in the same config file, wherever it stands.
            if prefixed_default && prefix.is_none() && kind == FileKind::Config {
                continue;
            }
            let target = match prefix {
                None | Some(PROFILE) => self
                    .profiles
                    .entry(name.to_string())
                    .or_insert_with(|| Section::new(name)),
                Some(SSO_SESSION) => self
                    .sso_sessions
                    .entry(name.to_string())
                    .or_insert_with(|| Section::new(name)),
                Some(other) => self
                    .other_sections
                    .entry((other.to_string(), name.to_string()))
                    .or_insert_with(|| Section::new(name)),
            };
            if target.properties.is_empty() {
                target.properties = properties;
                target.properties.retain(|key, _| is_identifier(key));
            } else {
                for (key, value) in properties {
                    if is_identifier(&key) {
                        target.properties.insert(key, value);
                    }
                }
            }
        }
        Ok(())
    }
}

pub(super) const PROFILE: &str = "profile";
const SSO_SESSION: &str = "sso-session";
pub(super) const DEFAULT: &str = "default";

/// `profile foo` → (Some("profile"), "foo"); `foo` → (None, "foo").
pub(super) fn section_key(header: &str) -> (Option<&str>, &str) {
    let header = header.trim_matches(WHITESPACE);
    match header.split_once(WHITESPACE) {
        Some((prefix, name)) => (Some(prefix.trim()), name.trim()),
        None => (None, header.trim()),
    }
}

pub(super) fn section_is_valid(kind: FileKind, prefix: Option<&str>, name: &str) -> bool {
    match (kind, prefix) {
        (FileKind::Config, Some(_)) => is_identifier(name),
        // Only `[default]` may go without a prefix in the config file.
        (FileKind::Config, None) => name == DEFAULT,
        (FileKind::Credentials, Some(_)) => false,
        (FileKind::Credentials, None) => is_identifier(name),
    }
}

/// Profile, section and property names the SDKs accept; anything else is ignored.
pub fn is_identifier(name: &str) -> bool {
    name.chars()
        .all(|c| c.is_ascii_alphanumeric() || "_-/.%@:+".contains(c))
}

/// Sections in the order of their first header, each with its properties (a repeated header
/// adds to the first; a repeated key replaces the earlier value).
pub(super) type RawSections<'a> = Vec<(&'a str, BTreeMap<String, String>)>;

/// The first pass: sections and properties as written, with continuation lines folded in.
pub(super) fn parse_raw<'a>(path: &str, text: &'a str) -> Result<RawSections<'a>, ParseError> {
    let mut sections: RawSections<'a> = Vec::new();
    // Where each header's section is in `sections` (a file may repeat a header).
    let mut positions: std::collections::HashMap<&'a str, usize> = Default::default();
    // Index of the current section, and of the property a continuation line extends.
    let mut current: Option<usize> = None;
    let mut property: Option<(String, bool)> = None;
    for (index, line) in text.lines().enumerate() {
        let error = |message: &str| ParseError {
            path: path.to_string(),
            line: index + 1,
            message: message.to_string(),
        };
        if line.trim_matches(WHITESPACE).is_empty() || line.starts_with(COMMENT) {
            continue;
        }
        if line.starts_with('[') {
            let header = strip_comment(line, false)
                .strip_prefix('[')
                .ok_or_else(|| error("Profile definition must start with '['"))?
                .strip_suffix(']')
                .ok_or_else(|| error("Profile definition must end with ']'"))?;
            let position = *positions.entry(header).or_insert_with(|| {
                sections.push((header, BTreeMap::new()));
                sections.len() - 1
            });
            current = Some(position);
            property = None;
        } else if line.starts_with(WHITESPACE) {
            let Some(section) = current else {
                return Err(error("Expected a profile definition"));
            };
            let Some((key, is_sub_property)) = &property else {
                return Err(error("Expected a property definition, found continuation"));
            };
            if *is_sub_property && !line.trim_matches(WHITESPACE).is_empty() {
                parse_property(line).map_err(|kind| error(&kind.message("sub-property")))?;
            }
            if let Some(value) = sections[section].1.get_mut(key) {
                value.push('\n');
                value.push_str(line.trim_matches(WHITESPACE));
            }
        } else {
            let Some(section) = current else {
                return Err(error("Expected a profile definition"));
            };
            let (key, value) =
                parse_property(line).map_err(|kind| error(&kind.message("property")))?;
            property = Some((key.clone(), value.is_empty()));
            sections[section].1.insert(key, value.to_string());
        }
    }
    Ok(sections)
}

pub(super) enum PropertyError {
    NoEquals,
    NoName,
}

impl PropertyError {
    fn message(&self, what: &str) -> String {
        match self {
            PropertyError::NoEquals => format!("Expected an '=' sign defining a {what}"),
            PropertyError::NoName => {
                let mut what = what.to_string();
                what[..1].make_ascii_uppercase();
                format!("{what} did not have a name")
            }
        }
    }
}

pub(super) fn parse_property(line: &str) -> Result<(String, &str), PropertyError> {
    let line = strip_comment(line, true);
    let (key, value) = line.split_once('=').ok_or(PropertyError::NoEquals)?;
    let key = key.trim_matches(WHITESPACE);
    if key.is_empty() {
        return Err(PropertyError::NoName);
    }
    Ok((key.to_ascii_lowercase(), value.trim_matches(WHITESPACE)))
}

/// Cuts a `#` or `;` comment. In property lines only one preceded by whitespace starts a
/// comment (`value;x` keeps its `;x`); in section headers any does.
pub(super) fn strip_comment(line: &str, needs_whitespace: bool) -> &str {
    let line = line.trim_matches(WHITESPACE);
    let mut previous_is_space = false;
    for (index, c) in line.char_indices() {
        if COMMENT.contains(&c) && (previous_is_space || !needs_whitespace) {
            return line[..index].trim_matches(WHITESPACE);
        }
        previous_is_space = c.is_whitespace();
    }
    line
}

/// A value's sub-properties (`  key = value` lines under a key), keys lower-cased.
pub fn parse_sub_properties(value: &str) -> BTreeMap<String, String> {
    value
        .split('\n')
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| {
            (
                k.trim_matches(WHITESPACE).to_ascii_lowercase(),
                v.trim_matches(WHITESPACE).to_string(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(config: &str) -> ProfileSet {
        let mut set = ProfileSet::default();
        set.merge_file(FileKind::Config, "config", config)
            .expect("parses");
        set
    }

    #[test]
    fn errors_name_the_line() {
        let mut set = ProfileSet::default();
        let err = set
            .merge_file(FileKind::Config, "/c", "[default]\nk=v\n[profile x")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "/c line 3: Profile definition must end with ']'"
        );
    }

    #[test]
    fn sub_properties_are_readable() {
        let set = parse("[services local]\nsts =\n  endpoint_url = http://x\n");
        let section = &set.other_sections[&("services".into(), "local".into())];
        assert_eq!(section.sub_properties("sts")["endpoint_url"], "http://x");
    }

    #[test]
    fn keys_are_case_insensitive() {
        let set = parse("[profile a]\nRole_ARN = x\n");
        assert_eq!(set.profile("a").and_then(|p| p.get("ROLE_arn")), Some("x"));
    }
}
