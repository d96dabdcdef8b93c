//! The one integration-test binary: real servers on port 0, real HTTP (see STYLE.md 10).

mod sources;
mod sources_bench;
mod nxtport_client;
mod sim_helpers;
mod simulator;
mod openapi;
mod scenario;
mod gateway;
mod gateway_faults;
