//! `POST /v1/feedback`: stored, and published to SNS when a topic is configured.

use std::sync::Arc;

use domain::{Feedback, FeedbackId, FeedbackMessage, PageRef, Rating, Timestamp};
use serde::Deserialize;
use store::FeedbackStore;

use crate::http::{ApiRequest, ApiResponse};
use crate::problem::{ApiError, chain};
use crate::routes::Route;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FeedbackBody {
    message: FeedbackMessage,
    rating: Option<Rating>,
    page: Option<PageRef>,
}

pub async fn handle<S: FeedbackStore>(
    state: Arc<AppState<S>>,
    _route: Route,
    request: ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let body: FeedbackBody = request.json()?;
    let identity = &request.identity;
    let feedback = Feedback {
        id: FeedbackId::new(),
        tenant_id: identity.tenant.clone(),
        user_id: identity.user.clone(),
        role: identity.role,
        page: body.page,
        message: body.message,
        rating: body.rating,
        created_at: Timestamp::now(),
    };
    state.store.put_feedback(&feedback).await?;
    if let Some(topic) = &state.feedback_topic {
        // The feedback is already stored: a failed notification is logged, not
        // turned into an error the user can do nothing about.
        if let Err(error) = topic.publish(&feedback).await {
            tracing::error!(feedback_id = %feedback.id, error = %chain(error.as_ref()), "feedback not published");
        }
    }
    tracing::info!(feedback_id = %feedback.id, tenant = %identity.tenant, "feedback received");
    Ok(ApiResponse::json(
        201,
        &serde_json::json!({ "id": feedback.id }),
    ))
}
