//! The leader delivers dispatch jobs (`domain::dispatch`): every second it looks for jobs that
//! are due, delivers each through its supplier's channel, and records the attempt through the
//! log (`RecordAttempt`, under a command id made from the job and the attempt's number, so a
//! resent record is applied once). Followers do nothing; a new leader picks up every pending job.
//!
//! At least once: if a leader delivers and dies before its record is committed, the next leader
//! delivers again, with the same `Idempotency-Key` (the job's message id), which is how a
//! receiver recognises the duplicate. Webhooks only for now; e-mail jobs wait (issue 9).

use crate::server::Server;
use domain::channel::Channel;
use domain::dispatch::DispatchJob;
use domain::{Command, CommandId, StateView};
use hmac::{Hmac, Mac};
use openraft::ServerState;
use sha2::Sha256;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

/// How long one webhook call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

impl Server {
    pub(crate) fn spawn_dispatcher(self: &Arc<Self>) {
        let me = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let Some(server) = me.upgrade() else { return };
                server.deliver_due().await;
            }
        });
    }

    fn leads(&self) -> bool {
        let m = self.raft.metrics().borrow().clone();
        m.current_leader == Some(self.id) && m.state == ServerState::Leader && !self.is_transferring()
    }

    async fn deliver_due(&self) {
        if !self.leads() {
            return;
        }
        let now = OffsetDateTime::now_utc();
        let jobs = match web::dispatch::all(&self.view) {
            Ok(jobs) => jobs,
            Err(e) => return tracing::warn!("reading dispatch jobs: {e}"),
        };
        for job in jobs.into_iter().filter(|j| j.due(now) && matches!(j.channel, Channel::Webhook { .. })) {
            let n = job.attempts.len() + 1;
            let (ok, detail) = match self.deliver(&job, now).await {
                Ok(d) => (true, d),
                Err(d) => (false, d),
            };
            tracing::info!(job = %job.id, attempt = n, ok, %detail, "dispatch attempt");
            let id = CommandId::new(format!("dispatch.attempt:{}:{n}", job.id));
            let cmd = Command::RecordAttempt { job_id: job.id.clone(), node: self.id, ok, detail };
            if let Err(e) = self.submit(id, cmd, None).await {
                tracing::warn!(job = %job.id, "recording the attempt failed: {e}");
            }
            if !self.leads() {
                return;
            }
        }
    }

    /// One webhook call: `Ok` with the answer's status line, or `Err` with what went wrong.
    async fn deliver(&self, job: &DispatchJob, now: OffsetDateTime) -> Result<String, String> {
        let Channel::Webhook { url, secret, .. } = &job.channel else { return Err("not a webhook".into()) };
        let view: &dyn StateView = &self.view;
        let mut files = web::dispatch::files(view, job, self.id, now)?;
        let file = files.pop().ok_or("nothing to send")?;
        let signature = secret.as_deref().map(|s| sign(s, &file.bytes)).transpose()?;
        let (url, message_id, job_id) = (url.clone(), job.message_id(), job.id.clone());
        tokio::task::spawn_blocking(move || {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .timeout_global(Some(CALL_TIMEOUT))
                .http_status_as_error(false)
                .build()
                .into();
            let mut req = agent
                .post(&url)
                .header("Content-Type", file.content_type)
                .header("Idempotency-Key", &message_id)
                .header("X-Beredd-Job", &job_id);
            if let Some(sig) = &signature {
                req = req.header("X-Beredd-Signature", sig);
            }
            match req.send(&file.bytes[..]) {
                Ok(r) if r.status().is_success() => Ok(format!("HTTP {}", r.status().as_u16())),
                Ok(mut r) => {
                    let text = r.body_mut().read_to_string().unwrap_or_default();
                    Err(format!("HTTP {}: {}", r.status().as_u16(), text.chars().take(200).collect::<String>()))
                }
                Err(e) => Err(e.to_string()),
            }
        })
        .await
        .map_err(|e| e.to_string())?
    }
}

/// `sha256=<hex>`: HMAC-SHA256 of the body under the channel's secret, so a receiver can check
/// that the call came from the cluster.
pub fn sign(secret: &str, body: &[u8]) -> Result<String, String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).map_err(|e| e.to_string())?;
    mac.update(body);
    Ok(format!("sha256={}", hex::encode(mac.finalize().into_bytes())))
}
