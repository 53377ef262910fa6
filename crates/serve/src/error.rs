//! Failures as HTTP answers: what the request named wrongly (400), what the store does
//! not hold (404), and what went wrong reading it (500), each with a plain-text reason.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// A request that cannot be answered.
#[derive(Debug)]
pub enum HttpError {
    /// The request is malformed: a run id that is not one, an unknown filter.
    BadRequest(String),
    /// Nothing of that name in the store.
    NotFound(String),
    /// Reading the store or building a page failed.
    Internal(String),
}

impl HttpError {
    /// The status code.
    pub fn status(&self) -> StatusCode {
        match self {
            HttpError::BadRequest(_) => StatusCode::BAD_REQUEST,
            HttpError::NotFound(_) => StatusCode::NOT_FOUND,
            HttpError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HttpError::BadRequest(m) | HttpError::NotFound(m) | HttpError::Internal(m) => {
                f.write_str(m)
            }
        }
    }
}

impl From<runner::Error> for HttpError {
    fn from(error: runner::Error) -> Self {
        HttpError::Internal(error.to_string())
    }
}

impl From<reporter::Error> for HttpError {
    fn from(error: reporter::Error) -> Self {
        HttpError::Internal(error.to_string())
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        (self.status(), format!("{self}\n")).into_response()
    }
}

/// A handler's result.
pub type HttpResult<T> = Result<T, HttpError>;
