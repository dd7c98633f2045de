//! Revocation bundles: the container format ([`format`]) and, on top, creating, inspecting and
//! importing them.

pub mod format;
