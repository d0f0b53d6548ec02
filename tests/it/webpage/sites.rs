//! The web page's sites tests.
