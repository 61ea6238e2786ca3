//! Detections as code: Sigma rules compiled to DataFusion SQL over the
//! lake's `events`, findings written once to the `findings` table.
//!
//! - [`mapping`]: Sigma field names onto `events` columns, and the log
//!   sources authlake holds (`detections/mapping.yml`).
//! - [`rules`]: a pack read, checked and compiled; [`detection`] turns
//!   selections and conditions into a boolean, [`correlation`] turns
//!   correlation rules into windowed aggregates, both in the one output
//!   shape of [`query`]; [`udf`] holds the two functions they call.
//! - [`findings`]: query rows as findings, keyed and written once, with
//!   revisions for late events.
//! - [`run`]: a pack over a range of the lake, and the backtest by week.
//!
//! What a rule cannot mean here is refused ([`error::Refusal`]), never
//! weakened.

pub mod correlation;
pub mod detection;
pub mod error;
pub mod findings;
pub mod mapping;
pub mod new_value;
pub mod query;
pub mod rules;
pub mod run;
pub mod sql;
pub mod udf;

pub use error::{DetectError, Refusal};
pub use mapping::Mapping;
pub use rules::{Pack, Rule};
pub use run::Range;
