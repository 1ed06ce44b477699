//! The leader delivers dispatch jobs (`domain::dispatch`): every second, and at once after a
//! write that made a job due ([`Server::wake_dispatcher_after`]), it looks for jobs that are
//! due, delivers each through its channel, and records the attempt through the log
//! (`RecordAttempt`, under a command id made from the job and the attempt's number, so a resent
//! record is applied once). Followers do nothing; a new leader picks up every pending job.
//!
//! At least once: if a leader delivers and dies before its record is committed, the next leader
//! delivers again, with the same `Idempotency-Key` (the job's message id), which is how a
//! receiver recognises the duplicate; an e-mail carries it as its `Message-ID`.

use crate::server::Server;
use domain::channels::Channel;
use domain::dispatch::DispatchJob;
use domain::subscribers::{About, Notice, lead_routes, notice_id};
use domain::{Command, CommandId, Record, StateView, StateViewExt, Table};
use openraft::ServerState;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

mod email;
mod paging;
mod reports;
mod webhook;

use futures::StreamExt;

/// How many receivers the leader delivers to at once.
const SIDE_BY_SIDE: usize = 16;

/// Whom a job goes to: its jobs are delivered one after another, in the order they were made.
fn receiver_key(ch: &Channel) -> String {
    match ch {
        Channel::Webhook { url, .. } => format!("webhook {url}"),
        Channel::Email { to, .. } => format!("email {}", to.join(",")),
        Channel::Sms { to } => format!("sms {}", to.join(",")),
        Channel::Manual { .. } => "manual".into(),
    }
}

pub use email::Mailer;

impl Server {
    pub(crate) fn spawn_dispatcher(self: &Arc<Self>) {
        let me = Arc::downgrade(self);
        let wake = self.dispatch_wake.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                    () = wake.notified() => {}
                }
                let Some(server) = me.upgrade() else { return };
                server.deliver_due().await;
            }
        });
    }

    /// Called on the leader after a write: a new job, a "retry now" or a status change (which
    /// queues notices) is sent at once rather than at the next tick.
    pub(crate) fn wake_dispatcher_after(&self, cmd: &Command) {
        if matches!(
            cmd,
            Command::Dispatch { .. }
                | Command::RetryDispatch { .. }
                | Command::RemindLead { .. }
                | Command::OpenIncident(_)
                | Command::PostIncidentUpdate { .. }
                | Command::ScheduleMaintenance(_)
                | Command::AdvanceMaintenance { .. }
                | Command::CancelMaintenance { .. }
                | Command::PageOnCall { .. }
                | Command::EscalatePage { .. }
                | Command::RemindReport { .. }
        ) {
            self.dispatch_wake.notify_one();
        }
    }

    /// Whether this node leads and is not handing over: leader-only work runs only then.
    pub(crate) fn leads(&self) -> bool {
        let m = self.raft.metrics().borrow().clone();
        m.current_leader == Some(self.id) && m.state == ServerState::Leader && !self.is_transferring()
    }

    async fn deliver_due(&self) {
        if !self.leads() {
            return;
        }
        let now = OffsetDateTime::now_utc();
        self.remind_late_leads(now).await;
        self.start_planned_stages(now).await;
        self.move_pages_on(now).await;
        self.remind_late_reports(now).await;
        let jobs = match documents::dispatch::all(&self.view) {
            Ok(jobs) => jobs,
            Err(e) => return tracing::warn!("reading dispatch jobs: {e}"),
        };
        // Jobs to different receivers go out side by side (their attempts are recorded in
        // the same log entries); one receiver's jobs go one after another, in order.
        let mut by_receiver: Vec<Vec<DispatchJob>> = Vec::new();
        let mut place: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        for job in jobs.into_iter().filter(|j| j.due(now)) {
            let i = *place.entry(receiver_key(&job.channel)).or_insert_with(|| {
                by_receiver.push(Vec::new());
                by_receiver.len() - 1
            });
            by_receiver[i].push(job);
        }
        futures::stream::iter(by_receiver)
            .for_each_concurrent(SIDE_BY_SIDE, |jobs| async move {
                for job in jobs {
                    if !self.leads() {
                        return;
                    }
                    self.attempt(job, now).await;
                }
            })
            .await;
    }

    /// One attempt at `job`, recorded through the log.
    async fn attempt(&self, job: DispatchJob, now: OffsetDateTime) {
        if self.subscriber_left(&job) {
            // A notice to someone who unsubscribed meanwhile: nothing to send, ever.
            let id = CommandId::new(format!("dispatch.cancel:{}", job.id));
            if let Err(e) = self.submit(id, Command::CancelDispatch { job_id: job.id.clone() }, None).await {
                tracing::warn!(job = %job.id, "cancelling a notice to a former subscriber failed: {e}");
            }
            return;
        }
        let n = job.attempts.len() + 1;
        let (ok, detail, refs) = match self.deliver(&job, now).await {
            Ok((d, refs)) => (true, d, refs),
            Err(d) => (false, d, Vec::new()),
        };
        self.remember_refs(&job.id, &refs);
        tracing::info!(job = %job.id, attempt = n, ok, %detail, "dispatch attempt");
        let id = CommandId::new(format!("dispatch.attempt:{}:{n}", job.id));
        let cmd = Command::RecordAttempt { job_id: job.id.clone(), node: self.id, ok, detail, refs };
        if let Err(e) = self.submit(id, cmd, None).await {
            tracing::warn!(job = %job.id, "recording the attempt failed: {e}");
        }
    }

    fn subscriber_left(&self, job: &DispatchJob) -> bool {
        let view: &dyn StateView = &self.view;
        job.notice
            .as_ref()
            .filter(|n| !n.subscriber_id.is_empty())
            .is_some_and(|n| view.subscriber(&n.subscriber_id).is_ok_and(|s| s.is_none()))
    }

    /// Starts each maintenance stage whose planned time has come and that nobody started yet,
    /// so its texts go out on time. The command carries the version the leader saw and an id
    /// made from the stage, so a person advancing meanwhile, or a new leader, starts nothing twice.
    async fn start_planned_stages(&self, now: OffsetDateTime) {
        let view: &dyn StateView = &self.view;
        for r in documents::read_model::scan_all(view, Table::Maintenance).unwrap_or_default() {
            let Record::Maintenance(m) = r else { continue };
            if m.next_planned_start().is_none_or(|t| t > now) {
                continue;
            }
            let id = CommandId::new(format!("maintenance.planned:{}:{}", m.id, m.current + 1));
            let cmd = Command::AdvanceMaintenance {
                maintenance_id: m.id.clone(),
                expected_version: m.version,
                note: String::new(),
            };
            if let Err(e) = self.submit(id, cmd, None).await {
                tracing::warn!(maintenance = %m.id, "starting a planned stage failed: {e}");
            }
        }
    }

    /// For each open incident whose promised update is late and whose lead has an e-mail
    /// address: the reminder job, once per promised time (its id is made from the incident and
    /// the time, so a new leader does not send it again).
    async fn remind_late_leads(&self, now: OffsetDateTime) {
        for (incident_id, due, job) in self.late_incidents(now) {
            let cmd = Command::RemindLead { incident_id: incident_id.clone(), due };
            if let Err(e) = self.submit(CommandId::new(format!("remind:{job}")), cmd, None).await {
                tracing::warn!(incident = %incident_id, "queueing the reminder failed: {e}");
            }
        }
    }

    /// Open incidents whose update is late, whose lead has an address and who has not been
    /// reminded for that time: (incident, promised time, reminder job id).
    fn late_incidents(&self, now: OffsetDateTime) -> Vec<(domain::IncidentId, OffsetDateTime, domain::DispatchId)> {
        let view: &dyn StateView = &self.view;
        let incidents = match documents::read_model::scan_all(view, Table::Incident) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!("reading incidents: {e}");
                return Vec::new();
            }
        };
        let mut out = Vec::new();
        for r in incidents {
            let Record::Incident(i) = r else { continue };
            let Some(due) = i.next_update_due.filter(|_| i.overdue(now)) else { continue };
            let about = About::Reminder { id: i.id.clone(), due };
            let job = notice_id(&Notice { subscriber_id: Default::default(), about: about.clone(), sms: false });
            let text = notice_id(&Notice { subscriber_id: Default::default(), about, sms: true });
            let routes = i.lead.as_deref().and_then(|l| lead_routes(view, l).ok()).unwrap_or_default();
            // The e-mail's job when there is an address, else the text's.
            let job = if routes.0.is_some() { job } else { text };
            let has_address = routes.0.is_some() || routes.1.is_some();
            if has_address && view.dispatch(&job).ok().flatten().is_none() {
                out.push((i.id, due, job));
            }
        }
        out
    }

    /// One delivery through the job's channel: `Ok` with the receiver's answer and the
    /// references its receipts will name, `Err` with what went wrong (the attempt's detail).
    async fn deliver(&self, job: &DispatchJob, now: OffsetDateTime) -> Result<(String, Vec<String>), String> {
        let view: &dyn StateView = &self.view;
        let files = documents::dispatch::files(view, job, self.id, now)?;
        let answer = match &job.channel {
            Channel::Webhook { url, secret, .. } => {
                let file = files.into_iter().next().ok_or("nothing to send")?;
                webhook::call(&self.outbound, url, secret.as_deref(), job, file).await
            }
            Channel::Email { to, .. } => {
                let Some(mailer) = &self.mailer else {
                    return Err(format!("e-mail is not configured on node {} ([smtp] in its config)", self.id));
                };
                let letter = documents::dispatch::letter(view, job, &files, &self.cfg.http.advertise)?;
                mailer.send(job, to, letter, files).await
            }
            Channel::Manual { .. } => Err("a manual job is sent by a person".into()),
            Channel::Sms { to } => {
                let Some(sms) = &self.sms else {
                    return Err(format!("no SMS route is configured on node {} ([sms] in its config)", self.id));
                };
                let text = documents::dispatch::sms_text(view, job, &self.cfg.http.advertise, sms.max_segments)?;
                let sent = sms.send(&job.message_id(), to, &text).await?;
                return Ok((sent.detail, sent.refs));
            }
        };
        answer.map(|a| (a, Vec::new()))
    }

    /// What comes back on this node's SMS routes, on every node (an SMSC sends receipts and
    /// replies to whichever bind it likes): a receipt is recorded on the job whose attempt took
    /// that message; a STOP from a subscriber's phone ends the subscription. Each is one
    /// command with an id made from what it says, so a receipt repeated (or seen by two nodes)
    /// is recorded once. A receipt can come before the attempt that took the message is
    /// recorded (an SMSC may answer at once): it is looked for again for a while.
    pub(crate) fn spawn_sms_inbound(
        self: &Arc<Self>,
        mut inbound: tokio::sync::mpsc::Receiver<crate::server::sms::Inbound>,
    ) {
        let me = Arc::downgrade(self);
        tokio::spawn(async move {
            while let Some(what) = inbound.recv().await {
                let me = me.clone();
                tokio::spawn(async move {
                    let waits = if matches!(what, crate::server::sms::Inbound::Receipt { .. }) { 40 } else { 1 };
                    for n in 0..waits {
                        if n > 0 {
                            tokio::time::sleep(Duration::from_millis(500)).await;
                        }
                        let Some(server) = me.upgrade() else { return };
                        let commands = server.inbound_commands(&what);
                        if commands.is_empty() {
                            continue;
                        }
                        for (id, cmd) in commands {
                            if let Err(e) = server.submit(CommandId::new(id), cmd, None).await {
                                tracing::warn!(?what, "recording what an SMS route said failed: {e}");
                            }
                        }
                        return;
                    }
                    tracing::info!(?what, "nothing here to record it on");
                });
            }
        });
    }

    /// Keeps which job each sent text belongs to, for its receipts (bounded: the oldest
    /// are forgotten, and then found by reading every job).
    fn remember_refs(&self, job: &domain::DispatchId, refs: &[String]) {
        if refs.is_empty() {
            return;
        }
        let mut sent = self.sent_refs.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if sent.len() > 200_000 {
            sent.clear();
        }
        for r in refs {
            sent.insert(r.clone(), job.clone());
        }
    }

    /// The job whose recorded attempt took the text `reference`: through this node's memory of
    /// what it sent, else by reading every job (another node sent it, or it was restarted).
    fn job_of_reference(&self, reference: &str) -> Option<DispatchJob> {
        let view: &dyn StateView = &self.view;
        let took = |j: &DispatchJob| j.attempts.iter().any(|a| a.refs.iter().any(|r| r == reference));
        let known = self.sent_refs.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(reference).cloned();
        if let Some(id) = known {
            // Sent from here: wait for its attempt to be recorded rather than read every job.
            return view.dispatch(&id).ok().flatten().filter(took);
        }
        documents::dispatch::all(view).unwrap_or_default().into_iter().rev().find(took)
    }

    fn inbound_commands(&self, what: &crate::server::sms::Inbound) -> Vec<(String, Command)> {
        use crate::server::sms::Inbound;
        let view: &dyn StateView = &self.view;
        match what {
            Inbound::Receipt { route, id, state } => {
                let reference = format!("{route}:{id}");
                let Some(job) = self.job_of_reference(&reference) else {
                    return Vec::new();
                };
                let id = format!("sms.receipt:{}:{reference}:{state}", job.id);
                vec![(id, Command::RecordReceipt { job_id: job.id.clone(), reference, state: state.clone() })]
            }
            Inbound::Text { from, text, .. } if domain::paging::is_ack_reply(text) => self.page_replies(from),
            Inbound::Text { from, text, .. } => {
                let word = text.split_whitespace().next().unwrap_or_default().to_uppercase();
                if !matches!(word.as_str(), "STOP" | "STOPP" | "AVSLUTA" | "AVMELD" | "UNSUBSCRIBE") {
                    tracing::info!(%from, "a text that is not STOP: not acted on");
                    return Vec::new();
                }
                let subscribers = documents::read_model::scan_all(view, Table::Subscriber).unwrap_or_default();
                subscribers
                    .into_iter()
                    .filter_map(|r| match r {
                        Record::Subscriber(s) if s.target.phone() == Some(from.as_str()) => Some(s),
                        _ => None,
                    })
                    // The version in the id: someone who subscribes again and says STOP again is heard.
                    .map(|s| {
                        let id = format!("sms.stop:{}:{}", s.id, s.version);
                        (id, Command::RemoveSubscriber { subscriber_id: s.id })
                    })
                    .collect()
            }
        }
    }
}
