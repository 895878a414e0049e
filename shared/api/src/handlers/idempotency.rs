//! `Idempotency-Key` on the routes that mint a secret (`POST /v1/api-keys`,
//! `POST /v1/api-keys/{id}/rotate`) and on the import (`POST /v1/api-keys/import`), as the IETF draft names the header and
//! Stripe's rules have it: the first answer is kept for a day (written in the
//! same transaction as the key, so a retry finds both or neither); a retry
//! with the same key and body gets it again, and one with another body is
//! 422. Safer than Stripe on one point: a retry never shows the secret a
//! second time. It gets the same key record with `"replayed": true` (and the
//! `Idempotent-Replayed: true` header), status 200: a client that lost the
//! first answer knows the key exists, and rotates it for a secret.

use domain::TenantId;
use store::{REPLAY_KEPT_SECONDS, Replay, ReplayLookup};

use crate::http::{ApiRequest, ApiResponse};
use crate::problem::ApiError;
use crate::routes::Route;

/// The longest key taken (Stripe's bound).
const MAX_KEY_CHARS: usize = 255;

/// A request's `Idempotency-Key`, checked: where its answer is kept, and
/// what the request was.
#[derive(Debug, Clone)]
pub(super) struct Kept {
    slot: String,
    request_digest: String,
}

impl Kept {
    /// The request's key: none, or 1 to 255 visible ASCII characters (the
    /// draft's quoted form, `"…"`, taken without its quotes). Its answer is
    /// the caller's for this route only.
    pub(super) fn of(request: &ApiRequest, route: Route) -> Result<Option<Self>, ApiError> {
        let Some(raw) = request.idempotency_key.as_deref() else {
            return Ok(None);
        };
        let key = raw.trim();
        let key = key
            .strip_prefix('"')
            .and_then(|key| key.strip_suffix('"'))
            .unwrap_or(key);
        let visible = key.chars().all(|c| c.is_ascii_graphic());
        if key.is_empty() || key.chars().count() > MAX_KEY_CHARS || !visible {
            return Err(ApiError::InvalidField {
                field: "Idempotency-Key".into(),
                reason: format!("must be 1 to {MAX_KEY_CHARS} visible ASCII characters"),
            });
        }
        let route_name = match route {
            Route::RotateApiKey => format!("ROTATE:{}", request.id.as_deref().unwrap_or_default()),
            Route::ImportApiKeys => "IMPORT".to_owned(),
            _ => "CREATE".to_owned(),
        };
        // Hashed: the slot holds no `#` but its own, and none of the key.
        let slot = format!(
            "{}#{}#{}",
            request.identity.user,
            verify::sha256(route_name.as_bytes()),
            verify::sha256(key.as_bytes())
        );
        Ok(Some(Self {
            slot,
            request_digest: verify::sha256(&request.body),
        }))
    }

    /// The answer kept for this key, if any: the replay, or 422 for another
    /// request under the same key.
    pub(super) async fn replayed<S: ReplayLookup>(
        &self,
        store: &S,
        tenant: &TenantId,
    ) -> Result<Option<ApiResponse>, ApiError> {
        let now = domain::Timestamp::now().unix_seconds();
        let Some(kept) = store.replay(tenant, &self.slot, now).await? else {
            return Ok(None);
        };
        if kept.request_digest != self.request_digest {
            return Err(ApiError::IdempotencyKeyReused);
        }
        let answer: serde_json::Value =
            serde_json::from_str(&kept.answer).map_err(ApiError::internal)?;
        let answer = ApiResponse::json(200, &answer)
            .with_header("idempotent-replayed", "true")
            .with_header("cache-control", "no-store");
        Ok(Some(answer))
    }

    /// What to keep of the first answer `answer` (its JSON, which must hold
    /// no secret): the same, marked a replay.
    pub(super) fn replay(&self, tenant: &TenantId, mut answer: serde_json::Value) -> Replay {
        if let Some(fields) = answer.as_object_mut() {
            fields.remove("access_key");
            fields.insert("replayed".into(), true.into());
        }
        Replay {
            tenant_id: tenant.clone(),
            slot: self.slot.clone(),
            request_digest: self.request_digest.clone(),
            answer: answer.to_string(),
            expires: domain::Timestamp::now()
                .unix_seconds()
                .saturating_add(REPLAY_KEPT_SECONDS),
        }
    }
}
