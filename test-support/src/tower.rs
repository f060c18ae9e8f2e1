//! The HTTP layer's model and what drives it: an inner service, polling
//! without a runtime, and the harness that holds the layer to the model.

pub mod handler;
pub mod model;
pub mod oracle;
pub mod poll;
