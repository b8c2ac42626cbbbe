//! The custom-handler wire for non-HTTP invocations, exactly as the Functions
//! host speaks it (see FUNCTIONS.md): `{Data, Metadata}` in, `{Outputs, Logs,
//! ReturnValue}` out. Queue strings arrive JSON-encoded twice.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// The binding name of every queue trigger we declare.
pub const QUEUE_BINDING: &str = "message";
/// The binding name of every timer trigger we declare.
pub const TIMER_BINDING: &str = "timer";

/// The body the host posts to `/{FunctionName}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InvocationRequest {
    /// Trigger and input binding values, keyed by binding name.
    #[serde(rename = "Data", default)]
    pub data: BTreeMap<String, Value>,
    /// Trigger metadata (queue message properties, `sys`).
    #[serde(rename = "Metadata", default)]
    pub metadata: BTreeMap<String, Value>,
}

/// What a handler answers to a non-HTTP invocation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InvocationResponse {
    /// Output binding values by binding name (a queue output takes a string or an array).
    #[serde(rename = "Outputs", default)]
    pub outputs: BTreeMap<String, Value>,
    /// Lines the host writes to the invocation's log.
    #[serde(rename = "Logs", default)]
    pub logs: Vec<String>,
    /// The function's return value (unused by our bindings).
    #[serde(rename = "ReturnValue", default)]
    pub return_value: Value,
}

/// The `sys` metadata every invocation carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SysMetadata {
    /// The function's method name as the host knows it.
    #[serde(rename = "MethodName")]
    pub method_name: String,
    /// When the host started the invocation.
    #[serde(rename = "UtcNow")]
    pub utc_now: String,
    /// A random GUID per invocation.
    #[serde(rename = "RandGuid")]
    pub rand_guid: String,
}

/// A queue message's metadata as the queue trigger reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueMetadata {
    /// How many times the message has been delivered, this time included.
    #[serde(rename = "DequeueCount", deserialize_with = "lenient_u32")]
    pub dequeue_count: u32,
    /// When the message expires.
    #[serde(rename = "ExpirationTime", deserialize_with = "lenient_time")]
    pub expiration_time: DateTime<Utc>,
    /// The message id.
    #[serde(rename = "Id")]
    pub id: String,
    /// When the message was sent.
    #[serde(rename = "InsertionTime", deserialize_with = "lenient_time")]
    pub insertion_time: DateTime<Utc>,
    /// When it becomes visible again.
    #[serde(rename = "NextVisibleTime", deserialize_with = "lenient_time")]
    pub next_visible_time: DateTime<Utc>,
    /// The pop receipt of this delivery.
    #[serde(rename = "PopReceipt")]
    pub pop_receipt: String,
    /// Invocation metadata.
    #[serde(rename = "sys", default, skip_serializing_if = "Option::is_none")]
    pub sys: Option<SysMetadata>,
}

/// A queue trigger invocation, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueTrigger {
    /// The message text as it was sent (one JSON document for our messages).
    pub message: String,
    /// The message's properties.
    pub metadata: QueueMetadata,
}

impl QueueTrigger {
    /// Parses the host's payload: `Data.message` is a JSON string whose
    /// content is the message JSON-encoded once more.
    ///
    /// # Errors
    /// A [`WireError`] naming what is missing or malformed.
    pub fn from_request(req: &InvocationRequest) -> Result<Self, WireError> {
        let raw = req
            .data
            .get(QUEUE_BINDING)
            .ok_or(WireError::Missing("Data.message"))?;
        let outer = raw
            .as_str()
            .ok_or(WireError::Malformed("Data.message is not a string"))?;
        // Second level: the string holds a JSON string literal (FUNCTIONS.md). A
        // host that sent one level only gives a string that is not a literal.
        let message = match serde_json::from_str::<Value>(outer) {
            Ok(Value::String(inner)) => inner,
            _ => outer.to_owned(),
        };
        let meta = Value::Object(req.metadata.clone().into_iter().collect());
        let metadata =
            serde_json::from_value(meta).map_err(|e| WireError::Metadata(e.to_string()))?;
        Ok(Self { message, metadata })
    }

    /// Builds the payload the host would post for a message (used by the in-process host).
    pub fn to_request(&self) -> InvocationRequest {
        let encoded =
            serde_json::to_string(&Value::String(self.message.clone())).unwrap_or_default();
        let mut data = BTreeMap::new();
        data.insert(QUEUE_BINDING.to_owned(), Value::String(encoded));
        let metadata = match serde_json::to_value(&self.metadata) {
            Ok(Value::Object(map)) => map.into_iter().collect(),
            _ => BTreeMap::new(),
        };
        InvocationRequest { data, metadata }
    }

    /// Deserializes the message text as JSON into `T`.
    ///
    /// # Errors
    /// [`WireError::Message`] when the text is not a `T`.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, WireError> {
        serde_json::from_str(&self.message).map_err(|e| WireError::Message(e.to_string()))
    }
}

/// The timer's schedule settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TimerSchedule {
    /// Whether the schedule adjusts for daylight saving time.
    #[serde(rename = "AdjustForDST", default)]
    pub adjust_for_dst: bool,
}

/// The schedule monitor's record (null when the monitor is off).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleStatus {
    /// The previous occurrence (`0001-01-01T00:00:00` before the first).
    #[serde(rename = "Last", deserialize_with = "lenient_time")]
    pub last: DateTime<Utc>,
    /// The next scheduled occurrence.
    #[serde(rename = "Next", deserialize_with = "lenient_time")]
    pub next: DateTime<Utc>,
    /// When the monitor last updated this record.
    #[serde(rename = "LastUpdated", deserialize_with = "lenient_time")]
    pub last_updated: DateTime<Utc>,
}

/// The `TimerInfo` object a timer trigger receives (an object, not double-encoded).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TimerInfo {
    /// Schedule settings.
    #[serde(rename = "Schedule", default)]
    pub schedule: TimerSchedule,
    /// The monitor's record, if any.
    #[serde(rename = "ScheduleStatus", default)]
    pub schedule_status: Option<ScheduleStatus>,
    /// True when this run is late (the app was down at the scheduled time).
    #[serde(rename = "IsPastDue", default)]
    pub is_past_due: bool,
}

/// A timer trigger invocation, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct TimerTrigger {
    /// The timer's info.
    pub info: TimerInfo,
    /// Invocation metadata, if sent.
    pub sys: Option<SysMetadata>,
}

impl TimerTrigger {
    /// Parses the host's payload.
    ///
    /// # Errors
    /// A [`WireError`] naming what is missing or malformed.
    pub fn from_request(req: &InvocationRequest) -> Result<Self, WireError> {
        let raw = req
            .data
            .get(TIMER_BINDING)
            .ok_or(WireError::Missing("Data.timer"))?;
        // Objects arrive as objects; tolerate a host that encoded it as a string.
        let info = match raw {
            Value::String(s) => serde_json::from_str(s),
            other => serde_json::from_value(other.clone()),
        }
        .map_err(|e| WireError::Metadata(e.to_string()))?;
        let sys = req
            .metadata
            .get("sys")
            .and_then(|v| serde_json::from_value(v.clone()).ok());
        Ok(Self { info, sys })
    }

    /// Builds the payload the host would post (used by the in-process host).
    pub fn to_request(&self) -> InvocationRequest {
        let mut data = BTreeMap::new();
        data.insert(
            TIMER_BINDING.to_owned(),
            serde_json::to_value(&self.info).unwrap_or(Value::Null),
        );
        let mut metadata = BTreeMap::new();
        if let Some(sys) = &self.sys {
            metadata.insert(
                "sys".to_owned(),
                serde_json::to_value(sys).unwrap_or(Value::Null),
            );
        }
        InvocationRequest { data, metadata }
    }
}

/// Why a host payload could not be understood.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// A required part is absent.
    #[error("{0} is missing")]
    Missing(&'static str),
    /// A part has the wrong shape.
    #[error("{0}")]
    Malformed(&'static str),
    /// The metadata does not parse.
    #[error("metadata: {0}")]
    Metadata(String),
    /// The message text is not what the function expects.
    #[error("message: {0}")]
    Message(String),
}

fn lenient_u32<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    match Value::deserialize(d)? {
        Value::Number(n) => n
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| serde::de::Error::custom("DequeueCount out of range")),
        Value::String(s) => s.parse().map_err(serde::de::Error::custom),
        _ => Err(serde::de::Error::custom("DequeueCount is not a number")),
    }
}

/// Parses RFC 3339, or a naive `0001-01-01T00:00:00` (taken as UTC) as the host sends before a first run.
pub fn parse_host_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|n| n.and_utc())
        })
}

fn lenient_time<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    let s = String::deserialize(d)?;
    parse_host_time(&s).ok_or_else(|| serde::de::Error::custom(format!("bad time `{s}`")))
}
