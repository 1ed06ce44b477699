//! Property tests of every parser that takes user input: form numbers and dates, search
//! queries, `Accept-Language`, CSV and XLSX imports. None may panic on any input, what the
//! pages print must parse back to the same value, and a workbook is refused by its declared
//! sizes exactly when they pass the limits.

use crate::i18n::Lang;
use crate::i18n::{parse_count, parse_date, parse_money};
use crate::import::limits::{self, MAX_CELLS, MAX_ROWS, MAX_SHARED_STRINGS, check_workbook};
use crate::import::{ImportKind, read_csv, read_workbook, rows};
use crate::read_model::Index;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn form_parsers_never_panic(s in ".{0,40}") {
        let _ = parse_money(&s);
        let _ = parse_count(&s);
        let _ = parse_date(&s);
        let _ = Lang::from_accept_language(&s);
        let q = domain::search::Query::new(&s);
        let _ = q.matches("handskar nitril");
    }

    #[test]
    fn amounts_printed_in_any_language_parse_back(cents in 0i64..10_000_000_000) {
        for lang in Lang::ALL {
            prop_assert_eq!(parse_money(&lang.money(cents)), Some(cents), "{}", lang.money(cents));
        }
    }

    #[test]
    fn dates_printed_in_swedish_and_bokmal_parse_back(jd in 2_400_000i32..2_600_000) {
        let d = time::Date::from_julian_day(jd).unwrap();
        prop_assert_eq!(parse_date(&Lang::Sv.date(d)), Some(d));
        prop_assert_eq!(parse_date(&Lang::Nb.date(d)), Some(d));
    }

    #[test]
    fn counts_parse_with_digit_grouping(n in 0u32..4_000_000_000) {
        prop_assert_eq!(parse_count(&Lang::Sv.int(i64::from(n))), Some(n));
        prop_assert_eq!(parse_count(&n.to_string()), Some(n));
    }

    #[test]
    fn csv_and_workbook_readers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(sheet) = read_csv(&bytes) {
            for kind in [ImportKind::Articles, ImportKind::Suppliers, ImportKind::Units] {
                let _ = rows(kind, &sheet, &Index::default());
            }
        }
        let _ = read_workbook(&bytes);
    }

    #[test]
    fn imports_of_any_cells_either_give_commands_that_validate_or_report_rows(
        cells in proptest::collection::vec(proptest::collection::vec("[ -~åäöÅÄÖ;,\"]{0,12}", 0..10), 0..8)
    ) {
        let header: Vec<String> = ["id", "article_number", "name", "unit", "pack_size", "supplier_id", "category", "gtin", "price", "withdrawn"]
            .iter().map(|s| (*s).to_owned()).collect();
        let mut sheet = vec![header];
        sheet.extend(cells);
        match rows(ImportKind::Articles, &sheet, &Index::default()) {
            Ok(cmds) => {
                for c in cmds {
                    prop_assert!(domain::apply::validate(&c).is_ok());
                }
            }
            Err(errors) => {
                prop_assert!(!errors.is_empty());
                prop_assert!(errors.iter().all(|e| e.row >= 1 && e.row <= sheet.len() + 1));
            }
        }
    }

    #[test]
    fn crafted_workbooks_are_refused_exactly_when_their_declared_sizes_pass_the_limits(
        unique in prop_oneof![0u64..2_000_000, any::<u64>()],
        last_col in 1u64..20_000,
        last_row in 1u64..2_000_000,
        depth in 0usize..300,
        junk in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        // Deep nesting and junk parts cost nothing: the reader streams, it does not recurse.
        let sst = format!(
            r#"<sst count="{unique}" uniqueCount="{unique}">{}<si><t>a</t></si>{}</sst>"#,
            "<x>".repeat(depth),
            "</x>".repeat(depth)
        );
        let mut col = String::new();
        let mut n = last_col;
        while n > 0 {
            col.insert(0, char::from(b'A' + ((n - 1) % 26) as u8));
            n = (n - 1) / 26;
        }
        let sheet = format!(r#"<worksheet><dimension ref="A1:{col}{last_row}"/><sheetData/></worksheet>"#);
        let file = limits::zip_of(&[
            ("xl/sharedStrings.xml", sst.as_bytes()),
            ("xl/worksheets/sheet1.xml", sheet.as_bytes()),
            ("xl/media/junk.bin", &junk),
        ]);
        let too_big = unique > MAX_SHARED_STRINGS || last_row > MAX_ROWS || last_row * last_col > MAX_CELLS;
        prop_assert_eq!(check_workbook(&file).is_err(), too_big, "{} {} {}", unique, last_row, last_col);
    }
}
