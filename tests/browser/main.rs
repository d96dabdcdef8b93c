//! Browser tests: the console and the sandbox in a real headless Chromium, driven through
//! chromedriver with fantoccini (WebDriver). Each test saves a screenshot under
//! `target/screenshots/`.
//!
//! Without `chromium` and `chromedriver` on the PATH the tests SKIP with a line saying so,
//! unless `CPU_GATEWAY_REQUIRE_SERVICES=1` is set (then they fail). `.ci/browser.sh` installs
//! Debian's `chromium` and `chromium-driver` and runs them.

mod console;
mod console_bench;
mod console_lists;
mod docs;
mod keyboard;
mod operations;
mod sandbox;
mod sandbox_forms;
mod sandbox_tools;
mod support;
