//! Commands: what a client asks for, wrapped in the [`Envelope`] that the Raft log carries.
//!
//! The replicated encoding is versioned (see [`crate::codec`]); a change of shape here needs a
//! new codec version and an updated pinned test.

use crate::contacts::{ContactKind, Route, Shift};
use crate::ids::{
    ArticleId, CardId, CommandId, ContactId, IncidentId, MaintenanceId, NodeId, OrderId, RotaId, SupplierId, SystemId,
    TokenId, UnitId, UserId,
};
use crate::model::Role;
use crate::model::ymd_opt;
use crate::rejection::{Kind, Rejection};
use crate::status::{Impact, IncidentStage, ReadinessLevel, SystemState};
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

/// What the log carries: a command plus everything `apply` needs to be deterministic.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// Client-made; a command seen before returns its earlier verdict and changes nothing.
    pub id: CommandId,
    /// When the node that took the request received it (that node's clock).
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The node that took the request.
    pub origin: NodeId,
    /// The user who asked (checked against the replicated accounts at apply time), or `None`
    /// for the cluster's own bookkeeping and for bootstrap through the node's admin service.
    pub actor: Option<String>,
    pub cmd: Command,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Command {
    CreateSupplier(SupplierFields),
    UpdateSupplier {
        expected_version: u64,
        fields: SupplierFields,
    },
    CreateUnit(UnitFields),
    UpdateUnit {
        expected_version: u64,
        fields: UnitFields,
    },
    CreateArticle(ArticleFields),
    UpdateArticle {
        expected_version: u64,
        fields: ArticleFields,
    },
    CreateOrder(OrderFields),
    /// Replaces a draft's content.
    UpdateOrder {
        expected_version: u64,
        fields: OrderFields,
    },
    Transition {
        order_id: OrderId,
        expected_version: Option<u64>,
        action: OrderAction,
    },
    /// Records a node in the cluster's directory (done by the leader on membership changes).
    RegisterNode {
        id: NodeId,
        http: String,
        grpc: String,
    },
    /// Marks a node removed; its id can never be used again.
    RetireNode {
        id: NodeId,
    },
    /// A member change an ops person asked for (promote, remove, hand leadership over): recorded,
    /// with who asked, in the node's history and the audit trail *before* the node carries it
    /// out, and only carried out once applied (so `apply` decides who may).
    ChangeMember {
        node: NodeId,
        change: crate::nodes::MemberChange,
    },
    /// Makes a one-time invitation for a new node (ops staff and admins): see
    /// [`crate::nodes::invitations`].
    CreateInvitation(crate::nodes::invitations::InvitationFields),
    /// A new node presents its invitation's secret (the cluster's own command, proposed by the
    /// node that signs its certificate): the invitation becomes used and the node enters the
    /// directory with its addresses. The certificate is signed only after this is applied.
    JoinCluster {
        node: NodeId,
        secret_sha256: String,
        http: String,
        grpc: String,
        cert_sha256: String,
    },
    /// Revokes an invitation: an open one can no longer be used; a used one's node certificate
    /// is refused by every node from then on.
    RevokeInvitation {
        node: NodeId,
    },
    /// Break-glass recovery: `survivor`, without a majority for good, became the only voter of
    /// a new cluster with everything it held, and the old members `retired` can never come back
    /// under their ids. Never proposed: the survivor applies it to its own stopped database
    /// (`raft_store::force_new_cluster`), either for two different ops or admin accounts who
    /// confirmed it on `/ops` (`confirmed_by`, the second one the actor) or for an operator at
    /// the node's shell (`beredd recover --force-new-cluster`, no actor).
    ForceNewCluster {
        survivor: NodeId,
        retired: Vec<NodeId>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        confirmed_by: Vec<String>,
    },
    /// Forgets the replies kept for these command ids (their [`crate::state::CommandRecord`]s),
    /// each only if the entry that carried it is below `below_index`. The leader proposes it for
    /// commands older than the retention window, which no client's retry still needs (see
    /// [`crate::nodes::expired_commands`]).
    ForgetCommands {
        below_index: u64,
        ids: Vec<CommandId>,
    },
    CreateUser(UserFields),
    UpdateUser {
        expected_version: u64,
        fields: UserFields,
    },
    /// Replaces a user's password hash (made by the node; the domain never sees passwords).
    SetPassword {
        user_id: UserId,
        password_hash: String,
    },
    SetUserDisabled {
        user_id: UserId,
        disabled: bool,
    },
    CreateToken {
        token_id: TokenId,
        user_id: UserId,
        secret_sha256: String,
        label: String,
        /// When the token stops working (the node sets it from its configured default and
        /// maximum); `None` only for commands logged before tokens expired.
        #[serde(default, with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
        expires_at: Option<OffsetDateTime>,
    },
    RevokeToken {
        token_id: TokenId,
    },
    /// Voids every session of the user begun before this command.
    LogoutEverywhere {
        user_id: UserId,
    },
    /// A login or logout a node saw, put into the audit trail (the cluster's own command: no
    /// user may send it). Changes no record.
    RecordAccess {
        /// `login` or `logout`.
        event: String,
        user: String,
        /// `password`, `certificate` or `session`.
        via: String,
        /// The client's address, when known.
        #[serde(default)]
        client: String,
    },
    /// Adds a session signing key (the newest signs from now on).
    AddSessionKey {
        key_id: crate::ids::SessionKeyId,
        secret: String,
    },
    /// Sets the buyer organisation: `expected_version` is `None` the first time.
    SetOrganisation {
        expected_version: Option<u64>,
        fields: OrganisationFields,
    },
    /// Creates or updates units, suppliers, articles or directory entries, all or none: the
    /// first row that would be refused refuses the whole import (see [`Rejection::InRow`]).
    Import {
        rows: Vec<Command>,
    },
    /// Adds a system to the status board (`expected_version` `None`) or edits one.
    PutSystem {
        expected_version: Option<u64>,
        fields: SystemFields,
    },
    /// Sets a system's traffic light (no version check: the latest word counts).
    SetSystemState {
        system_id: SystemId,
        state: SystemState,
        #[serde(default)]
        note: String,
    },
    OpenIncident(IncidentFields),
    /// Adds an update to an open incident's timeline; stage `resolved` closes it.
    PostIncidentUpdate {
        incident_id: IncidentId,
        update: IncidentUpdateFields,
    },
    ScheduleMaintenance(MaintenanceFields),
    /// Starts the next stage, or completes the work after the last one.
    AdvanceMaintenance {
        maintenance_id: MaintenanceId,
        /// The version the person advancing saw, so a double click cannot skip a stage.
        expected_version: u64,
        #[serde(default)]
        note: String,
    },
    CancelMaintenance {
        maintenance_id: MaintenanceId,
        reason: String,
    },
    SetReadiness(ReadinessFields),
    /// Adds a directory entry (`expected_version` `None`) or edits one.
    PutContact {
        expected_version: Option<u64>,
        fields: ContactFields,
    },
    /// Adds an on-call rota or replaces its schedule and overrides.
    PutRota {
        expected_version: Option<u64>,
        fields: RotaFields,
    },
    /// Adds an action card or publishes a new version of it (the old one goes to its history).
    PutCard {
        expected_version: Option<u64>,
        fields: CardFields,
    },
    /// Keeps a failover drill's report (ops and admins); a report is never changed.
    RecordDrill(crate::drills::DrillReport),
    /// Sets how a supplier receives orders (purchasers and admins); `expected_version` is
    /// `None` the first time.
    SetChannel {
        supplier_id: SupplierId,
        expected_version: Option<u64>,
        channel: crate::channels::Channel,
    },
    /// Sends approved orders to a supplier through its channel (purchasers and admins): a job
    /// the leader delivers.
    Dispatch {
        job_id: crate::ids::DispatchId,
        supplier_id: SupplierId,
        order_ids: Vec<OrderId>,
    },
    /// The leader's record of one delivery attempt (the cluster's own command).
    RecordAttempt {
        job_id: crate::ids::DispatchId,
        node: NodeId,
        ok: bool,
        detail: String,
        /// The references the route gave for what it took (`route:id`, e.g. an SMSC's message
        /// id), which its delivery receipts name later.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        refs: Vec<String>,
    },
    /// A delivery receipt for part of a sent job, from the route that took it (the cluster's
    /// own command).
    RecordReceipt {
        job_id: crate::ids::DispatchId,
        /// One of the job's attempt references.
        reference: String,
        /// The receipt's state as the network says it (`DELIVRD`, `UNDELIV`, `EXPIRED`…).
        state: String,
    },
    /// A person sent a job's orders by hand (print, phone, fax) and says how.
    RecordManualSend {
        job_id: crate::ids::DispatchId,
        how: String,
    },
    RetryDispatch {
        job_id: crate::ids::DispatchId,
    },
    CancelDispatch {
        job_id: crate::ids::DispatchId,
    },
    /// Adds or changes a status subscriber (communicators and admins). `token` is the secret of
    /// the unsubscribe link, made by the node that took the request; an edit keeps the old one.
    PutSubscriber {
        expected_version: Option<u64>,
        fields: crate::subscribers::SubscriberFields,
        token: String,
    },
    /// The one-click unsubscribe link: anyone holding the subscriber's token.
    Unsubscribe {
        subscriber_id: crate::ids::SubscriberId,
        token: String,
    },
    RemoveSubscriber {
        subscriber_id: crate::ids::SubscriberId,
    },
    /// Adds a trusted identity provider (`expected_version` `None`) or edits one (admins).
    /// `pseudonym_key` (64 hex digits, made by the node) is kept only when the IdP is added.
    PutIdentityProvider {
        expected_version: Option<u64>,
        fields: crate::federation::IdpFields,
        pseudonym_key: String,
    },
    /// Makes or renews the account of a person an IdP vouched for, mapped by its rules on the
    /// node that took the login (the node's own command: no actor).
    FederatedLogin {
        idp_id: crate::ids::IdpId,
        user_id: UserId,
        name: String,
        role: crate::model::Role,
        #[serde(default)]
        units: Vec<UnitId>,
        /// Made on a node cut off from the majority and sent on from its outbox: the person had
        /// a provisional session there meanwhile (said in the audit line).
        #[serde(default)]
        provisional: bool,
        /// The proof of this login may be used once (a SAML assertion): refused if used before.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        once: Option<crate::federation::OnceUse>,
    },
    /// The leader's reminder to an incident's lead that the promised update (due `due`) is late
    /// (the cluster's own command).
    RemindLead {
        incident_id: IncidentId,
        #[serde(with = "time::serde::rfc3339")]
        due: time::OffsetDateTime,
    },
    /// Pages whoever is on call in a rota now (see [`crate::paging`]). `token` is the secret of
    /// the acknowledgement links, made by the node that took the request.
    PageOnCall {
        fields: crate::paging::PageFields,
        token: String,
    },
    /// The leader moves an open page to its next step when the wait for step `step` is over
    /// (the cluster's own command).
    EscalatePage {
        page_id: crate::ids::PageId,
        step: usize,
    },
    /// An answer to a page: its one-time link, or a reply from a paged phone.
    AcknowledgePage {
        page_id: crate::ids::PageId,
        ack: crate::paging::Ack,
    },
    /// Stops an open page (whoever raised it, communicators, ops and admins).
    CancelPage {
        page_id: crate::ids::PageId,
        #[serde(default)]
        reason: String,
    },
    /// Sets a banner by hand (`expected_version` `None`) or changes one (see [`crate::banners`]).
    PutBanner {
        expected_version: Option<u64>,
        fields: crate::banners::BannerFields,
    },
    /// Ends a banner now (it is kept, with its window ended).
    EndBanner {
        banner_id: crate::ids::BannerId,
    },
    /// A unit's situation report (see [`crate::reports`]).
    FileReport {
        fields: crate::reports::ReportFields,
    },
    /// The organisation's report form.
    SetReportForm {
        fields: Vec<crate::reports::ReportField>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expected_version: Option<u64>,
    },
    /// Starts (or replaces) the reporting cycle of a site, or of every site.
    StartReportCycle {
        fields: crate::reports::CycleFields,
    },
    /// Ends the reporting cycle of a site (`None`: the one for every site).
    StopReportCycle {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        site: Option<String>,
    },
    /// The leader's reminder to a unit whose report due at `due` has not come (the cluster's
    /// own command).
    RemindReport {
        unit_id: UnitId,
        #[serde(with = "time::serde::rfc3339")]
        due: time::OffsetDateTime,
    },
    /// Plans an exercise (`expected_version` `None`) or changes its name or window (see
    /// [`crate::exercises`]).
    PutExercise {
        expected_version: Option<u64>,
        fields: crate::exercises::ExerciseFields,
    },
    /// Ends an exercise now (nothing more can be made in it).
    EndExercise {
        exercise_id: crate::ids::ExerciseId,
    },
    /// Deletes every record made in an exercise that is over; real records are never touched.
    ClearExercise {
        exercise_id: crate::ids::ExerciseId,
    },
    /// Attaches a failover drill's report to an exercise.
    AttachDrill {
        exercise_id: crate::ids::ExerciseId,
        drill_id: crate::ids::DrillId,
    },
}

impl Command {
    /// The command's stable name, as in its JSON `type`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::CreateSupplier(_) => "create_supplier",
            Self::UpdateSupplier { .. } => "update_supplier",
            Self::CreateUnit(_) => "create_unit",
            Self::UpdateUnit { .. } => "update_unit",
            Self::CreateArticle(_) => "create_article",
            Self::UpdateArticle { .. } => "update_article",
            Self::CreateOrder(_) => "create_order",
            Self::UpdateOrder { .. } => "update_order",
            Self::Transition { .. } => "transition",
            Self::RegisterNode { .. } => "register_node",
            Self::RetireNode { .. } => "retire_node",
            Self::ChangeMember { .. } => "change_member",
            Self::CreateInvitation(_) => "create_invitation",
            Self::JoinCluster { .. } => "join_cluster",
            Self::ForceNewCluster { .. } => "force_new_cluster",
            Self::RevokeInvitation { .. } => "revoke_invitation",
            Self::ForgetCommands { .. } => "forget_commands",
            Self::CreateUser(_) => "create_user",
            Self::UpdateUser { .. } => "update_user",
            Self::SetPassword { .. } => "set_password",
            Self::SetUserDisabled { .. } => "set_user_disabled",
            Self::CreateToken { .. } => "create_token",
            Self::RevokeToken { .. } => "revoke_token",
            Self::LogoutEverywhere { .. } => "logout_everywhere",
            Self::RecordAccess { .. } => "record_access",
            Self::AddSessionKey { .. } => "add_session_key",
            Self::SetOrganisation { .. } => "set_organisation",
            Self::Import { .. } => "import",
            Self::PutSystem { .. } => "put_system",
            Self::SetSystemState { .. } => "set_system_state",
            Self::OpenIncident(_) => "open_incident",
            Self::PostIncidentUpdate { .. } => "post_incident_update",
            Self::ScheduleMaintenance(_) => "schedule_maintenance",
            Self::AdvanceMaintenance { .. } => "advance_maintenance",
            Self::CancelMaintenance { .. } => "cancel_maintenance",
            Self::SetReadiness(_) => "set_readiness",
            Self::PutContact { .. } => "put_contact",
            Self::PutRota { .. } => "put_rota",
            Self::PutCard { .. } => "put_card",
            Self::RecordDrill(_) => "record_drill",
            Self::SetChannel { .. } => "set_channel",
            Self::Dispatch { .. } => "dispatch",
            Self::RecordAttempt { .. } => "record_attempt",
            Self::RecordReceipt { .. } => "record_receipt",
            Self::RecordManualSend { .. } => "record_manual_send",
            Self::RetryDispatch { .. } => "retry_dispatch",
            Self::CancelDispatch { .. } => "cancel_dispatch",
            Self::PutSubscriber { .. } => "put_subscriber",
            Self::Unsubscribe { .. } => "unsubscribe",
            Self::RemoveSubscriber { .. } => "remove_subscriber",
            Self::RemindLead { .. } => "remind_lead",
            Self::PutIdentityProvider { .. } => "put_identity_provider",
            Self::FederatedLogin { .. } => "federated_login",
            Self::PageOnCall { .. } => "page_on_call",
            Self::EscalatePage { .. } => "escalate_page",
            Self::AcknowledgePage { .. } => "acknowledge_page",
            Self::CancelPage { .. } => "cancel_page",
            Self::PutBanner { .. } => "put_banner",
            Self::EndBanner { .. } => "end_banner",
            Self::FileReport { .. } => "file_report",
            Self::SetReportForm { .. } => "set_report_form",
            Self::StartReportCycle { .. } => "start_report_cycle",
            Self::StopReportCycle { .. } => "stop_report_cycle",
            Self::RemindReport { .. } => "remind_report",
            Self::PutExercise { .. } => "put_exercise",
            Self::EndExercise { .. } => "end_exercise",
            Self::ClearExercise { .. } => "clear_exercise",
            Self::AttachDrill { .. } => "attach_drill",
        }
    }

    /// `kind/id` of the record the command is about (for the audit trail).
    pub fn target(&self) -> String {
        let id = match self {
            Self::Import { rows } => return format!("import/{}", rows.len()),
            Self::CreateSupplier(f) | Self::UpdateSupplier { fields: f, .. } => f.id.to_string(),
            Self::CreateUnit(f) | Self::UpdateUnit { fields: f, .. } => f.id.to_string(),
            Self::CreateArticle(f) | Self::UpdateArticle { fields: f, .. } => f.id.to_string(),
            Self::CreateOrder(f) | Self::UpdateOrder { fields: f, .. } => f.id.to_string(),
            Self::Transition { order_id, action, .. } => format!("{order_id}:{}", action.name()),
            Self::RegisterNode { id, .. } | Self::RetireNode { id } => id.to_string(),
            Self::ChangeMember { node, change } => format!("{node}:{}", change.as_str()),
            Self::CreateInvitation(f) => f.node.to_string(),
            Self::JoinCluster { node, .. } | Self::RevokeInvitation { node } => node.to_string(),
            Self::ForceNewCluster { survivor, .. } => survivor.to_string(),
            Self::ForgetCommands { below_index, .. } => format!("below-{below_index}"),
            Self::CreateUser(f) | Self::UpdateUser { fields: f, .. } => f.id.to_string(),
            Self::SetPassword { user_id, .. } | Self::SetUserDisabled { user_id, .. } => user_id.to_string(),
            Self::CreateToken { token_id, .. } | Self::RevokeToken { token_id } => token_id.to_string(),
            Self::LogoutEverywhere { user_id } => user_id.to_string(),
            Self::RecordAccess { event, user, via, client } if client.is_empty() => format!("{event} {user} ({via})"),
            Self::RecordAccess { event, user, via, client } => format!("{event} {user} ({via}, {client})"),
            Self::AddSessionKey { key_id, .. } => key_id.to_string(),
            Self::SetOrganisation { .. } => crate::model::ORGANISATION_ID.to_owned(),
            Self::PutSystem { fields, .. } => fields.id.to_string(),
            Self::SetSystemState { system_id, .. } => system_id.to_string(),
            Self::OpenIncident(f) => f.id.to_string(),
            Self::PostIncidentUpdate { incident_id, .. } => incident_id.to_string(),
            Self::ScheduleMaintenance(f) => f.id.to_string(),
            Self::AdvanceMaintenance { maintenance_id, .. } | Self::CancelMaintenance { maintenance_id, .. } => {
                maintenance_id.to_string()
            }
            Self::SetReadiness(f) => crate::status::site_key(&f.site).to_string(),
            Self::PutContact { fields, .. } => fields.id.to_string(),
            Self::PutRota { fields, .. } => fields.id.to_string(),
            Self::PutCard { fields, .. } => fields.id.to_string(),
            Self::RecordDrill(r) => r.id.to_string(),
            Self::SetChannel { supplier_id, .. } => supplier_id.to_string(),
            Self::Dispatch { job_id, .. }
            | Self::RecordAttempt { job_id, .. }
            | Self::RecordReceipt { job_id, .. }
            | Self::RecordManualSend { job_id, .. }
            | Self::RetryDispatch { job_id }
            | Self::CancelDispatch { job_id } => job_id.to_string(),
            Self::PutSubscriber { fields, .. } => fields.id.to_string(),
            Self::Unsubscribe { subscriber_id, .. } | Self::RemoveSubscriber { subscriber_id } => {
                subscriber_id.to_string()
            }
            Self::RemindLead { incident_id, .. } => incident_id.to_string(),
            Self::PutIdentityProvider { fields, .. } => fields.id.to_string(),
            // The account it makes or renews (audit line `user/<idp>.<person>`).
            Self::FederatedLogin { user_id, provisional: false, .. } => user_id.to_string(),
            Self::FederatedLogin { user_id, provisional: true, .. } => format!("{user_id} (provisional)"),
            Self::PageOnCall { fields, .. } => fields.id.to_string(),
            Self::EscalatePage { page_id, step } => format!("{page_id}:{step}"),
            Self::AcknowledgePage { page_id, .. } | Self::CancelPage { page_id, .. } => page_id.to_string(),
            Self::PutBanner { fields, .. } => fields.id.to_string(),
            Self::EndBanner { banner_id } => banner_id.to_string(),
            Self::FileReport { fields } => fields.unit_id.to_string(),
            Self::SetReportForm { .. } => "form".into(),
            Self::StartReportCycle { fields } => format!("cycle:{}", crate::reports::cycle_key(fields.site.as_deref())),
            Self::StopReportCycle { site } => format!("cycle:{}", crate::reports::cycle_key(site.as_deref())),
            Self::RemindReport { unit_id, .. } => unit_id.to_string(),
            Self::PutExercise { fields, .. } => fields.id.to_string(),
            Self::EndExercise { exercise_id } | Self::ClearExercise { exercise_id } => exercise_id.to_string(),
            Self::AttachDrill { exercise_id, drill_id } => format!("{exercise_id}:{drill_id}"),
        };
        format!("{}/{id}", self.kind())
    }

    /// Whether a node that cannot reach a leader may keep this command in its outbox and send
    /// it on later: placing or editing an order (an edit carries the version it was based on, so
    /// a later change by someone else becomes a conflict, not a loss), marking a delivery
    /// received, marking an order sent (a cut-off hospital phoned or faxed it) and an incident
    /// update, and the account a federated login made on a cut-off node (its person had a
    /// provisional session there meanwhile). Everything else must wait for the majority, sending through the dispatch queue
    /// too: a job queued here would be delivered late, after someone sent it by hand.
    pub fn may_queue(&self) -> bool {
        matches!(
            self,
            Self::CreateOrder(_)
                | Self::UpdateOrder { .. }
                | Self::Transition { action: OrderAction::Receive { .. } | OrderAction::Send, .. }
                | Self::PostIncidentUpdate { .. }
                | Self::FederatedLogin { .. }
                | Self::FileReport { .. }
        )
    }

    /// The kind of record this command is about, for error codes and logs.
    pub fn kind(&self) -> Kind {
        match self {
            Self::CreateSupplier(_) | Self::UpdateSupplier { .. } => Kind::Supplier,
            Self::CreateUnit(_) | Self::UpdateUnit { .. } => Kind::Unit,
            Self::CreateArticle(_) | Self::UpdateArticle { .. } => Kind::Article,
            Self::CreateOrder(_) | Self::UpdateOrder { .. } | Self::Transition { .. } => Kind::Order,
            Self::RegisterNode { .. }
            | Self::RetireNode { .. }
            | Self::ChangeMember { .. }
            | Self::ForceNewCluster { .. }
            | Self::ForgetCommands { .. } => Kind::Node,
            Self::CreateInvitation(_) | Self::JoinCluster { .. } | Self::RevokeInvitation { .. } => Kind::Invitation,
            Self::CreateUser(_) | Self::UpdateUser { .. } | Self::SetPassword { .. } | Self::SetUserDisabled { .. } => {
                Kind::User
            }
            Self::CreateToken { .. } | Self::RevokeToken { .. } | Self::AddSessionKey { .. } => Kind::Token,
            Self::LogoutEverywhere { .. } | Self::RecordAccess { .. } => Kind::User,
            Self::SetOrganisation { .. } => Kind::Organisation,
            Self::Import { rows } => rows.first().map_or(Kind::Article, Command::kind),
            Self::PutSystem { .. } | Self::SetSystemState { .. } => Kind::System,
            Self::OpenIncident(_) | Self::PostIncidentUpdate { .. } => Kind::Incident,
            Self::ScheduleMaintenance(_) | Self::AdvanceMaintenance { .. } | Self::CancelMaintenance { .. } => {
                Kind::Maintenance
            }
            Self::SetReadiness(_) => Kind::Readiness,
            Self::PutContact { .. } => Kind::Contact,
            Self::PutRota { .. } => Kind::Rota,
            Self::PutCard { .. } => Kind::Card,
            Self::RecordDrill(_) => Kind::Drill,
            Self::SetChannel { .. } => Kind::Channel,
            Self::Dispatch { .. }
            | Self::RecordAttempt { .. }
            | Self::RecordReceipt { .. }
            | Self::RecordManualSend { .. }
            | Self::RetryDispatch { .. }
            | Self::CancelDispatch { .. } => Kind::Dispatch,
            Self::PutSubscriber { .. } | Self::Unsubscribe { .. } | Self::RemoveSubscriber { .. } => Kind::Subscriber,
            Self::RemindLead { .. } => Kind::Incident,
            Self::PutIdentityProvider { .. } => Kind::Idp,
            Self::FederatedLogin { .. } => Kind::User,
            Self::PageOnCall { .. }
            | Self::EscalatePage { .. }
            | Self::AcknowledgePage { .. }
            | Self::CancelPage { .. } => Kind::Page,
            Self::PutBanner { .. } | Self::EndBanner { .. } => Kind::Banner,
            Self::FileReport { .. }
            | Self::SetReportForm { .. }
            | Self::StartReportCycle { .. }
            | Self::StopReportCycle { .. }
            | Self::RemindReport { .. } => Kind::Report,
            Self::PutExercise { .. }
            | Self::EndExercise { .. }
            | Self::ClearExercise { .. }
            | Self::AttachDrill { .. } => Kind::Exercise,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupplierFields {
    pub id: SupplierId,
    pub name: String,
    #[serde(default)]
    pub org_number: Option<String>,
    #[serde(default)]
    pub gln: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub country: Option<String>,
    #[serde(default)]
    pub address: Vec<String>,
    #[serde(default)]
    pub withdrawn: bool,
}

impl SupplierFields {
    /// A supplier with only an id and a name (the rest empty), e.g. for tests and imports.
    pub fn named(id: impl Into<SupplierId>, name: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            org_number: None,
            gln: None,
            email: None,
            phone: None,
            country: None,
            address: vec![],
            withdrawn: false,
        }
    }
}

/// The buyer organisation's fields (see [`crate::model::Organisation`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganisationFields {
    pub name: String,
    #[serde(default)]
    pub org_number: Option<String>,
    #[serde(default)]
    pub gln: Option<String>,
    pub country: String,
    pub currency: String,
    #[serde(default)]
    pub address: Vec<String>,
    #[serde(default)]
    pub contact_name: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitFields {
    pub id: UnitId,
    pub name: String,
    pub site: String,
    #[serde(default)]
    pub cost_centre: Option<String>,
    #[serde(default)]
    pub delivery_address: Vec<String>,
    #[serde(default)]
    pub contact_name: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub withdrawn: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArticleFields {
    pub id: ArticleId,
    pub article_number: String,
    #[serde(default)]
    pub gtin: Option<String>,
    pub name: String,
    pub unit: String,
    pub pack_size: u32,
    pub supplier_id: SupplierId,
    pub category: String,
    #[serde(default)]
    pub price_cents: Option<i64>,
    #[serde(default)]
    pub withdrawn: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserFields {
    pub id: UserId,
    pub name: String,
    pub role: Role,
    #[serde(default)]
    pub units: Vec<UnitId>,
    /// Argon2id PHC string made by the node from the password it was given.
    #[serde(default)]
    pub password_hash: Option<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires_at: Option<time::OffsetDateTime>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineFields {
    pub article_id: ArticleId,
    pub quantity: u32,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderFields {
    pub id: OrderId,
    pub unit_id: UnitId,
    pub lines: Vec<LineFields>,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default, with = "ymd_opt")]
    pub needed_by: Option<Date>,
    #[serde(default)]
    pub urgent: bool,
    /// Create as submitted rather than as a draft.
    #[serde(default)]
    pub submit: bool,
    /// The exercise it is made in (an edit keeps the order's own; see [`crate::exercises`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exercise: Option<crate::ids::ExerciseId>,
    /// A failover drill's load: a draft that is never submitted and is cancelled when the drill
    /// ends, which ops staff (who place no real orders) may make and cancel. An edit keeps the
    /// order's own.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub drill: bool,
}

/// A step in an order's life.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum OrderAction {
    Submit,
    Approve,
    Reject {
        reason: String,
    },
    Send,
    Confirm,
    /// Quantities received now, per line number; adds to what was received before.
    Receive {
        lines: Vec<Received>,
    },
    Cancel {
        reason: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Received {
    pub line_no: u32,
    pub quantity: u32,
}

impl OrderAction {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Submit => "submit",
            Self::Approve => "approve",
            Self::Reject { .. } => "reject",
            Self::Send => "send",
            Self::Confirm => "confirm",
            Self::Receive { .. } => "receive",
            Self::Cancel { .. } => "cancel",
        }
    }
}

/// The result of applying one command, returned to the caller through the Raft response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// The record now has this version.
    Applied {
        kind: Kind,
        id: String,
        version: u64,
    },
    Rejected {
        rejection: Rejection,
    },
    /// Log entries that carry no command (blank and membership entries).
    Nothing,
}

/// A status-board system's fields (see [`crate::status::System`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemFields {
    pub id: SystemId,
    pub name: String,
    /// Empty for systems every site shares.
    #[serde(default)]
    pub site: String,
    #[serde(default)]
    pub description: Option<String>,
    /// The light when the system is added; later changes go through `SetSystemState`.
    #[serde(default = "operational")]
    pub state: SystemState,
}

fn operational() -> SystemState {
    SystemState::Operational
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentFields {
    pub id: IncidentId,
    pub title: String,
    pub impact: Impact,
    #[serde(default)]
    pub systems: Vec<SystemId>,
    /// The first update: what is known.
    pub body: String,
    #[serde(default = "investigating")]
    pub stage: IncidentStage,
    #[serde(default)]
    pub lead: Option<String>,
    /// Required while the incident is open: when the next update is promised.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub next_update_due: Option<OffsetDateTime>,
    /// The exercise it is made in (see [`crate::exercises`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exercise: Option<crate::ids::ExerciseId>,
}

fn investigating() -> IncidentStage {
    IncidentStage::Investigating
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentUpdateFields {
    pub stage: IncidentStage,
    pub body: String,
    /// Required unless the stage is `resolved`.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub next_update_due: Option<OffsetDateTime>,
    /// A changed impact, if it changed.
    #[serde(default)]
    pub impact: Option<Impact>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaintenanceFields {
    pub id: MaintenanceId,
    pub title: String,
    #[serde(default)]
    pub systems: Vec<SystemId>,
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub ends_at: OffsetDateTime,
    /// The stages' names in order (at least one).
    pub stages: Vec<String>,
    #[serde(default)]
    pub note: String,
    /// When each stage is planned to start (none, or one per stage, in order): the leader
    /// starts a stage at its time unless someone did so first.
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "crate::model::rfc3339_list")]
    pub stage_starts: Vec<OffsetDateTime>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadinessFields {
    /// The site's name as units use it ("Östra sjukhuset").
    pub site: String,
    pub level: ReadinessLevel,
    #[serde(default)]
    pub note: String,
}

/// A directory entry's fields (see [`crate::contacts::Contact`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactFields {
    pub id: ContactId,
    pub kind: ContactKind,
    pub name: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub organisation: String,
    #[serde(default)]
    pub unit_id: Option<UnitId>,
    #[serde(default)]
    pub site: String,
    #[serde(default)]
    pub supplier_id: Option<SupplierId>,
    /// In fallback order.
    #[serde(default)]
    pub routes: Vec<Route>,
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    pub withdrawn: bool,
}

/// An on-call rota's fields (see [`crate::contacts::Rota`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotaFields {
    pub id: RotaId,
    pub name: String,
    #[serde(default)]
    pub function_id: Option<ContactId>,
    #[serde(default)]
    pub shifts: Vec<Shift>,
    #[serde(default)]
    pub overrides: Vec<Shift>,
    /// How long a page waits for an answer at each step (default five minutes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_wait_seconds: Option<u32>,
    /// Whether an incident of the highest impact (critical) pages this rota by itself.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub page_on_critical: bool,
}

/// An action card's fields (see [`crate::cards::ActionCard`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardFields {
    pub id: CardId,
    pub category: crate::cards::Category,
    pub title: String,
    pub task: String,
    pub who: String,
    pub trigger: String,
    pub actions: String,
    #[serde(default)]
    pub documentation: String,
    pub owner: String,
    #[serde(default)]
    pub approver: String,
    #[serde(default, with = "crate::model::ymd_opt")]
    pub approved_on: Option<Date>,
    #[serde(with = "crate::model::ymd")]
    pub review_by: Date,
    #[serde(default)]
    pub systems: Vec<SystemId>,
    #[serde(default)]
    pub withdrawn: bool,
}
