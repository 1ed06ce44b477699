//! The situation report's blank form on paper, for a unit without a working computer: the
//! organisation's fields, each with boxes for a light and lines for a comment, then needs and
//! free text. What is written on it is entered afterwards on `/reports/new`, marked "from paper".

use domain::reports::{FieldKind, Light, ReportField};

use super::binder::{heading, para};
use super::pdf::{Canvas, Header, PdfError, faces, line_height, render};
use crate::i18n::Lang;
use crate::reports::{field_label, light_word};

/// Lines to write on, each a rule with room above it.
fn lines(cv: &mut Canvas, n: usize) {
    for _ in 0..n {
        cv.room(line_height(10.0) * 1.6, false);
        cv.y += line_height(10.0) * 1.6;
        cv.rule(0.2);
    }
}

/// "[  ] Grön   [  ] Gul   [  ] Röd".
fn boxes(lang: Lang) -> String {
    Light::ALL.iter().map(|l| format!("[   ] {}", light_word(lang, *l))).collect::<Vec<_>>().join("      ")
}

/// The blank form with `fields`, printed on node `node`.
pub fn write(fields: &[ReportField], lang: Lang, node: u64) -> Result<Vec<u8>, PdfError> {
    let mut cv = Canvas::new(faces()?, lang, 2.0);
    cv.new_page(Header { title: lang.t("report.paper_title").to_owned(), subtitle: String::new(), urgent: false });
    para(&mut cv, lang.t("report.paper_intro"), 9.0, false, true);
    for key in ["unit", "written", "by"] {
        heading(&mut cv, lang.t(&format!("report.paper_{key}")));
        lines(&mut cv, 1);
    }
    heading(&mut cv, lang.t("report.light"));
    para(&mut cv, &boxes(lang), 10.0, false, false);
    for f in fields {
        heading(&mut cv, &field_label(lang, f));
        if f.kind == FieldKind::Light {
            para(&mut cv, &boxes(lang), 10.0, false, false);
        }
        lines(&mut cv, 2);
    }
    heading(&mut cv, lang.t("report.needs"));
    lines(&mut cv, 4);
    heading(&mut cv, lang.t("report.note"));
    lines(&mut cv, 4);
    let source = lang.tf("report.paper_printed", &[("node", &node.to_string())]);
    render(cv, "", &source, None)
}
