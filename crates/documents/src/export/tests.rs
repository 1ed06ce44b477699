//! Files read back with real readers (the `csv` crate, calamine) and compared with the orders,
//! for random orders full of hostile text.

use super::*;
use calamine::{Data, Reader};
use domain::{ArticleId, OrderId, OrderStatus, UnitId};
use proptest::prelude::*;

fn hostile() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zåäöæøéA-Z ;,\"'=+@\\-\n\r\t]{0,40}",
        Just("=HYPERLINK(\"http://evil\")".to_owned()),
        Just("-1+1".to_owned()),
        Just("@SUM(A1)".to_owned()),
        Just("\u{202E}gnp.exe".to_owned()),
        Just("ä".repeat(500)),
        Just("Kompress; \"steril\"\n10x10".to_owned()),
    ]
}

fn doc(i: usize, names: &[String], qty: &[u32], price: Option<i64>) -> OrderDoc {
    let at = time::macros::datetime!(2026-11-23 10:00 UTC);
    let lines: Vec<LineDoc> = names
        .iter()
        .zip(qty)
        .enumerate()
        .map(|(n, (name, q))| LineDoc {
            line: domain::OrderLine {
                line_no: u32::try_from(n + 1).unwrap(),
                article_id: ArticleId::new(format!("a{n}")),
                quantity: *q,
                note: Some(name.clone()),
                received: 0,
            },
            article: Some(domain::Article {
                id: ArticleId::new(format!("a{n}")),
                article_number: format!("=A{n}"),
                gtin: Some("07350000000017".into()),
                name: name.clone(),
                unit: "BX".into(),
                pack_size: 10,
                supplier_id: domain::SupplierId::new("s"),
                category: "Förband".into(),
                price_cents: price,
                withdrawn: false,
                version: 1,
            }),
            supplier: None,
        })
        .collect();
    OrderDoc {
        order: domain::Order {
            id: OrderId::new(format!("o{i}")),
            number: format!("2026-{i:06}"),
            unit_id: UnitId::new("u"),
            lines: lines.iter().map(|l| l.line.clone()).collect(),
            note: names.first().cloned(),
            needed_by: Some(time::macros::date!(2026 - 12 - 01)),
            urgent: i.is_multiple_of(2),
            status: OrderStatus::Approved,
            version: 3,
            created_at: at,
            updated_at: at,
            history: vec![],
            exercise: None,
            drill: false,
        },
        unit: None,
        lines,
    }
}

/// What a spreadsheet shows for a text cell that we neutralised.
fn shown(s: &str) -> String {
    crate::export::csv::neutralise(s)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn csv_and_xlsx_read_back_as_the_orders(
        names in proptest::collection::vec(hostile(), 1..12),
        qty in proptest::collection::vec(1u32..100_000, 12),
        price in proptest::option::of(0i64..10_000_000),
        lang_ix in 0usize..3,
        quorum in any::<bool>(),
    ) {
        let lang = Lang::ALL[lang_ix];
        let at = time::macros::datetime!(2026-11-23 12:00 UTC);
        let b = Batch {
            orders: vec![doc(1, &names, &qty, price), doc(2, &names[..1], &qty, price)],
            node_id: 3,
            made_at: at,
            unconfirmed_since: (!quorum).then_some(at),
            queued_since: None,
        };
        // CSV, with the csv crate.
        let bytes = super::csv::write(&b, lang).unwrap();
        prop_assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
        let delimiter = if lang == Lang::En { b',' } else { b';' };
        let mut r = ::csv::ReaderBuilder::new().delimiter(delimiter).from_reader(&bytes[3..]);
        let rows: Vec<::csv::StringRecord> = r.records().collect::<Result<_, _>>().unwrap();
        prop_assert_eq!(rows.len(), names.len() + 1);
        for (row, (name, q)) in rows.iter().zip(names.iter().zip(&qty)) {
            prop_assert_eq!(&row[0], "2026-000001");
            prop_assert_eq!(row[13].to_owned(), shown(name));
            prop_assert_eq!(row[14].to_owned(), q.to_string());
            prop_assert!(!row[11].starts_with('='), "article numbers starting with = are neutralised");
            let expected_price = price.map(|p| {
                let point = if lang == Lang::En { "." } else { "," };
                format!("{}{point}{:02}", p / 100, p % 100)
            }).unwrap_or_default();
            prop_assert_eq!(row[18].to_owned(), expected_price);
            prop_assert_eq!(row[22].to_owned(), shown(&b.source(lang)));
            let warning = lang.t("export.unconfirmed").split(':').next().unwrap_or_default();
            prop_assert_eq!(row[22].contains(warning), !quorum);
        }
        // XLSX, with calamine.
        let bytes = super::xlsx::write(&b, lang).unwrap();
        let mut wb = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes)).unwrap();
        let sheets = wb.sheet_names();
        prop_assert_eq!(sheets.len(), 2);
        let lines = wb.worksheet_range(&sheets[1]).unwrap();
        let cells: Vec<Vec<Data>> = lines.rows().map(|r| r.to_vec()).collect();
        prop_assert_eq!(cells[0][0].to_string(), lang.t("order.number"));
        for (row, (name, q)) in cells[1..].iter().zip(names.iter().zip(&qty)) {
            prop_assert_eq!(row[13].to_string(), name.clone());
            prop_assert_eq!(&row[14], &Data::Float(f64::from(*q)));
            prop_assert!(matches!(row[1], Data::DateTime(_)), "{:?}", row[1]);
            if let Some(p) = price {
                #[allow(clippy::cast_precision_loss)]
                let want = p as f64 / 100.0;
                prop_assert_eq!(&row[18], &Data::Float(want));
            }
        }
        let summary = wb.worksheet_range(&sheets[0]).unwrap();
        prop_assert_eq!(summary.rows().filter(|r| r.first().is_some_and(|c| c.to_string().starts_with("2026-0"))).count(), 2);
    }
}

#[test]
fn a_thousand_line_batch_is_written_in_both_formats() {
    let names: Vec<String> = (0..1000).map(|i| format!("Kompress {i}; \"steril\"")).collect();
    let qty: Vec<u32> = (1..=1000).collect();
    let b = Batch {
        orders: vec![doc(1, &names, &qty, Some(1250))],
        node_id: 1,
        made_at: time::macros::datetime!(2026-11-23 12:00 UTC),
        unconfirmed_since: None,
        queued_since: None,
    };
    let csv = super::csv::write(&b, Lang::Sv).unwrap();
    assert_eq!(::csv::ReaderBuilder::new().delimiter(b';').from_reader(&csv[3..]).records().count(), 1000);
    let xlsx = super::xlsx::write(&b, Lang::Sv).unwrap();
    let mut wb = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(xlsx)).unwrap();
    let name = wb.sheet_names()[1].clone();
    assert_eq!(wb.worksheet_range(&name).unwrap().rows().count(), 1001 + 2);
    assert_eq!(
        file_name("Ljungberg & Söner AB", time::macros::date!(2026 - 11 - 23), "csv"),
        "beredd-ljungberg---soner-ab-2026-11-23.csv"
    );
}
