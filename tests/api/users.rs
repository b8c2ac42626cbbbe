//! The users service over real HTTP: profile and preferences, addresses, the
//! export, and closing an account (sign-in, refresh and export gone; the
//! erasure message drained by `erase-user`, idempotently).

use std::time::Duration;

use jojomart::{
    auth::{service::IDENTITIES, sessions::REFRESH_TOKENS},
    users::{erasure::USER_ERASURE, service::USERS},
    wire::{QueueMetadata, QueueTrigger},
};
use jojomart_shared::{
    queue::poison_queue,
    store::{Container, Filter, Query},
};
use serde_json::{json, Value};

use crate::harness::{auth::PASSWORD, error_fields, eventually, s, users::address, TestApp};

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread")]
async fn the_profile_starts_with_defaults_and_can_be_changed() {
    let app = TestApp::spawn().await;
    let session = app.auth().register("ada@example.com").await;
    let token = s(&session, "accessToken");

    assert_eq!(app.get("/api/users/me").await.status(), 401, "no token");
    let me = app.users().me_json(token).await;
    assert_eq!(me["id"], session["user"]["id"]);
    assert_eq!(s(&me, "email"), "ada@example.com");
    assert_eq!(s(&me, "name"), "Test User");
    assert_eq!(me["roles"], json!(["customer"]));
    assert_eq!(
        me["preferences"],
        json!({"marketingEmails": false, "orderUpdates": true})
    );
    assert_eq!(me["addresses"], json!([]));

    let r = app
        .users()
        .update_me(
            token,
            &json!({"name": " Ada King ", "preferences": {"marketingEmails": true}}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let me: Value = r.json().await.unwrap();
    assert_eq!(s(&me, "name"), "Ada King");
    assert_eq!(
        me["preferences"],
        json!({"marketingEmails": true, "orderUpdates": true})
    );

    let r = app.users().update_me(token, &json!({"name": ""})).await;
    assert_eq!(r.status(), 400);
    let problem: Value = r.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "name");
    let r = app
        .users()
        .update_me(token, &json!({"preferences": {"orderUpdates": "yes"}}))
        .await;
    assert_eq!(r.status(), 400, "wrong type");

    // and a new login sees the new name
    let again = app.auth().session("ada@example.com").await;
    assert_eq!(s(&again["user"], "name"), "Ada King");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn addresses_are_validated_added_and_deleted() {
    let app = TestApp::spawn().await;
    let session = app.auth().register("home@example.com").await;
    let token = s(&session, "accessToken");

    let r = app.users().add_address(token, &address()).await;
    assert_eq!(r.status(), 201);
    let added: Value = r.json().await.unwrap();
    let id = s(&added, "id").to_owned();
    assert_eq!(s(&added, "country"), "GB", "normalised");
    assert_eq!(s(&added, "postalCode"), "SW1Y 4JH");

    let mut bad = address();
    bad["country"] = json!("XX");
    bad["city"] = json!("   ");
    let r = app.users().add_address(token, &bad).await;
    assert_eq!(r.status(), 400);
    let problem: Value = r.json().await.unwrap();
    assert_eq!(error_fields(&problem), ["city", "country"]);
    let r = app
        .users()
        .add_address(
            token,
            &json!({"name": "A", "city": "B", "postalCode": "1", "country": "DE"}),
        )
        .await;
    assert_eq!(r.status(), 400, "line1 is required");

    let me = app.users().me_json(token).await;
    assert_eq!(me["addresses"], json!([added]));

    assert_eq!(app.users().delete_address(token, &id).await.status(), 204);
    assert_eq!(app.users().delete_address(token, &id).await.status(), 404);
    let me = app.users().me_json(token).await;
    assert_eq!(me["addresses"], json!([]));

    // someone else's address id is simply not found
    let other = app.auth().register("other@example.com").await;
    let r = app.users().add_address(token, &address()).await;
    let mine: Value = r.json().await.unwrap();
    assert_eq!(
        app.users()
            .delete_address(s(&other, "accessToken"), s(&mine, "id"))
            .await
            .status(),
        404
    );
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_export_holds_everything_about_the_caller_and_no_secret() {
    let app = TestApp::spawn().await;
    let session = app.auth().register("export@example.com").await;
    let token = s(&session, "accessToken");
    app.users().add_address(token, &address()).await;
    // the registration's verification mail, once sent, is in the export (its token is not)
    let mail_token = app
        .auth()
        .nth_verification_token("export@example.com", 1)
        .await;
    eventually(
        Duration::from_secs(10),
        "the verification mail sent",
        || async {
            let sent = app.notifications().all(token).await;
            (sent.len() == 1 && sent[0]["status"] == "sent").then_some(())
        },
    )
    .await;

    let r = app.users().export(token).await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    let text = r.text().await.unwrap();
    let export: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(export["profile"]["id"], session["user"]["id"]);
    assert_eq!(s(&export["profile"], "email"), "export@example.com");
    assert_eq!(export["addresses"].as_array().unwrap().len(), 1);
    assert_eq!(s(&export["account"], "email"), "export@example.com");
    assert_eq!(export["account"]["sessions"].as_array().unwrap().len(), 1);
    for empty in ["orders", "reviews"] {
        assert_eq!(export[empty], json!([]), "{empty}");
    }
    let mails = export["notifications"].as_array().unwrap();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0]["kind"], "account.verification-requested");
    for secret in [
        "argon2",
        "passwordHash",
        s(&session, "refreshToken"),
        mail_token.as_str(),
    ] {
        assert!(!text.contains(secret), "the export leaks {secret}");
    }
    app.shutdown().await;
}

async fn count(app: &TestApp, container: &Container, user_id: &str) -> usize {
    let query = Query::new(container).filter(Filter::eq("userId", user_id));
    app.state
        .adapters()
        .store
        .query(&query)
        .await
        .unwrap()
        .items
        .len()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_account_cannot_log_in_or_refresh_and_its_data_is_erased() {
    let app = TestApp::spawn_configured(|c| {
        c.delivery.max_polling_interval = Duration::from_millis(100);
    })
    .await;
    let session = app.auth().register("leaving@example.com").await;
    let user_id = s(&session["user"], "id").to_owned();
    let token = s(&session, "accessToken").to_owned();
    let other_session = app.auth().session("leaving@example.com").await;
    app.users().add_address(&token, &address()).await;
    let stays = app.auth().register("stays@example.com").await;

    let r = app.users().delete_me(&token).await;
    assert_eq!(r.status(), 204);

    // at once: no login (the same answer as a wrong password), no refresh, no export
    let r = app.auth().login("leaving@example.com", PASSWORD).await;
    assert_eq!(r.status(), 401);
    let r = app
        .auth()
        .login("leaving@example.com", "wrong password")
        .await;
    assert_eq!(r.status(), 401);
    for refresh_token in [
        s(&session, "refreshToken"),
        s(&other_session, "refreshToken"),
    ] {
        assert_eq!(app.auth().refresh(refresh_token).await.status(), 401);
    }
    let r = app.users().export(&token).await;
    assert!(
        matches!(r.status().as_u16(), 401 | 404),
        "export answered {}",
        r.status()
    );
    assert_eq!(
        app.users().me(&token).await.status(),
        401,
        "its access token is refused"
    );

    // the erasure message is consumed and nothing of the user is left
    let queue = app.state.adapters().queue.clone();
    eventually(WAIT, "user-erasure drained", || {
        let q = queue.clone();
        async move { (q.approximate_count(USER_ERASURE).await.ok()? == 0).then_some(()) }
    })
    .await;
    assert_eq!(
        queue
            .approximate_count(&poison_queue(USER_ERASURE))
            .await
            .unwrap_or(0),
        0
    );
    // the relayed erasure event leaves nothing of the user in any container
    eventually(WAIT, "the user's documents erased", || async {
        for container in [IDENTITIES, REFRESH_TOKENS, USERS] {
            if count(&app, container, &user_id).await != 0 {
                return None;
            }
        }
        Some(())
    })
    .await;
    // other accounts are untouched
    let me = app.users().me(s(&stays, "accessToken")).await;
    assert_eq!(me.status(), 200);

    // the email is free again, for a brand-new account with nothing of the old one
    let again = app.auth().register("leaving@example.com").await;
    assert_ne!(again["user"]["id"], session["user"]["id"]);
    let export: Value = app
        .users()
        .export(s(&again, "accessToken"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(export["addresses"], json!([]));
    app.shutdown().await;
}

fn erasure_invocation(message: &Value) -> Value {
    let now = chrono::Utc::now();
    let trigger = QueueTrigger {
        message: message.to_string(),
        metadata: QueueMetadata {
            dequeue_count: 1,
            expiration_time: now + chrono::Duration::days(7),
            id: uuid::Uuid::new_v4().to_string(),
            insertion_time: now,
            next_visible_time: now,
            pop_receipt: "receipt".into(),
            sys: None,
        },
    };
    serde_json::to_value(trigger.to_request()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn erase_user_is_idempotent() {
    let app = TestApp::spawn().await;
    let session = app.auth().register("twice@example.com").await;
    let user_id = s(&session["user"], "id").to_owned();
    let event_id = uuid::Uuid::new_v4().to_string();
    let message = json!({"id": event_id, "kind": "user.erasure-requested", "version": 1,
                         "occurredAt": chrono::Utc::now(), "data": {"userId": user_id}});
    // delivered twice, as at-least-once delivery may: the second run finds nothing and succeeds
    for delivery in 1..=2 {
        let r = app
            .post_json("/erase-user", &erasure_invocation(&message))
            .await;
        assert_eq!(r.status(), 200, "delivery {delivery}");
        let answer: Value = r.json().await.unwrap();
        assert!(answer["Logs"][0].as_str().unwrap().contains(&event_id));
    }
    for container in [IDENTITIES, REFRESH_TOKENS, USERS] {
        assert_eq!(
            count(&app, container, &user_id).await,
            0,
            "{}",
            container.name
        );
    }
    assert_eq!(
        app.auth()
            .login("twice@example.com", PASSWORD)
            .await
            .status(),
        401
    );
    assert_eq!(
        app.auth()
            .refresh(s(&session, "refreshToken"))
            .await
            .status(),
        401
    );

    // a message that is not an erasure request fails, so the host retries and poisons it
    let r = app
        .post_json(
            "/erase-user",
            &erasure_invocation(&json!({"id": uuid::Uuid::new_v4().to_string(),
                "kind": "something.else", "version": 1, "occurredAt": chrono::Utc::now(), "data": {}})),
        )
        .await;
    assert_eq!(r.status(), 400);
    app.shutdown().await;
}
