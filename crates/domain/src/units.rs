//! Units of measure as UN/ECE Recommendation 20 codes, the codes PEPPOL BIS Order uses.
//! Only the codes a care consumables catalog needs; the web layer holds the labels.

/// Accepted Rec 20 codes: each, piece, pack, box, carton, pair, roll, bag, bottle, set,
/// kit, litre, millilitre, kilogram, gram, metre, tube, can, sheet.
pub const CODES: &[&str] = &[
    "EA", "H87", "C62", "PK", "BX", "CT", "PR", "RO", "BG", "BO", "SET", "KT", "LTR", "MLT", "KGM", "GRM", "MTR", "TU",
    "CA", "ST",
];

pub fn is_known(code: &str) -> bool {
    CODES.contains(&code)
}
