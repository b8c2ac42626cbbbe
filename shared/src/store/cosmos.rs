//! The Cosmos DB adapter of the document store port (`azure_data_cosmos` 1.0).
//!
//! Each port operation is one SDK call: point reads and writes with
//! `Precondition::if_match` for optimistic concurrency, transactional batches
//! for atomic single-partition changes, and parameterised SQL for queries. The
//! typed [`Filter`] becomes SQL whose field names come from validated [`Field`]
//! segments (`c.price.minor`) and whose values are all `@pN` parameters.
//!
//! Paging wraps the SDK continuation token in a [`TokenSealer`] envelope bound
//! to [`Query::fingerprint`], so a tampered or foreign cursor is refused. The
//! signing key comes from configuration (`JOJOMART_CURSOR_KEY`) or, by default,
//! from the `system` container document `cursor-key`, created on first use with
//! create-if-absent so every instance of the app shares it. (A per-process
//! random key is available for tests; it breaks cursors across instances.)
//!
//! Sorting: `ORDER BY` the requested field, ties broken by partition key and id
//! in the same direction (within one partition, by id). Against real Cosmos DB
//! a multi-field `ORDER BY` needs a composite index `(field, pk, id)` (or
//! `(field, id)` for partition-scoped queries) declared on the container.
//!
//! Errors are mapped here: 404 → `None`/`NotFound`, 409 → `Conflict`,
//! 412 → `PreconditionFailed`, 408/429/449/503 and transport failures are
//! retried a bounded number of times (honouring `x-ms-retry-after-ms`) and
//! then reported as `Unavailable`. The request charge (RU) of every operation
//! is recorded as `request_charge` on the operation's span and in a debug event.

use std::{
    collections::{HashMap, HashSet},
    future::Future,
    num::NonZeroU32,
    sync::{
        atomic::{AtomicU64, Ordering},
        Mutex,
    },
    time::Duration,
};

use async_trait::async_trait;
use azure_core::http::Etag;
use azure_data_cosmos::{
    clients::ContainerClient,
    feed::ContinuationToken,
    models::{
        CompositeIndex, CompositeIndexOrder, CompositeIndexProperty, ContainerProperties,
        IndexingMode, IndexingPolicy, ItemResponse, PropertyPath, TimeToLive,
    },
    options::{
        BatchDeleteOptions, BatchReplaceOptions, BinaryEncodingOptions, ConnectionPoolOptions,
        ItemWriteOptions, MaxItemCountHint, Precondition, QueryOptions,
        ServerCertificateValidation,
    },
    AccountEndpoint, AccountReference, CosmosClient, CosmosError, CosmosRuntime, FeedScope,
    RoutingStrategy, TransactionalBatch,
};
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tracing::Instrument;

use super::{
    continuation::TokenSealer, stamp_body, BatchOp, Container, Document, DocumentStore, ETag,
    Field, Filter, Order, Page, Query, StoreError, Ttl,
};
use crate::azure_settings::{self, AzureConfigError, CosmosAuth, CosmosSettings};

/// The Cosmos system properties stripped from bodies, so documents look the same in every adapter.
const SYSTEM_PROPERTIES: &[&str] = &["_rid", "_self", "_etag", "_attachments", "_ts"];
/// The name of the shared secret that seals continuation tokens.
const CURSOR_KEY_DOC: &str = "cursor-key";
/// Longest wait between two attempts, whatever the service asks.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(5);

/// Where the key that signs continuation tokens comes from.
#[derive(Clone, Default)]
pub enum CursorKey {
    /// A configured key (`JOJOMART_CURSOR_KEY`), identical on every instance.
    Fixed(Vec<u8>),
    /// A random key stored once in the `system` container and shared by all instances.
    #[default]
    Shared,
    /// A random key per process: cursors do not survive a restart or cross instances.
    PerProcess,
}

impl std::fmt::Debug for CursorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CursorKey::Fixed(_) => f.write_str("Fixed(redacted)"),
            CursorKey::Shared => f.write_str("Shared"),
            CursorKey::PerProcess => f.write_str("PerProcess"),
        }
    }
}

/// Tuning of [`CosmosStore`]; `Default` is what production uses.
#[derive(Debug, Clone)]
pub struct CosmosStoreOptions {
    /// Where the continuation-token key comes from.
    pub cursor_key: CursorKey,
    /// Attempts per operation when the service is throttling or unavailable (at least 1).
    pub max_attempts: u32,
}

impl Default for CosmosStoreOptions {
    fn default() -> Self {
        Self {
            cursor_key: CursorKey::Shared,
            max_attempts: 4,
        }
    }
}

/// The document store over a Cosmos DB database (kind `cosmos`).
pub struct CosmosStore {
    client: CosmosClient,
    database: String,
    containers: Mutex<HashMap<&'static str, ContainerClient>>,
    options: CosmosStoreOptions,
    sealer: tokio::sync::OnceCell<TokenSealer>,
    /// Sorts found to lack the composite index their tie-break needs.
    untied: Mutex<HashSet<String>>,
    /// Sum of the request charges seen, as `f64` bits.
    charged: AtomicU64,
}

impl std::fmt::Debug for CosmosStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CosmosStore")
            .field("endpoint", &self.client.endpoint().as_str())
            .field("database", &self.database)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// The paging state sealed into our continuation tokens: the key of the last
/// document returned (`k`, keyset paging, robust to concurrent writes), or for
/// orders that are not total, the SDK continuation (`t`); and whether the query
/// text breaks ties (`b`), so a resumed query uses the same text.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Cursor {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    t: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    k: Option<SortKey>,
    #[serde(default)]
    b: bool,
}

impl CosmosStore {
    /// Wraps a ready SDK client for `database`.
    pub fn new(
        client: CosmosClient,
        database: impl Into<String>,
        options: CosmosStoreOptions,
    ) -> Self {
        Self {
            client,
            database: database.into(),
            containers: Mutex::new(HashMap::new()),
            options,
            sealer: tokio::sync::OnceCell::new(),
            untied: Mutex::new(HashSet::new()),
            charged: AtomicU64::new(0f64.to_bits()),
        }
    }

    /// Builds the SDK client from settings: account key or managed identity, and
    /// the emulator transport flags. The SDK reads the account metadata here, so
    /// an unreachable endpoint or a refused key fails now.
    ///
    /// # Errors
    /// [`AzureConfigError`] naming the setting that cannot be used.
    pub async fn connect(settings: &CosmosSettings) -> Result<Self, AzureConfigError> {
        let endpoint: AccountEndpoint =
            settings
                .endpoint
                .parse()
                .map_err(|e: CosmosError| AzureConfigError::Invalid {
                    name: "COSMOS_ENDPOINT",
                    reason: e.to_string(),
                })?;
        let account = match &settings.auth {
            CosmosAuth::Key(key) => AccountReference::with_authentication_key(
                endpoint,
                azure_core::credentials::Secret::new(key.expose().to_owned()),
            ),
            CosmosAuth::ManagedIdentity { client_id } => AccountReference::with_credential(
                endpoint,
                azure_settings::managed_identity("AZURE_CLIENT_ID", client_id.as_deref())?,
            ),
        };
        let transport = &settings.transport;
        let mut pool = ConnectionPoolOptions::builder();
        if transport.emulator_cert_validation_disabled {
            pool = pool.with_server_certificate_validation(
                ServerCertificateValidation::RequiredUnlessEmulator,
            );
        }
        if let Some(http2) = transport.http2_allowed {
            pool = pool.with_is_http2_allowed(http2);
        }
        let invalid = |e: CosmosError| AzureConfigError::Invalid {
            name: "COSMOS_ENDPOINT",
            reason: first_line(&e),
        };
        let pool = pool.build().map_err(invalid)?;
        let runtime = CosmosRuntime::builder()
            .with_connection_pool(pool)
            .build()
            .await
            .map_err(invalid)?;
        let key_setting = match settings.auth {
            CosmosAuth::Key(_) => "COSMOS_KEY",
            CosmosAuth::ManagedIdentity { .. } => "AZURE_CLIENT_ID",
        };
        // Building the client reads the account metadata: map its failure to the setting at fault.
        let unreachable = |e: CosmosError| {
            let code = u16::from(e.status().status_code());
            let endpoint = settings.endpoint.clone();
            let detail = first_line(&e);
            if code == 401 || code == 403 {
                AzureConfigError::Rejected {
                    name: key_setting,
                    endpoint,
                    detail,
                }
            } else if e.status().is_transient() || code >= 500 {
                AzureConfigError::Unreachable {
                    name: "COSMOS_ENDPOINT",
                    endpoint,
                    detail,
                }
            } else {
                AzureConfigError::Invalid {
                    name: "COSMOS_ENDPOINT",
                    reason: detail,
                }
            }
        };
        let binary = transport
            .binary_encoding
            .unwrap_or(!transport.emulator_cert_validation_disabled);
        let client = CosmosClient::builder()
            .with_runtime(runtime)
            .with_binary_encoding_options(BinaryEncodingOptions::new().with_enabled(binary))
            .build(account, RoutingStrategy::PreferredRegions(Vec::new()))
            .await
            .map_err(unreachable)?;
        let cursor_key = match &settings.cursor_key {
            Some(key) => CursorKey::Fixed(azure_settings::decode_cursor_key(key)?),
            None => CursorKey::Shared,
        };
        Ok(Self::new(
            client,
            settings.database.clone(),
            CosmosStoreOptions {
                cursor_key,
                ..Default::default()
            },
        ))
    }

    /// A store over the SDK's in-process emulator with `containers` created:
    /// full Cosmos semantics, no network. For tests only.
    ///
    /// # Errors
    /// [`StoreError`] when the emulator cannot be set up.
    #[cfg(feature = "cosmos-emulator")]
    pub async fn in_memory_emulator(
        options: CosmosStoreOptions,
        containers: &[&Container],
    ) -> Result<Self, StoreError> {
        use azure_data_cosmos::{options::Region, CosmosClientBuilder, CosmosRuntimeBuilder};
        use azure_data_cosmos_driver::in_memory_emulator::{
            ConsistencyLevel, InMemoryEmulatorHttpClient, VirtualAccountConfig, VirtualRegion,
        };
        const GATEWAY: &str = "https://eastus.emulator.local";
        let internal =
            |e: &dyn std::fmt::Display| StoreError::Internal(format!("in-memory emulator: {e}"));
        let url = azure_core::http::Url::parse(GATEWAY).map_err(|e| internal(&e))?;
        let config = VirtualAccountConfig::new(vec![VirtualRegion::new("East US", url)])
            .map_err(|e| internal(&e))?
            .with_consistency(ConsistencyLevel::Session);
        let emulator = std::sync::Arc::new(InMemoryEmulatorHttpClient::new(config));
        let runtime = CosmosRuntimeBuilder::from(emulator.runtime_builder())
            .build()
            .await
            .map_err(|e| internal(&e))?;
        let endpoint: AccountEndpoint = GATEWAY.parse().map_err(|e: CosmosError| internal(&e))?;
        let client = CosmosClientBuilder::new()
            .with_runtime(runtime)
            .build(
                AccountReference::with_authentication_key(
                    endpoint,
                    azure_core::credentials::Secret::new("dGVzdGtleQ=="),
                ),
                RoutingStrategy::ProximityTo(Region::EAST_US),
            )
            .await
            .map_err(|e| internal(&e))?;
        let store = Self::new(client, "jojomart", options);
        store.ensure_containers(containers).await?;
        Ok(store)
    }

    /// Creates the database, the store's own `system` container and each of
    /// `containers` with its partition-key path and time-to-live policy, leaving
    /// existing ones alone. For emulators and dev
    /// accounts only: in Azure, Bicep declares them (and managed identity may not
    /// create them).
    ///
    /// # Errors
    /// [`StoreError`] when the service refuses.
    pub async fn ensure_containers(&self, containers: &[&Container]) -> Result<(), StoreError> {
        let created = self
            .attempt(|| self.client.create_database(&self.database, None))
            .await;
        match created {
            Ok(_) => {}
            Err(e) if e.status().is_conflict() => {}
            Err(e) => return Err(map_error(&e)),
        }
        let db = self.client.database_client(&self.database);
        // The store's own container (shared secrets) comes with every store.
        let mut all = vec![super::containers::SYSTEM];
        all.extend(
            containers
                .iter()
                .filter(|c| c.name != super::containers::SYSTEM.name),
        );
        for spec in all {
            let props = ContainerProperties::new(spec.name, spec.partition_key_path().into())
                .with_indexing_policy(default_indexing(spec))
                .with_default_ttl(time_to_live(spec.ttl));
            match self
                .attempt(|| db.create_container(props.clone(), None))
                .await
            {
                Ok(_) => {}
                Err(e) if e.status().is_conflict() => {}
                Err(e) => return Err(map_error(&e)),
            }
        }
        Ok(())
    }

    /// Total request units charged to this store's operations so far (for
    /// measurements and tests).
    pub fn request_charge_total(&self) -> f64 {
        f64::from_bits(self.charged.load(Ordering::Relaxed))
    }

    /// The database name.
    pub fn database(&self) -> &str {
        &self.database
    }

    /// Records a request charge on the current span, in a debug event and in the total.
    fn charge(&self, op: &'static str, ru: Option<f64>) {
        let Some(ru) = ru else { return };
        tracing::Span::current().record("request_charge", ru);
        tracing::debug!(op, request_charge = ru, "cosmos request charge");
        let _ = self
            .charged
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
                Some((f64::from_bits(bits) + ru).to_bits())
            });
    }

    fn charge_error(&self, op: &'static str, e: &CosmosError) {
        self.charge(
            op,
            e.response()
                .and_then(|r| r.headers().request_charge)
                .map(|c| c.value()),
        );
    }

    /// The container client for `spec`, resolved once (it reads container metadata).
    async fn container(&self, spec: &Container) -> Result<ContainerClient, StoreError> {
        if let Some(c) = self.lock_containers().get(spec.name) {
            return Ok(c.clone());
        }
        let db = self.client.database_client(&self.database);
        let client = self
            .attempt(|| db.container_client(spec.name, None))
            .await
            .map_err(|e| map_error(&e))?;
        self.lock_containers().insert(spec.name, client.clone());
        Ok(client)
    }

    fn lock_untied(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.untied.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs one page of `query` from `cursor`, with bounded retries.
    async fn query_once(
        &self,
        client: &ContainerClient,
        query: &Query,
        cursor: &Cursor,
    ) -> Result<(Vec<Value>, Option<Cursor>), CosmosError> {
        self.attempt(|| self.run_query(client, query, cursor)).await
    }

    fn lock_containers(&self) -> std::sync::MutexGuard<'_, HashMap<&'static str, ContainerClient>> {
        self.containers.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs one single-document write (create, replace, upsert) with retries,
    /// recording its request charge and mapping its errors.
    async fn write<F, Fut>(
        &self,
        op: &'static str,
        container: &Container,
        call: F,
    ) -> Result<ETag, StoreError>
    where
        F: Fn(ContainerClient) -> Fut,
        Fut: Future<Output = Result<ItemResponse, CosmosError>>,
    {
        let spec = container;
        async {
            let client = self.container(spec).await?;
            match self.attempt(|| call(client.clone())).await {
                Ok(resp) => {
                    self.charge(op, resp.headers().request_charge().map(|c| c.value()));
                    response_etag(resp.headers().etag())
                }
                Err(e) => {
                    self.charge_error(op, &e);
                    Err(map_error(&e))
                }
            }
        }
        .instrument(op_span(op, container))
        .await
    }

    /// Runs `op`, retrying transient failures (throttling, timeouts, unavailability)
    /// a bounded number of times, waiting what the service asks for (`x-ms-retry-after-ms`).
    async fn attempt<T, F, Fut>(&self, mut op: F) -> Result<T, CosmosError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, CosmosError>>,
    {
        let mut attempt = 1;
        loop {
            match op().await {
                Err(e)
                    if e.status().is_transient() && attempt < self.options.max_attempts.max(1) =>
                {
                    let asked = e
                        .response()
                        .and_then(|r| r.headers().retry_after_ms)
                        .map(Duration::from_millis);
                    let wait = asked
                        .unwrap_or_else(|| Duration::from_millis(100 << attempt.min(6)))
                        .min(MAX_RETRY_WAIT);
                    tracing::debug!(attempt, wait_ms = wait.as_millis() as u64, status = %e.status(), "cosmos transient failure, retrying");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// The sealer for continuation tokens, set up on first use.
    async fn sealer(&self) -> Result<&TokenSealer, StoreError> {
        self.sealer
            .get_or_try_init(|| async {
                match &self.options.cursor_key {
                    CursorKey::Fixed(key) => Ok(TokenSealer::new(key.clone())),
                    CursorKey::PerProcess => {
                        Ok(TokenSealer::new(rand::random::<[u8; 32]>().to_vec()))
                    }
                    CursorKey::Shared => self.shared_cursor_key().await.map(TokenSealer::new),
                }
            })
            .await
    }

    /// Reads the shared cursor key, creating it if absent.
    async fn shared_cursor_key(&self) -> Result<Vec<u8>, StoreError> {
        super::shared_secret(self, CURSOR_KEY_DOC).await
    }

    /// Runs one page of `query` from `cursor`; returns the items and the next cursor.
    ///
    /// Each SDK request asks for exactly the items still missing, so a page is
    /// never cut. When the order is total, every request selects the documents
    /// after the last key seen (keyset paging): exact under concurrent inserts
    /// on any backend, including emulators whose continuations are offsets.
    /// Otherwise the SDK continuation is carried. When a page fills the limit
    /// and the service does not announce more, one look-ahead (free when the
    /// feed is drained) decides whether a continuation is returned.
    async fn run_query(
        &self,
        client: &ContainerClient,
        query: &Query,
        cursor: &Cursor,
    ) -> Result<(Vec<Value>, Option<Cursor>), CosmosError> {
        let limit = query.limit as usize;
        let pk_field = query.container.partition_key;
        let by_key = resumes_by_key(query, cursor.b);
        let mut items: Vec<Value> = Vec::with_capacity(limit);
        let mut token = cursor.t.clone().filter(|_| !by_key);
        let mut key = cursor.k.clone().filter(|_| by_key);
        loop {
            let remaining = u32::try_from(limit - items.len()).unwrap_or(1);
            let sql = to_sql(query, pk_field, cursor.b, key.as_ref());
            let mut sdk_query = azure_data_cosmos::Query::from(sql.text);
            for (name, value) in &sql.params {
                sdk_query = sdk_query.with_parameter(name.clone(), value)?;
            }
            let mut options = QueryOptions::default().with_max_item_count(MaxItemCountHint::Limit(
                NonZeroU32::new(remaining).unwrap_or(NonZeroU32::MIN),
            ));
            if let Some(t) = &token {
                options =
                    options.with_continuation_token(ContinuationToken::from_string(t.clone()));
            }
            let scope = match &query.partition {
                Some(pk) => FeedScope::partition(pk.clone()),
                None => FeedScope::full_container(),
            };
            let mut pages = client
                .query_items::<Value>(sdk_query, scope, Some(options))
                .await?
                .into_pages();
            let Some(page) = pages.try_next().await? else {
                return Ok((items, None));
            };
            self.charge("query", page.headers().request_charge().map(|c| c.value()));
            let server_says_more = page.headers().continuation().is_some();
            let got = page.into_items();
            if got.len() > remaining as usize {
                return Err(CosmosError::builder()
                    .with_status(azure_data_cosmos::CosmosStatus::new(
                        azure_core::http::StatusCode::InternalServerError,
                    ))
                    .with_message("the service returned more items than asked for")
                    .build());
            }
            if by_key {
                if let Some(last) = got.last() {
                    key = Some(sort_key_of(query, pk_field, last));
                }
            } else {
                token = Some(pages.to_continuation_token()?.as_str().to_owned());
            }
            items.extend(got);
            let resume = Cursor {
                t: token.clone(),
                k: key.clone(),
                b: cursor.b,
            };
            if items.len() == limit && server_says_more {
                return Ok((items, Some(resume)));
            }
            if items.len() < limit && server_says_more {
                continue;
            }
            // Look ahead on the same plan: free when the feed is drained.
            let more = loop {
                match pages.try_next().await? {
                    None => break false,
                    Some(extra) => {
                        self.charge("query", extra.headers().request_charge().map(|c| c.value()));
                        if !extra.items().is_empty() {
                            break true;
                        }
                    }
                }
            };
            match (more, items.len() == limit) {
                (false, _) => return Ok((items, None)),
                (true, true) => return Ok((items, Some(resume))),
                (true, false) => continue,
            }
        }
    }

    /// Turns a stored item into a [`Document`], stripping Cosmos system properties.
    fn document(
        pk: &str,
        id: &str,
        etag: Option<String>,
        mut body: Value,
    ) -> Result<Document, StoreError> {
        let obj = body
            .as_object_mut()
            .ok_or_else(|| StoreError::Serialization("stored item is not a JSON object".into()))?;
        let body_etag = obj.get("_etag").and_then(Value::as_str).map(str::to_owned);
        for p in SYSTEM_PROPERTIES {
            obj.remove(*p);
        }
        let etag = etag
            .or(body_etag)
            .ok_or_else(|| StoreError::Internal("stored item has no ETag".into()))?;
        Ok(Document {
            id: id.to_owned(),
            partition_key: pk.to_owned(),
            etag: ETag(etag),
            body,
        })
    }
}

/// A container's time-to-live policy as the SDK spells it.
fn time_to_live(ttl: Ttl) -> TimeToLive {
    match ttl {
        Ttl::Off => TimeToLive::Forever,
        Ttl::PerDocument => TimeToLive::NoDefault,
        Ttl::Seconds(s) => TimeToLive::Seconds(s),
    }
}

/// Consistent indexing of every path, plus the composite index `(pk, id)` that
/// the default cross-partition order (by partition key, then id) needs. Bicep
/// should declare the same, and a `(field, pk, id)` / `(field, id)` composite
/// index for every field the app sorts on, else sorting falls back to the
/// field alone (ties in no particular order).
fn default_indexing(spec: &Container) -> IndexingPolicy {
    let mut policy = IndexingPolicy::default()
        .with_indexing_mode(IndexingMode::Consistent)
        .with_included_path(PropertyPath::default().with_path("/*"));
    policy.automatic = true;
    policy.with_composite_index(
        CompositeIndex::default()
            .with_property(CompositeIndexProperty::new(
                format!("/{}", spec.partition_key),
                CompositeIndexOrder::Ascending,
            ))
            .with_property(CompositeIndexProperty::new(
                "/id",
                CompositeIndexOrder::Ascending,
            )),
    )
}

/// The sort key of a returned document.
fn sort_key_of(query: &Query, pk_field: &str, doc: &Value) -> SortKey {
    let text = |f: &str| {
        doc.get(f)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    SortKey {
        v: query.sort.as_ref().and_then(|s| s.field.get(doc)).cloned(),
        p: text(pk_field),
        i: text("id"),
    }
}

/// The cache key of a query's ordering: container, scope kind and sort field.
fn sort_key(query: &Query) -> String {
    format!(
        "{}|{}|{}",
        query.container.name,
        if query.partition.is_some() {
            "partition"
        } else {
            "container"
        },
        query.sort.as_ref().map(|s| s.field.as_str()).unwrap_or("")
    )
}

/// True for the 400 Cosmos returns when a multi-key ORDER BY has no composite index.
fn needs_composite_index(e: &CosmosError) -> bool {
    u16::from(e.status().status_code()) == 400 && e.to_string().contains("composite index")
}

/// Maps an SDK error onto the port's errors.
fn map_error(e: &CosmosError) -> StoreError {
    let status = e.status();
    let code = u16::from(status.status_code());
    if status.is_not_found() {
        StoreError::NotFound
    } else if status.is_conflict() {
        StoreError::Conflict
    } else if status.is_precondition_failed() {
        StoreError::PreconditionFailed
    } else if status.is_transient() || code >= 500 {
        StoreError::Unavailable(format!("{status}: {}", first_line(e)))
    } else if code == 404 {
        StoreError::Internal(format!("database or container missing ({status})"))
    } else if code == 400 || code == 413 {
        StoreError::Invalid(first_line(e))
    } else if code == 401 || code == 403 {
        StoreError::Internal(format!("access refused ({status}): {}", first_line(e)))
    } else {
        StoreError::Internal(format!("{status}: {}", first_line(e)))
    }
}

/// The first line of an SDK error, which may carry long diagnostics after it.
fn first_line(e: &CosmosError) -> String {
    let text = e.to_string();
    let line = text.lines().next().unwrap_or_default();
    line.chars().take(300).collect()
}

fn map_batch_status(code: u16) -> StoreError {
    match code {
        404 => StoreError::NotFound,
        409 => StoreError::Conflict,
        412 => StoreError::PreconditionFailed,
        400 | 413 => StoreError::Invalid(format!("batch operation rejected with {code}")),
        408 | 429 | 449 | 503 => StoreError::Unavailable(format!("batch operation got {code}")),
        _ => StoreError::Internal(format!("batch operation failed with {code}")),
    }
}

fn if_match(etag: Option<&ETag>) -> Option<Precondition> {
    etag.map(|e| Precondition::if_match(Etag::from(e.0.clone())))
}

fn write_options(etag: Option<&ETag>) -> Option<ItemWriteOptions> {
    if_match(etag).map(|p| ItemWriteOptions::default().with_precondition(p))
}

fn response_etag(etag: Option<&Etag>) -> Result<ETag, StoreError> {
    etag.map(|e| ETag(e.to_string()))
        .ok_or_else(|| StoreError::Internal("the service returned no ETag".into()))
}

/// Renders a document path, e.g. `c.price.minor`.
///
/// Segments are validated identifiers ([`Field`]), so the dotted form cannot
/// inject anything. It is also the only form the SDK's local query planner
/// (ORDER BY) and its in-process emulator understand: `c["price"]` makes the
/// planner fall back to the gateway and the emulator match nothing. Keywords
/// are fine after a dot (`c.group`, `c.value`), as in the service grammar.
fn path_of<'a>(segments: impl Iterator<Item = &'a str>) -> String {
    let mut out = String::from("c");
    for seg in segments {
        out.push('.');
        out.push_str(seg);
    }
    out
}

fn path(field: &Field) -> String {
    path_of(field.segments())
}

/// Parameterised Cosmos SQL for a query: the text and its `@pN` parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct SqlText {
    /// The query text; values appear only as parameter names.
    pub text: String,
    /// The parameters, by name.
    pub params: Vec<(String, Value)>,
}

struct Params(Vec<(String, Value)>);

impl Params {
    fn add(&mut self, v: Value) -> String {
        let name = format!("@p{}", self.0.len());
        self.0.push((name.clone(), v));
        name
    }
}

fn condition(filter: &Filter, params: &mut Params) -> String {
    let bin = |f: &Field, op: &str, v: &Value, params: &mut Params| {
        format!("{} {op} {}", path(f), params.add(v.clone()))
    };
    match filter {
        Filter::Eq(f, v) => bin(f, "=", v, params),
        Filter::Ne(f, v) => format!(
            "(IS_DEFINED({p}) AND {p} != {})",
            params.add(v.clone()),
            p = path(f)
        ),
        Filter::Lt(f, v) => bin(f, "<", v, params),
        Filter::Le(f, v) => bin(f, "<=", v, params),
        Filter::Gt(f, v) => bin(f, ">", v, params),
        Filter::Ge(f, v) => bin(f, ">=", v, params),
        Filter::In(f, vs) if vs.is_empty() => "false".to_owned(),
        Filter::In(f, vs) => {
            let names: Vec<String> = vs.iter().map(|v| params.add(v.clone())).collect();
            format!("{} IN ({})", path(f), names.join(", "))
        }
        Filter::Contains(f, s) => format!(
            "CONTAINS({}, {}, true)",
            path(f),
            params.add(Value::String(s.clone()))
        ),
        Filter::And(fs) if fs.is_empty() => "true".to_owned(),
        Filter::And(fs) => {
            let parts: Vec<String> = fs
                .iter()
                .map(|f| format!("({})", condition(f, params)))
                .collect();
            parts.join(" AND ")
        }
    }
}

/// Where the previous page ended, in the query's order: the last document's
/// sort value (absent when it lacks the field), partition key and id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SortKey {
    /// The sort field's value, `None` when the document lacks it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub v: Option<Value>,
    /// The partition key.
    pub p: String,
    /// The id.
    pub i: String,
}

/// True when pages of `query` resume by sort key: the `ORDER BY` is total
/// (it ends with the id) so "after this key" is exact.
fn resumes_by_key(query: &Query, tie_break: bool) -> bool {
    tie_break || (query.sort.is_none() && query.partition.is_some())
}

/// The type checks of Cosmos's cross-type order: undefined, null, booleans,
/// numbers, strings, arrays, objects.
const TYPE_ORDER: [&str; 7] = [
    "NOT IS_DEFINED({})",
    "IS_NULL({})",
    "IS_BOOL({})",
    "IS_NUMBER({})",
    "IS_STRING({})",
    "IS_ARRAY({})",
    "IS_OBJECT({})",
];

fn type_rank(v: Option<&Value>) -> usize {
    match v {
        None => 0,
        Some(Value::Null) => 1,
        Some(Value::Bool(_)) => 2,
        Some(Value::Number(_)) => 3,
        Some(Value::String(_)) => 4,
        Some(Value::Array(_)) => 5,
        Some(Value::Object(_)) => 6,
    }
}

/// The condition "comes after `key`" in the query's order.
fn after_key(query: &Query, pk_field: &str, key: &SortKey, params: &mut Params) -> String {
    let desc = query.sort.as_ref().is_some_and(|s| s.order == Order::Desc);
    let op = if desc { "<" } else { ">" };
    let id = path_of(["id"].into_iter());
    let id_param = params.add(Value::String(key.i.clone()));
    let tie = if query.partition.is_some() {
        format!("{id} {op} {id_param}")
    } else {
        let pk = path_of([pk_field].into_iter());
        let pk_param = params.add(Value::String(key.p.clone()));
        format!("({pk} {op} {pk_param} OR ({pk} = {pk_param} AND {id} {op} {id_param}))")
    };
    let Some(sort) = &query.sort else { return tie };
    let f = path(&sort.field);
    let rank = type_rank(key.v.as_ref());
    let same_type = TYPE_ORDER[rank].replace("{}", &f);
    let within = match &key.v {
        Some(v @ (Value::Bool(_) | Value::Number(_) | Value::String(_))) => {
            let v = params.add(v.clone());
            format!("({f} {op} {v} OR ({f} = {v} AND {tie}))")
        }
        _ => tie,
    };
    let later: Vec<String> = TYPE_ORDER
        .iter()
        .enumerate()
        .filter(|(r, _)| if desc { *r < rank } else { *r > rank })
        .map(|(_, t)| t.replace("{}", &f))
        .collect();
    if later.is_empty() {
        format!("({same_type} AND {within})")
    } else {
        format!("(({same_type} AND {within}) OR {})", later.join(" OR "))
    }
}

/// Translates a typed [`Query`] into parameterised Cosmos SQL for a container
/// whose partition key is `pk_field`.
///
/// The partition filter is in the text as well as in the request scope, for
/// servers that ignore the scope. With `tie_break`, the `ORDER BY` adds the
/// partition key (across partitions) and the id after the sort field, which
/// needs a composite index unless it is the id alone; without it, only the
/// first key is used. With `after`, only documents after that key are selected
/// (keyset paging).
pub fn to_sql(query: &Query, pk_field: &str, tie_break: bool, after: Option<&SortKey>) -> SqlText {
    let mut params = Params(Vec::new());
    let mut conditions = Vec::new();
    if let Some(pk) = &query.partition {
        conditions.push(format!(
            "{} = {}",
            path_of([pk_field].into_iter()),
            params.add(Value::String(pk.clone()))
        ));
    }
    if let Some(filter) = &query.filter {
        conditions.push(format!("({})", condition(filter, &mut params)));
    }
    if let Some(key) = after {
        conditions.push(after_key(query, pk_field, key, &mut params));
    }
    let mut text = String::from("SELECT * FROM c");
    if !conditions.is_empty() {
        text.push_str(" WHERE ");
        text.push_str(&conditions.join(" AND "));
    }
    let (dir, field) = match &query.sort {
        Some(sort) => (
            match sort.order {
                Order::Asc => "ASC",
                Order::Desc => "DESC",
            },
            Some(path(&sort.field)),
        ),
        None => ("ASC", None),
    };
    let mut keys: Vec<String> = field.into_iter().collect();
    if query.partition.is_none() {
        keys.push(path_of([pk_field].into_iter()));
    }
    keys.push(path_of(["id"].into_iter()));
    if !tie_break {
        keys.truncate(1);
    }
    let keys: Vec<String> = keys.into_iter().map(|k| format!("{k} {dir}")).collect();
    text.push_str(" ORDER BY ");
    text.push_str(&keys.join(", "));
    SqlText {
        text,
        params: params.0,
    }
}

fn op_span(op: &'static str, container: &Container) -> tracing::Span {
    tracing::debug_span!(
        "cosmos",
        op,
        container = container.name,
        request_charge = tracing::field::Empty
    )
}

#[async_trait]
impl DocumentStore for CosmosStore {
    fn kind(&self) -> &'static str {
        "cosmos"
    }

    async fn read(
        &self,
        container: &Container,
        pk: &str,
        id: &str,
    ) -> Result<Option<Document>, StoreError> {
        let spec = container;
        async {
            let client = self.container(spec).await?;
            match self
                .attempt(|| client.read_item(pk.to_owned(), id, None))
                .await
            {
                Ok(resp) => {
                    self.charge("read", resp.headers().request_charge().map(|c| c.value()));
                    let etag = resp.headers().etag().map(|e| e.to_string());
                    let body: Value = resp
                        .into_model()
                        .map_err(|e| StoreError::Serialization(first_line(&e)))?;
                    Self::document(pk, id, etag, body).map(Some)
                }
                Err(e) if e.status().is_not_found() => {
                    self.charge_error("read", &e);
                    Ok(None)
                }
                Err(e) => {
                    self.charge_error("read", &e);
                    Err(map_error(&e))
                }
            }
        }
        .instrument(op_span("read", container))
        .await
    }

    async fn create(
        &self,
        container: &Container,
        pk: &str,
        id: &str,
        body: Value,
    ) -> Result<ETag, StoreError> {
        let body = &stamp_body(container, pk, id, body)?;
        self.write("create", container, |client| async move {
            client.create_item(pk.to_owned(), id, body, None).await
        })
        .await
    }

    async fn replace(
        &self,
        container: &Container,
        pk: &str,
        id: &str,
        body: Value,
        if_match: Option<&ETag>,
    ) -> Result<ETag, StoreError> {
        let body = &stamp_body(container, pk, id, body)?;
        self.write("replace", container, |client| async move {
            client
                .replace_item(pk.to_owned(), id, body, write_options(if_match))
                .await
        })
        .await
    }

    async fn upsert(
        &self,
        container: &Container,
        pk: &str,
        id: &str,
        body: Value,
    ) -> Result<ETag, StoreError> {
        let body = &stamp_body(container, pk, id, body)?;
        self.write("upsert", container, |client| async move {
            client.upsert_item(pk.to_owned(), id, body, None).await
        })
        .await
    }

    async fn delete(
        &self,
        container: &Container,
        pk: &str,
        id: &str,
        if_match: Option<&ETag>,
    ) -> Result<(), StoreError> {
        let spec = container;
        async {
            let client = self.container(spec).await?;
            match self
                .attempt(|| client.delete_item(pk.to_owned(), id, write_options(if_match)))
                .await
            {
                Ok(resp) => {
                    self.charge("delete", resp.headers().request_charge().map(|c| c.value()));
                    Ok(())
                }
                Err(e) => {
                    self.charge_error("delete", &e);
                    Err(map_error(&e))
                }
            }
        }
        .instrument(op_span("delete", container))
        .await
    }

    async fn batch(
        &self,
        container: &Container,
        pk: &str,
        ops: Vec<BatchOp>,
    ) -> Result<Vec<Option<ETag>>, StoreError> {
        let spec = container;
        if ops.is_empty() {
            return Ok(Vec::new());
        }
        if ops.len() > 100 {
            return Err(StoreError::Invalid(
                "a batch holds at most 100 operations".into(),
            ));
        }
        let sdk_err = |e: CosmosError| StoreError::Serialization(first_line(&e));
        let mut batch = TransactionalBatch::new(pk.to_owned());
        let mut is_delete = Vec::with_capacity(ops.len());
        for op in ops {
            is_delete.push(matches!(op, BatchOp::Delete { .. }));
            batch = match op {
                BatchOp::Create { id, body } => batch
                    .create_item(stamp_body(container, pk, &id, body)?)
                    .map_err(sdk_err)?,
                BatchOp::Upsert { id, body } => batch
                    .upsert_item(stamp_body(container, pk, &id, body)?, None)
                    .map_err(sdk_err)?,
                BatchOp::Replace {
                    id,
                    body,
                    if_match: etag,
                } => {
                    let body = stamp_body(container, pk, &id, body)?;
                    let options = if_match(etag.as_ref())
                        .map(|p| BatchReplaceOptions::default().with_precondition(p));
                    batch.replace_item(id, body, options).map_err(sdk_err)?
                }
                BatchOp::Delete { id, if_match: etag } => {
                    let options = if_match(etag.as_ref())
                        .map(|p| BatchDeleteOptions::default().with_precondition(p));
                    batch.delete_item(id, options)
                }
            };
        }
        async {
            let client = self.container(spec).await?;
            let resp = match self
                .attempt(|| client.execute_transactional_batch(batch.clone(), None))
                .await
            {
                Ok(resp) => resp,
                Err(e) => {
                    self.charge_error("batch", &e);
                    return Err(map_error(&e));
                }
            };
            self.charge("batch", resp.headers().request_charge().map(|c| c.value()));
            let results = resp
                .into_model()
                .map_err(|e| StoreError::Serialization(first_line(&e)))?;
            let results = results.results();
            if let Some((index, failed)) = results
                .iter()
                .enumerate()
                .find(|(_, r)| !r.is_success() && r.status_code() != 424)
                .or_else(|| results.iter().enumerate().find(|(_, r)| !r.is_success()))
            {
                return Err(StoreError::BatchFailed {
                    index,
                    cause: Box::new(map_batch_status(failed.status_code())),
                });
            }
            if results.len() != is_delete.len() {
                return Err(StoreError::Internal(format!(
                    "batch of {} operations returned {} results",
                    is_delete.len(),
                    results.len()
                )));
            }
            results
                .iter()
                .zip(is_delete)
                .map(|(r, delete)| {
                    if delete {
                        Ok(None)
                    } else {
                        r.etag()
                            .map(|e| Some(ETag(e.to_owned())))
                            .ok_or_else(|| StoreError::Internal("batch result without ETag".into()))
                    }
                })
                .collect()
        }
        .instrument(op_span("batch", container))
        .await
    }

    async fn query(&self, query: &Query) -> Result<Page, StoreError> {
        let spec = &query.container;
        if !(1..=1000).contains(&query.limit) {
            return Err(StoreError::Invalid("limit must be within 1..=1000".into()));
        }
        async {
            let sealer = self.sealer().await?;
            let fingerprint = query.fingerprint();
            let mut cursor: Cursor = match &query.continuation {
                Some(token) => sealer.open(&fingerprint, token)?,
                None => Cursor::default(),
            };
            let client = self.container(spec).await?;
            let sort_key = sort_key(query);
            if query.continuation.is_none() {
                cursor.b = !self.lock_untied().contains(&sort_key);
            }
            let (items, next) = match self.query_once(&client, query, &cursor).await {
                Err(e) if cursor.b && query.continuation.is_none() && needs_composite_index(&e) => {
                    tracing::warn!(
                        container = query.container.name,
                        sort = %sort_key,
                        "no composite index for the tie-breaking ORDER BY; sorting by the first key only (declare the index in Bicep)"
                    );
                    self.lock_untied().insert(sort_key);
                    cursor.b = false;
                    self.query_once(&client, query, &cursor).await
                }
                other => other,
            }
            .map_err(|e| {
                self.charge_error("query", &e);
                if query.continuation.is_some() && u16::from(e.status().status_code()) == 400 {
                    StoreError::InvalidContinuation
                } else {
                    map_error(&e)
                }
            })?;
            let pk_field = spec.partition_key;
            let items = items
                .into_iter()
                .map(|mut body| {
                    let id = body.get("id").and_then(Value::as_str).map(str::to_owned);
                    let pk = body.get(pk_field).and_then(Value::as_str).map(str::to_owned);
                    match (id, pk) {
                        (Some(id), Some(pk)) => Self::document(&pk, &id, None, std::mem::take(&mut body)),
                        _ => Err(StoreError::Serialization(
                            "query result without a string id or partition key".into(),
                        )),
                    }
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Page {
                items,
                continuation: next.map(|c| sealer.seal(&fingerprint, &c)),
            })
        }
        .instrument(op_span("query", &query.container))
        .await
    }

    async fn health(&self) -> Result<(), StoreError> {
        let db = self.client.database_client(&self.database);
        async {
            match self.attempt(|| db.read(None)).await {
                Ok(_) => Ok(()),
                Err(e) => Err(map_error(&e)),
            }
        }
        .instrument(tracing::debug_span!("cosmos", op = "health"))
        .await
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn filters_become_parameterised_sql() {
        let q = Query::new(&Container::new("things", "thingId"))
            .partition("p1")
            .filter(Filter::And(vec![
                Filter::eq("status", "active"),
                Filter::Ge(Filter::field("price.minor"), json!(100)),
                Filter::In(Filter::field("tag"), vec![json!("a"), json!("b")]),
                Filter::Contains(Filter::field("name"), "Mug\" OR 1=1".into()),
                Filter::Ne(Filter::field("value"), json!(true)),
            ]))
            .sort(Filter::field("price.minor"), Order::Desc);
        let sql = to_sql(&q, "productId", true, None);
        assert_eq!(
            sql.text,
            "SELECT * FROM c WHERE c.productId = @p0 AND ((c.status = @p1) AND (c.price.minor >= @p2) \
             AND (c.tag IN (@p3, @p4)) AND (CONTAINS(c.name, @p5, true)) \
             AND ((IS_DEFINED(c.value) AND c.value != @p6))) \
             ORDER BY c.price.minor DESC, c.id DESC"
        );
        assert_eq!(sql.params[0], ("@p0".into(), json!("p1")));
        assert_eq!(sql.params[5], ("@p5".into(), json!("Mug\" OR 1=1")));
        assert_eq!(sql.params.len(), 7);
    }

    #[test]
    fn cross_partition_default_order_is_pk_then_id() {
        let sql = to_sql(
            &Query::new(&Container::new("things", "thingId")),
            "userId",
            true,
            None,
        );
        assert_eq!(sql.text, "SELECT * FROM c ORDER BY c.userId ASC, c.id ASC");
        let sql = to_sql(
            &Query::new(&Container::new("things", "thingId")),
            "userId",
            false,
            None,
        );
        assert_eq!(sql.text, "SELECT * FROM c ORDER BY c.userId ASC");
        let sql = to_sql(
            &Query::new(&Container::new("things", "thingId"))
                .filter(Filter::In(Filter::field("x"), vec![])),
            "userId",
            true,
            None,
        );
        assert!(sql.text.contains("WHERE (false)"), "{}", sql.text);
    }

    #[test]
    fn system_properties_are_stripped() {
        let doc = CosmosStore::document(
            "p",
            "i",
            None,
            json!({"id": "i", "pk": "p", "_etag": "\"e1\"", "_ts": 1, "_rid": "r", "_self": "s", "_attachments": "a", "_mine": 1}),
        )
        .unwrap();
        assert_eq!(doc.etag, ETag("\"e1\"".into()));
        assert_eq!(doc.body, json!({"id": "i", "pk": "p", "_mine": 1}));
    }
}
