//! Throttles that slow attackers without locking victims out (issue 10), over
//! real HTTP: failed logins per (account, client) strictly and per account
//! loosely, registrations per client, cheap checks before the password hash,
//! and password-hashing permits that registrations cannot take from logins.
//!
//! The login scenarios run on the in-process cache (one app), and again on
//! two `jojomart dev` processes sharing one data dir and one Redis
//! (`JOJOMART_TEST_REDIS_URL`, set by `scripts/emulators.sh`; skipped
//! without it), with the attacker alternating between the instances; on the
//! same two processes, a token revoked on one is refused by the other within 5 s.

use std::sync::Arc;

use jojomart::auth::Auth;
use jojomart_shared::{
    cache::{
        fallback::FallbackCache,
        redis::{RedisCache, RedisSettings},
        store::StoreCache,
        SharedCache,
    },
    config::Secret,
};
use serde_json::{json, Value};

use crate::harness::{auth::PASSWORD, dev::DevProcess, Spawn, TestApp};

/// Where the scenarios send requests: one app, or several instances of it.
struct Instances {
    bases: Vec<String>,
    client: reqwest::Client,
}

impl Instances {
    fn base(&self, i: usize) -> &str {
        &self.bases[i % self.bases.len()]
    }

    async fn post(&self, i: usize, path: &str, from: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.base(i)))
            .header("x-forwarded-for", from)
            .json(body)
            .send()
            .await
            .expect("POST")
    }

    async fn login(&self, i: usize, email: &str, password: &str, from: &str) -> reqwest::Response {
        self.post(
            i,
            "/api/auth/login",
            from,
            &json!({"email": email, "password": password}),
        )
        .await
    }

    async fn register(&self, i: usize, email: &str, from: &str) -> reqwest::Response {
        self.post(
            i,
            "/api/auth/register",
            from,
            &json!({"email": email, "password": PASSWORD, "name": "Owner"}),
        )
        .await
    }
}

fn retry_after(r: &reqwest::Response) -> u64 {
    r.headers()
        .get("retry-after")
        .expect("429 carries Retry-After")
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds")
}

fn unique_email(name: &str) -> String {
    format!(
        "{name}-{}@example.com",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

/// The strict bar is 5 failures per (account, client): the attacker's 6th
/// try is refused with Retry-After, while the owner, from a client with no
/// failures, signs in with the right password (and from the attacker's
/// address the right password waits too: that pair is throttled).
async fn owner_gets_in_while_an_attacker_hammers(on: &Instances) {
    let owner = unique_email("owner");
    assert_eq!(on.register(0, &owner, "192.0.2.10").await.status(), 201);
    let attacker = "198.51.100.66";
    for i in 0..5 {
        let r = on.login(i, &owner, &format!("guess {i}"), attacker).await;
        assert_eq!(r.status(), 401, "guess {i} is checked");
    }
    for i in 5..8 {
        let r = on.login(i, &owner, &format!("guess {i}"), attacker).await;
        assert_eq!(r.status(), 429, "guess {i} is refused, on either instance");
        assert!((1..=900).contains(&retry_after(&r)));
    }
    let r = on.login(1, &owner, PASSWORD, attacker).await;
    assert_eq!(
        r.status(),
        429,
        "the attacker's address waits even with the password"
    );
    for i in 0..2 {
        let r = on.login(i, &owner, PASSWORD, "203.0.113.20").await;
        assert_eq!(r.status(), 200, "the owner signs in from a clean client");
    }
}

/// Past the loose bar (here 8 failures on the account, spread over many
/// addresses), an address that failed on the account is refused, a fresh
/// address still gets its one try, and the owner still signs in.
async fn a_spread_attack_gets_one_guess_per_address(on: &Instances) {
    let owner = unique_email("spread");
    assert_eq!(on.register(0, &owner, "192.0.2.11").await.status(), 201);
    for i in 0..8 {
        let r = on
            .login(i, &owner, "wrong password", &format!("198.51.100.{i}"))
            .await;
        assert_eq!(r.status(), 401, "address {i}'s first guess");
    }
    let r = on.login(1, &owner, "wrong password", "198.51.100.0").await;
    assert_eq!(
        r.status(),
        429,
        "an address that failed waits once the account is hot"
    );
    assert!(retry_after(&r) >= 1);
    let r = on
        .login(0, &owner, "wrong password", "198.51.100.200")
        .await;
    assert_eq!(r.status(), 401, "a fresh address gets its try");
    let r = on.login(1, &owner, PASSWORD, "203.0.113.21").await;
    assert_eq!(r.status(), 200, "the owner is not locked out");
}

fn throttle_config(c: &mut jojomart_shared::config::Config) {
    c.trusted_proxy_hops = Some(1);
    c.auth.throttle.max_failures_per_pair = 5;
    c.auth.throttle.max_failures_per_account = 8;
    c.auth.throttle.max_failures_per_client = 1000;
}

fn one(app: &TestApp) -> Instances {
    Instances {
        bases: vec![app.base.clone()],
        client: app.client.clone(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_owner_signs_in_while_an_attacker_hammers_the_account() {
    let app = TestApp::spawn_configured(throttle_config).await;
    owner_gets_in_while_an_attacker_hammers(&one(&app)).await;
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_attack_spread_over_addresses_is_slowed_without_locking_the_owner_out() {
    let app = TestApp::spawn_configured(throttle_config).await;
    a_spread_attack_gets_one_guess_per_address(&one(&app)).await;
    app.shutdown().await;
}

/// Two `jojomart dev` on one data dir and one Redis, behind a proxy
/// (`JOJOMART_TRUSTED_PROXY_HOPS=1`), or `None` without a test Redis.
async fn two_instances_on_redis() -> Option<(Instances, DevProcess, DevProcess)> {
    let url = jojomart_shared::conformance::emulator("JOJOMART_TEST_REDIS_URL")?;
    let env = |c: &mut std::process::Command| {
        c.args(["--cache", "redis"])
            .env("JOJOMART_REDIS_URL", &url)
            .env("JOJOMART_TRUSTED_PROXY_HOPS", "1")
            .env("JOJOMART_LOGIN_MAX_FAILURES", "5")
            .env("JOJOMART_LOGIN_MAX_FAILURES_PER_ACCOUNT", "8")
            .env("JOJOMART_LOGIN_MAX_FAILURES_PER_CLIENT", "1000")
            .env("JOJOMART_ARGON2_MEMORY_KIB", "64")
            .env("JOJOMART_ARGON2_ITERATIONS", "1");
    };
    let first = DevProcess::start(env).await;
    let second = DevProcess::start_on(Some(first.dir.path()), env).await;
    let health: Value = reqwest::get(second.url("/api/health"))
        .await
        .expect("health")
        .json()
        .await
        .expect("JSON");
    assert_eq!(
        (health["cache"].as_str(), health["cacheKind"].as_str()),
        (Some("ok"), Some("redis"))
    );
    let on = Instances {
        bases: vec![first.base.clone(), second.base.clone()],
        client: reqwest::Client::new(),
    };
    Some((on, first, second))
}

#[tokio::test(flavor = "multi_thread")]
async fn two_instances_sharing_redis_throttle_at_the_same_count() {
    let Some((on, _first, _second)) = two_instances_on_redis().await else {
        return;
    };
    owner_gets_in_while_an_attacker_hammers(&on).await;
    a_spread_attack_gets_one_guess_per_address(&on).await;
}

/// With Redis unreachable the store stands in: throttling still holds, and
/// health answers 200 saying the cache is on its fallback.
#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_redis_degrades_to_the_store_and_health_says_so() {
    let app = TestApp::spawn_with(Spawn {
        configure: Box::new(throttle_config),
        cache: Box::new(|store, clock| {
            let dead = RedisCache::connect_lazily(&RedisSettings::new(Secret::new(
                "redis://127.0.0.1:9/".into(),
            )))
            .expect("a valid URL");
            Arc::new(FallbackCache::new(
                Arc::new(dead),
                Arc::new(StoreCache::new(store.clone(), clock.clone())),
            )) as SharedCache
        }),
        ..Spawn::default()
    })
    .await;
    let r = app.get("/api/health").await;
    assert_eq!(r.status(), 200, "only the fast path is gone");
    let health: Value = r.json().await.expect("JSON");
    assert_eq!(health["status"], "degraded");
    assert_eq!(health["cache"], "fallback");
    assert_eq!(health["cacheKind"], "redis");
    owner_gets_in_while_an_attacker_hammers(&one(&app)).await;
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn health_names_the_cache() {
    let app = TestApp::spawn().await;
    let health: Value = app.get("/api/health").await.json().await.expect("JSON");
    assert_eq!(health["cache"], "ok");
    assert_eq!(health["cacheKind"], "memory");
    app.shutdown().await;
}

/// A flood of registrations from one address is refused after 3 (here) with
/// Retry-After, costing no password hash; another address still registers.
#[tokio::test(flavor = "multi_thread")]
async fn a_registration_flood_from_one_client_is_throttled() {
    let app = TestApp::spawn_configured(|c| {
        c.trusted_proxy_hops = Some(1);
        c.auth.throttle.max_registrations_per_client = 3;
    })
    .await;
    let on = one(&app);
    let auth: Auth = app.state.handle();
    for i in 0..3 {
        let r = on
            .register(0, &format!("flood{i}@example.com"), "198.51.100.9")
            .await;
        assert_eq!(r.status(), 201);
    }
    let hashes = auth.passwords.hashes_made();
    for i in 3..6 {
        let r = on
            .register(0, &format!("flood{i}@example.com"), "198.51.100.9")
            .await;
        assert_eq!(r.status(), 429, "registration {i}");
        let wait = retry_after(&r);
        assert!((3000..=3600).contains(&wait), "about an hour: {wait}");
    }
    assert_eq!(
        auth.passwords.hashes_made(),
        hashes,
        "a refused registration hashes nothing"
    );
    let r = on
        .register(0, "elsewhere@example.com", "203.0.113.30")
        .await;
    assert_eq!(r.status(), 201, "another address is not affected");
    app.shutdown().await;
}

/// A taken email is refused with 409 before any password is hashed.
#[tokio::test(flavor = "multi_thread")]
async fn a_taken_email_is_refused_without_hashing() {
    let app = TestApp::spawn().await;
    let auth: Auth = app.state.handle();
    app.auth().register("taken@example.com").await;
    let hashes = auth.passwords.hashes_made();
    let r = app
        .auth()
        .try_register(
            &json!({"email": "Taken@Example.com", "password": "another password", "name": "Twin"}),
        )
        .await;
    assert_eq!(r.status(), 409);
    let r = app
        .auth()
        .try_register(&json!({"email": "not-an-email", "password": "short", "name": ""}))
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        auth.passwords.hashes_made(),
        hashes,
        "neither refusal hashed a password"
    );
    app.shutdown().await;
}

/// With every new-hash permit taken (a registration flood at its peak), a
/// login still completes; the waiting registration finishes once they are free.
#[tokio::test(flavor = "multi_thread")]
async fn logins_keep_their_hashing_permits_during_a_registration_flood() {
    let app = TestApp::spawn().await;
    let auth: Auth = app.state.handle();
    app.auth().register("regular@example.com").await;
    let hold = auth.passwords.hold_hash_share().await;
    let waiting = {
        let client = app.client.clone();
        let url = app.url("/api/auth/register");
        tokio::spawn(async move {
            client
                .post(url)
                .json(
                    &json!({"email": "newcomer@example.com", "password": PASSWORD, "name": "New"}),
                )
                .send()
                .await
                .expect("POST register")
                .status()
        })
    };
    let r = app.auth().login("regular@example.com", PASSWORD).await;
    assert_eq!(
        r.status(),
        200,
        "the login did not wait for the registrations' permits"
    );
    assert!(
        !waiting.is_finished(),
        "the registration waits for its share"
    );
    drop(hold);
    assert_eq!(waiting.await.expect("task"), 201);
    app.shutdown().await;
}

/// Revocation across two `jojomart dev` processes sharing one data dir and
/// one Redis: an account closed on one instance has its old access token
/// refused by the other within the contract's 5 s, and a logout (a family
/// revoked) on one voids the user's older tokens on the other too.
#[tokio::test(flavor = "multi_thread")]
async fn two_instances_sharing_redis_refuse_a_revoked_token_within_five_seconds() {
    let Some((on, _first, _second)) = two_instances_on_redis().await else {
        return;
    };
    let me = |i: usize, token: String| {
        let client = on.client.clone();
        let url = format!("{}/api/users/me", on.base(i));
        async move {
            client
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .expect("GET /api/users/me")
                .status()
        }
    };
    let refused_on_second_within_5s = |token: String, what: &'static str| {
        let me = &me;
        async move {
            crate::harness::eventually(std::time::Duration::from_secs(5), what, || {
                let token = token.clone();
                async move { (me(1, token).await == 401).then_some(()) }
            })
            .await;
        }
    };

    // a logout on the first instance
    let email = unique_email("leaver");
    let session: Value = on
        .register(0, &email, "203.0.113.70")
        .await
        .json()
        .await
        .unwrap();
    let access = session["accessToken"].as_str().unwrap().to_owned();
    assert_eq!(me(1, access.clone()).await, 200, "the token works on both");
    let r = on
        .post(
            0,
            "/api/auth/logout",
            "203.0.113.70",
            &json!({"refreshToken": session["refreshToken"]}),
        )
        .await;
    assert_eq!(r.status(), 204);
    refused_on_second_within_5s(
        access,
        "a logged-out session's token refused by the other instance",
    )
    .await;

    // an account closed on the first instance
    let email = unique_email("closer");
    let session: Value = on
        .register(0, &email, "203.0.113.71")
        .await
        .json()
        .await
        .unwrap();
    let access = session["accessToken"].as_str().unwrap().to_owned();
    assert_eq!(me(1, access.clone()).await, 200);
    let r = on
        .client
        .delete(format!("{}/api/users/me", on.base(0)))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    refused_on_second_within_5s(
        access,
        "a closed account's token refused by the other instance",
    )
    .await;
}
