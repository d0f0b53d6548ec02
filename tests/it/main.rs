//! siteward's integration tests: one binary, one module per area.

mod alerts;
mod api;
mod audit;
mod backup;
mod channels;
mod cli;
mod config;
mod consistency;
mod cron;
mod daemon;
mod dns;
mod edits;
mod import;
mod judge;
mod lifecycle;
mod observations;
mod page;
mod policy;
mod reconcile;
mod report;
mod rules;
mod scenario;
mod support;
mod tls;
mod validation;
mod web;
