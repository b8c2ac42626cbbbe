//! The embedded database: one SQLite file holding documents and queues.
