//! The shipped function table: every service's functions, in one list.

use crate::{platform, table::FunctionDef};

/// Every function jojomart ships.
pub fn functions() -> Vec<FunctionDef> {
    let mut all = Vec::new();
    all.extend(platform::functions());
    all
}
