//! What a service is ([`ServiceDef`]: its functions, containers, queues and
//! hooks) and what a function is ([`FunctionDef`]: name, trigger, auth level,
//! handler). The registry lists the services; the router, the OpenAPI document,
//! the `function.json` manifests, the in-process host's consumers and timers,
//! provisioning, the Bicep cross-check and the erasure/export fan-out are all
//! derived from them.

use std::{future::Future, sync::Arc};

use axum::extract::FromRef;
use futures::future::BoxFuture;
use jojomart_shared::{auth::Principal, domain::UserId, error::ApiError, store::Container};
use utoipa_axum::router::UtoipaMethodRouter;

use crate::{
    state::{AppState, ServiceStartError, StartContext},
    wire::{InvocationResponse, QueueTrigger, TimerTrigger},
};

/// Builds a service's handles from configuration, adapters and the handles of
/// the services it calls, and adds them to the context.
pub type StartHook =
    for<'a, 'b> fn(&'a mut StartContext<'b>) -> BoxFuture<'a, Result<(), ServiceStartError>>;

/// A service's part of erasing a closed account: deletes (or anonymises) what
/// it holds about the user. Must be idempotent: erasure messages are redelivered.
pub type EraseHook = for<'a> fn(&'a AppState, &'a UserId) -> BoxFuture<'a, Result<(), ApiError>>;

/// A service's part of a personal-data export: the section it fills and its contents.
pub type ExportHook =
    for<'a> fn(&'a AppState, &'a Principal) -> BoxFuture<'a, Result<ExportSection, ApiError>>;

/// One named part of a personal-data export.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportSection {
    /// The top-level field of the export document (`reviews`, `account`).
    pub key: &'static str,
    /// What the service holds about the caller.
    pub value: serde_json::Value,
}

/// A service: its functions, what it owns, the queues it touches and its hooks.
/// Each service declares one in its `mod.rs`; the registry lists them.
#[derive(Debug, Clone)]
pub struct ServiceDef {
    /// The service's name, which is also its folder under `functions/` (`products`, `users`).
    pub name: &'static str,
    /// Its functions.
    pub functions: Vec<FunctionDef>,
    /// The containers it owns (no other service reads or writes them).
    pub containers: Vec<&'static Container>,
    /// The containers in which it stages events for the outbox relay.
    pub outbox: Vec<&'static Container>,
    /// The queues its functions are triggered by.
    pub reads: Vec<&'static str>,
    /// The queues its events are relayed to.
    pub writes: Vec<&'static str>,
    /// Builds its handles at startup.
    pub start: Option<StartHook>,
    /// Its part of an account erasure.
    pub erase: Option<EraseHook>,
    /// Its part of a personal-data export.
    pub export: Option<ExportHook>,
}

impl ServiceDef {
    /// A service with nothing declared yet.
    pub fn new(name: &'static str) -> Self {
        Self {
            name,
            functions: Vec::new(),
            containers: Vec::new(),
            outbox: Vec::new(),
            reads: Vec::new(),
            writes: Vec::new(),
            start: None,
            erase: None,
            export: None,
        }
    }

    /// Declares its functions.
    pub fn functions(mut self, functions: Vec<FunctionDef>) -> Self {
        self.functions.extend(functions);
        self
    }

    /// Declares the containers it owns.
    pub fn containers(mut self, containers: &[&'static Container]) -> Self {
        self.containers.extend_from_slice(containers);
        self
    }

    /// Declares an owned container in which it stages outbox events.
    pub fn outbox(mut self, container: &'static Container) -> Self {
        self.outbox.push(container);
        self
    }

    /// Declares a queue its functions are triggered by.
    pub fn reads(mut self, queue: &'static str) -> Self {
        self.reads.push(queue);
        self
    }

    /// Declares a queue its events go to.
    pub fn writes(mut self, queue: &'static str) -> Self {
        self.writes.push(queue);
        self
    }

    /// Sets the hook that builds its handles.
    pub fn start(mut self, hook: StartHook) -> Self {
        self.start = Some(hook);
        self
    }

    /// Sets its part of an account erasure.
    pub fn erase(mut self, hook: EraseHook) -> Self {
        self.erase = Some(hook);
        self
    }

    /// Sets its part of a personal-data export.
    pub fn export(mut self, hook: ExportHook) -> Self {
        self.export = Some(hook);
        self
    }
}

/// Every function of these services, in order.
pub fn functions_of(services: &[ServiceDef]) -> Vec<FunctionDef> {
    services
        .iter()
        .flat_map(|s| s.functions.iter().cloned())
        .collect()
}

/// Every container these services own, in order.
pub fn containers_of(services: &[ServiceDef]) -> Vec<&'static Container> {
    services
        .iter()
        .flat_map(|s| s.containers.iter().copied())
        .collect()
}

/// Every queue these services read or write, once each, in order.
pub fn queues_of(services: &[ServiceDef]) -> Vec<&'static str> {
    let mut queues: Vec<&'static str> = Vec::new();
    for q in services
        .iter()
        .flat_map(|s| s.reads.iter().chain(&s.writes))
    {
        if !queues.contains(q) {
            queues.push(q);
        }
    }
    queues
}

/// The Functions `authLevel` of an HTTP trigger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthLevel {
    /// No function key (health, the payment webhook).
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
    /// An HTTP function at `function` auth level: in Azure only API Management
    /// (which holds the function key) reaches it; our own bearer tokens guard
    /// what needs a user. The in-process `dev` server, like the host run
    /// locally, does not ask for keys.
    pub fn http(name: &'static str, routes: HttpRoutes) -> Self {
        Self {
            name,
            trigger: Trigger::Http {
                routes,
                auth_level: AuthLevel::Function,
            },
            outputs: Vec::new(),
        }
    }

    /// An HTTP function reachable without a function key: only for callers that
    /// cannot hold one (the platform's health probe, the payment gateway's webhook,
    /// which proves itself by its signature).
    pub fn http_anonymous(name: &'static str, routes: HttpRoutes) -> Self {
        let mut f = Self::http(name, routes);
        if let Trigger::Http { auth_level, .. } = &mut f.trigger {
            *auth_level = AuthLevel::Anonymous;
        }
        f
    }

    /// A queue-triggered function; its handler receives its service's handle `H`.
    pub fn queue<H, F, Fut>(name: &'static str, queue: &'static str, handler: F) -> Self
    where
        H: FromRef<AppState> + Send + 'static,
        F: Fn(H, QueueTrigger) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<InvocationResponse, ApiError>> + Send + 'static,
    {
        Self {
            name,
            trigger: Trigger::Queue {
                queue,
                handler: Arc::new(move |state, trigger| {
                    Box::pin(handler(H::from_ref(&state), trigger))
                }),
            },
            outputs: Vec::new(),
        }
    }

    /// A timer-triggered function; its handler receives its service's handle `H`.
    pub fn timer<H, F, Fut>(name: &'static str, schedule: &'static str, handler: F) -> Self
    where
        H: FromRef<AppState> + Send + 'static,
        F: Fn(H, TimerTrigger) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<InvocationResponse, ApiError>> + Send + 'static,
    {
        Self {
            name,
            trigger: Trigger::Timer {
                schedule,
                handler: Arc::new(move |state, trigger| {
                    Box::pin(handler(H::from_ref(&state), trigger))
                }),
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
