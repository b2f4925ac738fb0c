//! Consul endpoint types: the record, what `listep` shows, and the parsing
//! of what Consul's CLI prints in the endpoint's container.

use crate::service::ServiceContainer;
use serde::{Deserialize, Serialize};

/// A Consul server agent in its own container, as recorded in state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, crate::api::Record)]
#[record(repr(name, server, address, published))]
pub struct EpRecord {
    /// Its service container (flattened into the record's JSON).
    #[serde(flatten)]
    pub container: ServiceContainer,
}

/// One endpoint as Consul sees it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, crate::api::Record)]
pub struct EpInfo {
    /// The record.
    pub record: EpRecord,
    /// `leader` or `follower` in the raft configuration (absent: not a peer).
    pub role: Option<String>,
    /// Whether it votes.
    pub voter: bool,
    /// Its gossip status (`alive`, `failed`, `left`) or `unknown`.
    pub status: String,
    /// Whether its own agent answered flockport now.
    pub answers: bool,
    /// Why it could not be read.
    pub error: Option<String>,
}

/// `listep`: every endpoint and the cluster's health.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, crate::api::Record)]
pub struct EpListing {
    /// Every endpoint.
    pub endpoints: Vec<EpInfo>,
    /// The leader's name, if there is one.
    pub leader: Option<String>,
    /// Raft peers (voters and not).
    pub peers: u32,
    /// Endpoints that may fail with the cluster still able to elect a leader.
    pub fault_tolerance: u32,
    /// A warning about the cluster's resilience (fewer than three endpoints,
    /// no leader, endpoints down).
    pub warning: Option<String>,
    /// The UI of each endpoint (`http://ADDRESS:8500/ui/`).
    pub ui: Vec<String>,
    /// The DNS interface of each endpoint (`ADDRESS:8600`).
    pub dns: Vec<String>,
}

/// A row of `consul operator raft list-peers`: (node, state, voter).
pub fn parse_peers(text: &str) -> Vec<(String, String, bool)> {
    text.lines()
        .filter_map(|l| l.strip_prefix("peer "))
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            match f.as_slice() {
                [node, _id, _addr, state, voter, ..] if *node != "Node" => {
                    Some((node.to_string(), state.to_lowercase(), *voter == "true"))
                }
                _ => None,
            }
        })
        .collect()
}

/// A row of `consul members`: (node, status).
pub fn parse_members(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.strip_prefix("member "))
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            match f.as_slice() {
                [node, _addr, status, ..] if *node != "Node" => Some((node.to_string(), status.to_string())),
                _ => None,
            }
        })
        .collect()
}

/// Raft's fault tolerance: healthy voters beyond a quorum of all voters.
pub fn fault_tolerance(voters: u32, healthy_voters: u32) -> u32 {
    let quorum = voters / 2 + 1;
    healthy_voters.saturating_sub(quorum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consul_cli_output_parses() {
        let text = "peer Node       ID                                    Address          State     Voter  RaftProtocol  Commit Index  Trails Leader By\n\
peer consul-10  5e7d20fa-3d21-1491-696d-159deef9dc4f  10.0.4.10:8300   leader    true   3             41            -\n\
peer consul-10b 6e7d20fa-3d21-1491-696d-159deef9dc4f  10.0.5.10:8300   follower  false  3             41            0 commits\n\
member Node       Address          Status  Type    Build   Protocol  DC   Partition  Segment\n\
member consul-10  10.0.4.10:8301   alive   server  1.14.8  2         dc1  default    <all>\n\
member consul-10b 10.0.5.10:8301   failed  server  1.14.8  2         dc1  default    <all>\n";
        assert_eq!(
            parse_peers(text),
            [("consul-10".into(), "leader".into(), true), ("consul-10b".into(), "follower".into(), false)]
        );
        assert_eq!(parse_members(text), [("consul-10".into(), "alive".into()), ("consul-10b".into(), "failed".into())]);
        assert_eq!(
            (fault_tolerance(1, 1), fault_tolerance(3, 3), fault_tolerance(3, 2), fault_tolerance(5, 5)),
            (0, 1, 0, 2)
        );
    }
}
