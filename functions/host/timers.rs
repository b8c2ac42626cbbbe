//! One loop per timer function: sleep until the next NCRONTAB occurrence, invoke
//! with a `TimerInfo` as the host's schedule monitor would fill it in.

use chrono::{DateTime, Utc};

use super::{ncrontab::Schedule, queues::sys_metadata, InProcessHost};
use crate::wire::{ScheduleStatus, TimerInfo, TimerTrigger};

/// Fires one timer function on its schedule.
pub(super) struct Timer {
    host: InProcessHost,
    function: &'static str,
    schedule: Schedule,
}

impl Timer {
    pub(super) fn new(host: InProcessHost, function: &'static str, schedule: Schedule) -> Self {
        Self {
            host,
            function,
            schedule,
        }
    }

    /// Fires until cancelled; an invocation under way is finished first.
    pub(super) async fn run(self) {
        let clock = self.host.state.adapters().clock.clone();
        // The host reports `0001-01-01T00:00:00` before the first run.
        let mut last = chrono::NaiveDate::from_ymd_opt(1, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|d| d.and_utc())
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        let mut after = clock.now();
        loop {
            let Some(next) = self.schedule.next_after(after) else {
                tracing::warn!(
                    function = self.function,
                    "schedule has no further occurrence"
                );
                return;
            };
            let wait = (next - clock.now()).to_std().unwrap_or_default();
            tokio::select! {
                _ = self.host.cancel.cancelled() => return,
                _ = tokio::time::sleep(wait) => {}
            }
            let past_due = (clock.now() - next).num_seconds() > 60;
            self.fire(last, next, past_due).await;
            last = next;
            after = next;
        }
    }

    async fn fire(&self, last: DateTime<Utc>, due: DateTime<Utc>, is_past_due: bool) {
        let next = self.schedule.next_after(due).unwrap_or(due);
        let trigger = TimerTrigger {
            info: TimerInfo {
                schedule: Default::default(),
                schedule_status: Some(ScheduleStatus {
                    last,
                    next,
                    last_updated: self.host.state.adapters().clock.now(),
                }),
                is_past_due,
            },
            sys: Some(sys_metadata(
                self.function,
                self.host.state.adapters().clock.now(),
            )),
        };
        if let Err(e) = self
            .host
            .invoker
            .invoke(self.function, &trigger.to_request())
            .await
        {
            tracing::warn!(function = self.function, error = %e, "timer invocation failed");
        }
    }
}

/// The `TimerInfo` for a run requested by hand.
pub(super) fn manual_trigger(function: &str, now: DateTime<Utc>) -> TimerTrigger {
    TimerTrigger {
        info: TimerInfo::default(),
        sys: Some(sys_metadata(function, now)),
    }
}
