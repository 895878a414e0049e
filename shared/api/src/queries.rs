//! Each route's query, declared once as a struct: the names it takes (the
//! route's row in [`crate::routes::TABLE`] reads them, and
//! [`crate::respond`] refuses any other before the handler runs) and how each
//! value parses. A handler asks for its struct ([`ApiRequest::query`]) and
//! gets it parsed once, with every value refused by its name if it does not
//! parse, as axum's `Query<T>` would. Defaults are the handler's.

use std::collections::HashMap;

use domain::{
    ApiKeyId, ApiKeyName, ApiKeyStatus, ApplicationId, ArxId, AuditAction, AuditEventId, Cursor,
    ExternalId, Granularity, IdentityId, InvalidValue, NamespaceId, PageLimit, PrefixedId, RoleId,
    ServiceKeyId, Timestamp, UserId,
};
use serde::Serialize;

use crate::http::ApiRequest;
use crate::problem::ApiError;

impl ApiRequest {
    /// The query parsed into the route's struct (only the values: the
    /// names were checked against the route's row before the handler ran).
    pub fn query<Q: Query>(&self) -> Result<Q, ApiError> {
        Q::parse(&self.params())
    }
}

/// A route's query as a struct.
pub trait Query: Sized {
    /// The parameter names it takes, in the route's row.
    const NAMES: &'static [&'static str];

    fn parse(params: &HashMap<&str, &str>) -> Result<Self, ApiError>;
}

/// Declares a query struct whose fields are all optional, each with its
/// parameter name and parser, and its [`Query`] impl from the same lines.
macro_rules! query {
    ($(#[$doc:meta])* $name:ident {
        $($(#[$field_doc:meta])* $field:ident: $ty:ty = $param:literal, $parse:expr;)*
    }) => {
        $(#[$doc])*
        #[derive(Debug, Default)]
        pub struct $name {
            $($(#[$field_doc])* pub $field: Option<$ty>,)*
        }

        impl Query for $name {
            const NAMES: &'static [&'static str] = &[$($param),*];

            fn parse(params: &HashMap<&str, &str>) -> Result<Self, ApiError> {
                Ok(Self {
                    $($field: optional(params, $param, $parse)?,)*
                })
            }
        }
    };
}

query! {
    /// `POST /v1/api-keys`.
    CreateApiKeyQuery {
        /// Check everything, mint nothing.
        dry_run: bool = "dry_run", boolean;
    }
}

query! {
    /// `POST /v1/api-keys/import`: a CSV body names its application, Arx
    /// and scheme here (a JSON body names them in itself).
    ImportApiKeysQuery {
        /// Check every item, import nothing.
        dry_run: bool = "dry_run", boolean;
        application_id: ApplicationId = "application_id", ApplicationId::parse;
        arx_id: ArxId = "arx_id", ArxId::parse;
        scheme: domain::ImportScheme = "scheme", domain::ImportScheme::parse;
    }
}

query! {
    /// `GET /v1/api-keys`.
    ListApiKeysQuery {
        application_id: ApplicationId = "application_id", ApplicationId::parse;
        arx_id: ArxId = "arx_id", ArxId::parse;
        status: ApiKeyStatus = "status", ApiKeyStatus::parse;
        include_deleted: bool = "include_deleted", boolean;
        name: ApiKeyName = "name", ApiKeyName::parse;
        external_id: ExternalId = "external_id", ExternalId::parse;
        oldest_first: bool = "order", oldest_first;
        limit: PageLimit = "limit", page_limit;
        cursor: Cursor<ApiKeyId> = "cursor", Cursor::decode;
    }
}

query! {
    /// `GET /v1/audit-events`.
    AuditEventsQuery {
        /// An API key, service key, application, Arx, identity or role id.
        object_id: String = "object_id", object_id;
        actor: UserId = "actor", UserId::parse;
        action: AuditAction = "action", AuditAction::parse;
        from: Timestamp = "from", Timestamp::parse;
        to: Timestamp = "to", Timestamp::parse;
        limit: PageLimit = "limit", page_limit;
        cursor: Cursor<AuditEventId> = "cursor", Cursor::decode;
    }
}

query! {
    /// `GET /v1/identities`.
    IdentitiesQuery {
        /// The one identity with this external id (no paging then).
        external_id: ExternalId = "external_id", ExternalId::parse;
        limit: PageLimit = "limit", page_limit;
        cursor: Cursor<IdentityId> = "cursor", Cursor::decode;
    }
}

query! {
    /// `GET /v1/api-keys/{id}/usage`.
    KeyUsageQuery {
        from: Timestamp = "from", Timestamp::parse;
        to: Timestamp = "to", Timestamp::parse;
        granularity: Granularity = "granularity", Granularity::parse;
        csv: bool = "format", csv;
    }
}

query! {
    /// `GET /v1/usage`.
    TenantUsageQuery {
        from: Timestamp = "from", Timestamp::parse;
        to: Timestamp = "to", Timestamp::parse;
        group_by: GroupBy = "group_by", group_by;
        /// How many groups, the busiest first.
        limit: usize = "limit", group_limit;
        csv: bool = "format", csv;
    }
}

/// A page of a list of `Id`s: its size and where the last page ended.
#[derive(Debug)]
pub struct PageQuery<Id> {
    pub limit: Option<PageLimit>,
    pub cursor: Option<Cursor<Id>>,
}

/// The lists that take nothing but a page.
pub type ApplicationsQuery = PageQuery<ApplicationId>;
pub type ArxQuery = PageQuery<ArxId>;
pub type ServiceKeysQuery = PageQuery<ServiceKeyId>;
pub type RolesQuery = PageQuery<RoleId>;
pub type NamespacesQuery = PageQuery<NamespaceId>;

impl<Id: PrefixedId> Query for PageQuery<Id> {
    const NAMES: &'static [&'static str] = &["limit", "cursor"];

    fn parse(params: &HashMap<&str, &str>) -> Result<Self, ApiError> {
        Ok(Self {
            limit: optional(params, "limit", page_limit)?,
            cursor: optional(params, "cursor", Cursor::decode)?,
        })
    }
}

/// What the tenant's usage groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    Key,
    Identity,
    Application,
    Arx,
    Outcome,
}

/// The most groups one answer holds (a dashboard's page of keys and more).
pub const MAX_GROUPS: usize = 1000;

/// A word of `words`, as what it means; any other is refused, listing them.
fn one_of<T: Copy>(
    raw: &str,
    words: &[(&str, T)],
    allowed: &'static str,
) -> Result<T, InvalidValue> {
    let meaning = words
        .iter()
        .find(|(word, _)| *word == raw)
        .map(|(_, meaning)| *meaning);
    meaning.ok_or(InvalidValue::NotOneOf { allowed })
}

/// `true` or `false`, the one way a query parameter says yes or no.
fn boolean(raw: &str) -> Result<bool, InvalidValue> {
    one_of(raw, &[("true", true), ("false", false)], "true, false")
}

/// `newest` (the default) or `oldest` first: whether oldest first.
fn oldest_first(raw: &str) -> Result<bool, InvalidValue> {
    one_of(
        raw,
        &[("newest", false), ("oldest", true)],
        "newest, oldest",
    )
}

/// `json` (the default) or `csv`: whether CSV.
fn csv(raw: &str) -> Result<bool, InvalidValue> {
    one_of(raw, &[("json", false), ("csv", true)], "json, csv")
}

fn group_by(raw: &str) -> Result<GroupBy, InvalidValue> {
    use GroupBy::*;
    let words = [
        ("key", Key),
        ("identity", Identity),
        ("application", Application),
        ("arx", Arx),
        ("outcome", Outcome),
    ];
    one_of(raw, &words, "key, identity, application, arx, outcome")
}

/// A parameter parsed by `parse`, refused with its name if it does not parse.
fn optional<T>(
    params: &HashMap<&str, &str>,
    name: &'static str,
    parse: impl Fn(&str) -> Result<T, InvalidValue>,
) -> Result<Option<T>, ApiError> {
    params
        .get(name)
        .map(|raw| parse(raw).map_err(|reason| ApiError::invalid(name, reason)))
        .transpose()
}

fn page_limit(raw: &str) -> Result<PageLimit, InvalidValue> {
    raw.parse::<i64>()
        .map_err(|_| InvalidValue::Malformed("must be a whole number"))
        .and_then(PageLimit::parse)
}

fn group_limit(raw: &str) -> Result<usize, InvalidValue> {
    raw.parse::<usize>()
        .ok()
        .filter(|n| (1..=MAX_GROUPS).contains(n))
        .ok_or(InvalidValue::OutOfRange {
            min: 1,
            max: MAX_GROUPS as i64,
        })
}

fn object_id(raw: &str) -> Result<String, InvalidValue> {
    let known = <ApiKeyId as PrefixedId>::parse(raw).is_ok()
        || <ServiceKeyId as PrefixedId>::parse(raw).is_ok()
        || <ApplicationId as PrefixedId>::parse(raw).is_ok()
        || <ArxId as PrefixedId>::parse(raw).is_ok()
        || <IdentityId as PrefixedId>::parse(raw).is_ok()
        || <RoleId as PrefixedId>::parse(raw).is_ok()
        || <NamespaceId as PrefixedId>::parse(raw).is_ok();
    if known {
        Ok(raw.to_owned())
    } else {
        Err(InvalidValue::Malformed(
            "must be an API key, service key, application, Arx, identity, role or rate-limit namespace id",
        ))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn params<'a>(pairs: &[(&'a str, &'a str)]) -> HashMap<&'a str, &'a str> {
        pairs.iter().copied().collect()
    }

    #[test]
    fn a_value_that_does_not_parse_is_refused_by_its_name() {
        let refused = ListApiKeysQuery::parse(&params(&[("order", "sideways")]))
            .expect_err("sideways is no order");
        assert!(matches!(&refused, ApiError::InvalidField { field, .. } if field == "order"));
        let refused = TenantUsageQuery::parse(&params(&[("limit", "1001")]))
            .expect_err("past the most groups");
        assert!(matches!(&refused, ApiError::InvalidField { field, .. } if field == "limit"));
    }

    #[test]
    fn values_parse_into_their_fields_and_absent_ones_stay_none() {
        let asked = ListApiKeysQuery::parse(&params(&[
            ("order", "oldest"),
            ("include_deleted", "false"),
            ("limit", "5"),
        ]))
        .expect("all parse");
        assert_eq!(asked.oldest_first, Some(true));
        assert_eq!(asked.include_deleted, Some(false));
        assert_eq!(asked.limit.map(PageLimit::get), Some(5));
        assert!(asked.status.is_none() && asked.cursor.is_none());
        let asked = KeyUsageQuery::parse(&params(&[("format", "csv")])).expect("csv");
        assert_eq!(asked.csv, Some(true));
    }

    proptest! {
        #[test]
        fn no_query_value_panics(value in any::<String>()) {
            for name in [ListApiKeysQuery::NAMES, AuditEventsQuery::NAMES, TenantUsageQuery::NAMES,
                         KeyUsageQuery::NAMES, CreateApiKeyQuery::NAMES, ImportApiKeysQuery::NAMES].concat() {
                let one = params(&[(name, value.as_str())]);
                let _ = ListApiKeysQuery::parse(&one);
                let _ = AuditEventsQuery::parse(&one);
                let _ = TenantUsageQuery::parse(&one);
                let _ = KeyUsageQuery::parse(&one);
                let _ = CreateApiKeyQuery::parse(&one);
                let _ = ImportApiKeysQuery::parse(&one);
                let _ = ServiceKeysQuery::parse(&one);
            }
        }
    }
}
