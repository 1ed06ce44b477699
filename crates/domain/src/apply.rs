//! `apply`: one command in, a verdict and the changes it makes out. Pure and deterministic:
//! the same state and envelope give the same result on every node.

use crate::access;
use crate::command::{
    ArticleFields, Command, Envelope, OrderAction, OrderFields, OrganisationFields, SupplierFields, UnitFields,
    UserFields, Verdict,
};
use crate::gtin;
use crate::ids::{OrderId, UserId, is_valid_id};
use crate::model::{
    ApiToken, Article, AuditEntry, CareUnit, HistoryEntry, NodeRecord, ORGANISATION_ID, Order, OrderLine, OrderStatus,
    Organisation, Supplier, User,
};
use crate::party;
use crate::rejection::{Kind, Problem, Rejection};
use crate::state::{Changes, CommandRecord, Key, Record, StateError, StateView, StateViewExt};
use crate::units;

/// Most lines one order may have.
pub const MAX_LINES: usize = 500;
/// Largest quantity on one line.
pub const MAX_QUANTITY: u32 = 1_000_000;
/// Longest free text (names, notes, reasons).
pub const MAX_TEXT: usize = 2000;

/// Applies `env` (carried by log entry `log_index`) to `view`.
///
/// A command id seen before returns the earlier verdict and no changes. Otherwise the verdict is
/// recorded under the command id, whether the command was applied or rejected.
pub fn apply(view: &dyn StateView, env: &Envelope, log_index: u64) -> Result<(Verdict, Changes), StateError> {
    if let Some(seen) = view.command(&env.id)? {
        // A repeat changes nothing, not even the trail: the first one is there already.
        return Ok((seen.verdict, Changes::default()));
    }
    let mut changes = Changes::default();
    let verdict = match run(view, env, &mut changes)? {
        Ok(v) => v,
        Err(rejection) => {
            changes = Changes::default();
            Verdict::Rejected { rejection }
        }
    };
    let outcome = match &verdict {
        Verdict::Rejected { rejection } => rejection.code(),
        _ => "applied".to_owned(),
    };
    audit(env, log_index, &outcome, &mut changes);
    changes.put(Key::Command(env.id.clone()), Record::Command(CommandRecord { verdict: verdict.clone(), log_index }));
    Ok((verdict, changes))
}

/// Adds the audit line for the command carried by log entry `log_index`.
fn audit(env: &Envelope, log_index: u64, outcome: &str, changes: &mut Changes) {
    let entry = AuditEntry {
        log_index,
        at: env.at,
        node: env.origin,
        actor: env.actor.clone(),
        command_id: env.id.to_string(),
        command: env.cmd.name().to_owned(),
        target: env.cmd.target(),
        outcome: outcome.to_owned(),
    };
    changes.put(Key::Audit(log_index), Record::Audit(entry));
}

/// Checks what can be checked without state; `apply` does this too. Nodes call it before
/// proposing so that plainly bad input never reaches the log.
pub fn validate(cmd: &Command) -> Result<(), Rejection> {
    match cmd {
        Command::CreateSupplier(f) | Command::UpdateSupplier { fields: f, .. } => check_supplier(f),
        Command::CreateUnit(f) | Command::UpdateUnit { fields: f, .. } => check_unit(f),
        Command::SetOrganisation { fields, .. } => check_organisation(fields),
        Command::CreateArticle(f) | Command::UpdateArticle { fields: f, .. } => check_article(f),
        Command::CreateOrder(f) | Command::UpdateOrder { fields: f, .. } => check_order(f),
        Command::Transition { order_id, action, .. } => {
            check_id(Kind::Order, "id", order_id.as_str())?;
            match action {
                OrderAction::Reject { reason } | OrderAction::Cancel { reason } => {
                    text(Kind::Order, "reason", reason, true).map(|_| ())
                }
                OrderAction::Receive { lines } if lines.is_empty() => {
                    Err(Rejection::invalid(Kind::Order, "lines", Problem::Required))
                }
                _ => Ok(()),
            }
        }
        Command::RegisterNode { id, http, grpc } => {
            if *id == 0 {
                return Err(Rejection::invalid(Kind::Node, "id", Problem::OutOfRange));
            }
            text(Kind::Node, "http", http, true)?;
            text(Kind::Node, "grpc", grpc, true).map(|_| ())
        }
        Command::RetireNode { .. } => Ok(()),
        Command::CreateUser(f) | Command::UpdateUser { fields: f, .. } => check_user(f),
        Command::SetPassword { user_id, password_hash } => {
            check_id(Kind::User, "id", user_id.as_str())?;
            check_hash(password_hash)
        }
        Command::SetUserDisabled { user_id, .. } => check_id(Kind::User, "id", user_id.as_str()),
        Command::CreateToken { token_id, user_id, secret_sha256, label } => {
            check_id(Kind::Token, "id", token_id.as_str())?;
            check_id(Kind::Token, "user_id", user_id.as_str())?;
            if secret_sha256.len() != 64 || !secret_sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(Rejection::invalid(Kind::Token, "secret_sha256", Problem::BadFormat));
            }
            text(Kind::Token, "label", label, false).map(|_| ())
        }
        Command::RevokeToken { token_id } => check_id(Kind::Token, "id", token_id.as_str()),
        Command::LogoutEverywhere { user_id } => check_id(Kind::User, "id", user_id.as_str()),
        Command::AddSessionKey { key_id, secret } => {
            check_id(Kind::Token, "key_id", key_id)?;
            if secret.len() != 64 || !secret.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(Rejection::invalid(Kind::Token, "secret", Problem::BadFormat));
            }
            Ok(())
        }
        Command::PutSystem { .. }
        | Command::SetSystemState { .. }
        | Command::OpenIncident(_)
        | Command::PostIncidentUpdate { .. }
        | Command::ScheduleMaintenance(_)
        | Command::AdvanceMaintenance { .. }
        | Command::CancelMaintenance { .. }
        | Command::SetReadiness(_) => crate::status::rules::validate(cmd),
        Command::PutContact { .. } | Command::PutRota { .. } => crate::contacts::rules::validate(cmd),
        Command::PutCard { .. } => crate::cards::rules::validate(cmd),
        Command::RecordDrill(r) => crate::drill::validate(r),
        Command::SetChannel { .. } => crate::channel::validate(cmd),
        Command::Dispatch { .. }
        | Command::RecordAttempt { .. }
        | Command::RecordManualSend { .. }
        | Command::RetryDispatch { .. }
        | Command::CancelDispatch { .. } => crate::dispatch::validate(cmd),
        Command::PutSubscriber { .. }
        | Command::Unsubscribe { .. }
        | Command::RemoveSubscriber { .. }
        | Command::RemindLead { .. } => crate::subscription::validate(cmd),
        Command::Import { rows } => {
            let kind = cmd.kind();
            if rows.is_empty() {
                return Err(Rejection::invalid(kind, "rows", Problem::Required));
            }
            if rows.len() > MAX_IMPORT_ROWS {
                return Err(Rejection::invalid(kind, "rows", Problem::TooMany));
            }
            for (i, row) in rows.iter().enumerate() {
                let in_row = |r| Rejection::InRow { row: u32::try_from(i).unwrap_or(u32::MAX), rejection: Box::new(r) };
                if !is_importable(row) {
                    return Err(in_row(Rejection::invalid(row.kind(), "type", Problem::UnknownCode)));
                }
                validate(row).map_err(in_row)?;
            }
            Ok(())
        }
    }
}

/// Most rows one import may carry (one log entry; keeps it well under gRPC's message size).
pub const MAX_IMPORT_ROWS: usize = 5000;

/// What an import may carry: catalog records, directory entries and rotas, action cards.
fn is_importable(cmd: &Command) -> bool {
    matches!(
        cmd,
        Command::CreateSupplier(_)
            | Command::UpdateSupplier { .. }
            | Command::CreateUnit(_)
            | Command::UpdateUnit { .. }
            | Command::CreateArticle(_)
            | Command::UpdateArticle { .. }
            | Command::PutContact { .. }
            | Command::PutRota { .. }
            | Command::PutCard { .. }
    )
}

fn check_user(f: &UserFields) -> Result<(), Rejection> {
    let k = Kind::User;
    check_id(k, "id", f.id.as_str())?;
    text(k, "name", &f.name, true)?;
    if f.units.len() > 100 {
        return Err(Rejection::invalid(k, "units", Problem::TooMany));
    }
    for (i, u) in f.units.iter().enumerate() {
        check_id(k, &format!("units[{i}]"), u.as_str())?;
    }
    f.password_hash.as_deref().map(check_hash).transpose().map(|_| ())
}

/// A password hash is opaque here (the node makes it); only its size is bounded.
fn check_hash(h: &str) -> Result<(), Rejection> {
    if h.is_empty() || h.len() > 512 {
        return Err(Rejection::invalid(Kind::User, "password_hash", Problem::BadFormat));
    }
    Ok(())
}

pub(crate) type Outcome = Result<Verdict, Rejection>;

fn run(view: &dyn StateView, env: &Envelope, ch: &mut Changes) -> Result<Outcome, StateError> {
    if let Err(r) = validate(&env.cmd) {
        return Ok(Err(r));
    }
    if let Some(actor) = &env.actor {
        let kind = env.cmd.kind();
        match view.user(&UserId::new(actor.as_str()))? {
            Some(user) if user.is_active(env.at) => {
                if let Err(r) = access::authorize(view, &user, &env.cmd)? {
                    return Ok(Err(r));
                }
            }
            _ => {
                return Ok(Err(Rejection::Forbidden {
                    kind,
                    why: "the account is unknown, disabled or expired".into(),
                }));
            }
        }
    }
    match &env.cmd {
        Command::CreateSupplier(f) => put_supplier(view, f, None, ch),
        Command::UpdateSupplier { expected_version, fields } => put_supplier(view, fields, Some(*expected_version), ch),
        Command::SetOrganisation { expected_version, fields } => put_organisation(view, fields, *expected_version, ch),
        Command::CreateUnit(f) => put_unit(view, f, None, ch),
        Command::UpdateUnit { expected_version, fields } => put_unit(view, fields, Some(*expected_version), ch),
        Command::CreateArticle(f) => put_article(view, f, None, ch),
        Command::UpdateArticle { expected_version, fields } => put_article(view, fields, Some(*expected_version), ch),
        Command::CreateOrder(f) => create_order(view, env, f, ch),
        Command::UpdateOrder { expected_version, fields } => update_order(view, env, fields, *expected_version, ch),
        Command::Transition { order_id, expected_version, action } => {
            transition(view, env, order_id, *expected_version, action, ch)
        }
        Command::RegisterNode { id, http, grpc } => {
            let version = match view.node(*id)? {
                Some(n) if n.retired => {
                    return Ok(Err(Rejection::AlreadyExists { kind: Kind::Node, id: id.to_string() }));
                }
                Some(n) => n.version + 1,
                None => 1,
            };
            let rec = NodeRecord { id: *id, http: http.clone(), grpc: grpc.clone(), retired: false, version };
            ch.put(Key::Node(*id), Record::Node(rec));
            Ok(Ok(Verdict::Applied { kind: Kind::Node, id: id.to_string(), version }))
        }
        Command::CreateUser(f) => put_user(view, f, None, ch),
        Command::UpdateUser { expected_version, fields } => put_user(view, fields, Some(*expected_version), ch),
        Command::SetPassword { user_id, password_hash } => {
            change_user(view, user_id, ch, |u| u.password_hash = Some(password_hash.clone()))
        }
        Command::SetUserDisabled { user_id, disabled } => change_user(view, user_id, ch, |u| u.disabled = *disabled),
        Command::LogoutEverywhere { user_id } => {
            change_user(view, user_id, ch, |u| u.sessions_valid_after = Some(env.at))
        }
        Command::AddSessionKey { key_id, secret } => {
            if view.get(&Key::SessionKey(key_id.clone()))?.is_some() {
                return Ok(Err(Rejection::AlreadyExists { kind: Kind::Token, id: key_id.clone() }));
            }
            let k = domain_session_key(key_id, secret, env);
            ch.put(Key::SessionKey(key_id.clone()), Record::SessionKey(k));
            Ok(applied(Kind::Token, key_id, 1))
        }
        Command::CreateToken { token_id, user_id, secret_sha256, label } => {
            if view.token(token_id)?.is_some() {
                return Ok(Err(Rejection::AlreadyExists { kind: Kind::Token, id: token_id.to_string() }));
            }
            if view.user(user_id)?.is_none() {
                return Ok(Err(Rejection::Unknown {
                    kind: Kind::User,
                    id: user_id.to_string(),
                    field: "user_id".into(),
                }));
            }
            let t = ApiToken {
                id: token_id.clone(),
                user_id: user_id.clone(),
                secret_sha256: secret_sha256.to_ascii_lowercase(),
                label: label.trim().to_owned(),
                created_at: env.at,
                revoked: false,
                version: 1,
            };
            ch.put(Key::Token(token_id.clone()), Record::Token(t));
            Ok(applied(Kind::Token, token_id.as_str(), 1))
        }
        Command::RevokeToken { token_id } => {
            let Some(mut t) = view.token(token_id)? else {
                return Ok(Err(Rejection::NotFound { kind: Kind::Token, id: token_id.to_string() }));
            };
            t.revoked = true;
            t.version += 1;
            let version = t.version;
            ch.put(Key::Token(token_id.clone()), Record::Token(t));
            Ok(applied(Kind::Token, token_id.as_str(), version))
        }
        Command::Import { rows } => {
            // Each row sees the rows before it; nothing is written unless every row applies.
            let mut overlay = crate::state::Overlay::new(view);
            for (i, row) in rows.iter().enumerate() {
                let mut row_changes = Changes::default();
                // Not `..env.clone()`: that would copy every row once per row.
                let row_env = Envelope {
                    id: env.id.clone(),
                    at: env.at,
                    origin: env.origin,
                    actor: env.actor.clone(),
                    cmd: row.clone(),
                };
                match run(&overlay, &row_env, &mut row_changes)? {
                    Ok(_) => overlay.add(row_changes),
                    Err(r) => {
                        let row = u32::try_from(i).unwrap_or(u32::MAX);
                        return Ok(Err(Rejection::InRow { row, rejection: Box::new(r) }));
                    }
                }
            }
            ch.0.extend(overlay.into_changes().0);
            Ok(applied(env.cmd.kind(), &format!("import/{}", rows.len()), 1))
        }
        Command::RetireNode { id } => {
            let Some(mut n) = view.node(*id)? else {
                return Ok(Err(Rejection::NotFound { kind: Kind::Node, id: id.to_string() }));
            };
            n.retired = true;
            n.version += 1;
            let version = n.version;
            ch.put(Key::Node(*id), Record::Node(n));
            Ok(Ok(Verdict::Applied { kind: Kind::Node, id: id.to_string(), version }))
        }
        Command::PutSystem { .. }
        | Command::SetSystemState { .. }
        | Command::OpenIncident(_)
        | Command::PostIncidentUpdate { .. }
        | Command::ScheduleMaintenance(_)
        | Command::AdvanceMaintenance { .. }
        | Command::CancelMaintenance { .. }
        | Command::SetReadiness(_) => Ok(crate::status::rules::run(view, env, ch)?
            .unwrap_or_else(|| Err(Rejection::invalid(env.cmd.kind(), "type", Problem::UnknownCode)))),
        Command::PutContact { .. } | Command::PutRota { .. } => Ok(crate::contacts::rules::run(view, env, ch)?
            .unwrap_or_else(|| Err(Rejection::invalid(env.cmd.kind(), "type", Problem::UnknownCode)))),
        Command::PutCard { .. } => Ok(crate::cards::rules::run(view, env, ch)?
            .unwrap_or_else(|| Err(Rejection::invalid(env.cmd.kind(), "type", Problem::UnknownCode)))),
        Command::Dispatch { .. }
        | Command::RecordAttempt { .. }
        | Command::RecordManualSend { .. }
        | Command::RetryDispatch { .. }
        | Command::CancelDispatch { .. } => Ok(crate::dispatch::run(view, env, ch)?
            .unwrap_or_else(|| Err(Rejection::invalid(env.cmd.kind(), "type", Problem::UnknownCode)))),
        Command::PutSubscriber { .. }
        | Command::Unsubscribe { .. }
        | Command::RemoveSubscriber { .. }
        | Command::RemindLead { .. } => Ok(crate::subscription::run(view, env, ch)?
            .unwrap_or_else(|| Err(Rejection::invalid(env.cmd.kind(), "type", Problem::UnknownCode)))),
        Command::SetChannel { .. } => Ok(crate::channel::run(view, env, ch)?
            .unwrap_or_else(|| Err(Rejection::invalid(env.cmd.kind(), "type", Problem::UnknownCode)))),
        Command::RecordDrill(r) => {
            let key = Key::Drill(r.id.clone());
            if view.get(&key)?.is_some() {
                return Ok(Err(Rejection::AlreadyExists { kind: Kind::Drill, id: r.id.clone() }));
            }
            let mut r = r.clone();
            r.recorded_by = env.actor.clone();
            let id = r.id.clone();
            ch.put(key, Record::Drill(r));
            Ok(Ok(Verdict::Applied { kind: Kind::Drill, id, version: 1 }))
        }
    }
}

/// The version a create or update yields: creation needs the record absent, an update needs it
/// present at `expected`.
pub(crate) fn next_version(
    kind: Kind,
    id: &str,
    current: Option<u64>,
    expected: Option<u64>,
) -> Result<u64, Rejection> {
    match (current, expected) {
        (None, None) => Ok(1),
        (Some(_), None) => Err(Rejection::AlreadyExists { kind, id: id.to_owned() }),
        (None, Some(_)) => Err(Rejection::NotFound { kind, id: id.to_owned() }),
        (Some(actual), Some(expected)) if actual != expected => {
            Err(Rejection::VersionConflict { kind, id: id.to_owned(), expected, actual })
        }
        (Some(actual), Some(_)) => Ok(actual + 1),
    }
}

pub(crate) fn applied(kind: Kind, id: &str, version: u64) -> Outcome {
    Ok(Verdict::Applied { kind, id: id.to_owned(), version })
}

fn put_supplier(
    view: &dyn StateView,
    f: &SupplierFields,
    expected: Option<u64>,
    ch: &mut Changes,
) -> Result<Outcome, StateError> {
    let current = view.supplier(&f.id)?.map(|s| s.version);
    let version = match next_version(Kind::Supplier, f.id.as_str(), current, expected) {
        Ok(v) => v,
        Err(r) => return Ok(Err(r)),
    };
    let rec = Supplier {
        id: f.id.clone(),
        name: f.name.trim().to_owned(),
        org_number: clean(&f.org_number),
        gln: clean(&f.gln),
        email: clean(&f.email),
        phone: clean(&f.phone),
        country: clean(&f.country),
        address: lines(&f.address),
        withdrawn: f.withdrawn,
        version,
    };
    ch.put(Key::Supplier(f.id.clone()), Record::Supplier(rec));
    Ok(applied(Kind::Supplier, f.id.as_str(), version))
}

fn put_organisation(
    view: &dyn StateView,
    f: &OrganisationFields,
    expected: Option<u64>,
    ch: &mut Changes,
) -> Result<Outcome, StateError> {
    let current = view.organisation()?.map(|o| o.version);
    let version = match next_version(Kind::Organisation, ORGANISATION_ID, current, expected) {
        Ok(v) => v,
        Err(r) => return Ok(Err(r)),
    };
    let rec = Organisation {
        name: f.name.trim().to_owned(),
        org_number: clean(&f.org_number),
        gln: clean(&f.gln),
        country: f.country.trim().to_owned(),
        currency: f.currency.trim().to_owned(),
        address: lines(&f.address),
        contact_name: clean(&f.contact_name),
        phone: clean(&f.phone),
        email: clean(&f.email),
        version,
    };
    ch.put(Key::Organisation, Record::Organisation(rec));
    Ok(applied(Kind::Organisation, ORGANISATION_ID, version))
}

/// Address lines, trimmed, blank ones dropped.
fn lines(l: &[String]) -> Vec<String> {
    l.iter().map(|l| l.trim().to_owned()).filter(|l| !l.is_empty()).collect()
}

fn put_unit(
    view: &dyn StateView,
    f: &UnitFields,
    expected: Option<u64>,
    ch: &mut Changes,
) -> Result<Outcome, StateError> {
    let current = view.unit(&f.id)?.map(|s| s.version);
    let version = match next_version(Kind::Unit, f.id.as_str(), current, expected) {
        Ok(v) => v,
        Err(r) => return Ok(Err(r)),
    };
    let rec = CareUnit {
        id: f.id.clone(),
        name: f.name.trim().to_owned(),
        site: f.site.trim().to_owned(),
        cost_centre: clean(&f.cost_centre),
        delivery_address: lines(&f.delivery_address),
        contact_name: clean(&f.contact_name),
        phone: clean(&f.phone),
        withdrawn: f.withdrawn,
        version,
    };
    ch.put(Key::Unit(f.id.clone()), Record::Unit(rec));
    Ok(applied(Kind::Unit, f.id.as_str(), version))
}

fn put_article(
    view: &dyn StateView,
    f: &ArticleFields,
    expected: Option<u64>,
    ch: &mut Changes,
) -> Result<Outcome, StateError> {
    if view.supplier(&f.supplier_id)?.is_none() {
        return Ok(Err(Rejection::Unknown {
            kind: Kind::Supplier,
            id: f.supplier_id.to_string(),
            field: "supplier_id".into(),
        }));
    }
    let current = view.article(&f.id)?.map(|s| s.version);
    let version = match next_version(Kind::Article, f.id.as_str(), current, expected) {
        Ok(v) => v,
        Err(r) => return Ok(Err(r)),
    };
    let rec = Article {
        id: f.id.clone(),
        article_number: f.article_number.trim().to_owned(),
        gtin: clean(&f.gtin),
        name: f.name.trim().to_owned(),
        unit: f.unit.clone(),
        pack_size: f.pack_size,
        supplier_id: f.supplier_id.clone(),
        category: f.category.trim().to_owned(),
        price_cents: f.price_cents,
        withdrawn: f.withdrawn,
        version,
    };
    ch.put(Key::Article(f.id.clone()), Record::Article(rec));
    Ok(applied(Kind::Article, f.id.as_str(), version))
}

fn domain_session_key(id: &str, secret: &str, env: &Envelope) -> crate::model::SessionKey {
    crate::model::SessionKey { id: id.to_owned(), secret: secret.to_ascii_lowercase(), created_at: env.at }
}

fn put_user(
    view: &dyn StateView,
    f: &UserFields,
    expected: Option<u64>,
    ch: &mut Changes,
) -> Result<Outcome, StateError> {
    let current = view.user(&f.id)?;
    let version = match next_version(Kind::User, f.id.as_str(), current.as_ref().map(|u| u.version), expected) {
        Ok(v) => v,
        Err(r) => return Ok(Err(r)),
    };
    for (i, u) in f.units.iter().enumerate() {
        if view.unit(u)?.is_none() {
            return Ok(Err(Rejection::Unknown { kind: Kind::Unit, id: u.to_string(), field: format!("units[{i}]") }));
        }
    }
    // An update keeps what it does not set: the password (unless a new hash is given), whether
    // the account is disabled, and when its sessions were last voided.
    let (old_hash, disabled, sessions_valid_after) = match current {
        Some(u) => (u.password_hash, u.disabled, u.sessions_valid_after),
        None => (None, false, None),
    };
    let rec = User {
        id: f.id.clone(),
        name: f.name.trim().to_owned(),
        role: f.role,
        units: f.units.clone(),
        password_hash: f.password_hash.clone().or(old_hash),
        expires_at: f.expires_at,
        disabled,
        sessions_valid_after,
        version,
    };
    ch.put(Key::User(f.id.clone()), Record::User(rec));
    Ok(applied(Kind::User, f.id.as_str(), version))
}

fn change_user(
    view: &dyn StateView,
    id: &UserId,
    ch: &mut Changes,
    f: impl FnOnce(&mut User),
) -> Result<Outcome, StateError> {
    let Some(mut u) = view.user(id)? else {
        return Ok(Err(Rejection::NotFound { kind: Kind::User, id: id.to_string() }));
    };
    f(&mut u);
    u.version += 1;
    let version = u.version;
    ch.put(Key::User(id.clone()), Record::User(u));
    Ok(applied(Kind::User, id.as_str(), version))
}

/// Resolves order lines against the catalog: every article must exist and be orderable.
fn order_lines(view: &dyn StateView, f: &OrderFields) -> Result<Result<Vec<OrderLine>, Rejection>, StateError> {
    let mut lines = Vec::with_capacity(f.lines.len());
    for (i, l) in f.lines.iter().enumerate() {
        let field = format!("lines[{i}].article_id");
        match view.article(&l.article_id)? {
            None => return Ok(Err(Rejection::Unknown { kind: Kind::Article, id: l.article_id.to_string(), field })),
            Some(a) if a.withdrawn => {
                return Ok(Err(Rejection::Withdrawn { kind: Kind::Article, id: l.article_id.to_string(), field }));
            }
            Some(a) => {
                if view.supplier(&a.supplier_id)?.is_some_and(|s| s.withdrawn) {
                    return Ok(Err(Rejection::Withdrawn {
                        kind: Kind::Supplier,
                        id: a.supplier_id.to_string(),
                        field,
                    }));
                }
            }
        }
        lines.push(OrderLine {
            line_no: u32::try_from(i + 1).unwrap_or(u32::MAX),
            article_id: l.article_id.clone(),
            quantity: l.quantity,
            note: clean(&l.note),
            received: 0,
        });
    }
    Ok(Ok(lines))
}

/// The order's unit must exist and not be withdrawn.
fn orderable_unit(view: &dyn StateView, f: &OrderFields) -> Result<Result<(), Rejection>, StateError> {
    let (id, field) = (f.unit_id.to_string(), "unit_id".to_owned());
    Ok(match view.unit(&f.unit_id)? {
        None => Err(Rejection::Unknown { kind: Kind::Unit, id, field }),
        Some(u) if u.withdrawn => Err(Rejection::Withdrawn { kind: Kind::Unit, id, field }),
        Some(_) => Ok(()),
    })
}

fn create_order(
    view: &dyn StateView,
    env: &Envelope,
    f: &OrderFields,
    ch: &mut Changes,
) -> Result<Outcome, StateError> {
    if view.order(&f.id)?.is_some() {
        return Ok(Err(Rejection::AlreadyExists { kind: Kind::Order, id: f.id.to_string() }));
    }
    if let Err(r) = orderable_unit(view, f)? {
        return Ok(Err(r));
    }
    let lines = match order_lines(view, f)? {
        Ok(l) => l,
        Err(r) => return Ok(Err(r)),
    };
    let seq = view.counter("order")? + 1;
    ch.put(Key::Counter("order".into()), Record::Counter(seq));
    let status = if f.submit { OrderStatus::Submitted } else { OrderStatus::Draft };
    let mut history = vec![entry(env, "created", None, OrderStatus::Draft, None)];
    if f.submit {
        history.push(entry(env, "submit", Some(OrderStatus::Draft), OrderStatus::Submitted, None));
    }
    let order = Order {
        id: f.id.clone(),
        number: format!("{}-{seq:06}", env.at.year()),
        unit_id: f.unit_id.clone(),
        lines,
        note: clean(&f.note),
        needed_by: f.needed_by,
        urgent: f.urgent,
        status,
        version: 1,
        created_at: env.at,
        updated_at: env.at,
        history,
    };
    ch.put(Key::Order(f.id.clone()), Record::Order(order));
    Ok(applied(Kind::Order, f.id.as_str(), 1))
}

fn update_order(
    view: &dyn StateView,
    env: &Envelope,
    f: &OrderFields,
    expected: u64,
    ch: &mut Changes,
) -> Result<Outcome, StateError> {
    let Some(mut order) = view.order(&f.id)? else {
        return Ok(Err(Rejection::NotFound { kind: Kind::Order, id: f.id.to_string() }));
    };
    if order.version != expected {
        return Ok(Err(Rejection::VersionConflict {
            kind: Kind::Order,
            id: f.id.to_string(),
            expected,
            actual: order.version,
        }));
    }
    if order.status != OrderStatus::Draft {
        return Ok(Err(Rejection::BadTransition { id: f.id.to_string(), from: order.status, action: "edit".into() }));
    }
    if let Err(r) = orderable_unit(view, f)? {
        return Ok(Err(r));
    }
    order.lines = match order_lines(view, f)? {
        Ok(l) => l,
        Err(r) => return Ok(Err(r)),
    };
    order.unit_id = f.unit_id.clone();
    order.note = clean(&f.note);
    order.needed_by = f.needed_by;
    order.urgent = f.urgent;
    order.history.push(entry(env, "edit", Some(OrderStatus::Draft), OrderStatus::Draft, None));
    if f.submit {
        order.status = OrderStatus::Submitted;
        order.history.push(entry(env, "submit", Some(OrderStatus::Draft), OrderStatus::Submitted, None));
    }
    Ok(save_order(order, env, ch))
}

pub(crate) fn transition(
    view: &dyn StateView,
    env: &Envelope,
    id: &OrderId,
    expected: Option<u64>,
    action: &OrderAction,
    ch: &mut Changes,
) -> Result<Outcome, StateError> {
    let Some(mut order) = view.order(id)? else {
        return Ok(Err(Rejection::NotFound { kind: Kind::Order, id: id.to_string() }));
    };
    if let Some(expected) = expected.filter(|e| *e != order.version) {
        return Ok(Err(Rejection::VersionConflict {
            kind: Kind::Order,
            id: id.to_string(),
            expected,
            actual: order.version,
        }));
    }
    let from = order.status;
    let to = match next_status(&order, action) {
        Ok(to) => to,
        Err(r) => return Ok(Err(r)),
    };
    if let OrderAction::Receive { lines } = action {
        for r in lines {
            if let Some(line) = order.lines.iter_mut().find(|l| l.line_no == r.line_no) {
                line.received = line.received.saturating_add(r.quantity);
            }
        }
    }
    let reason = match action {
        OrderAction::Reject { reason } | OrderAction::Cancel { reason } => Some(reason.trim().to_owned()),
        _ => None,
    };
    order.status = to;
    order.history.push(entry(env, action.name(), Some(from), to, reason));
    Ok(save_order(order, env, ch))
}

/// The order state machine: which action is allowed from which status, and where it leads.
///
/// draft → submitted → approved → sent → confirmed → (partially_)delivered; submitted may be
/// rejected; anything before its first receipt may be cancelled. A receipt may not exceed what
/// was ordered on a line, and must receive something.
pub fn next_status(order: &Order, action: &OrderAction) -> Result<OrderStatus, Rejection> {
    use OrderStatus as S;
    let bad =
        || Rejection::BadTransition { id: order.id.to_string(), from: order.status, action: action.name().into() };
    Ok(match (order.status, action) {
        (S::Draft, OrderAction::Submit) => {
            if order.lines.is_empty() {
                return Err(Rejection::invalid(Kind::Order, "lines", Problem::Required));
            }
            S::Submitted
        }
        (S::Submitted, OrderAction::Approve) => S::Approved,
        (S::Submitted, OrderAction::Reject { .. }) => S::Rejected,
        (S::Approved, OrderAction::Send) => S::Sent,
        (S::Sent, OrderAction::Confirm) => S::Confirmed,
        (S::Sent | S::Confirmed | S::PartiallyDelivered, OrderAction::Receive { lines }) => {
            if lines.iter().all(|r| r.quantity == 0) {
                return Err(Rejection::invalid(Kind::Order, "lines", Problem::Required));
            }
            let mut received: Vec<u32> = order.lines.iter().map(|l| l.received).collect();
            for (i, r) in lines.iter().enumerate() {
                let Some(pos) = order.lines.iter().position(|l| l.line_no == r.line_no) else {
                    return Err(Rejection::invalid(Kind::Order, format!("lines[{i}].line_no"), Problem::OutOfRange));
                };
                let slot = received.get_mut(pos).ok_or_else(bad)?;
                *slot = slot.saturating_add(r.quantity);
                if order.lines.get(pos).is_some_and(|l| *slot > l.quantity) {
                    return Err(Rejection::invalid(Kind::Order, format!("lines[{i}].quantity"), Problem::OutOfRange));
                }
            }
            let full = order.lines.iter().zip(&received).all(|(l, r)| *r >= l.quantity);
            if full { S::Delivered } else { S::PartiallyDelivered }
        }
        (S::Draft | S::Submitted | S::Approved | S::Sent | S::Confirmed, OrderAction::Cancel { .. }) => S::Cancelled,
        _ => return Err(bad()),
    })
}

fn save_order(mut order: Order, env: &Envelope, ch: &mut Changes) -> Outcome {
    order.version += 1;
    order.updated_at = env.at;
    let (id, version) = (order.id.clone(), order.version);
    ch.put(Key::Order(id.clone()), Record::Order(order));
    applied(Kind::Order, id.as_str(), version)
}

fn entry(
    env: &Envelope,
    action: &str,
    from: Option<OrderStatus>,
    to: OrderStatus,
    reason: Option<String>,
) -> HistoryEntry {
    HistoryEntry { at: env.at, node: env.origin, actor: env.actor.clone(), action: action.into(), from, to, reason }
}

fn clean(s: &Option<String>) -> Option<String> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}

pub(crate) fn check_id(kind: Kind, field: &str, id: &str) -> Result<(), Rejection> {
    if id.is_empty() {
        Err(Rejection::invalid(kind, field, Problem::Required))
    } else if is_valid_id(id) {
        Ok(())
    } else {
        Err(Rejection::invalid(kind, field, Problem::BadFormat))
    }
}

/// Checks a free-text field; `required` rejects blank text.
pub(crate) fn text<'a>(kind: Kind, field: &str, s: &'a str, required: bool) -> Result<&'a str, Rejection> {
    let t = s.trim();
    if required && t.is_empty() {
        return Err(Rejection::invalid(kind, field, Problem::Required));
    }
    if t.chars().count() > MAX_TEXT {
        return Err(Rejection::invalid(kind, field, Problem::TooLong));
    }
    Ok(t)
}

fn opt_text(kind: Kind, field: &str, s: &Option<String>) -> Result<(), Rejection> {
    s.as_deref().map(|s| text(kind, field, s, false)).transpose().map(|_| ())
}

fn digits(kind: Kind, field: &str, s: &Option<String>, len: usize) -> Result<(), Rejection> {
    match s.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(v) if v.len() != len || !v.bytes().all(|b| b.is_ascii_digit()) => {
            Err(Rejection::invalid(kind, field, Problem::BadFormat))
        }
        Some(v) if !gtin::is_valid(v) => Err(Rejection::invalid(kind, field, Problem::CheckDigit)),
        _ => Ok(()),
    }
}

fn check_supplier(f: &SupplierFields) -> Result<(), Rejection> {
    let k = Kind::Supplier;
    check_id(k, "id", f.id.as_str())?;
    text(k, "name", &f.name, true)?;
    check_party(k, &f.org_number, &f.gln, &f.email, &f.phone)?;
    if let Some(c) = f.country.as_deref().map(str::trim).filter(|s| !s.is_empty())
        && !party::is_country_code(c)
    {
        return Err(Rejection::invalid(k, "country", Problem::BadFormat));
    }
    address(k, "address", &f.address)
}

/// Organisation number (with its check digit), GLN, e-mail and phone of a supplier or the buyer.
fn check_party(
    k: Kind,
    org_number: &Option<String>,
    gln: &Option<String>,
    email: &Option<String>,
    phone: &Option<String>,
) -> Result<(), Rejection> {
    opt_text(k, "org_number", org_number)?;
    if let Some(org) = org_number.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        match party::OrgNumber::parse(org) {
            Ok(_) => {}
            Err(party::OrgNumberError::BadFormat) => {
                return Err(Rejection::invalid(k, "org_number", Problem::BadFormat));
            }
            Err(party::OrgNumberError::CheckDigit) => {
                return Err(Rejection::invalid(k, "org_number", Problem::CheckDigit));
            }
        }
    }
    // A GLN is a GTIN-13 in form: 13 digits with the same check digit.
    digits(k, "gln", gln, 13)?;
    opt_text(k, "email", email)?;
    if let Some(e) = email.as_deref().map(str::trim).filter(|s| !s.is_empty())
        && (!e.contains('@') || e.contains(char::is_whitespace))
    {
        return Err(Rejection::invalid(k, "email", Problem::BadFormat));
    }
    opt_text(k, "phone", phone)
}

/// An address of at most eight lines of text.
fn address(k: Kind, field: &str, lines: &[String]) -> Result<(), Rejection> {
    if lines.len() > 8 {
        return Err(Rejection::invalid(k, field, Problem::TooMany));
    }
    for l in lines {
        text(k, field, l, false)?;
    }
    Ok(())
}

fn check_organisation(f: &OrganisationFields) -> Result<(), Rejection> {
    let k = Kind::Organisation;
    text(k, "name", &f.name, true)?;
    check_party(k, &f.org_number, &f.gln, &f.email, &f.phone)?;
    if !party::is_country_code(f.country.trim()) {
        return Err(Rejection::invalid(k, "country", Problem::BadFormat));
    }
    if !party::is_currency_code(f.currency.trim()) {
        return Err(Rejection::invalid(k, "currency", Problem::BadFormat));
    }
    opt_text(k, "contact_name", &f.contact_name)?;
    address(k, "address", &f.address)
}

fn check_unit(f: &UnitFields) -> Result<(), Rejection> {
    let k = Kind::Unit;
    check_id(k, "id", f.id.as_str())?;
    text(k, "name", &f.name, true)?;
    text(k, "site", &f.site, true)?;
    opt_text(k, "cost_centre", &f.cost_centre)?;
    opt_text(k, "contact_name", &f.contact_name)?;
    opt_text(k, "phone", &f.phone)?;
    address(k, "delivery_address", &f.delivery_address)
}

fn check_article(f: &ArticleFields) -> Result<(), Rejection> {
    let k = Kind::Article;
    check_id(k, "id", f.id.as_str())?;
    text(k, "article_number", &f.article_number, true)?;
    text(k, "name", &f.name, true)?;
    text(k, "category", &f.category, true)?;
    check_id(k, "supplier_id", f.supplier_id.as_str())?;
    if let Some(g) = f.gtin.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        if !matches!(g.len(), 8 | 12 | 13 | 14) || !g.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Rejection::invalid(k, "gtin", Problem::BadFormat));
        }
        if !gtin::is_valid(g) {
            return Err(Rejection::invalid(k, "gtin", Problem::CheckDigit));
        }
    }
    if !units::is_known(&f.unit) {
        return Err(Rejection::invalid(k, "unit", Problem::UnknownCode));
    }
    if f.pack_size == 0 || f.pack_size > MAX_QUANTITY {
        return Err(Rejection::invalid(k, "pack_size", Problem::OutOfRange));
    }
    if f.price_cents.is_some_and(|p| !(0..=1_000_000_000).contains(&p)) {
        return Err(Rejection::invalid(k, "price_cents", Problem::OutOfRange));
    }
    Ok(())
}

fn check_order(f: &OrderFields) -> Result<(), Rejection> {
    let k = Kind::Order;
    check_id(k, "id", f.id.as_str())?;
    check_id(k, "unit_id", f.unit_id.as_str())?;
    opt_text(k, "note", &f.note)?;
    if f.submit && f.lines.is_empty() {
        return Err(Rejection::invalid(k, "lines", Problem::Required));
    }
    if f.lines.len() > MAX_LINES {
        return Err(Rejection::invalid(k, "lines", Problem::TooMany));
    }
    for (i, l) in f.lines.iter().enumerate() {
        check_id(k, &format!("lines[{i}].article_id"), l.article_id.as_str())?;
        if l.quantity == 0 || l.quantity > MAX_QUANTITY {
            return Err(Rejection::invalid(k, format!("lines[{i}].quantity"), Problem::OutOfRange));
        }
        opt_text(k, &format!("lines[{i}].note"), &l.note)?;
    }
    Ok(())
}
