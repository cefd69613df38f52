//! The profile picker: a fuzzy list on the terminal when no profile was named. Role profiles
//! come first, the most recently used of them first; the recent list is a small state file.

use std::path::PathBuf;

use crate::config::{Env, Loaded};
use crate::error::{Error, Result};

/// A profile chosen on the terminal; `None` when there is no terminal to ask on.
pub fn pick(env: &Env) -> Result<Option<String>> {
    let Some(term) = crate::mfa::terminal() else {
        return Ok(None);
    };
    let loaded = Loaded::load(env)?;
    let recent = recent(env);
    let rank = |name: &str| recent.iter().position(|r| r == name).unwrap_or(usize::MAX);
    let mut names: Vec<(bool, usize, &str)> = loaded
        .profiles
        .profiles
        .iter()
        .map(|(name, section)| (section.get("role_arn").is_none(), rank(name), name))
        .collect();
    names.sort();
    if names.is_empty() {
        return Err(Error::Usage(format!(
            "no profiles in {}: add a [profile NAME] section first",
            loaded.locations.config
        )));
    }
    let items: Vec<&str> = names.iter().map(|(_, _, name)| *name).collect();
    let chosen = dialoguer::FuzzySelect::new()
        .with_prompt("Profile")
        .items(&items)
        .default(0)
        .interact_on_opt(&term)
        .map_err(|e| Error::Usage(format!("could not read a choice: {e}")))?;
    match chosen {
        Some(index) => Ok(Some(items[index].to_string())),
        None => Err(Error::Usage("no profile chosen".into())),
    }
}

/// How many names the recent list keeps.
const RECENT: usize = 50;

fn recent_path(env: &Env) -> Option<PathBuf> {
    env.get("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(dirs::state_dir)
        .or_else(dirs::cache_dir)
        .map(|dir| dir.join("assume").join("recent"))
}

/// The profiles used lately, most recent first.
pub fn recent(env: &Env) -> Vec<String> {
    recent_path(env)
        .and_then(|path| read_small_file(&path))
        .map(|text| text.lines().take(RECENT).map(str::to_string).collect())
        .unwrap_or_default()
}

/// The text of `path` if it is a regular file (not a link, FIFO or device) of at most 64 KiB.
fn read_small_file(path: &std::path::Path) -> Option<String> {
    use std::io::Read;
    const LIMIT: u64 = 64 * 1024;
    let metadata = std::fs::symlink_metadata(path).ok()?;
    if !metadata.file_type().is_file() || metadata.len() > LIMIT {
        return None;
    }
    let mut text = String::new();
    std::fs::File::open(path)
        .ok()?
        .take(LIMIT)
        .read_to_string(&mut text)
        .ok()?;
    Some(text)
}

/// Puts `profile` at the top of the recent list. Best effort: a state file that cannot be
/// written only costs the picker its order.
pub fn record(env: &Env, profile: &str) {
    let Some(path) = recent_path(env) else {
        return;
    };
    let mut names = recent(env);
    if names.first().map(String::as_str) == Some(profile) {
        return; // already on top: nothing to write (the common case, on every hit)
    }
    names.retain(|name| name != profile);
    names.insert(0, profile.to_string());
    names.truncate(RECENT);
    if let Some(dir) = path.parent()
        && crate::cache::private_dir(dir).is_ok()
        && let Ok(mut file) = tempfile::NamedTempFile::new_in(dir)
    {
        use std::io::Write;
        if file.write_all((names.join("\n") + "\n").as_bytes()).is_ok() {
            let _ = file.persist(&path);
        }
    }
}
