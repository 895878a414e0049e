//! What a change did, in words for the audit log.

use crate::{ApiKey, IpAllowlist};

/// What an edit changed besides the limits, in words for the audit log:
/// the permissions added and removed, the owner, whether the meta changed.
pub(super) fn what_changed(before: &ApiKey, after: &ApiKey) -> Option<String> {
    let mut parts = Vec::new();
    let list = |names: Vec<&str>| names.join(", ");
    let (added, removed) = before.permissions.changes_to(&after.permissions);
    let (roles_added, roles_removed) = before.roles.changes_to(&after.roles);
    for (what, names) in [
        (
            "permissions added",
            added.iter().map(|p| p.as_str()).collect(),
        ),
        (
            "permissions removed",
            removed.iter().map(|p| p.as_str()).collect(),
        ),
        (
            "roles added",
            roles_added.iter().map(|r| r.as_str()).collect(),
        ),
        (
            "roles removed",
            roles_removed.iter().map(|r| r.as_str()).collect(),
        ),
    ] {
        let names: Vec<&str> = names;
        if !names.is_empty() {
            parts.push(format!("{what}: {}", list(names)));
        }
    }
    if before.allowlist != after.allowlist {
        parts.push(match &after.allowlist {
            Some(_) => format!(
                "allowlist set to {} (was {})",
                IpAllowlist::describe(after.allowlist.as_ref()),
                IpAllowlist::describe(before.allowlist.as_ref())
            ),
            None => format!(
                "allowlist removed (was {})",
                IpAllowlist::describe(before.allowlist.as_ref())
            ),
        });
    }
    match (&before.external_id, &after.external_id) {
        (before, after) if before == after => {}
        (_, Some(owner)) => parts.push(format!("owner set to {owner}")),
        (Some(_), None) => parts.push("owner removed".into()),
        (None, None) => {}
    }
    match (&before.meta, &after.meta) {
        (before, after) if before == after => {}
        (None, Some(_)) => parts.push("meta set".into()),
        (Some(_), Some(_)) => parts.push("meta changed".into()),
        (_, None) => parts.push("meta removed".into()),
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}
