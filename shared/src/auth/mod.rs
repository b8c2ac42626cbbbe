//! Auth primitives shared by every service: who the caller is ([`Principal`]),
//! their [`Role`]s, and the [`TokenVerifier`] port that turns a bearer token into one.
//!
//! The pieces behind the real verifier, one small file each:
//! - [`config`]: the auth settings (`JOJOMART_JWT_*`, `JOJOMART_ARGON2_*`, ...);
//! - [`email`] and [`password`]: the credential inputs, parsed at the edge, and
//!   argon2id hashing with the same work for a miss as for a hit;
//! - [`keys`]: Ed25519 signing keys, their PEM forms and their public JWKs;
//! - [`keyring`]: the signing keys in use (configured, or generated and kept in
//!   the store), rotation, and the JWKS;
//! - [`jwt`]: access-token claims, signing and pinned-algorithm verification;
//! - [`refresh`]: opaque refresh tokens (random, stored only as hashes);
//! - [`entra`]: Entra ID tokens, by OIDC discovery and a cached JWKS;
//! - [`verifier`]: the [`TokenVerifier`] that routes a token to the right check
//!   and remembers the ones it already verified.

pub mod config;
pub mod email;
pub mod entra;
pub mod jwt;
pub mod keyring;
pub mod keys;
pub mod password;
pub mod refresh;
pub mod verifier;

use crate::domain::UserId;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// What a caller may do beyond their own data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A shopper: their own cart, orders, profile.
    Customer,
    /// Staff: catalog, inventory, every order, reports.
    Admin,
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The user id (`sub`).
    pub user_id: UserId,
    /// The caller's email.
    pub email: String,
    /// The caller's roles.
    pub roles: Vec<Role>,
}

impl Principal {
    /// True when the caller has the admin role.
    pub fn is_admin(&self) -> bool {
        self.roles.contains(&Role::Admin)
    }
}

/// Why a bearer token was refused. The client only ever learns "401".
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The token is malformed, forged, expired or for someone else.
    #[error("invalid token: {0}")]
    InvalidToken(String),
    /// The token was fine but its account no longer exists or is disabled.
    #[error("account disabled")]
    Disabled,
    /// Verification could not be completed (key store or issuer unreachable).
    #[error("verification unavailable: {0}")]
    Unavailable(String),
}

/// Turns a bearer token into a principal.
#[async_trait]
pub trait TokenVerifier: Send + Sync + std::fmt::Debug + 'static {
    /// Verifies `token` (without the `Bearer ` prefix).
    async fn verify(&self, token: &str) -> Result<Principal, AuthError>;
}

/// Shared handle to a verifier.
pub type SharedVerifier = Arc<dyn TokenVerifier>;

/// A verifier that accepts nothing: what an app without the auth service runs with.
#[derive(Debug, Default, Clone, Copy)]
pub struct RejectAll;

#[async_trait]
impl TokenVerifier for RejectAll {
    async fn verify(&self, _token: &str) -> Result<Principal, AuthError> {
        Err(AuthError::InvalidToken(
            "no token issuer is configured".into(),
        ))
    }
}
