//! How banner commands are checked and applied (called from [`crate::apply`]).

use super::*;
use crate::check::{Outcome, applied, check_id, next_version, text};
use crate::command::{Command, Envelope};
use crate::rejection::{Kind, Problem, Rejection};
use crate::state::{Changes, Key, Record, StateError, StateView, StateViewExt};

const K: Kind = Kind::Banner;

pub(crate) fn validate(cmd: &Command) -> Result<(), Rejection> {
    match cmd {
        Command::PutBanner { fields: f, .. } => {
            check_id(K, "id", f.id.as_str())?;
            let t = text(K, "text", &f.text, true)?;
            if t.chars().count() > MAX_TEXT {
                return Err(Rejection::invalid(K, "text", Problem::TooLong));
            }
            if f.sites.len() > MAX_SITES {
                return Err(Rejection::invalid(K, "sites", Problem::TooMany));
            }
            for (i, s) in f.sites.iter().enumerate() {
                text(K, "sites", s, true)?;
                if f.sites[..i].iter().any(|x| same_site(x, s)) {
                    return Err(Rejection::invalid(K, "sites", Problem::Duplicate));
                }
            }
            if f.ends_at <= f.starts_at || f.ends_at - f.starts_at > MAX_WINDOW {
                return Err(Rejection::invalid(K, "ends_at", Problem::OutOfRange));
            }
            Ok(())
        }
        Command::EndBanner { banner_id } => check_id(K, "id", banner_id.as_str()),
        _ => Ok(()),
    }
}

pub(crate) fn run(view: &dyn StateView, env: &Envelope, ch: &mut Changes) -> Result<Option<Outcome>, StateError> {
    Ok(Some(match &env.cmd {
        Command::PutBanner { expected_version, fields: f } => {
            let current = view.banner(&f.id)?;
            match next_version(K, f.id.as_str(), current.map(|b| b.version), *expected_version) {
                Err(r) => Err(r),
                Ok(version) => {
                    let banner = Banner {
                        id: f.id.clone(),
                        text: f.text.trim().to_owned(),
                        level: f.level,
                        sites: f.sites.iter().map(|s| s.trim().to_owned()).collect(),
                        starts_at: f.starts_at,
                        ends_at: f.ends_at,
                        changed_by: env.actor.clone(),
                        changed_at: env.at,
                        version,
                    };
                    ch.put(Key::Banner(f.id.clone()), Record::Banner(banner));
                    applied(K, f.id.as_str(), version)
                }
            }
        }
        Command::EndBanner { banner_id } => match view.banner(banner_id)? {
            None => Err(Rejection::NotFound { kind: K, id: banner_id.to_string() }),
            Some(b) if b.ends_at <= env.at => Err(Rejection::Closed { kind: K, id: banner_id.to_string() }),
            Some(mut b) => {
                // Kept, ended now: the list of banners shows what was said and when.
                b.ends_at = env.at;
                b.starts_at = b.starts_at.min(env.at);
                b.changed_by = env.actor.clone();
                b.changed_at = env.at;
                b.version += 1;
                let version = b.version;
                ch.put(Key::Banner(banner_id.clone()), Record::Banner(b));
                applied(K, banner_id.as_str(), version)
            }
        },
        _ => return Ok(None),
    }))
}
