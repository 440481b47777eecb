//! HTTP-level tests: the sim on 127.0.0.1:0, driven with reqwest.

#![allow(clippy::many_single_char_names)]

mod authz;
mod common;
mod decision;
mod exo_cmdlets;
mod exposure;
mod faults;
mod graph;
mod managed_identity;
mod paging;
mod persistence;
mod proxies;
mod rbac_cmdlets;
mod rbac_decision;
mod rbac_seed;
mod seed;
mod tls;
mod token_flows;
