//! Money as integer minor units in an ISO 4217 currency: no floats, no mixing currencies.

use super::Invalid;

/// The active ISO 4217 alphabetic codes (list one, as published by the maintenance agency).
const ISO_4217: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD",
    "CAD", "CDF", "CHE", "CHF", "CHW", "CLF", "CLP", "CNY", "COP", "COU", "CRC", "CUP", "CVE",
    "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL",
    "GHS", "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR",
    "IQD", "IRR", "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD",
    "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK",
    "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MXV", "MYR", "MZN", "NAD", "NGN", "NIO",
    "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON",
    "RSD", "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD",
    "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD",
    "TZS", "UAH", "UGX", "USD", "USN", "UYI", "UYU", "UYW", "UZS", "VED", "VES", "VND", "VUV",
    "WST", "XAF", "XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XCD", "XDR", "XOF", "XPD", "XPF",
    "XPT", "XSU", "XTS", "XUA", "YER", "ZAR", "ZMW", "ZWG", "ZWL",
];

/// An ISO 4217 currency code, stored upper-case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency([u8; 3]);

impl Currency {
    /// Parses a code in any case (`usd` → `USD`).
    ///
    /// # Errors
    /// [`Invalid`] when it is not an active ISO 4217 code.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let upper = raw.trim().to_ascii_uppercase();
        match ISO_4217.binary_search(&upper.as_str()) {
            Ok(_) => {
                let b = upper.as_bytes();
                Ok(Self([b[0], b[1], b[2]]))
            }
            Err(_) => Err(Invalid::new("is not an ISO 4217 currency code")),
        }
    }

    /// The code, e.g. `EUR`.
    pub fn as_str(&self) -> &str {
        // Built only from ASCII codes in the list above.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }
}
super::string_newtype_serde!(Currency);

/// An amount of money: integer minor units (`1999` = 19.99) in one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", try_from = "RawMoney")]
pub struct Money {
    minor: i64,
    currency: Currency,
}

#[derive(serde::Deserialize)]
struct RawMoney {
    minor: i64,
    currency: Currency,
}

impl TryFrom<RawMoney> for Money {
    type Error = Invalid;
    fn try_from(raw: RawMoney) -> Result<Self, Invalid> {
        Money::non_negative(raw.minor, raw.currency)
    }
}

impl Money {
    /// The largest amount we accept (a hundred billion major units), far from `i64` overflow
    /// even when multiplied by a quantity.
    pub const MAX_MINOR: i64 = 10_000_000_000_000;

    /// A price or total: zero or more minor units.
    ///
    /// # Errors
    /// [`Invalid`] when negative or above [`Money::MAX_MINOR`].
    pub fn non_negative(minor: i64, currency: Currency) -> Result<Self, Invalid> {
        Ok(Self {
            minor: Self::check_minor(minor)?,
            currency,
        })
    }

    /// Checks an amount of minor units the way [`Money::non_negative`] does, for
    /// a price whose currency is decided elsewhere.
    ///
    /// # Errors
    /// [`Invalid`] when negative or above [`Money::MAX_MINOR`].
    pub fn check_minor(minor: i64) -> Result<i64, Invalid> {
        if minor < 0 {
            return Err(Invalid::new("must be zero or more (minor units)"));
        }
        if minor > Self::MAX_MINOR {
            return Err(Invalid::new(format!("must be at most {}", Self::MAX_MINOR)));
        }
        Ok(minor)
    }

    /// The amount in minor units.
    pub fn minor(&self) -> i64 {
        self.minor
    }

    /// The currency.
    pub fn currency(&self) -> Currency {
        self.currency
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_sorted_for_binary_search() {
        assert!(ISO_4217.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn currencies() {
        assert_eq!(Currency::parse("usd").unwrap().as_str(), "USD");
        assert_eq!(Currency::parse("EUR").unwrap().as_str(), "EUR");
        for bad in ["", "US", "USDX", "ABC", "€"] {
            assert!(Currency::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn money_is_never_negative() {
        let eur = Currency::parse("EUR").unwrap();
        assert!(Money::non_negative(-1, eur).is_err());
        assert_eq!(Money::non_negative(1999, eur).unwrap().minor(), 1999);
        assert!(serde_json::from_str::<Money>(r#"{"minor":-5,"currency":"EUR"}"#).is_err());
    }
}
