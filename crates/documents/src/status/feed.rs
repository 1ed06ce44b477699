//! `/status/feed.atom`: an Atom feed (RFC 4287) with one entry per incident update and per
//! maintenance change, newest first, so a feed reader shows every step. Written with quick-xml;
//! text is plain (`type="text"`), so nothing a communicator types can become markup.

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::Board;
use crate::i18n::Lang;

/// Most entries in the feed.
const MAX_ENTRIES: usize = 100;

struct Entry {
    id: String,
    title: String,
    updated: OffsetDateTime,
    published: OffsetDateTime,
    link: String,
    content: String,
}

/// The feed for `board`, with absolute links under `base` (e.g. `http://beredd1:8081`).
pub fn write(board: &Board, lang: Lang, base: &str) -> Vec<u8> {
    let mut entries = Vec::new();
    for iv in board.incidents.iter().chain(&board.resolved) {
        let i = &iv.incident;
        for (n, u) in i.updates.iter().enumerate() {
            let mut content = u.body.clone();
            if !iv.system_names.is_empty() {
                content += &format!("\n{}: {}", lang.t("board.affected"), iv.system_names.join(", "));
            }
            if n + 1 == i.updates.len()
                && let Some(due) = i.next_update_due
            {
                content += &format!("\n{}: {}", lang.t("board.next_update"), lang.datetime(due));
            }
            entries.push(Entry {
                id: format!("urn:beredd:incident:{}:{n}", i.id),
                title: crate::exercises::marked(
                    lang,
                    i.exercise.as_ref(),
                    &format!("{}: {}", lang.t(&format!("board.stage_{}", u.stage)), i.title),
                ),
                updated: u.at,
                published: u.at,
                link: format!("{base}/status#incident-{}", i.id),
                content,
            });
        }
    }
    for m in &board.maintenance {
        for (n, u) in m.updates.iter().enumerate() {
            let step = match u.stage.parse::<usize>() {
                Ok(k) => lang.tf(
                    "board.stage_of",
                    &[
                        ("k", &k.to_string()),
                        ("n", &m.stages.len().to_string()),
                        ("name", m.stages.get(k.saturating_sub(1)).map_or("", String::as_str)),
                    ],
                ),
                Err(_) => lang.t(&format!("board.phase_{}", u.stage)).to_owned(),
            };
            let window = format!("{} – {}", lang.datetime(m.starts_at), lang.datetime(m.ends_at));
            entries.push(Entry {
                id: format!("urn:beredd:maintenance:{}:{n}", m.id),
                title: format!("{}: {} ({step})", lang.t("board.maintenance_one"), m.title),
                updated: u.at,
                published: u.at,
                link: format!("{base}/status#maintenance-{}", m.id),
                content: [u.body.as_str(), &window]
                    .iter()
                    .filter(|s| !s.is_empty())
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("\n"),
            });
        }
    }
    for b in &board.notices {
        let sites = if b.sites.is_empty() { lang.t("banner.every_site").to_owned() } else { b.sites.join(", ") };
        entries.push(Entry {
            id: format!("urn:beredd:banner:{}:{}", b.id, b.version),
            title: format!("{}: {}", lang.t(&format!("banner.level_{}", b.level.as_str())), b.text),
            updated: b.changed_at,
            published: b.changed_at,
            link: format!("{base}/status#banner-{}", b.id),
            content: format!("{}\n{sites}\n{} – {}", b.text, lang.datetime(b.starts_at), lang.datetime(b.ends_at)),
        });
    }
    entries.sort_by_key(|e| std::cmp::Reverse(e.updated));
    entries.truncate(MAX_ENTRIES);
    let updated = entries.first().map_or(board.generated_at, |e| e.updated);
    render(&entries, lang, base, updated).unwrap_or_default()
}

fn ts(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

fn render(entries: &[Entry], lang: Lang, base: &str, updated: OffsetDateTime) -> std::io::Result<Vec<u8>> {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 1);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("utf-8"), None)))?;
    let mut feed = BytesStart::new("feed");
    feed.push_attribute(("xmlns", "http://www.w3.org/2005/Atom"));
    feed.push_attribute(("xml:lang", lang.code()));
    w.write_event(Event::Start(feed))?;
    leaf(&mut w, "id", &[], "urn:beredd:status")?;
    leaf(&mut w, "title", &[("type", "text")], lang.t("board.feed_title"))?;
    leaf(&mut w, "updated", &[], &ts(updated))?;
    let self_link = format!("{base}/status/feed.atom");
    let page = format!("{base}/status");
    empty(&mut w, "link", &[("rel", "self"), ("type", "application/atom+xml"), ("href", &self_link)])?;
    empty(&mut w, "link", &[("rel", "alternate"), ("type", "text/html"), ("href", &page)])?;
    w.write_event(Event::Start(BytesStart::new("author")))?;
    leaf(&mut w, "name", &[], "beredd")?;
    w.write_event(Event::End(BytesEnd::new("author")))?;
    for e in entries {
        w.write_event(Event::Start(BytesStart::new("entry")))?;
        leaf(&mut w, "id", &[], &e.id)?;
        leaf(&mut w, "title", &[("type", "text")], &e.title)?;
        leaf(&mut w, "updated", &[], &ts(e.updated))?;
        leaf(&mut w, "published", &[], &ts(e.published))?;
        empty(&mut w, "link", &[("rel", "alternate"), ("type", "text/html"), ("href", &e.link)])?;
        leaf(&mut w, "content", &[("type", "text")], &e.content)?;
        w.write_event(Event::End(BytesEnd::new("entry")))?;
    }
    w.write_event(Event::End(BytesEnd::new("feed")))?;
    Ok(w.into_inner())
}

/// XML 1.0 cannot carry most control characters at all: they become spaces.
fn clean(s: &str) -> String {
    s.chars().map(|c| if c < ' ' && !matches!(c, '\t' | '\n' | '\r') { ' ' } else { c }).collect()
}

fn leaf(w: &mut Writer<Vec<u8>>, name: &str, attrs: &[(&str, &str)], text: &str) -> std::io::Result<()> {
    let mut start = BytesStart::new(name);
    for a in attrs {
        start.push_attribute(*a);
    }
    w.write_event(Event::Start(start))?;
    w.write_event(Event::Text(BytesText::new(&clean(text))))?;
    w.write_event(Event::End(BytesEnd::new(name)))
}

fn empty(w: &mut Writer<Vec<u8>>, name: &str, attrs: &[(&str, &str)]) -> std::io::Result<()> {
    let mut start = BytesStart::new(name);
    for a in attrs {
        start.push_attribute(*a);
    }
    w.write_event(Event::Empty(start))
}
