//! National clouds, their endpoints, and overrides.
//!
//! Hosts and scopes per cloud (see `docs/auth.md` for the sources):
//!
//! | cloud | login | Exchange (URL and scope) | Graph |
//! |---|---|---|---|
//! | public (incl. GCC) | `login.microsoftonline.com` | `outlook.office365.com` | `graph.microsoft.com` |
//! | gcc-high | `login.microsoftonline.us` | `outlook.office365.us` | `graph.microsoft.us` |
//! | dod | `login.microsoftonline.us` | `outlook-dod.office365.us` | `dod-graph.microsoft.us` |
//! | china (21Vianet) | `login.chinacloudapi.cn` | `partner.outlook.cn` | `microsoftgraph.chinacloudapi.cn` |
//!
//! Overrides change where requests go, never the scopes: a token for the
//! emulator is still requested for `https://outlook.office365.com/.default`.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use reqwest::Url;

/// Environment variable overriding the login (Entra token) base URL.
pub(crate) const ENV_LOGIN_URL: &str = "MAILSCOPE_LOGIN_URL";
/// Environment variable overriding the Exchange Online base URL.
pub(crate) const ENV_EXO_URL: &str = "MAILSCOPE_EXO_URL";
/// Environment variable overriding the Microsoft Graph base URL.
pub(crate) const ENV_GRAPH_URL: &str = "MAILSCOPE_GRAPH_URL";

/// A Microsoft 365 national cloud (`--environment`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Cloud {
    /// Commercial and GCC (moderate): the worldwide service.
    #[default]
    Public,
    /// US Government GCC High.
    GccHigh,
    /// US Government `DoD`.
    Dod,
    /// Microsoft 365 operated by 21Vianet.
    China,
}

impl Cloud {
    /// All clouds, for help texts.
    pub const ALL: [Cloud; 4] = [Cloud::Public, Cloud::GccHigh, Cloud::Dod, Cloud::China];

    /// The name accepted by `--environment`.
    pub fn name(self) -> &'static str {
        match self {
            Cloud::Public => "public",
            Cloud::GccHigh => "gcc-high",
            Cloud::Dod => "dod",
            Cloud::China => "china",
        }
    }

    /// The Entra login authority (scheme and host).
    pub fn login_url(self) -> &'static str {
        match self {
            Cloud::Public => "https://login.microsoftonline.com",
            Cloud::GccHigh | Cloud::Dod => "https://login.microsoftonline.us",
            Cloud::China => "https://login.chinacloudapi.cn",
        }
    }

    /// The Exchange Online resource (base URL and token audience).
    pub fn exo_resource(self) -> &'static str {
        match self {
            Cloud::Public => "https://outlook.office365.com",
            Cloud::GccHigh => "https://outlook.office365.us",
            Cloud::Dod => "https://outlook-dod.office365.us",
            Cloud::China => "https://partner.outlook.cn",
        }
    }

    /// The Microsoft Graph resource (base URL and token audience).
    pub fn graph_resource(self) -> &'static str {
        match self {
            Cloud::Public => "https://graph.microsoft.com",
            Cloud::GccHigh => "https://graph.microsoft.us",
            Cloud::Dod => "https://dod-graph.microsoft.us",
            Cloud::China => "https://microsoftgraph.chinacloudapi.cn",
        }
    }
}

impl fmt::Display for Cloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Cloud {
    type Err = EndpointError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "public" | "commercial" | "global" | "gcc" | "azurecloud" => Ok(Cloud::Public),
            "gcc-high" | "gcchigh" | "usgov" | "usgovernment" => Ok(Cloud::GccHigh),
            "dod" | "usgovdod" => Ok(Cloud::Dod),
            "china" | "azurechinacloud" | "21vianet" => Ok(Cloud::China),
            _ => Err(EndpointError::UnknownCloud(s.to_owned())),
        }
    }
}

/// A problem with the configured cloud or endpoint URLs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    /// `--environment` named no known cloud.
    #[error("unknown environment {0:?}: expected one of public, gcc-high, dod, china")]
    UnknownCloud(String),
    /// An override is not a URL.
    #[error("{setting}: {value:?} is not a valid URL ({reason})")]
    InvalidUrl {
        /// The flag or variable that carried it.
        setting: String,
        /// The value given.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Plain HTTP to something other than this machine.
    #[error(
        "{setting}: {value:?} uses plain http:// to a non-loopback host; \
         only https:// is allowed, except for 127.0.0.0/8, ::1 and localhost"
    )]
    InsecureUrl {
        /// The flag or variable that carried it.
        setting: String,
        /// The value given.
        value: String,
    },
}

/// Validates an endpoint base URL: `https://` anywhere, `http://` only to a
/// loopback host. Returns it without a trailing slash.
///
/// `setting` names the flag or variable the value came from, for the error.
pub(crate) fn validate_base_url(setting: &str, value: &str) -> Result<String, EndpointError> {
    let invalid = |reason: &str| EndpointError::InvalidUrl {
        setting: setting.to_owned(),
        value: value.to_owned(),
        reason: reason.to_owned(),
    };
    let url = Url::parse(value.trim()).map_err(|e| invalid(&e.to_string()))?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("a base URL takes no query or fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("credentials in the URL are not allowed"));
    }
    match url.scheme() {
        "https" => {}
        "http" => {
            if !is_loopback(&url) {
                return Err(EndpointError::InsecureUrl {
                    setting: setting.to_owned(),
                    value: value.to_owned(),
                });
            }
        }
        _ => return Err(invalid("the scheme must be https (or http for loopback)")),
    }
    if url.host().is_none() {
        return Err(invalid("no host"));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

pub(crate) fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Optional endpoint overrides (`--login-url`, `--exo-url`, `--graph-url`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointOverrides {
    /// Replaces the login authority.
    pub login_url: Option<String>,
    /// Replaces the Exchange Online base URL.
    pub exo_url: Option<String>,
    /// Replaces the Microsoft Graph base URL.
    pub graph_url: Option<String>,
}

impl EndpointOverrides {
    /// Reads `MAILSCOPE_LOGIN_URL`, `MAILSCOPE_EXO_URL` and
    /// `MAILSCOPE_GRAPH_URL` from the process environment (empty = unset).
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`EndpointOverrides::from_env`] with a custom lookup (for tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        Self { login_url: get(ENV_LOGIN_URL), exo_url: get(ENV_EXO_URL), graph_url: get(ENV_GRAPH_URL) }
    }

    /// Fills fields that are unset here from `other` (flags win over env).
    #[must_use]
    pub fn or(self, other: EndpointOverrides) -> Self {
        Self {
            login_url: self.login_url.or(other.login_url),
            exo_url: self.exo_url.or(other.exo_url),
            graph_url: self.graph_url.or(other.graph_url),
        }
    }

    /// Sends all three services to one origin (the emulator).
    pub fn all(base_url: &str) -> Self {
        Self {
            login_url: Some(base_url.to_owned()),
            exo_url: Some(base_url.to_owned()),
            graph_url: Some(base_url.to_owned()),
        }
    }
}

/// Resolved, validated endpoints and scopes for one cloud.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// The cloud the scopes come from.
    pub cloud: Cloud,
    /// Login authority without trailing slash, e.g. `https://login.microsoftonline.com`.
    pub login_url: String,
    /// Exchange Online base URL without trailing slash.
    pub exo_url: String,
    /// Microsoft Graph base URL without trailing slash.
    pub graph_url: String,
    /// Token scope for Exchange Online, e.g. `https://outlook.office365.com/.default`.
    pub exo_scope: String,
    /// Token scope for Graph, e.g. `https://graph.microsoft.com/.default`.
    pub graph_scope: String,
}

impl Endpoints {
    /// The cloud's own endpoints.
    pub fn for_cloud(cloud: Cloud) -> Self {
        Self {
            cloud,
            login_url: cloud.login_url().to_owned(),
            exo_url: cloud.exo_resource().to_owned(),
            graph_url: cloud.graph_resource().to_owned(),
            exo_scope: format!("{}/.default", cloud.exo_resource()),
            graph_scope: format!("{}/.default", cloud.graph_resource()),
        }
    }

    /// The cloud's endpoints with overrides applied and validated.
    pub fn new(cloud: Cloud, overrides: &EndpointOverrides) -> Result<Self, EndpointError> {
        let mut e = Self::for_cloud(cloud);
        if let Some(v) = &overrides.login_url {
            e.login_url = validate_base_url("login URL (--login-url / MAILSCOPE_LOGIN_URL)", v)?;
        }
        if let Some(v) = &overrides.exo_url {
            e.exo_url = validate_base_url("Exchange URL (--exo-url / MAILSCOPE_EXO_URL)", v)?;
        }
        if let Some(v) = &overrides.graph_url {
            e.graph_url = validate_base_url("Graph URL (--graph-url / MAILSCOPE_GRAPH_URL)", v)?;
        }
        Ok(e)
    }

    /// The token endpoint for a tenant; also the `aud` of client assertions.
    pub fn token_url(&self, tenant: &str) -> String {
        format!("{}/{tenant}/oauth2/v2.0/token", self.login_url)
    }

    /// The `InvokeCommand` URL for a tenant.
    pub fn invoke_command_url(&self, tenant: &str) -> String {
        format!("{}/adminapi/beta/{tenant}/InvokeCommand", self.exo_url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clouds_have_the_documented_hosts() {
        let e = Endpoints::for_cloud(Cloud::Public);
        assert_eq!(e.exo_scope, "https://outlook.office365.com/.default");
        assert_eq!(e.graph_scope, "https://graph.microsoft.com/.default");
        assert_eq!(e.token_url("t"), "https://login.microsoftonline.com/t/oauth2/v2.0/token");
        assert_eq!(e.invoke_command_url("t"), "https://outlook.office365.com/adminapi/beta/t/InvokeCommand");
        let g = Endpoints::for_cloud(Cloud::GccHigh);
        assert_eq!(g.login_url, "https://login.microsoftonline.us");
        assert_eq!(g.exo_scope, "https://outlook.office365.us/.default");
        assert_eq!(g.graph_scope, "https://graph.microsoft.us/.default");
        let d = Endpoints::for_cloud(Cloud::Dod);
        assert_eq!(d.login_url, "https://login.microsoftonline.us");
        assert_eq!(d.exo_scope, "https://outlook-dod.office365.us/.default");
        assert_eq!(d.graph_url, "https://dod-graph.microsoft.us");
        let c = Endpoints::for_cloud(Cloud::China);
        assert_eq!(c.login_url, "https://login.chinacloudapi.cn");
        assert_eq!(c.exo_scope, "https://partner.outlook.cn/.default");
        assert_eq!(c.graph_url, "https://microsoftgraph.chinacloudapi.cn");
    }

    #[test]
    fn cloud_names_parse() {
        for c in Cloud::ALL {
            assert_eq!(c.name().parse::<Cloud>().unwrap(), c);
        }
        assert!(matches!("mars".parse::<Cloud>(), Err(EndpointError::UnknownCloud(_))));
    }

    #[test]
    fn url_validation() {
        assert_eq!(validate_base_url("x", "https://example.com/").unwrap(), "https://example.com");
        assert_eq!(validate_base_url("x", "http://127.0.0.1:8080").unwrap(), "http://127.0.0.1:8080");
        assert!(validate_base_url("x", "http://127.8.9.10:1").is_ok());
        assert!(validate_base_url("x", "http://[::1]:9").is_ok());
        assert!(validate_base_url("x", "http://LOCALHOST:9").is_ok());
        for bad in [
            "http://example.com",
            "http://10.0.0.1:80",
            "http://[::2]:80",
            "http://localhost.evil.com",
            "http://127.0.0.1.nip.io",
        ] {
            assert!(
                matches!(validate_base_url("MAILSCOPE_EXO_URL", bad), Err(EndpointError::InsecureUrl { .. })),
                "{bad}"
            );
        }
        for bad in ["ftp://127.0.0.1", "not a url", "https://u:p@example.com", "https://e.com/?a=b"] {
            let err = validate_base_url("MAILSCOPE_EXO_URL", bad).unwrap_err();
            assert!(err.to_string().contains("MAILSCOPE_EXO_URL"), "{err}");
        }
    }

    #[test]
    fn overrides_keep_scopes() {
        let o = EndpointOverrides::all("http://127.0.0.1:1234/");
        let e = Endpoints::new(Cloud::Public, &o).unwrap();
        assert_eq!(e.exo_url, "http://127.0.0.1:1234");
        assert_eq!(e.exo_scope, "https://outlook.office365.com/.default");
        let env =
            EndpointOverrides::from_lookup(|n| (n == ENV_GRAPH_URL).then(|| "https://g.example".to_owned()));
        assert_eq!(env.graph_url.as_deref(), Some("https://g.example"));
        assert_eq!(env.exo_url, None);
        let err = Endpoints::new(
            Cloud::Public,
            &EndpointOverrides { exo_url: Some("http://exo.example".into()), ..Default::default() },
        )
        .unwrap_err();
        assert!(err.to_string().contains("MAILSCOPE_EXO_URL"));
    }
}
