//! JSON errors: `{"error": "…", "code": "…"}` with a fitting status.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::read_model::Unavailable;

/// An API error. `code` is stable for clients; `error` is for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    code: &'a str,
}

impl ApiError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code,
            message: message.into(),
        }
    }

    pub fn unknown_agency(id: &str) -> Self {
        ApiError {
            status: StatusCode::NOT_FOUND,
            code: "unknown_agency",
            message: format!("agency `{id}` is not in the agency registry"),
        }
    }

    pub fn not_found() -> Self {
        ApiError {
            status: StatusCode::NOT_FOUND,
            code: "not_found",
            message: "no such endpoint".into(),
        }
    }

    pub fn unauthorized(message: &str) -> Self {
        ApiError {
            status: StatusCode::UNAUTHORIZED,
            code: "unauthorized",
            message: message.into(),
        }
    }

    /// This instance cannot answer completely now (see [`Unavailable`]): an empty answer would
    /// read as "nothing is overdue".
    pub fn unavailable(why: Unavailable) -> Self {
        ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: why.code(),
            message: why.to_string(),
        }
    }

    /// Too many scrapes at once: this one waited its turn too long.
    pub fn busy() -> Self {
        ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "busy",
            message: "too many concurrent scrapes; retry shortly".into(),
        }
    }

    pub fn method_not_allowed() -> Self {
        ApiError {
            status: StatusCode::METHOD_NOT_ALLOWED,
            code: "method_not_allowed",
            message: "only GET is supported".into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_string(&Body {
            error: &self.message,
            code: self.code,
        })
        .expect("error bodies serialise");
        let mut response = (
            self.status,
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer realm=\"chiso\""),
            );
        }
        // Asking again here helps only while the instance starts, restores or Kafka is away;
        // results served elsewhere or incomplete lists stay so until a rebalance.
        let retry = !matches!(self.code, "results_elsewhere" | "lists_incomplete");
        if self.status == StatusCode::SERVICE_UNAVAILABLE && retry {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
        }
        if self.status == StatusCode::METHOD_NOT_ALLOWED {
            response
                .headers_mut()
                .insert(header::ALLOW, header::HeaderValue::from_static("GET, HEAD"));
        }
        response
    }
}
