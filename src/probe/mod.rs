//! Probes: network in, observations out. Each probe looks at one host name
//! (or one of its addresses) and returns what it saw; a timeout, NXDOMAIN
//! or a failed handshake is data, not an error. Probes never touch the
//! database.

pub mod delegation;
pub mod dns;
pub mod page;
