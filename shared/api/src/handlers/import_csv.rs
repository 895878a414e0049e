//! The import's CSV files: a header row naming the columns, then one key a
//! row. Each row becomes the JSON item it stands for, so a CSV import and a
//! JSON one are checked by the same code, item by item.
//!
//! Columns (any order; an empty cell is an absent field): `key` or `hash`,
//! `prefix`, `scheme`, `name`, `external_id`, `expires_at`, `status`,
//! `permissions` and `roles` (names separated by spaces), and `meta` and
//! `limits` (JSON objects, as the JSON import takes them).

use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::problem::ApiError;

/// The columns a file may have.
pub const COLUMNS: [&str; 12] = [
    "key",
    "hash",
    "prefix",
    "scheme",
    "name",
    "external_id",
    "expires_at",
    "status",
    "permissions",
    "roles",
    "meta",
    "limits",
];

/// Each row of `body` as a JSON item; 400 for a file that is not CSV, has
/// a column not in [`COLUMNS`] (not repeated back: it may be anything), or
/// repeats one. A cell that does not fit its field is the item's own
/// refusal, later.
pub fn items(body: &[u8]) -> Result<Vec<Box<RawValue>>, ApiError> {
    let malformed = |detail: &str| ApiError::MalformedBody {
        detail: format!("the CSV file {detail}"),
        field: None,
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .trim(csv::Trim::Headers)
        .from_reader(body);
    let headers = reader
        .headers()
        .map_err(|_| malformed("must start with a header row naming its columns"))?
        .clone();
    let mut columns = Vec::with_capacity(headers.len());
    for header in &headers {
        let name = header.trim_start_matches('\u{feff}');
        let Some(column) = COLUMNS.iter().find(|column| **column == name) else {
            return Err(malformed(&format!(
                "has a column this import does not take; the columns are: {}",
                COLUMNS.join(", ")
            )));
        };
        if columns.contains(column) {
            return Err(malformed("names a column twice"));
        }
        columns.push(*column);
    }
    if !columns.contains(&"key") && !columns.contains(&"hash") {
        return Err(malformed("needs a `key` or a `hash` column"));
    }
    let mut items = Vec::new();
    for (row, record) in reader.records().enumerate() {
        let record = record.map_err(|_| {
            malformed(&format!(
                "cannot be read at its row {} of keys: each row must have one cell per column",
                row + 1
            ))
        })?;
        if items.len() == super::import_keys::MAX_KEYS {
            // Counted before anything else is done with the rows.
            return Err(ApiError::InvalidField {
                field: "keys".into(),
                reason: format!("must hold 1 to {} keys", super::import_keys::MAX_KEYS),
            });
        }
        let mut item = Map::new();
        for (column, cell) in columns.iter().zip(record.iter()) {
            if cell.is_empty() {
                continue;
            }
            let value = match *column {
                "permissions" | "roles" => Value::Array(
                    cell.split_whitespace()
                        .map(|name| Value::String(name.to_owned()))
                        .collect(),
                ),
                // A cell that is not JSON stays text: the item's check then
                // names the field that did not fit.
                "meta" | "limits" => {
                    serde_json::from_str(cell).unwrap_or_else(|_| Value::String(cell.to_owned()))
                }
                _ => Value::String(cell.to_owned()),
            };
            item.insert((*column).to_owned(), value);
        }
        let text = Value::Object(item).to_string();
        items.push(RawValue::from_string(text).map_err(ApiError::internal)?);
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn rows_become_items_and_empty_cells_are_absent() {
        let file = "\u{feff}prefix,hash,name,permissions,meta\n\
                    Ab3dE6gH,\"sha512$$abc\",\"Acme, Inc.\",read write,\"{\"\"plan\"\": \"\"pro\"\"}\"\n\
                    ,h2,,,\n";
        let items = items(file.as_bytes()).expect("read");
        let first: Value = serde_json::from_str(items[0].get()).expect("json");
        assert_eq!(
            first,
            serde_json::json!({"prefix": "Ab3dE6gH", "hash": "sha512$$abc", "name": "Acme, Inc.",
                               "permissions": ["read", "write"], "meta": {"plan": "pro"}})
        );
        let second: Value = serde_json::from_str(items[1].get()).expect("json");
        assert_eq!(second, serde_json::json!({"hash": "h2"}));
    }

    #[test]
    fn unknown_repeated_or_missing_columns_are_refused_without_echo() {
        for file in [
            "hash,sk_live_pasted\nx,y\n",
            "hash,hash\nx,y\n",
            "name\nx\n",
            "hash,name\nx\n",
        ] {
            let refused = items(file.as_bytes()).expect_err(file);
            assert!(!refused.to_string().contains("sk_live"), "{refused}");
        }
    }

    proptest! {
        #[test]
        fn any_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = items(&body);
        }
    }
}
