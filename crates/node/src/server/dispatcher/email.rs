//! E-mail delivery through the configured mail server (`[smtp]`): one message per job, to every
//! address of the channel, with the job's files attached and the job's message id as
//! `Message-ID`, so a resend after a crash is recognisably the same message.

use crate::config::{SmtpSection, SmtpSecurity};
use documents::dispatch::{File, Letter};
use domain::dispatch::DispatchJob;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

/// The leader's connection settings to the mail server, made once from the configuration.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    reply_to: Option<Mailbox>,
}

impl Mailer {
    pub fn new(cfg: &SmtpSection) -> anyhow::Result<Self> {
        type T = AsyncSmtpTransport<Tokio1Executor>;
        let builder = match cfg.security {
            SmtpSecurity::Starttls => T::starttls_relay(&cfg.host)?,
            SmtpSecurity::Tls => T::relay(&cfg.host)?,
            SmtpSecurity::None => T::builder_dangerous(&cfg.host),
        };
        let mut builder = builder.port(cfg.port()).timeout(Some(Duration::from_millis(cfg.timeout_ms)));
        if let (Some(user), Some(password)) = (&cfg.username, &cfg.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.expose().to_owned()));
        }
        Ok(Self {
            transport: builder.build(),
            from: cfg.from.parse()?,
            reply_to: cfg.reply_to.as_deref().map(str::parse).transpose()?,
        })
    }

    /// Sends one message: `Ok` with the server's answer, `Err` with what went wrong.
    pub async fn send(
        &self,
        job: &DispatchJob,
        to: &[String],
        letter: Letter,
        files: Vec<File>,
    ) -> Result<String, String> {
        let message = self.message(job, to, letter, files)?;
        match self.transport.send(message).await {
            Ok(r) => Ok(format!("SMTP {}: {}", r.code(), r.message().collect::<Vec<_>>().join(" "))),
            Err(e) => Err(format!("SMTP: {e}")),
        }
    }

    fn message(&self, job: &DispatchJob, to: &[String], letter: Letter, files: Vec<File>) -> Result<Message, String> {
        let mut b = Message::builder()
            .from(self.from.clone())
            .subject(letter.subject)
            .message_id(Some(format!("<{}>", job.message_id())))
            .date_now()
            .raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("X-Beredd-Job"), job.id.to_string()));
        if let Some(r) = &self.reply_to {
            b = b.reply_to(r.clone());
        }
        // A status notice: mail programs offer one-click unsubscribe (RFC 8058) and autoresponders
        // stay quiet (RFC 3834).
        if let Some(url) = &letter.unsubscribe {
            let header =
                |name: &'static str, value: String| HeaderValue::new(HeaderName::new_from_ascii_str(name), value);
            b = b
                .raw_header(header("List-Unsubscribe", format!("<{url}>")))
                .raw_header(header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click".into()))
                .raw_header(header("Auto-Submitted", "auto-generated".into()));
        }
        for address in to {
            b = b.to(address.parse::<Mailbox>().map_err(|e| format!("address {address:?}: {e}"))?);
        }
        let mut parts = MultiPart::mixed().singlepart(SinglePart::plain(letter.text));
        for f in files {
            let kind = ContentType::parse(f.content_type).map_err(|e| e.to_string())?;
            parts = parts.singlepart(Attachment::new(f.name).body(f.bytes, kind));
        }
        b.multipart(parts).map_err(|e| e.to_string())
    }
}
