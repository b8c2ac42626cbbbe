//! The function table: every function declared once (name, trigger, auth level,
//! handler). The router, the OpenAPI document, the `function.json` manifests and
//! the in-process host's consumers and timers are all derived from it.

use std::{future::Future, sync::Arc};

use futures::future::BoxFuture;
use jojomart_shared::error::ApiError;
use utoipa_axum::router::UtoipaMethodRouter;

use crate::{
    state::AppState,
    wire::{InvocationResponse, QueueTrigger, TimerTrigger},
};

/// The Functions `authLevel` of an HTTP trigger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthLevel {
    /// No function key; our own bearer tokens guard what needs guarding.
    Anonymous,
    /// A function key is required by the Functions host.
    Function,
    /// The master key is required by the Functions host.
    Admin,
}

impl AuthLevel {
    /// The value written into function.json.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Anonymous => "anonymous",
            Self::Function => "function",
            Self::Admin => "admin",
        }
    }
}

/// Builds an HTTP function's route: `utoipa_axum::routes!(handler)`, so the path,
/// method and OpenAPI operation all come from the handler's `#[utoipa::path]`.
pub type HttpRoutes = fn() -> UtoipaMethodRouter<AppState>;

/// A queue-triggered handler.
pub type QueueHandler = Arc<
    dyn Fn(AppState, QueueTrigger) -> BoxFuture<'static, Result<InvocationResponse, ApiError>>
        + Send
        + Sync,
>;

/// A timer-triggered handler.
pub type TimerHandler = Arc<
    dyn Fn(AppState, TimerTrigger) -> BoxFuture<'static, Result<InvocationResponse, ApiError>>
        + Send
        + Sync,
>;

/// What starts a function.
#[derive(Clone)]
pub enum Trigger {
    /// An HTTP request, forwarded as is.
    Http {
        /// The route, method and handler.
        routes: HttpRoutes,
        /// The Functions auth level.
        auth_level: AuthLevel,
    },
    /// A message on a Storage queue.
    Queue {
        /// The queue read.
        queue: &'static str,
        /// The handler.
        handler: QueueHandler,
    },
    /// An NCRONTAB schedule (six fields, seconds first).
    Timer {
        /// The schedule.
        schedule: &'static str,
        /// Whether the host also runs it when it starts.
        run_on_startup: bool,
        /// The handler.
        handler: TimerHandler,
    },
}

/// A queue output binding: values under `name` in `Outputs` are sent to `queue`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueOutput {
    /// The binding name.
    pub name: &'static str,
    /// The queue it writes to.
    pub queue: &'static str,
}

/// One function of the app.
#[derive(Clone)]
pub struct FunctionDef {
    /// Kebab-case name: the folder of its function.json and its invocation path.
    pub name: &'static str,
    /// What starts it.
    pub trigger: Trigger,
    /// Queue output bindings.
    pub outputs: Vec<QueueOutput>,
}

impl std::fmt::Debug for FunctionDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.trigger {
            Trigger::Http { .. } => "http",
            Trigger::Queue { .. } => "queue",
            Trigger::Timer { .. } => "timer",
        };
        f.debug_struct("FunctionDef")
            .field("name", &self.name)
            .field("trigger", &kind)
            .finish()
    }
}

impl FunctionDef {
    /// An anonymous HTTP function.
    pub fn http(name: &'static str, routes: HttpRoutes) -> Self {
        Self::http_with_level(name, routes, AuthLevel::Anonymous)
    }

    /// An HTTP function with an explicit Functions auth level.
    pub fn http_with_level(name: &'static str, routes: HttpRoutes, auth_level: AuthLevel) -> Self {
        Self {
            name,
            trigger: Trigger::Http { routes, auth_level },
            outputs: Vec::new(),
        }
    }

    /// A queue-triggered function.
    pub fn queue<F, Fut>(name: &'static str, queue: &'static str, handler: F) -> Self
    where
        F: Fn(AppState, QueueTrigger) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<InvocationResponse, ApiError>> + Send + 'static,
    {
        Self {
            name,
            trigger: Trigger::Queue {
                queue,
                handler: Arc::new(move |state, trigger| Box::pin(handler(state, trigger))),
            },
            outputs: Vec::new(),
        }
    }

    /// A timer-triggered function.
    pub fn timer<F, Fut>(name: &'static str, schedule: &'static str, handler: F) -> Self
    where
        F: Fn(AppState, TimerTrigger) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<InvocationResponse, ApiError>> + Send + 'static,
    {
        Self {
            name,
            trigger: Trigger::Timer {
                schedule,
                run_on_startup: false,
                handler: Arc::new(move |state, trigger| Box::pin(handler(state, trigger))),
            },
            outputs: Vec::new(),
        }
    }

    /// Adds a queue output binding.
    pub fn with_output(mut self, name: &'static str, queue: &'static str) -> Self {
        self.outputs.push(QueueOutput { name, queue });
        self
    }

    /// True for queue and timer functions, which are invoked by `POST /{name}`.
    pub fn is_invoked(&self) -> bool {
        !matches!(self.trigger, Trigger::Http { .. })
    }
}

/// An HTTP function's method and path, read from its OpenAPI operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpEndpoint {
    /// Lower-case methods (`get`, `post`...).
    pub methods: Vec<&'static str>,
    /// The full path with the `/api` prefix, `{param}` placeholders.
    pub path: String,
}

/// Reads the method(s) and path an HTTP function serves.
pub fn http_endpoint(routes: HttpRoutes) -> HttpEndpoint {
    let (_, paths, _) = routes();
    let (path, item) = paths
        .paths
        .into_iter()
        .next()
        .unwrap_or_else(|| (String::new(), Default::default()));
    let mut methods = Vec::new();
    let ops = [
        ("get", item.get.is_some()),
        ("post", item.post.is_some()),
        ("put", item.put.is_some()),
        ("patch", item.patch.is_some()),
        ("delete", item.delete.is_some()),
        ("head", item.head.is_some()),
        ("options", item.options.is_some()),
    ];
    for (name, present) in ops {
        if present {
            methods.push(name);
        }
    }
    HttpEndpoint { methods, path }
}
