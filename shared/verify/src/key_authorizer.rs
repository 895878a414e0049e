//! The drop-in Lambda authorizer a team attaches to its own API Gateway API:
//! it reads an access key from `x-api-key` or `Authorization: Bearer`,
//! verifies it against our table (the same [`Verifier::verify`] as `POST /v1/verify`),
//! asks of its permissions what the route needs ([`RoutePermissions`]), and
//! passes `tenant_id`, `application_id`, `arx_id`, `key_id`, `permissions`,
//! `external_id` and `meta` to the protected backend as authorizer context.
//!
//! Two event shapes, told apart by the event itself: HTTP API payload 2.0
//! with simple responses (`{"isAuthorized": …, "context": …}`), and REST API
//! `REQUEST` authorizers (an IAM policy). A refused key is a deny: API Gateway
//! answers the caller 403 (HTTP API) or 403 with an explicit deny (REST API);
//! an authorizer cannot choose another status.

use std::collections::BTreeMap;

use domain::{Cost, Identifier, NamespaceName, PermissionQuery, TenantId};
use environment::{ConfigError, Env};
use serde_json::{Value, json};

use crate::check::{Ask, Verifier, VerifyStore};
use crate::verdict::Verdict;

/// What the authorizer accepts: every tenant's keys, or one tenant's.
#[derive(Debug, Clone, Default)]
pub struct KeyAuthorizerConfig {
    /// `KEY_AUTHORIZER_TENANT_ID`: when set, another tenant's key is refused.
    pub tenant: Option<TenantId>,
    /// `KEY_AUTHORIZER_ROUTE_PERMISSIONS`: what each route needs.
    pub routes: RoutePermissions,
    /// `KEY_AUTHORIZER_RATE_LIMIT_NAMESPACE`: a rate-limit namespace (of
    /// the key's tenant) that limits requests by API Gateway's source
    /// address, after the key is good. A tenant without it is not limited.
    pub address_limit: Option<NamespaceName>,
}

impl KeyAuthorizerConfig {
    pub fn from_env(env: &impl Env) -> Result<Self, ConfigError> {
        let tenant = env
            .optional("KEY_AUTHORIZER_TENANT_ID")
            .map(|raw| {
                TenantId::parse(raw.trim()).map_err(|reason| ConfigError::Invalid {
                    name: "KEY_AUTHORIZER_TENANT_ID",
                    reason: reason.to_string(),
                })
            })
            .transpose()?;
        let routes = env
            .optional(RoutePermissions::VARIABLE)
            .map(|raw| {
                RoutePermissions::parse(&raw).map_err(|reason| ConfigError::Invalid {
                    name: RoutePermissions::VARIABLE,
                    reason,
                })
            })
            .transpose()?
            .unwrap_or_default();
        let address_limit = env
            .optional("KEY_AUTHORIZER_RATE_LIMIT_NAMESPACE")
            .map(|raw| {
                NamespaceName::parse(raw.trim()).map_err(|reason| ConfigError::Invalid {
                    name: "KEY_AUTHORIZER_RATE_LIMIT_NAMESPACE",
                    reason: reason.to_string(),
                })
            })
            .transpose()?;
        Ok(Self {
            tenant,
            routes,
            address_limit,
        })
    }
}

/// Which permissions each route of the protected API needs: a JSON object
/// from a route to a permission query, as the verify route takes it.
///
/// ```json
/// {"GET /documents/{id}": "documents.read",
///  "POST /documents": "documents.write",
///  "ANY /admin/{proxy+}": "admin OR (billing.read AND billing.write)",
///  "*": "api.use"}
/// ```
///
/// A route is API Gateway's own: the method and the resource path as the
/// API defines it (`{id}`, not `/documents/42`). A request is matched by
/// its method, then `ANY`, then `*` (every route not named); a route that
/// matches nothing needs only a good key.
#[derive(Debug, Clone, Default)]
pub struct RoutePermissions {
    routes: BTreeMap<String, PermissionQuery>,
}

impl RoutePermissions {
    pub const VARIABLE: &'static str = "KEY_AUTHORIZER_ROUTE_PERMISSIONS";
    /// Every route the map does not name.
    pub const OTHER_ROUTES: &'static str = "*";

    /// The map from its JSON; a refusal names the entry and what is wrong.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let map: BTreeMap<String, String> = serde_json::from_str(raw).map_err(|error| {
            format!("must be a JSON object from routes to permission queries ({error})")
        })?;
        let mut routes = BTreeMap::new();
        for (route, query) in map {
            let key = route_key(&route).ok_or_else(|| {
                format!(
                    "the route {route:?} must be a method and a path (\"GET /documents/{{id}}\", \
                     \"ANY /admin\") or \"*\""
                )
            })?;
            let query = PermissionQuery::parse(&query)
                .map_err(|reason| format!("the permissions of {route:?} {reason}"))?;
            routes.insert(key, query);
        }
        Ok(Self { routes })
    }

    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// What a request of `event` (either shape) needs, if anything.
    pub fn required(&self, event: &Value) -> Option<&PermissionQuery> {
        if self.routes.is_empty() {
            return None;
        }
        let (method, path) = request_route(event).unwrap_or_default();
        let named = |method: &str| self.routes.get(&format!("{method} {path}"));
        named(&method)
            .or_else(|| named("ANY"))
            .or_else(|| self.routes.get(Self::OTHER_ROUTES))
    }
}

/// `GET /documents/{id}` as the map keeps it (the method in capitals, one
/// space), or `*`; `None` if it is neither.
fn route_key(route: &str) -> Option<String> {
    let route = route.trim();
    if route == RoutePermissions::OTHER_ROUTES {
        return Some(route.to_owned());
    }
    let (method, path) = route.split_once(' ')?;
    let path = path.trim();
    let method_ok = !method.is_empty() && method.chars().all(|c| c.is_ascii_alphabetic());
    let path_ok = path.starts_with('/') && !path.chars().any(char::is_whitespace);
    (method_ok && path_ok).then(|| format!("{} {path}", method.to_ascii_uppercase()))
}

/// The request's method and its route's path: an HTTP API's `routeKey`
/// (and the method it was called with, for an `ANY` route), or a REST API's
/// `httpMethod` and `resource`.
fn request_route(event: &Value) -> Option<(String, String)> {
    if let Some(route) = event["routeKey"].as_str() {
        let (route_method, path) = route.split_once(' ')?;
        let method = event["requestContext"]["http"]["method"]
            .as_str()
            .unwrap_or(route_method);
        return Some((method.to_ascii_uppercase(), path.to_owned()));
    }
    let method = event["httpMethod"].as_str()?;
    let path = event["resource"].as_str()?;
    Some((method.to_ascii_uppercase(), path.to_owned()))
}

/// The authorizer's answer to one event (either shape).
pub async fn authorize<S: VerifyStore + store::NamespaceLookup>(
    store: &S,
    verifier: &Verifier,
    config: &KeyAuthorizerConfig,
    event: &Value,
) -> Value {
    let tenant = config.tenant.as_ref();
    let needed = config.routes.required(event);
    let verdict = match presented_key(&event["headers"]) {
        Some(key) => match verifier
            .verify(
                store,
                tenant,
                key,
                &Ask {
                    permissions: needed,
                    address: source_ip(event),
                    ..Ask::ONE
                },
            )
            .await
        {
            Ok(verdict) => Some(verdict),
            Err(error) => {
                // Fail closed: a store or hashing failure denies the request.
                tracing::error!(error = %store::error_chain(&error), "verification failed");
                None
            }
        },
        None => None,
    };
    let mut context = verdict.as_ref().and_then(context_of);
    let mut code = verdict.as_ref().map(|v| code_name(v)).unwrap_or("NO_KEY");
    if let (Some(namespace), Some(key)) = (
        &config.address_limit,
        verdict
            .as_ref()
            .and_then(|v| v.key.as_ref())
            .filter(|_| context.is_some()),
    ) && !within_address_limit(store, verifier, namespace, &key.tenant_id, event).await
    {
        context = None;
        code = "RATE_LIMITED";
    }
    tracing::info!(allowed = context.is_some(), code, "key authorizer decided");
    // With a route map, a REST API's policy allows this method only: API
    // Gateway caches a policy per key, and one for the whole stage would
    // let the key through routes that need more than this one.
    answer(event, context, !config.routes.is_empty())
}

/// Whether the request's source address is within `namespace`'s limit of
/// the key's tenant (counted when it is). No address, or a tenant without
/// the namespace: not limited. The store failing: refused, as a verify that
/// fails is.
async fn within_address_limit<S: VerifyStore + store::NamespaceLookup>(
    store: &S,
    verifier: &Verifier,
    namespace: &NamespaceName,
    tenant: &TenantId,
    event: &Value,
) -> bool {
    let Some(address) = source_ip(event) else {
        return true;
    };
    let Ok(identifier) = Identifier::parse(&address.to_string()) else {
        return true;
    };
    let ask = crate::LimitAsk {
        namespace: namespace.clone(),
        identifier,
        cost: Cost::ONE,
        limit: None,
        duration: None,
    };
    let limiter = &verifier.rate_limits;
    match limiter
        .check_counted(store, &verifier.usage, tenant, &[ask])
        .await
    {
        Ok(answers) => answers.iter().all(|answer| answer.success),
        Err(crate::LimitError::NoNamespace(_)) => true,
        Err(crate::LimitError::Check(error)) => {
            tracing::error!(%error, "the address limit could not be checked");
            false
        }
    }
}

/// A REST API's resource path as an IAM resource pattern: each path
/// parameter (`{id}`, `{proxy+}`) becomes `*`, which IAM matches across `/`
/// too, as a greedy `{proxy+}` needs.
fn route_pattern(route: &str) -> String {
    route
        .split('/')
        .map(|segment| {
            if segment.starts_with('{') && segment.ends_with('}') {
                "*"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The answer in the event's own shape: allowed with `context`, or denied;
/// a REST API's policy for this method only when `per_method`, else the stage.
pub fn answer(
    event: &Value,
    context: Option<BTreeMap<&'static str, String>>,
    per_method: bool,
) -> Value {
    let rest = event["type"] == "REQUEST" && event.get("methodArn").is_some();
    if rest {
        rest_response(event, context, per_method)
    } else {
        json!({
            "isAuthorized": context.is_some(),
            "context": context.unwrap_or_default(),
        })
    }
}

/// The key from `x-api-key`, else from `Authorization: Bearer`; header names
/// in any case (REST API passes them as sent).
fn presented_key(headers: &Value) -> Option<&str> {
    let headers = headers.as_object()?;
    let header = |wanted: &str| {
        headers
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(wanted))
            .and_then(|(_, value)| value.as_str())
    };
    if let Some(key) = header("x-api-key") {
        return Some(key.trim());
    }
    let (scheme, token) = header("authorization")?.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// The end user's address as API Gateway itself saw the connection: the
/// HTTP API's `requestContext.http.sourceIp` (payload 2.0), or
/// `requestContext.identity.sourceIp` (payload 1.0 and REST APIs). Never a
/// header: `X-Forwarded-For` is whatever the caller wrote.
pub fn source_ip(event: &Value) -> Option<std::net::IpAddr> {
    let context = &event["requestContext"];
    [
        &context["http"]["sourceIp"],
        &context["identity"]["sourceIp"],
    ]
    .into_iter()
    .find_map(|ip| ip.as_str()?.parse().ok())
}

fn context_of(verdict: &Verdict) -> Option<BTreeMap<&'static str, String>> {
    let key = verdict.key.as_ref().filter(|_| verdict.valid)?;
    let mut context = BTreeMap::from([
        ("tenant_id", key.tenant_id.to_string()),
        ("application_id", key.application_id.to_string()),
        ("arx_id", key.arx_id.to_string()),
        ("key_id", key.key_id.to_string()),
    ]);
    // A key with limits: the backend may pass on what is left.
    if let Some(remaining) = verdict.remaining {
        context.insert("remaining", remaining.to_string());
    }
    // Context values are strings (a REST API takes nothing else): the
    // permissions as a JSON list, the meta as the JSON object it is.
    let permissions: Vec<&str> = key.permissions.iter().map(|p| p.as_str()).collect();
    context.insert("permissions", json!(permissions).to_string());
    if let Some(owner) = &key.external_id {
        context.insert("external_id", owner.to_string());
    }
    if let Some(meta) = &key.meta {
        context.insert("meta", meta.to_json());
    }
    // The customer the key belongs to (its `external_id` is above).
    if let Some(identity) = &key.identity {
        context.insert("identity_id", identity.id.to_string());
        if let Some(meta) = &identity.meta {
            context.insert("identity_meta", meta.to_json());
        }
    }
    Some(bounded(context))
}

/// The most an authorizer's context may carry, names and values together.
/// API Gateway documents no single limit for every API type (WebSocket APIs
/// take 8 KB of authorizer result; an HTTP API's request line and headers
/// 10,240 bytes, where a backend often maps the context), and a key's
/// permissions (up to 100 names of 100 characters) and meta (4 KB) can
/// together pass all of them: so the context stays under 6 KB, leaving room
/// for the policy and the caller's own headers.
pub const MAX_CONTEXT_BYTES: usize = 6 * 1024;

/// `context` within [`MAX_CONTEXT_BYTES`]: the identity's meta goes first,
/// then the key's, then the permissions, each leaving `identity_meta_omitted`,
/// `meta_omitted` / `permissions_omitted` set to
/// `"true"` so the backend knows to ask the verify route for them. The ids
/// and `remaining` are a few hundred bytes and always stay.
fn bounded(mut context: BTreeMap<&'static str, String>) -> BTreeMap<&'static str, String> {
    let size = |context: &BTreeMap<&'static str, String>| -> usize {
        context
            .iter()
            .map(|(name, value)| name.len() + value.len())
            .sum()
    };
    for (field, flag) in [
        ("identity_meta", "identity_meta_omitted"),
        ("meta", "meta_omitted"),
        ("permissions", "permissions_omitted"),
    ] {
        if size(&context) <= MAX_CONTEXT_BYTES {
            break;
        }
        if context.remove(field).is_some() {
            context.insert(flag, "true".into());
        }
    }
    context
}

fn code_name(verdict: &Verdict) -> &'static str {
    verdict.code.as_str()
}

/// A REST API answer: an IAM policy and the context. The principal is the
/// key's id, never the key.
///
/// API Gateway keeps the policy for as long as it caches a decision, per
/// identity source, and judges each later request with the same sources by
/// it against that request's own method ARN. So the policy covers exactly
/// what its cache entry covers: the whole stage without a route map (the
/// key is the identity); with one, the method and route (the identity adds
/// `context.httpMethod` and `context.resourcePath`), its path parameters as
/// `*`: `GET /orders/{id}` allows `…/GET/orders/*`, so a decision cached
/// for `/orders/42` also answers `/orders/43`, as it must.
fn rest_response(
    event: &Value,
    context: Option<BTreeMap<&'static str, String>>,
    per_method: bool,
) -> Value {
    let method_arn = event["methodArn"].as_str().unwrap_or_default();
    // arn:aws:execute-api:region:account:api-id/stage/METHOD/path
    let resource = match method_arn.splitn(4, '/').collect::<Vec<_>>().as_slice() {
        [api, stage, ..] if !per_method => format!("{api}/{stage}/*"),
        [api, stage, method, ..] => match event["resource"].as_str() {
            Some(route) => format!("{api}/{stage}/{method}{}", route_pattern(route)),
            None => method_arn.to_owned(),
        },
        _ => method_arn.to_owned(),
    };
    let allowed = context.is_some();
    let principal = context
        .as_ref()
        .and_then(|c| c.get("key_id").cloned())
        .unwrap_or_else(|| "anonymous".into());
    json!({
        "principalId": principal,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{
                "Action": "execute-api:Invoke",
                "Effect": if allowed { "Allow" } else { "Deny" },
                "Resource": resource,
            }],
        },
        "context": context.unwrap_or_default(),
    })
}
