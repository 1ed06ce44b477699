//! `apply`: one command in, a verdict and the changes it makes out. Pure and deterministic:
//! the same state and envelope give the same result on every node.

//!
//! This file only routes: [`Area::of`] sorts every command into its area, whose `rules` module
//! checks and applies it. The checks they share live in [`crate::check`].

use crate::access;
use crate::check::{Outcome, applied};
use crate::command::{Command, Envelope, Verdict};
use crate::ids::UserId;
use crate::model::{AuditEntry, AuditSeq};
use crate::rejection::{Kind, Problem, Rejection};
use crate::state::{Changes, CommandRecord, Key, Record, StateError, StateView, StateViewExt};

pub use crate::check::MAX_TEXT;
pub use crate::orders::rules::{MAX_LINES, MAX_QUANTITY, next_status};

/// Applies `env` (carried by log entry `at.log_index`, in place `at.slot` of its batch) to `view`.
///
/// A command id seen before returns the earlier verdict and no changes — to the same actor only:
/// from anyone else it is [`Rejection::IdReused`], so a guessed or replayed id never shows what
/// another user's command made. Otherwise the verdict is recorded under the command id, with
/// its author, whether the command was applied or rejected.
pub fn apply(view: &dyn StateView, env: &Envelope, at: impl Into<AuditSeq>) -> Result<(Verdict, Changes), StateError> {
    let at = at.into();
    if let Some(seen) = view.command(&env.id)? {
        // A repeat changes nothing, not even the trail: the first one is there already.
        if seen.actor != env.actor {
            let rejection = Rejection::IdReused { id: env.id.to_string() };
            return Ok((Verdict::Rejected { rejection }, Changes::default()));
        }
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
    audit(env, at, &outcome, &mut changes);
    changes.put(
        Key::Command(env.id.clone()),
        Record::Command(CommandRecord { verdict: verdict.clone(), log_index: at.log_index, actor: env.actor.clone() }),
    );
    Ok((verdict, changes))
}

/// Adds the audit line for the command at `at` in the log.
fn audit(env: &Envelope, at: AuditSeq, outcome: &str, changes: &mut Changes) {
    let entry = AuditEntry {
        log_index: at.log_index,
        slot: at.slot,
        at: env.at,
        node: env.origin,
        actor: env.actor.clone(),
        command_id: env.id.to_string(),
        command: env.cmd.name().to_owned(),
        target: env.cmd.target(),
        outcome: outcome.to_owned(),
    };
    changes.put(Key::Audit(at), Record::Audit(entry));
}

/// Checks what can be checked without state; `apply` does this too. Nodes call it before
/// proposing so that plainly bad input never reaches the log.
pub fn validate(cmd: &Command) -> Result<(), Rejection> {
    match Area::of(cmd) {
        Area::Catalog => crate::catalog::rules::validate(cmd),
        Area::Orders => crate::orders::rules::validate(cmd),
        Area::Nodes => crate::nodes::rules::validate(cmd),
        Area::Users => crate::users::rules::validate(cmd),
        Area::Status => crate::status::rules::validate(cmd),
        Area::Contacts => crate::contacts::rules::validate(cmd),
        Area::Cards => crate::cards::rules::validate(cmd),
        Area::Channel => crate::channels::rules::validate(cmd),
        Area::Dispatch => crate::dispatch::rules::validate(cmd),
        Area::Subscribers => crate::subscribers::rules::validate(cmd),
        Area::Federation => crate::federation::rules::validate(cmd),
        Area::Paging => crate::paging::rules::validate(cmd),
        Area::Reports => crate::reports::rules::validate(cmd),
        Area::Banners => crate::banners::rules::validate(cmd),
        Area::Exercises => crate::exercises::rules::validate(cmd),
        Area::Drills => match cmd {
            Command::RecordDrill(r) => crate::drills::rules::validate(r),
            _ => Ok(()),
        },
        Area::Import => match cmd {
            Command::Import { rows } => validate_import(cmd.kind(), rows),
            _ => Ok(()),
        },
    }
}

fn validate_import(kind: Kind, rows: &[Command]) -> Result<(), Rejection> {
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

/// Which area's rules a command belongs to: the one place that sorts every command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Area {
    Catalog,
    Orders,
    Nodes,
    Users,
    Status,
    Contacts,
    Cards,
    Channel,
    Dispatch,
    Subscribers,
    Federation,
    Paging,
    Reports,
    Banners,
    Exercises,
    Drills,
    Import,
}

impl Area {
    fn of(cmd: &Command) -> Area {
        match cmd {
            Command::CreateSupplier(_)
            | Command::UpdateSupplier { .. }
            | Command::CreateUnit(_)
            | Command::UpdateUnit { .. }
            | Command::SetOrganisation { .. }
            | Command::CreateArticle(_)
            | Command::UpdateArticle { .. } => Area::Catalog,
            Command::CreateOrder(_) | Command::UpdateOrder { .. } | Command::Transition { .. } => Area::Orders,
            Command::RegisterNode { .. }
            | Command::RetireNode { .. }
            | Command::ChangeMember { .. }
            | Command::CreateInvitation(_)
            | Command::JoinCluster { .. }
            | Command::RevokeInvitation { .. }
            | Command::ForceNewCluster { .. }
            | Command::ForgetCommands { .. } => Area::Nodes,
            Command::CreateUser(_)
            | Command::UpdateUser { .. }
            | Command::SetPassword { .. }
            | Command::SetUserDisabled { .. }
            | Command::LogoutEverywhere { .. }
            | Command::RecordAccess { .. }
            | Command::AddSessionKey { .. }
            | Command::CreateToken { .. }
            | Command::RevokeToken { .. } => Area::Users,
            Command::PutSystem { .. }
            | Command::SetSystemState { .. }
            | Command::OpenIncident(_)
            | Command::PostIncidentUpdate { .. }
            | Command::ScheduleMaintenance(_)
            | Command::AdvanceMaintenance { .. }
            | Command::CancelMaintenance { .. }
            | Command::SetReadiness(_) => Area::Status,
            Command::PutContact { .. } | Command::PutRota { .. } => Area::Contacts,
            Command::PutCard { .. } => Area::Cards,
            Command::SetChannel { .. } => Area::Channel,
            Command::Dispatch { .. }
            | Command::RecordAttempt { .. }
            | Command::RecordReceipt { .. }
            | Command::RecordManualSend { .. }
            | Command::RetryDispatch { .. }
            | Command::CancelDispatch { .. } => Area::Dispatch,
            Command::PutSubscriber { .. }
            | Command::Unsubscribe { .. }
            | Command::RemoveSubscriber { .. }
            | Command::RemindLead { .. } => Area::Subscribers,
            Command::PutIdentityProvider { .. } | Command::FederatedLogin { .. } => Area::Federation,
            Command::PageOnCall { .. }
            | Command::EscalatePage { .. }
            | Command::AcknowledgePage { .. }
            | Command::CancelPage { .. } => Area::Paging,
            Command::PutBanner { .. } | Command::EndBanner { .. } => Area::Banners,
            Command::FileReport { .. }
            | Command::SetReportForm { .. }
            | Command::StartReportCycle { .. }
            | Command::StopReportCycle { .. }
            | Command::RemindReport { .. } => Area::Reports,
            Command::PutExercise { .. }
            | Command::EndExercise { .. }
            | Command::ClearExercise { .. }
            | Command::AttachDrill { .. } => Area::Exercises,
            Command::RecordDrill(_) => Area::Drills,
            Command::Import { .. } => Area::Import,
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

fn run(view: &dyn StateView, env: &Envelope, ch: &mut Changes) -> Result<Outcome, StateError> {
    if let Err(r) = validate(&env.cmd) {
        return Ok(Err(r));
    }
    if let Some(actor) = &env.actor {
        let kind = env.cmd.kind();
        match view.user(UserId::new(actor.as_str()))? {
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
    // The exercise it works in, if any (a clear refusal before anything is made).
    let exercise = match crate::exercises::rules::check(view, env)? {
        Ok(x) => x,
        Err(r) => return Ok(Err(r)),
    };
    let unknown = || Err(Rejection::invalid(env.cmd.kind(), "type", Problem::UnknownCode));
    let outcome = match Area::of(&env.cmd) {
        Area::Catalog => crate::catalog::rules::run(view, env, ch),
        Area::Orders => crate::orders::rules::run(view, env, ch),
        Area::Nodes => crate::nodes::rules::run(view, env, ch),
        Area::Users => crate::users::rules::run(view, env, ch),
        Area::Status => Ok(crate::status::rules::run(view, env, ch)?.unwrap_or_else(unknown)),
        Area::Contacts => Ok(crate::contacts::rules::run(view, env, ch)?.unwrap_or_else(unknown)),
        Area::Cards => Ok(crate::cards::rules::run(view, env, ch)?.unwrap_or_else(unknown)),
        Area::Channel => Ok(crate::channels::rules::run(view, env, ch)?.unwrap_or_else(unknown)),
        Area::Dispatch => Ok(crate::dispatch::rules::run(view, env, ch)?.unwrap_or_else(unknown)),
        Area::Subscribers => Ok(crate::subscribers::rules::run(view, env, ch)?.unwrap_or_else(unknown)),
        Area::Federation => Ok(crate::federation::rules::run(view, env, ch)?.unwrap_or_else(unknown)),
        Area::Paging => Ok(crate::paging::rules::run(view, env, ch)?.unwrap_or_else(unknown)),
        Area::Reports => Ok(crate::reports::rules::run(view, env, ch)?.unwrap_or_else(unknown)),
        Area::Banners => Ok(crate::banners::rules::run(view, env, ch)?.unwrap_or_else(unknown)),
        Area::Exercises => Ok(crate::exercises::rules::run(view, env, ch)?.unwrap_or_else(unknown)),
        Area::Drills => match &env.cmd {
            Command::RecordDrill(r) => crate::drills::rules::run(view, env, r, ch),
            _ => Ok(unknown()),
        },
        Area::Import => match &env.cmd {
            Command::Import { rows } => import(view, env, rows, ch),
            _ => Ok(unknown()),
        },
    }?;
    // What the command made in an exercise is listed there (or the command is refused).
    if outcome.is_ok()
        && let Some(x) = exercise
        && let Err(r) = crate::exercises::rules::mark(view, x, ch)?
    {
        return Ok(Err(r));
    }
    Ok(outcome)
}

/// An import: each row sees the rows before it; nothing is written unless every row applies.
fn import(view: &dyn StateView, env: &Envelope, rows: &[Command], ch: &mut Changes) -> Result<Outcome, StateError> {
    // Each row sees the rows before it; nothing is written unless every row applies.
    let mut overlay = crate::state::Overlay::new(view);
    for (i, row) in rows.iter().enumerate() {
        let mut row_changes = Changes::default();
        // Not `..env.clone()`: that would copy every row once per row.
        let row_env =
            Envelope { id: env.id.clone(), at: env.at, origin: env.origin, actor: env.actor.clone(), cmd: row.clone() };
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

#[cfg(test)]
mod tests;
