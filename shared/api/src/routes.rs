//! Every route of the API, once: its method, path template, the operation the
//! permission table knows it by, and the Lambda function that serves it. The
//! dev server, the authorizer, the Lambda adapters and the SAM template test all
//! read this table, so they cannot disagree.

use domain::Operation;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    CreateApiKey,
    ListApiKeys,
    GetApiKey,
    DeleteApiKey,
    RotateApiKey,
    DisableApiKey,
    EnableApiKey,
    UpdateApiKey,
    SubmitFeedback,
    ListApplications,
    CreateApplication,
    GetApplication,
    UpdateApplication,
    ArchiveApplication,
    ListArx,
    CreateArx,
    GetArx,
    UpdateArx,
    DisableArx,
    EnableArx,
    DeleteArx,
    VerifyKey,
    ListAuditEvents,
    CreateServiceKey,
    ListServiceKeys,
    RevokeServiceKey,
    GetApiKeyUsage,
    GetTenantUsage,
}

use Route::*;

impl Route {
    pub const ALL: [Route; 28] = [
        CreateApiKey,
        ListApiKeys,
        GetApiKey,
        DeleteApiKey,
        RotateApiKey,
        DisableApiKey,
        EnableApiKey,
        UpdateApiKey,
        SubmitFeedback,
        ListApplications,
        CreateApplication,
        GetApplication,
        UpdateApplication,
        ArchiveApplication,
        ListArx,
        CreateArx,
        GetArx,
        UpdateArx,
        DisableArx,
        EnableArx,
        DeleteArx,
        VerifyKey,
        ListAuditEvents,
        CreateServiceKey,
        ListServiceKeys,
        RevokeServiceKey,
        GetApiKeyUsage,
        GetTenantUsage,
    ];

    /// `(method, path template)`; `{id}` is the one path parameter.
    pub fn spec(self) -> (&'static str, &'static str) {
        match self {
            CreateApiKey => ("POST", "/v1/api-keys"),
            ListApiKeys => ("GET", "/v1/api-keys"),
            GetApiKey => ("GET", "/v1/api-keys/{id}"),
            DeleteApiKey => ("DELETE", "/v1/api-keys/{id}"),
            RotateApiKey => ("POST", "/v1/api-keys/{id}/rotate"),
            DisableApiKey => ("POST", "/v1/api-keys/{id}/disable"),
            EnableApiKey => ("POST", "/v1/api-keys/{id}/enable"),
            UpdateApiKey => ("PATCH", "/v1/api-keys/{id}"),
            SubmitFeedback => ("POST", "/v1/feedback"),
            ListApplications => ("GET", "/v1/applications"),
            CreateApplication => ("POST", "/v1/applications"),
            GetApplication => ("GET", "/v1/applications/{id}"),
            UpdateApplication => ("PATCH", "/v1/applications/{id}"),
            ArchiveApplication => ("POST", "/v1/applications/{id}/archive"),
            ListArx => ("GET", "/v1/arx"),
            CreateArx => ("POST", "/v1/arx"),
            GetArx => ("GET", "/v1/arx/{id}"),
            UpdateArx => ("PATCH", "/v1/arx/{id}"),
            DisableArx => ("POST", "/v1/arx/{id}/disable"),
            EnableArx => ("POST", "/v1/arx/{id}/enable"),
            DeleteArx => ("DELETE", "/v1/arx/{id}"),
            VerifyKey => ("POST", "/v1/verify"),
            ListAuditEvents => ("GET", "/v1/audit-events"),
            CreateServiceKey => ("POST", "/v1/service-keys"),
            ListServiceKeys => ("GET", "/v1/service-keys"),
            RevokeServiceKey => ("DELETE", "/v1/service-keys/{id}"),
            GetApiKeyUsage => ("GET", "/v1/api-keys/{id}/usage"),
            GetTenantUsage => ("GET", "/v1/usage"),
        }
    }

    pub fn method(self) -> &'static str {
        self.spec().0
    }

    pub fn template(self) -> &'static str {
        self.spec().1
    }

    /// API Gateway's route key: `"GET /v1/api-keys/{id}"`.
    pub fn route_key(self) -> String {
        let (method, template) = self.spec();
        format!("{method} {template}")
    }

    pub fn from_route_key(route_key: &str) -> Option<Route> {
        Self::ALL
            .into_iter()
            .find(|route| route.route_key() == route_key)
    }

    /// The query parameters this route takes; any other is refused (400).
    pub fn query_parameters(self) -> &'static [&'static str] {
        match self {
            CreateApiKey => &["dry_run"],
            GetApiKeyUsage => &["from", "to", "granularity", "format"],
            GetTenantUsage => &["from", "to", "group_by", "limit", "format"],
            ListApiKeys => &[
                "application_id",
                "arx_id",
                "status",
                "include_deleted",
                "name",
                "external_id",
                "order",
                "limit",
                "cursor",
            ],
            ListApplications | ListArx | ListServiceKeys => &["limit", "cursor"],
            ListAuditEvents => &[
                "object_id",
                "actor",
                "action",
                "from",
                "to",
                "limit",
                "cursor",
            ],
            _ => &[],
        }
    }

    /// What the permission table calls this route.
    pub fn operation(self) -> Operation {
        match self {
            CreateApiKey => Operation::CreateApiKey,
            ListApiKeys | GetApiKey | GetApiKeyUsage | GetTenantUsage => Operation::ReadApiKeys,
            DeleteApiKey => Operation::DeleteApiKey,
            RotateApiKey => Operation::RotateApiKey,
            DisableApiKey | EnableApiKey => Operation::SuspendApiKeys,
            UpdateApiKey => Operation::LimitApiKeys,
            SubmitFeedback => Operation::SubmitFeedback,
            ListApplications | GetApplication | ListArx | GetArx => Operation::ReadCatalog,
            CreateApplication | UpdateApplication | ArchiveApplication => {
                Operation::ManageApplications
            }
            CreateArx | UpdateArx | DisableArx | EnableArx | DeleteArx => Operation::ManageArx,
            VerifyKey => Operation::VerifyKey,
            ListAuditEvents => Operation::ReadAuditEvents,
            CreateServiceKey | ListServiceKeys | RevokeServiceKey => Operation::ManageServiceKeys,
        }
    }

    /// Whether a success can change a verify verdict (a key deleted,
    /// rotated (its end moves closer), disabled or enabled, an application
    /// archived, an Arx disabled, enabled or deleted): cached verdicts must go.
    pub fn changes_verdicts(self) -> bool {
        matches!(
            self,
            DeleteApiKey
                | RotateApiKey
                | DisableApiKey
                | EnableApiKey
                | UpdateApiKey
                | ArchiveApplication
                | DisableArx
                | EnableArx
                | DeleteArx
        )
    }

    /// Whether a success can end a caller's access (a service key revoked):
    /// this process's cached answers for service keys must go.
    pub fn revokes_callers(self) -> bool {
        self == RevokeServiceKey
    }

    /// The Lambda function (workspace binary) that serves this route.
    pub fn function(self) -> &'static str {
        match self {
            // Both mint a key: the one function with argon2id's hashing work.
            CreateApiKey | RotateApiKey => "create-api-key",
            ListApiKeys | GetApiKey | GetApiKeyUsage | GetTenantUsage => "list-api-keys",
            DeleteApiKey | DisableApiKey | EnableApiKey | UpdateApiKey => "change-api-key",
            SubmitFeedback => "submit-feedback",
            ListApplications | CreateApplication | GetApplication | UpdateApplication
            | ArchiveApplication => "applications",
            ListArx | CreateArx | GetArx | UpdateArx | DisableArx | EnableArx | DeleteArx => "arx",
            VerifyKey => "verify-key",
            ListAuditEvents => "audit-events",
            CreateServiceKey | ListServiceKeys | RevokeServiceKey => "service-keys",
        }
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
    let mut allowed = Vec::new();
    for route in Route::ALL {
        let Some(id) = match_template(route.template(), path) else {
            continue;
        };
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
        assert_eq!(resolve("GET", "/v1/api-keys//"), Resolved::NotFound);
        assert_eq!(resolve("GET", "/v2/api-keys"), Resolved::NotFound);
        assert_eq!(resolve("GET", "/v1/arx/x/y"), Resolved::NotFound);
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
