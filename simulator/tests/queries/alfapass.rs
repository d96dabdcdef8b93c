//! Validate Alfapass: the drivers' Alfapass numbers of the fixture, and what is no Alfapass.

use crate::fixture::*;

#[test]
fn validate_alfapass() {
    let s = Sim::new();
    for ok in ["AP1000001", "AP1000002", "AP2000001", " ap2000001 "] {
        assert!(s.w.alfapass_is_valid(ok), "{ok}");
    }
    for bad in ["AP9999999", "", "   ", "AP 1000001", &"9".repeat(30)] {
        assert!(!s.w.alfapass_is_valid(bad), "{bad:?}");
    }
}
