//! The AWS shared config file format, parsed and merged the way every AWS SDK does it
//! (pinned by the SDKs' shared `profile-parser-tests.json`, vendored under `tests/`).
//! Our own parser rather than `aws-runtime`'s: that one hides a profile's list of keys,
//! which `explain`, `list` and the conformance suite need.

use std::collections::BTreeMap;
use std::sync::Arc;

pub(super) const WHITESPACE: &[char] = &[' ', '\t'];
pub(super) const COMMENT: &[char] = &['#', ';'];

/// `text` without the spaces and tabs around it (byte by byte: the fast path of every line).
pub(super) fn trim(text: &str) -> &str {
    let is_blank = |b: &u8| *b == b' ' || *b == b'\t';
    let bytes = text.as_bytes();
    let start = bytes
        .iter()
        .position(|b| !is_blank(b))
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !is_blank(b))
        .map_or(start, |end| end + 1);
    // Spaces and tabs are ASCII, so both ends are character boundaries.
    &text[start..end]
}

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
    pub properties: Properties,
}

impl Section {
    pub(crate) fn new(name: &str) -> Self {
        Section {
            name: name.to_string(),
            properties: Properties::default(),
        }
    }

    /// A property by name, case-insensitively, as the SDKs look them up.
    pub fn get(&self, key: &str) -> Option<&str> {
        if key.bytes().any(|b| b.is_ascii_uppercase()) {
            self.properties.get(&key.to_ascii_lowercase())
        } else {
            self.properties.get(key)
        }
    }

    /// The sub-properties of a property written as `key =` followed by indented `sub = value` lines.
    pub fn sub_properties(&self, key: &str) -> BTreeMap<String, String> {
        self.get(key).map(parse_sub_properties).unwrap_or_default()
    }
}

/// A key or a value: where it is in the text of the file it was read from (shared by every
/// section of that file, so that reading a file allocates per section, not per value), or, when
/// it is not written so in the file (a lower-cased key, a value with continuation lines), a
/// string of its own.
#[derive(Clone)]
pub struct Text(Repr);

#[derive(Clone)]
enum Repr {
    In {
        file: Arc<String>,
        start: u32,
        end: u32,
    },
    Own(String),
}

impl Text {
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::In { file, start, end } => &file[*start as usize..*end as usize],
            Repr::Own(text) => text,
        }
    }

    /// `part`, a slice of `file`'s text, by position.
    fn within(file: &Arc<String>, part: &str) -> Text {
        let start = part.as_ptr() as usize - file.as_ptr() as usize;
        // Files are at most `MAX_FILE_BYTES`, so positions fit.
        Text(Repr::In {
            file: Arc::clone(file),
            start: start as u32,
            end: (start + part.len()) as u32,
        })
    }

    /// Appends a continuation line (`\n` + `line`).
    fn push_line(&mut self, line: &str) {
        let mut text = match std::mem::replace(&mut self.0, Repr::Own(String::new())) {
            Repr::Own(text) => text,
            shared @ Repr::In { .. } => Text(shared).as_str().to_string(),
        };
        text.push('\n');
        text.push_str(line);
        self.0 = Repr::Own(text);
    }
}

impl From<String> for Text {
    fn from(text: String) -> Self {
        Text(Repr::Own(text))
    }
}

impl std::ops::Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Text {}

impl std::fmt::Debug for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

/// A section's properties: sorted by key, each key once.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Properties(Vec<(Text, Text)>);

impl Properties {
    /// From properties in the order written: a key written again replaces the earlier value.
    fn from_written(mut written: Vec<(Text, Text)>) -> Self {
        // A stable sort keeps a key's values in the order written; the last one is kept.
        written.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
        written.dedup_by(|later, kept| {
            let same = later.0 == kept.0;
            if same {
                std::mem::swap(&mut later.1, &mut kept.1);
            }
            same
        });
        Properties(written)
    }

    fn position(&self, key: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.as_str().cmp(key))
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        let index = self.position(key).ok()?;
        Some(self.0[index].1.as_str())
    }

    pub fn remove(&mut self, key: &str) -> Option<String> {
        let index = self.position(key).ok()?;
        Some(self.0.remove(index).1.to_string())
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Keys and values, by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// `later`'s properties over these (the credentials file over the config file).
    fn merge(&mut self, later: Properties) {
        if self.0.is_empty() {
            *self = later;
        } else {
            let mut all = std::mem::take(&mut self.0);
            all.extend(later.0);
            *self = Properties::from_written(all);
        }
    }
}

impl<'a> IntoIterator for &'a Properties {
    type Item = (&'a str, &'a str);
    type IntoIter = Box<dyn Iterator<Item = (&'a str, &'a str)> + 'a>;
    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

impl FromIterator<(String, String)> for Properties {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Self {
        Properties::from_written(
            iter.into_iter()
                .map(|(k, v)| (Text::from(k), Text::from(v)))
                .collect(),
        )
    }
}

impl std::fmt::Debug for Properties {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl serde::Serialize for Properties {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

/// The profiles, by name: a hash table (a config of a million profiles is read without a
/// million ordered inserts), listed in name order when listed.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Profiles(rustc_hash::FxHashMap<String, Section>);

impl Profiles {
    pub fn get(&self, name: &str) -> Option<&Section> {
        self.0.get(name)
    }

    pub fn get_mut(&mut self, name: &str) -> Option<&mut Section> {
        self.0.get_mut(name)
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    pub fn insert(&mut self, name: String, section: Section) -> Option<Section> {
        self.0.insert(name, section)
    }

    /// The profile `name`, made empty if there is none.
    pub fn entry(&mut self, name: &str) -> &mut Section {
        self.0
            .entry(name.to_string())
            .or_insert_with(|| Section::new(name))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Every profile, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Section)> {
        let mut all: Vec<(&String, &Section)> = self.0.iter().collect();
        all.sort_unstable_by(|a, b| a.0.cmp(b.0));
        all.into_iter()
    }

    /// Every profile, in name order.
    pub fn values(&self) -> impl Iterator<Item = &Section> {
        self.iter().map(|(_, section)| section)
    }

    /// Every profile's name, in order.
    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.iter().map(|(name, _)| name)
    }
}

impl std::fmt::Debug for Profiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// The largest file read: positions in it are 32-bit.
pub const MAX_FILE_BYTES: usize = u32::MAX as usize;

/// Both files, merged: profiles, `sso-session` sections and any other prefixed section
/// (`[services NAME]`), keyed by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileSet {
    pub profiles: Profiles,
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
        self.merge_text(kind, path, text.to_string())
    }

    /// [`ProfileSet::merge_file`] of a text read for it, which the sections then share.
    pub fn merge_text(
        &mut self,
        kind: FileKind,
        path: &str,
        text: String,
    ) -> Result<(), ParseError> {
        if text.len() > MAX_FILE_BYTES {
            return Err(ParseError {
                path: path.to_string(),
                line: 0,
                message: "the file is larger than 4 GiB".into(),
            });
        }
        let file = Arc::new(text);
        let raw = parse_raw(path, &file, Some(&file))?;
        let prefixed_default = raw
            .iter()
            .any(|(header, _)| section_key(header) == (Some(PROFILE), DEFAULT));
        self.profiles.0.reserve(raw.len());
        for (header, written) in raw {
            let (prefix, name) = section_key(header);
            if !section_is_valid(kind, prefix, name) {
                continue;
            }
            // `[profile default]` beats `[default]` in the same config file, wherever it stands.
            if prefixed_default && prefix.is_none() && kind == FileKind::Config {
                continue;
            }
            let target = match prefix {
                None | Some(PROFILE) => self.profiles.entry(name),
                Some(SSO_SESSION) => self
                    .sso_sessions
                    .entry(name.to_string())
                    .or_insert_with(|| Section::new(name)),
                Some(other) => self
                    .other_sections
                    .entry((other.to_string(), name.to_string()))
                    .or_insert_with(|| Section::new(name)),
            };
            let mut properties = Properties::from_written(written);
            properties.0.retain(|(key, _)| is_identifier(key));
            target.properties.merge(properties);
        }
        Ok(())
    }
}

pub(super) const PROFILE: &str = "profile";
const SSO_SESSION: &str = "sso-session";
pub(super) const DEFAULT: &str = "default";

/// `profile foo` → (Some("profile"), "foo"); `foo` → (None, "foo").
pub(super) fn section_key(header: &str) -> (Option<&str>, &str) {
    let header = trim(header);
    match header.bytes().position(|b| b == b' ' || b == b'\t') {
        Some(cut) => (Some(header[..cut].trim()), header[cut + 1..].trim()),
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

/// Sections in the order of their first header, each with its properties as written (a
/// repeated header adds to the first).
pub(super) type RawSections<'a> = Vec<(&'a str, Vec<(Text, Text)>)>;

/// The first pass: sections and properties as written, with continuation lines folded in.
/// With `file` (the text itself, shared), keys and values point into it; without, they are
/// not kept (`edit` wants only the sections).
pub(super) fn parse_raw<'a>(
    path: &str,
    text: &'a str,
    file: Option<&Arc<String>>,
) -> Result<RawSections<'a>, ParseError> {
    let mut sections: RawSections<'a> = Vec::new();
    // Where each header's section is in `sections` (a file may repeat a header).
    let mut positions: rustc_hash::FxHashMap<&'a str, usize> = Default::default();
    // Index of the current section, and of the property a continuation line extends (in
    // that section's list) with whether it has sub-properties.
    let mut current: Option<usize> = None;
    let mut property: Option<(usize, bool)> = None;
    let text_of = |part: &str, lower: bool| -> Option<Text> {
        let file = file?;
        Some(if lower && part.bytes().any(|b| b.is_ascii_uppercase()) {
            Text::from(part.to_ascii_lowercase())
        } else {
            Text::within(file, part)
        })
    };
    for (index, line) in text.lines().enumerate() {
        let error = |message: &str| ParseError {
            path: path.to_string(),
            line: index + 1,
            message: message.to_string(),
        };
        if line.starts_with(COMMENT) || trim(line).is_empty() {
            continue;
        }
        if line.starts_with('[') {
            let header = strip_comment(line, false)
                .strip_prefix('[')
                .ok_or_else(|| error("Profile definition must start with '['"))?
                .strip_suffix(']')
                .ok_or_else(|| error("Profile definition must end with ']'"))?;
            let position = *positions.entry(header).or_insert_with(|| {
                sections.push((header, Vec::new()));
                sections.len() - 1
            });
            current = Some(position);
            property = None;
        } else if line.starts_with(WHITESPACE) {
            let Some(section) = current else {
                return Err(error("Expected a profile definition"));
            };
            let Some((at, is_sub_property)) = property else {
                return Err(error("Expected a property definition, found continuation"));
            };
            if is_sub_property && !trim(line).is_empty() {
                parse_property(line).map_err(|kind| error(&kind.message("sub-property")))?;
            }
            if let Some((_, value)) = sections[section].1.get_mut(at) {
                value.push_line(trim(line));
            }
        } else {
            let Some(section) = current else {
                return Err(error("Expected a profile definition"));
            };
            let (key, value) =
                parse_property(line).map_err(|kind| error(&kind.message("property")))?;
            let properties = &mut sections[section].1;
            property = Some((properties.len(), value.is_empty()));
            if let (Some(key), Some(value)) = (text_of(key, true), text_of(value, false)) {
                properties.push((key, value));
            }
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

/// `key = value` → (`key`, `value`), as written (the caller lower-cases the key).
pub(super) fn parse_property(line: &str) -> Result<(&str, &str), PropertyError> {
    let line = strip_comment(line, true);
    let (key, value) = line.split_once('=').ok_or(PropertyError::NoEquals)?;
    let key = trim(key);
    if key.is_empty() {
        return Err(PropertyError::NoName);
    }
    Ok((key, trim(value)))
}

/// Cuts a `#` or `;` comment. In property lines only one preceded by whitespace starts a
/// comment (`value;x` keeps its `;x`); in section headers any does.
pub(super) fn strip_comment(line: &str, needs_whitespace: bool) -> &str {
    let line = trim(line);
    // `#` and `;` are ASCII: their byte positions are character boundaries.
    let markers = line
        .bytes()
        .enumerate()
        .filter(|(_, b)| *b == b'#' || *b == b';');
    for (index, _) in markers {
        let previous_is_space = line[..index]
            .chars()
            .next_back()
            .is_some_and(char::is_whitespace);
        if previous_is_space || !needs_whitespace {
            return trim(&line[..index]);
        }
    }
    line
}

/// A value's sub-properties (`  key = value` lines under a key), keys lower-cased.
pub fn parse_sub_properties(value: &str) -> BTreeMap<String, String> {
    value
        .split('\n')
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (trim(k).to_ascii_lowercase(), trim(v).to_string()))
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
    fn a_key_written_again_wins_and_takes_its_continuation_lines() {
        let set = parse(
            "[profile a]\nregion = one\nsts =\n  x = 1\nregion = two\nsts =\n  y = 2\n  z = 3\n[profile a]\nRegion = three\n",
        );
        let a = set.profile("a").expect("a");
        assert_eq!(a.get("region"), Some("three"));
        assert_eq!(a.get("sts"), Some("\ny = 2\nz = 3"));
        assert_eq!(a.properties.len(), 2);
    }

    #[test]
    fn the_credentials_file_wins_key_by_key() {
        let mut set = parse("[profile a]\nregion = eu-west-1\naws_access_key_id = FROM_CONFIG\n");
        set.merge_file(
            FileKind::Credentials,
            "credentials",
            "[a]\naws_access_key_id = FROM_CREDENTIALS\naws_secret_access_key = s\n",
        )
        .expect("parses");
        let a = set.profile("a").expect("a");
        let keys: Vec<(&str, &str)> = a.properties.iter().collect();
        assert_eq!(
            keys,
            [
                ("aws_access_key_id", "FROM_CREDENTIALS"),
                ("aws_secret_access_key", "s"),
                ("region", "eu-west-1")
            ]
        );
    }

    #[test]
    fn a_section_of_many_keys_is_sorted_once_and_found() {
        let mut config = String::from("[profile wide]\n");
        for n in (0..100_000).rev() {
            config.push_str(&format!("key_{n} = {n}\n"));
        }
        let set = parse(&config);
        let wide = set.profile("wide").expect("wide");
        assert_eq!(wide.properties.len(), 100_000);
        assert_eq!(wide.get("key_0"), Some("0"));
        assert_eq!(wide.get("KEY_99999"), Some("99999"));
        assert_eq!(wide.get("key_100000"), None);
    }

    #[test]
    fn keys_are_case_insensitive() {
        let set = parse("[profile a]\nRole_ARN = x\n");
        assert_eq!(set.profile("a").and_then(|p| p.get("ROLE_arn")), Some("x"));
    }
}
