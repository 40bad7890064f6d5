//! Canonical message types.
