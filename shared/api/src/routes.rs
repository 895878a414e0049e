//! Every route of the API, once, one row each ([`TABLE`]): its method, path
//! template, the operation the permission table knows it by, the Lambda
//! function that serves it, the query it takes and what a success does to
//! caches. The dev server, the authorizer, the Lambda adapters and the tests
//! of the template, the OpenAPI description and the README all read it.

use domain::Operation;

use crate::queries::{
    ApplicationsQuery, ArxQuery, AuditEventsQuery, CreateApiKeyQuery, IdentitiesQuery,
    ImportApiKeysQuery, KeyUsageQuery, ListApiKeysQuery, NamespacesQuery, Query, RolesQuery,
    ServiceKeysQuery, TenantUsageQuery,
};

/// Everything about one route, declared once: a row of [`TABLE`]. Dispatch,
/// each function's route set, the authorizer's permission check and the
/// query parameters a route takes all read it; tests hold the template, the
/// OpenAPI description and the README's route table to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteRow {
    pub route: Route,
    pub method: &'static str,
    /// The path template; `{id}` is the one path parameter.
    pub path: &'static str,
    /// What the permission table calls it.
    pub operation: Operation,
    /// The Lambda function (workspace binary) that serves it.
    pub function: &'static str,
    /// The query parameters it takes (its [`Query`] struct's names); any
    /// other is refused (400).
    pub query: &'static [&'static str],
    /// What a success does to what a process holds in memory.
    pub effect: Effect,
}

/// What a route's success does to what a process has cached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    None,
    /// It can change a verify verdict (a key deleted, rotated (its end moves
    /// closer), disabled, enabled or changed; an application archived; an
    /// Arx disabled, enabled or deleted): cached verdicts must go.
    ChangesVerdicts,
    /// It can end a caller's access (a service key revoked): cached answers
    /// for service keys must go.
    RevokesCallers,
    /// It changes a rate-limit namespace or its overrides: cached
    /// namespaces must go.
    ChangesRateLimits,
}

/// Declares [`Route`] and [`TABLE`] from the same rows, so a route cannot
/// be one without the other.
macro_rules! routes {
    ($($route:ident: $method:ident $path:literal, $operation:ident, $function:literal,
        $query:expr, $effect:ident;)*) => {
        /// A route of the API; its facts are its row of [`TABLE`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Route {
            $($route,)*
        }

        impl Route {
            /// Every route, in the table's order.
            pub const ALL: [Route; TABLE.len()] = [$(Route::$route),*];

            /// Its name in the table (`VerifyKey`): a metric's label, a log's field.
            pub fn name(self) -> &'static str {
                match self {
                    $(Route::$route => stringify!($route),)*
                }
            }
        }

        /// Every route, one row each, in [`Route`]'s order.
        pub const TABLE: [RouteRow; [$(Route::$route),*].len()] = [
            $(RouteRow {
                route: Route::$route,
                method: stringify!($method),
                path: $path,
                operation: Operation::$operation,
                function: $function,
                query: $query,
                effect: Effect::$effect,
            },)*
        ];
    };
}

// route: method path, operation, function, query, effect.
// create-api-key: the routes that mint or import keys (argon2id's hashing work in one function).
routes! {
    CreateApiKey: POST "/v1/api-keys", CreateApiKey, "create-api-key", CreateApiKeyQuery::NAMES, None;
    ImportApiKeys: POST "/v1/api-keys/import", ChangeApiKeys, "create-api-key", ImportApiKeysQuery::NAMES, ChangesVerdicts;
    ListApiKeys: GET "/v1/api-keys", ReadApiKeys, "list-api-keys", ListApiKeysQuery::NAMES, None;
    GetApiKey: GET "/v1/api-keys/{id}", ReadApiKeys, "list-api-keys", &[], None;
    DeleteApiKey: DELETE "/v1/api-keys/{id}", DeleteApiKey, "change-api-key", &[], ChangesVerdicts;
    RotateApiKey: POST "/v1/api-keys/{id}/rotate", RotateApiKey, "create-api-key", &[], ChangesVerdicts;
    DisableApiKey: POST "/v1/api-keys/{id}/disable", SuspendApiKeys, "change-api-key", &[], ChangesVerdicts;
    EnableApiKey: POST "/v1/api-keys/{id}/enable", SuspendApiKeys, "change-api-key", &[], ChangesVerdicts;
    UpdateApiKey: PATCH "/v1/api-keys/{id}", ChangeApiKeys, "change-api-key", &[], ChangesVerdicts;
    SubmitFeedback: POST "/v1/feedback", SubmitFeedback, "submit-feedback", &[], None;
    ListApplications: GET "/v1/applications", ReadCatalog, "applications", ApplicationsQuery::NAMES, None;
    CreateApplication: POST "/v1/applications", ManageApplications, "applications", &[], None;
    GetApplication: GET "/v1/applications/{id}", ReadCatalog, "applications", &[], None;
    UpdateApplication: PATCH "/v1/applications/{id}", ManageApplications, "applications", &[], None;
    ArchiveApplication: POST "/v1/applications/{id}/archive", ManageApplications, "applications", &[], ChangesVerdicts;
    ListArx: GET "/v1/arx", ReadCatalog, "arx", ArxQuery::NAMES, None;
    CreateArx: POST "/v1/arx", ManageArx, "arx", &[], None;
    GetArx: GET "/v1/arx/{id}", ReadCatalog, "arx", &[], None;
    UpdateArx: PATCH "/v1/arx/{id}", ManageArx, "arx", &[], None;
    DisableArx: POST "/v1/arx/{id}/disable", ManageArx, "arx", &[], ChangesVerdicts;
    EnableArx: POST "/v1/arx/{id}/enable", ManageArx, "arx", &[], ChangesVerdicts;
    DeleteArx: DELETE "/v1/arx/{id}", ManageArx, "arx", &[], ChangesVerdicts;
    VerifyKey: POST "/v1/verify", VerifyKey, "verify-key", &[], None;
    ListAuditEvents: GET "/v1/audit-events", ReadAuditEvents, "audit-events", AuditEventsQuery::NAMES, None;
    CreateServiceKey: POST "/v1/service-keys", ManageServiceKeys, "service-keys", &[], None;
    ListServiceKeys: GET "/v1/service-keys", ManageServiceKeys, "service-keys", ServiceKeysQuery::NAMES, None;
    RevokeServiceKey: DELETE "/v1/service-keys/{id}", ManageServiceKeys, "service-keys", &[], RevokesCallers;
    GetApiKeyUsage: GET "/v1/api-keys/{id}/usage", ReadApiKeys, "list-api-keys", KeyUsageQuery::NAMES, None;
    GetTenantUsage: GET "/v1/usage", ReadApiKeys, "list-api-keys", TenantUsageQuery::NAMES, None;
    CreateIdentity: POST "/v1/identities", ChangeApiKeys, "identities", &[], ChangesVerdicts;
    ListIdentities: GET "/v1/identities", ReadApiKeys, "identities", IdentitiesQuery::NAMES, None;
    GetIdentity: GET "/v1/identities/{id}", ReadApiKeys, "identities", &[], None;
    UpdateIdentity: PATCH "/v1/identities/{id}", ChangeApiKeys, "identities", &[], ChangesVerdicts;
    DeleteIdentity: DELETE "/v1/identities/{id}", ChangeApiKeys, "identities", &[], ChangesVerdicts;
    GetIdentityUsage: GET "/v1/identities/{id}/usage", ReadApiKeys, "identities", KeyUsageQuery::NAMES, None;
    CreateRole: POST "/v1/roles", ChangeApiKeys, "roles", &[], ChangesVerdicts;
    ListRoles: GET "/v1/roles", ReadApiKeys, "roles", RolesQuery::NAMES, None;
    GetRole: GET "/v1/roles/{id}", ReadApiKeys, "roles", &[], None;
    UpdateRole: PATCH "/v1/roles/{id}", ChangeApiKeys, "roles", &[], ChangesVerdicts;
    DeleteRole: DELETE "/v1/roles/{id}", ChangeApiKeys, "roles", &[], ChangesVerdicts;
    CreateRateLimitNamespace: POST "/v1/ratelimit-namespaces", ChangeApiKeys, "ratelimit-namespaces", &[], ChangesRateLimits;
    ListRateLimitNamespaces: GET "/v1/ratelimit-namespaces", ReadApiKeys, "ratelimit-namespaces", NamespacesQuery::NAMES, None;
    GetRateLimitNamespace: GET "/v1/ratelimit-namespaces/{id}", ReadApiKeys, "ratelimit-namespaces", &[], None;
    UpdateRateLimitNamespace: PATCH "/v1/ratelimit-namespaces/{id}", ChangeApiKeys, "ratelimit-namespaces", &[], ChangesRateLimits;
    DeleteRateLimitNamespace: DELETE "/v1/ratelimit-namespaces/{id}", ChangeApiKeys, "ratelimit-namespaces", &[], ChangesRateLimits;
    ListRateLimitOverrides: GET "/v1/ratelimit-namespaces/{id}/overrides", ReadApiKeys, "ratelimit-namespaces", &[], None;
    SetRateLimitOverride: PUT "/v1/ratelimit-namespaces/{id}/overrides", ChangeApiKeys, "ratelimit-namespaces", &[], ChangesRateLimits;
    RemoveRateLimitOverride: DELETE "/v1/ratelimit-namespaces/{id}/overrides", ChangeApiKeys, "ratelimit-namespaces", &[], ChangesRateLimits;
    GetRateLimitNamespaceUsage: GET "/v1/ratelimit-namespaces/{id}/usage", ReadApiKeys, "ratelimit-namespaces", KeyUsageQuery::NAMES, None;
    // ratelimit: the data plane's second check, beside verify-key.
    LimitRate: POST "/v1/ratelimit", VerifyKey, "ratelimit", &[], None;
    LimitRateMany: POST "/v1/ratelimit/many", VerifyKey, "ratelimit", &[], None;
}

impl Route {
    /// This route's row.
    pub fn row(self) -> &'static RouteRow {
        &TABLE[self as usize]
    }

    pub fn method(self) -> &'static str {
        self.row().method
    }

    pub fn template(self) -> &'static str {
        self.row().path
    }

    /// API Gateway's route key: `"GET /v1/api-keys/{id}"`.
    pub fn route_key(self) -> String {
        format!("{} {}", self.method(), self.template())
    }

    pub fn from_route_key(route_key: &str) -> Option<Route> {
        Self::ALL
            .into_iter()
            .find(|route| route.route_key() == route_key)
    }

    /// The query parameters this route takes; any other is refused (400).
    pub fn query_parameters(self) -> &'static [&'static str] {
        self.row().query
    }

    /// What the permission table calls this route.
    pub fn operation(self) -> Operation {
        self.row().operation
    }

    /// Whether a success can change a verify verdict ([`Effect::ChangesVerdicts`]).
    pub fn changes_verdicts(self) -> bool {
        self.row().effect == Effect::ChangesVerdicts
    }

    /// Whether a success can end a caller's access ([`Effect::RevokesCallers`]).
    pub fn revokes_callers(self) -> bool {
        self.row().effect == Effect::RevokesCallers
    }

    /// Whether a success changes a rate-limit namespace ([`Effect::ChangesRateLimits`]).
    pub fn changes_rate_limits(self) -> bool {
        self.row().effect == Effect::ChangesRateLimits
    }

    /// Whether it is a check of the data plane (a key, a rate limit): it
    /// counts usage and charges limits, leases included.
    pub fn checks(self) -> bool {
        matches!(
            self,
            Route::VerifyKey | Route::LimitRate | Route::LimitRateMany
        )
    }

    /// The Lambda function (workspace binary) that serves this route.
    pub fn function(self) -> &'static str {
        self.row().function
    }

    /// The routes one function serves.
    pub fn of_function(function: &str) -> Vec<Route> {
        Self::ALL
            .into_iter()
            .filter(|route| route.function() == function)
            .collect()
    }
}

/// What a request path and method resolve to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    Route {
        route: Route,
        id: Option<String>,
    },
    /// The path exists, but not with this method.
    MethodNotAllowed {
        allowed: Vec<&'static str>,
    },
    NotFound,
}

/// Matches a concrete path (no query) against the route table.
pub fn resolve(method: &str, path: &str) -> Resolved {
    let path = path
        .strip_suffix('/')
        .filter(|p| !p.is_empty())
        .unwrap_or(path);
    // A path a route names in full (`/v1/api-keys/import`) is that route's
    // alone: another method there is 405, never the `{id}` route beside it
    // with "import" for an id.
    let matches: Vec<(Route, Option<String>)> = Route::ALL
        .into_iter()
        .filter_map(|route| Some((route, match_template(route.template(), path)?)))
        .collect();
    let literal = matches.iter().any(|(_, id)| id.is_none());
    let mut allowed = Vec::new();
    for (route, id) in matches {
        if literal && id.is_some() {
            continue;
        }
        if route.method() == method {
            return Resolved::Route { route, id };
        }
        allowed.push(route.method());
    }
    if allowed.is_empty() {
        Resolved::NotFound
    } else {
        Resolved::MethodNotAllowed { allowed }
    }
}

/// `Some(id)` if `path` fits `template` (`Some(None)` when it has no `{id}`).
fn match_template(template: &str, path: &str) -> Option<Option<String>> {
    let mut id = None;
    let mut template_parts = template.split('/');
    let mut path_parts = path.split('/');
    loop {
        match (template_parts.next(), path_parts.next()) {
            (None, None) => return Some(id),
            (Some("{id}"), Some(part)) if !part.is_empty() => id = Some(part.to_owned()),
            (Some(expected), Some(part)) if expected == part => {}
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Route::*;
    use super::*;

    #[test]
    fn resolves_paths_methods_and_ids() {
        assert_eq!(
            resolve("GET", "/v1/api-keys/apikey--1"),
            Resolved::Route {
                route: GetApiKey,
                id: Some("apikey--1".into())
            }
        );
        assert_eq!(
            resolve("POST", "/v1/api-keys/"),
            Resolved::Route {
                route: CreateApiKey,
                id: None
            }
        );
        assert_eq!(
            resolve("POST", "/v1/arx/x/disable"),
            Resolved::Route {
                route: DisableArx,
                id: Some("x".into())
            }
        );
        assert_eq!(
            resolve("PUT", "/v1/feedback"),
            Resolved::MethodNotAllowed {
                allowed: vec!["POST"]
            }
        );
        // A path named in full is its route's: no `{id}` route takes it.
        assert_eq!(
            resolve("PATCH", "/v1/api-keys/import"),
            Resolved::MethodNotAllowed {
                allowed: vec!["POST"]
            }
        );
        assert_eq!(
            resolve("POST", "/v1/api-keys/import"),
            Resolved::Route {
                route: ImportApiKeys,
                id: None
            }
        );
        assert_eq!(resolve("GET", "/v1/api-keys//"), Resolved::NotFound);
        assert_eq!(resolve("GET", "/v2/api-keys"), Resolved::NotFound);
        assert_eq!(resolve("GET", "/v1/arx/x/y"), Resolved::NotFound);
    }

    #[test]
    fn the_table_is_in_the_order_of_the_routes() {
        for (at, row) in TABLE.iter().enumerate() {
            assert_eq!(row.route as usize, at, "{:?} is out of place", row.route);
        }
    }

    #[test]
    fn route_keys_round_trip_and_every_route_has_one_function() {
        for route in Route::ALL {
            assert_eq!(Route::from_route_key(&route.route_key()), Some(route));
            assert!(Route::of_function(route.function()).contains(&route));
        }
        assert_eq!(Route::from_route_key("GET /v1/nothing"), None);
    }
}
