use serde::{Deserialize, Serialize};

use crate::text::bounded_text;
use crate::{ArxId, AuditAction, AuditEvent, Author, InvalidValue, TenantId, Timestamp, UserId};

bounded_text!(ArxName, max = 100, multiline = false);
bounded_text!(
    /// A short descriptive value of an Arx: provider, region, encryption method,
    /// rotation cycle, plan. Free text because each platform names them its own way.
    Label,
    max = 64,
    multiline = false
);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    Development,
    Testing,
    Staging,
    Production,
}

impl Purpose {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        match raw {
            "development" => Ok(Self::Development),
            "testing" => Ok(Self::Testing),
            "staging" => Ok(Self::Staging),
            "production" => Ok(Self::Production),
            _ => Err(InvalidValue::NotOneOf {
                allowed: "development, testing, staging, production",
            }),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArxStatus {
    Active,
    Disabled,
    /// Gone for good: its keys are deleted by the cleanup cascade.
    Deleted,
}

impl ArxStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Disabled => "disabled",
            Self::Deleted => "deleted",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Arx {
    pub id: ArxId,
    pub tenant_id: TenantId,
    pub name: ArxName,
    pub purpose: Purpose,
    pub provider: Label,
    pub region: Label,
    pub encryption_method: Label,
    pub rotation_cycle: Label,
    pub plan: Label,
    /// Where clients reach this Arx; shown with every new key.
    pub arx_url: String,
    pub status: ArxStatus,
    pub created_at: Timestamp,
    pub created_by: UserId,
    pub updated_at: Timestamp,
}

impl Arx {
    pub fn accepts_new_keys(&self) -> bool {
        self.status == ArxStatus::Active
    }

    /// The Arx moved to `to` by `by`, with its audit event: disabled from
    /// active, enabled from disabled, deleted from either (for good).
    pub fn becomes(&self, to: ArxStatus, by: &Author) -> Result<(Arx, AuditEvent), ArxRefused> {
        let (allowed, action) = match to {
            ArxStatus::Active => (self.status == ArxStatus::Disabled, AuditAction::ArxEnabled),
            ArxStatus::Disabled => (self.status == ArxStatus::Active, AuditAction::ArxDisabled),
            ArxStatus::Deleted => (self.status != ArxStatus::Deleted, AuditAction::ArxDeleted),
        };
        if !allowed {
            return Err(ArxRefused::Status {
                from: self.status,
                to,
            });
        }
        let next = Arx {
            status: to,
            updated_at: by.at(),
            ..self.clone()
        };
        let event = by.event(&self.tenant_id, action, &self.id);
        Ok((next, event))
    }

    /// Refuses a change of a deleted Arx: it has ended.
    pub fn changeable(&self) -> Result<(), ArxRefused> {
        match self.status {
            ArxStatus::Deleted => Err(ArxRefused::Deleted),
            _ => Ok(()),
        }
    }
}

/// Why an Arx may not change so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ArxRefused {
    #[error("the Arx is {} and cannot become {}", from.as_str(), to.as_str())]
    Status { from: ArxStatus, to: ArxStatus },
    #[error("a deleted Arx cannot change")]
    Deleted,
}

impl ArxRefused {
    /// The API's code for it (a 409).
    pub fn code(self) -> &'static str {
        match self {
            Self::Status { .. } => "arx_status",
            Self::Deleted => "arx_deleted",
        }
    }
}
