//! PostgreSQL + a Redis Cluster: encore recognises a cluster from `ENCORE_REDIS_URL`, spreads
//! concerts' lines over its nodes and keeps every key of one concert on one node.
//!
//! The cluster is `ENCORE_TEST_REDIS_CLUSTER_URL` when set, else the three loopback nodes that
//! `deploy/redis-cluster.sh start` brings up (or finds already running) on ports 7000–7002.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;
use std::time::Duration;

use encore::queue::redis::link::Link;

use crate::common::*;

/// The cluster's node URLs, comma-separated; started once per test run.
fn cluster_url() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        if let Ok(url) = std::env::var("ENCORE_TEST_REDIS_CLUSTER_URL") {
            return url;
        }
        let out = std::process::Command::new("bash")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/deploy/redis-cluster.sh"
            ))
            .arg("start")
            .output()
            .expect("bash runs deploy/redis-cluster.sh");
        assert!(
            out.status.success(),
            "deploy/redis-cluster.sh start failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .expect("the script prints a URL")
            .trim()
            .to_string()
    })
}

#[tokio::test]
#[ignore = "needs Redis (a cluster is started on 7000-7002): run by .ci/run with --include-ignored"]
async fn a_url_list_is_opened_as_the_cluster_it_names() {
    let timeout = Duration::from_secs(2);
    let cluster = Link::open(cluster_url(), timeout)
        .await
        .expect("cluster opens");
    assert!(cluster.is_cluster(), "three cluster nodes form a cluster");
    // One node of the cluster is enough to find all of it.
    let first = cluster_url().split(',').next().unwrap();
    assert!(Link::open(first, timeout).await.unwrap().is_cluster());

    let single = single_redis_url();
    assert!(!Link::open(&single, timeout).await.unwrap().is_cluster());
    // Two standalone servers are not a cluster: refused at start, not sharded by hand.
    let twice = format!("{single},{single}");
    let err = Link::open(&twice, timeout).await.err().expect("refused");
    assert!(
        err.to_string().contains("not in cluster mode"),
        "the startup error says why: {err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL + Redis (a cluster is started on 7000-7002): run by .ci/run with --include-ignored"]
async fn concerts_spread_over_the_nodes_and_each_stays_on_one() {
    let mut db = TestDb::scaled().await;
    db.redis_url = Some(cluster_url().to_string());
    let settings = db.settings();
    let prefix = db.redis_prefix.clone();
    let app = spawn_on(db, settings).await;

    let mut concerts = Vec::new();
    for _ in 0..12 {
        let concert = app.concert().await;
        let fan = app.user().await;
        let joined = app.join(&fan, &concert).await;
        assert_eq!(joined.status, 201, "{:?}", joined.body);
        let polled = app.get("queue", None, Some(&joined.str("token"))).await;
        assert_eq!(polled.body["status"], "ACTIVE", "{:?}", polled.body);
        concerts.push(concert);
    }

    // Which node holds each concert's keys, read from every node directly.
    let mut homes: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
    for (node, url) in cluster_url().split(',').enumerate() {
        let client = redis::Client::open(url).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{prefix}:q:{{*"))
            .query_async(&mut conn)
            .await
            .unwrap();
        for key in keys {
            let tag = key.split('{').nth(1).and_then(|t| t.split('}').next());
            homes
                .entry(tag.expect("every line key is hash-tagged").to_string())
                .or_default()
                .insert(node);
        }
    }
    for concert in &concerts {
        let nodes = homes.get(concert).expect("the concert's line is in Redis");
        assert_eq!(nodes.len(), 1, "concert {concert}'s keys live on one node");
    }
    let used: BTreeSet<usize> = homes.values().flatten().copied().collect();
    assert!(
        used.len() >= 2,
        "twelve concerts spread over more than one node: {homes:?}"
    );
}
