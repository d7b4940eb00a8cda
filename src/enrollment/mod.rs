//! Enrollment: what a request does in AWS, from the account to every region's membership.

pub mod accounts;
pub mod fanout;
pub mod fence;
pub mod lifecycle;
pub mod membership;
pub mod regions;
