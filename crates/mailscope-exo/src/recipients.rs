//! Resolving the desired file's addresses to recipients: `Get-Recipient`
//! batches, and pairing each asked address with the recipient that owns
//! it, also when it is a secondary (proxy) address (docs/exchange.md,
//! "Proxy addresses").

use serde_json::{Value, json};

use mailscope_planner::Recipient;

use crate::error::{ExoError, ExoErrorKind};
use crate::exo::{ExoClient, parse_recipient};

/// Addresses per `Get-Recipient` filter.
pub(crate) const RECIPIENT_BATCH: usize = mailscope_planner::cost::RECIPIENT_BATCH;

impl ExoClient {
    /// Resolves addresses to existing recipients, 100 per `Get-Recipient`
    /// call: for each address found, the recipient it belongs to, also when
    /// it is a secondary (proxy) address of a recipient with another primary
    /// (see [`ResolvedAddress`]). Unknown addresses are simply absent.
    pub async fn resolve_recipients(&self, addresses: &[String]) -> Result<Vec<ResolvedAddress>, ExoError> {
        let mut unique: Vec<String> = addresses.iter().map(|a| a.trim().to_ascii_lowercase()).collect();
        unique.sort();
        unique.dedup();
        unique.retain(|a| !a.is_empty());
        let mut set = tokio::task::JoinSet::new();
        for (i, chunk) in unique.chunks(RECIPIENT_BATCH).enumerate() {
            let filter = recipient_filter(chunk);
            let me = self.clone();
            let asked = chunk.to_vec();
            set.spawn(async move {
                let v = me.invoke("Get-Recipient", json!({"Filter": filter})).await;
                (i, v.map(|rows| match_asked(&asked, &rows)))
            });
        }
        let mut batches = Vec::new();
        while let Some(joined) = set.join_next().await {
            let (i, v) =
                joined.map_err(|e| ExoError::new(ExoErrorKind::Other, "Get-Recipient", e.to_string()))?;
            batches.push((i, v?));
        }
        batches.sort_by_key(|(i, _)| *i);
        Ok(batches.into_iter().flat_map(|(_, v)| v).collect())
    }
}

/// One address [`ExoClient::resolve_recipients`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedAddress {
    /// The address asked about (trimmed, lower-cased).
    pub asked: String,
    /// The recipient it belongs to. When `asked` is one of its secondary
    /// addresses, `recipient.address` is the primary and
    /// `recipient.proxy_addresses` holds `asked`.
    pub recipient: Recipient,
}

/// Pairs each asked address with the `Get-Recipient` row that owns it: the
/// row whose primary it is, else the row whose `EmailAddresses` hold it
/// (case-insensitive, `smtp:` prefix stripped), since the filter also
/// searches proxy addresses and a row's primary may differ from what was
/// asked. Rows nobody asked about are ignored.
pub(crate) fn match_asked(asked: &[String], rows: &[Value]) -> Vec<ResolvedAddress> {
    let parsed: Vec<(Recipient, Vec<String>)> = rows
        .iter()
        .filter_map(|o| {
            let r = parse_recipient(o)?;
            let proxies = smtp_proxies(o);
            Some((r, proxies))
        })
        .collect();
    let mut out = Vec::new();
    for a in asked {
        let a = a.trim().to_ascii_lowercase();
        if let Some((r, _)) = parsed.iter().find(|(r, _)| r.address.eq_ignore_ascii_case(&a)) {
            out.push(ResolvedAddress { asked: a, recipient: r.clone() });
        } else if let Some((r, _)) = parsed.iter().find(|(_, p)| p.contains(&a)) {
            let mut recipient = r.clone();
            recipient.proxy_addresses = vec![a.clone()];
            out.push(ResolvedAddress { asked: a, recipient });
        }
    }
    out
}

/// The SMTP addresses in a row's `EmailAddresses`, lower-cased and without
/// their `SMTP:`/`smtp:` prefix; other address types (`X500:`, `SIP:`) are
/// left out.
fn smtp_proxies(o: &Value) -> Vec<String> {
    o.get("EmailAddresses")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter_map(|e| e.split_once(':'))
        .filter(|(scheme, a)| scheme.eq_ignore_ascii_case("smtp") && !a.trim().is_empty())
        .map(|(_, a)| a.trim().to_ascii_lowercase())
        .collect()
}

/// `(PrimarySmtpAddress -eq 'a') -or (PrimarySmtpAddress -eq 'b')`, with
/// single quotes doubled (OPATH string escaping). A filter on
/// `PrimarySmtpAddress` also searches `EmailAddresses` (Learn, "Filterable
/// properties for the -Filter parameter", with bare addresses in its
/// example), so a secondary address finds its recipient too; the page shows
/// no bare-address example for `EmailAddresses` itself, hence this property.
pub(crate) fn recipient_filter(addresses: &[String]) -> String {
    addresses
        .iter()
        .map(|a| format!("(PrimarySmtpAddress -eq '{}')", a.replace('\'', "''")))
        .collect::<Vec<_>>()
        .join(" -or ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asked_addresses_map_to_the_row_that_owns_them() {
        let rows = [
            json!({"PrimarySmtpAddress": "Support@contoso.com", "RecipientTypeDetails": "SharedMailbox",
                   "ExternalDirectoryObjectId": "id-support",
                   "EmailAddresses": ["SMTP:Support@contoso.com", "smtp:ServiceDesk@contoso.com", "X500:/o=x"]}),
            json!({"PrimarySmtpAddress": "ceo@contoso.com", "RecipientTypeDetails": "UserMailbox",
                   "EmailAddresses": ["SMTP:ceo@contoso.com"]}),
            json!({"PrimarySmtpAddress": "unasked@contoso.com", "EmailAddresses": []}),
        ];
        let asked: Vec<String> = [
            "servicedesk@contoso.com",
            " CEO@contoso.com",
            "support@contoso.com",
            "/o=x",
            "gone@contoso.com",
        ]
        .map(str::to_owned)
        .to_vec();
        let found = match_asked(&asked, &rows);
        let summary: Vec<(&str, &str, Vec<&str>)> = found
            .iter()
            .map(|f| {
                (
                    f.asked.as_str(),
                    f.recipient.address.as_str(),
                    f.recipient.proxy_addresses.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("servicedesk@contoso.com", "Support@contoso.com", vec!["servicedesk@contoso.com"]),
                ("ceo@contoso.com", "ceo@contoso.com", vec![]),
                ("support@contoso.com", "Support@contoso.com", vec![]),
            ]
        );
        assert_eq!(found[0].recipient.id.as_deref(), Some("id-support"));
        assert_eq!(found[0].recipient.kind, "SharedMailbox");
    }

    #[test]
    fn filter_escapes_quotes() {
        let f = recipient_filter(&["a@x.com".into(), "o'brien@x.com".into()]);
        assert_eq!(f, "(PrimarySmtpAddress -eq 'a@x.com') -or (PrimarySmtpAddress -eq 'o''brien@x.com')");
    }
}
