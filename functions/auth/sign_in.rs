//! The sign-in hook: other services learn that someone signed in (or
//! registered) without auth knowing them. A service that cares (the cart
//! merges the anonymous cart the shopper brought; orders may attach guest
//! orders placed with the same email) registers a [`SignInListener`] with
//! [`Auth::on_sign_in`] in its `start`, so calls still go one way: from that
//! service to auth at startup, never from auth to it.
//!
//! Listeners run after the session is issued and before the answer leaves, in
//! the order they registered, so a client that reads its cart right after
//! signing in sees the merge. A failing listener is logged and skipped: its
//! work is a convenience, and a sign-in never fails because of it.

use std::sync::{Arc, RwLock};

use futures::future::BoxFuture;
use jojomart_shared::{
    auth::email::Email,
    domain::{CartId, UserId},
    error::ApiError,
};

use super::{service::Session, Auth};

/// Someone signed in or registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    /// The account.
    pub user_id: UserId,
    /// The account's (normalised) email.
    pub email: Email,
    /// The anonymous cart the request named in `X-Cart-Id`, as sent (unchecked).
    pub cart_id: Option<CartId>,
    /// True when the account was created by this request.
    pub registered: bool,
}

/// What a service does when someone signs in.
pub trait SignInListener: Send + Sync {
    /// Reacts to a sign-in; an error is logged and does not fail the sign-in.
    fn signed_in<'a>(&'a self, event: &'a SignedIn) -> BoxFuture<'a, Result<(), ApiError>>;
}

/// The listeners registered so far (shared by every clone of the auth handle).
#[derive(Clone, Default)]
pub struct SignInListeners(Arc<RwLock<Vec<Arc<dyn SignInListener>>>>);

impl std::fmt::Debug for SignInListeners {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SignInListeners({})", self.snapshot().len())
    }
}

impl SignInListeners {
    fn snapshot(&self) -> Vec<Arc<dyn SignInListener>> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn push(&self, listener: Arc<dyn SignInListener>) {
        self.0
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(listener);
    }
}

impl Auth {
    /// Calls `listener` after every successful login and registration from now on.
    pub fn on_sign_in(&self, listener: Arc<dyn SignInListener>) {
        self.listeners.push(listener);
    }
}

/// Tells every listener that `session`'s user signed in, bringing `cart_id`;
/// failures are logged, never returned.
pub async fn announce(auth: &Auth, session: &Session, cart_id: Option<CartId>, registered: bool) {
    let listeners = auth.listeners.snapshot();
    if listeners.is_empty() {
        return;
    }
    let (Ok(user_id), Ok(email)) = (
        UserId::parse(&session.user.id),
        Email::parse(&session.user.email),
    ) else {
        tracing::warn!("a session's user id or email does not parse; sign-in listeners skipped");
        return;
    };
    let event = SignedIn {
        user_id,
        email,
        cart_id,
        registered,
    };
    for listener in listeners {
        if let Err(e) = listener.signed_in(&event).await {
            tracing::warn!(error = %e, user_id = %event.user_id, "a sign-in listener failed; the sign-in stands");
        }
    }
}
