//! The mail port: send one [`OutgoingMail`], learn whether a failure is worth
//! retrying ([`MailError::Transient`]) or not ([`MailError::Permanent`]).
//!
//! Adapters: [`SmtpMailer`] (lettre over tokio, plain, STARTTLS or implicit
//! TLS through rustls) for production; [`RecordingMailer`] under `dev`, which
//! keeps every mail in the store for `GET /dev/mail` and also sends it over
//! SMTP when one is configured; [`Unconfigured`] under `serve` without SMTP,
//! which refuses every mail (recorded as failed) rather than claim it was sent.

use std::{fmt, sync::Arc, time::Duration};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use jojomart_shared::{
    clock::SharedClock,
    config::{SmtpSecurity, SmtpSettings},
    store::{to_body, Query, SharedStore, StoreError},
};
use lettre::{
    message::{Mailbox, MultiPart},
    transport::smtp::{
        authentication::Credentials,
        client::{Tls, TlsParameters},
    },
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
};
use serde::{Deserialize, Serialize};

use super::model::{micros, NOTIFICATIONS};

/// One mail to send: a text part and an HTML part of the same message.
#[derive(Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    /// The notification's id: the mail's `Message-ID` (so a mail sent again
    /// after a crash carries the same one) and its key in the dev record.
    pub id: String,
    /// The recipient's address.
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// The HTML part.
    pub html: String,
}

impl fmt::Debug for OutgoingMail {
    /// Without the recipient or the parts: they hold personal data and tokens.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutgoingMail")
            .field("id", &self.id)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// Why a mail was not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// Worth trying again later: the server was unreachable, timed out or
    /// answered 4xx.
    #[error("mail not sent, for now: {0}")]
    Transient(String),
    /// Never going to work: a 5xx answer (no such mailbox), an address that is
    /// not one, or no mail server at all.
    #[error("mail not sent: {0}")]
    Permanent(String),
}

/// Sends mail.
#[async_trait]
pub trait Mailer: Send + Sync + fmt::Debug + 'static {
    /// Sends one mail.
    ///
    /// # Errors
    /// [`MailError::Transient`] when a later attempt may succeed,
    /// [`MailError::Permanent`] when none will.
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError>;
}

/// Shared handle to a mailer.
pub type SharedMailer = Arc<dyn Mailer>;

/// Sends over SMTP with lettre: one connection per mail (no pool), so a server
/// that went away is noticed by the next mail, not by a stale connection.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    server: String,
}

impl fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

/// Why a mailer could not be built from its settings.
#[derive(Debug, thiserror::Error)]
pub enum MailSetupError {
    /// `JOJOMART_MAIL_FROM` is not a mailbox.
    #[error("JOJOMART_MAIL_FROM: `{0}` is not a mail address")]
    From(String),
    /// The TLS parameters for the host could not be built.
    #[error("JOJOMART_SMTP_URL: {0}")]
    Tls(String),
}

impl SmtpMailer {
    /// How long one conversation with the server may take.
    const TIMEOUT: Duration = Duration::from_secs(30);

    /// A mailer for these settings, sending as `from`.
    ///
    /// # Errors
    /// [`MailSetupError`] naming the setting at fault.
    pub fn new(settings: &SmtpSettings, from: &str) -> Result<Self, MailSetupError> {
        let from: Mailbox = from
            .parse()
            .map_err(|_| MailSetupError::From(from.to_owned()))?;
        let tls = |host: &str| {
            TlsParameters::new(host.to_owned()).map_err(|e| MailSetupError::Tls(e.to_string()))
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host)
            .port(settings.port)
            .timeout(Some(Self::TIMEOUT));
        builder = match settings.security {
            SmtpSecurity::None => builder.tls(Tls::None),
            SmtpSecurity::StartTls => builder.tls(Tls::Required(tls(&settings.host)?)),
            SmtpSecurity::Tls => builder.tls(Tls::Wrapper(tls(&settings.host)?)),
        };
        if let Some(user) = &settings.user {
            let password = settings
                .password
                .as_ref()
                .map(|p| p.expose().clone())
                .unwrap_or_default();
            builder = builder.credentials(Credentials::new(user.clone(), password));
        }
        Ok(Self {
            transport: builder.build(),
            from,
            server: format!("{}:{}", settings.host, settings.port),
        })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        let to: Mailbox = mail
            .to
            .parse()
            .map_err(|_| MailError::Permanent("the recipient is not a mail address".into()))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .message_id(Some(format!("<{}@jojomart>", mail.id)))
            .multipart(MultiPart::alternative_plain_html(
                mail.text.clone(),
                mail.html.clone(),
            ))
            .map_err(|e| MailError::Permanent(format!("the message cannot be built: {e}")))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            // 5xx: the server will never take this mail
            Err(e) if e.is_permanent() => Err(MailError::Permanent(e.to_string())),
            // unreachable, timed out, 4xx, TLS trouble: try again later
            Err(e) => Err(MailError::Transient(e.to_string())),
        }
    }
}

/// `serve` without `JOJOMART_SMTP_URL`: every mail fails permanently with a
/// reason saying so, recorded on its notification; nothing claims to be sent.
#[derive(Debug, Default)]
pub struct Unconfigured;

#[async_trait]
impl Mailer for Unconfigured {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        tracing::error!(notification = %mail.id, "no mail server configured (JOJOMART_SMTP_URL): mail not sent");
        Err(MailError::Permanent(
            "no mail server is configured (JOJOMART_SMTP_URL)".into(),
        ))
    }
}

/// The partition of `notifications` holding the mail `dev` recorded.
pub const DEV_MAIL_PARTITION: &str = "dev-mail";

/// A mail as `dev` recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordedMail {
    /// The notification's id (also the document id).
    pub id: String,
    /// The recipient.
    pub to: String,
    /// The subject.
    pub subject: String,
    /// The text part.
    pub text: String,
    /// The HTML part.
    pub html: String,
    /// When it was sent.
    pub at: DateTime<Utc>,
    /// The same, microseconds since the epoch (the listing's order).
    pub at_us: i64,
}

/// `dev`: records every mail in the store (for `GET /dev/mail`) and, when an
/// SMTP server is configured, sends it there first (a mail that server
/// refuses is not recorded as sent).
#[derive(Debug)]
pub struct RecordingMailer {
    store: SharedStore,
    clock: SharedClock,
    smtp: Option<SmtpMailer>,
}

impl RecordingMailer {
    /// Records into `store`, and also sends through `smtp` when given.
    pub fn new(store: SharedStore, clock: SharedClock, smtp: Option<SmtpMailer>) -> Self {
        Self { store, clock, smtp }
    }
}

#[async_trait]
impl Mailer for RecordingMailer {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        if let Some(smtp) = &self.smtp {
            smtp.send(mail).await?;
        }
        let at = self.clock.now();
        let record = RecordedMail {
            id: mail.id.clone(),
            to: mail.to.clone(),
            subject: mail.subject.clone(),
            text: mail.text.clone(),
            html: mail.html.clone(),
            at,
            at_us: micros(at),
        };
        let body = to_body(&record).map_err(|e| MailError::Transient(e.to_string()))?;
        self.store
            .upsert(NOTIFICATIONS, DEV_MAIL_PARTITION, &mail.id, body)
            .await
            .map_err(|e| MailError::Transient(format!("recording the mail: {e}")))?;
        Ok(())
    }
}

/// The mail `dev` recorded, newest first (at most `limit`).
///
/// # Errors
/// The store's error.
pub async fn recorded(store: &SharedStore, limit: u32) -> Result<Vec<RecordedMail>, StoreError> {
    use jojomart_shared::store::{Filter, Order};
    let page = store
        .query(
            &Query::new(NOTIFICATIONS)
                .partition(DEV_MAIL_PARTITION)
                .sort(Filter::field("atUs"), Order::Desc)
                .limit(limit),
        )
        .await?;
    page.items.iter().map(|d| d.parse()).collect()
}

/// One recorded mail.
///
/// # Errors
/// The store's error.
pub async fn recorded_one(
    store: &SharedStore,
    id: &str,
) -> Result<Option<RecordedMail>, StoreError> {
    match store.read(NOTIFICATIONS, DEV_MAIL_PARTITION, id).await? {
        Some(doc) => Ok(Some(doc.parse()?)),
        None => Ok(None),
    }
}
