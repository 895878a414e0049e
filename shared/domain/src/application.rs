use serde::{Deserialize, Serialize};

use crate::text::bounded_text;
use crate::{
    ApplicationId, AuditAction, AuditEvent, Author, InvalidValue, TenantId, Timestamp, UserId,
};

bounded_text!(ApplicationName, max = 100, multiline = false);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Technology {
    Server,
    /// A browser or mobile client: it calls Arx from allowed CORS origins.
    Client,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationStatus {
    Active,
    /// Gets no new keys; its keys are deleted by the cleanup cascade.
    Archived,
}

impl ApplicationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Archived => "archived",
        }
    }
}

/// A web origin, `scheme://host[:port]`, as browsers send it in `Origin`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CorsOrigin(String);

impl CorsOrigin {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        const SHAPE: &str = "must be an origin like https://app.example.com[:port], with no path";
        let rest = raw
            .strip_prefix("https://")
            .or_else(|| raw.strip_prefix("http://"))
            .ok_or(InvalidValue::Malformed(SHAPE))?;
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (rest, None),
        };
        let host_ok = !host.is_empty()
            && host.len() <= 253
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
        let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|n| n > 0));
        if !host_ok || !port_ok {
            return Err(InvalidValue::Malformed(SHAPE));
        }
        Ok(Self(raw.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for CorsOrigin {
    type Error = InvalidValue;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<CorsOrigin> for String {
    fn from(origin: CorsOrigin) -> String {
        origin.0
    }
}

/// At most this many CORS origins per client application.
pub const MAX_CORS_ORIGINS: usize = 20;

/// Only a client application has CORS origins; a server application has none.
pub fn check_cors_origins(
    technology: Technology,
    origins: &[CorsOrigin],
) -> Result<(), InvalidValue> {
    match technology {
        Technology::Server if !origins.is_empty() => Err(InvalidValue::Malformed(
            "only a client application has CORS origins",
        )),
        _ if origins.len() > MAX_CORS_ORIGINS => Err(InvalidValue::TooLong {
            max: MAX_CORS_ORIGINS,
        }),
        _ => Ok(()),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Application {
    pub id: ApplicationId,
    pub tenant_id: TenantId,
    pub name: ApplicationName,
    pub technology: Technology,
    pub cors_origins: Vec<CorsOrigin>,
    pub status: ApplicationStatus,
    pub created_at: Timestamp,
    pub created_by: UserId,
    pub updated_at: Timestamp,
}

impl Application {
    pub fn accepts_new_keys(&self) -> bool {
        self.status == ApplicationStatus::Active
    }

    /// Archived by `by` (for good: its keys are deleted by the cleanup
    /// cascade), with its audit event.
    pub fn archive(&self, by: &Author) -> Result<(Application, AuditEvent), ApplicationRefused> {
        self.changeable()
            .map_err(|_| ApplicationRefused::AlreadyArchived)?;
        let next = Application {
            status: ApplicationStatus::Archived,
            updated_at: by.at(),
            ..self.clone()
        };
        let event = by.event(&self.tenant_id, AuditAction::ApplicationArchived, &self.id);
        Ok((next, event))
    }

    /// Refuses a change of an archived application: it has ended.
    pub fn changeable(&self) -> Result<(), ApplicationRefused> {
        match self.status {
            ApplicationStatus::Archived => Err(ApplicationRefused::Archived),
            ApplicationStatus::Active => Ok(()),
        }
    }
}

/// Why an application may not change so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ApplicationRefused {
    #[error("an archived application cannot change")]
    Archived,
    #[error("this application is already archived")]
    AlreadyArchived,
}

impl ApplicationRefused {
    /// The API's code for it (a 409).
    pub fn code(self) -> &'static str {
        match self {
            Self::Archived => "application_archived",
            Self::AlreadyArchived => "already_archived",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_scheme_host_and_port_only() {
        assert!(CorsOrigin::parse("https://app.example.com").is_ok());
        assert!(CorsOrigin::parse("http://localhost:5173").is_ok());
        assert!(CorsOrigin::parse("https://app.example.com/path").is_err());
        assert!(CorsOrigin::parse("ftp://example.com").is_err());
        assert!(CorsOrigin::parse("https://").is_err());
        assert!(CorsOrigin::parse("https://a.com:99999").is_err());
        assert!(CorsOrigin::parse("*").is_err());
    }

    #[test]
    fn only_clients_have_origins() {
        let origin = CorsOrigin::parse("https://a.example").expect("valid");
        assert!(check_cors_origins(Technology::Client, std::slice::from_ref(&origin)).is_ok());
        assert!(check_cors_origins(Technology::Server, &[origin]).is_err());
        assert!(check_cors_origins(Technology::Server, &[]).is_ok());
    }
}
