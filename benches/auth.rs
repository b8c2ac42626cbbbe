//! Auth throughput on one core: access-token verifications per second (the
//! verifier as every route runs it, which remembers tokens it has verified,
//! and the full signature check a token pays on first use) and logins per
//! second with the default (OWASP) argon2id cost, through the real service
//! over the embedded store. Run with `scripts/bench.sh auth`.

use std::{sync::Arc, time::Duration};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use jojomart::{
    auth::{
        service::{self, Registration},
        Auth,
    },
    state::{Adapters, AppState},
};
use jojomart_shared::{
    auth::{Principal, TokenVerifier},
    cache::memory::MemoryCache,
    clock::{Clock, SystemClock},
    config::Config,
    sqlite::Database,
};

const PASSWORD: &str = "correct horse battery";

struct Bench {
    auth: Auth,
    principal: Principal,
    _dir: tempfile::TempDir,
}

async fn setup() -> Bench {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = Config {
        data_dir: dir.path().to_path_buf(),
        ..Config::default()
    };
    let clock = Arc::new(SystemClock);
    let db = Database::open(&dir.path().join("bench.db"), clock.clone()).expect("open db");
    let adapters = Adapters {
        store: Arc::new(db.store()),
        queue: Arc::new(db.queue()),
        cache: Arc::new(MemoryCache::new(clock.clone())),
        clock,
        blobs: Arc::new(jojomart::adapters::file_blobs(&config)),
    };
    let state = AppState::start(config, adapters, &jojomart::registry::services())
        .await
        .expect("services start");
    let auth: Auth = state.handle();
    let registration = Registration::parse("bench@example.com", PASSWORD.to_owned(), "Bench")
        .expect("registration");
    let session = service::register(&auth, registration, "127.0.0.1")
        .await
        .expect("register");
    let principal = Principal {
        user_id: jojomart_shared::domain::UserId::parse(&session.user.id).expect("a user id"),
        email: session.user.email,
        roles: session.user.roles,
    };
    Bench {
        auth,
        principal,
        _dir: dir,
    }
}

fn verification(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let bench = rt.block_on(setup());
    let token = rt
        .block_on(service::access_token(&bench.auth, &bench.principal))
        .expect("token");
    let verifier = bench.auth.verifier.clone();

    let mut group = c.benchmark_group("token-verification");
    group.throughput(Throughput::Elements(1));
    group.bench_function("verifier (as routes run it)", |b| {
        b.to_async(&rt).iter(|| async {
            verifier.verify(&token).await.expect("valid");
        });
    });
    group.bench_function("full signature check (first use of a token)", |b| {
        b.to_async(&rt).iter(|| async {
            let now = SystemClock.now();
            verifier.verify_uncached(&token, now).await.expect("valid");
        });
    });
    group.finish();
}

fn logins(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let bench = rt.block_on(setup());
    let mut group = c.benchmark_group("login");
    group.throughput(Throughput::Elements(1));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(15));
    group.bench_function("login (argon2id m=19MiB t=2 p=1)", |b| {
        b.to_async(&rt).iter(|| async {
            service::login(&bench.auth, "bench@example.com", PASSWORD, "127.0.0.1")
                .await
                .expect("login");
        });
    });
    group.finish();
}

criterion_group!(benches, verification, logins);
criterion_main!(benches);
