//! Tests on the lab (tests/lab/lab up): three servers over SSH, real LXC.

use crate::lifecycle::lifecycle;
use flockport_core::cluster::{ApplyOptions, ContainerSpec};
use flockport_core::plan::NoProgress;
use flockport_core::Cluster;
use flockport_tests::{cli, lab};

#[test]
fn listservers_shows_three_reachable_servers() {
    let Some(lab) = lab() else { return };
    let out = cli(&lab.inventory, &["listservers", "--json"]);
    assert!(out.status.success());
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = rows.as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["s1", "s2", "s3"]);
    for r in rows.as_array().unwrap() {
        assert_eq!(r["reachable"], true, "{r}");
        assert!(r["lxc_version"].as_str().unwrap().starts_with('5'));
    }
}

#[test]
fn listcontainers_shows_the_app_containers() {
    let Some(lab) = lab() else { return };
    let out = cli(&lab.inventory, &["listcontainers", "--json"]);
    assert!(out.status.success());
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let want = [
        ("c1", "s1", "10.0.4.20"),
        ("c2", "s1", "10.0.4.21"),
        ("c3", "s2", "10.0.5.20"),
        ("c4", "s2", "10.0.5.21"),
        ("c5", "s3", "10.0.7.20"),
    ];
    for (name, server, ip) in want {
        let r = rows.as_array().unwrap().iter().find(|r| r["name"] == name).unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(r["server"], server);
        assert_eq!(r["state"], "running");
        assert_eq!(r["ipv4"][0], ip);
    }
}

#[tokio::test]
async fn containers_reach_each_other_across_servers() {
    let Some(lab) = lab() else { return };
    let cluster = Cluster::open(Some(&lab.inventory)).unwrap();
    for (url, body) in [("http://10.0.5.20/", "c3"), ("http://10.0.7.20:9000/", "c5"), ("http://10.0.5.21:9000/", "c4")]
    {
        let out = cluster.exec("c1", &["busybox".into(), "wget".into(), "-qO-".into(), url.into()]).await.unwrap();
        assert_eq!(out.status, 0, "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.stdout_str().trim(), body, "from c1 to {url}");
    }
}

#[tokio::test]
async fn container_lifecycle_on_each_server_over_ssh() {
    let Some(lab) = lab() else { return };
    let cluster = Cluster::open(Some(&lab.inventory)).unwrap();
    let pid = std::process::id();
    let runs = [("s1", "10.0.4.230"), ("s2", "10.0.5.230"), ("s3", "10.0.7.230")].map(|(server, ip)| {
        let cluster = &cluster;
        async move { lifecycle(cluster, server, &format!("fpt-{server}-{pid}"), ip).await }
    });
    futures_join(runs).await;
}

async fn futures_join<F: std::future::Future<Output = ()>>(futs: [F; 3]) {
    let [a, b, c] = futs;
    tokio::join!(a, b, c);
}

#[tokio::test]
async fn service_container_from_an_image_on_s2() {
    let Some(lab) = lab() else { return };
    let cluster = Cluster::open(Some(&lab.inventory)).unwrap();
    let name = format!("fpt-haproxy-{}", std::process::id());
    let spec = ContainerSpec {
        server: "s2".into(),
        name: name.clone(),
        packages: vec!["haproxy".into()],
        role: Some("haproxy".into()),
        ..Default::default()
    };
    let lock = flockport_tests::server_lock("s2");
    let a = cluster.add_container(spec, ApplyOptions::default(), &NoProgress).await.unwrap();
    drop(lock);
    assert!(a.record.image.starts_with("fp-img-haproxy-"), "{}", a.record.image);
    assert!(a.record.address.to_string().starts_with("10.0.5."));
    let out = cluster.exec(&name, &["haproxy".into(), "-v".into()]).await.unwrap();
    assert!(out.stdout_str().contains("HAProxy version"), "{}", out.stdout_str());
    // Debian's unit is enabled in the image and comes up at boot.
    let mut active = String::new();
    for _ in 0..50 {
        active = cluster
            .exec(&name, &["systemctl".into(), "is-active".into(), "haproxy".into()])
            .await
            .unwrap()
            .stdout_str();
        if active.trim() == "active" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(active.trim(), "active");
    // The image is reused: a second plan has no build step.
    let spec2 = ContainerSpec {
        server: "s2".into(),
        name: format!("{name}-b"),
        packages: vec!["haproxy".into()],
        ..Default::default()
    };
    let plan = cluster.add_container(spec2, ApplyOptions { dry_run: true }, &NoProgress).await.unwrap().plan;
    assert!(plan.steps.iter().all(|s| !s.description.starts_with("build image")), "{}", plan.render());
    cluster.del_container(&name, ApplyOptions::default()).await.unwrap();
}
