//! Webhook delivery: one POST of the job's body, with the job's message id as
//! `Idempotency-Key` and, when the channel has a secret, an HMAC signature of the body.

use crate::server::outbound::{Outbound, Post};
use documents::dispatch::File;
use domain::dispatch::DispatchJob;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// One call through the guarded client: `Ok` with the answer's status, or `Err` with what went
/// wrong (a status code and reason, never the receiver's body).
pub async fn call(
    out: &Outbound,
    url: &str,
    secret: Option<&str>,
    job: &DispatchJob,
    file: File,
) -> Result<String, String> {
    let signature = secret.map(|s| sign(s, &file.bytes)).transpose()?;
    let mut headers = vec![("Idempotency-Key", job.message_id()), ("X-Beredd-Job", job.id.to_string())];
    if let Some(sig) = signature {
        headers.push(("X-Beredd-Signature", sig));
    }
    out.post(Post { url, content_type: file.content_type, headers, body: file.bytes }).await
}

/// `sha256=<hex>`: HMAC-SHA256 of the body under the channel's secret, so a receiver can check
/// that the call came from the cluster.
pub fn sign(secret: &str, body: &[u8]) -> Result<String, String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).map_err(|e| e.to_string())?;
    mac.update(body);
    Ok(format!("sha256={}", hex::encode(mac.finalize().into_bytes())))
}
