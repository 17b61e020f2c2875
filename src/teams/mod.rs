//! Steps 4 and 5 against the tenant: the vendor's app package ([`package`]), the Teams app catalog and installs
//! on Graph ([`catalog`]), the resumable install for everyone ([`bulk`]), app setup policies through the Teams
//! admin configuration API ([`policy`]), and the manual path's PowerShell script and links ([`script`]).
//!
//! It owns request shapes and answer parsing; the decisions (which plan, what to change in the policy, whether a
//! read-back is right) are the pure wizard's.

pub mod bulk;
pub mod catalog;
pub mod pace;
pub mod package;
pub mod policy;
pub mod schedule;
pub mod script;
