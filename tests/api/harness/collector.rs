//! A loopback Application Insights ingestion endpoint: accepts the exporter's
//! `POST /v2.1/track` (a JSON array of envelopes, gzip'd or not), keeps every
//! envelope and answers as the real service does.

use std::{
    io::Read,
    sync::{Arc, Mutex},
};

use axum::{body::Bytes, extract::State, http::HeaderMap, routing::post, Json, Router};
use serde_json::{json, Value};

/// The running collector; stops with the test's runtime.
pub struct Collector {
    /// `http://127.0.0.1:{port}/`.
    pub endpoint: String,
    received: Arc<Mutex<Vec<Value>>>,
}

impl Collector {
    /// Listens on a free loopback port.
    pub async fn start() -> Self {
        let received = Arc::new(Mutex::new(Vec::new()));
        let app = Router::new()
            .route("/v2.1/track", post(track))
            .route("/v2/track", post(track))
            .with_state(received.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the collector");
        let port = listener.local_addr().expect("address").port();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            endpoint: format!("http://127.0.0.1:{port}/"),
            received,
        }
    }

    /// A connection string whose ingestion endpoint is this collector.
    pub fn connection_string(&self) -> String {
        format!(
            "InstrumentationKey=00000000-0000-4000-8000-000000000000;IngestionEndpoint={}",
            self.endpoint
        )
    }

    /// Every envelope received so far.
    pub fn envelopes(&self) -> Vec<Value> {
        self.received.lock().expect("lock").clone()
    }

    /// The request envelopes (`RequestData`) received so far.
    pub fn requests(&self) -> Vec<Value> {
        self.of_type("RequestData")
    }

    /// The envelopes of one `baseType` received so far.
    pub fn of_type(&self, base_type: &str) -> Vec<Value> {
        self.envelopes()
            .into_iter()
            .filter(|e| e["data"]["baseType"] == base_type)
            .collect()
    }

    /// The latest value of the metric `name` (counters are cumulative), if any.
    pub fn metric(&self, name: &str) -> Option<f64> {
        self.of_type("MetricData")
            .iter()
            .flat_map(|e| {
                e["data"]["baseData"]["metrics"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .filter(|m| m["name"] == name)
            .filter_map(|m| m["value"].as_f64())
            .next_back()
    }
}

async fn track(
    State(received): State<Arc<Mutex<Vec<Value>>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Json<Value> {
    let gzip = headers
        .get("content-encoding")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
    let mut text = String::new();
    if gzip {
        flate2::read::GzDecoder::new(&body[..])
            .read_to_string(&mut text)
            .expect("gzip'd JSON");
    } else {
        text = String::from_utf8(body.to_vec()).expect("UTF-8 JSON");
    }
    let items: Vec<Value> = serde_json::from_str(&text)
        .or_else(|_| {
            // newline-delimited envelopes
            text.lines()
                .filter(|l| !l.trim().is_empty())
                .map(serde_json::from_str)
                .collect()
        })
        .expect("an array of envelopes");
    let n = items.len();
    received.lock().expect("lock").extend(items);
    Json(json!({"itemsReceived": n, "itemsAccepted": n, "errors": []}))
}
