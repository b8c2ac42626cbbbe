//! The Azure Storage Queues adapter of the queue port (`azure_storage_queue` 1.1).
//!
//! Messages travel base64-encoded, as the Functions queue trigger expects by
//! default (`messageEncoding: base64`), and are decoded on receive; text that is
//! not base64 (sent by a tool that does not encode) is passed through as is.
//!
//! Authentication: with an account key the adapter signs an account SAS
//! (`azure_settings::account_sas`; the crate has no shared-key policy) and appends it to every URL; in Azure it
//! takes a managed-identity `TokenCredential`. The `x-ms-version` is
//! configurable because Azurite 3.3x rejects the crate's default.
//!
//! Errors are mapped here: 404 → `NotFound`, 400 `PopReceiptMismatch` →
//! `PopReceiptMismatch`, other 400s → `Invalid`, 5xx/429/transport →
//! `Unavailable` (after the pipeline's bounded retries).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;
use azure_core::{
    error::ErrorKind,
    http::{headers::HeaderName, ClientOptions, ExponentialRetryOptions, RetryOptions, Url},
    time::OffsetDateTime,
};
use azure_storage_queue::{
    models::{
        QueueClientGetPropertiesResultHeaders, QueueClientReceiveMessagesOptions,
        QueueClientSendMessageOptions, QueueMessage,
    },
    QueueClient, QueueClientOptions,
};
use base64::{engine::general_purpose::STANDARD, Engine};
use chrono::{DateTime, Utc};

use super::{MessageQueue, QueueError, ReceivedMessage, SendOptions, SentMessage};
use crate::azure_settings::{
    self, AzureConfigError, QueueSettings, SasServices, StorageCredential,
};

/// Largest message text Storage Queues accept (64 KiB, after base64).
const MAX_WIRE_BYTES: usize = 64 * 1024;
/// Longest visibility timeout or initial delay the service accepts (7 days).
const MAX_VISIBILITY: Duration = Duration::from_secs(7 * 24 * 3600);

/// The queue port over Azure Storage Queues (kind `azure`).
pub struct AzureQueue {
    endpoint: String,
    auth: StorageCredential,
    api_version: String,
    clients: Mutex<HashMap<String, Arc<QueueClient>>>,
}

impl std::fmt::Debug for AzureQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AzureQueue")
            .field("endpoint", &self.endpoint)
            .field("auth", &self.auth.kind())
            .field("api_version", &self.api_version)
            .finish_non_exhaustive()
    }
}

impl AzureQueue {
    /// Builds the adapter from settings (no request is made).
    ///
    /// # Errors
    /// [`AzureConfigError`] naming the setting that cannot be used.
    pub fn connect(settings: &QueueSettings) -> Result<Self, AzureConfigError> {
        let endpoint = settings.endpoint.trim_end_matches('/').to_owned();
        let auth = StorageCredential::resolve(
            &settings.auth,
            SasServices::Queue,
            &settings.api_version,
            &endpoint,
            "AzureWebJobsStorage__queueServiceUri",
        )?;
        Ok(Self {
            endpoint,
            auth,
            api_version: settings.api_version.clone(),
            clients: Mutex::new(HashMap::new()),
        })
    }

    /// The queue service endpoint this adapter talks to.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The client of one queue, built once.
    fn client(&self, queue: &str) -> Result<Arc<QueueClient>, QueueError> {
        validate_name(queue)?;
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = clients.get(queue) {
            return Ok(c.clone());
        }
        let mut url = format!("{}/{queue}", self.endpoint);
        let credential = match &self.auth {
            StorageCredential::Sas(sas) => {
                url.push('?');
                url.push_str(sas.expose());
                None
            }
            StorageCredential::Token(credential) => Some(credential.clone()),
        };
        let url = Url::parse(&url).map_err(|e| QueueError::Invalid(format!("queue URL: {e}")))?;
        let options = QueueClientOptions {
            client_options: client_options(),
            version: self.api_version.clone(),
        };
        let client =
            Arc::new(QueueClient::new(url, credential, Some(options)).map_err(|e| map_error(&e))?);
        clients.insert(queue.to_owned(), client.clone());
        Ok(client)
    }

    /// The raw message text of up to 32 messages without dequeuing them: what
    /// is on the wire (base64), for tests and diagnostics.
    ///
    /// # Errors
    /// The mapped service error.
    pub async fn peek_raw(&self, queue: &str, max: u32) -> Result<Vec<String>, QueueError> {
        let client = self.client(queue)?;
        let options = azure_storage_queue::models::QueueClientPeekMessagesOptions {
            number_of_messages: Some(max.clamp(1, 32) as i32),
            ..Default::default()
        };
        let peeked = client
            .peek_messages(Some(options))
            .await
            .map_err(|e| map_error(&e))?
            .into_model()
            .map_err(|e| map_error(&e))?;
        Ok(peeked
            .items
            .unwrap_or_default()
            .into_iter()
            .filter_map(|m| m.message_text)
            .collect())
    }

    /// Deletes a queue (tests clean up with it).
    ///
    /// # Errors
    /// The mapped service error; a missing queue is not an error.
    pub async fn delete_queue(&self, queue: &str) -> Result<(), QueueError> {
        match self.client(queue)?.delete(None).await {
            Ok(_) => Ok(()),
            Err(e) => match map_error(&e) {
                QueueError::NotFound => Ok(()),
                other => Err(other),
            },
        }
    }
}

/// Pipeline options: a short, bounded retry so an unreachable service fails fast.
fn client_options() -> ClientOptions {
    ClientOptions {
        retry: RetryOptions::exponential(ExponentialRetryOptions {
            initial_delay: azure_core::time::Duration::milliseconds(200),
            max_retries: 3,
            max_total_elapsed: azure_core::time::Duration::seconds(10),
            max_delay: azure_core::time::Duration::seconds(2),
        }),
        ..Default::default()
    }
}

/// Queue names: 3–63 lowercase letters, digits and single hyphens, as Azure requires.
fn validate_name(queue: &str) -> Result<(), QueueError> {
    let ok = (3..=63).contains(&queue.len())
        && queue
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !queue.starts_with('-')
        && !queue.ends_with('-')
        && !queue.contains("--");
    if ok {
        Ok(())
    } else {
        Err(QueueError::Invalid(format!("bad queue name `{queue}`")))
    }
}

/// Maps an SDK error onto the port's errors.
fn map_error(e: &azure_core::Error) -> QueueError {
    match e.kind() {
        ErrorKind::HttpResponse {
            status, error_code, ..
        } => {
            let code = u16::from(*status);
            let error_code = error_code.as_deref().unwrap_or_default();
            match code {
                404 => QueueError::NotFound,
                400 if error_code == "PopReceiptMismatch" => QueueError::PopReceiptMismatch,
                400 | 413 => QueueError::Invalid(format!("{code} {error_code}")),
                408 | 429 | 500..=599 => QueueError::Unavailable(format!("{code} {error_code}")),
                _ => QueueError::Internal(format!("{code} {error_code}")),
            }
        }
        ErrorKind::Io | ErrorKind::Connection => {
            QueueError::Unavailable(azure_settings::first_line(e))
        }
        ErrorKind::Credential => {
            QueueError::Internal(format!("credential: {}", azure_settings::first_line(e)))
        }
        _ => QueueError::Internal(azure_settings::first_line(e)),
    }
}

fn seconds(d: Duration) -> i32 {
    i32::try_from(d.min(MAX_VISIBILITY).as_secs()).unwrap_or(i32::MAX)
}

fn to_chrono(t: Option<OffsetDateTime>) -> Result<DateTime<Utc>, QueueError> {
    let t = t.ok_or_else(|| QueueError::Internal("message without a timestamp".into()))?;
    DateTime::from_timestamp(t.unix_timestamp(), t.nanosecond())
        .ok_or_else(|| QueueError::Internal("timestamp out of range".into()))
}

/// Decodes base64 message text; text that is not base64 UTF-8 is returned as is.
fn decode_body(text: String) -> String {
    match STANDARD.decode(text.as_bytes()).ok().map(String::from_utf8) {
        Some(Ok(decoded)) => decoded,
        _ => {
            tracing::warn!("queue message text is not base64; passing it through undecoded");
            text
        }
    }
}

#[async_trait]
impl MessageQueue for AzureQueue {
    fn kind(&self) -> &'static str {
        "azure"
    }

    async fn ensure_queue(&self, queue: &str) -> Result<(), QueueError> {
        match self.client(queue)?.create(None).await {
            Ok(_) => Ok(()),
            Err(e) if e.http_status().map(u16::from) == Some(409) => Ok(()),
            Err(e) => Err(map_error(&e)),
        }
    }

    async fn send(
        &self,
        queue: &str,
        body: &str,
        options: SendOptions,
    ) -> Result<SentMessage, QueueError> {
        let text = STANDARD.encode(body.as_bytes());
        if text.len() > MAX_WIRE_BYTES {
            return Err(QueueError::Invalid(format!(
                "message is {} bytes after base64; the limit is {MAX_WIRE_BYTES}",
                text.len()
            )));
        }
        let client = self.client(queue)?;
        let send_options = QueueClientSendMessageOptions {
            visibility_timeout: Some(seconds(options.initial_delay)),
            message_time_to_live: options
                .time_to_live
                .map(|ttl| i32::try_from(ttl.as_secs().max(1)).unwrap_or(i32::MAX)),
            ..Default::default()
        };
        let message = QueueMessage {
            message_text: Some(text),
        };
        let content = message
            .try_into()
            .map_err(|e: azure_core::Error| map_error(&e))?;
        let sent = client
            .send_message(content, Some(send_options))
            .await
            .map_err(|e| map_error(&e))?
            .into_model()
            .map_err(|e| map_error(&e))?
            .into_message()
            .map_err(|e| map_error(&e))?;
        let id = sent
            .message_id
            .ok_or_else(|| QueueError::Internal("sent message without an id".into()))?;
        Ok(SentMessage { id })
    }

    async fn receive(
        &self,
        queue: &str,
        max: u32,
        visibility_timeout: Duration,
    ) -> Result<Vec<ReceivedMessage>, QueueError> {
        if !(1..=32).contains(&max) {
            return Err(QueueError::Invalid("receive takes 1..=32 messages".into()));
        }
        let client = self.client(queue)?;
        let options = QueueClientReceiveMessagesOptions {
            number_of_messages: Some(max as i32),
            visibility_timeout: Some(seconds(visibility_timeout).max(1)),
            ..Default::default()
        };
        let received = client
            .receive_messages(Some(options))
            .await
            .map_err(|e| map_error(&e))?
            .into_model()
            .map_err(|e| map_error(&e))?;
        received
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|m| {
                let missing =
                    |what: &str| QueueError::Internal(format!("received message without {what}"));
                Ok(ReceivedMessage {
                    id: m.message_id.ok_or_else(|| missing("an id"))?,
                    pop_receipt: m.pop_receipt.ok_or_else(|| missing("a pop receipt"))?,
                    body: decode_body(m.message_text.unwrap_or_default()),
                    dequeue_count: m
                        .dequeue_count
                        .and_then(|c| u32::try_from(c).ok())
                        .ok_or_else(|| missing("a dequeue count"))?,
                    insertion_time: to_chrono(m.insertion_time)?,
                    expiration_time: to_chrono(m.expiration_time)?,
                    next_visible_time: to_chrono(m.time_next_visible)?,
                })
            })
            .collect()
    }

    async fn delete(&self, queue: &str, id: &str, pop_receipt: &str) -> Result<(), QueueError> {
        if id.is_empty() {
            return Err(QueueError::NotFound);
        }
        self.client(queue)?
            .delete_message(id, pop_receipt, None)
            .await
            .map(|_| ())
            .map_err(|e| map_error(&e))
    }

    async fn update_visibility(
        &self,
        queue: &str,
        id: &str,
        pop_receipt: &str,
        visibility_timeout: Duration,
    ) -> Result<String, QueueError> {
        if id.is_empty() {
            return Err(QueueError::NotFound);
        }
        let response = self
            .client(queue)?
            .update_message(id, pop_receipt, seconds(visibility_timeout), None)
            .await
            .map_err(|e| map_error(&e))?;
        response
            .headers()
            .get_optional_str(&HeaderName::from_static("x-ms-popreceipt"))
            .map(str::to_owned)
            .ok_or_else(|| QueueError::Internal("update returned no x-ms-popreceipt".into()))
    }

    async fn approximate_count(&self, queue: &str) -> Result<u64, QueueError> {
        let response = self
            .client(queue)?
            .get_properties(None)
            .await
            .map_err(|e| map_error(&e))?;
        let count = response
            .approximate_messages_count()
            .map_err(|e| map_error(&e))?;
        Ok(count.and_then(|c| u64::try_from(c).ok()).unwrap_or(0))
    }

    async fn health(&self) -> Result<(), QueueError> {
        // Any queue name proves the account answers: a missing queue is a 404 from a live service.
        match self.client("health-probe")?.get_properties(None).await {
            Ok(_) => Ok(()),
            Err(e) => match map_error(&e) {
                QueueError::NotFound => Ok(()),
                other => Err(other),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_bodies() {
        assert!(validate_name("notifications-poison").is_ok());
        assert!(validate_name("Bad_Name").is_err());
        assert_eq!(decode_body(STANDARD.encode("{\"a\":1}")), "{\"a\":1}");
        assert_eq!(decode_body("{not base64}".into()), "{not base64}");
    }
}
