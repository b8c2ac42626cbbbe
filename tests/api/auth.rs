//! The auth service over real HTTP: the register/login/refresh/logout round
//! trip, refresh-token rotation and reuse detection under concurrency, forged
//! access tokens, login throttling, identical answers for unknown emails and
//! wrong passwords, admin roles, the JWKS across a key rotation, and the
//! sign-in hook other services listen on.

use std::time::{Duration, Instant};

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use jojomart::auth::sessions::REFRESH_TOKENS;
use jojomart_shared::{
    auth::keys::SigningKey,
    config::{Config, Secret},
    conformance::faults::{FaultyStore, Op},
};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::harness::{auth::PASSWORD, error_fields, s, Spawn, TestApp};

#[tokio::test(flavor = "multi_thread")]
async fn register_login_refresh_logout_round_trip() {
    let app = TestApp::spawn().await;

    let registered = app.auth().register("  Ada@Example.com ").await;
    let user = &registered["user"];
    assert_eq!(s(user, "email"), "ada@example.com", "emails are normalised");
    assert_eq!(s(user, "name"), "Test User");
    assert_eq!(user["roles"], json!(["customer"]));
    assert_eq!(s(&registered, "tokenType"), "Bearer");
    assert_eq!(registered["expiresIn"], 900);
    let access = s(&registered, "accessToken");
    let me: Value = app.auth().whoami(access).await.json().await.unwrap();
    assert_eq!(me["userId"], user["id"]);

    // the same email, in another case, is taken
    let dup = app
        .auth()
        .try_register(&json!({"email": "ADA@example.com", "password": PASSWORD, "name": "Again"}))
        .await;
    assert_eq!(dup.status(), 409);

    let r = app.auth().login("ada@example.com", PASSWORD).await;
    assert_eq!(r.status(), 200);
    let session: Value = r.json().await.unwrap();
    assert_eq!(session["user"]["id"], user["id"]);
    assert_eq!(s(&session["user"], "name"), "Test User");

    let r = app.auth().refresh(s(&session, "refreshToken")).await;
    assert_eq!(r.status(), 200);
    let rotated: Value = r.json().await.unwrap();
    assert_ne!(rotated["refreshToken"], session["refreshToken"]);
    assert_eq!(rotated["user"]["id"], user["id"]);
    let r = app.auth().whoami(s(&rotated, "accessToken")).await;
    assert_eq!(r.status(), 200);

    let r = app.auth().logout(s(&rotated, "refreshToken")).await;
    assert_eq!(r.status(), 204);
    assert_eq!(
        app.auth()
            .refresh(s(&rotated, "refreshToken"))
            .await
            .status(),
        401,
        "logged out"
    );
    // the session opened at registration is another family, untouched
    assert_eq!(
        app.auth()
            .refresh(s(&registered, "refreshToken"))
            .await
            .status(),
        200
    );
    // logging out with a token we never issued is a quiet no-op
    let r = app.auth().logout("not-a-token").await;
    assert_eq!(r.status(), 204);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn registration_validates_its_input() {
    let app = TestApp::spawn().await;
    let cases = [
        (
            json!({"email": "not-an-email", "password": PASSWORD, "name": "A"}),
            vec!["email"],
        ),
        (
            json!({"email": "a@example.com", "password": "short", "name": "A"}),
            vec!["password"],
        ),
        (
            json!({"email": "a@example.com", "password": "x".repeat(129), "name": "A"}),
            vec!["password"],
        ),
        (
            json!({"email": "nope", "password": "1234567", "name": " "}),
            vec!["email", "password", "name"],
        ),
        (
            json!({"email": "a@example.com", "password": PASSWORD}),
            vec!["name"],
        ),
    ];
    for (body, fields) in cases {
        let r = app.auth().try_register(&body).await;
        assert_eq!(r.status(), 400, "{body}");
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let problem: Value = r.json().await.unwrap();
        assert_eq!(error_fields(&problem), fields, "{body}");
    }
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn addresses_with_characters_document_ids_forbid_register_and_sign_in() {
    let app = TestApp::spawn().await;
    for email in [
        "a/b@example.com",
        "a?b@example.com",
        "a#b@example.com",
        "A/B+shop@Example.com",
    ] {
        let registered = app.auth().register(email).await;
        let normalised = email.to_lowercase();
        assert_eq!(s(&registered["user"], "email"), normalised);
        let session = app.auth().session(email).await;
        assert_eq!(session["user"]["id"], registered["user"]["id"], "{email}");
        let r = app.auth().refresh(s(&session, "refreshToken")).await;
        assert_eq!(r.status(), 200, "refresh {email}");
        let dup = app
            .auth()
            .try_register(
                &json!({"email": normalised.to_uppercase(), "password": PASSWORD, "name": "Again"}),
            )
            .await;
        assert_eq!(dup.status(), 409, "{email} is taken in any case");
        let token = s(&session, "accessToken");
        let me = app.users().me_json(token).await;
        assert_eq!(s(&me, "email"), normalised);
        let export = app.users().export(token).await;
        assert_eq!(export.status(), 200, "export {email}");
        assert_eq!(app.users().delete_me(token).await.status(), 204);
        // a backslash is not an atext character: refused as a bad email, never a 500
    }
    // `\\` is not an atext character: refused as a bad email, never a 500
    let r = app
        .auth()
        .try_register(&json!({"email": "a\\b@example.com", "password": PASSWORD, "name": "A"}))
        .await;
    assert_eq!(r.status(), 400);
    // two addresses that differ only in a forbidden character are two accounts
    let slash = app.auth().register("x/y@example.com").await;
    let query = app.auth().register("x?y@example.com").await;
    assert_ne!(slash["user"]["id"], query["user"]["id"]);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn reusing_a_rotated_refresh_token_revokes_the_family() {
    let app = TestApp::spawn().await;
    app.auth().register("reuse@example.com").await;
    let first = app.auth().session("reuse@example.com").await;
    let other = app.auth().session("reuse@example.com").await;

    let second: Value = app
        .auth()
        .refresh(s(&first, "refreshToken"))
        .await
        .json()
        .await
        .unwrap();
    let third: Value = app
        .auth()
        .refresh(s(&second, "refreshToken"))
        .await
        .json()
        .await
        .unwrap();

    // the stolen first token comes back: refused, and the whole family dies
    assert_eq!(
        app.auth().refresh(s(&first, "refreshToken")).await.status(),
        401
    );
    assert_eq!(
        app.auth().refresh(s(&third, "refreshToken")).await.status(),
        401
    );
    // another session of the same user is another family
    assert_eq!(
        app.auth().refresh(s(&other, "refreshToken")).await.status(),
        200
    );
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn twenty_concurrent_refreshes_of_one_token_give_at_most_one_success() {
    let app = TestApp::spawn_with(Spawn {
        // Reads of refresh tokens answer slowly, so every one of a burst of
        // concurrent refreshes reads the token before any of them writes: the
        // window in which an unconditional write would let them all win.
        wrap_store: Box::new(|store| {
            let slow = FaultyStore::wrap(store);
            slow.delay_after(Op::Read, REFRESH_TOKENS, Duration::from_millis(150));
            slow
        }),
        ..Spawn::default()
    })
    .await;
    app.auth().register("race@example.com").await;
    let session = app.auth().session("race@example.com").await;
    let token = s(&session, "refreshToken").to_owned();

    let attempts = (0..20).map(|_| {
        let client = app.client.clone();
        let url = app.url("/api/auth/refresh");
        let token = token.clone();
        async move {
            let r = client
                .post(url)
                .json(&json!({"refreshToken": token}))
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let body: Value = r.json().await.unwrap();
            (status, body)
        }
    });
    let results = futures::future::join_all(attempts).await;
    let statuses: Vec<u16> = results.iter().map(|(status, _)| *status).collect();
    let won = statuses.iter().filter(|&&s| s == 200).count();
    assert!(won <= 1, "{won} refreshes succeeded: {statuses:?}");
    assert_eq!(won, 1, "one of them does win: {statuses:?}");
    assert!(
        statuses.iter().all(|&s| s == 200 || s == 401),
        "{statuses:?}"
    );
    // the raced token is spent; the losers presented a rotated token, so the
    // family is revoked and the winner's new token is refused too
    assert_eq!(app.auth().refresh(&token).await.status(), 401);
    let winner = results
        .iter()
        .find(|(status, _)| *status == 200)
        .map(|(_, body)| body)
        .unwrap();
    assert_eq!(
        app.auth().refresh(s(winner, "refreshToken")).await.status(),
        401
    );
    app.shutdown().await;
}

/// Claims for a token, `exp` seconds from now.
fn claims(sub: &str, roles: &[&str], iss: &str, aud: &str, exp_in: i64) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({"sub": sub, "email": "forged@example.com", "roles": roles, "iss": iss, "aud": aud,
           "exp": now + exp_in, "iat": now, "jti": uuid::Uuid::new_v4().to_string()})
}

fn sign(key: &SigningKey, kid: &str, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.to_owned());
    header.typ = Some("at+jwt".to_owned());
    jsonwebtoken::encode(&header, claims, key.encoding_key()).unwrap()
}

fn unsigned(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn forged_access_tokens_are_refused_on_protected_and_admin_routes() {
    let key = SigningKey::generate().unwrap();
    let pem = key.to_pem();
    let app = TestApp::spawn_configured(move |c| c.auth.signing_key = Some(Secret::new(pem))).await;
    let user = app.auth().register("victim@example.com").await;
    let sub = s(&user["user"], "id").to_owned();
    let kid = key.kid().to_owned();

    // the JWKS publishes the configured key, and only it
    let jwks = app.auth().jwks().await;
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
    assert_eq!(s(&jwks["keys"][0], "kid"), kid);
    assert_eq!(s(&jwks["keys"][0], "alg"), "EdDSA");
    let public = URL_SAFE_NO_PAD.decode(s(&jwks["keys"][0], "x")).unwrap();

    // controls: a token made with the real key and the right claims passes both routes
    let good = sign(
        &key,
        &kid,
        &claims(
            &sub,
            &["customer", "admin"],
            "jojomart",
            "jojomart-api",
            600,
        ),
    );
    assert_eq!(app.auth().whoami(&good).await.status(), 200);
    assert_eq!(app.auth().admin_probe(&good).await.status(), 200);
    let customer = s(&user, "accessToken");
    assert_eq!(
        app.auth().admin_probe(customer).await.status(),
        403,
        "not an admin"
    );

    let admin_claims = claims(
        &sub,
        &["customer", "admin"],
        "jojomart",
        "jojomart-api",
        600,
    );
    let stranger = SigningKey::generate().unwrap();
    let hs256 = |secret: &[u8]| {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(kid.clone());
        header.typ = Some("at+jwt".into());
        jsonwebtoken::encode(&header, &admin_claims, &EncodingKey::from_secret(secret)).unwrap()
    };
    let tampered = {
        let customer_token = sign(
            &key,
            &kid,
            &claims(&sub, &["customer"], "jojomart", "jojomart-api", 600),
        );
        let parts: Vec<&str> = customer_token.split('.').collect();
        format!(
            "{}.{}.{}",
            parts[0],
            URL_SAFE_NO_PAD.encode(admin_claims.to_string()),
            parts[2]
        )
    };
    let forged = [
        (
            "alg none",
            unsigned(
                &json!({"alg": "none", "typ": "at+jwt", "kid": kid}),
                &admin_claims,
            ),
        ),
        (
            "alg none, no kid",
            unsigned(&json!({"alg": "none"}), &admin_claims),
        ),
        ("HS256 keyed with the raw public key", hs256(&public)),
        (
            "HS256 keyed with the JWK x",
            hs256(s(&jwks["keys"][0], "x").as_bytes()),
        ),
        (
            "HS256 keyed with the public PEM",
            hs256(key.verifying_key().to_pem().as_bytes()),
        ),
        (
            "unknown kid",
            sign(&stranger, stranger.kid(), &admin_claims),
        ),
        ("our kid, another key", sign(&stranger, &kid, &admin_claims)),
        ("tampered claims", tampered),
        (
            "wrong audience",
            sign(
                &key,
                &kid,
                &claims(&sub, &["admin"], "jojomart", "someone-else", 600),
            ),
        ),
        (
            "wrong issuer",
            sign(
                &key,
                &kid,
                &claims(
                    &sub,
                    &["admin"],
                    "https://evil.example",
                    "jojomart-api",
                    600,
                ),
            ),
        ),
        (
            "expired",
            sign(
                &key,
                &kid,
                &claims(&sub, &["admin"], "jojomart", "jojomart-api", -3600),
            ),
        ),
        ("garbage", "not.a.jwt".to_owned()),
    ];
    for (what, token) in &forged {
        for route in ["/api/test/whoami", "/api/test/admin", "/api/users/me"] {
            let r = app.auth().probe(route, token).await;
            assert_eq!(r.status(), 401, "{what} on {route}");
            assert_eq!(r.headers()["content-type"], "application/problem+json");
        }
    }
    assert_eq!(
        app.get("/api/test/admin").await.status(),
        401,
        "no token at all"
    );
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_emails_get_the_admin_role_at_registration() {
    let app = TestApp::spawn_configured(|c| c.admin_emails = vec!["boss@example.com".into()]).await;
    let boss = app.auth().register("Boss@Example.com").await;
    assert_eq!(boss["user"]["roles"], json!(["customer", "admin"]));
    let r = app.auth().admin_probe(s(&boss, "accessToken")).await;
    assert_eq!(r.status(), 200);
    let worker = app.auth().register("worker@example.com").await;
    let r = app.auth().admin_probe(s(&worker, "accessToken")).await;
    assert_eq!(r.status(), 403);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn repeated_failed_logins_are_throttled_with_retry_after() {
    let app = TestApp::spawn_configured(|c| {
        c.auth.throttle.max_failures_per_pair = 3;
        c.auth.throttle.max_failures_per_client = 1000;
    })
    .await;
    app.auth().register("target@example.com").await;

    // a success resets the account's count
    for _ in 0..2 {
        assert_eq!(
            app.auth()
                .login("target@example.com", "wrong password")
                .await
                .status(),
            401
        );
    }
    assert_eq!(
        app.auth()
            .login("target@example.com", PASSWORD)
            .await
            .status(),
        200
    );
    for _ in 0..3 {
        assert_eq!(
            app.auth()
                .login("target@example.com", "wrong password")
                .await
                .status(),
            401
        );
    }
    let r = app
        .auth()
        .login("target@example.com", "wrong password")
        .await;
    assert_eq!(r.status(), 429);
    let retry_after: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry_after), "{retry_after}");
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    // the right password waits too, from this client
    assert_eq!(
        app.auth()
            .login("target@example.com", PASSWORD)
            .await
            .status(),
        429
    );
    // unknown accounts are throttled alike, so throttling tells nothing either
    for _ in 0..3 {
        assert_eq!(
            app.auth()
                .login("ghost@example.com", "whatever1")
                .await
                .status(),
            401
        );
    }
    assert_eq!(
        app.auth()
            .login("ghost@example.com", "whatever1")
            .await
            .status(),
        429
    );
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_guesses_cannot_overshoot_the_limit() {
    let app = TestApp::spawn_configured(|c| c.auth.throttle.max_failures_per_pair = 3).await;
    app.auth().register("burst@example.com").await;
    let guesses = (0..10).map(|i| {
        let app = &app;
        async move {
            app.auth()
                .login("burst@example.com", &format!("guess number {i}"))
                .await
                .status()
                .as_u16()
        }
    });
    let mut statuses = futures::future::join_all(guesses).await;
    statuses.sort_unstable();
    assert_eq!(statuses, [401, 401, 401, 429, 429, 429, 429, 429, 429, 429]);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_logins_are_throttled_per_client_address() {
    let app = TestApp::spawn_configured(|c| {
        c.trusted_proxy_hops = Some(1);
        c.auth.throttle.max_failures_per_account = 100;
        c.auth.throttle.max_failures_per_client = 4;
    })
    .await;
    app.auth().register("someone@example.com").await;
    for i in 0..4 {
        let r = app
            .auth()
            .login_from(
                &format!("spray{i}@example.com"),
                "password1",
                "198.51.100.7",
            )
            .await;
        assert_eq!(r.status(), 401);
    }
    let r = app
        .auth()
        .login_from("someone@example.com", PASSWORD, "198.51.100.7")
        .await;
    assert_eq!(r.status(), 429, "that address is spraying");
    assert!(r.headers().contains_key("retry-after"));
    // the front end appends the real address last; an entry the client wrote is ignored
    let r = app
        .auth()
        .login_from("someone@example.com", PASSWORD, "198.51.100.7, 192.0.2.1")
        .await;
    assert_eq!(r.status(), 200, "another address is fine");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_email_and_wrong_password_get_identical_answers() {
    // real (OWASP) hashing cost: the timing must not tell the two apart
    let app = TestApp::spawn_configured(|c| {
        c.auth.password = Config::default().auth.password;
        c.auth.throttle.max_failures_per_pair = 1000;
        c.auth.throttle.max_failures_per_account = 1000;
        c.auth.throttle.max_failures_per_client = 1000;
    })
    .await;
    app.auth().register("real@example.com").await;

    let answer = |r: reqwest::Response| async move {
        let status = r.status().as_u16();
        let mut headers: Vec<(String, String)> = r
            .headers()
            .iter()
            .filter(|(k, _)| !["x-request-id", "date", "content-length"].contains(&k.as_str()))
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_owned()))
            .collect();
        headers.sort();
        let body = r.text().await.unwrap();
        (status, headers, body)
    };
    let wrong = answer(
        app.auth()
            .login("real@example.com", "not the password")
            .await,
    )
    .await;
    let unknown = answer(
        app.auth()
            .login("nobody@example.com", "not the password")
            .await,
    )
    .await;
    assert_eq!(wrong.0, 401);
    assert_eq!(wrong, unknown, "status, headers and body are the same");

    // and the same work: time both, interleaved so that a burst of load on a
    // shared machine lands on both sides alike (medians of 9 runs each)
    let mut wrong = Vec::new();
    let mut unknown = Vec::new();
    for _ in 0..9 {
        for (email, times) in [
            ("real@example.com", &mut wrong),
            ("nobody@example.com", &mut unknown),
        ] {
            let started = Instant::now();
            assert_eq!(
                app.auth().login(email, "not the password").await.status(),
                401
            );
            times.push(started.elapsed());
        }
    }
    let median = |mut times: Vec<Duration>| {
        times.sort_unstable();
        times[times.len() / 2]
    };
    let (wrong, unknown) = (median(wrong), median(unknown));
    assert!(
        unknown * 2 > wrong && wrong * 2 > unknown,
        "unknown email {unknown:?} vs wrong password {wrong:?}"
    );
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_jwks_keeps_the_previous_key_after_a_rotation() {
    let app = TestApp::spawn().await;
    let before = app.auth().register("keys@example.com").await;
    let token = s(&before, "accessToken").to_owned();
    let old_kid = jsonwebtoken::decode_header(&token).unwrap().kid.unwrap();
    let jwks = app.auth().jwks().await;
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
    assert_eq!(s(&jwks["keys"][0], "kid"), old_kid);
    assert_eq!(s(&jwks["keys"][0], "kty"), "OKP");

    let new_kid = app
        .state
        .handle::<jojomart::auth::Auth>()
        .keys
        .rotate()
        .await
        .unwrap();
    assert_ne!(new_kid, old_kid);
    let jwks = app.auth().jwks().await;
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| s(k, "kid"))
        .collect();
    assert_eq!(
        kids,
        [new_kid.as_str(), old_kid.as_str()],
        "current first, previous kept"
    );

    // tokens of the old key still work; new ones are signed by the new key
    assert_eq!(app.auth().whoami(&token).await.status(), 200);
    let after = app.auth().session("keys@example.com").await;
    let kid = jsonwebtoken::decode_header(s(&after, "accessToken"))
        .unwrap()
        .kid
        .unwrap();
    assert_eq!(kid, new_kid);
    assert_eq!(
        app.auth().whoami(s(&after, "accessToken")).await.status(),
        200
    );
    app.shutdown().await;
}

/// A sign-in listener that records what it hears, and fails when told to.
struct Recorder {
    heard: std::sync::Mutex<Vec<jojomart::auth::SignedIn>>,
    fails: bool,
}

impl jojomart::auth::SignInListener for Recorder {
    fn signed_in<'a>(
        &'a self,
        event: &'a jojomart::auth::SignedIn,
    ) -> futures::future::BoxFuture<'a, Result<(), jojomart_shared::error::ApiError>> {
        Box::pin(async move {
            self.heard.lock().unwrap().push(event.clone());
            if self.fails {
                Err(jojomart_shared::error::ApiError::Conflict("no".into()))
            } else {
                Ok(())
            }
        })
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_in_listeners_hear_every_sign_in_and_cannot_fail_it() {
    let app = TestApp::spawn().await;
    let auth = app.state.handle::<jojomart::auth::Auth>();
    let failing = std::sync::Arc::new(Recorder {
        heard: Default::default(),
        fails: true,
    });
    let recorder = std::sync::Arc::new(Recorder {
        heard: Default::default(),
        fails: false,
    });
    auth.on_sign_in(failing.clone());
    auth.on_sign_in(recorder.clone());

    let cart = "c".repeat(64);
    let registered = app.cart().register("Hook@Example.com", &cart).await;
    app.auth().session("hook@example.com").await;
    let r = app
        .client
        .post(app.url("/api/auth/login"))
        .header("x-cart-id", "not a cart id")
        .json(&json!({"email": "hook@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        200,
        "a failing listener does not fail the login"
    );
    assert_eq!(
        app.auth().login("hook@example.com", "wrong").await.status(),
        401
    );

    let heard = recorder.heard.lock().unwrap().clone();
    assert_eq!(
        heard.len(),
        3,
        "register and two logins, not the failed one"
    );
    assert_eq!(failing.heard.lock().unwrap().len(), 3);
    assert!(heard
        .iter()
        .all(|e| e.user_id.as_str() == s(&registered["user"], "id")
            && e.email.as_str() == "hook@example.com"));
    let seen: Vec<_> = heard
        .iter()
        .map(|e| {
            (
                e.registered,
                e.cart_id.as_ref().map(|c| c.as_str().to_owned()),
            )
        })
        .collect();
    assert_eq!(seen, [(true, Some(cart)), (false, None), (false, None)]);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn forged_forwarded_for_does_not_escape_the_client_throttle_without_proxies() {
    // `dev` trusts no proxy: the socket peer is the client, whatever the header says
    let app = TestApp::spawn_configured(|c| {
        c.auth.throttle.max_failures_per_account = 100;
        c.auth.throttle.max_failures_per_client = 4;
    })
    .await;
    app.auth().register("victim@example.com").await;
    for i in 0..4 {
        let r = app
            .auth()
            .login_from(
                &format!("spray{i}@example.com"),
                "password1",
                &format!("203.0.113.{i}"),
            )
            .await;
        assert_eq!(r.status(), 401);
    }
    let r = app
        .auth()
        .login_from("victim@example.com", PASSWORD, "203.0.113.99")
        .await;
    assert_eq!(
        r.status(),
        429,
        "rotating X-Forwarded-For is the same client"
    );
    app.shutdown().await;
}
