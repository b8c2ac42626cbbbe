//! The users service: profiles in `users` (partition key `userId`), with
//! preferences and addresses in the same document so every change is one
//! conditional replace; the export; and closing an account.

use chrono::{DateTime, Utc};
use jojomart_shared::{
    auth::{Principal, Role},
    domain::{DisplayName, UserId},
    error::ApiError,
    store::{self, to_body, Change, Container, Query, StoreError, Ttl},
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    domain::{parse_name, Address},
    erasure,
};
use std::collections::BTreeMap;

use super::Users;
use crate::state::AppState;

/// The container of profiles (partition key `userId`), which also holds the
/// erasure events staged for the outbox relay; sent ones expire on their own.
pub const USERS: &Container = &Container::new("users", "userId").with_ttl(Ttl::PerDocument);

/// The most addresses one profile may hold.
pub const MAX_ADDRESSES: usize = 20;

/// What a user wants to hear from us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Preferences {
    /// Newsletters and offers (off until asked for).
    pub marketing_emails: bool,
    /// Emails about the user's own orders.
    pub order_updates: bool,
}

impl Default for Preferences {
    fn default() -> Self {
        Self {
            marketing_emails: false,
            order_updates: true,
        }
    }
}

/// A profile as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    /// The user id (partition key and id).
    pub user_id: UserId,
    /// The account's email.
    pub email: String,
    /// The display name.
    pub name: DisplayName,
    /// Email preferences.
    #[serde(default)]
    pub preferences: Preferences,
    /// Postal addresses.
    #[serde(default)]
    pub addresses: Vec<Address>,
    /// When the profile was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// The profile as the caller sees it (`GET`/`PATCH /api/users/me`).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Me {
    /// The user id.
    pub id: String,
    /// The account's email.
    pub email: String,
    /// The display name.
    pub name: String,
    /// The caller's roles.
    pub roles: Vec<Role>,
    /// Email preferences.
    pub preferences: Preferences,
    /// Postal addresses.
    pub addresses: Vec<Address>,
}

impl Me {
    fn of(profile: Profile, principal: &Principal) -> Self {
        Self {
            id: profile.user_id.to_string(),
            email: profile.email,
            name: profile.name.to_string(),
            roles: principal.roles.clone(),
            preferences: profile.preferences,
            addresses: profile.addresses,
        }
    }
}

/// A change to preferences; absent fields stay as they are.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreferencesPatch {
    /// Newsletters and offers.
    pub marketing_emails: Option<bool>,
    /// Emails about orders.
    pub order_updates: Option<bool>,
}

/// The answer for a closed (or never created) profile.
pub(super) fn gone() -> ApiError {
    ApiError::NotFound("this account has no profile (it was closed)".into())
}

/// Creates the profile of a new account (idempotent for the same user).
///
/// # Errors
/// Store failures.
pub async fn create_profile(
    users: &Users,
    user_id: &UserId,
    email: &str,
    name: &DisplayName,
) -> Result<(), ApiError> {
    let now = users.clock.now();
    let profile = Profile {
        user_id: user_id.clone(),
        email: email.to_owned(),
        name: name.clone(),
        preferences: Preferences::default(),
        addresses: Vec::new(),
        created_at: now,
        updated_at: now,
    };
    match users
        .store
        .create(
            USERS,
            user_id.as_str(),
            user_id.as_str(),
            to_body(&profile)?,
        )
        .await
    {
        Ok(_) | Err(StoreError::Conflict) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

async fn read(users: &Users, user_id: &UserId) -> Result<Option<Profile>, ApiError> {
    match users
        .store
        .read(USERS, user_id.as_str(), user_id.as_str())
        .await?
    {
        Some(doc) => Ok(Some(doc.parse()?)),
        None => Ok(None),
    }
}

/// The display name of a user (empty when the profile is gone).
///
/// # Errors
/// Store failures.
pub async fn name_of(users: &Users, user_id: &UserId) -> Result<String, ApiError> {
    Ok(read(users, user_id)
        .await?
        .map(|p| p.name.to_string())
        .unwrap_or_default())
}

/// The display name of a user's profile, creating the profile when it is
/// missing: an account whose registration died between its identity and its
/// profile is repaired at its next sign-in (or closing). The new profile takes
/// `name` (the one given at registration) or, when that is unknown or no
/// longer a valid name, the email's local part.
///
/// # Errors
/// Store failures.
pub async fn ensure_profile(
    users: &Users,
    user_id: &UserId,
    email: &str,
    name: Option<&str>,
) -> Result<String, ApiError> {
    if let Some(profile) = read(users, user_id).await? {
        return Ok(profile.name.to_string());
    }
    let local = email.split('@').next().unwrap_or_default();
    let name = name
        .and_then(|n| DisplayName::parse(n).ok())
        .or_else(|| DisplayName::parse(local).ok())
        .or_else(|| DisplayName::parse("Customer").ok())
        .ok_or_else(|| ApiError::internal(std::io::Error::other("no usable display name")))?;
    tracing::warn!(%user_id, "an account had no profile (its registration died half-way); re-created it");
    create_profile(users, user_id, email, &name).await?;
    Ok(name.to_string())
}

/// How to reach a user about their orders: the account's email and name, and
/// whether they want order mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    /// The account's email.
    pub email: String,
    /// The display name, for a greeting.
    pub name: String,
    /// `preferences.orderUpdates`.
    pub order_updates: bool,
}

/// The user's contact details; `None` when the profile is gone (the account
/// was closed) or never existed.
///
/// # Errors
/// Store failures.
pub async fn contact_of(users: &Users, user_id: &UserId) -> Result<Option<Contact>, ApiError> {
    Ok(read(users, user_id).await?.map(|p| Contact {
        email: p.email,
        name: p.name.to_string(),
        order_updates: p.preferences.order_updates,
    }))
}

/// The caller's profile.
///
/// # Errors
/// 404 when the account was closed (or never had a profile, as Entra ID callers).
pub async fn me(users: &Users, principal: &Principal) -> Result<Me, ApiError> {
    let profile = read(users, &principal.user_id).await?.ok_or_else(gone)?;
    Ok(Me::of(profile, principal))
}

/// Applies `change` to the caller's profile under optimistic concurrency; never
/// recreates a profile that is gone.
async fn change(
    users: &Users,
    user_id: &UserId,
    mut edit: impl FnMut(&mut Profile) -> Result<bool, ApiError>,
) -> Result<Profile, ApiError> {
    let now = users.clock.now();
    let written = store::update::<_, ApiError, _>(
        users.store.as_ref(),
        USERS,
        user_id.as_str(),
        user_id.as_str(),
        |profile: Option<Profile>| {
            let mut profile = profile.ok_or_else(gone)?;
            if !edit(&mut profile)? {
                return Ok(Change::Keep);
            }
            profile.updated_at = now;
            Ok(Change::Write(profile))
        },
    )
    .await?;
    written.into_value().ok_or_else(gone)
}

/// Changes the caller's name and/or preferences.
///
/// # Errors
/// 400 for a bad name; 404 when the profile is gone.
pub async fn update(
    users: &Users,
    principal: &Principal,
    name: Option<&str>,
    preferences: Option<PreferencesPatch>,
) -> Result<Me, ApiError> {
    let name = name
        .map(|n| parse_name("name", n))
        .transpose()
        .map_err(|e| ApiError::invalid_fields(vec![e]))?;
    let profile = change(users, &principal.user_id, |p| {
        let before = (p.name.clone(), p.preferences);
        if let Some(name) = &name {
            p.name = name.clone();
        }
        if let Some(patch) = preferences {
            p.preferences.marketing_emails = patch
                .marketing_emails
                .unwrap_or(p.preferences.marketing_emails);
            p.preferences.order_updates =
                patch.order_updates.unwrap_or(p.preferences.order_updates);
        }
        Ok(before != (p.name.clone(), p.preferences))
    })
    .await?;
    Ok(Me::of(profile, principal))
}

/// Adds an address to the caller's profile.
///
/// # Errors
/// 404 when the profile is gone; 409 when it already holds [`MAX_ADDRESSES`].
pub async fn add_address(
    users: &Users,
    principal: &Principal,
    address: Address,
) -> Result<Address, ApiError> {
    change(users, &principal.user_id, |p| {
        if p.addresses.len() >= MAX_ADDRESSES {
            return Err(ApiError::Conflict(format!(
                "a profile holds at most {MAX_ADDRESSES} addresses; delete one first"
            )));
        }
        p.addresses.push(address.clone());
        Ok(true)
    })
    .await?;
    Ok(address)
}

/// Removes one of the caller's addresses.
///
/// # Errors
/// 404 when there is no such address (or no profile).
pub async fn delete_address(
    users: &Users,
    principal: &Principal,
    address_id: &str,
) -> Result<(), ApiError> {
    change(users, &principal.user_id, |p| {
        let before = p.addresses.len();
        p.addresses.retain(|a| a.id != address_id);
        if p.addresses.len() == before {
            return Err(ApiError::NotFound("no such address".into()));
        }
        Ok(true)
    })
    .await?;
    Ok(())
}

/// Everything held about a user: the profile and addresses, then one section
/// per service that holds personal data (`account`, `reviews`, …), each filled
/// by that service's export hook. `orders`, `reviews` and `notifications` are
/// always present (empty until their service fills them), as the contract lists them.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Export {
    /// When this export was made.
    pub exported_at: DateTime<Utc>,
    /// The profile (name, email, preferences).
    pub profile: ExportedProfile,
    /// The postal addresses.
    pub addresses: Vec<Address>,
    /// Every other service's section, by its key.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub sections: BTreeMap<&'static str, serde_json::Value>,
}

/// The sections the contract promises in every export, empty until filled.
const CONTRACT_SECTIONS: &[&str] = &["orders", "reviews", "notifications"];

/// The profile part of an export.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportedProfile {
    /// The user id.
    pub id: String,
    /// The account's email.
    pub email: String,
    /// The display name.
    pub name: String,
    /// The roles.
    pub roles: Vec<Role>,
    /// Email preferences.
    pub preferences: Preferences,
    /// When the profile was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// Gathers everything held about the caller: the profile here, the rest from
/// every service's export hook.
///
/// # Errors
/// 404 when the account was closed; a hook's failure.
pub async fn export(state: &AppState, principal: &Principal) -> Result<Export, ApiError> {
    let users: Users = state.handle();
    let profile = read(&users, &principal.user_id).await?.ok_or_else(gone)?;
    let mut sections: BTreeMap<&'static str, serde_json::Value> = CONTRACT_SECTIONS
        .iter()
        .map(|key| (*key, serde_json::Value::Array(Vec::new())))
        .collect();
    for (service, hook) in state.exporters() {
        let section = hook(state, principal).await.inspect_err(|e| {
            tracing::warn!(service, error = %e, "export section failed");
        })?;
        sections.insert(section.key, section.value);
    }
    Ok(Export {
        exported_at: users.clock.now(),
        profile: ExportedProfile {
            id: profile.user_id.to_string(),
            email: profile.email,
            name: profile.name.to_string(),
            roles: principal.roles.clone(),
            preferences: profile.preferences,
            created_at: profile.created_at,
            updated_at: profile.updated_at,
        },
        addresses: profile.addresses,
        sections,
    })
}

/// Closes a user's profile: deletes it and stages the erasure of their data in
/// every other service, in one batch, so one never happens without the other.
///
/// # Errors
/// 404 when there is no profile to close; store failures.
pub async fn close(users: &Users, user_id: &UserId) -> Result<(), ApiError> {
    erasure::close_and_request(users, user_id).await?;
    Ok(())
}

/// The users service's part of an erasure: everything in the user's
/// partition (the profile and the outbox entries staged when the account
/// closed). Idempotent.
///
/// # Errors
/// Store failures.
pub async fn erase(users: &Users, user_id: &UserId) -> Result<(), ApiError> {
    let id = user_id.as_str();
    let docs = users
        .store
        .query(&Query::new(USERS).partition(id).limit(1000))
        .await?;
    for doc in docs.items {
        match users.store.delete(USERS, id, &doc.id, None).await {
            Ok(()) | Err(StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}
