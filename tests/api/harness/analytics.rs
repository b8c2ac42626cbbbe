//! Analytics, typed: the admin summary and its CSV, the rollup timer, and
//! draining what shoppers did into the `analytics-events` queue and through
//! `ingest-analytics`.

use jojomart::analytics::{Tracker, QUEUE};
use reqwest::{Method, Response};
use serde_json::Value;

use super::{orders::answer, TestApp};

/// `app.analytics()`.
pub struct AnalyticsApi<'a>(pub(super) &'a TestApp);

impl AnalyticsApi<'_> {
    /// `GET /api/analytics/summary?{query}` as `token`.
    pub async fn summary(&self, token: Option<&str>, query: &str) -> (u16, Value) {
        let path = format!("/api/analytics/summary?{query}");
        answer(self.0.send(Method::GET, &path, token, None).await).await
    }

    /// The summary as the admin reads it (panics unless 200).
    pub async fn summary_ok(&self, admin: &str, query: &str) -> Value {
        let (status, body) = self.summary(Some(admin), query).await;
        assert_eq!(status, 200, "summary: {body}");
        body
    }

    /// `GET /api/analytics/summary.csv?{query}` as `token`.
    pub async fn csv(&self, token: Option<&str>, query: &str) -> Response {
        let path = format!("/api/analytics/summary.csv?{query}");
        self.0.send(Method::GET, &path, token, None).await
    }

    /// Sends everything shoppers did so far to the queue (the tracker's buffer
    /// and every staged order event), then waits until `ingest-analytics` has
    /// taken all of it, and checks nothing was poisoned.
    pub async fn drain(&self) {
        self.0.state.handle::<Tracker>().flush().await;
        self.0.orders().run_timer("outbox-relay").await;
        self.0.drained(QUEUE).await;
    }

    /// Runs `analytics-rollup` to completion, as the Functions host invokes it.
    pub async fn rollup(&self) {
        self.0.orders().run_timer("analytics-rollup").await;
    }

    /// Puts one message on `analytics-events`, as a producer would.
    pub async fn send(&self, message: &str) {
        self.0
            .state
            .adapters()
            .queue
            .send(QUEUE, message, Default::default())
            .await
            .expect("send to analytics-events");
    }
}
