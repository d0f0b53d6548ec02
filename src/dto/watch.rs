//! Findings, exceptions, observations, runs and discovered host names as JSON.
