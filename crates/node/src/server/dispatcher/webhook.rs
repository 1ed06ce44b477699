//! Webhook delivery: one POST of the job's body, with the job's message id as
//! `Idempotency-Key` and, when the channel has a secret, an HMAC signature of the body.

use documents::dispatch::File;
use domain::dispatch::DispatchJob;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::Duration;

/// How long one webhook call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// One call: `Ok` with the answer's status line, or `Err` with what went wrong.
pub async fn call(url: &str, secret: Option<&str>, job: &DispatchJob, file: File) -> Result<String, String> {
    let signature = secret.map(|s| sign(s, &file.bytes)).transpose()?;
    let (url, message_id, job_id) = (url.to_owned(), job.message_id(), job.id.clone());
    tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent =
            ureq::Agent::config_builder().timeout_global(Some(CALL_TIMEOUT)).http_status_as_error(false).build().into();
        let mut req = agent
            .post(&url)
            .header("Content-Type", file.content_type)
            .header("Idempotency-Key", &message_id)
            .header("X-Beredd-Job", job_id.as_str());
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

/// `sha256=<hex>`: HMAC-SHA256 of the body under the channel's secret, so a receiver can check
/// that the call came from the cluster.
pub fn sign(secret: &str, body: &[u8]) -> Result<String, String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).map_err(|e| e.to_string())?;
    mac.update(body);
    Ok(format!("sha256={}", hex::encode(mac.finalize().into_bytes())))
}
