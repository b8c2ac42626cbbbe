//! Mail bodies from templates: one text and one HTML template per kind of
//! mail in `templates/` (minijinja, embedded at build time), HTML
//! auto-escaped so a product named `<script>` arrives as text. Subjects are
//! built here, from our own words and the order number only.

use chrono::{DateTime, Utc};
use jojomart_shared::events::{OrderEventLine, OrderSnapshot};
use minijinja::{context, syntax::SyntaxConfig, value::Serde, Environment};
use serde::Serialize;

/// Every template, by name (the extension picks the escaping: `.html` escapes).
const TEMPLATES: &[(&str, &str)] = &[
    ("order.txt", include_str!("templates/order.txt")),
    ("order.html", include_str!("templates/order.html")),
    (
        "order_placed.txt",
        include_str!("templates/order_placed.txt"),
    ),
    (
        "order_placed.html",
        include_str!("templates/order_placed.html"),
    ),
    ("order_paid.txt", include_str!("templates/order_paid.txt")),
    ("order_paid.html", include_str!("templates/order_paid.html")),
    (
        "order_shipped.txt",
        include_str!("templates/order_shipped.txt"),
    ),
    (
        "order_shipped.html",
        include_str!("templates/order_shipped.html"),
    ),
    (
        "order_delivered.txt",
        include_str!("templates/order_delivered.txt"),
    ),
    (
        "order_delivered.html",
        include_str!("templates/order_delivered.html"),
    ),
    (
        "order_cancelled.txt",
        include_str!("templates/order_cancelled.txt"),
    ),
    (
        "order_cancelled.html",
        include_str!("templates/order_cancelled.html"),
    ),
    (
        "order_refunded.txt",
        include_str!("templates/order_refunded.txt"),
    ),
    (
        "order_refunded.html",
        include_str!("templates/order_refunded.html"),
    ),
    ("account.html", include_str!("templates/account.html")),
    (
        "verify_email.txt",
        include_str!("templates/verify_email.txt"),
    ),
    (
        "verify_email.html",
        include_str!("templates/verify_email.html"),
    ),
    (
        "reset_password.txt",
        include_str!("templates/reset_password.txt"),
    ),
    (
        "reset_password.html",
        include_str!("templates/reset_password.html"),
    ),
    ("dev_mail.html", include_str!("templates/dev_mail.html")),
];

/// A template failed to render (a bug in a template, never the data's fault).
#[derive(Debug, thiserror::Error)]
#[error("mail template `{template}`: {source}")]
pub struct RenderError {
    template: String,
    #[source]
    source: minijinja::Error,
}

/// What order mail is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderMail {
    /// `order.placed`.
    Placed,
    /// `order.paid`.
    Paid,
    /// `order.shipped`.
    Shipped,
    /// `order.delivered`.
    Delivered,
    /// `order.cancelled`.
    Cancelled,
    /// `order.refunded`.
    Refunded,
}

impl OrderMail {
    /// The mail for an event kind, if it is an order event.
    pub fn of_kind(kind: &str) -> Option<Self> {
        Some(match kind {
            "order.placed" => Self::Placed,
            "order.paid" => Self::Paid,
            "order.shipped" => Self::Shipped,
            "order.delivered" => Self::Delivered,
            "order.cancelled" => Self::Cancelled,
            "order.refunded" => Self::Refunded,
            _ => return None,
        })
    }

    fn template(self) -> &'static str {
        match self {
            Self::Placed => "order_placed",
            Self::Paid => "order_paid",
            Self::Shipped => "order_shipped",
            Self::Delivered => "order_delivered",
            Self::Cancelled => "order_cancelled",
            Self::Refunded => "order_refunded",
        }
    }

    /// The subject line for order `number`.
    pub fn subject(self, number: &str) -> String {
        match self {
            Self::Placed => format!("We received your order {number}"),
            Self::Paid => format!("Payment received for order {number}"),
            Self::Shipped => format!("Your order {number} has shipped"),
            Self::Delivered => format!("Your order {number} was delivered"),
            Self::Cancelled => format!("Your order {number} was cancelled"),
            Self::Refunded => format!("Your order {number} was refunded"),
        }
    }
}

/// What account mail is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountMail {
    /// `account.verification-requested`.
    VerifyEmail,
    /// `account.password-reset-requested`.
    ResetPassword,
}

impl AccountMail {
    fn template(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::ResetPassword => "reset_password",
        }
    }

    /// The subject line.
    pub fn subject(self) -> &'static str {
        match self {
            Self::VerifyEmail => "Verify your email address",
            Self::ResetPassword => "Reset your password",
        }
    }

    /// The storefront page the link opens.
    pub fn path(self) -> &'static str {
        match self {
            Self::VerifyEmail => "/verify-email",
            Self::ResetPassword => "/reset-password",
        }
    }
}

/// A line as the templates show it: money already formatted.
#[derive(Debug, Serialize)]
struct Line<'a> {
    name: &'a str,
    quantity: u32,
    unit_price: String,
    line_total: String,
}

/// The two parts of a mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parts {
    /// The plain-text part.
    pub text: String,
    /// The HTML part.
    pub html: String,
}

/// The templates, parsed once at startup.
#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    /// Parses every template.
    ///
    /// # Errors
    /// [`RenderError`] for a template that does not parse (caught by any test).
    pub fn load() -> Result<Self, RenderError> {
        let mut env = Environment::new();
        let syntax = SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()
            .map_err(|source| RenderError {
                template: "(syntax)".to_owned(),
                source,
            })?;
        env.set_syntax(syntax);
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .map_err(|source| RenderError {
                    template: (*name).to_owned(),
                    source,
                })?;
        }
        Ok(Self { env })
    }

    fn render(&self, name: &str, ctx: minijinja::Value) -> Result<String, RenderError> {
        let fail = |source| RenderError {
            template: name.to_owned(),
            source,
        };
        self.env
            .get_template(name)
            .map_err(fail)?
            .render(ctx)
            .map_err(fail)
    }

    fn both(&self, base: &str, ctx: minijinja::Value) -> Result<Parts, RenderError> {
        Ok(Parts {
            text: self.render(&format!("{base}.txt"), ctx.clone())?,
            html: self.render(&format!("{base}.html"), ctx)?,
        })
    }

    /// An order mail: the order number and every line with the totals, in both parts.
    ///
    /// # Errors
    /// [`RenderError`] for a broken template.
    pub fn order(
        &self,
        mail: OrderMail,
        order: &OrderSnapshot,
        name: Option<&str>,
        order_url: &str,
    ) -> Result<Parts, RenderError> {
        let money = |minor: i64| format_money(minor, &order.currency);
        let lines: Vec<Line<'_>> = order
            .items
            .iter()
            .map(|l: &OrderEventLine| Line {
                name: &l.name,
                quantity: l.quantity,
                unit_price: money(l.unit_price),
                line_total: money(l.line_total),
            })
            .collect();
        let ctx = context! {
            subject => mail.subject(order.order_id.as_str()),
            name => name.filter(|n| !n.trim().is_empty()),
            order_number => order.order_id.as_str(),
            order_url => order_url,
            lines => Serde(lines),
            subtotal => money(order.subtotal),
            shipping => money(order.shipping),
            tax => money(order.tax),
            total => money(order.total),
            tracking_number => order.tracking_number.as_deref(),
            note => order.note.as_deref(),
        };
        self.both(mail.template(), ctx)
    }

    /// An account mail: a greeting and the link carrying the token.
    ///
    /// # Errors
    /// [`RenderError`] for a broken template.
    pub fn account(
        &self,
        mail: AccountMail,
        name: &str,
        link: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<Parts, RenderError> {
        let ctx = context! {
            subject => mail.subject(),
            name => Some(name).filter(|n| !n.trim().is_empty()),
            link => link,
            expires_at => expires_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        };
        self.both(mail.template(), ctx)
    }

    /// The `GET /dev/mail` page.
    ///
    /// # Errors
    /// [`RenderError`] for a broken template.
    pub fn dev_mail_page<T: Serialize>(&self, mails: &[T]) -> Result<String, RenderError> {
        self.render("dev_mail.html", context! { mails => Serde(mails) })
    }
}

/// Digits after the decimal point of a currency (ISO 4217 minor units).
fn minor_digits(currency: &str) -> u32 {
    match currency {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX"
        | "UYI" | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        "CLF" | "UYW" => 4,
        _ => 2,
    }
}

/// Minor units as an amount with its currency: `1999, EUR` → `EUR 19.99`.
pub fn format_money(minor: i64, currency: &str) -> String {
    let digits = minor_digits(currency);
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    if digits == 0 {
        return format!("{currency} {sign}{abs}");
    }
    let scale = 10u64.pow(digits);
    format!(
        "{currency} {sign}{}.{:0width$}",
        abs / scale,
        abs % scale,
        width = digits as usize
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_formatted_in_the_currency_s_minor_units() {
        assert_eq!(format_money(1999, "EUR"), "EUR 19.99");
        assert_eq!(format_money(5, "USD"), "USD 0.05");
        assert_eq!(format_money(-250, "GBP"), "GBP -2.50");
        assert_eq!(format_money(1500, "JPY"), "JPY 1500");
        assert_eq!(format_money(1234, "KWD"), "KWD 1.234");
    }

    #[test]
    fn every_template_parses() {
        Templates::load().expect("templates");
    }
}
