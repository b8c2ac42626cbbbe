//! Builds the tracing subscriber: JSON lines under the Functions host (so Azure
//! Monitor can parse them), pretty lines in `dev`, captured output in tests;
//! and, only when `APPLICATIONINSIGHTS_CONNECTION_STRING` is set, an
//! OpenTelemetry pipeline to Application Insights: one request per invocation
//! (its span), the events inside it as traces, and the custom metrics
//! ([`count_order_placed`], [`count_payment_failure`]).

use std::{cell::Cell, collections::HashMap, sync::OnceLock, time::Duration};

use opentelemetry::{
    global,
    metrics::Counter,
    propagation::TextMapPropagator,
    trace::{SpanId, TraceContextExt, TraceId, TracerProvider as _},
    KeyValue,
};
use opentelemetry_sdk::{
    metrics::{PeriodicReader, SdkMeterProvider},
    propagation::TraceContextPropagator,
    trace::{IdGenerator, RandomIdGenerator, SdkTracerProvider},
    Resource,
};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::{
    filter::LevelFilter, fmt, layer::SubscriberExt, util::SubscriberInitExt, EnvFilter, Layer,
};

/// The setting that turns Application Insights on (Bicep passes it to every app).
pub const CONNECTION_STRING: &str = "APPLICATIONINSIGHTS_CONNECTION_STRING";
/// How often metrics are exported, in milliseconds (OpenTelemetry's own name; default 60 s).
pub const METRIC_EXPORT_INTERVAL: &str = "OTEL_METRIC_EXPORT_INTERVAL";

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line, with span fields (production).
    Json,
    /// Human-friendly lines (local development).
    Pretty,
}

/// The OpenTelemetry pipeline, when one runs; [`Telemetry::shutdown`] (or
/// dropping it) flushes what is still buffered.
#[derive(Debug, Default)]
#[must_use = "dropping it shuts the telemetry pipeline down"]
pub struct Telemetry {
    pipeline: Option<Pipeline>,
}

#[derive(Debug)]
struct Pipeline {
    tracer: SdkTracerProvider,
    meter: SdkMeterProvider,
}

impl Telemetry {
    /// True when telemetry goes to Application Insights.
    pub fn is_exporting(&self) -> bool {
        self.pipeline.is_some()
    }

    /// Exports what is buffered and stops the pipeline; later calls do nothing.
    pub fn shutdown(&mut self) {
        if let Some(pipeline) = self.pipeline.take() {
            // the exporter's HTTP runs on its own runtime, so blocking here is safe
            if let Err(e) = pipeline.tracer.shutdown() {
                eprintln!("telemetry: flushing spans failed: {e}");
            }
            if let Err(e) = pipeline.meter.shutdown() {
                eprintln!("telemetry: flushing metrics failed: {e}");
            }
        }
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Installs the global subscriber; the filter comes from `RUST_LOG` or `JOJOMART_LOG`,
/// defaulting to `info`. With a connection string set, spans and `info` events
/// also go to Application Insights (whatever the log filter). Calling it twice
/// is harmless (the second call is ignored and exports nothing).
pub fn init(format: LogFormat) -> Telemetry {
    let filter = std::env::var("JOJOMART_LOG")
        .ok()
        .and_then(|v| EnvFilter::try_new(v).ok())
        .or_else(|| EnvFilter::try_from_default_env().ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    let fmt_layer = match format {
        LogFormat::Json => fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_filter(filter)
            .boxed(),
        LogFormat::Pretty => fmt::layer()
            .compact()
            .with_target(false)
            .with_filter(filter)
            .boxed(),
    };
    let connection_string = std::env::var(CONNECTION_STRING)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty() && !crate::config::is_unresolved_key_vault_reference(v));
    let pipeline = connection_string.and_then(|cs| match pipeline(&cs) {
        Ok(p) => Some(p),
        Err(e) => {
            eprintln!(
                "telemetry: {CONNECTION_STRING} is not usable, Application Insights is off: {e}"
            );
            None
        }
    });
    let otel_layer = pipeline.as_ref().map(|p| {
        tracing_opentelemetry::layer()
            .with_tracer(p.tracer.tracer("jojomart"))
            .with_location(false)
            .with_threads(false)
            .with_target(false)
            .with_tracked_inactivity(false)
            .with_filter(LevelFilter::INFO)
    });
    let installed = tracing_subscriber::registry()
        .with(fmt_layer)
        .with(otel_layer)
        .try_init()
        .is_ok();
    if !installed {
        return Telemetry::default();
    }
    if let Some(p) = &pipeline {
        global::set_meter_provider(p.meter.clone());
    }
    Telemetry { pipeline }
}

fn pipeline(connection_string: &str) -> Result<Pipeline, Box<dyn std::error::Error + Send + Sync>> {
    let client = ExportClient::start()?;
    let resource = Resource::builder().with_service_name("jojomart").build();
    let exporter = |client| {
        let exporter = opentelemetry_application_insights::Exporter::new_from_connection_string(
            connection_string,
            client,
        )?;
        match loopback_http_endpoint(connection_string) {
            // the exporter makes every endpoint https; a local collector may not be
            #[allow(deprecated)]
            Some(endpoint) => exporter.with_endpoint(endpoint),
            None => Ok(exporter),
        }
    };
    let spans = exporter(client.clone())?;
    let metrics = exporter(client)?;
    let tracer = SdkTracerProvider::builder()
        .with_resource(resource.clone())
        .with_id_generator(InvocationIds)
        .with_batch_exporter(spans)
        .build();
    let interval = std::env::var(METRIC_EXPORT_INTERVAL)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|ms| *ms > 0)
        .map_or(Duration::from_secs(60), Duration::from_millis);
    let meter = SdkMeterProvider::builder()
        .with_resource(resource)
        .with_reader(
            PeriodicReader::builder(metrics)
                .with_interval(interval)
                .build(),
        )
        .build();
    Ok(Pipeline { tracer, meter })
}

/// The connection string's `IngestionEndpoint` when it is plain `http://` on
/// the loopback interface (a local collector), which keeps its scheme.
fn loopback_http_endpoint(connection_string: &str) -> Option<&str> {
    let endpoint = connection_string
        .split(';')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| key.trim().eq_ignore_ascii_case("IngestionEndpoint"))
        .map(|(_, value)| value.trim())?;
    let rest = endpoint.strip_prefix("http://")?;
    let authority = rest.split('/').next().unwrap_or_default();
    let host = authority
        .rsplit_once(':')
        .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
        .map_or(authority, |(host, _)| host);
    ["127.0.0.1", "localhost", "[::1]"]
        .contains(&host)
        .then_some(endpoint)
}

/// The exporters' HTTP client: reqwest on a small runtime of its own, so the
/// SDK's export threads (and a shutdown called from inside the app's runtime)
/// never depend on the app's runtime.
#[derive(Debug, Clone)]
struct ExportClient {
    client: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

impl ExportClient {
    fn start() -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let handle = runtime.handle().clone();
        std::thread::Builder::new()
            .name("telemetry-http".to_owned())
            .spawn(move || runtime.block_on(std::future::pending::<()>()))?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(std::io::Error::other)?;
        Ok(Self {
            client,
            runtime: handle,
        })
    }
}

#[async_trait::async_trait]
impl opentelemetry_http::HttpClient for ExportClient {
    async fn send_bytes(
        &self,
        request: http::Request<bytes::Bytes>,
    ) -> Result<http::Response<bytes::Bytes>, opentelemetry_http::HttpError> {
        let client = self.client.clone();
        let request = reqwest::Request::try_from(request)?;
        self.runtime
            .spawn(async move {
                let response = client.execute(request).await?;
                let mut answer = http::Response::builder().status(response.status());
                for (name, value) in response.headers() {
                    answer = answer.header(name, value);
                }
                let body = response.bytes().await?;
                Ok::<_, opentelemetry_http::HttpError>(answer.body(body)?)
            })
            .await?
    }
}

thread_local! {
    /// The trace id the next root span on this thread takes (see [`start_operation`]).
    static NEXT_TRACE_ID: Cell<Option<TraceId>> = const { Cell::new(None) };
}

/// Random ids, except for the root span [`start_operation`] starts, whose
/// trace id (Application Insights' `operation_Id`) is the invocation id.
#[derive(Debug)]
struct InvocationIds;

impl IdGenerator for InvocationIds {
    fn new_trace_id(&self) -> TraceId {
        NEXT_TRACE_ID
            .with(Cell::take)
            .unwrap_or_else(|| RandomIdGenerator::default().new_trace_id())
    }

    fn new_span_id(&self) -> SpanId {
        RandomIdGenerator::default().new_span_id()
    }
}

/// Makes `span` the operation of one invocation: its parent is the caller's
/// W3C `traceparent` when there is a valid one; otherwise it is a root whose
/// trace id (`operation_Id`) is the invocation id when that is a GUID, so the
/// host's invocation and our request share one id. Does nothing when telemetry
/// is off.
pub fn start_operation(span: &tracing::Span, traceparent: Option<&str>, invocation_id: &str) {
    if let Some(traceparent) = traceparent {
        let carrier = HashMap::from([("traceparent".to_owned(), traceparent.to_owned())]);
        let parent = TraceContextPropagator::new().extract(&carrier);
        if parent.span().span_context().is_valid() {
            let _ = span.set_parent(parent);
            return;
        }
    }
    if let Ok(id) = uuid::Uuid::parse_str(invocation_id) {
        NEXT_TRACE_ID.with(|next| next.set(Some(TraceId::from_bytes(*id.as_bytes()))));
        // builds the OpenTelemetry span now, on this thread, taking that id
        let _ = span.context();
        NEXT_TRACE_ID.with(Cell::take);
    }
}

/// Sets an OpenTelemetry attribute on `span` without making it a log field.
pub fn set_attribute(span: &tracing::Span, key: &'static str, value: impl Into<String>) {
    span.set_attribute(key, value.into());
}

struct Counters {
    orders_placed: Counter<u64>,
    payment_failures: Counter<u64>,
}

fn counters() -> &'static Counters {
    static COUNTERS: OnceLock<Counters> = OnceLock::new();
    COUNTERS.get_or_init(|| {
        let meter = global::meter("jojomart");
        Counters {
            orders_placed: meter
                .u64_counter("orders_placed")
                .with_description("orders placed (checkout accepted)")
                .build(),
            payment_failures: meter
                .u64_counter("payment_failures")
                .with_description("payments declined or failed")
                .build(),
        }
    })
}

/// Counts one order placed (metric `orders_placed`).
pub fn count_order_placed() {
    counters().orders_placed.add(1, &[]);
}

/// Counts one failed payment (metric `payment_failures`), with its reason code.
pub fn count_payment_failure(code: &str) {
    counters()
        .payment_failures
        .add(1, &[KeyValue::new("code", code.to_owned())]);
}

/// Installs a subscriber that writes through the test harness's capture.
pub fn init_for_tests() {
    let _ = tracing_subscriber::registry()
        .with(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")))
        .with(fmt::layer().with_test_writer())
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::loopback_http_endpoint;

    #[test]
    fn only_a_loopback_http_endpoint_keeps_its_scheme() {
        let cs = |e: &str| format!("InstrumentationKey=k;IngestionEndpoint={e};LiveEndpoint=x");
        assert_eq!(
            loopback_http_endpoint(&cs("http://127.0.0.1:4318/")),
            Some("http://127.0.0.1:4318/")
        );
        assert_eq!(
            loopback_http_endpoint(&cs("http://localhost")),
            Some("http://localhost")
        );
        assert_eq!(
            loopback_http_endpoint(&cs("http://[::1]:80")),
            Some("http://[::1]:80")
        );
        assert_eq!(loopback_http_endpoint(&cs("http://example.com/")), None);
        assert_eq!(
            loopback_http_endpoint(&cs("http://127.0.0.1.example.com/")),
            None
        );
        assert_eq!(loopback_http_endpoint(&cs("https://127.0.0.1/")), None);
        assert_eq!(loopback_http_endpoint("InstrumentationKey=k"), None);
    }
}
