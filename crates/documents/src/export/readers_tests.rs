//! PDF and PEPPOL files read back with the tools they are made for: `pdftotext` and `pdftoppm`
//! (poppler) for the PDFs, and the PEPPOL validator (UBL schema + the official T01 rules, in
//! `tests/peppol`) for the XML, over random orders full of hostile text and the demo data.

use super::*;
use domain::{ArticleId, CommandId, Envelope, MemState, OrderId, OrderStatus, StateView, StateViewExt, UnitId};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use std::path::{Path, PathBuf};
use std::process::Command as Process;

fn hostile() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zåäöæøéA-Z0-9 ;,\"'=+@<>&\\-\n\t]{1,40}",
        Just("=HYPERLINK(\"http://evil\")".to_owned()),
        Just("@SUM(A1)".to_owned()),
        Just("Sårvård \u{200F}شاش\u{200F} Østre".to_owned()),
        Just("\u{202E}gnp.exe".to_owned()),
        Just("ä".repeat(500)),
        Just("Kompress; \"steril\"\n10x10 <b>&amp;</b>".to_owned()),
        Just("Ctrl\u{1}char\u{7}".to_owned()),
    ]
}

fn sample<T: std::fmt::Debug>(runner: &mut TestRunner, s: impl Strategy<Value = T>) -> T {
    s.new_tree(runner).expect("strategy").current()
}

fn organisation() -> domain::Organisation {
    domain::Organisation {
        name: "Region Sjölanda".into(),
        org_number: Some("232100-0016".into()),
        gln: Some(domain::gtin::with_check_digit("735000900000")),
        country: "SE".into(),
        currency: "SEK".into(),
        address: vec!["Box 1100".into(), "412 81 Ekbacka".into()],
        contact_name: Some("Inköp jour".into()),
        phone: Some("031-390 06 00".into()),
        email: Some("inkop@sjolanda.example".into()),
        version: 1,
    }
}

fn supplier(org_number: &str, gln: Option<String>, name: String) -> domain::Supplier {
    domain::Supplier {
        id: domain::SupplierId::new("s1"),
        name,
        org_number: Some(org_number.into()),
        gln,
        email: Some("order@s.example".into()),
        phone: Some("08-465 004 12".into()),
        country: Some(if org_number.len() == 9 { "NO" } else { "SE" }.into()),
        address: vec!["Fabriksgatan 7".into(), "412 50 Göteborg".into()],
        withdrawn: false,
        version: 1,
    }
}

struct Case {
    names: Vec<String>,
    qty: Vec<u32>,
    prices: Vec<Option<i64>>,
    units: Vec<&'static str>,
    note: String,
    urgent: bool,
    quorum: bool,
    lang: Lang,
}

fn random_case(runner: &mut TestRunner, lines: std::ops::Range<usize>) -> Case {
    let n = sample(runner, lines);
    Case {
        names: sample(runner, proptest::collection::vec(hostile(), n)),
        qty: sample(runner, proptest::collection::vec(1u32..1_000_000, n)),
        prices: sample(runner, proptest::collection::vec(proptest::option::weighted(0.8, 0i64..100_000_000), n)),
        units: sample(runner, proptest::collection::vec(proptest::sample::select(domain::units::CODES), n)),
        note: sample(runner, hostile()),
        urgent: sample(runner, any::<bool>()),
        quorum: sample(runner, any::<bool>()),
        lang: sample(runner, proptest::sample::select(Lang::ALL.to_vec())),
    }
}

fn order_doc(i: usize, c: &Case, s: &domain::Supplier) -> OrderDoc {
    let at = time::macros::datetime!(2026-11-23 10:00 UTC);
    let lines: Vec<LineDoc> = (0..c.names.len())
        .map(|n| LineDoc {
            line: domain::OrderLine {
                line_no: u32::try_from(n + 1).unwrap(),
                article_id: ArticleId::new(format!("a{n}")),
                quantity: c.qty[n],
                note: (n % 3 == 0).then(|| c.note.clone()),
                received: 0,
            },
            article: Some(domain::Article {
                id: ArticleId::new(format!("a{n}")),
                article_number: format!("=ML-{n}"),
                gtin: (n % 2 == 0).then(|| domain::gtin::with_check_digit(&format!("0735000{n:06}"))),
                name: c.names[n].clone(),
                unit: c.units[n].to_owned(),
                pack_size: if n % 2 == 0 { 100 } else { 1 },
                supplier_id: s.id.clone(),
                category: "Förband".into(),
                price_cents: c.prices[n],
                withdrawn: false,
                version: 1,
            }),
            supplier: Some(s.clone()),
        })
        .collect();
    let unit = domain::CareUnit {
        id: UnitId::new("ekb-iva"),
        name: format!("IVA {}", c.names[0].chars().take(30).collect::<String>()),
        site: "Ekbacka universitetssjukhus".into(),
        cost_centre: Some("EK-4110".into()),
        delivery_address: vec!["Godsmottagning hus 3".into(), "IVA, plan 3".into(), "412 80 Ekbacka".into()],
        contact_name: Some("Förrådsansvarig".into()),
        phone: Some("031-390 06 10".into()),
        withdrawn: false,
        version: 1,
    };
    OrderDoc {
        order: domain::Order {
            id: OrderId::new(format!("o{i}")),
            number: format!("2026-{i:06}"),
            unit_id: unit.id.clone(),
            lines: lines.iter().map(|l| l.line.clone()).collect(),
            note: Some(c.note.clone()),
            needed_by: Some(time::macros::date!(2026 - 12 - 01)),
            urgent: c.urgent,
            status: OrderStatus::Approved,
            version: 3,
            created_at: at,
            updated_at: at,
            history: vec![],
            exercise: None,
            drill: false,
        },
        unit: Some(unit),
        lines,
    }
}

fn batch(orders: Vec<OrderDoc>, quorum: bool) -> Batch {
    let at = time::macros::datetime!(2026-11-23 12:00 UTC);
    Batch { orders, node_id: 2, made_at: at, unconfirmed_since: (!quorum).then_some(at), queued_since: None }
}

/// Text as the PDF shows it, without any white space (wrapping puts breaks anywhere).
fn squeeze(s: &str) -> String {
    s.chars()
        .filter(|c| !pdf_invisible(*c))
        .map(|c| if c.is_control() { ' ' } else { c })
        .filter(|c| !c.is_whitespace())
        .collect()
}

fn pdf_invisible(c: char) -> bool {
    matches!(c, '\u{AD}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

fn pdftotext(path: &Path) -> String {
    let out = Process::new("pdftotext")
        .args(["-raw", "-enc", "UTF-8"])
        .arg(path)
        .arg("-")
        .output()
        .expect("pdftotext (Debian poppler-utils) must be installed: scripts/install-deps.sh --test");
    assert!(out.status.success(), "pdftotext failed on {}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// The PEPPOL validator: `tests/peppol/validate.py` with the venv's Python (lxml, saxonche).
fn validate(files: &[PathBuf]) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let python = std::env::var("PEPPOL_PYTHON").map(PathBuf::from).unwrap_or_else(|_| {
        let venv = PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/beredd-venv/bin/python");
        if venv.exists() { venv } else { PathBuf::from("python3") }
    });
    let out = Process::new(&python)
        .arg(root.join("tests/peppol/validate.py"))
        .args(files)
        .output()
        .expect("python for the PEPPOL validator");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "PEPPOL validation failed ({}; needs lxml and saxonche: scripts/ensure-venv.sh):\n{report}\n{}",
        python.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(report.lines().filter(|l| l.starts_with("ok ")).count(), files.len(), "{report}");
}

#[test]
fn pdf_and_peppol_files_read_back_as_the_orders() {
    let dir = tempfile::tempdir().unwrap();
    let mut runner = TestRunner::deterministic();
    let buyer = organisation();
    let mut xml_files = Vec::new();
    for i in 0..24 {
        let c = random_case(&mut runner, 1..14);
        let s = match i % 3 {
            0 => supplier("556734-2182", Some(domain::gtin::with_check_digit("735204100000")), c.names[0].clone()),
            1 => supplier("556734-2182", None, "Medilux Sjukvård AB".into()),
            _ => supplier("987 654 325", None, "Nordisk Helse AS".into()),
        };
        let b = batch(vec![order_doc(i + 1, &c, &s), order_doc(i + 100, &c, &s)], c.quorum);
        let lang = c.lang;

        // PDF, per order and consolidated, read back with pdftotext.
        for layout in [pdf::Layout::PerOrder, pdf::Layout::Consolidated] {
            let bytes = pdf::write(&b, Some(&buyer), lang, layout).unwrap();
            let path = dir.path().join(format!("case-{i}-{layout:?}.pdf"));
            std::fs::write(&path, &bytes).unwrap();
            let text = pdftotext(&path);
            let flat = squeeze(&text);
            for d in &b.orders {
                assert!(flat.contains(&squeeze(&d.order.number)), "case {i}: order number missing:\n{text}");
            }
            for (n, name) in c.names.iter().enumerate() {
                let name = squeeze(name);
                assert!(flat.contains(&name), "case {i} {layout:?}: line {n} name {name:?} missing:\n{text}");
                assert!(flat.contains(&squeeze(&format!("=ML-{n}"))), "case {i}: article number {n} missing");
                assert!(flat.contains(&squeeze(&lang.int(i64::from(c.qty[n])))), "case {i}: quantity of line {n}");
            }
            assert!(flat.contains(&squeeze(&buyer.name)) && flat.contains(&squeeze(&s.name)), "case {i}: parties");
            assert_eq!(flat.contains(&squeeze(lang.t("pdf.urgent"))), c.urgent, "case {i}: urgent marking");
            let pages = text.matches('\u{c}').count();
            let last = lang.tf("pdf.page", &[("n", &pages.to_string()), ("total", &pages.to_string())]);
            assert!(flat.contains(&squeeze(&last)), "case {i}: {last:?} missing");
            let warning = squeeze(lang.t("export.unconfirmed").split(':').next().unwrap_or_default());
            assert_eq!(flat.contains(&warning), !c.quorum, "case {i}: the no-quorum warning");
        }

        // PEPPOL: one XML per order (a ZIP for the batch), all validated below.
        let single = batch(vec![b.orders[0].clone()], c.quorum);
        let (xml, zipped) = ubl::write(&single, Some(&buyer), lang).unwrap();
        assert!(!zipped);
        let path = dir.path().join(format!("case-{i}.xml"));
        std::fs::write(&path, &xml).unwrap();
        xml_files.push(path);
        let (zip, zipped) = ubl::write(&b, Some(&buyer), lang).unwrap();
        assert!(zipped);
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
        assert_eq!(archive.len(), 2);
        for k in 0..archive.len() {
            let mut f = archive.by_index(k).unwrap();
            let path = dir.path().join(format!("case-{i}-zip-{k}.xml"));
            let mut out = std::fs::File::create(&path).unwrap();
            std::io::copy(&mut f, &mut out).unwrap();
            xml_files.push(path);
        }
    }
    validate(&xml_files);
}

#[test]
fn peppol_names_what_is_missing_instead_of_writing_a_broken_file() {
    let mut runner = TestRunner::deterministic();
    let c = random_case(&mut runner, 1..3);
    let mut s = supplier("556734-2182", None, "Medilux Sjukvård AB".into());
    s.org_number = None;
    s.country = None;
    let b = batch(vec![order_doc(1, &c, &s)], true);
    let Err(ubl::UblError::Incomplete(problems)) = ubl::write(&b, None, Lang::En) else {
        panic!("an incomplete order made a file")
    };
    let keys: Vec<&str> = problems.iter().map(|p| p.key).collect();
    assert_eq!(keys, ["peppol.no_buyer", "peppol.supplier_endpoint", "peppol.supplier_country"]);
    assert_eq!(
        problems[1].text(Lang::Sv),
        "leverantören Medilux Sjukvård AB saknar giltigt organisationsnummer eller GLN."
    );
    let mut buyer = organisation();
    buyer.org_number = Some("232100-0017".into());
    buyer.gln = None;
    let Err(ubl::UblError::Incomplete(problems)) = ubl::write(&b, Some(&buyer), Lang::En) else {
        panic!("a buyer without a valid id made a file")
    };
    assert_eq!(problems[0].key, "peppol.buyer_endpoint");
}

/// Every demo supplier's approved orders, as the demo cluster holds them: one PEPPOL file per
/// order passes the validator, and the PDF's first page renders (looked at in `pdftoppm`).
#[test]
fn the_demo_data_makes_valid_peppol_files_and_pdfs() {
    let mut state = MemState::default();
    let at = time::macros::datetime!(2026-11-20 08:00 UTC);
    for (n, (id, cmd)) in domain::demo_data::demo_commands().into_iter().enumerate() {
        let env = Envelope { id: CommandId::new(id.as_str()), at, origin: 1, actor: None, cmd };
        let (_, changes) = domain::apply(&state, &env, n as u64 + 1).unwrap();
        state.write(changes);
    }
    let buyer = state.organisation().unwrap();
    assert!(buyer.is_some(), "the demo sets the buyer organisation");
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    let orders: Vec<domain::Order> = state
        .scan(domain::Table::Order, None, usize::MAX)
        .unwrap()
        .into_iter()
        .filter_map(|r| match r {
            domain::Record::Order(o) => Some(o),
            _ => None,
        })
        .collect();
    let suppliers: Vec<domain::Supplier> =
        domain::demo_data::demo().suppliers.iter().map(|s| state.supplier(&s.id).unwrap().unwrap()).collect();
    let mut units = std::collections::BTreeSet::new();
    for s in &suppliers {
        let docs: Vec<OrderDoc> = orders
            .iter()
            .map(|o| super::order_doc(&state, o.clone(), Some(&s.id)).unwrap())
            .filter(|d| !d.lines.is_empty())
            .collect();
        if docs.is_empty() {
            continue;
        }
        units.extend(
            docs.iter().flat_map(|d| d.lines.iter()).filter_map(|l| l.article.as_ref()).map(|a| a.unit.clone()),
        );
        let b = batch(docs, false);
        for (name, xml) in ubl::documents(&b, buyer.as_ref(), Lang::Sv).unwrap() {
            let path = dir.path().join(format!("{name}-{}.xml", s.id));
            std::fs::write(&path, xml).unwrap();
            files.push(path);
        }
        let pdf = pdf::write(&b, buyer.as_ref(), Lang::Sv, pdf::Layout::Consolidated).unwrap();
        let path = dir.path().join(format!("{}.pdf", s.id));
        std::fs::write(&path, pdf).unwrap();
        let status = Process::new("pdftoppm")
            .args(["-png", "-r", "40", "-f", "1", "-l", "1", "-singlefile"])
            .arg(&path)
            .arg(dir.path().join(s.id.as_str()))
            .status()
            .expect("pdftoppm");
        assert!(status.success());
        let png = std::fs::read(dir.path().join(format!("{}.png", s.id))).unwrap();
        // To look at them: BEREDD_EXPORT_ARTIFACTS=dir cargo test -p web the_demo_data
        if let Ok(keep) = std::env::var("BEREDD_EXPORT_ARTIFACTS") {
            std::fs::create_dir_all(&keep).unwrap();
            std::fs::copy(&path, Path::new(&keep).join(format!("{}.pdf", s.id))).unwrap();
            std::fs::write(Path::new(&keep).join(format!("{}.png", s.id)), &png).unwrap();
            let per_order = pdf::write(&b, buyer.as_ref(), Lang::Sv, pdf::Layout::PerOrder).unwrap();
            std::fs::write(Path::new(&keep).join(format!("{}-per-order.pdf", s.id)), per_order).unwrap();
        }
        assert!(png.starts_with(b"\x89PNG") && png.len() > 2000, "first page rendered");
    }
    assert!(files.len() >= 10, "{} files", files.len());
    assert!(units.len() >= 5, "the demo orders use several units of measure: {units:?}");
    validate(&files);
}

#[test]
fn the_unit_codes_all_pass_peppol() {
    // Every unit an article may have, as the quantity's unit code of one line.
    let buyer = organisation();
    let s = supplier("556734-2182", None, "Medilux Sjukvård AB".into());
    let n = domain::units::CODES.len();
    let c = Case {
        names: (0..n).map(|i| format!("Artikel {i}")).collect(),
        qty: vec![1; n],
        prices: vec![Some(100); n],
        units: domain::units::CODES.to_vec(),
        note: "Obs".into(),
        urgent: false,
        quorum: true,
        lang: Lang::Sv,
    };
    let dir = tempfile::tempdir().unwrap();
    let (xml, _) = ubl::write(&batch(vec![order_doc(1, &c, &s)], true), Some(&buyer), Lang::Sv).unwrap();
    let path = dir.path().join("units.xml");
    std::fs::write(&path, xml).unwrap();
    validate(&[path]);
}
