//! The HTTP answers every function gives, whichever adapter sends them
//! (Lambda or the dev server), and the one shape of a refusal: RFC 9457
//! problem details with our `code` (and the `field` at fault).

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiResponse {
    pub status: u16,
    /// `None` for a response without a body.
    pub content_type: Option<&'static str>,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl ApiResponse {
    pub fn json(status: u16, value: &impl Serialize) -> Self {
        match serde_json::to_vec(value) {
            Ok(mut body) => {
                // A trailing newline keeps `curl` output readable in a terminal.
                body.push(b'\n');
                Self {
                    status,
                    content_type: Some("application/json"),
                    headers: Vec::new(),
                    body,
                }
            }
            // Our response types always serialise; if one ever does not, say
            // so without leaking what it held.
            Err(error) => {
                tracing::error!(%error, "an answer could not be written");
                problem(&Problem {
                    title: "Internal server error",
                    status: 500,
                    detail: "internal error".into(),
                    code: "internal",
                    field: None,
                })
            }
        }
    }

    /// A CSV download (`text/csv`), named `filename` when saved.
    pub fn csv(text: String, filename: &str) -> Self {
        Self {
            status: 200,
            content_type: Some("text/csv; charset=utf-8"),
            headers: vec![(
                "content-disposition",
                format!("attachment; filename=\"{filename}\""),
            )],
            body: text.into_bytes(),
        }
    }

    pub fn no_content() -> Self {
        Self {
            status: 204,
            content_type: None,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// The headers every answer carries, added by both adapters (Lambda and
    /// dev server) on the way out: answers hold tenant data, so no cache keeps
    /// them, and no browser reads them as anything but their declared type.
    pub fn with_security_headers(mut self) -> Self {
        if !self
            .headers
            .iter()
            .any(|(name, _)| *name == "cache-control")
        {
            self.headers.push(("cache-control", "no-store".into()));
        }
        self.headers
            .push(("x-content-type-options", "nosniff".into()));
        self
    }
}

/// A refusal or failure, as RFC 9457 problem details (`application/problem+json`).
#[derive(Debug, Clone, Serialize)]
pub struct Problem<'a> {
    /// The status's words (`Conflict`).
    pub title: &'a str,
    pub status: u16,
    /// What happened, in plain words; never the caller's secret.
    pub detail: String,
    /// Ours, stable: what a client branches on (`invalid_field`, `changed`).
    pub code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<&'a str>,
}

/// `problem` as an answer.
pub fn problem(problem: &Problem<'_>) -> ApiResponse {
    #[derive(Serialize)]
    struct Document<'a> {
        #[serde(rename = "type")]
        type_: String,
        #[serde(flatten)]
        problem: &'a Problem<'a>,
    }
    let document = Document {
        type_: format!("urn:api-keys-manager:problem:{}", problem.code),
        problem,
    };
    let mut response = ApiResponse::json(problem.status, &document);
    response.content_type = Some("application/problem+json");
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_answer_is_uncached_and_unsniffed() {
        let answer = ApiResponse::no_content().with_security_headers();
        assert!(
            answer
                .headers
                .contains(&("cache-control", "no-store".into()))
        );
        assert!(
            answer
                .headers
                .contains(&("x-content-type-options", "nosniff".into()))
        );
        let created = ApiResponse::no_content()
            .with_header("cache-control", "no-store")
            .with_security_headers();
        assert_eq!(
            created
                .headers
                .iter()
                .filter(|(n, _)| *n == "cache-control")
                .count(),
            1
        );
    }
}
