//! What an order costs beyond its lines: shipping and tax, in one place.
//!
//! - **Shipping** is a flat [`FLAT_SHIPPING`] (4.99) per order, free when the
//!   subtotal reaches [`FREE_SHIPPING_FROM`] (50.00). Amounts are in minor units
//!   of the order's currency, whatever it is.
//! - **Tax** is VAT-style, charged on subtotal plus shipping at the rate of the
//!   destination country ([`TAX_RATES`], in basis points: 1900 = 19%), rounded
//!   half up to a minor unit. A country not in the table is charged no tax
//!   (the shop does not collect there; a serious deployment extends the table).
//!   Prices are shown net of tax; the total is subtotal + shipping + tax.

/// The flat shipping charge, in minor units.
pub const FLAT_SHIPPING: i64 = 499;
/// The subtotal from which shipping is free, in minor units.
pub const FREE_SHIPPING_FROM: i64 = 5000;

/// Tax rates by ISO 3166-1 alpha-2 destination country, in basis points.
pub const TAX_RATES: &[(&str, i64)] = &[
    ("AT", 2000),
    ("BE", 2100),
    ("CH", 810),
    ("DE", 1900),
    ("DK", 2500),
    ("ES", 2100),
    ("FI", 2550),
    ("FR", 2000),
    ("GB", 2000),
    ("IE", 2300),
    ("IT", 2200),
    ("NL", 2100),
    ("NO", 2500),
    ("PL", 2300),
    ("PT", 2300),
    ("SE", 2500),
];

/// An order's money, in minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    /// Sum of the lines.
    pub subtotal: i64,
    /// Shipping charged.
    pub shipping: i64,
    /// Tax charged.
    pub tax: i64,
    /// What the customer pays.
    pub total: i64,
}

/// The tax rate for `country` (alpha-2, any case), in basis points.
pub fn tax_rate(country: &str) -> i64 {
    TAX_RATES
        .iter()
        .find(|(c, _)| c.eq_ignore_ascii_case(country))
        .map_or(0, |(_, rate)| *rate)
}

/// Shipping and tax for a subtotal shipped to `country`.
pub fn totals(subtotal: i64, country: &str) -> Totals {
    let shipping = if subtotal >= FREE_SHIPPING_FROM || subtotal == 0 {
        0
    } else {
        FLAT_SHIPPING
    };
    let taxed = subtotal + shipping;
    // Half up: (x * rate + 5000) / 10000 for non-negative x.
    let tax = (taxed * tax_rate(country) + 5_000) / 10_000;
    Totals {
        subtotal,
        shipping,
        tax,
        total: taxed + tax,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipping_is_flat_below_the_threshold_and_free_from_it() {
        assert_eq!(totals(4999, "US").shipping, FLAT_SHIPPING);
        assert_eq!(totals(5000, "US").shipping, 0);
        assert_eq!(totals(12_000, "US").total, 12_000);
    }

    #[test]
    fn tax_is_charged_on_goods_and_shipping_by_destination() {
        // 19.99 + 4.99 shipping = 24.98; 19% of it is 4.7462 -> 4.75.
        let t = totals(1999, "de");
        assert_eq!(
            t,
            Totals {
                subtotal: 1999,
                shipping: 499,
                tax: 475,
                total: 2973
            }
        );
        assert_eq!(totals(1999, "ZZ").tax, 0);
    }
}
