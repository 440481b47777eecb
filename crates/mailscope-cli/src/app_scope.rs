//! `--app NAME` (repeatable) on `plan`, `apply` and `drift`: limit the run
//! to some apps, like Terraform's `-target`, with the same warning. The
//! limiting itself is the planner's ([`SavedPlan::scoped`]); here the
//! names are checked against the plan and the warning is printed.

use clap::Args;
use mailscope_planner::{Plan, SavedPlan};

/// The apps a run is limited to.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct AppScope {
    /// Limit the run to this app (its name in the file, or its client id);
    /// repeatable. Like Terraform's `-target`: for exceptional situations,
    /// not routine use, as the rest of the file is left as it is.
    #[arg(long = "app", value_name = "NAME")]
    pub(crate) apps: Vec<String>,
}

impl AppScope {
    /// The plan limited to the named apps (unchanged without `--app`), after
    /// a warning on stderr.
    ///
    /// # Errors
    ///
    /// A name that is no app of the plan (the file's apps and those that
    /// left it), listing the known ones.
    pub(crate) fn limit(&self, plan: Plan) -> anyhow::Result<Plan> {
        if self.apps.is_empty() {
            return Ok(plan);
        }
        let unknown: Vec<&str> = self
            .apps
            .iter()
            .filter(|n| {
                !plan
                    .apps
                    .iter()
                    .any(|a| n.eq_ignore_ascii_case(&a.name) || n.eq_ignore_ascii_case(&a.app_id))
            })
            .map(String::as_str)
            .collect();
        if !unknown.is_empty() {
            let known: Vec<&str> = plan.apps.iter().map(|a| a.name.as_str()).collect();
            anyhow::bail!(
                "--app {}: no such app (the apps are: {})",
                unknown.join(", --app "),
                known.join(", ")
            );
        }
        eprintln!("{}", self.warning());
        Ok(SavedPlan::scoped(&plan, &self.apps))
    }

    /// Terraform's `-target` warning, in mailscope's words.
    fn warning(&self) -> String {
        format!(
            "warning: --app is in effect: this run covers only {}. The rest of the file is not planned or \
             applied, so the tenant may still differ from it. --app is for exceptional situations (recovering \
             from a mistake, working around an error), not for routine use.\n",
            self.apps.join(", ")
        )
    }
}
