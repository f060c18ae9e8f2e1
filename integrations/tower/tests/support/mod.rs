//! What the layer's tests share; the fuzz target `tower` includes it too.

#![allow(dead_code, reason = "each test uses part of it")]

pub(crate) mod handler;
pub(crate) mod model;
pub(crate) mod oracle;
pub(crate) mod poll;
