//! The README's first example: an axum API limited per API key. Serves
//! on 127.0.0.1:3000 until stopped.

use axum::{routing::get, Router};
use tollgate::{Limiter, Policy};
use tollgate_tower::TollgateLayer;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Per API key: reads 1000 a minute (333 per 10 s), writes 60 a minute
    // (20 per 10 s). Policy::from_toml_str reads your own.
    let limiter = Limiter::builder(Policy::default())
        .capacity(100_000) // (key, class) states tracked; memory fixed here
        .build()?;

    let app = Router::new()
        .route(
            "/v1/companies",
            get(|| async { "[]" }).post(|| async { "{}" }),
        )
        .layer(TollgateLayer::new(limiter));

    // curl -i -H 'Authorization: Bearer key_1' http://127.0.0.1:3000/v1/companies
    //   x-ratelimit-limit: 1000          (the minute's limit)
    //   x-ratelimit-remaining: 332       (the room left in this 10 s window)
    //   x-ratelimit-reset: 1796539840    (when that window ends, unix seconds)
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    axum::serve(listener, app).await?;
    Ok(())
}
