//! Privacy protections for marketing data (issue 10): personal data found and
//! protected, statistics released with differential privacy under a budget, and
//! customer-level tables checked for k-anonymity and l-diversity before export.
//!
//! - [`scan`]: which columns of a table hold personal data (by value, through
//!   [`adroit_text::pii`], and by name and shape: direct and quasi-identifiers).
//! - [`pseudonym`]: keyed pseudonyms (HMAC-SHA256 with a user-held key): the same
//!   value and key always give the same pseudonym, so joins survive; without the key
//!   they cannot be linked back or across keys.
//! - [`dp`]: Laplace and Gaussian mechanisms (the Gaussian calibrated by the analytic
//!   method of Balle & Wang 2018), clipped counts and sums per group.
//! - [`ledger`]: a privacy-budget ledger per dataset that refuses a release exceeding
//!   the budget (basic sequential composition).
//! - [`kanon`]: equivalence classes of quasi-identifiers, k-anonymity and l-diversity,
//!   and a greedy generalization that reaches k.
//!
//! Pure: values in, results out. The CLI (`adroit privacy`) reads and writes files.

pub mod dp;
pub mod kanon;
pub mod ledger;
pub mod pseudonym;
pub mod scan;
