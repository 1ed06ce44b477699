//! Helpers shared by the domain's tests: a state with a log ([`Db`]), envelopes, and fields for
//! every kind of record. Each area's `tests.rs` starts with `use crate::testing::*;`.

#![allow(clippy::unwrap_used, clippy::expect_used, unused_imports)]

pub(crate) use crate::apply::{MAX_QUANTITY, MAX_TEXT, validate};
pub(crate) use crate::codec::{self, DecodeError};
pub(crate) use crate::command::UserFields;
pub(crate) use crate::command::{
    ArticleFields, Command, Envelope, LineFields, OrderAction, OrderFields, OrganisationFields, Received,
    SupplierFields, UnitFields, Verdict,
};
pub(crate) use crate::ids::{ArticleId, CommandId, OrderId, SupplierId, TokenId, UnitId, UserId};
pub(crate) use crate::model::{Order, OrderStatus, Role};
pub(crate) use crate::rejection::{Kind, Problem, Rejection};
pub(crate) use crate::state::{Changes, Key, MemState, Overlay, Record, StateView, StateViewExt, Table};
pub(crate) use crate::{demo_data, gtin, units};
pub(crate) use std::collections::{BTreeSet, HashSet};
pub(crate) use time::OffsetDateTime;
pub(crate) use time::macros::{date, datetime};

pub(crate) const AT: OffsetDateTime = datetime!(2026-11-23 10:00 UTC);

pub(crate) fn env(id: &str, cmd: Command) -> Envelope {
    Envelope { id: CommandId::new(id), at: AT, origin: 1, actor: None, cmd }
}

/// A state with a log: applies envelopes the way the state machine does, one log index each.
#[derive(Default)]
pub(crate) struct Db {
    pub(crate) state: MemState,
    pub(crate) index: u64,
    /// Makes the command ids of `cmd` unique.
    pub(crate) seq: u64,
}

impl Db {
    /// Applies `env` at the next log index, writes its changes and returns the verdict.
    pub(crate) fn run(&mut self, env: &Envelope) -> Verdict {
        self.run_changes(env).0
    }

    pub(crate) fn run_changes(&mut self, env: &Envelope) -> (Verdict, Changes) {
        self.index += 1;
        let (verdict, changes) = crate::apply(&self.state, env, self.index).unwrap();
        self.state.write(changes.clone());
        (verdict, changes)
    }

    /// Runs `cmd` under a fresh command id.
    pub(crate) fn cmd(&mut self, cmd: Command) -> Verdict {
        self.seq += 1;
        self.run(&env(&format!("t-{}", self.seq), cmd))
    }

    /// Runs `cmd` and panics unless it was applied.
    pub(crate) fn ok(&mut self, cmd: Command) -> u64 {
        match self.cmd(cmd.clone()) {
            Verdict::Applied { version, .. } => version,
            v => panic!("{cmd:?} not applied: {v:?}"),
        }
    }

    /// Runs `cmd` as `actor` at `at` under a fresh command id and [`describe`]s the verdict.
    pub(crate) fn says_as(&mut self, actor: Option<&str>, at: OffsetDateTime, cmd: Command) -> String {
        self.seq += 1;
        let env = Envelope {
            id: CommandId::new(format!("t-{}", self.seq)),
            at,
            origin: 1,
            actor: actor.map(Into::into),
            cmd,
        };
        describe(&self.run(&env))
    }

    /// [`Db::says_as`] for the cluster itself (no actor) at [`AT`].
    pub(crate) fn says(&mut self, cmd: Command) -> String {
        self.says_as(None, AT, cmd)
    }

    pub(crate) fn order(&self, id: &str) -> Order {
        self.state.order(OrderId::new(id)).unwrap().expect("order exists")
    }

    pub(crate) fn act(&mut self, id: &str, action: OrderAction) -> Verdict {
        self.cmd(transition(id, action))
    }
}

/// A short text for a verdict: "applied", or the rejection code followed by field and problem
/// when there are any, e.g. "article.invalid gtin check_digit".
pub(crate) fn describe(v: &Verdict) -> String {
    match v {
        Verdict::Applied { .. } => "applied".into(),
        Verdict::Nothing => "nothing".into(),
        Verdict::Rejected { rejection } => {
            let mut s = rejection.code();
            if let Some(f) = rejection.field() {
                s = format!("{s} {f}");
            }
            if let Rejection::Invalid { problem, .. } = rejection {
                s = format!("{s} {problem}");
            }
            s
        }
    }
}

pub(crate) fn supplier(id: &str) -> SupplierFields {
    SupplierFields {
        id: SupplierId::new(id),
        name: "Testleverantören AB".into(),
        org_number: Some("556677-8899".into()),
        gln: Some(gtin::with_check_digit("735000000001")),
        email: Some("order@test.example".into()),
        phone: Some("08-465 004 00".into()),
        country: Some("SE".into()),
        address: vec!["Box 1".into(), "111 11 Stockholm".into()],
        withdrawn: false,
    }
}

pub(crate) fn organisation() -> OrganisationFields {
    OrganisationFields {
        name: "Region Testlanda".into(),
        org_number: Some("232100-0016".into()),
        gln: Some(gtin::with_check_digit("735000900000")),
        country: "SE".into(),
        currency: "SEK".into(),
        address: vec!["Box 1".into(), "111 11 Stockholm".into()],
        contact_name: Some("Inköp jour".into()),
        phone: Some("08-465 004 02".into()),
        email: Some("inkop@test.example".into()),
    }
}

pub(crate) fn unit(id: &str) -> UnitFields {
    UnitFields {
        id: UnitId::new(id),
        name: "Avdelning 12 kirurgi".into(),
        site: "Testsjukhuset".into(),
        cost_centre: Some("KS-4110".into()),
        delivery_address: vec!["Godsmottagning hus 3".into(), "Avd 12, plan 4".into()],
        contact_name: Some("Förrådsansvarig".into()),
        phone: Some("08-465 004 01".into()),
        withdrawn: false,
    }
}

pub(crate) fn article(id: &str, supplier: &str) -> ArticleFields {
    ArticleFields {
        id: ArticleId::new(id),
        article_number: format!("T-{id}"),
        gtin: Some(gtin::with_check_digit("735000012345")),
        name: "Undersökningshandske nitril, M".into(),
        unit: "BX".into(),
        pack_size: 100,
        supplier_id: SupplierId::new(supplier),
        category: "Handskar".into(),
        price_cents: Some(6450),
        withdrawn: false,
    }
}

pub(crate) fn order(id: &str, lines: &[(&str, u32)]) -> OrderFields {
    OrderFields {
        id: OrderId::new(id),
        unit_id: UnitId::new("u1"),
        lines: lines
            .iter()
            .map(|(a, q)| LineFields { article_id: ArticleId::new(*a), quantity: *q, note: None })
            .collect(),
        note: None,
        needed_by: None,
        urgent: false,
        submit: false,
        exercise: None,
        drill: false,
    }
}

pub(crate) fn transition(id: &str, action: OrderAction) -> Command {
    Command::Transition { order_id: OrderId::new(id), expected_version: None, action }
}

pub(crate) fn receive(lines: &[(u32, u32)]) -> OrderAction {
    OrderAction::Receive {
        lines: lines.iter().map(|(line_no, quantity)| Received { line_no: *line_no, quantity: *quantity }).collect(),
    }
}

pub(crate) fn reject() -> OrderAction {
    OrderAction::Reject { reason: "Fel kostnadsställe".into() }
}

pub(crate) fn cancel() -> OrderAction {
    OrderAction::Cancel { reason: "Beställd av misstag".into() }
}

/// Supplier "s1", unit "u1", articles "a1" and "a2", and the withdrawn article "aw".
pub(crate) fn seeded() -> Db {
    let mut db = Db::default();
    db.ok(Command::CreateSupplier(supplier("s1")));
    db.ok(Command::CreateUnit(unit("u1")));
    db.ok(Command::CreateArticle(article("a1", "s1")));
    db.ok(Command::CreateArticle(article("a2", "s1")));
    db.ok(Command::CreateArticle(ArticleFields { withdrawn: true, ..article("aw", "s1") }));
    for (id, role) in [("anna.lind", Role::Purchaser), ("bo.ek", Role::Purchaser)] {
        db.ok(Command::CreateUser(user(id, role, &[])));
    }
    db
}

pub(crate) fn user(id: &str, role: Role, units: &[&str]) -> UserFields {
    UserFields {
        id: UserId::new(id),
        name: format!("Användare {id}"),
        role,
        units: units.iter().map(|u| UnitId::new(*u)).collect(),
        password_hash: None,
        expires_at: None,
    }
}

/// The actions that bring a new order (10 of a1, 4 of a2) to `status`.
pub(crate) fn path_to(status: OrderStatus) -> Vec<OrderAction> {
    use OrderAction::{Approve, Confirm, Send, Submit};
    use OrderStatus as S;
    match status {
        S::Draft => vec![],
        S::Submitted => vec![Submit],
        S::Approved => vec![Submit, Approve],
        S::Rejected => vec![Submit, reject()],
        S::Sent => vec![Submit, Approve, Send],
        S::Confirmed => vec![Submit, Approve, Send, Confirm],
        S::PartiallyDelivered => vec![Submit, Approve, Send, Confirm, receive(&[(1, 5)])],
        S::Delivered => vec![Submit, Approve, Send, Confirm, receive(&[(1, 10), (2, 4)])],
        S::Cancelled => vec![cancel()],
    }
}

/// Creates order `id` with lines 10 × a1 and 4 × a2 and drives it to `status`.
pub(crate) fn order_in(db: &mut Db, id: &str, status: OrderStatus) {
    db.ok(Command::CreateOrder(order(id, &[("a1", 10), ("a2", 4)])));
    for a in path_to(status) {
        assert_eq!(describe(&db.act(id, a.clone())), "applied", "{id}: {a:?}");
    }
    assert_eq!(db.order(id).status, status);
}

pub(crate) fn statuses(db: &Db) -> Vec<OrderStatus> {
    db.state
        .scan(Table::Order, None, usize::MAX)
        .unwrap()
        .into_iter()
        .filter_map(|r| match r {
            Record::Order(o) => Some(o.status),
            _ => None,
        })
        .collect()
}
