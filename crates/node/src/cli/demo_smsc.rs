//! The demo's SMSC: an SMPP 3.4 server on 127.0.0.1 that `beredd demo` starts beside its nodes
//! (they send texts to it like to an operator's). It binds any transceiver, answers every
//! `submit_sm` with a message id and a DELIVRD receipt, joins concatenated segments, and keeps
//! each whole message as one JSON file in `DIR` (`to`, `from`, `text`, `encoding`, `segments`,
//! `message_ids`, `received_at`), so a person (or a benchmark) reads what each phone got. A
//! phone's reply is a JSON file `{"from": "+46…", "text": "OK"}` dropped into `DIR/replies/`: it
//! is sent to every bind as a `deliver_sm` and the file renamed `*.sent`.

use anyhow::{Context, Result};
use futures::{SinkExt, StreamExt};
use rusmpp::pdus::{BindTransceiverResp, DeliverSm, SubmitSmResp};
use rusmpp::types::{COctetString, OctetString};
use rusmpp::{Command, CommandStatus, Pdu};
use serde_json::json;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Segments of concatenated messages not yet complete, by (from, to, reference).
type Partial = HashMap<(String, String, u8), Vec<Option<(String, String)>>>;

struct Shared {
    dir: PathBuf,
    next_id: Mutex<u64>,
    partial: Mutex<Partial>,
    replies: tokio::sync::broadcast::Sender<(String, String)>,
}

/// Starts the SMSC on `listen` (host:port), writing to `dir`; runs until the process ends.
pub async fn start(listen: &str, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir.join("replies")).with_context(|| format!("creating {}", dir.display()))?;
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("the demo SMSC on {listen}"))?;
    let (replies, _) = tokio::sync::broadcast::channel(64);
    let shared = Arc::new(Shared { dir: dir.to_owned(), next_id: Mutex::new(0), partial: Mutex::default(), replies });
    tokio::spawn(watch_replies(shared.clone()));
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            tokio::spawn(serve(stream, shared.clone()));
        }
    });
    Ok(())
}

/// Sends each reply file in `replies/` to every bind, once.
async fn watch_replies(shared: Arc<Shared>) {
    let dir = shared.dir.join("replies");
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for e in entries.flatten() {
            let path = e.path();
            if path.extension().is_none_or(|x| x != "json") {
                continue;
            }
            let reply: Option<(String, String)> = std::fs::read(&path)
                .ok()
                .filter(|b| b.len() <= 4096)
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                .and_then(|v| Some((v["from"].as_str()?.to_owned(), v["text"].as_str()?.to_owned())));
            match reply {
                Some(r) => {
                    let _ = shared.replies.send(r);
                    let _ = std::fs::rename(&path, path.with_extension("sent"));
                }
                None => {
                    eprintln!("demo SMSC: {} is not {{\"from\": …, \"text\": …}}", path.display());
                    let _ = std::fs::rename(&path, path.with_extension("bad"));
                }
            }
        }
    }
}

fn c_string<const MIN: usize, const MAX: usize>(s: &str) -> COctetString<MIN, MAX> {
    COctetString::from_str(s).unwrap_or_else(|_| COctetString::empty())
}

/// One bind: answers binds, enquire_link, unbind and submits; passes replies on.
async fn serve(stream: tokio::net::TcpStream, shared: Arc<Shared>) {
    let mut framed = tokio_util::codec::Framed::new(stream, rusmpp::tokio_codec::CommandCodec::new());
    let mut replies = shared.replies.subscribe();
    let mut own_seq = 0x4000_0000u32;
    let mut deliver = |esm: u8, coding: u8, from: &str, to: &str, body: Vec<u8>| {
        own_seq += 1;
        let d = DeliverSm::builder()
            .source_addr(c_string(from))
            .destination_addr(c_string(to))
            .esm_class(rusmpp::values::EsmClass::from(esm))
            .data_coding(rusmpp::values::DataCoding::from(coding))
            .short_message(OctetString::from_vec(body).unwrap_or_default())
            .build();
        Command::new(CommandStatus::EsmeRok, own_seq, d)
    };
    loop {
        let cmd = tokio::select! {
            c = framed.next() => match c { Some(Ok(c)) => c, _ => return },
            r = replies.recv() => {
                let Ok((from, text)) = r else { continue };
                let from = from.trim_start_matches('+').to_owned();
                let (coding, body) = match domain::sms::gsm7_septets(&text) {
                    Some(s) => (0, s),
                    None => (8, text.encode_utf16().flat_map(u16::to_be_bytes).collect()),
                };
                if framed.send(deliver(0, coding, &from, "Beredd", body)).await.is_err() {
                    return;
                }
                continue;
            }
        };
        let seq = cmd.sequence_number();
        let answer = match cmd.pdu() {
            Some(Pdu::BindTransceiver(_)) => Command::new(
                CommandStatus::EsmeRok,
                seq,
                BindTransceiverResp::builder().system_id(c_string("demo-smsc")).build(),
            ),
            Some(Pdu::EnquireLink) => Command::new(CommandStatus::EsmeRok, seq, Pdu::EnquireLinkResp),
            Some(Pdu::Unbind) => {
                let _ = framed.send(Command::new(CommandStatus::EsmeRok, seq, Pdu::UnbindResp)).await;
                return;
            }
            Some(Pdu::SubmitSm(s)) => {
                let id = {
                    let mut n = shared.next_id.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    *n += 1;
                    format!("demo{n}")
                };
                let (from, to) = (s.source_addr.as_str().to_owned(), s.destination_addr.as_str().to_owned());
                let udhi = u8::from(s.esm_class) & 0x40 != 0;
                if let Err(e) =
                    take(&shared, &from, &to, &id, u8::from(s.data_coding), udhi, s.short_message().as_ref())
                {
                    eprintln!("demo SMSC: keeping a message failed: {e:#}");
                }
                let resp = Command::new(
                    CommandStatus::EsmeRok,
                    seq,
                    SubmitSmResp::builder().message_id(c_string(&id)).build(),
                );
                if framed.send(resp).await.is_err() {
                    return;
                }
                let receipt = format!(
                    "id:{id} sub:001 dlvrd:001 submit date:0000000000 done date:0000000000 stat:DELIVRD err:000 text:"
                );
                deliver(0x04, 0, &to, &from, receipt.into_bytes())
            }
            _ => continue,
        };
        if framed.send(answer).await.is_err() {
            return;
        }
    }
}

/// Records one segment; writes the message's file when it is whole.
fn take(shared: &Shared, from: &str, to: &str, id: &str, coding: u8, udhi: bool, body: &[u8]) -> Result<()> {
    let (header, payload) = match body {
        // The 8-bit concatenation header: 05 00 03 ref total number.
        [0x05, 0x00, 0x03, r, total, number, rest @ ..] if udhi => (Some((*r, *total, *number)), rest),
        _ => (None, body),
    };
    let (encoding, text) = match coding {
        8 => {
            let units: Vec<u16> = payload.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
            ("ucs2", String::from_utf16_lossy(&units))
        }
        _ => ("gsm7", domain::sms::gsm7_text(payload).unwrap_or_else(|| String::from_utf8_lossy(payload).into_owned())),
    };
    let Some((reference, total, number)) = header.filter(|(_, t, n)| *t > 1 && (1..=*t).contains(n)) else {
        return write(shared, from, to, encoding, &text, &[id.to_owned()]);
    };
    let key = (from.to_owned(), to.to_owned(), reference);
    let whole = {
        let mut partial = shared.partial.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let parts = partial.entry(key.clone()).or_insert_with(|| vec![None; usize::from(total)]);
        if parts.len() != usize::from(total) {
            *parts = vec![None; usize::from(total)];
        }
        parts[usize::from(number) - 1] = Some((id.to_owned(), text));
        if parts.iter().all(Option::is_some) { partial.remove(&key) } else { None }
    };
    if let Some(parts) = whole {
        let parts: Vec<(String, String)> = parts.into_iter().flatten().collect();
        let ids: Vec<String> = parts.iter().map(|(i, _)| i.clone()).collect();
        let text: String = parts.into_iter().map(|(_, t)| t).collect();
        write(shared, from, to, encoding, &text, &ids)?;
    }
    Ok(())
}

/// One file per message, written whole (a temporary name, then renamed).
fn write(shared: &Shared, from: &str, to: &str, encoding: &str, text: &str, ids: &[String]) -> Result<()> {
    let now = time::OffsetDateTime::now_utc();
    let stamp = now.format(&time::format_description::well_known::Rfc3339)?;
    let to = format!("+{}", to.trim_start_matches('+'));
    let body = json!({
        "to": to, "from": from, "text": text, "encoding": encoding, "segments": ids.len(),
        "message_ids": ids, "received_at": stamp,
    });
    let first = ids.first().map_or("", String::as_str);
    let name = format!("{}-{}-{first}.json", now.unix_timestamp_nanos(), to.trim_start_matches('+'));
    let tmp = shared.dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, serde_json::to_vec_pretty(&body)?)?;
    std::fs::rename(&tmp, shared.dir.join(name))?;
    Ok(())
}
