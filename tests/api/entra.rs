//! Entra ID tokens against a local OIDC issuer: a real HTTP server started by
//! the test serves discovery and a JWKS, and signs RS256 tokens with its own
//! key. Its tokens are accepted (roles from the `roles` claim); another
//! issuer's, or ones with the wrong audience, tenant or expiry, are refused;
//! a new issuer key is picked up by refetching the JWKS on an unknown `kid`.

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

use crate::harness::{s, TestApp};

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

    fn jwks_hits(&self) -> usize {
        self.published.jwks_hits.load(Ordering::SeqCst)
    }

    /// A token as Entra would issue it, with `claims` merged over the defaults.
    fn token(&self, key: &RsaKey, overrides: Value) -> String {
        let now = chrono::Utc::now().timestamp();
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
        header.typ = Some("JWT".into());
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
