//! SQLite queue adapter.
