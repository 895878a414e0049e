//! What keys did: `GET /v1/api-keys/{id}/usage` and
//! `GET /v1/identities/{id}/usage` (one key's, or all of one identity's keys',
//! verifies per hour or day, by outcome) and `GET /v1/usage` (the tenant's,
//! by key, identity, application, Arx or outcome, top first), as JSON or CSV
//! (`format=csv`). Read like the keys themselves: every role that reads keys.

use std::collections::BTreeMap;
use std::sync::Arc;

use domain::{
    ApiKeyId, Granularity, IdentityId, InvalidValue, NamespaceId, OutcomeCounts, Timestamp,
};
use serde::Serialize;
use store::{ApiKeyRead, IdentityStore, NamespaceStore, UsageDetail, UsageLog};

use crate::http::{ApiRequest, ApiResponse};
use crate::problem::ApiError;
use crate::queries::{GroupBy, KeyUsageQuery, TenantUsageQuery};
use crate::routes::Route;
use crate::state::AppState;

/// Every outcome a key's verify is counted as, in the order charts stack
/// them and CSV columns list them (the good, then the refusals).
/// (Outcomes added later come last, so a CSV's columns keep their places.)
pub const OUTCOMES: [&str; 9] = [
    "VALID",
    "INSUFFICIENT_PERMISSIONS",
    "RATE_LIMITED",
    "USAGE_EXCEEDED",
    "DISABLED",
    "EXPIRED",
    "DELETED",
    "ADDRESS_NOT_ALLOWED",
    "ADDRESS_REPORTED",
];

pub async fn handle<S: ApiKeyRead + IdentityStore + UsageLog>(
    state: Arc<AppState<S>>,
    route: Route,
    request: ApiRequest,
) -> Result<ApiResponse, ApiError> {
    // What this process counted and has not written yet goes first, so
    // where verifies and reads share a process (the dev server) the
    // answer is exact; a Lambda serving reads has counted nothing.
    state.verifier.usage.flush(&state.store).await;
    match route {
        Route::GetApiKeyUsage => key_usage(&state, &request).await,
        Route::GetIdentityUsage => identity_usage(&state, &request).await,
        _ => tenant_usage(&state, &request).await,
    }
}

#[derive(Serialize)]
struct Bucket {
    start: Timestamp,
    total: u64,
    counts: OutcomeCounts,
}

/// An identifier a namespace refused today, and how often.
#[derive(Serialize)]
struct Limited {
    identifier: String,
    limited: u64,
}

#[derive(Serialize)]
struct KeyUsage<'a> {
    /// `key_id`, `identity_id` or `namespace_id`, and the id.
    #[serde(flatten, serialize_with = "subject_field")]
    subject: (&'static str, &'a str),
    /// A namespace's: the identifiers it refused most today.
    #[serde(skip_serializing_if = "Option::is_none")]
    top_limited: Option<Vec<Limited>>,
    granularity: Granularity,
    from: Timestamp,
    to: Timestamp,
    total: u64,
    totals: OutcomeCounts,
    /// Every bucket of the range, oldest first; one without a verify is 0.
    buckets: Vec<Bucket>,
}

async fn key_usage<S: ApiKeyRead + UsageLog>(
    state: &AppState<S>,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let asked: KeyUsageQuery = request.query()?;
    let id: ApiKeyId = request.path_id()?;
    let tenant = &request.identity.tenant;
    // Another tenant's key, or none: 404, like every read of a key.
    state
        .store
        .get_api_key(tenant, &id)
        .await?
        .ok_or(ApiError::NotFound { what: "API key" })?;
    let subject = Subject::Key(&id);
    buckets_of(state, request, &asked, subject).await
}

async fn identity_usage<S: IdentityStore + UsageLog>(
    state: &AppState<S>,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let asked: KeyUsageQuery = request.query()?;
    let id: IdentityId = request.path_id()?;
    state
        .store
        .get_identity(&request.identity.tenant, &id)
        .await?
        .ok_or(ApiError::NotFound { what: "identity" })?;
    buckets_of(state, request, &asked, Subject::Identity(&id)).await
}

/// Whose buckets: one key's, one identity's (all its keys'), or one
/// rate-limit namespace's checks.
#[derive(Clone, Copy)]
enum Subject<'a> {
    Key(&'a ApiKeyId),
    Identity(&'a IdentityId),
    Namespace(&'a NamespaceId),
}

impl Subject<'_> {
    /// What its buckets count, in the order CSV columns list them.
    fn outcomes(self) -> &'static [&'static str] {
        match self {
            Self::Key(_) | Self::Identity(_) => &OUTCOMES,
            Self::Namespace(_) => &[store::PASSED, store::LIMITED],
        }
    }

    fn id(self) -> &'static str {
        match self {
            Self::Key(_) => "key_id",
            Self::Identity(_) => "identity_id",
            Self::Namespace(_) => "namespace_id",
        }
    }
}

/// The identifiers a namespace refused most today, at most this many.
const TOP_LIMITED: usize = 10;

/// `GET /v1/ratelimit-namespaces/{id}/usage`: the namespace's checks per hour
/// or day, passed and limited, and the identifiers it refused most today
/// (the tenant's own data, shown to whoever reads its keys).
pub async fn namespace_usage<S: NamespaceStore + UsageLog>(
    state: Arc<AppState<S>>,
    request: ApiRequest,
) -> Result<ApiResponse, ApiError> {
    state.verifier.usage.flush(&state.store).await;
    let asked: KeyUsageQuery = request.query()?;
    let id: NamespaceId = request.path_id()?;
    state
        .store
        .get_namespace(&request.identity.tenant, &id)
        .await?
        .ok_or(ApiError::NotFound {
            what: "rate-limit namespace",
        })?;
    buckets_of(&state, &request, &asked, Subject::Namespace(&id)).await
}

/// Every bucket of the asked range of `subject`, as JSON or CSV.
async fn buckets_of<S: UsageLog>(
    state: &AppState<S>,
    request: &ApiRequest,
    asked: &KeyUsageQuery,
    subject: Subject<'_>,
) -> Result<ApiResponse, ApiError> {
    let granularity = asked.granularity.unwrap_or(Granularity::Hour);
    let default_buckets = match granularity {
        Granularity::Hour => 24,
        Granularity::Day => 30,
    };
    let (from, to) = range(asked.from, asked.to, granularity, default_buckets)?;
    let tenant = &request.identity.tenant;
    let (first, last) = (
        granularity.start_of(from.unix_seconds()),
        granularity.start_of(to.unix_seconds()),
    );
    let stored = match subject {
        Subject::Key(id) => {
            let read = state.store.key_usage(tenant, id, granularity, first, last);
            read.await?
        }
        Subject::Identity(id) => {
            let read = state
                .store
                .identity_usage(tenant, id, granularity, first, last);
            read.await?
        }
        Subject::Namespace(id) => {
            let read = state
                .store
                .namespace_usage(tenant, id, granularity, first, last);
            read.await?
        }
    };
    let stored: BTreeMap<i64, OutcomeCounts> = stored.into_iter().collect();
    let mut totals = OutcomeCounts::default();
    let buckets: Vec<Bucket> = granularity
        .starts(from, to)
        .map(|start| {
            let counts = stored.get(&start).cloned().unwrap_or_default();
            totals.merge(&counts);
            Bucket {
                start: Timestamp::from_unix_seconds(start),
                total: counts.total(),
                counts,
            }
        })
        .collect();
    let name = match subject {
        Subject::Key(id) => id.as_str(),
        Subject::Identity(id) => id.as_str(),
        Subject::Namespace(id) => id.as_str(),
    };
    if asked.csv.unwrap_or(false) {
        let rows = buckets.iter().map(|b| (b.start.to_string(), &b.counts));
        return Ok(ApiResponse::csv(
            csv_of("start", subject.outcomes(), rows),
            &format!("{name}-usage-{}.csv", granularity.as_str()),
        ));
    }
    let top_limited = match subject {
        Subject::Namespace(id) => {
            let today = Granularity::Day.start_of(Timestamp::now().unix_seconds());
            let top = state
                .store
                .namespace_top_limited(tenant, id, today, TOP_LIMITED);
            let top = top.await?.into_iter();
            Some(
                top.map(|(identifier, limited)| Limited {
                    identifier,
                    limited,
                })
                .collect(),
            )
        }
        _ => None,
    };
    Ok(ApiResponse::json(
        200,
        &KeyUsage {
            subject: (subject.id(), name),
            top_limited,
            granularity,
            from,
            to,
            total: totals.total(),
            totals,
            buckets,
        },
    ))
}

#[derive(Serialize)]
struct Group {
    id: String,
    total: u64,
    counts: OutcomeCounts,
}

#[derive(Serialize)]
struct TenantUsage {
    from: Timestamp,
    to: Timestamp,
    group_by: GroupBy,
    total: u64,
    totals: OutcomeCounts,
    /// The busiest first, at most `limit`.
    groups: Vec<Group>,
    /// Whether more groups had verifies than `limit` shows.
    truncated: bool,
}

/// The most days one call reads by key (see `tenant_usage`).
const MAX_KEY_VIEW_DAYS: i64 = 7;

async fn tenant_usage<S: UsageLog>(
    state: &AppState<S>,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let asked: TenantUsageQuery = request.query()?;
    let group_by = asked.group_by.unwrap_or(GroupBy::Application);
    let limit = asked.limit.unwrap_or(10);
    let csv = asked.csv.unwrap_or(false);
    let (from, to) = range(asked.from, asked.to, Granularity::Day, 7)?;
    // By key, a day's counts grow with the tenant's keys: one call reads at
    // most a week of them (as the console asks). Applications, Arx and
    // outcomes come from each day's small summary, over 400 days.
    let detail = match group_by {
        GroupBy::Key | GroupBy::Identity => {
            if to.unix_seconds() - from.unix_seconds() > MAX_KEY_VIEW_DAYS * 86_400 {
                return Err(ApiError::invalid(
                    "from",
                    InvalidValue::Malformed(
                        "must be at most 7 days before to when grouping by key or identity \
                         (by application, Arx or outcome: 400)",
                    ),
                ));
            }
            UsageDetail::WithKeys
        }
        _ => UsageDetail::Summary,
    };
    let days = state
        .store
        .tenant_usage(
            &request.identity.tenant,
            Granularity::Day.start_of(from.unix_seconds()),
            Granularity::Day.start_of(to.unix_seconds()),
            detail,
        )
        .await?;
    let mut grouped: BTreeMap<String, OutcomeCounts> = BTreeMap::new();
    let mut totals = OutcomeCounts::default();
    for day in &days {
        // Totals from the applications: a day that filled up keeps those
        // whole, where its per-key counts may have been cut short.
        for counts in day.by_application.values() {
            totals.merge(counts);
        }
        let by = match group_by {
            GroupBy::Key => &day.by_key,
            GroupBy::Identity => &day.by_identity,
            GroupBy::Application => &day.by_application,
            GroupBy::Arx => &day.by_arx,
            GroupBy::Outcome => {
                for counts in day.by_application.values() {
                    for (outcome, n) in counts.iter() {
                        grouped
                            .entry(outcome.to_owned())
                            .or_default()
                            .add(outcome, n);
                    }
                }
                continue;
            }
        };
        for (id, counts) in by {
            grouped.entry(id.clone()).or_default().merge(counts);
        }
    }
    let mut groups: Vec<Group> = grouped
        .into_iter()
        .map(|(id, counts)| Group {
            id,
            total: counts.total(),
            counts,
        })
        .collect();
    groups.sort_by(|a, b| b.total.cmp(&a.total).then_with(|| a.id.cmp(&b.id)));
    let truncated = groups.len() > limit;
    groups.truncate(limit);
    if csv {
        let rows = groups.iter().map(|g| (g.id.clone(), &g.counts));
        return Ok(ApiResponse::csv(
            csv_of("group", &OUTCOMES, rows),
            "usage.csv",
        ));
    }
    Ok(ApiResponse::json(
        200,
        &TenantUsage {
            from,
            to,
            group_by,
            total: totals.total(),
            totals,
            groups,
            truncated,
        },
    ))
}

/// `from` and `to` as asked (by default the last `default_buckets` buckets,
/// the current one included), refused when reversed, wider than the
/// granularity allows, or reaching past what is kept.
fn range(
    from: Option<Timestamp>,
    to: Option<Timestamp>,
    granularity: Granularity,
    default_buckets: i64,
) -> Result<(Timestamp, Timestamp), ApiError> {
    let now = Timestamp::now();
    let to = to.unwrap_or(now);
    let to = if to > now { now } else { to };
    let from = from.unwrap_or_else(|| {
        let last = granularity.start_of(to.unix_seconds());
        Timestamp::from_unix_seconds(last - (default_buckets - 1) * granularity.seconds())
    });
    if from > to {
        return Err(ApiError::invalid(
            "from",
            InvalidValue::Malformed("must be before to"),
        ));
    }
    if to.unix_seconds() - from.unix_seconds() > granularity.max_span_seconds() {
        return Err(ApiError::invalid(
            "from",
            match granularity {
                Granularity::Hour => InvalidValue::Malformed(
                    "must be at most 7 days before to for hours (ask for days)",
                ),
                Granularity::Day => InvalidValue::Malformed("must be at most 400 days before to"),
            },
        ));
    }
    let kept_since = now.unix_seconds() - granularity.retention_days() * 86_400;
    if from.unix_seconds() < kept_since {
        return Err(ApiError::invalid(
            "from",
            match granularity {
                Granularity::Hour => InvalidValue::Malformed(
                    "must be within the last 90 days: hours are kept 90 days",
                ),
                Granularity::Day => InvalidValue::Malformed(
                    "must be within the last 400 days: days are kept 400 days",
                ),
            },
        ));
    }
    Ok((from, to))
}

/// A CSV of `rows` (a first column named `first`, then the total and every
/// outcome): ids, times and numbers only, nothing to quote.
fn csv_of<'a>(
    first: &str,
    columns: &[&str],
    rows: impl Iterator<Item = (String, &'a OutcomeCounts)>,
) -> String {
    let mut text = format!("{first},total,{}\n", columns.join(","));
    for (label, counts) in rows {
        let cells: Vec<String> = columns.iter().map(|o| counts.get(o).to_string()).collect();
        text.push_str(&format!("{label},{},{}\n", counts.total(), cells.join(",")));
    }
    text
}

/// The subject as one field of the usage: `"key_id": "apikey--…"`.
fn subject_field<S: serde::Serializer>(
    (name, id): &(&'static str, &str),
    serializer: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = serializer.serialize_map(Some(1))?;
    map.serialize_entry(name, id)?;
    map.end()
}
