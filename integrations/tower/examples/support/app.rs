//! The example API, shared by the `api_server` and `demo` examples and the
//! end-to-end tests: a few company endpoints over an in-memory store,
//! behind the rate-limit layer.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::{Path, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tollgate::Policy;
use tollgate_tower::{ApiKey, InnerBody, Tollgate, TollgateLayer};
use tower::{Layer, Service};

/// A company record.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Company {
    pub(crate) id: u64,
    pub(crate) name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) domain: Option<String>,
}

/// The fields a client sends to create or change a company.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CompanyInput {
    name: Option<String>,
    domain: Option<String>,
}

/// The in-memory store.
#[derive(Debug, Default)]
struct Store {
    next_id: u64,
    companies: BTreeMap<u64, Company>,
}

impl Store {
    fn insert(&mut self, name: String, domain: Option<String>) -> Company {
        self.next_id = self.next_id.saturating_add(1);
        let company = Company {
            id: self.next_id,
            name,
            domain,
        };
        self.companies.insert(company.id, company.clone());
        company
    }
}

type Shared = Arc<Mutex<Store>>;

fn lock(store: &Shared) -> std::sync::MutexGuard<'_, Store> {
    // A handler that panicked left the map whole: keep serving.
    store.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The routes without any rate limit, with two companies already in the
/// store (ids 1 and 2).
pub(crate) fn routes() -> Router {
    let mut store = Store::default();
    for (name, domain) in [("Acme", "acme.example"), ("Globex", "globex.example")] {
        store.insert(name.to_owned(), Some(domain.to_owned()));
    }
    Router::new()
        .route("/v1/companies", get(list).post(create))
        .route(
            "/v1/companies/{id}",
            get(fetch).patch(update).delete(remove),
        )
        .with_state(Arc::new(Mutex::new(store)))
}

/// A service the examples serve: a router, or a router behind the layer.
pub(crate) trait App:
    Service<Request, Response = Response, Error = Infallible, Future: Send>
    + Clone
    + Send
    + Sync
    + 'static
{
}

impl<S> App for S where
    S: Service<Request, Response = Response, Error = Infallible, Future: Send>
        + Clone
        + Send
        + Sync
        + 'static
{
}

/// The routes behind `layer`, which wraps the whole router rather than
/// each route (`Router::layer`, which also checks every request, the
/// fallback's included): axum then neither boxes the layered routes nor
/// clones one for every request. With [`InnerBody`] the responses keep
/// axum's `Body`, which axum serves without boxing it again.
pub(crate) fn app<L>(layer: TollgateLayer<L, ApiKey, InnerBody>) -> impl App
where
    Tollgate<Router, L, ApiKey, InnerBody>: App,
{
    layer.layer(routes())
}

/// `routes` with three constant `X-RateLimit-*` fields added to every
/// answer, as the layer adds them but with no key, no check and no
/// rendering: the cost of the fields alone (the server's
/// `--fields-only`). The values have the digits of `scripts/load-policy.toml`'s.
pub(crate) fn with_constant_fields(routes: Router) -> impl App {
    const FIELDS: [(HeaderName, HeaderValue); 3] = [
        (
            HeaderName::from_static("x-ratelimit-limit"),
            HeaderValue::from_static("4294967295"),
        ),
        (
            HeaderName::from_static("x-ratelimit-remaining"),
            HeaderValue::from_static("4294967294"),
        ),
        (
            HeaderName::from_static("x-ratelimit-reset"),
            HeaderValue::from_static("1764374460"),
        ),
    ];
    tower::ServiceBuilder::new()
        .map_response(|mut response: Response| {
            let headers = response.headers_mut();
            for (name, value) in FIELDS {
                headers.insert(name, value);
            }
            response
        })
        .service(routes)
}

/// Reads a policy file: JSON if its name ends in `.json`, TOML otherwise.
pub(crate) fn load_policy(path: &str) -> Result<Policy, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let policy = if path.ends_with(".json") {
        Policy::from_json_str(&text)
    } else {
        Policy::from_toml_str(&text)
    };
    policy.map_err(|e| format!("{path}: {e}"))
}

/// Serves `app` on `listener` until the task is dropped, with the peer
/// address available to the layer (`MissingKey::PeerIp`).
pub(crate) async fn serve(listener: TcpListener, app: impl App) -> std::io::Result<()> {
    axum::serve(
        listener,
        axum::ServiceExt::<Request>::into_make_service_with_connect_info::<SocketAddr>(app),
    )
    .await
}

/// Binds an ephemeral loopback port and serves `app` there in a task;
/// returns the address.
pub(crate) async fn spawn(app: impl App) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(serve(listener, app));
    Ok(addr)
}

#[derive(Serialize)]
struct Page {
    data: Vec<Company>,
    has_more: bool,
}

async fn list(State(store): State<Shared>) -> Json<Page> {
    let data = lock(&store).companies.values().cloned().collect();
    Json(Page {
        data,
        has_more: false,
    })
}

async fn fetch(
    State(store): State<Shared>,
    Path(id): Path<u64>,
) -> Result<Json<Company>, StatusCode> {
    lock(&store)
        .companies
        .get(&id)
        .cloned()
        .map(Json)
        .ok_or(StatusCode::NOT_FOUND)
}

async fn create(
    State(store): State<Shared>,
    input: Option<Json<CompanyInput>>,
) -> Result<(StatusCode, Json<Company>), StatusCode> {
    let input = input.map(|Json(i)| i).unwrap_or_default();
    let name = input.name.ok_or(StatusCode::UNPROCESSABLE_ENTITY)?;
    let company = lock(&store).insert(name, input.domain);
    Ok((StatusCode::CREATED, Json(company)))
}

async fn update(
    State(store): State<Shared>,
    Path(id): Path<u64>,
    Json(input): Json<CompanyInput>,
) -> Result<Json<Company>, StatusCode> {
    let mut store = lock(&store);
    let company = store.companies.get_mut(&id).ok_or(StatusCode::NOT_FOUND)?;
    if let Some(name) = input.name {
        company.name = name;
    }
    if input.domain.is_some() {
        company.domain = input.domain;
    }
    Ok(Json(company.clone()))
}

async fn remove(State(store): State<Shared>, Path(id): Path<u64>) -> StatusCode {
    match lock(&store).companies.remove(&id) {
        Some(_) => StatusCode::NO_CONTENT,
        None => StatusCode::NOT_FOUND,
    }
}
