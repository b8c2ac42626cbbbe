//! The users service's input types, parsed once at the edge: display names,
//! ISO 3166-1 countries and postal addresses.

use jojomart_shared::{
    domain::{single_line_text, DisplayName},
    error::{ApiError, FieldError},
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Every ISO 3166-1 alpha-2 code assigned to a country or territory.
const ISO_3166_ALPHA2: [&str; 249] = [
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
];

/// Checks a display name (the one rule for names, [`DisplayName`]).
///
/// # Errors
/// A [`FieldError`] on `field`.
pub fn parse_name(field: &str, raw: &str) -> Result<DisplayName, FieldError> {
    DisplayName::parse(raw).map_err(|e| FieldError::new(field, e.0))
}

/// A required one-line field (address lines, city): the same rule as names.
fn text(field: &str, raw: &str, max: usize) -> Result<String, FieldError> {
    single_line_text(raw, true, max).map_err(|e| FieldError::new(field, e.0))
}

/// An ISO 3166-1 alpha-2 country code, upper-case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Country(String);

impl Country {
    /// Parses a code in any case (`de`, `DE`).
    ///
    /// # Errors
    /// A [`FieldError`] on `country` for anything not assigned by ISO 3166-1.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let code = raw.trim().to_ascii_uppercase();
        if ISO_3166_ALPHA2.binary_search(&code.as_str()).is_ok() {
            Ok(Self(code))
        } else {
            Err(FieldError::new(
                "country",
                "must be an ISO 3166-1 alpha-2 code such as `DE` or `US`",
            ))
        }
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A postal address on a profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    /// The address id.
    pub id: String,
    /// The recipient.
    pub name: String,
    /// Street and number.
    pub line1: String,
    /// Anything else (apartment, floor).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    /// The city.
    pub city: String,
    /// The postal code.
    pub postal_code: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
}

/// The fields of a new address, as sent.
#[derive(Debug, Clone, Default)]
pub struct AddressFields<'a> {
    /// The recipient.
    pub name: &'a str,
    /// Street and number.
    pub line1: &'a str,
    /// Optional second line.
    pub line2: Option<&'a str>,
    /// The city.
    pub city: &'a str,
    /// The postal code.
    pub postal_code: &'a str,
    /// The country code.
    pub country: &'a str,
}

impl Address {
    /// Parses a new address, listing every bad field, and gives it a fresh id.
    ///
    /// # Errors
    /// A 400 naming each bad field.
    pub fn parse(fields: AddressFields<'_>) -> Result<Self, ApiError> {
        let mut errors = Vec::new();
        let mut take =
            |r: Result<String, FieldError>| r.map_err(|e| errors.push(e)).unwrap_or_default();
        let name = take(text("name", fields.name, DisplayName::MAX_CHARS));
        let line1 = take(text("line1", fields.line1, 200));
        let line2 = fields
            .line2
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|l| take(text("line2", l, 200)));
        let city = take(text("city", fields.city, 100));
        let postal_code = take(text("postalCode", fields.postal_code, 20));
        let country = take(Country::parse(fields.country).map(|c| c.0));
        if !errors.is_empty() {
            return Err(ApiError::invalid_fields(errors));
        }
        Ok(Self {
            id: uuid::Uuid::new_v4().simple().to_string(),
            name,
            line1,
            line2,
            city,
            postal_code,
            country,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_country_list_is_sorted_and_complete() {
        let mut sorted = ISO_3166_ALPHA2;
        sorted.sort_unstable();
        assert_eq!(sorted, ISO_3166_ALPHA2, "binary search needs it sorted");
        assert_eq!(Country::parse(" de ").unwrap().as_str(), "DE");
        for bad in ["", "D", "DEU", "XX", "UK", "EU"] {
            assert!(Country::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_address_lists_every_bad_field() {
        let e = Address::parse(AddressFields {
            name: " ",
            line1: "Main St 1",
            city: "",
            postal_code: "12345",
            country: "ZZ",
            ..Default::default()
        })
        .unwrap_err();
        let fields: Vec<String> = e.problem().errors.into_iter().map(|f| f.field).collect();
        assert_eq!(fields, ["name", "city", "country"]);
    }
}
