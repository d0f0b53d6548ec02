//! The web page's findings tests.
