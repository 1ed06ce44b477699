//! Which language a request is answered in: the `beredd_lang` cookie, else `Accept-Language`,
//! else Swedish. Pages and downloads choose the same way.

use axum::http::{HeaderMap, header};
use documents::i18n::{COOKIE, Lang};

/// The language of a request.
pub fn of_request(headers: &HeaderMap) -> Lang {
    let cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(COOKIE)?.strip_prefix('='))
        .and_then(Lang::parse);
    let accept =
        || headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).and_then(Lang::from_accept_language);
    cookie.or_else(accept).unwrap_or_default()
}
