//! The one integration-test binary: real servers on port 0, real HTTP (see STYLE.md 10).

mod cli;
mod contract;
mod fidelity;
mod gateway;
mod gateway_faults;
mod gateway_hardening;
mod nxtport_client;
mod openapi;
mod poll;
mod scale;
mod scenario;
mod serve_child;
mod shared_client;
mod sim_helpers;
mod simulator;
mod sources;
mod sources_bench;
mod sources_channels;
