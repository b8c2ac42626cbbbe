//! Builds the tracing subscriber: JSON lines under the Functions host (so Azure
//! Monitor can parse them), pretty lines in `dev`, captured output in tests.

use tracing_subscriber::{fmt, layer::SubscriberExt, util::SubscriberInitExt, EnvFilter};

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line, with span fields (production).
    Json,
    /// Human-friendly lines (local development).
    Pretty,
}

/// Installs the global subscriber; the filter comes from `RUST_LOG` or `JOJOMART_LOG`,
/// defaulting to `info`. Calling it twice is harmless (the second call is ignored).
pub fn init(format: LogFormat) {
    let filter = std::env::var("JOJOMART_LOG")
        .ok()
        .and_then(|v| EnvFilter::try_new(v).ok())
        .or_else(|| EnvFilter::try_from_default_env().ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    let registry = tracing_subscriber::registry().with(filter);
    let _ = match format {
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_span_list(false),
            )
            .try_init(),
        LogFormat::Pretty => registry
            .with(fmt::layer().compact().with_target(false))
            .try_init(),
    };
}

/// Installs a subscriber that writes through the test harness's capture.
pub fn init_for_tests() {
    let _ = tracing_subscriber::registry()
        .with(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")))
        .with(fmt::layer().with_test_writer())
        .try_init();
}
