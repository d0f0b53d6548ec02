//! The web page's registry tests.
