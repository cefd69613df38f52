//! `assume clear [PROFILE] [--all]`: forget cached credentials, from whichever store holds them.

use crate::cache::{Cache, EntryKind, Mode};
use crate::cli::ClearArgs;
use crate::config::{Env, Loaded, Overrides};
use crate::credentials::{mfa_key, role_key};
use crate::error::Result;

pub fn run(args: &ClearArgs, env: &Env) -> Result<()> {
    let mut cache = Cache::new(Mode::from_env(env, false)?, env);
    let index = cache.index();
    let keys: Vec<String> = match &args.profile {
        Some(profile) => {
            let loaded = Loaded::load(env)?;
            let plan = super::plan_of(&loaded, profile, &Overrides::default(), env)?;
            let base = plan.base.profile();
            let mut keys: Vec<String> = index
                .iter()
                .filter(|(_, entry)| match entry.kind {
                    EntryKind::Role => entry.profile == *profile,
                    EntryKind::MfaSession => args.all && entry.profile == base,
                })
                .map(|(key, _)| key.clone())
                .collect();
            // The current keys too, in case the index was lost.
            keys.push(role_key(&plan));
            keys.extend(mfa_key(&plan).filter(|_| args.all));
            keys
        }
        None => {
            let mut keys: Vec<String> = index
                .iter()
                .filter(|(_, entry)| args.all || entry.kind == EntryKind::Role)
                .map(|(key, _)| key.clone())
                .collect();
            // The keys of today's profiles too, in case the index was lost.
            if let Ok(loaded) = Loaded::load(env) {
                for name in loaded.profiles.profiles.keys() {
                    if let Ok(plan) = super::plan_of(&loaded, name, &Overrides::default(), env) {
                        keys.push(role_key(&plan));
                        keys.extend(mfa_key(&plan).filter(|_| args.all));
                    }
                }
            }
            keys
        }
    };
    // With --all and no profile, also whatever else of ours a store can list.
    let removed = cache.forget(&keys, args.all && args.profile.is_none())?;
    let what = match (&args.profile, args.all) {
        (Some(profile), false) => format!("of profile '{profile}'"),
        (Some(profile), true) => format!("of profile '{profile}' and its MFA sessions"),
        (None, false) => "of every role (MFA sessions kept; --all removes them too)".into(),
        (None, true) => "of every role and every MFA session".into(),
    };
    crate::say!("removed {removed} cached entries {what}");
    Ok(())
}
