//! A map for the embedded line that grows in small steps, so a line of a million waiters never
//! stalls its lock for a whole-map rehash.
//!
//! A `HashMap` doubles by moving every entry into a fresh table: at a million tickets (two maps
//! of them per line) that is tens of milliseconds, most of it page faults on the new memory,
//! with the line's lock held. Split into shards, a map grows one shard at a time. The line's
//! other containers (the join-order deque, the idle heap, the Fenwick vector) hold 16 to 24
//! bytes per ticket and still double by copying; the maps, at about 80 bytes per entry with
//! hashing, were the long stall.

use std::collections::HashMap;
use std::hash::Hash;

/// A `ShardedMap` is split into 2^SHARD_BITS maps: a shard's rehash moves 1/64 of the entries.
const SHARD_BITS: u32 = 6;
const SHARDS: usize = 1 << SHARD_BITS;

/// A key that picks its own shard.
pub trait ShardKey {
    /// 128 bits of the key; mixed before use, so ids that differ only in their high bits
    /// (time-ordered ones) still spread over the shards.
    fn bits(&self) -> (u64, u64);
}

fn shard_of(key: &impl ShardKey) -> usize {
    let (hi, lo) = key.bits();
    // Fibonacci hashing: the top bits of the product depend on every bit of the input.
    ((hi ^ lo.rotate_left(32)).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - SHARD_BITS)) as usize
}

/// A hash map made of `SHARDS` maps.
pub struct ShardedMap<K, V> {
    shards: Box<[HashMap<K, V>]>,
    len: usize,
}

impl<K, V> Default for ShardedMap<K, V> {
    fn default() -> Self {
        ShardedMap {
            shards: (0..SHARDS).map(|_| HashMap::new()).collect(),
            len: 0,
        }
    }
}

impl<K: ShardKey + Hash + Eq, V> ShardedMap<K, V> {
    pub fn get(&self, key: &K) -> Option<&V> {
        self.shards[shard_of(key)].get(key)
    }

    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        self.shards[shard_of(key)].get_mut(key)
    }

    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        let old = self.shards[shard_of(&key)].insert(key, value);
        if old.is_none() {
            self.len += 1;
        }
        old
    }

    pub fn remove(&mut self, key: &K) -> Option<V> {
        let old = self.shards[shard_of(key)].remove(key);
        if old.is_some() {
            self.len -= 1;
        }
        old
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.shards.iter().flat_map(HashMap::iter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl ShardKey for u64 {
        fn bits(&self) -> (u64, u64) {
            (*self, 0)
        }
    }

    #[test]
    fn sharded_map_behaves_as_one_map_and_spreads_sequential_keys() {
        let mut map = ShardedMap::default();
        for k in 0..10_000u64 {
            assert_eq!(map.insert(k, k * 2), None);
        }
        assert_eq!(map.insert(7, 1), Some(14));
        assert_eq!(map.len(), 10_000);
        assert_eq!(map.get(&7), Some(&1));
        *map.get_mut(&8).unwrap() += 1;
        assert_eq!(map.get(&8), Some(&17));
        assert_eq!(map.remove(&9), Some(18));
        assert_eq!(map.remove(&9), None);
        assert_eq!(map.len(), 9_999);
        assert_eq!(map.iter().count(), 9_999);
        // Sequential ids (only their high half differs here) still use every shard evenly.
        let fullest = map.shards.iter().map(HashMap::len).max().unwrap();
        let emptiest = map.shards.iter().map(HashMap::len).min().unwrap();
        assert!(emptiest > 100 && fullest < 250, "{emptiest}..{fullest}");
    }
}
