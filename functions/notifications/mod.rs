//! The notifications service: mail to customers about their orders and their
//! account, driven off the `notifications` queue.
//!
//! [`service`] holds the rules (who is mailed, once per event and recipient);
//! [`mail`] is the mail port and its adapters (SMTP, dev recording);
//! [`render`] turns the templates in `templates/` into text and HTML parts.
//! One file per function: `send-notifications` (queue) and
//! `list-notifications` (`GET /api/notifications`); [`dev_mail`] is the
//! `GET /dev/mail` page `jojomart dev` serves.

pub mod dev_mail;
mod list_notifications;
pub mod mail;
pub mod model;
pub mod render;
mod send_notifications;
pub mod service;

use std::sync::Arc;

use jojomart_shared::{clock::SharedClock, error::ApiError, store::SharedStore};

use crate::{
    state::{ServiceStartError, StartContext},
    table::{ExportSection, FunctionDef, ServiceDef},
    users::Users,
};

/// The queue customer mail is driven from: order events and account mail
/// requests (other services write it through this constant).
pub const QUEUE: &str = "notifications";

/// What the notifications service works with: it reads profiles through
/// users (email, name, preferences) and is called by no one (others write
/// its queue).
#[derive(Debug, Clone)]
pub struct Notifications {
    store: SharedStore,
    clock: SharedClock,
    users: Users,
    mailer: mail::SharedMailer,
    templates: Arc<render::Templates>,
    public_url: String,
}
crate::service_handle!(Notifications);

/// The notifications service.
pub fn service() -> ServiceDef {
    ServiceDef::new("notifications")
        .containers(&[model::NOTIFICATIONS])
        .reads(QUEUE)
        .functions(vec![
            FunctionDef::queue(
                "send-notifications",
                QUEUE,
                send_notifications::send_notifications,
            ),
            FunctionDef::http("list-notifications", || {
                utoipa_axum::routes!(list_notifications::list_notifications)
            }),
        ])
        .start(|cx| Box::pin(start(cx)))
        .erase(|state, user| {
            Box::pin(async move { service::erase(&state.handle::<Notifications>(), user).await })
        })
        .export(|state, principal| {
            Box::pin(async move {
                let mine =
                    service::export(&state.handle::<Notifications>(), &principal.user_id).await?;
                Ok(ExportSection {
                    key: "notifications",
                    value: serde_json::to_value(mine).map_err(ApiError::internal)?,
                })
            })
        })
}

/// Picks the mailer: `dev` records (and sends over SMTP when configured);
/// otherwise SMTP, or, without it, a mailer that fails every mail for good
/// (logged at startup and per mail) rather than pretend to send.
async fn start(cx: &mut StartContext<'_>) -> Result<(), ServiceStartError> {
    let config = &cx.config.mail;
    let smtp = config
        .smtp
        .as_ref()
        .map(|s| mail::SmtpMailer::new(s, &config.from))
        .transpose()
        .map_err(|e| cx.fail(e))?;
    let mailer: mail::SharedMailer = match (config.record, smtp) {
        (true, smtp) => Arc::new(mail::RecordingMailer::new(
            cx.adapters.store.clone(),
            cx.adapters.clock.clone(),
            smtp,
        )),
        (false, Some(smtp)) => Arc::new(smtp),
        (false, None) => {
            tracing::warn!("JOJOMART_SMTP_URL is not set: no mail can be sent; notifications are recorded as failed");
            Arc::new(mail::Unconfigured)
        }
    };
    let public_url = cx
        .config
        .public_url
        .clone()
        .unwrap_or_else(|| "http://127.0.0.1:7071".to_owned());
    if cx.config.public_url.is_none() {
        tracing::warn!(%public_url, "JOJOMART_PUBLIC_URL is not set: links in mail point at {public_url}");
    }
    cx.handles.insert(Notifications {
        store: cx.adapters.store.clone(),
        clock: cx.adapters.clock.clone(),
        users: cx.require::<Users>()?,
        mailer,
        templates: Arc::new(render::Templates::load().map_err(|e| cx.fail(e))?),
        public_url,
    });
    Ok(())
}
