//! The cart service: a signed-in user's cart and anonymous carts named by
//! `X-Cart-Id`, always priced from the catalog as it is now.
//!
//! - [`service`] holds the rules (add, change, remove, clear, merge, erase);
//!   [`checkout`] is the API the orders service calls ([`for_checkout`],
//!   [`remove_ordered`]); [`caller`] works out whose cart a request is about
//!   ([`CallerCart`]) and issues anonymous ids; [`model`] has the stored and
//!   returned shapes, [`domain`] the owner, quantities and errors.
//! - One file per function: `get-cart`, `add-cart-item`, `update-cart-item`,
//!   `remove-cart-item`, `clear-cart`.
//! - It reports cart adds to analytics ([`crate::analytics::Tracker`], without
//!   waiting), calls the catalog (products and stock) and auth (to hear about
//!   sign-ins, which merge the anonymous cart the shopper brought), and is
//!   called by checkout; the user's cart goes with the account (`erase`).

mod add_cart_item;
pub mod caller;
pub mod checkout;
mod clear_cart;
pub mod domain;
mod get_cart;
pub mod model;
mod remove_cart_item;
pub mod service;
mod update_cart_item;

use std::sync::Arc;

use futures::future::BoxFuture;
use jojomart_shared::{
    clock::SharedClock,
    error::ApiError,
    store::{shared_secret, SharedStore},
};

pub use caller::{AnonymousCartId, CallerCart};
pub use checkout::{for_checkout, remove_ordered, CheckoutCart, CheckoutLine};
pub use domain::CartOwner;
pub use model::CARTS;

use crate::{
    analytics::Tracker,
    auth::{Auth, SignInListener, SignedIn},
    products::{Catalog, Inventory},
    state::{ServiceStartError, StartContext},
    table::{ExportSection, FunctionDef, ServiceDef},
};
use caller::AnonymousIds;

/// What the cart service works with: its store, the catalog that prices
/// lines, the inventory that says what is available, and the key that signs
/// anonymous cart ids (read from the store on first use).
#[derive(Debug, Clone)]
pub struct Carts {
    store: SharedStore,
    clock: SharedClock,
    catalog: Catalog,
    inventory: Inventory,
    tracker: Tracker,
    ids: Arc<tokio::sync::OnceCell<AnonymousIds>>,
}
crate::service_handle!(Carts);

impl Carts {
    /// The anonymous id issuer, its key loaded (or created) on first use.
    ///
    /// # Errors
    /// The store's error.
    pub async fn ids(&self) -> Result<&AnonymousIds, ApiError> {
        self.ids
            .get_or_try_init(|| async {
                let key = shared_secret(&*self.store, caller::ID_KEY_NAME).await?;
                Ok::<_, ApiError>(AnonymousIds::new(key))
            })
            .await
    }
}

/// The cart service.
pub fn service() -> ServiceDef {
    ServiceDef::new("cart")
        .containers(&[CARTS])
        .functions(vec![
            FunctionDef::http("get-cart", || utoipa_axum::routes!(get_cart::get_cart)),
            FunctionDef::http("add-cart-item", || {
                utoipa_axum::routes!(add_cart_item::add_cart_item)
            }),
            FunctionDef::http("update-cart-item", || {
                utoipa_axum::routes!(update_cart_item::update_cart_item)
            }),
            FunctionDef::http("remove-cart-item", || {
                utoipa_axum::routes!(remove_cart_item::remove_cart_item)
            }),
            FunctionDef::http("clear-cart", || {
                utoipa_axum::routes!(clear_cart::clear_cart)
            }),
        ])
        .start(|cx| Box::pin(start(cx)))
        .erase(|state, user| {
            Box::pin(async move { service::erase(&state.handle::<Carts>(), user).await })
        })
        .export(|state, principal| {
            Box::pin(async move {
                let cart = service::export(&state.handle::<Carts>(), &principal.user_id).await?;
                Ok(ExportSection {
                    key: "cart",
                    value: serde_json::to_value(cart).map_err(ApiError::internal)?,
                })
            })
        })
}

/// Builds the handle and asks auth to tell it about sign-ins (to merge carts).
async fn start(cx: &mut StartContext<'_>) -> Result<(), ServiceStartError> {
    let auth = cx.require::<Auth>()?;
    let carts = Carts {
        store: cx.adapters.store.clone(),
        clock: cx.adapters.clock.clone(),
        catalog: cx.require::<Catalog>()?,
        inventory: cx.require::<Inventory>()?,
        tracker: cx.require::<Tracker>()?,
        ids: Arc::new(tokio::sync::OnceCell::new()),
    };
    auth.on_sign_in(Arc::new(MergeOnSignIn(carts.clone())));
    cx.handles.insert(carts);
    Ok(())
}

/// Merges the anonymous cart a shopper signs in with into their cart.
struct MergeOnSignIn(Carts);

impl SignInListener for MergeOnSignIn {
    fn signed_in<'a>(&'a self, event: &'a SignedIn) -> BoxFuture<'a, Result<(), ApiError>> {
        Box::pin(async move {
            match &event.cart_id {
                Some(anonymous) => service::merge(&self.0, &event.user_id, anonymous).await,
                None => Ok(()),
            }
        })
    }
}
