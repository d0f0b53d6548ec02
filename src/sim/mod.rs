//! A simulated world on loopback for the tests, the demo and the
//! benchmark: real DNS, TLS and HTTP servers that the
//! probes talk to over real sockets, and a webhook receiver that alerts
//! are delivered to. Behind the default cargo feature
//! `sim`, so a lean production build can leave it out.

pub mod dns;
pub mod region;
pub mod robots;
pub mod smtp;
pub mod tls;
pub mod web;
pub mod webhook;
pub mod world;
