//! What becomes of a key a team imported: made as it was stored, then
//! rehashed with ours at its first use (see [`crate::import`]).

use super::{Author, Issue, KeySettings};
use crate::{
    ApiKey, ApiKeyStatus, AuditAction, AuditEvent, KeyChange, KeyLocator, SecretHash, TenantId,
};

impl ApiKey {
    /// A key the team issued before, as [`ApiKey::mint`] makes one, found
    /// by `locator`, in the status it had (active or disabled), with its
    /// `imported` event (whose detail says how it was stored).
    pub fn import(
        tenant: &TenantId,
        issue: Issue<'_>,
        locator: KeyLocator,
        settings: KeySettings,
        disabled: bool,
        by: &Author,
        stored_as: &str,
    ) -> (ApiKey, AuditEvent) {
        let (mut key, _) = Self::mint(tenant, issue, settings, by);
        key.locator = Some(locator);
        if disabled {
            key.status = ApiKeyStatus::Disabled;
        }
        let event = by
            .event(tenant, AuditAction::ApiKeyImported, &key.id)
            .with_detail(format!("imported as {stored_as}"));
        (key, event)
    }

    /// An imported key's hash replaced by ours (argon2id, made from the key
    /// just checked against the old one), unless it already is one made as
    /// ours are (an imported argon2 hash of other parameters is replaced).
    pub fn rehash(&self, ours: SecretHash, by: &Author) -> Option<KeyChange> {
        let made_as_ours = |hash: &SecretHash| hash.is_argon2id() && hash.params() == ours.params();
        if made_as_ours(&self.secret_hash) || !ours.is_argon2id() {
            return None;
        }
        let next = ApiKey {
            secret_hash: ours,
            ..self.clone()
        };
        Some(self.becomes(next, by, AuditAction::ApiKeyRehashed, None))
    }
}
