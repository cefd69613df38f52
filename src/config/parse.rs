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
    #[inline]
    pub fn get(&self, key: &str) -> Option<&str> {
        // Keys are kept in lower case; callers almost always ask in lower case too.
        match self.properties.get(key) {
            None if key.bytes().any(|b| b.is_ascii_uppercase()) => {
                self.properties.get(&key.to_ascii_lowercase())
            }
            found => found,
        }
    }

    /// The sub-properties of a property written as `key =` followed by indented `sub = value` lines.
    pub fn sub_properties(&self, key: &str) -> BTreeMap<String, String> {
        self.get(key).map(parse_sub_properties).unwrap_or_default()
    }
}

/// Where a key or a value is: a byte range of one of its section's texts.
#[derive(Debug, Clone, Copy)]
struct Loc {
    text: u32,
    start: u32,
    end: u32,
}

/// A section's properties: sorted by key, each key once; and a 64-bit filter of the keys
/// there (one bit per key, see [`key_bit`]), so that asking for a key that is not there — most
/// of what planning asks — costs a few instructions and no search.
///
/// Keys and values are byte ranges of the texts of the files the section was read from, which
/// every section of a file shares: reading a section takes one reference to its file, however
/// many values it has. A key or value not written so in a file (a lower-cased key, a value with
/// continuation lines) is a text of its own.
#[derive(Clone, Default)]
pub struct Properties {
    /// Text 0: the file the section was read from.
    file: Option<Arc<String>>,
    /// Texts 1 and on: another file, or a key or value of its own.
    texts: Vec<Arc<String>>,
    /// In the order written until [`Properties::finish`], then by key.
    pairs: Vec<(Loc, Loc)>,
    filter: u64,
}

/// A key's bit in [`Properties`]' filter: from its length and three of its bytes, so that it
/// costs the same for any key (and nothing, for a key the code names).
#[inline]
fn key_bit(key: &str) -> u64 {
    let bytes = key.as_bytes();
    let at = |i: usize| bytes.get(i).map_or(0, |&b| u64::from(b));
    let mixed = (bytes.len() as u64
        ^ at(0) << 8
        ^ at(bytes.len() / 2) << 16
        ^ at(bytes.len().wrapping_sub(1)) << 24)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    1 << (mixed >> 58)
}

impl PartialEq for Properties {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Properties {}

impl Properties {
    fn text(&self, loc: Loc) -> &str {
        let text = match loc.text {
            0 => self.file.as_ref(),
            n => self.texts.get(n as usize - 1),
        };
        text.map_or("", |text| &text[loc.start as usize..loc.end as usize])
    }

    /// The number of `file` among the texts, added if it is not there.
    fn add_file(&mut self, file: &Arc<String>) -> u32 {
        match &self.file {
            None => {
                self.file = Some(Arc::clone(file));
                0
            }
            Some(first) if Arc::ptr_eq(first, file) => 0,
            Some(_) => match self.texts.iter().position(|text| Arc::ptr_eq(text, file)) {
                Some(at) => at as u32 + 1,
                None => {
                    self.texts.push(Arc::clone(file));
                    self.texts.len() as u32
                }
            },
        }
    }

    /// `part`, a slice of the text numbered `text`, by position.
    fn within(&self, text: u32, part: &str) -> Loc {
        let whole = self.text(Loc {
            text,
            start: 0,
            end: 0,
        });
        let start = part.as_ptr() as usize - whole.as_ptr() as usize;
        // Files are at most `MAX_FILE_BYTES`, so positions fit.
        Loc {
            text,
            start: start as u32,
            end: (start + part.len()) as u32,
        }
    }

    /// `text` as a text of its own.
    fn own(&mut self, text: String) -> Loc {
        let end = text.len() as u32;
        self.texts.push(Arc::new(text));
        Loc {
            text: self.texts.len() as u32,
            start: 0,
            end,
        }
    }

    /// Appends a continuation line (`\n` + `line`) to the value written last.
    fn push_line(&mut self, line: &str) {
        let Some(&(_, value)) = self.pairs.last() else {
            return;
        };
        let mut text = self.text(value).to_string();
        text.push('\n');
        text.push_str(line);
        let value = self.own(text);
        if let Some(last) = self.pairs.last_mut() {
            last.1 = value;
        }
    }

    /// These properties without the keys that are not identifiers (which a file may have, and
    /// the SDKs ignore).
    fn identifiers_only(mut self) -> Self {
        let mut pairs = std::mem::take(&mut self.pairs);
        pairs.retain(|&(key, _)| is_identifier(self.text(key)));
        self.pairs = pairs;
        self
    }

    /// These properties, written in order, by key: a key written again replaces the earlier
    /// value.
    fn finish(mut self) -> Self {
        let mut pairs = std::mem::take(&mut self.pairs);
        // A stable sort keeps a key's values in the order written; the last one is kept.
        pairs.sort_by(|a, b| self.text(a.0).cmp(self.text(b.0)));
        pairs.dedup_by(|later, kept| {
            let same = self.text(later.0) == self.text(kept.0);
            if same {
                std::mem::swap(&mut later.1, &mut kept.1);
            }
            same
        });
        self.filter = pairs
            .iter()
            .fold(0, |filter, &(key, _)| filter | key_bit(self.text(key)));
        self.pairs = pairs;
        self
    }

    fn position(&self, key: &str) -> Result<usize, usize> {
        self.pairs.binary_search_by(|&(k, _)| self.text(k).cmp(key))
    }

    #[inline]
    pub fn get(&self, key: &str) -> Option<&str> {
        if self.filter & key_bit(key) == 0 {
            return None;
        }
        // Most sections have a handful of keys: a look along them beats a search.
        let &(_, value) = if self.pairs.len() <= 8 {
            self.pairs.iter().find(|&&(k, _)| self.text(k) == key)?
        } else {
            &self.pairs[self.position(key).ok()?]
        };
        Some(self.text(value))
    }

    pub fn remove(&mut self, key: &str) -> Option<String> {
        let index = self.position(key).ok()?;
        let (_, value) = self.pairs.remove(index);
        Some(self.text(value).to_string())
    }

    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// Keys and values, by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs
            .iter()
            .map(|&(k, v)| (self.text(k), self.text(v)))
    }

    /// `later`'s properties over these (the credentials file over the config file).
    fn merge(&mut self, later: Properties) {
        if self.pairs.is_empty() {
            *self = later;
            return;
        }
        for (key, value) in later.iter() {
            let pair = (self.own(key.to_string()), self.own(value.to_string()));
            self.pairs.push(pair);
        }
        *self = std::mem::take(self).finish();
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
        let mut properties = Properties::default();
        for (key, value) in iter {
            let pair = (properties.own(key), properties.own(value));
            properties.pairs.push(pair);
        }
        properties.finish()
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

/// A byte range of one of the texts a [`Profiles`] holds: a name, or a section's lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    file: u32,
    start: u32,
    end: u32,
}

/// No more bodies: [`Entry::more`] when a profile's header is written once.
const ONE_BODY: u32 = u32::MAX;

/// One profile: its name, where its sections are (a header may be written more than once,
/// and in both files), and its properties once someone asks for them.
#[derive(Clone)]
struct Entry {
    name: Span,
    first: Option<Span>,
    /// Where the other bodies are in [`Profiles::more`], or [`ONE_BODY`].
    more: u32,
    section: std::sync::OnceLock<Section>,
}

/// The profiles, by name. Reading a file checks its lines and notes where each profile's
/// lines are; a profile's properties are parsed the first time it is asked for, so `explain`
/// of one profile in a 100 MB config builds nothing for the other million. The table holds
/// only hashes and indexes (a million profiles make a 20 MB table; growing it rehashes no
/// name). Listed in name order when listed.
#[derive(Clone, Default)]
pub struct Profiles {
    /// Each name's hash and its index into `entries`.
    table: hashbrown::HashTable<(u64, u32)>,
    entries: Vec<Entry>,
    more: Vec<Vec<Span>>,
    /// The texts spans are in: the files, in the order read, and names given by hand.
    files: Vec<Arc<String>>,
}

fn hash(name: &str) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(name)
}

impl Profiles {
    fn text(&self, span: Span) -> &str {
        &self.files[span.file as usize][span.start as usize..span.end as usize]
    }

    fn find(&self, name: &str) -> Option<usize> {
        let hashed = hash(name);
        let &(_, index) = self.table.find(hashed, |&(h, index)| {
            h == hashed && self.text(self.entries[index as usize].name) == name
        })?;
        Some(index as usize)
    }

    /// Room for `more` profiles, so that reading a file grows nothing as it goes.
    fn reserve(&mut self, more: usize) {
        self.table.reserve(more, |&(hashed, _)| hashed);
        self.entries.reserve(more);
    }

    /// The entry of `name` (a span of one of the texts), made if there is none.
    fn entry_at(&mut self, name: Span) -> &mut Entry {
        let Profiles {
            table,
            entries,
            files,
            ..
        } = self;
        let text = |span: Span| &files[span.file as usize][span.start as usize..span.end as usize];
        let key = text(name);
        let hashed = hash(key);
        let slot = table.entry(
            hashed,
            |&(h, index)| h == hashed && text(entries[index as usize].name) == key,
            |&(h, _)| h,
        );
        let index = match slot {
            hashbrown::hash_table::Entry::Occupied(found) => found.get().1 as usize,
            hashbrown::hash_table::Entry::Vacant(vacant) => {
                entries.push(Entry {
                    name,
                    first: None,
                    more: ONE_BODY,
                    section: Default::default(),
                });
                let index = entries.len() - 1;
                vacant.insert((hashed, index as u32));
                index
            }
        };
        &mut entries[index]
    }

    /// Adds a body to the profile `name`.
    fn add(&mut self, name: Span, body: Span) {
        let more = self.more.len() as u32;
        let entry = self.entry_at(name);
        if entry.first.is_none() {
            entry.first = Some(body);
            return;
        }
        if entry.more == ONE_BODY {
            entry.more = more;
            self.more.push(vec![body]);
        } else {
            let at = entry.more as usize;
            self.more[at].push(body);
        }
    }

    /// A name given by hand, kept as a text of its own.
    fn own(&mut self, name: &str) -> Span {
        self.files.push(Arc::new(name.to_string()));
        Span {
            file: self.files.len() as u32 - 1,
            start: 0,
            end: name.len() as u32,
        }
    }

    fn section<'a>(&'a self, entry: &'a Entry) -> &'a Section {
        entry.section.get_or_init(|| {
            let more = match entry.more {
                ONE_BODY => &[][..],
                at => &self.more[at as usize][..],
            };
            let mut properties = Properties::default();
            for &body in entry.first.iter().chain(more) {
                let file = &self.files[body.file as usize];
                // The file was checked when it was read: its lines cannot fail now.
                let _ = properties_of(self.text(body), file, &mut properties);
            }
            Section {
                name: self.text(entry.name).to_string(),
                properties: properties.identifiers_only().finish(),
            }
        })
    }

    pub fn get(&self, name: &str) -> Option<&Section> {
        let index = self.find(name)?;
        Some(self.section(&self.entries[index]))
    }

    pub fn get_mut(&mut self, name: &str) -> Option<&mut Section> {
        let index = self.find(name)?;
        self.section(&self.entries[index]);
        self.entries[index].section.get_mut()
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.find(name).is_some()
    }

    /// Puts `section` in place of the profile `name`, whatever the files said of it.
    pub fn insert(&mut self, name: String, section: Section) {
        let span = match self.find(&name) {
            Some(index) => self.entries[index].name,
            None => self.own(&name),
        };
        let entry = self.entry_at(span);
        entry.first = None;
        entry.more = ONE_BODY;
        entry.section = section.into();
    }

    /// Makes sure there is a profile `name` (an empty one if the files have none).
    pub fn entry(&mut self, name: &str) {
        if self.find(name).is_none() {
            let span = self.own(name);
            self.entry_at(span);
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every entry with its name, in name order (none of them parsed).
    fn in_name_order(&self) -> impl Iterator<Item = (&str, &Entry)> {
        // Sorted by the names' first eight bytes as a number, then by the whole name: the same
        // order, with most comparisons one instruction.
        let prefix = |name: &str| {
            let mut first = [0; 8];
            let take = name.len().min(8);
            first[..take].copy_from_slice(&name.as_bytes()[..take]);
            u64::from_be_bytes(first)
        };
        let mut all: Vec<(u64, &str, &Entry)> = self
            .entries
            .iter()
            .map(|entry| {
                let name = self.text(entry.name);
                (prefix(name), name, entry)
            })
            .collect();
        all.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)));
        all.into_iter().map(|(_, name, entry)| (name, entry))
    }

    /// Every profile, in name order (each parsed, if it was not yet).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Section)> {
        self.in_name_order()
            .map(|(name, entry)| (name, self.section(entry)))
    }

    /// Every profile, in name order.
    pub fn values(&self) -> impl Iterator<Item = &Section> {
        self.iter().map(|(_, section)| section)
    }

    /// Every profile's name, in order (none of them parsed).
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.in_name_order().map(|(name, _)| name)
    }

    /// How many profiles have been parsed so far.
    pub fn parsed(&self) -> usize {
        self.entries
            .iter()
            .filter(|entry| entry.section.get().is_some())
            .count()
    }
}

impl PartialEq for Profiles {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Profiles {}

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

    /// [`ProfileSet::merge_file`] of a text read for it, which the profiles then share.
    /// Every line is checked now; a profile's properties are parsed when it is asked for.
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
        let index = self.profiles.files.len() as u32;
        self.profiles.files.push(Arc::clone(&file));
        let span = |part: &str| {
            let start = part.as_ptr() as usize - file.as_ptr() as usize;
            Span {
                file: index,
                start: start as u32,
                end: (start + part.len()) as u32,
            }
        };
        // `[default]`'s bodies wait for the end of the file: `[profile default]` anywhere in
        // the config file beats them.
        let mut unprefixed_default = Vec::new();
        let mut prefixed_default = false;
        // A header is a line that starts with '[': their count bounds the profiles this file
        // adds (capped: a file of nothing but `[]` lines reserves no gigabytes).
        let headers = memchr::memmem::find_iter(file.as_bytes(), b"\n[").count() + 1;
        self.profiles.reserve(headers.min(1 << 20));
        let mut result = Ok(());
        walk(path, &file, false, |line| {
            let Line::Header { header, body } = line else {
                return;
            };
            let (prefix, name) = section_key(header);
            if !section_is_valid(kind, prefix, name) {
                return;
            }
            let body = Span {
                file: index,
                start: body.0,
                end: body.1,
            };
            let target = match prefix {
                None if kind == FileKind::Config => {
                    unprefixed_default.push((span(name), body));
                    return;
                }
                None | Some(PROFILE) => {
                    prefixed_default |= prefix.is_some() && name == DEFAULT;
                    self.profiles.add(span(name), body);
                    return;
                }
                Some(SSO_SESSION) => self
                    .sso_sessions
                    .entry(name.to_string())
                    .or_insert_with(|| Section::new(name)),
                Some(other) => self
                    .other_sections
                    .entry((other.to_string(), name.to_string()))
                    .or_insert_with(|| Section::new(name)),
            };
            let mut properties = Properties::default();
            if let Err(error) = properties_of(
                &file[body.start as usize..body.end as usize],
                &file,
                &mut properties,
            ) {
                result = Err(error);
            }
            target
                .properties
                .merge(properties.identifiers_only().finish());
        })?;
        result?;
        if !prefixed_default {
            for (name, body) in unprefixed_default {
                self.profiles.add(name, body);
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
    let header = trim(header);
    match header.bytes().position(|b| b == b' ' || b == b'\t') {
        Some(cut) => (Some(trim(&header[..cut])), trim(&header[cut + 1..])),
        None => (None, header),
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
    name.bytes().all(|b| IDENTIFIER_BYTES[b as usize])
}

/// The bytes of [`is_identifier`]: one load per byte.
static IDENTIFIER_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let byte = b as u8;
        table[b] = byte.is_ascii_alphanumeric()
            || matches!(byte, b'_' | b'-' | b'/' | b'.' | b'%' | b'@' | b':' | b'+');
        b += 1;
    }
    table
};

/// A line that means something, as [`walk`] hands it on.
pub(super) enum Line<'a> {
    /// `[header]`: the text between the brackets, and the byte range of the lines after it,
    /// up to the next header.
    Header { header: &'a str, body: (u32, u32) },
    /// A `key = value` line, checked.
    Property(&'a str),
    /// An indented line that continues the property before it, trimmed.
    Continuation(&'a str),
}

/// Checks every line of `text` as the SDKs do and hands on each that means something.
/// `in_section` says the text is a section's body (its header already seen). Line endings are
/// `\n` or `\r\n`, as for `str::lines`. Most lines take the fast path: one scan for `=` (or a
/// comment character, which sends the line to the careful path).
pub(super) fn walk<'a>(
    path: &str,
    text: &'a str,
    in_section: bool,
    mut on: impl FnMut(Line<'a>),
) -> Result<(), ParseError> {
    let mut in_section = in_section;
    // The property line a continuation line would extend, and once a continuation line has
    // asked, whether its value is empty (then its continuation lines are `key = value`).
    let mut property: Option<(&'a str, Option<bool>)> = None;
    // The header seen last and where its body starts: handed on when the body ends.
    let mut open: Option<(&'a str, usize)> = None;
    let bytes = text.as_bytes();
    let mut at = 0;
    let mut number = 0;
    while at < bytes.len() {
        number += 1;
        let start = at;
        let (line, next) = match memchr::memchr(b'\n', &bytes[at..]) {
            Some(n) => {
                let line = &text[at..at + n];
                (line.strip_suffix('\r').unwrap_or(line), at + n + 1)
            }
            None => (&text[at..], bytes.len()),
        };
        at = next;
        let error = |message: &str| ParseError {
            path: path.to_string(),
            line: number,
            message: message.to_string(),
        };
        let line_bytes = line.as_bytes();
        let Some(&first) = line_bytes.first() else {
            continue;
        };
        match first {
            b'#' | b';' => {}
            b'[' => {
                let end = trim(line);
                let header = match end.strip_suffix(']') {
                    Some(header) if memchr::memchr2(b'#', b';', end.as_bytes()).is_none() => {
                        &header[1..]
                    }
                    _ => strip_comment(line, false)
                        .strip_prefix('[')
                        .ok_or_else(|| error("Profile definition must start with '['"))?
                        .strip_suffix(']')
                        .ok_or_else(|| error("Profile definition must end with ']'"))?,
                };
                if let Some((header, body)) = open.replace((header, next)) {
                    on(Line::Header {
                        header,
                        body: (body as u32, start as u32),
                    });
                }
                in_section = true;
                property = None;
            }
            b' ' | b'\t' => {
                let trimmed = trim(line);
                if trimmed.is_empty() {
                    continue;
                }
                if !in_section {
                    return Err(error("Expected a profile definition"));
                }
                let Some((written, sub)) = &mut property else {
                    return Err(error("Expected a property definition, found continuation"));
                };
                let is_sub_property = *sub
                    .get_or_insert_with(|| parse_property(written).is_ok_and(|p| p.1.is_empty()));
                if is_sub_property {
                    parse_property(line).map_err(|kind| error(&kind.message("sub-property")))?;
                }
                on(Line::Continuation(trimmed));
            }
            _ => {
                if !in_section {
                    return Err(error("Expected a profile definition"));
                }
                let plain = matches!(
                    memchr::memchr3(b'=', b'#', b';', line_bytes),
                    Some(eq) if eq > 0 && line_bytes[eq] == b'='
                );
                if !plain {
                    parse_property(line).map_err(|kind| error(&kind.message("property")))?;
                }
                property = Some((line, None));
                on(Line::Property(line));
            }
        }
    }
    if let Some((header, body)) = open {
        on(Line::Header {
            header,
            body: (body as u32, bytes.len() as u32),
        });
    }
    Ok(())
}

/// The properties of a section's body, as written (keys lower-cased, continuation lines
/// folded in), added to `written` (to be [`Properties::finish`]ed). `body` is a slice of
/// `file`, which they point into.
fn properties_of(
    body: &str,
    file: &Arc<String>,
    written: &mut Properties,
) -> Result<(), ParseError> {
    let text = written.add_file(file);
    walk("", body, true, |line| match line {
        Line::Property(line) => {
            let Ok((key, value)) = parse_property(line) else {
                return;
            };
            let key = if key.bytes().any(|b| b.is_ascii_uppercase()) {
                written.own(key.to_ascii_lowercase())
            } else {
                written.within(text, key)
            };
            let value = written.within(text, value);
            written.pairs.push((key, value));
        }
        Line::Continuation(line) => written.push_line(line),
        Line::Header { .. } => {}
    })
}

/// The section headers of `text`, in order, once each; every line is checked as for reading.
pub(super) fn headers<'a>(path: &str, text: &'a str) -> Result<Vec<&'a str>, ParseError> {
    let mut headers = Vec::new();
    walk(path, text, false, |line| {
        if let Line::Header { header, .. } = line {
            headers.push(header);
        }
    })?;
    Ok(headers)
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
    let eq = memchr::memchr(b'=', line.as_bytes()).ok_or(PropertyError::NoEquals)?;
    // `=` is ASCII: its position is a character boundary.
    let (key, value) = (&line[..eq], &line[eq + 1..]);
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
    for index in memchr::memchr2_iter(b'#', b';', line.as_bytes()) {
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
    fn a_profile_is_parsed_when_asked_for_and_a_bad_line_anywhere_fails_the_file() {
        let set = parse("[profile a]\nregion = one\n[profile b]\nregion = two\n[default]\nx = 1\n");
        assert_eq!(set.profiles.parsed(), 0);
        assert_eq!(set.profile("b").and_then(|b| b.get("region")), Some("two"));
        assert_eq!(set.profiles.parsed(), 1);
        assert_eq!(
            set.profiles.keys().collect::<Vec<_>>(),
            ["a", "b", "default"]
        );
        assert!(set.profiles.contains_key("a"));
        assert_eq!(set.profiles.parsed(), 1);
        assert_eq!(set.profile("a").and_then(|a| a.get("region")), Some("one"));
        assert_eq!(set.profiles.parsed(), 2);

        let mut broken = ProfileSet::default();
        let err = broken
            .merge_file(
                FileKind::Config,
                "/c",
                "[profile a]\nregion = one\n[profile b]\n  continued\n",
            )
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "/c line 4: Expected a property definition, found continuation"
        );
    }

    #[test]
    fn a_repeated_header_adds_to_the_profile_in_file_order() {
        let set =
            parse("[profile a]\nk = 1\n[profile  a]\nk = 2\n[profile a]\nk = 3\nj = x\r\n  y\n");
        let a = set.profile("a").expect("a");
        assert_eq!(a.get("k"), Some("3"));
        assert_eq!(a.get("j"), Some("x\ny"));
    }

    /// Each section's header and properties in file order, or the failing line and message.
    type Read = Result<Vec<(String, Vec<(String, String)>)>, (usize, String)>;

    /// The rules as first written, line by line with `str::lines` and no fast path: what
    /// [`walk`] and [`properties_of`] must agree with.
    fn careful(text: &str) -> Read {
        let mut sections: Vec<(String, Vec<(String, String)>)> = Vec::new();
        let mut property: Option<bool> = None;
        for (index, line) in text.lines().enumerate() {
            let error = |message: String| (index + 1, message);
            if line.starts_with(COMMENT) || trim(line).is_empty() {
                continue;
            }
            if line.starts_with('[') {
                let header = strip_comment(line, false)
                    .strip_prefix('[')
                    .and_then(|h| h.strip_suffix(']'))
                    .ok_or_else(|| error("Profile definition must end with ']'".into()))?;
                sections.push((header.to_string(), Vec::new()));
                property = None;
            } else if line.starts_with(WHITESPACE) {
                let Some(section) = sections.last_mut() else {
                    return Err(error("Expected a profile definition".into()));
                };
                let Some(is_sub) = property else {
                    return Err(error(
                        "Expected a property definition, found continuation".into(),
                    ));
                };
                if is_sub {
                    parse_property(line).map_err(|k| error(k.message("sub-property")))?;
                }
                let value = &mut section.1.last_mut().expect("a property").1;
                value.push('\n');
                value.push_str(trim(line));
            } else {
                let Some(section) = sections.last_mut() else {
                    return Err(error("Expected a profile definition".into()));
                };
                let (key, value) =
                    parse_property(line).map_err(|k| error(k.message("property")))?;
                property = Some(value.is_empty());
                section
                    .1
                    .push((key.to_ascii_lowercase(), value.to_string()));
            }
        }
        Ok(sections)
    }

    fn walked(text: &str) -> Read {
        let file = Arc::new(text.to_string());
        let mut bodies = Vec::new();
        walk("", &file, false, |line| {
            if let Line::Header { header, body } = line {
                bodies.push((header.to_string(), body));
            }
        })
        .map_err(|e| (e.line, e.message))?;
        Ok(bodies
            .into_iter()
            .map(|(header, (start, end))| {
                let mut written = Properties::default();
                properties_of(&file[start as usize..end as usize], &file, &mut written)
                    .expect("a checked body parses");
                let written = written
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                (header, written)
            })
            .collect())
    }

    #[test]
    fn the_fast_path_reads_every_line_as_the_careful_rules_do() {
        // Every line of up to five of these characters, alone, after a property with a value,
        // and after one without (so that it is a sub-property line), with both line endings.
        let alphabet = ['a', '=', '#', ';', ' ', '\t', '[', ']', '\u{a0}'];
        let mut lines = vec![String::new()];
        let mut all = Vec::new();
        for _ in 0..5 {
            let mut longer = Vec::new();
            for line in &lines {
                for c in alphabet {
                    longer.push(format!("{line}{c}"));
                }
            }
            all.extend(longer.iter().cloned());
            lines = longer;
        }
        let mut compared = 0;
        for line in &all {
            for before in ["", "k = v\n", "k =\n", "[x]\n", "k = v\n[y] ; c\n"] {
                for ending in ["\n", "\r\n", ""] {
                    let text = format!("[profile p]\n{before}{line}{ending}z = 1\n");
                    assert_eq!(walked(&text), careful(&text), "{text:?}");
                    let bare = format!("{line}{ending}");
                    assert_eq!(walked(&bare), careful(&bare), "{bare:?}");
                    compared += 2;
                }
            }
        }
        assert!(compared > 1_000_000, "{compared}");
    }

    #[test]
    fn the_key_filter_hides_no_key_that_is_there() {
        let keys: Vec<String> = (0..300).map(|i| format!("key_{i}")).collect();
        let text: String = keys.iter().map(|k| format!("{k} = v{k}\n")).collect();
        let set = parse(&format!("[profile a]\n{text}"));
        let a = set.profile("a").expect("a");
        for key in &keys {
            assert_eq!(a.get(key), Some(format!("v{key}").as_str()), "{key}");
        }
        let few = parse("[profile b]\nregion = x\n");
        let b = few.profile("b").expect("b");
        let missed = (0..300)
            .filter(|i| b.get(&format!("absent_{i}")).is_none())
            .count();
        assert_eq!(missed, 300);
        assert_eq!(b.get("region"), Some("x"));
    }

    #[test]
    fn a_header_is_trimmed_of_spaces_and_tabs_only_as_in_the_rust_sdk() {
        let set = parse("[profile \ta ]\nk = 1\n[profile b\u{a0}]\nk = 2\n");
        assert_eq!(set.profile("a").and_then(|p| p.get("k")), Some("1"));
        // A no-break space is no white space to the SDK: `b\u{a0}` is not a profile name.
        assert!(set.profile("b").is_none());
        assert_eq!(set.profiles.len(), 1);
    }

    #[test]
    fn keys_are_case_insensitive() {
        let set = parse("[profile a]\nRole_ARN = x\n");
        assert_eq!(set.profile("a").and_then(|p| p.get("ROLE_arn")), Some("x"));
    }
}
