//! The in-process host: what the Functions host does for queue and timer
//! functions, inside `jojomart dev`. It polls each queue function's queue,
//! fires each timer on its NCRONTAB schedule, and serves the admin endpoint;
//! every invocation goes through the same `POST /{FunctionName}` route and
//! payload the real host uses, so the handlers cannot tell the difference.

pub mod admin;
pub mod invoker;
pub mod ncrontab;
mod queues;
mod timers;

use tokio_util::{sync::CancellationToken, task::TaskTracker};

pub use invoker::{InvokeError, Invoker};

use crate::{
    state::AppState,
    table::{FunctionDef, Trigger},
};

/// Runs queue consumers and timers until cancelled; tracks every invocation so
/// shutdown can wait for the ones in flight.
#[derive(Debug, Clone)]
pub struct InProcessHost {
    invoker: Invoker,
    state: AppState,
    functions: std::sync::Arc<Vec<FunctionDef>>,
    cancel: CancellationToken,
    tracker: TaskTracker,
}

impl InProcessHost {
    /// A host over `functions`, invoking through `invoker`.
    pub fn new(invoker: Invoker, state: AppState, functions: Vec<FunctionDef>) -> Self {
        Self {
            invoker,
            state,
            functions: std::sync::Arc::new(functions),
            cancel: CancellationToken::new(),
            tracker: TaskTracker::new(),
        }
    }

    /// Starts one consumer per queue function and one loop per timer function.
    ///
    /// # Errors
    /// A timer's schedule that does not parse (the table is wrong).
    pub async fn start(&self) -> Result<(), ncrontab::ScheduleError> {
        for function in self.functions.iter() {
            // the Functions host creates output queues on first use
            for output in &function.outputs {
                if let Err(e) = self.state.adapters().queue.ensure_queue(output.queue).await {
                    tracing::warn!(queue = output.queue, error = %e, "could not create output queue");
                }
            }
            match &function.trigger {
                Trigger::Queue { queue, .. } => {
                    if let Err(e) = self.state.adapters().queue.ensure_queue(queue).await {
                        tracing::warn!(queue, error = %e, "could not create queue");
                    }
                    let consumer = queues::Consumer::new(self.clone(), function.clone(), queue);
                    self.tracker.spawn(consumer.run());
                }
                Trigger::Timer { schedule, .. } => {
                    let schedule = ncrontab::Schedule::parse(schedule)?;
                    let timer = timers::Timer::new(self.clone(), function.name, schedule);
                    self.tracker.spawn(timer.run());
                }
                Trigger::Http { .. } => {}
            }
        }
        Ok(())
    }

    /// Stops taking new work and waits until every invocation in flight has finished.
    pub async fn shutdown(&self) {
        self.cancel.cancel();
        self.tracker.close();
        self.tracker.wait().await;
    }

    /// The function with this name, if any.
    pub fn function(&self, name: &str) -> Option<&FunctionDef> {
        self.functions.iter().find(|f| f.name == name)
    }
}
