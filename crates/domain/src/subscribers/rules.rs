//! How subscriber commands are checked and applied (called from [`crate::apply`]).

use super::*;

pub(crate) fn validate(cmd: &Command) -> Result<(), Rejection> {
    let k = Kind::Subscriber;
    match cmd {
        Command::PutSubscriber { fields: f, token, .. } => {
            check_id(k, "id", &f.id)?;
            text(k, "name", &f.name, true)?;
            match &f.target {
                Target::Email { address } => {
                    if !crate::contacts::rules::is_email(address.trim()) {
                        return Err(Rejection::invalid(k, "address", Problem::BadFormat));
                    }
                }
                Target::Sms { phone } => check_phone(phone)?,
                Target::EmailAndSms { address, phone } => {
                    if !crate::contacts::rules::is_email(address.trim()) {
                        return Err(Rejection::invalid(k, "address", Problem::BadFormat));
                    }
                    check_phone(phone)?;
                }
                Target::Webhook { url, secret } => {
                    if let Some(p) = crate::channels::webhook_url_problem(url.trim()) {
                        return Err(Rejection::invalid(k, "url", p));
                    }
                    if secret.as_ref().is_some_and(|s| {
                        s.chars().count() < 16 || s.chars().count() > 200 || s.chars().any(char::is_control)
                    }) {
                        return Err(Rejection::invalid(k, "secret", Problem::OutOfRange));
                    }
                }
            }
            if f.sites.is_empty() && f.systems.is_empty() {
                return Err(Rejection::invalid(k, "sites", Problem::Required));
            }
            if f.sites.len() + f.systems.len() > MAX_FOLLOWED {
                return Err(Rejection::invalid(k, "sites", Problem::TooMany));
            }
            for (i, s) in f.sites.iter().enumerate() {
                text(k, &format!("sites[{i}]"), s, true)?;
            }
            for (i, s) in f.systems.iter().enumerate() {
                check_id(k, &format!("systems[{i}]"), s.as_str())?;
            }
            if !matches!(f.lang.as_str(), "sv" | "nb" | "en") {
                return Err(Rejection::invalid(k, "lang", Problem::UnknownCode));
            }
            check_token(token)
        }
        Command::Unsubscribe { subscriber_id, token } => {
            check_id(k, "id", subscriber_id)?;
            check_token(token)
        }
        Command::RemoveSubscriber { subscriber_id } => check_id(k, "id", subscriber_id),
        Command::RemindLead { incident_id, .. } => check_id(Kind::Incident, "id", incident_id.as_str()),
        _ => Ok(()),
    }
}

fn check_phone(phone: &str) -> Result<(), Rejection> {
    match crate::sms::e164(phone) {
        Some(_) => Ok(()),
        None => Err(Rejection::invalid(Kind::Subscriber, "phone", Problem::BadFormat)),
    }
}

/// 32–128 characters from `[A-Za-z0-9_-]`: long enough that it cannot be guessed.
fn check_token(token: &str) -> Result<(), Rejection> {
    let ok =
        (32..=128).contains(&token.len()) && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok { Ok(()) } else { Err(Rejection::invalid(Kind::Subscriber, "token", Problem::BadFormat)) }
}

pub(crate) fn run(view: &dyn StateView, env: &Envelope, ch: &mut Changes) -> Result<Option<Outcome>, StateError> {
    let k = Kind::Subscriber;
    let outcome = match &env.cmd {
        Command::PutSubscriber { expected_version, fields: f, token } => {
            let current = view.subscriber(&f.id)?;
            if current.is_none() && view.scan(Table::Subscriber, None, MAX_SUBSCRIBERS)?.len() >= MAX_SUBSCRIBERS {
                return Ok(Some(Err(Rejection::invalid(k, "id", Problem::TooMany))));
            }
            for (i, s) in f.systems.iter().enumerate() {
                if view.system(s)?.is_none() {
                    let field = format!("systems[{i}]");
                    return Ok(Some(Err(Rejection::Unknown { kind: Kind::System, id: s.to_string(), field })));
                }
            }
            let version = match next_version(k, &f.id, current.as_ref().map(|c| c.version), *expected_version) {
                Ok(v) => v,
                Err(r) => return Ok(Some(Err(r))),
            };
            let mut target = match &f.target {
                Target::Email { address } => Target::Email { address: address.trim().to_owned() },
                Target::Webhook { url, secret } => {
                    Target::Webhook { url: url.trim().to_owned(), secret: secret.clone() }
                }
                Target::Sms { phone } => Target::Sms { phone: crate::sms::e164(phone).unwrap_or_default() },
                Target::EmailAndSms { address, phone } => Target::EmailAndSms {
                    address: address.trim().to_owned(),
                    phone: crate::sms::e164(phone).unwrap_or_default(),
                },
            };
            // An edit keeps the link already sent out, and a webhook secret not given again.
            if let (Target::Webhook { secret: new @ None, .. }, Some(Target::Webhook { secret: old, .. })) =
                (&mut target, current.as_ref().map(|c| &c.target))
            {
                new.clone_from(old);
            }
            let s = Subscriber {
                id: f.id.clone(),
                name: f.name.trim().to_owned(),
                target,
                sites: f.sites.iter().map(|s| s.trim().to_owned()).collect(),
                systems: f.systems.clone(),
                lang: f.lang.clone(),
                token: current.map_or_else(|| token.clone(), |c| c.token),
                changed_at: env.at,
                changed_by: env.actor.clone(),
                version,
            };
            ch.put(Key::Subscriber(f.id.clone()), Record::Subscriber(s));
            applied(k, &f.id, version)
        }
        Command::Unsubscribe { subscriber_id, token } => {
            let Some(s) = view.subscriber(subscriber_id)? else {
                return Ok(Some(Err(Rejection::NotFound { kind: k, id: subscriber_id.to_string() })));
            };
            if s.token != *token {
                // Said as "not found", so a wrong token tells nothing about who subscribes.
                return Ok(Some(Err(Rejection::NotFound { kind: k, id: subscriber_id.to_string() })));
            }
            ch.0.push((Key::Subscriber(s.id.clone()), None));
            applied(k, &s.id, s.version + 1)
        }
        Command::RemoveSubscriber { subscriber_id } => {
            let Some(s) = view.subscriber(subscriber_id)? else {
                return Ok(Some(Err(Rejection::NotFound { kind: k, id: subscriber_id.to_string() })));
            };
            ch.0.push((Key::Subscriber(s.id.clone()), None));
            applied(k, &s.id, s.version + 1)
        }
        Command::RemindLead { incident_id, due } => remind(view, env, incident_id, *due, ch)?,
        _ => return Ok(None),
    };
    Ok(Some(outcome))
}
