//! The company registry: its filters (ANDed, exact or by partial name), paging, and that a search
//! needs a filter.

use cpu_simulator::*;

use crate::fixture::*;

fn names(found: &[&Party]) -> Vec<String> {
    found.iter().map(|p| p.key.clone()).collect()
}

#[test]
fn registry_filters_are_anded() {
    let s = Sim::new();
    let agent = s.party("agent").clone();
    let f = RegistryFilter {
        eori: agent.eori.clone(),
        vat: agent.vat.clone(),
        ..Default::default()
    };
    let (found, total) = s.w.registry_search(&f, 1, 25);
    assert_eq!((names(&found), total), (vec!["agent".to_owned()], 1));
    // EORI of the agent AND VAT of the forwarder: nobody.
    let f = RegistryFilter {
        eori: agent.eori.clone(),
        vat: s.party("forwarder").vat.clone(),
        ..Default::default()
    };
    assert_eq!(s.w.registry_search(&f, 1, 25).1, 0);
    // Each single filter, exact and case-insensitive.
    let trucker = s.party("trucker").clone();
    for f in [
        RegistryFilter {
            duns: trucker.duns.clone(),
            ..Default::default()
        },
        RegistryFilter {
            apcs_code: trucker.apcs_code.as_deref().map(str::to_lowercase),
            ..Default::default()
        },
        RegistryFilter {
            nxt_entity_id: Some(trucker.nxt_entity_id.as_str().to_lowercase()),
            ..Default::default()
        },
        RegistryFilter {
            eori: trucker.eori.clone(),
            entity_name: Some("haulage".into()),
            ..Default::default()
        },
    ] {
        let (found, total) = s.w.registry_search(&f, 1, 25);
        assert_eq!(
            (names(&found), total),
            (vec!["trucker".to_owned()], 1),
            "{f:?}"
        );
    }
}

#[test]
fn registry_partial_name() {
    let s = Sim::new();
    let f = RegistryFilter {
        entity_name: Some(" ANTWERP ".into()),
        ..Default::default()
    };
    let (found, total) = s.w.registry_search(&f, 1, 25);
    assert_eq!(names(&found), ["psa", "dpworld", "trucker"]);
    assert_eq!(total, 3);
    let f = RegistryFilter {
        entity_name: Some("no such company".into()),
        ..Default::default()
    };
    assert_eq!(s.w.registry_search(&f, 1, 25), (vec![], 0));
}

#[test]
fn registry_paging() {
    let s = Sim::new();
    // Every default party has "BE" in its EORI... but EORI is exact: use the name instead.
    let f = RegistryFilter {
        entity_name: Some("n".into()),
        ..Default::default()
    };
    let (all, total) = s.w.registry_search(&f, 1, 100);
    assert!(total >= 5, "{total}");
    assert_eq!(all.len(), total);
    let mut paged: Vec<String> = Vec::new();
    let pages = total.div_ceil(2);
    for page in 1..=pages {
        let (found, t) = s.w.registry_search(&f, page, 2);
        assert_eq!(t, total, "the total does not depend on the page");
        assert!(found.len() <= 2);
        paged.extend(names(&found));
    }
    assert_eq!(paged, names(&all), "pages cover every match once, in order");
    let (beyond, t) = s.w.registry_search(&f, pages + 1, 2);
    assert!(beyond.is_empty());
    assert_eq!(t, total);
    // Page 0 is read as page 1.
    assert_eq!(
        names(&s.w.registry_search(&f, 0, 2).0),
        names(&s.w.registry_search(&f, 1, 2).0)
    );
}

#[test]
fn registry_needs_a_filter() {
    assert!(RegistryFilter::default().is_empty());
    let blank = RegistryFilter {
        eori: Some("  ".into()),
        entity_name: Some(String::new()),
        ..Default::default()
    };
    assert!(blank.is_empty(), "blank values are no filter");
    assert!(!RegistryFilter {
        duns: Some("1".into()),
        ..Default::default()
    }
    .is_empty());
}
