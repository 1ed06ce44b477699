//! Matching for search boxes, the same on every node: case- and diacritics-insensitive
//! ("ostra" finds "Östra", "o" finds "ø"), and forgiving of Swedish word endings ("handske"
//! finds "Handskar").

use rust_stemmers::{Algorithm, Stemmer};
use std::sync::LazyLock;

static SWEDISH: LazyLock<Stemmer> = LazyLock::new(|| Stemmer::create(Algorithm::Swedish));

/// Lower case, with every letter reduced to ASCII (å→a, ö→o, ø→o, æ→ae, é→e).
pub fn fold(s: &str) -> String {
    deunicode::deunicode(s).to_lowercase()
}

/// A parsed search: each word must be found in the text, in any order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Query {
    /// Per word: the folded word and its stem (the stem may be the word itself).
    words: Vec<(String, String)>,
}

impl Query {
    pub fn new(q: &str) -> Self {
        let words = fold(q)
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(|w| {
                let stem = if w.len() > 3 { SWEDISH.stem(w).into_owned() } else { w.to_owned() };
                (w.to_owned(), stem)
            })
            .collect();
        Self { words }
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Whether every word occurs in `folded` (text already passed through [`fold`]), whole or
    /// by its stem.
    pub fn matches(&self, folded: &str) -> bool {
        self.words.iter().all(|(w, stem)| folded.contains(w.as_str()) || folded.contains(stem.as_str()))
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
