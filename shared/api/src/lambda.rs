//! Lambda glue: API Gateway HTTP API (payload 2.0) requests to [`ApiRequest`]
//! and back, and the authorizer's event to its simple response.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;

use auth::Authenticator;
use aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use bytes::Bytes;
use domain::{Role, TenantId, UserId};
use lambda_http::request::RequestContext;
use lambda_http::{Body, RequestExt, service_fn};
use notify::Notifier;
use serde::{Deserialize, Serialize};
use store::{ApiKeyCharge, ServiceKeyLookup};
use verify::key_authorizer::{self, KeyAuthorizerConfig};
use verify::leaks::{GithubKeys, LeakStore, SignedReport};
use verify::{CallerRefused, Verifier, VerifyStore};

use crate::http::{ApiRequest, ApiResponse, Identity};
use crate::problem::ApiError;
use crate::routes::{Resolved, Route, resolve};
use crate::state::AppState;

/// The error type a function's `main` returns.
pub use runtime::{Error, configured, init_tracing};
use runtime::{shutdown, to_lambda_response};

/// How long an invocation may spend on the usage write it is due (once per
/// interval, before its answer); past it the counts wait for the next one.
const FLUSH_BUDGET: std::time::Duration = std::time::Duration::from_secs(2);

/// Runs one API function: `handler` serves the routes of `function`.
pub async fn serve<S, H, Fut>(
    function: &'static str,
    state: AppState<S>,
    handler: H,
) -> Result<(), Error>
where
    S: store::UsageLog + ApiKeyCharge + Send + Sync + 'static,
    H: Fn(Arc<AppState<S>>, Route, ApiRequest) -> Fut + Copy + Send + Sync + 'static,
    Fut: Future<Output = Result<ApiResponse, ApiError>> + Send + 'static,
{
    let state = Arc::new(state);
    let routes = Route::of_function(function);
    // The usage counts a verify adds up (see `verify::usage`): written at
    // the end of an invocation once the interval has passed, and when Lambda
    // retires the instance (with the leases it holds). A function that
    // checks nothing counts and leases nothing.
    if routes.iter().any(|route| route.checks()) {
        let counting = Arc::clone(&state);
        // Boxed: the caller's future would otherwise hold this one's layout.
        Box::pin(shutdown::on_sigterm(move || async move {
            let counter = &counting.verifier.usage;
            counter
                .flush_within(&counting.store, shutdown::SHUTDOWN_BUDGET)
                .await;
            return_leases(&counting.store, true).await;
        }))
        .await;
    }
    lambda_http::run(service_fn(move |request: lambda_http::Request| {
        let (state, routes) = (Arc::clone(&state), routes.clone());
        async move {
            let counting = Arc::clone(&state);
            // On a task of its own, so a panic becomes this request's 500
            // problem (with no message) and the instance stays warm.
            let served = tokio::spawn(async move {
                handle(request, &routes, |route, api| handler(state, route, api)).await
            })
            .await;
            // Before the answer: once it is sent, Lambda may freeze the
            // instance at any moment, and a write it cut would be lost.
            let counter = &counting.verifier.usage;
            counter.flush_if_due(&counting.store, FLUSH_BUDGET).await;
            return_leases(&counting.store, false).await;
            // This invocation's metrics, as EMF lines on stdout.
            telemetry::emf::write(function);
            Ok::<_, Infallible>(
                served.unwrap_or_else(|_| to_lambda_response(ApiError::panicked().into_response())),
            )
        }
    }))
    .await
}

/// Gives back the leases of hot keys' limits this instance holds: the
/// expired ones before an answer (an instance frozen after it cannot), all of
/// them when Lambda retires it. A failure is logged: what could not go back
/// stays counted as spent.
async fn return_leases<S: ApiKeyCharge>(store: &S, everything: bool) {
    if let Err(error) = store.return_leases(everything).await {
        let reason = crate::problem::chain(&error);
        tracing::warn!(%reason, "leases could not go back");
    }
}

/// One API Gateway request through `handler`, if it is one of `routes`.
pub async fn handle<F, Fut>(
    request: lambda_http::Request,
    routes: &[Route],
    handler: F,
) -> lambda_http::Response<Body>
where
    F: FnOnce(Route, ApiRequest) -> Fut,
    Fut: Future<Output = Result<ApiResponse, ApiError>>,
{
    let started = std::time::Instant::now();
    let request_id = request
        .lambda_context_ref()
        .map(|context| context.request_id.clone())
        .unwrap_or_default();
    let response = match to_api_request(request, routes) {
        Ok((route, api)) => {
            // What the request line names: the route, the caller's tenant
            // and the key it is about (only an id of ours: a path segment
            // is the caller's text), never a secret.
            let tenant = api.identity.tenant.to_string();
            let key_id = api
                .id
                .as_deref()
                .filter(|_| route.template().starts_with("/v1/api-keys/"))
                .and_then(|id| <domain::ApiKeyId as domain::PrefixedId>::parse(id).ok());
            let response = crate::respond(route, api, handler).await;
            tracing::info!(
                request_id,
                route = route.name(),
                status = response.status,
                latency_ms = started.elapsed().as_secs_f64() * 1000.0,
                tenant,
                key_id = key_id.as_ref().map(|id| id.as_str()),
                "request"
            );
            response
        }
        Err(error) => error.into_response(),
    };
    to_lambda_response(response)
}

fn to_api_request(
    request: lambda_http::Request,
    routes: &[Route],
) -> Result<(Route, ApiRequest), ApiError> {
    let context = request.request_context_ref();
    // API Gateway names the route it matched; fall back to the path for
    // invocations that do not say (cargo lambda's own HTTP front, say).
    let named = match context {
        Some(RequestContext::ApiGatewayV2(context)) => {
            context.route_key.as_deref().and_then(Route::from_route_key)
        }
        _ => None,
    };
    let resolved = resolve(request.method().as_str(), request.uri().path());
    let route = match (named, &resolved) {
        (Some(route), _) | (None, &Resolved::Route { route, .. }) => route,
        (None, Resolved::MethodNotAllowed { allowed }) => {
            let allowed = allowed.clone();
            return Err(ApiError::MethodNotAllowed { allowed });
        }
        (None, Resolved::NotFound) => return Err(ApiError::NoRoute),
    };
    if !routes.contains(&route) {
        return Err(ApiError::NoRoute);
    }
    let identity = identity_from_context(context).ok_or(ApiError::Unauthenticated)?;
    let from_path = match resolved {
        Resolved::Route { id, .. } => id,
        _ => None,
    };
    let id = request
        .path_parameters_ref()
        .and_then(|p| p.first("id"))
        .map(str::to_owned)
        .or(from_path);
    let query = request
        .query_string_parameters_ref()
        .map(|params| {
            params
                .iter()
                .flat_map(|(name, _)| {
                    params
                        .all(name)
                        .unwrap_or_default()
                        .into_iter()
                        .map(move |v| (name.to_owned(), v.to_owned()))
                })
                .collect()
        })
        .unwrap_or_default();
    let content_type = request
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let idempotency_key = crate::http::idempotency_key_of(request.headers());
    let body = match request.into_body() {
        Body::Empty => Bytes::new(),
        Body::Text(text) => Bytes::from(text),
        Body::Binary(bytes) => Bytes::from(bytes),
        _ => Bytes::new(),
    };
    let media = crate::http::check_content_type(content_type.as_deref(), &body)?;
    Ok((
        route,
        ApiRequest {
            identity,
            id,
            query,
            body,
            idempotency_key,
            media,
        },
    ))
}

/// The identity the authorizer put in the request context; `None` (and so 401)
/// if anything is missing: the functions never guess who is asking.
fn identity_from_context(context: Option<&RequestContext>) -> Option<Identity> {
    let Some(RequestContext::ApiGatewayV2(context)) = context else {
        return None;
    };
    let fields = &context.authorizer.as_ref()?.fields;
    let text = |name: &str| fields.get(name).and_then(|v| v.as_str());
    Some(Identity {
        tenant: TenantId::parse(text("tenant_id")?).ok()?,
        user: UserId::parse(text("user_id")?).ok()?,
        role: Role::parse(text("role")?).ok()?,
    })
}

/// The authorizer's answer (HTTP API, payload 2.0, simple responses). API
/// Gateway answers 403 itself when `is_authorized` is false.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SimpleResponse {
    pub is_authorized: bool,
    pub context: HashMap<String, String>,
}

/// Runs the key-authorizer function (see [`verify::key_authorizer`]): any
/// event shape in, the matching answer out.
pub async fn serve_key_authorizer<
    S: VerifyStore + store::NamespaceLookup + store::UsageLog + 'static,
>(
    store: S,
    verifier: Verifier,
    config: KeyAuthorizerConfig,
) -> Result<(), Error> {
    let shared = Arc::new((store, verifier, config));
    // Its usage counts, as `serve` writes them: at the end of an invocation
    // once due, and on Lambda's shutdown notice.
    let counting = Arc::clone(&shared);
    Box::pin(shutdown::on_sigterm(move || async move {
        let counter = &counting.1.usage;
        counter
            .flush_within(&counting.0, shutdown::SHUTDOWN_BUDGET)
            .await;
        return_leases(&counting.0, true).await;
    }))
    .await;
    lambda_runtime::run(service_fn(
        move |event: lambda_runtime::LambdaEvent<serde_json::Value>| {
            let shared = Arc::clone(&shared);
            let counting = Arc::clone(&shared);
            async move {
                // On a task of its own, like the API functions: a panic denies
                // this request (the runtime would otherwise report its
                // message, which may quote the request) and the instance
                // stays warm. The task also boxes the deep verify future.
                let payload = event.payload;
                // A denial for this method only: the stage's other routes
                // are not refused with it from API Gateway's cache.
                let denial = key_authorizer::answer(&payload, None, true);
                let decided = tokio::spawn(async move {
                    let (store, verifier, config) = &*shared;
                    key_authorizer::authorize(store, verifier, config, &payload).await
                })
                .await;
                // Before the answer, as in `serve`.
                let counter = &counting.1.usage;
                counter.flush_if_due(&counting.0, FLUSH_BUDGET).await;
                return_leases(&counting.0, false).await;
                telemetry::emf::write("key-authorizer");
                Ok::<_, Infallible>(decided.unwrap_or(denial))
            }
        },
    ))
    .await
}

/// Runs the GitHub secret scanning endpoint (`POST /v1/leaks/github`, no
/// JWT authorizer: the report's signature is its authentication).
pub async fn serve_leak_reports<S, N>(
    store: S,
    verifier: Verifier,
    keys: GithubKeys,
    notifier: N,
) -> Result<(), Error>
where
    S: LeakStore + 'static,
    N: Notifier + 'static,
{
    let shared = Arc::new((store, verifier, keys, notifier));
    lambda_http::run(service_fn(move |request: lambda_http::Request| {
        let shared = Arc::clone(&shared);
        async move {
            let served = tokio::spawn(async move {
                let (store, verifier, keys, notifier) = &*shared;
                leak_report_response(store, verifier, keys, notifier, request).await
            })
            .await;
            let status = served
                .as_ref()
                .map_or(500, |answer| answer.status().as_u16());
            telemetry::metrics::REQUESTS.inc("ReportLeak");
            telemetry::metrics::RESPONSES.inc(telemetry::metrics::status_class(status));
            telemetry::emf::write("leak-report");
            Ok::<_, Infallible>(
                served.unwrap_or_else(|_| to_lambda_response(ApiError::panicked().into_response())),
            )
        }
    }))
    .await
}

async fn leak_report_response<S, N>(
    store: &S,
    verifier: &Verifier,
    keys: &GithubKeys,
    notifier: &N,
    request: lambda_http::Request,
) -> lambda_http::Response<Body>
where
    S: LeakStore,
    N: Notifier,
{
    if request.method() != http::Method::POST {
        let allowed = vec!["POST"];
        return to_lambda_response(ApiError::MethodNotAllowed { allowed }.into_response());
    }
    let body: &[u8] = match request.body() {
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => &[],
    };
    let report = SignedReport::of(request.headers(), body);
    let answer = crate::leak_reports::respond(store, verifier, keys, notifier, report).await;
    to_lambda_response(answer)
}

/// The authorizer's shared parts: bearer JWTs, and service keys looked up
/// in `store` and checked with the data plane's [`Verifier`].
#[derive(Debug)]
pub struct Callers<S> {
    pub tokens: Authenticator,
    pub store: S,
    pub verifier: Verifier,
}

/// Runs the authorizer function.
pub async fn serve_authorizer<S: ServiceKeyLookup + 'static>(
    callers: Callers<S>,
) -> Result<(), Error> {
    let callers = Arc::new(callers);
    lambda_runtime::run(service_fn(
        move |event: lambda_runtime::LambdaEvent<ApiGatewayV2CustomAuthorizerV2Request>| {
            let callers = Arc::clone(&callers);
            async move {
                let decided = authorize(&callers, &event.payload).await;
                let result = match &decided {
                    Ok(answer) if answer.is_authorized => "allowed",
                    Ok(_) => "denied",
                    Err(_) => "failed",
                };
                telemetry::metrics::AUTHORIZATIONS.inc(result);
                telemetry::emf::write("authorizer");
                decided
            }
        },
    ))
    .await
}

/// The authorizer's decision for one request: the route it is for (from its
/// route key), the caller's identity (a JWT's or a service key's), and the
/// permission table. A caller that could not be checked (the table or the
/// hashing failed) is an error, not a denial: API Gateway then answers 500,
/// which a client may retry, where a denial's 403 says "never".
pub async fn authorize<S: ServiceKeyLookup>(
    callers: &Callers<S>,
    request: &ApiGatewayV2CustomAuthorizerV2Request,
) -> Result<SimpleResponse, Error> {
    let deny = SimpleResponse {
        is_authorized: false,
        context: HashMap::new(),
    };
    let Some(route) = request.route_key.as_deref().and_then(Route::from_route_key) else {
        tracing::warn!(route_key = ?request.route_key, "authorizer called for an unknown route");
        return Ok(deny);
    };
    let authorization = request
        .headers
        .get("authorization")
        .and_then(|value| value.to_str().ok());
    let Callers {
        tokens,
        store,
        verifier,
    } = callers;
    match verifier
        .authorize_caller(store, tokens, authorization, route.operation())
        .await
    {
        Ok(identity) => Ok(SimpleResponse {
            is_authorized: true,
            context: HashMap::from([
                ("tenant_id".to_owned(), identity.tenant.to_string()),
                ("user_id".to_owned(), identity.user.to_string()),
                ("role".to_owned(), identity.role.to_string()),
            ]),
        }),
        Err(CallerRefused::Denied(denied)) => {
            tracing::info!(route = %route.route_key(), reason = %denied, "request denied");
            Ok(deny)
        }
        Err(CallerRefused::Unavailable(error)) => {
            let reason = crate::problem::chain(&error);
            tracing::error!(route = %route.route_key(), %reason, "the caller could not be checked");
            Err(error.into())
        }
    }
}
