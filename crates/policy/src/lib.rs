//! pftls policies: the policy model and its YAML loading, validation against the target Postfix
//! (parameter catalogue per version, value grammar, master.cf services), the effective
//! configuration view with provenance, and the planner that turns policies into edits.

pub mod catalogue;
pub mod effective;
pub mod limits;
pub mod locate;
pub mod plan;
pub mod policy;
pub mod role;
pub mod saved;
pub mod suggest;
pub mod validate;
pub mod values;
pub mod version;

pub use catalogue::Catalogue;
pub use effective::{inbound_tls_services, ConfigView, Effective, InboundService, Source};
pub use plan::{
    make_plan, CryptoFacts, Environment, ExpectationCheck, ListenerChange, ParamChange, Plan,
    PlanError,
};
pub use policy::{
    load_file, parse_policy, Expectation, Policy, PolicyError, PolicyErrors, PolicySearch,
    RoleSettings, TlsExpectation,
};
pub use role::Role;
pub use version::PostfixVersion;
