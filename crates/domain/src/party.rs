//! Identifiers of the parties on an order: Swedish and Norwegian organisation numbers with
//! their check digits, GLNs, and the PEPPOL endpoint (scheme + id) they make.

use crate::catalog::gtin;

/// PEPPOL (ISO 6523 ICD) scheme of a Swedish organisationsnummer.
pub const SCHEME_SE_ORG: &str = "0007";
/// PEPPOL scheme of a Norwegian organisasjonsnummer (Enhetsregisteret).
pub const SCHEME_NO_ORG: &str = "0192";
/// PEPPOL scheme of a GS1 Global Location Number.
pub const SCHEME_GLN: &str = "0088";
/// PEPPOL scheme of a GTIN, for item ids.
pub const SCHEME_GTIN: &str = "0160";

/// An organisation number as entered ("556677-8899", "987 654 325"): its digits, and which
/// country's rule it follows, if the digits are well formed with a correct check digit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OrgNumber {
    /// Ten digits, Luhn check digit (Bolagsverket).
    Swedish(String),
    /// Nine digits, mod-11 check digit (Brønnøysundregistrene).
    Norwegian(String),
}

impl OrgNumber {
    /// Reads an entered number: digits with optional spaces or hyphens.
    pub fn parse(s: &str) -> Result<Self, OrgNumberError> {
        let s = s.trim();
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit() || b == b'-' || b == b' ') {
            return Err(OrgNumberError::BadFormat);
        }
        let digits: String = s.chars().filter(char::is_ascii_digit).collect();
        match digits.len() {
            10 if luhn_ok(&digits) => Ok(Self::Swedish(digits)),
            9 if mod11_ok(&digits) => Ok(Self::Norwegian(digits)),
            9 | 10 => Err(OrgNumberError::CheckDigit),
            _ => Err(OrgNumberError::BadFormat),
        }
    }

    pub fn digits(&self) -> &str {
        match self {
            Self::Swedish(d) | Self::Norwegian(d) => d,
        }
    }

    pub fn scheme(&self) -> &'static str {
        match self {
            Self::Swedish(_) => SCHEME_SE_ORG,
            Self::Norwegian(_) => SCHEME_NO_ORG,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrgNumberError {
    BadFormat,
    CheckDigit,
}

/// Luhn over all ten digits (weights 2,1,2,… from the left for a Swedish number).
fn luhn_ok(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .map(|b| u32::from(b - b'0'))
        .enumerate()
        .map(|(i, d)| {
            let p = if i % 2 == 0 { d * 2 } else { d };
            p / 10 + p % 10
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Modulus 11 with weights 3,2,7,6,5,4,3,2; a remainder giving 10 is never issued.
fn mod11_ok(digits: &str) -> bool {
    let d: Vec<u32> = digits.bytes().map(|b| u32::from(b - b'0')).collect();
    let sum: u32 = d.iter().zip([3, 2, 7, 6, 5, 4, 3, 2]).map(|(a, w)| a * w).sum();
    let check = match 11 - sum % 11 {
        11 => 0,
        10 => return false,
        c => c,
    };
    d.get(8) == Some(&check)
}

/// A PEPPOL participant id: the scheme and the id within it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub scheme: &'static str,
    pub id: String,
}

/// The endpoint a party is reached at: its GLN when it has a valid one, else its organisation
/// number; `None` when neither is usable.
pub fn endpoint(org_number: Option<&str>, gln: Option<&str>) -> Option<Endpoint> {
    if let Some(g) = gln.map(str::trim).filter(|g| g.len() == 13 && gtin::is_valid(g)) {
        return Some(Endpoint { scheme: SCHEME_GLN, id: g.to_owned() });
    }
    let org = OrgNumber::parse(org_number?).ok()?;
    Some(Endpoint { scheme: org.scheme(), id: org.digits().to_owned() })
}

/// Whether `s` is an ISO 3166-1 alpha-2 code in form (two capital letters).
pub fn is_country_code(s: &str) -> bool {
    s.len() == 2 && s.bytes().all(|b| b.is_ascii_uppercase())
}

/// Whether `s` is an ISO 4217 code in form (three capital letters).
pub fn is_currency_code(s: &str) -> bool {
    s.len() == 3 && s.bytes().all(|b| b.is_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organisation_numbers() {
        let cases = [
            ("556677-8899", Ok(OrgNumber::Swedish("5566778899".into()))),
            ("5566778899", Ok(OrgNumber::Swedish("5566778899".into()))),
            ("556677-8898", Err(OrgNumberError::CheckDigit)),
            ("987 654 325", Ok(OrgNumber::Norwegian("987654325".into()))),
            ("987654324", Err(OrgNumberError::CheckDigit)),
            ("55667788", Err(OrgNumberError::BadFormat)),
            ("5566a78899", Err(OrgNumberError::BadFormat)),
            ("", Err(OrgNumberError::BadFormat)),
        ];
        for (input, want) in cases {
            assert_eq!(OrgNumber::parse(input), want, "{input}");
        }
    }

    #[test]
    fn endpoints_prefer_a_valid_gln() {
        let gln = gtin::with_check_digit("735000000001");
        assert_eq!(endpoint(Some("556677-8899"), Some(&gln)), Some(Endpoint { scheme: "0088", id: gln.clone() }));
        assert_eq!(
            endpoint(Some("556677-8899"), Some("7350000000000")),
            Some(Endpoint { scheme: "0007", id: "5566778899".into() }),
            "a GLN with a wrong check digit is passed over"
        );
        assert_eq!(endpoint(Some("987654325"), None), Some(Endpoint { scheme: "0192", id: "987654325".into() }));
        assert_eq!(endpoint(Some("556677-8898"), None), None);
        assert_eq!(endpoint(None, None), None);
    }
}
