//! The commit and the CI run a pull-request comment names, from the CI
//! environment: GitHub Actions, Azure Pipelines and GitLab CI set them
//! (documented variables); `MAILSCOPE_COMMIT` and `MAILSCOPE_RUN_URL`
//! override them for any other system or a more precise value (e.g. a pull
//! request's head commit rather than GitHub's merge commit).

/// What the CI environment says about the run.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct CiContext {
    pub(crate) commit: Option<String>,
    pub(crate) run_url: Option<String>,
}

/// Reads the context through `var` (the process environment in practice).
pub(crate) fn from_lookup(var: impl Fn(&str) -> Option<String>) -> CiContext {
    let get = |name: &str| var(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let commit = get("MAILSCOPE_COMMIT")
        .or_else(|| get("GITHUB_SHA"))
        .or_else(|| get("BUILD_SOURCEVERSION"))
        .or_else(|| get("CI_COMMIT_SHA"));
    let github = || {
        Some(format!(
            "{}/{}/actions/runs/{}",
            get("GITHUB_SERVER_URL")?.trim_end_matches('/'),
            get("GITHUB_REPOSITORY")?,
            get("GITHUB_RUN_ID")?
        ))
    };
    let azure = || {
        Some(format!(
            "{}/{}/_build/results?buildId={}",
            get("SYSTEM_COLLECTIONURI")?.trim_end_matches('/'),
            get("SYSTEM_TEAMPROJECT")?,
            get("BUILD_BUILDID")?
        ))
    };
    let run_url = get("MAILSCOPE_RUN_URL").or_else(github).or_else(azure).or_else(|| get("CI_JOB_URL"));
    CiContext { commit, run_url }
}

/// The context of this process's environment.
pub(crate) fn current() -> CiContext {
    from_lookup(|name| std::env::var(name).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(vars: &[(&str, &str)]) -> CiContext {
        from_lookup(|n| vars.iter().find(|(k, _)| *k == n).map(|(_, v)| (*v).to_owned()))
    }

    #[test]
    fn github_actions_gives_the_sha_and_the_run_link() {
        let c = with(&[
            ("GITHUB_SHA", "abc123"),
            ("GITHUB_SERVER_URL", "https://github.com/"),
            ("GITHUB_REPOSITORY", "contoso/policies"),
            ("GITHUB_RUN_ID", "42"),
        ]);
        assert_eq!(c.commit.as_deref(), Some("abc123"));
        assert_eq!(c.run_url.as_deref(), Some("https://github.com/contoso/policies/actions/runs/42"));
    }

    #[test]
    fn azure_pipelines_and_gitlab_are_read_and_overrides_win() {
        let c = with(&[
            ("BUILD_SOURCEVERSION", "def"),
            ("SYSTEM_COLLECTIONURI", "https://dev.azure.com/contoso/"),
            ("SYSTEM_TEAMPROJECT", "mail"),
            ("BUILD_BUILDID", "7"),
        ]);
        assert_eq!(c.run_url.as_deref(), Some("https://dev.azure.com/contoso/mail/_build/results?buildId=7"));
        let g = with(&[("CI_COMMIT_SHA", "fff"), ("CI_JOB_URL", "https://gitlab.com/c/p/-/jobs/9")]);
        assert_eq!(
            (g.commit.as_deref(), g.run_url.as_deref()),
            (Some("fff"), Some("https://gitlab.com/c/p/-/jobs/9"))
        );
        let o = with(&[
            ("GITHUB_SHA", "merge"),
            ("MAILSCOPE_COMMIT", "head"),
            ("MAILSCOPE_RUN_URL", "https://ci/1"),
        ]);
        assert_eq!((o.commit.as_deref(), o.run_url.as_deref()), (Some("head"), Some("https://ci/1")));
        assert_eq!(with(&[("GITHUB_SHA", " ")]), CiContext::default());
    }
}
