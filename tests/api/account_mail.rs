//! Account mail over real HTTP: email verification and password reset with
//! the single-use tokens the mails carry (read from the mail requests auth
//! stages for the notifications service, and in one end-to-end journey from
//! the mail an SMTP server received), the sign-out everywhere a reset
//! brings, revocation seen by other instances on the same store, roles worked
//! out at every token issue, and an account whose registration died between
//! its identity and its profile.

use std::{
    sync::{Arc, OnceLock},
    time::Duration,
};

use chrono::Utc;
use jojomart::{
    app::Mode,
    auth::{
        revocation::REVOCATIONS, service::IDENTITIES, sessions::REFRESH_TOKENS,
        tokens::ACCOUNT_TOKENS,
    },
    users::service::USERS,
};
use jojomart_shared::{
    clock::FakeClock,
    conformance::faults::{FaultyStore, Op},
    store::{Container, Filter, Query},
};
use serde_json::{json, Value};

use crate::harness::{
    auth::PASSWORD, backend, catalog::product, error_fields, eventually, s, Backend, Spawn,
    TestApp, ADMIN_EMAIL,
};

/// A password other than [`PASSWORD`].
const NEW_PASSWORD: &str = "a brand new passphrase";

/// The contract's bound for a revocation to reach every instance.
const EVERY_INSTANCE: Duration = Duration::from_secs(5);

/// An app on a fake clock standing at now, and the clock.
async fn on_fake_clock() -> (TestApp, FakeClock) {
    let clock = FakeClock::new(Utc::now());
    let app = TestApp::spawn_with(Spawn {
        clock: Arc::new(clock.clone()),
        ..Spawn::default()
    })
    .await;
    (app, clock)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_verification_token_works_once_and_not_after_a_day() {
    let (app, clock) = on_fake_clock().await;
    app.auth().register("vera@example.com").await;
    let token = app
        .auth()
        .nth_verification_token("vera@example.com", 1)
        .await;

    let r = app.auth().verify_email("not-a-token").await;
    assert_eq!(r.status(), 400);
    let problem: Value = r.json().await.unwrap();
    assert_eq!(error_fields(&problem), ["token"]);

    assert_eq!(app.auth().verify_email(&token).await.status(), 204);
    assert_eq!(
        app.auth().verify_email(&token).await.status(),
        400,
        "a used token"
    );

    app.auth().register("late@example.com").await;
    let late = app
        .auth()
        .nth_verification_token("late@example.com", 1)
        .await;
    clock.advance(chrono::Duration::hours(24) + chrono::Duration::seconds(1));
    assert_eq!(
        app.auth().verify_email(&late).await.status(),
        400,
        "an expired token"
    );
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_says_whether_its_email_is_verified() {
    // the storefront offers "send a new link" only to an unverified shopper
    let app = TestApp::spawn().await;
    let registered = app.auth().register("unsure@example.com").await;
    assert_eq!(registered["user"]["emailVerified"], json!(false));
    assert_eq!(
        app.auth().session("unsure@example.com").await["user"]["emailVerified"],
        json!(false)
    );

    let token = app
        .auth()
        .nth_verification_token("unsure@example.com", 1)
        .await;
    assert_eq!(app.auth().verify_email(&token).await.status(), 204);
    let session = app.auth().session("unsure@example.com").await;
    assert_eq!(session["user"]["emailVerified"], json!(true));
    let refreshed = app.auth().refresh(s(&session, "refreshToken")).await;
    assert_eq!(refreshed.status(), 200);
    let refreshed: Value = refreshed.json().await.unwrap();
    assert_eq!(refreshed["user"]["emailVerified"], json!(true));
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_concurrent_uses_of_one_token_give_one_success() {
    let app = TestApp::spawn().await;
    app.auth().register("twice@example.com").await;
    let token = app
        .auth()
        .nth_verification_token("twice@example.com", 1)
        .await;
    let auth = app.auth();
    let (a, b) = tokio::join!(auth.verify_email(&token), auth.verify_email(&token));
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [204, 400]);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn resending_mails_a_new_token_until_verified_and_is_throttled() {
    let app = TestApp::spawn().await;
    let access = app.auth().token("resend@example.com", "Resend").await;
    assert_eq!(app.auth().resend_verification(&access).await.status(), 202);
    let second = app
        .auth()
        .nth_verification_token("resend@example.com", 2)
        .await;
    assert_eq!(app.auth().verify_email(&second).await.status(), 204);
    assert_eq!(
        app.auth().resend_verification(&access).await.status(),
        409,
        "already verified"
    );

    let other = app.auth().token("often@example.com", "Often").await;
    for _ in 0..2 {
        assert_eq!(app.auth().resend_verification(&other).await.status(), 202);
    }
    let r = app.auth().resend_verification(&other).await;
    assert_eq!(r.status(), 429, "a fourth mail within the hour");
    assert!(r.headers().contains_key("retry-after"));
    assert_eq!(
        app.auth()
            .verification_tokens("often@example.com")
            .await
            .len(),
        3
    );
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_password_reset_changes_the_password_once_and_ends_every_session() {
    let app = TestApp::spawn().await;
    let email = "reset@example.com";
    let registered = app.auth().register(email).await;
    let other_device = app.auth().session(email).await;
    let old_access = s(&registered, "accessToken");
    assert_eq!(app.auth().whoami(old_access).await.status(), 200);

    let r = app.auth().request_password_reset(email).await;
    assert_eq!(r.status(), 202);
    let token = app.auth().nth_reset_token(email, 1).await;

    // a weak password is refused without spending the token
    let r = app.auth().confirm_password_reset(&token, "short").await;
    assert_eq!(r.status(), 400);
    let problem: Value = r.json().await.unwrap();
    assert_eq!(error_fields(&problem), ["newPassword"]);

    let r = app
        .auth()
        .confirm_password_reset(&token, NEW_PASSWORD)
        .await;
    assert_eq!(r.status(), 204);
    assert_eq!(
        app.auth()
            .confirm_password_reset(&token, "yet another passphrase")
            .await
            .status(),
        400,
        "a used token"
    );

    assert_eq!(app.auth().login(email, PASSWORD).await.status(), 401);
    for session in [&registered, &other_device] {
        assert_eq!(
            app.auth()
                .refresh(s(session, "refreshToken"))
                .await
                .status(),
            401,
            "every refresh token of the account stops working"
        );
        assert_eq!(
            app.auth().whoami(s(session, "accessToken")).await.status(),
            401,
            "every access token issued before the reset is refused"
        );
    }
    let r = app.auth().login(email, NEW_PASSWORD).await;
    assert_eq!(r.status(), 200);
    let fresh: Value = r.json().await.unwrap();
    assert_eq!(
        app.auth().whoami(s(&fresh, "accessToken")).await.status(),
        200
    );
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reset_token_expires_after_an_hour() {
    let (app, clock) = on_fake_clock().await;
    app.auth().register("hour@example.com").await;
    app.auth().request_password_reset("hour@example.com").await;
    let token = app.auth().nth_reset_token("hour@example.com", 1).await;
    clock.advance(chrono::Duration::hours(1) + chrono::Duration::seconds(1));
    let r = app
        .auth()
        .confirm_password_reset(&token, NEW_PASSWORD)
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        app.auth()
            .login("hour@example.com", PASSWORD)
            .await
            .status(),
        200,
        "the password did not change"
    );
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_email_gets_the_same_answer_and_no_mail() {
    let app = TestApp::spawn().await;
    app.auth().register("known@example.com").await;
    let unknown = app
        .auth()
        .request_password_reset("nobody@example.com")
        .await;
    let known = app.auth().request_password_reset("known@example.com").await;
    assert_eq!(unknown.status(), 202);
    assert_eq!(known.status(), 202);
    let content_type = |r: &reqwest::Response| r.headers().get("content-type").cloned();
    assert_eq!(content_type(&unknown), content_type(&known));
    assert_eq!(
        unknown.bytes().await.unwrap(),
        known.bytes().await.unwrap(),
        "the same body"
    );
    app.auth().nth_reset_token("known@example.com", 1).await;
    assert!(app
        .auth()
        .reset_tokens("nobody@example.com")
        .await
        .is_empty());
    app.shutdown().await;
}

/// Two apps on one store (`b` declared first, so it stops before `a`'s
/// data dir goes away).
async fn two_instances() -> (TestApp, TestApp) {
    let a = TestApp::spawn().await;
    let b = on_store_of(&a, Spawn::default()).await;
    (b, a)
}

/// An app on `a`'s store: the same SQLite file opened again (as a second
/// `jojomart dev` on one data dir does), or the same Cosmos database and queues.
async fn on_store_of(a: &TestApp, spawn: Spawn) -> TestApp {
    if backend() == Backend::Sqlite {
        TestApp::spawn_with(Spawn {
            data_dir: Some(a.data_dir().to_path_buf()),
            ..spawn
        })
        .await
    } else {
        let adapters = a.state.adapters();
        TestApp::spawn_with(Spawn {
            adapters_of: Some((adapters.store.clone(), adapters.queue.clone())),
            ..spawn
        })
        .await
    }
}

/// Waits until `token` gets a 401 from `app`'s probe.
async fn refused_within(app: &TestApp, token: &str, timeout: Duration, what: &str) {
    eventually(timeout, what, || async {
        (app.auth().whoami(token).await.status() == 401).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reset_on_one_instance_voids_old_tokens_on_the_others_even_new_ones() {
    let (b, a) = two_instances().await;
    let email = "everywhere@example.com";
    let registered = a.auth().register(email).await;
    let old = s(&registered, "accessToken");
    assert_eq!(
        b.auth().whoami(old).await.status(),
        200,
        "b knows the token"
    );

    a.auth().request_password_reset(email).await;
    let token = a.auth().nth_reset_token(email, 1).await;
    assert_eq!(
        a.auth()
            .confirm_password_reset(&token, NEW_PASSWORD)
            .await
            .status(),
        204
    );
    assert_eq!(
        a.auth().whoami(old).await.status(),
        401,
        "at once where it happened"
    );
    refused_within(
        &b,
        old,
        EVERY_INSTANCE,
        "the other instance to refuse the token",
    )
    .await;

    let c = on_store_of(&a, Spawn::default()).await;
    assert_eq!(
        c.auth().whoami(old).await.status(),
        401,
        "an instance started after the reset"
    );
    let fresh: Value = c
        .auth()
        .login(email, NEW_PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        b.auth().whoami(s(&fresh, "accessToken")).await.status(),
        200
    );
    c.shutdown().await;
    b.shutdown().await;
    a.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_accounts_old_token_cannot_post_a_review_on_any_instance() {
    let (b, a) = two_instances().await;
    let admin = a.auth().admin().await;
    let lamp = a
        .catalog()
        .create_product(&admin, &product("LAMP-9", "Desk Lamp", "", "home", 1999, 3))
        .await;
    let lamp = s(&lamp, "id").to_owned();
    let token = a.auth().token("leaver@example.com", "Leaver").await;
    assert_eq!(b.auth().whoami(&token).await.status(), 200);

    assert_eq!(a.users().delete_me(&token).await.status(), 204);
    refused_within(
        &b,
        &token,
        EVERY_INSTANCE,
        "the other instance to refuse the token",
    )
    .await;
    assert_eq!(b.reviews().post(&token, &lamp, 5).await.status(), 401);
    assert_eq!(a.reviews().post(&token, &lamp, 5).await.status(), 401);
    b.shutdown().await;
    a.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn reusing_a_refresh_token_voids_the_users_access_tokens_on_the_others() {
    let (b, a) = two_instances().await;
    let first = a.auth().register("stolen@example.com").await;
    let rotated = a.auth().refresh(s(&first, "refreshToken")).await;
    assert_eq!(rotated.status(), 200);
    let rotated: Value = rotated.json().await.unwrap();
    let access = s(&rotated, "accessToken");
    assert_eq!(b.auth().whoami(access).await.status(), 200);

    // the stolen first refresh token comes back: the family dies, and with it its access tokens
    assert_eq!(
        a.auth().refresh(s(&first, "refreshToken")).await.status(),
        401
    );
    refused_within(
        &b,
        access,
        EVERY_INSTANCE,
        "the other instance to refuse the token",
    )
    .await;
    b.shutdown().await;
    a.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_admin_role_follows_the_configured_list_at_every_refresh() {
    let a = TestApp::spawn().await;
    let boss = a.auth().register(ADMIN_EMAIL).await;
    assert_eq!(boss["user"]["roles"], json!(["customer", "admin"]));

    // the same store, the email taken off the list
    let b = on_store_of(
        &a,
        Spawn {
            configure: Box::new(|c| c.admin_emails.clear()),
            ..Spawn::default()
        },
    )
    .await;
    let r = b.auth().refresh(s(&boss, "refreshToken")).await;
    assert_eq!(r.status(), 200);
    let demoted: Value = r.json().await.unwrap();
    assert_eq!(demoted["user"]["roles"], json!(["customer"]));
    assert_eq!(
        b.auth()
            .admin_probe(s(&demoted, "accessToken"))
            .await
            .status(),
        403
    );
    let r = b.auth().login(ADMIN_EMAIL, PASSWORD).await;
    let login: Value = r.json().await.unwrap();
    assert_eq!(login["user"]["roles"], json!(["customer"]));

    // back where it is listed
    let r = a.auth().refresh(s(&demoted, "refreshToken")).await;
    let promoted: Value = r.json().await.unwrap();
    assert_eq!(promoted["user"]["roles"], json!(["customer", "admin"]));
    b.shutdown().await;
    a.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn under_serve_the_admin_role_needs_a_verified_email() {
    let app = TestApp::spawn_with(Spawn {
        mode: Mode::Serve,
        ..Spawn::default()
    })
    .await;
    let boss = app.auth().register(ADMIN_EMAIL).await;
    assert_eq!(
        boss["user"]["roles"],
        json!(["customer"]),
        "not verified yet"
    );
    assert_eq!(
        app.auth()
            .admin_probe(s(&boss, "accessToken"))
            .await
            .status(),
        403
    );
    let token = app.auth().nth_verification_token(ADMIN_EMAIL, 1).await;
    assert_eq!(app.auth().verify_email(&token).await.status(), 204);
    let r = app.auth().refresh(s(&boss, "refreshToken")).await;
    let verified: Value = r.json().await.unwrap();
    assert_eq!(verified["user"]["roles"], json!(["customer", "admin"]));
    assert_eq!(
        app.auth()
            .admin_probe(s(&verified, "accessToken"))
            .await
            .status(),
        200
    );
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_account_whose_profile_was_never_written_is_repaired_and_can_be_closed() {
    let slot: Arc<OnceLock<Arc<FaultyStore>>> = Arc::new(OnceLock::new());
    let app = TestApp::spawn_with(Spawn {
        wrap_store: {
            let slot = slot.clone();
            Box::new(move |store| {
                let faulty = FaultyStore::wrap(store);
                let _ = slot.set(faulty.clone());
                faulty
            })
        },
        ..Spawn::default()
    })
    .await;
    let faults = slot.get().expect("the store was wrapped").clone();
    // the process "dies" after the identity: no profile, and no undo either
    faults
        .fail_next(Op::Create, USERS, 1)
        .fail_next(Op::Delete, IDENTITIES, 1);
    let r = app
        .auth()
        .try_register(
            &json!({"email": "half@example.com", "password": PASSWORD, "name": "Half Made"}),
        )
        .await;
    assert!(r.status().is_server_error(), "{}", r.status());
    assert_eq!(faults.injected(), 2, "both faults fired");

    let r = app.auth().login("half@example.com", PASSWORD).await;
    assert_eq!(r.status(), 200);
    let session: Value = r.json().await.unwrap();
    assert_eq!(s(&session["user"], "name"), "Half Made");
    let access = s(&session, "accessToken");
    let me = app.users().me_json(access).await;
    assert_eq!(s(&me, "name"), "Half Made", "the profile is back");

    assert_eq!(app.users().delete_me(access).await.status(), 204);
    assert_eq!(
        app.auth()
            .login("half@example.com", PASSWORD)
            .await
            .status(),
        401,
        "closed"
    );
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn lapsed_tokens_and_sessions_are_swept_where_the_store_keeps_them() {
    if backend() != Backend::Sqlite {
        return;
    }
    let (app, clock) = on_fake_clock().await;
    let registered = app.auth().register("sweep@example.com").await;
    app.auth()
        .nth_verification_token("sweep@example.com", 1)
        .await;
    let rotated = app.auth().refresh(s(&registered, "refreshToken")).await;
    assert_eq!(rotated.status(), 200);
    let rotated: Value = rotated.json().await.unwrap();
    app.auth().logout(s(&rotated, "refreshToken")).await;
    let store = app.state.adapters().store.clone();
    let count = |container: &'static Container| {
        let store = store.clone();
        async move {
            store
                .query(
                    &Query::new(container)
                        .filter(Filter::Ne(Filter::field("kind"), json!("outbox")))
                        .limit(1000),
                )
                .await
                .unwrap()
                .items
                .len()
        }
    };
    assert!(count(REFRESH_TOKENS).await >= 3, "a family and its tokens");
    assert_eq!(count(ACCOUNT_TOKENS).await, 1);

    let sweep = || async {
        let r = app
            .post_json("/admin/functions/sweep-auth", &json!({"input": ""}))
            .await;
        assert_eq!(r.status(), 202);
    };
    sweep().await;
    assert!(count(REFRESH_TOKENS).await >= 3, "nothing lapsed yet");

    clock.advance(chrono::Duration::days(40));
    sweep().await;
    eventually(Duration::from_secs(10), "the sweep", || async {
        let left =
            count(REFRESH_TOKENS).await + count(ACCOUNT_TOKENS).await + count(REVOCATIONS).await;
        (left == 0).then_some(())
    })
    .await;
    assert!(
        app.auth()
            .verification_tokens("sweep@example.com")
            .await
            .is_empty(),
        "the sent mail request went with its token"
    );
    app.shutdown().await;
}

/// The token in the first link of `text` that goes to `path` (`/verify-email`).
fn token_in_link(text: &str, path: &str) -> String {
    let start = text
        .find(&format!("{path}?token="))
        .unwrap_or_else(|| panic!("no {path} link in {text}"))
        + path.len()
        + "?token=".len();
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

/// The whole journey a person makes, with the tokens read from the mail that
/// reached the SMTP server, on two instances sharing one store: verify the
/// address, then reset the password; each link works once, and afterwards the
/// old password and every old token are refused on both instances.
#[tokio::test(flavor = "multi_thread")]
async fn verification_and_reset_work_end_to_end_from_the_received_mail() {
    let smtp = crate::harness::smtp::SmtpServer::start().await;
    let a = TestApp::spawn_with_smtp(&smtp, |_| {}).await;
    let url = smtp.url();
    let b = on_store_of(
        &a,
        Spawn {
            configure: Box::new(move |c| {
                c.mail.smtp =
                    Some(jojomart_shared::config::SmtpSettings::parse(&url).expect("SMTP URL"));
            }),
            ..Spawn::default()
        },
    )
    .await;
    let email = "journey@example.com";
    let first = a.auth().register(email).await;

    // verification: the link in the mail, used on the other instance, works once
    let mail = smtp.wait_for("Verify your email address").await;
    assert_eq!(mail.to, [email]);
    let token = token_in_link(&mail.text, "/verify-email");
    assert!(mail.html.contains(&token), "{}", mail.html);
    assert_eq!(b.auth().verify_email(&token).await.status(), 204);
    let again = b.auth().verify_email(&token).await;
    assert_eq!(again.status(), 400);
    let problem: Value = again.json().await.unwrap();
    assert_eq!(error_fields(&problem), ["token"]);

    // a second session, on the other instance
    let second = b.auth().session(email).await;

    // reset: requested on one instance, confirmed on the other, once
    assert_eq!(a.auth().request_password_reset(email).await.status(), 202);
    let mail = smtp.wait_for("Reset your password").await;
    assert_eq!(mail.to, [email]);
    let token = token_in_link(&mail.text, "/reset-password");
    assert_eq!(
        b.auth()
            .confirm_password_reset(&token, NEW_PASSWORD)
            .await
            .status(),
        204
    );
    assert_eq!(
        a.auth()
            .confirm_password_reset(&token, "yet another passphrase")
            .await
            .status(),
        400,
        "a used reset link"
    );

    // the old password is refused everywhere, the new one works
    for app in [&a, &b] {
        assert_eq!(app.auth().login(email, PASSWORD).await.status(), 401);
    }
    assert_eq!(a.auth().login(email, NEW_PASSWORD).await.status(), 200);
    // every old access token stops working on both instances within 5 s,
    // and every old refresh token is refused
    for session in [&first, &second] {
        for app in [&a, &b] {
            refused_within(
                app,
                s(session, "accessToken"),
                EVERY_INSTANCE,
                "an access token from before the reset refused",
            )
            .await;
        }
        assert_eq!(
            b.auth().refresh(s(session, "refreshToken")).await.status(),
            401
        );
    }
    b.shutdown().await;
    a.shutdown().await;
}
