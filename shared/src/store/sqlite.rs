//! SQLite document store adapter.
