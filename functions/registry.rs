//! The shipped function table: every service's functions, in one list.

use crate::{auth, platform, table::FunctionDef, users};

/// Every function jojomart ships.
pub fn functions() -> Vec<FunctionDef> {
    let mut all = Vec::new();
    all.extend(platform::functions());
    all.extend(auth::functions());
    all.extend(users::functions());
    all
}
