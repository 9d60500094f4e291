//! The role-aware planner over a [`Host`]: policies → edit requests on the host's documents.

use pftls_policy::{make_plan, Plan, PlanError, Policy};

use crate::Host;

/// Plans `policies` over the host's current documents.
pub fn plan(host: &Host, policies: &[Policy]) -> Result<Plan, PlanError> {
    make_plan(
        &host.files.main,
        &host.files.master,
        policies,
        &host.environment(),
    )
}
