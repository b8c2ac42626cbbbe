//! Analytics, typed: the admin summary and its CSV, the rollup timer, and
//! draining what shoppers did into the `analytics-events` queue and through
//! `ingest-analytics`.

use std::time::Duration;

use jojomart::analytics::{Tracker, QUEUE};
use jojomart_shared::queue::poison_queue;
use reqwest::{Method, Response};
use serde_json::Value;

use super::{eventually, orders::answer, TestApp};

/// How long draining may take.
const WAIT: Duration = Duration::from_secs(30);

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
        let queue = self.0.state.adapters().queue.clone();
        eventually(WAIT, "analytics-events drained", || {
            let q = queue.clone();
            async move { (q.approximate_count(QUEUE).await.ok()? == 0).then_some(()) }
        })
        .await;
        assert_eq!(
            queue
                .approximate_count(&poison_queue(QUEUE))
                .await
                .unwrap_or(0),
            0,
            "no analytics event was poisoned"
        );
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
