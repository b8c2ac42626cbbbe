//! Calls a queue or timer function the way the Functions host does: `POST
//! /{FunctionName}` with a `{Data, Metadata}` body, through the app's own router.

use axum::{body::Body, http::Request, Router};
use http_body_util::BodyExt;
use tower::ServiceExt;

use crate::{
    http::middleware::INVOCATION_ID,
    wire::{InvocationRequest, InvocationResponse},
};

/// Invokes non-HTTP functions through the router that serves them.
#[derive(Debug, Clone)]
pub struct Invoker {
    router: Router,
}

/// Why an invocation did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    /// The function answered non-2xx (the host counts it as failed).
    #[error("function answered {status}: {body}")]
    Failed {
        /// The status it answered.
        status: u16,
        /// Its body, for the log.
        body: String,
    },
    /// The answer was not the `{Outputs, Logs, ReturnValue}` JSON the host requires.
    #[error("function answered something the host cannot read: {0}")]
    BadAnswer(String),
}

impl Invoker {
    /// An invoker over the router that serves `POST /{FunctionName}`.
    pub fn new(router: Router) -> Self {
        Self { router }
    }

    /// Posts `payload` to the function and reads its answer.
    ///
    /// # Errors
    /// [`InvokeError`] when the function fails or answers in a shape the host rejects.
    pub async fn invoke(
        &self,
        function: &str,
        payload: &InvocationRequest,
    ) -> Result<InvocationResponse, InvokeError> {
        let body =
            serde_json::to_vec(payload).map_err(|e| InvokeError::BadAnswer(e.to_string()))?;
        let request = Request::post(format!("/{function}"))
            .header("content-type", "application/json")
            .header(INVOCATION_ID, uuid::Uuid::new_v4().to_string())
            .body(Body::from(body))
            .map_err(|e| InvokeError::BadAnswer(e.to_string()))?;
        let response = match self.router.clone().oneshot(request).await {
            Ok(r) => r,
            Err(never) => match never {},
        };
        let status = response.status();
        let is_json = response
            .headers()
            .get("content-type")
            .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|e| InvokeError::BadAnswer(e.to_string()))?
            .to_bytes();
        if !status.is_success() {
            return Err(InvokeError::Failed {
                status: status.as_u16(),
                body: String::from_utf8_lossy(&bytes).into_owned(),
            });
        }
        if !is_json {
            return Err(InvokeError::BadAnswer(
                "Content-Type is not application/json".into(),
            ));
        }
        serde_json::from_slice(&bytes).map_err(|e| InvokeError::BadAnswer(e.to_string()))
    }
}
