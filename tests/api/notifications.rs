//! The notifications service over real HTTP, mailing an in-process SMTP
//! server ([`crate::harness::smtp`]): order mail after a checkout (recipient,
//! subject, order number and lines in both parts, HTML escaped), the shipped
//! mail's tracking number, one mail for a message delivered twice, nothing
//! when order updates are off, retries while the server is down and exactly
//! one mail once it is back, a refused address recorded as failed and not
//! retried, account mail with its token link, `GET /api/notifications`, the
//! export and erasure, and `jojomart dev`'s `/dev/mail` pages.

use std::time::Duration;

use jojomart::{
    app::Mode,
    notifications::{model::NOTIFICATIONS, QUEUE},
};
use jojomart_shared::store::{Filter, Query};
use serde_json::{json, Value};

use crate::harness::{
    catalog::product,
    eventually,
    notifications::{account_data, event, order_data},
    s,
    smtp::SmtpServer,
    Spawn, TestApp,
};

const WAIT: Duration = Duration::from_secs(30);
const SCRIPT: &str = "<script>alert(1)</script>";

/// HTML text with the entities our templates write (`&#x2f;` for `/`,
/// `&amp;`) turned back into characters, as a browser reads an attribute.
fn unescape(html: &str) -> String {
    html.replace("&#x2f;", "/").replace("&amp;", "&")
}

/// Creates a product named `name` at 19.99 with plenty of stock; its id.
async fn product_named(app: &TestApp, admin: &str, sku: &str, name: &str) -> String {
    let p = app
        .catalog()
        .create_product(admin, &product(sku, name, "A thing", "misc", 1999, 100))
        .await;
    s(&p, "id").to_owned()
}

/// Waits until the notifications queue and its poison queue are both empty
/// (every message handled and deleted), then checks the poison queue stayed empty.
async fn drained(app: &TestApp) {
    app.drained(QUEUE).await;
}

/// The order notifications of the holder of `token`, once there are `n` of
/// them and none is pending.
async fn settled_order_notifications(app: &TestApp, token: &str, n: usize) -> Vec<Value> {
    eventually(WAIT, "the order notifications settled", || async {
        let items: Vec<Value> = app
            .notifications()
            .all(token)
            .await
            .into_iter()
            .filter(|i| s(i, "kind").starts_with("order."))
            .collect();
        (items.len() == n && items.iter().all(|i| i["status"] != "pending")).then_some(items)
    })
    .await
}

async fn stored_notifications(app: &TestApp, partition: &str) -> usize {
    app.state
        .adapters()
        .store
        .query(
            &Query::new(NOTIFICATIONS)
                .partition(partition)
                .filter(Filter::eq("doc", "notification"))
                .limit(100),
        )
        .await
        .expect("query")
        .items
        .len()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_checkout_mails_the_customer_the_order_in_both_parts_with_names_escaped() {
    let smtp = SmtpServer::start().await;
    let app = TestApp::spawn_with_smtp(&smtp, |c| {
        c.delivery.max_polling_interval = Duration::from_millis(100);
    })
    .await;
    let admin = app.auth().admin().await;
    let product = product_named(&app, &admin, "XSS-1", SCRIPT).await;
    let token = app.auth().token("ada@example.com", "Ada Lovelace").await;
    let (status, order) = app.orders().buy(&token, &product, 2, "pm_card_visa").await;
    assert_eq!(status, 201, "{order}");
    let order_id = s(&order, "id").to_owned();

    let placed = smtp.wait_for("We received your order").await;
    let paid = smtp.wait_for("Payment received").await;
    for mail in [&placed, &paid] {
        assert_eq!(mail.to, ["ada@example.com"]);
        assert!(mail.subject.contains(&order_id), "{}", mail.subject);
        for part in [&mail.text, &mail.html] {
            assert!(part.contains(&order_id), "the order number in {part}");
            assert!(part.contains("EUR 39.98"), "the line total in {part}");
            assert!(part.contains("Ada Lovelace"), "the greeting in {part}");
        }
        assert!(
            mail.text.contains(&format!("{SCRIPT} × 2")),
            "{}",
            mail.text
        );
        assert!(
            mail.html
                .contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;")
                || mail.html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "the product name escaped in {}",
            mail.html
        );
        assert!(!mail.html.contains("<script>"), "{}", mail.html);
        assert!(
            unescape(&mail.html).contains(&format!("href=\"{}/orders/{order_id}\"", app.base)),
            "a link to the order in {}",
            mail.html
        );
    }

    // shipping mails the tracking number, in both parts
    let (status, shipped) = app
        .orders()
        .set_status(
            &admin,
            &order_id,
            &json!({"status": "shipped", "trackingNumber": "1Z999AA10123456784"}),
        )
        .await;
    assert_eq!(status, 200, "{shipped}");
    let mail = smtp.wait_for("has shipped").await;
    assert!(mail.text.contains("1Z999AA10123456784"), "{}", mail.text);
    assert!(mail.html.contains("1Z999AA10123456784"), "{}", mail.html);
    drained(&app).await;
    assert_eq!(smtp.with_subject(&order_id).len(), 3, "one mail per event");

    // the caller's notifications, newest first, paged
    let items = settled_order_notifications(&app, &token, 3).await;
    assert_eq!(items[0]["kind"], "order.shipped");
    for item in &items {
        assert_eq!(item["channel"], "email");
        assert_eq!(item["status"], "sent");
        assert!(s(item, "subject").contains(&order_id));
    }
    let times: Vec<&str> = items.iter().map(|i| s(i, "createdAt")).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
    let (status, page) = app.notifications().list(Some(&token), "?limit=1").await;
    assert_eq!(status, 200);
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert!(page["nextCursor"].is_string(), "{page}");
    let paged = app.all_pages_as(&token, "/api/notifications?limit=1").await;
    let everything = app.notifications().all(&token).await;
    assert_eq!(paged, everything, "pages of one add up to the whole list");
    let paged_orders: Vec<Value> = paged
        .into_iter()
        .filter(|i| s(i, "kind").starts_with("order."))
        .collect();
    assert_eq!(paged_orders, items);
    // another user sees only their own (their verification mail), none of these
    let other = app.auth().token("bob@example.com", "Bob").await;
    let theirs = app.notifications().all(&other).await;
    assert!(
        theirs.iter().all(|i| !s(i, "subject").contains(&order_id)),
        "{theirs:?}"
    );
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_list_needs_a_token_and_a_cursor_we_issued() {
    let app = TestApp::spawn().await;
    let (status, _) = app.notifications().list(None, "").await;
    assert_eq!(status, 401);
    let token = app.auth().token("ada@example.com", "Ada").await;
    let (status, problem) = app
        .notifications()
        .list(Some(&token), "?cursor=not-ours")
        .await;
    assert_eq!(status, 400, "{problem}");
    let (status, _) = app.notifications().list(Some(&token), "?limit=101").await;
    assert_eq!(status, 400);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_message_delivered_twice_sends_one_mail() {
    let smtp = SmtpServer::start().await;
    let app = TestApp::spawn_with_smtp(&smtp, |_| {}).await;
    let session = app
        .auth()
        .register_named("twice@example.com", "Tw Ice")
        .await;
    let user = s(&session["user"], "id");
    let token = s(&session, "accessToken");
    let message = event(
        "order.paid",
        order_data(
            "ord-twice",
            Some(user),
            "twice@example.com",
            "paid",
            &[("Mug", 1250, 1)],
        ),
    );
    for delivery in 1..=2 {
        let (status, answer) = app.notifications().deliver(&message, delivery).await;
        assert_eq!(status, 200, "delivery {delivery}: {answer}");
    }
    let mails = smtp.with_subject("ord-twice");
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0].to, ["twice@example.com"]);
    let items = app.notifications().order_mail(token).await;
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["status"], "sent");
    assert_eq!(
        mails[0].message_id,
        format!("{}@jojomart", s(&items[0], "id")),
        "the Message-ID is the notification's, the same on any resend"
    );

    // a guest order's mail goes to the order's email, once, and into no account
    let guest = event(
        "order.placed",
        order_data(
            "ord-guest",
            None,
            "guest@example.com",
            "paid",
            &[("Mug", 1250, 1)],
        ),
    );
    for delivery in 1..=2 {
        let (status, _) = app.notifications().deliver(&guest, delivery).await;
        assert_eq!(status, 200);
    }
    let mails = smtp.with_subject("ord-guest");
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, ["guest@example.com"]);
    assert_eq!(stored_notifications(&app, "guest-ord-guest").await, 1);
    assert_eq!(app.notifications().order_mail(token).await.len(), 1);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn no_order_mail_when_order_updates_are_off_but_account_mail_still_goes() {
    let smtp = SmtpServer::start().await;
    let app = TestApp::spawn_with_smtp(&smtp, |_| {}).await;
    let session = app
        .auth()
        .register_named("quiet@example.com", "Quiet")
        .await;
    let user = s(&session["user"], "id");
    let token = s(&session, "accessToken");
    let r = app
        .users()
        .update_me(token, &json!({"preferences": {"orderUpdates": false}}))
        .await;
    assert_eq!(r.status(), 200);
    for kind in ["order.placed", "order.paid", "order.shipped"] {
        let message = event(
            kind,
            order_data(
                "ord-quiet",
                Some(user),
                "quiet@example.com",
                "paid",
                &[("Mug", 1250, 1)],
            ),
        );
        let (status, answer) = app.notifications().deliver(&message, 1).await;
        assert_eq!(status, 200, "{answer}");
    }
    assert_eq!(smtp.with_subject("ord-quiet").len(), 0, "no order mail");
    let items = app.notifications().order_mail(token).await;
    assert_eq!(items.len(), 3);
    assert!(items.iter().all(|i| i["status"] == "skipped"), "{items:?}");

    let message = event(
        "account.password-reset-requested",
        account_data(user, "quiet@example.com", "Quiet", "reset-token-1"),
    );
    let (status, _) = app.notifications().deliver(&message, 1).await;
    assert_eq!(status, 200);
    assert_eq!(smtp.with_subject("Reset your password").len(), 1);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn while_smtp_is_down_the_message_is_retried_and_lands_once_when_it_is_back() {
    let smtp = SmtpServer::start().await;
    smtp.set_down(true);
    let app = TestApp::spawn_with_smtp(&smtp, |c| {
        c.delivery.max_polling_interval = Duration::from_millis(100);
        c.delivery.retry_delay = Duration::from_millis(100);
        c.delivery.max_dequeue_count = 1000;
    })
    .await;
    let admin = app.auth().admin().await;
    let product = product_named(&app, &admin, "MUG-1", "Mug").await;
    let token = app.auth().token("patient@example.com", "Pat").await;
    let (status, order) = app.orders().buy(&token, &product, 1, "pm_card_visa").await;
    assert_eq!(status, 201, "{order}");
    let order_id = s(&order, "id").to_owned();

    // both events are tried, and tried again
    eventually(
        WAIT,
        "deliveries turned away more than once each",
        || async { (smtp.turned_away() >= 4).then_some(()) },
    )
    .await;
    assert!(smtp.received().is_empty());
    let items = app.notifications().all(&token).await;
    assert!(items.iter().all(|i| i["status"] == "pending"), "{items:?}");

    smtp.set_down(false);
    smtp.wait_for("We received your order").await;
    smtp.wait_for("Payment received").await;
    drained(&app).await;
    assert_eq!(
        smtp.with_subject(&order_id).len(),
        2,
        "each mail exactly once"
    );
    let items = settled_order_notifications(&app, &token, 2).await;
    assert!(items.iter().all(|i| i["status"] == "sent"), "{items:?}");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_address_is_recorded_failed_and_not_retried() {
    let smtp = SmtpServer::start().await;
    smtp.refuse("bounce@example.com");
    let app = TestApp::spawn_with_smtp(&smtp, |c| {
        c.delivery.max_polling_interval = Duration::from_millis(100);
        c.delivery.retry_delay = Duration::from_millis(100);
    })
    .await;
    let admin = app.auth().admin().await;
    let product = product_named(&app, &admin, "MUG-2", "Mug").await;
    let token = app.auth().token("bounce@example.com", "Bo").await;
    let (status, order) = app.orders().buy(&token, &product, 1, "pm_card_visa").await;
    assert_eq!(status, 201, "{order}");

    let items = settled_order_notifications(&app, &token, 2).await;
    assert!(items.iter().all(|i| i["status"] == "failed"), "{items:?}");
    drained(&app).await;
    // every notification of the account (the order's two, and any other
    // mail to it) was tried exactly once
    let all = app.notifications().all(&token).await;
    assert!(all.iter().all(|i| i["status"] == "failed"), "{all:?}");
    assert_eq!(
        smtp.refused_recipients() as usize,
        all.len(),
        "each message tried once, not retried"
    );
    assert!(
        smtp.received()
            .iter()
            .all(|m| !m.to.iter().any(|t| t == "bounce@example.com")),
        "nothing reached the refused address"
    );
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn account_mail_carries_its_token_in_the_link() {
    let smtp = SmtpServer::start().await;
    let app = TestApp::spawn_with_smtp(&smtp, |_| {}).await;
    let session = app
        .auth()
        .register_named("new@example.com", "<b>Newbie</b>")
        .await;
    let user = s(&session["user"], "id");
    for (kind, token, subject, path) in [
        (
            "account.verification-requested",
            "verify-tok_123",
            "Verify your email address",
            "/verify-email",
        ),
        (
            "account.password-reset-requested",
            "reset-tok_456",
            "Reset your password",
            "/reset-password",
        ),
    ] {
        let message = event(
            kind,
            account_data(user, "new@example.com", "<b>Newbie</b>", token),
        );
        let (status, answer) = app.notifications().deliver(&message, 1).await;
        assert_eq!(status, 200, "{answer}");
        // (the registration sent a verification mail of its own: find this one)
        let mail = smtp.wait_for_text(subject, token).await;
        assert_eq!(mail.to, ["new@example.com"]);
        let link = format!("{}{path}?token={token}", app.base);
        assert!(mail.text.contains(&link), "{link} in {}", mail.text);
        assert!(
            unescape(&mail.html).contains(&format!("href=\"{link}\"")),
            "{link} in {}",
            mail.html
        );
        assert!(mail.text.contains("<b>Newbie</b>"), "{}", mail.text);
        assert!(
            mail.html.contains("&lt;b&gt;Newbie&lt;&#x2f;b&gt;")
                || mail.html.contains("&lt;b&gt;Newbie&lt;/b&gt;"),
            "{}",
            mail.html
        );
    }
    let kinds: Vec<String> = app
        .notifications()
        .all(s(&session, "accessToken"))
        .await
        .iter()
        .map(|i| s(i, "kind").to_owned())
        .collect();
    assert!(
        kinds.contains(&"account.verification-requested".to_owned()),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&"account.password-reset-requested".to_owned()),
        "{kinds:?}"
    );
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn notifications_are_exported_and_erased_with_the_account() {
    let app = TestApp::spawn_configured(|c| {
        c.delivery.max_polling_interval = Duration::from_millis(100);
    })
    .await;
    let session = app
        .auth()
        .register_named("leaving@example.com", "Lea")
        .await;
    let user = s(&session["user"], "id").to_owned();
    let token = s(&session, "accessToken").to_owned();
    let message = event(
        "order.placed",
        order_data(
            "ord-export",
            Some(&user),
            "leaving@example.com",
            "paid",
            &[("Mug", 1250, 1)],
        ),
    );
    let (status, _) = app.notifications().deliver(&message, 1).await;
    assert_eq!(status, 200);

    let export: Value = app.users().export(&token).await.json().await.unwrap();
    let section: Vec<&Value> = export["notifications"]
        .as_array()
        .expect("a notifications section")
        .iter()
        .filter(|n| s(n, "kind").starts_with("order."))
        .collect();
    assert_eq!(section.len(), 1, "{export}");
    assert_eq!(section[0]["kind"], "order.placed");
    assert_eq!(section[0]["to"], "leaving@example.com");
    assert!(s(section[0], "subject").contains("ord-export"));

    assert_eq!(app.users().delete_me(&token).await.status(), 204);
    eventually(WAIT, "the user's notifications erased", || async {
        (stored_notifications(&app, &user).await == 0).then_some(())
    })
    .await;
    // a late event about the closed account mails no one and records nothing
    let late = event(
        "order.shipped",
        order_data(
            "ord-export",
            Some(&user),
            "leaving@example.com",
            "shipped",
            &[("Mug", 1250, 1)],
        ),
    );
    let (status, _) = app.notifications().deliver(&late, 1).await;
    assert_eq!(status, 200);
    assert_eq!(stored_notifications(&app, &user).await, 0);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn dev_mail_lists_what_was_sent_and_its_views_escape_content() {
    // no SMTP server: dev records the mail only
    let app = TestApp::spawn().await;
    let session = app.auth().register_named("dev@example.com", "Dev").await;
    let user = s(&session["user"], "id");
    let message = event(
        "order.placed",
        order_data(
            "ord-dev",
            Some(user),
            "dev@example.com",
            "paid",
            &[(SCRIPT, 500, 3)],
        ),
    );
    let (status, _) = app.notifications().deliver(&message, 1).await;
    assert_eq!(status, 200);
    let items = app
        .notifications()
        .order_mail(s(&session, "accessToken"))
        .await;
    assert_eq!(
        items[0]["status"], "sent",
        "recording counts as sent under dev"
    );
    let id = s(&items[0], "id");

    let (status, content_type, page) = app.notifications().dev_page("/dev/mail").await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert!(page.contains("dev@example.com"), "{page}");
    assert!(page.contains("We received your order ord-dev"), "{page}");
    let html_link = format!("/dev/mail/{id}.html");
    let text_link = format!("/dev/mail/{id}.txt");
    assert!(
        page.contains(&html_link) && page.contains(&text_link),
        "{page}"
    );

    let (status, content_type, html) = app.notifications().dev_page(&html_link).await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert!(!html.contains("<script>"), "{html}");
    assert!(html.contains("&lt;script&gt;"), "{html}");
    assert!(html.contains("EUR 15.00"), "{html}");
    let (status, content_type, text) = app.notifications().dev_page(&text_link).await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    assert!(text.contains(&format!("{SCRIPT} × 3")), "{text}");
    let (status, _, _) = app.notifications().dev_page("/dev/mail/nt_nope.html").await;
    assert_eq!(status, 404);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_without_a_mail_server_records_mail_as_failed_and_serves_no_dev_mail() {
    let app = TestApp::spawn_with(Spawn {
        mode: Mode::Serve,
        ..Spawn::default()
    })
    .await;
    let session = app
        .auth()
        .register_named("nomail@example.com", "No Mail")
        .await;
    let user = s(&session["user"], "id");
    let message = event(
        "account.verification-requested",
        account_data(user, "nomail@example.com", "No Mail", "tok"),
    );
    let (status, answer) = app.notifications().deliver(&message, 1).await;
    assert_eq!(status, 200, "not retried: {answer}");
    let items = app.notifications().all(s(&session, "accessToken")).await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["status"], "failed");
    let (status, _, _) = app.notifications().dev_page("/dev/mail").await;
    assert_eq!(status, 404);
    app.shutdown().await;
}
