//! One simulator serving several tenants on the same hosts, as Microsoft serves every tenant on the same hosts: a
//! partner's tenant and the customers' tenants it runs in full ([`super::customers`]). Each tenant keeps its own
//! state and routers; this layer picks the tenant of each request the way Entra and Graph know it: the login
//! host's first path segment (a tenant id or domain), the tenant whose pending device code a person types on
//! `/devicelogin`, a page's `delegatedOrg` (an admin center opened in a partner's context), and on Graph and the
//! Teams admin API the bearer token's `tid`. Anything else is the scenario's own tenant.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::Method;
use axum::response::Response;
use base64::Engine as _;
use tower::ServiceExt as _;

use super::{Host, Shared};

/// One customer's tenant: how requests name it, its router on this host, its state.
struct Tenant {
    id: String,
    domains: Vec<String>,
    router: Router,
    shared: Arc<Shared>,
}

/// A host's routers, by tenant.
struct Dispatch {
    host: Host,
    home: Router,
    customers: Vec<Tenant>,
}

/// The router of `host` for the scenario's tenant (`home`) and its `customers`: `make` builds one tenant's.
pub fn router(
    host: Host,
    home: &Arc<Shared>,
    customers: &[Arc<Shared>],
    make: impl Fn(&Arc<Shared>) -> Router,
) -> Router {
    let home_router = make(home);
    if customers.is_empty() {
        return home_router;
    }
    let customers = customers
        .iter()
        .map(|shared| {
            let (id, domains) = {
                let st = shared.lock();
                let t = &st.dir.scenario.tenant;
                (t.tenant_id.to_ascii_lowercase(), t.domains.iter().map(|d| d.to_ascii_lowercase()).collect())
            };
            Tenant { id, domains, router: make(shared), shared: shared.clone() }
        })
        .collect();
    let table = Arc::new(Dispatch { host, home: home_router, customers });
    Router::new().fallback(move |request: Request| {
        let table = table.clone();
        async move { table.route(request).await }
    })
}

/// Most of a `/devicelogin` form read to find its tenant.
const FORM_LIMIT: usize = 64 * 1024;

impl Dispatch {
    async fn route(&self, request: Request) -> Response {
        let (request, tenant) = self.pick(request).await;
        let router = tenant.map_or(&self.home, |i| &self.customers[i].router).clone();
        match router.oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        }
    }

    /// The request (rebuilt when its body was read) and the customer it is for, if any.
    async fn pick(&self, request: Request) -> (Request, Option<usize>) {
        match self.host {
            Host::Graph | Host::TeamsAdmin => {
                let tid = bearer_tid(&request);
                let found = tid.and_then(|tid| self.customers.iter().position(|c| c.id == tid));
                (request, found)
            }
            Host::Login | Host::LoginPages => {
                let path = request.uri().path().to_owned();
                let segment = path.trim_start_matches('/').split('/').next().unwrap_or_default().to_ascii_lowercase();
                if segment == "devicelogin" && request.method() == Method::POST {
                    let (parts, body) = request.into_parts();
                    let bytes = axum::body::to_bytes(body, FORM_LIMIT).await.unwrap_or_default();
                    let entered = url::form_urlencoded::parse(&bytes)
                        .find(|(k, _)| k == "otc")
                        .map(|(_, v)| v.into_owned())
                        .unwrap_or_default();
                    let found =
                        self.customers.iter().position(|c| super::identity::knows_user_code(&c.shared, &entered));
                    return (Request::from_parts(parts, Body::from(bytes)), found);
                }
                // The admin centers name a customer in the partner's context by `delegatedOrg`.
                let delegated = request.uri().query().and_then(|q| {
                    url::form_urlencoded::parse(q.as_bytes())
                        .find(|(k, _)| k == "delegatedOrg")
                        .map(|(_, v)| v.to_ascii_lowercase())
                });
                let named = delegated.unwrap_or(segment);
                let found = self.customers.iter().position(|c| c.id == named || c.domains.contains(&named));
                (request, found)
            }
        }
    }
}

/// The `tid` claim of the request's bearer token, read without checking it (the tenant's own router checks it).
fn bearer_tid(request: &Request) -> Option<String> {
    let value = request.headers().get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
    let token = value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer "))?;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("tid")?.as_str().map(str::to_ascii_lowercase)
}
