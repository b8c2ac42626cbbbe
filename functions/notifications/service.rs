//! The rules: which event mails whom, once.
//!
//! Each event becomes at most one mail per recipient, recorded under an id
//! derived from the event id and the recipient ([`notification_id`]). The
//! record is claimed with create-if-absent as `pending`, the mail is sent,
//! and the record marked `sent`. A redelivered event finding the record
//! `sent`, `failed` or `skipped` sends nothing; one finding it `pending` (the
//! process died between claim and send, or the last send failed for now)
//! sends again, so delivery toward the mail server is at least once and
//! exactly once in every other case. A transient failure fails the invocation
//! (the queue redelivers it later); a permanent one is recorded `failed` and
//! the message is done.
//!
//! Order mail goes to the account's current email when the order has an
//! account (and only if `preferences.orderUpdates` is on; otherwise the
//! record says `skipped`), to the order's email for a guest (recorded in the
//! partition `guest-<orderId>`). Account mail (verification, password reset)
//! is sent whatever the preferences, but, like order mail, not to a closed
//! account.

use jojomart_shared::{
    domain::UserId,
    error::ApiError,
    events::{
        Event, EventError, EventKind, OrderCancelled, OrderDelivered, OrderPaid, OrderPlaced,
        OrderRefunded, OrderShipped, OrderSnapshot, PasswordResetRequested, VerificationRequested,
    },
    store::{self, query_all, to_body, Change, Filter, Order, Query, StoreError},
};
use sha2::{Digest, Sha256};

use super::{
    mail::{MailError, OutgoingMail},
    model::{
        micros, ExportedNotification, NotificationDoc, NotificationPage, NotificationView, Status,
        NOTIFICATIONS, NOTIFICATION_DOC,
    },
    render::{AccountMail, OrderMail, Parts},
    Notifications,
};
use crate::users;

/// What handling one event did, for the invocation's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    /// A mail was sent (notification id).
    Sent(String),
    /// Recorded without a mail: order updates are off (notification id).
    Skipped(String),
    /// The mail can never be sent; recorded `failed` (notification id).
    Failed(String),
    /// Already handled by an earlier delivery (notification id).
    AlreadyDone(String),
    /// Nothing to do (an event kind we do not mail about, an erased customer).
    Ignored(String),
}

impl std::fmt::Display for Handled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sent(id) => write!(f, "notification {id} sent"),
            Self::Skipped(id) => write!(f, "notification {id} skipped: order updates are off"),
            Self::Failed(id) => write!(f, "notification {id} failed for good"),
            Self::AlreadyDone(id) => write!(f, "notification {id} was handled before"),
            Self::Ignored(why) => write!(f, "nothing to send: {why}"),
        }
    }
}

/// A notification's id: a hash of the event id and the recipient, the same
/// on every delivery of the event.
pub fn notification_id(event_id: &str, recipient: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(event_id.as_bytes());
    hash.update(b"\n");
    hash.update(recipient.trim().to_lowercase().as_bytes());
    format!("nt_{}", hex::encode(&hash.finalize()[..16]))
}

/// What one event asks us to send, before it is claimed.
struct Planned {
    partition: String,
    to: String,
    subject: String,
    parts: Parts,
    /// `false`: record as skipped, send nothing.
    wanted: bool,
}

/// Handles one event from the `notifications` queue.
///
/// # Errors
/// 400 for an event of a known kind whose data does not parse (the host
/// retries and finally poisons it); 503 when the mail server failed for now
/// (retried); the store's error.
pub async fn handle(n: &Notifications, event: &Event) -> Result<Handled, ApiError> {
    let bad = |e: EventError| ApiError::invalid_field("message", e.to_string());
    let plan = if let Some(mail) = OrderMail::of_kind(event.kind()) {
        let order = decode_order(mail, event).map_err(bad)?;
        match plan_order(n, mail, &order).await? {
            Some(plan) => plan,
            None => {
                return Ok(Handled::Ignored(format!(
                    "no one to mail about order {}",
                    order.order_id.as_str()
                )))
            }
        }
    } else if event.kind() == VerificationRequested::KIND {
        let request: VerificationRequested = event.decode().map_err(bad)?;
        match plan_account(
            n,
            AccountMail::VerifyEmail,
            &request.user_id,
            &request.email,
            &request.name,
            &request.token,
            request.expires_at,
        )
        .await?
        {
            Some(plan) => plan,
            None => return Ok(Handled::Ignored("the account was closed".into())),
        }
    } else if event.kind() == PasswordResetRequested::KIND {
        let request: PasswordResetRequested = event.decode().map_err(bad)?;
        match plan_account(
            n,
            AccountMail::ResetPassword,
            &request.user_id,
            &request.email,
            &request.name,
            &request.token,
            request.expires_at,
        )
        .await?
        {
            Some(plan) => plan,
            None => return Ok(Handled::Ignored("the account was closed".into())),
        }
    } else {
        return Ok(Handled::Ignored(format!(
            "`{}` is not mailed about",
            event.kind()
        )));
    };
    deliver(n, event, plan).await
}

/// An order event's snapshot, after checking its kind and version.
fn decode_order(mail: OrderMail, event: &Event) -> Result<OrderSnapshot, EventError> {
    Ok(match mail {
        OrderMail::Placed => event.decode::<OrderPlaced>()?.0,
        OrderMail::Paid => event.decode::<OrderPaid>()?.0,
        OrderMail::Shipped => event.decode::<OrderShipped>()?.0,
        OrderMail::Delivered => event.decode::<OrderDelivered>()?.0,
        OrderMail::Cancelled => event.decode::<OrderCancelled>()?.0,
        OrderMail::Refunded => event.decode::<OrderRefunded>()?.0,
    })
}

async fn plan_order(
    n: &Notifications,
    mail: OrderMail,
    order: &OrderSnapshot,
) -> Result<Option<Planned>, ApiError> {
    let url = format!("{}/orders/{}", n.public_url, order.order_id.as_str());
    let subject = mail.subject(order.order_id.as_str());
    let (partition, to, name, wanted) = match &order.user_id {
        Some(user) => match users::service::contact_of(&n.users, user).await? {
            Some(contact) => (
                user.as_str().to_owned(),
                contact.email,
                Some(contact.name),
                contact.order_updates,
            ),
            // the account was closed: its data is being erased, mail no one
            None => return Ok(None),
        },
        None => match &order.email {
            Some(email) => (
                format!("guest-{}", order.order_id.as_str()),
                email.clone(),
                None,
                true,
            ),
            None => return Ok(None),
        },
    };
    let parts = n
        .templates
        .order(mail, order, name.as_deref(), &url)
        .map_err(ApiError::internal)?;
    Ok(Some(Planned {
        partition,
        to,
        subject,
        parts,
        wanted,
    }))
}

async fn plan_account(
    n: &Notifications,
    mail: AccountMail,
    user: &UserId,
    email: &str,
    name: &str,
    token: &str,
    expires_at: chrono::DateTime<chrono::Utc>,
) -> Result<Option<Planned>, ApiError> {
    // a closed account gets no mail (and no record its erasure would miss)
    if users::service::contact_of(&n.users, user).await?.is_none() {
        return Ok(None);
    }
    let link = format!(
        "{}{}?token={}",
        n.public_url,
        mail.path(),
        form_urlencoded::byte_serialize(token.as_bytes()).collect::<String>()
    );
    let parts = n
        .templates
        .account(mail, name, &link, expires_at)
        .map_err(ApiError::internal)?;
    Ok(Some(Planned {
        partition: user.as_str().to_owned(),
        to: email.to_owned(),
        subject: mail.subject().to_owned(),
        parts,
        wanted: true,
    }))
}

/// Claims the notification, sends it unless it was done before, records the outcome.
async fn deliver(n: &Notifications, event: &Event, plan: Planned) -> Result<Handled, ApiError> {
    let event_id = event.id().to_string();
    let id = notification_id(&event_id, &plan.to);
    let now = n.clock.now();
    let doc = NotificationDoc {
        doc: NOTIFICATION_DOC.to_owned(),
        id: id.clone(),
        user_id: plan.partition.clone(),
        event_id,
        kind: event.kind().to_owned(),
        channel: "email".to_owned(),
        to: plan.to.clone(),
        subject: plan.subject.clone(),
        status: if plan.wanted {
            Status::Pending
        } else {
            Status::Skipped
        },
        reason: (!plan.wanted).then(|| "order updates are turned off".to_owned()),
        attempts: 0,
        created_at: now,
        created_at_us: micros(now),
        sent_at: None,
    };
    match n
        .store
        .create(NOTIFICATIONS, &plan.partition, &id, to_body(&doc)?)
        .await
    {
        Ok(_) => {}
        Err(StoreError::Conflict) => {
            let existing: Option<NotificationDoc> =
                match n.store.read(NOTIFICATIONS, &plan.partition, &id).await? {
                    Some(d) => Some(d.parse()?),
                    None => None,
                };
            if existing.is_some_and(|d| d.status.is_final()) {
                return Ok(Handled::AlreadyDone(id));
            }
        }
        Err(e) => return Err(e.into()),
    }
    if !plan.wanted {
        return Ok(Handled::Skipped(id));
    }
    let mail = OutgoingMail {
        id: id.clone(),
        to: plan.to,
        subject: plan.subject,
        text: plan.parts.text,
        html: plan.parts.html,
    };
    let result = n.mailer.send(&mail).await;
    let sent_at = n.clock.now();
    let outcome = result.clone();
    store::update::<NotificationDoc, ApiError, _>(
        n.store.as_ref(),
        NOTIFICATIONS,
        &plan.partition,
        &id,
        |current| {
            let Some(mut doc) = current else {
                // erased meanwhile: leave nothing behind
                return Ok(Change::Keep);
            };
            doc.attempts += 1;
            match &outcome {
                Ok(()) => {
                    doc.status = Status::Sent;
                    doc.sent_at = Some(sent_at);
                    doc.reason = None;
                }
                Err(MailError::Permanent(why)) => {
                    doc.status = Status::Failed;
                    doc.reason = Some(why.clone());
                }
                Err(MailError::Transient(why)) => doc.reason = Some(why.clone()),
            }
            Ok(Change::Write(doc))
        },
    )
    .await?;
    match result {
        Ok(()) => Ok(Handled::Sent(id)),
        Err(MailError::Permanent(why)) => {
            tracing::warn!(notification = %id, reason = %why, "mail refused for good; recorded as failed");
            Ok(Handled::Failed(id))
        }
        Err(e @ MailError::Transient(_)) => Err(ApiError::Unavailable(Box::new(e))),
    }
}

/// The caller's notifications, newest first.
///
/// # Errors
/// 400 naming `cursor` for a cursor we did not issue; the store's error.
pub async fn list(
    n: &Notifications,
    user: &UserId,
    limit: u32,
    cursor: Option<String>,
) -> Result<NotificationPage, ApiError> {
    let query = Query::new(NOTIFICATIONS)
        .partition(user.as_str())
        .filter(Filter::eq("doc", NOTIFICATION_DOC))
        .sort(Filter::field("createdAtUs"), Order::Desc)
        .limit(limit)
        .continuation(cursor);
    let page = n.store.query(&query).await?;
    let items = page
        .items
        .iter()
        .map(|d| {
            d.parse::<NotificationDoc>()
                .map(|doc| NotificationView::of(&doc))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(NotificationPage {
        items,
        next_cursor: page.continuation,
    })
}

async fn all_of(n: &Notifications, user: &UserId) -> Result<Vec<NotificationDoc>, ApiError> {
    let query = Query::new(NOTIFICATIONS)
        .partition(user.as_str())
        .filter(Filter::eq("doc", NOTIFICATION_DOC))
        .sort(Filter::field("createdAtUs"), Order::Desc)
        .limit(100);
    Ok(query_all(n.store.as_ref(), query).await?)
}

/// Everything we hold about the user's notifications, for the data export.
///
/// # Errors
/// The store's error.
pub async fn export(
    n: &Notifications,
    user: &UserId,
) -> Result<Vec<ExportedNotification>, ApiError> {
    Ok(all_of(n, user)
        .await?
        .into_iter()
        .map(|doc| ExportedNotification {
            view: NotificationView::of(&doc),
            to: doc.to,
            reason: doc.reason,
            sent_at: doc.sent_at,
        })
        .collect())
}

/// Deletes every notification of the user (idempotent).
///
/// # Errors
/// The store's error.
pub async fn erase(n: &Notifications, user: &UserId) -> Result<(), ApiError> {
    for doc in all_of(n, user).await? {
        match n
            .store
            .delete(NOTIFICATIONS, user.as_str(), &doc.id, None)
            .await
        {
            Ok(()) | Err(StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}
