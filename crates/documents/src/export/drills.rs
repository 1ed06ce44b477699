//! A failover drill's report as one A4 PDF for the binder: what was done, the figures, the
//! write tally, and each node before and after.

use domain::drills::{DrillNode, DrillReport};

use super::binder::{heading, para};
use super::pdf::{Canvas, Header, PdfError, faces, render};
use crate::i18n::Lang;

fn seconds(lang: Lang, ms: Option<u64>) -> String {
    ms.map_or_else(|| lang.t("drill.never").to_owned(), |m| format!("{:.2} s", m as f64 / 1000.0))
}

fn nodes(cv: &mut Canvas, lang: Lang, title: &str, list: &[DrillNode]) {
    heading(cv, title);
    for n in list {
        let line = if n.reachable {
            lang.tf(
                "drill.node_line",
                &[
                    ("id", &n.id.to_string()),
                    ("role", &n.role),
                    ("leader", &n.leader_id.map_or("–".to_owned(), |l| l.to_string())),
                    ("term", &n.term.to_string()),
                    ("index", &n.last_applied_index.to_string()),
                ],
            )
        } else {
            lang.tf("drill.node_unreachable", &[("id", &n.id.to_string())])
        };
        para(cv, &line, 9.0, false, !n.reachable);
    }
}

/// The report's PDF, printed on node `node`.
pub fn write(r: &DrillReport, lang: Lang, node: u64) -> Result<Vec<u8>, PdfError> {
    let mut cv = Canvas::new(faces()?, lang, 2.0);
    cv.new_page(Header { title: lang.t("drill.title").to_owned(), subtitle: r.id.to_string(), urgent: !r.ok });
    let result = if r.ok { lang.t("drill.result_ok") } else { lang.t("drill.result_problem") };
    para(&mut cv, result, 12.0, true, false);
    let w = &r.writes;
    let facts = [
        (lang.t("drill.started"), lang.datetime(r.started_at)),
        (lang.t("drill.action"), r.action.clone()),
        (lang.t("drill.old_leader"), r.old_leader.to_string()),
        (lang.t("drill.new_leader"), r.new_leader.map_or_else(|| lang.t("drill.none").to_owned(), |l| l.to_string())),
        (lang.t("drill.without_leader"), seconds(lang, r.without_leader_ms)),
        (lang.t("drill.first_ack"), seconds(lang, r.first_ack_ms)),
        (lang.t("drill.acknowledged"), w.acknowledged.to_string()),
        (lang.t("drill.failed"), w.failed.to_string()),
        (
            lang.t("drill.unknown"),
            lang.tf("drill.unknown_value", &[("n", &w.unknown.to_string()), ("landed", &w.unknown_landed.to_string())]),
        ),
        (lang.t("drill.lost"), w.lost.to_string()),
        (lang.t("drill.cancelled"), r.drill_orders_cancelled.to_string()),
        (lang.t("drill.recorded_by"), r.recorded_by.clone().unwrap_or_default()),
    ];
    heading(&mut cv, lang.t("drill.figures"));
    for (label, value) in facts {
        para(&mut cv, &format!("{label}: {value}"), 10.0, false, false);
    }
    if !r.lost_ids.is_empty() {
        heading(&mut cv, lang.t("drill.lost_ids"));
        para(&mut cv, &r.lost_ids.join(", "), 9.0, true, false);
    }
    nodes(&mut cv, lang, lang.t("drill.before"), &r.before);
    nodes(&mut cv, lang, lang.t("drill.after"), &r.after);
    heading(&mut cv, lang.t("drill.how"));
    para(&mut cv, lang.t("drill.how_text"), 9.0, false, true);
    let source = lang.tf("drill.printed", &[("node", &node.to_string())]);
    render(cv, "", &source, None)
}
