//! The gateway: the typed `/v1` API in front of NxtPort CPu (or the embedded simulator).
//!
//! Data flow of a terminal event: caller -> [`api`] (validate, write the outbox row in the same
//! transaction that answers 202) -> [`worker`] (limiter, token, retry) -> NxtPort -> 202
//! `publicReferenceId` -> webhook or poll ([`intake`]) stores the notification and correlates it
//! to the operation by `publicReferenceId`.

pub mod config;
