//! Matching for search boxes, the same on every node: case- and diacritics-insensitive
//! ("ostra" finds "Östra", "o" finds "ø"), and forgiving of Swedish word endings ("handske"
//! finds "Handskar").

use memchr::memmem::Finder;
use rust_stemmers::{Algorithm, Stemmer};
use std::sync::LazyLock;

static SWEDISH: LazyLock<Stemmer> = LazyLock::new(|| Stemmer::create(Algorithm::Swedish));

/// Lower case, with every letter reduced to ASCII (å→a, ö→o, ø→o, æ→ae, é→e).
pub fn fold(s: &str) -> String {
    deunicode::deunicode(s).to_lowercase()
}

/// A parsed search: each word must be found in the text, in any order.
#[derive(Clone, Debug, Default)]
pub struct Query {
    /// Per word: a finder for its stem, and one for the folded word itself when the stem is not
    /// a prefix of it (then either may match).
    words: Vec<(Finder<'static>, Option<Finder<'static>>)>,
}

impl Query {
    pub fn new(q: &str) -> Self {
        let words = fold(q)
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(|w| {
                let stem = if w.len() > 3 { SWEDISH.stem(w).into_owned() } else { w.to_owned() };
                let whole = (!w.starts_with(stem.as_str())).then(|| Finder::new(w).into_owned());
                (Finder::new(&stem).into_owned(), whole)
            })
            .collect();
        Self { words }
    }

    /// Per word: what to look for (its stem, and the whole word when the stem is not a prefix
    /// of it; a word matches where either occurs). For searching a large text in one pass.
    pub fn finders(&self) -> impl Iterator<Item = (&Finder<'static>, Option<&Finder<'static>>)> {
        self.words.iter().map(|(stem, whole)| (stem, whole.as_ref()))
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Whether every word occurs in `folded` (text already passed through [`fold`]), whole or
    /// by its stem.
    pub fn matches(&self, folded: &str) -> bool {
        let text = folded.as_bytes();
        self.words
            .iter()
            .all(|(stem, whole)| stem.find(text).is_some() || whole.as_ref().is_some_and(|w| w.find(text).is_some()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_case_and_diacritics() {
        assert_eq!(fold("Östra sjukhuset"), "ostra sjukhuset");
        assert_eq!(fold("Blåbærsyltetøy"), "blabaersyltetoy");
        assert_eq!(fold("Crème"), "creme");
    }

    #[test]
    fn words_match_whole_by_stem_and_in_any_order() {
        let text = fold("Handskar nitril, puderfria, storlek M – Östra");
        assert!(Query::new("handske").matches(&text));
        assert!(Query::new("ostra").matches(&text));
        assert!(Query::new("NITRIL handskar").matches(&text));
        assert!(Query::new("puder").matches(&text));
        assert!(!Query::new("latex").matches(&text));
        assert!(!Query::new("handske latex").matches(&text));
        assert!(Query::new("  ").is_empty());
        assert!(Query::new("7310").matches(&fold("GTIN 07310791234567")));
    }
}
