//! The Exchange cmdlets the sim understands, as pure functions over a tenant:
//! parameter binding, lookups, the cmdlet table and the error texts. The
//! HTTP side (`InvokeCommand`, paging, faults, headers) is `http::admin_api`.

mod cmdlets;
mod domains;
mod error;
mod groups;
mod lookup;
mod objects;
mod params;
mod policies;
mod rbac;
mod recipients;
mod scopes;

pub(crate) use cmdlets::{Handler, ReadCtx, WriteCtx, find};
pub(crate) use error::{CmdletError, nul_gzip_403, server_error};
pub(crate) use params::Params;
