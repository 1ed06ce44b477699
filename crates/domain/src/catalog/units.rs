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

/// Package codes that Rec 20 has since dropped; PEPPOL takes them from Rec 21 with an "X".
const PACKAGES: &[&str] = &["PK", "BX", "CT", "RO", "BG", "BO", "TU", "CA", "ST"];

/// The code a PEPPOL order carries: Rec 20 codes as they are, package codes as their Rec 21
/// form ("BX" → "XBX"), which is what PEPPOL's code list holds.
pub fn peppol_code(code: &str) -> String {
    if PACKAGES.contains(&code) { format!("X{code}") } else { code.to_owned() }
}

#[cfg(test)]
mod tests {
    #[test]
    fn package_codes_get_their_rec21_form() {
        assert_eq!(super::peppol_code("BX"), "XBX");
        assert_eq!(super::peppol_code("EA"), "EA");
        assert!(super::PACKAGES.iter().all(|p| super::is_known(p)));
    }
}
