//! `POST /admin/functions/{FunctionName}` `{input}` → 202: runs a queue or timer
//! function now, as the Functions host's admin endpoint does. JSON only, and
//! not from other sites' pages ([`crate::http::host_only`]).

use axum::{
    extract::{Path, State},
    http::StatusCode,
    middleware::from_fn,
    routing::post,
    Router,
};
use chrono::Duration;
use jojomart_shared::error::ApiError;
use serde::Deserialize;

use super::{queues::metadata_of, timers::manual_trigger, InProcessHost};
use crate::{
    http::{host_only::host_only, ApiJson},
    table::Trigger,
    wire::{InvocationRequest, QueueTrigger},
};

/// The admin endpoint's body.
#[derive(Debug, Deserialize)]
pub struct AdminInvocation {
    /// The queue message text (ignored for timers).
    #[serde(default)]
    pub input: Option<String>,
}

/// The admin routes, served by `jojomart dev` only (the real host serves its own).
pub fn routes(host: InProcessHost) -> Router {
    Router::new()
        .route("/admin/functions/{name}", post(run_function))
        .route_layer(from_fn(host_only))
        .with_state(host)
}

async fn run_function(
    State(host): State<InProcessHost>,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<AdminInvocation>,
) -> Result<StatusCode, ApiError> {
    let function = host
        .function(&name)
        .ok_or_else(|| ApiError::NotFound(format!("no function named `{name}`")))?;
    let payload: InvocationRequest = match &function.trigger {
        Trigger::Queue { .. } => {
            let input = body.input.unwrap_or_default();
            let now = host.state.adapters().clock.now();
            let message = jojomart_shared::queue::ReceivedMessage {
                id: uuid::Uuid::new_v4().to_string(),
                pop_receipt: uuid::Uuid::new_v4().to_string(),
                body: input.clone(),
                dequeue_count: 1,
                insertion_time: now,
                expiration_time: now + Duration::days(7),
                next_visible_time: now,
            };
            QueueTrigger {
                message: input,
                metadata: metadata_of(&message, function.name, now),
            }
            .to_request()
        }
        Trigger::Timer { .. } => {
            manual_trigger(function.name, host.state.adapters().clock.now()).to_request()
        }
        Trigger::Http { .. } => {
            return Err(ApiError::invalid_field(
                "name",
                "is an HTTP function; call its route instead",
            ))
        }
    };
    let name = function.name;
    let invoker = host.invoker.clone();
    host.tracker.spawn(async move {
        if let Err(e) = invoker.invoke(name, &payload).await {
            tracing::warn!(function = name, error = %e, "admin invocation failed");
        }
    });
    Ok(StatusCode::ACCEPTED)
}
