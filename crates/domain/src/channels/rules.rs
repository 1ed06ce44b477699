//! How a supplier's channel is checked and applied (called from [`crate::apply`]).

use super::*;

pub(crate) fn validate(cmd: &Command) -> Result<(), Rejection> {
    let Command::SetChannel { supplier_id, channel, .. } = cmd else { return Ok(()) };
    let k = Kind::Channel;
    crate::check::check_id(k, "supplier_id", supplier_id.as_str())?;
    match channel {
        Channel::Email { to, attach } => {
            if to.is_empty() {
                return Err(Rejection::invalid(k, "to", Problem::Required));
            }
            if to.len() > MAX_RECIPIENTS {
                return Err(Rejection::invalid(k, "to", Problem::TooMany));
            }
            if let Some(i) = to.iter().position(|a| !crate::contacts::rules::is_email(a.trim())) {
                return Err(Rejection::invalid(k, format!("to[{i}]"), Problem::BadFormat));
            }
            if attach.is_empty() {
                return Err(Rejection::invalid(k, "attach", Problem::Required));
            }
            let mut seen = attach.clone();
            seen.sort();
            seen.dedup();
            if seen.len() != attach.len() {
                return Err(Rejection::invalid(k, "attach", Problem::Duplicate));
            }
        }
        Channel::Webhook { url, secret, .. } => {
            if url.trim().is_empty() {
                return Err(Rejection::invalid(k, "url", Problem::Required));
            }
            if let Some(p) = webhook_url_problem(url.trim()) {
                return Err(Rejection::invalid(k, "url", p));
            }
            if let Some(s) = secret {
                // Long enough to resist guessing; printable so it can be typed into the receiver.
                if s.chars().count() < 16 || s.chars().count() > 200 || s.chars().any(char::is_control) {
                    return Err(Rejection::invalid(k, "secret", Problem::OutOfRange));
                }
            }
        }
        Channel::Manual { how } => {
            text(k, "how", how, false)?;
        }
        Channel::Sms { to } => {
            if to.is_empty() {
                return Err(Rejection::invalid(k, "to", Problem::Required));
            }
            if to.len() > MAX_RECIPIENTS {
                return Err(Rejection::invalid(k, "to", Problem::TooMany));
            }
            if let Some(i) = to.iter().position(|p| crate::sms::e164(p).is_none()) {
                return Err(Rejection::invalid(k, format!("to[{i}]"), Problem::BadFormat));
            }
        }
    }
    Ok(())
}

pub(crate) fn run(view: &dyn StateView, env: &Envelope, ch: &mut Changes) -> Result<Option<Outcome>, StateError> {
    let Command::SetChannel { supplier_id, expected_version, channel } = &env.cmd else { return Ok(None) };
    let k = Kind::Channel;
    if view.supplier(supplier_id)?.is_none() {
        let (id, field) = (supplier_id.to_string(), "supplier_id".to_owned());
        return Ok(Some(Err(Rejection::Unknown { kind: Kind::Supplier, id, field })));
    }
    let current = view.channel(supplier_id)?;
    let version = match next_version(k, supplier_id.as_str(), current.as_ref().map(|c| c.version), *expected_version) {
        Ok(v) => v,
        Err(r) => return Ok(Some(Err(r))),
    };
    let mut channel = match channel.clone() {
        Channel::Email { to, attach } => {
            Channel::Email { to: to.iter().map(|a| a.trim().to_owned()).collect(), attach }
        }
        Channel::Webhook { url, body, secret } => Channel::Webhook { url: url.trim().to_owned(), body, secret },
        Channel::Manual { how } => Channel::Manual { how: how.trim().to_owned() },
        Channel::Sms { to } => Channel::Sms { to: to.iter().filter_map(|p| crate::sms::e164(p)).collect() },
    };
    // An edit without a new secret keeps the stored one.
    if let (
        Channel::Webhook { secret: new @ None, .. },
        Some(SupplierChannel { channel: Channel::Webhook { secret: old, .. }, .. }),
    ) = (&mut channel, &current)
    {
        new.clone_from(old);
    }
    let rec = SupplierChannel {
        supplier_id: supplier_id.clone(),
        channel,
        changed_at: env.at,
        changed_by: env.actor.clone(),
        version,
    };
    ch.put(Key::Channel(supplier_id.clone()), Record::Channel(rec));
    Ok(Some(applied(k, supplier_id.as_str(), version)))
}
