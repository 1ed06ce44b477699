//! GTIN (EAN/UPC) check-digit validation, GS1 General Specifications §7.9.1.

/// Whether `s` is a GTIN-8, -12, -13 or -14 with a correct check digit.
pub fn is_valid(s: &str) -> bool {
    let digits: Vec<u32> = s.chars().filter_map(|c| c.to_digit(10)).collect();
    if digits.len() != s.len() || !matches!(digits.len(), 8 | 12 | 13 | 14) {
        return false;
    }
    let (body, check) = digits.split_at(digits.len() - 1);
    check.first() == Some(&check_digit(body))
}

/// The check digit for the digits before it: weights 3,1,3,… from the right.
pub fn check_digit(body: &[u32]) -> u32 {
    let sum: u32 = body.iter().rev().enumerate().map(|(i, d)| if i % 2 == 0 { d * 3 } else { *d }).sum();
    (10 - sum % 10) % 10
}

/// Completes a body of 7, 11, 12 or 13 digits with its check digit.
pub fn with_check_digit(body: &str) -> String {
    let digits: Vec<u32> = body.chars().filter_map(|c| c.to_digit(10)).collect();
    format!("{body}{}", check_digit(&digits))
}
