//! Markdown from people (action cards) to HTML that is safe to put in a page: pulldown-cmark
//! renders it, ammonia keeps only an allow-list of tags and attributes. Images are dropped (a
//! page must not fetch anything from elsewhere), links may only be http(s), mailto or tel.

use pulldown_cmark::{Options, Parser, html};
use std::collections::HashSet;

pub fn to_html(md: &str) -> String {
    let mut options = Options::empty();
    options.insert(Options::ENABLE_TABLES);
    options.insert(Options::ENABLE_STRIKETHROUGH);
    options.insert(Options::ENABLE_TASKLISTS);
    let mut raw = String::new();
    html::push_html(&mut raw, Parser::new_ext(md, options));
    ammonia::Builder::default()
        .rm_tags(["img"])
        .url_schemes(HashSet::from(["http", "https", "mailto", "tel"]))
        .link_rel(Some("noopener noreferrer"))
        .clean(&raw)
        .to_string()
}

/// The same Markdown as plain text for print: list items numbered or bulleted on lines of
/// their own, emphasis dropped, links as their text.
pub fn to_text(md: &str) -> String {
    use pulldown_cmark::{Event, Tag, TagEnd};
    let mut out = String::new();
    // Per open list: the next number, or None for bullets.
    let mut lists: Vec<Option<u64>> = Vec::new();
    for ev in Parser::new_ext(md, Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES) {
        match ev {
            Event::Start(Tag::List(start)) => lists.push(start),
            Event::End(TagEnd::List(_)) => {
                lists.pop();
            }
            Event::Start(Tag::Item) => {
                if !out.is_empty() && !out.ends_with('\n') {
                    out.push('\n');
                }
                out.push_str(&"  ".repeat(lists.len().saturating_sub(1)));
                match lists.last_mut() {
                    Some(Some(n)) => {
                        out.push_str(&format!("{n}. "));
                        *n += 1;
                    }
                    _ => out.push_str("• "),
                }
            }
            Event::End(TagEnd::Item) if !out.ends_with('\n') => out.push('\n'),
            Event::Text(t) | Event::Code(t) => out.push_str(&t),
            Event::SoftBreak => out.push(' '),
            Event::HardBreak | Event::End(TagEnd::Paragraph | TagEnd::Heading(_) | TagEnd::TableRow) => out.push('\n'),
            Event::End(TagEnd::TableCell) => out.push_str("  "),
            _ => {}
        }
    }
    out.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn plain_text_keeps_the_numbering() {
        let t = super::to_text(
            "Gör så här:\n\n1. Ring **växeln**\n2. Gå till [entrén](https://x)\n   - ta med lampa\n\nKlart.",
        );
        assert_eq!(t, "Gör så här:\n1. Ring växeln\n2. Gå till entrén\n  • ta med lampa\nKlart.");
    }

    #[test]
    fn markup_survives_and_scripts_do_not() {
        let cases = [
            ("1. Ring **växeln**\n2. Gå", "<ol>\n<li>Ring <strong>växeln</strong></li>\n<li>Gå</li>\n</ol>\n"),
            ("<script>alert(1)</script>Hej", "Hej"),
            ("[x](javascript:alert(1))", "<p><a rel=\"noopener noreferrer\">x</a></p>\n"),
            ("![bild](http://example.org/a.png)", "<p></p>\n"),
            ("<img src=x onerror=alert(1)>", ""),
            ("[Ring](tel:+4610100)", "<p><a href=\"tel:+4610100\" rel=\"noopener noreferrer\">Ring</a></p>\n"),
            (
                "<a href=\"https://x.example\" onclick=\"evil()\">l</a>",
                "<p><a href=\"https://x.example\" rel=\"noopener noreferrer\">l</a></p>\n",
            ),
        ];
        for (md, want) in cases {
            assert_eq!(super::to_html(md), want, "{md}");
        }
    }
}
