//! Entra ID tokens against a local OIDC issuer: a real HTTP server started by
//! the test serves discovery and a JWKS, and signs RS256 tokens with its own
//! key. Its tokens are accepted (roles from the `roles` claim); another
//! issuer's, or ones with the wrong audience, tenant, expiry, type or version,
//! are refused; a new issuer key is picked up by refetching the JWKS on an
//! unknown `kid` (at most once per `min_refresh`), and a withdrawn one stops
//! verifying when the keys are refetched a day later.

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use axum::{extract::State, routing::get, Json, Router};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use jojomart_shared::auth::config::EntraConfig;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::{pkcs1::EncodeRsaPrivateKey, traits::PublicKeyParts, RsaPrivateKey};
use serde_json::{json, Value};

use crate::harness::{s, Spawn, TestApp};
use jojomart_shared::clock::FakeClock;

const TENANT: &str = "8a0d2b5e-1111-4c3b-9c1e-6f1f7d3a0001";
const AUDIENCE: &str = "api://jojomart-test";

/// An RSA signing key with its JWK.
struct RsaKey {
    kid: String,
    encoding: EncodingKey,
    jwk: Value,
}

fn rsa_key(kid: &str) -> RsaKey {
    let private = RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).expect("RSA key");
    let der = private.to_pkcs1_der().expect("PKCS#1");
    let jwk = json!({"kty": "RSA", "use": "sig", "kid": kid, "alg": "RS256",
        "n": URL_SAFE_NO_PAD.encode(private.n().to_bytes_be()),
        "e": URL_SAFE_NO_PAD.encode(private.e().to_bytes_be())});
    RsaKey {
        kid: kid.to_owned(),
        encoding: EncodingKey::from_rsa_der(der.as_bytes()),
        jwk,
    }
}

#[derive(Clone)]
struct Published {
    issuer: String,
    keys: Arc<Mutex<Vec<Value>>>,
    jwks_hits: Arc<AtomicUsize>,
}

/// A local OIDC issuer on port 0: `{authority}/.well-known/openid-configuration` and its JWKS.
struct Issuer {
    authority: String,
    published: Published,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Issuer {
    async fn start(tenant: &str) -> Self {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let authority = format!("{base}/{tenant}/v2.0");
        let published = Published {
            issuer: authority.clone(),
            keys: Arc::new(Mutex::new(Vec::new())),
            jwks_hits: Arc::new(AtomicUsize::new(0)),
        };
        async fn discovery(State(p): State<Published>) -> Json<Value> {
            let base = p.issuer.trim_end_matches("/v2.0").to_owned();
            Json(
                json!({"issuer": p.issuer, "jwks_uri": format!("{base}/discovery/v2.0/keys"),
                        "id_token_signing_alg_values_supported": ["RS256"]}),
            )
        }
        async fn jwks(State(p): State<Published>) -> Json<Value> {
            p.jwks_hits.fetch_add(1, Ordering::SeqCst);
            let keys = p.keys.lock().unwrap().clone();
            Json(json!({"keys": keys}))
        }
        let router = Router::new()
            .route(
                &format!("/{tenant}/v2.0/.well-known/openid-configuration"),
                get(discovery),
            )
            .route(&format!("/{tenant}/discovery/v2.0/keys"), get(jwks))
            .with_state(published.clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        Self {
            authority,
            published,
            stop: Some(stop),
        }
    }

    fn publish(&self, key: &RsaKey) {
        self.published.keys.lock().unwrap().push(key.jwk.clone());
    }

    /// Stops publishing `key` (the issuer rotated it out).
    fn withdraw(&self, key: &RsaKey) {
        self.published
            .keys
            .lock()
            .unwrap()
            .retain(|k| k["kid"] != key.kid.as_str());
    }

    fn jwks_hits(&self) -> usize {
        self.published.jwks_hits.load(Ordering::SeqCst)
    }

    /// A token as Entra would issue it, with `claims` merged over the defaults.
    fn token(&self, key: &RsaKey, overrides: Value) -> String {
        self.token_at(key, chrono::Utc::now(), Some("JWT"), overrides)
    }

    /// A token issued at `at`, with header `typ`, and `claims` merged over the defaults.
    fn token_at(
        &self,
        key: &RsaKey,
        at: chrono::DateTime<chrono::Utc>,
        typ: Option<&str>,
        overrides: Value,
    ) -> String {
        let now = at.timestamp();
        let mut claims = json!({"iss": self.authority, "aud": AUDIENCE, "tid": TENANT,
            "sub": "pairwise-subject", "oid": "00000000-0000-0000-0000-00000000beef",
            "preferred_username": "Staff@Contoso.example", "roles": ["Admin"],
            "iat": now, "nbf": now, "exp": now + 3600, "ver": "2.0"});
        if let (Some(c), Some(o)) = (claims.as_object_mut(), overrides.as_object()) {
            for (k, v) in o {
                c.insert(k.clone(), v.clone());
            }
        }
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(key.kid.clone());
        header.typ = typ.map(str::to_owned);
        jsonwebtoken::encode(&header, &claims, &key.encoding).unwrap()
    }
}

impl Drop for Issuer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn entra_tokens_from_the_configured_tenant_are_accepted_and_others_refused() {
    let (ours, rotated, theirs) =
        tokio::task::spawn_blocking(|| (rsa_key("k1"), rsa_key("k2"), rsa_key("x1")))
            .await
            .unwrap();
    let issuer = Issuer::start(TENANT).await;
    issuer.publish(&ours);
    let other_tenant = "99999999-2222-4c3b-9c1e-6f1f7d3a0002";
    let impostor = Issuer::start(other_tenant).await;
    impostor.publish(&theirs);

    let authority = issuer.authority.clone();
    let app = TestApp::spawn_configured(move |c| {
        c.auth.entra = Some(EntraConfig {
            tenant_id: TENANT.into(),
            audience: AUDIENCE.into(),
            authority,
            min_refresh: Duration::ZERO,
            token_version: "2.0".into(),
        });
    })
    .await;

    // accepted: the principal is the object id, roles come from the token
    let token = issuer.token(&ours, json!({}));
    let r = app.auth().whoami(&token).await;
    assert_eq!(r.status(), 200);
    let me: Value = r.json().await.unwrap();
    assert_eq!(s(&me, "userId"), "00000000-0000-0000-0000-00000000beef");
    assert_eq!(s(&me, "email"), "staff@contoso.example");
    assert_eq!(me["roles"], json!(["admin"]));
    assert_eq!(app.auth().admin_probe(&token).await.status(), 200);
    let reader = issuer.token(&ours, json!({"roles": ["Customer", "Reader"]}));
    assert_eq!(app.auth().whoami(&reader).await.status(), 200);
    assert_eq!(
        app.auth().admin_probe(&reader).await.status(),
        403,
        "no admin role"
    );
    assert_eq!(issuer.jwks_hits(), 1, "the JWKS is cached");

    // refused: another issuer's token, even one that claims to be from ours
    let refused = [
        (
            "another issuer",
            impostor.token(&theirs, json!({"tid": other_tenant})),
        ),
        (
            "another issuer's key, our iss",
            issuer.token(&theirs, json!({})),
        ),
        (
            "wrong audience",
            issuer.token(&ours, json!({"aud": "api://someone-else"})),
        ),
        (
            "wrong tenant",
            issuer.token(&ours, json!({"tid": other_tenant})),
        ),
        (
            "expired",
            issuer.token(&ours, json!({"exp": chrono::Utc::now().timestamp() - 3600})),
        ),
        (
            "not yet valid",
            issuer.token(&ours, json!({"nbf": chrono::Utc::now().timestamp() + 3600})),
        ),
    ];
    for (what, token) in &refused {
        for route in ["/api/test/whoami", "/api/test/admin"] {
            assert_eq!(
                app.auth().probe(route, token).await.status(),
                401,
                "{what} on {route}"
            );
        }
    }

    // the issuer rotates: an unknown kid refetches the JWKS once, then the new key works
    issuer.publish(&rotated);
    let hits = issuer.jwks_hits();
    let token = issuer.token(&rotated, json!({}));
    assert_eq!(app.auth().whoami(&token).await.status(), 200);
    assert_eq!(issuer.jwks_hits(), hits + 1);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn without_entra_configuration_rs256_tokens_are_refused() {
    let key = tokio::task::spawn_blocking(|| rsa_key("k1")).await.unwrap();
    let issuer = Issuer::start(TENANT).await;
    issuer.publish(&key);
    let app = TestApp::spawn().await;
    let token = issuer.token(&key, json!({}));
    assert_eq!(app.auth().whoami(&token).await.status(), 401);
    assert_eq!(issuer.jwks_hits(), 0, "nothing is fetched");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn entra_keys_are_refetched_daily_and_tokens_of_another_type_or_version_refused() {
    let (ours, next) = tokio::task::spawn_blocking(|| (rsa_key("k1"), rsa_key("k2")))
        .await
        .unwrap();
    let issuer = Issuer::start(TENANT).await;
    issuer.publish(&ours);
    let clock = FakeClock::new(chrono::Utc::now());
    let authority = issuer.authority.clone();
    let app = TestApp::spawn_with(Spawn {
        clock: Arc::new(clock.clone()),
        configure: Box::new(move |c| {
            c.auth.entra = Some(EntraConfig {
                tenant_id: TENANT.into(),
                audience: AUDIENCE.into(),
                authority,
                min_refresh: Duration::from_secs(60),
                token_version: "2.0".into(),
            });
        }),
        ..Spawn::default()
    })
    .await;
    let token = |key: &RsaKey, typ: Option<&str>, claims: Value| {
        issuer.token_at(key, chrono::Utc::now().max(clock_now(&clock)), typ, claims)
    };

    assert_eq!(
        app.auth()
            .whoami(&token(&ours, Some("JWT"), json!({})))
            .await
            .status(),
        200
    );
    assert_eq!(issuer.jwks_hits(), 1);

    // Only v2.0 access tokens: another header type or token version is refused.
    let refused = [
        (
            "an ID-token type",
            token(&ours, Some("id_token+jwt"), json!({})),
        ),
        ("no type", token(&ours, None, json!({}))),
        (
            "a v1.0 token",
            token(&ours, Some("JWT"), json!({"ver": "1.0"})),
        ),
        (
            "no version",
            token(&ours, Some("JWT"), json!({"ver": null})),
        ),
    ];
    for (what, t) in &refused {
        assert_eq!(app.auth().whoami(t).await.status(), 401, "{what}");
    }

    // Unknown kids refetch at most once per min_refresh (none right after the first fetch).
    clock.advance(chrono::Duration::minutes(2));
    let forged = rsa_key_with_kid(&ours, "forged-1");
    let again = rsa_key_with_kid(&ours, "forged-2");
    assert_eq!(
        app.auth()
            .whoami(&token(&forged, Some("JWT"), json!({})))
            .await
            .status(),
        401
    );
    assert_eq!(
        app.auth()
            .whoami(&token(&again, Some("JWT"), json!({})))
            .await
            .status(),
        401
    );
    assert_eq!(issuer.jwks_hits(), 2, "one refetch for two unknown kids");

    // The issuer rotates k1 out: cached, it still verifies until the keys are
    // a day old; then the daily refetch drops it and picks up k2.
    issuer.withdraw(&ours);
    issuer.publish(&next);
    clock.advance(chrono::Duration::hours(23));
    assert_eq!(
        app.auth()
            .whoami(&token(&ours, Some("JWT"), json!({})))
            .await
            .status(),
        200,
        "cached for a day"
    );
    assert_eq!(issuer.jwks_hits(), 2);
    clock.advance(chrono::Duration::hours(2));
    assert_eq!(
        app.auth()
            .whoami(&token(&ours, Some("JWT"), json!({})))
            .await
            .status(),
        401,
        "a withdrawn key stops verifying a day later"
    );
    assert_eq!(issuer.jwks_hits(), 3, "refetched on schedule");
    assert_eq!(
        app.auth()
            .whoami(&token(&next, Some("JWT"), json!({})))
            .await
            .status(),
        200
    );
    assert_eq!(
        issuer.jwks_hits(),
        3,
        "the new key came with the daily refetch"
    );
    app.shutdown().await;
}

fn clock_now(clock: &FakeClock) -> chrono::DateTime<chrono::Utc> {
    use jojomart_shared::clock::Clock;
    clock.now()
}

/// `key` under another `kid`: signed by a key the issuer publishes, named as one it does not.
fn rsa_key_with_kid(key: &RsaKey, kid: &str) -> RsaKey {
    RsaKey {
        kid: kid.to_owned(),
        encoding: key.encoding.clone(),
        jwk: key.jwk.clone(),
    }
}
