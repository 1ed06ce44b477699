//! An invitation as the new machine gets it: one line of text (shown on `/ops` as a command to
//! copy and as a QR code) that `beredd join` reads. It holds the node id and name it is for, its
//! secret, the SHA-256 of the cluster CA (so the new machine trusts only this cluster's
//! certificates) and the members' addresses to try, in order.

use serde::{Deserialize, Serialize};

/// The prefix every invitation starts with (its version in the name).
pub const PREFIX: &str = "beredd-invite-1.";
/// Longest invitation read (a few hundred bytes with a dozen members).
const MAX_LEN: usize = 8 << 10;

/// A member's addresses, as an invitation lists them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitePeer {
    pub http: String,
    pub grpc: String,
}

/// What the node adds to an invitation: the cluster CA's fingerprint, the members to try and
/// the first node id nobody has.
#[derive(Clone, Debug)]
pub struct InvitationBase {
    pub ca_sha256: String,
    pub peers: Vec<InvitePeer>,
    pub next_node: u64,
}

/// The invitation's content.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteToken {
    pub node: u64,
    pub name: String,
    pub secret: String,
    pub ca_sha256: String,
    pub peers: Vec<InvitePeer>,
}

impl InviteToken {
    pub fn encode(&self) -> String {
        use base64::Engine;
        let json = serde_json::to_vec(self).unwrap_or_default();
        format!("{PREFIX}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json))
    }

    /// Reads an invitation as pasted (surrounding blanks and quotes are ignored).
    pub fn decode(text: &str) -> Result<Self, String> {
        use base64::Engine;
        let t = text.trim().trim_matches(|c| c == '\'' || c == '"');
        if t.len() > MAX_LEN {
            return Err("that is too long to be an invitation".into());
        }
        let body = t.strip_prefix(PREFIX).ok_or_else(|| format!("an invitation starts with {PREFIX}"))?;
        let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| "the invitation is damaged (copy all of it)".to_owned())?;
        let tok: Self =
            serde_json::from_slice(&json).map_err(|_| "the invitation is damaged (copy all of it)".to_owned())?;
        if tok.node == 0 || tok.peers.is_empty() || tok.ca_sha256.len() != 64 || tok.secret.is_empty() {
            return Err("the invitation is incomplete".into());
        }
        Ok(tok)
    }

    /// The command to run on the new machine.
    pub fn command(&self) -> String {
        format!("beredd join --dir beredd-node{} {}", self.node, self.encode())
    }
}

/// A fresh invitation secret (256 bits, base64url) and its SHA-256 (hex), which alone is
/// recorded.
pub fn new_secret() -> (String, String) {
    use base64::Engine;
    use rand_core::{OsRng, RngCore};
    use sha2::Digest;
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let sha = hex::encode(sha2::Sha256::digest(secret.as_bytes()));
    (secret, sha)
}

/// `text` as a QR code: an SVG of dark squares on white, sized by its viewBox (no script, no
/// external image, so the page's content security policy allows it).
pub fn qr_svg(text: &str) -> Option<String> {
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::L).ok()?;
    Some(
        code.render::<qrcode::render::svg::Color>()
            .min_dimensions(240, 240)
            .dark_color(qrcode::render::svg::Color("#000000"))
            .light_color(qrcode::render::svg::Color("#ffffff"))
            .build(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invitation_reads_back_as_written_and_damage_is_named() {
        let t = InviteToken {
            node: 4,
            name: "laptop-akuten".into(),
            secret: "s3cret".into(),
            ca_sha256: "a".repeat(64),
            peers: vec![InvitePeer { http: "http://127.0.0.1:8081".into(), grpc: "127.0.0.1:9081".into() }],
        };
        let text = t.encode();
        assert!(text.starts_with(PREFIX));
        assert_eq!(InviteToken::decode(&format!("  '{text}'\n")).unwrap(), t);
        assert!(t.command().starts_with("beredd join --dir beredd-node4 beredd-invite-1."));
        let cut = &text[..text.len() - 5];
        assert!(InviteToken::decode(cut).unwrap_err().contains("damaged"));
        assert!(InviteToken::decode("hello").unwrap_err().contains("starts with"));
        assert!(InviteToken::decode(&"x".repeat(10_000)).unwrap_err().contains("too long"));
        let svg = qr_svg(&t.command()).unwrap();
        assert!(svg.contains("<svg") && svg.contains("#000000") && !svg.contains("<script"));
    }
}
