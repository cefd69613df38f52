//! The profile picker: a fuzzy list on the terminal when no profile was named. Role profiles
//! come first.

use std::fs::OpenOptions;

use crate::config::{Env, Loaded};
use crate::error::{Error, Result};

/// A profile chosen on the terminal; `None` when there is no terminal to ask on.
pub fn pick(env: &Env) -> Result<Option<String>> {
    let open = || OpenOptions::new().read(true).write(true).open("/dev/tty");
    let (Ok(read), Ok(write)) = (open(), open()) else {
        return Ok(None);
    };
    let term = console::Term::read_write_pair(read, write);
    if !term.is_term() {
        return Ok(None);
    }
    let loaded = Loaded::load(env)?;
    let mut names: Vec<(bool, &str)> = loaded
        .profiles
        .profiles
        .iter()
        .map(|(name, section)| (section.get("role_arn").is_none(), name.as_str()))
        .collect();
    names.sort();
    if names.is_empty() {
        return Err(Error::Usage(format!(
            "no profiles in {}: add a [profile NAME] section first",
            loaded.locations.config
        )));
    }
    let items: Vec<&str> = names.iter().map(|(_, name)| *name).collect();
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
