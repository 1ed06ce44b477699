//! An HTTP SMS gateway of the common Nordic kind: one POST per recipient, its body made from
//! the route's `fields` (form-encoded or a JSON object of strings), through the guarded
//! outbound client like every webhook. A 2xx answer means the gateway took the message.

use crate::config::{SmsHttpBody, SmsRoute};
use crate::server::outbound::{Outbound, Post};
use std::collections::BTreeMap;
use std::time::Duration;

pub struct Gateway {
    url: String,
    body: SmsHttpBody,
    fields: BTreeMap<String, String>,
    source: String,
    out: Outbound,
}

impl Gateway {
    pub fn new(route: &SmsRoute, out: Outbound) -> Self {
        let SmsRoute::Http { url, body, fields, source, .. } = route else {
            unreachable!("Gateway::new is called with an HTTP route")
        };
        Self { url: url.clone(), body: *body, fields: fields.clone(), source: source.clone(), out }
    }

    /// The field values with the placeholders filled in.
    fn filled(&self, message_id: &str, to: &str, text: &str) -> Vec<(String, String)> {
        let to_digits = to.trim_start_matches('+');
        self.fields
            .iter()
            .map(|(k, template)| {
                // One pass, so a placeholder inside the text is never replaced again.
                let mut value = String::with_capacity(template.len() + text.len());
                let mut rest = template.as_str();
                while let Some(start) = rest.find('{') {
                    value.push_str(&rest[..start]);
                    let after = &rest[start..];
                    let (name, len) = ["{to_digits}", "{to}", "{text}", "{id}", "{from}"]
                        .into_iter()
                        .find(|p| after.starts_with(p))
                        .map_or(("", 1), |p| (p, p.len()));
                    value.push_str(match name {
                        "{to_digits}" => to_digits,
                        "{to}" => to,
                        "{text}" => text,
                        "{id}" => message_id,
                        "{from}" => &self.source,
                        _ => "{",
                    });
                    rest = &after[len..];
                }
                value.push_str(rest);
                (k.clone(), value)
            })
            .collect()
    }

    pub async fn send(&self, message_id: &str, to: &str, text: &str) -> Result<super::Taken, String> {
        let fields = self.filled(message_id, to, text);
        let (content_type, body) = match self.body {
            SmsHttpBody::Form => (
                "application/x-www-form-urlencoded",
                url::form_urlencoded::Serializer::new(String::new()).extend_pairs(&fields).finish().into_bytes(),
            ),
            SmsHttpBody::Json => {
                let map: serde_json::Map<String, serde_json::Value> =
                    fields.into_iter().map(|(k, v)| (k, serde_json::Value::String(v))).collect();
                ("application/json", serde_json::to_vec(&map).map_err(|e| e.to_string())?)
            }
        };
        let headers = vec![("Idempotency-Key", message_id.to_owned())];
        let label = self.out.post(Post { url: &self.url, content_type, headers, body }).await?;
        Ok(super::Taken { label, ids: Vec::new() })
    }

    /// Whether the gateway's host takes a TCP connection (through the same address guard).
    pub async fn probe(&self) -> Result<String, String> {
        let url = url::Url::parse(&self.url).map_err(|e| format!("bad url: {e}"))?;
        let host = url.host_str().ok_or("the url has no host")?.to_owned();
        let port = url.port_or_known_default().ok_or("the url has no port")?;
        let addrs = tokio::net::lookup_host((host.as_str(), port)).await.map_err(|e| format!("{host}: {e}"))?;
        let mut last = format!("{host}: no address");
        for a in addrs {
            if let Err(e) = self.out.policy().check(a.ip()) {
                last = e;
                continue;
            }
            match tokio::time::timeout(Duration::from_secs(5), tokio::net::TcpStream::connect(a)).await {
                Ok(Ok(_)) => return Ok(format!("{host}:{port} answers")),
                Ok(Err(e)) => last = format!("{a}: {e}"),
                Err(_) => last = format!("{a}: no answer in 5 s"),
            }
        }
        Err(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_once_and_text_is_taken_as_it_is() {
        let route = SmsRoute::Http {
            name: "gw".into(),
            url: "https://sms.example/send".into(),
            body: SmsHttpBody::Form,
            fields: [
                ("to", "{to_digits}"),
                ("msg", "{text}"),
                ("ref", "beredd-{id}"),
                ("from", "{from}"),
                ("x", "{y}"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
            source: "Beredd".into(),
        };
        let policy = crate::server::outbound::Policy::default();
        let g = Gateway::new(&route, Outbound::new(policy));
        let got: BTreeMap<String, String> =
            g.filled("ntc-1@beredd", "+46701234567", "Hej {id} & {to}").into_iter().collect();
        assert_eq!(got["to"], "46701234567");
        assert_eq!(got["msg"], "Hej {id} & {to}");
        assert_eq!(got["ref"], "beredd-ntc-1@beredd");
        assert_eq!(got["from"], "Beredd");
        assert_eq!(got["x"], "{y}");
    }
}
