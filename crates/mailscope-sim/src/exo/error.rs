//! `InvokeCommand` error bodies (docs/exchange.md, "Admin API wire format").

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Exception type of a failed lookup.
pub(crate) const NOT_FOUND_TYPE: &str =
    "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException";

/// A cmdlet-level failure, before it is rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CmdletError {
    /// Parameter binding failed: 400 `Invalid Operation` with `details` (docs/exchange.md,
    /// "Admin API wire format").
    Binding {
        /// Full exception type.
        ex_type: &'static str,
        /// Text.
        text: String,
    },
    /// Enum conversion failed: 400 `Invalid Operation`, no `details` (docs/exchange.md,
    /// "Admin API wire format").
    Transform {
        /// Text.
        text: String,
    },
    /// The cmdlet threw: `Error executing cmdlet` with `ExId|Type|text` (docs/exchange.md,
    /// "Admin API wire format").
    Exec {
        /// Error id (`Ex6F9304`).
        ex_id: &'static str,
        /// Full exception type.
        ex_type: &'static str,
        /// Text.
        text: String,
    },
}

impl CmdletError {
    /// Unknown parameters (`AmbiguousParameterSetException`).
    pub(crate) fn unknown_params(names: &[String]) -> Self {
        CmdletError::Binding {
            ex_type: "Microsoft.Exchange.AdminApi.CommandInvocation.AmbiguousParameterSetException",
            text: format!(
                "Parameter set cannot be resolved using the specified named parameters. Invalid cmdlet parameters specified. {}",
                names.join(",")
            ),
        }
    }

    /// Mandatory parameters missing.
    pub(crate) fn missing(name: &str) -> Self {
        CmdletError::Binding {
            ex_type: "System.Management.Automation.ParameterBindingException",
            text: format!(
                "Cannot process command because of one or more missing mandatory parameters: {name}."
            ),
        }
    }

    /// A parameter value of the wrong JSON type.
    pub(crate) fn bad_value(name: &str, detail: &str) -> Self {
        CmdletError::Binding {
            ex_type: "System.Management.Automation.ParameterBindingException",
            text: format!("Cannot bind parameter '{name}'. {detail}"),
        }
    }

    /// Object not found (docs/exchange.md, "Admin API wire format").
    pub(crate) fn not_found(id: &str, dc: &str) -> Self {
        CmdletError::Exec {
            ex_id: "Ex6F9304",
            ex_type: NOT_FOUND_TYPE,
            text: format!(
                "The operation couldn't be performed because object '{id}' couldn't be found on '{dc}'."
            ),
        }
    }

    /// Identity matches several objects.
    pub(crate) fn ambiguous(id: &str) -> Self {
        CmdletError::Exec {
            ex_id: "Ex0A8C8B",
            ex_type: "Microsoft.Exchange.Configuration.Tasks.ManagementObjectAmbiguousException",
            text: format!("The operation couldn't be performed because '{id}' matches multiple entries."),
        }
    }

    /// Full exception type, for `x-ExceptionType`.
    fn ex_type(&self) -> &str {
        match self {
            CmdletError::Binding { ex_type, .. } | CmdletError::Exec { ex_type, .. } => ex_type,
            CmdletError::Transform { .. } => {
                "Microsoft.Exchange.AdminApi.CommandInvocation.ParameterTransformationException"
            }
        }
    }

    /// Renders the error; `exec_status` is the configured status of cmdlet failures.
    pub(crate) fn into_response(self, exec_status: StatusCode) -> Response {
        let short_type = self.ex_type().rsplit('.').next().unwrap_or_default().to_owned();
        let (status, body) = match self {
            CmdletError::Binding { ex_type, text } => (
                StatusCode::BAD_REQUEST,
                json!({"error": {
                    "code": "BadRequest",
                    "message": "Invalid Operation",
                    "details": [{"code": "Client", "target": "", "message": format!("|{ex_type}|{text}")}],
                    "innererror": {
                        "message": "Invalid Operation",
                        "type": "Microsoft.Exchange.Admin.OData.Core.ODataServiceException",
                        "stacktrace": "",
                        "internalexception": {"message": text, "type": ex_type, "stacktrace": ""}
                    }
                }}),
            ),
            CmdletError::Transform { text } => (
                StatusCode::BAD_REQUEST,
                json!({"error": {
                    "code": "BadRequest",
                    "message": "Invalid Operation",
                    "innererror": {
                        "message": "Invalid Operation",
                        "type": "Microsoft.Exchange.Admin.OData.Core.ODataServiceException",
                        "stacktrace": "",
                        "internalexception": {
                            "message": text,
                            "type": "Microsoft.Exchange.AdminApi.CommandInvocation.ParameterTransformationException",
                            "stacktrace": ""
                        }
                    },
                    "adminapi.warnings@odata.type": "#Collection(String)",
                    "@adminapi.warnings": []
                }}),
            ),
            CmdletError::Exec { ex_id, ex_type, text } => {
                let code = match exec_status.as_u16() {
                    404 => "NotFound",
                    500 => "InternalServerError",
                    503 => "ServiceUnavailable",
                    504 => "GatewayTimeout",
                    _ => "BadRequest",
                };
                (
                    exec_status,
                    json!({"error": {
                        "code": code,
                        "message": "Error executing cmdlet",
                        "details": [{"code": "Client", "target": "", "message": format!("{ex_id}|{ex_type}|{text}")}],
                        "innererror": {
                            "message": "Error executing cmdlet",
                            "type": "Microsoft.Exchange.Admin.OData.Core.ODataServiceException",
                            "stacktrace": "   at Microsoft.Exchange.AdminApi.CommandInvocation.CommandInvocation.InvokeCommand(...)",
                            "internalexception": {
                                "message": "Exception of type 'Microsoft.Exchange.Management.PSDirectInvoke.DirectInvokeCmdletExecutionException' was thrown.",
                                "type": "Microsoft.Exchange.Management.PSDirectInvoke.DirectInvokeCmdletExecutionException",
                                "stacktrace": ""
                            }
                        }
                    },
                    "adminapi.warnings@odata.type": "#Collection(String)",
                    "@adminapi.warnings": []}),
                )
            }
        };
        let mut resp = (status, axum::Json(body)).into_response();
        if let Ok(v) = HeaderValue::from_str(&short_type) {
            resp.headers_mut().insert("x-ExceptionType", v);
        }
        resp
    }
}

/// The 403 the live service sends for an unknown cmdlet or missing RBAC:
/// a run of NUL bytes declared as gzip (docs/exchange.md, "Admin API wire format"), so decoders fail.
pub(crate) fn nul_gzip_403() -> Response {
    let mut resp = (StatusCode::FORBIDDEN, vec![0u8; 20]).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    resp
}

/// A generic server failure (injected 5xx, persistence failure), in the cmdlet error shape.
pub(crate) fn server_error(status: StatusCode, text: &str) -> Response {
    CmdletError::Exec {
        ex_id: "",
        ex_type: "Microsoft.Exchange.Data.Storage.StorageTransientException",
        text: text.to_owned(),
    }
    .into_response(status)
}
