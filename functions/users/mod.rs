//! The users service: the caller's profile, preferences and addresses, and the
//! export of everything held about them. Closing an account deletes the
//! profile and stages the erasure of the rest (an event relayed to
//! `user-erasure`), which `erase-user` carries out through every service's
//! erasure hook. Rules live
//! in [`service`], input types in [`domain`], the erasure fan-out in [`erasure`].

mod add_address;
mod delete_address;
pub mod domain;
mod erase_user;
pub mod erasure;
mod export_me;
mod get_me;
pub mod service;
mod update_me;

use jojomart_shared::{clock::SharedClock, store::SharedStore};

use crate::{
    outbox::Outbox,
    state::{ServiceStartError, StartContext},
    table::{FunctionDef, ServiceDef},
};

/// What the users service works with.
#[derive(Debug, Clone)]
pub struct Users {
    store: SharedStore,
    clock: SharedClock,
    outbox: Outbox,
}
crate::service_handle!(Users);

/// The users service.
pub fn service() -> ServiceDef {
    ServiceDef::new("users")
        .containers(&[service::USERS])
        .outbox(service::USERS)
        .reads(erasure::USER_ERASURE)
        .writes(erasure::USER_ERASURE)
        .functions(vec![
            FunctionDef::http("get-me", || utoipa_axum::routes!(get_me::get_me)),
            FunctionDef::http("update-me", || utoipa_axum::routes!(update_me::update_me)),
            FunctionDef::http("add-address", || {
                utoipa_axum::routes!(add_address::add_address)
            }),
            FunctionDef::http("delete-address", || {
                utoipa_axum::routes!(delete_address::delete_address)
            }),
            FunctionDef::http("export-me", || utoipa_axum::routes!(export_me::export_me)),
            FunctionDef::queue("erase-user", erasure::USER_ERASURE, erase_user::erase_user),
        ])
        .start(|cx| Box::pin(start(cx)))
        .erase(|state, user| {
            Box::pin(async move { service::erase(&state.handle::<Users>(), user).await })
        })
}

async fn start(cx: &mut StartContext<'_>) -> Result<(), ServiceStartError> {
    cx.handles.insert(Users {
        store: cx.adapters.store.clone(),
        clock: cx.adapters.clock.clone(),
        outbox: cx.require::<Outbox>()?,
    });
    Ok(())
}
