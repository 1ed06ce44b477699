//! `/suppliers/{id}/channel`: how a supplier receives orders — e-mail with the chosen files, a
//! signed webhook, or by hand — for purchasers and admins. The webhook secret is written here,
//! never shown: an empty field keeps the stored one. JSON twin: `/api/v1/suppliers/{id}/channel`.

use askama::Template;
use axum::Form;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use domain::channels::{Attachment, Channel, WebhookBody};
use domain::{Command, StateViewExt, SupplierId};

use super::chrome::{Chrome, Ctx, Error, PageResult, see_path, urlencode};
use super::form::{Errors, Fields};
use super::{Outcome, form_id, submit};

const ATTACHMENTS: [(Attachment, &str); 4] =
    [(Attachment::Pdf, "pdf"), (Attachment::Csv, "csv"), (Attachment::Xlsx, "xlsx"), (Attachment::Ubl, "ubl")];

/// The form's values, as stored or as typed (never the secret).
#[derive(Default)]
struct Values {
    kind: String,
    to: String,
    attach: Vec<&'static str>,
    url: String,
    body: String,
    has_secret: bool,
    how: String,
    phones: String,
}

impl Values {
    fn of(ch: Option<&Channel>, has_secret: bool) -> Self {
        match ch {
            Some(Channel::Email { to, attach }) => Self {
                kind: "email".into(),
                to: to.join("\n"),
                attach: ATTACHMENTS.iter().filter(|(a, _)| attach.contains(a)).map(|(_, n)| *n).collect(),
                ..Self::default()
            },
            Some(Channel::Webhook { url, body, .. }) => Self {
                kind: "webhook".into(),
                url: url.clone(),
                body: if *body == WebhookBody::Json { "json" } else { "ubl" }.into(),
                has_secret,
                attach: vec!["pdf"],
                ..Self::default()
            },
            Some(Channel::Manual { how }) => {
                Self { kind: "manual".into(), how: how.clone(), attach: vec!["pdf"], ..Self::default() }
            }
            Some(Channel::Sms { to }) => {
                Self { kind: "sms".into(), phones: to.join("\n"), attach: vec!["pdf"], ..Self::default() }
            }
            None => Self { kind: "email".into(), attach: vec!["pdf", "ubl"], ..Self::default() },
        }
    }
}

#[derive(Template)]
#[template(path = "channels/form.html")]
struct ChannelPage {
    c: Chrome,
    supplier_id: String,
    supplier: String,
    version: Option<u64>,
    v: Values,
    form: String,
    errors: Errors,
}

impl ChannelPage {
    fn attach_list(&self) -> &'static [(Attachment, &'static str)] {
        &ATTACHMENTS
    }
    fn attached(&self, name: &&str) -> bool {
        self.v.attach.contains(name)
    }
    fn label(&self, a: &Attachment) -> &'static str {
        super::dispatch::attachment_label(self.c.lang, *a)
    }
}

fn show(ctx: Ctx, id: &str, v: Option<Values>, errors: Errors, status: StatusCode) -> PageResult {
    let ctx = ctx.in_section("purchasing");
    if !ctx.c.may_purchase() {
        return Err(ctx.forbidden());
    }
    let view = ctx.backend.view();
    let sid = SupplierId::new(id);
    let Some(supplier) = view.supplier(&sid)? else { return Err(ctx.not_found()) };
    let stored = view.channel(&sid)?;
    let has_secret = stored.as_ref().is_some_and(|s| s.redacted().1);
    let v = v.unwrap_or_else(|| Values::of(stored.as_ref().map(|s| &s.channel), has_secret));
    let page = ChannelPage {
        c: ctx.c,
        supplier_id: supplier.id.to_string(),
        supplier: supplier.name,
        version: stored.map(|s| s.version),
        v: Values { has_secret, ..v },
        form: form_id(),
        errors,
    };
    let html = page.render().map_err(Error::internal)?;
    Ok((status, Html(html)).into_response())
}

/// `GET /suppliers/{id}/channel`.
pub async fn page(ctx: Ctx, Path(id): Path<String>) -> PageResult {
    show(ctx, &id, None, Errors::default(), StatusCode::OK)
}

/// `POST /suppliers/{id}/channel`.
pub async fn save(ctx: Ctx, Path(id): Path<String>, Form(f): Form<Vec<(String, String)>>) -> PageResult {
    let f = Fields(f);
    let user = ctx.user()?;
    ctx.check_csrf(f.csrf())?;
    let lang = ctx.lang();
    let typed = Values {
        kind: f.text("kind"),
        to: f.text("to"),
        attach: ATTACHMENTS.iter().filter(|(_, n)| f.flag(&format!("attach_{n}"))).map(|(_, n)| *n).collect(),
        url: f.text("url"),
        body: f.text("body"),
        has_secret: false,
        how: f.text("how"),
        phones: f.text("phones"),
    };
    let channel = match typed.kind.as_str() {
        "email" => Channel::Email {
            to: typed
                .to
                .split(|ch: char| ch == ',' || ch == ';' || ch.is_whitespace())
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            attach: ATTACHMENTS.iter().filter(|(_, n)| typed.attach.contains(n)).map(|(a, _)| *a).collect(),
        },
        "webhook" => Channel::Webhook {
            url: typed.url.clone(),
            body: if typed.body == "json" { WebhookBody::Json } else { WebhookBody::Ubl },
            secret: Some(f.text("secret")).filter(|s| !s.is_empty()),
        },
        "manual" => Channel::Manual { how: typed.how.clone() },
        "sms" => Channel::Sms {
            to: typed.phones.lines().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect(),
        },
        _ => {
            let mut errors = Errors::default();
            errors.add("kind", lang.t("problem.required"));
            return show(ctx, &id, Some(typed), errors, StatusCode::UNPROCESSABLE_ENTITY);
        }
    };
    let expected_version = f.get("version").and_then(|v| v.parse().ok());
    let cmd = Command::SetChannel { supplier_id: SupplierId::new(&id), expected_version, channel };
    match submit(&ctx, &user, f.get("form"), cmd).await? {
        Outcome::Saved { .. } => see_path(&format!("/suppliers/{}/channel?done=saved", urlencode(&id))),
        Outcome::Queued { seq } => see_path(&Outcome::queued_path(seq)),
        Outcome::Refused { message, field, .. } => {
            let mut errors = Errors::default();
            // `to[2]` is the third address: the field is the list.
            match field.as_deref().map(|f| f.split('[').next().unwrap_or(f)) {
                Some(k @ ("to" | "attach" | "url" | "secret" | "how")) => errors.add(k, message),
                _ => errors.form = Some(message),
            }
            show(ctx, &id, Some(typed), errors, StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}
