//! Where the Redis queue's keys live: one Redis server or a Redis Cluster, behind one connection
//! type.
//!
//! `ENCORE_REDIS_URL` names one node (`redis://host:6379`) or several, separated by commas
//! (`redis://a:7000,redis://b:7000,redis://c:7000`). encore asks the first node that answers
//! whether it runs in cluster mode (`cluster_enabled:1` in `INFO cluster`) and opens a cluster
//! connection if it does, using every node named as a seed; one URL of a cluster node is enough,
//! more only help when that node is down at start. Every key of a concert's line carries the
//! concert id as a hash tag (`encore:q:{id}:…`), so each of its scripts runs on the one node that
//! owns that slot, and concerts spread over the cluster's nodes.

use std::time::Duration;

use redis::aio::{
    ConnectionLike, ConnectionManager, ConnectionManagerConfig, MultiplexedConnection,
};
use redis::cluster::{ClusterClient, ClusterClientBuilder};
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{MultipleNodeRoutingInfo, RoutingInfo};
use redis::{Cmd, Pipeline, RedisFuture, Value};

use crate::error::{Error, Result};

/// How to reach the queue's Redis: the nodes named, and a cluster client if they form a cluster.
pub struct Link {
    /// One client per node named, in the order given: the event subscription goes to the first
    /// that answers.
    nodes: Vec<redis::Client>,
    cluster: Option<ClusterClient>,
    timeout: Duration,
}

/// A connection to the queue's Redis, whatever its kind. Cheap to clone: clones share one
/// multiplexed connection (per node, in a cluster), and each reconnects by itself.
#[derive(Clone)]
pub enum Conn {
    /// One server, through a connection that reconnects after an outage.
    Managed(ConnectionManager),
    /// One server, a connection with its own answer budget (the draw's).
    Own(MultiplexedConnection),
    /// A cluster: each command goes to the node that owns its keys' slot.
    Cluster(ClusterConnection),
}

impl Link {
    /// Parses `url` (one URL, or several separated by commas) and finds out whether the nodes
    /// form a cluster. `timeout` is the longest a command on [`Link::shared`] waits.
    pub async fn open(url: &str, timeout: Duration) -> Result<Link> {
        let nodes = url
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(|u| {
                redis::Client::open(u)
                    .map_err(|e| Error::Startup(format!("bad Redis URL {u:?}: {e}")))
            })
            .collect::<Result<Vec<_>>>()?;
        if nodes.is_empty() {
            return Err(Error::Startup("ENCORE_REDIS_URL names no Redis".into()));
        }
        let cluster = match cluster_enabled(&nodes, timeout).await? {
            false if nodes.len() > 1 => {
                return Err(Error::Startup(
                    "ENCORE_REDIS_URL names several nodes, but they are not in cluster mode: \
                     name one Redis, or the nodes of one Redis Cluster"
                        .into(),
                ));
            }
            false => None,
            true => Some(
                ClusterClientBuilder::new(nodes.iter().map(|n| n.get_connection_info().clone()))
                    .connection_timeout(timeout)
                    .response_timeout(timeout)
                    .retries(1)
                    .build()
                    .map_err(|e| Error::Startup(format!("bad Redis Cluster URLs: {e}")))?,
            ),
        };
        Ok(Link {
            nodes,
            cluster,
            timeout,
        })
    }

    /// Whether the nodes form a Redis Cluster.
    pub fn is_cluster(&self) -> bool {
        self.cluster.is_some()
    }

    /// The connection every call shares: answers wait at most the link's timeout, and it
    /// reconnects by itself after an outage.
    pub async fn shared(&self) -> Result<Conn> {
        let connect = async {
            match &self.cluster {
                Some(c) => c.get_async_connection().await.map(Conn::Cluster),
                None => {
                    let config = ConnectionManagerConfig::new()
                        .set_connection_timeout(self.timeout)
                        .set_response_timeout(self.timeout)
                        .set_number_of_retries(1);
                    ConnectionManager::new_with_config(self.nodes[0].clone(), config)
                        .await
                        .map(Conn::Managed)
                }
            }
        };
        tokio::time::timeout(self.timeout * 5, connect)
            .await
            .map_err(unavailable)?
            .map_err(unavailable)
    }

    /// A connection of its own whose answers may take up to `budget`, for a script that would
    /// outlive the shared connection's timeout (the draw).
    pub async fn own(&self, budget: Duration) -> Result<Conn> {
        let connect = async {
            match &self.cluster {
                Some(c) => {
                    let config = redis::cluster::ClusterConfig::new()
                        .set_connection_timeout(self.timeout)
                        .set_response_timeout(budget);
                    c.get_async_connection_with_config(config)
                        .await
                        .map(Conn::Cluster)
                }
                None => {
                    let config = redis::AsyncConnectionConfig::new()
                        .set_connection_timeout(self.timeout)
                        .set_response_timeout(budget);
                    self.nodes[0]
                        .get_multiplexed_async_connection_with_config(&config)
                        .await
                        .map(Conn::Own)
                }
            }
        };
        tokio::time::timeout(self.timeout * 2, connect)
            .await
            .map_err(unavailable)?
            .map_err(unavailable)
    }

    /// The nodes named, to subscribe to the queue's event channel on one of them: a cluster
    /// passes every `PUBLISH` on to all its nodes, so any one hears every line's events.
    pub fn nodes(&self) -> &[redis::Client] {
        &self.nodes
    }
}

impl Conn {
    /// One config value of every node the keys may live on: the server, or each primary of the
    /// cluster. A node that refuses `CONFIG` (some managed services) fails the whole call.
    pub async fn config_get(&mut self, name: &str) -> redis::RedisResult<Vec<String>> {
        let mut cmd = redis::cmd("CONFIG");
        cmd.arg("GET").arg(name);
        let answers: Vec<Value> = match self {
            Conn::Cluster(c) => {
                let all = RoutingInfo::MultiNode((MultipleNodeRoutingInfo::AllMasters, None));
                match c.route_command(&cmd, all).await? {
                    Value::Map(per_node) => per_node.into_iter().map(|(_, v)| v).collect(),
                    other => vec![other],
                }
            }
            _ => vec![cmd.query_async(self).await?],
        };
        answers
            .into_iter()
            .map(|v| {
                let pair: Vec<String> = redis::from_redis_value(&v)?;
                pair.get(1).cloned().ok_or_else(|| {
                    redis::RedisError::from((redis::ErrorKind::TypeError, "empty CONFIG answer"))
                })
            })
            .collect()
    }
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Managed(c) => c.req_packed_command(cmd),
            Conn::Own(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Managed(c) => c.req_packed_commands(cmd, offset, count),
            Conn::Own(c) => c.req_packed_commands(cmd, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Managed(c) => c.get_db(),
            Conn::Own(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
        }
    }
}

/// Whether the first node that answers runs in cluster mode.
async fn cluster_enabled(nodes: &[redis::Client], timeout: Duration) -> Result<bool> {
    let mut last = String::new();
    for node in nodes {
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(timeout)
            .set_response_timeout(timeout);
        let info = async {
            let mut conn = node
                .get_multiplexed_async_connection_with_config(&config)
                .await?;
            redis::cmd("INFO")
                .arg("cluster")
                .query_async::<String>(&mut conn)
                .await
        };
        match tokio::time::timeout(timeout * 5, info).await {
            Ok(Ok(info)) => return Ok(info.lines().any(|l| l.trim() == "cluster_enabled:1")),
            Ok(Err(e)) => last = e.to_string(),
            Err(e) => last = e.to_string(),
        }
    }
    Err(Error::QueueUnavailable(format!(
        "no Redis node named in ENCORE_REDIS_URL answers: {last}"
    )))
}

fn unavailable(e: impl std::fmt::Display) -> Error {
    Error::QueueUnavailable(e.to_string())
}
