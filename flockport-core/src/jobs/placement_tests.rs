//! The placement engine: the seed's examples, its errors, and properties
//! over random clusters and requests (proptest).

use super::{place, violations, Capacity, Placed, PlacementError, Request, Scheduler, Size, DEFAULT_POLICY};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

const RESOURCE: super::Strategy = super::Strategy::Resource;

fn server(name: &str, memory_mib: u64, cpu_milli: u64, nets: &[&str]) -> Capacity {
    Capacity {
        server: name.into(),
        memory_mib,
        cpu_milli,
        disk_mib: 100_000,
        networks: nets.iter().map(|n| n.to_string()).collect(),
    }
}

fn lab() -> Vec<Capacity> {
    ["s1", "s2", "s3"].iter().map(|s| server(s, 8192, 2000, &["lxcbr0"])).collect()
}

fn req(count: u32) -> Request {
    Request {
        count,
        size: Size { memory_mib: 256, cpu_milli: 250, disk_mib: 1000 },
        network: None,
        group: None,
        replicas: None,
        strategy: RESOURCE,
    }
}

fn counts(out: &[String]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for s in out {
        *m.entry(s.clone()).or_default() += 1;
    }
    m
}

#[test]
fn four_instances_spread_and_a_fuller_server_gets_fewer() {
    let out = place(&lab(), &[], &req(4), DEFAULT_POLICY).unwrap();
    let c = counts(&out);
    assert_eq!(c.len(), 3, "{out:?}");
    assert!(c.values().all(|&n| (1..=2).contains(&n)), "{c:?}");
    // s2 much fuller: it gets the fewest.
    let big = Placed { server: "s2".into(), size: Size { memory_mib: 6000, cpu_milli: 500, disk_mib: 0 }, group: None };
    let out = place(&lab(), &[big], &req(4), DEFAULT_POLICY).unwrap();
    let c = counts(&out);
    assert_eq!(c.get("s2").copied().unwrap_or(0), 0, "{c:?}");
    assert_eq!(c["s1"] + c["s3"], 4);
}

#[test]
fn a_group_shares_one_server_and_later_jobs_follow_it() {
    let g = Request { group: Some("g1".into()), ..req(2) };
    let first = place(&lab(), &[], &g, DEFAULT_POLICY).unwrap();
    assert_eq!(first[0], first[1]);
    let placed: Vec<Placed> =
        first.iter().map(|s| Placed { server: s.clone(), size: g.size, group: Some("g1".into()) }).collect();
    let second = place(&lab(), &placed, &g, DEFAULT_POLICY).unwrap();
    assert_eq!(second, first, "the second job of g1 follows it");
    // The group's server full: a clear error naming it.
    let huge = Request { count: 100, ..g };
    let e = place(&lab(), &placed, &huge, DEFAULT_POLICY).unwrap_err();
    assert!(e.to_string().contains(&format!("group g1 is on {}", first[0])), "{e}");
}

#[test]
fn replicas_put_that_many_on_each_chosen_server() {
    let out = place(&lab(), &[], &Request { replicas: Some(2), ..req(6) }, DEFAULT_POLICY).unwrap();
    assert_eq!(counts(&out).values().copied().collect::<Vec<_>>(), [2, 2, 2]);
    let out = place(&lab(), &[], &Request { replicas: Some(2), ..req(5) }, DEFAULT_POLICY).unwrap();
    let mut c: Vec<usize> = counts(&out).values().copied().collect();
    c.sort();
    assert_eq!(c, [1, 2, 2]);
    let e = place(&lab(), &[], &Request { replicas: Some(2), ..req(8) }, DEFAULT_POLICY).unwrap_err();
    assert!(e.to_string().contains("-r 2 needs 4 servers"), "{e}");
}

#[test]
fn bad_requests_and_too_many_name_what_fits() {
    assert!(matches!(place(&lab(), &[], &req(0), DEFAULT_POLICY), Err(PlacementError::Invalid(_))));
    let r0 = Request { replicas: Some(0), ..req(1) };
    assert!(matches!(place(&lab(), &[], &r0, DEFAULT_POLICY), Err(PlacementError::Invalid(_))));
    // 8192 MiB / 256 = 32 per server by memory, 8000 / 250 = 32 by CPU: 96 fit.
    match place(&lab(), &[], &req(97), DEFAULT_POLICY) {
        Err(PlacementError::NoRoom { fits, reason }) => {
            assert_eq!(fits, 96);
            assert!(reason.contains("room for 96"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    let net = Request { network: Some("br9".into()), ..req(1) };
    assert_eq!(place(&lab(), &[], &net, DEFAULT_POLICY).unwrap_err().to_string(), "no server has network br9");
}

#[test]
fn cpu_may_be_overcommitted_memory_not() {
    let one = vec![server("s1", 1024, 1000, &[])];
    let cpu_heavy = Request { size: Size { memory_mib: 10, cpu_milli: 1000, disk_mib: 0 }, ..req(4) };
    assert_eq!(place(&one, &[], &cpu_heavy, DEFAULT_POLICY).unwrap().len(), 4);
    assert!(place(&one, &[], &Request { count: 5, ..cpu_heavy }, DEFAULT_POLICY).is_err());
    let mem_heavy = Request { size: Size { memory_mib: 512, cpu_milli: 1, disk_mib: 0 }, ..req(3) };
    assert!(place(&one, &[], &mem_heavy, DEFAULT_POLICY).is_err());
}

fn arb_cluster() -> impl Strategy<Value = Vec<Capacity>> {
    // Few distinct sizes, so servers tie often (the tie-break is part of determinism).
    let memory = prop::sample::select(vec![512u64, 2048, 8192, 16_384]);
    let cpu = prop::sample::select(vec![1000u64, 2000, 8000]);
    let disk = prop::sample::select(vec![5_000u64, 50_000]);
    prop::collection::vec((memory, cpu, disk, 0u8..4), 1..12).prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(i, (m, c, d, nets))| {
                let mut networks = BTreeSet::from(["lxcbr0".to_string()]);
                if nets & 1 == 1 {
                    networks.insert("br1".into());
                }
                Capacity { server: format!("s{i:02}"), memory_mib: m, cpu_milli: c, disk_mib: d, networks }
            })
            .collect()
    })
}

fn arb_request() -> impl Strategy<Value = Request> {
    (1u32..40, 16u64..2048, 10u64..2000, 0u64..5000, any::<bool>(), prop::option::of(1u32..5), any::<bool>()).prop_map(
        |(count, m, c, d, net, replicas, group)| Request {
            count,
            size: Size { memory_mib: m, cpu_milli: c, disk_mib: d },
            network: net.then(|| "br1".to_string()),
            group: group.then(|| "g".to_string()),
            replicas,
            strategy: RESOURCE,
        },
    )
}

fn arb_placed(n: usize) -> impl Strategy<Value = Vec<(usize, u64, u64)>> {
    prop::collection::vec((0..n.max(1), 16u64..1024, 10u64..500), 0..20)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn placements_obey_every_rule_and_are_deterministic(
        cluster in arb_cluster(),
        req in arb_request(),
        raw in arb_placed(12),
        grouped in any::<bool>(),
    ) {
        // What is placed already: the generated instances that fit.
        let mut placed: Vec<Placed> = Vec::new();
        for (i, m, c) in raw.iter().filter(|(i, _, _)| *i < cluster.len()) {
            let p = Placed {
                server: cluster[*i].server.clone(),
                size: Size { memory_mib: *m, cpu_milli: *c, disk_mib: 0 },
                group: None,
            };
            if violations(&cluster, &placed, &[(p.server.clone(), p.size)], DEFAULT_POLICY).is_empty() {
                placed.push(p);
            }
        }
        if grouped && req.group.is_some() {
            if let Some(p) = placed.first_mut() { p.group = req.group.clone(); }
        }
        let r = place(&cluster, &placed, &req, DEFAULT_POLICY);
        // Deterministic, whatever the servers' order.
        let mut reversed = cluster.clone();
        reversed.reverse();
        prop_assert_eq!(&r, &place(&cluster, &placed, &req, DEFAULT_POLICY));
        prop_assert_eq!(&r, &place(&reversed, &placed, &req, DEFAULT_POLICY));
        match r {
            Ok(out) => {
                prop_assert_eq!(out.len(), req.count as usize);
                let new: Vec<(String, Size)> = out.iter().map(|s| (s.clone(), req.size)).collect();
                let v = violations(&cluster, &placed, &new, DEFAULT_POLICY);
                prop_assert!(v.is_empty(), "over capacity: {:?}", v);
                if let Some(n) = &req.network {
                    for s in &out {
                        let c = cluster.iter().find(|c| &c.server == s).unwrap();
                        prop_assert!(c.networks.contains(n), "{} lacks {}", s, n);
                    }
                }
                if req.group.is_some() {
                    prop_assert!(out.iter().all(|s| s == &out[0]), "group split: {:?}", out);
                    if let Some(p) = placed.iter().find(|p| p.group == req.group) {
                        prop_assert_eq!(&out[0], &p.server);
                    }
                } else if let Some(r) = req.replicas {
                    let c = counts(&out);
                    let short = c.values().filter(|&&n| n != r as usize).count();
                    prop_assert!(short <= 1, "replicas {}: {:?}", r, c);
                    prop_assert!(c.values().all(|&n| n <= r as usize), "replicas {}: {:?}", r, c);
                }
            }
            Err(PlacementError::NoRoom { fits, .. }) => {
                // The error says how many fit, exactly: that many do.
                prop_assert!(fits < req.count);
                if fits > 0 {
                    let fewer = Request { count: fits, ..req.clone() };
                    prop_assert!(place(&cluster, &placed, &fewer, DEFAULT_POLICY).is_ok(), "{} were said to fit", fits);
                }
            }
            Err(PlacementError::Invalid(e)) => prop_assert!(false, "valid request refused: {}", e),
        }
    }

    /// A stream of requests through one Scheduler places exactly as a
    /// fresh engine given everything placed so far (the incremental heap
    /// and the failed requests' give-back lose nothing).
    #[test]
    fn a_stream_places_as_from_scratch(cluster in arb_cluster(), reqs in prop::collection::vec(arb_request(), 1..12)) {
        let mut s = Scheduler::new(&cluster, &[], DEFAULT_POLICY);
        let mut placed: Vec<Placed> = Vec::new();
        for req in &reqs {
            let fresh = place(&cluster, &placed, req, DEFAULT_POLICY);
            let streamed = s.place(req);
            prop_assert_eq!(&streamed, &fresh);
            if let Ok(out) = streamed {
                placed.extend(out.into_iter().map(|server| Placed { server, size: req.size, group: req.group.clone() }));
            }
        }
        prop_assert!(violations(&cluster, &placed, &[], DEFAULT_POLICY).is_empty());
    }
}
