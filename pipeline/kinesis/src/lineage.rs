//! Shard lineage: a child shard is read only after its parents are drained,
//! so the records of one partition key stay in order across a split or a
//! merge.
//!
//! Built from ListShards answers (all pages) as AWS gives them: a split
//! leaves the parent closed (an ending sequence number) with two children
//! naming it as `ParentShardId`; a merge gives one child with
//! `ParentShardId` and `AdjacentParentShardId`. A parent that is no longer
//! listed has aged out of retention: nothing is left to wait for.

use std::collections::{BTreeMap, HashSet};

/// A shard as ListShards describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shard {
    pub id: String,
    pub parent: Option<String>,
    pub adjacent_parent: Option<String>,
    /// Closed by a split or merge (its `EndingSequenceNumber` is set):
    /// once drained, it never gets more records.
    pub closed: bool,
}

/// The shards of a stream and their parent links.
#[derive(Debug, Default)]
pub struct Lineage {
    shards: BTreeMap<String, Shard>,
}

impl Lineage {
    pub fn new(shards: impl IntoIterator<Item = Shard>) -> Self {
        Lineage { shards: shards.into_iter().map(|s| (s.id.clone(), s)).collect() }
    }

    pub fn shard(&self, id: &str) -> Option<&Shard> {
        self.shards.get(id)
    }

    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.shards.keys().map(String::as_str)
    }

    /// Shards that may be read now: not yet drained, and every listed
    /// parent drained. In shard-id order (parents before children of the
    /// same age are not implied by ids; the parent test is what orders).
    pub fn ready<'a>(&'a self, drained: &HashSet<String>) -> Vec<&'a str> {
        self.shards
            .values()
            .filter(|s| !drained.contains(&s.id))
            .filter(|s| self.parents(s).all(|p| drained.contains(p) || !self.shards.contains_key(p)))
            .map(|s| s.id.as_str())
            .collect()
    }

    /// Every shard in an order that reads each parent before its children.
    pub fn read_order(&self) -> Vec<&str> {
        let mut drained: HashSet<String> = HashSet::new();
        let mut order = Vec::new();
        loop {
            let ready = self.ready(&drained);
            if ready.is_empty() {
                return order;
            }
            for id in ready {
                drained.insert(id.to_string());
                order.push(id);
            }
        }
    }

    fn parents<'a>(&'a self, s: &'a Shard) -> impl Iterator<Item = &'a str> {
        s.parent.iter().chain(s.adjacent_parent.iter()).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(id: &str, parent: Option<&str>, adjacent: Option<&str>, closed: bool) -> Shard {
        Shard { id: id.into(), parent: parent.map(Into::into), adjacent_parent: adjacent.map(Into::into), closed }
    }

    fn set(ids: &[&str]) -> HashSet<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    /// ListShards after shard 0 was split into 2 and 3, then 1 and 3 merged
    /// into 4 (ids and links as AWS returns them).
    fn split_then_merge() -> Lineage {
        Lineage::new([
            shard("shardId-000000000000", None, None, true),
            shard("shardId-000000000001", None, None, true),
            shard("shardId-000000000002", Some("shardId-000000000000"), None, false),
            shard("shardId-000000000003", Some("shardId-000000000000"), None, true),
            shard("shardId-000000000004", Some("shardId-000000000003"), Some("shardId-000000000001"), false),
        ])
    }

    #[test]
    fn children_wait_for_their_parents() {
        let l = split_then_merge();
        assert_eq!(l.ready(&set(&[])), vec!["shardId-000000000000", "shardId-000000000001"]);
        // Split children only after the split parent is drained.
        assert_eq!(l.ready(&set(&["shardId-000000000001"])), vec!["shardId-000000000000"]);
        assert_eq!(l.ready(&set(&["shardId-000000000000"])), vec!["shardId-000000000001", "shardId-000000000002", "shardId-000000000003"]);
        // The merge child needs both of its parents.
        let some = set(&["shardId-000000000000", "shardId-000000000003"]);
        assert!(!l.ready(&some).contains(&"shardId-000000000004"));
        let both = set(&["shardId-000000000000", "shardId-000000000001", "shardId-000000000003"]);
        assert!(l.ready(&both).contains(&"shardId-000000000004"));
    }

    #[test]
    fn read_order_puts_every_parent_first() {
        let l = split_then_merge();
        let order = l.read_order();
        assert_eq!(order.len(), 5);
        let at = |id: &str| order.iter().position(|s| *s == id).unwrap();
        for s in ["shardId-000000000002", "shardId-000000000003"] {
            assert!(at("shardId-000000000000") < at(s));
        }
        assert!(at("shardId-000000000003") < at("shardId-000000000004"));
        assert!(at("shardId-000000000001") < at("shardId-000000000004"));
    }

    #[test]
    fn parents_gone_from_retention_are_not_waited_for() {
        // The parent aged out: ListShards only lists the children.
        let l = Lineage::new([
            shard("shardId-000000000005", Some("shardId-000000000000"), None, false),
            shard("shardId-000000000006", Some("shardId-000000000000"), None, false),
        ]);
        assert_eq!(l.ready(&set(&[])), vec!["shardId-000000000005", "shardId-000000000006"]);
    }

    #[test]
    fn drained_shards_are_not_offered_again() {
        let l = split_then_merge();
        let all: HashSet<String> = l.ids().map(String::from).collect();
        assert!(l.ready(&all).is_empty());
        assert!(l.shard("shardId-000000000003").unwrap().closed);
    }
}
