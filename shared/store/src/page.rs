//! Pages of items, newest first.

use domain::{Cursor, Page, PageLimit};

/// Turns up to `limit + 1` items, newest first, into a page: the extra item only
/// proves there is a next page, which starts after the last item shown.
pub(crate) fn into_page<T, Id: domain::PrefixedId + Clone>(
    mut items: Vec<T>,
    limit: PageLimit,
    id_of: impl Fn(&T) -> &Id,
) -> Page<T, Id> {
    let more = items.len() > limit.get();
    items.truncate(limit.get());
    let next = if more {
        items.last().map(|last| Cursor::after(id_of(last).clone()))
    } else {
        None
    };
    Page { items, next }
}
