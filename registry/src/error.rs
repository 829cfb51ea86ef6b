//! ECR API errors: one enum, mapped once to AWS's `{"__type","message"}` shape.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use berth_model::ecr::{ErrorBody, ErrorType};

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct EcrError {
    pub error_type: ErrorType,
    pub message: String,
}

impl EcrError {
    pub fn new(error_type: ErrorType, message: impl Into<String>) -> Self {
        EcrError {
            error_type,
            message: message.into(),
        }
    }

    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::new(ErrorType::InvalidParameter, message)
    }

    pub fn server(message: impl Into<String>) -> Self {
        Self::new(ErrorType::Server, message)
    }

    pub fn status(&self) -> StatusCode {
        match self.error_type {
            ErrorType::Server => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorType::MissingAuthenticationToken
            | ErrorType::InvalidSignature
            | ErrorType::AccessDenied => StatusCode::FORBIDDEN,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

impl From<rusqlite::Error> for EcrError {
    fn from(error: rusqlite::Error) -> Self {
        EcrError::server(format!("metadata store error: {error}"))
    }
}

impl IntoResponse for EcrError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error_type: self.error_type.as_str().into(),
            message: self.message.clone(),
        };
        let mut response = (self.status(), crate::routes::ecr::json_body(&body)).into_response();
        response.headers_mut().insert(
            "x-amzn-ErrorType",
            HeaderValue::from_static(self.error_type.as_str()),
        );
        response
    }
}
