//! The users service: the caller's profile, preferences and addresses, the
//! export of everything held about them, and closing the account, whose
//! erasure travels on the `user-erasure` queue to `erase-user`. Rules live in
//! [`service`], input types in [`domain`], the erasure fan-out in [`erasure`].

mod add_address;
mod delete_address;
mod delete_me;
pub mod domain;
mod erase_user;
pub mod erasure;
mod export_me;
mod get_me;
pub mod service;
mod update_me;

use crate::table::FunctionDef;

/// The users service's functions.
pub fn functions() -> Vec<FunctionDef> {
    vec![
        FunctionDef::http("get-me", || utoipa_axum::routes!(get_me::get_me)),
        FunctionDef::http("update-me", || utoipa_axum::routes!(update_me::update_me)),
        FunctionDef::http("add-address", || {
            utoipa_axum::routes!(add_address::add_address)
        }),
        FunctionDef::http("delete-address", || {
            utoipa_axum::routes!(delete_address::delete_address)
        }),
        FunctionDef::http("delete-me", || utoipa_axum::routes!(delete_me::delete_me)),
        FunctionDef::http("export-me", || utoipa_axum::routes!(export_me::export_me)),
        FunctionDef::queue("erase-user", erasure::USER_ERASURE, erase_user::erase_user),
    ]
}
