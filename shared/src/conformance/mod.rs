//! Generic port conformance suites.
