//! The node's public HTTP API as an outside client sees it: a status and a JSON body, or no
//! answer at all (refused connection, reset, timeout).

use std::time::Duration;

use serde_json::Value;

/// What one request got back.
#[derive(Debug, Clone)]
pub enum Reply {
    Answer(u16, Value),
    /// No HTTP answer: the node may or may not have acted on the request.
    NoAnswer(String),
}

impl Reply {
    pub fn ok(&self) -> Option<&Value> {
        match self {
            Reply::Answer(s, v) if (200..300).contains(s) => Some(v),
            _ => None,
        }
    }

    /// The API's error code (`cluster.no_quorum`, …), if the node answered with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Reply::Answer(_, v) => v["error"]["code"].as_str(),
            Reply::NoAnswer(_) => None,
        }
    }
}

/// A blocking client with one timeout, carrying the admin's API token.
#[derive(Clone)]
pub struct Api {
    agent: ureq::Agent,
    token: String,
}

impl Api {
    pub fn new(timeout: Duration, token: &str) -> Self {
        let agent =
            ureq::Agent::config_builder().timeout_global(Some(timeout)).http_status_as_error(false).build().into();
        Api { agent, token: token.to_owned() }
    }

    pub fn get(&self, port: u16, path: &str) -> Reply {
        let r = self.agent.get(format!("http://127.0.0.1:{port}{path}")).header("Authorization", self.bearer()).call();
        answer(r)
    }

    /// POST with an `Idempotency-Key`, so that sending it again cannot apply it twice.
    pub fn post(&self, port: u16, path: &str, body: &Value, key: Option<&str>) -> Reply {
        let mut req = self.agent.post(format!("http://127.0.0.1:{port}{path}")).header("Authorization", self.bearer());
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        answer(req.send_json(body))
    }

    fn bearer(&self) -> String {
        format!("Bearer {}", self.token)
    }
}

fn answer(r: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Reply {
    match r {
        Ok(mut r) => {
            let status = r.status().as_u16();
            match r.body_mut().read_to_string() {
                Ok(text) => Reply::Answer(status, serde_json::from_str(&text).unwrap_or(Value::String(text))),
                Err(e) => Reply::NoAnswer(format!("reading the body: {e}")),
            }
        }
        Err(e) => Reply::NoAnswer(e.to_string()),
    }
}
