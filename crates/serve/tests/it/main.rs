//! The server's integration tests: one binary, one module per concern. The browser tests
//! drive headless Chromium (skipped with a message when it is missing, unless
//! DIFFSWEEP_REQUIRE_CHROMIUM=1).

mod bench;
mod browser;
mod cdp;
mod fixture;
mod http;
mod measure;
mod screenshots;
