//! A parser and evaluator for the OPATH subset `-Filter` accepts.
//!
//! Grammar (case-insensitive keywords):
//!
//! ```text
//! expr    := and ( "-or" and )*
//! and     := unary ( "-and" unary )*
//! unary   := "-not" unary | primary
//! primary := "(" expr ")" | Property op value
//! op      := -eq | -ne | -like | -notlike
//! value   := 'single quoted' ('' escapes ') | "double quoted" | bare word | $null | $true | $false
//! ```
//!
//! `-like` supports `*` wildcards anywhere. Comparisons are case-insensitive,
//! and a multi-valued property (`EmailAddresses`, `MemberOfGroup`) matches
//! when any value does.
//!
//! Over 600 lines only because of its unit tests (the evaluator's contract
//! for `-Filter` and for management scopes); the code is about 380 lines.
//!
//! The same grammar serves `-Filter` on the `Get-*` cmdlets and a management
//! scope's `-RecipientRestrictionFilter`; [`recipient_property`] gives both
//! a recipient's values, `MemberOfGroup` being the distinguished names of the
//! groups the recipient is a *direct* member of (RBAC for Applications
//! counts nested members out of scope).

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use crate::model::{Recipient, Tenant};

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `-eq`
    Eq,
    /// `-ne`
    Ne,
    /// `-like`
    Like,
    /// `-notlike`
    NotLike,
}

/// A parsed filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// `a -and b`
    And(Box<Filter>, Box<Filter>),
    /// `a -or b`
    Or(Box<Filter>, Box<Filter>),
    /// `-not a`
    Not(Box<Filter>),
    /// `Property op 'value'` (property name canonicalized).
    Cmp {
        /// Canonical property name.
        property: &'static str,
        /// Operator.
        op: Op,
        /// Value; `$null` becomes the empty string.
        value: String,
    },
}

/// Why a filter did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    /// Bad syntax at a character position.
    #[error(
        "Invalid filter syntax. For a description of the filter parameter syntax see the command help.\n\"{filter}\" at position {position}."
    )]
    Syntax {
        /// The filter text.
        filter: String,
        /// 1-based position.
        position: usize,
    },
    /// A property that cannot be filtered on.
    #[error(
        "'{0}' is not a recognized filterable property. For a list of filterable properties see the command help."
    )]
    UnknownProperty(String),
}

/// Properties the sim can filter on.
pub(crate) const PROPERTIES: &[&str] = &[
    "Name",
    "Alias",
    "DisplayName",
    "PrimarySmtpAddress",
    "EmailAddresses",
    "RecipientType",
    "RecipientTypeDetails",
    "ExternalDirectoryObjectId",
    "Guid",
    "DistinguishedName",
    "MemberOfGroup",
    "Department",
    "CustomAttribute1",
    "CustomAttribute2",
    "CustomAttribute3",
    "CustomAttribute4",
    "CustomAttribute5",
    "CustomAttribute6",
    "CustomAttribute7",
    "CustomAttribute8",
    "CustomAttribute9",
    "CustomAttribute10",
    "CustomAttribute11",
    "CustomAttribute12",
    "CustomAttribute13",
    "CustomAttribute14",
    "CustomAttribute15",
];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    LParen,
    RParen,
    Dash(String),
    Word(String),
    Quoted(String),
}

fn tokenize(src: &str) -> Result<Vec<(usize, Tok)>, FilterError> {
    let err = |position: usize| FilterError::Syntax { filter: src.to_owned(), position: position + 1 };
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                out.push((i, Tok::LParen));
                i += 1;
            }
            ')' => {
                out.push((i, Tok::RParen));
                i += 1;
            }
            '\'' | '"' => {
                let start = i;
                i += 1;
                let mut s = String::new();
                loop {
                    match chars.get(i) {
                        None => return Err(err(start)),
                        Some(&q) if q == c => {
                            if chars.get(i + 1) == Some(&c) {
                                s.push(c);
                                i += 2;
                            } else {
                                i += 1;
                                break;
                            }
                        }
                        Some(&ch) => {
                            s.push(ch);
                            i += 1;
                        }
                    }
                }
                out.push((start, Tok::Quoted(s)));
            }
            '-' => {
                let start = i;
                i += 1;
                let mut s = String::new();
                while let Some(&ch) = chars.get(i) {
                    if ch.is_ascii_alphabetic() {
                        s.push(ch);
                        i += 1;
                    } else {
                        break;
                    }
                }
                if s.is_empty() {
                    return Err(err(start));
                }
                out.push((start, Tok::Dash(s.to_ascii_lowercase())));
            }
            _ => {
                let start = i;
                let mut s = String::new();
                while let Some(&ch) = chars.get(i) {
                    if ch.is_whitespace() || ch == '(' || ch == ')' || ch == '\'' || ch == '"' {
                        break;
                    }
                    s.push(ch);
                    i += 1;
                }
                out.push((start, Tok::Word(s)));
            }
        }
    }
    Ok(out)
}

struct Parser<'a> {
    src: &'a str,
    toks: Vec<(usize, Tok)>,
    pos: usize,
}

impl Parser<'_> {
    fn err(&self) -> FilterError {
        let position = self.toks.get(self.pos).map_or(self.src.chars().count(), |(p, _)| *p) + 1;
        FilterError::Syntax { filter: self.src.to_owned(), position }
    }

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(_, t)| t)
    }

    fn peek_dash(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Tok::Dash(w)) if w == word)
    }

    fn expr(&mut self) -> Result<Filter, FilterError> {
        let mut left = self.and()?;
        while self.peek_dash("or") {
            self.pos += 1;
            let right = self.and()?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Filter, FilterError> {
        let mut left = self.unary()?;
        while self.peek_dash("and") {
            self.pos += 1;
            let right = self.unary()?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Filter, FilterError> {
        if self.peek_dash("not") {
            self.pos += 1;
            return Ok(Filter::Not(Box::new(self.unary()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Filter, FilterError> {
        match self.peek().cloned() {
            Some(Tok::LParen) => {
                self.pos += 1;
                let inner = self.expr()?;
                if self.peek() != Some(&Tok::RParen) {
                    return Err(self.err());
                }
                self.pos += 1;
                Ok(inner)
            }
            Some(Tok::Word(name)) => {
                self.pos += 1;
                let op = match self.peek() {
                    Some(Tok::Dash(w)) => match w.as_str() {
                        "eq" => Op::Eq,
                        "ne" => Op::Ne,
                        "like" => Op::Like,
                        "notlike" => Op::NotLike,
                        _ => return Err(self.err()),
                    },
                    _ => return Err(self.err()),
                };
                self.pos += 1;
                let value = match self.peek().cloned() {
                    Some(Tok::Quoted(s)) => s,
                    Some(Tok::Word(w)) => match w.to_ascii_lowercase().as_str() {
                        "$null" => String::new(),
                        "$true" => "True".to_owned(),
                        "$false" => "False".to_owned(),
                        _ => w,
                    },
                    _ => return Err(self.err()),
                };
                self.pos += 1;
                let property = PROPERTIES
                    .iter()
                    .find(|p| p.eq_ignore_ascii_case(&name))
                    .ok_or(FilterError::UnknownProperty(name))?;
                Ok(Filter::Cmp { property, op, value })
            }
            _ => Err(self.err()),
        }
    }
}

/// Parses an OPATH filter.
pub fn parse(src: &str) -> Result<Filter, FilterError> {
    let toks = tokenize(src)?;
    let mut p = Parser { src, toks, pos: 0 };
    if p.toks.is_empty() {
        return Err(p.err());
    }
    let f = p.expr()?;
    if p.pos != p.toks.len() {
        return Err(p.err());
    }
    Ok(f)
}

/// Direct group memberships: recipient object id (lower case) → the DNs of
/// the groups holding it. Built once per tenant state when many recipients
/// are evaluated (the exposure log); single decisions scan the groups.
pub(crate) struct MemberOf(HashMap<String, Vec<String>>);

impl MemberOf {
    /// Indexes every group's direct members.
    pub(crate) fn new(t: &Tenant) -> Self {
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        for g in t.recipients.iter().filter(|r| r.kind.is_group()) {
            let dn = t.distinguished_name(g);
            for m in &g.members {
                map.entry(m.to_ascii_lowercase()).or_default().push(dn.clone());
            }
        }
        Self(map)
    }

    fn of(&self, r: &Recipient) -> Vec<String> {
        self.0.get(&r.external_directory_object_id.to_ascii_lowercase()).cloned().unwrap_or_default()
    }
}

/// A recipient property's values for filtering (empty = unset).
/// `member_of` speeds up `MemberOfGroup`; without it the groups are scanned.
pub(crate) fn recipient_property<'a>(
    t: &Tenant,
    r: &'a Recipient,
    name: &str,
    member_of: Option<&MemberOf>,
) -> Vec<Cow<'a, str>> {
    let one = |s: &'a str| if s.is_empty() { Vec::new() } else { vec![Cow::Borrowed(s)] };
    match name {
        "Name" => one(&r.name),
        "Alias" => one(&r.alias),
        "DisplayName" => one(&r.display_name),
        // Learn, "Filterable properties for the -Filter parameter": a filter
        // on PrimarySmtpAddress also searches the EmailAddresses values.
        "PrimarySmtpAddress" => {
            let mut v = one(&r.primary_smtp_address);
            v.extend(r.email_addresses.iter().filter_map(|e| {
                e.split_once(':')
                    .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("smtp"))
                    .map(|(_, a)| Cow::Borrowed(a))
            }));
            v
        }
        "EmailAddresses" => r.email_addresses.iter().map(|s| Cow::Borrowed(s.as_str())).collect(),
        "RecipientType" => vec![Cow::Borrowed(r.kind.recipient_type())],
        "RecipientTypeDetails" => vec![Cow::Borrowed(r.kind.details())],
        "ExternalDirectoryObjectId" => one(&r.external_directory_object_id),
        "Guid" => one(&r.guid),
        "DistinguishedName" => vec![Cow::Owned(t.distinguished_name(r))],
        "Department" => one(&r.department),
        "MemberOfGroup" => match member_of {
            Some(index) => index.of(r).into_iter().map(Cow::Owned).collect(),
            // The directory indexes who holds whom: no scan of the groups.
            None => t
                .recipients
                .holding(&r.external_directory_object_id)
                .into_iter()
                .map(|i| &t.recipients[i])
                .filter(|g| g.kind.is_group())
                .map(|g| Cow::Owned(t.distinguished_name(g)))
                .collect(),
        },
        other => other
            .strip_prefix("CustomAttribute")
            .and_then(|n| n.parse::<usize>().ok())
            .map_or_else(Vec::new, |n| one(r.custom_attribute(n))),
    }
}

/// Case-insensitive `*` wildcard match.
pub(crate) fn like(pattern: &str, text: &str) -> bool {
    let p = pattern.to_lowercase();
    let t = text.to_lowercase();
    let parts: Vec<&str> = p.split('*').collect();
    if parts.len() == 1 {
        return p == t;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !t.starts_with(first) || t.len() < first.len() + last.len() || !t.ends_with(last) {
        return false;
    }
    let mut rest = &t[first.len()..t.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

impl Filter {
    /// Values one of which every recipient this filter accepts has among
    /// its lookup keys (`Recipient::lookup_keys`), so that a caller may
    /// evaluate the filter on the directory's candidates for them instead of
    /// on every recipient; `None` when the filter does not pin that down.
    ///
    /// That holds for a non-empty `-eq` on `Name`, `Alias`, `DisplayName`,
    /// `PrimarySmtpAddress` (its values are the SMTP addresses, all keys),
    /// `ExternalDirectoryObjectId` or `Guid`; for an `-or` of such filters;
    /// and for an `-and` with one on either side. (`-eq ''` matches an unset
    /// property, which no key records; hence non-empty.)
    pub(crate) fn lookup_values(&self) -> Option<Vec<&str>> {
        const KEYED: [&str; 6] =
            ["Name", "Alias", "DisplayName", "PrimarySmtpAddress", "ExternalDirectoryObjectId", "Guid"];
        match self {
            Filter::Or(a, b) => {
                let mut values = a.lookup_values()?;
                values.extend(b.lookup_values()?);
                Some(values)
            }
            Filter::And(a, b) => a.lookup_values().or_else(|| b.lookup_values()),
            Filter::Cmp { property, op: Op::Eq, value } if !value.is_empty() && KEYED.contains(property) => {
                Some(vec![value.as_str()])
            }
            Filter::Cmp { .. } | Filter::Not(_) => None,
        }
    }

    /// Evaluates the filter; `get` returns a property's values (empty = unset).
    pub fn matches<'v>(&self, get: &dyn Fn(&str) -> Vec<Cow<'v, str>>) -> bool {
        match self {
            Filter::And(a, b) => a.matches(get) && b.matches(get),
            Filter::Or(a, b) => a.matches(get) || b.matches(get),
            Filter::Not(a) => !a.matches(get),
            Filter::Cmp { property, op, value } => {
                let mut values = get(property);
                if values.is_empty() {
                    values.push(Cow::Borrowed(""));
                }
                let eq = |v: &str| v.eq_ignore_ascii_case(value) || v.to_lowercase() == value.to_lowercase();
                match op {
                    Op::Eq => values.iter().any(|v| eq(v)),
                    Op::Ne => !values.iter().any(|v| eq(v)),
                    Op::Like => values.iter().any(|v| like(value, v)),
                    Op::NotLike => !values.iter().any(|v| like(value, v)),
                }
            }
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::Eq => "-eq",
            Op::Ne => "-ne",
            Op::Like => "-like",
            Op::NotLike => "-notlike",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(property: &'static str, op: Op, value: &str) -> Filter {
        Filter::Cmp { property, op, value: value.to_owned() }
    }

    fn eval(f: &str, props: &[(&str, &str)]) -> bool {
        let f = parse(f).unwrap();
        f.matches(&|p: &str| {
            props.iter().filter(|(k, _)| k.eq_ignore_ascii_case(p)).map(|(_, v)| Cow::Borrowed(*v)).collect()
        })
    }

    #[test]
    fn parses_simple_comparison_case_insensitively() {
        assert_eq!(
            parse("customattribute15 -LIKE 'mailscope/v1*'").unwrap(),
            cmp("CustomAttribute15", Op::Like, "mailscope/v1*")
        );
        assert_eq!(parse("Name -eq \"a b\"").unwrap(), cmp("Name", Op::Eq, "a b"));
        assert_eq!(parse("Alias -ne bare").unwrap(), cmp("Alias", Op::Ne, "bare"));
        assert_eq!(parse("Name -eq 'O''Brien'").unwrap(), cmp("Name", Op::Eq, "O'Brien"));
        assert_eq!(parse("CustomAttribute1 -eq $null").unwrap(), cmp("CustomAttribute1", Op::Eq, ""));
    }

    #[test]
    fn precedence_and_binds_tighter_than_or() {
        let f = parse("Name -eq 'a' -or Name -eq 'b' -and Alias -eq 'c'").unwrap();
        assert_eq!(
            f,
            Filter::Or(
                Box::new(cmp("Name", Op::Eq, "a")),
                Box::new(Filter::And(
                    Box::new(cmp("Name", Op::Eq, "b")),
                    Box::new(cmp("Alias", Op::Eq, "c"))
                ))
            )
        );
    }

    #[test]
    fn parentheses_and_not() {
        assert!(eval("-not (Name -eq 'x')", &[("Name", "y")]));
        assert!(!eval("-not(Name -eq 'x')", &[("Name", "X")]));
        assert!(eval(
            "(Name -eq 'a' -or Name -eq 'b') -and (Alias -like 'z*')",
            &[("Name", "B"), ("Alias", "zed")]
        ));
    }

    #[test]
    fn wildcards() {
        assert!(like("mailscope/v1*", "mailscope/v1 app=x list=allow"));
        assert!(like("*list=deny", "mailscope/v1 app=x list=deny"));
        assert!(like("*app=*list*", "mailscope/v1 app=x list=deny"));
        assert!(like("A*B*C", "abxbc"));
        assert!(!like("a*b", "ba"));
        assert!(!like("abc", "abcd"));
        assert!(like("*", ""));
    }

    #[test]
    fn multi_valued_and_null() {
        let props = [("EmailAddresses", "SMTP:a@x.com"), ("EmailAddresses", "smtp:b@y.com")];
        assert!(eval("EmailAddresses -eq 'smtp:B@Y.com'", &props));
        assert!(eval("EmailAddresses -like '*@y.com'", &props));
        assert!(!eval("EmailAddresses -ne 'smtp:b@y.com'", &props));
        assert!(eval("CustomAttribute15 -eq $null", &[]));
        assert!(!eval("CustomAttribute15 -ne $null", &[]));
    }

    #[test]
    fn hundred_term_batch() {
        let f: Vec<String> = (0..100).map(|i| format!("(PrimarySmtpAddress -eq 'u{i}@x.com')")).collect();
        let f = f.join(" -or ");
        assert!(eval(&f, &[("PrimarySmtpAddress", "U57@x.com")]));
        assert!(!eval(&f, &[("PrimarySmtpAddress", "u100@x.com")]));
    }

    #[test]
    fn syntax_errors_carry_positions() {
        let e = parse("Name -eq").unwrap_err();
        assert!(matches!(e, FilterError::Syntax { position: 9, .. }), "{e:?}");
        assert!(matches!(parse("(Name -eq 'a'").unwrap_err(), FilterError::Syntax { .. }));
        assert!(matches!(parse("Name -eq 'a' Alias").unwrap_err(), FilterError::Syntax { .. }));
        assert!(matches!(parse("Name -gt 'a'").unwrap_err(), FilterError::Syntax { .. }));
        assert!(matches!(parse("Name -eq 'unterminated").unwrap_err(), FilterError::Syntax { .. }));
        assert!(matches!(parse("").unwrap_err(), FilterError::Syntax { .. }));
        assert_eq!(parse("Bogus -eq 'a'").unwrap_err(), FilterError::UnknownProperty("Bogus".into()));
    }

    /// The filters mailscope writes for RBAC scopes, and common admin filters,
    /// evaluated on the Contoso seed through `recipient_property`.
    mod recipient_filters {
        use super::super::*;
        use crate::model::Tenant;

        fn tenant() -> Tenant {
            let path =
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/contoso.tenant.yaml");
            let mut t = crate::seed::load_file(&path).unwrap();
            {
                let mut alice =
                    t.recipients.find_mut(|r| r.primary_smtp_address == "alice@contoso.com").unwrap();
                alice.department = "Finance".to_owned();
                alice.custom_attributes[2] = "vip".to_owned();
            }
            t
        }

        fn dn(t: &Tenant, group: &str) -> String {
            t.object_dn(group)
        }

        /// Primary addresses of the mailboxes `filter` selects, sorted.
        fn select(t: &Tenant, filter: &str) -> Vec<String> {
            let f = parse(filter).unwrap();
            let index = MemberOf::new(t);
            let mut out: Vec<String> = t
                .recipients
                .iter()
                .filter(|r| r.kind.is_mailbox())
                .filter(|r| {
                    let direct = f.matches(&|p: &str| recipient_property(t, r, p, Some(&index)));
                    let scanned = f.matches(&|p: &str| recipient_property(t, r, p, None));
                    assert_eq!(direct, scanned, "index and scan disagree on {}", r.name);
                    direct
                })
                .map(|r| r.primary_smtp_address.clone())
                .collect();
            out.sort();
            out
        }

        #[test]
        fn member_of_group_matches_direct_members_by_dn() {
            let t = tenant();
            let legacy = dn(&t, "Legacy-Scanner-Mailboxes");
            assert_eq!(
                select(&t, &format!("MemberOfGroup -eq '{legacy}'")),
                ["alice@contoso.com", "scans@contoso.com"]
            );
            // Case-insensitive, and a name instead of a DN matches nothing.
            assert_eq!(select(&t, &format!("memberofgroup -EQ '{}'", legacy.to_uppercase())).len(), 2);
            assert!(select(&t, "MemberOfGroup -eq 'Legacy-Scanner-Mailboxes'").is_empty());
        }

        #[test]
        fn member_of_group_ignores_nested_members() {
            let mut t = tenant();
            let inner = t
                .recipients
                .iter()
                .find(|r| r.name == "Marketing-Senders")
                .unwrap()
                .external_directory_object_id
                .clone();
            t.recipients.find_mut(|r| r.name == "Legacy-Scanner-Mailboxes").unwrap().members.push(inner);
            let legacy = dn(&t, "Legacy-Scanner-Mailboxes");
            assert_eq!(
                select(&t, &format!("MemberOfGroup -eq '{legacy}'")),
                ["alice@contoso.com", "scans@contoso.com"]
            );
        }

        #[test]
        fn and_not_or_combine_groups_as_mailscope_writes_them() {
            let t = tenant();
            let (a, d) = (dn(&t, "Legacy-Scanner-Mailboxes"), dn(&t, "mailscope-old-reporter-allow"));
            let f = format!("(MemberOfGroup -eq '{a}') -and -not (MemberOfGroup -eq '{d}')");
            assert_eq!(select(&t, &f), ["scans@contoso.com"], "alice is in both groups");
            let f = format!("(MemberOfGroup -eq '{a}') -or (MemberOfGroup -eq '{d}')");
            assert_eq!(select(&t, &f), ["alice@contoso.com", "reports@contoso.com", "scans@contoso.com"]);
            assert_eq!(select(&t, &format!("-not (MemberOfGroup -eq '{a}')")).len(), 13);
        }

        #[test]
        fn primary_smtp_address_also_searches_proxy_addresses() {
            let t = tenant();
            // Learn: a PrimarySmtpAddress filter also searches EmailAddresses.
            assert_eq!(
                select(&t, "PrimarySmtpAddress -eq 'ServiceDesk@contoso.com'"),
                ["support@contoso.com"]
            );
            assert_eq!(select(&t, "PrimarySmtpAddress -like 'servicedesk@*'"), ["support@contoso.com"]);
            assert_eq!(
                select(&t, "PrimarySmtpAddress -eq 'support@contoso.onmicrosoft.com'"),
                ["support@contoso.com"]
            );
            assert_eq!(
                select(&t, "EmailAddresses -eq 'smtp:servicedesk@contoso.com'"),
                ["support@contoso.com"]
            );
            assert!(select(&t, "PrimarySmtpAddress -eq 'nobody@contoso.com'").is_empty());
            // -ne excludes the recipient when any address matches.
            assert_eq!(select(&t, "PrimarySmtpAddress -ne 'servicedesk@contoso.com'").len(), 14);
        }

        #[test]
        fn common_admin_filters() {
            let t = tenant();
            assert_eq!(select(&t, "PrimarySmtpAddress -eq 'CEO@contoso.com'"), ["ceo@contoso.com"]);
            assert_eq!(
                select(&t, "PrimarySmtpAddress -like 'c*o@contoso.com'"),
                ["ceo@contoso.com", "cfo@contoso.com"]
            );
            assert_eq!(select(&t, "CustomAttribute3 -eq 'VIP'"), ["alice@contoso.com"]);
            assert_eq!(select(&t, "Department -eq 'finance'"), ["alice@contoso.com"]);
            assert_eq!(
                select(&t, "RecipientTypeDetails -eq 'UserMailbox'"),
                ["alice@contoso.com", "bob@contoso.com", "ceo@contoso.com", "cfo@contoso.com"]
            );
            assert_eq!(
                select(&t, "(RecipientTypeDetails -eq 'UserMailbox') -and -not (Department -eq 'Finance')")
                    .len(),
                3
            );
        }
    }
}
