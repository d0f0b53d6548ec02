//! The web page's home tests.
