//! Route resolution with 10,000 rules and 10,000 peers (issue target: under 1 µs per
//! resolution).
//!
//! Run: `cargo bench --bench routing`. The rules are generated here: a few `*`-partner rules
//! and, for about two thirds of the peers, rules naming the peer with an exact operation, a
//! group, `*`, or all three. The queries rotate over 4,096 (operation, partner) pairs: peers
//! with rules, peers without (the `*` rules or the default) and partners that are no peer.

use criterion::{Criterion, criterion_group, criterion_main};
use roambridge::config::PartnerId;
use roambridge::oicp::v23::operations::Operation;
use roambridge::routing::{Group, RawRoute, RawRouting, RoutingTable, partner_role};
use std::hint::black_box;

const RULES: usize = 10_000;
const PEERS: usize = 10_000;
const QUERIES: usize = 4_096;

/// A partner ID valid as `OperatorID` and as `ProviderID`: `DE*` and three base-36 digits.
fn id(i: usize) -> String {
    const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let d = |k: usize| char::from(DIGITS[(i / k) % 36]);
    format!("DE*{}{}{}", d(36 * 36), d(36), d(1))
}

fn rule(operation: &str, partner: &str, route: &str) -> RawRoute {
    RawRoute {
        operation: operation.to_owned(),
        partner: Some(partner.to_owned()),
        route: route.to_owned(),
    }
}

fn rules() -> Vec<RawRoute> {
    let routes = [
        "direct",
        "clearing-house",
        "direct-then-clearing-house",
        "both",
    ];
    let mut rules = vec![
        rule("PushEvseData", "*", "both"),
        rule("cdr", "*", "clearing-house"),
        rule("AuthorizeRemoteStart", "*", "direct-then-clearing-house"),
        rule("pricing", "*", "clearing-house"),
    ];
    let ops = Operation::ALL;
    let mut peer = 0;
    while rules.len() < RULES {
        let partner = id(peer);
        let route = routes[peer % routes.len()];
        let op = ops[peer % ops.len()];
        let group_of_op = Group::ALL
            .iter()
            .position(|g| Group::of(op) == Some(*g))
            .unwrap_or(0);
        let other_group = Group::ALL[(group_of_op + 1 + peer % 7) % Group::ALL.len()];
        match peer % 4 {
            0 => rules.push(rule(op.name(), &partner, route)),
            1 => rules.push(rule(Group::ALL[peer % 8].as_str(), &partner, route)),
            2 => rules.push(rule("*", &partner, route)),
            _ => {
                rules.push(rule(op.name(), &partner, route));
                rules.push(rule(other_group.as_str(), &partner, "both"));
                rules.push(rule("*", &partner, "direct"));
            }
        }
        peer += 1;
    }
    rules.truncate(RULES);
    rules
}

/// Pseudo-random (operation, partner) pairs: peers 0..10,000 and 1,000 unknown partners.
fn queries() -> Vec<(Operation, PartnerId)> {
    let mut state: usize = 0x2545_f491;
    let mut next = move |n: usize| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) % n
    };
    (0..QUERIES)
        .map(|_| {
            let op = Operation::ALL[next(Operation::ALL.len())];
            let partner = id(next(PEERS + 1_000));
            let partner = PartnerId::parse(partner_role(op), &partner)
                .unwrap_or_else(|e| panic!("{partner}: {e}"));
            (op, partner)
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let routing = RawRouting {
        default: Some("direct".to_owned()),
    };
    let table =
        RoutingTable::from_raw(&routing, &rules(), "bench").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(table.rules().len(), RULES);
    let queries = queries();
    let by_rule = queries
        .iter()
        .filter(|(op, p)| table.resolve(*op, p).rule.is_some())
        .count();
    assert!(by_rule > QUERIES / 4 && by_rule < QUERIES, "{by_rule}");
    let canonical: Vec<(Operation, String)> =
        queries.iter().map(|(op, p)| (*op, p.canonical())).collect();

    let mut group = c.benchmark_group("routing");
    let mut i = 0;
    group.bench_function("resolve", |b| {
        b.iter(|| {
            i = (i + 1) % QUERIES;
            let (op, partner) = &queries[i];
            table.resolve(black_box(*op), black_box(partner))
        });
    });
    let mut i = 0;
    group.bench_function("resolve_canonical", |b| {
        b.iter(|| {
            i = (i + 1) % QUERIES;
            let (op, partner) = &canonical[i];
            table.resolve_canonical(black_box(*op), black_box(partner))
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
