//! Behaviour knobs of the emulator ([`SimConfig`]): read by the state layer
//! and replaced at runtime through `POST /_sim/config`.

use serde::{Deserialize, Serialize};

use crate::decision::{InvalidPolicyMode, NestedGroups};
use crate::faults::FaultConfig;

/// Behaviour knobs. Serde (camelCase, `snake_case` aliases) so the CLI can read
/// it from a file and `POST /_sim/config` can replace it at runtime.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct SimConfig {
    /// `expires_in` of issued tokens (and their `exp - iat`), seconds.
    #[serde(alias = "token_lifetime_secs")]
    pub token_lifetime_secs: u64,
    /// How long Graph keeps using the old AAP/membership state after a change, milliseconds.
    #[serde(alias = "propagation_delay_ms")]
    pub propagation_delay_ms: u64,
    /// Whether AAP scope membership is direct or transitive.
    #[serde(alias = "aap_nested_groups")]
    pub aap_nested_groups: NestedGroups,
    /// How policies whose scope was deleted are evaluated.
    #[serde(alias = "invalid_policy_mode")]
    pub invalid_policy_mode: InvalidPolicyMode,
    /// HTTP status of cmdlet execution errors (400 by default; 404/500 also seen in the wild).
    #[serde(alias = "cmdlet_error_status")]
    pub cmdlet_error_status: u16,
    /// Reject `InvokeCommand` calls without `X-AnchorMailbox`. Off by default:
    /// working public clients omit the header (docs/exchange.md, "Admin API
    /// wire format"); a test that wants the strict reading turns it on.
    #[serde(alias = "require_anchor_mailbox")]
    pub require_anchor_mailbox: bool,
    /// Send `Rate-Limit-Limit`/`-Remaining`/`-Reset` on `InvokeCommand`
    /// answers. Off by default: app-only live traffic shows none, so a
    /// client must not depend on them.
    #[serde(alias = "rate_limit_headers")]
    pub rate_limit_headers: bool,
    /// Paging behaviour seen on live tenants (docs/exchange.md, "Paging").
    pub fidelity: Fidelity,
    /// Fault injection.
    pub faults: FaultConfig,
}

/// How `@odata.nextLink`s behave: live reports show links that expire and
/// truncated pages that carry a warning (docs/exchange.md, "Paging").
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Fidelity {
    /// A nextLink older than this answers 400 "Expired or Invalid pagination
    /// request. Default Expiry time is 00:30:00". Default 1800 (the 30
    /// minutes the message names).
    pub page_link_expiry_seconds: u64,
    /// A nextLink works only with the `X-AnchorMailbox` of the request that
    /// issued it (the skiptoken names a backend server the anchor routed
    /// to); otherwise it answers as expired. Off by default.
    pub page_link_same_anchor: bool,
    /// A page followed by a nextLink carries an `@adminapi.warnings` entry,
    /// as some live pages do. Off by default.
    pub truncation_warnings: bool,
}

impl Default for Fidelity {
    fn default() -> Self {
        Self { page_link_expiry_seconds: 1800, page_link_same_anchor: false, truncation_warnings: false }
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            token_lifetime_secs: 3599,
            propagation_delay_ms: 0,
            aap_nested_groups: NestedGroups::Direct,
            invalid_policy_mode: InvalidPolicyMode::FailClosed,
            cmdlet_error_status: 400,
            require_anchor_mailbox: false,
            rate_limit_headers: false,
            fidelity: Fidelity::default(),
            faults: FaultConfig::default(),
        }
    }
}
