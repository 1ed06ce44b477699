//! Who may do what: a pure function of the acting user, the command and the state, checked by
//! `apply` on every node so that every node reaches the same verdict.
//!
//! Staff order for their own care units; purchasers review, approve and send every unit's
//! orders; admins do everything; ops run the cluster; every user manages their own password and
//! tokens.

use crate::command::{Command, OrderAction};
use crate::ids::UnitId;
use crate::model::{Order, Role, User};
use crate::rejection::{Kind, Rejection};
use crate::state::{StateError, StateView, StateViewExt};

fn forbidden(kind: Kind, reason: impl Into<String>) -> Rejection {
    Rejection::Forbidden { kind, why: reason.into() }
}

fn own_unit(user: &User, unit: &UnitId) -> bool {
    user.units.contains(unit)
}

/// Whether `user` may see `order` (and export or print it).
pub fn may_see_order(user: &User, order: &Order) -> bool {
    match user.role {
        Role::Admin | Role::Purchaser => true,
        Role::Staff => own_unit(user, &order.unit_id),
        // Ops see the drill orders they place, to check that none was lost.
        Role::Ops => order.drill,
        Role::Communicator => false,
    }
}

/// Whether `user` may see dispatch job `job`, its attempts and its files. A status notice names
/// subscribers' addresses: communicators and admins. A supplier job carries whole orders of any
/// unit: purchasers and admins, like the purchasing pages.
pub fn may_see_dispatch(user: &User, job: &crate::dispatch::DispatchJob) -> bool {
    match job.notice {
        Some(_) => matches!(user.role, Role::Communicator | Role::Admin),
        None => matches!(user.role, Role::Purchaser | Role::Admin),
    }
}

/// Whether `user` may read how suppliers receive orders: a webhook's address can carry a
/// supplier's credentials, so purchasers and admins only, like the purchasing pages.
pub fn may_see_channels(user: &User) -> bool {
    matches!(user.role, Role::Purchaser | Role::Admin)
}

/// Checks a command sent with nobody logged in, before it is proposed: only an unsubscribe, and
/// only with its subscriber's token, so a stranger's guesses never reach the log. (`apply`
/// judges it again on every node; this check keeps the log and the audit trail for real
/// requests.)
pub fn authorize_anonymous(view: &dyn StateView, cmd: &Command) -> Result<Result<(), Rejection>, StateError> {
    match cmd {
        Command::Unsubscribe { subscriber_id, token } => {
            let known = view.subscriber(subscriber_id)?.is_some_and(|s| same_text(&s.token, token));
            // Said as "not found", so a wrong token tells nothing about who subscribes.
            Ok(if known {
                Ok(())
            } else {
                Err(Rejection::NotFound { kind: Kind::Subscriber, id: subscriber_id.to_string() })
            })
        }
        // The one-time link in a page's message: its token is the permission (apply checks it).
        Command::AcknowledgePage { ack: crate::paging::Ack::Link { token, .. }, page_id } => {
            Ok(if view.page(page_id)?.is_some_and(|p| same_text(&p.token, token)) {
                Ok(())
            } else {
                Err(Rejection::NotFound { kind: Kind::Page, id: page_id.to_string() })
            })
        }
        other => Ok(Err(forbidden(other.kind(), "log in first"))),
    }
}

/// Compares two secrets in time that depends only on their lengths.
pub(crate) fn same_text(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether `user` may read the situation reports of `unit`: its own staff; the crisis staff
/// (communicators), ops, admins and purchasers (who buy what units need) for every unit.
pub fn may_see_reports(user: &User, unit: &UnitId) -> bool {
    match user.role {
        Role::Staff => own_unit(user, unit),
        _ => true,
    }
}

/// Whether `user` may file a situation report for `unit`: its own staff; the crisis staff
/// (communicators), ops and admins for any unit (a paper form entered afterwards).
pub fn may_file_report(user: &User, unit: &UnitId) -> bool {
    match user.role {
        Role::Staff => own_unit(user, unit),
        Role::Purchaser => false,
        Role::Communicator | Role::Ops | Role::Admin => true,
    }
}

/// Whether `user` may see the overview of every unit (the crisis staff's view).
pub fn may_see_all_reports(user: &User) -> bool {
    user.role != Role::Staff
}

/// Whether `user` may list orders at all (staff see only their units' orders).
pub fn may_list_orders(user: &User) -> bool {
    matches!(user.role, Role::Admin | Role::Purchaser | Role::Staff)
}

/// Checks that `user` may run `cmd`. Rejections name the command's kind.
pub fn authorize(view: &dyn StateView, user: &User, cmd: &Command) -> Result<Result<(), Rejection>, StateError> {
    use Role::*;
    let kind = cmd.kind();
    let role = user.role;
    // The node's own command, sent only after an IdP vouched for the person: nobody's, not
    // even an admin's (an admin makes accounts with CreateUser).
    if matches!(cmd, Command::FederatedLogin { .. }) {
        return Ok(Err(forbidden(kind, "a federated login is recorded only by a node")));
    }
    if role == Admin {
        return Ok(Ok(()));
    }
    let denied = |why: &str| Ok(Err(forbidden(kind, format!("a {} may not {why}", role.as_str()))));
    match cmd {
        Command::CreateSupplier(_)
        | Command::UpdateSupplier { .. }
        | Command::CreateUnit(_)
        | Command::UpdateUnit { .. }
        | Command::CreateArticle(_)
        | Command::UpdateArticle { .. } => denied("change units, suppliers or the catalog"),
        Command::SetOrganisation { .. } => denied("change the buyer organisation"),
        // A status notice's job is the communicators' to retry or cancel; an order's, the
        // purchasers'.
        Command::RecordManualSend { job_id, .. }
        | Command::RetryDispatch { job_id }
        | Command::CancelDispatch { job_id }
            if view.dispatch(job_id)?.is_some_and(|j| j.notice.is_some()) =>
        {
            if role == Communicator {
                Ok(Ok(()))
            } else {
                denied("retry or cancel status notices")
            }
        }
        Command::SetChannel { .. }
        | Command::Dispatch { .. }
        | Command::RecordManualSend { .. }
        | Command::RetryDispatch { .. }
        | Command::CancelDispatch { .. } => {
            if role == Purchaser {
                Ok(Ok(()))
            } else {
                denied("change how suppliers receive orders or send orders to them")
            }
        }
        Command::PutSystem { .. }
        | Command::PutBanner { .. }
        | Command::EndBanner { .. }
        | Command::SetSystemState { .. }
        | Command::OpenIncident(_)
        | Command::PostIncidentUpdate { .. }
        | Command::ScheduleMaintenance(_)
        | Command::AdvanceMaintenance { .. }
        | Command::CancelMaintenance { .. }
        | Command::SetReadiness(_)
        | Command::PutContact { .. }
        | Command::PutRota { .. }
        | Command::PutCard { .. }
        | Command::PutSubscriber { .. }
        | Command::RemoveSubscriber { .. } => {
            if role == Communicator {
                Ok(Ok(()))
            } else {
                denied("change the status board, the directory, the rotas or the action cards")
            }
        }
        Command::CreateUser(_)
        | Command::UpdateUser { .. }
        | Command::SetUserDisabled { .. }
        | Command::PutIdentityProvider { .. }
        | Command::FederatedLogin { .. } => denied("manage accounts or login methods"),
        // The crisis staff run exercises; ops run failover drills and attach their reports.
        Command::PutExercise { .. }
        | Command::EndExercise { .. }
        | Command::ClearExercise { .. }
        | Command::AttachDrill { .. } => {
            if matches!(role, Communicator | Ops) {
                Ok(Ok(()))
            } else {
                denied("run exercises")
            }
        }
        Command::RegisterNode { .. }
        | Command::RetireNode { .. }
        | Command::ChangeMember { .. }
        | Command::CreateInvitation(_)
        | Command::RevokeInvitation { .. }
        | Command::ForceNewCluster { .. }
        | Command::RecordDrill(_) => {
            if role == Ops {
                Ok(Ok(()))
            } else {
                denied("change the cluster")
            }
        }
        Command::AddSessionKey { .. } => denied("add session keys"),
        // Only a node that checked the new node's request proposes it, as the cluster's own.
        Command::JoinCluster { .. } => denied("join nodes to the cluster"),
        Command::ForgetCommands { .. } => denied("forget command replies"),
        // Only the leader records attempts and reminds leads, as the cluster's own command.
        Command::RecordAttempt { .. } | Command::RecordReceipt { .. } | Command::RemindLead { .. } => {
            denied("record delivery attempts")
        }
        // The link in every notice: its token is the permission.
        Command::Unsubscribe { .. } => Ok(Ok(())),
        // A unit's own staff report for it; the crisis staff (communicators), ops and admins
        // for any unit (entering a paper form afterwards, or for a unit without a computer).
        Command::FileReport { fields } => match role {
            _ if may_file_report(user, &fields.unit_id) => Ok(Ok(())),
            Staff => denied("report for a unit they do not belong to"),
            _ => denied("file situation reports"),
        },
        Command::SetReportForm { .. } | Command::StartReportCycle { .. } | Command::StopReportCycle { .. } => {
            if role == Communicator { Ok(Ok(())) } else { denied("change the report form or the reporting cycles") }
        }
        Command::RemindReport { .. } => denied("send report reminders"),
        // Anyone who can log in may page the on-call (a nurse at night needing the purchaser).
        Command::PageOnCall { .. } => Ok(Ok(())),
        Command::AcknowledgePage { ack: crate::paging::Ack::Link { .. }, .. } => Ok(Ok(())),
        Command::AcknowledgePage { .. } | Command::EscalatePage { .. } => {
            denied("answer a page for a phone or move it on")
        }
        Command::CancelPage { page_id, .. } => {
            let raised_it = view.page(page_id)?.is_some_and(|p| p.raised_by.as_deref() == Some(user.id.as_str()));
            if raised_it || matches!(role, Communicator | Ops) {
                Ok(Ok(()))
            } else {
                denied("stop a page someone else raised")
            }
        }
        // An import may do what each of its rows may do.
        Command::Import { rows } => {
            for row in rows {
                if let Err(r) = authorize(view, user, row)? {
                    return Ok(Err(r));
                }
            }
            Ok(Ok(()))
        }
        Command::RecordAccess { .. } => denied("write the access lines of the audit trail"),
        Command::LogoutEverywhere { user_id } => {
            if *user_id == user.id {
                Ok(Ok(()))
            } else {
                denied("end another user's sessions")
            }
        }
        Command::SetPassword { user_id, .. } => {
            if *user_id == user.id {
                Ok(Ok(()))
            } else {
                denied("change another user's password")
            }
        }
        Command::CreateToken { user_id, .. } => {
            if *user_id == user.id {
                Ok(Ok(()))
            } else {
                denied("make tokens for another user")
            }
        }
        Command::RevokeToken { token_id } => match view.token(token_id)? {
            Some(t) if t.user_id == user.id => Ok(Ok(())),
            // Unknown tokens are reported as not found by apply.
            None => Ok(Ok(())),
            Some(_) => denied("revoke another user's token"),
        },
        Command::CreateOrder(f) => match role {
            Purchaser => Ok(Ok(())),
            // Ops run failover drills, whose load is drafts that are cancelled at the end.
            Ops if f.drill => Ok(Ok(())),
            Staff if own_unit(user, &f.unit_id) => Ok(Ok(())),
            Staff => denied("order for a unit they do not belong to"),
            _ => denied("place orders"),
        },
        Command::UpdateOrder { fields, .. } => {
            let existing = view.order(&fields.id)?;
            match role {
                Purchaser => Ok(Ok(())),
                Staff if own_unit(user, &fields.unit_id) && existing.is_none_or(|o| own_unit(user, &o.unit_id)) => {
                    Ok(Ok(()))
                }
                Staff => denied("edit another unit's order"),
                _ => denied("edit orders"),
            }
        }
        Command::Transition { order_id, action, .. } => {
            let Some(order) = view.order(order_id)? else { return Ok(Ok(())) };
            let staff_may =
                matches!(action, OrderAction::Submit | OrderAction::Cancel { .. } | OrderAction::Receive { .. });
            match role {
                Purchaser => Ok(Ok(())),
                Ops if order.drill && matches!(action, OrderAction::Cancel { .. }) => Ok(Ok(())),
                Staff if staff_may && own_unit(user, &order.unit_id) => Ok(Ok(())),
                Staff if !own_unit(user, &order.unit_id) => denied("act on another unit's order"),
                Staff => denied(&format!("{} an order", action.name())),
                _ => denied("act on orders"),
            }
        }
    }
}
