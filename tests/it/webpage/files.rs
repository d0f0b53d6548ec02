//! The web page's files tests.
