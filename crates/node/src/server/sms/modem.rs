//! A GSM modem on a serial port (`serialport`): AT commands in PDU mode (3GPP TS 27.005), so a
//! node with a SIM card sends texts when the internet and the operator's IP services are gone.
//! The PDUs come from `domain::sms::submit_pdus` (7-bit or UCS-2, one per segment, a status
//! report asked for). One conversation with the modem at a time; the port is opened for each
//! send and probe, so a modem unplugged and plugged back in is found again. Each probe also
//! reads the texts the SIM has received (`AT+CMGL=4`), hands each on as [`Inbound`] (a STOP
//! from a subscriber, say) and deletes it from the SIM.
//!
//! What the modem says is read in bounded lines (at most [`MAX_LINE`] bytes each, a deadline
//! for every answer): a modem that babbles or hangs fails the route, never the node.

use super::Inbound;
use crate::config::SmsRoute;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

/// Longest line a modem's answer may have.
const MAX_LINE: usize = 512;
/// How long a plain command may take; a send waits for the network much longer.
const COMMAND_WAIT: Duration = Duration::from_secs(5);
const SEND_WAIT: Duration = Duration::from_secs(60);

/// A text read from the SIM: (sender in E.164, text).
type Received = (String, String);

pub struct Modem {
    name: String,
    inbound: tokio::sync::mpsc::Sender<Inbound>,
    device: PathBuf,
    baud: u32,
    pin: Option<String>,
    turn: tokio::sync::Mutex<()>,
    reference: AtomicU8,
}

impl Modem {
    pub fn new(route: &SmsRoute, inbound: tokio::sync::mpsc::Sender<Inbound>) -> Self {
        let SmsRoute::Modem { name, device, baud, pin } = route else {
            unreachable!("Modem::new is called with a modem route")
        };
        Self {
            name: name.clone(),
            inbound,
            device: device.clone(),
            baud: *baud,
            pin: pin.as_ref().map(|p| p.expose().to_owned()),
            turn: tokio::sync::Mutex::new(()),
            reference: AtomicU8::new(super::first_reference()),
        }
    }

    /// Sends one text to `to` (E.164): `Ok` with the modem's message reference per segment.
    pub async fn send(&self, to: &str, text: &str) -> Result<super::Taken, String> {
        let reference = self.reference.fetch_add(1, Ordering::Relaxed);
        let pdus = domain::sms::submit_pdus(to, text, reference).map_err(|e| e.to_string())?;
        let _turn = self.turn.lock().await;
        let (device, baud, pin) = (self.device.clone(), self.baud, self.pin.clone());
        tokio::task::spawn_blocking(move || {
            let mut port = Port::open(&device, baud)?;
            port.ready(pin.as_deref())?;
            port.command("AT+CMGF=0", COMMAND_WAIT)?;
            let mut refs = Vec::with_capacity(pdus.len());
            for pdu in &pdus {
                refs.push(port.send_pdu(pdu)?);
            }
            Ok(super::Taken { label: format!("modem reference {}", refs.join(",")), ids: Vec::new() })
        })
        .await
        .map_err(|e| e.to_string())?
    }

    /// Answers, SIM ready, registered on a network (home or roaming), with its signal; and
    /// the texts received since the last probe.
    pub async fn probe(&self) -> Result<String, String> {
        let _turn = self.turn.lock().await;
        let (device, baud, pin) = (self.device.clone(), self.baud, self.pin.clone());
        let (route, inbound) = (self.name.clone(), self.inbound.clone());
        tokio::task::spawn_blocking(move || {
            let mut port = Port::open(&device, baud)?;
            port.ready(pin.as_deref())?;
            let reg = port.command("AT+CREG?", COMMAND_WAIT)?;
            let stat = reg.iter().find_map(|l| l.strip_prefix("+CREG:")).and_then(|v| v.split(',').nth(1));
            match stat.map(str::trim) {
                Some("1" | "5") => {}
                other => return Err(format!("not registered on a network (+CREG {})", other.unwrap_or("?"))),
            }
            let csq = port.command("AT+CSQ", COMMAND_WAIT)?;
            let signal = csq.iter().find_map(|l| l.strip_prefix("+CSQ:")).unwrap_or("?").trim().to_owned();
            for (index, text) in port.received()? {
                if inbound.try_send(Inbound::Text { route: route.clone(), from: text.0, text: text.1 }).is_err() {
                    break; // kept on the SIM for the next probe
                }
                port.command(&format!("AT+CMGD={index}"), COMMAND_WAIT)?;
            }
            Ok(format!("registered, signal {signal}"))
        })
        .await
        .map_err(|e| e.to_string())?
    }
}

/// One open conversation with the modem.
struct Port {
    port: Box<dyn serialport::SerialPort>,
    /// Bytes read and not yet taken as a line.
    pending: Vec<u8>,
}

impl Port {
    fn open(device: &std::path::Path, baud: u32) -> Result<Self, String> {
        let port = serialport::new(device.to_string_lossy(), baud)
            .timeout(Duration::from_millis(200))
            .open()
            .map_err(|e| format!("{}: {e}", device.display()))?;
        Ok(Self { port, pending: Vec::new() })
    }

    /// Echo off, and the SIM unlocked (with the PIN when it asks for one).
    fn ready(&mut self, pin: Option<&str>) -> Result<(), String> {
        // A modem left in the middle of a send by a crash: Escape ends it, then the first AT
        // may be answered with noise.
        self.write(b"\x1b\r")?;
        let _ = self.command("AT", Duration::from_secs(2));
        self.command("ATE0", COMMAND_WAIT)?;
        let state = self.command("AT+CPIN?", COMMAND_WAIT)?;
        let state = state.iter().find_map(|l| l.strip_prefix("+CPIN:")).map(str::trim).unwrap_or("?").to_owned();
        match (state.as_str(), pin) {
            ("READY", _) => Ok(()),
            ("SIM PIN", Some(pin)) => self.command(&format!("AT+CPIN=\"{pin}\""), COMMAND_WAIT).map(|_| ()),
            ("SIM PIN", None) => Err("the SIM asks for a PIN and none is configured".into()),
            (other, _) => Err(format!("the SIM is not ready ({other})")),
        }
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.port.write_all(bytes).and_then(|()| self.port.flush()).map_err(|e| format!("writing to the modem: {e}"))
    }

    /// Reads until `done` says the bytes so far are enough, or the deadline passes.
    fn read_until(&mut self, deadline: Instant, done: impl Fn(&[u8]) -> bool) -> Result<(), String> {
        let mut chunk = [0u8; 256];
        while !done(&self.pending) {
            if Instant::now() > deadline {
                return Err("the modem did not answer in time".into());
            }
            match self.port.read(&mut chunk) {
                Ok(0) => {}
                Ok(n) => {
                    self.pending.extend_from_slice(&chunk[..n]);
                    if self.pending.len() > 8 * MAX_LINE {
                        return Err("the modem's answer is too long".into());
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(e) => return Err(format!("reading from the modem: {e}")),
            }
        }
        Ok(())
    }

    /// Sends `cmd` and returns the lines of its answer before the final `OK`; an `ERROR`,
    /// `+CME ERROR` or `+CMS ERROR` line is the error.
    fn command(&mut self, cmd: &str, wait: Duration) -> Result<Vec<String>, String> {
        self.pending.clear();
        self.write(format!("{cmd}\r").as_bytes())?;
        self.final_answer(Instant::now() + wait)
    }

    /// Reads lines until a final result code.
    fn final_answer(&mut self, deadline: Instant) -> Result<Vec<String>, String> {
        let mut lines = Vec::new();
        loop {
            self.read_until(deadline, |b| b.windows(2).any(|w| w == b"\r\n") || b.len() > MAX_LINE)?;
            let Some(end) = self.pending.windows(2).position(|w| w == b"\r\n") else {
                return Err("a line from the modem is too long".into());
            };
            let line = String::from_utf8_lossy(&self.pending[..end]).trim().to_owned();
            self.pending.drain(..end + 2);
            match line.as_str() {
                "" => {}
                "OK" => return Ok(lines),
                "ERROR" => return Err("ERROR".into()),
                l if l.starts_with("+CMS ERROR") || l.starts_with("+CME ERROR") => return Err(l.to_owned()),
                l => lines.push(l.to_owned()),
            }
        }
    }

    /// The texts stored on the SIM, by index: (sender in E.164, text). A PDU that does not read
    /// as a text from an international number is deleted unread and logged.
    fn received(&mut self) -> Result<Vec<(String, Received)>, String> {
        self.command("AT+CMGF=0", COMMAND_WAIT)?;
        let lines = self.command("AT+CMGL=4", COMMAND_WAIT)?;
        let mut out = Vec::new();
        let mut it = lines.iter();
        while let Some(head) = it.next() {
            let Some(rest) = head.strip_prefix("+CMGL:") else { continue };
            let index = rest.split(',').next().unwrap_or_default().trim().to_owned();
            if index.is_empty() || !index.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            let pdu = it.next().map(|l| hex::decode(l.trim()));
            let read = pdu.and_then(Result::ok).map(|p| domain::sms::read_deliver(&p));
            match read {
                Some(Ok(d)) if domain::sms::e164(&d.from).is_some() => {
                    out.push((index, (domain::sms::e164(&d.from).unwrap_or_default(), d.text)));
                }
                other => {
                    tracing::info!(%index, ?other, "a stored message that is not a text from a phone: deleted");
                    self.command(&format!("AT+CMGD={index}"), COMMAND_WAIT)?;
                }
            }
        }
        Ok(out)
    }

    /// `AT+CMGS=<length>`, the `>` prompt, the PDU in hex and Ctrl-Z; the message reference.
    fn send_pdu(&mut self, pdu: &[u8]) -> Result<String, String> {
        // The length counts the TPDU only, not the (empty) service centre address before it.
        let length = pdu.len().saturating_sub(1);
        self.pending.clear();
        self.write(format!("AT+CMGS={length}\r").as_bytes())?;
        let deadline = Instant::now() + COMMAND_WAIT;
        self.read_until(deadline, |b| b.contains(&b'>') || b.windows(5).any(|w| w == b"ERROR"))?;
        if !self.pending.contains(&b'>') {
            let said = self.final_answer(deadline).err().unwrap_or_default();
            return Err(format!("AT+CMGS refused: {said}"));
        }
        self.pending.clear();
        let mut body: Vec<u8> = hex::encode_upper(pdu).into_bytes();
        body.push(0x1A);
        self.write(&body)?;
        let lines = self.final_answer(Instant::now() + SEND_WAIT)?;
        lines
            .iter()
            .find_map(|l| l.strip_prefix("+CMGS:"))
            .map(|r| r.trim().to_owned())
            .ok_or_else(|| "the modem did not give a message reference".into())
    }
}
